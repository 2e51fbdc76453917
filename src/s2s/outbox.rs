//! The host's outbox drain (spec/federation.md §8): changes to federated guilds whose log
//! entries were written to `guild_outbox` in the change's own transaction (message sends,
//! through the group commit of `service/writer.rs`) are moved into the signed log here.
//!
//! The drain runs on the log writer's task only, so it shares the writer's order and its
//! cached heads: entries are taken in `id` (commit) order, signed with the next `seq` of their
//! guild, and appended together with the deletion of the entries in ONE transaction
//! ([`crate::storage::Db::append_from_outbox`]), so each entry enters the log exactly once,
//! also across a crash. It runs when the writer starts (entries left by a crash), when a
//! dispatch marked `logged` arrives on the bus, before a barrier completes, and at least
//! every [`IDLE_DRAIN`] (SQLite) or [`HANDOVER_DRAIN`] (PostgreSQL).
//!
//! Several nodes may share the database (README "Scale-out"): each guild's entries are
//! moved only by the node holding the guild's sequencer lease, and every move checks that
//! lease's fencing token in its transaction (spec/federation.md §9.5).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::guild_log::GuildLog;
use crate::error::{Error, Result};
use crate::events::{Cause, Event};
use crate::storage::{LeaseFence, LogAppend, OutboxRow};

/// Outbox entries moved by one transaction (at most).
pub const DRAIN_GROUP: i64 = 256;
/// On SQLite (one node) the writer drains the outbox at least this often (retries after
/// errors).
pub const IDLE_DRAIN: Duration = Duration::from_secs(10);
/// On PostgreSQL, where other nodes may hand entries over (spec/federation.md §9.5), at
/// least this often: one small query a second.
pub const HANDOVER_DRAIN: Duration = Duration::from_secs(1);

/// How often the writer drains the outbox at least ([`IDLE_DRAIN`], [`HANDOVER_DRAIN`]).
pub fn drain_every(db: &crate::storage::Db) -> Duration {
    if db.is_postgres() {
        HANDOVER_DRAIN
    } else {
        IDLE_DRAIN
    }
}

/// Why a group could not be moved.
enum Failed {
    /// An entry cannot become an event (its payload is not canonical JSON ...).
    Entry(Error),
    /// Storage failed (the entries stay; a later drain retries).
    Storage(Error),
}

/// Moves everything in the outbox into the log (see the module docs). An entry that cannot
/// be signed is dropped with an error (a defence only: the client API refuses content that
/// cannot be hashed before it is stored, spec/federation.md §4.1); a storage failure leaves
/// the rest for the next drain.
pub(super) async fn drain(log: &Arc<GuildLog>) {
    let guilds = match log.hearth.db.outbox_guilds().await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "federation outbox read failed");
            return;
        }
    };
    for guild_id in guilds {
        // Only the guild's sequencer moves its entries (another node holds the lease: they
        // wait for it).
        if let Some(fence) = log.sequencer(guild_id).await {
            drain_guild(log, guild_id, &fence).await;
        }
    }
}

/// Moves the outbox entries of one guild whose sequencer lease `fence` this node holds.
async fn drain_guild(log: &Arc<GuildLog>, guild_id: i64, fence: &LeaseFence) {
    let fences = std::slice::from_ref(fence);
    loop {
        let rows = match log.hearth.db.outbox_take_guild(guild_id, DRAIN_GROUP).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "federation outbox read failed");
                return;
            }
        };
        if rows.is_empty() {
            return;
        }
        let full = rows.len() as i64 == DRAIN_GROUP;
        if let Err(f) = move_rows(log, &rows, fences).await {
            if let Failed::Storage(e) = &f
                && rows.len() == 1
            {
                tracing::error!(error = %e, "federation outbox append failed");
                return;
            }
            // One by one: a bad entry fails alone.
            for r in &rows {
                match move_rows(log, std::slice::from_ref(r), fences).await {
                    Ok(()) => {}
                    Err(Failed::Entry(e)) => {
                        tracing::error!(error = %e, event = r.event, guild = r.guild_id, "federation log entry dropped");
                        if let Err(e) = log.hearth.db.append_from_outbox(&[], &[r.id], fences).await
                        {
                            tracing::error!(error = %e, "federation outbox append failed");
                            return;
                        }
                    }
                    Err(Failed::Storage(e)) => {
                        tracing::error!(error = %e, "federation outbox append failed");
                        return;
                    }
                }
            }
        }
        if !full {
            return;
        }
    }
}

/// Signs `rows` as the next events of their guilds and appends them while deleting them
/// from the outbox, in one transaction; then the follow-ups of each append and the wake-up
/// of the guilds' peers.
async fn move_rows(
    log: &Arc<GuildLog>,
    rows: &[OutboxRow],
    fences: &[LeaseFence],
) -> std::result::Result<(), Failed> {
    let mut appends: Vec<LogAppend> = Vec::with_capacity(rows.len());
    let mut parsed: Vec<(Event, Value)> = Vec::with_capacity(rows.len());
    let mut senders = HashMap::new();
    let guilds: HashSet<i64> = rows.iter().map(|r| r.guild_id).collect();
    let forget = |log: &GuildLog| {
        let mut heads = log.heads.lock();
        for g in &guilds {
            heads.remove(g);
        }
    };
    for r in rows {
        let prepared = async {
            let (t, data, cause) = entry(r)?;
            let row = log
                .prepare(
                    r.guild_id,
                    t,
                    &data,
                    r.channel_id,
                    Some(&cause),
                    &mut senders,
                )
                .await?;
            Ok::<_, Error>((t, data, row))
        }
        .await;
        match prepared {
            Ok((t, data, row)) => {
                // Tentatively: the next event of the guild chains to this one.
                log.heads
                    .lock()
                    .insert(row.guild_id, (row.seq, row.hash.clone()));
                appends.push(row);
                parsed.push((t, data));
            }
            Err(e) => {
                forget(log);
                return Err(Failed::Entry(e));
            }
        }
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    if let Err(e) = log
        .hearth
        .db
        .append_from_outbox(&appends, &ids, fences)
        .await
    {
        forget(log);
        return Err(Failed::Storage(e));
    }
    for (a, (t, data)) in appends.iter().zip(&parsed) {
        if let Err(e) = log.after_append(a.guild_id, *t, data, a.seq).await {
            tracing::error!(error = %e, event = t.as_str(), "federation log follow-up failed");
        }
    }
    log.kick_peers_of(guilds).await;
    Ok(())
}

/// The event, payload and cause an outbox entry records.
fn entry(r: &OutboxRow) -> Result<(Event, Value, Cause)> {
    let t = Event::from_str(&r.event).map_err(|_| Error::internal("outbox event name"))?;
    let data: Value = serde_json::from_str(&r.data).map_err(Error::internal)?;
    let origin = match &r.origin {
        Some(o) => {
            let v: (Value, Value) = serde_json::from_str(o).map_err(Error::internal)?;
            Some(v)
        }
        None => None,
    };
    Ok((
        t,
        data,
        Cause {
            actor: r.actor_id,
            origin,
            federated: false,
        },
    ))
}
