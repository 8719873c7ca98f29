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
        artifact: Bytes::from_static(b"{}"),
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
