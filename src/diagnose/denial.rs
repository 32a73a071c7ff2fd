//! S3's AccessDenied messages, parsed once, here, into a typed [`Denial`]. Since August 2024 S3's
//! same-account (and same-organization) AccessDenied messages name the policy type that denied
//! and whether the deny was explicit (S3 User Guide, "Troubleshoot access denied (403
//! Forbidden) errors"):
//!
//! - `User: <arn> is not authorized to perform: <action> on resource: "<arn>" because no
//!   <type> policy allows the <action> action` (implicit), or
//! - `... with an explicit deny in a <type> policy` (explicit),
//!
//! where `<type>` is identity-based, resource-based, VPC endpoint, service control, resource
//! control, session, or permissions boundary. Other messages (`Access Denied`, a HEAD request's
//! empty 403) carry no attribution: [`Denial::parse`] then returns `None`.

/// The policy type S3's message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    IdentityBased,
    ResourceBased,
    VpcEndpoint,
    ServiceControl,
    ResourceControl,
    Session,
    PermissionsBoundary,
}

impl PolicyType {
    /// The words S3 uses for the type (lower case).
    const NAMES: [(&'static str, PolicyType); 7] = [
        ("identity-based", PolicyType::IdentityBased),
        ("resource-based", PolicyType::ResourceBased),
        ("vpc endpoint", PolicyType::VpcEndpoint),
        ("service control", PolicyType::ServiceControl),
        ("resource control", PolicyType::ResourceControl),
        ("session", PolicyType::Session),
        ("permissions boundary", PolicyType::PermissionsBoundary),
    ];

    /// As S3 words it.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .unwrap_or("unknown")
    }
}

/// What S3's message says about a denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub policy_type: PolicyType,
    /// `with an explicit deny` (true) or `because no ... policy allows` (false).
    pub explicit: bool,
    /// The denied action (`s3:PutObject`, `kms:GenerateDataKey`, ...), when named.
    pub action: Option<String>,
    /// The caller's ARN, when named.
    pub principal: Option<String>,
    /// The resource's ARN, when named.
    pub resource: Option<String>,
}

impl Denial {
    /// Parse S3's message; `None` when it names no policy type.
    pub fn parse(message: &str) -> Option<Denial> {
        let lower = message.to_ascii_lowercase();
        let (explicit, rest) = if let Some(i) = lower.find("with an explicit deny in a ") {
            (true, &lower[i + "with an explicit deny in a ".len()..])
        } else if let Some(i) = lower.find("because no ") {
            (false, &lower[i + "because no ".len()..])
        } else {
            return None;
        };
        // `<type> policy ...` (a permissions boundary has no "policy"): the longest type name
        // that starts `rest`.
        let policy_type = PolicyType::NAMES
            .iter()
            .filter(|(n, _)| rest.starts_with(n))
            .max_by_key(|(n, _)| n.len())
            .map(|(_, t)| *t)?;
        Some(Denial {
            policy_type,
            explicit,
            action: between(message, "not authorized to perform: ", " ")
                .or_else(|| between(message, "policy allows the ", " action")),
            principal: between(message, "User: ", " is not authorized"),
            resource: between(message, "on resource: \"", "\"")
                .or_else(|| between(message, "on resource: ", " ")),
        })
    }
}

/// The text between `start` and the next `end` (trimmed of quotes), if both occur.
fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    let v = s[from..from + len].trim_matches('"').trim();
    (!v.is_empty()).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example shapes (troubleshoot-403-errors).
    #[test]
    fn documented_shapes() {
        let d = Denial::parse(r#"User: arn:aws:iam::123456789012:user/MaryMajor is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::amzn-s3-demo-bucket/object-name" because no identity-based policy allows the s3:GetObject action"#).unwrap();
        assert_eq!(d.policy_type, PolicyType::IdentityBased);
        assert!(!d.explicit);
        assert_eq!(d.action.as_deref(), Some("s3:GetObject"));
        assert_eq!(
            d.principal.as_deref(),
            Some("arn:aws:iam::123456789012:user/MaryMajor")
        );
        assert_eq!(
            d.resource.as_deref(),
            Some("arn:aws:s3:::amzn-s3-demo-bucket/object-name")
        );
        for (text, t, explicit) in [
            (
                "... with an explicit deny in a resource-based policy",
                PolicyType::ResourceBased,
                true,
            ),
            (
                "... with an explicit deny in a VPC endpoint policy",
                PolicyType::VpcEndpoint,
                true,
            ),
            (
                "... because no VPC endpoint policy allows the s3:PutObject action",
                PolicyType::VpcEndpoint,
                false,
            ),
            (
                "... with an explicit deny in a service control policy",
                PolicyType::ServiceControl,
                true,
            ),
            (
                "... with an explicit deny in a resource control policy",
                PolicyType::ResourceControl,
                true,
            ),
            (
                "... because no session policy allows the s3:ListBucket action",
                PolicyType::Session,
                false,
            ),
            (
                "... because no permissions boundary allows the s3:PutObject action",
                PolicyType::PermissionsBoundary,
                false,
            ),
            (
                "... with an explicit deny in a permissions boundary policy",
                PolicyType::PermissionsBoundary,
                true,
            ),
            (
                "... because no resource-based policy allows the s3:GetObject action",
                PolicyType::ResourceBased,
                false,
            ),
        ] {
            let d = Denial::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((d.policy_type, d.explicit), (t, explicit), "{text}");
        }
    }

    #[test]
    fn messages_without_attribution() {
        for m in [
            "Access Denied",
            "",
            "HTTP 403 with no error message",
            "Forbidden",
        ] {
            assert_eq!(Denial::parse(m), None, "{m}");
        }
    }
}
