//! The `credentials` check: did a provider of the default chain supply credentials.

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Status};
use crate::evidence::{ErrorCode, Evidence};

/// What to do about expired credentials from `provider`.
pub fn expired_advice(provider: &str) -> String {
    format!(
        "refresh the credentials from {provider}: temporary credentials (a session token) outlived their expiry; with an instance role the SDK refreshes them by itself, so a clock far off (chrony, the Amazon Time Sync Service at 169.254.169.123) or stale keys in the environment or ~/.aws/credentials are the usual cause"
    )
}

/// The expiry the provider gave, when it is before the run started.
fn expired_at(ev: &Evidence) -> Option<&str> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let at = ev.credentials.expires_at.as_deref()?;
    let expiry = DateTime::from_str(at, Format::DateTime).ok()?;
    (expiry < DateTime::from(ev.started_at)).then_some(at)
}

/// Long-term access keys on an EC2 instance: a warning, naming where they are and, when the
/// instance has a role, that they shadow it.
fn long_term_keys(ev: &Evidence) -> Option<crate::diagnose::Finding> {
    use crate::evidence::{CredentialProvider, KeyKind};
    let c = &ev.credentials;
    let on_ec2 = ev.instance()?;
    if c.key_kind != Some(KeyKind::LongTerm)
        || !matches!(
            c.provider,
            Some(CredentialProvider::Environment | CredentialProvider::Profile)
        )
    {
        return None;
    }
    let source = c.source.clone().unwrap_or_else(|| {
        format!(
            "the {} provider",
            c.provider.map(|p| p.as_str()).unwrap_or("")
        )
    });
    let id = on_ec2.instance_id.as_deref().unwrap_or("<instance-id>");
    let (shadow, attach) = match on_ec2.iam_role.as_deref() {
        Some(role) => (
            format!(
                "; they shadow the instance role {role}, which comes later in the credential chain"
            ),
            format!("the instance already has role {role}: remove the keys and the probe uses it"),
        ),
        None => (
            String::new(),
            format!(
                "aws ec2 associate-iam-instance-profile --instance-id {id} --iam-instance-profile Name=<instance profile>"
            ),
        ),
    };
    Some(FindingCode::LongTermAccessKeys.finding(
        format!("long-term access keys (AKIA…) from {source} are in use on instance {id}{shadow}"),
        &[("attach", &attach), ("source", &source)],
    ))
}

/// Judge the credential chain.
pub fn judge(ev: &Evidence) -> Judged {
    if let Some(provider) = ev.credentials.provider {
        if let Some(at) = expired_at(ev) {
            let f = FindingCode::CredentialsExpired.finding(
                format!("the credentials from {provider} expired at {at}, before the run started"),
                &[("advice", &expired_advice(provider.as_str()))],
            );
            return Judged::with(
                CheckVerdict::with(CheckName::Credentials, Status::Fail, f.hint.clone()),
                f,
            );
        }
        return match long_term_keys(ev) {
            Some(f) => Judged::with(
                CheckVerdict::with(CheckName::Credentials, Status::Warn, f.hint.clone()),
                f,
            ),
            None => Judged::quiet(CheckVerdict::pass(CheckName::Credentials)),
        };
    }
    let err = ev.credentials.error.as_ref();
    let f = match err {
        Some(e) if e.code != ErrorCode::NoCredentials => {
            FindingCode::CredentialsError.finding(e.message.clone(), &[])
        }
        _ => {
            let role = ev.instance().and_then(|i| i.iam_role.as_deref());
            let advice = match (ev.instance().is_some(), role) {
                (true, None) => "attach an IAM role to the instance (an instance profile) — preferred — or configure access keys (aws configure)".to_string(),
                (true, Some(r)) => format!("the instance has role {r} but its credentials could not be loaded from IMDS; check the instance profile"),
                (false, _) => "attach an IAM role to the instance — preferred — or configure access keys (aws configure, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)".to_string(),
            };
            FindingCode::NoCredentials.finding(
                err.map(|e| e.message.clone())
                    .unwrap_or_else(|| "no credentials found".into()),
                &[("advice", &advice)],
            )
        }
    };
    Judged::with(
        CheckVerdict::with(CheckName::Credentials, Status::Fail, f.hint.clone()),
        f,
    )
}
