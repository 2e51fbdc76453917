//! Voice states (Discord "Resources > Voice > Voice State Object"): who is connected to which
//! voice or stage channel of a guild, with their mute, deafen and stage flags; the bodies of
//! `PATCH /guilds/{guild_id}/voice-states/@me` and `/{user_id}` and of gateway op 4 (Voice
//! State Update). Voice states belong to this server's gateway sessions and never cross
//! federation, so these types have no [`crate::ids::Ids`].

use serde::{Deserialize, Serialize};

use crate::util::double_option;
use crate::{Member, Snowflake};

/// A voice state: `VOICE_STATE_UPDATE`'s payload, `GET /guilds/{id}/voice-states/...`'s
/// answer and (without `guild_id` and `member`) an entry of GUILD_CREATE's `voice_states`.
/// `channel_id` is `null` in the VOICE_STATE_UPDATE of a user who left voice.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoiceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    pub channel_id: Option<Snowflake>,
    pub user_id: Snowflake,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    /// The gateway session that holds the voice state.
    pub session_id: String,
    /// Deafened by the guild (DEAFEN_MEMBERS through `PATCH /guilds/{id}/members/{user}`).
    pub deaf: bool,
    /// Muted by the guild (MUTE_MEMBERS).
    pub mute: bool,
    pub self_deaf: bool,
    pub self_mute: bool,
    pub self_stream: bool,
    pub self_video: bool,
    /// The user may not speak: in a stage channel, an audience member.
    pub suppress: bool,
    /// ISO 8601 time at which the user asked to speak in a stage channel, or `null`.
    pub request_to_speak_timestamp: Option<String>,
}

/// The `d` of gateway op 4, Voice State Update (Discord "Gateway Events > Update Voice
/// State"): join or move to `channel_id`, or leave voice with `null`.
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateVoiceState {
    pub guild_id: Snowflake,
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    #[serde(default)]
    pub self_mute: bool,
    #[serde(default)]
    pub self_deaf: bool,
    /// Hearth's clients may say whether their camera is on (Discord's client sends it).
    #[serde(default)]
    pub self_video: Option<bool>,
}

/// Body of `PATCH /guilds/{guild_id}/voice-states/@me` (Discord "Modify Current User Voice
/// State") and, without `request_to_speak_timestamp`, of `PATCH .../voice-states/{user_id}`
/// ("Modify User Voice State"). Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ModifyVoiceStateBody {
    /// The stage channel the user is in (required for another user; for `@me` the current
    /// channel when absent).
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    /// Toggles the user's suppress state.
    #[serde(default)]
    pub suppress: Option<bool>,
    /// `@me` only: an ISO 8601 time (now or later) to ask to speak, `null` to withdraw.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub request_to_speak_timestamp: Option<Option<String>>,
}
