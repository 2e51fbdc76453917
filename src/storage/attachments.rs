//! Message attachments (migration 0009): one row per file of a message, the bytes in the
//! blob store under `blob_key`. Rows are inserted in the message's own transaction
//! ([`Db::insert_messages`]), removed with it (`ON DELETE CASCADE`) or by an edit
//! ([`Db::update_message`]); a replica's by its host's events ([`Db::upsert_message`],
//! [`Db::apply_replica_run`]).

use std::collections::HashMap;

use super::{Db, on_db};
use crate::error::Result;

/// One attachment of a message (Discord "Attachment Object"; sizes in bytes, dimensions in
/// pixels for images).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    /// Filled in by the writer with the message's id at commit time.
    pub message_id: i64,
    pub channel_id: i64,
    /// Order within the message, from 0.
    pub position: i64,
    pub filename: String,
    pub description: Option<String>,
    /// The media type sniffed from the bytes.
    pub content_type: String,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub blob_key: String,
}

pub(super) const ATT_COLS: &str = "id, message_id, channel_id, position, filename, description, content_type, size, width, height, blob_key";

/// Appends the attachments of `ms` (with their message's id) to an open transaction `$tx`.
/// With a third argument, SQL appended to the INSERT (an `ON CONFLICT` clause).
macro_rules! insert_attachments {
    ($tx:expr, $ms:expr) => {
        $crate::storage::attachments::insert_attachments!($tx, $ms, "")
    };
    ($tx:expr, $ms:expr, $suffix:expr) => {{
        let rows: Vec<(i64, &$crate::storage::AttachmentRow)> = $ms
            .iter()
            .flat_map(|m| m.attachments.iter().map(move |a| (m.id, a)))
            .collect();
        if !rows.is_empty() {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO attachments ({}) ",
                $crate::storage::attachments::ATT_COLS
            ));
            qb.push_values(rows, |mut b, (mid, a)| {
                b.push_bind(a.id)
                    .push_bind(mid)
                    .push_bind(a.channel_id)
                    .push_bind(a.position)
                    .push_bind(&a.filename)
                    .push_bind(&a.description)
                    .push_bind(&a.content_type)
                    .push_bind(a.size)
                    .push_bind(a.width)
                    .push_bind(a.height)
                    .push_bind(&a.blob_key);
            });
            qb.push($suffix);
            qb.build().persistent(false).execute(&mut *$tx).await?;
        }
    }};
}
pub(super) use insert_attachments;

/// Makes the attachment rows of the replica's messages `$ms` (a slice of `MessageRow` or of
/// `&MessageRow`, distinct messages) exactly theirs, inside transaction `$tx`, and evaluates to how many
/// cached files it released: rows no longer listed are deleted, their ledger rows (files
/// fetched from the host, spec/federation.md §17.3) released at `$now` in the same
/// transaction; listed rows are inserted, or for ids already here updated in place (position,
/// filename, description), keeping the type, size and dimensions measured from the bytes
/// when the file was fetched.
macro_rules! upsert_replica_attachments {
    ($tx:expr, $ms:expr, $now:expr) => {{
        let ms: Vec<&$crate::storage::MessageRow> = $ms
            .iter()
            .map(|m| <_ as std::borrow::Borrow<$crate::storage::MessageRow>>::borrow(m))
            .collect();
        let mids = ms
            .iter()
            .map(|m| m.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let keep = ms
            .iter()
            .flat_map(|m| m.attachments.iter().map(|a| a.id.to_string()))
            .chain(std::iter::once("0".to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let gone = format!("FROM attachments WHERE message_id IN ({mids}) AND id NOT IN ({keep})");
        let release = format!(
            "UPDATE media_blobs SET released_at = $1 WHERE released_at IS NULL AND blob_key IN (SELECT blob_key {gone})"
        );
        let released = sqlx::query(sqlx::AssertSqlSafe(release.as_str()))
            .persistent(false)
            .bind($now)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        let delete = format!("DELETE {gone}");
        sqlx::query(sqlx::AssertSqlSafe(delete.as_str()))
            .persistent(false)
            .execute(&mut *$tx)
            .await?;
        $crate::storage::attachments::insert_attachments!(
            $tx,
            ms,
            " ON CONFLICT (id) DO UPDATE SET position = excluded.position, filename = excluded.filename, description = excluded.description"
        );
        released
    }};
}
pub(super) use upsert_replica_attachments;

impl Db {
    /// The attachments of the listed messages, by message id, each list in upload order.
    pub async fn attachments_of(
        &self,
        message_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<AttachmentRow>>> {
        let mut out: HashMap<i64, Vec<AttachmentRow>> = HashMap::new();
        if message_ids.is_empty() {
            return Ok(out);
        }
        let list = message_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let q = format!(
            "SELECT {ATT_COLS} FROM attachments WHERE message_id IN ({list}) ORDER BY message_id, position"
        );
        let rows: Vec<AttachmentRow> =
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?;
        for r in rows {
            out.entry(r.message_id).or_default().push(r);
        }
        Ok(out)
    }

    /// One attachment of a channel, `None` when there is none with this id there.
    pub async fn attachment(&self, channel_id: i64, id: i64) -> Result<Option<AttachmentRow>> {
        let q = format!("SELECT {ATT_COLS} FROM attachments WHERE id = $1 AND channel_id = $2");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).bind(channel_id).fetch_optional(p).await)?,
        )
    }
}
