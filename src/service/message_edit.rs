//! Editing messages (Discord "Edit Message"): content, embeds and flags by the author (or
//! SUPPRESS_EMBEDS by MANAGE_MESSAGES), and the `attachments` array: ids kept, the others
//! removed, two-step uploads added through `uploaded_filename`; stored with the
//! MESSAGE_UPDATE's log entry in one transaction.

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
    /// `PATCH /channels/{id}/messages/{message_id}`: the author edits content, embeds and
    /// flags; others with MANAGE_MESSAGES may only toggle SUPPRESS_EMBEDS. Errors: 50005.
    pub async fn edit_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        body: wire::EditMessageBody,
    ) -> Result<wire::Message> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await? {
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
            return self.replicated_message(&ca, v, actor).await;
        }
        let mut m = self.message_in(&ca, message_id).await?;
        let author = m.author_id == actor.user.id;
        if !author {
            let only_flags = body.content.is_none()
                && body.embeds.is_none()
                && body.attachments.is_none()
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
        if let Some(f) = body.flags {
            let allowed = if author { CLIENT_FLAGS } else { 1 << 2 };
            m.flags = ((m.flags as u64 & !allowed) | (f & allowed)) as i64;
        }
        errs.into_result()?;
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
        // Entries with `uploaded_filename` add two-step uploads (claimed now, released again
        // if the edit fails).
        let uploads = refs
            .iter()
            .filter(|r| r.uploaded_filename.is_some())
            .count();
        let max = self.config.media.max_files_per_message;
        if uploads > 0 && kept.len() + uploads > max {
            return Err(field_error(
                "attachments",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            ));
        }
        let added = self
            .claim_uploads(&ca, actor, refs, next_position as usize)
            .await?;
        let r = self
            .commit_edit(&ca, actor, m, &body, kept, removed, &added)
            .await;
        if r.is_err() {
            self.forget_blobs(&added);
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
        if m.content.trim().is_empty() && m.embeds == "[]" && kept.is_empty() && added.is_empty() {
            return Err(Error::Rule(Rule::EmptyMessage));
        }
        if body.content.is_some()
            || body.embeds.is_some()
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
