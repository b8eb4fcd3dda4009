// SPDX-License-Identifier: GPL-2.0

//! The i915 backend: rgvt attached to i915 the way kvmgt is.
//!
//! i915 calls [`rgvt_i915_init_device`] for each GPU with GVT support once
//! rgvt registered with `intel_gvt_set_ops()`. The GGTT hooks are complete;
//! offering vGPU types on an i915 GPU is not (the vGPU's GGTT entries would
//! hold host frames, not DMA addresses, and its ballooned GM is not fenced
//! off i915's own), so such a GPU is reported and left alone (these
//! machines have no Intel GPU to develop it on).
//!
//! Submission ([`Backend::run`]) follows GVT-g's `gvt/scheduler.c`, on the
//! command parser's audited copy instead of GVT-g's own scan: a host
//! `intel_context` per vGPU and engine ([`HostCtx`], created on the vGPU's
//! first workload on that engine, dropped by [`Backend::release_vgpu`] at
//! close, reset and removal), its PPGTT root swapped for the vGPU's shadow
//! PML4 ([`RunCtx::root_dma`]: the shadow is DMA-mapped for this device
//! through [`Backend::dma`], see `vgpu::shadow::dma`), the copy turned into
//! a straight-line shadow batch ([`shadow_batch`]) pinned in the GGTT, one
//! `i915_request` starting it, and a wait bounded by [`TIMEOUT_MS`] (a
//! request still running then is a hang, waited for until i915's hang
//! check ends it). On completion its `MI_USER_INTERRUPT`s are reported in
//! [`RunCtx`] and its LRIs copied into the vGPU's register model
//! ([`copy_back_lri`]). It is compiled against i915 and reviewed, never
//! run: there is no Intel GPU here.

use super::{Backend, DmaMap, RunCtx, Writer};
use crate::bindings;
use crate::cmd::table::{self, Kind};
use crate::cmd::{addr48, Exec, Step, Where};
use crate::engine::{EngineId, GpuMemory, MemError, RegFile, Space};
use crate::gm::slots::MAX_VGPUS;
use crate::kstorage::KvAlloc;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::ffi::{c_int, c_long};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// rgvt's registration as i915's GVT device model.
///
/// # Invariants
///
/// `intel_gvt_set_ops()` succeeded for rgvt's ops; `drop` clears them.
pub(crate) struct Attachment(());

impl Attachment {
    /// Registers with i915; fails if another device model (kvmgt) holds it.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the ops are a static of rust/i915.c; i915 may call back
        // at once, into functions that need no state of ours.
        kernel::error::to_result(unsafe { bindings::rgvt_i915_attach() })?;
        // INVARIANT: registration succeeded.
        Ok(Self(()))
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // SAFETY: by the type invariant rgvt's ops are registered.
        unsafe { bindings::rgvt_i915_detach() };
    }
}

/// How long [`Backend::run`] waits for a workload's request before it
/// reports a hang: the engine's bound on a waiting workload
/// (`vgpu::engine::SEMAPHORE_TIMEOUT_MS`, a higher layer), so both backends
/// declare a hang alike, below i915's own heartbeat.
pub(crate) const TIMEOUT_MS: i64 = 2000;

/// Host contexts per vGPU id (the PV page's `vgt_id`, 1..=[`MAX_VGPUS`]).
type Slots = KVVec<Option<HostCtx>>;

/// Counters of the submission path (debugfs `gpu`).
#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    completed: AtomicU64,
    hangs: AtomicU64,
    /// Workloads refused before submission: a GGTT operand outside the
    /// vGPU's GGTT view.
    refused: AtomicU64,
    /// Workloads that could not be submitted (missing inputs, i915 errors).
    errors: AtomicU64,
    /// Of those, workloads with no DMA-mapped shadow root (a 3-level
    /// context, or a root that could not be shadowed).
    no_root: AtomicU64,
    /// Host contexts released with their vGPU (close, reset, removal).
    released: AtomicU64,
    /// Register writes of completed workloads' LRIs copied into the vGPUs'
    /// register models.
    lri_copied: AtomicU64,
}

/// DMA mappings on i915's device, for the vGPUs' shadow PPGTTs.
///
/// # Invariants
///
/// `i915` is live as long as [`I915`]'s, which outlives every vGPU (and
/// so every shadow holding this).
struct I915Dma {
    i915: *mut bindings::drm_i915_private,
}

// SAFETY: `dma_map_page` and `dma_unmap_page` may be called from any
// thread on a live device.
unsafe impl Send for I915Dma {}
// SAFETY: as above; the value is only a device pointer.
unsafe impl Sync for I915Dma {}

impl DmaMap for I915Dma {
    fn map(&self, pfn: u64) -> Result<u64> {
        let pfn = usize::try_from(pfn).map_err(|_| EINVAL)?;
        let mut dma = 0u64;
        // SAFETY: by the type invariant `i915` is live; `dma` is a valid
        // place for the result; the C side checks `pfn_valid`, and the
        // caller owns or holds pinned the frame while it is mapped.
        let ret = unsafe { bindings::rgvt_i915_dma_map(self.i915, pfn as _, &mut dma) };
        kernel::error::to_result(ret)?;
        Ok(dma)
    }

    fn unmap(&self, dma: u64) {
        // SAFETY: by the type invariant `i915` is live; `dma` came from
        // `map` (the `DmaMap` contract).
        unsafe { bindings::rgvt_i915_dma_unmap(self.i915, dma) }
    }
}

/// One i915 GPU.
///
/// # Invariants
///
/// `i915` is a device i915 handed to `init_device` and has not yet taken
/// back with `clean_device`.
#[pin_data]
pub(crate) struct I915 {
    i915: *mut bindings::drm_i915_private,
    /// Per engine ([`EngineId::index`]): the host contexts of the vGPUs.
    /// An engine's worker runs one step at a time, so each lock is held by
    /// one submission (up to [`TIMEOUT_MS`]) and blocks no other engine.
    #[pin]
    ctxs: [Mutex<Slots>; EngineId::COUNT],
    counters: Counters,
    dma: Arc<I915Dma>,
}

// SAFETY: i915's GGTT hooks take their own wakeref and may be called from
// any thread while the device is live; the host contexts are behind locks.
unsafe impl Send for I915 {}
// SAFETY: as above; `&I915` only reaches those hooks and the locked contexts.
unsafe impl Sync for I915 {}

impl I915 {
    /// The GPU `i915`, with no host context yet.
    ///
    /// # Safety
    ///
    /// `i915` is a device i915 handed to `init_device` and keeps until
    /// `clean_device`, which must not return before the result is dropped.
    pub(crate) unsafe fn new(i915: *mut bindings::drm_i915_private) -> Result<impl PinInit<Self>> {
        // INVARIANT: `I915Dma`'s device is this one, live as long.
        let dma = Arc::new(I915Dma { i915 }, GFP_KERNEL)?;
        // INVARIANT: by the safety requirements.
        Ok(pin_init!(Self {
            i915,
            ctxs <- kernel::init::pin_init_array_from_fn(|_| kernel::new_mutex!(KVVec::new())),
            counters: Counters::default(),
            dma,
        }))
    }

    /// Submits `exec`'s workload on `engine` and waits for it (see the
    /// module documentation).
    fn submit(
        &self,
        engine: EngineId,
        exec: &Exec<KvAlloc>,
        mem: &mut dyn GpuMemory,
        regs: &mut dyn RegFile,
        run: &mut RunCtx,
    ) -> Result<Step> {
        let copy = audited_copy(exec);
        let scanned = exec.scanned();
        let w = scanned.workload();
        // A 4-level context's shadow, DMA-mapped and held by the engine
        // for this run; any other (a legacy 3-level PPGTT, which rgvt does
        // not shadow, or a root that could not be shadowed) is refused
        // before anything reaches i915.
        let Some(root) = run.root_dma else {
            self.counters.no_root.fetch_add(1, Ordering::Relaxed);
            return Err(ENOTSUPP);
        };
        let (batch, user_interrupts) = match shadow_batch(engine, copy, w.hwsp, w.ppgtt, mem)? {
            Ok(shadowed) => shadowed,
            Err(step) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                return Ok(step);
            }
        };
        let id = usize::try_from(run.vgpu).map_err(|_| EINVAL)?;
        if id > MAX_VGPUS as usize {
            return Err(EINVAL);
        }
        let mut slots = self.ctxs[engine.index()].lock();
        while slots.len() <= id {
            slots.push(None, GFP_KERNEL)?;
        }
        let slot = slots.get_mut(id).ok_or(EINVAL)?;
        if slot.is_none() {
            // SAFETY: by the type invariant `i915` is live; the context is
            // dropped with `self` (before `clean_device` returns).
            *slot = Some(unsafe { HostCtx::new(self.i915, engine) }?);
        }
        let Some(ctx) = slot.as_mut() else {
            return Err(EINVAL);
        };
        // The request of an earlier workload cut off as hung may still run
        // (until i915's hang check resets the engine): this one hangs too.
        if !ctx.idle() {
            self.counters.hangs.fetch_add(1, Ordering::Relaxed);
            return Ok(Step::Hung);
        }
        ctx.set_root(root);
        self.counters.submitted.fetch_add(1, Ordering::Relaxed);
        ctx.submit(&batch)?;
        let mut wait = ctx.wait(TIMEOUT_MS);
        if wait == Wait::Running {
            // A hang: reported as one, but the GPU may walk the shadow
            // until i915's hang check resets the engine, and the engine
            // holds the tree only for this call. So wait for the end, as
            // GVT-g's workload thread does (`MAX_SCHEDULE_TIMEOUT`; here
            // `u32::MAX` ms, what `msecs_to_jiffies` takes).
            self.counters.hangs.fetch_add(1, Ordering::Relaxed);
            let _ = ctx.wait(i64::MAX);
            return Ok(Step::Hung);
        }
        if wait == Wait::Done {
            // The user interrupts of a completed workload reach the guest
            // with its completion (GVT-g forwards each as the host sees it).
            run.user_interrupts += user_interrupts;
            // The registers its LRIs loaded, into the vGPU's register
            // model, as the sim's execution leaves them.
            let n = copy_back_lri(engine, copy, regs);
            self.counters.lri_copied.fetch_add(n, Ordering::Relaxed);
        } else {
            wait = Wait::Failed;
        }
        match wait {
            Wait::Done if scanned.cut() => {
                // The scan stopped at its bound: the prefix ran, the
                // workload is an endless one (as the sim reports it).
                self.counters.hangs.fetch_add(1, Ordering::Relaxed);
                Ok(Step::Hung)
            }
            Wait::Done => {
                self.counters.completed.fetch_add(1, Ordering::Relaxed);
                Ok(Step::Done { head: w.tail })
            }
            Wait::Running | Wait::Failed => {
                self.counters.hangs.fetch_add(1, Ordering::Relaxed);
                Ok(Step::Hung)
            }
        }
    }
}

impl Backend for I915 {
    fn entries(&self) -> u64 {
        // SAFETY: by the type invariant `i915` is live.
        unsafe { bindings::rgvt_i915_ggtt_entries(self.i915) }
    }

    fn aperture_size(&self) -> u64 {
        // SAFETY: by the type invariant `i915` is live.
        unsafe { bindings::rgvt_i915_aperture_size(self.i915) }
    }

    fn scratch_mfn(&self) -> u64 {
        // SAFETY: by the type invariant `i915` is live.
        unsafe { bindings::rgvt_i915_scratch_mfn(self.i915) }
    }

    /// i915's GSM needs no lock of ours: each write is one `writeq`.
    fn write_batch(&self, batch: &mut dyn FnMut(Writer<'_>)) {
        let entries = self.entries();
        batch(&mut |index, pte| {
            if index < entries {
                // SAFETY: `i915` is live; `index < entries()` was checked.
                unsafe { bindings::rgvt_i915_ggtt_write(self.i915, index, pte) }
            }
        });
    }

    fn invalidate(&self) {
        // SAFETY: by the type invariant `i915` is live.
        unsafe { bindings::rgvt_i915_ggtt_invalidate(self.i915) }
    }

    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(out, "backend i915")?;
        writeln!(out, "ggtt_entries {}", self.entries())?;
        writeln!(out, "aperture_size {:#x}", self.aperture_size())?;
        writeln!(out, "scratch_mfn {:#x}", self.scratch_mfn())?;
        let c = &self.counters;
        for (name, n) in [
            ("submitted", &c.submitted),
            ("completed", &c.completed),
            ("hangs", &c.hangs),
            ("refused", &c.refused),
            ("errors", &c.errors),
            ("no_root", &c.no_root),
        ] {
            writeln!(out, "workloads_{name} {}", n.load(Ordering::Relaxed))?;
        }
        let released = c.released.load(Ordering::Relaxed);
        writeln!(out, "host_contexts_released {released}")?;
        let lri = c.lri_copied.load(Ordering::Relaxed);
        writeln!(out, "lri_copied {lri}")?;
        Ok(())
    }

    /// Submits the audited workload to i915 whole and waits for it: the
    /// real engine has no command budget to stop at, so `budget` is unused
    /// and one call ends the workload (`Done`, `Hung`, or `Fault` for a
    /// GGTT operand outside the vGPU, refused before anything ran).
    ///
    /// The engine's counters by command class come from `exec`'s
    /// statistics, which only the sim's execution advances: on i915 they
    /// stay zero. The workload's `MI_USER_INTERRUPT`s are reported in
    /// `ctx` when it completes.
    fn run(
        &self,
        engine: EngineId,
        exec: &mut Exec<KvAlloc>,
        mem: &mut dyn GpuMemory,
        regs: &mut dyn RegFile,
        _budget: usize,
        ctx: &mut RunCtx,
    ) -> Result<Step> {
        let step = self.submit(engine, exec, mem, regs, ctx);
        if step.is_err() {
            self.counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        step
    }

    fn dma(&self) -> Option<Arc<dyn DmaMap>> {
        let dma: Arc<dyn DmaMap> = self.dma.clone();
        Some(dma)
    }

    /// Drops the vGPU's host contexts on every engine; each waits for its
    /// last request first ([`HostCtx`]'s `drop`), so the GPU no longer
    /// walks the vGPU's shadow when this returns. The next workload makes
    /// a fresh context (GVT-g's `intel_vgpu_clean_submission` and setup
    /// again), so a vGPU created in the same slot inherits nothing.
    fn release_vgpu(&self, vgpu: u32) {
        let Ok(id) = usize::try_from(vgpu) else {
            return;
        };
        for slots in &self.ctxs {
            let ctx = slots.lock().get_mut(id).and_then(Option::take);
            if let Some(ctx) = ctx {
                drop(ctx);
                self.counters.released.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The audited copy's dwords, in execution order: what the scan checked,
/// never the guest's ring read again.
fn audited_copy(exec: &Exec<KvAlloc>) -> &[u32] {
    exec.scanned().dwords()
}

/// Writes the register values the audited copy's `MI_LOAD_REGISTER_IMM`s
/// load (audited against the engine's whitelist already) into the vGPU's
/// register model, in order, as the sim's execution does: the cheap part
/// of GVT-g's copy-back of a completed workload's context
/// (`update_guest_context`). Values the GPU computed (`MI_LOAD_REGISTER_MEM`,
/// `_REG`) are not copied. Returns the writes made.
fn copy_back_lri(engine: EngineId, copy: &[u32], regs: &mut dyn RegFile) -> u64 {
    let mut n = 0;
    let mut i = 0;
    while let Some(&h) = copy.get(i) {
        let Some((info, _)) = table::lookup(engine, h) else {
            return n;
        };
        let (len, _) = info.len.of(h);
        if len == 0 {
            return n;
        }
        if info.kind == Kind::Lri {
            let Some(d) = copy.get(i + 1..i + len) else {
                return n;
            };
            for pair in d.chunks_exact(2) {
                regs.write(pair[0], pair[1]);
                n += 1;
            }
        }
        i += len;
    }
    n
}

/// `MI_NOOP`.
const MI_NOOP: u32 = 0;
/// `MI_BATCH_BUFFER_END`.
const MI_BATCH_BUFFER_END: u32 = 0x0a << 23;
/// `MI_STORE_DATA_IMM` with a GGTT address, one dword of data (four
/// dwords); the qword form adds [`SDI_QWORD`] and one to the length.
const MI_STORE_DATA_IMM_GGTT: u32 = (0x20 << 23) | (1 << 22) | 2;
const SDI_QWORD: u32 = 1 << 21;
/// Bit 22 of the memory MI commands: the address is in the GGTT.
const USE_GGTT: u32 = 1 << 22;
/// `MI_FLUSH_DW` / `PIPE_CONTROL`: store data index (header / dword 1).
const STORE_INDEX: u32 = 1 << 21;
/// `MI_FLUSH_DW` dword 1 bit 2: the post-sync address is in the GGTT.
const FLUSH_DW_GGTT: u32 = 1 << 2;
/// `PIPE_CONTROL` dword 1 bit 24: the post-sync address is in the GGTT.
const PIPE_CONTROL_GGTT: u32 = 1 << 24;

/// Turns the audited copy into the batch i915 runs: a straight-line program
/// ending in `MI_BATCH_BUFFER_END`, and checks its GGTT operands against
/// the vGPU's GGTT view (GVT-g's `ADDR_FIX` checks).
///
/// The copy is the workload already unrolled (the scan followed every
/// batch start), so its `MI_BATCH_BUFFER_START`/`END`s become `MI_NOOP`s:
/// the GPU never jumps into guest memory, which the guest may have
/// rewritten since the audit. Store-index forms become GGTT stores to the
/// guest's context status page ([`cmd::Workload::hwsp`]), since the
/// status page the real engine uses is the host context's.
///
/// The batch runs from the GGTT (privileged, as GVT-g's shadow batches do),
/// so a GGTT operand reaches the host's GGTT: each must translate in the
/// vGPU's own view (guest GGTT addresses are host ones: a vGPU's graphics
/// memory is a slice of the host's GGTT, ballooned as GVT-g's is). PPGTT
/// operands go through the shadow PPGTT and need no check. Operands of the
/// commands the sim skips (3D and media state) are not checked, as the
/// command parser documents.
///
/// Returns the batch and its `MI_USER_INTERRUPT`s (reported to the guest
/// when the workload completes), or the [`Step::Fault`] ending a workload refused
/// before anything ran (its `at` names the refused operand's address,
/// since the copy does not keep where each command was read).
///
/// [`cmd::Workload::hwsp`]: crate::cmd::Workload::hwsp
fn shadow_batch(
    engine: EngineId,
    copy: &[u32],
    hwsp: u64,
    ppgtt: bool,
    mem: &mut dyn GpuMemory,
) -> Result<core::result::Result<(KVVec<u32>, u64), Step>> {
    let mut out = KVVec::with_capacity(copy.len() + 2, GFP_KERNEL)?;
    let mut user_interrupts = 0;
    let mut i = 0;
    while i < copy.len() {
        let h = copy[i];
        // The copy was audited against this table: a header it does not
        // know, or a command running past the end, is a bug, not the guest.
        let (info, _) = table::lookup(engine, h).ok_or(EINVAL)?;
        let (len, _) = info.len.of(h);
        let d = copy.get(i..i + len).ok_or(EINVAL)?;
        let start = out.len();
        // GGTT operands to check: (address, bytes accessed).
        let mut ggtt: [(u64, usize); 2] = [(0, 0); 2];
        let space_ggtt = |bit: bool| bit || !ppgtt;
        if info.kind == Kind::UserInterrupt {
            user_interrupts += 1;
        }
        match info.kind {
            Kind::BbStart | Kind::BbEnd => {
                for _ in 0..len {
                    out.push(MI_NOOP, GFP_KERNEL)?;
                }
            }
            Kind::StoreIndex => {
                // Dword form: offset, data; qword form: offset, two data dwords.
                let qword = len == 4;
                let offset = d[1] & if qword { 0xff8 } else { 0xffc };
                let addr = hwsp.wrapping_add(u64::from(offset));
                let head = if qword {
                    (MI_STORE_DATA_IMM_GGTT + 1) | SDI_QWORD
                } else {
                    MI_STORE_DATA_IMM_GGTT
                };
                for v in [head, addr as u32, (addr >> 32) as u32] {
                    out.push(v, GFP_KERNEL)?;
                }
                for &v in &d[2..] {
                    out.push(v, GFP_KERNEL)?;
                }
                ggtt[0] = (addr, if qword { 8 } else { 4 });
            }
            _ => {
                for &v in d {
                    out.push(v, GFP_KERNEL)?;
                }
            }
        }
        let o = &mut out[start..];
        match info.kind {
            Kind::StoreImm if space_ggtt(h & USE_GGTT != 0) => {
                ggtt[0] = (addr48(d[1], d[2]), if len == 5 { 8 } else { 4 });
            }
            Kind::Lrm | Kind::Srm | Kind::SemaphoreWait if space_ggtt(h & USE_GGTT != 0) => {
                ggtt[0] = (addr48(d[2], d[3]), 4);
            }
            Kind::CopyMemMem => {
                if space_ggtt(h & (1 << 22) != 0) {
                    ggtt[0] = (addr48(d[3], d[4]), 4);
                }
                if space_ggtt(h & (1 << 21) != 0) {
                    ggtt[1] = (addr48(d[1], d[2]), 4);
                }
            }
            Kind::FlushDw if (h >> 14) & 3 != 0 => {
                // A timestamp or a qword of data writes 8 bytes, else 4.
                let bytes = if (h >> 14) & 3 == 3 || len == 5 { 8 } else { 4 };
                if h & STORE_INDEX != 0 {
                    let addr = hwsp.wrapping_add(u64::from(d[1] & 0xff8));
                    o[0] &= !STORE_INDEX;
                    o[1] = addr as u32 | FLUSH_DW_GGTT;
                    o[2] = (addr >> 32) as u32;
                    ggtt[0] = (addr, bytes);
                } else if space_ggtt(d[1] & FLUSH_DW_GGTT != 0) {
                    ggtt[0] = (addr48(d[1] & !7, d[2]), bytes);
                }
            }
            Kind::PipeControl if (d[1] >> 14) & 3 != 0 => {
                if d[1] & STORE_INDEX != 0 {
                    let addr = hwsp.wrapping_add(u64::from(d[2] & 0xff8));
                    o[1] = (o[1] & !STORE_INDEX) | PIPE_CONTROL_GGTT;
                    o[2] = addr as u32;
                    o[3] = (addr >> 32) as u32;
                    ggtt[0] = (addr, 8);
                } else if space_ggtt(d[1] & PIPE_CONTROL_GGTT != 0) {
                    ggtt[0] = (addr48(d[2] & !7, d[3]), 8);
                }
            }
            _ => {}
        }
        for (addr, bytes) in ggtt {
            let mut probe = [0u8; 8];
            if bytes != 0 && mem.read(Space::Ggtt, addr, &mut probe[..bytes]).is_err() {
                return Ok(Err(Step::Fault {
                    at: Where {
                        level: 0,
                        space: Space::Ggtt,
                        addr,
                    },
                    header: h,
                    err: MemError::Unmapped,
                }));
            }
        }
        i += len;
    }
    out.push(MI_BATCH_BUFFER_END, GFP_KERNEL)?;
    // Batches end on a qword boundary.
    if out.len() % 2 == 1 {
        out.push(MI_NOOP, GFP_KERNEL)?;
    }
    Ok(Ok((out, user_interrupts)))
}

/// How a wait for a host context's request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// It completed (or there was none).
    Done,
    /// It still runs: the bound passed.
    Running,
    /// i915 ended it with an error (an engine reset after a hang).
    Failed,
}

/// A host `intel_context` of one vGPU on one engine (GVT-g's
/// `s->shadow[engine]`), with at most one request in flight.
///
/// # Invariants
///
/// `ctx` came from `rgvt_i915_ctx_create` and is destroyed only by `drop`.
struct HostCtx {
    ctx: *mut bindings::rgvt_i915_ctx,
}

// SAFETY: the context is used only under its engine's lock in `I915`; i915
// allows its contexts and requests to be used from any thread.
unsafe impl Send for HostCtx {}

impl HostCtx {
    /// Creates the host context of one vGPU on `engine`.
    ///
    /// # Safety
    ///
    /// `i915` is live and stays live until the result is dropped.
    unsafe fn new(i915: *mut bindings::drm_i915_private, engine: EngineId) -> Result<Self> {
        let mut ctx = core::ptr::null_mut();
        // SAFETY: `i915` is live (the caller's guarantee); `ctx` is a valid
        // place for the result.
        let ret = unsafe { bindings::rgvt_i915_ctx_create(i915, engine.index() as u32, &mut ctx) };
        kernel::error::to_result(ret)?;
        // INVARIANT: creation succeeded.
        Ok(Self { ctx })
    }

    /// Points the context's PPGTT at the shadow PML4 at DMA address `root`.
    fn set_root(&mut self, root: u64) {
        // SAFETY: by the type invariant `ctx` is live; `&mut self` excludes
        // a concurrent submission.
        unsafe { bindings::rgvt_i915_ctx_set_root(self.ctx, root) }
    }

    /// Runs `batch` (ending in `MI_BATCH_BUFFER_END`) as one request.
    fn submit(&mut self, batch: &[u32]) -> Result {
        // SAFETY: by the type invariant `ctx` is live; `batch` is valid for
        // `batch.len()` dwords, and the C side copies it before returning.
        let ret = unsafe { bindings::rgvt_i915_ctx_submit(self.ctx, batch.as_ptr(), batch.len()) };
        kernel::error::to_result(ret)
    }

    /// Waits up to `ms` for the request in flight; drops it unless it still
    /// runs (kept, so a later wait or `drop` finds it).
    fn wait(&mut self, ms: i64) -> Wait {
        let jiffies = kernel::time::msecs_to_jiffies(ms.clamp(0, i64::from(u32::MAX)) as u32);
        let timeout = c_long::try_from(jiffies).unwrap_or(c_long::MAX);
        // SAFETY: by the type invariant `ctx` is live.
        let ret = unsafe { bindings::rgvt_i915_ctx_wait(self.ctx, timeout) };
        let wait = match ret {
            0 => Wait::Done,
            e if e == -(bindings::ENOENT as c_int) => return Wait::Done,
            e if e == -(bindings::ETIME as c_int) => return Wait::Running,
            _ => Wait::Failed,
        };
        // SAFETY: by the type invariant `ctx` is live; its request ended.
        unsafe { bindings::rgvt_i915_ctx_retire(self.ctx) };
        wait
    }

    /// Whether no request of this context still runs (one that ended is
    /// dropped).
    fn idle(&mut self) -> bool {
        self.wait(0) != Wait::Running
    }
}

impl Drop for HostCtx {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `ctx` is live and not used again;
        // the C side waits for a request still in flight.
        unsafe { bindings::rgvt_i915_ctx_destroy(self.ctx) };
    }
}

/// i915's `init_device` callback: a GVT-capable GPU is there.
///
/// # Safety
///
/// Called by i915 with a live, GVT-capable device.
#[no_mangle]
pub(crate) unsafe extern "C" fn rgvt_i915_init_device(
    i915: *mut bindings::drm_i915_private,
) -> c_int {
    // SAFETY: i915 handed us the device; it stays until `clean_device`,
    // and `gpu` is dropped before this returns.
    let init = match unsafe { I915::new(i915) } {
        Ok(init) => init,
        Err(e) => return e.to_errno(),
    };
    let gpu = match KBox::pin_init(init, GFP_KERNEL) {
        Ok(gpu) => gpu,
        Err(e) => return e.to_errno(),
    };
    let ggtt: &dyn Backend = &*gpu;
    pr_info!(
        "i915 GPU with GVT support: {} GGTT entries, {} MB aperture; rgvt offers no vGPU types on i915 yet\n",
        ggtt.entries(),
        ggtt.aperture_size() >> 20
    );
    ENODEV.to_errno()
}

/// i915's `clean_device` callback: nothing was set up for the device.
///
/// # Safety
///
/// Called by i915 with a device it earlier passed to `init_device`.
#[no_mangle]
pub(crate) unsafe extern "C" fn rgvt_i915_clean_device(_i915: *mut bindings::drm_i915_private) {}
