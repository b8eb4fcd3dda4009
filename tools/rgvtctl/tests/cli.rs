//! rgvtctl run on the files of a real guest.
//!
//! `fixtures/guest.txt` was written by `tools/demo.sh --dump` in the middle
//! of the demo: 32 vGPUs (one V5_8, 31 S_32), vGPU 2 open in gttwalk. Each
//! test rebuilds that tree in a directory of its own and points rgvtctl at
//! it with `--sysfs-root`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURE: &str = include_str!("fixtures/guest.txt");

/// A copy of the guest's files, removed when dropped.
struct Tree {
    root: PathBuf,
}

impl Tree {
    /// Rebuilds the fixture under a fresh directory named after `test`.
    fn new(test: &str) -> Self {
        let root = std::env::temp_dir().join(format!("rgvtctl-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let mut file: Option<(PathBuf, String)> = None;
        let flush = |f: &mut Option<(PathBuf, String)>| {
            if let Some((path, text)) = f.take() {
                fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
                fs::write(&path, text).expect("write fixture file");
            }
        };
        for line in FIXTURE.lines() {
            if let Some(path) = line.strip_prefix("@@FILE /") {
                flush(&mut file);
                file = Some((root.join(path), String::new()));
            } else if let Some(rest) = line.strip_prefix("@@LINK /") {
                flush(&mut file);
                let (path, target) = rest.split_once(' ').expect("link target");
                let path = root.join(path);
                fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
                std::os::unix::fs::symlink(target, &path).expect("symlink");
            } else if let Some((_, text)) = file.as_mut() {
                text.push_str(line);
                text.push('\n');
            }
        }
        flush(&mut file);
        // Write-only attributes are not in the dump: add them empty.
        let sys = root.join("sys");
        for (dir, name) in [
            ("class/mdev_bus/sim0/mdev_supported_types", "create"),
            ("bus/mdev/devices", "remove"),
        ] {
            for e in fs::read_dir(sys.join(dir)).expect("fixture dir") {
                let path = e.expect("entry").path().join(name);
                fs::write(path, "").expect("write-only attribute");
            }
        }
        Self { root }
    }

    fn sys(&self) -> PathBuf {
        self.root.join("sys")
    }

    /// Runs rgvtctl on the tree: (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_with_root(&self.sys(), args)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn run_with_root(sysfs: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rgvtctl"))
        .arg("--sysfs-root")
        .arg(sysfs)
        .args(args)
        .env_remove("RGVTCTL_DEBUGFS_ROOT")
        .env_remove("RGVT_PARENT")
        .output()
        .expect("runs rgvtctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The whitespace-separated words of the line starting with `start`.
fn row<'a>(text: &'a str, start: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in\n{text}"))
        .split_whitespace()
        .collect()
}

/// The UUID of the V5_8 vGPU (id 2) in the fixture.
fn v5_8_uuid(t: &Tree) -> String {
    let (_, out, _) = t.run(&["list"]);
    row(&out, "2 ")[1].to_string()
}

#[test]
fn types_table() {
    let t = Tree::new("types");
    let (code, out, err) = t.run(&["types"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 7, "{out}");
    assert_eq!(
        row(&out, "S_32"),
        ["S_32", "4", "MB", "384", "MB", "yes", "(gScale", "slots)", "4", "1024x768", "1", "0"]
    );
    assert_eq!(
        row(&out, "V5_1"),
        [
            "V5_1",
            "512",
            "MB",
            "2",
            "GB",
            "no",
            "4",
            "1920x1200",
            "16",
            "0"
        ]
    );
}

#[test]
fn list_table() {
    let t = Tree::new("list");
    let (code, out, err) = t.run(&["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("32 vGPUs, 188 MB of low GM"), "{out}");
    let v = row(&out, "2 ");
    assert_eq!(v[2], "V5_8");
    assert_eq!(&v[3..6], ["0x0c000000-0x0fffffff", "64", "MB"]);
    assert_eq!(v[6], "8-13");
    // gttwalk had it open: 48 pins (16 of its 64 pages unmapped), 158 traps.
    assert_eq!(&v[9..], ["6", "48", "158"]);
    let v = row(&out, "32 ");
    assert_eq!((v[2], v[6], v[10]), ("S_32", "6-11", "0"));
}

#[test]
fn slot_map() {
    let t = Tree::new("slots");
    let (code, out, err) = t.run(&["slots"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("60 slots of 64 MB from 0x10000000 = 3840 MB"),
        "{out}"
    );
    assert!(
        out.contains("32 vGPUs hold 192 slots in all = 12 GB, 3.2x"),
        "{out}"
    );
    assert!(
        out.contains("60 slots held by 2 vGPUs or more; 0 free"),
        "{out}"
    );
    let holders = row(&out, "holders");
    assert_eq!(holders[1].len(), 60);
    let v2 = row(&out, "2 V5_8");
    assert_eq!(
        v2[2],
        format!("{}{}{}", ".".repeat(8), "#".repeat(6), ".".repeat(46))
    );
}

#[test]
fn stats_by_id_and_uuid() {
    let t = Tree::new("stats");
    let (code, by_id, err) = t.run(&["stats", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(by_id.starts_with("vGPU 2 (V5_8, "), "{by_id}");
    assert!(by_id.contains("158 traps"), "{by_id}");
    assert_eq!(row(&by_id, "ggtt")[1..3], ["partial_writes", "32"]);
    assert_eq!(row(&by_id, "invalid_entries")[1], "1");
    assert_eq!(row(&by_id, "unmapped")[1], "16");
    assert_eq!(row(&by_id, "dma_unmaps")[1], "1");
    let (_, by_uuid, _) = t.run(&["stats", &v5_8_uuid(&t)]);
    assert_eq!(by_id, by_uuid);
    let (code, _, err) = t.run(&["stats", "99"]);
    assert_eq!(code, 1);
    assert_eq!(err, "rgvtctl: vGPU 99: no such vGPU\n");
}

#[test]
fn get_and_set() {
    let t = Tree::new("tunables");
    let (code, out, err) = t.run(&["get"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 17, "{out}");
    assert_eq!(row(&out, "balloon_t1")[1], "0.5");
    let (_, out, _) = t.run(&["get", "policy"]);
    assert_eq!(out, "segmented\n");
    let (code, out, err) = t.run(&["set", "policy", "strict"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "policy: segmented -> strict\n");
    let file = t.sys().join("kernel/rgvt/policy");
    assert_eq!(fs::read_to_string(file).expect("reads"), "strict\n");
    for bad in [
        &["get", "nope"][..],
        &["get", "../rgvt"],
        &["set", "nope", "1"],
    ] {
        let (code, _, err) = t.run(bad);
        assert_eq!(code, 1, "{bad:?}");
        assert!(err.contains("no such tunable"), "{err}");
    }
}

#[test]
fn create_and_remove() {
    let t = Tree::new("create");
    let uuid = "0b2d3c4e-5f60-4718-8a9b-acbdcedf0011";
    let (code, out, err) = t.run(&["create", "rgvt-S_16", uuid]);
    assert_eq!(code, 0, "{err}");
    // The fixture's create file is a plain file: no device appears.
    assert_eq!(out, format!("created {uuid} (S_16)\n"));
    let create = t
        .sys()
        .join("class/mdev_bus/sim0/mdev_supported_types/rgvt-S_16/create");
    assert_eq!(
        fs::read_to_string(&create).expect("reads"),
        format!("{uuid}\n")
    );
    let (code, _, _) = t.run(&["create", "S_32"]);
    assert_eq!(code, 0);
    let (code, _, err) = t.run(&["create", "S_64"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no such type (types: S_16, S_32, V5_1"),
        "{err}"
    );
    let (code, _, err) = t.run(&["create", "S_32", "not-a-uuid"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "rgvtctl: uuid not-a-uuid: not a UUID\n")
    );

    let v = v5_8_uuid(&t);
    let (code, out, err) = t.run(&["remove", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("removed vGPU 2 {v} (V5_8)\n"));
    let remove = t.sys().join(format!("bus/mdev/devices/{v}/remove"));
    assert_eq!(fs::read_to_string(remove).expect("reads"), "1\n");
}

#[test]
fn not_loaded_and_usage() {
    let empty = std::env::temp_dir().join(format!("rgvtctl-{}-empty", std::process::id()));
    fs::create_dir_all(&empty).expect("mkdir");
    let (code, _, err) = run_with_root(&empty, &["types"]);
    assert_eq!(code, 1);
    assert!(err.contains("is rgvt loaded"), "{err}");
    let (code, out, _) = run_with_root(&empty, &["list"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "no vGPUs (create one with: rgvtctl create <type>)\n")
    );
    let (code, _, err) = run_with_root(&empty, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("Usage: rgvtctl [OPTIONS] <COMMAND>"), "{err}");
    let (code, _, err) = run_with_root(&empty, &["set", "policy"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Usage: rgvtctl set <TUNABLE> <VALUE>"),
        "{err}"
    );
    let (code, _, err) = run_with_root(&empty, &["--bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("unexpected argument '--bogus'"), "{err}");
    let (code, out, _) = run_with_root(&empty, &["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("\nUsage: rgvtctl [OPTIONS] <COMMAND>\n"),
        "{out}"
    );
    for sub in ["types", "list", "top", "balloon", "completions", "man"] {
        assert!(out.contains(&format!("\n  {sub} ")), "{sub} in\n{out}");
    }
    let _ = fs::remove_dir_all(&empty);
}
