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
pub mod permissions;
pub mod ratelimit;
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
        let limits = Arc::new(api::RouteLimits::new(&hearth.config.rate_limits));
        let state = api::AppState {
            hearth: hearth.clone(),
            limits: limits.clone(),
            gateway: gateway.clone(),
        };
        let router = api::router(state);
        Ok(App {
            listener,
            router,
            hearth,
            gateway,
            limits,
        })
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
        let janitor = tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(60));
            loop {
                t.tick().await;
                limits.shrink();
            }
        });
        let gateway = self.gateway.clone();
        let shutdown = async move {
            shutdown.await;
            gateway.shutdown();
        };
        let res = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::internal);
        janitor.abort();
        self.hearth.db.close().await;
        res
    }
}
