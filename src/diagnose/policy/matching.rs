//! String matchers shared by evaluation and the helpers: wildcard globs, endpoint-id matching,
//! `Action` matching, ARN and IP-address matching, and `{"AWS": …}` principals.

use std::net::IpAddr;

/// Wildcard match: `*` any run of characters, `?` exactly one; characters compare exactly.
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    glob_by(pattern, text, |p, t| p == t)
}

/// An endpoint or VPC id (`vpce-…`, `vpc-…`) against a policy value: `*` and `?` wildcards,
/// ASCII case-insensitive.
///
/// AWS compares `aws:SourceVpce`/`aws:SourceVpc` values case-sensitively under `StringEquals`
/// and `StringLike`, but the ids it issues are always lowercase; this project compares them
/// case-insensitively everywhere (condition evaluation on those keys, and the analysis), so a
/// policy that spells an id in capitals is taken at its word rather than flagged as a mismatch.
pub fn id_match(pattern: &str, id: &str) -> bool {
    glob_by(pattern, id, |p, t| p.eq_ignore_ascii_case(&t))
}

/// Condition keys whose values are endpoint or VPC ids, compared with [`id_match`] semantics.
pub(super) fn id_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("aws:SourceVpce") || key.eq_ignore_ascii_case("aws:SourceVpc")
}

/// Does an `Action` (or, with `negated`, a `NotAction`) element cover `action`? Patterns and
/// action compare case-insensitively, with `*` and `?`.
pub(super) fn action_matches(patterns: &[String], negated: bool, action: &str) -> bool {
    let action = action.to_lowercase();
    let hit = patterns.iter().any(|p| glob(&p.to_lowercase(), &action));
    hit != negated
}

fn glob_by(pattern: &str, text: &str, eq: impl Fn(char, char) -> bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || eq(p[pi], t[ti])) {
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
pub(super) fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    if p.len() == 6 && v.len() == 6 {
        p.iter().zip(&v).all(|(p, v)| glob(p, v))
    } else {
        glob(pattern, value)
    }
}

/// `IpAddress` value (`10.0.0.0/16`, `2600:1f18::/32` or a bare address) against an address.
pub(super) fn ip_in(block: &str, addr: &str) -> bool {
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

/// Does an `{"AWS": …}` principal name the caller (an IAM user/role ARN or an STS
/// `assumed-role` session ARN)?
///
/// - `*` names anyone.
/// - An account id (`123456789012`) or the account's root ARN (`arn:aws:iam::123456789012:root`)
///   names every principal of that account: "the account principal" delegates to the account
///   (for a caller in another account, the account's own IAM policies must allow too; this
///   function only says whether the statement's Principal names the caller).
/// - A role ARN (`arn:aws:iam::123456789012:role/path/RoleName`) names the role and its
///   sessions (`arn:aws:sts::123456789012:assumed-role/RoleName/session`): the role's name must
///   match (session ARNs carry no path), and the account and partition. The IAM User Guide,
///   "AWS JSON policy elements: Principal", section "IAM role principals", says of a role ARN in a
///   resource-based policy that "the effective permissions for the principal are limited by any
///   policy types that limit permissions for the role. This includes session policies": the
///   principal in effect is the role session, and S3 applies a bucket-policy statement naming
///   the role to requests signed with that role's session credentials.
///   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>
/// - A session ARN names that session; any other ARN names exactly itself.
///
/// Wildcards inside an ARN are matched (`assumed-role/Role/*`), although IAM itself rejects
/// them in `Principal` (only a whole `*` is valid there).
pub(super) fn aws_principal_matches(pattern: &str, caller: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let ids = [
            ("vpce-0abc", "vpce-0abc", true),
            ("VPCE-0ABC", "vpce-0abc", true),
            ("vpce-0abc", "VPCE-0abc", true),
            ("vpce-0a*", "VPCE-0ABC", true),
            ("vpce-0?bc", "vpce-0Xbc", true),
            ("vpce-0abc", "vpce-0abd", false),
            ("vpce-*", "vpc-1", false),
            ("*", "", true),
        ];
        for (p, id, want) in ids {
            assert_eq!(id_match(p, id), want, "id_match {p:?} {id:?}");
        }
        let actions = [
            (&["s3:Get*"][..], false, "S3:GETOBJECT", true),
            (&["s3:PutObject"][..], false, "s3:ListBucket", false),
            (&["s3:PutObject"][..], true, "s3:ListBucket", true),
            (&["s3:Delete*", "s3:Put*"][..], true, "s3:putobject", false),
        ];
        for (patterns, negated, action, want) in actions {
            let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            assert_eq!(
                action_matches(&patterns, negated, action),
                want,
                "{patterns:?} {negated} {action}"
            );
        }
    }
}
