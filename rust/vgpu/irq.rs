// SPDX-License-Identifier: GPL-2.0

//! The vGPU's VFIO interrupts: `SET_IRQS`, the eventfds behind them, the
//! INTx unmask eventfd, and the release request.
//!
//! The core's [`Irqs`] decides (validation, masking, what to signal); this
//! file holds the eventfds and applies the core's [`Effects`]. A request
//! either applies fully or changes nothing: the core validates first, the
//! one descriptor a request names is resolved next (a bad one fails with
//! vfio-pci's errno), and only then does the core commit.
//!
//! Locks: [`Vgpu::irq_setup`] serialises set-up; the vGPU's lock guards the
//! state and the eventfds (signalling an eventfd under a mutex is fine).
//! The unmask virqfd's callback takes the vGPU's lock, and disabling the
//! virqfd waits for that callback, so it is disabled after the vGPU's lock
//! is dropped, with only the set-up lock held.

use super::{Emulated, Triggers, Vgpu};
use crate::eventfd::{EventFd, VirqfdHandler};
use crate::irq::{Effect, Effects, Op, SetHeader};
use crate::vfio::ioctl::irq_errno;
use kernel::prelude::*;
use kernel::sync::Mutex;

impl Emulated {
    /// Applies `fx` from the core; `resolved` is the eventfd of the
    /// request's descriptor, for a `SetTrigger`.
    ///
    /// Returns whether the INTx unmask virqfd must go: the caller disables
    /// it once the vGPU's lock is dropped.
    #[must_use]
    pub(crate) fn apply(&mut self, fx: Effects, mut resolved: Option<EventFd>) -> bool {
        let mut disable_unmask = false;
        for e in fx.iter() {
            match e {
                Effect::SetTrigger { index, .. } => {
                    // Replacing drops (puts) the previous eventfd.
                    if let Some(slot) = self.triggers.0.get_mut(index as usize) {
                        *slot = resolved.take();
                    }
                }
                Effect::ClearTrigger { index } => {
                    if let Some(slot) = self.triggers.0.get_mut(index as usize) {
                        *slot = None;
                    }
                }
                // The virqfd was enabled before the commit (enabling is
                // how its descriptor is resolved).
                Effect::SetUnmaskFd { .. } => {}
                Effect::ClearUnmaskFd => disable_unmask = true,
                Effect::Signal { index } => {
                    if let Some(Some(t)) = self.triggers.0.get(index as usize) {
                        t.signal();
                        if let Some(n) = self.irq_counters.signals.get_mut(index as usize) {
                            *n += 1;
                        }
                    }
                }
            }
        }
        disable_unmask
    }

    /// Applies effects that only signal (level changes, unmasks, requests).
    pub(crate) fn signal(&mut self, fx: Effects) {
        if self.apply(fx, None) {
            // Only `SET_IRQS` and close remove the unmask eventfd.
            pr_warn!("rgvt: unexpected unmask eventfd removal ignored\n");
        }
    }

    /// Tells the interrupt model the device's level (after a register
    /// write) and whether the guest disabled INTx in its command register.
    pub(crate) fn update_irq_lines(&mut self) {
        let fx = self.irqs.set_intx_disabled(self.cfg.intx_disabled());
        self.signal(fx);
        let fx = self.irqs.set_level(self.vregs.irq_pending());
        self.signal(fx);
    }

    /// Every interrupt disabled and every eventfd released, as vfio-pci
    /// does when the device is closed. Returns whether the unmask virqfd
    /// must go (see [`Emulated::apply`]).
    #[must_use]
    fn close_irqs(&mut self) -> bool {
        let fx = self.irqs.close();
        let disable = self.apply(fx, None);
        if self.triggers.held() != 0 {
            pr_warn!("rgvt: eventfds left after close, released\n");
            self.triggers = Triggers::default();
        }
        disable
    }
}

/// The INTx unmask eventfd fired (the guest acknowledged the interrupt):
/// unmask, and signal again if the line is still asserted.
impl VirqfdHandler for Mutex<Emulated> {
    fn signalled(&self) {
        let mut st = self.lock();
        st.irq_counters.unmask_fd_signals += 1;
        let fx = st.irqs.unmask();
        st.signal(fx);
    }
}

impl Vgpu {
    /// `VFIO_DEVICE_SET_IRQS`.
    pub(crate) fn set_irqs(&self, hdr: &SetHeader, data: &[u8]) -> Result {
        let _setup = self.irq_setup.lock();
        let disable = {
            let mut st = self.state.lock();
            // The virqfd removes itself when the VMM closes its eventfd.
            if !self.state.is_enabled() {
                st.irqs.unmask_fd_closed();
            }
            let op = st.irqs.prepare(hdr, data).map_err(irq_errno)?;
            let resolved = match op {
                Op::IntxUnmaskFd(fd) => {
                    // Resolving is enabling: the virqfd takes the eventfd.
                    // Its callback only runs from a workqueue, so enabling
                    // under the vGPU's lock cannot deadlock.
                    if let Err(e) = self.state.enable(fd) {
                        st.irq_counters.bad_fd += 1;
                        return Err(e);
                    }
                    None
                }
                _ => match op.fd().map(EventFd::from_fd) {
                    Some(Ok(e)) => Some(e),
                    Some(Err(e)) => {
                        st.irq_counters.bad_fd += 1;
                        return Err(e);
                    }
                    None => None,
                },
            };
            let fx = st.irqs.commit(op);
            st.apply(fx, resolved)
        };
        if disable {
            self.state.disable();
        }
        Ok(())
    }

    /// Releases every interrupt and eventfd (the last close).
    pub(crate) fn close_irqs(&self) {
        let _setup = self.irq_setup.lock();
        // Whatever the model says, the virqfd goes: nothing may signal a
        // closed device.
        let _ = self.state.lock().close_irqs();
        self.state.disable();
    }

    /// VFIO's release request: the vGPU is being removed while a VMM holds
    /// it; signal REQ so that the VMM lets go (QEMU unplugs the device).
    pub(crate) fn request(&self, count: u32) {
        let mut st = self.state.lock();
        st.irq_counters.requests += 1;
        let fx = st.irqs.request();
        if fx.is_empty() {
            if count == 0 {
                pr_notice!(
                    "{}: no device request eventfd, blocked until released by user\n",
                    self
                );
            }
            return;
        }
        // vfio-pci's words, so the log reads the same for either.
        pr_notice!("{}: relaying device request to user (#{})\n", self, count);
        st.signal(fx);
    }
}
