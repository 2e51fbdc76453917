//! Delivery of hosted guilds' logs to member servers (spec/federation.md §9.2-§9.4).
//!
//! - One worker per member server pushes each of its guilds from that guild's acknowledged
//!   `seq`, up to [`IN_FLIGHT`] guilds at once. Backoff is kept per (server, guild)
//!   (`guild_peers.failures`, `next_attempt_at`): a guild whose pushes fail waits alone, and
//!   the server's other guilds are delivered as usual (§9.3).
//! - A round in which the server answered nothing (network error, timeout, 5xx) holds the
//!   whole server back (no guild can reach it) with the same doubling backoff, and starts its
//!   *failing-since* time (`federation_peer_states`, persisted). A server that answers
//!   anything, a refusal included, is alive.
//! - A server failing for `federation.dead_peer_after_ms` (3 days) is marked **dead**: no
//!   more pushes; a signed `GET /_hearth/federation/v1/version` probes it every
//!   `federation.dead_peer_probe_ms` (1 hour). It is revived (backoff cleared, delivery from
//!   its cursors) by an answered probe or by any authenticated request of its own
//!   ([`GuildLog::contact`]: its start-up pulls, relayed actions, pushes) (§9.4).

use std::sync::Arc;
use std::time::Duration;

use hearth_federation::event::{StubReason, host_key_ids, resign_envelope, stub};
use rand::Rng;
use reqwest::Method;
use serde_json::{Value, json};

use super::FedError;
use super::Keyring;
use super::guild_log::{BATCH, GuildLog, MAX_BACKOFF_MS};
use super::sizes::*;
use crate::service::Hearth;
use crate::service::snapshot::{GuildSnapshot, overwrites_of_payload};
use crate::storage::{PeerRow, now_ms};

/// Guild batches in flight at once towards one server.
pub const IN_FLIGHT: usize = 4;
/// The longest a worker sleeps without looking (ms).
const IDLE_MS: i64 = 30_000;
/// The path a dead server is probed with (answered by every implementation, §8.1).
pub const PROBE_PATH: &str = "/_hearth/federation/v1/version";

/// What the host knows of a member server that stopped answering (in memory; the times are
/// persisted in `federation_peer_states`). Servers that answer have no entry.
#[derive(Debug, Clone, Default)]
pub(super) struct Health {
    /// Start of the current run of unanswered rounds (ms).
    pub failing_since: i64,
    /// Consecutive unanswered rounds (since this process started).
    pub rounds: i64,
    /// No round before this time (ms).
    pub hold_until: i64,
    /// When the server was marked dead (ms).
    pub dead_at: Option<i64>,
    /// The last probe of the dead server (ms).
    pub last_probe_at: i64,
}

/// The wait after `failures` (1, 2, ...) consecutive failures, ms (§9.3): 2 s doubling, plus
/// up to a quarter of jitter, at most [`MAX_BACKOFF_MS`].
pub fn push_backoff_ms(failures: i64) -> i64 {
    let base = (1_000i64 << failures.clamp(1, 12)).min(MAX_BACKOFF_MS);
    let jitter = rand::rng().random_range(0..=base / 4 + 1);
    (base + jitter).min(MAX_BACKOFF_MS)
}

/// How a failed push bears on the server's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// No answer: resolution, connection, TLS, timeout, or a 5xx (a proxy without backend).
    Unanswered,
    /// The server answered and refused (it is alive; this guild backs off).
    Refused,
    /// Nothing was sent (our policy, our storage, signing).
    Local,
}

fn classify(e: &FedError) -> Failure {
    match e {
        FedError::Discovery(_) | FedError::Transport(_) | FedError::Timeout => Failure::Unanswered,
        FedError::Remote { status, .. } if *status >= 500 => Failure::Unanswered,
        FedError::Remote { .. }
        | FedError::TooLarge { .. }
        | FedError::InvalidResponse(_)
        | FedError::Keys(_) => Failure::Refused,
        FedError::Disabled
        | FedError::Denied(_)
        | FedError::InvalidRequest(_)
        | FedError::Protocol(_)
        | FedError::RateLimited(_) => Failure::Local,
    }
}

/// What one guild's turn of a round did.
enum Turn {
    /// Nothing to send.
    Idle,
    /// A batch was acknowledged; `true` if more remains.
    Pushed(bool),
}

fn ms(n: i64) -> Duration {
    Duration::from_millis(n.max(0) as u64)
}

impl GuildLog {
    /// Loads the stored health of member servers (once, at start-up, before any worker
    /// pushes).
    pub(super) async fn load_health(&self) {
        match self.hearth.db.peer_states().await {
            Ok(rows) => {
                let mut m = self.health.lock();
                for r in rows {
                    m.insert(
                        r.server,
                        Health {
                            failing_since: r.failing_since.or(r.dead_at).unwrap_or(0),
                            dead_at: r.dead_at,
                            last_probe_at: r.last_probe_at.or(r.dead_at).unwrap_or(0),
                            ..Health::default()
                        },
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the federation peer states"),
        }
        self.health_loaded.send_replace(true);
    }

    /// `server` answered: forget its failing run and dead mark (stored too) and, with
    /// `reset_backoff`, clear the backoff of all its guilds. Nothing when it was healthy.
    pub(super) async fn answering(&self, server: &str, reset_backoff: bool) {
        let Some(was) = self.health.lock().remove(server) else {
            return;
        };
        if was.dead_at.is_some() {
            tracing::info!(
                server,
                "a dead member server is back; delivery resumes from its cursors"
            );
        }
        if let Err(e) = self.hearth.db.peer_answering(server, reset_backoff).await {
            tracing::error!(server, error = %e, "cannot record that a member server answers");
        }
    }

    /// Whether `server` is marked dead (pushes stopped).
    pub fn is_dead(&self, server: &str) -> bool {
        self.health
            .lock()
            .get(server)
            .is_some_and(|h| h.dead_at.is_some())
    }
}

/// One delivery worker per member server: rounds until nothing is due, then sleeps until the
/// log grows, the server contacts us, or the earliest due time.
pub(super) async fn deliver(log: std::sync::Weak<GuildLog>, server: String) {
    let (mut appended, mut loaded) = match log.upgrade() {
        Some(l) => (l.appended.subscribe(), l.health_loaded.subscribe()),
        None => return,
    };
    let _ = loaded.wait_for(|done| *done).await;
    loop {
        let Some(l) = log.upgrade() else { return };
        let wait = round(&l, &server).await;
        drop(l);
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = appended.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round for `server`: a dead server is only probed; otherwise one batch of each of its
/// guilds that is due. Returns how long to wait before the next round (zero: at once).
async fn round(l: &Arc<GuildLog>, server: &str) -> Duration {
    let h = &l.hearth;
    // One node at a time delivers to a server (README "Scale-out"): the holder of its
    // `delivery:{server}` lease; the others look again each third of the lease time.
    let claim = format!("delivery:{server}");
    if h.node.holding(&claim).is_none() && !matches!(h.node.want(&claim).await, Ok(Some(_))) {
        return Duration::from_millis(h.config.node.lease_seconds * 1000 / 3);
    }
    let now = now_ms();
    let health = l.health.lock().get(server).cloned();
    if let Some(hl) = &health {
        if hl.dead_at.is_some() {
            return probe(l, server, hl.last_probe_at, now).await;
        }
        if hl.hold_until > now {
            return ms(hl.hold_until - now);
        }
    }
    let Ok(peers) = h.db.peers_of_server(server).await else {
        return Duration::from_secs(5);
    };
    let mut next_due = now + IDLE_MS;
    let due: Vec<&PeerRow> = peers
        .iter()
        .filter(|p| {
            if p.next_attempt_at > now {
                next_due = next_due.min(p.next_attempt_at);
                false
            } else {
                true
            }
        })
        .collect();
    let (mut more, mut answered, mut unanswered) = (false, false, None);
    for chunk in due.chunks(IN_FLIGHT) {
        let results =
            futures_util::future::join_all(chunk.iter().map(|p| deliver_guild(l, server, p))).await;
        let mut chunk_answered = false;
        for (p, r) in chunk.iter().zip(results) {
            match r {
                Ok(Turn::Idle) => {}
                Ok(Turn::Pushed(m)) => {
                    more |= m;
                    chunk_answered = true;
                }
                Err((kind, e)) => {
                    match kind {
                        Failure::Unanswered => unanswered = Some(e.clone()),
                        Failure::Refused => chunk_answered = true,
                        Failure::Local => {}
                    }
                    let failures = p.failures + 1;
                    let delay = push_backoff_ms(failures);
                    next_due = next_due.min(now + delay);
                    tracing::warn!(server, guild_id = p.guild_id, error = %e, failures, delay_ms = delay, "federation delivery failed");
                    if let Err(e) =
                        h.db.guild_peer_failed(p.guild_id, server, failures, now + delay)
                            .await
                    {
                        tracing::error!(server, error = %e, "cannot record a failed delivery");
                    }
                }
            }
        }
        answered |= chunk_answered;
        // A server that answered nothing is not asked for its other guilds in this round.
        if !chunk_answered && unanswered.is_some() {
            break;
        }
    }
    if answered {
        l.answering(server, false).await;
    } else if let Some(e) = unanswered {
        return unanswered_round(l, server, now, &e).await;
    }
    if more {
        return Duration::ZERO;
    }
    ms(next_due - now_ms())
}

/// Records a round `server` answered nothing of: the failing run starts (stored) or goes on,
/// the server is held back, and it is marked dead once the run is older than
/// `federation.dead_peer_after_ms`.
async fn unanswered_round(l: &Arc<GuildLog>, server: &str, now: i64, error: &str) -> Duration {
    let cfg = &l.hearth.config.federation;
    let (first, since, hold) = {
        let mut m = l.health.lock();
        let first = !m.contains_key(server);
        let e = m.entry(server.to_string()).or_insert_with(|| Health {
            failing_since: now,
            ..Health::default()
        });
        e.rounds += 1;
        e.hold_until = now + push_backoff_ms(e.rounds);
        (first, e.failing_since, e.hold_until)
    };
    let db = &l.hearth.db;
    if first && let Err(e) = db.peer_failing(server, now).await {
        tracing::error!(server, error = %e, "cannot record a failing member server");
    }
    if now - since < cfg.dead_peer_after_ms as i64 {
        return ms(hold - now);
    }
    if let Some(e) = l.health.lock().get_mut(server) {
        e.dead_at = Some(now);
        e.last_probe_at = now;
    }
    tracing::warn!(
        server,
        failing_since = since,
        error,
        "member server unanswered for too long: marked dead, pushes stop until it is back"
    );
    if let Err(e) = db.peer_dead(server, now).await {
        tracing::error!(server, error = %e, "cannot record a dead member server");
    }
    ms(cfg.dead_peer_probe_ms as i64)
}

/// Probes dead `server` when a probe is due (one signed `GET` of [`PROBE_PATH`], counted);
/// any answer revives it. Returns the wait before the next round.
async fn probe(l: &Arc<GuildLog>, server: &str, last: i64, now: i64) -> Duration {
    let every = l.hearth.config.federation.dead_peer_probe_ms as i64;
    if now < last + every {
        return ms(last + every - now);
    }
    if let Some(e) = l.health.lock().get_mut(server) {
        e.last_probe_at = now;
    }
    if let Err(e) = l.hearth.db.peer_probed(server, now).await {
        tracing::error!(server, error = %e, "cannot record a probe");
    }
    let answer = l.fed.request(server, Method::GET, PROBE_PATH, None).await;
    match answer.as_ref().map_err(classify) {
        Ok(_) | Err(Failure::Refused) => {
            l.answering(server, true).await;
            Duration::ZERO
        }
        Err(_) => {
            tracing::debug!(server, error = ?answer.as_ref().err(), "dead member server still unanswered");
            ms(every)
        }
    }
}

/// Delivers the next batch of one guild to `server`.
async fn deliver_guild(
    l: &Arc<GuildLog>,
    server: &str,
    p: &PeerRow,
) -> Result<Turn, (Failure, String)> {
    let h = &l.hearth;
    let local = |e: crate::error::Error| (Failure::Local, e.to_string());
    let limit_seq = p.final_seq.unwrap_or(i64::MAX);
    if p.acked_seq >= limit_seq {
        l.remove_peer(p.guild_id, server).await;
        return Ok(Turn::Idle);
    }
    let rows =
        h.db.log_range(p.guild_id, p.acked_seq, BATCH)
            .await
            .map_err(local)?;
    let rows: Vec<_> = rows.into_iter().filter(|r| r.seq <= limit_seq).collect();
    let rows = within_bytes(rows, MAX_BATCH_BYTES);
    let Some(last) = rows.last().map(|r| r.seq) else {
        return Ok(Turn::Idle);
    };
    let events = visible_batch(h, &l.fed.keyring, p.guild_id, server, &rows)
        .await
        .map_err(local)?;
    let txn = format!("{}-{}-{}", p.guild_id, rows[0].seq, last);
    l.fed
        .request(
            server,
            Method::PUT,
            &format!("/_hearth/federation/v1/send/{txn}"),
            Some(&json!({"events": events})),
        )
        .await
        .map_err(|e| (classify(&e), e.to_string()))?;
    let _ = h.db.peer_acked(p.guild_id, server, last).await;
    if last >= limit_seq {
        l.remove_peer(p.guild_id, server).await;
    }
    Ok(Turn::Pushed(
        last < p_head(h, p.guild_id).await.min(limit_seq),
    ))
}

/// Events of a batch as `server` may see them: content withheld in channels none of its
/// members can view, and events above [`MAX_EVENT_BYTES`] as `too_large` stubs. An event
/// this server signed with a key it has revoked since is re-signed with its current key
/// (same hash), so revoking a key never makes the log unverifiable (spec §3.6).
async fn visible_batch(
    h: &Hearth,
    keyring: &Keyring,
    guild_id: i64,
    server: &str,
    rows: &[crate::storage::LogRow],
) -> crate::error::Result<Vec<Value>> {
    let cache = GuildSnapshot::load(h, guild_id).await?;
    let members = h.db.member_ids_from(guild_id, server).await?;
    let revoked = keyring.revoked_key_ids();
    let current = (!revoked.is_empty()).then(|| keyring.current());
    let resigned = |ev: Value| -> crate::error::Result<Value> {
        match &current {
            Some(key) if host_key_ids(&ev).iter().any(|id| revoked.contains(id)) => {
                resign_envelope(&ev, key).map_err(crate::error::Error::internal)
            }
            _ => Ok(ev),
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let ev: Value = serde_json::from_str(&r.event).map_err(crate::error::Error::internal)?;
        if r.event.len() > MAX_EVENT_BYTES {
            tracing::warn!(
                guild_id,
                seq = r.seq,
                bytes = r.event.len(),
                "a logged event exceeds the federation event cap; its stub is sent"
            );
            out.push(resigned(
                stub(&ev, StubReason::TooLarge).map_err(crate::error::Error::internal)?,
            )?);
            continue;
        }
        // A deletion notice carries only ids and travels in full: a server that lost sight
        // of the channel still drops its copies of the messages or the thread (spec §6.4).
        let deletion = ev
            .get("content")
            .map(|c| c.get("result").unwrap_or(c))
            .and_then(|c| c.get("t"))
            .and_then(|t| t.as_str())
            .is_some_and(|t| {
                matches!(
                    t,
                    "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" | "THREAD_DELETE"
                )
            });
        let visible = match (r.channel_id, &cache) {
            _ if deletion => true,
            (None, _) => true,
            (Some(c), Some(cache)) => {
                let fallback = ev
                    .get("content")
                    .and_then(|c| {
                        c.get("d")
                            .or_else(|| c.get("result").and_then(|r| r.get("d")))
                    })
                    .and_then(overwrites_of_payload);
                let known =
                    cache.channels.iter().any(|ch| ch.id == c) || cache.threads.contains_key(&c);
                // A deleted channel is judged by the overwrites it had (CHANNEL_DELETE carries
                // them); anything else about it is withheld rather than judged by base rights.
                (known || fallback.is_some())
                    && members
                        .iter()
                        .any(|u| cache.can_view(*u, c, fallback.as_deref()))
            }
            // The guild is gone: only structural events remain meaningful.
            (Some(_), None) => false,
        };
        out.push(resigned(if visible {
            ev
        } else {
            stub(&ev, StubReason::Withheld).map_err(crate::error::Error::internal)?
        })?);
    }
    Ok(out)
}

async fn p_head(h: &Hearth, guild_id: i64) -> i64 {
    h.db.log_head(guild_id)
        .await
        .ok()
        .flatten()
        .map_or(0, |(s, _)| s)
}

/// Events of a hosted guild after `from`, as `server` may see them (pull, spec §8.3): at
/// most `limit` (clamped to 1..500) events whose stored sizes sum to at most `max_bytes`
/// (clamped to [`MIN_PAGE_BYTES`]..[`MAX_PAGE_BYTES`]), and at least one when any remain.
pub async fn events_for(
    h: &Hearth,
    keyring: &Keyring,
    guild_id: i64,
    server: &str,
    from: i64,
    limit: i64,
    max_bytes: usize,
) -> crate::error::Result<Vec<Value>> {
    let rows = h.db.log_range(guild_id, from, limit.clamp(1, 500)).await?;
    let rows = within_bytes(rows, max_bytes.clamp(MIN_PAGE_BYTES, MAX_PAGE_BYTES));
    visible_batch(h, keyring, guild_id, server, &rows).await
}

/// Loads the peers' health, then starts delivery workers for every member server, and again
/// every 30 s (after restarts too).
pub(super) async fn supervisor(log: std::sync::Weak<GuildLog>) {
    match log.upgrade() {
        Some(l) => l.load_health().await,
        None => return,
    }
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        let Some(log) = log.upgrade() else { return };
        if let Ok(servers) = log.hearth.db.peer_servers().await {
            for s in servers {
                log.kick(&s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_backoff_doubles_from_two_seconds_to_the_hour() {
        for (failures, base) in [(1, 2_000), (2, 4_000), (3, 8_000), (11, 2_048_000)] {
            let d = push_backoff_ms(failures);
            assert!((base..=base + base / 4 + 1).contains(&d), "{failures}: {d}");
        }
        assert_eq!(push_backoff_ms(12), MAX_BACKOFF_MS);
        assert_eq!(push_backoff_ms(40), MAX_BACKOFF_MS);
    }
}
