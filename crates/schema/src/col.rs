//! Column names of every table the project writes, in one place: raw source fields as
//! published, the warehouse, the features and the lake's own tables. Code reads
//! columns through these constants (with a checked, typed accessor), never by
//! position and never by a string spelled again. The catalog's columns are in
//! [`crate::catalog::col`], the lineage columns in [`crate::lineage`].

/// Column `active_days`.
pub const ACTIVE_DAYS: &str = "active_days";
/// Column `address`.
pub const ADDRESS: &str = "address";
/// Column `age_days`.
pub const AGE_DAYS: &str = "age_days";
/// Column `alcohol`.
pub const ALCOHOL: &str = "alcohol";
/// Column `attributes`.
pub const ATTRIBUTES: &str = "attributes";
/// Column `attributes_json`.
pub const ATTRIBUTES_JSON: &str = "attributes_json";
/// Column `average_stars`.
pub const AVERAGE_STARS: &str = "average_stars";
/// Column `avg_rating`.
pub const AVG_RATING: &str = "avg_rating";
/// Column `blank`.
pub const BLANK: &str = "blank";
/// Column `businesses`.
pub const BUSINESSES: &str = "businesses";
/// Column `business_id`.
pub const BUSINESS_ID: &str = "business_id";
/// Column `business_key`.
pub const BUSINESS_KEY: &str = "business_key";
/// Column `byte_offset`.
pub const BYTE_OFFSET: &str = "byte_offset";
/// Column `categories`.
pub const CATEGORIES: &str = "categories";
/// Column `category`.
pub const CATEGORY: &str = "category";
/// Column `category_key`.
pub const CATEGORY_KEY: &str = "category_key";
/// Column `checkins`.
pub const CHECKINS: &str = "checkins";
/// Column `checkin_ts`.
pub const CHECKIN_TS: &str = "checkin_ts";
/// Column `city`.
pub const CITY: &str = "city";
/// Column `close_minute`.
pub const CLOSE_MINUTE: &str = "close_minute";
/// Column `compliments`.
pub const COMPLIMENTS: &str = "compliments";
/// Column `compliment_count`.
pub const COMPLIMENT_COUNT: &str = "compliment_count";
/// Column `compound`.
pub const COMPOUND: &str = "compound";
/// Column `content_hash`.
pub const CONTENT_HASH: &str = "content_hash";
/// Column `cool`.
pub const COOL: &str = "cool";
/// Column `coordinates_flagged`.
pub const COORDINATES_FLAGGED: &str = "coordinates_flagged";
/// Column `country`.
pub const COUNTRY: &str = "country";
/// Column `dataset`.
pub const DATASET: &str = "dataset";
/// Column `date`.
pub const DATE: &str = "date";
/// Column `date_key`.
pub const DATE_KEY: &str = "date_key";
/// Column `day`.
pub const DAY: &str = "day";
/// Column `delivery`.
pub const DELIVERY: &str = "delivery";
/// Column `description`.
pub const DESCRIPTION: &str = "description";
/// Column `detail`.
pub const DETAIL: &str = "detail";
/// Column `dine_in`.
pub const DINE_IN: &str = "dine_in";
/// Column `elite`.
pub const ELITE: &str = "elite";
/// Column `elite_years`.
pub const ELITE_YEARS: &str = "elite_years";
/// Column `error`.
pub const ERROR: &str = "error";
/// Column `fans`.
pub const FANS: &str = "fans";
/// Column `first_review`.
pub const FIRST_REVIEW: &str = "first_review";
/// Column `first_visit`: the time of a reviewer's first review of the business.
pub const FIRST_VISIT: &str = "first_visit";
/// Column `food_related`.
pub const FOOD_RELATED: &str = "food_related";
/// Column `friends`.
pub const FRIENDS: &str = "friends";
/// Column `friend_count`.
pub const FRIEND_COUNT: &str = "friend_count";
/// Column `funny`.
pub const FUNNY: &str = "funny";
/// Column `gdp_millions_usd`.
pub const GDP_MILLIONS_USD: &str = "gdp_millions_usd";
/// Column `gmap_id`.
pub const GMAP_ID: &str = "gmap_id";
/// Column `good_for_kids`.
pub const GOOD_FOR_KIDS: &str = "good_for_kids";
/// Column `grain`.
pub const GRAIN: &str = "grain";
/// Column `has_response`.
pub const HAS_RESPONSE: &str = "has_response";
/// Column `hour`.
pub const HOUR: &str = "hour";
/// Column `hours`.
pub const HOURS: &str = "hours";
/// Column `hours_unparsed`.
pub const HOURS_UNPARSED: &str = "hours_unparsed";
/// Column `ingested_at_ms`.
pub const INGESTED_AT_MS: &str = "ingested_at_ms";
/// Column `is_inferred`.
pub const IS_INFERRED: &str = "is_inferred";
/// Column `in_scope`.
pub const IN_SCOPE: &str = "in_scope";
/// Column `is_open`.
pub const IS_OPEN: &str = "is_open";
/// Column `is_restaurant`.
pub const IS_RESTAURANT: &str = "is_restaurant";
/// Column `is_weekend`.
pub const IS_WEEKEND: &str = "is_weekend";
/// Column `kind`.
pub const KIND: &str = "kind";
/// Column `kpi`.
pub const KPI: &str = "kpi";
/// Column `last_review`.
pub const LAST_REVIEW: &str = "last_review";
/// Column `latitude`.
pub const LATITUDE: &str = "latitude";
/// Column `location_key`.
pub const LOCATION_KEY: &str = "location_key";
/// Column `longitude`.
pub const LONGITUDE: &str = "longitude";
/// Column `mean_rating`.
pub const MEAN_RATING: &str = "mean_rating";
/// Column `mean_sentiment`.
pub const MEAN_SENTIMENT: &str = "mean_sentiment";
/// Column `mean_stars`.
pub const MEAN_STARS: &str = "mean_stars";
/// Column `member_since`.
pub const MEMBER_SINCE: &str = "member_since";
/// Column `MISC`.
pub const MISC: &str = "MISC";
/// Column `month`.
pub const MONTH: &str = "month";
/// Column `name`.
pub const NAME: &str = "name";
/// Column `neg`.
pub const NEG: &str = "neg";
/// Column `neu`.
pub const NEU: &str = "neu";
/// Column `new_reviewers`.
pub const NEW_REVIEWERS: &str = "new_reviewers";
/// Column `noise_level`.
pub const NOISE_LEVEL: &str = "noise_level";
/// Column `num_of_reviews`.
pub const NUM_OF_REVIEWS: &str = "num_of_reviews";
/// Column `open_minute`.
pub const OPEN_MINUTE: &str = "open_minute";
/// Column `outcome`.
pub const OUTCOME: &str = "outcome";
/// Column `outdoor_seating`.
pub const OUTDOOR_SEATING: &str = "outdoor_seating";
/// Column `path`.
pub const PATH: &str = "path";
/// Column `peak_checkin_hour`.
pub const PEAK_CHECKIN_HOUR: &str = "peak_checkin_hour";
/// Column `period_start`.
pub const PERIOD_START: &str = "period_start";
/// Column `partial`.
pub const PARTIAL: &str = "partial";
/// Column `pics`.
pub const PICS: &str = "pics";
/// Column `pic_count`.
pub const PIC_COUNT: &str = "pic_count";
/// Column `pos`.
pub const POS: &str = "pos";
/// Column `postal_code`.
pub const POSTAL_CODE: &str = "postal_code";
/// Column `previous_value`.
pub const PREVIOUS_VALUE: &str = "previous_value";
/// Column `price`.
pub const PRICE: &str = "price";
/// Column `price_level`.
pub const PRICE_LEVEL: &str = "price_level";
/// Column `quarantined`.
pub const QUARANTINED: &str = "quarantined";
/// Column `quarter`.
pub const QUARTER: &str = "quarter";
/// Column `rank`.
pub const RANK: &str = "rank";
/// Column `rating`.
pub const RATING: &str = "rating";
/// Column `rating_bias`.
pub const RATING_BIAS: &str = "rating_bias";
/// Column `raw_bytes`.
pub const RAW_BYTES: &str = "raw_bytes";
/// Column `raw_text`.
pub const RAW_TEXT: &str = "raw_text";
/// Column `read`.
pub const READ: &str = "read";
/// Column `reason`.
pub const REASON: &str = "reason";
/// Column `record`.
pub const RECORD: &str = "record";
/// Column `relative_results`.
pub const RELATIVE_RESULTS: &str = "relative_results";
/// Column `repeat_customer_share`.
pub const REPEAT_CUSTOMER_SHARE: &str = "repeat_customer_share";
/// Column `reservations`.
pub const RESERVATIONS: &str = "reservations";
/// Column `resp`.
pub const RESP: &str = "resp";
/// Column `response_hours`.
pub const RESPONSE_HOURS: &str = "response_hours";
/// Column `response_rate`.
pub const RESPONSE_RATE: &str = "response_rate";
/// Column `response_text`.
pub const RESPONSE_TEXT: &str = "response_text";
/// Column `response_ts`.
pub const RESPONSE_TS: &str = "response_ts";
/// Column `returning_reviewers`.
pub const RETURNING_REVIEWERS: &str = "returning_reviewers";
/// Column `reviews`.
pub const REVIEWS: &str = "reviews";
/// Column `reviews_per_month`.
pub const REVIEWS_PER_MONTH: &str = "reviews_per_month";
/// Column `low_support` (kpi: value stands on fewer reviews than the minimum).
pub const LOW_SUPPORT: &str = "low_support";
/// Column `previous_support` (kpi).
pub const PREVIOUS_SUPPORT: &str = "previous_support";
/// Column `rescued` (ingest log: rows with rescued fields).
pub const RESCUED: &str = "rescued";
/// Column `review_count`.
pub const REVIEW_COUNT: &str = "review_count";
/// Column `review_id`.
pub const REVIEW_ID: &str = "review_id";
/// Column `review_key`.
pub const REVIEW_KEY: &str = "review_key";
/// Column `review_ts`.
pub const REVIEW_TS: &str = "review_ts";
/// Column `rows`.
pub const ROWS: &str = "rows";
/// Column `sentiment_trend_12m`.
pub const SENTIMENT_TREND_12M: &str = "sentiment_trend_12m";
/// Column `size`.
pub const SIZE: &str = "size";
/// Column `support` (kpi: reviews behind the value).
pub const SUPPORT: &str = "support";
/// Column `source`.
pub const SOURCE: &str = "source";
/// Column `source_categories`.
pub const SOURCE_CATEGORIES: &str = "source_categories";
/// Column `source_id`.
pub const SOURCE_ID: &str = "source_id";
/// Column `source_review_id`.
pub const SOURCE_REVIEW_ID: &str = "source_review_id";
/// Column `source_table`.
pub const SOURCE_TABLE: &str = "source_table";
/// Column `stars`.
pub const STARS: &str = "stars";
/// Column `stars_trend_12m`.
pub const STARS_TREND_12M: &str = "stars_trend_12m";
/// Column `state`.
pub const STATE: &str = "state";
/// Column `state_name`.
pub const STATE_NAME: &str = "state_name";
/// Column `takeout`.
pub const TAKEOUT: &str = "takeout";
/// Column `target_met`.
pub const TARGET_MET: &str = "target_met";
/// Column `text`.
pub const TEXT: &str = "text";
/// Column `time`.
pub const TIME: &str = "time";
/// Column `tip_key`.
pub const TIP_KEY: &str = "tip_key";
/// Column `tip_sentiment`.
pub const TIP_SENTIMENT: &str = "tip_sentiment";
/// Column `tip_ts`.
pub const TIP_TS: &str = "tip_ts";
/// Column `url`.
pub const URL: &str = "url";
/// Column `useful`.
pub const USEFUL: &str = "useful";
/// Column `user_id`.
pub const USER_ID: &str = "user_id";
/// Column `user_key`.
pub const USER_KEY: &str = "user_key";
/// Column `value`.
pub const VALUE: &str = "value";
/// Column `visits`: how many times a reviewer reviewed the business.
pub const VISITS: &str = "visits";
/// Column `volume_trend_12m`.
pub const VOLUME_TREND_12M: &str = "volume_trend_12m";
/// Column `votes`.
pub const VOTES: &str = "votes";
/// Column `votes_flagged`.
pub const VOTES_FLAGGED: &str = "votes_flagged";
/// Column `weekday`.
pub const WEEKDAY: &str = "weekday";
/// Column `wifi`.
pub const WIFI: &str = "wifi";
/// Column `word_count`.
pub const WORD_COUNT: &str = "word_count";
/// Column `written`.
pub const WRITTEN: &str = "written";
/// Column `year`.
pub const YEAR: &str = "year";
/// Column `yelping_since`.
pub const YELPING_SINCE: &str = "yelping_since";
