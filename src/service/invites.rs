//! Invites: create, list, resolve, accept (local and remote), revoke (Discord "Resources > Invite").

use super::{Actor, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Audience, Control, Dispatch, Event, intents};
use crate::permissions::{self as perm};
use crate::snowflake::Snowflake;
use crate::storage::{AuditRow, Change, InviteRow, JoinOutcome, Lock, UserRow, now_ms};
use crate::wire;
use rand::Rng;
use serde_json::{Value, json};

impl Hearth {
    // ---- invites --------------------------------------------------------------------

    /// Whether `code` could be an invite code at all (checked before it reaches SQL, where
    /// PostgreSQL would reject a NUL in text).
    pub(super) fn plausible_invite_code(code: &str) -> bool {
        (1..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The stored invite `code`, expired or not. Errors: 404 10006 (also for a code that
    /// cannot be one).
    pub(super) async fn stored_invite(&self, code: &str) -> Result<InviteRow> {
        if !Self::plausible_invite_code(code) {
            return Err(Error::Unknown(Unknown::Invite));
        }
        self.db
            .invite(code)
            .await?
            .ok_or(Error::Unknown(Unknown::Invite))
    }

    /// An invite that exists and has not expired.
    pub async fn valid_invite(&self, code: &str) -> Result<Option<InviteRow>> {
        if !Self::plausible_invite_code(code) {
            return Ok(None);
        }
        let Some(inv) = self.db.invite(code).await? else {
            return Ok(None);
        };
        if inv.max_age > 0 && inv.created_at + inv.max_age * 1000 < now_ms() {
            self.db.delete_invite(code).await?;
            return Ok(None);
        }
        if inv.max_uses > 0 && inv.uses >= inv.max_uses {
            return Ok(None);
        }
        Ok(Some(inv))
    }

    pub(super) async fn invite_wire(
        &self,
        inv: &InviteRow,
        with_meta: bool,
        with_counts: bool,
    ) -> Result<wire::Invite> {
        let guild = self.db.guild(inv.guild_id).await?;
        let channel = self.db.channel(inv.channel_id).await?;
        let inviter = self.db.user(inv.inviter_id).await?;
        let count = if with_counts {
            Some(self.db.member_count(inv.guild_id).await?)
        } else {
            None
        };
        Ok(wire::Invite {
            kind: 0,
            code: inv.code.clone(),
            guild: guild.map(|g| wire::InviteGuild {
                id: Snowflake::from_db(g.id),
                name: g.name,
                icon: g.icon,
                description: g.description,
                features: vec![],
                splash: None,
                banner: None,
                verification_level: g.verification_level,
                nsfw_level: 0,
            }),
            channel: channel.map(|c| wire::InviteChannel {
                id: Snowflake::from_db(c.id),
                name: c.name,
                kind: wire::ChannelType::from_db(c.kind),
            }),
            inviter: inviter.map(|u| self.user_wire(&u, false)),
            expires_at: (inv.max_age > 0).then(|| wire::iso(inv.created_at + inv.max_age * 1000)),
            approximate_member_count: count,
            uses: with_meta.then_some(inv.uses),
            max_uses: with_meta.then_some(inv.max_uses),
            max_age: with_meta.then_some(inv.max_age),
            temporary: with_meta.then_some(inv.temporary),
            created_at: with_meta.then(|| wire::iso(inv.created_at)),
            channel_id: None,
            guild_id: None,
        })
    }

    /// `POST /channels/{id}/invites`: CREATE_INSTANT_INVITE. `max_age` 0-604800 s (default
    /// 86400, 0 = never), `max_uses` 0-100 (0 = unlimited); reuses a matching invite unless
    /// `unique`.
    pub async fn create_invite(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::CreateInviteBody,
        reason: Option<&str>,
    ) -> Result<wire::Invite> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::CREATE_INSTANT_INVITE)?;
        let max_age = body.max_age.unwrap_or(86_400);
        let max_uses = body.max_uses.unwrap_or(0);
        let mut errs = FieldErrors::new();
        if !(0..=604_800).contains(&max_age) {
            errs.add(
                "max_age",
                "NUMBER_TYPE_MAX",
                "int value should be between 0 and 604800.",
            );
        }
        if !(0..=100).contains(&max_uses) {
            errs.add(
                "max_uses",
                "NUMBER_TYPE_MAX",
                "int value should be between 0 and 100.",
            );
        }
        errs.into_result()?;
        let temporary = body.temporary.unwrap_or(false);
        if !body.unique.unwrap_or(false)
            && let Some(existing) = self
                .db
                .find_invite(ca.channel.id, actor.user.id, max_age, max_uses, temporary)
                .await?
            && self.valid_invite(&existing.code).await?.is_some()
        {
            return self.invite_wire(&existing, true, false).await;
        }
        const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let code: String = {
            let mut rng = rand::rng();
            (0..8)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect()
        };
        let inv = InviteRow {
            code,
            guild_id: ga.guild.id,
            channel_id: ca.channel.id,
            inviter_id: actor.user.id,
            max_age,
            max_uses,
            uses: 0,
            temporary,
            created_at: now_ms(),
        };
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            None,
            A::INVITE_CREATE,
            json!([
                change("code", Value::Null, &inv.code),
                change("channel_id", Value::Null, channel_id),
                change("max_uses", Value::Null, max_uses),
                change("max_age", Value::Null, max_age)
            ]),
            None,
            reason,
        );
        let w = self.invite_wire(&inv, true, false).await?;
        let ev = to_value(&wire::Invite {
            channel_id: Some(channel_id),
            guild_id: Some(Snowflake::from_db(ga.guild.id)),
            ..w.clone()
        });
        let d = Self::event_of(
            Event::InviteCreate,
            Audience::Guild {
                guild_id: Snowflake::from_db(ga.guild.id),
                channel: Some(channel_id),
            },
            intents::GUILD_INVITES,
            ev,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        ch.insert_invite(&inv).await?;
        ch.audit(&audit).await?;
        self.commit(ch, vec![d]).await?;
        Ok(w)
    }

    /// `GET /channels/{id}/invites`: MANAGE_CHANNELS.
    pub async fn channel_invites(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
    ) -> Result<Vec<wire::Invite>> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca.guild.is_none() {
            return Err(Error::Rule(Rule::ChannelType));
        }
        ca.require(perm::MANAGE_CHANNELS)?;
        let mut out = vec![];
        for inv in self.db.invites_of_channel(ca.channel.id).await? {
            out.push(self.invite_wire(&inv, true, false).await?);
        }
        Ok(out)
    }

    /// `GET /guilds/{id}/invites`: MANAGE_GUILD.
    pub async fn guild_invites(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<Vec<wire::Invite>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::MANAGE_GUILD)?;
        let mut out = vec![];
        for inv in self.db.invites_of_guild(ga.guild.id).await? {
            out.push(self.invite_wire(&inv, true, false).await?);
        }
        Ok(out)
    }

    /// `GET /invites/{code}` (`with_counts`). Errors: 404 Unknown Invite.
    pub async fn get_invite(&self, code: &str, with_counts: bool) -> Result<wire::Invite> {
        let inv = self
            .valid_invite(code)
            .await?
            .ok_or(Error::Unknown(Unknown::Invite))?;
        self.invite_wire(&inv, false, with_counts).await
    }

    /// `POST /invites/{code}`: joins the guild. Errors: 404 Unknown Invite, 403 40007 banned,
    /// 400 30001 too many guilds. Joining a guild one is in returns the invite unchanged.
    pub async fn accept_invite(&self, actor: &Actor, code: &str) -> Result<wire::Invite> {
        // Bots join only when a user with MANAGE_GUILD authorizes them (OAuth2 `bot` scope);
        // Discord answers their invite acceptance with 403 20001.
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        // `code@server`: an invite of another server (federation join, spec §7.1).
        let code = match code.rsplit_once('@') {
            Some((c, server)) if !server.eq_ignore_ascii_case(&self.config.server_name) => {
                return self.host.join(self, actor, c, server).await;
            }
            Some((c, _)) => c,
            None => code,
        };
        let inv = self
            .valid_invite(code)
            .await?
            .ok_or(Error::Unknown(Unknown::Invite))?;
        // Ban, guild limit, invite use and membership are checked and written in one
        // transaction (`Change::join_guild`), with the log entry of the join.
        let max = i64::from(self.config.limits.max_guilds_per_user);
        let mut ch = self.db.change(Lock::Guild(inv.guild_id)).await?;
        match ch
            .join_guild(code, inv.guild_id, actor.user.id, max, now_ms())
            .await?
        {
            JoinOutcome::Joined => {
                let add = self
                    .member_add_event(&mut ch, inv.guild_id, &actor.user)
                    .await?;
                self.commit_then(
                    ch,
                    vec![Self::joined(inv.guild_id, actor.user.id)],
                    vec![add],
                )
                .await?;
                self.publish_presence_to_guild(actor.user.id, inv.guild_id)
                    .await;
                // Her profile against the guild's MEMBER_PROFILE rule.
                self.automod_profile(inv.guild_id, actor.user.id).await?;
            }
            // Nothing written: end the transaction before reading more (below).
            JoinOutcome::AlreadyMember => ch.rollback().await?,
            JoinOutcome::InviteGone => return Err(Error::Unknown(Unknown::Invite)),
            JoinOutcome::Banned => return Err(Error::Rule(Rule::Banned)),
            JoinOutcome::TooManyGuilds => return Err(Error::Rule(Rule::MaxGuilds)),
        }
        let mut w = self.invite_wire(&inv, false, true).await?;
        w.uses = None;
        Ok(w)
    }

    /// The GUILD_MEMBER_ADD of `user`, who joined `guild_id` in change `ch`.
    pub(crate) async fn member_add_event(
        &self,
        ch: &mut Change,
        guild_id: i64,
        user: &UserRow,
    ) -> Result<Dispatch> {
        let (m, roles) = ch
            .member(guild_id, user.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Member))?;
        Ok(Self::event_of(
            Event::GuildMemberAdd,
            Self::guild_audience(guild_id),
            intents::GUILD_MEMBERS,
            to_value(&self.member_wire(&m, Some(user), roles, true)),
        ))
    }

    /// The gateway's notice of a join (it sends GUILD_CREATE to the new member's sessions),
    /// published before GUILD_MEMBER_ADD.
    pub(crate) fn joined(guild_id: i64, user_id: i64) -> Control {
        Control::MemberJoined {
            guild_id: Snowflake::from_db(guild_id),
            user_id: Snowflake::from_db(user_id),
        }
    }

    /// `DELETE /invites/{code}`: MANAGE_CHANNELS on its channel or MANAGE_GUILD.
    pub async fn delete_invite(
        &self,
        actor: &Actor,
        code: &str,
        reason: Option<&str>,
    ) -> Result<wire::Invite> {
        let inv = self.stored_invite(code).await?;
        let ca = self
            .channel_access(actor, Snowflake::from_db(inv.channel_id))
            .await
            .map_err(|e| match e {
                Error::MissingAccess => Error::Unknown(Unknown::Invite),
                e => e,
            })?;
        let ga = ca.guild.as_ref().ok_or(Error::Unknown(Unknown::Invite))?;
        if !perm::has(ca.perms, perm::MANAGE_CHANNELS) && !perm::has(ga.base(), perm::MANAGE_GUILD)
        {
            return Err(Error::MissingPermissions);
        }
        let w = self.invite_wire(&inv, true, false).await?;
        let audit = self.audit_row(
            inv.guild_id,
            actor,
            None,
            A::INVITE_DELETE,
            json!([change("code", &inv.code, Value::Null)]),
            None,
            reason,
        );
        self.remove_invite(&inv, Some(&audit)).await?;
        Ok(w)
    }

    /// Deletes invite `inv` with its audit entry (none for an operator's removal) and the
    /// INVITE_DELETE dispatch, in one change. Errors: 404 Unknown Invite when it is gone
    /// already.
    pub(crate) async fn remove_invite(
        &self,
        inv: &InviteRow,
        audit: Option<&AuditRow>,
    ) -> Result<()> {
        let mut ch = self.db.change(Lock::Guild(inv.guild_id)).await?;
        if !ch.delete_invite(&inv.code).await? {
            return Err(Error::Unknown(Unknown::Invite));
        }
        if let Some(a) = audit {
            ch.audit(a).await?;
        }
        let d = Self::event_of(
            Event::InviteDelete,
            Audience::Guild {
                guild_id: Snowflake::from_db(inv.guild_id),
                channel: Some(Snowflake::from_db(inv.channel_id)),
            },
            intents::GUILD_INVITES,
            to_value(&wire::dispatch::InviteDelete {
                channel_id: Snowflake::from_db(inv.channel_id),
                guild_id: Snowflake::from_db(inv.guild_id),
                code: inv.code.clone(),
            }),
        );
        self.commit(ch, vec![d]).await
    }
}
