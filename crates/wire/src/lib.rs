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

pub mod application;
pub mod channel;
pub mod guild;
pub mod kinds;
pub mod message;
pub mod mls;
pub mod snowflake;
pub mod user;
pub mod util;

pub use application::*;
pub use channel::*;
pub use guild::*;
pub use kinds::*;
pub use message::*;
pub use mls::*;
pub use snowflake::Snowflake;
pub use user::*;
pub use util::*;
