//! Operator events across processes (issue 19, README "Administration").
//!
//! `hearth admin ...` runs in its own process on the running server's database
//! (`App::operator`). Its changes commit there like any other; what the service layer
//! publishes about them (GUILD_DELETE, GUILD_UPDATE for a new owner, INVITE_DELETE, member
//! removals ...) goes to a [`RelayBus`] instead of a gateway, which the command writes to
//! `operator_events` (migration 0022) when it ends ([`RelayBus::flush`]). The running server
//! reads new rows every [`RELAY_POLL`] ([`Hearth::watch_operator_events`]) and publishes them
//! on its own bus, so connected clients see the change within a second.
//!
//! Session revocations are relayed too, although recorded ones also reach the server through
//! their own table ([`super::revocations`]): a whole-user revocation without rows (the bots of
//! a deleted account) has no other way there, and closing a closed connection is a no-op.
//! Barriers are local to a process and not relayed. The events are written after the change
//! commits: a command killed between the two leaves the database right and the live clients
//! unaware until they reconnect.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use super::Hearth;
use super::revocations::follow_table;
use crate::error::{Error, Result};
use crate::events::{Audience, BusEvent, Cause, Control, Dispatch, EventBus};
use crate::storage::{Db, now_ms};

/// How often the running server reads new operator events.
pub const RELAY_POLL: Duration = Duration::from_millis(500);
/// Rows read per poll.
const BATCH: i64 = 1000;
/// Rows older than this are pruned.
const KEEP_MS: i64 = 3_600_000;

/// One bus event as stored in `operator_events.event`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Relayed {
    Dispatch {
        /// Gateway event name (`t`).
        event: String,
        data: Value,
        audience: Audience,
        intent: u64,
        has_content: bool,
        lossy: bool,
        logged: bool,
        /// The acting local user, if any.
        actor: Option<i64>,
    },
    Control {
        control: Control,
    },
}

/// `event` as JSON for `operator_events`; `None` for what is not relayed (barriers, marks) or cannot
/// be written (logged).
pub fn encode(event: &BusEvent) -> Option<String> {
    let r = match event {
        BusEvent::Dispatch(d) => Relayed::Dispatch {
            event: d.event.as_str().to_owned(),
            data: d.data.clone(),
            audience: d.audience.clone(),
            intent: d.intent,
            has_content: d.has_content,
            lossy: d.lossy,
            logged: d.logged,
            actor: d.cause.as_ref().and_then(|c| c.actor),
        },
        BusEvent::Control(Control::Barrier { .. }) | BusEvent::Mark(_) => return None,
        BusEvent::Control(c) => Relayed::Control { control: c.clone() },
    };
    serde_json::to_string(&r)
        .inspect_err(|e| tracing::warn!(error = %e, "operator event not relayed"))
        .ok()
}

/// The bus event stored as `json`; `None` (logged) when it cannot be read, e.g. an event
/// name this build does not know.
pub fn decode(json: &str) -> Option<BusEvent> {
    match serde_json::from_str::<Relayed>(json) {
        Ok(Relayed::Dispatch {
            event,
            data,
            audience,
            intent,
            has_content,
            lossy,
            logged,
            actor,
        }) => {
            let Ok(event) = event.parse() else {
                tracing::warn!(%event, "operator event with an unknown event name skipped");
                return None;
            };
            Some(BusEvent::Dispatch(Arc::new(Dispatch {
                event,
                data,
                audience,
                intent,
                has_content,
                lossy,
                cause: actor.map(|a| {
                    Arc::new(Cause {
                        actor: Some(a),
                        ..Cause::default()
                    })
                }),
                logged,
                entry: None,
            })))
        }
        Ok(Relayed::Control { control }) => Some(BusEvent::Control(control)),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable operator event skipped");
            None
        }
    }
}

/// The event bus of an operator process: keeps what is published (also delivered to local
/// subscribers, of which an operator process normally has none) until [`RelayBus::flush`].
pub struct RelayBus {
    tx: broadcast::Sender<BusEvent>,
    pending: Mutex<Vec<String>>,
}

impl RelayBus {
    /// An empty relay keeping at most `capacity` undelivered events per local subscriber.
    pub fn new(capacity: usize) -> RelayBus {
        RelayBus {
            tx: broadcast::channel(capacity).0,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Writes what was published since the last flush to `operator_events`, in order, in
    /// one transaction; returns how many events were written.
    ///
    /// # Errors
    /// Database errors (the events stay pending; an operator command reports the error and
    /// exits, so its live effects are lost while its changes stay committed).
    pub async fn flush(&self, db: &Db) -> Result<usize> {
        let events = std::mem::take(&mut *self.pending.lock());
        if events.is_empty() {
            return Ok(0);
        }
        if let Err(e) = db.insert_operator_events(&events, now_ms()).await {
            let mut p = self.pending.lock();
            let later = std::mem::replace(&mut *p, events);
            p.extend(later);
            return Err(e);
        }
        Ok(events.len())
    }
}

impl EventBus for RelayBus {
    fn publish(&self, event: BusEvent) {
        if let Some(json) = encode(&event) {
            self.pending.lock().push(json);
        }
        let _ = self.tx.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.tx.subscribe()
    }
}

impl Hearth {
    /// Watches `operator_events` until the task is dropped: every [`RELAY_POLL`], the rows
    /// not seen yet (above the highest id when it started) are published on this server's
    /// bus; rows older than an hour are pruned every ten minutes. Database errors are logged
    /// and retried at the next poll.
    pub async fn watch_operator_events(self: Arc<Self>) {
        follow_table(
            "operator events",
            RELAY_POLL,
            BATCH,
            |r: &crate::storage::OperatorEventRow| r.id,
            || self.db.last_operator_event_id(),
            |floor, n| self.db.operator_events_after(floor, n),
            |rows| {
                for e in rows.into_iter().filter_map(|r| decode(&r.event)) {
                    // Every node reads the table: each publishes to itself only.
                    self.bus.publish_local(e);
                }
            },
            || self.db.prune_operator_events(now_ms() - KEEP_MS),
        )
        .await
    }
}

/// Maps a relay failure for the CLI.
pub fn relay_error(e: Error) -> Error {
    Error::Unavailable(format!(
        "the change is saved, but the running server could not be told: {}",
        e.sentences()
    ))
}
