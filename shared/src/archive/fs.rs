//! The archive store as a folder with the bucket's layout: the object `archives/7/<id>.json` is
//! the file `<root>/archives/7/<id>.json`, so archives can be copied to and from S3 as they are
//! (`aws s3 sync <root>/archives s3://chatbot-conversations/archives`).
//!
//! A put writes a temporary file beside the target, flushes it to disk and renames it over the
//! target, so a reader (or a crash) sees the whole old object or the whole new one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::error::{BackendError, Retry};

use super::{ArchiveError, ArchiveStore};

/// Temporary files end with this; they are never listed.
const PARTIAL_SUFFIX: &str = ".partial";

#[derive(Clone, Debug)]
pub struct FsArchiveStore {
    root: PathBuf,
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> ArchiveError {
    BackendError::io(format!("{what} {}", path.display()), error).into()
}

impl FsArchiveStore {
    pub fn new(root: impl Into<PathBuf>) -> FsArchiveStore {
        FsArchiveStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, refusing keys that could leave the folder.
    fn path_of(&self, key: &str) -> Result<PathBuf, ArchiveError> {
        let valid = !key.is_empty()
            && !key.ends_with(PARTIAL_SUFFIX)
            && key.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && !segment.contains(['\\', '\0'])
            });
        if !valid {
            return Err(BackendError::message(
                "archive key",
                Retry::Permanent,
                format!("{key:?} is not a valid archive key"),
            )
            .into());
        }
        Ok(key
            .split('/')
            .fold(self.root.clone(), |path, s| path.join(s)))
    }

    async fn blocking<T: Send + 'static>(
        work: impl FnOnce() -> Result<T, ArchiveError> + Send + 'static,
    ) -> Result<T, ArchiveError> {
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

fn write_atomically(path: &Path, body: &[u8]) -> Result<(), ArchiveError> {
    let parent = path.parent().expect("a key has a parent folder");
    std::fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
    let partial = path.with_file_name(format!(
        "{}.{}{PARTIAL_SUFFIX}",
        path.file_name()
            .expect("a key names a file")
            .to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(body)?;
        file.sync_all()?;
        std::fs::rename(&partial, path)?;
        // The rename itself is durable once the folder is flushed.
        std::fs::File::open(parent)?.sync_all()
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(io_error("cannot write", path, error));
    }
    Ok(())
}

/// Every object key under `folder` (a folder of the store), unsorted.
fn keys_under(folder: &Path, key_prefix: &str, keys: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let key = format!("{key_prefix}{name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            keys_under(&entry.path(), &format!("{key}/"), keys)?;
        } else if kind.is_file() && !name.ends_with(PARTIAL_SUFFIX) {
            keys.push(key);
        }
    }
    Ok(())
}

#[async_trait]
impl ArchiveStore for FsArchiveStore {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), ArchiveError> {
        let path = self.path_of(key)?;
        Self::blocking(move || write_atomically(&path, &body)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("cannot read", &path, e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, ArchiveError> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(metadata) => Ok(metadata.is_file()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("cannot read", &path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        // Walk only the deepest folder the prefix names, then filter on the rest of it.
        let folder_key = prefix.rfind('/').map_or("", |end| &prefix[..=end]);
        let folder = if folder_key.is_empty() {
            self.root.clone()
        } else {
            self.path_of(folder_key.trim_end_matches('/'))?
        };
        let folder_key = folder_key.to_string();
        let prefix = prefix.to_string();
        Self::blocking(move || {
            let mut keys = Vec::new();
            keys_under(&folder, &folder_key, &mut keys)
                .map_err(|e| io_error("cannot list", &folder, e))?;
            keys.retain(|key| key.starts_with(&prefix));
            keys.sort();
            Ok(keys)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (FsArchiveStore, PathBuf) {
        let root = std::env::temp_dir().join(format!("cloud-ai-fs-{}", uuid::Uuid::new_v4()));
        (FsArchiveStore::new(&root), root)
    }

    #[tokio::test]
    async fn objects_live_at_the_bucket_layout_and_list_in_key_order() {
        let (store, root) = store();
        store
            .put("archives/7/b.json", b"{\"b\":1}".to_vec())
            .await
            .unwrap();
        store
            .put("archives/7/a.json", b"{}".to_vec())
            .await
            .unwrap();
        store
            .put("archives/70/c.json", b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(
            std::fs::read(root.join("archives").join("7").join("b.json")).unwrap(),
            b"{\"b\":1}"
        );
        assert_eq!(
            store.list("archives/7/").await.unwrap(),
            ["archives/7/a.json", "archives/7/b.json"]
        );
        assert_eq!(store.list("archives/7").await.unwrap().len(), 3);
        assert_eq!(store.list("").await.unwrap().len(), 3);
        assert!(store.list("archives/8/").await.unwrap().is_empty());
        assert!(store.exists("archives/7/a.json").await.unwrap());
        assert_eq!(store.get("archives/9/x.json").await.unwrap(), None);
        // A put replaces the object whole and leaves no temporary file behind.
        store
            .put("archives/7/a.json", b"[1]".to_vec())
            .await
            .unwrap();
        assert_eq!(
            store.get("archives/7/a.json").await.unwrap().unwrap(),
            b"[1]"
        );
        assert_eq!(
            std::fs::read_dir(root.join("archives").join("7"))
                .unwrap()
                .count(),
            2
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn keys_that_could_leave_the_folder_are_refused() {
        let (store, _root) = store();
        for key in [
            "../x.json",
            "archives/../../x",
            "/etc/passwd",
            "a//b",
            "",
            "a\\b",
        ] {
            assert!(
                store.put(key, b"x".to_vec()).await.is_err(),
                "{key:?} was accepted"
            );
            assert!(store.get(key).await.is_err(), "{key:?} was read");
        }
    }
}
