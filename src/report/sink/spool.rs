//! The spool: payloads a sink could not deliver, kept under the state directory and re-sent by
//! the next run, so a CloudWatch outage loses no report. Bounded: beyond `MAX_FILES` per sink the
//! oldest are dropped (and the run says so).

use std::path::PathBuf;

/// At most this many undelivered payloads per sink.
pub const MAX_FILES: usize = crate::evidence::SPOOL_MAX_FILES;

/// A spool directory for one sink.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: Option<PathBuf>,
}

impl Spool {
    /// `<state dir>/spool/<sink>`; `state` is the probe's state directory (see
    /// `Config::state_dir`), `None` when there is none (nothing can be spooled).
    pub fn new(state: Option<PathBuf>, sink: &str) -> Self {
        Self {
            dir: state.map(|s| s.join("spool").join(sink)),
        }
    }

    /// The spool directory, for messages (`(none)` without a state directory).
    pub fn location(&self) -> String {
        match &self.dir {
            Some(d) => d.display().to_string(),
            None => "(no state directory)".into(),
        }
    }

    /// Keep `payload` for the next run, under `name` (unique per run). Returns how many older
    /// payloads were dropped to stay within the bound.
    pub fn put(&self, name: &str, payload: &str) -> std::io::Result<usize> {
        let Some(dir) = &self.dir else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no state directory to spool into",
            ));
        };
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        // a full disk must not leave a partial file behind
        if let Err(e) = std::fs::write(&tmp, payload)
            .and_then(|_| std::fs::rename(&tmp, dir.join(format!("{name}.json"))))
        {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        let mut files = self.pending();
        let mut dropped = 0;
        while files.len() > MAX_FILES {
            let oldest = files.remove(0);
            if std::fs::remove_file(&oldest).is_ok() {
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    /// Spooled payloads, oldest first (names sort by run id, which starts with a timestamp).
    pub fn pending(&self) -> Vec<PathBuf> {
        let Some(dir) = &self.dir else { return vec![] };
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::new(Some(dir.path().to_path_buf()), "cloudwatch_logs");
        assert!(s.pending().is_empty());
        for i in 0..MAX_FILES + 3 {
            let dropped = s.put(&format!("run-{i:03}"), "{}").unwrap();
            assert_eq!(dropped, usize::from(i >= MAX_FILES));
        }
        let p = s.pending();
        assert_eq!(p.len(), MAX_FILES);
        assert!(p[0].ends_with("run-003.json"), "{:?}", p[0]);
        assert!(Spool::new(None, "x").put("a", "{}").is_err());
    }
}
