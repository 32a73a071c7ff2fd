//! Test support: a healthy run's evidence, the base that fixtures and renderer tests patch.

use std::time::{Duration, SystemTime};

use crate::evidence::*;
use crate::net::resolver::{DnsRecord, TypedLookup};

/// One instance with a role, one bucket, five passing operations.
pub fn healthy_evidence() -> Evidence {
    let op = |op: S3Op| OpEvidence {
        op,
        duration: Duration::from_millis(7),
        outcome: OpOutcome::Ok,
        meta: ResponseMeta {
            http_status: Some(200),
            request_id: Some("REQ".into()),
            peer: Some("52.216.0.10:443".parse().unwrap()),
            attempts: 1,
            ..Default::default()
        },
        detail: serde_json::Map::new(),
    };
    Evidence {
        run_id: "fixture-run".into(),
        started_at: SystemTime::UNIX_EPOCH,
        duration: Duration::from_millis(100),
        region: "us-east-1".into(),
        region_source: RegionSource::Imds,
        context: ContextEvidence {
            source: ContextSource::Imds,
            endpoint: "http://169.254.169.254".into(),
            disabled: false,
            duration: Duration::from_millis(3),
            instance: Some(InstanceContext {
                region: Some("us-east-1".into()),
                instance_id: Some("i-0fixture".into()),
                iam_role: Some("fixture-role".into()),
                vpc_id: Some("vpc-0fixture".into()),
                subnet_id: Some("subnet-0fixture".into()),
                vpc_cidrs: vec!["10.0.0.0/16".into()],
                ..Default::default()
            }),
            error: None,
        },
        credentials: CredentialsEvidence {
            provider: Some("instance_profile".into()),
            expires_at: None,
            tried: vec![],
            duration: Duration::from_millis(2),
            error: None,
        },
        targets: vec![TargetEvidence {
            bucket: "fixture-bucket".into(),
            region: "us-east-1".into(),
            bucket_region: Some("us-east-1".into()),
            prefix: ".vpce-probe/".into(),
            probe_key: ".vpce-probe/i-0fixture/fixture-run".into(),
            user_key: None,
            read_only: false,
            ops: S3Op::ALL.into_iter().map(op).collect(),
            dns: Some(DnsEvidence {
                servers: vec!["10.0.0.2:53".into()],
                names: vec![
                    "fixture-bucket.s3.us-east-1.amazonaws.com".into(),
                    "s3.us-east-1.amazonaws.com".into(),
                ],
                lookups: [
                    "fixture-bucket.s3.us-east-1.amazonaws.com",
                    "s3.us-east-1.amazonaws.com",
                ]
                .into_iter()
                .flat_map(|name| {
                    [
                        TypedLookup {
                            name: name.into(),
                            record_type: "A".into(),
                            records: vec![DnsRecord {
                                address: "52.216.0.10".parse().unwrap(),
                                ttl: 5,
                            }],
                            duration_ms: 1,
                            error: None,
                            message: None,
                        },
                        TypedLookup {
                            name: name.into(),
                            record_type: "AAAA".into(),
                            records: vec![],
                            duration_ms: 1,
                            error: Some("no_records".into()),
                            message: None,
                        },
                    ]
                })
                .collect(),
                duration: Duration::from_millis(2),
            }),
            bucket_policy: Some(BucketPolicyEvidence {
                policy: None,
                error: None,
                duration: Duration::from_millis(3),
            }),
        }],
        network: Some(NetworkEvidence {
            prefix_list: PrefixListEvidence {
                source: PrefixListSource::Ec2,
                id: Some("pl-63a5400a".into()),
                name: "com.amazonaws.us-east-1.s3".into(),
                cidrs: vec![
                    "52.216.0.0/15".into(),
                    "3.5.0.0/19".into(),
                    "54.231.0.0/16".into(),
                ],
                age_seconds: None,
                errors: vec![],
            },
            route_table: Some(RouteTableEvidence {
                id: "rtb-0fixture".into(),
                main: false,
                routes: vec![
                    RouteEvidence {
                        destination: "10.0.0.0/16".into(),
                        target: "local".into(),
                        state: "active".into(),
                    },
                    RouteEvidence {
                        destination: "pl-63a5400a".into(),
                        target: "vpce-0fixture".into(),
                        state: "active".into(),
                    },
                    RouteEvidence {
                        destination: "0.0.0.0/0".into(),
                        target: "nat-0fixture".into(),
                        state: "active".into(),
                    },
                ],
            }),
            route_table_error: None,
            other_prefix_lists: Default::default(),
            endpoints: vec![EndpointEvidence {
                id: "vpce-0fixture".into(),
                endpoint_type: "Gateway".into(),
                service_name: "com.amazonaws.us-east-1.s3".into(),
                state: "available".into(),
                policy: None,
                route_table_ids: vec!["rtb-0fixture".into()],
                private_dns_enabled: None,
            }],
            endpoints_error: None,
            duration: Duration::from_millis(20),
        }),
        dns: vec![],
    }
}
