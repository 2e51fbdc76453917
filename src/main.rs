//! The `hearth` binary: serve (default), migrate, and operator commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hearth::{App, Config};

#[derive(Parser)]
#[command(name = "hearth", version, about = "Hearth: a federated, Discord-compatible community-chat homeserver", after_help = hearth::config::HELP)]
struct Cli {
    /// TOML configuration file (see README "Configuration").
    #[arg(long, global = true, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// This server's federation signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List every key with its state (current, old, revoked).
    List,
    /// Make a new current key; the previous one stays published as an old key, so what it
    /// signed before stays verifiable.
    Rotate,
    /// Revoke a key (e.g. `ed25519:AbCdEfGh`): nothing it signed is accepted any more. A new
    /// current key is made if it was the current one.
    Revoke { key_id: String },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user (optionally an instance admin).
    CreateUser {
        username: String,
        /// Password (at least 8 characters, not the username).
        #[arg(long, env = "HEARTH_NEW_PASSWORD")]
        password: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password and revoke all of their sessions.
    ResetPassword {
        username: String,
        #[arg(long, env = "HEARTH_NEW_PASSWORD")]
        password: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                hearth::Error::Internal(d) | hearth::Error::Unavailable(d) => {
                    eprintln!("error: {d}")
                }
                other => eprintln!("error: {}", other.body()),
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Command, mut config: Config) -> hearth::Result<()> {
    match cmd {
        Command::Serve => {
            let app = App::build(config).await?;
            tracing::info!(addr = %app.local_addr(), server_name = %app.hearth.config.server_name, "hearth listening");
            app.serve(shutdown_signal()).await
        }
        Command::Migrate => {
            let db = hearth::storage::Db::connect(&config).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Keys { command } => {
            let db = hearth::storage::Db::connect(&config).await?;
            db.migrate().await?;
            let ring = hearth::s2s::Keyring::load(
                &config.server_name,
                db.clone(),
                config.federation.key_validity_ms,
            )
            .await?;
            match command {
                KeysCommand::List => {}
                KeysCommand::Rotate => {
                    let k = ring.rotate().await?;
                    println!("new current key {}", k.key_id);
                }
                KeysCommand::Revoke { key_id } => match ring.revoke(&key_id).await? {
                    Some(k) => println!("revoked {}", k.key_id),
                    None => {
                        db.close().await;
                        return Err(hearth::Error::Internal(format!("no key {key_id}")));
                    }
                },
            }
            for k in ring.list() {
                println!(
                    "{}\t{}\t{}\tcreated {}{}{}",
                    k.key_id,
                    k.state(),
                    k.public_key,
                    k.created_at,
                    k.expired_at
                        .map(|t| format!(", expired {t}"))
                        .unwrap_or_default(),
                    k.revoked_at
                        .map(|t| format!(", revoked {t}"))
                        .unwrap_or_default(),
                );
            }
            println!("(a running server picks changes up within 30 s)");
            db.close().await;
            Ok(())
        }
        Command::Admin { command } => {
            config.federation.listen = None;
            config.listen = "127.0.0.1:0".parse().expect("valid address");
            let app = App::build(config).await?;
            match command {
                AdminCommand::CreateUser {
                    username,
                    password,
                    email,
                    admin,
                } => {
                    let u = app
                        .hearth
                        .create_user(Some(&username), Some(&password), email, admin)
                        .await?;
                    println!(
                        "created user {} ({}){}",
                        u.username,
                        u.id,
                        if u.admin { " [admin]" } else { "" }
                    );
                }
                AdminCommand::ResetPassword { username, password } => {
                    app.hearth
                        .admin_reset_password(&username, &password)
                        .await?;
                    println!("password reset; all sessions of {username} revoked");
                }
            }
            Ok(())
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
