//! The Prometheus sink: the report as text exposition format, for node_exporter's textfile
//! collector (`--output prometheus`, or `--prometheus-textfile PATH` written atomically:
//! a temporary file in the same directory, then a rename).

use std::io::{self, Write};
use std::path::Path;

use crate::diagnose::inputs::verdict_name;
use crate::diagnose::path::Verdict;
use crate::diagnose::{Severity, Status};
use crate::report::model::Report;
use crate::report::phases;

/// Escape a label value (backslash, double quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "fail",
        Status::Skip => "skip",
    }
}

fn family<W: Write>(w: &mut W, name: &str, kind: &str, help: &str) -> io::Result<()> {
    writeln!(w, "# HELP {name} {help}")?;
    writeln!(w, "# TYPE {name} {kind}")
}

/// Write `report` in the text exposition format.
pub fn render<W: Write>(r: &Report, mut w: W) -> io::Result<()> {
    let b = |t: &crate::report::model::TargetReport| {
        format!(
            "bucket=\"{}\",region=\"{}\"",
            esc(&t.bucket),
            esc(&t.region)
        )
    };
    family(
        &mut w,
        "vpce_probe_run_success",
        "gauge",
        "1 when no check failed and no finding is an error.",
    )?;
    writeln!(w, "vpce_probe_run_success {}", u8::from(r.ok))?;
    family(
        &mut w,
        "vpce_probe_run_duration_seconds",
        "gauge",
        "Duration of the whole run.",
    )?;
    writeln!(
        w,
        "vpce_probe_run_duration_seconds {:.3}",
        r.duration_ms as f64 / 1000.0
    )?;
    family(
        &mut w,
        "vpce_probe_success",
        "gauge",
        "1 when every check of the bucket passed or was skipped on purpose.",
    )?;
    for t in &r.targets {
        writeln!(w, "vpce_probe_success{{{}}} {}", b(t), u8::from(t.ok))?;
    }
    family(
        &mut w,
        "vpce_probe_via_gateway_endpoint",
        "gauge",
        "1 when the bucket's S3 traffic takes the S3 gateway VPC endpoint.",
    )?;
    for t in &r.targets {
        let via = t.path.verdict == Verdict::GatewayEndpoint;
        writeln!(
            w,
            "vpce_probe_via_gateway_endpoint{{{}}} {}",
            b(t),
            u8::from(via)
        )?;
    }
    family(
        &mut w,
        "vpce_probe_path_verdict",
        "gauge",
        "The bucket's path verdict: 1 for the current one.",
    )?;
    for t in &r.targets {
        let v = verdict_name(t.path.verdict);
        writeln!(
            w,
            "vpce_probe_path_verdict{{{},verdict=\"{}\"}} 1",
            b(t),
            esc(&v)
        )?;
    }
    family(
        &mut w,
        "vpce_probe_check_status",
        "gauge",
        "1 for the status each check ended with.",
    )?;
    for c in &r.checks {
        writeln!(
            w,
            "vpce_probe_check_status{{bucket=\"\",region=\"{}\",check=\"{}\",status=\"{}\"}} 1",
            esc(&r.region),
            c.name,
            status_name(c.status)
        )?;
    }
    for t in &r.targets {
        for c in &t.checks {
            writeln!(
                w,
                "vpce_probe_check_status{{{},check=\"{}\",status=\"{}\"}} 1",
                b(t),
                c.name,
                status_name(c.status)
            )?;
        }
    }
    family(
        &mut w,
        "vpce_probe_check_duration_seconds",
        "gauge",
        "Duration of each check that ran.",
    )?;
    for t in &r.targets {
        for c in t.checks.iter().filter(|c| c.status != Status::Skip) {
            writeln!(
                w,
                "vpce_probe_check_duration_seconds{{{},check=\"{}\"}} {:.3}",
                b(t),
                c.name,
                c.duration_ms as f64 / 1000.0
            )?;
        }
    }
    family(
        &mut w,
        "vpce_probe_request_phase_seconds",
        "gauge",
        "Where the time of each S3 operation's request went: dns, connect, tls, ttfb (request \
         written to first byte), transfer (body). A reused connection has no dns, connect or tls.",
    )?;
    for t in &r.targets {
        for c in &t.checks {
            for (phase, d) in phases::of_check(c).map(|p| p.phases()).unwrap_or_default() {
                writeln!(
                    w,
                    "vpce_probe_request_phase_seconds{{{},check=\"{}\",phase=\"{phase}\"}} {:.6}",
                    b(t),
                    c.name,
                    d.as_secs_f64()
                )?;
            }
        }
    }
    family(
        &mut w,
        "vpce_probe_connection_reused",
        "gauge",
        "1 when the S3 operation's request went out on a kept-alive connection.",
    )?;
    for t in &r.targets {
        for c in &t.checks {
            if let Some(p) = phases::of_check(c) {
                writeln!(
                    w,
                    "vpce_probe_connection_reused{{{},check=\"{}\"}} {}",
                    b(t),
                    c.name,
                    u8::from(p.reused)
                )?;
            }
        }
    }
    family(
        &mut w,
        "vpce_probe_findings",
        "gauge",
        "Findings of the run, by severity.",
    )?;
    for (severity, sev) in [
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ] {
        let n = r.findings.iter().filter(|f| f.severity == severity).count();
        writeln!(w, "vpce_probe_findings{{severity=\"{sev}\"}} {n}")?;
    }
    Ok(())
}

/// Write the exposition to `path` atomically (node_exporter never reads a half-written file).
pub fn write_textfile(r: &Report, path: &Path) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        render(r, &mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::diagnose;
    use crate::testutil::healthy_evidence;

    fn text() -> String {
        let ev = healthy_evidence();
        let r = Report::build(&ev, &diagnose(&ev, &[]));
        let mut buf = Vec::new();
        render(&r, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn exposition_is_well_formed() {
        let t = text();
        for line in t.lines() {
            if line.starts_with('#') {
                assert!(
                    line.starts_with("# HELP vpce_probe_")
                        || line.starts_with("# TYPE vpce_probe_"),
                    "{line}"
                );
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "value of {line}");
            assert!(series.starts_with("vpce_probe_"), "{line}");
            if let Some(labels) = series.split_once('{').map(|x| x.1) {
                assert!(labels.ends_with('}'), "{line}");
            }
        }
        assert!(t.contains("vpce_probe_run_success 1\n"), "{t}");
        assert!(
            t.contains("vpce_probe_success{bucket=\"fixture-bucket\",region=\"us-east-1\"} 1\n"),
            "{t}"
        );
        assert!(t.contains("vpce_probe_via_gateway_endpoint{bucket=\"fixture-bucket\",region=\"us-east-1\"} 1\n"), "{t}");
        assert!(t.contains("vpce_probe_check_status{bucket=\"fixture-bucket\",region=\"us-east-1\",check=\"s3_put\",status=\"pass\"} 1\n"), "{t}");
        assert!(t.contains("vpce_probe_check_duration_seconds{bucket=\"fixture-bucket\",region=\"us-east-1\",check=\"s3_put\"} 0.007\n"), "{t}");
        assert!(
            t.contains("vpce_probe_findings{severity=\"error\"} 0\n"),
            "{t}"
        );
    }

    #[test]
    fn s3_operations_have_their_phases() {
        use crate::evidence::PhaseTimings;
        use std::time::Duration;
        let mut ev = healthy_evidence();
        ev.targets[0].ops[0].meta.phases = Some(PhaseTimings {
            dns_ms: Some(Duration::from_micros(1500)),
            connect_ms: Some(Duration::from_millis(2)),
            tls_ms: Some(Duration::from_millis(3)),
            ttfb_ms: Some(Duration::from_millis(4)),
            transfer_ms: Some(Duration::from_micros(5)),
            ..Default::default()
        });
        ev.targets[0].ops[1].meta.phases = Some(PhaseTimings {
            reused: true,
            ttfb_ms: Some(Duration::from_millis(6)),
            ..Default::default()
        });
        let r = Report::build(&ev, &diagnose(&ev, &[]));
        let mut buf = Vec::new();
        render(&r, &mut buf).unwrap();
        let t = String::from_utf8(buf).unwrap();
        let b = "bucket=\"fixture-bucket\",region=\"us-east-1\"";
        for (check, phase, v) in [
            ("s3_head_bucket", "dns", "0.001500"),
            ("s3_head_bucket", "connect", "0.002000"),
            ("s3_head_bucket", "tls", "0.003000"),
            ("s3_head_bucket", "ttfb", "0.004000"),
            ("s3_head_bucket", "transfer", "0.000005"),
            ("s3_list", "ttfb", "0.006000"),
        ] {
            let line = format!(
                "vpce_probe_request_phase_seconds{{{b},check=\"{check}\",phase=\"{phase}\"}} {v}\n"
            );
            assert!(t.contains(&line), "{line} in\n{t}");
        }
        assert!(!t.contains("check=\"s3_list\",phase=\"connect\""), "{t}");
        assert!(t.contains(&format!(
            "vpce_probe_connection_reused{{{b},check=\"s3_list\"}} 1\n"
        )));
        assert!(t.contains(&format!(
            "vpce_probe_connection_reused{{{b},check=\"s3_head_bucket\"}} 0\n"
        )));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn textfile_is_replaced_atomically() {
        let ev = healthy_evidence();
        let r = Report::build(&ev, &diagnose(&ev, &[]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vpce_probe.prom");
        std::fs::write(&path, "old").unwrap();
        write_textfile(&r, &path).unwrap();
        let got = std::fs::read_to_string(&path).unwrap();
        assert!(got.starts_with("# HELP vpce_probe_run_success"), "{got}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        assert!(write_textfile(&r, &dir.path().join("missing/x.prom")).is_err());
    }
}
