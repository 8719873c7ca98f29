//! Source roots (local folder or object store), file listing and dataset recognition.

use std::io::Read;
use std::path::{Path as StdPath, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use reviewlake_schema::RawDataset;
use url::Url;

use crate::{IngestError, Result};

/// Recognises the dataset of a source file from its path relative to the source root
/// (forward slashes). `None` for files that are not part of a known dataset.
///
/// ```
/// use reviewlake_ingest::{detect_dataset, RawDataset};
/// assert_eq!(detect_dataset("yelp/yelp_academic_dataset_review.json"), Some(RawDataset::YelpReview));
/// assert_eq!(detect_dataset("google/metadata-sitios/3.json"), Some(RawDataset::GoogleMetadata));
/// assert_eq!(detect_dataset("google-meta/meta-Vermont.json.gz"), Some(RawDataset::GoogleMetadata));
/// assert_eq!(detect_dataset("google/reviews-estados/review-Texas/1.json"), Some(RawDataset::GoogleReview));
/// assert_eq!(detect_dataset("SOURCES.md"), None);
/// ```
pub fn detect_dataset(rel_path: &str) -> Option<RawDataset> {
    let lower = rel_path.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    let is_json = [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|e| stem.ends_with(e));
    if !is_json {
        return None;
    }
    let mut parts: Vec<&str> = stem.split('/').collect();
    let file = parts.pop().unwrap_or("");
    if let Some(rest) = file.strip_prefix("yelp_academic_dataset_") {
        let name = rest.split('.').next().unwrap_or("");
        return match name {
            "business" => Some(RawDataset::YelpBusiness),
            "review" => Some(RawDataset::YelpReview),
            "user" => Some(RawDataset::YelpUser),
            "checkin" => Some(RawDataset::YelpCheckin),
            "tip" => Some(RawDataset::YelpTip),
            _ => None,
        };
    }
    if parts.contains(&"metadata-sitios") || file.starts_with("meta-") {
        return Some(RawDataset::GoogleMetadata);
    }
    if parts.iter().any(|p| p.starts_with("review-")) || file.starts_with("review-") {
        return Some(RawDataset::GoogleReview);
    }
    None
}

/// One file under a source root.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the root, forward slashes.
    pub rel_path: String,
    /// Size in bytes.
    pub size: u64,
}

/// Where the sources are.
#[derive(Clone)]
pub enum SourceRoot {
    /// A local folder.
    Local(PathBuf),
    /// An object store prefix (S3 and S3-compatible, or `file://`).
    Store {
        /// The store.
        store: Arc<dyn ObjectStore>,
        /// The prefix of the root inside the store.
        prefix: Path,
        /// The URL as given.
        url: Url,
    },
}

impl std::fmt::Debug for SourceRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceRoot::Local(p) => write!(f, "SourceRoot::Local({})", p.display()),
            SourceRoot::Store { url, .. } => write!(f, "SourceRoot::Store({url})"),
        }
    }
}

impl SourceRoot {
    /// Parses a local path or an object-store URL. S3 settings come from `AWS_*`
    /// environment variables (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, credentials, region).
    pub fn parse(location: &str) -> Result<SourceRoot> {
        match Url::parse(location) {
            Ok(url) if url.scheme() == "file" => {
                let p = url.to_file_path().map_err(|_| IngestError::InvalidSource {
                    location: location.into(),
                    reason: "not a local file URL".into(),
                })?;
                Ok(SourceRoot::Local(p))
            }
            Ok(url) if url.scheme().len() > 1 => {
                let opts: Vec<(String, String)> = std::env::vars()
                    .filter(|(k, _)| k.starts_with("AWS_"))
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect();
                let (store, prefix) = object_store::parse_url_opts(&url, opts).map_err(|e| {
                    IngestError::ObjectStore {
                        path: location.into(),
                        source: e,
                    }
                })?;
                Ok(SourceRoot::Store {
                    store: Arc::from(store),
                    prefix,
                    url,
                })
            }
            _ => {
                let p = StdPath::new(location);
                if !p.is_dir() {
                    return Err(IngestError::InvalidSource {
                        location: location.into(),
                        reason: "not a folder".into(),
                    });
                }
                Ok(SourceRoot::Local(p.to_path_buf()))
            }
        }
    }

    /// Every file below the root, sorted by path.
    pub async fn list(&self) -> Result<Vec<SourceFile>> {
        let mut out = Vec::new();
        match self {
            SourceRoot::Local(root) => {
                let mut stack = vec![root.clone()];
                while let Some(dir) = stack.pop() {
                    let rd = std::fs::read_dir(&dir).map_err(|e| io_err(&dir, e))?;
                    for entry in rd {
                        let entry = entry.map_err(|e| io_err(&dir, e))?;
                        let ft = entry.file_type().map_err(|e| io_err(&entry.path(), e))?;
                        let path = entry.path();
                        if ft.is_dir() {
                            stack.push(path);
                        } else if ft.is_file() || ft.is_symlink() {
                            let meta = std::fs::metadata(&path).map_err(|e| io_err(&path, e))?;
                            if !meta.is_file() {
                                continue;
                            }
                            let rel = path
                                .strip_prefix(root)
                                .unwrap_or(&path)
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
                }
            }
            SourceRoot::Store { store, prefix, .. } => {
                let mut s = store.list(Some(prefix));
                while let Some(meta) = s.try_next().await.map_err(|e| IngestError::ObjectStore {
                    path: prefix.to_string(),
                    source: e,
                })? {
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
        match self {
            SourceRoot::Local(root) => {
                let p = root.join(&file.rel_path);
                let f = std::fs::File::open(&p).map_err(|e| io_err(&p, e))?;
                Ok(Box::new(f))
            }
            SourceRoot::Store { store, prefix, .. } => {
                let loc = Path::from(
                    format!(
                        "{}/{}",
                        prefix.as_ref().trim_end_matches('/'),
                        file.rel_path
                    )
                    .trim_start_matches('/'),
                );
                let res = store
                    .get(&loc)
                    .await
                    .map_err(|e| IngestError::ObjectStore {
                        path: loc.to_string(),
                        source: e,
                    })?;
                let stream = res.into_stream().map_err(std::io::Error::other);
                let reader = tokio_util::io::StreamReader::new(stream);
                Ok(Box::new(tokio_util::io::SyncIoBridge::new(reader)))
            }
        }
    }

    /// Human-readable location of a file, for error messages.
    pub fn display_path(&self, file: &SourceFile) -> String {
        match self {
            SourceRoot::Local(root) => root.join(&file.rel_path).display().to_string(),
            SourceRoot::Store { url, .. } => {
                format!("{}/{}", url.as_str().trim_end_matches('/'), file.rel_path)
            }
        }
    }
}

fn io_err(p: &StdPath, e: std::io::Error) -> IngestError {
    IngestError::Source {
        path: p.display().to_string(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_every_published_layout() {
        use RawDataset::*;
        let cases = [
            (
                "yelp/yelp_academic_dataset_business.json",
                Some(YelpBusiness),
            ),
            ("yelp_academic_dataset_user.json.gz", Some(YelpUser)),
            ("x/yelp_academic_dataset_checkin.json", Some(YelpCheckin)),
            ("yelp_academic_dataset_tip.jsonl", Some(YelpTip)),
            ("google/metadata-sitios/11.json", Some(GoogleMetadata)),
            (
                "google/reviews-estados/review-New_York/2.json",
                Some(GoogleReview),
            ),
            ("review-Vermont.json.gz", Some(GoogleReview)),
            ("manifest.json", None),
            ("google/metadata-sitios/readme.txt", None),
            ("yelp_academic_dataset_photo.json", None),
        ];
        for (p, want) in cases {
            assert_eq!(detect_dataset(p), want, "{p}");
        }
    }
}
