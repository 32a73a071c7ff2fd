//! PURE: one module per judged check. Each takes the evidence (and what the bucket's path
//! analysis shares, [`crate::diagnose::inputs`]) and returns its verdict and findings.

pub mod bucket_policy;
pub mod clock;
pub mod credentials;
pub mod dns;
pub mod endpoint_policy;
pub mod imds;
pub mod prefix_list;
pub mod region;
pub mod route;
pub mod s3_ops;
pub mod s3_unsigned;
pub mod sinks;

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
