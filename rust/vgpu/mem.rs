// SPDX-License-Identifier: GPL-2.0

//! Guest memory and registers as the engines see them: the kernel's
//! [`GpuMemory`] and [`RegFile`] for the command parser and the execlists.
//!
//! A GGTT address goes through the vGPU's own view of its GGTT: under the
//! vGPU's lock the guest's entry is looked up (inside the vGPU's ranges,
//! present, not on scratch) and the frame's pin registered as out
//! (`VGgtt::reserve`, so a `dma_unmap` of it waits for the access); the
//! lock is dropped and the frame pinned again for the access
//! (`vfio::PinnedPage`), as BAR2 does: the engine never trusts a frame
//! number, and a frame the VMM unmapped meanwhile faults. A PPGTT address
//! is translated by the guest's own 4-level tables (see [`Mem::ppgtt`]),
//! read through the same short pins.
//!
//! An access is checked whole before any byte of it is written: the pages
//! of a piece (up to [`BATCH`] pages) are all looked up and pinned before
//! the copy, and a larger access has every translation checked first.
//! No pin or unpin is made with a lock of ours held.

use super::Vgpu;
use crate::engine::{GpuMemory, MemError, RegFile, Space};
use crate::execlist::lrc::Root;
use crate::ggtt::GTT_PAGE_SIZE;
use crate::pte::GgttPte;
use crate::vfio::{self, PinnedPage};
use crate::vggtt::{Issue, PinOut};

/// Pages pinned at once for one piece of an access. The vGPU has
/// `vggtt::MAX_PINS_OUT` (32) pins out at most; four engines with four
/// each leave half for the VMM's own accesses.
pub(crate) const BATCH: usize = 4;

const PAGE: u64 = GTT_PAGE_SIZE;

/// Address bits of a gen8 PPGTT entry (bits 12..=45, GPA as the guest
/// writes it).
const PTE_ADDR: u64 = 0x0000_3fff_ffff_f000;
/// Present bit of a gen8 PPGTT entry.
const PTE_PRESENT: u64 = 1 << 0;
/// Page-size bit of a PDPE (1 GB page) or PDE (2 MB page).
const PTE_PS: u64 = 1 << 7;

/// The guest's memory through one vGPU, for one engine's workload.
pub(crate) struct Mem<'a> {
    vgpu: &'a Vgpu,
    dev: &'a vfio::Device,
    /// The running context's PPGTT root, as its image gives it.
    root: Option<Root>,
    /// Translations and accesses that failed, for the counters.
    pub(crate) faults: u64,
}

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
        }
    }

    /// Sets the PPGTT of the workload being scanned or run.
    pub(crate) fn set_root(&mut self, root: Root) {
        self.root = Some(root);
    }

    /// The guest frame behind GGTT address `addr`, as the vGPU's view has
    /// it now: inside its ranges, present, pinned, not on scratch.
    fn ggtt_frame(&self, addr: u64) -> Result<u64, MemError> {
        let index = addr / PAGE;
        let st = self.vgpu.state.lock();
        let host = GgttPte::from_raw(st.ggtt.host_pte(index).ok_or(MemError::Unmapped)?);
        match st.ggtt.entry(index) {
            Some((guest, Some(gfn)))
                if GgttPte::from_raw(guest).present()
                    && host.present()
                    && host.frame() != st.ggtt.scratch_mfn() =>
            {
                Ok(gfn)
            }
            _ => Err(MemError::Unmapped),
        }
    }

    /// Reads the 8-byte entry `index` of the guest page-table page `gfn`.
    fn pte(&mut self, gfn: u64, index: u64) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        let piece = Piece {
            gfn,
            offset: (index * 8) as usize,
            len: 8,
        };
        self.with_pages(&[piece], |pages| match pages.first() {
            Some(Some(page)) => page.read(piece.offset, &mut b).map_err(|_| MemError::Fault),
            _ => Err(MemError::Fault),
        })?;
        Ok(u64::from_le_bytes(b))
    }

    /// The guest frame behind PPGTT address `va` of the running context.
    ///
    /// STAND-IN until the shadow PPGTT is wired in (`vgpu/shadow.rs`): a
    /// direct walk of the guest's own tables from the context's root (a
    /// PML4, or four PDPs in legacy 32-bit mode), each entry read through a
    /// short pin; 2 MB and 1 GB pages are followed.
    fn ppgtt(&mut self, va: u64) -> Result<u64, MemError> {
        let (mut gfn, top) = match self.root.ok_or(MemError::Unmapped)? {
            Root::L4(pml4) => {
                if va >> 48 != 0 {
                    return Err(MemError::Unmapped);
                }
                (pml4 >> 12, 3u32)
            }
            Root::L3(pdps) => {
                if va >> 32 != 0 {
                    return Err(MemError::Unmapped);
                }
                let pdp = pdps[(va >> 30) as usize & 3];
                if pdp == 0 {
                    return Err(MemError::Unmapped);
                }
                (pdp >> 12, 1u32)
            }
        };
        for level in (0..=top).rev() {
            let shift = 12 + 9 * level;
            let pte = self.pte(gfn, (va >> shift) & 511)?;
            if pte & PTE_PRESENT == 0 {
                return Err(MemError::Unmapped);
            }
            let frame = (pte & PTE_ADDR) >> 12;
            if (level == 1 || level == 2) && pte & PTE_PS != 0 {
                // A 2 MB or 1 GB page: its frame plus the page's offset.
                let pages_in = (va >> 12) & ((1u64 << (9 * level)) - 1);
                return Ok(frame + pages_in);
            }
            gfn = frame;
        }
        Ok(gfn)
    }

    /// The guest frame behind `addr` in `space`.
    fn frame(&mut self, space: Space, addr: u64) -> Result<u64, MemError> {
        match space {
            Space::Ggtt => self.ggtt_frame(addr),
            Space::Ppgtt => self.ppgtt(addr),
        }
    }

    /// Runs `f` with every page of `pieces` pinned; no lock held during
    /// the pins or `f`.
    ///
    /// The pins are registered as out under the vGPU's lock first, all of
    /// them or none (so a waiter never holds one: an unmap waiting for
    /// them never waits for it), and retired afterwards.
    fn with_pages<R>(
        &mut self,
        pieces: &[Piece],
        f: impl FnOnce(&[Option<PinnedPage<'_>>]) -> Result<R, MemError>,
    ) -> Result<R, MemError> {
        let mut outs: [Option<PinOut>; BATCH] = [None, None, None, None];
        let pieces = &pieces[..pieces.len().min(BATCH)];
        {
            let mut st = self.vgpu.state.lock();
            'again: loop {
                for (i, p) in pieces.iter().enumerate() {
                    match st.ggtt.reserve(p.gfn) {
                        Issue::Go(out) => outs[i] = Some(out),
                        Issue::Stale => {
                            for o in outs.iter_mut().filter_map(Option::take) {
                                st.ggtt.retire(o);
                            }
                            self.vgpu.pin_wait.notify_all();
                            return Err(MemError::Fault);
                        }
                        Issue::Wait => {
                            for o in outs.iter_mut().filter_map(Option::take) {
                                st.ggtt.retire(o);
                            }
                            self.vgpu.pin_wait.notify_all();
                            self.vgpu.pin_wait.wait(&mut st);
                            continue 'again;
                        }
                    }
                }
                break;
            }
        }
        // No lock of ours held: type1 takes its `iommu->lock` here.
        let result = {
            let mut pinned: [Option<PinnedPage<'_>>; BATCH] = [None, None, None, None];
            let mut ok = true;
            for (i, p) in pieces.iter().enumerate() {
                match self.dev.pin_page(p.gfn) {
                    Ok(page) => pinned[i] = Some(page),
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                f(&pinned[..pieces.len()])
            } else {
                Err(MemError::Fault)
            }
            // The pins drop (unpin) here, still with no lock held.
        };
        let mut st = self.vgpu.state.lock();
        for o in outs.iter_mut().filter_map(Option::take) {
            st.ggtt.retire(o);
        }
        drop(st);
        self.vgpu.pin_wait.notify_all();
        if result.is_err() {
            self.faults += 1;
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

impl GpuMemory for Mem<'_> {
    fn read(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0;
        while done < buf.len() {
            let mut p = [Piece::default(); BATCH];
            let n = self.pieces(space, addr + done as u64, buf.len() - done, &mut p)?;
            let chunk = &mut buf[done..];
            self.with_pages(&p[..n], |pages| {
                let mut at = 0;
                for (page, piece) in pages.iter().flatten().zip(&p[..n]) {
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
                for (page, piece) in pages.iter().flatten().zip(&p[..n]) {
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
