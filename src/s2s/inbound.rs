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

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::Federation;
use crate::error::{Error, FedRefusal};

/// The federation edge's error answer: any [`Error`] rendered once, by
/// [`Error::federation_body`], as its status with `{"errcode": .., "error": ..}` (spec §11).
#[derive(Debug)]
pub struct FedRejection(pub Error);

impl FedRejection {
    /// 403 `H_DENIED`: the origin is excluded by `deny_domains` / `allow_domains`.
    pub fn denied(origin: &str) -> Self {
        FedRejection(Error::Federation(FedRefusal::Denied(origin.to_owned())))
    }

    /// 404 `H_NOT_FOUND`.
    pub fn not_found() -> Self {
        Self::refuse(FedRefusal::NotFound("no such federation endpoint".into()))
    }

    /// 400 `H_MALFORMED`.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::refuse(FedRefusal::Malformed(message.into()))
    }

    /// Any federation refusal.
    pub fn refuse(r: FedRefusal) -> Self {
        FedRejection(Error::Federation(r))
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.0.federation_body().0
    }
}

impl From<Error> for FedRejection {
    fn from(e: Error) -> Self {
        FedRejection(e)
    }
}

impl From<hearth_federation::Error> for FedRejection {
    fn from(e: hearth_federation::Error) -> Self {
        FedRejection(e.into())
    }
}

impl IntoResponse for FedRejection {
    fn into_response(self) -> Response {
        let (status, body) = self.0.federation_body();
        (status, axum::Json(body)).into_response()
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
    /// Parses the body strictly (spec/federation.md §4.3, `canonical::parse_strict`), then
    /// as `T`: a duplicated object key, invalid JSON or the wrong shape is 400 `H_MALFORMED`,
    /// a float, an integer beyond ±(2^53-1) or nesting deeper than 64 is 400
    /// `H_NOT_CANONICAL`. An empty body parses as `null`.
    ///
    /// # Errors
    /// [`FedRejection`] 400 `H_MALFORMED` / `H_NOT_CANONICAL`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, FedRejection> {
        let bytes: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        let value = hearth_federation::canonical::parse_strict(bytes).map_err(|e| {
            FedRejection::from(match e {
                hearth_federation::Error::Malformed(m) => {
                    hearth_federation::Error::Malformed(format!("body: {m}"))
                }
                other => other,
            })
        })?;
        serde_json::from_value(value).map_err(|e| FedRejection::malformed(format!("body: {e}")))
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
                FedRejection::refuse(FedRefusal::TooLarge)
            } else {
                FedRejection::malformed(e.body_text())
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
