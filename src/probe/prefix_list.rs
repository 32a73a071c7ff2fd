//! A local cache of the last good S3 prefix list per region, for runs where the EC2 API is
//! denied or unreachable (a private subnet with only the S3 gateway endpoint often cannot
//! reach it). Stored as JSON under the state directory; failures to read or write it are
//! silent (the cache is an optimisation of evidence, never a requirement).
//!
//! Also the choice of the list the report uses ([`choose`]): the EC2 API's, else AWS's
//! ip-ranges, else the cache (with its age), else none; pure, over the attempts' results.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::evidence::{ErrorInfo, PrefixListEvidence, PrefixListSource};

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

/// What the attempts to learn the region's S3 prefix list gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempts {
    /// The EC2 API answered: the list's id and CIDRs.
    Ec2 { id: String, cidrs: Vec<String> },
    /// The EC2 API did not; then ip-ranges was fetched and the cache read.
    Fallbacks {
        ec2: ErrorInfo,
        ip_ranges: Result<Vec<String>, ErrorInfo>,
        cached: Option<Cached>,
    },
}

/// The prefix list the report uses, from the best source that answered. ip-ranges has no list
/// id: the cached one (which routes refer to) is kept with it, when this host has seen it.
pub fn choose(name: &str, attempts: Attempts) -> PrefixListEvidence {
    let evidence = |source, id, cidrs, age_seconds, errors| PrefixListEvidence {
        source,
        id,
        name: name.to_string(),
        cidrs,
        age_seconds,
        errors,
    };
    match attempts {
        Attempts::Ec2 { id, cidrs } => {
            evidence(PrefixListSource::Ec2, Some(id), cidrs, None, vec![])
        }
        Attempts::Fallbacks {
            ec2,
            ip_ranges,
            cached,
        } => match (ip_ranges, cached) {
            (Ok(cidrs), cached) => evidence(
                PrefixListSource::IpRanges,
                cached.map(|c| c.id),
                cidrs,
                None,
                vec![ec2],
            ),
            (Err(e2), Some(c)) => evidence(
                PrefixListSource::Cache,
                Some(c.id),
                c.cidrs,
                Some(c.age_seconds),
                vec![ec2, e2],
            ),
            (Err(e2), None) => evidence(PrefixListSource::None, None, vec![], None, vec![ec2, e2]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{ErrorCode, Phase};

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

    fn err(code: ErrorCode) -> ErrorInfo {
        ErrorInfo::new(Phase::Request, code, "no")
    }

    fn cached() -> Option<Cached> {
        Some(Cached {
            id: "pl-63a5400a".into(),
            cidrs: vec!["52.216.0.0/15".into()],
            age_seconds: 3600,
        })
    }

    const NAME: &str = "com.amazonaws.us-east-1.s3";

    #[test]
    fn the_ec2_answer_is_used_without_errors() {
        let pl = choose(
            NAME,
            Attempts::Ec2 {
                id: "pl-1".into(),
                cidrs: vec!["3.5.0.0/19".into()],
            },
        );
        assert_eq!(pl.source, PrefixListSource::Ec2);
        assert_eq!(pl.id.as_deref(), Some("pl-1"));
        assert_eq!(pl.name, NAME);
        assert_eq!(pl.cidrs, ["3.5.0.0/19"]);
        assert_eq!((pl.age_seconds, pl.errors.len()), (None, 0));
    }

    #[test]
    fn ec2_failed_ip_ranges_answered_keeps_the_cached_id() {
        for (cache, id) in [(cached(), Some("pl-63a5400a")), (None, None)] {
            let pl = choose(
                NAME,
                Attempts::Fallbacks {
                    ec2: err(ErrorCode::Timeout),
                    ip_ranges: Ok(vec!["3.5.0.0/19".into()]),
                    cached: cache,
                },
            );
            assert_eq!(pl.source, PrefixListSource::IpRanges);
            assert_eq!(pl.id.as_deref(), id);
            assert_eq!(pl.cidrs, ["3.5.0.0/19"], "ip-ranges, not the cache");
            assert_eq!(pl.age_seconds, None);
            assert_eq!(pl.errors, [err(ErrorCode::Timeout)]);
        }
    }

    #[test]
    fn both_failed_the_cache_is_used_with_its_age() {
        let pl = choose(
            NAME,
            Attempts::Fallbacks {
                ec2: err(ErrorCode::Timeout),
                ip_ranges: Err(err(ErrorCode::IpRangesUnreachable)),
                cached: cached(),
            },
        );
        assert_eq!(pl.source, PrefixListSource::Cache);
        assert_eq!(pl.id.as_deref(), Some("pl-63a5400a"));
        assert_eq!(pl.cidrs, ["52.216.0.0/15"]);
        assert_eq!(pl.age_seconds, Some(3600));
        assert_eq!(
            pl.errors,
            [err(ErrorCode::Timeout), err(ErrorCode::IpRangesUnreachable)]
        );
    }

    #[test]
    fn nothing_answered_no_list_and_both_errors() {
        let pl = choose(
            NAME,
            Attempts::Fallbacks {
                ec2: err(ErrorCode::Deadline),
                ip_ranges: Err(err(ErrorCode::Deadline)),
                cached: None,
            },
        );
        assert_eq!(pl.source, PrefixListSource::None);
        assert_eq!((pl.id, pl.age_seconds), (None, None));
        assert!(pl.cidrs.is_empty());
        assert_eq!(pl.errors.len(), 2);
    }
}
