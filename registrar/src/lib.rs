//! `hearth-registrar`: a separate service where Hearth homeservers prove control of their
//! domain and list themselves (issue 5; spec/registrar.md).
//!
//! - [`config`]: typed configuration (defaults → TOML → `HEARTH_REGISTRAR_*`);
//! - [`storage`]: SQLite (default) or PostgreSQL, own migrations;
//! - [`error`]: [`error::ApiError`], mapped once to status and body;
//! - [`core`]: the rules (authentication, challenge verification, key history, liveness,
//!   notary, summaries, handles, deny list);
//! - [`api`]: the HTTP API (axum), served over HTTPS when `tls_cert`/`tls_key` are set.
//!
//! Signing, keys, names, discovery, the outbound safety rules (`hearth_federation::http::
//! SafeHttp`: address policy, CA roots, size/time/redirect caps), the TLS listener and the
//! rate limiter come from `hearth_federation`, storage plumbing from `hearth_db`, so a
//! homeserver and the registrar resolve, fetch and store alike without the registrar
//! depending on the homeserver.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearth_federation::keys::PublicKey;
use hearth_federation::tls::{TlsListener, server_config};
use tokio::net::TcpListener;

pub mod api;
pub mod config;
pub mod core;
pub mod error;
pub mod storage;

pub use config::RegistrarConfig;
pub use core::Core;

enum Listener {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// A built registrar: database migrated, key loaded, listener bound.
pub struct Registrar {
    listener: Listener,
    /// The shared state (tests inspect it; the admin CLI uses its database).
    pub core: Arc<Core>,
}

impl Registrar {
    /// Connects and migrates the database, loads or creates the signing key, binds `listen`.
    ///
    /// # Errors
    /// A description of what failed.
    pub async fn build(config: RegistrarConfig) -> Result<Registrar, String> {
        hearth_federation::names::validate_server_name(&config.server_name)
            .map_err(|e| format!("server_name: {e}"))?;
        let db = storage::Db::connect(&config).await?;
        db.migrate().await?;
        let key = core::load_or_create_key(&db).await?;
        let tcp = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let listener = match (&config.tls_cert, &config.tls_key) {
            (Some(c), Some(k)) => Listener::Tls(
                TlsListener::new(tcp, server_config(c, k)?).map_err(|e| e.to_string())?,
            ),
            (None, None) => Listener::Plain(tcp),
            _ => return Err("tls_cert and tls_key must be set together".into()),
        };
        let core = Arc::new(Core::new(config, db, key)?);
        Ok(Registrar { listener, core })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        match &self.listener {
            Listener::Plain(l) => l.local_addr().expect("bound"),
            Listener::Tls(l) => axum::serve::Listener::local_addr(l).expect("bound"),
        }
    }

    /// The registrar's verify key (what homeservers pin as `registrar.public_key`).
    pub fn public_key(&self) -> PublicKey {
        self.core.key.public_key()
    }

    /// Serves until `shutdown` resolves; runs the liveness task meanwhile.
    ///
    /// # Errors
    /// Listener errors.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let core = self.core.clone();
        let liveness = tokio::spawn(async move {
            let mut t =
                tokio::time::interval(Duration::from_millis(core.config.check_interval_ms.max(10)));
            let mut n = 0u64;
            loop {
                t.tick().await;
                if let Err(e) = core.check_due().await {
                    tracing::warn!(error = %e, "liveness pass failed");
                }
                n += 1;
                if n.is_multiple_of(100) {
                    core.shrink();
                }
            }
        });
        let app = api::router(self.core.clone()).into_make_service_with_connect_info::<api::Peer>();
        let res = match self.listener {
            Listener::Plain(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await,
            Listener::Tls(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await,
        };
        liveness.abort();
        self.core.db.close().await;
        res.map_err(|e| e.to_string())
    }
}
