//! Editing messages (Discord "Edit Message"): content, embeds and flags by the author (or
//! SUPPRESS_EMBEDS by MANAGE_MESSAGES), and the `attachments` array: ids kept, the others
//! removed; new files added as `files[n]` parts of a multipart edit (streamed into the store
//! as for sends, [`Hearth::receive_file`]) or as two-step uploads through
//! `uploaded_filename`; stored with the MESSAGE_UPDATE's log entry in one transaction.

use super::attachments::Upload;
use super::messages::{CLIENT_FLAGS, validate_embeds};
use super::ports::{RelayAction, RelayOp};
use super::{Actor, ChannelAccess, Hearth, writer};
use crate::error::{Error, FieldErrors, Result, Rule, field_error};
use crate::events::{Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{AttachmentRow, MessageRow, now_ms};
use crate::wire;

impl Hearth {
    /// `PATCH /channels/{id}/messages/{message_id}` with a JSON body: the author edits
    /// content, embeds and flags; others with MANAGE_MESSAGES may only toggle
    /// SUPPRESS_EMBEDS. Errors: 50005; see [`Self::edit_message_with`].
    pub async fn edit_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        body: wire::EditMessageBody,
    ) -> Result<wire::Message> {
        self.edit_message_with(actor, channel_id, message_id, body, vec![])
            .await
    }

    /// [`Self::edit_message`] with new files (a multipart edit, Discord "Uploading Files")
    /// already streamed into the store by [`Self::receive_file`]. The result's attachments
    /// are: the current ones whose `id` the `attachments` array lists (all of them when the
    /// array is absent or null), in their order, then the files (in part order, each named
    /// by the `attachments` entry whose `id` is its part's `n`), then the two-step uploads of
    /// `uploaded_filename` entries.
    ///
    /// # Errors
    /// 403 50005 for another user's message (only SUPPRESS_EMBEDS is theirs to toggle with
    /// MANAGE_MESSAGES); 403 50013 for files without ATTACH_FILES; 400 50035 on
    /// `attachments` when kept and added files exceed `media.max_files_per_message`; 400
    /// 50035 on `files` for files in a guild hosted on another server; 400 50006 for an
    /// edit leaving the message empty; the errors of [`Hearth::claim_uploads`]. On any error
    /// the message is unchanged and the files are released.
    pub async fn edit_message_with(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        body: wire::EditMessageBody,
        files: Vec<Upload>,
    ) -> Result<wire::Message> {
        let r = self
            .edit_with(actor, channel_id, message_id, body, &files)
            .await;
        self.files_kept_if_ok(&files, r)
    }

    async fn edit_with(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        body: wire::EditMessageBody,
        files: &[Upload],
    ) -> Result<wire::Message> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await? {
            if !files.is_empty() {
                return Err(super::attachments::files_not_federated());
            }
            let body = serde_json::to_value(&body).map_err(Error::internal)?;
            let v = self
                .host
                .relay(
                    self,
                    actor,
                    &rg,
                    RelayAction::new(RelayOp::MessageEdit)
                        .channel(ca.channel.id)
                        .message(message_id.db())
                        .body(body),
                )
                .await?;
            return self.replicated_message(&ca, v.message, actor).await;
        }
        let mut m = self.message_in(&ca, message_id).await?;
        if body.poll.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(Error::Rule(Rule::Refused(crate::error::Refusal::PollEdit)));
        }
        let author = m.author_id == actor.user.id;
        if !author {
            let only_flags = body.content.is_none()
                && body.embeds.is_none()
                && body.attachments.is_none()
                && body.components.is_none()
                && files.is_empty()
                && body.flags.is_some();
            if !(only_flags && perm::has(ca.perms, perm::MANAGE_MESSAGES)) {
                return Err(Error::Rule(Rule::NotAuthor));
            }
        }
        let mut errs = FieldErrors::new();
        if let Some(c) = &body.content {
            let c = c.clone().unwrap_or_default();
            if c.chars().count() > self.config.limits.max_message_length {
                errs.add(
                    "content",
                    "BASE_TYPE_MAX_LENGTH",
                    format!(
                        "Must be {} or fewer in length.",
                        self.config.limits.max_message_length
                    ),
                );
            }
            let (mentions, roles, everyone, _) = self
                .resolve_mentions(&ca, &c, body.allowed_mentions.as_ref(), None)
                .await?;
            m.mentions = serde_json::to_string(
                &mentions
                    .iter()
                    .map(|u| Snowflake::from_db(*u))
                    .collect::<Vec<_>>(),
            )
            .map_err(Error::internal)?;
            m.mention_roles = serde_json::to_string(
                &roles
                    .iter()
                    .map(|u| Snowflake::from_db(*u))
                    .collect::<Vec<_>>(),
            )
            .map_err(Error::internal)?;
            m.mention_everyone = everyone;
            m.content = c;
        }
        if let Some(e) = &body.embeds {
            let e = e.clone().unwrap_or_default();
            validate_embeds(&e, self.config.limits.max_embeds, "embeds", &mut errs);
            m.embeds = serde_json::to_string(&e).map_err(Error::internal)?;
        }
        // Components: a bot's own messages only (ignored otherwise, as on create).
        if let Some(c) = &body.components
            && author
            && actor.is_bot()
        {
            let c = c.clone().unwrap_or_default();
            super::components::check_message_components(&c, "components", true, &mut errs);
            m.components = super::components::stored_components(&c);
        }
        if let Some(f) = body.flags {
            let allowed = if author { CLIENT_FLAGS } else { 1 << 2 };
            m.flags = ((m.flags as u64 & !allowed) | (f & allowed)) as i64;
        }
        errs.into_result()?;
        // Auto Moderation checks new content before anything is stored or dispatched.
        if let Some(Some(c)) = &body.content {
            self.automod_message(&ca, actor, c, Some(m.id)).await?;
        }
        let current = self
            .db
            .attachments_of(&[m.id])
            .await?
            .remove(&m.id)
            .unwrap_or_default();
        let next_position = current.iter().map(|a| a.position + 1).max().unwrap_or(0);
        let refs = match &body.attachments {
            Some(Some(refs)) => refs.as_slice(),
            _ => &[],
        };
        let (kept, removed) = match &body.attachments {
            Some(Some(keep)) => Self::split_kept(current, keep),
            _ => (current, vec![]),
        };
        // The request's files (released by the caller if the edit fails), then entries with
        // `uploaded_filename`: two-step uploads (claimed now, given back if it fails).
        let uploads = refs
            .iter()
            .filter(|r| r.uploaded_filename.is_some())
            .count();
        let max = self.config.media.max_files_per_message;
        let adding = files.len() + uploads;
        if adding > 0 && kept.len() + adding > max {
            return Err(field_error(
                "attachments",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            ));
        }
        if !files.is_empty() {
            ca.require(perm::ATTACH_FILES)?;
        }
        let next_position = next_position as usize;
        let mut added = Self::file_rows(ca.channel.id, refs, files, next_position);
        let (claimed, pending) = self
            .claim_uploads(&ca, actor, refs, next_position + files.len())
            .await?;
        added.extend(claimed);
        let r = self
            .commit_edit(&ca, actor, m, &body, kept, removed, &added)
            .await;
        if r.is_err() {
            // Refused or failed: the uploads stay the user's, claimable again.
            self.unclaim(pending).await;
        }
        r
    }

    /// The end of [`Self::edit_message`]: stores the edited row `m` with its attachments
    /// (`kept`, `removed`, `added` by the edit) and the MESSAGE_UPDATE's log entry in one
    /// transaction, then publishes it.
    #[allow(clippy::too_many_arguments)]
    async fn commit_edit(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        mut m: MessageRow,
        body: &wire::EditMessageBody,
        kept: Vec<AttachmentRow>,
        removed: Vec<AttachmentRow>,
        added: &[AttachmentRow],
    ) -> Result<wire::Message> {
        if m.content.trim().is_empty()
            && m.embeds == "[]"
            && kept.is_empty()
            && added.is_empty()
            && m.components.is_none()
            && m.poll.is_none()
        {
            return Err(Error::Rule(Rule::EmptyMessage));
        }
        if body.content.is_some()
            || body.embeds.is_some()
            || (body.components.is_some() && actor.is_bot())
            || !removed.is_empty()
            || !added.is_empty()
        {
            m.edited_at = Some(now_ms());
        }
        // The event is rendered from the edited row before it is stored, so that its log
        // entry goes into the same transaction (the federation outbox); the attachments this
        // edit removes are left out of it and deleted in that transaction.
        let removed_ids: Vec<i64> = removed.iter().map(|a| a.id).collect();
        let mut w = self.render_one(&m, actor.user.id).await?;
        w.attachments.retain(|a| !removed_ids.contains(&a.id.db()));
        w.attachments
            .extend(added.iter().map(|a| self.attachment_wire(a)));
        let (audience, guild) = Self::message_audience(ca);
        let data = self.message_event(&m, &w).await?;
        let mut d = Self::event_of(
            Event::MessageUpdate,
            audience,
            if guild {
                intents::GUILD_MESSAGES
            } else {
                intents::DIRECT_MESSAGES
            },
            data,
        );
        d.has_content = true;
        d.logged = self
            .db
            .update_message(&m, &removed_ids, added, writer::outbox_item(&d))
            .await?
            .logged;
        self.forget_blobs(&removed);
        self.publish(d);
        Ok(w)
    }
}
