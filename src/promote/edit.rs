//! The surgical `images:` editor (pure, no I/O): sets `newName`, `newTag` and `digest` of
//! entries of a kustomization file's `images:` list, changing only the bytes of those values.
//!
//! Comments, key order, quoting and every other byte of the file stay as they were. A value keeps
//! its quoting style (a plain value is double-quoted only when it would not read back as the
//! same text); a missing key, entry or `images:` list is added in the file's own style (block or
//! flow, indented `  - ` or `- ` sequences, CRLF line endings, no final newline).
//!
//! Values are located with the YAML parser (`saphyr-parser` events and their spans), never with
//! patterns. After editing, the result is parsed again and compared with what was intended: the
//! `images` list holds exactly the intended values and every other part of the document is
//! unchanged. If not, the edit is refused ([`EditError::Unsupported`]): a wrong file is never
//! returned.
//!
//! What "equal to the source image" needs: kustomize's image transformer builds the reference
//! from the entry as `newName` (else the old name), then `:newTag` and/or `@digest`; a `newTag`
//! alone drops the old digest, a `digest` alone drops the old tag, and `tagSuffix` applies only
//! when neither is set. So an entry yields exactly the source's `name[:tag][@digest]` when its
//! `newTag` is the source's tag (absent when the source has none) and its `digest` is the
//! source's digest (absent when the source has none). [`ImageEdit`] therefore gives the final
//! `newTag` and `digest` of the entry, `None` meaning the key must not be there (it is removed).
//! A source with neither tag nor digest cannot be expressed by an `images:` entry over a tagged
//! image; the planner reports that instead of asking for it.
//!
//! How values are read: like `src/kustomize` reads a kustomization, `newTag` may be a YAML
//! number or boolean (`newTag: 1.5` is the tag "1.5", the number's text as Warden's reader
//! prints it), while `name`, `newName` and `digest` must be strings. A new plain value is
//! written plain only when it reads back, that way, as exactly the intended text (`1.10` reads
//! as the number 1.1, so it is written `"1.10"`).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Value};

use crate::yaml::{self, Limits};

/// The intended state of one `images:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageEdit {
    /// The entry's `name` (the image name it matches). The entry is added when missing.
    pub name: String,
    /// `Some`: the entry's `newName`; `None`: `newName` is left as it is.
    pub new_name: Option<String>,
    /// The entry's `newTag`; `None`: no `newTag` (removed when present).
    pub new_tag: Option<String>,
    /// The entry's `digest`; `None`: no `digest` (removed when present).
    pub digest: Option<String>,
}

/// Why a file could not be edited. Every message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("{path}: not valid YAML: {message}")]
    Yaml { path: String, message: String },
    #[error("{path}: two `images:` entries are named {name:?}; keep one of them")]
    Conflict { path: String, name: String },
    #[error("{path}: invalid {field} {value:?} for image {name:?}: {reason}")]
    InvalidValue {
        path: String,
        name: String,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cannot promote automatically, edit {path} by hand ({reason})")]
    Unsupported { path: String, reason: String },
}

fn unsupported(path: &str, reason: impl Into<String>) -> EditError {
    EditError::Unsupported {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Set the `images:` entries of the kustomization `text` (read from `path`, for messages) as
/// `edits` say, changing nothing else. Entries already as intended keep their bytes.
pub fn set_images(path: &str, text: &str, edits: &[ImageEdit]) -> Result<String, EditError> {
    if edits.is_empty() {
        return Ok(text.to_string());
    }
    validate_edits(path, edits)?;
    let limits = Limits {
        allow_duplicate_keys: true,
        ..Limits::default()
    };
    let before = yaml::parse_stream(text, &limits).map_err(|e| EditError::Yaml {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    if before.len() > 1 {
        return Err(unsupported(
            path,
            "the file holds more than one YAML document",
        ));
    }
    let before_value = before
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Object(Map::new()));
    // The parser is not ours; a bug in it must not take the process down.
    let root = std::panic::catch_unwind(|| read_tree(text))
        .map_err(|_| unsupported(path, "internal YAML parser failure"))?
        .map_err(|m| unsupported(path, m))?;
    let editor = Editor {
        path,
        text,
        eol: if text.contains("\r\n") { "\r\n" } else { "\n" },
    };
    let splices = editor.plan(root.as_ref(), edits)?;
    let after = apply(path, text, splices)?;
    verify(path, &before_value, &after, edits, &limits)?;
    Ok(after)
}

fn validate_edits(path: &str, edits: &[ImageEdit]) -> Result<(), EditError> {
    for (i, e) in edits.iter().enumerate() {
        if edits[..i].iter().any(|o| o.name == e.name) {
            return Err(EditError::Conflict {
                path: path.to_string(),
                name: e.name.clone(),
            });
        }
        let fields = [
            ("name", Some(&e.name)),
            ("newName", e.new_name.as_ref()),
            ("newTag", e.new_tag.as_ref()),
            ("digest", e.digest.as_ref()),
        ];
        for (field, value) in fields {
            let Some(value) = value else { continue };
            let reason = if value.is_empty() {
                Some("empty")
            } else if value.chars().any(char::is_control) {
                Some("contains a control character")
            } else if value.trim() != value {
                Some("has leading or trailing spaces")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(EditError::InvalidValue {
                    path: path.to_string(),
                    name: e.name.clone(),
                    field,
                    value: value.clone(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The document as a tree of nodes with byte ranges.

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// Byte range in the text. For quoted scalars, the quotes included (and nothing after).
    start: usize,
    end: usize,
    /// Has an anchor or a tag.
    props: bool,
}

#[derive(Debug)]
enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    Map {
        flow: bool,
        pairs: Vec<(Node, Node)>,
    },
    Alias,
}

impl Node {
    fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

struct Events<'t> {
    text: &'t str,
    /// Byte offset of each character index (and of the end).
    offsets: Vec<usize>,
    events: std::vec::IntoIter<(Event<'t>, Span)>,
}

impl Events<'_> {
    fn byte(&self, char_index: usize) -> usize {
        self.offsets
            .get(char_index)
            .copied()
            .unwrap_or(self.text.len())
    }

    fn node(&mut self, first: (Event<'_>, Span)) -> Result<Node, String> {
        let (event, span) = first;
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index());
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let end = match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        quoted_end(self.text, start).ok_or("unterminated quoted scalar")?
                    }
                    _ => end,
                };
                Ok(Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    start,
                    end,
                    props: anchor != 0 || tag.is_some(),
                })
            }
            Event::Alias(_) => Ok(Node {
                kind: Kind::Alias,
                start,
                end,
                props: true,
            }),
            Event::SequenceStart(anchor, tag) => {
                let flow = self.text[start..].starts_with('[');
                let mut items = Vec::new();
                let end = loop {
                    let next = self.events.next().ok_or("unexpected end of events")?;
                    if matches!(next.0, Event::SequenceEnd) {
                        break self.byte(next.1.end.index());
                    }
                    items.push(self.node(next)?);
                };
                Ok(Node {
                    kind: Kind::Seq { flow, items },
                    start,
                    end,
                    props: anchor != 0 || tag.is_some(),
                })
            }
            Event::MappingStart(anchor, tag) => {
                let flow = self.text[start..].starts_with('{');
                let mut pairs = Vec::new();
                let end = loop {
                    let next = self.events.next().ok_or("unexpected end of events")?;
                    if matches!(next.0, Event::MappingEnd) {
                        break self.byte(next.1.end.index());
                    }
                    let key = self.node(next)?;
                    let next = self.events.next().ok_or("unexpected end of events")?;
                    let value = self.node(next)?;
                    pairs.push((key, value));
                };
                Ok(Node {
                    kind: Kind::Map { flow, pairs },
                    start,
                    end,
                    props: anchor != 0 || tag.is_some(),
                })
            }
            other => Err(format!("unexpected YAML event {other:?}")),
        }
    }
}

/// The root node of the (single) document, if it has one.
fn read_tree(text: &str) -> Result<Option<Node>, String> {
    let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offsets.push(text.len());
    let mut parser = Parser::new_from_str(text);
    let mut events = Vec::new();
    while let Some(next) = parser.next_event() {
        events.push(next.map_err(|e| e.info().to_string())?);
    }
    let mut ev = Events {
        text,
        offsets,
        events: events.into_iter(),
    };
    let mut root = None;
    while let Some(next) = ev.events.next() {
        match next.0 {
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => {}
            _ => {
                if root.is_some() {
                    return Err("the file holds more than one YAML document".into());
                }
                root = Some(ev.node(next)?);
            }
        }
    }
    Ok(root)
}

/// The end (exclusive) of the quoted scalar starting at `start`.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(start)?;
    let mut i = start + 1;
    loop {
        let b = *bytes.get(i)?;
        match (quote, b) {
            (b'"', b'\\') => i += 2,
            (b'"', b'"') => return Some(i + 1),
            (b'\'', b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            (b'\'', b'\'') => return Some(i + 1),
            (b'"' | b'\'', _) => i += 1,
            _ => return None,
        }
    }
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line holding `pos`, before its line break.
fn line_end(text: &str, pos: usize) -> usize {
    let nl = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    if nl > pos && text.as_bytes().get(nl - 1) == Some(&b'\r') {
        nl - 1
    } else {
        nl
    }
}

/// The start of the line after the one holding `pos` (the text's end on the last line).
fn next_line(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// Only spaces, then optionally a comment.
fn blank_or_comment(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#')
}

// ---------------------------------------------------------------------------------------------
// Planning the splices.

/// Replace `text[start..end]` with `with`.
#[derive(Debug)]
struct Splice {
    start: usize,
    end: usize,
    with: String,
}

/// The fields an edit sets, in the order new keys are added.
const FIELDS: [&str; 3] = ["newName", "newTag", "digest"];

/// The values an edit wants for [`FIELDS`]: `Some(None)` removes, `None` leaves as is.
fn wanted(edit: &ImageEdit) -> [Option<Option<&str>>; 3] {
    [
        edit.new_name.as_deref().map(Some),
        Some(edit.new_tag.as_deref()),
        Some(edit.digest.as_deref()),
    ]
}

struct Editor<'a> {
    path: &'a str,
    text: &'a str,
    eol: &'static str,
}

/// One `images:` entry.
struct Entry<'n> {
    node: &'n Node,
    flow: bool,
    pairs: &'n [(Node, Node)],
}

impl Entry<'_> {
    fn get(&self, key: &str) -> Option<usize> {
        self.pairs.iter().position(|(k, _)| k.scalar() == Some(key))
    }
    fn name(&self) -> Option<&str> {
        self.get("name").and_then(|i| self.pairs[i].1.scalar())
    }
}

impl<'a> Editor<'a> {
    fn err(&self, reason: impl Into<String>) -> EditError {
        unsupported(self.path, reason)
    }

    fn plan(&self, root: Option<&Node>, edits: &[ImageEdit]) -> Result<Vec<Splice>, EditError> {
        let pairs: &[(Node, Node)] = match root {
            None => &[],
            Some(Node {
                kind: Kind::Map { flow: false, pairs },
                props: false,
                ..
            }) => pairs,
            Some(_) => return Err(self.err("the document is not a block mapping")),
        };
        let images: Vec<&Node> = pairs
            .iter()
            .filter(|(k, _)| k.scalar() == Some("images"))
            .map(|(_, v)| v)
            .collect();
        if images.len() > 1 {
            return Err(self.err("`images:` appears more than once"));
        }
        let Some(images) = images.first().copied() else {
            return Ok(vec![self.new_images_key(pairs, edits)?]);
        };
        if images.props {
            return Err(self.err("`images:` uses anchors, aliases or tags"));
        }
        let (seq_flow, items) = match &images.kind {
            Kind::Seq { flow, items } => (*flow, items.as_slice()),
            Kind::Scalar { value, style } if value.is_empty() && *style == ScalarStyle::Plain => {
                // `images:` with nothing after it: the list goes on the next lines.
                let at = line_end(self.text, images.start);
                let seq = self.seq_style(pairs);
                let mut with = String::new();
                for e in edits {
                    with.push_str(self.eol);
                    with.push_str(&self.block_entry(&seq, e, false)?);
                }
                return Ok(vec![Splice {
                    start: at,
                    end: at,
                    with,
                }]);
            }
            _ => return Err(self.err("`images:` is not a list")),
        };
        let mut entries = Vec::new();
        for item in items {
            let (flow, pairs) = match &item.kind {
                Kind::Map { flow, pairs } if !item.props => (*flow, pairs.as_slice()),
                Kind::Map { .. } | Kind::Alias => {
                    return Err(self.err("an `images:` entry uses anchors, aliases or tags"));
                }
                _ => return Err(self.err("an `images:` entry is not a mapping")),
            };
            for (k, v) in pairs {
                if k.props || v.props || k.scalar().is_none() || v.scalar().is_none() {
                    return Err(self.err(
                        "an `images:` entry has a value that is not a plain string (anchors, \
                         aliases, tags or nested values)",
                    ));
                }
            }
            entries.push(Entry {
                node: item,
                flow,
                pairs,
            });
        }
        let mut splices = Vec::new();
        let mut created = Vec::new();
        for edit in edits {
            let mut found = entries
                .iter()
                .filter(|e| e.name() == Some(edit.name.as_str()));
            match (found.next(), found.next()) {
                (Some(_), Some(_)) => {
                    return Err(EditError::Conflict {
                        path: self.path.to_string(),
                        name: edit.name.clone(),
                    });
                }
                (Some(entry), None) => splices.extend(self.edit_entry(entry, edit)?),
                (None, _) => created.push(edit),
            }
        }
        if !created.is_empty() {
            splices.push(self.new_entries(images, seq_flow, &entries, pairs, &created)?);
        }
        Ok(splices)
    }

    /// A value as written in `style` (plain only when it reads back as `value`).
    fn render(&self, value: &str, style: ScalarStyle, flow: bool, field: &str) -> String {
        match style {
            ScalarStyle::Plain if plain_reads_as(value, flow, field) => value.to_string(),
            ScalarStyle::SingleQuoted => format!("'{}'", value.replace('\'', "''")),
            _ => double_quoted(value),
        }
    }

    fn edit_entry(&self, entry: &Entry<'_>, edit: &ImageEdit) -> Result<Vec<Splice>, EditError> {
        let mut splices = Vec::new();
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for (field, want) in FIELDS.iter().zip(wanted(edit)) {
            let Some(want) = want else { continue };
            let at: Vec<usize> = (0..entry.pairs.len())
                .filter(|&i| entry.pairs[i].0.scalar() == Some(field))
                .collect();
            if at.len() > 1 {
                return Err(self.err(format!(
                    "the `images:` entry {:?} has `{field}` more than once",
                    edit.name
                )));
            }
            match (at.first().copied(), want) {
                (Some(i), Some(v)) => {
                    let node = &entry.pairs[i].1;
                    let Kind::Scalar { style, .. } = &node.kind else {
                        return Err(self.err("unexpected node"));
                    };
                    if already(node, v, field, entry.flow) {
                        continue;
                    }
                    if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                        || self.text[node.start..node.end].contains('\n')
                    {
                        return Err(self.err(format!(
                            "the `{field}` of {:?} spans several lines",
                            edit.name
                        )));
                    }
                    let mut with = self.render(v, *style, entry.flow, field);
                    if node.start == node.end && self.text[..node.start].ends_with(':') {
                        with.insert(0, ' ');
                    }
                    splices.push(Splice {
                        start: node.start,
                        end: node.end,
                        with,
                    });
                }
                (Some(i), None) => {
                    removed.push(i);
                }
                (None, Some(v)) => added.push((*field, v)),
                (None, None) => {}
            }
        }
        if entry.flow {
            splices.extend(self.remove_flow(entry, &removed)?);
        } else {
            for &i in &removed {
                splices.push(self.remove_block(entry, i, &removed)?);
            }
        }
        if !added.is_empty() {
            splices.push(self.add_pairs(entry, &added, &removed)?);
        }
        Ok(splices)
    }

    /// Remove pairs of a flow entry, each run of neighbours at once: `, key: value` after the
    /// pair before it, or `key: value, ` before the pair after it.
    fn remove_flow(&self, entry: &Entry<'_>, removed: &[usize]) -> Result<Vec<Splice>, EditError> {
        let text = self.text;
        let mut out = Vec::new();
        let mut i = 0;
        let n = entry.pairs.len();
        while i < n {
            if !removed.contains(&i) {
                i += 1;
                continue;
            }
            let a = i;
            while i < n && removed.contains(&i) {
                i += 1;
            }
            let b = i - 1;
            let splice = if a > 0 {
                Splice {
                    start: entry.pairs[a - 1].1.end,
                    end: entry.pairs[b].1.end,
                    with: String::new(),
                }
            } else if i < n {
                Splice {
                    start: entry.pairs[a].0.start,
                    end: entry.pairs[i].0.start,
                    with: String::new(),
                }
            } else {
                return Err(self.err("cannot remove every key of an `images:` entry"));
            };
            if text[splice.start..splice.end].contains('#') {
                return Err(self.err("a comment sits among the keys to remove"));
            }
            out.push(splice);
        }
        Ok(out)
    }

    /// Remove a pair of a block entry: its line, or, for the first key (after the dash), the
    /// text up to the next key, which moves up to its place.
    fn remove_block(
        &self,
        entry: &Entry<'_>,
        i: usize,
        removed: &[usize],
    ) -> Result<Splice, EditError> {
        let text = self.text;
        let (key, value) = &entry.pairs[i];
        let (ks, ve) = (key.start, value.end);
        if text[ks..ve].contains('\n') {
            return Err(self.err("a value to remove is not on its key's line"));
        }
        let ls = line_start(text, ks);
        let le = line_end(text, ve);
        if !blank_or_comment(&text[ve..le]) {
            return Err(self.err("unexpected text after a value to remove"));
        }
        if text[ls..ks].chars().all(|c| c == ' ') {
            if ls > 0 && le == text.len() {
                // The last line, without a final line break: take the break before it.
                return Ok(Splice {
                    start: line_end(text, ls - 1),
                    end: text.len(),
                    with: String::new(),
                });
            }
            return Ok(Splice {
                start: ls,
                end: next_line(text, ve),
                with: String::new(),
            });
        }
        if let Some((next, _)) = entry.pairs.get(i + 1)
            && !removed.contains(&(i + 1))
            && next.start > le
            && !text[le..next.start].contains('#')
            && text[line_start(text, next.start)..next.start]
                .chars()
                .all(|c| c == ' ')
        {
            return Ok(Splice {
                start: ks,
                end: next.start,
                with: String::new(),
            });
        }
        Err(self.err("cannot remove the first key of an `images:` entry"))
    }

    /// New keys at the end of an entry (after its last pair that stays).
    fn add_pairs(
        &self,
        entry: &Entry<'_>,
        added: &[(&str, &str)],
        removed: &[usize],
    ) -> Result<Splice, EditError> {
        let last = (0..entry.pairs.len())
            .rev()
            .find(|i| !removed.contains(i))
            .ok_or_else(|| self.err("empty `images:` entry"))?;
        let end = entry.pairs[last].1.end;
        if entry.flow {
            let mut with = String::new();
            for (field, v) in added {
                with.push_str(&format!(
                    ", {field}: {}",
                    self.render(v, ScalarStyle::Plain, true, field)
                ));
            }
            return Ok(Splice {
                start: end,
                end,
                with,
            });
        }
        let first_key = entry.pairs[0].0.start;
        let indent = self.text[line_start(self.text, first_key)..first_key]
            .chars()
            .count();
        let at = line_end(self.text, end);
        let mut with = String::new();
        for (field, v) in added {
            with.push_str(self.eol);
            with.push_str(&" ".repeat(indent));
            with.push_str(&format!(
                "{field}: {}",
                self.render(v, ScalarStyle::Plain, false, field)
            ));
        }
        Ok(Splice {
            start: at,
            end: at,
            with,
        })
    }

    /// The pairs of a new entry: `name`, then the values set.
    fn new_pairs(&self, edit: &ImageEdit, flow: bool) -> Vec<String> {
        let mut out = vec![format!(
            "name: {}",
            self.render(&edit.name, ScalarStyle::Plain, flow, "name")
        )];
        for (field, want) in FIELDS.iter().zip(wanted(edit)) {
            if let Some(Some(v)) = want {
                out.push(format!(
                    "{field}: {}",
                    self.render(v, ScalarStyle::Plain, flow, field)
                ));
            }
        }
        out
    }

    /// A new block entry, without a line break before or after it. `prefix` is what comes
    /// before the first key (`- `, `  - `); the other keys line up with the first.
    fn block_entry(
        &self,
        seq: &SeqStyle,
        edit: &ImageEdit,
        flow_item: bool,
    ) -> Result<String, EditError> {
        if flow_item {
            return Ok(format!(
                "{}{{{}}}",
                seq.prefix,
                self.new_pairs(edit, true).join(", ")
            ));
        }
        let pad = " ".repeat(seq.prefix.chars().count());
        let mut out = String::new();
        for (i, pair) in self.new_pairs(edit, false).iter().enumerate() {
            if i == 0 {
                out.push_str(&seq.prefix);
            } else {
                out.push_str(self.eol);
                out.push_str(&pad);
            }
            out.push_str(pair);
        }
        Ok(out)
    }

    /// How the file writes block sequences under top-level keys (`- ` or `  - `).
    fn seq_style(&self, pairs: &[(Node, Node)]) -> SeqStyle {
        let root_indent = pairs
            .first()
            .map(|(k, _)| self.text[line_start(self.text, k.start)..k.start].to_string())
            .filter(|p| p.chars().all(|c| c == ' '))
            .unwrap_or_default();
        for (_, v) in pairs {
            if let Kind::Seq { flow: false, items } = &v.kind
                && let Some(first) = items.first()
            {
                let prefix = &self.text[line_start(self.text, first.start)..first.start];
                if is_dash_prefix(prefix) {
                    return SeqStyle {
                        prefix: prefix.to_string(),
                        root_indent,
                    };
                }
            }
        }
        SeqStyle {
            prefix: format!("{root_indent}- "),
            root_indent,
        }
    }

    /// `images:` added at the end of the file.
    fn new_images_key(
        &self,
        pairs: &[(Node, Node)],
        edits: &[ImageEdit],
    ) -> Result<Splice, EditError> {
        let text = self.text;
        let seq = self.seq_style(pairs);
        let mut with = String::new();
        let terminated = text.is_empty() || text.ends_with('\n');
        if !terminated {
            with.push_str(self.eol);
        }
        with.push_str(&seq.root_indent);
        with.push_str("images:");
        for e in edits {
            with.push_str(self.eol);
            with.push_str(&self.block_entry(&seq, e, false)?);
        }
        if terminated {
            with.push_str(self.eol);
        }
        Ok(Splice {
            start: text.len(),
            end: text.len(),
            with,
        })
    }

    /// New entries at the end of an existing list.
    fn new_entries(
        &self,
        images: &Node,
        seq_flow: bool,
        entries: &[Entry<'_>],
        pairs: &[(Node, Node)],
        created: &[&ImageEdit],
    ) -> Result<Splice, EditError> {
        let text = self.text;
        if seq_flow {
            let (at, mut sep) = match entries.last() {
                Some(last) => (last.node.end, ", "),
                None => (images.start + 1, ""),
            };
            let mut with = String::new();
            for e in created {
                with.push_str(sep);
                with.push('{');
                with.push_str(&self.new_pairs(e, true).join(", "));
                with.push('}');
                sep = ", ";
            }
            return Ok(Splice {
                start: at,
                end: at,
                with,
            });
        }
        let Some(last) = entries.last() else {
            return Err(self.err("empty block list"));
        };
        let first = &entries[0];
        let first_start = if first.flow {
            first.node.start
        } else {
            first
                .pairs
                .first()
                .map_or(first.node.start, |(k, _)| k.start)
        };
        let prefix = &text[line_start(text, first_start)..first_start];
        if !is_dash_prefix(prefix) {
            return Err(self.err("unusual layout of the `images:` list"));
        }
        let seq = SeqStyle {
            prefix: prefix.to_string(),
            root_indent: self.seq_style(pairs).root_indent,
        };
        let last_end = if last.flow {
            last.node.end
        } else {
            last.pairs
                .iter()
                .map(|(_, v)| v.end)
                .max()
                .unwrap_or(last.node.end)
        };
        // At the start of the line after the last entry (which an edit may remove), or after a
        // line break at the end of a file without a final one.
        let at = next_line(text, last_end);
        let unterminated = at == text.len() && !text.ends_with('\n');
        let mut with = String::new();
        for e in created {
            if unterminated {
                with.push_str(self.eol);
            }
            with.push_str(&self.block_entry(&seq, e, first.flow)?);
            if !unterminated {
                with.push_str(self.eol);
            }
        }
        Ok(Splice {
            start: at,
            end: at,
            with,
        })
    }
}

struct SeqStyle {
    /// Before an item's first key: `- `, `  - `.
    prefix: String,
    /// Before top-level keys.
    root_indent: String,
}

/// Spaces, a dash, then at least one space.
fn is_dash_prefix(prefix: &str) -> bool {
    let t = prefix.trim_start_matches(' ');
    t.len() >= 2 && t.starts_with('-') && t[1..].chars().all(|c| c == ' ')
}

fn double_quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How Warden's kustomization reader sees a field's value: `newTag` may be a number or a
/// boolean (its text), other fields must be strings.
fn read_as(value: &Value, field: &str) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if field == "newTag" => Some(n.to_string()),
        Value::Bool(b) if field == "newTag" => Some(b.to_string()),
        _ => None,
    }
}

/// Would `value`, written plain as this field's value, read back as exactly `value`?
fn plain_reads_as(value: &str, flow: bool, field: &str) -> bool {
    if value.is_empty() || value.contains(['\n', '\r']) {
        return false;
    }
    let doc = if flow {
        format!("{{k: {value}}}")
    } else {
        format!("k: {value}\n")
    };
    let Ok(docs) = yaml::parse_stream(&doc, &Limits::default()) else {
        return false;
    };
    match docs.as_slice() {
        [d] => {
            d.value.as_object().is_some_and(|m| m.len() == 1)
                && d.value
                    .get("k")
                    .and_then(|v| read_as(v, field))
                    .is_some_and(|s| s == value)
        }
        _ => false,
    }
}

/// Does the existing value already read as `want`? (A plain `1.10` has the text `1.10` but
/// reads as the number 1.1.)
fn already(node: &Node, want: &str, field: &str, flow: bool) -> bool {
    match &node.kind {
        Kind::Scalar {
            value,
            style: ScalarStyle::Plain,
        } => value == want && plain_reads_as(value, flow, field),
        Kind::Scalar { value, .. } => value == want,
        _ => false,
    }
}

fn apply(path: &str, text: &str, mut splices: Vec<Splice>) -> Result<String, EditError> {
    splices.sort_by_key(|s| (s.start, s.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for s in &splices {
        if s.start < at
            || s.end < s.start
            || s.end > text.len()
            || !text.is_char_boundary(s.start)
            || !text.is_char_boundary(s.end)
        {
            return Err(unsupported(path, "overlapping edits"));
        }
        out.push_str(&text[at..s.start]);
        out.push_str(&s.with);
        at = s.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Checking the result.

fn verify(
    path: &str,
    before: &Value,
    after_text: &str,
    edits: &[ImageEdit],
    limits: &Limits,
) -> Result<(), EditError> {
    let wrong = |why: &str| unsupported(path, format!("the edited file {why}"));
    let docs = yaml::parse_stream(after_text, limits)
        .map_err(|e| wrong(&format!("does not parse: {e}")))?;
    let [doc] = docs.as_slice() else {
        return Err(wrong("is not one document"));
    };
    let (Some(before), Some(after)) = (before.as_object(), doc.value.as_object()) else {
        return Err(wrong("is not a mapping"));
    };
    let images = |m: &Map<String, Value>| -> Option<Vec<Value>> {
        match m.get("images") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(items)) => Some(items.clone()),
            Some(_) => None,
        }
    };
    let (Some(old), Some(new)) = (images(before), images(after)) else {
        return Err(wrong("has an `images:` that is not a list"));
    };
    let mut rest_before = before.clone();
    let mut rest_after = after.clone();
    rest_before.remove("images");
    rest_after.remove("images");
    if rest_before != rest_after || rest_before.keys().ne(rest_after.keys()) {
        return Err(wrong("changed more than `images:`"));
    }
    // The expected entries: those edited in place, then those added.
    let name_of = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
    let mut expected: Vec<(Option<&ImageEdit>, Value)> = old
        .iter()
        .map(|v| {
            let edit = name_of(v).and_then(|n| edits.iter().find(|e| e.name == n));
            (edit, v.clone())
        })
        .collect();
    for e in edits {
        if !old
            .iter()
            .any(|v| name_of(v).as_deref() == Some(e.name.as_str()))
        {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(e.name.clone()));
            expected.push((Some(e), Value::Object(m)));
        }
    }
    if expected.len() != new.len() {
        return Err(wrong("has the wrong number of `images:` entries"));
    }
    for ((edit, want), got) in expected.iter().zip(&new) {
        let Some(edit) = edit else {
            if want != got {
                return Err(wrong("changed an `images:` entry it should not have"));
            }
            continue;
        };
        let (Some(want), Some(got)) = (want.as_object(), got.as_object()) else {
            return Err(wrong("has an `images:` entry that is not a mapping"));
        };
        if name_of(&Value::Object(got.clone())).as_deref() != Some(edit.name.as_str()) {
            return Err(wrong("renamed an `images:` entry"));
        }
        for (k, v) in want {
            if FIELDS.contains(&k.as_str()) || k == "name" {
                continue;
            }
            if got.get(k) != Some(v) {
                return Err(wrong(&format!("changed `{k}` of {:?}", edit.name)));
            }
        }
        for (field, w) in FIELDS.iter().zip(wanted(edit)) {
            let intended: Option<String> = match w {
                Some(w) => w.map(str::to_string),
                None => want.get(*field).and_then(|v| read_as(v, field)),
            };
            let actual = got.get(*field).and_then(|v| read_as(v, field));
            if intended != actual || (got.contains_key(*field) && actual.is_none()) {
                return Err(wrong(&format!(
                    "has the wrong `{field}` for {:?}",
                    edit.name
                )));
            }
        }
        let extra = got
            .keys()
            .any(|k| !want.contains_key(k) && !FIELDS.contains(&k.as_str()));
        if extra {
            return Err(wrong(&format!("added a key to {:?}", edit.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
