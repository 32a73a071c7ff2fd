//! Entry point: parse arguments, validate, run, report — and decide the exit code, here only.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use vpce_probe::cli::{Cli, ColorChoice, Command, LogFormat, OutputFormat};
use vpce_probe::config::Config;
use vpce_probe::report::{human, json, model::Report, prometheus};
use vpce_probe::signal::{Stop, StopSignal};
use vpce_probe::{diagnose, probe};

/// Every check passed.
const EXIT_OK: u8 = 0;
/// A check failed (or a finding is an error).
const EXIT_CHECK_FAILED: u8 = 1;
/// Bad input or configuration.
const EXIT_USAGE: u8 = 2;
/// The report could not be written.
const EXIT_OUTPUT: u8 = 3;
/// The probe itself could not run (its async runtime could not start: out of memory,
/// threads or file descriptors); nothing was checked.
const EXIT_INTERNAL: u8 = 4;
/// Stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports it. The partial report was written.
const EXIT_SIGINT: u8 = 130;
/// Stopped by SIGTERM (`systemctl stop`): 128 + 15. The partial report was written.
const EXIT_SIGTERM: u8 = 143;

/// The exit code of a run a stop signal ended.
fn exit_stopped(signal: StopSignal) -> u8 {
    match signal {
        StopSignal::Sigint => EXIT_SIGINT,
        StopSignal::Sigterm => EXIT_SIGTERM,
    }
}

fn init_tracing(verbose: u8, format: LogFormat) {
    let default = match verbose {
        0 => "warn",
        1 => "vpce_probe=info,warn",
        2 => "vpce_probe=debug,info",
        _ => "trace",
    };
    // `target=level` directives (tracing's `Targets`: no regex engine in the binary); an
    // unusable VPCE_PROBE_LOG falls back to the -v level
    let filter: Targets = std::env::var("VPCE_PROBE_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| default.parse().unwrap_or_default());
    let builder = tracing_subscriber::fmt()
        // the builder's own ceiling (INFO by default) lifted: `filter` alone decides
        .with_max_level(tracing::Level::TRACE)
        .with_writer(|| RedactingStderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    match format {
        LogFormat::Text => builder.finish().with(filter).init(),
        LogFormat::Json => builder.json().finish().with(filter).init(),
    }
}

/// stderr for the log, with every AWS access key id masked: at `-vvv` the SDK's own trace and
/// debug events print the credentials' `access_key_id` (it redacts only the secret and the
/// token), and no credential may appear in any output.
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut line = buf.to_vec();
        redact_access_key_ids(&mut line);
        std::io::stderr().write_all(&line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Mask what follows `AKIA`/`ASIA` (long-term and temporary access key ids: 16 upper-case
/// letters and digits; 12 or more are masked).
fn redact_access_key_ids(buf: &mut [u8]) {
    let mut i = 0;
    while i + 4 <= buf.len() {
        let prefix = &buf[i..i + 4];
        if prefix == b"AKIA" || prefix == b"ASIA" {
            let n = buf[i + 4..]
                .iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                .count();
            if n >= 12 {
                buf[i + 4..i + 4 + n].fill(b'*');
            }
            i += 4 + n;
        } else {
            i += 1;
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidUtf8 => {
            eprintln!("vpce-probe: error: {}", non_utf8_argument());
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            let text = e.to_string();
            if text.lines().any(|l| l.len() > MAX_ERROR_LINE) {
                // a huge argument echoed back: keep each line short
                for l in text.lines() {
                    eprintln!("{}", vpce_probe::config::shown_line(l, MAX_ERROR_LINE));
                }
            } else {
                let _ = e.print();
            }
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    init_tracing(cli.verbose, cli.log_format);
    match cli.command {
        Command::Check(args) => {
            let cfg = match Config::from_check_args(*args) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("vpce-probe: error: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            match cfg.watch {
                Some(every) => ExitCode::from(watch(&cfg, every)),
                None => ExitCode::from(check(&cfg, cli.verbose > 0)),
            }
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "vpce-probe", &mut buf);
            ExitCode::from(write_stdout(&buf))
        }
        Command::Man { page } => {
            let top = <Cli as clap::CommandFactory>::command();
            let cmd = match page.as_deref() {
                None => top,
                Some(name) => match (top.find_subcommand(name), man_name(name)) {
                    (Some(sub), Some(page)) => sub.clone().name(page),
                    _ => {
                        eprintln!(
                            "vpce-probe: error: no man page '{name}' (check, iam-policy, explain, completions, man)"
                        );
                        return ExitCode::from(EXIT_USAGE);
                    }
                },
            };
            let mut buf = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut buf) {
                Ok(()) => ExitCode::from(write_stdout(&buf)),
                Err(_) => ExitCode::from(EXIT_OUTPUT),
            }
        }
        Command::Explain { code } => {
            use vpce_probe::report::explain;
            let mut buf = Vec::new();
            let written = match code.as_deref() {
                None => explain::list(&mut buf),
                Some(typed) => match explain::lookup(typed) {
                    Ok(code) => explain::explain(code, &mut buf),
                    Err(near) => {
                        let hint = if near.is_empty() {
                            "`vpce-probe explain` lists them".to_string()
                        } else {
                            format!("did you mean {}?", near.join(", "))
                        };
                        eprintln!("vpce-probe: error: no finding code '{typed}': {hint}");
                        return ExitCode::from(EXIT_USAGE);
                    }
                },
            };
            match written {
                Ok(()) => ExitCode::from(write_stdout(&buf)),
                Err(_) => ExitCode::from(EXIT_OUTPUT),
            }
        }
        Command::IamPolicy(args) => match vpce_probe::config::iam_policy_input(args) {
            Ok(input) => {
                let doc = vpce_probe::iam_policy::policy(&input);
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                let mut out = std::io::stdout().lock();
                match writeln!(out, "{text}").and_then(|_| out.flush()) {
                    Ok(()) => ExitCode::from(EXIT_OK),
                    Err(_) => ExitCode::from(EXIT_OUTPUT),
                }
            }
            Err(e) => {
                eprintln!("vpce-probe: error: {e}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}

/// Longest line of a command-line error (a huge argument is shown by its start and length).
const MAX_ERROR_LINE: usize = 300;

/// The argument that is not UTF-8, named by position and the option before it, shown lossily.
fn non_utf8_argument() -> String {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    for (i, a) in args.iter().enumerate().skip(1) {
        if a.to_str().is_none() {
            let shown = vpce_probe::config::shown(&a.to_string_lossy());
            let after = match args[i - 1].to_str() {
                Some(prev) if prev.starts_with('-') && i > 1 => format!(" (the value of {prev})"),
                _ => String::new(),
            };
            return format!(
                "argument {i}{after} is not valid UTF-8: '{shown}' (invalid bytes shown as U+FFFD); bucket names, keys, prefixes and regions are text"
            );
        }
    }
    "an argument is not valid UTF-8".into()
}

/// The man page name of a subcommand.
fn man_name(sub: &str) -> Option<&'static str> {
    Some(match sub {
        "check" => "vpce-probe-check",
        "iam-policy" => "vpce-probe-iam-policy",
        "explain" => "vpce-probe-explain",
        "completions" => "vpce-probe-completions",
        "man" => "vpce-probe-man",
        _ => return None,
    })
}

/// Write generated text to stdout; a closed pipe is exit 3, never a panic.
fn write_stdout(bytes: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(_) => EXIT_OUTPUT,
    }
}

/// The colour of the human output: as asked, else on a terminal without NO_COLOR.
fn color(cfg: &Config) -> bool {
    match cfg.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// `check --watch`: cycles until SIGINT or SIGTERM. The exit code is the last finished cycle's
/// (0 ok, 1 failed, 2 it could not run), so that a script can tell the state it stopped in;
/// 130 (SIGINT) or 143 (SIGTERM) when no cycle finished or a second signal abandoned one;
/// 2 when the first cycle cannot run; 3 when the output cannot be written.
fn watch(cfg: &Config, every: std::time::Duration) -> u8 {
    use vpce_probe::report::watch::Outcome;
    use vpce_probe::watch::{self, Mode, Sig, Stop};
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vpce-probe: error: cannot start the runtime: {e}");
            return EXIT_INTERNAL;
        }
    };
    let mode = match cfg.output {
        OutputFormat::Json => Mode::Json,
        _ if std::io::stdout().is_terminal() => Mode::Screen,
        _ => Mode::Lines,
    };
    let style = vpce_probe::report::watch_render::Style { color: color(cfg) };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let end = rt.block_on(watch::run(
        cfg,
        every,
        watch::Output {
            mode,
            style,
            out: &mut out,
            err: &mut err,
        },
    ));
    rt.shutdown_background();
    let by_signal = |s: Sig| match s {
        Sig::Interrupt => 130,
        Sig::Terminate => 143,
    };
    match end.stop {
        Stop::FirstCycle(e) => {
            eprintln!("vpce-probe: error: {e}");
            EXIT_USAGE
        }
        Stop::Output(e) => {
            eprintln!("vpce-probe: error: {e}");
            EXIT_OUTPUT
        }
        Stop::Abandoned(s) => by_signal(s),
        Stop::Signal(s) => match end.last {
            None => by_signal(s),
            Some(Outcome::Ok) => EXIT_OK,
            Some(Outcome::Failed) => EXIT_CHECK_FAILED,
            Some(Outcome::Error) => EXIT_USAGE,
        },
    }
}

/// `verbose` (`-v`): the human table shows the phase timings of every request.
fn check(cfg: &Config, verbose: bool) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vpce-probe: error: cannot start the runtime: {e}");
            return EXIT_INTERNAL;
        }
    };
    // From here on SIGINT and SIGTERM end the run cleanly: the probe deletes what it wrote and
    // the partial report is written (exit 130 / 143).
    let stop = {
        let _in_runtime = rt.enter();
        match Stop::listen() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("vpce-probe: error: cannot catch SIGINT/SIGTERM: {e}");
                return EXIT_INTERNAL;
            }
        }
    };
    let run = match rt.block_on(probe::run(cfg, &stop)) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("vpce-probe: error: {e}");
            return EXIT_USAGE;
        }
    };
    let diagnosis = diagnose::diagnose(&run.evidence, &cfg.expectations());
    let mut report = Report::build(&run.evidence, &diagnosis);
    // An interrupted run's partial report is not a measurement: it goes to stdout only.
    if !cfg.sinks.sinks.is_empty() && stop.received().is_none() {
        let deliver = vpce_probe::report::sink::deliver(
            &run.sdk,
            &run.api_connector,
            &report,
            &cfg.sinks,
            &run.host,
        );
        if let Ok(outcomes) = rt.block_on(stop.unless(deliver)) {
            let findings = diagnose::sink_findings(&outcomes);
            report.add_sink_outcomes(outcomes, findings);
        }
    }
    if let Some(signal) = stop.received() {
        report.mark_interrupted(signal);
    }
    // Background tasks (idle connections, resolver) must not hold the process past its deadline.
    rt.shutdown_background();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match cfg.output {
        OutputFormat::Json => json::render(&report, &mut out, std::io::stdout().is_terminal()),
        OutputFormat::Prometheus => prometheus::render(&report, &mut out),
        OutputFormat::Human => human::render_verbose(
            &report,
            &mut out,
            human::Style { color: color(cfg) },
            verbose,
        ),
    }
    .and_then(|_| out.flush());
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("vpce-probe: error: cannot write the report: {e}");
        }
        return EXIT_OUTPUT;
    }
    if let Some(path) = &cfg.prometheus_textfile
        && let Err(e) = prometheus::write_textfile(&report, path)
    {
        eprintln!("vpce-probe: error: cannot write {}: {e}", path.display());
        return EXIT_OUTPUT;
    }
    match report.interrupted {
        Some(signal) => exit_stopped(signal),
        None if report.ok => EXIT_OK,
        None => EXIT_CHECK_FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::redact_access_key_ids;

    #[test]
    fn access_key_ids_are_masked_in_the_log() {
        let mut line =
            b"access_key_id: \"ASIAEMULATEDIMDSKEY0\", AKIAVPCEPROBETEST01 AKIA short".to_vec();
        redact_access_key_ids(&mut line);
        let out = String::from_utf8(line).unwrap();
        assert_eq!(
            out,
            "access_key_id: \"ASIA****************\", AKIA*************** AKIA short"
        );
    }
}
