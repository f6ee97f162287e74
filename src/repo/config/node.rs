//! A config document as a tree whose every node knows its file and line, so that the org and
//! repo documents can be merged before validation and errors still point at the right place.

use std::collections::HashMap;

use serde_json::{Number, Value};

use crate::manifest::Seg;
use crate::yaml::Document;

/// One value of a config document.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    /// Index of the file it came from.
    pub file: usize,
    /// 1-based line of the key or list item that introduces it.
    pub line: usize,
    pub v: V,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum V {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The tree of a parsed document.
    pub fn from_document(doc: &Document, file: usize) -> Node {
        let mut path = Vec::new();
        build(&doc.value, &doc.lines, &mut path, doc.line.max(1), file)
    }

    /// An empty document starting on line 1.
    pub fn null(file: usize) -> Node {
        Node {
            file,
            line: 1,
            v: V::Null,
        }
    }

    /// What kind of value it is, for messages: `a string`, `a mapping`, …
    pub fn kind(&self) -> &'static str {
        match &self.v {
            V::Null => "null",
            V::Bool(_) => "a boolean",
            V::Num(_) => "a number",
            V::Str(_) => "a string",
            V::Seq(_) => "a list",
            V::Map(_) => "a mapping",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.v, V::Null)
    }

    /// The entry for `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            V::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, n)| n),
            _ => None,
        }
    }

    /// Remove the entry for `key`, if this is a mapping that has it.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        match &mut self.v {
            V::Map(entries) => {
                let i = entries.iter().position(|(k, _)| k == key)?;
                Some(entries.remove(i).1)
            }
            _ => None,
        }
    }
}

fn build(
    value: &Value,
    lines: &crate::yaml::LineIndex,
    path: &mut Vec<Seg>,
    line: usize,
    file: usize,
) -> Node {
    let v = match value {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => V::Num(n.clone()),
        Value::String(s) => V::Str(s.clone()),
        Value::Array(items) => V::Seq(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    path.push(Seg::Index(i));
                    let l = lines.line_of(path).unwrap_or(line);
                    let n = build(item, lines, path, l, file);
                    path.pop();
                    n
                })
                .collect(),
        ),
        Value::Object(map) => V::Map(
            map.iter()
                .map(|(k, item)| {
                    path.push(Seg::Key(k.clone()));
                    let l = lines.line_of(path).unwrap_or(line);
                    let n = build(item, lines, path, l, file);
                    path.pop();
                    (k.clone(), n)
                })
                .collect(),
        ),
    };
    Node { file, line, v }
}

/// `over` on top of `base`: mappings merge key by key (recursively, base order first, new
/// keys appended); anything else in `over` replaces what is in `base`.
pub(super) fn merge(base: Node, over: Node) -> Node {
    match (base.v, over.v) {
        (V::Map(mut entries), V::Map(over_entries)) => {
            let mut index: HashMap<String, usize> = entries
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect();
            for (k, n) in over_entries {
                match index.get(&k) {
                    Some(&i) => {
                        let old = std::mem::replace(&mut entries[i].1, Node::null(n.file));
                        entries[i].1 = merge(old, n);
                    }
                    None => {
                        index.insert(k.clone(), entries.len());
                        entries.push((k, n));
                    }
                }
            }
            Node {
                file: over.file,
                line: over.line,
                v: V::Map(entries),
            }
        }
        (_, v) => Node {
            file: over.file,
            line: over.line,
            v,
        },
    }
}
