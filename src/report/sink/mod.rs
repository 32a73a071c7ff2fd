//! Sinks: where a report goes besides stdout — CloudWatch metrics (`PutMetricData`, batched)
//! and CloudWatch Logs (one EMF event per run). A sink that fails is a finding, not a crash:
//! the report still reaches stdout, its payload is spooled under the state directory and the
//! next run sends it first.
//!
//! Both go through the probe's own signed API client ([`crate::aws::api`]): CloudWatch over its
//! Query protocol (still served by AWS, and spoken by the local emulator, moto), CloudWatch
//! Logs over JSON 1.1, on the probe's connector (resolver, proxy, `AWS_CA_BUNDLE`).

pub mod spool;

use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use serde::Serialize;

use crate::aws::api::{ApiClient, CLOUDWATCH, CLOUDWATCH_LOGS};
use crate::evidence::{ErrorCode, ErrorInfo, Phase, SinkKind, SinkOutcome};
use crate::report::cloudwatch::{Datum, datums_for, emf_event};
use crate::report::model::Report;
use spool::Spool;

/// Sink settings.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub sinks: Vec<SinkKind>,
    pub namespace: String,
    pub log_group: String,
    /// Default: the instance id, else the host name.
    pub log_stream: Option<String>,
    /// Deadline for all sinks together.
    pub timeout: Duration,
    /// The state directory (spool), if any.
    pub state_dir: Option<std::path::PathBuf>,
    /// Add an `InstanceId` dimension to every metric.
    pub instance_dimension: bool,
}

/// A spooled payload: what to send again.
#[derive(Debug, serde::Deserialize, Serialize)]
struct Payload {
    /// For metrics: the datums' JSON; for logs: the EMF event.
    body: serde_json::Value,
    timestamp_ms: i64,
}

/// Spooled payloads older than this are not sent (CloudWatch takes no data older than 14 days).
const STALE_MS: i64 = 13 * 24 * 3600 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn datums_json(d: &[Datum]) -> serde_json::Value {
    serde_json::Value::Array(
        d.iter()
            .map(|x| {
                serde_json::json!({"name": x.name, "value": x.value, "unit": x.unit,
                    "dimensions": x.dimensions.iter().map(|(k, v)| vec![k.to_string(), v.clone()]).collect::<Vec<_>>()})
            })
            .collect(),
    )
}

/// PutMetricData takes at most 1000 datums per call.
const MAX_DATUMS: usize = 1000;

/// The Query parameters of the datums of `body` (a spooled or fresh [`datums_json`]), all
/// stamped `timestamp_ms`: one list per call of at most [`MAX_DATUMS`].
fn metric_params(
    namespace: &str,
    body: &serde_json::Value,
    timestamp_ms: i64,
) -> Vec<Vec<(String, String)>> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let ts = DateTime::from_millis(timestamp_ms)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    let all = body.as_array().map(|a| a.as_slice()).unwrap_or_default();
    all.chunks(MAX_DATUMS)
        .map(|chunk| {
            let mut p = vec![("Namespace".to_string(), namespace.to_string())];
            for (i, d) in chunk.iter().enumerate() {
                let m = format!("MetricData.member.{}", i + 1);
                p.push((
                    format!("{m}.MetricName"),
                    d["name"].as_str().unwrap_or_default().to_string(),
                ));
                let value = d["value"].as_f64().filter(|v| v.is_finite()).unwrap_or(0.0);
                p.push((format!("{m}.Value"), value.to_string()));
                p.push((
                    format!("{m}.Unit"),
                    d["unit"].as_str().unwrap_or("None").to_string(),
                ));
                p.push((format!("{m}.Timestamp"), ts.clone()));
                let dims = d["dimensions"].as_array().map(|a| a.as_slice());
                for (j, kv) in dims.unwrap_or_default().iter().enumerate() {
                    let n = format!("{m}.Dimensions.member.{}", j + 1);
                    p.push((
                        format!("{n}.Name"),
                        kv[0].as_str().unwrap_or_default().to_string(),
                    ));
                    p.push((
                        format!("{n}.Value"),
                        kv[1].as_str().unwrap_or_default().to_string(),
                    ));
                }
            }
            p
        })
        .collect()
}

async fn put_metrics(
    cw: &ApiClient,
    namespace: &str,
    body: &serde_json::Value,
    timestamp_ms: i64,
    budget: Duration,
) -> Result<(), ErrorInfo> {
    for params in metric_params(namespace, body, timestamp_ms) {
        cw.call("PutMetricData", &params, budget).await?;
    }
    Ok(())
}

async fn put_log_event(
    logs: &ApiClient,
    group: &str,
    stream: &str,
    body: &serde_json::Value,
    timestamp_ms: i64,
    budget: Duration,
) -> Result<(), ErrorInfo> {
    use serde_json::json;
    let put = json!({
        "logGroupName": group,
        "logStreamName": stream,
        "logEvents": [{"timestamp": timestamp_ms, "message": body.to_string()}],
    });
    let stream_input = json!({"logGroupName": group, "logStreamName": stream});
    let send = || logs.call_json("PutLogEvents", &put, budget);
    let create_stream = || logs.call_json("CreateLogStream", &stream_input, budget);
    let is = |i: &ErrorInfo, code: &str| i.code.service() == Some(code);
    match send().await {
        Ok(_) => Ok(()),
        Err(info) => {
            if !is(&info, "ResourceNotFoundException") {
                return Err(info);
            }
            // Create what is missing (when allowed): the stream first, the group only when
            // that says the group is missing too; then try once more.
            let exists = |i: &ErrorInfo| is(i, "ResourceAlreadyExistsException");
            if let Err(i) = create_stream().await {
                if is(&i, "ResourceNotFoundException") {
                    let group_input = json!({"logGroupName": group});
                    if let Err(i) = logs.call_json("CreateLogGroup", &group_input, budget).await
                        && !exists(&i)
                    {
                        return Err(i);
                    }
                    if let Err(i) = create_stream().await
                        && !exists(&i)
                    {
                        return Err(i);
                    }
                } else if !exists(&i) {
                    return Err(i);
                }
            }
            send().await.map(|_| ())
        }
    }
}

/// Deliver `report` to every configured sink, spooled payloads first, with `sdk`'s
/// credentials, region and endpoint settings on `connector`; all sinks together are bounded by
/// `cfg.timeout`. Never fails: each outcome says what happened.
pub async fn deliver(
    sdk: &SdkConfig,
    connector: &SharedHttpConnector,
    report: &Report,
    cfg: &SinkConfig,
    default_stream: &str,
) -> Vec<SinkOutcome> {
    let mut out = Vec::new();
    // One deadline for all sinks together.
    let until = tokio::time::Instant::now() + cfg.timeout;
    for &sink in &cfg.sinks {
        let budget = until
            .checked_duration_since(tokio::time::Instant::now())
            .unwrap_or_default()
            .max(Duration::from_millis(1));
        let stale = std::cell::Cell::new(0usize);
        let spool = Spool::new(cfg.state_dir.clone(), sink.as_str());
        let ts = now_ms();
        let payload = Payload {
            body: match sink {
                SinkKind::CloudwatchMetrics => datums_json(&datums_for(
                    report,
                    cfg.instance_dimension.then_some(default_stream),
                )),
                SinkKind::CloudwatchLogs => emf_event(report, &cfg.namespace, ts),
            },
            timestamp_ms: ts,
        };
        let stream = cfg
            .log_stream
            .clone()
            .unwrap_or_else(|| default_stream.to_string());
        let region = sdk.region().map(|r| r.as_ref().to_string());
        let region = region.as_deref().unwrap_or(&report.region);
        let api = ApiClient::new(
            match sink {
                SinkKind::CloudwatchMetrics => &CLOUDWATCH,
                SinkKind::CloudwatchLogs => &CLOUDWATCH_LOGS,
            },
            sdk,
            region,
            connector.clone(),
        );
        let send = |p: Payload| {
            let (api, stream) = (&api, stream.clone());
            let ns = cfg.namespace.clone();
            let group = cfg.log_group.clone();
            async move {
                // each call may use what is left of the sinks' deadline (the whole is bounded
                // below)
                let left = until
                    .checked_duration_since(tokio::time::Instant::now())
                    .unwrap_or_default()
                    .max(Duration::from_millis(1));
                match sink {
                    SinkKind::CloudwatchMetrics => {
                        put_metrics(api, &ns, &p.body, p.timestamp_ms, left).await
                    }
                    SinkKind::CloudwatchLogs => {
                        put_log_event(api, &group, &stream, &p.body, p.timestamp_ms, left).await
                    }
                }
            }
        };
        let work = async {
            // Earlier runs' payloads first, oldest first; stop at the first failure.
            let mut resent = 0;
            for path in spool.pending() {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let Ok(p) = serde_json::from_str::<Payload>(&text) else {
                    let _ = std::fs::remove_file(&path); // unreadable: never deliverable
                    continue;
                };
                // CloudWatch refuses data older than two weeks: such a payload could only
                // block the spool, so it is dropped (and counted).
                if now_ms() - p.timestamp_ms > STALE_MS {
                    let _ = std::fs::remove_file(&path);
                    stale.set(stale.get() + 1);
                    continue;
                }
                send(p).await?;
                let _ = std::fs::remove_file(&path);
                resent += 1;
            }
            Ok::<usize, ErrorInfo>(resent)
        };
        let started = tokio::time::timeout(budget, async {
            let resent = work.await;
            match resent {
                Ok(n) => send(Payload {
                    body: payload.body.clone(),
                    timestamp_ms: ts,
                })
                .await
                .map(|_| n),
                Err(e) => Err(e),
            }
        })
        .await;
        let result = match started {
            Ok(r) => r,
            Err(_) => Err(ErrorInfo::new(
                Phase::Connect,
                ErrorCode::Timeout,
                format!(
                    "{}: no answer within {} ms",
                    sink.as_str(),
                    budget.as_millis()
                ),
            )),
        };
        match result {
            Ok(resent) => out.push(SinkOutcome {
                sink,
                ok: true,
                resent,
                spooled: false,
                dropped: stale.get(),
                error: None,
                spool_error: None,
            }),
            Err(e) => {
                let text = serde_json::to_string(&payload).unwrap_or_default();
                let (spooled, dropped, spool_error) = match spool.put(&report.run_id, &text) {
                    Ok(d) => (true, d + stale.get(), None),
                    Err(e) => (
                        false,
                        stale.get(),
                        Some(format!("{}: {e}", spool.location())),
                    ),
                };
                out.push(SinkOutcome {
                    sink,
                    ok: false,
                    resent: 0,
                    spooled,
                    dropped,
                    error: Some(e),
                    spool_error,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datums_become_put_metric_data_members_with_their_dimensions() {
        let body = serde_json::json!([
            {"name": "RunSuccess", "value": 1.0, "unit": "Count", "dimensions": []},
            {"name": "CheckLatency", "value": 12.5, "unit": "Milliseconds",
             "dimensions": [["Bucket", "b"], ["Check", "s3_put"]]},
        ]);
        let calls = metric_params("VpceProbe", &body, 1_764_465_000_123);
        assert_eq!(calls.len(), 1);
        let p: std::collections::HashMap<&str, &str> = calls[0]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(p["Namespace"], "VpceProbe");
        assert_eq!(p["MetricData.member.1.MetricName"], "RunSuccess");
        assert_eq!(p["MetricData.member.1.Value"], "1");
        assert_eq!(p["MetricData.member.1.Unit"], "Count");
        assert_eq!(
            p["MetricData.member.1.Timestamp"],
            "2025-11-30T01:10:00.123Z"
        );
        assert!(!p.contains_key("MetricData.member.1.Dimensions.member.1.Name"));
        assert_eq!(p["MetricData.member.2.Value"], "12.5");
        assert_eq!(p["MetricData.member.2.Dimensions.member.1.Name"], "Bucket");
        assert_eq!(p["MetricData.member.2.Dimensions.member.2.Name"], "Check");
        assert_eq!(p["MetricData.member.2.Dimensions.member.2.Value"], "s3_put");
    }

    #[test]
    fn more_than_1000_datums_take_several_calls() {
        let one = serde_json::json!({"name": "M", "value": 1.0, "unit": "None", "dimensions": []});
        let body = serde_json::Value::Array(vec![one; 2001]);
        let calls = metric_params("N", &body, 0);
        let members = |c: &Vec<(String, String)>| {
            c.iter().filter(|(k, _)| k.ends_with(".MetricName")).count()
        };
        assert_eq!(
            calls.iter().map(members).collect::<Vec<_>>(),
            [1000, 1000, 1]
        );
        assert!(
            calls
                .iter()
                .all(|c| c[0] == ("Namespace".into(), "N".into()))
        );
    }
}
