//! The `hearth-registrar` binary: `serve` (default), `migrate`, `key`, and `admin ...`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hearth_registrar::{Registrar, RegistrarConfig, storage::Db};

#[derive(Parser)]
#[command(
    name = "hearth-registrar",
    version,
    about = "Hearth registrar: domain-verified server directory, key notary, guild directory and handle lookup"
)]
struct Cli {
    /// TOML configuration file (then HEARTH_REGISTRAR_* variables override it).
    #[arg(long, short, env = "HEARTH_REGISTRAR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the registrar (default).
    Serve,
    /// Applies database migrations and exits.
    Migrate,
    /// Prints the registrar's public key (what homeservers pin as registrar.public_key).
    Key,
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Removes a server from the directory; it cannot re-register until relisted.
    Delist {
        server: String,
        #[arg(long, default_value = "delisted by the operator")]
        reason: String,
    },
    /// Lists a delisted server again.
    Relist { server: String },
    /// Adds a domain pattern (`example.org` or `*.example.org`) to the deny list.
    Deny {
        pattern: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Removes a pattern from the deny list.
    Undeny { pattern: String },
    /// Shows the deny list.
    Denied,
    /// Lists servers (including stale and delisted).
    Servers,
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("hearth-registrar: {msg}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let config = RegistrarConfig::load(cli.config.as_deref()).unwrap_or_else(|e| fail(e));
    tracing_subscriber::fmt()
        .with_env_filter(
            // HEARTH_REGISTRAR_LOG, as the homeserver's HEARTH_LOG (RUST_LOG still read).
            std::env::var("HEARTH_REGISTRAR_LOG")
                .or_else(|_| std::env::var("RUST_LOG"))
                .unwrap_or_else(|_| "hearth_registrar=info,hearth_federation=warn".into()),
        )
        .init();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let r = Registrar::build(config).await.unwrap_or_else(|e| fail(e));
            tracing::info!(addr = %r.local_addr(), public_key = %r.public_key().to_b64(), "hearth-registrar listening");
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            r.serve(shutdown).await.unwrap_or_else(|e| fail(e));
        }
        Command::Migrate => {
            let db = Db::connect(&config).await.unwrap_or_else(|e| fail(e));
            db.migrate().await.unwrap_or_else(|e| fail(e));
            println!("migrations applied");
        }
        Command::Key => {
            let db = Db::connect(&config).await.unwrap_or_else(|e| fail(e));
            db.migrate().await.unwrap_or_else(|e| fail(e));
            let k = hearth_registrar::core::load_or_create_key(&db)
                .await
                .unwrap_or_else(|e| fail(e));
            println!("{} {}", k.key_id(), k.public_key().to_b64());
        }
        Command::Admin { command } => {
            let db = Db::connect(&config).await.unwrap_or_else(|e| fail(e));
            db.migrate().await.unwrap_or_else(|e| fail(e));
            let now = hearth_db::now_ms();
            match command {
                Admin::Delist { server, reason } => {
                    match db.set_delisted(&server, true, &reason).await {
                        Ok(true) => println!("{server} delisted"),
                        Ok(false) => fail(format!("{server} is not registered")),
                        Err(e) => fail(e),
                    }
                }
                Admin::Relist { server } => match db.set_delisted(&server, false, "").await {
                    Ok(true) => println!("{server} listed again"),
                    Ok(false) => fail(format!("{server} is not registered")),
                    Err(e) => fail(e),
                },
                Admin::Deny { pattern, reason } => {
                    let p = pattern.trim().to_ascii_lowercase();
                    let host = p.strip_prefix("*.").unwrap_or(&p);
                    if hearth_federation::names::validate_server_name(host).is_err() {
                        fail(format!("{pattern:?} is not a domain or *.domain pattern"));
                    }
                    db.deny(&p, &reason, now).await.unwrap_or_else(|e| fail(e));
                    println!("{p} denied");
                }
                Admin::Undeny { pattern } => {
                    match db.undeny(&pattern.trim().to_ascii_lowercase()).await {
                        Ok(true) => println!("{pattern} removed from the deny list"),
                        Ok(false) => fail(format!("{pattern} is not on the deny list")),
                        Err(e) => fail(e),
                    }
                }
                Admin::Denied => {
                    for (p, r) in db.denied().await.unwrap_or_else(|e| fail(e)) {
                        println!("{p}\t{r}");
                    }
                }
                Admin::Servers => {
                    let mut offset = 0;
                    loop {
                        let rows = db
                            .all_servers(200, offset)
                            .await
                            .unwrap_or_else(|e| fail(e));
                        for s in &rows {
                            println!(
                                "{}\t{}\t{}\tverified {}",
                                s.server_name, s.status, s.endpoint, s.verified_at
                            );
                        }
                        if rows.len() < 200 {
                            break;
                        }
                        offset += 200;
                    }
                }
            }
            db.close().await;
        }
    }
}
