//! Inbound federation: the [`SignedRequest`] extractor and the `{errcode, error}` rejection.
//!
//! A handler that takes a [`SignedRequest`] only runs for a request whose `Authorization:
//! X-Hearth ...` header verifies against the origin's published key (fetched and cached on
//! demand), addressed to this server, within 5 minutes of our clock, not seen before, from a
//! server the domain policy allows:
//!
//! ```ignore
//! async fn handler(req: SignedRequest) -> Result<Json<Value>, FedRejection> {
//!     let body: MyBody = req.json()?;
//!     // req.origin is the authenticated sending server
//! }
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Federation;

/// A federation error answer: `status` with `{"errcode": .., "error": ..}` (spec §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FedRejection {
    pub status: StatusCode,
    pub errcode: Cow<'static, str>,
    pub error: String,
}

impl FedRejection {
    /// A rejection with any status and code.
    pub fn new(
        status: StatusCode,
        errcode: impl Into<Cow<'static, str>>,
        error: impl Into<String>,
    ) -> Self {
        FedRejection {
            status,
            errcode: errcode.into(),
            error: error.into(),
        }
    }

    /// 403 `H_DENIED`: the origin is excluded by `deny_domains` / `allow_domains`.
    pub fn denied(origin: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "H_DENIED",
            format!("{origin} may not federate with this server"),
        )
    }

    /// 404 `H_NOT_FOUND`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "H_NOT_FOUND",
            "no such federation endpoint",
        )
    }
}

impl From<hearth_federation::Error> for FedRejection {
    fn from(e: hearth_federation::Error) -> Self {
        FedRejection {
            status: StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            errcode: Cow::Borrowed(e.code()),
            error: e.to_string(),
        }
    }
}

impl IntoResponse for FedRejection {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"errcode": self.errcode, "error": self.error})),
        )
            .into_response()
    }
}

/// An authenticated federation request (see the module docs).
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The authenticated sending server.
    pub origin: String,
    /// The key id that signed the request.
    pub key_id: String,
    /// The sender's timestamp, ms.
    pub ts: u64,
    /// The raw body.
    pub body: Bytes,
}

impl SignedRequest {
    /// Parses the body as JSON (400 `H_MALFORMED` otherwise; an empty body parses as `null`).
    ///
    /// # Errors
    /// [`FedRejection`] 400 `H_MALFORMED`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, FedRejection> {
        let bytes: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(bytes).map_err(|e| {
            FedRejection::new(StatusCode::BAD_REQUEST, "H_MALFORMED", format!("body: {e}"))
        })
    }
}

impl<S> FromRequest<S> for SignedRequest
where
    S: Send + Sync,
    Arc<Federation>: FromRef<S>,
{
    type Rejection = FedRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, FedRejection> {
        let fed = Arc::<Federation>::from_ref(state);
        let method = req.method().as_str().to_owned();
        let path = match req.extensions().get::<OriginalUri>() {
            Some(OriginalUri(u)) => u.path_and_query().map(|p| p.as_str().to_owned()),
            None => req.uri().path_and_query().map(|p| p.as_str().to_owned()),
        }
        .unwrap_or_else(|| "/".to_owned());
        let auth = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let auth = match auth {
            None => None,
            Some(Ok(a)) => Some(a),
            Some(Err(_)) => {
                return Err(hearth_federation::Error::MalformedAuth(
                    "Authorization is not visible ASCII".into(),
                )
                .into());
            }
        };
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                FedRejection::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "H_TOO_LARGE",
                    "body too large",
                )
            } else {
                FedRejection::new(StatusCode::BAD_REQUEST, "H_MALFORMED", e.body_text())
            }
        })?;
        let v = fed
            .verify_request(&method, &path, &body, auth.as_deref())
            .await?;
        Ok(SignedRequest {
            origin: v.origin,
            key_id: v.key_id,
            ts: v.ts,
            body,
        })
    }
}
