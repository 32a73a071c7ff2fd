//! A local cache of the last good S3 prefix list per region, for runs where the EC2 API is
//! denied or unreachable (a private subnet with only the S3 gateway endpoint often cannot
//! reach it). Stored as JSON under the state directory; failures to read or write it are
//! silent (the cache is an optimisation of evidence, never a requirement).

use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Where cached prefix lists live: the state directory (`Config::state_dir`).
#[derive(Debug, Clone)]
pub struct Cache {
    dir: Option<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    id: String,
    name: String,
    cidrs: Vec<String>,
    fetched_at_unix: u64,
}

/// A cached list and its age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub id: String,
    pub cidrs: Vec<String>,
    pub age_seconds: u64,
}

impl Cache {
    /// The cache in the state directory `dir` (none: nothing is cached).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    fn path(&self, region: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("prefix-list-{region}.json")))
    }

    /// Remember a good list (atomically: temp file + rename).
    pub fn store(&self, region: &str, id: &str, name: &str, cidrs: &[String], now: SystemTime) {
        let Some(path) = self.path(region) else {
            return;
        };
        let entry = Entry {
            id: id.to_string(),
            name: name.to_string(),
            cidrs: cidrs.to_vec(),
            fetched_at_unix: now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let Ok(json) = serde_json::to_vec_pretty(&entry) else {
            return;
        };
        if let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            let tmp = path.with_extension("json.tmp");
            if std::fs::write(&tmp, json).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    }

    /// The last good list for `region`, with its age.
    pub fn load(&self, region: &str) -> Option<Cached> {
        let bytes = std::fs::read(self.path(region)?).ok()?;
        let e: Entry = serde_json::from_slice(&bytes).ok()?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Some(Cached {
            id: e.id,
            cidrs: e.cidrs,
            age_seconds: now.saturating_sub(e.fetched_at_unix),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_load_round_trips_with_age() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: Some(dir.path().join("state")),
        };
        assert!(cache.load("us-east-1").is_none());
        let then = SystemTime::now() - std::time::Duration::from_secs(120);
        cache.store(
            "us-east-1",
            "pl-63a5400a",
            "com.amazonaws.us-east-1.s3",
            &["52.216.0.0/15".into()],
            then,
        );
        let c = cache.load("us-east-1").unwrap();
        assert_eq!(c.id, "pl-63a5400a");
        assert_eq!(c.cidrs, vec!["52.216.0.0/15"]);
        assert!((119..=130).contains(&c.age_seconds), "{}", c.age_seconds);
        assert!(cache.load("eu-west-1").is_none());
    }
}
