//! Merge-key and patch-strategy knowledge of the built-in Kubernetes kinds.
//!
//! Kustomize decides how to merge lists in a strategic-merge patch from the
//! `x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key` and
//! `x-kubernetes-list-map-keys` extensions of its embedded Kubernetes OpenAPI
//! document (v1.21.2). This module embeds a distilled copy of those
//! definitions (`openapi/k8s-1.21.txt`, produced by
//! `scripts/gen-openapi-merge-keys.py` from kubernetes-validate 1.21.0) and
//! parses it lazily, on the first lookup.
//!
//! A [`Schema`] is one source of type information; [`SchemaRef`] is a cursor
//! into it. Further sources (CRDs, kustomize's `openapi:` field) can be built
//! with [`Schema::builder`] and consulted through [`Schemas`].

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::manifest::Gvk;

mod doc;

const BUILTIN_TEXT: &str = include_str!("openapi/k8s-1.21.txt");

/// How a list field is merged by a strategic-merge patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListMerge<'a> {
    /// The raw `x-kubernetes-patch-strategy` value (`merge`, `replace`,
    /// `retainKeys`, `merge,retainKeys`); empty when the field has none.
    pub strategy: &'a str,
    /// The merge keys kustomize uses: `x-kubernetes-list-map-keys` when present,
    /// else the single `x-kubernetes-patch-merge-key`; empty for lists of
    /// primitives (e.g. `finalizers`).
    pub keys: &'a [Cow<'static, str>],
}

impl ListMerge<'_> {
    /// True when the strategy includes `merge`: the list is associative.
    pub fn is_merge(&self) -> bool {
        self.strategy.split(',').any(|s| s == "merge")
    }
}

/// Index of a type in a [`Schema`]'s arena.
type TyId = u32;

type GvkKey = (Cow<'static, str>, Cow<'static, str>, Cow<'static, str>);

#[derive(Debug, Clone)]
enum Ty {
    /// A scalar or an object whose content is unknown.
    Leaf,
    /// An object: named properties (sorted by name) and an optional value type
    /// for any other key.
    Object {
        fields: Vec<(Cow<'static, str>, TyId)>,
        additional: Option<TyId>,
    },
    /// An array with its patch strategy, merge keys and item type.
    List {
        strategy: Cow<'static, str>,
        keys: Vec<Cow<'static, str>>,
        items: TyId,
    },
    /// A schema read from an OpenAPI document: it may describe both an
    /// object and a list (kyaml consults whichever the node needs).
    Node {
        fields: Vec<(Cow<'static, str>, TyId)>,
        additional: Option<TyId>,
        strategy: Cow<'static, str>,
        keys: Vec<Cow<'static, str>>,
        items: Option<TyId>,
    },
    /// No schema: a `$ref` that does not resolve. Lookups reaching it find nothing.
    Absent,
}

/// One source of type information: a set of definitions and the GVKs they
/// describe.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    types: Vec<Ty>,
    /// Definition names, indexed like the first `names.len()` types.
    names: Vec<Cow<'static, str>>,
    /// (group, version, kind) → root type, sorted for binary search.
    roots: Vec<(GvkKey, TyId)>,
}

/// A cursor into a [`Schema`]: the type of one node of an object.
#[derive(Debug, Clone, Copy)]
pub struct SchemaRef<'a> {
    schema: &'a Schema,
    ty: TyId,
}

/// Error parsing the embedded or a supplied schema table.
#[derive(Debug, thiserror::Error)]
#[error("openapi table line {line}: {message}")]
pub struct TableError {
    pub line: usize,
    pub message: String,
}

impl Schema {
    /// The built-in Kubernetes v1.21 schema, parsed on first use.
    pub fn builtin() -> &'static Schema {
        static BUILTIN: OnceLock<Schema> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The table is generated and tested; a broken table is a build bug.
            // Degrade to "no schema" rather than panicking.
            Schema::parse(BUILTIN_TEXT).unwrap_or_default()
        })
    }

    /// Parse a table in the format written by `scripts/gen-openapi-merge-keys.py`.
    pub fn parse(text: &'static str) -> Result<Schema, TableError> {
        let mut schema = Schema::default();
        let mut current: Option<usize> = None;
        let mut ndefs = 0usize;
        for (i, line) in text.lines().enumerate() {
            let err = |message: &str| TableError {
                line: i + 1,
                message: message.to_string(),
            };
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            match tag {
                "" | "S" => {}
                "N" => {
                    ndefs = rest.parse().map_err(|_| err("bad definition count"))?;
                    schema.types = Vec::with_capacity(ndefs * 2);
                    schema.types.resize(
                        ndefs,
                        Ty::Object {
                            fields: Vec::new(),
                            additional: None,
                        },
                    );
                    schema.names = Vec::with_capacity(ndefs);
                }
                "D" => {
                    let idx = schema.names.len();
                    if idx >= ndefs {
                        return Err(err("more definitions than announced"));
                    }
                    schema.names.push(Cow::Borrowed(rest));
                    current = Some(idx);
                }
                "F" | "A" => {
                    let def = current.ok_or_else(|| err("field outside a definition"))?;
                    let (name, ty_text) = if tag == "F" {
                        rest.split_once(' ').ok_or_else(|| err("malformed field"))?
                    } else {
                        ("", rest)
                    };
                    let ty = schema
                        .parse_ty(ty_text, ndefs)
                        .ok_or_else(|| err("malformed type"))?;
                    if let Some(Ty::Object { fields, additional }) = schema.types.get_mut(def) {
                        if tag == "F" {
                            fields.push((Cow::Borrowed(name), ty));
                        } else {
                            *additional = Some(ty);
                        }
                    }
                }
                "G" => {
                    let mut parts = rest.split(' ');
                    let (Some(g), Some(v), Some(k), Some(d), None) = (
                        parts.next(),
                        parts.next(),
                        parts.next(),
                        parts.next(),
                        parts.next(),
                    ) else {
                        return Err(err("malformed gvk"));
                    };
                    let d: usize = d.parse().map_err(|_| err("bad definition index"))?;
                    if d >= ndefs {
                        return Err(err("definition index out of range"));
                    }
                    let g = if g == "~" { "" } else { g };
                    schema.roots.push((
                        (Cow::Borrowed(g), Cow::Borrowed(v), Cow::Borrowed(k)),
                        d as TyId,
                    ));
                }
                _ => return Err(err("unknown record")),
            }
        }
        if !schema.roots.is_sorted_by(|a, b| a.0 <= b.0) {
            schema.roots.sort_by(|a, b| a.0.cmp(&b.0));
        }
        for ty in &mut schema.types {
            if let Ty::Object { fields, .. } = ty
                && !fields.is_sorted_by(|a, b| a.0 <= b.0)
            {
                fields.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
        Ok(schema)
    }

    fn push(&mut self, ty: Ty) -> TyId {
        self.types.push(ty);
        (self.types.len() - 1) as TyId
    }

    fn parse_ty(&mut self, text: &'static str, ndefs: usize) -> Option<TyId> {
        let first = text.chars().next()?;
        match first {
            '#' => {
                let n: usize = text[1..].parse().ok()?;
                (n < ndefs).then_some(n as TyId)
            }
            '.' if text.len() == 1 => Some(self.push(Ty::Leaf)),
            'm' => {
                let inner = self.parse_ty(&text[1..], ndefs)?;
                Some(self.push(Ty::Object {
                    fields: Vec::new(),
                    additional: Some(inner),
                }))
            }
            'l' => {
                let mut parts = text[1..].splitn(3, '|');
                let strategy = parts.next()?;
                let keys = parts.next()?;
                let items = self.parse_ty(parts.next()?, ndefs)?;
                let keys = if keys.is_empty() {
                    Vec::new()
                } else {
                    keys.split(',').map(Cow::Borrowed).collect()
                };
                Some(self.push(Ty::List {
                    strategy: Cow::Borrowed(strategy),
                    keys,
                    items,
                }))
            }
            _ => None,
        }
    }

    /// The root type of a kind, if this schema knows it.
    pub fn for_gvk(&self, gvk: &Gvk) -> Option<SchemaRef<'_>> {
        let probe = (gvk.group.as_str(), gvk.version.as_str(), gvk.kind.as_str());
        let i = self
            .roots
            .binary_search_by(|((g, v, k), _)| (g.as_ref(), v.as_ref(), k.as_ref()).cmp(&probe))
            .ok()?;
        let ty = self.roots.get(i)?.1;
        Some(SchemaRef { schema: self, ty })
    }

    /// Number of definitions (for diagnostics and tests).
    pub fn definition_count(&self) -> usize {
        self.names.len()
    }

    /// Start building a schema programmatically (e.g. from a CRD).
    pub fn builder() -> SchemaBuilder {
        SchemaBuilder {
            schema: Schema::default(),
        }
    }
}

/// Builds a [`Schema`] node by node; used for schemas from CRDs or from
/// kustomize's `openapi:` field.
#[derive(Debug)]
pub struct SchemaBuilder {
    schema: Schema,
}

/// Handle to a type created by a [`SchemaBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeHandle(TyId);

impl SchemaBuilder {
    /// A scalar or opaque type.
    pub fn leaf(&mut self) -> TypeHandle {
        TypeHandle(self.schema.push(Ty::Leaf))
    }

    /// An object with the given properties and optional additionalProperties type.
    pub fn object(
        &mut self,
        fields: Vec<(String, TypeHandle)>,
        additional: Option<TypeHandle>,
    ) -> TypeHandle {
        let mut fields: Vec<(Cow<'static, str>, TyId)> = fields
            .into_iter()
            .map(|(n, t)| (Cow::Owned(n), t.0))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        TypeHandle(self.schema.push(Ty::Object {
            fields,
            additional: additional.map(|t| t.0),
        }))
    }

    /// A list with a patch strategy (may be empty) and merge keys.
    pub fn list(&mut self, strategy: &str, keys: Vec<String>, items: TypeHandle) -> TypeHandle {
        TypeHandle(self.schema.push(Ty::List {
            strategy: Cow::Owned(strategy.to_string()),
            keys: keys.into_iter().map(Cow::Owned).collect(),
            items: items.0,
        }))
    }

    /// Declare `ty` as the root type of `gvk`.
    pub fn root(&mut self, gvk: &Gvk, ty: TypeHandle) {
        let key: GvkKey = (
            Cow::Owned(gvk.group.clone()),
            Cow::Owned(gvk.version.clone()),
            Cow::Owned(gvk.kind.clone()),
        );
        match self.schema.roots.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => {
                if let Some(slot) = self.schema.roots.get_mut(i) {
                    slot.1 = ty.0;
                }
            }
            Err(i) => self.schema.roots.insert(i, (key, ty.0)),
        }
    }

    pub fn build(self) -> Schema {
        self.schema
    }
}

impl<'a> SchemaRef<'a> {
    fn ty(&self) -> Option<&'a Ty> {
        self.schema.types.get(self.ty as usize)
    }

    fn at(&self, ty: TyId) -> SchemaRef<'a> {
        SchemaRef {
            schema: self.schema,
            ty,
        }
    }

    /// The type of a field of this object: a named property, else the
    /// additionalProperties type. `None` when unknown.
    pub fn field(&self, name: &str) -> Option<SchemaRef<'a>> {
        let (fields, additional) = match self.ty()? {
            Ty::Object { fields, additional }
            | Ty::Node {
                fields, additional, ..
            } => (fields, additional),
            _ => return None,
        };
        let found = match fields.binary_search_by(|(n, _)| n.as_ref().cmp(name)) {
            Ok(i) => fields.get(i).map(|(_, t)| self.at(*t)),
            Err(_) => additional.map(|t| self.at(t)),
        };
        found.filter(|r| !matches!(r.ty(), Some(Ty::Absent)))
    }

    /// The type of the items of this list.
    pub fn items(&self) -> Option<SchemaRef<'a>> {
        let items = match self.ty()? {
            Ty::List { items, .. } => *items,
            Ty::Node { items, .. } => (*items)?,
            _ => return None,
        };
        Some(self.at(items)).filter(|r| !matches!(r.ty(), Some(Ty::Absent)))
    }

    /// The patch strategy and merge keys of this list; `None` unless this is
    /// a list with an `x-kubernetes-patch-strategy`.
    pub fn list_merge(&self) -> Option<ListMerge<'a>> {
        match self.ty()? {
            Ty::List { strategy, keys, .. } | Ty::Node { strategy, keys, .. }
                if !strategy.is_empty() =>
            {
                Some(ListMerge {
                    strategy: strategy.as_ref(),
                    keys: keys.as_slice(),
                })
            }
            _ => None,
        }
    }

    /// The definition name, when this cursor points at a named definition.
    pub fn definition_name(&self) -> Option<&'a str> {
        self.schema.names.get(self.ty as usize).map(|n| n.as_ref())
    }
}

/// An ordered set of schema sources; the first that knows a GVK wins.
#[derive(Debug, Clone, Copy)]
pub struct Schemas<'a> {
    sources: &'a [&'a Schema],
}

impl<'a> Schemas<'a> {
    pub fn new(sources: &'a [&'a Schema]) -> Self {
        Schemas { sources }
    }

    /// Only the built-in Kubernetes schema.
    pub fn builtin() -> Schemas<'static> {
        static ONLY: OnceLock<[&'static Schema; 1]> = OnceLock::new();
        Schemas {
            sources: ONLY.get_or_init(|| [Schema::builtin()]),
        }
    }

    pub fn for_gvk(&self, gvk: &Gvk) -> Option<SchemaRef<'a>> {
        self.sources.iter().find_map(|s| s.for_gvk(gvk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gvk(g: &str, v: &str, k: &str) -> Gvk {
        Gvk {
            group: g.into(),
            version: v.into(),
            kind: k.into(),
        }
    }

    #[test]
    fn builtin_parses() {
        let start = std::time::Instant::now();
        let s = Schema::parse(BUILTIN_TEXT).expect("table parses");
        let took = start.elapsed();
        let start = std::time::Instant::now();
        let again = Schema::parse(BUILTIN_TEXT).map(|s| s.definition_count());
        let warm = start.elapsed();
        eprintln!(
            "parsed {} definitions in {took:?} (warm: {warm:?}, {again:?})",
            s.definition_count()
        );
        // Pruned to the definitions that lead to a list with a patch strategy.
        assert!(s.definition_count() > 200);
        assert!(Schema::builtin().definition_count() > 200);
    }

    #[test]
    fn deployment_containers() {
        let d = Schema::builtin()
            .for_gvk(&gvk("apps", "v1", "Deployment"))
            .expect("deployment");
        let containers = d
            .field("spec")
            .and_then(|s| s.field("template"))
            .and_then(|s| s.field("spec"))
            .and_then(|s| s.field("containers"))
            .expect("containers");
        let lm = containers.list_merge().expect("merge");
        assert!(lm.is_merge());
        assert_eq!(lm.keys, ["name"]);
        let ports = containers
            .items()
            .and_then(|c| c.field("ports"))
            .expect("ports");
        assert_eq!(
            ports.list_merge().map(|l| l.keys.to_vec()),
            Some(vec![
                Cow::Borrowed("containerPort"),
                Cow::Borrowed("protocol")
            ])
        );
        // A plain list (replaced by a patch) carries no merge information.
        let args = containers.items().and_then(|c| c.field("args"));
        assert!(
            args.and_then(|a| a.list_merge())
                .is_none_or(|m| !m.is_merge())
        );
        let vols = d
            .field("spec")
            .and_then(|s| s.field("template"))
            .and_then(|s| s.field("spec"))
            .and_then(|s| s.field("volumes"))
            .and_then(|v| v.list_merge())
            .expect("volumes");
        assert_eq!(vols.strategy, "merge,retainKeys");
        assert!(vols.is_merge());
    }

    #[test]
    fn core_group_and_maps() {
        let s = Schema::builtin();
        let svc = s.for_gvk(&gvk("", "v1", "Service")).expect("service");
        let fin = svc
            .field("metadata")
            .and_then(|m| m.field("finalizers"))
            .and_then(|f| f.list_merge())
            .expect("finalizers");
        assert!(fin.keys.is_empty());
        assert!(fin.is_merge());
        // labels: a map of strings, merged key by key with or without a schema.
        let labels = svc.field("metadata").and_then(|m| m.field("labels"));
        assert!(labels.and_then(|l| l.list_merge()).is_none());
        assert!(s.for_gvk(&gvk("example.com", "v1", "Foo")).is_none());
    }

    #[test]
    fn builder_source() {
        let mut b = Schema::builder();
        let leaf = b.leaf();
        let item = b.object(vec![("name".into(), leaf)], None);
        let list = b.list("merge", vec!["name".into()], item);
        let spec = b.object(vec![("items".into(), list)], None);
        let root = b.object(vec![("spec".into(), spec)], None);
        let g = gvk("example.com", "v1", "Foo");
        b.root(&g, root);
        let custom = b.build();
        let sources = [&custom, Schema::builtin()];
        let schemas = Schemas::new(&sources);
        let items = schemas
            .for_gvk(&g)
            .and_then(|r| r.field("spec"))
            .and_then(|s| s.field("items"))
            .and_then(|l| l.list_merge())
            .expect("items");
        assert_eq!(items.keys, ["name"]);
        assert!(schemas.for_gvk(&gvk("apps", "v1", "Deployment")).is_some());
    }
}
