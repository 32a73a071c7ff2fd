//! The fixture files of a data-driven test: every `*.json` in a folder, sorted, leaving out
//! `_`-prefixed ones (bases that others patch). A missing or empty folder is an error, never
//! "no test": a test that finds nothing must fail.

use std::path::{Path, PathBuf};

/// The fixture files in `dir`, or why there are none.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('_'))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.json fixture in {}", dir.display()));
    }
    Ok(files)
}
