// SPDX-License-Identifier: GPL-2.0

//! Where a vGPU's guest runs, for the balloon policy's W: the run delay of
//! its VM's vCPU threads (KVM), or of the VMM's threads that opened it.
//!
//! With `CONFIG_SCHED_INFO` a task's `sched_info.run_delay` is the time it
//! spent runnable on a runqueue without a CPU; for a vCPU thread that is
//! what KVM reports to the guest as steal time. `rust/acct.c` reads it
//! (with the running time, `se.sum_exec_runtime`) under RCU.

use crate::bindings;
use crate::vfio;
use core::ptr::NonNull;

/// Times summed over the threads of one source.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunTime {
    /// Time runnable but waiting for a CPU, ns.
    pub(crate) delay_ns: u64,
    /// Time running, ns.
    pub(crate) exec_ns: u64,
    /// Threads counted.
    pub(crate) threads: u32,
}

/// Which threads a [`Source`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The vCPU threads of the VM the device is bound to.
    Kvm,
    /// The threads of the process that opened the device.
    Vmm,
}

/// The threads behind one open vGPU, captured when its VMM opened it.
///
/// # Invariants
///
/// `vdev` is an open VFIO device (VFIO holds its `kvm` reference from
/// before `open_device` until after `close_device`): the owner drops the
/// source in `close_device` at the latest. `tgid` is a `struct pid`
/// reference we own.
pub(crate) struct Source {
    vdev: NonNull<bindings::vfio_device>,
    tgid: NonNull<bindings::pid>,
}

// SAFETY: the pointers are only read under RCU by `acct.c` (the device's
// `kvm` field is stable while it is open) and the pid reference may be
// dropped from any thread.
unsafe impl Send for Source {}

impl Source {
    /// Captures the threads behind `dev`, opened by the calling thread's
    /// process; call from `open_device` and drop by `close_device`.
    pub(crate) fn capture(dev: &vfio::Device) -> Option<Self> {
        // SAFETY: called in the VMM's thread (an ioctl or open); takes a
        // reference on its thread group's pid.
        let tgid = NonNull::new(unsafe { bindings::rgvt_current_tgid() })?;
        // INVARIANT: `dev` is open during the callback, and the caller
        // drops the source by `close_device`.
        Some(Source {
            vdev: NonNull::new(dev.as_raw())?,
            tgid,
        })
    }

    /// Reads the times of the vCPU threads if the device is bound to a VM,
    /// else of the VMM's threads; `None` if the VMM has exited.
    pub(crate) fn sample(&self) -> Option<(Kind, RunTime)> {
        let mut t = bindings::rgvt_run_time::default();
        // SAFETY: by the type invariant the device is open, so its `kvm`
        // pointer, if set, holds a reference VFIO took; `t` is writable.
        if unsafe { bindings::rgvt_kvm_vcpu_times(self.vdev.as_ptr(), &mut t) } {
            return Some((Kind::Kvm, run_time(&t)));
        }
        // SAFETY: `tgid` is a pid we hold a reference on; `t` is writable.
        if unsafe { bindings::rgvt_tgid_times(self.tgid.as_ptr(), &mut t) } {
            return Some((Kind::Vmm, run_time(&t)));
        }
        None
    }
}

fn run_time(t: &bindings::rgvt_run_time) -> RunTime {
    RunTime {
        delay_ns: t.delay_ns,
        exec_ns: t.exec_ns,
        threads: t.threads,
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // SAFETY: we own this reference (type invariant).
        unsafe { bindings::rgvt_put_pid(self.tgid.as_ptr()) };
    }
}

/// The number of online CPUs.
pub(crate) fn online_cpus() -> u32 {
    // SAFETY: reads a counter; no requirement.
    unsafe { bindings::rgvt_num_online_cpus() }
}
