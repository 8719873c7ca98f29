//! `cargo xtask test`: installs what the tests need, then runs `cargo test --workspace`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// s3s-fs version known to work with delta-rs here.
const S3S_FS_VERSION: &str = "0.14.1";

/// Finds `name` on PATH or in cargo's bin folder.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Path to the s3s-fs binary, installing it from crates.io if missing.
pub fn ensure_s3s_fs() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("REVIEWLAKE_S3S_FS") {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = find_tool("s3s-fs") {
        return Ok(p);
    }
    println!("installing s3s-fs {S3S_FS_VERSION} (the loopback S3 server the tests use)...");
    let status = Command::new(env!("CARGO"))
        .args([
            "install",
            "--locked",
            "s3s-fs",
            "--version",
            S3S_FS_VERSION,
            "--features",
            "binary",
        ])
        .status()
        .context("running cargo install s3s-fs")?;
    if !status.success() {
        bail!("cargo install s3s-fs failed ({status})");
    }
    find_tool("s3s-fs").context("s3s-fs installed but not found on PATH or in ~/.cargo/bin")
}

/// Runs the test suite.
pub fn run(extra: &[String]) -> Result<()> {
    let s3s = ensure_s3s_fs()?;
    let status = Command::new(env!("CARGO"))
        .args(["test", "--workspace"])
        .args(extra)
        .env("REVIEWLAKE_S3S_FS", &s3s)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("tests failed ({status})");
    }
    Ok(())
}
