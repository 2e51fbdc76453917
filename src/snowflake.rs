//! Snowflake ids (the type is [`hearth_wire::Snowflake`], re-exported here) and the
//! generator that mints them for one process (Discord "Reference > Snowflakes").

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use hearth_wire::snowflake::{DISCORD_EPOCH_MS, Snowflake};

/// Mints unique, monotonically increasing snowflakes for one process.
///
/// `worker` (0-31) and `process` (0-31) distinguish generators that run at the same time
/// against one database; the increment (12 bits) allows 4096 ids per millisecond, after
/// which the generator borrows from the next millisecond rather than repeat an id.
#[derive(Debug)]
pub struct SnowflakeGenerator {
    node: u64,
    last: AtomicU64,
}

impl SnowflakeGenerator {
    /// A generator for `worker` and `process` (each masked to 5 bits).
    pub fn new(worker: u8, process: u8) -> Self {
        let node = ((u64::from(worker) & 0x1f) << 17) | ((u64::from(process) & 0x1f) << 12);
        SnowflakeGenerator {
            node,
            last: AtomicU64::new(0),
        }
    }

    /// The next id. Lock-free; never returns the same value twice.
    pub fn next(&self) -> Snowflake {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(DISCORD_EPOCH_MS)
            .saturating_sub(DISCORD_EPOCH_MS);
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
                    return Snowflake((ms << 22) | self.node | inc);
                }
                Err(actual) => prev = actual,
            }
        }
    }
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
}
