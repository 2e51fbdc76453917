//! Voice states: the state machine of who is in which voice or stage channel, without media
//! (Discord "Resources > Voice", "Gateway Events > Update Voice State / Voice State Update";
//! spec/gateway.md "Voice states"). Rows in `voice_states` (`storage/voice.rs`, migration
//! 0038), each held by one gateway session.
//!
//! - Gateway op 4 ([`Hearth::update_voice_state`]): join, move, leave, own mute/deafen.
//!   Joining needs VIEW_CHANNEL and CONNECT in the channel (a timed-out member has neither
//!   but VIEW_CHANNEL: [`crate::permissions::TIMED_OUT_KEEPS`]); a voice channel's
//!   `user_limit` is checked with the insert in one transaction, and MOVE_MEMBERS exceeds it.
//!   In a stage channel everybody joins `suppress`ed (audience).
//! - REST: `GET /guilds/{id}/voice-states/@me|{user_id}`, `PATCH` of the same for stage
//!   `suppress` and `request_to_speak_timestamp` ([`Hearth::modify_voice_state`]); server
//!   mute, deafen, move and disconnect through the member PATCH ([`Hearth::member_voice`]).
//! - Ends: op 4 with `channel_id: null`, the end of the holding session (a close 1000/1001 or
//!   the expiry of a detached session: [`Hearth::voice_session_ended`]), and
//!   [`Hearth::voice_recheck`], run by [`Hearth::run_voice_watch`] after every change that can
//!   take the right away: a member leaving, kicked or banned, a timeout, roles and overwrites,
//!   a channel deletion.
//!
//! Every change publishes VOICE_STATE_UPDATE (the state, `channel_id: null` when it ended) to
//! the guild's sessions with GUILD_VOICE_STATES. A state that ends or moves out of a stage
//! channel it leaves empty ends the channel's stage instance ([`super::stage_instances`]). Voice states never cross federation: voice in
//! a replicated guild is refused (403 50001).

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::{Actor, GuildAccess, Hearth, to_value};
use crate::error::{Error, Result, Rule, Unknown, field_error};
use crate::events::{BusEvent, Control, Event, intents};
use crate::permissions::{self as perm};
use crate::snowflake::Snowflake;
use crate::storage::{JoinResult, VoiceFlags, VoiceJoin, VoiceStateRow, now_ms};
use crate::wire::{self, ChannelType};

/// How far in the past a `request_to_speak_timestamp` may lie (clock skew), ms.
const RTS_SKEW_MS: i64 = 60_000;

/// The voice parts of a member PATCH (`mute`, `deaf`, `channel_id`), checked before anything
/// is written ([`Hearth::member_voice_plan`]).
#[derive(Debug, Default)]
pub struct MemberVoicePlan {
    guild_id: i64,
    user_id: i64,
    flags: VoiceFlags,
    /// `Some(None)`: disconnect; `Some(Some((channel, stage)))`: move there.
    channel: Option<Option<(i64, bool)>>,
    /// The state before, for the audit changes.
    pub before: Option<VoiceStateRow>,
}

impl MemberVoicePlan {
    /// Whether the PATCH had voice fields.
    pub fn is_empty(&self) -> bool {
        self.flags.mute.is_none() && self.flags.deaf.is_none() && self.channel.is_none()
    }

    /// The move it makes: `Some(Some(channel))` a move there, `Some(None)` a disconnect.
    pub fn moves(&self) -> Option<Option<i64>> {
        self.channel.map(|c| c.map(|(id, _)| id))
    }
}

impl Hearth {
    /// A voice state on the wire; `member` is added when given, and then carries the
    /// state's server `mute`/`deaf`.
    pub fn voice_state_wire(
        r: &VoiceStateRow,
        member: Option<wire::Member>,
        with_guild: bool,
    ) -> wire::VoiceState {
        wire::VoiceState {
            guild_id: with_guild.then(|| Snowflake::from_db(r.guild_id)),
            channel_id: Some(Snowflake::from_db(r.channel_id)),
            user_id: Snowflake::from_db(r.user_id),
            member: member.map(|mut m| {
                m.mute = r.mute;
                m.deaf = r.deaf;
                m
            }),
            session_id: r.session_id.clone(),
            deaf: r.deaf,
            mute: r.mute,
            self_deaf: r.self_deaf,
            self_mute: r.self_mute,
            self_stream: false,
            self_video: r.self_video,
            suppress: r.suppress,
            request_to_speak_timestamp: r.request_to_speak.map(wire::iso),
        }
    }

    /// Publishes VOICE_STATE_UPDATE for `r` (`left`: the state ended, `channel_id` null) to
    /// the guild's sessions with GUILD_VOICE_STATES.
    async fn announce_voice(&self, r: &VoiceStateRow, left: bool) {
        // The member may be gone (a kick ends the state afterwards): then no `member`.
        let member = self
            .member_wire_by_id(r.guild_id, r.user_id, true)
            .await
            .ok();
        let mut w = Self::voice_state_wire(r, member, true);
        if left {
            w.channel_id = None;
            w.suppress = false;
            w.request_to_speak_timestamp = None;
        }
        let d = Self::event_of(
            Event::VoiceStateUpdate,
            Self::guild_audience(r.guild_id),
            intents::GUILD_VOICE_STATES,
            to_value(&w),
        );
        self.publish(d);
    }

    /// A voice state ended: announced, then the stage instance of its channel ends if the
    /// channel is now empty ([`Hearth::end_empty_stage`]).
    async fn left_voice(&self, r: &VoiceStateRow) {
        self.announce_voice(r, true).await;
        self.end_empty_stage(r.guild_id, r.channel_id).await;
    }

    /// A voice state moved from `old`'s channel to `new`'s: the stage instance of the channel
    /// it left ends if that channel is now empty.
    async fn moved_out(&self, old: Option<&VoiceStateRow>, new: &VoiceStateRow) {
        if let Some(o) = old.filter(|o| o.channel_id != new.channel_id) {
            self.end_empty_stage(o.guild_id, o.channel_id).await;
        }
    }

    /// The caller's permissions in guild channel `channel_id` of `ga`'s guild, with the
    /// channel's type. Errors: 404 10003 (unknown, or of another guild), 403 50001 (cannot
    /// view it), 400 50024 (not a voice or stage channel).
    async fn voice_channel(
        &self,
        actor: &Actor,
        ga: &GuildAccess,
        channel_id: Snowflake,
    ) -> Result<(u64, ChannelType, i64)> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca.channel.guild_id != Some(ga.guild.id) {
            return Err(Error::Unknown(Unknown::Channel));
        }
        let kind = ChannelType::from_db(ca.channel.kind);
        if !kind.is_voice() || ca.thread.is_some() {
            return Err(Error::Rule(Rule::ChannelType));
        }
        Ok((ca.perms, kind, ca.channel.id))
    }

    /// Gateway op 4 from session `session_id` (Discord "Gateway Events > Update Voice
    /// State"): with a `channel_id`, join it or move there (VIEW_CHANNEL and CONNECT; a full
    /// voice channel only with MOVE_MEMBERS; 403 50013 otherwise); with `null`, leave voice.
    /// Returns the state when the user entered a channel (the gateway then sends
    /// VOICE_SERVER_UPDATE). The gateway answers nothing on refusal, as Discord.
    pub async fn update_voice_state(
        &self,
        actor: &Actor,
        session_id: &str,
        body: wire::UpdateVoiceState,
    ) -> Result<Option<VoiceStateRow>> {
        let ga = self.guild_access(body.guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let Some(channel_id) = body.channel_id else {
            if let Some(old) = self
                .db
                .voice_leave(ga.guild.id, actor.user.id, None)
                .await?
            {
                self.left_voice(&old).await;
            }
            return Ok(None);
        };
        let (perms, kind, channel) = self.voice_channel(actor, &ga, channel_id).await?;
        if !perm::has(perms, perm::CONNECT) {
            return Err(Error::MissingPermissions);
        }
        let stage = kind == ChannelType::GuildStageVoice;
        let j = VoiceJoin {
            guild_id: ga.guild.id,
            user_id: actor.user.id,
            channel_id: channel,
            session_id,
            node_id: &self.node.id,
            self_mute: body.self_mute,
            self_deaf: body.self_deaf,
            self_video: body.self_video,
            suppress: stage,
            limited: !stage && !perm::has(perms, perm::MOVE_MEMBERS),
            create: true,
        };
        match self.db.voice_join(&j).await? {
            JoinResult::Joined { old, new } => {
                let entered = old.as_ref().is_none_or(|o| o.channel_id != new.channel_id);
                if old.as_ref() != Some(&new) {
                    self.announce_voice(&new, false).await;
                }
                self.moved_out(old.as_ref(), &new).await;
                Ok(entered.then_some(new))
            }
            JoinResult::Full => Err(Error::MissingPermissions),
            JoinResult::NoChannel => Err(Error::Unknown(Unknown::Channel)),
            JoinResult::NotInVoice => Err(Error::Rule(Rule::NotInVoice)),
        }
    }

    /// `GET /guilds/{guild_id}/voice-states/@me` (`user: None`) and `/{user_id}` (Discord
    /// "Get Current User Voice State", "Get User Voice State"): the voice state with its
    /// `member`. Errors: 404 10004, 403 50001 (not a member), 404 10065 when the user is not
    /// in voice in that guild.
    pub async fn get_voice_state(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user: Option<Snowflake>,
    ) -> Result<wire::VoiceState> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let uid = user.map(|u| u.db()).unwrap_or(actor.user.id);
        let r = self
            .db
            .voice_state(ga.guild.id, uid)
            .await?
            .ok_or(Error::Unknown(Unknown::VoiceState))?;
        let member = self
            .member_wire_by_id(r.guild_id, r.user_id, true)
            .await
            .ok();
        Ok(Self::voice_state_wire(&r, member, true))
    }

    /// `PATCH /guilds/{guild_id}/voice-states/@me` (`user: None`; Discord "Modify Current
    /// User Voice State") and `/{user_id}` ("Modify User Voice State"): a stage channel's
    /// `suppress` and, for oneself, `request_to_speak_timestamp`.
    ///
    /// `channel_id` must be the stage channel the user is in (required for another user;
    /// 400 50035 when absent; 404 10065 when the user is not in it; 400 50024 for a voice
    /// channel). Oneself: `suppress: true` and withdrawing the request are always allowed,
    /// `suppress: false` needs MUTE_MEMBERS, a request (a time not in the past) needs
    /// REQUEST_TO_SPEAK; another user: MUTE_MEMBERS, and no `request_to_speak_timestamp`
    /// (400 50035). Unsuppressing withdraws the request. 403 50013 without the permission.
    pub async fn modify_voice_state(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user: Option<Snowflake>,
        body: wire::ModifyVoiceStateBody,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let own = user.is_none_or(|u| u.db() == actor.user.id);
        let uid = user.map(|u| u.db()).unwrap_or(actor.user.id);
        if !own && body.channel_id.is_none() {
            return Err(field_error(
                "channel_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        }
        if !own && body.request_to_speak_timestamp.is_some() {
            return Err(field_error(
                "request_to_speak_timestamp",
                "BASE_TYPE_INVALID",
                "Only the user may request to speak.",
            ));
        }
        let rts = match &body.request_to_speak_timestamp {
            Some(Some(t)) => {
                let t = chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|_| {
                        field_error(
                            "request_to_speak_timestamp",
                            "DATE_TIME_INVALID",
                            "Invalid ISO 8601 timestamp.",
                        )
                    })?
                    .timestamp_millis();
                if t < now_ms() - RTS_SKEW_MS {
                    return Err(field_error(
                        "request_to_speak_timestamp",
                        "BASE_TYPE_BAD_TIME",
                        "Must be the present or a future time.",
                    ));
                }
                Some(Some(t))
            }
            Some(None) => Some(None),
            None => None,
        };
        let state = self
            .db
            .voice_state(ga.guild.id, uid)
            .await?
            .ok_or(Error::Unknown(Unknown::VoiceState))?;
        let channel = body
            .channel_id
            .unwrap_or(Snowflake::from_db(state.channel_id));
        if channel.db() != state.channel_id {
            return Err(Error::Unknown(Unknown::VoiceState));
        }
        let (perms, kind, _) = self.voice_channel(actor, &ga, channel).await?;
        if kind != ChannelType::GuildStageVoice {
            return Err(Error::Rule(Rule::ChannelType));
        }
        let may = |bits| perm::has(perms, bits);
        if !own && !may(perm::MUTE_MEMBERS) {
            return Err(Error::MissingPermissions);
        }
        if own && body.suppress == Some(false) && !may(perm::MUTE_MEMBERS) {
            return Err(Error::MissingPermissions);
        }
        if matches!(rts, Some(Some(_))) && !may(perm::REQUEST_TO_SPEAK) {
            return Err(Error::MissingPermissions);
        }
        let flags = VoiceFlags {
            suppress: body.suppress,
            request_to_speak: if body.suppress == Some(false) {
                Some(None)
            } else {
                rts
            },
            ..VoiceFlags::default()
        };
        let after = self
            .db
            .voice_set(ga.guild.id, uid, Some(state.channel_id), &flags)
            .await?
            .ok_or(Error::Unknown(Unknown::VoiceState))?;
        if after != state {
            self.announce_voice(&after, false).await;
        }
        Ok(())
    }

    /// Checks the voice fields of a member PATCH (Discord "Modify Guild Member") before
    /// anything is written: `mute` needs MUTE_MEMBERS, `deaf` DEAFEN_MEMBERS (both in the
    /// member's voice channel), `channel_id` MOVE_MEMBERS there and, for a move, VIEW_CHANNEL
    /// and CONNECT in the destination for both the caller and the member (a voice or stage
    /// channel of the guild, 400 50024 otherwise; its `user_limit` does not bind a
    /// moderator's move). 400 40032 when the member is not in
    /// voice, 403 50013 without a permission. No role hierarchy applies (as on Discord).
    pub async fn member_voice_plan(
        &self,
        actor: &Actor,
        ga: &GuildAccess,
        target: i64,
        body: &wire::ModifyMemberBody,
    ) -> Result<MemberVoicePlan> {
        let mut plan = MemberVoicePlan {
            guild_id: ga.guild.id,
            user_id: target,
            ..MemberVoicePlan::default()
        };
        if body.mute.is_none() && body.deaf.is_none() && body.channel_id.is_none() {
            return Ok(plan);
        }
        let state = self
            .db
            .voice_state(ga.guild.id, target)
            .await?
            .ok_or(Error::Rule(Rule::NotInVoice))?;
        let here = self
            .db
            .channel_view(state.channel_id, actor.user.id)
            .await?
            .map(|(_, ows, _)| ga.in_channel(&ows))
            .unwrap_or_else(|| ga.base());
        let need = |bits, field: Option<bool>| {
            if field.is_some() && !perm::has(here, bits) {
                Err(Error::MissingPermissions)
            } else {
                Ok(())
            }
        };
        need(perm::MUTE_MEMBERS, body.mute)?;
        need(perm::DEAFEN_MEMBERS, body.deaf)?;
        need(perm::MOVE_MEMBERS, body.channel_id.map(|_| true))?;
        if let Some(dest) = body.channel_id {
            plan.channel = Some(match dest {
                None => None,
                Some(c) => {
                    let (perms, kind, id) = self.voice_channel(actor, ga, c).await?;
                    // The member must be allowed there too, or the move would be undone
                    // at once ([`Hearth::voice_recheck`]).
                    if !perm::has(perms, perm::CONNECT)
                        || !self.may_connect(ga.guild.id, id, target).await?
                    {
                        return Err(Error::MissingPermissions);
                    }
                    Some((id, kind == ChannelType::GuildStageVoice))
                }
            });
        }
        plan.flags.mute = body.mute;
        plan.flags.deaf = body.deaf;
        plan.before = Some(state);
        Ok(plan)
    }

    /// Applies a checked [`MemberVoicePlan`]: the flags, then the move or disconnect, each
    /// announced. Returns the state after it (`None`: disconnected).
    pub async fn member_voice(&self, plan: MemberVoicePlan) -> Result<Option<VoiceStateRow>> {
        let (g, u) = (plan.guild_id, plan.user_id);
        let mut now = plan.before.clone();
        if plan.flags.mute.is_some() || plan.flags.deaf.is_some() {
            now = self.db.voice_set(g, u, None, &plan.flags).await?;
            let Some(after) = &now else {
                return Err(Error::Rule(Rule::NotInVoice));
            };
            if plan.before.as_ref() != Some(after) && plan.channel.is_none() {
                self.announce_voice(after, false).await;
            }
        }
        match plan.channel {
            None => Ok(now),
            Some(None) => {
                let old = self
                    .db
                    .voice_leave(g, u, None)
                    .await?
                    .ok_or(Error::Rule(Rule::NotInVoice))?;
                self.left_voice(&old).await;
                Ok(None)
            }
            Some(Some((channel_id, stage))) => {
                let j = VoiceJoin {
                    guild_id: g,
                    user_id: u,
                    channel_id,
                    session_id: "",
                    node_id: "",
                    self_mute: false,
                    self_deaf: false,
                    self_video: None,
                    suppress: stage,
                    limited: false,
                    create: false,
                };
                match self.db.voice_join(&j).await? {
                    JoinResult::Joined { old, new } => {
                        self.announce_voice(&new, false).await;
                        self.moved_out(old.as_ref(), &new).await;
                        Ok(Some(new))
                    }
                    JoinResult::NoChannel => Err(Error::Unknown(Unknown::Channel)),
                    JoinResult::Full | JoinResult::NotInVoice => Err(Error::Rule(Rule::NotInVoice)),
                }
            }
        }
    }

    /// Ends the voice states held by gateway session `session_id` of `user_id` (the session
    /// closed with 1000/1001, or expired detached), each announced.
    pub async fn voice_session_ended(&self, user_id: i64, session_id: &str) {
        match self.db.voice_end_session(user_id, session_id).await {
            Ok(rows) => {
                for r in rows {
                    self.left_voice(&r).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "ending a session's voice states failed"),
        }
    }

    /// A gateway session moved to this node (`gateway/handoff.rs`): its voice states are
    /// this node's from now on.
    ///
    /// # Errors
    /// The database fails.
    pub async fn voice_session_moved(&self, session_id: &str) -> Result<()> {
        self.db.voice_move_session(session_id, &self.node.id).await
    }

    /// At start: ends the voice states of this node whose sessions did not survive the
    /// restart (`kept`: the restored sessions' ids; on a cluster also those handed off to
    /// Redis and not resumed yet, spec/cluster.md §9), each announced. On SQLite (one node,
    /// which takes back any saved sessions whatever its id) every node's states.
    pub async fn voice_node_started(&self, kept: &[String]) -> Result<()> {
        let node = self.db.is_postgres().then_some(self.node.id.as_str());
        let mut kept = kept.to_vec();
        if let (Some(handoff), Some(node)) = (self.bus.handoff(), node) {
            let mine = self.db.voice_sessions_of_node(node).await?;
            kept.extend(handoff.held(mine).await.map_err(Error::Unavailable)?);
        }
        for r in self.db.voice_end_node(node, &kept).await? {
            self.left_voice(&r).await;
        }
        Ok(())
    }

    /// Whether `user_id` is a member of `guild_id` with VIEW_CHANNEL and CONNECT in its
    /// channel `channel_id` (false when the channel is gone).
    async fn may_connect(&self, guild_id: i64, channel_id: i64, user_id: i64) -> Result<bool> {
        Ok(match self.db.channel_view(channel_id, user_id).await? {
            Some((c, ows, Some(view))) if c.guild_id == Some(guild_id) => {
                GuildAccess::of_view(view, user_id, false).is_ok_and(|ga| {
                    perm::has(ga.in_channel(&ows), perm::VIEW_CHANNEL | perm::CONNECT)
                })
            }
            _ => false,
        })
    }

    /// Ends every voice state of `guild_id` whose user may no longer be there: the channel
    /// is gone, the user left the guild (kicked, banned), or lacks VIEW_CHANNEL or CONNECT
    /// in it (roles, overwrites, a timeout). Each end is announced.
    pub async fn voice_recheck(&self, guild_id: i64) -> Result<()> {
        for r in self.db.voice_states_of_guild(guild_id).await? {
            let keep = self.may_connect(guild_id, r.channel_id, r.user_id).await?;
            if !keep
                && let Some(old) = self
                    .db
                    .voice_leave(guild_id, r.user_id, Some(r.channel_id))
                    .await?
            {
                self.left_voice(&old).await;
            }
        }
        Ok(())
    }

    /// Watches what this process publishes and runs [`Hearth::voice_recheck`] on the guild
    /// of every change that can take away a voice state (membership, permissions, a
    /// member's update such as a timeout, channel deletion, a ban); after a lag, on every
    /// guild with voice states. Spawned by the composition root; ends with the bus.
    pub async fn run_voice_watch(self: Arc<Self>) {
        let mut rx = self.bus.subscribe();
        loop {
            let guild = match rx.recv().await {
                Ok(BusEvent::Control(
                    Control::PermissionsChanged { guild_id } | Control::MemberLeft { guild_id, .. },
                )) => Some(guild_id.db()),
                Ok(BusEvent::Dispatch(d))
                    if matches!(
                        d.event,
                        Event::ChannelDelete
                            | Event::GuildMemberUpdate
                            | Event::GuildMemberRemove
                            | Event::GuildBanAdd
                    ) =>
                {
                    d.data
                        .get("guild_id")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                }
                Ok(_) => None,
                Err(RecvError::Lagged(_)) => {
                    for g in self.db.voice_guilds().await.unwrap_or_default() {
                        let _ = self.voice_recheck(g).await;
                    }
                    None
                }
                Err(RecvError::Closed) => return,
            };
            if let Some(g) = guild
                && let Err(e) = self.voice_recheck(g).await
            {
                tracing::warn!(error = %e, guild = g, "voice state recheck failed");
            }
        }
    }
}
