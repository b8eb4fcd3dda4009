//! Trap-and-emulate of a vGPU's GGTT entries: guest values, pins and the host PTEs they give.
//!
//! The guest writes GGTT entries through BAR0 (`crate::mmio::Target::Ggtt`). Like GVT-g's
//! `emulate_ggtt_mmio_write`, [`VGgtt`] keeps the guest's own value of every entry it owns (reads
//! return it, never the host PTE), has the caller pin the guest frame of every complete present
//! entry (as `crate::shadow::Translate::pin` would) and hands back the host PTE, built from the
//! fields it validated only (the guest's present bit and the pinned host frame, or the scratch
//! frame when the entry is not present, cannot be pinned, or is half written; no other bit of the
//! guest's value). Writes outside the vGPU's ranges are ignored because a ballooned guest may
//! touch the whole GGTT. The caller installs the returned PTEs in the private GTT
//! (`crate::gm::ggtt`) and the physical GGTT and invalidates the GGTT; this file touches neither.
//!
//! This file never pins or unpins: it keeps the books and tells the caller what to do, so that
//! the caller can make every `vfio_pin_pages`/`vfio_unpin_pages` call with no lock held (VFIO's
//! type1 container calls the driver's `dma_unmap` under its own locks, and pins under a lock that
//! `dma_unmap` takes close a lock cycle). A write is three steps:
//!
//! 1. [`VGgtt::plan_write`] (under the caller's lock) merges the value and either decides the
//!    entry's host PTE at once (no pin needed) or hands out a [`Ticket`]: a guest frame to pin and
//!    the epoch the plan was made in;
//! 2. [`VGgtt::issue`] registers the pin as out (an unmap of its frame waits for it, and no pin
//!    of a frame being unmapped is issued), then the caller pins the ticket's frame with its lock
//!    released;
//! 3. [`VGgtt::commit_write`] (under the lock again) installs the pin, unless the entry changed
//!    meanwhile (the pin is handed back to be dropped) or an unmap, range change or release ran
//!    since the plan (the epoch moved on: the pin is handed back and the ticket retried, at most
//!    [`MAX_PIN_TRIES`] times, then the entry falls back to scratch).
//!
//! Every pin an entry takes is handed back exactly once, to be dropped after unlocking: when the
//! entry is replaced (after the new frame is pinned), when the VMM unmaps the frame
//! ([`VGgtt::take_unmapped`]), when the entry leaves the vGPU's ranges ([`VGgtt::set_ranges`]) or on
//! [`VGgtt::take_all`]. An entry's host PTE never names a frame that is not pinned for it.

use crate::pte::GgttPte;
use crate::storage::{Alloc, AllocError, Vector};

#[cfg(test)]
pub(crate) mod tests;

/// Default bound on entries with a pending half (see [`VGgtt::plan_write`]).
///
/// A guest writes the two halves of one entry back to back, so a handful is plenty; the bound
/// keeps a guest that only ever writes first halves from growing host memory.
pub const MAX_PENDING: usize = 64;

/// How many times [`VGgtt::commit_write`] hands a ticket back for another pin before the entry
/// falls back to scratch (`pin_fallbacks`).
///
/// A retry is only needed when an unmap, a range change or a release ran between the plan and
/// the commit; a VMM that keeps unmapping while the guest writes loses the entry to scratch
/// rather than keep the writer looping.
pub const MAX_PIN_TRIES: u32 = 4;

/// Pins that may be out at once between [`VGgtt::issue`] (or [`VGgtt::reserve`]) and their
/// commit or [`VGgtt::retire`]: one per thread inside a GGTT write or a BAR2 piece. A further
/// one waits ([`Issue::Wait`]) until one is retired.
pub const MAX_PINS_OUT: usize = 32;

/// Unmaps that may run at once ([`VGgtt::begin_unmap`]); VFIO's type1 runs one at a time per
/// container.
pub const MAX_UNMAPS: usize = 4;

/// Marks an entry that holds no pin in [`Seg::pin`].
///
/// Guest frames are masked to the PTE's address field, so no pinned frame equals it.
const NO_PIN: u64 = u64::MAX;

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
    /// Pins handed back because the entry was rewritten while its frame was being pinned.
    pub stale_pins: u64,
    /// Pins handed back and taken again because an unmap, range change or release ran while
    /// the frame was being pinned.
    pub pin_retries: u64,
    /// Entries put on scratch after [`MAX_PIN_TRIES`] such races in a row.
    pub pin_fallbacks: u64,
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
        f("stale_pins", self.stale_pins);
        f("pin_retries", self.pin_retries);
        f("pin_fallbacks", self.pin_fallbacks);
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
/// `guest`, `pin`, `host` and `lone` all have the range's length. `pin[i]` is [`NO_PIN`] or a guest frame
/// the entry holds one pin of (taken by the caller for a [`Ticket`] and installed by
/// [`VGgtt::commit_write`]). `host[i]` is the host PTE last handed to the caller for the entry:
/// its frame is the host frame of `pin[i]`, or the scratch frame when `pin[i]` is [`NO_PIN`]. The
/// guest value may name another frame than `pin[i]` while a ticket for it is out.
struct Seg<A: Alloc> {
    /// The guest's value of each entry (its virtual GGTT).
    guest: A::Vec<u64>,
    /// The guest frame each entry holds a pin of, or [`NO_PIN`].
    pin: A::Vec<u64>,
    /// The host PTE of each entry, as handed to the caller to install.
    host: A::Vec<u64>,
    /// For an entry whose pending half was forgotten ([`MAX_PENDING`]): 1 + the byte offset of
    /// that half, else 0. Its other half then only ends the lost pair (the entry stays on
    /// scratch) instead of becoming a new first half that evicts another pending entry: one
    /// eviction costs one pair, never every later one.
    lone: A::Vec<u8>,
}

impl<A: Alloc> Seg<A> {
    fn new(len: usize, host: u64) -> Result<Self, AllocError> {
        let mut guest = A::Vec::new();
        guest.try_resize(len, 0)?;
        let mut pin = A::Vec::new();
        pin.try_resize(len, NO_PIN)?;
        let mut hosts = A::Vec::new();
        hosts.try_resize(len, host)?;
        let mut lone = A::Vec::new();
        lone.try_resize(len, 0)?;
        Ok(Seg {
            guest,
            pin,
            host: hosts,
            lone,
        })
    }
}

/// A guest frame to pin with no lock held, then to hand to [`VGgtt::commit_write`].
///
/// The caller must pin [`Ticket::gfn`] (or fail to) and commit the ticket exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    index: u64,
    guest: u64,
    epoch: u64,
    tries: u32,
    /// Its registration as a pin out, once issued.
    out: Option<PinOut>,
}

/// A pin a caller may hold outside the lock: registered so that an unmap of its frame waits for
/// it ([`VGgtt::pins_out_in`]) instead of returning while the page is still pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinOut {
    slot: usize,
    gfn: u64,
}

impl PinOut {
    /// The guest frame to pin.
    pub fn gfn(&self) -> u64 {
        self.gfn
    }
}

/// What [`VGgtt::issue`] and [`VGgtt::reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issue<T> {
    /// Pin now, with no lock held.
    Go(T),
    /// The frame is being unmapped, or too many pins are out: wait for [`VGgtt::end_unmap`] or a
    /// [`VGgtt::retire`] (the caller's wait queue) and ask again.
    Wait,
    /// The entry no longer wants this frame (rewritten, reset or out of range): nothing to do.
    Stale,
}

impl Ticket {
    /// The guest frame to pin.
    pub fn gfn(&self) -> u64 {
        GgttPte::from_raw(self.guest).frame()
    }

    /// The entry the ticket is for.
    pub fn index(&self) -> u64 {
        self.index
    }
}

/// What [`VGgtt::plan_write`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The write is ignored (outside the vGPU's ranges or malformed; counted).
    Ignored,
    /// No pin is needed (half written or not present): install `pte` for the entry now, and
    /// unpin `unpin` (the frame the entry held) once the lock is released.
    Done {
        /// The entry's new host PTE (on scratch).
        pte: u64,
        /// The pin the entry dropped, if it held one.
        unpin: Option<u64>,
    },
    /// Pin the ticket's frame with no lock held, then [`VGgtt::commit_write`].
    Pin(Ticket),
}

/// What [`VGgtt::commit_write`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Commit {
    /// The entry's new host PTE to install now, if it changed.
    pub pte: Option<u64>,
    /// Guest frames to unpin once the lock is released (the ticket's pin if it was not
    /// installed, the pin the entry held if it was replaced).
    pub unpin: [Option<u64>; 2],
    /// Issue this ticket again ([`VGgtt::issue`]), pin it (no lock held) and commit it.
    pub retry: Option<Ticket>,
    /// Hand this back to [`VGgtt::retire`] once `unpin` is done (the ticket's own pin was not
    /// installed and stays registered until it is dropped).
    pub retire: Option<PinOut>,
}

/// Pins an entry or a whole range change gave up, to be unpinned once the lock is released.
///
/// The entries were already repointed (the caller installed scratch first), so dropping these
/// pins cannot leave the GPU on an unpinned page. Nothing is unpinned on drop: the caller iterates
/// [`Released::pins`] and unpins each.
pub struct Released<A: Alloc> {
    segs: A::Vec<Seg<A>>,
}

impl<A: Alloc> Released<A> {
    /// The guest frames to unpin, one per pin (a frame appears once per entry that pinned it).
    pub fn pins(&self) -> impl Iterator<Item = u64> + '_ {
        self.segs
            .iter()
            .flat_map(|s| s.pin.iter().copied().filter(|&p| p != NO_PIN))
    }
}

/// The GGTT entries of one vGPU as the guest wrote them, with the pins they hold.
///
/// # Invariants
///
/// `ranges` is sorted, its ranges are non-empty and disjoint, and `segs[k]` holds the entries of
/// `ranges[k]`. Every `pending` entry lies in `ranges`, holds no pin and appears once; there are
/// at most `max_pending` of them, oldest first. `counters.pins_now` is the number of entries
/// holding a pin and `counters.pending_now` is `pending.len()`. `epoch` changes whenever pins
/// may have been taken away behind a ticket's back (unmap, range change, release).
pub struct VGgtt<A: Alloc> {
    scratch_mfn: u64,
    epoch: u64,
    ranges: A::Vec<Range>,
    /// Pins out of the lock: the frame each slot pins.
    out: [Option<u64>; MAX_PINS_OUT],
    /// Guest frames being unmapped: [start, end) per running unmap.
    unmapping: [Option<(u64, u64)>; MAX_UNMAPS],
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
            epoch: 0,
            ranges: A::Vec::new(),
            out: [None; MAX_PINS_OUT],
            unmapping: [None; MAX_UNMAPS],
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
    /// The scratch frame, with the present bit the guest set (harmless: the scratch page is
    /// always valid) and no other bit of the guest's ([`host_pte`]).
    pub fn scratch_pte(&self, guest: u64) -> u64 {
        host_pte(guest, self.scratch_mfn)
    }

    /// Sets the ranges the vGPU owns (its low-GM run and its high-GM slot runs).
    ///
    /// `ranges` may come in any order, overlap or be empty; the union is kept. Entries in both
    /// the old and the new ranges keep their guest value, pin and pending half; entries that leave
    /// give up their pins, returned to be unpinned once the lock is released; new entries start as
    /// guest 0 pointing at scratch (their host PTE is [`VGgtt::scratch_pte`]`(0)`, to be installed
    /// by the caller). On an allocation failure nothing changes. The caller must stop the GPU from
    /// using leaving entries (scrub or hand over their physical slots) before it unpins.
    pub fn set_ranges(&mut self, ranges: &[Range]) -> Result<Released<A>, AllocError> {
        let new_ranges = normalize::<A>(ranges)?;
        let mut new_segs = A::Vec::<Seg<A>>::new();
        new_segs.try_reserve(new_ranges.len())?;
        for r in new_ranges.iter() {
            let len = usize::try_from(r.len).map_err(|_| AllocError)?;
            let mut seg = Seg::<A>::new(len, self.scratch_pte(0))?;
            self.copy_overlap(r, &mut seg);
            new_segs.try_push(seg)?;
        }
        // Room for the pending bound now, so that `plan_write` never needs to allocate.
        let room = self.max_pending.saturating_sub(self.pending.len());
        self.pending.try_reserve(room)?;

        // Nothing can fail from here. Pins of entries that stay moved to the new segments: forget
        // them in the old ones, which then hold exactly the pins of the entries that leave.
        for (r, seg) in self.ranges.iter().zip(self.segs.iter_mut()) {
            for (i, pin) in seg.pin.iter_mut().enumerate() {
                if *pin == NO_PIN {
                    continue;
                }
                if find(&new_ranges, r.start + i as u64).is_some() {
                    *pin = NO_PIN;
                } else {
                    self.counters.unpins_total += 1;
                    self.counters.pins_now = self.counters.pins_now.saturating_sub(1);
                }
            }
        }
        retain_pending::<A>(&mut self.pending, |p| find(&new_ranges, p.index).is_some());
        self.counters.pending_now = self.pending.len() as u64;
        self.ranges = new_ranges;
        self.epoch = self.epoch.wrapping_add(1);
        Ok(Released {
            segs: core::mem::replace(&mut self.segs, new_segs),
        })
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
            seg.pin[dst..dst + n].copy_from_slice(&old.pin[src..src + n]);
            seg.host[dst..dst + n].copy_from_slice(&old.host[src..src + n]);
            seg.lone[dst..dst + n].copy_from_slice(&old.lone[src..src + n]);
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

    /// Emulates a guest write of `len` bytes of `value` at byte `offset` of entry `index`, up to
    /// the pin: step 1 of 3 (see the module documentation).
    ///
    /// The write is ignored ([`Plan::Ignored`]) for an index outside the vGPU's ranges or an
    /// offset/length pair that is neither the whole entry nor a 4-byte half (both counted).
    /// Otherwise the guest value changes now (reads return it). An 8-byte write replaces the
    /// entry. A 4-byte write merges into the guest value and, until the other half of the same
    /// entry arrives, the entry points at scratch (GVT-g's `partial_pte_list`; either order; a
    /// repeated first half only updates the value). At most [`MAX_PENDING`] entries wait for a
    /// half: beyond that the oldest is forgotten and stays on scratch until rewritten in full or by
    /// two new halves. The other half of a forgotten pair ends that pair (it is not a new first
    /// half, which would evict the next pending entry and so on for every later pair).
    ///
    /// A complete present entry needs its guest frame pinned: [`Plan::Pin`]; until the commit,
    /// the entry keeps its old pin and host PTE. Any other entry goes to scratch at once and gives
    /// up its pin: [`Plan::Done`].
    pub fn plan_write(&mut self, index: u64, offset: u8, len: usize, value: u64) -> Plan {
        self.counters.writes += 1;
        let (Some(access), Some((k, i))) = (Access::new(offset, len), self.locate(index)) else {
            self.counters.ignored_writes += 1;
            return Plan::Ignored;
        };
        let old = self.segs[k].guest[i];
        let (guest, complete) = match access {
            Access::Whole => {
                // A whole write supersedes a pending half (GVT-g would keep the stale half and
                // merge it into a later 4-byte write of the other offset).
                self.unpend(index);
                self.segs[k].lone[i] = 0;
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
                    // The other half of a pair whose first half was forgotten: the pair is
                    // over, lost (the entry stays on scratch).
                    None if self.segs[k].lone[i] == ((o ^ 4) | 1) => {
                        self.segs[k].lone[i] = 0;
                        false
                    }
                    // A first half (again, for a forgotten pair: it starts a new one).
                    None => {
                        self.segs[k].lone[i] = 0;
                        self.pend(index, o);
                        false
                    }
                };
                (merged, complete)
            }
        };
        self.segs[k].guest[i] = guest;
        if complete && GgttPte::from_raw(guest).present() {
            return Plan::Pin(Ticket {
                index,
                guest,
                epoch: self.epoch,
                tries: 0,
                out: None,
            });
        }
        let (pte, unpin) = self.scratch_entry(k, i);
        Plan::Done { pte, unpin }
    }

    /// Points entry `i` of segment `k` at scratch and returns its host PTE and the pin it gave up.
    fn scratch_entry(&mut self, k: usize, i: usize) -> (u64, Option<u64>) {
        let seg = &mut self.segs[k];
        let pte = host_pte(seg.guest[i], self.scratch_mfn);
        seg.host[i] = pte;
        let old = core::mem::replace(&mut seg.pin[i], NO_PIN);
        if old == NO_PIN {
            return (pte, None);
        }
        self.counters.unpins_total += 1;
        self.counters.pins_now = self.counters.pins_now.saturating_sub(1);
        (pte, Some(old))
    }

    /// Whether ticket `t` still matches its entry: owned, same guest value, not half written.
    fn wanted(&self, t: &Ticket) -> Option<(usize, usize)> {
        let (k, i) = self.locate(t.index)?;
        let pending = self.pending.iter().any(|p| p.index == t.index);
        (self.segs[k].guest[i] == t.guest && !pending).then_some((k, i))
    }

    /// Whether guest frame `gfn` lies in a range being unmapped.
    fn unmapping(&self, gfn: u64) -> bool {
        self.unmapping
            .iter()
            .flatten()
            .any(|&(start, end)| (start..end).contains(&gfn))
    }

    /// Registers a pin of `gfn` the caller is about to take with its lock released (a BAR2
    /// access's own pin, or through [`VGgtt::issue`] a write's).
    ///
    /// [`Issue::Wait`] while `gfn` is being unmapped (so an unmap never races a new pin of its
    /// own frames) or while [`MAX_PINS_OUT`] pins are out. The caller pins, unpins and hands the
    /// [`PinOut`] to [`VGgtt::retire`].
    pub fn reserve(&mut self, gfn: u64) -> Issue<PinOut> {
        if self.unmapping(gfn) {
            return Issue::Wait;
        }
        let Some(slot) = self.out.iter().position(|o| o.is_none()) else {
            return Issue::Wait;
        };
        self.out[slot] = Some(gfn);
        Issue::Go(PinOut { slot, gfn })
    }

    /// Forgets a pin registered by [`VGgtt::reserve`] or [`VGgtt::issue`], once the caller
    /// dropped it (or installed it through [`VGgtt::commit_write`], which retires by itself).
    ///
    /// The caller wakes whoever waits for pins out ([`VGgtt::pins_out_in`]) or for a free slot.
    pub fn retire(&mut self, out: PinOut) {
        if let Some(o) = self.out.get_mut(out.slot) {
            if *o == Some(out.gfn) {
                *o = None;
            }
        }
    }

    /// Step 2 of 3: registers the pin of a planned (or retried) ticket before the caller pins
    /// with its lock released.
    ///
    /// [`Issue::Stale`] if the entry no longer wants the frame (nothing to pin);
    /// [`Issue::Wait`] as [`VGgtt::reserve`]. The issued ticket carries the current epoch.
    pub fn issue(&mut self, t: Ticket) -> Issue<Ticket> {
        if self.wanted(&t).is_none() {
            self.counters.stale_pins += 1;
            return Issue::Stale;
        }
        match self.reserve(t.gfn()) {
            Issue::Go(out) => Issue::Go(Ticket {
                epoch: self.epoch,
                out: Some(out),
                ..t
            }),
            Issue::Wait => Issue::Wait,
            Issue::Stale => Issue::Stale,
        }
    }

    /// Finishes a write planned by [`VGgtt::plan_write`]: step 3 of 3, under the caller's lock.
    ///
    /// `t` was issued by [`VGgtt::issue`]; `pinned` is the host frame the caller pinned for
    /// [`Ticket::gfn`] with no lock held, or `None` if the pin failed. If the entry was
    /// rewritten or left the ranges since the plan, the ticket is stale: its pin is handed back
    /// and nothing changes (the later write decides the entry). If an unmap, range change or
    /// release ran since the issue, the frame may have been unmapped: the pin is handed back and
    /// the ticket is to be issued, pinned and committed again, at most [`MAX_PIN_TRIES`] times in
    /// all; then the entry goes to scratch. Otherwise the entry takes the pin (or goes to scratch
    /// if the pin failed: `invalid_entries`) and the pin it held before is handed back, so that
    /// rewriting the same frame never drops its last reference in between. Of two tickets for
    /// one entry and one value, the later commit wins. A ticket's own pin that is handed back
    /// stays registered until the caller dropped it and called [`VGgtt::retire`].
    pub fn commit_write(&mut self, t: Ticket, pinned: Option<u64>) -> Commit {
        let ours = pinned.map(|_| t.gfn());
        // A pin handed back is retired by the caller after the unpin; one that was not taken
        // has nothing to wait for.
        let give_back = |this: &mut Self| match ours {
            Some(_) => t.out,
            None => {
                if let Some(out) = t.out {
                    this.retire(out);
                }
                None
            }
        };
        let Some((k, i)) = self.wanted(&t).filter(|_| t.out.is_some()) else {
            self.counters.stale_pins += 1;
            return Commit {
                unpin: [ours, None],
                retire: give_back(self),
                ..Commit::default()
            };
        };
        if t.epoch != self.epoch {
            if t.tries + 1 < MAX_PIN_TRIES {
                self.counters.pin_retries += 1;
                return Commit {
                    unpin: [ours, None],
                    retry: Some(Ticket {
                        tries: t.tries + 1,
                        out: None,
                        ..t
                    }),
                    retire: give_back(self),
                    ..Commit::default()
                };
            }
            self.counters.pin_fallbacks += 1;
            let (pte, old) = self.scratch_entry(k, i);
            return Commit {
                pte: Some(pte),
                unpin: [ours, old],
                retire: give_back(self),
                retry: None,
            };
        }
        if let Some(out) = t.out {
            // Installed or failed: either way no longer out.
            self.retire(out);
        }
        let Some(mfn) = pinned else {
            self.counters.invalid_entries += 1;
            let (pte, old) = self.scratch_entry(k, i);
            return Commit {
                pte: Some(pte),
                unpin: [old, None],
                ..Commit::default()
            };
        };
        // Built from the validated fields, the frame masked to the address field.
        let pte = host_pte(t.guest, mfn);
        let seg = &mut self.segs[k];
        seg.host[i] = pte;
        let old = core::mem::replace(&mut seg.pin[i], t.gfn());
        self.counters.pins_total += 1;
        if old == NO_PIN {
            self.counters.pins_now += 1;
        } else {
            self.counters.unpins_total += 1;
        }
        Commit {
            pte: Some(pte),
            unpin: [(old != NO_PIN).then_some(old), None],
            ..Commit::default()
        }
    }

    /// Starts an unmap of guest frames [gfn, gfn + count): until [`VGgtt::end_unmap`], no pin
    /// of those frames is issued ([`Issue::Wait`]) and tickets issued before are retried.
    ///
    /// Returns `false` when [`MAX_UNMAPS`] unmaps run already: the caller waits for one to end
    /// and asks again. The caller then waits while [`VGgtt::pins_out_in`] the range, and takes
    /// the entries' pins with [`VGgtt::take_unmapped`].
    pub fn begin_unmap(&mut self, gfn: u64, count: u64) -> bool {
        let Some(slot) = self.unmapping.iter_mut().find(|u| u.is_none()) else {
            return false;
        };
        *slot = Some((gfn, gfn.saturating_add(count)));
        self.epoch = self.epoch.wrapping_add(1);
        true
    }

    /// Ends an unmap started by [`VGgtt::begin_unmap`] with the same range.
    ///
    /// The caller wakes whoever waits for it.
    pub fn end_unmap(&mut self, gfn: u64, count: u64) {
        let range = Some((gfn, gfn.saturating_add(count)));
        if let Some(slot) = self.unmapping.iter_mut().find(|u| **u == range) {
            *slot = None;
        }
    }

    /// Whether a pin of a frame in [gfn, gfn + count) is out (taken or being taken with the
    /// lock released, not yet committed or retired).
    pub fn pins_out_in(&self, gfn: u64, count: u64) -> bool {
        let end = gfn.saturating_add(count);
        self.out.iter().flatten().any(|&g| (gfn..end).contains(&g))
    }

    /// Records that the half at `offset` of entry `index` arrived, evicting the oldest if full.
    fn pend(&mut self, index: u64, offset: u8) {
        if self.pending.len() >= self.max_pending {
            // Forgetting the oldest half is safe: that entry holds no pin and stays on scratch.
            if let Some(p) = self.pending.remove(0) {
                self.forget(p);
            }
        }
        if self.pending.len() >= self.max_pending
            || self.pending.try_push(Pending { index, offset }).is_err()
        {
            // No room (a zero bound, or `set_ranges` could not reserve): forget this half.
            self.forget(Pending { index, offset });
        }
        self.counters.pending_now = self.pending.len() as u64;
    }

    /// Forgets pending half `p`, marking its entry so that its other half ends the lost pair.
    fn forget(&mut self, p: Pending) {
        self.counters.pending_evicted += 1;
        if let Some((k, i)) = self.locate(p.index) {
            // `offset` is 0 or 4: the marker is never 0.
            self.segs[k].lone[i] = p.offset | 1;
        }
    }

    /// Forgets the pending half of entry `index`, if any.
    fn unpend(&mut self, index: u64) {
        if let Some(p) = self.pending.iter().position(|p| p.index == index) {
            self.pending.remove(p);
            self.counters.pending_now = self.pending.len() as u64;
        }
    }

    /// Handles the VMM unmapping guest frames [gfn, gfn + count) (VFIO's `dma_unmap`), one batch.
    ///
    /// Up to `out.len()` entries whose pin lies there go to scratch: `sink(index, host_pte)` is
    /// called for each (the caller installs the PTE before it unpins) and the frame is stored in
    /// `out`. Returns how many were stored; the caller unpins them once the lock is released, and
    /// calls again while the batch came back full. Tickets planned before the call are retried.
    /// The guest value stays, so a later rewrite pins again.
    pub fn take_unmapped(
        &mut self,
        gfn: u64,
        count: u64,
        out: &mut [u64],
        mut sink: impl FnMut(u64, u64),
    ) -> usize {
        self.epoch = self.epoch.wrapping_add(1);
        let end = gfn.saturating_add(count);
        let scratch = self.scratch_mfn;
        let mut n = 0;
        for (r, seg) in self.ranges.iter().zip(self.segs.iter_mut()) {
            for (i, pin) in seg.pin.iter_mut().enumerate() {
                if *pin == NO_PIN || *pin < gfn || *pin >= end {
                    continue;
                }
                let Some(slot) = out.get_mut(n) else {
                    return n;
                };
                let pte = host_pte(seg.guest[i], scratch);
                sink(r.start + i as u64, pte);
                seg.host[i] = pte;
                *slot = core::mem::replace(pin, NO_PIN);
                n += 1;
                self.counters.unmapped += 1;
                self.counters.unpins_total += 1;
                self.counters.pins_now = self.counters.pins_now.saturating_sub(1);
            }
        }
        n
    }

    /// Gives up every pin and drops all ranges and pending halves (vGPU reset or destroy).
    ///
    /// Afterwards the vGPU holds no pin and owns no entry; tickets out are stale. The caller must
    /// have pointed the entries' physical GGTT slots elsewhere first, then unpins the returned
    /// frames once its lock is released.
    pub fn take_all(&mut self) -> Released<A> {
        self.epoch = self.epoch.wrapping_add(1);
        self.counters.unpins_total += self.counters.pins_now;
        self.counters.pins_now = 0;
        self.ranges.clear();
        self.pending.clear();
        self.counters.pending_now = 0;
        Released {
            segs: core::mem::replace(&mut self.segs, A::Vec::new()),
        }
    }

    /// Returns entry `index`'s guest value and the guest frame it holds a pin of; `None` outside
    /// the ranges.
    ///
    /// The pinned frame is the guest value's, except while a ticket for a new value is out.
    pub fn entry(&self, index: u64) -> Option<(u64, Option<u64>)> {
        let (k, i) = self.locate(index)?;
        let seg = &self.segs[k];
        let pin = seg.pin[i];
        Some((seg.guest[i], (pin != NO_PIN).then_some(pin)))
    }

    /// Returns the host PTE of entry `index` as the last write, unmap or range change left it.
    ///
    /// This is what the caller installed (or, for entries that just entered the ranges, what it
    /// should install); `None` outside the ranges.
    pub fn host_pte(&self, index: u64) -> Option<u64> {
        let (k, i) = self.locate(index)?;
        Some(self.segs[k].host[i])
    }
}

/// Returns the host PTE of a guest entry on host frame `frame`: the guest's present bit and the
/// frame, nothing else of the guest's value (reserved bits never reach the host).
fn host_pte(guest: u64, frame: u64) -> u64 {
    GgttPte::host(GgttPte::from_raw(guest).present(), frame).raw()
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
