//! Artifacts: named byte objects in the `models` and `reports` zones (trained models,
//! rendered reports), beside the Delta tables of those zones.

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use crate::{Lake, LakeError, Result, Zone, store_err};

/// Checks an artifact name: `/`-separated segments of ASCII letters, digits, `.`, `_`
/// and `-`; no empty, `.` or `..` segment, no `_delta_log`.
fn check_artifact_name(name: &str) -> Result<()> {
    let bad = |reason: &str| LakeError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 512 {
        return Err(bad("an artifact name has 1 to 512 characters"));
    }
    for seg in name.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(bad("empty, '.' and '..' segments are not allowed"));
        }
        if seg == "_delta_log" {
            return Err(bad("'_delta_log' belongs to Delta tables"));
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        {
            return Err(bad(
                "segments hold only ASCII letters, digits, '.', '_' and '-'",
            ));
        }
    }
    Ok(())
}

fn check_zone(zone: Zone) -> Result<()> {
    match zone {
        Zone::Models | Zone::Reports => Ok(()),
        other => Err(LakeError::InvalidName {
            name: other.to_string(),
            reason: "artifacts live in the models and reports zones".into(),
        }),
    }
}

impl Lake {
    fn artifact_path(&self, zone: Zone, name: &str) -> Result<Path> {
        check_zone(zone)?;
        check_artifact_name(name)?;
        let (_, prefix) = self.root_store_and_prefix()?;
        Ok(Path::from(format!("{prefix}{}/{name}", zone.as_str())))
    }

    /// Stores `bytes` as artifact `name` (e.g. `als/3/model.json`) in `zone` (models or
    /// reports), replacing an earlier one of that name. The object appears whole or not
    /// at all.
    pub async fn put_artifact(&self, zone: Zone, name: &str, bytes: Bytes) -> Result<()> {
        let path = self.artifact_path(zone, name)?;
        let (store, _) = self.root_store_and_prefix()?;
        store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| store_err(&path, e))?;
        Ok(())
    }

    /// Reads artifact `name` of `zone`; `None` if there is none.
    pub async fn get_artifact(&self, zone: Zone, name: &str) -> Result<Option<Bytes>> {
        let path = self.artifact_path(zone, name)?;
        let (store, _) = self.root_store_and_prefix()?;
        match store.get(&path).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| store_err(&path, e))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(&path, e)),
        }
    }

    /// Names of the artifacts of `zone` under `prefix` (a name prefix of whole segments,
    /// e.g. `als`; empty for all), sorted. Delta table files are not artifacts.
    pub async fn list_artifacts(&self, zone: Zone, prefix: &str) -> Result<Vec<String>> {
        check_zone(zone)?;
        if !prefix.is_empty() {
            check_artifact_name(prefix)?;
        }
        let (store, root) = self.root_store_and_prefix()?;
        let zone_dir = format!("{root}{}", zone.as_str());
        let dir = if prefix.is_empty() {
            Path::from(zone_dir.clone())
        } else {
            Path::from(format!("{zone_dir}/{prefix}"))
        };
        let tables = self.list_tables(zone).await?;
        let mut out: Vec<String> = store
            .list(Some(&dir))
            .map_ok(|m| m.location.to_string())
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| store_err(&dir, e))?
            .into_iter()
            .filter_map(|p| p.strip_prefix(&format!("{zone_dir}/")).map(str::to_string))
            .filter(|rel| {
                let first = rel.split('/').next().unwrap_or("");
                !tables.iter().any(|t| t == first)
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_zone() {
        for bad in [
            "",
            "../x",
            "a/../b",
            "/abs",
            "a//b",
            "a/./b",
            "x/_delta_log/1.json",
            "a b",
        ] {
            assert!(check_artifact_name(bad).is_err(), "{bad:?}");
        }
        for good in ["als/3/model.json", "report.html", "a-b_c.d"] {
            assert!(check_artifact_name(good).is_ok(), "{good:?}");
        }
    }

    #[tokio::test]
    async fn artifacts_round_trip_and_stay_in_their_zones() {
        let lake = Lake::open("memory://").unwrap();
        lake.put_artifact(Zone::Models, "als/1/model.json", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(
            lake.get_artifact(Zone::Models, "als/1/model.json")
                .await
                .unwrap(),
            Some(Bytes::from_static(b"{}"))
        );
        assert_eq!(
            lake.get_artifact(Zone::Models, "als/2/model.json")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            lake.list_artifacts(Zone::Models, "als").await.unwrap(),
            vec!["als/1/model.json".to_string()]
        );
        assert!(
            lake.put_artifact(Zone::Raw, "x", Bytes::new())
                .await
                .is_err()
        );
        assert!(
            lake.put_artifact(Zone::Models, "../raw/x", Bytes::new())
                .await
                .is_err()
        );
    }
}
