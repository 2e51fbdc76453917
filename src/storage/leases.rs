//! Leases shared by the nodes of one deployment (migration 0035, `node_leases`): snowflake
//! worker ids, background jobs that run on one node at a time and guild sequencers
//! (ARCHITECTURE.md "Nodes and leases"). A lease is taken or renewed by one atomic upsert
//! whose condition is "nobody else holds it unexpired"; its fencing `token` rises every time
//! it is taken afresh (another holder, or after it lapsed), never on a renewal.

use super::{Db, on_db};
use crate::error::Result;

/// A row of `node_leases`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaseRow {
    pub name: String,
    pub holder: String,
    pub token: i64,
    /// When it lapses unless renewed (ms).
    pub expires_at: i64,
}

/// The most lease names [`Db::renew_leases`] renews in one statement.
pub const RENEW_BATCH: usize = 1000;

/// The upsert that takes or renews a lease: `$1` name, `$2` holder, `$3` new expiry, `$4`
/// now. Returns the token when `$2` holds the lease afterwards, no row otherwise.
const TAKE: &str = "INSERT INTO node_leases (name, holder, token, expires_at) VALUES ($1, $2, 1, $3) \
     ON CONFLICT (name) DO UPDATE SET \
       token = CASE WHEN node_leases.holder = excluded.holder AND node_leases.expires_at > $4 \
                    THEN node_leases.token ELSE node_leases.token + 1 END, \
       holder = excluded.holder, expires_at = excluded.expires_at \
     WHERE node_leases.holder = excluded.holder OR node_leases.expires_at <= $4 \
     RETURNING token";

impl Db {
    /// Takes or renews lease `name` for `holder` until `expires_at` (ms), if nobody else
    /// holds it unexpired at `now` (ms): its fencing token, or `None` when another node
    /// holds it. One statement, so two nodes racing for a free lease cannot both win.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Option<i64>> {
        Ok(on_db!(self, p => sqlx::query_scalar(TAKE)
            .bind(name).bind(holder).bind(expires_at).bind(now)
            .fetch_optional(p).await)?)
    }

    /// Renews, in one statement, every lease of `names` that `holder` holds unexpired at
    /// `now` (ms), until `expires_at` (ms): the names renewed with their tokens (unchanged:
    /// a renewal never moves a token). A name missing from the answer was lost or lapsed;
    /// it can only be taken afresh ([`Db::take_lease`]). Callers pass at most
    /// [`RENEW_BATCH`] names.
    pub async fn renew_leases(
        &self,
        names: &[String],
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Vec<(String, i64)>> {
        let list = serde_json::Value::from(names).to_string();
        let sql = if self.is_postgres() {
            "UPDATE node_leases SET expires_at = $3 WHERE holder = $1 AND expires_at > $2 \
             AND name IN (SELECT jsonb_array_elements_text($4::jsonb)) RETURNING name, token"
        } else {
            "UPDATE node_leases SET expires_at = $3 WHERE holder = $1 AND expires_at > $2 \
             AND name IN (SELECT value FROM json_each($4)) RETURNING name, token"
        };
        Ok(on_db!(self, p => sqlx::query_as(sql)
            .bind(holder).bind(now).bind(expires_at).bind(&list)
            .fetch_all(p).await)?)
    }

    /// Takes the first free snowflake worker lease (`worker:N`, N from 0 to `count - 1`)
    /// for `holder` until `expires_at`: `(N, token)`, or `None` when all are held.
    pub async fn take_worker_lease(
        &self,
        holder: &str,
        count: u16,
        now: i64,
        expires_at: i64,
    ) -> Result<Option<(u16, i64)>> {
        let held: Vec<String> = on_db!(self, p => sqlx::query_scalar(
            "SELECT name FROM node_leases WHERE name LIKE 'worker:%' AND expires_at > $1 AND holder <> $2")
            .bind(now).bind(holder).fetch_all(p).await)?;
        for n in 0..count {
            let name = format!("worker:{n}");
            if held.contains(&name) {
                continue;
            }
            // Another node may have taken it since the read: the upsert decides.
            if let Some(token) = self.take_lease(&name, holder, now, expires_at).await? {
                return Ok(Some((n, token)));
            }
        }
        Ok(None)
    }

    /// Gives up lease `name` if `holder` holds it (it lapses at once; the row and its token
    /// stay, so the next holder's token is higher).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "UPDATE node_leases SET expires_at = 0 WHERE name = $1 AND holder = $2")
            .bind(name).bind(holder).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Gives up every lease of `holder` (a node's graceful shutdown).
    pub async fn release_leases_of(&self, holder: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE node_leases SET expires_at = 0 WHERE holder = $1")
            .bind(holder).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Raises by one the fencing token of every lease `holder` holds (a node id's jobs,
    /// sequencers and deliveries, when a process takes the node id's claim over): writes
    /// fenced by the tokens a previous process of that id held fail from then on. One
    /// statement; expiries and holders are unchanged.
    pub async fn raise_lease_tokens(&self, holder: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE node_leases SET token = token + 1 WHERE holder = $1")
            .bind(holder).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Every lease whose name starts with `prefix`, by name (operators, tests).
    pub async fn leases(&self, prefix: &str) -> Result<Vec<LeaseRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT name, holder, token, expires_at FROM node_leases \
             WHERE substr(name, 1, length($1)) = $1 ORDER BY name")
            .bind(prefix).fetch_all(p).await)?)
    }
}

/// The lease a write must still hold when it commits (a guild sequencer's): checked by
/// [`fenced!`] inside the write's own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseFence {
    pub name: String,
    pub holder: String,
    pub token: i64,
}

/// Inside an open transaction `$tx`: whether every [`LeaseFence`] of `$fences` is still held
/// unexpired with its token. Each check locks the lease row (a no-op `UPDATE`) until the
/// transaction ends, so on PostgreSQL another node's takeover waits for the commit, and on
/// SQLite the writer lock already orders them: a holder that lost the lease (paused past
/// its expiry, then taken over) cannot commit a write fenced by its old token.
macro_rules! fenced {
    ($tx:expr, $fences:expr) => {{
        let now = $crate::storage::now_ms();
        let mut held = true;
        for f in $fences {
            let r = sqlx::query(
                "UPDATE node_leases SET token = token \
                 WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > $4",
            )
            .bind(&f.name)
            .bind(&f.holder)
            .bind(f.token)
            .bind(now)
            .execute(&mut *$tx)
            .await?;
            if r.rows_affected() != 1 {
                held = false;
                break;
            }
        }
        held
    }};
}
pub(crate) use fenced;

/// The error of a fenced write whose lease was lost (503: another node took over).
pub fn lease_lost() -> crate::error::Error {
    crate::error::Error::Unavailable("a sequencer lease was lost to another node".into())
}
