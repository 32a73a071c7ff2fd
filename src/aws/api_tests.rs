//! Unit tests of the signed API client (`api.rs`): endpoints by partition, FIPS and dual-stack,
//! the per-service endpoint setting, retries and backoff, the Query form, JSON errors.

use super::*;

#[test]
fn the_partitions_endpoints_as_the_sdk_rules_have_them() {
    for (region, fips, dual, want) in [
        (
            "us-east-1",
            false,
            false,
            "https://ec2.us-east-1.amazonaws.com",
        ),
        (
            "us-east-1",
            true,
            false,
            "https://ec2-fips.us-east-1.amazonaws.com",
        ),
        (
            "us-east-1",
            true,
            true,
            "https://ec2-fips.us-east-1.api.aws",
        ),
        ("eu-west-1", false, true, "https://ec2.eu-west-1.api.aws"),
        (
            "cn-north-1",
            false,
            false,
            "https://ec2.cn-north-1.amazonaws.com.cn",
        ),
        (
            "cn-north-1",
            false,
            true,
            "https://ec2.cn-north-1.api.amazonwebservices.com.cn",
        ),
        (
            "us-gov-west-1",
            false,
            false,
            "https://ec2.us-gov-west-1.amazonaws.com",
        ),
        (
            "us-gov-east-1",
            true,
            false,
            "https://ec2.us-gov-east-1.amazonaws.com",
        ),
        (
            "us-iso-east-1",
            false,
            false,
            "https://ec2.us-iso-east-1.c2s.ic.gov",
        ),
        (
            "us-isob-east-1",
            false,
            false,
            "https://ec2.us-isob-east-1.sc2s.sgov.gov",
        ),
        (
            "eusc-de-east-1",
            false,
            false,
            "https://ec2.eusc-de-east-1.amazonaws.eu",
        ),
    ] {
        assert_eq!(
            regional_endpoint(&EC2, region, fips, dual),
            want,
            "{region} {fips} {dual}"
        );
    }
}

#[test]
fn throttling_and_server_errors_are_retried_others_not() {
    assert!(retryable(503, "RequestLimitExceeded"));
    assert!(retryable(400, "Throttling"));
    assert!(retryable(500, "InternalError"));
    assert!(retryable(429, "Whatever"));
    assert!(!retryable(403, "UnauthorizedOperation"));
    assert!(!retryable(400, "InvalidParameterValue"));
}

#[test]
fn backoff_doubles_within_bounds() {
    for n in 1..12 {
        let b = backoff(n);
        let full = FIRST_BACKOFF
            .saturating_mul(1 << (n - 1).min(8))
            .min(MAX_BACKOFF);
        assert!(b >= full / 2 && b <= full, "{n}: {b:?}");
    }
}

#[test]
fn the_form_names_action_and_version_and_encodes_values() {
    let body = ApiClient::form(
        "2016-11-15",
        "DescribeRouteTables",
        &[
            ("Filter.1.Name".into(), "association.subnet-id".into()),
            ("Filter.1.Value.1".into(), "subnet-1 &x".into()),
        ],
    );
    assert_eq!(
        body,
        "Action=DescribeRouteTables&Version=2016-11-15&Filter.1.Name=association.subnet-id&Filter.1.Value.1=subnet-1+%26x"
    );
}

#[test]
fn cloudwatch_and_logs_endpoints_follow_the_same_rules() {
    assert_eq!(
        regional_endpoint(&CLOUDWATCH, "eu-west-1", false, false),
        "https://monitoring.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        regional_endpoint(&CLOUDWATCH, "us-east-1", true, false),
        "https://monitoring-fips.us-east-1.amazonaws.com"
    );
    assert_eq!(
        regional_endpoint(&CLOUDWATCH_LOGS, "cn-north-1", false, false),
        "https://logs.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        regional_endpoint(&CLOUDWATCH_LOGS, "eu-west-1", false, true),
        "https://logs.eu-west-1.api.aws"
    );
}

/// The per-service endpoint settings (`AWS_ENDPOINT_URL_<ID>`) of one service id.
#[derive(Debug)]
struct OneService(&'static str, &'static str);

impl aws_types::service_config::LoadServiceConfig for OneService {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        (key.service_id() == self.0 && key.env() == "AWS_ENDPOINT_URL").then(|| self.1.to_string())
    }
}

#[test]
fn the_service_endpoint_setting_wins_over_the_global_one() {
    let sdk = SdkConfig::builder()
        .endpoint_url("http://global:1")
        .service_config(OneService("CloudWatch Logs", "http://logs:2"))
        .build();
    assert_eq!(
        endpoint(&sdk, &CLOUDWATCH_LOGS, "us-east-1"),
        "http://logs:2"
    );
    assert_eq!(endpoint(&sdk, &CLOUDWATCH, "us-east-1"), "http://global:1");
    assert_eq!(endpoint(&sdk, &EC2, "us-east-1"), "http://global:1");
    let sdk = SdkConfig::builder()
        .service_config(OneService("CloudWatch", "http://cw:3"))
        .build();
    assert_eq!(endpoint(&sdk, &CLOUDWATCH, "us-east-1"), "http://cw:3");
    assert_eq!(
        endpoint(&sdk, &CLOUDWATCH_LOGS, "us-east-1"),
        "https://logs.us-east-1.amazonaws.com"
    );
}

#[test]
fn json_errors_give_the_code_without_its_namespace() {
    let mut h = aws_smithy_runtime_api::http::Headers::new();
    h.insert("x-amzn-requestid", "req-1");
    let e = json_error(
        r#"{"__type":"com.amazonaws.logs#ResourceNotFoundException","message":"The specified log group does not exist."}"#,
        &h,
    );
    assert_eq!(e.code.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(
        e.message.as_deref(),
        Some("The specified log group does not exist.")
    );
    assert_eq!(e.request_id.as_deref(), Some("req-1"));
    // no body: the header's type, without its `:url` tail
    let mut h = aws_smithy_runtime_api::http::Headers::new();
    h.insert("x-amzn-errortype", "AccessDeniedException:http://internal/");
    let e = json_error("", &h);
    assert_eq!(e.code.as_deref(), Some("AccessDeniedException"));
    assert_eq!(e.message, None);
}
