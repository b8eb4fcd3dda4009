// SPDX-License-Identifier: GPL-2.0

//! The i915 backend: rgvt attached to i915 the way kvmgt is.
//!
//! i915 calls [`rgvt_i915_init_device`] for each GPU with GVT support once
//! rgvt registered with `intel_gvt_set_ops()`. The GGTT hooks are complete;
//! offering vGPU types on an i915 GPU is not, so such a GPU is reported and
//! left alone (these machines have no Intel GPU to develop it on).

use super::{Backend, Writer};
use crate::bindings;
use crate::cmd::{Exec, Step};
use crate::engine::{EngineId, GpuMemory, RegFile};
use crate::kstorage::KvAlloc;
use core::fmt;
use kernel::ffi::c_int;
use kernel::prelude::*;

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

/// One i915 GPU.
///
/// # Invariants
///
/// `i915` is a device i915 handed to `init_device` and has not yet taken
/// back with `clean_device`.
pub(crate) struct I915 {
    i915: *mut bindings::drm_i915_private,
}

// SAFETY: i915's GGTT hooks take their own wakeref and may be called from
// any thread while the device is live.
unsafe impl Send for I915 {}
// SAFETY: as above; `&I915` only reaches those hooks.
unsafe impl Sync for I915 {}

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
        writeln!(out, "scratch_mfn {:#x}", self.scratch_mfn())
    }

    /// Not written yet: submitting an audited workload through i915
    /// (GVT-g's `scheduler.c`: a host `intel_context` per vGPU and engine
    /// with the shadow PPGTT as its address space, an `i915_request`
    /// carrying a shadow copy of the ring, completion back into the
    /// guest's CSB). No vGPU lives on i915 yet (it offers no types), so
    /// nothing reaches this; should one, its workloads fail, counted.
    fn run(
        &self,
        _engine: EngineId,
        _exec: &mut Exec<KvAlloc>,
        _mem: &mut dyn GpuMemory,
        _regs: &mut dyn RegFile,
        _budget: usize,
    ) -> Result<Step> {
        Err(ENODEV)
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
    // INVARIANT: i915 handed us the device; it stays until `clean_device`.
    let gpu = I915 { i915 };
    let ggtt: &dyn Backend = &gpu;
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
