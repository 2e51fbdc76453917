//! The address throttles of the auth routes (`rate_limits.register_per_ip` and
//! `login_per_ip`, README "Rate limits") and the second-factor attempts per account
//! (`mfa.attempts_per_account`): the node's own buckets, or on a cluster one bucket
//! per address in Redis shared by every node ([`crate::cluster::RedisLimits`], spec/cluster.md
//! §4), with the node's own standing in while Redis fails.

use std::net::IpAddr;

use super::Hearth;
use crate::error::Result;

/// An address throttle of the auth routes (README "Rate limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpThrottle {
    /// `rate_limits.register_per_ip`.
    Register,
    /// `rate_limits.login_per_ip` (logins, MFA codes, passkey logins).
    Login,
}

impl Hearth {
    /// Takes one token of an address throttle for `ip`: the cluster's bucket in Redis when
    /// the composition root shared one ([`Hearth::share_limits`]; the node's own bucket
    /// while Redis fails), else the node's own. Errors: 429 (Discord's rate-limit body,
    /// `retry_after` in seconds).
    pub(crate) async fn throttle_ip(&self, which: IpThrottle, ip: IpAddr) -> Result<()> {
        let rl = &self.config.rate_limits;
        let (local, name, bucket) = match which {
            IpThrottle::Register => (&self.auth.register_ip, "register_ip", rl.register_per_ip),
            IpThrottle::Login => (&self.auth.login_ip, "login_ip", rl.login_per_ip),
        };
        self.shared_or_local(name, &ip.to_string(), bucket, || local.check(&ip))
            .await
    }

    /// Takes one of the second-factor attempts of account `user_id`
    /// (`mfa.attempts_per_account`: login tickets, enabling and disabling MFA, re-auth
    /// proofs): the cluster's bucket in Redis when shared (the node's own while Redis
    /// fails), else the node's own. Errors: 429 (Discord's rate-limit body).
    pub(crate) async fn throttle_mfa(&self, user_id: i64) -> Result<()> {
        let bucket = self.config.mfa.attempts_per_account;
        self.shared_or_local("mfa", &user_id.to_string(), bucket, || {
            self.mfa.attempts.check(&user_id)
        })
        .await
    }

    /// One token of the cluster's bucket `name` for `key` when the composition root shared
    /// the buckets, else (or while Redis fails) of the node's own, `local`.
    async fn shared_or_local(
        &self,
        name: &str,
        key: &str,
        bucket: crate::config::Bucket,
        local: impl FnOnce() -> Result<crate::ratelimit::Allowed>,
    ) -> Result<()> {
        if let Some(shared) = self.shared_limits.get() {
            match shared.check(name, key, bucket, "user", false).await {
                Ok(r) => return r.map(|_| ()),
                Err(e) => {
                    tracing::warn!(error = %e, "shared throttle unavailable; local bucket used")
                }
            }
        }
        local().map(|_| ())
    }

    /// Keeps the address throttles and the second-factor attempts in the cluster's Redis,
    /// one bucket per address (per account) across the nodes (set once by the composition
    /// root when `cluster.redis_url` is set).
    pub fn share_limits(&self, limits: crate::cluster::RedisLimits) {
        let _ = self.shared_limits.set(limits);
    }
}
