//! Execlist submission for one engine of a vGPU: ELSP writes become
//! workloads, completions become context-status events.
//!
//! The model is GVT-g's `gvt/execlist.c`; the guest is a stock gen9 i915
//! on a vGPU (no preemption, no semaphores: only submissions, lite
//! restores and completions).
//!
//! The pieces, in the order a submission meets them:
//!
//! - [`ElspLatch`] (MMIO path, under the vGPU lock): four dword writes to
//!   `RING_ELSP` make a [`Submission`], queued in a small bounded queue
//!   (overflow dropped and counted).
//! - [`Execlist::submit`] (engine worker): checks both descriptors
//!   ([`desc::Descriptor::check`]), reads each context image
//!   ([`lrc::read`], checked against gen9's layout) and emulates the
//!   schedule-in: idle-to-active, a lite restore (element 0 is the running
//!   context with a new tail) or a submission waiting in the second slot.
//!   A lite restore of the running context is acknowledged at once, as a
//!   gen9 engine does: the `PREEMPTED | LITE_RESTORE` event is written
//!   while the context runs, the submission takes the other slot, and its
//!   workload continues the context from where the outstanding one ends.
//!   Any other schedule-in happens, as in GVT-g, when the submission's
//!   first workload is dispatched: at once if nothing is outstanding, else
//!   when the workload before it completes. It returns up to two
//!   [`Workload`]s, which the caller runs in order, and the GT interrupt
//!   bits to raise.
//! - [`Execlist::complete`]: after the caller ran a workload, writes the
//!   ring head back into the image and `RING_HEAD`/`RING_TAIL`, and emits
//!   element-switch, context-complete and active-to-idle events, unless the
//!   next workload continues the same context (lite restore). A
//!   [`Outcome::Failed`] workload (audit failure, fault, hang) is reported
//!   as GVT-g reports one: no event and no context update, the engine's
//!   queued workloads are dropped; the guest's hang check then resets the
//!   engine ([`Execlist::reset`]).
//! - Events go to the CSB registers (`RING_CONTEXT_STATUS_BUF`/`_PTR`,
//!   through [`RegFile`]) and to the status-page mirror i915 reads
//!   (dwords `0x10..0x1b` and the write pointer at `0x1f` of the page at
//!   `RING_HWS_PGA`, through [`GpuMemory`]).
//!
//! Interrupts are the caller's: [`Submitted::irq`] and
//! [`Execlist::complete`] return engine-relative [`irq_bit`] bits for it to
//! shift ([`EngineId::irq`]) and raise.
//!
//! The [`RegFile`] given to the execlist sees hardware-side updates:
//! `RING_EXECLIST_STATUS_*`, `RING_CONTEXT_STATUS_BUF` (read-only to the
//! guest), `RING_HEAD`, `RING_TAIL` are plain stores, and
//! `RING_CONTEXT_STATUS_PTR` is a masked register (the execlist writes only
//! the write pointer under its mask, the guest moves the read pointer).
//! The guest-facing behaviour of these registers is in [`regs`].

pub mod desc;
pub mod elsp;
pub mod lrc;
pub mod regs;

#[cfg(test)]
mod tests;

use crate::engine::{irq_bit, EngineId, GpuMemory, RegFile, Space};
use desc::{DescError, Descriptor, Mode};
pub use elsp::{ElspLatch, Submission};
use lrc::{Image, LrcError};
use regs::{csb_ptr, event, status, Event};

/// Workloads handed out and not yet completed, per engine.
///
/// Each submission adds at most two; i915 has at most one submission in
/// flight, a lagging worker a few more. A submission that does not fit is
/// refused ([`SubmitError::Full`]).
pub const MAX_OUTSTANDING: usize = 16;

/// Why a submission was refused. Nothing was emitted or written; the guest
/// sees no event and its hang check recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// A descriptor fails the format checks (element 0 must be valid).
    Desc {
        /// Which element.
        elem: usize,
        /// Why.
        err: DescError,
    },
    /// A context image could not be read or is malformed.
    Image {
        /// Which element.
        elem: usize,
        /// Why.
        err: LrcError,
    },
    /// Both execlist slots are taken (GVT-g: "virtual execlist slots are
    /// full"); a stock i915 never submits then. A submission queued behind
    /// outstanding workloads meets this check when it is dispatched, and
    /// fails as GVT-g fails it: no event, the engine's queue dropped.
    Busy,
    /// [`MAX_OUTSTANDING`] workloads are outstanding.
    Full,
}

/// Why [`Execlist::complete`] refused a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteError {
    /// The workload is not the oldest outstanding one: completed out of
    /// order, or dropped by a failure or a reset (the caller drops it).
    Stale,
}

/// How a workload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to its tail.
    Done,
    /// It was refused by the audit, faulted or was cut off as hung.
    Failed,
}

/// One context to run: a ring from head to tail in an address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// The engine.
    pub engine: EngineId,
    /// The context's descriptor (context ID, LRCA).
    pub desc: Descriptor,
    /// Its addressing mode.
    pub mode: Mode,
    /// What its image says; `image.ring.head` is where this workload
    /// starts (the previous workload's tail when the context was still
    /// queued, as GVT-g does, since the image's head is stale then).
    pub image: Image,
    /// `RING_HWS_PGA` at submission: the GGTT address of the status page.
    pub hwsp: u32,
    seq: u64,
}

/// What [`Execlist::submit`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The workloads to run, element 0 first (element 1 may be `None`).
    pub workloads: [Option<Workload>; 2],
    /// Engine-relative GT interrupt bits to raise ([`irq_bit`]).
    pub irq: u32,
}

/// Counters of one engine's execlist (debugfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Submissions accepted.
    pub submissions: u64,
    /// Of which lite restores.
    pub lite_restores: u64,
    /// Submissions refused ([`SubmitError`]).
    pub refused: u64,
    /// Workloads completed successfully.
    pub completed: u64,
    /// Workloads that failed ([`Outcome::Failed`]).
    pub failed: u64,
    /// Workloads dropped by a failure or reset before they ran.
    pub dropped: u64,
    /// Context-status events written.
    pub events: u64,
    /// Events whose status-page mirror could not be written.
    pub hwsp_faults: u64,
    /// Ring heads that could not be written back into the image.
    pub writeback_faults: u64,
    /// Schedule-outs that did not match the running context (a guest that
    /// submitted something GVT-g's model cannot follow; no event).
    pub schedule_out_errors: u64,
    /// Engine or vGPU resets.
    pub resets: u64,
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("el_submissions", self.submissions);
        f("el_lite_restores", self.lite_restores);
        f("el_refused", self.refused);
        f("el_completed", self.completed);
        f("el_failed", self.failed);
        f("el_dropped", self.dropped);
        f("csb_events", self.events);
        f("hwsp_faults", self.hwsp_faults);
        f("writeback_faults", self.writeback_faults);
        f("schedule_out_errors", self.schedule_out_errors);
        f("el_resets", self.resets);
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Outstanding {
    seq: u64,
    desc: Descriptor,
    tail: u32,
    /// The submission whose schedule-in is emulated when this workload
    /// becomes the oldest (GVT-g emulates it when the first workload of a
    /// submission is dispatched, after the ones before it completed).
    schedule_in: Option<[Descriptor; 2]>,
}

/// The execlist state of one engine of one vGPU.
///
/// # Invariants
///
/// `running`, `pending` name slots 0 or 1, never the same one;
/// `running.1 < 2`; `qhead < MAX_OUTSTANDING`, `qlen <= MAX_OUTSTANDING`.
#[derive(Debug, Clone)]
pub struct Execlist {
    engine: EngineId,
    /// The two virtual execlists (GVT-g's `slot[2]`), elements `[0, 1]`.
    slots: [[Descriptor; 2]; 2],
    /// The running slot and the element in it that runs.
    running: Option<(usize, usize)>,
    /// A submission waiting for the running one to finish.
    pending: Option<usize>,
    /// The slot the next submission fills when idle (status write pointer).
    write_ptr: usize,
    queue: [Outstanding; MAX_OUTSTANDING],
    qhead: usize,
    qlen: usize,
    next_seq: u64,
    stats: Stats,
}

impl Execlist {
    /// The idle execlist of `engine`. Call [`Execlist::reset`] once with
    /// the vGPU's registers to set the CSB pointer.
    pub fn new(engine: EngineId) -> Self {
        Self {
            engine,
            slots: [[Descriptor::default(); 2]; 2],
            running: None,
            pending: None,
            write_ptr: 0,
            queue: [Outstanding::default(); MAX_OUTSTANDING],
            qhead: 0,
            qlen: 0,
            next_seq: 0,
            stats: Stats::default(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> EngineId {
        self.engine
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether the engine runs or holds a submission.
    pub fn is_active(&self) -> bool {
        self.running.is_some()
    }

    /// Whether `w` is still to be completed; a workload dropped by a
    /// failure or reset is not, and the caller should not run it.
    pub fn is_current(&self, w: &Workload) -> bool {
        (0..self.qlen).any(|i| self.queue[(self.qhead + i) % MAX_OUTSTANDING].seq == w.seq)
    }

    /// Consumes one submission: checks it, reads the context images and
    /// returns the workloads to run, to be run after those handed out
    /// before. The schedule-in event is emitted now if nothing is
    /// outstanding or if the submission is a lite restore of the running
    /// context (its interrupt is in [`Submitted::irq`]), else by the
    /// [`Execlist::complete`] that dispatches the first of them.
    ///
    /// The caller should hand submissions over as soon as they are
    /// latched, also while a workload runs: that is when a gen9 engine
    /// acknowledges a lite restore, and i915 submits nothing more on the
    /// engine until it sees the acknowledgement.
    pub fn submit(
        &mut self,
        s: Submission,
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
    ) -> Result<Submitted, SubmitError> {
        let r = self.try_submit(s, mem, regs);
        if r.is_err() {
            self.stats.refused += 1;
        }
        r
    }

    fn try_submit(
        &mut self,
        s: Submission,
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
    ) -> Result<Submitted, SubmitError> {
        // Element 1 matters only if valid; element 0 must be.
        let mut modes = [None; 2];
        for (elem, d) in s.desc.iter().enumerate() {
            if elem == 1 && !d.is_valid() {
                continue;
            }
            modes[elem] = Some(d.check().map_err(|err| SubmitError::Desc { elem, err })?);
        }
        // With nothing outstanding the submission is dispatched at once;
        // otherwise its schedule-in waits for the workloads before it,
        // unless it is a lite restore of the running context (below).
        let defer = self.qlen > 0;
        if !defer && self.pending.is_some() {
            return Err(SubmitError::Busy);
        }
        let n = modes.iter().flatten().count();
        if self.qlen + n > MAX_OUTSTANDING {
            return Err(SubmitError::Full);
        }
        let mut images = [None; 2];
        for (elem, mode) in modes.iter().enumerate() {
            if let Some(mode) = *mode {
                let img = lrc::read(mem, self.engine, s.desc[elem], mode)
                    .map_err(|err| SubmitError::Image { elem, err })?;
                images[elem] = Some((mode, img));
            }
        }

        let hwsp = regs.read(self.engine.mmio_base() + regs::HWS_PGA);
        // A lite restore is taken at once when the slots are what the
        // engine runs now: every outstanding workload was scheduled in
        // (none waits for a deferred schedule-in that would change them)
        // and no submission is pending.
        let lite_now = defer
            && self.pending.is_none()
            && self.outstanding().all(|o| o.schedule_in.is_none())
            && self.continues_running(s.desc[0]);
        let irq = if defer && !lite_now {
            0
        } else {
            self.schedule_in(s.desc, mem, regs)
        };
        let mut workloads = [None; 2];
        for (elem, slot) in images.iter().enumerate() {
            let Some((mode, mut image)) = *slot else {
                continue;
            };
            let desc = s.desc[elem];
            if let Some(tail) = self.last_tail(desc) {
                image.ring.head = tail;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.push(Outstanding {
                seq,
                desc,
                tail: image.ring.tail,
                schedule_in: (defer && !lite_now && elem == 0).then_some(s.desc),
            });
            workloads[elem] = Some(Workload {
                engine: self.engine,
                desc,
                mode,
                image,
                hwsp,
                seq,
            });
        }
        self.stats.submissions += 1;
        Ok(Submitted { workloads, irq })
    }

    /// Reports that `w` ended: writes back and emits events (see the
    /// module doc), including the schedule-in of the next submission;
    /// returns the GT interrupt bits to raise.
    pub fn complete(
        &mut self,
        w: &Workload,
        outcome: Outcome,
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
    ) -> Result<u32, CompleteError> {
        if self.qlen == 0 || self.queue[self.qhead].seq != w.seq {
            return Err(CompleteError::Stale);
        }
        self.pop();
        if outcome == Outcome::Failed {
            // GVT-g's complete_current_workload with a status: no context
            // update, no event, the engine's queue is cleaned; the guest
            // sees a hang.
            self.stats.failed += 1;
            self.stats.dropped += self.qlen as u64;
            self.qlen = 0;
            return Ok(0);
        }
        self.stats.completed += 1;

        let base = self.engine.mmio_base();
        let ring = w.image.ring;
        regs.write(base + regs::RING_TAIL, ring.tail);
        regs.write(
            base + regs::RING_HEAD,
            lrc::head_after(w.image.guest_head, ring.head, ring.tail),
        );
        if lrc::write_head(mem, w.desc.lrca(), ring.tail).is_err() {
            self.stats.writeback_faults += 1;
        }

        // The same context continues (lite restore): no schedule-out.
        let mut irq = 0;
        if self.qlen == 0 || !self.queue[self.qhead].desc.same_context(w.desc) {
            irq |= self.schedule_out(w.desc, mem, regs);
        }
        // The next workload is dispatched: its submission's schedule-in.
        if self.qlen > 0 {
            if let Some(desc) = self.queue[self.qhead].schedule_in.take() {
                if self.pending.is_some() {
                    // GVT-g: "no available execlist slot"; the workload
                    // fails, the engine's queue is cleaned, no event.
                    self.stats.refused += 1;
                    self.stats.dropped += self.qlen as u64;
                    self.qlen = 0;
                } else {
                    irq |= self.schedule_in(desc, mem, regs);
                }
            }
        }
        Ok(irq)
    }

    /// Engine reset or vGPU reset: forgets the slots and the outstanding
    /// workloads, clears `RING_EXECLIST_STATUS` and sets the CSB pointers
    /// to i915's reset values (the next event goes to entry 0).
    pub fn reset(&mut self, regs: &mut impl RegFile) {
        self.slots = [[Descriptor::default(); 2]; 2];
        self.running = None;
        self.pending = None;
        self.write_ptr = 0;
        self.stats.dropped += self.qlen as u64;
        self.qlen = 0;
        self.qhead = 0;
        self.stats.resets += 1;
        let base = self.engine.mmio_base();
        regs.write(base + regs::STATUS_LO, 0);
        regs.write(base + regs::STATUS_HI, 0);
        let fields = csb_ptr::READ.mask() | csb_ptr::WRITE.mask();
        regs.write(base + regs::CSB_PTR, (fields << 16) | regs::csb_ptr_reset());
    }

    /// GVT-g's `emulate_execlist_schedule_in`; the caller checked that no
    /// submission is pending (both slots would be taken).
    fn schedule_in(
        &mut self,
        new: [Descriptor; 2],
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
    ) -> u32 {
        let slot = match self.running {
            Some((rs, _)) => 1 - rs,
            None => self.write_ptr,
        };
        // Checked against the running slot before the other one is filled.
        let lite = self.continues_running(new[0]);
        self.slots[slot] = new;
        if self.running.is_none() {
            // INVARIANT: `slot` is 0 or 1, element 0 runs first.
            self.running = Some((slot, 0));
            self.pending = None;
            self.write_status(regs);
            return self.csb_update(event::IDLE_TO_ACTIVE, 0, mem, regs);
        }
        if lite {
            // INVARIANT: `slot` is the other slot than `rs`.
            self.running = Some((slot, 0));
            self.pending = None;
            self.write_status(regs);
            self.stats.lite_restores += 1;
            self.csb_update(
                event::LITE_RESTORE | event::PREEMPTED,
                new[0].ctx_id(),
                mem,
                regs,
            )
        } else {
            // INVARIANT: `slot` is the other slot than `rs`.
            self.pending = Some(slot);
            self.write_status(regs);
            0
        }
    }

    /// Whether a submission whose element 0 is `new0` is a lite restore of
    /// the running context (GVT-g's `emulate_execlist_schedule_in`):
    /// a. element 1 runs (element 0 finished) and is resubmitted first;
    /// b. element 0 runs alone and is resubmitted first.
    fn continues_running(&self, new0: Descriptor) -> bool {
        let Some((rs, re)) = self.running else {
            return false;
        };
        let [ctx0, ctx1] = self.slots[rs];
        (ctx1.is_valid() && re == 1 && ctx1.same_context(new0))
            || (!ctx1.is_valid() && ctx0.same_context(new0))
    }

    /// GVT-g's `emulate_execlist_ctx_schedule_out`.
    fn schedule_out(
        &mut self,
        ctx: Descriptor,
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
    ) -> u32 {
        let Some((rs, re)) = self.running else {
            self.stats.schedule_out_errors += 1;
            return 0;
        };
        if !self.slots[rs][re].same_context(ctx) {
            self.stats.schedule_out_errors += 1;
            return 0;
        }
        let ctx1 = self.slots[rs][1];
        if re == 0 && ctx1.is_valid() {
            // INVARIANT: element 1 of the running slot.
            self.running = Some((rs, 1));
            self.write_status(regs);
            return self.csb_update(
                event::COMPLETE | event::ELEMENT_SWITCH,
                ctx.ctx_id(),
                mem,
                regs,
            );
        }
        // The last element finished: the pending slot, if any, runs.
        let pending = self.pending.take();
        // INVARIANT: a pending slot starts at element 0.
        self.running = pending.map(|p| (p, 0));
        self.write_status(regs);
        let irq = self.csb_update(
            event::COMPLETE | event::ACTIVE_TO_IDLE,
            ctx.ctx_id(),
            mem,
            regs,
        );
        if pending.is_some() {
            self.csb_update(event::IDLE_TO_ACTIVE, 0, mem, regs);
        }
        irq
    }

    /// GVT-g's `emulate_execlist_status`.
    fn write_status(&mut self, regs: &mut impl RegFile) {
        let mut lo = 0;
        let mut hi = 0;
        if let Some((rs, re)) = self.running {
            self.write_ptr = 1 - rs;
            lo |= status::CURRENT_POINTER.put(rs as u32);
            let (valid, active) = if rs == 0 {
                (status::EXECLIST_0_VALID, status::EXECLIST_0_ACTIVE)
            } else {
                (status::EXECLIST_1_VALID, status::EXECLIST_1_ACTIVE)
            };
            lo |= valid.mask() | active.mask();
            hi = self.slots[rs][re].ctx_id();
        }
        lo |= status::WRITE_POINTER.put(self.write_ptr as u32);
        if self.pending.is_some() {
            lo |= status::QUEUE_FULL.mask();
        }
        let base = self.engine.mmio_base();
        regs.write(base + regs::STATUS_LO, lo);
        regs.write(base + regs::STATUS_HI, hi);
    }

    /// GVT-g's `emulate_csb_update`: one event into the CSB registers and
    /// the status-page mirror; returns the interrupt bit to raise.
    fn csb_update(
        &mut self,
        status: u32,
        ctx_id: u32,
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
    ) -> u32 {
        let ev = Event { status, ctx_id };
        let base = self.engine.mmio_base();
        let wp = regs::csb_next(regs.read(base + regs::CSB_PTR));
        regs.write(base + regs::CSB_BUF + 8 * wp, ev.status);
        regs.write(base + regs::CSB_BUF + 8 * wp + 4, ev.ctx_id);
        regs.write(
            base + regs::CSB_PTR,
            (csb_ptr::WRITE.mask() << 16) | csb_ptr::WRITE.put(wp),
        );
        self.stats.events += 1;

        let hwsp = regs.read(base + regs::HWS_PGA) & !0xfff;
        if hwsp != 0 {
            let mut entry = [0u8; 8];
            entry[..4].copy_from_slice(&ev.status.to_le_bytes());
            entry[4..].copy_from_slice(&ev.ctx_id.to_le_bytes());
            let page = u64::from(hwsp);
            // The entry before the pointer, as i915 reads the pointer first.
            let at = page + 4 * u64::from(regs::HWS_CSB_BUF0_INDEX) + 8 * u64::from(wp);
            let ok = mem.write(Space::Ggtt, at, &entry).is_ok()
                && mem
                    .write_u32(
                        Space::Ggtt,
                        page + 4 * u64::from(regs::HWS_CSB_WRITE_INDEX),
                        wp,
                    )
                    .is_ok();
            if !ok {
                self.stats.hwsp_faults += 1;
            }
        }
        irq_bit::CONTEXT_SWITCH
    }

    /// The outstanding workloads, oldest first.
    fn outstanding(&self) -> impl DoubleEndedIterator<Item = &Outstanding> + '_ {
        (0..self.qlen).map(|i| &self.queue[(self.qhead + i) % MAX_OUTSTANDING])
    }

    /// The tail of the newest outstanding workload of `desc`'s context.
    fn last_tail(&self, desc: Descriptor) -> Option<u32> {
        self.outstanding()
            .rev()
            .find(|o| o.desc.same_context(desc))
            .map(|o| o.tail)
    }

    fn push(&mut self, o: Outstanding) {
        // The caller checked there is room.
        if self.qlen < MAX_OUTSTANDING {
            self.queue[(self.qhead + self.qlen) % MAX_OUTSTANDING] = o;
            // INVARIANT: `qlen` stays at most `MAX_OUTSTANDING`.
            self.qlen += 1;
        }
    }

    fn pop(&mut self) {
        if self.qlen > 0 {
            // INVARIANT: `qhead` wraps, `qlen` was not 0.
            self.qhead = (self.qhead + 1) % MAX_OUTSTANDING;
            self.qlen -= 1;
        }
    }
}
