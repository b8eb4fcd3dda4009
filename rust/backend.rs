// SPDX-License-Identifier: GPL-2.0

//! The physical GPU behind the vGPUs, chosen by the `backend` parameter.
//!
//! `sim` is a software GPU (used under QEMU, where there is no Intel GPU);
//! `i915` attaches to i915 as kvmgt does. `auto` is `sim` unless i915 offers
//! a GVT-capable GPU. Everything above this layer sees a GPU only as a
//! [`Backend`].

#[cfg(CONFIG_DRM_I915_GVT)]
pub(crate) mod i915;
pub(crate) mod sim;

use crate::cmd::{Exec, Step};
use crate::engine::{EngineId, GpuMemory, RegFile};
use crate::kstorage::KvAlloc;
use crate::params;
use crate::pte::GgttPte;
use core::fmt;
use kernel::prelude::*;

/// What the `backend` parameter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// i915 if it has a GVT-capable GPU, else sim.
    Auto,
    /// The software GPU.
    Sim,
    /// The real GPU through i915.
    I915,
}

impl Kind {
    const NAMES: [&'static str; 3] = ["auto", "sim", "i915"];

    /// Reads the `backend` module parameter.
    pub(crate) fn from_param() -> Result<Self> {
        let raw = params::backend();
        match crate::parse::parse_choice(raw.as_bytes(), &Self::NAMES) {
            Ok(0) => Ok(Self::Auto),
            Ok(1) => Ok(Self::Sim),
            Ok(_) => Ok(Self::I915),
            Err(_) => {
                pr_err!("backend must be one of auto, sim, i915, not {:?}\n", raw);
                Err(EINVAL)
            }
        }
    }
}

/// Writes GGTT entries while the GGTT's lock is held (see [`Backend::write_batch`]).
pub(crate) type Writer<'a> = &'a mut dyn FnMut(u64, u64);

/// A physical GPU as the vGPUs need it: its global graphics translation
/// table and the scratch page unused entries point at.
///
/// Writes to indices at or beyond [`Backend::entries`] are ignored.
pub(crate) trait Backend: Send + Sync {
    /// Number of GGTT entries (graphics memory / 4 KB).
    fn entries(&self) -> u64;
    /// Size of the CPU-visible (aperture, low GM) part, in bytes.
    fn aperture_size(&self) -> u64;
    /// The host frame of the scratch page.
    fn scratch_mfn(&self) -> u64;
    /// Calls `batch` once with a writer of entries (`index`, `pte`), under
    /// one acquisition of the GGTT's lock: bulk updates (reset, scrub,
    /// unmap) cost one lock per batch, not one per entry.
    fn write_batch(&self, batch: &mut dyn FnMut(Writer<'_>));
    /// Makes the GPU see the entries written so far.
    fn invalidate(&self);
    /// The physical GGTT entry at `index`, as the GPU resolves a GGTT
    /// address, if the backend can read it (the sim: its array). The
    /// engines check it against the running vGPU's own entry
    /// (`vgpu::mem`): `None` skips the check (a real GPU reads the table
    /// itself).
    fn read_entry(&self, _index: u64) -> Option<u64> {
        None
    }
    /// Prints the backend's own lines of debugfs `gpu` (name, counters).
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result;

    /// Runs up to `budget` commands of an audited workload on `engine`:
    /// the command parser's copy (`exec`, scanned and audited already),
    /// with the vGPU's memory and registers as the engine sees them.
    ///
    /// The one parser, audit and address path serve every backend: the sim
    /// executes the copy itself; a real GPU would submit it (GVT-g's
    /// `scheduler.c`: a host context per vGPU and engine, a request
    /// carrying a shadow copy of the ring, the shadow PPGTT as its address
    /// space) and report the end through the same [`Step`]s. An error fails
    /// the workload.
    fn run(
        &self,
        engine: EngineId,
        exec: &mut Exec<KvAlloc>,
        mem: &mut dyn GpuMemory,
        regs: &mut dyn RegFile,
        budget: usize,
    ) -> Result<Step>;

    /// The PTE of an unused entry: present, on the scratch page (as i915's).
    fn scratch_pte(&self) -> u64 {
        GgttPte::new(self.scratch_mfn()).raw()
    }
}
