//! The homeserver's client API as the SDK calls it: authenticated JSON requests, errors
//! mapped to [`ClientError::Api`].

use serde_json::Value;

use crate::{Client, ClientError, Result};

impl Client {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/api/v10{path}", self.cfg.base_url);
        let mut req = self.http.request(method, url);
        if !self.state.token.is_empty() {
            req = req.header("authorization", &self.state.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status >= 400 {
            return Err(ClientError::Api {
                status,
                code: v["code"].as_i64().unwrap_or(0),
                message: v["message"].as_str().unwrap_or_default().to_owned(),
                epoch: v["epoch"].as_u64(),
                body: v,
            });
        }
        Ok(v)
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }
}
