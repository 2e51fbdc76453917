//! Giving freed heap back to the operating system after connection churn (issue 21: "server
//! memory back to baseline within 10 s after a reconnect storm").
//!
//! What a reconnect storm leaves behind is not memory the gateway holds: every old
//! connection's task ends within a second of its socket dropping, and once the sessions are
//! live again the server holds what it held before. It is memory the allocator keeps. With
//! glibc's malloc, 2,000 sessions dropped and resumed at once left the debug server at
//! 144 MiB resident with 44 MB of its 102 MB arenas in use (`malloc_stats`); one
//! `malloc_trim(0)` took it to 99 MiB, under the 101 MiB before the storm. glibc returns
//! memory on its own only from the top of a heap (`trim_threshold`), and the new
//! connections' long-lived allocations, made while the old ones were being freed, pin the
//! pages in between; `malloc_trim` releases every free page wherever it lies
//! (`MADV_DONTNEED`).
//!
//! The trimmer counts connection starts and ends (*churn*). Once `gateway.heap_trim_churn`
//! of them happened since the last trim, it waits for half a second without churn (at most
//! [`MAX_DELAY`] while churn goes on), then calls `malloc_trim(0)` on a blocking thread:
//! a storm is trimmed once, when it is over, and steady churn at most about every
//! [`MAX_DELAY`]. Other C libraries (musl) and other systems: no trimming, nothing counted
//! but churn.
//!
//! Only for a process whose allocator is glibc's malloc (the integration tests, a program
//! embedding the library): the `hearth` binary allocates through jemalloc, whose background
//! threads return freed pages by themselves (README "Memory"), so `gateway.heap_trim_churn`
//! defaults to 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::Gateway;

/// The quiet time (no connection started or ended) the trimmer waits for.
pub const QUIET: Duration = Duration::from_millis(500);
/// The longest the trimmer waits for quiet once the churn threshold is reached.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// What heap trimming did since start ([`Gateway::heap_trim_stats`], `GET /admin/gateway`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HeapTrimStats {
    /// `malloc_trim` calls.
    pub trims: u64,
    /// Connection starts and ends since the last trim.
    pub churn: u64,
    /// Resident memory the trims released, KiB (resident set before minus after each trim,
    /// as `/proc/self/statm` reports it; other work may move it meanwhile).
    pub released_kib: u64,
    /// Duration of the last trim, microseconds.
    pub last_trim_us: u64,
}

/// The trimmer's counters, and the wake-up of its task (shared by the gateway and the task).
#[derive(Default)]
pub(super) struct Trimmer {
    churn: AtomicU64,
    trims: AtomicU64,
    released_kib: AtomicU64,
    last_trim_us: AtomicU64,
    wake: Notify,
}

impl Gateway {
    /// Counts a connection start or end; wakes the trimmer when the churn reaches
    /// `gateway.heap_trim_churn` (0: never).
    pub(crate) fn churn(&self) {
        let at = self.hearth.config.gateway.heap_trim_churn;
        let n = self.trimmer.churn.fetch_add(1, Relaxed) + 1;
        if at > 0 && n == at {
            self.trimmer.wake.notify_one();
        }
    }

    /// What heap trimming did since start.
    pub fn heap_trim_stats(&self) -> HeapTrimStats {
        let t = &self.trimmer;
        HeapTrimStats {
            trims: t.trims.load(Relaxed),
            churn: t.churn.load(Relaxed),
            released_kib: t.released_kib.load(Relaxed),
            last_trim_us: t.last_trim_us.load(Relaxed),
        }
    }
}

/// The trimmer task, started by [`Gateway::new`]: trims once `at` connection starts and
/// ends happened since the last trim and then half a second passed without one (at most
/// [`MAX_DELAY`]). A trim made at [`MAX_DELAY`] while connections still came and went is
/// followed by one more as soon as they stop, however few came after it (the end of a
/// reconnect storm frees the most). Returns at once when `at` is 0 or trimming is
/// unsupported; ends when the gateway is dropped (it alone holds `t` then).
pub(super) async fn run(t: Arc<Trimmer>, at: u64) {
    if !SUPPORTED || at == 0 {
        return;
    }
    // The last trim came before the churn stopped.
    let mut again = false;
    loop {
        let (need, wait) = if again {
            (1, QUIET)
        } else {
            (at, Duration::from_secs(5))
        };
        while t.churn.load(Relaxed) < need {
            if Arc::strong_count(&t) == 1 {
                return;
            }
            // Bounded, so that the task notices a dropped gateway (and, after a trim made
            // while connections still churned, polls for the next one).
            let _ = tokio::time::timeout(wait, t.wake.notified()).await;
        }
        // Wait for the churn to settle (bounded).
        let start = Instant::now();
        again = loop {
            let before = t.churn.load(Relaxed);
            tokio::time::sleep(QUIET).await;
            if t.churn.load(Relaxed) == before {
                break false;
            }
            if start.elapsed() >= MAX_DELAY {
                break true;
            }
        };
        t.churn.store(0, Relaxed);
        let (us, released) = tokio::task::spawn_blocking(trim).await.unwrap_or((0, 0));
        t.trims.fetch_add(1, Relaxed);
        t.released_kib.fetch_add(released, Relaxed);
        t.last_trim_us.store(us, Relaxed);
        tracing::debug!(
            released_kib = released,
            micros = us,
            "gateway: heap trimmed after connection churn"
        );
    }
}

/// Whether this build can trim (glibc).
const SUPPORTED: bool = hearth_heap_trim::SUPPORTED;

/// `malloc_trim(0)`: its duration in microseconds and the resident KiB it released.
fn trim() -> (u64, u64) {
    let before = rss_kib();
    let t0 = Instant::now();
    hearth_heap_trim::trim();
    let us = t0.elapsed().as_micros() as u64;
    let after = rss_kib();
    (us, before.saturating_sub(after))
}

/// This process's resident set, KiB (0 where `/proc/self/statm` is missing).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}
