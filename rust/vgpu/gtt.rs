// SPDX-License-Identifier: GPL-2.0

//! The vGPU's GGTT over the device's life: open, close, reset and the
//! VMM unmapping guest memory.
//!
//! Whenever pins are dropped, the entries that used them are pointed at
//! scratch first (physical and private), under the GM lock; the GM lock is
//! released before any page is unpinned.

use super::{reset_cfg_space, Emulated, Vgpu};
use crate::ggtt::GTT_PAGE_SIZE;
use crate::pte::GgttPte;
use crate::vfio;
use kernel::prelude::*;

impl Vgpu {
    /// Starts the GGTT over: every entry on scratch (private and physical),
    /// every pin dropped, the guest's view empty, the ranges the vGPU owns
    /// now (only while open: pins are only held then).
    fn restart_ggtt(&self, dev: &vfio::Device, st: &mut Emulated) -> Result {
        st.counters.resets += 1;
        let ranges = self.host.scrub(self.gm_id);
        st.ggtt.release(&mut dev.pins());
        let ranges = ranges?;
        if st.open {
            st.ggtt.set_ranges(&mut dev.pins(), &ranges)?;
        }
        Ok(())
    }

    /// The VMM opened the device: the GGTT starts empty.
    pub(crate) fn open(&self, dev: &vfio::Device) -> Result {
        let mut st = self.state.lock();
        st.open = true;
        if let Err(e) = self.restart_ggtt(dev, &mut st) {
            st.open = false;
            return Err(e);
        }
        Ok(())
    }

    /// The VMM closed the device: every interrupt is disabled, every
    /// eventfd released, every pin dropped.
    pub(crate) fn close(&self, dev: &vfio::Device) {
        self.close_irqs();
        let mut st = self.state.lock();
        st.open = false;
        // Releasing pins cannot fail; only finding the ranges can, on allocation.
        if self.restart_ggtt(dev, &mut st).is_err() {
            pr_warn!("{}: could not scrub GGTT entries on close\n", self);
        }
    }

    /// `VFIO_DEVICE_RESET`: configuration space, registers and GGTT as new.
    ///
    /// As vfio-pci, the VMM's interrupt set-up and eventfds stay (QEMU
    /// disables interrupts before a reset and enables INTx after it); the
    /// line goes low and the command register's INTx disable clears.
    pub(crate) fn reset(&self, dev: &vfio::Device) -> Result {
        let mut st = self.state.lock();
        st.cfg = reset_cfg_space(
            self.host.backend.aperture_size(),
            self.host.backend.entries() * GTT_PAGE_SIZE,
        )?;
        let pv = self.host.gm.lock().published(self.gm_id, self.ty)?;
        st.vregs.reset(&pv);
        st.update_irq_lines();
        self.restart_ggtt(dev, &mut st)
    }

    /// The VMM unmapped guest memory [iova, iova + length): entries pinning
    /// frames there go to scratch, then the frames are unpinned.
    pub(crate) fn dma_unmap(&self, dev: &vfio::Device, iova: u64, length: u64) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        st.counters.dma_unmaps += 1;
        let first = iova / GTT_PAGE_SIZE;
        let last = iova.saturating_add(length).div_ceil(GTT_PAGE_SIZE);
        let scratch = st.ggtt.scratch_mfn();
        let view = &st.ggtt;
        self.host.write_entries(self.gm_id, &mut |sink| {
            for r in view.ranges() {
                for index in r.start..r.start + r.len {
                    if let Some((guest, Some(gfn))) = view.entry(index) {
                        if (first..last).contains(&gfn) {
                            sink(index, GgttPte::from_raw(guest).with_frame(scratch).raw());
                        }
                    }
                }
            }
        });
        // The physical entries no longer use the frames: unpin them (the
        // core repoints its own view to the PTEs written above).
        st.ggtt
            .unmap(&mut dev.pins(), first, last - first, |_, _| {});
    }
}
