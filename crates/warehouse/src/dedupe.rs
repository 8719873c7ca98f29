//! Deterministic de-duplication in two passes.
//!
//! Pass one reads only the identifying columns and lineage, and elects per key the row
//! with the smallest `(_source_file, _line)`; pass two keeps exactly the elected rows.
//! The result does not depend on the order in which the scan returns rows. Rows that
//! lose are labelled afterwards: an identical copy of the winner (`duplicate_line`) or a
//! different record under the same key (`duplicate_<key>`).

use std::collections::HashMap;

#[derive(Clone, Copy)]
struct Winner {
    file: u32,
    line: i64,
    count: u32,
}

/// The elected row per key.
#[derive(Default)]
pub(crate) struct Election {
    files: Vec<String>,
    file_ids: HashMap<String, u32>,
    winners: HashMap<u128, Winner>,
    /// Content hashes of the winners of keys that have duplicates (filled in pass two).
    winner_content: HashMap<u128, u64>,
    /// Content hashes of the losers (filled in pass two).
    losers: Vec<(u128, u64)>,
}

impl Election {
    fn file_id(&mut self, file: &str) -> u32 {
        if let Some(&id) = self.file_ids.get(file) {
            return id;
        }
        let id = self.files.len() as u32;
        self.files.push(file.to_string());
        self.file_ids.insert(file.to_string(), id);
        id
    }

    /// Pass one: a candidate row.
    pub(crate) fn offer(&mut self, key: u128, file: &str, line: i64) {
        let fid = self.file_id(file);
        match self.winners.get_mut(&key) {
            None => {
                self.winners.insert(
                    key,
                    Winner {
                        file: fid,
                        line,
                        count: 1,
                    },
                );
            }
            Some(w) => {
                w.count += 1;
                let better = match self.files[fid as usize].cmp(&self.files[w.file as usize]) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Equal => line < w.line,
                    std::cmp::Ordering::Greater => false,
                };
                if better {
                    w.file = fid;
                    w.line = line;
                }
            }
        }
    }

    /// Pass two: is this row the elected one? `content` is called only when the key has
    /// duplicates (to label them later).
    pub(crate) fn keep(
        &mut self,
        key: u128,
        file: &str,
        line: i64,
        content: impl FnOnce() -> u64,
    ) -> bool {
        let Some(w) = self.winners.get(&key).copied() else {
            return false;
        };
        let is_winner = self
            .file_ids
            .get(file)
            .is_some_and(|&fid| fid == w.file && line == w.line);
        if w.count > 1 {
            let h = content();
            if is_winner {
                self.winner_content.insert(key, h);
            } else {
                self.losers.push((key, h));
            }
        }
        is_winner
    }

    /// After pass two: (identical copies, other records under a known key).
    pub(crate) fn loser_counts(&self) -> (u64, u64) {
        let mut same = 0;
        let mut other = 0;
        for (k, h) in &self.losers {
            if self.winner_content.get(k) == Some(h) {
                same += 1;
            } else {
                other += 1;
            }
        }
        (same, other)
    }
}

/// A 128-bit key of a string id.
pub(crate) fn id_key(parts: &[&[u8]]) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        h.update(p);
        h.update(&[0x1f]);
    }
    h.digest128()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_file_and_line_wins_whatever_the_order() {
        let k = id_key(&[b"a"]);
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let rows = [("b.json", 5), ("a.json", 9), ("a.json", 3)];
            let mut e = Election::default();
            for &i in &order {
                e.offer(k, rows[i].0, rows[i].1);
            }
            let kept: Vec<bool> = order
                .iter()
                .map(|&i| e.keep(k, rows[i].0, rows[i].1, || if i == 0 { 1 } else { 2 }))
                .collect();
            assert_eq!(kept.iter().filter(|b| **b).count(), 1);
            let winner = order[kept.iter().position(|b| *b).unwrap()];
            assert_eq!(winner, 2);
            // Row 1 has the winner's content (2), row 0 differs.
            assert_eq!(e.loser_counts(), (1, 1));
        }
    }
}
