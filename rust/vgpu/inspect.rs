// SPDX-License-Identifier: GPL-2.0

//! A vGPU's files in `/sys/kernel/debug/rgvt/vgpu<N>/` (see
//! `Documentation/rgvt/debugfs.rst`).

use super::Vgpu;
use crate::debugfs::{Dir, Files, Seq, Show};
use crate::engine::EngineId;
use core::fmt::{self, Write};
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// `vgpu<N>/counters`: traps, entries, pins and device accesses.
struct CountersFile;

impl Show for CountersFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        let st = v.state.lock();
        let mut r = Ok(());
        let mut line = |name: &str, value: u64| {
            if r.is_ok() {
                r = writeln!(m, "{name} {value}");
            }
        };
        st.counters.for_each(&mut line);
        st.vregs.stats.for_each(&mut line);
        st.ggtt.counters().for_each(&mut line);
        st.irqs.stats.for_each(&mut line);
        st.irq_counters.for_each(&mut line);
        line("cfg_ro_dropped", st.cfg.igd_ro_dropped());
        let (reads, writes) = st.vregs.untracked_overflow();
        line("untracked_overflow_reads", reads);
        line("untracked_overflow_writes", writes);
        line("sysfs_refused", v.sysfs_refused.load(Ordering::Relaxed));
        r
    }
}

/// `vgpu<N>/sched`: the scheduler's view of the vGPU (weight, credit, busy
/// time) and its GTT switches (entries copied, time).
struct SchedFile;

impl Show for SchedFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        v.engines.describe_client(v.id, m)
    }
}

/// `vgpu<N>/untracked`: every register offset the guest touched that rgvt
/// does not model, with its reads and writes.
struct UntrackedFile;

impl Show for UntrackedFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        let st = v.state.lock();
        writeln!(m, "offset reads writes")?;
        for e in st.vregs.untracked() {
            writeln!(m, "{:#07x} {} {}", e.offset, e.reads, e.writes)?;
        }
        let (reads, writes) = st.vregs.untracked_overflow();
        writeln!(m, "overflow {reads} {writes}")
    }
}

/// `vgpu<N>/ggtt`: every entry the guest wrote, with the pin and the
/// host PTE behind it.
struct GgttFile;

impl Show for GgttFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        // The vGPU's lock, then the GM lock (the documented order).
        let st = v.state.lock();
        let gm = v.host.gm.lock();
        writeln!(m, "index gm_addr guest_pte gfn host_pte")?;
        for r in st.ggtt.ranges() {
            for index in r.start..r.start + r.len {
                let Some((guest, gfn)) = st.ggtt.entry(index) else {
                    continue;
                };
                if guest == 0 {
                    continue;
                }
                let host = gm.gm.read(v.gm_id, index).unwrap_or(0);
                write!(m, "{index:#x} {:#x} {guest:#018x} ", index << 12)?;
                match gfn {
                    Some(g) => write!(m, "{g:#x}")?,
                    None => m.write_str("-")?,
                }
                writeln!(m, " {host:#018x}")?;
            }
        }
        Ok(())
    }
}

/// `vgpu<N>/engines`: per engine, its submissions and workloads and what
/// became of them, commands by class, audit failures with the last refused
/// command, faults, hangs, waits, CSB events and interrupts.
struct EnginesFile;

impl Show for EnginesFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        // The engine lock, then the vGPU's (the documented order). A step
        // in progress holds the engine lock: this waits for its end.
        let eng = v.engine.lock();
        let st = v.state.lock();
        writeln!(m, "elsp_bad_writes {}", st.elsp.bad)?;
        writeln!(m, "elsp_before_execlists {}", st.elsp.disabled)?;
        for e in EngineId::ALL {
            writeln!(m, "{}:", e.name())?;
            let (s, x) = eng.stats(e);
            let (latched, dropped) = st.elsp.latch[e.index()].counts();
            let mut r = Ok(());
            let mut line = |name: &str, value: u64| {
                if r.is_ok() {
                    r = writeln!(m, "  {name} {value}");
                }
            };
            line("elsp_submissions", latched);
            line("elsp_dropped", dropped);
            line("submissions", x.submissions);
            line("lite_restores", x.lite_restores);
            s.for_each(&mut line);
            line("ctx_completed", x.completed);
            line("ctx_failed", x.failed);
            line("ctx_dropped", x.dropped);
            line("csb_events", x.events);
            line("hwsp_faults", x.hwsp_faults);
            line("writeback_faults", x.writeback_faults);
            line("schedule_out_errors", x.schedule_out_errors);
            line("resets", x.resets);
            r?;
            let (running, todo) = eng.busy(e);
            match running {
                Some(pos) => writeln!(m, "  running at command {pos}, {todo} more queued")?,
                None => writeln!(m, "  idle, {todo} queued")?,
            }
            match &s.last_refused {
                Some(a) => writeln!(
                    m,
                    "  last_refused {:#010x} at level {} {:?} {:#x}: {:?}",
                    a.header, a.at.level, a.at.space, a.at.addr, a.reason
                )?,
                None => writeln!(m, "  last_refused -")?,
            }
        }
        Ok(())
    }
}

/// `vgpu<N>/shadow`: the shadow PPGTT's trees, pages, rebuilds and the
/// core's counters, then one line per tree.
struct ShadowFile;

impl Show for ShadowFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        let sh = v.shadow.lock();
        writeln!(m, "policy {}", sh.params().policy.name())?;
        writeln!(m, "policy_effective {}", sh.effective_policy().name())?;
        let own = sh.policy_override().map_or("default", |p| p.name());
        writeln!(m, "policy_override {own}")?;
        writeln!(m, "tracking {}", sh.tracker().source().name())?;
        let frames = sh.tracker().frames();
        writeln!(m, "tracked_frames {}", frames.len())?;
        writeln!(m, "track_generation {}", frames.generation())?;
        writeln!(m, "track_acked {}", frames.acked())?;
        writeln!(m, "trees {}", sh.trees())?;
        writeln!(m, "store_pages {}", sh.store_pages())?;
        let mut r = Ok(());
        let mut line = |name: &str, value: u64| {
            if r.is_ok() {
                r = writeln!(m, "{name} {value}");
            }
        };
        sh.stats().for_each(&mut line);
        sh.tracker().stats.for_each(&mut line);
        let c = sh.counters();
        line("strict_pages", c.strict_now);
        line("relaxed_pages", c.relaxed_now);
        c.for_each(&mut line);
        // A real GPU's pinned, DMA-mapped guest pages (none on the sim).
        if let Some(d) = sh.dma() {
            let d = d.snapshot();
            line("dma_mapped", d.mapped as u64);
            line("dma_pins_out", d.pins_out as u64);
            line("dma_stale", u64::from(d.stale));
            line("dma_orphaned", d.orphaned);
            let c = d.cache;
            line("dma_hits", c.hits);
            line("dma_inserted", c.inserted);
            line("dma_refused", c.refused);
            line("dma_undone", c.undone);
            line("dma_released", c.released);
            line("dma_stale_releases", c.stale_releases);
            line("dma_invalidated", c.invalidated);
            line("dma_dropped", c.dropped);
            line("dma_unmaps", c.unmaps);
        }
        r?;
        writeln!(m, "root refs last_use")?;
        let mut r = Ok(());
        sh.for_each_tree(|gfn, refs, last_use| {
            if r.is_ok() {
                r = writeln!(m, "{gfn:#x} {refs} {last_use}");
            }
        });
        r
    }
}

/// The files of `vgpu` in its directory `dir`.
pub(crate) fn files(dir: Arc<Dir>, vgpu: Arc<Vgpu>) -> Result<Files<Vgpu>> {
    let mut files = Files::new(dir, vgpu);
    files.add::<CountersFile>(kernel::c_str!("counters"))?;
    files.add::<SchedFile>(kernel::c_str!("sched"))?;
    files.add::<EnginesFile>(kernel::c_str!("engines"))?;
    files.add::<GgttFile>(kernel::c_str!("ggtt"))?;
    files.add::<ShadowFile>(kernel::c_str!("shadow"))?;
    files.add::<super::track::ops::WalkFile>(kernel::c_str!("shadow_walk"))?;
    files.add::<super::track::ops::FloorFile>(kernel::c_str!("shadow_floor"))?;
    files.add::<UntrackedFile>(kernel::c_str!("untracked"))?;
    Ok(files)
}
