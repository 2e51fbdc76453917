//! The registrar changes of a cluster's nodes on Redis (spec/cluster.md §1, README
//! "Scale-out"): each node adds the guilds and users its changes touched to two sets, and the
//! node running the registrar sync pops them every second.

use super::Cluster;

/// Guilds (and users) taken per [`RedisRegistrarMarks::take`].
pub const REGISTRAR_MARKS_TAKEN: usize = 1000;

/// What the registrar sync must look at again: `P regsync:g` and `P regsync:u` (sets of
/// ids) and `P regsync:full` (a string: a full sync is due).
pub struct RedisRegistrarMarks {
    cluster: Cluster,
}

impl RedisRegistrarMarks {
    pub fn new(cluster: Cluster) -> RedisRegistrarMarks {
        RedisRegistrarMarks { cluster }
    }

    fn key(&self, part: &str) -> String {
        format!("{}regsync:{part}", self.cluster.prefix)
    }
}

impl RedisRegistrarMarks {
    /// Records guilds whose summaries and users whose handle cards may have changed, and
    /// (`full`) that a node missed some of its changes, so that a full sync is due. A
    /// failure is logged; the next full sync covers what it loses.
    pub async fn mark(&self, guilds: &[i64], users: &[i64], full: bool) {
        let mut pipe = redis::pipe();
        if !guilds.is_empty() {
            pipe.cmd("SADD").arg(self.key("g")).arg(guilds).ignore();
        }
        if !users.is_empty() {
            pipe.cmd("SADD").arg(self.key("u")).arg(users).ignore();
        }
        if full {
            pipe.cmd("SET").arg(self.key("full")).arg(1).ignore();
        }
        let mut con = self.cluster.conn.clone();
        if let Err(e) = pipe.query_async::<()>(&mut con).await {
            tracing::warn!(error = %e, "registrar: cannot record a change for the sync");
        }
    }

    /// Takes what was recorded: at most [`REGISTRAR_MARKS_TAKEN`] guilds and as many users,
    /// and whether a full sync is due. Nothing when Redis cannot be reached (logged).
    pub async fn take(&self) -> (Vec<i64>, Vec<i64>, bool) {
        let mut con = self.cluster.conn.clone();
        let taken: redis::RedisResult<(Vec<i64>, Vec<i64>, Option<String>)> = redis::pipe()
            .cmd("SPOP")
            .arg(self.key("g"))
            .arg(REGISTRAR_MARKS_TAKEN)
            .cmd("SPOP")
            .arg(self.key("u"))
            .arg(REGISTRAR_MARKS_TAKEN)
            .cmd("GETDEL")
            .arg(self.key("full"))
            .query_async(&mut con)
            .await;
        match taken {
            Ok((g, u, full)) => (g, u, full.is_some()),
            Err(e) => {
                tracing::warn!(error = %e, "registrar: cannot read the cluster's changes");
                (vec![], vec![], false)
            }
        }
    }
}
