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
        Some(e) if from_imds(ev, &e.code) => imds_credentials(ev, e),
        Some(e) if e.code != ErrorCode::NoCredentials => {
            FindingCode::CredentialsError.finding(e.message.clone(), &[])
        }
        _ => {
            let role = ev.instance().and_then(|i| i.iam_role.as_deref());
            let advice = match (ev.instance().is_some(), role) {
                _ if imds_silent(ev) => "the instance role's credentials were not asked for: IMDS gave no session token (see the imds check), so the instance profile provider could not run; fix IMDS first, or configure access keys meanwhile".to_string(),
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

/// The chain stopped at the instance profile, and IMDS's answer (or its silence) is the reason.
fn from_imds(ev: &Evidence, code: &ErrorCode) -> bool {
    use crate::evidence::{CredentialProvider, ProviderOutcome};
    let last = ev.credentials.tried.last();
    last.is_some_and(|t| {
        t.provider == CredentialProvider::InstanceProfile && t.outcome == ProviderOutcome::Error
    }) && matches!(
        code,
        ErrorCode::ImdsErrorResponse
            | ErrorCode::ImdsTimeout
            | ErrorCode::ImdsError
            | ErrorCode::ResponseError
    )
}

/// The instance profile provider was skipped because IMDS did not answer (not disabled).
fn imds_silent(ev: &Evidence) -> bool {
    use crate::evidence::{CredentialProvider, ProviderOutcome};
    !ev.context.disabled
        && ev.context.error.is_some()
        && ev.credentials.tried.iter().any(|t| {
            t.provider == CredentialProvider::InstanceProfile
                && t.outcome == ProviderOutcome::Skipped
        })
}

/// IMDS failed to deliver the instance role's credentials: say how, and what to do about it.
fn imds_credentials(ev: &Evidence, e: &crate::evidence::ErrorInfo) -> crate::diagnose::Finding {
    let role = ev
        .instance()
        .and_then(|i| i.iam_role.as_deref())
        .unwrap_or("<role>");
    let id = ev
        .instance()
        .and_then(|i| i.instance_id.as_deref())
        .unwrap_or("<instance-id>");
    let path = format!("/latest/meta-data/iam/security-credentials/{role}");
    let (what, advice) = match (e.code.clone(), e.http_status) {
        (ErrorCode::ImdsErrorResponse, Some(status)) => (
            format!("IMDS answered HTTP {status} to GET {path}"),
            format!(
                "IMDS could not vend the credentials of role {role} (HTTP {status}): run again in a minute; if it persists, check the instance profile association (aws ec2 describe-iam-instance-profile-associations --filters Name=instance-id,Values={id}) and replace it, or stop and start the instance"
            ),
        ),
        (ErrorCode::ImdsTimeout, _) => (
            format!("IMDS did not answer GET {path} in time"),
            format!(
                "IMDS did not deliver the credentials of role {role} in time: IMDS is slow or throttled (other processes on this instance polling it hard?), or the deadline is too tight (--imds-timeout, --timeout)"
            ),
        ),
        (ErrorCode::ResponseError, _) => (
            format!("IMDS's answer to GET {path} is not a credentials document"),
            format!(
                "the credentials of role {role} arrived truncated or altered (not valid credentials JSON): something between the probe and 169.254.169.254 changes IMDS's answers (a metadata proxy such as kube2iam or kiam, an HTTP proxy: add 169.254.169.254 to NO_PROXY); run again to rule out a transient IMDS fault"
            ),
        ),
        _ => (
            format!("IMDS failed to give the credentials of role {role}"),
            format!(
                "IMDS could not deliver the credentials of role {role}: run again in a minute; if it persists, check the instance profile association of {id}"
            ),
        ),
    };
    crate::diagnose::finding_code::FindingCode::ImdsCredentialsFailed
        .finding(format!("{what}: {}", e.message), &[("advice", &advice)])
}
