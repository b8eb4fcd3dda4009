//! The kernel crate mounts `core/src/lib.rs` once, as a module, and re-exports it at its
//! root: every module lib.rs declares is then compiled in the kernel module too, with the
//! `#![forbid(unsafe_code)]` of lib.rs. This keeps that mount as it must be, and keeps
//! core files from being mounted a second time by `#[path]` in the kernel crate.

use std::fs;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn kernel_crate_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("rust")];
    while let Some(dir) = dirs.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = fs::read_to_string(&p).unwrap();
                out.push((p.display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn kernel_crate_mounts_the_core_once() {
    let krate = fs::read_to_string(root().join("rust/rgvt.rs")).unwrap();
    let lines: Vec<&str> = krate.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == "#[path = \"../core/src/lib.rs\"]")
        .expect("rust/rgvt.rs must mount core/src/lib.rs");
    assert_eq!(lines.get(at + 1).copied(), Some("pub mod rgvt_core;"));
    assert!(
        lines.contains(&"pub use rgvt_core::*;"),
        "the core must be re-exported at the root, so `crate::gm` resolves in both crates"
    );
    for (file, text) in kernel_crate_files() {
        for l in text.lines() {
            if l.contains("#[path") && l.contains("core/src/") {
                assert!(
                    l.trim() == "#[path = \"../core/src/lib.rs\"]" && file.ends_with("rgvt.rs"),
                    "{file}: core files are mounted only through lib.rs: {l}"
                );
            }
        }
    }
}

#[test]
fn core_forbids_unsafe_code_at_its_root() {
    let lib = fs::read_to_string(root().join("core/src/lib.rs")).unwrap();
    assert!(lib.lines().any(|l| l.trim() == "#![forbid(unsafe_code)]"));
}
