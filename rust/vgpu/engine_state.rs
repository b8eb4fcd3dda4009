// SPDX-License-Identifier: GPL-2.0

//! The state of a vGPU's engines: what its engine lock protects
//! ([`EngineState`]: the execlists, the running workloads, the counters)
//! and what its lock protects ([`Elsp`]: the ELSP latches with their
//! queued submissions). [`super::engine`] runs them.

use crate::engine::EngineId;
use crate::vfio;
use crate::vgpu::engine::standin::{ElspLatch, Exec, Execlist, Workload};

/// Command classes counted per engine (`cmd`'s).
pub(crate) const CLASSES: [&str; 4] = ["mi", "2d", "3d", "media"];

/// Counters of one engine of a vGPU (debugfs `vgpu<N>/engines`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    /// Complete ELSP submissions taken by the execlists.
    pub(crate) submissions: u64,
    /// Workloads started (scanned).
    pub(crate) workloads: u64,
    /// Workloads that ran to their end.
    pub(crate) completed: u64,
    /// Commands executed, by class ([`CLASSES`]).
    pub(crate) commands: [u64; 4],
    /// Workloads refused by the audit.
    pub(crate) audit_failures: u64,
    /// The header of the last refused command and its GPU address.
    pub(crate) last_refused: Option<(u32, u64)>,
    /// Workloads stopped by a memory fault.
    pub(crate) faults: u64,
    /// Workloads cut off (command budget or semaphore polls).
    pub(crate) hangs: u64,
    /// Steps that found the workload waiting on a semaphore.
    pub(crate) waits: u64,
    /// Context-status events written.
    pub(crate) csb_events: u64,
    /// `MI_USER_INTERRUPT`s executed.
    pub(crate) user_interrupts: u64,
    /// Interrupt events raised into the GT banks.
    pub(crate) interrupts: u64,
    /// Workloads cancelled by a reset or close.
    pub(crate) cancelled: u64,
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, u64)) {
        f("submissions", self.submissions);
        f("workloads", self.workloads);
        f("completed", self.completed);
        for (name, n) in CLASSES.iter().zip(self.commands) {
            f(name, n);
        }
        f("audit_failures", self.audit_failures);
        f("faults", self.faults);
        f("hangs", self.hangs);
        f("waits", self.waits);
        f("csb_events", self.csb_events);
        f("user_interrupts", self.user_interrupts);
        f("interrupts", self.interrupts);
        f("cancelled", self.cancelled);
    }
}

/// A workload being executed: scanned, audited, resumable.
pub(crate) struct Running {
    pub(crate) workload: Workload,
    pub(crate) exec: Exec,
    pub(crate) polls: u32,
}

/// One engine of the vGPU, under the engine lock.
pub(crate) struct PerEngine {
    pub(crate) execlist: Execlist,
    pub(crate) running: Option<Running>,
    pub(crate) stats: Stats,
}

/// What the vGPU's engine lock protects.
pub(crate) struct EngineState {
    /// The open device, for the workers' pins: set by open, taken back by
    /// close under this lock (see [`vfio::DeviceRef`]).
    pub(crate) dev: Option<vfio::DeviceRef>,
    pub(crate) per: [PerEngine; EngineId::COUNT],
}

impl EngineState {
    /// Every engine idle, no device.
    pub(crate) fn new() -> Self {
        let per = |e| PerEngine {
            execlist: Execlist::new(e),
            running: None,
            stats: Stats::default(),
        };
        Self {
            dev: None,
            per: EngineId::ALL.map(per),
        }
    }

    /// The counters of `engine`.
    pub(crate) fn stats(&self, engine: EngineId) -> &Stats {
        &self.per[engine.index()].stats
    }

    /// Whether `engine` has a workload in progress.
    pub(crate) fn busy(&self, engine: EngineId) -> bool {
        self.per[engine.index()].running.is_some()
    }
}

/// What the vGPU's lock keeps for the engines: the ELSP latches with their
/// queued submissions.
#[derive(Default)]
pub(crate) struct Elsp {
    pub(crate) latch: [ElspLatch; EngineId::COUNT],
    /// ELSP writes that were not one whole dword, dropped.
    pub(crate) bad: u64,
}

impl Elsp {
    /// Submissions dropped because `engine`'s queue was full.
    pub(crate) fn dropped(&self, engine: EngineId) -> u64 {
        self.latch[engine.index()].dropped
    }
}
