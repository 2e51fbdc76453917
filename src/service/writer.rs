//! Group commit for message writes (issue 7).
//!
//! One [`MessageWriter`] task per server takes the pending inserts of
//! `POST /channels/{id}/messages` from a channel and stores everything pending (up to
//! [`MAX_BATCH`] messages) in ONE transaction ([`crate::storage::Db::insert_messages`]).
//! There is no timer: a lone message is written at once, and messages that arrive while a
//! commit is in flight form the next batch, so batches grow with load only.
//!
//! Rules kept:
//! - **Durability:** a send is acknowledged only after the commit of its batch.
//! - **Order:** the writer assigns each message its snowflake when it takes the batch, so ids
//!   follow commit order, and it publishes the batch's `MESSAGE_CREATE` events after the
//!   commit in id order; a channel's events therefore arrive in the order of its history.
//! - **Isolation:** if the batch's transaction fails, every message of it is retried in its
//!   own transaction, so one bad row fails only its own send.
//! - **Federation outbox:** the `MESSAGE_CREATE` of a message in a federated guild is written
//!   to the outbox in the batch's transaction, in id order (spec/federation.md §8); its
//!   dispatch is published with `logged = true`, so the log writer takes it from there.
//! - **Search indexing after the send (SQLite):** a stored message waits in the search
//!   backlog (migration 0046) instead of being indexed in its send's transaction. When no
//!   send has arrived for [`INDEX_IDLE`], the writer indexes the backlog,
//!   [`crate::storage::INDEX_CHUNK`] messages per transaction, until it is empty or a send
//!   arrives; an idle writer also looks every [`INDEX_TICK`] for messages stored by other
//!   paths (webhooks, interaction responses, federation). Past [`BACKLOG_HIGH`] waiting
//!   messages it indexes one chunk after every batch, so sustained load cannot grow the
//!   backlog without bound. A search indexes what is left before it reads
//!   ([`crate::storage::Db::flush_search_backlog`]). PostgreSQL indexes as it writes and
//!   skips all of this.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{Error, Result};
use crate::events::{Audience, BusEvent, Dispatch, EventBus};
use crate::snowflake::{Snowflake, SnowflakeGenerator};
use crate::storage::{Db, MessageRow, OutboxItem};
use crate::wire;

/// Most messages stored by one transaction.
pub const MAX_BATCH: usize = 128;
/// Pending sends queued before `submit` waits (back-pressure).
const QUEUE: usize = 4096;
/// A pause in sends this long lets the writer index the search backlog (SQLite).
pub const INDEX_IDLE: Duration = Duration::from_millis(25);
/// How often an idle writer with no backlog of its own looks for one (SQLite).
pub const INDEX_TICK: Duration = Duration::from_secs(1);
/// Waiting messages past which the writer indexes one chunk after every batch (SQLite).
pub const BACKLOG_HIGH: u64 = 100_000;

/// One send waiting for the writer.
struct Pending {
    /// The row to store; its `id` is assigned by the writer.
    row: MessageRow,
    /// The event to publish after the commit; its `data.id` and `data.timestamp` are filled
    /// in by the writer.
    event: Option<Dispatch>,
    ack: oneshot::Sender<Result<i64>>,
}

/// The handle to the writer task (cheap to share; the task ends when it is dropped).
pub struct MessageWriter {
    tx: mpsc::Sender<Pending>,
    backlog: watch::Receiver<u64>,
}

impl MessageWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(db: Db, ids: Arc<SnowflakeGenerator>, bus: Arc<dyn EventBus>) -> MessageWriter {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (backlog_tx, backlog) = watch::channel(0);
        tokio::spawn(run(db, ids, bus, rx, backlog_tx));
        MessageWriter { tx, backlog }
    }

    /// The messages waiting in the search backlog as the writer last knew it (SQLite; always
    /// 0 on PostgreSQL): raised by each batch it stores (before the sends are acknowledged),
    /// lowered by each indexing step, 0 once a step finds the backlog empty. Messages stored
    /// by other paths are not counted (while only they wait, the value is 1 from the writer's
    /// next look, [`INDEX_TICK`]). Exposed as `hearth_search_backlog_messages`.
    pub fn search_backlog(&self) -> watch::Receiver<u64> {
        self.backlog.clone()
    }

    /// Queues `row` (its `id` is ignored) and waits until it is committed; then `event`, if
    /// any, has been published. Returns the message's id. Errors: the storage error of this
    /// row; `Internal` if the writer is gone.
    pub async fn submit(&self, row: MessageRow, event: Option<Dispatch>) -> Result<i64> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Pending { row, event, ack })
            .await
            .map_err(|_| Error::internal("message writer stopped"))?;
        done.await
            .map_err(|_| Error::internal("message writer dropped a send"))?
    }
}

/// Sets the id and timestamp of a message event prepared before its id was known.
pub fn stamp(data: &mut Value, id: i64) {
    let sf = Snowflake::from_db(id);
    if let Some(o) = data.as_object_mut() {
        o.insert("id".into(), Value::String(sf.to_string()));
        o.insert(
            "timestamp".into(),
            Value::String(wire::iso(sf.timestamp_ms() as i64)),
        );
    }
}

/// The federation log entry of a guild dispatch, for the outbox (none for DMs).
pub(crate) fn outbox_item(d: &Dispatch) -> Option<OutboxItem<'_>> {
    let Audience::Guild { guild_id, channel } = &d.audience else {
        return None;
    };
    if !crate::wire::dispatch::Payload::crosses(d.event) {
        return None;
    }
    Some(OutboxItem {
        guild_id: guild_id.db(),
        channel_id: channel.map(|c| c.db()),
        event: d.event.as_str(),
        data: &d.data,
        actor_id: d.cause.as_ref().and_then(|c| c.actor),
        origin: d.cause.as_ref().and_then(|c| c.origin.as_ref()),
    })
}

/// Whether a dispatch's guild is among `federated` (its log entry went to the outbox).
pub(crate) fn in_outbox(d: &Dispatch, federated: &[i64]) -> bool {
    crate::wire::dispatch::Payload::crosses(d.event)
        && matches!(&d.audience, Audience::Guild { guild_id, .. } if federated.contains(&guild_id.db()))
}

async fn run(
    db: Db,
    ids: Arc<SnowflakeGenerator>,
    bus: Arc<dyn EventBus>,
    mut rx: mpsc::Receiver<Pending>,
    backlog_tx: watch::Sender<u64>,
) {
    let sqlite = !db.is_postgres();
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    // The watch holds the messages waiting in the search backlog as far as this task knows
    // (module doc); it is the only copy of that count.
    let waiting = || *backlog_tx.borrow();
    loop {
        let received = if sqlite {
            let pause = if waiting() > 0 {
                INDEX_IDLE
            } else {
                INDEX_TICK
            };
            match tokio::time::timeout(pause, rx.recv_many(&mut batch, MAX_BATCH)).await {
                Ok(n) => n,
                Err(_) => {
                    let left = if hearth_db::on_db!(&db, p => p.is_closed()) {
                        0 // The server stopped: nothing to index until the task ends.
                    } else {
                        index_while_idle(&db, &rx, waiting()).await
                    };
                    backlog_tx.send_replace(left);
                    continue;
                }
            }
        } else {
            rx.recv_many(&mut batch, MAX_BATCH).await
        };
        if received == 0 {
            return;
        }
        let stored = store_batch(&db, &ids, &bus, &mut batch, sqlite.then_some(&backlog_tx)).await;
        if sqlite && stored > 0 && waiting() > BACKLOG_HIGH {
            match db.index_search_backlog(crate::storage::INDEX_CHUNK).await {
                Ok((n, more)) => {
                    backlog_tx.send_modify(|w| *w = left_after(*w, n, more));
                }
                Err(e) => tracing::warn!(error = %e, "search backlog: indexing failed"),
            }
        }
    }
}

/// Indexes the search backlog chunk by chunk while no send is waiting; returns what is left
/// of the `known` waiting messages ([`left_after`]; 0 after an error, which is logged: the
/// next look retries).
async fn index_while_idle(db: &Db, rx: &mpsc::Receiver<Pending>, mut known: u64) -> u64 {
    loop {
        match db.index_search_backlog(crate::storage::INDEX_CHUNK).await {
            Ok((n, more)) => {
                known = left_after(known, n, more);
                if !more || !rx.is_empty() {
                    return known;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "search backlog: indexing failed");
                return 0;
            }
        }
    }
}

/// The writer's count of waiting messages after an indexing step took `indexed` of the
/// `known` ones: 0 when none is left, else what it knew less what went, at least 1 (messages
/// stored by other paths are not counted: counting the table would cost more than a chunk).
fn left_after(known: u64, indexed: u64, more: bool) -> u64 {
    if more {
        known.saturating_sub(indexed).max(1)
    } else {
        0
    }
}

/// Stores one batch and answers its senders; returns how many messages were stored. With
/// `backlog` (SQLite), raises it by that number before any sender is answered.
async fn store_batch(
    db: &Db,
    ids: &SnowflakeGenerator,
    bus: &Arc<dyn EventBus>,
    batch: &mut Vec<Pending>,
    backlog: Option<&watch::Sender<u64>>,
) -> u64 {
    // Rows and their waiters apart, so the rows go to storage without a copy.
    let (mut rows, mut waiters): (Vec<MessageRow>, Vec<_>) =
        batch.drain(..).map(|p| (p.row, (p.event, p.ack))).unzip();
    for (r, (event, _)) in rows.iter_mut().zip(waiters.iter_mut()) {
        r.id = ids.next().db();
        if let Some(d) = event {
            stamp(&mut d.data, r.id);
        }
    }
    // The federation log entries go into the same transaction (the outbox), in id order.
    let results: Vec<Result<Vec<i64>>> = {
        let log: Vec<OutboxItem<'_>> = waiters
            .iter()
            .filter_map(|(e, _)| e.as_ref().and_then(outbox_item))
            .collect();
        match db.insert_messages(&rows, &log).await {
            Ok(federated) => rows.iter().map(|_| Ok(federated.clone())).collect(),
            Err(e) if rows.len() == 1 => vec![Err(e)],
            Err(e) => {
                tracing::debug!(error = %e, n = rows.len(), "batch insert failed; retrying one by one");
                let mut v = Vec::with_capacity(rows.len());
                for (r, (e, _)) in rows.iter().zip(&waiters) {
                    let item = e.as_ref().and_then(outbox_item);
                    v.push(db.insert_message(r, item).await);
                }
                v
            }
        }
    };
    let stored = results.iter().filter(|r| r.is_ok()).count() as u64;
    if let Some(b) = backlog {
        b.send_modify(|n| *n += stored);
    }
    for ((row, (event, ack)), r) in rows.iter().zip(waiters).zip(results) {
        match r {
            Ok(federated) => {
                if let Some(mut d) = event {
                    d.logged = in_outbox(&d, &federated);
                    bus.publish(BusEvent::Dispatch(Arc::new(d)));
                }
                let _ = ack.send(Ok(row.id));
            }
            Err(e) => {
                let _ = ack.send(Err(e));
            }
        }
    }
    stored
}
