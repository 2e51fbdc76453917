//! Threads (Discord "Topics > Threads", "Resources > Channel": Start Thread from Message,
//! Start Thread without Message, thread members, Modify Channel for threads). A thread is a
//! channel row (type 10 announcement, 11 public, 12 private) under a text or announcement
//! channel, with its metadata and members in `threads` and `thread_members` (migration 0029;
//! SQL in `storage/threads.rs`). Permissions are the parent's (threads have no overwrites),
//! with SEND_MESSAGES_IN_THREADS in place of SEND_MESSAGES ([`thread_perms`]); a private
//! thread is seen only by its members and MANAGE_THREADS holders (`Hearth::channel_access`,
//! the gateway's `GuildSnapshot::can_view`). The lists and the archiver are in
//! [`super::thread_lists`]. In a guild hosted on another server the changes are relayed to
//! the host ([`super::thread_relay`]).

use serde_json::json;

use super::attachments::Upload;
use super::thread_audit::thread_changes;
use super::{Actor, ChannelAccess, Hearth, audit_action as A, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{ChannelRow, Lock, MessageRow, ThreadMemberRow, ThreadRow, now_ms};
use crate::wire::{self, ChannelType, MessageType};

/// Discord's auto-archive durations, in minutes.
pub const AUTO_ARCHIVE_DURATIONS: [i64; 4] = [60, 1440, 4320, 10080];
/// The duration of a thread created without one (minutes).
pub const DEFAULT_AUTO_ARCHIVE: i64 = 4320;
/// A message followed by at least this many messages in its channel is old: a thread
/// started from it is announced by a THREAD_CREATED message, as Discord announces threads
/// of old messages (the number is Hearth's; Discord documents none).
pub const OLD_STARTER_AFTER: i64 = 5;

/// The caller's permissions in a thread out of those in its parent: SEND_MESSAGES holds
/// exactly when SEND_MESSAGES_IN_THREADS does, so every check of SEND_MESSAGES (messages,
/// typing, files) asks the thread bit.
pub(crate) fn thread_perms(parent: u64) -> u64 {
    let p = parent & !perm::SEND_MESSAGES;
    if p & perm::SEND_MESSAGES_IN_THREADS != 0 {
        p | perm::SEND_MESSAGES
    } else {
        p
    }
}

/// Refuses a change in a thread that is archived (400 50083) or locked (403 160005, unless
/// the caller holds MANAGE_THREADS).
pub(crate) fn check_open(t: &ThreadRow, perms: u64) -> Result<()> {
    if t.archived {
        return Err(Error::Rule(Rule::ThreadArchived));
    }
    if t.locked && perms & perm::MANAGE_THREADS == 0 {
        return Err(Error::Rule(Rule::ThreadLocked));
    }
    Ok(())
}

fn check_name(errs: &mut FieldErrors, name: Option<&String>, required: bool) {
    match name {
        None if required => errs.add("name", "BASE_TYPE_REQUIRED", "This field is required"),
        Some(n) if n.trim().is_empty() || n.chars().count() > 100 => errs.add(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ),
        _ => {}
    }
}

fn check_duration(errs: &mut FieldErrors, d: Option<i64>) {
    if let Some(d) = d
        && !AUTO_ARCHIVE_DURATIONS.contains(&d)
    {
        errs.add(
            "auto_archive_duration",
            "BASE_TYPE_CHOICES",
            "Value must be one of {60, 1440, 4320, 10080}.",
        );
    }
}

fn check_slowmode(errs: &mut FieldErrors, r: Option<i64>) {
    if let Some(r) = r
        && !(0..=21600).contains(&r)
    {
        errs.add(
            "rate_limit_per_user",
            "NUMBER_TYPE_MAX",
            "int value should be between 0 and 21600.",
        );
    }
}

/// The field checks of a new thread: `name` (required, 1 to 100), `auto_archive_duration`,
/// `rate_limit_per_user`.
pub(super) fn check_fields(
    errs: &mut FieldErrors,
    name: Option<&String>,
    duration: Option<i64>,
    slowmode: Option<i64>,
) {
    check_name(errs, name, true);
    check_duration(errs, duration);
    check_slowmode(errs, slowmode);
}

impl Hearth {
    /// The thread channel object: the channel fields threads have plus `owner_id`,
    /// `thread_metadata`, and when given the counts `(members, messages)` and the caller's
    /// thread member object.
    pub fn thread_wire(
        c: &ChannelRow,
        t: &ThreadRow,
        counts: Option<(i64, i64)>,
        me: Option<&ThreadMemberRow>,
    ) -> wire::Channel {
        let mut w = Self::channel_wire(c, &[], None);
        w.position = None;
        w.permission_overwrites = None;
        w.topic = None;
        w.nsfw = None;
        w.rate_limit_per_user = Some(c.rate_limit_per_user);
        w.last_pin_timestamp = Some(c.last_pin_timestamp.map(wire::iso));
        w.parent_id = Some(Some(Snowflake::from_db(t.parent_id)));
        w.owner_id = Some(Snowflake::from_db(t.owner_id));
        w.thread_metadata = Some(wire::ThreadMetadata {
            archived: t.archived,
            auto_archive_duration: t.auto_archive_duration,
            archive_timestamp: wire::iso(t.archive_timestamp),
            locked: t.locked,
            invitable: (t.kind == 12).then_some(t.invitable),
            create_timestamp: Some(wire::iso(t.created_at)),
        });
        if let Some((members, messages)) = counts {
            w.member_count = Some(members.min(50));
            w.message_count = Some(messages);
            w.total_message_sent = Some(messages);
        }
        w.member = me.map(|m| Self::thread_member_wire(m, None));
        w.applied_tags = Some(serde_json::from_str(&t.applied_tags).unwrap_or_default());
        w
    }

    /// A thread member object; `guild_id` for gateway payloads.
    pub fn thread_member_wire(m: &ThreadMemberRow, guild: Option<i64>) -> wire::ThreadMember {
        wire::ThreadMember {
            id: Snowflake::from_db(m.thread_id),
            user_id: Snowflake::from_db(m.user_id),
            join_timestamp: wire::iso(m.join_timestamp),
            flags: m.flags as u64,
            guild_id: guild.map(Snowflake::from_db),
        }
    }

    /// A thread as `user` sees it (counts and their membership read fresh).
    pub(crate) async fn render_thread(
        &self,
        c: &ChannelRow,
        t: &ThreadRow,
        user: i64,
    ) -> Result<wire::Channel> {
        let counts = self.db.thread_counts(&[c.id]).await?.get(&c.id).copied();
        let me = self.db.thread_member(c.id, user).await?;
        Ok(Self::thread_wire(c, t, counts, me.as_ref()))
    }

    /// A thread dispatch: to those who can see the thread (GUILDS intent).
    pub(super) fn thread_event(event: Event, t: &ThreadRow, data: serde_json::Value) -> Dispatch {
        Self::event_of(
            event,
            Audience::Guild {
                guild_id: Snowflake::from_db(t.guild_id),
                channel: Some(Snowflake::from_db(t.channel_id)),
            },
            intents::GUILDS,
            data,
        )
    }

    /// The access to a thread, or 400 50024 when `channel_id` is not one.
    async fn thread_access(&self, actor: &Actor, channel_id: Snowflake) -> Result<ChannelAccess> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca.thread.is_none() {
            return Err(Error::Rule(Rule::ChannelType));
        }
        Ok(ca)
    }

    /// `POST /channels/{id}/messages/{message_id}/threads`: a public thread (type 11, or 10
    /// in an announcement channel) started from a message, with the message's id. Needs
    /// CREATE_PUBLIC_THREADS and READ_MESSAGE_HISTORY in a text or announcement channel.
    /// Errors: 50024 other channels, 10008 unknown message, 160004 the message already has a
    /// thread, 50035 `name` (1 to 100), `auto_archive_duration` (60, 1440, 4320, 10080),
    /// `rate_limit_per_user` (0 to 21600).
    pub async fn start_thread_from_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        body: wire::StartThreadBody,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        let kind = match ChannelType::from_db(ca.channel.kind) {
            ChannelType::GuildText => 11,
            ChannelType::GuildAnnouncement => 10,
            _ => return Err(Error::Rule(Rule::ChannelType)),
        };
        if let Some(rg) = self.thread_replica(&ca).await? {
            let m = Some(message_id);
            return self
                .relay_thread_start(actor, &rg, &ca, m, &body, &[])
                .await;
        }
        ca.require(perm::CREATE_PUBLIC_THREADS | perm::READ_MESSAGE_HISTORY)?;
        self.db
            .message(ca.channel.id, message_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Message))?;
        if self.db.thread(message_id.db()).await?.is_some() {
            return Err(Error::Rule(Rule::ThreadExists));
        }
        self.create_thread(actor, &ca, message_id.db(), kind, body, true, reason)
            .await
    }

    /// `POST /channels/{id}/threads`: a thread without a starter message; `type` 12 (the
    /// default, needs CREATE_PRIVATE_THREADS) or 11 (CREATE_PUBLIC_THREADS) in a text channel,
    /// 10 in an announcement channel. Errors as [`Hearth::start_thread_from_message`].
    pub async fn start_thread(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::StartThreadBody,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        self.start_thread_with(actor, channel_id, body, vec![], reason)
            .await
    }

    /// [`Hearth::start_thread`] with the files of a multipart request (already stored),
    /// taken only by a forum or media channel's post (`super::forums`); elsewhere files are
    /// `50035` on `files`. Stored files are released when the request fails.
    pub async fn start_thread_with(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::StartThreadBody,
        files: Vec<Upload>,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let r = self
            .start_thread_files(actor, channel_id, body, &files, reason)
            .await;
        self.files_kept_if_ok(&files, r)
    }

    async fn start_thread_files(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::StartThreadBody,
        files: &[Upload],
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.thread_replica(&ca).await? {
            return self
                .relay_thread_start(actor, &rg, &ca, None, &body, files)
                .await;
        }
        if super::forums::is_forum(ca.channel.kind) {
            return self.start_forum_post(actor, ca, body, files, reason).await;
        }
        if !files.is_empty() {
            let mut e = FieldErrors::new();
            e.add(
                "files",
                "FORUM_ONLY",
                "Only posts of forum and media channels take files.",
            );
            return Err(Error::InvalidForm(e));
        }
        let parent = ChannelType::from_db(ca.channel.kind);
        let kind = match (parent, body.kind) {
            (ChannelType::GuildText, None | Some(ChannelType::PrivateThread)) => 12,
            (ChannelType::GuildText, Some(ChannelType::PublicThread)) => 11,
            (
                ChannelType::GuildAnnouncement,
                None | Some(ChannelType::AnnouncementThread | ChannelType::PublicThread),
            ) => 10,
            (ChannelType::GuildText | ChannelType::GuildAnnouncement, Some(_)) => {
                let mut e = FieldErrors::new();
                e.add(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {10, 11, 12}.",
                );
                return Err(Error::InvalidForm(e));
            }
            _ => return Err(Error::Rule(Rule::ChannelType)),
        };
        ca.require(if kind == 12 {
            perm::CREATE_PRIVATE_THREADS
        } else {
            perm::CREATE_PUBLIC_THREADS
        })?;
        let id = self.next_id();
        self.create_thread(actor, &ca, id, kind, body, false, reason)
            .await
    }

    /// Creates the thread with its creator as member, the THREAD_CREATE audit entry and,
    /// for a public thread without a starter message, the THREAD_CREATED notice: one
    /// transaction.
    #[allow(clippy::too_many_arguments)]
    async fn create_thread(
        &self,
        actor: &Actor,
        ca: &ChannelAccess,
        id: i64,
        kind: i64,
        body: wire::StartThreadBody,
        from_message: bool,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let mut errs = FieldErrors::new();
        check_fields(
            &mut errs,
            body.name.as_ref(),
            body.auto_archive_duration,
            body.rate_limit_per_user,
        );
        if body.message.is_some() || body.applied_tags.is_some() {
            errs.add(
                "message",
                "FORUM_ONLY",
                "Only posts of forum and media channels take a message and tags.",
            );
        }
        errs.into_result()?;
        let guild_id = ca.channel.guild_id.ok_or(Error::Rule(Rule::ChannelType))?;
        let now = now_ms();
        let c = ChannelRow {
            id,
            guild_id: Some(guild_id),
            kind,
            name: body.name.map(|n| n.trim().to_string()),
            topic: None,
            position: 0,
            parent_id: Some(ca.channel.id),
            nsfw: ca.channel.nsfw,
            rate_limit_per_user: body.rate_limit_per_user.unwrap_or(0),
            bitrate: None,
            user_limit: None,
            last_message_id: None,
            last_pin_timestamp: None,
            created_at: now,
            flags: 0,
            forum: None,
        };
        let t = ThreadRow {
            channel_id: id,
            guild_id,
            parent_id: ca.channel.id,
            kind,
            owner_id: actor.user.id,
            archived: false,
            auto_archive_duration: body.auto_archive_duration.unwrap_or(DEFAULT_AUTO_ARCHIVE),
            archive_timestamp: now,
            locked: false,
            invitable: kind != 12 || body.invitable.unwrap_or(true),
            created_at: now,
            applied_tags: "[]".into(),
        };
        let me = ThreadMemberRow {
            thread_id: id,
            user_id: actor.user.id,
            join_timestamp: now,
            flags: 0,
        };
        // A public thread started without a message, or from an old one (followed by at
        // least [`OLD_STARTER_AFTER`] messages), is announced in its parent by a
        // THREAD_CREATED message (type 18) of its creator: the thread's name, with a
        // `message_reference` to the thread (Discord "Message Types > Thread Created
        // messages"); private threads are not.
        let old_starter = from_message
            && self
                .db
                .messages(
                    ca.channel.id,
                    crate::storage::Page::After(id),
                    OLD_STARTER_AFTER,
                )
                .await?
                .len() as i64
                >= OLD_STARTER_AFTER;
        let notice = (kind != 12 && (!from_message || old_starter)).then(|| MessageRow {
            id: self.next_id(),
            content: c.name.clone().unwrap_or_default(),
            reference_channel_id: Some(id),
            reference_guild_id: Some(guild_id),
            ..MessageRow::system(
                ca.channel.id,
                Some(guild_id),
                actor.user.id,
                MessageType::ThreadCreated.db(),
            )
        });
        let audit = self.audit_row(
            guild_id,
            actor,
            Some(id),
            A::THREAD_CREATE,
            json!(thread_changes(None, Some((&c, &t)))),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(guild_id)).await?;
        if !ch.insert_thread(&c, &t, std::slice::from_ref(&me)).await? {
            // Only a message's id can be taken: it started a thread meanwhile.
            return Err(if from_message {
                Error::Rule(Rule::ThreadExists)
            } else {
                Error::internal("snowflake reused")
            });
        }
        ch.audit(&audit).await?;
        let w = Self::thread_wire(&c, &t, Some((1, 0)), Some(&me));
        let mut created = w.clone();
        created.newly_created = Some(true);
        created.member = None;
        let mut events = vec![
            Self::thread_event(Event::ThreadCreate, &t, to_value(&created)),
            Self::event_of(
                Event::ThreadMemberUpdate,
                Audience::Users(vec![actor.id()]),
                intents::GUILDS,
                to_value(&Self::thread_member_wire(&me, Some(guild_id))),
            ),
        ];
        if let Some(m) = &notice {
            ch.insert_system_message(m).await?;
            // Its MESSAGE_CREATE is logged through the outbox with the change, after the
            // thread's events.
            events.push(self.thread_created_message(ca, actor, m)?);
        }
        self.commit(ch, events).await?;
        if from_message && let Err(e) = self.starter_updated(&t).await {
            // The thread is committed: the answer says so; only the notice is missing.
            tracing::warn!(thread = t.channel_id, error = %e, "the starter message's MESSAGE_UPDATE was not sent");
        }
        Ok(w)
    }

    /// MESSAGE_CREATE of the THREAD_CREATED message `m` that `actor` (with the member row of
    /// `ca`, the parent's access) left in the parent, to those who see the parent.
    fn thread_created_message(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        m: &MessageRow,
    ) -> Result<Dispatch> {
        let users = std::collections::HashMap::from([(actor.user.id, actor.user.clone())]);
        let mut w = self.message_wire(m, &users, vec![]);
        if let Some(ga) = &ca.guild
            && let Some(mem) = &ga.member
        {
            w.member = Some(self.member_wire(mem, None, ga.member_roles.clone(), false));
        }
        let (audience, _) = Self::message_audience(ca);
        Ok(Dispatch {
            has_content: true,
            ..Self::event_of(
                Event::MessageCreate,
                audience,
                intents::GUILD_MESSAGES,
                serde_json::to_value(&w).map_err(Error::internal)?,
            )
        })
    }

    /// MESSAGE_UPDATE of the message that started thread `t` (now with `thread` and the
    /// HAS_THREAD flag), to those who see the parent (Discord sends it on thread creation).
    async fn starter_updated(&self, t: &ThreadRow) -> Result<()> {
        let Some(m) = self.db.message(t.parent_id, t.channel_id).await? else {
            return Ok(());
        };
        let mut w = self.render_one(&m, t.owner_id).await?;
        if let Some(th) = w.thread.as_mut() {
            th.member = None;
        }
        let mut d = Self::event_of(
            Event::MessageUpdate,
            Audience::Guild {
                guild_id: Snowflake::from_db(t.guild_id),
                channel: Some(Snowflake::from_db(t.parent_id)),
            },
            intents::GUILD_MESSAGES,
            self.message_event(&m, &w).await?,
        );
        d.has_content = true;
        self.publish(d);
        Ok(())
    }

    /// `PATCH /channels/{thread_id}` (Discord "Modify Channel > Thread"): `name`,
    /// `auto_archive_duration` and archiving need MANAGE_THREADS or being the thread's owner;
    /// unarchiving needs SEND_MESSAGES_IN_THREADS, and MANAGE_THREADS when the thread is (or
    /// stays) locked; `locked` and `rate_limit_per_user` need MANAGE_THREADS; `invitable`
    /// (private threads only) MANAGE_THREADS or the owner. An archived thread accepts no
    /// other change than unarchiving (400 50083). Dispatches THREAD_UPDATE.
    pub(crate) async fn modify_thread(
        &self,
        actor: &Actor,
        ca: ChannelAccess,
        body: wire::ChannelBody,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let Some(mut t) = ca.thread.clone() else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        if let Some(rg) = self.thread_replica(&ca).await? {
            return self.relay_thread_update(actor, &rg, &ca, &body).await;
        }
        let manage = ca.perms & perm::MANAGE_THREADS != 0;
        let owner = t.owner_id == actor.user.id;
        let mut errs = FieldErrors::new();
        check_name(&mut errs, body.name.as_ref(), false);
        check_duration(&mut errs, body.auto_archive_duration);
        check_slowmode(&mut errs, body.rate_limit_per_user);
        if body.invitable.is_some() && t.kind != 12 {
            errs.add(
                "invitable",
                "THREAD_INVITABLE_ONLY_PRIVATE",
                "Only private threads can be invitable.",
            );
        }
        errs.into_result()?;
        let mut c = ca.channel.clone();
        if let Some(n) = &body.name {
            c.name = Some(n.trim().to_string());
        }
        if let Some(r) = body.rate_limit_per_user {
            c.rate_limit_per_user = r;
        }
        // The rules are checked against the thread as stored; the write applies only if it
        // is still so (compare-and-set under the guild lock), else the thread is read again
        // and checked again: a concurrent PATCH or the archiver is never overwritten.
        let mut attempts = 0;
        let mut before = ca.channel.clone();
        loop {
            let read = t.clone();
            // Tag and pin rules are judged against the thread as read in this attempt.
            let (tags, flags) = self.post_changes(&ca, &t, &body, owner).await?;
            let unarchive = t.archived && body.archived == Some(false);
            if t.archived && !unarchive {
                return Err(Error::Rule(Rule::ThreadArchived));
            }
            let locked = body.locked.unwrap_or(t.locked);
            if unarchive {
                if (t.locked || locked) && !manage {
                    return Err(Error::MissingPermissions);
                }
                ca.require(perm::SEND_MESSAGES)?;
            }
            if body.locked.is_some_and(|l| l != t.locked) && !manage {
                return Err(Error::MissingPermissions);
            }
            if body.rate_limit_per_user.is_some() && !manage {
                return Err(Error::MissingPermissions);
            }
            let owner_fields = body.name.is_some()
                || body.auto_archive_duration.is_some()
                || body.invitable.is_some()
                || body.archived == Some(true);
            if owner_fields && !manage && !owner {
                return Err(Error::MissingPermissions);
            }
            let now = now_ms();
            if let Some(d) = body.auto_archive_duration {
                t.auto_archive_duration = d;
            }
            if let Some(i) = body.invitable {
                t.invitable = i;
            }
            if let Some(tags) = &tags {
                t.applied_tags = tags.clone();
            }
            t.locked = locked;
            if let Some(a) = body.archived
                && a != t.archived
            {
                t.archived = a;
                t.archive_timestamp = now;
            }
            let mut ch = self.db.change(Lock::Guild(t.guild_id)).await?;
            let pinned = super::forums::FLAG_PINNED as i64;
            if flags.is_some_and(|f| f & pinned != 0)
                && ch.pinned_post(t.parent_id, t.channel_id, pinned).await?
            {
                return Err(Error::Rule(Rule::MaxPinnedPosts));
            }
            let name = body.name.as_ref().map(|n| n.trim().to_string());
            // The audit's before: the channel as read in this round; after: with the edit.
            let after = ChannelRow {
                name: name.clone().or_else(|| before.name.clone()),
                rate_limit_per_user: body
                    .rate_limit_per_user
                    .unwrap_or(before.rate_limit_per_user),
                flags: flags.unwrap_or(before.flags),
                ..before.clone()
            };
            let changes = thread_changes(Some((&before, &read)), Some((&after, &t)));
            if !changes.is_empty() {
                let a = self.audit_row(
                    t.guild_id,
                    actor,
                    Some(t.channel_id),
                    A::THREAD_UPDATE,
                    json!(changes),
                    None,
                    reason,
                );
                ch.audit(&a).await?;
            }
            if ch
                .update_thread(&read, &t, name.as_deref(), body.rate_limit_per_user, flags)
                .await?
            {
                ch.commit().await?;
                if let Some(f) = flags {
                    c.flags = f;
                }
                break;
            }
            drop(ch);
            attempts += 1;
            if attempts == 5 {
                return Err(Error::Unavailable("thread kept changing".into()));
            }
            t = self
                .db
                .thread(t.channel_id)
                .await?
                .ok_or(Error::Unknown(Unknown::Channel))?;
            before = self
                .db
                .channel(t.channel_id)
                .await?
                .ok_or(Error::Unknown(Unknown::Channel))?;
        }
        let w = self.render_thread(&c, &t, actor.user.id).await?;
        let mut ev = w.clone();
        ev.member = None;
        self.publish(Self::thread_event(Event::ThreadUpdate, &t, to_value(&ev)));
        Ok(w)
    }

    /// `DELETE /channels/{thread_id}`: MANAGE_THREADS. Its messages and members go with it;
    /// THREAD_DELETE `{id, guild_id, parent_id, type}` to those who saw it (a private
    /// thread's: its members).
    pub(crate) async fn delete_thread(
        &self,
        actor: &Actor,
        ca: ChannelAccess,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let Some(t) = ca.thread.clone() else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        // MANAGE_THREADS is administrative: not relayed (spec/federation.md §14).
        if self.thread_replica(&ca).await?.is_some() {
            return Err(Error::Rule(Rule::RemoteGuild));
        }
        ca.require(perm::MANAGE_THREADS)?;
        let w = Self::thread_wire(&ca.channel, &t, None, None);
        let audit = self.audit_row(
            t.guild_id,
            actor,
            Some(t.channel_id),
            A::THREAD_DELETE,
            json!(thread_changes(Some((&ca.channel, &t)), None)),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(t.guild_id)).await?;
        let members = ch.thread_member_ids(t.channel_id).await?;
        if ch.delete_channel(t.channel_id).await?.is_none() {
            return Err(Error::Unknown(Unknown::Channel));
        }
        ch.audit(&audit).await?;
        // Logged as about the thread whatever its audience here (spec/federation.md §6.5).
        let mut d = Self::thread_event(
            Event::ThreadDelete,
            &t,
            json!({
                "id": Snowflake::from_db(t.channel_id),
                "guild_id": Snowflake::from_db(t.guild_id),
                "parent_id": Snowflake::from_db(t.parent_id),
                "type": t.kind,
            }),
        );
        let federated = ch.log(super::writer::outbox_item(&d).as_slice()).await?;
        ch.commit().await?;
        d.logged = !federated.is_empty();
        d.audience = if t.kind == 12 {
            Audience::Users(members.into_iter().map(Snowflake::from_db).collect())
        } else {
            Audience::Guild {
                guild_id: Snowflake::from_db(t.guild_id),
                channel: Some(Snowflake::from_db(t.parent_id)),
            }
        };
        self.publish(d);
        self.release_files_of(super::media_gc::FilesOf::Channel(t.channel_id));
        Ok(w)
    }

    // ---- members ----------------------------------------------------------------------

    /// `PUT /channels/{thread_id}/thread-members/@me` and `/{user_id}`. Joining oneself
    /// needs only to see the thread; adding someone needs SEND_MESSAGES_IN_THREADS, and in a
    /// private thread that is not `invitable` MANAGE_THREADS; the added user must be a
    /// member of the guild who can view the parent (404 10007 / 403 50001). The thread must
    /// not be archived (50083). 204 whether or not they were a member already; dispatches
    /// THREAD_MEMBER_UPDATE to the user's sessions and THREAD_MEMBERS_UPDATE (GUILD_MEMBERS
    /// intent) to those who see the thread, whose added member carries the guild `member`
    /// and the nullable `presence`, as Discord sends them.
    pub async fn add_thread_member(
        &self,
        actor: &Actor,
        thread_id: Snowflake,
        user: Option<Snowflake>,
    ) -> Result<()> {
        let ca = self.thread_access(actor, thread_id).await?;
        if let Some(rg) = self.thread_replica(&ca).await? {
            return self.relay_thread_member(actor, &rg, &ca, user, true).await;
        }
        let t = ca.thread.clone().expect("thread_access");
        check_open(&t, ca.perms)?;
        let target = user.map(|u| u.db()).unwrap_or(actor.user.id);
        if target != actor.user.id {
            ca.require(perm::SEND_MESSAGES)?;
            if t.kind == 12 && !t.invitable {
                ca.require(perm::MANAGE_THREADS)?;
            }
            let view = self
                .db
                .guild_view(t.guild_id, target)
                .await?
                .ok_or(Error::Unknown(Unknown::Guild))?;
            let ga = super::GuildAccess::of_view(view, target, false)
                .map_err(|_| Error::Unknown(Unknown::Member))?;
            if ga.in_channel(&ca.overwrites) & perm::VIEW_CHANNEL == 0 {
                return Err(Error::MissingAccess);
            }
        }
        let m = ThreadMemberRow {
            thread_id: t.channel_id,
            user_id: target,
            join_timestamp: now_ms(),
            flags: 0,
        };
        // THREAD_MEMBERS_UPDATE's added member carries the guild member (read before the
        // change: a member who left meanwhile is refused here, 404 10007).
        let guild_member = self.member_wire_by_id(t.guild_id, target, false).await?;
        let mut ch = self.db.change(Lock::Guild(t.guild_id)).await?;
        let added = ch.add_thread_member(&m).await?;
        let count = ch.thread_member_ids(t.channel_id).await?.len();
        ch.commit().await?;
        if !added {
            return Ok(());
        }
        // Discord "Thread Create": sent to a user added to an existing private thread, with
        // her thread member object.
        if t.kind == 12 {
            let w = self.render_thread(&ca.channel, &t, target).await?;
            self.publish(Self::event_of(
                Event::ThreadCreate,
                Audience::Users(vec![Snowflake::from_db(target)]),
                intents::GUILDS,
                to_value(&w),
            ));
        }
        self.publish(Self::event_of(
            Event::ThreadMemberUpdate,
            Audience::Users(vec![Snowflake::from_db(target)]),
            intents::GUILDS,
            to_value(&Self::thread_member_wire(&m, Some(t.guild_id))),
        ));
        let mut entry = to_value(&Self::thread_member_wire(&m, Some(t.guild_id)));
        entry["member"] = to_value(&guild_member);
        self.load_presences(&[target]).await;
        entry["presence"] = self
            .presence_of(target, t.guild_id)
            .unwrap_or(serde_json::Value::Null);
        self.members_update(&t, count, vec![entry], vec![]);
        Ok(())
    }

    /// `DELETE /channels/{thread_id}/thread-members/@me` and `/{user_id}`. Leaving needs
    /// nothing; removing someone else needs MANAGE_THREADS, or being the owner of a private
    /// thread. The thread must not be archived (50083); 404 10007 when the user is not a
    /// member. Dispatches THREAD_MEMBERS_UPDATE.
    pub async fn remove_thread_member(
        &self,
        actor: &Actor,
        thread_id: Snowflake,
        user: Option<Snowflake>,
    ) -> Result<()> {
        let ca = self.thread_access(actor, thread_id).await?;
        if let Some(rg) = self.thread_replica(&ca).await? {
            return self.relay_thread_member(actor, &rg, &ca, user, false).await;
        }
        let t = ca.thread.clone().expect("thread_access");
        if t.archived {
            return Err(Error::Rule(Rule::ThreadArchived));
        }
        let target = user.map(|u| u.db()).unwrap_or(actor.user.id);
        if target != actor.user.id
            && ca.perms & perm::MANAGE_THREADS == 0
            && !(t.kind == 12 && t.owner_id == actor.user.id)
        {
            return Err(Error::MissingPermissions);
        }
        let mut ch = self.db.change(Lock::Guild(t.guild_id)).await?;
        if !ch.remove_thread_member(t.channel_id, target).await? {
            return Err(Error::Unknown(Unknown::Member));
        }
        let count = ch.thread_member_ids(t.channel_id).await?.len();
        ch.commit().await?;
        self.members_update(&t, count, vec![], vec![target]);
        Ok(())
    }

    /// THREAD_MEMBERS_UPDATE `{id, guild_id, member_count, added_members, removed_member_ids}`
    /// (`added`: thread members with their `member` and `presence`).
    fn members_update(
        &self,
        t: &ThreadRow,
        count: usize,
        added: Vec<serde_json::Value>,
        removed: Vec<i64>,
    ) {
        let mut d = Self::thread_event(
            Event::ThreadMembersUpdate,
            t,
            json!({
                "id": Snowflake::from_db(t.channel_id),
                "guild_id": Snowflake::from_db(t.guild_id),
                "member_count": count.min(50),
                "added_members": added,
                "removed_member_ids": removed.into_iter().map(Snowflake::from_db).collect::<Vec<_>>(),
            }),
        );
        d.intent = intents::GUILD_MEMBERS;
        self.publish(d);
    }

    /// `GET /channels/{thread_id}/thread-members/{user_id}`: 404 10007 when not a member.
    pub async fn get_thread_member(
        &self,
        actor: &Actor,
        thread_id: Snowflake,
        user: Snowflake,
    ) -> Result<wire::ThreadMember> {
        let ca = self.thread_access(actor, thread_id).await?;
        let m = self
            .db
            .thread_member(ca.channel.id, user.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Member))?;
        Ok(Self::thread_member_wire(&m, None))
    }

    /// `GET /channels/{thread_id}/thread-members?after=&limit=` (limit 1 to 100, default
    /// 100), by user id.
    pub async fn list_thread_members(
        &self,
        actor: &Actor,
        thread_id: Snowflake,
        after: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<Vec<wire::ThreadMember>> {
        let ca = self.thread_access(actor, thread_id).await?;
        let rows = self
            .db
            .thread_members(
                ca.channel.id,
                after.map(|a| a.db()).unwrap_or(0),
                limit.unwrap_or(100).clamp(1, 100),
            )
            .await?;
        Ok(rows
            .iter()
            .map(|m| Self::thread_member_wire(m, None))
            .collect())
    }
}
