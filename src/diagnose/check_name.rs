//! The single source of every check name: its wire name, whether it is run-wide or per bucket,
//! and what it checks. The checks table of docs/diagnosis.md is generated from here.

use crate::evidence::S3Op;

crate::wire_enum! {
    /// Every check a report can hold.
    pub enum CheckName {
        Imds => "imds",
        Credentials => "credentials",
        PrefixList => "prefix_list",
        Dns => "dns",
        S3HeadBucket => "s3_head_bucket",
        S3List => "s3_list",
        S3Put => "s3_put",
        S3Get => "s3_get",
        S3Delete => "s3_delete",
        Route => "route",
        EndpointPolicy => "endpoint_policy",
        BucketPolicy => "bucket_policy",
        S3Unsigned => "s3_unsigned",
        SecurityGroup => "security_group",
        NetworkAcl => "network_acl",
        S3ListBuckets => "s3_list_buckets",
    }
}

/// Where a check sits in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `checks` at the top level.
    Run,
    /// `targets[].checks`.
    Bucket,
}

impl CheckName {
    /// The check of an S3 operation (`None` for operations that are evidence only).
    pub fn of_op(op: S3Op) -> Option<CheckName> {
        Some(match op {
            S3Op::HeadBucket => CheckName::S3HeadBucket,
            S3Op::List => CheckName::S3List,
            S3Op::Put => CheckName::S3Put,
            S3Op::Get => CheckName::S3Get,
            S3Op::Delete => CheckName::S3Delete,
            S3Op::ListBuckets => CheckName::S3ListBuckets,
            S3Op::GetBucketPolicy | S3Op::GetBucketEncryption => return None,
        })
    }

    /// Run-wide or per bucket.
    pub fn scope(self) -> Scope {
        match self {
            CheckName::Imds
            | CheckName::Credentials
            | CheckName::PrefixList
            | CheckName::S3ListBuckets => Scope::Run,
            _ => Scope::Bucket,
        }
    }

    /// What the check looks at, and when it fails (one line, for the docs).
    pub fn meaning(self) -> (&'static str, &'static str) {
        match self {
            CheckName::Imds => (
                "IMDSv2: who the instance is",
                "the token's answer vanished in a container (`imds_hop_limit`), or no region could be learned (warns off EC2, skips when `AWS_EC2_METADATA_DISABLED`)",
            ),
            CheckName::Credentials => (
                "the AWS SDK default chain, one provider at a time",
                "no provider supplied credentials",
            ),
            CheckName::PrefixList => (
                "the region's S3 prefix list from the EC2 API",
                "never (warns when it came from ip-ranges, the cache or not at all)",
            ),
            CheckName::Dns => (
                "the bucket's S3 names, A and AAAA, with TTLs",
                "the name requests go to does not resolve (warns when it resolves to a VPC address)",
            ),
            CheckName::S3HeadBucket => (
                "HeadBucket: existence, access, the bucket's region",
                "the request failed, or the deadline left no time to start it",
            ),
            CheckName::S3List => (
                "ListObjectsV2 under the probe prefix",
                "the request failed, or the deadline left no time to start it",
            ),
            CheckName::S3Put => (
                "a small object under the probe prefix, `If-None-Match: *` (never overwrites)",
                "the request failed (an existing object at the key only warns)",
            ),
            CheckName::S3Get => (
                "the object written, verified by SHA-256 (or the first KiB of `--key`)",
                "the request failed, or the bytes differ",
            ),
            CheckName::S3Delete => (
                "the exact object (and version) this run wrote",
                "the request failed",
            ),
            CheckName::Route => (
                "the path verdict: the subnet's route table for the S3 addresses",
                "a gateway endpoint exists but is not used, or there is no route",
            ),
            CheckName::EndpointPolicy => (
                "the gateway endpoint's policy, evaluated for each request made",
                "it does not allow one of them (skipped when the path is not the gateway endpoint)",
            ),
            CheckName::BucketPolicy => (
                "the bucket policy (`s3:GetBucketPolicy`), evaluated the same way",
                "it explicitly denies a request, or requires an endpoint/VPC the path does not provide (skipped when it cannot be read, unless S3's denial lets the cause be inferred)",
            ),
            CheckName::S3Unsigned => (
                "one unsigned `HEAD` of the bucket's regional endpoint, sent when there are no credentials or S3 refused them: any answer from S3 (403, 400, 301, 200) proves the network path",
                "S3 did not answer it (DNS, connect, TLS, timeout); skipped when signed requests reached S3",
            ),
            CheckName::SecurityGroup => (
                "the egress rules of the instance's security groups (`DescribeSecurityGroups`), for TCP to the S3 address and port used",
                "no rule allows it (skipped when the groups cannot be described)",
            ),
            CheckName::NetworkAcl => (
                "the subnet's network ACL (`DescribeNetworkAcls`), stateless: outbound to S3, inbound to the ephemeral ports",
                "a rule (or the final `*`) denies either direction (skipped when the ACL cannot be described)",
            ),
            CheckName::S3ListBuckets => (
                "ListBuckets (`bucket-region` = the instance's region), on a first run without `--bucket` or config file: the buckets probed, read-only",
                "S3 refused or did not answer it (only present on such a run)",
            ),
        }
    }
}
