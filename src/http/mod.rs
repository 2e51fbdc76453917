//! The HTTP edge shared by every router of the homeserver: extractors ([`extract`]) and the
//! client API's middleware ([`limits`]: rate limits, `Via`, the request's cause scope).
//! Features (client API, gateway, federation, MLS, registrar link) build their routers on
//! these; the composition root ([`crate::app`]) mounts them.

pub mod extract;
pub mod limits;
pub mod openapi;
pub mod serve;

pub use extract::*;
pub use limits::{RouteLimits, flush_bus, rate_limit, run_to_completion, via_header};

/// The failure log of the routers' `TraceLayer`s (tower-http's
/// [`ServerErrorsFailureClass`](tower_http::classify::ServerErrorsFailureClass)): a 5xx
/// answer at ERROR, except 503 at INFO, which a node answers on purpose (`GET /ready` while
/// it drains or cannot reach Redis, README "Scale-out") and which is logged where it arises.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogFailures;

impl tower_http::trace::OnFailure<tower_http::classify::ServerErrorsFailureClass> for LogFailures {
    fn on_failure(
        &mut self,
        class: tower_http::classify::ServerErrorsFailureClass,
        latency: std::time::Duration,
        span: &tracing::Span,
    ) {
        let _in = span.enter();
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        match class {
            tower_http::classify::ServerErrorsFailureClass::StatusCode(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ) => tracing::info!(latency_ms, "503 Service Unavailable"),
            other => tracing::error!(classification = %other, latency_ms, "response failed"),
        }
    }
}
