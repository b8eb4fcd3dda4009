//! Strict mode: emulation of a trapped guest write to a write-protected page-table page.

use super::spt::Kind;
use super::{Error, Host, Tables};
use crate::pte::{Level, ENTRY_SIZE, PAGE_SIZE};
use crate::storage::Alloc;

impl<A: Alloc> Tables<A> {
    /// Emulates a trapped guest write of `data` at byte `offset` of the guest page `gfn`.
    ///
    /// Called after the write reached guest memory (KVM page-track semantics);
    /// `now` is the caller's clock in nanoseconds, for the write window. A 4-
    /// or 8-byte write aligned to its size updates the guest copy and the
    /// shadow entry at once; a lone 4-byte half parks the entry on scratch until
    /// the other half arrives. Other writes are counted and refused with
    /// [`Error::BadWrite`], after resyncing the entries they touched from guest
    /// memory so that the shadow never holds a value the guest did not write.
    pub fn write<H: Host>(
        &mut self,
        host: &mut H,
        gfn: u64,
        offset: usize,
        data: &[u8],
        now: u64,
    ) -> Result<(), Error> {
        // The strict pages of `gfn`, by id and kind: emulating the write on one
        // of them can free another (and reuse its id), so each is checked with
        // `is_strict_page` before every use.
        let (ids, n) = self.ids_of(gfn);
        let mut strict = [(0u32, Kind::Pt); super::tree::KINDS];
        let mut m = 0;
        for &id in ids.iter().take(n) {
            let Some(kind) = self.spt(id).filter(|s| !s.relaxed).map(|s| s.kind) else {
                continue;
            };
            if let Some(slot) = strict.get_mut(m) {
                *slot = (id, kind);
                m += 1;
            }
        }
        let Some(&(_, first)) = strict.get(..m).and_then(|s| s.first()) else {
            self.counters.traps_spurious += 1;
            return Ok(());
        };
        match first.level() {
            Level::Pml4 => self.counters.traps_pml4 += 1,
            Level::Pdp => self.counters.traps_pdp += 1,
            Level::Pd => self.counters.traps_pd += 1,
            Level::Pt => self.counters.traps_pt += 1,
        }
        self.error = None;
        let len = data.len();
        let fits = offset.checked_add(len).is_some_and(|end| end <= PAGE_SIZE);
        let aligned = (len == 4 || len == 8) && offset % len == 0 && fits;
        let strict = strict.get(..m).unwrap_or(&[]);
        if !aligned {
            self.counters.rejected_writes += 1;
            self.resync(host, gfn, strict, offset, len);
            self.take_error()?;
            return Err(Error::BadWrite);
        }
        let index = offset / ENTRY_SIZE;
        let value = if let Ok(b) = <[u8; 8]>::try_from(data) {
            Some(u64::from_le_bytes(b))
        } else {
            None
        };
        let half32 = <[u8; 4]>::try_from(data).map(u32::from_le_bytes).ok();
        let half = (offset / 4) % 2;
        if value.is_none() {
            self.counters.partial_writes += 1;
        }
        for &(id, kind) in strict {
            if !self.is_strict_page(id, gfn, kind) {
                // Freed by an earlier page's update; a page made since read the new value.
                continue;
            }
            let Some(s) = self.spt_mut(id) else {
                continue;
            };
            let Some(slot) = s.guest.get_mut(index) else {
                continue;
            };
            match (value, half32) {
                (Some(v), _) => {
                    *slot = v;
                    self.set_entry(host, id, index, v);
                }
                (None, Some(h)) => {
                    let old = *slot;
                    let merged = if half == 0 {
                        (old & !0xffff_ffff) | u64::from(h)
                    } else {
                        (old & 0xffff_ffff) | (u64::from(h) << 32)
                    };
                    *slot = merged;
                    if s.half_pending(index, 1 - half) {
                        // Both halves arrived: the entry is whole again.
                        self.set_entry(host, id, index, merged);
                    } else {
                        self.park(host, id, index, half);
                    }
                }
                (None, None) => {}
            }
        }
        self.counters.emulated_writes += 1;
        for &(id, kind) in strict {
            if self.is_strict_page(id, gfn, kind) {
                self.count_write(host, id, now);
            }
        }
        self.take_error()
    }

    /// Rebuilds the entries a refused write touched from guest memory.
    fn resync<H: Host>(
        &mut self,
        host: &mut H,
        gfn: u64,
        pages: &[(u32, Kind)],
        offset: usize,
        len: usize,
    ) {
        if offset >= PAGE_SIZE || len == 0 {
            return;
        }
        let last = offset.saturating_add(len - 1).min(PAGE_SIZE - 1);
        for index in offset / ENTRY_SIZE..=last / ENTRY_SIZE {
            let v = match host.read_entry(gfn, index) {
                Ok(v) => v,
                Err(e) => {
                    // The entry becomes not present: scratch.
                    self.note(e);
                    0
                }
            };
            for &(id, kind) in pages {
                if !self.is_strict_page(id, gfn, kind) {
                    continue;
                }
                if let Some(slot) = self.spt_mut(id).and_then(|s| s.guest.get_mut(index)) {
                    *slot = v;
                    self.set_entry(host, id, index, v);
                }
            }
        }
    }
}
