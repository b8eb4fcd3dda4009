//! Mediation cost per frame of each shadow policy on massive-update, normal and mixed traces.
//!
//! Each trap is charged a fixed VM-exit cost (default 2 µs; `RGVT_EXIT_NS` or
//! the first argument sets it in nanoseconds) on top of the CPU time measured
//! in the mediation code (trap emulation and the before-submit hook). Guest
//! page-table writes themselves are not timed: they cost the same under every
//! policy. Each row is the best of three runs. Host services (pin, protect, guest reads) are the in-memory
//! simulator's, so real KVM/VFIO costs for those are not included.
//! `RGVT_THRESHOLD` and `RGVT_WINDOW_NS` override the dynamic/segmented
//! tunables for tuning runs. Prints a table and asserts nothing; writes the
//! rows to `build/bench/shadow.json` (or `$RGVT_BENCH_OUT`) for `tools/figures.sh`.

mod results;

use results::write_json;
use rgvt_core::pte::{Entry, ENTRIES};
use rgvt_core::shadow::sim::Sim;
use rgvt_core::shadow::{Params, Policy, Tables};
use rgvt_core::storage::Std;
use serde_json::json;
use std::time::{Duration, Instant};

/// PT pages of the guest's GPU address space (the massive trace rewrites all of them).
const PT_PAGES: u64 = 200;
/// Guest frames the PTEs point at (kept small so the simulated guest stays small).
const DATA_FRAMES: u64 = 4096;
const ROOT: u64 = 0;
const PDP: u64 = 1;
const PD: u64 = 2;
const FIRST_PT: u64 = 3;
const FIRST_DATA: u64 = FIRST_PT + PT_PAGES;
/// Guest time between two page-table writes, and between two frames (60 fps).
const WRITE_NS: u64 = 50;
const FRAME_NS: u64 = 16_666_667;

#[derive(Clone, Copy)]
enum Trace {
    Massive,
    Normal,
    Mixed,
}

impl Trace {
    fn name(self) -> &'static str {
        match self {
            Trace::Massive => "massive",
            Trace::Normal => "normal",
            Trace::Mixed => "mixed",
        }
    }

    fn frames(self) -> u64 {
        match self {
            Trace::Massive => 12,
            Trace::Normal => 2000,
            Trace::Mixed => 60,
        }
    }
}

/// Small deterministic generator (xorshift), so every policy sees the same writes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Default)]
struct Result {
    traps: u64,
    rebuilt: u64,
    cpu: Duration,
    frames: u64,
}

struct Run {
    sim: Sim,
    t: Tables<Std>,
    now: u64,
    cpu: Duration,
}

impl Run {
    fn new(policy: Policy) -> Self {
        let mut sim = Sim::new(FIRST_DATA + DATA_FRAMES);
        sim.set_entry(ROOT, 0, Entry::pointer(PDP).raw());
        sim.set_entry(PDP, 0, Entry::pointer(PD).raw());
        for p in 0..PT_PAGES {
            sim.set_entry(PD, p as usize, Entry::pointer(FIRST_PT + p).raw());
            for i in 0..ENTRIES as u64 {
                let data = FIRST_DATA + (p * 512 + i) % DATA_FRAMES;
                sim.set_entry(FIRST_PT + p, i as usize, Entry::pointer(data).raw());
            }
        }
        let params = Params { policy, ..params() };
        let mut t = Tables::<Std>::new(&mut sim, params).expect("tables");
        t.attach(&mut sim, ROOT).expect("attach");
        Run {
            sim,
            t,
            now: 0,
            cpu: Duration::ZERO,
        }
    }

    /// One guest PTE write: into guest memory, then the trap if the page is protected.
    fn pte_write(&mut self, page: u64, index: u64, data: u64) {
        let gfn = FIRST_PT + page;
        let value = Entry::pointer(FIRST_DATA + data % DATA_FRAMES).raw() | 0x18;
        self.sim.set_entry(gfn, index as usize, value);
        self.now += WRITE_NS;
        if self.sim.is_protected(gfn) {
            let start = Instant::now();
            let r = self.t.write(
                &mut self.sim,
                gfn,
                index as usize * 8,
                &value.to_le_bytes(),
                self.now,
            );
            self.cpu += start.elapsed();
            r.expect("write");
        }
    }

    fn submit(&mut self) {
        let start = Instant::now();
        let r = self.t.before_submit(&mut self.sim);
        self.cpu += start.elapsed();
        r.expect("submit");
        self.now = (self.now / FRAME_NS + 1) * FRAME_NS;
    }
}

/// Defaults, with `RGVT_THRESHOLD` and `RGVT_WINDOW_NS` overriding the dynamic tunables.
fn params() -> Params {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut p = Params::default();
    if let Some(t) = env("RGVT_THRESHOLD") {
        p.threshold = u32::try_from(t).unwrap_or(p.threshold);
    }
    if let Some(w) = env("RGVT_WINDOW_NS") {
        p.window_ns = w;
    }
    p.validate()
        .expect("RGVT_THRESHOLD / RGVT_WINDOW_NS out of range");
    p
}

fn run(trace: Trace, policy: Policy) -> Result {
    let mut run = Run::new(policy);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let before = *run.t.counters();
    for frame in 0..trace.frames() {
        let full_pages = match trace {
            Trace::Massive => PT_PAGES,
            Trace::Normal => 0,
            Trace::Mixed if frame % 4 == 0 => 50,
            Trace::Mixed => 0,
        };
        for p in 0..full_pages {
            for i in 0..ENTRIES as u64 {
                run.pte_write(p, i, frame * 7 + p * 512 + i);
            }
        }
        let scattered = match trace {
            Trace::Massive => 0,
            _ => 32,
        };
        for _ in 0..scattered {
            let r = rng.next();
            run.pte_write(r % PT_PAGES, (r >> 16) % ENTRIES as u64, r >> 32);
        }
        run.submit();
    }
    let c = *run.t.counters();
    let res = Result {
        traps: c.traps() - before.traps(),
        rebuilt: c.ptes_rebuilt - before.ptes_rebuilt,
        cpu: run.cpu,
        frames: trace.frames(),
    };
    run.t.destroy(&mut run.sim);
    assert_eq!(run.sim.total_pins(), 0);
    res
}

fn main() {
    let exit_ns: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .or_else(|| std::env::var("RGVT_EXIT_NS").ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let d = params();
    println!(
        "rgvt shadow benchmark: {PT_PAGES} PT pages mapped; mediation time = measured CPU time in \
         trap emulation + before-submit hook + traps x {:.2} us VM-exit cost (fixed, charged per trap; \
         set RGVT_EXIT_NS).",
        exit_ns as f64 / 1000.0
    );
    println!(
        "params: threshold {} writes / window {} us, static_pages {}, pool_pages {} \
         (RGVT_THRESHOLD, RGVT_WINDOW_NS override); host services are the in-memory simulator's.",
        d.threshold,
        d.window_ns / 1000,
        d.static_pages,
        d.pool_pages
    );
    println!(
        "{:<8} {:<10} {:>12} {:>14} {:>14} {:>18} {:>10} {:>10}",
        "trace",
        "policy",
        "traps/frame",
        "rebuilt/frame",
        "cpu us/frame",
        "mediation us/frame",
        "vs strict",
        "speedup"
    );
    let mut rows = Vec::new();
    for trace in [Trace::Massive, Trace::Normal, Trace::Mixed] {
        let mut strict_us = 0.0;
        for policy in Policy::ALL {
            // Best of three runs: the counts are deterministic, the CPU time is noisy.
            let r = (0..3)
                .map(|_| run(trace, policy))
                .min_by_key(|r| r.cpu)
                .expect("three runs");
            let f = r.frames as f64;
            let cpu_us = r.cpu.as_secs_f64() * 1e6 / f;
            let traps = r.traps as f64 / f;
            let med_us = cpu_us + traps * exit_ns as f64 / 1000.0;
            if policy == Policy::Strict {
                strict_us = med_us;
            }
            println!(
                "{:<8} {:<10} {:>12.1} {:>14.1} {:>14.1} {:>18.1} {:>9.3}x {:>9.1}x",
                trace.name(),
                policy.name(),
                traps,
                r.rebuilt as f64 / f,
                cpu_us,
                med_us,
                med_us / strict_us,
                strict_us / med_us
            );
            rows.push(json!({
                "trace": trace.name(),
                "policy": policy.name(),
                "traps_per_frame": traps,
                "rebuilt_per_frame": r.rebuilt as f64 / f,
                "cpu_us_per_frame": cpu_us,
                "mediation_us_per_frame": med_us,
                "vs_strict": med_us / strict_us,
                "speedup": strict_us / med_us,
            }));
        }
    }
    write_json(
        "shadow",
        &json!({
            "bench": "shadow",
            "command": "cargo bench -p rgvt-core --bench shadow",
            "unix_time": results::unix_time(),
            "exit_ns": exit_ns,
            "pt_pages": PT_PAGES,
            "params": {
                "threshold": d.threshold,
                "window_ns": d.window_ns,
                "static_pages": d.static_pages,
                "pool_pages": d.pool_pages,
            },
            "rows": rows,
        }),
    );
}
