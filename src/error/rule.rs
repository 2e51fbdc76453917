//! [`Rule`]: the domain rules a request can break, each with Discord's code (or the nearest
//! one) and status (Discord API docs, "Topics > Opcodes and Status Codes > JSON Error Codes").

use axum::http::StatusCode;

/// A domain rule the request broke; each has Discord's code (or the nearest one) and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// 403 / 20001 (also: bots accepting invites; they join through OAuth2 only)
    BotsCannotUse,
    /// 403 / 20002
    OnlyBots,
    /// 403 / 20012: another application's bot (or a user who does not own it) acting on
    /// an application.
    NotAppAuthorized,
    /// 400 / 30001
    MaxGuilds,
    /// 400 / 30003
    MaxPins,
    /// 400 / 30005
    MaxRoles,
    /// 400 / 30008
    MaxEmojis,
    /// 400 / 30010
    MaxReactions,
    /// 400 / 30013
    MaxChannels,
    /// 400 / 30018
    MaxAnimatedEmojis,
    /// 400 / 30032: the scope's limit of application commands of that type.
    MaxApplicationCommands,
    /// 403 / 40007
    Banned,
    /// 403 / 40002 (account suspended by an operator)
    Suspended,
    /// 400 / 50006
    EmptyMessage,
    /// 403 / 50007
    CannotMessageUser,
    /// 400 / 50008
    NonTextChannel,
    /// 400 / 50016
    BulkDeleteCount,
    /// 400 / 50021
    SystemMessage,
    /// 400 / 50024
    ChannelType,
    /// 400 / 50028
    InvalidRole,
    /// 400 / 50034
    BulkDeleteTooOld,
    /// 400 / 50005 (editing another user's message)
    NotAuthor,
    /// 400 / 50055 (owner-only or otherwise invalid guild action)
    InvalidGuild,
    /// 403 / 50001 ... registration closed or invite-only without a valid invite.
    RegistrationClosed,
    /// 400 / 50035-like: username taken.
    UsernameTaken,
    /// 400 / 50018: password does not match (password change).
    PasswordMismatch,
    /// 400 / 40059? Discord has no code; 40060 "Interaction already acknowledged" is wrong too.
    /// Used when the owner tries to leave their own guild: 400 / 50055.
    OwnerCannotLeave,
    /// 400 / 50109: the body is not valid JSON (or not UTF-8).
    InvalidJson,
    /// 400 / 50033: invalid recipient(s) (DM with oneself, with a bot ...)
    InvalidRecipient,
    /// 400 / 50033: a user of another server in a group DM (cross-server DMs are MLS groups,
    /// spec/mls.md, through hearth-cli).
    RemoteRecipient,
    /// 400 / 30004: a group DM already has its 10 recipients.
    MaxRecipients,
    /// 403 / 50001: an administrative action on a guild hosted on another server (only
    /// messages, reactions, pins, typing and leaving are relayed to the host).
    RemoteGuild,
    /// 400 / 60001: TOTP is already enabled on this account.
    MfaEnabled,
    /// 400 / 60002: TOTP is not enabled on this account.
    MfaDisabled,
    /// 403 / 60003: the guild's MFA level requires an MFA-enabled account for this action.
    MfaRequired,
    /// 400 / 60005: the TOTP secret is not valid base32 of 80 to 512 bits.
    InvalidMfaSecret,
    /// 400 / 60006: unknown, expired or used login ticket.
    InvalidMfaTicket,
    /// 400 / 60008: wrong, already used or out-of-window two-factor code.
    InvalidMfaCode,
    /// 400 / 50014: an unknown, used, expired or replaced mailed token (reset, verify).
    InvalidAccountToken,
    /// 400 / 40011: the account still owns guilds (Discord: transfer them before deleting).
    OwnsGuilds,
    /// 400 / 30007: the channel has its maximum of webhooks.
    MaxWebhooks,
    /// 401 / 50027: a webhook route with a token that is not the webhook's.
    InvalidWebhookToken,
    /// 400 / 40060: a second callback to an interaction.
    InteractionAcknowledged,
    /// 413 / 40005: the file would take its uploader or the guild over `media.*_quota_bytes`.
    StorageQuota,
    /// 400 / 50083: the thread is archived (messages, members, edits other than unarchiving).
    ThreadArchived,
    /// 403 / 160005: the thread is locked (only MANAGE_THREADS may send or unarchive).
    ThreadLocked,
    /// 400 / 160004: the message already started a thread.
    ThreadExists,
    /// 400 / 40058: a message sent directly in a forum or media channel (posts are threads).
    ForumMessage,
    /// 400 / 40067: a post without tags in a forum with the REQUIRE_TAG flag.
    TagRequired,
    /// 400 / 220001: a webhook execution in a forum or media channel without `thread_name`
    /// or `thread_id`.
    WebhookForumNeedsThread,
    /// 400 / 220002: a webhook execution with both `thread_name` and `thread_id`.
    WebhookThreadNameAndId,
    /// 400 / 220003: a webhook execution with `thread_name` outside a forum or media channel.
    WebhookThreadsInForumsOnly,
    /// 400 / 40061: two tags of a forum with the same name.
    TagNamesUnique,
    /// 400 / 30047: a second pinned post in a forum (Discord allows one).
    MaxPinnedPosts,
    /// 400 / 30038: a guild's SCHEDULED and ACTIVE scheduled events are at their limit (100).
    MaxScheduledEvents,
    /// 400 / 180000: a change of a COMPLETED or CANCELED scheduled event.
    EventFinished,
    /// 400 / 150006: a stage instance for a stage channel that already has one.
    StageAlreadyOpen,
    /// 400 / 40032: a voice action (mute, deafen, move, disconnect) on a member who is not
    /// connected to voice.
    NotInVoice,
    /// Polls' (520000-520006) and Auto Moderation's (200000) refusals, each with its own status.
    Refused(super::Refusal),
}

impl Rule {
    pub(super) fn status_code_message(self) -> (StatusCode, u32, &'static str) {
        use StatusCode as S;
        match self {
            Rule::BotsCannotUse => (S::FORBIDDEN, 20001, "Bots cannot use this endpoint"),
            Rule::OnlyBots => (S::FORBIDDEN, 20002, "Only bots can use this endpoint"),
            Rule::NotAppAuthorized => (
                S::FORBIDDEN,
                20012,
                "You are not authorized to perform this action on this application",
            ),
            Rule::MaxGuilds => (S::BAD_REQUEST, 30001, "Maximum number of guilds reached"),
            Rule::MaxApplicationCommands => (
                S::BAD_REQUEST,
                30032,
                "Maximum number of application commands reached",
            ),
            Rule::NotInVoice => (
                S::BAD_REQUEST,
                40032,
                "Target user is not connected to voice",
            ),
            Rule::MaxPins => (S::BAD_REQUEST, 30003, "Maximum number of pins reached"),
            Rule::MaxRoles => (
                S::BAD_REQUEST,
                30005,
                "Maximum number of guild roles reached",
            ),
            Rule::MaxEmojis => (S::BAD_REQUEST, 30008, "Maximum number of emojis reached"),
            Rule::MaxAnimatedEmojis => (
                S::BAD_REQUEST,
                30018,
                "Maximum number of animated emojis reached",
            ),
            Rule::MaxReactions => (S::BAD_REQUEST, 30010, "Maximum number of reactions reached"),
            Rule::MaxChannels => (
                S::BAD_REQUEST,
                30013,
                "Maximum number of guild channels reached",
            ),
            Rule::Banned => (S::FORBIDDEN, 40007, "The user is banned from this guild."),
            Rule::Suspended => (
                S::FORBIDDEN,
                40002,
                "Your account has been suspended by an operator.",
            ),
            Rule::EmptyMessage => (S::BAD_REQUEST, 50006, "Cannot send an empty message"),
            Rule::CannotMessageUser => (S::FORBIDDEN, 50007, "Cannot send messages to this user"),
            Rule::NonTextChannel => (
                S::BAD_REQUEST,
                50008,
                "Cannot send messages in a non-text channel",
            ),
            Rule::BulkDeleteCount => (
                S::BAD_REQUEST,
                50016,
                "Provided too few or too many messages to delete. Must provide at least 2 and fewer than 100 messages to delete.",
            ),
            Rule::SystemMessage => (
                S::BAD_REQUEST,
                50021,
                "Cannot execute action on a system message",
            ),
            Rule::ChannelType => (
                S::BAD_REQUEST,
                50024,
                "Cannot execute action on this channel type",
            ),
            Rule::InvalidRole => (S::BAD_REQUEST, 50028, "Invalid role"),
            Rule::BulkDeleteTooOld => (
                S::BAD_REQUEST,
                50034,
                "You can only bulk delete messages that are under 14 days old.",
            ),
            Rule::NotAuthor => (
                S::FORBIDDEN,
                50005,
                "Cannot edit a message authored by another user",
            ),
            Rule::InvalidGuild => (S::BAD_REQUEST, 50055, "Invalid guild"),
            Rule::RegistrationClosed => (
                S::FORBIDDEN,
                50001,
                "Registration is not open on this server",
            ),
            Rule::UsernameTaken => (S::BAD_REQUEST, 50035, "Username is already taken"),
            Rule::PasswordMismatch => (S::BAD_REQUEST, 50018, "Password does not match"),
            Rule::OwnerCannotLeave => (
                S::BAD_REQUEST,
                50055,
                "The guild owner cannot leave the guild; transfer or delete it",
            ),
            Rule::InvalidJson => (
                S::BAD_REQUEST,
                50109,
                "The request body contains invalid JSON.",
            ),
            Rule::InvalidRecipient => (S::BAD_REQUEST, 50033, "Invalid Recipient(s)"),
            Rule::RemoteRecipient => (
                S::BAD_REQUEST,
                50033,
                "Invalid Recipient(s): group DMs hold users of this server only; DMs with users of other servers are end-to-end encrypted (hearth-cli)",
            ),
            Rule::MaxRecipients => (
                S::BAD_REQUEST,
                30004,
                "Maximum number of recipients reached (10)",
            ),
            Rule::RemoteGuild => (
                S::FORBIDDEN,
                50001,
                "This guild is hosted on another server; this action must be made there",
            ),
            Rule::MfaEnabled => (
                S::BAD_REQUEST,
                60001,
                "Two factor is already enabled for this account",
            ),
            Rule::MfaDisabled => (
                S::BAD_REQUEST,
                60002,
                "Two factor is disabled for this account",
            ),
            Rule::MfaRequired => (
                S::FORBIDDEN,
                60003,
                "Two factor is required for this operation",
            ),
            Rule::InvalidMfaSecret => (S::BAD_REQUEST, 60005, "Invalid two-factor secret"),
            Rule::InvalidMfaTicket => (S::BAD_REQUEST, 60006, "Invalid two-factor auth ticket"),
            Rule::InvalidMfaCode => (S::BAD_REQUEST, 60008, "Invalid two-factor code"),
            Rule::InvalidAccountToken => (
                S::BAD_REQUEST,
                50014,
                "Invalid authentication token provided",
            ),
            Rule::OwnsGuilds => (
                S::BAD_REQUEST,
                40011,
                "You must transfer ownership of any owned guilds before deleting your account",
            ),
            Rule::MaxWebhooks => (
                S::BAD_REQUEST,
                30007,
                "Maximum number of webhooks reached (15)",
            ),
            Rule::InvalidWebhookToken => (S::UNAUTHORIZED, 50027, "Invalid Webhook Token"),
            Rule::InteractionAcknowledged => (
                S::BAD_REQUEST,
                40060,
                "Interaction has already been acknowledged.",
            ),
            Rule::StorageQuota => (
                S::PAYLOAD_TOO_LARGE,
                40005,
                "Request entity too large: storage quota exceeded",
            ),
            Rule::ThreadArchived => (S::BAD_REQUEST, 50083, "Thread is archived"),
            Rule::ThreadLocked => (S::FORBIDDEN, 160005, "Thread is locked"),
            Rule::ThreadExists => (
                S::BAD_REQUEST,
                160004,
                "A thread has already been created for this message",
            ),
            Rule::ForumMessage => (
                S::BAD_REQUEST,
                40058,
                "Cannot send a message in a forum channel",
            ),
            Rule::WebhookForumNeedsThread => (
                S::BAD_REQUEST,
                220001,
                "Webhooks posted to forum channels must have a thread_name or thread_id",
            ),
            Rule::WebhookThreadNameAndId => (
                S::BAD_REQUEST,
                220002,
                "Webhooks posted to forum channels cannot have both a thread_name and thread_id",
            ),
            Rule::WebhookThreadsInForumsOnly => (
                S::BAD_REQUEST,
                220003,
                "Webhooks can only create threads in forum channels",
            ),
            Rule::TagRequired => (
                S::BAD_REQUEST,
                40067,
                "A tag is required to create a forum post in this channel",
            ),
            Rule::TagNamesUnique => (S::BAD_REQUEST, 40061, "Tag names must be unique"),
            Rule::MaxScheduledEvents => (
                S::BAD_REQUEST,
                30038,
                "Maximum number of uncompleted guild scheduled events reached (100)",
            ),
            Rule::EventFinished => (S::BAD_REQUEST, 180000, "Cannot update a finished event"),
            Rule::StageAlreadyOpen => (S::BAD_REQUEST, 150006, "The Stage is already open"),
            Rule::MaxPinnedPosts => (
                S::BAD_REQUEST,
                30047,
                "Maximum number of pinned threads in a forum channel has been reached",
            ),
            Rule::Refused(r) => r.status_code_message(),
        }
    }
}
