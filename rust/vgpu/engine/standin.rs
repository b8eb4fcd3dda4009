// SPDX-License-Identifier: GPL-2.0

//! STAND-IN for the execlist and command-parser cores (wip-execlist,
//! wip-cmd) until they are merged: the shapes the kernel side calls, with
//! no execution. Every workload is refused. Deleted when the cores land.

use crate::engine::{EngineId, GpuMemory, RegFile};

/// A submitted pair of context descriptors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Submission(pub(crate) [u64; 2]);

/// The ELSP write latch with a small queue of submissions.
#[derive(Default)]
pub(crate) struct ElspLatch {
    dw: [u32; 4],
    n: usize,
    queue: [Option<Submission>; 2],
    /// Submissions dropped because the queue was full.
    pub(crate) dropped: u64,
}

impl ElspLatch {
    /// One dword written to ELSP; returns whether a submission was queued.
    pub(crate) fn write(&mut self, value: u32) -> bool {
        self.dw[self.n] = value;
        self.n += 1;
        if self.n < 4 {
            return false;
        }
        self.n = 0;
        let d = self.dw;
        let sub = Submission([
            u64::from(d[3]) | u64::from(d[2]) << 32,
            u64::from(d[1]) | u64::from(d[0]) << 32,
        ]);
        match self.queue.iter_mut().find(|q| q.is_none()) {
            Some(slot) => {
                *slot = Some(sub);
                true
            }
            None => {
                self.dropped += 1;
                false
            }
        }
    }

    /// The oldest queued submission.
    pub(crate) fn pop(&mut self) -> Option<Submission> {
        let s = self.queue[0].take();
        self.queue[0] = self.queue[1].take();
        s
    }

    /// Whether a submission is queued.
    pub(crate) fn pending(&self) -> bool {
        self.queue[0].is_some()
    }

    /// Forgets the partial write and every queued submission.
    pub(crate) fn clear(&mut self) {
        *self = Self {
            dropped: self.dropped,
            ..Self::default()
        };
    }
}

/// A context to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Workload {
    /// Its PML4 (guest frame), if it uses a 4-level PPGTT.
    pub(crate) root: Option<u64>,
}

/// One engine's execlist state.
pub(crate) struct Execlist {
    engine: EngineId,
}

impl Execlist {
    pub(crate) fn new(engine: EngineId) -> Self {
        Self { engine }
    }

    /// Takes a submission; the workload to run.
    pub(crate) fn submit(
        &mut self,
        _sub: Submission,
        _mem: &mut impl GpuMemory,
        _regs: &mut impl RegFile,
    ) -> Option<Workload> {
        let _ = self.engine;
        Some(Workload { root: None })
    }

    /// A workload ended; returns the interrupt bits to raise.
    pub(crate) fn complete(
        &mut self,
        _ok: bool,
        _mem: &mut impl GpuMemory,
        _regs: &mut impl RegFile,
    ) -> (u32, u32) {
        (0, 0)
    }

    /// Engine or device reset.
    pub(crate) fn reset(&mut self, _regs: &mut impl RegFile) {}
}

/// Why a workload was refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditError {
    pub(crate) header: u32,
    pub(crate) at: u64,
}

/// A scanned workload, executing.
pub(crate) struct Exec;

/// Where an execution step ended.
pub(crate) enum Step {
    Done,
    More,
    Waiting,
    Fault,
    Hung,
}

/// Scans a workload.
pub(crate) fn scan(_w: &Workload, _mem: &mut impl GpuMemory) -> Result<Exec, AuditError> {
    Err(AuditError { header: 0, at: 0 })
}

impl Exec {
    pub(crate) fn run(
        &mut self,
        _mem: &mut impl GpuMemory,
        _regs: &mut impl RegFile,
        _budget: u32,
    ) -> Step {
        Step::Hung
    }
}
