//! The files of interactions' messages (Discord "Interactions > Receiving and Responding",
//! "Reference > Uploading Files"): where a callback's or a follow-up's files go, and the files
//! of ephemeral messages, which are not stored with the channel's messages: kept as finished
//! uploads of the application's bot (`pending_uploads`) that expire with the interaction, served
//! by the signed attachment URLs until then and released by the collector afterwards
//! ([`super::media_gc`]). The routes are in [`super::interaction_responses`].

use super::Hearth;
use super::attachments::{FileTarget, Upload};
use crate::error::{Error, FieldErrors, Result, Unknown};
use crate::snowflake::Snowflake;
use crate::storage::{ApplicationRow, InteractionRow, PendingUploadRow, now_ms};
use crate::wire;

/// The files of an ephemeral message of interaction `i` (`rows`, already stored and charged
/// to the application's bot `bot_user_id`): kept as finished uploads of that bot (never the
/// invoking user's, who could claim them as their own) that expire with the interaction,
/// which the signed attachment URLs serve until then ([`Hearth::signed_attachment`]); the
/// garbage collector releases them afterwards. Files an edit drops keep serving until then.
pub(super) fn ephemeral_uploads(
    i: &InteractionRow,
    bot_user_id: i64,
    rows: &[crate::storage::AttachmentRow],
) -> Vec<PendingUploadRow> {
    let now = now_ms();
    rows.iter()
        .map(|a| PendingUploadRow {
            id: a.id,
            channel_id: a.channel_id,
            // The bot's: a user could otherwise claim it as a two-step upload of theirs.
            user_id: bot_user_id,
            filename: a.filename.clone(),
            declared_size: a.size,
            size: Some(a.size),
            content_type: Some(a.content_type.clone()),
            width: a.width,
            height: a.height,
            blob_key: a.blob_key.clone(),
            created_at: now,
            expires_at: i.expires_at,
        })
        .collect()
}

impl Hearth {
    /// Where the files of a callback of interaction `id` go (its channel, charged to the
    /// application's bot), checked before any byte is stored. Errors: 404 10062 (as the
    /// callback), 400 50035 on `files` in a guild hosted on another server.
    pub async fn callback_file_target(&self, id: Snowflake, token: &str) -> Result<FileTarget> {
        let i = self.interaction_for_callback(id, token).await?;
        let app = self
            .db
            .application(i.application_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Interaction))?;
        self.interaction_file_target(&i, &app).await
    }

    /// The files of interaction `i`'s messages: its channel, charged to the application's bot.
    pub(super) async fn interaction_file_target(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
    ) -> Result<FileTarget> {
        let ca = self.interaction_access(i, app).await?;
        self.files_for(&ca, app.bot_user_id).await
    }

    /// An edit's files on ephemeral message `m` of interaction `i`: `attachments` (absent:
    /// all kept; else the ids to keep and the new files' entries) and the new `files`,
    /// appended to `m.attachments`; the rows to keep them by ([`ephemeral_uploads`]).
    /// Errors: 400 50035 at `attachments` beyond `media.max_files_per_message`, at
    /// `attachments.{i}.uploaded_filename` for a two-step upload.
    pub(super) fn edit_ephemeral_files(
        &self,
        i: &InteractionRow,
        m: &mut wire::Message,
        attachments: Option<&Option<Vec<wire::AttachmentRef>>>,
        files: &[Upload],
    ) -> Result<Vec<PendingUploadRow>> {
        let refs = attachments.cloned().flatten().unwrap_or_default();
        let mut errs = FieldErrors::new();
        super::webhook_exec::no_two_step_uploads(&refs, "attachments", &mut errs);
        if attachments.is_some() {
            let keep: Vec<String> = refs
                .iter()
                .filter_map(|r| r.id.as_ref().and_then(super::attachments::ref_id))
                .collect();
            m.attachments.retain(|a| keep.contains(&a.id.to_string()));
        }
        let max = self.config.media.max_files_per_message;
        if !files.is_empty() && m.attachments.len() + files.len() > max {
            errs.add(
                "attachments",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
        errs.into_result()?;
        let rows = Self::file_rows(m.channel_id.db(), &refs, files, m.attachments.len());
        m.attachments
            .extend(rows.iter().map(|a| self.attachment_wire(a)));
        // The message's author is the application's bot.
        Ok(ephemeral_uploads(i, m.author.id.db(), &rows))
    }
}
