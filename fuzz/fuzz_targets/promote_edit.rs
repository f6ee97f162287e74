//! Arbitrary text as a kustomization file for the surgical `images:` editor: it must never
//! panic, and whatever it returns must read back as the intended images (the editor checks that
//! itself; here, the result is parsed again to be sure it is YAML). The stable stand-in is the
//! proptest in src/promote/edit_tests.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::promote::edit::{ImageEdit, set_images};
use warden::yaml::{Limits, parse_stream};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line names the image and the tag to set; the rest is the file.
    let (head, file) = text.split_once('\n').unwrap_or(("app 1.0", text));
    let mut words = head.split_whitespace();
    let name = words.next().unwrap_or("app").to_string();
    let new_tag = words.next().map(str::to_string);
    let digest = words.next().map(str::to_string);
    let edits = [ImageEdit {
        name,
        new_name: None,
        new_tag,
        digest,
    }];
    if let Ok(out) = set_images("kustomization.yaml", file, &edits) {
        let limits = Limits {
            allow_duplicate_keys: true,
            ..Limits::default()
        };
        assert!(
            parse_stream(&out, &limits).is_ok(),
            "the edited file must parse"
        );
    }
});
