//! Native string ids <-> dense `u32` indices.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A bijection between native ids (strings: Yelp `user_id`, Google `gmap_id`, ...) and
/// dense indices `0..len()`, in first-seen order. Serialised as the list of ids (the
/// lookup table is rebuilt on load).
///
/// ```
/// use reviewlake_ml::recommend::IdMap;
///
/// let mut users = IdMap::new();
/// assert_eq!(users.get_or_insert("ann"), 0);
/// assert_eq!(users.get_or_insert("bob"), 1);
/// assert_eq!(users.get_or_insert("ann"), 0);
/// assert_eq!(users.index("bob"), Some(1));
/// assert_eq!(users.id(1), Some("bob"));
/// let json = serde_json::to_string(&users)?;
/// assert_eq!(json, r#"["ann","bob"]"#);
/// assert_eq!(serde_json::from_str::<IdMap>(&json)?, users);
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Cloning is cheap: clones share the ids and the lookup table until one of them inserts
/// (copy on write). Every model fitted on a training set holds its id maps, so a stage
/// that fits several models on one split keeps one copy of millions of ids, not one per
/// model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "Vec<String>")]
pub struct IdMap {
    inner: Arc<Ids>,
}

/// The shared part of an [`IdMap`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Ids {
    ids: Vec<Arc<str>>,
    /// foldhash, seeded per process: the ids are hashed millions of times per fit,
    /// and SipHash was a sixth of a 7M-rating implicit fit's profile.
    index: HashMap<Arc<str>, u32, foldhash::fast::RandomState>,
}

/// The list of ids, written without copying them.
impl Serialize for IdMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl IdMap {
    /// An empty map.
    pub fn new() -> IdMap {
        IdMap::default()
    }

    /// The index of `id`, assigning the next one if `id` is new.
    ///
    /// # Panics
    /// If more than `u32::MAX` distinct ids are inserted.
    pub fn get_or_insert(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.inner.index.get(id) {
            return i;
        }
        self.insert_new(Arc::from(id))
    }

    /// As [`IdMap::get_or_insert`], keeping `id`'s allocation (no copy of the string)
    /// when it is new: maps built from shared ids (a [`crate::recommend::Rating`]'s)
    /// share them.
    ///
    /// # Panics
    /// If more than `u32::MAX` distinct ids are inserted.
    pub fn get_or_insert_shared(&mut self, id: &Arc<str>) -> u32 {
        if let Some(&i) = self.inner.index.get(&**id) {
            return i;
        }
        self.insert_new(Arc::clone(id))
    }

    fn insert_new(&mut self, key: Arc<str>) -> u32 {
        let inner = Arc::make_mut(&mut self.inner);
        let i = u32::try_from(inner.ids.len()).expect("more than u32::MAX distinct ids");
        inner.ids.push(key.clone());
        inner.index.insert(key, i);
        i
    }

    /// The index of `id`, if known.
    pub fn index(&self, id: &str) -> Option<u32> {
        self.inner.index.get(id).copied()
    }

    /// The native id of index `i`, if in range.
    pub fn id(&self, i: u32) -> Option<&str> {
        self.inner.ids.get(i as usize).map(|s| &**s)
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.inner.ids.len()
    }

    /// True if no id was inserted.
    pub fn is_empty(&self) -> bool {
        self.inner.ids.is_empty()
    }

    /// The ids in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.inner.ids.iter().map(|s| &**s)
    }
}

impl From<Vec<String>> for IdMap {
    /// Ids in index order; a repeated id keeps its first index (later copies are
    /// dropped, so the map stays a bijection).
    fn from(ids: Vec<String>) -> IdMap {
        let mut m = IdMap::new();
        for id in ids {
            m.get_or_insert(&id);
        }
        m
    }
}

impl From<IdMap> for Vec<String> {
    fn from(m: IdMap) -> Vec<String> {
        m.iter().map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_until_one_inserts() {
        let mut a = IdMap::new();
        a.get_or_insert("ann");
        a.get_or_insert("bob");
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.inner, &b.inner), "a clone copied the ids");
        // A known id does not copy either.
        assert_eq!(b.get_or_insert("bob"), 1);
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        // A new id copies the clone only: the original is unchanged.
        assert_eq!(b.get_or_insert("cid"), 2);
        assert!(!Arc::ptr_eq(&a.inner, &b.inner));
        assert_eq!((a.len(), b.len()), (2, 3));
        assert_eq!(a.index("cid"), None);
        assert_eq!(b.id(2), Some("cid"));
        assert_eq!(serde_json::to_string(&b).unwrap(), r#"["ann","bob","cid"]"#);
    }

    #[test]
    fn shared_ids_keep_their_allocation_and_their_indices() {
        let ann: Arc<str> = Arc::from("ann");
        let bob: Arc<str> = Arc::from("bob");
        let mut m = IdMap::new();
        assert_eq!(m.get_or_insert_shared(&ann), 0);
        assert_eq!(m.get_or_insert("bob"), 1);
        assert_eq!(m.get_or_insert_shared(&bob), 1);
        assert_eq!(m.get_or_insert_shared(&ann), 0);
        // `ann` is held by the map (list and index), not copied; `bob` was copied by
        // `get_or_insert` and is not held again.
        assert_eq!(Arc::strong_count(&ann), 3);
        assert_eq!(Arc::strong_count(&bob), 1);
        assert!(Arc::ptr_eq(&m.inner.ids[0], &ann));
        assert_eq!(m.index("ann"), Some(0));
        assert_eq!(m.id(1), Some("bob"));
    }
}
