//! Message removal on request (issue 17; spec/account.md §6): when a user deletes her account
//! with `delete_messages: true` (or her home server announces such a deletion,
//! spec/federation.md §18), every message she wrote that this server stores is deleted by a
//! background job, batch by batch.
//!
//! - The job is a row of `message_purges`, written with the deletion itself; it is removed
//!   once no message of hers is left, so a restart resumes it ([`Hearth::run_message_purges`]
//!   looks at the stored jobs at start-up, when woken, and every [`PURGE_POLL`]).
//! - A batch ([`Hearth::purge_batch`]) takes her oldest [`PURGE_BATCH`] messages and, in ONE
//!   transaction, deletes them (reactions and attachment rows go with them), marks the
//!   attachments' ledger rows released (the file collector deletes the bytes after its grace
//!   period; cached copies of remote attachments are in the same ledger, spec/federation.md
//!   §17.3), counts the progress, and writes the federation log entries of guilds hosted
//!   here that have member servers (the outbox, as for moderators' deletes). After the commit
//!   it dispatches MESSAGE_DELETE (one message of a channel, and every DM message) or
//!   MESSAGE_DELETE_BULK (several of a guild channel).
//! - Messages in replicas of guilds hosted elsewhere are deleted here too (without a log
//!   entry: the host, told by the deletion notice, deletes its own copies and its events
//!   reach the other member servers).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Hearth, to_value};
use crate::error::Result;
use crate::events::{Audience, Dispatch, Event, intents};
use crate::snowflake::Snowflake;
use crate::storage::{Lock, now_ms};
use crate::wire::dispatch;

/// Messages deleted per transaction (Discord's bulk delete maximum).
pub const PURGE_BATCH: i64 = 100;
/// How often stored jobs are looked at without a wake-up.
pub const PURGE_POLL: Duration = Duration::from_secs(60);

/// The messages of one channel removed by a batch.
struct ChannelBatch {
    guild_id: Option<i64>,
    /// DM participants (empty in guild channels).
    recipients: Vec<i64>,
    ids: Vec<i64>,
}

/// How often the SQLite write-ahead log is checkpointed and emptied
/// ([`Hearth::run_checkpoints`]): the bound after which a deleted message's text is gone
/// from the server's files (README "Deleted content").
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(300);

impl Hearth {
    /// The checkpoint task (spawned by the composition root): every [`CHECKPOINT_EVERY`],
    /// deletes expired interactions (with their ephemeral messages), then
    /// [`Hearth::checkpoint_now`]. A checkpoint kept from completing by readers is retried
    /// after a second, up to ten times, then at the next round.
    pub async fn run_checkpoints(self: Arc<Self>) {
        loop {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            if let Err(e) = self.db.prune_interactions(now_ms()).await {
                tracing::warn!(error = %e, "cannot delete expired interactions");
            }
            for _ in 0..10 {
                match self.checkpoint_now().await {
                    Ok(true) => break,
                    Ok(false) => tokio::time::sleep(Duration::from_secs(1)).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "write-ahead log checkpoint failed");
                        break;
                    }
                }
            }
        }
    }

    /// Checkpoints and empties SQLite's write-ahead log now (`hearth_db::Db::checkpoint`):
    /// `Ok(false)` when other connections kept it from completing. Counted as the job
    /// `wal_checkpoint` in `/metrics`.
    ///
    /// # Errors
    /// A database error.
    pub async fn checkpoint_now(&self) -> crate::error::Result<bool> {
        let done = self
            .db
            .checkpoint()
            .await
            .map_err(crate::error::Error::from);
        self.jobs.record("wal_checkpoint", matches!(done, Ok(true)));
        done
    }

    /// The purge jobs' task (spawned by the composition root): runs every stored job to its
    /// end, one batch after the other, then waits for a new job or [`PURGE_POLL`]. A failing
    /// batch is logged and retried at the next round.
    pub async fn run_message_purges(self: Arc<Self>) {
        loop {
            match self.db.message_purges().await {
                Ok(jobs) => {
                    for (user_id, _) in jobs {
                        self.purge_user(user_id).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the message purge jobs"),
            }
            tokio::select! {
                _ = tokio::time::sleep(PURGE_POLL) => {}
                _ = self.purges.notified() => {}
            }
        }
    }

    /// Runs the purge job of `user_id` until it ends or a batch fails.
    async fn purge_user(&self, user_id: i64) {
        loop {
            let batch = self.purge_batch(user_id).await;
            self.jobs.record("message_purge", batch.is_ok());
            match batch {
                Ok(0) => {
                    tracing::info!(user = user_id, "messages removed; purge job done");
                    return;
                }
                Ok(_) => tokio::task::yield_now().await,
                Err(e) => {
                    tracing::warn!(user = user_id, error = %e, "message purge batch failed; retried later");
                    return;
                }
            }
        }
    }

    /// One batch of the purge job of `user_id` (see the module documentation): how many
    /// messages it took, 0 when none was left (the job is then removed).
    ///
    /// # Errors
    /// Database errors (nothing of the batch is kept).
    pub async fn purge_batch(&self, user_id: i64) -> Result<usize> {
        let rows = self.db.purge_candidates(user_id, PURGE_BATCH).await?;
        if rows.is_empty() {
            self.db.finish_message_purge(user_id).await?;
            return Ok(0);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let files: Vec<String> = self
            .db
            .attachments_of(&ids)
            .await?
            .into_values()
            .flatten()
            .map(|a| a.blob_key)
            .collect();
        let mut channels: BTreeMap<i64, ChannelBatch> = BTreeMap::new();
        for r in &rows {
            channels
                .entry(r.channel_id)
                .or_insert_with(|| ChannelBatch {
                    guild_id: r.guild_id,
                    recipients: r.user_low.into_iter().chain(r.user_high).collect(),
                    ids: vec![],
                })
                .ids
                .push(r.id);
        }
        // Group DMs: their current recipients (the statement joins 1:1 DMs only).
        for (id, b) in channels.iter_mut() {
            if b.guild_id.is_none() && b.recipients.is_empty() {
                b.recipients = self.db.private_recipients(*id).await?;
            }
        }
        let now = now_ms();
        let mut ch = self.db.change(Lock::Nothing).await?;
        let mut events = vec![];
        let mut removed = 0;
        for (channel_id, b) in channels {
            let deleted = ch.delete_messages(channel_id, &b.ids).await?;
            removed += deleted.len();
            events.extend(Self::purge_events(channel_id, &b, deleted));
        }
        ch.release_blobs(&files, now).await?;
        ch.purge_progress(user_id, removed as i64, now).await?;
        self.commit(ch, events).await?;
        if !files.is_empty() {
            self.media_gc.notify_one();
        }
        Ok(rows.len())
    }

    /// The dispatches of `deleted` messages of one channel.
    fn purge_events(channel_id: i64, b: &ChannelBatch, deleted: Vec<i64>) -> Vec<Dispatch> {
        let channel = Snowflake::from_db(channel_id);
        match b.guild_id {
            Some(g) => {
                let guild_id = Snowflake::from_db(g);
                let audience = Audience::Guild {
                    guild_id,
                    channel: Some(channel),
                };
                let data = match deleted.len() {
                    0 => return vec![],
                    1 => (
                        Event::MessageDelete,
                        to_value(&dispatch::MessageDelete {
                            id: Snowflake::from_db(deleted[0]),
                            channel_id: channel,
                            guild_id: Some(guild_id),
                        }),
                    ),
                    _ => (
                        Event::MessageDeleteBulk,
                        to_value(&dispatch::MessageDeleteBulk {
                            ids: deleted.into_iter().map(Snowflake::from_db).collect(),
                            channel_id: channel,
                            guild_id,
                        }),
                    ),
                };
                vec![Self::event_of(
                    data.0,
                    audience,
                    intents::GUILD_MESSAGES,
                    data.1,
                )]
            }
            None => deleted
                .into_iter()
                .map(|id| {
                    Self::event_of(
                        Event::MessageDelete,
                        Audience::Users(
                            b.recipients
                                .iter()
                                .map(|u| Snowflake::from_db(*u))
                                .collect(),
                        ),
                        intents::DIRECT_MESSAGES,
                        to_value(&dispatch::MessageDelete {
                            id: Snowflake::from_db(id),
                            channel_id: channel,
                            guild_id: None,
                        }),
                    )
                })
                .collect(),
        }
    }
}
