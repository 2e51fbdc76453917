//! Media: where file bytes are kept, behind the service layer's
//! [`BlobStore`](crate::service::ports::BlobStore) port. Today one implementation, the local
//! disk under `{data_dir}/media` ([`LocalBlobs`]); the media issue adds an S3-compatible
//! store. [`routes`] serves files at Discord's CDN paths (`serve.rs`); uploads arrive with
//! messages through the client API.

mod local;
mod serve;

pub use local::LocalBlobs;
pub use serve::routes;
