//! The composition root: the only module that knows every feature. [`App::build`] creates
//! the shared parts (database, event bus, federation layer, services) and plugs each
//! feature's implementation into the service layer's ports; [`App::router`] mounts every
//! feature's routes (client API, gateway, MLS, registrar link, federation); [`App::serve`]
//! runs the listeners and the background tasks until shutdown. No feature mounts another's
//! routes, and nothing below this module imports it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use tokio::net::TcpListener;

use crate::config::{BlobBackend, Config};
use crate::error::{Error, Result};
use crate::events::{EventBus, LocalBus};
use crate::gateway::{Gateway, GatewayState};
use crate::http::RouteLimits;
use crate::http::serve::{Admission, Server};
use crate::mail::SmtpMailer;
use crate::media::{LocalBlobs, S3Blobs};
use crate::metrics::{Metrics, PeerSample, Sample};
use crate::mls::{Mls, MlsApi};
use crate::registrar::{Link, LinkApi};
use crate::s2s::endpoints::EndpointClient;
use crate::s2s::guild_log::GuildLog;
use crate::s2s::{Fed, FedState, Federation};
use crate::service::Hearth;
use crate::service::ports::{BlobStore, GuildHost, InteractionEndpoints, Mailer, OnlineMembers};
use crate::service::relay::RelayBus;
use crate::storage::Db;
use crate::{api, http, mls, registrar, s2s, web};

/// Events the in-process bus keeps for a subscriber that lags (the gateway dispatcher and
/// the federation log writer).
const BUS_CAPACITY: usize = 65_536;

/// A built homeserver: listener bound, database migrated, services ready.
pub struct App {
    listener: TcpListener,
    router: Router,
    pub hearth: Arc<Hearth>,
    pub gateway: Arc<Gateway>,
    /// The federation layer (keys, discovery, signed client).
    pub fed: Arc<Federation>,
    /// The registrar link, when `registrar.url` is set (spec/registrar.md).
    pub registrar: Option<Arc<Link>>,
    limits: Arc<RouteLimits>,
    federation: Option<(FedListener, Router)>,
    log: Arc<GuildLog>,
    /// The connection caps of both listeners (`connections.*`).
    admission: Arc<Admission>,
    /// Request counters and the `/metrics` listener (`metrics.listen`), if configured.
    metrics: Arc<Metrics>,
    metrics_listener: Option<TcpListener>,
    /// The MLS services, whose outbox `serve` delivers (the job `mls_outbox`).
    mls: Arc<Mls>,
}

/// The separate federation listener (`federation.listen`), HTTPS when `tls` is set.
struct FedListener {
    tcp: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Everything the routers are built from.
struct Parts {
    hearth: Arc<Hearth>,
    fed: Arc<Federation>,
    gateway: Arc<Gateway>,
    log: Arc<GuildLog>,
    mls: Arc<Mls>,
    link: Option<Arc<Link>>,
    limits: Arc<RouteLimits>,
}

/// The service layer of an operator process ([`App::operator`]); dereferences to [`Hearth`].
pub struct Operator {
    pub hearth: Arc<Hearth>,
    relay: Arc<RelayBus>,
}

impl std::ops::Deref for Operator {
    type Target = Hearth;
    fn deref(&self) -> &Hearth {
        &self.hearth
    }
}

impl Operator {
    /// Waits for mail under way (at most 30 s), hands what the commands published to the
    /// running server (`operator_events`) and closes the database.
    ///
    /// # Errors
    /// 503 when the events cannot be written (the changes themselves are committed).
    pub async fn finish(&self) -> Result<()> {
        self.hearth.mail_sent(Duration::from_secs(30)).await;
        let r = self.relay.flush(&self.hearth.db).await;
        self.hearth.node.release_worker().await;
        self.hearth.db.close().await;
        r.map(|_| ()).map_err(crate::service::relay::relay_error)
    }
}

impl App {
    /// The service layer alone, for operator commands (`hearth admin ...`) run in their own
    /// process beside a running server: the database (connected and migrated), the
    /// configured blob store and the federation keys, with a [`RelayBus`] that hands what the
    /// commands publish to the running server through the database
    /// ([`crate::service::relay`]; call [`Operator::finish`] at the end). No listener,
    /// gateway, guild log or background job starts, and sessions saved by a graceful
    /// shutdown stay saved for the next `hearth serve`.
    ///
    /// # Errors
    /// The database cannot be opened or migrated; the blob store or keys cannot be loaded.
    pub async fn operator(config: Config) -> Result<Operator> {
        let db = Db::connect(&config).await?;
        db.migrate().await?;
        let relay = Arc::new(RelayBus::new(BUS_CAPACITY));
        let bus: Arc<dyn EventBus> = relay.clone();
        let fed = Federation::new(&config, &db).await?;
        let endpoints: Arc<dyn InteractionEndpoints> =
            Arc::new(EndpointClient::new(&config.federation, &fed.discovery)?);
        let host: Arc<dyn GuildHost> = Arc::new(fed);
        let blobs = blob_store(&config)?;
        Ok(Operator {
            hearth: Arc::new(Hearth::new(config, db, bus, host, blobs, None, endpoints).await?),
            relay,
        })
    }

    /// Raises the open-file limit (logging it), connects and migrates the database, creates or
    /// loads secrets, and binds `config.listen` (port 0 picks a free port; see
    /// [`App::local_addr`]).
    ///
    /// # Errors
    /// The database cannot be opened or migrated, a listener cannot be bound, the
    /// federation TLS files are unreadable or only one of them is set.
    pub async fn build(config: Config) -> Result<App> {
        if !config.database_url().starts_with("postgres") {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                Error::internal(format!("cannot create {}: {e}", config.data_dir.display()))
            })?;
        }
        let descriptors = http::serve::raise_descriptor_limit();
        let admission = Admission::new(&config.connections, &config.trusted_proxies, descriptors);
        tracing::info!(
            open_file_limit = descriptors,
            max_connections = admission.max_total(),
            max_per_ip = config.connections.max_per_ip,
            "connection limits"
        );
        let db = Db::connect(&config).await?;
        db.migrate().await?;
        let backlog = config.connections.listen_backlog;
        let listener = listen(config.listen, backlog)
            .map_err(|e| Error::internal(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(Error::internal)?;

        // Shared parts, then the service layer with its ports plugged in.
        // The single node's in-process bus, or a cluster's bus on Redis (`cluster.redis_url`).
        let problems = config.cluster.problems(&config.database_url());
        if !problems.is_empty() {
            return Err(Error::internal(problems.join("; ")));
        }
        let cluster = crate::cluster::Cluster::connect(&config.cluster).await?;
        let bus: Arc<dyn EventBus> = match &cluster {
            None => Arc::new(LocalBus::new(BUS_CAPACITY)),
            Some(c) => crate::cluster::RedisBus::start(
                c.clone(),
                BUS_CAPACITY,
                config.gateway.shed_backlog,
            ),
        };
        let fed = Arc::new(Federation::new(&config, &db).await?);
        let host: Arc<dyn GuildHost> = fed.clone();
        let metrics = Metrics::new();
        let blobs = metrics.metered(blob_store(&config)?);
        let mut config = config;
        if config.media.public_url.is_none() {
            config.media.public_url = Some(format!("http://{addr}"));
        }
        let mailer: Option<Arc<dyn Mailer>> =
            SmtpMailer::from_config(&config.mail, &config.server_name)?
                .map(|m| Arc::new(m) as Arc<dyn Mailer>);
        let endpoints: Arc<dyn InteractionEndpoints> =
            Arc::new(EndpointClient::new(&config.federation, &fed.discovery)?);
        let hearth = Arc::new(Hearth::new(config, db, bus, host, blobs, mailer, endpoints).await?);
        // This process's node id, before anything keyed by it is read (saved sessions,
        // voice states): a second live process with the same id stops here.
        if let Err(e) = hearth.node.claim().await {
            hearth.node.release_worker().await;
            return Err(e);
        }
        if let Some(c) = &cluster {
            hearth.node.add_probe(Arc::new(RedisProbe(c.clone())));
            hearth.share_limits(crate::cluster::RedisLimits::new(c.clone()));
            hearth.share_slowmode(crate::cluster::RedisSlowmode::new(c.clone()));
            hearth.share_backoff(crate::cluster::RedisBackoff::new(c.clone()));
            hearth.share_presence(crate::cluster::RedisPresence::new(
                c.clone(),
                hearth.node.instance().to_string(),
                hearth.config.cluster.presence_ttl_seconds * 1000,
            ));
        }

        // Features.
        let public = hearth
            .config
            .gateway
            .public_url
            .clone()
            .unwrap_or_else(|| format!("ws://{addr}/gateway"));
        let gateway = Gateway::new(hearth.clone(), public);
        if let Some(c) = &cluster {
            gateway.share_session_starts(crate::cluster::RedisStarts::new(c.clone()));
        }
        // Sessions saved by a graceful shutdown resume here (`gateway::restart`).
        gateway.restore_after_restart().await;
        // Voice states of this node's sessions that did not survive end (service/voice.rs).
        hearth.voice_node_started(&gateway.session_ids()).await?;
        let link = Link::new(&hearth.config, &fed)?;
        if let Some(l) = &link {
            let online: Arc<dyn OnlineMembers> = gateway.clone();
            l.set_online(Arc::downgrade(&online));
            if let Some(c) = &cluster {
                l.share_marks(crate::cluster::RedisRegistrarMarks::new(c.clone()));
            }
        }
        let log = GuildLog::start(hearth.clone(), fed.clone());
        let mls = Mls::start(hearth.clone(), fed.clone());
        let mut limits =
            RouteLimits::new(&hearth.config.rate_limits, &hearth.config.trusted_proxies);
        if let Some(c) = cluster {
            limits = limits.shared(c);
        }
        let limits = Arc::new(limits);
        let parts = Parts {
            hearth: hearth.clone(),
            fed: fed.clone(),
            gateway: gateway.clone(),
            log: log.clone(),
            mls,
            link: link.clone(),
            limits: limits.clone(),
        };

        // Routers: the federation routes share the main listener unless `federation.listen`
        // gives them their own.
        let fed_cfg = hearth.config.federation.clone();
        let mut router = Self::router(&parts).route_layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            crate::metrics::track,
        ));
        let mut federation = None;
        if fed_cfg.enabled {
            match fed_cfg.listen {
                None => router = router.merge(Self::federation_router(&parts)),
                Some(addr) => {
                    let tcp = listen(addr, backlog).map_err(|e| {
                        Error::internal(format!("cannot listen on federation.listen {addr}: {e}"))
                    })?;
                    let listener = match (&fed_cfg.tls_cert, &fed_cfg.tls_key) {
                        (Some(cert), Some(key)) => {
                            let tls =
                                s2s::tls::server_config(cert, key).map_err(Error::Internal)?;
                            FedListener {
                                tcp,
                                tls: Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls))),
                            }
                        }
                        (None, None) => FedListener { tcp, tls: None },
                        _ => {
                            return Err(Error::internal(
                                "federation.tls_cert and federation.tls_key must be set together",
                            ));
                        }
                    };
                    let fed_router = Self::federation_router(&parts)
                        .fallback(s2s::not_found)
                        .layer(
                            tower_http::trace::TraceLayer::new_for_http()
                                .on_failure(http::LogFailures),
                        );
                    federation = Some((listener, fed_router));
                }
            }
        }
        let metrics_listener = match hearth.config.metrics.listen {
            Some(addr) => Some(listen(addr, backlog).map_err(|e| {
                Error::internal(format!("cannot listen on metrics.listen {addr}: {e}"))
            })?),
            None => None,
        };
        Ok(App {
            mls: parts.mls.clone(),
            metrics,
            metrics_listener,
            listener,
            router,
            hearth,
            gateway,
            fed,
            registrar: link,
            limits,
            federation,
            log,
            admission,
        })
    }

    /// The main listener's routes: the client API under `/api`, `/api/v9` and `/api/v10`
    /// (Discord's REST API with its rate limits, plus the gateway discovery, MLS and registrar
    /// client routes), health and readiness, the gateway WebSocket at `/gateway`, and the web
    /// client (`/.well-known/spacebar/client`, and every other `GET` path as its SPA fallback).
    fn router(p: &Parts) -> Router {
        let gw = GatewayState {
            hearth: p.hearth.clone(),
            gateway: p.gateway.clone(),
        };
        let link = LinkApi {
            hearth: p.hearth.clone(),
            fed: p.fed.clone(),
            link: p.link.clone(),
        };
        let client_api = api::routes()
            .with_state(p.hearth.clone())
            .merge(crate::gateway::api_routes().with_state(gw.clone()))
            .merge(mls::client_routes().with_state(MlsApi(p.mls.clone())))
            .merge(registrar::client_routes().with_state(link))
            .route_layer(axum::middleware::from_fn_with_state(
                p.limits.clone(),
                http::rate_limit,
            ))
            .method_not_allowed_fallback(|| async { Error::MethodNotAllowed });
        // A cluster answers only after the request's events are on the shared bus.
        let client_api = if p.hearth.config.cluster.redis_url.is_some() {
            client_api.layer(axum::middleware::from_fn_with_state(
                p.hearth.bus.clone(),
                http::flush_bus,
            ))
        } else {
            client_api
        };
        Router::new()
            .nest("/api/v10", client_api.clone())
            .nest("/api/v9", client_api.clone())
            .nest("/api", client_api)
            .merge(api::top_routes().with_state(p.hearth.clone()))
            .merge(http::openapi::routes(Arc::from(
                Self::openapi().to_json().unwrap_or_default(),
            )))
            .merge(crate::media::routes().with_state(p.hearth.clone()))
            .merge(crate::gateway::socket_routes().with_state(gw))
            .merge(web::routes().with_state(p.hearth.clone()))
            // The web client at `/` (SPA fallback); API and server paths keep the JSON 404.
            .fallback({
                let csp = web::policy(p.hearth.config.media.public_url.as_deref());
                move |method, uri, headers| web::serve(method, uri, headers, csp.clone())
            })
            .layer(axum::extract::DefaultBodyLimit::max(
                p.hearth.config.limits.max_body_bytes,
            ))
            .layer(axum::middleware::from_fn(http::via_header))
            // Outside `via_header`: the cause scope is a task-local of the spawned task.
            .layer(axum::middleware::from_fn(http::run_to_completion))
            .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(http::LogFailures))
    }

    /// The OpenAPI 3.1 document of the client API under `/api/v10` (served at
    /// `GET /api/openapi.json`, [`crate::http::openapi`]): the operations of every feature's
    /// client routes (the API table, gateway discovery, MLS, registrar discovery), with the
    /// `Authorization` header as the security scheme.
    pub fn openapi() -> utoipa::openapi::OpenApi {
        use utoipa::OpenApi;
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
        let mut client = api::openapi::ApiDoc::openapi();
        client.merge(crate::gateway::ApiDoc::openapi());
        client.merge(mls::ApiDoc::openapi());
        client.merge(registrar::ApiDoc::openapi());
        let mut doc = utoipa::openapi::OpenApiBuilder::new()
            .info(
                utoipa::openapi::InfoBuilder::new()
                    .title("Hearth client API")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "Discord's REST API (v10) as Hearth serves it. Every path is also \
                         served under `/api/v9` and `/api`. Errors are Discord's \
                         `{code, message, errors?}`; response shapes are the Discord wire types \
                         named in each response (crates/wire).",
                    ))
                    .license(Some(utoipa::openapi::License::new("AGPL-3.0-or-later"))),
            )
            .build()
            .nest("/api/v10", client);
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Bearer <user token>` or `Bot <bot token>`",
            ))),
        );
        doc.security = Some(vec![SecurityRequirement::new(
            "token",
            Vec::<String>::new(),
        )]);
        crate::http::openapi::exact_schemas(&mut doc, hearth_wire::EXACT_SCHEMAS);
        doc
    }

    /// The federation routes (spec/federation.md): transport and guild routes, the MLS
    /// federation routes and the registrar challenge document.
    fn federation_router(p: &Parts) -> Router {
        s2s::router()
            .with_state(FedState {
                hearth: p.hearth.clone(),
                fed: p.fed.clone(),
                log: p.log.clone(),
            })
            .merge(mls::federation_routes().with_state(MlsApi(p.mls.clone())))
            .merge(registrar::federation_routes().with_state(LinkApi {
                hearth: p.hearth.clone(),
                fed: p.fed.clone(),
                link: p.link.clone(),
            }))
            // Its own body limit on either listener (spec §2.4): a push of one event of the
            // federation event cap always fits.
            .layer(axum::extract::DefaultBodyLimit::max(
                s2s::guild_log::federation_body_limit(&p.hearth.config),
            ))
            // A peer that hangs up (its request timeout, or its process killed) must not
            // cancel an apply between its commit and its dispatches.
            .layer(axum::middleware::from_fn(http::run_to_completion))
    }

    /// The bound address of the federation listener, when `federation.listen` is set.
    /// Where `GET /metrics` is served (`metrics.listen`), if configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn federation_addr(&self) -> Option<SocketAddr> {
        self.federation
            .as_ref()
            .and_then(|(l, _)| l.tcp.local_addr().ok())
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains connections and closes the database.
    /// Both listeners apply the `connections.*` caps and timeouts ([`crate::http::serve`]).
    ///
    /// # Errors
    /// None today (accept errors are logged and retried); kept for callers.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let limits = self.limits.clone();
        // Replicas catch up with their hosts (after downtime) once we are reachable.
        let (h, f) = (self.hearth.clone(), self.fed.clone());
        let catch_up =
            tokio::spawn(async move { Fed { h: &h, fed: &f }.pull_all_replicas().await });
        // Registrar listing (issue 5): in the background, never blocking federation.
        // Jobs that must run on one node at a time hold a lease each (`service::node`).
        let node = self.hearth.node.clone();
        let registrar = self.registrar.clone().map(|l| {
            let h = self.hearth.clone();
            tokio::spawn(
                node.clone()
                    .exclusive("registrar", move || l.clone().run(h.clone())),
            )
        });
        // On a cluster every node records what its changes mean for that sync.
        let registrar_marks = self
            .registrar
            .clone()
            .map(|l| tokio::spawn(l.record_changes(self.hearth.clone())));
        // Revocations recorded by other processes (the admin CLI) reach our sockets, and so
        // do the events of its changes; its federation blocks apply within 500 ms.
        let revocations = tokio::spawn(self.hearth.clone().watch_revocations());
        let operator_events = tokio::spawn(self.hearth.clone().watch_operator_events());
        // Voice states end when their member loses the right to them (service/voice.rs).
        let voice_watch = tokio::spawn(self.hearth.clone().run_voice_watch());
        // On a cluster: this node's presence entry is renewed and dead nodes' users go
        // offline (service/presence.rs; returns at once on a single node).
        let presence = tokio::spawn(self.hearth.clone().keep_presence());
        let (fed, db, log) = (self.fed.clone(), self.hearth.db.clone(), self.log.clone());
        let blocks = tokio::spawn(async move {
            let mut t = tokio::time::interval(crate::service::relay::RELAY_POLL);
            let mut before: Vec<String> = Vec::new();
            loop {
                t.tick().await;
                match fed.reload_blocks(&db).await {
                    Ok(now) => {
                        // A lifted block: deliver what waited for its servers at once.
                        let lifted: Vec<String> = before
                            .iter()
                            .filter(|b| !now.contains(b))
                            .cloned()
                            .collect();
                        if !lifted.is_empty()
                            && let Ok(peers) = db.peer_servers().await
                        {
                            let policy = s2s::DomainPolicy::new(&lifted, &[]);
                            for p in peers.iter().filter(|p| !policy.allows(p)) {
                                log.kick(p);
                            }
                        }
                        before = now;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read the federation blocks"),
                }
            }
        });
        // Expired uploads and the bytes of deleted files (after their grace period).
        let h = self.hearth.clone();
        let media_gc = tokio::spawn(
            node.clone()
                .exclusive("media_collector", move || h.clone().run_media_collector()),
        );
        // Message removal of deleted accounts (resumes stored jobs) and the federation
        // notices announcing deletions (resumes stored notices).
        let h = self.hearth.clone();
        let purges = tokio::spawn(
            node.clone()
                .exclusive("message_purges", move || h.clone().run_message_purges()),
        );
        let h = self.hearth.clone();
        let polls = tokio::spawn(
            node.clone()
                .exclusive("poll_expiry", move || h.clone().run_poll_expiry()),
        );
        // Threads idle longer than their auto_archive_duration are archived.
        let h = self.hearth.clone();
        let archiver = tokio::spawn(
            node.clone()
                .exclusive("thread_archiver", move || h.clone().run_thread_archiver()),
        );
        // Scheduled events start, end and are canceled on their clock.
        let h = self.hearth.clone();
        let scheduled = tokio::spawn(node.clone().exclusive("scheduled_events", move || {
            h.clone().run_scheduled_event_status()
        }));
        // The MLS outbox (spec/mls.md): one node delivers it, in order per destination.
        let m = Arc::downgrade(&self.mls);
        let mls_outbox = tokio::spawn(
            node.clone()
                .exclusive("mls_outbox", move || mls::outbox_worker(m.clone())),
        );
        let h = self.hearth.clone();
        let checkpoints = tokio::spawn(
            node.clone()
                .exclusive("checkpoints", move || h.clone().run_checkpoints()),
        );
        let (h, f) = (self.hearth.clone(), self.fed.clone());
        let notices = tokio::spawn(node.clone().exclusive("federation_notices", move || {
            s2s::notices::run(h.clone(), f.clone())
        }));
        let janitor = tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(60));
            loop {
                t.tick().await;
                limits.shrink();
            }
        });
        let gateway = self.gateway.clone();
        let draining = self.hearth.node.clone();
        let drain_delay = Duration::from_millis(self.hearth.config.node.drain_delay_ms);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        tokio::spawn(async move {
            shutdown.await;
            // `/ready` answers 503 from now on; after `node.drain_delay_ms` (the load
            // balancer's health check took the node out meanwhile, while it still served),
            // every gateway session is told op 7 RECONNECT (a rolling restart: clients
            // reconnect elsewhere) and the listeners stop.
            draining.drain();
            // On a cluster the sessions are announced as moving from now on (and again
            // before op 7, for those started meanwhile), so a client that resumes elsewhere
            // waits for them (gateway/handoff.rs).
            gateway.announce_handoff().await;
            tokio::time::sleep(drain_delay).await;
            gateway.announce_handoff().await;
            gateway.shutdown();
            let _ = stop_tx.send(true);
        });
        let shutdown = stopped(stop_rx.clone());
        let fed = self.fed.clone();
        let key_reload_ms = self.hearth.config.federation.key_reload_ms;
        let key_reload = tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_millis(key_reload_ms));
            t.tick().await;
            loop {
                t.tick().await;
                if let Err(e) = fed.reload_keys().await {
                    tracing::warn!(error = %e, "cannot reload the server keys");
                }
            }
        });
        let metrics_task = self.metrics_listener.map(|l| {
            let router = Router::new()
                .route("/metrics", axum::routing::get(scrape))
                .with_state(Scrape {
                    metrics: self.metrics.clone(),
                    gateway: self.gateway.clone(),
                    hearth: self.hearth.clone(),
                });
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                let _ = axum::serve(l, router).with_graceful_shutdown(stop).await;
            })
        });
        let conns = &self.hearth.config.connections;
        let fed_task = self.federation.map(|(listener, router)| {
            let server = Server::new(
                "federation",
                listener.tcp,
                listener.tls,
                router,
                self.admission.clone(),
                conns,
            );
            tokio::spawn(server.serve(stopped(stop_rx.clone())))
        });
        Server::new(
            "client",
            self.listener,
            None,
            self.router,
            self.admission.clone(),
            conns,
        )
        .serve(shutdown)
        .await;
        catch_up.abort();
        if let Some(r) = registrar {
            r.abort();
        }
        if let Some(r) = registrar_marks {
            r.abort();
        }
        janitor.abort();
        revocations.abort();
        operator_events.abort();
        blocks.abort();
        voice_watch.abort();
        presence.abort();
        media_gc.abort();
        purges.abort();
        polls.abort();
        scheduled.abort();
        archiver.abort();
        checkpoints.abort();
        mls_outbox.abort();
        notices.abort();
        key_reload.abort();
        if let Some(t) = fed_task {
            let _ = t.await;
        }
        if let Some(t) = metrics_task {
            let _ = t.await;
        }
        // On a cluster the sessions go to Redis at once (what follows is in the streams):
        // clients resuming elsewhere need not wait for the federation log.
        self.gateway.hand_off_sessions().await;
        // Everything committed is in the federation log before the database closes, and
        // routed by the gateway, whose sessions are saved for RESUME after the restart.
        let barrier = self.log.barrier().await;
        self.gateway.save_for_restart(barrier).await;
        // Other nodes take this node's jobs and sequencers over at once.
        self.hearth.node.release_all().await;
        self.hearth.db.close().await;
        Ok(())
    }
}

/// The configured blob store (`media.store`): the local folder `{data_dir}/media` or S3.
fn blob_store(config: &Config) -> Result<Arc<dyn BlobStore>> {
    Ok(match config.media.store {
        BlobBackend::Local => Arc::new(LocalBlobs::new(config.media_dir())),
        BlobBackend::S3 => Arc::new(S3Blobs::new(&config.media.s3)?),
    })
}

/// What `GET /metrics` reads at each scrape.
#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    gateway: Arc<Gateway>,
    hearth: Arc<Hearth>,
}

/// `GET /metrics` on the metrics listener: the exposition text ([`crate::metrics`]).
async fn scrape(axum::extract::State(s): axum::extract::State<Scrape>) -> impl IntoResponse {
    let st = s.gateway.session_stats();
    let shed = s.gateway.shed_stats();
    let traffic = s.gateway.traffic_stats();
    let now = crate::storage::now_ms();
    let peers = match s.hearth.db.peer_summaries().await {
        Ok(rows) => rows
            .into_iter()
            .map(|p| PeerSample {
                lag_seconds: crate::service::operator::lag_seconds(p.oldest_pending_at, now),
                peer: p.server,
                pending: p.pending,
                failures: p.failures,
                dead: p.dead,
                push_attempts: p.push_attempts,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the federation peers");
            vec![]
        }
    };
    let (db_open, db_idle) = hearth_db::on_db!(&s.hearth.db, p => (p.size(), p.num_idle()));
    let sample = Sample {
        sessions_connected: st.connected as i64,
        sessions_detached: st.detached as i64,
        buffered_events: st.buffered as i64,
        replay_log_entries: st.log.entries as i64,
        shed: vec![
            ("typing_dispatch".into(), shed.typing_dispatches),
            ("presence_dispatch".into(), shed.presence_dispatches),
            ("typing_delivery".into(), shed.typing_deliveries),
            ("presence_delivery".into(), shed.presence_deliveries),
        ],
        db_open: i64::from(db_open),
        db_idle: db_idle as i64,
        db_max: i64::from(s.hearth.config.database_max_connections),
        dispatches: traffic.dispatches,
        deliveries: traffic.deliveries,
        bus_lagged: traffic.bus_lagged,
        sessions_restarted: traffic.restarted,
        outbox_entries: s.hearth.db.outbox_depth().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "metrics: cannot count the outbox");
            0
        }),
        search_backlog: *s.hearth.writer.search_backlog().borrow() as i64,
        peers,
        jobs: s
            .hearth
            .jobs
            .snapshot()
            .into_iter()
            .map(|j| (j.job.to_string(), j.ok, j.failed))
            .collect(),
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(&sample),
    )
}

/// `/ready`'s check of a cluster's Redis ([`crate::cluster::Cluster::ping`]).
struct RedisProbe(crate::cluster::Cluster);

#[async_trait::async_trait]
impl crate::service::ports::HealthProbe for RedisProbe {
    async fn check(&self) -> Option<String> {
        self.0.ping().await
    }
}

/// A listening socket on `addr` with a queue of `backlog` connections not yet accepted
/// (`connections.listen_backlog`; the kernel lowers it to `net.core.somaxconn`). tokio's
/// `TcpListener::bind` asks for 1,024: in a reconnect storm of thousands of clients the
/// queue overflows and the kernel drops their handshakes, which clients retry only after
/// 1, 3, 7... seconds. `SO_REUSEADDR` as `bind` sets it.
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}
