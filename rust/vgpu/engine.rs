// SPDX-License-Identifier: GPL-2.0

//! The vGPU's engines: ELSP writes latched under the vGPU's lock, the
//! execlists and the running workloads under the vGPU's engine lock
//! ([`Vgpu::engine`]), and one step of work as a physical engine's worker
//! ([`crate::engines`]) runs it.
//!
//! An ELSP write only latches its dword (and, on the fourth, queues the
//! submission, bounded: overflow is counted and dropped) under the vGPU's
//! lock; the engine is kicked once that lock is dropped. The worker then
//! takes the engine lock (ordered before the vGPU's lock, never taken by
//! `dma_unmap`), hands the submission to the execlists, scans (audits) the
//! workload whole through the command parser, and executes the audited
//! copy under a command budget per step. Guest memory is reached through
//! [`Mem`] (short pins, no lock held while pinning), registers through
//! [`Regs`] (the vGPU's lock per access). A semaphore that is not yet
//! satisfied makes the step `Waiting`: retried after a short sleep, and
//! after [`MAX_POLLS`] polls the workload is cut off as hung. An audit
//! failure, a fault or a hang is reported to the guest as a failed context
//! (the execlists' events) and counted; the guest recovers with a reset
//! (`GEN6_GDRST` for engines, `VFIO_DEVICE_RESET` for the device), which
//! cancels the engines' work, as close does.

pub(crate) mod standin;

use super::engine_state::{Elsp, EngineState, PerEngine, Running, Stats};
use super::mem::{Mem, Regs};
use super::Vgpu;
use crate::engine::EngineId;
use crate::engines::{Client, Progress};
use crate::mmio::EngineHook;
use crate::vfio;
use standin::{scan, Step};

/// Commands executed per step before the worker moves on (the workload
/// goes on at its next step).
pub(crate) const STEP_BUDGET: u32 = 4096;
/// Polls of an unsatisfied semaphore (one per step, with a 50-100 us sleep
/// when nothing else runs) before the workload counts as hung: about a
/// second or two.
pub(crate) const MAX_POLLS: u32 = 20_000;

impl Vgpu {
    /// Acts on a guest register write that concerns the engines, under the
    /// vGPU's lock. Returns the engine to kick and the engines to reset,
    /// both once the lock is dropped ([`Vgpu::engines_after_write`]).
    pub(crate) fn engine_hook(elsp: &mut Elsp, hook: EngineHook) -> (Option<EngineId>, u8) {
        match hook {
            EngineHook::Elsp { engine, value } => {
                let queued = elsp.latch[engine.index()].write(value);
                (queued.then_some(engine), 0)
            }
            EngineHook::BadElsp => {
                elsp.bad += 1;
                (None, 0)
            }
            EngineHook::Reset { engines } => (None, engines),
        }
    }

    /// What [`Vgpu::engine_hook`] asked for, with no lock held.
    pub(crate) fn engines_after_write(&self, kick: Option<EngineId>, reset: u8) {
        if reset != 0 {
            self.engine_reset(reset);
        }
        if let Some(e) = kick {
            self.engines.kick(e, self.id);
        }
    }

    /// Cancels the work of the engines in `mask` (bit
    /// [`EngineId::index`]): the running workload, the queued submissions,
    /// the execlist state (as an engine reset leaves it).
    pub(crate) fn engine_reset(&self, mask: u8) {
        let mut eng = self.engine.lock();
        for e in EngineId::ALL {
            if mask & (1 << e.index()) == 0 {
                continue;
            }
            let pe = &mut eng.per[e.index()];
            if pe.running.take().is_some() {
                pe.stats.cancelled += 1;
            }
            pe.execlist.reset(&mut Regs::new(self));
            self.state.lock().elsp.latch[e.index()].clear();
        }
    }

    /// The VMM opened the device: the workers may reach guest memory.
    pub(crate) fn engines_open(&self, dev: &vfio::Device) {
        let mut eng = self.engine.lock();
        eng.dev = Some(dev.get());
    }

    /// The device is closing: every engine's work is cancelled and the
    /// workers lose the device. A step in progress holds the engine lock,
    /// so this waits for it (one step: [`STEP_BUDGET`] commands).
    pub(crate) fn engines_close(&self) {
        self.engine_reset((1 << EngineId::COUNT) - 1);
        let dev = self.engine.lock().dev.take();
        // The reference goes with no lock held.
        drop(dev);
    }

    /// Raises `bits` (engine-relative, `engine::irq_bit`) of `engine` in
    /// its GT bank and updates the interrupt line.
    fn raise(&self, engine: EngineId, bits: u32, stats: &mut Stats) {
        if bits == 0 {
            return;
        }
        let (bank, shift) = engine.irq();
        let mut st = self.state.lock();
        st.vregs.raise(bank, bits << shift);
        st.update_irq_lines();
        stats.interrupts += 1;
    }

    /// One step of `engine`'s work (see the module documentation).
    fn engine_step(&self, engine: EngineId) -> Progress {
        let i = engine.index();
        let mut guard = self.engine.lock();
        let EngineState { dev, per } = &mut *guard;
        let Some(dev) = dev.as_ref() else {
            return Progress::Idle;
        };
        let pe = &mut per[i];
        let mut mem = Mem::new(self, dev.device());
        let mut regs = Regs::new(self);
        if pe.running.is_none() {
            let sub = self.state.lock().elsp.latch[i].pop();
            let Some(sub) = sub else {
                return Progress::Idle;
            };
            pe.stats.submissions += 1;
            let Some(workload) = pe.execlist.submit(sub, &mut mem, &mut regs) else {
                return self.pending(engine, pe);
            };
            pe.stats.workloads += 1;
            mem.ppgtt_root = workload.root;
            match scan(&workload, &mut mem) {
                Ok(exec) => {
                    pe.running = Some(Running {
                        workload,
                        exec,
                        polls: 0,
                    })
                }
                Err(e) => {
                    pe.stats.audit_failures += 1;
                    pe.stats.last_refused = Some((e.header, e.at));
                    self.finish(engine, pe, false, &mut mem, &mut regs);
                    return self.pending(engine, pe);
                }
            }
        }
        let Some(run) = pe.running.as_mut() else {
            return self.pending(engine, pe);
        };
        mem.ppgtt_root = run.workload.root;
        let ok = match run.exec.run(&mut mem, &mut regs, STEP_BUDGET) {
            Step::More => return Progress::More,
            Step::Waiting => {
                run.polls += 1;
                pe.stats.waits += 1;
                if run.polls < MAX_POLLS {
                    return Progress::Waiting;
                }
                pe.stats.hangs += 1;
                false
            }
            Step::Done => true,
            Step::Fault => {
                pe.stats.faults += 1;
                false
            }
            Step::Hung => {
                pe.stats.hangs += 1;
                false
            }
        };
        pe.running = None;
        self.finish(engine, pe, ok, &mut mem, &mut regs);
        self.pending(engine, pe)
    }

    /// A workload ended (`ok`) or failed: the execlists write the guest's
    /// context and status events, the interrupts they ask for are raised.
    fn finish(
        &self,
        engine: EngineId,
        pe: &mut PerEngine,
        ok: bool,
        mem: &mut Mem<'_>,
        regs: &mut Regs<'_>,
    ) {
        if ok {
            pe.stats.completed += 1;
        }
        let (bits, events) = pe.execlist.complete(ok, mem, regs);
        pe.stats.csb_events += u64::from(events);
        self.raise(engine, bits, &mut pe.stats);
    }

    /// Whether `engine` has more work for this vGPU.
    fn pending(&self, engine: EngineId, pe: &PerEngine) -> Progress {
        if pe.running.is_some() || self.state.lock().elsp.latch[engine.index()].pending() {
            Progress::More
        } else {
            Progress::Idle
        }
    }
}

impl Client for Vgpu {
    fn step(&self, engine: EngineId) -> Progress {
        self.engine_step(engine)
    }
}
