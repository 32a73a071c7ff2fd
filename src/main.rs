//! Entry point: parse arguments, validate, run, report — and decide the exit code, here only.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use vpce_probe::cli::{Cli, ColorChoice, Command, LogFormat, OutputFormat};
use vpce_probe::config::Config;
use vpce_probe::report::{human, json, model::Report, prometheus};
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

fn init_tracing(verbose: u8, format: LogFormat) {
    let default = match verbose {
        0 => "warn",
        1 => "vpce_probe=info,warn",
        2 => "vpce_probe=debug,info",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_env("VPCE_PROBE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
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
            ExitCode::from(check(&cfg, cli.verbose > 0))
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
    let run = match rt.block_on(probe::run(cfg)) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("vpce-probe: error: {e}");
            return EXIT_USAGE;
        }
    };
    let diagnosis = diagnose::diagnose(&run.evidence, &cfg.expectations());
    let mut report = Report::build(&run.evidence, &diagnosis);
    if !cfg.sinks.sinks.is_empty() {
        let outcomes = rt.block_on(vpce_probe::report::sink::deliver(
            &run.sdk, &report, &cfg.sinks, &run.host,
        ));
        let findings = diagnose::sink_findings(&outcomes);
        report.add_sink_outcomes(outcomes, findings);
    }
    // Background tasks (idle connections, resolver) must not hold the process past its deadline.
    rt.shutdown_background();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match cfg.output {
        OutputFormat::Json => json::render(&report, &mut out, std::io::stdout().is_terminal()),
        OutputFormat::Prometheus => prometheus::render(&report, &mut out),
        OutputFormat::Human => {
            let color = match cfg.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            human::render_verbose(&report, &mut out, human::Style { color }, verbose)
        }
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
    if report.ok {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    }
}
