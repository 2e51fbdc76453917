//! Typed configuration: defaults, then a TOML file (`--config`), then `HEARTH_*` environment
//! variables (nested keys joined with `__`, e.g. `HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND`).
//!
//! A [`Config`] value is passed into [`crate::App::build`]; nothing reads configuration from a
//! global, so several homeservers can run in one process (the test suite does).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod cluster;
mod federation;
mod gateway;
mod load;
mod metrics;
mod node;
pub use cluster::ClusterConfig;
pub use federation::FederationConfig;
pub use gateway::GatewayConfig;
pub use load::*;
pub use metrics::MetricsConfig;
pub use node::NodeConfig;

/// Who may create an account (`registration` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPolicy {
    /// Anyone who can reach the server (the default: the zero-config server listens on loopback).
    Open,
    /// Registration needs a valid guild invite code (`invite` field of the register body).
    InviteOnly,
    /// Only operators create accounts (`hearth admin create-user`).
    Closed,
}

/// SQLite's `synchronous` pragma, the durability knob (see README "Durability").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSync {
    /// WAL + NORMAL: an acknowledged write survives `kill -9` of the server (default).
    Normal,
    /// WAL + FULL: an acknowledged write also survives power loss (fsync per commit).
    Full,
}

/// A token bucket: `limit` requests per `per_seconds` (shared with the registrar).
pub use hearth_federation::ratelimit::Bucket;

/// Rate limits (Discord "Topics > Rate Limits"); every limit is per user (or per IP when
/// unauthenticated) unless named otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// Global requests per second per user (Discord: 50).
    pub global_per_second: u32,
    /// Default per-route bucket (per user and major parameter).
    pub default_route: Bucket,
    /// `POST /channels/{id}/messages`: per channel per user (Discord: 5 per 5 s).
    pub message_create: Bucket,
    /// Reaction add/remove per channel per user (Discord: 1 per 0.25 s, burst allowed here).
    pub reactions: Bucket,
    /// Executions of one webhook (`POST /webhooks/{id}/{token}`, `/slack`, `/github`),
    /// whoever sends them (Discord: 5 per 2 s per webhook).
    pub webhook_execute: Bucket,
    /// `POST /auth/register` per client IP.
    pub register_per_ip: Bucket,
    /// `POST /auth/login` per client IP, whatever account is tried.
    pub login_per_ip: Bucket,
    /// Exponential backoff after failed logins and failed second factors (README "Login
    /// backoff"; `src/service/backoff.rs`).
    pub login_backoff: LoginBackoff,
}

/// Exponential backoff after failed logins (wrong password) and failed second factors (wrong
/// TOTP or backup code at login), kept per (account, client address), per client address
/// and per account. After `free` failures under one key, the next attempt under it waits
/// `base_seconds * 2^(failures - free)`, at most `max_seconds`, counted from the last
/// failure; attempts refused with 429 are not checked and add no failure. A key's failures
/// are forgotten `forget_seconds` after its last failure, and a pair's on a successful login.
///
/// The per-account key only holds addresses the account never logged in from, so a
/// stranger's failures never hold the owner back at a known address, and a correct password
/// from a fresh address still passes the (account, address) and address keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginBackoff {
    /// Failures allowed per (account, address) before waiting (default [`BACKOFF_FREE_PAIR`]).
    pub free_per_pair: u32,
    /// Failures allowed per address over all accounts (default [`BACKOFF_FREE_ADDRESS`]).
    pub free_per_address: u32,
    /// Failures allowed per account from addresses it never logged in from (default
    /// [`BACKOFF_FREE_ACCOUNT`]).
    pub free_per_account: u32,
    /// First wait, seconds (default [`BACKOFF_BASE_SECONDS`]).
    pub base_seconds: f64,
    /// Longest wait, seconds (default [`BACKOFF_MAX_SECONDS`]).
    pub max_seconds: f64,
    /// Failures are forgotten this long after a key's last one, seconds (default
    /// [`BACKOFF_FORGET_SECONDS`]).
    pub forget_seconds: f64,
}

/// Default: 5 wrong guesses from one address at one account before the first wait.
pub const BACKOFF_FREE_PAIR: u32 = 5;
/// Default: 20 failures from one address (all accounts) before the first wait.
pub const BACKOFF_FREE_ADDRESS: u32 = 20;
/// Default: 50 failures at one account from unknown addresses before the first wait.
pub const BACKOFF_FREE_ACCOUNT: u32 = 50;
/// Default first wait: 1 s (then 2, 4, 8 ... s).
pub const BACKOFF_BASE_SECONDS: f64 = 1.0;
/// Default longest wait: 15 minutes.
pub const BACKOFF_MAX_SECONDS: f64 = 900.0;
/// Default memory of failures: 1 hour after the last one.
pub const BACKOFF_FORGET_SECONDS: f64 = 3600.0;

impl Default for LoginBackoff {
    fn default() -> Self {
        LoginBackoff {
            free_per_pair: BACKOFF_FREE_PAIR,
            free_per_address: BACKOFF_FREE_ADDRESS,
            free_per_account: BACKOFF_FREE_ACCOUNT,
            base_seconds: BACKOFF_BASE_SECONDS,
            max_seconds: BACKOFF_MAX_SECONDS,
            forget_seconds: BACKOFF_FORGET_SECONDS,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            global_per_second: 50,
            default_route: Bucket {
                limit: 40,
                per_seconds: 1.0,
            },
            message_create: Bucket {
                limit: 5,
                per_seconds: 5.0,
            },
            reactions: Bucket {
                limit: 4,
                per_seconds: 1.0,
            },
            webhook_execute: Bucket {
                limit: 5,
                per_seconds: 2.0,
            },
            register_per_ip: Bucket {
                limit: 10,
                per_seconds: 3600.0,
            },
            login_per_ip: Bucket {
                limit: 30,
                per_seconds: 60.0,
            },
            login_backoff: LoginBackoff::default(),
        }
    }
}

/// Hard limits on input. Each is enforced with a Discord-format error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest request body accepted, in bytes (413 / code 40005 beyond).
    pub max_body_bytes: usize,
    /// Message content length in Unicode scalar values (Discord: 2000).
    pub max_message_length: usize,
    /// Embeds per message (Discord: 10).
    pub max_embeds: usize,
    /// Guilds a user may own or join (Discord: 100 for users).
    pub max_guilds_per_user: u32,
    /// Channels per guild (Discord: 500).
    pub max_channels_per_guild: u32,
    /// Roles per guild (Discord: 250).
    pub max_roles_per_guild: u32,
    /// Pins per channel (Discord: 250).
    pub max_pins_per_channel: u32,
    /// Distinct reactions per message (Discord: 20).
    pub max_reactions_per_message: u32,
    /// How long an interaction's token answers (callback, follow-ups, `@original`), in
    /// seconds (Discord: 15 minutes); 1..=86400.
    pub interaction_token_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_message_length: 2000,
            max_embeds: 10,
            max_guilds_per_user: 100,
            max_channels_per_guild: 500,
            max_roles_per_guild: 250,
            max_pins_per_channel: 250,
            max_reactions_per_message: 20,
            interaction_token_seconds: 900,
        }
    }
}

/// Which blob store keeps file bytes (`media.store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobBackend {
    /// Files under `{data_dir}/media` (the default).
    Local,
    /// An S3-compatible object store (`media.s3.*`).
    S3,
}

/// An S3-compatible object store (`media.store = "s3"`; README "Files on S3"). Settings left
/// unset here are taken from the usual AWS environment variables when the configuration is
/// loaded ([`Config::load`]): `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, `AWS_REGION`/
/// `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Config {
    /// Base URL of the service, e.g. `http://minio:9000`; `None`: AWS's own endpoint for
    /// `region`.
    pub endpoint: Option<String>,
    /// Signing region (default `us-east-1`, which most S3-compatible servers accept).
    pub region: Option<String>,
    /// The bucket (it must exist). Required with `media.store = "s3"`.
    pub bucket: String,
    /// Path-style URLs (`{endpoint}/{bucket}/{key}`, default true: what MinIO, Garage, Ceph
    /// and s3s expect); false: virtual-hosted style (`{bucket}.{endpoint}`).
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Objects up to this size are sent with one `PutObject`; larger ones as a multipart
    /// upload in parts of this size, bytes (default 8 MiB; at least 5 MiB, S3's minimum part
    /// size: smaller values are raised to it).
    pub part_bytes: u64,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: None,
            region: None,
            bucket: String::new(),
            path_style: true,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            part_bytes: 8 * 1024 * 1024,
        }
    }
}

impl S3Config {
    /// Fills the settings left unset from the AWS environment variables, read through `var`
    /// (`std::env::var` in [`Config::load`]).
    pub fn fill_from_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let first = |names: &[&str]| names.iter().find_map(|n| var(n).filter(|v| !v.is_empty()));
        if self.endpoint.is_none() {
            self.endpoint = first(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]);
        }
        if self.region.is_none() {
            self.region = first(&["AWS_REGION", "AWS_DEFAULT_REGION"]);
        }
        if self.access_key_id.is_none() {
            self.access_key_id = first(&["AWS_ACCESS_KEY_ID"]);
        }
        if self.secret_access_key.is_none() {
            self.secret_access_key = first(&["AWS_SECRET_ACCESS_KEY"]);
        }
        if self.session_token.is_none() {
            self.session_token = first(&["AWS_SESSION_TOKEN"]);
        }
    }
}

/// Files (issue 13): limits on message attachments, the lifetime of signed file URLs, and
/// where the bytes are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaConfig {
    /// Largest file of a message, bytes (Discord: 25 MiB). Beyond: 413 / 40005.
    pub max_file_bytes: u64,
    /// Files per message (Discord: 10). Beyond: 400 50035 on `files`.
    pub max_files_per_message: usize,
    /// Largest multipart request of a message with its files, bytes. Beyond: 413 / 40005.
    pub max_total_bytes: u64,
    /// Largest avatar, banner, guild icon or splash (a data URI in JSON, after base64
    /// decoding), bytes (Discord: 10 MiB). Beyond: 400 50035 `BINARY_TYPE_MAX_SIZE`. The JSON
    /// body of the routes that take images may be as large as this in base64 plus
    /// `limits.max_body_bytes`.
    pub max_image_bytes: u64,
    /// Largest custom emoji image, bytes (Discord: 256 KiB). Beyond: 400 50035
    /// `BINARY_TYPE_MAX_SIZE`.
    pub max_emoji_bytes: u64,
    /// Largest image canvas, pixels (width x height read from the file header before any
    /// decoding: the decompression-bomb guard; default 4096 x 4096). Beyond: 400 50035
    /// `IMAGE_TOO_LARGE`.
    pub max_image_pixels: u64,
    /// Lifetime of a signed attachment URL (`ex` = issue time + this), seconds (Discord: 24 h).
    pub url_ttl_seconds: u64,
    /// Base of attachment URLs (this server or a CDN in front of it), e.g.
    /// `https://chat.example`; default `http://{bound listen address}`.
    pub public_url: Option<String>,
    /// Lifetime of a two-step upload (`POST /channels/{id}/attachments`), seconds (default
    /// 1 h): its `upload_url` must be used, and the upload claimed by a message, before
    /// then; afterwards the collector deletes it and its bytes.
    pub upload_ttl_seconds: u64,
    /// Time the bytes of a deleted file are kept before the collector removes them, seconds
    /// (default 1 h; links already handed out keep working meanwhile).
    pub delete_grace_seconds: u64,
    /// Age a stored blob must reach before the collector's scans may treat it as an orphan
    /// (bytes no row refers to), seconds (default 1 h). Keep it above the longest upload:
    /// a file being stored right now has no attachment row yet.
    pub orphan_age_seconds: u64,
    /// Time between two passes of the file collector, seconds (default 60). A deletion also
    /// wakes it.
    pub collect_interval_seconds: u64,
    /// Time between two scans of the whole store for bytes no row knows (crash leftovers),
    /// seconds (default 6 h; the first scan runs one interval after start).
    pub orphan_scan_seconds: u64,
    /// Bytes of files one user may have stored (messages and pending uploads, until their
    /// deletion is collected), 0 = unlimited (default). Beyond: 413 / 40005.
    pub user_quota_bytes: u64,
    /// Bytes of files one guild's channels may hold, 0 = unlimited (default). Beyond: 413 /
    /// 40005.
    pub guild_quota_bytes: u64,
    /// Where file bytes live: `local` (default, `{data_dir}/media`) or `s3` (`media.s3`).
    pub store: BlobBackend,
    /// The S3-compatible store used with `store = "s3"`.
    pub s3: S3Config,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_file_bytes: 25 * 1024 * 1024,
            max_files_per_message: 10,
            max_total_bytes: 50 * 1024 * 1024,
            max_image_bytes: 10 * 1024 * 1024,
            max_emoji_bytes: 256 * 1024,
            max_image_pixels: 4096 * 4096,
            url_ttl_seconds: 24 * 3600,
            public_url: None,
            upload_ttl_seconds: 3600,
            delete_grace_seconds: 3600,
            orphan_age_seconds: 3600,
            collect_interval_seconds: 60,
            orphan_scan_seconds: 6 * 3600,
            user_quota_bytes: 0,
            guild_quota_bytes: 0,
            store: BlobBackend::Local,
            s3: S3Config::default(),
        }
    }
}

/// Password hashing (argon2id). Defaults are OWASP's: m = 19 MiB, t = 2, p = 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once (each on a blocking thread); others wait their turn.
    pub max_concurrent: usize,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        PasswordHashing {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 2,
        }
    }
}

/// Two-factor authentication (README "Two-factor authentication").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MfaConfig {
    /// Lifetime of the login ticket `POST /auth/login` hands an MFA account, seconds.
    pub ticket_ttl_seconds: u64,
    /// Wrong codes one ticket takes before it is deleted (the user logs in again).
    pub ticket_max_failures: u32,
    /// Second-factor attempts (login tickets, enable, disable) per account from all IPs.
    pub attempts_per_account: Bucket,
}

impl Default for MfaConfig {
    fn default() -> Self {
        MfaConfig {
            ticket_ttl_seconds: 300,
            ticket_max_failures: 5,
            attempts_per_account: Bucket {
                limit: 10,
                per_seconds: 300.0,
            },
        }
    }
}

/// Account security (README "Account security"): re-authentication and mailed tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountConfig {
    /// How long a password or second-factor proof (login, `POST /mfa/finish`) lets a session
    /// take sensitive actions, seconds (default [`REAUTH_WINDOW_SECONDS`]).
    pub reauth_window_seconds: u64,
    /// Lifetime of a password reset token, seconds (default [`RESET_TOKEN_TTL_SECONDS`]).
    pub reset_token_ttl_seconds: u64,
    /// Lifetime of an email verification token, seconds (default
    /// [`VERIFY_TOKEN_TTL_SECONDS`]).
    pub verify_token_ttl_seconds: u64,
    /// Base of the links in mails (the web client), e.g. `https://chat.example`; default
    /// `media.public_url`, else `http://{listen address}`.
    pub public_url: Option<String>,
}

/// Authentication settings beyond passwords and TOTP (README "Passkeys").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub webauthn: WebauthnConfig,
}

/// Passkeys (WebAuthn, verified by webauthn-rs): the relying party this server is. Checked
/// at start-up against the public URL (`account.public_url`, else `media.public_url`); a
/// mismatch is a configuration error. Without `rp_id`, the public URL's host is the RP id
/// when it is a domain name; when it is an IP address (the zero-config server on
/// `127.0.0.1`), passkeys are off (browsers refuse IP addresses as RP ids) and the passkey
/// routes answer 400 50035 `webauthn` WEBAUTHN_DISABLED.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebauthnConfig {
    /// `false` turns passkeys off whatever the other settings.
    pub enabled: bool,
    /// The relying party id credentials are bound to, e.g. `chat.example` or `example`
    /// (must equal the public URL's host or be a suffix of it at a dot). Changing it
    /// invalidates every registered passkey. Default: the public URL's host.
    pub rp_id: Option<String>,
    /// The name authenticators show (default: `server_name`).
    pub rp_name: Option<String>,
    /// Origins (`scheme://host[:port]`) whose ceremonies are accepted; each host must be
    /// `rp_id` or below it. Default: the public URL's origin.
    pub origins: Vec<String>,
    /// Lifetime of a pending ceremony (registration, login, second factor,
    /// re-authentication), seconds (default [`WEBAUTHN_CEREMONY_TTL_SECONDS`]).
    pub ceremony_ttl_seconds: u64,
    /// Passkeys one account may hold (default 20).
    pub max_per_user: u32,
}

/// Default lifetime of a WebAuthn ceremony: 5 minutes (the MFA ticket's lifetime).
pub const WEBAUTHN_CEREMONY_TTL_SECONDS: u64 = 300;

impl Default for WebauthnConfig {
    fn default() -> Self {
        WebauthnConfig {
            enabled: true,
            rp_id: None,
            rp_name: None,
            origins: Vec::new(),
            ceremony_ttl_seconds: WEBAUTHN_CEREMONY_TTL_SECONDS,
            max_per_user: 20,
        }
    }
}

/// Default re-authentication window: 5 minutes (Discord's "sudo mode" lasts about as long).
pub const REAUTH_WINDOW_SECONDS: u64 = 300;
/// Default lifetime of a password reset token: 1 hour.
pub const RESET_TOKEN_TTL_SECONDS: u64 = 3600;
/// Default lifetime of an email verification token: 24 hours.
pub const VERIFY_TOKEN_TTL_SECONDS: u64 = 24 * 3600;

impl Default for AccountConfig {
    fn default() -> Self {
        AccountConfig {
            reauth_window_seconds: REAUTH_WINDOW_SECONDS,
            reset_token_ttl_seconds: RESET_TOKEN_TTL_SECONDS,
            verify_token_ttl_seconds: VERIFY_TOKEN_TTL_SECONDS,
            public_url: None,
        }
    }
}

/// How the SMTP connection is secured (`mail.tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTls {
    /// Plain SMTP (a relay on loopback or a private network only).
    None,
    /// Plain connection upgraded with STARTTLS (required; port 587).
    Starttls,
    /// TLS from the first byte ("implicit TLS", port 465).
    Tls,
}

/// Outgoing mail (optional): without `smtp_host`, mail is off and the endpoints that need it
/// answer 400 50035 with the field error `email` `MAIL_DISABLED` (README "Mail").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// SMTP server host; `None` disables mail.
    pub smtp_host: Option<String>,
    /// SMTP port (default 587).
    pub smtp_port: u16,
    /// Sender address, e.g. `Hearth <noreply@chat.example>` (default `hearth@{server_name}`).
    pub from: Option<String>,
    /// Connection security (default `starttls`).
    pub tls: MailTls,
    /// SMTP AUTH user name (with `password`); none: no authentication.
    pub username: Option<String>,
    /// SMTP AUTH password.
    pub password: Option<String>,
    /// Time one mail may take to send, ms (default 10 000).
    pub timeout_ms: u64,
    /// PEM file of extra CA certificates trusted for the SMTP server's certificate (an
    /// operator's private CA), besides the web PKI roots; only with `tls = "starttls"` or
    /// `"tls"`. Unreadable or without a certificate: the server refuses to start.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_host: None,
            smtp_port: 587,
            from: None,
            tls: MailTls::Starttls,
            username: None,
            password: None,
            timeout_ms: 10_000,
            ca_file: None,
        }
    }
}

/// Limits on inbound TCP connections, for the client listener and the federation listener
/// together (README "Connections"; defence against slowloris and descriptor exhaustion).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Connections {
    /// Time a client has to send a complete request head (request line and headers), ms:
    /// counted from the accept (TLS handshake included) for the first request, and from the
    /// first byte of each later request on a kept-alive connection. Beyond it the connection is
    /// closed without a response (default 10 000).
    pub header_read_timeout_ms: u64,
    /// Time a kept-alive connection may stay idle between a response and the next request, ms
    /// (default 60 000); also the longest pause in the byte flow while a request is in flight.
    /// WebSocket connections, once upgraded, are governed by the gateway's heartbeats instead.
    pub idle_timeout_ms: u64,
    /// Connections open at once from one client address (an IPv6 address counts by its /64),
    /// default 256. Beyond it new connections from that address are closed at once. The
    /// addresses in `trusted_proxies` are exempt (they carry many clients).
    pub max_per_ip: usize,
    /// Connections open at once in total. Default 0: as many as the process's descriptor
    /// limit (`RLIMIT_NOFILE`, raised to its hard limit at start) allows with 256 descriptors
    /// kept for the database, files and outbound requests (10 000 where the limit cannot be
    /// read). A configured number above that is lowered to it, with a warning.
    pub max_total: usize,
    /// Connections the kernel queues for each listener before they are accepted (the
    /// `listen(2)` backlog), default 65 535; Linux lowers it to `net.core.somaxconn` (4 096
    /// by default). When the queue is full, new connections' handshakes are dropped and
    /// clients retry after 1, 3, 7... seconds: a reconnect storm of thousands needs a long
    /// queue.
    pub listen_backlog: u32,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_per_ip: 256,
            max_total: 0,
            listen_backlog: 65_535,
        }
    }
}

/// The registrar this server lists itself with (README "Registrar"; spec/registrar.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrarLinkConfig {
    /// Base URL of the registrar (`https://registrar.example.org`); `None` (default): no
    /// registrar. Reached with the federation transport rules (DNS, CA roots, address policy).
    pub url: Option<String>,
    /// The registrar's ed25519 verify key (unpadded base64), pinned: notary answers and the
    /// registrar's `/info` must match it. `None`: notary answers are not trusted.
    pub public_key: Option<String>,
    /// Seconds between full refreshes (re-registration, guild summaries, handles).
    pub refresh_secs: u64,
}

impl Default for RegistrarLinkConfig {
    fn default() -> Self {
        RegistrarLinkConfig {
            url: None,
            public_key: None,
            refresh_secs: 3600,
        }
    }
}

/// The whole homeserver configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server binds (default `127.0.0.1:8080`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// This server's name (its DNS name in federation); `localhost` by default.
    pub server_name: String,
    /// Folder for the SQLite database, media and generated files (default `./data`).
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://...`; default `sqlite://{data_dir}/hearth.db`.
    pub database_url: Option<String>,
    /// Durability of SQLite commits.
    pub sqlite_synchronous: SqliteSync,
    /// Database connections in the pool.
    pub database_max_connections: u32,
    /// Who may register.
    pub registration: RegistrationPolicy,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies). Empty: the socket address
    /// is always the client IP.
    pub trusted_proxies: Vec<IpAddr>,
    /// Lifetime of access tokens (JWT), seconds.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of an idle refresh token, seconds.
    pub refresh_token_ttl_seconds: u64,
    pub password_hashing: PasswordHashing,
    pub mfa: MfaConfig,
    pub account: AccountConfig,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    pub rate_limits: RateLimits,
    pub limits: Limits,
    pub media: MediaConfig,
    pub gateway: GatewayConfig,
    pub connections: Connections,
    pub federation: FederationConfig,
    pub registrar: RegistrarLinkConfig,
    pub metrics: MetricsConfig,
    /// This node among several sharing one database (README "Scale-out").
    pub node: NodeConfig,
    /// Scale-out on Redis (README "Scale-out"); unset: single node.
    pub cluster: ClusterConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            server_name: "localhost".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            sqlite_synchronous: SqliteSync::Normal,
            database_max_connections: 8,
            registration: RegistrationPolicy::Open,
            trusted_proxies: Vec::new(),
            access_token_ttl_seconds: 15 * 60,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            password_hashing: PasswordHashing::default(),
            mfa: MfaConfig::default(),
            account: AccountConfig::default(),
            auth: AuthConfig::default(),
            mail: MailConfig::default(),
            rate_limits: RateLimits::default(),
            limits: Limits::default(),
            media: MediaConfig::default(),
            gateway: GatewayConfig::default(),
            connections: Connections::default(),
            federation: FederationConfig::default(),
            registrar: RegistrarLinkConfig::default(),
            metrics: MetricsConfig::default(),
            node: NodeConfig::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

/// Settings documented by `hearth --help` (the full reference is README "Configuration").
pub const HELP: &str = "\
Configuration (defaults, then --config FILE (TOML), then HEARTH_* environment variables;
nested keys use __, e.g. HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND=100):
  listen                     HEARTH_LISTEN                     127.0.0.1:8080
  metrics.listen             HEARTH_METRICS__LISTEN            unset (no /metrics listener)
  server_name                HEARTH_SERVER_NAME                localhost
  data_dir                   HEARTH_DATA_DIR                   ./data
  database_url               HEARTH_DATABASE_URL               sqlite://{data_dir}/hearth.db | postgres://...
  sqlite_synchronous         HEARTH_SQLITE_SYNCHRONOUS         normal | full
  database_max_connections   HEARTH_DATABASE_MAX_CONNECTIONS   8
  registration               HEARTH_REGISTRATION               open | invite_only | closed
  trusted_proxies            HEARTH_TRUSTED_PROXIES            [] (IPs whose X-Forwarded-For is used)
  access_token_ttl_seconds   HEARTH_ACCESS_TOKEN_TTL_SECONDS   900
  refresh_token_ttl_seconds  HEARTH_REFRESH_TOKEN_TTL_SECONDS  2592000
  password_hashing.{memory_kib,iterations,parallelism,max_concurrent}   19456, 2, 1, 2
  mfa.{ticket_ttl_seconds, ticket_max_failures, attempts_per_account}   300, 5, {10, 300}
  account.{reauth_window_seconds, reset_token_ttl_seconds, verify_token_ttl_seconds, public_url}
                             300, 3600, 86400, media.public_url
  auth.webauthn.{enabled, rp_id, rp_name, origins, ceremony_ttl_seconds, max_per_user}
                             true, public URL's host (off for an IP), server_name,
                             [public URL's origin], 300, 20
  mail.{smtp_host, smtp_port, from, tls, username, password, timeout_ms}
                             none (mail off), 587, hearth@{server_name}, none|starttls|tls, none, none, 10000
  rate_limits.{global_per_second, default_route, message_create, reactions, webhook_execute,
               register_per_ip, login_per_ip}  (buckets: {limit, per_seconds})
                             50, {40, 1.0}, {5, 5.0}, {4, 1.0}, {5, 2.0}, {10, 3600.0}, {30, 60.0}
  rate_limits.login_backoff.{free_per_pair, free_per_address, free_per_account, base_seconds,
               max_seconds, forget_seconds}   5, 20, 50, 1.0, 900.0, 3600.0
  limits.{max_body_bytes, max_message_length, max_embeds, max_guilds_per_user,
          max_channels_per_guild, max_roles_per_guild, max_pins_per_channel,
          max_reactions_per_message, interaction_token_seconds}
                             1048576, 2000, 10, 100, 500, 250, 250, 20, 900
  media.{max_file_bytes, max_files_per_message, max_total_bytes, url_ttl_seconds, public_url,
         upload_ttl_seconds, delete_grace_seconds, orphan_age_seconds,
         collect_interval_seconds, orphan_scan_seconds, user_quota_bytes, guild_quota_bytes,
         store}              26214400, 10, 52428800, 86400, http://{listen address},
                             3600, 3600, 3600, 60, 21600, 0 (= unlimited), 0, local | s3
  media.s3.{endpoint, region, bucket, path_style, access_key_id, secret_access_key,
            session_token, part_bytes}   (unset: AWS_ENDPOINT_URL_S3, AWS_REGION,
                             AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
                             us-east-1, -, true, ..., 8388608
  media.{max_image_bytes, max_emoji_bytes, max_image_pixels}   10485760, 262144, 16777216
  gateway.{heartbeat_interval_ms, public_url, replay_events, replay_seconds, replay_log_bytes,
           session_queue, max_frame_bytes, identify_timeout_ms}
                             41250, ws://{listen address}/gateway, 2000, 300, 67108864,
                             1024, 16384, 20000
  gateway.{admission_per_second, resumes_per_identify, admission_wait_ms, max_concurrency,
           session_start_limit, session_start_window_seconds, shed_backlog, dispatch_shards,
           heap_trim_churn}
                             1000 (0 = unlimited), 10, 15000, 16, 1000, 86400, 4096,
                             0 (= available parallelism), 256 (0 = never)
  gateway.{passive_guild_threshold, passive_idle_seconds, passive_subscribed_guilds,
           passive_update_ms}   1000, 900 (0 = never idle), 5, 1000
  connections.{header_read_timeout_ms, idle_timeout_ms, max_per_ip, max_total, listen_backlog}
                             10000, 60000, 256, 0 (= the open-file limit less 256), 65535
  federation.{enabled, listen, tls_cert, tls_key, extra_ca_certs, allow_private_addresses,
              nameservers, deny_domains, allow_domains, max_response_bytes, request_timeout_ms,
              max_redirects, delegate_to, well_known_port, key_validity_ms, key_reload_ms,
              dead_peer_after_ms, dead_peer_probe_ms}
                             true, none (routes on `listen`), none, none, [], false, [] (system),
                             [], [] (everyone), 8388608, 10000, 3, none, 443, 86400000, 500,
                             259200000 (3 days), 3600000
  registrar.{url, public_key, refresh_secs}   none, none, 3600
  node.{id, lease_seconds, drain_delay_ms}
                             host name + hash of data_dir, 15, 0
  cluster.{redis_url, redis_key_prefix, stream_max_len, presence_ttl_seconds}
                             none (single node; set: needs a postgres:// database_url),
                             hearth:, 10000, 30
Unknown settings and unknown HEARTH_* variables are errors (with the closest name suggested).
`hearth config check` validates a configuration; `hearth config show` prints every setting's
effective value and where it came from (with no file and no variables: every default).";

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}/hearth.db", self.data_dir.display()),
        }
    }

    /// The folder of the local file store: `{data_dir}/media`.
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_settings_fall_back_to_the_aws_environment() {
        let env = |n: &str| match n {
            "AWS_ENDPOINT_URL" => Some("http://minio:9000".to_string()),
            "AWS_ENDPOINT_URL_S3" => Some(String::new()),
            "AWS_DEFAULT_REGION" => Some("eu-west-3".into()),
            "AWS_ACCESS_KEY_ID" => Some("from-env".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret-env".into()),
            _ => None,
        };
        let mut s = S3Config {
            access_key_id: Some("from-config".into()),
            ..S3Config::default()
        };
        s.fill_from_env(env);
        // Set values win; empty variables count as unset.
        assert_eq!(s.access_key_id.as_deref(), Some("from-config"));
        assert_eq!(s.secret_access_key.as_deref(), Some("secret-env"));
        assert_eq!(s.endpoint.as_deref(), Some("http://minio:9000"));
        assert_eq!(s.region.as_deref(), Some("eu-west-3"));
        assert_eq!(s.session_token, None);
        assert!(s.path_style);
    }
}
