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
//! their own, [`federation`] the bodies of the federation endpoints that carry them. Those
//! types refuse unknown fields when parsed (`deny_unknown_fields`), so a field added on one
//! side only is an error rather than silently dropped.

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
pub mod search;
pub mod snowflake;
pub mod user;
pub mod util;
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
pub use search::*;
pub use snowflake::Snowflake;
pub use user::*;
pub use util::*;
pub use webhook::*;
