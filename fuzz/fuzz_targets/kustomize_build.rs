//! Arbitrary bytes as a small kustomization tree in memory, built with default options: the
//! build may fail but must never panic or hang.
//!
//! Input format (see `seed_corpus.sh`): the text up to the first line starting with `#%% ` is
//! `/r/app/kustomization.yaml`; each `#%% PATH` line starts another file at `/r/app/PATH` (at
//! most eight). `/r/base/` holds a fixed Deployment base so overlays have something to patch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use warden::kustomize::{self, BuildOptions, fs::MemFs};

const BASE_K: &str = "resources:\n- base.yaml\n";
const BASE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: nginx:1\n";

fuzz_target!(|data: &[u8]| {
    let mut fs = MemFs::new();
    fs.add("/r/base/kustomization.yaml", BASE_K);
    fs.add("/r/base/base.yaml", BASE);
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split("\n#%% ");
    fs.add(
        "/r/app/kustomization.yaml",
        parts.next().unwrap_or("").as_bytes(),
    );
    for part in parts.take(8) {
        let (name, body) = part.split_once('\n').unwrap_or((part, ""));
        let name = name.trim();
        if !name.is_empty() && !name.contains('\0') {
            fs.add(Path::new("/r/app").join(name), body.as_bytes());
        }
    }
    if let Ok(r) = kustomize::build(&fs, Path::new("/r/app"), &BuildOptions::default()) {
        let _ = r.to_yaml();
    }
});
