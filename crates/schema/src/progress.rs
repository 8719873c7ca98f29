//! Progress events: the one way every reviewlake library reports how far a long task
//! has come. Libraries send [`Event`]s to a [`Reporter`]; the binary that called them
//! decides how to show them (progress bars, log lines, nothing).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use reviewlake_schema::progress::{Event, Progress, Reporter, Unit};
//!
//! #[derive(Default)]
//! struct Count(Mutex<u64>);
//! impl Progress for Count {
//!     fn event(&self, e: &Event<'_>) {
//!         if let Event::Advance { n, .. } = e {
//!             *self.0.lock().unwrap() += n;
//!         }
//!     }
//! }
//! let sink = Arc::new(Count::default());
//! let r = Reporter::new(sink.clone());
//! r.start("ingest", Some(10), Unit::Bytes);
//! r.advance("ingest", 4);
//! r.advance("ingest", 6);
//! r.finish("ingest");
//! assert_eq!(*sink.0.lock().unwrap(), 10);
//! // A reporter with no sink costs nothing.
//! Reporter::none().advance("ingest", 1);
//! ```

use std::fmt;
use std::sync::Arc;

/// What the amounts of a task count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes read or written.
    Bytes,
    /// Table rows.
    Rows,
    /// Anything else counted one by one (files, texts, models, trials).
    Items,
}

/// One progress event. `task` names the task, e.g. `ingest` or `warehouse/fact_review`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A task starts; `total` is its size in `unit`s when known.
    Start {
        /// The task.
        task: &'a str,
        /// Its size, when known.
        total: Option<u64>,
        /// What the amounts count.
        unit: Unit,
    },
    /// `n` more units of the task are done.
    Advance {
        /// The task.
        task: &'a str,
        /// Units done since the last event.
        n: u64,
    },
    /// The task's size became known (or changed).
    Total {
        /// The task.
        task: &'a str,
        /// Its size.
        total: u64,
    },
    /// A short message about the task's current step.
    Note {
        /// The task.
        task: &'a str,
        /// The message.
        message: &'a str,
    },
    /// The task is over.
    Finish {
        /// The task.
        task: &'a str,
    },
}

/// Receives progress events. Implemented by binaries (progress bars) and tests.
pub trait Progress: Send + Sync {
    /// Handles one event. Must be cheap: it is called from hot loops.
    fn event(&self, event: &Event<'_>);
}

/// A cheap, clonable handle libraries report through; [`Reporter::none`] drops every
/// event.
#[derive(Clone, Default)]
pub struct Reporter(Option<Arc<dyn Progress>>);

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Reporter(active)"
        } else {
            "Reporter(none)"
        })
    }
}

impl Reporter {
    /// A reporter sending every event to `sink`.
    pub fn new(sink: Arc<dyn Progress>) -> Reporter {
        Reporter(Some(sink))
    }

    /// A reporter that drops every event.
    pub fn none() -> Reporter {
        Reporter(None)
    }

    /// Whether events go anywhere.
    pub fn is_active(&self) -> bool {
        self.0.is_some()
    }

    /// Sends `event`.
    pub fn send(&self, event: &Event<'_>) {
        if let Some(s) = &self.0 {
            s.event(event);
        }
    }

    /// [`Event::Start`].
    pub fn start(&self, task: &str, total: Option<u64>, unit: Unit) {
        self.send(&Event::Start { task, total, unit });
    }

    /// [`Event::Advance`].
    pub fn advance(&self, task: &str, n: u64) {
        self.send(&Event::Advance { task, n });
    }

    /// [`Event::Total`].
    pub fn total(&self, task: &str, total: u64) {
        self.send(&Event::Total { task, total });
    }

    /// [`Event::Note`].
    pub fn note(&self, task: &str, message: &str) {
        self.send(&Event::Note { task, message });
    }

    /// [`Event::Finish`].
    pub fn finish(&self, task: &str) {
        self.send(&Event::Finish { task });
    }
}
