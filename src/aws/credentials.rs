//! Finding credentials the way the SDK's default chain does, but one provider at a time, so the
//! report can say which provider supplied them (or why each one did not) — never a secret.

use std::time::{Duration, Instant};

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::date_time::{DateTime, Format};

use crate::aws::chain_message;
use crate::evidence::{
    CredentialProvider, CredentialsEvidence, ErrorCode, ErrorInfo, KeyKind, Phase, ProviderAttempt,
    ProviderOutcome,
};

/// What IMDS said of the instance role, published by the context collection
/// (`context.rs`) as soon as it has listed `iam/security-credentials/`, so that
/// the instance-profile provider reads the role's credentials without listing the roles again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleLookup {
    /// The instance has this role.
    Role(String),
    /// IMDS answered 404 (or nothing): no role is attached.
    NoRole,
    /// The listing failed otherwise: the provider lists the roles itself.
    Unknown,
}

/// The instance-profile provider's IMDS: the bounded client and where the role name will come
/// from, or why IMDS is not asked (disabled).
pub struct ImdsCredentials {
    pub client: imds::Client,
    /// Dropped without a value when the context collection failed (no IMDS): the provider is
    /// then skipped, without a request.
    pub role: tokio::sync::oneshot::Receiver<RoleLookup>,
}

/// What the credentials step may use.
pub struct CredentialsSetup {
    pub http: SharedHttpClient,
    /// The probe's resolver (the container provider resolves its endpoint host with it).
    pub resolver: crate::net::ProbeResolver,
    /// `--profile`: use only that profile, as the AWS CLI does.
    pub profile: Option<String>,
    /// IMDS for the instance-profile provider, or why it is skipped.
    pub imds: Result<ImdsCredentials, String>,
    /// Per-provider deadline.
    pub timeout: Duration,
}

/// One provider's turn: found, not configured (next), or an error that stops the chain.
enum Turn {
    Found(aws_credential_types::Credentials),
    Next,
    Stop(ErrorInfo),
}

/// Ask one provider, bounded by `timeout`, and record the attempt.
async fn ask(
    name: CredentialProvider,
    provider: &SharedCredentialsProvider,
    timeout: Duration,
    tried: &mut Vec<ProviderAttempt>,
) -> Turn {
    let t0 = Instant::now();
    let result = tokio::time::timeout(timeout, provider.provide_credentials()).await;
    let duration_ms = t0.elapsed().as_millis() as u64;
    let (outcome, message, turn) = match result {
        Ok(Ok(creds)) => (
            ProviderOutcome::Found,
            "credentials loaded".to_string(),
            Turn::Found(creds),
        ),
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => (
            ProviderOutcome::NotConfigured,
            not_loaded_message(name),
            Turn::Next,
        ),
        Ok(Err(e)) => {
            let mut message = chain_message(&e);
            let mut info = ErrorInfo::new(
                Phase::Credentials,
                ErrorCode::CredentialsError,
                String::new(),
            );
            if name == CredentialProvider::InstanceProfile {
                (info.code, info.http_status) = imds_failure(&e);
                if let Some(status) = info.http_status {
                    // the SDK's text dumps the whole HTTP response
                    message = format!("IMDS answered HTTP {status}");
                }
            }
            info.message = format!("the {name} credential provider failed: {message}");
            (ProviderOutcome::Error, message, Turn::Stop(info))
        }
        Err(_) => {
            let code = if name == CredentialProvider::InstanceProfile {
                ErrorCode::ImdsTimeout
            } else {
                ErrorCode::CredentialsTimeout
            };
            let info = ErrorInfo::new(
                Phase::Credentials,
                code,
                format!(
                    "the {name} credential provider did not answer within {} ms",
                    timeout.as_millis()
                ),
            );
            let message = format!("no answer within {} ms", timeout.as_millis());
            (ProviderOutcome::Error, message, Turn::Stop(info))
        }
    };
    tried.push(ProviderAttempt {
        provider: name,
        outcome,
        message,
        duration_ms,
    });
    turn
}

/// How IMDS failed to give the instance role's credentials: an HTTP error (with its status), no
/// answer in time, an answer that is not a credentials document (`response_error`), or else
/// the provider's own error (`credentials_error`, e.g. IMDS's `Code` for a role EC2 cannot
/// assume).
fn imds_failure(e: &CredentialsError) -> (ErrorCode, Option<u16>) {
    use aws_config::imds::client::error::ImdsError;
    if let CredentialsError::Unhandled(_) = e {
        // the SDK's JSON parser refused the document (its message never quotes the body)
        return (ErrorCode::ResponseError, None);
    }
    match crate::aws::find_in_chain::<ImdsError>(e) {
        Some(ImdsError::ErrorResponse(r)) => (
            ErrorCode::ImdsErrorResponse,
            Some(r.response().status().as_u16()),
        ),
        Some(ImdsError::IoError(_)) if chain_message(e).contains("timed out") => {
            (ErrorCode::ImdsTimeout, None)
        }
        Some(_) => (ErrorCode::ImdsError, None),
        None => (ErrorCode::CredentialsError, None),
    }
}

/// Ask each provider in the default chain's order; the first that answers wins. As in the SDK,
/// "not configured" moves on to the next provider and any other error stops the chain. The
/// provider returned serves the credentials found for as long as they are fresh, so the run
/// fetches them once (the SDK's clients would otherwise ask the provider again).
pub async fn find(
    setup: CredentialsSetup,
) -> (CredentialsEvidence, Option<SharedCredentialsProvider>) {
    let started = Instant::now();
    let pc = ProviderConfig::default().with_http_client(setup.http.clone());
    let mut chain: Vec<(CredentialProvider, SharedCredentialsProvider)> = Vec::new();
    if let Some(profile) = &setup.profile {
        let p = ProfileFileCredentialsProvider::builder()
            .configure(&pc)
            .profile_name(profile)
            .build();
        chain.push((
            CredentialProvider::Profile,
            SharedCredentialsProvider::new(p),
        ));
    } else {
        chain.push((
            CredentialProvider::Environment,
            SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()),
        ));
        let p = ProfileFileCredentialsProvider::builder()
            .configure(&pc)
            .build();
        chain.push((
            CredentialProvider::Profile,
            SharedCredentialsProvider::new(p),
        ));
        let p = WebIdentityTokenCredentialsProvider::builder()
            .configure(&pc)
            .build();
        chain.push((
            CredentialProvider::WebIdentity,
            SharedCredentialsProvider::new(p),
        ));
        let p = EcsCredentialsProvider::builder()
            .configure(&pc)
            .dns(setup.resolver.clone())
            .build();
        chain.push((
            CredentialProvider::Container,
            SharedCredentialsProvider::new(p),
        ));
    }

    let mut tried = Vec::new();
    for (name, provider) in &chain {
        let end = match ask(*name, provider, setup.timeout, &mut tried).await {
            Turn::Next => continue,
            Turn::Found(creds) => Ok(creds),
            Turn::Stop(error) => Err(error),
        };
        return finish(
            end,
            *name,
            provider.clone(),
            tried,
            setup.profile.as_deref(),
            started,
        );
    }
    if setup.profile.is_none() {
        let name = CredentialProvider::InstanceProfile;
        match instance_profile(setup.imds, &pc).await {
            Ok(provider) => {
                let end = match ask(name, &provider, setup.timeout, &mut tried).await {
                    Turn::Next => None,
                    Turn::Found(creds) => Some(Ok(creds)),
                    Turn::Stop(error) => Some(Err(error)),
                };
                if let Some(end) = end {
                    return finish(
                        end,
                        name,
                        provider,
                        tried,
                        setup.profile.as_deref(),
                        started,
                    );
                }
            }
            Err((outcome, message)) => tried.push(ProviderAttempt {
                provider: name,
                outcome,
                message,
                duration_ms: 0,
            }),
        }
    }
    let names: Vec<&str> = tried.iter().map(|t| t.provider.as_str()).collect();
    let ev = CredentialsEvidence {
        provider: None,
        expires_at: None,
        key_kind: None,
        source: None,
        error: Some(ErrorInfo::new(
            Phase::Credentials,
            ErrorCode::NoCredentials,
            format!("no credentials found (tried: {})", names.join(", ")),
        )),
        tried,
        duration: started.elapsed(),
    };
    (ev, None)
}

/// The instance-profile provider, reading the role the context found (no second listing), or
/// why it is not asked: IMDS disabled or silent (skipped), no role attached (not configured).
async fn instance_profile(
    imds: Result<ImdsCredentials, String>,
    pc: &ProviderConfig,
) -> Result<SharedCredentialsProvider, (ProviderOutcome, String)> {
    let imds = imds.map_err(|why| (ProviderOutcome::Skipped, why))?;
    let lookup = imds.role.await.map_err(|_| {
        (
            ProviderOutcome::Skipped,
            "IMDS gave no session token (see the imds check)".to_string(),
        )
    })?;
    let builder = ImdsCredentialsProvider::builder()
        .configure(pc)
        .imds_client(imds.client);
    let builder = match lookup {
        RoleLookup::Role(role) => builder.profile(role),
        RoleLookup::NoRole => {
            return Err((
                ProviderOutcome::NotConfigured,
                not_loaded_message(CredentialProvider::InstanceProfile),
            ));
        }
        RoleLookup::Unknown => builder,
    };
    Ok(SharedCredentialsProvider::new(builder.build()))
}

/// The evidence of a chain that stopped at `name`, and the provider to sign with.
fn finish(
    turn: Result<aws_credential_types::Credentials, ErrorInfo>,
    name: CredentialProvider,
    provider: SharedCredentialsProvider,
    tried: Vec<ProviderAttempt>,
    profile: Option<&str>,
    started: Instant,
) -> (CredentialsEvidence, Option<SharedCredentialsProvider>) {
    match turn {
        Ok(creds) => {
            let expires_at = creds
                .expiry()
                .and_then(|t| DateTime::from(t).fmt(Format::DateTime).ok());
            let ev = CredentialsEvidence {
                provider: Some(name),
                expires_at,
                key_kind: KeyKind::of(creds.access_key_id()),
                source: source_of(name, profile),
                tried,
                duration: started.elapsed(),
                error: None,
            };
            let fetched = Prefetched {
                creds,
                inner: provider,
            };
            (ev, Some(SharedCredentialsProvider::new(fetched)))
        }
        Err(error) => {
            let ev = CredentialsEvidence {
                provider: None,
                expires_at: None,
                key_kind: None,
                source: None,
                tried,
                duration: started.elapsed(),
                error: Some(error),
            };
            (ev, None)
        }
    }
}

/// The credentials a provider gave, served again while they are fresh (five minutes before their
/// expiry, as the SDK's cache counts); then the provider is asked again.
struct Prefetched {
    creds: aws_credential_types::Credentials,
    inner: SharedCredentialsProvider,
}

impl std::fmt::Debug for Prefetched {
    /// Never the key id (the SDK's own `Credentials` debug shows it; logs must not).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetched")
            .field("expiry", &self.creds.expiry())
            .finish_non_exhaustive()
    }
}

impl ProvideCredentials for Prefetched {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let fresh = self.creds.expiry().is_none_or(|at| {
            at.duration_since(std::time::SystemTime::now())
                .is_ok_and(|left| left > Duration::from_secs(300))
        });
        if fresh {
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(self
                .creds
                .clone()))
        } else {
            self.inner.provide_credentials()
        }
    }
}

/// Where a provider found its credentials, for people: the variable, or the shared files and
/// the profile (never a secret).
fn source_of(provider: CredentialProvider, profile: Option<&str>) -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match provider {
        CredentialProvider::Environment => Some("AWS_ACCESS_KEY_ID in the environment".into()),
        CredentialProvider::Profile => {
            let profile = profile
                .map(str::to_string)
                .or_else(|| var("AWS_PROFILE"))
                .unwrap_or_else(|| "default".into());
            let creds =
                var("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|| "~/.aws/credentials".into());
            let config = var("AWS_CONFIG_FILE").unwrap_or_else(|| "~/.aws/config".into());
            Some(format!("profile {profile} of {creds} (or {config})"))
        }
        _ => None,
    }
}

/// A short, secret-free reason for "not configured", per provider.
fn not_loaded_message(provider: CredentialProvider) -> String {
    match provider {
        CredentialProvider::Environment => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY not set",
        CredentialProvider::Profile => "no credentials in the shared config/credentials files",
        CredentialProvider::WebIdentity => "AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN not set",
        CredentialProvider::Container => "no container credentials endpoint configured",
        CredentialProvider::InstanceProfile => "no IAM role attached to the instance",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    use aws_credential_types::Credentials;
    use aws_credential_types::provider::future;

    use super::*;

    /// A provider that counts how often it is asked.
    #[derive(Debug, Clone, Default)]
    struct Counting(Arc<AtomicUsize>);

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new("AK", "SK", None, None, "t")))
        }
    }

    fn prefetched(expires_in: Option<Duration>) -> (Prefetched, Counting) {
        let inner = Counting::default();
        let creds = Credentials::new(
            "ASIAFETCHED",
            "secret-not-in-debug",
            Some("token".into()),
            expires_in.map(|d| SystemTime::now() + d),
            "t",
        );
        let p = Prefetched {
            creds,
            inner: SharedCredentialsProvider::new(inner.clone()),
        };
        (p, inner)
    }

    #[tokio::test]
    async fn fresh_credentials_are_served_without_asking_again() {
        let (p, inner) = prefetched(Some(Duration::from_secs(6 * 3600)));
        for _ in 0..3 {
            let c = p.provide_credentials().await.unwrap();
            assert_eq!(c.access_key_id(), "ASIAFETCHED");
        }
        let (forever, forever_inner) = prefetched(None);
        forever.provide_credentials().await.unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 0);
        assert_eq!(forever_inner.0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn credentials_about_to_expire_are_fetched_again() {
        let (p, inner) = prefetched(Some(Duration::from_secs(60)));
        let c = p.provide_credentials().await.unwrap();
        assert_eq!(c.access_key_id(), "AK");
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn debug_shows_no_key() {
        let (p, _) = prefetched(None);
        let text = format!("{p:?}");
        assert!(
            !text.contains("ASIAFETCHED") && !text.contains("secret"),
            "{text}"
        );
    }
}
