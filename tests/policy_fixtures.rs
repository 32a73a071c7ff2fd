//! Data-driven tests of `vpce_probe::diagnose::policy`. Every `*.json` file in
//! `tests/fixtures/policy/` is a fixture (format in `tests/fixtures/policy/README.md`), and every
//! case in it is its own test, named `<file>::<case name>`, so one failure hides none of the
//! others. A directory without fixtures, a fixture that does not load, and a fixture without
//! cases are failures too.

#[path = "support/fixture_files.rs"]
mod fixture_files;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use serde_json::Value;
use vpce_probe::diagnose::policy::{Decision, Policy, Request, evaluate, source_conditions};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    /// Named policy documents, referred to by the cases.
    #[serde(default)]
    policies: BTreeMap<String, Value>,
    /// Evaluation cases.
    #[serde(default)]
    cases: Vec<EvalCase>,
    /// Parser cases.
    #[serde(default)]
    parse: Vec<ParseCase>,
    /// `source_conditions` cases.
    #[serde(default)]
    source_conditions: Vec<SourceCase>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct EvalCase {
    name: String,
    policy: String,
    /// One request, or `requests`: every combination of the listed values.
    request: Option<Req>,
    requests: Option<Matrix>,
    decision: Decision,
    statements: Vec<String>,
    #[serde(default)]
    unknown: Vec<String>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Req {
    action: String,
    resource: String,
    principal: Option<String>,
    #[serde(default)]
    context: HashMap<String, String>,
    #[serde(default)]
    absent: Vec<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Matrix {
    action: Vec<String>,
    resource: Vec<String>,
    principal: Vec<Option<String>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct ParseCase {
    name: String,
    /// The document as text (for documents that are not valid JSON), or `document`.
    text: Option<String>,
    document: Option<Value>,
    /// Expect success with this many statements…
    statements: Option<usize>,
    /// …and these values at these JSON pointers into the serialized `Policy`.
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    /// Expect an error whose message holds this.
    error: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct SourceCase {
    name: String,
    policy: String,
    /// The whole `source_conditions` answer, serialized.
    want: Option<Value>,
    /// `covers_action` / `covers_resource` of one of the conditions.
    #[serde(default)]
    covers: Vec<Covers>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Covers {
    /// Index into the `source_conditions` answer.
    condition: usize,
    action: Option<String>,
    resource: Option<String>,
    covers: bool,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy")
}

fn main() {
    let args = Arguments::from_args();
    libtest_mimic::run(&args, trials(&fixture_dir())).exit();
}

fn fail(name: &str, why: String) -> Trial {
    Trial::test(name.to_string(), move || Err(Failed::from(why)))
}

fn trials(dir: &Path) -> Vec<Trial> {
    let files = match fixture_files::json_files(dir) {
        Ok(f) => f,
        Err(why) => return vec![fail("fixtures", why)],
    };
    let mut out = Vec::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        match load(&path) {
            Ok(f) => out.extend(file_trials(&stem, f)),
            Err(e) => out.push(fail(&format!("{stem}::load"), e)),
        }
    }
    out
}

fn load(path: &Path) -> Result<Fixture, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let f: Fixture = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if f.cases.is_empty() && f.parse.is_empty() && f.source_conditions.is_empty() {
        return Err(format!("{}: no cases", path.display()));
    }
    let used: Vec<&str> = f
        .cases
        .iter()
        .map(|c| c.policy.as_str())
        .chain(f.source_conditions.iter().map(|c| c.policy.as_str()))
        .collect();
    for name in f.policies.keys() {
        if !used.contains(&name.as_str()) {
            return Err(format!("{}: policy {name:?} is unused", path.display()));
        }
    }
    Ok(f)
}

fn file_trials(stem: &str, f: Fixture) -> Vec<Trial> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut name = |case: &str| {
        let n = format!("{stem}::{case}");
        let dup = seen.contains(&n);
        seen.push(n.clone());
        (n, dup)
    };
    let policy = |name: &str| -> Result<Policy, Failed> {
        let doc = f
            .policies
            .get(name)
            .ok_or_else(|| format!("no policy {name:?} in the fixture"))?;
        Ok(Policy::from_value(doc).map_err(|e| format!("policy {name:?} does not parse: {e}"))?)
    };
    for c in f.cases.clone() {
        let (n, dup) = name(&c.name);
        let p = policy(&c.policy);
        out.push(Trial::test(n, move || {
            if dup {
                return Err("duplicate case name".into());
            }
            run_eval(&p?, &c)
        }));
    }
    for c in f.parse.clone() {
        let (n, dup) = name(&c.name);
        out.push(Trial::test(n, move || {
            if dup {
                return Err("duplicate case name".into());
            }
            run_parse(&c)
        }));
    }
    for c in f.source_conditions.clone() {
        let (n, dup) = name(&c.name);
        let p = policy(&c.policy);
        out.push(Trial::test(n, move || {
            if dup {
                return Err("duplicate case name".into());
            }
            run_source(&p?, &c)
        }));
    }
    out
}

fn request(r: &Req) -> Request {
    Request {
        action: r.action.clone(),
        resource: r.resource.clone(),
        principal_arn: r.principal.clone(),
        context: r.context.clone(),
        absent_keys: r.absent.clone(),
    }
}

fn run_eval(p: &Policy, c: &EvalCase) -> Result<(), Failed> {
    let requests: Vec<Req> = match (&c.request, &c.requests) {
        (Some(r), None) => vec![r.clone()],
        (None, Some(m)) => {
            let mut all = Vec::new();
            for action in &m.action {
                for resource in &m.resource {
                    for principal in &m.principal {
                        all.push(Req {
                            action: action.clone(),
                            resource: resource.clone(),
                            principal: principal.clone(),
                            context: HashMap::new(),
                            absent: Vec::new(),
                        });
                    }
                }
            }
            all
        }
        _ => return Err("a case needs exactly one of request and requests".into()),
    };
    if requests.is_empty() {
        return Err("no request".into());
    }
    let mut problems = Vec::new();
    for r in &requests {
        let got = evaluate(p, &request(r));
        let mut bad = Vec::new();
        if got.decision != c.decision {
            bad.push(format!(
                "decision {:?}, want {:?}",
                got.decision, c.decision
            ));
        }
        if got.statements != c.statements {
            bad.push(format!(
                "statements {:?}, want {:?}",
                got.statements, c.statements
            ));
        }
        if got.unknown_conditions != c.unknown {
            bad.push(format!(
                "unknown conditions {:?}, want {:?}",
                got.unknown_conditions, c.unknown
            ));
        }
        if !bad.is_empty() {
            problems.push(format!("{r:?}: {}", bad.join("; ")));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n").into()),
    }
}

fn run_parse(c: &ParseCase) -> Result<(), Failed> {
    let got = match (&c.text, &c.document) {
        (Some(t), None) => Policy::parse(t),
        (None, Some(d)) => Policy::from_value(d),
        _ => return Err("a parse case needs exactly one of text and document".into()),
    };
    match (got, &c.error, c.statements) {
        (Err(e), Some(want), None) if c.fields.is_empty() => match e.contains(want.as_str()) {
            true => Ok(()),
            false => Err(format!("error {e:?} lacks {want:?}").into()),
        },
        (Ok(p), None, Some(n)) => {
            let mut bad = Vec::new();
            if p.statements.len() != n {
                bad.push(format!("{} statements, want {n}", p.statements.len()));
            }
            let json = serde_json::to_value(&p).unwrap();
            for (ptr, want) in &c.fields {
                match json.pointer(ptr) {
                    Some(v) if v == want => {}
                    other => bad.push(format!("{ptr}: {other:?}, want {want}")),
                }
            }
            match bad.is_empty() {
                true => Ok(()),
                false => Err(bad.join("; ").into()),
            }
        }
        (got, None, Some(_)) => Err(format!("want a policy, got {got:?}").into()),
        (got, Some(_), None) => Err(format!("want an error, got {got:?}").into()),
        _ => Err("a parse case needs exactly one of statements and error".into()),
    }
}

fn run_source(p: &Policy, c: &SourceCase) -> Result<(), Failed> {
    if c.want.is_none() && c.covers.is_empty() {
        return Err("a source_conditions case needs want or covers".into());
    }
    let got = source_conditions(p);
    let mut bad = Vec::new();
    if let Some(want) = &c.want {
        let json = serde_json::to_value(&got).unwrap();
        if &json != want {
            bad.push(format!("source_conditions {json}, want {want}"));
        }
    }
    for k in &c.covers {
        let Some(cond) = got.get(k.condition) else {
            bad.push(format!("no condition #{}", k.condition));
            continue;
        };
        let (what, covers) = match (&k.action, &k.resource) {
            (Some(a), None) => (a, cond.covers_action(a)),
            (None, Some(r)) => (r, cond.covers_resource(r)),
            _ => {
                bad.push("a covers check needs exactly one of action and resource".into());
                continue;
            }
        };
        if covers != k.covers {
            bad.push(format!(
                "condition #{} ({}) covers {what}: {covers}, want {}",
                k.condition, cond.sid, k.covers
            ));
        }
    }
    match bad.is_empty() {
        true => Ok(()),
        false => Err(bad.join("\n").into()),
    }
}
