//! A session start: READY and the user's GUILD_CREATEs ("Topics > Gateway Events > Ready",
//! "Guild Create"), served from memory where the gateway has it, so that a reconnect storm
//! of IDENTIFYs is cheap (issue 21).
//!
//! - Guild structure, channels, overwrites, roles of members and so channel visibility come
//!   from the gateway's guild snapshots ([`GuildSnapshot`], kept for routing anyway): no
//!   permission pass through storage per guild, neither for GUILD_CREATE's channel list nor
//!   for READY's `read_state` entries.
//! - What the snapshots do not hold is read for all of the user's guilds, DMs, blocks and
//!   read states at once ([`Hearth::ready_read_state`], [`Hearth::ready_private`],
//!   [`Hearth::ready_guilds`]): at most 18 storage calls for a user session with the GUILDS
//!   intent (13 for a bot, which has no read states, DMs or blocks in READY), however many
//!   guilds, DMs and read states it has. A guild whose snapshot the gateway does not hold
//!   yet (nobody connected since it last changed) costs one snapshot load more, once.
//! - [`Gateway::ready_stats`] reports the storage calls of the session starts
//!   ([`hearth_db::counting`]: every `on_db!` of the building task), snapshot loads apart.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::{Gateway, Prepared, Session};
use crate::error::{Error, Result};
use crate::events::{Event, intents};
use crate::service::Actor;
use crate::service::snapshot::{self, GuildSnapshot};

/// Storage calls of session starts ([`Gateway::ready_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadyStats {
    /// Session starts (READY sent).
    pub readies: u64,
    /// Storage calls of the most recent one (building READY and all its GUILD_CREATEs),
    /// snapshot loads apart.
    pub last_calls: u64,
    /// The most any one took.
    pub max_calls: u64,
    /// All of them together.
    pub total_calls: u64,
    /// Guild snapshots the most recent one had to load (not held by the gateway yet).
    pub last_snapshot_loads: u64,
    /// Storage calls of those loads.
    pub last_snapshot_calls: u64,
}

/// Snapshot loads of one session start.
#[derive(Default, Clone, Copy)]
struct Loads {
    loads: u64,
    calls: u64,
}

/// Counters behind [`ReadyStats`].
#[derive(Default)]
pub(crate) struct ReadyCounters {
    readies: AtomicU64,
    last: AtomicU64,
    max: AtomicU64,
    total: AtomicU64,
    loads: AtomicU64,
    load_calls: AtomicU64,
}

impl ReadyCounters {
    fn record(&self, calls: u64, loads: Loads) {
        self.loads.store(loads.loads, Ordering::Relaxed);
        self.load_calls.store(loads.calls, Ordering::Relaxed);
        self.readies.fetch_add(1, Ordering::Relaxed);
        self.last.store(calls, Ordering::Relaxed);
        self.max.fetch_max(calls, Ordering::Relaxed);
        self.total.fetch_add(calls, Ordering::Relaxed);
    }
}

impl Gateway {
    /// Storage calls of the session starts so far.
    pub fn ready_stats(&self) -> ReadyStats {
        let c = &self.ready_counters;
        ReadyStats {
            readies: c.readies.load(Ordering::Relaxed),
            last_calls: c.last.load(Ordering::Relaxed),
            max_calls: c.max.load(Ordering::Relaxed),
            total_calls: c.total.load(Ordering::Relaxed),
            last_snapshot_loads: c.loads.load(Ordering::Relaxed),
            last_snapshot_calls: c.load_calls.load(Ordering::Relaxed),
        }
    }

    /// Completes `ready` (the fields that need storage: `read_state`, `private_channels`,
    /// `relationships`, for user sessions) and queues it on `s`, then one GUILD_CREATE per
    /// guild of `guilds` when the session has the GUILDS intent, recording the visible
    /// channels of each in the session. Errors: a storage failure (nothing more is sent).
    pub(crate) async fn start_session(
        &self,
        actor: &Actor,
        s: &Arc<Session>,
        guilds: &[i64],
        ready: Value,
    ) -> Result<()> {
        let mut loads = Loads::default();
        let build = self.build_start(actor, s, guilds, ready, &mut loads);
        let (r, calls) = hearth_db::counting(build).await;
        self.ready_counters.record(calls, loads);
        r
    }

    async fn build_start(
        &self,
        actor: &Actor,
        s: &Arc<Session>,
        guilds: &[i64],
        mut ready: Value,
        loads: &mut Loads,
    ) -> Result<()> {
        let want_guilds = s.intents & intents::GUILDS != 0;
        let mut snaps: HashMap<i64, Arc<GuildSnapshot>> = HashMap::new();
        if want_guilds || !actor.is_bot() {
            for &g in guilds {
                // Counted apart: a load happens once per guild, not per session start.
                let (c, calls) = hearth_db::counting(self.cache(g)).await;
                if calls > 0 {
                    loads.loads += 1;
                    loads.calls += calls;
                }
                if let Some(c) = c {
                    snaps.insert(g, c);
                }
            }
        }
        // Read states, DMs and blocks (user sessions only; Discord keeps none for bots).
        if !actor.is_bot() {
            let user = actor.user.id;
            let visible =
                |g: i64, c: i64| snaps.get(&g).is_some_and(|sn| sn.can_view(user, c, None));
            let rs = self.hearth.ready_read_state(user, &visible).await?;
            ready["read_state"] = serde_json::to_value(&rs).map_err(Error::internal)?;
            // As `GET /users/@me/channels` and `GET /users/@me/relationships` answer.
            let (dms, rels) = self.hearth.ready_private(user).await?;
            ready["private_channels"] = serde_json::to_value(&dms).map_err(Error::internal)?;
            ready["relationships"] = serde_json::to_value(&rels).map_err(Error::internal)?;
        }
        // First, then whatever was routed to the session while READY was built.
        let cfg = &self.hearth.config.gateway;
        let ready = Prepared::local(Event::Ready, ready);
        if s.start(
            ready,
            cfg.replay_events.max(cfg.session_queue),
            cfg.session_queue,
        ) {
            self.traffic.deliveries.fetch_add(1, Ordering::Relaxed);
        } else {
            s.disconnect_slow();
        }
        if !want_guilds {
            return Ok(());
        }
        let mut parts = self
            .hearth
            .ready_guilds(s.user_id, guilds, s.large_threshold)
            .await?;
        // On a cluster, the listed members' presences come from Redis.
        if self.hearth.presence_is_shared() {
            let listed: Vec<i64> = parts.values().flat_map(|p| p.member_ids.clone()).collect();
            self.hearth.load_presences(&listed).await;
        }
        for &g in guilds {
            let (Some(cache), Some(p)) = (snaps.get(&g), parts.remove(&g)) else {
                continue;
            };
            let pres = |u: i64| {
                if s.intents & intents::GUILD_PRESENCES != 0 || !s.bot {
                    self.hearth.presence_of(u, g)
                } else {
                    None
                }
            };
            match snapshot::guild_create_payload(&self.hearth, cache, s.user_id, p, &pres) {
                Ok(mut v) => {
                    super::without_voice_states(s, &mut v);
                    let visible = cache.visible_channels(s.user_id);
                    // A permission change routed since the session joined the guild's
                    // audience: built again from the current snapshot.
                    if !self.push_guild_create(s, g, v, visible, false) {
                        self.send_guild_create(g, s).await;
                    }
                }
                Err(e) => tracing::error!(error = %e, "GUILD_CREATE build failed"),
            }
        }
        Ok(())
    }
}
