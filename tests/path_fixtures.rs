//! Data-driven tests of `vpce_probe::diagnose::path`. Every `*.json` file in
//! `tests/fixtures/path/` is a fixture (format in `tests/fixtures/path/README.md`), and every
//! case in it is its own test, named `<file>::<case name>`, so one failure hides none of the
//! others. A directory without fixtures, a fixture that does not load, and a fixture without
//! cases are failures too.

#[path = "support/fixture_files.rs"]
mod fixture_files;

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::IpAddr;
use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vpce_probe::diagnose::path::{
    AddressClass, Cidr, PathInput, PathVerdict, Route, RouteDestination, RouteState, RouteTable,
    TargetKind, Verdict, cidr_contains, classify_address, gateway_endpoint_route,
    longest_prefix_match, parse_cidr, path_verdict,
};

type Check = Box<dyn FnOnce() -> Result<(), String> + Send>;

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/path");
    libtest_mimic::run(&args, trials(&dir)).exit();
}

fn trials(dir: &Path) -> Vec<Trial> {
    let fail = |name: &str, why: String| Trial::test(name, move || Err(Failed::from(why)));
    let files = match fixture_files::json_files(dir) {
        Ok(f) => f,
        Err(why) => return vec![fail("fixtures", why)],
    };
    let mut out = Vec::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        match load(&path) {
            Ok(checks) => {
                let mut seen = Vec::new();
                for (name, check) in checks {
                    let name = format!("{stem}::{name}");
                    let dup = seen.contains(&name);
                    seen.push(name.clone());
                    out.push(Trial::test(name, move || match dup {
                        true => Err("duplicate case name".into()),
                        false => check().map_err(Failed::from),
                    }));
                }
            }
            Err(e) => out.push(fail(&format!("{stem}::load"), e)),
        }
    }
    out
}

/// The file's cases, each a name and its check. Every top-level key but `description` and the
/// file-level defaults must be a known case list.
fn load(path: &Path) -> Result<Vec<(String, Check)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let obj = file.as_object().ok_or("a fixture is a JSON object")?;
    let mut out: Vec<(String, Check)> = Vec::new();
    // Case names are `<list>::<name>` in a file with several case lists.
    const LISTS: [&str; 8] = [
        "parse",
        "contains",
        "serde",
        "target_kind",
        "lpm",
        "classify",
        "endpoint_route",
        "verdicts",
    ];
    let lists = obj.keys().filter(|k| LISTS.contains(&k.as_str())).count();
    for (key, v) in obj {
        let start = out.len();
        let cases = || v.as_array().ok_or(format!("{key} must be an array"));
        match key.as_str() {
            "description" | "s3" | "vpc" | "prefix_list" | "defaults" => continue,
            "parse" => push(&mut out, cases()?, parse_case)?,
            "contains" => push(&mut out, cases()?, contains_case)?,
            "serde" => push(&mut out, cases()?, serde_case)?,
            "target_kind" => push(&mut out, cases()?, target_kind_case)?,
            "lpm" => push(&mut out, cases()?, lpm_case)?,
            "classify" => push(&mut out, cases()?, |c| classify_case(c, &file))?,
            "endpoint_route" => push(&mut out, cases()?, |c| endpoint_case(c, &file))?,
            "verdicts" => push(&mut out, cases()?, |c| verdict_case(c, &file))?,
            other => return Err(format!("{}: unknown key {other:?}", path.display())),
        }
        if lists > 1 {
            for (name, _) in &mut out[start..] {
                *name = format!("{key}::{name}");
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{}: no cases", path.display()));
    }
    Ok(out)
}

fn push(
    out: &mut Vec<(String, Check)>,
    cases: &[Value],
    make: impl Fn(&Value) -> Result<Check, String>,
) -> Result<(), String> {
    for c in cases {
        let name = str_of(c, "name")?.to_string();
        let check = make(c).map_err(|e| format!("case {name:?}: {e}"))?;
        out.push((name, check));
    }
    Ok(())
}

fn str_of<'a>(c: &'a Value, key: &str) -> Result<&'a str, String> {
    c.get(key)
        .and_then(Value::as_str)
        .ok_or(format!("needs a string {key:?}"))
}

fn field<T: DeserializeOwned>(c: &Value, key: &str) -> Result<T, String> {
    serde_json::from_value(c.get(key).cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("{key:?}: {e}"))
}

fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

fn cidrs(list: &[String]) -> Result<Vec<Cidr>, String> {
    list.iter().map(|c| parse_cidr(c)).collect()
}

/// `"<destination> <target> [blackhole]"`; a destination starting with `pl-` is a prefix list.
fn route(spec: &str) -> Result<Route, String> {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let (dest, target, state) = match parts.as_slice() {
        [d, t] => (*d, *t, RouteState::Active),
        [d, t, "blackhole"] => (*d, *t, RouteState::Blackhole),
        _ => return Err(format!("bad route spec {spec:?}")),
    };
    let destination = match dest.starts_with("pl-") {
        true => RouteDestination::PrefixList(dest.into()),
        false => RouteDestination::Cidr(parse_cidr(dest)?),
    };
    Ok(Route {
        destination,
        target: target.into(),
        state,
    })
}

fn table(specs: &[String]) -> Result<RouteTable, String> {
    Ok(RouteTable {
        id: "rtb-1".into(),
        main: false,
        routes: specs.iter().map(|s| route(s)).collect::<Result<_, _>>()?,
    })
}

fn lists(map: HashMap<String, Vec<String>>) -> Result<HashMap<String, Vec<Cidr>>, String> {
    map.into_iter()
        .map(|(id, l)| Ok((id, cidrs(&l)?)))
        .collect()
}

fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    match got == want {
        true => Ok(()),
        false => Err(format!("{what}: got {got:?}, want {want:?}")),
    }
}

fn parse_case(c: &Value) -> Result<Check, String> {
    let input: String = field(c, "input")?;
    let ok: Option<String> = field(c, "ok")?;
    let error: Option<String> = field(c, "error")?;
    Ok(Box::new(move || match (parse_cidr(&input), ok, error) {
        (Ok(got), Some(want), None) => expect_eq("block", got.to_string(), want),
        (Err(got), None, Some(want)) if got.contains(&want) => Ok(()),
        (got, ok, error) => Err(format!("got {got:?}, want ok {ok:?} / error {error:?}")),
    }))
}

fn contains_case(c: &Value) -> Result<Check, String> {
    let block: String = field(c, "cidr")?;
    let raw: Option<bool> = field(c, "raw")?;
    let net = match raw.unwrap_or(false) {
        // As written, host bits kept (ipnet's parser), to show only the prefix counts.
        true => block.parse::<Cidr>().map_err(|e| format!("{block}: {e}"))?,
        false => parse_cidr(&block)?,
    };
    let addr = ip(&field::<String>(c, "address")?)?;
    let want: bool = field(c, "contains")?;
    Ok(Box::new(move || {
        expect_eq("contains", cidr_contains(&net, addr), want)
    }))
}

fn serde_check<T: DeserializeOwned + Serialize + Debug>(c: &Value) -> Result<Check, String> {
    let from: Value = field(c, "from")?;
    let to: Option<Value> = field(c, "to")?;
    let debug: Option<String> = field(c, "debug")?;
    let error = field::<Option<bool>>(c, "error")?.unwrap_or(false);
    Ok(Box::new(move || {
        match (serde_json::from_value::<T>(from.clone()), error) {
            (Err(_), true) => Ok(()),
            (Ok(v), true) => Err(format!("deserialized {v:?}, want an error")),
            (Err(e), false) => Err(format!("does not deserialize: {e}")),
            (Ok(v), false) => {
                if let Some(d) = debug {
                    expect_eq("debug form", format!("{v:?}"), d)?;
                }
                let json = serde_json::to_value(&v).map_err(|e| e.to_string())?;
                expect_eq("serialized", json, to.unwrap_or(from))
            }
        }
    }))
}

fn serde_case(c: &Value) -> Result<Check, String> {
    match str_of(c, "type")? {
        "Cidr" => serde_check::<Cidr>(c),
        "RouteDestination" => serde_check::<RouteDestination>(c),
        "Route" => serde_check::<Route>(c),
        "RouteTable" => serde_check::<RouteTable>(c),
        "RouteState" => serde_check::<RouteState>(c),
        "TargetKind" => serde_check::<TargetKind>(c),
        "Verdict" => serde_check::<Verdict>(c),
        "AddressClass" => serde_check::<AddressClass>(c),
        "PathInput" => serde_check::<PathInput>(c),
        other => Err(format!("unknown type {other:?}")),
    }
}

fn target_kind_case(c: &Value) -> Result<Check, String> {
    let r = route(str_of(c, "route")?)?;
    let want: TargetKind = field(c, "kind")?;
    Ok(Box::new(move || {
        expect_eq("kind", TargetKind::of(&r), want)
    }))
}

fn lpm_case(c: &Value) -> Result<Check, String> {
    let t = table(&field::<Vec<String>>(c, "routes")?)?;
    let l = lists(field::<Option<_>>(c, "lists")?.unwrap_or_default())?;
    let addr = ip(str_of(c, "address")?)?;
    let want = match c.get("want") {
        Some(Value::Null) => None,
        Some(w) => Some((
            route(str_of(w, "route")?)?,
            parse_cidr(str_of(w, "matched")?)?,
        )),
        None => return Err("needs \"want\" (null for no match)".into()),
    };
    let unresolved: Vec<String> = field::<Option<_>>(c, "unresolved")?.unwrap_or_default();
    Ok(Box::new(move || {
        let got = longest_prefix_match(&t, &l, addr);
        match (&got.matched, want) {
            (None, None) => {}
            (Some(m), Some((route, block))) => {
                expect_eq("route", &m.route, &route)?;
                expect_eq("matched block", m.matched, block)?;
                expect_eq("kind", m.kind, TargetKind::of(&route))?;
                let pl = match &route.destination {
                    RouteDestination::PrefixList(id) => Some(id.clone()),
                    RouteDestination::Cidr(_) => None,
                };
                expect_eq("prefix list id", m.prefix_list_id.clone(), pl)?;
            }
            (got, want) => return Err(format!("got {got:?}, want {want:?}")),
        }
        expect_eq("unresolved", got.unresolved_prefix_lists, unresolved)
    }))
}

fn classify_case(c: &Value, file: &Value) -> Result<Check, String> {
    let list = |key: &str| -> Result<Vec<Cidr>, String> {
        match c.get(key) {
            Some(_) => cidrs(&field::<Vec<String>>(c, key)?),
            None => cidrs(&field::<Vec<String>>(file, key)?),
        }
    };
    let (s3, vpc) = (list("s3")?, list("vpc")?);
    let addr = ip(str_of(c, "address")?)?;
    let want: AddressClass = field(c, "class")?;
    Ok(Box::new(move || {
        expect_eq("class", classify_address(addr, &s3, &vpc), want)
    }))
}

fn endpoint_case(c: &Value, file: &Value) -> Result<Check, String> {
    let pl = str_of(file, "prefix_list")?.to_string();
    let t = table(&field::<Vec<String>>(c, "routes")?)?;
    let want = match field::<Option<String>>(c, "want")? {
        Some(spec) => Some(route(&spec)?),
        None => None,
    };
    Ok(Box::new(move || {
        expect_eq("route", gateway_endpoint_route(&t, &pl), want.as_ref())
    }))
}

fn verdict_case(c: &Value, file: &Value) -> Result<Check, String> {
    // The file's defaults, overridden by the case's own input keys.
    let mut raw = file.get("defaults").cloned().unwrap_or(Value::Null);
    let over = c
        .get("input")
        .and_then(Value::as_object)
        .ok_or("needs an input object")?;
    let Value::Object(merged) = &mut raw else {
        return Err("the file needs a defaults object".into());
    };
    for (k, v) in over {
        merged.insert(k.clone(), v.clone());
    }
    let routes: Option<Vec<String>> = match merged.remove("routes") {
        Some(r) => serde_json::from_value(r).map_err(|e| format!("routes: {e}"))?,
        None => return Err("needs \"routes\" (null for no route table)".into()),
    };
    let route_table = routes.map(|r| table(&r)).transpose()?;
    merged.insert(
        "route_table".into(),
        serde_json::to_value(route_table).unwrap(),
    );
    let input: PathInput = serde_json::from_value(raw).map_err(|e| format!("input: {e}"))?;
    let want_verdict: Verdict = field(c, "verdict")?;
    let opt = |k: &str| field::<Option<String>>(c, k);
    let (vpce, pl, overridden, reason) =
        (opt("vpce")?, opt("pl")?, opt("overridden")?, opt("reason")?);
    let list = |k: &str| field::<Option<Vec<String>>>(c, k).map(Option::unwrap_or_default);
    let (evidence, no_evidence) = (list("evidence")?, list("no_evidence")?);
    let pointers: HashMap<String, Value> = field::<Option<_>>(c, "json")?.unwrap_or_default();
    Ok(Box::new(move || {
        let got = path_verdict(&input);
        let ctx = |e: String| format!("{e}\n{got:#?}");
        expect_eq("verdict", got.verdict, want_verdict).map_err(ctx)?;
        expect_eq("vpce", got.vpc_endpoint_id.clone(), vpce).map_err(ctx)?;
        expect_eq("prefix list", got.prefix_list_id.clone(), pl).map_err(ctx)?;
        expect_eq("overridden", got.overridden_endpoint.clone(), overridden).map_err(ctx)?;
        match (got.unknown_reason.as_deref(), reason.as_deref()) {
            (None, None) => {}
            (Some(g), Some(w)) if g.contains(w) => {}
            (g, w) => return Err(ctx(format!("reason {g:?}, want {w:?}"))),
        }
        let unknown = got.verdict == Verdict::Unknown;
        expect_eq(
            "a reason exactly when unknown",
            got.unknown_reason.is_some(),
            unknown,
        )?;
        for w in &evidence {
            if !got.evidence.iter().any(|e| e.contains(w.as_str())) {
                return Err(ctx(format!("no evidence line has {w:?}")));
            }
        }
        for w in &no_evidence {
            if got.evidence.iter().any(|e| e.contains(w.as_str())) {
                return Err(ctx(format!("an evidence line has {w:?}")));
            }
        }
        let order: Vec<IpAddr> = got.addresses.iter().map(|a| a.address).collect();
        expect_eq("addresses, in input order", order, input.addresses.clone())?;
        let has_table = input.route_table.is_some();
        expect_eq("route table id", got.route_table_id.is_some(), has_table)?;
        let json = serde_json::to_value(&got).map_err(|e| e.to_string())?;
        for (ptr, want) in &pointers {
            expect_eq(ptr, json.pointer(ptr), Some(want))?;
        }
        let back: PathVerdict = serde_json::from_value(json).map_err(|e| e.to_string())?;
        expect_eq("serde round trip", &back, &got)
    }))
}
