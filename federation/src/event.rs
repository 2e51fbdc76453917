//! Guild events: origin-signed actions inside host-signed, hash-chained envelopes (spec §6).
//!
//! A user's server (the *origin*) signs what the user did as an [`OriginAction`]
//! (purpose `hearth.event.v1`): host, guild, channel, type, sender, transaction id, timestamp
//! and the **hash** of the content, never the content itself. The guild's *host* checks it,
//! assigns the next `seq`, links it to the previous event with `prev_hash`, and signs the
//! envelope (purpose `hearth.host-event.v1`) **without** the `content` member:
//!
//! ```json
//! {
//!   "host": "b.example", "guild_id": "1001", "seq": 42, "prev_hash": "<b64>",
//!   "host_ts": 1700000000500, "object_id": "3003",
//!   "action": { "host": "b.example", "guild_id": "1001", "channel_id": "2002",
//!               "type": "message.create", "sender": "alice@a.example", "origin": "a.example",
//!               "txn_id": "m1", "origin_ts": 1700000000000, "content_hash": "<b64>",
//!               "signatures": { "a.example": { "ed25519:a1": "<b64>" } } },
//!   "content": { "content": "hello" },
//!   "signatures": { "b.example": { "ed25519:b1": "<b64>" } },
//!   "unsigned": { }
//! }
//! ```
//!
//! Because neither signature covers `content` directly, the content can be dropped (a *stub*,
//! [`stub`]) for moderation deletes or for peers that may not see a channel, and the event still
//! verifies and still chains; substituted content is caught by the content hash.
//! [`event_hash`] (the next event's `prev_hash`) is the same for an event and its stub.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::b64;
use crate::canonical::{self, canonical_json};
use crate::error::{Error, Result};
use crate::keys::{KeyLookup, KeyState, KnownKey, ServerKey};
use crate::names::{parse_handle, validate_server_name};
use crate::sign::{self, Purpose, content_hash, sha256_b64};

/// Event types of protocol version 1 (spec §6.5). Receivers ignore (but store and chain) types
/// they do not know.
pub mod types {
    /// A message was posted.
    pub const MESSAGE_CREATE: &str = "message.create";
    /// A message was edited.
    pub const MESSAGE_UPDATE: &str = "message.update";
    /// A message was deleted (content of the original is dropped by receivers).
    pub const MESSAGE_DELETE: &str = "message.delete";
    /// Several messages were deleted.
    pub const MESSAGE_DELETE_BULK: &str = "message.delete_bulk";
    /// A reaction was added.
    pub const REACTION_ADD: &str = "reaction.add";
    /// A reaction was removed.
    pub const REACTION_REMOVE: &str = "reaction.remove";
    /// A message was pinned.
    pub const PIN_ADD: &str = "pin.add";
    /// A message was unpinned.
    pub const PIN_REMOVE: &str = "pin.remove";
    /// A user joined the guild.
    pub const MEMBER_JOIN: &str = "member.join";
    /// A user left the guild.
    pub const MEMBER_LEAVE: &str = "member.leave";
    /// A member's nick or roles changed.
    pub const MEMBER_UPDATE: &str = "member.update";
    /// A member was kicked.
    pub const MEMBER_KICK: &str = "member.kick";
    /// A user was banned.
    pub const MEMBER_BAN: &str = "member.ban";
    /// A ban was lifted.
    pub const MEMBER_UNBAN: &str = "member.unban";
    /// A role was created.
    pub const ROLE_CREATE: &str = "role.create";
    /// A role was changed.
    pub const ROLE_UPDATE: &str = "role.update";
    /// A role was deleted.
    pub const ROLE_DELETE: &str = "role.delete";
    /// A channel was created.
    pub const CHANNEL_CREATE: &str = "channel.create";
    /// A channel was changed.
    pub const CHANNEL_UPDATE: &str = "channel.update";
    /// A channel was deleted.
    pub const CHANNEL_DELETE: &str = "channel.delete";
    /// A permission overwrite was set.
    pub const OVERWRITE_SET: &str = "overwrite.set";
    /// A permission overwrite was removed.
    pub const OVERWRITE_DELETE: &str = "overwrite.delete";
    /// Guild settings changed.
    pub const GUILD_UPDATE: &str = "guild.update";
}

/// Why an event travels without content (`unsigned.content_state`, spec §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StubReason {
    /// The receiving server may not see the channel; content can be backfilled later.
    Withheld,
    /// The content was deleted (moderation, message delete, GDPR erasure); gone for everyone.
    Removed,
    /// The whole event is larger than the federation event cap (spec §9.2,
    /// `MAX_EVENT_BYTES` of the host); only its envelope travels.
    TooLarge,
    /// Receiver side: the action's origin signature is by a key revoked before the host
    /// sequenced it (spec §3.6); the event is chained but its effect is never applied.
    Revoked,
}

impl StubReason {
    /// The wire value of `unsigned.content_state`.
    pub fn as_str(self) -> &'static str {
        match self {
            StubReason::Withheld => "withheld",
            StubReason::Removed => "removed",
            StubReason::TooLarge => "too_large",
            StubReason::Revoked => "revoked",
        }
    }
}

fn validate_id(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 20
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "{what} must be a decimal snowflake string"
        )))
    }
}

fn validate_token(what: &str, s: &str, extra: &[u8]) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "{what} must be 1-64 characters of [A-Za-z0-9{}]",
            String::from_utf8_lossy(extra)
        )))
    }
}

fn validate_hash(what: &str, h: &str) -> Result<()> {
    b64::decode_array::<32>(h, what).map(|_| ())
}

/// What the origin server signs for one user action (spec §6.2), purpose `hearth.event.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginAction {
    /// The guild's host server; the action is valid only there.
    pub host: String,
    /// The guild id in the host's id space (decimal snowflake string).
    pub guild_id: String,
    /// The channel id in the host's id space, for channel-scoped actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Event type, e.g. `message.create` (1-64 of `[a-z0-9_.]`; see [`types`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// The acting user, `localpart@origin`.
    pub sender: String,
    /// The signing server: the sender's home server.
    pub origin: String,
    /// Origin-chosen id, unique per origin (1-64 of `[A-Za-z0-9._~-]`); the host applies an
    /// action once per `(origin, txn_id)`.
    pub txn_id: String,
    /// Origin clock when the user acted, ms since the Unix epoch.
    pub origin_ts: u64,
    /// [`content_hash`] of the action's content.
    pub content_hash: String,
}

impl OriginAction {
    /// Checks the shape: server names, ids, tokens, hash, and that `sender` is a user of
    /// `origin`.
    ///
    /// # Errors
    /// [`Error::Malformed`], or [`Error::OriginMismatch`] if the sender's server is not the
    /// origin.
    pub fn validate(&self) -> Result<()> {
        validate_server_name(&self.host)?;
        validate_server_name(&self.origin)?;
        validate_id("guild_id", &self.guild_id)?;
        if let Some(c) = &self.channel_id {
            validate_id("channel_id", c)?;
        }
        validate_token("type", &self.kind, b"_.")?;
        if self.kind.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::malformed("type must be lower case"));
        }
        validate_token("txn_id", &self.txn_id, b"._~-")?;
        validate_hash("content_hash", &self.content_hash)?;
        if self.origin_ts > canonical::MAX_SAFE_INTEGER {
            return Err(Error::malformed("origin_ts out of range"));
        }
        let (_, sender_server) = parse_handle(&self.sender)?;
        if sender_server != self.origin {
            return Err(Error::OriginMismatch(format!(
                "{} is not a user of {}",
                self.sender, self.origin
            )));
        }
        Ok(())
    }

    /// Whether `content` hashes to this action's `content_hash`.
    ///
    /// # Errors
    /// [`Error::ContentHashMismatch`]; canonical JSON errors.
    pub fn check_content(&self, content: &Value) -> Result<()> {
        if content_hash(content)? == self.content_hash {
            Ok(())
        } else {
            Err(Error::ContentHashMismatch)
        }
    }

    /// Validates and signs the action as its origin with `key` (purpose `hearth.event.v1`).
    ///
    /// # Errors
    /// As [`OriginAction::validate`].
    pub fn sign(&self, key: &ServerKey) -> Result<Value> {
        self.validate()?;
        let mut v = serde_json::to_value(self).map_err(|e| Error::malformed(e.to_string()))?;
        sign::sign_json(Purpose::Event, &mut v, &self.origin, key)?;
        Ok(v)
    }

    /// Parses a signed action and verifies the origin's signature with a key usable at
    /// `origin_ts`.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::OriginMismatch`], and the errors of
    /// [`sign::verify_signed_by`].
    pub fn verify(signed: &Value, keys: &impl KeyLookup) -> Result<OriginAction> {
        canonical::check(signed)?;
        let action: OriginAction = serde_json::from_value(signed.clone())
            .map_err(|e| Error::malformed(format!("action: {e}")))?;
        action.validate()?;
        sign::verify_signed_by(
            Purpose::Event,
            signed,
            &action.origin,
            keys,
            action.origin_ts,
        )?;
        Ok(action)
    }
}

/// What a host checks before sequencing an action sent by a peer (spec §6.6).
#[derive(Debug, Clone, Copy)]
pub struct ActionTarget<'a> {
    /// This (host) server's name.
    pub host: &'a str,
    /// The guild the request targets (host id).
    pub guild_id: &'a str,
    /// The channel the request targets (host id), if channel-scoped.
    pub channel_id: Option<&'a str>,
    /// The authenticated server that sent the request (from [`crate::request`]).
    pub request_origin: &'a str,
    /// Host clock, ms.
    pub now: u64,
}

/// Host-side acceptance of an origin-signed action and its content (spec §6.6): sent by its
/// origin; names this host, guild and channel; origin signature valid; `origin_ts` within
/// [`crate::MAX_CLOCK_SKEW_MS`] of the host clock; content matches `content_hash`. The
/// `(origin, txn_id)` once-only check and permission checks are the homeserver's.
///
/// # Errors
/// [`Error::OriginMismatch`], [`Error::WrongTarget`], [`Error::ClockSkew`],
/// [`Error::ContentHashMismatch`] and the errors of [`OriginAction::verify`].
pub fn accept_action(
    signed: &Value,
    content: &Value,
    target: &ActionTarget<'_>,
    keys: &impl KeyLookup,
) -> Result<OriginAction> {
    // Cheap checks on the claimed action first, so a relayed or retargeted action is reported
    // as such rather than as a key or signature problem.
    let action: OriginAction = serde_json::from_value(signed.clone())
        .map_err(|e| Error::malformed(format!("action: {e}")))?;
    action.validate()?;
    if action.origin != target.request_origin {
        return Err(Error::OriginMismatch(format!(
            "action of {} relayed by {}",
            action.origin, target.request_origin
        )));
    }
    if action.host != target.host
        || action.guild_id != target.guild_id
        || action.channel_id.as_deref() != target.channel_id
    {
        return Err(Error::WrongTarget(format!(
            "action is for {}/{}/{}",
            action.host,
            action.guild_id,
            action.channel_id.as_deref().unwrap_or("-")
        )));
    }
    let action = OriginAction::verify(signed, keys)?;
    let skew_ms = target.now.abs_diff(action.origin_ts);
    if skew_ms > crate::MAX_CLOCK_SKEW_MS {
        return Err(Error::ClockSkew { skew_ms });
    }
    action.check_content(content)?;
    Ok(action)
}

/// The host's log entry (spec §6.3) before signing; `action` is the signed origin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostEvent {
    /// The guild's host, the signer of the envelope.
    pub host: String,
    /// Guild id (host id space).
    pub guild_id: String,
    /// Position in the guild log: 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// [`event_hash`] of the event at `seq - 1`; absent exactly when `seq == 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    /// Host clock when sequenced, ms since the Unix epoch.
    pub host_ts: u64,
    /// Id (host id space) of the object the event created, for creating types
    /// (`message.create`: the message id; `role.create`, `channel.create`: the new id);
    /// absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// The signed [`OriginAction`] as received (kept byte-for-byte as a JSON value).
    pub action: Value,
    /// The action's content; absent in stubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// For a relayed action whose effect the host records alongside it (spec §6.3): the
    /// content hash of `content.result`, signed by the host. When present, `content` is
    /// `{"request": <what the origin signed>, "result": <what the host made of it>}` and the
    /// origin's `content_hash` covers `content.request` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_hash: Option<String>,
}

impl HostEvent {
    fn validate_shape(&self) -> Result<()> {
        validate_server_name(&self.host)?;
        validate_id("guild_id", &self.guild_id)?;
        if let Some(id) = &self.object_id {
            validate_id("object_id", id)?;
        }
        if let Some(h) = &self.result_hash {
            validate_hash("result_hash", h)?;
        }
        if self.seq == 0 || self.seq > canonical::MAX_SAFE_INTEGER {
            return Err(Error::malformed("seq must be 1..=2^53-1"));
        }
        match (&self.prev_hash, self.seq) {
            (None, 1) => {}
            (Some(h), s) if s > 1 => validate_hash("prev_hash", h)?,
            _ => {
                return Err(Error::malformed(
                    "prev_hash is absent exactly when seq is 1",
                ));
            }
        }
        Ok(())
    }

    fn check_action(&self, action: &OriginAction) -> Result<()> {
        if action.host != self.host || action.guild_id != self.guild_id {
            return Err(Error::WrongTarget(format!(
                "action for {}/{} in an event of {}/{}",
                action.host, action.guild_id, self.host, self.guild_id
            )));
        }
        match (&self.content, &self.result_hash) {
            (Some(c), None) => action.check_content(c)?,
            (Some(c), Some(rh)) => {
                let request = c.get("request").ok_or_else(|| {
                    Error::malformed("content.request is required with result_hash")
                })?;
                let result = c.get("result").ok_or_else(|| {
                    Error::malformed("content.result is required with result_hash")
                })?;
                action.check_content(request)?;
                if content_hash(result)? != *rh {
                    return Err(Error::ContentHashMismatch);
                }
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// Signs the envelope as the host with `key` (purpose `hearth.host-event.v1`, over the
    /// envelope without `content`). The action is parsed (not re-verified) to check that it
    /// names this host and guild and that the content matches its hash.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::WrongTarget`], [`Error::ContentHashMismatch`].
    pub fn sign(&self, key: &ServerKey) -> Result<Value> {
        self.validate_shape()?;
        let action: OriginAction = serde_json::from_value(self.action.clone())
            .map_err(|e| Error::malformed(format!("action: {e}")))?;
        action.validate()?;
        self.check_action(&action)?;
        let mut v = serde_json::to_value(self).map_err(|e| Error::malformed(e.to_string()))?;
        let content = v.as_object_mut().and_then(|o| o.remove("content"));
        sign::sign_json(Purpose::HostEvent, &mut v, &self.host, key)?;
        if let (Some(c), Some(o)) = (content, v.as_object_mut()) {
            o.insert("content".into(), c);
        }
        Ok(v)
    }
}

/// An event whose host and origin signatures (and content, if present) verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    /// The envelope (with content if it was present).
    pub envelope: HostEvent,
    /// The parsed origin action.
    pub action: OriginAction,
    /// [`event_hash`] of this event, the `prev_hash` of the next one.
    pub hash: String,
}

impl VerifiedEvent {
    /// Whether the event came without content.
    pub fn is_stub(&self) -> bool {
        self.envelope.content.is_none()
    }
}

fn without(value: &Value, drop: &[&str]) -> Result<Map<String, Value>> {
    let obj = value
        .as_object()
        .ok_or_else(|| Error::malformed("an event is a JSON object"))?;
    Ok(obj
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// The hash that chains events (spec §6.3): unpadded base64 SHA-256 of the canonical JSON of
/// the event without `content`, `signatures` and `unsigned`. Identical for an event and its
/// stub, and independent of which host key signed.
///
/// # Errors
/// [`Error::Malformed`] if `event` is not an object; canonical JSON errors.
pub fn event_hash(event: &Value) -> Result<String> {
    let m = without(event, &["content", "signatures", "unsigned"])?;
    Ok(sha256_b64(&canonical_json(&Value::Object(m))?))
}

/// Verifies only the host's part of an event (spec §6.3, §3.6): shape, the host's signature
/// (key usable at `host_ts`) and the content hash of any content **as claimed by the
/// action** (the action is parsed but its origin signature is not checked). Returns the
/// envelope and its [`event_hash`]. Receivers use it to keep the log gapless when the origin
/// signature of an already-sequenced event cannot be verified any more (its origin key was
/// revoked); such an event is chained but never applied. Everything else uses
/// [`verify_event`].
///
/// # Errors
/// [`Error::Malformed`], [`Error::WrongTarget`], [`Error::ContentHashMismatch`] and the errors
/// of [`sign::verify_signed_by`] for the host signature.
pub fn verify_envelope(event: &Value, keys: &impl KeyLookup) -> Result<(HostEvent, String)> {
    canonical::check(event)?;
    let envelope: HostEvent =
        serde_json::from_value(Value::Object(without(event, &["signatures", "unsigned"])?))
            .map_err(|e| Error::malformed(format!("event: {e}")))?;
    envelope.validate_shape()?;
    let signed_part = Value::Object(without(event, &["content"])?);
    sign::verify_signed_by(
        Purpose::HostEvent,
        &signed_part,
        &envelope.host,
        keys,
        envelope.host_ts,
    )?;
    let claimed: OriginAction = serde_json::from_value(envelope.action.clone())
        .map_err(|e| Error::malformed(format!("action: {e}")))?;
    claimed.validate()?;
    envelope.check_action(&claimed)?;
    Ok((envelope, event_hash(event)?))
}

/// Verifies a host event (spec §6.3): [`verify_envelope`], then the origin's signature on the
/// action (key usable at `origin_ts`, or a key revoked since when the host vouches for the
/// action, spec §3.6). Chain continuity is checked separately ([`check_link`]).
///
/// # Errors
/// [`Error::Malformed`], [`Error::WrongTarget`], [`Error::ContentHashMismatch`],
/// [`Error::OriginMismatch`] and the errors of [`sign::verify_signed_by`].
pub fn verify_event(event: &Value, keys: &impl KeyLookup) -> Result<VerifiedEvent> {
    let (envelope, hash) = verify_envelope(event, keys)?;
    let action = match OriginAction::verify(&envelope.action, keys) {
        Err(Error::RevokedKey {
            server_name,
            key_id,
        }) => vouched_action(&envelope, &server_name, &key_id, keys)?,
        other => other?,
    };
    Ok(VerifiedEvent {
        envelope,
        action,
        hash,
    })
}

/// The action of a verified envelope whose origin signature is by `key_id` of `server_name`,
/// a key revoked since (spec §3.6): accepted, its signature checked with that key, when the
/// host vouches for it, that is when the action's origin is the host itself (the envelope,
/// signed by a usable host key, covers the action), or when the host sequenced it before the
/// revocation (`host_ts < revoked_ts`). A thief holding the revoked key can do neither: a
/// host's usable key signs every envelope, and a host refuses actions signed by a key it
/// knows revoked.
///
/// # Errors
/// [`Error::RevokedKey`] when neither holds; [`Error::BadSignature`] and the parse errors of
/// [`OriginAction::verify`].
fn vouched_action(
    envelope: &HostEvent,
    server_name: &str,
    key_id: &str,
    keys: &impl KeyLookup,
) -> Result<OriginAction> {
    let revoked = || Error::RevokedKey {
        server_name: server_name.to_owned(),
        key_id: key_id.to_owned(),
    };
    let action: OriginAction = serde_json::from_value(envelope.action.clone())
        .map_err(|e| Error::malformed(format!("action: {e}")))?;
    action.validate()?;
    let Some(KnownKey {
        key,
        state: KeyState::Revoked { revoked_ts },
    }) = keys.lookup(server_name, key_id)
    else {
        return Err(revoked());
    };
    if server_name != action.origin
        || !(action.origin == envelope.host || envelope.host_ts < revoked_ts)
    {
        return Err(revoked());
    }
    sign::verify_signature(Purpose::Event, &envelope.action, server_name, key_id, &key)?;
    Ok(action)
}

/// `event` with its host signatures replaced by one made with `key` (spec §3.6): what a host
/// serves in place of an event it signed with a key it has revoked since. The
/// [`event_hash`], the content and `unsigned` are unchanged; the host signs the envelope
/// without `content`, as [`HostEvent::sign`] does.
///
/// # Errors
/// [`Error::Malformed`] if `event` is not an object or names no `host`; canonical JSON
/// errors.
pub fn resign_envelope(event: &Value, key: &ServerKey) -> Result<Value> {
    let host = event
        .get("host")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::malformed("an event names its host"))?
        .to_owned();
    let mut signed = Value::Object(without(event, &["content", "signatures"])?);
    sign::sign_json(Purpose::HostEvent, &mut signed, &host, key)?;
    if let (Some(c), Some(o)) = (event.get("content"), signed.as_object_mut()) {
        o.insert("content".into(), c.clone());
    }
    Ok(signed)
}

/// The ids of the keys `host` signed `event` with (empty when there are none or the
/// signatures are malformed).
pub fn host_key_ids(event: &Value) -> Vec<String> {
    let host = event
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or_default();
    event
        .get("signatures")
        .and_then(|s| s.get(host))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The content-less stub of a signed event (spec §6.4): `content` removed and
/// `unsigned.content_state` set to the reason. It verifies with [`verify_event`] and has the
/// same [`event_hash`].
///
/// # Errors
/// [`Error::Malformed`] if `event` is not an object.
pub fn stub(event: &Value, reason: StubReason) -> Result<Value> {
    let mut m = without(event, &["content"])?;
    let unsigned = m
        .entry("unsigned")
        .or_insert_with(|| Value::Object(Map::new()));
    if !unsigned.is_object() {
        *unsigned = Value::Object(Map::new());
    }
    if let Some(u) = unsigned.as_object_mut() {
        u.insert("content_state".into(), reason.as_str().into());
    }
    Ok(Value::Object(m))
}

/// Checks that `next` directly follows `prev` in the same guild log: same host and guild,
/// `next.seq == prev.seq + 1` and `next.prev_hash == prev.hash`.
///
/// # Errors
/// [`Error::ChainBreak`] saying which condition fails.
pub fn check_link(prev: &VerifiedEvent, next: &VerifiedEvent) -> Result<()> {
    let (p, n) = (&prev.envelope, &next.envelope);
    if p.host != n.host || p.guild_id != n.guild_id {
        return Err(Error::ChainBreak("events of different guild logs".into()));
    }
    if n.seq != p.seq + 1 {
        return Err(Error::ChainBreak(format!(
            "seq {} does not follow {}",
            n.seq, p.seq
        )));
    }
    if n.prev_hash.as_deref() != Some(prev.hash.as_str()) {
        return Err(Error::ChainBreak(format!(
            "prev_hash of seq {} is not the hash of seq {}",
            n.seq, p.seq
        )));
    }
    Ok(())
}

/// Two validly host-signed events of one guild with the same `seq` and different hashes
/// (spec §10.2): proof that the host showed different histories. Serialises as
/// `{"first": <event>, "second": <event>}`; either may be a stub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationProof {
    /// The event seen first (the one kept).
    pub first: Value,
    /// The conflicting event (refused).
    pub second: Value,
}

impl EquivocationProof {
    /// If `first` and `second` prove equivocation, the proof; if they are the same event
    /// (full or stub), `None`.
    ///
    /// # Errors
    /// Verification errors of either event, or [`Error::Malformed`] if they are not of the
    /// same host, guild and seq.
    pub fn detect(
        first: &Value,
        second: &Value,
        keys: &impl KeyLookup,
    ) -> Result<Option<EquivocationProof>> {
        let a = verify_event(first, keys)?;
        let b = verify_event(second, keys)?;
        if a.envelope.host != b.envelope.host
            || a.envelope.guild_id != b.envelope.guild_id
            || a.envelope.seq != b.envelope.seq
        {
            return Err(Error::malformed(
                "events of different positions are not an equivocation",
            ));
        }
        if a.hash == b.hash {
            return Ok(None);
        }
        Ok(Some(EquivocationProof {
            first: stub(first, StubReason::Withheld)?,
            second: stub(second, StubReason::Withheld)?,
        }))
    }

    /// Re-checks a stored or received proof.
    ///
    /// # Errors
    /// As [`EquivocationProof::detect`], or [`Error::Malformed`] if the events do not conflict.
    pub fn verify(&self, keys: &impl KeyLookup) -> Result<()> {
        match Self::detect(&self.first, &self.second, keys)? {
            Some(_) => Ok(()),
            None => Err(Error::malformed("the two events are the same")),
        }
    }

    /// The error a receiver reports when it refuses `second`.
    pub fn error(&self) -> Error {
        Error::Equivocation {
            guild_id: self.first["guild_id"].as_str().unwrap_or("").to_owned(),
            seq: self.first["seq"].as_u64().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests;
