//! Journals of dead nodes, read once per node for the sessions taken over from them
//! (spec/cluster.md §9.1).
//!
//! A node writes its sessions' frame items to one stream (`P sj:{node}`, its journal): a
//! round trip of its writer is one `XADD` for every session it served. When it dies,
//! thousands of its sessions RESUME on the other nodes within seconds, and each take-over
//! needs its own items from that stream: [`Journals`] reads a dead node's journal once per
//! node, indexes it by session, and serves every take-over from the index for [`KEPT`]. A
//! dead node writes nothing more, so the index is whole; a take-over that finds items
//! missing in an index read before it asks for a fresh read once before it gives up (the
//! index may predate the last writes of a node whose beat lapsed while it still ran), and
//! an index is read anew at most once per [`REREAD_AFTER`], so a burst of refused
//! take-overs does not read the journal once each.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::events::Handoff;

/// How long a journal's index serves take-overs after it was read.
pub const KEPT: Duration = Duration::from_secs(10);

/// An index younger than this is not read anew on request.
pub const REREAD_AFTER: Duration = Duration::from_secs(1);

/// A journal's items by session id, oldest first.
type Index = Arc<HashMap<String, Vec<String>>>;

/// A node's index, once read (or the error of its reading); readers for the node wait
/// for the first.
type Slot = Arc<tokio::sync::OnceCell<Result<Index, String>>>;

/// The dead nodes' journals read lately (module docs).
#[derive(Default)]
pub(crate) struct Journals {
    nodes: parking_lot::Mutex<HashMap<String, (Instant, Slot)>>,
}

impl Journals {
    /// The items of session `id` in the journal of node `node`, and whether they were read
    /// for this call (else they come from an index read before it); `fresh`: read anew,
    /// unless the index is younger than [`REREAD_AFTER`].
    pub(crate) async fn items(
        &self,
        handoff: &dyn Handoff,
        node: &str,
        id: &str,
        fresh: bool,
    ) -> Result<(Vec<String>, bool), String> {
        let slot = {
            let mut nodes = self.nodes.lock();
            // Past its time, or asked anew and old enough: read again.
            let reread = if fresh { REREAD_AFTER } else { KEPT };
            if nodes
                .get(node)
                .is_some_and(|(at, _)| at.elapsed() >= reread)
            {
                nodes.remove(node);
            }
            let (_, slot) = nodes
                .entry(node.to_owned())
                .or_insert_with(|| (Instant::now(), Slot::default()));
            slot.clone()
        };
        let mut read_here = false;
        let index = slot
            .get_or_init(|| async {
                read_here = true;
                let pairs = handoff.crash_journal(node).await?;
                let mut index: HashMap<String, Vec<String>> = HashMap::new();
                for (session, item) in pairs {
                    index.entry(session).or_default().push(item);
                }
                Ok(Arc::new(index))
            })
            .await
            .clone()?;
        Ok((index.get(id).cloned().unwrap_or_default(), read_here))
    }

    /// Drops the indexes older than [`KEPT`] (the gateway's janitor).
    pub(crate) fn sweep(&self) {
        self.nodes.lock().retain(|_, (at, _)| at.elapsed() < KEPT);
    }
}
