//! Fixture-driven tests of `diagnose`, one test per file in `tests/fixtures/diagnose/`.
//!
//! Each fixture patches the healthy run's evidence (`_base.json`) with a JSON merge patch
//! (`patch`: the whole evidence; `target`: the first bucket; `ops`: operations by check name,
//! whose `outcome` is replaced, never merged), may add sink outcomes (`sinks`) and expectations
//! (`expectations.path`/`.access`), and states what must come out: `ok`, check statuses, hint
//! fragments, the exact list of finding codes, finding fields, and the path verdict.
//!
//! One more test proves that every finding code is produced by at least one fixture.

#[path = "support/fixture_files.rs"]
mod fixture_files;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};
use vpce_probe::diagnose::{
    self, CheckName, CheckVerdict, Diagnosis, Expectations, Finding, FindingCode,
};
use vpce_probe::evidence::{Evidence, S3Op, SinkOutcome};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/diagnose");

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn read_json(path: &Path) -> Result<Value, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn evidence_for(fixture: &Value) -> Result<Evidence, Failed> {
    let mut ev = read_json(&Path::new(DIR).join("_base.json"))?;
    if let Some(p) = fixture.get("patch") {
        merge(&mut ev, p);
    }
    if let Some(p) = fixture.get("target") {
        merge(&mut ev["targets"][0], p);
    }
    if let Some(Value::Object(ops)) = fixture.get("ops") {
        for (name, patch) in ops {
            let want = CheckName::parse(name).ok_or(format!("no check {name}"))?;
            let list = ev["targets"][0]["ops"]
                .as_array_mut()
                .ok_or("base has no ops")?;
            let op = list
                .iter_mut()
                .find(|o| {
                    serde_json::from_value::<S3Op>(o["op"].clone())
                        .is_ok_and(|op| CheckName::of_op(op) == Some(want))
                })
                .ok_or(format!("no op {name}"))?;
            if let Some(outcome) = patch.get("outcome") {
                op["outcome"] = outcome.clone();
            }
            let mut rest = patch.clone();
            if let Some(m) = rest.as_object_mut() {
                m.remove("outcome");
            }
            merge(op, &rest);
        }
    }
    serde_json::from_value(ev).map_err(|e| format!("fixture evidence: {e}").into())
}

fn expectations(fixture: &Value) -> Result<Expectations, Failed> {
    let get = |k: &str| fixture.pointer(&format!("/expectations/{k}")).cloned();
    Ok(Expectations {
        path: get("path")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| e.to_string())?,
        access: get("access")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| e.to_string())?,
    })
}

/// The findings of a fixture's run, in report order (run-wide, buckets, sinks).
fn findings(fixture: &Value, dx: &Diagnosis) -> Result<Vec<Finding>, Failed> {
    let sinks: Vec<SinkOutcome> = match fixture.get("sinks") {
        Some(s) => serde_json::from_value(s.clone()).map_err(|e| format!("sinks: {e}"))?,
        None => vec![],
    };
    let mut all: Vec<Finding> = dx.all_findings().cloned().collect();
    all.extend(diagnose::sink_findings(&sinks));
    Ok(all)
}

fn verdict<'a>(dx: &'a Diagnosis, name: &str) -> Result<&'a CheckVerdict, Failed> {
    let n = CheckName::parse(name).ok_or(format!("no check named {name}"))?;
    dx.checks
        .iter()
        .chain(dx.targets.first().into_iter().flat_map(|t| t.checks.iter()))
        .find(|c| c.name == n)
        .ok_or_else(|| format!("no verdict for {name}").into())
}

fn check(path: &Path) -> Result<(), Failed> {
    let fixture = read_json(path)?;
    let ev = evidence_for(&fixture)?;
    let dx = diagnose::diagnose(&ev, &[expectations(&fixture)?]);
    let expect = &fixture["expect"];
    let all = findings(&fixture, &dx)?;
    let sinks_ok =
        fixture.get("sinks").is_none() || all.iter().all(|f| f.code != FindingCode::SinkFailed);
    let ok = dx.ok() && sinks_ok;
    if Some(ok) != expect["ok"].as_bool() {
        let failed: Vec<String> = dx
            .checks
            .iter()
            .chain(dx.targets.iter().flat_map(|t| t.checks.iter()))
            .filter(|c| c.status == diagnose::Status::Fail)
            .map(|c| format!("{}: {:?}", c.name, c.hint))
            .collect();
        return Err(format!(
            "ok is {ok}, wants {}; failed checks {failed:#?}; findings {all:#?}",
            expect["ok"]
        )
        .into());
    }
    if let Some(Value::Object(checks)) = expect.get("checks") {
        for (name, want) in checks {
            let got = verdict(&dx, name)?;
            if Some(got.status.as_str()) != want.as_str() {
                return Err(format!(
                    "status of {name} is {}, wants {want} (hint {:?})",
                    got.status, got.hint
                )
                .into());
            }
        }
    }
    if let Some(Value::Object(hints)) = expect.get("hints") {
        for (name, want) in hints {
            let hint = verdict(&dx, name)?.hint.clone().unwrap_or_default();
            let want = want.as_str().ok_or("hints are strings")?;
            if !hint.contains(want) {
                return Err(format!("hint of {name} is {hint:?}, wants {want:?}").into());
            }
        }
    }
    let codes: Vec<&str> = all.iter().map(|f| f.code.as_str()).collect();
    let want: Vec<&str> = expect["findings"]
        .as_array()
        .ok_or("expect.findings is required")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if codes != want {
        return Err(format!("finding codes are {codes:?}, want {want:?}\n{all:#?}").into());
    }
    if let Some(Value::Object(fs)) = expect.get("finding") {
        for (code, want) in fs {
            let f = all
                .iter()
                .find(|f| f.code.as_str() == code)
                .ok_or(format!("no finding {code}"))?;
            let got = json!({
                "severity": f.severity, "component": f.component,
                "message": f.message, "hint": f.hint,
            });
            for (k, v) in want.as_object().ok_or("finding expectations are objects")? {
                let g = got[k].as_str().unwrap_or_default();
                let w = v.as_str().unwrap_or_default();
                let matches = if k == "severity" || k == "component" {
                    g == w
                } else {
                    g.contains(w)
                };
                if !matches {
                    return Err(format!("finding {code}.{k} is {g:?}, wants {w:?}").into());
                }
            }
        }
    }
    if let Some(v) = expect.get("verdict") {
        let t = dx.targets.first().ok_or("no bucket")?;
        let got = serde_json::to_value(t.path.verdict).map_err(|e| e.to_string())?;
        if got != *v {
            return Err(format!("path verdict is {got}, wants {v} ({:?})", t.path.evidence).into());
        }
    }
    Ok(())
}

/// Every finding code is expected (and so proven produced) by at least one fixture.
fn every_code_has_a_fixture(files: &[PathBuf]) -> Result<(), Failed> {
    let mut seen = BTreeSet::new();
    for f in files {
        let v = read_json(f)?;
        for c in v["expect"]["findings"].as_array().into_iter().flatten() {
            seen.insert(c.as_str().unwrap_or_default().to_string());
        }
    }
    let missing: Vec<&str> = FindingCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(*c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("finding codes no fixture produces: {missing:?}").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let files = match fixture_files::json_files(Path::new(DIR)) {
        Ok(f) => f,
        Err(why) => {
            let t = Trial::test("diagnose::fixtures", move || Err(why.into()));
            libtest_mimic::run(&args, vec![t]).exit()
        }
    };
    let mut trials: Vec<Trial> = files
        .iter()
        .map(|p| {
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let p = p.clone();
            Trial::test(format!("diagnose::{name}"), move || check(&p))
        })
        .collect();
    trials.push(Trial::test(
        "diagnose::every_finding_code_has_a_fixture",
        move || {
            if files.len() < 20 {
                return Err(format!("fixtures missing: only {}", files.len()).into());
            }
            every_code_has_a_fixture(&files)
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
