//! Discord's enumerations as typed values (Discord "Resources > Channel > Channel Types",
//! "Resources > Message > Message Types", "Resources > Channel > Overwrite Object",
//! "Interactions > Receiving and Responding > Interaction Type", "Gateway Events",
//! "Gateway > Gateway Intents", "Opcodes and Status Codes > Gateway Close Event Codes").
//!
//! Integer enums follow the style of the Rust Discord libraries: one variant per documented
//! value and an `Unknown(n)` arm, so a value a newer client or peer sends survives a round
//! trip instead of failing to parse. They serialize as the bare integer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an integer enum with an `Unknown` arm, `From` conversions both ways and serde as
/// the bare integer.
macro_rules! int_enum {
    (
        $(#[$meta:meta])*
        $name:ident: $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version does not know, kept as sent.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                match v {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                match v {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }

        impl $name {
            /// The integer Discord uses.
            pub fn value(self) -> $repr {
                self.into()
            }
            /// The kind stored in a database column (`BIGINT`/`INTEGER`); a value outside
            /// the integer's range becomes `Unknown(MAX)`.
            pub fn from_db(v: i64) -> Self {
                Self::from(<$repr>::try_from(v).unwrap_or(<$repr>::MAX))
            }
            /// The value as stored in the database.
            pub fn db(self) -> i64 {
                i64::from(self.value())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.value().serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$repr>::deserialize(d).map(Self::from)
            }
        }

        /// The OpenAPI schema (src/http/openapi.rs): the bare integer. Values outside the
        /// documented list are kept as sent, so the schema does not enumerate them.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .minimum(Some(0))
                    .description(Some(concat!(
                        "Discord's `",
                        stringify!($name),
                        "` values: ",
                        $( stringify!($value), " ", stringify!($variant), "; ", )*
                        "others kept as sent"
                    )))
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

int_enum! {
    /// Channel types (Discord "Resources > Channel > Channel Types").
    ChannelType: u8 {
        /// A text channel in a guild.
        GuildText = 0,
        /// A direct message between two users.
        Dm = 1,
        /// A voice channel in a guild.
        GuildVoice = 2,
        /// A direct message between several users.
        GroupDm = 3,
        /// A category of up to 50 channels.
        GuildCategory = 4,
        /// An announcement channel users can follow.
        GuildAnnouncement = 5,
        /// A thread in an announcement channel.
        AnnouncementThread = 10,
        /// A public thread in a text or forum channel.
        PublicThread = 11,
        /// A private thread in a text channel.
        PrivateThread = 12,
        /// A stage channel.
        GuildStageVoice = 13,
        /// A hub directory channel.
        GuildDirectory = 14,
        /// A forum of threads.
        GuildForum = 15,
        /// A media forum.
        GuildMedia = 16,
    }
}

impl ChannelType {
    /// Channels whose messages can be read and sent through the message routes (text,
    /// DMs, announcements, threads; voice channels have a text chat too).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            ChannelType::GuildText
                | ChannelType::Dm
                | ChannelType::GroupDm
                | ChannelType::GuildAnnouncement
        ) || self.is_thread()
    }
    /// Threads of any kind.
    pub fn is_thread(self) -> bool {
        matches!(
            self,
            ChannelType::AnnouncementThread
                | ChannelType::PublicThread
                | ChannelType::PrivateThread
        )
    }
    /// Voice and stage channels.
    pub fn is_voice(self) -> bool {
        matches!(self, ChannelType::GuildVoice | ChannelType::GuildStageVoice)
    }
    /// Direct messages (one-to-one or group).
    pub fn is_dm(self) -> bool {
        matches!(self, ChannelType::Dm | ChannelType::GroupDm)
    }
}

int_enum! {
    /// Message types (Discord "Resources > Message > Message Types").
    MessageType: u8 {
        Default = 0,
        RecipientAdd = 1,
        RecipientRemove = 2,
        Call = 3,
        ChannelNameChange = 4,
        ChannelIconChange = 5,
        ChannelPinnedMessage = 6,
        UserJoin = 7,
        GuildBoost = 8,
        GuildBoostTier1 = 9,
        GuildBoostTier2 = 10,
        GuildBoostTier3 = 11,
        ChannelFollowAdd = 12,
        GuildDiscoveryDisqualified = 14,
        GuildDiscoveryRequalified = 15,
        GuildDiscoveryGracePeriodInitialWarning = 16,
        GuildDiscoveryGracePeriodFinalWarning = 17,
        ThreadCreated = 18,
        Reply = 19,
        ChatInputCommand = 20,
        ThreadStarterMessage = 21,
        GuildInviteReminder = 22,
        ContextMenuCommand = 23,
        AutoModerationAction = 24,
        RoleSubscriptionPurchase = 25,
        InteractionPremiumUpsell = 26,
        StageStart = 27,
        StageEnd = 28,
        StageSpeaker = 29,
        StageTopic = 31,
        GuildApplicationPremiumSubscription = 32,
        GuildIncidentAlertModeEnabled = 36,
        GuildIncidentAlertModeDisabled = 37,
        GuildIncidentReportRaid = 38,
        GuildIncidentReportFalseAlarm = 39,
        PurchaseNotification = 44,
        PollResult = 46,
    }
}

impl MessageType {
    /// Whether a message of this type may be deleted by its author or moderators (Discord:
    /// system messages other than these are undeletable).
    pub fn is_deletable(self) -> bool {
        matches!(
            self,
            MessageType::Default
                | MessageType::ChannelPinnedMessage
                | MessageType::UserJoin
                | MessageType::GuildBoost
                | MessageType::GuildBoostTier1
                | MessageType::GuildBoostTier2
                | MessageType::GuildBoostTier3
                | MessageType::ChannelFollowAdd
                | MessageType::ThreadCreated
                | MessageType::Reply
                | MessageType::ChatInputCommand
                | MessageType::GuildInviteReminder
                | MessageType::ContextMenuCommand
                | MessageType::AutoModerationAction
                | MessageType::RoleSubscriptionPurchase
                | MessageType::InteractionPremiumUpsell
                | MessageType::StageStart
                | MessageType::StageEnd
                | MessageType::StageSpeaker
                | MessageType::StageTopic
                | MessageType::PollResult
        )
    }
}

int_enum! {
    /// The target of a permission overwrite (Discord "Resources > Channel > Overwrite
    /// Object": `type` 0 role, 1 member).
    OverwriteType: u8 {
        Role = 0,
        Member = 1,
    }
}

int_enum! {
    /// Interaction types (Discord "Interactions > Receiving and Responding > Interaction
    /// Object > Interaction Type").
    InteractionType: u8 {
        Ping = 1,
        ApplicationCommand = 2,
        MessageComponent = 3,
        ApplicationCommandAutocomplete = 4,
        ModalSubmit = 5,
    }
}

int_enum! {
    /// Application command types (Discord "Interactions > Application Commands >
    /// Application Command Object > Application Command Types").
    ApplicationCommandType: u8 {
        /// A slash command.
        ChatInput = 1,
        /// A user context-menu command.
        User = 2,
        /// A message context-menu command.
        Message = 3,
        /// An activity's entry point (refused by Hearth: no activities).
        PrimaryEntryPoint = 4,
    }
}

int_enum! {
    /// Application command option types (Discord "Interactions > Application Commands >
    /// Application Command Object > Application Command Option Type").
    ApplicationCommandOptionType: u8 {
        SubCommand = 1,
        SubCommandGroup = 2,
        String = 3,
        /// Any integer between -2^53 and 2^53.
        Integer = 4,
        Boolean = 5,
        User = 6,
        /// Any channel type and category.
        Channel = 7,
        Role = 8,
        /// Users and roles.
        Mentionable = 9,
        /// Any double between -2^53 and 2^53.
        Number = 10,
        Attachment = 11,
    }
}

int_enum! {
    /// Targets of application command permissions (Discord "Interactions > Application
    /// Commands > Application Command Permissions Object > Application Command Permission
    /// Type").
    ApplicationCommandPermissionType: u8 {
        Role = 1,
        User = 2,
        Channel = 3,
    }
}

int_enum! {
    /// When an Auto Moderation rule is checked (Discord "Resources > Auto Moderation >
    /// Auto Moderation Rule Object > Event Types").
    AutoModEventType: u8 {
        /// A member sends or edits a message.
        MessageSend = 1,
        /// A member edits their profile.
        MemberUpdate = 2,
    }
}

int_enum! {
    /// Status of a guild scheduled event (Discord "Guild Scheduled Event Status"); only
    /// SCHEDULED -> ACTIVE, ACTIVE -> COMPLETED and SCHEDULED -> CANCELED happen.
    ScheduledEventStatus: u8 {
        Scheduled = 1,
        Active = 2,
        /// Final.
        Completed = 3,
        /// Final.
        Canceled = 4,
    }
}

int_enum! {
    /// Where a guild scheduled event takes place (Discord "Guild Scheduled Event Entity
    /// Types").
    ScheduledEventEntityType: u8 {
        /// In a stage channel (`channel_id`).
        StageInstance = 1,
        /// In a voice channel (`channel_id`).
        Voice = 2,
        /// Elsewhere: `entity_metadata.location`, no channel, an end time.
        External = 3,
    }
}

int_enum! {
    /// What content triggers an Auto Moderation rule (Discord "Auto Moderation Rule Object >
    /// Trigger Types"; value 2, HARMFUL_LINK, is retired).
    AutoModTriggerType: u8 {
        /// Words of a user-defined list (and regular expressions); 6 per guild.
        Keyword = 1,
        /// Generic spam; 1 per guild.
        Spam = 3,
        /// Words of built-in lists; 1 per guild.
        KeywordPreset = 4,
        /// More unique mentions than allowed; 1 per guild.
        MentionSpam = 5,
        /// Words in a member's profile; 1 per guild.
        MemberProfile = 6,
    }
}

int_enum! {
    /// What a triggered Auto Moderation rule does (Discord "Auto Moderation Action Object >
    /// Action Types").
    AutoModActionType: u8 {
        /// The message is not posted (400 200000 to its author).
        BlockMessage = 1,
        /// The content is logged to a channel (a system message of type 24).
        SendAlertMessage = 2,
        /// The member is timed out (`communication_disabled_until`).
        Timeout = 3,
        /// The member may not interact until the profile is fixed (MEMBER_PROFILE rules).
        BlockMemberInteraction = 4,
    }
}

int_enum! {
    /// Built-in word lists of KEYWORD_PRESET rules (Discord "Auto Moderation Rule Object >
    /// Keyword Preset Types").
    AutoModPreset: u8 {
        /// Swearing or cursing.
        Profanity = 1,
        /// Sexually explicit behaviour or activity.
        SexualContent = 2,
        /// Personal insults or hate speech.
        Slurs = 3,
    }
}

/// Declares the dispatch event names: a `Copy` enum with its wire name both ways.
macro_rules! events {
    ( $( $(#[$vmeta:meta])* $variant:ident = $name:literal, )* ) => {
        /// The name (`t`) of a gateway dispatch (Discord "Gateway Events > Receive Events"),
        /// plus Hearth's own (`MLS_MESSAGE`) and the federation-only `GUILD_DELETE_FEDERATED`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Event {
            $( $(#[$vmeta])* $variant, )*
        }

        impl Event {
            /// Every event, in declaration order.
            pub const ALL: &'static [Event] = &[ $( Event::$variant, )* ];

            /// The wire name, e.g. `MESSAGE_CREATE`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Event::$variant => $name, )*
                }
            }
        }

        impl FromStr for Event {
            type Err = UnknownEvent;
            fn from_str(s: &str) -> Result<Event, UnknownEvent> {
                match s {
                    $( $name => Ok(Event::$variant), )*
                    other => Err(UnknownEvent(other.to_owned())),
                }
            }
        }
    };
}

events! {
    Ready = "READY",
    Resumed = "RESUMED",
    GuildCreate = "GUILD_CREATE",
    GuildUpdate = "GUILD_UPDATE",
    GuildDelete = "GUILD_DELETE",
    /// Federation only: the host deleted a guild (member servers drop their replica).
    GuildDeleteFederated = "GUILD_DELETE_FEDERATED",
    GuildRoleCreate = "GUILD_ROLE_CREATE",
    GuildRoleUpdate = "GUILD_ROLE_UPDATE",
    GuildRoleDelete = "GUILD_ROLE_DELETE",
    GuildMemberAdd = "GUILD_MEMBER_ADD",
    GuildMemberUpdate = "GUILD_MEMBER_UPDATE",
    GuildMemberRemove = "GUILD_MEMBER_REMOVE",
    GuildMembersChunk = "GUILD_MEMBERS_CHUNK",
    GuildBanAdd = "GUILD_BAN_ADD",
    GuildBanRemove = "GUILD_BAN_REMOVE",
    GuildEmojisUpdate = "GUILD_EMOJIS_UPDATE",
    ChannelCreate = "CHANNEL_CREATE",
    ChannelUpdate = "CHANNEL_UPDATE",
    ChannelDelete = "CHANNEL_DELETE",
    ChannelPinsUpdate = "CHANNEL_PINS_UPDATE",
    /// A user joined a group DM (Discord "Gateway Events > Channel Recipient Add", client
    /// API): `{channel_id, user}` to the group's recipients. Never crosses federation.
    ChannelRecipientAdd = "CHANNEL_RECIPIENT_ADD",
    /// A user left or was removed from a group DM: `{channel_id, user}` to the remaining
    /// recipients. Never crosses federation.
    ChannelRecipientRemove = "CHANNEL_RECIPIENT_REMOVE",
    /// A thread was created, or the user was added to a private thread (Discord "Gateway
    /// Events > Thread Create"); threads never cross federation.
    ThreadCreate = "THREAD_CREATE",
    /// A thread changed (archived, locked, renamed ...).
    ThreadUpdate = "THREAD_UPDATE",
    /// A thread was deleted: `{id, guild_id, parent_id, type}`.
    ThreadDelete = "THREAD_DELETE",
    /// The active threads of channels the user gained access to.
    ThreadListSync = "THREAD_LIST_SYNC",
    /// The user's own thread member object changed (joined a thread).
    ThreadMemberUpdate = "THREAD_MEMBER_UPDATE",
    /// Members were added to or removed from a thread.
    ThreadMembersUpdate = "THREAD_MEMBERS_UPDATE",
    InviteCreate = "INVITE_CREATE",
    InviteDelete = "INVITE_DELETE",
    MessageCreate = "MESSAGE_CREATE",
    MessageUpdate = "MESSAGE_UPDATE",
    MessageDelete = "MESSAGE_DELETE",
    MessageDeleteBulk = "MESSAGE_DELETE_BULK",
    MessageReactionAdd = "MESSAGE_REACTION_ADD",
    MessageReactionRemove = "MESSAGE_REACTION_REMOVE",
    MessageReactionRemoveAll = "MESSAGE_REACTION_REMOVE_ALL",
    MessageReactionRemoveEmoji = "MESSAGE_REACTION_REMOVE_EMOJI",
    /// A vote for one answer of a poll (Discord "Gateway Events > Message Poll Vote Add");
    /// never crosses federation.
    MessagePollVoteAdd = "MESSAGE_POLL_VOTE_ADD",
    /// A vote withdrawn; never crosses federation.
    MessagePollVoteRemove = "MESSAGE_POLL_VOTE_REMOVE",
    /// The user acknowledged a message (read states, Discord's client API); sent to the
    /// user's own sessions only, never crosses federation.
    MessageAck = "MESSAGE_ACK",
    /// The user blocked someone (a `Relationship`), sent to the user's own sessions only
    /// (Discord's client API); never crosses federation.
    RelationshipAdd = "RELATIONSHIP_ADD",
    /// The user lifted a block (`RelationshipRemove`), to the user's own sessions only.
    RelationshipRemove = "RELATIONSHIP_REMOVE",
    TypingStart = "TYPING_START",
    PresenceUpdate = "PRESENCE_UPDATE",
    UserUpdate = "USER_UPDATE",
    /// An application command's permissions in a guild changed (Discord "Gateway Events >
    /// Application Command Permissions Update"); never crosses federation.
    ApplicationCommandPermissionsUpdate = "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
    /// A channel's webhooks changed (Discord "Gateway Events > Webhooks Update"); never
    /// crosses federation.
    WebhooksUpdate = "WEBHOOKS_UPDATE",
    /// An interaction: to the application's bot the interaction object (Discord "Gateway
    /// Events > Interaction Create"); to the invoking user's sessions Hearth's client event
    /// `{id, nonce}`. Never crosses federation.
    InteractionCreate = "INTERACTION_CREATE",
    /// Hearth's client event: the application acknowledged the user's interaction.
    InteractionSuccess = "INTERACTION_SUCCESS",
    /// Hearth's client event: no acknowledgement within 3 seconds.
    InteractionFailure = "INTERACTION_FAILURE",
    /// A modal the application answered with (callback 9), to the invoking user's sessions
    /// (as Discord's client receives it). Never crosses federation.
    InteractionModalCreate = "INTERACTION_MODAL_CREATE",
    /// Autocomplete choices (callback 8), to the invoking user's sessions (as Discord's
    /// client receives them). Never crosses federation.
    ApplicationCommandAutocompleteResponse = "APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE",
    /// An Auto Moderation rule was created (Discord "Gateway Events > Auto Moderation Rule
    /// Create"): the rule, to members with MANAGE_GUILD, intent AUTO_MODERATION_CONFIGURATION.
    /// Never crosses federation.
    AutoModerationRuleCreate = "AUTO_MODERATION_RULE_CREATE",
    /// An Auto Moderation rule changed (as `AUTO_MODERATION_RULE_CREATE`).
    AutoModerationRuleUpdate = "AUTO_MODERATION_RULE_UPDATE",
    /// An Auto Moderation rule was deleted (as `AUTO_MODERATION_RULE_CREATE`).
    AutoModerationRuleDelete = "AUTO_MODERATION_RULE_DELETE",
    /// A rule's action ran (Discord "Gateway Events > Auto Moderation Action Execution"), to
    /// members with MANAGE_GUILD, intent AUTO_MODERATION_EXECUTION. Never crosses federation.
    AutoModerationActionExecution = "AUTO_MODERATION_ACTION_EXECUTION",
    /// Hearth: an item arrived in one of the user's MLS device inboxes (spec/mls.md).
    MlsMessage = "MLS_MESSAGE",
    /// Discord's client API: what changed in a *passive* guild (one the session has not
    /// opened, spec/gateway.md "Passive guilds"): `{guild_id, channels: [{id,
    /// last_message_id}]}`, coalesced. Only to sessions that opted in; never crosses
    /// federation.
    PassiveUpdateV1 = "PASSIVE_UPDATE_V1",
    /// A member joined, moved in or left voice, or their voice flags changed (Discord
    /// "Gateway Events > Voice State Update"): a voice state, to the guild's sessions with
    /// GUILD_VOICE_STATES. Never crosses federation.
    VoiceStateUpdate = "VOICE_STATE_UPDATE",
    /// The voice server of the session's voice connection (Discord "Gateway Events > Voice
    /// Server Update"): Hearth has no media server, so `endpoint` is always `null` ("no
    /// server allocated"); to the session that sent op 4 only. Never crosses federation.
    VoiceServerUpdate = "VOICE_SERVER_UPDATE",
    /// A scheduled event was created (Discord "Gateway Events > Guild Scheduled Event
    /// Create"): the event, to the guild's sessions with GUILD_SCHEDULED_EVENTS that can see
    /// its channel (every member for an EXTERNAL event). Never crosses federation.
    GuildScheduledEventCreate = "GUILD_SCHEDULED_EVENT_CREATE",
    /// A scheduled event changed, by an edit or by the status automation (as
    /// `GUILD_SCHEDULED_EVENT_CREATE`).
    GuildScheduledEventUpdate = "GUILD_SCHEDULED_EVENT_UPDATE",
    /// A scheduled event was deleted (as `GUILD_SCHEDULED_EVENT_CREATE`; the event as it was).
    GuildScheduledEventDelete = "GUILD_SCHEDULED_EVENT_DELETE",
    /// A user became interested in a scheduled event: `{guild_scheduled_event_id, user_id,
    /// guild_id}`, to those who can see the event. Never crosses federation.
    GuildScheduledEventUserAdd = "GUILD_SCHEDULED_EVENT_USER_ADD",
    /// A user is no longer interested (as `GUILD_SCHEDULED_EVENT_USER_ADD`).
    GuildScheduledEventUserRemove = "GUILD_SCHEDULED_EVENT_USER_REMOVE",
    /// A stage went live (Discord "Gateway Events > Stage Instance Create"): the stage
    /// instance, to the guild's sessions with GUILDS that can see its channel. Never crosses
    /// federation.
    StageInstanceCreate = "STAGE_INSTANCE_CREATE",
    /// A stage instance's topic or privacy level changed (as `STAGE_INSTANCE_CREATE`).
    StageInstanceUpdate = "STAGE_INSTANCE_UPDATE",
    /// A stage instance ended: deleted, its channel deleted or emptied (as
    /// `STAGE_INSTANCE_CREATE`; the instance as it was).
    StageInstanceDelete = "STAGE_INSTANCE_DELETE",
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An event name this version does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEvent(pub String);

impl fmt::Display for UnknownEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown event {:?}", self.0)
    }
}

impl std::error::Error for UnknownEvent {}

/// Gateway intents (Discord "Gateway > Gateway Intents").
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MODERATION: u64 = 1 << 2;
    pub const GUILD_EXPRESSIONS: u64 = 1 << 3;
    pub const GUILD_INTEGRATIONS: u64 = 1 << 4;
    pub const GUILD_WEBHOOKS: u64 = 1 << 5;
    pub const GUILD_INVITES: u64 = 1 << 6;
    pub const GUILD_VOICE_STATES: u64 = 1 << 7;
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
    pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
    pub const DIRECT_MESSAGE_TYPING: u64 = 1 << 14;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    pub const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
    pub const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
    pub const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;
    pub const GUILD_MESSAGE_POLLS: u64 = 1 << 24;
    pub const DIRECT_MESSAGE_POLLS: u64 = 1 << 25;
    /// Every bit Discord documents.
    pub const ALL: u64 = ((1 << 17) - 1)
        | AUTO_MODERATION_CONFIGURATION
        | AUTO_MODERATION_EXECUTION
        | GUILD_MESSAGE_POLLS
        | DIRECT_MESSAGE_POLLS;
    /// Privileged intents (need approval on the bot's application).
    pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;
}

/// Gateway close codes (Discord "Opcodes and Status Codes > Gateway Close Event Codes").
pub mod close {
    pub const UNKNOWN_ERROR: u16 = 4000;
    pub const UNKNOWN_OPCODE: u16 = 4001;
    pub const DECODE_ERROR: u16 = 4002;
    pub const NOT_AUTHENTICATED: u16 = 4003;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const ALREADY_AUTHENTICATED: u16 = 4005;
    pub const INVALID_SEQ: u16 = 4007;
    pub const RATE_LIMITED: u16 = 4008;
    pub const SESSION_TIMED_OUT: u16 = 4009;
    pub const INVALID_SHARD: u16 = 4010;
    pub const SHARDING_REQUIRED: u16 = 4011;
    pub const INVALID_API_VERSION: u16 = 4012;
    pub const INVALID_INTENTS: u16 = 4013;
    pub const DISALLOWED_INTENTS: u16 = 4014;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_enums_round_trip_and_keep_unknown_values() {
        assert_eq!(
            serde_json::to_string(&ChannelType::GuildForum).unwrap(),
            "15"
        );
        assert_eq!(
            serde_json::from_str::<ChannelType>("0").unwrap(),
            ChannelType::GuildText
        );
        let odd: MessageType = serde_json::from_str("250").unwrap();
        assert_eq!(odd, MessageType::Unknown(250));
        assert_eq!(serde_json::to_string(&odd).unwrap(), "250");
        assert_eq!(MessageType::from(19), MessageType::Reply);
        assert_eq!(OverwriteType::from_db(1), OverwriteType::Member);
        assert!(serde_json::from_str::<ChannelType>("-1").is_err());
    }

    #[test]
    fn event_names_round_trip() {
        for e in Event::ALL {
            assert_eq!(e.as_str().parse::<Event>().unwrap(), *e);
            let json = serde_json::to_string(e).unwrap();
            assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), *e);
        }
        assert!("NOT_AN_EVENT".parse::<Event>().is_err());
    }
}
