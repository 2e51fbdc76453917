//! The federation outbox (spec/federation.md §8, migration 0008): a change to a hosted guild
//! with member servers stores its log entry in `guild_outbox` in the same transaction as the
//! change; the federation log writer later moves the entries, in `id` order, into the signed
//! log (`guild_events`) and deletes them, again in one transaction. Only guilds listed in
//! `federated_guilds` get entries.

use serde_json::Value;

use super::atomic::write_tx;
use super::federation::scrub_appended;
use super::{Db, LeaseFence, LogAppend, fenced, lease_lost, on_db};
use crate::error::Result;

/// A log entry to write with a change (see [`Db::insert_messages`]): the dispatch that
/// describes the change and who caused it. Serialized only if its guild is federated.
#[derive(Debug, Clone, Copy)]
pub struct OutboxItem<'a> {
    pub guild_id: i64,
    pub channel_id: Option<i64>,
    /// Gateway event name (`t`).
    pub event: &'a str,
    /// The payload (`d`).
    pub data: &'a Value,
    /// The acting local user.
    pub actor_id: Option<i64>,
    /// For an action relayed from another server: `(signed origin action, request content)`.
    pub origin: Option<&'a (Value, Value)>,
}

/// What a single-row change with a log entry did (see [`Db::update_message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// A row was changed.
    pub changed: bool,
    /// Its log entry was written to the outbox (the guild is federated).
    pub logged: bool,
}

/// One stored outbox entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub guild_id: i64,
    pub channel_id: Option<i64>,
    pub event: String,
    /// The payload, JSON.
    pub data: String,
    pub actor_id: Option<i64>,
    /// `[signed action, request content]`, JSON, for a relayed action.
    pub origin: Option<String>,
}

/// Inside an open transaction `$tx`: writes the entries of `$items` (a slice of
/// [`OutboxItem`]) whose guild is federated, in slice order; evaluates to the federated guild
/// ids (`Vec<i64>`). One statement when no guild of the items is federated (two on
/// PostgreSQL: first the guilds' shared join locks, see [`Db::federate_guild`]).
macro_rules! push_outbox {
    ($tx:expr, $items:expr) => {{
        let items: &[$crate::storage::OutboxItem<'_>] = $items;
        let mut guilds: Vec<i64> = items.iter().map(|i| i.guild_id).collect();
        guilds.sort_unstable();
        guilds.dedup();
        let federated: Vec<i64> = if guilds.is_empty() {
            vec![]
        } else {
            let list = guilds
                .iter()
                .map(|g| g.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let q = format!("SELECT guild_id FROM federated_guilds WHERE guild_id IN ({list})");
            if $crate::storage::outbox::is_postgres(&*$tx) {
                // The join locks are held to the commit, so that a guild cannot become
                // federated between the read and the commit ([`Db::federate_guild`] waits
                // for them). Two statements in one round trip: under READ COMMITTED the
                // read's snapshot is taken after the first statement holds the locks.
                let both = format!("{}; {q}", $crate::storage::outbox::shared_join_locks(&list));
                sqlx::raw_sql(sqlx::AssertSqlSafe(both))
                    .fetch_all(&mut *$tx)
                    .await?
                    .iter()
                    .filter_map(|r| sqlx::Row::try_get::<i64, _>(r, "guild_id").ok())
                    .collect()
            } else {
                sqlx::query_scalar(sqlx::AssertSqlSafe(q))
                    .persistent(false)
                    .fetch_all(&mut *$tx)
                    .await?
            }
        };
        let chosen: Vec<_> = items
            .iter()
            .filter(|i| federated.contains(&i.guild_id))
            .map(|i| {
                (
                    i,
                    i.data.to_string(),
                    i.origin
                        .map(|(a, r)| serde_json::json!([a, r]).to_string()),
                )
            })
            .collect();
        if !chosen.is_empty() {
            let now = $crate::storage::now_ms();
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO guild_outbox (guild_id, channel_id, event, data, actor_id, origin, created_at) ",
            );
            qb.push_values(&chosen, |mut b, (i, data, origin)| {
                b.push_bind(i.guild_id)
                    .push_bind(i.channel_id)
                    .push_bind(i.event)
                    .push_bind(data.as_str())
                    .push_bind(i.actor_id)
                    .push_bind(origin.as_deref())
                    .push_bind(now);
            });
            qb.build().persistent(false).execute(&mut *$tx).await?;
        }
        // A relayed action's `(origin, txn_id)` record, written by its first change in the
        // change's own transaction: it exists exactly when the action ran (federated guild
        // or not). Later changes of the same action find it and leave it.
        for (origin, txn_id, data) in $crate::storage::outbox::relayed_txns(items) {
            sqlx::query("INSERT INTO federation_txns (origin, txn_id, result, created_at, executed) VALUES ($1, $2, '', $3, $4) ON CONFLICT (origin, txn_id) DO NOTHING")
                .bind(origin)
                .bind(txn_id)
                .bind($crate::storage::now_ms())
                .bind(data)
                .execute(&mut *$tx)
                .await?;
        }
        federated
    }};
}

/// Whether a connection or transaction is PostgreSQL's (where [`push_outbox!`] takes the
/// guilds' join locks).
pub(crate) fn is_postgres<C: Backend + ?Sized>(_: &C) -> bool {
    C::POSTGRES
}

/// The backend of a connection or transaction, known from its type.
pub(crate) trait Backend {
    const POSTGRES: bool;
}

impl Backend for sqlx::PgConnection {
    const POSTGRES: bool = true;
}

impl Backend for sqlx::SqliteConnection {
    const POSTGRES: bool = false;
}

impl<DB: sqlx::Database> Backend for sqlx::Transaction<'_, DB>
where
    DB::Connection: Backend,
{
    const POSTGRES: bool = <DB::Connection as Backend>::POSTGRES;
}

/// PostgreSQL: takes the shared *join locks* (transaction-scoped advisory locks keyed by
/// guild id, the only advisory locks Hearth's own code takes; sqlx's migrator holds one of
/// its own key at start-up) of the guilds in `list` (ascending ids,
/// comma-separated), in ascending order so that two changes never wait on each other.
pub(crate) fn shared_join_locks(list: &str) -> String {
    format!(
        "SELECT count(pg_advisory_xact_lock_shared(g)) FROM \
         (SELECT g FROM unnest(ARRAY[{list}]::bigint[]) WITH ORDINALITY AS u(g, n) ORDER BY n) s"
    )
}

/// The distinct relayed actions among `items`, as `(origin, txn_id, payload of the action's
/// first item)`, in slice order (spec/federation.md §6.6: the record of an executed action).
pub(crate) fn relayed_txns<'a>(items: &[OutboxItem<'a>]) -> Vec<(&'a str, &'a str, String)> {
    let mut out: Vec<(&'a str, &'a str, String)> = Vec::new();
    for i in items {
        let Some((action, _)) = i.origin else {
            continue;
        };
        let (Some(origin), Some(txn)) = (action["origin"].as_str(), action["txn_id"].as_str())
        else {
            continue;
        };
        if !out.iter().any(|(o, t, _)| *o == origin && *t == txn) {
            // Without a reply's copy of its original (it would outlive the original's
            // deletion; spec §6.4).
            let mut data = i.data.clone();
            if let Some(d) = data.as_object_mut() {
                d.remove("referenced_message");
            }
            out.push((origin, txn, data.to_string()));
        }
    }
    out
}
pub(crate) use push_outbox;

impl Db {
    /// The oldest `limit` outbox entries, in `id` (commit) order.
    pub async fn outbox_take(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, guild_id, channel_id, event, data, actor_id, origin FROM guild_outbox ORDER BY id LIMIT $1")
            .bind(limit).fetch_all(p).await)?)
    }

    /// The guilds with outbox entries, by id.
    pub async fn outbox_guilds(&self) -> Result<Vec<i64>> {
        Ok(on_db!(self, p => sqlx::query_scalar(
            "SELECT DISTINCT guild_id FROM guild_outbox ORDER BY guild_id")
            .fetch_all(p).await)?)
    }

    /// The oldest `limit` outbox entries of `guild_id`, in `id` (commit) order.
    pub async fn outbox_take_guild(&self, guild_id: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, guild_id, channel_id, event, data, actor_id, origin FROM guild_outbox \
             WHERE guild_id = $1 ORDER BY id LIMIT $2")
            .bind(guild_id).bind(limit).fetch_all(p).await)?)
    }

    /// Writes one log entry to the outbox on its own (a dispatch that reached a node which
    /// is not its guild's sequencer: the sequencer moves it into the log). `false` when the
    /// guild is not federated (nothing written).
    pub async fn outbox_push(&self, item: OutboxItem<'_>) -> Result<bool> {
        let federated = on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let f = push_outbox!(tx, &[item]);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(f)
        })?;
        Ok(!federated.is_empty())
    }

    /// Appends `rows` to the guilds' logs and deletes the outbox entries `done`, in ONE
    /// transaction that first checks the sequencer leases of `fences` ([`fenced!`]): all or
    /// none. Fails on a duplicate `(guild, seq)` like [`Db::append_events`], with 503
    /// ([`lease_lost`]) when a lease was lost.
    pub async fn append_from_outbox(
        &self,
        rows: &[LogAppend],
        done: &[i64],
        fences: &[LeaseFence],
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if !fenced!(tx, fences) {
                return Err(lease_lost());
            }
            if !rows.is_empty() {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO guild_events (guild_id, seq, event, hash, channel_id, object_id, created_at) ");
                qb.push_values(rows, |mut b, r| {
                    b.push_bind(r.guild_id).push_bind(r.seq).push_bind(&r.event).push_bind(&r.hash)
                        .push_bind(r.channel_id).push_bind(r.object_id).push_bind(r.created_at);
                });
                qb.build().persistent(false).execute(&mut *tx).await?;
                scrub_appended!(tx, rows);
            }
            if !done.is_empty() {
                let list = done.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
                let q = format!("DELETE FROM guild_outbox WHERE id IN ({list})");
                sqlx::query(sqlx::AssertSqlSafe(q)).persistent(false).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }

    /// Marks a hosted guild as keeping a log (a server is joining it). When this returns,
    /// every change to the guild that committed without a log entry committed before it
    /// (and so is in the joiner's snapshot, taken after), and every later change writes its
    /// entry to the outbox (spec/federation.md §9.1). On PostgreSQL the insert waits, under
    /// the guild's exclusive join lock, for the changes that read `federated_guilds` under
    /// the shared one ([`push_outbox!`]) to end; SQLite serializes writes anyway.
    pub async fn federate_guild(&self, guild_id: i64) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if self.is_postgres() {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(guild_id).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO federated_guilds (guild_id) VALUES ($1) ON CONFLICT (guild_id) DO NOTHING")
                .bind(guild_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }

    /// Whether a hosted guild keeps a log.
    pub async fn is_federated_guild(&self, guild_id: i64) -> Result<bool> {
        let n: i64 = on_db!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM federated_guilds WHERE guild_id = $1")
            .bind(guild_id).fetch_one(p).await)?;
        Ok(n > 0)
    }
}
