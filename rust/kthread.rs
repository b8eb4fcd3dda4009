// SPDX-License-Identifier: GPL-2.0

//! A kernel thread that runs a periodic job until it is dropped (the
//! balloon worker).
//!
//! 6.12's kernel crate has no kthread or delayed work; `rust/acct.c` wraps
//! `kthread_create`, `kthread_stop_put` and an interruptible sleep that
//! `kthread_stop` ends. Dropping a [`Thread`] stops the thread and waits
//! for its function to return, so the job never outlives its owner (and
//! the module's code is not running in it after the owner is gone).

use crate::bindings;
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// A job a [`Thread`] runs over and over.
pub(crate) trait Periodic: Send + Sync {
    /// Runs the job once; returns how long to sleep before the next run, in ms.
    fn tick(&self) -> u32;
}

/// A running kernel thread calling `T::tick` in a loop.
///
/// # Invariants
///
/// `task` is a thread started by `rgvt_kthread_start` with `data` as its
/// argument, whose task reference we own and which has not been stopped;
/// `data` comes from `Arc::into_raw` and is released only after the thread
/// stopped.
pub(crate) struct Thread<T: Periodic> {
    task: NonNull<bindings::task_struct>,
    data: *const T,
}

// SAFETY: the thread only shares `T` (which is `Send + Sync`) and the task
// pointer is only used to stop it, from any context that may sleep.
unsafe impl<T: Periodic> Send for Thread<T> {}
// SAFETY: `&Thread` gives access to nothing.
unsafe impl<T: Periodic> Sync for Thread<T> {}

/// The thread's function: `tick`, sleep, until `kthread_stop`.
///
/// # Safety
///
/// `data` must be a `*const T` from `Arc::into_raw` that stays valid until
/// this function returns.
unsafe extern "C" fn run<T: Periodic>(data: *mut c_void) -> c_int {
    // SAFETY: by the function's safety requirement `data` is a live `T`
    // until we return, and `Thread::drop` releases it only after
    // `kthread_stop` waited for that.
    let job = unsafe { &*data.cast_const().cast::<T>() };
    loop {
        let ms = job.tick();
        // SAFETY: called from the kthread itself, in process context.
        if unsafe { bindings::rgvt_kthread_sleep(ms) } {
            return 0;
        }
    }
}

impl<T: Periodic> Thread<T> {
    /// Starts a thread named `name` running `data`'s job.
    pub(crate) fn start(name: &CStr, data: Arc<T>) -> Result<Self> {
        let raw = Arc::into_raw(data);
        // SAFETY: `run::<T>` may receive `raw`: it stays valid until the
        // thread is stopped (by `drop`, or below on failure, where the
        // thread never existed); `name` is a NUL-terminated string that
        // `kthread_create` copies.
        let task = unsafe {
            bindings::rgvt_kthread_start(Some(run::<T>), raw.cast_mut().cast(), name.as_char_ptr())
        };
        match NonNull::new(task) {
            // INVARIANT: started with `raw`, referenced, not stopped.
            Some(task) => Ok(Thread { task, data: raw }),
            None => {
                // SAFETY: no thread got `raw`; it came from `Arc::into_raw`.
                drop(unsafe { Arc::from_raw(raw) });
                Err(ENOMEM)
            }
        }
    }
}

impl<T: Periodic> Drop for Thread<T> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the thread was started and not
        // stopped, and we own a reference on its task, which this drops;
        // `kthread_stop_put` returns after `run` returned.
        unsafe { bindings::rgvt_kthread_stop(self.task.as_ptr()) };
        // SAFETY: `data` came from `Arc::into_raw` and the thread that used
        // it has returned.
        drop(unsafe { Arc::from_raw(self.data) });
    }
}
