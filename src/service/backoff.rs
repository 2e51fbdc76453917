//! Exponential backoff after failed logins and failed second factors (issue 17; settings
//! `rate_limits.login_backoff`, [`crate::config::LoginBackoff`]).
//!
//! Failures are counted under three keys: the (account, client address) pair, the client
//! address (all accounts), and the account (all addresses). After `free` failures under a
//! key, the next attempt under it must wait `base * 2^(failures - free)` (capped at `max`)
//! from that key's last failure; an earlier attempt is answered 429 in Discord's rate-limit
//! format (`retry_after` in seconds) *before* the password is checked, and adds no failure.
//!
//! - The account is the user id for an existing account and the typed login otherwise, and
//!   the decision reads only these counters, so an unknown and a known account answer alike.
//! - A stranger cannot lock the owner out: the pair and address keys hold only the
//!   stranger's own addresses; the account key (looser) is skipped for addresses the account
//!   has logged in from before ([`crate::storage::Db::logged_in_from`]), so the owner at
//!   home is never held by it; and every wait ends (at most `max`).
//! - A successful login forgets its pair's failures. Memory is bounded: failures are
//!   forgotten `forget_seconds` after a key's last one, and at most [`MAX_KEYS`] keys are
//!   kept (the forgotten and the not yet waiting ones are dropped first).
//! - In memory, per process, on a single node; on a cluster in Redis, one set of counters
//!   for every node ([`crate::cluster::RedisBackoff`], set by the composition root through
//!   [`Hearth::share_backoff`]), with the node's own standing in while Redis fails.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Hearth;
use crate::config::LoginBackoff;
use crate::error::{Error, Result};

/// Most keys remembered at once (each a few dozen bytes).
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Address(IpAddr),
    Account(String),
}

impl Key {
    /// Its name in a cluster's Redis (after `{prefix}lb:`).
    fn shared(&self) -> String {
        match self {
            Key::Pair(a, ip) => format!("p:{a}:{ip}"),
            Key::Address(ip) => format!("a:{ip}"),
            Key::Account(a) => format!("u:{a}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The failure counters of one server (owned by the auth service).
pub struct Backoff {
    cfg: LoginBackoff,
    keys: Mutex<HashMap<Key, Failures>>,
}

/// The address a failure counts against: IPv4 (also when IPv4-mapped), IPv6 by /64.
fn address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn limited(wait: Duration) -> Error {
    Error::RateLimited {
        retry_after: (wait.as_secs_f64() * 1000.0).ceil() / 1000.0,
        global: false,
        scope: "user",
    }
}

impl Backoff {
    pub fn new(cfg: LoginBackoff) -> Backoff {
        Backoff {
            cfg,
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn free(&self, k: &Key) -> u32 {
        match k {
            Key::Pair(..) => self.cfg.free_per_pair,
            Key::Address(_) => self.cfg.free_per_address,
            Key::Account(_) => self.cfg.free_per_account,
        }
    }

    fn forget(&self) -> Duration {
        Duration::from_secs_f64(self.cfg.forget_seconds.max(0.0))
    }

    /// The wait still ahead of key `k` at `now`, if any.
    fn wait_of(&self, k: &Key, f: &Failures, now: Instant) -> Option<Duration> {
        self.wait_after(k, f.count, now.duration_since(f.last))
    }

    /// The wait still ahead of key `k` with `count` failures, the last one `since` ago.
    fn wait_after(&self, k: &Key, count: u32, since: Duration) -> Option<Duration> {
        let free = self.free(k);
        if count < free || since > self.forget() {
            return None;
        }
        let exp = (count - free).min(62);
        let secs = (self.cfg.base_seconds * 2f64.powi(exp as i32)).min(self.cfg.max_seconds);
        Duration::from_secs_f64(secs.max(0.0))
            .checked_sub(since)
            .filter(|d| !d.is_zero())
    }

    fn pending(&self, k: &Key) -> Option<Duration> {
        let now = Instant::now();
        let keys = self.keys.lock();
        keys.get(k).and_then(|f| self.wait_of(k, f, now))
    }

    /// Refuses an attempt at `account` from `ip` while its pair or its address must wait.
    ///
    /// # Errors
    /// 429 ([`Error::RateLimited`]) with the longer of the two waits.
    pub fn check(&self, account: &str, ip: IpAddr) -> Result<(), Error> {
        let ip = address(ip);
        let pair = self.pending(&Key::Pair(account.to_owned(), ip));
        let addr = self.pending(&Key::Address(ip));
        match pair.max(addr) {
            Some(w) => Err(limited(w)),
            None => Ok(()),
        }
    }

    /// The wait of the account key (the caller skips it for addresses the account knows).
    ///
    /// # Errors
    /// 429 when the account must wait.
    pub fn check_account(&self, account: &str) -> Result<(), Error> {
        match self.pending(&Key::Account(account.to_owned())) {
            Some(w) => Err(limited(w)),
            None => Ok(()),
        }
    }

    /// Whether the account key would hold an attempt now (then the caller asks storage
    /// whether the address is known).
    pub fn account_waits(&self, account: &str) -> bool {
        self.pending(&Key::Account(account.to_owned())).is_some()
    }

    /// The three keys of an attempt at `account` from `ip`: pair, address, account.
    fn keys(account: &str, ip: IpAddr) -> [Key; 3] {
        let ip = address(ip);
        [
            Key::Pair(account.to_owned(), ip),
            Key::Address(ip),
            Key::Account(account.to_owned()),
        ]
    }

    /// Counts a failed attempt at `account` from `ip` under its three keys.
    pub fn fail(&self, account: &str, ip: IpAddr) {
        let now = Instant::now();
        let forget = self.forget();
        let mut keys = self.keys.lock();
        if keys.len() + 3 > MAX_KEYS {
            keys.retain(|k, f| now.duration_since(f.last) <= forget && f.count + 1 >= self.free(k));
            if keys.len() + 3 > MAX_KEYS {
                tracing::warn!(keys = keys.len(), "login backoff table full: cleared");
                keys.clear();
            }
        }
        for k in Self::keys(account, ip) {
            let f = keys.entry(k).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(f.last) > forget {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// Forgets the failures of the pair after a successful login.
    pub fn succeed(&self, account: &str, ip: IpAddr) {
        self.keys
            .lock()
            .remove(&Key::Pair(account.to_owned(), address(ip)));
    }
}

impl Hearth {
    /// The account a login failure counts against: the user id of an existing account,
    /// else the typed login.
    pub(super) fn backoff_key(user_id: Option<i64>, login: &str) -> String {
        match user_id {
            Some(id) => format!("u:{id}"),
            None => format!("l:{login}"),
        }
    }

    /// Refuses (429) an attempt at `account` from `ip` while one of its backoff keys waits;
    /// the account key is skipped when `user_id` has logged in from `ip` before. On a
    /// cluster the counters are the shared ones ([`Hearth::share_backoff`]).
    pub(super) async fn backoff_check(
        &self,
        account: &str,
        user_id: Option<i64>,
        ip: IpAddr,
    ) -> Result<()> {
        let b = &self.auth.backoff;
        let (pair_or_address, account_wait) = match self.shared_waits(account, ip).await {
            Some(waits) => waits,
            None => (
                b.check(account, ip).err(),
                b.account_waits(account)
                    .then(|| b.check_account(account).err())
                    .flatten(),
            ),
        };
        if let Some(e) = pair_or_address {
            return Err(e);
        }
        if let Some(e) = account_wait {
            let known = match user_id {
                Some(id) => self.db.logged_in_from(id, &ip.to_string()).await?,
                None => false,
            };
            if !known {
                return Err(e);
            }
        }
        Ok(())
    }

    /// The cluster's waits of `(account, ip)`: the longer of the pair's and the address's,
    /// and the account's, each as its 429. `None` without a cluster or when Redis failed.
    async fn shared_waits(
        &self,
        account: &str,
        ip: IpAddr,
    ) -> Option<(Option<Error>, Option<Error>)> {
        let shared = self.auth.shared_backoff.get()?;
        let keys = Backoff::keys(account, ip);
        let names: Vec<String> = keys.iter().map(Key::shared).collect();
        let counts = match shared.read(&names).await {
            Ok(c) if c.len() == keys.len() => c,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "shared login backoff unavailable; local counters used");
                return None;
            }
        };
        let b = &self.auth.backoff;
        let waits: Vec<Option<Duration>> = keys
            .iter()
            .zip(counts)
            .map(|(k, (count, since))| {
                since.and_then(|ms| b.wait_after(k, count, Duration::from_millis(ms)))
            })
            .collect();
        Some((waits[0].max(waits[1]).map(limited), waits[2].map(limited)))
    }

    /// Counts a failed attempt at `account` from `ip` under its three keys (the cluster's
    /// counters, or the node's own without a cluster or while Redis fails).
    pub(super) async fn backoff_fail(&self, account: &str, ip: IpAddr) {
        if let Some(shared) = self.auth.shared_backoff.get() {
            let names: Vec<String> = Backoff::keys(account, ip).iter().map(Key::shared).collect();
            let forget_ms = (self.auth.backoff.forget().as_millis() as u64).max(1);
            match shared.fail(&names, forget_ms).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "shared login backoff unavailable; local counters used")
                }
            }
        }
        self.auth.backoff.fail(account, ip);
    }

    /// Forgets the failures of the pair `(account, ip)` after a successful attempt (on the
    /// node and, on a cluster, in Redis).
    pub(super) async fn backoff_succeed(&self, account: &str, ip: IpAddr) {
        self.auth.backoff.succeed(account, ip);
        if let Some(shared) = self.auth.shared_backoff.get() {
            let pair = Key::Pair(account.to_owned(), address(ip)).shared();
            if let Err(e) = shared.forget(&pair).await {
                tracing::warn!(error = %e, "shared login backoff unavailable");
            }
        }
    }

    /// Keeps the login backoff's counters in the cluster's Redis, shared by every node (set
    /// once by the composition root when `cluster.redis_url` is set).
    pub fn share_backoff(&self, backoff: crate::cluster::RedisBackoff) {
        let _ = self.auth.shared_backoff.set(backoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LoginBackoff {
        LoginBackoff {
            free_per_pair: 2,
            free_per_address: 4,
            free_per_account: 6,
            base_seconds: 100.0,
            max_seconds: 350.0,
            forget_seconds: 3600.0,
        }
    }

    fn wait(e: Result<(), Error>) -> f64 {
        match e {
            Err(Error::RateLimited { retry_after, .. }) => retry_after,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn waits_double_up_to_the_cap_per_pair_and_address() {
        let b = Backoff::new(cfg());
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        b.fail("u:1", a);
        assert!(b.check("u:1", a).is_ok());
        b.fail("u:1", a);
        let w = wait(b.check("u:1", a));
        assert!(w > 99.0 && w <= 100.0, "{w}");
        b.fail("u:1", a);
        let w = wait(b.check("u:1", a));
        assert!(w > 199.0 && w <= 200.0, "{w}");
        // Another address is free; another account from the same address too, until the
        // address key (4 failures) holds it.
        assert!(b.check("u:1", other).is_ok());
        assert!(b.check("u:2", a).is_ok());
        b.fail("u:2", a);
        let w = wait(b.check("u:2", a));
        assert!(w > 99.0 && w <= 100.0, "{w}");
        for _ in 0..4 {
            b.fail("u:1", a);
        }
        let w = wait(b.check("u:1", a));
        assert!(w > 349.0 && w <= 350.0, "capped: {w}");
        // The account key counts every failure; 7 so far.
        assert!(b.account_waits("u:1"));
        assert!(!b.account_waits("u:3"));
        b.succeed("u:1", other);
        b.succeed("u:2", a);
        assert!(b.check("u:2", a).is_err(), "the address key still holds");
    }

    #[test]
    fn ipv6_counts_by_slash_64() {
        let b = Backoff::new(cfg());
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        b.fail("l:bob", x);
        b.fail("l:bob", y);
        assert!(b.check("l:bob", x).is_err());
    }
}
