//! Property tests of the parsers that read what the outside world sends (the Parsing rows of
//! docs/faults.md): the bucket and endpoint policy parser and evaluator, S3's AccessDenied
//! message parser and the config loader get arbitrary JSON, TOML and strings. None may panic,
//! evaluation is deterministic, and deeply nested or huge policies are refused or evaluated in
//! bounded time. Case counts stay modest: the file runs in seconds on a loaded 2-core machine.

use std::time::{Duration, Instant};

use clap::Parser;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use vpce_probe::cli::{Cli, Command};
use vpce_probe::config::{Config, parse_file};
use vpce_probe::diagnose::denial::Denial;
use vpce_probe::diagnose::policy::{
    MAX_POLICY_CHARS, Policy, Request, evaluate, source_conditions,
};

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        word().prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Words a policy is made of, and some that break it.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "*",
            "?",
            "s3:*",
            "s3:GetObject",
            "s3:PutObject",
            "s3:Get*",
            "s3:ListBucket",
            "arn:aws:s3:::bucket",
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::*/${aws:username}",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:role/r*",
            "vpce-0abc",
            "vpce-*",
            "vpc-0abc",
            "10.0.0.0/16",
            "::/0",
            "999.1.1.1/33",
            "${aws:SourceVpce}",
            "${",
            "true",
            "2012-10-17",
            "",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9:/*?${}. -]{0,24}",
    ]
}

/// Keys a policy uses, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Version",
            "Id",
            "Statement",
            "Sid",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "Condition",
            "AWS",
            "Service",
            "StringEquals",
            "StringNotEquals",
            "StringLike",
            "ForAnyValue:StringLike",
            "ForAllValues:StringEquals",
            "ArnLike",
            "IpAddress",
            "NotIpAddress",
            "Bool",
            "Null",
            "StringEqualsIfExists",
            "aws:SourceVpce",
            "aws:SourceVpc",
            "aws:SourceIp",
            "aws:PrincipalArn",
            "aws:SecureTransport",
        ])
        .prop_map(str::to_string),
        "[A-Za-z:]{0,12}",
    ]
}

/// A string or a list of strings, as policies write them.
fn one_or_many() -> impl Strategy<Value = Value> {
    prop_oneof![
        word().prop_map(Value::String),
        prop::collection::vec(word().prop_map(Value::String), 0..4).prop_map(Value::Array),
        any_json(),
    ]
}

/// A policy-shaped document: mostly well formed, with arbitrary values where it matters.
fn policy_doc() -> impl Strategy<Value = Value> {
    let condition = prop::collection::vec(
        (key(), prop::collection::vec((key(), one_or_many()), 0..3)),
        0..3,
    )
    .prop_map(|ops| {
        Value::Object(
            ops.into_iter()
                .map(|(op, kv)| (op, Value::Object(kv.into_iter().collect())))
                .collect(),
        )
    });
    let principal = prop_oneof![
        Just(json!("*")),
        one_or_many().prop_map(|v| json!({ "AWS": v })),
        any_json(),
    ];
    let statement = (
        prop::option::of(word()),
        prop::sample::select(vec!["Allow", "Deny", "allow", "Maybe"]),
        prop::sample::select(vec!["Action", "NotAction"]),
        one_or_many(),
        prop::sample::select(vec!["Resource", "NotResource"]),
        one_or_many(),
        prop::option::of(principal),
        prop::option::of(condition),
    )
        .prop_map(
            |(sid, effect, ak, action, rk, resource, principal, condition)| {
                let mut st = Map::new();
                if let Some(sid) = sid {
                    st.insert("Sid".into(), json!(sid));
                }
                st.insert("Effect".into(), json!(effect));
                st.insert(ak.into(), action);
                st.insert(rk.into(), resource);
                if let Some(p) = principal {
                    st.insert("Principal".into(), p);
                }
                if let Some(c) = condition {
                    st.insert("Condition".into(), c);
                }
                Value::Object(st)
            },
        );
    (
        prop::option::of(prop::sample::select(vec!["2012-10-17", "2008-10-17", "x"])),
        prop::collection::vec(statement, 0..5),
    )
        .prop_map(|(version, statements)| {
            let mut doc = Map::new();
            if let Some(v) = version {
                doc.insert("Version".into(), json!(v));
            }
            doc.insert("Statement".into(), Value::Array(statements));
            Value::Object(doc)
        })
}

/// A request as the probe builds them, with arbitrary parts.
fn request() -> impl Strategy<Value = Request> {
    (
        word(),
        word(),
        prop::option::of(word()),
        prop::collection::vec((key(), word()), 0..4),
        prop::collection::vec(key(), 0..2),
    )
        .prop_map(|(action, resource, principal, context, absent)| {
            let mut r = Request::new(action, resource);
            if let Some(p) = principal {
                r = r.with_principal(p);
            }
            for (k, v) in context {
                r = r.with_context(k, v);
            }
            for k in absent {
                r = r.with_absent(k);
            }
            r
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any JSON, and any text, is a policy or a one-line reason it is not.
    #[test]
    fn policy_parser_never_panics_on_arbitrary_json(v in any_json(), text in any::<String>()) {
        let from_value = Policy::from_value(&v);
        let from_text = Policy::parse(&v.to_string());
        prop_assert_eq!(from_value.is_ok(), from_text.is_ok());
        if let Err(e) = &from_text {
            prop_assert!(!e.is_empty() && !e.contains('\n'), "one line: {:?}", e);
        }
        let _ = Policy::parse(&text);
    }

    /// The same policy and request give the same evaluation, every time; so do the
    /// endpoint-condition helpers.
    #[test]
    fn policy_evaluation_is_deterministic(doc in policy_doc(), req in request()) {
        let text = doc.to_string();
        let (Ok(a), Ok(b)) = (Policy::parse(&text), Policy::parse(&text)) else {
            prop_assert_eq!(
                Policy::parse(&text).err(),
                Policy::parse(&text).err(),
                "the same error twice"
            );
            return Ok(());
        };
        let (first, second) = (evaluate(&a, &req), evaluate(&b, &req));
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(evaluate(&a, &req), first);
        prop_assert_eq!(source_conditions(&a), source_conditions(&b));
    }
}

proptest! {
    #![proptest_config(cases(24))]

    /// Nesting far past any real policy is refused (serde_json stops at 128 levels), fast, and
    /// without overflowing the stack.
    #[test]
    fn deeply_nested_policies_are_refused_in_bounded_time(depth in 100usize..20_000) {
        let nested = format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{{"StringEquals":{{"aws:SourceVpce":{nested}}}}}}}]}}"#
        );
        let t0 = Instant::now();
        let parsed = Policy::parse(&doc);
        prop_assert!(t0.elapsed() < Duration::from_secs(1), "took {:?}", t0.elapsed());
        if depth > 128 {
            prop_assert!(parsed.is_err(), "{depth} levels must not parse");
        }
    }

    /// A policy over AWS's 20,480 characters is refused as too large, unread; one just under
    /// it, with as many statements and patterns as fit, evaluates in bounded time.
    #[test]
    fn huge_policies_are_refused_or_evaluated_in_bounded_time(
        extra in 1usize..200_000,
        pattern in "[a-z*?]{1,40}",
        req in request(),
    ) {
        let statement = json!({
            "Effect": "Deny",
            "Action": ["s3:*", pattern.clone()],
            "Resource": [format!("arn:aws:s3:::{pattern}/*")],
            "Condition": {"StringNotLike": {"aws:SourceVpce": [pattern.clone(), "vpce-*"]}},
        })
        .to_string();
        let mut statements = Vec::new();
        let mut len = 60;
        while len + statement.len() + 1 < MAX_POLICY_CHARS {
            len += statement.len() + 1;
            statements.push(statement.clone());
        }
        let fits = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","));
        prop_assert!(fits.chars().count() <= MAX_POLICY_CHARS);
        let t0 = Instant::now();
        let policy = Policy::parse(&fits);
        prop_assert!(policy.is_ok(), "{:?}", policy.err());
        let e = evaluate(&policy.unwrap(), &req);
        let _ = e;
        prop_assert!(t0.elapsed() < Duration::from_secs(2), "took {:?}", t0.elapsed());

        let padding = " ".repeat(MAX_POLICY_CHARS + extra - fits.len().min(MAX_POLICY_CHARS));
        let huge = format!("{fits}{padding}");
        prop_assert!(huge.chars().count() > MAX_POLICY_CHARS);
        let t0 = Instant::now();
        let err = Policy::parse(&huge).expect_err("too large");
        prop_assert!(err.contains("too large") && err.contains("20480"), "{}", err);
        prop_assert!(t0.elapsed() < Duration::from_millis(500), "took {:?}", t0.elapsed());
    }
}

/// S3's AccessDenied messages, and pieces of them in any order.
fn denial_message() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "User: ",
            "arn:aws:iam::123456789012:user/u",
            " is not authorized to perform: ",
            "s3:GetObject",
            " on resource: \"",
            "\"",
            " on resource: ",
            " because no ",
            "with an explicit deny in a ",
            "identity-based policy",
            "resource-based policy",
            "VPC endpoint policy",
            "service control policy",
            "resource control policy",
            "session policy",
            "permissions boundary",
            " allows the ",
            " action",
            "policy allows the ",
            "É",
            "\u{1F600}",
            "İ",
        ])
        .prop_map(str::to_string),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any message parses or is `None`, the same way twice; what it finds is in the message.
    #[test]
    fn denial_parser_never_panics_and_is_deterministic(msg in denial_message()) {
        let a = Denial::parse(&msg);
        prop_assert_eq!(&a, &Denial::parse(&msg));
        if let Some(d) = a {
            for part in [&d.action, &d.principal, &d.resource].into_iter().flatten() {
                prop_assert!(!part.is_empty() && msg.contains(part.as_str()), "{:?} in {:?}", part, msg);
            }
        }
    }
}

/// A line of a config file: known keys (top level and `[[target]]`) with values of any type,
/// or arbitrary text.
fn config_text() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "region",
        "profile",
        "timeout",
        "connect_timeout",
        "imds_timeout",
        "max_attempts",
        "dns_server",
        "path_style",
        "output",
        "concurrency",
        "sinks",
        "namespace",
        "log_group",
        "sink_timeout",
        "bucket",
        "prefix",
        "read_only",
        "key",
        "expect_path",
        "expect_access",
        "timeotu",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        prop::sample::select(vec![
            "nan",
            "inf",
            "-inf",
            "1e308",
            "-0.0",
            "0",
            "0.05",
            "3600.1",
            "true",
            "[]",
            "[\"cloudwatch-metrics\"]",
            "{}",
            "\"us-east-1\"",
            "\"\"",
            "\"json\"",
            "\"gateway_endpoint\"",
            "\"deny\"",
            "\"10.0.0.2:53\"",
            "\"my-bucket\"",
            "\"../x\"",
            "1979-05-27T07:32:00Z",
            "\"\\u0000\"",
        ])
        .prop_map(str::to_string),
        "\"[ -~]{0,70}\"",
    ];
    let line = prop_oneof![
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        Just("[[target]]".to_string()),
        Just("[defaults]".to_string()),
        "[ -~]{0,30}",
    ];
    prop::collection::vec(line, 0..10).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(cases(128))]

    /// Any text is a config or an error that starts with its line number.
    #[test]
    fn config_parser_never_panics_on_arbitrary_toml(text in config_text(), junk in any::<String>()) {
        for t in [&text, &junk] {
            if let Err(e) = parse_file(t) {
                let line = e.split(':').next().unwrap_or_default();
                prop_assert!(line.parse::<usize>().is_ok(), "starts with the line: {:?}", e);
            }
        }
    }

    /// The whole loader (file, flags, validation) on any config file: a config, or one line
    /// that names the file (exit code 2 in main), never a panic.
    #[test]
    fn config_loader_never_panics_on_arbitrary_files(text in config_text()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &text).unwrap();
        let cli = Cli::try_parse_from([
            "vpce-probe".as_ref(),
            "check".as_ref(),
            "--config".as_ref(),
            path.as_os_str(),
        ]);
        let Ok(Cli { command: Command::Check(args), .. }) = cli else {
            prop_assert!(false, "the arguments parse");
            unreachable!();
        };
        match Config::from_check_args(*args) {
            Ok(cfg) => {
                prop_assert!(cfg.timeout > Duration::ZERO && cfg.timeout <= Duration::from_secs(3600));
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(!msg.is_empty() && !msg.contains('\n'), "one line: {:?}", msg);
            }
        }
    }
}
