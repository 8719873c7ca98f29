//! The ingest run: decide what to read, stream it, commit once per table.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use futures::StreamExt;
use reviewlake_lake::source::{SourceFile, SourceRoot};
use reviewlake_lake::{
    Columns, CommitKind, DataFile, DataFileWriter, FileSink, Lake, Stage, Table, TableRewrite, Zone,
};
use reviewlake_schema::progress::Unit;
use reviewlake_schema::{
    INGEST_LOG_TABLE, QUARANTINE_TABLE, RawDataset, col, ingest_log_schema, lineage,
    quarantine_schema,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};
use xxhash_rust::xxh3::xxh3_64;

use crate::chunk::{ChunkReader, hash_stream};
use crate::parse::{ParsedChunk, QuarantinedLine, parse_chunk};
use crate::source::detect_dataset;
use crate::{FileReport, FileStatus, IngestError, IngestOptions, IngestReport, Result};

/// One row of the ingest log.
#[derive(Debug, Clone)]
struct LogRow {
    path: String,
    dataset: String,
    size: i64,
    hash: String,
    read: i64,
    written: i64,
    rescued: i64,
    quarantined: i64,
    blank: i64,
    at_ms: i64,
}

/// Data files are named `<pathkey>-<run>-<part>-<uuid>.parquet`, where `pathkey` is a hash
/// of the source file's path: a table's files can be traced back to the source file they
/// came from without reading them.
fn path_key(rel_path: &str) -> String {
    format!("{:016x}", xxh3_64(rel_path.as_bytes()))
}

fn file_name(key: &str, run: &str, part: u32) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{key}-{run}-{part:04}-{}.parquet", &id[..12])
}

fn key_of_data_file(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next()?;
    let key = name.split('-').next()?;
    (key.len() == 16).then_some(key)
}

/// Ingests every recognised file under `opts.source` into `lake`'s raw zone.
///
/// Takes the lake's writer lease for the run. Each raw table, the quarantine and the
/// ingest log receive at most one Delta commit; the ingest log is committed last, then
/// a catalog snapshot, so an interrupted run is finished by the next one without
/// duplicates and readers never see half of it.
pub async fn ingest(lake: &Lake, opts: &IngestOptions) -> Result<IngestReport> {
    let started = Instant::now();
    let run_id = uuid::Uuid::new_v4().to_string();
    let root = SourceRoot::parse_with(&opts.source, lake.options())?;
    let guard = lake.acquire_writer(&run_id).await?;
    let result = ingest_locked(lake, opts, &root, &run_id, started).await;
    guard.release().await;
    result
}

async fn ingest_locked(
    lake: &Lake,
    opts: &IngestOptions,
    root: &SourceRoot,
    run_id: &str,
    started: Instant,
) -> Result<IngestReport> {
    let listed = root.list().await?;
    let mut report = IngestReport {
        source: opts.source.clone(),
        lake: lake.root().to_string(),
        ..Default::default()
    };

    let mut known: Vec<(SourceFile, RawDataset)> = Vec::new();
    for f in listed {
        match detect_dataset(&f.rel_path) {
            Some(d) => known.push((f, d)),
            None => report.ignored.push(f.rel_path),
        }
    }
    let progress = &opts.reporter;
    progress.start(
        "ingest",
        Some(known.iter().map(|(f, _)| f.size).sum()),
        Unit::Bytes,
    );

    // Tables exist from the first run on, even for datasets without files.
    let mut tables: HashMap<String, Table> = HashMap::new();
    for d in RawDataset::ALL {
        let t = lake
            .open_or_create(Zone::Raw, d.table_name(), &d.raw_table_schema())
            .await?;
        tables.insert(d.table_name().to_string(), t);
    }
    tables.insert(
        QUARANTINE_TABLE.to_string(),
        lake.open_or_create(Zone::Raw, QUARANTINE_TABLE, &quarantine_schema())
            .await?,
    );
    let log = read_log(lake).await?;

    // Decide per file: unchanged (skip), changed, or new.
    let mut todo: Vec<(SourceFile, RawDataset, FileStatus)> = Vec::new();
    for (f, d) in known {
        match log.get(&f.rel_path) {
            Some(row) if row.size == f.size as i64 => {
                let reader = root.open(&f).await?;
                let display = root.display_path(&f);
                let (_, hash) = tokio::task::spawn_blocking(move || hash_stream(reader))
                    .await
                    .map_err(|e| IngestError::Task(e.to_string()))?
                    .map_err(|e| IngestError::Source {
                        path: display,
                        source: e,
                    })?;
                if hash == row.hash {
                    progress.advance("ingest", f.size);
                    report.files.push(FileReport {
                        path: f.rel_path.clone(),
                        dataset: d.table_name().to_string(),
                        status: FileStatus::Unchanged,
                        read: row.read as u64,
                        written: row.written as u64,
                        rescued: row.rescued as u64,
                        quarantined: row.quarantined as u64,
                        blank: row.blank as u64,
                        bytes: f.size,
                        seconds: 0.0,
                        content_hash: hash,
                        problem: not_json_problem(row.read as u64, row.written as u64, None),
                        error: None,
                    });
                } else {
                    todo.push((f, d, FileStatus::Changed));
                }
            }
            Some(_) => todo.push((f, d, FileStatus::Changed)),
            None => todo.push((f, d, FileStatus::New)),
        }
    }
    // Largest first keeps the cores busy to the end.
    todo.sort_by_key(|t| std::cmp::Reverse(t.0.size));
    info!(
        files = todo.len(),
        skipped = report.files.len(),
        "ingest: files to read"
    );

    let sinks: HashMap<String, FileSink> = tables
        .iter()
        .map(|(k, t)| (k.clone(), t.file_sink()))
        .collect();
    let root = Arc::new(root.clone());
    let sinks = Arc::new(sinks);
    let outcomes: Vec<FileOutcome> = futures::stream::iter(todo.into_iter().map(|(f, d, st)| {
        let root = root.clone();
        let sinks = sinks.clone();
        let opts = opts.clone();
        async move { process_file(&root, f, d, st, &sinks, &opts).await }
    }))
    .buffer_unordered(opts.file_parallelism.max(1))
    .collect()
    .await;

    // One commit per table: removes of earlier rows of the re-read files, then adds.
    let mut done_keys: HashSet<String> = HashSet::new();
    let mut done_paths: Vec<String> = Vec::new();
    let mut adds: HashMap<String, Vec<DataFile>> = HashMap::new();
    let mut failed = Vec::new();
    let mut new_log_rows = Vec::new();
    for o in outcomes {
        if o.report.status == FileStatus::Failed {
            failed.push((
                o.report.path.clone(),
                o.report.error.clone().unwrap_or_default(),
            ));
        } else {
            done_keys.insert(path_key(&o.report.path));
            done_paths.push(o.report.path.clone());
            adds.entry(o.report.dataset.clone())
                .or_default()
                .extend(o.data_adds);
            adds.entry(QUARANTINE_TABLE.to_string())
                .or_default()
                .extend(o.quarantine_adds);
            new_log_rows.push(LogRow {
                path: o.report.path.clone(),
                dataset: o.report.dataset.clone(),
                size: o.report.bytes as i64,
                hash: o.report.content_hash.clone(),
                read: o.report.read as i64,
                written: o.report.written as i64,
                rescued: o.report.rescued as i64,
                quarantined: o.report.quarantined as i64,
                blank: o.report.blank as i64,
                at_ms: chrono_now_ms(),
            });
        }
        report.files.push(o.report);
    }
    done_paths.sort();
    let predicate = format!(
        "{} IN ({})",
        lineage::SOURCE_FILE,
        done_paths
            .iter()
            .map(|p| reviewlake_lake::sql_literal(p))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut names: Vec<String> = tables.keys().cloned().collect();
    names.sort();
    for name in names {
        let Some(table) = tables.get_mut(&name) else {
            continue;
        };
        let table_adds = adds.remove(&name).unwrap_or_default();
        let replaced = |p: &str| key_of_data_file(p).is_some_and(|k| done_keys.contains(k));
        debug!(table = %name, adds = table_adds.len(), "commit");
        if let Some(v) = table
            .commit(
                table_adds,
                &replaced,
                CommitKind::ReplaceWhere(predicate.clone()),
                commit_meta(run_id),
            )
            .await?
        {
            report.commits.insert(name, v);
        }
    }
    if !new_log_rows.is_empty() {
        let mut rows: BTreeMap<String, LogRow> = log.into_iter().collect();
        for r in new_log_rows {
            rows.insert(r.path.clone(), r);
        }
        let mut sink = TableRewrite::open(
            lake,
            Zone::Raw,
            INGEST_LOG_TABLE,
            ingest_log_schema(),
            run_id,
        )
        .await?;
        sink.write(log_batch(rows.values())?).await?;
        let (_, v) = sink.commit().await?;
        report.commits.insert(INGEST_LOG_TABLE.to_string(), v);
    } else if lake.table(Zone::Raw, INGEST_LOG_TABLE).await?.is_none() {
        // An empty source: the log exists from the first run on, like the tables.
        lake.open_or_create(Zone::Raw, INGEST_LOG_TABLE, &ingest_log_schema())
            .await?;
    }
    // The snapshot makes the run visible to readers, all tables at once.
    if !report.commits.is_empty() || lake.latest_snapshot().await?.is_none() {
        report.snapshot = Some(lake.commit_snapshot(Stage::Ingest).await?.id);
    }
    progress.finish("ingest");
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    report.seconds = started.elapsed().as_secs_f64();
    if !failed.is_empty() {
        return Err(IngestError::FilesFailed(failed));
    }
    Ok(report)
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn commit_meta(run_id: &str) -> HashMap<String, serde_json::Value> {
    let mut m = HashMap::new();
    m.insert("reviewlake.stage".into(), "ingest".into());
    m.insert("reviewlake.run".into(), run_id.into());
    m
}

struct FileOutcome {
    report: FileReport,
    data_adds: Vec<DataFile>,
    quarantine_adds: Vec<DataFile>,
}

/// Writers for one table, rolling to a new data file every `rows_per_file` rows.
struct RollingWriter {
    sink: FileSink,
    schema: SchemaRef,
    key: String,
    rows_per_file: u64,
    part: u32,
    current: Option<DataFileWriter>,
    adds: Vec<DataFile>,
    /// Run-unique part of the file names (objects cannot be renamed once the content
    /// hash is known, so names carry this instead).
    tag: String,
}

impl RollingWriter {
    fn new(sink: FileSink, schema: SchemaRef, key: String, tag: String, rows: u64) -> Self {
        RollingWriter {
            sink,
            schema,
            key,
            rows_per_file: rows.max(1),
            part: 0,
            current: None,
            adds: Vec::new(),
            tag,
        }
    }

    async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.current.is_none() {
            let name = file_name(&self.key, &self.tag, self.part);
            self.part += 1;
            self.current = Some(self.sink.writer(&name, self.schema.clone())?);
        }
        if let Some(w) = self.current.as_mut() {
            w.write(batch).await?;
            if w.rows() >= self.rows_per_file
                && let Some(w) = self.current.take()
                && let Some(add) = w.finish().await?
            {
                self.adds.push(add);
            }
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<Vec<DataFile>> {
        if let Some(w) = self.current.take()
            && let Some(add) = w.finish().await?
        {
            self.adds.push(add);
        }
        Ok(self.adds)
    }
}

fn quarantine_batch(
    dataset: RawDataset,
    source_file: &str,
    lines: &[QuarantinedLine],
) -> Result<RecordBatch> {
    let n = lines.len();
    let cols: Vec<Arc<dyn Array>> = vec![
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            dataset.table_name(),
            n,
        ))),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            source_file,
            n,
        ))),
        Arc::new(Int64Array::from_iter_values(
            lines.iter().map(|l| l.line as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            lines.iter().map(|l| l.offset as i64),
        )),
        Arc::new(StringArray::from_iter_values(
            lines.iter().map(|l| l.error.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            lines
                .iter()
                .map(|l| String::from_utf8_lossy(&l.raw).into_owned()),
        )),
        Arc::new(BinaryArray::from_iter_values(
            lines.iter().map(|l| l.raw.as_slice()),
        )),
    ];
    Ok(RecordBatch::try_new(quarantine_schema(), cols)?)
}

async fn process_file(
    root: &SourceRoot,
    file: SourceFile,
    dataset: RawDataset,
    status: FileStatus,
    sinks: &HashMap<String, FileSink>,
    opts: &IngestOptions,
) -> FileOutcome {
    let started = Instant::now();
    let mut report = FileReport {
        path: file.rel_path.clone(),
        dataset: dataset.table_name().to_string(),
        status,
        read: 0,
        written: 0,
        rescued: 0,
        quarantined: 0,
        blank: 0,
        bytes: file.size,
        seconds: 0.0,
        content_hash: String::new(),
        problem: None,
        error: None,
    };
    match stream_file(root, &file, dataset, sinks, opts, &mut report).await {
        Ok((data_adds, quarantine_adds)) => {
            report.seconds = started.elapsed().as_secs_f64();
            info!(
                path = %report.path,
                read = report.read,
                written = report.written,
                quarantined = report.quarantined,
                seconds = report.seconds,
                "ingested"
            );
            FileOutcome {
                report,
                data_adds,
                quarantine_adds,
            }
        }
        Err(e) => {
            warn!(path = %report.path, error = %e, "source file failed; nothing of it is committed");
            report.status = FileStatus::Failed;
            report.error = Some(e.to_string());
            report.seconds = started.elapsed().as_secs_f64();
            FileOutcome {
                report,
                data_adds: Vec::new(),
                quarantine_adds: Vec::new(),
            }
        }
    }
}

type ParseResult = std::result::Result<ParsedChunk, arrow_schema::ArrowError>;

async fn stream_file(
    root: &SourceRoot,
    file: &SourceFile,
    dataset: RawDataset,
    sinks: &HashMap<String, FileSink>,
    opts: &IngestOptions,
    report: &mut FileReport,
) -> Result<(Vec<DataFile>, Vec<DataFile>)> {
    let shown = root.display_path(file);
    let reader = root.open(file).await?;
    let in_flight = rayon::current_num_threads().max(1) * 2;
    let (tx, mut rx) = mpsc::channel::<oneshot::Receiver<ParseResult>>(in_flight);
    let chunk_bytes = opts.chunk_bytes;
    let rel = Arc::new(file.rel_path.clone());
    let rel2 = rel.clone();
    let reader_task = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, String)> {
        let mut cr = ChunkReader::new(reader, chunk_bytes)?;
        while let Some(chunk) = cr.next_chunk()? {
            let (otx, orx) = oneshot::channel();
            let rel = rel2.clone();
            rayon::spawn(move || {
                let _ = otx.send(parse_chunk(dataset, &rel, &chunk));
            });
            if tx.blocking_send(orx).is_err() {
                // The writer stopped (it failed): stop reading.
                return Err(std::io::Error::other("writer stopped"));
            }
        }
        cr.finish()
    });

    let key = path_key(&file.rel_path);
    let tag = format!("{:016x}", xxh3_64(uuid::Uuid::new_v4().as_bytes()));
    let store = |name: &str| {
        sinks
            .get(name)
            .cloned()
            .ok_or_else(|| IngestError::Task(format!("no table {name}")))
    };
    let mut data = RollingWriter::new(
        store(dataset.table_name())?,
        dataset.raw_table_schema(),
        key.clone(),
        tag.clone(),
        opts.rows_per_file,
    );
    let mut quarantine = RollingWriter::new(
        store(QUARANTINE_TABLE)?,
        quarantine_schema(),
        key,
        tag,
        opts.rows_per_file,
    );
    let mut write_result = Ok(());
    // The first quarantined line, to tell a file that is not JSON at all.
    let mut first_bad: Option<Vec<u8>> = None;
    while let Some(orx) = rx.recv().await {
        let parsed = match orx.await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                write_result = Err(IngestError::Arrow(e));
                break;
            }
            Err(_) => {
                write_result = Err(IngestError::Task("parser dropped a chunk".into()));
                break;
            }
        };
        report.read += parsed.read;
        report.rescued += parsed.rescued;
        if first_bad.is_none()
            && let Some(q) = parsed.quarantined.first()
        {
            first_bad = Some(q.raw.iter().take(512).copied().collect::<Vec<u8>>());
        }
        report.blank += parsed.blank;
        report.quarantined += parsed.quarantined.len() as u64;
        if let Some(b) = &parsed.batch {
            report.written += b.num_rows() as u64;
            if let Err(e) = data.write(b).await {
                write_result = Err(e);
                break;
            }
        }
        if !parsed.quarantined.is_empty() {
            for q in &parsed.quarantined {
                debug!(file = %shown, line = q.line, error = %q.error, "quarantined");
            }
            let qb = quarantine_batch(dataset, &rel, &parsed.quarantined)?;
            if let Err(e) = quarantine.write(&qb).await {
                write_result = Err(e);
                break;
            }
        }
        opts.reporter.advance("ingest", parsed.raw_bytes);
    }
    drop(rx);
    let read_result = reader_task
        .await
        .map_err(|e| IngestError::Task(e.to_string()))?;
    write_result?;
    let (bytes, hash) = read_result.map_err(|e| IngestError::Source {
        path: shown.clone(),
        source: e,
    })?;
    report.bytes = bytes;
    report.content_hash = hash;
    report.problem = not_json_problem(report.read, report.written, first_bad.as_deref());
    let data_adds = data.finish().await?;
    let quarantine_adds = quarantine.finish().await?;
    Ok((data_adds, quarantine_adds))
}

/// Reads the ingest log into a map by path (latest version: the writer holds the lease).
async fn read_log(lake: &Lake) -> Result<HashMap<String, LogRow>> {
    let mut out = HashMap::new();
    if lake.table(Zone::Raw, INGEST_LOG_TABLE).await?.is_none() {
        return Ok(out);
    }
    let label = format!("{}/{INGEST_LOG_TABLE}", Zone::Raw);
    for b in lake.read_table(Zone::Raw, INGEST_LOG_TABLE).await? {
        let c = Columns::new(&b, &label);
        let (path, dataset, hash) = (
            c.str(col::PATH)?,
            c.str(col::DATASET)?,
            c.str(col::CONTENT_HASH)?,
        );
        let (size, read, written, quarantined, blank, at) = (
            c.i64(col::SIZE)?,
            c.i64(col::READ)?,
            c.i64(col::WRITTEN)?,
            c.i64(col::QUARANTINED)?,
            c.i64(col::BLANK)?,
            c.i64(col::INGESTED_AT_MS)?,
        );
        // Logs written before the lossless raw zone have no `rescued` column.
        let rescued = c.i64(col::RESCUED).ok();
        for r in 0..b.num_rows() {
            out.insert(
                path.value(r).to_string(),
                LogRow {
                    path: path.value(r).to_string(),
                    dataset: dataset.value(r).to_string(),
                    size: size.value(r),
                    hash: hash.value(r).to_string(),
                    read: read.value(r),
                    written: written.value(r),
                    rescued: rescued.filter(|a| !a.is_null(r)).map_or(0, |a| a.value(r)),
                    quarantined: quarantined.value(r),
                    blank: blank.value(r),
                    at_ms: at.value(r),
                },
            );
        }
    }
    Ok(out)
}

fn log_batch<'a>(rows: impl Iterator<Item = &'a LogRow> + Clone) -> Result<RecordBatch> {
    let cols: Vec<Arc<dyn Array>> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.clone().map(|r| r.path.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.clone().map(|r| r.dataset.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(rows.clone().map(|r| r.size))),
        Arc::new(StringArray::from_iter_values(
            rows.clone().map(|r| r.hash.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(rows.clone().map(|r| r.read))),
        Arc::new(Int64Array::from_iter_values(
            rows.clone().map(|r| r.written),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.clone().map(|r| r.quarantined),
        )),
        Arc::new(Int64Array::from_iter_values(rows.clone().map(|r| r.blank))),
        Arc::new(Int64Array::from_iter_values(rows.clone().map(|r| r.at_ms))),
        Arc::new(Int64Array::from_iter_values(rows.map(|r| r.rescued))),
    ];
    Ok(RecordBatch::try_new(ingest_log_schema(), cols)?)
}

/// A file-level problem: records were read but none landed. `first_bad` (the start of
/// the first quarantined line, when known) tells HTML or binary content.
fn not_json_problem(read: u64, written: u64, first_bad: Option<&[u8]>) -> Option<String> {
    if read == 0 || written > 0 {
        return None;
    }
    let what = match first_bad {
        Some(b) => {
            let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(0);
            let lower: Vec<u8> = b[start..]
                .iter()
                .take(16)
                .map(u8::to_ascii_lowercase)
                .collect();
            if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
                "the file is an HTML page, not JSON"
            } else if lower.starts_with(b"<") {
                "the file is markup (HTML/XML), not JSON"
            } else if b.contains(&0) || std::str::from_utf8(b).is_err() {
                "the file is binary, not JSON text"
            } else {
                "no line of the file is a JSON record"
            }
        }
        None => "no line of the file is a JSON record",
    };
    Some(format!("{what}: all {read} records went to quarantine"))
}
