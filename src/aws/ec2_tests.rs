//! Tests of the EC2 Query API client against a scripted HTTP server on loopback: the bound on
//! `nextToken` pages, throttling retried up to `--max-attempts`, a server error then success,
//! and what goes on the wire (a signed form POST).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ec2::{Ec2Calls, MAX_PAGES, QueryEc2};
use crate::deadline::Deadline;
use crate::evidence::{ErrorCode, Phase};

type Script = Arc<dyn Fn(usize) -> (u16, String) + Send + Sync>;

/// Serve `script(n)` (status, body) for the n-th request (from 0); returns the URL and every
/// request seen (head and body).
async fn server(script: Script) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (log, script) = (log.clone(), script.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let req = String::from_utf8_lossy(&buf[..head_end + len]).into_owned();
                    buf.drain(..head_end + len);
                    let n = {
                        let mut l = log.lock().unwrap();
                        l.push(req);
                        l.len() - 1
                    };
                    let (status, body) = script(n);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

fn sdk(url: &str, attempts: u32) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        )))
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .build()
}

fn client(url: &str, attempts: u32) -> QueryEc2 {
    let resolver = crate::net::ProbeResolver::from_system(Duration::from_secs(1));
    let connector = crate::net::api_connector(
        &resolver,
        None,
        &crate::net::ProxyEnv::default(),
        Some(Duration::from_secs(1)),
    )
    .unwrap();
    QueryEc2::new(
        &sdk(url, attempts),
        "us-east-1",
        aws_smithy_runtime_api::client::http::SharedHttpConnector::new(connector),
        Deadline::after(Duration::from_secs(20)),
    )
}

fn entries_page(n: usize, more: bool) -> String {
    let token = if more {
        format!("<nextToken>t{n}</nextToken>")
    } else {
        String::new()
    };
    format!(
        "<GetManagedPrefixListEntriesResponse><entrySet><item><cidr>10.{n}.0.0/16</cidr></item></entrySet>{token}</GetManagedPrefixListEntriesResponse>"
    )
}

const THROTTLED: &str = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>rid-1</RequestID></Response>";

#[tokio::test]
async fn pages_are_followed_in_order_with_the_token_given() {
    let (url, seen) = server(Arc::new(|n| (200, entries_page(n, n < 2)))).await;
    let cidrs = client(&url, 1).prefix_list_entries("pl-1").await.unwrap();
    assert_eq!(cidrs, ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    // a signed form POST of the Query API, the token of the previous page on the next
    let first = &seen[0];
    assert!(first.starts_with("POST / HTTP/1.1"), "{first}");
    let lower = first.to_lowercase();
    assert!(
        lower.contains("authorization: aws4-hmac-sha256 credential=akidexample/"),
        "{first}"
    );
    assert!(lower.contains("/us-east-1/ec2/aws4_request"), "{first}");
    assert!(lower.contains("x-amz-date:"), "{first}");
    assert!(!lower.contains("secret"), "{first}");
    assert!(
        first.ends_with("Action=GetManagedPrefixListEntries&Version=2016-11-15&PrefixListId=pl-1")
    );
    assert!(!first.contains("NextToken"));
    assert!(seen[1].ends_with("&NextToken=t0") && seen[2].ends_with("&NextToken=t1"));
}

#[tokio::test]
async fn more_pages_than_the_bound_is_an_error_not_a_partial_list() {
    let (url, seen) = server(Arc::new(|n| (200, entries_page(n, true)))).await;
    let err = client(&url, 1)
        .prefix_list_entries("pl-1")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ResponseError);
    assert!(
        err.message.contains("more than 20 pages"),
        "{}",
        err.message
    );
    assert_eq!(seen.lock().unwrap().len(), MAX_PAGES);
}

#[tokio::test]
async fn throttling_is_retried_up_to_the_attempts_then_kept_as_the_error() {
    let (url, seen) = server(Arc::new(|_| (503, THROTTLED.to_string()))).await;
    let err = client(&url, 3).prefix_list_id("x").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Service("RequestLimitExceeded".into()));
    assert_eq!((err.phase, err.http_status), (Phase::Response, Some(503)));
    assert!(err.is_throttling());
    assert!(
        err.message
            .starts_with("DescribeManagedPrefixLists: Request limit exceeded.")
            && err.message.contains("request id rid-1")
            && err.message.ends_with("after 3 attempts"),
        "{}",
        err.message
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_server_error_then_an_answer_and_a_denial_is_not_retried() {
    let (url, seen) = server(Arc::new(|n| match n {
        0 => (500, String::new()),
        _ => (200, entries_page(n, false)),
    }))
    .await;
    let cidrs = client(&url, 2).prefix_list_entries("pl-1").await.unwrap();
    assert_eq!(cidrs, ["10.1.0.0/16"]);
    assert_eq!(seen.lock().unwrap().len(), 2);

    let denied = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>";
    let (url, seen) = server(Arc::new(move |_| (403, denied.to_string()))).await;
    let err = client(&url, 3)
        .vpc_endpoints("vpc-1", "com.amazonaws.us-east-1.s3")
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Service("UnauthorizedOperation".into()));
    assert_eq!(err.http_status, Some(403));
    assert_eq!(seen.lock().unwrap().len(), 1, "a denial is not retried");
}
