//! The kernel crate mounts every core module with `#[path]`; this keeps the
//! two module lists equal, so nothing `cargo test` checks is left out of the
//! module (or compiled there without `#[forbid(unsafe_code)]`).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn core_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(root().join("core/src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn kernel_crate_mounts_every_core_module() {
    let krate = fs::read_to_string(root().join("rust/rgvt.rs")).unwrap();
    let lines: Vec<&str> = krate.lines().map(str::trim).collect();
    let mut mounted = BTreeSet::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix("#[path = \"../core/src/") else {
            continue;
        };
        let file = rest.trim_end_matches(".rs\"]");
        assert_eq!(
            lines.get(i + 1).copied(),
            Some(format!("pub mod {file};").as_str()),
            "#[path] of {file} must mount `pub mod {file};`"
        );
        assert_eq!(
            lines.get(i.wrapping_sub(1)).copied(),
            Some("#[forbid(unsafe_code)]"),
            "core module {file} must be mounted with #[forbid(unsafe_code)]"
        );
        mounted.insert(file.to_string());
    }
    assert_eq!(mounted, core_modules());
}
