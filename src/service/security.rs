//! The security log (issue 17, "User data"): what happened to an account, for its owner
//! (`GET /users/@me/security-log`, spec/account.md). Entries are written by the transaction
//! of the change they record (`storage::log_security!`): logins (time, address,
//! `User-Agent`), MFA changes, password changes and resets, email changes and verification,
//! session revocations. Kept until the account is deleted.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::{Actor, Hearth};
use crate::error::{Error, Result, Rule};
use crate::snowflake::Snowflake;
use crate::storage::{SecurityEntry, now_ms};
use crate::wire;

/// Most entries one `GET /users/@me/security-log` answers (`limit` beyond is clamped).
pub const SECURITY_LOG_PAGE: i64 = 100;

impl Hearth {
    /// A security log entry of `user_id` of `kind` now (`ip`/`user_agent` for logins).
    pub(super) fn security_entry(
        &self,
        user_id: i64,
        kind: &str,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        detail: Value,
    ) -> SecurityEntry {
        SecurityEntry {
            id: self.next_id(),
            user_id,
            kind: kind.to_owned(),
            at: now_ms(),
            ip: ip.map(|i| i.to_string()),
            user_agent: user_agent.map(|u| u.chars().take(256).collect()),
            detail: Some(detail.to_string()),
        }
    }

    /// An entry for a change made by `actor` (its session id in `detail`).
    pub(super) fn actor_entry(&self, actor: &Actor, kind: &str) -> SecurityEntry {
        let detail = match actor.session_id {
            Some(s) => json!({"session_id": Snowflake::from_db(s)}),
            None => json!({}),
        };
        self.security_entry(actor.user.id, kind, None, None, detail)
    }

    /// `GET /users/@me/security-log?before=&limit=`: the caller's entries, newest first
    /// (`limit` 1-100, default 50; `before` an entry id).
    ///
    /// Errors: 403 20001 for bot tokens.
    pub async fn security_log(
        &self,
        actor: &Actor,
        before: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<Vec<wire::SecurityLogEntry>> {
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        let limit = limit.unwrap_or(50).clamp(1, SECURITY_LOG_PAGE);
        let rows = self
            .db
            .security_log(actor.user.id, before.map(|b| b.db()), limit)
            .await?;
        Ok(rows.into_iter().map(Self::security_wire).collect())
    }

    pub(super) fn security_wire(e: SecurityEntry) -> wire::SecurityLogEntry {
        wire::SecurityLogEntry {
            id: Snowflake::from_db(e.id),
            kind: e.kind,
            at: wire::iso(e.at),
            ip: e.ip,
            user_agent: e.user_agent,
            detail: e
                .detail
                .and_then(|d| serde_json::from_str::<Value>(&d).ok())
                .unwrap_or_else(|| json!({})),
        }
    }
}
