//! The driver shared by [`generate`](crate::generate) and [`Records`]: pulls clean
//! records from a dataset's [`Source`], routes them to the dataset's files (parts,
//! state folders) and through the dirt injection of each file's [`Sink`].

use std::path::{Path, PathBuf};

use reviewlake_schema::RawDataset;
use reviewlake_schema::progress::{Reporter, Unit};

use super::sink::{DirtLog, FileStats, Sink};
use super::{
    DatagenError, Gen, GenOptions, Line, METADATA_PER_FILE, Manifest, PROGRESS_TASK,
    REVIEWS_PER_FILE, google, world, yelp,
};

type Result<T> = std::result::Result<T, DatagenError>;

/// The datasets in the order the generator produces them.
pub(crate) const ORDER: [RawDataset; 7] = [
    RawDataset::YelpBusiness,
    RawDataset::YelpUser,
    RawDataset::YelpReview,
    RawDataset::YelpTip,
    RawDataset::YelpCheckin,
    RawDataset::GoogleMetadata,
    RawDataset::GoogleReview,
];

/// A stream of clean records of one dataset.
pub(crate) trait Source: Send {
    /// Writes the next record (a JSON object, no newline) into `buf`, replacing its
    /// content, and returns the slot of the file it belongs to (0, or for Google
    /// reviews the index of the state); `None` at the end of the dataset.
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize>;
}

/// One open file slot: the current part (1-based, 0 before the first) and its sink.
struct Slot {
    sink: Option<Sink>,
    part: u64,
}

/// The generation of one dataset, record by record.
pub(crate) struct DatasetRun {
    dataset: RawDataset,
    source: Box<dyn Source>,
    /// The tree root, or `None` for in-memory files.
    root: Option<PathBuf>,
    /// Clean records per file before the next part starts.
    per_file: u64,
    slots: Vec<Slot>,
    finished: Vec<(usize, u64, FileStats)>,
    /// Progress units not yet reported (review datasets only).
    ticks: u64,
}

impl DatasetRun {
    pub fn new(g: &Gen, dataset: RawDataset, root: Option<&Path>) -> Result<Self> {
        let (source, per_file, slots, eager): (Box<dyn Source>, u64, usize, bool) = match dataset {
            RawDataset::YelpBusiness => (Box::<yelp::Businesses>::default(), u64::MAX, 1, true),
            RawDataset::YelpUser => (Box::<yelp::Users>::default(), u64::MAX, 1, true),
            RawDataset::YelpReview => (Box::new(yelp::Reviews::new(g)), u64::MAX, 1, true),
            RawDataset::YelpTip => (Box::new(yelp::Tips::new(g)), u64::MAX, 1, true),
            RawDataset::YelpCheckin => (Box::new(yelp::Checkins::new(g)), u64::MAX, 1, true),
            RawDataset::GoogleMetadata => (
                Box::<google::Metadata>::default(),
                METADATA_PER_FILE,
                1,
                true,
            ),
            RawDataset::GoogleReview => (
                Box::new(google::Reviews::new(g)),
                REVIEWS_PER_FILE,
                world::STATES.len(),
                false,
            ),
        };
        let mut run = DatasetRun {
            dataset,
            source,
            root: root.map(Path::to_path_buf),
            per_file,
            slots: (0..slots)
                .map(|_| Slot {
                    sink: None,
                    part: 0,
                })
                .collect(),
            finished: Vec::new(),
            ticks: 0,
        };
        if eager {
            // Single files exist even when empty; the first metadata part too.
            run.open(g, 0)?;
        }
        Ok(run)
    }

    /// Path of part `part` of slot `slot`, relative to the root.
    fn rel(&self, slot: usize, part: u64) -> String {
        match self.dataset {
            RawDataset::YelpBusiness => yelp::BUSINESS.to_string(),
            RawDataset::YelpUser => yelp::USER.to_string(),
            RawDataset::YelpReview => yelp::REVIEW.to_string(),
            RawDataset::YelpTip => yelp::TIP.to_string(),
            RawDataset::YelpCheckin => yelp::CHECKIN.to_string(),
            RawDataset::GoogleMetadata => format!("{}/{part}.json", google::METADATA_DIR),
            RawDataset::GoogleReview => google::reviews_rel(slot, part),
        }
    }

    /// Starts the next part of `slot`.
    fn open(&mut self, g: &Gen, slot: usize) -> Result<()> {
        let part = self.slots[slot].part + 1;
        let rel = self.rel(slot, part);
        // Every dirty run has at least one truncated last line: the Yelp reviews'.
        let force_truncate = self.dataset == RawDataset::YelpReview;
        let sink = Sink::create(
            self.root.as_deref(),
            &rel,
            self.dataset,
            g.seed,
            g.dirty,
            force_truncate,
        )?;
        self.slots[slot] = Slot {
            sink: Some(sink),
            part,
        };
        Ok(())
    }

    /// Generates one record. `Ok(false)` once the dataset is complete and its files
    /// finished.
    pub fn step(
        &mut self,
        g: &Gen,
        buf: &mut Vec<u8>,
        log: &mut DirtLog,
        reporter: &Reporter,
    ) -> Result<bool> {
        let Some(slot) = self.source.next(g, buf) else {
            self.report(reporter);
            for (i, s) in self.slots.iter_mut().enumerate() {
                if let Some(sink) = s.sink.take() {
                    self.finished.push((i, s.part, sink.finish(log)?));
                }
            }
            return Ok(false);
        };
        let s = &mut self.slots[slot];
        if let Some(sink) = s.sink.take_if(|s| s.generated() >= self.per_file) {
            self.finished.push((slot, s.part, sink.finish(log)?));
        }
        if s.sink.is_none() {
            self.open(g, slot)?;
        }
        if let Some(sink) = self.slots[slot].sink.as_mut() {
            sink.record(buf, log)?;
        }
        if matches!(
            self.dataset,
            RawDataset::YelpReview | RawDataset::GoogleReview
        ) {
            self.ticks += 1;
            if self.ticks == 4096 {
                self.report(reporter);
            }
        }
        Ok(true)
    }

    fn report(&mut self, reporter: &Reporter) {
        if self.ticks > 0 {
            reporter.advance(PROGRESS_TASK, self.ticks);
            self.ticks = 0;
        }
    }

    /// The finished files, by slot then part.
    pub fn into_files(mut self) -> Vec<FileStats> {
        self.finished.sort_by_key(|(slot, part, _)| (*slot, *part));
        self.finished.into_iter().map(|(_, _, f)| f).collect()
    }
}

/// An in-memory stream of the lines of generated files, made by [`records`] or
/// [`all_records`](crate::all_records). Constant memory: nothing is kept but the
/// generator state and the statistics of finished files.
///
/// Lines come file by file in the generator's order, except for Google reviews, whose
/// files (one folder per state) fill up together: their lines are interleaved, each
/// file's in order. With [`GenOptions::dirty`] above zero, lines can be blank, invalid
/// JSON or invalid UTF-8 (see [`Line::fault`]).
///
/// [`records`]: crate::records
pub struct Records {
    g: Gen,
    reviews: u64,
    reporter: Reporter,
    todo: std::vec::IntoIter<RawDataset>,
    current: Option<DatasetRun>,
    log: DirtLog,
    buf: Vec<u8>,
    files: Vec<FileStats>,
    total: u64,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    Running,
    Done,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("reviews", &self.reviews)
            .field("seed", &self.g.seed)
            .field("dirty", &self.g.dirty)
            .field("finished_files", &self.files.len())
            .field("done", &(self.state == State::Done))
            .finish_non_exhaustive()
    }
}

impl Records {
    pub(crate) fn new(opts: &GenOptions, datasets: Vec<RawDataset>) -> Result<Self> {
        let g = Gen::new(opts)?;
        let total = datasets
            .iter()
            .map(|d| match d {
                RawDataset::YelpReview => g.plan.yelp_reviews,
                RawDataset::GoogleReview => g.plan.google_reviews,
                _ => 0,
            })
            .sum();
        Ok(Records {
            g,
            reviews: opts.reviews,
            reporter: opts.reporter.clone(),
            todo: datasets.into_iter(),
            current: None,
            log: DirtLog::memory(),
            buf: Vec::with_capacity(4096),
            files: Vec::new(),
            total,
            state: State::New,
        })
    }

    /// The manifest of the files finished so far: that of the whole stream once the
    /// iterator returned `None`. It is the `manifest.json` [`generate`](crate::generate)
    /// writes, restricted to the streamed datasets.
    pub fn manifest(&self) -> Manifest {
        Manifest::build(
            self.reviews,
            self.g.seed,
            self.g.dirty,
            &self.g.plan,
            &self.files,
            &self.log.counts,
        )
    }

    /// Whether the stream is over (the iterator returned `None`).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn advance(&mut self) -> Result<Option<Line>> {
        loop {
            if let Some(line) = self.log.queue.pop_front() {
                return Ok(Some(line));
            }
            if self.state == State::Done {
                return Ok(None);
            }
            if self.state == State::New {
                self.state = State::Running;
                self.reporter
                    .start(PROGRESS_TASK, Some(self.total), Unit::Items);
            }
            match &mut self.current {
                Some(run) => {
                    if !run.step(&self.g, &mut self.buf, &mut self.log, &self.reporter)?
                        && let Some(run) = self.current.take()
                    {
                        self.files.extend(run.into_files());
                    }
                }
                None => match self.todo.next() {
                    Some(ds) => self.current = Some(DatasetRun::new(&self.g, ds, None)?),
                    None => {
                        self.state = State::Done;
                        self.reporter.finish(PROGRESS_TASK);
                    }
                },
            }
        }
    }
}

impl Iterator for Records {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        match self.advance() {
            Ok(line) => line,
            // In-memory sinks and logs do no I/O: nothing in `advance` can fail.
            Err(e) => unreachable!("in-memory generation failed: {e}"),
        }
    }
}
