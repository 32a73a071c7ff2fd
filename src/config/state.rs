//! The probe's state directory (prefix-list cache, sink spool), resolved from the
//! environment once, when the [`Config`](super::Config) is built.

use std::path::PathBuf;

/// The probe's state directory: `$VPCE_PROBE_STATE_DIR`, systemd's `$STATE_DIRECTORY`, else
/// `$XDG_STATE_HOME/vpce-probe` or `~/.local/state/vpce-probe` (prefix-list cache, sink spool).
pub fn state_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("VPCE_PROBE_STATE_DIR")
        .or_else(|| {
            env("STATE_DIRECTORY").map(|d| {
                // systemd may pass several, colon-separated
                PathBuf::from(d.to_string_lossy().split(':').next().unwrap_or_default())
            })
        })
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("vpce-probe")))
        .or_else(|| env("HOME").map(|h| h.join(".local/state/vpce-probe")))
}
