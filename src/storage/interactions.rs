//! Interactions and their ephemeral messages (migration 0025; Discord "Interactions >
//! Receiving and Responding"). An interaction's state moves once, atomically, from pending
//! (0) to acknowledged (1, by its callback) or failed (2, by the 3-second deadline): a
//! conditional UPDATE decides which came first.

use super::atomic::write_tx;
use super::{Db, on_db};
use crate::error::Result;

/// A stored interaction (its token only as SHA-256 hex).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InteractionRow {
    pub id: i64,
    pub application_id: i64,
    pub token_hash: String,
    /// Discord's interaction type (2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT, 4
    /// APPLICATION_COMMAND_AUTOCOMPLETE, 5 MODAL_SUBMIT).
    pub kind: i64,
    /// The application command's type (1 CHAT_INPUT, 2 USER, 3 MESSAGE); 0 for component
    /// and modal interactions.
    pub command_type: i64,
    pub user_id: i64,
    pub guild_id: Option<i64>,
    pub channel_id: i64,
    /// The command's name as shown (with subcommand group and subcommand); the
    /// `custom_id` for component and modal interactions.
    pub name: String,
    pub nonce: Option<String>,
    /// 0 pending, 1 acknowledged, 2 failed.
    pub state: i64,
    /// The callback's type once acknowledged.
    pub response_type: Option<i64>,
    /// 1 when the response is ephemeral.
    pub ephemeral: i64,
    /// The response's message (`@original`), once there is one.
    pub original_id: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms: the token is refused after it.
    pub expires_at: i64,
    /// The message whose component was used (MESSAGE_COMPONENT, and MODAL_SUBMIT of a
    /// modal opened from a component; migration 0027).
    pub message_id: Option<i64>,
    /// The modal the application answered with (callback 9): JSON of
    /// `wire::ModalCallbackData` as checked.
    pub modal: Option<String>,
    /// For a MODAL_SUBMIT, the interaction whose callback 9 opened the modal (migration
    /// 0036).
    pub parent_id: Option<i64>,
}

/// Pending.
pub const PENDING: i64 = 0;
/// Acknowledged by a callback.
pub const ACKNOWLEDGED: i64 = 1;
/// No callback in time.
pub const FAILED: i64 = 2;
/// `original_id` while one request makes the response's message.
pub const ORIGINAL_CLAIMED: i64 = -1;
/// `original_id` once the response's message was deleted.
pub const ORIGINAL_DELETED: i64 = -2;

const COLS: &str = "id, application_id, token_hash, kind, command_type, user_id, guild_id, channel_id, name, nonce, state, response_type, ephemeral, original_id, created_at, expires_at, message_id, modal, parent_id";

impl Db {
    /// Stores a new interaction and deletes those expired before `now` (with their
    /// ephemeral messages), in one transaction.
    pub async fn insert_interaction(&self, r: &InteractionRow, now: i64) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("DELETE FROM interactions WHERE expires_at < $1").bind(now).execute(&mut *tx).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO interactions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)")))
                .bind(r.id).bind(r.application_id).bind(&r.token_hash).bind(r.kind).bind(r.command_type).bind(r.user_id)
                .bind(r.guild_id).bind(r.channel_id).bind(&r.name).bind(&r.nonce).bind(r.state)
                .bind(r.response_type).bind(r.ephemeral).bind(r.original_id).bind(r.created_at).bind(r.expires_at)
                .bind(r.message_id).bind(&r.modal).bind(r.parent_id)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes the interactions expired before `now` (their ephemeral messages go with them).
    pub async fn prune_interactions(&self, now: i64) -> Result<u64> {
        Ok(
            on_db!(self, p => sqlx::query("DELETE FROM interactions WHERE expires_at < $1")
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?,
        )
    }

    /// An interaction by id.
    pub async fn interaction(&self, id: i64) -> Result<Option<InteractionRow>> {
        let q = format!("SELECT {COLS} FROM interactions WHERE id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    /// The interaction of application `app_id` whose token has this SHA-256, unless it
    /// expired before `now`.
    pub async fn interaction_by_token(
        &self,
        app_id: i64,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<InteractionRow>> {
        let q = format!(
            "SELECT {COLS} FROM interactions WHERE token_hash = $1 AND application_id = $2 AND expires_at >= $3"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(token_hash).bind(app_id).bind(now).fetch_optional(p).await)?,
        )
    }

    /// Moves a pending interaction to `state` (acknowledged with its callback type, its
    /// ephemeral flag and, for callback 9, the modal it answered with (JSON); or failed) in
    /// one statement; `false` when it was no longer pending.
    pub async fn settle_interaction(
        &self,
        id: i64,
        state: i64,
        response_type: Option<i64>,
        ephemeral: bool,
        modal: Option<&str>,
    ) -> Result<bool> {
        let r = on_db!(self, p => sqlx::query("UPDATE interactions SET state = $2, response_type = $3, ephemeral = $4, modal = COALESCE($5, modal) WHERE id = $1 AND state = 0")
            .bind(id).bind(state).bind(response_type).bind(ephemeral as i64).bind(modal).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    /// Records the response's message (`@original`) of an interaction that has none yet;
    /// `false` when it already had one.
    pub async fn set_interaction_original(&self, id: i64, message_id: i64) -> Result<bool> {
        let r = on_db!(self, p => sqlx::query("UPDATE interactions SET original_id = $2 WHERE id = $1 AND (original_id IS NULL OR original_id = $3)")
            .bind(id).bind(message_id).bind(ORIGINAL_CLAIMED).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    /// Claims the making of the response's message (`original_id` NULL -> [`ORIGINAL_CLAIMED`]):
    /// `false` when it exists, is being made, or was deleted. One caller wins.
    pub async fn claim_interaction_original(&self, id: i64) -> Result<bool> {
        let r = on_db!(self, p => sqlx::query("UPDATE interactions SET original_id = $2 WHERE id = $1 AND original_id IS NULL")
            .bind(id).bind(ORIGINAL_CLAIMED).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    /// Gives a claim back (making the message failed).
    pub async fn release_interaction_original(&self, id: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE interactions SET original_id = NULL WHERE id = $1 AND original_id = $2")
            .bind(id).bind(ORIGINAL_CLAIMED).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks the response's message deleted ([`ORIGINAL_DELETED`]): `@original` is then
    /// unknown (10008) and never made again.
    pub async fn clear_interaction_original(&self, id: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE interactions SET original_id = $2 WHERE id = $1")
            .bind(id).bind(ORIGINAL_DELETED).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores an ephemeral message (the message object as its user sees it) and its `files`
    /// (already stored and charged: finished uploads of the application's bot that expire
    /// with the interaction, [`super::media`]), in one transaction.
    pub async fn insert_ephemeral(
        &self,
        id: i64,
        interaction_id: i64,
        message: &str,
        files: &[super::PendingUploadRow],
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("INSERT INTO ephemeral_messages (id, interaction_id, message) VALUES ($1, $2, $3)")
                .bind(id).bind(interaction_id).bind(message).execute(&mut *tx).await?;
            super::media::insert_pending!(tx, files);
            tx.commit().await?;
            Ok(())
        })
    }

    /// An ephemeral message shown to `user_id` in `channel_id` by an interaction of
    /// application `app_id` that has not expired at `now`: its interaction's id and the
    /// message object (JSON).
    pub async fn ephemeral_of_user(
        &self,
        id: i64,
        user_id: i64,
        channel_id: i64,
        app_id: i64,
        now: i64,
    ) -> Result<Option<(i64, String)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT e.interaction_id, e.message FROM ephemeral_messages e JOIN interactions i ON i.id = e.interaction_id WHERE e.id = $1 AND i.user_id = $2 AND i.channel_id = $3 AND i.application_id = $4 AND i.expires_at >= $5")
            .bind(id).bind(user_id).bind(channel_id).bind(app_id).bind(now).fetch_optional(p).await)?,
        )
    }

    /// The sealed signing key and the endpoint URL of an application (migration 0033), if
    /// it has a key yet.
    pub async fn application_endpoint_row(
        &self,
        app_id: i64,
    ) -> Result<Option<(String, Option<String>)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT signing_key, endpoint_url FROM application_endpoints WHERE application_id = $1")
            .bind(app_id).fetch_optional(p).await)?,
        )
    }

    /// The sealed signing key and the endpoint URL of an application (migration 0033),
    /// storing `fresh` as its key first if it has none: an insert that keeps an existing
    /// row, then the read, so concurrent first uses agree on one key.
    pub async fn application_endpoint(
        &self,
        app_id: i64,
        fresh: &str,
    ) -> Result<(String, Option<String>)> {
        on_db!(self, p => sqlx::query("INSERT INTO application_endpoints (application_id, signing_key) VALUES ($1, $2) ON CONFLICT (application_id) DO NOTHING")
            .bind(app_id).bind(fresh).execute(p).await.map(|_| ()))?;
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT signing_key, endpoint_url FROM application_endpoints WHERE application_id = $1")
            .bind(app_id).fetch_one(p).await)?,
        )
    }

    /// The endpoint URL of an application, if it set one.
    pub async fn application_endpoint_url(&self, app_id: i64) -> Result<Option<String>> {
        let r: Option<(Option<String>,)> = on_db!(self, p => sqlx::query_as("SELECT endpoint_url FROM application_endpoints WHERE application_id = $1")
            .bind(app_id).fetch_optional(p).await)?;
        Ok(r.and_then(|r| r.0))
    }

    /// Sets (or clears) the endpoint URL of an application whose key row exists.
    pub async fn set_application_endpoint_url(&self, app_id: i64, url: Option<&str>) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE application_endpoints SET endpoint_url = $2 WHERE application_id = $1")
            .bind(app_id).bind(url).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// An ephemeral message of an interaction.
    pub async fn ephemeral(&self, interaction_id: i64, id: i64) -> Result<Option<String>> {
        let r: Option<(String,)> = on_db!(self, p => sqlx::query_as("SELECT message FROM ephemeral_messages WHERE id = $1 AND interaction_id = $2")
            .bind(id).bind(interaction_id).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// Replaces an ephemeral message; `false` when there is none.
    /// With the edit's new `files` (as [`Self::insert_ephemeral`]'s), in one transaction.
    pub async fn update_ephemeral(
        &self,
        interaction_id: i64,
        id: i64,
        message: &str,
        files: &[super::PendingUploadRow],
    ) -> Result<bool> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("UPDATE ephemeral_messages SET message = $3 WHERE id = $1 AND interaction_id = $2")
                .bind(id).bind(interaction_id).bind(message).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                super::media::insert_pending!(tx, files);
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Deletes an ephemeral message; `false` when there is none.
    pub async fn delete_ephemeral(&self, interaction_id: i64, id: i64) -> Result<bool> {
        let r = on_db!(self, p => sqlx::query("DELETE FROM ephemeral_messages WHERE id = $1 AND interaction_id = $2")
            .bind(id).bind(interaction_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }
}
