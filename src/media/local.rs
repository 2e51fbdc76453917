//! [`LocalBlobs`]: blobs as files under one folder, written atomically (a hidden temporary
//! file in the same folder, flushed, then renamed over the key's path).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};
use crate::service::ports::{BlobKey, BlobStore};

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

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<()> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
            // A hidden temporary beside the target: `rename` within one folder is atomic.
            let tmp = dir.join(format!(".tmp-{:016x}", rand::random::<u64>()));
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(&tmp)?;
                std::io::Write::write_all(&mut f, &bytes)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)
            };
            if let Err(e) = write() {
                let _ = std::fs::remove_file(&tmp);
                return Err(io_error("write", &path, e));
            }
            Ok(())
        })
        .await
        .map_err(Error::internal)?
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove", &path, e)),
        }
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
        store.delete(&k).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap(), None);
        store.delete(&k).await.unwrap();
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
