//! The `route` check: does the subnet's route table send the bucket's S3 traffic through the
//! gateway endpoint, and if not, which route (or missing association) is to blame.

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::inputs::{gateway_endpoints, route_table};
use crate::diagnose::model::{CheckVerdict, Finding, Severity, Status};
use crate::diagnose::path::{self, PathVerdict, Route, RouteDestination, Verdict};
use crate::evidence::{Evidence, TargetEvidence};

/// Judge one bucket's route; traffic that leaves through NAT or an internet gateway because the
/// requests are for another region than the instance's says so.
pub fn judge(ev: &Evidence, t: &TargetEvidence, path: &PathVerdict) -> Judged {
    let mut judged = judge_route(ev, t, path);
    let leaves = matches!(
        path.verdict,
        Verdict::InternetGateway | Verdict::NatGateway | Verdict::Other
    );
    if leaves
        && judged.verdict.status != Status::Pass
        && let Some(cause) = super::region::likely_cause(ev, t)
    {
        let hint = judged.verdict.hint.take().unwrap_or_default();
        judged.verdict.hint = Some(format!("{hint}; {cause}"));
    }
    judged
}

fn judge_route(ev: &Evidence, t: &TargetEvidence, path: &PathVerdict) -> Judged {
    let name = CheckName::Route;
    let rtb = path.route_table_id.clone().unwrap_or_else(|| "?".into());
    let net = ev.network.as_ref();
    let endpoints = gateway_endpoints(ev);
    let table = net.and_then(|n| n.route_table.as_ref()).map(route_table);
    // The endpoint's route: to the S3 prefix list when its id is known, else any prefix-list
    // route to one of the VPC's gateway endpoints (endpoint ids compare case-insensitively).
    let endpoint_route: Option<Route> =
        table
            .as_ref()
            .and_then(|tb| match net.and_then(|n| n.prefix_list.id.as_deref()) {
                Some(pl) => path::gateway_endpoint_route(tb, pl).cloned(),
                None => tb
                    .routes
                    .iter()
                    .find(|r| {
                        matches!(r.destination, RouteDestination::PrefixList(_))
                            && endpoints.iter().any(|e| e.eq_ignore_ascii_case(&r.target))
                    })
                    .cloned(),
            });
    let endpoint_on_table = endpoint_route.is_some();
    // Its prefix list's entries are unknown: it may well hold the S3 address, so the path is
    // not proven, and nothing is blamed.
    let unproven = endpoint_route.as_ref().and_then(|r| match &r.destination {
        RouteDestination::PrefixList(id) if path.unresolved_prefix_lists.contains(id) => {
            Some(id.clone())
        }
        _ => None,
    });
    let not_on_table = || -> Option<Finding> {
        let vpce = endpoints.first().filter(|_| !endpoint_on_table)?;
        Some(FindingCode::GatewayEndpointNotOnRouteTable.finding(
            format!(
                "the S3 gateway endpoint {vpce} exists in the VPC but {rtb} has no route to it"
            ),
            &[("endpoint", vpce), ("route_table", &rtb)],
        ))
    };
    let first_route = path.addresses.first().and_then(|a| a.route.as_ref());
    let via = first_route
        .map(|r| r.route.target.clone())
        .unwrap_or_default();
    let address = path
        .addresses
        .first()
        .map(|a| a.address.to_string())
        .unwrap_or_default();
    match path.verdict {
        Verdict::GatewayEndpoint => match t.other_region(ev.vpc_region()) {
            Some(br) => Judged::quiet(CheckVerdict::with(
                name,
                Status::Warn,
                format!(
                    "the bucket is in {br}: a gateway endpoint serves only {} buckets",
                    ev.vpc_region()
                ),
            )),
            None => Judged::quiet(CheckVerdict::pass(name)),
        },
        Verdict::InterfaceEndpoint => Judged::quiet(CheckVerdict::with(
            name,
            Status::Warn,
            "traffic goes to an interface endpoint (a VPC address), not the gateway endpoint",
        )),
        Verdict::InternetGateway | Verdict::NatGateway | Verdict::Other => {
            if let Some(pl) = &unproven {
                return Judged::quiet(CheckVerdict::with(
                    name,
                    Status::Warn,
                    format!(
                        "S3 traffic to {address} may leave through {via}: {rtb} routes {pl} to the gateway endpoint, but the entries of {pl} are unknown (see the prefix_list check)"
                    ),
                ));
            }
            if let Some(vpce) = &path.overridden_endpoint {
                let matched = first_route
                    .map(|r| r.matched.to_string())
                    .unwrap_or_default();
                let f = FindingCode::SpecificRouteOverridesEndpoint.finding(
                    format!("{matched} → {via} in {rtb} overrides the S3 gateway endpoint {vpce}"),
                    &[
                        ("cidr", &matched),
                        ("target", &via),
                        ("route_table", &rtb),
                        ("endpoint", vpce),
                    ],
                );
                return Judged::with(CheckVerdict::with(name, Status::Fail, f.hint.clone()), f);
            }
            if endpoints.is_empty() {
                let vpc = ev
                    .instance()
                    .and_then(|i| i.vpc_id.clone())
                    .unwrap_or_default();
                let f = FindingCode::NoGatewayEndpoint.finding(
                    format!("S3 traffic leaves through {via}: the VPC has no S3 gateway endpoint"),
                    &[("vpc", &vpc), ("region", &ev.region), ("route_table", &rtb)],
                );
                let v = CheckVerdict::with(
                    name,
                    Status::Warn,
                    format!("S3 traffic leaves through {via}, not a gateway endpoint"),
                );
                return Judged::with(v, f);
            }
            if endpoint_on_table {
                // The endpoint is on the table, but this address is not in its prefix list:
                // another region's S3 (or a non-S3 address).
                let why = match t.other_region(ev.vpc_region()) {
                    Some(br) => format!(
                        "the bucket is in {br}, and the {r} gateway endpoint serves only {r} S3 addresses",
                        r = ev.vpc_region()
                    ),
                    None => format!("{address} is not in the {} S3 prefix list", ev.vpc_region()),
                };
                return Judged::quiet(CheckVerdict::with(
                    name,
                    Status::Warn,
                    format!("S3 traffic to {address} leaves through {via}: {why}"),
                ));
            }
            let v = CheckVerdict::with(
                name,
                Status::Fail,
                format!("S3 traffic leaves through {via}: the gateway endpoint is not on {rtb}"),
            );
            Judged {
                verdict: v,
                findings: not_on_table().into_iter().collect(),
            }
        }
        Verdict::NoRoute => {
            let f = FindingCode::NoRouteToS3.finding(
                format!("no route to S3 in {rtb}"),
                &[("route_table", &rtb), ("address", &address)],
            );
            let v = CheckVerdict::with(name, Status::Fail, f.hint.clone());
            let mut findings = vec![f];
            findings.extend(not_on_table());
            Judged {
                verdict: v,
                findings,
            }
        }
        Verdict::Proxy => proxy_in_path(ev, t),
        Verdict::Unknown => Judged::quiet(CheckVerdict::with(
            name,
            Status::Warn,
            format!(
                "path unknown: {}",
                path.unknown_reason.as_deref().unwrap_or("no evidence")
            ),
        )),
    }
}

/// S3 requests go through an HTTP proxy: a warning, or an error when the bucket policy requires
/// this VPC's endpoint (the proxy's traffic does not provably come through it).
fn proxy_in_path(ev: &Evidence, t: &TargetEvidence) -> Judged {
    let name = CheckName::Route;
    let proxy = t.via_proxy.clone().unwrap_or_default();
    let (entry, list) = super::proxy::no_proxy_entry(ev, t);
    let required = super::bucket_policy::source_vpc_requirements(t);
    let why = if required.is_empty() {
        format!(
            "S3 requests go through the proxy {proxy}, not provably through this VPC's gateway endpoint"
        )
    } else {
        format!(
            "S3 requests go through the proxy {proxy}, but the bucket policy of {} admits only {}: requests through the proxy will be denied",
            t.bucket,
            required.join(", ")
        )
    };
    let mut f = FindingCode::ProxyInPath.finding(
        format!("S3 requests go through the HTTP proxy {proxy}"),
        &[
            ("why", &why),
            ("entry", &format!("{entry} (or .amazonaws.com)")),
            ("no_proxy", &list.join(",")),
        ],
    );
    let status = if required.is_empty() {
        Status::Warn
    } else {
        f = f.with_severity(Severity::Error);
        Status::Fail
    };
    Judged::with(CheckVerdict::with(name, status, f.hint.clone()), f)
}
