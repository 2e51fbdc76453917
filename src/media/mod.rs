//! Media: where file bytes are kept, behind the service layer's
//! [`BlobStore`](crate::service::ports::BlobStore) port: the local disk under
//! `{data_dir}/media` ([`LocalBlobs`], the default) or an S3-compatible object store
//! ([`S3Blobs`], `media.store = "s3"`), chosen by the composition root (`media.store`). [`routes`] serves files at
//! Discord's CDN paths (`serve.rs`); uploads arrive with messages through the client API.

mod local;
mod s3;
mod serve;

pub use local::LocalBlobs;
pub use s3::{MIN_PART_BYTES, S3Blobs};
pub use serve::routes;
