//! What is derived in memory from the loaded businesses and users: the search orders,
//! the cold-start ranking and the facets.

use std::cmp::Ordering;
use std::collections::HashMap;

use reviewlake_ml::recommend::{CatalogItem, ColdStartParams, catalog_cold_start};

use crate::resources::{Business, FacetCount, Facets, SampleUser, Source};
use crate::snapshot::source_slot;

/// The businesses' indexes in each search order, and their lower-cased names.
pub(super) struct SearchOrders {
    /// Most reviews first (no count last), then by `business_key`.
    pub(super) order_reviews: Vec<u32>,
    /// Best rating first (no rating last), then most reviews, then by `business_key`.
    pub(super) order_rating: Vec<u32>,
    /// By name (bytes; no name last), then by `business_key`.
    pub(super) order_name: Vec<u32>,
    /// Lower-cased names, by business index (for the name search).
    pub(super) names_lower: Vec<Box<str>>,
}

/// The search orders of `businesses`.
pub(super) fn search_orders(businesses: &[Business]) -> SearchOrders {
    let n = businesses.len() as u32;
    let mut order_reviews: Vec<u32> = (0..n).collect();
    order_reviews.sort_by(|&a, &b| {
        let (x, y) = (&businesses[a as usize], &businesses[b as usize]);
        desc_nulls_last(x.review_count, y.review_count).then(x.business_key.cmp(&y.business_key))
    });
    let mut order_rating: Vec<u32> = (0..n).collect();
    order_rating.sort_by(|&a, &b| {
        let (x, y) = (&businesses[a as usize], &businesses[b as usize]);
        desc_nulls_last_f64(x.rating, y.rating)
            .then(desc_nulls_last(x.review_count, y.review_count))
            .then(x.business_key.cmp(&y.business_key))
    });
    let mut order_name: Vec<u32> = (0..n).collect();
    order_name.sort_by(|&a, &b| {
        let (x, y) = (&businesses[a as usize], &businesses[b as usize]);
        match (&x.name, &y.name) {
            (Some(p), Some(q)) => p.as_bytes().cmp(q.as_bytes()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
        .then(x.business_key.cmp(&y.business_key))
    });
    let names_lower = businesses
        .iter()
        .map(|b| b.name.as_deref().unwrap_or("").to_lowercase().into())
        .collect();
    SearchOrders {
        order_reviews,
        order_rating,
        order_name,
        names_lower,
    }
}

/// The cold-start ranking of `businesses`: the ml crate's catalogue ranking (the one the
/// ml stage writes), as (business index, Bayesian-average rating), best first.
pub(super) fn cold_start(businesses: &[Business]) -> Vec<(u32, f64)> {
    catalog_cold_start(
        businesses.iter().enumerate().map(|(i, b)| CatalogItem {
            id: i as u32,
            business_key: b.business_key,
            rating: b.rating,
            review_count: b.review_count,
            is_open: b.is_open,
        }),
        ColdStartParams::default().prior_weight,
    )
}

/// Descending, `None` last.
fn desc_nulls_last(a: Option<i64>, b: Option<i64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Descending (total order), `None` last.
pub(super) fn desc_nulls_last_f64(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Filter values with their business counts, and the most active reviewers.
pub(super) fn facets(
    businesses: &[Business],
    users: &[HashMap<Box<str>, i64>; 2],
    user_keys: &[i64],
    user_offsets: &[u32],
) -> Facets {
    /// The counts, most businesses first, then by value.
    fn counted(mut m: HashMap<String, i64>) -> Vec<FacetCount> {
        let mut v: Vec<FacetCount> = m
            .drain()
            .map(|(value, businesses)| FacetCount { value, businesses })
            .collect();
        v.sort_by(|a, b| {
            b.businesses
                .cmp(&a.businesses)
                .then_with(|| a.value.cmp(&b.value))
        });
        v
    }
    let (mut states, mut cats, mut sources) = (HashMap::new(), HashMap::new(), HashMap::new());
    for b in businesses {
        if let Some(s) = &b.state {
            *states.entry(s.clone()).or_insert(0) += 1;
        }
        for c in &b.categories {
            *cats.entry(c.clone()).or_insert(0) += 1;
        }
        *sources.entry(b.source.as_str().to_string()).or_insert(0) += 1;
    }
    // Reviewed counts by user key, then the top 5 of each platform.
    let reviewed = |key: i64| -> i64 {
        match user_keys.binary_search(&key) {
            Ok(i) => i64::from(user_offsets[i + 1] - user_offsets[i]),
            Err(_) => 0,
        }
    };
    let mut sample_users = Vec::new();
    for source in [Source::Yelp, Source::Google] {
        let mut v: Vec<(i64, &str)> = users[source_slot(source)]
            .iter()
            .map(|(id, &key)| (reviewed(key), &**id))
            .filter(|(n, _)| *n > 0)
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        sample_users.extend(v.into_iter().take(5).map(|(n, id)| SampleUser {
            source,
            id: id.to_string(),
            reviewed: n,
        }));
    }
    Facets {
        snapshot_id: None,
        states: counted(states),
        categories: counted(cats),
        sources: counted(sources),
        sample_users,
    }
}
