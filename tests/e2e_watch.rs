//! `check --watch` end to end on the simulated VPC (`tests/sim/vpc.sh`): the probe runs in the
//! instance's namespace off a terminal (stdout is a file), the endpoint's route (the S3
//! prefix-list route) is removed from the subnet's route table mid-watch and put back, and the
//! watch must show both transitions in order with their times, the propagation delay, and, after
//! SIGINT (or SIGTERM), the summary and the last cycle's exit code — leaving nothing in the bucket.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use common::vpc::{Network, SimVpc};
use common::*;
use serde_json::Value;

/// A `vpce-probe check --watch` running in the background, its stdout and stderr in files.
struct Watcher {
    child: Child,
    out: std::path::PathBuf,
    err: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Watcher {
    fn start(sim: &SimVpc, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let child = sim
            .probe_command(args, &home)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("spawn vpce-probe --watch");
        Watcher {
            child,
            out,
            err,
            _dir: dir,
        }
    }

    fn stdout(&self) -> String {
        read(&self.out)
    }

    fn stderr(&self) -> String {
        read(&self.err)
    }

    /// Wait (at most `within`) until stdout satisfies `done`; fail loudly with both outputs.
    fn wait_for(&mut self, what: &str, within: Duration, done: impl Fn(&str) -> bool) {
        let t0 = Instant::now();
        loop {
            if done(&self.stdout()) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the watch ended ({status}) before {what}:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if t0.elapsed() > within {
                let _ = self.child.kill();
                panic!(
                    "no {what} within {within:?}:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Send `signal` (`INT`, `TERM`) and wait for the exit, at most `within`.
    fn stop(mut self, signal: &str, within: Duration) -> (Run, Self) {
        let t0 = Instant::now();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success(), "kill -{signal}");
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > within {
                let _ = self.child.kill();
                panic!(
                    "still running {within:?} after SIG{signal}:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout(),
            stderr: self.stderr(),
            elapsed: t0.elapsed(),
        };
        assert!(
            !run.stderr.contains("panicked"),
            "vpce-probe panicked:\n{}",
            run.stderr
        );
        (run, self)
    }
}

fn read(p: &std::path::Path) -> String {
    let mut s = String::new();
    std::fs::File::open(p)
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// An RFC 3339 time of the output.
fn time(s: &str) -> SystemTime {
    SystemTime::try_from(
        DateTime::from_str(s, Format::DateTime).unwrap_or_else(|e| panic!("'{s}': {e}")),
    )
    .unwrap()
}

/// The leading timestamp of an output line.
fn stamp(line: &str) -> SystemTime {
    time(line.split(' ').next().unwrap())
}

async fn remove_endpoint_route(sim: &SimVpc, net: &Network) {
    sim.ec2()
        .delete_route()
        .route_table_id(&net.route_table_id)
        .destination_prefix_list_id(&net.prefix_list_id)
        .send()
        .await
        .unwrap();
}

/// Put the route back as the endpoint made it: the S3 prefix list to the `vpce-`.
async fn restore_endpoint_route(sim: &SimVpc, net: &Network) {
    sim.ec2()
        .create_route()
        .route_table_id(&net.route_table_id)
        .destination_prefix_list_id(&net.prefix_list_id)
        .gateway_id(&net.endpoint_id)
        .send()
        .await
        .unwrap();
}

/// No probe object, version or delete marker left in the bucket.
async fn assert_bucket_empty(sim: &SimVpc, bucket: &str) {
    common::assert_bucket_empty(&sim.s3("us-east-1"), bucket).await;
}

/// Cycle lines with this state (`ok`, `FAIL`).
fn count_cycles(out: &str, state: &str) -> usize {
    out.lines()
        .filter(|l| l.split(' ').nth(1) == Some("cycle") && l.split(' ').nth(3) == Some(state))
        .count()
}

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn watch_shows_the_route_going_and_coming_back_with_times_and_the_delay() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-watch").await;
    let mut w = Watcher::start(
        &sim,
        &[
            "check",
            "--bucket",
            "sim-watch",
            "--watch",
            "1",
            "--timeout",
            "8",
        ],
    );
    w.wait_for("two healthy cycles", WAIT, |o| count_cycles(o, "ok") >= 2);

    let removed_at = SystemTime::now();
    remove_endpoint_route(&sim, &net).await;
    let gone = "transition sim-watch: path gateway_endpoint → internet_gateway";
    w.wait_for("the route's removal", WAIT, |o| o.contains(gone));
    // a failure that lasts: two failing cycles before the fix
    w.wait_for("two failing cycles", WAIT, |o| count_cycles(o, "FAIL") >= 2);
    let restored_at = SystemTime::now();
    restore_endpoint_route(&sim, &net).await;
    w.wait_for("the recovery", WAIT, |o| o.contains(" recovered at cycle "));
    let (run, _w) = w.stop("INT", Duration::from_secs(15));
    assert_eq!(
        run.code, 0,
        "the last cycle was ok:\n{}\n{}",
        run.stdout, run.stderr
    );

    let lines: Vec<&str> = run.stdout.lines().collect();
    // One line per cycle off a terminal, no escape sequence (NO_COLOR, not a terminal).
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
    let cycles: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.split(' ').nth(1) == Some("cycle"))
        .collect();
    for (i, l) in cycles.iter().enumerate() {
        assert!(
            l.split(' ').nth(2) == Some(&(i + 1).to_string()),
            "cycle lines in order: {l}"
        );
        assert!(l.contains(" ms | sim-watch "), "{l}");
    }
    let came = "transition sim-watch: path internet_gateway → gateway_endpoint";
    let first = lines.iter().position(|l| l.ends_with(gone)).unwrap();
    let second = lines.iter().position(|l| l.ends_with(came)).unwrap();
    assert!(first < second, "in order:\n{}", run.stdout);
    let (t1, t2) = (stamp(lines[first]), stamp(lines[second]));
    // A cycle's time is its start: the one that saw the route gone may have started just before
    // the removal (it reads the route table later), never a whole cycle (≤ 8 s) before it.
    assert!(
        t1 > removed_at - Duration::from_secs(8) && t1 < restored_at,
        "{lines:?}"
    );
    assert!(
        t2 > t1 && t2 > restored_at - Duration::from_secs(8),
        "{lines:?}"
    );
    // The same cycle saw the route check fail and the finding appear, and their end.
    for (at, what) in [
        (first, "transition sim-watch: check route pass → FAIL"),
        (
            first,
            "transition sim-watch: finding gateway_endpoint_not_on_route_table appeared",
        ),
        (second, "transition sim-watch: check route FAIL → pass"),
        (
            second,
            "transition sim-watch: finding gateway_endpoint_not_on_route_table gone",
        ),
    ] {
        let l = lines
            .iter()
            .find(|l| l.ends_with(what))
            .unwrap_or_else(|| panic!("no '{what}':\n{}", run.stdout));
        assert_eq!(stamp(l), stamp(lines[at]), "{l}");
    }
    // The failure, then the recovery with its delay from the first failing cycle.
    let failing = lines
        .iter()
        .find(|l| l.contains(" failing: first failure, cycle "))
        .unwrap();
    assert_eq!(stamp(failing), t1);
    let recovered = lines
        .iter()
        .find(|l| l.contains(" recovered at cycle "))
        .unwrap();
    assert_eq!(stamp(recovered), t2);
    // the fix took effect after the last failing cycle started
    let last_fail = cycles
        .iter()
        .rfind(|c| c.split(' ').nth(3) == Some("FAIL"))
        .unwrap();
    assert!(stamp(last_fail) > t1, "two failing cycles: {lines:?}");
    assert!(
        recovered.ends_with(&format!(
            "; the change took effect between {} and {}",
            last_fail.split(' ').next().unwrap(),
            lines[second].split(' ').next().unwrap()
        )),
        "{recovered}"
    );
    let delay = t2.duration_since(t1).unwrap();
    // "… recovered at cycle N, 12.3 s after the first failure (cycle M at T1); …"
    let said = recovered
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(" s after").next())
        .unwrap();
    let said: f64 = said
        .parse()
        .unwrap_or_else(|_| panic!("a delay in seconds: {recovered}"));
    assert!(
        (said - delay.as_secs_f64()).abs() <= 0.1,
        "{said} s vs {delay:?}: {recovered}"
    );
    assert!(
        recovered.contains(&format!(
            "after the first failure (cycle {} at {})",
            cycles
                .iter()
                .position(|c| stamp(c) == t1)
                .map(|i| i + 1)
                .unwrap(),
            lines[first].split(' ').next().unwrap()
        )),
        "{recovered}"
    );

    // The summary: every transition, in order, then the episode and the last state.
    let s = lines
        .iter()
        .position(|l| l.starts_with("watch summary: "))
        .unwrap_or_else(|| panic!("no summary:\n{}", run.stdout));
    let summary = &lines[s..];
    assert!(
        summary[0].starts_with(&format!("watch summary: {} cycles (", cycles.len())),
        "{}",
        summary[0]
    );
    assert!(cycles.len() >= 5, "{}", summary[0]);
    let n: usize = summary[1]
        .strip_prefix("transitions: ")
        .unwrap()
        .parse()
        .unwrap();
    let listed = &summary[2..2 + n];
    let transitions: Vec<&str> = lines[..s]
        .iter()
        .copied()
        .filter(|l| l.contains(" transition "))
        .collect();
    assert_eq!(n, transitions.len(), "{}", run.stdout);
    for (l, t) in listed.iter().zip(&transitions) {
        let what = t.split(" transition ").nth(1).unwrap();
        assert!(l.ends_with(what), "{l} vs {t}");
    }
    assert_eq!(summary[2 + n], recovered.split_once(' ').unwrap().1);
    assert_eq!(summary.last(), Some(&"last cycle: ok"));

    assert_bucket_empty(&sim, "sim-watch").await;
}

#[tokio::test]
async fn watch_json_lines_are_reports_with_their_transitions() {
    let sim = SimVpc::up();
    let net = sim.network(None, false).await;
    sim.bucket("sim-watch-json").await;
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("vpce_probe.prom");
    let mut w = Watcher::start(
        &sim,
        &[
            "check",
            "--bucket",
            "sim-watch-json",
            "--watch",
            "1",
            "--timeout",
            "8",
            "--output",
            "json",
            "--prometheus-textfile",
            prom.to_str().unwrap(),
        ],
    );
    w.wait_for("a first report", WAIT, |o| o.lines().count() >= 1);
    // the textfile is rewritten every cycle: healthy now…
    let textfile = std::fs::read_to_string(&prom).expect("the textfile after the first cycle");
    assert!(
        textfile.contains("\nvpce_probe_run_success 1\n"),
        "{textfile}"
    );
    remove_endpoint_route(&sim, &net).await;
    w.wait_for("a report with the transition", WAIT, |o| {
        o.contains(r#""kind":"path","from":"gateway_endpoint","to":"internet_gateway""#)
    });
    // SIGTERM (as systemd stops it): the same summary, the last cycle's code (the route is
    // still gone: 1).
    let (run, _w) = w.stop("TERM", Duration::from_secs(15));
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.ends_with('\n'));
    let reports: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| {
            validate_report(l);
            serde_json::from_str(l).unwrap()
        })
        .collect();
    for (i, r) in reports.iter().enumerate() {
        assert_eq!(r["watch"]["cycle"], i as u64 + 1);
        assert_eq!(r["watch"]["interval_ms"], 1000);
    }
    assert_eq!(reports[0]["ok"], true);
    assert_eq!(reports[0]["watch"]["transitions"], serde_json::json!([]));
    let k = reports
        .iter()
        .position(|r| r["watch"]["transitions"] != serde_json::json!([]))
        .unwrap();
    let ts = reports[k]["watch"]["transitions"].as_array().unwrap();
    assert_eq!(
        (&ts[0]["kind"], &ts[0]["from"], &ts[0]["to"]),
        (
            &Value::from("path"),
            &Value::from("gateway_endpoint"),
            &Value::from("internet_gateway")
        ),
        "{ts:?}"
    );
    assert_eq!(ts[0]["bucket"], "sim-watch-json");
    assert_eq!(ts[0]["cycle"], k as u64 + 1);
    // `at` is the cycle's start, just before the run's own `started_at`
    let (at, started) = (
        time(ts[0]["at"].as_str().unwrap()),
        time(reports[k]["started_at"].as_str().unwrap()),
    );
    assert!(
        at <= started && started.duration_since(at).unwrap() < Duration::from_secs(1),
        "{at:?} {started:?}"
    );
    assert!(
        ts.iter().any(|t| t["kind"] == "finding_appeared"
            && t["code"] == "gateway_endpoint_not_on_route_table"),
        "{ts:?}"
    );
    assert_eq!(reports[k]["ok"], false);
    assert_eq!(
        reports[k]["targets"][0]["path"]["verdict"],
        "internet_gateway"
    );
    // …and, like the last report, failing at the end
    let textfile = std::fs::read_to_string(&prom).unwrap();
    assert!(
        textfile.contains("\nvpce_probe_run_success 0\n"),
        "{textfile}"
    );
    assert!(
        textfile.contains("vpce_probe_via_gateway_endpoint{bucket=\"sim-watch-json\""),
        "{textfile}"
    );
    // stdout is reports only; the summary goes to stderr
    assert!(run.stderr.contains("watch summary: "), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("sim-watch-json: path gateway_endpoint → internet_gateway"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("last cycle: FAIL"), "{}", run.stderr);
    assert_bucket_empty(&sim, "sim-watch-json").await;
}

/// A watch whose cycles take seconds: the EC2 API's name never resolves, so each cycle waits for
/// its EC2 calls to give up while the S3 probes (put, get, delete) are done early.
async fn slow_watch(sim: &SimVpc, bucket: &str) -> Watcher {
    sim.network(None, false).await;
    sim.bucket(bucket).await;
    sim.dns("ec2.us-east-1.amazonaws.com", "timeout");
    let mut w = Watcher::start(
        sim,
        &[
            "check",
            "--bucket",
            bucket,
            "--watch",
            "1",
            "--timeout",
            "6",
            "--connect-timeout",
            "2",
        ],
    );
    w.wait_for("a first cycle", WAIT, |o| o.contains(" cycle 1 "));
    let first = w.stdout();
    let ms: u64 = first
        .split(" ms |")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        ms >= 1500,
        "a slow cycle, so that the second starts at once: {first}"
    );
    w
}

#[tokio::test]
async fn a_signal_mid_cycle_lets_the_cycle_finish_then_summarizes() {
    let sim = SimVpc::up();
    let w = slow_watch(&sim, "sim-watch-int").await;
    // cycle 1 took longer than the interval: cycle 2 is under way
    let (run, _w) = w.stop("INT", Duration::from_secs(6 + 3));
    assert!(
        run.stderr
            .contains("SIGINT: finishing cycle 2 (at most 6.0 s) so that it deletes what it wrote"),
        "{}",
        run.stderr
    );
    assert!(
        run.elapsed >= Duration::from_millis(500),
        "the cycle was not cut: {:?}",
        run.elapsed
    );
    let cycle2 = run
        .stdout
        .lines()
        .find(|l| l.split(' ').nth(1) == Some("cycle") && l.split(' ').nth(2) == Some("2"))
        .unwrap_or_else(|| panic!("cycle 2 finished and was shown:\n{}", run.stdout));
    assert!(
        run.stdout.contains("watch summary: 2 cycles ("),
        "{}",
        run.stdout
    );
    let want = if cycle2.split(' ').nth(3) == Some("ok") {
        0
    } else {
        1
    };
    assert_eq!(run.code, want, "the last cycle's code: {cycle2}");
    assert_bucket_empty(&sim, "sim-watch-int").await;
}

#[tokio::test]
async fn a_second_signal_quits_at_once_with_130() {
    let sim = SimVpc::up();
    let w = slow_watch(&sim, "sim-watch-int2").await;
    let kill = |sig: &str, pid: u32| {
        assert!(
            Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(pid.to_string())
                .status()
                .unwrap()
                .success()
        );
    };
    kill("INT", w.child.id());
    let t0 = Instant::now();
    while !w.stderr().contains("finishing cycle 2") {
        assert!(t0.elapsed() < Duration::from_secs(5), "{}", w.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    let (run, _w) = w.stop("INT", Duration::from_secs(1));
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains(" cycle 2 "),
        "cycle 2 was abandoned: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("watch summary: 1 cycle ("),
        "{}",
        run.stdout
    );
}

#[test]
fn watch_refuses_prometheus_on_stdout_and_a_bad_interval() {
    for (args, says) in [
        (
            &["--watch", "--output", "prometheus"][..],
            "--watch with --output prometheus",
        ),
        (&["--watch", "0"][..], "--watch: 0 is out of range"),
        (&["--watch", "soon"][..], "--watch: 'soon' is not a number"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vpce-probe"))
            .args(["check", "--bucket", "sim-watch", "--config", "/dev/null"])
            .args(args)
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
