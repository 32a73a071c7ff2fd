//! Sinks: where a report goes besides stdout — CloudWatch metrics (`PutMetricData`, batched)
//! and CloudWatch Logs (one EMF event per run). A sink that fails is a finding, not a crash:
//! the report still reaches stdout, its payload is spooled under the state directory and the
//! next run sends it first.
//!
//! aws-sdk-cloudwatch is pinned to 1.99 (the last Query-protocol release, still accepted by
//! AWS): newer releases speak Smithy RPCv2-CBOR, which the local emulator (moto) does not serve.

pub mod spool;

use std::time::Duration;

use aws_config::SdkConfig;
use serde::Serialize;

use crate::aws::classify_sdk_error;
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

async fn put_metrics(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    body: &serde_json::Value,
    timestamp_ms: i64,
) -> Result<(), ErrorInfo> {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    let ts = aws_smithy_types::DateTime::from_millis(timestamp_ms);
    let all: Vec<MetricDatum> = body
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let dims = d["dimensions"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|kv| {
                    Dimension::builder()
                        .name(kv[0].as_str().unwrap_or_default())
                        .value(kv[1].as_str().unwrap_or_default())
                        .build()
                })
                .collect::<Vec<_>>();
            MetricDatum::builder()
                .metric_name(d["name"].as_str().unwrap_or_default())
                .value(d["value"].as_f64().unwrap_or_default())
                .unit(StandardUnit::from(d["unit"].as_str().unwrap_or("None")))
                .timestamp(ts)
                .set_dimensions(Some(dims))
                .build()
        })
        .collect();
    // PutMetricData takes at most 1000 datums per call.
    for chunk in all.chunks(1000) {
        cw.put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| classify_sdk_error(&e, &Default::default()))?;
    }
    Ok(())
}

async fn put_log_event(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    body: &serde_json::Value,
    timestamp_ms: i64,
) -> Result<(), ErrorInfo> {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let event = InputLogEvent::builder()
        .timestamp(timestamp_ms)
        .message(body.to_string())
        .build()
        .map_err(|e| ErrorInfo::new(Phase::Config, ErrorCode::BadLogEvent, e.to_string()))?;
    let send = || {
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .log_events(event.clone())
            .send()
    };
    match send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let info = classify_sdk_error(&e, &Default::default());
            if info.code.service() != Some("ResourceNotFoundException") {
                return Err(info);
            }
            // Create what is missing (when allowed): the stream first, the group only when
            // that says the group is missing too; then try once more.
            let create_stream = || {
                logs.create_log_stream()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .send()
            };
            let exists = |i: &ErrorInfo| i.code.service() == Some("ResourceAlreadyExistsException");
            if let Err(e) = create_stream().await {
                let i = classify_sdk_error(&e, &Default::default());
                if i.code.service() == Some("ResourceNotFoundException") {
                    if let Err(e) = logs.create_log_group().log_group_name(group).send().await {
                        let i = classify_sdk_error(&e, &Default::default());
                        if !exists(&i) {
                            return Err(i);
                        }
                    }
                    if let Err(e) = create_stream().await {
                        let i = classify_sdk_error(&e, &Default::default());
                        if !exists(&i) {
                            return Err(i);
                        }
                    }
                } else if !exists(&i) {
                    return Err(i);
                }
            }
            send()
                .await
                .map(|_| ())
                .map_err(|e| classify_sdk_error(&e, &Default::default()))
        }
    }
}

/// Deliver `report` to every configured sink, spooled payloads first; all sinks together are
/// bounded by `cfg.timeout`. Never fails: each outcome says what happened.
pub async fn deliver(
    sdk: &SdkConfig,
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
        let cw = aws_sdk_cloudwatch::Client::new(sdk);
        let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
        let send = |p: Payload| {
            let (cw, logs, stream) = (cw.clone(), logs.clone(), stream.clone());
            let ns = cfg.namespace.clone();
            let group = cfg.log_group.clone();
            async move {
                match sink {
                    SinkKind::CloudwatchMetrics => {
                        put_metrics(&cw, &ns, &p.body, p.timestamp_ms).await
                    }
                    SinkKind::CloudwatchLogs => {
                        put_log_event(&logs, &group, &stream, &p.body, p.timestamp_ms).await
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
