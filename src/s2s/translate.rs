//! Id translation from a peer's id space into this server's (spec/federation.md §13), by
//! type: a host's payloads are parsed into the wire types ([`Payload`] for dispatches, the
//! `hearth_wire::federation` bodies for snapshots and pages), whose every id field is visited
//! ([`hearth_wire::ids::Ids`], derived). Plain ids are mapped through `id_map` (one map per
//! peer server, since snowflakes of one server are unique across kinds), minting local ids
//! for new ones; user objects are matched by `handle`, so `alice@a.example` is always the same
//! local row whichever host mentions her; mentions inside message text are rewritten.
//!
//! A translation is two passes over the typed value: the first collects what it holds, the
//! ids are resolved (storage, asynchronously), the second rewrites them. A payload that does
//! not parse into its type (an unknown field, an event that never crosses federation) is
//! refused whole: nothing of it is translated or applied.

use std::collections::HashMap;

use hearth_wire::dispatch::{Payload, PayloadError};
use hearth_wire::ids::{IdVisitor, Ids, UserObject, map_mentions, mentions};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::events::Event;
use crate::service::Hearth;
use crate::snowflake::Snowflake;
use crate::storage::RemoteGuildRow;

/// A host's answer or payload that does not have the shape of its type.
pub(super) fn bad_shape(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("federation: {what} of the wrong shape: {e}"))
}

/// What a user object says about its user (the profile kept for remote users).
#[derive(Debug, Clone, PartialEq)]
struct Profile {
    global_name: Option<String>,
    avatar: Option<String>,
    bot: bool,
}

/// A user object met in the first pass.
struct SeenUser {
    remote: Snowflake,
    handle: String,
    profile: Profile,
}

/// First pass: what a value holds.
#[derive(Default)]
struct Collect {
    users: Vec<SeenUser>,
    ids: Vec<Snowflake>,
}

impl IdVisitor for Collect {
    fn id(&mut self, id: &mut Snowflake) {
        self.ids.push(*id);
    }
    fn user(&mut self, user: &mut dyn UserObject) {
        self.users.push(SeenUser {
            remote: *user.id_mut(),
            handle: user.handle().to_string(),
            profile: Profile {
                global_name: user.global_name().map(str::to_string),
                avatar: user.avatar().map(str::to_string),
                bot: user.bot(),
            },
        });
    }
    fn text(&mut self, text: &mut String) {
        self.ids.extend(mentions(text));
    }
}

/// Second pass: every id replaced by its image. Every id was resolved by the first pass; one
/// that was not is recorded and fails the translation rather than leaking.
struct Rewrite<'m> {
    map: &'m HashMap<u64, u64>,
    missing: Option<Snowflake>,
}

impl Rewrite<'_> {
    fn map(&mut self, id: &mut Snowflake) {
        match self.map.get(&id.0) {
            Some(local) => id.0 = *local,
            None => {
                self.missing.get_or_insert(*id);
            }
        }
    }
}

impl IdVisitor for Rewrite<'_> {
    fn id(&mut self, id: &mut Snowflake) {
        self.map(id);
    }
    fn user(&mut self, user: &mut dyn UserObject) {
        self.map(user.id_mut());
    }
    fn text(&mut self, text: &mut String) {
        let map = self.map;
        *text = map_mentions(text, |m| map.get(&m.0).map(|l| Snowflake(*l)));
    }
}

/// Translates payloads of one peer's id space into ours.
pub struct Translator<'a> {
    h: &'a Hearth,
    pub(super) server: &'a str,
    /// Peer id -> local id, for everything resolved so far.
    map: HashMap<u64, u64>,
    /// The profile of each peer user object already resolved, so that one translator reused
    /// over a delivery updates a profile only when it changes.
    profiles: HashMap<u64, Profile>,
}

impl<'a> Translator<'a> {
    pub fn new(h: &'a Hearth, server: &'a str) -> Self {
        Translator {
            h,
            server,
            map: HashMap::new(),
            profiles: HashMap::new(),
        }
    }

    /// A fresh local id for a peer's id that keeps its time: same millisecond and increment,
    /// worker 31 (never used by local generators) and 5 bits of the peer's name, so objects
    /// of one host keep their order here and clients derive the host's timestamps.
    pub(super) async fn mint(&self, remote: i64) -> Result<i64> {
        let r = remote as u64;
        let bucket = self
            .server
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            & 0x1f;
        let candidate = ((r >> 22) << 22) | (31 << 17) | (bucket << 12) | (r & 0xfff);
        if candidate as i64 > 0 && !self.h.db.local_id_taken(candidate as i64).await? {
            return Ok(candidate as i64);
        }
        Ok(self.h.next_id())
    }

    /// A translator for a replica's host, with the guild id already bound.
    pub async fn for_replica(h: &'a Hearth, rg: &'a RemoteGuildRow) -> Result<Translator<'a>> {
        let mut tr = Translator::new(h, &rg.host);
        tr.bind(rg.host_guild_id, rg.guild_id).await?;
        Ok(tr)
    }

    /// Pre-binds a remote id to a local one (the guild id of a join); returns the mapping in
    /// force (an existing one is kept).
    pub async fn bind(&mut self, remote: i64, local: i64) -> Result<i64> {
        let l = self.h.db.map_put(self.server, remote, local).await?;
        self.map.insert(remote as u64, l as u64);
        Ok(l)
    }

    /// Rewrites every id of `v` into local ids: users by handle (creating or updating their
    /// rows), other ids through `id_map` (minting local ids for new ones), mentions in text.
    pub async fn translate<T: Ids + ?Sized>(&mut self, v: &mut T) -> Result<()> {
        let mut seen = Collect::default();
        v.visit_ids(&mut seen);
        self.resolve(seen).await?;
        let mut rw = Rewrite {
            map: &self.map,
            missing: None,
        };
        v.visit_ids(&mut rw);
        match rw.missing {
            None => Ok(()),
            Some(id) => Err(Error::internal(format!("id {id} was not resolved"))),
        }
    }

    /// Parses a host's body into its type and translates it.
    ///
    /// Errors: 503 when `v` does not have the type's shape; storage errors.
    pub async fn parse<T: DeserializeOwned + Ids>(&mut self, what: &str, v: Value) -> Result<T> {
        let mut t: T = serde_json::from_value(v).map_err(|e| bad_shape(what, e))?;
        self.translate(&mut t).await?;
        Ok(t)
    }

    /// Types the payload `d` of dispatch `t` and translates it.
    ///
    /// Errors: the event never crosses federation, or `d` does not have its shape; storage
    /// errors.
    pub async fn dispatch(&mut self, t: Event, d: Value) -> Result<Payload> {
        let mut p = Payload::parse(t, d).map_err(payload_error)?;
        self.translate(&mut p).await?;
        Ok(p)
    }

    /// Resolves what the first pass found: users by handle first (their ids map to their
    /// rows), then the other ids.
    async fn resolve(&mut self, seen: Collect) -> Result<()> {
        for u in seen.users {
            let rid = u.remote.0;
            if self.map.contains_key(&rid) && self.profiles.get(&rid) == Some(&u.profile) {
                continue;
            }
            let local = self
                .ensure_user(u.remote.db(), &u.handle, &u.profile)
                .await?;
            self.map.insert(rid, local as u64);
            self.profiles.insert(rid, u.profile);
        }
        for id in seen.ids {
            if self.map.contains_key(&id.0) {
                continue;
            }
            let r = id.db();
            let local = match self.h.db.map_get(self.server, r).await? {
                Some(l) => l,
                None => {
                    let fresh = self.mint(r).await?;
                    self.h.db.map_put(self.server, r, fresh).await?
                }
            };
            self.map.insert(id.0, local as u64);
        }
        Ok(())
    }

    /// The local user row for a user object of the peer (created on first sight for a remote
    /// user, its profile updated), and the mapping of its peer id to that row. A handle that
    /// names no account here any more, in an object whose peer id is mapped to an account
    /// deleted since, is that account's old handle (the peer logged or served it before it
    /// applied the deletion notice): the object is that account, and nothing is created or
    /// updated (spec/federation.md §18.5).
    async fn ensure_user(&self, rid: i64, handle: &str, profile: &Profile) -> Result<i64> {
        let (name, server) = handle
            .rsplit_once('@')
            .ok_or_else(|| Error::internal("handle without @"))?;
        let local = if server.eq_ignore_ascii_case(&self.h.config.server_name) {
            match self.h.db.local_user(name).await? {
                Some(u) => u.id,
                None => match self.h.db.mapped_deleted_user(self.server, rid).await? {
                    Some(id) => id,
                    None => {
                        return Err(Error::internal(format!(
                            "peer names unknown local user {handle}"
                        )));
                    }
                },
            }
        } else {
            match self.h.db.remote_user(server, name).await? {
                Some(u) => {
                    // A replaced avatar's cached file goes to the collector.
                    let released = self
                        .h
                        .db
                        .update_remote_profile(
                            u.id,
                            profile.global_name.as_deref(),
                            profile.avatar.as_deref(),
                            u.avatar.as_deref(),
                        )
                        .await?;
                    self.h.files_released(released);
                    u.id
                }
                None => match self.h.db.mapped_deleted_user(self.server, rid).await? {
                    Some(id) => id,
                    None => {
                        let obj = json!({"global_name": profile.global_name, "avatar": profile.avatar, "bot": profile.bot});
                        self.h.insert_remote_user(name, server, &obj).await?.id
                    }
                },
            }
        };
        self.h.db.map_put(self.server, rid, local).await
    }
}

/// A dispatch payload that cannot be typed (refused whole).
pub(super) fn payload_error(e: PayloadError) -> Error {
    bad_shape("dispatch", e)
}
