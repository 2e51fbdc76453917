//! Executing incoming webhooks (Discord "Resources > Webhook > Execute Webhook") and the
//! webhook's own messages (Get/Edit/Delete Webhook Message), all authorized by the token
//! alone ([`Hearth::webhook_by_token`]: 404 10015, 401 50027).
//!
//! A webhook's message is an ordinary message of its channel (stored by the group commit,
//! MESSAGE_CREATE to those who see the channel, history, federation log) whose `author_id`
//! is the webhook's id, with `webhook_id` set and the author shown kept with the row: the
//! `username` given (checked as a webhook name) or the webhook's name, and the webhook's
//! avatar. Its author object is `{id: webhook id, username, avatar, bot: true,
//! discriminator: "0000"}`. The webhook may mention `@everyone` and embed links, as on
//! Discord; `content` up to `limits.max_message_length`, up to `limits.max_embeds` embeds,
//! not both empty (400 50006). Files come as `multipart/form-data` `files[n]` parts
//! (`crate::api::uploads`; [`Hearth::token_file_target`] names their channel before any byte
//! is stored), up to `media.max_files_per_message`, each becoming an attachment of the
//! message in the same commit; an edit's `attachments` keeps some and adds new files.
//! Executions are
//! limited per webhook by `rate_limits.webhook_execute` (5 per 2 s; `src/http/limits.rs`).
//! Only a webhook's own messages can be read, edited or deleted through its token (404
//! 10008 for any other). The same routes with an application's id and an interaction's
//! token are the interaction's follow-ups ([`super::interaction_responses`]); the message
//! composition, edit and deletion code is shared.

use super::attachments::{FileTarget, Upload};
use super::messages::{CLIENT_FLAGS, validate_embeds};
use super::webhooks::check_webhook_name;
use super::{ChannelAccess, GuildAccess, Hearth, to_value, writer};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{AttachmentRow, Lock, MessageRow, WebhookRow, now_ms};
use crate::wire::{self, dispatch};

/// What a webhook may do in its channel.
const WEBHOOK_PERMS: u64 = perm::VIEW_CHANNEL
    | perm::SEND_MESSAGES
    | perm::SEND_TTS_MESSAGES
    | perm::EMBED_LINKS
    | perm::READ_MESSAGE_HISTORY
    | perm::MENTION_EVERYONE;

/// Two-step uploads (`attachments` entries with `uploaded_filename`) are for users' clients:
/// 400 50035 at `{path}.{i}.uploaded_filename` on the token routes (`path`: `attachments`,
/// or `data.attachments` in a callback).
pub(super) fn no_two_step_uploads(
    refs: &[wire::AttachmentRef],
    path: &str,
    errs: &mut FieldErrors,
) {
    for (k, r) in refs.iter().enumerate() {
        if r.uploaded_filename.is_some() {
            errs.add(
                format!("{path}.{k}.uploaded_filename"),
                "BASE_TYPE_BAD_VALUE",
                "Send files as files[n] parts on this route.",
            );
        }
    }
}

/// A message id of a route (404 10008 when it is not a snowflake).
fn message_id_of(s: &str) -> Result<Snowflake> {
    s.parse::<u64>()
        .map(Snowflake)
        .map_err(|_| Error::Unknown(Unknown::Message))
}

fn ids_json(v: &[i64]) -> Result<String> {
    serde_json::to_string(&v.iter().map(|u| Snowflake::from_db(*u)).collect::<Vec<_>>())
        .map_err(Error::internal)
}

impl Hearth {
    /// The webhook's view of its channel: the webhook's permissions, the guild's roles (for
    /// role mentions).
    async fn webhook_access(&self, w: &WebhookRow) -> Result<ChannelAccess> {
        self.token_access(w.channel_id, w.guild_id, w.id).await
    }

    /// The view of a channel of whoever sends through a token (a webhook, or an
    /// application answering an interaction, as `sender`): what a webhook may do there, the
    /// guild's roles (for role mentions).
    pub(super) async fn token_access(
        &self,
        channel_id: i64,
        guild_id: i64,
        sender: i64,
    ) -> Result<ChannelAccess> {
        let channel = self
            .db
            .channel(channel_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        let guild = self
            .db
            .guild(guild_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Guild))?;
        let roles = self.db.roles(guild_id).await?;
        Ok(ChannelAccess {
            channel,
            overwrites: vec![],
            guild: Some(GuildAccess {
                guild,
                roles,
                member_roles: vec![],
                user_id: sender,
                member: None,
                mfa_missing: false,
            }),
            perms: WEBHOOK_PERMS,
            recipients: vec![],
            owner_id: None,
            thread: None,
        })
    }

    /// A message of `author_id` in `ca`'s channel from an execution-shaped body (a webhook
    /// execution, an interaction response or follow-up): `content` up to
    /// `limits.max_message_length`, embeds checked, not both empty (400 50006), mentions
    /// resolved with `allowed_mentions`, `flags` masked to the client's, `components`
    /// checked ([`super::components`]; `interactive`: buttons with a `custom_id` and selects
    /// allowed), `files` (already stored, [`Hearth::receive_file`]) as its attachments, named
    /// by `body.attachments`. The id is 0 (the writer assigns it); the author's webhook
    /// fields are unset. Also the users the message mentions, for rendering. Errors: 400
    /// 50035 (also for an `attachments` entry with `uploaded_filename`: two-step uploads are
    /// for users' clients), 400 50006.
    pub(super) async fn compose_token_message(
        &self,
        ca: &ChannelAccess,
        author_id: i64,
        body: &wire::ExecuteWebhookBody,
        mut errs: FieldErrors,
        interactive: bool,
        files: &[Upload],
    ) -> Result<(
        MessageRow,
        std::collections::HashMap<i64, crate::storage::UserRow>,
    )> {
        if super::forums::is_forum(ca.channel.kind) {
            return Err(Error::Rule(Rule::ForumMessage));
        }
        let content = body.content.clone().unwrap_or_default();
        let max = self.config.limits.max_message_length;
        if content.chars().count() > max {
            errs.add(
                "content",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
        let embeds = body.embeds.clone().unwrap_or_default();
        validate_embeds(&embeds, self.config.limits.max_embeds, "embeds", &mut errs);
        let components = body.components.clone().unwrap_or_default();
        super::components::check_message_components(
            &components,
            "components",
            interactive,
            &mut errs,
        );
        let poll = match &body.poll {
            Some(p) => self.check_poll(p, &mut errs).await?,
            None => None,
        };
        let refs = body.attachments.as_deref().unwrap_or_default();
        no_two_step_uploads(refs, "attachments", &mut errs);
        errs.into_result()?;
        if content.trim().is_empty()
            && embeds.is_empty()
            && components.is_empty()
            && poll.is_none()
            && files.is_empty()
        {
            return Err(Error::Rule(Rule::EmptyMessage));
        }
        let (mentions, mention_roles, everyone, users) = self
            .resolve_mentions(ca, &content, body.allowed_mentions.as_ref(), None)
            .await?;
        let m = MessageRow {
            // Assigned by the writer at commit time.
            id: 0,
            channel_id: ca.channel.id,
            guild_id: ca.channel.guild_id,
            author_id,
            content,
            embeds: serde_json::to_string(&embeds).map_err(Error::internal)?,
            kind: 0,
            flags: (body.flags.unwrap_or(0) & CLIENT_FLAGS) as i64,
            tts: body.tts.unwrap_or(false),
            mention_everyone: everyone,
            mentions: ids_json(&mentions)?,
            mention_roles: ids_json(&mention_roles)?,
            reference_message_id: None,
            reference_channel_id: None,
            reference_guild_id: None,
            nonce: None,
            edited_at: None,
            pinned_at: None,
            webhook_id: None,
            webhook_name: None,
            webhook_avatar: None,
            interaction: None,
            components: super::components::stored_components(&components),
            poll: poll.as_ref().map(|p| p.json.clone()),
            poll_open_until: poll.as_ref().map(|p| p.open_until),
            attachments: Self::file_rows(ca.channel.id, refs, files, 0),
        };
        Ok((m, users))
    }

    /// A composed message (id 0) as rendered for nobody in particular and its
    /// MESSAGE_CREATE to those who see `ca`'s channel.
    fn token_message_event(
        &self,
        ca: &ChannelAccess,
        m: &MessageRow,
        users: &std::collections::HashMap<i64, crate::storage::UserRow>,
    ) -> Result<(wire::Message, Dispatch)> {
        let out = self.message_wire(m, users, vec![]);
        let (audience, _) = Self::message_audience(ca);
        let event = Dispatch {
            has_content: true,
            ..Self::event_of(
                Event::MessageCreate,
                audience,
                intents::GUILD_MESSAGES,
                serde_json::to_value(&out).map_err(Error::internal)?,
            )
        };
        Ok((out, event))
    }

    /// Stores a composed message through the group commit with its MESSAGE_CREATE to those
    /// who see the channel; the message as rendered for nobody in particular, with its id.
    pub(super) async fn send_token_message(
        &self,
        ca: &ChannelAccess,
        mut m: MessageRow,
        users: &std::collections::HashMap<i64, crate::storage::UserRow>,
    ) -> Result<wire::Message> {
        let (mut out, event) = self.token_message_event(ca, &m, users)?;
        m.id = self.writer.submit(m.clone(), Some(event)).await?;
        let sf = Snowflake::from_db(m.id);
        out.id = sf;
        out.timestamp = wire::iso(sf.timestamp_ms() as i64);
        Ok(out)
    }

    /// `POST /webhooks/{id}/{token}` ("Execute Webhook", JSON): with `wait` the message
    /// (as rendered for nobody in particular), else `None` (204). Errors: see the module
    /// docs; 400 50035 for a bad `username`, content, embeds or components. A webhook's
    /// `components` are taken only `with_components`, and then link buttons only (Discord,
    /// for webhooks no application owns); an interaction's follow-ups always take them.
    /// `thread_id`: a thread of the webhook's channel (404 10003 otherwise; 400 50083 when
    /// archived, 403 160005 when locked; Discord would unarchive it). `thread_name` (with
    /// `applied_tags`): a new post of the webhook's forum or media channel
    /// ([`Hearth::webhook_post`]); in a forum one of `thread_name` and `thread_id` is needed
    /// (400 220001), not both (400 220002), and `thread_name` elsewhere is 400 220003. `files` (stored for
    /// [`Self::token_file_target`]) become the message's attachments; on any error they are
    /// released.
    #[allow(clippy::too_many_arguments)]
    pub async fn execute_webhook(
        &self,
        id: Snowflake,
        token: &str,
        body: wire::ExecuteWebhookBody,
        wait: bool,
        with_components: bool,
        thread_id: Option<Snowflake>,
        files: Vec<Upload>,
    ) -> Result<Option<wire::Message>> {
        let r = self
            .execute_with(id, token, body, wait, with_components, thread_id, &files)
            .await;
        self.files_kept_if_ok(&files, r)
    }

    /// The webhook's view of the channel it posts in: its own, or `thread_id`, a thread of
    /// it (404 10003 otherwise; 400 50083 when archived, 403 160005 when locked).
    async fn webhook_target(
        &self,
        w: &WebhookRow,
        thread_id: Option<Snowflake>,
    ) -> Result<ChannelAccess> {
        let mut ca = self.webhook_access(w).await?;
        if let Some(tid) = thread_id {
            let t = self
                .db
                .thread(tid.db())
                .await?
                .filter(|t| t.parent_id == w.channel_id)
                .ok_or(Error::Unknown(Unknown::Channel))?;
            super::threads::check_open(&t, ca.perms)?;
            ca.channel = self
                .db
                .channel(t.channel_id)
                .await?
                .ok_or(Error::Unknown(Unknown::Channel))?;
            ca.thread = Some(t);
        }
        Ok(ca)
    }

    /// Where the files of a request on `/webhooks/{id}/{token}` (`message`: on
    /// `.../messages/{message}`) go, checked before any byte is stored: the webhook's channel
    /// (or its thread `thread_id`, or the edited message's channel), charged to the webhook's
    /// creator; for an interaction's token, the interaction's channel, charged to the
    /// application's bot. Errors: the token's (404 10015, 401 50027), the thread's (as
    /// [`Self::execute_webhook`]), 404 10008 for a message that is not the webhook's, 400
    /// 50035 on `files` in a guild hosted on another server.
    pub async fn token_file_target(
        &self,
        id: Snowflake,
        token: &str,
        thread_id: Option<Snowflake>,
        message: Option<&str>,
    ) -> Result<FileTarget> {
        if let Some((i, app)) = self.followup_target(id, token).await? {
            return self.interaction_file_target(&i, &app).await;
        }
        let w = self.webhook_by_token(id, token).await?;
        let ca = match message {
            Some(mid) => {
                let m = self.webhook_message(&w, message_id_of(mid)?).await?;
                self.webhook_access(&WebhookRow {
                    channel_id: m.channel_id,
                    ..w.clone()
                })
                .await?
            }
            None => self.webhook_target(&w, thread_id).await?,
        };
        self.files_for(&ca, w.creator_id).await
    }

    /// Files of a token route go to `ca`'s channel, charged to user `payer`. Errors: 400
    /// 50035 on `files` in a guild hosted on another server.
    pub(super) async fn files_for(&self, ca: &ChannelAccess, payer: i64) -> Result<FileTarget> {
        if self.replica_of(ca).await?.is_some() {
            return Err(super::attachments::files_not_federated());
        }
        Ok(FileTarget::new(ca.channel.id, ca.channel.guild_id, payer))
    }

    #[allow(clippy::too_many_arguments)]
    async fn execute_with(
        &self,
        id: Snowflake,
        token: &str,
        mut body: wire::ExecuteWebhookBody,
        wait: bool,
        with_components: bool,
        thread_id: Option<Snowflake>,
        files: &[Upload],
    ) -> Result<Option<wire::Message>> {
        if let Some((i, app)) = self.followup_target(id, token).await? {
            let out = self.interaction_followup(&i, &app, &body, files).await?;
            return Ok(wait.then_some(out));
        }
        let w = self.webhook_by_token(id, token).await?;
        let mut errs = FieldErrors::new();
        let username = body.username.clone().filter(|u| !u.trim().is_empty());
        if let Some(u) = &username {
            check_webhook_name(u, "username", &mut errs);
        }
        if !with_components {
            body.components = None;
        }
        let shown = username
            .map(|u| u.trim().to_string())
            .unwrap_or(w.name.clone());
        if body.thread_name.is_some() {
            // A new post of the webhook's forum or media channel (Discord's `thread_name`).
            let home = self.webhook_access(&w).await?;
            if !super::forums::is_forum(home.channel.kind) {
                return Err(Error::Rule(Rule::WebhookThreadsInForumsOnly));
            }
            if thread_id.is_some() {
                return Err(Error::Rule(Rule::WebhookThreadNameAndId));
            }
            let (body, w) = (&body, &w);
            let compose = |in_thread: ChannelAccess| async move {
                let (mut m, users) = self
                    .compose_token_message(&in_thread, w.id, body, errs, false, files)
                    .await?;
                m.webhook_id = Some(w.id);
                m.webhook_name = Some(shown);
                m.webhook_avatar = w.avatar.clone();
                let (out, event) = self.token_message_event(&in_thread, &m, &users)?;
                Ok::<_, Error>((m, out, event))
            };
            let out = self.webhook_post(&home, w.id, body, compose).await?;
            return Ok(wait.then_some(out));
        }
        let ca = self.webhook_target(&w, thread_id).await?;
        if super::forums::is_forum(ca.channel.kind) {
            return Err(Error::Rule(Rule::WebhookForumNeedsThread));
        }
        let (mut m, users) = self
            .compose_token_message(&ca, w.id, &body, errs, false, files)
            .await?;
        m.webhook_id = Some(w.id);
        m.webhook_name = Some(shown);
        m.webhook_avatar = w.avatar;
        let out = self.send_token_message(&ca, m, &users).await?;
        Ok(wait.then_some(out))
    }

    /// A message of webhook `w` (404 10008 for any other message).
    async fn webhook_message(&self, w: &WebhookRow, message_id: Snowflake) -> Result<MessageRow> {
        self.db
            .messages_by_ids(&[message_id.db()])
            .await?
            .into_iter()
            .find(|m| m.webhook_id == Some(w.id))
            .ok_or(Error::Unknown(Unknown::Message))
    }

    /// `GET /webhooks/{id}/{token}/messages/{message_id}` ("Get Webhook Message"); for an
    /// interaction's token also `@original` ([`super::interaction_responses`]).
    pub async fn get_webhook_message(
        &self,
        id: Snowflake,
        token: &str,
        message: &str,
    ) -> Result<wire::Message> {
        if let Some((i, app)) = self.followup_target(id, token).await? {
            return self.get_interaction_message(&i, &app, message).await;
        }
        let message_id = message_id_of(message)?;
        let w = self.webhook_by_token(id, token).await?;
        let m = self.webhook_message(&w, message_id).await?;
        self.render_one(&m, w.id).await
    }

    /// `PATCH /webhooks/{id}/{token}/messages/{message_id}` ("Edit Webhook Message"):
    /// `content`, `embeds`, `allowed_mentions`, `attachments` and new `files`;
    /// MESSAGE_UPDATE with its log entry in the edit's transaction. Errors: 404 10008, 400
    /// 50035, 400 50006. For an interaction's token also `@original`
    /// ([`super::interaction_responses`]). On any error `files` are released.
    pub async fn edit_webhook_message(
        &self,
        id: Snowflake,
        token: &str,
        message: &str,
        body: wire::EditWebhookMessageBody,
        files: Vec<Upload>,
    ) -> Result<wire::Message> {
        let r = self
            .edit_webhook_with(id, token, message, body, &files)
            .await;
        self.files_kept_if_ok(&files, r)
    }

    async fn edit_webhook_with(
        &self,
        id: Snowflake,
        token: &str,
        message: &str,
        body: wire::EditWebhookMessageBody,
        files: &[Upload],
    ) -> Result<wire::Message> {
        if let Some((i, app)) = self.followup_target(id, token).await? {
            return self
                .edit_interaction_message(&i, &app, message, body, files)
                .await;
        }
        let message_id = message_id_of(message)?;
        let w = self.webhook_by_token(id, token).await?;
        let m = self.webhook_message(&w, message_id).await?;
        // The message's channel as the webhook sees it (it may have moved since).
        let ca = self
            .webhook_access(&WebhookRow {
                channel_id: m.channel_id,
                ..w.clone()
            })
            .await?;
        self.edit_token_message(&ca, m, body, w.id, false, files)
            .await
    }

    /// Whether `adding` new files fit on message `m` with the attachments an edit's
    /// `attachments` keeps (absent: all): at most `media.max_files_per_message`. Errors: 400
    /// 50035 at `attachments`.
    pub(super) async fn edit_files_fit(
        &self,
        m: &MessageRow,
        attachments: Option<&Option<Vec<wire::AttachmentRef>>>,
        adding: usize,
    ) -> Result<()> {
        if adding == 0 {
            return Ok(());
        }
        let current = self
            .db
            .attachments_of(&[m.id])
            .await?
            .remove(&m.id)
            .unwrap_or_default();
        let refs = attachments.cloned().flatten().unwrap_or_default();
        let kept = match attachments {
            None => current.len(),
            Some(_) => Self::split_kept(current, &refs).0.len(),
        };
        let max = self.config.media.max_files_per_message;
        if kept + adding > max {
            return Err(field_error(
                "attachments",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            ));
        }
        Ok(())
    }

    /// Edits a message sent through a token (`content`, `embeds`, `allowed_mentions`,
    /// `components`: `interactive` as in [`Self::compose_token_message`]; `attachments`: those
    /// kept, with the entries naming `files`, the new ones, up to
    /// `media.max_files_per_message` in all) as `ca` sees its channel: MESSAGE_UPDATE with its
    /// log entry in the edit's transaction; the message rendered for `viewer`. The bytes of
    /// removed attachments are released after the commit. Errors: 404 10008, 400 50035, 400
    /// 50006.
    pub(super) async fn edit_token_message(
        &self,
        ca: &ChannelAccess,
        mut m: MessageRow,
        body: wire::EditWebhookMessageBody,
        viewer: i64,
        interactive: bool,
        files: &[Upload],
    ) -> Result<wire::Message> {
        let mut errs = FieldErrors::new();
        let current = self
            .db
            .attachments_of(&[m.id])
            .await?
            .remove(&m.id)
            .unwrap_or_default();
        let next_position = current.iter().map(|a| a.position + 1).max().unwrap_or(0) as usize;
        let refs = body.attachments.clone().flatten().unwrap_or_default();
        no_two_step_uploads(&refs, "attachments", &mut errs);
        let (kept, removed): (Vec<AttachmentRow>, Vec<AttachmentRow>) = match &body.attachments {
            None => (current, vec![]),
            Some(_) => Self::split_kept(current, &refs),
        };
        let max_files = self.config.media.max_files_per_message;
        if !files.is_empty() && kept.len() + files.len() > max_files {
            errs.add(
                "attachments",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max_files} or fewer in length."),
            );
        }
        let added = Self::file_rows(m.channel_id, &refs, files, next_position);
        let max = self.config.limits.max_message_length;
        if let Some(c) = &body.content {
            let c = c.clone().unwrap_or_default();
            if c.chars().count() > max {
                errs.add(
                    "content",
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {max} or fewer in length."),
                );
            }
            m.content = c;
        }
        if let Some(e) = &body.embeds {
            let e = e.clone().unwrap_or_default();
            validate_embeds(&e, self.config.limits.max_embeds, "embeds", &mut errs);
            m.embeds = serde_json::to_string(&e).map_err(Error::internal)?;
        }
        if let Some(c) = &body.components {
            let c = c.clone().unwrap_or_default();
            super::components::check_message_components(&c, "components", interactive, &mut errs);
            m.components = super::components::stored_components(&c);
        }
        errs.into_result()?;
        if m.content.trim().is_empty()
            && m.embeds == "[]"
            && kept.is_empty()
            && added.is_empty()
            && m.components.is_none()
            && m.poll.is_none()
        {
            return Err(Error::Rule(Rule::EmptyMessage));
        }
        if body.content.is_some() {
            let (mentions, roles, everyone, _) = self
                .resolve_mentions(ca, &m.content, body.allowed_mentions.as_ref(), None)
                .await?;
            m.mentions = ids_json(&mentions)?;
            m.mention_roles = ids_json(&roles)?;
            m.mention_everyone = everyone;
        }
        m.edited_at = Some(now_ms());
        let removed_ids: Vec<i64> = removed.iter().map(|a| a.id).collect();
        let mut out = self.render_one(&m, viewer).await?;
        out.attachments
            .retain(|a| !removed_ids.contains(&a.id.db()));
        out.attachments
            .extend(added.iter().map(|a| self.attachment_wire(a)));
        let (audience, _) = Self::message_audience(ca);
        let mut d = Self::event_of(
            Event::MessageUpdate,
            audience,
            intents::GUILD_MESSAGES,
            to_value(&out),
        );
        d.has_content = true;
        let written = self
            .db
            .update_message(&m, &removed_ids, &added, writer::outbox_item(&d))
            .await?;
        if !written.changed {
            return Err(Error::Unknown(Unknown::Message));
        }
        self.forget_blobs(&removed);
        d.logged = written.logged;
        self.publish(d);
        Ok(out)
    }

    /// `DELETE /webhooks/{id}/{token}/messages/{message_id}` ("Delete Webhook Message"):
    /// MESSAGE_DELETE; 204. Errors: 404 10008. For an interaction's token also `@original`
    /// ([`super::interaction_responses`]).
    pub async fn delete_webhook_message(
        &self,
        id: Snowflake,
        token: &str,
        message: &str,
    ) -> Result<()> {
        if let Some((i, app)) = self.followup_target(id, token).await? {
            return self.delete_interaction_message(&i, &app, message).await;
        }
        let message_id = message_id_of(message)?;
        let w = self.webhook_by_token(id, token).await?;
        let m = self.webhook_message(&w, message_id).await?;
        let ca = self
            .webhook_access(&WebhookRow {
                channel_id: m.channel_id,
                ..w
            })
            .await?;
        self.delete_token_message(&ca, &m).await
    }

    /// Deletes a message sent through a token: MESSAGE_DELETE to those who see its channel.
    /// Errors: 404 10008.
    pub(super) async fn delete_token_message(
        &self,
        ca: &ChannelAccess,
        m: &MessageRow,
    ) -> Result<()> {
        let message_id = Snowflake::from_db(m.id);
        let (audience, _) = Self::message_audience(ca);
        let d = Self::event_of(
            Event::MessageDelete,
            audience,
            intents::GUILD_MESSAGES,
            to_value(&dispatch::MessageDelete {
                id: message_id,
                channel_id: Snowflake::from_db(m.channel_id),
                guild_id: ca.guild_id(),
            }),
        );
        let mut ch = self.db.change(Lock::Nothing).await?;
        if ch.delete_messages(m.channel_id, &[m.id]).await?.is_empty() {
            return Err(Error::Unknown(Unknown::Message));
        }
        self.commit(ch, vec![d]).await
    }
}
