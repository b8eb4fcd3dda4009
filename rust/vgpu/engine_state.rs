// SPDX-License-Identifier: GPL-2.0

//! The state of a vGPU's engines: what its engine lock protects
//! ([`EngineState`]: the execlists, the workloads to run and the running
//! one, the counters) and what its lock protects ([`Elsp`]: the ELSP
//! latches with their queued submissions). [`super::engine`] runs them.

use crate::cmd::{self, AuditError};
use crate::engine::EngineId;
use crate::execlist::{self, ElspLatch, Execlist};
use crate::kstorage::KvAlloc;
use crate::vfio;
use kernel::prelude::*;
use kernel::time::Ktime;

/// Counters of one engine of a vGPU, besides the execlist's own
/// (debugfs `vgpu<N>/engines`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    /// Submissions the execlists refused (bad descriptor or image, slots
    /// full).
    pub(crate) submit_refused: u64,
    /// Workloads scanned (audited whole).
    pub(crate) workloads: u64,
    /// Workloads that ran to their tail.
    pub(crate) completed: u64,
    /// Commands executed (or skipped by length), by class: MI, 2D, 3D,
    /// media; and of those, skipped.
    pub(crate) mi: u64,
    pub(crate) blit: u64,
    pub(crate) render: u64,
    pub(crate) media: u64,
    pub(crate) skipped: u64,
    /// Memory writes by stores and post-sync operations.
    pub(crate) stores: u64,
    /// Register writes by LRI, LRM, LRR.
    pub(crate) reg_writes: u64,
    /// Bytes moved by copies.
    pub(crate) bytes_copied: u64,
    /// Workloads refused by the audit, and the last refusal.
    pub(crate) audit_failures: u64,
    pub(crate) last_refused: Option<AuditError>,
    /// Workloads stopped by a memory fault.
    pub(crate) faults: u64,
    /// Guest memory accesses that failed (no translation, or the frame
    /// could not be pinned), in scans, execution and context images.
    pub(crate) access_faults: u64,
    /// GGTT accesses refused because the physical GGTT entry was not the
    /// vGPU's own (another vGPU's entries were switched in): must stay 0.
    pub(crate) ggtt_foreign: u64,
    /// Workloads cut off: an endless chain (the scan's bound) or a
    /// semaphore waited on [`super::engine::SEMAPHORE_TIMEOUT_MS`].
    pub(crate) hangs: u64,
    /// Steps that found a semaphore unsatisfied.
    pub(crate) waits: u64,
    /// `MI_USER_INTERRUPT`s executed.
    pub(crate) user_interrupts: u64,
    /// Interrupt raises (user interrupt, context switch) into the GT bank.
    pub(crate) interrupts: u64,
    /// Workloads the execlists no longer expected when they ended (dropped
    /// by a failure or a reset meanwhile).
    pub(crate) stale: u64,
    /// Running workloads cancelled by a reset or close.
    pub(crate) cancelled: u64,
    /// Workloads the backend could not run (failed).
    pub(crate) backend_errors: u64,
    /// Workloads whose PPGTT root the shadow could not take.
    pub(crate) shadow_errors: u64,
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, u64)) {
        f("submit_refused", self.submit_refused);
        f("workloads", self.workloads);
        f("completed", self.completed);
        f("cmds_mi", self.mi);
        f("cmds_2d", self.blit);
        f("cmds_3d", self.render);
        f("cmds_media", self.media);
        f("cmds_skipped", self.skipped);
        f("stores", self.stores);
        f("reg_writes", self.reg_writes);
        f("bytes_copied", self.bytes_copied);
        f("audit_failures", self.audit_failures);
        f("faults", self.faults);
        f("access_faults", self.access_faults);
        f("ggtt_foreign", self.ggtt_foreign);
        f("hangs", self.hangs);
        f("waits", self.waits);
        f("user_interrupts", self.user_interrupts);
        f("interrupts", self.interrupts);
        f("stale", self.stale);
        f("cancelled", self.cancelled);
        f("backend_errors", self.backend_errors);
        f("shadow_errors", self.shadow_errors);
    }

    /// Adds what a finished workload did.
    pub(crate) fn add(&mut self, s: &cmd::Stats) {
        self.mi += s.mi;
        self.blit += s.blit;
        self.render += s.render;
        self.media += s.media;
        self.skipped += s.skipped;
        self.stores += s.stores;
        self.reg_writes += s.reg_writes;
        self.bytes_copied += s.bytes_copied;
    }
}

/// A workload being executed: scanned, audited, resumable.
pub(crate) struct Running {
    /// What the execlists handed out (completed with it).
    pub(crate) workload: execlist::Workload,
    /// The audited copy, executing.
    pub(crate) exec: cmd::Exec<KvAlloc>,
    /// When it started waiting on the semaphore it waits on now.
    pub(crate) waiting_since: Option<Ktime>,
    /// User interrupts already raised for it.
    pub(crate) user_interrupts: u64,
}

/// Workloads handed out by the execlists and not started yet, in order
/// (at most [`execlist::MAX_OUTSTANDING`] are outstanding): a ring on the
/// heap, allocated once (its workloads are kilobytes together).
pub(crate) struct Todo {
    ring: KVec<Option<execlist::Workload>>,
    head: usize,
    len: usize,
}

impl Todo {
    fn new() -> Result<Self> {
        let mut ring = KVec::with_capacity(execlist::MAX_OUTSTANDING, GFP_KERNEL)?;
        for _ in 0..execlist::MAX_OUTSTANDING {
            ring.push(None, GFP_KERNEL)?;
        }
        Ok(Self {
            ring,
            head: 0,
            len: 0,
        })
    }

    /// Queues `w`; returns whether it fit.
    pub(crate) fn push(&mut self, w: execlist::Workload) -> bool {
        let cap = self.ring.len();
        if self.len == cap {
            return false;
        }
        if let Some(slot) = self.ring.get_mut((self.head + self.len) % cap) {
            *slot = Some(w);
            self.len += 1;
            return true;
        }
        false
    }

    /// The oldest workload not started.
    pub(crate) fn pop(&mut self) -> Option<execlist::Workload> {
        if self.len == 0 {
            return None;
        }
        let w = self.ring.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % self.ring.len();
        self.len -= 1;
        w
    }

    /// Forgets every queued workload; returns how many.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.len;
        self.ring.iter_mut().for_each(|w| *w = None);
        self.head = 0;
        self.len = 0;
        n
    }

    /// Workloads queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Workloads that still fit.
    pub(crate) fn room(&self) -> usize {
        self.ring.len() - self.len
    }
}

/// One engine of the vGPU, under the engine lock.
pub(crate) struct PerEngine {
    pub(crate) execlist: Execlist,
    pub(crate) todo: Todo,
    pub(crate) running: Option<Running>,
    pub(crate) stats: Stats,
}

/// What the vGPU's engine lock protects.
pub(crate) struct EngineState {
    /// The open device, for the workers' pins: set by open, taken back by
    /// close under this lock (see [`vfio::DeviceRef`]).
    pub(crate) dev: Option<vfio::DeviceRef>,
    /// Per engine, in [`EngineId::ALL`] order; boxed, one at a time: the
    /// four together are kilobytes, too much for the probe's stack.
    pub(crate) per: [KBox<PerEngine>; EngineId::COUNT],
}

impl EngineState {
    /// Every engine idle, no device. The execlists' registers are set by
    /// the first open's reset.
    // Not inlined: its frame (one engine's state on its way to the heap)
    // would stay in the probe's, which is deep already.
    #[inline(never)]
    pub(crate) fn new() -> Result<Self> {
        let per = |e| -> Result<KBox<PerEngine>> {
            Ok(KBox::new(
                PerEngine {
                    execlist: Execlist::new(e),
                    todo: Todo::new()?,
                    running: None,
                    stats: Stats::default(),
                },
                GFP_KERNEL,
            )?)
        };
        let [rcs, bcs, vcs, vecs] = EngineId::ALL;
        Ok(Self {
            dev: None,
            per: [per(rcs)?, per(bcs)?, per(vcs)?, per(vecs)?],
        })
    }

    /// `engine`'s counters and its execlist's.
    pub(crate) fn stats(&self, engine: EngineId) -> (&Stats, execlist::Stats) {
        let pe = &self.per[engine.index()];
        (&pe.stats, pe.execlist.stats())
    }

    /// `engine`'s workload in progress (its position in the copy) and the
    /// workloads waiting to start.
    pub(crate) fn busy(&self, engine: EngineId) -> (Option<usize>, usize) {
        let pe = &self.per[engine.index()];
        (
            pe.running.as_ref().map(|r| r.exec.position()),
            pe.todo.len(),
        )
    }
}

/// What the vGPU's lock keeps for the engines: the ELSP latches with their
/// queued submissions.
#[derive(Default)]
pub(crate) struct Elsp {
    pub(crate) latch: [ElspLatch; EngineId::COUNT],
    /// ELSP writes that were not one whole dword, dropped.
    pub(crate) bad: u64,
    /// ELSP writes before the guest enabled execlists (`RING_MODE`),
    /// dropped.
    pub(crate) disabled: u64,
}

impl Elsp {
    /// Idle latches, on the heap (not inlined: not on the probe's stack).
    #[inline(never)]
    pub(crate) fn new() -> Result<KBox<Self>> {
        Ok(KBox::new(Self::default(), GFP_KERNEL)?)
    }
}
