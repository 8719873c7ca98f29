//! What the service answers recommendations from without scoring: the `ml` stage's
//! precomputed lists (`models/recommendations`, one per user, by the serving policy of
//! the current `als` version) and per-filter indexes of the businesses (by state, city
//! and category) so that a filtered request scores only the businesses it may return.

use std::collections::HashMap;
use std::sync::Arc;

use reviewlake_lake::{Columns, QuerySession};
use reviewlake_schema::col;
use reviewlake_schema::models::col as mcol;

use crate::error::Result;
use crate::load::{Account, collect};
use crate::resources::Business;

/// The `model` of rows from the cold-start ranking (as the `ml` stage writes it).
pub(crate) const COLD_START_MODEL: &str = "cold_start";

/// One precomputed item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListItem {
    /// Business index.
    pub business: u32,
    /// Score.
    pub score: f64,
    /// Index into [`Lists::names`] of the candidate that produced it.
    pub model: u16,
}

/// Every user's precomputed list, by `user_key`.
#[derive(Debug, Default)]
pub(crate) struct Lists {
    /// Sorted.
    user_keys: Vec<i64>,
    /// `items[offsets[i]..offsets[i + 1]]`: the list of `user_keys[i]`, by rank.
    offsets: Vec<u32>,
    items: Vec<ListItem>,
    /// Per user: index into `names` of their segment.
    segments: Vec<u16>,
    /// Interned model and segment names.
    names: Vec<Arc<str>>,
}

impl Lists {
    /// The segment and list of `user_key` (`None` without a precomputed list).
    pub fn of(&self, user_key: i64) -> Option<(&Arc<str>, &[ListItem])> {
        let i = self.user_keys.binary_search(&user_key).ok()?;
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        Some((&self.names[self.segments[i] as usize], &self.items[a..b]))
    }

    /// The name at `idx`.
    pub fn name(&self, idx: u16) -> &Arc<str> {
        &self.names[idx as usize]
    }

    fn intern(&mut self, ids: &mut HashMap<Box<str>, u16>, s: &str) -> Option<u16> {
        if let Some(&i) = ids.get(s) {
            return Some(i);
        }
        let i = u16::try_from(self.names.len()).ok()?;
        self.names.push(Arc::from(s));
        ids.insert(s.into(), i);
        Some(i)
    }
}

/// Loads `models/recommendations` (rows of businesses not in `dim_business` are skipped
/// and counted).
pub(crate) async fn load_lists(
    session: &QuerySession,
    by_key: &HashMap<i64, u32>,
    account: &mut Account,
) -> Result<Lists> {
    let mut lists = Lists::default();
    let mut ids: HashMap<Box<str>, u16> = HashMap::new();
    let batches = collect(
        session,
        "SELECT user_key, business_key, score, model, segment FROM recommendations \
         ORDER BY user_key, rank",
    )
    .await?;
    for b in batches {
        let c = Columns::new(&b, "models/recommendations");
        let (user, business, score, model, segment) = (
            c.i64(col::USER_KEY)?,
            c.i64(col::BUSINESS_KEY)?,
            c.f64(mcol::SCORE)?,
            c.str(mcol::MODEL)?,
            c.str(mcol::SEGMENT)?,
        );
        for i in 0..b.num_rows() {
            account.read += 1;
            let Some(&bi) = by_key.get(&business.value(i)) else {
                account.skip(1, "of businesses not in dim_business");
                continue;
            };
            if !score.value(i).is_finite() {
                account.skip(1, "with a score that is not a number");
                continue;
            }
            let (Some(m), Some(s)) = (
                lists.intern(&mut ids, model.value(i)),
                lists.intern(&mut ids, segment.value(i)),
            ) else {
                account.skip(1, "beyond 65,535 distinct model and segment names");
                continue;
            };
            let u = user.value(i);
            if lists.user_keys.last() != Some(&u) {
                lists.offsets.push(lists.items.len() as u32);
                lists.user_keys.push(u);
                lists.segments.push(s);
            }
            lists.items.push(ListItem {
                business: bi,
                score: score.value(i),
                model: m,
            });
            account.kept += 1;
        }
    }
    lists.offsets.push(lists.items.len() as u32);
    Ok(lists)
}

/// Business indexes by state, city and category (keys lower-cased), each in index
/// order: a filtered request looks only at the businesses of its narrowest filter.
#[derive(Debug, Default)]
pub(crate) struct FilterIndex {
    state: HashMap<Box<str>, Vec<u32>>,
    city: HashMap<Box<str>, Vec<u32>>,
    category: HashMap<Box<str>, Vec<u32>>,
}

impl FilterIndex {
    /// Indexes `businesses`.
    pub fn build(businesses: &[Business]) -> FilterIndex {
        let mut ix = FilterIndex::default();
        for (i, b) in businesses.iter().enumerate() {
            let i = i as u32;
            if let Some(s) = &b.state {
                ix.state.entry(s.to_lowercase().into()).or_default().push(i);
            }
            if let Some(c) = &b.city {
                ix.city.entry(c.to_lowercase().into()).or_default().push(i);
            }
            for c in &b.categories {
                let v = ix.category.entry(c.to_lowercase().into()).or_default();
                if v.last() != Some(&i) {
                    v.push(i);
                }
            }
        }
        ix
    }

    /// The smallest candidate set of the given filters (`None` when no filter is
    /// indexed: every business is a candidate). An unknown value gives an empty set.
    pub fn narrowest(
        &self,
        state: Option<&str>,
        city: Option<&str>,
        category: Option<&str>,
    ) -> Option<&[u32]> {
        fn get<'a>(m: &'a HashMap<Box<str>, Vec<u32>>, v: &str) -> &'a [u32] {
            m.get(v.to_lowercase().as_str()).map_or(&[], Vec::as_slice)
        }
        [
            state.map(|s| get(&self.state, s)),
            city.map(|c| get(&self.city, c)),
            category.map(|c| get(&self.category, c)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|s| s.len())
    }
}
