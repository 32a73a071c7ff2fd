//! The docs and the JSON schema are proven in step with the enums of the code: the findings and
//! checks tables of docs/diagnosis.md are generated from `FindingCode` and `CheckName`
//! (`VPCE_PROBE_BLESS=1 cargo test --test docs_in_step` rewrites them), and every `enum` of
//! docs/report.schema.json that mirrors a Rust enum must list exactly its wire names.

use std::path::PathBuf;

use serde_json::Value;
use vpce_probe::diagnose::check_name::Scope;
use vpce_probe::diagnose::path::Verdict;
use vpce_probe::diagnose::{CheckName, Component, FindingCode, Severity, Status};
use vpce_probe::evidence::{
    ContextSource, CredentialProvider, EndpointType, ErrorCode, KeyKind, Phase, PrefixListSource,
    ProviderOutcome, RecordType, RegionSource, S3Op, SinkKind,
};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|v| name(*v).to_string()).collect()
}

/// Every path verdict (the `match` fails to compile when a variant is added and not listed).
fn verdicts() -> Vec<String> {
    let all = [
        Verdict::GatewayEndpoint,
        Verdict::InterfaceEndpoint,
        Verdict::InternetGateway,
        Verdict::NatGateway,
        Verdict::Other,
        Verdict::NoRoute,
        Verdict::Unknown,
        Verdict::Proxy,
    ];
    for v in all {
        match v {
            Verdict::GatewayEndpoint
            | Verdict::InterfaceEndpoint
            | Verdict::InternetGateway
            | Verdict::NatGateway
            | Verdict::Other
            | Verdict::NoRoute
            | Verdict::Unknown
            | Verdict::Proxy => {}
        }
    }
    all.iter()
        .map(|v| {
            serde_json::to_value(v)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn schema_enums_match_the_code() {
    let text = std::fs::read_to_string(repo("docs/report.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    // The checks of the S3 operations (not `s3_unsigned`, which is no operation of the probe).
    let s3_checks: Vec<String> = S3Op::CHECKED
        .iter()
        .filter_map(|op| CheckName::of_op(*op))
        .map(|c| c.as_str().to_string())
        .collect();
    let table: Vec<(&str, Vec<String>)> = vec![
        (
            "/$defs/findingCode/enum",
            names(FindingCode::ALL, FindingCode::as_str),
        ),
        (
            "/$defs/component/enum",
            names(Component::ALL, Component::as_str),
        ),
        (
            "/$defs/checkName/enum",
            names(CheckName::ALL, CheckName::as_str),
        ),
        ("/$defs/s3CheckName/enum", s3_checks),
        ("/$defs/status/enum", names(Status::ALL, Status::as_str)),
        (
            "/$defs/severity/enum",
            names(Severity::ALL, Severity::as_str),
        ),
        ("/$defs/phase/enum", names(Phase::ALL, Phase::as_str)),
        ("/$defs/pathVerdictName/enum", verdicts()),
        (
            "/$defs/prefixListSource/enum",
            names(PrefixListSource::ALL, PrefixListSource::as_str),
        ),
        (
            "/$defs/context/properties/source/enum",
            names(ContextSource::ALL, ContextSource::as_str),
        ),
        (
            "/properties/region_source/enum",
            names(RegionSource::ALL, RegionSource::as_str),
        ),
        (
            "/properties/sinks/items/properties/sink/enum",
            names(SinkKind::ALL, SinkKind::as_str),
        ),
        (
            "/$defs/providerAttempt/properties/provider/enum",
            names(CredentialProvider::ALL, CredentialProvider::as_str),
        ),
        (
            "/$defs/providerAttempt/properties/outcome/enum",
            names(ProviderOutcome::ALL, ProviderOutcome::as_str),
        ),
        (
            "/$defs/typedLookup/properties/record_type/enum",
            names(RecordType::ALL, RecordType::as_str),
        ),
        (
            "/$defs/credentials/properties/key_kind/enum",
            names(KeyKind::ALL, KeyKind::as_str),
        ),
        (
            "/$defs/endpoint/properties/endpoint_type/enum",
            names(EndpointType::ALL, EndpointType::as_str),
        ),
    ];
    let mut drift = Vec::new();
    for (pointer, want) in table {
        let got: Vec<String> = schema
            .pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("docs/report.schema.json has no {pointer}"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if got != want {
            drift.push(format!("{pointer}:\n  schema {got:?}\n  code   {want:?}"));
        }
    }
    assert!(
        drift.is_empty(),
        "the schema drifted from the code:\n{}",
        drift.join("\n")
    );
}

#[test]
fn every_own_error_code_is_documented() {
    let doc = std::fs::read_to_string(repo("docs/report-schema.md")).unwrap();
    let missing: Vec<&str> = ErrorCode::OWN
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !doc.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/report-schema.md does not document the error codes {missing:?}"
    );
}

fn severities(s: &[Severity]) -> String {
    s.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The findings table, from `FindingCode::spec`.
fn findings_table() -> String {
    let mut t =
        String::from("| code | severity | component | when | hint |\n|---|---|---|---|---|\n");
    for c in FindingCode::ALL {
        let s = c.spec();
        t.push_str(&format!(
            "| `{c}` | {} | `{}` | {} | {} |\n",
            severities(s.severities),
            s.component,
            s.meaning.replace('|', "\\|"),
            s.hint.replace('|', "\\|"),
        ));
    }
    t
}

/// The checks table, from `CheckName::meaning`.
fn checks_table() -> String {
    let mut t = String::from("| check | scope | what | fails when |\n|---|---|---|---|\n");
    for c in CheckName::ALL {
        let (what, fails) = c.meaning();
        let scope = match c.scope() {
            Scope::Run => "run",
            Scope::Bucket => "bucket",
        };
        t.push_str(&format!("| `{c}` | {scope} | {what} | {fails} |\n"));
    }
    t
}

/// Replace the text between the markers of `name`; `Err` names the markers when missing.
fn splice(doc: &str, name: &str, body: &str) -> Result<String, String> {
    let begin = doc
        .find(&format!("<!-- BEGIN GENERATED: {name}"))
        .ok_or(format!("no BEGIN GENERATED: {name} marker"))?;
    let begin = begin + doc[begin..].find("-->").ok_or("unclosed marker")? + 3;
    let end = doc
        .find(&format!("<!-- END GENERATED: {name}"))
        .ok_or(format!("no END GENERATED: {name} marker"))?;
    Ok(format!("{}\n{body}{}", &doc[..begin], &doc[end..]))
}

#[test]
fn diagnosis_tables_are_generated_from_the_code() {
    let path = repo("docs/diagnosis.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let want = splice(&doc, "findings", &findings_table())
        .and_then(|d| splice(&d, "checks", &checks_table()))
        .unwrap();
    if want == doc {
        return;
    }
    if std::env::var_os("VPCE_PROBE_BLESS").is_some() {
        std::fs::write(&path, want).unwrap();
        return;
    }
    panic!(
        "docs/diagnosis.md's generated tables drifted from src/diagnose/{{finding_code,check_name}}.rs: run VPCE_PROBE_BLESS=1 cargo test --test docs_in_step and commit"
    );
}
