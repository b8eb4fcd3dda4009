// SPDX-License-Identifier: GPL-2.0

//! Guest memory and registers as the engines see them: the kernel's
//! [`GpuMemory`] and [`RegFile`] for the command parser and the execlists.
//!
//! A GGTT address goes through the vGPU's own view of its GGTT: under the
//! vGPU's lock the guest's entry is looked up (inside the vGPU's ranges,
//! present, not on scratch); a PPGTT address through the vGPU's shadow of
//! the running context's tables (see [`Mem::ppgtt`]). The guest frame is then pinned for the
//! access (`vfio::PinnedPage`), its pin registered as out first
//! (`VGgtt::reserve`, so a `dma_unmap` of it waits for the access), as
//! BAR2 does: the engine never trusts a frame number, and a frame the VMM
//! unmapped faults.
//!
//! One [`Mem`] serves one step of one engine (a bounded piece of work under
//! the engine lock) and keeps, for that step, up to [`PINS`] frames pinned
//! and [`XLATES`] translations, as a GPU's TLB keeps translations until the
//! end of a batch: a workload of many small commands costs one pin per page
//! it touches, not one per command. Everything is released when the step
//! ends ([`Mem`]'s `Drop`): a `dma_unmap` waits at most one step for them.
//! When a reservation has to wait (an unmap of that frame runs, or the
//! vGPU's pins out are all taken), every frame held is released first, so
//! the engine never holds a pin while it waits for one.
//!
//! An access is checked whole before any byte of it is written: the pages
//! of a piece (up to [`BATCH`] pages) are all translated and pinned before
//! the copy, and a larger write has every translation checked first. No
//! pin or unpin is made with a lock of ours held.

use super::Vgpu;
use crate::engine::{GpuMemory, MemError, RegFile, Space};
use crate::execlist::lrc::Root;
use crate::ggtt::GTT_PAGE_SIZE;
use crate::pte::GgttPte;
use crate::vfio::{self, PinnedPage};
use crate::vggtt::{Issue, PinOut};

/// Pages of one piece of an access, pinned together.
pub(crate) const BATCH: usize = 4;
/// Frames a step keeps pinned. The vGPU has `vggtt::MAX_PINS_OUT` (32)
/// pins out at most; four engines with [`PINS`] each may take all of them
/// for a while (then a VMM access waits for the end of a step; none of the
/// engines waits while it holds any).
pub(crate) const PINS: usize = 8;
/// Translations a step keeps.
pub(crate) const XLATES: usize = 16;

const PAGE: u64 = GTT_PAGE_SIZE;

/// A guest frame pinned for the rest of the step, its pin registered.
struct Held<'a> {
    gfn: u64,
    out: PinOut,
    page: PinnedPage<'a>,
}

/// A translation kept for the rest of the step.
#[derive(Clone, Copy)]
struct Xlate {
    space: Space,
    root: Option<Root>,
    page: u64,
    gfn: u64,
}

/// The guest's memory through one vGPU, for one step of one engine.
pub(crate) struct Mem<'a> {
    vgpu: &'a Vgpu,
    dev: &'a vfio::Device,
    pins: [Option<Held<'a>>; PINS],
    /// Next pin slot to reuse when all are taken.
    hand: usize,
    xlates: [Option<Xlate>; XLATES],
    /// Next translation slot to reuse.
    xhand: usize,
    /// The running context's PPGTT root, as its image gives it.
    root: Option<Root>,
    /// Translations and accesses that failed, for the counters.
    pub(crate) faults: u64,
    /// GGTT translations refused because the physical entry was another
    /// vGPU's (see [`Mem::ggtt_frame`]).
    pub(crate) foreign: u64,
    /// Accesses made, for the scheduling points.
    accesses: u64,
}

/// Accesses between two scheduling points: a scan of a long workload is
/// one access per command, with no other point at which to yield.
const ACCESSES_PER_RESCHED: u64 = 64;

/// One page of an access: the guest frame and the byte range in it.
#[derive(Clone, Copy, Default)]
struct Piece {
    gfn: u64,
    offset: usize,
    len: usize,
}

impl<'a> Mem<'a> {
    /// Guest memory of `vgpu`, reached through its open device `dev`.
    pub(crate) fn new(vgpu: &'a Vgpu, dev: &'a vfio::Device) -> Self {
        Self {
            vgpu,
            dev,
            root: None,
            faults: 0,
            foreign: 0,
            accesses: 0,
            pins: [None, None, None, None, None, None, None, None],
            hand: 0,
            xlates: [None; XLATES],
            xhand: 0,
        }
    }

    /// Sets the PPGTT of the workload being scanned or run.
    pub(crate) fn set_root(&mut self, root: Root) {
        self.root = Some(root);
    }

    /// The guest frame behind GGTT address `addr`, as the vGPU's view has
    /// it now (inside its ranges, present, pinned, not on scratch) and as
    /// the physical GGTT has it: a GPU resolves a GGTT address through the
    /// physical table, so the physical entry must be the vGPU's own host
    /// PTE. Another vGPU's entry there (a shared slot not switched in)
    /// faults and is counted ([`Mem::foreign`], debugfs `ggtt_foreign`):
    /// nothing is read or written through it.
    fn ggtt_frame(&mut self, addr: u64) -> Result<u64, MemError> {
        let index = addr / PAGE;
        let st = self.vgpu.state.lock();
        let raw = st.ggtt.host_pte(index).ok_or(MemError::Unmapped)?;
        let host = GgttPte::from_raw(raw);
        let gfn = match st.ggtt.entry(index) {
            Some((guest, Some(gfn)))
                if GgttPte::from_raw(guest).present()
                    && host.present()
                    && host.frame() != st.ggtt.scratch_mfn() =>
            {
                gfn
            }
            _ => return Err(MemError::Unmapped),
        };
        // Under the vGPU's lock (before the backend's, the documented
        // order): the entry cannot change between the two reads.
        match self.vgpu.host.backend.read_entry(index) {
            Some(phys) if phys != raw => {
                drop(st);
                self.foreign += 1;
                self.vgpu.host.count_foreign();
                Err(MemError::Fault)
            }
            _ => Ok(gfn),
        }
    }

    /// The guest frame behind PPGTT address `va` of the running context,
    /// through the vGPU's shadow PPGTT ([`super::shadow`], brought up to
    /// date before the workload by [`Mem::prepare_ppgtt`]).
    ///
    /// Only 4-level contexts have a shadow: a legacy 32-bit context's PPGTT
    /// addresses do not translate (i915 on a vGPU with the 48-bit PV
    /// capability never makes one).
    fn ppgtt(&mut self, va: u64) -> Result<u64, MemError> {
        let Some(Root::L4(pml4)) = self.root else {
            return Err(MemError::Unmapped);
        };
        let (gfn, _) = self
            .vgpu
            .shadow
            .lock()
            .translate(pml4 >> 12, va)
            .ok_or(MemError::Unmapped)?;
        Ok(gfn)
    }

    /// Brings the shadow of the running context's PPGTT up to date with
    /// the guest's tables (the `full` policy: before every workload). The
    /// shadow's lock is taken after the engine lock and before the vGPU's;
    /// it reads the guest's tables through short pins.
    pub(crate) fn prepare_ppgtt(&mut self) -> kernel::error::Result {
        let Some(Root::L4(pml4)) = self.root else {
            return Ok(());
        };
        if pml4 & 0xfff != 0 {
            return Err(kernel::error::code::EINVAL);
        }
        self.vgpu.shadow.lock().prepare(self.dev, pml4 >> 12)
    }

    /// The guest frame behind `addr` in `space` (kept for the step).
    fn frame(&mut self, space: Space, addr: u64) -> Result<u64, MemError> {
        let root = match space {
            Space::Ggtt => None,
            Space::Ppgtt => self.root,
        };
        let page = addr / PAGE;
        let hit = self
            .xlates
            .iter()
            .flatten()
            .find(|x| x.space == space && x.root == root && x.page == page);
        if let Some(x) = hit {
            return Ok(x.gfn);
        }
        let gfn = match space {
            Space::Ggtt => self.ggtt_frame(addr)?,
            Space::Ppgtt => self.ppgtt(addr)?,
        };
        self.xlates[self.xhand] = Some(Xlate {
            space,
            root,
            page,
            gfn,
        });
        self.xhand = (self.xhand + 1) % XLATES;
        Ok(gfn)
    }

    /// Releases every frame held: unpinned with no lock held, then their
    /// pins retired under the vGPU's lock (and waiters woken).
    fn release(&mut self) {
        let mut outs: [Option<PinOut>; PINS] = [None; PINS];
        for (slot, out) in self.pins.iter_mut().zip(outs.iter_mut()) {
            if let Some(Held { out: o, page, .. }) = slot.take() {
                // Unpinned here, before the pin stops counting as out.
                drop(page);
                *out = Some(o);
            }
        }
        if outs.iter().all(Option::is_none) {
            return;
        }
        let mut st = self.vgpu.state.lock();
        for o in outs.into_iter().flatten() {
            st.ggtt.retire(o);
        }
        drop(st);
        self.vgpu.pin_wait.notify_all();
    }

    /// Makes every frame of `gfns` held; returns their slots.
    ///
    /// Frames not held yet are reserved all together under the vGPU's
    /// lock (evicting others if needed), then pinned with no lock held. If
    /// a reservation must wait, everything held is released first and the
    /// whole request starts over, so a waiter never holds a pin.
    fn hold(&mut self, gfns: &[u64]) -> Result<[usize; BATCH], MemError> {
        let gfns = &gfns[..gfns.len().min(BATCH)];
        'again: loop {
            let mut slots = [usize::MAX; BATCH];
            let mut missing = [false; BATCH];
            for (i, gfn) in gfns.iter().enumerate() {
                match self
                    .pins
                    .iter()
                    .position(|h| h.as_ref().is_some_and(|h| h.gfn == *gfn))
                {
                    Some(slot) => slots[i] = slot,
                    None => missing[i] = true,
                }
            }
            if !missing.iter().any(|m| *m) {
                return Ok(slots);
            }
            // A slot for each missing frame: free ones first, else the
            // next ones the hand points at that this request does not use.
            let mut evicted: [Option<Held<'a>>; BATCH] = [None, None, None, None];
            for i in 0..gfns.len() {
                if !missing[i] {
                    continue;
                }
                // The same frame twice in one request: one slot.
                if let Some(j) = (0..i).find(|&j| missing[j] && gfns[j] == gfns[i]) {
                    slots[i] = slots[j];
                    missing[i] = false;
                    continue;
                }
                let free = (0..PINS).find(|s| self.pins[*s].is_none() && !slots.contains(s));
                let slot = match free {
                    Some(s) => s,
                    None => {
                        let mut s = self.hand;
                        while slots.contains(&s) {
                            s = (s + 1) % PINS;
                        }
                        self.hand = (s + 1) % PINS;
                        evicted[i] = self.pins[s].take();
                        s
                    }
                };
                slots[i] = slot;
            }
            let mut evicted_outs: [Option<PinOut>; BATCH] = [None; BATCH];
            for (e, o) in evicted.iter_mut().zip(evicted_outs.iter_mut()) {
                if let Some(Held { out, page, .. }) = e.take() {
                    drop(page);
                    *o = Some(out);
                }
            }
            let mut outs: [Option<PinOut>; BATCH] = [None; BATCH];
            {
                let mut st = self.vgpu.state.lock();
                for o in evicted_outs.into_iter().flatten() {
                    st.ggtt.retire(o);
                }
                loop {
                    let mut refused = None;
                    for i in 0..gfns.len() {
                        if !missing[i] {
                            continue;
                        }
                        match st.ggtt.reserve(gfns[i]) {
                            Issue::Go(out) => outs[i] = Some(out),
                            other => {
                                refused = Some(other);
                                break;
                            }
                        }
                    }
                    let Some(refused) = refused else {
                        break;
                    };
                    for o in outs.iter_mut().filter_map(Option::take) {
                        st.ggtt.retire(o);
                    }
                    self.vgpu.pin_wait.notify_all();
                    if !matches!(refused, Issue::Wait) {
                        // `reserve` only answers go or wait; anything else
                        // is not a frame this access may reach.
                        return Err(MemError::Fault);
                    }
                    if self.pins.iter().any(Option::is_some) {
                        // Release what is held (no lock held), then start
                        // over: nothing is held while waiting.
                        drop(st);
                        self.release();
                        continue 'again;
                    }
                    self.vgpu.pin_wait.wait(&mut st);
                }
            }
            // No lock of ours held: type1 takes its `iommu->lock` here.
            let mut failed = false;
            for i in 0..gfns.len() {
                let Some(out) = outs[i].take() else {
                    continue;
                };
                match self.dev.pin_page(gfns[i]) {
                    Ok(page) if !failed => {
                        self.pins[slots[i]] = Some(Held {
                            gfn: gfns[i],
                            out,
                            page,
                        })
                    }
                    Ok(page) => {
                        drop(page);
                        outs[i] = Some(out);
                    }
                    Err(_) => {
                        failed = true;
                        outs[i] = Some(out);
                    }
                }
            }
            if failed {
                let mut st = self.vgpu.state.lock();
                for o in outs.into_iter().flatten() {
                    st.ggtt.retire(o);
                }
                drop(st);
                self.vgpu.pin_wait.notify_all();
                return Err(MemError::Fault);
            }
            return Ok(slots);
        }
    }

    /// Runs `f` with every page of `pieces` pinned (held for the step);
    /// no lock held during the pins or `f`.
    fn with_pages<R>(
        &mut self,
        pieces: &[Piece],
        f: impl FnOnce(&[&PinnedPage<'_>]) -> Result<R, MemError>,
    ) -> Result<R, MemError> {
        let pieces = &pieces[..pieces.len().min(BATCH)];
        let mut gfns = [0u64; BATCH];
        for (g, p) in gfns.iter_mut().zip(pieces) {
            *g = p.gfn;
        }
        let result = self.hold(&gfns[..pieces.len()]).and_then(|slots| {
            let mut pages: [Option<&PinnedPage<'_>>; BATCH] = [None; BATCH];
            for (p, slot) in pages.iter_mut().zip(&slots[..pieces.len()]) {
                *p = self.pins[*slot].as_ref().map(|h| &h.page);
            }
            let mut all: [&PinnedPage<'_>; BATCH] = match pages[0] {
                Some(first) => [first; BATCH],
                None => return Err(MemError::Fault),
            };
            for (a, p) in all.iter_mut().zip(pages.iter().take(pieces.len())) {
                *a = p.ok_or(MemError::Fault)?;
            }
            f(&all[..pieces.len()])
        });
        if result.is_err() {
            self.faults += 1;
        }
        self.accesses += 1;
        if self.accesses % ACCESSES_PER_RESCHED == 0 {
            // No lock of ours is held here (the engine lock is a mutex).
            crate::sched::cond_resched();
        }
        result
    }

    /// Splits [addr, addr + len) into page pieces, at most [`BATCH`] from
    /// `addr`, translated in `space`. Returns how many.
    fn pieces(
        &mut self,
        space: Space,
        addr: u64,
        len: usize,
        out: &mut [Piece; BATCH],
    ) -> Result<usize, MemError> {
        let mut done = 0usize;
        let mut n = 0;
        while done < len && n < BATCH {
            let a = addr.checked_add(done as u64).ok_or(MemError::Unmapped)?;
            let offset = (a % PAGE) as usize;
            let take = (len - done).min(PAGE as usize - offset);
            let gfn = self.frame(space, a).inspect_err(|_| self.faults += 1)?;
            out[n] = Piece {
                gfn,
                offset,
                len: take,
            };
            done += take;
            n += 1;
        }
        Ok(n)
    }

    /// Checks that every page of [addr, addr + len) translates, before a
    /// write larger than one batch does anything.
    fn check_whole(&mut self, space: Space, addr: u64, len: usize) -> Result<(), MemError> {
        let end = addr.checked_add(len as u64).ok_or(MemError::Unmapped)?;
        let mut a = addr - addr % PAGE;
        while a < end {
            self.frame(space, a).inspect_err(|_| self.faults += 1)?;
            a += PAGE;
        }
        Ok(())
    }
}

impl Drop for Mem<'_> {
    /// The end of the step: every frame held is released.
    fn drop(&mut self) {
        self.release();
    }
}

impl GpuMemory for Mem<'_> {
    fn read(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0;
        while done < buf.len() {
            let mut p = [Piece::default(); BATCH];
            let n = self.pieces(space, addr + done as u64, buf.len() - done, &mut p)?;
            let chunk = &mut buf[done..];
            self.with_pages(&p[..n], |pages| {
                let mut at = 0;
                for (page, piece) in pages.iter().zip(&p[..n]) {
                    page.read(piece.offset, &mut chunk[at..at + piece.len])
                        .map_err(|_| MemError::Fault)?;
                    at += piece.len;
                }
                Ok(())
            })?;
            done += p[..n].iter().map(|p| p.len).sum::<usize>();
            if done < buf.len() {
                crate::sched::cond_resched();
            }
        }
        Ok(())
    }

    fn write(&mut self, space: Space, addr: u64, data: &[u8]) -> Result<(), MemError> {
        if data.len() > BATCH * PAGE as usize - (addr % PAGE) as usize {
            // More than one batch: every page is checked before the first
            // is written (an unmap racing the copy still cuts it, as it
            // would cut a real GPU's DMA).
            self.check_whole(space, addr, data.len())?;
        }
        let mut done = 0;
        while done < data.len() {
            let mut p = [Piece::default(); BATCH];
            let n = self.pieces(space, addr + done as u64, data.len() - done, &mut p)?;
            let chunk = &data[done..];
            self.with_pages(&p[..n], |pages| {
                let mut at = 0;
                for (page, piece) in pages.iter().zip(&p[..n]) {
                    page.write(piece.offset, &chunk[at..at + piece.len])
                        .map_err(|_| MemError::Fault)?;
                    at += piece.len;
                }
                Ok(())
            })?;
            done += p[..n].iter().map(|p| p.len).sum::<usize>();
            if done < data.len() {
                crate::sched::cond_resched();
            }
        }
        Ok(())
    }
}

/// The vGPU's registers for the engines: each access under the vGPU's
/// lock, with the engine's semantics ([`crate::mmio::Vregs::engine_write`]).
pub(crate) struct Regs<'a> {
    vgpu: &'a Vgpu,
}

impl<'a> Regs<'a> {
    /// The registers of `vgpu`.
    pub(crate) fn new(vgpu: &'a Vgpu) -> Self {
        Self { vgpu }
    }
}

impl RegFile for Regs<'_> {
    fn read(&mut self, offset: u32) -> u32 {
        self.vgpu.state.lock().vregs.reg(offset & !3)
    }

    fn write(&mut self, offset: u32, value: u32) {
        self.vgpu
            .state
            .lock()
            .vregs
            .engine_write(offset & !3, value);
    }
}
