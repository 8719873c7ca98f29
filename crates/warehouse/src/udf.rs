//! The warehouse's own logic as DataFusion functions, so that its plans run in any
//! DataFusion session (in-process, or on executors that register them). Each is a thin
//! wrapper over the tested function of [`crate::parse`] or DataFusion's row hashing:
//!
//! - `is_yelp_id(text)`, `is_gmap_id(text)`, `is_google_user_id(text)` → boolean
//!   (false for null): the id checks of [`crate::parse`].
//! - `user_key(source, id)` → the `user_key` of a platform's user id
//!   ([`crate::keys::user_key`]; null for an unknown platform or a null id).
//! - `review_key(source, id)` → the `review_key` of a platform's review id
//!   ([`crate::keys::review_key`]).
//! - `row_hash(a, b, ...)` → 64-bit hash of the values (nulls included) as a
//!   `BIGINT`: content equality of raw rows, for labelling duplicates.
//! - `yelp_timestamp(text)` → microseconds since the epoch, `BIGINT`
//!   ([`crate::parse::parse_yelp_timestamp`]; null when it does not parse).
//! - `clean_text(text)` → the text trimmed, null when empty or `None`/`null`
//!   ([`crate::parse::clean_str`]).
//! - `date_key_of(micros)` → the `date_key` (`yyyymmdd`, `INT`) of a timestamp in
//!   microseconds.
//! - `tip_key(user_id, business_id, time, text)` → [`crate::keys::tip_key`] (null when
//!   an argument is null).
//! - `list_length(list)` → the number of items of a list value (`INT`; null for null).
//! - `rescued_int(rescued, key[, field])` → an integer of a raw row's `_rescued_data`
//!   JSON object: field `key`, or field `field` of the object under `key` (a JSON
//!   integer or a string holding one; null otherwise).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> datafusion::error::Result<()> {
//! use datafusion::prelude::SessionContext;
//! let ctx = SessionContext::new();
//! for f in reviewlake_warehouse::udf::all() {
//!     ctx.register_udf(f);
//! }
//! let b = ctx
//!     .sql("SELECT is_gmap_id('0x80dc:0x1a2b') AS ok, row_hash(1, 'a') = row_hash(1, 'a') AS same")
//!     .await?
//!     .collect()
//!     .await?;
//! assert_eq!(b[0].num_rows(), 1);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int32Array, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::parse;

/// Every function of this crate, to register in a session.
pub fn all() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(TextTo::check("is_yelp_id", parse::is_yelp_id)),
        ScalarUDF::from(TextTo::check("is_gmap_id", parse::is_gmap_id)),
        ScalarUDF::from(TextTo::check("is_google_user_id", parse::is_google_user_id)),
        ScalarUDF::from(RowHash::new()),
        ScalarUDF::from(UserKey::new()),
        ScalarUDF::from(UserKey::named("review_key", crate::keys::review_key)),
        ScalarUDF::from(TextTo::new(
            "yelp_timestamp",
            TextFn::Int(parse::parse_yelp_timestamp),
        )),
        ScalarUDF::from(TextTo::new("clean_text", TextFn::Text(parse::clean_str))),
        ScalarUDF::from(DateKeyOf::new()),
        ScalarUDF::from(RescuedInt::new()),
        ScalarUDF::from(ListLength::new()),
        ScalarUDF::from(TipKey::new()),
    ]
}

/// Arguments as arrays of `n` rows (scalars repeated), and whether all were scalars.
fn arrays(args: &[ColumnarValue], n: usize) -> Result<(Vec<ArrayRef>, bool)> {
    let scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let n = if scalar { 1 } else { n };
    let out = args
        .iter()
        .map(|a| a.clone().into_array(n))
        .collect::<Result<Vec<_>>>()?;
    Ok((out, scalar))
}

/// Arguments as text arrays of `n` rows (each cast to `Utf8`), and whether all were
/// scalars; `name` names the function in the error.
fn texts(args: &[ColumnarValue], n: usize, name: &str) -> Result<(Vec<StringArray>, bool)> {
    let (arrs, scalar) = arrays(args, n)?;
    let mut out = Vec::with_capacity(arrs.len());
    for a in &arrs {
        let a = cast(a, &DataType::Utf8)?;
        let Some(s) = a.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("{name}: expected text");
        };
        out.push(s.clone());
    }
    Ok((out, scalar))
}

/// A result array as a value of the right shape.
fn shaped(out: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

/// `row_hash(a, b, ...) -> BIGINT`: one hash of the row's values (DataFusion's row
/// hashing, fixed seed: the same values give the same hash in every process).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RowHash {
    signature: Signature,
}

impl Default for RowHash {
    fn default() -> Self {
        RowHash::new()
    }
}

impl RowHash {
    /// The function.
    pub fn new() -> RowHash {
        RowHash {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RowHash {
    fn name(&self) -> &str {
        "row_hash"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrs, scalar) = arrays(&args.args, args.number_rows)?;
        let n = arrs.first().map_or(args.number_rows, |a| a.len());
        let mut h = vec![0u64; n];
        create_hashes(&arrs, &RandomState::with_seed(0), &mut h)?;
        let out = Int64Array::from_iter_values(h.into_iter().map(|x| x as i64));
        shaped(Arc::new(out), scalar)
    }
}

/// `user_key(source, id) -> BIGINT`: [`crate::keys::user_key`]; or, made with
/// [`UserKey::named`], another key of a (platform, source id) pair (`review_key`).
#[derive(Debug)]
pub struct UserKey {
    name: &'static str,
    key: fn(crate::keys::Source, &str) -> i64,
    signature: Signature,
}

impl PartialEq for UserKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for UserKey {}
impl std::hash::Hash for UserKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Default for UserKey {
    fn default() -> Self {
        UserKey::new()
    }
}

impl UserKey {
    /// The function.
    pub fn new() -> UserKey {
        UserKey::named("user_key", crate::keys::user_key)
    }

    /// The key `key` of a (platform, source id) pair under the SQL name `name`.
    pub fn named(name: &'static str, key: fn(crate::keys::Source, &str) -> i64) -> UserKey {
        UserKey {
            name,
            key,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for UserKey {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrs, scalar) = texts(&args.args, args.number_rows, self.name)?;
        let [src, id] = arrs.as_slice() else {
            return exec_err!("{} takes (source, id)", self.name);
        };
        let out: Int64Array = (0..id.len())
            .map(|i| {
                if src.is_null(i) || id.is_null(i) {
                    return None;
                }
                crate::keys::Source::parse(src.value(i)).map(|s| (self.key)(s, id.value(i)))
            })
            .collect();
        shaped(Arc::new(out), scalar)
    }
}

/// A function of one text value.
#[derive(Debug, Clone, Copy)]
pub enum TextFn {
    /// A check (an id check of [`crate::parse`]): `BOOLEAN`, false for null.
    Check(fn(&str) -> bool),
    /// Text to an integer: `BIGINT`, null when `None`.
    Int(fn(&str) -> Option<i64>),
    /// Text to text: `VARCHAR`, null when `None`.
    Text(fn(&str) -> Option<&str>),
}

impl TextFn {
    fn output(self) -> DataType {
        match self {
            TextFn::Check(_) => DataType::Boolean,
            TextFn::Int(_) => DataType::Int64,
            TextFn::Text(_) => DataType::Utf8,
        }
    }
}

/// `name(text) -> T`: a [`TextFn`] of this crate over a text column (null in, null out,
/// but for checks: false).
#[derive(Debug)]
pub struct TextTo {
    name: &'static str,
    f: TextFn,
    signature: Signature,
}

impl PartialEq for TextTo {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for TextTo {}
impl std::hash::Hash for TextTo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl TextTo {
    /// The function `f` under `name`.
    pub fn new(name: &'static str, f: TextFn) -> TextTo {
        TextTo {
            name,
            f,
            signature: Signature::uniform(
                1,
                vec![DataType::Utf8, DataType::Utf8View, DataType::LargeUtf8],
                Volatility::Immutable,
            ),
        }
    }

    /// The check `check` under `name` (`is_yelp_id`, ...).
    pub fn check(name: &'static str, check: fn(&str) -> bool) -> TextTo {
        TextTo::new(name, TextFn::Check(check))
    }
}

impl ScalarUDFImpl for TextTo {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.f.output())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrs, scalar) = texts(&args.args, args.number_rows, self.name)?;
        let [s] = arrs.as_slice() else {
            return exec_err!("{} takes one argument", self.name);
        };
        let get = |i: usize| (!s.is_null(i)).then(|| s.value(i));
        let out: ArrayRef = match self.f {
            TextFn::Check(f) => Arc::new(
                (0..s.len())
                    .map(|i| Some(get(i).is_some_and(f)))
                    .collect::<BooleanArray>(),
            ),
            TextFn::Int(f) => Arc::new(
                (0..s.len())
                    .map(|i| get(i).and_then(f))
                    .collect::<Int64Array>(),
            ),
            TextFn::Text(f) => Arc::new(
                (0..s.len())
                    .map(|i| get(i).and_then(f))
                    .collect::<StringArray>(),
            ),
        };
        shaped(out, scalar)
    }
}

/// `date_key_of(micros BIGINT) -> INT`: the `date_key` (`yyyymmdd`) of the UTC day of
/// a timestamp in microseconds since the epoch.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DateKeyOf {
    signature: Signature,
}

impl Default for DateKeyOf {
    fn default() -> Self {
        DateKeyOf::new()
    }
}

impl DateKeyOf {
    /// The function.
    pub fn new() -> DateKeyOf {
        DateKeyOf {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// The `date_key` of a timestamp in microseconds.
pub(crate) fn date_key_of(micros: i64) -> i32 {
    let (y, m, d) = parse::civil_from_days(micros.div_euclid(86_400_000_000));
    crate::keys::date_key(y, m, d)
}

impl ScalarUDFImpl for DateKeyOf {
    fn name(&self) -> &str {
        "date_key_of"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrs, scalar) = arrays(&args.args, args.number_rows)?;
        let [a] = arrs.as_slice() else {
            return exec_err!("date_key_of takes one argument");
        };
        let a = cast(a, &DataType::Int64)?;
        let Some(v) = a.as_any().downcast_ref::<Int64Array>() else {
            return exec_err!("date_key_of: expected an integer");
        };
        let out: Int32Array = (0..v.len())
            .map(|i| (!v.is_null(i)).then(|| date_key_of(v.value(i))))
            .collect();
        shaped(Arc::new(out), scalar)
    }
}

/// `rescued_int(rescued, key[, field]) -> BIGINT`: an integer of a raw row's
/// `_rescued_data` (see [`crate::read`]): field `key` of the JSON object, or field
/// `field` of the object under `key`. Rows without rescued data (the current
/// releases) cost a null check.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RescuedInt {
    signature: Signature,
}

impl Default for RescuedInt {
    fn default() -> Self {
        RescuedInt::new()
    }
}

impl RescuedInt {
    /// The function.
    pub fn new() -> RescuedInt {
        RescuedInt {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RescuedInt {
    fn name(&self) -> &str {
        "rescued_int"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (cols, scalar) = texts(&args.args, args.number_rows, "rescued_int")?;
        if !(2..=3).contains(&cols.len()) {
            return exec_err!("rescued_int takes (rescued, key[, field])");
        }
        let rescued = crate::read::RescuedCol::new(&cols[0]);
        let out: Int64Array = (0..cols[0].len())
            .map(|i| {
                if cols[0].is_null(i) || cols[1].is_null(i) {
                    return None;
                }
                let r = rescued.row(i);
                let v = r.get(cols[1].value(i))?;
                let v = match cols.get(2) {
                    Some(f) if f.is_null(i) => return None,
                    Some(f) => v.get(f.value(i))?,
                    None => v,
                };
                crate::read::json_i64(v)
            })
            .collect();
        shaped(Arc::new(out), scalar)
    }
}

/// `tip_key(user_id, business_id, time, text) -> BIGINT`: [`crate::keys::tip_key`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TipKey {
    signature: Signature,
}

impl Default for TipKey {
    fn default() -> Self {
        TipKey::new()
    }
}

impl TipKey {
    /// The function.
    pub fn new() -> TipKey {
        TipKey {
            signature: Signature::any(4, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TipKey {
    fn name(&self) -> &str {
        "tip_key"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (cols, scalar) = texts(&args.args, args.number_rows, "tip_key")?;
        let [u, b, t, x] = cols.as_slice() else {
            return exec_err!("tip_key takes (user_id, business_id, time, text)");
        };
        let out: Int64Array = (0..u.len())
            .map(|i| {
                if u.is_null(i) || b.is_null(i) || t.is_null(i) || x.is_null(i) {
                    return None;
                }
                Some(crate::keys::tip_key(
                    u.value(i),
                    b.value(i),
                    t.value(i),
                    x.value(i),
                ))
            })
            .collect();
        shaped(Arc::new(out), scalar)
    }
}

/// `list_length(list) -> INT`: the number of items of a list value (nulls included),
/// null for a null list.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ListLength {
    signature: Signature,
}

impl Default for ListLength {
    fn default() -> Self {
        ListLength::new()
    }
}

impl ListLength {
    /// The function.
    pub fn new() -> ListLength {
        ListLength {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ListLength {
    fn name(&self) -> &str {
        "list_length"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use arrow::array::AsArray;
        let (arrs, scalar) = arrays(&args.args, args.number_rows)?;
        let [a] = arrs.as_slice() else {
            return exec_err!("list_length takes one argument");
        };
        let out: Int32Array = match a.data_type() {
            DataType::List(_) => {
                let l = a.as_list::<i32>();
                (0..l.len())
                    .map(|i| (!l.is_null(i)).then(|| l.value_length(i)))
                    .collect()
            }
            DataType::LargeList(_) => {
                let l = a.as_list::<i64>();
                (0..l.len())
                    .map(|i| (!l.is_null(i)).then(|| l.value_length(i) as i32))
                    .collect()
            }
            DataType::Null => (0..a.len()).map(|_| None::<i32>).collect(),
            other => return exec_err!("list_length: expected a list, got {other}"),
        };
        shaped(Arc::new(out), scalar)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use super::*;

    #[tokio::test]
    async fn the_cleaning_functions_wrap_the_tested_ones() -> Result<()> {
        let ctx = SessionContext::new();
        for f in all() {
            ctx.register_udf(f);
        }
        let b = ctx
            .sql(
                "SELECT yelp_timestamp('2018-07-07 22:09:11') AS ts, \
                   yelp_timestamp('not a date') AS bad, \
                   clean_text('  hi ') AS t, clean_text(' None ') AS nt, \
                   date_key_of(yelp_timestamp('2018-07-07 22:09:11')) AS dk, \
                   review_key('yelp', 'abc') AS rk, review_key('nowhere', 'abc') AS rk0, \
                   rescued_int('{\"votes\":{\"useful\":\"2\"},\"likes\":3}', 'votes', 'useful') AS u, \
                   rescued_int('{\"likes\":3}', 'likes') AS l, \
                   rescued_int(CAST(NULL AS VARCHAR), 'likes') AS n, \
                   list_length(make_array(1, 2, 3)) AS ll, \
                   is_yelp_id(CAST(NULL AS VARCHAR)) AS null_id, \
                   is_gmap_id('0x80dc:0x1a2b') AS gmap, \
                   tip_key('u', 'b', '1', 'hi') AS tk",
            )
            .await?
            .collect()
            .await?;
        let r = &b[0];
        let i64_at = |c: &str| {
            let a = r.column_by_name(c).expect(c);
            let a = a.as_any().downcast_ref::<Int64Array>().expect(c);
            (!a.is_null(0)).then(|| a.value(0))
        };
        let str_at = |c: &str| {
            let a = r.column_by_name(c).expect(c);
            let a = a.as_any().downcast_ref::<StringArray>().expect(c);
            (!a.is_null(0)).then(|| a.value(0).to_string())
        };
        let ts = parse::parse_yelp_timestamp("2018-07-07 22:09:11");
        assert!(ts.is_some());
        assert_eq!(i64_at("ts"), ts);
        assert_eq!(i64_at("bad"), None);
        assert_eq!(str_at("t").as_deref(), Some("hi"));
        assert_eq!(str_at("nt"), None);
        let dk = r.column_by_name("dk").expect("dk");
        let dk = dk.as_any().downcast_ref::<Int32Array>().expect("dk");
        assert_eq!(dk.value(0), 20180707);
        assert_eq!(
            i64_at("rk"),
            Some(crate::keys::review_key(crate::keys::Source::Yelp, "abc"))
        );
        assert_eq!(i64_at("rk0"), None);
        assert_eq!(i64_at("u"), Some(2));
        assert_eq!(i64_at("l"), Some(3));
        assert_eq!(i64_at("n"), None);
        let ll = r.column_by_name("ll").expect("ll");
        let ll = ll.as_any().downcast_ref::<Int32Array>().expect("ll");
        assert_eq!(ll.value(0), 3);
        let flag = |c: &str| {
            let a = r.column_by_name(c).expect(c);
            let a = a.as_any().downcast_ref::<BooleanArray>().expect(c);
            (!a.is_null(0)).then(|| a.value(0))
        };
        assert_eq!(flag("null_id"), Some(false), "a check of null is false");
        assert_eq!(flag("gmap"), Some(true));
        assert_eq!(
            i64_at("tk"),
            Some(crate::keys::tip_key("u", "b", "1", "hi"))
        );
        Ok(())
    }
}
