//! PURE: IAM-style evaluation of VPC endpoint and bucket policies for the probe's requests, with
//! a third answer besides allow and deny: "conditional", when the outcome hangs on a fact the
//! probe does not know (a condition key it did not learn, a principal it cannot name).
//!
//! Semantics follow the IAM User Guide: explicit deny wins; `Action`/`NotAction` match
//! case-insensitively, `Resource`/`NotResource` case-sensitively, both with `*` and `?`; within
//! `Condition`, operators and keys are ANDed, the values of one key ORed (NORed for negated
//! operators such as `StringNotEquals`).
//!
//! **Unknown versus absent.** A condition key missing from [`Request::context`] is *unknown* to
//! the probe, not absent from the real request, so a condition on it (even `…IfExists`, or a
//! negated operator that AWS would evaluate to true on an absent key) is unknown and makes its
//! statement "maybe applies". When the probe knows a key is absent from the real request, list
//! it in [`Request::absent_keys`]: then AWS's rules apply (negated operators and `…IfExists` are
//! true, the others false, `Null` tests the absence).

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A statement's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `2012-10-17` enables policy variables (`${aws:username}`); `2008-10-17` (the default
    /// endpoint policy's) treats them as literal text.
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Principal` (or `NotPrincipal` when negated); `None` when absent: applies to anyone.
    pub principal: Option<PrincipalSet>,
    /// `Action`, or `NotAction` when negated.
    pub action: PatternSet,
    /// `Resource` (or `NotResource`); `None` when absent: applies to any resource.
    pub resource: Option<PatternSet>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// How reports name the statement: its Sid, or `#<index>` (0-based, the position in
    /// `Statement`) when it has none.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) => sid.clone(),
            None => format!("#{index}"),
        }
    }
}

/// The patterns of an `Action`/`NotAction` or `Resource`/`NotResource` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternSet {
    pub patterns: Vec<String>,
    /// `NotAction` / `NotResource`.
    pub negated: bool,
}

/// The principals of a `Principal`/`NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalSet {
    pub principals: Vec<Principal>,
    /// `NotPrincipal`.
    pub negated: bool,
}

/// One principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// `"Principal": "*"`.
    Anyone,
    /// `{"AWS": …}`: `*`, an account id, or an ARN (`…:root`, a user, a role, a session).
    Aws(String),
    Service(String),
    Federated(String),
    CanonicalUser(String),
}

/// One `operator → key → values` entry of a `Condition` block, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// E.g. `StringNotEquals`, `IpAddressIfExists`, `ForAnyValue:StringLike`.
    pub operator: String,
    /// E.g. `aws:SourceVpce`.
    pub key: String,
    pub values: Vec<String>,
}

impl Policy {
    /// Parse a policy document. A document that is not JSON, or not shaped like a policy, is an
    /// `Err` naming the problem (and the statement).
    pub fn parse(json: &str) -> Result<Policy, String> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| format!("policy is not valid JSON: {e}"))?;
        Policy::from_value(&v)
    }

    /// Parse an already decoded policy document.
    pub fn from_value(v: &Value) -> Result<Policy, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("policy must be a JSON object, not {}", kind(v)))?;
        let version = optional_string(obj.get("Version"), "Version")?;
        let id = optional_string(obj.get("Id"), "Id")?;
        let statements = match obj.get("Statement") {
            None => return Err("policy has no Statement".into()),
            Some(s @ Value::Object(_)) => vec![parse_statement(0, s)?],
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, s)| parse_statement(i, s))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(format!(
                    "Statement must be an object or an array, not {}",
                    kind(other)
                ));
            }
        };
        Ok(Policy {
            version,
            id,
            statements,
        })
    }

    fn variables(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn optional_string(v: Option<&Value>, what: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{what} must be a string, not {}", kind(other))),
    }
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{what} must hold strings, not {}", kind(other))),
            })
            .collect(),
        other => Err(format!(
            "{what} must be a string or an array of strings, not {}",
            kind(other)
        )),
    }
}

/// A condition value: strings, and numbers or booleans written bare.
fn scalar_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("{what} must hold strings, not {}", kind(other))),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// The element `positive` or `negative` (at most one of them).
fn either<'a>(
    obj: &'a serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<(&'a Value, bool)>, String> {
    match (obj.get(positive), obj.get(negative)) {
        (Some(_), Some(_)) => Err(format!("has both {positive} and {negative}")),
        (Some(v), None) => Ok(Some((v, false))),
        (None, Some(v)) => Ok(Some((v, true))),
        (None, None) => Ok(None),
    }
}

fn parse_statement(index: usize, v: &Value) -> Result<Statement, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("statement #{index} must be an object, not {}", kind(v)))?;
    let sid =
        optional_string(obj.get("Sid"), "Sid").map_err(|e| format!("statement #{index}: {e}"))?;
    let label = match &sid {
        Some(s) => format!("statement #{index} ({s})"),
        None => format!("statement #{index}"),
    };
    let err = |e: String| format!("{label}: {e}");

    let effect = match obj.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(err(format!(
                "Effect must be \"Allow\" or \"Deny\", not {other}"
            )));
        }
        None => return Err(err("has no Effect".into())),
    };

    let action = match either(obj, "Action", "NotAction").map_err(err)? {
        Some((v, negated)) => {
            let name = if negated { "NotAction" } else { "Action" };
            PatternSet {
                patterns: string_list(v, name).map_err(err)?,
                negated,
            }
        }
        None => return Err(err("has no Action or NotAction".into())),
    };

    let resource = match either(obj, "Resource", "NotResource").map_err(err)? {
        Some((v, negated)) => {
            let name = if negated { "NotResource" } else { "Resource" };
            Some(PatternSet {
                patterns: string_list(v, name).map_err(err)?,
                negated,
            })
        }
        None => None,
    };

    let principal = match either(obj, "Principal", "NotPrincipal").map_err(err)? {
        Some((v, negated)) => {
            let name = if negated { "NotPrincipal" } else { "Principal" };
            Some(PrincipalSet {
                principals: parse_principals(v, name).map_err(err)?,
                negated,
            })
        }
        None => None,
    };

    let conditions = match obj.get("Condition") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => parse_conditions(v).map_err(err)?,
    };

    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_principals(v: &Value, name: &str) -> Result<Vec<Principal>, String> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![Principal::Anyone]),
        // Not valid IAM, but unambiguous.
        Value::String(s) => Ok(vec![Principal::Aws(s.clone())]),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (kind, ids) in map {
                let make: fn(String) -> Principal = match kind.as_str() {
                    "AWS" => Principal::Aws,
                    "Service" => Principal::Service,
                    "Federated" => Principal::Federated,
                    "CanonicalUser" => Principal::CanonicalUser,
                    other => {
                        return Err(format!(
                            "{name} has unknown principal type {other:?} (AWS, Service, \
                             Federated or CanonicalUser)"
                        ));
                    }
                };
                out.extend(
                    string_list(ids, &format!("{name}.{kind}"))?
                        .into_iter()
                        .map(make),
                );
            }
            Ok(out)
        }
        other => Err(format!(
            "{name} must be \"*\" or an object, not {}",
            kind(other)
        )),
    }
}

fn parse_conditions(v: &Value) -> Result<Vec<Condition>, String> {
    let ops = v
        .as_object()
        .ok_or_else(|| format!("Condition must be an object, not {}", kind(v)))?;
    let mut out = Vec::new();
    for (operator, keys) in ops {
        let keys = keys.as_object().ok_or_else(|| {
            format!(
                "Condition operator {operator} must map keys to values, not {}",
                kind(keys)
            )
        })?;
        for (key, values) in keys {
            out.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values: scalar_list(values, &format!("Condition {operator} {key}"))?,
            });
        }
    }
    Ok(out)
}

/// One request to evaluate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// E.g. `s3:PutObject`.
    pub action: String,
    /// `arn:aws:s3:::bucket/key` or `arn:aws:s3:::bucket`.
    pub resource: String,
    /// The caller's ARN (`arn:aws:sts::123456789012:assumed-role/Role/session`), when known.
    pub principal_arn: Option<String>,
    /// Condition keys whose values the probe knows (`aws:SourceVpce` → `vpce-0abc`,
    /// `aws:SourceVpc`, `aws:SourceIp`, …). Key names are case-insensitive. A key not here is
    /// unknown, not absent.
    pub context: HashMap<String, String>,
    /// Condition keys the probe knows are absent from the real request (e.g. `aws:SourceVpce`
    /// when the traffic provably does not cross a VPC endpoint). Case-insensitive.
    #[serde(default)]
    pub absent_keys: Vec<String>,
}

impl Request {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            ..Self::default()
        }
    }

    pub fn with_principal(mut self, arn: impl Into<String>) -> Self {
        self.principal_arn = Some(arn.into());
        self
    }

    pub fn with_context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.insert(key.into(), value.into());
        self
    }

    pub fn with_absent(mut self, key: impl Into<String>) -> Self {
        self.absent_keys.push(key.into());
        self
    }
}

/// What a policy says about a request.
///
/// For an endpoint policy, `ImplicitDeny` means denied. For a bucket policy it means "this policy
/// neither allows nor denies": a same-account caller may still be allowed by its IAM policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
    /// Depends on something the probe does not know; see `unknown_conditions`.
    Conditional,
}

/// A decision and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub decision: Decision,
    /// The statements that decided (Sid, or `#<index>`): the applicable denies, the maybe
    /// denies, the allows, or the maybe allows; empty for an implicit deny.
    pub statements: Vec<String>,
    /// What made it conditional: `"<operator> <key>"` as written (e.g. `StringEquals
    /// aws:PrincipalOrgID`), `"Principal <arn>"`, or `"Resource ${var}"`.
    pub unknown_conditions: Vec<String>,
}

/// Does a statement apply: yes, no, or maybe (and why).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe(Vec<String>),
}

impl Tri {
    fn from_bool(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }

    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            m => m,
        }
    }

    /// `No` wins, then `Maybe` (reasons merged), then `Yes`.
    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Maybe(mut a), Tri::Maybe(b)) => {
                push_unique(&mut a, b);
                Tri::Maybe(a)
            }
            (m @ Tri::Maybe(_), Tri::Yes) | (Tri::Yes, m @ Tri::Maybe(_)) => m,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
        }
    }

    /// `Yes` wins, then `Maybe` (reasons merged), then `No`.
    fn or(self, other: Tri) -> Tri {
        self.not().and(other.not()).not()
    }

    fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::No, Tri::or)
    }

    fn all(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::Yes, Tri::and)
    }
}

fn push_unique(into: &mut Vec<String>, from: Vec<String>) {
    for r in from {
        if !into.contains(&r) {
            into.push(r);
        }
    }
}

/// What the probe knows of one condition key.
enum KeyState<'a> {
    Known(&'a str),
    Absent,
    Unknown,
}

/// The request context, keys lower-cased.
struct Ctx<'a> {
    values: HashMap<String, &'a str>,
    absent: Vec<String>,
    /// Substitute policy variables (`Version` 2012-10-17).
    variables: bool,
}

impl<'a> Ctx<'a> {
    fn new(req: &'a Request, variables: bool) -> Self {
        Self {
            values: req
                .context
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.as_str()))
                .collect(),
            absent: req.absent_keys.iter().map(|k| k.to_lowercase()).collect(),
            variables,
        }
    }

    fn get(&self, key: &str) -> KeyState<'a> {
        let key = key.to_lowercase();
        match self.values.get(&key) {
            Some(v) => KeyState::Known(v),
            None if self.absent.contains(&key) => KeyState::Absent,
            None => KeyState::Unknown,
        }
    }

    /// Substitute `${key}` / `${key, 'default'}` / `${*}` `${?}` `${$}` in a policy string.
    fn substitute(&self, s: &str) -> Subst {
        if !self.variables || !s.contains("${") {
            return Subst::Text(s.to_string());
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let inner = rest[start + 2..start + len].trim();
            rest = &rest[start + len + 1..];
            match inner {
                "*" | "?" | "$" => out.push_str(inner),
                _ => {
                    let (key, default) = match inner.split_once(',') {
                        Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\''))),
                        None => (inner, None),
                    };
                    match (self.get(key), default) {
                        (KeyState::Known(v), _) => out.push_str(v),
                        (KeyState::Absent, Some(d)) => out.push_str(d),
                        (KeyState::Absent, None) => return Subst::Absent,
                        (KeyState::Unknown, _) => return Subst::Unknown(format!("${{{key}}}")),
                    }
                }
            }
        }
        out.push_str(rest);
        Subst::Text(out)
    }
}

/// A policy string after variable substitution.
enum Subst {
    Text(String),
    /// A variable's key is absent from the request: the string matches nothing.
    Absent,
    /// A variable's key is unknown (the `${…}` is given).
    Unknown(String),
}

/// Wildcard match: `*` any run of characters, `?` exactly one.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `ArnLike`/`ArnEquals`: each of the six colon-separated parts matched on its own (the last
/// may hold colons); a value that is not ARN-shaped is matched whole.
fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    if p.len() == 6 && v.len() == 6 {
        p.iter().zip(&v).all(|(p, v)| glob(p, v))
    } else {
        glob(pattern, value)
    }
}

/// `IpAddress` value (`10.0.0.0/16`, `2600:1f18::/32` or a bare address) against an address.
fn ip_in(block: &str, addr: &str) -> bool {
    let Ok(addr) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    let block = block.trim();
    let (net, len) = match block.split_once('/') {
        Some((n, l)) => match (n.parse::<IpAddr>(), l.parse::<u8>()) {
            (Ok(n), Ok(l)) => (n, l),
            _ => return false,
        },
        None => match block.parse::<IpAddr>() {
            Ok(n) => (n, if n.is_ipv4() { 32 } else { 128 }),
            Err(_) => return false,
        },
    };
    match (net.to_canonical(), addr.to_canonical()) {
        (IpAddr::V4(n), IpAddr::V4(a)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The fields of an ARN: partition, service, region, account, resource.
fn arn_parts(arn: &str) -> Option<[&str; 5]> {
    let p: Vec<&str> = arn.splitn(6, ':').collect();
    match p.as_slice() {
        ["arn", partition, service, region, account, resource] => {
            Some([partition, service, region, account, resource])
        }
        _ => None,
    }
}

/// Does an `{"AWS": …}` principal name the caller? `*`; a wildcard/exact ARN; an account id or
/// `arn:…:iam::<account>:root` (any principal of that account); a role ARN also names the
/// sessions of that role (`arn:…:sts::<account>:assumed-role/<name>/…`).
fn aws_principal_matches(pattern: &str, caller: &str) -> bool {
    if pattern == "*" || glob(pattern, caller) {
        return true;
    }
    let Some([c_part, c_service, _, c_account, c_resource]) = arn_parts(caller) else {
        return false;
    };
    if pattern.len() == 12 && pattern.bytes().all(|b| b.is_ascii_digit()) {
        return pattern == c_account;
    }
    let Some([p_part, p_service, _, p_account, p_resource]) = arn_parts(pattern) else {
        return false;
    };
    if p_part != c_part || p_account != c_account || p_service != "iam" {
        return false;
    }
    if p_resource == "root" {
        return true;
    }
    match (p_resource.strip_prefix("role/"), c_service) {
        (Some(role_path), "sts") => {
            let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
            c_resource
                .strip_prefix("assumed-role/")
                .and_then(|r| r.split('/').next())
                == Some(role_name)
        }
        _ => false,
    }
}

/// The condition operators evaluated here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    IpAddress,
    NotIpAddress,
    Bool,
    Null,
}

impl Op {
    /// The operator and whether it has the `IfExists` suffix; `None` when not supported
    /// (`ForAnyValue:`/`ForAllValues:`, `Numeric…`, `Date…`, `Binary…`, `NullIfExists`, …).
    fn parse(name: &str) -> Option<(Op, bool)> {
        let lower = name.to_ascii_lowercase();
        if lower.contains(':') {
            return None;
        }
        let (base, if_exists) = match lower.strip_suffix("ifexists") {
            Some(b) => (b, true),
            None => (lower.as_str(), false),
        };
        let op = match base {
            "stringequals" => Op::StringEquals,
            "stringnotequals" => Op::StringNotEquals,
            "stringequalsignorecase" => Op::StringEqualsIgnoreCase,
            "stringnotequalsignorecase" => Op::StringNotEqualsIgnoreCase,
            "stringlike" => Op::StringLike,
            "stringnotlike" => Op::StringNotLike,
            "arnequals" => Op::ArnEquals,
            "arnlike" => Op::ArnLike,
            "arnnotequals" => Op::ArnNotEquals,
            "arnnotlike" => Op::ArnNotLike,
            "ipaddress" => Op::IpAddress,
            "notipaddress" => Op::NotIpAddress,
            "bool" => Op::Bool,
            "null" if !if_exists => Op::Null,
            _ => return None,
        };
        Some((op, if_exists))
    }

    fn negated(self) -> bool {
        matches!(
            self,
            Op::StringNotEquals
                | Op::StringNotEqualsIgnoreCase
                | Op::StringNotLike
                | Op::ArnNotEquals
                | Op::ArnNotLike
                | Op::NotIpAddress
        )
    }

    /// Does the request's value match one policy value (before negation)?
    fn matches(self, pattern: &str, value: &str) -> bool {
        match self {
            Op::StringEquals | Op::StringNotEquals => pattern == value,
            Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => {
                pattern.to_lowercase() == value.to_lowercase()
            }
            Op::StringLike | Op::StringNotLike => glob(pattern, value),
            Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => {
                arn_like(pattern, value)
            }
            Op::IpAddress | Op::NotIpAddress => ip_in(pattern, value),
            Op::Bool => pattern.eq_ignore_ascii_case(value.trim()),
            // Handled on its own: it tests presence, not a value.
            Op::Null => false,
        }
    }
}

/// Is this a negated operator (`ForAnyValue:`-style prefixes and `IfExists` ignored)?
fn operator_negated(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit(':').next().unwrap_or(&lower);
    let base = base.strip_suffix("ifexists").unwrap_or(base);
    matches!(
        base,
        "stringnotequals"
            | "stringnotequalsignorecase"
            | "stringnotlike"
            | "arnnotequals"
            | "arnnotlike"
            | "notipaddress"
            | "numericnotequals"
            | "datenotequals"
    )
}

fn eval_condition(c: &Condition, ctx: &Ctx) -> Tri {
    let unknown = || Tri::Maybe(vec![format!("{} {}", c.operator, c.key)]);
    let Some((op, if_exists)) = Op::parse(&c.operator) else {
        return unknown();
    };
    let state = ctx.get(&c.key);
    if op == Op::Null {
        // `"Null": {"k": "true"}` holds when k is absent, `"false"` when it is present.
        let absent = match state {
            KeyState::Unknown => return unknown(),
            KeyState::Absent => true,
            KeyState::Known(_) => false,
        };
        let want = if absent { "true" } else { "false" };
        return Tri::from_bool(c.values.iter().any(|v| v.eq_ignore_ascii_case(want)));
    }
    let value = match state {
        KeyState::Unknown => return unknown(),
        // AWS: absent key → IfExists true; negated operators true; the others false.
        KeyState::Absent => return Tri::from_bool(if_exists || op.negated()),
        KeyState::Known(v) => v,
    };
    let any = Tri::any(c.values.iter().map(|p| match ctx.substitute(p) {
        Subst::Text(p) => Tri::from_bool(op.matches(&p, value)),
        Subst::Absent => Tri::No,
        Subst::Unknown(_) => unknown(),
    }));
    // Negated operators: NOR over the values.
    if op.negated() { any.not() } else { any }
}

fn eval_principal(p: &Principal, caller: Option<&str>, label: &str) -> Tri {
    let unknown = |v: &str| Tri::Maybe(vec![format!("{label} {v}")]);
    match p {
        Principal::Anyone => Tri::Yes,
        Principal::Aws(v) if v == "*" => Tri::Yes,
        Principal::Aws(v) => match caller {
            Some(arn) => Tri::from_bool(aws_principal_matches(v, arn)),
            None => unknown(v),
        },
        // The probe calls as an IAM principal, never as a service.
        Principal::Service(_) => Tri::No,
        Principal::Federated(v) => unknown(&format!("Federated {v}")),
        Principal::CanonicalUser(v) => unknown(&format!("CanonicalUser {v}")),
    }
}

fn applies(st: &Statement, req: &Request, ctx: &Ctx) -> Tri {
    let action_hit = st
        .action
        .patterns
        .iter()
        .any(|p| glob(&p.to_lowercase(), &req.action.to_lowercase()));
    if action_hit == st.action.negated {
        return Tri::No;
    }

    let resource = match &st.resource {
        None => Tri::Yes,
        Some(set) => {
            let hit = Tri::any(set.patterns.iter().map(|p| match ctx.substitute(p) {
                Subst::Text(p) => Tri::from_bool(glob(&p, &req.resource)),
                Subst::Absent => Tri::No,
                Subst::Unknown(var) => {
                    let name = if set.negated {
                        "NotResource"
                    } else {
                        "Resource"
                    };
                    Tri::Maybe(vec![format!("{name} {var}")])
                }
            }));
            if set.negated { hit.not() } else { hit }
        }
    };

    let principal = match &st.principal {
        None => Tri::Yes,
        Some(set) => {
            let label = if set.negated {
                "NotPrincipal"
            } else {
                "Principal"
            };
            let hit = Tri::any(
                set.principals
                    .iter()
                    .map(|p| eval_principal(p, req.principal_arn.as_deref(), label)),
            );
            if set.negated { hit.not() } else { hit }
        }
    };

    let conditions = Tri::all(st.conditions.iter().map(|c| eval_condition(c, ctx)));
    Tri::all([resource, principal, conditions])
}

/// Evaluate a policy for one request: any statement that surely applies and denies →
/// `ExplicitDeny`; else any deny that may apply → `Conditional`; else any allow that surely
/// applies → `Allow`; else any allow that may apply → `Conditional`; else `ImplicitDeny`.
pub fn evaluate(policy: &Policy, req: &Request) -> Evaluation {
    let ctx = Ctx::new(req, policy.variables());
    let mut deny = Vec::new();
    let mut maybe_deny = (Vec::new(), Vec::new());
    let mut allow = Vec::new();
    let mut maybe_allow = (Vec::new(), Vec::new());
    for (i, st) in policy.statements.iter().enumerate() {
        let label = st.label(i);
        match (st.effect, applies(st, req, &ctx)) {
            (_, Tri::No) => {}
            (Effect::Deny, Tri::Yes) => deny.push(label),
            (Effect::Allow, Tri::Yes) => allow.push(label),
            (Effect::Deny, Tri::Maybe(why)) => {
                maybe_deny.0.push(label);
                push_unique(&mut maybe_deny.1, why);
            }
            (Effect::Allow, Tri::Maybe(why)) => {
                maybe_allow.0.push(label);
                push_unique(&mut maybe_allow.1, why);
            }
        }
    }
    let (decision, statements, unknown_conditions) = if !deny.is_empty() {
        (Decision::ExplicitDeny, deny, Vec::new())
    } else if !maybe_deny.0.is_empty() {
        (Decision::Conditional, maybe_deny.0, maybe_deny.1)
    } else if !allow.is_empty() {
        (Decision::Allow, allow, Vec::new())
    } else if !maybe_allow.0.is_empty() {
        (Decision::Conditional, maybe_allow.0, maybe_allow.1)
    } else {
        (Decision::ImplicitDeny, Vec::new(), Vec::new())
    };
    Evaluation {
        decision,
        statements,
        unknown_conditions,
    }
}

/// A condition on where a request comes from (`aws:SourceVpce`, `aws:SourceVpc`,
/// `aws:SourceIp`), for the bucket-policy analysis ("the bucket policy requires vpce-A").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCondition {
    /// The statement's Sid, or `#<index>`.
    pub sid: String,
    pub effect: Effect,
    /// As written, e.g. `StringNotEquals`, `ForAnyValue:StringEquals`, `IpAddressIfExists`.
    pub operator: String,
    /// Normalised: `aws:SourceVpce`, `aws:SourceVpc` or `aws:SourceIp`.
    pub key: String,
    pub values: Vec<String>,
    /// The statement's `Action` patterns (or `NotAction`'s when `not_action`).
    pub actions: Vec<String>,
    pub not_action: bool,
    /// The operator is a negated one (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, …).
    pub negated: bool,
}

/// Every condition of the policy on `aws:SourceVpce`, `aws:SourceVpc` or `aws:SourceIp`, in
/// document order.
pub fn source_conditions(policy: &Policy) -> Vec<SourceCondition> {
    let mut out = Vec::new();
    for (i, st) in policy.statements.iter().enumerate() {
        for c in &st.conditions {
            let key = match c.key.to_ascii_lowercase().as_str() {
                "aws:sourcevpce" => "aws:SourceVpce",
                "aws:sourcevpc" => "aws:SourceVpc",
                "aws:sourceip" => "aws:SourceIp",
                _ => continue,
            };
            out.push(SourceCondition {
                sid: st.label(i),
                effect: st.effect,
                operator: c.operator.clone(),
                key: key.into(),
                values: c.values.clone(),
                actions: st.action.patterns.clone(),
                not_action: st.action.negated,
                negated: operator_negated(&c.operator),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_ENDPOINT_POLICY: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

    const DENY_PUT: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}"#;

    const REQUIRE_VPCE_A: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"OnlyViaVpceA","Effect":"Deny","Principal":"*","Action":"*",
         "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
         "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-A"}}}]}"#;

    const REQUIRE_VPCE_A_WITH_ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"OnlyViaVpceA","Effect":"Deny","Principal":"*","Action":"*",
         "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
         "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-A"}}},
        {"Sid":"ProbeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Probe"},
         "Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:ListBucket"],
         "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#;

    const ROLE_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Probe/i-0abc";
    const OTHER_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Other/i-0abc";
    const OTHER_ACCOUNT: &str = "arn:aws:sts::444455556666:assumed-role/Probe/i-0abc";

    fn get(key: &str) -> Request {
        Request::new("s3:GetObject", format!("arn:aws:s3:::b/{key}"))
    }

    fn put(key: &str) -> Request {
        Request::new("s3:PutObject", format!("arn:aws:s3:::b/{key}"))
    }

    fn list() -> Request {
        Request::new("s3:ListBucket", "arn:aws:s3:::b")
    }

    fn one(statement: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
    }

    struct Case {
        name: &'static str,
        policy: String,
        req: Request,
        decision: Decision,
        statements: &'static [&'static str],
        unknown: &'static [&'static str],
    }

    fn case(
        name: &'static str,
        policy: impl Into<String>,
        req: Request,
        decision: Decision,
    ) -> Case {
        Case {
            name,
            policy: policy.into(),
            req,
            decision,
            statements: &[],
            unknown: &[],
        }
    }

    impl Case {
        fn by(mut self, statements: &'static [&'static str]) -> Self {
            self.statements = statements;
            self
        }

        fn unknown(mut self, unknown: &'static [&'static str]) -> Self {
            self.unknown = unknown;
            self
        }
    }

    fn run(cases: Vec<Case>) {
        for c in cases {
            let policy = Policy::parse(&c.policy)
                .unwrap_or_else(|e| panic!("{}: policy does not parse: {e}", c.name));
            let got = evaluate(&policy, &c.req);
            assert_eq!(got.decision, c.decision, "{}: decision ({got:?})", c.name);
            assert_eq!(got.statements, c.statements, "{}: statements", c.name);
            assert_eq!(
                got.unknown_conditions, c.unknown,
                "{}: unknown conditions",
                c.name
            );
        }
    }

    #[test]
    fn default_endpoint_policy_allows_every_s3_action() {
        let policy = Policy::parse(DEFAULT_ENDPOINT_POLICY).unwrap();
        let actions = [
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:ListAllMyBuckets",
            "s3:PutObjectTagging",
        ];
        let resources = [
            "arn:aws:s3:::b",
            "arn:aws:s3:::b/k",
            "arn:aws:s3:::other/.vpce-probe/x",
        ];
        for action in actions {
            for resource in resources {
                for principal in [None, Some(ROLE_SESSION)] {
                    let mut req = Request::new(action, resource);
                    req.principal_arn = principal.map(String::from);
                    let got = evaluate(&policy, &req);
                    assert_eq!(
                        got.decision,
                        Decision::Allow,
                        "{action} {resource} {principal:?}"
                    );
                    assert_eq!(got.statements, ["#0"]);
                }
            }
        }
    }

    #[test]
    fn brief_cases() {
        use Decision::*;
        run(vec![
            case("deny put: put denied", DENY_PUT, put("k"), ExplicitDeny).by(&["#0"]),
            case(
                "deny put: get not allowed",
                DENY_PUT,
                get("k"),
                ImplicitDeny,
            ),
            case(
                "deny put: put elsewhere",
                DENY_PUT,
                Request::new("s3:PutObject", "arn:aws:s3:::c/k"),
                ImplicitDeny,
            ),
            case(
                "require vpce-A: via vpce-A not denied",
                REQUIRE_VPCE_A,
                get("k").with_context("aws:SourceVpce", "vpce-A"),
                ImplicitDeny,
            ),
            case(
                "require vpce-A: via vpce-B denied",
                REQUIRE_VPCE_A,
                get("k").with_context("aws:SourceVpce", "vpce-B"),
                ExplicitDeny,
            )
            .by(&["OnlyViaVpceA"]),
            case(
                "require vpce-A: source unknown",
                REQUIRE_VPCE_A,
                get("k"),
                Conditional,
            )
            .by(&["OnlyViaVpceA"])
            .unknown(&["StringNotEquals aws:SourceVpce"]),
            case(
                "require vpce-A: source known absent (AWS: negated operator is true)",
                REQUIRE_VPCE_A,
                get("k").with_absent("aws:SourceVpce"),
                ExplicitDeny,
            )
            .by(&["OnlyViaVpceA"]),
            case(
                "require vpce-A: context key names are case-insensitive",
                REQUIRE_VPCE_A,
                get("k").with_context("AWS:SOURCEVPCE", "vpce-A"),
                ImplicitDeny,
            ),
            case(
                "require vpce-A: values are case-sensitive",
                REQUIRE_VPCE_A,
                get("k").with_context("aws:SourceVpce", "VPCE-A"),
                ExplicitDeny,
            )
            .by(&["OnlyViaVpceA"]),
            case(
                "require vpce-A with an allow: allowed via vpce-A",
                REQUIRE_VPCE_A_WITH_ALLOW,
                put("k")
                    .with_context("aws:SourceVpce", "vpce-A")
                    .with_principal(ROLE_SESSION),
                Allow,
            )
            .by(&["ProbeRole"]),
            case(
                "require vpce-A with an allow: deny wins via vpce-B",
                REQUIRE_VPCE_A_WITH_ALLOW,
                put("k")
                    .with_context("aws:SourceVpce", "vpce-B")
                    .with_principal(ROLE_SESSION),
                ExplicitDeny,
            )
            .by(&["OnlyViaVpceA"]),
            case(
                "require vpce-A with an allow: unknown source beats the allow",
                REQUIRE_VPCE_A_WITH_ALLOW,
                put("k").with_principal(ROLE_SESSION),
                Conditional,
            )
            .by(&["OnlyViaVpceA"])
            .unknown(&["StringNotEquals aws:SourceVpce"]),
        ]);
    }

    #[test]
    fn actions_and_resources() {
        use Decision::*;
        let not_action_deny =
            one(r#"{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"*"}"#);
        let not_action_allow = one(
            r#"{"Effect":"Allow","Principal":"*","NotAction":["s3:Delete*","s3:PutBucket*"],"Resource":"*"}"#,
        );
        let not_resource = one(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","NotResource":"arn:aws:s3:::b/*"}"#,
        );
        let get_star =
            one(r#"{"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"*"}"#);
        let probe_prefix = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bucket/.vpce-probe/*"}"#,
        );
        let question = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:?etObject","Resource":"arn:aws:s3:::b/k?y"}"#,
        );
        let mixed_case = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"S3:getobject","Resource":"arn:aws:s3:::b/*"}"#,
        );
        let upper_bucket = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::B/*"}"#,
        );
        let no_resource = one(r#"{"Effect":"Allow","Action":"s3:GetObject"}"#);
        let bucket_only = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"}"#,
        );
        let star_crosses_slash = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b*"}"#,
        );
        run(vec![
            case(
                "NotAction deny: other action denied",
                not_action_deny.clone(),
                put("k"),
                ExplicitDeny,
            )
            .by(&["#0"]),
            case(
                "NotAction deny: excluded action not denied",
                not_action_deny,
                get("k"),
                ImplicitDeny,
            ),
            case(
                "NotAction allow: get allowed",
                not_action_allow.clone(),
                get("k"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "NotAction allow: delete excluded",
                not_action_allow.clone(),
                Request::new("s3:DeleteObject", "arn:aws:s3:::b/k"),
                ImplicitDeny,
            ),
            case(
                "NotAction allow: excluded case-insensitively",
                not_action_allow,
                Request::new("S3:DELETEOBJECT", "arn:aws:s3:::b/k"),
                ImplicitDeny,
            ),
            case(
                "NotResource: inside not denied",
                not_resource.clone(),
                get("k"),
                ImplicitDeny,
            ),
            case(
                "NotResource: other bucket denied",
                not_resource.clone(),
                Request::new("s3:GetObject", "arn:aws:s3:::c/k"),
                ExplicitDeny,
            )
            .by(&["#0"]),
            case(
                "NotResource: the bucket itself is outside b/*",
                not_resource,
                list(),
                ExplicitDeny,
            )
            .by(&["#0"]),
            case(
                "s3:Get* matches GetObject",
                get_star.clone(),
                get("k"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "s3:Get* matches GetObjectTagging",
                get_star.clone(),
                Request::new("s3:GetObjectTagging", "arn:aws:s3:::b/k"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "s3:Get* does not match PutObject",
                get_star,
                put("k"),
                ImplicitDeny,
            ),
            case(
                "probe prefix: probe key",
                probe_prefix.clone(),
                Request::new("s3:PutObject", "arn:aws:s3:::bucket/.vpce-probe/run-1/obj"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "probe prefix: other key",
                probe_prefix.clone(),
                Request::new("s3:PutObject", "arn:aws:s3:::bucket/data/obj"),
                ImplicitDeny,
            ),
            case(
                "probe prefix: the bucket",
                probe_prefix,
                Request::new("s3:ListBucket", "arn:aws:s3:::bucket"),
                ImplicitDeny,
            ),
            case(
                "? matches one character",
                question.clone(),
                get("key"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "? needs exactly one character",
                question.clone(),
                get("ky"),
                ImplicitDeny,
            ),
            case(
                "? in an action",
                question,
                Request::new("s3:PutObject", "arn:aws:s3:::b/key"),
                ImplicitDeny,
            ),
            case(
                "actions are case-insensitive",
                mixed_case.clone(),
                get("k"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "request action case does not matter",
                mixed_case,
                Request::new("S3:GETOBJECT", "arn:aws:s3:::b/k"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "resources are case-sensitive",
                upper_bucket,
                get("k"),
                ImplicitDeny,
            ),
            case(
                "no Resource and no Principal: applies to all",
                no_resource,
                get("any"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "bucket ARN does not cover objects",
                bucket_only.clone(),
                get("k"),
                ImplicitDeny,
            ),
            case("bucket ARN covers the bucket", bucket_only, list(), Allow).by(&["#0"]),
            case(
                "* crosses / in resources",
                star_crosses_slash.clone(),
                get("a/b/c"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "b* also matches other buckets",
                star_crosses_slash,
                Request::new("s3:GetObject", "arn:aws:s3:::bx/k"),
                Allow,
            )
            .by(&["#0"]),
        ]);
    }

    #[test]
    fn conditions() {
        use Decision::*;
        let ip_allow = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/16","2600:1f18::/32","192.0.2.7"]}}}"#,
        );
        let not_ip_deny = one(
            r#"{"Sid":"OnlyVpc","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/16"}}}"#,
        );
        let if_exists_deny = one(
            r#"{"Sid":"D","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-A"}}}"#,
        );
        let if_exists_allow = one(
            r#"{"Sid":"A","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-A"}}}"#,
        );
        let any_of = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:SourceVpce":["vpce-A","vpce-B"]}}}"#,
        );
        let none_of = one(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringNotEquals":{"aws:SourceVpce":["vpce-A","vpce-B"]}}}"#,
        );
        let two_keys = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-A","aws:SourceVpc":"vpc-1"}}}"#,
        );
        let two_ops = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:SourceVpce":"vpce-A"}}}"#,
        );
        let bool_deny = one(
            r#"{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"Bool":{"aws:SecureTransport":false}}}"#,
        );
        let null_deny = one(
            r#"{"Sid":"N","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"Null":{"aws:SourceVpce":"true"}}}"#,
        );
        let ignore_case = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringEqualsIgnoreCase":{"aws:SourceVpce":"VPCE-A"}}}"#,
        );
        let not_ignore_case = one(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringNotEqualsIgnoreCase":{"aws:SourceVpce":"VPCE-A"}}}"#,
        );
        let like = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringLike":{"aws:SourceVpce":"vpce-0a*"}}}"#,
        );
        let not_like = one(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringNotLike":{"aws:SourceVpce":"vpce-0a*"}}}"#,
        );
        let equals_no_wildcard = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-*"}}}"#,
        );
        let arn_like = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Probe*"}}}"#,
        );
        let arn_equals = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Probe"}}}"#,
        );
        let arn_not_like = one(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}}}"#,
        );
        let numeric = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}"#,
        );
        let for_any = one(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"ForAnyValue:StringEquals":{"aws:SourceVpce":"vpce-X"}}}"#,
        );
        let null_if_exists = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"NullIfExists":{"aws:SourceVpce":"true"}}}"#,
        );
        let lowercase_op = one(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"stringequals":{"aws:sourcevpce":"vpce-A"}}}"#,
        );
        let vpce_ctx = |v: &str| get("k").with_context("aws:SourceVpce", v);
        let ip_ctx = |v: &str| get("k").with_context("aws:SourceIp", v);
        let arn_ctx = |v: &str| get("k").with_context("aws:PrincipalArn", v);
        run(vec![
            case(
                "IpAddress: inside the CIDR",
                ip_allow.clone(),
                ip_ctx("10.0.1.10"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "IpAddress: outside",
                ip_allow.clone(),
                ip_ctx("10.1.0.1"),
                ImplicitDeny,
            ),
            case(
                "IpAddress: ipv6 inside",
                ip_allow.clone(),
                ip_ctx("2600:1f18:1::9"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "IpAddress: ipv6 outside",
                ip_allow.clone(),
                ip_ctx("2600:1f19::9"),
                ImplicitDeny,
            ),
            case(
                "IpAddress: bare address value",
                ip_allow.clone(),
                ip_ctx("192.0.2.7"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "IpAddress: not an address",
                ip_allow.clone(),
                ip_ctx("vpce-A"),
                ImplicitDeny,
            ),
            case("IpAddress: unknown source", ip_allow, get("k"), Conditional)
                .by(&["#0"])
                .unknown(&["IpAddress aws:SourceIp"]),
            case(
                "NotIpAddress: inside not denied",
                not_ip_deny.clone(),
                ip_ctx("10.0.9.9"),
                ImplicitDeny,
            ),
            case(
                "NotIpAddress: outside denied",
                not_ip_deny.clone(),
                ip_ctx("52.1.1.1"),
                ExplicitDeny,
            )
            .by(&["OnlyVpc"]),
            case("NotIpAddress: unknown", not_ip_deny, get("k"), Conditional)
                .by(&["OnlyVpc"])
                .unknown(&["NotIpAddress aws:SourceIp"]),
            case(
                "IfExists: absent key makes the deny apply",
                if_exists_deny.clone(),
                get("k").with_absent("aws:SourceVpce"),
                ExplicitDeny,
            )
            .by(&["D"]),
            case(
                "IfExists: present and equal",
                if_exists_deny.clone(),
                vpce_ctx("vpce-A"),
                ImplicitDeny,
            ),
            case(
                "IfExists: present and different",
                if_exists_deny.clone(),
                vpce_ctx("vpce-B"),
                ExplicitDeny,
            )
            .by(&["D"]),
            case(
                "IfExists: unknown key is still unknown",
                if_exists_deny,
                get("k"),
                Conditional,
            )
            .by(&["D"])
            .unknown(&["StringNotEqualsIfExists aws:SourceVpce"]),
            case(
                "IfExists allow: absent key",
                if_exists_allow.clone(),
                get("k").with_absent("AWS:SourceVPCE"),
                Allow,
            )
            .by(&["A"]),
            case(
                "IfExists allow: wrong value",
                if_exists_allow,
                vpce_ctx("vpce-B"),
                ImplicitDeny,
            ),
            case(
                "absent key, positive operator: false",
                any_of.clone(),
                get("k").with_absent("aws:SourceVpce"),
                ImplicitDeny,
            ),
            case(
                "values are ORed: second value",
                any_of.clone(),
                vpce_ctx("vpce-B"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "values are ORed: none",
                any_of,
                vpce_ctx("vpce-C"),
                ImplicitDeny,
            ),
            case(
                "negated values are NORed: listed",
                none_of.clone(),
                vpce_ctx("vpce-B"),
                ImplicitDeny,
            ),
            case(
                "negated values are NORed: not listed",
                none_of,
                vpce_ctx("vpce-C"),
                ExplicitDeny,
            )
            .by(&["#0"]),
            case(
                "keys are ANDed: both match",
                two_keys.clone(),
                vpce_ctx("vpce-A").with_context("aws:SourceVpc", "vpc-1"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "keys are ANDed: one differs",
                two_keys.clone(),
                vpce_ctx("vpce-A").with_context("aws:SourceVpc", "vpc-2"),
                ImplicitDeny,
            ),
            case(
                "keys are ANDed: one unknown",
                two_keys.clone(),
                vpce_ctx("vpce-A"),
                Conditional,
            )
            .by(&["#0"])
            .unknown(&["StringEquals aws:SourceVpc"]),
            case(
                "keys are ANDed: a known mismatch beats an unknown",
                two_keys,
                vpce_ctx("vpce-B"),
                ImplicitDeny,
            ),
            case(
                "operators are ANDed: both",
                two_ops.clone(),
                vpce_ctx("vpce-A").with_context("aws:SourceIp", "10.2.3.4"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "operators are ANDed: ip outside",
                two_ops.clone(),
                vpce_ctx("vpce-A").with_context("aws:SourceIp", "11.2.3.4"),
                ImplicitDeny,
            ),
            case(
                "operators are ANDed: both unknown",
                two_ops,
                get("k"),
                Conditional,
            )
            .by(&["#0"])
            .unknown(&["IpAddress aws:SourceIp", "StringEquals aws:SourceVpce"]),
            case(
                "Bool: TLS request",
                bool_deny.clone(),
                get("k").with_context("aws:SecureTransport", "true"),
                ImplicitDeny,
            ),
            case(
                "Bool: plain HTTP request",
                bool_deny.clone(),
                get("k").with_context("aws:SecureTransport", "false"),
                ExplicitDeny,
            )
            .by(&["TLS"]),
            case(
                "Bool: case-insensitive value",
                bool_deny,
                get("k").with_context("aws:SecureTransport", "FALSE"),
                ExplicitDeny,
            )
            .by(&["TLS"]),
            case(
                "Null true: key present",
                null_deny.clone(),
                vpce_ctx("vpce-A"),
                ImplicitDeny,
            ),
            case(
                "Null true: key absent",
                null_deny.clone(),
                get("k").with_absent("aws:SourceVpce"),
                ExplicitDeny,
            )
            .by(&["N"]),
            case("Null true: key unknown", null_deny, get("k"), Conditional)
                .by(&["N"])
                .unknown(&["Null aws:SourceVpce"]),
            case(
                "StringEqualsIgnoreCase",
                ignore_case,
                vpce_ctx("vpce-a"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "StringNotEqualsIgnoreCase: same",
                not_ignore_case.clone(),
                vpce_ctx("Vpce-A"),
                ImplicitDeny,
            ),
            case(
                "StringNotEqualsIgnoreCase: different",
                not_ignore_case,
                vpce_ctx("vpce-B"),
                ExplicitDeny,
            )
            .by(&["#0"]),
            case(
                "StringLike: wildcard",
                like.clone(),
                vpce_ctx("vpce-0abc"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "StringLike: no match",
                like,
                vpce_ctx("vpce-1abc"),
                ImplicitDeny,
            ),
            case(
                "StringNotLike: match",
                not_like.clone(),
                vpce_ctx("vpce-0abc"),
                ImplicitDeny,
            ),
            case(
                "StringNotLike: no match",
                not_like,
                vpce_ctx("vpce-1abc"),
                ExplicitDeny,
            )
            .by(&["#0"]),
            case(
                "StringEquals has no wildcards",
                equals_no_wildcard.clone(),
                vpce_ctx("vpce-0abc"),
                ImplicitDeny,
            ),
            case(
                "StringEquals literal star",
                equals_no_wildcard,
                vpce_ctx("vpce-*"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "ArnLike: per-segment wildcards",
                arn_like.clone(),
                arn_ctx("arn:aws:iam::111122223333:role/ProbeRole"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "ArnLike: * does not cross a colon",
                arn_like.clone(),
                arn_ctx("arn:aws:iam::1:2:role/Probe"),
                ImplicitDeny,
            ),
            case(
                "ArnLike: other role",
                arn_like,
                arn_ctx("arn:aws:iam::111122223333:role/Other"),
                ImplicitDeny,
            ),
            case(
                "ArnEquals",
                arn_equals.clone(),
                arn_ctx("arn:aws:iam::111122223333:role/Probe"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "ArnEquals: other account",
                arn_equals,
                arn_ctx("arn:aws:iam::444455556666:role/Probe"),
                ImplicitDeny,
            ),
            case(
                "ArnNotLike: inside",
                arn_not_like.clone(),
                arn_ctx("arn:aws:iam::111122223333:role/Probe"),
                ImplicitDeny,
            ),
            case(
                "ArnNotLike: outside",
                arn_not_like,
                arn_ctx("arn:aws:iam::444455556666:role/Probe"),
                ExplicitDeny,
            )
            .by(&["#0"]),
            case(
                "unsupported Numeric operator",
                numeric,
                Request::new("s3:ListBucket", "arn:aws:s3:::b").with_context("s3:max-keys", "5"),
                Conditional,
            )
            .by(&["#0"])
            .unknown(&["NumericLessThanEquals s3:max-keys"]),
            case(
                "unsupported set operator",
                for_any,
                vpce_ctx("vpce-X"),
                Conditional,
            )
            .by(&["#0"])
            .unknown(&["ForAnyValue:StringEquals aws:SourceVpce"]),
            case(
                "NullIfExists is not an operator",
                null_if_exists,
                vpce_ctx("vpce-A"),
                Conditional,
            )
            .by(&["#0"])
            .unknown(&["NullIfExists aws:SourceVpce"]),
            case(
                "operator and key names are case-insensitive",
                lowercase_op,
                vpce_ctx("vpce-A"),
                Allow,
            )
            .by(&["#0"]),
        ]);
    }

    #[test]
    fn principals() {
        use Decision::*;
        let role = one(
            r#"{"Sid":"R","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Probe"},"Action":"s3:*","Resource":"*"}"#,
        );
        let role_with_path = one(
            r#"{"Sid":"R","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/team/Probe"]},"Action":"s3:*","Resource":"*"}"#,
        );
        let account = one(
            r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}"#,
        );
        let root = one(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}"#,
        );
        let aws_star =
            one(r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}"#);
        let service = one(
            r#"{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"*"}"#,
        );
        let canonical = one(
            r#"{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e5"},"Action":"s3:*","Resource":"*"}"#,
        );
        let not_principal = one(
            r#"{"Sid":"NP","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/Probe","arn:aws:iam::111122223333:root"]},"Action":"s3:*","Resource":"*"}"#,
        );
        let session = one(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/Probe/*"},"Action":"s3:*","Resource":"*"}"#,
        );
        let who = |arn: &str| get("k").with_principal(arn);
        run(vec![
            case(
                "role names its sessions",
                role.clone(),
                who(ROLE_SESSION),
                Allow,
            )
            .by(&["R"]),
            case(
                "role names itself",
                role.clone(),
                who("arn:aws:iam::111122223333:role/Probe"),
                Allow,
            )
            .by(&["R"]),
            case("other role", role.clone(), who(OTHER_SESSION), ImplicitDeny),
            case(
                "same role name, other account",
                role.clone(),
                who(OTHER_ACCOUNT),
                ImplicitDeny,
            ),
            case("unknown caller: conditional", role, get("k"), Conditional)
                .by(&["R"])
                .unknown(&["Principal arn:aws:iam::111122223333:role/Probe"]),
            case(
                "role with a path names its sessions",
                role_with_path,
                who(ROLE_SESSION),
                Allow,
            )
            .by(&["R"]),
            case(
                "account id names its principals",
                account.clone(),
                who(ROLE_SESSION),
                Allow,
            )
            .by(&["#0"]),
            case(
                "account id: other account",
                account,
                who(OTHER_ACCOUNT),
                ImplicitDeny,
            ),
            case(
                "root names its principals",
                root.clone(),
                who(ROLE_SESSION),
                Allow,
            )
            .by(&["#0"]),
            case(
                "root: other account",
                root,
                who(OTHER_ACCOUNT),
                ImplicitDeny,
            ),
            case("AWS * is anyone, even unknown", aws_star, get("k"), Allow).by(&["#0"]),
            case(
                "service principal is never the probe",
                service.clone(),
                put("k"),
                ImplicitDeny,
            ),
            case(
                "service principal, known caller",
                service,
                put("k").with_principal(ROLE_SESSION),
                ImplicitDeny,
            ),
            case(
                "canonical user: unknown",
                canonical,
                who(ROLE_SESSION),
                Conditional,
            )
            .by(&["#0"])
            .unknown(&["Principal CanonicalUser 79a59df900b949e5"]),
            case(
                "NotPrincipal: excluded role not denied",
                not_principal.clone(),
                who(ROLE_SESSION),
                ImplicitDeny,
            ),
            case(
                "NotPrincipal: account root excludes other roles too",
                not_principal.clone(),
                who(OTHER_SESSION),
                ImplicitDeny,
            ),
            case(
                "NotPrincipal: other account denied",
                not_principal.clone(),
                who(OTHER_ACCOUNT),
                ExplicitDeny,
            )
            .by(&["NP"]),
            case(
                "NotPrincipal: unknown caller",
                not_principal,
                get("k"),
                Conditional,
            )
            .by(&["NP"])
            .unknown(&[
                "NotPrincipal arn:aws:iam::111122223333:role/Probe",
                "NotPrincipal arn:aws:iam::111122223333:root",
            ]),
            case(
                "session ARN with a wildcard",
                session,
                who(ROLE_SESSION),
                Allow,
            )
            .by(&["#0"]),
        ]);
    }

    #[test]
    fn decision_order() {
        use Decision::*;
        let allow_all =
            r#"{"Sid":"AllowAll","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#;
        let deny_put = r#"{"Sid":"DenyPut","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"*"}"#;
        let maybe_deny = r#"{"Sid":"MaybeDeny","Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"}}}"#;
        let maybe_allow = r#"{"Sid":"MaybeAllow","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}"#;
        let two = |a: &str, b: &str| format!(r#"{{"Statement":[{a},{b}]}}"#);
        run(vec![
            case("explicit deny beats allow", two(allow_all, deny_put), put("k"), ExplicitDeny).by(&["DenyPut"]),
            case("allow where the deny does not apply", two(allow_all, deny_put), get("k"), Allow).by(&["AllowAll"]),
            case("explicit deny beats a maybe deny", two(maybe_deny, deny_put), put("k"), ExplicitDeny).by(&["DenyPut"]),
            case("maybe deny beats allow", two(allow_all, maybe_deny), get("k"), Conditional).by(&["MaybeDeny"]).unknown(&["StringNotEquals aws:PrincipalOrgID"]),
            case("allow beats maybe allow", two(maybe_allow, allow_all), get("k"), Allow).by(&["AllowAll"]),
            case("maybe allow alone", two(maybe_allow, deny_put), get("k"), Conditional).by(&["MaybeAllow"]).unknown(&["StringEquals aws:PrincipalOrgID"]),
            case("known org: allowed", two(maybe_allow, maybe_deny), get("k").with_context("aws:PrincipalOrgID", "o-1"), Allow).by(&["MaybeAllow"]),
            case("other org: denied", two(maybe_allow, maybe_deny), get("k").with_context("aws:PrincipalOrgID", "o-2"), ExplicitDeny).by(&["MaybeDeny"]),
            case("several denies are all named", two(deny_put, deny_put), put("k"), ExplicitDeny).by(&["DenyPut", "DenyPut"]),
            case("empty statement list", r#"{"Statement":[]}"#, get("k"), ImplicitDeny),
            case(
                "statements without Sid are numbered",
                r#"{"Statement":[{"Effect":"Deny","Action":"s3:GetObject"},{"Sid":"","Effect":"Deny","Action":"s3:*"}]}"#,
                get("k"),
                ExplicitDeny,
            )
            .by(&["#0", "#1"]),
        ]);
    }

    #[test]
    fn policy_variables() {
        use Decision::*;
        let v2012 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#;
        let v2008 = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#;
        let default = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username, 'anon'}/*"}]}"#;
        let special = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/${$}x"}]}"#;
        let in_condition = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"${aws:SourceVpce}"}}}]}"#;
        let user = |name: &str, key: &str| get(key).with_context("aws:username", name);
        run(vec![
            case(
                "2012-10-17 substitutes",
                v2012,
                user("alice", "alice/x"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "2012-10-17 other user's key",
                v2012,
                user("bob", "alice/x"),
                ImplicitDeny,
            ),
            case(
                "unknown variable: conditional",
                v2012,
                get("alice/x"),
                Conditional,
            )
            .by(&["#0"])
            .unknown(&["Resource ${aws:username}"]),
            case(
                "absent variable: no match",
                v2012,
                get("alice/x").with_absent("aws:username"),
                ImplicitDeny,
            ),
            case(
                "2008-10-17 is literal",
                v2008,
                user("alice", "alice/x"),
                ImplicitDeny,
            ),
            case(
                "2008-10-17 literal text matches",
                v2008,
                get("${aws:username}/x"),
                Allow,
            )
            .by(&["#0"]),
            case(
                "default value for an absent key",
                default,
                get("anon/x").with_absent("aws:username"),
                Allow,
            )
            .by(&["#0"]),
            case("special character", special, get("$x"), Allow).by(&["#0"]),
            case(
                "variable in a condition value",
                in_condition,
                get("k").with_context("aws:SourceVpce", "vpce-A"),
                Allow,
            )
            .by(&["#0"]),
        ]);
    }

    #[test]
    fn parsing() {
        let good: [(&str, &str, usize); 6] = [
            (
                "single-object Statement",
                r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
                1,
            ),
            ("array Statement", DENY_PUT, 1),
            (
                "condition values of every scalar type",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}]}"#,
                1,
            ),
            (
                "unknown elements ignored",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Extra":1}],"Other":2}"#,
                1,
            ),
            (
                "null Condition",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":null}]}"#,
                1,
            ),
            ("two statements", REQUIRE_VPCE_A_WITH_ALLOW, 2),
        ];
        for (name, doc, n) in good {
            let p = Policy::parse(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.statements.len(), n, "{name}");
        }
        let p = Policy::parse(good[2].1).unwrap();
        let values: Vec<&str> = p.statements[0]
            .conditions
            .iter()
            .map(|c| c.values[0].as_str())
            .collect();
        assert_eq!(values, ["true", "10"], "scalars become strings");
        let p = Policy::parse(REQUIRE_VPCE_A_WITH_ALLOW).unwrap();
        assert_eq!(p.version.as_deref(), Some("2012-10-17"));
        assert_eq!(p.statements[0].sid.as_deref(), Some("OnlyViaVpceA"));
        assert_eq!(p.statements[0].effect, Effect::Deny);
        assert_eq!(
            p.statements[0].principal.as_ref().unwrap().principals,
            [Principal::Anyone]
        );
        assert_eq!(
            p.statements[1].principal.as_ref().unwrap().principals,
            [Principal::Aws(
                "arn:aws:iam::111122223333:role/Probe".into()
            )]
        );

        let bad = [
            ("not JSON", "{not json", "not valid JSON"),
            ("empty", "", "not valid JSON"),
            (
                "truncated",
                r#"{"Statement":[{"Effect":"Allow""#,
                "not valid JSON",
            ),
            (
                "top-level array",
                "[]",
                "must be a JSON object, not an array",
            ),
            (
                "no Statement",
                r#"{"Version":"2012-10-17"}"#,
                "no Statement",
            ),
            (
                "Statement a string",
                r#"{"Statement":"allow all"}"#,
                "Statement must be an object or an array, not a string",
            ),
            (
                "statement not an object",
                r#"{"Statement":[1]}"#,
                "statement #0 must be an object, not a number",
            ),
            (
                "bad Effect",
                r#"{"Statement":[{"Sid":"S","Effect":"allow","Action":"*"}]}"#,
                "statement #0 (S): Effect must be \"Allow\" or \"Deny\"",
            ),
            (
                "no Effect",
                r#"{"Statement":[{"Action":"*"}]}"#,
                "statement #0: has no Effect",
            ),
            (
                "no Action",
                r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
                "has no Action or NotAction",
            ),
            (
                "Action and NotAction",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*"}]}"#,
                "has both Action and NotAction",
            ),
            (
                "Resource and NotResource",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}"#,
                "has both Resource and NotResource",
            ),
            (
                "Principal and NotPrincipal",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":"*","NotPrincipal":"*"}]}"#,
                "has both Principal and NotPrincipal",
            ),
            (
                "Action a number",
                r#"{"Statement":[{"Effect":"Allow","Action":5}]}"#,
                "Action must be a string or an array of strings, not a number",
            ),
            (
                "Action array of objects",
                r#"{"Statement":[{"Effect":"Allow","Action":[{}]}]}"#,
                "Action must hold strings, not an object",
            ),
            (
                "Resource a bool",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":true}]}"#,
                "Resource must be a string or an array",
            ),
            (
                "unknown principal type",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":{"User":"x"}}]}"#,
                "unknown principal type \"User\"",
            ),
            (
                "Principal a number",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":1}]}"#,
                "Principal must be \"*\" or an object",
            ),
            (
                "Condition a string",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":"x"}]}"#,
                "Condition must be an object, not a string",
            ),
            (
                "Condition operator a string",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":"x"}}]}"#,
                "Condition operator StringEquals must map keys to values",
            ),
            (
                "Condition value an object",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"k":{}}}}]}"#,
                "Condition StringEquals k must hold strings",
            ),
            (
                "Sid a number",
                r#"{"Statement":[{"Sid":1,"Effect":"Allow","Action":"*"}]}"#,
                "statement #0: Sid must be a string",
            ),
            (
                "Version a number",
                r#"{"Version":2012,"Statement":[]}"#,
                "Version must be a string",
            ),
            (
                "second statement bad",
                r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Effect":"Deny"}]}"#,
                "statement #1: has no Action",
            ),
        ];
        for (name, doc, want) in bad {
            match Policy::parse(doc) {
                Ok(p) => panic!("{name}: parsed: {p:?}"),
                Err(e) => assert!(e.contains(want), "{name}: error {e:?} lacks {want:?}"),
            }
        }
    }

    #[test]
    fn source_conditions_found() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"OnlyVpce","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
             "Condition":{"StringNotEquals":{"aws:sourcevpce":["vpce-A","vpce-B"]},"Bool":{"aws:SecureTransport":"false"}}},
            {"Effect":"Allow","Principal":"*","NotAction":"s3:Delete*","Resource":"*",
             "Condition":{"ForAnyValue:StringLike":{"aws:SourceVpc":"vpc-*"},"IpAddressIfExists":{"AWS:SourceIp":"10.0.0.0/16"}}},
            {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
        let got = source_conditions(&Policy::parse(doc).unwrap());
        let want = [
            SourceCondition {
                sid: "OnlyVpce".into(),
                effect: Effect::Deny,
                operator: "StringNotEquals".into(),
                key: "aws:SourceVpce".into(),
                values: vec!["vpce-A".into(), "vpce-B".into()],
                actions: vec!["s3:*".into()],
                not_action: false,
                negated: true,
            },
            SourceCondition {
                sid: "#1".into(),
                effect: Effect::Allow,
                operator: "ForAnyValue:StringLike".into(),
                key: "aws:SourceVpc".into(),
                values: vec!["vpc-*".into()],
                actions: vec!["s3:Delete*".into()],
                not_action: true,
                negated: false,
            },
            SourceCondition {
                sid: "#1".into(),
                effect: Effect::Allow,
                operator: "IpAddressIfExists".into(),
                key: "aws:SourceIp".into(),
                values: vec!["10.0.0.0/16".into()],
                actions: vec!["s3:Delete*".into()],
                not_action: true,
                negated: false,
            },
        ];
        assert_eq!(got, want);

        let negated = [
            ("StringNotEquals", true),
            ("StringNotEqualsIfExists", true),
            ("StringNotEqualsIgnoreCase", true),
            ("StringNotLike", true),
            ("ArnNotEquals", true),
            ("ArnNotLike", true),
            ("NotIpAddress", true),
            ("ForAllValues:StringNotEquals", true),
            ("StringEquals", false),
            ("StringLike", false),
            ("IpAddress", false),
            ("ArnLike", false),
            ("Null", false),
        ];
        for (op, want) in negated {
            assert_eq!(operator_negated(op), want, "{op}");
        }
        assert!(source_conditions(&Policy::parse(DEFAULT_ENDPOINT_POLICY).unwrap()).is_empty());
    }

    #[test]
    fn matchers() {
        let globs = [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "x", false),
            ("a*b", "ab", true),
            ("a*b", "axxb", true),
            ("a*b", "axxbc", false),
            ("a*b*c", "abxbc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("**", "x", true),
            ("*.vpce-probe/*", "bucket/.vpce-probe/k", true),
            ("é?", "éé", true),
        ];
        for (p, t, want) in globs {
            assert_eq!(glob(p, t), want, "glob {p:?} {t:?}");
        }
        let ips = [
            ("10.0.0.0/16", "10.0.255.1", true),
            ("10.0.0.0/16", "10.1.0.1", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("10.0.0.1", "10.0.0.1", true),
            ("10.0.0.0/33", "10.0.0.1", false),
            ("2600:1f18::/32", "2600:1f18::1", true),
            ("2600:1f18::/32", "10.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.1.1.1", true),
            ("garbage", "10.0.0.1", false),
        ];
        for (block, addr, want) in ips {
            assert_eq!(ip_in(block, addr), want, "ip_in {block} {addr}");
        }
    }

    #[test]
    fn serde_forms() {
        let eval = evaluate(&Policy::parse(DENY_PUT).unwrap(), &put("k"));
        let json = serde_json::to_value(&eval).unwrap();
        assert_eq!(json["decision"], "explicit_deny");
        for (d, want) in [
            (Decision::Allow, "allow"),
            (Decision::ImplicitDeny, "implicit_deny"),
            (Decision::Conditional, "conditional"),
        ] {
            assert_eq!(serde_json::to_value(d).unwrap(), want);
        }
        let p = Policy::parse(REQUIRE_VPCE_A_WITH_ALLOW).unwrap();
        let back: Policy = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let req: Request = serde_json::from_str(
            r#"{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","principal_arn":null,"context":{}}"#,
        )
        .unwrap();
        assert!(req.absent_keys.is_empty());
    }
}
