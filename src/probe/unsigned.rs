//! The `s3_unsigned` request: one unsigned `HEAD` of the bucket's regional endpoint, through the
//! probe's resolver, TLS trust and proxy, within the run deadline. Any HTTP answer from S3
//! (403, 400, 301, 200) proves the network path, even with no credentials.

use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::connection::CaptureSmithyConnection;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;

use crate::evidence::{ErrorCode, ErrorInfo, Phase, ResponseMeta, UnsignedEvidence};

/// Send the request (never an error: what happened is evidence).
pub async fn head(
    connector: &crate::net::TimedConnector,
    url: &str,
    budget: Option<Duration>,
) -> UnsignedEvidence {
    let started = Instant::now();
    let mut ev = UnsignedEvidence {
        url: url.to_string(),
        duration: Duration::ZERO,
        meta: ResponseMeta::default(),
        error: None,
    };
    let Some(budget) = budget else {
        ev.error = Some(ErrorInfo::new(
            Phase::Request,
            ErrorCode::Deadline,
            "the run deadline passed before the unsigned request could start",
        ));
        return ev;
    };
    let mut req = HttpRequest::new(SdkBody::empty());
    if let Err(e) = req.set_uri(url) {
        ev.error = Some(ErrorInfo::new(
            Phase::Config,
            ErrorCode::BadUrl,
            format!("{url}: {e}"),
        ));
        return ev;
    }
    req.set_method("HEAD").ok();
    let capture = CaptureSmithyConnection::new();
    req.add_extension(capture.clone());
    let log = crate::net::timing::RequestLog::default();
    let result = tokio::time::timeout(
        budget,
        crate::net::timing::capture_into(log.clone(), connector.call(req)),
    )
    .await;
    ev.meta.phases = log.requests().pop().map(|r| r.phases);
    if let Some(c) = capture.get() {
        ev.meta.peer = c.remote_addr();
        ev.meta.local = c.local_addr();
    }
    ev.meta.attempts = 1;
    match result {
        Ok(Ok(resp)) => {
            let h = resp.headers();
            let get = |n: &str| h.get(n).map(str::to_string);
            ev.meta.http_status = Some(resp.status().as_u16());
            ev.meta.request_id = get("x-amz-request-id");
            ev.meta.extended_request_id = get("x-amz-id-2");
            ev.meta.bucket_region = get("x-amz-bucket-region");
        }
        Ok(Err(e)) => ev.error = Some(crate::aws::classify_connector_error(&e)),
        Err(_) => {
            let phase = if ev.meta.peer.is_none() {
                Phase::Connect
            } else {
                Phase::Request
            };
            ev.error = Some(ErrorInfo::new(
                phase,
                ErrorCode::Timeout,
                format!("{url}: no answer within {} ms", budget.as_millis()),
            ));
        }
    }
    ev.duration = started.elapsed();
    ev
}
