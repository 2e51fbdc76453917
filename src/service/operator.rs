//! Operator commands (`hearth admin ...`, issue 19 and README "Administration"): what an
//! instance operator does from a shell on the server's machine, with the database as the
//! authority (no login, no actor). They run in their own process on the same database as a
//! running server; what must reach the running server's connections goes through the
//! database, as session revocations do ([`super::revocations`]: a suspension closes the
//! user's gateway connections within a second).
//!
//! Users are named by username (case-insensitive), email or snowflake id
//! ([`Hearth::operator_user`]). Every answer is a JSON value (what `--json` prints); the CLI
//! renders the same values as text.

use serde_json::{Value, json};

use super::Hearth;
use crate::error::{Error, Result, Unknown, field_error};
use crate::snowflake::Snowflake;
use crate::storage::{SessionRow, UserRow};
use crate::wire;

/// Most rows one `list` prints (`--after` pages on).
pub const OPERATOR_LIST_MAX: i64 = 1000;

/// A change of a user's instance flags (`hearth admin users suspend|unsuspend|make-admin|remove-admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserFlag {
    Suspend,
    Unsuspend,
    MakeAdmin,
    RemoveAdmin,
}

/// A key prefix no blob has: listing it asks the store to answer without reading anything.
const READY_PROBE: &str = "ready-probe/";

impl Hearth {
    /// What keeps this server from serving (`GET /ready`): empty when the database answers a
    /// query and the file store answers a listing; otherwise one sentence per part, e.g.
    /// `database unreachable`, `file store: ...` (the store's error).
    pub async fn readiness(&self) -> Vec<String> {
        let mut failing = Vec::new();
        if !self.db.ping().await {
            failing.push("database unreachable".to_string());
        }
        if let Err(e) = self.blobs.list(READY_PROBE).await {
            failing.push(format!("file store: {}", e.sentences()));
        }
        failing
    }

    /// The user named `who`: a snowflake id, a username (case-insensitive) or an email.
    /// Errors: 404 10013 when nobody matches.
    pub async fn operator_user(&self, who: &str) -> Result<UserRow> {
        if let Ok(id) = who.parse::<u64>()
            && let Some(u) = self.db.user(Snowflake(id).db()).await?
        {
            return Ok(u);
        }
        self.db
            .user_by_login(who)
            .await?
            .ok_or(Error::Unknown(Unknown::User))
    }

    /// One user as the operator sees it: the public user object plus `email`, `admin`,
    /// `suspended`, `mfa_enabled`, `created_at` (ISO 8601), `home_server` (remote users) and
    /// `guilds` (the number of guilds joined).
    pub async fn operator_user_view(&self, u: &UserRow) -> Result<Value> {
        let mut v = serde_json::to_value(self.user_wire(u, false)).map_err(Error::internal)?;
        v["email"] = json!(u.email);
        v["admin"] = json!(u.admin);
        v["suspended"] = json!(u.suspended);
        v["mfa_enabled"] = json!(u.mfa_enabled);
        v["home_server"] = json!(u.home_server);
        v["created_at"] = json!(wire::iso(u.created_at));
        v["guilds"] = json!(self.db.count_guilds_of(u.id).await?);
        Ok(v)
    }

    /// Users with an id above `after`, ascending, at most `limit` (1..=[`OPERATOR_LIST_MAX`]),
    /// each as [`Hearth::operator_user_view`].
    pub async fn operator_users(&self, after: Option<Snowflake>, limit: i64) -> Result<Vec<Value>> {
        let rows = self
            .db
            .list_users(
                after.map_or(0, |a| a.db()),
                limit.clamp(1, OPERATOR_LIST_MAX),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for u in &rows {
            out.push(self.operator_user_view(u).await?);
        }
        Ok(out)
    }

    /// Suspends (and closes every session of), unsuspends, promotes or demotes the user
    /// `who`. Demoting the last administrator is refused (400 50035 on `user`), so the
    /// instance always keeps one once it has one. Returns the user afterwards.
    pub async fn operator_set_flag(&self, who: &str, flag: UserFlag) -> Result<Value> {
        let u = self.operator_user(who).await?;
        if flag == UserFlag::RemoveAdmin && u.admin && self.db.count_admins().await? <= 1 {
            return Err(field_error(
                "user",
                "LAST_ADMIN",
                "This is the only instance administrator; make another one first.",
            ));
        }
        let (admin, suspended) = match flag {
            UserFlag::Suspend => (None, Some(true)),
            UserFlag::Unsuspend => (None, Some(false)),
            UserFlag::MakeAdmin => (Some(true), None),
            UserFlag::RemoveAdmin => (Some(false), None),
        };
        if !self.db.set_user_flags(u.id, admin, suspended).await? {
            return Err(Error::Unknown(Unknown::User));
        }
        if flag == UserFlag::MakeAdmin {
            // An administrator exists now: a setup token printed at start is void.
            self.db.clear_setup_tokens().await?;
        }
        if flag == UserFlag::Suspend {
            self.revoke_sessions(u.id, None, "suspended").await?;
        }
        let after = self
            .db
            .user(u.id)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        self.operator_user_view(&after).await
    }

    /// The login sessions of user `who`: `id`, `created_at`, `refreshed_at` (ISO 8601), `ip`,
    /// `user_agent`. Bot tokens are not sessions.
    pub async fn operator_sessions(&self, who: &str) -> Result<Vec<Value>> {
        let u = self.operator_user(who).await?;
        Ok(self
            .db
            .sessions_of(u.id)
            .await?
            .iter()
            .map(session_view)
            .collect())
    }

    /// Revokes the session `session` of user `who`, or all of them when `None`; the running
    /// server closes their gateway connections (4004). Returns how many were revoked.
    /// Errors: 404 10013 unknown user; 400 50035 on `session` when it is not one of theirs.
    pub async fn operator_revoke_sessions(&self, who: &str, session: Option<i64>) -> Result<usize> {
        let u = self.operator_user(who).await?;
        let existing: Vec<i64> = self
            .db
            .sessions_of(u.id)
            .await?
            .iter()
            .map(|s| s.id)
            .collect();
        let ids = match session {
            Some(id) if !existing.contains(&id) => {
                return Err(field_error(
                    "session",
                    "UNKNOWN_SESSION",
                    "This user has no session with that id.",
                ));
            }
            Some(id) => vec![id],
            None => existing,
        };
        if ids.is_empty() {
            return Ok(0);
        }
        let n = ids.len();
        self.revoke_sessions(u.id, Some(ids), "operator").await?;
        Ok(n)
    }

    /// Guilds with an id above `after`, ascending, at most `limit`: `id`, `name`, `owner_id`,
    /// `owner` (username), `members`, `channels`, `host_server` (replicas of remote guilds),
    /// `created_at`.
    pub async fn operator_guilds(
        &self,
        after: Option<Snowflake>,
        limit: i64,
    ) -> Result<Vec<Value>> {
        let ids = self
            .db
            .list_guild_ids(
                after.map_or(0, |a| a.db()),
                limit.clamp(1, OPERATOR_LIST_MAX),
            )
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = self.operator_guild_view(id).await? {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// One guild as [`Hearth::operator_guilds`] lists it, plus its `roles` and `channels`
    /// (id, name, type). Errors: 404 10004.
    pub async fn operator_guild(&self, id: Snowflake) -> Result<Value> {
        let mut v = self
            .operator_guild_view(id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Guild))?;
        let channels = self.db.channels(id.db()).await?;
        v["channel_list"] = channels
            .iter()
            .map(|c| json!({"id": Snowflake::from_db(c.id).to_string(), "name": c.name, "type": c.kind}))
            .collect();
        v["role_list"] = self
            .db
            .roles(id.db())
            .await?
            .iter()
            .map(|r| json!({"id": Snowflake::from_db(r.id).to_string(), "name": r.name, "position": r.position}))
            .collect();
        Ok(v)
    }

    async fn operator_guild_view(&self, id: i64) -> Result<Option<Value>> {
        let Some(g) = self.db.guild(id).await? else {
            return Ok(None);
        };
        let owner = self.db.user(g.owner_id).await?;
        Ok(Some(json!({
            "id": Snowflake::from_db(g.id).to_string(),
            "name": g.name,
            "owner_id": Snowflake::from_db(g.owner_id).to_string(),
            "owner": owner.map(|o| o.username),
            "members": self.db.member_count(g.id).await?,
            "channels": self.db.count_channels(g.id).await?,
            "host_server": g.host_server,
            "created_at": wire::iso(g.created_at),
        })))
    }
}

fn session_view(s: &SessionRow) -> Value {
    json!({
        "id": s.id.to_string(),
        "created_at": wire::iso(s.created_at),
        "refreshed_at": wire::iso(s.refreshed_at),
        "ip": s.ip,
        "user_agent": s.user_agent,
    })
}
