//! The warehouse's own logic as DataFusion functions, so that its plans run in any
//! DataFusion session (in-process, or on executors that register them). Each is a thin
//! wrapper over the tested function of [`crate::parse`] or DataFusion's row hashing:
//!
//! - `is_yelp_id(text)`, `is_gmap_id(text)`, `is_google_user_id(text)` → boolean
//!   (false for null): the id checks of [`crate::parse`].
//! - `user_key(source, id)` → the `user_key` of a platform's user id
//!   ([`crate::keys::user_key`]; null for an unknown platform or a null id).
//! - `row_hash(a, b, ...)` → 64-bit hash of the values (nulls included) as a
//!   `BIGINT`: content equality of raw rows, for labelling duplicates.
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

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, StringArray};
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
        ScalarUDF::from(IdCheck::new("is_yelp_id", parse::is_yelp_id)),
        ScalarUDF::from(IdCheck::new("is_gmap_id", parse::is_gmap_id)),
        ScalarUDF::from(IdCheck::new("is_google_user_id", parse::is_google_user_id)),
        ScalarUDF::from(RowHash::new()),
        ScalarUDF::from(UserKey::new()),
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

/// A result array as a value of the right shape.
fn shaped(out: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

/// `name(text) -> boolean`: an id check of [`crate::parse`] (false for null).
#[derive(Debug)]
pub struct IdCheck {
    name: &'static str,
    check: fn(&str) -> bool,
    signature: Signature,
}

impl PartialEq for IdCheck {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for IdCheck {}
impl std::hash::Hash for IdCheck {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl IdCheck {
    /// The check `check` under `name`.
    pub fn new(name: &'static str, check: fn(&str) -> bool) -> IdCheck {
        IdCheck {
            name,
            check,
            signature: Signature::uniform(
                1,
                vec![DataType::Utf8, DataType::Utf8View, DataType::LargeUtf8],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for IdCheck {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrs, scalar) = arrays(&args.args, args.number_rows)?;
        let [a] = arrs.as_slice() else {
            return exec_err!("{} takes one argument", self.name);
        };
        let a = cast(a, &DataType::Utf8)?;
        let Some(s) = a.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("{}: expected text", self.name);
        };
        let out: BooleanArray = (0..s.len())
            .map(|i| Some(!s.is_null(i) && (self.check)(s.value(i))))
            .collect();
        shaped(Arc::new(out), scalar)
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

/// `user_key(source, id) -> BIGINT`: [`crate::keys::user_key`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UserKey {
    signature: Signature,
}

impl Default for UserKey {
    fn default() -> Self {
        UserKey::new()
    }
}

impl UserKey {
    /// The function.
    pub fn new() -> UserKey {
        UserKey {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for UserKey {
    fn name(&self) -> &str {
        "user_key"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrs, scalar) = arrays(&args.args, args.number_rows)?;
        let [src, id] = arrs.as_slice() else {
            return exec_err!("user_key takes (source, id)");
        };
        let (src, id) = (cast(src, &DataType::Utf8)?, cast(id, &DataType::Utf8)?);
        let (Some(src), Some(id)) = (
            src.as_any().downcast_ref::<StringArray>(),
            id.as_any().downcast_ref::<StringArray>(),
        ) else {
            return exec_err!("user_key: expected text");
        };
        let out: Int64Array = (0..id.len())
            .map(|i| {
                if src.is_null(i) || id.is_null(i) {
                    return None;
                }
                crate::keys::Source::parse(src.value(i))
                    .map(|s| crate::keys::user_key(s, id.value(i)))
            })
            .collect();
        shaped(Arc::new(out), scalar)
    }
}
