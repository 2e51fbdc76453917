//! Roles and their positions (Discord "Resources > Guild > Role", "Topics > Permissions > Role Hierarchy").

use super::{Actor, GuildAccess, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Control, Dispatch, Event, intents};
use crate::permissions::{self as perm};
use crate::snowflake::Snowflake;
use crate::storage::{Lock, RoleRow};
use crate::wire::{self, dispatch};
use serde_json::{Value, json};

impl Hearth {
    // ---- roles ----------------------------------------------------------------------

    /// `GET /guilds/{id}/roles`.
    pub async fn roles(&self, actor: &Actor, guild_id: Snowflake) -> Result<Vec<wire::Role>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Ok(ga.roles.iter().map(Self::role_wire).collect())
    }

    /// `POST /guilds/{id}/roles`: MANAGE_ROLES; the new role goes to the bottom (position 1)
    /// and may only carry permissions the caller has.
    pub async fn create_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::RoleBody,
        reason: Option<&str>,
    ) -> Result<wire::Role> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let permissions = body.permissions.unwrap_or(0) & perm::ALL;
        Self::check_grantable(&ga, permissions)?;
        let mut errs = FieldErrors::new();
        let name = body.name.unwrap_or_else(|| "new role".into());
        Self::check_name(&name, "name", 1, 100, &mut errs);
        if body.color.is_some_and(|c| c > 0xFF_FFFF) {
            errs.add(
                "color",
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 16777215.",
            );
        }
        errs.into_result()?;
        let role = RoleRow {
            id: self.next_id(),
            guild_id: ga.guild.id,
            name: name.trim().to_string(),
            color: i64::from(body.color.unwrap_or(0)),
            hoist: body.hoist.unwrap_or(false),
            position: 1,
            permissions: permissions as i64,
            managed: false,
            mentionable: body.mentionable.unwrap_or(false),
            bot_id: None,
        };
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(role.id),
            A::ROLE_CREATE,
            json!([
                change("name", Value::Null, &role.name),
                change("permissions", Value::Null, permissions.to_string())
            ]),
            None,
            reason,
        );
        let max = i64::from(self.config.limits.max_roles_per_guild);
        let role = self
            .insert_role_at_bottom(&ga, role, Some(max), None, Some(&audit))
            .await?;
        Ok(Self::role_wire(&role))
    }

    /// Inserts `role` at position 1 (above `@everyone`), shifting the roles at 1 and above
    /// up, in one transaction with the role limit (`max_roles`, 30005), the optional new
    /// member holding it (`member`: user id, joined at; announced with GUILD_MEMBER_ADD when
    /// new) and the audit entry (`Change::create_role`); then announces the role and the
    /// shifted ones.
    pub(crate) async fn insert_role_at_bottom(
        &self,
        ga: &GuildAccess,
        mut role: RoleRow,
        max_roles: Option<i64>,
        member: Option<(i64, i64)>,
        audit: Option<&crate::storage::AuditRow>,
    ) -> Result<RoleRow> {
        role.position = 1;
        let joiner = match member {
            Some((uid, _)) => Some(
                self.db
                    .user(uid)
                    .await?
                    .ok_or(Error::Unknown(Unknown::User))?,
            ),
            None => None,
        };
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        let was_member = match &joiner {
            Some(u) => ch.member(ga.guild.id, u.id).await?.is_some(),
            None => true,
        };
        let shifted = ch
            .create_role(&role, max_roles, member)
            .await?
            .ok_or(Error::Rule(Rule::MaxRoles))?;
        if let Some(a) = audit {
            ch.audit(a).await?;
        }
        let mut events = vec![Self::role_event(Event::GuildRoleCreate, ga.guild.id, &role)];
        events.extend(
            shifted
                .iter()
                .map(|r| Self::role_event(Event::GuildRoleUpdate, ga.guild.id, r)),
        );
        let mut controls = vec![];
        if let Some(u) = joiner.as_ref().filter(|_| !was_member) {
            events.push(self.member_add_event(&mut ch, ga.guild.id, u).await?);
            controls.push(Self::joined(ga.guild.id, u.id));
        }
        self.commit_then(ch, controls, events).await?;
        Ok(role)
    }

    /// GUILD_ROLE_CREATE or GUILD_ROLE_UPDATE of `role` (intent GUILDS).
    fn role_event(event: Event, guild_id: i64, role: &RoleRow) -> Dispatch {
        Self::event_of(
            event,
            Self::guild_audience(guild_id),
            intents::GUILDS,
            to_value(&dispatch::GuildRole {
                guild_id: Snowflake::from_db(guild_id),
                role: Self::role_wire(role),
            }),
        )
    }

    /// Hierarchy check for acting on a role: it must rank below the caller's highest role.
    pub(super) fn require_below(ga: &GuildAccess, role: &RoleRow) -> Result<()> {
        if ga.is_owner() || role.position < ga.top_position() {
            Ok(())
        } else {
            Err(Error::MissingPermissions)
        }
    }

    /// `PATCH /guilds/{id}/roles/{role_id}`: MANAGE_ROLES, role below the caller's highest.
    pub async fn modify_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        role_id: Snowflake,
        body: wire::RoleBody,
        reason: Option<&str>,
    ) -> Result<wire::Role> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let mut role = ga
            .role(role_id.db())
            .cloned()
            .ok_or(Error::Unknown(Unknown::Role))?;
        Self::require_below(&ga, &role)?;
        let mut errs = FieldErrors::new();
        let mut changes = vec![];
        if let Some(n) = body.name
            && role.id != ga.guild.id
        {
            Self::check_name(&n, "name", 1, 100, &mut errs);
            changes.push(change("name", &role.name, n.trim()));
            role.name = n.trim().to_string();
        }
        if let Some(p) = body.permissions {
            let p = p & perm::ALL;
            // Only bits that change must be ones the caller holds.
            Self::check_grantable(&ga, p ^ (role.permissions as u64))?;
            changes.push(change(
                "permissions",
                (role.permissions as u64).to_string(),
                p.to_string(),
            ));
            role.permissions = p as i64;
        }
        if let Some(c) = body.color {
            if c > 0xFF_FFFF {
                errs.add(
                    "color",
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 16777215.",
                );
            }
            role.color = i64::from(c);
        }
        if let Some(h) = body.hoist {
            role.hoist = h;
        }
        if let Some(m) = body.mentionable {
            role.mentionable = m;
        }
        errs.into_result()?;
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(role.id),
            A::ROLE_UPDATE,
            json!(changes),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        ch.update_role(&role).await?;
        ch.audit(&audit).await?;
        // As stored (the position may have moved meanwhile).
        let role = ch
            .roles(ga.guild.id)
            .await?
            .into_iter()
            .find(|r| r.id == role.id)
            .ok_or(Error::Unknown(Unknown::Role))?;
        let d = Self::role_event(Event::GuildRoleUpdate, ga.guild.id, &role);
        self.commit(ch, vec![d]).await?;
        self.control(Control::PermissionsChanged { guild_id });
        Ok(Self::role_wire(&role))
    }

    /// `DELETE /guilds/{id}/roles/{role_id}`: MANAGE_ROLES, hierarchy; not `@everyone`,
    /// not a managed role.
    pub async fn delete_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        role_id: Snowflake,
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
        if role.id == ga.guild.id || role.managed {
            return Err(Error::Rule(Rule::InvalidRole));
        }
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(role.id),
            A::ROLE_DELETE,
            json!([change("name", &role.name, Value::Null)]),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if !ch.delete_role(role.id).await? {
            return Err(Error::Unknown(Unknown::Role));
        }
        ch.audit(&audit).await?;
        let d = Self::event_of(
            Event::GuildRoleDelete,
            Self::guild_audience(ga.guild.id),
            intents::GUILDS,
            to_value(&dispatch::GuildRoleDelete { guild_id, role_id }),
        );
        self.commit(ch, vec![d]).await?;
        self.control(Control::PermissionsChanged { guild_id });
        Ok(())
    }

    /// `PATCH /guilds/{id}/roles`: positions; only roles below the caller's highest may move,
    /// and only to positions below it. The roles named move to the positions asked (in
    /// ascending order of position) and the others keep their order around them; positions
    /// are then renumbered 1..n, so no two roles ever share one (an ambiguous hierarchy),
    /// all under the guild's lock.
    pub async fn role_positions(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: Vec<wire::RolePosition>,
    ) -> Result<Vec<wire::Role>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let top = ga.top_position();
        let mut rows = vec![];
        let mut errs = FieldErrors::new();
        for (i, p) in body.iter().enumerate() {
            let Some(role) = ga.role(p.id.db()) else {
                errs.add(format!("{i}.id"), "UNKNOWN_ROLE", "Unknown role.");
                continue;
            };
            let Some(pos) = p.position else { continue };
            if role.id == ga.guild.id || pos < 1 {
                errs.add(
                    format!("{i}.position"),
                    "BASE_TYPE_CHOICES",
                    "@everyone stays at position 0.",
                );
                continue;
            }
            if !ga.is_owner() && (role.position >= top || pos >= top) {
                return Err(Error::MissingPermissions);
            }
            rows.push((role.id, pos));
        }
        errs.into_result()?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        let before = ch.roles(ga.guild.id).await?;
        let order = Self::reorder(ga.guild.id, &before, &rows);
        let changed: Vec<(i64, i64)> = order
            .iter()
            .zip(1..)
            .filter(|(id, pos)| before.iter().any(|r| r.id == **id && r.position != *pos))
            .map(|(id, pos)| (*id, pos))
            .collect();
        ch.set_role_positions(ga.guild.id, &changed).await?;
        let roles = ch.roles(ga.guild.id).await?;
        let events = roles
            .iter()
            .filter(|r| changed.iter().any(|x| x.0 == r.id))
            .map(|r| Self::role_event(Event::GuildRoleUpdate, ga.guild.id, r))
            .collect();
        self.commit(ch, events).await?;
        self.control(Control::PermissionsChanged { guild_id });
        Ok(roles.iter().map(Self::role_wire).collect())
    }

    /// The roles of a guild other than `@everyone` (id = guild id), bottom first, after
    /// moving each of `moves` (`(role, position)`, positions from 1) to its position: the
    /// moved roles are taken out, then put back at index `position - 1` in ascending order
    /// of position (clamped to the end).
    fn reorder(guild_id: i64, roles: &[RoleRow], moves: &[(i64, i64)]) -> Vec<i64> {
        let mut order: Vec<i64> = roles
            .iter()
            .filter(|r| r.id != guild_id && !moves.iter().any(|m| m.0 == r.id))
            .map(|r| r.id)
            .collect();
        // One move per role (the last one given), then bottom first.
        let mut seen = std::collections::HashSet::new();
        let mut moves: Vec<(i64, i64)> = moves
            .iter()
            .rev()
            .filter(|m| seen.insert(m.0))
            .copied()
            .collect();
        moves.sort_by_key(|m| m.1);
        for (id, pos) in moves {
            let at = usize::try_from(pos - 1).unwrap_or(0).min(order.len());
            order.insert(at, id);
        }
        order
    }
}
