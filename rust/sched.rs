// SPDX-License-Identifier: GPL-2.0

//! Scheduling points for long work (`cond_resched`, a macro, through
//! `rust/helpers.c`).

use crate::bindings;

/// Lets another task run if this one has used its slice.
///
/// Must be called with no spinlock held and not in atomic context; rgvt
/// calls it between chunks of long transfers and scrubs, with no lock of
/// its own held.
pub(crate) fn cond_resched() {
    // SAFETY: `cond_resched` may sleep; callers hold no lock of ours and run
    // in process context (a VFIO file operation or ioctl).
    unsafe { bindings::rgvt_cond_resched() };
}
