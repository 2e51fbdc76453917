//! The `metrics` section: where Prometheus scrapes (README "Metrics and health").

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Prometheus metrics (`GET /metrics` in the text exposition format) on their own listener,
/// so they are never exposed where the client API is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MetricsConfig {
    /// Address of the metrics listener (e.g. `127.0.0.1:9100`; port 0 picks a free port).
    /// Unset (the default): no metrics listener.
    pub listen: Option<SocketAddr>,
}
