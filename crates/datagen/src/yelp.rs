//! Yelp Open Dataset style files (`yelp_academic_dataset_*.json`).

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::Gen;
use super::model::{Activity, Recent, next_visit, rating};
use super::stream::Source;
use super::text::{Ctx, TextGen};
use super::util::{
    Obj, T2010, T2022, growth_time, h, hu, normal, push_datetime, rng_for, skewed_count, unit,
    year_of, yelp_id,
};
use super::world::{
    self, CATEGORIES, FIRST_NAMES, K_REVIEW_ID, K_STREAM, K_YB, K_YB_DETAIL, K_YB_ID, K_YB_IDENT,
    K_YU, K_YU_DETAIL, K_YU_ID, STATES,
};

/// Yelp review activity: growth to 2019, pandemic dip in 2020-2021.
pub const ACTIVITY: Activity = Activity {
    hi: T2022,
    growth: 1.2,
    accept_2020: 0.5,
    accept_2021: 0.45,
};

pub const BUSINESS: &str = "yelp/yelp_academic_dataset_business.json";
pub const REVIEW: &str = "yelp/yelp_academic_dataset_review.json";
pub const USER: &str = "yelp/yelp_academic_dataset_user.json";
pub const CHECKIN: &str = "yelp/yelp_academic_dataset_checkin.json";
pub const TIP: &str = "yelp/yelp_academic_dataset_tip.json";

fn biz_id(g: &Gen, i: u64) -> [u8; 22] {
    yelp_id(g.seed, K_YB_ID, i)
}

fn user_id(g: &Gen, i: u64) -> [u8; 22] {
    yelp_id(g.seed, K_YU_ID, i)
}

/// Expected number of dataset reviews of business `i`.
fn expected_reviews(g: &Gen, i: u64) -> f64 {
    g.plan.yelp_reviews as f64 * g.yelp_biz_pop.share(i)
}

fn py_bool<R: Rng>(rng: &mut R, p_true: f64) -> &'static str {
    let u: f64 = rng.random();
    if u < 0.06 {
        "None"
    } else if u < 0.06 + p_true * 0.94 {
        "True"
    } else {
        "False"
    }
}

fn attributes<R: Rng>(rng: &mut R, o: &mut Obj, food: bool) {
    let buf = &mut *o.key("attributes");
    let mut a = Obj::new(buf, false);
    let parking = format!(
        "{{'garage': {}, 'street': {}, 'validated': False, 'lot': {}, 'valet': False}}",
        py(rng.random_bool(0.2)),
        py(rng.random_bool(0.5)),
        py(rng.random_bool(0.5))
    );
    if food {
        a.str(
            "RestaurantsPriceRange2",
            ["1", "2", "2", "3", "4"][rng.random_range(0..5)],
        );
        if rng.random_bool(0.85) {
            a.str("BusinessParking", &parking);
        }
        if rng.random_bool(0.7) {
            a.str(
                "WiFi",
                ["u'free'", "u'no'", "'free'", "'no'", "u'paid'"][rng.random_range(0..5)],
            );
        }
        if rng.random_bool(0.7) {
            a.str(
                "Alcohol",
                [
                    "'beer_and_wine'",
                    "u'full_bar'",
                    "u'none'",
                    "'none'",
                    "u'beer_and_wine'",
                ][rng.random_range(0..5)],
            );
        }
        a.str("RestaurantsTakeOut", py_bool(rng, 0.9));
        if rng.random_bool(0.8) {
            a.str("RestaurantsDelivery", py_bool(rng, 0.5));
        }
        if rng.random_bool(0.7) {
            a.str("GoodForKids", py_bool(rng, 0.7));
        }
        if rng.random_bool(0.6) {
            a.str("OutdoorSeating", py_bool(rng, 0.4));
        }
        if rng.random_bool(0.5) {
            a.str(
                "Ambience",
                &format!(
                    "{{'romantic': False, 'intimate': False, 'classy': {}, 'hipster': False, 'touristy': False, 'trendy': {}, 'upscale': False, 'casual': {}}}",
                    py(rng.random_bool(0.2)),
                    py(rng.random_bool(0.2)),
                    py(rng.random_bool(0.8))
                ),
            );
        }
        if rng.random_bool(0.5) {
            a.str("HasTV", py_bool(rng, 0.5));
        }
    } else {
        a.str("BusinessAcceptsCreditCards", py_bool(rng, 0.9));
        if rng.random_bool(0.6) {
            a.str("ByAppointmentOnly", py_bool(rng, 0.5));
        }
        if rng.random_bool(0.6) {
            a.str("BusinessParking", &parking);
        }
        if rng.random_bool(0.3) {
            a.str("WheelchairAccessible", py_bool(rng, 0.8));
        }
    }
    a.end();
}

fn py(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn hours<R: Rng>(rng: &mut R, o: &mut Obj) {
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let open = [6u32, 7, 8, 9, 10, 11, 11, 16][rng.random_range(0..8)];
    let close = (open + rng.random_range(6..12)).min(24) % 24;
    let om = if rng.random_bool(0.2) { 30 } else { 0 };
    let cm = if rng.random_bool(0.25) { 30 } else { 0 };
    let monday_closed = rng.random_bool(0.25);
    let sunday_closed = rng.random_bool(0.3);
    let buf = &mut *o.key("hours");
    let mut hh = Obj::new(buf, false);
    for (d, day) in DAYS.iter().enumerate() {
        if (d == 0 && monday_closed) || (d == 6 && sunday_closed) || rng.random_bool(0.04) {
            continue;
        }
        if rng.random_bool(0.05) {
            hh.raw_str(day, b"0:0-0:0");
            continue;
        }
        let late = if d >= 4 && rng.random_bool(0.4) { 1 } else { 0 };
        let c = (close + late) % 24;
        hh.str(day, &format!("{open}:{om}-{c}:{cm}"));
    }
    hh.end();
}

/// Displayed business stars: quality rounded to half stars.
fn displayed_stars(g: &Gen, i: u64, q: f64) -> f64 {
    let noisy = q + 0.1 + 0.3 * (hu(g.seed, K_YB + 40, i) - 0.5);
    ((noisy * 2.0).round() / 2.0).clamp(1.0, 5.0)
}

/// `yelp_academic_dataset_business.json`: one line per business index.
#[derive(Default)]
pub struct Businesses {
    i: u64,
}

impl Source for Businesses {
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize> {
        let i = self.i;
        if i >= g.plan.yelp_businesses {
            return None;
        }
        self.i += 1;
        let b = world::yelp_biz(g.seed, i);
        let id = world::identity(g.seed, K_YB_IDENT, i, &b);
        let cat = &CATEGORIES[b.cat];
        let st = &STATES[b.state];
        let mut rng = rng_for(g.seed, K_YB_DETAIL, i);
        buf.clear();
        let mut o = Obj::new(buf, false);
        o.raw_str("business_id", &biz_id(g, i));
        o.str("name", &id.name);
        o.str("address", &id.street);
        o.str("city", st.cities[b.city].name);
        o.raw_str("state", st.abbr.as_bytes());
        o.str("postal_code", &id.postal);
        o.f64("latitude", id.lat, 7);
        o.f64("longitude", id.lon, 7);
        o.f64("stars", displayed_stars(g, i, b.quality), 1);
        let rc = (expected_reviews(g, i) * (0.9 + 0.6 * rng.random::<f64>())).round() as u64;
        o.u64("review_count", rc.max(5));
        o.u64("is_open", u64::from(rng.random_bool(0.8)));
        if rng.random_bool(0.09) {
            o.null("attributes");
        } else {
            attributes(&mut rng, &mut o, cat.food);
        }
        if rng.random_bool(0.01) {
            o.null("categories");
        } else if rng.random_bool(0.35) {
            let mut parts: Vec<&str> = cat.yelp.split(", ").collect();
            parts.shuffle(&mut rng);
            o.str("categories", &parts.join(", "));
        } else {
            o.str("categories", cat.yelp);
        }
        if rng.random_bool(0.15) {
            o.null("hours");
        } else {
            hours(&mut rng, &mut o);
        }
        o.end();
        Some(0)
    }
}

/// `yelp_academic_dataset_user.json`: one line per user index.
#[derive(Default)]
pub struct Users {
    i: u64,
    friends: Vec<u8>,
    elite: String,
}

impl Source for Users {
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize> {
        let i = self.i;
        if i >= g.plan.yelp_users {
            return None;
        }
        self.i += 1;
        let (friends, elite) = (&mut self.friends, &mut self.elite);
        let u = world::user(g.seed, K_YU, i);
        let mut rng = rng_for(g.seed, K_YU_DETAIL, i);
        let expected = g.plan.yelp_reviews as f64 * g.yelp_user_pop.share(i);
        // Users also reviewed places outside the dataset.
        let rc = (expected * (1.0 + 2.0 * rng.random::<f64>())).round() as u64
            + skewed_count(&mut rng, 0.3, 6.0, 5000);
        let activity = (rc as f64).sqrt();
        let fans = (activity * rng.random::<f64>() * rng.random::<f64>() * 3.0) as u64;
        buf.clear();
        let mut o = Obj::new(buf, false);
        o.raw_str("user_id", &user_id(g, i));
        o.str(
            "name",
            FIRST_NAMES[(h(g.seed, K_YU + 20, i) % FIRST_NAMES.len() as u64) as usize],
        );
        o.u64("review_count", rc);
        o.datetime("yelping_since", u.since);
        for k in ["useful", "funny", "cool"] {
            let f = if k == "useful" { 2.5 } else { 0.8 };
            o.u64(
                k,
                (rc as f64 * f * rng.random::<f64>() * rng.random::<f64>() * 2.0) as u64,
            );
        }
        // Elite years: a run of consecutive years after joining; 2020 is
        // written as "20,20" like in the published dataset.
        elite.clear();
        if rc >= 20 && rng.random_bool(0.25) {
            let first = (year_of(u.since) + 1).max(2006);
            if first <= 2021 {
                let start = rng.random_range(first..=2021);
                let end = rng.random_range(start..=2021);
                for y in start..=end {
                    if !elite.is_empty() {
                        elite.push(',');
                    }
                    if y == 2020 {
                        elite.push_str("20,20");
                    } else {
                        elite.push_str(&y.to_string());
                    }
                }
            }
        }
        o.str("elite", elite);
        friends.clear();
        let n_friends = if rng.random_bool(0.45) {
            0
        } else {
            skewed_count(&mut rng, 0.0, 6.0, 150)
        };
        for k in 0..n_friends {
            if k > 0 {
                friends.extend_from_slice(b", ");
            }
            let f = rng.random_range(0..g.plan.yelp_users);
            friends.extend_from_slice(&user_id(g, f));
        }
        if friends.is_empty() {
            o.raw_str("friends", b"None");
        } else {
            o.raw_str("friends", friends);
        }
        o.u64("fans", fans);
        let avg = (3.75 + u.bias + 0.3 * normal(&mut rng)).clamp(1.0, 5.0);
        let avg = if rc == 0 { 0.0 } else { avg };
        o.f64("average_stars", avg, 2);
        for k in reviewlake_schema::YELP_USER_COMPLIMENTS {
            let base = fans as f64 * 1.5 + activity * 0.2;
            o.u64(k, (base * rng.random::<f64>() * rng.random::<f64>()) as u64);
        }
        o.end();
        Some(0)
    }
}

/// `yelp_academic_dataset_review.json`: one seeded stream of review events.
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
            rng: rng_for(g.seed, K_STREAM, 1),
            recent: Recent::new(),
            tg: TextGen::default(),
            text: String::with_capacity(1024),
        }
    }
}

impl Source for Reviews {
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize> {
        let k = self.k;
        if k >= g.plan.yelp_reviews {
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
            &g.yelp_user_pop,
            &g.yelp_biz_pop,
            |u| world::user(seed, K_YU, u),
            |b| world::yelp_biz(seed, b),
            &ACTIVITY,
        );
        recent.push(v);
        let stars = rating(rng, &biz, &user);
        let age_years = (T2022 - v.t) as f64 / (365.0 * 86_400.0);
        let ctx = Ctx {
            cat: &CATEGORIES[biz.cat],
            city: STATES[biz.state].cities[biz.city].name,
        };
        tg.review(rng, text, stars, &ctx, 5, 80);
        buf.clear();
        let mut o = Obj::new(buf, false);
        o.raw_str("review_id", &yelp_id(seed, K_REVIEW_ID, k));
        o.raw_str("user_id", &user_id(g, v.user));
        o.raw_str("business_id", &biz_id(g, v.biz));
        o.f64("stars", f64::from(stars), 1);
        let exposure = 1.0 + age_years / 3.0;
        o.u64("useful", skewed_count(rng, 0.5, 1.2 * exposure, 1000));
        o.u64("funny", skewed_count(rng, 0.82, 0.8 * exposure, 500));
        o.u64("cool", skewed_count(rng, 0.75, 0.9 * exposure, 500));
        o.str("text", text);
        o.datetime("date", v.t);
        o.end();
        Some(0)
    }
}

/// `yelp_academic_dataset_tip.json`: one seeded stream of tips.
pub struct Tips {
    k: u64,
    rng: ChaCha8Rng,
    tg: TextGen,
    text: String,
}

impl Tips {
    pub fn new(g: &Gen) -> Self {
        Tips {
            k: 0,
            rng: rng_for(g.seed, K_STREAM, 2),
            tg: TextGen::default(),
            text: String::with_capacity(256),
        }
    }
}

impl Source for Tips {
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize> {
        if self.k >= g.plan.tips {
            return None;
        }
        self.k += 1;
        let Tips { rng, tg, text, .. } = self;
        let ui = g.yelp_user_pop.sample(rng.random());
        let bi = g.yelp_biz_pop.sample(rng.random());
        let user = world::user(g.seed, K_YU, ui);
        let biz = world::yelp_biz(g.seed, bi);
        let ctx = Ctx {
            cat: &CATEGORIES[biz.cat],
            city: STATES[biz.state].cities[biz.city].name,
        };
        let good = biz.quality + user.bias + 0.5 * normal(rng) >= 3.2;
        tg.tip(rng, text, good, &ctx);
        let t = ACTIVITY.sample(rng, user.since);
        buf.clear();
        let mut o = Obj::new(buf, false);
        o.raw_str("user_id", &user_id(g, ui));
        o.raw_str("business_id", &biz_id(g, bi));
        o.str("text", text);
        o.datetime("date", t);
        o.u64("compliment_count", skewed_count(rng, 0.93, 1.0, 20));
        o.end();
        Some(0)
    }
}

/// `yelp_academic_dataset_checkin.json`: about 70% of the businesses, one seeded
/// stream.
pub struct Checkins {
    i: u64,
    rng: ChaCha8Rng,
    times: Vec<i64>,
}

impl Checkins {
    pub fn new(g: &Gen) -> Self {
        Checkins {
            i: 0,
            rng: rng_for(g.seed, K_STREAM, 3),
            times: Vec::with_capacity(512),
        }
    }
}

impl Source for Checkins {
    fn next(&mut self, g: &Gen, buf: &mut Vec<u8>) -> Option<usize> {
        let i = loop {
            let i = self.i;
            if i >= g.plan.yelp_businesses {
                return None;
            }
            self.i += 1;
            if unit(h(g.seed, K_YB + 30, i)) < 0.7 {
                break i;
            }
        };
        let Checkins { rng, times, .. } = self;
        let n = 1 + (expected_reviews(g, i) * (0.3 + 2.0 * rng.random::<f64>())) as usize;
        let n = n.min(400);
        times.clear();
        for _ in 0..n {
            times.push(growth_time(rng.random(), T2010, T2022, 1.2));
        }
        times.sort_unstable();
        buf.clear();
        buf.extend_from_slice(b"{\"business_id\":\"");
        buf.extend_from_slice(&biz_id(g, i));
        buf.extend_from_slice(b"\",\"date\":\"");
        for (k, t) in times.iter().enumerate() {
            if k > 0 {
                buf.extend_from_slice(b", ");
            }
            push_datetime(buf, *t);
        }
        buf.extend_from_slice(b"\"}");
        Some(0)
    }
}
