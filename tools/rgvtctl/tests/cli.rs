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
    assert_eq!(&v[9..12], ["6", "48", "158"]);
    // The fixture's module had no per-vGPU policy file.
    assert_eq!(v[12], "-");
    let v = row(&out, "32 ");
    assert_eq!((v[2], v[6], v[10]), ("S_32", "6-11", "0"));
}

/// Each vGPU's own shadow policy (sysfs `rgvt/shadow_policy`) and the one
/// its shadow runs (debugfs `shadow` `policy_effective`), in `list`,
/// `stats` and their JSON.
#[test]
fn per_vgpu_policy() {
    let t = Tree::new("policy");
    let devices = t.sys().join("bus/mdev/devices");
    let uuid = v5_8_uuid(&t);
    fs::write(
        devices.join(&uuid).join("rgvt/shadow_policy"),
        "segmented\n",
    )
    .expect("write");
    let debug = t.sys().join("kernel/debug/rgvt/vgpu2");
    fs::write(
        debug.join("shadow"),
        "policy segmented\npolicy_effective full\npolicy_override segmented\ntraps_kvm 0\n",
    )
    .expect("write");
    let other = t.sys().join("kernel/debug/rgvt/vgpu32");
    let v32 = json(&t, &["list"])["vgpus"]
        .as_array()
        .expect("vgpus")
        .iter()
        .find(|v| v["id"] == 32)
        .map(|v| v["uuid"].as_str().expect("uuid").to_string())
        .expect("vGPU 32");
    fs::write(devices.join(&v32).join("rgvt/shadow_policy"), "default\n").expect("write");
    fs::create_dir_all(&other).expect("mkdir");
    fs::write(
        other.join("shadow"),
        "policy strict\npolicy_effective strict\n",
    )
    .expect("write");

    let (code, out, err) = t.run(&["list"]);
    assert_eq!(code, 0, "{err}");
    // Its own segmented, running full (no write tracker).
    assert_eq!(row(&out, "2 ")[12], "segmented>full");
    assert_eq!(row(&out, "32 ").last(), Some(&"default>strict"));
    let list = json(&t, &["list"]);
    let v2 = list["vgpus"]
        .as_array()
        .expect("vgpus")
        .iter()
        .find(|v| v["id"] == 2)
        .expect("vGPU 2")
        .clone();
    assert_eq!(v2["shadow_policy"], "segmented");
    assert_eq!(v2["policy_running"], "full");
    let (code, out, err) = t.run(&["stats", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("shadow policy: segmented>full (own>running)"),
        "{out}"
    );
    let stats = json(&t, &["stats", "32"]);
    assert_eq!(stats["shadow_policy"], "default");
    assert_eq!(stats["policy_running"], "strict");
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
    for cmd in [&["types"][..], &["top", "-n", "1"], &["balloon"]] {
        let (code, _, err) = run_with_root(&empty, cmd);
        assert_eq!(code, 1, "{cmd:?}");
        assert!(err.contains("is rgvt loaded"), "{cmd:?}: {err}");
    }
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

/// Runs `args --json` and parses what it printed.
fn json(t: &Tree, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let (code, out, err) = t.run(&a);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
}

#[test]
fn json_of_every_listing() {
    let t = Tree::new("json");
    let types = json(&t, &["types"]);
    let s32 = &types["types"][1];
    assert_eq!(s32["name"], "S_32");
    assert_eq!(s32["dir"], "rgvt-S_32");
    assert_eq!(s32["low_gm_bytes"], 4u64 << 20);
    assert_eq!(s32["high_gm_bytes"], 384u64 << 20);
    assert_eq!(s32["high_gm_shared"], true);
    assert_eq!(s32["available_instances"], 0);
    assert_eq!(types["types"].as_array().map(Vec::len), Some(6));

    let list = json(&t, &["list"]);
    assert_eq!(list["vgpus"].as_array().map(Vec::len), Some(32));
    assert_eq!(list["low_gm_bytes_total"], 188u64 << 20);
    let v2 = &list["vgpus"][1];
    assert_eq!(
        (v2["id"].as_u64(), v2["type"].as_str()),
        (Some(2), Some("V5_8"))
    );
    assert_eq!(v2["low_gm_base"], 0x0c00_0000);
    assert_eq!(v2["slots"], serde_json::json!([8, 9, 10, 11, 12, 13]));
    assert_eq!(
        (v2["pins_now"].as_u64(), v2["traps"].as_u64()),
        (Some(48), Some(158))
    );
    assert_eq!(v2["shared_slots"], 6);

    let slots = json(&t, &["slots"]);
    assert_eq!(slots["slot_bytes"], 64u64 << 20);
    assert_eq!(slots["shared"], 60);
    assert_eq!(slots["running"], serde_json::Value::Null);
    assert_eq!(slots["slots"].as_array().map(Vec::len), Some(60));
    assert_eq!(slots["slots"][0]["holders"], serde_json::json!([1, 21, 31]));

    let stats = json(&t, &["stats", "2"]);
    assert_eq!(stats["traps"], 158);
    assert_eq!(stats["counters"]["partial_writes"], 32);
    assert_eq!(stats["counters"]["unmapped"], 16);
    assert_eq!(stats["files"], serde_json::json!({}));

    let get = json(&t, &["get"]);
    assert_eq!(get["tunables"]["policy"], "segmented");
    assert_eq!(get["tunables"]["balloon_t1"], "0.5");
    assert_eq!(get["tunables"].as_object().map(|m| m.len()), Some(16));
    let one = json(&t, &["get", "policy"]);
    assert_eq!(
        one,
        serde_json::json!({"name": "policy", "value": "segmented"})
    );

    let set = json(&t, &["set", "balloon_t1", "0.3"]);
    assert_eq!(
        set,
        serde_json::json!({"name": "balloon_t1", "old": "0.5", "new": "0.3"})
    );

    // The fixture's module has no balloon worker: the state and log are empty.
    let b = json(&t, &["balloon"]);
    assert_eq!(b["enabled"], true);
    assert_eq!(b["worker"], false);
    assert_eq!(b["tunables"]["balloon_period_ms"], "500");
    assert_eq!(b["log"], serde_json::json!([]));
    let log = json(&t, &["balloon", "log"]);
    assert_eq!(log["log"], serde_json::json!([]));
}

/// The balloon worker's debugfs file as rgvtctl expects it: `key value`
/// pairs, then a header line and a row per decision.
const BALLOON: &str = "\
period 14; source modeled; phi 0.42; w 0.31; c 0.02
period vgpu decision slots phi
1 2 grant 1 0.30
2 3 reject 0 1.10
3 2 shrink 2 1.20
";

#[test]
fn balloon_state_and_log() {
    let t = Tree::new("balloon");
    let dir = t.sys().join("kernel/debug/rgvt");
    let mut text = String::new();
    text.push_str(&BALLOON[..BALLOON.find("1 2 grant").expect("rows")]);
    for i in 0..12 {
        text.push_str(&format!("{} {} grant 1 0.{i}\n", 10 + i, 20 + i));
    }
    text.push_str(&BALLOON[BALLOON.find("1 2 grant").expect("rows")..]);
    fs::write(dir.join("balloon"), &text).expect("balloon file");

    let (code, out, err) = t.run(&["balloon"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("state: period 14, source modeled, phi 0.42, w 0.31, c 0.02"),
        "{out}"
    );
    assert!(out.contains("10 of 15 decisions:"), "{out}");
    assert_eq!(
        row(&out, "PERIOD"),
        ["PERIOD", "VGPU", "DECISION", "SLOTS", "PHI"]
    );
    assert_eq!(row(&out, "3 "), ["3", "2", "shrink", "2", "1.20"]);
    let (_, all, _) = t.run(&["balloon", "log"]);
    assert!(all.contains("15 of 15 decisions:"), "{all}");

    let b = json(&t, &["balloon", "log"]);
    assert_eq!(b["worker"], true);
    assert_eq!(b["state"]["phi"], 0.42);
    assert_eq!(b["state"]["source"], "modeled");
    let log = b["log"].as_array().expect("log");
    assert_eq!(log.len(), 15);
    assert_eq!(
        log[14],
        serde_json::json!({"period": 3, "vgpu": 2, "decision": "shrink", "slots": 2, "phi": 1.2})
    );
    assert_eq!(
        json(&t, &["balloon"])["log"].as_array().map(Vec::len),
        Some(10)
    );

    // top shows Φ, W, C and each vGPU's last decision.
    let (code, out, err) = t.run(&["top", "-b", "-n", "1", "-d", "0.02"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("balloon: on, Φ 0.42 W 0.31 C 0.02"), "{out}");
    assert_eq!(
        row(&out, "2 ")[7..],
        ["decision=shrink", "slots=2", "phi=1.20"]
    );
    assert_eq!(
        row(&out, "3 ")[7..],
        ["decision=reject", "slots=0", "phi=1.10"]
    );
}

#[test]
fn top_in_batch_mode() {
    let t = Tree::new("top");
    let (code, out, err) = t.run(&["top", "--batch", "-n", "2", "--delay", "0.02"]);
    assert_eq!(code, 0, "{err}");
    let frames: Vec<&str> = out.split("rgvtctl top - ").skip(1).collect();
    assert_eq!(frames.len(), 2, "{out}");
    for f in frames {
        assert!(f.starts_with("sim0 (backend sim) - 32 vGPUs"), "{f}");
        assert!(
            f.contains("slots: 60 x 64 MB, 192 held (3.2x), 60 shared, 0 free"),
            "{f}"
        );
        assert!(f.contains("balloon: on (no worker in debugfs)"), "{f}");
        assert!(f.contains("shadow policy: segmented"), "{f}");
        assert_eq!(
            row(f, "ID"),
            ["ID", "TYPE", "SLOTS", "SHARED", "MMIO/s", "GGTT/s", "PINS"]
        );
        // Static files: no rates; the V5_8 in gttwalk holds 48 pins.
        assert_eq!(row(f, "2 "), ["2", "V5_8", "6", "6", "0", "0", "48"]);
        assert_eq!(f.lines().filter(|l| l.contains("S_32")).count(), 31);
    }

    // Engine and shadow counters appear as columns when a vGPU has them.
    let d = t.sys().join("kernel/debug/rgvt/vgpu2");
    fs::write(d.join("engines"), "engine workloads busy_ns\nrcs0 10 0\n").expect("engines");
    fs::write(
        d.join("shadow"),
        "strict_pages 12\nrelaxed_pages 3\nreconstructions 5\n",
    )
    .expect("shadow");
    let (code, out, err) = t.run(&["top", "-b", "-n", "1", "-d", "0.02"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        row(&out, "ID"),
        [
            "ID", "TYPE", "SLOTS", "SHARED", "BUSY%", "WL/s", "MMIO/s", "GGTT/s", "STRICT",
            "RELAXED", "RECON/s", "PINS"
        ]
    );
    assert_eq!(
        row(&out, "2 ")[4..],
        ["0", "0", "0", "0", "12", "3", "0", "48"]
    );
    assert_eq!(
        row(&out, "1 ")[4..],
        ["-", "-", "0", "0", "-", "-", "-", "0"]
    );
    let (_, stats, _) = t.run(&["stats", "2"]);
    assert_eq!(row(&stats, "engines"), ["engines", "rcs0.workloads", "10"]);
    assert_eq!(
        json(&t, &["stats", "2"])["files"]["shadow"]["relaxed_pages"],
        3
    );

    // --json: one object per refresh.
    let (code, out, err) = t.run(&["top", "-n", "2", "-d", "0.02", "--json"]);
    assert_eq!(code, 0, "{err}");
    let frames: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(frames.len(), 2);
    let v2 = &frames[1]["vgpus"][1];
    assert_eq!(v2["id"], 2);
    assert_eq!(v2["columns"]["PINS"], 48.0);
    assert_eq!(v2["counters"]["rcs0.workloads"], 10);
    assert_eq!(v2["rates"]["reads"], 0.0);
    assert_eq!(frames[1]["slots_shared"], 60);
}

#[test]
fn completions_and_man_pages() {
    let t = Tree::new("assets");
    for (shell, needle) in [
        ("bash", "complete -F _rgvtctl"),
        ("zsh", "#compdef rgvtctl"),
        ("fish", "complete -c rgvtctl"),
    ] {
        let (code, out, err) = t.run(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(needle), "{shell}: {out}");
        assert!(out.contains("balloon") && out.contains("top"), "{shell}");
    }
    let (code, out, _) = t.run(&["man"]);
    assert_eq!(code, 0);
    assert!(out.starts_with(".ie \\n(.g .ds Aq"), "{out}");
    assert!(out.contains(".TH rgvtctl 1"), "{out}");
    let dir = t.root.join("man");
    let (code, out, err) = t.run(&["man", "--dir", dir.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("wrote 13 pages to {}\n", dir.display()));
    let top = fs::read_to_string(dir.join("rgvtctl-top.1")).expect("top page");
    assert!(top.contains("\\-\\-delay"), "{top}");
    // The global options are in every page.
    assert!(top.contains("\\-\\-sysfs\\-root"), "{top}");
}

/// `tmux` on a private server named after this test process.
fn tmux(socket: &str, args: &[&str]) -> Option<String> {
    // Run from inside a tmux session, it still starts its own server.
    let out = Command::new("tmux")
        .env_remove("TMUX")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The pane's text once `pred` holds (polled for up to 10 s).
fn pane_when(socket: &str, pred: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Some(text) = tmux(socket, &["capture-pane", "-p", "-t", "top"]) {
            if pred(&text) {
                return text;
            }
            last = text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the pane never showed what was expected:\n{last}");
}

/// Kills the private tmux server and removes its socket, also when the test fails.
struct Server {
    name: String,
    socket: Option<PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = tmux(&self.name, &["kill-server"]);
        if let Some(s) = &self.socket {
            let _ = fs::remove_file(s);
        }
    }
}

#[test]
fn top_live_under_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIP: no tmux (tools/setup.sh installs it)");
        return;
    }
    let t = Tree::new("tmux");
    let socket = format!("rgvtctl-test-{}", std::process::id());
    let mut server = Server {
        name: socket.clone(),
        socket: None,
    };
    let cmd = format!(
        "{} --sysfs-root {} top --delay 0.2",
        env!("CARGO_BIN_EXE_rgvtctl"),
        t.sys().display()
    );
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "150",
            "-y",
            "50",
            &cmd,
        ],
    )
    .expect("tmux starts rgvtctl top");
    server.socket = tmux(&socket, &["display-message", "-p", "#{socket_path}"])
        .map(|p| PathBuf::from(p.trim()));
    let first = pane_when(&socket, |p| p.contains("rgvtctl top - sim0"));
    assert!(first.contains("32 vGPUs"), "{first}");

    // The V5_8 traps MMIO writes: 100 every 20 ms, about 5000/s.
    let counters = t.sys().join("kernel/debug/rgvt/vgpu2/counters");
    let text = fs::read_to_string(&counters).expect("counters");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let counters = counters.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 100;
                let new = text.replace("mmio_writes 0\n", &format!("mmio_writes {n}\n"));
                // Renamed into place, so rgvtctl never reads half a file.
                let tmp = counters.with_extension("tmp");
                fs::write(&tmp, new).expect("write counters");
                fs::rename(&tmp, &counters).expect("rename counters");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };
    let busy = pane_when(&socket, |p| {
        p.lines()
            .find(|l| l.trim_start().starts_with("2 "))
            .and_then(|l| l.split_whitespace().nth(4))
            .and_then(|r| r.parse::<f64>().ok())
            .is_some_and(|r| r > 1000.0)
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().expect("writer");
    let v2: Vec<&str> = busy
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .expect("vGPU 2's row")
        .split_whitespace()
        .collect();
    assert_eq!((v2[1], v2[6]), ("V5_8", "48"), "{busy}");
    let idle = row(&busy, "1 ");
    assert_eq!(idle[4], "0", "{busy}");

    // q quits and gives the terminal back: the session ends.
    tmux(&socket, &["send-keys", "-t", "top", "q"]).expect("send-keys");
    for _ in 0..50 {
        if tmux(&socket, &["has-session", "-t", "top"]).is_none() {
            drop(server);
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("rgvtctl top did not quit on q");
}
