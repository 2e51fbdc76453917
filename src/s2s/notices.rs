//! Federation notices about users (spec/federation.md §18): an account deletion announced to
//! every server that knows the user.
//!
//! - Sending: the service layer stores one row of `federation_notices` per destination in the
//!   transaction that deletes the account and wakes [`run`] through
//!   [`crate::service::ports::GuildHost::notices_queued`]. [`run`] POSTs each due row, signed
//!   (§7), and deletes it on a 2xx answer or a permanent refusal
//!   ([`super::FedError::is_permanent`], logged); any other failure schedules the row again with
//!   exponential backoff ([`super::retry_backoff_ms`]).
//!   The rows survive restarts, so delivery resumes at start-up.
//! - The home signs each notice when it sends it (purpose `hearth.user-notice.v1`), so a
//!   host that applies it for the first time relays it, as received, to the member servers
//!   of its guilds that know the user (rows queued by the service before it removes her
//!   there, §18.3): servers her home never heard of are told too.
//! - Receiving: `POST /_hearth/federation/v1/users/deleted` ([`user_deleted`]) accepts a
//!   deletion only from the user's own home server: sent by it (the handle's server part is
//!   the authenticated origin) or relayed with its signature (403 `H_ORIGIN_MISMATCH`
//!   otherwise), and applies it through [`Hearth::apply_remote_deletion`].

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use hearth_federation::sign::{Purpose, sign_json, verify_signed_by};
use reqwest::Method;
use serde_json::Value;

use super::{FedRejection, FedState, Federation, SignedRequest};
use crate::error::FedRefusal;
use crate::service::Hearth;
use crate::service::deletion::{DELETION_CLOCK_SKEW_MS, RelayedNotice, USER_DELETED_PATH};
use crate::storage::{NoticeRow, now_ms};
use crate::wire::federation::{UserDeleted, UserDeletedAnswer};

/// Notices sent per round (concurrently; then the next due ones).
pub const NOTICE_BATCH: i64 = 50;
/// Longest sleep of the sender without a wake-up.
const POLL_MS: i64 = 30_000;

/// The notice routes.
pub fn routes() -> Router<FedState> {
    Router::new().route(USER_DELETED_PATH, post(user_deleted))
}

/// `POST /_hearth/federation/v1/users/deleted` [`UserDeleted`] -> `200 {"applied": bool}`:
/// from the user's home server, or relayed by a host with the home's signature
/// (purpose `hearth.user-notice.v1`, spec/federation.md §18.1, §18.3).
///
/// Errors: the §7 authentication errors; 400 `H_MALFORMED` (body, handles, `deleted_at` in
/// the future); 403 `H_ORIGIN_MISMATCH` (the two handles name different servers; a relayed
/// notice without a valid signature of the home); 401 `H_UNKNOWN_KEY` (a relayed notice
/// whose home's keys cannot be fetched now).
async fn user_deleted(
    State(s): State<FedState>,
    req: SignedRequest,
) -> Result<Json<UserDeletedAnswer>, FedRejection> {
    let raw: Value = req.json()?;
    let n: UserDeleted = serde_json::from_value(raw.clone())
        .map_err(|e| FedRejection::malformed(format!("notice: {e}")))?;
    let parse = |h: &str| {
        hearth_federation::names::parse_handle(h)
            .map(|(name, server)| (name.to_owned(), server.to_lowercase()))
            .map_err(|e| FedRejection::malformed(format!("{h:?}: {e}")))
    };
    let (name, server) = parse(&n.handle)?;
    let (anon, anon_server) = parse(&n.anonymised_handle)?;
    if anon_server != server {
        return Err(FedRejection::refuse(FedRefusal::OriginMismatch(format!(
            "{} and {} name different servers",
            n.handle, n.anonymised_handle
        ))));
    }
    if name == anon {
        return Err(FedRejection::malformed(
            "anonymised_handle must differ from handle",
        ));
    }
    if n.deleted_at > now_ms().saturating_add(DELETION_CLOCK_SKEW_MS) {
        return Err(FedRejection::malformed("deleted_at is in the future"));
    }
    // Only her home may announce her deletion: directly, or through a host relaying the
    // notice the home signed. Only a notice with the home's valid signature is relayed on.
    let signature = home_signature(&s.fed, &raw, &server, n.deleted_at).await;
    if !server.eq_ignore_ascii_case(&req.origin) {
        match &signature {
            HomeSignature::Valid => {}
            HomeSignature::Absent => {
                return Err(FedRejection::refuse(FedRefusal::OriginMismatch(format!(
                    "{} cannot announce the deletion of a user of {server} without {server}'s \
                     signature",
                    req.origin
                ))));
            }
            HomeSignature::Invalid(e) => {
                return Err(FedRejection::refuse(FedRefusal::OriginMismatch(format!(
                    "{server}'s signature of the relayed notice does not verify: {e}"
                ))));
            }
            HomeSignature::Unreachable(e) => {
                return Err(FedRejection::refuse(FedRefusal::UnknownKey(format!(
                    "the keys of {server} cannot be fetched: {e}"
                ))));
            }
        }
    }
    let body = raw.to_string();
    let from = req.origin.to_lowercase();
    let relay = matches!(signature, HomeSignature::Valid).then_some(RelayedNotice {
        body: &body,
        from: &from,
    });
    let applied = s
        .hearth
        .apply_remote_deletion(
            &name,
            &server,
            &anon,
            n.deleted_at,
            n.delete_messages,
            relay.as_ref(),
        )
        .await?;
    Ok(Json(UserDeletedAnswer { applied }))
}

/// What a notice's signature by its home server is worth.
enum HomeSignature {
    /// It carries none.
    Absent,
    /// Valid, by a key of the home usable at `deleted_at`.
    Valid,
    /// It does not verify (a bad signature, an unknown or revoked key): a permanent refusal.
    Invalid(String),
    /// The home's keys cannot be fetched now: a refusal the relaying host retries.
    Unreachable(String),
}

/// Checks the home's signature of a notice with a key usable at `deleted_at`, refetching the
/// home's key document once when it fails (a key it rotated to since).
async fn home_signature(
    fed: &Federation,
    notice: &Value,
    home: &str,
    deleted_at: i64,
) -> HomeSignature {
    if notice
        .get("signatures")
        .and_then(|sig| sig.get(home))
        .is_none()
    {
        return HomeSignature::Absent;
    }
    let check = || {
        verify_signed_by(
            Purpose::UserNotice,
            notice,
            home,
            &fed.client.keys(),
            deleted_at.max(0) as u64,
        )
    };
    if fed.client.server_keys(home).await.is_ok() && check().is_ok() {
        return HomeSignature::Valid;
    }
    let _ = fed.client.refresh_server_keys(home).await;
    if let Err(e) = fed.client.server_keys(home).await {
        return HomeSignature::Unreachable(e.to_string());
    }
    match check() {
        Ok(_) => HomeSignature::Valid,
        Err(e) => HomeSignature::Invalid(e.to_string()),
    }
}

/// The notice `body` of this server signed as its home (purpose `hearth.user-notice.v1`), so
/// hosts can relay it; a notice that carries signatures already (relayed from its home) as
/// it is.
fn signed_notice(fed: &Federation, mut body: Value) -> Result<Value, hearth_federation::Error> {
    if body.get("signatures").is_none() {
        sign_json(
            Purpose::UserNotice,
            &mut body,
            &fed.server_name,
            &fed.keyring.current(),
        )?;
    }
    Ok(body)
}

/// The sender (spawned by the composition root): delivers due notices until aborted.
pub async fn run(h: Arc<Hearth>, fed: Arc<Federation>) {
    loop {
        let due = match h.db.notices_due(now_ms(), NOTICE_BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the federation notices");
                vec![]
            }
        };
        let full = due.len() as i64 == NOTICE_BATCH;
        futures_util::future::join_all(due.iter().map(|n| deliver(&h, &fed, n))).await;
        if full {
            continue;
        }
        let wait = match h.db.notices_next().await {
            Ok(Some(t)) => (t - now_ms()).clamp(0, POLL_MS),
            _ => POLL_MS,
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait.max(1) as u64)) => {}
            _ = fed.notices.notified() => {}
        }
    }
}

/// One attempt at notice `n`.
async fn deliver(h: &Hearth, fed: &Federation, n: &NoticeRow) {
    let body = match serde_json::from_str(&n.body)
        .map_err(|e| e.to_string())
        .and_then(|b| signed_notice(fed, b).map_err(|e| e.to_string()))
    {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(id = n.id, error = %e, "unreadable federation notice dropped");
            let _ = h.db.notice_done(n.id).await;
            return;
        }
    };
    let sent = fed
        .request(&n.destination, Method::POST, &n.path, Some(&body))
        .await;
    h.jobs.record("federation_notice", sent.is_ok());
    match sent {
        Ok(_) => {
            tracing::debug!(id = n.id, dest = %n.destination, "federation notice delivered");
            let _ = h.db.notice_done(n.id).await;
        }
        Err(e) if e.is_permanent() => {
            tracing::warn!(id = n.id, dest = %n.destination, error = %e, "federation notice refused by the peer; dropped");
            let _ = h.db.notice_done(n.id).await;
        }
        Err(e) => {
            let attempts = n.attempts + 1;
            let delay = super::retry_backoff_ms(attempts);
            tracing::debug!(id = n.id, dest = %n.destination, error = %e, attempts, delay, "federation notice not delivered");
            let _ = h.db.notice_retry(n.id, attempts, now_ms() + delay).await;
        }
    }
}
