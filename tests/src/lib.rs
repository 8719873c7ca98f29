//! Helpers shared by reviewlake's cross-crate tests (in `tests/tests/`): where the real
//! sample data is, counting rows in lake tables, a loopback S3 server and headless
//! Chromium (both installed on first use).
//!
//! **Architecture invariant:** tests need nothing outside the repository: real excerpts
//! live in `tests/data/real`, servers and browsers are found or installed by these
//! helpers.

#![warn(missing_docs)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use reviewlake_lake::{Lake, Zone};

/// The real excerpts copied into the repository: `tests/data/real` (gzip-compressed,
/// provenance in its `SOURCES.md`), or `REVIEWLAKE_REAL_DATA` to point elsewhere.
pub fn real_data() -> PathBuf {
    if let Some(p) = std::env::var_os("REVIEWLAKE_REAL_DATA") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/real");
    assert!(
        p.is_dir(),
        "real sample data not found at {} (set REVIEWLAKE_REAL_DATA)",
        p.display()
    );
    p
}

/// Lake options for the loopback S3 server `s3`: credentials and endpoint passed
/// explicitly, without touching the process environment.
pub fn s3_options(s3: &S3Server) -> reviewlake_lake::LakeOptions {
    reviewlake_lake::LakeOptions::empty()
        .with("AWS_ENDPOINT_URL", &s3.endpoint)
        .with("AWS_ALLOW_HTTP", "true")
        .with("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
        .with("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
        .with("AWS_REGION", "us-east-1")
        .with("AWS_S3_ALLOW_UNSAFE_RENAME", "true")
}

/// The identity of one `features/kpi` row: (grain, period start in days, state, category,
/// source, business key, kpi).
pub type KpiKey = (
    String,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
);

/// Runs `sql` on the lake and returns the first column of the first row as i64.
pub async fn scalar_i64(lake: &Lake, sql: &str) -> anyhow::Result<i64> {
    let batches = lake.sql(sql).await?;
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| anyhow::anyhow!("no rows from {sql}"))?;
    let col = cast(b.column(0), &DataType::Int64)?;
    let v = col.as_primitive::<Int64Type>();
    Ok(if v.is_null(0) { 0 } else { v.value(0) })
}

/// Row count of a table.
pub async fn count(lake: &Lake, zone: Zone, table: &str) -> anyhow::Result<i64> {
    let rows: usize = lake
        .read_table(zone, table)
        .await?
        .iter()
        .map(|b| b.num_rows())
        .sum();
    Ok(rows as i64)
}

/// Per source file of a raw table: (file, rows, sum of line numbers, distinct lines).
pub type Fingerprint = Vec<(String, i64, i64, i64)>;

/// A canonical fingerprint of a raw table. Two lakes with equal fingerprints hold the
/// same rows, with no duplicates where rows == distinct lines.
pub async fn fingerprint(lake: &Lake, table: &str) -> anyhow::Result<Fingerprint> {
    let sql = format!(
        "SELECT _source_file, count(*) AS n, sum(_line) AS s, count(DISTINCT _line) AS d \
         FROM {table} GROUP BY _source_file ORDER BY _source_file"
    );
    let mut out = Vec::new();
    for b in lake.sql(&sql).await? {
        let f = cast(b.column(0), &DataType::Utf8)?;
        let f = f.as_string::<i32>();
        let ints: Vec<Int64Array> = (1..4)
            .map(|i| {
                Ok(cast(b.column(i), &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone())
            })
            .collect::<anyhow::Result<_>>()?;
        let (n, s, d) = (&ints[0], &ints[1], &ints[2]);
        for i in 0..b.num_rows() {
            out.push((f.value(i).to_string(), n.value(i), s.value(i), d.value(i)));
        }
    }
    Ok(out)
}

/// A running s3s-fs server on loopback; killed on drop.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The folder the server serves (one sub-folder per bucket).
    pub root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Access key the test server accepts.
pub const S3_ACCESS_KEY: &str = "reviewlake";
/// Secret key the test server accepts.
pub const S3_SECRET_KEY: &str = "reviewlake-secret";

/// s3s-fs version known to work with delta-rs here.
pub const S3S_FS_VERSION: &str = "0.14.1";

/// The s3s-fs binary: `REVIEWLAKE_S3S_FS`, else on PATH or in cargo's bin folder, else
/// installed now from crates.io (`cargo install --locked s3s-fs`), once per machine.
pub fn s3s_fs_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("REVIEWLAKE_S3S_FS") {
        return Ok(PathBuf::from(p));
    }
    let find = || {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        if let Some(home) = std::env::var_os("CARGO_HOME") {
            dirs.push(PathBuf::from(home).join("bin"));
        }
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(PathBuf::from(home).join(".cargo/bin"));
        }
        dirs.into_iter()
            .map(|d| d.join("s3s-fs"))
            .find(|p| p.is_file())
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    eprintln!(
        "installing s3s-fs {S3S_FS_VERSION} from crates.io (loopback S3 server for the tests)..."
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "install",
            "--locked",
            "s3s-fs",
            "--version",
            S3S_FS_VERSION,
            "--features",
            "binary",
        ])
        .status()?;
    anyhow::ensure!(status.success(), "cargo install s3s-fs failed ({status})");
    find().ok_or_else(|| anyhow::anyhow!("s3s-fs installed but not found in ~/.cargo/bin"))
}

/// Starts s3s-fs on a free loopback port with the given buckets, and waits until it
/// accepts connections.
pub fn start_s3(buckets: &[&str]) -> anyhow::Result<S3Server> {
    let bin = s3s_fs_binary()?;
    let root = tempfile::tempdir()?;
    for b in buckets {
        std::fs::create_dir_all(root.path().join(b))?;
    }
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(&bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            S3_ACCESS_KEY,
            "--secret-key",
            S3_SECRET_KEY,
        ])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {} ({e})", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "s3s-fs did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        root,
    })
}

/// Headless Chromium for browser tests: `CHROMIUM`, else `chromium` (or
/// `chromium-browser`) on the PATH, else Debian's `chromium` package installed now with
/// `apt-get` (as root, or through `sudo -n`), once per machine. Panics with what to do
/// when none of that works.
pub fn chromium_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    let find = || {
        let dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        dirs.iter()
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    };
    if let Some(p) = find() {
        return p;
    }
    // One installer at a time across test processes.
    let lock = std::env::temp_dir().join("reviewlake-chromium-install.lock");
    let _guard = (0..600).find_map(|_| {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => Some(LockFile(lock.clone())),
            Err(_) => {
                std::thread::sleep(Duration::from_secs(1));
                None
            }
        }
    });
    if let Some(p) = find() {
        return p;
    }
    eprintln!("installing Debian's chromium for the browser tests (apt-get)...");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        c.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !apt(&["install", "-y", "chromium"]) {
        apt(&["update"]);
        apt(&["install", "-y", "chromium"]);
    }
    find().unwrap_or_else(|| {
        panic!(
            "headless Chromium is needed for the browser tests and could not be installed: \
             run `apt-get install chromium` (Debian) or set CHROMIUM to a Chromium binary"
        )
    })
}

/// Removes the install lock file when dropped.
struct LockFile(PathBuf);

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One cell of a table row, for comparisons across engines: floats compared to a
/// tolerance (summation order may change their last bits), everything else as text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A floating-point value (`NaN` compares equal to `NaN`).
    Float(f64),
    /// Any other value, as Arrow displays it; `None` for null.
    Text(Option<String>),
}

impl Cell {
    fn sort_key(&self) -> String {
        match self {
            // Rounded: two engines' last bits must not change the row order.
            Cell::Float(f) => format!("{f:.6}"),
            Cell::Text(Some(s)) => format!("v{s}"),
            Cell::Text(None) => "n".into(),
        }
    }

    fn close(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Float(a), Cell::Float(b)) => {
                (a.is_nan() && b.is_nan())
                    || a == b
                    || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
            }
            (a, b) => a == b,
        }
    }
}

/// Every row of `zone/table`, in a canonical order, with its column names.
pub async fn table_rows(
    lake: &Lake,
    zone: Zone,
    table: &str,
) -> anyhow::Result<(Vec<String>, Vec<Vec<Cell>>)> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let batches = lake.read_table(zone, table).await?;
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for b in &batches {
        if names.is_empty() {
            names = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
        }
        let opts = FormatOptions::default();
        let mut cols: Vec<Box<dyn Fn(usize) -> Cell + '_>> = Vec::new();
        for c in b.columns() {
            match c.data_type() {
                DataType::Float64 | DataType::Float32 => {
                    let f = cast(c, &DataType::Float64)?;
                    let f = f.as_primitive::<arrow::datatypes::Float64Type>().clone();
                    cols.push(Box::new(move |i| {
                        if f.is_null(i) {
                            Cell::Text(None)
                        } else {
                            Cell::Float(f.value(i))
                        }
                    }));
                }
                _ => {
                    let fmt = ArrayFormatter::try_new(c.as_ref(), &opts)?;
                    let c = c.clone();
                    cols.push(Box::new(move |i| {
                        if c.is_null(i) {
                            Cell::Text(None)
                        } else {
                            Cell::Text(Some(fmt.value(i).to_string()))
                        }
                    }));
                }
            }
        }
        for i in 0..b.num_rows() {
            rows.push(cols.iter().map(|f| f(i)).collect::<Vec<Cell>>());
        }
    }
    rows.sort_by_cached_key(|r| r.iter().map(Cell::sort_key).collect::<Vec<_>>());
    Ok((names, rows))
}

/// Asserts that every table of `zone` is the same in both lakes, row for row (floats to
/// 1e-9 relative), and that both lakes have the same tables there. Returns the tables
/// and rows compared.
pub async fn assert_zone_equal(a: &Lake, b: &Lake, zone: Zone) -> anyhow::Result<(usize, usize)> {
    let mut ta = a.list_tables(zone).await?;
    let mut tb = b.list_tables(zone).await?;
    ta.sort();
    tb.sort();
    anyhow::ensure!(ta == tb, "{zone}: tables differ: {ta:?} vs {tb:?}");
    let mut rows = 0;
    for t in &ta {
        let (na, ra) = table_rows(a, zone, t).await?;
        let (nb, rb) = table_rows(b, zone, t).await?;
        anyhow::ensure!(
            ra.len() == rb.len(),
            "{zone}/{t}: {} rows vs {} rows",
            ra.len(),
            rb.len()
        );
        if !ra.is_empty() {
            anyhow::ensure!(na == nb, "{zone}/{t}: columns differ: {na:?} vs {nb:?}");
        }
        for (i, (x, y)) in ra.iter().zip(&rb).enumerate() {
            for (j, (cx, cy)) in x.iter().zip(y).enumerate() {
                anyhow::ensure!(
                    cx.close(cy),
                    "{zone}/{t}: row {i} column {}: {cx:?} vs {cy:?}",
                    na.get(j).map(String::as_str).unwrap_or("?")
                );
            }
        }
        rows += ra.len();
    }
    Ok((ta.len(), rows))
}
