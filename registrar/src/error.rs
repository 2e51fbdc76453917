//! The registrar's one error type: [`ApiError`], every way a rule or handler fails, mapped
//! once to an HTTP status and a `{"errcode": .., "error": ..}` body by exhaustive matches
//! ([`ApiError::status`], [`ApiError::errcode`]). Codes and statuses are listed in
//! spec/registrar.md §9 "Errors".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failure of the registrar's rules, answered as `status` with `{"errcode", "error"}` (and
/// `retry_after_ms` plus `Retry-After` for 429). The `String` of a variant is the `error`
/// text sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400 `R_MALFORMED`: bad JSON, non-canonical numbers, wrong shapes, bad parameters.
    #[error("{0}")]
    Malformed(String),
    /// 400 `R_BAD_NAME`: a malformed server name or handle.
    #[error("{0}")]
    BadName(String),
    /// 403 `R_FORBIDDEN`: the signer is not the server the request is about.
    #[error("{0}")]
    Forbidden(String),
    /// 403 `R_DENIED`: the server is on the deny list.
    #[error("{0}")]
    Denied(String),
    /// 403 `R_DELISTED`: delisted by the operator.
    #[error("{0}")]
    Delisted(String),
    /// 403 `R_VERIFICATION_FAILED`: the proof of domain control or the key document failed.
    #[error("{0}")]
    VerificationFailed(String),
    /// 403 `R_NOT_REGISTERED`: a summary or handle of a server that is not listed.
    #[error("{0}")]
    NotRegistered(String),
    /// 403 `R_LIMIT_EXCEEDED`: too many summaries or handles.
    #[error("{0}")]
    LimitExceeded(String),
    /// 404 `R_NOT_FOUND`.
    #[error("{0}")]
    NotFound(String),
    /// 405 `R_METHOD_NOT_ALLOWED`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413 `R_TOO_LARGE`: a body over `max_body_bytes`.
    #[error("request body too large")]
    TooLarge,
    /// 429 `R_RATE_LIMITED`, retry after `retry_after_ms` milliseconds.
    #[error("{error}")]
    RateLimited { error: String, retry_after_ms: u64 },
    /// A failed check of the federation protocol (request or summary authentication): the
    /// status and `H_*` code of [`hearth_federation::Error`] (spec/federation.md §11).
    #[error(transparent)]
    Protocol(#[from] hearth_federation::Error),
    /// 500 `R_INTERNAL`: the detail is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result of the registrar's rules.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// [`ApiError::Internal`] with `detail` (logged when answered, never sent).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) | ApiError::BadName(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_)
            | ApiError::Denied(_)
            | ApiError::Delisted(_)
            | ApiError::VerificationFailed(_)
            | ApiError::NotRegistered(_)
            | ApiError::LimitExceeded(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Protocol(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `errcode` of the body.
    pub fn errcode(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "R_MALFORMED",
            ApiError::BadName(_) => "R_BAD_NAME",
            ApiError::Forbidden(_) => "R_FORBIDDEN",
            ApiError::Denied(_) => "R_DENIED",
            ApiError::Delisted(_) => "R_DELISTED",
            ApiError::VerificationFailed(_) => "R_VERIFICATION_FAILED",
            ApiError::NotRegistered(_) => "R_NOT_REGISTERED",
            ApiError::LimitExceeded(_) => "R_LIMIT_EXCEEDED",
            ApiError::NotFound(_) => "R_NOT_FOUND",
            ApiError::MethodNotAllowed => "R_METHOD_NOT_ALLOWED",
            ApiError::TooLarge => "R_TOO_LARGE",
            ApiError::RateLimited { .. } => "R_RATE_LIMITED",
            ApiError::Protocol(e) => e.code(),
            ApiError::Internal(_) => "R_INTERNAL",
        }
    }

    /// The `error` text of the body (`internal error` for [`ApiError::Internal`]).
    pub fn message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error".to_owned(),
            e => e.to_string(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(format!("database: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let mut body = json!({"errcode": self.errcode(), "error": self.message()});
        let mut resp = match &self {
            ApiError::RateLimited { retry_after_ms, .. } => {
                body["retry_after_ms"] = json!(retry_after_ms);
                let secs = retry_after_ms.div_ceil(1000).max(1).to_string();
                (
                    self.status(),
                    [(header::RETRY_AFTER, secs)],
                    axum::Json(body),
                )
                    .into_response()
            }
            _ => (self.status(), axum::Json(body)).into_response(),
        };
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(e: ApiError) -> (StatusCode, Option<String>, serde_json::Value) {
        let r = e.into_response();
        let status = r.status();
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        let retry = r
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, retry, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn bodies_and_statuses() {
        let (s, retry, b) = answer(ApiError::RateLimited {
            error: "rate limited".into(),
            retry_after_ms: 1500,
        })
        .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("2"));
        assert_eq!(
            b,
            json!({"errcode": "R_RATE_LIMITED", "error": "rate limited", "retry_after_ms": 1500})
        );
        let (s, retry, b) = answer(ApiError::internal("disk on fire")).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry, None);
        assert_eq!(
            b,
            json!({"errcode": "R_INTERNAL", "error": "internal error"})
        );
        let (s, _, b) = answer(ApiError::Protocol(hearth_federation::Error::ClockSkew {
            skew_ms: 400_000,
        }))
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(b["errcode"], "H_CLOCK_SKEW");
        let (s, _, b) = answer(ApiError::TooLarge).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            b,
            json!({"errcode": "R_TOO_LARGE", "error": "request body too large"})
        );
    }
}
