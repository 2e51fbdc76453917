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
