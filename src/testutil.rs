//! Test support: a healthy run's evidence, the base that fixtures and renderer tests patch.

use std::time::{Duration, SystemTime};

use crate::evidence::*;

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
            ops: [
                S3Op::HeadBucket,
                S3Op::List,
                S3Op::Put,
                S3Op::Get,
                S3Op::Delete,
            ]
            .into_iter()
            .map(op)
            .collect(),
            dns: None,
            bucket_policy: None,
        }],
        network: None,
        dns: vec![],
    }
}
