//! A host-side implementation of the shadow tables' traits, for tests and benchmarks.
//!
//! Guest memory is a flat array of frames; guest frame `g` (below `frames`) is
//! backed by host frame `g + HOST_BASE`; shadow pages live in vectors named by
//! frames from `STORE_BASE`. [`Sim::model`] is the reference translation: it
//! walks the guest's own tables the way the hardware would.

use super::{Error, GuestMemory, Store, Track, Translate};
use crate::pte::{Entry, Level, ENTRIES, ENTRY_SIZE, PAGE_SIZE, PTE_64K_STRIDE};
use std::vec;
use std::vec::Vec;

/// Host frame backing guest frame 0.
pub const HOST_BASE: u64 = 0x10_0000;

/// Host frame of the first shadow page.
pub const STORE_BASE: u64 = 0x400_0000;

/// A simulated host: guest memory, pin and protect bookkeeping, shadow page store.
#[derive(Debug, Clone)]
pub struct Sim {
    frames: u64,
    memory: Vec<u64>,
    pins: Vec<u32>,
    protected: Vec<u32>,
    pages: Vec<Vec<u64>>,
    free: Vec<usize>,
    /// Number of `alloc` calls that still succeed; `None` for no limit.
    pub alloc_budget: Option<u64>,
    /// Protect and unprotect calls so far.
    pub track_calls: u64,
}

impl Sim {
    /// Creates a guest with `frames` frames of zeroed memory.
    pub fn new(frames: u64) -> Self {
        let n = usize::try_from(frames).unwrap_or(0);
        Sim {
            frames,
            memory: vec![0; n * ENTRIES],
            pins: vec![0; n],
            protected: vec![0; n],
            pages: Vec::new(),
            free: Vec::new(),
            alloc_budget: None,
            track_calls: 0,
        }
    }

    /// Whether the guest owns `gfn`.
    pub fn owns(&self, gfn: u64) -> bool {
        gfn < self.frames
    }

    /// Host frame backing `gfn`, if the guest owns it.
    pub fn host_frame(&self, gfn: u64) -> Option<u64> {
        self.owns(gfn).then_some(gfn + HOST_BASE)
    }

    /// Reads a guest entry (0 outside guest memory).
    pub fn entry(&self, gfn: u64, index: usize) -> u64 {
        self.slot(gfn, index).map_or(0, |i| self.memory[i])
    }

    /// Writes a guest entry directly (an untrapped write).
    pub fn set_entry(&mut self, gfn: u64, index: usize, value: u64) {
        if let Some(i) = self.slot(gfn, index) {
            self.memory[i] = value;
        }
    }

    /// Writes `data` at byte `offset` of guest page `gfn` and says whether the write traps.
    pub fn guest_write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> bool {
        for (k, &b) in data.iter().enumerate() {
            let off = offset + k;
            if off >= PAGE_SIZE {
                break;
            }
            if let Some(i) = self.slot(gfn, off / ENTRY_SIZE) {
                let shift = (off % ENTRY_SIZE) * 8;
                self.memory[i] = (self.memory[i] & !(0xff << shift)) | (u64::from(b) << shift);
            }
        }
        self.is_protected(gfn)
    }

    /// Whether writes to `gfn` trap.
    pub fn is_protected(&self, gfn: u64) -> bool {
        self.owns(gfn) && self.protected[gfn as usize] > 0
    }

    /// Largest protect count of any frame (1 when protection is never doubled).
    pub fn max_protect_depth(&self) -> u32 {
        self.protected.iter().copied().max().unwrap_or(0)
    }

    /// Pins held on `gfn`.
    pub fn pins(&self, gfn: u64) -> u32 {
        if self.owns(gfn) {
            self.pins[gfn as usize]
        } else {
            0
        }
    }

    /// Pins held on all frames.
    pub fn total_pins(&self) -> u64 {
        self.pins.iter().map(|&p| u64::from(p)).sum()
    }

    /// Frames protected now.
    pub fn protected_frames(&self) -> usize {
        self.protected.iter().filter(|&&p| p > 0).count()
    }

    /// Shadow pages allocated and not freed.
    pub fn live_pages(&self) -> usize {
        self.pages.len() - self.free.len()
    }

    /// The reference translation: host frame for `va` per the guest's tables, `None` for scratch.
    pub fn model(&self, root: u64, va: u64) -> Option<u64> {
        let mut table = root;
        for level in [Level::Pml4, Level::Pdp, Level::Pd] {
            if !self.owns(table) {
                return None;
            }
            let e = Entry::from_raw(self.entry(table, level.index(va)));
            if !e.present() {
                return None;
            }
            match level {
                Level::Pdp if e.ps() => return None,
                Level::Pd if e.ps() => {
                    return self.host_frame(e.frame_2m() + Level::Pt.index(va) as u64);
                }
                Level::Pd if e.ips() => {
                    if !self.owns(e.frame()) {
                        return None;
                    }
                    let i = Level::Pt.index(va);
                    let pte = Entry::from_raw(self.entry(e.frame(), i & !(PTE_64K_STRIDE - 1)));
                    if !pte.present() {
                        return None;
                    }
                    return self.host_frame(pte.frame_64k() + (i % PTE_64K_STRIDE) as u64);
                }
                _ => {}
            }
            table = e.frame();
        }
        if !self.owns(table) {
            return None;
        }
        let pte = Entry::from_raw(self.entry(table, Level::Pt.index(va)));
        if !pte.present() {
            return None;
        }
        self.host_frame(pte.frame())
    }

    fn slot(&self, gfn: u64, index: usize) -> Option<usize> {
        (self.owns(gfn) && index < ENTRIES).then(|| gfn as usize * ENTRIES + index)
    }
}

impl GuestMemory for Sim {
    fn read_page(&mut self, gfn: u64, out: &mut [u64]) -> Result<(), Error> {
        let start = self.slot(gfn, 0).ok_or(Error::BadFrame)?;
        let src = self
            .memory
            .get(start..start + ENTRIES)
            .ok_or(Error::BadFrame)?;
        let n = out.len().min(ENTRIES);
        out[..n].copy_from_slice(&src[..n]);
        Ok(())
    }

    fn read_entry(&mut self, gfn: u64, index: usize) -> Result<u64, Error> {
        self.slot(gfn, index)
            .map(|i| self.memory[i])
            .ok_or(Error::BadFrame)
    }
}

impl Translate for Sim {
    fn pin(&mut self, gfn: u64) -> Result<u64, Error> {
        let mfn = self.host_frame(gfn).ok_or(Error::BadFrame)?;
        self.pins[gfn as usize] += 1;
        Ok(mfn)
    }

    fn unpin(&mut self, gfn: u64) {
        assert!(self.pins(gfn) > 0, "unpin of unpinned gfn {gfn:#x}");
        self.pins[gfn as usize] -= 1;
    }
}

impl Track for Sim {
    fn protect(&mut self, gfn: u64) -> Result<(), Error> {
        if !self.owns(gfn) {
            return Err(Error::BadFrame);
        }
        self.track_calls += 1;
        self.protected[gfn as usize] += 1;
        Ok(())
    }

    fn unprotect(&mut self, gfn: u64) {
        assert!(
            self.is_protected(gfn),
            "unprotect of unprotected gfn {gfn:#x}"
        );
        self.track_calls += 1;
        self.protected[gfn as usize] -= 1;
    }
}

impl Store for Sim {
    fn alloc(&mut self) -> Result<u64, Error> {
        if let Some(b) = self.alloc_budget.as_mut() {
            if *b == 0 {
                return Err(Error::Alloc);
            }
            *b -= 1;
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.pages[i] = vec![0; ENTRIES];
                i
            }
            None => {
                self.pages.push(vec![0; ENTRIES]);
                self.pages.len() - 1
            }
        };
        Ok(STORE_BASE + i as u64)
    }

    fn free(&mut self, mfn: u64) {
        let i = (mfn - STORE_BASE) as usize;
        assert!(!self.pages[i].is_empty(), "double free of {mfn:#x}");
        self.pages[i] = Vec::new();
        self.free.push(i);
    }

    fn write(&mut self, mfn: u64, index: usize, entry: u64) {
        let i = (mfn - STORE_BASE) as usize;
        self.pages[i][index] = entry;
    }

    fn read(&self, mfn: u64, index: usize) -> Option<u64> {
        let i = usize::try_from(mfn.checked_sub(STORE_BASE)?).ok()?;
        self.pages.get(i)?.get(index).copied()
    }
}
