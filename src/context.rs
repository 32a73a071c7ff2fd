//! Who am I? The instance context from IMDSv2 (token first, never v1), bounded per call.
//! Off EC2 — IMDS disabled or unreachable — the evidence says so and the run goes on.
//!
//! One call goes first (it loads the session token, once: concurrent first calls would each
//! retry a failed token load); then every read runs concurrently, a read that needs another's
//! answer (the MAC's network tree) starting as soon as that answer is in. The role name is handed
//! to the credential chain the moment it is known ([`RoleLookup`]), so the role's credentials
//! are read while the rest of the context is still arriving, and the roles are listed once.

use std::time::Instant;

use aws_config::imds;
use aws_config::imds::client::error::ImdsError;

use crate::aws::chain_message;
use crate::aws::credentials::RoleLookup;
use crate::evidence::{
    ContextEvidence, ContextSource, ErrorCode, ErrorInfo, ImdsStep, InstanceContext, Phase,
};

const MD: &str = "/latest/meta-data/";

/// Ask IMDS for the instance context. `client` is `None` when IMDS is disabled. What the role
/// listing says is sent on `role` as soon as it is answered (dropped unsent when IMDS fails).
pub async fn collect(
    client: Option<&imds::Client>,
    endpoint: String,
    role: tokio::sync::oneshot::Sender<RoleLookup>,
) -> ContextEvidence {
    let started = Instant::now();
    let Some(client) = client else {
        return ContextEvidence {
            source: ContextSource::None,
            endpoint,
            disabled: true,
            duration: started.elapsed(),
            instance: None,
            error: None,
            failed_step: None,
            runtime: Default::default(),
        };
    };
    // The first call fetches the session token; its failure means "no IMDS here".
    let instance_id = match client.get(format!("{MD}instance-id")).await {
        Ok(v) => Some(v.as_ref().trim().to_string()),
        Err(e) => {
            // A timeout of the first call is the token's: the GET's attempt includes loading
            // the token, and its timer (started a moment earlier) may fire first, reporting the
            // token's silence as the GET's (an IoError).
            let step = match e {
                ImdsError::FailedToLoadToken(_) => ImdsStep::Token,
                _ if first_call_timed_out(&e) => ImdsStep::Token,
                _ => ImdsStep::Metadata,
            };
            return ContextEvidence {
                source: ContextSource::None,
                endpoint,
                disabled: false,
                duration: started.elapsed(),
                instance: None,
                error: Some(imds_error(&e)),
                failed_step: Some(step),
                runtime: Default::default(),
            };
        }
    };
    let get = |path: String| async move {
        match client.get(path).await {
            Ok(v) => Some(v.as_ref().trim().to_string()).filter(|s| !s.is_empty()),
            Err(_) => None,
        }
    };
    // The roles' listing, published at once for the credential chain.
    let role_name = async {
        let (name, lookup) = match client.get(format!("{MD}iam/security-credentials/")).await {
            Ok(v) => {
                let name = v.as_ref().lines().next().map(str::trim).map(str::to_string);
                let name = name.filter(|n| !n.is_empty());
                let lookup = name.clone().map_or(RoleLookup::NoRole, RoleLookup::Role);
                (name, lookup)
            }
            Err(ImdsError::ErrorResponse(r)) if r.response().status().as_u16() == 404 => {
                (None, RoleLookup::NoRole)
            }
            Err(_) => (None, RoleLookup::Unknown),
        };
        let _ = role.send(lookup);
        name
    };
    // The MAC, then its network tree.
    let network = async {
        let mac = get(format!("{MD}mac")).await;
        let Some(m) = &mac else {
            return (mac, None, None, None, None);
        };
        let base = format!("{MD}network/interfaces/macs/{m}/");
        let (vpc, subnet, cidrs, sgs) = tokio::join!(
            get(format!("{base}vpc-id")),
            get(format!("{base}subnet-id")),
            get(format!("{base}vpc-ipv4-cidr-blocks")),
            get(format!("{base}security-group-ids")),
        );
        (mac, vpc, subnet, cidrs, sgs)
    };
    let (region, az, az_id, (mac, vpc, subnet, cidrs, sgs), local_ipv4, iam_role, doc) = tokio::join!(
        get(format!("{MD}placement/region")),
        get(format!("{MD}placement/availability-zone")),
        get(format!("{MD}placement/availability-zone-id")),
        network,
        get(format!("{MD}local-ipv4")),
        role_name,
        get("/latest/dynamic/instance-identity/document".to_string()),
    );
    let mut ctx = InstanceContext {
        region,
        instance_id,
        availability_zone: az,
        availability_zone_id: az_id,
        local_ipv4,
        iam_role,
        vpc_id: vpc,
        subnet_id: subnet,
        vpc_cidrs: lines(cidrs),
        security_group_ids: lines(sgs),
        ..Default::default()
    };
    if let Some(doc) = doc
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&doc)
    {
        ctx.account_id = v["accountId"].as_str().map(str::to_string);
        if ctx.region.is_none() {
            ctx.region = v["region"].as_str().map(str::to_string);
        }
    }
    ctx.mac = mac;
    ContextEvidence {
        source: ContextSource::Imds,
        endpoint,
        disabled: false,
        duration: started.elapsed(),
        instance: Some(ctx),
        error: None,
        failed_step: None,
        runtime: Default::default(),
    }
}

fn lines(v: Option<String>) -> Vec<String> {
    v.map(|s| {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// An I/O error of an IMDS call that is the SDK's attempt or operation timeout (smithy's
/// `TimeoutError`, known only by its text through the boxed chain; a connect that hangs fails
/// earlier, as a dispatch failure, because the connect timeout is shorter).
fn first_call_timed_out(e: &ImdsError) -> bool {
    matches!(e, ImdsError::IoError(_)) && chain_message(e).contains("request has timed out")
}

/// Label an IMDS failure: no token (unreachable; no answer in time, as behind a too-low hop
/// limit; refused with an HTTP status) or a bad answer. The client's connect timeout is shorter
/// than its operation timeout ([`crate::aws::imds_client`]), so a token timeout means it
/// connected: a connect that hangs is `imds_unreachable`.
fn imds_error(e: &ImdsError) -> ErrorInfo {
    use aws_config::imds::client::error::TokenError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;
    let message = chain_message(e);
    match e {
        ImdsError::FailedToLoadToken(_) => {
            let source = std::error::Error::source(e)
                .and_then(|s| s.downcast_ref::<SdkError<TokenError, HttpResponse>>());
            match source {
                Some(SdkError::TimeoutError(_)) => {
                    ErrorInfo::new(Phase::Request, ErrorCode::ImdsTimeout, message)
                }
                Some(SdkError::DispatchFailure(_)) => {
                    ErrorInfo::new(Phase::Connect, ErrorCode::ImdsUnreachable, message)
                }
                // the SDK's text for a 400 ("... This indicates an SDK bug") misleads
                Some(SdkError::ServiceError(se)) => ErrorInfo {
                    http_status: Some(se.raw().status().as_u16()),
                    ..ErrorInfo::new(
                        Phase::Response,
                        ErrorCode::ImdsTokenFailed,
                        format!(
                            "IMDS answered the token request (PUT /latest/api/token) with HTTP {}",
                            se.raw().status().as_u16()
                        ),
                    )
                },
                _ => ErrorInfo::new(Phase::Response, ErrorCode::ImdsTokenFailed, message),
            }
        }
        ImdsError::ErrorResponse(r) => ErrorInfo {
            phase: Phase::Response,
            code: ErrorCode::ImdsErrorResponse,
            message: format!("IMDS answered HTTP {}", r.response().status().as_u16()),
            http_status: Some(r.response().status().as_u16()),
        },
        // connected (the connect timeout is shorter), then no answer in time
        ImdsError::IoError(_) if first_call_timed_out(e) => {
            ErrorInfo::new(Phase::Request, ErrorCode::ImdsTimeout, message)
        }
        ImdsError::IoError(_) => {
            ErrorInfo::new(Phase::Connect, ErrorCode::ImdsUnreachable, message)
        }
        _ => ErrorInfo::new(Phase::Request, ErrorCode::ImdsError, message),
    }
}
