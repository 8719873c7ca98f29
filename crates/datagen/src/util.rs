//! Small deterministic helpers: hashing, seeded RNGs, skewed sampling, time
//! formatting, identifiers and a minimal hand-rolled JSON writer.

use chrono::{DateTime, Datelike, Timelike, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// SplitMix64 finaliser: a fast, well-mixing bijection on `u64`.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of `(seed, kind, index)`; every derived property of an entity is a
/// pure function of this value, so nothing has to be kept in memory.
#[inline]
pub fn h(seed: u64, kind: u64, index: u64) -> u64 {
    mix(mix(mix(seed) ^ kind) ^ index)
}

/// Uniform float in `[0, 1)` from a hash value.
#[inline]
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform float in `[0, 1)` derived from `(seed, kind, index)`.
#[inline]
pub fn hu(seed: u64, kind: u64, index: u64) -> f64 {
    unit(h(seed, kind, index))
}

/// A ChaCha8 RNG seeded from `(seed, kind, index)`.
pub fn rng_for(seed: u64, kind: u64, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(h(seed, kind, index))
}

/// FNV-1a of a string (used to derive per-file seeds from relative paths).
pub fn fnv(s: &str) -> u64 {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        x ^= u64::from(b);
        x = x.wrapping_mul(0x0000_0100_0000_01B3);
    }
    x
}

/// Standard normal deviate (Box-Muller) from two uniforms.
#[inline]
pub fn normal_from(u1: f64, u2: f64) -> f64 {
    let u1 = u1.max(1e-12);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[inline]
pub fn normal<R: Rng>(rng: &mut R) -> f64 {
    let a: f64 = rng.random();
    let b: f64 = rng.random();
    normal_from(a, b)
}

/// Pick an index according to (unnormalised) weights.
pub fn weighted(weights: &[f64], u: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = u * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Skewed count: 0 with probability `p0`, otherwise roughly geometric with the
/// given mean (heavy-ish tail), capped.
pub fn skewed_count<R: Rng>(rng: &mut R, p0: f64, mean: f64, cap: u64) -> u64 {
    if rng.random::<f64>() < p0 {
        return 0;
    }
    let u: f64 = rng.random::<f64>().max(1e-12);
    let v = 1.0 + (-u.ln()) * mean * (0.5 + rng.random::<f64>());
    (v as u64).min(cap)
}

/// Power-law ("Zipf-like") popularity over `n` items without tables: rank
/// sampled by inverse CDF of a continuous `x^-s` density on `[1, n+1)`, then
/// mapped to an item index by a bijective affine permutation so that popular
/// items are scattered over the index space.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: u64,
    one_minus_s: f64,
    top: f64,
    mul: u64,
    inv: u64,
    off: u64,
}

const PERM_PRIME: u64 = 2_654_435_761;

impl Zipf {
    pub fn new(n: u64, s: f64, salt: u64) -> Self {
        assert!(n > 0 && s > 0.0 && s < 1.0);
        let one_minus_s = 1.0 - s;
        let top = ((n + 1) as f64).powf(one_minus_s) - 1.0;
        let mul = PERM_PRIME % n;
        let mul = if n == 1 { 0 } else { mul };
        let inv = if n == 1 { 0 } else { mod_inverse(mul, n) };
        Zipf {
            n,
            one_minus_s,
            top,
            mul,
            inv,
            off: mix(salt) % n,
        }
    }

    /// Continuous CDF at `x` in `[1, n+1]`.
    fn cdf(&self, x: f64) -> f64 {
        (x.powf(self.one_minus_s) - 1.0) / self.top
    }

    /// Popularity rank for a uniform `u`.
    pub fn rank(&self, u: f64) -> u64 {
        let x = (1.0 + u * self.top).powf(1.0 / self.one_minus_s);
        ((x as u64).saturating_sub(1)).min(self.n - 1)
    }

    /// Item index for a uniform `u`.
    pub fn sample(&self, u: f64) -> u64 {
        self.index_of_rank(self.rank(u))
    }

    pub fn index_of_rank(&self, r: u64) -> u64 {
        ((u128::from(r) * u128::from(self.mul) + u128::from(self.off)) % u128::from(self.n)) as u64
    }

    pub fn rank_of_index(&self, i: u64) -> u64 {
        let d = (i + self.n - self.off) % self.n;
        ((u128::from(d) * u128::from(self.inv)) % u128::from(self.n)) as u64
    }

    /// Probability mass of an item index.
    pub fn share(&self, i: u64) -> f64 {
        let r = self.rank_of_index(i) as f64;
        self.cdf(r + 2.0) - self.cdf(r + 1.0)
    }
}

fn mod_inverse(a: u64, m: u64) -> u64 {
    // Extended Euclid on i128; m is prime-coprime to a by construction.
    let (mut old_r, mut r) = (i128::from(a), i128::from(m));
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    debug_assert_eq!(old_r, 1, "not coprime");
    (old_s.rem_euclid(i128::from(m))) as u64
}

// ---------------------------------------------------------------- time ----

pub const T2005: i64 = 1_104_537_600; // 2005-01-01
pub const T2010: i64 = 1_262_304_000; // 2010-01-01
pub const T2020: i64 = 1_577_836_800; // 2020-01-01
pub const T2021: i64 = 1_609_459_200; // 2021-01-01
pub const T2020_06: i64 = 1_590_969_600; // 2020-06-01
pub const T2022: i64 = 1_640_995_200; // 2022-01-01
pub const T_GOOGLE_END: i64 = 1_633_046_400; // 2021-10-01

/// A timestamp in `[lo, hi)` with exponential growth of activity over time.
pub fn growth_time(u: f64, lo: i64, hi: i64, rate: f64) -> i64 {
    let span = (hi - lo) as f64;
    let t = (1.0 + u * (rate.exp() - 1.0)).ln() / rate;
    lo + (t * span) as i64
}

/// Like [`growth_time`] but truncated below `floor`: the same global
/// activity curve over `[lo, hi)`, conditioned on `t >= floor`.
pub fn growth_time_after(u: f64, floor: i64, lo: i64, hi: i64, rate: f64) -> i64 {
    let span = (hi - lo) as f64;
    let x0 = ((floor - lo) as f64 / span).clamp(0.0, 0.999);
    let e0 = (rate * x0).exp();
    let x = (e0 + u * (rate.exp() - e0)).ln() / rate;
    lo + (x * span) as i64
}

/// UTC date and time of an epoch-seconds timestamp.
fn utc(t: i64) -> DateTime<Utc> {
    // The generator's timestamps lie between 2005 and 2022, far inside chrono's range.
    DateTime::from_timestamp(t, 0).expect("timestamp within chrono's range")
}

/// Year of an epoch-seconds timestamp.
pub fn year_of(t: i64) -> i64 {
    i64::from(utc(t).year())
}

/// Append `YYYY-MM-DD HH:MM:SS` for epoch seconds.
pub fn push_datetime(out: &mut Vec<u8>, t: i64) {
    let dt = utc(t);
    push_num(out, dt.year() as u64, 4);
    out.push(b'-');
    push_num(out, u64::from(dt.month()), 2);
    out.push(b'-');
    push_num(out, u64::from(dt.day()), 2);
    out.push(b' ');
    push_num(out, u64::from(dt.hour()), 2);
    out.push(b':');
    push_num(out, u64::from(dt.minute()), 2);
    out.push(b':');
    push_num(out, u64::from(dt.second()), 2);
}

fn push_num(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    for _ in digits..width {
        out.push(b'0');
    }
    out.extend_from_slice(&buf[i..]);
}

// ----------------------------------------------------------------- ids ----

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A 22-character Yelp-style id (`[A-Za-z0-9_-]`) as a pure function of a key.
pub fn yelp_id(seed: u64, kind: u64, index: u64) -> [u8; 22] {
    let mut out = [0u8; 22];
    let mut x = h(seed, kind, index);
    let mut y = mix(x ^ 0x5555_AAAA_1234_5678);
    let mut z = mix(y ^ index);
    for (i, c) in out.iter_mut().enumerate() {
        let src = match i / 10 {
            0 => &mut x,
            1 => &mut y,
            _ => &mut z,
        };
        *c = B64URL[(*src & 63) as usize];
        *src >>= 6;
    }
    out
}

/// Random base64url characters (for photo URLs).
pub fn push_b64<R: Rng>(out: &mut Vec<u8>, rng: &mut R, n: usize) {
    for _ in 0..n {
        out.push(B64URL[rng.random_range(0..64)]);
    }
}

/// Google `gmap_id` like `0x89e02445cb9db457:0x37f42bff4edf7a43`.
pub fn gmap_id(seed: u64, kind: u64, index: u64) -> [u8; 37] {
    let mut out = [0u8; 37];
    let a = h(seed, kind, index);
    let b = mix(a ^ 0x0F0F_F0F0_1357_9BDF);
    // Real ids cluster geographically in the high byte: use a plausible one.
    const HIGH: [u64; 5] = [0x80, 0x86, 0x87, 0x88, 0x89];
    let a = (a & 0x00FF_FFFF_FFFF_FFFF) | (HIGH[(a >> 56) as usize % HIGH.len()] << 56);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out[0] = b'0';
    out[1] = b'x';
    for i in 0..16 {
        out[2 + i] = HEX[((a >> (60 - 4 * i)) & 15) as usize];
    }
    out[18] = b':';
    out[19] = b'0';
    out[20] = b'x';
    for i in 0..16 {
        out[21 + i] = HEX[((b >> (60 - 4 * i)) & 15) as usize];
    }
    out
}

/// Google user id: a 21-digit decimal number starting with "10" or "11".
pub fn google_user_id(seed: u64, kind: u64, index: u64) -> [u8; 21] {
    let mut out = [b'0'; 21];
    out[0] = b'1';
    // u64::MAX < 2 * 10^19, so the 20 lower digits start with 0 or 1.
    let mut v = h(seed, kind, index);
    for i in (1..21).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out
}

// ---------------------------------------------------------------- json ----

/// Append a JSON string literal. With `ascii`, every non-ASCII character is
/// written as a `\uXXXX` escape (surrogate pairs above the BMP), which is how
/// the Google Local dumps (Python `json.dumps`) are encoded; otherwise UTF-8
/// is written raw like the Yelp dumps.
pub fn push_str(out: &mut Vec<u8>, s: &str, ascii: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let limit = if ascii { 0x80 } else { 0x100 };
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b >= 0x20 && b != b'"' && b != b'\\' && u16::from(b) < limit {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
            _ => {
                let ch = s[i..].chars().next().expect("char boundary");
                let mut units = [0u16; 2];
                for u in ch.encode_utf16(&mut units) {
                    out.extend_from_slice(b"\\u");
                    for k in (0..4).rev() {
                        out.push(HEX[((*u >> (4 * k)) & 15) as usize]);
                    }
                }
                i += ch.len_utf8();
                start = i;
                continue;
            }
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Minimal streaming JSON object writer over a byte buffer.
pub struct Obj<'a> {
    pub out: &'a mut Vec<u8>,
    first: bool,
    pub ascii: bool,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut Vec<u8>, ascii: bool) -> Self {
        out.push(b'{');
        Obj {
            out,
            first: true,
            ascii,
        }
    }

    pub fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub fn str(&mut self, k: &str, v: &str) {
        let ascii = self.ascii;
        push_str(self.key(k), v, ascii);
    }

    /// A string value known to need no escaping (ids, dates).
    pub fn raw_str(&mut self, k: &str, v: &[u8]) {
        let o = self.key(k);
        o.push(b'"');
        o.extend_from_slice(v);
        o.push(b'"');
    }

    pub fn null(&mut self, k: &str) {
        self.key(k).extend_from_slice(b"null");
    }

    pub fn u64(&mut self, k: &str, v: u64) {
        push_u64(self.key(k), v);
    }

    pub fn i64(&mut self, k: &str, v: i64) {
        let o = self.key(k);
        if v < 0 {
            o.push(b'-');
        }
        push_u64(o, v.unsigned_abs());
    }

    /// A float rounded to `decimals` digits, always written with a fraction
    /// part (`4.0`, not `4`).
    pub fn f64(&mut self, k: &str, v: f64, decimals: i32) {
        push_f64(self.key(k), v, decimals);
    }

    pub fn datetime(&mut self, k: &str, t: i64) {
        let o = self.key(k);
        o.push(b'"');
        push_datetime(o, t);
        o.push(b'"');
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    push_num(out, v, 0);
}

pub fn push_f64(out: &mut Vec<u8>, v: f64, decimals: i32) {
    let p = 10f64.powi(decimals);
    let r = (v * p).round() / p;
    let r = if r == 0.0 { 0.0 } else { r }; // no "-0.0"
    use std::io::Write as _;
    write!(out, "{r:?}").expect("write to Vec");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_util_datetime() {
        let mut v = Vec::new();
        push_datetime(&mut v, 1_531_001_351);
        assert_eq!(std::str::from_utf8(&v).unwrap(), "2018-07-07 22:09:11");
        assert_eq!(year_of(T2010), 2010);
        assert_eq!(year_of(T2022 - 1), 2021);
    }

    #[test]
    fn gen_util_escape_roundtrip() {
        for s in [
            "plain",
            "q\"b\\s\n\t\u{1}",
            "11\u{202f}AM\u{2013}9\u{202f}PM 😀 é",
        ] {
            for ascii in [false, true] {
                let mut v = Vec::new();
                push_str(&mut v, s, ascii);
                if ascii {
                    assert!(v.is_ascii());
                }
                let back: String = serde_json::from_slice(&v).unwrap();
                assert_eq!(back, s);
            }
        }
    }

    #[test]
    fn gen_util_zipf_bijection() {
        for n in [1u64, 2, 20, 97, 1000] {
            let z = Zipf::new(n, 0.55, 7);
            let mut seen = vec![false; n as usize];
            for r in 0..n {
                let i = z.index_of_rank(r);
                assert_eq!(z.rank_of_index(i), r);
                seen[i as usize] = true;
            }
            assert!(seen.iter().all(|x| *x));
            let total: f64 = (0..n).map(|i| z.share(i)).sum();
            assert!((total - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn gen_util_floats() {
        let mut v = Vec::new();
        push_f64(&mut v, 4.0, 1);
        v.push(b' ');
        push_f64(&mut v, 39.955_505_23, 7);
        v.push(b' ');
        push_f64(&mut v, -75.16, 7);
        assert_eq!(std::str::from_utf8(&v).unwrap(), "4.0 39.9555052 -75.16");
    }
}
