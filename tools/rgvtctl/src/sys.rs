//! Where rgvt's files are, and reading and writing them.
//!
//! Every path hangs off two roots, so the tests run the tool on a copy of a
//! real guest's files: `--sysfs-root` (`RGVTCTL_SYSFS_ROOT`, default `/sys`)
//! and `--debugfs-root` (`RGVTCTL_DEBUGFS_ROOT`, default
//! `<sysfs root>/kernel/debug`).

use crate::parse::{self, TypeDesc};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// An error with the file or action it concerns, printed as
/// `what: Invalid argument` (the kernel's errno text).
#[derive(Debug)]
pub struct Error {
    /// What failed ("set balloon_t1 2.5", a path).
    pub what: String,
    /// Why: an errno text or a message.
    pub why: String,
}

impl Error {
    /// An error with a message of our own.
    pub fn msg(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            why: why.into(),
        }
    }

    /// An I/O error, with the errno text alone (no "(os error N)").
    pub fn io(what: impl Into<String>, e: &io::Error) -> Self {
        let text = e.to_string();
        let why = match text.find(" (os error") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        Self::msg(what, why)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.why)
    }
}

/// The result of everything that touches the file system.
pub type Result<T> = std::result::Result<T, Error>;

/// The roots and the mdev parent device.
#[derive(Debug, Clone)]
pub struct Sys {
    /// Where sysfs is mounted.
    pub sysfs: PathBuf,
    /// Where debugfs is mounted.
    pub debugfs: PathBuf,
    /// The mdev parent (`sim0` on the sim backend).
    pub parent: String,
}

/// One mdev type of the parent.
#[derive(Debug, Clone)]
pub struct VgpuType {
    /// The type's directory name (`rgvt-V5_4`).
    pub dir: String,
    /// Its `name` (`V5_4`).
    pub name: String,
    /// Its `description`.
    pub desc: TypeDesc,
    /// Its `available_instances`, if readable.
    pub available: Option<u64>,
}

/// One live vGPU, from its mdev device's `rgvt/` files.
#[derive(Debug, Clone)]
pub struct Vgpu {
    /// rgvt's vGPU id (`rgvt/vgpu_id`).
    pub id: u32,
    /// The mdev UUID.
    pub uuid: String,
    /// The type name without `rgvt-`.
    pub ty: String,
    /// Low GM base and size in bytes.
    pub low: (u64, u64),
    /// High GM base and size in bytes.
    pub high: (u64, u64),
    /// The slots it holds.
    pub slots: Vec<u32>,
    /// Its own shadow policy (`rgvt/shadow_policy`): a policy, or
    /// `default` when it follows the global one; `None` for a module
    /// without the file.
    pub policy: Option<String>,
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<String> {
    let mut s = String::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| Error::io(path.display().to_string(), &e))?;
    Ok(s)
}

/// Writes `value` and a newline with one `write(2)`, as `echo value > path`.
pub fn write(path: &Path, value: &str, what: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io(what, &e))?;
    let line = format!("{value}\n");
    let n = f.write(line.as_bytes()).map_err(|e| Error::io(what, &e))?;
    if n != line.len() {
        return Err(Error::msg(what, "short write"));
    }
    Ok(())
}

/// Reads a file holding one number (hex with `0x`, or decimal).
fn read_number(path: &Path) -> Result<u64> {
    let s = read(path)?;
    parse::number(&s).ok_or_else(|| Error::msg(path.display().to_string(), "not a number"))
}

/// The sorted names of the entries of a directory (none if it is missing).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

impl Sys {
    /// The parent's `mdev_supported_types/` directory.
    pub fn types_dir(&self) -> PathBuf {
        self.sysfs
            .join("class/mdev_bus")
            .join(&self.parent)
            .join("mdev_supported_types")
    }

    /// `/sys/bus/mdev/devices/`.
    pub fn devices_dir(&self) -> PathBuf {
        self.sysfs.join("bus/mdev/devices")
    }

    /// `/sys/kernel/rgvt/`, the tunables.
    pub fn tunables_dir(&self) -> PathBuf {
        self.sysfs.join("kernel/rgvt")
    }

    /// `/sys/kernel/debug/rgvt/`.
    pub fn debug_dir(&self) -> PathBuf {
        self.debugfs.join("rgvt")
    }

    /// Fails with a hint when rgvt is not loaded (no parent device).
    pub fn check_loaded(&self) -> Result<()> {
        let dir = self.types_dir();
        if dir.is_dir() {
            Ok(())
        } else {
            Err(Error::msg(
                dir.display().to_string(),
                "not found: is rgvt loaded (insmod rgvt.ko)?",
            ))
        }
    }

    /// The parent's mdev types, sorted by directory name.
    pub fn types(&self) -> Result<Vec<VgpuType>> {
        self.check_loaded()?;
        let dir = self.types_dir();
        let mut out = Vec::new();
        for d in entries(&dir) {
            let p = dir.join(&d);
            if !p.is_dir() {
                continue;
            }
            let name = read(&p.join("name"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| d.trim_start_matches("rgvt-").to_string());
            out.push(VgpuType {
                desc: parse::description(&read(&p.join("description")).unwrap_or_default()),
                available: read_number(&p.join("available_instances")).ok(),
                dir: d,
                name,
            });
        }
        Ok(out)
    }

    /// Finds a type by name (`S_32`) or directory name (`rgvt-S_32`).
    pub fn find_type(&self, name: &str) -> Result<VgpuType> {
        let types = self.types()?;
        types
            .iter()
            .find(|t| t.name == name || t.dir == name)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
                Error::msg(
                    format!("type {name}"),
                    format!("no such type (types: {})", names.join(", ")),
                )
            })
    }

    /// The live rgvt vGPUs (mdev devices with an `rgvt/` group), by id.
    pub fn vgpus(&self) -> Result<Vec<Vgpu>> {
        let dir = self.devices_dir();
        let mut out = Vec::new();
        for uuid in entries(&dir) {
            let r = dir.join(&uuid).join("rgvt");
            let Ok(id) = read_number(&r.join("vgpu_id")) else {
                continue; // another driver's mdev device
            };
            let num = |f: &str| read_number(&r.join(f));
            let ty = fs::read_link(dir.join(&uuid).join("mdev_type"))
                .ok()
                .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
                .map(|t| t.trim_start_matches("rgvt-").to_string())
                .unwrap_or_else(|| "?".to_string());
            out.push(Vgpu {
                id: u32::try_from(id).unwrap_or(u32::MAX),
                ty,
                low: (num("low_gm_base")?, num("low_gm_size")?),
                high: (num("high_gm_base")?, num("high_gm_size")?),
                slots: parse::ranges(&read(&r.join("slots"))?).unwrap_or_default(),
                policy: read(&r.join("shadow_policy"))
                    .ok()
                    .map(|p| p.trim().to_string()),
                uuid,
            });
        }
        out.sort_by_key(|v| v.id);
        Ok(out)
    }

    /// Finds a vGPU by id (`3`) or UUID.
    pub fn find_vgpu(&self, key: &str) -> Result<Vgpu> {
        let key = key.trim().to_ascii_lowercase();
        self.vgpus()?
            .into_iter()
            .find(|v| v.uuid == key || v.id.to_string() == key)
            .ok_or_else(|| Error::msg(format!("vGPU {key}"), "no such vGPU"))
    }

    /// The policy a vGPU's shadow runs now (debugfs `vgpu<N>/shadow`
    /// `policy_effective`), if debugfs says.
    pub fn policy_running(&self, id: u32) -> Option<String> {
        let text = read(&self.debug_dir().join(format!("vgpu{id}/shadow"))).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("policy_effective "))
            .map(|p| p.trim().to_string())
    }

    /// A vGPU's debugfs counters, in file order.
    pub fn counters(&self, id: u32) -> Result<Vec<(String, u64)>> {
        let p = self.debug_dir().join(format!("vgpu{id}/counters"));
        Ok(parse::counters(&read(&p)?))
    }

    /// The numbers of the other files of a vGPU's debugfs directory, by file
    /// name: what the module adds next to `counters` (engines, shadow, ...).
    /// `untracked` and `ggtt` are dumps, not counters, and are left out.
    pub fn vgpu_files(&self, id: u32) -> Vec<(String, Vec<(String, u64)>)> {
        let dir = self.debug_dir().join(format!("vgpu{id}"));
        entries(&dir)
            .into_iter()
            // `shadow_walk` is a test probe: reading it rebuilds every shadow tree.
            .filter(|f| !["counters", "untracked", "ggtt", "shadow_walk"].contains(&f.as_str()))
            .filter_map(|f| {
                let m = parse::metrics(&read(&dir.join(&f)).ok()?);
                (!m.is_empty()).then_some((f, m))
            })
            .collect()
    }

    /// A parent-wide debugfs file read as a [`parse::Sheet`], if it exists.
    pub fn debug_sheet(&self, name: &str) -> Option<parse::Sheet> {
        read(&self.debug_dir().join(name))
            .ok()
            .map(|t| parse::sheet(&t))
    }

    /// The slot map from debugfs.
    pub fn slot_map(&self) -> Result<parse::SlotMap> {
        let p = self.debug_dir().join("slots");
        let text = read(&p)?;
        parse::slots(&text).ok_or_else(|| Error::msg(p.display().to_string(), "unknown format"))
    }

    /// The tunables' names, sorted.
    pub fn tunable_names(&self) -> Result<Vec<String>> {
        let dir = self.tunables_dir();
        if !dir.is_dir() {
            return Err(Error::msg(
                dir.display().to_string(),
                "not found: is rgvt loaded?",
            ));
        }
        Ok(entries(&dir))
    }

    /// One tunable's value, trimmed.
    pub fn tunable(&self, name: &str) -> Result<String> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(Error::msg(format!("tunable {name}"), "no such tunable"));
        }
        let p = self.tunables_dir().join(name);
        if !p.is_file() {
            return Err(Error::msg(format!("tunable {name}"), "no such tunable"));
        }
        read(&p).map(|s| s.trim().to_string())
    }
}
