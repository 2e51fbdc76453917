//! Access snapshots: a guild's permission structure held in memory ([`GuildSnapshot`]: owner,
//! role permissions, each member's roles, each channel's overwrites) so that routing a
//! dispatch to thousands of sessions, or deciding which member servers may see an event,
//! costs no query; and the GUILD_CREATE payload built from it ([`guild_create`]).
//! The gateway and federation keep snapshots of the guilds they serve and reload them when
//! the structure changes (Discord "Topics > Permissions" for the computation).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::RwLock;
use serde_json::{Value, json};

use super::{Hearth, overwrite_of};
use crate::error::Result;
use crate::permissions::{self as perm, MemberContext, Overwrite};
use crate::snowflake::Snowflake;
use crate::storage::ChannelRow;
use crate::wire::{self, OverwriteType};

/// What routing needs to know about one guild: owner, role permissions, each member's roles,
/// and each channel's overwrites. Reloaded when roles, overwrites or channels change; a
/// member joining or leaving only updates that member's entry
/// ([`GuildSnapshot::set_member_roles`], [`GuildSnapshot::remove_member`]), O(1) instead of a reload
/// of every member.
#[derive(Debug, Default)]
pub struct GuildSnapshot {
    pub guild_id: i64,
    owner_id: i64,
    everyone: u64,
    roles: HashMap<i64, u64>,
    /// Role ids of each member that has at least one role besides @everyone.
    member_roles: RwLock<HashMap<i64, Vec<i64>>>,
    overwrites: HashMap<i64, Vec<Overwrite>>,
    pub channels: Vec<ChannelRow>,
    /// Members, as loaded and then moved by joins and leaves
    /// ([`GuildSnapshot::member_joined`], [`GuildSnapshot::remove_member`]); approximate
    /// between reloads (the gateway's passive-guild threshold only).
    member_count: AtomicI64,
    /// Every thread of the guild by id (migration 0029): a thread is seen by those who see
    /// its parent, and a private one only by its members and MANAGE_THREADS holders.
    pub threads: HashMap<i64, SnapThread>,
}

/// A thread as routing needs it ([`GuildSnapshot::threads`]).
#[derive(Debug, Clone)]
pub struct SnapThread {
    pub thread: crate::storage::ThreadRow,
    /// The channel row of an active thread (for GUILD_CREATE's `threads`); `None` when archived.
    pub channel: Option<ChannelRow>,
    /// Members of a private thread (empty for public ones).
    pub members: HashSet<i64>,
}

impl GuildSnapshot {
    /// Loads the cache of a guild; `None` if the guild no longer exists.
    pub async fn load(h: &Hearth, guild_id: i64) -> Result<Option<GuildSnapshot>> {
        // Roles, channels, overwrites and member roles from one snapshot.
        let Some(st) = h.db.guild_structure(guild_id).await? else {
            return Ok(None);
        };
        let (g, roles, channels) = (st.guild, st.roles, st.channels);
        let member_count = st.member_count;
        let mut thread_channels: HashMap<i64, ChannelRow> =
            st.thread_channels.into_iter().map(|c| (c.id, c)).collect();
        let mut threads: HashMap<i64, SnapThread> = st
            .threads
            .into_iter()
            .map(|t| {
                let channel = thread_channels.remove(&t.channel_id);
                (
                    t.channel_id,
                    SnapThread {
                        thread: t,
                        channel,
                        members: HashSet::new(),
                    },
                )
            })
            .collect();
        for (t, u) in st.private_thread_members {
            if let Some(th) = threads.get_mut(&t) {
                th.members.insert(u);
            }
        }
        let mut overwrites: HashMap<i64, Vec<Overwrite>> = HashMap::new();
        for o in st.overwrites {
            overwrites
                .entry(o.channel_id)
                .or_default()
                .push(overwrite_of(&o));
        }
        let mut member_roles: HashMap<i64, Vec<i64>> = HashMap::new();
        for (u, r) in st.member_roles {
            member_roles.entry(u).or_default().push(r);
        }
        Ok(Some(GuildSnapshot {
            guild_id,
            owner_id: g.owner_id,
            everyone: roles
                .iter()
                .find(|r| r.id == guild_id)
                .map(|r| r.permissions as u64)
                .unwrap_or(0),
            roles: roles.iter().map(|r| (r.id, r.permissions as u64)).collect(),
            member_roles: RwLock::new(member_roles),
            overwrites,
            channels,
            member_count: AtomicI64::new(member_count),
            threads,
        }))
    }

    /// Records a member's role ids (`roles` without @everyone; empty: no roles), e.g. after
    /// the member joined.
    pub fn set_member_roles(&self, user: i64, roles: Vec<i64>) {
        let mut m = self.member_roles.write();
        if roles.is_empty() {
            m.remove(&user);
        } else {
            m.insert(user, roles);
        }
    }

    /// Forgets a member that left the guild.
    pub fn remove_member(&self, user: i64) {
        self.member_roles.write().remove(&user);
        self.member_count.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts a member that joined (its roles are set by [`GuildSnapshot::set_member_roles`]).
    pub fn member_joined(&self) {
        self.member_count.fetch_add(1, Ordering::Relaxed);
    }

    /// The number of members (loaded with the snapshot, moved by joins and leaves since).
    pub fn member_count(&self) -> i64 {
        self.member_count.load(Ordering::Relaxed)
    }

    /// Whether `user` has any of `roles` (role mentions of a message).
    pub fn has_any_role(&self, user: i64, roles: &[i64]) -> bool {
        !roles.is_empty()
            && self
                .member_roles
                .read()
                .get(&user)
                .is_some_and(|rs| rs.iter().any(|r| roles.contains(r)))
    }

    /// Whether `user`'s permissions in a channel with `overwrites` are those of @everyone
    /// alone (not the owner, no roles, no member overwrite): all such members see the same,
    /// so routing computes it once per dispatch.
    pub fn is_plain(&self, user: i64, overwrites: &[Overwrite]) -> bool {
        user != self.owner_id
            && !self.member_roles.read().contains_key(&user)
            && !overwrites
                .iter()
                .any(|o| o.kind == OverwriteType::Member && o.id.db() == user)
    }

    fn ctx_roles(&self, user: i64) -> Vec<(Snowflake, u64)> {
        self.member_roles
            .read()
            .get(&user)
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| self.roles.get(r).map(|p| (Snowflake::from_db(*r), *p)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A member's permissions in a channel with the given overwrites.
    pub fn perms_with(&self, user: i64, overwrites: &[Overwrite]) -> u64 {
        let roles = self.ctx_roles(user);
        let ctx = MemberContext {
            guild_id: Snowflake::from_db(self.guild_id),
            owner_id: Snowflake::from_db(self.owner_id),
            user_id: Snowflake::from_db(user),
            everyone: self.everyone,
            roles: &roles,
            // Asked for visibility only, which a timeout never takes away.
            timed_out: false,
        };
        perm::channel_permissions(&ctx, overwrites)
    }

    /// Whether `user` may view `channel`; `fallback` overwrites are used when the channel is
    /// no longer known (a CHANNEL_DELETE carries its overwrites). A thread is viewed through
    /// its parent; a private thread needs membership or MANAGE_THREADS there as well.
    pub fn can_view(&self, user: i64, channel: i64, fallback: Option<&[Overwrite]>) -> bool {
        let p = self.perms_with(user, self.overwrites_of(channel, fallback));
        if p & perm::VIEW_CHANNEL == 0 {
            return false;
        }
        match self.threads.get(&channel) {
            Some(t) if t.thread.kind == 12 => {
                t.members.contains(&user) || p & perm::MANAGE_THREADS != 0
            }
            _ => true,
        }
    }

    /// Whether `channel` is a private thread (its visibility differs between members with the
    /// same permissions).
    pub fn is_private_thread(&self, channel: i64) -> bool {
        self.threads
            .get(&channel)
            .is_some_and(|t| t.thread.kind == 12)
    }

    /// The overwrites of `channel` (a thread: its parent's); `fallback` when the channel is
    /// no longer known.
    pub fn overwrites_of<'a>(
        &'a self,
        channel: i64,
        fallback: Option<&'a [Overwrite]>,
    ) -> &'a [Overwrite] {
        let channel = self
            .threads
            .get(&channel)
            .map(|t| t.thread.parent_id)
            .unwrap_or(channel);
        let known = self.channels.iter().any(|c| c.id == channel);
        match (self.overwrites.get(&channel), known, fallback) {
            (Some(o), _, _) => o,
            (None, true, _) => &[],
            (None, false, Some(f)) => f,
            (None, false, None) => &[],
        }
    }

    /// Ids of the channels `user` can view.
    pub fn visible_channels(&self, user: i64) -> HashSet<i64> {
        self.channels
            .iter()
            .filter(|c| self.can_view(user, c.id, None))
            .map(|c| c.id)
            .collect()
    }

    /// The channel object (with overwrites) as clients see it.
    pub fn channel_payload(&self, channel: i64) -> Option<Value> {
        let c = self.channels.iter().find(|c| c.id == channel)?;
        let rows: Vec<crate::storage::OverwriteRow> = self
            .overwrites
            .get(&channel)
            .map(|v| {
                v.iter()
                    .map(|o| crate::storage::OverwriteRow {
                        channel_id: channel,
                        target_id: o.id.db(),
                        kind: o.kind.db(),
                        allow_bits: o.allow as i64,
                        deny_bits: o.deny as i64,
                    })
                    .collect()
            })
            .unwrap_or_default();
        serde_json::to_value(Hearth::channel_wire(c, &rows, None)).ok()
    }
}

/// Parses `permission_overwrites` of a channel payload (for a deleted channel).
pub fn overwrites_of_payload(v: &Value) -> Option<Vec<Overwrite>> {
    let arr = v.get("permission_overwrites")?.as_array()?;
    Some(
        arr.iter()
            .filter_map(|o| {
                Some(Overwrite {
                    id: Snowflake(o.get("id")?.as_str()?.parse().ok()?),
                    kind: OverwriteType::from(u8::try_from(o.get("type")?.as_u64()?).ok()?),
                    allow: o.get("allow")?.as_str()?.parse().ok()?,
                    deny: o.get("deny")?.as_str()?.parse().ok()?,
                })
            })
            .collect(),
    )
}

/// What a GUILD_CREATE carries besides the snapshot's channels: read per guild by
/// [`guild_create`], or for all of a user's guilds at once by [`Hearth::ready_guilds`].
#[derive(Debug, Clone)]
pub struct GuildParts {
    pub guild: crate::storage::GuildRow,
    /// The user's own member row (`joined_at`).
    pub me: crate::storage::MemberRow,
    /// Ordered by position then id.
    pub roles: Vec<crate::storage::RoleRow>,
    pub member_count: i64,
    /// `member_count > large_threshold`.
    pub large: bool,
    /// The listed members (all up to `large_threshold`, otherwise only the user), by user id,
    /// and their ids (presences).
    pub members: Vec<wire::Member>,
    pub member_ids: Vec<i64>,
    /// `last_message_id` of each channel, read fresh (the snapshot's rows are not reloaded
    /// by messages).
    pub last: HashMap<i64, Option<i64>>,
    pub emojis: Vec<wire::GuildEmoji>,
    /// The guild's voice states (without `guild_id` and `member`); the gateway empties the
    /// list for sessions without GUILD_VOICE_STATES.
    pub voice_states: Vec<wire::VoiceState>,
    /// The guild's scheduled events (without `creator` and `user_count`); the payload keeps
    /// those whose channel the user can see (EXTERNAL events always).
    pub scheduled_events: Vec<wire::GuildScheduledEvent>,
    /// The guild's stage instances; the payload keeps those whose channel the user can see.
    pub stage_instances: Vec<wire::StageInstance>,
}

/// The GUILD_CREATE payload for `user`: the guild with its roles, the channels the user can
/// view (with overwrites), members (all of them up to `large_threshold`, otherwise only the
/// user), `member_count`, `large`, `joined_at`, presences of listed members, voice states,
/// scheduled events and stage instances. A fixed number of storage calls per guild; a
/// session start builds all of its GUILD_CREATEs with [`Hearth::ready_guilds`] and
/// [`guild_create_payload`] instead.
pub async fn guild_create(
    h: &Hearth,
    cache: &GuildSnapshot,
    user: i64,
    large_threshold: u64,
    presences: &(dyn Fn(i64) -> Option<Value> + Sync),
) -> Result<Option<Value>> {
    let Some(g) = h.db.guild(cache.guild_id).await? else {
        return Ok(None);
    };
    let Some(me) = h.db.member(cache.guild_id, user).await? else {
        return Ok(None);
    };
    let roles = h.db.roles(cache.guild_id).await?;
    let member_count = h.db.member_count(cache.guild_id).await?;
    let large = member_count as u64 > large_threshold;
    let member_rows = if large {
        vec![me.clone()]
    } else {
        h.db.members_page(cache.guild_id, 0, large_threshold as i64)
            .await?
    };
    let members = h.members_wire(cache.guild_id, &member_rows, false).await?;
    let last: HashMap<i64, Option<i64>> =
        h.db.last_message_ids(cache.guild_id)
            .await?
            .into_iter()
            .collect();
    let emojis = h.guild_emojis_wire(g.id).await?;
    let voice_states =
        h.db.voice_states_of_guild(g.id)
            .await?
            .iter()
            .map(|r| Hearth::voice_state_wire(r, None, false))
            .collect();
    let scheduled_events = h.guild_create_scheduled_events(g.id).await?;
    let stage_instances = h.guild_create_stage_instances(g.id).await?;
    let member_ids: Vec<i64> = member_rows.iter().map(|m| m.user_id).collect();
    h.load_presences(&member_ids).await;
    let parts = GuildParts {
        guild: g,
        me,
        roles,
        member_count,
        large,
        members,
        member_ids,
        last,
        emojis,
        voice_states,
        scheduled_events,
        stage_instances,
    };
    guild_create_payload(h, cache, user, parts, presences).map(Some)
}

/// The GUILD_CREATE payload of [`guild_create`] from parts already read: no storage call.
pub fn guild_create_payload(
    h: &Hearth,
    cache: &GuildSnapshot,
    user: i64,
    parts: GuildParts,
    presences: &(dyn Fn(i64) -> Option<Value> + Sync),
) -> Result<Value> {
    let GuildParts {
        guild: g,
        me,
        roles,
        member_count,
        large,
        members,
        member_ids,
        last,
        emojis,
        voice_states,
        scheduled_events,
        stage_instances,
    } = parts;
    let visible = cache.visible_channels(user);
    let channels: Vec<Value> = cache
        .channels
        .iter()
        .filter(|c| visible.contains(&c.id))
        .filter_map(|c| {
            let mut v = cache.channel_payload(c.id)?;
            if let (Some(o), Some(l)) = (v.as_object_mut(), last.get(&c.id)) {
                o.insert(
                    "last_message_id".into(),
                    json!(l.map(crate::snowflake::Snowflake::from_db)),
                );
            }
            Some(v)
        })
        .collect();
    let presence_list: Vec<Value> = member_ids.iter().filter_map(|u| presences(*u)).collect();
    let mut w = h.guild_wire(&g, &roles, None);
    w.emojis = emojis;
    let mut v = serde_json::to_value(w).map_err(crate::error::Error::internal)?;
    let o = v.as_object_mut().expect("guild is an object");
    o.insert("joined_at".into(), json!(wire::iso(me.joined_at)));
    o.insert("large".into(), json!(large));
    o.insert("unavailable".into(), json!(false));
    o.insert("member_count".into(), json!(member_count));
    o.insert(
        "members".into(),
        serde_json::to_value(members).map_err(crate::error::Error::internal)?,
    );
    o.insert("channels".into(), json!(channels));
    o.insert(
        "threads".into(),
        json!(active_threads_payload(cache, user, &last)),
    );
    o.insert("presences".into(), json!(presence_list));
    o.insert(
        "voice_states".into(),
        serde_json::to_value(voice_states).map_err(crate::error::Error::internal)?,
    );
    let stage_instances: Vec<&wire::StageInstance> = stage_instances
        .iter()
        .filter(|i| visible.contains(&i.channel_id.db()))
        .collect();
    o.insert(
        "stage_instances".into(),
        serde_json::to_value(stage_instances).map_err(crate::error::Error::internal)?,
    );
    let scheduled_events: Vec<&wire::GuildScheduledEvent> = scheduled_events
        .iter()
        .filter(|e| e.channel_id.is_none_or(|c| visible.contains(&c.db())))
        .collect();
    o.insert(
        "guild_scheduled_events".into(),
        serde_json::to_value(scheduled_events).map_err(crate::error::Error::internal)?,
    );
    o.insert("soundboard_sounds".into(), json!([]));
    o.insert("embedded_activities".into(), json!([]));
    Ok(v)
}

/// The active threads `user` can view, as GUILD_CREATE's `threads` carries them (thread
/// channel objects; `message_count` and `member_count` are not included there).
pub fn active_threads_payload(
    cache: &GuildSnapshot,
    user: i64,
    last: &HashMap<i64, Option<i64>>,
) -> Vec<Value> {
    let mut out: Vec<(i64, Value)> = cache
        .threads
        .values()
        .filter_map(|t| {
            let c = t.channel.as_ref()?;
            if !cache.can_view(user, c.id, None) {
                return None;
            }
            let mut w = Hearth::thread_wire(c, &t.thread, None, None);
            if let Some(l) = last.get(&c.id) {
                w.last_message_id = l.map(Snowflake::from_db);
            }
            Some((c.id, serde_json::to_value(w).ok()?))
        })
        .collect();
    out.sort_by_key(|(id, _)| *id);
    out.into_iter().map(|(_, v)| v).collect()
}

/// THREAD_LIST_SYNC (Discord "Gateway Events > Thread List Sync") for `user`, who has just
/// gained access to the guild channels `channels`: `{guild_id, channel_ids, threads,
/// members}` with the active threads of those channels the user can view and the user's
/// thread member objects among them. `None` when those channels have no such thread.
pub async fn thread_list_sync(
    h: &Hearth,
    cache: &GuildSnapshot,
    user: i64,
    channels: &HashSet<i64>,
) -> Result<Option<Value>> {
    let mut threads: Vec<(i64, Value)> = cache
        .threads
        .values()
        .filter_map(|t| {
            let c = t.channel.as_ref()?;
            if !channels.contains(&t.thread.parent_id) || !cache.can_view(user, c.id, None) {
                return None;
            }
            let w = Hearth::thread_wire(c, &t.thread, None, None);
            Some((c.id, serde_json::to_value(w).ok()?))
        })
        .collect();
    if threads.is_empty() {
        return Ok(None);
    }
    threads.sort_by_key(|(id, _)| *id);
    let ids: Vec<i64> = threads.iter().map(|(id, _)| *id).collect();
    let members: Vec<wire::ThreadMember> =
        h.db.thread_memberships(user, &ids)
            .await?
            .iter()
            .map(|m| Hearth::thread_member_wire(m, None))
            .collect();
    let mut channel_ids: Vec<i64> = channels.iter().copied().collect();
    channel_ids.sort_unstable();
    Ok(Some(json!({
        "guild_id": Snowflake::from_db(cache.guild_id),
        "channel_ids": channel_ids.into_iter().map(Snowflake::from_db).collect::<Vec<_>>(),
        "threads": threads.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "members": members,
    })))
}
