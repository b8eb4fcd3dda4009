//! The kernel crate mounts `core/src/lib.rs` once, as a module, and re-exports it at its
//! root: every module lib.rs declares is then compiled in the kernel module too, with the
//! `#![forbid(unsafe_code)]` of lib.rs. This keeps that mount as it must be, and keeps
//! core files from being mounted a second time by `#[path]` in the kernel crate.

use std::fs;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Every `.rs` file below `dir` (relative to the repository), with its text.
fn rs_files(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join(dir)];
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

fn kernel_crate_files() -> Vec<(String, String)> {
    rs_files("rust")
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

/// Core modules are found by the default rules in both builds (lib.rs is mounted, so its
/// children resolve as cargo resolves them): a `#[path]` in the core is a layout the two
/// builds might not share.
#[test]
fn core_modules_have_no_path_attributes() {
    for (path, text) in rs_files("core/src") {
        for l in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            assert!(!l.contains("#[path"), "{path}: {l}");
        }
    }
}

#[test]
fn core_forbids_unsafe_code_at_its_root() {
    let lib = fs::read_to_string(root().join("core/src/lib.rs")).unwrap();
    assert!(lib.lines().any(|l| l.trim() == "#![forbid(unsafe_code)]"));
}

/// The kernel crate's layers, lowest first; a module may import only from its own layer or
/// below (`Documentation/rgvt/design.rst` draws them). The core's modules are below all.
const LAYERS: [(&str, &[&str]); 5] = [
    (
        "C wrappers",
        &[
            "acct", "bindings", "c_layout", "c_static", "debugfs", "eventfd", "kstorage",
            "kthread", "mdev", "page", "params", "sched", "sysfs", "vfio", "worker",
        ],
    ),
    ("backends", &["backend"]),
    ("vGPU emulation", &["engines", "ggtt", "vgpu"]),
    ("the parent", &["parent"]),
    ("glue", &["glue", "rgvt"]),
];

/// The files that may contain `unsafe`: the C wrappers, and the i915 backend's C hooks.
const UNSAFE_FILES: [&str; 18] = [
    "acct",
    "bindings",
    "c_layout",
    "c_static",
    "debugfs",
    "eventfd",
    "kstorage",
    "kthread",
    "mdev",
    "page",
    "params",
    "sched",
    "sysfs",
    "vfio",
    "vfio/ioctl",
    "vfio/session",
    "worker",
    "backend/i915",
];

/// `rust/a/b.rs` -> `a/b`.
fn module_of(path: &str) -> String {
    let rel = path.split("/rust/").last().unwrap();
    rel.trim_end_matches(".rs").to_string()
}

/// The lines of `text` that are code (no comment lines, no doc lines).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// The kernel crate's modules (as `a/b`) that `module` names in its code: `crate::a::b`,
/// `super::x` and `use` lists under them, resolved to the deepest module file that exists.
fn imports(module: &str, text: &str, modules: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let parent = module.rsplit_once('/').map(|(p, _)| p.to_string());
    for line in code_lines(text) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::").or_else(|| rest.find("super::")) {
            let is_super = rest[i..].starts_with("super::");
            let tail = &rest[i + 7..];
            let path: Vec<&str> = tail
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .filter(|s| !s.is_empty())
                .collect();
            let mut segs: Vec<String> = Vec::new();
            if is_super {
                if let Some(p) = &parent {
                    segs.extend(p.split('/').map(str::to_string));
                }
            }
            segs.extend(path.iter().map(|s| s.to_string()));
            // The deepest prefix that is a module file.
            for n in (1..=segs.len()).rev() {
                let m = segs[..n].join("/");
                if modules.contains(&m) {
                    if m != module {
                        out.push(m);
                    }
                    break;
                }
            }
            rest = &rest[i + 7..];
        }
    }
    // Paths through a child module this file declares (`mod ioctl;` ... `ioctl::x`).
    let children: Vec<&str> = code_lines(text)
        .filter_map(|l| l.trim().split("mod ").nth(1))
        .filter_map(|r| r.strip_suffix(';'))
        .collect();
    for child in children {
        let name = if module == "rgvt" {
            child.to_string()
        } else {
            format!("{module}/{child}")
        };
        let used = code_lines(text).any(|l| {
            l.match_indices(&format!("{child}::")).any(|(i, _)| {
                !l[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            })
        });
        if used && modules.contains(&name) {
            out.push(name);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn layer_of(module: &str) -> Option<usize> {
    let top = module.split('/').next().unwrap();
    LAYERS.iter().position(|(_, ms)| ms.contains(&top))
}

#[test]
fn kernel_crate_imports_go_down_the_layers_without_cycles() {
    let files = kernel_crate_files();
    let modules: Vec<String> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut edges: Vec<(String, String)> = Vec::new();
    for (path, text) in &files {
        let m = module_of(path);
        if m.starts_with("bindings/") {
            continue;
        }
        let from = layer_of(&m).unwrap_or_else(|| panic!("rust/{m}.rs is in no layer of LAYERS"));
        for to in imports(&m, text, &modules) {
            if let Some(l) = layer_of(&to) {
                assert!(
                    l <= from,
                    "rust/{m}.rs ({}) imports {to} ({}), a higher layer",
                    LAYERS[from].0,
                    LAYERS[l].0
                );
            }
            edges.push((m.clone(), to));
        }
    }
    // No cycle among files: repeatedly drop modules that import nothing left.
    let mut left: Vec<String> = modules.clone();
    loop {
        let before = left.len();
        let keep: Vec<String> = left
            .iter()
            .filter(|m| edges.iter().any(|(a, b)| a == *m && left.contains(b)))
            .cloned()
            .collect();
        left = keep;
        if left.len() == before {
            break;
        }
    }
    assert!(
        left.is_empty(),
        "import cycle among rust/ files (a cycle and what imports it): {left:?}"
    );
}

#[test]
fn unsafe_only_in_wrapper_files() {
    for (path, text) in kernel_crate_files() {
        let m = module_of(&path);
        if m.starts_with("bindings/") || UNSAFE_FILES.contains(&m.as_str()) {
            continue;
        }
        for l in code_lines(&text) {
            assert!(
                !l.contains("unsafe"),
                "rust/{m}.rs is not a wrapper file but has `unsafe`: {l}"
            );
        }
    }
}
