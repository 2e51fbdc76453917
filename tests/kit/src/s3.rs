//! A real S3-compatible server in the test process: s3s-fs (an S3 implementation over a
//! folder) behind s3s's `S3Service` with SigV4 authentication (`SimpleAuth`), served by
//! hyper-util on 127.0.0.1:0. The homeserver's S3 blob store talks to it over HTTP exactly
//! as to MinIO or AWS; nothing of the SDK is faked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hearth::config::{BlobBackend, S3Config};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

use crate::{Res, ctx};

/// The blob store of a test server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blobs {
    /// Files under the server's data folder (the default store).
    Local,
    /// An [`S3Server`] started for the test server.
    S3,
}

/// `HEARTH_TEST_BLOBS`: unset or `local` -> [`Blobs::Local`], `s3` -> [`Blobs::S3`].
///
/// # Panics
/// Anything else is a mistake and fails the test rather than silently testing the disk.
pub fn blobs_from_env() -> Blobs {
    match std::env::var("HEARTH_TEST_BLOBS") {
        Err(_) => Blobs::Local,
        Ok(v) if v.is_empty() || v.eq_ignore_ascii_case("local") => Blobs::Local,
        Ok(v) if v.eq_ignore_ascii_case("s3") => Blobs::S3,
        Ok(v) => panic!("HEARTH_TEST_BLOBS={v:?}: expected `local` or `s3`"),
    }
}

/// The bucket every test S3 server holds.
pub const BUCKET: &str = "hearth-test";
/// The access key id the server accepts.
pub const ACCESS_KEY: &str = "hearth-test-key";
/// The secret of [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "hearth-test-secret-0123456789";

/// A running S3 server; dropping it stops accepting connections (its folder stays: it
/// lives under the test server's data folder).
pub struct S3Server {
    /// Where it listens (`http://{addr}` is the endpoint, path-style).
    pub addr: SocketAddr,
    /// The folder holding the buckets (`{root}/{BUCKET}/{key}`).
    pub root: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl S3Server {
    /// Starts a server over `root` (created, with the bucket [`BUCKET`]) on a task of the
    /// current runtime.
    ///
    /// # Errors
    /// The folder cannot be created or the port cannot be bound.
    pub async fn start(root: &Path) -> Res<S3Server> {
        std::fs::create_dir_all(root.join(BUCKET)).map_err(ctx("S3 folder"))?;
        let fs = s3s_fs::FileSystem::new(root).map_err(|e| format!("s3s-fs: {e:?}"))?;
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ctx("S3 listener"))?;
        let addr = listener.local_addr().map_err(ctx("S3 listener"))?;
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Ok(S3Server {
            addr,
            root: root.to_path_buf(),
            task,
        })
    }

    /// The `media.s3` settings that reach this server (path-style, static credentials).
    pub fn settings(&self) -> S3Config {
        S3Config {
            endpoint: Some(format!("http://{}", self.addr)),
            region: Some("us-east-1".into()),
            bucket: BUCKET.into(),
            path_style: true,
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
            session_token: None,
            ..S3Config::default()
        }
    }

    /// Points `config` at this server: `media.store = "s3"` with [`S3Server::settings`].
    pub fn apply(&self, config: &mut hearth::Config) {
        config.media.store = BlobBackend::S3;
        config.media.s3 = self.settings();
    }

    /// The file s3s-fs keeps object `key` in (for checks that bytes are really gone).
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
