//! PURE: the path analysis of one bucket — where its traffic goes (`path::path_verdict`), what
//! the endpoint and bucket policies say about the probe's requests on that path, and which
//! component explains a denial. Feeds the `dns`, `route`, `endpoint_policy` and
//! `bucket_policy` checks and their findings.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::diagnose::path::{
    self, Cidr, PathInput, PathVerdict, Route, RouteDestination, RouteState, RouteTable, Verdict,
};
use crate::diagnose::policy::{self, Decision, Policy};
use crate::diagnose::{CheckVerdict, Finding, Severity, Status};
use crate::evidence::{
    Evidence, NetworkEvidence, OpOutcome, PrefixListSource, RouteTableEvidence, S3Op,
    TargetEvidence,
};

/// What the user asserts (`--expect-path`, `--expect-access`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    pub path: Option<Verdict>,
    pub access: Option<Access>,
}

/// The access the probe's requests got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Every attempted S3 request succeeded.
    Allow,
    /// At least one S3 request was denied (403).
    Deny,
}

/// One S3 action the probe performed, and what a policy says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionDecision {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
    /// The statements that decided (Sid or `#index`).
    pub statements: Vec<String>,
    /// Conditions the probe could not evaluate.
    pub unknown_conditions: Vec<String>,
}

/// Which component a denied S3 request is blamed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenialCause {
    EndpointPolicy {
        endpoint: String,
    },
    BucketPolicyRequiresEndpoint {
        wanted: Vec<String>,
        used: Option<String>,
    },
    BucketPolicy,
    IdentityPolicy,
    Unattributed,
}

/// Everything decided about one bucket's path.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetAnalysis {
    pub path: PathVerdict,
    pub dns: CheckVerdict,
    pub route: CheckVerdict,
    pub endpoint_policy: CheckVerdict,
    pub endpoint_decisions: Vec<ActionDecision>,
    pub bucket_policy: CheckVerdict,
    pub bucket_decisions: Vec<ActionDecision>,
    pub findings: Vec<Finding>,
    /// Per S3 operation that was denied: who denied it.
    pub denials: BTreeMap<&'static str, DenialCause>,
    pub access: Option<Access>,
}

/// The verdict's report name (`gateway_endpoint`, ...).
pub fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|x| x.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn check(status: Status, hint: Option<String>) -> CheckVerdict {
    CheckVerdict { status, hint }
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
fn vpc_cidrs(ev: &Evidence) -> Vec<Cidr> {
    ev.context
        .instance
        .as_ref()
        .map(|i| cidrs(&i.vpc_cidrs))
        .unwrap_or_default()
}

/// The addresses of a bucket: the peer actually used first (that of the last request, which
/// went to the bucket's own region when the probe followed it), then what DNS answered.
pub fn addresses(t: &TargetEvidence) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    if let Some(p) = t.ops.iter().rev().find_map(|o| o.meta.peer) {
        out.push(p.ip());
    }
    if let Some(dns) = &t.dns {
        for l in &dns.lookups {
            for r in &l.records {
                if !out.contains(&r.address) {
                    out.push(r.address);
                }
            }
        }
    }
    out
}

/// Why there is no network evidence.
fn no_network_reason(ev: &Evidence) -> String {
    if ev.context.instance.is_none() {
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
        let input = PathInput {
            addresses: addresses(t),
            vpc_cidrs,
            route_table_error: Some(no_network_reason(ev)),
            ..Default::default()
        };
        return path::path_verdict(&input);
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
    let input = PathInput {
        addresses: addresses(t),
        vpc_cidrs,
        s3_prefix_list: s3_pl,
        route_table: net.route_table.as_ref().map(route_table),
        route_table_error: net.route_table_error.as_ref().map(|e| e.message.clone()),
        prefix_lists,
    };
    let mut v = path::path_verdict(&input);
    // The gateway endpoint only serves buckets in its own region.
    if v.verdict == Verdict::GatewayEndpoint
        && let Some(br) = &t.bucket_region
        && *br != ev.region
    {
        v.evidence.push(format!(
            "bucket is in {br}: the {} gateway endpoint does not serve it",
            ev.region
        ));
    }
    v
}

/// The S3 requests this run made (or would make), as IAM action + resource.
pub fn performed_actions(t: &TargetEvidence) -> Vec<(S3Op, String, String)> {
    let bucket_arn = format!("arn:aws:s3:::{}", t.bucket);
    let object_arn = |k: &str| format!("arn:aws:s3:::{}/{k}", t.bucket);
    t.ops
        .iter()
        .filter(|o| !matches!(o.outcome, OpOutcome::Skipped(_)))
        .map(|o| {
            let resource = match o.op {
                S3Op::HeadBucket | S3Op::List => bucket_arn.clone(),
                S3Op::Get => object_arn(t.user_key.as_deref().unwrap_or(&t.probe_key)),
                S3Op::Put | S3Op::Delete => object_arn(&t.probe_key),
            };
            (o.op, o.op.iam_action().to_string(), resource)
        })
        .collect()
}

fn evaluate_all(
    policy: &Policy,
    actions: &[(S3Op, String, String)],
    context: &HashMap<String, String>,
    absent: &[String],
) -> Vec<(S3Op, ActionDecision)> {
    let mut out = Vec::new();
    for (op, action, resource) in actions {
        let req = policy::Request {
            action: action.clone(),
            resource: resource.clone(),
            principal_arn: None,
            context: context.clone(),
            absent_keys: absent.to_vec(),
        };
        let e = policy::evaluate(policy, &req);
        let d = ActionDecision {
            action: action.clone(),
            resource: resource.clone(),
            decision: e.decision,
            statements: e.statements,
            unknown_conditions: e.unknown_conditions,
        };
        out.push((*op, d));
    }
    out
}

fn dedup_decisions(v: &[(S3Op, ActionDecision)]) -> Vec<ActionDecision> {
    let mut out: Vec<ActionDecision> = Vec::new();
    for (_, d) in v {
        if !out
            .iter()
            .any(|o| o.action == d.action && o.resource == d.resource)
        {
            out.push(d.clone());
        }
    }
    out
}

/// The condition context the probe knows for requests on this path.
fn condition_context(ev: &Evidence, path: &PathVerdict) -> HashMap<String, String> {
    let mut ctx = HashMap::new();
    let inst = ev.context.instance.as_ref();
    match path.verdict {
        Verdict::GatewayEndpoint => {
            if let Some(v) = &path.vpc_endpoint_id {
                ctx.insert("aws:SourceVpce".to_string(), v.clone());
            }
            if let Some(vpc) = inst.and_then(|i| i.vpc_id.clone()) {
                ctx.insert("aws:SourceVpc".to_string(), vpc);
            }
            if let Some(ip) = inst.and_then(|i| i.local_ipv4.clone()) {
                ctx.insert("aws:SourceIp".to_string(), ip);
            }
        }
        Verdict::InterfaceEndpoint => {
            if let Some(vpc) = inst.and_then(|i| i.vpc_id.clone()) {
                ctx.insert("aws:SourceVpc".to_string(), vpc);
            }
            if let Some(ip) = inst.and_then(|i| i.local_ipv4.clone()) {
                ctx.insert("aws:SourceIp".to_string(), ip);
            }
            let iface = ev.network.as_ref().and_then(|n| {
                n.endpoints
                    .iter()
                    .find(|e| e.endpoint_type.eq_ignore_ascii_case("interface"))
            });
            if let Some(e) = iface {
                ctx.insert("aws:SourceVpce".to_string(), e.id.clone());
            }
        }
        _ => {}
    }
    ctx
}

/// Does the path bypass every endpoint (so `aws:SourceVpce`/`aws:SourceVpc` are absent)?
fn via_public(path: &PathVerdict) -> bool {
    matches!(
        path.verdict,
        Verdict::InternetGateway | Verdict::NatGateway | Verdict::Other
    )
}

/// Analyse one bucket.
pub fn analyse(ev: &Evidence, t: &TargetEvidence, expect: &Expectations) -> TargetAnalysis {
    let path = path_of(ev, t);
    let mut findings: Vec<Finding> = Vec::new();
    let net = ev.network.as_ref();
    let gateway_endpoints: Vec<&str> = net
        .map(|n| {
            n.endpoints
                .iter()
                .filter(|e| e.endpoint_type.eq_ignore_ascii_case("gateway"))
                .map(|e| e.id.as_str())
                .collect()
        })
        .unwrap_or_default();

    let dns = dns_verdict(ev, t, &path, &mut findings);
    let route = route_verdict(ev, t, &path, net, &gateway_endpoints, &mut findings);
    let actions = performed_actions(t);

    // Endpoint policy: only when the traffic takes a gateway endpoint we can see.
    let mut endpoint_decisions = Vec::new();
    let mut endpoint_denies: BTreeMap<&'static str, String> = BTreeMap::new();
    let endpoint_policy = match (&path.verdict, &path.vpc_endpoint_id) {
        (Verdict::GatewayEndpoint, Some(id)) => {
            match net.and_then(|n| n.endpoints.iter().find(|e| &e.id == id)) {
                None => check(
                    Status::Skip,
                    Some(format!(
                        "{id} is not in DescribeVpcEndpoints' answer: its policy is unknown"
                    )),
                ),
                Some(e) => {
                    let doc = e.policy.clone().unwrap_or_else(|| {
                        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#.to_string()
                    });
                    match Policy::parse(&doc) {
                        Err(msg) => check(
                            Status::Warn,
                            Some(format!("the policy of {id} could not be read: {msg}")),
                        ),
                        Ok(p) => {
                            let ctx = condition_context(ev, &path);
                            let decisions = evaluate_all(&p, &actions, &ctx, &[]);
                            for (op, d) in &decisions {
                                if matches!(
                                    d.decision,
                                    Decision::ExplicitDeny | Decision::ImplicitDeny
                                ) {
                                    endpoint_denies.insert(op.check_name(), d.action.clone());
                                }
                            }
                            endpoint_decisions = dedup_decisions(&decisions);
                            policy_check(
                                &endpoint_decisions,
                                &format!("the policy of endpoint {id}"),
                            )
                        }
                    }
                }
            }
        }
        _ => check(
            Status::Skip,
            Some(format!(
                "traffic does not take a gateway endpoint (path {})",
                verdict_name(path.verdict)
            )),
        ),
    };
    if !endpoint_denies.is_empty() {
        let id = path.vpc_endpoint_id.clone().unwrap_or_default();
        let acts: Vec<String> = endpoint_denies
            .values()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        findings.push(Finding {
            code: "endpoint_policy_denies",
            severity: Severity::Error,
            component: "endpoint_policy",
            message: format!(
                "the policy of {id} does not allow {} on {}",
                acts.join(", "),
                t.bucket
            ),
            hint: format!(
                "edit the endpoint policy of {id} to allow {} on arn:aws:s3:::{}{}: aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --policy-document file://policy.json",
                acts.join(", "),
                t.bucket,
                if acts.iter().any(|a| a != "s3:ListBucket") { "/*" } else { "" }
            ),
        });
    }

    // Bucket policy.
    let mut bucket_decisions = Vec::new();
    let mut requires_endpoint: Option<(Vec<String>, Option<String>)> = None;
    let bucket_policy = bucket_policy_verdict(
        ev,
        t,
        &path,
        &actions,
        &mut bucket_decisions,
        &mut requires_endpoint,
        &mut findings,
    );

    // Which component explains each denied S3 request?
    let mut denials = BTreeMap::new();
    for op in &t.ops {
        let Some(e) = op.error() else { continue };
        if crate::diagnose::rules::fault(e) != crate::diagnose::rules::Fault::AccessDenied {
            continue;
        }
        let msg = e.message.to_ascii_lowercase();
        let cause = if msg.contains("vpc endpoint policy") {
            DenialCause::EndpointPolicy {
                endpoint: path.vpc_endpoint_id.clone().unwrap_or_default(),
            }
        } else if msg.contains("identity-based policy") {
            DenialCause::IdentityPolicy
        } else if let Some(_a) = endpoint_denies.get(op.op.check_name()) {
            DenialCause::EndpointPolicy {
                endpoint: path.vpc_endpoint_id.clone().unwrap_or_default(),
            }
        } else if let Some((wanted, used)) = &requires_endpoint {
            DenialCause::BucketPolicyRequiresEndpoint {
                wanted: wanted.clone(),
                used: used.clone(),
            }
        } else if msg.contains("resource-based policy")
            || bucket_decisions
                .iter()
                .any(|d| d.action == op.op.iam_action() && d.decision == Decision::ExplicitDeny)
        {
            DenialCause::BucketPolicy
        } else {
            DenialCause::Unattributed
        };
        denials.insert(op.op.check_name(), cause);
    }
    // S3's own message may name the endpoint policy when its evaluation here could not.
    if endpoint_denies.is_empty()
        && let Some(op) = t.ops.iter().find(|o| {
            matches!(
                denials.get(o.op.check_name()),
                Some(DenialCause::EndpointPolicy { .. })
            )
        })
    {
        let id = path
            .vpc_endpoint_id
            .clone()
            .unwrap_or_else(|| "the VPC endpoint".into());
        findings.push(Finding {
            code: "endpoint_policy_denies",
            severity: Severity::Error,
            component: "endpoint_policy",
            message: format!(
                "S3 says an explicit deny in a VPC endpoint policy refused {} on {}",
                op.op.iam_action(),
                t.bucket
            ),
            hint: format!(
                "edit the endpoint policy of {id} to allow {} on {} (aws ec2 modify-vpc-endpoint --policy-document)",
                op.op.iam_action(),
                t.bucket
            ),
        });
    }
    if denials
        .values()
        .any(|c| matches!(c, DenialCause::IdentityPolicy))
    {
        findings.push(Finding {
            code: "iam_policy_denies",
            severity: Severity::Error,
            component: "iam_policy",
            message: "S3 says no identity-based policy allows the request".into(),
            hint: format!(
                "grant the instance role the S3 actions on arn:aws:s3:::{} and arn:aws:s3:::{}/{}* (see the README's IAM permissions)",
                t.bucket, t.bucket, t.prefix
            ),
        });
    }

    // Access outcome and expectations.
    let attempted: Vec<_> = t
        .ops
        .iter()
        .filter(|o| !matches!(o.outcome, OpOutcome::Skipped(_)))
        .collect();
    let access = if attempted.is_empty() {
        None
    } else if !denials.is_empty() {
        Some(Access::Deny)
    } else if attempted.iter().all(|o| o.outcome == OpOutcome::Ok) {
        Some(Access::Allow)
    } else {
        None
    };
    if let Some(want) = expect.path
        && want != path.verdict
    {
        findings.push(Finding {
            code: "expectation_failed",
            severity: Severity::Error,
            component: "expectation",
            message: format!(
                "--expect-path {}: the path is {}",
                verdict_name(want),
                verdict_name(path.verdict)
            ),
            hint: path
                .unknown_reason
                .clone()
                .map(|r| format!("the path could not be proven: {r}"))
                .unwrap_or_else(|| "see the route check and the path evidence".into()),
        });
    }
    if let Some(want) = expect.access
        && Some(want) != access
    {
        let got = match access {
            Some(Access::Allow) => "allowed",
            Some(Access::Deny) => "denied",
            None => "neither cleanly allowed nor denied",
        };
        findings.push(Finding {
            code: "expectation_failed",
            severity: Severity::Error,
            component: "expectation",
            message: format!(
                "--expect-access {}: access was {got}",
                match want {
                    Access::Allow => "allow",
                    Access::Deny => "deny",
                }
            ),
            hint: "see the failed checks above".into(),
        });
    }

    TargetAnalysis {
        path,
        dns,
        route,
        endpoint_policy,
        endpoint_decisions,
        bucket_policy,
        bucket_decisions,
        findings,
        denials,
        access,
    }
}

fn policy_check(decisions: &[ActionDecision], what: &str) -> CheckVerdict {
    let denied: Vec<&str> = decisions
        .iter()
        .filter(|d| matches!(d.decision, Decision::ExplicitDeny | Decision::ImplicitDeny))
        .map(|d| d.action.as_str())
        .collect();
    let conditional: Vec<&str> = decisions
        .iter()
        .filter(|d| d.decision == Decision::Conditional)
        .map(|d| d.action.as_str())
        .collect();
    if !denied.is_empty() {
        check(
            Status::Fail,
            Some(format!("{what} does not allow {}", denied.join(", "))),
        )
    } else if !conditional.is_empty() {
        check(
            Status::Warn,
            Some(format!(
                "{what} allows {} only under conditions the probe cannot evaluate",
                conditional.join(", ")
            )),
        )
    } else {
        check(Status::Pass, None)
    }
}

fn dns_verdict(
    ev: &Evidence,
    t: &TargetEvidence,
    path: &PathVerdict,
    findings: &mut Vec<Finding>,
) -> CheckVerdict {
    let Some(dns) = &t.dns else {
        return check(Status::Skip, Some("no DNS lookups were made".into()));
    };
    if dns.names.is_empty() {
        return check(
            Status::Skip,
            Some("the S3 endpoint is an IP address: nothing to resolve".into()),
        );
    }
    let resolved = |name: &str| {
        dns.lookups
            .iter()
            .any(|l| l.name == name && !l.records.is_empty())
    };
    let first = &dns.names[0];
    if !resolved(first) {
        let why = dns
            .lookups
            .iter()
            .find(|l| &l.name == first && l.record_type == "A")
            .and_then(|l| l.error.clone())
            .unwrap_or_else(|| "no answer".into());
        let hint = format!(
            "{first} did not resolve ({why}) with {}: check the VPC's DNS (enableDnsSupport, the Route 53 Resolver at the VPC base +2) and /etc/resolv.conf",
            if dns.servers.is_empty() {
                "no DNS server".to_string()
            } else {
                dns.servers.join(", ")
            }
        );
        findings.push(Finding {
            code: "dns_failure",
            severity: Severity::Error,
            component: "dns",
            message: format!("{first}: {why}"),
            hint: hint.clone(),
        });
        return check(Status::Fail, Some(hint));
    }
    let unresolved: Vec<&String> = dns.names.iter().filter(|n| !resolved(n)).collect();
    // Private addresses for S3 names: an interface endpoint's private DNS (or a resolver rule).
    let vpc_cidrs = vpc_cidrs(ev);
    let mut private: Vec<IpAddr> = dns
        .lookups
        .iter()
        .flat_map(|l| l.records.iter().map(|r| r.address))
        .filter(|a| vpc_cidrs.iter().any(|c| path::cidr_contains(c, *a)))
        .collect();
    private.sort();
    private.dedup();
    if !private.is_empty() || path.verdict == Verdict::InterfaceEndpoint {
        findings.push(Finding {
            code: "interface_endpoint_dns",
            severity: Severity::Warning,
            component: "dns",
            message: format!(
                "{first} resolves to a VPC address ({}): an interface endpoint's private DNS answers for S3",
                private
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            hint: "traffic goes to the interface endpoint, not the gateway endpoint: disable the interface endpoint's private DNS for S3 (or its 'private DNS only for inbound endpoint' option), or expect the interface path".into(),
        });
        return check(
            Status::Warn,
            Some("S3 names resolve to VPC addresses (interface endpoint private DNS)".into()),
        );
    }
    if !unresolved.is_empty() {
        return check(
            Status::Warn,
            Some(format!(
                "{} did not resolve",
                unresolved
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    check(Status::Pass, None)
}

fn route_verdict(
    ev: &Evidence,
    t: &TargetEvidence,
    path: &PathVerdict,
    net: Option<&NetworkEvidence>,
    gateway_endpoints: &[&str],
    findings: &mut Vec<Finding>,
) -> CheckVerdict {
    let rtb = path.route_table_id.clone().unwrap_or_else(|| "?".into());
    let s3_pl = net.and_then(|n| n.prefix_list.id.clone());
    let table = net.and_then(|n| n.route_table.as_ref()).map(route_table);
    let endpoint_on_table = match (&table, &s3_pl) {
        (Some(tb), Some(pl)) => path::gateway_endpoint_route(tb, pl).map(|r| r.target.clone()),
        _ => None,
    };
    let not_on_table = |findings: &mut Vec<Finding>, severity: Severity| {
        if endpoint_on_table.is_none()
            && let Some(vpce) = gateway_endpoints.first()
        {
            findings.push(Finding {
                code: "gateway_endpoint_not_on_route_table",
                severity,
                component: "route_table",
                message: format!(
                    "the S3 gateway endpoint {vpce} exists in the VPC but {rtb} has no route to it"
                ),
                hint: format!(
                    "associate the endpoint with the subnet's route table: aws ec2 modify-vpc-endpoint --vpc-endpoint-id {vpce} --add-route-table-ids {rtb}"
                ),
            });
        }
    };
    match path.verdict {
        Verdict::GatewayEndpoint => {
            if let Some(br) = &t.bucket_region
                && *br != ev.region
            {
                return check(
                    Status::Warn,
                    Some(format!(
                        "the bucket is in {br}: a gateway endpoint serves only {} buckets",
                        ev.region
                    )),
                );
            }
            check(Status::Pass, None)
        }
        Verdict::InterfaceEndpoint => check(
            Status::Warn,
            Some(
                "traffic goes to an interface endpoint (a VPC address), not the gateway endpoint"
                    .into(),
            ),
        ),
        Verdict::InternetGateway | Verdict::NatGateway | Verdict::Other => {
            let via = path
                .addresses
                .first()
                .and_then(|a| a.route.as_ref())
                .map(|r| r.route.target.clone())
                .unwrap_or_default();
            if let Some(vpce) = &path.overridden_endpoint {
                let matched = path
                    .addresses
                    .first()
                    .and_then(|a| a.route.as_ref())
                    .map(|r| r.matched.to_string())
                    .unwrap_or_default();
                let hint = format!(
                    "the route {matched} → {via} in {rtb} is more specific than the endpoint's prefix list: remove it (aws ec2 delete-route --route-table-id {rtb} --destination-cidr-block {matched}) so S3 traffic takes {vpce}"
                );
                findings.push(Finding {
                    code: "specific_route_overrides_endpoint",
                    severity: Severity::Error,
                    component: "route_table",
                    message: format!(
                        "{matched} → {via} in {rtb} overrides the S3 gateway endpoint {vpce}"
                    ),
                    hint: hint.clone(),
                });
                return check(Status::Fail, Some(hint));
            }
            if gateway_endpoints.is_empty() {
                findings.push(Finding {
                    code: "no_gateway_endpoint",
                    severity: Severity::Warning,
                    component: "vpc_endpoint",
                    message: format!("S3 traffic leaves through {via}: the VPC has no S3 gateway endpoint"),
                    hint: format!(
                        "create one (free, keeps S3 traffic off NAT/internet): aws ec2 create-vpc-endpoint --vpc-id {} --service-name com.amazonaws.{}.s3 --route-table-ids {rtb}",
                        ev.context.instance.as_ref().and_then(|i| i.vpc_id.clone()).unwrap_or_default(),
                        ev.region
                    ),
                });
                return check(
                    Status::Warn,
                    Some(format!(
                        "S3 traffic leaves through {via}, not a gateway endpoint"
                    )),
                );
            }
            if endpoint_on_table.is_some() {
                // The endpoint is on the table, but this address is not in its prefix list:
                // another region's S3 (or a non-S3 address).
                let addr = path
                    .addresses
                    .first()
                    .map(|a| a.address.to_string())
                    .unwrap_or_default();
                let why = match &t.bucket_region {
                    Some(br) if *br != ev.region => format!(
                        "the bucket is in {br}, and the {} gateway endpoint serves only {} S3 addresses",
                        ev.region, ev.region
                    ),
                    _ => format!("{addr} is not in the {} S3 prefix list", ev.region),
                };
                return check(
                    Status::Warn,
                    Some(format!("S3 traffic to {addr} leaves through {via}: {why}")),
                );
            }
            not_on_table(findings, Severity::Error);
            check(
                Status::Fail,
                Some(format!(
                    "S3 traffic leaves through {via}: the gateway endpoint is not on {rtb}"
                )),
            )
        }
        Verdict::NoRoute => {
            let hint = format!(
                "{rtb} has no usable route to S3 ({}): add the S3 gateway endpoint to it",
                path.addresses
                    .first()
                    .map(|a| a.address.to_string())
                    .unwrap_or_default()
            );
            findings.push(Finding {
                code: "no_route_to_s3",
                severity: Severity::Error,
                component: "route_table",
                message: format!("no route to S3 in {rtb}"),
                hint: hint.clone(),
            });
            not_on_table(findings, Severity::Error);
            check(Status::Fail, Some(hint))
        }
        Verdict::Unknown => check(
            Status::Warn,
            Some(format!(
                "path unknown: {}",
                path.unknown_reason
                    .clone()
                    .unwrap_or_else(|| "no evidence".into())
            )),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn bucket_policy_verdict(
    ev: &Evidence,
    t: &TargetEvidence,
    path: &PathVerdict,
    actions: &[(S3Op, String, String)],
    decisions_out: &mut Vec<ActionDecision>,
    requires_endpoint: &mut Option<(Vec<String>, Option<String>)>,
    findings: &mut Vec<Finding>,
) -> CheckVerdict {
    let Some(bp) = &t.bucket_policy else {
        return check(Status::Skip, Some("the bucket policy was not read".into()));
    };
    if let Some(e) = &bp.error {
        return check(
            Status::Skip,
            Some(format!(
                "the bucket policy could not be read ({}): conditions on aws:SourceVpce cannot be checked (grant s3:GetBucketPolicy to see them)",
                e.code
            )),
        );
    }
    let Some(doc) = &bp.policy else {
        return check(Status::Pass, None);
    };
    let p = match Policy::parse(doc) {
        Ok(p) => p,
        Err(msg) => {
            return check(
                Status::Warn,
                Some(format!("the bucket policy could not be read: {msg}")),
            );
        }
    };
    let ctx = condition_context(ev, path);
    // Through an internet or NAT gateway the request carries no endpoint keys at all.
    let absent: Vec<String> = if via_public(path) {
        vec!["aws:SourceVpce".into(), "aws:SourceVpc".into()]
    } else {
        vec![]
    };
    let decisions = evaluate_all(&p, actions, &ctx, &absent);
    *decisions_out = dedup_decisions(&decisions);

    // Source conditions vs the path.
    let conds = policy::source_conditions(&p);
    let used_vpce = path
        .vpc_endpoint_id
        .clone()
        .or_else(|| ctx.get("aws:SourceVpce").cloned());
    let wanted_vpce: Vec<String> = conds
        .iter()
        .filter(|c| c.key.eq_ignore_ascii_case("aws:SourceVpce"))
        .filter(|c| c.effect == policy::Effect::Deny && c.negated)
        .flat_map(|c| c.values.clone())
        .collect();
    let wanted_vpc: Vec<String> = conds
        .iter()
        .filter(|c| c.key.eq_ignore_ascii_case("aws:SourceVpc"))
        .filter(|c| c.effect == policy::Effect::Deny && c.negated)
        .flat_map(|c| c.values.clone())
        .collect();
    let mut status = Status::Pass;
    let mut hint = None;
    if !wanted_vpce.is_empty() || !wanted_vpc.is_empty() {
        let satisfied = match path.verdict {
            Verdict::GatewayEndpoint | Verdict::InterfaceEndpoint => {
                (wanted_vpce.is_empty()
                    || used_vpce
                        .as_ref()
                        .is_some_and(|u| wanted_vpce.iter().any(|w| id_match(w, u))))
                    && (wanted_vpc.is_empty()
                        || ev
                            .context
                            .instance
                            .as_ref()
                            .and_then(|i| i.vpc_id.as_ref())
                            .is_some_and(|v| wanted_vpc.iter().any(|w| id_match(w, v))))
            }
            _ if via_public(path) => false,
            _ => true, // unknown path: no claim
        };
        if !satisfied {
            let want: Vec<String> = wanted_vpce
                .iter()
                .chain(wanted_vpc.iter())
                .cloned()
                .collect();
            *requires_endpoint = Some((want.clone(), used_vpce.clone()));
            let through = match &used_vpce {
                Some(u) => format!("traffic uses {u}"),
                None => format!(
                    "traffic goes through the {}",
                    verdict_name(path.verdict).replace('_', " ")
                ),
            };
            let h = format!(
                "the bucket policy of {} only admits requests from {}, but {through}: fix the route table (or the policy's endpoint id)",
                t.bucket,
                want.join(", ")
            );
            findings.push(Finding {
                code: "bucket_policy_requires_endpoint",
                severity: Severity::Error,
                component: "bucket_policy",
                message: format!(
                    "the bucket policy requires {}; {through}",
                    want.join(" or ")
                ),
                hint: h.clone(),
            });
            status = Status::Fail;
            hint = Some(h);
        }
    }
    let source_ip: Vec<&policy::SourceCondition> = conds
        .iter()
        .filter(|c| c.key.eq_ignore_ascii_case("aws:SourceIp"))
        .collect();
    if !source_ip.is_empty()
        && matches!(
            path.verdict,
            Verdict::GatewayEndpoint | Verdict::InterfaceEndpoint
        )
    {
        findings.push(Finding {
            code: "bucket_policy_source_ip_with_endpoint",
            severity: Severity::Warning,
            component: "bucket_policy",
            message: format!(
                "the bucket policy tests aws:SourceIp ({}), but through an endpoint S3 sees the instance's private IP",
                source_ip.iter().flat_map(|c| c.values.clone()).collect::<Vec<_>>().join(", ")
            ),
            hint: "public-IP conditions never match endpoint traffic: use aws:SourceVpce or aws:SourceVpc instead".into(),
        });
        if status == Status::Pass {
            status = Status::Warn;
            hint = Some("aws:SourceIp conditions do not match traffic through an endpoint".into());
        }
    }
    if status == Status::Pass {
        // A bucket policy need not allow (IAM may): its implicit denies say nothing.
        let relevant: Vec<ActionDecision> = decisions_out
            .iter()
            .filter(|d| d.decision != Decision::ImplicitDeny)
            .cloned()
            .collect();
        let v = policy_check(&relevant, "the bucket policy");
        // A bucket policy needs no Allow (IAM may grant it): only an explicit deny fails.
        if decisions_out
            .iter()
            .any(|d| d.decision == Decision::ExplicitDeny)
        {
            return v;
        }
        if v.status == Status::Warn {
            return v;
        }
    }
    check(status, hint)
}

/// The `prefix_list` check (run-wide) and its findings.
pub fn prefix_list_verdict(ev: &Evidence, findings: &mut Vec<Finding>) -> CheckVerdict {
    let Some(net) = &ev.network else {
        return check(Status::Skip, Some(no_network_reason(ev)));
    };
    let pl = &net.prefix_list;
    let why = pl
        .errors
        .first()
        .map(|e| format!("{} ({})", e.message, e.code))
        .unwrap_or_default();
    match pl.source {
        PrefixListSource::Ec2 => check(Status::Pass, None),
        PrefixListSource::Cache | PrefixListSource::IpRanges => {
            let what = if pl.source == PrefixListSource::Cache {
                format!("the cached list from {} s ago", pl.age_seconds.unwrap_or(0))
            } else {
                "AWS's published ip-ranges, which may differ from the prefix list".to_string()
            };
            let hint = format!(
                "the EC2 API could not be used ({why}); using {what}: allow ec2:DescribeManagedPrefixLists and ec2:GetManagedPrefixListEntries, and a path to the EC2 API (an interface endpoint for com.amazonaws.{}.ec2, or NAT)",
                ev.region
            );
            findings.push(Finding {
                code: "prefix_list_fallback",
                severity: Severity::Warning,
                component: "ec2_api",
                message: format!("{} entries from {}", pl.name, what),
                hint: hint.clone(),
            });
            check(Status::Warn, Some(hint))
        }
        PrefixListSource::None => {
            let hint = format!(
                "the S3 prefix list is unknown ({why}): allow ec2:DescribeManagedPrefixLists and ec2:GetManagedPrefixListEntries, and a path to the EC2 API (an interface endpoint for com.amazonaws.{}.ec2, or NAT)",
                ev.region
            );
            findings.push(Finding {
                code: "prefix_list_unavailable",
                severity: Severity::Warning,
                component: "ec2_api",
                message: format!("{}: {why}", pl.name),
                hint: hint.clone(),
            });
            check(Status::Warn, Some(hint))
        }
    }
}

/// An id against a policy value (`*` and `?` wildcards, case-insensitive like the
/// `StringLike`/`StringEquals` values for endpoint ids).
fn id_match(pattern: &str, id: &str) -> bool {
    fn glob(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => glob(&p[1..], t) || (!t.is_empty() && glob(p, &t[1..])),
            (Some(b'?'), Some(_)) => glob(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => glob(&p[1..], &t[1..]),
            _ => false,
        }
    }
    glob(pattern.as_bytes(), id.as_bytes())
}
