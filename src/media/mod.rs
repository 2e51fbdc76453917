//! Media: where file bytes are kept, behind the service layer's
//! [`BlobStore`](crate::service::ports::BlobStore) port. Today one implementation, the local
//! disk under `{data_dir}/media` ([`LocalBlobs`]); the media issue adds an S3-compatible
//! store and the routes that upload and serve files.

mod local;

pub use local::LocalBlobs;
