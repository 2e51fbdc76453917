//! The wire form of a stored scheduled event (Discord "Guild Scheduled Event Structure").

use crate::snowflake::Snowflake;
use crate::storage::ScheduledEventRow;
use crate::wire::{self, ScheduledEventEntityType as Kind, ScheduledEventStatus as Status};

/// The wire event of a row (`creator`, `user_count` filled by the caller).
pub(crate) fn event_wire(r: &ScheduledEventRow) -> wire::GuildScheduledEvent {
    wire::GuildScheduledEvent {
        id: Snowflake::from_db(r.id),
        guild_id: Snowflake::from_db(r.guild_id),
        channel_id: r.channel_id.map(Snowflake::from_db),
        creator_id: r.creator_id.map(Snowflake::from_db),
        name: r.name.clone(),
        description: r.description.clone(),
        scheduled_start_time: wire::iso(r.start_at),
        scheduled_end_time: r.end_at.map(wire::iso),
        privacy_level: r.privacy_level as u8,
        status: Status::from_db(r.status),
        entity_type: Kind::from_db(r.entity_type),
        entity_id: r.entity_id.map(Snowflake::from_db),
        entity_metadata: (Kind::from_db(r.entity_type) == Kind::External).then(|| {
            wire::EntityMetadata {
                location: r.location.clone(),
            }
        }),
        creator: None,
        user_count: None,
        image: r.image.clone(),
        recurrence_rule: r
            .recurrence_rule
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
    }
}
