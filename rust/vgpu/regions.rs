// SPDX-License-Identifier: GPL-2.0

//! The vGPU's regions as the VMM reads and writes them: the PCI
//! configuration space, BAR0 (MMIO registers and the GGTT) and BAR2 (the
//! aperture). Every offset and size comes from an untrusted user.

use super::Vgpu;
use crate::cfg_space::PCI_CFG_SPACE_SIZE;
use crate::ggtt::GTT_PAGE_SIZE;
use crate::mmio::{self, Target};
use crate::pte::GgttPte;
use crate::pvinfo::{self, G2v};
use crate::vfio::{self, BAR0_REGION, BAR2_REGION, CONFIG_REGION, TRACK_REGION};
use crate::vggtt::Issue;
use kernel::prelude::*;

impl Vgpu {
    /// The size of region `index`, `None` for a region the vGPU lacks.
    pub(crate) fn region_size(&self, index: u32) -> Option<u64> {
        match index {
            CONFIG_REGION => Some(PCI_CFG_SPACE_SIZE as u64),
            BAR0_REGION => Some(mmio::BAR0_SIZE),
            BAR2_REGION => Some(self.host.backend.aperture_size()),
            TRACK_REGION => Some(Vgpu::track_region_size()),
            _ => None,
        }
    }

    /// Whether a whole access of `count` bytes at `offset` is allowed,
    /// before any piece of it is done: a BAR2 access must lie in the vGPU's
    /// low GM from its first byte to its last (`bar2_out_of_range`). Other
    /// regions check each access as it is made (one piece only).
    pub(crate) fn region_check(&self, index: u32, offset: u64, count: usize) -> Result {
        if index == TRACK_REGION {
            return self.track_region_check(offset, count);
        }
        if index != BAR2_REGION {
            return Ok(());
        }
        let end = offset.checked_add(count as u64);
        match end {
            Some(end) if offset >= self.low_base && end <= self.low_base + self.low_size => Ok(()),
            _ => {
                self.state.lock().counters.bar2_out_of_range += 1;
                Err(EINVAL)
            }
        }
    }

    /// One region access of at most [`vfio::ACCESS_CHUNK`] bytes.
    pub(crate) fn region_access(
        &self,
        dev: &vfio::Device,
        index: u32,
        offset: u64,
        data: &mut [u8],
        write: bool,
    ) -> Result {
        match index {
            CONFIG_REGION => {
                let mut st = self.state.lock();
                let offset = usize::try_from(offset).map_err(|_| EINVAL)?;
                if write {
                    st.cfg.write(offset, data).map_err(|_| EINVAL)?;
                    // The guest may have set or cleared INTx disable.
                    st.update_irq_lines();
                    Ok(())
                } else {
                    st.cfg.read(offset, data).map_err(|_| EINVAL)
                }
            }
            BAR0_REGION => self.bar0_access(dev, offset, data, write),
            BAR2_REGION => self.bar2_access(dev, offset, data, write),
            TRACK_REGION => self.track_region_access(dev, offset, data, write),
            _ => Err(EINVAL),
        }
    }

    /// A BAR0 access: one MMIO register or one (half) GGTT entry.
    fn bar0_access(&self, dev: &vfio::Device, offset: u64, data: &mut [u8], write: bool) -> Result {
        let mut st = self.state.lock();
        let target = match mmio::decode(offset, data.len()) {
            Ok(t) => t,
            Err(_) => {
                st.counters.bar0_bad += 1;
                return Err(EINVAL);
            }
        };
        match target {
            Target::Mmio(o) if write => {
                let (kick, reset) = match mmio::engine_hook(o, data) {
                    Some(hook) => {
                        let st = &mut *st;
                        let vregs = &st.vregs;
                        Vgpu::engine_hook(&mut st.elsp, hook, |e| {
                            vregs.reg(e.mmio_base() + crate::execlist::regs::RING_MODE)
                        })
                    }
                    None => (None, 0),
                };
                // Notifications are counted by the register file; the PPGTT
                // ones go to the shadow below, the balloon's to its handler.
                let notify = st.vregs.write(o, data);
                let note = notify.and_then(G2v::from_raw);
                // An IIR, IER, IMR or master write may change the line.
                st.update_irq_lines();
                if let Some(
                    note @ (G2v::PpgttL4Create
                    | G2v::PpgttL4Destroy
                    | G2v::PpgttL3Create
                    | G2v::PpgttL3Destroy),
                ) = note
                {
                    // i915's gen8_ppgtt_notify_vgt: the PML4 in pdp[0].
                    let pdp = pvinfo::VGT_PVINFO_PAGE + pvinfo::off::PDP;
                    let pdp0 =
                        u64::from(st.vregs.reg(pdp)) | (u64::from(st.vregs.reg(pdp + 4)) << 32);
                    // The shadow's lock comes before the vGPU's, and reading
                    // the guest's tables pins its pages.
                    drop(st);
                    self.shadow.lock().pv_notify(dev, note, pdp0);
                } else if let Some(value) = notify {
                    // Releases the vGPU's lock.
                    self.g2v_balloon(dev, st, value);
                } else {
                    drop(st);
                }
                // The engines take their own lock first: after this one.
                self.engines_after_write(kick, reset);
            }
            Target::Mmio(o) => st.vregs.read(o, data),
            Target::Ggtt { index, offset } if write => {
                let mut raw = [0u8; 8];
                raw[..data.len()].copy_from_slice(data);
                // The pin is taken with the vGPU's lock released.
                drop(st);
                self.ggtt_write(dev, index, offset, data.len(), u64::from_le_bytes(raw));
            }
            Target::Ggtt { index, offset } => {
                let v = st.ggtt.read(index, offset, data.len());
                let len = data.len();
                data.copy_from_slice(&v.to_le_bytes()[..len]);
            }
        }
        Ok(())
    }

    /// A VMM access to the aperture: through the vGPU's own GGTT entries to
    /// the guest pages they map, within the vGPU's low GM only.
    ///
    /// Each page piece looks its entry up under the vGPU's lock and
    /// registers its pin as out, then pins the guest frame for the copy with
    /// the lock released (no pin or unpin under a lock `dma_unmap` takes):
    /// the access holds its own pin, so the page stays valid whatever the
    /// entry does meanwhile, and `dma_unmap` waits for it.
    fn bar2_access(&self, dev: &vfio::Device, offset: u64, data: &mut [u8], write: bool) -> Result {
        let end = offset.checked_add(data.len() as u64).ok_or(EINVAL)?;
        if offset < self.low_base || end > self.low_base + self.low_size {
            self.state.lock().counters.bar2_out_of_range += 1;
            return Err(EINVAL);
        }
        let mut done = 0;
        while done < data.len() {
            let addr = offset + done as u64;
            let in_page = (addr % GTT_PAGE_SIZE) as usize;
            let n = (data.len() - done).min(GTT_PAGE_SIZE as usize - in_page);
            let chunk = &mut data[done..done + n];
            let index = addr / GTT_PAGE_SIZE;
            // The guest frame behind the entry, registered as pinned out of
            // the lock (an unmap of it waits for the copy; the lookup waits
            // for an unmap of it to end).
            let out = {
                let mut st = self.state.lock();
                loop {
                    let host = GgttPte::from_raw(st.ggtt.host_pte(index).unwrap_or(0));
                    let gfn = match st.ggtt.entry(index) {
                        Some((_, Some(gfn)))
                            if host.present() && host.frame() != st.ggtt.scratch_mfn() =>
                        {
                            gfn
                        }
                        _ => break None,
                    };
                    match st.ggtt.reserve(gfn) {
                        Issue::Go(out) => break Some(out),
                        Issue::Wait => self.pin_wait.wait(&mut st),
                        Issue::Stale => break None,
                    }
                }
            };
            // Pinned again for the copy, with no lock held: the entry's own
            // pin is the vGPU's, this one is the access's.
            let page = out.and_then(|out| dev.pin_page(out.gfn()).ok());
            let reached = page.is_some();
            let copied = match page {
                Some(page) if write => page.write(in_page, chunk),
                Some(page) => page.read(in_page, chunk),
                None => {
                    if !write {
                        chunk.fill(0);
                    }
                    Ok(())
                }
            };
            let mut st = self.state.lock();
            if let Some(out) = out {
                // Unpinned above (the guard's drop): no longer out.
                st.ggtt.retire(out);
                self.pin_wait.notify_all();
            }
            copied?;
            if reached {
                st.counters.bar2_accesses += 1;
            } else {
                st.counters.bar2_scratch += 1;
            }
            done += n;
        }
        Ok(())
    }
}
