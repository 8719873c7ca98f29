//! The features stage's own logic as DataFusion functions, so that its plans run in
//! any DataFusion session (in-process, or on executors that register them).
//!
//! - `vader(text)`: VADER sentiment ([`crate::vader`], the reference port) as a struct
//!   `{neg, neu, pos, compound, words}`; a null text gives null scores and 0 words.
//!   The texts of one batch are scored in parallel. Take the struct apart in a
//!   projection above the one that computes it, on a session with
//!   `datafusion.optimizer.enable_leaf_expression_pushdown` off (the lake's engine
//!   sets it): that optimizer pass copies `vader(text)` into every `v['field']`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> datafusion::error::Result<()> {
//! use datafusion::prelude::SessionContext;
//! let ctx = SessionContext::new();
//! for f in reviewlake_features::udf::all() {
//!     ctx.register_udf(f);
//! }
//! let df = ctx
//!     .sql("SELECT vader('The tacos were GREAT!!! :)')['compound'] AS c")
//!     .await?;
//! let b = df.collect().await?;
//! assert_eq!(b[0].num_rows(), 1);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int32Array, StringArray, StructArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use rayon::prelude::*;

use crate::vader::SentimentAnalyzer;

/// Name of the VADER function.
pub const VADER: &str = "vader";

/// Every function of this crate, to register in a session.
pub fn all() -> Vec<ScalarUDF> {
    vec![ScalarUDF::from(Vader::new())]
}

/// The fields of `vader`'s result.
pub fn vader_fields() -> Fields {
    Fields::from(vec![
        Field::new("neg", DataType::Float64, true),
        Field::new("neu", DataType::Float64, true),
        Field::new("pos", DataType::Float64, true),
        Field::new("compound", DataType::Float64, true),
        Field::new("words", DataType::Int32, false),
    ])
}

/// `vader(text) -> {neg, neu, pos, compound, words}`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Vader {
    signature: Signature,
}

impl Default for Vader {
    fn default() -> Self {
        Vader::new()
    }
}

impl Vader {
    /// The function.
    pub fn new() -> Vader {
        Vader {
            signature: Signature::uniform(
                1,
                vec![DataType::Utf8, DataType::Utf8View, DataType::LargeUtf8],
                Volatility::Immutable,
            ),
        }
    }
}

/// VADER scores and word count of every text of `texts` (null text: null scores, 0
/// words), in parallel.
pub fn score(texts: &StringArray) -> StructArray {
    let an = SentimentAnalyzer::shared();
    let scored: Vec<Option<([f64; 4], i32)>> = (0..texts.len())
        .into_par_iter()
        .map(|i| {
            if texts.is_null(i) {
                return None;
            }
            let t = texts.value(i);
            let s = an.polarity_scores(t);
            Some((
                [s.neg, s.neu, s.pos, s.compound],
                t.split_whitespace().count() as i32,
            ))
        })
        .collect();
    let score_col = |k: usize| -> ArrayRef {
        Arc::new(Float64Array::from(
            scored
                .iter()
                .map(|s| s.as_ref().map(|x| x.0[k]))
                .collect::<Vec<_>>(),
        ))
    };
    let words: ArrayRef = Arc::new(Int32Array::from_iter_values(
        scored.iter().map(|s| s.as_ref().map_or(0, |x| x.1)),
    ));
    StructArray::new(
        vader_fields(),
        vec![
            score_col(0),
            score_col(1),
            score_col(2),
            score_col(3),
            words,
        ],
        None,
    )
}

impl ScalarUDFImpl for Vader {
    fn name(&self) -> &str {
        VADER
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(vader_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let [text] = args.args.as_slice() else {
            return exec_err!("vader takes one argument, got {}", args.args.len());
        };
        let is_scalar = matches!(text, ColumnarValue::Scalar(_));
        let arr = text.clone().into_array(if is_scalar { 1 } else { n })?;
        let arr = cast(&arr, &DataType::Utf8)?;
        let Some(texts) = arr.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("vader: expected text, got {}", arr.data_type());
        };
        let out: ArrayRef = Arc::new(score(texts));
        if is_scalar {
            Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&out, 0)?,
            ))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Float64Type;

    #[test]
    fn scores_equal_the_analyzer_and_null_text_scores_null() {
        let texts = StringArray::from(vec![Some("Great food, awful service."), None, Some("")]);
        let s = score(&texts);
        let compound = s.column(3).as_primitive::<Float64Type>();
        let want = SentimentAnalyzer::shared().polarity_scores("Great food, awful service.");
        assert_eq!(compound.value(0), want.compound);
        assert!(compound.is_null(1));
        let words = s.column(4).as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!((words.value(0), words.value(1), words.value(2)), (4, 0, 0));
    }

    /// The features queries take the score struct apart field by field: on the lake's
    /// engine the plan must still score each text once (DataFusion's leaf-expression
    /// pushdown would copy `vader(text)` into every `v['field']`).
    #[tokio::test]
    async fn a_plan_scores_each_text_once() -> datafusion::error::Result<()> {
        let ctx = reviewlake_lake::QueryEngine::unbounded()
            .context()
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        for f in all() {
            ctx.register_udf(f);
        }
        ctx.sql("CREATE TABLE t (id BIGINT, text VARCHAR) AS VALUES (1, 'good'), (2, NULL)")
            .await?
            .collect()
            .await?;
        let df = ctx
            .sql(
                "SELECT id, v['neg'] AS neg, v['neu'] AS neu, v['pos'] AS pos, \
                 v['compound'] AS compound, v['words'] AS word_count \
                 FROM (SELECT *, vader(text) AS v FROM t)",
            )
            .await?;
        let plan = df.clone().create_physical_plan().await?;
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        let logical = df
            .clone()
            .into_optimized_plan()?
            .display_indent()
            .to_string();
        assert_eq!(shown.matches("vader(").count(), 1, "{logical}\n{shown}");
        let b = df.collect().await?;
        let rows: usize = b.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 2);
        Ok(())
    }
}
