//! End-to-end-encrypted DMs with MLS (RFC 9420; issue 6; `spec/mls.md`).
//!
//! The homeserver never sees plaintext. It is
//! - the **Authentication Service** of its users: it signs device credentials
//!   ([`hearth_federation::device::DeviceCredential`]) with its federation key;
//! - the **KeyPackage directory** of their devices: validated uploads, stock counts, atomic
//!   one-per-device claims with a last-resort fallback, rate limits and the DM policy;
//! - the **hub** (Delivery Service) of the groups its users create: it keeps each group's
//!   public state with openmls's `PublicGroup`, accepts one commit per epoch (409 otherwise),
//!   releases Welcomes only with accepted commits, and fans every accepted message out to the
//!   member devices, locally and through federation (durable outbox, retried with backoff);
//! - the **inbox** of its users' devices: read by cursor over REST and pushed to gateway
//!   sessions as `MLS_MESSAGE` dispatches.
//!
//! `service.rs` holds the rules, this file the routes, the error type and the outbox worker;
//! the SQL is in `src/storage/mls.rs` (migration 0005).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use openmls::prelude::Ciphersuite;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{Value, json};

use crate::error::{Error, FedRefusal, MlsRefusal};
use crate::http::openapi::{ApiError, JsonValue};
use crate::http::{Auth, Body, P, Q};
use crate::s2s::{FedRejection, Federation, SignedRequest, retry_backoff_ms};
use crate::service::Hearth;
use crate::storage::now_ms;
use crate::wire;

pub mod hub;
pub mod service;

/// The one ciphersuite accepted.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
/// Validity of a device credential: 90 days.
pub const CREDENTIAL_VALIDITY_MS: u64 = 90 * 24 * 3_600_000;
/// Application messages may use this many recent epochs (the current one included).
pub const APPLICATION_EPOCH_WINDOW: u64 = 3;
/// Claims per minute by one claimer of one user's packages.
pub const CLAIMS_PER_MINUTE_PER_TARGET: usize = 10;
/// Claims per minute by one claimer in total.
pub const CLAIMS_PER_MINUTE_PER_CLAIMER: usize = 60;
/// KeyPackages per upload request.
pub const MAX_KEY_PACKAGES: usize = 100;
/// Largest inbox page.
pub const MAX_INBOX_PAGE: i64 = 500;

/// The MLS services of one homeserver: the service layer, the federation layer (remote
/// claims, hub submissions, delivery) and the MLS in-memory state. Dereferences to
/// [`Hearth`], so the rules in [`service`] read as in the service layer.
pub struct Mls {
    pub hearth: Arc<Hearth>,
    pub fed: Arc<Federation>,
    pub(crate) mls: MlsState,
}

impl std::ops::Deref for Mls {
    type Target = Hearth;
    fn deref(&self) -> &Hearth {
        &self.hearth
    }
}

impl Mls {
    /// The MLS services over `hearth` and `fed`. Their outbox is delivered by
    /// [`outbox_worker`], which the composition root runs as the job `mls_outbox` (one node
    /// of a cluster at a time).
    pub fn start(hearth: Arc<Hearth>, fed: Arc<Federation>) -> Arc<Mls> {
        Arc::new(Mls {
            hearth,
            fed,
            mls: MlsState::default(),
        })
    }
}

/// State of the MLS routes (client and federation).
#[derive(Clone)]
pub struct MlsApi(pub Arc<Mls>);

impl std::ops::Deref for MlsApi {
    type Target = Mls;
    fn deref(&self) -> &Mls {
        &self.0
    }
}

impl axum::extract::FromRef<MlsApi> for Arc<Hearth> {
    fn from_ref(s: &MlsApi) -> Arc<Hearth> {
        s.0.hearth.clone()
    }
}

impl axum::extract::FromRef<MlsApi> for Arc<Federation> {
    fn from_ref(s: &MlsApi) -> Arc<Federation> {
        s.0.fed.clone()
    }
}

/// In-memory state of the MLS services: claim counters, per-group hub locks, the inbox
/// lock and the outbox wake-up.
#[derive(Default)]
pub struct MlsState {
    pub(crate) claims: Mutex<HashMap<(String, i64), VecDeque<Instant>>>,
    pub(crate) group_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Inbox ids are taken and inserted under this lock, so a cursor never skips an item.
    pub(crate) inbox_lock: tokio::sync::Mutex<()>,
    pub(crate) wake: tokio::sync::Notify,
}

impl std::fmt::Debug for MlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlsState").finish_non_exhaustive()
    }
}

/// A 400 50035 error on `field` (`BASE_TYPE_INVALID`).
pub(crate) fn form(field: &str, message: &str) -> Error {
    crate::error::field_error(field, "BASE_TYPE_INVALID", message)
}

/// 400 60001.
pub(crate) fn bad_message(m: &str) -> Error {
    Error::Mls(MlsRefusal::BadMessage(m.to_owned()))
}

/// 400 60002.
pub(crate) fn bad_key_package(m: &str) -> Error {
    Error::Mls(MlsRefusal::BadKeyPackage(m.to_owned()))
}

/// 400 60006.
pub(crate) fn invalid_commit(m: &str) -> Error {
    Error::Mls(MlsRefusal::InvalidCommit(m.to_owned()))
}

/// The federation form of an answer: `{ok: true, result}`, or 200 with `{ok: false, status,
/// error: body}` (peers do not pass error bodies through, and these are application answers,
/// not transport failures).
fn relayed(e: &Error) -> Value {
    json!({"ok": false, "status": e.status().as_u16(), "error": e.body()})
}

/// Decodes a relayed answer: `{ok: true, result}` or the hub's refusal.
pub(crate) fn from_relayed(v: Value) -> Result<Value, Error> {
    if v["ok"] == json!(true) {
        return Ok(v["result"].clone());
    }
    let status = v["status"].as_u64().unwrap_or(502) as u16;
    let status = if (400..500).contains(&status) {
        status
    } else {
        502
    };
    let err = &v["error"];
    Err(Error::Mls(MlsRefusal::Relayed {
        status,
        code: err["code"].as_u64().unwrap_or(60009) as u32,
        message: err["message"]
            .as_str()
            .unwrap_or("refused by the remote server")
            .to_owned(),
        epoch: err["epoch"].as_u64(),
    }))
}

fn relay(r: Result<Value, Error>) -> axum::Json<Value> {
    axum::Json(match r {
        Ok(v) => json!({"ok": true, "result": v}),
        Err(Error::Internal(e)) => {
            tracing::error!(error = %e, "mls federation request failed");
            json!({"ok": false, "status": 500, "error": {"code": 0, "message": "internal error"}})
        }
        Err(e) => relayed(&e),
    })
}

type H = State<MlsApi>;
type Res = Result<axum::Json<Value>, Error>;

// ---------------------------------------------------------------------------------------
// Client routes (mounted under /api, /api/v9, /api/v10)

/// The client routes (spec/mls.md §3).
pub fn client_routes() -> Router<MlsApi> {
    Router::new()
        .route("/mls/devices", get(list_devices).post(register_device))
        .route(
            "/mls/devices/{device_id}/key-packages",
            get(stock).post(upload_key_packages),
        )
        .route("/mls/devices/{device_id}/inbox", get(inbox))
        .route("/mls/key-packages/claim", post(claim))
        .route("/mls/groups", post(create_group))
        .route("/mls/messages", post(send))
}

/// The OpenAPI operations of [`client_routes`] ([`crate::http::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_devices,
    register_device,
    stock,
    upload_key_packages,
    inbox,
    claim,
    create_group,
    send
))]
pub struct ApiDoc;

#[utoipa::path(
    post,
    path = "/mls/devices",
    tag = "mls",
    request_body(content = wire::MlsRegisterDeviceBody, description = "wire::MlsRegisterDeviceBody"),
    responses(
        (status = 201, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn register_device(
    State(h): H,
    Auth(a): Auth,
    Body(b): Body<wire::MlsRegisterDeviceBody>,
) -> Result<Response, Error> {
    let v = h.mls_register_device(&a, &b.signature_key).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

#[utoipa::path(
    get,
    path = "/mls/devices",
    tag = "mls",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn list_devices(State(h): H, Auth(a): Auth) -> Res {
    Ok(axum::Json(h.mls_devices(&a).await?))
}

#[utoipa::path(
    post,
    path = "/mls/devices/{device_id}/key-packages",
    tag = "mls",
    params(
        ("device_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::MlsUploadBody, description = "wire::MlsUploadBody"),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn upload_key_packages(
    State(h): H,
    Auth(a): Auth,
    P(device_id): P<String>,
    Body(b): Body<wire::MlsUploadBody>,
) -> Res {
    Ok(axum::Json(
        h.mls_upload_key_packages(&a, &device_id, &b.key_packages, b.last_resort.as_deref())
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/mls/devices/{device_id}/key-packages",
    tag = "mls",
    params(
        ("device_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn stock(State(h): H, Auth(a): Auth, P(device_id): P<String>) -> Res {
    Ok(axum::Json(h.mls_stock(&a, &device_id).await?))
}

#[utoipa::path(
    get,
    path = "/mls/devices/{device_id}/inbox",
    tag = "mls",
    params(
        ("device_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("after" = Option<String>, Query, description = "Cursor: the `id` of the last item read"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn inbox(
    State(h): H,
    Auth(a): Auth,
    P(device_id): P<String>,
    Q(q): Q<wire::MlsInboxQuery>,
) -> Res {
    Ok(axum::Json(
        h.mls_inbox(&a, &device_id, q.after.as_deref(), q.limit)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/mls/key-packages/claim",
    tag = "mls",
    request_body(content = wire::MlsClaimBody, description = "wire::MlsClaimBody"),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn claim(State(h): H, Auth(a): Auth, Body(b): Body<wire::MlsClaimBody>) -> Res {
    Ok(axum::Json(
        h.mls_claim(&a, &b.user, b.device_id.as_deref()).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/mls/groups",
    tag = "mls",
    request_body(content = wire::MlsCreateGroupBody, description = "wire::MlsCreateGroupBody"),
    responses(
        (status = 201, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn create_group(
    State(h): H,
    Auth(a): Auth,
    Body(b): Body<wire::MlsCreateGroupBody>,
) -> Result<Response, Error> {
    let v = h
        .mls_create_group(&a, &b.device_id, &b.group_info, &b.ratchet_tree)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

#[utoipa::path(
    post,
    path = "/mls/messages",
    tag = "mls",
    request_body(content = wire::MlsSendBody, description = "wire::MlsSendBody"),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn send(State(h): H, Auth(a): Auth, Body(b): Body<wire::MlsSendBody>) -> Res {
    Ok(axum::Json(
        h.0.mls_send(
            &a,
            &b.device_id,
            &b.message,
            b.welcome.as_deref(),
            b.group_info.as_deref(),
        )
        .await?,
    ))
}

// ---------------------------------------------------------------------------------------
// Federation routes (spec/federation.md §8.x)

/// The MLS federation routes.
pub fn federation_routes() -> Router<MlsApi> {
    Router::new()
        .route("/_hearth/federation/v1/mls/claim", post(fed_claim))
        .route("/_hearth/federation/v1/mls/submit", post(fed_submit))
        .route("/_hearth/federation/v1/mls/deliver", post(fed_deliver))
}

fn handle_server(handle: &str) -> Option<&str> {
    handle.rsplit_once('@').map(|(_, s)| s)
}

fn forbidden(m: &str) -> FedRejection {
    FedRejection::refuse(FedRefusal::Forbidden(m.to_owned()))
}

async fn fed_claim(State(h): H, req: SignedRequest) -> Result<axum::Json<Value>, FedRejection> {
    let b: wire::MlsFedClaimBody = req.json()?;
    if handle_server(&b.claimer) != Some(req.origin.as_str()) {
        return Err(forbidden("the claimer must be a user of the origin server"));
    }
    Ok(relay(h.mls_claim_local(&b.claimer, &b.user, None).await))
}

async fn fed_submit(State(h): H, req: SignedRequest) -> Result<axum::Json<Value>, FedRejection> {
    let b: wire::MlsFedSubmitBody = req.json()?;
    if handle_server(&b.sender) != Some(req.origin.as_str()) {
        return Err(forbidden("the sender must be a user of the origin server"));
    }
    let bytes = match hearth_federation::b64::decode(&b.message, "message") {
        Ok(x) => x,
        Err(e) => return Ok(relay(Err(form("message", &e.to_string())))),
    };
    Ok(relay(
        h.0.mls_hub_submit(
            &b.sender,
            &b.device_id,
            &bytes,
            b.welcome.as_deref(),
            b.group_info.as_deref(),
        )
        .await,
    ))
}

/// `POST /_hearth/federation/v1/mls/deliver`: one item, or `{"items": [...]}` in the hub's
/// order. Every item must come from its group's hub; each is stored idempotently.
async fn fed_deliver(State(h): H, req: SignedRequest) -> Result<axum::Json<Value>, FedRejection> {
    let body: Value = req.json()?;
    let malformed = |e: serde_json::Error| FedRejection::malformed(format!("body: {e}"));
    let items: Vec<wire::MlsDeliverItem> = match body.get("items") {
        Some(items) => serde_json::from_value(items.clone()).map_err(malformed)?,
        None => vec![serde_json::from_value(body).map_err(malformed)?],
    };
    for item in &items {
        let hub = service::hub_of(item.group_id.as_bytes())
            .map(|(hub, _)| hub)
            .ok();
        if hub.as_deref() != Some(req.origin.as_str()) || Some(item.hub.as_str()) != hub.as_deref()
        {
            return Err(forbidden("only a group's hub delivers its messages"));
        }
    }
    let mut n = 0;
    for item in &items {
        n += h.mls_receive(item).await.map_err(|e| {
            tracing::error!(error = %e, "mls delivery failed");
            FedRejection(Error::internal("mls delivery failed"))
        })?;
    }
    Ok(axum::Json(json!({"stored": n})))
}

// ---------------------------------------------------------------------------------------
// Outbox worker

/// Rows sent in one `/mls/deliver` request.
pub const DELIVER_BATCH: i64 = 50;
/// Batches sent to one destination per worker pass (then other work gets a turn).
const BATCHES_PER_PASS: usize = 8;

/// How long the outbox worker sleeps at most with nothing due: on PostgreSQL other nodes of
/// a cluster queue rows too (their wake-up does not reach this node), so a second.
fn outbox_idle(h: &Mls) -> u64 {
    if h.db.is_postgres() { 1_000 } else { 5_000 }
}

/// Delivers the MLS outbox until `weak` is gone: each due destination's queue in turn
/// ([`deliver_queue`]), then sleeps until the next row is due, a row is queued on this node
/// ([`outbox_idle`] at most). Runs on one node at a time (the job `mls_outbox`).
pub async fn outbox_worker(weak: Weak<Mls>) {
    loop {
        let Some(h) = weak.upgrade() else { return };
        let due =
            h.db.mls_outbox_due_destinations(now_ms())
                .await
                .unwrap_or_default();
        let mut tasks = tokio::task::JoinSet::new();
        for dest in due {
            tasks.spawn(deliver_queue(h.clone(), dest));
        }
        while tasks.join_next().await.is_some() {}
        let idle = outbox_idle(&h);
        let wait = match h.db.mls_outbox_next().await {
            Ok(Some(t)) => (t - now_ms()).clamp(0, idle as i64) as u64,
            _ => idle,
        };
        let wake = async {
            h.mls.wake.notified().await;
        };
        let _ = tokio::time::timeout(Duration::from_millis(wait.max(1)), wake).await;
        drop(h);
    }
}

/// Delivers `destination`'s queue in order (spec/federation.md §8.9): batches of up to
/// [`DELIVER_BATCH`] rows, oldest first. A transient failure puts the head row in backoff
/// ([`retry_backoff_ms`]: 1 s doubling, at most an hour, with jitter) and stops, so no later row
/// overtakes it. A permanent refusal of a batch is retried row by row, and a row refused on its
/// own is dropped with a warning.
async fn deliver_queue(h: Arc<Mls>, destination: String) {
    let mut limit = DELIVER_BATCH;
    for _ in 0..BATCHES_PER_PASS {
        let rows = match h.db.mls_outbox_queue(&destination, limit).await {
            Ok(r) if !r.is_empty() => r,
            _ => return,
        };
        let items: Vec<Value> = rows
            .iter()
            .map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null))
            .collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let body = json!({ "items": items });
        match h
            .fed
            .request(&destination, Method::POST, &rows[0].path, Some(&body))
            .await
        {
            Ok(_) => {
                let _ = h.db.mls_outbox_done(&ids).await;
                limit = DELIVER_BATCH;
            }
            Err(e) if e.is_permanent() && rows.len() > 1 => {
                tracing::debug!(dest = %destination, error = %e, "mls batch refused; sending rows one by one");
                limit = 1;
            }
            Err(e) if e.is_permanent() => {
                tracing::warn!(dest = %destination, error = %e, row = rows[0].id, "mls delivery refused by the peer; dropped");
                let _ = h.db.mls_outbox_done(&ids).await;
            }
            Err(e) => {
                let head = &rows[0];
                let attempts = head.attempts + 1;
                tracing::debug!(dest = %destination, error = %e, attempts, "mls delivery failed");
                let _ =
                    h.db.mls_outbox_retry(head.id, attempts, now_ms() + retry_backoff_ms(attempts))
                        .await;
                return;
            }
        }
    }
    // More rows than one pass takes: come back at once.
    h.mls.wake.notify_one();
}
