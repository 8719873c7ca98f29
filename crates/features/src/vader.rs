//! VADER sentiment scoring, a faithful port of the Python package
//! `vaderSentiment` 3.3.2.
//!
//! [`SentimentAnalyzer::polarity_scores`] reproduces
//! `vaderSentiment.vaderSentiment.SentimentIntensityAnalyzer().polarity_scores`
//! exactly: for every input text the `neg`, `neu`, `pos` and `compound` values
//! are the same `f64`s that Python returns (including Python's
//! `round(x, 3)` / `round(compound, 4)`). Nothing was "fixed": the quirks of
//! the reference implementation are reproduced on purpose, among them
//!
//! * tokenisation with Python's `str.split()` (Python's whitespace set, which
//!   also contains U+001C..U+001F, unlike [`char::is_whitespace`]) and
//!   `str.strip(string.punctuation)` that is only kept when more than two
//!   code points remain (so `"ok."` stays `"ok."` and `":)"` stays `":)"`);
//! * single-code-point emoji replaced by their lexicon description before
//!   tokenising (a space is inserted before a description only when the
//!   previous character is not an ASCII space, never after it);
//! * Python's `str.isupper()` semantics, via a table generated from Python
//!   3.11 (Unicode 14.0) so that results do not drift with Rust's Unicode
//!   version;
//! * the operator-precedence slip in the three-words-back negation check
//!   (`"so"`/`"this"` right before a lexicon word always boosts by 1.25), the
//!   special-idiom check that only runs for words at index > 2 whose third
//!   predecessor is not a lexicon word, the unreachable single-word idiom
//!   `"badass"`, and the never-called "sentiment laden idioms" check;
//! * the `"but"` rule that re-finds each score with `list.index` (the first
//!   *equal* score), so equal scores on both sides of `"but"` are rescaled
//!   the way Python does it;
//! * duplicate lexicon entries (the last one wins) and lexicon entries that can
//!   never match because they contain upper-case letters (e.g. `":D"`).
//!
//! The lexicons (`vader_lexicon.txt`, `emoji_utf8_lexicon.txt`) are copied
//! byte for byte from vaderSentiment 3.3.2 and embedded at compile time. They
//! are © C.J. Hutto and distributed under the MIT License (see
//! `data/VADER_LICENSE.txt`). VADER is described in: Hutto, C.J. & Gilbert,
//! E.E. (2014). *VADER: A Parsimonious Rule-based Model for Sentiment Analysis
//! of Social Media Text.* ICWSM-14.
//!
//! The analyzer is immutable after construction, `Send + Sync`, and meant to
//! be built once and shared (see [`SentimentAnalyzer::shared`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::OnceLock;

/// Empirically derived mean sentiment intensity increase for booster words.
const B_INCR: f64 = 0.293;
/// Empirically derived mean sentiment intensity decrease for dampener words.
const B_DECR: f64 = -0.293;
/// Intensity increase for an ALL-CAPS word among non-caps words.
const C_INCR: f64 = 0.733;
/// Scalar applied to negated valences.
const N_SCALAR: f64 = -0.74;

/// `vader_lexicon.txt` from vaderSentiment 3.3.2.
static VADER_LEXICON: &str = include_str!("../data/vader_lexicon.txt");
/// `emoji_utf8_lexicon.txt` from vaderSentiment 3.3.2.
static EMOJI_LEXICON: &str = include_str!("../data/emoji_utf8_lexicon.txt");

/// `vaderSentiment.NEGATE`.
const NEGATE: [&str; 59] = [
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// Keys of `vaderSentiment.BOOSTER_DICT` whose value is `B_INCR`.
const BOOSTER_INCR: [&str; 60] = [
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

/// Keys of `vaderSentiment.BOOSTER_DICT` whose value is `B_DECR`. The
/// two-word keys can only match the bigram check in the idiom rule.
const BOOSTER_DECR: [&str; 24] = [
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
];

/// Words that some rule compares a (lower-cased) token against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
enum Tag {
    #[default]
    None,
    No,
    But,
    Least,
    At,
    Very,
    Never,
    So,
    This,
    Without,
    Doubt,
    Or,
    Nor,
    Kind,
    Of,
    Just,
    Enough,
    Sort,
    The,
    Shit,
    Bomb,
    Bad,
    Ass,
    Bus,
    Stop,
    Yeah,
    Right,
    Kiss,
    Death,
    To,
    Die,
    For,
    Beating,
    Heart,
}

impl Tag {
    /// Every tag, indexed by its discriminant.
    const ALL: [Tag; 34] = [
        Tag::None,
        Tag::No,
        Tag::But,
        Tag::Least,
        Tag::At,
        Tag::Very,
        Tag::Never,
        Tag::So,
        Tag::This,
        Tag::Without,
        Tag::Doubt,
        Tag::Or,
        Tag::Nor,
        Tag::Kind,
        Tag::Of,
        Tag::Just,
        Tag::Enough,
        Tag::Sort,
        Tag::The,
        Tag::Shit,
        Tag::Bomb,
        Tag::Bad,
        Tag::Ass,
        Tag::Bus,
        Tag::Stop,
        Tag::Yeah,
        Tag::Right,
        Tag::Kiss,
        Tag::Death,
        Tag::To,
        Tag::Die,
        Tag::For,
        Tag::Beating,
        Tag::Heart,
    ];

    #[inline]
    fn from_code(code: u8) -> Tag {
        Tag::ALL
            .get(usize::from(code))
            .copied()
            .unwrap_or(Tag::None)
    }
}

/// Lower-cased spelling of every [`Tag`] (except `Tag::None`).
const TAG_WORDS: [(&str, Tag); 33] = [
    ("no", Tag::No),
    ("but", Tag::But),
    ("least", Tag::Least),
    ("at", Tag::At),
    ("very", Tag::Very),
    ("never", Tag::Never),
    ("so", Tag::So),
    ("this", Tag::This),
    ("without", Tag::Without),
    ("doubt", Tag::Doubt),
    ("or", Tag::Or),
    ("nor", Tag::Nor),
    ("kind", Tag::Kind),
    ("of", Tag::Of),
    ("just", Tag::Just),
    ("enough", Tag::Enough),
    ("sort", Tag::Sort),
    ("the", Tag::The),
    ("shit", Tag::Shit),
    ("bomb", Tag::Bomb),
    ("bad", Tag::Bad),
    ("ass", Tag::Ass),
    ("bus", Tag::Bus),
    ("stop", Tag::Stop),
    ("yeah", Tag::Yeah),
    ("right", Tag::Right),
    ("kiss", Tag::Kiss),
    ("death", Tag::Death),
    ("to", Tag::To),
    ("die", Tag::Die),
    ("for", Tag::For),
    ("beating", Tag::Beating),
    ("heart", Tag::Heart),
];

/// Two-word keys of `SPECIAL_CASES` (`"the shit"`, `"bus stop"`, ...).
#[inline]
fn special2(a: Tag, b: Tag) -> Option<f64> {
    match (a, b) {
        (Tag::The, Tag::Shit) | (Tag::The, Tag::Bomb) => Some(3.0),
        (Tag::Bad, Tag::Ass) => Some(1.5),
        (Tag::Bus, Tag::Stop) => Some(0.0),
        (Tag::Yeah, Tag::Right) => Some(-2.0),
        (Tag::Beating, Tag::Heart) => Some(3.5),
        _ => None,
    }
}

/// Three-word keys of `SPECIAL_CASES` (`"kiss of death"`, `"to die for"`).
#[inline]
fn special3(a: Tag, b: Tag, c: Tag) -> Option<f64> {
    match (a, b, c) {
        (Tag::Kiss, Tag::Of, Tag::Death) => Some(-1.5),
        (Tag::To, Tag::Die, Tag::For) => Some(3.0),
        _ => None,
    }
}

/// Two-word keys of `BOOSTER_DICT` (all of them are `B_DECR`).
#[inline]
fn booster_bigram(a: Tag, b: Tag) -> bool {
    matches!(
        (a, b),
        (Tag::Just, Tag::Enough) | (Tag::Kind, Tag::Of) | (Tag::Sort, Tag::Of)
    )
}

/// What is known about one lower-cased word.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// Valence from `vader_lexicon.txt`.
    lex: Option<f64>,
    /// Scalar from `BOOSTER_DICT`.
    booster: Option<f64>,
    /// Member of `NEGATE`.
    negate: bool,
    /// Word some rule looks for.
    tag: Tag,
}

/// Keys of at most this many bytes are stored inline in [`WordTable`] (the
/// longest word of the shipped lexicon has 19 bytes).
const INLINE_KEY: usize = 24;

/// A word of at most [`INLINE_KEY`] bytes, zero-padded into machine words so
/// that hashing and comparing it needs no loop and no `memcmp` call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Key {
    words: [u64; 3],
    len: u64,
}

impl Key {
    /// The key for `bytes`; `None` if it is too long to be stored inline.
    #[inline]
    fn new(bytes: &[u8]) -> Option<Key> {
        if bytes.len() > INLINE_KEY {
            return None;
        }
        let mut words = [0u64; 3];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            *word = load_le(chunk);
        }
        Some(Key {
            words,
            len: bytes.len() as u64,
        })
    }

    /// Multiply-and-fold hash of the three words and the length (the
    /// products are independent, so this is a short dependency chain).
    #[inline]
    fn hash(&self) -> u64 {
        const K0: u64 = 0xa076_1d64_78bd_642f;
        const K1: u64 = 0xe703_7ed1_a0b4_28db;
        const K2: u64 = 0x8ebc_6af0_9c88_c6e3;
        let [w0, w1, w2] = self.words;
        let m = u128::from(w0 ^ K0) * u128::from(w1 ^ K1);
        let h = (m as u64) ^ ((m >> 64) as u64) ^ (w2 ^ self.len).wrapping_mul(K2);
        h ^ (h >> 32)
    }
}

/// Up to 8 bytes as a little-endian, zero-padded `u64`, built in registers.
#[inline]
fn load_le(chunk: &[u8]) -> u64 {
    if let Some(full) = chunk.first_chunk::<8>() {
        return u64::from_le_bytes(*full);
    }
    let mut w = 0u64;
    for (i, &b) in chunk.iter().enumerate() {
        w |= u64::from(b) << (8 * i);
    }
    w
}

/// One word of [`WordTable`]: its key and its facts.
#[derive(Debug, Clone, Copy)]
struct Record {
    key: Key,
    token: Token,
}

/// Open-addressing hash table from lower-case words to their facts (as a
/// [`Token`] without the per-occurrence flags), built once. With a load
/// factor of at most 1/4, lookups of absent words (most tokens) usually
/// touch a single 4-byte slot.
#[derive(Debug, Clone, Default)]
struct WordTable {
    /// `0` for an empty slot, else `fingerprint << 16 | (index + 1)`.
    slots: Vec<u32>,
    /// `slots.len() - 1`; `slots.len()` is a power of two.
    mask: usize,
    records: Vec<Record>,
    /// Words that do not fit in `slots`/`records`: longer than
    /// [`INLINE_KEY`] bytes or beyond 65,535 records (none in the shipped
    /// data).
    long: HashMap<Vec<u8>, Token>,
    /// Byte length of the longest word.
    max_len: usize,
}

impl WordTable {
    fn build(words: HashMap<&'static [u8], Entry>) -> Self {
        let mut table = WordTable {
            max_len: words.keys().map(|k| k.len()).max().unwrap_or(0),
            ..WordTable::default()
        };
        const MAX_RECORDS: usize = u16::MAX as usize;
        let mut inline: Vec<(&'static [u8], Record)> = Vec::with_capacity(words.len());
        for (word, entry) in words {
            let token = Token::from_entry(&entry);
            match Key::new(word) {
                Some(key) => inline.push((word, Record { key, token })),
                None => {
                    table.long.insert(word.to_vec(), token);
                }
            }
        }
        // Deterministic layout (HashMap iteration order is random).
        inline.sort_unstable_by_key(|(word, _)| *word);
        for (word, record) in inline.drain(MAX_RECORDS.min(inline.len())..) {
            table.long.insert(word.to_vec(), record.token);
        }
        // Load factor at most 1/4, so probe sequences stay short and end.
        let size = (inline.len() * 4).next_power_of_two().max(16);
        table.slots = vec![0; size];
        table.mask = size - 1;
        for (_, record) in inline {
            let index = (table.records.len() + 1) as u32;
            let h = record.key.hash();
            let mut i = (h as usize) & table.mask;
            while table.slots[i] != 0 {
                i = (i + 1) & table.mask;
            }
            table.slots[i] = Self::fingerprint(h) << 16 | index;
            table.records.push(record);
        }
        table
    }

    #[inline]
    fn fingerprint(hash: u64) -> u32 {
        (hash >> 48) as u32
    }

    /// The facts for an inline key ([`Token::ABSENT`] if unknown).
    #[inline]
    fn get(&self, key: &Key) -> Token {
        let h = key.hash();
        let fingerprint = Self::fingerprint(h);
        let mut i = (h as usize) & self.mask;
        while let Some(&slot) = self.slots.get(i) {
            let index = slot & 0xFFFF;
            if index == 0 {
                break;
            }
            if slot >> 16 == fingerprint
                && let Some(record) = self.records.get((index - 1) as usize)
                && record.key == *key
            {
                return record.token;
            }
            i = (i + 1) & self.mask;
        }
        self.get_long(key)
    }

    /// Inline-sized words that overflowed into `long` (never, for the
    /// shipped data).
    #[cold]
    fn get_long(&self, key: &Key) -> Token {
        if self.long.is_empty() {
            return Token::ABSENT;
        }
        let mut bytes = [0u8; INLINE_KEY];
        for (dst, w) in bytes.chunks_mut(8).zip(key.words) {
            dst.copy_from_slice(&w.to_le_bytes());
        }
        bytes
            .get(..key.len as usize)
            .and_then(|word| self.long.get(word))
            .copied()
            .unwrap_or(Token::ABSENT)
    }

    /// The facts for an already lower-cased word.
    fn get_bytes(&self, lower: &[u8]) -> Token {
        if lower.len() > self.max_len {
            return Token::ABSENT;
        }
        match Key::new(lower) {
            Some(key) => self.get(&key),
            None => self.long.get(lower).copied().unwrap_or(Token::ABSENT),
        }
    }
}

/// The four VADER scores of one text, as returned by vaderSentiment's
/// `polarity_scores` (`neg`, `neu`, `pos` rounded to 3 decimals and
/// `compound` to 4, exactly like Python's `round`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SentimentScores {
    /// Proportion of the text that is negative, in `[0, 1]`.
    pub neg: f64,
    /// Proportion of the text that is neutral, in `[0, 1]`.
    pub neu: f64,
    /// Proportion of the text that is positive, in `[0, 1]`.
    pub pos: f64,
    /// Normalised, weighted composite score in `[-1, 1]`.
    pub compound: f64,
}

/// A VADER sentiment analyzer equivalent to vaderSentiment 3.3.2's
/// `SentimentIntensityAnalyzer` with its default lexicons.
///
/// Build it once (construction parses the ~7,500-word lexicon) and share it:
/// it is immutable, `Send` and `Sync`.
#[derive(Debug, Clone)]
pub struct SentimentAnalyzer {
    /// Lexicon, booster, negation and rule words, keyed by lower-case word.
    words: WordTable,
    /// Single-code-point emoji and their descriptions, sorted by code point.
    emoji: Vec<(char, &'static str)>,
}

impl Default for SentimentAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-thread buffers reused across [`SentimentAnalyzer::polarity_scores`]
/// calls.
#[derive(Debug, Default)]
struct Scratch {
    tokens: Vec<Token>,
    sentiments: Vec<f64>,
    nonzero: Vec<usize>,
}

impl Scratch {
    const fn new() -> Self {
        Scratch {
            tokens: Vec::new(),
            sentiments: Vec::new(),
            nonzero: Vec::new(),
        }
    }

    /// Gives back the memory of a very long text.
    fn trim(&mut self) {
        const KEEP: usize = 1 << 16;
        if self.tokens.capacity() > KEEP {
            self.tokens = Vec::new();
            self.sentiments = Vec::new();
            self.nonzero = Vec::new();
        }
    }
}

/// One token of the text with everything the rules need, precomputed, in
/// 16 bytes.
#[derive(Clone, Copy, Debug)]
struct Token {
    /// Lexicon valence; NaN if the word is not in the lexicon.
    valence: f64,
    /// The [`Tag`] code in the low byte, then the `Token::*` flag bits.
    bits: u64,
}

impl Token {
    /// `negated([word])`: in `NEGATE` or containing `"n't"`.
    const NEGATED: u64 = 1 << 8;
    /// Python `str.isupper()` of the (punctuation-stripped) token.
    const UPPER: u64 = 1 << 9;
    /// `BOOSTER_DICT` value `B_INCR`.
    const BOOST_INCR: u64 = 1 << 10;
    /// `BOOSTER_DICT` value `B_DECR`.
    const BOOST_DECR: u64 = 1 << 11;

    /// A word that is in no word list.
    const ABSENT: Token = Token {
        valence: f64::NAN,
        bits: 0,
    };

    fn from_entry(entry: &Entry) -> Token {
        let mut bits = entry.tag as u64;
        if entry.negate {
            bits |= Token::NEGATED;
        }
        match entry.booster {
            Some(b) if b > 0.0 => bits |= Token::BOOST_INCR,
            Some(_) => bits |= Token::BOOST_DECR,
            None => {}
        }
        Token {
            valence: entry.lex.unwrap_or(f64::NAN),
            bits,
        }
    }

    /// Valence if the word is in `vader_lexicon.txt`.
    #[inline]
    fn lex(&self) -> Option<f64> {
        (!self.valence.is_nan()).then_some(self.valence)
    }

    /// `BOOSTER_DICT` value of the word.
    #[inline]
    fn booster(&self) -> Option<f64> {
        if self.bits & Token::BOOST_INCR != 0 {
            Some(B_INCR)
        } else if self.bits & Token::BOOST_DECR != 0 {
            Some(B_DECR)
        } else {
            None
        }
    }

    #[inline]
    fn negated(&self) -> bool {
        self.bits & Token::NEGATED != 0
    }

    #[inline]
    fn upper(&self) -> bool {
        self.bits & Token::UPPER != 0
    }

    #[inline]
    fn tag(&self) -> Tag {
        Tag::from_code(self.bits as u8)
    }

    /// `self.tag() == tag`, without decoding.
    #[inline]
    fn is(&self, tag: Tag) -> bool {
        self.bits as u8 == tag as u8
    }
}

impl SentimentAnalyzer {
    /// Builds the analyzer from the embedded vaderSentiment 3.3.2 lexicons.
    pub fn new() -> Self {
        let mut words: HashMap<&'static [u8], Entry> = HashMap::new();
        // make_lex_dict: rstrip('\n').split('\n'), skip empty lines,
        // line.strip().split('\t')[0:2], later duplicates win.
        for line in VADER_LEXICON.trim_end_matches('\n').split('\n') {
            if line.is_empty() {
                continue;
            }
            let mut fields = py_strip(line).split('\t');
            let (Some(word), Some(measure)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Ok(value) = py_strip(measure).parse::<f64>() else {
                continue;
            };
            // Lookups use `token.lower()`, so a key that is not its own
            // lower-case form (":D", ":-Þ", ...) can never match in Python.
            if !is_lowercase_fixed_point(word) {
                continue;
            }
            words.entry(word.as_bytes()).or_default().lex = Some(value);
        }
        for word in BOOSTER_INCR {
            words.entry(word.as_bytes()).or_default().booster = Some(B_INCR);
        }
        for word in BOOSTER_DECR {
            words.entry(word.as_bytes()).or_default().booster = Some(B_DECR);
        }
        for word in NEGATE {
            words.entry(word.as_bytes()).or_default().negate = true;
        }
        for (word, tag) in TAG_WORDS {
            words.entry(word.as_bytes()).or_default().tag = tag;
        }

        // make_emoji_dict: only single-code-point keys can ever match, as
        // polarity_scores looks emoji up one character at a time.
        let mut emoji_map: HashMap<char, &'static str> = HashMap::new();
        for line in EMOJI_LEXICON.trim_end_matches('\n').split('\n') {
            let mut fields = py_strip(line).split('\t');
            let (Some(key), Some(description)) = (fields.next(), fields.next()) else {
                continue;
            };
            let mut chars = key.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                emoji_map.insert(c, description);
            }
        }
        let mut emoji: Vec<(char, &'static str)> = emoji_map.into_iter().collect();
        emoji.sort_unstable_by_key(|&(c, _)| c);

        Self {
            words: WordTable::build(words),
            emoji,
        }
    }

    /// A process-wide analyzer, built on first use.
    pub fn shared() -> &'static SentimentAnalyzer {
        static SHARED: OnceLock<SentimentAnalyzer> = OnceLock::new();
        SHARED.get_or_init(SentimentAnalyzer::new)
    }

    /// Scores `text` exactly like vaderSentiment 3.3.2's
    /// `SentimentIntensityAnalyzer().polarity_scores(text)`.
    ///
    /// Never panics; empty or whitespace-only input gives all zeros.
    pub fn polarity_scores(&self, text: &str) -> SentimentScores {
        thread_local! {
            static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
        }
        // Reuse this thread's buffers; fall back to fresh ones if they are
        // unavailable (thread teardown).
        SCRATCH
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut scratch) => self.score_with(text, &mut scratch),
                Err(_) => self.score_with(text, &mut Scratch::new()),
            })
            .unwrap_or_else(|_| self.score_with(text, &mut Scratch::new()))
    }

    fn score_with(&self, text: &str, scratch: &mut Scratch) -> SentimentScores {
        let text = self.replace_emoji(text);
        let text: &str = &text;

        let tokens = &mut scratch.tokens;
        tokens.clear();
        for_each_py_token(text, |raw| tokens.push(self.make_token(raw)));
        let tokens: &[Token] = tokens;

        let n = tokens.len();
        let upper_count = tokens.iter().filter(|t| t.upper()).count();
        let cap_diff = 0 < n - upper_count && n - upper_count < n;

        let sentiments = &mut scratch.sentiments;
        sentiments.clear();
        for (i, token) in tokens.iter().enumerate() {
            if token.booster().is_some()
                || (token.is(Tag::Kind) && tokens.get(i + 1).is_some_and(|t| t.is(Tag::Of)))
            {
                sentiments.push(0.0);
            } else {
                sentiments.push(sentiment_valence(tokens, i, cap_diff));
            }
        }

        but_check(tokens, sentiments, &mut scratch.nonzero);
        let scores = score_valence(sentiments, text);
        scratch.trim();
        scores
    }

    /// The emoji substitution loop at the top of `polarity_scores`.
    fn replace_emoji<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if text.is_ascii() {
            return Cow::Borrowed(text);
        }
        let Some(first) = text
            .char_indices()
            .find(|&(_, c)| self.emoji_description(c).is_some())
            .map(|(idx, _)| idx)
        else {
            return Cow::Borrowed(text);
        };
        let Some((head, tail)) = text.split_at_checked(first) else {
            return Cow::Borrowed(text);
        };
        let mut out = String::with_capacity(text.len() + 64);
        out.push_str(head);
        let mut prev_space = head.is_empty() || head.ends_with(' ');
        for c in tail.chars() {
            if let Some(description) = self.emoji_description(c) {
                if !prev_space {
                    out.push(' ');
                }
                out.push_str(description);
                prev_space = false;
            } else {
                out.push(c);
                prev_space = c == ' ';
            }
        }
        Cow::Owned(out)
    }

    #[inline]
    fn emoji_description(&self, c: char) -> Option<&'static str> {
        if (c as u32) < 0xA9 {
            return None;
        }
        self.emoji
            .binary_search_by_key(&c, |&(k, _)| k)
            .ok()
            .and_then(|idx| self.emoji.get(idx))
            .map(|&(_, description)| description)
    }

    /// Precomputes the per-token facts of one `str.split()` token, after
    /// `_strip_punc_if_word`.
    #[inline]
    fn make_token(&self, raw: &str) -> Token {
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        const fn splat(b: u8) -> u64 {
            u64::from_ne_bytes([b; 8])
        }
        let word = strip_punc_if_word(raw);
        let bytes = word.as_bytes();
        // One pass over 8-byte words: ASCII case flags, apostrophes, and the
        // lower-cased key. Per byte `h <= 0x7f`, so the additions never carry
        // into the next byte; the high bit of `h + (0x80 - c)` is `h >= c`.
        let (mut high, mut upper, mut lower, mut quote) = (0u64, 0u64, 0u64, 0u64);
        let mut key = [0u64; 3];
        for (i, chunk) in bytes.chunks(8).enumerate() {
            let w = load_le(chunk);
            let h = w & LOW7;
            let up = (h + splat(0x80 - b'A')) & !(h + splat(0x80 - b'Z' - 1)) & HIGH;
            let lo = (h + splat(0x80 - b'a')) & !(h + splat(0x80 - b'z' - 1)) & HIGH;
            let x = h ^ splat(b'\'');
            let zero = !(((x & LOW7) + LOW7) | x) & HIGH;
            high |= w & HIGH;
            upper |= up;
            lower |= lo;
            quote |= zero;
            if let Some(k) = key.get_mut(i) {
                *k = w | (up >> 2);
            }
        }
        if high != 0 {
            return self.make_token_unicode(word);
        }
        // ASCII: Python's lower() and isupper() are the ASCII ones.
        let mut token = if bytes.len() > self.words.max_len {
            Token::ABSENT
        } else if bytes.len() <= INLINE_KEY {
            self.words.get(&Key {
                words: key,
                len: bytes.len() as u64,
            })
        } else {
            self.words.get_bytes(word.to_ascii_lowercase().as_bytes())
        };
        if quote != 0 && contains_nt_ascii_case_insensitive(bytes) {
            token.bits |= Token::NEGATED;
        }
        if upper != 0 && lower == 0 {
            token.bits |= Token::UPPER;
        }
        token
    }

    /// [`Self::make_token`] for a token with non-ASCII characters (rare).
    #[cold]
    fn make_token_unicode(&self, word: &str) -> Token {
        // Only equality with lexicon/rule words and the "n't" test depend on
        // the lower-cased form. Rust's and Python's lower-case mappings only
        // differ for characters whose lower-case forms are non-ASCII either
        // way, and every lexicon key that can match is ASCII.
        let lower: String = word.chars().flat_map(char::to_lowercase).collect();
        let mut token = self.words.get_bytes(lower.as_bytes());
        if lower.contains("n't") {
            token.bits |= Token::NEGATED;
        }
        if py_isupper(word) {
            token.bits |= Token::UPPER;
        }
        token
    }
}

/// `"n't" in word.lower()` for an ASCII word.
#[inline]
fn contains_nt_ascii_case_insensitive(bytes: &[u8]) -> bool {
    bytes
        .windows(3)
        .any(|w| w[1] == b'\'' && w[0] | 0x20 == b'n' && w[2] | 0x20 == b't')
}

/// Python's `str.isspace()` for one character (the separators of
/// `str.split()` and the characters removed by `str.strip()`).
#[inline]
fn py_isspace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.strip()` without arguments.
fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Whether Python's `key.lower() == key` (keys of the shipped lexicon are
/// ASCII except two that contain an upper-case `Þ`).
fn is_lowercase_fixed_point(key: &str) -> bool {
    if key.is_ascii() {
        !key.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        key.chars().flat_map(char::to_lowercase).eq(key.chars())
    }
}

/// Byte length of the Python whitespace character starting at `bytes[i]`,
/// or 0 if there is none.
#[inline]
fn py_space_len(bytes: &[u8], i: usize) -> usize {
    let Some(&b) = bytes.get(i) else {
        return 0;
    };
    match b {
        b'\t'..=b'\r' | 0x1c..=b' ' => 1,
        0xC2 => match bytes.get(i + 1) {
            // U+0085, U+00A0
            Some(0x85 | 0xA0) => 2,
            _ => 0,
        },
        0xE1 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            // U+1680
            (Some(0x9A), Some(0x80)) => 3,
            _ => 0,
        },
        0xE2 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            // U+2000..=U+200A, U+2028, U+2029, U+202F, U+205F
            (Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) | (Some(0x81), Some(0x9F)) => 3,
            _ => 0,
        },
        0xE3 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            // U+3000
            (Some(0x80), Some(0x80)) => 3,
            _ => 0,
        },
        _ => 0,
    }
}

/// Bytes that may start a Python whitespace character: the ASCII ones and
/// the lead bytes of U+0085/U+00A0 (0xC2), U+1680 (0xE1), U+2000..U+205F
/// (0xE2) and U+3000 (0xE3).
static MAYBE_SPACE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b, 0x09..=0x0D | 0x1C..=0x20 | 0xC2 | 0xE1 | 0xE2 | 0xE3);
        b += 1;
    }
    table
};

/// Calls `f` on each token of Python's `text.split()`, in order.
#[inline]
fn for_each_py_token(text: &str, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    loop {
        // Skip a run of whitespace.
        loop {
            let space = py_space_len(bytes, i);
            if space == 0 {
                break;
            }
            i += space;
        }
        if i >= n {
            return;
        }
        // Scan a token; whitespace characters are whole UTF-8 sequences, so
        // both ends are char boundaries.
        let start = i;
        i += 1;
        while i < n && !(MAYBE_SPACE[usize::from(bytes[i])] && py_space_len(bytes, i) > 0) {
            i += 1;
        }
        if let Some(token) = text.get(start..i) {
            f(token);
        }
    }
}

/// `SentiText._strip_punc_if_word`: strip `string.punctuation` from both
/// ends, unless that leaves two or fewer code points.
#[inline]
fn strip_punc_if_word(token: &str) -> &str {
    // string.punctuation is ASCII, so trimming bytes keeps char boundaries.
    let bytes = token.as_bytes();
    let mut start = 0;
    let mut end = bytes.len();
    while start < end && bytes[start].is_ascii_punctuation() {
        start += 1;
    }
    while end > start && bytes[end - 1].is_ascii_punctuation() {
        end -= 1;
    }
    // More than two code points left? (A code point has at most 4 bytes.)
    let rest = &bytes[start..end];
    let more_than_two = rest.len() > 8
        || (rest.len() > 2 && rest.iter().filter(|&&b| b & 0xC0 != 0x80).count() > 2);
    if more_than_two {
        token.get(start..end).unwrap_or(token)
    } else {
        token
    }
}

/// Python's `str.isupper()`: at least one cased character and no lower-case
/// or title-case character (per Python 3.11's Unicode 14.0 tables).
fn py_isupper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        match case_class(c) {
            CaseClass::LowerOrTitle => return false,
            CaseClass::Upper => cased = true,
            CaseClass::Uncased => {}
        }
    }
    cased
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CaseClass {
    Uncased,
    Upper,
    LowerOrTitle,
}

#[inline]
fn case_class(c: char) -> CaseClass {
    let cp = c as u32;
    if cp < 0x80 {
        return if c.is_ascii_uppercase() {
            CaseClass::Upper
        } else if c.is_ascii_lowercase() {
            CaseClass::LowerOrTitle
        } else {
            CaseClass::Uncased
        };
    }
    let idx = CASE_RANGES.partition_point(|&e| (e >> 9) <= cp);
    let Some(&e) = idx.checked_sub(1).and_then(|i| CASE_RANGES.get(i)) else {
        return CaseClass::Uncased;
    };
    let start = e >> 9;
    let len = ((e >> 1) & 0xFF) + 1;
    if cp >= start + len {
        CaseClass::Uncased
    } else if e & 1 == 1 {
        CaseClass::Upper
    } else {
        CaseClass::LowerOrTitle
    }
}

/// `SentimentIntensityAnalyzer.sentiment_valence` for the token at `i`.
fn sentiment_valence(tokens: &[Token], i: usize, cap_diff: bool) -> f64 {
    let n = tokens.len();
    let token = &tokens[i];
    let Some(base) = token.lex() else {
        return 0.0;
    };
    let mut valence = base;
    // "no" as a negation of the next lexicon word rather than a word itself.
    if token.is(Tag::No) && i != n - 1 && tokens[i + 1].lex().is_some() {
        valence = 0.0;
    }
    if (i > 0 && tokens[i - 1].is(Tag::No))
        || (i > 1 && tokens[i - 2].is(Tag::No))
        || (i > 2 && tokens[i - 3].is(Tag::No) && matches!(tokens[i - 1].tag(), Tag::Or | Tag::Nor))
    {
        valence = base * N_SCALAR;
    }
    if token.upper() && cap_diff {
        if valence > 0.0 {
            valence += C_INCR;
        } else {
            valence -= C_INCR;
        }
    }
    for start_i in 0..3 {
        if i > start_i && tokens[i - (start_i + 1)].lex().is_none() {
            let mut s = scalar_inc_dec(&tokens[i - (start_i + 1)], valence, cap_diff);
            if start_i == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start_i == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = negation_check(valence, tokens, start_i, i);
            if start_i == 2 {
                valence = special_idioms_check(valence, tokens, i);
            }
        }
    }
    least_check(valence, tokens, i)
}

/// `scalar_inc_dec`.
#[inline]
fn scalar_inc_dec(word: &Token, valence: f64, cap_diff: bool) -> f64 {
    let Some(mut scalar) = word.booster() else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar *= -1.0;
    }
    if word.upper() && cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

#[inline]
fn is_so_or_this(tag: Tag) -> bool {
    matches!(tag, Tag::So | Tag::This)
}

/// `_negation_check` (including its `and`/`or` precedence slip for
/// `start_i == 2`).
fn negation_check(valence: f64, w: &[Token], start_i: usize, i: usize) -> f64 {
    if start_i == 0 {
        if w[i - 1].negated() {
            return valence * N_SCALAR;
        }
    } else if start_i == 1 {
        if w[i - 2].is(Tag::Never) && is_so_or_this(w[i - 1].tag()) {
            return valence * 1.25;
        } else if w[i - 2].is(Tag::Without) && w[i - 1].is(Tag::Doubt) {
            return valence;
        } else if w[i - 2].negated() {
            return valence * N_SCALAR;
        }
    } else if start_i == 2 {
        // Python: `a and (b or c) or (d or e)`; the last group applies alone.
        if (w[i - 3].is(Tag::Never) && is_so_or_this(w[i - 2].tag()))
            || is_so_or_this(w[i - 1].tag())
        {
            return valence * 1.25;
        } else if w[i - 3].is(Tag::Without) && (w[i - 2].is(Tag::Doubt) || w[i - 1].is(Tag::Doubt))
        {
            return valence;
        } else if w[i - 3].negated() {
            return valence * N_SCALAR;
        }
    }
    valence
}

/// `_special_idioms_check` (only reached with `i >= 3`).
fn special_idioms_check(mut valence: f64, w: &[Token], i: usize) -> f64 {
    let n = w.len();
    let t = |k: usize| w[k].tag();
    // onezero, twoonezero, twoone, threetwoone, threetwo; first hit wins.
    if let Some(v) = special2(t(i - 1), t(i))
        .or_else(|| special3(t(i - 2), t(i - 1), t(i)))
        .or_else(|| special2(t(i - 2), t(i - 1)))
        .or_else(|| special3(t(i - 3), t(i - 2), t(i - 1)))
        .or_else(|| special2(t(i - 3), t(i - 2)))
    {
        valence = v;
    }
    if i + 1 < n
        && let Some(v) = special2(t(i), t(i + 1))
    {
        valence = v;
    }
    if i + 2 < n
        && let Some(v) = special3(t(i), t(i + 1), t(i + 2))
    {
        valence = v;
    }
    // Booster/dampener bigrams: threetwo, then twoone (no booster key has
    // three words, so threetwoone never matches).
    if booster_bigram(t(i - 3), t(i - 2)) {
        valence += B_DECR;
    }
    if booster_bigram(t(i - 2), t(i - 1)) {
        valence += B_DECR;
    }
    valence
}

/// `_least_check`.
fn least_check(valence: f64, w: &[Token], i: usize) -> f64 {
    if i > 1 && w[i - 1].lex().is_none() && w[i - 1].is(Tag::Least) {
        if !w[i - 2].is(Tag::At) && !w[i - 2].is(Tag::Very) {
            return valence * N_SCALAR;
        }
    } else if i > 0 && w[i - 1].lex().is_none() && w[i - 1].is(Tag::Least) {
        return valence * N_SCALAR;
    }
    valence
}

/// `_but_check`, including its `list.index` behaviour: every score is
/// looked up again by value, and the *first* equal score is the one that
/// gets rescaled (`sentiments[si] = sentiment * 0.5` or `* 1.5`).
///
/// Zero scores are skipped: rescaling a zero only flips the sign of zero,
/// which no later step can observe. A score is only ever rewritten at an
/// index at or before the one being visited, so the visited score is still
/// its original value.
fn but_check(tokens: &[Token], sentiments: &mut [f64], nonzero: &mut Vec<usize>) {
    let Some(bi) = tokens.iter().position(|t| t.is(Tag::But)) else {
        return;
    };
    nonzero.clear();
    nonzero.extend((0..sentiments.len()).filter(|&k| sentiments[k] != 0.0));
    let rescale = |si: usize, v: f64| {
        if si < bi {
            v * 0.5
        } else if si > bi {
            v * 1.5
        } else {
            v
        }
    };
    if nonzero.len() <= 64 {
        for &k in nonzero.iter() {
            let v = sentiments[k];
            if let Some(&si) = nonzero.iter().find(|&&j| sentiments[j] == v) {
                sentiments[si] = rescale(si, v);
            }
        }
        return;
    }
    // Long texts: index the positions of each value (min-heaps, so the first
    // equal score is found in O(log n)) instead of Python's O(n^2) scans.
    let mut positions: HashMap<u64, BinaryHeap<Reverse<usize>>> = HashMap::new();
    for &j in nonzero.iter() {
        positions
            .entry(sentiments[j].to_bits())
            .or_default()
            .push(Reverse(j));
    }
    for &k in nonzero.iter() {
        let v = sentiments[k];
        let Some(Reverse(si)) = positions.get_mut(&v.to_bits()).and_then(BinaryHeap::pop) else {
            continue;
        };
        let new = rescale(si, v);
        sentiments[si] = new;
        positions
            .entry(new.to_bits())
            .or_default()
            .push(Reverse(si));
    }
}

/// `score_valence` plus the final rounding.
fn score_valence(sentiments: &[f64], text: &str) -> SentimentScores {
    if sentiments.is_empty() {
        return SentimentScores::default();
    }
    let mut sum_s = 0.0f64;
    for &s in sentiments {
        sum_s += s;
    }
    let punct_emph_amplifier = punctuation_emphasis(text);
    if sum_s > 0.0 {
        sum_s += punct_emph_amplifier;
    } else if sum_s < 0.0 {
        sum_s -= punct_emph_amplifier;
    }
    let compound = normalize(sum_s);

    let mut pos_sum = 0.0f64;
    let mut neg_sum = 0.0f64;
    let mut neu_count = 0u64;
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0;
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += punct_emph_amplifier;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= punct_emph_amplifier;
    }
    let neu_count = neu_count as f64;
    let total = pos_sum + neg_sum.abs() + neu_count;
    let pos = (pos_sum / total).abs();
    let neg = (neg_sum / total).abs();
    let neu = (neu_count / total).abs();

    SentimentScores {
        neg: py_round(neg, 3),
        neu: py_round(neu, 3),
        pos: py_round(pos, 3),
        compound: py_round(compound, 4),
    }
}

/// `_punctuation_emphasis` = `_amplify_ep` + `_amplify_qm`.
fn punctuation_emphasis(text: &str) -> f64 {
    let bytes = text.as_bytes();
    let ep_count = bytes.iter().filter(|&&b| b == b'!').count();
    let qm_count = bytes.iter().filter(|&&b| b == b'?').count();
    let ep_amplifier = ep_count.min(4) as f64 * 0.292;
    let qm_amplifier = if qm_count > 1 {
        if qm_count <= 3 {
            qm_count as f64 * 0.18
        } else {
            0.96
        }
    } else {
        0.0
    };
    ep_amplifier + qm_amplifier
}

/// `normalize(score, alpha=15)`.
fn normalize(score: f64) -> f64 {
    let norm_score = score / (score * score + 15.0).sqrt();
    // `score` is finite, so `norm_score` is never NaN.
    norm_score.clamp(-1.0, 1.0)
}

/// Python's `round(x, ndigits)` for floats: the exact binary value of `x` is
/// rounded to `ndigits` decimals, ties to even, and the decimal result is
/// converted back to the nearest `f64`. Exact for `|x| < 2^31`, which covers
/// every VADER score (all lie in `[-1, 1]`).
fn py_round(x: f64, ndigits: u32) -> f64 {
    let ax = x.abs();
    if !x.is_finite() || ax == 0.0 || ax >= 2_147_483_648.0 {
        return x;
    }
    const SCALES: [f64; 5] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0];
    let Some(&scale) = SCALES.get(ndigits as usize) else {
        return x;
    };
    let y = ax * scale;
    let floor = y.floor();
    let frac = y - floor;
    let k = if (frac - 0.5).abs() > 1e-6 {
        // `y` is within a few ulps of the exact product, so it is on the
        // same side of the half-way point.
        if frac > 0.5 { floor + 1.0 } else { floor }
    } else {
        exact_round_half_even(ax, ndigits, floor)
    };
    // `k` is an integer below 2^53 and `scale` is exact, so the division is
    // the correctly rounded decimal-to-double conversion Python performs.
    (k / scale).copysign(x)
}

/// Rounds `ax * 10^ndigits` to an integer (ties to even) exactly, given that
/// the result is `floor` or `floor + 1`.
fn exact_round_half_even(ax: f64, ndigits: u32, floor: f64) -> f64 {
    let bits = ax.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, e) = if exp == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exp - 1075)
    };
    // Compare ax * 10^n (= mantissa * 10^n * 2^e) with floor + 1/2, i.e.
    // mantissa * 10^n * 2^(e+1) with 2 * floor + 1.
    let lhs = u128::from(mantissa) * 10u128.pow(ndigits);
    let odd = 2 * (floor as u128) + 1;
    let ordering = if e + 1 >= 0 {
        let shift = (e + 1) as u32;
        match lhs.checked_shl(shift) {
            Some(l) if shift < 60 => l.cmp(&odd),
            _ => std::cmp::Ordering::Greater,
        }
    } else {
        let shift = (-(e + 1)) as u32;
        if shift >= 80 {
            std::cmp::Ordering::Less
        } else {
            lhs.cmp(&(odd << shift))
        }
    };
    match ordering {
        std::cmp::Ordering::Greater => floor + 1.0,
        std::cmp::Ordering::Less => floor,
        std::cmp::Ordering::Equal => {
            if (floor as u64).is_multiple_of(2) {
                floor
            } else {
                floor + 1.0
            }
        }
    }
}

/// Non-ASCII code-point ranges with a case that matters to Python's
/// `str.isupper()`, generated from Python 3.11.7 (Unicode 14.0.0) with
///
/// ```python
/// for cp in range(0x80, 0x110000):          # skipping surrogates
///     c = chr(cp)
///     cls = 2 if not (c + "A").isupper() else 1 if c.isupper() else 0
/// ```
///
/// and merging runs of equal non-zero class. Each entry is
/// `start << 9 | (len - 1) << 1 | upper`, where `upper` is 1 for upper-case
/// characters and 0 for lower-case or title-case ones; sorted by `start`.
#[rustfmt::skip]
static CASE_RANGES: [u32; 1317] = [
    0x0001_5400, 0x0001_6A00, 0x0001_7400, 0x0001_802D, 0x0001_B00D, 0x0001_BE2E, 0x0001_F00E, 0x0002_0001,
    0x0002_0200, 0x0002_0401, 0x0002_0600, 0x0002_0801, 0x0002_0A00, 0x0002_0C01, 0x0002_0E00, 0x0002_1001,
    0x0002_1200, 0x0002_1401, 0x0002_1600, 0x0002_1801, 0x0002_1A00, 0x0002_1C01, 0x0002_1E00, 0x0002_2001,
    0x0002_2200, 0x0002_2401, 0x0002_2600, 0x0002_2801, 0x0002_2A00, 0x0002_2C01, 0x0002_2E00, 0x0002_3001,
    0x0002_3200, 0x0002_3401, 0x0002_3600, 0x0002_3801, 0x0002_3A00, 0x0002_3C01, 0x0002_3E00, 0x0002_4001,
    0x0002_4200, 0x0002_4401, 0x0002_4600, 0x0002_4801, 0x0002_4A00, 0x0002_4C01, 0x0002_4E00, 0x0002_5001,
    0x0002_5200, 0x0002_5401, 0x0002_5600, 0x0002_5801, 0x0002_5A00, 0x0002_5C01, 0x0002_5E00, 0x0002_6001,
    0x0002_6200, 0x0002_6401, 0x0002_6600, 0x0002_6801, 0x0002_6A00, 0x0002_6C01, 0x0002_6E02, 0x0002_7201,
    0x0002_7400, 0x0002_7601, 0x0002_7800, 0x0002_7A01, 0x0002_7C00, 0x0002_7E01, 0x0002_8000, 0x0002_8201,
    0x0002_8400, 0x0002_8601, 0x0002_8800, 0x0002_8A01, 0x0002_8C00, 0x0002_8E01, 0x0002_9002, 0x0002_9401,
    0x0002_9600, 0x0002_9801, 0x0002_9A00, 0x0002_9C01, 0x0002_9E00, 0x0002_A001, 0x0002_A200, 0x0002_A401,
    0x0002_A600, 0x0002_A801, 0x0002_AA00, 0x0002_AC01, 0x0002_AE00, 0x0002_B001, 0x0002_B200, 0x0002_B401,
    0x0002_B600, 0x0002_B801, 0x0002_BA00, 0x0002_BC01, 0x0002_BE00, 0x0002_C001, 0x0002_C200, 0x0002_C401,
    0x0002_C600, 0x0002_C801, 0x0002_CA00, 0x0002_CC01, 0x0002_CE00, 0x0002_D001, 0x0002_D200, 0x0002_D401,
    0x0002_D600, 0x0002_D801, 0x0002_DA00, 0x0002_DC01, 0x0002_DE00, 0x0002_E001, 0x0002_E200, 0x0002_E401,
    0x0002_E600, 0x0002_E801, 0x0002_EA00, 0x0002_EC01, 0x0002_EE00, 0x0002_F003, 0x0002_F400, 0x0002_F601,
    0x0002_F800, 0x0002_FA01, 0x0002_FC04, 0x0003_0203, 0x0003_0600, 0x0003_0801, 0x0003_0A00, 0x0003_0C03,
    0x0003_1000, 0x0003_1205, 0x0003_1802, 0x0003_1C07, 0x0003_2400, 0x0003_2603, 0x0003_2A00, 0x0003_2C05,
    0x0003_3204, 0x0003_3803, 0x0003_3C00, 0x0003_3E03, 0x0003_4200, 0x0003_4401, 0x0003_4600, 0x0003_4801,
    0x0003_4A00, 0x0003_4C03, 0x0003_5000, 0x0003_5201, 0x0003_5402, 0x0003_5801, 0x0003_5A00, 0x0003_5C03,
    0x0003_6000, 0x0003_6205, 0x0003_6800, 0x0003_6A01, 0x0003_6C00, 0x0003_6E03, 0x0003_7202, 0x0003_7801,
    0x0003_7A04, 0x0003_8801, 0x0003_8A02, 0x0003_8E01, 0x0003_9002, 0x0003_9401, 0x0003_9602, 0x0003_9A01,
    0x0003_9C00, 0x0003_9E01, 0x0003_A000, 0x0003_A201, 0x0003_A400, 0x0003_A601, 0x0003_A800, 0x0003_AA01,
    0x0003_AC00, 0x0003_AE01, 0x0003_B000, 0x0003_B201, 0x0003_B400, 0x0003_B601, 0x0003_B802, 0x0003_BC01,
    0x0003_BE00, 0x0003_C001, 0x0003_C200, 0x0003_C401, 0x0003_C600, 0x0003_C801, 0x0003_CA00, 0x0003_CC01,
    0x0003_CE00, 0x0003_D001, 0x0003_D200, 0x0003_D401, 0x0003_D600, 0x0003_D801, 0x0003_DA00, 0x0003_DC01,
    0x0003_DE02, 0x0003_E201, 0x0003_E402, 0x0003_E801, 0x0003_EA00, 0x0003_EC05, 0x0003_F200, 0x0003_F401,
    0x0003_F600, 0x0003_F801, 0x0003_FA00, 0x0003_FC01, 0x0003_FE00, 0x0004_0001, 0x0004_0200, 0x0004_0401,
    0x0004_0600, 0x0004_0801, 0x0004_0A00, 0x0004_0C01, 0x0004_0E00, 0x0004_1001, 0x0004_1200, 0x0004_1401,
    0x0004_1600, 0x0004_1801, 0x0004_1A00, 0x0004_1C01, 0x0004_1E00, 0x0004_2001, 0x0004_2200, 0x0004_2401,
    0x0004_2600, 0x0004_2801, 0x0004_2A00, 0x0004_2C01, 0x0004_2E00, 0x0004_3001, 0x0004_3200, 0x0004_3401,
    0x0004_3600, 0x0004_3801, 0x0004_3A00, 0x0004_3C01, 0x0004_3E00, 0x0004_4001, 0x0004_4200, 0x0004_4401,
    0x0004_4600, 0x0004_4801, 0x0004_4A00, 0x0004_4C01, 0x0004_4E00, 0x0004_5001, 0x0004_5200, 0x0004_5401,
    0x0004_5600, 0x0004_5801, 0x0004_5A00, 0x0004_5C01, 0x0004_5E00, 0x0004_6001, 0x0004_6200, 0x0004_6401,
    0x0004_660C, 0x0004_7403, 0x0004_7800, 0x0004_7A03, 0x0004_7E02, 0x0004_8201, 0x0004_8400, 0x0004_8607,
    0x0004_8E00, 0x0004_9001, 0x0004_9200, 0x0004_9401, 0x0004_9600, 0x0004_9801, 0x0004_9A00, 0x0004_9C01,
    0x0004_9E88, 0x0005_2A46, 0x0005_8002, 0x0005_C008, 0x0006_8A00, 0x0006_E001, 0x0006_E200, 0x0006_E401,
    0x0006_E600, 0x0006_EC01, 0x0006_EE00, 0x0006_F406, 0x0006_FE01, 0x0007_0C01, 0x0007_1005, 0x0007_1801,
    0x0007_1C03, 0x0007_2000, 0x0007_2221, 0x0007_4611, 0x0007_5844, 0x0007_9E01, 0x0007_A002, 0x0007_A405,
    0x0007_AA04, 0x0007_B001, 0x0007_B200, 0x0007_B401, 0x0007_B600, 0x0007_B801, 0x0007_BA00, 0x0007_BC01,
    0x0007_BE00, 0x0007_C001, 0x0007_C200, 0x0007_C401, 0x0007_C600, 0x0007_C801, 0x0007_CA00, 0x0007_CC01,
    0x0007_CE00, 0x0007_D001, 0x0007_D200, 0x0007_D401, 0x0007_D600, 0x0007_D801, 0x0007_DA00, 0x0007_DC01,
    0x0007_DE08, 0x0007_E801, 0x0007_EA00, 0x0007_EE01, 0x0007_F000, 0x0007_F203, 0x0007_F602, 0x0007_FA65,
    0x0008_605E, 0x0008_C001, 0x0008_C200, 0x0008_C401, 0x0008_C600, 0x0008_C801, 0x0008_CA00, 0x0008_CC01,
    0x0008_CE00, 0x0008_D001, 0x0008_D200, 0x0008_D401, 0x0008_D600, 0x0008_D801, 0x0008_DA00, 0x0008_DC01,
    0x0008_DE00, 0x0008_E001, 0x0008_E200, 0x0008_E401, 0x0008_E600, 0x0008_E801, 0x0008_EA00, 0x0008_EC01,
    0x0008_EE00, 0x0008_F001, 0x0008_F200, 0x0008_F401, 0x0008_F600, 0x0008_F801, 0x0008_FA00, 0x0008_FC01,
    0x0008_FE00, 0x0009_0001, 0x0009_0200, 0x0009_1401, 0x0009_1600, 0x0009_1801, 0x0009_1A00, 0x0009_1C01,
    0x0009_1E00, 0x0009_2001, 0x0009_2200, 0x0009_2401, 0x0009_2600, 0x0009_2801, 0x0009_2A00, 0x0009_2C01,
    0x0009_2E00, 0x0009_3001, 0x0009_3200, 0x0009_3401, 0x0009_3600, 0x0009_3801, 0x0009_3A00, 0x0009_3C01,
    0x0009_3E00, 0x0009_4001, 0x0009_4200, 0x0009_4401, 0x0009_4600, 0x0009_4801, 0x0009_4A00, 0x0009_4C01,
    0x0009_4E00, 0x0009_5001, 0x0009_5200, 0x0009_5401, 0x0009_5600, 0x0009_5801, 0x0009_5A00, 0x0009_5C01,
    0x0009_5E00, 0x0009_6001, 0x0009_6200, 0x0009_6401, 0x0009_6600, 0x0009_6801, 0x0009_6A00, 0x0009_6C01,
    0x0009_6E00, 0x0009_7001, 0x0009_7200, 0x0009_7401, 0x0009_7600, 0x0009_7801, 0x0009_7A00, 0x0009_7C01,
    0x0009_7E00, 0x0009_8003, 0x0009_8400, 0x0009_8601, 0x0009_8800, 0x0009_8A01, 0x0009_8C00, 0x0009_8E01,
    0x0009_9000, 0x0009_9201, 0x0009_9400, 0x0009_9601, 0x0009_9800, 0x0009_9A01, 0x0009_9C02, 0x0009_A001,
    0x0009_A200, 0x0009_A401, 0x0009_A600, 0x0009_A801, 0x0009_AA00, 0x0009_AC01, 0x0009_AE00, 0x0009_B001,
    0x0009_B200, 0x0009_B401, 0x0009_B600, 0x0009_B801, 0x0009_BA00, 0x0009_BC01, 0x0009_BE00, 0x0009_C001,
    0x0009_C200, 0x0009_C401, 0x0009_C600, 0x0009_C801, 0x0009_CA00, 0x0009_CC01, 0x0009_CE00, 0x0009_D001,
    0x0009_D200, 0x0009_D401, 0x0009_D600, 0x0009_D801, 0x0009_DA00, 0x0009_DC01, 0x0009_DE00, 0x0009_E001,
    0x0009_E200, 0x0009_E401, 0x0009_E600, 0x0009_E801, 0x0009_EA00, 0x0009_EC01, 0x0009_EE00, 0x0009_F001,
    0x0009_F200, 0x0009_F401, 0x0009_F600, 0x0009_F801, 0x0009_FA00, 0x0009_FC01, 0x0009_FE00, 0x000A_0001,
    0x000A_0200, 0x000A_0401, 0x000A_0600, 0x000A_0801, 0x000A_0A00, 0x000A_0C01, 0x000A_0E00, 0x000A_1001,
    0x000A_1200, 0x000A_1401, 0x000A_1600, 0x000A_1801, 0x000A_1A00, 0x000A_1C01, 0x000A_1E00, 0x000A_2001,
    0x000A_2200, 0x000A_2401, 0x000A_2600, 0x000A_2801, 0x000A_2A00, 0x000A_2C01, 0x000A_2E00, 0x000A_3001,
    0x000A_3200, 0x000A_3401, 0x000A_3600, 0x000A_3801, 0x000A_3A00, 0x000A_3C01, 0x000A_3E00, 0x000A_4001,
    0x000A_4200, 0x000A_4401, 0x000A_4600, 0x000A_4801, 0x000A_4A00, 0x000A_4C01, 0x000A_4E00, 0x000A_5001,
    0x000A_5200, 0x000A_5401, 0x000A_5600, 0x000A_5801, 0x000A_5A00, 0x000A_5C01, 0x000A_5E00, 0x000A_624B,
    0x000A_C050, 0x0021_404B, 0x0021_8E01, 0x0021_9A01, 0x0021_A054, 0x0021_FA04, 0x0027_40AB, 0x0027_F00A,
    0x0039_0010, 0x0039_2055, 0x0039_7A05, 0x003A_017E, 0x003C_0001, 0x003C_0200, 0x003C_0401, 0x003C_0600,
    0x003C_0801, 0x003C_0A00, 0x003C_0C01, 0x003C_0E00, 0x003C_1001, 0x003C_1200, 0x003C_1401, 0x003C_1600,
    0x003C_1801, 0x003C_1A00, 0x003C_1C01, 0x003C_1E00, 0x003C_2001, 0x003C_2200, 0x003C_2401, 0x003C_2600,
    0x003C_2801, 0x003C_2A00, 0x003C_2C01, 0x003C_2E00, 0x003C_3001, 0x003C_3200, 0x003C_3401, 0x003C_3600,
    0x003C_3801, 0x003C_3A00, 0x003C_3C01, 0x003C_3E00, 0x003C_4001, 0x003C_4200, 0x003C_4401, 0x003C_4600,
    0x003C_4801, 0x003C_4A00, 0x003C_4C01, 0x003C_4E00, 0x003C_5001, 0x003C_5200, 0x003C_5401, 0x003C_5600,
    0x003C_5801, 0x003C_5A00, 0x003C_5C01, 0x003C_5E00, 0x003C_6001, 0x003C_6200, 0x003C_6401, 0x003C_6600,
    0x003C_6801, 0x003C_6A00, 0x003C_6C01, 0x003C_6E00, 0x003C_7001, 0x003C_7200, 0x003C_7401, 0x003C_7600,
    0x003C_7801, 0x003C_7A00, 0x003C_7C01, 0x003C_7E00, 0x003C_8001, 0x003C_8200, 0x003C_8401, 0x003C_8600,
    0x003C_8801, 0x003C_8A00, 0x003C_8C01, 0x003C_8E00, 0x003C_9001, 0x003C_9200, 0x003C_9401, 0x003C_9600,
    0x003C_9801, 0x003C_9A00, 0x003C_9C01, 0x003C_9E00, 0x003C_A001, 0x003C_A200, 0x003C_A401, 0x003C_A600,
    0x003C_A801, 0x003C_AA00, 0x003C_AC01, 0x003C_AE00, 0x003C_B001, 0x003C_B200, 0x003C_B401, 0x003C_B600,
    0x003C_B801, 0x003C_BA00, 0x003C_BC01, 0x003C_BE00, 0x003C_C001, 0x003C_C200, 0x003C_C401, 0x003C_C600,
    0x003C_C801, 0x003C_CA00, 0x003C_CC01, 0x003C_CE00, 0x003C_D001, 0x003C_D200, 0x003C_D401, 0x003C_D600,
    0x003C_D801, 0x003C_DA00, 0x003C_DC01, 0x003C_DE00, 0x003C_E001, 0x003C_E200, 0x003C_E401, 0x003C_E600,
    0x003C_E801, 0x003C_EA00, 0x003C_EC01, 0x003C_EE00, 0x003C_F001, 0x003C_F200, 0x003C_F401, 0x003C_F600,
    0x003C_F801, 0x003C_FA00, 0x003C_FC01, 0x003C_FE00, 0x003D_0001, 0x003D_0200, 0x003D_0401, 0x003D_0600,
    0x003D_0801, 0x003D_0A00, 0x003D_0C01, 0x003D_0E00, 0x003D_1001, 0x003D_1200, 0x003D_1401, 0x003D_1600,
    0x003D_1801, 0x003D_1A00, 0x003D_1C01, 0x003D_1E00, 0x003D_2001, 0x003D_2200, 0x003D_2401, 0x003D_2600,
    0x003D_2801, 0x003D_2A10, 0x003D_3C01, 0x003D_3E00, 0x003D_4001, 0x003D_4200, 0x003D_4401, 0x003D_4600,
    0x003D_4801, 0x003D_4A00, 0x003D_4C01, 0x003D_4E00, 0x003D_5001, 0x003D_5200, 0x003D_5401, 0x003D_5600,
    0x003D_5801, 0x003D_5A00, 0x003D_5C01, 0x003D_5E00, 0x003D_6001, 0x003D_6200, 0x003D_6401, 0x003D_6600,
    0x003D_6801, 0x003D_6A00, 0x003D_6C01, 0x003D_6E00, 0x003D_7001, 0x003D_7200, 0x003D_7401, 0x003D_7600,
    0x003D_7801, 0x003D_7A00, 0x003D_7C01, 0x003D_7E00, 0x003D_8001, 0x003D_8200, 0x003D_8401, 0x003D_8600,
    0x003D_8801, 0x003D_8A00, 0x003D_8C01, 0x003D_8E00, 0x003D_9001, 0x003D_9200, 0x003D_9401, 0x003D_9600,
    0x003D_9801, 0x003D_9A00, 0x003D_9C01, 0x003D_9E00, 0x003D_A001, 0x003D_A200, 0x003D_A401, 0x003D_A600,
    0x003D_A801, 0x003D_AA00, 0x003D_AC01, 0x003D_AE00, 0x003D_B001, 0x003D_B200, 0x003D_B401, 0x003D_B600,
    0x003D_B801, 0x003D_BA00, 0x003D_BC01, 0x003D_BE00, 0x003D_C001, 0x003D_C200, 0x003D_C401, 0x003D_C600,
    0x003D_C801, 0x003D_CA00, 0x003D_CC01, 0x003D_CE00, 0x003D_D001, 0x003D_D200, 0x003D_D401, 0x003D_D600,
    0x003D_D801, 0x003D_DA00, 0x003D_DC01, 0x003D_DE00, 0x003D_E001, 0x003D_E200, 0x003D_E401, 0x003D_E600,
    0x003D_E801, 0x003D_EA00, 0x003D_EC01, 0x003D_EE00, 0x003D_F001, 0x003D_F200, 0x003D_F401, 0x003D_F600,
    0x003D_F801, 0x003D_FA00, 0x003D_FC01, 0x003D_FE10, 0x003E_100F, 0x003E_200A, 0x003E_300B, 0x003E_400E,
    0x003E_500F, 0x003E_600E, 0x003E_700F, 0x003E_800A, 0x003E_900B, 0x003E_A00E, 0x003E_B201, 0x003E_B601,
    0x003E_BA01, 0x003E_BE01, 0x003E_C00E, 0x003E_D00F, 0x003E_E01A, 0x003F_0068, 0x003F_6C02, 0x003F_7007,
    0x003F_7800, 0x003F_7C00, 0x003F_8404, 0x003F_8C02, 0x003F_9007, 0x003F_9800, 0x003F_A006, 0x003F_AC02,
    0x003F_B007, 0x003F_C00E, 0x003F_D009, 0x003F_E404, 0x003F_EC02, 0x003F_F007, 0x003F_F800, 0x0040_E200,
    0x0040_FE00, 0x0041_2018, 0x0042_0401, 0x0042_0E01, 0x0042_1400, 0x0042_1605, 0x0042_1C02, 0x0042_2005,
    0x0042_2600, 0x0042_2A01, 0x0042_3209, 0x0042_4801, 0x0042_4C01, 0x0042_5001, 0x0042_5407, 0x0042_5E00,
    0x0042_6007, 0x0042_6800, 0x0042_7200, 0x0042_7802, 0x0042_7C03, 0x0042_8A01, 0x0042_8C06, 0x0042_9C00,
    0x0042_C01F, 0x0042_E01E, 0x0043_0601, 0x0043_0800, 0x0049_6C33, 0x0049_A032, 0x0058_005F, 0x0058_605E,
    0x0058_C001, 0x0058_C200, 0x0058_C405, 0x0058_CA02, 0x0058_CE01, 0x0058_D000, 0x0058_D201, 0x0058_D400,
    0x0058_D601, 0x0058_D800, 0x0058_DA07, 0x0058_E200, 0x0058_E401, 0x0058_E602, 0x0058_EA01, 0x0058_EC0E,
    0x0058_FC05, 0x0059_0200, 0x0059_0401, 0x0059_0600, 0x0059_0801, 0x0059_0A00, 0x0059_0C01, 0x0059_0E00,
    0x0059_1001, 0x0059_1200, 0x0059_1401, 0x0059_1600, 0x0059_1801, 0x0059_1A00, 0x0059_1C01, 0x0059_1E00,
    0x0059_2001, 0x0059_2200, 0x0059_2401, 0x0059_2600, 0x0059_2801, 0x0059_2A00, 0x0059_2C01, 0x0059_2E00,
    0x0059_3001, 0x0059_3200, 0x0059_3401, 0x0059_3600, 0x0059_3801, 0x0059_3A00, 0x0059_3C01, 0x0059_3E00,
    0x0059_4001, 0x0059_4200, 0x0059_4401, 0x0059_4600, 0x0059_4801, 0x0059_4A00, 0x0059_4C01, 0x0059_4E00,
    0x0059_5001, 0x0059_5200, 0x0059_5401, 0x0059_5600, 0x0059_5801, 0x0059_5A00, 0x0059_5C01, 0x0059_5E00,
    0x0059_6001, 0x0059_6200, 0x0059_6401, 0x0059_6600, 0x0059_6801, 0x0059_6A00, 0x0059_6C01, 0x0059_6E00,
    0x0059_7001, 0x0059_7200, 0x0059_7401, 0x0059_7600, 0x0059_7801, 0x0059_7A00, 0x0059_7C01, 0x0059_7E00,
    0x0059_8001, 0x0059_8200, 0x0059_8401, 0x0059_8600, 0x0059_8801, 0x0059_8A00, 0x0059_8C01, 0x0059_8E00,
    0x0059_9001, 0x0059_9200, 0x0059_9401, 0x0059_9600, 0x0059_9801, 0x0059_9A00, 0x0059_9C01, 0x0059_9E00,
    0x0059_A001, 0x0059_A200, 0x0059_A401, 0x0059_A600, 0x0059_A801, 0x0059_AA00, 0x0059_AC01, 0x0059_AE00,
    0x0059_B001, 0x0059_B200, 0x0059_B401, 0x0059_B600, 0x0059_B801, 0x0059_BA00, 0x0059_BC01, 0x0059_BE00,
    0x0059_C001, 0x0059_C200, 0x0059_C401, 0x0059_C602, 0x0059_D601, 0x0059_D800, 0x0059_DA01, 0x0059_DC00,
    0x0059_E401, 0x0059_E600, 0x005A_004A, 0x005A_4E00, 0x005A_5A00, 0x014C_8001, 0x014C_8200, 0x014C_8401,
    0x014C_8600, 0x014C_8801, 0x014C_8A00, 0x014C_8C01, 0x014C_8E00, 0x014C_9001, 0x014C_9200, 0x014C_9401,
    0x014C_9600, 0x014C_9801, 0x014C_9A00, 0x014C_9C01, 0x014C_9E00, 0x014C_A001, 0x014C_A200, 0x014C_A401,
    0x014C_A600, 0x014C_A801, 0x014C_AA00, 0x014C_AC01, 0x014C_AE00, 0x014C_B001, 0x014C_B200, 0x014C_B401,
    0x014C_B600, 0x014C_B801, 0x014C_BA00, 0x014C_BC01, 0x014C_BE00, 0x014C_C001, 0x014C_C200, 0x014C_C401,
    0x014C_C600, 0x014C_C801, 0x014C_CA00, 0x014C_CC01, 0x014C_CE00, 0x014C_D001, 0x014C_D200, 0x014C_D401,
    0x014C_D600, 0x014C_D801, 0x014C_DA00, 0x014D_0001, 0x014D_0200, 0x014D_0401, 0x014D_0600, 0x014D_0801,
    0x014D_0A00, 0x014D_0C01, 0x014D_0E00, 0x014D_1001, 0x014D_1200, 0x014D_1401, 0x014D_1600, 0x014D_1801,
    0x014D_1A00, 0x014D_1C01, 0x014D_1E00, 0x014D_2001, 0x014D_2200, 0x014D_2401, 0x014D_2600, 0x014D_2801,
    0x014D_2A00, 0x014D_2C01, 0x014D_2E00, 0x014D_3001, 0x014D_3200, 0x014D_3401, 0x014D_3604, 0x014E_4401,
    0x014E_4600, 0x014E_4801, 0x014E_4A00, 0x014E_4C01, 0x014E_4E00, 0x014E_5001, 0x014E_5200, 0x014E_5401,
    0x014E_5600, 0x014E_5801, 0x014E_5A00, 0x014E_5C01, 0x014E_5E04, 0x014E_6401, 0x014E_6600, 0x014E_6801,
    0x014E_6A00, 0x014E_6C01, 0x014E_6E00, 0x014E_7001, 0x014E_7200, 0x014E_7401, 0x014E_7600, 0x014E_7801,
    0x014E_7A00, 0x014E_7C01, 0x014E_7E00, 0x014E_8001, 0x014E_8200, 0x014E_8401, 0x014E_8600, 0x014E_8801,
    0x014E_8A00, 0x014E_8C01, 0x014E_8E00, 0x014E_9001, 0x014E_9200, 0x014E_9401, 0x014E_9600, 0x014E_9801,
    0x014E_9A00, 0x014E_9C01, 0x014E_9E00, 0x014E_A001, 0x014E_A200, 0x014E_A401, 0x014E_A600, 0x014E_A801,
    0x014E_AA00, 0x014E_AC01, 0x014E_AE00, 0x014E_B001, 0x014E_B200, 0x014E_B401, 0x014E_B600, 0x014E_B801,
    0x014E_BA00, 0x014E_BC01, 0x014E_BE00, 0x014E_C001, 0x014E_C200, 0x014E_C401, 0x014E_C600, 0x014E_C801,
    0x014E_CA00, 0x014E_CC01, 0x014E_CE00, 0x014E_D001, 0x014E_D200, 0x014E_D401, 0x014E_D600, 0x014E_D801,
    0x014E_DA00, 0x014E_DC01, 0x014E_DE12, 0x014E_F201, 0x014E_F400, 0x014E_F601, 0x014E_F800, 0x014E_FA03,
    0x014E_FE00, 0x014F_0001, 0x014F_0200, 0x014F_0401, 0x014F_0600, 0x014F_0801, 0x014F_0A00, 0x014F_0C01,
    0x014F_0E00, 0x014F_1601, 0x014F_1800, 0x014F_1A01, 0x014F_1C00, 0x014F_2001, 0x014F_2200, 0x014F_2401,
    0x014F_2604, 0x014F_2C01, 0x014F_2E00, 0x014F_3001, 0x014F_3200, 0x014F_3401, 0x014F_3600, 0x014F_3801,
    0x014F_3A00, 0x014F_3C01, 0x014F_3E00, 0x014F_4001, 0x014F_4200, 0x014F_4401, 0x014F_4600, 0x014F_4801,
    0x014F_4A00, 0x014F_4C01, 0x014F_4E00, 0x014F_5001, 0x014F_5200, 0x014F_5409, 0x014F_5E00, 0x014F_6009,
    0x014F_6A00, 0x014F_6C01, 0x014F_6E00, 0x014F_7001, 0x014F_7200, 0x014F_7401, 0x014F_7600, 0x014F_7801,
    0x014F_7A00, 0x014F_7C01, 0x014F_7E00, 0x014F_8001, 0x014F_8200, 0x014F_8401, 0x014F_8600, 0x014F_8807,
    0x014F_9000, 0x014F_9201, 0x014F_9400, 0x014F_A001, 0x014F_A200, 0x014F_A600, 0x014F_AA00, 0x014F_AC01,
    0x014F_AE00, 0x014F_B001, 0x014F_B200, 0x014F_EA01, 0x014F_EC00, 0x014F_F004, 0x0156_6054, 0x0156_B818,
    0x0156_E09E, 0x01F6_000C, 0x01F6_2608, 0x01FE_4233, 0x01FE_8232, 0x0208_004F, 0x0208_504E, 0x0209_6047,
    0x0209_B046, 0x020A_E015, 0x020A_F81D, 0x020B_180D, 0x020B_2803, 0x020B_2E14, 0x020B_461C, 0x020B_660C,
    0x020B_7602, 0x020F_0000, 0x020F_0604, 0x020F_0E52, 0x020F_6410, 0x0219_0065, 0x0219_8064, 0x0231_403F,
    0x0231_803E, 0x02DC_803F, 0x02DC_C03E, 0x03A8_0033, 0x03A8_3432, 0x03A8_6833, 0x03A8_9C0C, 0x03A8_AC22,
    0x03A8_D033, 0x03A9_0432, 0x03A9_3801, 0x03A9_3C03, 0x03A9_4401, 0x03A9_4A03, 0x03A9_5207, 0x03A9_5C0F,
    0x03A9_6C06, 0x03A9_7600, 0x03A9_7A0C, 0x03A9_8A14, 0x03A9_A033, 0x03A9_D432, 0x03AA_0803, 0x03AA_0E07,
    0x03AA_1A0F, 0x03AA_2C0D, 0x03AA_3C32, 0x03AA_7003, 0x03AA_7607, 0x03AA_8009, 0x03AA_8C01, 0x03AA_940D,
    0x03AA_A432, 0x03AA_D833, 0x03AB_0C32, 0x03AB_4033, 0x03AB_7432, 0x03AB_A833, 0x03AB_DC32, 0x03AC_1033,
    0x03AC_4432, 0x03AC_7833, 0x03AC_AC32, 0x03AC_E033, 0x03AD_1436, 0x03AD_5031, 0x03AD_8430, 0x03AD_B80A,
    0x03AD_C431, 0x03AD_F830, 0x03AE_2C0A, 0x03AE_3831, 0x03AE_6C30, 0x03AE_A00A, 0x03AE_AC31, 0x03AE_E030,
    0x03AF_140A, 0x03AF_2031, 0x03AF_5430, 0x03AF_880A, 0x03AF_9401, 0x03AF_9600, 0x03BE_0012, 0x03BE_1626,
    0x03D2_0043, 0x03D2_4442, 0x03E2_6033, 0x03E2_A033, 0x03E2_E033,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SentimentAnalyzer>();
    }

    #[test]
    fn degenerate_inputs_are_neutral() {
        let analyzer = SentimentAnalyzer::shared();
        for text in ["", " ", "\u{202f}\n\t\u{1c}", "!!!", "??"] {
            let scores = analyzer.polarity_scores(text);
            assert_eq!(scores.compound, 0.0, "{text:?}");
        }
    }

    #[test]
    fn examples_from_vader_readme() {
        let analyzer = SentimentAnalyzer::shared();
        let s = analyzer.polarity_scores("VADER is smart, handsome, and funny.");
        assert_eq!(
            (s.neg, s.neu, s.pos, s.compound),
            (0.0, 0.254, 0.746, 0.8316)
        );
        let s = analyzer.polarity_scores("Today SUX!");
        assert_eq!(
            (s.neg, s.neu, s.pos, s.compound),
            (0.779, 0.221, 0.0, -0.5461)
        );
    }

    #[test]
    fn python_round_ties_to_even_on_exact_value() {
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(0.375, 2), 0.38);
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(0.0625, 3), 0.062);
        assert_eq!(py_round(-0.00005, 4), -0.0001);
        assert_eq!(py_round(0.99996, 4), 1.0);
    }

    #[test]
    fn tag_codes_round_trip() {
        for (code, tag) in Tag::ALL.iter().enumerate() {
            assert_eq!(*tag as usize, code);
            assert_eq!(Tag::from_code(code as u8), *tag);
        }
        for (word, tag) in TAG_WORDS {
            let token = SentimentAnalyzer::shared().make_token(word);
            assert_eq!(token.tag(), tag, "{word}");
        }
    }

    #[test]
    fn python_isupper() {
        assert!(py_isupper("GOOD"));
        assert!(py_isupper(":D"));
        assert!(py_isupper("ÉTÉ"));
        assert!(!py_isupper("ÉtÉ"));
        assert!(!py_isupper("123"));
        assert!(!py_isupper("\u{1c5}A"));
    }
}
