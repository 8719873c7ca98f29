//! Static reference tables (states, cities, categories, names) and the pure
//! derivation of entity properties from `(seed, kind, index)`.

use rand::Rng;

use super::util::{T2005, T2020_06, growth_time, h, hu, normal_from, rng_for, unit};

// Hash "kinds" (domain separators) for every derived property.
pub const K_YB: u64 = 0x1001; // yelp business core
pub const K_YB_ID: u64 = 0x1002;
pub const K_YB_IDENT: u64 = 0x1003;
pub const K_YB_DETAIL: u64 = 0x1004;
pub const K_YU: u64 = 0x2001; // yelp user core
pub const K_YU_ID: u64 = 0x2002;
pub const K_YU_DETAIL: u64 = 0x2003;
pub const K_GP: u64 = 0x3001; // google place core
pub const K_GP_ID: u64 = 0x3002;
pub const K_GP_IDENT: u64 = 0x3003;
pub const K_GP_DETAIL: u64 = 0x3004;
pub const K_GP_TWIN: u64 = 0x3005;
pub const K_GU: u64 = 0x4001; // google user core
pub const K_GU_ID: u64 = 0x4002;
pub const K_GU_NAME: u64 = 0x4003;
pub const K_REVIEW_ID: u64 = 0x5001;
pub const K_STREAM: u64 = 0x6001;
pub const K_DIRT: u64 = 0x7001;
pub const K_ZIPF: u64 = 0x8001;

pub struct City {
    pub name: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub zip: &'static str,
}

pub struct StateInfo {
    pub abbr: &'static str,
    pub name: &'static str,
    pub yelp_w: f64,
    pub google_w: f64,
    pub cities: &'static [City],
}

impl StateInfo {
    /// Folder of the Google reviews of this state (`review-New_York`).
    pub fn google_folder(&self) -> String {
        format!("review-{}", self.name.replace(' ', "_"))
    }
}

const fn c(name: &'static str, lat: f64, lon: f64, zip: &'static str) -> City {
    City {
        name,
        lat,
        lon,
        zip,
    }
}

pub static STATES: &[StateInfo] = &[
    StateInfo {
        abbr: "PA",
        name: "Pennsylvania",
        yelp_w: 0.20,
        google_w: 0.04,
        cities: &[
            c("Philadelphia", 39.9526, -75.1652, "191"),
            c("Pittsburgh", 40.4406, -79.9959, "152"),
            c("Bensalem", 40.1046, -74.9513, "190"),
            c("King of Prussia", 40.0893, -75.3963, "194"),
            c("Norristown", 40.1215, -75.3399, "194"),
        ],
    },
    StateInfo {
        abbr: "FL",
        name: "Florida",
        yelp_w: 0.16,
        google_w: 0.16,
        cities: &[
            c("Tampa", 27.9506, -82.4572, "336"),
            c("Clearwater", 27.9659, -82.8001, "337"),
            c("St. Petersburg", 27.7676, -82.6403, "337"),
            c("Brandon", 27.9378, -82.2859, "335"),
            c("Miami", 25.7617, -80.1918, "331"),
            c("Orlando", 28.5383, -81.3792, "328"),
        ],
    },
    StateInfo {
        abbr: "TN",
        name: "Tennessee",
        yelp_w: 0.08,
        google_w: 0.0,
        cities: &[
            c("Nashville", 36.1627, -86.7816, "372"),
            c("Franklin", 35.9251, -86.8689, "370"),
            c("Brentwood", 36.0331, -86.7828, "370"),
            c("Memphis", 35.1495, -90.0490, "381"),
        ],
    },
    StateInfo {
        abbr: "LA",
        name: "Louisiana",
        yelp_w: 0.07,
        google_w: 0.0,
        cities: &[
            c("New Orleans", 29.9511, -90.0715, "701"),
            c("Metairie", 29.9841, -90.1529, "700"),
            c("Kenner", 29.9941, -90.2417, "700"),
            c("Baton Rouge", 30.4515, -91.1871, "708"),
        ],
    },
    StateInfo {
        abbr: "AZ",
        name: "Arizona",
        yelp_w: 0.09,
        google_w: 0.0,
        cities: &[
            c("Tucson", 32.2226, -110.9747, "857"),
            c("Phoenix", 33.4484, -112.0740, "850"),
            c("Scottsdale", 33.4942, -111.9261, "852"),
            c("Oro Valley", 32.3909, -110.9665, "857"),
        ],
    },
    StateInfo {
        abbr: "NV",
        name: "Nevada",
        yelp_w: 0.07,
        google_w: 0.03,
        cities: &[
            c("Reno", 39.5296, -119.8138, "895"),
            c("Sparks", 39.5349, -119.7527, "894"),
            c("Las Vegas", 36.1699, -115.1398, "891"),
            c("Henderson", 36.0395, -114.9817, "890"),
        ],
    },
    StateInfo {
        abbr: "CA",
        name: "California",
        yelp_w: 0.08,
        google_w: 0.28,
        cities: &[
            c("Santa Barbara", 34.4208, -119.6982, "931"),
            c("Goleta", 34.4358, -119.8276, "931"),
            c("Los Angeles", 34.0522, -118.2437, "900"),
            c("San Francisco", 37.7749, -122.4194, "941"),
            c("San Diego", 32.7157, -117.1611, "921"),
            c("Sacramento", 38.5816, -121.4944, "958"),
            c("San Jose", 37.3382, -121.8863, "951"),
        ],
    },
    StateInfo {
        abbr: "TX",
        name: "Texas",
        yelp_w: 0.07,
        google_w: 0.20,
        cities: &[
            c("Austin", 30.2672, -97.7431, "787"),
            c("Houston", 29.7604, -95.3698, "770"),
            c("Dallas", 32.7767, -96.7970, "752"),
            c("San Antonio", 29.4241, -98.4936, "782"),
            c("El Paso", 31.7619, -106.4850, "799"),
        ],
    },
    StateInfo {
        abbr: "NY",
        name: "New York",
        yelp_w: 0.05,
        google_w: 0.16,
        cities: &[
            c("New York", 40.7128, -74.0060, "100"),
            c("Brooklyn", 40.6782, -73.9442, "112"),
            c("Buffalo", 42.8864, -78.8784, "142"),
            c("Rochester", 43.1566, -77.6088, "146"),
            c("Albany", 42.6526, -73.7562, "122"),
        ],
    },
    StateInfo {
        abbr: "IL",
        name: "Illinois",
        yelp_w: 0.05,
        google_w: 0.10,
        cities: &[
            c("Chicago", 41.8781, -87.6298, "606"),
            c("Evanston", 42.0451, -87.6877, "602"),
            c("Naperville", 41.7508, -88.1535, "605"),
            c("Springfield", 39.7817, -89.6501, "627"),
            c("Edwardsville", 38.8114, -89.9532, "620"),
        ],
    },
    StateInfo {
        abbr: "AB",
        name: "Alberta",
        yelp_w: 0.03,
        google_w: 0.0,
        cities: &[
            c("Edmonton", 53.5461, -113.4938, "T5"),
            c("St. Albert", 53.6305, -113.6256, "T8"),
            c("Sherwood Park", 53.5412, -113.2957, "T8"),
        ],
    },
    StateInfo {
        abbr: "VT",
        name: "Vermont",
        yelp_w: 0.0,
        google_w: 0.03,
        cities: &[
            c("Burlington", 44.4759, -73.2121, "054"),
            c("Montpelier", 44.2601, -72.5754, "056"),
            c("Rutland", 43.6106, -72.9726, "057"),
        ],
    },
];

#[cfg(test)]
pub fn state_by_abbr(abbr: &str) -> Option<&'static StateInfo> {
    STATES.iter().find(|s| s.abbr == abbr)
}

pub struct Category {
    pub yelp: &'static str,
    pub google: &'static [&'static str],
    pub food: bool,
    pub weight: f64,
    /// Nouns for generated names ("Taqueria", "Cantina").
    pub nouns: &'static [&'static str],
    /// Well-known names (chains and classics), reused across cities.
    pub chains: &'static [&'static str],
    /// Things reviewers talk about.
    pub items: &'static [&'static str],
    /// What the reviewer calls the place.
    pub place: &'static str,
    pub descriptions: &'static [&'static str],
}

macro_rules! cat {
    ($yelp:expr, [$($g:expr),*], $food:expr, $w:expr, [$($n:expr),*], [$($ch:expr),*], [$($it:expr),*], $place:expr, [$($d:expr),*]) => {
        Category {
            yelp: $yelp,
            google: &[$($g),*],
            food: $food,
            weight: $w,
            nouns: &[$($n),*],
            chains: &[$($ch),*],
            items: &[$($it),*],
            place: $place,
            descriptions: &[$($d),*],
        }
    };
}

pub static CATEGORIES: &[Category] = &[
    cat!(
        "Mexican, Restaurants",
        ["Mexican restaurant", "Restaurant"],
        true,
        7.0,
        ["Taqueria", "Cantina", "Cocina", "Tacos", "Mexican Grill"],
        [
            "Taco Bell",
            "Chipotle Mexican Grill",
            "Taco Loco",
            "El Charro"
        ],
        [
            "tacos",
            "burrito",
            "carnitas",
            "salsa",
            "guacamole",
            "margaritas",
            "enchiladas",
            "chips"
        ],
        "place",
        [
            "Casual spot for tacos & margaritas.",
            "Family-run Mexican kitchen serving classic plates."
        ]
    ),
    cat!(
        "Pizza, Restaurants, Italian",
        ["Pizza restaurant", "Italian restaurant"],
        true,
        7.0,
        ["Pizza", "Pizzeria", "Pizza Co.", "Slice Shop"],
        ["Domino's Pizza", "Pizza Hut", "Papa John's Pizza"],
        [
            "pizza",
            "crust",
            "pepperoni slice",
            "garlic knots",
            "calzone",
            "wings"
        ],
        "pizzeria",
        [
            "Classic pies by the slice or whole, plus wings.",
            "Wood-fired pizza in a laid-back setting."
        ]
    ),
    cat!(
        "Italian, Restaurants",
        ["Italian restaurant", "Restaurant"],
        true,
        4.0,
        ["Trattoria", "Ristorante", "Osteria", "Italian Kitchen"],
        ["Olive Garden Italian Restaurant"],
        [
            "pasta",
            "lasagna",
            "tiramisu",
            "carbonara",
            "meatballs",
            "bread"
        ],
        "restaurant",
        ["Homestyle Italian fare & wine in a cozy space."]
    ),
    cat!(
        "Coffee & Tea, Cafes, Food",
        ["Coffee shop", "Cafe"],
        true,
        6.0,
        ["Coffee", "Cafe", "Coffee House", "Espresso Bar", "Roasters"],
        ["Starbucks", "Dunkin'", "Peet's Coffee"],
        [
            "latte",
            "coffee",
            "cold brew",
            "croissant",
            "espresso",
            "muffin"
        ],
        "cafe",
        [
            "Laid-back cafe with espresso drinks and pastries.",
            "Local roaster with pour-overs & snacks."
        ]
    ),
    cat!(
        "Bars, Nightlife",
        ["Bar", "Pub"],
        true,
        5.0,
        ["Tavern", "Pub", "Bar", "Taproom", "Lounge"],
        ["Buffalo Wild Wings"],
        [
            "beer selection",
            "cocktails",
            "happy hour",
            "wings",
            "bartender",
            "music"
        ],
        "bar",
        ["Lively watering hole with craft beer on tap."]
    ),
    cat!(
        "Bakeries, Food",
        ["Bakery"],
        true,
        4.0,
        ["Bakery", "Bake Shop", "Patisserie", "Donuts"],
        ["Panera Bread", "Krispy Kreme"],
        [
            "croissants",
            "cupcakes",
            "bread",
            "donuts",
            "cinnamon rolls",
            "cookies"
        ],
        "bakery",
        ["Neighborhood bakery for breads, pastries & cakes."]
    ),
    cat!(
        "Fast Food, Burgers, Restaurants",
        ["Fast food restaurant", "Hamburger restaurant"],
        true,
        7.0,
        ["Burgers", "Burger Joint", "Grill", "Drive-In"],
        [
            "McDonald's",
            "Burger King",
            "Wendy's",
            "Five Guys",
            "Chick-fil-A"
        ],
        [
            "burger",
            "fries",
            "milkshake",
            "chicken sandwich",
            "onion rings",
            "drive-thru"
        ],
        "place",
        ["Quick-serve chain for burgers & fries."]
    ),
    cat!(
        "Chinese, Restaurants",
        ["Chinese restaurant"],
        true,
        4.0,
        ["Garden", "Palace", "Wok", "Dumpling House", "Kitchen"],
        ["Panda Express", "P.F. Chang's"],
        [
            "dumplings",
            "fried rice",
            "General Tso's chicken",
            "lo mein",
            "hot and sour soup"
        ],
        "restaurant",
        ["Szechuan & Cantonese dishes in a simple setting."]
    ),
    cat!(
        "Sushi Bars, Japanese, Restaurants",
        ["Sushi restaurant", "Japanese restaurant"],
        true,
        3.5,
        ["Sushi", "Sushi Bar", "Ramen", "Izakaya"],
        [],
        ["sushi", "sashimi", "ramen", "rolls", "miso soup", "tempura"],
        "restaurant",
        ["Sleek spot for sushi rolls & sake."]
    ),
    cat!(
        "American (New), Restaurants, Breakfast & Brunch",
        ["American restaurant", "Breakfast restaurant"],
        true,
        5.0,
        ["Diner", "Kitchen", "Eatery", "Grill", "Brunch House"],
        ["Denny's", "IHOP", "Waffle House"],
        [
            "pancakes",
            "eggs benedict",
            "brunch",
            "coffee",
            "omelette",
            "biscuits"
        ],
        "restaurant",
        ["Comfort food & all-day breakfast."]
    ),
    cat!(
        "Thai, Restaurants",
        ["Thai restaurant"],
        true,
        2.5,
        ["Thai", "Thai Kitchen", "Thai Cuisine", "Noodle House"],
        [],
        [
            "pad thai",
            "green curry",
            "spring rolls",
            "tom yum",
            "drunken noodles"
        ],
        "restaurant",
        ["Thai staples with adjustable spice levels."]
    ),
    cat!(
        "Indian, Restaurants",
        ["Indian restaurant"],
        true,
        2.0,
        ["Tandoor", "Curry House", "Indian Cuisine", "Masala"],
        [],
        [
            "butter chicken",
            "naan",
            "samosas",
            "biryani",
            "tikka masala"
        ],
        "restaurant",
        ["North Indian curries & tandoori plates, plus a lunch buffet."]
    ),
    cat!(
        "Seafood, Restaurants",
        ["Seafood restaurant"],
        true,
        2.5,
        ["Seafood", "Oyster Bar", "Fish House", "Crab Shack"],
        ["Red Lobster"],
        [
            "oysters",
            "shrimp",
            "fish tacos",
            "crab cakes",
            "lobster roll",
            "clam chowder"
        ],
        "restaurant",
        ["Fresh catches & raw bar in a nautical setting."]
    ),
    cat!(
        "Barbeque, Restaurants, Southern",
        ["Barbecue restaurant"],
        true,
        2.5,
        ["BBQ", "Smokehouse", "Bar-B-Q", "Pit"],
        [],
        [
            "brisket",
            "ribs",
            "pulled pork",
            "mac and cheese",
            "cornbread"
        ],
        "place",
        ["Smoked meats & Southern sides."]
    ),
    cat!(
        "Ice Cream & Frozen Yogurt, Desserts, Food",
        ["Ice cream shop", "Dessert shop"],
        true,
        2.0,
        ["Creamery", "Ice Cream", "Scoops", "Frozen Yogurt"],
        ["Dairy Queen", "Baskin-Robbins"],
        [
            "ice cream",
            "waffle cone",
            "sundae",
            "frozen yogurt",
            "milkshake"
        ],
        "shop",
        ["Scoop shop with rotating flavors."]
    ),
    cat!(
        "Hair Salons, Beauty & Spas",
        ["Hair salon", "Beauty salon"],
        false,
        5.0,
        ["Salon", "Hair Studio", "Barber Shop", "Hair Design"],
        ["Great Clips", "Supercuts", "Sport Clips Haircuts"],
        [
            "haircut",
            "color",
            "stylist",
            "blowout",
            "highlights",
            "appointment"
        ],
        "salon",
        []
    ),
    cat!(
        "Auto Repair, Automotive",
        ["Auto repair shop", "Mechanic"],
        false,
        5.0,
        [
            "Auto Repair",
            "Automotive",
            "Auto Care",
            "Tire & Auto",
            "Garage"
        ],
        ["Jiffy Lube", "Midas", "Firestone Complete Auto Care"],
        [
            "oil change",
            "brakes",
            "estimate",
            "diagnostic",
            "tires",
            "mechanic"
        ],
        "shop",
        []
    ),
    cat!(
        "Dentists, General Dentistry, Health & Medical",
        ["Dentist", "Cosmetic dentist"],
        false,
        4.0,
        ["Dental", "Family Dentistry", "Dental Care", "Smiles"],
        ["Aspen Dental"],
        [
            "cleaning",
            "filling",
            "hygienist",
            "front desk",
            "crown",
            "appointment"
        ],
        "office",
        []
    ),
    cat!(
        "Gift Shops, Shopping, Flowers & Gifts",
        ["Gift shop"],
        false,
        3.5,
        ["Gifts", "Gift Shop", "Boutique", "Emporium"],
        [],
        [
            "selection",
            "cards",
            "candles",
            "gift wrap",
            "prices",
            "souvenirs"
        ],
        "shop",
        []
    ),
    cat!(
        "Nail Salons, Beauty & Spas",
        ["Nail salon"],
        false,
        4.0,
        ["Nails", "Nail Spa", "Nail Bar"],
        [],
        [
            "pedicure",
            "manicure",
            "gel nails",
            "nail tech",
            "appointment"
        ],
        "salon",
        []
    ),
    cat!(
        "Gyms, Fitness & Instruction, Active Life",
        ["Gym", "Fitness center"],
        false,
        3.0,
        ["Fitness", "Gym", "Athletic Club", "CrossFit"],
        ["Planet Fitness", "LA Fitness", "Anytime Fitness"],
        [
            "equipment",
            "classes",
            "trainers",
            "membership",
            "locker room"
        ],
        "gym",
        []
    ),
    cat!(
        "Hotels, Hotels & Travel, Event Planning & Services",
        ["Hotel"],
        false,
        3.0,
        ["Hotel", "Inn", "Suites", "Lodge"],
        [
            "Holiday Inn Express & Suites",
            "Hampton Inn",
            "Best Western"
        ],
        ["room", "front desk", "breakfast", "pool", "bed", "parking"],
        "hotel",
        []
    ),
    cat!(
        "Grocery, Food",
        ["Grocery store", "Supermarket"],
        false,
        4.0,
        ["Market", "Grocery", "Foods", "Supermarket"],
        ["Trader Joe's", "Whole Foods Market", "Kroger"],
        [
            "produce",
            "checkout",
            "deli",
            "prices",
            "selection",
            "bakery section"
        ],
        "store",
        []
    ),
    cat!(
        "Veterinarians, Pets",
        ["Veterinarian", "Animal hospital"],
        false,
        3.0,
        ["Animal Hospital", "Veterinary Clinic", "Pet Clinic"],
        ["Banfield Pet Hospital", "VCA Animal Hospital"],
        ["vet", "staff", "checkup", "vaccines", "front desk"],
        "clinic",
        []
    ),
    cat!(
        "Plumbing, Home Services",
        ["Plumber"],
        false,
        3.0,
        [
            "Plumbing",
            "Plumbing & Drain",
            "Rooter",
            "Plumbing Services"
        ],
        ["Roto-Rooter"],
        ["quote", "water heater", "technician", "repair", "price"],
        "company",
        []
    ),
    cat!(
        "Dry Cleaning & Laundry, Local Services",
        ["Dry cleaner"],
        false,
        3.0,
        ["Cleaners", "Dry Cleaning", "Laundry"],
        [],
        ["shirts", "alterations", "turnaround", "stains", "prices"],
        "shop",
        []
    ),
];

/// The food categories are exactly the first `N_FOOD` entries of `CATEGORIES`.
pub const N_FOOD: usize = 15;

pub static SURNAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Garcia",
    "Martinez",
    "Nguyen",
    "Rossi",
    "Kim",
    "Patel",
    "Brown",
    "Lee",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Moore",
    "Jackson",
    "Russo",
    "Chen",
    "Murphy",
    "Sullivan",
    "Rodriguez",
    "Hernandez",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Torres",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Peterson",
];

pub static FIRST_NAMES: &[&str] = &[
    "Walker",
    "Daniel",
    "Steph",
    "Gwen",
    "Karen",
    "Jason",
    "Kat",
    "Michelle",
    "John",
    "Jessica",
    "David",
    "Sarah",
    "Chris",
    "Jennifer",
    "Mike",
    "Ashley",
    "Brian",
    "Amanda",
    "Kevin",
    "Melissa",
    "James",
    "Emily",
    "Robert",
    "Nicole",
    "Matt",
    "Elizabeth",
    "Ryan",
    "Lauren",
    "Eric",
    "Rachel",
    "Andrew",
    "Stephanie",
    "Josh",
    "Megan",
    "Justin",
    "Lisa",
    "Tom",
    "Amy",
    "Anthony",
    "Laura",
    "Carlos",
    "Maria",
    "Wei",
    "Priya",
    "Ahmed",
    "Sofia",
    "Juan",
    "Mei",
    "Olga",
    "Tyler",
    "Kyle",
    "Heather",
    "Adam",
    "Christina",
    "Mark",
    "Samantha",
    "Paul",
    "Kelly",
    "Steve",
    "Vanessa",
];

pub static NAME_ADJ: &[&str] = &[
    "Golden",
    "Blue",
    "Happy",
    "Little",
    "Royal",
    "Urban",
    "Old Town",
    "Sunset",
    "Lucky",
    "Green",
    "Red",
    "Main Street",
    "Corner",
    "Family",
    "Southern",
    "Coastal",
    "Northside",
    "Rustic",
    "Modern",
    "Friendly",
];

pub static STREETS: &[&str] = &[
    "Main",
    "Oak",
    "Maple",
    "Washington",
    "Market",
    "Broad",
    "Chestnut",
    "Walnut",
    "Pine",
    "Elm",
    "State",
    "Lake",
    "Park",
    "Hill",
    "Church",
    "Spring",
    "Center",
    "High",
    "River",
    "Sunset",
    "Lincoln",
    "Jefferson",
    "Franklin",
    "Madison",
    "2nd",
    "3rd",
    "5th",
    "10th",
    "Highland",
    "Cedar",
];

pub static STREET_SUFFIX: &[&str] = &["St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Pike", "Hwy"];

/// Core (cheap) properties of a business / place.
#[derive(Clone, Copy, Debug)]
pub struct Biz {
    pub cat: usize,
    pub state: usize,
    pub city: usize,
    /// Latent quality, roughly the mean star rating it earns (1.5..4.9).
    pub quality: f64,
    /// For Google places: index of the Yelp business it is the same place as.
    pub twin: Option<u64>,
}

fn cat_weights() -> impl Iterator<Item = f64> + Clone {
    CATEGORIES.iter().map(|c| c.weight)
}

fn pick_weighted_iter(weights: impl Iterator<Item = f64> + Clone, u: f64) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = u * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if w > 0.0 {
            last = i;
            if x < w {
                return i;
            }
        }
        x -= w;
    }
    last
}

pub fn yelp_biz(seed: u64, i: u64) -> Biz {
    let x = h(seed, K_YB, i);
    let state = pick_weighted_iter(STATES.iter().map(|s| s.yelp_w), unit(x));
    let cat = pick_weighted_iter(cat_weights(), hu(seed, K_YB + 16, i));
    let city = (h(seed, K_YB + 17, i) % STATES[state].cities.len() as u64) as usize;
    let q = 3.7 + 0.75 * normal_from(hu(seed, K_YB + 18, i), hu(seed, K_YB + 19, i));
    Biz {
        cat,
        state,
        city,
        quality: q.clamp(1.5, 4.9),
        twin: None,
    }
}

/// A Google place; about 20% are the same physical business as a Yelp one
/// (in a state both datasets cover), which makes cross-source matching
/// possible.
pub fn google_place(seed: u64, i: u64, n_yelp: u64) -> Biz {
    if hu(seed, K_GP_TWIN, i) < 0.2 {
        let j = h(seed, K_GP_TWIN + 1, i) % n_yelp;
        let y = yelp_biz(seed, j);
        if STATES[y.state].google_w > 0.0 {
            let q = y.quality + 0.2 * (hu(seed, K_GP_TWIN + 2, i) - 0.5);
            return Biz {
                quality: q.clamp(1.5, 4.9),
                twin: Some(j),
                ..y
            };
        }
    }
    let x = h(seed, K_GP, i);
    let state = pick_weighted_iter(STATES.iter().map(|s| s.google_w), unit(x));
    let cat = pick_weighted_iter(cat_weights(), hu(seed, K_GP + 16, i));
    let city = (h(seed, K_GP + 17, i) % STATES[state].cities.len() as u64) as usize;
    let q = 3.9 + 0.6 * normal_from(hu(seed, K_GP + 18, i), hu(seed, K_GP + 19, i));
    Biz {
        cat,
        state,
        city,
        quality: q.clamp(1.5, 4.9),
        twin: None,
    }
}

/// Name, street address, postal code and coordinates of a business.
pub struct Identity {
    pub name: String,
    pub street: String,
    pub postal: String,
    pub lat: f64,
    pub lon: f64,
}

pub fn identity(seed: u64, kind: u64, i: u64, b: &Biz) -> Identity {
    let mut rng = rng_for(seed, kind, i);
    let cat = &CATEGORIES[b.cat];
    let st = &STATES[b.state];
    let city = &st.cities[b.city];
    let noun = cat.nouns[rng.random_range(0..cat.nouns.len())];
    let form: f64 = rng.random();
    let name = if form < 0.12 && !cat.chains.is_empty() {
        cat.chains[rng.random_range(0..cat.chains.len())].to_string()
    } else if form < 0.40 {
        format!(
            "{}'s {}",
            SURNAMES[rng.random_range(0..SURNAMES.len())],
            noun
        )
    } else if form < 0.65 {
        format!("{} {}", NAME_ADJ[rng.random_range(0..NAME_ADJ.len())], noun)
    } else if form < 0.80 {
        format!(
            "The {} {}",
            NAME_ADJ[rng.random_range(0..NAME_ADJ.len())],
            noun
        )
    } else if form < 0.92 {
        format!("{} {}", city.name, noun)
    } else {
        format!(
            "{} & {} {}",
            FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
            FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
            noun
        )
    };
    let num = if rng.random_bool(0.5) {
        rng.random_range(1..2000)
    } else {
        rng.random_range(100..12000)
    };
    let mut street = format!(
        "{} {} {}",
        num,
        STREETS[rng.random_range(0..STREETS.len())],
        STREET_SUFFIX[rng.random_range(0..STREET_SUFFIX.len())]
    );
    if rng.random_bool(0.12) {
        street.push_str(&format!(", Ste {}", rng.random_range(1..40) * 10));
    }
    let postal = if st.abbr == "AB" {
        const L: &[u8] = b"ABCEGHJKLMNPRSTVXY";
        format!(
            "{}{} {}{}{}",
            city.zip,
            L[rng.random_range(0..L.len())] as char,
            rng.random_range(0..10),
            L[rng.random_range(0..L.len())] as char,
            rng.random_range(0..10)
        )
    } else {
        format!("{}{:02}", city.zip, rng.random_range(1..99))
    };
    let lat = city.lat + (rng.random::<f64>() - 0.5) * 0.24;
    let lon = city.lon + (rng.random::<f64>() - 0.5) * 0.30;
    Identity {
        name,
        street,
        postal,
        lat,
        lon,
    }
}

/// Core properties of a reviewer.
#[derive(Clone, Copy, Debug)]
pub struct User {
    /// Additive rating bias (harsh users negative, generous positive).
    pub bias: f64,
    /// Favourite categories (indices into `CATEGORIES`, food ones).
    pub fav: [usize; 2],
    /// Account creation (epoch seconds).
    pub since: i64,
    /// How strongly the user prefers their favourites when choosing a place.
    pub loyalty: f64,
}

pub fn user(seed: u64, kind: u64, i: u64) -> User {
    let bias = 0.55 * normal_from(hu(seed, kind + 1, i), hu(seed, kind + 2, i));
    let f1 = (h(seed, kind + 3, i) % N_FOOD as u64) as usize;
    let f2 = (h(seed, kind + 4, i) % N_FOOD as u64) as usize;
    // Accounts opened 2005..mid 2020, roughly uniformly.
    let since = growth_time(hu(seed, kind + 5, i), T2005, T2020_06, 0.05);
    User {
        bias,
        fav: [f1, f2],
        since,
        loyalty: 0.2 + 0.6 * hu(seed, kind + 6, i),
    }
}
