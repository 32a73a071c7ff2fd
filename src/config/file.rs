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

/// Parse config text; the error starts with the line number, then names the key (as
/// `key`, `table.key` or `target[N].key`) when the error sits on one, all on one line.
pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let at = e.span().map(|s| s.start.min(text.len()));
        let line = at.map(|a| text[..a].matches('\n').count() + 1).unwrap_or(0);
        let message = e.message().trim().replace('\n', " ");
        let already_named = |k: &str| message.contains(&format!("`{k}`"));
        match at.and_then(|a| key_at(text, a)) {
            Some(key) if !already_named(key.rsplit('.').next().unwrap_or(&key)) => {
                format!("{line}: {key}: {message}")
            }
            _ => format!("{line}: {message}"),
        }
    })
}

/// The key whose value sits at byte `at`: the nearest `key =` at or above that line (a value
/// may span lines), prefixed with its table (`[[target]]` tables counted: `target[2].key`).
fn key_at(text: &str, at: usize) -> Option<String> {
    let upto = &text[..text[at..].find('\n').map_or(text.len(), |n| at + n)];
    let lines: Vec<&str> = upto.lines().collect();
    let mut key = None;
    let mut table: Option<String> = None;
    for (i, l) in lines.iter().enumerate().rev() {
        let t = l.trim();
        if t.starts_with('[') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if t.starts_with("[[") {
                let n = lines[..=i]
                    .iter()
                    .filter(|x| {
                        x.trim()
                            .trim_start_matches("[[")
                            .trim_end_matches("]]")
                            .trim()
                            == name
                            && x.trim().starts_with("[[")
                    })
                    .count();
                table = Some(format!("{name}[{n}]"));
            } else {
                table = Some(name);
            }
            break;
        }
        if key.is_none()
            && let Some((k, _)) = t.split_once('=')
        {
            let k = k.trim().trim_matches('"');
            if !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                key = Some(k.to_string());
            }
        }
    }
    let key = key?;
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key,
    })
}
