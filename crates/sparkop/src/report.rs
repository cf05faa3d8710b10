//! Rendering findings for people (with source excerpts, secrets masked) and for tools (JSON).

use std::io::Write as _;
use std::ops::Range;

use anstyle::{AnsiColor, Style};
use sparkop_api::manifest::Loaded;
use sparkop_api::manifest::yaml::LineIndex;
use sparkop_api::{Diagnostic, Severity};
use zeroize::Zeroizing;

/// One input file and what was found in it.
pub struct Source {
    /// Name as given on the command line.
    pub name: String,
    /// Its text (wiped on drop: it may hold Secret manifests).
    pub text: Zeroizing<String>,
    /// What loading produced.
    pub loaded: Loaded,
    /// Every finding, located and sorted.
    pub diagnostics: Vec<Diagnostic>,
}

const MASK: &str = "******";

fn style(sev: Severity) -> Style {
    let color = match sev {
        Severity::Error => AnsiColor::Red,
        Severity::Warning => AnsiColor::Yellow,
        Severity::Info => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

/// Counts of findings per severity.
#[derive(serde::Serialize, Default)]
struct Summary {
    errors: usize,
    warnings: usize,
    infos: usize,
}

fn summarize<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Summary {
    let mut s = Summary::default();
    for d in diags {
        match d.severity {
            Severity::Error => s.errors += 1,
            Severity::Warning => s.warnings += 1,
            Severity::Info => s.infos += 1,
        }
    }
    s
}

/// Writes the human report to standard output (colored when it is a terminal).
pub fn human(sources: &[Source]) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    let bold = Style::new().bold();
    let dim = Style::new().fg_color(Some(AnsiColor::Blue.into())).bold();
    for src in sources {
        let lines = LineIndex::new(&src.text);
        for d in &src.diagnostics {
            let s = style(d.severity);
            writeln!(
                out,
                "{s}{}[{}]{s:#}{bold}: {}{bold:#}",
                d.severity, d.rule, d.message
            )?;
            match d.location {
                Some(loc) => {
                    writeln!(
                        out,
                        "  {dim}-->{dim:#} {}:{}:{}",
                        src.name, loc.line, loc.column
                    )?;
                    if let Some((shown, start, width)) =
                        excerpt(src, &lines, loc.line, loc.offset, loc.len)
                    {
                        let gutter = loc.line.to_string().len();
                        let pad = " ".repeat(gutter);
                        writeln!(out, "{pad} {dim}|{dim:#}")?;
                        writeln!(out, "{dim}{}{dim:#} {dim}|{dim:#} {shown}", loc.line)?;
                        writeln!(
                            out,
                            "{pad} {dim}|{dim:#} {}{s}{}{s:#}",
                            " ".repeat(start),
                            "^".repeat(width)
                        )?;
                    }
                }
                None => writeln!(out, "  {dim}-->{dim:#} {}", src.name)?,
            }
            if let Some(h) = &d.hint {
                writeln!(out, "  {dim}={dim:#} {bold}hint:{bold:#} {h}")?;
            }
            writeln!(out)?;
        }
    }
    let total = summarize(sources.iter().flat_map(|s| &s.diagnostics));
    let objects: usize = sources.iter().map(|s| s.loaded.documents.len()).sum();
    let verdict = if total.errors > 0 {
        style(Severity::Error)
    } else {
        Style::new().fg_color(Some(AnsiColor::Green.into())).bold()
    };
    writeln!(
        out,
        "{verdict}{} file(s), {objects} object(s): {} error(s), {} warning(s), {} info{verdict:#}",
        sources.len(),
        total.errors,
        total.warnings,
        total.infos
    )?;
    Ok(())
}

/// The source line with secret values masked, the caret's start column and width.
fn excerpt(
    src: &Source,
    lines: &LineIndex,
    line: usize,
    offset: usize,
    len: usize,
) -> Option<(String, usize, usize)> {
    let text = lines.line_text(&src.text, line);
    if text.is_empty() && offset >= src.text.len() {
        return None;
    }
    let line_start = offset.checked_sub(byte_col(&src.text, offset, text))?;
    let masked = masked_ranges(src, line_start, text);
    let mut shown = String::new();
    let mut col_of = Vec::with_capacity(text.len() + 1);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let abs = line_start + i;
        if let Some(r) = masked.iter().find(|r| r.contains(&abs)) {
            let col = shown.chars().count();
            shown.push_str(MASK);
            col_of.push((abs, col));
            while let Some((j, _)) = chars.peek() {
                if r.contains(&(line_start + j)) {
                    col_of.push((line_start + j, col));
                    chars.next();
                } else {
                    break;
                }
            }
            continue;
        }
        col_of.push((abs, shown.chars().count()));
        shown.push(c);
    }
    let col = |abs: usize| {
        col_of
            .iter()
            .find(|(a, _)| *a >= abs)
            .map_or(shown.chars().count(), |(_, c)| *c)
    };
    let start = col(offset);
    let end_abs = (offset + len.max(1)).min(line_start + text.len());
    let end = if end_abs >= line_start + text.len() {
        shown.chars().count()
    } else {
        col(end_abs)
    };
    Some((shown, start, end.saturating_sub(start).max(1)))
}

/// Byte column of `offset` within its line.
fn byte_col(text: &str, offset: usize, line: &str) -> usize {
    let before = &text[..offset.min(text.len())];
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1);
    col.min(line.len().max(col))
}

fn masked_ranges(src: &Source, line_start: usize, line: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = src.loaded.sensitive.clone();
    if src.loaded.mask_all_values
        && let Some(i) = line.find(": ")
    {
        out.push(line_start + i + 2..line_start + line.len());
    }
    out
}

/// Writes the JSON report to standard output.
pub fn json(sources: &[Source]) -> anyhow::Result<()> {
    let report = serde_json::json!({
        "files": sources.iter().map(|s| serde_json::json!({
            "file": s.name,
            "objects": s.loaded.documents.iter().map(|d| d.object.describe()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "diagnostics": sources.iter().flat_map(|s| &s.diagnostics).collect::<Vec<_>>(),
        "summary": summarize(sources.iter().flat_map(|s| &s.diagnostics)),
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}
