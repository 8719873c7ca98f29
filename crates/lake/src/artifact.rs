//! Artifacts: named byte objects in the `models` and `reports` zones (trained models,
//! rendered reports), beside the Delta tables of those zones.

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};

use crate::{Lake, LakeError, Result, Zone, store_err};

/// Checks an artifact name: `/`-separated segments of ASCII letters, digits, `.`, `_`
/// and `-`; no empty, `.` or `..` segment, no `_delta_log`.
fn check_artifact_name(name: &str) -> Result<()> {
    let bad = |reason: &str| LakeError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 512 {
        return Err(bad("an artifact name has 1 to 512 characters"));
    }
    for seg in name.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(bad("empty, '.' and '..' segments are not allowed"));
        }
        if seg == "_delta_log" {
            return Err(bad("'_delta_log' belongs to Delta tables"));
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        {
            return Err(bad(
                "segments hold only ASCII letters, digits, '.', '_' and '-'",
            ));
        }
    }
    Ok(())
}

fn check_zone(zone: Zone) -> Result<()> {
    match zone {
        Zone::Models | Zone::Reports => Ok(()),
        other => Err(LakeError::InvalidName {
            name: other.to_string(),
            reason: "artifacts live in the models and reports zones".into(),
        }),
    }
}

impl Lake {
    fn artifact_path(&self, zone: Zone, name: &str) -> Result<Path> {
        check_zone(zone)?;
        check_artifact_name(name)?;
        let (_, prefix) = self.root_store_and_prefix()?;
        Ok(Path::from(format!("{prefix}{}/{name}", zone.as_str())))
    }

    /// Stores `bytes` as artifact `name` (e.g. `als/3/model.json`) in `zone` (models or
    /// reports), replacing an earlier one of that name. The object appears whole or not
    /// at all.
    pub async fn put_artifact(&self, zone: Zone, name: &str, bytes: Bytes) -> Result<()> {
        let path = self.artifact_path(zone, name)?;
        let (store, _) = self.root_store_and_prefix()?;
        store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| store_err(&path, e))?;
        Ok(())
    }

    /// Stores artifact `name` of `zone` from what `write` writes, without holding the
    /// whole object in memory: `write` runs on a blocking thread and its output goes up
    /// in [`ARTIFACT_CHUNK`]-byte parts (one plain put when it is smaller than one part,
    /// a multipart upload otherwise), at most two parts waiting at any time. Like
    /// [`Lake::put_artifact`], the object appears whole or not at all: when `write` fails
    /// the upload is aborted and its error returned. Returns the bytes written.
    ///
    /// Use it for artifacts of hundreds of megabytes (a factor model of millions of users
    /// serialised as JSON), where the serialised copy would double the peak memory.
    pub async fn put_artifact_with<F>(&self, zone: Zone, name: &str, write: F) -> Result<u64>
    where
        F: FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> + Send + 'static,
    {
        let path = self.artifact_path(zone, name)?;
        let (store, _) = self.root_store_and_prefix()?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(2);
        let producer = tokio::task::spawn_blocking(move || {
            let mut w = ChunkWriter {
                tx,
                buf: Vec::new(),
                total: 0,
            };
            write(&mut w)?;
            w.send_chunk()?;
            Ok::<u64, std::io::Error>(w.total)
        });
        let writer_failed = |e: std::io::Error| LakeError::ArtifactWrite {
            path: path.to_string(),
            source: e,
        };
        let joined = |r: std::result::Result<std::io::Result<u64>, tokio::task::JoinError>| {
            r.map_err(|e| writer_failed(std::io::Error::other(e.to_string())))?
                .map_err(writer_failed)
        };
        // Less than two parts (none: an empty object, or a writer that failed before its
        // first part): one plain put.
        let first = rx.recv().await;
        let second = match first {
            Some(_) => rx.recv().await,
            None => None,
        };
        let (first, second) = match (first, second) {
            (Some(first), Some(second)) => (first, second),
            (only, _) => {
                let total = joined(producer.await)?;
                store
                    .put(&path, PutPayload::from(only.unwrap_or_default()))
                    .await
                    .map_err(|e| store_err(&path, e))?;
                return Ok(total);
            }
        };
        let upload = store
            .put_multipart(&path)
            .await
            .map_err(|e| store_err(&path, e))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, ARTIFACT_CHUNK);
        parts.put(first);
        parts.put(second);
        let uploaded: std::result::Result<(), object_store::Error> = async {
            loop {
                parts.wait_for_capacity(2).await?;
                match rx.recv().await {
                    Some(chunk) => parts.put(chunk),
                    None => return Ok(()),
                }
            }
        }
        .await;
        // On an upload error the receiver goes first, so the writer stops at its next part.
        drop(rx);
        let written = joined(producer.await);
        let failed = match (uploaded, written) {
            (Ok(()), Ok(total)) => {
                parts.finish().await.map_err(|e| store_err(&path, e))?;
                return Ok(total);
            }
            (Err(e), _) => store_err(&path, e),
            (Ok(()), Err(e)) => e,
        };
        // Best effort: the error that stopped the upload is the one to report.
        let _ = parts.abort().await;
        Err(failed)
    }

    /// Reads artifact `name` of `zone`; `None` if there is none.
    pub async fn get_artifact(&self, zone: Zone, name: &str) -> Result<Option<Bytes>> {
        let path = self.artifact_path(zone, name)?;
        let (store, _) = self.root_store_and_prefix()?;
        match store.get(&path).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| store_err(&path, e))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(&path, e)),
        }
    }

    /// Names of the artifacts of `zone` under `prefix` (a name prefix of whole segments,
    /// e.g. `als`; empty for all), sorted. Delta table files are not artifacts.
    pub async fn list_artifacts(&self, zone: Zone, prefix: &str) -> Result<Vec<String>> {
        check_zone(zone)?;
        if !prefix.is_empty() {
            check_artifact_name(prefix)?;
        }
        let (store, root) = self.root_store_and_prefix()?;
        let zone_dir = format!("{root}{}", zone.as_str());
        let dir = if prefix.is_empty() {
            Path::from(zone_dir.clone())
        } else {
            Path::from(format!("{zone_dir}/{prefix}"))
        };
        let tables = self.list_tables(zone).await?;
        let mut out: Vec<String> = store
            .list(Some(&dir))
            .map_ok(|m| m.location.to_string())
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| store_err(&dir, e))?
            .into_iter()
            .filter_map(|p| p.strip_prefix(&format!("{zone_dir}/")).map(str::to_string))
            .filter(|rel| {
                let first = rel.split('/').next().unwrap_or("");
                !tables.iter().any(|t| t == first)
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

/// The part size of [`Lake::put_artifact_with`]: 8 MiB (S3 needs at least 5 MiB a part).
pub const ARTIFACT_CHUNK: usize = 8 << 20;

/// Cuts what is written into [`ARTIFACT_CHUNK`]-byte parts and hands them to the upload.
struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
    total: u64,
}

impl ChunkWriter {
    fn send_chunk(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(chunk).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the artifact upload stopped",
            )
        })
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(ARTIFACT_CHUNK);
        }
        let n = data.len().min(ARTIFACT_CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.total += n as u64;
        if self.buf.len() == ARTIFACT_CHUNK {
            self.send_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_zone() {
        for bad in [
            "",
            "../x",
            "a/../b",
            "/abs",
            "a//b",
            "a/./b",
            "x/_delta_log/1.json",
            "a b",
        ] {
            assert!(check_artifact_name(bad).is_err(), "{bad:?}");
        }
        for good in ["als/3/model.json", "report.html", "a-b_c.d"] {
            assert!(check_artifact_name(good).is_ok(), "{good:?}");
        }
    }

    #[tokio::test]
    async fn artifacts_round_trip_and_stay_in_their_zones() {
        let lake = Lake::open("memory://").unwrap();
        lake.put_artifact(Zone::Models, "als/1/model.json", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(
            lake.get_artifact(Zone::Models, "als/1/model.json")
                .await
                .unwrap(),
            Some(Bytes::from_static(b"{}"))
        );
        assert_eq!(
            lake.get_artifact(Zone::Models, "als/2/model.json")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            lake.list_artifacts(Zone::Models, "als").await.unwrap(),
            vec!["als/1/model.json".to_string()]
        );
        assert!(
            lake.put_artifact(Zone::Raw, "x", Bytes::new())
                .await
                .is_err()
        );
        assert!(
            lake.put_artifact(Zone::Models, "../raw/x", Bytes::new())
                .await
                .is_err()
        );
    }

    /// Bytes 0, 1, 2, … (mod 251) written in uneven pieces, so part boundaries fall
    /// inside writes.
    fn pattern(len: usize) -> impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> {
        move |w| {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for piece in data.chunks(1_000_003) {
                w.write_all(piece)?;
            }
            Ok(())
        }
    }

    /// A memory lake and a local-file lake in `dir`.
    fn memory_and_local(dir: &tempfile::TempDir) -> [Lake; 2] {
        [
            Lake::open("memory://").unwrap(),
            Lake::open(dir.path().to_str().unwrap()).unwrap(),
        ]
    }

    #[tokio::test]
    async fn streamed_artifacts_arrive_whole_in_one_or_many_parts() {
        let dir = tempfile::tempdir().unwrap();
        for lake in memory_and_local(&dir) {
            for (name, len) in [
                ("m/empty.json", 0),
                ("m/small.json", 1234),
                ("m/exact.json", ARTIFACT_CHUNK),
                ("m/large.json", 2 * ARTIFACT_CHUNK + 777),
            ] {
                let n = lake
                    .put_artifact_with(Zone::Models, name, pattern(len))
                    .await
                    .unwrap();
                assert_eq!(n, len as u64, "{name}");
                let got = lake
                    .get_artifact(Zone::Models, name)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(got.len(), len, "{name}");
                assert!(
                    got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8),
                    "{name}: bytes differ"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_failing_writer_stores_nothing_and_names_the_artifact() {
        let dir = tempfile::tempdir().unwrap();
        for lake in memory_and_local(&dir) {
            // Fails after three parts have gone up, and (second case) before the first.
            for after in [3 * ARTIFACT_CHUNK + 5, 10] {
                let err = lake
                    .put_artifact_with(Zone::Models, "m/broken.json", move |w| {
                        w.write_all(&vec![7u8; after])?;
                        Err(std::io::Error::other("serialiser gave up"))
                    })
                    .await
                    .unwrap_err();
                let msg = err.to_string();
                assert!(
                    msg.contains("m/broken.json") && msg.contains("serialiser gave up"),
                    "{msg}"
                );
                assert_eq!(
                    lake.get_artifact(Zone::Models, "m/broken.json")
                        .await
                        .unwrap(),
                    None
                );
                assert!(
                    lake.list_artifacts(Zone::Models, "m")
                        .await
                        .unwrap()
                        .iter()
                        .all(|n| !n.contains("broken")),
                );
            }
        }
    }
}
