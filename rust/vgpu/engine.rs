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
//! copy under a command budget per step ([`STEP_BUDGET`]), through the
//! backend ([`crate::backend::Backend::run`]). Guest memory is reached
//! through [`Mem`] (pins taken with no lock held, kept to the end of the
//! step), registers through [`Regs`] (the vGPU's lock per access). A
//! semaphore that is not yet satisfied makes the step `Waiting`: retried
//! after a short sleep, and after [`SEMAPHORE_TIMEOUT_MS`] of waiting the
//! workload is cut off as hung.
//!
//! An audit failure, a fault or a hang fails the workload as GVT-g fails
//! one (the execlists write no context-status event for it and drop the
//! engine's queue: the guest's hang check fires) and is counted; the guest
//! recovers with a reset (`GEN6_GDRST` for engines, `VFIO_DEVICE_RESET` for
//! the device), which cancels the engines' work, as close does.

use super::engine_state::{Elsp, EngineState, PerEngine, Running};
use super::mem::{Mem, Regs};
use super::Vgpu;
use crate::cmd::{self, Limits, Step};
use crate::engine::{irq_bit, EngineId};
use crate::engines::{Client, Progress, Stepped};
use crate::execlist::{self, Outcome};
use crate::kstorage::KvAlloc;
use crate::mmio::EngineHook;
use crate::vfio;
use kernel::time::{ktime_ms_delta, Ktime};

/// Commands executed per step before the worker moves on (the workload
/// goes on at its next step).
pub(crate) const STEP_BUDGET: usize = 4096;
/// How long a workload may wait on an unsatisfied semaphore before it
/// counts as hung (polled once per step, with a 50-100 us sleep when
/// nothing else runs). i915's own heartbeat declares a hang after a few
/// seconds; this is below it.
pub(crate) const SEMAPHORE_TIMEOUT_MS: i64 = 2000;

/// Bounds of one workload's scan: the command parser's, with its copy
/// capped at 1 MB (a vGPU has up to four workloads in flight, one per
/// engine; the host holds their copies).
pub(crate) const LIMITS: Limits = Limits {
    max_cmds: 1 << 16,
    max_dwords: 1 << 18,
    max_copy_bytes: 256 << 20,
};

/// Every engine, one bit each ([`EngineId::index`]).
pub(crate) const ALL_ENGINES: u8 = (1 << EngineId::COUNT) - 1;

impl Vgpu {
    /// Acts on a guest register write that concerns the engines, under the
    /// vGPU's lock (`ring_mode` is the engine's `RING_MODE_GEN7` before the
    /// write). Returns the engine to kick and the engines to reset, both
    /// once the lock is dropped ([`Vgpu::engines_after_write`]).
    pub(crate) fn engine_hook(
        elsp: &mut Elsp,
        hook: EngineHook,
        ring_mode: impl Fn(EngineId) -> u32,
    ) -> (Option<EngineId>, u8) {
        match hook {
            EngineHook::Elsp { engine, .. }
                if !execlist::regs::execlists_enabled(ring_mode(engine)) =>
            {
                elsp.disabled += 1;
                (None, 0)
            }
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
    /// [`EngineId::index`]): the running workload, the workloads not
    /// started, the queued submissions and the ELSP latch, the execlist
    /// state (CSB pointers as an engine reset leaves them).
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
            pe.todo.clear();
            pe.execlist.reset(&mut Regs::new(self));
            self.state.lock().elsp.latch[e.index()].reset();
        }
    }

    /// The VMM opened the device: the workers may reach guest memory.
    pub(crate) fn engines_open(&self, dev: &vfio::Device) {
        self.engine_reset(ALL_ENGINES);
        self.engine.lock().dev = Some(dev.get());
    }

    /// The device is closing: every engine's work is cancelled and the
    /// workers lose the device. A step in progress holds the engine lock,
    /// so this waits for it (one step: [`STEP_BUDGET`] commands).
    pub(crate) fn engines_close(&self) {
        self.engine_reset(ALL_ENGINES);
        let dev = self.engine.lock().dev.take();
        // The reference goes with no lock held.
        drop(dev);
    }

    /// Raises `bits` (engine-relative, [`irq_bit`]) of `engine` in its GT
    /// bank and updates the interrupt line.
    fn raise(&self, engine: EngineId, bits: u32, pe: &mut PerEngine) {
        if bits == 0 {
            return;
        }
        let (bank, shift) = engine.irq();
        let mut st = self.state.lock();
        st.vregs.raise(bank, bits << shift);
        st.update_irq_lines();
        pe.stats.interrupts += 1;
    }

    /// One step of `engine`'s work (see the module documentation).
    fn engine_step(&self, engine: EngineId) -> Stepped {
        let i = engine.index();
        let mut guard = self.engine.lock();
        let EngineState { dev, per } = &mut *guard;
        let Some(dev) = dev.as_ref() else {
            return Stepped {
                progress: Progress::Idle,
                inside: false,
            };
        };
        let pe: &mut PerEngine = &mut per[i];
        let mut mem = Mem::new(self, dev.device());
        let mut regs = Regs::new(self);
        let progress = self.step_with(engine, pe, &mut mem, &mut regs);
        pe.stats.access_faults += mem.faults;
        pe.stats.ggtt_foreign += mem.foreign;
        Stepped {
            progress,
            inside: pe.running.is_some(),
        }
    }

    /// [`Vgpu::engine_step`] with the engine lock held and the guest's
    /// memory and registers at hand.
    fn step_with(
        &self,
        engine: EngineId,
        pe: &mut PerEngine,
        mem: &mut Mem<'_>,
        regs: &mut Regs<'_>,
    ) -> Progress {
        self.take_submissions(engine, pe, mem, regs);
        if pe.running.is_none() {
            if let Some(w) = pe.todo.pop() {
                self.start(engine, pe, w, mem, regs);
            }
            return self.pending(engine, pe);
        }
        let Some(run) = pe.running.as_mut() else {
            return self.pending(engine, pe);
        };
        mem.set_root(run.workload.image.root);
        let step = match self
            .host
            .backend
            .run(engine, &mut run.exec, mem, regs, STEP_BUDGET)
        {
            Ok(step) => step,
            Err(_) => {
                pe.stats.backend_errors += 1;
                Step::Hung
            }
        };
        let users = run.exec.stats().user_interrupts;
        let new_users = users - run.user_interrupts;
        run.user_interrupts = users;
        if !matches!(step, Step::Waiting { .. }) {
            // Only a wait that never ends is a hang.
            run.waiting_since = None;
        }
        let outcome = match step {
            Step::Yield => None,
            Step::Waiting { .. } => {
                pe.stats.waits += 1;
                let now = Ktime::ktime_get();
                let since = *run.waiting_since.get_or_insert(now);
                if ktime_ms_delta(now, since) < SEMAPHORE_TIMEOUT_MS {
                    None
                } else {
                    pe.stats.hangs += 1;
                    Some(Outcome::Failed)
                }
            }
            Step::Done { .. } => {
                pe.stats.completed += 1;
                Some(Outcome::Done)
            }
            Step::Fault { .. } => {
                pe.stats.faults += 1;
                Some(Outcome::Failed)
            }
            Step::Hung => {
                pe.stats.hangs += 1;
                Some(Outcome::Failed)
            }
        };
        if new_users > 0 {
            pe.stats.user_interrupts += new_users;
            self.raise(engine, irq_bit::USER_INTERRUPT, pe);
        }
        match outcome {
            None if matches!(step, Step::Waiting { .. }) => Progress::Waiting,
            None => Progress::More,
            Some(outcome) => {
                if let Some(run) = pe.running.take() {
                    pe.stats.add(run.exec.stats());
                    self.finish(engine, pe, &run.workload, outcome, mem, regs);
                }
                self.pending(engine, pe)
            }
        }
    }

    /// Hands every queued submission to the execlists now, as the hardware
    /// takes an ELSP write at once (a lite restore of the running context
    /// is acknowledged while it runs): their workloads queue behind the
    /// running one.
    fn take_submissions(
        &self,
        engine: EngineId,
        pe: &mut PerEngine,
        mem: &mut Mem<'_>,
        regs: &mut Regs<'_>,
    ) {
        // Room for a submission's two workloads; the execlists refuse more
        // than `MAX_OUTSTANDING` outstanding anyway.
        while pe.todo.room() >= 2 {
            let sub = self.state.lock().elsp.latch[engine.index()].pop();
            let Some(sub) = sub else {
                return;
            };
            match pe.execlist.submit(sub, mem, regs) {
                Ok(s) => {
                    for w in s.workloads.into_iter().flatten() {
                        // Room was checked above.
                        if !pe.todo.push(w) {
                            pe.stats.stale += 1;
                        }
                    }
                    self.raise(engine, s.irq, pe);
                }
                Err(_) => pe.stats.submit_refused += 1,
            }
        }
    }

    /// Scans (audits) workload `w` whole; it runs from the next step, or
    /// fails at once if the audit refuses it.
    fn start(
        &self,
        engine: EngineId,
        pe: &mut PerEngine,
        w: execlist::Workload,
        mem: &mut Mem<'_>,
        regs: &mut Regs<'_>,
    ) {
        if !pe.execlist.is_current(&w) {
            // Dropped by a failure before it ran.
            pe.stats.stale += 1;
            return;
        }
        let ring = w.image.ring;
        let cw = cmd::Workload {
            engine,
            ring_start: u64::from(ring.start),
            head: ring.head,
            tail: ring.tail,
            ring_size: ring.size(),
            // Store-index commands are relative to the context's
            // per-process status page, the first page of its image.
            hwsp: u64::from(w.desc.lrca()),
            ppgtt: true,
        };
        mem.set_root(w.image.root);
        pe.stats.workloads += 1;
        // The shadow PPGTT rebuilt from the guest's tables before every
        // workload (`full`, until write tracking); a root it cannot shadow
        // leaves every PPGTT address of the workload unmapped (counted by
        // the shadow).
        if mem.prepare_ppgtt().is_err() {
            pe.stats.shadow_errors += 1;
        }
        match cmd::scan::<KvAlloc>(&cw, mem, &LIMITS) {
            Ok(scanned) => {
                pe.running = Some(Running {
                    workload: w,
                    exec: scanned.exec(),
                    waiting_since: None,
                    user_interrupts: 0,
                })
            }
            Err(e) => {
                pe.stats.audit_failures += 1;
                pe.stats.last_refused = Some(e);
                self.finish(engine, pe, &w, Outcome::Failed, mem, regs);
            }
        }
    }

    /// Workload `w` ended with `outcome`: the execlists write the guest's
    /// context and the status events, and the interrupts they ask for are
    /// raised.
    fn finish(
        &self,
        engine: EngineId,
        pe: &mut PerEngine,
        w: &execlist::Workload,
        outcome: Outcome,
        mem: &mut Mem<'_>,
        regs: &mut Regs<'_>,
    ) {
        match pe.execlist.complete(w, outcome, mem, regs) {
            Ok(bits) => self.raise(engine, bits, pe),
            Err(_) => pe.stats.stale += 1,
        }
        if outcome == Outcome::Failed {
            // The execlists dropped the rest of the engine's queue.
            pe.stats.stale += pe.todo.clear() as u64;
        }
    }

    /// Whether `engine` has more work for this vGPU.
    fn pending(&self, engine: EngineId, pe: &PerEngine) -> Progress {
        if pe.running.is_some()
            || pe.todo.len() > 0
            || !self.state.lock().elsp.latch[engine.index()].is_empty()
        {
            Progress::More
        } else {
            Progress::Idle
        }
    }
}

impl Client for Vgpu {
    fn step(&self, engine: EngineId) -> Stepped {
        self.engine_step(engine)
    }
}
