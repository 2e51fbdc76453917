//! Session revocations across processes.
//!
//! A revocation is recorded in `session_revocations` in the same transaction that deletes
//! the login sessions ([`crate::storage::Db::revoke_sessions_recorded`]), whichever process
//! makes it: the running server (logout, session deletion, refresh-token reuse) or an
//! operator command in another process (`hearth admin reset-password`). The running server
//! watches the table ([`Hearth::watch_revocations`], every [`REVOCATION_POLL`]) by increasing
//! id and publishes [`Control::SessionsRevoked`] on its own bus, so the gateway closes the
//! affected connections with 4004 within a second of the commit. Revocations made in the
//! server process itself are also published at once, so they do not wait for the poll.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Hearth;
use crate::events::Control;
use crate::snowflake::Snowflake;
use crate::storage::now_ms;

/// How often the running server reads new revocations.
pub const REVOCATION_POLL: Duration = Duration::from_millis(500);
/// Rows read per poll.
const BATCH: i64 = 10_000;
/// Rows older than this are pruned (no gateway connection outlives its revocation by so long).
const KEEP_MS: i64 = 3_600_000;

impl Hearth {
    /// Watches `session_revocations` until the task is dropped: every [`REVOCATION_POLL`],
    /// the rows not seen yet (above the id that was the highest when it started) become
    /// [`Control::SessionsRevoked`] on this server's bus; rows older than an hour are pruned
    /// every ten minutes. Database errors are logged and retried at the next poll.
    pub async fn watch_revocations(self: Arc<Self>) {
        follow_table(
            "session revocations",
            REVOCATION_POLL,
            BATCH,
            |r: &crate::storage::RevocationRow| r.id,
            || self.db.last_revocation_id(),
            |floor, n| self.db.revocations_after(floor, n),
            |rows| {
                let mut by_user: HashMap<i64, Vec<Snowflake>> = HashMap::new();
                for r in rows {
                    by_user
                        .entry(r.user_id)
                        .or_default()
                        .push(Snowflake::from_db(r.session_id));
                }
                // Every node of a cluster reads the table: each publishes to itself only.
                for (user, sessions) in by_user {
                    self.bus.publish_local(crate::events::BusEvent::Control(
                        Control::SessionsRevoked {
                            user_id: Snowflake::from_db(user),
                            sessions: Some(sessions),
                        },
                    ));
                }
            },
            || self.db.prune_revocations(now_ms() - KEEP_MS),
        )
        .await
    }
}

/// How often a followed table's old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Follows a table whose rows have increasing ids (written by any process), until the task
/// is dropped: starts above the highest `id` when it starts (`last_id`, retried every `poll`
/// until it answers), then every `poll` reads up to `batch` rows above the floor (`after`)
/// and hands those not seen before to `handle`, and every ten minutes calls `prune`. Rows
/// committed out of id order are still seen ([`IdFollower`]). Database errors are logged,
/// naming `what`, and retried at the next poll. Used by [`Hearth::watch_revocations`] and
/// [`Hearth::watch_operator_events`].
#[allow(clippy::too_many_arguments)]
pub(crate) async fn follow_table<R, Fl, Fa, Fp, P>(
    what: &'static str,
    poll: Duration,
    batch: i64,
    id: impl Fn(&R) -> i64,
    last_id: impl Fn() -> Fl,
    after: impl Fn(i64, i64) -> Fa,
    mut handle: impl FnMut(Vec<&R>),
    prune: impl Fn() -> Fp,
) where
    Fl: Future<Output = crate::error::Result<i64>>,
    Fa: Future<Output = crate::error::Result<Vec<R>>>,
    Fp: Future<Output = crate::error::Result<P>>,
{
    let floor = loop {
        match last_id().await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read {what}");
                tokio::time::sleep(poll).await;
            }
        }
    };
    let mut follow = IdFollower::new(floor);
    let mut pruned = Instant::now();
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match after(follow.floor(), batch).await {
            Ok(rows) => {
                let new: Vec<&R> = rows.iter().filter(|r| follow.is_new(id(r))).collect();
                handle(new);
                follow.read(rows.len() as i64 == batch, rows.last().map(&id));
            }
            Err(e) => tracing::warn!(error = %e, "cannot read {what}"),
        }
        follow.age();
        if pruned.elapsed() > PRUNE_EVERY {
            pruned = Instant::now();
            if let Err(e) = prune().await {
                tracing::warn!(error = %e, "cannot prune {what}");
            }
        }
    }
}

/// How long a row read stays in an [`IdFollower`]'s memory: on PostgreSQL a transaction may
/// commit after one that took a later id, so rows are read again by id until they are this old.
const LOOKBACK: Duration = Duration::from_secs(30);

/// Follows a table written by any process, by increasing id (session revocations, operator
/// events): rows above [`IdFollower::floor`] are read at each poll, and each id is reported
/// new once ([`IdFollower::is_new`]) however often it is read within [`LOOKBACK`].
#[derive(Debug)]
pub(crate) struct IdFollower {
    floor: i64,
    seen: BTreeMap<i64, Instant>,
}

impl IdFollower {
    /// Starts above `floor` (the highest id when the watcher starts).
    pub(crate) fn new(floor: i64) -> IdFollower {
        IdFollower {
            floor,
            seen: BTreeMap::new(),
        }
    }

    /// Read rows with an id above this.
    pub(crate) fn floor(&self) -> i64 {
        self.floor
    }

    /// Whether row `id` is seen for the first time (it is remembered).
    pub(crate) fn is_new(&mut self, id: i64) -> bool {
        self.seen.insert(id, Instant::now()).is_none()
    }

    /// After a read: when it was a full batch (a flood), moves on past `last` rather than
    /// read the same rows again.
    pub(crate) fn read(&mut self, full: bool, last: Option<i64>) {
        if full && let Some(last) = last {
            self.floor = last;
            self.seen.retain(|id, _| *id > last);
        }
    }

    /// Forgets rows read more than [`LOOKBACK`] ago, raising the floor past them.
    pub(crate) fn age(&mut self) {
        while let Some((&id, at)) = self.seen.first_key_value() {
            if at.elapsed() < LOOKBACK {
                break;
            }
            self.floor = self.floor.max(id);
            self.seen.pop_first();
        }
    }
}
