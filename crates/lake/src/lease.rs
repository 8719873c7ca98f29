//! One writer at a time: the writer lease.
//!
//! A writer creates `<lake>/_lease/lease-<epoch>.json` with put-if-absent (create-new);
//! the object names the run, host, process and when it was taken, and is renewed every
//! few seconds while the run goes on. A second writer that finds a live lease fails at
//! once with "lake PATH is being written by run R since T". A lease is stale — and the
//! next writer takes the following epoch — once it has not been renewed for
//! [`LEASE_TTL`], or at once when its holder ran on this host and that process is gone
//! (so a killed run never blocks the next). Readers never need the lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::{Lake, LakeError, Result, store_err};

/// A lease not renewed for this long is stale.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often the holder renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// What a lease object holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseInfo {
    run: String,
    host: String,
    pid: u32,
    /// RFC 3339.
    since: String,
    renewed_ms: i64,
}

/// The lease this process holds on a lake.
pub(crate) struct Held {
    epoch: u64,
    run: String,
    holders: usize,
    stop: Arc<AtomicBool>,
    store: Arc<dyn ObjectStore>,
    path: Path,
}

/// Proof that this process holds the writer lease of a lake. Clones of one [`Lake`]
/// share it: nested acquisitions (a pipeline, then each stage) count up, and the lease
/// is released when the last guard is released or dropped.
pub struct WriterGuard {
    lake: Lake,
    released: bool,
}

impl std::fmt::Debug for WriterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterGuard")
            .field("lake", &self.lake.root().as_str())
            .finish()
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Whether process `pid` exists on this host.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: kill with signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        if r == 0 {
            return true;
        }
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl LeaseInfo {
    fn is_live(&self) -> bool {
        if now_ms() - self.renewed_ms > LEASE_TTL.as_millis() as i64 {
            return false;
        }
        if self.host == hostname() && self.pid != std::process::id() {
            return process_alive(self.pid);
        }
        true
    }
}

fn lease_path(prefix: &str, epoch: u64) -> Path {
    Path::from(format!("{prefix}_lease/lease-{epoch:012}.json"))
}

fn epoch_of(p: &Path) -> Option<u64> {
    p.filename()?
        .strip_prefix("lease-")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

async fn read_info(store: &dyn ObjectStore, p: &Path) -> Result<Option<LeaseInfo>> {
    match store.get(p).await {
        Ok(r) => {
            let bytes = r.bytes().await.map_err(|e| store_err(p, e))?;
            Ok(serde_json::from_slice(&bytes).ok())
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(p, e)),
    }
}

async fn write_info(
    store: &dyn ObjectStore,
    p: &Path,
    info: &LeaseInfo,
    mode: PutMode,
) -> Result<()> {
    let body = serde_json::to_vec(info).unwrap_or_default();
    store
        .put_opts(
            p,
            PutPayload::from(body),
            PutOptions {
                mode,
                ..Default::default()
            },
        )
        .await
        .map(|_| ())
        .map_err(|e| store_err(p, e))
}

impl Lake {
    /// Takes the writer lease of this lake for run `run` (or joins the lease this
    /// process already holds through this handle). Fails with [`LakeError::LeaseHeld`]
    /// when another live run holds it. Every stage that writes takes it; readers never.
    pub async fn acquire_writer(&self, run: &str) -> Result<WriterGuard> {
        {
            let mut held = self
                .shared
                .lease
                .lock()
                .map_err(|_| self.not_holder("the lease state is poisoned"))?;
            if let Some(h) = held.as_mut() {
                h.holders += 1;
                return Ok(WriterGuard {
                    lake: self.clone(),
                    released: false,
                });
            }
        }
        let (store, prefix) = self.root_store_and_prefix()?;
        let dir = Path::from(format!("{prefix}_lease"));
        let listed: Vec<Path> = store
            .list(Some(&dir))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| store_err(&dir, e))?;
        let mut epochs: Vec<(u64, Path)> = listed
            .into_iter()
            .filter_map(|p| epoch_of(&p).map(|e| (e, p)))
            .collect();
        epochs.sort_by_key(|(e, _)| *e);
        let top = epochs.last().map(|(e, _)| *e).unwrap_or(0);
        if let Some((_, p)) = epochs.last()
            && let Some(info) = read_info(store.as_ref(), p).await?
            && info.is_live()
        {
            return Err(self.held_by(&info));
        }
        let epoch = top + 1;
        let path = lease_path(&prefix, epoch);
        let info = LeaseInfo {
            run: run.to_string(),
            host: hostname(),
            pid: std::process::id(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            renewed_ms: now_ms(),
        };
        match write_info(store.as_ref(), &path, &info, PutMode::Create).await {
            Ok(()) => {}
            Err(LakeError::ObjectStore { source, .. })
                if matches!(*source, object_store::Error::AlreadyExists { .. }) =>
            {
                // Another writer took this epoch between our listing and our put.
                let other = read_info(store.as_ref(), &path).await?;
                return Err(match other {
                    Some(o) => self.held_by(&o),
                    None => self.not_holder("another writer took the lease at the same moment"),
                });
            }
            Err(LakeError::ObjectStore { source, .. })
                if matches!(*source, object_store::Error::NotImplemented { .. }) =>
            {
                // Stores without conditional put (some S3-compatible servers): best effort.
                tracing::warn!(
                    "the lake's store has no put-if-absent: the writer lease is best effort"
                );
                write_info(store.as_ref(), &path, &info, PutMode::Overwrite).await?;
            }
            Err(e) => return Err(e),
        }
        // Older epochs are history now.
        for (_, p) in &epochs {
            let _ = store.delete(p).await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (store, path, stop, mut info) =
                (store.clone(), path.clone(), stop.clone(), info.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RENEW_EVERY).await;
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    info.renewed_ms = now_ms();
                    if let Err(e) =
                        write_info(store.as_ref(), &path, &info, PutMode::Overwrite).await
                    {
                        tracing::warn!(error = %e, "renewing the writer lease failed");
                    }
                }
            });
        }
        let mut held = self
            .shared
            .lease
            .lock()
            .map_err(|_| self.not_holder("the lease state is poisoned"))?;
        *held = Some(Held {
            epoch,
            run: run.to_string(),
            holders: 1,
            stop,
            store,
            path,
        });
        tracing::debug!(epoch, run, "writer lease taken");
        Ok(WriterGuard {
            lake: self.clone(),
            released: false,
        })
    }

    fn held_by(&self, info: &LeaseInfo) -> LakeError {
        LakeError::LeaseHeld {
            lake: self.display_root(),
            run: info.run.clone(),
            since: info.since.clone(),
        }
    }

    fn not_holder(&self, reason: &str) -> LakeError {
        LakeError::NotLeaseHolder {
            lake: self.display_root(),
            reason: reason.to_string(),
        }
    }

    /// The run id of the lease this process holds, after checking that the lease
    /// object is still ours (a writer that was paused past the TTL may have lost it).
    pub(crate) async fn check_lease(&self) -> Result<String> {
        let (store, path, epoch, run) = {
            let held = self
                .shared
                .lease
                .lock()
                .map_err(|_| self.not_holder("the lease state is poisoned"))?;
            let Some(h) = held.as_ref() else {
                return Err(self.not_holder("this process does not hold the writer lease"));
            };
            (h.store.clone(), h.path.clone(), h.epoch, h.run.clone())
        };
        let parent = Path::from(path.as_ref().rsplit_once('/').map(|(d, _)| d).unwrap_or(""));
        let newer = store
            .list(Some(&parent))
            .try_filter_map(|m| async move { Ok(epoch_of(&m.location)) })
            .try_collect::<Vec<u64>>()
            .await
            .map_err(|e| store_err(&parent, e))?
            .into_iter()
            .any(|e| e > epoch);
        if newer {
            return Err(self.not_holder(&format!(
                "run {run} lost the writer lease (not renewed for {} s); its work is not committed",
                LEASE_TTL.as_secs()
            )));
        }
        Ok(run)
    }

    async fn release_lease(&self) {
        let taken = {
            let Ok(mut held) = self.shared.lease.lock() else {
                return;
            };
            match held.as_mut() {
                Some(h) if h.holders > 1 => {
                    h.holders -= 1;
                    None
                }
                Some(_) => held.take(),
                None => None,
            }
        };
        if let Some(h) = taken {
            h.stop.store(true, Ordering::SeqCst);
            let _ = h.store.delete(&h.path).await;
            tracing::debug!(epoch = h.epoch, "writer lease released");
        }
    }
}

impl WriterGuard {
    /// Releases this hold on the lease (the lease object is deleted when it was the
    /// last one).
    pub async fn release(mut self) {
        self.released = true;
        self.lake.release_lease().await;
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let lake = self.lake.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(async move { lake.release_lease().await });
            }
            Err(_) => {
                // No runtime: stop renewing; the lease goes stale on its own (at once for
                // this host once the process exits).
                if let Ok(mut held) = lake.shared.lease.lock()
                    && let Some(h) = held.as_mut()
                {
                    h.holders = h.holders.saturating_sub(1);
                    if h.holders == 0
                        && let Some(h) = held.take()
                    {
                        h.stop.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
    }
}
