//! Trap-and-emulate of a vGPU's GGTT entries: guest values, pins and the host PTEs they give.
//!
//! The guest writes GGTT entries through BAR0 (`crate::mmio::Target::Ggtt`). Like GVT-g's
//! `emulate_ggtt_mmio_write`, [`VGgtt`] keeps the guest's own value of every entry it owns (reads
//! return it, never the host PTE), pins the guest frame of every complete present entry through
//! [`Translate`] and hands back the host PTE: the guest's entry with its frame replaced by the
//! pinned host frame, or by the scratch frame when the entry is not present, cannot be pinned, or
//! is half written. Writes outside the vGPU's ranges are ignored because a ballooned guest may
//! touch the whole GGTT. The caller installs the returned PTEs in the private GTT
//! (`crate::gm::ggtt`) and the physical GGTT and invalidates the GGTT; this file touches neither.
//!
//! Every pin taken here is dropped exactly once: when the entry is replaced (after the new frame
//! is pinned), when the VMM unmaps the frame ([`VGgtt::unmap`]), when the entry leaves the vGPU's
//! ranges ([`VGgtt::set_ranges`]) or on [`VGgtt::release`].

use crate::pte::GgttPte;
use crate::shadow::Translate;
use crate::storage::{Alloc, AllocError, Vector};

#[cfg(test)]
mod tests;

/// Default bound on entries with a pending half (see [`VGgtt::write`]).
///
/// A guest writes the two halves of one entry back to back, so a handful is plenty; the bound
/// keeps a guest that only ever writes first halves from growing host memory.
pub const MAX_PENDING: usize = 64;

/// Marks an entry that holds no pin in [`Seg::mfn`].
///
/// Stored host frames are masked to the PTE's address field, so no pinned frame equals it.
const NO_MFN: u64 = u64::MAX;

/// A run of GGTT entry indices the vGPU owns: [start, start + len).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    /// First entry index.
    pub start: u64,
    /// Number of entries.
    pub len: u64,
}

impl Range {
    /// One past the last entry index (saturating, so a huge `len` cannot wrap).
    pub const fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }

    /// Whether entry `index` lies in the range.
    pub const fn contains(&self, index: u64) -> bool {
        index >= self.start && index < self.end()
    }
}

/// Counters of one vGPU's GGTT emulation, printed by debugfs.
///
/// Fields named `*_now` are gauges (current values); all others only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Guest reads of GGTT entries (out of range and malformed ones too).
    pub reads: u64,
    /// Guest writes of GGTT entries (every trap, ignored ones too).
    pub writes: u64,
    /// 4-byte writes to half of an entry, in the vGPU's ranges.
    pub partial_writes: u64,
    /// Writes ignored: index outside the vGPU's ranges, or an offset/length pair that is not a
    /// whole entry or a half.
    pub ignored_writes: u64,
    /// Complete present entries whose guest frame could not be pinned (pointed at scratch).
    pub invalid_entries: u64,
    /// Guest frames pinned by entries now.
    pub pins_now: u64,
    /// Pins taken.
    pub pins_total: u64,
    /// Pins dropped.
    pub unpins_total: u64,
    /// Entries repointed at scratch because the VMM unmapped their frame.
    pub unmapped: u64,
    /// Half-written entries forgotten because too many halves were pending.
    pub pending_evicted: u64,
    /// Entries waiting for their other half now.
    pub pending_now: u64,
}

impl Counters {
    /// Calls `f` with each counter's name and value, in declaration order.
    pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("reads", self.reads);
        f("writes", self.writes);
        f("partial_writes", self.partial_writes);
        f("ignored_writes", self.ignored_writes);
        f("invalid_entries", self.invalid_entries);
        f("pins_now", self.pins_now);
        f("pins_total", self.pins_total);
        f("unpins_total", self.unpins_total);
        f("unmapped", self.unmapped);
        f("pending_evicted", self.pending_evicted);
        f("pending_now", self.pending_now);
    }
}

/// How a guest access covers an 8-byte entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// All 8 bytes.
    Whole,
    /// The 4 bytes at this byte offset (0 or 4).
    Half(u8),
}

impl Access {
    /// Classifies an access; `None` for any pair GVT-g would not emulate.
    ///
    /// `crate::mmio::decode` already refuses the others, but these values come from the guest,
    /// so they are checked again rather than trusted.
    fn new(offset: u8, len: usize) -> Option<Self> {
        match (offset, len) {
            (0, 8) => Some(Access::Whole),
            (0 | 4, 4) => Some(Access::Half(offset)),
            _ => None,
        }
    }
}

/// An entry whose first half arrived and whose other half has not (GVT-g's `partial_pte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    /// Entry index.
    index: u64,
    /// Byte offset (0 or 4) of the half that arrived.
    offset: u8,
}

/// The state of the entries of one owned range.
///
/// # Invariants
///
/// `guest.len() == mfn.len()` is the range's length. `mfn[i]` is [`NO_MFN`] or the host frame
/// pinned for the guest frame of `guest[i]` (one reference taken by [`Translate::pin`]).
struct Seg<A: Alloc> {
    /// The guest's value of each entry (its virtual GGTT).
    guest: A::Vec<u64>,
    /// The host frame pinned for each entry, or [`NO_MFN`].
    mfn: A::Vec<u64>,
}

impl<A: Alloc> Seg<A> {
    fn zeroed(len: usize) -> Result<Self, AllocError> {
        let mut guest = A::Vec::new();
        guest.try_resize(len, 0)?;
        let mut mfn = A::Vec::new();
        mfn.try_resize(len, NO_MFN)?;
        Ok(Seg { guest, mfn })
    }
}

/// The GGTT entries of one vGPU as the guest wrote them, with the pins they hold.
///
/// # Invariants
///
/// `ranges` is sorted, its ranges are non-empty and disjoint, and `segs[k]` holds the entries of
/// `ranges[k]`. Every `pending` entry lies in `ranges`, holds no pin and appears once; there are
/// at most `max_pending` of them, oldest first. `counters.pins_now` is the number of entries
/// holding a pin and `counters.pending_now` is `pending.len()`.
pub struct VGgtt<A: Alloc> {
    scratch_mfn: u64,
    ranges: A::Vec<Range>,
    segs: A::Vec<Seg<A>>,
    pending: A::Vec<Pending>,
    max_pending: usize,
    counters: Counters,
}

impl<A: Alloc> VGgtt<A> {
    /// Returns a vGPU GGTT with no ranges; unpinned entries will point at host frame `scratch_mfn`.
    pub fn new(scratch_mfn: u64) -> Self {
        VGgtt {
            scratch_mfn,
            ranges: A::Vec::new(),
            segs: A::Vec::new(),
            pending: A::Vec::new(),
            max_pending: MAX_PENDING,
            counters: Counters::default(),
        }
    }

    /// Returns the owned ranges, sorted, non-empty, disjoint and with adjacent ones merged.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// Returns the counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Returns the host frame unpinned entries point at.
    pub fn scratch_mfn(&self) -> u64 {
        self.scratch_mfn
    }

    /// Returns the host PTE of an entry the vGPU does not hold a pin for, given its guest value.
    ///
    /// Only the frame changes, as GVT-g's `set_pfn(scratch_mfn)`; a present bit the guest set is
    /// kept, which is harmless since the scratch page is always valid.
    pub fn scratch_pte(&self, guest: u64) -> u64 {
        GgttPte::from_raw(guest).with_frame(self.scratch_mfn).raw()
    }

    /// Sets the ranges the vGPU owns (its low-GM run and its high-GM slot runs).
    ///
    /// `ranges` may come in any order, overlap or be empty; the union is kept. Entries in both
    /// the old and the new ranges keep their guest value, pin and pending half; entries that leave
    /// are unpinned; new entries start as guest 0 pointing at scratch (their host PTE is
    /// [`VGgtt::scratch_pte`]`(0)`, to be installed by the caller). On an allocation failure
    /// nothing changes. The caller must stop the GPU from using leaving entries (scrub or hand
    /// over their physical slots) since their pages are no longer pinned.
    pub fn set_ranges<T: Translate>(
        &mut self,
        tr: &mut T,
        ranges: &[Range],
    ) -> Result<(), AllocError> {
        let new_ranges = normalize::<A>(ranges)?;
        let mut new_segs = A::Vec::<Seg<A>>::new();
        new_segs.try_reserve(new_ranges.len())?;
        for r in new_ranges.iter() {
            let len = usize::try_from(r.len).map_err(|_| AllocError)?;
            let mut seg = Seg::<A>::zeroed(len)?;
            self.copy_overlap(r, &mut seg);
            new_segs.try_push(seg)?;
        }
        // Room for the pending bound now, so that `write` never needs to allocate.
        let room = self.max_pending.saturating_sub(self.pending.len());
        self.pending.try_reserve(room)?;

        // Nothing can fail from here: drop the pins of entries that leave.
        for (r, seg) in self.ranges.iter().zip(self.segs.iter()) {
            for (i, &mfn) in seg.mfn.iter().enumerate() {
                if mfn == NO_MFN || find(&new_ranges, r.start + i as u64).is_some() {
                    continue;
                }
                tr.unpin(GgttPte::from_raw(seg.guest[i]).frame());
                self.counters.unpins_total += 1;
                self.counters.pins_now = self.counters.pins_now.saturating_sub(1);
            }
        }
        retain_pending::<A>(&mut self.pending, |p| find(&new_ranges, p.index).is_some());
        self.counters.pending_now = self.pending.len() as u64;
        self.ranges = new_ranges;
        self.segs = new_segs;
        Ok(())
    }

    /// Copies the state of the current entries in `r` into `seg`, which holds `r`'s entries.
    fn copy_overlap(&self, r: &Range, seg: &mut Seg<A>) {
        let (start, end) = (r.start, r.end());
        let first = self.ranges.partition_point(|o| o.end() <= start);
        for (o, old) in self.ranges[first..].iter().zip(self.segs[first..].iter()) {
            if o.start >= end {
                break;
            }
            let lo = o.start.max(start);
            let hi = o.end().min(end);
            // Offsets fit usize: both segments were allocated with these lengths.
            let (src, dst, n) = (
                (lo - o.start) as usize,
                (lo - start) as usize,
                (hi - lo) as usize,
            );
            seg.guest[dst..dst + n].copy_from_slice(&old.guest[src..src + n]);
            seg.mfn[dst..dst + n].copy_from_slice(&old.mfn[src..src + n]);
        }
    }

    /// Returns the segment and offset of entry `index`, if the vGPU owns it.
    fn locate(&self, index: u64) -> Option<(usize, usize)> {
        let k = find(&self.ranges, index)?;
        Some((k, (index - self.ranges[k].start) as usize))
    }

    /// Reads `len` (4 or 8) bytes at byte `offset` (0 or 4) of entry `index`.
    ///
    /// Returns the value the guest last wrote there (GVT-g returns the guest's virtual GGTT, not
    /// the host PTE), zero-extended; 0 outside the vGPU's ranges or for a malformed access.
    pub fn read(&mut self, index: u64, offset: u8, len: usize) -> u64 {
        self.counters.reads += 1;
        let (Some(access), Some((k, i))) = (Access::new(offset, len), self.locate(index)) else {
            return 0;
        };
        let guest = self.segs[k].guest[i];
        match access {
            Access::Whole => guest,
            Access::Half(o) => (guest >> (u32::from(o) * 8)) & 0xffff_ffff,
        }
    }

    /// Emulates a guest write of `len` bytes of `value` at byte `offset` of entry `index`.
    ///
    /// Returns the host PTE the caller must install for `index`, or `None` when the write is
    /// ignored (index outside the vGPU's ranges, or an offset/length pair that is neither the whole
    /// entry nor a 4-byte half; both counted). An 8-byte write replaces the entry. A 4-byte write
    /// merges into the guest value and, until the other half of the same entry arrives, the host
    /// PTE points at scratch (GVT-g's `partial_pte_list`; either order; a repeated first half only
    /// updates the value). At most [`MAX_PENDING`] entries wait for a half: beyond that the oldest
    /// is forgotten and stays on scratch until rewritten in full or by two new halves.
    ///
    /// A complete present entry pins its guest frame; its host PTE is the guest entry with the
    /// frame replaced (other bits as written), or with the scratch frame if the pin failed
    /// (`invalid_entries`). The frame the entry pinned before is unpinned once, after the new pin,
    /// so rewriting the same frame never drops its last reference in between.
    pub fn write<T: Translate>(
        &mut self,
        tr: &mut T,
        index: u64,
        offset: u8,
        len: usize,
        value: u64,
    ) -> Option<u64> {
        self.counters.writes += 1;
        let (Some(access), Some((k, i))) = (Access::new(offset, len), self.locate(index)) else {
            self.counters.ignored_writes += 1;
            return None;
        };
        let old = self.segs[k].guest[i];
        let (guest, complete) = match access {
            Access::Whole => {
                // A whole write supersedes a pending half (GVT-g would keep the stale half and
                // merge it into a later 4-byte write of the other offset).
                self.unpend(index);
                (value, true)
            }
            Access::Half(o) => {
                self.counters.partial_writes += 1;
                let shift = u32::from(o) * 8;
                let merged = (old & !(0xffff_ffff << shift)) | ((value & 0xffff_ffff) << shift);
                let complete = match self.pending.iter().position(|p| p.index == index) {
                    Some(p) if self.pending[p].offset != o => {
                        // The other half: the entry is whole again.
                        self.unpend(index);
                        true
                    }
                    // A repeated first half: it only updates the guest value.
                    Some(_) => false,
                    None => {
                        self.pend(index, o);
                        false
                    }
                };
                (merged, complete)
            }
        };

        let pte = GgttPte::from_raw(guest);
        let mut mfn = NO_MFN;
        if complete && pte.present() {
            match tr.pin(pte.frame()) {
                Ok(m) => {
                    // Masked to the address field: the PTE can only carry that much, and the
                    // mask keeps every stored frame distinct from NO_MFN.
                    mfn = GgttPte::new(m).frame();
                    self.counters.pins_total += 1;
                    self.counters.pins_now += 1;
                }
                Err(_) => self.counters.invalid_entries += 1,
            }
        }
        let seg = &mut self.segs[k];
        if seg.mfn[i] != NO_MFN {
            tr.unpin(GgttPte::from_raw(old).frame());
            self.counters.unpins_total += 1;
            self.counters.pins_now = self.counters.pins_now.saturating_sub(1);
        }
        seg.guest[i] = guest;
        seg.mfn[i] = mfn;
        let frame = if mfn == NO_MFN { self.scratch_mfn } else { mfn };
        Some(pte.with_frame(frame).raw())
    }

    /// Records that the half at `offset` of entry `index` arrived, evicting the oldest if full.
    fn pend(&mut self, index: u64, offset: u8) {
        if self.pending.len() >= self.max_pending {
            // Forgetting the oldest half is safe: that entry holds no pin and stays on scratch.
            if self.pending.remove(0).is_some() {
                self.counters.pending_evicted += 1;
            }
        }
        if self.pending.len() >= self.max_pending
            || self.pending.try_push(Pending { index, offset }).is_err()
        {
            // No room (a zero bound, or `set_ranges` could not reserve): forget this half.
            self.counters.pending_evicted += 1;
        }
        self.counters.pending_now = self.pending.len() as u64;
    }

    /// Forgets the pending half of entry `index`, if any.
    fn unpend(&mut self, index: u64) {
        if let Some(p) = self.pending.iter().position(|p| p.index == index) {
            self.pending.remove(p);
            self.counters.pending_now = self.pending.len() as u64;
        }
    }

    /// Handles the VMM unmapping guest frames [gfn, gfn + count) (VFIO's `dma_unmap`).
    ///
    /// Every entry whose pinned frame lies there is repointed at scratch: `sink(index, host_pte)`
    /// is called for it (before its pin is dropped, so the caller can install the PTE first) and
    /// then the frame is unpinned. The guest value stays, so a later rewrite pins again.
    pub fn unmap<T: Translate>(
        &mut self,
        tr: &mut T,
        gfn: u64,
        count: u64,
        mut sink: impl FnMut(u64, u64),
    ) {
        let end = gfn.saturating_add(count);
        let scratch = self.scratch_mfn;
        for (r, seg) in self.ranges.iter().zip(self.segs.iter_mut()) {
            for (i, mfn) in seg.mfn.iter_mut().enumerate() {
                if *mfn == NO_MFN {
                    continue;
                }
                let pte = GgttPte::from_raw(seg.guest[i]);
                let frame = pte.frame();
                if frame < gfn || frame >= end {
                    continue;
                }
                sink(r.start + i as u64, pte.with_frame(scratch).raw());
                tr.unpin(frame);
                *mfn = NO_MFN;
                self.counters.unmapped += 1;
                self.counters.unpins_total += 1;
                self.counters.pins_now = self.counters.pins_now.saturating_sub(1);
            }
        }
    }

    /// Unpins every entry and drops all ranges and pending halves (vGPU reset or destroy).
    ///
    /// Afterwards no pin is held and the vGPU owns no entry. The caller must have pointed the
    /// entries' physical GGTT slots elsewhere first, since their pages are no longer pinned.
    pub fn release<T: Translate>(&mut self, tr: &mut T) {
        for seg in self.segs.iter() {
            for (i, &mfn) in seg.mfn.iter().enumerate() {
                if mfn != NO_MFN {
                    tr.unpin(GgttPte::from_raw(seg.guest[i]).frame());
                    self.counters.unpins_total += 1;
                }
            }
        }
        self.counters.pins_now = 0;
        self.segs.clear();
        self.ranges.clear();
        self.pending.clear();
        self.counters.pending_now = 0;
    }

    /// Returns entry `index`'s guest value and the guest frame it pins; `None` outside the ranges.
    pub fn entry(&self, index: u64) -> Option<(u64, Option<u64>)> {
        let (k, i) = self.locate(index)?;
        let seg = &self.segs[k];
        let guest = seg.guest[i];
        let pinned = (seg.mfn[i] != NO_MFN).then(|| GgttPte::from_raw(guest).frame());
        Some((guest, pinned))
    }

    /// Returns the host PTE of entry `index` as the last write, unmap or range change left it.
    ///
    /// This is what the caller installed (or, for entries that just entered the ranges, what it
    /// should install); `None` outside the ranges.
    pub fn host_pte(&self, index: u64) -> Option<u64> {
        let (k, i) = self.locate(index)?;
        let seg = &self.segs[k];
        let frame = match seg.mfn[i] {
            NO_MFN => self.scratch_mfn,
            mfn => mfn,
        };
        Some(GgttPte::from_raw(seg.guest[i]).with_frame(frame).raw())
    }
}

/// Returns the position in `ranges` (sorted, disjoint) of the range holding `index`.
fn find(ranges: &[Range], index: u64) -> Option<usize> {
    let k = ranges
        .partition_point(|r| r.start <= index)
        .checked_sub(1)?;
    ranges[k].contains(index).then_some(k)
}

/// Returns `ranges` sorted, without empty ones, and with overlapping or adjacent ones merged.
fn normalize<A: Alloc>(ranges: &[Range]) -> Result<A::Vec<Range>, AllocError> {
    let mut out = A::Vec::<Range>::new();
    out.try_reserve(ranges.len())?;
    for r in ranges.iter().filter(|r| r.end() > r.start) {
        // Insertion sort: a few dozen ranges at most, and no recursion in the kernel.
        let at = out.partition_point(|o| o.start <= r.start);
        out.try_insert(
            at,
            Range {
                start: r.start,
                len: r.end() - r.start,
            },
        )?;
    }
    let mut n = 0;
    for k in 0..out.len() {
        let r = out[k];
        if n > 0 && r.start <= out[n - 1].end() {
            let last = &mut out[n - 1];
            last.len = last.end().max(r.end()) - last.start;
        } else {
            out[n] = r;
            n += 1;
        }
    }
    out.truncate(n);
    Ok(out)
}

/// Keeps the pending halves for which `keep` holds, in order.
fn retain_pending<A: Alloc>(pending: &mut A::Vec<Pending>, mut keep: impl FnMut(&Pending) -> bool) {
    let mut n = 0;
    for k in 0..pending.len() {
        if keep(&pending[k]) {
            pending[n] = pending[k];
            n += 1;
        }
    }
    pending.truncate(n);
}
