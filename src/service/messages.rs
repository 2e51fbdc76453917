//! Messages: create (with replies, mentions, embeds, nonces), read, edit, delete, bulk
//! delete (Discord "Resources > Message"). Pins, reactions and DMs are in sibling modules.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::attachments::Upload;
pub(super) use super::mentions::parse_mentions;
use super::ports::{HistoryPage, RelayAction, RelayOp};
use super::{Actor, ChannelAccess, Hearth, audit_action as A, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Lock, MessageRow, Page};
use crate::wire::{self, MessageType, dispatch};

/// Message flags a client may set: SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS.
pub(super) const CLIENT_FLAGS: u64 = (1 << 2) | (1 << 12);
/// Bulk delete refuses messages older than this (Discord: 14 days).
const BULK_DELETE_MAX_AGE_MS: u64 = 14 * 24 * 3600 * 1000;
/// `enforce_nonce` deduplicates within this window (Discord: a few minutes).
const NONCE_WINDOW_MS: u64 = 5 * 60 * 1000;

/// What [`Hearth::compose_message`] made: the earlier message of the same nonce
/// (`enforce_nonce`), or the new message's row (id 0), its rendering, its MESSAGE_CREATE and
/// what composing it took from the sender.
pub(super) enum Composed {
    Existing(Box<wire::Message>),
    New(Box<(MessageRow, wire::Message, Dispatch, Taken)>),
}

/// What a composed send took from its sender, given back by [`Hearth::give_back`] when the
/// send fails before it is stored: its slow-mode slot and its claimed two-step uploads.
#[derive(Default)]
pub(super) struct Taken {
    pub(super) slot: Option<super::slowmode::SlowSlot>,
    pub(super) uploads: Vec<crate::storage::PendingUploadRow>,
}

/// Validates a Unicode emoji path segment (URL-decoded); custom emoji (`name:id`) are
/// refused here (`Hearth::reaction_emoji` in `reactions.rs` takes them). Returns the stored
/// key and the partial emoji object.
pub(super) fn parse_emoji(raw: &str) -> Result<(String, wire::Emoji)> {
    let e = raw.trim();
    if e.is_empty() || e.len() > 64 || e.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::Unknown(Unknown::Emoji));
    }
    if e.contains(':') {
        return Err(Error::Unknown(Unknown::Emoji));
    }
    if e.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::Unknown(Unknown::Emoji));
    }
    Ok((
        e.to_string(),
        wire::Emoji {
            id: None,
            name: Some(e.to_string()),
            animated: false,
        },
    ))
}

/// Whether a JSON value holds a number that is not an integer within ±(2^53-1) (embeds
/// are stored and federated as canonical JSON, which has integers only; Discord's embed
/// fields that are numbers are integers).
fn has_non_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            !(n.as_i64().is_some_and(|i| i.unsigned_abs() < (1 << 53))
                || n.as_u64().is_some_and(|u| u < (1 << 53)))
        }
        Value::Array(a) => a.iter().any(has_non_integer),
        Value::Object(o) => o.values().any(has_non_integer),
        _ => false,
    }
}

/// How deeply an embed may nest objects and arrays (the embed object is level 1). Discord's
/// embeds nest three levels at most; the bound keeps every logged event within canonical
/// JSON's 64 levels (spec/federation.md §4.1) whatever wraps the embed.
const MAX_EMBED_DEPTH: usize = 16;

/// Levels of objects and arrays in `v` (a scalar is 0).
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

pub(super) fn validate_embeds(embeds: &[Value], max: usize, field: &str, errs: &mut FieldErrors) {
    if embeds.len() > max {
        errs.add(
            field,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    }
    let mut total = 0usize;
    for (i, e) in embeds.iter().enumerate() {
        let Some(o) = e.as_object() else {
            errs.add(
                format!("{field}.{i}"),
                "MODEL_TYPE_CONVERT",
                "Only dictionaries may be used in a ModelType",
            );
            continue;
        };
        if depth(e) > MAX_EMBED_DEPTH {
            errs.add(
                format!("{field}.{i}"),
                "BASE_TYPE_MAX_LENGTH",
                format!("Embeds may nest at most {MAX_EMBED_DEPTH} levels of objects and arrays."),
            );
        }
        if has_non_integer(e) {
            errs.add(
                format!("{field}.{i}"),
                "NUMBER_TYPE_COERCE",
                "Numbers in embeds must be integers.",
            );
        }
        for (k, max) in [("title", 256), ("description", 4096)] {
            if let Some(v) = o.get(k) {
                match v.as_str() {
                    Some(s) if s.chars().count() > max => errs.add(
                        format!("{field}.{i}.{k}"),
                        "BASE_TYPE_MAX_LENGTH",
                        format!("Must be {max} or fewer in length."),
                    ),
                    Some(s) => total += s.chars().count(),
                    None if v.is_null() => {}
                    None => errs.add(
                        format!("{field}.{i}.{k}"),
                        "BASE_TYPE_STRING",
                        "Could not interpret value as string.",
                    ),
                }
            }
        }
    }
    if total > 6000 {
        errs.add(
            field,
            "BASE_TYPE_MAX_LENGTH",
            "Embed size exceeds maximum size of 6000",
        );
    }
}

impl Hearth {
    /// The replica row when the channel belongs to a guild hosted on another server.
    pub(crate) async fn replica_of(
        &self,
        ca: &ChannelAccess,
    ) -> Result<Option<crate::storage::RemoteGuildRow>> {
        match &ca.guild {
            Some(g) if g.guild.host_server.is_some() => self.db.remote_guild(g.guild.id).await,
            _ => Ok(None),
        }
    }

    /// `POST /channels/{id}/messages`.
    ///
    /// Needs SEND_MESSAGES (and READ_MESSAGE_HISTORY to reply). `content` up to
    /// `limits.max_message_length` characters, up to `limits.max_embeds` embeds, at least one
    /// of them; `nonce` (string or integer, 25 chars) with `enforce_nonce` returns the earlier
    /// message of the same author and nonce; slow mode applies without MANAGE_MESSAGES,
    /// MANAGE_CHANNELS or BYPASS_SLOWMODE. Errors: 50006 empty, 50008 non-text channel,
    /// 50035 invalid fields or unknown reply, 50007 blocked DM, 429 20016 slow mode.
    pub async fn create_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::CreateMessageBody,
    ) -> Result<wire::Message> {
        self.create_message_with(actor, channel_id, body, vec![])
            .await
    }

    /// [`Self::create_message`] with files (multipart, Discord "Uploading Files") already
    /// streamed into the store by [`Self::receive_file`]: ATTACH_FILES is required (403
    /// 50013); limits and storage in [`super::attachments`]. On any error the files are
    /// released.
    pub async fn create_message_with(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::CreateMessageBody,
        files: Vec<Upload>,
    ) -> Result<wire::Message> {
        let r = self.send_with(actor, channel_id, body, &files).await;
        self.files_kept_if_ok(&files, r)
    }

    async fn send_with(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        mut body: wire::CreateMessageBody,
        files: &[Upload],
    ) -> Result<wire::Message> {
        let ca = self.channel_access(actor, channel_id).await?;
        let refs = body.attachments.take().unwrap_or_default();
        let uploads = refs.iter().any(|r| r.uploaded_filename.is_some());
        if let Some(rg) = self.replica_of(&ca).await? {
            if !files.is_empty() || uploads {
                return Err(super::attachments::files_not_federated());
            }
            let body = serde_json::to_value(&body).map_err(Error::internal)?;
            let v = self
                .host
                .relay(
                    self,
                    actor,
                    &rg,
                    RelayAction::new(RelayOp::MessageCreate)
                        .channel(ca.channel.id)
                        .body(body),
                )
                .await?;
            return self.replicated_message(&ca, v.message, actor).await;
        }
        let (mut m, mut w, event, taken) = match self
            .compose_message(&ca, actor, body, &refs, files, uploads)
            .await?
        {
            Composed::Existing(w) => return Ok(*w),
            Composed::New(n) => *n,
        };
        // Group commit: acknowledged after the batch's commit; the writer publishes the
        // event after that commit, in id order.
        m.id = match self.writer.submit(m.clone(), Some(event)).await {
            Ok(id) => id,
            Err(e) => {
                // The request's own files are released by the caller; the uploads and the
                // slow-mode slot go back to the sender.
                self.give_back(taken).await;
                return Err(e);
            }
        };
        let sf = Snowflake::from_db(m.id);
        w.id = sf;
        w.timestamp = wire::iso(sf.timestamp_ms() as i64);
        Ok(w)
    }

    /// Gives back what a send took ([`Taken`]) when it fails before it is stored.
    pub(super) async fn give_back(&self, taken: Taken) {
        self.slowmode_give_back(taken.slot).await;
        self.unclaim(taken.uploads).await;
    }

    /// The checks and the row, response and MESSAGE_CREATE of a send in `ca` (everything but
    /// the write): SEND_MESSAGES, content, embeds, components, nonce, reply, slow mode,
    /// AutoMod, mentions, files stored. Also composes a forum post's starter message
    /// (`super::forums`), with `ca` standing for the new thread.
    ///
    /// Every refusal comes before anything is taken from the sender: slow mode is checked
    /// first but its slot is taken only after AutoMod and the uploads, which are claimed
    /// last (a claim failing midway gives back the others). What was taken is returned in
    /// [`Taken`] for the caller to give back if the write fails.
    pub(super) async fn compose_message(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        mut body: wire::CreateMessageBody,
        refs: &[wire::AttachmentRef],
        files: &[Upload],
        uploads: bool,
    ) -> Result<Composed> {
        let channel_id = Snowflake::from_db(ca.channel.id);
        if !ca.is_text() {
            if super::forums::is_forum(ca.channel.kind) {
                return Err(Error::Rule(Rule::ForumMessage));
            }
            return Err(Error::Rule(Rule::NonTextChannel));
        }
        if let Some(t) = &ca.thread {
            super::threads::check_open(t, ca.perms)?;
        }
        ca.require(perm::SEND_MESSAGES)?;
        if !files.is_empty() {
            ca.require(perm::ATTACH_FILES)?;
        }
        if body.poll.is_some() {
            ca.require(perm::SEND_POLLS)?;
        }
        // A 1:1 DM checks blocks and the DM policy at each send; a group DM checked them
        // when each recipient was added (as Discord).
        if ca.guild.is_none()
            && ca.owner_id.is_none()
            && let Some(other) = ca.recipients.iter().find(|r| **r != actor.user.id)
        {
            self.check_dm_allowed(actor.user.id, *other).await?;
        }
        let mut errs = FieldErrors::new();
        let content = body.content.unwrap_or_default();
        if content.chars().count() > self.config.limits.max_message_length {
            errs.add(
                "content",
                "BASE_TYPE_MAX_LENGTH",
                format!(
                    "Must be {} or fewer in length.",
                    self.config.limits.max_message_length
                ),
            );
        }
        let mut embeds = body.embeds.unwrap_or_default();
        if let Some(e) = body.embed.filter(|e| !e.is_null()) {
            embeds.push(e);
        }
        validate_embeds(&embeds, self.config.limits.max_embeds, "embeds", &mut errs);
        // Components: bots only; a user account's are ignored, as Discord does.
        let components = match body.components.take() {
            Some(c) if actor.is_bot() => {
                super::components::check_message_components(&c, "components", true, &mut errs);
                c
            }
            _ => vec![],
        };
        let nonce = match body.nonce {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() <= 25 => Some(s),
            Some(Value::Number(n)) if n.to_string().len() <= 25 => Some(n.to_string()),
            Some(_) => {
                errs.add(
                    "nonce",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be a string or integer of 25 or fewer characters.",
                );
                None
            }
        };
        let poll = match body.poll.take() {
            Some(p) => self.check_poll(&p, &mut errs).await?,
            None => None,
        };
        errs.into_result()?;
        if !perm::has(ca.perms, perm::EMBED_LINKS) {
            embeds.clear();
        }
        if content.trim().is_empty()
            && embeds.is_empty()
            && files.is_empty()
            && !uploads
            && components.is_empty()
            && poll.is_none()
        {
            return Err(Error::Rule(Rule::EmptyMessage));
        }
        if body.enforce_nonce.unwrap_or(false)
            && let Some(n) = &nonce
        {
            let since = Snowflake::from_timestamp_ms(
                self.ids
                    .next()
                    .timestamp_ms()
                    .saturating_sub(NONCE_WINDOW_MS),
            )
            .db();
            if let Some(existing) = self
                .db
                .message_by_nonce(ca.channel.id, actor.user.id, n, since)
                .await?
            {
                return Ok(Composed::Existing(Box::new(
                    self.render_one(&existing, actor.user.id).await?,
                )));
            }
        }
        let mut reference = None;
        let mut replied_author = None;
        if let Some(r) = &body.message_reference
            && let Some(mid) = r.message_id
        {
            let target_channel = r.channel_id.unwrap_or(channel_id);
            let found = if target_channel == channel_id {
                self.db.message(ca.channel.id, mid.db()).await?
            } else {
                None
            };
            match found {
                Some(m) => {
                    ca.require(perm::READ_MESSAGE_HISTORY)?;
                    replied_author = Some(m.author_id);
                    reference = Some(m);
                }
                None if r.fail_if_not_exists == Some(false) => {}
                None => {
                    return Err(field_error(
                        "message_reference",
                        "REPLIES_UNKNOWN_MESSAGE",
                        "Unknown message",
                    ));
                }
            }
        }
        let slowed = Self::slowed(ca);
        if slowed {
            self.slowmode_peek(ca.channel.id, actor.user.id, ca.channel.rate_limit_per_user)
                .await?;
        }
        // Auto Moderation before anything is stored, taken or dispatched.
        self.automod_message(ca, actor, &content, None).await?;
        let (mentions, mention_roles, everyone, mut users) = self
            .resolve_mentions(ca, &content, body.allowed_mentions.as_ref(), replied_author)
            .await?;
        // Bytes first; the rows go in with the message's transaction.
        let (attachments, uploads) = self.store_uploads(ca, actor, refs, files).await?;
        let mut taken = Taken {
            slot: None,
            uploads,
        };
        if slowed {
            // Taken now (a concurrent send of the same user may have taken it meanwhile).
            match self
                .slowmode_take(ca.channel.id, actor.user.id, ca.channel.rate_limit_per_user)
                .await
            {
                Ok(slot) => taken.slot = Some(slot),
                Err(e) => {
                    self.give_back(taken).await;
                    return Err(e);
                }
            }
        }
        // The rest only renders (a failure here is storage's): what was taken goes back.
        let (flags, tts) = (body.flags, body.tts);
        let built: Result<(MessageRow, wire::Message, Dispatch)> = async {
            let m = MessageRow {
                // Assigned by the writer at commit time (ids follow commit order).
                id: 0,
                channel_id: ca.channel.id,
                guild_id: ca.channel.guild_id,
                author_id: actor.user.id,
                content,
                embeds: serde_json::to_string(&embeds).map_err(Error::internal)?,
                kind: if reference.is_some() { 19 } else { 0 },
                flags: (flags.unwrap_or(0) & CLIENT_FLAGS) as i64,
                tts: tts.unwrap_or(false) && perm::has(ca.perms, perm::SEND_TTS_MESSAGES),
                mention_everyone: everyone,
                mentions: serde_json::to_string(
                    &mentions
                        .iter()
                        .map(|u| Snowflake::from_db(*u))
                        .collect::<Vec<_>>(),
                )
                .map_err(Error::internal)?,
                mention_roles: serde_json::to_string(
                    &mention_roles
                        .iter()
                        .map(|u| Snowflake::from_db(*u))
                        .collect::<Vec<_>>(),
                )
                .map_err(Error::internal)?,
                reference_message_id: reference.as_ref().map(|r| r.id),
                reference_channel_id: reference.as_ref().map(|r| r.channel_id),
                reference_guild_id: reference.as_ref().and_then(|r| r.guild_id),
                nonce,
                edited_at: None,
                pinned_at: None,
                webhook_id: None,
                webhook_name: None,
                webhook_avatar: None,
                interaction: None,
                components: super::components::stored_components(&components),
                poll: poll.as_ref().map(|p| p.json.clone()),
                poll_open_until: poll.as_ref().map(|p| p.open_until),
                attachments,
            };
            // Render the response and the event from the data in hand (author, mentioned users,
            // the replied-to message, the member row of the access check): a new message has no
            // reactions, so only users not yet loaded are read.
            users.insert(actor.user.id, actor.user.clone());
            let mut missing: HashSet<i64> = HashSet::new();
            for r in std::iter::once(&m).chain(reference.as_ref()) {
                missing.insert(r.author_id);
                for u in serde_json::from_str::<Vec<Snowflake>>(&r.mentions).unwrap_or_default() {
                    missing.insert(u.db());
                }
            }
            missing.retain(|u| !users.contains_key(u));
            if !missing.is_empty() {
                let missing: Vec<i64> = missing.into_iter().collect();
                users.extend(
                    self.db
                        .users(&missing)
                        .await?
                        .into_iter()
                        .map(|u| (u.id, u)),
                );
            }
            let mut w = self.message_wire(&m, &users, vec![]);
            if MessageType::from_db(m.kind) == MessageType::Reply {
                w.referenced_message = Some(
                    reference
                        .as_ref()
                        .map(|r| Box::new(self.message_wire(r, &users, vec![]))),
                );
            }
            if let Some(ga) = &ca.guild
                && let Some(mem) = &ga.member
            {
                w.member = Some(self.member_wire(mem, None, ga.member_roles.clone(), false));
            }
            let data = serde_json::to_value(&w).map_err(Error::internal)?;
            let (audience, guild) = Self::message_audience(ca);
            let event = Dispatch {
                event: Event::MessageCreate,
                data,
                audience,
                intent: if guild {
                    intents::GUILD_MESSAGES
                } else {
                    intents::DIRECT_MESSAGES
                },
                has_content: true,
                lossy: false,
                cause: crate::events::current_cause(),
                logged: false,
                entry: None,
            };
            Ok::<_, Error>((m, w, event))
        }
        .await;
        match built {
            Ok((m, w, event)) => Ok(Composed::New(Box::new((m, w, event, taken)))),
            Err(e) => {
                self.give_back(taken).await;
                Err(e)
            }
        }
    }

    /// `GET /channels/{id}/messages` (`before`/`after`/`around`, `limit` 1-100 default 50).
    /// Without READ_MESSAGE_HISTORY the list is empty, as Discord documents.
    pub async fn get_messages(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        before: Option<Snowflake>,
        after: Option<Snowflake>,
        around: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<Vec<wire::Message>> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await?
            && perm::has(ca.perms, perm::READ_MESSAGE_HISTORY)
        {
            self.host
                .backfill(
                    self,
                    &rg,
                    ca.channel.id,
                    HistoryPage {
                        before: before.map(|b| b.db()),
                        after: after.map(|a| a.db()),
                        around: around.map(|a| a.db()),
                        limit: limit.unwrap_or(50).clamp(1, 100),
                    },
                )
                .await?;
        }
        let limit = limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 100.",
            ));
        }
        if !perm::has(ca.perms, perm::READ_MESSAGE_HISTORY) {
            return Ok(vec![]);
        }
        let page = match (around, before, after) {
            (Some(a), _, _) => Page::Around(a.db()),
            (None, Some(b), _) => Page::Before(b.db()),
            (None, None, Some(a)) => Page::After(a.db()),
            _ => Page::Latest,
        };
        // One statement for the page with authors and reaction flags; users mentioned or
        // replied to and reaction counts are read only when the page has any.
        let page = self.db.messages(ca.channel.id, page, limit).await?;
        let mut known = HashMap::new();
        let mut reacted = vec![];
        let mut rows = Vec::with_capacity(page.len());
        for p in page {
            if let Some(a) = p.author {
                known.insert(a.id, a);
            }
            if p.has_reactions {
                reacted.push(p.row.id);
            }
            rows.push(p.row);
        }
        self.render_with(&rows, actor.user.id, known, Some(reacted))
            .await
    }

    pub(super) async fn message_in(&self, ca: &ChannelAccess, id: Snowflake) -> Result<MessageRow> {
        self.db
            .message(ca.channel.id, id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Message))
    }

    /// `GET /channels/{id}/messages/{message_id}`: READ_MESSAGE_HISTORY.
    pub async fn get_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
    ) -> Result<wire::Message> {
        let ca = self.channel_access(actor, channel_id).await?;
        ca.require(perm::READ_MESSAGE_HISTORY)?;
        let m = self.message_in(&ca, message_id).await?;
        self.render_one(&m, actor.user.id).await
    }

    /// `DELETE /channels/{id}/messages/{message_id}`: the author, or MANAGE_MESSAGES in a
    /// guild channel (recorded in the audit log).
    pub async fn delete_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await? {
            self.host
                .relay(
                    self,
                    actor,
                    &rg,
                    RelayAction::new(RelayOp::MessageDelete)
                        .channel(ca.channel.id)
                        .message(message_id.db()),
                )
                .await?;
            return Ok(());
        }
        let m = self.message_in(&ca, message_id).await?;
        let author = m.author_id == actor.user.id;
        if !(author || (ca.guild.is_some() && perm::has(ca.perms, perm::MANAGE_MESSAGES))) {
            return Err(Error::MissingPermissions);
        }
        let files = self.db.attachments_of(&[m.id]).await?.remove(&m.id);
        let (audience, guild) = Self::message_audience(&ca);
        let d = Self::event_of(
            Event::MessageDelete,
            audience,
            if guild {
                intents::GUILD_MESSAGES
            } else {
                intents::DIRECT_MESSAGES
            },
            to_value(&dispatch::MessageDelete {
                id: message_id,
                channel_id,
                guild_id: ca.guild_id(),
            }),
        );
        // The message, a moderator's audit entry and the log entry in one transaction.
        let mut ch = self.db.change(Lock::Nothing).await?;
        if ch.delete_messages(ca.channel.id, &[m.id]).await?.is_empty() {
            return Err(Error::Unknown(Unknown::Message));
        }
        if !author && let Some(g) = ca.channel.guild_id {
            ch.audit(&self.audit_row(
                g,
                actor,
                Some(m.author_id),
                A::MESSAGE_DELETE,
                json!([]),
                Some(json!({"channel_id": channel_id, "count": "1"})),
                reason,
            ))
            .await?;
        }
        self.commit(ch, vec![d]).await?;
        // The rows went with the message (ON DELETE CASCADE); now the bytes.
        self.forget_blobs(&files.unwrap_or_default());
        Ok(())
    }

    /// `POST /channels/{id}/messages/bulk-delete`: MANAGE_MESSAGES, 2-100 ids, none older
    /// than 14 days. Errors: 50016 count, 50034 too old.
    pub async fn bulk_delete(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::BulkDeleteBody,
        reason: Option<&str>,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca
            .guild
            .as_ref()
            .is_some_and(|g| g.guild.host_server.is_some())
        {
            return Err(Error::Rule(Rule::RemoteGuild));
        }
        let Some(g) = ca.channel.guild_id else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::MANAGE_MESSAGES)?;
        let mut ids: Vec<i64> = body.messages.iter().map(|m| m.db()).collect();
        ids.sort_unstable();
        ids.dedup();
        if !(2..=100).contains(&ids.len()) {
            return Err(Error::Rule(Rule::BulkDeleteCount));
        }
        let cutoff = self
            .ids
            .next()
            .timestamp_ms()
            .saturating_sub(BULK_DELETE_MAX_AGE_MS);
        if ids
            .iter()
            .any(|i| Snowflake::from_db(*i).timestamp_ms() < cutoff)
        {
            return Err(Error::Rule(Rule::BulkDeleteTooOld));
        }
        let files: Vec<_> = self
            .db
            .attachments_of(&ids)
            .await?
            .into_values()
            .flatten()
            .collect();
        // The messages, the audit entry and the log entry in one transaction.
        let mut ch = self.db.change(Lock::Nothing).await?;
        let deleted = ch.delete_messages(ca.channel.id, &ids).await?;
        if deleted.is_empty() {
            return Ok(());
        }
        ch.audit(&self.audit_row(
            g,
            actor,
            None,
            A::MESSAGE_BULK_DELETE,
            json!([]),
            Some(json!({"channel_id": channel_id, "count": deleted.len().to_string()})),
            reason,
        ))
        .await?;
        let ids: Vec<Snowflake> = deleted.into_iter().map(Snowflake::from_db).collect();
        let d = Self::event_of(
            Event::MessageDeleteBulk,
            Audience::Guild {
                guild_id: Snowflake::from_db(g),
                channel: Some(channel_id),
            },
            intents::GUILD_MESSAGES,
            to_value(&dispatch::MessageDeleteBulk {
                ids,
                channel_id,
                guild_id: Snowflake::from_db(g),
            }),
        );
        self.commit(ch, vec![d]).await?;
        self.forget_blobs(&files);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_parsed() {
        let m = parse_mentions("hi <@123> and <@!456> and <@&789> @everyone <@abc> <@123>");
        assert_eq!(m.users, vec![123, 456]);
        assert_eq!(m.roles, vec![789]);
        assert!(m.everyone);
        assert!(!parse_mentions("plain").everyone);
    }

    #[test]
    fn emoji_validation() {
        assert!(parse_emoji("👍").is_ok());
        assert!(parse_emoji("").is_err());
        assert!(parse_emoji("name:123").is_err());
        assert!(parse_emoji("abc").is_err());
    }
}
