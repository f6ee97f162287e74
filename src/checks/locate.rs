//! From "this field of this rendered object" to "this line of this file in the repo".
//!
//! A rendered object remembers the document it came from and the patches that touched it
//! ([`Origin`]). To point a finding at the line a user should edit, the locator re-reads those
//! files with field lines ([`crate::yaml::parse_stream_with_lines`]) and walks the finding's
//! path through them. List items are matched by their merge key (`name`, `containerPort`, …),
//! not by position, because patches and overlays address them that way. The newest patch that
//! spells out the field wins; otherwise the original document, at the deepest part of the path
//! it spells out; generated objects point at their generator entry in the kustomization.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::kustomize::fs::{FileSystem, clean};
use crate::manifest::{Object, Origin, Seg};
use crate::yaml::{Document, Limits, parse_stream_with_lines};

/// Keys that identify list items in Kubernetes objects, in the order they are tried.
const ITEM_KEYS: &[&str] = &[
    "name",
    "containerPort",
    "mountPath",
    "devicePath",
    "ip",
    "port",
    "topologyKey",
];

/// Maps rendered objects' fields to repo files and lines, caching every file it parses.
pub struct Locator<'a> {
    fs: &'a dyn FileSystem,
    root: PathBuf,
    cache: HashMap<PathBuf, Option<Vec<Document>>>,
}

/// A place in the repo: a `/`-separated path relative to the repo root and a 1-based line
/// (0 when only the file is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

/// The kustomization files among a build's input files (repo-relative), the target's own
/// first: what [`Locator::locate`] takes.
pub fn kustomizations_of<'s>(
    target_dir: &str,
    inputs: impl Iterator<Item = &'s String>,
) -> Vec<String> {
    let own = |f: &String| f.rsplit_once('/').map_or(".", |(d, _)| d) == target_dir;
    let mut found: Vec<String> = inputs
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            crate::kustomize::kustomization::FILE_NAMES.contains(&name)
        })
        .cloned()
        .collect();
    found.sort_by_key(|f| !own(f));
    found
}

impl<'a> Locator<'a> {
    /// `root` is the repo root in `fs` (absolute).
    pub fn new(fs: &'a dyn FileSystem, root: &Path) -> Locator<'a> {
        Locator {
            fs,
            root: clean(root),
            cache: HashMap::new(),
        }
    }

    /// Where the field at `path` of `obj` (rendered from the kustomization in `target_dir`,
    /// repo-relative) is written. `None` when the origin is not a file in the repo.
    ///
    /// `kustomizations` are the repo-relative kustomization files the build read, the target's
    /// own first: when the value at `path` is not what the source document says, a field of one
    /// of them (`images`, `replicas`, `namespace`) wrote it, and that is the line to edit.
    pub fn locate(
        &mut self,
        target_dir: &str,
        kustomizations: &[String],
        obj: &Object,
        origin: &Origin,
        path: &[Seg],
    ) -> Option<Place> {
        let build_dir = self.root.join(target_dir);
        // Patches, newest first: the first that spells out the whole path is where the value
        // was last written.
        // A list item as a whole (a container) is where the list item is defined, not a
        // patch that merely addresses it by key.
        if matches!(path.last(), Some(Seg::Key(_))) {
            for patch in origin.patches.iter().rev() {
                let file = clean(&build_dir.join(&patch.file));
                if let Some(line) = self.line_in_patch(&file, patch.line, obj, path) {
                    return Some(self.place(&file, line));
                }
            }
        }
        if origin.file.is_empty() {
            return None;
        }
        let file = clean(&build_dir.join(&origin.file));
        if origin.generator.is_some() || origin.line == 0 {
            // A generated object: point at its generator entry in the kustomization.
            let line = self.generator_line(&file, obj).unwrap_or(0);
            return Some(self.place(&file, line));
        }
        let docs = self.docs(&file);
        let doc = docs.and_then(|docs| docs.iter().find(|d| d.line == origin.line));
        let found = doc.and_then(|doc| walk(doc, obj, path, false));
        // Written by a kustomization field rather than the document?
        let rendered = value_at(obj, path);
        let rewritten =
            transformable(path) && rendered.is_some() && found.and_then(|(_, v)| v) != rendered;
        let found_line = found.map(|(line, _)| line);
        if rewritten && let Some(place) = self.transform_place(kustomizations, obj, path) {
            return Some(place);
        }
        let line = found_line.unwrap_or(origin.line);
        Some(self.place(&file, line))
    }

    /// The kustomization field that sets `path` of `obj`: an `images` entry for a container
    /// image, a `replicas` entry for `spec.replicas`, `namespace` for `metadata.namespace`.
    fn transform_place(
        &mut self,
        kustomizations: &[String],
        obj: &Object,
        path: &[Seg],
    ) -> Option<Place> {
        let key = |s: &str| Seg::Key(s.to_string());
        let name = crate::manifest::get_str(obj, &["metadata", "name"]).unwrap_or("");
        let rendered = value_at(obj, path);
        for k in kustomizations {
            let file = clean(&self.root.join(k));
            let Some(doc) = self.docs(&file).and_then(|d| d.first()) else {
                continue;
            };
            let line = if path.last() == Some(&key("image")) {
                let image = rendered.and_then(Value::as_str).unwrap_or("");
                let repo = image_name(image);
                doc.value
                    .get("images")
                    .and_then(Value::as_array)
                    .and_then(|entries| {
                        entries.iter().position(|e| {
                            let new_name = e.get("newName").and_then(Value::as_str);
                            let old_name = e.get("name").and_then(Value::as_str);
                            new_name.or(old_name) == Some(repo)
                        })
                    })
                    .and_then(|i| doc.lines.line_of(&[key("images"), Seg::Index(i)]))
            } else if path == [key("spec"), key("replicas")] {
                doc.value
                    .get("replicas")
                    .and_then(Value::as_array)
                    .and_then(|entries| {
                        entries.iter().position(|e| {
                            e.get("name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| name.contains(n))
                        })
                    })
                    .and_then(|i| doc.lines.line_of(&[key("replicas"), Seg::Index(i)]))
            } else if path == [key("metadata"), key("namespace")] {
                doc.lines.line_of(&[key("namespace")])
            } else {
                None
            };
            if let Some(line) = line {
                return Some(self.place(&file, line));
            }
        }
        None
    }

    fn place(&self, file: &Path, line: usize) -> Place {
        let rel = file
            .strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| file.to_string_lossy().into_owned());
        Place { file: rel, line }
    }

    fn docs(&mut self, file: &Path) -> Option<&Vec<Document>> {
        let fs = self.fs;
        self.cache
            .entry(file.to_path_buf())
            .or_insert_with(|| {
                let bytes = fs.read(file).ok()?;
                let text = String::from_utf8(bytes).ok()?;
                parse_stream_with_lines(&text, &Limits::default()).ok()
            })
            .as_ref()
    }

    /// The line of `path` in a patch file, when the patch targets `obj` and sets the field.
    fn line_in_patch(
        &mut self,
        file: &Path,
        line: usize,
        obj: &Object,
        path: &[Seg],
    ) -> Option<usize> {
        let docs = self.docs(file)?;
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = crate::manifest::get_str(obj, &["metadata", "name"]).unwrap_or("");
        for doc in docs {
            if line > 0 && doc.line != line {
                continue;
            }
            let Some(map) = doc.value.as_object() else {
                continue;
            };
            // A strategic-merge patch names the object it patches (before any prefix or suffix).
            let pkind = map.get("kind").and_then(Value::as_str);
            let pname = crate::manifest::get_str(map, &["metadata", "name"]);
            let targets_obj = match (pkind, pname) {
                (Some(k), Some(n)) => k == kind && name.contains(n),
                (Some(k), None) => k == kind,
                _ => true,
            };
            if !targets_obj {
                continue;
            }
            if let Some((line, Some(_))) = walk(doc, obj, path, true) {
                return Some(line);
            }
        }
        None
    }

    /// The line of the generator entry in a kustomization that produced `obj`.
    fn generator_line(&mut self, file: &Path, obj: &Object) -> Option<usize> {
        let kind = obj.get("kind").and_then(Value::as_str)?;
        let field = match kind {
            "ConfigMap" => "configMapGenerator",
            "Secret" => "secretGenerator",
            _ => return None,
        };
        let name = crate::manifest::get_str(obj, &["metadata", "name"]).unwrap_or("");
        let docs = self.docs(file)?;
        let doc = docs.first()?;
        let entries = doc.value.get(field)?.as_array()?;
        let best = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let n = e.get("name")?.as_str()?;
                name.contains(n).then_some((n.len(), i))
            })
            .max()?;
        doc.lines
            .line_of(&[Seg::Key(field.into()), Seg::Index(best.1)])
            .or_else(|| doc.lines.line_of(&[Seg::Key(field.into())]))
    }
}

/// The line in a source document of `path` (a path in the rendered `obj`), or of the deepest
/// part of it the document spells out, with the source value when the whole path is there.
/// With `exact`, list items must match by key (patches address items by key).
fn walk<'d>(
    doc: &'d Document,
    obj: &Object,
    path: &[Seg],
    exact: bool,
) -> Option<(usize, Option<&'d Value>)> {
    let (src_path, value) = follow(&doc.value, obj, path, exact);
    let (line, _) = doc.lines.nearest(&src_path)?;
    Some((line, value))
}

/// How far `path` of the rendered `obj` goes in a source document: the source path found (list
/// positions translated by item keys) and the source value, when the whole path is there.
fn follow<'v>(
    src: &'v Value,
    obj: &Object,
    path: &[Seg],
    exact: bool,
) -> (Vec<Seg>, Option<&'v Value>) {
    let mut rendered: Option<&Value> = None;
    let mut source = src;
    let mut src_path: Vec<Seg> = Vec::with_capacity(path.len());
    for (depth, seg) in path.iter().enumerate() {
        let r = match (depth, seg) {
            (0, Seg::Key(k)) => obj.get(k),
            (_, Seg::Key(k)) => rendered.and_then(|v| v.get(k)),
            (_, Seg::Index(i)) => rendered.and_then(|v| v.get(*i)),
        };
        let next = match seg {
            Seg::Key(k) => source.get(k).map(|v| (Seg::Key(k.clone()), v)),
            Seg::Index(i) => source
                .as_array()
                .and_then(|items| match_item(items, r, *i, exact)),
        };
        let Some((s, v)) = next else {
            return (src_path, None);
        };
        src_path.push(s);
        source = v;
        rendered = r;
    }
    (src_path, Some(source))
}

/// Whether a kustomization field (`images`, `replicas`, `namespace`) can set this path.
fn transformable(path: &[Seg]) -> bool {
    let key = |s: &str| Seg::Key(s.to_string());
    path.last() == Some(&key("image"))
        || path == [key("spec"), key("replicas")]
        || path == [key("metadata"), key("namespace")]
}

/// The value at `path` of a rendered object.
fn value_at<'v>(obj: &'v Object, path: &[Seg]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut cur = obj.get(k)?;
    for seg in rest {
        cur = match seg {
            Seg::Key(k) => cur.get(k)?,
            Seg::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
}

/// The repository part of an image reference: `ghcr.io/a/b:1@sha256:…` → `ghcr.io/a/b`.
fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

/// The source list item that corresponds to the rendered item at `index`.
fn match_item<'v>(
    items: &'v [Value],
    rendered: Option<&Value>,
    index: usize,
    exact: bool,
) -> Option<(Seg, &'v Value)> {
    if let Some(r) = rendered.and_then(Value::as_object) {
        for key in ITEM_KEYS {
            if let Some(want) = r.get(*key).filter(|v| !v.is_object() && !v.is_array()) {
                return items
                    .iter()
                    .position(|it| it.get(*key) == Some(want))
                    .map(|i| (Seg::Index(i), &items[i]));
            }
        }
    } else if let Some(r) = rendered {
        // A scalar list (args, finalizers): match by value.
        if let Some(i) = items.iter().position(|it| it == r) {
            return Some((Seg::Index(i), &items[i]));
        }
    }
    if exact {
        return None;
    }
    items.get(index).map(|v| (Seg::Index(index), v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::fs::MemFs;
    use crate::kustomize::{BuildOptions, build};

    fn k(s: &str) -> Seg {
        Seg::Key(s.into())
    }

    fn demo() -> MemFs {
        let mut fs = MemFs::new();
        fs.add(
            "/r/base/kustomization.yaml",
            "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: other\n  literals: [a=b]\n- name: cfg\n  literals: [x=y]\n",
        );
        fs.add(
            "/r/base/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: side\n        image: side:1\n      - name: app\n        image: app:1\n        ports:\n        - containerPort: 80\n",
        );
        fs.add(
            "/r/envs/prod/kustomization.yaml",
            "resources:\n- ../../base\nnamePrefix: prod-\npatches:\n- path: patch.yaml\n",
        );
        fs.add(
            "/r/envs/prod/patch.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:latest\n",
        );
        fs
    }

    #[test]
    fn points_at_patch_base_and_generator_lines() {
        let fs = demo();
        let r = build(&fs, Path::new("/r/envs/prod"), &BuildOptions::default()).unwrap();
        let mut loc = Locator::new(&fs, Path::new("/r"));
        let ks = vec![
            "envs/prod/kustomization.yaml".to_string(),
            "base/kustomization.yaml".to_string(),
        ];
        let deploy = r
            .resources
            .iter()
            .find(|x| x.kind() == "Deployment")
            .unwrap();
        // The patched image: the patch file's line.
        let app = deploy.obj["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c["name"] == "app")
            .unwrap();
        let image = vec![
            k("spec"),
            k("template"),
            k("spec"),
            k("containers"),
            Seg::Index(app),
            k("image"),
        ];
        let p = loc
            .locate("envs/prod", &ks, &deploy.obj, &deploy.origin, &image)
            .unwrap();
        assert_eq!(
            p,
            Place {
                file: "envs/prod/patch.yaml".into(),
                line: 10
            }
        );
        // A field the patch does not set: the base file, matched by container name.
        let mut port = image.clone();
        port.pop();
        port.extend([k("ports"), Seg::Index(0)]);
        let p = loc
            .locate("envs/prod", &ks, &deploy.obj, &deploy.origin, &port)
            .unwrap();
        assert_eq!(
            p,
            Place {
                file: "base/deploy.yaml".into(),
                line: 14
            }
        );
        // A missing field: its deepest existing ancestor.
        let mut probe = image.clone();
        probe.pop();
        probe.push(k("readinessProbe"));
        let p = loc
            .locate("envs/prod", &ks, &deploy.obj, &deploy.origin, &probe)
            .unwrap();
        assert_eq!(
            p,
            Place {
                file: "base/deploy.yaml".into(),
                line: 11
            }
        );
        // A generated ConfigMap: its generator entry.
        let cm = r
            .resources
            .iter()
            .find(|x| x.name().starts_with("prod-cfg"))
            .unwrap();
        let p = loc
            .locate("envs/prod", &ks, &cm.obj, &cm.origin, &[k("data")])
            .unwrap();
        assert_eq!(
            p,
            Place {
                file: "base/kustomization.yaml".into(),
                line: 6
            }
        );
    }

    #[test]
    fn values_written_by_kustomization_fields_point_there() {
        let mut fs = demo();
        fs.add(
            "/r/envs/stage/kustomization.yaml",
            "resources:\n- ../../base\nnamespace: stage\nimages:\n- name: other\n  newTag: x\n- name: side\n  newName: ghcr.io/side\n  newTag: latest\nreplicas:\n- name: web\n  count: 3\n",
        );
        let r = build(&fs, Path::new("/r/envs/stage"), &BuildOptions::default()).unwrap();
        let ks = vec![
            "envs/stage/kustomization.yaml".to_string(),
            "base/kustomization.yaml".to_string(),
        ];
        let mut loc = Locator::new(&fs, Path::new("/r"));
        let d = r
            .resources
            .iter()
            .find(|x| x.kind() == "Deployment")
            .unwrap();
        let at = |loc: &mut Locator<'_>, p: Vec<Seg>| {
            loc.locate("envs/stage", &ks, &d.obj, &d.origin, &p)
                .unwrap()
        };
        let side = vec![
            k("spec"),
            k("template"),
            k("spec"),
            k("containers"),
            Seg::Index(0),
            k("image"),
        ];
        assert_eq!(
            at(&mut loc, side),
            Place {
                file: "envs/stage/kustomization.yaml".into(),
                line: 7
            }
        );
        // An image the kustomization leaves alone stays in the base.
        let app = vec![
            k("spec"),
            k("template"),
            k("spec"),
            k("containers"),
            Seg::Index(1),
            k("image"),
        ];
        assert_eq!(
            at(&mut loc, app),
            Place {
                file: "base/deploy.yaml".into(),
                line: 12
            }
        );
        assert_eq!(
            at(&mut loc, vec![k("spec"), k("replicas")]),
            Place {
                file: "envs/stage/kustomization.yaml".into(),
                line: 11
            }
        );
        assert_eq!(
            at(&mut loc, vec![k("metadata"), k("namespace")]),
            Place {
                file: "envs/stage/kustomization.yaml".into(),
                line: 3
            }
        );
        assert_eq!(
            image_name("ghcr.io:443/a/b:1.2@sha256:00"),
            "ghcr.io:443/a/b"
        );
        assert_eq!(image_name("host:5000/app"), "host:5000/app");
    }
}
