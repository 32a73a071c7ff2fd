//! Conditions on where a request comes from (`aws:SourceVpce`, `aws:SourceVpc`, `aws:SourceIp`),
//! lifted out of a policy for the bucket-policy analysis, with the actions and resources of
//! their statement.

use serde::{Deserialize, Serialize};

use super::conditions::operator_negated;
use super::matching::{action_matches, glob};
use super::parse::{Effect, Policy};

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
    /// The statement's `Resource` patterns (or `NotResource`'s when `not_resource`); `["*"]` for
    /// a statement without either element (it applies to any resource).
    pub resources: Vec<String>,
    pub not_resource: bool,
    /// The operator is a negated one (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, …).
    pub negated: bool,
}

impl SourceCondition {
    /// Does the condition's statement cover `action`? Matched like the statement's `Action`
    /// (case-insensitive, `*` and `?`), inverted for `NotAction`. A Deny on `s3:PutObject` with
    /// an `aws:SourceVpce` condition covers `s3:PutObject` but does not explain a denied
    /// `s3:ListBucket`.
    pub fn covers_action(&self, action: &str) -> bool {
        action_matches(&self.actions, self.not_action, action)
    }

    /// Does the condition's statement cover `resource` (an ARN)? Matched like the statement's
    /// `Resource` (case-sensitive, `*` and `?`), inverted for `NotResource`. A policy variable
    /// (`${aws:username}`) matches any text, its value not being known here: a `Resource`
    /// pattern with one answers "may cover", a `NotResource` one "may not cover".
    pub fn covers_resource(&self, resource: &str) -> bool {
        let hit = self
            .resources
            .iter()
            .any(|p| glob(&variables_as_wildcards(p), resource));
        hit != self.not_resource
    }
}

/// `${…}` → `*`.
fn variables_as_wildcards(pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push('*');
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Every condition of the policy on `aws:SourceVpce`, `aws:SourceVpc` or `aws:SourceIp`, in
/// document order.
pub fn source_conditions(policy: &Policy) -> Vec<SourceCondition> {
    let mut out = Vec::new();
    for (i, st) in policy.statements.iter().enumerate() {
        let (resources, not_resource) = match &st.resource {
            Some(set) => (set.patterns.clone(), set.negated),
            None => (vec!["*".to_string()], false),
        };
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
                resources: resources.clone(),
                not_resource,
                negated: operator_negated(&c.operator),
            });
        }
    }
    out
}
