//! Unit tests of the pure watch logic: transitions between two reports, episodes and their
//! propagation delay, the summary, the JSON line, the schedule.

use std::time::{Duration, SystemTime};

use super::*;
use crate::diagnose::path::Verdict;
use crate::diagnose::{CheckName, Component, Finding, FindingCode, Severity, Status, diagnose};
use crate::report::model::Report;
use crate::testutil::healthy_evidence;

pub(crate) fn healthy() -> Report {
    let ev = healthy_evidence();
    Report::build(&ev, &diagnose(&ev, &[]))
}

/// What a removed endpoint route looks like in the report: via the IGW, `route` failing,
/// `gateway_endpoint_not_on_route_table` raised, the run not ok.
pub(crate) fn route_removed() -> Report {
    let mut r = healthy();
    let t = &mut r.targets[0];
    t.path.verdict = Verdict::InternetGateway;
    t.checks
        .iter_mut()
        .find(|c| c.name == CheckName::Route)
        .expect("a route check")
        .status = Status::Fail;
    let f = Finding {
        code: FindingCode::GatewayEndpointNotOnRouteTable,
        severity: Severity::Error,
        component: Component::Network,
        message: "the endpoint is not on the route table".into(),
        hint: "add it".into(),
    };
    t.findings.push(f.clone());
    t.ok = false;
    r.findings.push(f);
    r.ok = false;
    r
}

pub(crate) fn t(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
}

#[test]
fn the_healthy_base_is_healthy() {
    let r = healthy();
    assert!(r.ok, "{:?}", r.findings);
    assert_eq!(r.targets.len(), 1);
    assert!(
        r.targets[0]
            .checks
            .iter()
            .any(|c| c.name == CheckName::Route)
    );
}

#[test]
fn same_reports_have_no_transition() {
    assert!(diff(&healthy(), &healthy(), 2, t(1)).is_empty());
    assert!(diff(&route_removed(), &route_removed(), 2, t(1)).is_empty());
}

#[test]
fn a_removed_route_is_a_path_a_check_and_a_finding_in_that_order() {
    let ts = diff(&healthy(), &route_removed(), 3, t(10));
    let bucket = healthy().targets[0].bucket.clone();
    assert_eq!(
        ts.iter().map(|t| t.change.clone()).collect::<Vec<_>>(),
        vec![
            Change::Path {
                from: Verdict::GatewayEndpoint,
                to: Verdict::InternetGateway
            },
            Change::Check {
                check: CheckName::Route,
                from: Status::Pass,
                to: Status::Fail
            },
            Change::FindingAppeared {
                code: FindingCode::GatewayEndpointNotOnRouteTable
            },
        ]
    );
    assert!(ts.iter().all(|x| x.cycle == 3 && x.at == t(10)));
    assert!(
        ts.iter()
            .all(|x| x.bucket.as_deref() == Some(bucket.as_str()))
    );
    // and back: the same three, reversed in direction
    let back = diff(&route_removed(), &healthy(), 4, t(20));
    assert_eq!(back.len(), 3);
    assert_eq!(
        back[2].change,
        Change::FindingGone {
            code: FindingCode::GatewayEndpointNotOnRouteTable
        }
    );
}

#[test]
fn run_wide_checks_and_findings_have_no_bucket() {
    let mut next = healthy();
    next.checks[0].status = Status::Fail;
    let f = Finding {
        code: FindingCode::NoCredentials,
        severity: Severity::Error,
        component: Component::Credentials,
        message: "m".into(),
        hint: "h".into(),
    };
    next.findings.insert(0, f);
    let ts = diff(&healthy(), &next, 2, t(5));
    assert_eq!(ts.len(), 2, "{ts:?}");
    assert!(ts.iter().all(|t| t.bucket.is_none()));
    assert!(matches!(ts[0].change, Change::Check { .. }));
    assert_eq!(
        ts[1].change,
        Change::FindingAppeared {
            code: FindingCode::NoCredentials
        }
    );
}

#[test]
fn a_bucket_only_in_one_report_is_not_a_transition() {
    let mut next = healthy();
    next.targets[0].bucket = "another-bucket".into();
    next.targets[0].path.verdict = Verdict::NatGateway;
    assert!(diff(&healthy(), &next, 2, t(1)).is_empty());
}

#[test]
fn recovery_measures_from_the_first_failure() {
    let mut h = History::new();
    let o1 = h.observe(t(0), &healthy());
    assert_eq!((o1.cycle, o1.health), (1, Health::Same));
    assert!(
        o1.transitions.is_empty(),
        "the first cycle has nothing to compare with"
    );
    let o2 = h.observe(t(1), &route_removed());
    let Health::Failed(e) = o2.health else {
        panic!("{:?}", o2.health)
    };
    assert_eq!((e.failed_cycle, e.failed_at), (2, t(1)));
    assert_eq!(o2.transitions.len(), 3);
    let o3 = h.observe(t(2), &route_removed());
    assert_eq!(o3.health, Health::Same);
    assert!(o3.transitions.is_empty());
    let o4 = h.observe_error(t(3));
    assert_eq!(o4.health, Health::Same, "an error while failing extends it");
    let o5 = h.observe(t(5), &healthy());
    let Health::Recovered(e) = o5.health else {
        panic!("{:?}", o5.health)
    };
    assert_eq!(e.delay(), Some(Duration::from_secs(4)));
    assert_eq!(e.last_failed_at, t(3));
    assert_eq!(e.recovered, Some((5, t(5))));
    // the transitions compare with the last report, not with the error
    assert_eq!(o5.transitions.len(), 3);

    let s = h.summary();
    assert_eq!((s.cycles, s.failed_cycles), (5, 3));
    assert_eq!(s.span, Some((t(0), t(5))));
    assert_eq!(s.transitions.len(), 6);
    assert_eq!(s.episodes.len(), 1);
    assert_eq!(s.last, Some(Outcome::Ok));
}

#[test]
fn a_watch_that_starts_failing_counts_from_its_first_cycle_and_may_end_failing() {
    let mut h = History::new();
    assert!(matches!(
        h.observe(t(0), &route_removed()).health,
        Health::Failed(_)
    ));
    assert!(matches!(
        h.observe(t(2), &healthy()).health,
        Health::Recovered(_)
    ));
    assert!(matches!(
        h.observe(t(4), &route_removed()).health,
        Health::Failed(_)
    ));
    let s = h.summary();
    assert_eq!(s.episodes.len(), 2);
    assert_eq!(s.episodes[0].delay(), Some(Duration::from_secs(2)));
    assert_eq!(s.episodes[1].delay(), None);
    assert_eq!(s.last, Some(Outcome::Failed));
}

#[test]
fn an_empty_watch_has_no_last_outcome() {
    let h = History::new();
    let s = h.summary();
    assert_eq!((s.cycles, s.last, s.span), (0, None, None));
}

#[test]
fn cycles_never_overlap() {
    let i = Duration::from_secs(5);
    assert_eq!(next_start(t(0), t(2), i), t(5), "a short cycle waits");
    assert_eq!(
        next_start(t(0), t(7), i),
        t(7),
        "a long cycle: the next starts at once"
    );
    assert_eq!(next_start(t(0), t(5), i), t(5));
}

#[test]
fn a_transition_serializes_flat() {
    let ts = diff(&healthy(), &route_removed(), 3, t(10));
    let v = serde_json::to_value(&ts).unwrap();
    assert_eq!(v[0]["kind"], "path");
    assert_eq!(v[0]["from"], "gateway_endpoint");
    assert_eq!(v[0]["to"], "internet_gateway");
    assert_eq!(v[0]["cycle"], 3);
    assert_eq!(v[0]["at"], "2027-01-15T08:00:10Z");
    assert_eq!(v[1]["kind"], "check");
    assert_eq!(v[1]["check"], "route");
    assert_eq!(v[1]["from"], "pass");
    assert_eq!(v[2]["kind"], "finding_appeared");
    assert_eq!(v[2]["code"], "gateway_endpoint_not_on_route_table");
}

#[test]
fn a_watch_line_is_the_report_with_a_watch_block() {
    let r = healthy();
    let ts = diff(&healthy(), &route_removed(), 2, t(1));
    let line = WatchLine {
        report: &r,
        watch: WatchBlock {
            cycle: 2,
            interval_ms: 5000,
            transitions: &ts,
            recovered_after_ms: Some(1234),
        },
    };
    let s = serde_json::to_string(&line).unwrap();
    assert!(!s.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["schema"], "vpce-probe/report/v1");
    assert_eq!(v["targets"], serde_json::to_value(&r).unwrap()["targets"]);
    assert_eq!(v["watch"]["cycle"], 2);
    assert_eq!(v["watch"]["interval_ms"], 5000);
    assert_eq!(v["watch"]["recovered_after_ms"], 1234);
    assert_eq!(v["watch"]["transitions"].as_array().unwrap().len(), 3);
}
