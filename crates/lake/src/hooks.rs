//! A test hook for crash tests, compiled only with the `test-hooks` feature (the xtask
//! crate's tests turn it on through a dev-dependency; `cargo build`, `cargo run` and
//! release binaries never have it).
//!
//! With the feature and `REVIEWLAKE_TEST_PAUSE_AFTER_COMMITS=N` in the environment, the
//! process stops still after its N-th table commit, prints
//! `reviewlake-test: paused after commit N (zone/name)` on stderr, and waits to be
//! killed. Tests use it to SIGKILL a build at an exact point between two commits.
//! Without the feature the hook is an empty function and the variable means nothing.

#[cfg(feature = "test-hooks")]
mod imp {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static COMMITS: AtomicU64 = AtomicU64::new(0);

    fn pause_after() -> Option<u64> {
        static AT: OnceLock<Option<u64>> = OnceLock::new();
        *AT.get_or_init(|| {
            std::env::var("REVIEWLAKE_TEST_PAUSE_AFTER_COMMITS")
                .ok()
                .and_then(|v| v.parse().ok())
        })
    }

    pub(crate) fn after_commit(table: &str) {
        let n = COMMITS.fetch_add(1, Ordering::SeqCst) + 1;
        if pause_after() == Some(n) {
            eprintln!("reviewlake-test: paused after commit {n} ({table})");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }
}

/// Called after every successful table commit of this process.
#[cfg(feature = "test-hooks")]
pub(crate) fn after_commit(table: &str) {
    imp::after_commit(table);
}

/// Called after every successful table commit of this process (no hook in this build).
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn after_commit(_table: &str) {}
