//! The collectors, in order: instance context (IMDSv2), region, credentials, then the S3 probes
//! of every bucket (concurrently). Only this layer does I/O; it returns [`Evidence`].

pub mod dns;
pub mod ip_ranges;
pub mod network;
pub mod prefix_list;
pub mod runtime;
pub mod s3;
pub mod s3_plan;
pub mod stale;
pub mod unsigned;

use std::time::{Duration, Instant, SystemTime};

use aws_config::meta::region::ProvideRegion;
use aws_config::profile::ProfileFileRegionProvider;
use aws_smithy_types::date_time::{DateTime, Format};

use crate::aws::{self, SdkSettings, credentials};
use crate::config::{
    Config, ConfigError, DEFAULT_PREFIX, DISCOVER_MAX, TargetConfig, validate_region,
};
use crate::context;
use crate::deadline::Deadline;
use crate::evidence::{
    BucketListing, ContextEvidence, ContextSource, CredentialsEvidence, ErrorCode, ErrorInfo,
    Evidence, ImdsStep, OpEvidence, Phase, RegionSource, ResolverEvidence, ResolverSource,
    RunRequests, S3Op, SkipReason, TargetEvidence,
};
use crate::net::{self, ProbeResolver};
use crate::signal::{Stop, StopSignal};

/// What the probe writes: small, recognisable, different per run.
fn probe_body(run_id: &str, key: &str) -> Vec<u8> {
    format!(
        "vpce-probe {} probe object\nrun: {run_id}\nkey: {key}\nThis object is deleted by the run that wrote it.\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// A run id: `VPCE_PROBE_RUN_ID`, else `<UTC timestamp>-<random>`.
fn run_id(cfg: &Config, now: SystemTime) -> String {
    if let Some(id) = &cfg.run_id {
        return id.clone();
    }
    let ts = DateTime::from(now)
        .fmt(Format::DateTime)
        .unwrap_or_default()
        .replace(['-', ':'], "");
    let ts = ts.split('.').next().unwrap_or("").trim_end_matches('Z');
    format!("{ts}Z-{:08x}", fastrand::u32(..))
}

/// This host's name for probe keys: the instance id, else the kernel's hostname.
fn host_component(ctx: &ContextEvidence) -> String {
    if let Some(id) = ctx.instance.as_ref().and_then(|i| i.instance_id.clone()) {
        return id;
    }
    // /proc may be hidden (systemd ProcSubset=pid): /etc/hostname is the fallback.
    let raw = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find(|h| !h.trim().is_empty())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    if clean.is_empty() {
        "unknown-host".into()
    } else {
        clean
    }
}

/// Region precedence, as the AWS SDKs: flag, environment, profile, then IMDS.
async fn resolve_region(
    cfg: &Config,
    ctx: &ContextEvidence,
) -> Result<(String, RegionSource), ConfigError> {
    if let Some(r) = &cfg.region {
        let source = if cfg.region_from_file {
            RegionSource::Config
        } else {
            RegionSource::Flag
        };
        return Ok((r.clone(), source));
    }
    // AWS_REGION / AWS_DEFAULT_REGION, read and validated in Config.
    if let Some((r, source)) = &cfg.env_region {
        return Ok((r.clone(), *source));
    }
    let mut p = ProfileFileRegionProvider::builder();
    if let Some(name) = &cfg.profile {
        p = p.profile_name(name);
    }
    if let Some(r) = p.build().region().await {
        let r = r.to_string();
        validate_region(&r).map_err(|e| ConfigError(format!("profile region: {e}")))?;
        return Ok((r, RegionSource::Profile));
    }
    if let Some(r) = ctx.instance.as_ref().and_then(|i| i.region.clone()) {
        return Ok((r, RegionSource::Imds));
    }
    // IMDS is there (it accepted the connection) but its token answer vanished, as behind a
    // too-low hop limit: a fault of the environment, not of the command line. The run goes on
    // without a region and reports it; no bucket is probed.
    if ctx.token_timed_out() {
        return Ok((String::new(), RegionSource::None));
    }
    let why = if ctx.disabled {
        "IMDS is disabled (AWS_EC2_METADATA_DISABLED)".to_string()
    } else {
        match &ctx.error {
            // something answered at the IMDS address, and refused the token
            Some(e) if e.http_status.is_some() => format!(
                "the instance metadata service refused the session token ({}: {})",
                e.code, e.message
            ),
            Some(e) => format!(
                "not on EC2: the instance metadata service did not answer ({}: {})",
                e.code, e.message
            ),
            None => "not on EC2: the instance metadata service did not answer".to_string(),
        }
    };
    Err(ConfigError(format!(
        "no region: {why}; pass --region or set AWS_REGION"
    )))
}

/// The evidence of a run, and what the sinks need to send it on.
pub struct RunOutput {
    pub evidence: Evidence,
    /// The SDK configuration the probes used (credentials, region, HTTP client).
    pub sdk: aws_config::SdkConfig,
    /// The instance id, else the host name (default CloudWatch Logs stream).
    pub host: String,
    /// The connector of the probe's own API clients (EC2, the CloudWatch sinks): the run's
    /// resolver, TLS trust, proxy and connect timeout.
    pub api_connector: aws_smithy_runtime_api::client::http::SharedHttpConnector,
}

/// The error of a collection step a stop signal cut short.
fn interrupted_error(signal: StopSignal, what: &str) -> ErrorInfo {
    ErrorInfo::new(
        Phase::Request,
        ErrorCode::Interrupted,
        format!("interrupted by {signal} before {what}"),
    )
}

/// Run every collector and return the evidence. A `ConfigError` means the run could not
/// start (no region, and IMDS not there at all); every other failure is evidence.
///
/// A stop signal (`stop`) ends the run early: the step under way is dropped (each bucket's
/// probe first deletes what it wrote: see [`s3::probe_with`]), later steps are skipped, and the
/// evidence says which signal came (`interrupted`).
pub async fn run(cfg: &Config, stop: &Stop) -> Result<RunOutput, ConfigError> {
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let deadline = Deadline::after(cfg.timeout);
    let resolver = ProbeResolver::new(cfg.dns_server, cfg.connect_timeout);
    let proxy = net::ProxyEnv::from_env();
    let http = net::http_client(resolver.clone(), cfg.ca_bundle.as_deref(), &proxy)
        .map_err(|e| ConfigError(format!("AWS_CA_BUNDLE or proxy: {e}")))?;
    let raw = std::sync::Arc::new(
        net::connector(&resolver, cfg.ca_bundle.as_deref(), &proxy)
            .map_err(|e| ConfigError(format!("AWS_CA_BUNDLE or proxy: {e}")))?,
    );
    let ec2_connector = aws_smithy_runtime_api::client::http::SharedHttpConnector::new(
        net::api_connector(
            &resolver,
            cfg.ca_bundle.as_deref(),
            &proxy,
            Some(cfg.connect_timeout),
        )
        .map_err(|e| ConfigError(format!("AWS_CA_BUNDLE or proxy: {e}")))?,
    );

    // 1. Who am I?
    let imds_disabled = aws::imds_disabled();
    let imds_timeout = deadline
        .cap(cfg.imds_timeout)
        .unwrap_or(Duration::from_millis(1));
    let imds = (!imds_disabled).then(|| aws::imds_client(http.clone(), imds_timeout));
    let endpoint = aws::imds_endpoint();
    let ctx_budget = deadline
        .cap(imds_timeout * 3)
        .unwrap_or(Duration::from_millis(1));
    let ctx_started = Instant::now();
    // 1 and 3 at once: the credential chain runs while the context arrives, and reads the
    // instance role's credentials as soon as the context has listed the role.
    let (role_tx, role_rx) = tokio::sync::oneshot::channel();
    let imds_for_creds = match &imds {
        None => Err("IMDS disabled (AWS_EC2_METADATA_DISABLED)".to_string()),
        Some(c) => Ok(credentials::ImdsCredentials {
            client: c.clone(),
            role: role_rx,
        }),
    };
    let creds_timeout = deadline
        .cap(cfg.imds_timeout.max(Duration::from_secs(2)))
        .unwrap_or(Duration::from_millis(1));
    // each logs its own requests (with their phase timings), though they run on one task
    let imds_log = net::timing::RequestLog::default();
    let creds_log = net::timing::RequestLog::default();
    let context_task = async {
        match tokio::time::timeout(
            ctx_budget,
            net::timing::capture_into(
                imds_log.clone(),
                context::collect(imds.as_ref(), endpoint.clone(), role_tx),
            ),
        )
        .await
        {
            Ok(c) => c,
            Err(_) => ContextEvidence {
                source: ContextSource::None,
                endpoint: endpoint.clone(),
                disabled: false,
                duration: ctx_budget,
                instance: None,
                error: Some(ErrorInfo::new(
                    Phase::Request,
                    ErrorCode::ImdsTimeout,
                    format!("IMDS did not answer within {} ms", ctx_budget.as_millis()),
                )),
                failed_step: Some(ImdsStep::Metadata),
                runtime: Default::default(),
            },
        }
    };
    let creds_task = net::timing::capture_into(
        creds_log.clone(),
        credentials::find(credentials::CredentialsSetup {
            http: http.clone(),
            resolver: resolver.clone(),
            profile: cfg.profile.clone(),
            imds: imds_for_creds,
            timeout: creds_timeout,
        }),
    );
    let (mut context, (credentials, provider)) = match stop
        .unless(async { tokio::join!(context_task, creds_task) })
        .await
    {
        Ok(both) => both,
        Err(signal) => (
            ContextEvidence {
                source: ContextSource::None,
                endpoint: endpoint.clone(),
                disabled: imds_disabled,
                duration: ctx_started.elapsed(),
                instance: None,
                error: Some(interrupted_error(signal, "IMDS answered")),
                failed_step: None,
                runtime: Default::default(),
            },
            (
                CredentialsEvidence {
                    provider: None,
                    expires_at: None,
                    key_kind: None,
                    source: None,
                    tried: vec![],
                    duration: ctx_started.elapsed(),
                    error: Some(interrupted_error(signal, "credentials were found")),
                },
                None,
            ),
        ),
    };
    context.runtime = runtime::collect();

    // 2. Which region?
    let (region, region_source) = match resolve_region(cfg, &context).await {
        Err(_) if stop.received().is_some() => (String::new(), RegionSource::None),
        r => r?,
    };

    // 4. The S3 probes, one task per bucket.
    let id = run_id(cfg, started_at);
    let host = host_component(&context);
    let settings = SdkSettings {
        region: region.clone(),
        profile: cfg.profile.clone(),
        connect_timeout: cfg.connect_timeout,
        max_attempts: cfg.max_attempts,
    };
    let have_creds = provider.is_some();
    let no_region = region_source == RegionSource::None;
    let sdk = aws::sdk_config(http, &settings, provider).await;

    // 5. The network as the EC2 API describes it, concurrently with the S3 probes.
    let vpc_subnet = context.instance.as_ref().and_then(|i| {
        Some((
            i.vpc_id.clone()?,
            i.subnet_id.clone()?,
            i.security_group_ids.clone(),
        ))
    });
    let network_task = match (have_creds, vpc_subnet) {
        (true, Some((vpc, subnet, sgs))) => {
            // the VPC lives in the instance's region, whatever region the requests are for
            let region = context
                .instance
                .as_ref()
                .and_then(|i| i.region.clone())
                .unwrap_or_else(|| region.clone());
            let sdk = sdk
                .to_builder()
                .region(aws_config::Region::new(region.clone()))
                .build();
            let fallbacks = network::Fallbacks {
                ec2_connector: ec2_connector.clone(),
                cache: prefix_list::Cache::new(cfg.state_dir.clone()),
                resolver: resolver.clone(),
                ca_bundle: cfg.ca_bundle.clone(),
                proxy: proxy.clone(),
                ip_ranges_url: ip_ranges::url(),
            };
            let stop = stop.clone();
            Some(tokio::spawn(net::timing::capture(async move {
                let collect =
                    network::collect(&sdk, &region, &vpc, &subnet, &sgs, deadline, fallbacks);
                stop.unless(collect).await.ok()
            })))
        }
        _ => None,
    };

    // A first run without a named bucket, like `aws s3 ls`: the buckets of the instance's
    // region, probed read-only (nothing is written to a bucket the user did not name).
    let mut listing = None;
    let discovered: Vec<TargetConfig>;
    let target_list = if cfg.discover() && have_creds && !no_region && stop.received().is_none() {
        let home = context
            .instance
            .as_ref()
            .and_then(|i| i.region.clone())
            .unwrap_or_else(|| region.clone());
        let s3 = aws::s3::SdkS3::new(&sdk, &home, cfg.path_style);
        let budget = deadline.cap(Duration::from_secs(5));
        // a stop during the listing: no listing, nothing to probe (the run says it stopped)
        let listed = stop
            .unless(s3.list_buckets(&home, DISCOVER_MAX, budget))
            .await;
        let (op, names) = listed.unwrap_or_else(|_| {
            let op = OpEvidence::skipped(S3Op::ListBuckets, SkipReason::NothingWritten);
            (op, None)
        });
        let mut buckets = names.unwrap_or_default();
        let more = buckets.len() > DISCOVER_MAX;
        buckets.truncate(DISCOVER_MAX);
        discovered = buckets
            .iter()
            .map(|b| TargetConfig {
                bucket: b.clone(),
                prefix: DEFAULT_PREFIX.into(),
                read_only: true,
                key: None,
                expect: Default::default(),
            })
            .collect();
        listing = (stop.received().is_none()).then_some(BucketListing {
            op,
            region: home,
            buckets,
            more,
        });
        &discovered
    } else {
        &cfg.targets
    };

    let mut tasks = tokio::task::JoinSet::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1)));
    for (i, target) in target_list.iter().enumerate() {
        let probe_key = format!("{}{host}/{id}", target.prefix);
        let spec = s3::TargetSpec {
            bucket: target.bucket.clone(),
            region: region.clone(),
            prefix: target.prefix.clone(),
            body: probe_body(&id, &probe_key),
            probe_key,
            user_key: target.key.clone(),
            read_only: target.read_only,
        };
        let sdk = sdk.clone();
        let path_style = cfg.path_style;
        let resolver = resolver.clone();
        let slots = slots.clone();
        let url = s3_plan::unsigned_url(
            &spec.bucket,
            &spec.region,
            path_style,
            dns::s3_endpoint_override().as_deref(),
        );
        let via_proxy = proxy.proxy_for(&url);
        let raw = raw.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            // bounded concurrency; the deadline still bounds the wait
            let _slot = slots.acquire_owned().await;
            let mut ev = if let Some(signal) = stop.received() {
                s3::skipped_target(spec, SkipReason::Interrupted { signal })
            } else if no_region {
                s3::skipped_target(spec, SkipReason::NoRegion)
            } else if have_creds {
                s3::probe_target(&sdk, path_style, spec, deadline, &resolver, &stop).await
            } else {
                let dns = stop
                    .unless(s3::dns_evidence(&spec, path_style, &deadline, &resolver))
                    .await
                    .ok();
                let mut ev = s3::skipped_target(spec, SkipReason::NoCredentials);
                ev.dns = dns;
                ev
            };
            if !no_region
                && stop.received().is_none()
                && s3_plan::wants_unsigned(have_creds, &ev.ops)
            {
                let head = unsigned::head(&raw, &url, deadline.remaining());
                ev.unsigned = stop.unless(head).await.ok();
            }
            ev.via_proxy = via_proxy;
            (i, ev)
        });
    }
    let mut targets: Vec<Option<TargetEvidence>> = vec![None; target_list.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, ev)) => targets[i] = Some(ev),
            Err(e) => tracing::error!("a probe task failed: {e}"),
        }
    }

    let (network, network_requests) = match network_task {
        Some(t) => match t.await {
            Ok((n, r)) => (n, r),
            Err(_) => (None, vec![]),
        },
        None => (None, vec![]),
    };

    let evidence = Evidence {
        network,
        run_id: id,
        started_at,
        duration: t0.elapsed(),
        region,
        region_source,
        context,
        credentials,
        targets: targets.into_iter().flatten().collect(),
        listing,
        dns: resolver.answers(),
        proxy: proxy.evidence(),
        resolver: Some(ResolverEvidence {
            servers: resolver.servers(),
            source: if cfg.dns_server.is_some() {
                ResolverSource::Flag
            } else {
                ResolverSource::ResolvConf
            },
            error: resolver.config_error(),
        }),
        interrupted: stop.received(),
        ca_bundle_certificates: cfg.ca_bundle.as_deref().map(|pem| {
            String::from_utf8_lossy(pem)
                .matches("-----BEGIN CERTIFICATE-----")
                .count()
        }),
        requests: RunRequests {
            imds: imds_log.requests(),
            credentials: creds_log.requests(),
            network: network_requests,
        },
    };
    Ok(RunOutput {
        evidence,
        sdk,
        host,
        api_connector: ec2_connector,
    })
}
