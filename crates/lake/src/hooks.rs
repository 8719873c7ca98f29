//! A test hook for crash tests: with `REVIEWLAKE_TEST_PAUSE_AFTER_COMMITS=N` in the
//! environment, the process stops still after its N-th table commit, prints
//! `reviewlake-test: paused after commit N (zone/name)` on stderr, and waits to be
//! killed. Tests use it to SIGKILL a build at an exact point between two commits.
//! Without the variable it costs one atomic increment per commit.

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

/// Called after every successful table commit of this process.
pub(crate) fn after_commit(table: &str) {
    let n = COMMITS.fetch_add(1, Ordering::SeqCst) + 1;
    if pause_after() == Some(n) {
        eprintln!("reviewlake-test: paused after commit {n} ({table})");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
