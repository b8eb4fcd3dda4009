// SPDX-License-Identifier: GPL-2.0

//! The physical GPU behind the vGPUs, chosen by the `backend` parameter.
//!
//! `sim` is a software GPU (used under QEMU, where there is no Intel GPU);
//! `i915` attaches to i915 as kvmgt does. `auto` is `sim` unless i915 offers
//! a GVT-capable GPU.

#[cfg(CONFIG_DRM_I915_GVT)]
pub mod i915;
pub mod sim;

use crate::bindings;
use kernel::prelude::*;
use kernel::str::CStr;

/// What the `backend` parameter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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
    pub fn from_param() -> Result<Self> {
        // SAFETY: the accessor returns the parameter's current value, a
        // NUL-terminated string the module owns while loaded.
        let raw = unsafe { CStr::from_char_ptr(bindings::rgvt_param_backend()) };
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

/// The global graphics translation table of a physical GPU.
pub trait Ggtt {
    /// Number of GGTT entries (graphics memory / 4 KB).
    fn entries(&self) -> u64;
    /// Size of the CPU-visible (aperture, low GM) part, in bytes.
    fn aperture_size(&self) -> u64;
    /// Reads entry `index` (`index < entries()`).
    fn read(&self, index: u64) -> u64;
    /// Writes entry `index` (`index < entries()`).
    fn write(&self, index: u64, pte: u64);
    /// Makes the GPU see the entries written so far.
    fn invalidate(&self);
}
