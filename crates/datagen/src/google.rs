//! Google Local (Google Maps) style files: `metadata-sitios/N.json` and
//! `reviews-estados/review-<State>/N.json`. Strings are ASCII-escaped
//! (`\u2013`, surrogate pairs for emoji) like the published Python dumps.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::Gen;
use super::model::{Activity, Recent, next_visit, rating};
use super::stream::Source;
use super::text::{Ctx, TextGen};
use super::util::{
    Obj, T_GOOGLE_END, gmap_id, google_user_id, h, push_b64, push_str, push_u64, rng_for,
};
use super::world::{
    self, Biz, CATEGORIES, FIRST_NAMES, Identity, K_GP_DETAIL, K_GP_ID, K_GP_IDENT, K_GU, K_GU_ID,
    K_GU_NAME, K_STREAM, K_YB_IDENT, STATES, SURNAMES,
};

/// Google review activity: strong growth, mild 2020 dip, ends Sept 2021.
pub const ACTIVITY: Activity = Activity {
    hi: T_GOOGLE_END,
    growth: 1.8,
    accept_2020: 0.75,
    accept_2021: 0.9,
};

pub const METADATA_DIR: &str = "google/metadata-sitios";
pub const REVIEWS_DIR: &str = "google/reviews-estados";

fn place(g: &Gen, i: u64) -> Biz {
    world::google_place(g.seed, i, g.plan.yelp_businesses)
}

/// Name/address/coordinates; a Yelp twin shares its Yelp identity.
fn place_identity(g: &Gen, i: u64, b: &Biz) -> Identity {
    match b.twin {
        Some(j) => {
            let mut id = world::identity(g.seed, K_YB_IDENT, j, b);
            let mut rng = rng_for(g.seed, K_GP_IDENT + 100, i);
            id.lat += (rng.random::<f64>() - 0.5) * 0.0006;
            id.lon += (rng.random::<f64>() - 0.5) * 0.0006;
            id
        }
        None => world::identity(g.seed, K_GP_IDENT, i, b),
    }
}

fn hour_label(h24: u32, min: u32, nnbsp: bool) -> String {
    let h24 = h24 % 24;
    let h12 = if h24.is_multiple_of(12) { 12 } else { h24 % 12 };
    let ampm = if h24 < 12 { "AM" } else { "PM" };
    let sep = if nnbsp { "\u{202f}" } else { "" };
    if min == 0 {
        format!("{h12}{sep}{ampm}")
    } else {
        format!("{h12}:{min:02}{sep}{ampm}")
    }
}

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DAY_ABBR: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn misc<R: Rng>(rng: &mut R, o: &mut Obj, food: bool) {
    const FOOD: &[(&str, &[&str])] = &[
        (
            "Service options",
            &[
                "Dine-in",
                "Takeout",
                "Delivery",
                "Curbside pickup",
                "No-contact delivery",
                "Drive-through",
            ],
        ),
        (
            "Health & safety",
            &[
                "Mask required",
                "Staff wear masks",
                "Staff get temperature checks",
            ],
        ),
        (
            "Accessibility",
            &[
                "Wheelchair accessible entrance",
                "Wheelchair accessible seating",
                "Wheelchair accessible restroom",
            ],
        ),
        (
            "Offerings",
            &[
                "Comfort food",
                "Quick bite",
                "Small plates",
                "Vegetarian options",
                "Beer",
                "Wine",
                "Coffee",
            ],
        ),
        (
            "Dining options",
            &["Breakfast", "Brunch", "Lunch", "Dinner", "Dessert"],
        ),
        ("Amenities", &["Good for kids", "Restroom", "Wi-Fi"]),
        ("Atmosphere", &["Casual", "Cozy", "Trendy"]),
        ("Crowd", &["Groups", "Family-friendly", "College students"]),
        ("Planning", &["Accepts reservations", "Usually a wait"]),
        (
            "Payments",
            &[
                "Credit cards",
                "Debit cards",
                "NFC mobile payments",
                "Checks",
            ],
        ),
    ];
    const OTHER: &[(&str, &[&str])] = &[
        (
            "Service options",
            &[
                "Online appointments",
                "Onsite services",
                "In-store shopping",
                "Curbside pickup",
            ],
        ),
        (
            "Accessibility",
            &[
                "Wheelchair accessible entrance",
                "Wheelchair accessible parking lot",
            ],
        ),
        (
            "Amenities",
            &["Restroom", "Wi-Fi", "Gender-neutral restroom"],
        ),
        (
            "Planning",
            &["Appointment required", "Appointments recommended"],
        ),
        (
            "Payments",
            &["Credit cards", "Debit cards", "NFC mobile payments"],
        ),
        (
            "From the business",
            &["Identifies as women-led", "Identifies as veteran-led"],
        ),
    ];
    let groups = if food { FOOD } else { OTHER };
    let buf = &mut *o.key("MISC");
    let mut m = Obj::new(buf, true);
    for (name, items) in groups {
        if !rng.random_bool(0.6) {
            continue;
        }
        let out = &mut *m.key(name);
        out.push(b'[');
        let mut first = true;
        for (k, it) in items.iter().enumerate() {
            let last_chance = first && k + 1 == items.len();
            if last_chance || rng.random_bool(0.5) {
                if !first {
                    out.push(b',');
                }
                first = false;
                push_str(out, it, true);
            }
        }
        out.push(b']');
    }
    m.end();
}

/// Writes `hours` and returns the status string to use for `state`.
fn hours<R: Rng>(rng: &mut R, o: &mut Obj) -> String {
    let nnbsp = rng.random_bool(0.5);
    let all_day = rng.random_bool(0.04);
    let open = [6u32, 7, 8, 9, 10, 11, 11, 16][rng.random_range(0..8)];
    let omin = if rng.random_bool(0.2) { 30 } else { 0 };
    let close = (open + rng.random_range(6..12)).min(24);
    let cmin = if rng.random_bool(0.2) { 30 } else { 0 };
    let closed_day = if rng.random_bool(0.35) {
        Some(if rng.random_bool(0.6) { 0 } else { 6 })
    } else {
        None
    };
    let start = rng.random_range(0..7usize);
    let out = &mut *o.key("hours");
    out.push(b'[');
    for k in 0..7 {
        let d = (start + k) % 7;
        if k > 0 {
            out.push(b',');
        }
        out.push(b'[');
        push_str(out, DAYS[d], true);
        out.push(b',');
        let label = if all_day {
            "Open 24 hours".to_string()
        } else if closed_day == Some(d) {
            "Closed".to_string()
        } else {
            let late = if d >= 4 && rng.random_bool(0.3) { 1 } else { 0 };
            format!(
                "{}\u{2013}{}",
                hour_label(open, omin, nnbsp),
                hour_label(close + late, cmin, nnbsp)
            )
        };
        push_str(out, &label, true);
        out.push(b']');
    }
    out.push(b']');
    let u: f64 = rng.random();
    if all_day {
        "Open 24 hours".to_string()
    } else if u < 0.5 {
        format!("Open \u{22c5} Closes {}", hour_label(close, cmin, false))
    } else if u < 0.85 {
        format!(
            "Closed \u{22c5} Opens {} {}",
            hour_label(open, omin, false),
            DAY_ABBR[(start + 1) % 7]
        )
    } else if u < 0.93 {
        format!("Closes soon \u{22c5} {}", hour_label(close, cmin, false))
    } else {
        format!("Opens soon \u{22c5} {}", hour_label(open, omin, false))
    }
}

fn metadata_line(g: &Gen, i: u64, buf: &mut Vec<u8>) {
    let b = place(g, i);
    let id = place_identity(g, i, &b);
    let cat = &CATEGORIES[b.cat];
    let st = &STATES[b.state];
    let city = st.cities[b.city].name;
    let mut rng = rng_for(g.seed, K_GP_DETAIL, i);
    let gid = gmap_id(g.seed, K_GP_ID, i);
    buf.clear();
    let mut o = Obj::new(buf, true);
    o.str("name", &id.name);
    o.str(
        "address",
        &format!(
            "{}, {}, {}, {} {}",
            id.name, id.street, city, st.abbr, id.postal
        ),
    );
    o.raw_str("gmap_id", &gid);
    if !cat.descriptions.is_empty() && rng.random_bool(0.3) {
        o.str(
            "description",
            cat.descriptions[rng.random_range(0..cat.descriptions.len())],
        );
    } else {
        o.null("description");
    }
    o.f64("latitude", id.lat, 7);
    o.f64("longitude", id.lon, 7);
    if rng.random_bool(0.02) {
        o.null("category");
    } else {
        let out = &mut *o.key("category");
        out.push(b'[');
        for (k, c) in cat.google.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            push_str(out, c, true);
        }
        out.push(b']');
    }
    let avg = (b.quality + 0.25 + 0.2 * (rng.random::<f64>() - 0.5)).clamp(1.0, 5.0);
    o.f64("avg_rating", avg, 1);
    let expected = g.plan.google_reviews as f64 * g.google_place_pop.share(i);
    o.u64(
        "num_of_reviews",
        ((expected * (1.0 + 2.0 * rng.random::<f64>())).round() as u64).max(1),
    );
    let p_price = if cat.food { 0.75 } else { 0.08 };
    if rng.random_bool(p_price) {
        o.str(
            "price",
            ["$", "$$", "$$", "$$$", "$$$$"][rng.random_range(0..5)],
        );
    } else {
        o.null("price");
    }
    let status = if rng.random_bool(0.15) {
        o.null("hours");
        None
    } else {
        Some(hours(&mut rng, &mut o))
    };
    if rng.random_bool(0.1) {
        o.null("MISC");
    } else {
        misc(&mut rng, &mut o, cat.food);
    }
    let u: f64 = rng.random();
    match status {
        _ if u < 0.02 => o.str("state", "Permanently closed"),
        _ if u < 0.035 => o.str("state", "Temporarily closed"),
        Some(s) if u < 0.9 => o.str("state", &s),
        _ => o.null("state"),
    }
    if rng.random_bool(0.25) {
        o.null("relative_results");
    } else {
        let n = rng.random_range(1..=5);
        let out = &mut *o.key("relative_results");
        out.push(b'[');
        for k in 0..n {
            if k > 0 {
                out.push(b',');
            }
            let j = rng.random_range(0..g.plan.google_places);
            out.push(b'"');
            out.extend_from_slice(&gmap_id(g.seed, K_GP_ID, j));
            out.push(b'"');
        }
        out.push(b']');
    }
    let out = &mut *o.key("url");
    out.extend_from_slice(b"\"https://www.google.com/maps/place//data=!4m2!3m1!1s");
    out.extend_from_slice(&gid);
    out.extend_from_slice(b"?authuser=-1&hl=en&gl=us\"");
    o.end();
}

/// `metadata-sitios/N.json`: one line per place index (split into parts by the
/// driver).
#[derive(Default)]
pub struct Metadata {
    i: u64,
}

impl Source for Metadata {
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize> {
        let i = self.i;
        if i >= g.plan.google_places {
            return None;
        }
        self.i += 1;
        metadata_line(g, i, buf);
        Some(0)
    }
}

fn user_name(g: &Gen, u: u64) -> String {
    let x = h(g.seed, K_GU_NAME, u);
    let first = FIRST_NAMES[(x % FIRST_NAMES.len() as u64) as usize];
    let last = SURNAMES[((x >> 20) % SURNAMES.len() as u64) as usize];
    match (x >> 40) % 10 {
        0 => first.to_string(),
        1 | 2 => format!("{first} {}.", &last[..1]),
        _ => format!("{first} {last}"),
    }
}

#[cfg(test)]
/// Folder state of a Google review: the state at the tail of its place's
/// address.
pub fn state_folder(abbr: &str) -> Option<String> {
    world::state_by_abbr(abbr).map(|s| s.google_folder())
}

/// `reviews-estados/review-<State>/N.json`: one seeded stream of review events; the
/// slot of a review is the index of its place's state in [`STATES`].
pub struct Reviews {
    k: u64,
    rng: ChaCha8Rng,
    recent: Recent,
    tg: TextGen,
    text: String,
}

impl Reviews {
    pub fn new(g: &Gen) -> Self {
        Reviews {
            k: 0,
            rng: rng_for(g.seed, K_STREAM, 4),
            recent: Recent::new(),
            tg: TextGen::default(),
            text: String::with_capacity(1024),
        }
    }
}

/// The folder of the Google reviews of state `slot` (an index into [`STATES`]).
pub fn reviews_rel(slot: usize, part: u64) -> String {
    format!("{REVIEWS_DIR}/{}/{part}.json", STATES[slot].google_folder())
}

impl Source for Reviews {
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize> {
        if self.k >= g.plan.google_reviews {
            return None;
        }
        self.k += 1;
        let Reviews {
            rng,
            recent,
            tg,
            text,
            ..
        } = self;
        let seed = g.seed;
        let (v, user, biz) = next_visit(
            rng,
            recent,
            &g.google_user_pop,
            &g.google_place_pop,
            |u| world::user(seed, K_GU, u),
            |b| place(g, b),
            &ACTIVITY,
        );
        recent.push(v);
        let stars = rating(rng, &biz, &user);
        let ctx = Ctx {
            cat: &CATEGORIES[biz.cat],
            city: STATES[biz.state].cities[biz.city].name,
        };
        let time_ms = v.t * 1000 + rng.random_range(0..1000);
        buf.clear();
        let mut o = Obj::new(buf, true);
        o.raw_str("user_id", &google_user_id(seed, K_GU_ID, v.user));
        o.str("name", &user_name(g, v.user));
        o.i64("time", time_ms);
        o.u64("rating", u64::from(stars));
        if rng.random_bool(0.4) {
            o.null("text");
        } else {
            tg.review(rng, text, stars, &ctx, 5, 50);
            o.str("text", text);
        }
        if rng.random_bool(0.06) {
            let out = &mut *o.key("pics");
            out.push(b'[');
            for k in 0..rng.random_range(1..=3) {
                if k > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"url\":[\"https://lh5.googleusercontent.com/p/AF1Qip");
                push_b64(out, rng, 36);
                out.extend_from_slice(b"=w150-h150-k-no-p\"]}");
            }
            out.push(b']');
        } else {
            o.null("pics");
        }
        let p_resp = if stars <= 2 { 0.25 } else { 0.1 };
        if rng.random_bool(p_resp) {
            let rt = time_ms + rng.random_range(3_600_000..30 * 86_400_000i64);
            tg.response(rng, text, stars, &ctx);
            let out = &mut *o.key("resp");
            out.extend_from_slice(b"{\"time\":");
            push_u64(out, rt as u64);
            out.extend_from_slice(b",\"text\":");
            push_str(out, text, true);
            out.push(b'}');
        } else {
            o.null("resp");
        }
        o.raw_str("gmap_id", &gmap_id(seed, K_GP_ID, v.biz));
        o.end();
        Some(biz.state)
    }
}
