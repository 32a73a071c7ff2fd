//! The JSON sink: the report model as pretty JSON, one document per run.

use std::io::{self, Write};

use crate::report::model::Report;

/// Write `report` as JSON followed by a newline.
pub fn render<W: Write>(report: &Report, mut w: W) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, report)?;
    w.write_all(b"\n")
}
