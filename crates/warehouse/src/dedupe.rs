//! Deterministic de-duplication, elected by a plan.
//!
//! Per key, the row with the smallest `(_source_file, _line)` is elected; the others
//! lose. The election is one DataFusion plan over the raw table (a window over the key,
//! ordered by file and line: it sorts, spilling under the memory limit), which returns
//! only the losers: the build then streams the raw table and skips them. Memory holds
//! the losers (a re-delivered file's rows), never every key of the table. A loser is
//! labelled an identical copy of the winner (`duplicate_line`) or a different record
//! under the same key (`duplicate_<key>`) by comparing row hashes of their content
//! (every column but the lineage ones; the rescued fields are content). The result does
//! not depend on the order in which the scan returns rows.

use std::collections::HashMap;

use arrow::array::Array;

use crate::Result;
use crate::read::{Cols, RawTable};

/// The rows that lost their key's election, by (file, line), each with whether its
/// content equals the winner's.
#[derive(Default)]
pub(crate) struct Losers {
    file_ids: HashMap<String, u32>,
    rows: HashMap<(u32, i64), bool>,
    same: u64,
    other: u64,
}

impl Losers {
    /// The losers of the election of `raw` keyed by the SQL expressions `keys`, among
    /// the rows where `valid` (an SQL predicate) holds; the others take no part.
    pub(crate) async fn by_key(raw: &RawTable, keys: &[&str], valid: &str) -> Result<Losers> {
        match Losers::sql_by_key(raw, keys, valid).await? {
            None => Ok(Losers::default()),
            Some(sql) => Losers::collect(raw, &sql).await,
        }
    }

    /// The plan of [`Losers::by_key`], as SQL with the columns `_source_file`, `_line`
    /// and `same` (one row per loser), for a build that joins it instead of holding the
    /// losers; `None` when the raw table does not exist.
    pub(crate) async fn sql_by_key(
        raw: &RawTable,
        keys: &[&str],
        valid: &str,
    ) -> Result<Option<String>> {
        if !raw.exists() {
            return Ok(None);
        }
        let content = raw.content_columns().await?;
        let keys = keys.join(", ");
        let w = format!("OVER (PARTITION BY {keys} ORDER BY \"_source_file\", \"_line\")");
        Ok(Some(format!(
            "SELECT \"_source_file\", \"_line\", same FROM ( \
               SELECT \"_source_file\", \"_line\", row_number() {w} AS rn, \
                 h = first_value(h) {w} AS same \
               FROM (SELECT {keys}, \"_source_file\", \"_line\", row_hash({content}) AS h \
                 FROM \"{}\" WHERE {valid})) \
             WHERE rn > 1",
            raw.name()
        )))
    }

    /// The losers of the election of `raw` keyed by its content (every non-lineage
    /// column): each is an identical copy.
    pub(crate) async fn by_content(raw: &RawTable) -> Result<Losers> {
        match Losers::sql_by_content(raw).await? {
            None => Ok(Losers::default()),
            Some(sql) => Losers::collect(raw, &sql).await,
        }
    }

    /// The plan of [`Losers::by_content`], as SQL with the columns `_source_file`,
    /// `_line` and `same` (always true); `None` when the raw table does not exist.
    pub(crate) async fn sql_by_content(raw: &RawTable) -> Result<Option<String>> {
        if !raw.exists() {
            return Ok(None);
        }
        let content = raw.content_columns().await?;
        Ok(Some(format!(
            "SELECT \"_source_file\", \"_line\", true AS same FROM ( \
               SELECT \"_source_file\", \"_line\", \
                 row_number() OVER (PARTITION BY h ORDER BY \"_source_file\", \"_line\") AS rn \
               FROM (SELECT \"_source_file\", \"_line\", row_hash({content}) AS h FROM \"{}\")) \
             WHERE rn > 1",
            raw.name()
        )))
    }

    async fn collect(raw: &RawTable, sql: &str) -> Result<Losers> {
        let mut out = Losers::default();
        let mut s = raw.query(sql).await?;
        while let Some(batch) = s.next().await? {
            let c = Cols::new(&batch, raw.name());
            let (file, line, same) = (c.str("_source_file")?, c.i64("_line")?, c.bool("same")?);
            for i in 0..batch.num_rows() {
                let fid = out.file_id(file.value(i));
                let same = !same.is_null(i) && same.value(i);
                out.rows.insert((fid, line.value(i)), same);
            }
        }
        Ok(out)
    }

    fn file_id(&mut self, file: &str) -> u32 {
        if let Some(&id) = self.file_ids.get(file) {
            return id;
        }
        let id = self.file_ids.len() as u32;
        self.file_ids.insert(file.to_string(), id);
        id
    }

    /// Whether the row at (`file`, `line`) is kept (it won its election, or took no
    /// part); a loser is counted.
    pub(crate) fn keep(&mut self, file: &str, line: i64) -> bool {
        let Some(&fid) = self.file_ids.get(file) else {
            return true;
        };
        match self.rows.get(&(fid, line)) {
            None => true,
            Some(true) => {
                self.same += 1;
                false
            }
            Some(false) => {
                self.other += 1;
                false
            }
        }
    }

    /// After the pass: (identical copies, other records under a known key) skipped.
    pub(crate) fn loser_counts(&self) -> (u64, u64) {
        (self.same, self.other)
    }
}
