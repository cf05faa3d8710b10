//! YAML text to a tree of nodes that remember where they came from.
//!
//! Built iteratively from parser events (no recursion, so deep nesting cannot overflow the
//! stack), with limits on depth and on alias expansion, and with duplicate keys reported the way
//! `kubectl` rejects them. Scalar text is wiped from memory when the tree is dropped, since
//! Secret manifests carry secret values.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span as PSpan};
use serde_json::{Map, Number, Value};
use zeroize::Zeroizing;

use crate::diag::{FieldPath, Location, Segment};

/// Deepest nesting accepted; real Kubernetes objects stay far below it.
pub const MAX_DEPTH: usize = 100;
/// Most nodes one file may expand to (guards against alias bombs).
pub const MAX_NODES: usize = 2_000_000;

/// A byte range with its line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Where the node starts.
    pub start: Location,
    /// Byte offset just past the node.
    pub end: usize,
}

/// How a scalar was written; quoted scalars are always strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unquoted: typed by the YAML resolver (`true`, `1`, `null`, …).
    Plain,
    /// Quoted or a block scalar: always a string.
    Quoted,
}

/// A YAML node.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A scalar with its text.
    Scalar(Zeroizing<String>, Style, Option<String>),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order; keys are scalars.
    Map(Vec<(Node, Node)>),
}

/// A YAML node with its source span.
#[derive(Clone, Debug)]
pub struct Node {
    /// The content.
    pub kind: NodeKind,
    /// Where it is.
    pub span: Span,
}

/// A YAML problem found while building the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// What went wrong.
    pub message: String,
    /// Where.
    pub location: Location,
    /// How to fix it.
    pub hint: Option<String>,
}

/// The documents of one text: those read before any error, and the error if one stopped it.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Documents, with their 0-based index in the stream; empty documents are skipped.
    pub documents: Vec<(usize, Node)>,
    /// The error that ended parsing, if any.
    pub error: Option<YamlError>,
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s, ..) => Some(s.as_str()),
            _ => None,
        }
    }

    /// Whether this is a null scalar (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s, Style::Plain, tag)
            if tag.is_none() && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The value of a mapping key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node of a mapping key.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a path as far as it goes; returns the deepest node reached, whether the whole
    /// path was found, and the key node of that deepest node when it is a mapping value.
    pub fn walk(&self, path: &FieldPath) -> (&Node, bool, Option<&Node>) {
        let mut node = self;
        let mut key_node = None;
        for seg in &path.0 {
            let next = match (seg, &node.kind) {
                (Segment::Key(k), NodeKind::Map(_)) => node.entry(k).map(|(kn, v)| (Some(kn), v)),
                (Segment::Index(i), NodeKind::Seq(items)) => items.get(*i).map(|v| (None, v)),
                _ => None,
            };
            match next {
                Some((kn, v)) => {
                    key_node = kn;
                    node = v;
                }
                None => return (node, false, key_node),
            }
        }
        (node, true, key_node)
    }

    fn size(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(..) => 1,
            NodeKind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            NodeKind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }

    /// Converts to JSON the way `kubectl` does (YAML 1.1 booleans, core-schema numbers).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(s, style, tag) => resolve_scalar(s, *style, tag.as_deref()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.as_str().unwrap_or_default().to_owned(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// The JSON value of a scalar: quoted scalars are strings; plain ones are typed like kubectl.
pub fn resolve_scalar(text: &str, style: Style, tag: Option<&str>) -> Value {
    if style == Style::Quoted || tag == Some("str") {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Value::Number(n);
    }
    if looks_like_float(text)
        && let Ok(f) = text.replace('_', "").parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn parse_int(text: &str) -> Option<Number> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude).ok()?;
        Some(Number::from(-v))
    } else {
        Some(Number::from(magnitude))
    }
}

fn looks_like_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next();
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = digits_ok(int)
        && frac.is_none_or(digits_ok)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits_ok(e)
    });
    mantissa_ok && exp_ok && (frac.is_some() || exp.is_some())
}

/// Byte offsets of line starts, to turn parser positions into [`Location`]s.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// The location of a 1-based line and 0-based character column.
    pub fn location(&self, text: &str, line: usize, col: usize) -> Location {
        let line = line.clamp(1, self.starts.len());
        let start = self.starts[line - 1];
        let line_text = text[start..].split('\n').next().unwrap_or_default();
        let offset = start
            + line_text
                .char_indices()
                .nth(col)
                .map_or(line_text.len(), |(i, _)| i);
        Location {
            line,
            column: col + 1,
            offset,
            len: 0,
        }
    }

    /// The location of a byte offset.
    pub fn location_of_offset(&self, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        Location {
            line,
            column,
            offset,
            len: 0,
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text<'t>(&self, text: &'t str, line: usize) -> &'t str {
        self.starts
            .get(line.wrapping_sub(1))
            .and_then(|&s| text.get(s..))
            .and_then(|rest| rest.split('\n').next())
            .map_or("", |l| l.strip_suffix('\r').unwrap_or(l))
    }
}

enum Frame {
    Seq(Vec<Node>, Location, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Location, usize),
}

struct Builder<'t> {
    text: &'t str,
    lines: &'t LineIndex,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

impl Builder<'_> {
    fn loc(&self, span: &PSpan) -> Span {
        let start = self.marker_loc(&span.start);
        let end = self.marker_loc(&span.end).offset.max(start.offset);
        Span {
            start: Location {
                len: end - start.offset,
                ..start
            },
            end,
        }
    }

    fn marker_loc(&self, m: &granit_parser::Marker) -> Location {
        match m.byte_offset() {
            Some(b) if b <= self.text.len() => self.lines.location_of_offset(self.text, b),
            _ => self.lines.location(self.text, m.line(), m.col()),
        }
    }

    fn err(&self, message: impl Into<String>, location: Location) -> YamlError {
        YamlError {
            message: message.into(),
            location,
            hint: None,
        }
    }

    /// Adds a finished node to the innermost collection; returns it when it is a document root.
    fn push(&mut self, node: Node, anchor: usize) -> Result<Option<Node>, YamlError> {
        self.nodes += node.size();
        if self.nodes > MAX_NODES {
            return Err(self.err(
                format!("the document expands to more than {MAX_NODES} nodes (alias bomb?)"),
                node.span.start,
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => Ok(Some(node)),
            Some(Frame::Seq(items, ..)) => {
                items.push(node);
                Ok(None)
            }
            Some(Frame::Map(entries, pending, ..)) => match pending.take() {
                None => {
                    if !matches!(node.kind, NodeKind::Scalar(..)) {
                        return Err(YamlError {
                            message: "a mapping key must be a plain value, not a list or mapping"
                                .into(),
                            location: node.span.start,
                            hint: Some("Kubernetes objects only use string keys".into()),
                        });
                    }
                    let key = node.as_str().unwrap_or_default();
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.as_str() == Some(key))
                    {
                        let first_line = first.span.start.line;
                        return Err(YamlError {
                            message: format!(
                                "duplicate key {key:?} (first defined on line {first_line})"
                            ),
                            location: node.span.start,
                            hint: Some("kubectl rejects duplicate keys; keep one of them".into()),
                        });
                    }
                    *pending = Some(node);
                    Ok(None)
                }
                Some(key) => {
                    entries.push((key, node));
                    Ok(None)
                }
            },
        }
    }

    fn open(&mut self, frame: Frame, at: Location) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels"), at));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self, end: usize) -> Result<Option<Node>, YamlError> {
        let (kind, start, anchor) = match self.stack.pop() {
            Some(Frame::Seq(items, start, anchor)) => (NodeKind::Seq(items), start, anchor),
            Some(Frame::Map(entries, _, start, anchor)) => (NodeKind::Map(entries), start, anchor),
            None => return Ok(None),
        };
        let end = end.max(start.offset);
        let span = Span {
            start: Location {
                len: end - start.offset,
                ..start
            },
            end,
        };
        self.push(Node { kind, span }, anchor)
    }
}

/// Parses all documents of `text`.
pub fn parse(text: &str, lines: &LineIndex) -> Parsed {
    let mut out = Parsed::default();
    let mut b = Builder {
        text,
        lines,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut doc_index = 0usize;
    let mut current: Option<Node> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(e) => e,
            Err(e) => {
                let m = e.marker();
                let location = b.marker_loc(m);
                out.error = Some(b.err(e.info(), location));
                return out;
            }
        };
        let sp = b.loc(&span);
        let step = match event {
            Event::StreamStart | Event::StreamEnd => Ok(None),
            Event::DocumentStart(..) => {
                b.anchors.clear();
                Ok(None)
            }
            Event::DocumentEnd => {
                if let Some(node) = current.take()
                    && !node.is_null()
                {
                    out.documents.push((doc_index, node));
                }
                doc_index += 1;
                Ok(None)
            }
            Event::Alias(id) => match b.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.span = sp;
                    b.push(node, 0)
                }
                None => Err(b.err("alias to an unknown anchor", sp.start)),
            },
            Event::Scalar(value, style, anchor, tag) => {
                let style = if style == ScalarStyle::Plain {
                    Style::Plain
                } else {
                    Style::Quoted
                };
                let tag = tag.and_then(|t| t.core_suffix().map(str::to_owned));
                let node = Node {
                    kind: NodeKind::Scalar(Zeroizing::new(value.into_owned()), style, tag),
                    span: sp,
                };
                b.push(node, anchor)
            }
            Event::SequenceStart(_, anchor, _) => b
                .open(Frame::Seq(Vec::new(), sp.start, anchor), sp.start)
                .map(|()| None),
            Event::MappingStart(_, anchor, _) => b
                .open(Frame::Map(Vec::new(), None, sp.start, anchor), sp.start)
                .map(|()| None),
            Event::SequenceEnd | Event::MappingEnd => b.close(sp.end),
            _ => Ok(None),
        };
        match step {
            Ok(Some(root)) => current = Some(root),
            Ok(None) => {}
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let lines = LineIndex::new(text);
        let mut p = parse(text, &lines);
        assert!(p.error.is_none(), "{:?}", p.error);
        p.documents.remove(0).1
    }

    #[test]
    fn scalars_resolve_like_kubectl() {
        let n =
            one("a: 1\nb: '1'\nc: true\nd: on\ne: 3.0.0\nf: 1.5\ng: ~\nh: 0x1f\ni: 512m\nj: -3\n");
        let v = n.to_json();
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], "1");
        assert_eq!(v["c"], true);
        assert_eq!(v["d"], true);
        assert_eq!(v["e"], "3.0.0");
        assert_eq!(v["f"], 1.5);
        assert!(v["g"].is_null());
        assert_eq!(v["h"], 31);
        assert_eq!(v["i"], "512m");
        assert_eq!(v["j"], -3);
    }

    #[test]
    fn spans_point_at_values() {
        let text = "spec:\n  driver:\n    cores: x\n";
        let n = one(text);
        let (node, found, key) = n.walk(&FieldPath::parse("spec.driver.cores"));
        assert!(found);
        assert_eq!((node.span.start.line, node.span.start.column), (3, 12));
        let key = key.map(|k| (k.span.start.line, k.span.start.column));
        assert_eq!(key, Some((3, 5)));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let text = "a: 1\nb: 2\na: 3\n";
        let p = parse(text, &LineIndex::new(text));
        let e = p.error.expect("duplicate");
        assert_eq!(e.location.line, 3);
        assert!(
            e.message.contains("first defined on line 1"),
            "{}",
            e.message
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = "[".repeat(5000);
        let p = parse(&text, &LineIndex::new(&text));
        assert!(p.error.is_some());
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("a{}", i - 1)
            };
            text.push_str(&format!("b{i}: &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let p = parse(&text, &LineIndex::new(&text));
        assert!(p.error.expect("bounded").message.contains("alias bomb"));
    }

    #[test]
    fn documents_before_an_error_are_kept() {
        let text = "a: 1\n---\nb: [\n";
        let p = parse(text, &LineIndex::new(text));
        assert_eq!(p.documents.len(), 1);
        assert!(p.error.is_some());
    }

    #[test]
    fn floats_are_recognised_strictly() {
        for ok in ["1.5", "-0.5", "1e3", ".5", "1."] {
            assert!(looks_like_float(ok), "{ok}");
        }
        for no in ["3.0.0", "1.5g", "e3", ".", "1e", "abc"] {
            assert!(!looks_like_float(no), "{no}");
        }
    }
}
