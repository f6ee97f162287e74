//! Planning a promotion (pure: reads a [`Snapshot`], writes nothing).
//!
//! Promoting to an environment brings the image versions of the source environment's targets
//! into the matching targets of the destination. The source is the environment before the
//! destination in `environments:` order ([`source_environment`]), or one named explicitly.
//!
//! Each destination target is matched with a source target: the directory whose path segment
//! equal to the destination's name is replaced by the source's (`overlays/production` ↔
//! `overlays/staging`); else, when each environment has exactly one target, those two. Both are
//! rendered; for each image name (the reference without tag and digest) used by the workloads
//! of both with a different reference, the destination's own kustomization file gets an
//! `images:` edit making it render the source's reference. The edited destinations are rendered
//! again from memory and must now use exactly the source's references.
//!
//! Nothing is half-done: every image that cannot be promoted automatically is a [`Problem`]
//! naming the file to edit, and a promotion with problems must not be written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use super::edit::{ImageEdit, set_images};
use crate::checks::workload::{parse_image, pod_template};
use crate::kustomize::fs::clean;
use crate::kustomize::kustomization::FILE_NAMES;
use crate::kustomize::{BuildOptions, Rendered, build};
use crate::repo::Snapshot;
use crate::repo::config::RepoConfig;
use crate::repo::targets::{self, Target};
use crate::yaml::{self, Limits};

/// A promotion that cannot even be planned (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(".github/warden.yml declares no environments; promotion needs `environments:`")]
    NoEnvironments,
    #[error("unknown environment {name:?}; the environments are: {}", .known.join(", "))]
    UnknownEnvironment { name: String, known: Vec<String> },
    #[error(
        "{to:?} is the first environment, so there is none to promote from; name one with --from"
    )]
    FirstEnvironment { to: String },
    #[error("cannot promote {0:?} to itself")]
    SameEnvironment(String),
}

/// Something that keeps an image from being promoted automatically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The repo-relative file to look at (or edit by hand), when there is one.
    pub file: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) if !self.message.contains(file.as_str()) => {
                write!(f, "{file}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

/// One image brought up to the source's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChange {
    /// The image name (without tag and digest).
    pub name: String,
    /// The destination's reference(s) before, joined with `, ` when several.
    pub old: String,
    /// The source's reference.
    pub new: String,
}

/// The promotion of one destination target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPromotion {
    pub from_dir: String,
    pub to_dir: String,
    /// The destination's kustomization file, repo-relative.
    pub file: String,
    /// Empty when the target is already up to date.
    pub images: Vec<ImageChange>,
}

/// A file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Repo-relative.
    pub path: String,
    pub before: String,
    pub after: String,
}

impl FileChange {
    /// A unified diff of the change, `a/PATH` to `b/PATH`.
    pub fn unified_diff(&self) -> String {
        similar::TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", self.path), &format!("b/{}", self.path))
            .to_string()
    }
}

/// What promoting `from` to `to` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub from: String,
    pub to: String,
    pub targets: Vec<TargetPromotion>,
    /// The files to write; only to be written when `problems` is empty.
    pub files: Vec<FileChange>,
    pub problems: Vec<Problem>,
}

impl Promotion {
    /// Nothing to do and nothing wrong.
    pub fn up_to_date(&self) -> bool {
        self.files.is_empty() && self.problems.is_empty()
    }
}

/// The environment before `to` in `environments:` order.
pub fn source_environment(config: &RepoConfig, to: &str) -> Result<String, PlanError> {
    let names: Vec<String> = config.environments.iter().map(|e| e.name.clone()).collect();
    if names.is_empty() {
        return Err(PlanError::NoEnvironments);
    }
    match names.iter().position(|n| n == to) {
        None => Err(PlanError::UnknownEnvironment {
            name: to.to_string(),
            known: names,
        }),
        Some(0) => Err(PlanError::FirstEnvironment { to: to.to_string() }),
        Some(i) => Ok(names[i - 1].clone()),
    }
}

/// Plan promoting `from` (default: [`source_environment`]) to `to` in the snapshot.
pub fn plan(
    snap: &Snapshot,
    config: &RepoConfig,
    from: Option<&str>,
    to: &str,
) -> Result<Promotion, PlanError> {
    let from = match from {
        Some(f) => f.to_string(),
        None => source_environment(config, to)?,
    };
    let known: Vec<String> = config.environments.iter().map(|e| e.name.clone()).collect();
    if known.is_empty() {
        return Err(PlanError::NoEnvironments);
    }
    for name in [&from, &to.to_string()] {
        if !known.contains(name) {
            return Err(PlanError::UnknownEnvironment {
                name: name.clone(),
                known,
            });
        }
    }
    if from == to {
        return Err(PlanError::SameEnvironment(from));
    }
    let env_of = |dir: &str| config.environment_of(dir).map(|e| e.name.clone());
    let ignored = |path: &str| config.is_ignored(path);
    let all = targets::discover(snap, Some(&env_of), &ignored).targets;
    let of = |env: &str| -> Vec<&Target> { all.iter().filter(|t| t.environment == env).collect() };
    let (sources, dests) = (of(&from), of(to));
    let mut out = Promotion {
        from: from.clone(),
        to: to.to_string(),
        targets: Vec::new(),
        files: Vec::new(),
        problems: Vec::new(),
    };
    if dests.is_empty() {
        out.problems.push(Problem {
            file: None,
            message: format!(
                "environment {to:?} has no targets (no kustomization matches its paths)"
            ),
        });
        return Ok(out);
    }
    let mut planned: Vec<Planned> = Vec::new();
    for dest in &dests {
        let file = kustomization_file(snap, &dest.dir);
        let Some(source) = match_source(&from, to, dest, &sources, dests.len()) else {
            out.problems.push(Problem {
                file: Some(file),
                message: format!(
                    "no target of {from:?} matches {:?} (looked for {:?})",
                    dest.dir,
                    swap_segment(&dest.dir, to, &from)
                ),
            });
            continue;
        };
        match plan_target(snap, &source.dir, &dest.dir, &file, &from, to) {
            Ok(p) => planned.push(p),
            Err(mut problems) => out.problems.append(&mut problems),
        }
    }
    // Edit each destination file once, with every edit for it.
    let mut by_file: BTreeMap<String, Vec<ImageEdit>> = BTreeMap::new();
    for p in &planned {
        by_file
            .entry(p.target.file.clone())
            .or_default()
            .extend(p.edits.iter().cloned());
    }
    for (path, edits) in &by_file {
        if edits.is_empty() {
            continue;
        }
        let Some(before) = snap.read_text(path) else {
            out.problems.push(Problem {
                file: Some(path.clone()),
                message: format!("cannot read {path}"),
            });
            continue;
        };
        match set_images(path, &before, edits) {
            Ok(after) if after != before => out.files.push(FileChange {
                path: path.clone(),
                before,
                after,
            }),
            Ok(_) => {}
            Err(e) => out.problems.push(Problem {
                file: Some(path.clone()),
                message: e.to_string(),
            }),
        }
    }
    if out.problems.is_empty() && !out.files.is_empty() {
        out.problems.extend(verify(snap, &planned, &out.files));
    }
    out.targets = planned.into_iter().map(|p| p.target).collect();
    Ok(out)
}

/// A destination target's planned edits, and what its images must become.
struct Planned {
    target: TargetPromotion,
    edits: Vec<ImageEdit>,
    /// Image name → the source's reference.
    want: BTreeMap<String, String>,
}

fn match_source<'t>(
    from: &str,
    to: &str,
    dest: &Target,
    sources: &[&'t Target],
    dest_count: usize,
) -> Option<&'t Target> {
    let wanted = swap_segment(&dest.dir, to, from);
    sources
        .iter()
        .find(|s| s.dir == wanted)
        .or_else(|| (sources.len() == 1 && dest_count == 1).then(|| &sources[0]))
        .copied()
}

/// `dir` with every path segment equal to `to` replaced by `from`.
fn swap_segment(dir: &str, to: &str, from: &str) -> String {
    dir.split('/')
        .map(|s| if s == to { from } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The repo-relative path of a directory's kustomization file.
fn kustomization_file(snap: &Snapshot, dir: &str) -> String {
    let join = |n: &str| {
        if dir == "." {
            n.to_string()
        } else {
            format!("{dir}/{n}")
        }
    };
    FILE_NAMES
        .iter()
        .map(|n| join(n))
        .find(|p| snap.exists(p))
        .unwrap_or_else(|| join(FILE_NAMES[0]))
}

fn render(snap: &Snapshot, dir: &str) -> Result<Rendered, String> {
    build(snap.fs(), &snap.path(dir), &BuildOptions::default()).map_err(|e| e.to_string())
}

/// Image name → the references the workloads of a render use, with the indexes of the
/// resources using each name.
type Images = BTreeMap<String, (BTreeSet<String>, Vec<usize>)>;

/// The container and init container images of a render's workloads.
pub fn workload_images(rendered: &Rendered) -> BTreeMap<String, BTreeSet<String>> {
    images(rendered)
        .into_iter()
        .map(|(k, (refs, _))| (k, refs))
        .collect()
}

fn images(rendered: &Rendered) -> Images {
    let mut out: Images = BTreeMap::new();
    for (i, r) in rendered.resources.iter().enumerate() {
        let Some(tpl) = pod_template(&r.obj) else {
            continue;
        };
        for field in ["initContainers", "containers"] {
            for c in tpl
                .spec
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(image) = c.get("image").and_then(Value::as_str) {
                    let e = out.entry(parse_image(image).name.to_string()).or_default();
                    e.0.insert(image.to_string());
                    if !e.1.contains(&i) {
                        e.1.push(i);
                    }
                }
            }
        }
    }
    out
}

/// The `images:` entries of a kustomization file: (name, newName).
fn image_entries(text: &str) -> Vec<(String, String)> {
    let limits = Limits {
        allow_duplicate_keys: true,
        ..Limits::default()
    };
    let Ok(docs) = yaml::parse_stream(text, &limits) else {
        return Vec::new();
    };
    let Some(items) = docs
        .first()
        .and_then(|d| d.value.get("images"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    items
        .iter()
        .map(|i| {
            let s = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (s("name"), s("newName"))
        })
        .collect()
}

/// The edits bringing one destination target to its source's images.
fn plan_target(
    snap: &Snapshot,
    from_dir: &str,
    to_dir: &str,
    file: &str,
    from: &str,
    to: &str,
) -> Result<Planned, Vec<Problem>> {
    let mut problems = Vec::new();
    let source = match render(snap, from_dir) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem {
                file: Some(kustomization_file(snap, from_dir)),
                message: format!("the {from} target {from_dir} does not render: {e}"),
            });
            return Err(problems);
        }
    };
    let dest = match render(snap, to_dir) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem {
                file: Some(file.to_string()),
                message: format!("the {to} target {to_dir} does not render: {e}"),
            });
            return Err(problems);
        }
    };
    let (src_images, dest_images) = (images(&source), images(&dest));
    let text = snap.read_text(file).unwrap_or_default();
    let entries = image_entries(&text);
    let mut target = TargetPromotion {
        from_dir: from_dir.to_string(),
        to_dir: to_dir.to_string(),
        file: file.to_string(),
        images: Vec::new(),
    };
    let mut edits = Vec::new();
    let mut want = BTreeMap::new();
    for (name, (dest_refs, users)) in &dest_images {
        let Some((src_refs, _)) = src_images.get(name) else {
            continue;
        };
        if src_refs == dest_refs {
            continue;
        }
        let [src_ref] = src_refs.iter().collect::<Vec<_>>()[..] else {
            problems.push(Problem {
                file: Some(kustomization_file(snap, from_dir)),
                message: format!(
                    "the {from} target {from_dir} uses several versions of {name} ({}); \
                     cannot tell which to promote",
                    join(src_refs)
                ),
            });
            continue;
        };
        let parsed = parse_image(src_ref);
        if parsed.tag.is_none() && parsed.digest.is_none() {
            problems.push(Problem {
                file: Some(file.to_string()),
                message: format!(
                    "cannot promote automatically, edit {file} by hand: the {from} image \
                     {src_ref} has neither tag nor digest"
                ),
            });
            continue;
        }
        // The entry that makes this image: by `newName`, else by `name`.
        let by_new_name: Vec<&(String, String)> =
            entries.iter().filter(|(_, n)| n == name).collect();
        let entry_name = match by_new_name.as_slice() {
            [(n, _)] => n.clone(),
            [] => name.clone(),
            _ => {
                problems.push(Problem {
                    file: Some(file.to_string()),
                    message: format!(
                        "{file}: several `images:` entries set newName {name}; keep one of them"
                    ),
                });
                continue;
            }
        };
        let has_entry = entries.iter().any(|(n, _)| *n == entry_name);
        if !has_entry && let Some(patch) = patch_setting(snap, to_dir, &dest, users, name) {
            problems.push(Problem {
                file: Some(patch.clone()),
                message: format!(
                    "cannot promote automatically, edit {patch} by hand: it sets the image \
                     {name} of {to_dir} (not an `images:` entry of {file}); promote to {src_ref}"
                ),
            });
            continue;
        }
        edits.push(ImageEdit {
            name: entry_name,
            new_name: None,
            new_tag: parsed.tag.map(str::to_string),
            digest: parsed.digest.map(str::to_string),
        });
        want.insert(name.clone(), src_ref.clone());
        target.images.push(ImageChange {
            name: name.clone(),
            old: join(dest_refs),
            new: src_ref.clone(),
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Planned {
        target,
        edits,
        want,
    })
}

fn join(refs: &BTreeSet<String>) -> String {
    refs.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// A patch file of the destination overlay (under its directory, its kustomization for inline
/// patches) that touched a workload using the image and mentions it.
fn patch_setting(
    snap: &Snapshot,
    to_dir: &str,
    dest: &Rendered,
    users: &[usize],
    name: &str,
) -> Option<String> {
    let prefix = format!("{to_dir}/");
    for &i in users {
        let r = dest.resources.get(i)?;
        for p in &r.origin.patches {
            let abs = clean(&snap.path(to_dir).join(&p.file));
            let Some(rel) = snap.relative(&abs) else {
                continue;
            };
            if !(to_dir == "." || rel.starts_with(&prefix)) {
                continue;
            }
            if snap.read_text(&rel).is_some_and(|t| t.contains(name)) {
                return Some(rel);
            }
        }
    }
    None
}

/// Render the edited destinations from memory: each promoted image must now be exactly the
/// source's reference.
fn verify(snap: &Snapshot, planned: &[Planned], files: &[FileChange]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for p in planned.iter().filter(|p| !p.edits.is_empty()) {
        // The files the destination's render reads (its kustomization among them).
        if let Ok(r) = render(snap, &p.target.to_dir) {
            for abs in &r.inputs {
                if let (Some(rel), Ok(bytes)) = (snap.relative(abs), snap.fs().read(abs)) {
                    contents.insert(rel, bytes);
                }
            }
        }
    }
    for f in files {
        contents.insert(f.path.clone(), f.after.clone().into_bytes());
    }
    let edited = Snapshot::from_files(snap.root(), "promoted", contents);
    for p in planned.iter().filter(|p| !p.edits.is_empty()) {
        let file = &p.target.file;
        let rendered = match render(&edited, &p.target.to_dir) {
            Ok(r) => images(&r),
            Err(e) => {
                problems.push(Problem {
                    file: Some(file.clone()),
                    message: format!(
                        "cannot promote automatically, edit {file} by hand: after the edit, \
                         {} does not render: {e}",
                        p.target.to_dir
                    ),
                });
                continue;
            }
        };
        for (name, want) in &p.want {
            let got = rendered.get(name).map(|(refs, _)| refs.clone());
            if got
                .as_ref()
                .is_none_or(|g| g.len() != 1 || !g.contains(want))
            {
                problems.push(Problem {
                    file: Some(file.clone()),
                    message: format!(
                        "cannot promote automatically, edit {file} by hand: after the edit, {} \
                         renders {name} as {}, not {want}",
                        p.target.to_dir,
                        got.map_or_else(|| "nothing".to_string(), |g| join(&g)),
                    ),
                });
            }
        }
    }
    problems
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
