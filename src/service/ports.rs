//! Ports: what the service layer calls outward, as small traits it owns. The composition root
//! ([`crate::app`]) plugs in the implementations, so nothing under `service/` imports the
//! features that implement them.
//!
//! - [`GuildHost`]: the host server of a guild kept here as a replica (spec/federation.md
//!   §§7-9): relaying a local user's action, paging history and members in, joining by a
//!   remote invite; and the sender of stored federation notices (§18). Implemented by
//!   federation (`crate::s2s`).
//! - [`OnlineMembers`]: who has a live gateway session (registrar summaries). Implemented by
//!   the gateway.
//! - [`BlobStore`]: where file bytes live, by [`BlobKey`]. Implemented by `crate::media`
//!   (local disk, S3).
//! - [`InteractionEndpoints`]: posting interactions to applications' HTTP endpoints.
//!   Implemented by `crate::s2s` (the outbound address policy).
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
    ProfileUpdate,
    /// A thread from a message (`message` set), a standalone thread or a forum post
    /// (`channel`: the parent), body as `wire::StartThreadBody`.
    ThreadStart,
    /// Modify Channel of a thread (`channel`: the thread), body as `wire::ChannelBody`.
    ThreadUpdate,
    /// Join a thread or add a member (`body.user_id`, absent for oneself).
    ThreadMemberAdd,
    /// Leave a thread or remove a member (`body.user_id`, absent for oneself).
    ThreadMemberRemove,
    /// Show interest in a scheduled event (`body.event_id`).
    EventInterestAdd,
    /// Withdraw interest in a scheduled event (`body.event_id`).
    EventInterestRemove,
    /// Vote on a poll (`message`; body as `wire::PollVoteBody`).
    PollVote,
    /// End one's poll now (`message`).
    PollEnd,
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
            RelayOp::ProfileUpdate => "profile_update",
            RelayOp::ThreadStart => "thread_start",
            RelayOp::ThreadUpdate => "thread_update",
            RelayOp::ThreadMemberAdd => "thread_member_add",
            RelayOp::ThreadMemberRemove => "thread_member_remove",
            RelayOp::EventInterestAdd => "event_interest_add",
            RelayOp::EventInterestRemove => "event_interest_remove",
            RelayOp::PollVote => "poll_vote",
            RelayOp::PollEnd => "poll_end",
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

/// The host's result of a relayed action, in local ids: the message of `message_create` and
/// `message_edit`, the thread of `thread_start` and `thread_update`, nothing otherwise.
#[derive(Debug, Clone, Default)]
pub struct Relayed {
    pub message: Option<wire::Message>,
    pub channel: Option<wire::Channel>,
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
    /// events are applied here, and returns the host's result in local ids ([`Relayed`]).
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
    ) -> Result<Relayed>;

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
    /// them, recorded first in the blob ledger (charged to no one) so the file collector
    /// deletes them once released; for an attachment, the type sniffed from the bytes (and
    /// their size and dimensions) replace the host's claim on its row before this returns.
    /// Concurrent calls for one key fetch once. `Ok(false)`: `media` is not a remote file (a
    /// local object, or unknown), nothing was fetched.
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

    /// Federation notices (an account deletion, spec/federation.md §18) were just stored in
    /// `federation_notices`: deliver them now rather than at the next poll. The rows are
    /// what counts (they are delivered after a restart too); this only wakes the sender.
    fn notices_queued(&self) {}
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

/// An open blob (or part of one): its length in bytes and its contents.
pub struct BlobReader {
    /// Length of what `stream` yields, bytes (the whole blob for [`BlobStore::open`], the
    /// range's length for [`BlobStore::open_range`]).
    pub size: u64,
    pub stream: BlobStream,
}

/// One byte range of an HTTP `Range: bytes=...` header (RFC 9110 §14.1.2), before it is
/// resolved against a file's length: `a-b`, `a-` or `-n` (the last `n` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `a-b`: bytes `a` to `b` inclusive (`b` past the end means the end).
    FromTo(u64, u64),
    /// `a-`: from byte `a` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses a `Range` header value. `None` (the header is then ignored and the whole file
    /// served, as RFC 9110 allows) for another unit, a malformed value, `b < a`, or several
    /// ranges (`bytes=0-1,5-6`: multipart/byteranges answers are not made).
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        let num = |s: &str| -> Option<u64> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        match (a.trim().is_empty(), b.trim().is_empty()) {
            (true, false) => Some(ByteRange::Suffix(num(b)?)),
            (false, true) => Some(ByteRange::From(num(a)?)),
            (false, false) => {
                let (a, b) = (num(a)?, num(b)?);
                (b >= a).then_some(ByteRange::FromTo(a, b))
            }
            (true, true) => None,
        }
    }

    /// The bytes `start..end` (end exclusive) of a file of `size` bytes this range asks for;
    /// `None` when it is unsatisfiable (it starts at or past the end, or asks for the last 0
    /// bytes, or the file is empty): the answer is then 416.
    pub fn resolve(self, size: u64) -> Option<std::ops::Range<u64>> {
        let r = match self {
            ByteRange::FromTo(a, b) => a..b.saturating_add(1).min(size),
            ByteRange::From(a) => a..size,
            ByteRange::Suffix(n) => size.saturating_sub(n)..size,
        };
        (r.start < r.end).then_some(r)
    }
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

    /// The bytes `range` (`start..end`, end exclusive, already resolved against the blob's
    /// length, see [`ByteRange::resolve`]) of the blob under `key`, as a stream of
    /// `range.end - range.start` bytes (fewer only when the blob is shorter than `range.end`),
    /// `None` when nothing is stored there. The local store seeks; S3 sends a ranged
    /// `GetObject`. Nothing before `range.start` is read.
    ///
    /// # Errors
    /// 500 when the store cannot be read (also as an item of the stream).
    async fn open_range(
        &self,
        key: &BlobKey,
        range: std::ops::Range<u64>,
    ) -> Result<Option<BlobReader>>;

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

/// The answer of an application's interactions endpoint: the HTTP status and the body (at
/// most the cap the caller gave).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Outbound HTTP to applications' interactions endpoints (Discord "Interactions > Receiving
/// and Responding > Receiving an Interaction"): one `POST` of a JSON body with the given
/// headers, no redirects, every connection address through the outbound address policy
/// (`federation.allow_private_addresses`). Implemented by `crate::s2s` over the federation
/// layer's resolver.
#[async_trait]
pub trait InteractionEndpoints: Send + Sync + 'static {
    /// Posts `body` (JSON) to `url` with `headers`; the whole exchange within `timeout`,
    /// reading at most `cap` bytes of the answer.
    ///
    /// # Errors
    /// A text for the operator and the application's owner: refused address, transport
    /// failure, timeout, an answer larger than `cap`.
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        timeout: std::time::Duration,
        cap: usize,
    ) -> std::result::Result<EndpointAnswer, String>;
}

/// A readiness check of something a node depends on beyond its database and file store
/// (a shared bus or cache, README "Scale-out"), asked by every `GET /ready`
/// ([`crate::service::node::Node::add_probe`]).
#[async_trait]
pub trait HealthProbe: Send + Sync + 'static {
    /// `None` when healthy; otherwise a sentence naming the part and the problem
    /// (e.g. `redis: connection refused`). Should answer within a second.
    async fn check(&self) -> Option<String>;
}

#[cfg(test)]
mod tests {
    use super::ByteRange;

    #[test]
    fn ranges_parse_and_resolve() {
        use ByteRange::*;
        assert_eq!(ByteRange::parse("bytes=0-499"), Some(FromTo(0, 499)));
        assert_eq!(ByteRange::parse("bytes=500-"), Some(From(500)));
        assert_eq!(ByteRange::parse("bytes=-500"), Some(Suffix(500)));
        assert_eq!(ByteRange::parse(" bytes= 1 - 2 "), Some(FromTo(1, 2)));
        for bad in [
            "",
            "bytes=",
            "bytes=-",
            "bytes=5-1",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=+1-2",
            "bytes=1",
        ] {
            assert_eq!(ByteRange::parse(bad), None, "{bad}");
        }
        assert_eq!(FromTo(0, 499).resolve(1000), Some(0..500));
        assert_eq!(FromTo(990, 2000).resolve(1000), Some(990..1000));
        assert_eq!(FromTo(1000, 2000).resolve(1000), None);
        assert_eq!(From(999).resolve(1000), Some(999..1000));
        assert_eq!(From(1000).resolve(1000), None);
        assert_eq!(Suffix(10).resolve(1000), Some(990..1000));
        assert_eq!(Suffix(5000).resolve(1000), Some(0..1000));
        assert_eq!(Suffix(0).resolve(1000), None);
        assert_eq!(Suffix(10).resolve(0), None);
        assert_eq!(FromTo(0, u64::MAX).resolve(3), Some(0..3));
    }
}
