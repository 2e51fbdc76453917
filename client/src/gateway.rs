//! Gateway push: a WebSocket to the homeserver whose `MLS_MESSAGE` dispatches wake
//! [`Client::wait`].

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::{Client, ClientError, Received, Result};

impl Client {
    /// Connects to the gateway (`ws://…/gateway`) and starts listening for `MLS_MESSAGE`
    /// pushes for this device.
    pub async fn connect_gateway(&mut self) -> Result<()> {
        let url = format!(
            "{}/gateway?v=10&encoding=json",
            self.cfg.base_url.replacen("http", "ws", 1)
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let identify = json!({"op": 2, "d": {"token": self.state.token, "intents": 0, "properties": {"os": "hearth-client", "browser": "hearth-client", "device": "hearth-client"}}});
        ws.send(tokio_tungstenite::tungstenite::Message::text(
            identify.to_string(),
        ))
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let device = self.state.device_id.clone();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut interval = 41_250u64;
            let mut seq = Value::Null;
            let mut beat = tokio::time::interval(Duration::from_millis(interval));
            loop {
                tokio::select! {
                    m = ws.next() => {
                        let Some(Ok(m)) = m else { return };
                        let Ok(text) = m.into_text() else { continue };
                        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                        if !v["s"].is_null() { seq = v["s"].clone(); }
                        match (v["op"].as_u64(), v["t"].as_str()) {
                            (Some(10), _) => {
                                interval = v["d"]["heartbeat_interval"].as_u64().unwrap_or(interval);
                                beat = tokio::time::interval(Duration::from_millis(interval));
                            }
                            (Some(0), Some("READY")) => {
                                if let Some(r) = ready.take() { let _ = r.send(()); }
                            }
                            (Some(0), Some("MLS_MESSAGE")) if v["d"]["device_id"].as_str() == Some(device.as_str()) => {
                                let _ = tx.send(v["d"].clone());
                            }
                            _ => {}
                        }
                    }
                    _ = beat.tick() => {
                        let hb = json!({"op": 1, "d": seq});
                        if ws.send(tokio_tungstenite::tungstenite::Message::text(hb.to_string())).await.is_err() { return }
                    }
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), ready_rx)
            .await
            .map_err(|_| ClientError::Http("gateway READY timed out".into()))?
            .map_err(|_| ClientError::Http("gateway closed".into()))?;
        self.push = Some(rx);
        self.gateway = Some(task);
        Ok(())
    }

    /// Waits (at most `timeout`) for a gateway push, then syncs. Without a gateway, syncs.
    pub async fn wait(&mut self, timeout: Duration) -> Result<Vec<Received>> {
        if let Some(rx) = &mut self.push {
            let _ = tokio::time::timeout(timeout, rx.recv()).await;
            while rx.try_recv().is_ok() {}
        }
        self.sync().await
    }
}
