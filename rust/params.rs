// SPDX-License-Identifier: GPL-2.0

//! The module parameters (declared with `module_param` in `rust/helpers.c`).

use crate::bindings;
use kernel::str::CStr;

/// `backend`: which physical GPU the vGPUs live on.
pub(crate) fn backend() -> &'static CStr {
    // SAFETY: the accessor returns the parameter's current value, a
    // NUL-terminated string the module owns while loaded; the parameter is
    // read-only (0444), so the value does not change.
    unsafe { CStr::from_char_ptr(bindings::rgvt_param_backend()) }
}

/// `sim_gm_mb`: the sim GPU's graphics memory in MB.
pub(crate) fn sim_gm_mb() -> u32 {
    // SAFETY: a plain read of a module parameter.
    unsafe { bindings::rgvt_param_sim_gm_mb() }
}

/// `sim_aperture_mb`: the sim GPU's aperture in MB.
pub(crate) fn sim_aperture_mb() -> u32 {
    // SAFETY: a plain read of a module parameter.
    unsafe { bindings::rgvt_param_sim_aperture_mb() }
}

/// `sim_dma`: whether the sim's vGPUs created now get a real GPU's
/// DMA-mapped shadow (writable at run time).
pub(crate) fn sim_dma() -> bool {
    // SAFETY: a plain read (`READ_ONCE`) of a module parameter.
    unsafe { bindings::rgvt_param_sim_dma() }
}
