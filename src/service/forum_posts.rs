//! Creating forum and media posts (Discord "Start Thread in Forum or Media Channel", and
//! "Execute Webhook" with `thread_name`): the post's thread row and its starter message,
//! whose id is the thread's, stored in one transaction, then THREAD_CREATE
//! (`newly_created`) and the starter's MESSAGE_CREATE. The settings, tags and the rules of
//! editing a post are in [`super::forums`].

use super::attachments::Upload;
use super::forums::settings;
use super::messages::Composed;
use super::threads::{self, DEFAULT_AUTO_ARCHIVE};
use super::{Actor, ChannelAccess, Hearth, audit_action as A, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{ChannelRow, Lock, MessageRow, ThreadMemberRow, ThreadRow, now_ms};
use crate::wire;

/// The channel and thread rows of a new post `id` of `forum` by `owner` (a user, or a
/// webhook's id): a public thread (type 11) whose `last_message_id` is its starter message
/// (same id); its slow mode defaults to the forum's `default_thread_rate_limit_per_user`.
/// `tags`: the applied tags as stored (JSON).
#[allow(clippy::too_many_arguments)]
fn post_rows(
    forum: &ChannelRow,
    id: i64,
    owner: i64,
    name: Option<&str>,
    auto_archive_duration: Option<i64>,
    rate_limit_per_user: Option<i64>,
    tags: String,
) -> Result<(ChannelRow, ThreadRow)> {
    let guild_id = forum.guild_id.ok_or(Error::Rule(Rule::ChannelType))?;
    let defaults = settings(forum);
    let now = now_ms();
    let c = ChannelRow {
        id,
        guild_id: Some(guild_id),
        kind: 11,
        name: name.map(|n| n.trim().to_string()),
        topic: None,
        position: 0,
        parent_id: Some(forum.id),
        nsfw: forum.nsfw,
        rate_limit_per_user: rate_limit_per_user
            .unwrap_or(defaults.default_thread_rate_limit_per_user),
        bitrate: None,
        user_limit: None,
        last_message_id: Some(id),
        last_pin_timestamp: None,
        created_at: now,
        flags: 0,
        forum: None,
    };
    let t = ThreadRow {
        channel_id: id,
        guild_id,
        parent_id: forum.id,
        kind: 11,
        owner_id: owner,
        archived: false,
        auto_archive_duration: auto_archive_duration.unwrap_or(DEFAULT_AUTO_ARCHIVE),
        archive_timestamp: now,
        locked: false,
        invitable: true,
        created_at: now,
        applied_tags: tags,
    };
    Ok((c, t))
}

/// THREAD_CREATE of a new post of guild `guild_id` (`newly_created`, no `member`), to
/// those who see it.
fn post_created(thread: &wire::Channel, guild_id: i64) -> Dispatch {
    let mut created = thread.clone();
    created.newly_created = Some(true);
    created.member = None;
    Hearth::event_of(
        Event::ThreadCreate,
        Audience::Guild {
            guild_id: Snowflake::from_db(guild_id),
            channel: Some(created.id),
        },
        intents::GUILDS,
        to_value(&created),
    )
}

impl Hearth {
    /// Stores a post: its thread (`c`, `t`), its creator's membership `me` (none for a
    /// webhook) and its starter message `m` (id = the thread's), in one transaction.
    ///
    /// The forum is read again under the guild's lock (which a change of its tags also
    /// takes): a tag removed since the checks is dropped from `t.applied_tags` here, as the
    /// removal dropped it from the posts it saw, and a forum deleted meanwhile is 404 10003.
    /// A post by a member (`by`: the member and the request's audit reason) is audited
    /// (THREAD_CREATE, [`super::thread_audit`]) in the same transaction.
    async fn store_post(
        &self,
        c: &ChannelRow,
        t: &mut ThreadRow,
        me: Option<&ThreadMemberRow>,
        m: &MessageRow,
        by: Option<(&Actor, Option<&str>)>,
    ) -> Result<()> {
        let mut ch = self.db.change(Lock::Guild(t.guild_id)).await?;
        let (forum, _) = ch
            .channel_with_overwrites(t.parent_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        if let Some(kept) =
            super::forums::kept_tags(&settings(&forum).available_tags, &t.applied_tags)?
        {
            t.applied_tags = kept;
        }
        if let Some((actor, reason)) = by {
            let a = self.audit_row(
                t.guild_id,
                actor,
                Some(t.channel_id),
                A::THREAD_CREATE,
                serde_json::json!(super::thread_audit::thread_changes(None, Some((c, t)))),
                None,
                reason,
            );
            ch.audit(&a).await?;
        }
        let members: Vec<ThreadMemberRow> = me.cloned().into_iter().collect();
        if !ch.insert_thread(c, t, &members).await? {
            return Err(Error::internal("snowflake reused"));
        }
        ch.insert_starter_message(m).await?;
        ch.commit().await
    }

    /// `POST /channels/{forum}/threads` in a forum or media channel (Discord "Start Thread in
    /// Forum or Media Channel"): a public thread (type 11) with its starter message, whose id
    /// is the thread's. Needs SEND_MESSAGES in the forum (as Discord documents); the
    /// message's own rules are those of Create Message (content, embeds, files,
    /// mentions, AutoMod). `message` is required (50035); `applied_tags` as
    /// [`Hearth::check_applied_tags`] (40067 without a tag under REQUIRE_TAG). The forum's slow
    /// mode applies to posting; the post's slow mode defaults to the forum's
    /// `default_thread_rate_limit_per_user`. The thread, its starter message and its
    /// creator's membership are one transaction; dispatches THREAD_CREATE (`newly_created`),
    /// THREAD_MEMBER_UPDATE to the creator, then MESSAGE_CREATE. Returns the thread with
    /// `message`.
    pub(super) async fn start_forum_post(
        &self,
        actor: &Actor,
        ca: ChannelAccess,
        mut body: wire::StartThreadBody,
        uploaded: &[Upload],
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        // A replica's posts were relayed to its host by the caller.
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        ca.require(perm::SEND_MESSAGES)?;
        let mut errs = FieldErrors::new();
        threads::check_fields(
            &mut errs,
            body.name.as_ref(),
            body.auto_archive_duration,
            body.rate_limit_per_user,
        );
        let msg = body.message.take();
        if msg.is_none() {
            errs.add("message", "BASE_TYPE_REQUIRED", "This field is required");
        }
        errs.into_result()?;
        let manage = ca.perms & perm::MANAGE_THREADS != 0;
        let tags = Self::check_applied_tags(
            &ca.channel,
            &[],
            body.applied_tags.as_deref().unwrap_or_default(),
            manage,
        )?;
        let slowed = Self::slowed(&ca);
        if slowed {
            // Checked now, taken once nothing else can refuse the post.
            self.slowmode_peek(ca.channel.id, actor.user.id, ca.channel.rate_limit_per_user)
                .await?;
        }
        let id = self.next_id();
        let (c, mut t) = post_rows(
            &ca.channel,
            id,
            actor.user.id,
            body.name.as_deref(),
            body.auto_archive_duration,
            body.rate_limit_per_user,
            tags,
        )?;
        let (guild_id, now) = (t.guild_id, t.created_at);
        let me = ThreadMemberRow {
            thread_id: id,
            user_id: actor.user.id,
            join_timestamp: now,
            flags: 0,
        };
        // The starter message is composed as if sent in the new thread, with the forum's
        // permissions (SEND_MESSAGES held, checked above).
        let mut body = msg.expect("checked");
        body.enforce_nonce = None;
        body.message_reference = None;
        // The multipart request's files and the two-step uploads were stored for the forum
        // (the uploads are claimed there once the message passed its checks), then become
        // the thread's; `message.attachments` names
        // them as in Create Message. At most `media.max_files_per_message` in all.
        let refs = body.attachments.take().unwrap_or_default();
        let two_step = refs
            .iter()
            .filter(|r| r.uploaded_filename.is_some())
            .count();
        let max = self.config.media.max_files_per_message;
        if uploaded.len() + two_step > max {
            let mut e = FieldErrors::new();
            e.add(
                "files",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
            return Err(Error::InvalidForm(e));
        }
        if !uploaded.is_empty() {
            ca.require(perm::ATTACH_FILES)?;
        }
        let mut files = Self::file_rows(ca.channel.id, &refs, uploaded, 0);
        let in_thread = ChannelAccess {
            channel: c.clone(),
            thread: Some(t.clone()),
            ..ca.clone()
        };
        // Every check of the message (AutoMod included) before anything is taken from the
        // poster: the uploads are claimed and the forum's slow-mode slot taken only then.
        let has_files = !files.is_empty() || two_step > 0;
        let (mut m, mut w, mut event, mut taken) = match self
            .compose_message(&in_thread, actor, body, &[], &[], has_files)
            .await?
        {
            Composed::New(n) => *n,
            Composed::Existing(_) => return Err(Error::internal("nonce on a forum post")),
        };
        match self.claim_uploads(&ca, actor, &refs, files.len()).await {
            Ok((claimed, pending)) => {
                files.extend(claimed);
                taken.uploads = pending;
            }
            Err(e) => {
                self.give_back(taken).await;
                return Err(e);
            }
        }
        let mut forum_slot = None;
        if slowed {
            match self
                .slowmode_take(ca.channel.id, actor.user.id, ca.channel.rate_limit_per_user)
                .await
            {
                Ok(slot) => forum_slot = Some(slot),
                Err(e) => {
                    self.give_back(taken).await;
                    return Err(e);
                }
            }
        }
        m.id = id;
        if !files.is_empty() {
            m.attachments = files
                .into_iter()
                .map(|a| crate::storage::AttachmentRow {
                    channel_id: id,
                    ..a
                })
                .collect();
            w.attachments = m
                .attachments
                .iter()
                .map(|a| self.attachment_wire(a))
                .collect();
            event.data["attachments"] = to_value(&w.attachments);
        }
        super::writer::stamp(&mut event.data, id);
        let sf = Snowflake::from_db(id);
        w.id = sf;
        w.timestamp = wire::iso(sf.timestamp_ms() as i64);
        if let Err(e) = self
            .store_post(&c, &mut t, Some(&me), &m, Some((actor, reason)))
            .await
        {
            // The request's own files are released by the caller; the uploads and the
            // slow-mode slots go back to the poster.
            self.slowmode_give_back(forum_slot).await;
            self.give_back(taken).await;
            return Err(e);
        }
        let mut thread = Self::thread_wire(&c, &t, Some((1, 0)), Some(&me));
        self.publish(post_created(&thread, t.guild_id));
        self.publish(Self::event_of(
            Event::ThreadMemberUpdate,
            Audience::Users(vec![actor.id()]),
            intents::GUILDS,
            to_value(&Self::thread_member_wire(&me, Some(guild_id))),
        ));
        self.publish(event);
        thread.message = Some(Box::new(w));
        Ok(thread)
    }

    /// `POST /webhooks/{id}/{token}` with `thread_name` on a webhook of a forum or media
    /// channel (`ca`, the webhook's view of it): a post named `thread_name` (1-100
    /// characters, 50035 at `thread_name`) whose starter message is the webhook's
    /// (`compose`, given the post's own view, makes it: the message rules of an
    /// execution), with `applied_tags`
    /// as [`Hearth::check_applied_tags`] (a webhook holds no MANAGE_THREADS, so moderated
    /// tags are 403 50013; 40067 without a tag under REQUIRE_TAG). The post's owner is the
    /// webhook; it has no members. One transaction; THREAD_CREATE, then MESSAGE_CREATE.
    /// Returns the starter message.
    pub(super) async fn webhook_post<F, Fut>(
        &self,
        ca: &ChannelAccess,
        webhook_id: i64,
        body: &wire::ExecuteWebhookBody,
        compose: F,
    ) -> Result<wire::Message>
    where
        F: FnOnce(ChannelAccess) -> Fut,
        Fut: std::future::Future<Output = Result<(MessageRow, wire::Message, Dispatch)>>,
    {
        let name = body.thread_name.as_deref().unwrap_or_default();
        if name.trim().is_empty() || name.chars().count() > 100 {
            let mut errs = FieldErrors::new();
            errs.add(
                "thread_name",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
            return Err(Error::InvalidForm(errs));
        }
        let tags = Self::check_applied_tags(
            &ca.channel,
            &[],
            body.applied_tags.as_deref().unwrap_or_default(),
            ca.perms & perm::MANAGE_THREADS != 0,
        )?;
        let id = self.next_id();
        let (c, mut t) = post_rows(
            &ca.channel,
            id,
            webhook_id,
            body.thread_name.as_deref(),
            None,
            None,
            tags,
        )?;
        let in_thread = ChannelAccess {
            channel: c.clone(),
            thread: Some(t.clone()),
            ..ca.clone()
        };
        let (mut m, mut w, mut event) = compose(in_thread).await?;
        m.id = id;
        super::writer::stamp(&mut event.data, id);
        let sf = Snowflake::from_db(id);
        w.id = sf;
        w.timestamp = wire::iso(sf.timestamp_ms() as i64);
        self.store_post(&c, &mut t, None, &m, None).await?;
        let thread = Self::thread_wire(&c, &t, Some((1, 0)), None);
        self.publish(post_created(&thread, t.guild_id));
        self.publish(event);
        Ok(w)
    }
}
