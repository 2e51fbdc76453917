//! A homeserver served on a task of the current runtime: [`RunningApp::start`] builds a
//! [`hearth::App`] (database migrated, listeners bound) and serves it until
//! [`RunningApp::stop`] or drop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearth::Config;

/// A served homeserver. Dropping it signals shutdown and aborts the serving task.
pub struct RunningApp {
    /// The client API listener.
    pub addr: SocketAddr,
    /// The federation listener, when `federation.listen` is set.
    pub federation_addr: Option<SocketAddr>,
    /// The `/metrics` listener, when `metrics.listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The service layer, for direct checks of stored state.
    pub hearth: Arc<hearth::service::Hearth>,
    /// The gateway, for checks of connection state.
    pub gateway: Arc<hearth::gateway::Gateway>,
    /// The federation layer (keys, discovery, signed client).
    pub fed: Arc<hearth::s2s::Federation>,
    /// The registrar link, when `registrar.url` is set.
    pub registrar: Option<Arc<hearth::registrar::Link>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningApp {
    /// Builds `config` into an [`hearth::App`] and serves it on a new task.
    ///
    /// # Errors
    /// What [`hearth::App::build`] reports (database, listeners, keys).
    pub async fn start(config: Config) -> Result<RunningApp, hearth::Error> {
        let app = hearth::App::build(config).await?;
        let addr = app.local_addr();
        let federation_addr = app.federation_addr();
        let metrics_addr = app.metrics_addr();
        let hearth = app.hearth.clone();
        let gateway = app.gateway.clone();
        let fed = app.fed.clone();
        let registrar = app.registrar.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = app
                .serve(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningApp {
            addr,
            federation_addr,
            metrics_addr,
            hearth,
            gateway,
            fed,
            registrar,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://ADDR/api/v10`.
    pub fn api_base(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    /// Stops gracefully (open requests finish, the database closes), aborting after 10 s.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
