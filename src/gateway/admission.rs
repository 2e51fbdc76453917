//! Admission of IDENTIFY and RESUME: what keeps a reconnect storm cheap (issue 21; README
//! "Gateway admission").
//!
//! Three limits, all from [`GatewayConfig`]:
//! - **Server-wide rate** (`admission_per_second` IDENTIFYs, a RESUME counting for
//!   `1 / resumes_per_identify` of one): a connection waits its turn (governor's GCRA in
//!   cells, burst = one second's worth; an IDENTIFY takes `resumes_per_identify` cells, a
//!   RESUME one) instead of every client building its READY at once. A connection not
//!   admitted within `admission_wait_ms` is closed with 4008 and reconnects later (Discord's
//!   "rate limited" close is resumable).
//! - **Per bot, `max_concurrency` IDENTIFYs per 5 s** (Discord "Get Gateway Bot":
//!   `session_start_limit.max_concurrency`, "the number of identify requests allowed per 5
//!   seconds", a rule of bot sharding): an IDENTIFY beyond it waits, within the same budget.
//!   User clients (a browser with many tabs) are governed by the two other limits only.
//! - **Per user, `session_start_limit` session starts per `session_start_window_seconds`**
//!   (Discord's `total`/`remaining`/`reset_after`, a fixed window from the first start): once
//!   used up, IDENTIFY is closed with 4008 until the window ends. RESUME is not a session
//!   start and does not count.
//!
//! The rates are per process. The session starts are too on a single node (a restart starts
//! afresh); on a cluster they are one window per user in Redis shared by every node
//! ([`crate::cluster::RedisStarts`], set by the composition root), with this node's own
//! window as the fallback while Redis fails.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use parking_lot::Mutex;

use crate::config::GatewayConfig;

/// Discord's window for `max_concurrency`: 5 seconds.
pub const CONCURRENCY_WINDOW: Duration = Duration::from_secs(5);

/// Why a connection was not admitted (both close the socket with 4008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The server-wide or per-user rate did not admit it within `admission_wait_ms`.
    Busy,
    /// The user's session starts for the window are used up; resets in this many ms.
    StartLimit { reset_after_ms: u64 },
}

/// Discord's `session_start_limit` object of `GET /gateway/bot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StartLimit {
    /// Session starts allowed per window.
    pub total: u32,
    /// Starts left in the current window.
    pub remaining: u32,
    /// Milliseconds until the window ends (the full window when none is open).
    pub reset_after: u64,
    /// IDENTIFYs allowed per 5 seconds.
    pub max_concurrency: u32,
}

/// A user's current window of session starts.
struct Window {
    opened: Instant,
    used: u32,
}

/// The admission state of one gateway.
pub(crate) struct Admission {
    /// The server-wide rate, in cells (a RESUME takes one).
    global: Option<DefaultDirectRateLimiter>,
    /// Cells an IDENTIFY takes (`resumes_per_identify`).
    identify_cells: NonZeroU32,
    concurrency: DefaultKeyedRateLimiter<i64>,
    starts: Mutex<HashMap<i64, Window>>,
    total: u32,
    window: Duration,
    max_concurrency: u32,
    wait: Duration,
    /// The cluster's shared windows (`None` on a single node).
    shared: std::sync::OnceLock<crate::cluster::RedisStarts>,
}

impl Admission {
    /// Admission with the limits of `cfg` (zero `admission_per_second`: no server-wide rate;
    /// `max_concurrency` and `session_start_limit` of zero are treated as one).
    pub(crate) fn new(cfg: &GatewayConfig) -> Admission {
        let identify_cells = NonZeroU32::new(cfg.resumes_per_identify).unwrap_or(NonZeroU32::MIN);
        let global = NonZeroU32::new(cfg.admission_per_second)
            .map(|n| RateLimiter::direct(Quota::per_second(n.saturating_mul(identify_cells))));
        let mc = NonZeroU32::new(cfg.max_concurrency).unwrap_or(NonZeroU32::MIN);
        let concurrency = RateLimiter::keyed(
            Quota::with_period(CONCURRENCY_WINDOW / mc.get())
                .expect("a non-zero period")
                .allow_burst(mc),
        );
        Admission {
            global,
            identify_cells,
            concurrency,
            starts: Mutex::new(HashMap::new()),
            total: cfg.session_start_limit.max(1),
            window: Duration::from_secs(cfg.session_start_window_seconds.max(1)),
            max_concurrency: mc.get(),
            wait: Duration::from_millis(cfg.admission_wait_ms),
            shared: std::sync::OnceLock::new(),
        }
    }

    /// Counts session starts in the cluster's shared windows from now on.
    pub(crate) fn share_starts(&self, starts: crate::cluster::RedisStarts) {
        let _ = self.shared.set(starts);
    }

    /// Waits for a RESUME's turn in the server-wide rate (one cell).
    /// Errors: [`Refused::Busy`] after `admission_wait_ms`.
    pub(crate) async fn admit_resume(&self) -> Result<(), Refused> {
        let Some(g) = &self.global else {
            return Ok(());
        };
        tokio::time::timeout(self.wait, g.until_ready())
            .await
            .map_err(|_| Refused::Busy)
    }

    /// Admits an IDENTIFY of `user`: the server-wide rate, then, for a bot, its
    /// `max_concurrency` per 5 s (both waited for, within one `admission_wait_ms`), then one
    /// session start taken from the user's window. Errors: [`Refused`].
    pub(crate) async fn identify(&self, user: i64, bot: bool) -> Result<(), Refused> {
        // Refuse at once, without queueing, when no start is left anyway.
        if let Some(reset_after_ms) = self.exhausted_anywhere(user).await {
            return Err(Refused::StartLimit { reset_after_ms });
        }
        let wait = async {
            if let Some(g) = &self.global {
                // Never more cells than the burst (one second's worth, at least these).
                g.until_n_ready(self.identify_cells)
                    .await
                    .map_err(|_| Refused::Busy)?;
            }
            if bot {
                self.concurrency.until_key_ready(&user).await;
            }
            Ok(())
        };
        tokio::time::timeout(self.wait, wait)
            .await
            .map_err(|_| Refused::Busy)??;
        if let Some(shared) = self.shared.get() {
            match shared.take(user, self.total, ms(self.window)).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(reset_after_ms)) => return Err(Refused::StartLimit { reset_after_ms }),
                Err(e) => {
                    tracing::warn!(error = %e, "shared session starts unavailable; counting on this node")
                }
            }
        }
        self.take_start(user, Instant::now())
    }

    /// [`Self::exhausted`] in the cluster's shared window when there is one.
    async fn exhausted_anywhere(&self, user: i64) -> Option<u64> {
        if let Some(shared) = self.shared.get()
            && let Ok(open) = shared.peek(user).await
        {
            return open.and_then(|(used, left)| (used >= self.total).then_some(left));
        }
        self.exhausted(user, Instant::now())
    }

    /// `Some(ms until the window ends)` when `user` has no session start left at `now`.
    fn exhausted(&self, user: i64, now: Instant) -> Option<u64> {
        let starts = self.starts.lock();
        let w = starts.get(&user)?;
        let end = w.opened + self.window;
        (now < end && w.used >= self.total).then(|| ms(end - now))
    }

    /// Takes one session start of `user` (atomically: one lock for the check and the count).
    fn take_start(&self, user: i64, now: Instant) -> Result<(), Refused> {
        let mut starts = self.starts.lock();
        let w = starts.entry(user).or_insert(Window {
            opened: now,
            used: 0,
        });
        if now >= w.opened + self.window {
            *w = Window {
                opened: now,
                used: 0,
            };
        }
        if w.used >= self.total {
            return Err(Refused::StartLimit {
                reset_after_ms: ms(w.opened + self.window - now),
            });
        }
        w.used += 1;
        Ok(())
    }

    /// The user's `session_start_limit` as `GET /gateway/bot` reports it (takes nothing): the
    /// cluster's shared window when there is one.
    pub(crate) async fn start_limit(&self, user: i64) -> StartLimit {
        if let Some(shared) = self.shared.get()
            && let Ok(open) = shared.peek(user).await
        {
            let (remaining, reset_after) = match open {
                Some((used, left)) => (self.total.saturating_sub(used), left),
                None => (self.total, ms(self.window)),
            };
            return StartLimit {
                total: self.total,
                remaining,
                reset_after,
                max_concurrency: self.max_concurrency,
            };
        }
        let now = Instant::now();
        let starts = self.starts.lock();
        let (remaining, reset_after) = match starts.get(&user) {
            Some(w) if now < w.opened + self.window => (
                self.total.saturating_sub(w.used),
                ms(w.opened + self.window - now),
            ),
            _ => (self.total, ms(self.window)),
        };
        StartLimit {
            total: self.total,
            remaining,
            reset_after,
            max_concurrency: self.max_concurrency,
        }
    }

    /// Forgets ended windows and full buckets (bounded memory; called by the sweeper).
    pub(crate) fn shrink(&self) {
        let now = Instant::now();
        self.starts
            .lock()
            .retain(|_, w| now < w.opened + self.window);
        self.concurrency.retain_recent();
        self.concurrency.shrink_to_fit();
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(total: u32) -> GatewayConfig {
        GatewayConfig {
            session_start_limit: total,
            ..GatewayConfig::default()
        }
    }

    #[tokio::test]
    async fn a_resume_takes_a_fraction_of_an_identifys_turn() {
        // One IDENTIFY or four RESUMEs a second, no waiting.
        let c = GatewayConfig {
            admission_per_second: 1,
            resumes_per_identify: 4,
            admission_wait_ms: 0,
            ..GatewayConfig::default()
        };
        let a = Admission::new(&c);
        for _ in 0..4 {
            assert_eq!(a.admit_resume().await, Ok(()));
        }
        assert_eq!(a.admit_resume().await, Err(Refused::Busy));
        assert_eq!(a.identify(1, false).await, Err(Refused::Busy));
        let b = Admission::new(&c);
        assert_eq!(b.admit_resume().await, Ok(()));
        assert_eq!(
            b.identify(1, false).await,
            Err(Refused::Busy),
            "an IDENTIFY needs a whole second's worth"
        );
        let c = Admission::new(&c);
        assert_eq!(c.identify(1, false).await, Ok(()));
        assert_eq!(c.admit_resume().await, Err(Refused::Busy));
    }

    #[test]
    fn starts_are_counted_per_user_in_a_fixed_window() {
        let a = Admission::new(&cfg(2));
        let t0 = Instant::now();
        assert_eq!(a.take_start(1, t0), Ok(()));
        assert_eq!(a.take_start(1, t0), Ok(()));
        assert!(matches!(
            a.take_start(1, t0),
            Err(Refused::StartLimit { .. })
        ));
        assert_eq!(
            a.take_start(2, t0),
            Ok(()),
            "another user has its own window"
        );
        assert!(a.exhausted(1, t0).is_some());
        assert_eq!(a.exhausted(2, t0), None);
        // The window ends: a fresh one opens.
        let later = t0 + Duration::from_secs(86_400);
        assert_eq!(a.take_start(1, later), Ok(()));
        assert_eq!(a.exhausted(1, later), None);
    }
}
