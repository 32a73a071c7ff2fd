//! PURE: IAM-style evaluation of VPC endpoint and bucket policies for the probe's requests, with
//! a third answer besides allow and deny: "conditional", when the outcome hangs on a fact the
//! probe does not know (a condition key it did not learn, a principal it cannot name).
//!
//! Semantics follow the IAM User Guide: explicit deny wins; `Action`/`NotAction` match
//! case-insensitively, `Resource`/`NotResource` case-sensitively, both with `*` and `?`; within
//! `Condition`, operators and keys are ANDed, the values of one key ORed (NORed for negated
//! operators such as `StringNotEquals`). One deliberate difference: the values of
//! `aws:SourceVpce` and `aws:SourceVpc` (endpoint and VPC ids) compare case-insensitively under
//! the `String…` operators, as everywhere in this project ([`id_match`]).
//!
//! **Unknown versus absent.** A condition key missing from [`Request::context`] is *unknown* to
//! the probe, not absent from the real request, so a condition on it (even `…IfExists`, or a
//! negated operator that AWS would evaluate to true on an absent key) is unknown and makes its
//! statement "maybe applies". When the probe knows a key is absent from the real request, list
//! it in [`Request::absent_keys`]: then AWS's rules apply (negated operators and `…IfExists` are
//! true, the others false, `Null` tests the absence).
//!
//! Layout: `parse` (the document model and its parser), `eval` (requests, decisions,
//! statement applicability), `conditions` (the operators), `matching` (globs, ARNs, IPs,
//! principals, endpoint ids), `source` (source conditions for the bucket-policy analysis).

mod conditions;
mod eval;
mod matching;
mod parse;
mod source;

pub use eval::{Decision, Evaluation, Request, evaluate};
pub use matching::id_match;
pub use parse::{
    Condition, Effect, MAX_POLICY_CHARS, PatternSet, Policy, Principal, PrincipalSet, Statement,
};
pub use source::{SourceCondition, source_conditions};
