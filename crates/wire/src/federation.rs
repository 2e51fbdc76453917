//! Bodies of the federation endpoints that carry Discord objects (spec/federation.md §8), in
//! the id space of the server that sends them. A member server parses them with these types
//! and translates their ids by type ([`crate::ids`]) before storing anything.
//!
//! These envelopes ignore unknown members (spec §8: a newer peer may add some), and so do
//! the Discord objects inside (spec §13).

use serde::{Deserialize, Serialize};

use crate::ids::Ids;
use crate::{Channel, Guild, Member, Message};

/// Answer to `POST /_hearth/federation/v1/join` (§8.2): a lean snapshot of the guild at log
/// position `seq`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct JoinSnapshot {
    /// The guild with its roles.
    pub guild: Guild,
    /// The channels (with overwrites) some member of the joining server may view, then the
    /// active threads they may view.
    pub channels: Vec<Channel>,
    /// The joiner's member object, and the owner's if different.
    pub members: Vec<Member>,
    /// The open (SCHEDULED or ACTIVE) scheduled events outside channels or in one of
    /// `channels`; absent from hosts that predate it.
    #[serde(default)]
    pub scheduled_events: Vec<crate::GuildScheduledEvent>,
    pub member_count: i64,
    /// The log position the snapshot is at (0: empty log).
    pub seq: i64,
    /// `event_hash` of `seq`, `null` when the log is empty.
    pub hash: Option<String>,
}

/// Answer to `GET .../guilds/{id}/channels` (§8.4).
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ChannelsPage {
    pub channels: Vec<Channel>,
}

/// Answer to `GET .../guilds/{id}/members` (§8.4): members with their users.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct MembersPage {
    pub members: Vec<Member>,
}

/// Answer to `GET .../guilds/{id}/channels/{id}/messages` (§8.5): newest first.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct MessagesPage {
    pub messages: Vec<Message>,
}

/// Answer to `POST .../guilds/{id}/actions` (§8.6).
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ActionAnswer {
    /// The message of `message_create` and `message_edit`; `null` for the other ops.
    pub result: Option<Message>,
    /// The thread of `thread_start` and `thread_update`; absent for the other ops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Box<Channel>>,
    /// The log head after the action.
    pub head: i64,
}

/// Body of `POST /_hearth/federation/v1/users/deleted` (spec/federation.md §18): the home
/// server of `handle` announces that the account was deleted. Sent only by the handle's own
/// server (the request's authenticated origin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeleted {
    /// The handle the user had (`alice@a.example`).
    pub handle: String,
    /// The handle of the anonymised account from now on (`deleted_user_1a2b@a.example`): the
    /// home server's user objects of her (and her kept messages) carry it.
    pub anonymised_handle: String,
    /// When the account was deleted, ms since the epoch (the home server's clock).
    pub deleted_at: i64,
    /// The user asked for her messages to be removed too (default `false`).
    #[serde(default)]
    pub delete_messages: bool,
}

/// Answer to `POST /_hearth/federation/v1/users/deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeletedAnswer {
    /// Whether this server knew the user (and has now anonymised her replica profile);
    /// `false` when it did not, which is no error.
    pub applied: bool,
}
