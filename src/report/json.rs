//! The JSON sink: the report model as pretty JSON, one document per run.

use std::io::{self, Write};

use crate::report::model::Report;

/// Write `report` as JSON followed by a newline: indented for a person (`pretty`), else on
/// one line (pipes, the journal: one report, one journal entry).
pub fn render<W: Write>(report: &Report, mut w: W, pretty: bool) -> io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut w, report)?;
    } else {
        serde_json::to_writer(&mut w, report)?;
    }
    w.write_all(b"\n")
}
