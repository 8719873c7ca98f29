//! Dataset recognition from file names and folder layout. (Source roots — local folders
//! and object stores — are the lake's: [`reviewlake_lake::source`].)

use reviewlake_schema::RawDataset;

/// Recognises the dataset of a source file from its path relative to the source root
/// (forward slashes). `None` for files that are not part of a known dataset.
///
/// ```
/// use reviewlake_ingest::{detect_dataset, RawDataset};
/// assert_eq!(detect_dataset("yelp/yelp_academic_dataset_review.json"), Some(RawDataset::YelpReview));
/// assert_eq!(detect_dataset("google/metadata-sitios/3.json"), Some(RawDataset::GoogleMetadata));
/// assert_eq!(detect_dataset("google-meta/meta-Vermont.json.gz"), Some(RawDataset::GoogleMetadata));
/// assert_eq!(detect_dataset("google/reviews-estados/review-Texas/1.json"), Some(RawDataset::GoogleReview));
/// assert_eq!(detect_dataset("SOURCES.md"), None);
/// ```
pub fn detect_dataset(rel_path: &str) -> Option<RawDataset> {
    let lower = rel_path.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    let is_json = [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|e| stem.ends_with(e));
    if !is_json {
        return None;
    }
    let mut parts: Vec<&str> = stem.split('/').collect();
    let file = parts.pop().unwrap_or("");
    if let Some(rest) = file.strip_prefix("yelp_academic_dataset_") {
        let name = rest.split('.').next().unwrap_or("");
        return match name {
            "business" => Some(RawDataset::YelpBusiness),
            "review" => Some(RawDataset::YelpReview),
            "user" => Some(RawDataset::YelpUser),
            "checkin" => Some(RawDataset::YelpCheckin),
            "tip" => Some(RawDataset::YelpTip),
            _ => None,
        };
    }
    let named = |s: &str, prefix: &str| {
        s.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix(['-', '_']))
            .is_some_and(|r| !r.is_empty())
    };
    if parts.contains(&"metadata-sitios") || named(file, "meta") {
        return Some(RawDataset::GoogleMetadata);
    }
    if parts.contains(&"reviews-estados")
        || parts.iter().any(|p| named(p, "review"))
        || named(file, "review")
    {
        return Some(RawDataset::GoogleReview);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_every_published_layout() {
        use RawDataset::*;
        let cases = [
            (
                "yelp/yelp_academic_dataset_business.json",
                Some(YelpBusiness),
            ),
            ("yelp_academic_dataset_user.json.gz", Some(YelpUser)),
            ("x/yelp_academic_dataset_checkin.json", Some(YelpCheckin)),
            ("yelp_academic_dataset_tip.jsonl", Some(YelpTip)),
            ("google/metadata-sitios/11.json", Some(GoogleMetadata)),
            (
                "google/reviews-estados/review-New_York/2.json",
                Some(GoogleReview),
            ),
            ("review-Vermont.json.gz", Some(GoogleReview)),
            ("anywhere/meta_South_Dakota.json.gz", Some(GoogleMetadata)),
            ("deep/down/meta-New_York.json", Some(GoogleMetadata)),
            ("x/review_South_Dakota.json.gz", Some(GoogleReview)),
            ("reviews/review_Texas/3.json", Some(GoogleReview)),
            (
                "google/reviews-estados/review-Texas/1.json.gz",
                Some(GoogleReview),
            ),
            ("metadata.json", None),
            ("reviews.json", None),
            ("manifest.json", None),
            ("google/metadata-sitios/readme.txt", None),
            ("yelp_academic_dataset_photo.json", None),
        ];
        for (p, want) in cases {
            assert_eq!(detect_dataset(p), want, "{p}");
        }
    }
}
