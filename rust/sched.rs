// SPDX-License-Identifier: GPL-2.0

//! Scheduling points for long work (`cond_resched`, a macro, through
//! `rust/helpers.c`).

use crate::bindings;

/// Lets another task run if this one has used its slice.
///
/// Must be called with no spinlock held and not in atomic context; rgvt
/// calls it between chunks of long transfers, scrubs, scans and shadow
/// rebuilds, holding at most its own mutexes (a sleeping lock may be held
/// across a reschedule).
pub(crate) fn cond_resched() {
    // SAFETY: `cond_resched` may sleep; callers run in process context (a
    // VFIO file operation, an ioctl or an engine worker) and hold no
    // spinlock, only (at most) mutexes of ours.
    unsafe { bindings::rgvt_cond_resched() };
}

/// Sleeps for `min_us` to `max_us` microseconds (`usleep_range`).
///
/// Process context only, with no spinlock held: the engine workers poll a
/// guest semaphore with it, holding no lock.
pub(crate) fn usleep(min_us: u64, max_us: u64) {
    // SAFETY: `usleep_range` sleeps; callers run in a workqueue with no
    // spinlock held.
    unsafe { bindings::rgvt_usleep_range(min_us as _, max_us as _) };
}
