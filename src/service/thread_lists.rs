//! Thread lists and the archiver (Discord "Resources > Guild > List Active Guild Threads",
//! "Resources > Channel > List Public/Private/Joined Private Archived Threads", "Topics >
//! Threads > Archiving"). Lists show only threads the caller can see (their parent viewable;
//! private ones to members and MANAGE_THREADS holders).

use std::collections::HashMap;
use std::sync::Arc;

use super::{Actor, GuildAccess, Hearth, to_value};
use crate::error::{Error, Result, Rule, Unknown};
use crate::events::{Audience, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Lock, ThreadRow, now_ms};
use crate::wire::{self, ChannelType};

/// Which archived list (`GET /channels/{id}/threads/archived/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchivedList {
    /// Public and announcement threads (READ_MESSAGE_HISTORY).
    Public,
    /// Private threads (READ_MESSAGE_HISTORY and MANAGE_THREADS).
    Private,
    /// Private threads the caller joined (READ_MESSAGE_HISTORY).
    JoinedPrivate,
}

/// Message flag HAS_THREAD: the message started a thread (with its id).
pub const HAS_THREAD: u64 = 1 << 5;

/// How often the archiver looks for idle threads.
const ARCHIVER_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// `before` of the archived lists: an ISO 8601 timestamp, or a snowflake (its time), in ms.
fn before_ms(before: Option<&str>) -> Result<i64> {
    let Some(b) = before else {
        return Ok(i64::MAX);
    };
    if let Ok(id) = b.parse::<u64>() {
        return Ok(Snowflake(id).timestamp_ms() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(b)
        .map(|d| d.timestamp_millis())
        .map_err(|_| {
            crate::error::field_error(
                "before",
                "DATE_TIME_TYPE_PARSE",
                "Could not parse the timestamp.",
            )
        })
}

impl Hearth {
    /// The threads (active and archived) under `parents` (channel id and the caller's
    /// permissions there, already readable) that `user` may read: public and announcement
    /// threads, private ones the user joined or all with MANAGE_THREADS. One statement
    /// returning ids only ([`crate::storage::Db::readable_thread_ids`]), not the guild's
    /// every thread row.
    pub(super) async fn readable_threads(
        &self,
        parents: &[(i64, u64)],
        user: i64,
    ) -> Result<Vec<i64>> {
        let ids: Vec<i64> = parents.iter().map(|(c, _)| *c).collect();
        let manage: Vec<i64> = parents
            .iter()
            .filter(|(_, p)| perm::has(*p, perm::MANAGE_THREADS))
            .map(|(c, _)| *c)
            .collect();
        self.db.readable_thread_ids(&ids, &manage, user).await
    }

    /// Adds `thread` (the thread each message started, as `viewer` sees it: counts and their
    /// membership) and the HAS_THREAD flag to rendered messages of a parent channel (Discord
    /// "Resources > Message": `thread`). A forum post's starter, which lives in its thread,
    /// gets neither. One read when no message of `rows` started a thread.
    pub(super) async fn add_started_threads(
        &self,
        rows: &[crate::storage::MessageRow],
        out: &mut [wire::Message],
        viewer: i64,
    ) -> Result<()> {
        let ids: Vec<i64> = rows
            .iter()
            .filter(|m| m.guild_id.is_some() && m.channel_id != m.id)
            .map(|m| m.id)
            .collect();
        let threads = self.db.threads_by_ids(&ids).await?;
        if threads.is_empty() {
            return Ok(());
        }
        let tids: Vec<i64> = threads.iter().map(|t| t.channel_id).collect();
        let channels: HashMap<i64, crate::storage::ChannelRow> = self
            .db
            .channels_by_id(&tids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let counts = self.db.thread_counts(&tids).await?;
        let mine: HashMap<i64, crate::storage::ThreadMemberRow> = self
            .db
            .thread_memberships(viewer, &tids)
            .await?
            .into_iter()
            .map(|m| (m.thread_id, m))
            .collect();
        for t in &threads {
            let Some(c) = channels.get(&t.channel_id) else {
                continue;
            };
            for w in out.iter_mut().filter(|w| w.id.db() == t.channel_id) {
                w.flags |= HAS_THREAD;
                w.thread = Some(Box::new(Self::thread_wire(
                    c,
                    t,
                    counts.get(&c.id).copied(),
                    mine.get(&c.id),
                )));
            }
        }
        Ok(())
    }

    /// Renders `threads` for `user` with counts and their own memberships.
    pub(super) async fn thread_list(
        &self,
        user: i64,
        threads: &[ThreadRow],
        has_more: Option<bool>,
    ) -> Result<wire::ThreadList> {
        let ids: Vec<i64> = threads.iter().map(|t| t.channel_id).collect();
        let channels: HashMap<i64, _> = self
            .db
            .channels_by_id(&ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let counts = self.db.thread_counts(&ids).await?;
        let mine: HashMap<i64, _> = self
            .db
            .thread_memberships(user, &ids)
            .await?
            .into_iter()
            .map(|m| (m.thread_id, m))
            .collect();
        let mut out = wire::ThreadList {
            threads: vec![],
            members: vec![],
            has_more,
        };
        for t in threads {
            let Some(c) = channels.get(&t.channel_id) else {
                continue;
            };
            out.threads.push(Self::thread_wire(
                c,
                t,
                counts.get(&t.channel_id).copied(),
                None,
            ));
            if let Some(m) = mine.get(&t.channel_id) {
                out.members.push(Self::thread_member_wire(m, None));
            }
        }
        Ok(out)
    }

    /// `GET /guilds/{id}/threads/active`: the guild's active threads the caller can see, and
    /// their thread member objects among them. 403 50001 for a non-member.
    pub async fn active_guild_threads(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<wire::ThreadList> {
        // The caller's roles, the channels and their overwrites from one snapshot.
        let (view, _, ows) = self
            .db
            .guild_channels_view(guild_id.db(), actor.user.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Guild))?;
        let ga = GuildAccess::of_view(view, actor.user.id, false)?;
        let threads = self.db.active_threads(guild_id.db()).await?;
        let ids: Vec<i64> = threads.iter().map(|t| t.channel_id).collect();
        let mine: Vec<i64> = self
            .db
            .thread_memberships(actor.user.id, &ids)
            .await?
            .into_iter()
            .map(|m| m.thread_id)
            .collect();
        let mut perms: HashMap<i64, u64> = HashMap::new();
        let visible: Vec<ThreadRow> = threads
            .into_iter()
            .filter(|t| {
                let p = *perms.entry(t.parent_id).or_insert_with(|| {
                    let own: Vec<_> = ows
                        .iter()
                        .filter(|o| o.channel_id == t.parent_id)
                        .cloned()
                        .collect();
                    ga.in_channel(&own)
                });
                p & perm::VIEW_CHANNEL != 0
                    && (t.kind != 12
                        || p & perm::MANAGE_THREADS != 0
                        || mine.contains(&t.channel_id))
            })
            .collect();
        self.thread_list(actor.user.id, &visible, None).await
    }

    /// `GET /channels/{id}/threads/archived/public`, `/archived/private` and
    /// `GET /channels/{id}/users/@me/threads/archived/private`: archived threads of a text,
    /// announcement, forum or media channel (a forum's archived posts are its public list;
    /// its private lists are empty), newest archive first, archived before `before` (ISO
    /// 8601 or a snowflake), at most `limit` (1 to 100, default 50), with `has_more`. Needs
    /// READ_MESSAGE_HISTORY (and MANAGE_THREADS for all private threads); 400 50024 for other
    /// channel types.
    pub async fn archived_threads(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        list: ArchivedList,
        before: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::ThreadList> {
        let ca = self.channel_access(actor, channel_id).await?;
        if !matches!(
            ChannelType::from_db(ca.channel.kind),
            ChannelType::GuildText
                | ChannelType::GuildAnnouncement
                | ChannelType::GuildForum
                | ChannelType::GuildMedia
        ) {
            return Err(Error::Rule(Rule::ChannelType));
        }
        ca.require(perm::READ_MESSAGE_HISTORY)?;
        if list == ArchivedList::Private {
            ca.require(perm::MANAGE_THREADS)?;
        }
        let before = before_ms(before)?;
        let limit = limit.unwrap_or(50).clamp(1, 100);
        let (kinds, joined): (&[i64], _) = match list {
            ArchivedList::Public => (&[10, 11], None),
            ArchivedList::Private => (&[12], None),
            ArchivedList::JoinedPrivate => (&[12], Some(actor.user.id)),
        };
        let mut rows = self
            .db
            .archived_threads(ca.channel.id, kinds, before, limit + 1, joined)
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        self.thread_list(actor.user.id, &rows, Some(more)).await
    }

    /// Archives every active thread idle longer than its `auto_archive_duration` at time
    /// `now` (ms): idle since its last message, or since it was created or unarchived when
    /// later. Each is one change with THREAD_UPDATE to those who see it. Returns how many
    /// were archived. The background task calls it every minute with the clock; tests call it
    /// with a time of their choosing.
    pub async fn archive_idle_threads(&self, now: i64) -> Result<usize> {
        let mut n = 0;
        for (t, last) in self.db.unarchived_threads().await? {
            let last_msg = last
                .map(|id| Snowflake::from_db(id).timestamp_ms() as i64)
                .unwrap_or(0);
            let active = last_msg.max(t.archive_timestamp);
            if now - active < t.auto_archive_duration * 60_000 {
                continue;
            }
            let mut ch = self.db.change(Lock::Guild(t.guild_id)).await?;
            // Conditional on what was listed: a message or an unarchive since then wins.
            if !ch
                .archive_idle_thread(t.channel_id, now, t.archive_timestamp, last)
                .await?
            {
                continue;
            }
            ch.commit().await?;
            n += 1;
            let (Some(c), Some(t)) = (
                self.db.channel(t.channel_id).await?,
                self.db.thread(t.channel_id).await?,
            ) else {
                continue;
            };
            let counts = self.db.thread_counts(&[c.id]).await?.get(&c.id).copied();
            let w = Self::thread_wire(&c, &t, counts, None);
            self.publish(Self::event_of(
                Event::ThreadUpdate,
                Audience::Guild {
                    guild_id: Snowflake::from_db(t.guild_id),
                    channel: Some(Snowflake::from_db(t.channel_id)),
                },
                intents::GUILDS,
                to_value(&w),
            ));
        }
        Ok(n)
    }

    /// The archiver: [`Hearth::archive_idle_threads`] every minute until aborted (started by
    /// the composition root; counted as job `thread_archiver`).
    pub async fn run_thread_archiver(self: Arc<Self>) {
        let mut tick = tokio::time::interval(ARCHIVER_PERIOD);
        loop {
            tick.tick().await;
            let r = self.archive_idle_threads(now_ms()).await;
            if let Err(e) = &r {
                tracing::warn!(error = %e, "thread archiver pass failed");
            }
            self.jobs.record("thread_archiver", r.is_ok());
        }
    }
}
