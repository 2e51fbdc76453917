//! Ports: what the service layer calls outward, as small traits it owns. The composition root
//! ([`crate::app`]) plugs in the implementations, so nothing under `service/` imports the
//! features that implement them.
//!
//! - [`GuildHost`]: the host server of a guild kept here as a replica (spec/federation.md
//!   §§7-9): relaying a local user's action, paging history and members in, joining by a
//!   remote invite. Implemented by federation (`crate::s2s`).
//! - [`OnlineMembers`]: who has a live gateway session (registrar summaries). Implemented by
//!   the gateway.
//! - [`BlobStore`]: where file bytes live, by [`BlobKey`]. Implemented by `crate::media`
//!   (local disk, S3).
//! - The event bus ([`crate::events::EventBus`]) is the third port: what the service layer
//!   announces after each commit.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Actor, Hearth};
use crate::error::Result;
use crate::storage::RemoteGuildRow;
use crate::wire;

/// The kind of an action a local user takes on a replica, relayed to the guild's host as
/// the `op` of an origin-signed action (spec/federation.md §7.2). Serialized in snake_case
/// (`"message_create"`); the host answers an op it does not know with 400 50035.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayOp {
    MessageCreate,
    MessageEdit,
    MessageDelete,
    ReactionAdd,
    ReactionRemove,
    PinAdd,
    PinRemove,
    TypingStart,
    MemberLeave,
}

impl RelayOp {
    /// The wire name (`message_create`, ...), as signed in the origin action's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            RelayOp::MessageCreate => "message_create",
            RelayOp::MessageEdit => "message_edit",
            RelayOp::MessageDelete => "message_delete",
            RelayOp::ReactionAdd => "reaction_add",
            RelayOp::ReactionRemove => "reaction_remove",
            RelayOp::PinAdd => "pin_add",
            RelayOp::PinRemove => "pin_remove",
            RelayOp::TypingStart => "typing_start",
            RelayOp::MemberLeave => "member_leave",
        }
    }
}

/// One relayed action, in this server's ids: `channel` and `message` are local ids of the
/// replica, `body` the client's request body (message create/edit), `Value::Null` otherwise.
#[derive(Debug, Clone)]
pub struct RelayAction<'a> {
    pub op: RelayOp,
    pub channel: Option<i64>,
    pub message: Option<i64>,
    pub emoji: Option<&'a str>,
    pub body: Value,
}

impl<'a> RelayAction<'a> {
    /// An action without ids or body (`member_leave`).
    pub fn new(op: RelayOp) -> Self {
        RelayAction {
            op,
            channel: None,
            message: None,
            emoji: None,
            body: Value::Null,
        }
    }
    /// Sets the channel (a local id).
    pub fn channel(mut self, channel: i64) -> Self {
        self.channel = Some(channel);
        self
    }
    /// Sets the message (a local id).
    pub fn message(mut self, message: i64) -> Self {
        self.message = Some(message);
        self
    }
    /// Sets the reaction emoji.
    pub fn emoji(mut self, emoji: &'a str) -> Self {
        self.emoji = Some(emoji);
        self
    }
    /// Sets the request body.
    pub fn body(mut self, body: Value) -> Self {
        self.body = body;
        self
    }
}

/// A page of a replica channel's history to fetch from the host, in local ids (the client's
/// `before`/`after`/`around`/`limit`, Discord "Get Channel Messages").
#[derive(Debug, Clone, Copy)]
pub struct HistoryPage {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub around: Option<i64>,
    /// 1-100.
    pub limit: i64,
}

/// A file of another server that this server shows (spec/federation.md §17), in this
/// server's ids: what [`GuildHost::fetch_media`] fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteMedia {
    /// An attachment of a message of a replica (local channel and attachment ids).
    Attachment { channel_id: i64, attachment_id: i64 },
    /// The avatar `hash` of a remote user (local user id), fetched from the user's server.
    Avatar { user_id: i64, hash: String },
    /// The icon, banner or splash `hash` of a replica (local guild id), fetched from its host.
    GuildImage {
        kind: super::images::ImageKind,
        guild_id: i64,
        hash: String,
    },
    /// A custom emoji of a replica (local emoji id), fetched from the guild's host.
    Emoji { emoji_id: i64 },
}

/// The host of a guild kept here as a replica (spec/federation.md §§7-9). Every method gets
/// the services (`h`) it works with, so an implementation holds no reference back to them.
#[async_trait]
pub trait GuildHost: Send + Sync + 'static {
    /// Relays a local user's action on a replica to its host, waits until the resulting
    /// events are applied here, and returns the host's result in local ids: the message of
    /// `message_create` and `message_edit`, `None` for the other ops.
    ///
    /// # Errors
    /// The host's Discord error (relayed with its status and code), 403 50001 when the host
    /// refuses this server, 503 when the host cannot be reached.
    async fn relay(
        &self,
        h: &Hearth,
        actor: &Actor,
        rg: &RemoteGuildRow,
        action: RelayAction<'_>,
    ) -> Result<Option<wire::Message>>;

    /// Fetches a page of a replica channel's history from the host into the replica (lazy
    /// backfill). A host that cannot be reached leaves the replica as it is (`Ok`).
    async fn backfill(
        &self,
        h: &Hearth,
        rg: &RemoteGuildRow,
        channel: i64,
        page: HistoryPage,
    ) -> Result<()>;

    /// Joins the guild of invite `code` on `server` (spec/federation.md §8) and returns the
    /// invite as the client sees it, in local ids.
    ///
    /// # Errors
    /// 404 10006 for an unknown invite, 403 40007 when banned, 503 when unreachable.
    async fn join(
        &self,
        h: &Hearth,
        actor: &Actor,
        code: &str,
        server: &str,
    ) -> Result<wire::Invite>;

    /// A page of a replica's members in the host's order, as local user ids (`after`: a
    /// local user id, 0 for the first page; `limit`: 1-1000).
    async fn member_page(
        &self,
        h: &Hearth,
        rg: &RemoteGuildRow,
        after: i64,
        limit: i64,
    ) -> Result<Vec<i64>>;

    /// Makes sure the bytes of the remote file `media` are in the blob store under `key`:
    /// when they are not, fetches them from their origin server over the signed federation
    /// API (spec/federation.md §17; at most `max_bytes`, streamed into the store) and stores
    /// them. Concurrent calls for one key fetch once. `Ok(false)`: `media` is not a remote
    /// file (a local object, or unknown), nothing was fetched.
    ///
    /// # Errors
    /// 404 when the origin refuses or does not know the file; 502 when it is larger than
    /// `max_bytes`; 503 when the origin cannot be reached; 500 when the store fails.
    async fn fetch_media(
        &self,
        h: &Hearth,
        media: RemoteMedia,
        key: &BlobKey,
        max_bytes: u64,
    ) -> Result<bool>;
}

/// Who is online through the gateway (registrar summaries count them).
pub trait OnlineMembers: Send + Sync + 'static {
    /// Members of `guild_id` with at least one connected gateway session.
    fn online_members(&self, guild_id: i64) -> i64;
}

/// A key naming a stored file: `/`-separated segments of ASCII letters, digits, `.`, `_`
/// and `-`, none empty, `.` or `..`, at most [`BlobKey::MAX_LEN`] bytes in all (for example
/// `attachments/1234/5678/cat.png`). Keys never reach outside the store: a local store maps
/// them under its folder, an object store uses them as object keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Longest key, bytes (S3's object-key limit is 1024; this leaves room for a prefix).
    pub const MAX_LEN: usize = 512;

    /// Checks `key` against the rules above.
    ///
    /// # Errors
    /// 400 50035 naming the rule broken.
    pub fn new(key: impl Into<String>) -> Result<BlobKey> {
        let key = key.into();
        let bad = |why: &str| Err(crate::error::field_error("key", "BASE_TYPE_BAD_VALUE", why));
        if key.is_empty() || key.len() > Self::MAX_LEN {
            return bad("must be 1-512 bytes");
        }
        for seg in key.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return bad("has an empty, '.' or '..' segment");
            }
            if !seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            {
                return bad("may hold only letters, digits, '.', '_', '-' and '/'");
            }
        }
        Ok(BlobKey(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A blob's bytes as a stream of chunks (any sizes); an `Err` item ends it.
pub type BlobStream = futures_util::stream::BoxStream<'static, Result<bytes::Bytes>>;

/// An open blob: its length in bytes and its contents.
pub struct BlobReader {
    /// Length, bytes.
    pub size: u64,
    pub stream: BlobStream,
}

/// One stored blob as listed by [`BlobStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// The key (for a local store it may name a leftover temporary file such as
    /// `attachments/1/.tmp-00ab`, which is a valid key too).
    pub key: String,
    /// Last write, Unix milliseconds.
    pub modified_ms: i64,
}

/// Where file bytes live (attachments, avatars, icons, emoji: the media issue). Metadata
/// (name, size, media type, owner) lives in the database; a store keeps only bytes by key.
/// Implemented by `crate::media`: the local disk (default) and any S3-compatible store.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there. A reader sees either the old
    /// bytes or the new ones, never a part.
    ///
    /// # Errors
    /// 500 when the store cannot be written.
    async fn put(&self, key: &BlobKey, bytes: bytes::Bytes) -> Result<()>;

    /// Stores the chunks of `stream` under `key` as they arrive (a store keeps at most one
    /// S3 part, or none, in memory) and returns the length written. If the stream yields an
    /// error, nothing is stored (a partial write is removed or aborted) and that error is
    /// returned as it is, so a size limit enforced by the stream reaches the client.
    ///
    /// # Errors
    /// The stream's own error; 500 when the store cannot be written.
    async fn put_stream(&self, key: &BlobKey, stream: BlobStream) -> Result<u64>;

    /// The bytes stored under `key`, `None` when nothing is.
    ///
    /// # Errors
    /// 500 when the store cannot be read.
    async fn get(&self, key: &BlobKey) -> Result<Option<bytes::Bytes>>;

    /// The blob under `key` as a stream (for serving without holding the file in memory),
    /// `None` when nothing is stored there.
    ///
    /// # Errors
    /// 500 when the store cannot be read (also as an item of the stream).
    async fn open(&self, key: &BlobKey) -> Result<Option<BlobReader>>;

    /// Removes `key`; removing a missing key is not an error.
    ///
    /// # Errors
    /// 500 when the store cannot be written.
    async fn delete(&self, key: &BlobKey) -> Result<()>;

    /// Every blob whose key starts with `prefix` (for example `attachments/`), in no
    /// particular order (the orphan collector's scan).
    ///
    /// # Errors
    /// 500 when the store cannot be listed.
    async fn list(&self, prefix: &str) -> Result<Vec<BlobEntry>>;
}

/// One outgoing mail: plain text to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address (`user@example.org`).
    pub to: String,
    pub subject: String,
    /// Plain text (UTF-8).
    pub body: String,
}

/// Outgoing mail (password reset, email verification, security notices). Implemented by
/// `crate::mail` (SMTP through lettre); absent when `mail.smtp_host` is not set.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `mail`; returns once the SMTP server accepted it.
    ///
    /// # Errors
    /// 500 when the address is malformed or the server refuses or cannot be reached.
    async fn send(&self, mail: Mail) -> Result<()>;
}
