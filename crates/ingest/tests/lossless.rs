//! The raw zone is lossless: on generated records with extra fields and mistyped values,
//! every top-level field with a non-null value of every valid record is either in its
//! typed column (with its value) or in `_rescued_data` (with its original JSON value).

use arrow::array::{Array, RecordBatch, StringArray};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use reviewlake_ingest::{ChunkReader, RawDataset, parse_chunk};
use reviewlake_schema::lineage;
use serde_json::{Map, Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5eed_1055),
        ..ProptestConfig::default()
    }
}

/// A value of the right shape for a field of `dataset`, or a mistyped one.
fn arb_field_value(ty: &arrow_schema::DataType) -> BoxedStrategy<Value> {
    use arrow_schema::DataType::*;
    let text = "[a-zA-Z0-9 éü,.:-]{0,12}".prop_map(Value::from).boxed();
    match ty {
        Utf8 => text,
        Int64 => prop_oneof![
            any::<i32>().prop_map(Value::from),
            (0i64..1_000_000).prop_map(|n| Value::from(n.to_string())),
        ]
        .boxed(),
        Float64 => prop_oneof![
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            (0i64..10).prop_map(Value::from),
        ]
        .boxed(),
        List(item) => prop::collection::vec(arb_field_value(item.data_type()), 0..3)
            .prop_map(Value::from)
            .boxed(),
        Map(entries, _) => {
            let value_ty = match entries.data_type() {
                Struct(fs) => fs[1].data_type().clone(),
                other => other.clone(),
            };
            prop::collection::btree_map("[a-zA-Z]{1,6}", arb_field_value(&value_ty), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
                .boxed()
        }
        Struct(fields) => {
            let parts: Vec<_> = fields
                .iter()
                .map(|f| (Just(f.name().clone()), arb_field_value(f.data_type())))
                .collect();
            parts
                .prop_map(|kv| Value::Object(kv.into_iter().collect()))
                .boxed()
        }
        _ => Just(Value::Null).boxed(),
    }
}

/// Anything at all (for extra fields and mistyped values).
fn arb_any() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1e3f64..1e3).prop_map(|f| json!(f)),
        "[a-z ]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A record of `dataset`: each field absent, null, well-typed or anything; plus extras.
fn arb_record(dataset: RawDataset) -> BoxedStrategy<Map<String, Value>> {
    let schema = dataset.source_schema();
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name().clone();
            let n2 = name.clone();
            prop_oneof![
                2 => Just(None),
                1 => Just(Some((name.clone(), Value::Null))),
                5 => arb_field_value(f.data_type()).prop_map(move |v| Some((name.clone(), v))),
                2 => arb_any().prop_map(move |v| Some((n2.clone(), v))),
            ]
            .boxed()
        })
        .collect();
    let extras = prop::collection::btree_map("extra_[a-z]{1,5}|type|votes", arb_any(), 0..3);
    (fields, extras)
        .prop_map(|(fs, extras)| {
            let mut m: Map<String, Value> = fs.into_iter().flatten().collect();
            for (k, v) in extras {
                m.entry(k).or_insert(v);
            }
            m
        })
        .boxed()
}

/// The JSON of row `i` of column `name` (arrow-json's writer), `None` if null.
fn typed_json(batch: &RecordBatch, name: &str, i: usize) -> Option<Value> {
    let col = batch.column_by_name(name)?;
    if col.is_null(i) {
        return None;
    }
    let one = RecordBatch::try_new(
        std::sync::Arc::new(arrow_schema::Schema::new(vec![
            batch.schema().field_with_name(name).ok()?.clone(),
        ])),
        vec![col.slice(i, 1)],
    )
    .ok()?;
    let mut buf = Vec::new();
    let mut w = arrow_json::LineDelimitedWriter::new(&mut buf);
    w.write(&one).ok()?;
    w.finish().ok()?;
    let v: Value = serde_json::from_slice(&buf).ok()?;
    v.get(name).cloned()
}

/// Same value, allowing the decoder's documented coercions: numbers compare as numbers
/// (`4` = `4.0`, numeric strings into number columns), primitives into text columns as
/// their JSON text, and nulls inside objects are the same as absent keys.
fn same(original: &Value, typed: &Value) -> bool {
    match (original, typed) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(s), Value::Number(b)) => s.trim().parse::<f64>().ok() == b.as_f64(),
        (Value::Number(a), Value::String(s)) => a.to_string() == *s || a.as_f64() == s.parse().ok(),
        (Value::Bool(a), Value::String(s)) => a.to_string() == *s,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a
                .iter()
                .chain(b.iter())
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k)
                .collect();
            keys.into_iter().all(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => same(x, y),
                (Some(x), None) | (None, Some(x)) => x.is_null(),
                (None, None) => true,
            })
        }
        (a, b) => a == b,
    }
}

fn check(dataset: RawDataset, records: &[Map<String, Value>]) -> Result<(), TestCaseError> {
    let mut input = Vec::new();
    for r in records {
        input.extend_from_slice(&serde_json::to_vec(r).unwrap());
        input.push(b'\n');
    }
    let mut reader = ChunkReader::new(&input[..], 1 << 16).unwrap();
    let mut batches = Vec::new();
    let mut quarantined = 0;
    while let Some(c) = reader.next_chunk().unwrap() {
        let p = parse_chunk(dataset, "gen.json", &c).unwrap();
        quarantined += p.quarantined.len();
        batches.extend(p.batch);
    }
    prop_assert_eq!(quarantined, 0, "every generated record is valid JSON");
    let batch = arrow::compute::concat_batches(&dataset.raw_table_schema(), &batches).unwrap();
    prop_assert_eq!(batch.num_rows(), records.len());
    let rescued = batch
        .column_by_name(lineage::RESCUED_DATA)
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    for (i, record) in records.iter().enumerate() {
        let kept: Map<String, Value> = if rescued.is_null(i) {
            Map::new()
        } else {
            serde_json::from_str(rescued.value(i)).unwrap()
        };
        for (k, v) in record.iter().filter(|(_, v)| !v.is_null()) {
            match (kept.get(k), typed_json(&batch, k, i)) {
                (Some(r), None) => prop_assert_eq!(r, v, "rescued {} of record {}", k, i),
                (None, Some(t)) => prop_assert!(
                    same(v, &t),
                    "typed {} of record {}: {} became {}",
                    k,
                    i,
                    v,
                    t
                ),
                (Some(_), Some(_)) => prop_assert!(false, "{k} both typed and rescued"),
                (None, None) => prop_assert!(false, "{k} = {v} of record {i} was lost"),
            }
        }
        for k in kept.keys() {
            prop_assert!(record.contains_key(k), "rescued {} is not in the record", k);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn yelp_reviews_lose_nothing(records in prop::collection::vec(arb_record(RawDataset::YelpReview), 1..20)) {
        check(RawDataset::YelpReview, &records)?;
    }

    #[test]
    fn yelp_businesses_lose_nothing(records in prop::collection::vec(arb_record(RawDataset::YelpBusiness), 1..20)) {
        check(RawDataset::YelpBusiness, &records)?;
    }

    #[test]
    fn yelp_users_lose_nothing(records in prop::collection::vec(arb_record(RawDataset::YelpUser), 1..10)) {
        check(RawDataset::YelpUser, &records)?;
    }

    #[test]
    fn google_places_lose_nothing(records in prop::collection::vec(arb_record(RawDataset::GoogleMetadata), 1..20)) {
        check(RawDataset::GoogleMetadata, &records)?;
    }

    #[test]
    fn google_reviews_lose_nothing(records in prop::collection::vec(arb_record(RawDataset::GoogleReview), 1..20)) {
        check(RawDataset::GoogleReview, &records)?;
    }
}
