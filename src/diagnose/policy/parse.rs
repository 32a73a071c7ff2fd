//! Parsing of policy documents into [`Policy`]: statements, their `Action`/`Resource`/`Principal`
//! elements (and the `Not…` forms), and `Condition` blocks kept as written (`operator → key →
//! values`). Evaluation is in `eval`.

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

/// The largest policy document evaluated: AWS caps bucket policies at 20 KB and VPC endpoint
/// policies at 20,480 characters.
pub const MAX_POLICY_CHARS: usize = 20_480;

impl Policy {
    /// Parse a policy document. A document that is not JSON, or not shaped like a policy, is an
    /// `Err` naming the problem (and the statement).
    /// A document over [`MAX_POLICY_CHARS`] is refused unread (`policy is too large`): AWS
    /// stores none that big, so it is not a policy AWS enforces, and parsing and evaluation stay
    /// bounded in time and memory whatever an answer holds. Nesting is bounded by serde_json
    /// (128 levels).
    pub fn parse(json: &str) -> Result<Policy, String> {
        // bytes ≥ characters: count the characters only when the bytes are over
        if json.len() > MAX_POLICY_CHARS {
            let chars = json.chars().count();
            if chars > MAX_POLICY_CHARS {
                return Err(format!(
                    "policy is too large: {chars} characters, over the {MAX_POLICY_CHARS} AWS allows (a bucket policy 20 KB, an endpoint policy 20,480 characters); not evaluated"
                ));
            }
        }
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

    /// `2012-10-17` enables policy variables; older versions treat `${…}` as literal text.
    pub(super) fn variables(&self) -> bool {
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
