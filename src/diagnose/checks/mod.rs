//! PURE: one module per judged check. Each takes the evidence (and what the bucket's path
//! analysis shares, [`crate::diagnose::inputs`]) and returns its verdict and findings.

pub mod bucket_policy;
pub mod clock;
pub mod credentials;
pub mod dns;
pub mod endpoint_policy;
pub mod imds;
pub mod lifecycle;
pub mod list_buckets;
pub mod network_acl;
pub mod prefix_list;
pub mod proxy;
pub mod region;
pub mod route;
pub mod s3_answers;
pub mod s3_ops;
pub mod s3_unsigned;
pub mod security_group;
pub mod sinks;
pub mod tls;

use crate::diagnose::model::{CheckVerdict, Finding};

/// A check's verdict and the findings it raised.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub verdict: CheckVerdict,
    pub findings: Vec<Finding>,
}

impl Judged {
    /// A verdict without findings.
    pub fn quiet(verdict: CheckVerdict) -> Self {
        Self {
            verdict,
            findings: vec![],
        }
    }

    /// A verdict with one finding.
    pub fn with(verdict: CheckVerdict, finding: Finding) -> Self {
        Self {
            verdict,
            findings: vec![finding],
        }
    }
}

/// What the firewall checks (`security_group`, `network_acl`) say, for the S3 checks' hints
/// when a connection is silently dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Firewalls {
    /// The findings that blame a security group or network ACL.
    pub blocking: Vec<Finding>,
    /// Why one was not checked (one line each).
    pub unchecked: Vec<String>,
}

impl Firewalls {
    /// From the verdicts of the two checks.
    pub fn of(checks: &[&Judged]) -> Self {
        let mut f = Firewalls::default();
        for j in checks {
            f.blocking.extend(j.findings.iter().cloned());
            if j.verdict.status == crate::diagnose::model::Status::Skip
                && let Some(h) = &j.verdict.hint
                && !f.unchecked.contains(h)
            {
                f.unchecked.push(h.clone());
            }
        }
        f
    }
}

/// How reports name where the region came from.
pub fn region_source_name(s: crate::evidence::RegionSource) -> &'static str {
    use crate::evidence::RegionSource as R;
    match s {
        R::Flag => "--region",
        R::Config => "the config file",
        R::Env => "the environment",
        R::Profile => "the profile",
        R::Imds => "IMDS",
        R::None => "nowhere",
    }
}
