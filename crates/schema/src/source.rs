//! The domain words every crate shares: the review [`Source`] (platform) a row comes
//! from, and the [`Reason`] a raw row was dropped, quarantined or altered by cleaning.

use std::fmt;
use std::str::FromStr;

/// The platform a row comes from, as stored in every `source` column (`yelp`,
/// `google`).
///
/// ```
/// use reviewlake_schema::Source;
/// assert_eq!(Source::parse(" Google "), Some(Source::Google));
/// assert_eq!("yelp".parse::<Source>().unwrap().as_str(), "yelp");
/// assert!(Source::parse("tripadvisor").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Source {
    /// Yelp Open Dataset (Yelp ids; `categories` a comma-joined string).
    Yelp,
    /// Google Local reviews, UCSD (`gmap_id` for places, numeric user ids; `category` a
    /// list of strings).
    Google,
}

impl Source {
    /// Both platforms, Yelp first.
    pub const ALL: [Source; 2] = [Source::Yelp, Source::Google];

    /// `"yelp"` or `"google"`, as stored in the `source` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Yelp => "yelp",
            Source::Google => "google",
        }
    }

    /// Parses `"yelp"` or `"google"` (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Source> {
        let s = s.trim();
        Source::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Source`] or [`Reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown name {:?}", self.0)
    }
}

impl std::error::Error for UnknownName {}

impl FromStr for Source {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::parse(s).ok_or_else(|| UnknownName(s.to_string()))
    }
}

/// What cleaning did with a raw row (or a value of it): the `outcome` of a
/// `build_report` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Not carried into the warehouse, for a reason that is not an error of the row
    /// (a duplicate, out of scope).
    Dropped,
    /// Refused as invalid and written to `warehouse_quarantine`.
    Quarantined,
    /// Carried with a value nulled or fixed.
    Altered,
}

impl Outcome {
    /// `dropped`, `quarantined` or `altered`, as in `build_report.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Dropped => "dropped",
            Outcome::Quarantined => "quarantined",
            Outcome::Altered => "altered",
        }
    }
}

macro_rules! reasons {
    ($($(#[$doc:meta])* $v:ident = $s:literal => $o:ident,)*) => {
        /// Why a raw row was dropped or quarantined, or a carried value altered, by the
        /// warehouse build: the `reason` of `build_report` and `warehouse_quarantine`
        /// rows. Every reason has one [`Outcome`].
        ///
        /// ```
        /// use reviewlake_schema::{Outcome, Reason};
        /// assert_eq!(Reason::DuplicateLine.as_str(), "duplicate_line");
        /// assert_eq!(Reason::parse("bad_timestamp"), Some(Reason::BadTimestamp));
        /// assert_eq!(Reason::BadTimestamp.outcome(), Outcome::Quarantined);
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Reason {
            $($(#[$doc])* $v,)*
        }

        impl Reason {
            /// Every reason.
            pub const ALL: &'static [Reason] = &[$(Reason::$v,)*];

            /// The reason's name as stored in the lake (`duplicate_line`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$v => $s,)*
                }
            }

            /// What happens to a row (or value) for this reason.
            pub fn outcome(self) -> Outcome {
                match self {
                    $(Reason::$v => Outcome::$o,)*
                }
            }
        }
    };
}

reasons! {
    /// An identical copy of a row elected before it (smallest file, then line).
    DuplicateLine = "duplicate_line" => Dropped,
    /// A different record under a Yelp `business_id` already elected.
    DuplicateBusinessId = "duplicate_business_id" => Dropped,
    /// A different record under a Google `gmap_id` already elected.
    DuplicateGmapId = "duplicate_gmap_id" => Dropped,
    /// A different record under a Yelp `review_id` already elected.
    DuplicateReviewId = "duplicate_review_id" => Dropped,
    /// A different Google review of the same user, place and time.
    DuplicateReview = "duplicate_review" => Dropped,
    /// A different record under a Yelp `user_id` already elected.
    DuplicateUserId = "duplicate_user_id" => Dropped,
    /// A business whose state is outside the state scope.
    OutOfScopeState = "out_of_scope_state" => Dropped,
    /// A business with no state while a state scope is set.
    NoState = "no_state" => Dropped,
    /// A business with no shared category in the category scope.
    OutOfScopeCategory = "out_of_scope_category" => Dropped,
    /// A fact whose business is in no business table.
    UnknownBusiness = "unknown_business" => Dropped,
    /// A fact whose business was dropped (out of scope).
    BusinessOutOfScope = "business_out_of_scope" => Dropped,
    /// A user with no review or tip in scope.
    NoActivityInScope = "no_activity_in_scope" => Dropped,
    /// A Yelp `business_id` that is not 22 URL-safe base64 characters.
    MalformedBusinessId = "malformed_business_id" => Quarantined,
    /// A Google `gmap_id` that is not `0x…:0x…`.
    MalformedGmapId = "malformed_gmap_id" => Quarantined,
    /// A Yelp `review_id` that is not 22 URL-safe base64 characters.
    MalformedReviewId = "malformed_review_id" => Quarantined,
    /// A user id of the wrong shape for its platform.
    MalformedUserId = "malformed_user_id" => Quarantined,
    /// A timestamp that does not parse.
    BadTimestamp = "bad_timestamp" => Quarantined,
    /// Review stars (Yelp `stars`, Google `rating`) outside 1..=5.
    StarsOutOfRange = "stars_out_of_range" => Quarantined,
    /// A business's rating outside 1..=5, 0 meaning "no rating yet" (nulled).
    RatingOutOfRange = "rating_out_of_range" => Altered,
    /// A user's `average_stars` outside 0..=5 (nulled).
    AverageStarsOutOfRange = "average_stars_out_of_range" => Altered,
    /// An elite-years token that is not a year (skipped).
    BadEliteToken = "bad_elite_token" => Altered,
    /// Latitude without longitude or the other way round (both nulled).
    CoordinatesIncomplete = "coordinates_incomplete" => Altered,
    /// Coordinates outside the United States (nulled).
    CoordinatesOutsideUs = "coordinates_outside_us" => Altered,
    /// A negative compliment count (nulled).
    NegativeComplimentCount = "negative_compliment_count" => Altered,
    /// A negative like count (nulled).
    NegativeLikes = "negative_likes" => Altered,
    /// A negative review count (nulled).
    NegativeReviewCount = "negative_review_count" => Altered,
    /// A negative vote count (nulled).
    NegativeVotes = "negative_votes" => Altered,
    /// The state taken from the Google file name (the record had none).
    StateFromFileName = "state_from_file_name" => Altered,
    /// The state taken from the Google review folder (`review-<State>/`).
    StateFromReviewFolder = "state_from_review_folder" => Altered,
    /// An attribute value that does not parse (left out).
    UnparseableAttribute = "unparseable_attribute" => Altered,
    /// A check-in histogram cell that does not parse (left out).
    UnparseableCheckinHistogram = "unparseable_checkin_histogram" => Altered,
    /// A check-in timestamp that does not parse (left out).
    UnparseableCheckinTimestamps = "unparseable_checkin_timestamps" => Altered,
    /// Opening hours that do not parse (nulled).
    UnparseableHours = "unparseable_hours" => Altered,
    /// A `yelping_since` that does not parse (nulled).
    UnparseableYelpingSince = "unparseable_yelping_since" => Altered,
}

impl Reason {
    /// The reason called `name`.
    pub fn parse(name: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for s in Source::ALL {
            assert_eq!(Source::parse(&s.to_string().to_uppercase()), Some(s));
        }
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.as_str()), "{r:?} twice");
            assert_eq!(Reason::parse(r.as_str()), Some(*r));
            assert!(
                r.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{r}"
            );
        }
    }
}
