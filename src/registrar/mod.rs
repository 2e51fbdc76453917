//! Registrar integration of the homeserver (issue 5; spec/registrar.md).
//!
//! - Outbound calls use [`hearth_federation::http::SafeHttp`] with the federation transport
//!   rules.
//! - [`Link`]: this server's side. With `registrar.url` set, a background task ([`Link::run`])
//!   registers at start-up (retrying with backoff while the registrar is down; federation never
//!   waits for it), re-registers on every key change and every `registrar.refresh_secs`, and
//!   keeps the summaries of discoverable guilds and the cards of opted-in users current.
//! - The challenge document (`GET /.well-known/hearth/registrar-challenge/{token}`) is served
//!   only for a token this server asked a registrar for (stored in `registrar_challenges`),
//!   signed under `hearth.registrar-challenge.v1`.
//! - The notary fallback ([`crate::s2s::client::KeyFallback`]): when a peer's key endpoint is
//!   unreachable, its keys as last verified by the registrar; when discovery of a peer fails,
//!   the endpoint where the registrar found it (its own host only, so TLS still authenticates
//!   the peer). Accepted only with a valid signature by the pinned `registrar.public_key`.
//! - Client routes: `GET /discovery/guilds`, `GET /discovery/servers`,
//!   `GET /discovery/users/{handle}`, `GET|PATCH /discovery/@me`.

use hearth_federation::keys::{KeyDocument, PublicKey};
use hearth_federation::sign::{self, Purpose};
use serde_json::Value;

mod link;
mod routes;
mod summaries;

pub use link::{Link, LinkStatus};
pub use routes::{ApiDoc, LinkApi, client_routes, federation_routes};
pub use summaries::guild_summary;

/// Prefix of every registrar endpoint.
pub const API: &str = "/_registrar/v1";
/// Largest answer read from the registrar.
pub const MAX_REGISTRAR_RESPONSE: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Shared checks

/// Verifies a notary answer (spec/registrar.md "Key notary"): a
/// `hearth.registrar-notary.v1` signature by the registrar with `registrar_key`, the
/// `server_name` asked for, and the enclosed key document's own self-signature. Returns the
/// key document, its `valid_until_ts` capped by the answer's.
///
/// # Errors
/// A description of the first failed check.
pub fn verify_notary(
    answer: &Value,
    registrar_key: &PublicKey,
    server_name: &str,
    now: u64,
) -> std::result::Result<KeyDocument, String> {
    let registrar = answer["registrar"]
        .as_str()
        .ok_or("notary answer without registrar")?;
    let sigs = sign::signatures(answer).map_err(|e| e.to_string())?;
    let ok = sigs.get(registrar).is_some_and(|m| {
        m.keys().any(|id| {
            sign::verify_signature(
                Purpose::RegistrarNotary,
                answer,
                registrar,
                id,
                registrar_key,
            )
            .is_ok()
        })
    });
    if !ok {
        return Err("notary answer is not signed by the pinned registrar key".into());
    }
    if answer["server_name"].as_str() != Some(server_name) {
        return Err("notary answer is about another server".into());
    }
    let valid_until = answer["valid_until_ts"]
        .as_u64()
        .ok_or("notary answer without valid_until_ts")?;
    if valid_until <= now {
        return Err("notary answer expired".into());
    }
    let mut doc =
        KeyDocument::verify(&answer["key_document"], server_name).map_err(|e| e.to_string())?;
    doc.valid_until_ts = doc.valid_until_ts.min(valid_until);
    if doc.valid_until_ts <= now {
        return Err("notarised key document expired".into());
    }
    Ok(doc)
}
