//! A trace-driven MODEL of gBalloon's comparison, plus the cost of one allocation decision.
//!
//! Nothing here runs a GPU: fifteen vGPUs follow synthetic GM-demand traces (one valley-like
//! workload that grows over 18 scenes, the others small 2D/3D ones, after the paper's Table 2),
//! are switched round-robin every 16 ms through the real `Gm` switch planner (with predictive
//! copy), and a balloon period runs every 500 ms through the real `Balloon::step`. Copy time,
//! steal time and evictions come from the model's own constants, printed with the table.
//! Prints tables and asserts nothing; writes them to `build/bench/gm.json` (or `$RGVT_BENCH_OUT`)
//! for `tools/figures.sh`, with a sweep of 1 to 16 vGPUs (the most vGPUs each configuration sustains).

mod results;

use results::write_json;
use rgvt_core::balloon::{Acked, Balloon, Load, Milli, Params, Sample, Source};
use rgvt_core::gm::layout::{Config, Layout, MB};
use rgvt_core::gm::{Gm, Slots, VgpuId};
use rgvt_core::storage::{Alloc, AllocError, Vector};
use serde_json::json;
use std::hint::black_box;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

/// Host storage for the benchmark (the core's `Std` needs the `std` feature).
struct Host;

struct V<T>(Vec<T>);

impl<T> Deref for V<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for V<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T> Vector<T> for V<T> {
    fn new() -> Self {
        V(Vec::new())
    }
    fn try_push(&mut self, value: T) -> Result<(), AllocError> {
        self.0.try_reserve(1).map_err(|_| AllocError)?;
        self.0.push(value);
        Ok(())
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn try_reserve(&mut self, additional: usize) -> Result<(), AllocError> {
        self.0.try_reserve(additional).map_err(|_| AllocError)
    }
}

impl Alloc for Host {
    type Vec<T> = V<T>;
}

// Model constants.
const VGPUS: usize = 15;
const SCENES: usize = 18;
const SCENE_MS: u64 = 10_000;
const SWITCH_MS: u64 = 16;
const PERIOD_MS: u64 = 500;
const CPUS: u64 = 8;
/// CPU time to copy one GTT entry (model).
const NS_PER_ENTRY: u64 = 20;
/// Objects a guest evicts per period for each slot it lacks (model).
const EVICT_PER_SLOT: u64 = 40;
/// Steal-time share without GTT copies, and how much each unit of copy share adds (model).
const W_BASE: f64 = 0.2;
const W_PER_C: f64 = 2.0;

/// High-GM demand in slots (64 MB) per scene: valley grows from 9 to 13 slots (832 MB).
const VALLEY: [u32; SCENES] = [
    9, 9, 10, 10, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13,
];

/// The other fourteen vGPUs: (name, slots used), 3D ones 4-5 slots, 2D ones 1-2 slots.
const MIX: [(&str, u32); VGPUS - 1] = [
    ("lightsmark", 5),
    ("openarena", 4),
    ("nexuiz", 5),
    ("urbanterror", 4),
    ("firefox-ast", 2),
    ("firefox-scr", 2),
    ("gnome", 1),
    ("midori", 2),
    ("lightsmark", 5),
    ("openarena", 4),
    ("nexuiz", 5),
    ("firefox-ast", 2),
    ("gnome", 1),
    ("midori", 2),
];

/// What vGPU `v` needs at `ms`: valley first, then the mix, repeated for more vGPUs.
fn demand(v: usize, ms: u64, scene_ms: u64) -> u32 {
    if v == 0 {
        VALLEY[((ms / scene_ms) as usize).min(SCENES - 1)]
    } else {
        MIX[(v - 1) % MIX.len()].1
    }
}

#[derive(Default)]
struct Outcome {
    entries: u64,
    on_switch: u64,
    evictions: u64,
    shared_sum: u64,
    periods: u64,
    valley_final: u32,
    grants: u32,
    releases: u32,
    phi_sum: f64,
}

/// The paper's testbed: 4 GB GM, 256 MB low, 384 MB of high GM kept by the host, 54 slots.
fn layout() -> Layout {
    Layout::new(Config {
        gm_size: 4096 * MB,
        low_size: 256 * MB,
        low_reserved: 192 * MB,
        high_reserved: 384 * MB,
        slot_size: 64 * MB,
    })
    .unwrap()
}

/// One run of `n` vGPUs (`None` if they do not all fit), scenes of `scene_ms`.
fn run(static_slots: Option<u32>, n: usize, scene_ms: u64) -> Option<Outcome> {
    let mut gm = Gm::<Host>::new(layout(), true).unwrap();
    let initial = static_slots.unwrap_or(6);
    let ids: Vec<VgpuId> = (0..n)
        .map(|_| gm.create(4 * MB, initial, 1).ok())
        .collect::<Option<_>>()?;
    let mut bl = Balloon::<Host>::new(Params::default()).unwrap();
    let mut o = Outcome::default();
    let total_ms = scene_ms * SCENES as u64;
    let mut copy_ns = 0u64;
    let mut req_seq = 0u32;
    let mut next = 0usize;
    let mut ms = 0;
    while ms < total_ms {
        // One 16 ms quantum: switch in the next vGPU, then prepare the one after it.
        let cur = ids[next];
        let c = gm.switch_to(cur, |_, e| {
            black_box(e);
        });
        let c = c.unwrap();
        o.on_switch += c.entries;
        let p = gm
            .prefetch(ids[(next + 1) % n], |_, e| {
                black_box(e);
            })
            .unwrap();
        o.entries += c.entries + p.entries;
        copy_ns += (c.entries + p.entries) * NS_PER_ENTRY;
        next = (next + 1) % n;
        ms += SWITCH_MS;
        if ms % PERIOD_MS >= SWITCH_MS {
            continue;
        }
        // A balloon period: guests report evictions and ask for what they lack.
        o.periods += 1;
        o.shared_sum += u64::from(gm.slots().shared_slots());
        for (v, &id) in ids.iter().enumerate() {
            let held = gm.vgpu(id).unwrap().count();
            let want = demand(v, ms, scene_ms);
            if want > held {
                let ev = u64::from(want - held) * EVICT_PER_SLOT;
                o.evictions += ev;
                if static_slots.is_none() {
                    req_seq += 1;
                    let _ = bl.request(&gm, id, req_seq, (want - held).min(3), ev as u32);
                }
            }
        }
        let c = copy_ns as f64 / (CPUS * PERIOD_MS * 1_000_000) as f64;
        let w = (W_BASE + W_PER_C * c).min(1.0);
        let sample = Sample {
            steal_ns: (w * 1e9) as u64,
            vcpu_ns: 1_000_000_000,
            copy_ns,
            cpus: CPUS as u32,
            period_ns: PERIOD_MS * 1_000_000,
            source: Source::Modeled,
        };
        copy_ns = 0;
        o.phi_sum += f64::from(Load::new(bl.params(), &sample).phi.0) / 1000.0;
        if static_slots.is_some() {
            continue;
        }
        // Utilization: the share of its slots a guest has objects in.
        let mut util = [Milli(0); 64];
        for (v, &id) in ids.iter().enumerate() {
            let held = gm.vgpu(id).unwrap().count();
            util[id.index()] = Milli::ratio(
                u64::from(demand(v, ms, scene_ms).min(held)),
                u64::from(held),
            );
        }
        let d = bl.step(&mut gm, &sample, |id| util[id.index()]);
        o.grants += d.granted;
        // The running vGPU may have grown: its new slots are copied in before the guest knows.
        let s = gm
            .sync_running(|_, e| {
                black_box(e);
            })
            .unwrap();
        o.entries += s.entries;
        o.on_switch += s.entries;
        copy_ns += s.entries * NS_PER_ENTRY;
        // Guests answer at once: they ack grants, and release if they can spare the slots.
        for (v, &id) in ids.iter().enumerate() {
            let ch = *bl.channel(id);
            let seq = ch.seq();
            let keep = ch.keep(gm.vgpu(id).unwrap().slots).len();
            match ch.status() {
                rgvt_core::balloon::Status::Release if keep < demand(v, ms, scene_ms) => {
                    let _ = bl.refuse(id, seq);
                }
                rgvt_core::balloon::Status::Idle => {}
                _ => {
                    if let Ok(Acked::Released { .. }) = bl.ack(&mut gm, id, seq) {
                        o.releases += 1;
                    }
                }
            }
        }
    }
    o.valley_final = gm.vgpu(ids[0]).unwrap().count();
    Some(o)
}

fn main() {
    let per_slot = layout().entries_per_slot();
    println!("MODEL (trace-driven, not a measurement of a GPU): gBalloon comparison");
    println!(
        "  {VGPUS} vGPUs on {} slots of 64 MB; valley grows 9..13 slots over {SCENES} scenes of {} s;",
        layout().slots(),
        SCENE_MS / 1000
    );
    println!(
        "  round-robin switch every {SWITCH_MS} ms with predictive copy; balloon period {PERIOD_MS} ms;"
    );
    println!(
        "  model constants: {NS_PER_ENTRY} ns/entry copied, {CPUS} CPUs, W = {W_BASE} + {W_PER_C}*C, \
         {EVICT_PER_SLOT} evictions per missing slot per period; {per_slot} entries per slot"
    );
    println!();
    println!(
        "{:<14} {:>11} {:>12} {:>10} {:>13} {:>13} {:>6} {:>7} {:>9}",
        "config",
        "entries/s",
        "on-switch/s",
        "evictions",
        "shared slots",
        "valley slots",
        "avg Φ",
        "grants",
        "releases"
    );
    let secs = (SCENE_MS * SCENES as u64) as f64 / 1000.0;
    let mut rows = Vec::new();
    for (name, cfg) in CONFIGS {
        let o = run(cfg, VGPUS, SCENE_MS).expect("the testbed fits 15 vGPUs");
        let row = json!({
            "config": name,
            "vgpus": VGPUS,
            "entries_per_s": o.entries as f64 / secs,
            "on_switch_per_s": o.on_switch as f64 / secs,
            "evictions": o.evictions,
            "shared_slots_avg": o.shared_sum as f64 / o.periods.max(1) as f64,
            "valley_slots": o.valley_final,
            "phi_avg": o.phi_sum / o.periods.max(1) as f64,
            "grants": o.grants,
            "releases": o.releases,
        });
        println!(
            "{:<14} {:>11.0} {:>12.0} {:>10} {:>13.1} {:>13} {:>6.2} {:>7} {:>9}",
            name,
            row["entries_per_s"].as_f64().unwrap_or(0.0),
            row["on_switch_per_s"].as_f64().unwrap_or(0.0),
            o.evictions,
            row["shared_slots_avg"].as_f64().unwrap_or(0.0),
            o.valley_final,
            row["phi_avg"].as_f64().unwrap_or(0.0),
            o.grants,
            o.releases
        );
        rows.push(row);
    }
    println!();
    let sweep = sweep();
    println!();
    let decisions = decision_timing();
    write_json(
        "gm",
        &json!({
            "bench": "gm",
            "command": "cargo bench -p rgvt-core --bench gm",
            "unix_time": results::unix_time(),
            "model": {
                "slots": layout().slots(),
                "slot_mb": 64,
                "scene_ms": SCENE_MS,
                "scenes": SCENES,
                "switch_ms": SWITCH_MS,
                "period_ms": PERIOD_MS,
                "ns_per_entry": NS_PER_ENTRY,
                "cpus": CPUS,
                "t2": T2,
                "sweep_scene_ms": SWEEP_SCENE_MS,
            },
            "comparison": rows,
            "sweep": sweep,
            "decisions": decisions,
        }),
    );
}

/// The three configurations: slots per vGPU, or ballooning from 6.
const CONFIGS: [(&str, Option<u32>); 3] = [
    ("static 384MB", Some(6)),
    ("static 1024MB", Some(16)),
    ("gBalloon", None),
];

/// Φ at or above T2 (the default `balloon_t2`): the host does not keep up.
const T2: f64 = 1.0;

/// Scenes of the sweep's shorter runs.
const SWEEP_SCENE_MS: u64 = 2_000;

/// The same mix with 1 to 16 vGPUs (16 fill the testbed's low GM): GTT entries
/// copied per second and average Φ for each configuration, and the most vGPUs
/// each one sustains (average Φ below T2, every vGPU created).
fn sweep() -> serde_json::Value {
    let counts = [1usize, 2, 3, 4, 6, 8, 10, 12, 14, 15, 16];
    println!(
        "vGPUs sustained (same mix, 1..16 vGPUs, scenes of {} s; sustained = every vGPU fits and avg Φ < T2 = {T2}):",
        SWEEP_SCENE_MS / 1000
    );
    print!("{:<14}", "config");
    for n in counts {
        print!(" {n:>7}");
    }
    println!("  sustained");
    let secs = (SWEEP_SCENE_MS * SCENES as u64) as f64 / 1000.0;
    let mut out = Vec::new();
    for (name, cfg) in CONFIGS {
        let mut points = Vec::new();
        // The most vGPUs before the first count that does not fit or overloads.
        let mut sustained = 0;
        let mut held = true;
        let mut cells = String::new();
        for n in counts {
            let Some(o) = run(cfg, n, SWEEP_SCENE_MS) else {
                held = false;
                cells.push_str(&format!(" {:>7}", "-"));
                continue;
            };
            let phi = o.phi_sum / o.periods.max(1) as f64;
            let entries = o.entries as f64 / secs;
            held &= phi < T2;
            if held {
                sustained = n;
            }
            cells.push_str(&format!(" {:>6.0}k", entries / 1000.0));
            points.push(json!({
                "vgpus": n,
                "entries_per_s": entries,
                "phi_avg": phi,
                "evictions": o.evictions,
            }));
        }
        println!("{name:<14}{cells}  {sustained}");
        out.push(json!({"config": name, "points": points, "sustained": sustained}));
    }
    println!("(cells: GTT entries copied per second; - : the vGPUs do not all fit)");
    json!(out)
}
/// Time per allocation decision with 64 slots and 32 vGPUs.
fn decision_timing() -> serde_json::Value {
    let l = Layout::new(Config {
        gm_size: 1024 * 1024 + 64 * 64 * 1024,
        low_size: 1024 * 1024,
        low_reserved: 64 * 1024,
        high_reserved: 0,
        slot_size: 64 * 1024,
    })
    .unwrap();
    println!("allocation decisions, 64 slots x 32 vGPUs (ns per decision, release build):");
    let mut out = Vec::new();
    for contiguous in [true, false] {
        let mut map = Slots::<Host>::new(&l, contiguous).unwrap();
        let mut ids = Vec::new();
        let mut seed = 0x9e37_79b9u32;
        for _ in 0..32 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ids.push(map.create(8192, 4 + (seed >> 28), 1).unwrap());
        }
        let n = 200_000u32;
        let t = Instant::now();
        for i in 0..n {
            let id = ids[(i % 32) as usize];
            black_box(
                rgvt_core::balloon::adjust::plan_expansion(&map, black_box(id), 1 + i % 8).ok(),
            );
        }
        let grow = t.elapsed().as_nanos() as f64 / f64::from(n);
        let t = Instant::now();
        for i in 0..n {
            let id = ids[(i % 32) as usize];
            black_box(
                rgvt_core::balloon::adjust::plan_reduction(&map, black_box(id), 1 + i % 2).ok(),
            );
        }
        let shrink = t.elapsed().as_nanos() as f64 / f64::from(n);
        let m = 20_000u32;
        let t = Instant::now();
        for i in 0..m {
            let id = map.create(4096, black_box(1 + i % 16), 1).unwrap();
            map.destroy(id).unwrap();
        }
        let place = t.elapsed().as_nanos() as f64 / f64::from(m);
        println!(
            "  {:<11} expansion {:>7.1}  reduction {:>7.1}  placement (create+destroy) {:>7.1}",
            if contiguous { "runs" } else { "scattered" },
            grow,
            shrink,
            place
        );
        out.push(json!({
            "slots": if contiguous { "runs" } else { "scattered" },
            "expansion_ns": grow,
            "reduction_ns": shrink,
            "placement_ns": place,
        }));
    }
    json!(out)
}
