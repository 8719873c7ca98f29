//! English review / tip / owner-response texts composed from phrase
//! templates. Sentiment follows the rating; the templates exercise negation,
//! "but" clauses, intensifiers, ALL CAPS, "!!!", "?", emoticons and emoji.

use rand::Rng;

use super::world::Category;

const POS_ADJ: &[&str] = &[
    "good",
    "great",
    "delicious",
    "amazing",
    "friendly",
    "fresh",
    "excellent",
    "tasty",
    "wonderful",
    "fantastic",
    "awesome",
    "perfect",
    "lovely",
    "outstanding",
    "nice",
    "solid",
];
const NEG_ADJ: &[&str] = &[
    "bad",
    "terrible",
    "awful",
    "rude",
    "cold",
    "bland",
    "slow",
    "disappointing",
    "overpriced",
    "dirty",
    "horrible",
    "greasy",
    "mediocre",
    "stale",
    "unprofessional",
];
const POS_ADJ_SERVICE: &[&str] = &[
    "good",
    "great",
    "friendly",
    "excellent",
    "professional",
    "amazing",
    "wonderful",
    "fantastic",
    "awesome",
    "perfect",
    "quick",
    "helpful",
    "honest",
    "outstanding",
    "nice",
    "thorough",
];
const NEG_ADJ_SERVICE: &[&str] = &[
    "bad",
    "terrible",
    "awful",
    "rude",
    "slow",
    "disappointing",
    "overpriced",
    "dirty",
    "horrible",
    "unprofessional",
    "careless",
    "mediocre",
    "sloppy",
];
const MILD_NEG: &[&str] = &[
    "pricey", "slow", "crowded", "loud", "salty", "small", "noisy", "rushed",
];
const INTENS: &[&str] = &[
    "very",
    "extremely",
    "really",
    "super",
    "incredibly",
    "so",
    "absolutely",
    "pretty",
];
const STAFF: &[&str] = &[
    "Our server",
    "The staff",
    "The owner",
    "Everyone",
    "The manager",
    "The guy at the counter",
    "The service",
];
const POS_EMO: &[&str] = &[":)", ":-)", "😀", "😍", "👍", ":D"];
const NEG_EMO: &[&str] = &[":(", ":-(", "😡", "👎"];
const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const TOD: &[&str] = &["morning", "afternoon", "night", "evening"];
const RELATIVES: &[&str] = &[
    "friend", "coworker", "sister", "neighbor", "husband", "wife", "mom",
];
const FOOD_OCCASIONS: &[&str] = &[
    "lunch",
    "dinner with friends",
    "a birthday",
    "a quick bite",
    "date night",
    "brunch",
    "takeout",
];

const OPENERS_FOOD: &[&str] = &[
    "Came here for {occ}.",
    "First time here.",
    "Stopped by on a {day} {tod}.",
    "We found this {p} on Yelp.",
    "I've been coming here for {n} years.",
    "My {rel} recommended this {p}.",
    "We ordered the {i} and the {i2}.",
];
const OPENERS_OTHER: &[&str] = &[
    "First time here.",
    "Went in on a {day} {tod}.",
    "Found this {p} online.",
    "I've been coming here for {n} years.",
    "My {rel} recommended this {p}.",
    "Booked an appointment for the {i}.",
];
const POS: &[&str] = &[
    "The {i} was {pa}.",
    "{S} was {pa} and {pa}.",
    "I love this {p}!",
    "Highly recommend the {i}!",
    "Will definitely be back!!!",
    "Best {i} in {c}!",
    "The {i} wasn't bad at all.",
    "Not bad at all, honestly.",
    "Can't complain about the {i}.",
    "{PA} {i}, {pa} prices {e+}",
    "The {i} and the {i2} were both {pa}.",
    "This is my go-to {p} in {c}.",
    "The {i} was {pa}!!!",
    "Loved it {e+}",
    "Is there anything better than their {i}? I don't think so!",
    "The {i} is always {pa} and {S2} never disappoints.",
    "You will NOT be disappointed.",
    "{I} was {pa}, {pa} and {pa}.",
];
const GOOD_BUT: &[&str] = &[
    "The {i} was {pa} but the {i2} was a little {ma}.",
    "Great {p}, but it gets {ma} on weekends.",
    "Not perfect, but {pa} overall.",
    "Service was a bit slow but the {i} made up for it.",
    "A little {ma}, but worth it.",
];
const MIXED: &[&str] = &[
    "The {i} was okay but nothing special.",
    "Not great, not terrible.",
    "{S} was {pa} but the {i} was {na}.",
    "Decent {i}, but a bit {ma}.",
    "Is it worth the wait? Probably not.",
    "It was fine I guess.",
    "The {i} wasn't bad, but I've had better.",
    "Some things were {pa}, others were {na}.",
    "Average {p}. Nothing to write home about.",
    "Maybe I'll give it another try?",
    "The {i} was not very {pa} but not {na} either.",
];
const NEG: &[&str] = &[
    "The {i} was {na}.",
    "The {i} was not good.",
    "{S} was {na} and the {i} was {na}.",
    "Never coming back {e-}",
    "Worst {i} I have ever had!!!",
    "Would NOT recommend.",
    "Why would anyone come here?",
    "The {i} wasn't {pa} and the service wasn't great either.",
    "I wanted to like this {p}, but the {i} was {na}.",
    "{NA} service {e-}",
    "We waited {n}0 minutes for the {i}.",
    "Not worth the money.",
    "The {i} was not {pa} at all.",
    "Honestly, I don't understand the good reviews?",
    "Save your money!!!",
    "{S} was {na}. Not acceptable.",
];
const CLOSE_POS: &[&str] = &[
    "5 stars!",
    "👍",
    "😍",
    "😀",
    ":)",
    "Thanks!",
    "Highly recommended.",
];
const CLOSE_MIXED: &[&str] = &[
    "Meh.",
    "3 stars.",
    "¯\\_(ツ)_/¯",
    "It's okay.",
    "We'll see.",
];
const CLOSE_NEG: &[&str] = &[
    ":(",
    "😡",
    "Avoid!!!",
    "One star is generous.",
    "DO NOT GO.",
];

const TIPS_POS: &[&str] = &[
    "Great {i}!",
    "Ask about the {i}!",
    "Happy hour 3-6pm.",
    "Love this {p} {e+}",
    "The {i} is a must.",
    "Best {i} in {c}.",
    "Ask for the {i}, you won't regret it.",
    "Friendly staff and {pa} {i}.",
];
const TIPS_NEG: &[&str] = &[
    "Avoid the {i}.",
    "Slow service, be patient.",
    "Skip it {e-}",
    "The {i} was {na} today.",
];
const TIPS_NEUTRAL: &[&str] = &[
    "Parking is a nightmare.",
    "Cash only.",
    "Closed on Mondays.",
    "Free WiFi.",
    "Gets busy at lunch.",
    "Call ahead.",
    "Street parking only.",
];

const RESP_POS: &[&str] = &[
    "Thank you so much for the kind words! See you soon.",
    "Thanks for stopping by!",
    "We appreciate your review!",
    "Thank you! We're glad you enjoyed the {i}.",
];
const RESP_NEG: &[&str] = &[
    "We're sorry to hear about your experience. Please contact us so we can make it right.",
    "Thank you for your feedback, we will share it with our team.",
    "Sorry about the {i}. We hope you give us another chance.",
];

/// Context a text is written about.
pub struct Ctx<'a> {
    pub cat: &'a Category,
    pub city: &'a str,
}

/// Reusable text composer (keeps scratch buffers to avoid allocations).
#[derive(Default)]
pub struct TextGen {
    sentence: String,
    /// Templates already used in the current text (by address).
    used: Vec<usize>,
}

/// Words of a template-rendered sentence (single-spaced, no leading or
/// trailing space).
fn word_count(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        1 + s.bytes().filter(|b| *b == b' ').count()
    }
}

fn push_capitalized(out: &mut String, w: &str) {
    let mut cs = w.chars();
    if let Some(f) = cs.next() {
        out.extend(f.to_uppercase());
        out.push_str(cs.as_str());
    }
}

impl TextGen {
    fn adjective<R: Rng>(rng: &mut R, out: &mut String, list: &[&str], cap: bool) {
        let adj = list[rng.random_range(0..list.len())];
        let caps = rng.random_bool(0.04);
        if rng.random_bool(0.35) {
            let int = INTENS[rng.random_range(0..INTENS.len())];
            if cap {
                push_capitalized(out, int);
            } else {
                out.push_str(int);
            }
            out.push(' ');
            if caps {
                out.push_str(&adj.to_uppercase());
            } else {
                out.push_str(adj);
            }
        } else if caps {
            out.push_str(&adj.to_uppercase());
        } else if cap {
            push_capitalized(out, adj);
        } else {
            out.push_str(adj);
        }
    }

    fn render<R: Rng>(&mut self, rng: &mut R, template: &str, ctx: &Ctx) {
        let s = &mut self.sentence;
        s.clear();
        let items = ctx.cat.items;
        let item = items[rng.random_range(0..items.len())];
        let (pos, neg) = if ctx.cat.food {
            (POS_ADJ, NEG_ADJ)
        } else {
            (POS_ADJ_SERVICE, NEG_ADJ_SERVICE)
        };
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            s.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').expect("template brace");
            let key = &rest[open + 1..close];
            match key {
                "i" => s.push_str(item),
                "I" => push_capitalized(s, item),
                "i2" => {
                    let mut other = items[rng.random_range(0..items.len())];
                    if other == item {
                        other = items[(items.iter().position(|x| *x == item).unwrap_or(0) + 1)
                            % items.len()];
                    }
                    s.push_str(other);
                }
                "p" => s.push_str(ctx.cat.place),
                "c" => s.push_str(ctx.city),
                "pa" => Self::adjective(rng, s, pos, false),
                "PA" => Self::adjective(rng, s, pos, true),
                "na" => Self::adjective(rng, s, neg, false),
                "NA" => Self::adjective(rng, s, neg, true),
                "ma" => s.push_str(MILD_NEG[rng.random_range(0..MILD_NEG.len())]),
                "S" => s.push_str(STAFF[rng.random_range(0..STAFF.len())]),
                "S2" => s.push_str("the service"),
                "e+" => s.push_str(POS_EMO[rng.random_range(0..POS_EMO.len())]),
                "e-" => s.push_str(NEG_EMO[rng.random_range(0..NEG_EMO.len())]),
                "n" => {
                    use std::fmt::Write as _;
                    let _ = write!(s, "{}", rng.random_range(2..9));
                }
                "day" => s.push_str(DAYS[rng.random_range(0..DAYS.len())]),
                "tod" => s.push_str(TOD[rng.random_range(0..TOD.len())]),
                "rel" => s.push_str(RELATIVES[rng.random_range(0..RELATIVES.len())]),
                "occ" => s.push_str(FOOD_OCCASIONS[rng.random_range(0..FOOD_OCCASIONS.len())]),
                other => s.push_str(other),
            }
            rest = &rest[close + 1..];
        }
        s.push_str(rest);
    }

    /// Append `sentence` to `out` if it fits in `max` words; returns success.
    /// Sentences are separated by a space or, sometimes, a paragraph break.
    fn append<R: Rng>(&self, rng: &mut R, out: &mut String, words: &mut usize, max: usize) -> bool {
        let w = word_count(&self.sentence);
        if *words + w > max {
            return false;
        }
        if !out.is_empty() {
            out.push_str(if rng.random_bool(0.06) { "\n\n" } else { " " });
        }
        out.push_str(&self.sentence);
        *words += w;
        true
    }

    /// A review text for a 1..=5 star rating with between `min` and `max`
    /// words (target length drawn from a skewed distribution).
    pub fn review<R: Rng>(
        &mut self,
        rng: &mut R,
        out: &mut String,
        stars: u8,
        ctx: &Ctx,
        min: usize,
        max: usize,
    ) {
        out.clear();
        let u: f64 = rng.random();
        let target = min + ((max - min) as f64 * u.powf(2.2)) as usize;
        let (pool, extra, closers): (&[&str], &[&str], &[&str]) = match stars {
            5 => (POS, POS, CLOSE_POS),
            4 => (POS, GOOD_BUT, CLOSE_POS),
            3 => (MIXED, MIXED, CLOSE_MIXED),
            _ => (NEG, NEG, CLOSE_NEG),
        };
        let mut words = 0usize;
        if rng.random_bool(0.35) {
            let openers = if ctx.cat.food {
                OPENERS_FOOD
            } else {
                OPENERS_OTHER
            };
            let t = openers[rng.random_range(0..openers.len())];
            self.render(rng, t, ctx);
            self.append(rng, out, &mut words, max);
        }
        self.used.clear();
        let mut attempts = 0;
        let mut sentiment = 0;
        while (words < target || sentiment == 0) && attempts < 40 {
            attempts += 1;
            let t = if rng.random_bool(0.3) {
                extra[rng.random_range(0..extra.len())]
            } else {
                pool[rng.random_range(0..pool.len())]
            };
            if self.used.contains(&(t.as_ptr() as usize)) {
                continue;
            }
            self.used.push(t.as_ptr() as usize);
            self.render(rng, t, ctx);
            if stars == 1 && rng.random_bool(0.05) {
                self.sentence = self.sentence.to_uppercase();
            }
            if self.append(rng, out, &mut words, max) {
                sentiment += 1;
            }
        }
        if rng.random_bool(0.3) {
            self.sentence.clear();
            self.sentence
                .push_str(closers[rng.random_range(0..closers.len())]);
            self.append(rng, out, &mut words, max);
        }
        while words < min {
            let t = pool[rng.random_range(0..pool.len())];
            self.render(rng, t, ctx);
            self.append(rng, out, &mut words, max);
        }
    }

    /// A short tip.
    pub fn tip<R: Rng>(&mut self, rng: &mut R, out: &mut String, good: bool, ctx: &Ctx) {
        out.clear();
        let pool = if rng.random_bool(0.25) {
            TIPS_NEUTRAL
        } else if good {
            TIPS_POS
        } else {
            TIPS_NEG
        };
        let t = pool[rng.random_range(0..pool.len())];
        self.render(rng, t, ctx);
        out.push_str(&self.sentence);
        if rng.random_bool(0.2) {
            let t = TIPS_NEUTRAL[rng.random_range(0..TIPS_NEUTRAL.len())];
            self.render(rng, t, ctx);
            out.push(' ');
            out.push_str(&self.sentence);
        }
    }

    /// An owner's response to a review.
    pub fn response<R: Rng>(&mut self, rng: &mut R, out: &mut String, stars: u8, ctx: &Ctx) {
        out.clear();
        let pool = if stars >= 4 { RESP_POS } else { RESP_NEG };
        let t = pool[rng.random_range(0..pool.len())];
        self.render(rng, t, ctx);
        out.push_str(&self.sentence);
    }
}

#[cfg(test)]
mod tests {
    use super::super::world::CATEGORIES;
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn gen_text_lengths_and_sentiment() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut tg = TextGen::default();
        let mut out = String::new();
        for k in 0..3000 {
            let cat = &CATEGORIES[k % CATEGORIES.len()];
            let ctx = Ctx {
                cat,
                city: "Austin",
            };
            let stars = (k % 5) as u8 + 1;
            tg.review(&mut rng, &mut out, stars, &ctx, 5, 80);
            let w = out.split_whitespace().count();
            assert!((5..=80).contains(&w), "{w} words: {out}");
            assert!(!out.contains('{'), "{out}");
        }
    }
}
