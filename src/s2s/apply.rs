//! Applying a host's verified events to a replica (spec/federation.md §§6.5, 10): each
//! dispatch is typed by its event ([`Payload`]), translated into local ids by type, becomes
//! rows of the ordinary tables and is republished locally.

use super::Fed;
use super::translate::{Translator, payload_error};
use crate::error::Result;
use crate::events::{Audience, Control, Dispatch, Event, intents};
use crate::service::images::ImageKind;
use crate::snowflake::Snowflake;
use crate::storage::{
    ChannelRow, Lock, MessageRow, OverwriteRow, RemoteGuildRow, ReplicaApply, RoleRow,
    ThreadMemberRow, ThreadRow, now_ms,
};
use crate::wire;
use hearth_wire::dispatch::{Payload, PayloadError};
use serde_json::Value;

/// Milliseconds of an ISO 8601 timestamp.
pub(super) fn ts_ms(v: Option<&str>) -> Option<i64> {
    v.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp_millis())
}

/// The row of a role of the replica (in local ids).
pub(super) fn role_row(guild_id: i64, r: &wire::Role) -> RoleRow {
    RoleRow {
        id: r.id.db(),
        guild_id,
        name: r.name.clone(),
        color: i64::from(r.color),
        hoist: r.hoist,
        position: r.position,
        permissions: r.permissions.parse::<u64>().unwrap_or(0) as i64,
        managed: r.managed,
        mentionable: r.mentionable,
        bot_id: None,
    }
}

/// The rows of a channel of the replica and its overwrites (in local ids).
pub(super) fn channel_row(guild_id: i64, c: &wire::Channel) -> (ChannelRow, Vec<OverwriteRow>) {
    let id = c.id.db();
    let ows = c
        .permission_overwrites
        .iter()
        .flatten()
        .filter_map(|o| {
            Some(OverwriteRow {
                channel_id: id,
                target_id: o.id.db(),
                kind: o.kind.db(),
                allow_bits: o.allow.parse::<u64>().ok()? as i64,
                deny_bits: o.deny.parse::<u64>().ok()? as i64,
            })
        })
        .collect();
    (
        ChannelRow {
            id,
            guild_id: Some(guild_id),
            kind: c.kind.db(),
            name: c.name.clone(),
            topic: c.topic.clone().flatten(),
            position: c.position.unwrap_or(0),
            parent_id: c.parent_id.flatten().map(Snowflake::db),
            nsfw: c.nsfw.unwrap_or(false),
            rate_limit_per_user: c.rate_limit_per_user.unwrap_or(0),
            bitrate: c.bitrate,
            user_limit: c.user_limit,
            last_message_id: None,
            last_pin_timestamp: ts_ms(c.last_pin_timestamp.as_ref().and_then(|t| t.as_deref())),
            created_at: c.id.timestamp_ms() as i64,
            flags: c.flags as i64,
            forum: crate::service::forums::settings_of_wire(c),
        },
        ows,
    )
}

/// The rows of a thread of the replica (in local ids): its channel and its metadata; `None`
/// when `c` is not a thread (no `thread_metadata`, `parent_id` or `owner_id`).
pub(super) fn thread_rows(guild_id: i64, c: &wire::Channel) -> Option<(ChannelRow, ThreadRow)> {
    let md = c.thread_metadata.as_ref()?;
    let parent_id = c.parent_id.flatten()?.db();
    let owner_id = c.owner_id?.db();
    let (row, _) = channel_row(guild_id, c);
    let t = ThreadRow {
        channel_id: row.id,
        guild_id,
        parent_id,
        kind: row.kind,
        owner_id,
        archived: md.archived,
        auto_archive_duration: md.auto_archive_duration,
        archive_timestamp: ts_ms(Some(&md.archive_timestamp)).unwrap_or(row.created_at),
        locked: md.locked,
        invitable: md.invitable.unwrap_or(true),
        created_at: ts_ms(md.create_timestamp.as_deref()).unwrap_or(row.created_at),
        applied_tags: serde_json::to_string(c.applied_tags.as_deref().unwrap_or_default())
            .unwrap_or_else(|_| "[]".into()),
    };
    Some((row, t))
}

/// The row of a scheduled event of the replica (in local ids; its cover is not kept).
pub(super) fn scheduled_event_row(
    guild_id: i64,
    e: &wire::GuildScheduledEvent,
) -> crate::storage::ScheduledEventRow {
    crate::storage::ScheduledEventRow {
        id: e.id.db(),
        guild_id,
        channel_id: e.channel_id.map(Snowflake::db),
        creator_id: e.creator_id.map(Snowflake::db),
        name: e.name.clone(),
        description: e.description.clone(),
        start_at: ts_ms(Some(&e.scheduled_start_time)).unwrap_or(0),
        end_at: ts_ms(e.scheduled_end_time.as_deref()),
        privacy_level: i64::from(e.privacy_level),
        status: e.status.db(),
        entity_type: e.entity_type.db(),
        location: e.entity_metadata.as_ref().and_then(|m| m.location.clone()),
        empty_since: None,
        image: None,
        // The host's stage instance (stage instances stay on the host), in local ids.
        entity_id: e.entity_id.map(Snowflake::db),
        recurrence_rule: e
            .recurrence_rule
            .as_ref()
            .and_then(|r| serde_json::to_string(r).ok()),
    }
}

/// The row of a message of the replica (in local ids); `pinned_at` is the local pin time
/// already stored, kept when the message is still pinned.
pub(super) fn message_row(guild_id: i64, m: &wire::Message, pinned_at: Option<i64>) -> MessageRow {
    let ids = |v: &[Snowflake]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let mentions: Vec<Snowflake> = m.mentions.iter().map(|u| u.id).collect();
    let reference = m.message_reference.as_ref();
    MessageRow {
        id: m.id.db(),
        channel_id: m.channel_id.db(),
        guild_id: Some(guild_id),
        author_id: m.author.id.db(),
        content: m.content.clone(),
        embeds: serde_json::to_string(&m.embeds).unwrap_or_else(|_| "[]".into()),
        kind: m.kind.db(),
        flags: m.flags as i64,
        tts: m.tts,
        mention_everyone: m.mention_everyone,
        mentions: ids(&mentions),
        mention_roles: ids(&m.mention_roles),
        reference_message_id: reference.and_then(|r| r.message_id).map(Snowflake::db),
        reference_channel_id: reference.and_then(|r| r.channel_id).map(Snowflake::db),
        reference_guild_id: reference.and_then(|r| r.guild_id).map(Snowflake::db),
        nonce: None,
        edited_at: ts_ms(m.edited_timestamp.as_deref()),
        pinned_at: if m.pinned {
            pinned_at.or(Some(now_ms()))
        } else {
            None
        },
        // A webhook's message keeps the author the host showed.
        // The author's local id (its handle names the webhook): one id per webhook here.
        webhook_id: m.webhook_id.map(|_| m.author.id.db()),
        webhook_name: m.webhook_id.map(|_| m.author.username.clone()),
        webhook_avatar: m.webhook_id.and_then(|_| m.author.avatar.clone()),
        interaction: crate::service::interactions::stored_interaction(m),
        components: crate::service::components::stored_components(&m.components),
        // The poll as sent (its results are counted here from the logged votes); open
        // until its end unless the host finalized it (spec/federation.md §6.5).
        poll: m.poll.as_ref().and_then(|p| {
            let mut p = p.clone();
            p.results = None;
            serde_json::to_string(&p).ok()
        }),
        poll_open_until: m.poll.as_ref().and_then(|p| {
            let finalized = p.results.as_ref().is_some_and(|r| r.is_finalized);
            (!finalized).then(|| ts_ms(p.expiry.as_deref()).unwrap_or(i64::MAX))
        }),
        // Filled by the caller from `Fed::localize_attachments` (spec/federation.md §17).
        attachments: vec![],
    }
}

/// Whether a member server applies (and therefore translates) a logged payload. Invites are
/// verified, chained and stored but not applied (spec/federation.md §6.5); typing and
/// presence are lossy notices, never logged ([`Fed::receive_edu`] takes them).
pub(super) fn applied(p: &Payload) -> bool {
    match p {
        Payload::MessageCreate(_)
        | Payload::MessageUpdate(_)
        | Payload::MessageDelete(_)
        | Payload::MessageDeleteBulk(_)
        | Payload::MessageReactionAdd(_)
        | Payload::MessageReactionRemove(_)
        | Payload::MessageReactionRemoveAll(_)
        | Payload::MessageReactionRemoveEmoji(_)
        | Payload::ChannelPinsUpdate(_)
        | Payload::ChannelCreate(_)
        | Payload::ChannelUpdate(_)
        | Payload::ChannelDelete(_)
        | Payload::GuildRoleCreate(_)
        | Payload::GuildRoleUpdate(_)
        | Payload::GuildRoleDelete(_)
        | Payload::GuildUpdate(_)
        | Payload::GuildMemberAdd(_)
        | Payload::GuildMemberUpdate(_)
        | Payload::GuildMemberRemove(_)
        | Payload::GuildBanAdd(_)
        | Payload::GuildBanRemove(_)
        | Payload::GuildEmojisUpdate(_)
        | Payload::GuildDeleteFederated(_)
        | Payload::ThreadCreate(_)
        | Payload::ThreadUpdate(_)
        | Payload::ThreadDelete(_)
        | Payload::ThreadMembersUpdate(_)
        | Payload::GuildScheduledEventCreate(_)
        | Payload::GuildScheduledEventUpdate(_)
        | Payload::GuildScheduledEventDelete(_)
        | Payload::GuildScheduledEventUserAdd(_)
        | Payload::GuildScheduledEventUserRemove(_)
        | Payload::MessagePollVoteAdd(_)
        | Payload::MessagePollVoteRemove(_) => true,
        Payload::InviteCreate(_)
        | Payload::InviteDelete(_)
        | Payload::TypingStart(_)
        | Payload::PresenceUpdate(_) => false,
    }
}

/// The intent a replicated dispatch needs (mirrors what the host's service would use).
pub(super) fn intent_of(t: Event) -> u64 {
    match t {
        Event::MessageCreate
        | Event::MessageUpdate
        | Event::MessageDelete
        | Event::MessageDeleteBulk => intents::GUILD_MESSAGES,
        Event::MessageReactionAdd
        | Event::MessageReactionRemove
        | Event::MessageReactionRemoveAll
        | Event::MessageReactionRemoveEmoji => intents::GUILD_MESSAGE_REACTIONS,
        Event::GuildMemberAdd
        | Event::GuildMemberUpdate
        | Event::GuildMemberRemove
        | Event::ThreadMembersUpdate => intents::GUILD_MEMBERS,
        Event::GuildBanAdd | Event::GuildBanRemove => intents::GUILD_MODERATION,
        Event::TypingStart => intents::GUILD_MESSAGE_TYPING,
        Event::GuildEmojisUpdate => intents::GUILD_EXPRESSIONS,
        Event::MessagePollVoteAdd | Event::MessagePollVoteRemove => intents::GUILD_MESSAGE_POLLS,
        Event::GuildScheduledEventCreate
        | Event::GuildScheduledEventUpdate
        | Event::GuildScheduledEventDelete
        | Event::GuildScheduledEventUserAdd
        | Event::GuildScheduledEventUserRemove => intents::GUILD_SCHEDULED_EVENTS,
        _ => intents::GUILDS,
    }
}

/// A thread dispatch of a replica to one local user's sessions (intent GUILDS), not logged:
/// what the host sends her own sessions only.
fn to_user(event: Event, data: Value, user: Snowflake) -> Dispatch {
    Dispatch {
        event,
        data,
        audience: Audience::Users(vec![user]),
        intent: intents::GUILDS,
        has_content: false,
        lossy: false,
        cause: None,
        logged: false,
        entry: None,
    }
}

/// The replica a delivery is applying to, under its lock, with the events staged for one
/// transaction.
pub(super) struct Run<'t> {
    pub(super) gid: i64,
    pub(super) _guard: crate::storage::ReplicaGuard,
    pub(super) tr: Translator<'t>,
    /// The replica as of the last committed event (`None`: read it again).
    pub(super) rg: Option<RemoteGuildRow>,
    pub(super) staged: Vec<Staged>,
}

/// A verified message event waiting for its run's transaction.
pub(super) struct Staged {
    pub(super) row: ReplicaApply,
    /// The signed event as received (to apply it alone if the run fails).
    pub(super) source: Value,
    pub(super) event: Event,
    /// The message's channel (local id).
    pub(super) channel: i64,
    /// The dispatch payload in local ids.
    pub(super) data: Value,
}

impl Fed<'_> {
    /// Applies the logged dispatch `name`/`d` of a host (host ids) to the replica: types it
    /// by event, translates it and applies it. An event name this version does not know, or
    /// one that never crosses federation, and the payloads a replica does not apply
    /// ([`applied`]) are left alone (stored and chained by the caller, not translated).
    ///
    /// Errors: a payload not of its event's shape (refused whole), storage errors.
    pub(super) async fn apply_logged(
        &self,
        rg: &RemoteGuildRow,
        name: &str,
        d: Value,
        tr: &mut Translator<'_>,
    ) -> Result<Option<i64>> {
        let Ok(t) = name.parse::<Event>() else {
            return Ok(None);
        };
        let mut p = match Payload::parse(t, d) {
            Ok(p) => p,
            Err(PayloadError::NotFederated(_)) => return Ok(None),
            Err(e) => return Err(payload_error(e)),
        };
        if !applied(&p) {
            return Ok(None);
        }
        tr.translate(&mut p).await?;
        self.apply_payload(rg, p).await
    }

    /// Applies a translated dispatch to the replica and republishes it locally; returns the
    /// message a message event carries.
    pub(super) async fn apply_payload(
        &self,
        rg: &RemoteGuildRow,
        mut p: Payload,
    ) -> Result<Option<i64>> {
        let gid = rg.guild_id;
        let is_local_user = |uid: i64| {
            let db = self.db.clone();
            async move {
                db.user(uid)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|u| u.home_server.is_none())
            }
        };
        let gsf = Snowflake::from_db(gid);
        let t = p.event();
        let mut channel = None;
        let mut object = None;
        let mut controls = vec![];
        // The audience when it is some users only (a private thread's deletion).
        let mut users: Option<Vec<Snowflake>> = None;
        // Local users added to a thread: their own THREAD_MEMBER_UPDATE (and THREAD_CREATE
        // for `private_thread`).
        let mut joined = vec![];
        let mut private_thread = None;
        match &mut p {
            Payload::MessageCreate(m) | Payload::MessageUpdate(m) => {
                let cid = m.channel_id.db();
                let attachments = self.localize_attachments(&rg.host, m).await?;
                if self.db.channel(cid).await?.is_some() {
                    let prev = self
                        .db
                        .message(cid, m.id.db())
                        .await?
                        .and_then(|x| x.pinned_at);
                    let mut row = message_row(gid, m, prev);
                    row.attachments = attachments;
                    let released = self.db.upsert_message(&row).await?;
                    self.files_released(released);
                    // The host's log carries no quote (spec §6.5): ours, from our copy.
                    m.referenced_message = self.quoted_original(&row).await?;
                }
                channel = Some(cid);
                object = Some(m.id.db());
            }
            Payload::MessageDelete(d) => {
                let (c, m) = (d.channel_id.db(), d.id.db());
                let files = self.db.attachments_of(&[m]).await?;
                self.scrub_replica(gid, m).await?;
                self.db.delete_message(c, m, None).await?;
                self.release_cached(files.into_values().flatten()).await?;
                // Deletions travel in full even to servers that may not see the channel
                // (spec §6.4): one in a channel this replica does not hold is not shown.
                if self.db.channel(c).await?.is_none() {
                    return Ok(None);
                }
                channel = Some(c);
            }
            Payload::MessageDeleteBulk(d) => {
                let c = d.channel_id.db();
                let ids: Vec<i64> = d.ids.iter().map(|i| i.db()).collect();
                let files = self.db.attachments_of(&ids).await?;
                for m in &ids {
                    self.scrub_replica(gid, *m).await?;
                }
                self.db.delete_messages(c, &ids).await?;
                self.release_cached(files.into_values().flatten()).await?;
                if self.db.channel(c).await?.is_none() {
                    return Ok(None);
                }
                channel = Some(c);
            }
            Payload::MessageReactionAdd(r) => {
                let (c, m) = (r.channel_id.db(), r.message_id.db());
                if let Some(e) = crate::service::reactions::key_of(&r.emoji)
                    && self.db.message(c, m).await?.is_some()
                {
                    self.db
                        .add_reaction(m, &e, r.user_id.db(), now_ms(), None)
                        .await?;
                }
                channel = Some(c);
            }
            Payload::MessageReactionRemove(r) => {
                let (c, m) = (r.channel_id.db(), r.message_id.db());
                if let Some(e) = crate::service::reactions::key_of(&r.emoji)
                    && self.db.message(c, m).await?.is_some()
                {
                    self.db.remove_reaction(m, &e, r.user_id.db(), None).await?;
                }
                channel = Some(c);
            }
            Payload::MessageReactionRemoveAll(r) => {
                let (c, m) = (r.channel_id.db(), r.message_id.db());
                if self.db.message(c, m).await?.is_some() {
                    self.db.clear_reactions(m, None).await?;
                }
                channel = Some(c);
            }
            Payload::MessageReactionRemoveEmoji(r) => {
                let (c, m) = (r.channel_id.db(), r.message_id.db());
                if let Some(e) = crate::service::reactions::key_of(&r.emoji)
                    && self.db.message(c, m).await?.is_some()
                {
                    self.db.clear_reactions(m, Some(&e)).await?;
                }
                channel = Some(c);
            }
            Payload::ChannelPinsUpdate(u) => {
                let c = u.channel_id.db();
                self.db
                    .set_last_pin(c, ts_ms(u.last_pin_timestamp.as_deref()))
                    .await?;
                channel = Some(c);
            }
            Payload::ChannelCreate(c) | Payload::ChannelUpdate(c) => {
                let (row, ows) = channel_row(gid, c);
                channel = Some(row.id);
                self.db.upsert_channel(&row, &ows).await?;
                controls.push(Control::PermissionsChanged { guild_id: gsf });
            }
            Payload::ChannelDelete(c) => {
                channel = Some(c.id.db());
                self.scrub_replica_channel(gid, c.id.db()).await?;
                self.db.delete_channel(c.id.db()).await?;
                // The channel's cached files (its messages' attachment rows cascaded).
                self.release_files_of(crate::service::media_gc::FilesOf::Channel(c.id.db()));
            }
            Payload::GuildRoleCreate(r) | Payload::GuildRoleUpdate(r) => {
                self.db.upsert_role(&role_row(gid, &r.role)).await?;
                controls.push(Control::PermissionsChanged { guild_id: gsf });
            }
            Payload::GuildRoleDelete(r) => {
                self.db.delete_role(r.role_id.db()).await?;
                controls.push(Control::PermissionsChanged { guild_id: gsf });
            }
            Payload::GuildUpdate(u) => {
                if let Some(mut g) = self.db.guild(gid).await? {
                    // Images replaced or removed: their cached files go.
                    let gone: Vec<String> = [
                        (ImageKind::Icon, g.icon.as_deref(), u.icon.as_deref()),
                        (ImageKind::Banner, g.banner.as_deref(), u.banner.as_deref()),
                        (ImageKind::Splash, g.splash.as_deref(), u.splash.as_deref()),
                    ]
                    .into_iter()
                    .filter_map(|(kind, old, new)| {
                        old.filter(|o| Some(*o) != new)
                            .map(|o| format!("{}/{gid}/{o}", kind.folder()))
                    })
                    .collect();
                    g.name = u.name.clone();
                    g.icon = u.icon.clone();
                    g.description = u.description.clone();
                    g.owner_id = u.owner_id.db();
                    g.system_channel_id = u.system_channel_id.map(Snowflake::db);
                    self.db.update_guild(&g).await?;
                    self.db
                        .set_replica_art(gid, u.banner.as_deref(), u.splash.as_deref())
                        .await?;
                    let released = self.db.release_live_blobs(&gone, now_ms()).await?;
                    self.files_released(released);
                    self.replica_emojis(gid, &u.emojis).await?;
                }
                // Republished with the replica's id (the host's is bound to it anyway).
                u.id = gsf;
                controls.push(Control::PermissionsChanged { guild_id: gsf });
            }
            Payload::GuildMemberAdd(m) | Payload::GuildMemberUpdate(m) => {
                if let Some(uid) = self.apply_member(gid, m).await? {
                    if t == Event::GuildMemberAdd && is_local_user(uid).await {
                        controls.push(Control::MemberJoined {
                            guild_id: gsf,
                            user_id: Snowflake::from_db(uid),
                        });
                    }
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            Payload::GuildMemberRemove(r) => {
                let uid = r.user.id.db();
                if self.db.delete_member(gid, uid).await? && is_local_user(uid).await {
                    controls.push(Control::MemberLeft {
                        guild_id: gsf,
                        user_id: Snowflake::from_db(uid),
                    });
                }
            }
            Payload::GuildBanAdd(b) => {
                let uid = b.user.id.db();
                let was = self.db.delete_member(gid, uid).await?;
                self.db.upsert_ban(gid, uid, None, now_ms()).await?;
                if was && is_local_user(uid).await {
                    controls.push(Control::MemberLeft {
                        guild_id: gsf,
                        user_id: Snowflake::from_db(uid),
                    });
                }
            }
            Payload::GuildBanRemove(b) => {
                self.db.delete_ban(gid, b.user.id.db()).await?;
            }
            Payload::GuildEmojisUpdate(e) => {
                self.replica_emojis(gid, &e.emojis).await?;
                e.guild_id = gsf;
            }
            Payload::GuildDeleteFederated(_) => {
                self.control(Control::GuildDeleted { guild_id: gsf });
                let released = self.db.drop_replica(gid).await?;
                self.files_released(released);
                return Ok(None);
            }
            Payload::ThreadCreate(c) | Payload::ThreadUpdate(c) => {
                // The creator of a thread just made is its first member (the host's
                // THREAD_MEMBER_UPDATE about it goes to her sessions only).
                let owner = (c.newly_created == Some(true))
                    .then_some(c.owner_id)
                    .flatten();
                let owner = owner.map(|o| ThreadMemberRow {
                    thread_id: c.id.db(),
                    user_id: o.db(),
                    join_timestamp: c.id.timestamp_ms() as i64,
                    flags: 0,
                });
                self.upsert_thread(gid, c, owner.as_slice()).await?;
                channel = Some(c.id.db());
            }
            Payload::ThreadDelete(d) => {
                let id = d.id.db();
                // A private thread's deletion goes to its members here, who alone saw it.
                if d.kind == 12 {
                    let members = self.db.thread_members(id, 0, i64::MAX).await?;
                    users = Some(
                        members
                            .iter()
                            .map(|m| Snowflake::from_db(m.user_id))
                            .collect(),
                    );
                }
                self.scrub_replica_channel(gid, id).await?;
                if !self.db.delete_channel(id).await? {
                    return Ok(None);
                }
                self.release_files_of(crate::service::media_gc::FilesOf::Channel(id));
                channel = Some(d.parent_id.db());
            }
            Payload::ThreadMembersUpdate(u) => {
                let id = u.id.db();
                // The host's presences are in its ids; ours travel as notices.
                for m in &mut u.added_members {
                    m.presence = None;
                }
                // A private thread shown to this server by a member added to it was never
                // delivered with content: it comes with the channel list.
                let thread = match self.db.thread(id).await? {
                    Some(t) => t,
                    None => {
                        self.resync_channels(rg).await?;
                        match self.db.thread(id).await? {
                            Some(t) => t,
                            None => return Ok(None),
                        }
                    }
                };
                let added: Vec<ThreadMemberRow> = u
                    .added_members
                    .iter()
                    .map(|m| ThreadMemberRow {
                        thread_id: id,
                        user_id: m.user_id.db(),
                        join_timestamp: ts_ms(Some(&m.join_timestamp)).unwrap_or_else(now_ms),
                        flags: m.flags as i64,
                    })
                    .collect();
                let mut ch = self.db.change(Lock::Guild(gid)).await?;
                for m in &added {
                    ch.add_thread_member(m).await?;
                }
                for r in &u.removed_member_ids {
                    ch.remove_thread_member(id, r.db()).await?;
                }
                ch.commit().await?;
                for m in &u.added_members {
                    if is_local_user(m.user_id.db()).await {
                        joined.push(m.clone());
                    }
                }
                if thread.kind == 12 {
                    private_thread = Some(thread);
                }
                channel = Some(id);
            }
            Payload::GuildScheduledEventCreate(e) | Payload::GuildScheduledEventUpdate(e) => {
                // An event whose channel this replica does not hold is not shown.
                if let Some(c) = e.channel_id
                    && self.db.channel(c.db()).await?.is_none()
                {
                    return Ok(None);
                }
                // Covers are not fetched from the host: none is shown.
                e.image = None;
                self.db
                    .upsert_replica_scheduled_event(&scheduled_event_row(gid, e))
                    .await?;
                e.guild_id = gsf;
                channel = e.channel_id.map(Snowflake::db);
            }
            Payload::GuildScheduledEventDelete(e) => {
                e.image = None;
                self.db
                    .delete_replica_scheduled_event(gid, e.id.db())
                    .await?;
                e.guild_id = gsf;
                channel = e.channel_id.map(Snowflake::db);
            }
            Payload::GuildScheduledEventUserAdd(u) | Payload::GuildScheduledEventUserRemove(u) => {
                let (ev, uid) = (u.guild_scheduled_event_id.db(), u.user_id.db());
                let Some(row) = self.db.scheduled_event(gid, ev).await? else {
                    return Ok(None);
                };
                // A user this server never met has no row here: her interest is the host's.
                if self.db.user(uid).await?.is_some() {
                    if t == Event::GuildScheduledEventUserAdd {
                        self.db.add_scheduled_event_user(ev, uid).await?;
                    } else {
                        self.db.remove_scheduled_event_user(ev, uid).await?;
                    }
                }
                u.guild_id = gsf;
                channel = row.channel_id;
            }
            Payload::MessagePollVoteAdd(v) | Payload::MessagePollVoteRemove(v) => {
                let (c, m) = (v.channel_id.db(), v.message_id.db());
                if self.db.message(c, m).await?.is_none() {
                    return Ok(None);
                }
                let add = t == Event::MessagePollVoteAdd;
                self.db
                    .replica_poll_vote(m, i64::from(v.answer_id), v.user_id.db(), add)
                    .await?;
                channel = Some(c);
            }
            Payload::InviteCreate(_)
            | Payload::InviteDelete(_)
            | Payload::TypingStart(_)
            | Payload::PresenceUpdate(_) => return Ok(None),
        }
        // A role or member change may show our users channels we never received.
        if matches!(
            t,
            Event::GuildRoleCreate | Event::GuildRoleUpdate | Event::GuildMemberUpdate
        ) && let Err(e) = self.resync_channels(rg).await
        {
            tracing::warn!(error = %e, "channel resync failed");
        }
        // Members joining get their GUILD_CREATE before the member event.
        let (before, after): (Vec<_>, Vec<_>) = controls
            .into_iter()
            .partition(|c| matches!(c, Control::MemberJoined { .. }));
        for c in before {
            self.control(c);
        }
        // Published locally like a dispatch of our own (GUILD_BAN_ADD also implies a removal).
        let audience = match users {
            Some(u) => Audience::Users(u),
            None => Audience::Guild {
                guild_id: gsf,
                channel: channel
                    .filter(|_| {
                        let name = t.as_str();
                        ["MESSAGE", "CHANNEL", "THREAD", "GUILD_SCHEDULED_EVENT"]
                            .iter()
                            .any(|p| name.starts_with(p))
                    })
                    .map(Snowflake::from_db),
            },
        };
        // A private thread is new to a user added to it (Discord "Thread Create").
        let private = match private_thread {
            Some(th) if !joined.is_empty() => {
                self.db.channel(th.channel_id).await?.map(|c| (c, th))
            }
            _ => None,
        };
        for m in joined {
            if let Some((c, th)) = &private {
                let w = self.render_thread(c, th, m.user_id.db()).await?;
                let data = serde_json::to_value(&w).map_err(crate::error::Error::internal)?;
                self.publish(to_user(Event::ThreadCreate, data, m.user_id));
            }
            let data = serde_json::json!({
                "id": m.id,
                "user_id": m.user_id,
                "join_timestamp": m.join_timestamp,
                "flags": m.flags,
                "guild_id": gsf,
            });
            self.publish(to_user(Event::ThreadMemberUpdate, data, m.user_id));
        }
        self.publish(Dispatch {
            event: t,
            data: p.to_value(),
            audience,
            intent: intent_of(t),
            has_content: matches!(t, Event::MessageCreate | Event::MessageUpdate),
            lossy: false,
            cause: None,
            logged: false,
            entry: None,
        });
        let someone_left = after
            .iter()
            .any(|c| matches!(c, Control::MemberLeft { .. }));
        for c in after {
            self.control(c);
        }
        // Without local members the replica has no reader: forget it (the host stops
        // delivering after this event); the id map stays for a later rejoin.
        if someone_left && self.db.local_member_count(gid).await? == 0 {
            let released = self.db.drop_replica(gid).await?;
            self.files_released(released);
        }
        Ok(object)
    }

    /// Stores a channel of a host's list (join snapshot, channel resync) in replica `gid`:
    /// a thread with its metadata, any other channel with its overwrites.
    pub(super) async fn upsert_listed(&self, gid: i64, c: &wire::Channel) -> Result<()> {
        if c.thread_metadata.is_some() {
            return self.upsert_thread(gid, c, &[]).await;
        }
        let (row, ows) = channel_row(gid, c);
        self.db.upsert_channel(&row, &ows).await
    }

    /// Stores thread `c` of replica `gid` and adds `members`, in one transaction; a channel
    /// that is not a thread is ignored.
    pub(super) async fn upsert_thread(
        &self,
        gid: i64,
        c: &wire::Channel,
        members: &[ThreadMemberRow],
    ) -> Result<()> {
        let Some((row, t)) = thread_rows(gid, c) else {
            return Ok(());
        };
        let mut ch = self.db.change(Lock::Guild(gid)).await?;
        ch.upsert_replica_thread(&row, &t, members).await?;
        ch.commit().await
    }

    /// Releases the files cached here of `attachments` (rows already deleted): their ledger
    /// rows, if they were ever fetched, are released now and their bytes deleted by the
    /// collector after `media.delete_grace_seconds` (spec/federation.md §17.3).
    ///
    /// Errors: storage errors.
    pub(super) async fn release_cached(
        &self,
        attachments: impl Iterator<Item = crate::storage::AttachmentRow>,
    ) -> Result<()> {
        let keys: Vec<String> = attachments.map(|a| a.blob_key).collect();
        if keys.is_empty() {
            return Ok(());
        }
        let released = self.db.release_live_blobs(&keys, now_ms()).await?;
        self.files_released(released);
        Ok(())
    }

    /// Replaces the stored events about a message about to be deleted by their stubs, and
    /// those of replies that still quote it (logged before hosts left quotes out); spec §6.4:
    /// deleted content is dropped everywhere, the hash chain is unchanged. Called before the
    /// message row goes (its replies are found through it).
    pub(super) async fn scrub_replica(&self, guild_id: i64, message_id: i64) -> Result<()> {
        let about = self.db.replica_events_about(guild_id, message_id).await?;
        let replies = self
            .db
            .replica_events_of_replies(guild_id, message_id)
            .await?;
        self.stub_replica_events(guild_id, about, false).await?;
        self.stub_replica_events(guild_id, replies, true).await
    }

    /// Replaces the stored events about the messages of a channel about to be deleted by
    /// their stubs (spec §6.4).
    pub(super) async fn scrub_replica_channel(&self, guild_id: i64, channel_id: i64) -> Result<()> {
        let events = self
            .db
            .replica_events_of_channel(guild_id, channel_id)
            .await?;
        self.stub_replica_events(guild_id, events, false).await
    }

    /// Stores the `removed` stub of each of `events` that still has content (with
    /// `quoting_only`, of each that quotes a message: a reply's `referenced_message`).
    async fn stub_replica_events(
        &self,
        guild_id: i64,
        events: Vec<(i64, String)>,
        quoting_only: bool,
    ) -> Result<()> {
        use crate::storage::federation_scrub::{Quoting, removed_stub};
        for (seq, ev) in events {
            if let Some(st) = removed_stub(&ev, quoting_only.then_some(Quoting::Any)) {
                self.db.replace_replica_event(guild_id, seq, &st).await?;
            }
        }
        Ok(())
    }
}
