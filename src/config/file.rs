//! The config file: its TOML shape ([`FileConfig`], [`FileTarget`]) and how it is read and
//! parsed, with one-line errors that name the file, the line and the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

/// The config file (TOML), as written; every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub(super) region: Option<String>,
    pub(super) profile: Option<String>,
    pub(super) timeout: Option<f64>,
    pub(super) connect_timeout: Option<f64>,
    pub(super) imds_timeout: Option<f64>,
    pub(super) max_attempts: Option<u32>,
    pub(super) dns_server: Option<String>,
    pub(super) path_style: Option<bool>,
    pub(super) output: Option<String>,
    pub(super) prometheus_textfile: Option<PathBuf>,
    pub(super) concurrency: Option<usize>,
    /// `["cloudwatch-metrics", "cloudwatch-logs"]`.
    pub(super) sinks: Option<Vec<String>>,
    pub(super) namespace: Option<String>,
    pub(super) log_group: Option<String>,
    pub(super) log_stream: Option<String>,
    pub(super) sink_timeout: Option<f64>,
    pub(super) instance_dimension: Option<bool>,
    /// Defaults for every `[[target]]`.
    pub(super) defaults: Option<FileTarget>,
    #[serde(default, rename = "target")]
    pub(super) targets: Vec<FileTarget>,
}

/// One `[[target]]` (or `[defaults]`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTarget {
    pub(super) bucket: Option<String>,
    pub(super) prefix: Option<String>,
    pub(super) read_only: Option<bool>,
    pub(super) key: Option<String>,
    pub(super) expect_path: Option<String>,
    pub(super) expect_access: Option<String>,
}

/// Read and parse a config file; errors name the file, the line and the key.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
    parse_file(&text).map_err(|m| ConfigError(format!("{}:{m}", path.display())))
}

/// Parse config text; the error starts with the line number.
pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        format!("{line}: {}", e.message().trim())
    })
}
