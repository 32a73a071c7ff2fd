//! The end-to-end harness: real local servers (moto_server for S3, the project's IMDSv2
//! emulator), started per test and stopped on drop, and a runner for the built binary.
//! A missing emulator is a loud failure, never a skip.
#![allow(dead_code)]

pub mod fault;
pub mod vpc;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use tempfile::TempDir;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python venv with the pinned emulators (`scripts/setup.sh` makes it).
pub fn venv() -> PathBuf {
    std::env::var_os("VPCE_PROBE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
}

fn venv_bin(name: &str) -> PathBuf {
    let p = venv().join("bin").join(name);
    assert!(
        p.exists(),
        "{} not found: run scripts/setup.sh (make test does) or set VPCE_PROBE_VENV",
        p.display()
    );
    p
}

/// The probe binary the tests run, as an argument vector: the one cargo built for these tests,
/// or `VPCE_PROBE_BIN` (e.g. the aarch64 build), run through `VPCE_PROBE_RUNNER` when set (e.g.
/// `qemu-aarch64-static`, called explicitly: no binfmt_misc needed). `make cross-e2e` sets both.
/// A missing binary or runner fails the test loudly.
pub fn probe_argv() -> Vec<std::ffi::OsString> {
    let bin = std::env::var_os("VPCE_PROBE_BIN").filter(|b| !b.is_empty());
    let runner = std::env::var_os("VPCE_PROBE_RUNNER").filter(|r| !r.is_empty());
    let Some(bin) = bin else {
        assert!(
            runner.is_none(),
            "VPCE_PROBE_RUNNER is set without VPCE_PROBE_BIN: name the binary it runs"
        );
        return vec![env!("CARGO_BIN_EXE_vpce-probe").into()];
    };
    assert!(
        Path::new(&bin).is_file(),
        "VPCE_PROBE_BIN={} does not exist: build it first (make cross)",
        Path::new(&bin).display()
    );
    match runner {
        None => vec![bin],
        Some(runner) => {
            let found = if Path::new(&runner).components().count() > 1 {
                Path::new(&runner).is_file()
            } else {
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                    .any(|d| d.join(&runner).is_file())
            };
            assert!(
                found,
                "VPCE_PROBE_RUNNER={} not found: scripts/setup.sh --cross installs qemu-user-static",
                Path::new(&runner).display()
            );
            vec![runner, bin]
        }
    }
}

/// The binary's machine, read from its ELF header (`e_machine`), as the target triple its
/// `--version` must name.
pub fn probe_target_triple() -> &'static str {
    let argv = probe_argv();
    let bin = argv.last().expect("the binary");
    let mut head = [0u8; 20];
    std::fs::File::open(bin)
        .and_then(|mut f| f.read_exact(&mut head))
        .expect("read the probe binary's ELF header");
    assert!(head[..4] == *b"\x7fELF", "not an ELF binary");
    match u16::from_le_bytes([head[18], head[19]]) {
        62 => "x86_64-unknown-linux-gnu",
        183 => "aarch64-unknown-linux-gnu",
        m => panic!("unexpected ELF machine {m}"),
    }
}

/// A [`Command`] running the probe binary ([`probe_argv`]).
pub fn probe_command() -> Command {
    let argv = probe_argv();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// moto builds its EC2 backend (AWS-managed prefix lists, AMIs) on the first EC2 request of a
/// region: seconds on a loaded machine, where EC2 answers in milliseconds. Pay that here, once,
/// so a probe's bounded EC2 step measures the probe, not moto's start.
fn warm_ec2(port: u16) {
    let body = "Action=DescribeManagedPrefixLists&Version=2016-11-15";
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIAWARM/20260101/us-east-1/ec2/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut sink = String::new();
    let _ = s.read_to_string(&mut sink);
}

/// A moto_server of its own, on a free port, with its request log captured.
pub struct Moto {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Moto {
    pub fn start() -> Self {
        let bin = venv_bin("moto_server");
        let dir = tempfile::tempdir().expect("tempdir");
        for _ in 0..3 {
            let port = free_port();
            let log = dir.path().join(format!("moto-{port}.log"));
            let out = std::fs::File::create(&log).expect("moto log");
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("spawn moto_server");
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken or crashed: try another port
                }
                if matches!(http_get(port, "/moto-api/"), Some((200, _))) {
                    warm_ec2(port);
                    return Moto {
                        child,
                        port,
                        log,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "moto_server did not start (see its log in {})",
            dir.path().display()
        );
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests moto served so far, as "METHOD /path?query" (from its request log).
    pub fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter_map(|l| {
                let q = l.split('"').nth(1)?;
                let clean: String = strip_ansi(q);
                let mut parts = clean.split_whitespace();
                let method = parts.next()?;
                let path = parts.next()?;
                Some(format!("{method} {path}"))
            })
            .filter(|r| !r.contains("/moto-api/"))
            .collect()
    }

    /// An admin S3 client for setting up and inspecting state.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        s3_admin(&self.url(), "us-east-1")
    }

    pub fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        s3_admin(&self.url(), region)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The SDK configuration of the harness's admin clients: static keys, `url` as the endpoint of
/// every service, `ca` (PEM) trusted in addition to the system roots.
pub fn admin_sdk(url: &str, region: &str, ca: Option<&[u8]>) -> aws_config::SdkConfig {
    let http = vpce_probe::net::http_client(
        vpce_probe::net::ProbeResolver::from_system(Duration::from_secs(2)),
        ca,
        &vpce_probe::net::ProxyEnv::default(),
    )
    .expect("http client");
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(url)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "admin", "admin", None, None, "tests",
            )),
        )
        .http_client(http)
        .build()
}

/// An admin S3 client (path-style).
pub fn s3_admin(url: &str, region: &str) -> aws_sdk_s3::Client {
    let sdk = admin_sdk(url, region, None);
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

/// The project's IMDSv2 emulator, describing one instance.
pub struct Imds {
    child: Child,
    pub port: u16,
    _dir: TempDir,
}

impl Imds {
    /// `instance` overrides the emulator's defaults (see tests/emulators/imds.py).
    pub fn start(instance: Value) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("instance.json");
        std::fs::write(&cfg, instance.to_string()).expect("write instance.json");
        let mut child = Command::new(venv_bin("python"))
            .arg(repo().join("tests/emulators/imds.py"))
            .args(["--port", "0", "--config"])
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the IMDS emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the IMDS emulator's READY line");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the IMDS emulator did not start: {line:?}"));
        Imds {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Request counters, including GETs made without a token (IMDSv1).
    pub fn stats(&self) -> Value {
        let (_, body) = http_get(self.port, "/_emulator/stats").expect("emulator stats");
        serde_json::from_str(&body).expect("stats JSON")
    }
}

impl Drop for Imds {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The result of one probe run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The JSON report on stdout, validated against `docs/report.schema.json`.
    pub fn json(&self) -> Value {
        let v = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        validate_report(&self.stdout);
        v
    }
}

/// Validate a JSON report against the documented schema (jsonschema, in the test venv).
pub fn validate_report(report: &str) {
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        v = jsonschema.Draft202012Validator(schema)\n\
        errs = sorted(v.iter_errors(json.load(sys.stdin)), key=lambda e: list(map(str, e.path)))\n\
        [print('/'.join(map(str, e.path)), ':', e.message) for e in errs]\n\
        sys.exit(1 if errs else 0)\n";
    let mut child = Command::new(venv_bin("python"))
        .args(["-c", script])
        .arg(repo().join("docs/report.schema.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the schema validator");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(report.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the report does not match docs/report.schema.json:\n{}{}\nreport:\n{report}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `report.targets[t].checks[name=...]`.
pub fn check<'a>(report: &'a Value, target: usize, name: &str) -> &'a Value {
    report["targets"][target]["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in target {target}"))
}

/// A top-level check (`imds`, `credentials`).
pub fn run_check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no run check {name}"))
}

pub fn finding_codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Create `bucket` in `region` (outside us-east-1) through an admin client of that region.
pub async fn create_bucket_in(s3: &aws_sdk_s3::Client, bucket: &str, region: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        )
        .send()
        .await
        .expect("create bucket in another region");
}

/// The finding of `code` in a report (panics, naming the codes there, when it is absent).
pub fn finding<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", finding_codes(report)))
}

/// The built binary with a clean environment: no AWS variables, an empty HOME.
pub struct Probe {
    cmd: Command,
    _home: TempDir,
}

impl Probe {
    pub fn new() -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        Self::with_command(probe_command(), home)
    }

    /// Run the binary in a private mount namespace where `/etc/resolv.conf` and
    /// `/etc/nsswitch.conf` are replaced: proves which resolver the binary really uses.
    /// Needs root (`unshare -m`), as the test command runs.
    pub fn with_etc(resolv_conf: &str, nsswitch_conf: &str) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let resolv = home.path().join("resolv.conf");
        let nss = home.path().join("nsswitch.conf");
        std::fs::write(&resolv, resolv_conf).unwrap();
        std::fs::write(&nss, nsswitch_conf).unwrap();
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "sh", "-c"])
            .arg(
                "mount --bind \"$1\" /etc/resolv.conf && mount --bind \"$2\" /etc/nsswitch.conf \
                 && shift 2 && exec \"$@\"",
            )
            .arg("sh")
            .arg(&resolv)
            .arg(&nss)
            .args(probe_argv());
        Self::with_command(cmd, home)
    }

    fn with_command(mut cmd: Command, home: TempDir) -> Self {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        Probe { cmd, _home: home }
    }

    pub fn home(&self) -> &Path {
        self._home.path()
    }

    pub fn moto(mut self, m: &Moto) -> Self {
        self.cmd.env("AWS_ENDPOINT_URL", m.url());
        self
    }

    pub fn imds(mut self, i: &Imds) -> Self {
        self.cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", i.url());
        self
    }

    /// Point IMDS at a closed port: "not on EC2".
    pub fn no_imds(mut self) -> Self {
        self.cmd.env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{}", free_port()),
        );
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn env_keys(self) -> Self {
        self.env("AWS_ACCESS_KEY_ID", "AKIAVPCEPROBETEST01").env(
            "AWS_SECRET_ACCESS_KEY",
            "vpce-probe-test-secret-do-not-print",
        )
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg_path(mut self, p: &Path) -> Self {
        self.cmd.arg(p);
        self
    }

    /// Run, failing the test if the binary is still running after 60 s.
    pub fn run(self) -> Run {
        run_bounded(self.cmd)
    }
}

/// Run a command that ends in vpce-probe, capturing its output; fail the test if it is still
/// running after 60 s or if it panicked.
pub fn run_bounded(mut cmd: Command) -> Run {
    let t0 = Instant::now();
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out_path = out_dir.path().join("stdout");
    let err_path = out_dir.path().join("stderr");
    let mut child = cmd
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn vpce-probe");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("vpce-probe hung for 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = t0.elapsed();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert!(
        !stderr.contains("panicked"),
        "vpce-probe panicked:\n{stderr}"
    );
    Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr,
        elapsed,
    }
}

/// An IMDS instance description with an IAM role (credentials come from IMDS).
pub fn instance_with_role() -> Value {
    serde_json::json!({"role": "vpce-probe-test-role"})
}

/// A dnsmasq of its own on `127.0.0.<n>:53`, answering `records` (`name` → `ip`, or `None` for
/// NXDOMAIN). Needs root (port 53), as the test command runs; fails loudly otherwise.
pub struct Dnsmasq {
    child: Child,
    pub ip: String,
    /// Every query dnsmasq received is logged here (`--log-queries`).
    log: tempfile::NamedTempFile,
}

impl Dnsmasq {
    pub fn start(records: &[(&str, Option<&str>)]) -> Self {
        let bin = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("dnsmasq not installed: run scripts/setup.sh (make test does)");
        for _ in 0..5 {
            let ip = format!("127.0.{}.{}", fastrand::u8(1..250), fastrand::u8(2..250));
            let log = tempfile::NamedTempFile::new().expect("dnsmasq log file");
            let mut cmd = Command::new(bin);
            cmd.args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--pid-file",
                "--no-hosts",
                "--no-resolv",
                "--bind-interfaces",
                "--port=53",
                "--local-ttl=5",
                "--log-queries",
            ])
            .arg(format!("--log-facility={}", log.path().display()))
            .arg(format!("--listen-address={ip}"));
            for (name, addr) in records {
                cmd.arg(format!("--address=/{name}/{}", addr.unwrap_or("")));
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn dnsmasq");
            std::thread::sleep(Duration::from_millis(300));
            match child.try_wait() {
                Ok(None) => return Dnsmasq { child, ip, log },
                _ => {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    assert!(
                        !err.contains("Permission denied"),
                        "dnsmasq needs root to bind port 53: {err}"
                    );
                }
            }
        }
        panic!("dnsmasq did not start");
    }
}

impl Dnsmasq {
    /// The names queried so far, as `TYPE name` (e.g. `A s3.us-east-1.amazonaws.com`).
    pub fn queries(&self) -> Vec<String> {
        std::fs::read_to_string(self.log.path())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let rest = &l[l.find("query[")? + "query[".len()..];
                let (ty, rest) = rest.split_once("] ")?;
                let name = rest.split(" from ").next()?;
                Some(format!("{ty} {name}"))
            })
            .collect()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A probe started and left running, to be signalled mid-run ([`Running::signal`]) and then
/// waited for ([`Running::wait`]); its output goes to files, as with [`run_bounded`].
pub struct Running {
    child: Child,
    t0: Instant,
    out_dir: TempDir,
    _home: TempDir,
}

impl Running {
    /// Start `cmd` (a command that ends in vpce-probe, which keeps its pid: `vpc.sh exec`
    /// execs); `home` lives until the run ends.
    pub fn spawn(mut cmd: Command, home: TempDir) -> Self {
        let out_dir = tempfile::tempdir().expect("tempdir");
        let child = cmd
            .stdout(std::fs::File::create(out_dir.path().join("stdout")).unwrap())
            .stderr(std::fs::File::create(out_dir.path().join("stderr")).unwrap())
            .spawn()
            .expect("spawn vpce-probe");
        Running {
            child,
            t0: Instant::now(),
            out_dir,
            _home: home,
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }

    /// Send `sig` (`TERM`, `INT`, `KILL`) to the probe.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} {} failed", self.child.id());
    }

    /// Still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait for the end (failing the test after 60 s in all), capture the output.
    pub fn wait(mut self) -> Run {
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if self.t0.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("vpce-probe hung for 60 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.t0.elapsed();
        let read = |f: &str| std::fs::read_to_string(self.out_dir.path().join(f)).unwrap();
        let stderr = read("stderr");
        assert!(
            !stderr.contains("panicked"),
            "vpce-probe panicked:\n{stderr}"
        );
        use std::os::unix::process::ExitStatusExt;
        Run {
            // killed by a signal it did not handle: minus the signal (never 128 + n, which is
            // what the probe exits with when it handled it)
            code: status
                .code()
                .unwrap_or_else(|| -status.signal().unwrap_or(0)),
            stdout: read("stdout"),
            stderr,
            elapsed,
        }
    }
}

/// One object version or delete marker of a bucket, as `ListObjectVersions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub key: String,
    pub version_id: String,
    pub delete_marker: bool,
    pub latest: bool,
    /// Empty for a delete marker.
    pub etag: String,
}

/// Every version and delete marker of `bucket`, sorted (by key, then version id). These tests
/// hold a handful: one page, asserted.
pub async fn bucket_versions(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<Version> {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_ne!(out.is_truncated(), Some(true), "one page is enough here");
    let mut all: Vec<Version> = out
        .versions()
        .iter()
        .map(|v| Version {
            key: v.key().unwrap_or_default().to_string(),
            version_id: v.version_id().unwrap_or_default().to_string(),
            delete_marker: false,
            latest: v.is_latest().unwrap_or(false),
            etag: v.e_tag().unwrap_or_default().to_string(),
        })
        .chain(out.delete_markers().iter().map(|m| Version {
            key: m.key().unwrap_or_default().to_string(),
            version_id: m.version_id().unwrap_or_default().to_string(),
            delete_marker: true,
            latest: m.is_latest().unwrap_or(false),
            etag: String::new(),
        }))
        .collect();
    all.sort();
    all
}

/// The probe left nothing in `bucket`: no object, no version, no delete marker.
pub async fn assert_bucket_empty(s3: &aws_sdk_s3::Client, bucket: &str) {
    let left = bucket_versions(s3, bucket).await;
    assert!(left.is_empty(), "left in {bucket}: {left:?}");
}

/// The id of moto's AWS-managed S3 prefix list of us-east-1.
pub async fn s3_prefix_list_id(ec2: &aws_sdk_ec2::Client) -> String {
    ec2.describe_managed_prefix_lists()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("prefix-list-name")
                .values("com.amazonaws.us-east-1.s3")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .prefix_lists()[0]
        .prefix_list_id()
        .unwrap()
        .to_string()
}
