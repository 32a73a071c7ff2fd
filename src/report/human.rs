//! The human sink: an aligned table, one line per check, the hint under every check that did
//! not pass, then the findings and a one-line result. Colour only when asked (a terminal
//! without NO_COLOR).

use std::io::{self, Write};

use serde_json::Value;

use crate::diagnose::path::{PathVerdict, Verdict};
use crate::diagnose::{CheckName, Severity, Status};
use crate::evidence::ContextSource;
use crate::report::model::{Check, EncryptionReport, NetworkReport, Report};
use crate::report::phases;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn status(&self, s: Status) -> String {
        let (code, text) = match s {
            Status::Pass => ("32", "pass"),
            Status::Warn => ("33", "warn"),
            Status::Fail => ("31;1", "FAIL"),
            Status::Skip => ("2", "skip"),
        };
        // pad before painting so escape codes do not break alignment
        self.paint(code, &format!("{text:<4}"))
    }
    fn severity(&self, s: Severity) -> String {
        let (code, text) = match s {
            Severity::Info => ("36", "info"),
            Severity::Warning => ("33", "warning"),
            Severity::Error => ("31;1", "error"),
        };
        self.paint(code, &format!("{text:<7}"))
    }
}

fn s<'a>(c: &'a Check, k: &str) -> Option<&'a str> {
    c.detail.get(k).and_then(Value::as_str)
}

fn n(c: &Check, k: &str) -> Option<u64> {
    c.detail.get(k).and_then(Value::as_u64)
}

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::GatewayEndpoint => "gateway endpoint",
        Verdict::InterfaceEndpoint => "interface endpoint",
        Verdict::InternetGateway => "internet gateway",
        Verdict::NatGateway => "NAT gateway",
        Verdict::Other => "other target",
        Verdict::NoRoute => "no route",
        Verdict::Unknown => "unknown",
        Verdict::Proxy => "HTTP proxy",
    }
}

/// The path as one line: `path: 52.216.0.10 → rtb-… → pl-… (com.amazonaws.…) → vpce-… (gateway) ✓`.
fn path_line(p: &PathVerdict, net: Option<&NetworkReport>, st: Style) -> String {
    if let Some(proxy) = &p.proxy {
        return format!(
            "path: S3 requests → HTTP proxy {proxy} → ? (where the proxy sends them is not visible) {}",
            st.paint("31;1", "✗")
        );
    }
    let Some(first) = p.addresses.first() else {
        return format!(
            "path: {} ?",
            p.unknown_reason.as_deref().unwrap_or("unknown")
        );
    };
    let mut hops = vec![first.address.to_string()];
    if p.verdict == Verdict::InterfaceEndpoint {
        hops.push("local (VPC address)".into());
    } else {
        if let Some(rtb) = &p.route_table_id {
            hops.push(rtb.clone());
        }
        if let Some(r) = &first.route {
            match &r.prefix_list_id {
                Some(pl) => {
                    let name = net
                        .filter(|n| n.prefix_list.id.as_deref() == Some(pl.as_str()))
                        .map(|n| format!(" ({})", n.prefix_list.name))
                        .unwrap_or_default();
                    hops.push(format!("{pl}{name}"));
                }
                None => hops.push(r.matched.to_string()),
            }
            hops.push(r.route.target.clone());
        }
    }
    let label = verdict_label(p.verdict);
    let mark = match p.verdict {
        Verdict::GatewayEndpoint => st.paint("32;1", "✓"),
        Verdict::Unknown => st.paint("33", "?"),
        _ => st.paint("31;1", "✗"),
    };
    let mut line = format!("path: {} ({label}) {mark}", hops.join(" → "));
    if p.verdict == Verdict::Unknown
        && let Some(r) = &p.unknown_reason
    {
        line.push_str(&format!(" {}", st.dim(r)));
    }
    line
}

/// The one-line detail of a check.
fn summary(c: &Check) -> String {
    let mut parts: Vec<String> = Vec::new();
    if c.status == Status::Skip {
        if let Some(r) = c.hint.as_deref() {
            parts.push(format!("skipped: {r}"));
        } else if s(c, "reason") == Some("read_only") {
            parts.push("skipped: --read-only".into());
        }
        return parts.join(" · ");
    }
    match c.name {
        CheckName::Imds => {
            if let Some(id) = s(c, "instance_id") {
                parts.push(id.to_string());
            }
            if let Some(ep) = s(c, "endpoint") {
                parts.push(format!("via {ep}"));
            }
        }
        CheckName::Dns => {
            let names = c.detail.get("names").and_then(Value::as_array);
            let lookups = c.detail.get("lookups").and_then(Value::as_array);
            if let (Some(names), Some(lookups)) = (names, lookups) {
                for name in names.iter().filter_map(Value::as_str).take(1) {
                    let addrs: Vec<String> = lookups
                        .iter()
                        .filter(|l| l["name"] == name)
                        .flat_map(|l| l["records"].as_array().cloned().unwrap_or_default())
                        .map(|r| {
                            format!("{} (ttl {})", r["address"].as_str().unwrap_or(""), r["ttl"])
                        })
                        .collect();
                    parts.push(format!(
                        "{name} → {}",
                        if addrs.is_empty() {
                            "nothing".into()
                        } else {
                            addrs.join(", ")
                        }
                    ));
                }
            }
            if let Some(sv) = c.detail.get("servers").and_then(Value::as_array)
                && let Some(first) = sv.first().and_then(Value::as_str)
            {
                parts.push(format!("via {first}"));
            }
        }
        CheckName::Route => {
            if let Some(v) = s(c, "verdict") {
                parts.push(v.replace('_', " "));
            }
            if let Some(p) = s(c, "proxy") {
                parts.push(format!("via {p}"));
            }
            if let (Some(m), Some(t)) = (s(c, "matched"), s(c, "target")) {
                parts.push(format!("{m} → {t}"));
            }
            if let Some(rtb) = s(c, "route_table_id") {
                parts.push(format!("in {rtb}"));
            }
        }
        CheckName::EndpointPolicy | CheckName::BucketPolicy => {
            if let Some(e) = s(c, "vpc_endpoint_id") {
                parts.push(e.to_string());
            }
            if c.detail.get("has_policy") == Some(&Value::Bool(false)) {
                parts.push("no bucket policy".into());
            }
            if let Some(ds) = c.detail.get("decisions").and_then(Value::as_array) {
                let d: Vec<String> = ds
                    .iter()
                    .map(|d| {
                        format!(
                            "{} {}",
                            d["action"].as_str().unwrap_or(""),
                            d["decision"].as_str().unwrap_or("").replace('_', " ")
                        )
                    })
                    .collect();
                if !d.is_empty() {
                    parts.push(d.join(", "));
                }
            }
        }
        CheckName::SecurityGroup | CheckName::NetworkAcl => {
            if let Some(acl) = s(c, "network_acl_id") {
                parts.push(acl.to_string());
            }
            if let (Some(a), Some(p)) = (s(c, "address"), n(c, "port")) {
                parts.push(format!("TCP {a}:{p}"));
            }
            if let Some(by) = s(c, "allowed_by") {
                parts.push(format!("allowed by {by}"));
            }
            if let Some(l) = s(c, "local_ports") {
                parts.push(format!("answers to ports {l}"));
            }
        }
        CheckName::PrefixList => {
            if let Some(id) = s(c, "id") {
                parts.push(format!("{id} ({})", s(c, "name").unwrap_or("")));
            }
            if let Some(n) = c.detail.get("cidrs").and_then(Value::as_array) {
                parts.push(format!("{} CIDRs", n.len()));
            }
            if let Some(src) = s(c, "source") {
                parts.push(format!("from {src}"));
            }
        }
        CheckName::Credentials => {
            if let Some(p) = s(c, "provider") {
                parts.push(p.to_string());
            }
            if let Some(e) = s(c, "expires_at") {
                parts.push(format!("expires {e}"));
            }
        }
        _ => {
            if let Some(st) = n(c, "http_status") {
                parts.push(format!("HTTP {st}"));
            }
            match c.name {
                CheckName::S3Unsigned if c.status == Status::Pass => {
                    parts.push("S3 answered an unsigned request: the network path works".into());
                }
                CheckName::S3HeadBucket => {
                    if let Some(r) = s(c, "bucket_region") {
                        parts.push(format!("bucket in {r}"));
                    }
                }
                CheckName::S3List => {
                    if let Some(k) = n(c, "key_count") {
                        parts.push(format!("{k} keys under {}", s(c, "prefix").unwrap_or("")));
                    }
                }
                CheckName::S3Put | CheckName::S3Delete => {
                    if let Some(k) = s(c, "key") {
                        parts.push(k.to_string());
                    }
                    if c.name == CheckName::S3Put
                        && let Some(b) = n(c, "bytes")
                    {
                        parts.push(format!("{b} B"));
                    }
                }
                CheckName::S3Get => {
                    if let Some(b) = n(c, "bytes") {
                        let verified = c.detail.get("verified") == Some(&Value::Bool(true));
                        parts.push(if verified {
                            format!("{b} B read back, sha256 verified")
                        } else {
                            format!("{b} B of {}", s(c, "key").unwrap_or(""))
                        });
                    }
                }
                _ => {}
            }
            if let Some(p) = s(c, "peer") {
                parts.push(format!("peer {p}"));
            }
            if let Some(a) = n(c, "attempts")
                && a > 1
            {
                parts.push(format!("{a} attempts"));
            }
        }
    }
    if let Some(e) = &c.error {
        let phase = serde_json::to_value(e.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        parts.push(format!("{} in {phase}", e.code));
    }
    parts.join(" · ")
}

/// `encryption: SSE-KMS arn:aws:kms:…:key/… (bucket key)`, or why it is unknown.
fn encryption_line(e: &EncryptionReport) -> String {
    let what = match (e.algorithm.as_deref(), &e.error) {
        (_, Some(err)) => format!("unknown ({}: GetBucketEncryption)", err.code),
        (None, None) => "none configured".to_string(),
        (Some("AES256"), _) => "SSE-S3".to_string(),
        (Some(a), _) => {
            let kind = if a == "aws:kms:dsse" {
                "DSSE-KMS"
            } else {
                "SSE-KMS"
            };
            let key = e
                .kms_key_id
                .as_deref()
                .unwrap_or("aws/s3 (AWS managed key)");
            format!("{kind} {key}")
        }
    };
    let bk = if e.bucket_key_enabled == Some(true) {
        " (bucket key)"
    } else {
        ""
    };
    format!("encryption: {what}{bk}")
}

fn check_line<W: Write>(w: &mut W, st: Style, c: &Check, phases: &[String]) -> io::Result<()> {
    let time = if c.status == Status::Skip {
        "-".to_string()
    } else {
        format!("{}ms", c.duration_ms)
    };
    writeln!(
        w,
        "  {:<15} {} {:>7}  {}",
        c.name,
        st.status(c.status),
        time,
        summary(c)
    )?;
    if c.status != Status::Pass
        && c.status != Status::Skip
        && let Some(h) = &c.hint
    {
        writeln!(w, "  {:<15} {}", "", st.dim(&format!("↳ {h}")))?;
    }
    if c.status == Status::Fail
        && let Some(rid) = s(c, "request_id")
    {
        writeln!(w, "  {:<15} {}", "", st.dim(&format!("  request id {rid}")))?;
    }
    for l in phases {
        writeln!(w, "  {:<15} {}", "", st.dim(&format!("  {l}")))?;
    }
    Ok(())
}

/// Write the report for people (phase timings only for slow requests).
pub fn render<W: Write>(r: &Report, w: W, st: Style) -> io::Result<()> {
    render_verbose(r, w, st, false)
}

/// Write the report for people; `verbose` (`-v`): the phase timings of every request.
pub fn render_verbose<W: Write>(r: &Report, mut w: W, st: Style, verbose: bool) -> io::Result<()> {
    writeln!(
        w,
        "{} {} · run {} · region {} ({}) · {:.2} s",
        st.bold("vpce-probe"),
        r.version,
        r.run_id,
        if r.region.is_empty() {
            "unknown"
        } else {
            &r.region
        },
        serde_json::to_value(r.region_source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        r.duration_ms as f64 / 1000.0
    )?;
    let ctx = &r.context;
    if ctx.source == ContextSource::Imds {
        let i = &ctx.instance;
        let mut parts = vec![i.instance_id.clone().unwrap_or_default()];
        if let Some(az) = &i.availability_zone {
            parts.push(match &i.availability_zone_id {
                Some(id) => format!("{az} ({id})"),
                None => az.clone(),
            });
        }
        if let Some(v) = &i.vpc_id {
            parts.push(format!("{v} {}", i.vpc_cidrs.join(",")).trim().to_string());
        }
        if let Some(sn) = &i.subnet_id {
            parts.push(sn.clone());
        }
        if let Some(role) = &i.iam_role {
            parts.push(format!("role {role}"));
        }
        writeln!(w, "instance  {}", parts.join(" · "))?;
    } else {
        writeln!(
            w,
            "instance  {}",
            st.dim("not on EC2 (no instance metadata)")
        )?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "  {}",
        st.dim(&format!(
            "{:<15} {:<4} {:>7}  {}",
            "CHECK", "STAT", "TIME", "DETAIL"
        ))
    )?;
    for c in &r.checks {
        check_line(&mut w, st, c, &phases::lines(r, c, verbose))?;
    }
    for t in &r.targets {
        writeln!(w)?;
        let region = match &t.bucket_region {
            Some(br) if *br != r.region => format!("{br}, probe region {}", r.region),
            _ => t.region.clone(),
        };
        let mode = if t.read_only { " · read-only" } else { "" };
        writeln!(
            w,
            "{} ({region}){mode}",
            st.bold(&format!("bucket {}", t.bucket))
        )?;
        writeln!(w, "  {}", path_line(&t.path, r.network.as_ref(), st))?;
        if let Some(e) = &t.bucket_encryption {
            writeln!(w, "  {}", encryption_line(e))?;
        }
        for c in &t.checks {
            check_line(&mut w, st, c, &phases::lines(r, c, verbose))?;
        }
    }
    if !r.findings.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", st.bold("findings"))?;
        for f in &r.findings {
            writeln!(
                w,
                "  {} {} [{}] {}",
                st.severity(f.severity),
                f.code,
                f.component,
                f.message
            )?;
            writeln!(
                w,
                "  {:<7} {}",
                "",
                st.dim(&format!("hint: {} (vpce-probe explain {})", f.hint, f.code))
            )?;
        }
    }
    let mut counts = [0usize; 4];
    for c in r.all_checks() {
        counts[c.status as usize] += 1;
    }
    let total: usize = counts.iter().sum();
    let stopped;
    let verdict = match r.interrupted {
        Some(signal) => {
            stopped = format!("INTERRUPTED by {signal} (partial report)");
            st.paint("33;1", &stopped)
        }
        None if r.ok => st.paint("32;1", "OK"),
        None => st.paint("31;1", "FAIL"),
    };
    writeln!(w)?;
    writeln!(
        w,
        "result: {verdict} — {total} checks: {} pass, {} warn, {} fail, {} skip",
        counts[Status::Pass as usize],
        counts[Status::Warn as usize],
        counts[Status::Fail as usize],
        counts[Status::Skip as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::diagnose;
    use crate::evidence::{ErrorCode, ErrorInfo, OpOutcome, Phase};
    use crate::testutil::healthy_evidence;

    fn render_to_string(ev: &crate::evidence::Evidence, color: bool) -> String {
        let report = Report::build(ev, &diagnose(ev, &[]));
        let mut buf = Vec::new();
        render(&report, &mut buf, Style { color }).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn healthy_run_is_one_aligned_line_per_check() {
        let out = render_to_string(&healthy_evidence(), false);
        assert!(!out.contains('\x1b'), "no escapes without colour");
        let rows: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("  ") && l.contains(" pass "))
            .collect();
        assert_eq!(rows.len(), 14, "{out}");
        // status column aligned
        let col: Vec<usize> = rows.iter().map(|r| r.find(" pass ").unwrap()).collect();
        assert!(col.windows(2).all(|w| w[0] == w[1]), "{out}");
        assert!(out.contains("instance  i-0fixture"), "{out}");
        assert!(out.contains("peer 52.216.0.10:443"), "{out}");
        assert!(
            out.contains(
                "path: 52.216.0.10 → rtb-0fixture → pl-63a5400a (com.amazonaws.us-east-1.s3) → vpce-0fixture (gateway endpoint) ✓"
            ),
            "{out}"
        );
        assert!(
            out.ends_with("result: OK — 15 checks: 14 pass, 0 warn, 0 fail, 1 skip\n"),
            "{out}"
        );
        assert!(!out.contains("findings"), "{out}");
    }

    #[test]
    fn failures_show_hint_request_id_and_findings() {
        let mut ev = healthy_evidence();
        ev.targets[0].ops[2].outcome = OpOutcome::Failed(ErrorInfo {
            phase: Phase::Response,
            code: ErrorCode::Service("AccessDenied".into()),
            message: "Access Denied".into(),
            http_status: Some(403),
        });
        ev.targets[0].ops[2].meta.http_status = Some(403);
        let out = render_to_string(&ev, false);
        let put = out.lines().position(|l| l.starts_with("  s3_put")).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[put].contains("FAIL"), "{out}");
        assert!(lines[put].contains("AccessDenied in response"), "{out}");
        assert!(
            lines[put + 1]
                .trim_start()
                .starts_with("↳ S3 denied s3:PutObject"),
            "{out}"
        );
        assert!(lines[put + 2].contains("request id REQ"), "{out}");
        assert!(
            out.contains("error   access_denied_unattributed [policy]"),
            "{out}"
        );
        assert!(out.contains("result: FAIL"), "{out}");
    }

    #[test]
    fn colour_only_when_asked() {
        let out = render_to_string(&healthy_evidence(), true);
        assert!(out.contains("\x1b[32mpass\x1b[0m"), "{out}");
        assert!(out.contains("\x1b[32;1mOK\x1b[0m"), "{out}");
    }
}
