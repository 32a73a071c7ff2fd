//! `vpce-probe explain [CODE]`: what a finding code means, what usually causes it and how to fix
//! it — offline, from the same source as the findings table of docs/diagnosis.md
//! (`FindingCode::spec`). Written to any `W: Write`.

use std::io::{self, Write};

use crate::diagnose::FindingCode;

/// Every code, one line each: the code, its component and what it means.
pub fn list<W: Write>(mut w: W) -> io::Result<()> {
    writeln!(w, "Finding codes (vpce-probe explain CODE for one):")?;
    for c in FindingCode::ALL {
        let s = c.spec();
        writeln!(
            w,
            "  {:<38} {:<19} {}",
            c.as_str(),
            s.component.as_str(),
            first_sentence(s.meaning)
        )?;
    }
    Ok(())
}

/// One code in full.
pub fn explain<W: Write>(code: FindingCode, mut w: W) -> io::Result<()> {
    let s = code.spec();
    let severities: Vec<&str> = s.severities.iter().map(|v| v.as_str()).collect();
    writeln!(w, "{code}")?;
    writeln!(w, "  component: {}", s.component)?;
    writeln!(w, "  severity:  {}", severities.join(" or "))?;
    writeln!(w)?;
    writeln!(w, "When it is reported, and what usually causes it:")?;
    for line in wrap(&plain(s.meaning), 96) {
        writeln!(w, "  {line}")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "The fix (the report fills in the {{placeholders}} from the evidence):"
    )?;
    for line in wrap(&plain(s.hint), 96) {
        writeln!(w, "  {line}")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "Reference: docs/diagnosis.md#findings (the same text), docs/report-schema.md."
    )
}

/// A code from what the user typed (case and `-`/`_` forgiven), or the closest codes.
pub fn lookup(typed: &str) -> Result<FindingCode, Vec<&'static str>> {
    let norm = typed.trim().to_ascii_lowercase().replace('-', "_");
    if let Some(c) = FindingCode::parse(&norm) {
        return Ok(c);
    }
    let mut near: Vec<&'static str> = FindingCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| {
            !norm.is_empty()
                && (c.contains(&norm)
                    || norm
                        .split('_')
                        .filter(|p| p.len() > 2)
                        .any(|p| c.contains(p)))
        })
        .collect();
    // the codes that hold all of what was typed first
    near.sort_by_key(|c| !c.contains(&norm));
    near.truncate(5);
    Err(near)
}

/// Markdown backticks and bold out of doc text.
fn plain(s: &str) -> String {
    s.replace("**", "").replace('`', "")
}

fn first_sentence(s: &str) -> String {
    let p = plain(s);
    let cut = p
        .find(": ")
        .or_else(|| p.find("; "))
        .unwrap_or(p.len())
        .min(70);
    let mut out: String = p.chars().take(cut).collect();
    if out.len() < p.len() {
        out.push('…');
    }
    out
}

/// Greedy word wrap.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_explains_itself() {
        for c in FindingCode::ALL {
            let mut out = Vec::new();
            explain(*c, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.starts_with(c.as_str()), "{text}");
            assert!(text.contains(c.spec().component.as_str()));
            assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        }
        let mut out = Vec::new();
        list(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), FindingCode::ALL.len() + 1);
    }

    #[test]
    fn lookup_forgives_case_and_dashes_and_suggests() {
        assert_eq!(lookup("NO-ROUTE-TO-S3"), Ok(FindingCode::NoRouteToS3));
        assert_eq!(lookup(" kms_denies "), Ok(FindingCode::KmsDenies));
        let near = lookup("route").unwrap_err();
        assert!(near.contains(&"no_route_to_s3"), "{near:?}");
        assert!(lookup("").unwrap_err().is_empty());
    }
}
