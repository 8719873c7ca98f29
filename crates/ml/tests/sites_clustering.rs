//! Site selection on planted data: blobs recovered, the planted opportunity ranked first,
//! DBSCAN noise, degenerate inputs, determinism, and the silhouette against hand-worked
//! values (scikit-learn's definition).

use ndarray::array;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reviewlake_ml::sites::{self, LocalPlane, Method, Place, SiteConfig, SiteError};
use reviewlake_ml::tuning::{self, Search};

/// Normal(0, 1) by Box-Muller.
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

struct Blob {
    lat: f64,
    lon: f64,
    n: usize,
    sd_km: f64,
    last: f64,
    prev: f64,
    sentiment: f64,
    stars: f64,
    category_every: usize, // every k-th member serves the category (0 = none)
}

fn blob(lat: f64, lon: f64, n: usize) -> Blob {
    Blob {
        lat,
        lon,
        n,
        sd_km: 1.0,
        last: 100.0,
        prev: 100.0,
        sentiment: 0.5,
        stars: 4.0,
        category_every: 4,
    }
}

/// Places of each blob; returns the places and each place's blob index.
fn generate(blobs: &[Blob], seed: u64) -> (Vec<Place>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut places = Vec::new();
    let mut truth = Vec::new();
    for (b, bl) in blobs.iter().enumerate() {
        let plane = LocalPlane {
            lat0: bl.lat,
            lon0: bl.lon,
        };
        for i in 0..bl.n {
            let (lat, lon) =
                plane.unproject(gauss(&mut rng) * bl.sd_km, gauss(&mut rng) * bl.sd_km);
            places.push(Place {
                key: (b * 1000 + i) as i64,
                state: "CA".into(),
                latitude: lat,
                longitude: lon,
                reviews: bl.last + bl.prev,
                reviews_last_year: bl.last * (0.8 + 0.4 * rng.random::<f64>()),
                reviews_prev_year: bl.prev * (0.8 + 0.4 * rng.random::<f64>()),
                mean_sentiment: Some(bl.sentiment + 0.05 * gauss(&mut rng)),
                mean_stars: Some(bl.stars + 0.1 * gauss(&mut rng)),
                serves_category: bl.category_every > 0 && i % bl.category_every == 0,
            });
            truth.push(b);
        }
    }
    (places, truth)
}

/// Whether the clustering maps one-to-one onto the planted blobs.
fn recovers(result: &sites::StateSites, places: &[Place], truth: &[usize], blobs: usize) -> bool {
    let mut map = std::collections::BTreeMap::new();
    for ((a, t), p) in result.assignments.iter().zip(truth).zip(places) {
        assert_eq!(a.key, p.key, "assignments follow the input order");
        let Some(c) = a.cluster else { return false };
        if *map.entry(c).or_insert(*t) != *t {
            return false;
        }
    }
    map.len() == blobs
        && map
            .values()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == blobs
}

fn three_blobs() -> Vec<Blob> {
    // ~40-60 km apart around Los Angeles.
    vec![
        blob(34.05, -118.25, 60),
        blob(34.45, -118.00, 50),
        blob(33.80, -117.70, 70),
    ]
}

#[test]
fn silhouette_picks_three_and_recovers_the_blobs() {
    let blobs = three_blobs();
    let (places, truth) = generate(&blobs, 1);
    let cfg = SiteConfig {
        category_label: "Mexican".into(),
        ..Default::default()
    };
    let r = sites::select_state("CA", &places, &cfg).unwrap();
    let by_k: Vec<String> = r
        .trials
        .iter()
        .map(|t| format!("k={} s={:.3}", t.k, t.silhouette.unwrap_or(f64::NAN)))
        .collect();
    eprintln!("silhouette by k: {}", by_k.join(", "));
    assert_eq!(r.k, 3, "{by_k:?}");
    assert_eq!(r.trials.len(), 14, "k = 2..=15");
    assert_eq!(r.trials.iter().filter(|t| t.chosen).count(), 1);
    assert!(r.silhouette.unwrap() > 0.7, "{:?}", r.silhouette);
    assert!(recovers(&r, &places, &truth, 3));
    assert_eq!(r.candidates.len(), 3);
    assert_eq!(r.accounting.places_in, 180);
    assert_eq!(r.accounting.clustered, 180);
    // Centroids near the blob centres, radius ~ the 90th percentile of a 2-D normal with
    // sd 1 km (sqrt(2 ln 10) = 2.15 km).
    for c in &r.candidates {
        let near = blobs.iter().any(|b| {
            let (x, y) = LocalPlane {
                lat0: b.lat,
                lon0: b.lon,
            }
            .project(c.centroid_latitude, c.centroid_longitude);
            (x * x + y * y).sqrt() < 0.5
        });
        assert!(
            near,
            "centroid {} {}",
            c.centroid_latitude, c.centroid_longitude
        );
        assert!(
            c.radius_km > 1.5 && c.radius_km < 3.0,
            "radius {}",
            c.radius_km
        );
        assert_eq!(c.member_keys.len() as i64, c.members);
    }
    let ranks: Vec<i64> = r.candidates.iter().map(|c| c.rank).collect();
    assert_eq!(ranks, vec![1, 2, 3]);
}

/// k-means fitted on a seeded sample of the places (here 60 of 1,800) labels every place
/// by its nearest centre: the blobs are still recovered, every place is assigned, and a
/// sample as large as the state gives the whole-state fit.
#[test]
fn kmeans_on_a_sample_labels_every_place_and_recovers_the_blobs() {
    let blobs: Vec<Blob> = three_blobs()
        .into_iter()
        .map(|b| Blob { n: b.n * 10, ..b })
        .collect();
    let (places, truth) = generate(&blobs, 7);
    let sampled = SiteConfig {
        category_label: "Mexican".into(),
        fit_sample: 60,
        ..Default::default()
    };
    let r = sites::select_state("CA", &places, &sampled).unwrap();
    assert_eq!(r.k, 3);
    assert_eq!(r.accounting.places_in, 1800);
    assert_eq!(r.accounting.clustered, 1800);
    assert!(recovers(&r, &places, &truth, 3));
    let members: i64 = r.candidates.iter().map(|c| c.members).sum();
    assert_eq!(members, 1800);
    // A sample of at least every place is the whole-state fit.
    let whole = SiteConfig {
        fit_sample: 1800,
        ..sampled.clone()
    };
    let big = SiteConfig {
        fit_sample: 1_000_000,
        ..sampled.clone()
    };
    let (a, b) = (
        sites::select_state("CA", &places, &whole).unwrap(),
        sites::select_state("CA", &places, &big).unwrap(),
    );
    assert_eq!(a.assignments, b.assignments);
    let bad = SiteConfig {
        fit_sample: 1,
        ..sampled
    };
    assert!(matches!(
        sites::select_state("CA", &places, &bad),
        Err(SiteError::Config(_))
    ));
}

#[test]
fn planted_opportunity_ranks_first_with_reasons() {
    let mut blobs = vec![
        blob(34.05, -118.25, 40),
        blob(34.45, -118.00, 40),
        blob(33.80, -117.70, 40),
        blob(34.20, -117.30, 40),
    ];
    // Blob 2: high demand and growth, low satisfaction, no restaurant of the category.
    blobs[2].last = 300.0;
    blobs[2].prev = 200.0;
    blobs[2].sentiment = 0.15;
    blobs[2].stars = 3.2;
    blobs[2].category_every = 0;
    let (places, truth) = generate(&blobs, 2);
    let cfg = SiteConfig {
        category_label: "Mexican".into(),
        ..Default::default()
    };
    let r = sites::select_state("CA", &places, &cfg).unwrap();
    assert_eq!(r.k, 4);
    let best = &r.candidates[0];
    let planted: Vec<i64> = places
        .iter()
        .zip(&truth)
        .filter(|(_, t)| **t == 2)
        .map(|(p, _)| p.key)
        .collect();
    let mut keys = best.member_keys.clone();
    keys.sort_unstable();
    assert_eq!(keys, planted);
    eprintln!(
        "best: score {:.3}: {}",
        best.opportunity_score, best.reasons
    );
    for c in &r.candidates[1..] {
        eprintln!(
            "rank {}: score {:.3}: {}",
            c.rank, c.opportunity_score, c.reasons
        );
        assert!(c.opportunity_score < best.opportunity_score);
    }
    // 40 places × ~300 reviews/yr, +50% growth (each place's figures jittered ±20%).
    assert!(
        best.reasons.starts_with("high demand: 1"),
        "{}",
        best.reasons
    );
    assert!((10_000.0..14_000.0).contains(&best.reviews_per_year));
    let g = best.review_growth.unwrap();
    assert!((0.3..0.7).contains(&g), "{g}");
    assert!(
        best.reasons
            .contains(&format!("k reviews/yr, +{}% growth", (g * 100.0).round()))
    );
    assert!(
        best.reasons
            .contains("low satisfaction: mean sentiment 0.1"),
        "{}",
        best.reasons
    );
    assert!(
        best.reasons.ends_with("no Mexican restaurant"),
        "{}",
        best.reasons
    );
    assert_eq!(best.category_members, 0);
    assert!(
        (best.volume_score - 1.0).abs() < 1e-9 && (best.low_competition_score - 1.0).abs() < 1e-9
    );
    // The others have 10 Mexican restaurants each.
    assert!(r.candidates[1].reasons.ends_with("10 Mexican restaurants"));
}

#[test]
fn weights_are_configurable() {
    let mut blobs = three_blobs();
    blobs[0].last = 400.0; // most demand
    blobs[1].sentiment = 0.1; // least satisfied
    let (places, truth) = generate(&blobs, 3);
    let rank_first = |w: sites::Weights| {
        let cfg = SiteConfig {
            weights: w,
            ..Default::default()
        };
        let r = sites::select_state("CA", &places, &cfg).unwrap();
        let k = r.candidates[0].member_keys[0];
        truth[places.iter().position(|p| p.key == k).unwrap()]
    };
    let only = |v: f64, g: f64, s: f64, c: f64| sites::Weights {
        volume: v,
        growth: g,
        satisfaction_gap: s,
        low_competition: c,
    };
    assert_eq!(rank_first(only(1.0, 0.0, 0.0, 0.0)), 0);
    assert_eq!(rank_first(only(0.0, 0.0, 1.0, 0.0)), 1);
    let bad = SiteConfig {
        weights: only(0.0, 0.0, 0.0, 0.0),
        ..Default::default()
    };
    assert!(matches!(
        sites::select_state("CA", &places, &bad),
        Err(SiteError::Config(_))
    ));
}

#[test]
fn dbscan_finds_the_blobs_and_labels_far_outliers_noise() {
    let mut blobs = three_blobs();
    for b in &mut blobs {
        b.sd_km = 0.5;
    }
    let (mut places, truth) = generate(&blobs, 4);
    // Three isolated places 60-150 km away from everything and from each other.
    let outliers = [(35.2, -119.5), (33.0, -116.4), (35.5, -116.8)];
    for (i, (lat, lon)) in outliers.iter().enumerate() {
        let mut p = places[0].clone();
        p.key = 9000 + i as i64;
        p.latitude = *lat;
        p.longitude = *lon;
        places.push(p);
    }
    let cfg = SiteConfig {
        method: Method::dbscan(1.0, 5),
        ..Default::default()
    };
    let r = sites::select_state("CA", &places, &cfg).unwrap();
    assert_eq!(r.method, "dbscan");
    assert_eq!(r.k, 3);
    assert_eq!(r.trials.len(), 1);
    let noise: Vec<i64> = r
        .assignments
        .iter()
        .filter(|a| a.cluster.is_none())
        .map(|a| a.key)
        .collect();
    for k in 9000..9003 {
        assert!(noise.contains(&k), "outlier {k} not noise: {noise:?}");
    }
    // Blob members: at most a handful of fringe points are noise; clusters are pure.
    assert!(noise.len() <= 3 + 6, "{} noise points", noise.len());
    let mut seen = std::collections::BTreeMap::new();
    for (a, t) in r.assignments.iter().zip(truth.iter()) {
        if let Some(c) = a.cluster {
            assert_eq!(*seen.entry(c).or_insert(*t), *t, "cluster {c} mixes blobs");
        }
    }
    let acc = &r.accounting;
    assert_eq!(acc.places_in, acc.clustered + acc.noise + acc.invalid);
    assert_eq!(acc.noise as usize, noise.len());
    eprintln!(
        "dbscan: k={} silhouette={:?} noise={}",
        r.k, r.silhouette, acc.noise
    );
    assert!(r.silhouette.unwrap() > 0.7);
}

fn place(key: i64, lat: f64, lon: f64) -> Place {
    Place {
        key,
        state: "TX".into(),
        latitude: lat,
        longitude: lon,
        reviews: 10.0,
        reviews_last_year: 5.0,
        reviews_prev_year: 0.0,
        mean_sentiment: None,
        mean_stars: None,
        serves_category: false,
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let cfg = SiteConfig::default();
    // No place, or none with valid coordinates: an error.
    assert!(matches!(
        sites::select_state("TX", &[], &cfg),
        Err(SiteError::NoPlaces(_))
    ));
    let nan = [place(1, f64::NAN, -97.0), place(2, 95.0, -97.0)];
    assert!(matches!(
        sites::select_state("TX", &nan, &cfg),
        Err(SiteError::NoPlaces(_))
    ));

    // One place: one area of radius 0.
    let r = sites::select_state("TX", &[place(1, 30.0, -97.0)], &cfg).unwrap();
    assert_eq!((r.k, r.candidates.len()), (1, 1));
    assert_eq!(r.candidates[0].radius_km, 0.0);
    assert!((r.candidates[0].centroid_latitude - 30.0).abs() < 1e-9);
    assert!(r.candidates[0].reasons.contains("growth n/a"));
    assert!(!r.notes.is_empty());

    // Identical coordinates: one area.
    let same: Vec<Place> = (0..50).map(|i| place(i, 30.0, -97.0)).collect();
    let r = sites::select_state("TX", &same, &cfg).unwrap();
    assert_eq!((r.k, r.candidates.len()), (1, 1));
    assert_eq!(r.candidates[0].members, 50);

    // Two locations only: k is capped at 2.
    let two: Vec<Place> = (0..40)
        .map(|i| place(i, 30.0 + (i % 2) as f64, -97.0))
        .collect();
    let r = sites::select_state("TX", &two, &cfg).unwrap();
    assert_eq!(r.k, 2);
    assert_eq!(r.trials.len(), 1);

    // Fewer places than the fixed k asked for: k capped at the places.
    let four: Vec<Place> = (0..4)
        .map(|i| place(i, 30.0 + i as f64 * 0.1, -97.0))
        .collect();
    let fixed = SiteConfig {
        method: Method::kmeans_fixed(10),
        ..Default::default()
    };
    let r = sites::select_state("TX", &four, &fixed).unwrap();
    assert!(r.k >= 1 && r.k <= 4, "k = {}", r.k);
    assert_eq!(r.accounting.clustered, 4);

    // Invalid coordinates among valid ones are accounted for.
    let mut mixed = four.clone();
    mixed.push(place(99, f64::NAN, 0.0));
    let r = sites::select_state("TX", &mixed, &cfg).unwrap();
    assert_eq!(r.invalid_keys, vec![99]);
    assert_eq!(r.accounting.places_in, 5);
    assert_eq!(r.accounting.invalid, 1);

    // DBSCAN on one place or on sparse places: no area, everyone noise.
    let db = SiteConfig {
        method: Method::dbscan(0.5, 3),
        ..Default::default()
    };
    let r = sites::select_state("TX", &[place(1, 30.0, -97.0)], &db).unwrap();
    assert_eq!((r.k, r.candidates.len(), r.accounting.noise), (0, 0, 1));
    let r = sites::select_state("TX", &four, &db).unwrap();
    assert_eq!((r.k, r.accounting.noise), (0, 4));
    // DBSCAN on identical coordinates: one dense area.
    let r = sites::select_state("TX", &same, &db).unwrap();
    assert_eq!((r.k, r.accounting.clustered), (1, 50));

    // Bad DBSCAN parameters are errors, not panics.
    for m in [
        Method::dbscan(0.0, 3),
        Method::dbscan(f64::NAN, 3),
        Method::dbscan(1.0, 1),
    ] {
        let c = SiteConfig {
            method: m,
            ..Default::default()
        };
        assert!(matches!(
            sites::select_state("TX", &four, &c),
            Err(SiteError::Config(_))
        ));
    }
}

#[test]
fn same_seed_same_result_and_states_are_separate() {
    let (mut places, _) = generate(&three_blobs(), 5);
    let cfg = SiteConfig::default();
    let a = serde_json::to_string(&sites::select_state("CA", &places, &cfg).unwrap()).unwrap();
    let b = serde_json::to_string(&sites::select_state("CA", &places, &cfg).unwrap()).unwrap();
    assert_eq!(a, b);
    for p in places.iter_mut().take(60) {
        p.state = "NV".into();
    }
    let all = sites::select_all(&places, &cfg);
    let states: Vec<&str> = all.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, vec!["CA", "NV"]);
    let ca = all[0].1.as_ref().unwrap();
    let nv = all[1].1.as_ref().unwrap();
    assert_eq!(ca.accounting.places_in, 120);
    assert_eq!(nv.accounting.places_in, 60);
    assert!(ca.candidates.iter().all(|c| c.state == "CA"));
}

#[test]
fn silhouette_matches_hand_worked_values() {
    // Points 0, 1 | 4, 5 on a line: s = 3.5/4.5, 2.5/3.5, 2.5/3.5, 3.5/4.5.
    let xy = array![[0.0, 0.0], [1.0, 0.0], [4.0, 0.0], [5.0, 0.0]];
    let s = sites::silhouette(xy.view(), &[0, 0, 1, 1]).unwrap();
    let want = (2.0 * 3.5 / 4.5 + 2.0 * 2.5 / 3.5) / 4.0;
    assert!((s - want).abs() < 1e-12, "{s} vs {want}");
    // A singleton scores 0 (scikit-learn), not 1 (linfa).
    let xy = array![[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]];
    let s = sites::silhouette(xy.view(), &[7, 7, 3]).unwrap();
    let want = (0.9 + 8.0 / 9.0 + 0.0) / 3.0;
    assert!((s - want).abs() < 1e-12, "{s} vs {want}");
    // Coincident points: 0, not NaN. One cluster, or as many clusters as points: None.
    let xy = array![[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]];
    assert_eq!(sites::silhouette(xy.view(), &[0, 0, 1, 1]), Some(0.0));
    assert_eq!(sites::silhouette(xy.view(), &[0, 0, 0, 0]), None);
    assert_eq!(sites::silhouette(xy.view(), &[0, 1, 2, 3]), None);
}

#[test]
fn projection_round_trips_and_measures_km() {
    let plane = LocalPlane {
        lat0: 34.0,
        lon0: -118.0,
    };
    let (x, y) = plane.project(34.0, -117.0);
    // One degree of longitude at 34°N: 111.195 km × cos 34° = 92.18 km.
    assert!((x - 92.184).abs() < 0.01 && y.abs() < 1e-9, "{x} {y}");
    let (lat, lon) = plane.unproject(x, y);
    assert!((lat - 34.0).abs() < 1e-12 && (lon + 117.0).abs() < 1e-12);
}

#[test]
fn tuning_the_clustering_prefers_the_planted_k() {
    let (places, _) = generate(&three_blobs(), 6);
    let cfg = SiteConfig::default();
    let trials = sites::tune(
        &places,
        "kmeans",
        &sites::kmeans_space(),
        Search::Grid,
        &cfg,
    )
    .unwrap();
    assert_eq!(trials.len(), 14);
    let best = tuning::best(&trials).unwrap();
    assert_eq!(best.params_json, r#"{"k":3}"#);
    assert_eq!(best.model_family, "sites/kmeans");
    let db = sites::tune(
        &places,
        "dbscan",
        &sites::dbscan_space(),
        Search::Grid,
        &cfg,
    )
    .unwrap();
    assert_eq!(db.len(), 18);
    let best = tuning::best(&db).unwrap();
    eprintln!(
        "best dbscan: {} score {:?}",
        best.params_json, best.mean_score
    );
    assert!(best.mean_score.unwrap() > 0.6);
    assert!(
        sites::tune(
            &places,
            "optics",
            &sites::kmeans_space(),
            Search::Grid,
            &cfg
        )
        .is_err()
    );
}

#[test]
fn yearly_reviews_splits_the_last_24_months() {
    let d = |y, m| chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap();
    let rows = vec![
        (1, d(2020, 12), 5),
        (1, d(2020, 1), 3),
        (1, d(2019, 12), 2),
        (1, d(2019, 1), 4),
        (1, d(2018, 12), 100), // older than 24 months: ignored
        (2, d(2019, 6), 7),
    ];
    let y = sites::yearly_reviews(&rows);
    assert_eq!(y[&1], (8.0, 6.0));
    assert_eq!(y[&2], (0.0, 7.0));
}
