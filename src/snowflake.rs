//! Snowflake ids (the type is [`hearth_wire::Snowflake`], re-exported here) and the
//! generator that mints them for one process (Discord "Reference > Snowflakes").

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use hearth_wire::snowflake::{DISCORD_EPOCH_MS, Snowflake};

/// Worker ids a deployment can lease: the 5 worker and 5 process bits of a snowflake,
/// together (`worker = n >> 5`, `process = n & 31`).
pub const WORKER_IDS: u16 = 1024;

/// Mints unique, monotonically increasing snowflakes for one process.
///
/// `worker` (0-31) and `process` (0-31) distinguish generators that run at the same time
/// against one database; the increment (12 bits) allows 4096 ids per millisecond, after
/// which the generator borrows from the next millisecond rather than repeat an id.
///
/// A server's generator is *leased* ([`SnowflakeGenerator::leased`]): its worker id comes
/// from a lease in the database (`src/service/node.rs`) and it mints only until the lease's
/// local deadline; past it, [`SnowflakeGenerator::next`] waits (blocking the thread) until
/// the node renews or re-leases, so a node that lost its worker id never mints an id another
/// node may mint too.
#[derive(Debug)]
pub struct SnowflakeGenerator {
    node: AtomicU64,
    last: AtomicU64,
    /// Local time (ms since the Unix epoch) until which the worker id is ours.
    valid_until: AtomicU64,
}

impl SnowflakeGenerator {
    /// A generator for `worker` and `process` (each masked to 5 bits), valid forever (tools,
    /// benchmarks, tests: whoever picks distinct values by hand).
    pub fn new(worker: u8, process: u8) -> Self {
        let g = Self::leased();
        g.set_worker(
            (u16::from(worker & 0x1f) << 5) | u16::from(process & 0x1f),
            u64::MAX,
        );
        g
    }

    /// A generator without a worker id yet: it mints nothing until [`Self::set_worker`].
    pub fn leased() -> Self {
        SnowflakeGenerator {
            node: AtomicU64::new(0),
            last: AtomicU64::new(0),
            valid_until: AtomicU64::new(0),
        }
    }

    /// Mints with worker id `n` (0 to [`WORKER_IDS`] - 1) until `valid_until` (ms since the
    /// Unix epoch, this machine's clock).
    pub fn set_worker(&self, n: u16, valid_until: u64) {
        self.node
            .store(u64::from(n & 0x3ff) << 12, Ordering::Release);
        self.valid_until.store(valid_until, Ordering::Release);
    }

    /// Extends the current worker id's validity to `valid_until` (a renewed lease).
    pub fn extend(&self, valid_until: u64) {
        self.valid_until.store(valid_until, Ordering::Release);
    }

    /// Stops minting at once (the lease was lost or given up).
    pub fn suspend(&self) {
        self.valid_until.store(0, Ordering::Release);
    }

    /// The current time (ms since the Unix epoch) if the worker id is valid at it: the id is
    /// minted with this same reading, so it is never stamped after the lease's deadline.
    fn valid_now(&self) -> Option<u64> {
        let now = unix_ms();
        (now < self.valid_until.load(Ordering::Acquire)).then_some(now)
    }

    /// The worker id in use (0 to [`WORKER_IDS`] - 1) and whether it is valid now.
    pub fn worker(&self) -> (u16, bool) {
        let n = (self.node.load(Ordering::Acquire) >> 12) as u16;
        (n, unix_ms() < self.valid_until.load(Ordering::Acquire))
    }

    /// The next id. Lock-free; never returns the same value twice. While the worker lease is
    /// not valid it waits in 5 ms steps; on a multi-threaded tokio runtime the wait is
    /// [`tokio::task::block_in_place`], so the runtime's other tasks (the lease keeper among
    /// them) keep running while every worker thread waits here.
    pub fn next(&self) -> Snowflake {
        let now = match self.valid_now() {
            Some(now) => now,
            None => {
                tracing::warn!("snowflake worker lease not held: waiting for it before minting");
                let wait = || loop {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    if let Some(now) = self.valid_now() {
                        return now;
                    }
                };
                match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                    Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                        tokio::task::block_in_place(wait)
                    }
                    _ => wait(),
                }
            }
        }
        .saturating_sub(DISCORD_EPOCH_MS);
        let node = self.node.load(Ordering::Acquire);
        // The sequence state is (ms << 12 | increment); node bits are added on output.
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = (now << 12).max(prev + 1);
            match self.last.compare_exchange_weak(
                prev,
                candidate,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let ms = candidate >> 12;
                    let inc = candidate & 0xfff;
                    return Snowflake((ms << 22) | node | inc);
                }
                Err(actual) => prev = actual,
            }
        }
    }
}

/// Milliseconds since the Unix epoch (the Discord epoch if the clock is before it).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(DISCORD_EPOCH_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_increasing() {
        let g = SnowflakeGenerator::new(1, 2);
        let mut last = g.next();
        for _ in 0..20_000 {
            let n = g.next();
            assert!(n > last, "{n} should be greater than {last}");
            last = n;
        }
    }

    #[test]
    fn worker_bits_are_the_leased_id() {
        let g = SnowflakeGenerator::new(1, 2);
        assert_eq!(g.worker(), ((1 << 5) | 2, true));
        assert_eq!((g.next().0 >> 12) & 0x3ff, (1 << 5) | 2);
        let l = SnowflakeGenerator::leased();
        assert!(!l.worker().1, "no lease yet");
        l.set_worker(1023, u64::MAX);
        assert_eq!((l.next().0 >> 12) & 0x3ff, 1023);
    }
}
