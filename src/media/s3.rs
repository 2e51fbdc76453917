//! [`S3Blobs`]: blobs as objects of one bucket of an S3-compatible store (AWS S3, MinIO,
//! Garage, Ceph, s3s ...) through aws-sdk-s3, configured by `media.s3` (no aws-config: the
//! settings, with the AWS environment as fallback, are in [`S3Config`]).
//!
//! Streaming: a write keeps at most one part (`media.s3.part_bytes`, default 8 MiB) in
//! memory. An object that fits in one part is sent with one `PutObject`; a larger one as a
//! multipart upload (`CreateMultipartUpload`, `UploadPart` per part, then
//! `CompleteMultipartUpload`; aborted on any error, so a failed write leaves no object and
//! no pending parts). Reads stream the `GetObject` body. Checksums are computed only when
//! S3 requires them (`WhenRequired`): S3-compatible servers often reject aws-chunked bodies
//! with trailing checksums.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::config::S3Config;
use crate::error::{Error, Result};
use crate::service::ports::{BlobEntry, BlobKey, BlobReader, BlobStore, BlobStream};

/// Smallest part size accepted in `media.s3.part_bytes`, 5 MiB: S3's minimum for every part
/// but the last (AWS and s3s refuse smaller ones with `EntityTooSmall`). Smaller settings are
/// raised to it.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;

/// A [`BlobStore`] on an S3 bucket: key `a/b/c` is the object `a/b/c` of `bucket`.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
    part_bytes: usize,
}

fn s3_error(what: &str, key: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("media: S3 {what} {key}: {e}"))
}

impl S3Blobs {
    /// A client for `cfg` (static credentials when both keys are set, anonymous requests
    /// otherwise). Nothing is contacted yet.
    ///
    /// # Errors
    /// 500 when `bucket` is empty.
    pub fn new(cfg: &S3Config) -> Result<S3Blobs> {
        if cfg.bucket.is_empty() {
            return Err(Error::internal(
                "media.store = \"s3\" needs media.s3.bucket (HEARTH_MEDIA__S3__BUCKET)",
            ));
        }
        let region = cfg.region.clone().unwrap_or_else(|| "us-east-1".into());
        let mut b = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .force_path_style(cfg.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(e) = &cfg.endpoint {
            b = b.endpoint_url(e.trim_end_matches('/'));
        }
        if let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) {
            b = b.credentials_provider(Credentials::new(
                id,
                secret,
                cfg.session_token.clone(),
                None,
                "hearth-config",
            ));
        }
        Ok(S3Blobs {
            client: Client::from_conf(b.build()),
            bucket: cfg.bucket.clone(),
            part_bytes: cfg.part_bytes.max(MIN_PART_BYTES) as usize,
        })
    }

    /// `GetObject` of `key`, of the bytes `range` (`Range: bytes=a-b`) when given; `None`
    /// when there is no such object. The reader's size is the body's `Content-Length`.
    async fn get_object(
        &self,
        key: &BlobKey,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<Option<BlobReader>> {
        let k = key.as_str().to_string();
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&k)
            .set_range(range.map(|r| format!("bytes={}-{}", r.start, r.end - 1)))
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = e.into_service_error();
                if e.is_no_such_key() {
                    return Ok(None);
                }
                return Err(s3_error("GetObject", &k, e));
            }
        };
        let size = out.content_length().unwrap_or(0).max(0) as u64;
        let body = out.body;
        let stream = futures_util::stream::try_unfold((body, k), |(mut body, k)| async move {
            match body.try_next().await {
                Ok(Some(chunk)) => Ok(Some((chunk, (body, k)))),
                Ok(None) => Ok(None),
                Err(e) => Err(s3_error("reading", &k, e)),
            }
        });
        Ok(Some(BlobReader {
            size,
            stream: Box::pin(stream),
        }))
    }

    /// Sends the parts of a multipart upload already begun as `upload_id`: `first` (one full
    /// part), then the rest of `stream`. Returns the completed parts and the length.
    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: Bytes,
        stream: BlobStream,
    ) -> Result<(Vec<CompletedPart>, u64)> {
        let mut stream = stream.fuse();
        let mut parts = Vec::new();
        let mut total = 0u64;
        let mut buf = BytesMut::with_capacity(self.part_bytes + 512 * 1024);
        let mut pending = Some(first);
        loop {
            let part = match pending.take() {
                Some(p) => p,
                None => {
                    while buf.len() < self.part_bytes {
                        match stream.next().await {
                            Some(chunk) => buf.extend_from_slice(&chunk?),
                            None => break,
                        }
                    }
                    if buf.is_empty() {
                        break;
                    }
                    let n = buf.len().min(self.part_bytes);
                    buf.split_to(n).freeze()
                }
            };
            total += part.len() as u64;
            let number = parts.len() as i32 + 1;
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(part.len() as i64)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(|e| s3_error("UploadPart", key, e.into_service_error()))?;
            parts.push(
                CompletedPart::builder()
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .part_number(number)
                    .build(),
            );
        }
        Ok((parts, total))
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<()> {
        self.put_stream(
            key,
            Box::pin(futures_util::stream::once(async {
                Ok::<Bytes, Error>(bytes)
            })),
        )
        .await
        .map(|_| ())
    }

    async fn put_stream(&self, key: &BlobKey, mut stream: BlobStream) -> Result<u64> {
        let k = key.as_str();
        // Read up to one part: a small object is one PutObject. Room for a part and a chunk
        // at once, so the buffer does not double past it.
        let mut buf = BytesMut::with_capacity(self.part_bytes + 512 * 1024);
        let mut ended = false;
        while buf.len() <= self.part_bytes {
            match stream.next().await {
                Some(chunk) => buf.extend_from_slice(&chunk?),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if ended {
            let n = buf.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(k)
                .content_length(n as i64)
                .body(ByteStream::from(buf.freeze()))
                .send()
                .await
                .map_err(|e| s3_error("PutObject", k, e.into_service_error()))?;
            return Ok(n);
        }
        let first = buf.split_to(self.part_bytes).freeze();
        // The rest of the first read goes before the remaining stream.
        let rest = buf.freeze();
        let stream: BlobStream = if rest.is_empty() {
            stream
        } else {
            Box::pin(futures_util::stream::once(async { Ok::<Bytes, Error>(rest) }).chain(stream))
        };
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(k)
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", k, e.into_service_error()))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| s3_error("CreateMultipartUpload", k, "no upload id"))?
            .to_string();
        let done = match self.upload_parts(k, &upload_id, first, stream).await {
            Ok((parts, total)) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(k)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| total)
                .map_err(|e| s3_error("CompleteMultipartUpload", k, e.into_service_error())),
            Err(e) => Err(e),
        };
        if done.is_err() {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(k)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::warn!(key = k, error = %e.into_service_error(), "S3 multipart upload not aborted");
            }
        }
        done
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>> {
        let Some(r) = self.open(key).await? else {
            return Ok(None);
        };
        let mut buf = BytesMut::with_capacity(r.size as usize);
        let mut s = r.stream;
        while let Some(chunk) = s.next().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(Some(buf.freeze()))
    }

    async fn open(&self, key: &BlobKey) -> Result<Option<BlobReader>> {
        self.get_object(key, None).await
    }

    async fn open_range(
        &self,
        key: &BlobKey,
        range: std::ops::Range<u64>,
    ) -> Result<Option<BlobReader>> {
        if range.is_empty() {
            return Ok(Some(BlobReader {
                size: 0,
                stream: Box::pin(futures_util::stream::empty()),
            }));
        }
        self.get_object(key, Some(range)).await
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let k = key.as_str();
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(k)
            .send()
            .await
            .map_err(|e| s3_error("DeleteObject", k, e.into_service_error()))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<BlobEntry>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_error("ListObjectsV2", prefix, e.into_service_error()))?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    let modified_ms = o.last_modified().map_or(0, |t| {
                        t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)
                    });
                    out.push(BlobEntry {
                        key: key.to_string(),
                        modified_ms,
                    });
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}
