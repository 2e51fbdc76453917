//! Guild members: list, search, read, modify, kick, member roles (Discord "Resources > Guild > Guild Member").

use super::{Actor, GuildAccess, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, Result, Rule, Unknown, field_error};
use crate::events::{Control, Event, intents};
use crate::permissions::{self as perm};
use crate::snowflake::Snowflake;
use crate::storage::{Change, Lock, UserRow, now_ms};
use crate::wire;
use serde_json::{Value, json};

use super::ports::{RelayAction, RelayOp};

/// How many guilds [`Hearth::profile_changed`] announces a profile change to at once.
pub const PROFILE_RELAYS_AT_ONCE: usize = 8;

/// Longest timeout, ms (28 days, Discord "Modify Guild Member").
pub const MAX_TIMEOUT_MS: i64 = 28 * 24 * 3600 * 1000;

/// The end of a timeout from its ISO 8601 text, ms. Errors: 400 50035 on
/// `communication_disabled_until` when it does not parse or lies more than
/// [`MAX_TIMEOUT_MS`] ahead.
fn parse_timeout(text: &str) -> Result<i64> {
    const FIELD: &str = "communication_disabled_until";
    let t = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|_| field_error(FIELD, "DATE_TIME_INVALID", "Invalid ISO 8601 timestamp."))?
        .timestamp_millis();
    if t > now_ms() + MAX_TIMEOUT_MS {
        return Err(field_error(
            FIELD,
            "BASE_TYPE_BAD_TIME",
            "Timeouts can last at most 28 days.",
        ));
    }
    Ok(t)
}

impl Hearth {
    // ---- members --------------------------------------------------------------------

    /// `GET /guilds/{id}/members` (`limit` 1-1000, default 1; `after` user id).
    pub async fn list_members(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        limit: Option<i64>,
        after: Option<Snowflake>,
    ) -> Result<Vec<wire::Member>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let limit = limit.unwrap_or(1);
        if !(1..=1000).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 1000.",
            ));
        }
        if ga.guild.host_server.is_some()
            && let Some(rg) = self.db.remote_guild(ga.guild.id).await?
        {
            // Members page in lazily from the host, in the host's order.
            match self
                .host
                .member_page(self, &rg, after.map_or(0, |a| a.db()), limit)
                .await
            {
                Ok(ids) => {
                    let mut out = Vec::with_capacity(ids.len());
                    for uid in ids {
                        out.push(self.member_wire_by_id(ga.guild.id, uid, false).await?);
                    }
                    return Ok(out);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "member paging from the host failed; serving the replica")
                }
            }
        }
        let rows = self
            .db
            .members_page(ga.guild.id, after.map_or(0, |a| a.db()), limit)
            .await?;
        self.members_wire(ga.guild.id, &rows, false).await
    }

    /// `GET /guilds/{id}/members/search?query=&limit=` (prefix of username, nick, global name).
    pub async fn search_members(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        query: Option<String>,
        limit: Option<i64>,
    ) -> Result<Vec<wire::Member>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let Some(q) = query.filter(|q| !q.is_empty()) else {
            return Err(field_error(
                "query",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        if q.contains('\0') {
            return Err(field_error(
                "query",
                "BASE_TYPE_INVALID",
                "Must not contain NUL characters.",
            ));
        }
        let limit = limit.unwrap_or(1);
        if !(1..=1000).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 1000.",
            ));
        }
        let rows = self.db.search_members(ga.guild.id, &q, limit).await?;
        self.members_wire(ga.guild.id, &rows, false).await
    }

    /// `GET /guilds/{id}/members/{user_id}`.
    pub async fn get_member(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<wire::Member> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        self.member_wire_by_id(ga.guild.id, user_id.db(), false)
            .await
    }

    /// Hierarchy check for acting on a member: the target's highest role must rank below the
    /// caller's, and the owner can never be the target.
    pub(super) async fn require_outranks(&self, ga: &GuildAccess, target: i64) -> Result<()> {
        if target == ga.guild.owner_id {
            return Err(Error::MissingPermissions);
        }
        if ga.is_owner() {
            return Ok(());
        }
        let roles = self.db.member_role_ids(ga.guild.id, target).await?;
        if ga.top_position_of(target, &roles) < ga.top_position() {
            Ok(())
        } else {
            Err(Error::MissingPermissions)
        }
    }

    /// `PATCH /guilds/{id}/members/{user_id}` (and `@me` for `nick`).
    ///
    /// `nick` needs MANAGE_NICKNAMES on others (with hierarchy) or CHANGE_NICKNAME on oneself;
    /// `roles` needs MANAGE_ROLES and every added or removed role must rank below the caller;
    /// `communication_disabled_until` (a timeout: ISO 8601, at most [`MAX_TIMEOUT_MS`] ahead,
    /// `null` or a past time to end it) needs MODERATE_MEMBERS, a target ranking below the
    /// caller, and a target without ADMINISTRATOR (403 50013 otherwise; 400 50035 on the field
    /// for a bad or too distant time). A timed-out member keeps only VIEW_CHANNEL and
    /// READ_MESSAGE_HISTORY ([`perm::TIMED_OUT_KEEPS`]) until the time passes. `mute`,
    /// `deaf` and `channel_id` (server mute, deafen, move or disconnect) follow
    /// [`Hearth::member_voice_plan`]: 400 40032 when the member is not in voice.
    pub async fn modify_member(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        body: wire::ModifyMemberBody,
        reason: Option<&str>,
    ) -> Result<wire::Member> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let target = user_id.db();
        let member = self
            .db
            .member(ga.guild.id, target)
            .await?
            .ok_or(Error::Unknown(Unknown::Member))?;
        // `mute`, `deaf`, `channel_id` (service/voice.rs): checked now, applied below.
        let voice = self.member_voice_plan(actor, &ga, target, &body).await?;
        let mut changes = vec![];
        if let Some(nick) = &body.nick {
            if target == actor.user.id {
                let base = ga.base_unquarantined();
                if !perm::has(base, perm::CHANGE_NICKNAME)
                    && !perm::has(base, perm::MANAGE_NICKNAMES)
                {
                    return Err(Error::MissingPermissions);
                }
            } else {
                ga.require(perm::MANAGE_NICKNAMES)?;
                self.require_outranks(&ga, target).await?;
            }
            if nick.as_ref().is_some_and(|n| n.chars().count() > 32) {
                return Err(field_error(
                    "nick",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 32 or fewer in length.",
                ));
            }
        }
        let mut new_roles = None;
        if let Some(roles) = &body.roles {
            ga.require(perm::MANAGE_ROLES)?;
            let current = self.db.member_role_ids(ga.guild.id, target).await?;
            let wanted: Vec<i64> = roles
                .iter()
                .map(|r| r.db())
                .filter(|r| *r != ga.guild.id)
                .collect();
            for r in wanted
                .iter()
                .filter(|r| !current.contains(r))
                .chain(current.iter().filter(|r| !wanted.contains(r)))
            {
                let role = ga.role(*r).ok_or(Error::Unknown(Unknown::Role))?;
                Self::require_below(&ga, role)?;
                if role.managed {
                    return Err(Error::Rule(Rule::InvalidRole));
                }
            }
            changes.push(change(
                "$roles",
                current.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                wanted.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            ));
            new_roles = Some(wanted);
        }
        let mut timeout = None;
        if let Some(until) = &body.communication_disabled_until {
            ga.require(perm::MODERATE_MEMBERS)?;
            self.require_outranks(&ga, target).await?;
            // Administrators cannot be timed out (the owner is refused by the hierarchy).
            let target_roles = self.db.member_role_ids(ga.guild.id, target).await?;
            let admin = ga
                .roles
                .iter()
                .filter(|r| r.id == ga.guild.id || target_roles.contains(&r.id))
                .any(|r| r.permissions as u64 & perm::ADMINISTRATOR != 0);
            if admin {
                return Err(Error::MissingPermissions);
            }
            let until = until.as_deref().map(parse_timeout).transpose()?;
            // A time already past ends the timeout, as `null` does.
            let until = until.filter(|t| *t > now_ms());
            let current = member
                .communication_disabled_until
                .filter(|t| *t > now_ms());
            changes.push(change(
                "communication_disabled_until",
                current.map(wire::iso),
                until.map(wire::iso),
            ));
            timeout = Some(until);
        }
        let nick = body
            .nick
            .as_ref()
            .map(|n| n.as_deref().map(str::trim).filter(|n| !n.is_empty()));
        if let Some(nick) = nick {
            changes.push(change("nick", &member.nick, nick));
        }
        if let Some(b) = &voice.before {
            for (key, old, new) in [("mute", b.mute, body.mute), ("deaf", b.deaf, body.deaf)] {
                if let Some(new) = new.filter(|n| *n != old) {
                    changes.push(change(key, old, new));
                }
            }
        }
        let moved = voice.moves();
        let voice_now = if voice.is_empty() {
            None
        } else {
            Some(self.member_voice(voice).await?)
        };
        // A move or a disconnect is its own entry (Discord's MEMBER_MOVE 26 with the channel,
        // MEMBER_DISCONNECT 27; `count` is 1: Hearth does not merge entries).
        let voice_audit = moved.map(|to| {
            let (action, options) = match to {
                Some(c) => (
                    A::MEMBER_MOVE,
                    json!({"channel_id": Snowflake::from_db(c), "count": "1"}),
                ),
                None => (A::MEMBER_DISCONNECT, json!({"count": "1"})),
            };
            self.audit_row(
                ga.guild.id,
                actor,
                None,
                action,
                json!([]),
                Some(options),
                reason,
            )
        });
        let action = if new_roles.is_some() {
            A::MEMBER_ROLE_UPDATE
        } else {
            A::MEMBER_UPDATE
        };
        let audit = (!changes.is_empty()).then(|| {
            self.audit_row(
                ga.guild.id,
                actor,
                Some(target),
                action,
                json!(changes),
                None,
                reason,
            )
        });
        // Nickname, the whole role set, the audit entry and the log entry in one transaction.
        let user = self.db.user(target).await?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        ch.update_member(ga.guild.id, target, nick, new_roles.as_deref())
            .await?;
        if let Some(until) = timeout {
            ch.set_member_timeout(ga.guild.id, target, until).await?;
        }
        for a in audit.iter().chain(&voice_audit) {
            ch.audit(a).await?;
        }
        let mut w = self
            .commit_member_change(ch, ga.guild.id, user.as_ref(), target, new_roles.is_some())
            .await?;
        // A new nickname (or new roles, which may exempt her) against MEMBER_PROFILE rules.
        if nick.is_some() || new_roles.is_some() {
            self.automod_profile(ga.guild.id, target).await?;
            if let Some(m) = self.db.member(ga.guild.id, target).await? {
                w.flags = m.flags as u64;
            }
        }
        if let Some(Some(v)) = voice_now {
            w.mute = v.mute;
            w.deaf = v.deaf;
        }
        Ok(w)
    }

    /// Commits a change of a member with the GUILD_MEMBER_UPDATE that announces the member
    /// as the change leaves it (`user`: the member's user row, read before the change);
    /// returns the member (without `guild_id`).
    async fn commit_member_change(
        &self,
        mut ch: Change,
        guild_id: i64,
        user: Option<&UserRow>,
        user_id: i64,
        roles_changed: bool,
    ) -> Result<wire::Member> {
        let (m, roles) = ch
            .member(guild_id, user_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Member))?;
        let w = self.member_wire(&m, user, roles, true);
        let d = Self::event_of(
            Event::GuildMemberUpdate,
            Self::guild_audience(guild_id),
            intents::GUILD_MEMBERS,
            to_value(&w),
        );
        self.commit(ch, vec![d]).await?;
        if roles_changed {
            self.control(Control::PermissionsChanged {
                guild_id: Snowflake::from_db(guild_id),
            });
        }
        let mut w = w;
        w.guild_id = None;
        Ok(w)
    }

    /// `PUT/DELETE /guilds/{id}/members/{user_id}/roles/{role_id}`: MANAGE_ROLES, the role
    /// must rank below the caller and not be managed or `@everyone`.
    pub async fn member_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        role_id: Snowflake,
        add: bool,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let role = ga
            .role(role_id.db())
            .cloned()
            .ok_or(Error::Unknown(Unknown::Role))?;
        Self::require_below(&ga, &role)?;
        if role.managed || role.id == ga.guild.id {
            return Err(Error::Rule(Rule::InvalidRole));
        }
        let user = self.db.user(user_id.db()).await?;
        let key = if add { "$add" } else { "$remove" };
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(user_id.db()),
            A::MEMBER_ROLE_UPDATE,
            json!([{"key": key, "new_value": [{"id": role_id, "name": role.name}]}]),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if ch.member(ga.guild.id, user_id.db()).await?.is_none() {
            return Err(Error::Unknown(Unknown::Member));
        }
        // Nothing changed (the member has, or lacks, the role already): no entry, no event.
        if !ch
            .member_role(ga.guild.id, user_id.db(), role.id, add)
            .await?
        {
            return Ok(());
        }
        ch.audit(&audit).await?;
        self.commit_member_change(ch, ga.guild.id, user.as_ref(), user_id.db(), true)
            .await?;
        Ok(())
    }

    /// `DELETE /guilds/{id}/members/{user_id}`: kick. KICK_MEMBERS and hierarchy.
    pub async fn kick(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::KICK_MEMBERS)?;
        if self.db.member(ga.guild.id, user_id.db()).await?.is_none() {
            return Err(Error::Unknown(Unknown::Member));
        }
        self.require_outranks(&ga, user_id.db()).await?;
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(user_id.db()),
            A::MEMBER_KICK,
            json!([]),
            None,
            reason,
        );
        // The membership and the audit entry go together (a member who left meanwhile is
        // not recorded as kicked).
        self.remove_member(ga.guild.id, user_id.db(), Some(&audit))
            .await
    }
    /// After a profile change of `user` (a local user: username, display name or avatar),
    /// at most [`PROFILE_RELAYS_AT_ONCE`] guilds at a time:
    /// - every guild hosted here announces her with a GUILD_MEMBER_UPDATE (Discord "Guild
    ///   Member Update": member lists follow it, and libraries derive `on_user_update` from
    ///   it), which the federation log carries to its member servers;
    /// - the host of every replica guild she is a member of is told her display name and
    ///   avatar (the relayed `profile_update` action, spec/federation.md §8.6) when
    ///   federation is on, and announces her the same way.
    ///
    /// Best effort: a guild whose change fails, or a host that cannot be reached or refuses,
    /// keeps the old profile until her next change (logged, not retried); the change of her
    /// row has already committed.
    pub(crate) async fn profile_changed(&self, actor: &Actor, user: &UserRow) {
        use futures_util::StreamExt;
        let guilds = match self.db.guild_ids_of(user.id).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "profile change: reading the user's guilds failed");
                return;
            }
        };
        let body = json!({"global_name": user.global_name, "avatar": user.avatar});
        let actor = Actor {
            user: user.clone(),
            session_id: actor.session_id,
        };
        futures_util::stream::iter(guilds)
            .for_each_concurrent(PROFILE_RELAYS_AT_ONCE, |gid| {
                let (actor, body) = (&actor, body.clone());
                async move {
                    let rg = match self.db.remote_guild(gid).await {
                        Ok(rg) => rg,
                        Err(e) => {
                            tracing::warn!(error = %e, gid, "profile change: replica lookup failed");
                            return;
                        }
                    };
                    let Some(rg) = rg else {
                        // The row is read under the guild's lock: of two quick changes, the
                        // announcement committed last carries the newest profile.
                        let announced = async {
                            let ch = self.db.change(Lock::Guild(gid)).await?;
                            let fresh = self.db.user(user.id).await?;
                            self.commit_member_change(ch, gid, fresh.as_ref(), user.id, false)
                                .await
                        };
                        match announced.await {
                            // A member who left meanwhile has nobody to be announced to.
                            Ok(_) | Err(Error::Unknown(Unknown::Member)) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, gid, "profile change: member update failed");
                            }
                        }
                        // Her new names against the guild's MEMBER_PROFILE rule.
                        if let Err(e) = self.automod_profile(gid, user.id).await {
                            tracing::warn!(error = %e, gid, "profile change: profile check failed");
                        }
                        return;
                    };
                    if !self.config.federation.enabled {
                        return;
                    }
                    let mut action = RelayAction::new(RelayOp::ProfileUpdate);
                    action.body = body;
                    if let Err(e) = self.host.relay(self, actor, &rg, action).await {
                        tracing::warn!(error = %e, gid, host = %rg.host, "profile relay failed");
                    }
                }
            })
            .await;
    }

    /// The host side of a relayed `profile_update` (spec/federation.md §8.6): `body`
    /// `{"global_name": 1-32 characters | null, "avatar": image hash | null}` from the home of
    /// `actor` (a remote member of `guild_id`). Her row here takes them, and the guild hears
    /// a GUILD_MEMBER_UPDATE, which carries them to its members and member servers.
    ///
    /// # Errors
    /// 400 50035 for a body of another shape (both keys are required); 404 10007 if she is
    /// not a member of the guild.
    pub async fn remote_profile_changed(
        &self,
        actor: &Actor,
        guild_id: i64,
        body: &Value,
    ) -> Result<()> {
        let field = |key: &str, ok: fn(&str) -> bool| match body.get(key) {
            None => Err(field_error(
                key,
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )),
            Some(Value::Null) => Ok(None),
            Some(Value::String(v)) if ok(v) => Ok(Some(v.as_str())),
            _ => Err(field_error(key, "BASE_TYPE_BAD_VALUE", "Invalid value.")),
        };
        let global_name = field("global_name", |v| (1..=32).contains(&v.chars().count()))?;
        let avatar = field("avatar", |v| {
            (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })?;
        if self.db.member(guild_id, actor.user.id).await?.is_none() {
            return Err(Error::Unknown(Unknown::Member));
        }
        let released = self
            .db
            .update_remote_profile(
                actor.user.id,
                global_name,
                avatar,
                actor.user.avatar.as_deref(),
            )
            .await?;
        self.files_released(released);
        let user = self.db.user(actor.user.id).await?;
        let ch = self.db.change(Lock::Guild(guild_id)).await?;
        self.commit_member_change(ch, guild_id, user.as_ref(), actor.user.id, false)
            .await?;
        self.automod_profile(guild_id, actor.user.id).await
    }
}
