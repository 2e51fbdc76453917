//! Passive guilds (Discord's "passive sessions"; spec/gateway.md "Passive guilds").
//!
//! A user session that opts in at IDENTIFY (`capabilities` bit 11,
//! [`PASSIVE_GUILD_UPDATE`]; bots never, whatever they send) treats every guild with more
//! than `gateway.passive_guild_threshold` members that it has not *subscribed* to (op 14
//! LAZY_REQUEST or op 37 GUILD_SUBSCRIPTIONS_BULK) as **passive**: it gets no message
//! edits, deletions, reactions, typing or presences there, and no MESSAGE_CREATE unless the
//! message mentions it (its user, a role it has, `@everyone`/`@here` as allowed to the
//! author) or is its own; member events only for its own user; structure events (guild,
//! channels, roles, bans, invites, emojis, pins) as usual. Every other new message only moves
//! the channel's `last_message_id` in a coalesced `PASSIVE_UPDATE_V1`
//! `{guild_id, channels: [{id, last_message_id}]}`: the first at once, then at most one per
//! guild per `gateway.passive_update_ms`.
//!
//! A subscription makes the guild *active* for the session until `gateway.passive_idle_seconds`
//! after the last subscription to it (clients re-send it while the guild is open), or until
//! it is pushed out by subscriptions to more than `gateway.passive_subscribed_guilds` other
//! guilds (the least recently subscribed goes first). Subscribing flushes the guild's pending
//! update at once; what the session missed there is read over REST.
//!
//! The filter costs no storage call: the member count and roles come from the guild's
//! [`GuildSnapshot`], the message's class ([`Class`]) is computed once per dispatch
//! ([`super::prepare`]), and the session's state lock is taken only for a dispatch a passive
//! guild would hold back. RESUME applies the same filter to the replay log
//! (`resume.rs`), with one `PASSIVE_UPDATE_V1` per guild for what it held back. A graceful
//! restart queues the updates still held back in the sessions it saves (`restart.rs`), so
//! they reach the client at its RESUME on the restarted server.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Gateway, Prepared, Session};
use crate::events::Event;
use crate::service::snapshot::GuildSnapshot;
use crate::snowflake::Snowflake;

/// IDENTIFY `capabilities` bit asking for passive guilds (Discord's `PASSIVE_GUILD_UPDATE`,
/// `1 << 11`).
pub const PASSIVE_GUILD_UPDATE: u64 = 1 << 11;

/// What a passive guild does with a dispatch, computed once per dispatch from its event and
/// payload.
#[derive(Debug, Clone, Default)]
pub(crate) enum Class {
    /// Delivered as to any session (structure events, and everything not below).
    #[default]
    Keep,
    /// Held back (edits, deletions, reactions, typing, presences).
    Drop,
    /// A new message: delivered when it mentions the session (or is its own), otherwise
    /// counted in `PASSIVE_UPDATE_V1`.
    Message {
        channel: i64,
        id: i64,
        everyone: bool,
        roles: Box<[i64]>,
    },
    /// A member event: delivered to the member's own sessions only.
    Member(i64),
}

fn id_of(v: Option<&Value>) -> Option<i64> {
    v?.as_str()?.parse().ok()
}

/// The class of a guild dispatch `event` with payload `d`.
pub(crate) fn classify(event: Event, d: &Value) -> Class {
    match event {
        Event::MessageCreate => {
            let (Some(channel), Some(id)) = (id_of(d.get("channel_id")), id_of(d.get("id"))) else {
                return Class::Keep;
            };
            let roles = d
                .get("mention_roles")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|r| id_of(Some(r))).collect())
                .unwrap_or_default();
            Class::Message {
                channel,
                id,
                everyone: d.get("mention_everyone").and_then(Value::as_bool) == Some(true),
                roles,
            }
        }
        Event::MessageUpdate
        | Event::MessageDelete
        | Event::MessageDeleteBulk
        | Event::MessageReactionAdd
        | Event::MessageReactionRemove
        | Event::MessageReactionRemoveAll
        | Event::MessageReactionRemoveEmoji
        | Event::TypingStart
        | Event::PresenceUpdate => Class::Drop,
        Event::GuildMemberAdd | Event::GuildMemberUpdate | Event::GuildMemberRemove => {
            match id_of(d.get("user").and_then(|u| u.get("id"))) {
                Some(u) => Class::Member(u),
                None => Class::Keep,
            }
        }
        _ => Class::Keep,
    }
}

/// What a passive guild does with one dispatch for one session.
pub(crate) enum Verdict {
    Deliver,
    Skip,
    /// Held back; the channel's `last_message_id` moves.
    Unread {
        channel: i64,
        id: i64,
    },
}

/// The verdict for `user`'s session in guild `cache` when the guild is passive for it.
pub(crate) fn verdict(p: &Prepared, user: i64, cache: &GuildSnapshot) -> Verdict {
    match &p.passive {
        Class::Keep => Verdict::Deliver,
        Class::Drop => Verdict::Skip,
        Class::Member(u) if *u == user => Verdict::Deliver,
        Class::Member(_) => Verdict::Skip,
        Class::Message {
            channel,
            id,
            everyone,
            roles,
        } => {
            if *everyone
                || p.author == Some(user)
                || p.mentions.contains(&user)
                || cache.has_any_role(user, roles)
            {
                Verdict::Deliver
            } else {
                Verdict::Unread {
                    channel: *channel,
                    id: *id,
                }
            }
        }
    }
}

/// A session's passive-guild state (in its [`super::SessionState`]).
#[derive(Default)]
pub(crate) struct PassiveState {
    /// Subscribed guilds with the time of their last subscription, oldest first.
    subscribed: Vec<(i64, Instant)>,
    /// Held-back messages not reported yet: guild -> channel -> newest message id.
    pending: HashMap<i64, BTreeMap<i64, i64>>,
    /// When each guild's last `PASSIVE_UPDATE_V1` was queued.
    last_sent: HashMap<i64, Instant>,
    /// Guilds with a delayed flush scheduled.
    timers: HashSet<i64>,
}

impl PassiveState {
    /// Whether `guild` is subscribed (active) at `now`; `idle`: zero never expires.
    pub(crate) fn is_active(&self, guild: i64, now: Instant, idle: Duration) -> bool {
        self.subscribed.iter().any(|(g, at)| {
            *g == guild && (idle.is_zero() || now.saturating_duration_since(*at) < idle)
        })
    }

    /// Records a subscription to `guild`; beyond `cap` guilds the least recently subscribed
    /// one falls back to passive.
    fn subscribe(&mut self, guild: i64, now: Instant, cap: usize) {
        self.subscribed.retain(|(g, _)| *g != guild);
        self.subscribed.push((guild, now));
        while self.subscribed.len() > cap.max(1) {
            self.subscribed.remove(0);
        }
    }

    /// Takes the pending update of `guild` as a dispatch, noting the time.
    fn take(&mut self, guild: i64, now: Instant) -> Option<Arc<Prepared>> {
        let channels = self.pending.remove(&guild)?;
        self.last_sent.insert(guild, now);
        Some(update(guild, &channels))
    }

    /// Takes every pending update (a graceful restart saves them in the session's
    /// buffer), guilds in id order.
    pub(crate) fn take_all(&mut self, now: Instant) -> Vec<Arc<Prepared>> {
        let mut guilds: Vec<i64> = self.pending.keys().copied().collect();
        guilds.sort_unstable();
        guilds
            .into_iter()
            .filter_map(|g| self.take(g, now))
            .collect()
    }

    /// Merges `channels` with the pending update of `guild` and takes it (RESUME).
    pub(crate) fn take_with(
        &mut self,
        guild: i64,
        mut channels: BTreeMap<i64, i64>,
        now: Instant,
    ) -> Option<Arc<Prepared>> {
        if let Some(p) = self.pending.remove(&guild) {
            for (c, id) in p {
                let e = channels.entry(c).or_insert(id);
                *e = (*e).max(id);
            }
        }
        if channels.is_empty() {
            return None;
        }
        self.last_sent.insert(guild, now);
        Some(update(guild, &channels))
    }

    /// Forgets a guild the session left.
    pub(crate) fn forget(&mut self, guild: i64) {
        self.subscribed.retain(|(g, _)| *g != guild);
        self.pending.remove(&guild);
        self.last_sent.remove(&guild);
    }
}

/// A `PASSIVE_UPDATE_V1` dispatch ([`crate::wire::PassiveUpdate`]).
fn update(guild: i64, channels: &BTreeMap<i64, i64>) -> Arc<Prepared> {
    let u = crate::wire::PassiveUpdate {
        guild_id: Snowflake::from_db(guild),
        channels: channels
            .iter()
            .map(|(c, id)| crate::wire::PassiveChannel {
                id: Snowflake::from_db(*c),
                last_message_id: Snowflake::from_db(*id),
            })
            .collect(),
    };
    Prepared::local(
        Event::PassiveUpdateV1,
        serde_json::to_value(u).unwrap_or(Value::Null),
    )
}

impl Gateway {
    /// Whether guild `cache` is large enough to be passive.
    pub(crate) fn passive_sized(&self, cache: &GuildSnapshot) -> bool {
        cache.member_count() > self.hearth.config.gateway.passive_guild_threshold as i64
    }

    pub(crate) fn passive_idle(&self) -> Duration {
        Duration::from_secs(self.hearth.config.gateway.passive_idle_seconds)
    }

    /// The passive filter of the dispatcher for one session of a large guild: `true` to
    /// deliver. Takes the session's lock only when the dispatch would be held back.
    pub(crate) fn passive_pass(
        &self,
        s: &Arc<Session>,
        p: &Prepared,
        cache: &GuildSnapshot,
        now: Instant,
    ) -> bool {
        let v = verdict(p, s.user_id, cache);
        if matches!(v, Verdict::Deliver) {
            return true;
        }
        let guild = cache.guild_id;
        let mut st = s.state.lock();
        if st.passive.is_active(guild, now, self.passive_idle()) {
            return true;
        }
        let Verdict::Unread { channel, id } = v else {
            return false;
        };
        let ps = &mut st.passive;
        let e = ps
            .pending
            .entry(guild)
            .or_default()
            .entry(channel)
            .or_insert(id);
        *e = (*e).max(id);
        let every = Duration::from_millis(self.hearth.config.gateway.passive_update_ms);
        let due = ps.last_sent.get(&guild).map(|t| *t + every);
        match due {
            Some(due) if due > now => {
                if ps.timers.insert(guild) {
                    let cfg = &self.hearth.config.gateway;
                    let (cap, queue) =
                        (cfg.replay_events.max(cfg.session_queue), cfg.session_queue);
                    tokio::spawn(flush_later(s.clone(), guild, due, cap, queue));
                }
            }
            _ => {
                let u = ps.take(guild, now);
                drop(st);
                if let Some(u) = u {
                    self.deliver(s, u, false);
                }
            }
        }
        false
    }

    /// Op 14 / op 37: `guilds` become active for session `s` (only guilds it is in; only
    /// sessions with passive guilds keep subscriptions). A pending `PASSIVE_UPDATE_V1` of
    /// those guilds is sent at once.
    pub(crate) fn subscribe(&self, s: &Arc<Session>, guilds: &[i64]) {
        if !s.passive {
            return;
        }
        let now = Instant::now();
        let cfg = &self.hearth.config.gateway;
        let most = cfg.passive_subscribed_guilds;
        let (cap, queue) = (cfg.replay_events.max(cfg.session_queue), cfg.session_queue);
        let kept_up = s.push_taken(cap, queue, |st| {
            let mut out = vec![];
            for g in guilds {
                if !st.guilds.contains(g) {
                    continue;
                }
                st.passive.subscribe(*g, now, most);
                out.extend(st.passive.take(*g, now));
            }
            out
        });
        if !kept_up {
            s.disconnect_slow();
        }
    }
}

/// The delayed flush of one guild's pending update (coalescing): queued with the session's
/// next seq, connected or not (a detached session resends its buffer at RESUME); taken and
/// queued under one hold of the session's lock.
async fn flush_later(s: Arc<Session>, guild: i64, due: Instant, cap: usize, queue: usize) {
    tokio::time::sleep_until(due.into()).await;
    let kept_up = s.push_taken(cap, queue, |st| {
        st.passive.timers.remove(&guild);
        st.passive.take(guild, Instant::now()).into_iter().collect()
    });
    if !kept_up {
        s.disconnect_slow();
    }
}

/// The guild ids of an op 14 (`{guild_id, ...}`) or op 37 (`{subscriptions: {id: {...}}}`)
/// payload; `None` when it names none.
pub(crate) fn subscribed_guilds(op: i64, d: &Value) -> Option<Vec<i64>> {
    let ids: Vec<i64> = if op == 14 {
        id_of(d.get("guild_id")).into_iter().collect()
    } else {
        d.get("subscriptions")?
            .as_object()?
            .keys()
            .filter_map(|k| k.parse().ok())
            .collect()
    };
    (!ids.is_empty() || op == 37).then_some(ids)
}
