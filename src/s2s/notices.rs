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
//! - Receiving: `POST /_hearth/federation/v1/users/deleted` ([`user_deleted`]) accepts a
//!   deletion only from the user's own home server (the handle's server part must be the
//!   authenticated origin, 403 `H_ORIGIN_MISMATCH`) and applies it through
//!   [`Hearth::apply_remote_deletion`].

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use reqwest::Method;
use serde_json::Value;

use super::{FedRejection, FedState, Federation, SignedRequest};
use crate::error::FedRefusal;
use crate::service::Hearth;
use crate::service::deletion::{DELETION_CLOCK_SKEW_MS, USER_DELETED_PATH};
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

/// `POST /_hearth/federation/v1/users/deleted` [`UserDeleted`] -> `200 {"applied": bool}`.
///
/// Errors: the §7 authentication errors; 400 `H_MALFORMED` (body, handles, `deleted_at` in
/// the future); 403 `H_ORIGIN_MISMATCH` (a handle of another server than the origin).
async fn user_deleted(
    State(s): State<FedState>,
    req: SignedRequest,
) -> Result<Json<UserDeletedAnswer>, FedRejection> {
    let n: UserDeleted = req.json()?;
    let parse = |h: &str| {
        hearth_federation::names::parse_handle(h)
            .map(|(name, server)| (name.to_owned(), server.to_lowercase()))
            .map_err(|e| FedRejection::malformed(format!("{h:?}: {e}")))
    };
    let (name, server) = parse(&n.handle)?;
    let (anon, anon_server) = parse(&n.anonymised_handle)?;
    for s in [&server, &anon_server] {
        if !s.eq_ignore_ascii_case(&req.origin) {
            return Err(FedRejection::refuse(FedRefusal::OriginMismatch(format!(
                "{} cannot announce the deletion of a user of {s}",
                req.origin
            ))));
        }
    }
    if name == anon {
        return Err(FedRejection::malformed(
            "anonymised_handle must differ from handle",
        ));
    }
    if n.deleted_at > now_ms().saturating_add(DELETION_CLOCK_SKEW_MS) {
        return Err(FedRejection::malformed("deleted_at is in the future"));
    }
    let applied = s
        .hearth
        .apply_remote_deletion(&name, &server, &anon, n.deleted_at, n.delete_messages)
        .await?;
    Ok(Json(UserDeletedAnswer { applied }))
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
    let body: Value = match serde_json::from_str(&n.body) {
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
