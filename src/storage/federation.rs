//! Federation storage: the host's guild event logs and delivery cursors, and the member
//! side's replicas, id maps, applied positions and equivocation proofs (spec/federation.md).

use super::atomic::write_tx;
use super::{
    ChannelRow, Db, GuildRow, LeaseFence, MessageRow, OverwriteRow, RoleRow, UserRow, fenced,
    lease_lost, on_db,
};
use crate::error::Result;

/// A member server of a hosted guild and its delivery state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PeerRow {
    pub guild_id: i64,
    pub server: String,
    pub acked_seq: i64,
    pub failures: i64,
    pub next_attempt_at: i64,
    /// Push requests attempted for this guild (answered or not; running total).
    pub push_attempts: i64,
    pub final_seq: Option<i64>,
    pub since_seq: i64,
}

/// The record of a relayed action that ran here (`federation_txns`, spec/federation.md §6.6),
/// written by the action's first change in that change's transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TxnRecord {
    /// The answer given (`{result, head}`, JSON), `""` until it is stored.
    pub result: String,
    /// The payload (dispatch `d`, JSON) of the action's first change; `None` for an action
    /// that changed nothing logged, and for claims written by Hearth before migration 0026.
    pub executed: Option<String>,
    /// When the record was written, ms.
    pub created_at: i64,
}

/// A replica of a guild hosted elsewhere.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RemoteGuildRow {
    pub guild_id: i64,
    pub host: String,
    pub host_guild_id: i64,
    pub applied_seq: i64,
    pub last_hash: Option<String>,
}

/// One signed event to append to a hosted guild's log (see [`Db::append_events`]).
#[derive(Debug, Clone)]
pub struct LogAppend {
    pub guild_id: i64,
    pub seq: i64,
    /// The signed event JSON.
    pub event: String,
    pub hash: String,
    pub channel_id: Option<i64>,
    /// The message the event carries content of, if any.
    pub object_id: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// What the append removes from the guild's log, in its transaction.
    pub scrub: LogScrub,
}

/// Content an appended event removes from its guild's log (spec/federation.md §6.4
/// `removed` stubs), in the append's own transaction: the stubs and the deletion they follow
/// are stored together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LogScrub {
    #[default]
    Nothing,
    /// Events about these (deleted) messages, and events of replies that still quote one
    /// of them (replies logged before quotes were left out of the log).
    Messages(Vec<i64>),
    /// Message events of these (deleted) channels.
    Channels(Vec<i64>),
    /// Every message event of the guild (deleted).
    Guild,
}

/// Which replies [`removed_stub`] stubs: those quoting any message, or one of these (host
/// ids).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Quoting<'a> {
    Any,
    Of(&'a [i64]),
}

/// The `removed` stub of the stored event `event`, or `None` when it has no content left
/// (already a stub) or, with `quoting`, when it is not a reply quoting such a message
/// (`referenced_message` in its dispatch).
pub(crate) fn removed_stub(event: &str, quoting: Option<Quoting<'_>>) -> Option<String> {
    use hearth_federation::event::{StubReason, stub};
    let ev: serde_json::Value = serde_json::from_str(event).ok()?;
    let content = ev.get("content")?;
    if let Some(q) = quoting {
        let quote = content
            .get("result")
            .unwrap_or(content)
            .get("d")?
            .get("referenced_message")?;
        let quoted = match q {
            Quoting::Any => quote.is_object(),
            Quoting::Of(deleted) => quote
                .get("id")
                .and_then(|i| i.as_str())
                .and_then(|i| i.parse::<i64>().ok())
                .is_some_and(|id| deleted.contains(&id)),
        };
        if !quoted {
            return None;
        }
    }
    stub(&ev, StubReason::Removed).ok().map(|s| s.to_string())
}

/// A comma-separated list of ids for an `IN (...)` (integers only: safe to inline).
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// In a write transaction `$tx`: replaces the events of guild `$guild`'s log that `$scrub`
/// (a [`LogScrub`]) names by their `removed` stubs and clears their `object_id` (nothing
/// left to scrub). The hash chain is unchanged (a stub hashes like its event). Used by the
/// appends (each appended event's own scrub) and by channel deletions (their threads).
macro_rules! scrub_log {
    ($tx:expr, $guild:expr, $scrub:expr) => {{
        let guild: i64 = $guild;
        let query_quoting = match $scrub {
            $crate::storage::LogScrub::Nothing => None,
            $crate::storage::LogScrub::Messages(ids) if ids.is_empty() => None,
            $crate::storage::LogScrub::Channels(ids) if ids.is_empty() => None,
            $crate::storage::LogScrub::Messages(ids) => Some((
                // Two index lookups (an `OR` of the two would scan the guild's log on
                // PostgreSQL).
                format!(
                    "SELECT seq, event, object_id FROM guild_events WHERE guild_id = $1 AND object_id IN ({l}) \
                     UNION SELECT seq, event, object_id FROM guild_events WHERE guild_id = $1 \
                     AND object_id IN (SELECT id FROM messages WHERE reference_message_id IN ({l}))",
                    l = $crate::storage::federation_scrub::id_list(ids)
                ),
                Some(ids.as_slice()),
            )),
            $crate::storage::LogScrub::Channels(ids) => Some((
                format!(
                    "SELECT seq, event, object_id FROM guild_events WHERE guild_id = $1 AND object_id IS NOT NULL AND channel_id IN ({})",
                    $crate::storage::federation_scrub::id_list(ids)
                ),
                None,
            )),
            $crate::storage::LogScrub::Guild => Some((
                "SELECT seq, event, object_id FROM guild_events WHERE guild_id = $1 AND object_id IS NOT NULL".to_string(),
                None,
            )),
        };
        if let Some((query, quoting)) = query_quoting {
            let found: Vec<(i64, String, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(query))
                .bind(guild)
                .persistent(false)
                .fetch_all(&mut *$tx)
                .await?;
            for (seq, event, object) in found {
                // An event about a deleted message goes whole; a reply's only if it quotes one.
                let about_deleted = matches!((&quoting, object), (Some(ids), Some(o)) if ids.contains(&o));
                let stubbed = $crate::storage::federation_scrub::removed_stub(
                    &event,
                    quoting.filter(|_| !about_deleted).map($crate::storage::federation_scrub::Quoting::Of),
                );
                let Some(stubbed) = stubbed else { continue };
                sqlx::query("UPDATE guild_events SET event = $1, object_id = NULL WHERE guild_id = $2 AND seq = $3")
                    .bind(stubbed)
                    .bind(guild)
                    .bind(seq)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}
pub(super) use scrub_log;

/// [`scrub_log!`] for each of `rows` (its own [`LogAppend::scrub`]).
macro_rules! scrub_appended {
    ($tx:expr, $rows:expr) => {
        for r in $rows.iter() {
            $crate::storage::federation::scrub_log!($tx, r.guild_id, &r.scrub);
        }
    };
}
pub(super) use scrub_appended;

/// One stored event of a hosted guild's log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    pub seq: i64,
    pub event: String,
    pub hash: String,
    pub channel_id: Option<i64>,
}

/// One event of a run applied by [`Db::apply_replica_run`]: its position, hash, whole
/// signed JSON (kept for equivocation proofs), the (local) message id it is about and the
/// message row it carries, in local ids.
#[derive(Debug, Clone)]
pub struct ReplicaApply {
    pub seq: i64,
    pub hash: String,
    pub event: String,
    pub object_id: Option<i64>,
    pub message: Option<MessageRow>,
}

impl Db {
    // ---- host: event log -------------------------------------------------------------

    /// Appends an event, fenced like [`Db::append_events`]; fails on a duplicate
    /// `(guild, seq)` (the log is gapless and unique).
    pub async fn append_event(&self, row: &LogAppend, fences: &[LeaseFence]) -> Result<()> {
        self.append_events(std::slice::from_ref(row), fences).await
    }

    /// Appends several events (of one or more guilds) in one transaction, after checking in
    /// it that this node still holds each sequencer lease of `fences` ([`fenced!`]): all or
    /// none. Fails on a duplicate `(guild, seq)` like [`Db::append_event`], and with 503
    /// ([`lease_lost`]) when a lease was lost.
    pub async fn append_events(&self, rows: &[LogAppend], fences: &[LeaseFence]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if !fenced!(tx, fences) {
                return Err(lease_lost());
            }
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO guild_events (guild_id, seq, event, hash, channel_id, object_id, created_at) ");
            qb.push_values(rows, |mut b, r| {
                b.push_bind(r.guild_id).push_bind(r.seq).push_bind(&r.event).push_bind(&r.hash)
                    .push_bind(r.channel_id).push_bind(r.object_id).push_bind(r.created_at);
            });
            // Group sizes vary: keep these one-off statements out of the statement cache.
            qb.build().persistent(false).execute(&mut *tx).await?;
            scrub_appended!(tx, rows);
            tx.commit().await
        })?;
        Ok(())
    }

    /// `(seq, event)` of a replica's applied events about a (local) message.
    pub async fn replica_events_about(
        &self,
        guild_id: i64,
        object_id: i64,
    ) -> Result<Vec<(i64, String)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT seq, event FROM replica_events WHERE guild_id = $1 AND object_id = $2")
            .bind(guild_id).bind(object_id).fetch_all(p).await)?,
        )
    }

    /// `(seq, event)` of a replica's applied events about replies to a (local) message.
    pub async fn replica_events_of_replies(
        &self,
        guild_id: i64,
        message_id: i64,
    ) -> Result<Vec<(i64, String)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT seq, event FROM replica_events WHERE guild_id = $1 AND object_id IN (SELECT id FROM messages WHERE reference_message_id = $2)")
            .bind(guild_id).bind(message_id).fetch_all(p).await)?,
        )
    }

    /// `(seq, event)` of a replica's applied events about messages of a (local) channel.
    pub async fn replica_events_of_channel(
        &self,
        guild_id: i64,
        channel_id: i64,
    ) -> Result<Vec<(i64, String)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT seq, event FROM replica_events WHERE guild_id = $1 AND object_id IN (SELECT id FROM messages WHERE channel_id = $2)")
            .bind(guild_id).bind(channel_id).fetch_all(p).await)?,
        )
    }

    pub async fn replace_replica_event(&self, guild_id: i64, seq: i64, event: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE replica_events SET event = $1 WHERE guild_id = $2 AND seq = $3")
            .bind(event).bind(guild_id).bind(seq).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Local (home-server) members of a guild.
    pub async fn local_member_count(&self, guild_id: i64) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM members m JOIN users u ON u.id = m.user_id WHERE m.guild_id = $1 AND u.home_server IS NULL")
            .bind(guild_id).fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Forgets a replica (its guild rows cascade; the id map stays, so a rejoin reuses ids)
    /// and, in the same transaction, releases the files of it cached here (the ledger rows
    /// under its guild: attachments, emoji, icon, banner, splash). Returns how many.
    pub async fn drop_replica(&self, guild_id: i64) -> Result<u64> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let released = sqlx::query("UPDATE media_blobs SET released_at = $1 WHERE guild_id = $2 AND released_at IS NULL")
                .bind(super::now_ms()).bind(guild_id).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM remote_guilds WHERE guild_id = $1").bind(guild_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM replica_events WHERE guild_id = $1").bind(guild_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM messages WHERE guild_id = $1").bind(guild_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM guilds WHERE id = $1").bind(guild_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(released)
        })
    }

    /// Stores the answer to a relayed action under `(origin, txn_id)` (spec/federation.md
    /// §6.6): fills in the record its first change wrote, or creates it for an action that
    /// changed nothing logged (typing, a reaction already there).
    pub async fn finish_txn(&self, origin: &str, txn_id: &str, result: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO federation_txns (origin, txn_id, result, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (origin, txn_id) DO UPDATE SET result = excluded.result")
            .bind(origin).bind(txn_id).bind(result).bind(super::now_ms()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Forgets the records of relayed actions created before `before` (ms); returns how many.
    pub async fn prune_txns(&self, before: i64) -> Result<u64> {
        Ok(
            on_db!(self, p => sqlx::query("DELETE FROM federation_txns WHERE created_at < $1")
            .bind(before).execute(p).await.map(|r| r.rows_affected()))?,
        )
    }

    /// `(seq, hash)` of the newest event of a guild's log.
    pub async fn log_head(&self, guild_id: i64) -> Result<Option<(i64, String)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT seq, hash FROM guild_events WHERE guild_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(guild_id).fetch_optional(p).await)?,
        )
    }

    /// Events with `seq > after`, ascending, at most `limit`.
    pub async fn log_range(&self, guild_id: i64, after: i64, limit: i64) -> Result<Vec<LogRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT seq, event, hash, channel_id FROM guild_events WHERE guild_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(guild_id).bind(after).bind(limit).fetch_all(p).await)?,
        )
    }

    // ---- host: peers -----------------------------------------------------------------

    /// Adds a member server at `acked` (no-op when it is already a peer).
    pub async fn add_peer(&self, guild_id: i64, server: &str, acked: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO guild_peers (guild_id, server, acked_seq, since_seq) VALUES ($1, $2, $3, $3) ON CONFLICT (guild_id, server) DO UPDATE SET final_seq = NULL")
            .bind(guild_id).bind(server).bind(acked).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn peer(&self, guild_id: i64, server: &str) -> Result<Option<PeerRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM guild_peers WHERE guild_id = $1 AND server = $2")
            .bind(guild_id).bind(server).fetch_optional(p).await)?,
        )
    }

    pub async fn peers_of_guild(&self, guild_id: i64) -> Result<Vec<PeerRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM guild_peers WHERE guild_id = $1 ORDER BY server")
            .bind(guild_id).fetch_all(p).await)?,
        )
    }

    pub async fn peers_of_server(&self, server: &str) -> Result<Vec<PeerRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM guild_peers WHERE server = $1 ORDER BY guild_id")
            .bind(server).fetch_all(p).await)?,
        )
    }

    /// Every server that is a peer of at least one hosted guild.
    pub async fn peer_servers(&self) -> Result<Vec<String>> {
        let r: Vec<(String,)> = on_db!(self, p => sqlx::query_as("SELECT DISTINCT server FROM guild_peers ORDER BY server").fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    /// Records delivery up to `seq` (never moves backwards), clears the guild's failure state
    /// and counts the attempt.
    pub async fn peer_acked(&self, guild_id: i64, server: &str, seq: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE guild_peers SET acked_seq = CASE WHEN acked_seq > $1 THEN acked_seq ELSE $1 END, failures = 0, next_attempt_at = 0, push_attempts = push_attempts + 1 WHERE guild_id = $2 AND server = $3")
            .bind(seq).bind(guild_id).bind(server).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Marks the last event a departing server still receives.
    pub async fn set_peer_final(
        &self,
        guild_id: i64,
        server: &str,
        seq: Option<i64>,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE guild_peers SET final_seq = $1 WHERE guild_id = $2 AND server = $3")
            .bind(seq).bind(guild_id).bind(server).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Drops a member server of a guild; the guild stops keeping a log (no more outbox
    /// entries) when it was the last one.
    pub async fn remove_peer(&self, guild_id: i64, server: &str) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("DELETE FROM guild_peers WHERE guild_id = $1 AND server = $2")
                .bind(guild_id).bind(server).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM federated_guilds WHERE guild_id = $1 AND NOT EXISTS (SELECT 1 FROM guild_peers WHERE guild_id = $1)")
                .bind(guild_id).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// How many members of a guild have `server` as their home server.
    pub async fn members_from(&self, guild_id: i64, server: &str) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM members m JOIN users u ON u.id = m.user_id WHERE m.guild_id = $1 AND u.home_server = $2")
            .bind(guild_id).bind(server).fetch_one(p).await)?;
        Ok(r.0)
    }

    /// User ids of a guild's members whose home is `server`.
    pub async fn member_ids_from(&self, guild_id: i64, server: &str) -> Result<Vec<i64>> {
        let r: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id WHERE m.guild_id = $1 AND u.home_server = $2")
            .bind(guild_id).bind(server).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    // ---- host: origin transactions ---------------------------------------------------

    /// The record of a relayed action, if it ran (see [`TxnRecord`]).
    pub async fn txn_record(&self, origin: &str, txn_id: &str) -> Result<Option<TxnRecord>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT result, executed, created_at FROM federation_txns WHERE origin = $1 AND txn_id = $2")
            .bind(origin).bind(txn_id).fetch_optional(p).await)?,
        )
    }

    // ---- member side: replicas ---------------------------------------------------------

    pub async fn remote_guild(&self, guild_id: i64) -> Result<Option<RemoteGuildRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM remote_guilds WHERE guild_id = $1").bind(guild_id).fetch_optional(p).await)?,
        )
    }

    /// Every replica kept here.
    pub async fn remote_guilds(&self) -> Result<Vec<RemoteGuildRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM remote_guilds ORDER BY guild_id").fetch_all(p).await)?,
        )
    }

    pub async fn remote_guild_by_host(
        &self,
        host: &str,
        host_guild_id: i64,
    ) -> Result<Option<RemoteGuildRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM remote_guilds WHERE host = $1 AND host_guild_id = $2")
            .bind(host).bind(host_guild_id).fetch_optional(p).await)?,
        )
    }

    /// Creates a replica: the guild row (with `host_server`) and its `remote_guilds` row.
    pub async fn insert_replica(
        &self,
        g: &GuildRow,
        host: &str,
        host_guild_id: i64,
        seq: i64,
        hash: Option<&str>,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("INSERT INTO guilds (id, name, icon, description, owner_id, system_channel_id, verification_level, default_message_notifications, explicit_content_filter, preferred_locale, created_at, host_server, banner, splash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, icon = excluded.icon, description = excluded.description, owner_id = excluded.owner_id, system_channel_id = excluded.system_channel_id, banner = excluded.banner, splash = excluded.splash")
                .bind(g.id).bind(&g.name).bind(&g.icon).bind(&g.description).bind(g.owner_id).bind(g.system_channel_id)
                .bind(g.verification_level).bind(g.default_message_notifications).bind(g.explicit_content_filter)
                .bind(&g.preferred_locale).bind(g.created_at).bind(host).bind(&g.banner).bind(&g.splash).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO remote_guilds (guild_id, host, host_guild_id, applied_seq, last_hash) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (guild_id) DO NOTHING")
                .bind(g.id).bind(host).bind(host_guild_id).bind(seq).bind(hash).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Sets a replica's banner and splash hashes (as its host's `GUILD_UPDATE` says).
    pub async fn set_replica_art(
        &self,
        guild_id: i64,
        banner: Option<&str>,
        splash: Option<&str>,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE guilds SET banner = $1, splash = $2 WHERE id = $3 AND host_server IS NOT NULL")
            .bind(banner).bind(splash).bind(guild_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Makes a replica's emoji exactly `emojis` (with their roles), in one transaction:
    /// others are deleted (and their images cached here released), known ones renamed and
    /// re-roled (their image key and creator kept), new ones inserted. Roles the replica does
    /// not have are skipped. Returns how many cached images it released.
    pub async fn replace_replica_emojis(
        &self,
        guild_id: i64,
        emojis: &[super::Emoji],
    ) -> Result<u64> {
        let keep = emojis
            .iter()
            .map(|e| e.row.id.to_string())
            .chain(std::iter::once("0".to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let del = format!("DELETE FROM emojis WHERE guild_id = $1 AND id NOT IN ({keep})");
        let release = format!(
            "UPDATE media_blobs SET released_at = $1 WHERE released_at IS NULL AND blob_key IN (SELECT blob_key FROM emojis WHERE guild_id = $2 AND id NOT IN ({keep}))"
        );
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let released = sqlx::query(sqlx::AssertSqlSafe(release.as_str())).persistent(false)
                .bind(super::now_ms()).bind(guild_id).execute(&mut *tx).await?.rows_affected();
            sqlx::query(sqlx::AssertSqlSafe(del.as_str())).persistent(false).bind(guild_id).execute(&mut *tx).await?;
            for e in emojis {
                let r = &e.row;
                sqlx::query("INSERT INTO emojis (id, guild_id, name, user_id, animated, blob_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (id) DO UPDATE SET name = excluded.name")
                    .bind(r.id).bind(guild_id).bind(&r.name).bind(r.user_id).bind(r.animated).bind(&r.blob_key).bind(r.created_at)
                    .execute(&mut *tx).await?;
                sqlx::query("DELETE FROM emoji_roles WHERE emoji_id = $1").bind(r.id).execute(&mut *tx).await?;
                for role in &e.roles {
                    sqlx::query("INSERT INTO emoji_roles (emoji_id, role_id) SELECT $1, id FROM roles WHERE id = $2 AND guild_id = $3")
                        .bind(r.id).bind(role).bind(guild_id).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(released)
        })
    }

    /// Advances replica `guild_id` from `seq - 1` to `seq`; `false` (nothing written) when
    /// it is no longer at `seq - 1` (another applier moved it).
    pub async fn set_applied(&self, guild_id: i64, seq: i64, hash: &str) -> Result<bool> {
        let r = on_db!(self, p => sqlx::query("UPDATE remote_guilds SET applied_seq = $1, last_hash = $2 WHERE guild_id = $3 AND applied_seq = $1 - 1")
            .bind(seq).bind(hash).bind(guild_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    /// `(hash, event JSON)` of an applied event of a replica.
    /// The stored events (JSON) of replica `guild_id` after `after`, in order, at most `limit`.
    pub async fn replica_events_after(
        &self,
        guild_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        let r: Vec<(String,)> = on_db!(self, p => sqlx::query_as("SELECT event FROM replica_events WHERE guild_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(guild_id).bind(after).bind(limit).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    pub async fn replica_event(&self, guild_id: i64, seq: i64) -> Result<Option<(String, String)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT hash, event FROM replica_events WHERE guild_id = $1 AND seq = $2")
            .bind(guild_id).bind(seq).fetch_optional(p).await)?,
        )
    }

    pub async fn record_replica_event(
        &self,
        guild_id: i64,
        seq: i64,
        hash: &str,
        event: &str,
        object_id: Option<i64>,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO replica_events (guild_id, seq, hash, event, object_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
            .bind(guild_id).bind(seq).bind(hash).bind(event).bind(object_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Applies a run of consecutive replica events in ONE transaction (spec/federation.md
    /// §8) with a handful of statements whatever its length: the position moves from
    /// `from_seq` to the last event's `(seq, hash)`; the messages the events carry are
    /// upserted with their attachment rows (only in channels that exist, keeping an existing
    /// pin time, in event order),
    /// each channel's `last_message_id` moves forward; the events are recorded. The cached
    /// files of attachments an edit removed are released
    /// ([`super::attachments::upsert_replica_attachments`]).
    ///
    /// Returns how many cached files it released, or `None` (and writes nothing) when the
    /// replica is no longer at `from_seq` (dropped or moved by someone else). Errors roll the
    /// whole run back; the caller then applies the events one by one.
    pub async fn apply_replica_run(
        &self,
        guild_id: i64,
        from_seq: i64,
        run: &[ReplicaApply],
    ) -> Result<Option<u64>> {
        let Some(last) = run.last() else {
            return Ok(Some(0));
        };
        let now = super::now_ms();
        let mut released = 0;
        // The channels of the run's messages (a message is stored only in a known channel),
        // and each message's newest id per channel for `last_message_id`.
        let channels: std::collections::BTreeSet<i64> = run
            .iter()
            .filter_map(|e| e.message.as_ref().map(|m| m.channel_id))
            .collect();
        let list = channels
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let known_q = format!("SELECT id FROM channels WHERE id IN ({list})");
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            // The position first: it takes the write lock and checks nobody moved it.
            let n = sqlx::query("UPDATE remote_guilds SET applied_seq = $1, last_hash = $2 WHERE guild_id = $3 AND applied_seq = $4")
                .bind(last.seq).bind(&last.hash).bind(guild_id).bind(from_seq).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Ok(None);
            }
            let known: Vec<(i64,)> = if channels.is_empty() {
                vec![]
            } else {
                sqlx::query_as(sqlx::AssertSqlSafe(known_q.as_str())).persistent(false).fetch_all(&mut *tx).await?
            };
            let known: std::collections::HashSet<i64> = known.into_iter().map(|r| r.0).collect();
            let rows: Vec<&MessageRow> = run
                .iter()
                .filter_map(|e| e.message.as_ref())
                .filter(|m| known.contains(&m.channel_id))
                .collect();
            // One upsert per chunk of distinct ids (an upsert may not touch a row twice).
            let mut newest: std::collections::BTreeMap<i64, i64> = Default::default();
            let mut start = 0;
            while start < rows.len() {
                let mut ids = std::collections::HashSet::new();
                let mut end = start;
                while end < rows.len() && ids.insert(rows[end].id) {
                    end += 1;
                }
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO messages (id, channel_id, guild_id, author_id, content, embeds, kind, flags, tts, mention_everyone, mentions, mention_roles, reference_message_id, reference_channel_id, reference_guild_id, nonce, edited_at, pinned_at, webhook_id, webhook_name, webhook_avatar, interaction, components, poll, poll_open_until) ");
                qb.push_values(&rows[start..end], |mut b, m| {
                    b.push_bind(m.id).push_bind(m.channel_id).push_bind(m.guild_id).push_bind(m.author_id)
                        .push_bind(&m.content).push_bind(&m.embeds).push_bind(m.kind).push_bind(m.flags)
                        .push_bind(m.tts).push_bind(m.mention_everyone).push_bind(&m.mentions)
                        .push_bind(&m.mention_roles).push_bind(m.reference_message_id)
                        .push_bind(m.reference_channel_id).push_bind(m.reference_guild_id)
                        .push_bind(&m.nonce).push_bind(m.edited_at).push_bind(m.pinned_at)
                        .push_bind(m.webhook_id).push_bind(&m.webhook_name).push_bind(&m.webhook_avatar)
                        .push_bind(&m.interaction).push_bind(&m.components)
                        .push_bind(&m.poll).push_bind(m.poll_open_until);
                });
                // An update keeps an existing pin time (the host says only whether it is pinned).
                qb.push(" ON CONFLICT (id) DO UPDATE SET content = excluded.content, embeds = excluded.embeds, flags = excluded.flags, mention_everyone = excluded.mention_everyone, mentions = excluded.mentions, mention_roles = excluded.mention_roles, edited_at = excluded.edited_at, components = excluded.components, poll = excluded.poll, poll_open_until = excluded.poll_open_until,
                    pinned_at = CASE WHEN excluded.pinned_at IS NULL THEN NULL ELSE COALESCE(messages.pinned_at, excluded.pinned_at) END");
                // Run sizes vary: keep these one-off statements out of the statement cache.
                qb.build().persistent(false).execute(&mut *tx).await?;
                // Their attachments as the host lists them now (an edit may have removed some).
                released += super::attachments::upsert_replica_attachments!(tx, &rows[start..end], now);
                for m in &rows[start..end] {
                    let e = newest.entry(m.channel_id).or_insert(m.id);
                    *e = (*e).max(m.id);
                }
                start = end;
            }
            for (channel_id, id) in newest {
                sqlx::query("UPDATE channels SET last_message_id = $1 WHERE id = $2 AND (last_message_id IS NULL OR last_message_id < $1)")
                    .bind(id).bind(channel_id).execute(&mut *tx).await?;
            }
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO replica_events (guild_id, seq, hash, event, object_id) ");
            qb.push_values(run, |mut b, e| {
                b.push_bind(guild_id).push_bind(e.seq).push_bind(&e.hash).push_bind(&e.event).push_bind(e.object_id);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().persistent(false).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(released))
        })
    }

    pub async fn insert_equivocation(
        &self,
        id: i64,
        host: &str,
        host_guild_id: i64,
        seq: i64,
        proof: &str,
        now: i64,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO equivocations (id, host, host_guild_id, seq, proof, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id).bind(host).bind(host_guild_id).bind(seq).bind(proof).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// `(host, host guild id, seq, proof JSON)` of every recorded equivocation.
    pub async fn equivocations(&self) -> Result<Vec<(String, i64, i64, String)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT host, host_guild_id, seq, proof FROM equivocations ORDER BY id").fetch_all(p).await)?,
        )
    }

    // ---- id map ----------------------------------------------------------------------

    /// The account `remote_id` of `server` is mapped to, if that account was deleted (its
    /// `deleted_at` set: a local account anonymised here, or a remote one whose home's notice
    /// was applied).
    pub async fn mapped_deleted_user(&self, server: &str, remote_id: i64) -> Result<Option<i64>> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT u.id FROM id_map m JOIN users u ON u.id = m.local_id \
             WHERE m.server = $1 AND m.remote_id = $2 AND u.deleted_at IS NOT NULL")
            .bind(server).bind(remote_id).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    pub async fn map_get(&self, server: &str, remote_id: i64) -> Result<Option<i64>> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT local_id FROM id_map WHERE server = $1 AND remote_id = $2")
            .bind(server).bind(remote_id).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// Maps `remote_id` to `local_id` unless it is mapped already; returns the mapping in force.
    pub async fn map_put(&self, server: &str, remote_id: i64, local_id: i64) -> Result<i64> {
        // One statement when the mapping is new (RETURNING yields the inserted row); an
        // existing mapping is read back.
        let inserted: Option<(i64,)> = on_db!(self, p => sqlx::query_as("INSERT INTO id_map (server, remote_id, local_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING local_id")
            .bind(server).bind(remote_id).bind(local_id).fetch_optional(p).await)?;
        if let Some((l,)) = inserted {
            return Ok(l);
        }
        Ok(self.map_get(server, remote_id).await?.unwrap_or(local_id))
    }

    /// Whether a local id is already the image of some mapped id.
    pub async fn local_id_taken(&self, local_id: i64) -> Result<bool> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT local_id FROM id_map WHERE local_id = $1 LIMIT 1")
            .bind(local_id).fetch_optional(p).await)?;
        Ok(r.is_some())
    }

    /// The id in `server`'s id space of a local id.
    pub async fn map_reverse(&self, server: &str, local_id: i64) -> Result<Option<i64>> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT remote_id FROM id_map WHERE server = $1 AND local_id = $2 LIMIT 1")
            .bind(server).bind(local_id).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// A remote user by handle parts.
    pub async fn remote_user(&self, server: &str, username: &str) -> Result<Option<UserRow>> {
        let key = format!("{}@{}", username.to_lowercase(), server.to_lowercase());
        let q = format!(
            "SELECT {} FROM users WHERE username_lower = $1",
            super::users::USER_COLS
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(&key).fetch_optional(p).await)?,
        )
    }

    /// A local user by username (exact, case-insensitive).
    pub async fn local_user(&self, username: &str) -> Result<Option<UserRow>> {
        let q = format!(
            "SELECT {} FROM users WHERE username_lower = $1 AND home_server IS NULL",
            super::users::USER_COLS
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(username.to_lowercase()).fetch_optional(p).await)?,
        )
    }

    /// Updates a remote user's profile fields. When the avatar changes from `old_avatar`
    /// (the row as the caller read it), the old image cached here (`avatars/{id}/{old}`) is
    /// released in the same transaction. Returns how many cached files it released.
    pub async fn update_remote_profile(
        &self,
        id: i64,
        global_name: Option<&str>,
        avatar: Option<&str>,
        old_avatar: Option<&str>,
    ) -> Result<u64> {
        let gone = old_avatar
            .filter(|old| Some(*old) != avatar)
            .map(|old| format!("avatars/{id}/{old}"));
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("UPDATE users SET global_name = $1, avatar = $2 WHERE id = $3 AND home_server IS NOT NULL")
                .bind(global_name).bind(avatar).bind(id).execute(&mut *tx).await?;
            let mut released = 0;
            if let Some(key) = &gone {
                released = sqlx::query("UPDATE media_blobs SET released_at = $1 WHERE blob_key = $2 AND released_at IS NULL")
                    .bind(super::now_ms()).bind(key).execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(released)
        })
    }

    // ---- member side: replica upserts --------------------------------------------------

    pub async fn upsert_role(&self, r: &RoleRow) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO roles (id, guild_id, name, color, hoist, position, permissions, managed, mentionable, bot_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, color = excluded.color, hoist = excluded.hoist, position = excluded.position, permissions = excluded.permissions, managed = excluded.managed, mentionable = excluded.mentionable")
            .bind(r.id).bind(r.guild_id).bind(&r.name).bind(r.color).bind(r.hoist).bind(r.position).bind(r.permissions).bind(r.managed).bind(r.mentionable).bind(r.bot_id)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Inserts or updates a channel and replaces its overwrites.
    pub async fn upsert_channel(&self, c: &ChannelRow, overwrites: &[OverwriteRow]) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("INSERT INTO channels (id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user, bitrate, user_limit, last_pin_timestamp, created_at, flags, forum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                ON CONFLICT (id) DO UPDATE SET type = excluded.type, name = excluded.name, topic = excluded.topic, position = excluded.position, parent_id = excluded.parent_id, nsfw = excluded.nsfw, rate_limit_per_user = excluded.rate_limit_per_user, bitrate = excluded.bitrate, user_limit = excluded.user_limit, flags = excluded.flags, forum = excluded.forum")
                .bind(c.id).bind(c.guild_id).bind(c.kind).bind(&c.name).bind(&c.topic).bind(c.position).bind(c.parent_id).bind(c.nsfw)
                .bind(c.rate_limit_per_user).bind(c.bitrate).bind(c.user_limit).bind(c.last_pin_timestamp).bind(c.created_at)
                .bind(c.flags).bind(&c.forum).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM overwrites WHERE channel_id = $1").bind(c.id).execute(&mut *tx).await?;
            for o in overwrites {
                sqlx::query("INSERT INTO overwrites (channel_id, target_id, kind, allow_bits, deny_bits) VALUES ($1, $2, $3, $4, $5)")
                    .bind(c.id).bind(o.target_id).bind(o.kind).bind(o.allow_bits).bind(o.deny_bits).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn set_last_pin(&self, channel_id: i64, ts: Option<i64>) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE channels SET last_pin_timestamp = $1 WHERE id = $2").bind(ts).bind(channel_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Inserts or replaces a member with exactly these roles.
    pub async fn upsert_member(
        &self,
        guild_id: i64,
        user_id: i64,
        nick: Option<&str>,
        joined_at: i64,
        roles: &[i64],
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("INSERT INTO members (guild_id, user_id, nick, joined_at) VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id, user_id) DO UPDATE SET nick = excluded.nick")
                .bind(guild_id).bind(user_id).bind(nick).bind(joined_at).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2").bind(guild_id).bind(user_id).execute(&mut *tx).await?;
            for r in roles {
                sqlx::query("INSERT INTO member_roles (guild_id, user_id, role_id) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM roles WHERE id = $3)")
                    .bind(guild_id).bind(user_id).bind(r).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Inserts or replaces a message with its attachment rows (replicas store what the host
    /// says; see [`super::attachments::upsert_replica_attachments`] for the files of removed
    /// attachments). Returns how many cached files it released.
    pub async fn upsert_message(&self, m: &MessageRow) -> Result<u64> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("INSERT INTO messages (id, channel_id, guild_id, author_id, content, embeds, kind, flags, tts, mention_everyone, mentions, mention_roles, reference_message_id, reference_channel_id, reference_guild_id, nonce, edited_at, pinned_at, webhook_id, webhook_name, webhook_avatar, interaction, components, poll, poll_open_until)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
                ON CONFLICT (id) DO UPDATE SET content = excluded.content, embeds = excluded.embeds, flags = excluded.flags, mention_everyone = excluded.mention_everyone, mentions = excluded.mentions, mention_roles = excluded.mention_roles, edited_at = excluded.edited_at, pinned_at = excluded.pinned_at, components = excluded.components, poll = excluded.poll, poll_open_until = excluded.poll_open_until")
                .bind(m.id).bind(m.channel_id).bind(m.guild_id).bind(m.author_id).bind(&m.content).bind(&m.embeds)
                .bind(m.kind).bind(m.flags).bind(m.tts).bind(m.mention_everyone).bind(&m.mentions).bind(&m.mention_roles)
                .bind(m.reference_message_id).bind(m.reference_channel_id).bind(m.reference_guild_id).bind(&m.nonce)
                .bind(m.edited_at).bind(m.pinned_at).bind(m.webhook_id).bind(&m.webhook_name).bind(&m.webhook_avatar)
                .bind(&m.interaction).bind(&m.components).bind(&m.poll).bind(m.poll_open_until)
                .execute(&mut *tx).await?;
            // Its attachments as the host lists them now (an edit may have removed some).
            let released = super::attachments::upsert_replica_attachments!(tx, std::slice::from_ref(m), super::now_ms());
            sqlx::query("UPDATE channels SET last_message_id = $1 WHERE id = $2 AND (last_message_id IS NULL OR last_message_id < $1)").bind(m.id).bind(m.channel_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(released)
        })
    }

    pub async fn upsert_ban(
        &self,
        guild_id: i64,
        user_id: i64,
        reason: Option<&str>,
        now: i64,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO bans (guild_id, user_id, reason, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id, user_id) DO UPDATE SET reason = excluded.reason")
            .bind(guild_id).bind(user_id).bind(reason).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
