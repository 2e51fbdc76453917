//! What a session start reads from storage (gateway READY and the user's GUILD_CREATEs), in a
//! fixed number of storage calls however many guilds, DMs, blocks and read states the user
//! has (issue 21): every kind of row is read for all of them at once
//! (`storage/ready.rs`), and channel visibility comes from the gateway's in-memory guild
//! snapshots ([`super::snapshot::GuildSnapshot`]) instead of a permission pass per guild.
//! The answers are those of `GET /users/@me/channels`, `GET /users/@me/relationships`,
//! [`Hearth::read_state`] and [`super::snapshot::guild_create`] ("Topics > Gateway Events >
//! Ready", "Guild Create").
//!
//! Storage calls: [`Hearth::ready_read_state`] 1; [`Hearth::ready_private`] 4;
//! [`Hearth::ready_guilds`] 9.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Hearth;
use super::snapshot::GuildParts;
use crate::error::Result;
use crate::snowflake::Snowflake;
use crate::storage::{MemberRow, UserRow};
use crate::wire;

impl Hearth {
    /// READY's `read_state` ([`Hearth::read_state`]'s answer) in one storage call: the
    /// entries of guild channels `visible(guild_id, channel_id)` says the user may view, and
    /// of DMs, grouped by guild (DMs first, then by guild id), by channel id within a guild.
    pub async fn ready_read_state(
        &self,
        user_id: i64,
        visible: &(dyn Fn(i64, i64) -> bool + Sync),
    ) -> Result<wire::ReadState> {
        let rows = self.db.read_states_with_mentions(user_id).await?;
        let version = rows.iter().map(|r| r.version).max().unwrap_or(0);
        let mut by_guild: BTreeMap<Option<i64>, Vec<_>> = BTreeMap::new();
        for r in rows {
            by_guild.entry(r.guild_id).or_default().push(r);
        }
        let entries = by_guild
            .into_iter()
            .flat_map(|(g, rows)| {
                rows.into_iter()
                    .filter(move |r| g.is_none_or(|g| visible(g, r.channel_id)))
            })
            .map(|r| wire::ReadStateEntry {
                id: Snowflake::from_db(r.channel_id),
                last_message_id: Snowflake::from_db(r.last_message_id),
                mention_count: r.mention_count,
                last_pin_timestamp: r.last_pin.map(wire::iso),
                flags: 0,
            })
            .collect();
        Ok(wire::ReadState {
            version,
            partial: false,
            entries,
        })
    }

    /// READY's `private_channels` and `relationships` (the answers of
    /// `GET /users/@me/channels` and `GET /users/@me/relationships`) in four storage calls:
    /// the DMs and group DMs with their recipients, their channels, the blocks, and every
    /// user they name.
    pub async fn ready_private(
        &self,
        user_id: i64,
    ) -> Result<(Vec<wire::Channel>, Vec<wire::Relationship>)> {
        let (dms, groups) = self.db.private_channels_of(user_id).await?;
        let rels = self.db.relationships_of(user_id).await?;
        let mut channel_ids: Vec<i64> = dms.iter().map(|d| d.0).collect();
        channel_ids.extend(groups.iter().map(|g| g.channel_id));
        let channels: HashMap<i64, _> = self
            .db
            .channels_by_ids(&channel_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let other = |a: i64, b: i64| if a == user_id { b } else { a };
        let mut ids: Vec<i64> = dms.iter().map(|&(_, a, b)| other(a, b)).collect();
        ids.extend(groups.iter().flat_map(|g| g.recipients.iter().copied()));
        ids.extend(rels.iter().map(|r| r.0));
        ids.sort_unstable();
        ids.dedup();
        let users: HashMap<i64, UserRow> = self.db.users_by_id(&ids).await?;
        let mut private: Vec<wire::Channel> = dms
            .iter()
            .filter_map(|&(cid, a, b)| {
                let (c, u) = (channels.get(&cid)?, users.get(&other(a, b))?);
                Some(Self::channel_wire(
                    c,
                    &[],
                    Some(vec![self.user_wire(u, false)]),
                ))
            })
            .collect();
        private.extend(groups.iter().filter_map(|g| {
            let c = channels.get(&g.channel_id)?;
            Some(self.group_wire(c, g, &users, user_id))
        }));
        let relationships = rels
            .iter()
            .filter_map(|&(t, k)| {
                Some(wire::Relationship {
                    id: Snowflake::from_db(t),
                    kind: k,
                    user: self.user_wire(users.get(&t)?, false),
                    nickname: None,
                })
            })
            .collect();
        Ok((private, relationships))
    }

    /// The GUILD_CREATE parts ([`GuildParts`]) of every guild in `guild_ids` that `user_id` is
    /// still a member of, in one storage call per kind of row: guilds, the user's member
    /// rows, roles, member counts, the members of guilds of at most `large_threshold`
    /// members, their roles, their users, channels' `last_message_id`, emojis (two), voice
    /// states, scheduled events, stage instances.
    pub async fn ready_guilds(
        &self,
        user_id: i64,
        guild_ids: &[i64],
        large_threshold: u64,
    ) -> Result<HashMap<i64, GuildParts>> {
        let wanted: HashSet<i64> = guild_ids.iter().copied().collect();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let guilds = self.db.guilds_of_member(user_id).await?;
        let mut me: HashMap<i64, MemberRow> = self
            .db
            .member_rows_of(user_id)
            .await?
            .into_iter()
            .map(|m| (m.guild_id, m))
            .collect();
        let mut roles: HashMap<i64, Vec<_>> = HashMap::new();
        for r in self.db.roles_of_guilds_of(user_id).await? {
            roles.entry(r.guild_id).or_default().push(r);
        }
        let counts: HashMap<i64, i64> = self
            .db
            .member_counts_of_guilds_of(user_id)
            .await?
            .into_iter()
            .collect();
        let small: Vec<i64> = counts
            .iter()
            .filter(|&(g, &n)| wanted.contains(g) && n as u64 <= large_threshold)
            .map(|(g, _)| *g)
            .collect();
        let mut listed: HashMap<i64, Vec<MemberRow>> = HashMap::new();
        for m in self.db.members_of_guilds(&small).await? {
            let l = listed.entry(m.guild_id).or_default();
            // A join since the count may overflow the threshold: the first ones, as
            // `members_page` would.
            if (l.len() as u64) < large_threshold {
                l.push(m);
            }
        }
        let mut member_roles: HashMap<(i64, i64), Vec<i64>> = HashMap::new();
        for (g, u, r) in self.db.member_roles_for_ready(&small, user_id).await? {
            member_roles.entry((g, u)).or_default().push(r);
        }
        let mut ids: Vec<i64> = listed.values().flatten().map(|m| m.user_id).collect();
        ids.push(user_id);
        ids.sort_unstable();
        ids.dedup();
        let users: HashMap<i64, UserRow> = self.db.users_by_id(&ids).await?;
        let mut last: HashMap<i64, HashMap<i64, Option<i64>>> = HashMap::new();
        for (g, c, l) in self.db.last_message_ids_of_guilds_of(user_id).await? {
            last.entry(g).or_default().insert(c, l);
        }
        let mut emojis = self.db.emojis_of_guilds_of(user_id).await?;
        let mut voice: HashMap<i64, Vec<wire::VoiceState>> = HashMap::new();
        for r in self.db.voice_states_of_guilds_of(user_id).await? {
            voice
                .entry(r.guild_id)
                .or_default()
                .push(Self::voice_state_wire(&r, None, false));
        }
        let mut scheduled = self.ready_scheduled_events(user_id).await?;
        let mut stages = self.ready_stage_instances(user_id).await?;
        let mut out = HashMap::new();
        for g in guilds {
            if !wanted.contains(&g.id) {
                continue;
            }
            let Some(mine) = me.remove(&g.id) else {
                continue;
            };
            let member_count = counts.get(&g.id).copied().unwrap_or(0);
            let large = member_count as u64 > large_threshold;
            let rows = match listed.remove(&g.id) {
                Some(rows) if !large => rows,
                _ => vec![mine.clone()],
            };
            let members = rows
                .iter()
                .map(|m| {
                    let r = member_roles.remove(&(g.id, m.user_id)).unwrap_or_default();
                    self.member_wire(m, users.get(&m.user_id), r, false)
                })
                .collect();
            let emojis = emojis
                .remove(&g.id)
                .unwrap_or_default()
                .iter()
                .map(|e| Self::emoji_wire(e, None))
                .collect();
            out.insert(
                g.id,
                GuildParts {
                    me: mine,
                    roles: roles.remove(&g.id).unwrap_or_default(),
                    member_count,
                    large,
                    members,
                    member_ids: rows.iter().map(|m| m.user_id).collect(),
                    last: last.remove(&g.id).unwrap_or_default(),
                    emojis,
                    voice_states: voice.remove(&g.id).unwrap_or_default(),
                    scheduled_events: scheduled.remove(&g.id).unwrap_or_default(),
                    stage_instances: stages.remove(&g.id).unwrap_or_default(),
                    guild: g,
                },
            );
        }
        Ok(out)
    }
}
