//! Progress bars for the libraries' [`reviewlake_schema::progress`] events: one
//! indicatif bar per task name, all in one [`MultiProgress`], styled by [`Unit`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reviewlake_schema::progress::{Event, Progress, Reporter, Unit};

/// Draws every task it hears of as a bar on stderr (hidden when stderr is not a
/// terminal). A task started again gets a fresh bar.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, (ProgressBar, Unit)>>,
}

impl Bars {
    /// Bars on stderr.
    pub fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn style(unit: Unit, known_total: bool) -> ProgressStyle {
        let amounts = match unit {
            Unit::Bytes if known_total => {
                "{binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, eta {eta})"
            }
            Unit::Bytes => "{binary_bytes} ({binary_bytes_per_sec})",
            Unit::Rows if known_total => "{human_pos}/{human_len} rows ({per_sec}, eta {eta})",
            Unit::Rows => "{human_pos} rows ({per_sec})",
            Unit::Items if known_total => "{human_pos}/{human_len} ({per_sec}, eta {eta})",
            Unit::Items => "{human_pos} ({per_sec})",
        };
        let template = if known_total {
            format!("{{spinner}} {{prefix}} [{{elapsed_precise}}] {{wide_bar}} {amounts} {{msg}}")
        } else {
            format!("{{spinner}} {{prefix}} [{{elapsed_precise}}] {amounts} {{msg}}")
        };
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar())
    }

    /// The bar of `task`, if it started.
    fn with_bar(&self, task: &str, f: impl FnOnce(&ProgressBar, Unit)) {
        let bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((pb, unit)) = bars.get(task) {
            f(pb, *unit);
        }
    }
}

impl Default for Bars {
    fn default() -> Bars {
        Bars::new()
    }
}

impl Progress for Bars {
    fn event(&self, event: &Event<'_>) {
        match *event {
            Event::Start { task, total, unit } => {
                let pb = self.multi.add(ProgressBar::new(total.unwrap_or(0)));
                pb.set_style(Bars::style(unit, total.is_some()));
                pb.set_prefix(task.to_string());
                let mut bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((old, _)) = bars.insert(task.to_string(), (pb, unit)) {
                    old.finish();
                }
            }
            Event::Advance { task, n } => self.with_bar(task, |pb, _| pb.inc(n)),
            Event::Total { task, total } => self.with_bar(task, |pb, unit| {
                pb.set_style(Bars::style(unit, true));
                pb.set_length(total);
            }),
            Event::Note { task, message } => {
                self.with_bar(task, |pb, _| pb.set_message(message.to_string()))
            }
            Event::Finish { task } => self.with_bar(task, |pb, _| pb.finish()),
        }
    }
}

/// A reporter drawing bars on stderr, or dropping every event when `quiet`.
pub fn reporter(quiet: bool) -> Reporter {
    if quiet {
        Reporter::none()
    } else {
        Reporter::new(Arc::new(Bars::new()))
    }
}
