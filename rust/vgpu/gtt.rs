// SPDX-License-Identifier: GPL-2.0

//! The vGPU's GGTT over the device's life: open, close, reset and the
//! VMM unmapping guest memory.
//!
//! Whenever pins are dropped, the entries that used them are pointed at
//! scratch first (physical and private), under the GM lock; the GM lock is
//! released before any page is unpinned.
//!
//! No `vfio_pin_pages` or `vfio_unpin_pages` call is made with the vGPU's
//! lock (or any other lock of ours) held: VFIO's type1 container calls
//! [`Vgpu::dma_unmap`] under its `device_list_lock`, which it takes under
//! its `iommu->lock`, and pinning takes `iommu->lock`; a pin under the
//! vGPU's lock would close the cycle vGPU lock -> `iommu->lock` ->
//! `device_list_lock` -> vGPU lock. The core ([`crate::vggtt`]) keeps the
//! books and hands out what to pin ([`crate::vggtt::Ticket`]) and what to
//! unpin; this file does the lock dance around those calls.
//!
//! A pin held outside the lock is registered as out in the core first:
//! [`Vgpu::dma_unmap`] waits ([`Vgpu::pin_wait`]) until no pin of its range
//! is out, and no pin of a range being unmapped is issued meanwhile, so when
//! `dma_unmap` returns, no page of the range is pinned by rgvt (type1
//! notifies again while one is, and `BUG()`s after 10 rounds).

use super::{reset_cfg_space, Emulated, Vgpu};
use crate::ggtt::GTT_PAGE_SIZE;
use crate::kstorage::KvAlloc;
use crate::shadow::Translate;
use crate::vfio;
use crate::vggtt::{Issue, Plan, Released};
use kernel::prelude::*;
use kernel::sync::lock::{mutex::MutexBackend, Guard};

/// Pins `dma_unmap` collects under the vGPU's lock before dropping it to
/// unpin them (512 bytes of stack).
const UNPIN_BATCH: usize = 64;

/// Unpins guest frames the core handed back.
///
/// Called with no lock of ours held (see the module documentation).
fn unpin(dev: &vfio::Device, frames: impl IntoIterator<Item = u64>) {
    let mut pins = dev.pins();
    for gfn in frames {
        pins.unpin(gfn);
    }
}

/// The pins a GGTT restart gave up, to unpin after unlocking.
type Restarted = [Option<Released<KvAlloc>>; 2];

/// Unpins what [`Vgpu::restart_ggtt`] gave up; no lock of ours held.
fn unpin_released(dev: &vfio::Device, released: Restarted) {
    for r in released.iter().flatten() {
        unpin(dev, r.pins());
    }
}

impl Vgpu {
    /// Releases the vGPU's lock `st`, then runs `unpin` on frames that just
    /// left the entries under it.
    ///
    /// Until they are unpinned they are in no entry for a `dma_unmap` to
    /// find, yet type1 requires that no pin of the unmapped range is left
    /// when the callback returns (it notifies again, and `BUG()`s after ten
    /// rounds): so they count in [`Emulated::unpinning`], and `dma_unmap`
    /// waits until that is zero.
    fn unpin_unlocked(
        &self,
        dev: &vfio::Device,
        mut st: Guard<'_, Emulated, MutexBackend>,
        unpin: impl FnOnce(&vfio::Device),
    ) {
        st.unpinning += 1;
        drop(st);
        unpin(dev);
        self.state.lock().unpinning -= 1;
        self.pin_wait.notify_all();
    }

    /// Starts the GGTT over: every entry on scratch (private and physical),
    /// the guest's view empty, the ranges the vGPU owns now (only while
    /// open: pins are only held then).
    ///
    /// Returns the pins the entries held, to be unpinned by the caller once
    /// it released the vGPU's lock (the entries are on scratch already).
    fn restart_ggtt(&self, st: &mut Emulated) -> (Restarted, Result) {
        st.counters.resets += 1;
        let ranges = self.host.scrub(self.gm_id);
        if ranges.is_err() {
            // The GM ranges could not be listed (allocation): the entries
            // holding pins are in the core's ranges, scrubbed here without
            // allocating, so the pins below are never dropped while an entry
            // still points at their pages.
            self.host.scrub_ranges(self.gm_id, st.ggtt.ranges());
        }
        let mut released: Restarted = [Some(st.ggtt.take_all()), None];
        let result = ranges.and_then(|ranges| {
            if st.open {
                // No entry is left to give up a pin here, but what comes
                // back is unpinned all the same rather than assumed empty.
                released[1] = Some(st.ggtt.set_ranges(&ranges)?);
            }
            Ok(())
        });
        (released, result)
    }

    /// The VMM opened the device: the GGTT starts empty.
    pub(crate) fn open(&self, dev: &vfio::Device) -> Result {
        // KVM's notifier first, with no lock of ours held.
        self.track_open(dev);
        if let Some(pages) = &self.guest_dma {
            pages.open(dev);
        }
        self.engines_open(dev);
        let mut st = self.state.lock();
        st.open = true;
        st.acct = crate::acct::Source::capture(dev);
        let (released, result) = self.restart_ggtt(&mut st);
        if result.is_err() {
            st.open = false;
            st.acct = None;
        }
        self.unpin_unlocked(dev, st, |dev| unpin_released(dev, released));
        if result.is_err() {
            // VFIO does not call close after a failed open.
            self.engines_close();
            self.track_close();
            if let Some(pages) = &self.guest_dma {
                pages.close();
            }
        }
        result
    }

    /// The VMM closed the device: every interrupt is disabled, every
    /// eventfd released, every pin dropped.
    pub(crate) fn close(&self, dev: &vfio::Device) {
        // First: no worker uses the device or raises interrupts after this.
        self.engines_close();
        self.close_irqs();
        // A real GPU is done with the shadow before its pages go.
        self.host.backend.release_vgpu(self.id);
        // Every shadow tree and protection goes, then KVM's notifier; the
        // shadow's lock comes before the vGPU's.
        self.track_close();
        // Then whatever guest page is still mapped for a real GPU.
        if let Some(pages) = &self.guest_dma {
            pages.close();
        }
        let mut st = self.state.lock();
        st.open = false;
        st.acct = None;
        let (released, result) = self.restart_ggtt(&mut st);
        // Releasing pins cannot fail; only finding the ranges can, on allocation.
        self.unpin_unlocked(dev, st, |dev| unpin_released(dev, released));
        if result.is_err() {
            pr_warn!("{}: could not scrub GGTT entries on close\n", self);
        }
    }

    /// `VFIO_DEVICE_RESET`: configuration space, registers and GGTT as new.
    ///
    /// As vfio-pci, the VMM's interrupt set-up and eventfds stay (QEMU
    /// disables interrupts before a reset and enables INTx after it); the
    /// line goes low and the command register's INTx disable clears.
    pub(crate) fn reset(&self, dev: &vfio::Device) -> Result {
        // The engines' work goes first (their lock is taken before ours).
        self.engine_reset(super::engine::ALL_ENGINES);
        // A real GPU is done with the shadow before its pages go.
        self.host.backend.release_vgpu(self.id);
        // Every shadow tree goes; the shadow's lock comes before the vGPU's.
        self.shadow.lock().clear();
        let mut st = self.state.lock();
        st.cfg = reset_cfg_space(
            self.host.backend.aperture_size(),
            self.host.backend.entries() * GTT_PAGE_SIZE,
        )?;
        let (pv, balloon) = {
            let gm = self.host.gm.lock();
            (
                gm.published(self.gm_id, self.ty)?,
                gm.balloon_pv(self.gm_id)?,
            )
        };
        st.vregs.reset(&pv);
        st.vregs.publish_pv(&balloon);
        st.update_irq_lines();
        let (released, result) = self.restart_ggtt(&mut st);
        self.unpin_unlocked(dev, st, |dev| unpin_released(dev, released));
        // Again, for the registers: the execlists' reset values (CSB
        // pointers) over the register file's.
        self.engine_reset(super::engine::ALL_ENGINES);
        result
    }

    /// A guest write of `len` bytes of `value` at byte `offset` of GGTT
    /// entry `index`: planned under the vGPU's lock, the guest frame pinned
    /// with no lock held, committed under the lock again (retried if an
    /// unmap, reset or close ran meanwhile), replaced pins unpinned after
    /// unlocking.
    pub(crate) fn ggtt_write(
        &self,
        dev: &vfio::Device,
        index: u64,
        offset: u8,
        len: usize,
        value: u64,
    ) {
        let mut st = self.state.lock();
        let mut planned = match st.ggtt.plan_write(index, offset, len, value) {
            Plan::Ignored => return,
            Plan::Done { pte, unpin: old } => {
                self.host
                    .write_entries(self.gm_id, &mut |sink| sink(index, pte));
                self.unpin_unlocked(dev, st, |dev| unpin(dev, old));
                return;
            }
            Plan::Pin(ticket) => ticket,
        };
        loop {
            // Registered as out before the pin; waits while its frame is
            // being unmapped (the wait releases the lock).
            let ticket = loop {
                match st.ggtt.issue(planned) {
                    Issue::Go(ticket) => break ticket,
                    Issue::Wait => self.pin_wait.wait(&mut st),
                    Issue::Stale => return,
                }
            };
            drop(st);
            // No lock of ours held: type1 takes its `iommu->lock` here.
            let pinned = dev.pins().pin(ticket.gfn()).ok();
            st = self.state.lock();
            let commit = st.ggtt.commit_write(ticket, pinned);
            if let Some(pte) = commit.pte {
                // Installed before the replaced frame is unpinned below.
                self.host
                    .write_entries(self.gm_id, &mut |sink| sink(index, pte));
            }
            if commit.unpin.iter().any(Option::is_some) {
                st.unpinning += 1;
                drop(st);
                unpin(dev, commit.unpin.into_iter().flatten());
                st = self.state.lock();
                st.unpinning -= 1;
            }
            if let Some(out) = commit.retire {
                st.ggtt.retire(out);
            }
            // The ticket is no longer out: a waiting unmap may go on.
            self.pin_wait.notify_all();
            match commit.retry {
                Some(again) => planned = again,
                None => return,
            }
        }
    }

    /// The VMM unmapped guest memory [iova, iova + length): entries pinning
    /// frames there go to scratch, then the frames are unpinned, in batches
    /// of [`UNPIN_BATCH`]: each batch is scrubbed under the vGPU's lock and
    /// unpinned after it is released (still inside the callback, as type1
    /// requires: it checks that no pin is left when this returns). Pins of
    /// the range out of the lock (a GGTT write's or a BAR2 access's), and
    /// frames a rewrite, reset or close gave up and is unpinning, are
    /// waited for first; no pin of the range is issued until the unmap ends.
    pub(crate) fn dma_unmap(&self, dev: &vfio::Device, iova: u64, length: u64) {
        let first = iova / GTT_PAGE_SIZE;
        let count = iova.saturating_add(length).div_ceil(GTT_PAGE_SIZE) - first;
        let mut batch = [0u64; UNPIN_BATCH];
        let mut st = self.state.lock();
        st.counters.dma_unmaps += 1;
        while !st.ggtt.begin_unmap(first, count) {
            self.pin_wait.wait(&mut st);
        }
        loop {
            // A pin out of the lock ends with a commit or a retire, and
            // neither needs anything the caller (type1) holds.
            while st.ggtt.pins_out_in(first, count) || st.unpinning > 0 {
                self.pin_wait.wait(&mut st);
            }
            let ggtt = &mut st.ggtt;
            let mut n = 0;
            self.host.write_entries(self.gm_id, &mut |sink| {
                n = ggtt.take_unmapped(first, count, &mut batch, &mut *sink);
            });
            drop(st);
            unpin(dev, batch.iter().take(n).copied());
            // A large unmap is many batches: no lock of ours is held here.
            crate::sched::cond_resched();
            st = self.state.lock();
            if n < batch.len() {
                break;
            }
        }
        st.ggtt.end_unmap(first, count);
        drop(st);
        self.pin_wait.notify_all();
        // The shadow's guest pages for a real GPU: their own leaf lock,
        // never the shadow's (see `shadow::dma`).
        if let Some(pages) = &self.guest_dma {
            pages.dma_unmap(dev, iova, length);
        }
    }
}
