//! Read states (Discord's client API, undocumented for bots): the body and answer of
//! `POST /channels/{channel_id}/messages/{message_id}/ack`, READY's `read_state` and the
//! `MESSAGE_ACK` dispatch. They belong to one user on this server and never cross
//! federation, so these types have no [`crate::ids::Ids`].

use serde::{Deserialize, Serialize};

use crate::Snowflake;

/// Body of `POST /channels/{channel_id}/messages/{message_id}/ack`, as Discord's client
/// sends it. Unknown fields are ignored (the client adds some over time).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AckBody {
    /// Always `null` today (Discord's former ack token).
    #[serde(default)]
    pub token: Option<String>,
    /// `true`: "mark unread": the read state is set to exactly this message, even backwards.
    #[serde(default)]
    pub manual: Option<bool>,
    /// The count the client shows after a manual ack; accepted, not trusted (the server
    /// counts the mentions itself).
    #[serde(default)]
    pub mention_count: Option<u32>,
}

/// Answer of the ack route: `{"token": null}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AckResponse {
    pub token: Option<String>,
}

/// READY's `read_state` (user sessions only).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReadState {
    /// The user's read-state version: the highest version of any entry (0 without any).
    pub version: i64,
    /// Always `false`: every entry is sent.
    pub partial: bool,
    pub entries: Vec<ReadStateEntry>,
}

/// One channel's read state in READY.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReadStateEntry {
    /// The channel's id.
    pub id: Snowflake,
    /// The last message the user acknowledged.
    pub last_message_id: Snowflake,
    /// Messages after it that mention the user, one of their roles or @everyone, not sent
    /// by the user; counted up to [`MENTION_COUNT_CAP`].
    pub mention_count: i64,
    /// ISO 8601 time of the channel's newest pin, `null` when none.
    pub last_pin_timestamp: Option<String>,
    /// Always 0.
    pub flags: i64,
}

/// `MESSAGE_ACK`: sent to every session of the user who acknowledged (never to bots).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageAck {
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    pub version: i64,
    /// Mentions left after the acknowledged message (0 unless the ack was manual).
    pub mention_count: i64,
    /// Always 0.
    pub ack_type: i64,
}

/// Mention counts stop at this value (clients show "99+" from 100 on): counting reads at
/// most this many messages per channel.
pub const MENTION_COUNT_CAP: i64 = 100;

/// `PASSIVE_UPDATE_V1` (Discord's client API; spec/gateway.md "Passive guilds"): the
/// channels of a passive guild whose newest message moved, coalesced per guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassiveUpdate {
    pub guild_id: Snowflake,
    /// Ascending by channel id.
    pub channels: Vec<PassiveChannel>,
}

/// One channel of a [`PassiveUpdate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassiveChannel {
    pub id: Snowflake,
    /// The newest message the session did not receive there.
    pub last_message_id: Snowflake,
}
