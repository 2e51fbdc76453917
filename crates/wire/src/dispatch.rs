//! Gateway dispatch payloads (Discord "Gateway Events > Receive Events") that are not
//! objects of their own, and [`Payload`]: the payload (`d`) of every dispatch that crosses
//! federation, typed by its event name (spec/federation.md §6.5, §8.8).
//!
//! The host builds these payloads from these types, member servers parse them by event
//! ([`Payload::parse`]), translate their ids by type ([`crate::ids`]) and republish them.
//! A field a type does not know is ignored when parsed: a member server applies the rest of a
//! newer host's payload (spec/federation.md §13) and republishes only the typed fields.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{IdVisitor, Ids, UserObject};
use crate::{Channel, Emoji, Event, Guild, Invite, Member, Message, Role, Snowflake, User};

/// `MESSAGE_DELETE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct MessageDelete {
    pub id: Snowflake,
    pub channel_id: Snowflake,
    /// `null` in DMs.
    pub guild_id: Option<Snowflake>,
}

/// `THREAD_DELETE` (Discord "Gateway Events > Thread Delete"): the thread's ids and type.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ThreadDelete {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    pub parent_id: Snowflake,
    #[serde(rename = "type")]
    pub kind: i64,
}

/// `THREAD_MEMBERS_UPDATE` (Discord "Gateway Events > Thread Members Update"): who joined
/// and left thread `id`; `member_count` stops at 50.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ThreadMembersUpdate {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    pub member_count: i64,
    #[serde(default)]
    pub added_members: Vec<ThreadMemberAdded>,
    #[serde(default)]
    pub removed_member_ids: Vec<Snowflake>,
}

/// An added member of [`ThreadMembersUpdate`]: the thread member object with the guild
/// `member` (whose user object names the user by handle across federation) and the
/// nullable `presence` Discord adds.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ThreadMemberAdded {
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub join_timestamp: String,
    pub flags: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Box<Member>>,
    #[ids(
        skip = "a presence in the host's ids: a member server republishes `null` (presences \
                cross federation as notices, spec/federation.md §8.8)"
    )]
    #[serde(default)]
    pub presence: Option<Value>,
}

/// `MESSAGE_DELETE_BULK`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct MessageDeleteBulk {
    pub ids: Vec<Snowflake>,
    pub channel_id: Snowflake,
    pub guild_id: Snowflake,
}

/// `MESSAGE_REACTION_ADD`. `member` (the reacting member, with `user`) in guilds only.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ReactionAdd {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    /// `null` in DMs.
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    pub emoji: Emoji,
    pub message_author_id: Snowflake,
    /// Super reactions: always `false`.
    pub burst: bool,
    /// 0 normal, 1 burst.
    #[serde(rename = "type")]
    pub kind: u8,
}

/// `MESSAGE_REACTION_REMOVE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ReactionRemove {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    /// `null` in DMs.
    pub guild_id: Option<Snowflake>,
    pub emoji: Emoji,
    /// Super reactions: always `false`.
    pub burst: bool,
    /// 0 normal, 1 burst.
    #[serde(rename = "type")]
    pub kind: u8,
}

/// `MESSAGE_REACTION_REMOVE_ALL`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ReactionRemoveAll {
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    /// `null` in DMs.
    pub guild_id: Option<Snowflake>,
}

/// `MESSAGE_REACTION_REMOVE_EMOJI`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ReactionRemoveEmoji {
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    /// `null` in DMs.
    pub guild_id: Option<Snowflake>,
    pub emoji: Emoji,
}

/// `CHANNEL_PINS_UPDATE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ChannelPinsUpdate {
    /// `null` in DMs.
    pub guild_id: Option<Snowflake>,
    pub channel_id: Snowflake,
    /// ISO 8601 time of the newest pin, `null` when none is left.
    pub last_pin_timestamp: Option<String>,
}

/// `CHANNEL_RECIPIENT_ADD` and `CHANNEL_RECIPIENT_REMOVE` (group DMs, Discord's client API):
/// the channel and the user who joined or left.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelRecipient {
    pub channel_id: Snowflake,
    pub user: User,
}

/// `GUILD_ROLE_CREATE` and `GUILD_ROLE_UPDATE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct GuildRole {
    pub guild_id: Snowflake,
    pub role: Role,
}

/// `GUILD_ROLE_DELETE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct GuildRoleDelete {
    pub guild_id: Snowflake,
    pub role_id: Snowflake,
}

/// `GUILD_MEMBER_REMOVE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct GuildMemberRemove {
    pub guild_id: Snowflake,
    pub user: User,
}

/// `GUILD_BAN_ADD` and `GUILD_BAN_REMOVE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct GuildBan {
    pub guild_id: Snowflake,
    pub user: User,
}

/// `GUILD_EMOJIS_UPDATE`: the guild's whole emoji list after a change.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct GuildEmojisUpdate {
    pub guild_id: Snowflake,
    pub emojis: Vec<crate::GuildEmoji>,
}

/// `GUILD_DELETE_FEDERATED` (federation only): the host deleted the guild.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct GuildDeleteFederated {
    /// The guild.
    pub id: Snowflake,
}

/// `INVITE_DELETE`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct InviteDelete {
    pub channel_id: Snowflake,
    pub guild_id: Snowflake,
    pub code: String,
}

/// `TYPING_START`. `member` (with `user`) in guilds only.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct TypingStart {
    pub channel_id: Snowflake,
    /// `null` in DMs.
    pub guild_id: Option<Snowflake>,
    pub user_id: Snowflake,
    /// Unix time in seconds.
    pub timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
}

/// `PRESENCE_UPDATE` in a guild.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct PresenceUpdate {
    pub user: PresenceUser,
    pub guild_id: Snowflake,
    /// `online`, `idle`, `dnd` or `offline`.
    pub status: String,
    #[ids(
        skip = "activities are what the user's client set (names, states, urls) and are \
                  shown as given; Hearth keeps no object they could refer to"
    )]
    pub activities: Value,
    pub client_status: ClientStatus,
}

/// The partial user of a presence: what clients show and what servers match (`handle`).
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
#[ids(user)]
pub struct PresenceUser {
    pub id: Snowflake,
    pub username: String,
    /// Always `"0"` (Discord's unique usernames); libraries read it whenever `username` is
    /// present (discord.py's `_update_inner_user` raises `KeyError` without it).
    #[serde(default = "crate::user::zero_discriminator")]
    pub discriminator: String,
    pub handle: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    pub bot: bool,
}

impl UserObject for PresenceUser {
    fn id_mut(&mut self) -> &mut Snowflake {
        &mut self.id
    }
    fn handle(&self) -> &str {
        &self.handle
    }
    fn global_name(&self) -> Option<&str> {
        self.global_name.as_deref()
    }
    fn avatar(&self) -> Option<&str> {
        self.avatar.as_deref()
    }
    fn bot(&self) -> bool {
        self.bot
    }
}

/// A presence's status per platform ("Client Status Object"); Hearth reports `desktop`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids)]
pub struct ClientStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<String>,
}

/// Why a dispatch payload could not be typed.
#[derive(Debug)]
pub enum PayloadError {
    /// The event never crosses federation (`READY`, `GUILD_CREATE`, `USER_UPDATE`, ...).
    NotFederated(Event),
    /// The payload does not have the event's shape (a missing required field, a wrong type).
    Shape(Event, serde_json::Error),
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadError::NotFederated(e) => write!(f, "{e} does not cross federation"),
            PayloadError::Shape(e, err) => write!(f, "{e} payload of the wrong shape: {err}"),
        }
    }
}

impl std::error::Error for PayloadError {}

/// Declares [`Payload`] with one variant per federated event (named as the [`Event`]) and
/// its conversions; `$never` lists the events that never cross federation, so that the
/// match over [`Event`] stays exhaustive: a new event does not compile until it is placed.
macro_rules! payloads {
    (
        federated { $( $(#[$vmeta:meta])* $variant:ident($ty:ty), )* }
        never { $( $never:ident ),* $(,)? }
    ) => {
        /// The payload of a dispatch that crosses federation, by event: logged by a host
        /// (spec/federation.md §6.5) or pushed as a lossy notice (§8.8).
        #[derive(Debug, Clone, Ids)]
        pub enum Payload {
            $( $(#[$vmeta])* $variant($ty), )*
        }

        impl Payload {
            /// Types the payload `d` of event `event`.
            ///
            /// # Errors
            /// [`PayloadError::NotFederated`] for an event that never crosses federation,
            /// [`PayloadError::Shape`] when `d` does not have the event's shape (a missing
            /// required field, a wrong type; unknown fields are ignored).
            pub fn parse(event: Event, d: Value) -> Result<Payload, PayloadError> {
                match event {
                    $( Event::$variant => serde_json::from_value(d)
                        .map(Payload::$variant)
                        .map_err(|e| PayloadError::Shape(event, e)), )*
                    $( Event::$never )|* => Err(PayloadError::NotFederated(event)),
                }
            }

            /// Whether dispatches of `event` cross federation (logged or pushed as notices);
            /// the others are never written to a guild's log.
            pub fn crosses(event: Event) -> bool {
                !matches!(event, $( Event::$never )|*)
            }

            /// The event this is the payload of.
            pub fn event(&self) -> Event {
                match self {
                    $( Payload::$variant(_) => Event::$variant, )*
                }
            }

            /// The payload as JSON (`d`).
            pub fn to_value(&self) -> Value {
                let v = match self {
                    $( Payload::$variant(p) => serde_json::to_value(p), )*
                };
                // Serializing these types cannot fail: string keys, no non-finite floats.
                v.unwrap_or(Value::Null)
            }
        }
    };
}

payloads! {
    federated {
        MessageCreate(Box<Message>),
        MessageUpdate(Box<Message>),
        MessageDelete(MessageDelete),
        MessageDeleteBulk(MessageDeleteBulk),
        MessageReactionAdd(Box<ReactionAdd>),
        MessageReactionRemove(ReactionRemove),
        MessageReactionRemoveAll(ReactionRemoveAll),
        MessageReactionRemoveEmoji(ReactionRemoveEmoji),
        ChannelPinsUpdate(ChannelPinsUpdate),
        ChannelCreate(Box<Channel>),
        ChannelUpdate(Box<Channel>),
        ChannelDelete(Box<Channel>),
        GuildRoleCreate(Box<GuildRole>),
        GuildRoleUpdate(Box<GuildRole>),
        GuildRoleDelete(GuildRoleDelete),
        GuildUpdate(Box<Guild>),
        GuildMemberAdd(Box<Member>),
        GuildMemberUpdate(Box<Member>),
        GuildMemberRemove(Box<GuildMemberRemove>),
        GuildBanAdd(Box<GuildBan>),
        GuildBanRemove(Box<GuildBan>),
        /// The whole emoji list (spec/federation.md §17).
        GuildEmojisUpdate(GuildEmojisUpdate),
        /// Federation only (spec/federation.md §6.5).
        GuildDeleteFederated(GuildDeleteFederated),
        InviteCreate(Box<Invite>),
        InviteDelete(InviteDelete),
        /// A thread or forum post (spec/federation.md §6.5): the thread channel object.
        ThreadCreate(Box<Channel>),
        ThreadUpdate(Box<Channel>),
        ThreadDelete(ThreadDelete),
        ThreadMembersUpdate(Box<ThreadMembersUpdate>),
        /// Guild scheduled events and interest in them (spec/federation.md §6.5).
        GuildScheduledEventCreate(Box<crate::GuildScheduledEvent>),
        GuildScheduledEventUpdate(Box<crate::GuildScheduledEvent>),
        GuildScheduledEventDelete(Box<crate::GuildScheduledEvent>),
        GuildScheduledEventUserAdd(crate::ScheduledEventUserChange),
        GuildScheduledEventUserRemove(crate::ScheduledEventUserChange),
        /// One answer of one voter of a poll (spec/federation.md §6.5).
        MessagePollVoteAdd(crate::PollVote),
        MessagePollVoteRemove(crate::PollVote),
        /// Lossy: an EDU, never logged (§8.8).
        TypingStart(Box<TypingStart>),
        /// Lossy: an EDU, never logged (§8.8).
        PresenceUpdate(Box<PresenceUpdate>),
    }
    never {
        Ready,
        StageInstanceCreate,
        StageInstanceUpdate,
        StageInstanceDelete,
        ChannelRecipientAdd,
        ChannelRecipientRemove,
        Resumed,
        GuildCreate,
        GuildDelete,
        GuildMembersChunk,
        UserUpdate,
        MlsMessage,
        ApplicationCommandPermissionsUpdate,
        WebhooksUpdate,
        ThreadListSync,
        ThreadMemberUpdate,
        MessageAck,
        RelationshipAdd,
        RelationshipRemove,
        InteractionCreate,
        InteractionSuccess,
        InteractionFailure,
        InteractionModalCreate,
        ApplicationCommandAutocompleteResponse,
        PassiveUpdateV1,
        AutoModerationRuleCreate,
        AutoModerationRuleUpdate,
        AutoModerationRuleDelete,
        AutoModerationActionExecution,
        VoiceStateUpdate,
        VoiceServerUpdate,
    }
}

/// Collects every id of a value, for tests and checks: plain ids, users' ids (with their
/// handles) and mentions.
#[derive(Debug, Default)]
pub struct IdCollector {
    /// Plain ids and mention ids, in visiting order.
    pub ids: Vec<Snowflake>,
    /// `(id, handle)` of each user object.
    pub users: Vec<(Snowflake, String)>,
}

impl IdVisitor for IdCollector {
    fn id(&mut self, id: &mut Snowflake) {
        self.ids.push(*id);
    }
    fn user(&mut self, user: &mut dyn UserObject) {
        let handle = user.handle().to_string();
        self.users.push((*user.id_mut(), handle));
    }
    fn text(&mut self, text: &mut String) {
        self.ids.extend(crate::ids::mentions(text));
    }
}
