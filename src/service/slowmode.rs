//! Slow mode (`rate_limit_per_user`, Discord "Resources > Channel"): the time of each
//! user's last post per channel, kept in memory by this process. A send checks its slot
//! first ([`Hearth::slowmode_peek`]), takes it once nothing else can refuse the send
//! ([`Hearth::slowmode_take`]) and gives it back if the send fails after all
//! ([`Hearth::slowmode_give_back`]), so a refused send costs no slot.

use std::time::Instant;

use super::{ChannelAccess, Hearth};
use crate::error::{Error, Result};
use crate::permissions as perm;

/// A slow-mode slot taken by a send ([`Hearth::slowmode_take`]): the user's post time it
/// replaced, to give back if the send fails ([`Hearth::slowmode_give_back`]).
#[derive(Debug, Clone, Copy)]
pub struct SlowSlot {
    key: (i64, i64),
    taken: Instant,
    before: Option<Instant>,
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
    pub(crate) fn slowmode_peek(&self, channel: i64, user: i64, seconds: i64) -> Result<()> {
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
    pub(crate) fn slowmode_take(&self, channel: i64, user: i64, seconds: i64) -> Result<SlowSlot> {
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
        Ok(SlowSlot {
            key: (channel, user),
            taken: now,
            before,
        })
    }

    /// Gives back a slot taken by [`Self::slowmode_take`] for a send that was refused or
    /// failed afterwards: the user's previous post time comes back, unless another send
    /// took the slot since.
    pub(crate) fn slowmode_give_back(&self, slot: Option<SlowSlot>) {
        let Some(slot) = slot else { return };
        let mut map = self.slowmode.lock();
        if map.get(&slot.key) == Some(&slot.taken) {
            match slot.before {
                Some(b) => {
                    map.insert(slot.key, b);
                }
                None => {
                    map.remove(&slot.key);
                }
            }
        }
    }
}
