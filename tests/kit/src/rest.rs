//! A small JSON client for a homeserver's REST API, bound to one base URL and optional
//! credentials, and its responses. The plain methods panic on transport errors (tests); the
//! `try_` forms return them (builders, the bench).

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::Res;

/// A response: status, JSON body (`Null` when empty, `{"_raw": text}` when not JSON) and
/// headers.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    /// A header as a string (`None` when absent).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// The Discord error code of the body (`-1` when absent).
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(-1)
    }
    /// `(status, body, headers)`.
    pub fn parts(self) -> (u16, Value, HeaderMap) {
        (self.status, self.body, self.headers)
    }
    /// `Ok(self)` when the status is `expected`, otherwise an error naming `what` and the
    /// whole response.
    ///
    /// # Errors
    /// As described.
    pub fn expect_status(self, expected: u16, what: &str) -> Res<Resp> {
        if self.status == expected {
            Ok(self)
        } else {
            Err(format!("{what}: expected {expected}, got {self:?}"))
        }
    }
}

/// An HTTP client for tests: no proxy, 30 s per request.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// A small JSON client bound to one base URL and optional credentials (cheap to clone).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    auth: Option<String>,
    headers: HeaderMap,
}

impl Client {
    /// An unauthenticated client of `base` (e.g. `http://ADDR/api/v10`) over `http`.
    pub fn new(http: reqwest::Client, base: &str) -> Client {
        Client {
            http,
            base: base.to_owned(),
            auth: None,
            headers: HeaderMap::new(),
        }
    }
    /// Same client with `Authorization: <value>`.
    pub fn with_auth(mut self, value: String) -> Client {
        self.auth = Some(value);
        self
    }
    /// Same client with `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Client {
        self.with_auth(format!("Bearer {token}"))
    }
    /// Same client with `Authorization: Bot <token>`.
    pub fn bot(self, token: &str) -> Client {
        self.with_auth(format!("Bot {token}"))
    }
    /// Same client without credentials.
    pub fn anon(mut self) -> Client {
        self.auth = None;
        self
    }
    /// Same client with an extra header on every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Client {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    /// PUT without a body (reactions, pins, member roles).
    pub async fn put_empty(&self, path: &str) -> Resp {
        self.send(Method::PUT, path, None).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// A JSON request (`body` None: no body).
    ///
    /// # Panics
    /// On a transport error.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(method, path, bytes, &[]).await
    }

    /// [`Client::send`] returning transport errors.
    ///
    /// # Errors
    /// The request could not be sent or its answer read.
    pub async fn try_send(&self, method: Method, path: &str, body: Option<Value>) -> Res<Resp> {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.try_raw(method, path, bytes, &[]).await
    }

    /// A request with a raw body (sent as `application/json` unless `headers` names a
    /// content type) and extra headers. `path` is appended to the base unless it is a
    /// whole URL.
    ///
    /// # Panics
    /// On a transport error.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.try_raw(method, path, body, headers)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Client::raw`] returning transport errors.
    ///
    /// # Errors
    /// The request could not be sent or its answer read, naming the method and URL.
    pub async fn try_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Res<Resp> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let mut rb = self
            .http
            .request(method.clone(), &url)
            .headers(self.headers.clone());
        if let Some(a) = &self.auth {
            rb = rb.header("authorization", a);
        }
        if let Some(b) = body {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                rb = rb.header("content-type", "application/json");
            }
            rb = rb.body(b);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("{method} {url}: response body: {e}"))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| json!({"_raw": String::from_utf8_lossy(&bytes).to_string()}))
        };
        Ok(Resp {
            status,
            body,
            headers,
        })
    }
}

/// A JSON string value as `String` (panics otherwise, naming the value).
pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}
