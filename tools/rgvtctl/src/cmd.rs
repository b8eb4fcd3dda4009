//! The subcommands. Each returns the text to print, so tests compare it:
//! a table for people, or with `--json` the same data as JSON for scripts.
//!
//! The JSON field names are an interface (documented in
//! `Documentation/rgvt/usage.rst`): add fields, never rename or remove one.

use crate::parse::{self, SlotMap};
use crate::sys::{self, Error, Result, Sys};
use crate::table::{self, Align, Table};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::Read;

/// How to print a command's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Tables and sentences.
    Text,
    /// One JSON document, pretty-printed, ending in a newline.
    Json,
}

/// `data` as JSON, or the text `text` makes of it.
pub fn emit<T: Serialize>(
    format: Format,
    data: &T,
    text: impl FnOnce(&T) -> String,
) -> Result<String> {
    match format {
        Format::Text => Ok(text(data)),
        Format::Json => serde_json::to_string_pretty(data)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| Error::msg("json", e.to_string())),
    }
}

/// What a counter of `vgpu<N>/counters` means, and its group.
struct Counter {
    name: &'static str,
    group: &'static str,
    meaning: &'static str,
}

const fn c(name: &'static str, group: &'static str, meaning: &'static str) -> Counter {
    Counter {
        name,
        group,
        meaning,
    }
}

/// The counters this tool knows, in the order it prints them.
const COUNTERS: &[Counter] = &[
    c("mmio_reads", "traps", "MMIO register reads (PV info page)"),
    c("mmio_writes", "traps", "MMIO register writes"),
    c("reads", "traps", "GGTT entry reads"),
    c("writes", "traps", "GGTT entry writes"),
    c("g2v_notify", "traps", "guest-to-host notifications"),
    c("partial_writes", "ggtt", "4-byte writes to half an entry"),
    c(
        "pending_now",
        "ggtt",
        "entries waiting for their other half",
    ),
    c(
        "pending_evicted",
        "ggtt",
        "half entries forgotten (too many)",
    ),
    c(
        "invalid_entries",
        "ggtt",
        "entries on frames never mapped: scratch",
    ),
    c(
        "ignored_writes",
        "ggtt",
        "writes outside the vGPU's GM, dropped",
    ),
    c("unmapped", "ggtt", "entries sent to scratch by a DMA unmap"),
    c("pins_now", "pins", "guest pages pinned now"),
    c("pins_total", "pins", "pins taken"),
    c("unpins_total", "pins", "pins dropped"),
    c(
        "bar2_accesses",
        "aperture",
        "BAR2 accesses that reached a guest page",
    ),
    c(
        "bar2_scratch",
        "aperture",
        "BAR2 accesses through scratch entries",
    ),
    c(
        "bar2_out_of_range",
        "aperture",
        "BAR2 accesses outside low GM, refused",
    ),
    c("bar0_bad", "device", "BAR0 accesses refused (size, offset)"),
    c(
        "pvinfo_ro_dropped",
        "device",
        "writes to read-only PV info, dropped",
    ),
    c("dma_unmaps", "device", "DMA unmap notices from the VMM"),
    c("resets", "device", "device resets (open, close, ioctl)"),
];

/// The counters that are traps: guest BAR0 accesses the host emulated.
const TRAPS: &[&str] = &["mmio_reads", "mmio_writes", "reads", "writes"];

/// Traps in a vGPU's counters (MMIO and GGTT accesses).
fn traps(counters: &[(String, u64)]) -> u64 {
    counters
        .iter()
        .filter(|(n, _)| TRAPS.contains(&n.as_str()))
        .map(|(_, v)| v)
        .sum()
}

fn value_of(counters: &[(String, u64)], name: &str) -> Option<u64> {
    counters.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

/// A vGPU's policy as `list` and `stats` show it: its own (or `default`),
/// then the one it runs when that differs (`default>full`).
fn policy_cell(own: Option<&str>, running: Option<&str>) -> String {
    match (own, running) {
        (None, None) => "-".to_string(),
        (Some(o), Some(r)) if o != r => format!("{o}>{r}"),
        (Some(o), _) => o.to_string(),
        (None, Some(r)) => format!("?>{r}"),
    }
}

fn or_dash(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// One type in `rgvtctl types --json`.
#[derive(Debug, Serialize)]
pub struct TypeRow {
    /// The type's name (`S_32`).
    pub name: String,
    /// Its directory under `mdev_supported_types/` (`rgvt-S_32`).
    pub dir: String,
    /// Low (mappable) GM in bytes.
    pub low_gm_bytes: u64,
    /// High GM in bytes.
    pub high_gm_bytes: u64,
    /// Whether high GM is in slots shared with other vGPUs (gScale).
    pub high_gm_shared: bool,
    /// Fence registers.
    pub fences: u32,
    /// The virtual display's resolution.
    pub resolution: String,
    /// Scheduling weight.
    pub weight: u32,
    /// How many more fit now (`null` if unreadable).
    pub available_instances: Option<u64>,
}

/// `rgvtctl types`.
#[derive(Debug, Serialize)]
pub struct Types {
    /// The parent's types, by directory name.
    pub types: Vec<TypeRow>,
}

/// `rgvtctl types`.
pub fn types(sys: &Sys, format: Format) -> Result<String> {
    let types = sys
        .types()?
        .into_iter()
        .map(|ty| TypeRow {
            name: ty.name,
            dir: ty.dir,
            low_gm_bytes: ty.desc.low_gm,
            high_gm_bytes: ty.desc.high_gm,
            high_gm_shared: ty.desc.shared,
            fences: ty.desc.fence,
            resolution: ty.desc.resolution,
            weight: ty.desc.weight,
            available_instances: ty.available,
        })
        .collect();
    emit(format, &Types { types }, |d| {
        let mut t = Table::new(&[
            ("TYPE", Align::Left),
            ("LOW GM", Align::Right),
            ("HIGH GM", Align::Right),
            ("HIGH GM SHARED", Align::Left),
            ("FENCES", Align::Right),
            ("RESOLUTION", Align::Left),
            ("WEIGHT", Align::Right),
            ("AVAILABLE", Align::Right),
        ]);
        for ty in &d.types {
            t.row(vec![
                ty.name.clone(),
                table::size(ty.low_gm_bytes),
                table::size(ty.high_gm_bytes),
                if ty.high_gm_shared {
                    "yes (gScale slots)"
                } else {
                    "no"
                }
                .to_string(),
                ty.fences.to_string(),
                ty.resolution.clone(),
                ty.weight.to_string(),
                or_dash(ty.available_instances),
            ]);
        }
        t.render()
    })
}

/// For each vGPU id, how many of its slots another vGPU holds too.
fn shared_per_vgpu(map: &SlotMap) -> BTreeMap<u32, usize> {
    let mut out = BTreeMap::new();
    for s in &map.slots {
        if s.holders.len() > 1 {
            for h in &s.holders {
                *out.entry(*h).or_insert(0) += 1;
            }
        }
    }
    out
}

/// One vGPU in `rgvtctl list --json`.
#[derive(Debug, Serialize)]
pub struct VgpuRow {
    /// rgvt's vGPU id.
    pub id: u32,
    /// The mdev UUID.
    pub uuid: String,
    /// The type's name.
    #[serde(rename = "type")]
    pub ty: String,
    /// First graphics address of its low GM.
    pub low_gm_base: u64,
    /// Low GM in bytes.
    pub low_gm_bytes: u64,
    /// First graphics address of its high GM.
    pub high_gm_base: u64,
    /// High GM in bytes.
    pub high_gm_bytes: u64,
    /// The high-GM slots it holds.
    pub slots: Vec<u32>,
    /// How many of them another vGPU holds too (`null` without debugfs).
    pub shared_slots: Option<u64>,
    /// Guest pages pinned now (`null` without debugfs).
    pub pins_now: Option<u64>,
    /// Guest MMIO and GGTT accesses the host emulated (`null` without debugfs).
    pub traps: Option<u64>,
    /// Its own shadow policy, or `default` when it follows the global one
    /// (`null` for a module without `rgvt/shadow_policy`).
    pub shadow_policy: Option<String>,
    /// The policy its shadow runs now (`full` while nothing traps the
    /// guest's page-table writes; `null` without debugfs).
    pub policy_running: Option<String>,
}

/// `rgvtctl list`.
#[derive(Debug, Serialize)]
pub struct List {
    /// The live vGPUs, by id.
    pub vgpus: Vec<VgpuRow>,
    /// Low GM of all of them, in bytes.
    pub low_gm_bytes_total: u64,
}

/// `rgvtctl list`.
pub fn list(sys: &Sys, format: Format) -> Result<String> {
    let vgpus = sys.vgpus()?;
    let shared = sys.slot_map().map(|m| shared_per_vgpu(&m)).ok();
    let rows: Vec<VgpuRow> = vgpus
        .into_iter()
        .map(|v| {
            let counters = sys.counters(v.id).ok();
            VgpuRow {
                shared_slots: shared
                    .as_ref()
                    .map(|m| m.get(&v.id).copied().unwrap_or(0) as u64),
                pins_now: counters.as_ref().and_then(|c| value_of(c, "pins_now")),
                traps: counters.as_deref().map(traps),
                policy_running: sys.policy_running(v.id),
                shadow_policy: v.policy,
                id: v.id,
                uuid: v.uuid,
                ty: v.ty,
                low_gm_base: v.low.0,
                low_gm_bytes: v.low.1,
                high_gm_base: v.high.0,
                high_gm_bytes: v.high.1,
                slots: v.slots,
            }
        })
        .collect();
    let data = List {
        low_gm_bytes_total: rows.iter().map(|v| v.low_gm_bytes).sum(),
        vgpus: rows,
    };
    emit(format, &data, |d| {
        if d.vgpus.is_empty() {
            return "no vGPUs (create one with: rgvtctl create <type>)\n".to_string();
        }
        let mut t = Table::new(&[
            ("ID", Align::Right),
            ("UUID", Align::Left),
            ("TYPE", Align::Left),
            ("LOW GM", Align::Left),
            ("", Align::Right),
            ("SLOTS", Align::Left),
            ("HIGH GM", Align::Right),
            ("SHARED", Align::Right),
            ("PINS", Align::Right),
            ("TRAPS", Align::Right),
            ("POLICY", Align::Left),
        ]);
        for v in &d.vgpus {
            t.row(vec![
                v.id.to_string(),
                v.uuid.clone(),
                v.ty.clone(),
                table::range(v.low_gm_base, v.low_gm_bytes),
                table::size(v.low_gm_bytes),
                parse::format_ranges(&v.slots),
                table::size(v.high_gm_bytes),
                or_dash(v.shared_slots),
                or_dash(v.pins_now),
                or_dash(v.traps),
                policy_cell(v.shadow_policy.as_deref(), v.policy_running.as_deref()),
            ]);
        }
        let mut out = t.render();
        let _ = writeln!(
            out,
            "{} vGPUs, {} of low GM. SHARED: slots another vGPU holds too; PINS: guest pages\n\
             pinned now; TRAPS: guest MMIO and GGTT accesses the host emulated; POLICY: the\n\
             vGPU's own shadow policy or \"default\" (the global one), and the one it runs",
            d.vgpus.len(),
            table::size(d.low_gm_bytes_total)
        );
        out
    })
}

/// The slot grid: one row per vGPU, one column per slot.
fn grid(map: &SlotMap, types: &BTreeMap<u32, String>, out: &mut String) {
    let n = map.slots.len();
    let mut holders: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for s in &map.slots {
        for h in &s.holders {
            holders.entry(*h).or_default().push(s.index);
        }
    }
    let label = 12;
    let tens: String = (0..n)
        .map(|i| {
            if i % 10 == 0 {
                char::from_digit((i / 10 % 10) as u32, 10).unwrap_or(' ')
            } else {
                ' '
            }
        })
        .collect();
    let ones: String = (0..n)
        .map(|i| char::from_digit((i % 10) as u32, 10).unwrap_or(' '))
        .collect();
    let _ = writeln!(out, "{}", format!("{:label$}{tens}", "slot").trim_end());
    let _ = writeln!(out, "{:label$}{ones}", "");
    for (id, held) in &holders {
        let row: String = map
            .slots
            .iter()
            .map(|s| match (held.contains(&s.index), s.owner == Some(*id)) {
                (true, true) => '@',
                (true, false) => '#',
                (false, _) => '.',
            })
            .collect();
        let ty = types.get(id).map_or("", String::as_str);
        let _ = writeln!(out, "{:label$}{row}", format!("{id:>3} {ty}"));
    }
    let sharers: String = map
        .slots
        .iter()
        .map(|s| match s.holders.len() {
            0 => '.',
            k if k < 10 => char::from_digit(k as u32, 10).unwrap_or('+'),
            _ => '+',
        })
        .collect();
    let _ = writeln!(out, "{:label$}{sharers}", "holders");
}

/// `rgvtctl slots`: `--json` prints the parsed slot map ([`SlotMap`]).
pub fn slots(sys: &Sys, format: Format) -> Result<String> {
    let map = sys.slot_map()?;
    if format == Format::Json {
        return emit(format, &map, |_| String::new());
    }
    let n = map.slots.len() as u64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "high GM: {n} slots of {} from {:#x} = {}",
        table::size(map.slot_size),
        map.base,
        table::size(n * map.slot_size)
    );
    let held: usize = map.slots.iter().map(|s| s.holders.len()).sum();
    let vgpus: std::collections::BTreeSet<u32> =
        map.slots.iter().flat_map(|s| s.holders.clone()).collect();
    let free = map.slots.iter().filter(|s| s.holders.is_empty()).count();
    if n > 0 {
        let _ = writeln!(
            out,
            "held:    {} vGPUs hold {held} slots in all = {}, {:.1}x the high GM (partitioned: at most 1.0x)",
            vgpus.len(),
            table::size(held as u64 * map.slot_size),
            held as f64 / n as f64
        );
    }
    let _ = writeln!(
        out,
        "shared:  {} slots held by 2 vGPUs or more; {free} free",
        map.shared
    );
    let mut owners: BTreeMap<u32, u32> = BTreeMap::new();
    for s in &map.slots {
        if let Some(o) = s.owner {
            *owners.entry(o).or_insert(0) += 1;
        }
    }
    let owned: Vec<String> = owners
        .iter()
        .map(|(id, k)| format!("vGPU {id} in {k}"))
        .collect();
    let _ = writeln!(
        out,
        "physical GGTT: {}; {}",
        map.running.map_or_else(
            || "no vGPU running".to_string(),
            |r| format!("vGPU {r} running")
        ),
        if owned.is_empty() {
            "no slot holds a vGPU's entries yet".to_string()
        } else {
            format!("entries of {}", owned.join(", "))
        }
    );
    out.push('\n');
    let types: BTreeMap<u32, String> = sys
        .vgpus()
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.id, v.ty))
        .collect();
    grid(&map, &types, &mut out);
    out.push_str(
        "(# the vGPU holds the slot, @ and the physical GGTT has its entries there;\n\
         holders: how many vGPUs hold each slot)\n",
    );
    Ok(out)
}

/// `rgvtctl stats --json`.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// rgvt's vGPU id.
    pub id: u32,
    /// The mdev UUID.
    pub uuid: String,
    /// The type's name.
    #[serde(rename = "type")]
    pub ty: String,
    /// Guest MMIO and GGTT accesses the host emulated.
    pub traps: u64,
    /// Its own shadow policy, or `default` (`null` without the file).
    pub shadow_policy: Option<String>,
    /// The policy its shadow runs now (`null` without debugfs).
    pub policy_running: Option<String>,
    /// Every line of `vgpu<N>/counters`, by name.
    pub counters: BTreeMap<String, u64>,
    /// The other numeric files of `vgpu<N>/` (engines, shadow, ... as the
    /// module adds them), by file, then by name (`rcs0.workloads` for a row
    /// of a table).
    pub files: BTreeMap<String, BTreeMap<String, u64>>,
}

/// `rgvtctl stats <id|uuid>`.
pub fn stats(sys: &Sys, key: &str, format: Format) -> Result<String> {
    let v = sys.find_vgpu(key)?;
    let counters = sys.counters(v.id)?;
    let files = sys.vgpu_files(v.id);
    let data = Stats {
        id: v.id,
        uuid: v.uuid.clone(),
        ty: v.ty.clone(),
        traps: traps(&counters),
        shadow_policy: v.policy.clone(),
        policy_running: sys.policy_running(v.id),
        counters: counters.iter().cloned().collect(),
        files: files
            .iter()
            .map(|(f, m)| (f.clone(), m.iter().cloned().collect()))
            .collect(),
    };
    emit(format, &data, |d| {
        let mut out = format!("vGPU {} ({}, {}): {} traps\n", d.id, d.ty, d.uuid, d.traps);
        if d.shadow_policy.is_some() || d.policy_running.is_some() {
            let _ = writeln!(
                out,
                "shadow policy: {} (own>running)",
                policy_cell(d.shadow_policy.as_deref(), d.policy_running.as_deref())
            );
        }
        let mut t = Table::new(&[
            ("GROUP", Align::Left),
            ("COUNTER", Align::Left),
            ("VALUE", Align::Right),
            ("MEANING", Align::Left),
        ]);
        let mut last_group = "";
        for k in COUNTERS {
            let Some(value) = value_of(&counters, k.name) else {
                continue;
            };
            let group = if k.group == last_group { "" } else { k.group };
            last_group = k.group;
            t.row(vec![
                group.to_string(),
                k.name.to_string(),
                value.to_string(),
                k.meaning.to_string(),
            ]);
        }
        let unknown = counters
            .iter()
            .filter(|(n, _)| !COUNTERS.iter().any(|k| k.name == n));
        let groups = std::iter::once(("other", unknown.cloned().collect::<Vec<_>>()))
            .chain(files.iter().map(|(f, m)| (f.as_str(), m.clone())));
        for (group, entries) in groups {
            for (i, (name, value)) in entries.iter().enumerate() {
                t.row(vec![
                    if i == 0 { group } else { "" }.to_string(),
                    name.clone(),
                    value.to_string(),
                    String::new(),
                ]);
            }
        }
        out.push_str(&t.render());
        out
    })
}

/// What each tunable means (from `Documentation/ABI/testing/sysfs-kernel-rgvt`).
const TUNABLES: &[(&str, &str)] = &[
    ("max_vgpus", "most vGPUs alive at once (1..64)"),
    (
        "policy",
        "shadow policy: full|strict|static|dynamic|segmented (full while nothing traps writes)",
    ),
    (
        "relax_threshold",
        "trapped writes in the window that relax a page (1..512)",
    ),
    ("relax_window_ns", "window of relax_threshold in ns"),
    ("static_pages", "pages the static policy relaxes"),
    ("pool_pages", "most pages relaxed at once per vGPU"),
    ("max_shadow_pages", "most shadow page-table pages per vGPU"),
    ("balloon", "runtime ballooning on (1) or off (0)"),
    ("balloon_period_ms", "how often the balloon policy runs"),
    ("balloon_t1", "below T1 every expansion is approved (0..T2)"),
    ("balloon_t2", "at T2 or above vGPUs shrink (T1..2.0)"),
    (
        "balloon_w_max",
        "steal-time share that counts as full contention",
    ),
    (
        "balloon_c_max",
        "GTT-copy CPU share that counts as full overhead",
    ),
    (
        "balloon_shrink_slots",
        "slots taken per period when Phi >= T2",
    ),
    (
        "balloon_shrink_timeout",
        "periods a shrink waits for the guest",
    ),
    (
        "slots_scattered",
        "vGPUs may hold non-contiguous slots (0/1)",
    ),
    (
        "sched_time_slice_us",
        "how long a vGPU keeps the GPU before the scheduler chooses again",
    ),
    (
        "sched_balance_period_ms",
        "period over which the vGPUs' shares follow their weights",
    ),
    (
        "sched_max_workloads",
        "workloads a vGPU starts in one slice at most",
    ),
    (
        "sched_idle_grace_us",
        "wait for the last vGPU's next workload before another gets the GPU",
    ),
];

/// `rgvtctl get <tunable> --json`.
#[derive(Debug, Serialize)]
pub struct Tunable {
    /// The tunable's name.
    pub name: String,
    /// Its value as the kernel prints it, trimmed.
    pub value: String,
}

/// `rgvtctl get --json`.
#[derive(Debug, Serialize)]
pub struct Tunables {
    /// Every tunable's value by name (`null` when it could not be read).
    pub tunables: BTreeMap<String, Option<String>>,
}

/// `rgvtctl get [tunable]`.
pub fn get(sys: &Sys, name: Option<&str>, format: Format) -> Result<String> {
    if let Some(name) = name {
        let t = Tunable {
            name: name.to_string(),
            value: sys.tunable(name)?,
        };
        return emit(format, &t, |t| format!("{}\n", t.value));
    }
    let mut values = Vec::new();
    for n in sys.tunable_names()? {
        let value = sys.tunable(&n);
        values.push((n, value));
    }
    let data = Tunables {
        tunables: values
            .iter()
            .map(|(n, v)| (n.clone(), v.as_ref().ok().cloned()))
            .collect(),
    };
    emit(format, &data, |_| {
        let mut t = Table::new(&[
            ("TUNABLE", Align::Left),
            ("VALUE", Align::Left),
            ("MEANING", Align::Left),
        ]);
        for (n, v) in &values {
            let value = match v {
                Ok(v) => v.clone(),
                Err(e) => format!("({})", e.why),
            };
            let meaning = TUNABLES.iter().find(|(k, _)| k == n).map_or("", |(_, m)| m);
            t.row(vec![n.clone(), value, meaning.to_string()]);
        }
        t.render()
    })
}

/// `rgvtctl set --json`.
#[derive(Debug, Serialize)]
pub struct Set {
    /// The tunable's name.
    pub name: String,
    /// Its value before.
    pub old: String,
    /// Its value after, read back.
    pub new: String,
}

/// `rgvtctl set <tunable> <value>`: the kernel validates; its error is shown.
pub fn set(sys: &Sys, name: &str, value: &str, format: Format) -> Result<String> {
    let old = sys.tunable(name)?;
    let what = format!("set {name} {value}");
    if let Err(mut e) = sys::write(&sys.tunables_dir().join(name), value, &what) {
        let now = sys.tunable(name).unwrap_or_else(|_| "?".to_string());
        e.why = format!("{} ({name} stays {now})", e.why);
        return Err(e);
    }
    let data = Set {
        name: name.to_string(),
        old,
        new: sys.tunable(name)?,
    };
    emit(format, &data, |d| {
        format!("{}: {} -> {}\n", d.name, d.old, d.new)
    })
}

/// Whether `s` is a UUID in its 36-character text form.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, ch)| match i {
            8 | 13 | 18 | 23 => ch == '-',
            _ => ch.is_ascii_hexdigit(),
        })
}

/// A random (version 4) UUID from 16 bytes.
pub fn uuid_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex[0..4].concat(),
        hex[4..6].concat(),
        hex[6..8].concat(),
        hex[8..10].concat(),
        hex[10..16].concat()
    )
}

/// A random UUID from `/dev/urandom`.
fn new_uuid() -> Result<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| Error::io("/dev/urandom", &e))?;
    Ok(uuid_from(b))
}

/// `rgvtctl create --json` and `rgvtctl remove --json`.
#[derive(Debug, Serialize)]
pub struct Device {
    /// rgvt's vGPU id (`null` if the device did not show up).
    pub id: Option<u32>,
    /// The mdev UUID.
    pub uuid: String,
    /// The type's name.
    #[serde(rename = "type")]
    pub ty: String,
    /// Low GM in bytes (`null` if the device did not show up).
    pub low_gm_bytes: Option<u64>,
    /// The slots it holds.
    pub slots: Vec<u32>,
}

/// `rgvtctl create <type> [uuid]`.
pub fn create(sys: &Sys, ty: &str, uuid: Option<&str>, format: Format) -> Result<String> {
    let t = sys.find_type(ty)?;
    let uuid = match uuid {
        Some(u) if is_uuid(u) => u.to_ascii_lowercase(),
        Some(u) => return Err(Error::msg(format!("uuid {u}"), "not a UUID")),
        None => new_uuid()?,
    };
    let what = format!("create {}", t.name);
    if let Err(mut e) = sys::write(&sys.types_dir().join(&t.dir).join("create"), &uuid, &what) {
        if let Some(n) = sys.find_type(ty).ok().and_then(|t| t.available) {
            e.why = format!("{} (available: {n})", e.why);
        }
        return Err(e);
    }
    let v = sys.find_vgpu(&uuid).ok();
    let data = Device {
        id: v.as_ref().map(|v| v.id),
        low_gm_bytes: v.as_ref().map(|v| v.low.1),
        slots: v.map(|v| v.slots).unwrap_or_default(),
        uuid,
        ty: t.name,
    };
    emit(format, &data, |d| match (d.id, d.low_gm_bytes) {
        (Some(id), Some(low)) => format!(
            "created vGPU {id} {} ({}, low GM {}, slots {})\n",
            d.uuid,
            d.ty,
            table::size(low),
            parse::format_ranges(&d.slots)
        ),
        _ => format!("created {} ({})\n", d.uuid, d.ty),
    })
}

/// `rgvtctl remove <uuid|id>`.
pub fn remove(sys: &Sys, key: &str, format: Format) -> Result<String> {
    let v = sys.find_vgpu(key)?;
    let what = format!("remove {}", v.uuid);
    sys::write(&sys.devices_dir().join(&v.uuid).join("remove"), "1", &what)?;
    let data = Device {
        id: Some(v.id),
        uuid: v.uuid,
        ty: v.ty,
        low_gm_bytes: Some(v.low.1),
        slots: v.slots,
    };
    emit(format, &data, |d| {
        format!(
            "removed vGPU {} {} ({})\n",
            d.id.unwrap_or(v.id),
            d.uuid,
            d.ty
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        let u = uuid_from([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(is_uuid(&u));
        assert!(!is_uuid("ffffffff-ffff-4fff-bfff-fffffffffff"));
        assert!(!is_uuid("ffffffffxffff-4fff-bfff-ffffffffffff"));
    }

    #[test]
    fn traps_sum_mmio_and_ggtt_accesses() {
        let c = parse::counters("mmio_reads 2\nreads 3\nwrites 4\npins_now 9\n");
        assert_eq!(traps(&c), 9);
    }
}
