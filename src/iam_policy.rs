//! `vpce-probe iam-policy`: the least-privilege IAM policy for what `check` really calls —
//! S3 actions on exactly the probed buckets and prefixes, read-only EC2 `Describe*`/`Get*` for
//! the path evidence — ready for `aws iam put-role-policy`. Pure: no I/O.

use serde_json::{Value, json};

/// What the policy must cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInput {
    pub buckets: Vec<String>,
    /// Always ends with `/`.
    pub prefix: String,
    pub read_only: bool,
    /// `--key`: an existing object the probe reads.
    pub key: Option<String>,
    /// Include the EC2 reads of the path analysis.
    pub path_evidence: bool,
    /// Include `s3:GetBucketPolicy` (the `bucket_policy` check).
    pub bucket_policy: bool,
    /// `cloudwatch:PutMetricData` in this namespace (the metrics sink), if any.
    pub metrics_namespace: Option<String>,
    /// The log group of the logs sink, if any.
    pub log_group: Option<String>,
}

/// The policy document.
pub fn policy(input: &PolicyInput) -> Value {
    let bucket_arns: Vec<String> = input
        .buckets
        .iter()
        .map(|b| format!("arn:aws:s3:::{b}"))
        .collect();
    let mut statements = vec![json!({
        "Sid": "VpceProbeBucket",
        "Effect": "Allow",
        // HeadBucket and ListObjectsV2 are both authorised by s3:ListBucket.
        "Action": ["s3:ListBucket"],
        "Resource": bucket_arns,
    })];
    if input.bucket_policy {
        statements.push(json!({
            "Sid": "VpceProbeBucketPolicy",
            "Effect": "Allow",
            "Action": ["s3:GetBucketPolicy"],
            "Resource": bucket_arns,
        }));
    }
    // GetBucketEncryption: the bucket's default encryption names the KMS key a put needs.
    statements.push(json!({
        "Sid": "VpceProbeBucketEncryption",
        "Effect": "Allow",
        "Action": ["s3:GetEncryptionConfiguration"],
        "Resource": bucket_arns,
    }));
    if !input.read_only {
        let objects: Vec<String> = input
            .buckets
            .iter()
            .map(|b| format!("arn:aws:s3:::{b}/{}*", input.prefix))
            .collect();
        // ListObjectVersions under this instance's part of the prefix: the stale probe objects
        // that earlier runs left behind (a crash, kill -9), removed by exact version.
        statements.push(json!({
            "Sid": "VpceProbeStaleObjects",
            "Effect": "Allow",
            "Action": ["s3:ListBucketVersions"],
            "Resource": bucket_arns,
            "Condition": {"StringLike": {"s3:prefix": format!("{}*", input.prefix)}},
        }));
        statements.push(json!({
            "Sid": "VpceProbeObject",
            "Effect": "Allow",
            // DeleteObjectVersion: the exact version written, on versioned buckets.
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": objects,
        }));
    }
    if let Some(k) = &input.key {
        let keys: Vec<String> = input
            .buckets
            .iter()
            .map(|b| format!("arn:aws:s3:::{b}/{k}"))
            .collect();
        statements.push(json!({
            "Sid": "VpceProbeReadKey",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": keys,
        }));
    }
    if input.path_evidence {
        statements.push(json!({
            "Sid": "VpceProbePathEvidence",
            "Effect": "Allow",
            // These EC2 read actions support no resource-level permissions.
            "Action": [
                "ec2:DescribeManagedPrefixLists",
                "ec2:GetManagedPrefixListEntries",
                "ec2:DescribeRouteTables",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeNetworkAcls",
            ],
            "Resource": "*",
        }));
    }
    if let Some(ns) = &input.metrics_namespace {
        statements.push(json!({
            "Sid": "VpceProbeMetrics",
            "Effect": "Allow",
            // PutMetricData has no resource-level permissions: restrict by namespace.
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": ns}},
        }));
    }
    if let Some(group) = &input.log_group {
        statements.push(json!({
            "Sid": "VpceProbeLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [
                format!("arn:aws:logs:*:*:log-group:{group}"),
                format!("arn:aws:logs:*:*:log-group:{group}:log-stream:*"),
            ],
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::policy::{Decision, Policy, Request, evaluate};

    fn input() -> PolicyInput {
        PolicyInput {
            buckets: vec!["b1".into(), "b2".into()],
            prefix: ".vpce-probe/".into(),
            read_only: false,
            key: None,
            path_evidence: true,
            bucket_policy: true,
            metrics_namespace: None,
            log_group: None,
        }
    }

    fn decide(p: &Value, action: &str, resource: &str) -> Decision {
        let p = Policy::parse(&p.to_string()).unwrap();
        evaluate(&p, &Request::new(action, resource)).decision
    }

    #[test]
    fn allows_exactly_what_check_does() {
        let p = policy(&input());
        for (action, resource, want) in [
            ("s3:ListBucket", "arn:aws:s3:::b1", Decision::Allow),
            ("s3:ListBucket", "arn:aws:s3:::b2", Decision::Allow),
            (
                "s3:ListBucket",
                "arn:aws:s3:::other",
                Decision::ImplicitDeny,
            ),
            (
                "s3:PutObject",
                "arn:aws:s3:::b1/.vpce-probe/i-1/run",
                Decision::Allow,
            ),
            (
                "s3:PutObject",
                "arn:aws:s3:::b1/data/file",
                Decision::ImplicitDeny,
            ),
            (
                "s3:GetObject",
                "arn:aws:s3:::b2/.vpce-probe/h/run",
                Decision::Allow,
            ),
            (
                "s3:DeleteObject",
                "arn:aws:s3:::b1/.vpce-probe/x",
                Decision::Allow,
            ),
            (
                "s3:DeleteObject",
                "arn:aws:s3:::b1/precious",
                Decision::ImplicitDeny,
            ),
            ("s3:GetBucketPolicy", "arn:aws:s3:::b1", Decision::Allow),
            (
                "s3:GetEncryptionConfiguration",
                "arn:aws:s3:::b2",
                Decision::Allow,
            ),
            (
                "s3:PutEncryptionConfiguration",
                "arn:aws:s3:::b1",
                Decision::ImplicitDeny,
            ),
            (
                "s3:PutBucketPolicy",
                "arn:aws:s3:::b1",
                Decision::ImplicitDeny,
            ),
            ("ec2:DescribeRouteTables", "*", Decision::Allow),
            ("ec2:DescribeSecurityGroups", "*", Decision::Allow),
            ("ec2:DescribeNetworkAcls", "*", Decision::Allow),
            ("ec2:CreateRoute", "*", Decision::ImplicitDeny),
            (
                "ec2:AuthorizeSecurityGroupEgress",
                "*",
                Decision::ImplicitDeny,
            ),
        ] {
            assert_eq!(decide(&p, action, resource), want, "{action} {resource}");
        }
    }

    #[test]
    fn read_only_and_key() {
        let mut i = input();
        i.read_only = true;
        i.key = Some("reports/today.csv".into());
        i.path_evidence = false;
        let p = policy(&i);
        assert_eq!(
            decide(&p, "s3:PutObject", "arn:aws:s3:::b1/.vpce-probe/x"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(&p, "s3:GetObject", "arn:aws:s3:::b1/reports/today.csv"),
            Decision::Allow
        );
        assert_eq!(
            decide(&p, "s3:GetObject", "arn:aws:s3:::b1/reports/other.csv"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(&p, "ec2:DescribeRouteTables", "*"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn sink_permissions_only_when_sinks_are_on() {
        let stream = "arn:aws:logs:us-east-1:1:log-group:/vpce-probe:log-stream:i-1";
        let p = policy(&input());
        assert_eq!(
            decide(&p, "cloudwatch:PutMetricData", "*"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(&p, "logs:PutLogEvents", stream),
            Decision::ImplicitDeny
        );
        let mut i = input();
        i.metrics_namespace = Some("VpceProbe".into());
        i.log_group = Some("/vpce-probe".into());
        let p = policy(&i);
        // conditional on the namespace, which the evaluation cannot know here
        assert_eq!(
            decide(&p, "cloudwatch:PutMetricData", "*"),
            Decision::Conditional
        );
        assert_eq!(decide(&p, "logs:PutLogEvents", stream), Decision::Allow);
        assert_eq!(
            decide(
                &p,
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:1:log-group:/other:log-stream:i-1"
            ),
            Decision::ImplicitDeny
        );
    }
}
