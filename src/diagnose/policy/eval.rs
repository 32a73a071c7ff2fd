//! Evaluation of a [`Policy`] for one [`Request`]: which statements apply (yes, no, or maybe),
//! and the [`Decision`] they add up to. Condition operators are in `conditions`, the string,
//! ARN and principal matchers in `matching`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::conditions::eval_condition;
use super::matching::{action_matches, aws_principal_matches, glob};
use super::parse::{Effect, Policy, Principal, Statement};

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
pub(super) enum Tri {
    Yes,
    No,
    Maybe(Vec<String>),
}

impl Tri {
    pub(super) fn from_bool(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }

    pub(super) fn not(self) -> Tri {
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

    pub(super) fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::No, Tri::or)
    }

    pub(super) fn all(items: impl IntoIterator<Item = Tri>) -> Tri {
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
pub(super) enum KeyState<'a> {
    Known(&'a str),
    Absent,
    Unknown,
}

/// The request context, keys lower-cased.
pub(super) struct Ctx<'a> {
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

    pub(super) fn get(&self, key: &str) -> KeyState<'a> {
        let key = key.to_lowercase();
        match self.values.get(&key) {
            Some(v) => KeyState::Known(v),
            None if self.absent.contains(&key) => KeyState::Absent,
            None => KeyState::Unknown,
        }
    }

    /// Substitute `${key}` / `${key, 'default'}` / `${*}` `${?}` `${$}` in a policy string.
    pub(super) fn substitute(&self, s: &str) -> Subst {
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
pub(super) enum Subst {
    Text(String),
    /// A variable's key is absent from the request: the string matches nothing.
    Absent,
    /// A variable's key is unknown (the `${…}` is given).
    Unknown(String),
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
    if !action_matches(&st.action.patterns, st.action.negated, &req.action) {
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

#[cfg(test)]
mod tests {
    use super::*;

    // The evaluation cases are data: tests/fixtures/policy/*.json, run by tests/policy_fixtures.rs.

    #[test]
    fn serde_forms() {
        let deny_put = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let eval = evaluate(
            &Policy::parse(deny_put).unwrap(),
            &Request::new("s3:PutObject", "arn:aws:s3:::b/k"),
        );
        let json = serde_json::to_value(&eval).unwrap();
        assert_eq!(json["decision"], "explicit_deny");
        for (d, want) in [
            (Decision::Allow, "allow"),
            (Decision::ImplicitDeny, "implicit_deny"),
            (Decision::Conditional, "conditional"),
        ] {
            assert_eq!(serde_json::to_value(d).unwrap(), want);
        }
        let with_allow = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"OnlyViaVpceA","Effect":"Deny","Principal":"*","Action":"*",
             "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
             "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-A"}}},
            {"Sid":"ProbeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Probe"},
             "Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:ListBucket"],
             "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#;
        let p = Policy::parse(with_allow).unwrap();
        let back: Policy = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let req: Request = serde_json::from_str(
            r#"{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","principal_arn":null,"context":{}}"#,
        )
        .unwrap();
        assert!(req.absent_keys.is_empty());
    }
}
