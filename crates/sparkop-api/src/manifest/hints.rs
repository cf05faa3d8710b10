//! Common mistakes behind YAML syntax errors, found line by line so each gets its own located
//! diagnostic with a fix: JSON-style trailing commas, `...` elisions copied from documentation,
//! tabs, and unrendered templates.

use crate::diag::{Diagnostic, Location};

use super::rules;
use super::yaml::LineIndex;

/// Scans `text` for mistakes that explain a syntax error.
pub fn common_mistakes(text: &str, lines: &LineIndex) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut block_scalar_indent: Option<usize> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim();
        if let Some(block) = block_scalar_indent {
            if content.is_empty() || indent > block {
                continue;
            }
            block_scalar_indent = None;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let at = |col_byte: usize| {
            let mut loc: Location = lines.location(text, line_no, line[..col_byte].chars().count());
            loc.len = 1;
            loc
        };
        if line.starts_with('\t') || line[..line.len() - line.trim_start().len()].contains('\t') {
            out.push(
                Diagnostic::error(rules::YAML_SYNTAX, "tab character used for indentation")
                    .with_hint("YAML indentation must use spaces")
                    .located(at(line.find('\t').unwrap_or(0))),
            );
        }
        if content == "..." && indent > 0 {
            out.push(
                Diagnostic::error(rules::YAML_SYNTAX, "`...` placeholder inside a mapping")
                    .with_hint(
                        "this elision is copied from documentation: replace it with the fields \
                         it stands for, or delete the line",
                    )
                    .located(at(indent)),
            );
        }
        if content.contains("{{") && content.contains("}}") {
            out.push(
                Diagnostic::error(rules::YAML_SYNTAX, "unrendered template expression")
                    .with_hint("render the Helm chart or template first, then lint its output")
                    .located(at(line.find("{{").unwrap_or(indent))),
            );
        }
        if let Some(comma) = trailing_comma(line) {
            out.push(
                Diagnostic::error(rules::YAML_SYNTAX, "trailing comma after a value")
                    .with_hint(
                        "YAML block mappings do not separate entries with commas (this is JSON \
                         style): delete the `,` at the end of the line",
                    )
                    .located(at(comma)),
            );
        }
        if (content.ends_with('|')
            || content.ends_with('>')
            || content.ends_with("|-")
            || content.ends_with(">-"))
            && content.contains(": ")
        {
            block_scalar_indent = Some(indent);
        }
    }
    out
}

/// Byte index of a comma that follows a complete quoted value at the end of a `key: "value",`
/// line (outside a flow collection, where such a comma is a syntax error).
fn trailing_comma(line: &str) -> Option<usize> {
    let value_start = key_value_split(line)?;
    let rest = &line[value_start..];
    let trimmed = rest.trim_start();
    let quote = trimmed.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let start = value_start + (rest.len() - trimmed.len());
    let end = closing_quote(&line[start..], quote)? + start + 1;
    let after = &line[end..];
    let after_trim = after.trim_start();
    if let Some(tail) = after_trim.strip_prefix(',') {
        let tail = tail.trim();
        if tail.is_empty() || tail.starts_with('#') {
            return Some(end + (after.len() - after_trim.len()));
        }
    }
    None
}

/// Byte index just after the `: ` that separates a key from its value.
fn key_value_split(line: &str) -> Option<usize> {
    let body = line.trim_start().trim_start_matches("- ");
    let offset = line.len() - body.len();
    if body.starts_with(['{', '[']) {
        return None;
    }
    if let Some(q @ ('"' | '\'')) = body.chars().next() {
        let close = closing_quote(body, q)?;
        let after = &body[close + 1..];
        let colon = after
            .strip_prefix(':')
            .filter(|a| a.starts_with([' ', '\t']))?;
        return Some(offset + close + 1 + (after.len() - colon.len()));
    }
    let idx = body.find(": ")?;
    Some(offset + idx + 1)
}

/// Index of the quote closing a quoted scalar that starts at index 0 of `s`.
fn closing_quote(s: &str, quote: char) -> Option<usize> {
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            c if c == quote => {
                if quote == '\'' && chars.peek().map(|(_, n)| *n) == Some('\'') {
                    chars.next();
                } else {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_trailing_commas_after_quoted_values() {
        assert_eq!(
            trailing_comma(r#"    "spark.ssl.enabled":    "true","#),
            Some(34)
        );
        assert_eq!(trailing_comma(r#"  key: 'it''s',  # comment"#), Some(14));
        assert_eq!(trailing_comma(r#"  key: "a, b""#), None);
        assert_eq!(trailing_comma(r#"  key: [a, b],"#), None);
        assert_eq!(trailing_comma(r#"  - "x","#), None);
        assert_eq!(trailing_comma(r#"  key: plain,"#), None);
    }

    #[test]
    fn reports_each_mistake_with_its_column() {
        let text = "spec:\n  ...\n  a: \"x\",\n\tb: 1\n  c: {{ .Values.x }}\n";
        let d = common_mistakes(text, &LineIndex::new(text));
        let at: Vec<_> = d
            .iter()
            .map(|d| d.location.map(|l| (l.line, l.column)).unwrap_or_default())
            .collect();
        assert_eq!(at, vec![(2, 3), (3, 9), (4, 1), (5, 6)]);
    }

    #[test]
    fn ignores_block_scalars() {
        let text = "a: |\n  \"x\",\n  ...\nb: 1\n";
        assert!(common_mistakes(text, &LineIndex::new(text)).is_empty());
    }
}
