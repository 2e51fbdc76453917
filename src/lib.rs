//! Hearth: a self-hosted, federated community-chat homeserver with a Discord-compatible API.
//!
//! Layers (see ARCHITECTURE.md): [`api`] (HTTP, extractors, rate limits) -> [`service`]
//! (rules, permissions, events) -> [`storage`] (SQL on SQLite or PostgreSQL). [`gateway`]
//! serves the real-time WebSocket from the [`events`] bus. [`App`] wires them for one server;
//! nothing is global, so several servers can run in one process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub mod api;
pub mod config;
pub mod error;
pub mod events;
pub mod gateway;
pub mod mls;
pub mod permissions;
pub mod ratelimit;
pub mod registrar;
pub mod s2s;
pub mod service;
pub mod snowflake;
pub mod storage;
pub mod wire;

pub use config::Config;
pub use error::{Error, Result};

/// A built homeserver: listener bound, database migrated, services ready.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    pub hearth: Arc<service::Hearth>,
    pub gateway: Arc<gateway::Gateway>,
    limits: Arc<api::RouteLimits>,
    federation: Option<(FedListener, axum::Router)>,
    log: Arc<s2s::guild_log::GuildLog>,
}

/// The separate federation listener (`federation.listen`).
enum FedListener {
    Plain(TcpListener),
    Tls(s2s::tls::TlsListener),
}

impl App {
    /// Connects and migrates the database, creates or loads secrets, and binds
    /// `config.listen` (port 0 picks a free port; see [`App::local_addr`]).
    pub async fn build(config: Config) -> Result<App> {
        if !config.database_url().starts_with("postgres") {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                Error::internal(format!("cannot create {}: {e}", config.data_dir.display()))
            })?;
        }
        let db = storage::Db::connect(&config).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::internal(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(Error::internal)?;
        let bus: Arc<dyn events::EventBus> = Arc::new(events::LocalBus::new(65_536));
        let hearth = Arc::new(service::Hearth::new(config, db, bus).await?);
        let public = hearth
            .config
            .gateway
            .public_url
            .clone()
            .unwrap_or_else(|| format!("ws://{addr}/gateway"));
        let gateway = gateway::Gateway::new(hearth.clone(), public);
        if let Some(l) = &hearth.registrar {
            l.set_gateway(&gateway);
        }
        let limits = Arc::new(api::RouteLimits::new(&hearth.config.rate_limits));
        let log = s2s::guild_log::GuildLog::start(hearth.clone());
        mls::start(&hearth);
        let state = api::AppState {
            hearth: hearth.clone(),
            limits: limits.clone(),
            gateway: gateway.clone(),
            log: log.clone(),
        };
        let fed_cfg = hearth.config.federation.clone();
        let mut router = api::router(state.clone());
        let mut federation = None;
        if fed_cfg.enabled {
            match fed_cfg.listen {
                // No separate listener: the federation routes share the main one.
                None => router = router.merge(s2s::router().with_state(state.clone())),
                Some(addr) => {
                    let tcp = TcpListener::bind(addr).await.map_err(|e| {
                        Error::internal(format!("cannot listen on federation.listen {addr}: {e}"))
                    })?;
                    let listener = match (&fed_cfg.tls_cert, &fed_cfg.tls_key) {
                        (Some(cert), Some(key)) => {
                            let tls =
                                s2s::tls::server_config(cert, key).map_err(Error::Internal)?;
                            FedListener::Tls(
                                s2s::tls::TlsListener::new(tcp, tls).map_err(Error::internal)?,
                            )
                        }
                        (None, None) => FedListener::Plain(tcp),
                        _ => {
                            return Err(Error::internal(
                                "federation.tls_cert and federation.tls_key must be set together",
                            ));
                        }
                    };
                    let fed_router = s2s::router()
                        .fallback(s2s::not_found)
                        .layer(axum::extract::DefaultBodyLimit::max(
                            s2s::guild_log::MAX_TXN_BYTES
                                .max(4 * hearth.config.limits.max_body_bytes),
                        ))
                        .layer(tower_http::trace::TraceLayer::new_for_http())
                        .with_state(state);
                    federation = Some((listener, fed_router));
                }
            }
        }
        Ok(App {
            listener,
            router,
            hearth,
            gateway,
            limits,
            federation,
            log,
        })
    }

    /// The bound address of the federation listener, when `federation.listen` is set.
    pub fn federation_addr(&self) -> Option<SocketAddr> {
        match &self.federation {
            Some((FedListener::Plain(l), _)) => l.local_addr().ok(),
            Some((FedListener::Tls(l), _)) => axum::serve::Listener::local_addr(l).ok(),
            None => None,
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains connections and closes the database.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let limits = self.limits.clone();
        // Replicas catch up with their hosts (after downtime) once we are reachable.
        let catch_up = tokio::spawn(self.hearth.clone().pull_all_replicas());
        // Registrar listing (issue 5): in the background, never blocking federation.
        let registrar = self
            .hearth
            .registrar
            .clone()
            .map(|l| tokio::spawn(l.run(self.hearth.clone())));
        let janitor = tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(60));
            loop {
                t.tick().await;
                limits.shrink();
            }
        });
        let gateway = self.gateway.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        tokio::spawn(async move {
            shutdown.await;
            gateway.shutdown();
            let _ = stop_tx.send(true);
        });
        let shutdown = stopped(stop_rx.clone());
        let fed = self.hearth.fed.clone();
        let key_reload = tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(30));
            t.tick().await;
            loop {
                t.tick().await;
                if let Err(e) = fed.reload_keys().await {
                    tracing::warn!(error = %e, "cannot reload the server keys");
                }
            }
        });
        let fed_task = self.federation.map(|(listener, router)| {
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                let res = match listener {
                    FedListener::Plain(l) => {
                        axum::serve(l, router.into_make_service())
                            .with_graceful_shutdown(stop)
                            .await
                    }
                    FedListener::Tls(l) => {
                        axum::serve(l, router.into_make_service())
                            .with_graceful_shutdown(stop)
                            .await
                    }
                };
                if let Err(e) = res {
                    tracing::error!(error = %e, "federation listener failed");
                }
            })
        });
        let res = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::internal);
        catch_up.abort();
        if let Some(r) = registrar {
            r.abort();
        }
        janitor.abort();
        key_reload.abort();
        if let Some(t) = fed_task {
            let _ = t.await;
        }
        // Everything committed is in the federation log before the database closes.
        self.log.barrier().await;
        self.hearth.db.close().await;
        res
    }
}
