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

/// What the credentials step may use.
pub struct CredentialsSetup {
    pub http: SharedHttpClient,
    /// The probe's resolver (the container provider resolves its endpoint host with it).
    pub resolver: crate::net::ProbeResolver,
    /// `--profile`: use only that profile, as the AWS CLI does.
    pub profile: Option<String>,
    /// A bounded IMDS client, or `None` when IMDS is disabled or known unreachable
    /// (with the reason).
    pub imds: Result<imds::Client, String>,
    /// Per-provider deadline.
    pub timeout: Duration,
}

/// Ask each provider in the default chain's order; the first that answers wins. As in the SDK,
/// "not configured" moves on to the next provider and any other error stops the chain.
pub async fn find(
    setup: CredentialsSetup,
) -> (CredentialsEvidence, Option<SharedCredentialsProvider>) {
    let started = Instant::now();
    let pc = ProviderConfig::default().with_http_client(setup.http.clone());
    let mut chain: Vec<(
        CredentialProvider,
        Option<SharedCredentialsProvider>,
        String,
    )> = Vec::new();
    if let Some(profile) = &setup.profile {
        let p = ProfileFileCredentialsProvider::builder()
            .configure(&pc)
            .profile_name(profile)
            .build();
        chain.push((
            CredentialProvider::Profile,
            Some(SharedCredentialsProvider::new(p)),
            String::new(),
        ));
    } else {
        chain.push((
            CredentialProvider::Environment,
            Some(SharedCredentialsProvider::new(
                EnvironmentVariableCredentialsProvider::new(),
            )),
            String::new(),
        ));
        let p = ProfileFileCredentialsProvider::builder()
            .configure(&pc)
            .build();
        chain.push((
            CredentialProvider::Profile,
            Some(SharedCredentialsProvider::new(p)),
            String::new(),
        ));
        let p = WebIdentityTokenCredentialsProvider::builder()
            .configure(&pc)
            .build();
        chain.push((
            CredentialProvider::WebIdentity,
            Some(SharedCredentialsProvider::new(p)),
            String::new(),
        ));
        let p = EcsCredentialsProvider::builder()
            .configure(&pc)
            .dns(setup.resolver.clone())
            .build();
        chain.push((
            CredentialProvider::Container,
            Some(SharedCredentialsProvider::new(p)),
            String::new(),
        ));
        match &setup.imds {
            Ok(client) => {
                let p = ImdsCredentialsProvider::builder()
                    .configure(&pc)
                    .imds_client(client.clone())
                    .build();
                chain.push((
                    CredentialProvider::InstanceProfile,
                    Some(SharedCredentialsProvider::new(p)),
                    String::new(),
                ));
            }
            Err(why) => chain.push((CredentialProvider::InstanceProfile, None, why.clone())),
        }
    }

    let mut tried = Vec::new();
    for (name, provider, why) in chain {
        let Some(provider) = provider else {
            tried.push(ProviderAttempt {
                provider: name,
                outcome: ProviderOutcome::Skipped,
                message: why,
                duration_ms: 0,
            });
            continue;
        };
        let t0 = Instant::now();
        let result = tokio::time::timeout(setup.timeout, provider.provide_credentials()).await;
        let duration_ms = t0.elapsed().as_millis() as u64;
        match result {
            Ok(Ok(creds)) => {
                tried.push(ProviderAttempt {
                    provider: name,
                    outcome: ProviderOutcome::Found,
                    message: "credentials loaded".into(),
                    duration_ms,
                });
                let expires_at = creds
                    .expiry()
                    .and_then(|t| DateTime::from(t).fmt(Format::DateTime).ok());
                let ev = CredentialsEvidence {
                    provider: Some(name),
                    expires_at,
                    key_kind: KeyKind::of(creds.access_key_id()),
                    source: source_of(name, setup.profile.as_deref()),
                    tried,
                    duration: started.elapsed(),
                    error: None,
                };
                return (ev, Some(provider));
            }
            Ok(Err(CredentialsError::CredentialsNotLoaded(e))) => {
                let _ = e;
                tried.push(ProviderAttempt {
                    provider: name,
                    outcome: ProviderOutcome::NotConfigured,
                    message: not_loaded_message(name),
                    duration_ms,
                });
            }
            Ok(Err(e)) => {
                let message = chain_message(&e);
                tried.push(ProviderAttempt {
                    provider: name,
                    outcome: ProviderOutcome::Error,
                    message: message.clone(),
                    duration_ms,
                });
                let ev = CredentialsEvidence {
                    provider: None,
                    expires_at: None,
                    key_kind: None,
                    source: None,
                    tried,
                    duration: started.elapsed(),
                    error: Some(ErrorInfo::new(
                        Phase::Credentials,
                        ErrorCode::CredentialsError,
                        format!("the {name} credential provider failed: {message}"),
                    )),
                };
                return (ev, None);
            }
            Err(_) => {
                tried.push(ProviderAttempt {
                    provider: name,
                    outcome: ProviderOutcome::Error,
                    message: format!("no answer within {} ms", setup.timeout.as_millis()),
                    duration_ms,
                });
                let ev = CredentialsEvidence {
                    provider: None,
                    expires_at: None,
                    key_kind: None,
                    source: None,
                    tried,
                    duration: started.elapsed(),
                    error: Some(ErrorInfo::new(
                        Phase::Credentials,
                        ErrorCode::CredentialsTimeout,
                        format!(
                            "the {name} credential provider did not answer within {} ms",
                            setup.timeout.as_millis()
                        ),
                    )),
                };
                return (ev, None);
            }
        }
    }
    let names: Vec<&str> = tried.iter().map(|t| t.provider.as_str()).collect();
    let ev = CredentialsEvidence {
        provider: None,
        expires_at: None,
        key_kind: None,
        source: None,
        tried,
        duration: started.elapsed(),
        error: Some(ErrorInfo::new(
            Phase::Credentials,
            ErrorCode::NoCredentials,
            format!("no credentials found (tried: {})", names.join(", ")),
        )),
    };
    (ev, None)
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
