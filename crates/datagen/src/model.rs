//! Behavioural model shared by both platforms: who reviews what, when, and
//! with which rating.

use rand::Rng;

use super::util::{T2010, T2020, T2021, Zipf, growth_time_after, normal};
use super::world::{Biz, User};

/// One (user, business, time) review event.
#[derive(Clone, Copy, Debug)]
pub struct Visit {
    pub user: u64,
    pub biz: u64,
    pub t: i64,
}

/// Small ring of recent visits, used to create repeat customers (a user
/// reviewing the same business again later) in constant memory.
pub struct Recent {
    buf: Vec<Visit>,
    next: usize,
}

const RECENT: usize = 512;

impl Recent {
    pub fn new() -> Self {
        Recent {
            buf: Vec::with_capacity(RECENT),
            next: 0,
        }
    }

    pub fn push(&mut self, v: Visit) {
        if self.buf.len() < RECENT {
            self.buf.push(v);
        } else {
            self.buf[self.next] = v;
        }
        self.next = (self.next + 1) % RECENT;
    }
}

/// Review activity over time: exponential growth from 2010 to `hi` with
/// reduced activity (acceptance probabilities) in 2020 and 2021.
#[derive(Clone, Copy, Debug)]
pub struct Activity {
    pub hi: i64,
    pub growth: f64,
    pub accept_2020: f64,
    pub accept_2021: f64,
}

impl Activity {
    /// A time at or after `floor` (account creation).
    pub fn sample<R: Rng>(&self, rng: &mut R, floor: i64) -> i64 {
        let mut t = 0;
        for _ in 0..4 {
            t = growth_time_after(rng.random(), floor, T2010, self.hi, self.growth);
            let accept = if t >= T2021 {
                self.accept_2021
            } else if t >= T2020 {
                self.accept_2020
            } else {
                1.0
            };
            if accept >= 1.0 || rng.random_bool(accept) {
                break;
            }
        }
        t
    }
}

/// Choose the next review event.
pub fn next_visit<R: Rng>(
    rng: &mut R,
    recent: &Recent,
    users: &Zipf,
    bizs: &Zipf,
    user_of: impl Fn(u64) -> User,
    biz_of: impl Fn(u64) -> Biz,
    activity: &Activity,
) -> (Visit, User, Biz) {
    let hi = activity.hi;
    if !recent.buf.is_empty() && rng.random_bool(0.05) {
        let v = recent.buf[rng.random_range(0..recent.buf.len())];
        let t = v.t + rng.random_range(20..900) * 86_400 + rng.random_range(0..86_400);
        if t < hi {
            let visit = Visit { t, ..v };
            return (visit, user_of(v.user), biz_of(v.biz));
        }
    }
    let u = users.sample(rng.random());
    let user = user_of(u);
    let mut b = bizs.sample(rng.random());
    let mut biz = biz_of(b);
    if rng.random_bool(user.loyalty) {
        // Users with consistent tastes: look a few times for a favourite.
        for _ in 0..4 {
            if user.fav.contains(&biz.cat) {
                break;
            }
            b = bizs.sample(rng.random());
            biz = biz_of(b);
        }
    }
    let t = activity.sample(rng, user.since);
    (Visit { user: u, biz: b, t }, user, biz)
}

/// Star rating (1..=5) from the business quality, the user's bias and
/// whether the place is among the user's favourite kinds. J-shaped overall:
/// many 5s and 4s, a bump of 1s from bad experiences.
pub fn rating<R: Rng>(rng: &mut R, biz: &Biz, user: &User) -> u8 {
    let fav = if user.fav.contains(&biz.cat) {
        0.3
    } else {
        0.0
    };
    let mean = biz.quality + user.bias + fav;
    let p_bad = (0.08 + 0.12 * (4.2 - mean).max(0.0)).min(0.6);
    if rng.random_bool(p_bad) {
        return if rng.random_bool(0.75) { 1 } else { 2 };
    }
    let x = mean + 0.8 + 0.9 * normal(rng);
    x.round().clamp(1.0, 5.0) as u8
}
