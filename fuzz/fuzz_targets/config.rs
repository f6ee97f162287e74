//! Arbitrary bytes (read as lossy UTF-8) through the config loader: the text up to a line
//! `#%% org` is the repo file `.github/warden.yml`, the text after it (if any) the org default
//! `warden.yml`. Loading must never panic, and a config that loads must answer its helpers.
//! `tests/config.rs` runs the same steps on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::checks::Level;
use warden::repo::config;

const KNOWN_RULES: &[&str] = &[
    "image-tag-mutable",
    "image-digest-required",
    "pdb-missing",
    "resources-limits-missing",
    "ref-missing",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (repo, org) = match text.split_once("\n#%% org\n") {
        Some((r, o)) => (r, Some(o)),
        None => (&*text, None),
    };
    let org = org.map(|o| ("acme/.github/warden.yml", o));
    match config::load(Some((config::REPO_FILE, repo)), org, KNOWN_RULES) {
        Ok(c) => {
            for env in c.environments.iter().map(|e| Some(e.name.as_str())).chain([None]) {
                let _ = c.level("pdb-missing", env, Level::Info);
                let _ = c.kube_version_for(env);
            }
            for dir in ["overlays/staging", "apps/web/overlays/production/eu", "", "./a//b/"] {
                let _ = c.environment_of(dir);
                let _ = c.is_ignored(dir);
            }
            let _ = c.automerge.image_rule("ghcr.io/acme/web:1.2.3@sha256:00");
            let _ = c.external_refs().len();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
