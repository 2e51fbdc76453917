//! Messages, reactions, pins and DM channels.

use super::{Db, Lock, OutboxItem, UserRow, Written, on_db, push_outbox, write_tx};
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub channel_id: i64,
    pub guild_id: Option<i64>,
    pub author_id: i64,
    pub content: String,
    /// JSON array of embed objects.
    pub embeds: String,
    pub kind: i64,
    pub flags: i64,
    pub tts: bool,
    pub mention_everyone: bool,
    /// JSON array of user ids (strings).
    pub mentions: String,
    /// JSON array of role ids (strings).
    pub mention_roles: String,
    pub reference_message_id: Option<i64>,
    pub reference_channel_id: Option<i64>,
    pub reference_guild_id: Option<i64>,
    pub nonce: Option<String>,
    pub edited_at: Option<i64>,
    pub pinned_at: Option<i64>,
    /// The webhook that sent it (then `author_id` is the webhook's id), with the author
    /// name and avatar shown (migration 0020).
    pub webhook_id: Option<i64>,
    pub webhook_name: Option<String>,
    pub webhook_avatar: Option<String>,
    /// The interaction it answers: the JSON of `service::interactions::StoredInteraction`
    /// (migration 0025), `None` for other messages.
    pub interaction: Option<String>,
    /// Its action rows: a JSON array of `wire::Component` (migration 0027), `None` for
    /// messages without components.
    pub components: Option<String>,
    /// Its poll: the JSON of `wire::Poll` without results (migration 0031), `None` for
    /// messages without a poll.
    pub poll: Option<String>,
    /// While its poll is open, the poll's end (ms); `None` once finalized or without a poll.
    pub poll_open_until: Option<i64>,
    /// The message's files, stored with it by [`Db::insert_messages`] (not a column).
    #[sqlx(skip)]
    pub attachments: Vec<super::AttachmentRow>,
}

impl MessageRow {
    /// A message the server writes itself (system messages, AutoMod alerts, poll results):
    /// `kind` by `author_id` in `channel_id`, with no content, embeds, mentions, reference or
    /// anything else; callers set what theirs carries with struct update syntax.
    pub fn system(channel_id: i64, guild_id: Option<i64>, author_id: i64, kind: i64) -> Self {
        Self {
            id: 0,
            channel_id,
            guild_id,
            author_id,
            content: String::new(),
            embeds: "[]".into(),
            kind,
            flags: 0,
            tts: false,
            mention_everyone: false,
            mentions: "[]".into(),
            mention_roles: "[]".into(),
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
            components: None,
            poll: None,
            poll_open_until: None,
            attachments: vec![],
        }
    }
}

/// Aggregated reactions of one message: `(message_id, emoji, count, me)`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReactionCount {
    pub message_id: i64,
    pub emoji: String,
    pub count: i64,
    pub me: i64,
    pub first: i64,
}

/// A message of a history page ([`Db::messages`]).
#[derive(Debug, Clone)]
pub struct PageMessage {
    pub row: MessageRow,
    /// The author's user row (`None` if the user is gone).
    pub author: Option<UserRow>,
    /// Whether the message has at least one reaction.
    pub has_reactions: bool,
}

#[derive(sqlx::FromRow)]
pub(super) struct PageRow {
    #[sqlx(flatten)]
    row: MessageRow,
    has_reactions: bool,
    a_id: Option<i64>,
    a_username: Option<String>,
    a_global_name: Option<String>,
    a_email: Option<String>,
    a_password_hash: Option<String>,
    a_avatar: Option<String>,
    a_bio: Option<String>,
    a_bot: Option<bool>,
    a_admin: Option<bool>,
    a_suspended: Option<bool>,
    a_dm_policy: Option<i64>,
    a_created_at: Option<i64>,
    a_home_server: Option<String>,
}

impl PageRow {
    pub(super) fn into_page_message(self) -> PageMessage {
        let author = match (self.a_id, self.a_username) {
            (Some(id), Some(username)) => Some(UserRow {
                id,
                username,
                global_name: self.a_global_name,
                email: self.a_email,
                password_hash: self.a_password_hash,
                avatar: self.a_avatar,
                bio: self.a_bio.unwrap_or_default(),
                bot: self.a_bot.unwrap_or_default(),
                admin: self.a_admin.unwrap_or_default(),
                suspended: self.a_suspended.unwrap_or_default(),
                dm_policy: self.a_dm_policy.unwrap_or_default(),
                created_at: self.a_created_at.unwrap_or_default(),
                home_server: self.a_home_server,
                // Not selected for message authors; only `GET /users/@me` shows it.
                mfa_enabled: false,
                banner: None,
                email_verified: false,
                webauthn_enabled: false,
            }),
            _ => None,
        };
        PageMessage {
            row: self.row,
            author,
            has_reactions: self.has_reactions,
        }
    }
}

/// Columns of a history page: the message, whether it has reactions, its author (`a_*`).
pub(super) fn page_cols() -> String {
    let m = MSG_COLS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let u = super::users::USER_COLS
        .split(", ")
        .map(|c| format!("u.{c} AS a_{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{m}, EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id) AS has_reactions, {u}"
    )
}

const MSG_COLS: &str = "id, channel_id, guild_id, author_id, content, embeds, kind, flags, tts, mention_everyone, mentions, mention_roles, reference_message_id, reference_channel_id, reference_guild_id, nonce, edited_at, pinned_at, webhook_id, webhook_name, webhook_avatar, interaction, components, poll, poll_open_until";

/// Which page of history (Discord "Get Channel Messages"): ids are exclusive bounds.
#[derive(Debug, Clone, Copy)]
pub enum Page {
    Before(i64),
    After(i64),
    Around(i64),
    Latest,
}

/// Inside an open transaction `$tx`: inserts message row `$m` with its attachment rows and
/// moves its channel's `last_message_id` to it (a send, and a forum post's starter message).
macro_rules! store_message {
    ($tx:ident, $m:expr) => {{
        let m: &$crate::storage::MessageRow = $m;
        sqlx::query("INSERT INTO messages (id, channel_id, guild_id, author_id, content, embeds, kind, flags, tts, mention_everyone, mentions, mention_roles, reference_message_id, reference_channel_id, reference_guild_id, nonce, edited_at, pinned_at, webhook_id, webhook_name, webhook_avatar, interaction, components, poll, poll_open_until)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)")
            .bind(m.id).bind(m.channel_id).bind(m.guild_id).bind(m.author_id).bind(&m.content).bind(&m.embeds)
            .bind(m.kind).bind(m.flags).bind(m.tts).bind(m.mention_everyone).bind(&m.mentions).bind(&m.mention_roles)
            .bind(m.reference_message_id).bind(m.reference_channel_id).bind(m.reference_guild_id).bind(&m.nonce)
            .bind(m.edited_at).bind(m.pinned_at).bind(m.webhook_id).bind(&m.webhook_name).bind(&m.webhook_avatar).bind(&m.interaction).bind(&m.components)
            .bind(&m.poll).bind(m.poll_open_until)
            .execute(&mut *$tx).await?;
        $crate::storage::attachments::insert_attachments!($tx, std::slice::from_ref(m));
        sqlx::query("UPDATE channels SET last_message_id = $1 WHERE id = $2").bind(m.id).bind(m.channel_id).execute(&mut *$tx).await?;
    }};
}
pub(super) use store_message;

impl Db {
    /// Stores a message and advances the channel's `last_message_id`, in one transaction.
    /// Stores one message, with its federation log entry if its guild is federated (see
    /// [`Db::insert_messages`]); returns the federated guild ids among `log`.
    pub async fn insert_message(
        &self,
        m: &MessageRow,
        log: Option<OutboxItem<'_>>,
    ) -> Result<Vec<i64>> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            store_message!(tx, m);
            let federated = push_outbox!(tx, log.as_slice());
            tx.commit().await?;
            Ok(federated)
        })
    }

    /// Stores a batch of messages in ONE transaction (group commit): one multi-row INSERT,
    /// then one `last_message_id` update per channel (never moving it backwards). Either
    /// every row is stored or none is; the caller retries rows one by one on failure.
    ///
    /// `log` holds the federation log entries of the batch's guild messages, in commit
    /// order: those of federated guilds are written to the outbox in the same transaction
    /// (spec/federation.md §8). Returns the federated guild ids among them.
    pub async fn insert_messages(
        &self,
        ms: &[MessageRow],
        log: &[OutboxItem<'_>],
    ) -> Result<Vec<i64>> {
        if ms.is_empty() {
            return Ok(vec![]);
        }
        let mut last: std::collections::BTreeMap<i64, i64> = Default::default();
        for m in ms {
            let e = last.entry(m.channel_id).or_insert(m.id);
            *e = (*e).max(m.id);
        }
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO messages ({MSG_COLS}) "));
            qb.push_values(ms, |mut b, m| {
                b.push_bind(m.id).push_bind(m.channel_id).push_bind(m.guild_id).push_bind(m.author_id)
                    .push_bind(&m.content).push_bind(&m.embeds).push_bind(m.kind).push_bind(m.flags)
                    .push_bind(m.tts).push_bind(m.mention_everyone).push_bind(&m.mentions)
                    .push_bind(&m.mention_roles).push_bind(m.reference_message_id)
                    .push_bind(m.reference_channel_id).push_bind(m.reference_guild_id)
                    .push_bind(&m.nonce).push_bind(m.edited_at).push_bind(m.pinned_at)
                    .push_bind(m.webhook_id).push_bind(&m.webhook_name).push_bind(&m.webhook_avatar)
                    .push_bind(&m.interaction)
                    .push_bind(&m.components)
                    .push_bind(&m.poll)
                    .push_bind(m.poll_open_until);
            });
            // Batch sizes vary: keep these one-off statements out of the statement cache.
            qb.build().persistent(false).execute(&mut *tx).await?;
            super::attachments::insert_attachments!(tx, ms);
            for (channel_id, id) in last {
                sqlx::query("UPDATE channels SET last_message_id = $1 WHERE id = $2 AND (last_message_id IS NULL OR last_message_id < $1)")
                    .bind(id).bind(channel_id).execute(&mut *tx).await?;
            }
            let federated = push_outbox!(tx, log);
            tx.commit().await?;
            Ok(federated)
        })
    }

    pub async fn message(&self, channel_id: i64, id: i64) -> Result<Option<MessageRow>> {
        let q = format!("SELECT {MSG_COLS} FROM messages WHERE id = $1 AND channel_id = $2");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).bind(channel_id).fetch_optional(p).await)?,
        )
    }

    pub async fn messages_by_ids(&self, ids: &[i64]) -> Result<Vec<MessageRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let q = format!("SELECT {MSG_COLS} FROM messages WHERE id IN ({list})");
        Ok(on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?)
    }

    /// A message by the same author with the same nonce sent after `since_id` (enforce_nonce).
    pub async fn message_by_nonce(
        &self,
        channel_id: i64,
        author_id: i64,
        nonce: &str,
        since_id: i64,
    ) -> Result<Option<MessageRow>> {
        let q = format!(
            "SELECT {MSG_COLS} FROM messages WHERE author_id = $1 AND nonce = $2 AND channel_id = $3 AND id > $4 ORDER BY id DESC LIMIT 1"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(author_id).bind(nonce).bind(channel_id).bind(since_id).fetch_optional(p).await)?,
        )
    }

    /// A page of history, newest first (as Discord returns it), using the `(channel_id, id)`
    /// index. Each row comes with its author (one join instead of a second query) and
    /// whether it has any reaction, so that rendering a page without reactions or mentions
    /// needs no further statement.
    pub async fn messages(
        &self,
        channel_id: i64,
        page: Page,
        limit: i64,
    ) -> Result<Vec<PageMessage>> {
        let cols = page_cols();
        let q = |cond: &str, order: &str| {
            format!(
                "SELECT {cols} FROM messages m LEFT JOIN users u ON u.id = m.author_id
                 WHERE m.channel_id = $1 {cond} ORDER BY m.id {order}"
            )
        };
        let rows: Vec<PageRow> = match page {
            Page::Latest => {
                let q = q("", "DESC LIMIT $2");
                on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(channel_id).bind(limit).fetch_all(p).await)?
            }
            Page::Before(b) => {
                let q = q("AND m.id < $2", "DESC LIMIT $3");
                on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(channel_id).bind(b).bind(limit).fetch_all(p).await)?
            }
            Page::After(a) => {
                let q = q("AND m.id > $2", "ASC LIMIT $3");
                let mut v: Vec<PageRow> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(channel_id).bind(a).bind(limit).fetch_all(p).await)?;
                v.reverse();
                v
            }
            Page::Around(x) => {
                let half = limit / 2;
                let q1 = q("AND m.id >= $2", "ASC LIMIT $3");
                let q2 = q("AND m.id < $2", "DESC LIMIT $3");
                let mut newer: Vec<PageRow> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q1.as_str())).bind(channel_id).bind(x).bind(limit - half).fetch_all(p).await)?;
                let older: Vec<PageRow> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q2.as_str())).bind(channel_id).bind(x).bind(half).fetch_all(p).await)?;
                newer.reverse();
                newer.extend(older);
                newer
            }
        };
        Ok(rows.into_iter().map(PageRow::into_page_message).collect())
    }

    /// Stores an edited message, removes the attachments `removed_attachments` (ids of its
    /// own), adds `added_attachments` (claimed two-step uploads) and writes its federation log
    /// entry `log` (to the outbox if the guild is federated and the message still exists), all
    /// in one transaction.
    pub async fn update_message(
        &self,
        m: &MessageRow,
        removed_attachments: &[i64],
        added_attachments: &[super::AttachmentRow],
        log: Option<OutboxItem<'_>>,
    ) -> Result<Written> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("UPDATE messages SET content = $1, embeds = $2, flags = $3, mention_everyone = $4, mentions = $5, mention_roles = $6, edited_at = $7, components = $9 WHERE id = $8")
                .bind(&m.content).bind(&m.embeds).bind(m.flags).bind(m.mention_everyone).bind(&m.mentions).bind(&m.mention_roles)
                .bind(m.edited_at).bind(m.id).bind(&m.components).execute(&mut *tx).await?.rows_affected();
            for id in removed_attachments {
                sqlx::query("DELETE FROM attachments WHERE id = $1 AND message_id = $2")
                    .bind(*id).bind(m.id).execute(&mut *tx).await?;
            }
            if n > 0 && !added_attachments.is_empty() {
                let with = MessageRow { attachments: added_attachments.to_vec(), ..m.clone() };
                super::attachments::insert_attachments!(tx, std::slice::from_ref(&with));
            }
            let logged = n > 0 && !push_outbox!(tx, log.as_slice()).is_empty();
            tx.commit().await?;
            Ok(Written { changed: n > 0, logged })
        })
    }

    /// Deletes a message, with its federation log entry `log` (as [`Db::update_message`]).
    pub async fn delete_message(
        &self,
        channel_id: i64,
        id: i64,
        log: Option<OutboxItem<'_>>,
    ) -> Result<Written> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM messages WHERE id = $1 AND channel_id = $2").bind(id).bind(channel_id).execute(&mut *tx).await?.rows_affected();
            let logged = n > 0 && !push_outbox!(tx, log.as_slice()).is_empty();
            tx.commit().await?;
            Ok(Written { changed: n > 0, logged })
        })
    }

    /// Deletes the listed messages of a channel; returns the ids actually deleted
    /// ([`Change::delete_messages`]).
    pub async fn delete_messages(&self, channel_id: i64, ids: &[i64]) -> Result<Vec<i64>> {
        let mut c = self.change(Lock::Nothing).await?;
        let r = c.delete_messages(channel_id, ids).await?;
        c.commit().await?;
        Ok(r)
    }

    /// Pinned messages, most recently pinned first, pinned before `before` (ms).
    pub async fn pins(&self, channel_id: i64, before: i64, limit: i64) -> Result<Vec<MessageRow>> {
        let q = format!(
            "SELECT {MSG_COLS} FROM messages WHERE channel_id = $1 AND pinned_at IS NOT NULL AND pinned_at < $2 ORDER BY pinned_at DESC, id DESC LIMIT $3"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(channel_id).bind(before).bind(limit).fetch_all(p).await)?,
        )
    }

    pub async fn count_pins(&self, channel_id: i64) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM messages WHERE channel_id = $1 AND pinned_at IS NOT NULL").bind(channel_id).fetch_one(p).await)?;
        Ok(r.0)
    }

    // ---- reactions ------------------------------------------------------------------

    /// Adds a reaction; `false` if that user already reacted with that emoji.
    pub async fn add_reaction(
        &self,
        message_id: i64,
        emoji: &str,
        user_id: i64,
        now: i64,
        log: Option<OutboxItem<'_>>,
    ) -> Result<Written> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("INSERT INTO reactions (message_id, emoji, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(message_id).bind(emoji).bind(user_id).bind(now).execute(&mut *tx).await?.rows_affected();
            let logged = n > 0 && !push_outbox!(tx, log.as_slice()).is_empty();
            tx.commit().await?;
            Ok(Written { changed: n > 0, logged })
        })
    }

    pub async fn remove_reaction(
        &self,
        message_id: i64,
        emoji: &str,
        user_id: i64,
        log: Option<OutboxItem<'_>>,
    ) -> Result<Written> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3")
                .bind(message_id).bind(emoji).bind(user_id).execute(&mut *tx).await?.rows_affected();
            let logged = n > 0 && !push_outbox!(tx, log.as_slice()).is_empty();
            tx.commit().await?;
            Ok(Written { changed: n > 0, logged })
        })
    }

    /// Removes a message's reactions, all or those with `emoji` ([`Change::clear_reactions`]).
    pub async fn clear_reactions(&self, message_id: i64, emoji: Option<&str>) -> Result<u64> {
        let mut c = self.change(Lock::Nothing).await?;
        let r = c.clear_reactions(message_id, emoji).await?;
        c.commit().await?;
        Ok(r)
    }

    pub async fn count_distinct_reactions(&self, message_id: i64) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(DISTINCT emoji) FROM reactions WHERE message_id = $1").bind(message_id).fetch_one(p).await)?;
        Ok(r.0)
    }

    pub async fn has_reaction(&self, message_id: i64, emoji: &str) -> Result<bool> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT user_id FROM reactions WHERE message_id = $1 AND emoji = $2 LIMIT 1")
            .bind(message_id).bind(emoji).fetch_optional(p).await)?;
        Ok(r.is_some())
    }

    /// Users who reacted with `emoji`, user id > `after`, ascending.
    pub async fn reaction_users(
        &self,
        message_id: i64,
        emoji: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<i64>> {
        let r: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT user_id FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id > $3 ORDER BY user_id LIMIT $4")
            .bind(message_id).bind(emoji).bind(after).bind(limit).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    /// Reaction counts for a set of messages, with whether `viewer` reacted.
    pub async fn reaction_counts(
        &self,
        message_ids: &[i64],
        viewer: i64,
    ) -> Result<Vec<ReactionCount>> {
        if message_ids.is_empty() {
            return Ok(vec![]);
        }
        let list = message_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let q = format!("SELECT message_id, emoji, COUNT(*) AS count, SUM(CASE WHEN user_id = $1 THEN 1 ELSE 0 END) AS me, MIN(created_at) AS first
            FROM reactions WHERE message_id IN ({list}) GROUP BY message_id, emoji ORDER BY message_id, first");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(viewer).fetch_all(p).await)?,
        )
    }

    // ---- DM channels ----------------------------------------------------------------

    /// The DM channel between two users, if one exists.
    pub async fn dm_channel(&self, a: i64, b: i64) -> Result<Option<i64>> {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT channel_id FROM dm_channels WHERE user_low = $1 AND user_high = $2")
            .bind(lo).bind(hi).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// The two recipients of a DM channel.
    pub async fn dm_recipients(&self, channel_id: i64) -> Result<Option<(i64, i64)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT user_low, user_high FROM dm_channels WHERE channel_id = $1")
            .bind(channel_id).fetch_optional(p).await)?,
        )
    }

    /// Every DM channel id a user is in.
    pub async fn dm_channels_of(&self, user_id: i64) -> Result<Vec<(i64, i64, i64)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT channel_id, user_low, user_high FROM dm_channels WHERE user_low = $1 OR user_high = $1 ORDER BY channel_id")
            .bind(user_id).fetch_all(p).await)?,
        )
    }

    /// Creates the DM channel for a pair, or returns the existing one if a concurrent request
    /// won the race.
    pub async fn create_dm_channel(
        &self,
        channel_id: i64,
        a: i64,
        b: i64,
        now: i64,
    ) -> Result<i64> {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let created = on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("INSERT INTO channels (id, guild_id, type, created_at) VALUES ($1, NULL, 1, $2)").bind(channel_id).bind(now).execute(&mut *tx).await?;
            let n = sqlx::query("INSERT INTO dm_channels (channel_id, user_low, user_high) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(channel_id).bind(lo).bind(hi).execute(&mut *tx).await?.rows_affected();
            if n == 1 { tx.commit().await?; true } else { false }
        });
        if created {
            Ok(channel_id)
        } else {
            self.dm_channel(a, b)
                .await?
                .ok_or_else(|| crate::error::Error::internal("dm channel vanished"))
        }
    }
}
