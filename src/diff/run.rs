//! The rendered diff of a whole repo: which targets a change affects, and each one's base and
//! head renders compared.

use std::collections::BTreeSet;

use std::collections::HashMap;

use super::normalize::key_of;
use super::{
    DiffReport, ObjectKey, PathSeg, Side, SourcePlace, Status, TargetChange, TargetDiff,
    TargetState, diff, key_of_object,
};
use crate::checks::locate::{Locator, kustomizations_of};
use crate::kustomize::resource::Resource;
use crate::kustomize::{BuildOptions, Rendered, build_reading, fs::clean};
use crate::manifest::{Object, Origin, Seg};
use crate::repo::Snapshot;
use crate::repo::config::RepoConfig;
use crate::repo::targets::{self, Target};

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Only targets of this environment.
    pub environment: Option<String>,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// The files that differ between two snapshots (added, removed or with other bytes), sorted.
pub fn changed_files(base: &Snapshot, head: &Snapshot) -> Vec<String> {
    let read = |s: &Snapshot, f: &str| s.fs().read(&s.path(f)).ok();
    let (b, h) = (base.files(), head.files());
    let mut out: BTreeSet<String> = BTreeSet::new();
    for f in b.iter().chain(h) {
        if out.contains(f) {
            continue;
        }
        let in_b = b.binary_search(f).is_ok();
        let in_h = h.binary_search(f).is_ok();
        if in_b != in_h || read(base, f) != read(head, f) {
            out.insert(f.clone());
        }
    }
    out.into_iter().collect()
}

/// Compare every target the change between `base` and `head` affects. Targets come from
/// `config` (its environments) or discovery, at both commits; a target is affected when a file
/// its render reads at either commit changed, or when it exists at only one of them.
pub fn diff_snapshots(
    base: &Snapshot,
    head: &Snapshot,
    config: &RepoConfig,
    opts: &DiffOptions,
) -> DiffReport {
    let changed = changed_files(base, head);
    let targets = union_targets(base, head, config, opts.environment.as_deref());
    let compared =
        crate::parallel::map(&targets, opts.threads, |t| compare(base, head, t, &changed));
    DiffReport {
        base: base.label().to_string(),
        head: head.label().to_string(),
        targets: compared.into_iter().flatten().collect(),
    }
}

/// The targets at head, then those only found at base; environment order is kept.
fn union_targets(
    base: &Snapshot,
    head: &Snapshot,
    config: &RepoConfig,
    environment: Option<&str>,
) -> Vec<Target> {
    let has_envs = !config.environments.is_empty();
    let env_of = |dir: &str| config.environment_of(dir).map(|e| e.name.clone());
    let ignored = |path: &str| config.is_ignored(path);
    let find = |s: &Snapshot| {
        targets::discover(s, if has_envs { Some(&env_of) } else { None }, &ignored).targets
    };
    let mut all = find(head);
    let seen: BTreeSet<String> = all.iter().map(|t| t.dir.clone()).collect();
    all.extend(find(base).into_iter().filter(|t| !seen.contains(&t.dir)));
    if let Some(env) = environment {
        all.retain(|t| t.environment == env);
    }
    all
}

type Build = Result<Rendered, (crate::kustomize::Error, BTreeSet<std::path::PathBuf>)>;

/// A target's render at one commit; `None` when the commit has no kustomization there.
fn render(snap: &Snapshot, dir: &str) -> Option<Build> {
    let has = crate::kustomize::kustomization::FILE_NAMES.iter().any(|n| {
        snap.exists(&if dir == "." {
            n.to_string()
        } else {
            format!("{dir}/{n}")
        })
    });
    has.then(|| build_reading(snap.fs(), &snap.path(dir), &BuildOptions::default()))
}

fn compare(
    base: &Snapshot,
    head: &Snapshot,
    target: &Target,
    changed: &[String],
) -> Option<TargetChange> {
    let b = render(base, &target.dir);
    let h = render(head, &target.dir);
    let reads = |snap: &Snapshot, build: &Option<Build>| -> Vec<String> {
        let inputs = match build {
            Some(Ok(r)) => &r.inputs,
            Some(Err((_, read))) => read,
            None => return Vec::new(),
        };
        inputs.iter().filter_map(|p| snap.relative(p)).collect()
    };
    let mut closure = reads(base, &b);
    closure.extend(reads(head, &h));
    let touches = |f: &String| changed.binary_search(f).is_ok();
    let failed = matches!(b, Some(Err(_))) || matches!(h, Some(Err(_)));
    let prefix = format!("{}/", target.dir);
    let affected = b.is_none() != h.is_none()
        || closure.iter().any(touches)
        // A failed build may not have read a file added to the target's own directory.
        || (failed && changed.iter().any(|f| target.dir == "." || f.starts_with(&prefix)));
    if !affected {
        return None;
    }
    let sides = |snap: &Snapshot, r: &Rendered| -> Vec<(crate::manifest::Object, Origin)> {
        r.resources
            .iter()
            .map(|res| (res.obj.clone(), repo_origin(snap, &target.dir, &res.origin)))
            .collect()
    };
    let (state, base_objs, head_objs) = match (&b, &h) {
        (_, Some(Err((e, _)))) => (
            TargetState::HeadError {
                message: e.to_string(),
            },
            Vec::new(),
            Vec::new(),
        ),
        (Some(Err((e, _))), _) => (
            TargetState::BaseError {
                message: e.to_string(),
            },
            Vec::new(),
            Vec::new(),
        ),
        (Some(Ok(b)), Some(Ok(h))) => (TargetState::Rendered, sides(base, b), sides(head, h)),
        (None, Some(Ok(h))) => (TargetState::New, Vec::new(), sides(head, h)),
        (Some(Ok(b)), None) => (TargetState::Gone, sides(base, b), Vec::new()),
        (None, None) => return None,
    };
    let mut diff: TargetDiff = match state {
        TargetState::BaseError { .. } | TargetState::HeadError { .. } => TargetDiff::default(),
        _ => diff(&as_sides(&base_objs), &as_sides(&head_objs)),
    };
    if let Some(Ok(rendered)) = &h {
        locate_changes(head, &target.dir, rendered, &mut diff);
    }
    Some(TargetChange {
        target: target.clone(),
        state,
        diff,
    })
}

/// The origin with its files made repo-relative (the engine names them relative to the build
/// directory).
fn repo_origin(snap: &Snapshot, target_dir: &str, origin: &Origin) -> Origin {
    let rel = |file: &str| {
        if file.is_empty() {
            return String::new();
        }
        let abs = clean(&snap.path(target_dir).join(file));
        snap.relative(&abs).unwrap_or_else(|| file.to_string())
    };
    let mut o = origin.clone();
    o.file = rel(&origin.file);
    for p in &mut o.patches {
        p.file = rel(&p.file);
    }
    o
}

fn as_sides(objects: &[(crate::manifest::Object, Origin)]) -> Vec<Side<'_>> {
    objects
        .iter()
        .map(|(obj, origin)| Side {
            obj,
            origin: Some(origin),
        })
        .collect()
}

/// Point each changed object at the line that made its first change (the overlay's `images`
/// entry of an image bump, the patch that set a field), rather than at the document it came
/// from.
fn locate_changes(snap: &Snapshot, dir: &str, rendered: &Rendered, diff: &mut TargetDiff) {
    let inputs: Vec<String> = rendered
        .inputs
        .iter()
        .filter_map(|p| snap.relative(p))
        .collect();
    let kustomizations = kustomizations_of(dir, inputs.iter());
    let mut locator = Locator::new(snap.fs(), snap.root());
    let by_key: HashMap<ObjectKey, &Resource> = rendered
        .resources
        .iter()
        .map(|r| (key_of_object(&r.obj), r))
        .collect();
    for o in diff
        .objects
        .iter_mut()
        .filter(|o| o.status == Status::Changed)
    {
        let Some(r) = by_key.get(&o.key) else {
            continue;
        };
        let Some(path) = o.fields.iter().find_map(|f| raw_path(&r.obj, &f.path.0)) else {
            continue;
        };
        if let Some(place) = locator.locate(dir, &kustomizations, &r.obj, &r.origin, &path) {
            let generator = o.source.as_ref().and_then(|s| s.generator.clone());
            o.source = Some(SourcePlace {
                file: place.file,
                line: place.line,
                generator,
            });
        }
    }
}

/// A field path as positions in the rendered object (keyed items found by their keys); `None`
/// when the object has no such field (a removed one).
fn raw_path(obj: &Object, path: &[PathSeg]) -> Option<Vec<Seg>> {
    let mut out = Vec::with_capacity(path.len());
    let mut cur: Option<&serde_json::Value> = None;
    for seg in path {
        let (next, s) = match (seg, cur) {
            (PathSeg::Field(f), None) => (obj.get(f)?, Seg::Key(f.clone())),
            (PathSeg::Field(f), Some(v)) => (v.get(f)?, Seg::Key(f.clone())),
            (PathSeg::Index(i), Some(v)) => (v.get(*i)?, Seg::Index(*i)),
            (PathSeg::Keyed(keys), Some(v)) => {
                let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
                let (i, item) = v
                    .as_array()?
                    .iter()
                    .enumerate()
                    .find(|(_, item)| key_of(item, &names) == *keys)?;
                (item, Seg::Index(i))
            }
            _ => return None,
        };
        out.push(s);
        cur = Some(next);
    }
    Some(out)
}
