//! `hearth-cli`: end-to-end-encrypted DMs from a terminal.
//!
//! ```text
//! hearth-cli --server http://127.0.0.1:8080 --server-name a.example register alice PASSWORD
//! hearth-cli dm send bob@b.example "hi"
//! hearth-cli dm read --wait 10
//! ```
//! State (token, device, MLS store, pinned domain keys) lives in `--state-dir`
//! (default `./hearth-cli-state`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hearth_client::{Client, Config, DiscoveryConfig, HttpsKeySource};

#[derive(Parser)]
#[command(name = "hearth-cli", about = "End-to-end-encrypted Hearth DMs")]
struct Cli {
    /// Base URL of your homeserver's client API.
    #[arg(
        long,
        env = "HEARTH_CLI_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Your homeserver's server_name.
    #[arg(long, env = "HEARTH_CLI_SERVER_NAME", default_value = "localhost")]
    server_name: String,
    /// Where the device state is kept.
    #[arg(long, env = "HEARTH_CLI_STATE", default_value = "hearth-cli-state")]
    state_dir: PathBuf,
    /// `domain=https://host:port`: where to fetch a domain's signing key, overriding
    /// discovery (default: the domain's server found as federation finds it: explicit port,
    /// `.well-known` delegation, SRV, port 8448). Repeatable.
    #[arg(long = "key-url", env = "HEARTH_CLI_KEY_URLS", value_delimiter = ',')]
    key_urls: Vec<String>,
    /// PEM file of an extra CA trusted when fetching domain keys (local test setups).
    #[arg(long, env = "HEARTH_CLI_CA")]
    ca: Option<PathBuf>,
    /// Allow fetching domain keys from loopback and private addresses (local setups such as
    /// `*.localhost` servers); refused by default, as in federation.
    #[arg(long, env = "HEARTH_CLI_ALLOW_PRIVATE_ADDRESSES")]
    allow_private_addresses: bool,
    /// DNS server (`ip:port`) for finding domains' servers; default the system's. Repeatable.
    #[arg(
        long = "nameserver",
        env = "HEARTH_CLI_NAMESERVERS",
        value_delimiter = ','
    )]
    nameservers: Vec<std::net::SocketAddr>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Creates an account and this device.
    Register { username: String, password: String },
    /// Logs in as a new device of an existing account.
    Login { username: String, password: String },
    /// Encrypted DMs.
    Dm {
        #[command(subcommand)]
        cmd: Dm,
    },
    /// Shows pinned domain keys.
    Keys,
}

#[derive(Subcommand)]
enum Dm {
    /// Sends `text` to `user@server` (starting the DM if needed).
    Send { user: String, text: String },
    /// Removes every device of `user@server` from your groups with them (one commit each).
    Remove { user: String },
    /// Prints new messages, one `[group] sender: text` line each.
    Read {
        /// Wait up to this many seconds for at least one message (messages from other
        /// servers arrive asynchronously); 0 returns at once.
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn key_source(
    cli: &Cli,
    bases: HashMap<String, String>,
) -> Result<HttpsKeySource, hearth_client::ClientError> {
    let ca = cli.ca.as_deref();
    let err = |e: String| hearth_client::ClientError::State(e);
    let mut roots = Vec::new();
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).map_err(|e| err(format!("{}: {e}", ca.display())))?;
        roots.push(reqwest::Certificate::from_pem(&pem).map_err(|e| err(e.to_string()))?);
    }
    let cfg = DiscoveryConfig {
        nameservers: cli.nameservers.clone(),
        allow_private_addresses: cli.allow_private_addresses,
        ..DiscoveryConfig::default()
    };
    HttpsKeySource::with_config(&cfg, bases, roots)
}

async fn run(cli: Cli) -> Result<(), hearth_client::ClientError> {
    let bases: HashMap<String, String> = cli
        .key_urls
        .iter()
        .filter_map(|s| s.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    let cfg = Config {
        base_url: cli.server.trim_end_matches('/').to_owned(),
        server_name: cli.server_name.clone(),
        state_dir: cli.state_dir.clone(),
        keys: Arc::new(key_source(&cli, bases)?),
    };
    match cli.cmd {
        Cmd::Register { username, password } => {
            let c = Client::register(cfg, &username, &password).await?;
            println!("registered {} (device {})", c.user(), c.device_id());
        }
        Cmd::Login { username, password } => {
            let c = Client::login(cfg, &username, &password).await?;
            println!("logged in as {} (new device {})", c.user(), c.device_id());
        }
        Cmd::Dm {
            cmd: Dm::Send { user, text },
        } => {
            let mut c = Client::open(cfg).await?;
            for m in c.sync().await? {
                println!("[{}] {}: {}", m.group_id, m.sender, m.text);
            }
            let unusable: Vec<String> = c.unusable_groups().into_iter().map(|(g, _)| g).collect();
            let existing = c.groups().into_iter().find(|g| {
                !unusable.contains(g)
                    && c.members(g)
                        .is_ok_and(|m| m.iter().any(|(u, _)| *u == user))
            });
            let group = match existing {
                Some(g) => g,
                None => c.start_dm(&[&user]).await?,
            };
            c.send(&group, &text).await?;
            c.replenish().await?;
            println!("sent to {user} (group {group})");
        }
        Cmd::Dm {
            cmd: Dm::Read { wait },
        } => {
            let mut c = Client::open(cfg).await?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait);
            loop {
                let got = c.sync().await?;
                for m in &got {
                    println!("[{}] {}: {}", m.group_id, m.sender, m.text);
                }
                if !got.is_empty() || std::time::Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            for (g, why) in c.unusable_groups() {
                eprintln!("warning: group {g} is unusable ({why}); `dm send` starts a new one");
            }
            c.replenish().await?;
        }
        Cmd::Dm {
            cmd: Dm::Remove { user },
        } => {
            let mut c = Client::open(cfg).await?;
            c.sync().await?;
            let unusable: Vec<String> = c.unusable_groups().into_iter().map(|(g, _)| g).collect();
            let mut n = 0;
            for g in c.groups() {
                if !unusable.contains(&g)
                    && c.members(&g)
                        .is_ok_and(|m| m.iter().any(|(u, _)| *u == user))
                {
                    let leaves = c.remove(&g, &user).await?;
                    println!("removed {user} ({leaves} devices) from group {g}");
                    n += 1;
                }
            }
            if n == 0 {
                println!("{user} is in none of your groups");
            }
        }
        Cmd::Keys => {
            let c = Client::open(cfg).await?;
            let _ = &c;
            println!("device {} of {}", c.device_id(), c.user());
        }
    }
    Ok(())
}
