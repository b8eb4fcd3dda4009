//! The books of guest pages pinned and DMA-mapped for a real GPU: GVT-g's
//! gfn -> DMA cache (`kvmgt.c`'s `gvt_cache_*`), with reference counts, the
//! pins in progress and the VMM's unmaps.
//!
//! A shadow PPGTT on a real GPU holds, in each leaf entry, the DMA address
//! of a guest page that stays pinned (`vfio_pin_pages`) and mapped
//! (`dma_map_page`) for as long as an entry names it. Many entries may name
//! one page, so each mapping counts its holders; the last release hands the
//! mapping back to be unmapped and unpinned.
//!
//! Nothing here pins or maps: the caller does, with no lock held, and this
//! structure (under the caller's lock) only keeps the books, so the kernel
//! side can keep VFIO's rule (pins and unpins under no lock that
//! `dma_unmap` takes) and its lock order:
//!
//! - [`DmaCache::acquire`] finds a mapping (one more holder) or registers a
//!   pin *out* for the caller to make with the lock dropped, then
//!   [`DmaCache::finish_pin`] records it, or tells the caller to undo it
//!   and then [`DmaCache::cancel_pin`] (the pin stays registered until it
//!   is undone, so an unmap waiting for it sees it).
//! - The VMM's unmap ([`DmaCache::begin_unmap`]) marks the cache *stale*:
//!   from then on no new page is pinned (a miss is refused) until the
//!   holders of the unmapped pages are gone ([`DmaCache::clear_stale`]);
//!   it waits until no pin of its range is out
//!   ([`DmaCache::pins_out_in`]), takes the range's mappings out in
//!   batches ([`DmaCache::take_range`]) to unmap and unpin, whatever their
//!   holders, and ends ([`DmaCache::end_unmap`]). The shadow entries still
//!   naming those pages are the holders' business: the kernel drops every
//!   shadow tree before the next workload once it sees the cache stale, so
//!   no release of an unmapped page can reach a later mapping of the same
//!   frame (a holder's release of a page that is gone is counted and
//!   ignored).
//! - [`DmaCache::take_all`] empties the cache (the device closes).
//!
//! Frames are 4 KB frame numbers: the guest's (`gfn`) and the DMA
//! address's (`dma`, the address shifted right by 12).

use crate::storage::{Alloc, AllocError, Vector};

/// One guest page, pinned and mapped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// The guest frame.
    pub gfn: u64,
    /// The DMA frame the GPU reaches it by.
    pub dma: u64,
    /// Holders (shadow entries naming it).
    refs: u32,
}

impl Mapping {
    /// Its holders.
    pub fn refs(&self) -> u32 {
        self.refs
    }
}

/// What [`DmaCache::acquire`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquire {
    /// Mapped already: the DMA frame, with one more holder.
    Hit(u64),
    /// Not mapped: the caller pins and maps the page with the lock
    /// dropped, then calls [`DmaCache::finish_pin`]. The pin is registered
    /// as out until then.
    Pin,
    /// Not mapped and an unmap made the cache stale: no page is pinned
    /// until [`DmaCache::clear_stale`].
    Refused,
}

/// What [`DmaCache::finish_pin`] decided about a page the caller pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Recorded, with the caller as its one holder.
    Inserted,
    /// Another pinner recorded the page first: the caller holds that
    /// mapping (this DMA frame) and undoes its own, then calls
    /// [`DmaCache::cancel_pin`].
    Duplicate(u64),
    /// An unmap ran meanwhile: the caller undoes its pin and mapping, then
    /// calls [`DmaCache::cancel_pin`]; it holds nothing.
    Undo,
}

/// Counters, for debugfs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Acquires answered from the cache.
    pub hits: u64,
    /// Pages pinned and mapped (each later unmapped exactly once).
    pub inserted: u64,
    /// Pins refused while stale.
    pub refused: u64,
    /// Pins undone (an unmap overtook them, or another pinner won).
    pub undone: u64,
    /// Mappings whose last holder released them.
    pub released: u64,
    /// Releases of a page the cache does not hold (it was unmapped).
    pub stale_releases: u64,
    /// Mappings taken out by the VMM's unmaps.
    pub invalidated: u64,
    /// Mappings taken out by [`DmaCache::take_all`].
    pub dropped: u64,
    /// Unmaps begun.
    pub unmaps: u64,
}

/// The pinned, mapped guest pages of one vGPU.
///
/// # Invariants
///
/// `by_gfn` is sorted by `gfn` with no duplicate; `by_dma` holds exactly
/// one `(dma, gfn)` per mapping, sorted; every mapping has at
/// least one holder; `stale` is set whenever `unmapping > 0`.
pub struct DmaCache<A: Alloc> {
    by_gfn: A::Vec<Mapping>,
    by_dma: A::Vec<(u64, u64)>,
    /// Guest frames being pinned with the lock dropped (one per pin).
    pins_out: A::Vec<u64>,
    unmapping: u32,
    stale: bool,
    generation: u64,
    counters: Counters,
}

impl<A: Alloc> Default for DmaCache<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Alloc> DmaCache<A> {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            by_gfn: A::Vec::new(),
            by_dma: A::Vec::new(),
            pins_out: A::Vec::new(),
            unmapping: 0,
            stale: false,
            generation: 0,
            counters: Counters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Mappings held now.
    pub fn len(&self) -> usize {
        self.by_gfn.len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.by_gfn.is_empty()
    }

    /// Pins out now.
    pub fn pins_out(&self) -> usize {
        self.pins_out.len()
    }

    /// Whether an unmap took pages out since the last
    /// [`DmaCache::clear_stale`]: shadow entries may name them.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Moves at every unmap.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn find(&self, gfn: u64) -> Result<usize, usize> {
        self.by_gfn.binary_search_by_key(&gfn, |m| m.gfn)
    }

    /// The mapping of `gfn`, if any.
    pub fn get(&self, gfn: u64) -> Option<&Mapping> {
        self.find(gfn).ok().and_then(|i| self.by_gfn.get(i))
    }

    /// A guest frame mapped at DMA frame `dma`, if any (the lowest, when
    /// several guest frames share the host page behind it: each reaches
    /// the same memory).
    pub fn gfn_of(&self, dma: u64) -> Option<u64> {
        let i = self.by_dma.partition_point(|p| p.0 < dma);
        self.by_dma.get(i).filter(|p| p.0 == dma).map(|p| p.1)
    }

    /// Removes `(dma, gfn)` from the reverse index.
    fn unindex(&mut self, dma: u64, gfn: u64) {
        if let Ok(j) = self.by_dma.binary_search(&(dma, gfn)) {
            self.by_dma.remove(j);
        }
    }

    /// One more holder of `gfn`'s mapping, or a pin for the caller to make
    /// (see [`Acquire`]). Fails only to allocate the pin's registration.
    pub fn acquire(&mut self, gfn: u64) -> Result<Acquire, AllocError> {
        if let Ok(i) = self.find(gfn) {
            if let Some(m) = self.by_gfn.get_mut(i) {
                m.refs = m.refs.saturating_add(1);
                self.counters.hits += 1;
                return Ok(Acquire::Hit(m.dma));
            }
        }
        if self.stale {
            self.counters.refused += 1;
            return Ok(Acquire::Refused);
        }
        self.pins_out.try_push(gfn)?;
        Ok(Acquire::Pin)
    }

    fn drop_pin_out(&mut self, gfn: u64) -> bool {
        match self.pins_out.iter().position(|&g| g == gfn) {
            Some(i) => {
                self.pins_out.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Records the page the caller pinned and mapped at DMA frame `dma`
    /// after [`Acquire::Pin`] (see [`Finish`]). An allocation failure is
    /// [`Finish::Undo`] too.
    pub fn finish_pin(&mut self, gfn: u64, dma: u64) -> Finish {
        if !self.pins_out.contains(&gfn) {
            // Not a pin of ours: refuse it rather than record it.
            self.counters.undone += 1;
            return Finish::Undo;
        }
        match self.find(gfn) {
            Ok(i) => {
                if let Some(m) = self.by_gfn.get_mut(i) {
                    m.refs = m.refs.saturating_add(1);
                    self.counters.undone += 1;
                    return Finish::Duplicate(m.dma);
                }
                Finish::Undo
            }
            Err(_) if self.stale => {
                self.counters.undone += 1;
                Finish::Undo
            }
            Err(i) => {
                // Two guest frames may share a DMA frame (one host page
                // at two guest addresses, with no IOMMU): both are kept.
                let j = match self.by_dma.binary_search(&(dma, gfn)) {
                    Ok(j) | Err(j) => j,
                };
                if self.by_gfn.try_reserve(1).is_err() || self.by_dma.try_reserve(1).is_err() {
                    self.counters.undone += 1;
                    return Finish::Undo;
                }
                // Room was reserved: neither insert fails.
                let a = self.by_gfn.try_insert(i, Mapping { gfn, dma, refs: 1 });
                let b = self.by_dma.try_insert(j, (dma, gfn));
                if a.is_err() || b.is_err() {
                    self.counters.undone += 1;
                    return Finish::Undo;
                }
                self.drop_pin_out(gfn);
                self.counters.inserted += 1;
                Finish::Inserted
            }
        }
    }

    /// The caller undid the pin it registered for `gfn` ([`Finish::Undo`]
    /// or [`Finish::Duplicate`], or its own failure to pin or map).
    pub fn cancel_pin(&mut self, gfn: u64) {
        self.drop_pin_out(gfn);
    }

    fn remove_at(&mut self, i: usize) -> Option<Mapping> {
        let m = self.by_gfn.remove(i)?;
        self.unindex(m.dma, m.gfn);
        Some(m)
    }

    /// Drops one holder of `gfn`'s mapping; returns the mapping when that
    /// was the last, for the caller to unmap and unpin. A page the cache
    /// does not hold (an unmap took it out) is counted and ignored.
    pub fn release(&mut self, gfn: u64) -> Option<Mapping> {
        let Ok(i) = self.find(gfn) else {
            self.counters.stale_releases += 1;
            return None;
        };
        let m = self.by_gfn.get_mut(i)?;
        m.refs = m.refs.saturating_sub(1);
        if m.refs > 0 {
            return None;
        }
        self.counters.released += 1;
        self.remove_at(i)
    }

    /// The VMM unmaps guest frames [first, first + count): the cache goes
    /// stale (no new page is pinned until [`DmaCache::clear_stale`]).
    pub fn begin_unmap(&mut self, _first: u64, _count: u64) {
        self.unmapping = self.unmapping.saturating_add(1);
        // INVARIANT: stale while an unmap runs.
        self.stale = true;
        self.generation = self.generation.wrapping_add(1);
        self.counters.unmaps += 1;
    }

    /// Whether a pin of a frame in [first, first + count) is out.
    pub fn pins_out_in(&self, first: u64, count: u64) -> bool {
        self.pins_out
            .iter()
            .any(|&g| g >= first && g - first < count)
    }

    /// Takes up to `out.len()` mappings of frames in [first, first + count)
    /// out, whatever their holders, into `out`; returns how many. The
    /// caller unmaps and unpins them; call again while it fills `out`.
    pub fn take_range(&mut self, first: u64, count: u64, out: &mut [Mapping]) -> usize {
        let start = match self.find(first) {
            Ok(i) | Err(i) => i,
        };
        let mut n = 0;
        while n < out.len() {
            let Some(m) = self.by_gfn.get(start).copied() else {
                break;
            };
            if m.gfn - first >= count {
                break;
            }
            self.remove_at(start);
            out[n] = m;
            n += 1;
            self.counters.invalidated += 1;
        }
        n
    }

    /// The unmap begun by [`DmaCache::begin_unmap`] ended.
    pub fn end_unmap(&mut self) {
        self.unmapping = self.unmapping.saturating_sub(1);
    }

    /// Takes up to `out.len()` of every mapping out (the device closes);
    /// returns how many. Call again while it fills `out`.
    pub fn take_all(&mut self, out: &mut [Mapping]) -> usize {
        let mut n = 0;
        while n < out.len() {
            let Some(m) = self.by_gfn.pop() else {
                break;
            };
            self.unindex(m.dma, m.gfn);
            out[n] = m;
            n += 1;
            self.counters.dropped += 1;
        }
        n
    }

    /// Every holder that could name an unmapped page is gone (the caller
    /// dropped every shadow tree): pins are made again. Refused, and the
    /// cache stays stale, while an unmap runs.
    pub fn clear_stale(&mut self) -> bool {
        if self.unmapping > 0 {
            return false;
        }
        self.stale = false;
        true
    }
}

#[cfg(test)]
mod tests;
