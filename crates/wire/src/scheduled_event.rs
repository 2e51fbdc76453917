//! Guild scheduled events (Discord "Resources > Guild Scheduled Event"): the event object, its
//! interested users, the bodies of the create and modify routes, and the payload of
//! `GUILD_SCHEDULED_EVENT_USER_ADD`/`_REMOVE` ("Gateway Events > Guild Scheduled Event User
//! Add"). The event object and the interest payload cross federation (spec/federation.md
//! §6.5), so they implement [`crate::ids::Ids`].

use serde::{Deserialize, Serialize};

use crate::ids::Ids;
use crate::util::double_option;
use crate::{Member, ScheduledEventEntityType, ScheduledEventStatus, Snowflake, User};

/// Guild scheduled event object ("Guild Scheduled Event Structure").
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct GuildScheduledEvent {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    /// The stage or voice channel; `null` for EXTERNAL events.
    pub channel_id: Option<Snowflake>,
    pub creator_id: Option<Snowflake>,
    /// 1 to 100 characters.
    pub name: String,
    /// At most 1000 characters.
    pub description: Option<String>,
    /// ISO 8601.
    pub scheduled_start_time: String,
    /// ISO 8601; always set for EXTERNAL events.
    pub scheduled_end_time: Option<String>,
    /// Always 2 (GUILD_ONLY).
    pub privacy_level: u8,
    pub status: ScheduledEventStatus,
    pub entity_type: ScheduledEventEntityType,
    /// STAGE_INSTANCE events: the id of the stage instance started for it (`POST
    /// /stage-instances` with `guild_scheduled_event_id`), kept once it ended; `null` before
    /// that and for the other entity types.
    pub entity_id: Option<Snowflake>,
    /// `{location}` for EXTERNAL events, `null` otherwise.
    pub entity_metadata: Option<EntityMetadata>,
    /// The creator's user object, when the account still exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<User>,
    /// Interested users; only with `?with_user_count=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count: Option<i64>,
    /// The cover image's hash (`null`: none), served at
    /// `/guild-events/{event_id}/{image}.png` (Discord "Image Formatting").
    pub image: Option<String>,
    /// How the event recurs (`null`: it does not). When an occurrence ends, the same event
    /// goes back to SCHEDULED at the next one.
    pub recurrence_rule: Option<RecurrenceRule>,
}

/// Recurrence rule ("Guild Scheduled Event Recurrence Rule Object"): a subset of iCalendar's
/// RRULE (RFC 5545), computed in UTC at the time of day of the event's start.
///
/// What a create or modify accepts (Discord's "System limitations"; 400 50035 at
/// `recurrence_rule.<field>` otherwise): `frequency` 0-3; `interval` 1, or 2 with WEEKLY;
/// `count`, `end` and `by_year_day` null (they cannot be set by clients); `by_weekday` with
/// DAILY (one of the sets Mon-Fri, Tue-Sat, Sun-Thu, Fri+Sat, Sat+Sun, Sun+Mon) or WEEKLY
/// (one day); `by_n_weekday` with MONTHLY (one entry, `n` 1-5); `by_month` with
/// `by_month_day` with YEARLY (one each, a date that exists). A field of another frequency
/// is refused; an absent one is taken from the event's start (WEEKLY: its weekday; MONTHLY:
/// its n-th weekday; YEARLY: its date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct RecurrenceRule {
    /// ISO 8601: the first occurrence, the event's `scheduled_start_time` when the rule was
    /// set. May be left out (or empty) in a request: the event's start is taken.
    #[serde(default)]
    pub start: String,
    /// ISO 8601: no occurrence starts after it. Cannot be set by clients.
    #[serde(default)]
    pub end: Option<String>,
    /// [`RecurrenceRule::YEARLY`] (0), `MONTHLY` (1), `WEEKLY` (2) or `DAILY` (3).
    pub frequency: i64,
    /// Spacing between occurrences in units of `frequency`: 1, or 2 for every other week.
    #[serde(default = "one")]
    pub interval: i64,
    /// Weekdays, [`RecurrenceRule::MONDAY`] (0) to `SUNDAY` (6).
    #[serde(default)]
    pub by_weekday: Option<Vec<i64>>,
    /// The n-th weekday of the month.
    #[serde(default)]
    pub by_n_weekday: Option<Vec<NWeekday>>,
    /// Months, 1 (January) to 12.
    #[serde(default)]
    pub by_month: Option<Vec<i64>>,
    /// Days of the month, 1-31.
    #[serde(default)]
    pub by_month_day: Option<Vec<i64>>,
    /// Days of the year. Cannot be set by clients.
    #[serde(default)]
    pub by_year_day: Option<Vec<i64>>,
    /// How many occurrences in all (the first included). Cannot be set by clients.
    #[serde(default)]
    pub count: Option<i64>,
}

fn one() -> i64 {
    1
}

impl RecurrenceRule {
    /// Frequency YEARLY.
    pub const YEARLY: i64 = 0;
    /// Frequency MONTHLY.
    pub const MONTHLY: i64 = 1;
    /// Frequency WEEKLY.
    pub const WEEKLY: i64 = 2;
    /// Frequency DAILY.
    pub const DAILY: i64 = 3;
    /// Weekday MONDAY (TUESDAY 1, ..., SUNDAY 6).
    pub const MONDAY: i64 = 0;
    /// Weekday SUNDAY.
    pub const SUNDAY: i64 = 6;
}

/// "Guild Scheduled Event Recurrence Rule - N_Weekday Structure": the `n`-th (1-5) `day`
/// (0 Monday - 6 Sunday) of a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct NWeekday {
    pub n: i64,
    pub day: i64,
}

/// Entity metadata ("Guild Scheduled Event Entity Metadata").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct EntityMetadata {
    /// Where an EXTERNAL event takes place, 1 to 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// One interested user ("Guild Scheduled Event User Structure").
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuildScheduledEventUser {
    pub guild_scheduled_event_id: Snowflake,
    pub user: User,
    /// The user's member object, with `?with_member=true`, if they are still a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
}

/// Body of `POST /guilds/{id}/scheduled-events` ("Create Guild Scheduled Event").
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CreateScheduledEventBody {
    /// Required for STAGE_INSTANCE and VOICE (a stage or voice channel of the guild); absent
    /// or `null` for EXTERNAL.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Snowflake>,
    /// Required for EXTERNAL (with `location`); absent or `null` otherwise.
    #[serde(default)]
    pub entity_metadata: Option<EntityMetadata>,
    pub name: Option<String>,
    /// 2 (GUILD_ONLY).
    pub privacy_level: Option<u8>,
    /// ISO 8601, in the future.
    pub scheduled_start_time: Option<String>,
    /// ISO 8601, after the start; required for EXTERNAL.
    #[serde(default)]
    pub scheduled_end_time: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub entity_type: Option<ScheduledEventEntityType>,
    /// The cover image as a data URI (Discord "Image Data"; PNG, JPEG, GIF or WebP).
    #[serde(default)]
    pub image: Option<String>,
    /// How the event recurs ([`RecurrenceRule`]); absent or `null`: it does not.
    #[serde(default)]
    pub recurrence_rule: Option<RecurrenceRule>,
}

/// Body of `PATCH /guilds/{id}/scheduled-events/{event_id}` ("Modify Guild Scheduled
/// Event"): every field optional; `null` clears the fields that allow it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ModifyScheduledEventBody {
    /// `null` when changing to EXTERNAL.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Option<Snowflake>>,
    /// Kept for EXTERNAL events only (silently discarded for the others).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<EntityMetadata>)]
    pub entity_metadata: Option<Option<EntityMetadata>>,
    pub name: Option<String>,
    pub privacy_level: Option<u8>,
    pub scheduled_start_time: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub scheduled_end_time: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub entity_type: Option<ScheduledEventEntityType>,
    /// SCHEDULED -> ACTIVE (start), ACTIVE -> COMPLETED (end), SCHEDULED -> CANCELED.
    pub status: Option<ScheduledEventStatus>,
    /// A new cover image (a data URI), or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub image: Option<Option<String>>,
    /// A new rule ([`RecurrenceRule`]), or `null` to stop the recurrence.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RecurrenceRule>)]
    pub recurrence_rule: Option<Option<RecurrenceRule>>,
}

/// Payload of `GUILD_SCHEDULED_EVENT_USER_ADD` and `_REMOVE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct ScheduledEventUserChange {
    pub guild_scheduled_event_id: Snowflake,
    pub user_id: Snowflake,
    pub guild_id: Snowflake,
}
