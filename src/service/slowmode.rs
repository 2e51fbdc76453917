//! Slow mode (`rate_limit_per_user`, Discord "Resources > Channel"): the time of each
//! user's last post per channel, kept in memory by this process, or, on a cluster, in Redis
//! for every node ([`crate::cluster::RedisSlowmode`], set by the composition root; this
//! process's memory stands in while Redis fails). A send checks its slot first
//! ([`Hearth::slowmode_peek`]), takes it once nothing else can refuse the send
//! ([`Hearth::slowmode_take`]) and gives it back if the send fails after all
//! ([`Hearth::slowmode_give_back`]), so a refused send costs no slot.

use std::time::Instant;

use super::{ChannelAccess, Hearth};
use crate::error::{Error, Result};
use crate::permissions as perm;

/// A slow-mode slot taken by a send ([`Hearth::slowmode_take`]): the user's post time it
/// replaced, to give back if the send fails ([`Hearth::slowmode_give_back`]).
#[derive(Debug, Clone)]
pub enum SlowSlot {
    /// In this process's memory.
    Local {
        key: (i64, i64),
        taken: Instant,
        before: Option<Instant>,
    },
    /// In the cluster's Redis, under a token of the send that took it.
    Shared { key: (i64, i64), token: String },
}

impl Hearth {
    /// Whether slow mode holds the caller of `ca` back: the channel has a
    /// `rate_limit_per_user` and they have none of MANAGE_MESSAGES, MANAGE_CHANNELS and
    /// BYPASS_SLOWMODE.
    pub(crate) fn slowed(ca: &ChannelAccess) -> bool {
        let exempt = perm::has(ca.perms, perm::MANAGE_MESSAGES)
            || perm::has(ca.perms, perm::MANAGE_CHANNELS)
            || perm::has(ca.perms, perm::BYPASS_SLOWMODE);
        ca.channel.rate_limit_per_user > 0 && !exempt
    }

    /// Slow mode, without taking a slot: `Err(SlowMode)` (429 20016) if `user` posted in
    /// `channel` less than `seconds` ago. A send checks this first and takes its slot with
    /// [`Self::slowmode_take`] only once nothing else can refuse it.
    pub(crate) async fn slowmode_peek(&self, channel: i64, user: i64, seconds: i64) -> Result<()> {
        if let Some(shared) = self.shared_slowmode.get() {
            let ms = u64::try_from(seconds).unwrap_or(0).saturating_mul(1000);
            match shared.wait_ms(channel, user, ms).await {
                Ok(0) => return Ok(()),
                Ok(ms) => {
                    return Err(Error::SlowMode {
                        retry_after: ms as f64 / 1000.0,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "shared slow mode unavailable; this node's used")
                }
            }
        }
        let map = self.slowmode.lock();
        if let Some(last) = map.get(&(channel, user)) {
            let elapsed = Instant::now().duration_since(*last).as_secs_f64();
            if elapsed < seconds as f64 {
                return Err(Error::SlowMode {
                    retry_after: seconds as f64 - elapsed,
                });
            }
        }
        Ok(())
    }

    /// Slow mode: `Err(SlowMode)` (429 20016) if `user` posted in `channel` less than
    /// `seconds` ago; otherwise records now and returns the slot, which
    /// [`Self::slowmode_give_back`] returns when the send fails after all.
    pub(crate) async fn slowmode_take(
        &self,
        channel: i64,
        user: i64,
        seconds: i64,
    ) -> Result<SlowSlot> {
        if let Some(shared) = self.shared_slowmode.get() {
            let token = self.next_id().to_string();
            let ms = u64::try_from(seconds).unwrap_or(0).saturating_mul(1000);
            match shared.take(channel, user, ms, &token).await {
                Ok(Ok(())) => {
                    return Ok(SlowSlot::Shared {
                        key: (channel, user),
                        token,
                    });
                }
                Ok(Err(wait)) => {
                    return Err(Error::SlowMode {
                        retry_after: wait as f64 / 1000.0,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "shared slow mode unavailable; this node's used")
                }
            }
        }
        let mut map = self.slowmode.lock();
        let now = Instant::now();
        let before = map.get(&(channel, user)).copied();
        if let Some(last) = before {
            let elapsed = now.duration_since(last).as_secs_f64();
            if elapsed < seconds as f64 {
                return Err(Error::SlowMode {
                    retry_after: seconds as f64 - elapsed,
                });
            }
        }
        if map.len() > 100_000 {
            map.retain(|_, t| now.duration_since(*t).as_secs() < 21_600);
        }
        map.insert((channel, user), now);
        Ok(SlowSlot::Local {
            key: (channel, user),
            taken: now,
            before,
        })
    }

    /// Gives back a slot taken by [`Self::slowmode_take`] for a send that was refused or
    /// failed afterwards: the user's previous post time comes back, unless another send
    /// took the slot since.
    pub(crate) async fn slowmode_give_back(&self, slot: Option<SlowSlot>) {
        match slot {
            None => {}
            Some(SlowSlot::Shared { key, token }) => {
                if let Some(shared) = self.shared_slowmode.get()
                    && let Err(e) = shared.give_back(key.0, key.1, &token).await
                {
                    // The slot stays taken until it expires: the user waits once more.
                    tracing::warn!(error = %e, "a shared slow-mode slot could not be given back");
                }
            }
            Some(SlowSlot::Local { key, taken, before }) => {
                let mut map = self.slowmode.lock();
                if map.get(&key) == Some(&taken) {
                    match before {
                        Some(b) => {
                            map.insert(key, b);
                        }
                        None => {
                            map.remove(&key);
                        }
                    }
                }
            }
        }
    }

    /// Keeps slow mode in the cluster's Redis, one slot per user and channel across the
    /// nodes (set once by the composition root when `cluster.redis_url` is set).
    pub fn share_slowmode(&self, slowmode: crate::cluster::RedisSlowmode) {
        let _ = self.shared_slowmode.set(slowmode);
    }
}
