//! Stage instances (Discord "Resources > Stage Instance"): the live stage of a stage channel
//! (type 13) with its topic, and the bodies of `POST /stage-instances` and `PATCH
//! /stage-instances/{channel_id}`. Stage instances belong to the guild's host and never cross
//! federation, so these types have no [`crate::ids::Ids`].

use serde::{Deserialize, Serialize};

use crate::Snowflake;

/// Stage instance object ("Stage Instance Structure"): `STAGE_INSTANCE_CREATE`/`_UPDATE`/
/// `_DELETE`'s payload, an entry of GUILD_CREATE's `stage_instances` and the answer of the
/// REST routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageInstance {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    /// The stage channel (type 13) it is live in.
    pub channel_id: Snowflake,
    /// 1 to 120 characters.
    pub topic: String,
    /// Always 2 (GUILD_ONLY): 1 (PUBLIC) is deprecated and refused.
    pub privacy_level: u8,
    /// Deprecated by Discord: always `false`.
    pub discoverable_disabled: bool,
    /// The scheduled event it was started for, if any.
    pub guild_scheduled_event_id: Option<Snowflake>,
}

/// Body of `POST /stage-instances` ("Create Stage Instance"). Unknown fields are ignored;
/// `channel_id` and `topic` are required (checked by the service, 50035 at the field).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CreateStageInstanceBody {
    /// A stage channel (type 13).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Snowflake>,
    /// 1 to 120 characters.
    #[serde(default)]
    pub topic: Option<String>,
    /// 2 (GUILD_ONLY, the default); 1 (PUBLIC) is deprecated and refused with 50035.
    #[serde(default)]
    pub privacy_level: Option<u8>,
    /// Accepted and ignored (Hearth sends no notifications).
    #[serde(default)]
    pub send_start_notification: Option<bool>,
    /// A scheduled event (entity type STAGE_INSTANCE) of this channel, SCHEDULED or ACTIVE:
    /// the event's `entity_id` becomes the instance's id and a SCHEDULED event becomes ACTIVE.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub guild_scheduled_event_id: Option<Snowflake>,
}

/// Body of `PATCH /stage-instances/{channel_id}` ("Modify Stage Instance"): every field
/// optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ModifyStageInstanceBody {
    /// 1 to 120 characters.
    #[serde(default)]
    pub topic: Option<String>,
    /// 2 (GUILD_ONLY); 1 (PUBLIC) is refused with 50035.
    #[serde(default)]
    pub privacy_level: Option<u8>,
}
