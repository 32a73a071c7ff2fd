//! PURE: the report as CloudWatch data — metric datums for `PutMetricData` and an Embedded
//! Metric Format (EMF) log event carrying the whole report. No I/O (see `crate::sink`).
//!
//! Metrics (namespace default `VpceProbe`), dimensions kept to a sane cardinality:
//! - `Success` (0/1) and `ViaGatewayEndpoint` (0/1), dimension `Bucket`;
//! - `CheckLatency` (milliseconds) of every check that ran, dimensions `Bucket`, `Check`;
//! - `PhaseLatency` (milliseconds), dimensions `Bucket`, `Phase` (`dns`, `connect`, `tls`, `ttfb`,
//!   `transfer`): the longest of the bucket's S3 requests in that phase (per operation: the
//!   report, in the EMF log, and Prometheus);
//! - `RunSuccess` (0/1), no dimension.

use serde_json::{Value, json};

use crate::diagnose::Status;
use crate::diagnose::path::Verdict;
use crate::evidence::RequestPhase;
use crate::report::model::Report;
use crate::report::phases;

/// One metric datum, SDK-independent.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub name: &'static str,
    pub value: f64,
    /// `Count` or `Milliseconds`.
    pub unit: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
}

/// The datums of a report; with `instance` (`--instance-dimension`), every datum also carries
/// an `InstanceId` dimension (one series per instance: mind the cardinality on large fleets).
pub fn datums_for(r: &Report, instance: Option<&str>) -> Vec<Datum> {
    let mut out = datums(r);
    if let Some(id) = instance {
        for d in &mut out {
            d.dimensions.push(("InstanceId", id.to_string()));
        }
    }
    out
}

/// The datums of a report.
pub fn datums(r: &Report) -> Vec<Datum> {
    let mut out = vec![Datum {
        name: "RunSuccess",
        value: f64::from(u8::from(r.ok)),
        unit: "Count",
        dimensions: vec![],
    }];
    for t in &r.targets {
        let bucket = vec![("Bucket", t.bucket.clone())];
        out.push(Datum {
            name: "Success",
            value: f64::from(u8::from(t.ok)),
            unit: "Count",
            dimensions: bucket.clone(),
        });
        out.push(Datum {
            name: "ViaGatewayEndpoint",
            value: f64::from(u8::from(t.path.verdict == Verdict::GatewayEndpoint)),
            unit: "Count",
            dimensions: bucket.clone(),
        });
        for c in t
            .checks
            .iter()
            .filter(|c| c.status != Status::Skip && c.duration_ms > 0)
        {
            out.push(Datum {
                name: "CheckLatency",
                value: c.duration_ms as f64,
                unit: "Milliseconds",
                dimensions: vec![("Bucket", t.bucket.clone()), ("Check", c.name.to_string())],
            });
        }
        // One datum per phase: the longest of the bucket's S3 requests in that phase (a
        // metric per operation and phase would be 5 × 5 metrics per bucket to pay for).
        let mut longest: Vec<(RequestPhase, std::time::Duration)> = Vec::new();
        for (phase, d) in t
            .checks
            .iter()
            .filter_map(phases::of_check)
            .flat_map(|p| p.phases())
        {
            match longest.iter_mut().find(|(p, _)| *p == phase) {
                Some((_, max)) => *max = (*max).max(d),
                None => longest.push((phase, d)),
            }
        }
        longest.sort();
        for (phase, d) in longest {
            out.push(Datum {
                name: "PhaseLatency",
                value: d.as_secs_f64() * 1000.0,
                unit: "Milliseconds",
                dimensions: vec![("Bucket", t.bucket.clone()), ("Phase", phase.to_string())],
            });
        }
    }
    out
}

/// The EMF log event: the full report under `report`, with the run-level metrics extracted by
/// CloudWatch (per-bucket metrics go through the metrics sink).
pub fn emf_event(r: &Report, namespace: &str, timestamp_ms: i64) -> Value {
    let failed = r.all_checks().filter(|c| c.status == Status::Fail).count();
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": [
                    {"Name": "RunSuccess", "Unit": "Count"},
                    {"Name": "ChecksFailed", "Unit": "Count"},
                ],
            }],
        },
        "RunSuccess": u8::from(r.ok),
        "ChecksFailed": failed,
        "report": r,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::diagnose;
    use crate::testutil::healthy_evidence;

    fn report() -> Report {
        let ev = healthy_evidence();
        Report::build(&ev, &diagnose(&ev, &[]))
    }

    #[test]
    fn datums_of_a_healthy_run() {
        let d = datums(&report());
        let find = |n: &str| d.iter().filter(|x| x.name == n).collect::<Vec<_>>();
        assert_eq!(find("RunSuccess")[0].value, 1.0);
        assert_eq!(
            find("Success")[0].dimensions,
            vec![("Bucket", "fixture-bucket".to_string())]
        );
        assert_eq!(find("ViaGatewayEndpoint")[0].value, 1.0);
        let lat = find("CheckLatency");
        assert!(
            lat.iter().any(|x| x.dimensions[1].1 == "s3_put"
                && x.value == 7.0
                && x.unit == "Milliseconds")
        );
        assert!(
            lat.iter().all(|x| x.value > 0.0),
            "computed checks (0 ms) are not latencies"
        );
    }

    #[test]
    fn phase_latency_is_the_longest_of_the_buckets_requests_per_phase() {
        use crate::evidence::PhaseTimings;
        use std::time::Duration;
        let mut ev = healthy_evidence();
        ev.targets[0].ops[0].meta.phases = Some(PhaseTimings {
            dns_ms: Some(Duration::from_millis(2)),
            connect_ms: Some(Duration::from_millis(1)),
            tls_ms: Some(Duration::from_millis(9)),
            ttfb_ms: Some(Duration::from_millis(3)),
            transfer_ms: Some(Duration::from_millis(1)),
            ..Default::default()
        });
        ev.targets[0].ops[2].meta.phases = Some(PhaseTimings {
            reused: true,
            ttfb_ms: Some(Duration::from_micros(4500)),
            transfer_ms: Some(Duration::from_micros(500)),
            ..Default::default()
        });
        let d = datums(&Report::build(&ev, &diagnose(&ev, &[])));
        let phase: Vec<(String, f64)> = d
            .iter()
            .filter(|x| x.name == "PhaseLatency")
            .map(|x| {
                assert_eq!(x.unit, "Milliseconds");
                assert_eq!(x.dimensions[0], ("Bucket", "fixture-bucket".to_string()));
                assert_eq!(x.dimensions[1].0, "Phase");
                (x.dimensions[1].1.clone(), x.value)
            })
            .collect();
        let want = [
            ("dns", 2.0),
            ("connect", 1.0),
            ("tls", 9.0),
            ("ttfb", 4.5),
            ("transfer", 1.0),
        ];
        assert_eq!(
            phase,
            want.iter()
                .map(|(p, v)| (p.to_string(), *v))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn instance_dimension_is_optional() {
        let r = report();
        assert!(
            datums_for(&r, None)
                .iter()
                .all(|d| d.dimensions.iter().all(|(k, _)| *k != "InstanceId"))
        );
        let with = datums_for(&r, Some("i-0abc"));
        assert!(
            with.iter()
                .all(|d| d.dimensions.last() == Some(&("InstanceId", "i-0abc".to_string())))
        );
        assert_eq!(with.len(), datums(&r).len());
    }

    #[test]
    fn emf_carries_the_report_and_declares_its_metrics() {
        let e = emf_event(&report(), "VpceProbe", 1_700_000_000_000);
        assert_eq!(e["_aws"]["CloudWatchMetrics"][0]["Namespace"], "VpceProbe");
        assert_eq!(e["RunSuccess"], 1);
        assert_eq!(e["ChecksFailed"], 0);
        assert_eq!(e["report"]["schema"], "vpce-probe/report/v1");
        for m in e["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            assert!(
                e.get(m["Name"].as_str().unwrap()).is_some(),
                "EMF metric {m} has a value"
            );
        }
    }
}
