use super::*;

#[test]
fn image_names_drop_tag_and_digest() {
    assert_eq!(image_name("ghcr.io/acme/web:1.2.3"), "ghcr.io/acme/web");
    assert_eq!(image_name("localhost:5000/web"), "localhost:5000/web");
    assert_eq!(
        image_name("localhost:5000/web:1@sha256:ab"),
        "localhost:5000/web"
    );
    assert_eq!(image_name("nginx"), "nginx");
}

#[test]
fn dates_are_checked() {
    assert_eq!(
        Date::parse("2024-02-29"),
        Some(Date {
            year: 2024,
            month: 2,
            day: 29
        })
    );
    assert_eq!(Date::parse("2025-02-29"), None);
    assert_eq!(
        Date::parse("2026-12-20T00:00:00Z").map(|d| d.to_string()),
        Some("2026-12-20".into())
    );
    assert_eq!(Date::parse("2026-13-01"), None);
    assert_eq!(Date::parse("2026-1-01"), None);
    assert_eq!(Date::parse("+026-01-01"), None);
    assert_eq!(Date::parse("2026-12-20T10:00:00Z"), None);
}

#[test]
fn globs_match_paths_and_parents() {
    let g = Globs::new(&["apps/*/overlays/staging", "clusters/**/prod"]).unwrap();
    assert!(g.matches_path("apps/web/overlays/staging"));
    assert!(g.matches_path("./apps/web/overlays/staging/"));
    assert!(g.matches_path("apps/web/overlays/staging/extra"));
    assert!(!g.matches_path("apps/web/x/overlays/staging"));
    assert!(!g.matches_path("apps/web/overlays/staging-eu"));
    assert!(g.matches_path("clusters/prod"));
    assert!(g.matches_path("clusters/eu/west/prod"));
    assert!(!g.matches_path(""));
    assert!(Globs::new(&["a/[b"]).is_err());
}

#[test]
fn quote_cuts_long_text() {
    assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    let long = "é".repeat(100);
    let q = quote(&long);
    assert!(q.ends_with('…') && q.chars().count() == 64 + 3, "{q}");
}

#[test]
fn double_star_suffix_covers_the_directory_itself() {
    let g = Globs::new(&["vendor/**"]).unwrap();
    assert!(g.matches_path("vendor/a"));
    assert!(g.matches_path("vendor/a/b/kustomization.yaml"));
    assert!(!g.matches_path("vendored/a"));
    assert!(g.matches_path("vendor"));
    assert!(g.is_match("vendor"));
}
