//! Hearth's wire types: every JSON shape of the Discord-compatible client API (REST bodies
//! and objects, gateway payload objects), snowflake ids and Discord's enumerations as typed
//! values. One crate, so that the homeserver, the client SDK, the load generator and the web
//! client's type checks all use the same definitions.
//!
//! Shapes follow Discord's API documentation ("Resources > User/Guild/Channel/Message/Invite/
//! Audit Log", "Topics > Permissions > Role Object"); Hearth only adds fields (for example
//! `handle`). Request bodies ignore unknown fields and accept `null` for optional ones,
//! because real libraries send fields Hearth does not use. Ids are [`Snowflake`]s and
//! serialize as decimal strings; permission sets serialize as decimal strings.
//!
//! The types that cross federation implement [`ids::Ids`] (derived: every field visited), so a
//! member server translates a host's payloads between id spaces by type
//! (spec/federation.md §13); [`dispatch`] types the dispatch payloads that are not objects of
//! their own, [`federation`] the bodies of the federation endpoints that carry them. Parsing
//! ignores fields a type does not know (spec/federation.md §13): a member server applies what
//! it understands of a newer host's payload, and since it republishes the typed value, an
//! unknown field (and any id inside it) never passes through untranslated. The fixtures of
//! `tests/it/web.rs` round-trip through these types, so a field one side drops shows there.

/// The objects the server writes with exactly their fields: their OpenAPI schemas say
/// `additionalProperties: false` (src/http/openapi.rs), so a schema check of an answer (the
/// schemathesis run, `tests/it/openapi.rs`) fails on a field the type does not declare.
/// Parsing them still ignores unknown fields (spec/federation.md §13).
pub const EXACT_SCHEMAS: &[&str] = &[
    "Overwrite",
    "Channel",
    "Invite",
    "InviteGuild",
    "InviteChannel",
    "MessageDelete",
    "MessageDeleteBulk",
    "ReactionAdd",
    "ReactionRemove",
    "ReactionRemoveAll",
    "ReactionRemoveEmoji",
    "ChannelPinsUpdate",
    "ChannelRecipient",
    "GuildRole",
    "GuildRoleDelete",
    "GuildMemberRemove",
    "GuildBan",
    "GuildEmojisUpdate",
    "GuildDeleteFederated",
    "InviteDelete",
    "TypingStart",
    "PresenceUpdate",
    "PresenceUser",
    "ClientStatus",
    "Role",
    "RoleColors",
    "RoleTags",
    "Member",
    "Guild",
    "GuildEmoji",
    "Reaction",
    "ReactionCountDetails",
    "Emoji",
    "Message",
    "MessageInteractionMetadata",
    "MessageInteraction",
    "Attachment",
    "PollMedia",
    "PollAnswer",
    "PollAnswerCount",
    "PollResults",
    "Poll",
    "PollVote",
    "PassiveUpdate",
    "PassiveChannel",
    "ThreadMetadata",
    "ThreadMember",
    "ForumTag",
    "DefaultReaction",
    "User",
    "Relationship",
    "RelationshipRemove",
];

// The derive names `::hearth_wire::ids`, inside this crate too.
extern crate self as hearth_wire;

pub mod account;
pub mod application;
pub mod automod;
pub mod channel;
pub mod command;
pub mod component;
pub mod dispatch;
pub mod federation;
pub mod guild;
pub mod ids;
pub mod interaction;
pub mod kinds;
pub mod message;
pub mod mfa;
pub mod mls;
pub mod passkey;
pub mod poll;
pub mod read_state;
pub mod scheduled_event;
pub mod search;
pub mod snowflake;
pub mod stage_instance;
pub mod thread;
pub mod user;
pub mod util;
pub mod voice;
pub mod webhook;

pub use account::*;
pub use application::*;
pub use automod::*;
pub use channel::*;
pub use command::*;
pub use component::*;
pub use guild::*;
pub use interaction::*;
pub use kinds::*;
pub use message::*;
pub use mfa::*;
pub use mls::*;
pub use passkey::*;
pub use poll::*;
pub use read_state::*;
pub use scheduled_event::*;
pub use search::*;
pub use snowflake::Snowflake;
pub use stage_instance::*;
pub use thread::*;
pub use user::*;
pub use util::*;
pub use voice::*;
pub use webhook::*;
