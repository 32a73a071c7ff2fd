//! The `credentials` check: did a provider of the default chain supply credentials.

use super::Judged;
use crate::diagnose::check_name::CheckName;
use crate::diagnose::finding_code::FindingCode;
use crate::diagnose::model::{CheckVerdict, Status};
use crate::evidence::{ErrorCode, Evidence};

/// Judge the credential chain.
pub fn judge(ev: &Evidence) -> Judged {
    if ev.credentials.provider.is_some() {
        return Judged::quiet(CheckVerdict::pass(CheckName::Credentials));
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
