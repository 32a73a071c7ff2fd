//! The condition operators: which are supported, which are negated, and how one `Condition`
//! entry evaluates against what the probe knows of the request.

use super::eval::{Ctx, KeyState, Subst, Tri};
use super::matching::{arn_like, glob, id_key, id_match, ip_in};
use super::parse::Condition;

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

    /// Does the request's value match one policy value (before negation)? `ids`: the key holds
    /// endpoint or VPC ids, whose `StringEquals`/`StringLike` forms compare case-insensitively
    /// (see [`id_match`]).
    fn matches(self, pattern: &str, value: &str, ids: bool) -> bool {
        match self {
            Op::StringEquals | Op::StringNotEquals if ids => pattern.eq_ignore_ascii_case(value),
            Op::StringEquals | Op::StringNotEquals => pattern == value,
            Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => {
                pattern.to_lowercase() == value.to_lowercase()
            }
            Op::StringLike | Op::StringNotLike if ids => id_match(pattern, value),
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
pub(super) fn operator_negated(name: &str) -> bool {
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

pub(super) fn eval_condition(c: &Condition, ctx: &Ctx) -> Tri {
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
    let ids = id_key(&c.key);
    let any = Tri::any(c.values.iter().map(|p| match ctx.substitute(p) {
        Subst::Text(p) => Tri::from_bool(op.matches(&p, value, ids)),
        Subst::Absent => Tri::No,
        Subst::Unknown(_) => unknown(),
    }));
    // Negated operators: NOR over the values.
    if op.negated() { any.not() } else { any }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negated_operators() {
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
    }
}
