//! Media: where file bytes are kept, behind the service layer's
//! [`BlobStore`](crate::service::ports::BlobStore) port. Today one implementation, the local
//! disk under `{data_dir}/media` ([`LocalBlobs`]); the media issue adds an S3-compatible
//! store. [`routes`] serves files at Discord's CDN paths: attachments (`serve.rs`) and
//! images (`images.rs`); uploads arrive with messages and JSON bodies through the client API.

mod images;
mod local;
mod serve;

pub use local::LocalBlobs;

/// Every file route at Discord's CDN paths, mounted at the root by the composition root.
pub fn routes() -> axum::Router<std::sync::Arc<crate::service::Hearth>> {
    serve::routes().merge(images::routes())
}
