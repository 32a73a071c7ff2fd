//! PURE: what the judged checks share, derived from the evidence once per bucket: the path
//! verdict, the addresses, the requests the probe made as IAM action + resource, the condition
//! context on that path, and IAM-style evaluation of a policy for those requests.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::diagnose::model::{ActionDecision, Status};
use crate::diagnose::path::{
    self, Cidr, PathInput, PathVerdict, Route, RouteDestination, RouteState, RouteTable, Verdict,
};
use crate::diagnose::policy::{self, Decision, Policy};
use crate::evidence::{EndpointType, Evidence, RouteTableEvidence, S3Op, TargetEvidence};

/// One request the probe made: the operation, its IAM action and resource ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub op: S3Op,
    pub action: &'static str,
    pub resource: String,
}

/// The route table as `path` understands it (unparseable destinations are dropped).
pub fn route_table(rt: &RouteTableEvidence) -> RouteTable {
    RouteTable {
        id: rt.id.clone(),
        main: rt.main,
        routes: rt
            .routes
            .iter()
            .filter_map(|r| {
                let destination = if r.destination.starts_with("pl-") {
                    RouteDestination::PrefixList(r.destination.clone())
                } else {
                    RouteDestination::Cidr(path::parse_cidr(&r.destination).ok()?)
                };
                Some(Route {
                    destination,
                    target: r.target.clone(),
                    state: if r.state.eq_ignore_ascii_case("blackhole") {
                        RouteState::Blackhole
                    } else {
                        RouteState::Active
                    },
                })
            })
            .collect(),
    }
}

fn cidrs(list: &[String]) -> Vec<Cidr> {
    list.iter()
        .filter_map(|c| path::parse_cidr(c).ok())
        .collect()
}

/// The VPC's CIDR blocks, as IMDS reported them.
pub fn vpc_cidrs(ev: &Evidence) -> Vec<Cidr> {
    ev.instance()
        .map(|i| cidrs(&i.vpc_cidrs))
        .unwrap_or_default()
}

/// The addresses of a bucket: the peer actually used first (that of the last request, which
/// went to the bucket's own region when the probe followed it), then what DNS answered.
pub fn addresses(t: &TargetEvidence) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    // Through a proxy the peer is the proxy, not S3.
    if t.via_proxy.is_none()
        && let Some(p) = peer(t)
    {
        out.push(p.ip());
    }
    for l in t.dns.iter().flat_map(|d| d.lookups.iter()) {
        for r in &l.records {
            if !out.contains(&r.address) {
                out.push(r.address);
            }
        }
    }
    out
}

/// The peer of the bucket's S3 requests: that of the last signed request that connected, else
/// that of the unsigned request (`s3_unsigned`).
pub fn peer(t: &TargetEvidence) -> Option<std::net::SocketAddr> {
    t.ops
        .iter()
        .rev()
        .find_map(|o| o.meta.peer)
        .or_else(|| t.unsigned.as_ref().and_then(|u| u.meta.peer))
}

/// The proxy fields of the path input.
fn proxy_of(t: &TargetEvidence) -> (Option<String>, Option<String>) {
    (
        t.via_proxy.clone(),
        t.via_proxy
            .as_ref()
            .and_then(|_| peer(t))
            .map(|p| p.to_string()),
    )
}

/// The S3 connection the firewall checks judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Flow {
    /// The peer of the S3 requests, else DNS's first address.
    pub address: IpAddr,
    /// The peer's port, else the endpoint override's, else 443.
    pub port: u16,
    /// The local (ephemeral) port of a connection that was made.
    pub local_port: Option<u16>,
    /// A request to `address` got an HTTP answer: the traffic demonstrably passed.
    pub answered: bool,
}

/// The S3 connection of a bucket, when an address is known.
pub fn s3_flow(t: &TargetEvidence) -> Option<S3Flow> {
    let address = *addresses(t).first()?;
    let made = || t.ops.iter().filter(|o| o.attempted());
    let peer = made().rev().find_map(|o| o.meta.peer);
    let port = match peer {
        Some(p) if p.ip() == address => p.port(),
        _ => t.endpoint_port.unwrap_or(443),
    };
    Some(S3Flow {
        address,
        port,
        local_port: made().rev().find_map(|o| o.meta.local).map(|l| l.port()),
        answered: made().any(|o| {
            o.meta.http_status.is_some() && o.meta.peer.is_some_and(|p| p.ip() == address)
        }),
    })
}

/// The CIDR of the S3 prefix list that holds `ip` (with the list's id), when known.
pub fn s3_cidr_of(ev: &Evidence, ip: IpAddr) -> Option<(Option<String>, Cidr)> {
    let pl = &ev.network.as_ref()?.prefix_list;
    cidrs(&pl.cidrs)
        .into_iter()
        .find(|c| path::cidr_contains(c, ip))
        .map(|c| (pl.id.clone(), c))
}

/// Is `ip` in prefix list `id`? `None` when its entries are unknown.
pub fn prefix_list_holds(ev: &Evidence, id: &str, ip: IpAddr) -> Option<bool> {
    let net = ev.network.as_ref()?;
    let list = if net.prefix_list.id.as_deref() == Some(id) {
        Some(&net.prefix_list.cidrs).filter(|c| !c.is_empty())
    } else {
        net.other_prefix_lists.get(id)
    }?;
    Some(cidrs(list).iter().any(|c| path::cidr_contains(c, ip)))
}

/// Does the CIDR string hold `ip` (an unparseable one does not)?
pub fn cidr_holds(cidr: &str, ip: IpAddr) -> bool {
    path::parse_cidr(cidr).is_ok_and(|c| path::cidr_contains(&c, ip))
}

/// Why there is no network evidence.
pub fn no_network_reason(ev: &Evidence) -> String {
    if ev.instance().is_none() {
        "not on EC2: no VPC context from IMDS".into()
    } else if ev.credentials.provider.is_none() {
        "no credentials to ask the EC2 API".into()
    } else {
        "the instance's VPC or subnet is unknown (IMDS network/interfaces)".into()
    }
}

/// The path verdict of one bucket.
pub fn path_of(ev: &Evidence, t: &TargetEvidence) -> PathVerdict {
    let vpc_cidrs = vpc_cidrs(ev);
    let Some(net) = &ev.network else {
        let (proxy, proxy_peer) = proxy_of(t);
        return path::path_verdict(&PathInput {
            addresses: addresses(t),
            vpc_cidrs,
            route_table_error: Some(no_network_reason(ev)),
            proxy,
            proxy_peer,
            ..Default::default()
        });
    };
    let mut prefix_lists: HashMap<String, Vec<Cidr>> = net
        .other_prefix_lists
        .iter()
        .map(|(k, v)| (k.clone(), cidrs(v)))
        .collect();
    // ip-ranges carries no prefix-list id: its ranges still classify the addresses.
    let s3_pl = match (&net.prefix_list.id, net.prefix_list.cidrs.is_empty()) {
        (Some(id), _) => Some((id.clone(), cidrs(&net.prefix_list.cidrs))),
        (None, false) => Some(("ip-ranges".to_string(), cidrs(&net.prefix_list.cidrs))),
        (None, true) => None,
    };
    if let Some((id, c)) = &s3_pl {
        prefix_lists.insert(id.clone(), c.clone());
    }
    let (proxy, proxy_peer) = proxy_of(t);
    let mut v = path::path_verdict(&PathInput {
        proxy,
        proxy_peer,
        addresses: addresses(t),
        vpc_cidrs,
        s3_prefix_list: s3_pl,
        route_table: net.route_table.as_ref().map(route_table),
        route_table_error: net.route_table_error.as_ref().map(|e| e.message.clone()),
        prefix_lists,
    });
    // The gateway endpoint only serves buckets in its own region.
    if v.verdict == Verdict::GatewayEndpoint
        && let Some(br) = t.other_region(ev.vpc_region())
    {
        v.evidence.push(format!(
            "bucket is in {br}: the {} gateway endpoint does not serve it",
            ev.vpc_region()
        ));
    }
    v
}

/// The ids of the VPC's S3 gateway endpoints.
pub fn gateway_endpoints(ev: &Evidence) -> Vec<&str> {
    ev.network
        .iter()
        .flat_map(|n| n.endpoints_of(EndpointType::Gateway))
        .map(|e| e.id.as_str())
        .collect()
}

/// The S3 requests this run made, as IAM action + resource.
pub fn performed_requests(t: &TargetEvidence) -> Vec<ProbeRequest> {
    let object = |k: &str| format!("arn:aws:s3:::{}/{k}", t.bucket);
    t.ops
        .iter()
        .filter(|o| o.attempted())
        .map(|o| ProbeRequest {
            op: o.op,
            action: o.op.iam_action(),
            resource: match o.op {
                S3Op::Get => object(t.user_key.as_deref().unwrap_or(&t.probe_key)),
                S3Op::Put | S3Op::Delete => object(&t.probe_key),
                _ => format!("arn:aws:s3:::{}", t.bucket),
            },
        })
        .collect()
}

/// Does the path bypass every endpoint (so `aws:SourceVpce`/`aws:SourceVpc` are absent)?
pub fn via_public(path: &PathVerdict) -> bool {
    matches!(
        path.verdict,
        Verdict::InternetGateway | Verdict::NatGateway | Verdict::Other
    )
}

/// The condition context the probe knows for requests on this path.
pub fn condition_context(ev: &Evidence, path: &PathVerdict) -> HashMap<String, String> {
    let mut ctx = HashMap::new();
    let inst = ev.instance();
    let vpce = match path.verdict {
        Verdict::GatewayEndpoint => path.vpc_endpoint_id.clone(),
        Verdict::InterfaceEndpoint => ev
            .network
            .iter()
            .flat_map(|n| n.endpoints_of(EndpointType::Interface))
            .map(|e| e.id.clone())
            .next(),
        _ => return ctx,
    };
    if let Some(v) = vpce {
        ctx.insert("aws:SourceVpce".to_string(), v);
    }
    if let Some(vpc) = inst.and_then(|i| i.vpc_id.clone()) {
        ctx.insert("aws:SourceVpc".to_string(), vpc);
    }
    if let Some(ip) = inst.and_then(|i| i.local_ipv4.clone()) {
        ctx.insert("aws:SourceIp".to_string(), ip);
    }
    ctx
}

/// Evaluate `policy` for each request, as the caller (when known), on this path. One decision
/// per (action, resource), in request order; the operations keep their own decision.
pub fn evaluate(
    ev: &Evidence,
    policy: &Policy,
    requests: &[ProbeRequest],
    context: &HashMap<String, String>,
    absent: &[&str],
) -> (Vec<(S3Op, Decision)>, Vec<ActionDecision>) {
    let principal = ev.caller_arn();
    let mut per_op = Vec::new();
    let mut decisions: Vec<ActionDecision> = Vec::new();
    for r in requests {
        let req = policy::Request {
            action: r.action.to_string(),
            resource: r.resource.clone(),
            principal_arn: principal.clone(),
            context: context.clone(),
            absent_keys: absent.iter().map(|k| k.to_string()).collect(),
        };
        let e = policy::evaluate(policy, &req);
        per_op.push((r.op, e.decision));
        if !decisions
            .iter()
            .any(|d| d.action == r.action && d.resource == r.resource)
        {
            decisions.push(ActionDecision {
                action: r.action.to_string(),
                resource: r.resource.clone(),
                decision: e.decision,
                statements: e.statements,
                unknown_conditions: e.unknown_conditions,
            });
        }
    }
    (per_op, decisions)
}

/// The status and hint of a policy check from its decisions.
pub fn policy_status(decisions: &[ActionDecision], what: &str) -> (Status, Option<String>) {
    let list = |want: &dyn Fn(Decision) -> bool| -> Vec<&str> {
        decisions
            .iter()
            .filter(|d| want(d.decision))
            .map(|d| d.action.as_str())
            .collect()
    };
    let denied = list(&|d| matches!(d, Decision::ExplicitDeny | Decision::ImplicitDeny));
    let conditional = list(&|d| d == Decision::Conditional);
    if !denied.is_empty() {
        (
            Status::Fail,
            Some(format!("{what} does not allow {}", denied.join(", "))),
        )
    } else if !conditional.is_empty() {
        (
            Status::Warn,
            Some(format!(
                "{what} allows {} only under conditions the probe cannot evaluate",
                conditional.join(", ")
            )),
        )
    } else {
        (Status::Pass, None)
    }
}

/// The report name of a path verdict (`gateway_endpoint`, ...).
pub fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|x| x.as_str().map(str::to_string))
        .unwrap_or_default()
}
