//! The `node` section: this process's identity among the nodes sharing one database, and
//! its leases (README "Scale-out" / "Nodes and leases"; `src/service/node.rs`).

use serde::{Deserialize, Serialize};

/// One node of a deployment. Every setting has a working default, so a single server needs
/// none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeConfig {
    /// This node's id, unique among the processes sharing the database (at most 100
    /// characters). Unset (the default): the host name and a hash of `data_dir`, so a node
    /// restarted on the same machine and folder is the same node and takes its job and
    /// sequencer leases back at once.
    pub id: Option<String>,
    /// How long a lease lasts unless renewed, in seconds (default 15, 3 to 3600). A node
    /// that stops renewing (crash, pause, lost database) loses its leases this long after
    /// its last renewal; another node then takes them over. The nodes' clocks must agree
    /// to well within this (NTP).
    pub lease_seconds: u64,
    /// Milliseconds a draining node keeps serving after `/ready` turned 503 and before it
    /// tells its gateway clients op 7 RECONNECT and stops its listeners (default 0, at most
    /// 60,000): long enough for the load balancer's health check to take it out, so that no
    /// request or reconnection is sent to a node about to close (README "Rolling restarts").
    pub drain_delay_ms: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            id: None,
            lease_seconds: 15,
            drain_delay_ms: 0,
        }
    }
}
