//! Source locations to read from: a local folder or an object-store prefix (`s3://`,
//! `file://`), listed and opened for streaming reads. Credentials come from the same
//! [`LakeOptions`] as the lake's.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::{LakeError, LakeOptions, Result, store_err};

/// One file under a source root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the root, forward slashes.
    pub rel_path: String,
    /// Size in bytes.
    pub size: u64,
}

/// Where the sources are.
#[derive(Clone)]
pub struct SourceRoot(Root);

#[derive(Clone)]
enum Root {
    Local(PathBuf),
    Store {
        store: Arc<dyn ObjectStore>,
        prefix: Path,
        url: Url,
    },
}

impl std::fmt::Debug for SourceRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Root::Local(p) => write!(f, "SourceRoot::Local({})", p.display()),
            Root::Store { url, .. } => write!(f, "SourceRoot::Store({url})"),
        }
    }
}

/// An S3 object store for `url` (bucket and prefix) with `options`.
pub(crate) fn s3_store(url: &Url, options: &LakeOptions) -> Result<Arc<dyn ObjectStore>> {
    let mut b = object_store::aws::AmazonS3Builder::new().with_url(url.as_str());
    for (k, v) in options.storage() {
        if let Ok(key) = k.to_ascii_lowercase().parse() {
            b = b.with_config(key, v);
        }
    }
    let store = b.build().map_err(|e| LakeError::ObjectStore {
        path: url.to_string(),
        source: Box::new(e),
    })?;
    Ok(Arc::new(store))
}

impl SourceRoot {
    /// Parses a local path or an object-store URL, with the default options (the
    /// `AWS_*` environment variables).
    pub fn parse(location: &str) -> Result<SourceRoot> {
        SourceRoot::parse_with(location, &LakeOptions::default())
    }

    /// Parses a local path or an object-store URL (`s3://bucket/prefix`, `file://`),
    /// with explicit storage options.
    pub fn parse_with(location: &str, options: &LakeOptions) -> Result<SourceRoot> {
        let invalid = |reason: &str| LakeError::InvalidLocation {
            location: location.to_string(),
            reason: reason.to_string(),
        };
        let local = |p: PathBuf| -> Result<SourceRoot> {
            if !p.is_dir() {
                return Err(invalid("not a folder"));
            }
            Ok(SourceRoot(Root::Local(p)))
        };
        match Url::parse(location) {
            Ok(url) if url.scheme() == "file" => local(
                url.to_file_path()
                    .map_err(|_| invalid("not a local file URL"))?,
            ),
            Ok(url) if url.scheme() == "s3" || url.scheme() == "s3a" => {
                if url.host_str().unwrap_or("").is_empty() {
                    return Err(invalid("s3 URL needs a bucket: s3://bucket/prefix"));
                }
                let store = s3_store(&url, options)?;
                let prefix = Path::from(url.path().trim_matches('/'));
                Ok(SourceRoot(Root::Store { store, prefix, url }))
            }
            Ok(url) if url.scheme().len() > 1 => Err(invalid(&format!(
                "unsupported scheme {}:// (use a folder, file:// or s3://)",
                url.scheme()
            ))),
            _ => local(PathBuf::from(location)),
        }
    }

    /// Every file below the root, sorted by path.
    pub async fn list(&self) -> Result<Vec<SourceFile>> {
        let mut out = Vec::new();
        match &self.0 {
            Root::Local(root) => {
                // Like the published dumps: regular files, and symlinks to files;
                // symlinked folders are not followed (no loops).
                for entry in walkdir::WalkDir::new(root) {
                    let entry = entry.map_err(|e| {
                        let path = e.path().unwrap_or(root.as_path()).display().to_string();
                        LakeError::Io {
                            path,
                            source: e.into(),
                        }
                    })?;
                    let path = entry.path();
                    let ft = entry.file_type();
                    if !(ft.is_file() || ft.is_symlink()) {
                        continue;
                    }
                    let meta = std::fs::metadata(path).map_err(|e| LakeError::Io {
                        path: path.display().to_string(),
                        source: e,
                    })?;
                    if !meta.is_file() {
                        continue;
                    }
                    let rel = path
                        .strip_prefix(root)
                        .unwrap_or(path)
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    out.push(SourceFile {
                        rel_path: rel,
                        size: meta.len(),
                    });
                }
            }
            Root::Store { store, prefix, .. } => {
                let mut s = store.list(Some(prefix));
                while let Some(meta) = s.try_next().await.map_err(|e| store_err(prefix, e))? {
                    let full = meta.location.to_string();
                    let rel = full
                        .strip_prefix(prefix.as_ref())
                        .unwrap_or(&full)
                        .trim_start_matches('/')
                        .to_string();
                    out.push(SourceFile {
                        rel_path: rel,
                        size: meta.size,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
        Ok(out)
    }

    /// Opens a file for blocking reads of its raw (possibly compressed) bytes. Must be
    /// called inside a tokio runtime; the reader may then be used on a blocking thread.
    pub async fn open(&self, file: &SourceFile) -> Result<Box<dyn Read + Send>> {
        match &self.0 {
            Root::Local(root) => {
                let p = root.join(&file.rel_path);
                let f = std::fs::File::open(&p).map_err(|e| LakeError::Io {
                    path: p.display().to_string(),
                    source: e,
                })?;
                Ok(Box::new(f))
            }
            Root::Store { store, prefix, .. } => {
                let loc = Path::from(
                    format!(
                        "{}/{}",
                        prefix.as_ref().trim_end_matches('/'),
                        file.rel_path
                    )
                    .trim_start_matches('/'),
                );
                let res = store.get(&loc).await.map_err(|e| store_err(&loc, e))?;
                let stream = res.into_stream().map_err(std::io::Error::other);
                let reader = tokio_util::io::StreamReader::new(stream);
                Ok(Box::new(tokio_util::io::SyncIoBridge::new(reader)))
            }
        }
    }

    /// Human-readable location of a file, for error messages.
    pub fn display_path(&self, file: &SourceFile) -> String {
        match &self.0 {
            Root::Local(root) => root.join(&file.rel_path).display().to_string(),
            Root::Store { url, .. } => {
                format!("{}/{}", url.as_str().trim_end_matches('/'), file.rel_path)
            }
        }
    }

    /// The root as given, for messages.
    pub fn display(&self) -> String {
        match &self.0 {
            Root::Local(root) => root.display().to_string(),
            Root::Store { url, .. } => url.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lists_local_files_recursively_sorted_with_forward_slashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("b/c/x.json"), "{}\n").unwrap();
        std::fs::write(dir.path().join("a.json"), "{}\n{}\n").unwrap();
        let root = SourceRoot::parse(dir.path().to_str().unwrap()).unwrap();
        let files = root.list().await.unwrap();
        let names: Vec<_> = files.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(names, ["a.json", "b/c/x.json"]);
        assert_eq!(files[0].size, 6);
        let mut s = String::new();
        root.open(&files[1])
            .await
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "{}\n");
    }

    #[test]
    fn refuses_missing_folders_and_odd_schemes() {
        assert!(SourceRoot::parse("/no/such/folder/at/all").is_err());
        assert!(SourceRoot::parse("ftp://x/y").is_err());
        assert!(SourceRoot::parse("s3:///nobucket").is_err());
    }
}
