//! The registry's promotion rules on a real (in-memory) lake: a version becomes current
//! when it beats the current one, `force` promotes an equal one, and a version no better
//! than its best baseline is never current — not with no predecessor, not forced.

use bytes::Bytes;
use reviewlake_lake::Lake;
use reviewlake_ml::registry::{NewModel, Registry};

fn model(name: &str, rmse: Option<f64>, baseline: Option<f64>) -> NewModel {
    NewModel {
        name: name.into(),
        params: serde_json::json!({"rank": 4}),
        metrics: serde_json::json!({"rmse": rmse}),
        primary: ("rmse".into(), rmse, false),
        artifact: Bytes::from_static(b"{}").into(),
        snapshot_id: Some(1),
        baseline,
    }
}

#[tokio::test]
async fn a_model_worse_than_its_best_baseline_is_never_current() {
    let lake = Lake::open("memory://registry-promotion").unwrap();
    let mut reg = Registry::load(&lake).await.unwrap();

    // No predecessor, but worse than the bias baseline (RMSE 1.30): refused.
    let v1 = reg
        .add(&lake, model("als", Some(2.06), Some(1.30)), false)
        .await
        .unwrap();
    assert!(!v1.current, "{v1:?}");
    assert!(reg.current("als").is_none());
    // Equal to the baseline is not better: refused, even forced.
    let v2 = reg
        .add(&lake, model("als", Some(1.30), Some(1.30)), true)
        .await
        .unwrap();
    assert!(!v2.current);
    // No metric at all while a baseline exists: refused.
    let v3 = reg
        .add(&lake, model("als", None, Some(1.30)), true)
        .await
        .unwrap();
    assert!(!v3.current);
    // Better than the baseline: current.
    let v4 = reg
        .add(&lake, model("als", Some(1.25), Some(1.30)), false)
        .await
        .unwrap();
    assert!(v4.current);
    // Better than the baseline but not than the current one: kept old ...
    let v5 = reg
        .add(&lake, model("als", Some(1.28), Some(1.30)), false)
        .await
        .unwrap();
    assert!(!v5.current);
    assert_eq!(reg.current("als").map(|r| r.version), Some(v4.version));
    // ... unless forced.
    let v6 = reg
        .add(&lake, model("als", Some(1.28), Some(1.30)), true)
        .await
        .unwrap();
    assert!(v6.current);
    // The serving policy's NDCG@10 (higher is better) replaces a current version
    // measured on RMSE, but only when it beats its best baseline ...
    let policy = |ndcg: Option<f64>, baseline: f64| NewModel {
        primary: ("policy_ndcg_at_10".into(), ndcg, true),
        baseline: Some(baseline),
        ..model("als", None, None)
    };
    let p1 = reg
        .add(&lake, policy(Some(0.05), 0.05), false)
        .await
        .unwrap();
    assert!(!p1.current, "equal to its best baseline: {p1:?}");
    assert_eq!(reg.current("als").map(|r| r.version), Some(v6.version));
    let p2 = reg
        .add(&lake, policy(Some(0.07), 0.05), false)
        .await
        .unwrap();
    assert!(p2.current, "{p2:?}");
    // ... and from then on a policy must beat the current one.
    let p3 = reg
        .add(&lake, policy(Some(0.06), 0.02), false)
        .await
        .unwrap();
    assert!(!p3.current);
    let p4 = reg
        .add(&lake, policy(Some(0.08), 0.02), false)
        .await
        .unwrap();
    assert!(p4.current);
    assert_eq!(reg.current("als").map(|r| r.version), Some(p4.version));
    // A model without baselines follows the old rule.
    let s1 = reg
        .add(&lake, model("sites", Some(0.5), None), false)
        .await
        .unwrap();
    assert!(s1.current);

    // The registry table says the same after a round trip through the lake.
    reg.commit(&lake, "test-run").await.unwrap();
    let back = Registry::load(&lake).await.unwrap();
    let current: Vec<(String, i64)> = back
        .records()
        .iter()
        .filter(|r| r.current)
        .map(|r| (r.name.clone(), r.version))
        .collect();
    assert_eq!(
        current,
        vec![
            ("als".to_string(), p4.version),
            ("sites".to_string(), s1.version)
        ]
    );
}

#[tokio::test]
async fn a_streamed_json_artifact_is_stored_as_serde_json_would_write_it() {
    use reviewlake_ml::registry::Artifact;
    use std::sync::Arc;

    let lake = Lake::open("memory://registry-streamed").unwrap();
    let mut reg = Registry::load(&lake).await.unwrap();
    // Larger than one upload part (8 MiB of text), so it goes up in several.
    let factors: Vec<f64> = (0..1_200_000).map(|i| (i as f64).sqrt() * 0.1234).collect();
    let value = Arc::new(serde_json::json!({"users": ["7", "8"], "factors": factors}));
    let expected = serde_json::to_vec(&*value).unwrap();
    assert!(
        expected.len() > reviewlake_lake::ARTIFACT_CHUNK,
        "{}",
        expected.len()
    );
    let v = reg
        .add(
            &lake,
            NewModel {
                artifact: Artifact::json(Arc::clone(&value)),
                ..model("big", Some(1.0), None)
            },
            false,
        )
        .await
        .unwrap();
    assert!(v.current);
    let (rec, bytes) = reg.load_current(&lake, "big").await.unwrap().unwrap();
    assert_eq!(rec.version, v.version);
    assert_eq!(bytes.len(), expected.len());
    assert!(bytes[..] == expected[..], "the stored artifact differs");
}

#[tokio::test]
async fn a_version_without_an_artifact_is_recorded_but_never_current() {
    use reviewlake_ml::registry::Artifact;

    let lake = Lake::open("memory://registry-no-artifact").unwrap();
    let mut reg = Registry::load(&lake).await.unwrap();
    let evaluated_only = NewModel {
        artifact: Artifact::None,
        ..model("implicit_als", Some(0.5), Some(1.0))
    };
    assert!(evaluated_only.beats_baseline());
    let v1 = reg.add(&lake, evaluated_only, true).await.unwrap();
    assert!(!v1.current, "{v1:?}");
    assert!(reg.current("implicit_als").is_none());
    assert!(
        reg.load_current(&lake, "implicit_als")
            .await
            .unwrap()
            .is_none()
    );
    let stored = lake
        .list_artifacts(reviewlake_lake::Zone::Models, "implicit_als")
        .await
        .unwrap();
    assert_eq!(stored, vec!["implicit_als/1/meta.json".to_string()]);
    // The next version with a model is current.
    let v2 = reg
        .add(&lake, model("implicit_als", Some(0.6), Some(1.0)), false)
        .await
        .unwrap();
    assert!(v2.current);
    // beats_baseline follows the metric's direction.
    let higher = |v: Option<f64>, b: Option<f64>| NewModel {
        primary: ("ndcg_at_10".into(), v, true),
        baseline: b,
        ..model("x", None, None)
    };
    assert!(higher(Some(0.2), Some(0.1)).beats_baseline());
    assert!(!higher(Some(0.1), Some(0.1)).beats_baseline());
    assert!(!higher(None, Some(0.1)).beats_baseline());
    assert!(higher(None, None).beats_baseline());
}
