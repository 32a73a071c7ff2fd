//! Where reports go besides stdout (CloudWatch metrics and logs): `--sink` flags replace the
//! file's `sinks` list; namespace, log group and stream are checked against CloudWatch's rules.

use std::path::PathBuf;

use crate::cli::{CheckArgs, SinkArg};
use crate::evidence::SinkKind;
use crate::report::sink::SinkConfig;

use super::{ConfigError, FileConfig, Origin, SINK_TIMEOUT, err};

/// Merge and validate the sink settings.
pub(super) fn sinks(
    a: &CheckArgs,
    file: &FileConfig,
    o: &Origin,
    state_dir: Option<PathBuf>,
) -> Result<SinkConfig, ConfigError> {
    let sink_kinds = kinds(a, file, o)?;
    let sink_timeout = o.secs(
        "--sink-timeout",
        "sink_timeout",
        &a.sink_timeout,
        file.sink_timeout,
        SINK_TIMEOUT,
    )?;
    let namespace = a
        .namespace
        .clone()
        .or(file.namespace.clone())
        .unwrap_or_else(|| "VpceProbe".into());
    if namespace.is_empty()
        || namespace.len() > 255
        || namespace.starts_with(':')
        || namespace.starts_with("AWS/")
    {
        return err(format!(
            "{}: '{namespace}' is not a usable CloudWatch namespace",
            o.src("--namespace", "namespace")
        ));
    }
    let log_group = a
        .log_group
        .clone()
        .or(file.log_group.clone())
        .unwrap_or_else(|| "/vpce-probe".into());
    if log_group.is_empty()
        || log_group.len() > 512
        || !log_group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c))
    {
        return err(format!(
            "{}: '{log_group}' is not a valid log group name",
            o.src("--log-group", "log_group")
        ));
    }
    let log_stream = a.log_stream.clone().or(file.log_stream.clone());
    if let Some(st) = &log_stream
        && (st.is_empty() || st.len() > 512 || st.contains(':') || st.contains('*'))
    {
        return err(format!(
            "{}: '{st}' is not a valid log stream name",
            o.src("--log-stream", "log_stream")
        ));
    }
    Ok(SinkConfig {
        sinks: sink_kinds,
        namespace,
        log_group,
        log_stream,
        timeout: sink_timeout,
        state_dir,
        instance_dimension: a.instance_dimension || file.instance_dimension.unwrap_or(false),
    })
}

/// The sinks to send to: the flags' list, else the file's.
fn kinds(a: &CheckArgs, file: &FileConfig, o: &Origin) -> Result<Vec<SinkKind>, ConfigError> {
    if !a.sinks.is_empty() {
        return Ok(a
            .sinks
            .iter()
            .map(|k| match k {
                SinkArg::CloudwatchMetrics => SinkKind::CloudwatchMetrics,
                SinkArg::CloudwatchLogs => SinkKind::CloudwatchLogs,
            })
            .collect());
    }
    file.sinks
        .iter()
        .flatten()
        .map(|k| match k.as_str() {
            "cloudwatch-metrics" => Ok(SinkKind::CloudwatchMetrics),
            "cloudwatch-logs" => Ok(SinkKind::CloudwatchLogs),
            other => err(format!(
                "{}: '{other}' is not cloudwatch-metrics or cloudwatch-logs",
                o.in_file("sinks")
            )),
        })
        .collect()
}
