//! The service layer: domain rules and permissions. Handlers call these methods; these
//! methods call [`crate::storage::Db`] and publish on the [`crate::events::EventBus`] after
//! each committed change. Nothing here knows about HTTP.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, Result, Unknown};
use crate::events::{Audience, BusEvent, Control, Dispatch, Event, EventBus};
use crate::permissions::{self as perm, MemberContext, Overwrite, Permissions};
use crate::snowflake::{Snowflake, SnowflakeGenerator};
use crate::storage::{
    Change, ChannelRow, Db, GuildRow, MemberRow, OverwriteRow, RoleRow, UserRow, now_ms,
};
use crate::wire::{self, ChannelType, OverwriteType};

pub(crate) use audit_changes::{change, changes_between};

pub mod attachments;
pub mod audit_action;
pub mod audit_changes;
pub mod auth;
pub mod automod;
pub mod automod_exec;
pub mod automod_match;
pub mod automod_profile;
pub mod automod_spam;
pub mod backoff;
pub mod bots;
pub mod cdn;
pub mod channels;
pub mod command_rules;
pub mod commands;
pub mod components;
pub mod deletion;
pub mod dms;
pub mod emoji_text;
pub mod emojis;
pub mod export;
pub mod forum_posts;
pub mod forums;
pub mod group_dms;
pub mod guilds;
pub mod images;
mod interaction_files;
pub mod interaction_http;
pub mod interaction_kinds;
pub mod interaction_options;
pub mod interaction_responses;
pub mod interactions;
pub mod invites;
pub mod jobs;
pub mod media_gc;
pub mod members;
pub mod mentions;
pub mod message_edit;
pub mod message_render;
pub mod messages;
pub mod mfa;
pub mod moderation;
pub mod node;
pub mod operator;
pub mod overwrites;
pub mod passkeys;
pub mod pins;
pub mod polls;
pub mod ports;
pub mod presence;
pub mod purge;
pub mod reactions;
pub mod read_states;
pub mod ready;
pub mod reauth;
pub mod recovery;
pub mod relay;
pub mod remote_media;
pub mod revocations;
pub mod roles;
pub mod scheduled_event_covers;
pub mod scheduled_event_users;
pub mod scheduled_events;
pub mod search;
pub mod security;
pub mod setup;
pub mod slowmode;
pub mod snapshot;
pub mod sniff;
pub mod stage_instances;
pub mod thread_audit;
pub mod thread_lists;
pub mod thread_relay;
pub mod threads;
pub mod throttles;
pub mod uploads;
pub mod voice;
pub mod webhook_exec;
pub mod webhook_formats;
pub mod webhooks;
pub mod writer;

/// Who is making a request: an authenticated user (human or bot).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: UserRow,
    /// The login session of a user token; `None` for bot tokens.
    pub session_id: Option<i64>,
}

impl Actor {
    pub fn id(&self) -> Snowflake {
        Snowflake::from_db(self.user.id)
    }
    pub fn is_bot(&self) -> bool {
        self.user.bot
    }
}

/// The homeserver's services and shared state. One per running server; cheap to share.
pub struct Hearth {
    pub config: Config,
    pub db: Db,
    /// Licensed by this node's worker lease ([`node`]).
    pub ids: Arc<SnowflakeGenerator>,
    /// This process among the nodes sharing the database: id and leases ([`node`]).
    pub node: Arc<node::Node>,
    /// Group commit of message inserts ([`writer::MessageWriter`]).
    pub(crate) writer: writer::MessageWriter,
    pub bus: Arc<dyn EventBus>,
    pub(crate) auth: auth::AuthState,
    pub(crate) mfa: mfa::MfaState,
    /// The WebAuthn relying party ([`passkeys`]).
    pub(crate) webauthn: passkeys::WebauthnState,
    /// Last message time per (channel, user) for slow mode.
    slowmode: Mutex<HashMap<(i64, i64), Instant>>,
    /// Presence of users seen online ([`presence`]).
    pub presences: presence::Presences,
    /// The host servers of replicated guilds (a port: implemented by federation).
    pub host: Arc<dyn ports::GuildHost>,
    /// Where file bytes are kept (a port: implemented by `crate::media`).
    pub blobs: Arc<dyn ports::BlobStore>,
    /// The secret that signs attachment URLs ([`attachments`]), kept in the database.
    media_key: String,
    /// Outgoing mail (a port: implemented by `crate::mail`); `None` when mail is off.
    pub mailer: Option<Arc<dyn ports::Mailer>>,
    /// Applications' interactions endpoints (a port: implemented by `crate::s2s`).
    pub endpoints: Arc<dyn ports::InteractionEndpoints>,
    /// Wakes the file collector ([`media_gc`]) when files are released.
    pub(crate) media_gc: Arc<tokio::sync::Notify>,
    /// Wakes the message purge jobs ([`purge`]) when one is stored.
    pub(crate) purges: Arc<tokio::sync::Notify>,
    /// Background job runs, for `/metrics` ([`jobs`]).
    pub jobs: jobs::JobRuns,
    /// Mails being sent ([`recovery`]).
    pub(crate) mail_sends: Mutex<tokio::task::JoinSet<()>>,
    /// Compiled Auto Moderation rules per guild ([`automod`]).
    pub(crate) automod: automod::RuleCache,
    /// What members sent recently, for SPAM rules ([`automod_spam`]).
    pub(crate) spam: automod_spam::SpamWatch,
    /// A cluster's shared address throttles ([`Hearth::share_limits`]).
    pub(crate) shared_limits: std::sync::OnceLock<crate::cluster::RedisLimits>,
    /// A cluster's shared slow-mode slots ([`Hearth::share_slowmode`]).
    pub(crate) shared_slowmode: std::sync::OnceLock<crate::cluster::RedisSlowmode>,
}

/// A member's view of a guild: what permission checks need.
#[derive(Debug, Clone)]
pub struct GuildAccess {
    pub guild: GuildRow,
    pub roles: Vec<RoleRow>,
    pub member_roles: Vec<i64>,
    pub user_id: i64,
    /// The caller's member row (nick, joined_at), when it was loaded with the access check.
    pub member: Option<MemberRow>,
    /// The guild's MFA level is elevated and the caller's account has no MFA (for a bot:
    /// its owner's): permissions in [`perm::MFA_REQUIRED`] answer 60003 ([`mfa`]).
    pub mfa_missing: bool,
}

impl GuildAccess {
    /// The access of `user_id` out of a [`crate::storage::GuildView`] read for them, with
    /// `mfa_missing` from [`Hearth::mfa_missing`]; 403 Missing Access when they are not a
    /// member.
    pub fn of_view(
        view: crate::storage::GuildView,
        user_id: i64,
        mfa_missing: bool,
    ) -> Result<GuildAccess> {
        let Some(member) = view.member else {
            return Err(Error::MissingAccess);
        };
        Ok(GuildAccess {
            guild: view.guild,
            roles: view.roles,
            member_roles: view.member_roles,
            user_id,
            member: Some(member),
            mfa_missing,
        })
    }
    fn role_perms(&self) -> Vec<(Snowflake, Permissions)> {
        self.roles
            .iter()
            .filter(|r| self.member_roles.contains(&r.id))
            .map(|r| (Snowflake::from_db(r.id), r.permissions as u64))
            .collect()
    }
    fn everyone(&self) -> Permissions {
        self.roles
            .iter()
            .find(|r| r.id == self.guild.id)
            .map(|r| r.permissions as u64)
            .unwrap_or(0)
    }
    pub fn is_owner(&self) -> bool {
        self.guild.owner_id == self.user_id
    }
    /// Guild-level permissions (Discord `compute_base_permissions`).
    pub fn base(&self) -> Permissions {
        let rp = self.role_perms();
        perm::base_permissions(&self.ctx(&rp))
    }
    /// Guild-level permissions as if AutoMod did not hold the member: a member quarantined
    /// for her profile may still change her nickname to leave the quarantine
    /// ([`automod_profile`]).
    pub fn base_unquarantined(&self) -> Permissions {
        let rp = self.role_perms();
        let mut ctx = self.ctx(&rp);
        ctx.timed_out = self.member.as_ref().is_some_and(timed_out);
        perm::base_permissions(&ctx)
    }
    fn ctx<'a>(&self, rp: &'a [(Snowflake, Permissions)]) -> MemberContext<'a> {
        MemberContext {
            guild_id: Snowflake::from_db(self.guild.id),
            owner_id: Snowflake::from_db(self.guild.owner_id),
            user_id: Snowflake::from_db(self.user_id),
            everyone: self.everyone(),
            roles: rp,
            // A member quarantined by AutoMod is held like a timed-out one.
            timed_out: self
                .member
                .as_ref()
                .is_some_and(|m| timed_out(m) || automod_profile::quarantined(m)),
        }
    }
    /// Channel permissions with overwrites (Discord `compute_overwrites`).
    pub fn in_channel(&self, overwrites: &[OverwriteRow]) -> Permissions {
        let rp = self.role_perms();
        let ows: Vec<Overwrite> = overwrites.iter().map(overwrite_of).collect();
        perm::channel_permissions(&self.ctx(&rp), &ows)
    }
    /// Fails with 50013 unless the member has every bit of `need` at guild level, and with
    /// 403 60003 when `need` is a moderation permission and the guild's MFA level asks for
    /// an MFA-enabled account the caller does not have.
    pub fn require(&self, need: Permissions) -> Result<()> {
        if !perm::has(self.base(), need) {
            return Err(Error::MissingPermissions);
        }
        mfa::check_level(self.mfa_missing, need)
    }
    /// Position of the member's highest role (`@everyone` is 0); the owner ranks above all.
    pub fn top_position(&self) -> i64 {
        if self.is_owner() {
            return i64::MAX;
        }
        self.roles
            .iter()
            .filter(|r| self.member_roles.contains(&r.id))
            .map(|r| r.position)
            .max()
            .unwrap_or(0)
    }
    pub fn role(&self, id: i64) -> Option<&RoleRow> {
        self.roles.iter().find(|r| r.id == id)
    }
    /// Highest role position of another member given their role ids.
    pub fn top_position_of(&self, user_id: i64, role_ids: &[i64]) -> i64 {
        if user_id == self.guild.owner_id {
            return i64::MAX;
        }
        self.roles
            .iter()
            .filter(|r| role_ids.contains(&r.id))
            .map(|r| r.position)
            .max()
            .unwrap_or(0)
    }
}

/// A channel and the caller's permissions in it.
#[derive(Debug, Clone)]
pub struct ChannelAccess {
    pub channel: ChannelRow,
    pub overwrites: Vec<OverwriteRow>,
    /// `None` for DM channels.
    pub guild: Option<GuildAccess>,
    pub perms: Permissions,
    /// DM recipients (both users; every recipient of a group DM), empty for guild channels.
    pub recipients: Vec<i64>,
    /// A group DM's owner ([`group_dms`]); `None` for every other channel.
    pub owner_id: Option<i64>,
    /// A thread's metadata ([`threads`]); `overwrites` and `perms` are then the parent's,
    /// with SEND_MESSAGES standing for SEND_MESSAGES_IN_THREADS.
    pub thread: Option<crate::storage::ThreadRow>,
}

impl ChannelAccess {
    /// Fails with 50013 unless the caller has every bit of `need` in the channel; with
    /// 403 60003 as [`GuildAccess::require`] for the guild's MFA level.
    pub fn require(&self, need: Permissions) -> Result<()> {
        if !perm::has(self.perms, need) {
            return Err(Error::MissingPermissions);
        }
        let missing = self.guild.as_ref().is_some_and(|g| g.mfa_missing);
        mfa::check_level(missing, need)
    }
    pub fn guild_id(&self) -> Option<Snowflake> {
        self.channel.guild_id.map(Snowflake::from_db)
    }
    pub fn is_text(&self) -> bool {
        ChannelType::from_db(self.channel.kind).is_text()
    }
}

/// Whether the member is timed out now (`communication_disabled_until` in the future).
pub fn timed_out(m: &MemberRow) -> bool {
    m.communication_disabled_until
        .is_some_and(|until| until > now_ms())
}

pub fn overwrite_of(o: &OverwriteRow) -> Overwrite {
    Overwrite {
        id: Snowflake::from_db(o.target_id),
        kind: OverwriteType::from_db(o.kind),
        allow: o.allow_bits as u64,
        deny: o.deny_bits as u64,
    }
}

impl Hearth {
    /// Builds the services over an open, migrated database, with the event bus and the
    /// guild-host port they call outward.
    pub async fn new(
        config: Config,
        db: Db,
        bus: Arc<dyn EventBus>,
        host: Arc<dyn ports::GuildHost>,
        blobs: Arc<dyn ports::BlobStore>,
        mailer: Option<Arc<dyn ports::Mailer>>,
        endpoints: Arc<dyn ports::InteractionEndpoints>,
    ) -> Result<Hearth> {
        let auth = auth::AuthState::new(&config, &db).await?;
        let mfa = mfa::MfaState::new(&config, &db).await?;
        let webauthn = passkeys::WebauthnState::new(&config)?;
        let node = node::Node::start(&config, db.clone()).await?;
        let ids = node.ids().clone();
        let writer = writer::MessageWriter::spawn(db.clone(), ids.clone(), bus.clone());
        let media_key = db.secret("media_url_hmac", auth::random_token).await?;
        Ok(Hearth {
            config,
            db,
            ids,
            node,
            writer,
            bus,
            auth,
            mfa,
            webauthn,
            slowmode: Mutex::new(HashMap::new()),
            presences: presence::Presences::default(),
            host,
            blobs,
            media_key,
            mailer,
            endpoints,
            media_gc: Arc::new(tokio::sync::Notify::new()),
            purges: Arc::new(tokio::sync::Notify::new()),
            jobs: jobs::JobRuns::default(),
            mail_sends: Mutex::new(tokio::task::JoinSet::new()),
            automod: automod::RuleCache::default(),
            spam: automod_spam::SpamWatch::default(),
            shared_limits: std::sync::OnceLock::new(),
            shared_slowmode: std::sync::OnceLock::new(),
        })
    }

    pub fn next_id(&self) -> i64 {
        self.ids.next().db()
    }

    /// Messages waiting in the SQLite search backlog as the message writer last knew it
    /// ([`writer::MessageWriter::search_backlog`]); always 0 on PostgreSQL.
    pub fn search_backlog(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.search_backlog()
    }

    /// Publishes a dispatch after a committed change.
    pub fn dispatch(&self, event: Event, audience: Audience, intent: u64, data: Value) {
        self.bus.publish(BusEvent::Dispatch(Arc::new(Self::event_of(
            event, audience, intent, data,
        ))));
    }

    /// The dispatch of a change of the current request (its cause filled in), made before the
    /// change is stored so that its federation log entry ([`writer::outbox_item`]) can be
    /// written in the same transaction; published after the commit.
    pub(crate) fn event_of(event: Event, audience: Audience, intent: u64, data: Value) -> Dispatch {
        Dispatch {
            event,
            data,
            audience,
            intent,
            has_content: false,
            lossy: false,
            cause: crate::events::current_cause(),
            logged: false,
            entry: None,
        }
    }
    /// Commits `change` with the federation log entries of `events`, written to the outbox
    /// in the same transaction (spec/federation.md §8; only for guilds with member servers),
    /// then publishes `events` in order, marked `logged` where their entry went to the
    /// outbox. Build `events` from the change's own reads, so they describe what commits.
    pub(crate) async fn commit(&self, change: Change, events: Vec<Dispatch>) -> Result<()> {
        self.commit_then(change, vec![], events).await
    }

    /// [`Hearth::commit`], publishing `controls` (gateway bookkeeping such as a join) after
    /// the commit and before `events`.
    pub(crate) async fn commit_then(
        &self,
        mut change: Change,
        controls: Vec<Control>,
        events: Vec<Dispatch>,
    ) -> Result<()> {
        let federated = {
            let items: Vec<_> = events
                .iter()
                .filter(|d| !d.lossy)
                .filter_map(writer::outbox_item)
                .collect();
            change.log(&items).await?
        };
        change.commit().await?;
        for c in controls {
            self.control(c);
        }
        for mut d in events {
            d.logged = writer::in_outbox(&d, &federated);
            self.publish(d);
        }
        Ok(())
    }

    pub(crate) fn publish(&self, mut d: Dispatch) {
        if d.cause.is_none() {
            d.cause = crate::events::current_cause();
        }
        self.bus.publish(BusEvent::Dispatch(Arc::new(d)));
    }
    pub fn control(&self, c: Control) {
        self.bus.publish(BusEvent::Control(c));
    }

    // ---- access ---------------------------------------------------------------------

    /// The caller's view of a guild. Errors: 404 Unknown Guild if it does not exist,
    /// 403 Missing Access if the caller is not a member.
    pub async fn guild_access(&self, guild_id: Snowflake, user_id: i64) -> Result<GuildAccess> {
        // Guild, membership, roles and the member's roles in one statement.
        let view = self
            .db
            .guild_view(guild_id.db(), user_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Guild))?;
        if view.member.is_none() {
            return Err(Error::MissingAccess);
        }
        let mfa_missing = self.mfa_missing(&view.guild, user_id).await?;
        GuildAccess::of_view(view, user_id, mfa_missing)
    }

    /// Like [`Self::guild_access`] for a guild row already loaded and membership known.
    pub async fn guild_access_of(&self, guild: GuildRow, user_id: i64) -> Result<GuildAccess> {
        let roles = self.db.roles(guild.id).await?;
        let member_roles = self.db.member_role_ids(guild.id, user_id).await?;
        let mfa_missing = self.mfa_missing(&guild, user_id).await?;
        Ok(GuildAccess {
            guild,
            roles,
            member_roles,
            user_id,
            member: None,
            mfa_missing,
        })
    }

    /// The caller's view of a channel. Errors: 404 Unknown Channel; 403 Missing Access when
    /// the caller is not in the guild, cannot VIEW_CHANNEL, or is not a DM recipient.
    pub async fn channel_access(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
    ) -> Result<ChannelAccess> {
        // The channel with its overwrites and the caller's guild view, from one snapshot
        // (`Db::channel_view`): never overwrites of one moment with roles of another.
        let (channel, overwrites, view) = self
            .db
            .channel_view(channel_id.db(), actor.user.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        match channel.guild_id {
            Some(_) => {
                let view = view.ok_or(Error::Unknown(Unknown::Guild))?;
                let mfa_missing = self.mfa_missing(&view.guild, actor.user.id).await?;
                let ga = GuildAccess::of_view(view, actor.user.id, mfa_missing)?;
                // A thread's overwrites are its parent's (`Db::channel_view`).
                let mut perms = ga.in_channel(&overwrites);
                if perms & perm::VIEW_CHANNEL == 0 {
                    return Err(Error::MissingAccess);
                }
                let thread = if ChannelType::from_db(channel.kind).is_thread() {
                    let t = self
                        .db
                        .thread(channel.id)
                        .await?
                        .ok_or(Error::Unknown(Unknown::Channel))?;
                    perms = threads::thread_perms(perms);
                    if t.kind == 12
                        && perms & perm::MANAGE_THREADS == 0
                        && self
                            .db
                            .thread_member(t.channel_id, actor.user.id)
                            .await?
                            .is_none()
                    {
                        return Err(Error::MissingAccess);
                    }
                    Some(t)
                } else {
                    None
                };
                Ok(ChannelAccess {
                    channel,
                    overwrites,
                    guild: Some(ga),
                    perms,
                    recipients: vec![],
                    owner_id: None,
                    thread,
                })
            }
            None => {
                // A 1:1 DM's pair, or a group DM's recipients and owner: the same rights.
                let (recipients, owner_id) =
                    if ChannelType::from_db(channel.kind) == ChannelType::GroupDm {
                        let g = self
                            .db
                            .group_dm(channel.id)
                            .await?
                            .ok_or(Error::Unknown(Unknown::Channel))?;
                        (g.recipients, Some(g.owner_id))
                    } else {
                        let (a, b) = self
                            .db
                            .dm_recipients(channel.id)
                            .await?
                            .ok_or(Error::Unknown(Unknown::Channel))?;
                        (vec![a, b], None)
                    };
                if !recipients.contains(&actor.user.id) {
                    return Err(Error::MissingAccess);
                }
                let perms = perm::VIEW_CHANNEL
                    | perm::SEND_MESSAGES
                    | perm::READ_MESSAGE_HISTORY
                    | perm::ADD_REACTIONS
                    | perm::EMBED_LINKS
                    | perm::ATTACH_FILES
                    | perm::PIN_MESSAGES
                    | perm::USE_EXTERNAL_EMOJIS
                    | perm::SEND_POLLS;
                Ok(ChannelAccess {
                    channel,
                    overwrites: vec![],
                    guild: None,
                    perms,
                    recipients,
                    owner_id,
                    thread: None,
                })
            }
        }
    }

    // ---- rendering ------------------------------------------------------------------

    /// The public user object; `own` adds the private fields of `GET /users/@me`.
    pub fn user_wire(&self, u: &UserRow, own: bool) -> wire::User {
        wire::User {
            id: Snowflake::from_db(u.id),
            username: u.username.clone(),
            discriminator: "0".into(),
            global_name: u.global_name.clone(),
            avatar: u.avatar.clone(),
            banner: u.banner.clone(),
            bot: u.bot,
            system: false,
            public_flags: 0,
            flags: 0,
            handle: format!(
                "{}@{}",
                u.username,
                u.home_server.as_deref().unwrap_or(&self.config.server_name)
            ),
            email: own.then(|| u.email.clone()),
            verified: own.then_some(u.email_verified),
            mfa_enabled: own.then_some(u.has_mfa()),
            totp_enabled: own.then_some(u.mfa_enabled),
            bio: own.then(|| u.bio.clone()),
            dm_policy: own.then_some(u.dm_policy),
        }
    }

    pub async fn user_wire_by_id(&self, id: i64) -> Result<wire::User> {
        let u = self
            .db
            .user(id)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        Ok(self.user_wire(&u, false))
    }

    pub fn role_wire(r: &RoleRow) -> wire::Role {
        wire::Role {
            id: Snowflake::from_db(r.id),
            name: r.name.clone(),
            color: r.color as u32,
            colors: wire::RoleColors {
                primary_color: r.color as u32,
                secondary_color: None,
                tertiary_color: None,
            },
            hoist: r.hoist,
            icon: None,
            unicode_emoji: None,
            position: r.position,
            permissions: wire::perm_string(r.permissions as u64),
            managed: r.managed,
            mentionable: r.mentionable,
            flags: 0,
            tags: r.bot_id.map(|b| wire::RoleTags {
                bot_id: Some(Snowflake::from_db(b)),
            }),
        }
    }

    pub fn overwrite_wire(o: &OverwriteRow) -> wire::Overwrite {
        wire::Overwrite {
            id: Snowflake::from_db(o.target_id),
            kind: OverwriteType::from_db(o.kind),
            allow: (o.allow_bits as u64).to_string(),
            deny: (o.deny_bits as u64).to_string(),
        }
    }

    pub fn channel_wire(
        c: &ChannelRow,
        overwrites: &[OverwriteRow],
        recipients: Option<Vec<wire::User>>,
    ) -> wire::Channel {
        let guild = c.guild_id.is_some();
        let kind = ChannelType::from_db(c.kind);
        let text = matches!(
            kind,
            ChannelType::GuildText | ChannelType::GuildAnnouncement
        );
        let voice = kind.is_voice();
        let w = wire::Channel {
            id: Snowflake::from_db(c.id),
            kind: ChannelType::from_db(c.kind),
            guild_id: c.guild_id.map(Snowflake::from_db),
            name: if guild || kind == ChannelType::GroupDm {
                c.name.clone()
            } else {
                None
            },
            topic: text.then(|| c.topic.clone()),
            position: guild.then_some(c.position),
            permission_overwrites: guild.then(|| {
                overwrites
                    .iter()
                    .filter(|o| o.channel_id == c.id)
                    .map(Self::overwrite_wire)
                    .collect()
            }),
            parent_id: guild.then(|| c.parent_id.map(Snowflake::from_db)),
            nsfw: guild.then_some(c.nsfw),
            rate_limit_per_user: (text || voice).then_some(c.rate_limit_per_user),
            bitrate: voice.then(|| c.bitrate.unwrap_or(64_000)),
            user_limit: voice.then(|| c.user_limit.unwrap_or(0)),
            last_message_id: c.last_message_id.map(Snowflake::from_db),
            last_pin_timestamp: (text || !guild).then(|| c.last_pin_timestamp.map(wire::iso)),
            recipients,
            icon: None,
            flags: c.flags as u64,
            owner_id: None,
            thread_metadata: None,
            message_count: None,
            member_count: None,
            total_message_sent: None,
            member: None,
            newly_created: None,
            available_tags: None,
            applied_tags: None,
            default_reaction_emoji: None,
            default_thread_rate_limit_per_user: None,
            default_sort_order: None,
            default_forum_layout: None,
            message: None,
        };
        forums::with_forum(w, c)
    }

    pub fn member_wire(
        &self,
        m: &MemberRow,
        user: Option<&UserRow>,
        roles: Vec<i64>,
        with_guild: bool,
    ) -> wire::Member {
        wire::Member {
            user: user.map(|u| self.user_wire(u, false)),
            nick: m.nick.clone(),
            avatar: None,
            roles: roles
                .into_iter()
                .filter(|r| *r != m.guild_id)
                .map(Snowflake::from_db)
                .collect(),
            joined_at: wire::iso(m.joined_at),
            premium_since: None,
            deaf: false,
            mute: false,
            flags: m.flags as u64,
            pending: false,
            communication_disabled_until: m
                .communication_disabled_until
                .filter(|_| timed_out(m))
                .map(wire::iso),
            guild_id: with_guild.then(|| Snowflake::from_db(m.guild_id)),
            permissions: None,
        }
    }

    /// Renders members with their users and roles (batched).
    pub async fn members_wire(
        &self,
        guild_id: i64,
        members: &[MemberRow],
        with_guild: bool,
    ) -> Result<Vec<wire::Member>> {
        let ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
        let users: HashMap<i64, UserRow> = self.db.users_by_id(&ids).await?;
        let mut roles: HashMap<i64, Vec<i64>> = HashMap::new();
        for (u, r) in self.db.member_roles_of(guild_id, &ids).await? {
            roles.entry(u).or_default().push(r);
        }
        Ok(members
            .iter()
            .map(|m| {
                self.member_wire(
                    m,
                    users.get(&m.user_id),
                    roles.remove(&m.user_id).unwrap_or_default(),
                    with_guild,
                )
            })
            .collect())
    }

    pub async fn member_wire_by_id(
        &self,
        guild_id: i64,
        user_id: i64,
        with_guild: bool,
    ) -> Result<wire::Member> {
        let m = self
            .db
            .member(guild_id, user_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Member))?;
        Ok(self
            .members_wire(guild_id, &[m], with_guild)
            .await?
            .remove(0))
    }

    pub fn guild_wire(
        &self,
        g: &GuildRow,
        roles: &[RoleRow],
        member_count: Option<i64>,
    ) -> wire::Guild {
        wire::Guild {
            id: Snowflake::from_db(g.id),
            name: g.name.clone(),
            icon: g.icon.clone(),
            icon_hash: g.icon.clone(),
            splash: g.splash.clone(),
            discovery_splash: None,
            description: g.description.clone(),
            owner_id: Snowflake::from_db(g.owner_id),
            region: None,
            afk_channel_id: None,
            afk_timeout: 300,
            verification_level: g.verification_level,
            default_message_notifications: g.default_message_notifications,
            explicit_content_filter: g.explicit_content_filter,
            roles: roles.iter().map(Self::role_wire).collect(),
            emojis: vec![],
            stickers: vec![],
            features: vec![],
            mfa_level: g.mfa_level.clamp(0, 1) as u8,
            application_id: None,
            system_channel_id: g.system_channel_id.map(Snowflake::from_db),
            system_channel_flags: 0,
            rules_channel_id: None,
            public_updates_channel_id: None,
            safety_alerts_channel_id: None,
            vanity_url_code: None,
            banner: g.banner.clone(),
            premium_tier: 0,
            premium_subscription_count: 0,
            preferred_locale: g.preferred_locale.clone(),
            nsfw_level: 0,
            premium_progress_bar_enabled: false,
            max_members: 500_000,
            approximate_member_count: member_count,
        }
    }

    /// An audit entry (Discord "Audit Log Events" action types), written by
    /// [`crate::storage::Change::audit`] in the same transaction as the change it records.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn audit_row(
        &self,
        guild_id: i64,
        actor: &Actor,
        target: Option<i64>,
        action: i64,
        changes: Value,
        options: Option<Value>,
        reason: Option<&str>,
    ) -> crate::storage::AuditRow {
        crate::storage::AuditRow {
            id: self.next_id(),
            guild_id,
            user_id: actor.user.id,
            target_id: target,
            action_type: action,
            changes: changes.to_string(),
            options: options.map(|o| o.to_string()),
            reason: reason.map(|r| r.chars().take(512).collect()),
        }
    }
}

/// Serializes a wire value for a dispatch payload (`null` if it cannot be serialized).
pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}
