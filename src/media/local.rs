//! [`LocalBlobs`]: blobs as files under one folder, written atomically (a hidden temporary
//! file in the same folder, flushed, then renamed over the key's path).

use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::service::ports::{BlobEntry, BlobKey, BlobReader, BlobStore, BlobStream};

/// A [`BlobStore`] on the local file system: key `a/b/c.png` is the file `{root}/a/b/c.png`.
/// [`BlobKey`]'s rules keep every path under `root`.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// A store under `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> LocalBlobs {
        LocalBlobs { root: root.into() }
    }

    /// The folder the store writes under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("media: cannot {what} {}: {e}", path.display()))
}

/// Copies `stream` into a new hidden temporary file in `dir` and returns its path and the
/// length written; on any error the temporary is removed.
async fn write_temp(dir: &Path, mut stream: BlobStream) -> Result<(PathBuf, u64)> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io_error("create", dir, e))?;
    // A hidden temporary beside the target: `rename` within one folder is atomic.
    let tmp = dir.join(format!(".tmp-{:016x}", rand::random::<u64>()));
    let mut f = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| io_error("create", &tmp, e))?;
    let mut written = 0u64;
    let copied: Result<()> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            f.write_all(&chunk)
                .await
                .map_err(|e| io_error("write", &tmp, e))?;
        }
        f.sync_all().await.map_err(|e| io_error("sync", &tmp, e))
    }
    .await;
    drop(f);
    match copied {
        Ok(()) => Ok((tmp, written)),
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(e)
        }
    }
}

/// The next `left` bytes of `f` from its position, in reads of at most 64 KiB; a read error
/// ends the stream with that error.
fn read_stream(f: tokio::fs::File, path: PathBuf, left: u64) -> BlobStream {
    let stream =
        futures_util::stream::try_unfold((f, path, left), |(mut f, path, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let want = left.min(64 * 1024) as usize;
            let mut buf = BytesMut::with_capacity(want);
            match (&mut f).take(want as u64).read_buf(&mut buf).await {
                Ok(0) => Ok(None),
                Ok(n) => Ok(Some((buf.freeze(), (f, path, left - n as u64)))),
                Err(e) => Err(io_error("read", &path, e)),
            }
        });
    Box::pin(stream)
}

#[async_trait]
impl BlobStore for LocalBlobs {
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

    async fn put_stream(&self, key: &BlobKey, stream: BlobStream) -> Result<u64> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let (tmp, n) = write_temp(&dir, stream).await?;
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io_error("write", &path, e));
        }
        Ok(n)
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    async fn open(&self, key: &BlobKey) -> Result<Option<BlobReader>> {
        let path = self.path(key);
        let f = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", &path, e)),
        };
        let size = f
            .metadata()
            .await
            .map_err(|e| io_error("read", &path, e))?
            .len();
        Ok(Some(BlobReader {
            size,
            stream: read_stream(f, path, size),
        }))
    }

    async fn open_range(&self, key: &BlobKey, range: Range<u64>) -> Result<Option<BlobReader>> {
        let path = self.path(key);
        let mut f = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", &path, e)),
        };
        let len = f
            .metadata()
            .await
            .map_err(|e| io_error("read", &path, e))?
            .len();
        let (start, end) = (range.start.min(len), range.end.min(len));
        f.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| io_error("seek", &path, e))?;
        let size = end.saturating_sub(start);
        Ok(Some(BlobReader {
            size,
            stream: read_stream(f, path, size),
        }))
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove", &path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<BlobEntry>> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            // Walk the folder holding the prefix, keep the keys that start with it.
            let base = match prefix.rfind('/') {
                Some(i) => root.join(&prefix[..i]),
                None => root.clone(),
            };
            let mut out = Vec::new();
            let mut stack = vec![base];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_error("list", &dir, e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| io_error("list", &dir, e))?;
                    let meta = entry.metadata().map_err(|e| io_error("list", &dir, e))?;
                    let path = entry.path();
                    if meta.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let Some(key) = path
                        .strip_prefix(&root)
                        .ok()
                        .and_then(|k| k.to_str())
                        .map(|k| k.replace('\\', "/"))
                    else {
                        continue;
                    };
                    if !key.starts_with(&prefix) {
                        continue;
                    }
                    let modified_ms = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_millis() as i64);
                    out.push(BlobEntry { key, modified_ms });
                }
            }
            Ok(out)
        })
        .await
        .map_err(Error::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary folder, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new() -> TempDir {
            let p =
                std::env::temp_dir().join(format!("hearth-blobs-{:016x}", rand::random::<u64>()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn key(k: &str) -> BlobKey {
        BlobKey::new(k).unwrap()
    }

    #[tokio::test]
    async fn put_get_replace_delete() {
        let dir = TempDir::new();
        let store = LocalBlobs::new(dir.path().join("media"));
        let k = key("attachments/1/2/cat.png");
        assert_eq!(store.get(&k).await.unwrap(), None);
        store.put(&k, Bytes::from_static(b"first")).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap().unwrap(), "first");
        store.put(&k, Bytes::from_static(b"second")).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap().unwrap(), "second");
        assert!(dir.path().join("media/attachments/1/2/cat.png").is_file());
        // No temporary files are left beside the blob.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("media/attachments/1/2"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["cat.png"]);
        let listed = store.list("attachments/1/").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, "attachments/1/2/cat.png");
        assert!(store.list("emojis/").await.unwrap().is_empty());
        let r = store.open(&k).await.unwrap().unwrap();
        assert_eq!(r.size, 6);
        let read: Vec<Bytes> = r.stream.map(|c| c.unwrap()).collect().await;
        assert_eq!(read.concat(), b"second");
        store.delete(&k).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap(), None);
        assert!(store.open(&k).await.unwrap().is_none());
        store.delete(&k).await.unwrap();
    }

    #[tokio::test]
    async fn ranges_seek_and_stop() {
        let dir = TempDir::new();
        let store = LocalBlobs::new(dir.path().join("media"));
        let k = key("attachments/1/3");
        // Longer than one 64 KiB read, so a range spans several chunks.
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        store.put(&k, Bytes::from(data.clone())).await.unwrap();
        for r in [0..1, 5..6, 70_000..140_001, 199_990..200_000, 0..200_000] {
            let got = store.open_range(&k, r.clone()).await.unwrap().unwrap();
            assert_eq!(got.size, r.end - r.start);
            let read: Vec<Bytes> = got.stream.map(|c| c.unwrap()).collect().await;
            assert_eq!(read.concat(), &data[r.start as usize..r.end as usize]);
        }
        // Past the end: only what exists.
        let got = store
            .open_range(&k, 199_999..300_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.size, 1);
        assert!(
            store
                .open_range(&key("attachments/1/none"), 0..1)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_failed_stream_stores_nothing() {
        let dir = TempDir::new();
        let store = LocalBlobs::new(dir.path().join("media"));
        let k = key("uploads/1/x");
        let chunks: Vec<Result<Bytes>> =
            vec![Ok(Bytes::from_static(b"part")), Err(Error::PayloadTooLarge)];
        let e = store
            .put_stream(&k, Box::pin(futures_util::stream::iter(chunks)))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 413);
        assert!(store.list("uploads/").await.unwrap().is_empty());
    }

    #[test]
    fn keys_cannot_leave_the_store() {
        for bad in [
            "",
            "/abs",
            "a//b",
            "../etc/passwd",
            "a/../../b",
            "a/./b",
            "a\\b",
            "a/b c",
            "émoji",
            "a/",
        ] {
            let e = BlobKey::new(bad).expect_err(bad);
            assert_eq!(e.status(), 400, "{bad}");
        }
        assert!(BlobKey::new("x".repeat(BlobKey::MAX_LEN)).is_ok());
        assert!(BlobKey::new("x".repeat(BlobKey::MAX_LEN + 1)).is_err());
        assert_eq!(key("emojis/9.gif").as_str(), "emojis/9.gif");
    }
}
