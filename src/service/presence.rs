//! Presence (Discord "Gateway Events > Presence Update"): each user's current status and
//! activities, set by their gateway sessions or, for users of other servers, by their home
//! server through federation; published to the user's guilds as lossy PRESENCE_UPDATE
//! dispatches. Kept in memory on a single node (a restart makes everyone offline until they
//! reconnect); shared through Redis on a cluster ([`Presences`], spec/cluster.md §7).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};

use super::Hearth;
use crate::cluster::RedisPresence;
use crate::events::{Audience, Dispatch, Event, intents};
use crate::snowflake::Snowflake;
use crate::storage::UserRow;
use crate::wire::dispatch::{ClientStatus, PresenceUpdate, PresenceUser};

/// Presence of a user (Discord "Presence Update": `status` is `online`, `idle`, `dnd`,
/// `invisible` or `offline`; `activities` is an array of activity objects, see
/// [`Presence::from_client`]).
#[derive(Clone, Debug)]
pub struct Presence {
    pub status: String,
    pub activities: Value,
}

/// Activities kept per presence (Discord documents none; a bound keeps presences small).
pub const MAX_ACTIVITIES: usize = 10;
/// Characters kept of an activity's `name`, `state`, `details` and `url`.
pub const MAX_ACTIVITY_TEXT: usize = 128;

impl Presence {
    /// Offline, no activities.
    pub fn offline() -> Presence {
        Presence {
            status: "offline".into(),
            activities: json!([]),
        }
    }

    /// The presence a client or a home server sends (Discord "Gateway > Update Presence":
    /// `{status, activities: [activity], since, afk}`), made safe to show:
    /// - `status` outside `online|idle|dnd|invisible|offline` (or absent) is `online`;
    /// - `activities` is the array sent, or, without one, the legacy single `game` object
    ///   (hikari and older libraries send `game`);
    /// - each activity keeps `name` (a non-empty string, required: an entry without one is
    ///   dropped), `type` (0-6, default 0), the strings `url`, `state` and `details`
    ///   (`null` means absent, as hikari sends them; longer ones are cut to
    ///   [`MAX_ACTIVITY_TEXT`] characters), and `timestamps`, `emoji`,
    ///   `application_id`, `flags`, `buttons` when present; other keys are not kept;
    /// - `created_at` (Unix milliseconds; Discord "Activity Object": always present, hikari
    ///   reads it unconditionally) is the one sent when it is a non-negative integer no
    ///   later than the time of receipt, else the time of receipt;
    /// - at most [`MAX_ACTIVITIES`] are kept.
    pub fn from_client(v: Option<&Value>) -> Presence {
        let status = v
            .and_then(|p| p.get("status"))
            .and_then(|s| s.as_str())
            .filter(|s| matches!(*s, "online" | "idle" | "dnd" | "invisible" | "offline"))
            .unwrap_or("online");
        let listed = v
            .and_then(|p| p.get("activities"))
            .and_then(|a| a.as_array());
        let game = v.and_then(|p| p.get("game")).filter(|g| g.is_object());
        let sent: Vec<&Value> = match (listed, game) {
            (Some(a), _) => a.iter().collect(),
            (None, Some(g)) => vec![g],
            (None, None) => vec![],
        };
        let activities = sent
            .into_iter()
            .filter_map(activity)
            .take(MAX_ACTIVITIES)
            .collect();
        Presence {
            status: status.to_string(),
            activities: Value::Array(activities),
        }
    }
}

/// One activity of [`Presence::from_client`], or `None` when it has no usable `name`.
fn activity(a: &Value) -> Option<Value> {
    let received = u64::try_from(hearth_db::now_ms()).unwrap_or(0);
    let text = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(MAX_ACTIVITY_TEXT).collect::<String>())
    };
    let name = text("name").filter(|n| !n.trim().is_empty())?;
    let kind = a
        .get("type")
        .and_then(Value::as_u64)
        .filter(|t| *t <= 6)
        .unwrap_or(0);
    let mut out = serde_json::Map::new();
    out.insert("name".into(), json!(name));
    out.insert("type".into(), json!(kind));
    for k in ["url", "state", "details"] {
        if let Some(t) = text(k) {
            out.insert(k.into(), json!(t));
        }
    }
    for k in ["timestamps", "emoji", "application_id", "flags", "buttons"] {
        if let Some(x) = a.get(k).filter(|x| !x.is_null()) {
            out.insert(k.into(), x.clone());
        }
    }
    // A client's value is kept only within [0, received]: a later time (or garbage) is not
    // relayed to other members' libraries.
    let created = a
        .get("created_at")
        .and_then(Value::as_u64)
        .filter(|c| *c <= received)
        .unwrap_or(received);
    out.insert("created_at".into(), json!(created));
    Some(Value::Object(out))
}

/// The presence of every user seen online (the latest set by any of their sessions) and, on
/// a cluster, the presence shared through Redis ([`RedisPresence`], spec/cluster.md §7).
///
/// On a single node `by_user` is the truth. On a cluster it is a cache filled from Redis right
/// before each read that shows presences (GUILD_CREATE, member chunks, a newcomer's
/// presence), and `held` lists the users with a connected session on this node, whose
/// presence the node re-announces if Redis lost its entry (the node was taken for dead).
#[derive(Default)]
pub struct Presences {
    by_user: Mutex<HashMap<i64, Presence>>,
    held: Mutex<HashMap<i64, Presence>>,
    /// Users whose last write to Redis failed: set again (if held) or left, at the next sweep.
    retry: Mutex<HashSet<i64>>,
    shared: OnceLock<RedisPresence>,
}

impl Presences {
    /// Records the presence; `false` if it did not change (nothing to publish).
    fn set(&self, user: i64, p: &Presence) -> bool {
        let prev = self.by_user.lock().insert(user, p.clone());
        !prev
            .as_ref()
            .is_some_and(|x| x.status == p.status && x.activities == p.activities)
    }

    fn get(&self, user: i64) -> Option<Presence> {
        self.by_user.lock().get(&user).cloned()
    }

    /// The stored form of a presence in Redis: `None` for offline.
    fn stored(p: &Presence) -> Option<String> {
        (p.status != "offline")
            .then(|| json!({"status": p.status, "activities": p.activities}).to_string())
    }
}

/// How a presence reaches [`Hearth::set_presence`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PresenceSource {
    /// A connected gateway session of this node (IDENTIFY, op 3).
    Session,
    /// The user's home server (a user of another server, through federation).
    Remote,
}

impl Hearth {
    /// Shares presence with the other nodes of a cluster (composition root).
    pub fn share_presence(&self, shared: RedisPresence) {
        let _ = self.presences.shared.set(shared);
    }

    /// Whether presence is shared through Redis (a cluster).
    pub fn presence_is_shared(&self) -> bool {
        self.presences.shared.get().is_some()
    }

    /// Parses a presence stored in Redis (`{"status", "activities"}`).
    fn parse_stored(j: &str) -> Option<Presence> {
        let v = serde_json::from_str::<Value>(j).ok()?;
        Some(Presence {
            status: v["status"].as_str().unwrap_or("online").to_string(),
            activities: v["activities"].clone(),
        })
    }

    /// The presence object of a user for a guild, if online (`None` when offline or
    /// invisible). On a cluster, call [`Hearth::load_presences`] for the users first.
    pub fn presence_of(&self, user: i64, guild: i64) -> Option<Value> {
        let p = self.presences.get(user)?;
        if p.status == "offline" || p.status == "invisible" {
            return None;
        }
        Some(
            json!({"user": {"id": Snowflake::from_db(user)}, "guild_id": Snowflake::from_db(guild), "status": p.status, "activities": p.activities, "client_status": {"desktop": p.status}}),
        )
    }

    /// On a cluster, reads the current presence of `users` from Redis into this node's cache
    /// (one `MGET` per 1,000 users), so that [`Hearth::presence_of`] answers for the whole
    /// cluster; nothing on a single node. A Redis failure keeps the cache as it was (logged).
    pub async fn load_presences(&self, users: &[i64]) {
        let Some(shared) = self.presences.shared.get() else {
            return;
        };
        let mut users = users.to_vec();
        users.sort_unstable();
        users.dedup();
        match shared.load(&users).await {
            Ok(got) => {
                let mut by_user = self.presences.by_user.lock();
                for (u, j) in users.iter().zip(got) {
                    match j.as_deref().and_then(Self::parse_stored) {
                        Some(p) => {
                            by_user.insert(*u, p);
                        }
                        None => {
                            by_user.remove(u);
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "presence: cannot read Redis"),
        }
    }

    /// Records a presence and says whether it changed (to be published). On a cluster the
    /// comparison is Redis' (one script); on a Redis failure the node's own cache decides.
    async fn set_presence(&self, user: i64, p: &Presence, source: PresenceSource) -> bool {
        let local = self.presences.set(user, p);
        let Some(shared) = self.presences.shared.get() else {
            return local;
        };
        let stored = Presences::stored(p);
        let r = match source {
            PresenceSource::Session => {
                self.presences.held.lock().insert(user, p.clone());
                shared.set(user, stored.as_deref()).await
            }
            PresenceSource::Remote => shared.set_remote(user, stored.as_deref()).await,
        };
        r.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "presence: cannot write Redis");
            // A session's presence is written again at the next sweep (a remote user's comes
            // again from their home server).
            if source == PresenceSource::Session {
                self.presences.retry.lock().insert(user);
            }
            local
        })
    }

    /// Publishes a user's presence to their guilds (lossy), if it changed. Reads the user's
    /// guilds and profile from storage; [`Hearth::publish_presence_of`] takes them when known.
    pub async fn publish_presence(&self, user: i64, p: Presence, source: PresenceSource) {
        if self.set_presence(user, &p, source).await {
            self.broadcast_presence_of(user, &p).await;
        }
    }

    /// Reads the user's guilds and row, then [`Hearth::broadcast_presence`].
    async fn broadcast_presence_of(&self, user: i64, p: &Presence) {
        let Ok(guilds) = self.db.guild_ids_of(user).await else {
            return;
        };
        // A user without a row (deleted meanwhile) has nobody to show a presence to.
        let Ok(Some(u)) = self.db.user(user).await else {
            return;
        };
        let user_obj = self.presence_user(&u);
        self.broadcast_presence(user_obj, &guilds, p);
    }

    /// [`Hearth::publish_presence`] of a session of this node for a user whose row and guild
    /// ids are at hand (IDENTIFY): no storage round trip.
    pub async fn publish_presence_of(&self, user: &UserRow, guilds: &[i64], p: Presence) {
        if self
            .set_presence(user.id, &p, PresenceSource::Session)
            .await
        {
            self.broadcast_presence(self.presence_user(user), guilds, &p);
        }
    }

    /// The last connected session of `user` on this node ended. On a single node the user
    /// goes offline; on a cluster only when no other node holds a connected session of theirs.
    pub async fn presence_ended(&self, user: i64) {
        let Some(shared) = self.presences.shared.get() else {
            return self
                .publish_presence(user, Presence::offline(), PresenceSource::Session)
                .await;
        };
        self.presences.held.lock().remove(&user);
        self.leave_shared(shared, user).await;
    }

    /// Leaves `user` in Redis and publishes them offline when no node holds them any more;
    /// a failure is retried at the next sweep.
    async fn leave_shared(&self, shared: &RedisPresence, user: i64) {
        match shared.leave(user).await {
            Ok(true) => self.went_offline(user).await,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "presence: cannot write Redis; retried at the next sweep");
                self.presences.retry.lock().insert(user);
            }
        }
    }

    /// Redis says no node holds `user` any more (a leave, a reap): cached and published
    /// offline.
    async fn went_offline(&self, user: i64) {
        let offline = Presence::offline();
        self.presences.set(user, &offline);
        self.broadcast_presence_of(user, &offline).await;
    }

    /// A session of `user` resumed on this node: on a cluster the node holds the user again
    /// (after a restart, the presence saved by the old process is kept if it is still
    /// stored; none is invented). Nothing on a single node.
    pub async fn presence_resumed(&self, user: i64) {
        let Some(shared) = self.presences.shared.get() else {
            return;
        };
        match shared.rejoin(user, None).await {
            Ok((_, now)) => {
                if let Some(p) = now.as_deref().and_then(Self::parse_stored) {
                    self.presences.set(user, &p);
                    self.presences.held.lock().insert(user, p);
                }
            }
            Err(e) => tracing::warn!(error = %e, "presence: cannot write Redis"),
        }
    }

    /// On a cluster, keeps this node's presence entry alive and reaps dead nodes' users
    /// (spec/cluster.md §7), as two loops of one task: the renewal, every third of
    /// `cluster.presence_ttl_seconds`, never waits for the other; the sweep, every second (at
    /// most), re-announces this node's users if it finds itself reaped, retries the writes
    /// that failed, and publishes offline the users a reap returned. Returns at once on a
    /// single node; runs until aborted otherwise.
    pub async fn keep_presence(self: Arc<Self>) {
        let Some(shared) = self.presences.shared.get() else {
            return;
        };
        let lease = Duration::from_millis(shared.lease_ms());
        let renew = async {
            loop {
                if let Err(e) = shared.beat().await {
                    tracing::warn!(error = %e, "presence: cannot renew in Redis");
                }
                tokio::time::sleep(lease / 3).await;
            }
        };
        let sweep = async {
            loop {
                if shared.take_lost() {
                    tracing::warn!(
                        "presence: this node was taken for dead; re-announcing its users"
                    );
                    self.reannounce_presences(shared).await;
                }
                self.retry_presences(shared).await;
                match shared.reap().await {
                    Ok(users) => {
                        for u in users {
                            self.went_offline(u).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "presence: cannot reap in Redis"),
                }
                tokio::time::sleep((lease / 3).min(Duration::from_secs(1))).await;
            }
        };
        tokio::join!(renew, sweep);
    }

    /// Holds again every user this node holds (after its entry was reaped): their presence
    /// is stored only where no other node stored a newer one meanwhile, and published when
    /// stored. A user whose last session here ended meanwhile is left again.
    async fn reannounce_presences(&self, shared: &RedisPresence) {
        let held: Vec<(i64, Presence)> = self
            .presences
            .held
            .lock()
            .iter()
            .map(|(u, p)| (*u, p.clone()))
            .collect();
        for (u, p) in held {
            match shared.rejoin(u, Presences::stored(&p).as_deref()).await {
                Ok((true, _)) => self.broadcast_presence_of(u, &p).await,
                Ok((false, _)) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "presence: cannot write Redis; retried at the next sweep");
                    self.presences.retry.lock().insert(u);
                }
            }
            if !self.presences.held.lock().contains_key(&u) {
                self.leave_shared(shared, u).await;
            }
        }
    }

    /// Writes again what failed to reach Redis: the presence of a user this node holds, or
    /// the leave of one it no longer holds.
    async fn retry_presences(&self, shared: &RedisPresence) {
        let users: Vec<i64> = self.presences.retry.lock().drain().collect();
        for u in users {
            let held = self.presences.held.lock().get(&u).cloned();
            match held {
                Some(p) => match shared.set(u, Presences::stored(&p).as_deref()).await {
                    Ok(true) => self.broadcast_presence_of(u, &p).await,
                    Ok(false) => {}
                    Err(_) => {
                        self.presences.retry.lock().insert(u);
                    }
                },
                None => self.leave_shared(shared, u).await,
            }
        }
    }

    /// Shows an online user's current presence to one guild they just joined (Discord follows
    /// GUILD_MEMBER_ADD with the newcomer's PRESENCE_UPDATE), so that member lists show them
    /// online before their next status change. Nothing when they are offline.
    pub(crate) async fn publish_presence_to_guild(&self, user: i64, guild: i64) {
        self.load_presences(&[user]).await;
        let Some(p) = self.presences.get(user) else {
            return;
        };
        if let Ok(Some(u)) = self.db.user(user).await {
            self.broadcast_presence(self.presence_user(&u), &[guild], &p);
        }
    }

    /// Partial user with the handle: member servers match users by handle.
    fn presence_user(&self, u: &UserRow) -> PresenceUser {
        let w = self.user_wire(u, false);
        PresenceUser {
            id: w.id,
            username: w.username,
            discriminator: w.discriminator,
            handle: w.handle,
            global_name: w.global_name,
            avatar: w.avatar,
            bot: w.bot,
        }
    }

    fn broadcast_presence(&self, user_obj: PresenceUser, guilds: &[i64], p: &Presence) {
        let shown = if p.status == "invisible" {
            "offline".to_string()
        } else {
            p.status.clone()
        };
        for g in guilds {
            self.publish(Dispatch {
                event: Event::PresenceUpdate,
                data: super::to_value(&PresenceUpdate {
                    user: user_obj.clone(),
                    guild_id: Snowflake::from_db(*g),
                    status: shown.clone(),
                    activities: if shown == "offline" {
                        json!([])
                    } else {
                        p.activities.clone()
                    },
                    client_status: ClientStatus {
                        desktop: Some(shown.clone()),
                        mobile: None,
                        web: None,
                    },
                }),
                audience: Audience::Guild {
                    guild_id: Snowflake::from_db(*g),
                    channel: None,
                },
                intent: intents::GUILD_PRESENCES,
                has_content: false,
                lossy: true,
                cause: None,
                logged: false,
                entry: None,
            });
        }
    }
}
