//! Ids inside payloads, visited by type (spec/federation.md §13).
//!
//! A member server keeps the guilds it replicates in its own id space, so every id of a
//! host's payload has to be translated, and users have to be matched by handle rather than by
//! id. [`Ids`] makes that a property of the types: `visit_ids` hands every id of a value to an
//! [`IdVisitor`], which may rewrite it in place. Three kinds of places hold ids:
//!
//! - a plain id, a [`Snowflake`] field ([`IdVisitor::id`]);
//! - a user object ([`IdVisitor::user`]): the whole user, because users are matched by
//!   `handle`, never by a peer's id; the visitor rewrites the user's `id` itself
//!   ([`UserObject`]);
//! - message text with mentions, `<@id>`, `<@!id>`, `<@&id>` and `<#id>`
//!   ([`IdVisitor::text`]; helpers [`mentions`] and [`map_mentions`]).
//!
//! `#[derive(Ids)]` implements the trait for a struct or enum by visiting **every** field;
//! each field's type must implement [`Ids`] itself, so a new field of a type nobody has
//! classified does not compile until someone decides how it is translated. The impls here
//! classify the building blocks:
//!
//! - [`Snowflake`]: an id;
//! - numbers, `bool`, `char`, `String`, `&'static str`, `()`, and the integer enums of
//!   [`crate::kinds`]: no ids;
//! - `Option<T>`, `Vec<T>`, `Box<T>`: whatever `T` holds;
//! - [`Unsupported`]: uninhabited (lists Hearth always sends empty).
//!
//! `serde_json::Value` deliberately has **no** impl: the visitor cannot see into free-form
//! JSON, so a `Value` field must be typed, or carry `#[ids(skip = "reason")]` stating why no
//! id of the sender's server can be inside (embeds, a client's nonce, presence activities).
//! A derive over such a field without that decision fails to compile:
//!
//! ```compile_fail
//! use hearth_wire::ids::Ids;
//! #[derive(Ids)]
//! struct Payload {
//!     extra: serde_json::Value,
//! }
//! ```
//!
//! ```compile_fail
//! use hearth_wire::ids::Ids;
//! #[derive(Ids)]
//! struct Payload {
//!     #[ids(skip)] // a skip needs its reason
//!     extra: serde_json::Value,
//! }
//! ```
//!
//! ```
//! use hearth_wire::ids::Ids;
//! use hearth_wire::Snowflake;
//! #[derive(Ids)]
//! struct Payload {
//!     channel_id: Snowflake,
//!     #[ids(text)]
//!     content: String,
//!     #[ids(skip = "free-form client data: holds no Hearth object")]
//!     extra: serde_json::Value,
//! }
//! ```

use serde::{Deserialize, Serialize};

use crate::Snowflake;

pub use hearth_wire_derive::Ids;

/// A value whose ids can be visited (and rewritten) one by one. Implement it with
/// `#[derive(Ids)]`; see the module documentation for the attributes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say which ids it holds (trait `Ids`)",
    label = "no `Ids` impl: a server's ids in here could not be translated",
    note = "derive `Ids` for the type, or mark the field `#[ids(skip = \"why no id can be here\")]` (or `#[ids(text)]` for text with mentions); see `hearth_wire::ids`"
)]
pub trait Ids {
    /// Hands every id of `self` to `v`: plain ids, user objects and message text.
    fn visit_ids(&mut self, v: &mut dyn IdVisitor);
}

/// Receives the ids of a value ([`Ids::visit_ids`]), for reading or rewriting them.
pub trait IdVisitor {
    /// A plain id (a guild, channel, role, message, overwrite target, ...).
    fn id(&mut self, id: &mut Snowflake);
    /// A user object, to be matched by its handle; the visitor rewrites its id through
    /// [`UserObject::id_mut`]. Its other fields are visited separately.
    fn user(&mut self, user: &mut dyn UserObject);
    /// Message text whose mentions are ids (see [`mentions`] and [`map_mentions`]).
    fn text(&mut self, text: &mut String);
}

/// A user object as a visitor needs it: the id to rewrite and what identifies and describes
/// the user across servers (`handle` is `name@server`, spec/federation.md §2.3).
pub trait UserObject {
    /// The user's id in the payload's id space.
    fn id_mut(&mut self) -> &mut Snowflake;
    /// `name@server`.
    fn handle(&self) -> &str;
    /// Display name, if any.
    fn global_name(&self) -> Option<&str>;
    /// Avatar hash, if any.
    fn avatar(&self) -> Option<&str>;
    /// Whether the user is a bot.
    fn bot(&self) -> bool;
}

/// Text that may contain mentions (`#[ids(text)]` fields).
pub trait TextIds {
    /// Hands every piece of text of `self` to [`IdVisitor::text`].
    fn visit_text(&mut self, v: &mut dyn IdVisitor);
}

impl TextIds for String {
    fn visit_text(&mut self, v: &mut dyn IdVisitor) {
        v.text(self);
    }
}

impl<T: TextIds> TextIds for Option<T> {
    fn visit_text(&mut self, v: &mut dyn IdVisitor) {
        if let Some(t) = self {
            t.visit_text(v);
        }
    }
}

impl<T: TextIds> TextIds for Vec<T> {
    fn visit_text(&mut self, v: &mut dyn IdVisitor) {
        for t in self {
            t.visit_text(v);
        }
    }
}

impl Ids for Snowflake {
    fn visit_ids(&mut self, v: &mut dyn IdVisitor) {
        v.id(self);
    }
}

impl<T: Ids> Ids for Option<T> {
    fn visit_ids(&mut self, v: &mut dyn IdVisitor) {
        if let Some(x) = self {
            x.visit_ids(v);
        }
    }
}

impl<T: Ids> Ids for Vec<T> {
    fn visit_ids(&mut self, v: &mut dyn IdVisitor) {
        for x in self {
            x.visit_ids(v);
        }
    }
}

impl<T: Ids + ?Sized> Ids for Box<T> {
    fn visit_ids(&mut self, v: &mut dyn IdVisitor) {
        (**self).visit_ids(v);
    }
}

/// Types that hold no id.
macro_rules! no_ids {
    ($($t:ty),* $(,)?) => {
        $(
            impl Ids for $t {
                fn visit_ids(&mut self, _: &mut dyn IdVisitor) {}
            }
        )*
    };
}

no_ids!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    (),
    crate::ChannelType,
    crate::MessageType,
    crate::OverwriteType,
    crate::InteractionType,
    crate::Event,
    crate::ScheduledEventStatus,
    crate::ScheduledEventEntityType,
);

/// A value Hearth never produces: the element type of lists it always sends empty (guild
/// emojis and stickers, message attachments and components). A list of it serializes as
/// `[]`, and a peer's non-empty list is refused when parsed, instead of being passed on
/// untranslated. Filling such a list means choosing a real type first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unsupported {}

/// The OpenAPI schema (src/http/openapi.rs): an object described as never sent (a list of it
/// is always empty).
impl utoipa::PartialSchema for Unsupported {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some(
                "Not supported by Hearth yet: a list of these is always empty",
            ))
            .into()
    }
}
impl utoipa::ToSchema for Unsupported {}

impl Ids for Unsupported {
    fn visit_ids(&mut self, _: &mut dyn IdVisitor) {
        match *self {}
    }
}

/// One mention in message text: the byte range of its id digits and the id.
fn scan(s: &str) -> impl Iterator<Item = (std::ops::Range<usize>, Option<Snowflake>)> + '_ {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if b[i] == b'<' && i + 1 < b.len() && (b[i + 1] == b'@' || b[i + 1] == b'#') {
                let mut j = i + 2;
                if b[i + 1] == b'@' && j < b.len() && (b[j] == b'!' || b[j] == b'&') {
                    j += 1;
                }
                let start = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > start && j < b.len() && b[j] == b'>' {
                    i = j + 1;
                    // Digits beyond u64 are no id: left as they are.
                    return Some((start..j, s[start..j].parse::<u64>().ok().map(Snowflake)));
                }
            }
            i += 1;
        }
        None
    })
}

/// The ids mentioned in message text (Discord "Reference > Message Formatting": `<@id>`,
/// `<@!id>` users, `<@&id>` roles, `<#id>` channels), in order.
pub fn mentions(s: &str) -> impl Iterator<Item = Snowflake> + '_ {
    scan(s).filter_map(|(_, id)| id)
}

/// `s` with each mentioned id replaced by `f(id)`; mentions for which `f` gives `None`
/// stay as they are.
pub fn map_mentions(s: &str, mut f: impl FnMut(Snowflake) -> Option<Snowflake>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (range, id) in scan(s) {
        if let Some(new) = id.and_then(&mut f) {
            out.push_str(&s[last..range.start]);
            out.push_str(&new.to_string());
            last = range.end;
        }
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_in_text_are_found_and_rewritten() {
        let s = "hi <@12> <@!13> <@&14> <#15> <@x> <@> <#!16> <@99999999999999999999999> <@17";
        let found: Vec<u64> = mentions(s).map(|m| m.0).collect();
        assert_eq!(found, vec![12, 13, 14, 15]);
        let out = map_mentions(s, |id| match id.0 {
            12 => Some(Snowflake(99)),
            14 => Some(Snowflake(77)),
            _ => None,
        });
        assert_eq!(
            out,
            "hi <@99> <@!13> <@&77> <#15> <@x> <@> <#!16> <@99999999999999999999999> <@17"
        );
        assert_eq!(map_mentions("<@1><@1>", |_| Some(Snowflake(2))), "<@2><@2>");
        assert_eq!(map_mentions("", |_| Some(Snowflake(2))), "");
    }

    #[test]
    fn unsupported_lists_are_empty_both_ways() {
        let v: Vec<Unsupported> = serde_json::from_str("[]").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "[]");
        assert!(serde_json::from_str::<Vec<Unsupported>>("[{}]").is_err());
        assert!(serde_json::from_str::<Vec<Unsupported>>("[1]").is_err());
    }
}
