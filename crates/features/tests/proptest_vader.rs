//! Property test of the VADER port: on any Unicode text `polarity_scores` never panics,
//! `neg`/`neu`/`pos` are in `[0, 1]`, `compound` in `[-1, 1]`, and either the three
//! proportions sum to 1 (within the 3-decimal rounding, 0.002) or, for a text with no
//! word at all (empty or whitespace only), all four scores are 0.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use proptest::test_runner::TestCaseError;
use reviewlake_features::vader::{SentimentAnalyzer, SentimentScores};

/// `cases` cases from a fixed seed (CI is deterministic), no regression files written;
/// `PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer or different run.
fn config(cases: u32) -> ProptestConfig {
    let env = ProptestConfig::default(); // reads the PROPTEST_* variables
    let set = |v: &str| std::env::var_os(v).is_some();
    ProptestConfig {
        cases: if set("PROPTEST_CASES") {
            env.cases
        } else {
            cases
        },
        rng_seed: if set("PROPTEST_RNG_SEED") {
            env.rng_seed
        } else {
            RngSeed::Fixed(0x7265_7669_6577)
        },
        failure_persistence: None,
        ..env
    }
}

fn check(text: &str) -> Result<SentimentScores, TestCaseError> {
    let s = SentimentAnalyzer::shared().polarity_scores(text);
    for (name, v) in [("neg", s.neg), ("neu", s.neu), ("pos", s.pos)] {
        prop_assert!((0.0..=1.0).contains(&v), "{name} = {v} for {text:?}");
    }
    prop_assert!(
        (-1.0..=1.0).contains(&s.compound),
        "compound = {} for {text:?}",
        s.compound
    );
    let sum = s.neg + s.neu + s.pos;
    let all_zero = s == SentimentScores::default();
    prop_assert!(
        (sum - 1.0).abs() <= 0.002 || all_zero,
        "neg+neu+pos = {sum} for {text:?}: {s:?}"
    );
    if text.chars().all(char::is_whitespace) {
        prop_assert!(all_zero, "no words but {s:?} for {text:?}");
    }
    if text.chars().any(|c| c.is_ascii_alphanumeric()) {
        prop_assert!(!all_zero, "words but all zero for {text:?}");
    }
    Ok(s)
}

/// Pieces that reach VADER's rules: lexicon words, boosters, negations, "but", "kind
/// of", caps, punctuation emphasis, emoji and emoticons, Unicode whitespace.
const PIECES: &[&str] = &[
    " ",
    " ",
    " ",
    "  ",
    "\t",
    "\n",
    "\u{a0}",
    "\u{2009}",
    "\u{202f}",
    "\u{3000}",
    "\u{85}",
    "\u{1c}",
    "good",
    "GOOD",
    "great",
    "bad",
    "BAD",
    "horrible",
    "love",
    "hate",
    "not",
    "isn't",
    "never",
    "very",
    "extremely",
    "kinda",
    "kind",
    "of",
    "but",
    "BUT",
    "least",
    "at",
    "without",
    "doubt",
    "no",
    "the",
    "tacos",
    "were",
    "!",
    "!!!",
    "?",
    "??",
    "????",
    ".",
    ",",
    "'",
    ":)",
    ":(",
    ":-D",
    "<3",
    "😀",
    "😡",
    "❤",
    "👍",
    "é",
    "ß",
    "İ",
    "ﬁ",
    "\u{301}",
    "\u{200b}",
    "x",
    "a",
    "I",
    "1",
    "-",
    "_",
    "sort",
    "of",
    "hardly",
    "too",
    "damn",
    "fucking",
];

fn vader_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_unicode(text in prop_oneof![any::<String>(), "\\PC{0,80}", "\\s{0,8}"]) {
        check(&text)?;
    }

    #[test]
    fn vader_vocabulary(text in vader_text()) {
        check(&text)?;
    }

    /// Long texts (many sentiment words, many `!`), and the same text twice gives the
    /// same scores (the per-thread scratch buffers do not leak state).
    #[test]
    fn long_texts_are_deterministic(pieces in prop::collection::vec(prop::sample::select(PIECES), 200..600)) {
        let text = pieces.concat();
        let a = check(&text)?;
        let _ = check("great")?;
        let b = check(&text)?;
        prop_assert_eq!(a, b);
    }
}

#[test]
fn empty_and_blank_texts_are_all_zero() {
    for t in ["", " ", "\n\t ", "\u{a0}\u{3000}"] {
        assert_eq!(
            SentimentAnalyzer::shared().polarity_scores(t),
            SentimentScores::default(),
            "{t:?}"
        );
    }
}
