//! Media: where file bytes are kept, behind the service layer's
//! [`BlobStore`](crate::service::ports::BlobStore) port: the local disk under
//! `{data_dir}/media` ([`LocalBlobs`], the default) or an S3-compatible object store
//! ([`S3Blobs`], `media.store = "s3"`), chosen by the composition root. [`routes`] serves
//! files at Discord's CDN paths: attachments (`serve.rs`) and images (`images.rs`); uploads
//! arrive with messages and JSON bodies through the client API.

mod images;
mod local;
mod s3;
mod serve;

pub use local::LocalBlobs;
pub use s3::{MIN_PART_BYTES, S3Blobs};

/// Every file route at Discord's CDN paths, mounted at the root by the composition root.
pub fn routes() -> axum::Router<std::sync::Arc<crate::service::Hearth>> {
    serve::routes().merge(images::routes())
}
