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
use crate::events::Control;
use crate::snowflake::Snowflake;
use crate::storage::{Lock, SessionRow, UserRow, now_ms};
use crate::wire;
use hearth_federation::policy::DomainPolicy;

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
    /// query and the file store answers a listing, the node is not draining and holds its
    /// snowflake worker lease, and every probe plugged into the node answers
    /// ([`crate::service::node::Node::readiness`]); otherwise one sentence per part, e.g.
    /// `database unreachable`, `file store: ...` (the store's error), `node is draining`.
    pub async fn readiness(&self) -> Vec<String> {
        let mut failing = Vec::new();
        if !self.db.ping().await {
            failing.push("database unreachable".to_string());
        }
        if let Err(e) = self.blobs.list(READY_PROBE).await {
            failing.push(format!("file store: {}", e.sentences()));
        }
        failing.extend(self.node.readiness().await);
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

    /// User `id` read again after a change, as [`Hearth::operator_user_view`]. Errors: 404
    /// 10013.
    async fn operator_user_reread(&self, id: i64) -> Result<Value> {
        let u = self
            .db
            .user(id)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        self.operator_user_view(&u).await
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
            return Err(last_admin());
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
        self.operator_user_reread(u.id).await
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

/// Most invites `hearth admin invites list` prints.
pub const OPERATOR_INVITES_MAX: i64 = 1000;

impl Hearth {
    /// Deletes the account of local user `who` as `POST /users/@me/delete` would (anonymised
    /// as "Deleted User", sessions, keys and bot tokens revoked, peers told), messages kept
    /// unless `delete_messages`. Errors: 404 10013 unknown user; 400 50035 on `user` for a
    /// bot or remote account, an account deleted already, or the last instance administrator;
    /// 400 40011 while the user owns guilds (transfer or delete them first).
    pub async fn operator_delete_user(&self, who: &str, delete_messages: bool) -> Result<Value> {
        let u = self.operator_user(who).await?;
        if u.bot || u.home_server.is_some() {
            return Err(field_error(
                "user",
                "NOT_A_LOCAL_ACCOUNT",
                "Only local user accounts can be deleted here (bots go with their application).",
            ));
        }
        if self.db.is_deleted_account(u.id).await? {
            return Err(field_error(
                "user",
                "ALREADY_DELETED",
                "This account is deleted already.",
            ));
        }
        if u.admin && self.db.count_admins().await? <= 1 {
            return Err(last_admin());
        }
        if !self.db.owned_guild_ids(u.id).await?.is_empty() {
            return Err(Error::Rule(crate::error::Rule::OwnsGuilds));
        }
        let actor = super::Actor {
            user: u.clone(),
            session_id: None,
        };
        self.erase_account(
            &actor,
            delete_messages,
            super::deletion::DeletedBy::Operator,
        )
        .await?;
        self.operator_user_reread(u.id).await
    }

    /// Guild `id` when it is hosted here. Errors: 404 10004; 400 50035 on `guild` for a
    /// replica of a guild hosted elsewhere (only its host may change it).
    async fn operator_hosted_guild(&self, id: Snowflake) -> Result<crate::storage::GuildRow> {
        let g = self
            .db
            .guild(id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Guild))?;
        if let Some(host) = &g.host_server {
            return Err(field_error(
                "guild",
                "REMOTE_GUILD",
                format!("This guild is hosted on {host}; only its host can change it."),
            ));
        }
        Ok(g)
    }

    /// Deletes guild `id` hosted here, as its owner's `DELETE /guilds/{id}` would (members
    /// and member servers told, files released). Errors: 404 10004; 400 50035 on `guild` for
    /// a replica of a guild hosted elsewhere.
    pub async fn operator_delete_guild(&self, id: Snowflake) -> Result<()> {
        let g = self.operator_hosted_guild(id).await?;
        if !self.remove_guild(g.id).await? {
            return Err(Error::Unknown(Unknown::Guild));
        }
        Ok(())
    }

    /// Makes member `who` the owner of guild `id` hosted here (GUILD_UPDATE to its members,
    /// permissions recomputed). Returns the guild as [`Hearth::operator_guild`] shows it.
    /// Errors: 404 10004 / 10013; 400 50035 on `guild` for a replica, on `user` when they
    /// own it already or are not a member.
    pub async fn operator_transfer_guild(&self, id: Snowflake, who: &str) -> Result<Value> {
        let g = self.operator_hosted_guild(id).await?;
        let u = self.operator_user(who).await?;
        if u.id == g.owner_id {
            return Err(field_error(
                "user",
                "ALREADY_OWNER",
                "This user owns the guild already.",
            ));
        }
        let not_member = || {
            field_error(
                "user",
                "GUILD_OWNER_INVALID",
                "The new owner must be a member of the guild.",
            )
        };
        if u.bot || self.db.member(g.id, u.id).await?.is_none() {
            return Err(not_member());
        }
        let emojis = self.guild_emojis_wire(g.id).await?;
        let mut ch = self.db.change(Lock::Guild(g.id)).await?;
        // The guild as it is under the lock, so a concurrent change is kept, not reverted.
        let mut next = ch
            .guild(g.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Guild))?;
        if next.owner_id == u.id {
            return Err(field_error(
                "user",
                "ALREADY_OWNER",
                "This user owns the guild already.",
            ));
        }
        let from = next.owner_id;
        next.owner_id = u.id;
        // Writes nothing when they left meanwhile.
        if !ch.update_guild(&next, None, None).await? {
            return Err(not_member());
        }
        self.commit_guild_update(ch, &next, emojis).await?;
        self.control(Control::PermissionsChanged { guild_id: id });
        tracing::info!(
            guild = g.id,
            from,
            to = u.id,
            "guild ownership transferred by the operator"
        );
        self.operator_guild(id).await
    }

    /// Invites of guild `guild` (or of every guild), oldest first, at most
    /// [`OPERATOR_INVITES_MAX`]: `code`, `guild_id`, `channel_id`, `inviter` (username),
    /// `uses`, `max_uses`, `max_age` (s), `created_at`, `expires_at` (ISO 8601 or null).
    pub async fn operator_invites(&self, guild: Option<Snowflake>) -> Result<Vec<Value>> {
        let rows = self
            .db
            .list_invites(guild.map(|g| g.db()), OPERATOR_INVITES_MAX)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for inv in rows {
            let inviter = self.db.user(inv.inviter_id).await?.map(|u| u.username);
            out.push(json!({
                "code": inv.code,
                "guild_id": Snowflake::from_db(inv.guild_id).to_string(),
                "channel_id": Snowflake::from_db(inv.channel_id).to_string(),
                "inviter": inviter,
                "uses": inv.uses,
                "max_uses": inv.max_uses,
                "max_age": inv.max_age,
                "created_at": wire::iso(inv.created_at),
                "expires_at": (inv.max_age > 0).then(|| wire::iso(inv.created_at + inv.max_age * 1000)),
            }));
        }
        Ok(out)
    }

    /// Deletes invite `code` (INVITE_DELETE to the guild; no audit entry: no member acted).
    /// Errors: 404 10006.
    pub async fn operator_revoke_invite(&self, code: &str) -> Result<()> {
        let inv = self.stored_invite(code).await?;
        self.remove_invite(&inv, None).await
    }

    /// Member servers of guilds hosted here: `server`, `guilds`, `pending` (log events not
    /// yet delivered), `lag_seconds` (age of the oldest undelivered event, 0 when none),
    /// `failures` (the most consecutive failures of one of its guilds), `next_attempt_at` (ISO
    /// 8601 or null: the earliest of its guilds'), `failing_since` (ISO 8601: since when it has
    /// answered none of our deliveries, or null), `dead` and `dead_since` (ISO 8601 or null:
    /// no pushes until it is back, spec/federation.md §9.4), `push_attempts` (push requests
    /// attempted over its current guilds), `probes` (probes sent while it was dead),
    /// `blocked`.
    pub async fn operator_peers(&self) -> Result<Vec<Value>> {
        let patterns: Vec<String> = self
            .db
            .federation_blocks()
            .await?
            .into_iter()
            .map(|b| b.server)
            .collect();
        // Judged as the running server judges them (patterns, ports).
        let blocked = DomainPolicy::new(&patterns, &[]);
        let now = now_ms();
        Ok(self
            .db
            .peer_summaries()
            .await?
            .into_iter()
            .map(|p| {
                json!({
                    "server": p.server,
                    "guilds": p.guilds,
                    "pending": p.pending,
                    "lag_seconds": lag_seconds(p.oldest_pending_at, now),
                    "failures": p.failures,
                    "next_attempt_at": (p.next_attempt_at > now).then(|| wire::iso(p.next_attempt_at)),
                    "failing_since": p.failing_since.map(wire::iso),
                    "dead": p.dead,
                    "dead_since": p.dead_at.map(wire::iso),
                    "push_attempts": p.push_attempts,
                    "probes": p.probes,
                    "blocked": !blocked.allows(&p.server),
                })
            })
            .collect())
    }

    /// Servers blocked with [`Hearth::operator_block`]: `server`, `reason`, `created_at`.
    pub async fn operator_blocks(&self) -> Result<Vec<Value>> {
        Ok(self
            .db
            .federation_blocks()
            .await?
            .into_iter()
            .map(|b| json!({"server": b.server, "reason": b.reason, "created_at": wire::iso(b.created_at)}))
            .collect())
    }

    /// Blocks federation with `server` (a server name, optionally with its port, or
    /// `*.domain`): the running server refuses its requests and sends it nothing within
    /// 500 ms. Returns whether it was newly blocked. Errors: 400 50035 on `server` for a
    /// malformed name or this server's own name.
    pub async fn operator_block(&self, server: &str, reason: Option<&str>) -> Result<bool> {
        let name = server.trim().to_ascii_lowercase();
        let plain = name.strip_prefix("*.").unwrap_or(&name);
        let valid = !plain.is_empty()
            && plain.len() <= 255
            && plain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !valid {
            return Err(field_error(
                "server",
                "INVALID_SERVER_NAME",
                "Give a server name such as chat.example.org, chat.example.org:8448 or *.example.org.",
            ));
        }
        if !DomainPolicy::new(std::slice::from_ref(&name), &[]).allows(&self.config.server_name) {
            return Err(field_error(
                "server",
                "OWN_SERVER",
                "This matches this server's own name.",
            ));
        }
        self.db.block_server(&name, reason, now_ms()).await
    }

    /// Lifts a block; whether `server` was blocked. The member servers it matched are
    /// delivered to at once (their backoff is cleared; the running server wakes their
    /// delivery within 500 ms).
    pub async fn operator_unblock(&self, server: &str) -> Result<bool> {
        let name = server.trim().to_ascii_lowercase();
        let pattern = DomainPolicy::new(std::slice::from_ref(&name), &[]);
        let peers: Vec<String> = self
            .db
            .peer_servers()
            .await?
            .into_iter()
            .filter(|p| !pattern.allows(p))
            .collect();
        self.db.unblock_server(&name, &peers).await
    }

    /// The registrar link: `configured` (URL or null) and, per registrar the running server
    /// has tried, `registrations`, `registered_key`, `last_attempt_at`, `last_success_at`,
    /// `last_error`.
    pub async fn operator_registrar(&self) -> Result<Value> {
        let links: Vec<Value> = self
            .db
            .registrar_states()
            .await?
            .into_iter()
            .map(|r| {
                json!({
                    "registrar": r.registrar,
                    "registrations": r.registrations,
                    "registered_key": r.registered_key,
                    "last_attempt_at": wire::iso(r.last_attempt_at),
                    "last_success_at": r.last_success_at.map(wire::iso),
                    "last_error": r.last_error,
                })
            })
            .collect();
        Ok(json!({
            "configured": self.config.registrar.url,
            "links": links,
        }))
    }
}

/// Seconds since `oldest` (ms), 0 when nothing is pending.
pub fn lag_seconds(oldest: Option<i64>, now: i64) -> f64 {
    oldest.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0)
}

/// 400 50035 on `user`: the change would leave the instance without an administrator.
fn last_admin() -> Error {
    field_error(
        "user",
        "LAST_ADMIN",
        "This is the only instance administrator; make another one first.",
    )
}
