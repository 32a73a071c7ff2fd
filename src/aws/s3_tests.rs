//! Tests of the SDK boundary's S3 calls: how a body that did not arrive in full is classified,
//! and which answers the response recorder keeps as retryable attempt errors.

use super::body::body_error;
use super::*;
use aws_smithy_types::body::SdkBody;

#[derive(Debug)]
struct Msg(&'static str);
impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for Msg {}

#[test]
fn body_errors_are_classified() {
    // a reset, two io::Errors deep (as hyper hands it up)
    let reset = std::io::Error::other(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    let e = body_error(&reset, Some(200));
    assert_eq!(
        (e.phase, e.code.clone()),
        (Phase::Response, ErrorCode::ConnectionReset)
    );
    assert_eq!(e.http_status, Some(200));
    // the SDK's check of S3's x-amz-checksum-sha256
    let sum = Msg("body checksum mismatch. expected body checksum to be 5a but it was 5b");
    let e = body_error(&sum, Some(200));
    assert_eq!(
        (e.phase, e.code),
        (Phase::Verify, ErrorCode::ChecksumMismatch)
    );
    // closed early
    let eof = Msg("end of file before message length reached");
    let e = body_error(&eof, Some(200));
    assert_eq!(
        (e.phase, e.code),
        (Phase::Response, ErrorCode::BodyReadError)
    );
}

fn answer(status: u16, body: &'static str) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
}

#[test]
fn retryable_answers_are_recorded_with_their_code_and_throttling() {
    let slow = answer(
        503,
        "<Error><Code>SlowDown</Code><Message>m</Message></Error>",
    );
    let a = super::super::attempt_error(&slow, Some("RID".into())).unwrap();
    assert_eq!(a.code.as_deref(), Some("SlowDown"));
    assert!(a.throttling);
    assert_eq!(a.request_id.as_deref(), Some("RID"));
    let internal = answer(500, "<Error><Code>InternalError</Code></Error>");
    let a = super::super::attempt_error(&internal, None).unwrap();
    assert_eq!((a.http_status, a.throttling), (500, false));
    // a HEAD's bodiless 503 is S3's SlowDown
    let a = super::super::attempt_error(&answer(503, ""), None).unwrap();
    assert!(a.code.is_none() && a.throttling);
    assert!(super::super::attempt_error(&answer(403, ""), None).is_none());
    assert!(super::super::attempt_error(&answer(200, ""), None).is_none());
}
