//! The service state: the lake, the snapshot answered from (swapped atomically), and
//! the reload logic.
//!
//! Requests take an `Arc` of the current [`LoadedSnapshot`] when they start and keep it
//! until they end, so a switch to a newer snapshot (by the poller or `POST
//! /v1/admin/reload`) never fails or mixes a request in flight: it finishes on the
//! snapshot it started with, and the old snapshot is freed when the last one ends.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use reviewlake_lake::Lake;

use crate::error::{ApiError, Result};
use crate::resources::Reloaded;
use crate::snapshot::LoadedSnapshot;

/// The state every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    lake: Lake,
    current: ArcSwapOption<LoadedSnapshot>,
    /// One load at a time (poller and admin requests).
    reload: tokio::sync::Mutex<()>,
    admin_token: Option<String>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("lake", &self.inner.lake.display_root())
            .field("snapshot", &self.snapshot_id())
            .finish()
    }
}

impl Service {
    /// A service over `lake` with nothing loaded yet (see [`Service::reload`]).
    /// `admin_token` enables `POST /v1/admin/reload`; `metrics` renders `/metrics`.
    pub fn new(
        lake: Lake,
        admin_token: Option<String>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Service {
        Service {
            inner: Arc::new(Inner {
                lake,
                current: ArcSwapOption::empty(),
                reload: tokio::sync::Mutex::new(()),
                admin_token: admin_token.filter(|t| !t.is_empty()),
                metrics,
            }),
        }
    }

    /// The lake.
    pub fn lake(&self) -> &Lake {
        &self.inner.lake
    }

    /// The snapshot answered from now, if one is loaded.
    pub fn current(&self) -> Option<Arc<LoadedSnapshot>> {
        self.inner.current.load_full()
    }

    /// The snapshot answered from now, or [`ApiError::NotReady`].
    pub fn snapshot(&self) -> Result<Arc<LoadedSnapshot>> {
        self.current()
            .ok_or_else(|| ApiError::NotReady("the service is loading the lake".into()))
    }

    /// The id of the loaded snapshot.
    pub fn snapshot_id(&self) -> Option<i64> {
        self.inner.current.load().as_ref().and_then(|s| s.id())
    }

    /// Whether a snapshot is loaded.
    pub fn is_ready(&self) -> bool {
        self.inner.current.load().is_some()
    }

    pub(crate) fn admin_token(&self) -> Option<&str> {
        self.inner.admin_token.as_deref()
    }

    pub(crate) fn metrics(&self) -> Option<&metrics_exporter_prometheus::PrometheusHandle> {
        self.inner.metrics.as_ref()
    }

    /// Loads the lake's latest snapshot if it is not the one answered from (or always
    /// with `force`), then switches to it. Requests in flight finish on the old one.
    pub async fn reload(&self, force: bool) -> Result<Reloaded> {
        let _one = self.inner.reload.lock().await;
        let previous = self.current();
        let previous_id = previous.as_ref().and_then(|s| s.id());
        let latest = self.inner.lake.latest_snapshot().await?;
        let unchanged = match (&previous, &latest) {
            (Some(p), Some(l)) => p.id() == Some(l.id),
            _ => false,
        };
        if unchanged && !force {
            return Ok(Reloaded {
                reloaded: false,
                previous_snapshot_id: previous_id,
                snapshot_id: previous_id,
            });
        }
        let started = std::time::Instant::now();
        let loaded = load_on_blocking_thread(self.inner.lake.clone(), latest).await?;
        let id = loaded.id();
        tracing::info!(
            snapshot = ?id,
            previous = ?previous_id,
            businesses = loaded.business_count(),
            users = loaded.user_count(),
            seconds = started.elapsed().as_secs_f64(),
            "snapshot loaded"
        );
        self.inner.current.store(Some(Arc::new(loaded)));
        metrics::gauge!("reviewlake_snapshot_id").set(id.unwrap_or(0) as f64);
        metrics::counter!("reviewlake_snapshot_loads_total").increment(1);
        Ok(Reloaded {
            reloaded: true,
            previous_snapshot_id: previous_id,
            snapshot_id: id,
        })
    }

    /// Reloads every `interval` until `shutdown` resolves; failures are logged and the
    /// current snapshot stays.
    pub async fn poll(self, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tick.tick() => {
                    if let Err(e) = self.reload(false).await {
                        tracing::warn!(error = %e, "polling the lake for a new snapshot failed");
                    }
                }
            }
        }
    }
}

/// Loads a snapshot on a blocking thread driven by the runtime's handle: the lake's
/// session futures are not `Send` for every lifetime (so they cannot be spawned), and
/// a load is long CPU work that should not hold a worker thread anyway.
async fn load_on_blocking_thread(
    lake: Lake,
    snapshot: Option<reviewlake_lake::Snapshot>,
) -> Result<LoadedSnapshot> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        handle.block_on(LoadedSnapshot::load(&lake, snapshot.as_ref()))
    })
    .await
    .map_err(|e| ApiError::Data(format!("the snapshot load stopped: {e}")))?
}
