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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct IdMap {
    ids: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
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
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = u32::try_from(self.ids.len()).expect("more than u32::MAX distinct ids");
        let key: Arc<str> = Arc::from(id);
        self.ids.push(key.clone());
        self.index.insert(key, i);
        i
    }

    /// The index of `id`, if known.
    pub fn index(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The native id of index `i`, if in range.
    pub fn id(&self, i: u32) -> Option<&str> {
        self.ids.get(i as usize).map(|s| &**s)
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True if no id was inserted.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.ids.iter().map(|s| &**s)
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
        m.ids.iter().map(|s| s.to_string()).collect()
    }
}
