//! The buckets to probe: `--bucket` flags, else the file's `[[target]]`s; per field, the flag
//! wins over the target, which wins over `[defaults]`.

use crate::cli::{CheckArgs, ExpectAccess, ExpectPath};
use crate::diagnose::path::Verdict;
use crate::diagnose::{Access, Expectations};

use super::{
    ConfigError, FileConfig, FileTarget, Origin, TargetConfig, err, normalize_prefix,
    validate_bucket_name, validate_key,
};

/// Merge and validate the targets, in order, without duplicate buckets.
pub(super) fn targets(
    a: &CheckArgs,
    file: &FileConfig,
    o: &Origin,
) -> Result<Vec<TargetConfig>, ConfigError> {
    let defaults = file.defaults.clone().unwrap_or_default();
    if defaults.bucket.is_some() {
        return err(format!(
            "{}: [defaults] cannot name a bucket: use [[target]]",
            o.in_file("defaults")
        ));
    }
    let from_flags = !a.buckets.is_empty();
    let listed = listed(a, file, o)?;
    let mut targets: Vec<TargetConfig> = Vec::new();
    for (i, (bucket, t)) in listed.into_iter().enumerate() {
        let at = if from_flags {
            String::new()
        } else {
            format!("{}: ", o.in_file(&format!("target[{}]", i + 1)))
        };
        validate_bucket_name(&bucket).map_err(|e| ConfigError(format!("{at}{e}")))?;
        if targets.iter().any(|x| x.bucket == bucket) {
            continue;
        }
        targets.push(target(a, bucket, &t, &defaults, &at)?);
    }
    Ok(targets)
}

/// The buckets as listed (flags, else the file), each with its `[[target]]` settings.
fn listed(
    a: &CheckArgs,
    file: &FileConfig,
    o: &Origin,
) -> Result<Vec<(String, FileTarget)>, ConfigError> {
    let listed: Vec<(String, FileTarget)> = if !a.buckets.is_empty() {
        a.buckets
            .iter()
            .map(|b| (b.clone(), FileTarget::default()))
            .collect()
    } else {
        file.targets
            .iter()
            .enumerate()
            .map(|(i, t)| match &t.bucket {
                Some(b) => Ok((b.clone(), t.clone())),
                None => err(format!(
                    "{}: bucket is missing",
                    o.in_file(&format!("target[{}]", i + 1))
                )),
            })
            .collect::<Result<_, _>>()?
    };
    // No --bucket and no config file: the first run, like `aws s3 ls` — the probe discovers
    // the buckets the credentials can list (Config::discover). A config file without targets
    // is a mistake, said as such.
    if listed.is_empty()
        && let Some(p) = o.file
    {
        return err(format!(
            "no bucket to probe: pass --bucket or add a [[target]] to {}",
            p.display()
        ));
    }
    Ok(listed)
}

/// One target; `at` prefixes its error messages ("FILE: target[N]: ", or nothing for flags).
fn target(
    a: &CheckArgs,
    bucket: String,
    t: &FileTarget,
    defaults: &FileTarget,
    at: &str,
) -> Result<TargetConfig, ConfigError> {
    let prefix = a
        .prefix
        .clone()
        .or(t.prefix.clone())
        .or(defaults.prefix.clone())
        .unwrap_or_else(|| super::DEFAULT_PREFIX.into());
    let prefix = normalize_prefix(&prefix).map_err(|e| ConfigError(format!("{at}{e}")))?;
    let key = a.key.clone().or(t.key.clone()).or(defaults.key.clone());
    if let Some(k) = &key {
        validate_key(k).map_err(|e| ConfigError(format!("{at}{e}")))?;
    }
    let read_only = a.read_only || t.read_only.or(defaults.read_only).unwrap_or(false);
    let path = match a.expect_path {
        Some(p) => Some(flag_path(p)),
        None => match t.expect_path.as_ref().or(defaults.expect_path.as_ref()) {
            Some(s) => Some(expect_path(s, at)?),
            None => None,
        },
    };
    let access = match a.expect_access {
        Some(ExpectAccess::Allow) => Some(Access::Allow),
        Some(ExpectAccess::Deny) => Some(Access::Deny),
        None => match t.expect_access.as_ref().or(defaults.expect_access.as_ref()) {
            Some(s) => Some(expect_access(s, at)?),
            None => None,
        },
    };
    Ok(TargetConfig {
        bucket,
        prefix,
        read_only,
        key,
        expect: Expectations { path, access },
    })
}

fn expect_path(s: &str, at: &str) -> Result<Verdict, ConfigError> {
    Ok(match s {
        "gateway_endpoint" => Verdict::GatewayEndpoint,
        "interface_endpoint" => Verdict::InterfaceEndpoint,
        "internet_gateway" => Verdict::InternetGateway,
        "nat_gateway" => Verdict::NatGateway,
        "other" => Verdict::Other,
        "no_route" => Verdict::NoRoute,
        _ => {
            return err(format!(
                "{at}expect_path: '{}' is not one of gateway_endpoint, interface_endpoint, internet_gateway, nat_gateway, other, no_route",
                super::validate::shown(s)
            ));
        }
    })
}

fn expect_access(s: &str, at: &str) -> Result<Access, ConfigError> {
    match s {
        "allow" => Ok(Access::Allow),
        "deny" => Ok(Access::Deny),
        _ => err(format!(
            "{at}expect_access: '{}' is not allow or deny",
            super::validate::shown(s)
        )),
    }
}

fn flag_path(p: ExpectPath) -> Verdict {
    match p {
        ExpectPath::GatewayEndpoint => Verdict::GatewayEndpoint,
        ExpectPath::InterfaceEndpoint => Verdict::InterfaceEndpoint,
        ExpectPath::InternetGateway => Verdict::InternetGateway,
        ExpectPath::NatGateway => Verdict::NatGateway,
        ExpectPath::Other => Verdict::Other,
        ExpectPath::NoRoute => Verdict::NoRoute,
    }
}
