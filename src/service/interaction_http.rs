//! Interactions over HTTP (Discord "Interactions > Receiving and Responding > Receiving an
//! Interaction", "Overview of Interactions > Preparing for Interactions > Setting Up an
//! Endpoint", "Security and Authorization"): an application that set an
//! `interactions_endpoint_url` gets its interactions posted there instead of the gateway's
//! INTERACTION_CREATE, and the answer of that request is its interaction response.
//!
//! Keys: every application has an ed25519 key pair, made on first use (the first read of
//! the application object or the first post) and stored in `application_endpoints`
//! (migration 0033) with the seed sealed (AES-256-GCM under a key derived from the server
//! secret, bound to the application's id); `verify_key` on the application object is the
//! public key in hex. Each request carries `X-Signature-Timestamp` (unix seconds, decimal)
//! and `X-Signature-Ed25519` = hex(sign(timestamp ‖ body)).
//!
//! Setting the URL (`PATCH /applications/@me` or `PATCH /applications/{id}`): `https://`
//! (also `http://` when `federation.allow_private_addresses` is on, for tests and LANs), at
//! most [`MAX_URL_LENGTH`] characters; the server then posts a signed PING (`type` 1),
//! which must be answered with a 2xx whose JSON body has `"type": 1`, and the same PING with
//! a corrupted signature, which must be answered 401 (the endpoint verifies signatures).
//! Otherwise 400 50035 at `interactions_endpoint_url` naming what failed, and nothing is
//! stored. `null` or `""` clears it (interactions go back to the gateway).
//!
//! Delivery: the interaction object (the gateway's INTERACTION_CREATE payload, token
//! included) is posted; the answer must come within 3 seconds ([`ACK_DEADLINE`]), be a 2xx
//! of at most [`MAX_ANSWER_BYTES`] of JSON `{type, data}`, and is then applied exactly as
//! `POST /interactions/{id}/{token}/callback` would be (the same service call). A
//! timeout, a refused address, a non-2xx, a body that is not a callback or a callback the
//! server refuses fails the interaction at once: the invoker's sessions get
//! INTERACTION_FAILURE, as when a gateway bot lets the deadline pass. An application that
//! answered through the callback route before answering the request keeps that answer.
//! Follow-ups and `@original` use the webhook token routes as before. Answers with files
//! (multipart) are not read: they fail.

use std::sync::Arc;

use ed25519_dalek::{Signer as _, SigningKey};
use rand::RngCore as _;
use serde_json::json;

use super::interactions::ACK_DEADLINE;
use super::{Hearth, to_value};
use crate::error::{Error, Result, field_error};
use crate::events::{Audience, Event};
use crate::snowflake::Snowflake;
use crate::storage::{FAILED, now_ms};
use crate::wire;

/// Longest `interactions_endpoint_url`, characters.
pub const MAX_URL_LENGTH: usize = 512;
/// Largest answer read from an endpoint, bytes.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The associated data that binds a sealed signing key to its application.
fn key_aad(app_id: i64) -> String {
    format!("application-signing-key:{app_id}")
}

/// The two signature headers of `body` signed at `timestamp` (unix seconds).
fn signature_headers(
    key: &SigningKey,
    timestamp: &str,
    body: &[u8],
    corrupt: bool,
) -> Vec<(&'static str, String)> {
    let mut msg = timestamp.as_bytes().to_vec();
    msg.extend_from_slice(body);
    let mut sig = key.sign(&msg).to_bytes();
    if corrupt {
        sig[0] ^= 0x01;
    }
    vec![
        ("X-Signature-Ed25519", hex::encode(sig)),
        ("X-Signature-Timestamp", timestamp.to_owned()),
    ]
}

fn endpoint_error(msg: impl Into<String>) -> Error {
    field_error(
        "interactions_endpoint_url",
        "APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID",
        msg,
    )
}

impl Hearth {
    /// The signing key of application `app_id` (made and stored on first use) and its
    /// endpoint URL.
    pub(super) async fn interactions_key(
        &self,
        app_id: i64,
    ) -> Result<(SigningKey, Option<String>)> {
        let (sealed, url) = match self.db.application_endpoint_row(app_id).await? {
            Some(row) => row,
            None => {
                let mut seed = [0u8; 32];
                rand::rng().fill_bytes(&mut seed);
                let fresh = self.mfa.seal(&key_aad(app_id), &seed)?;
                self.db.application_endpoint(app_id, &fresh).await?
            }
        };
        let raw = self.mfa.open(&key_aad(app_id), &sealed)?;
        let seed: [u8; 32] = raw
            .try_into()
            .map_err(|_| Error::internal("application signing key length"))?;
        Ok((SigningKey::from_bytes(&seed), url))
    }

    /// The application object's `verify_key` (hex) and `interactions_endpoint_url`.
    pub(super) async fn interactions_fields(
        &self,
        app_id: i64,
    ) -> Result<(String, Option<String>)> {
        let (key, url) = self.interactions_key(app_id).await?;
        Ok((hex::encode(key.verifying_key().to_bytes()), url))
    }

    /// Posts `body` signed by `key` to `url` within [`ACK_DEADLINE`].
    async fn post_signed(
        &self,
        key: &SigningKey,
        url: &str,
        body: Vec<u8>,
        corrupt: bool,
    ) -> std::result::Result<super::ports::EndpointAnswer, String> {
        let ts = (now_ms() / 1000).to_string();
        let headers = signature_headers(key, &ts, &body, corrupt);
        self.endpoints
            .post(url, headers, body, ACK_DEADLINE, MAX_ANSWER_BYTES)
            .await
    }

    /// Sets or clears application `app_id`'s `interactions_endpoint_url` after verifying
    /// the endpoint (see the module docs). Errors: 400 50035 at `interactions_endpoint_url`.
    pub(super) async fn set_interactions_endpoint(
        &self,
        app_id: i64,
        url: Option<String>,
    ) -> Result<()> {
        let (key, _) = self.interactions_key(app_id).await?;
        let url = url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        let Some(url) = url else {
            return self.db.set_application_endpoint_url(app_id, None).await;
        };
        if url.chars().count() > MAX_URL_LENGTH {
            return Err(endpoint_error(format!(
                "Must be {MAX_URL_LENGTH} or fewer in length."
            )));
        }
        let parsed =
            reqwest::Url::parse(&url).map_err(|_| endpoint_error("Not a well formed URL."))?;
        let plain_ok = self.config.federation.allow_private_addresses;
        let scheme_ok = parsed.scheme() == "https" || (plain_ok && parsed.scheme() == "http");
        if !scheme_ok || parsed.host_str().is_none() {
            return Err(endpoint_error("The URL must be https://."));
        }
        let ping = serde_json::to_vec(&json!({
            "id": Snowflake::from_db(self.next_id()),
            "application_id": Snowflake::from_db(app_id),
            "type": 1,
            "token": format!("interaction.{}", super::auth::random_token()),
            "version": 1,
            "entitlements": [],
            "authorizing_integration_owners": {},
        }))
        .map_err(Error::internal)?;
        let fail = |why: String| {
            endpoint_error(format!(
                "The specified interactions endpoint url could not be verified: {why}"
            ))
        };
        let answer = self
            .post_signed(&key, &url, ping.clone(), false)
            .await
            .map_err(fail)?;
        if !(200..300).contains(&answer.status) {
            return Err(fail(format!("the PING was answered {}", answer.status)));
        }
        let pong = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["type"].as_u64());
        if pong != Some(1) {
            return Err(fail("the PING was not answered with {\"type\": 1}".into()));
        }
        let bad = self
            .post_signed(&key, &url, ping, true)
            .await
            .map_err(fail)?;
        if bad.status != 401 {
            return Err(fail(format!(
                "a request with an invalid signature was answered {} instead of 401",
                bad.status
            )));
        }
        self.db
            .set_application_endpoint_url(app_id, Some(&url))
            .await
    }

    /// Posts interaction `interaction` (its object as JSON) to `url` in a task and applies
    /// the answer as its callback, or fails it (see the module docs). `notify`: the
    /// invoker's sessions are told of a failure (not for autocomplete).
    pub(super) fn post_interaction(
        self: &Arc<Self>,
        url: String,
        interaction: wire::Interaction,
        user: Snowflake,
        client_event: wire::InteractionClientEvent,
        notify: bool,
    ) {
        let h = self.clone();
        tokio::spawn(async move {
            let (id, token, app_id) = (
                interaction.id,
                interaction.token.clone(),
                interaction.application_id,
            );
            let outcome = async {
                let body = serde_json::to_vec(&interaction).map_err(|e| e.to_string())?;
                let (key, _) = h
                    .interactions_key(app_id.db())
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                let answer = h.post_signed(&key, &url, body, false).await?;
                if !(200..300).contains(&answer.status) {
                    return Err(format!("answered {}", answer.status));
                }
                let cb: wire::InteractionCallbackBody = serde_json::from_slice(&answer.body)
                    .map_err(|e| format!("not an interaction response: {e}"))?;
                h.interaction_callback(id, &token, cb, false, vec![])
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("response refused: {e:?}"))
            }
            .await;
            if let Err(why) = outcome {
                tracing::info!(interaction = %id, application = %app_id, %why, "interaction endpoint failed");
                h.fail_interaction(id.db(), user, &client_event, notify)
                    .await;
            }
        });
    }

    /// Fails interaction `id` unless it was answered: INTERACTION_FAILURE to the invoker's
    /// sessions when `notify`.
    pub(super) async fn fail_interaction(
        &self,
        id: i64,
        user: Snowflake,
        client_event: &wire::InteractionClientEvent,
        notify: bool,
    ) {
        if let Ok(true) = self
            .db
            .settle_interaction(id, FAILED, None, false, None)
            .await
            && notify
        {
            self.publish(Self::event_of(
                Event::InteractionFailure,
                Audience::Users(vec![user]),
                0,
                to_value(client_event),
            ));
        }
    }
}
