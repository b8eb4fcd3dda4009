//! Private GTTs, the physical GGTT's slot owners and the context-switch copy planner (gScale).
//!
//! The physical GGTT is written by the backend; this file only decides what to write. A slot of
//! the physical GGTT holds the entries of at most one vGPU at a time (its *owner*); whenever a vGPU
//! runs, every slot it holds must be owned by it, so switching in copies its private entries into
//! the slots someone else owns. Low GM is never shared, so its entries are written through.

use super::layout::Layout;
use super::slots::{Resize, SlotSet, Slots, Vgpu, VgpuId};
use super::Error;
use crate::storage::{Alloc, Vector};

/// No vGPU's entries are in the physical slot (never written, or released).
const NO_OWNER: u8 = u8::MAX;

/// The GM ranges a vGPU's guest may use, as `vgt_if.avail_rs` publishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AvailRs {
    /// `avail_rs.mappable_gmadr.base` (PV offset 0x40): first aperture address.
    pub mappable_base: u32,
    /// `avail_rs.mappable_gmadr.size` (PV offset 0x44).
    pub mappable_size: u32,
    /// `avail_rs.nonmappable_gmadr.base` (PV offset 0x48): first high-GM address.
    pub nonmappable_base: u32,
    /// `avail_rs.nonmappable_gmadr.size` (PV offset 0x4c); with scattered slots the hull, whose
    /// holes the guest learns from the slot bitmap (`crate::balloon::protocol`).
    pub nonmappable_size: u32,
}

/// What the backend must do after a guest wrote a GGTT entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// The physical GGTT holds this vGPU's entries there: write the entry through as well.
    Through,
    /// Another vGPU's entries sit in the physical slot: the private copy is enough until the
    /// next switch-in copies it.
    Private,
}

/// Entries copied into the physical GGTT by one switch or prefetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Copied {
    /// Slots whose entries were copied.
    pub slots: u32,
    /// GGTT entries copied (slots times entries per slot).
    pub entries: u64,
}

/// What a destroyed vGPU leaves for the backend to clean up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freed {
    /// The vGPU's share of GM as it was (its low-GM range is to be scrubbed).
    pub vgpu: Vgpu,
    /// Slots whose physical entries were the vGPU's.
    pub scrub: SlotSet,
}

/// One vGPU's private GTT: its own entries for its low GM and for each slot it holds.
///
/// # Invariants
///
/// `low.len()` is the vGPU's low GM in pages; `high.len() == M` and `high[s]` has one entry per
/// page of a slot when the vGPU holds slot `s`, and is empty otherwise.
struct Private<A: Alloc> {
    low: A::Vec<u64>,
    high: A::Vec<A::Vec<u64>>,
}

/// The GM of one parent device: layout, slot map, private GTTs and physical slot owners.
///
/// # Invariants
///
/// `private[k]` is `Some` exactly when vGPU `k` exists; `owner.len() == M`, and `owner[s]` names
/// a vGPU that holds slot `s`, or is [`NO_OWNER`].
pub struct Gm<A: Alloc> {
    layout: Layout,
    slots: Slots<A>,
    private: A::Vec<Option<Private<A>>>,
    owner: A::Vec<u8>,
    running: Option<VgpuId>,
}

impl<A: Alloc> Gm<A> {
    /// Returns an empty GM for `layout`; `contiguous` chooses slot runs over scattered sets.
    pub fn new(layout: Layout, contiguous: bool) -> Result<Self, Error> {
        let slots = Slots::new(&layout, contiguous)?;
        let mut private = A::Vec::<Option<Private<A>>>::new();
        private.try_reserve(super::slots::MAX_VGPUS as usize)?;
        for _ in 0..super::slots::MAX_VGPUS {
            private.try_push(None)?;
        }
        let mut owner = A::Vec::<u8>::new();
        owner.try_resize(layout.slots() as usize, NO_OWNER)?;
        Ok(Gm {
            layout,
            slots,
            private,
            owner,
            running: None,
        })
    }

    /// Returns the layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Returns the slot map.
    pub fn slots(&self) -> &Slots<A> {
        &self.slots
    }

    /// Returns vGPU `id`'s share of GM.
    pub fn vgpu(&self, id: VgpuId) -> Result<&Vgpu, Error> {
        self.slots.get(id).ok_or(Error::NoVgpu)
    }

    /// Returns the vGPU whose entries were last switched in, if any.
    pub fn running(&self) -> Option<VgpuId> {
        self.running
    }

    /// Returns the vGPU whose entries the physical GGTT holds in `slot`.
    pub fn owner(&self, slot: u32) -> Option<VgpuId> {
        self.owner
            .get(slot as usize)
            .and_then(|&o| VgpuId::new(u32::from(o)))
    }

    /// Creates a vGPU (see [`Slots::create`]) with a zeroed private GTT.
    pub fn create(&mut self, low_size: u64, slots: u32, min: u32) -> Result<VgpuId, Error> {
        self.create_with(low_size, slots, min, false)
    }

    /// Creates a vGPU (see [`Slots::create_with`]) with a zeroed private GTT.
    pub fn create_with(
        &mut self,
        low_size: u64,
        slots: u32,
        min: u32,
        exclusive: bool,
    ) -> Result<VgpuId, Error> {
        let id = self.slots.create_with(low_size, slots, min, exclusive)?;
        match self.new_private(id) {
            Ok(p) => {
                self.private[id.index()] = Some(p);
                Ok(id)
            }
            Err(e) => {
                // Keep the map as it was: the vGPU never existed.
                let _ = self.slots.destroy(id);
                Err(e)
            }
        }
    }

    fn new_private(&self, id: VgpuId) -> Result<Private<A>, Error> {
        let v = self.vgpu(id)?;
        let mut low = A::Vec::<u64>::new();
        low.try_resize((v.low_size / super::layout::PAGE_SIZE) as usize, 0)?;
        let mut high = A::Vec::<A::Vec<u64>>::new();
        high.try_reserve(self.layout.slots() as usize)?;
        for s in 0..self.layout.slots() {
            let mut chunk = A::Vec::<u64>::new();
            if v.slots.contains(s) {
                chunk.try_resize(self.layout.entries_per_slot() as usize, 0)?;
            }
            high.try_push(chunk)?;
        }
        Ok(Private { low, high })
    }

    /// Destroys vGPU `id`; the physical slots it owned become ownerless.
    ///
    /// Returns what the backend must point at the scratch page before the guest's pages are
    /// unpinned: the vGPU's low GM and the slots whose physical entries were its own.
    pub fn destroy(&mut self, id: VgpuId) -> Result<Freed, Error> {
        let vgpu = self.slots.destroy(id)?;
        self.private[id.index()] = None;
        let mut scrub = SlotSet::new();
        for (s, o) in self.owner.iter_mut().enumerate() {
            if *o as usize == id.index() {
                *o = NO_OWNER;
                scrub.insert(s as u32);
            }
        }
        if self.running == Some(id) {
            self.running = None;
        }
        Ok(Freed { vgpu, scrub })
    }

    /// Applies a planned resize, growing or shrinking the private GTT with it.
    ///
    /// Growing allocates the new slots' entries first so a failed allocation changes nothing;
    /// if the vGPU is running, the new slots are not yet its own in the physical GGTT, so call
    /// [`Gm::sync_running`] before the guest learns of them. A shrink must only be applied once
    /// the guest has released the memory (`crate::balloon::protocol`); it returns the released
    /// slots whose physical entries were the vGPU's, to point at the scratch page.
    pub fn resize(&mut self, plan: &Resize) -> Result<SlotSet, Error> {
        let per_slot = self.layout.entries_per_slot() as usize;
        let p = self
            .private
            .get_mut(plan.vgpu.index())
            .and_then(|p| p.as_mut())
            .ok_or(Error::NoVgpu)?;
        if plan.grow {
            for s in plan.delta.iter() {
                let chunk = p.high.get_mut(s as usize).ok_or(Error::Invalid)?;
                if chunk.is_empty() {
                    if let Err(e) = chunk.try_resize(per_slot, 0) {
                        for s in plan.delta.iter() {
                            if !plan.before.contains(s) {
                                if let Some(c) = p.high.get_mut(s as usize) {
                                    c.clear();
                                }
                            }
                        }
                        return Err(e.into());
                    }
                }
            }
        }
        if let Err(e) = self.slots.apply(plan) {
            if plan.grow {
                for s in plan.delta.iter() {
                    if !plan.before.contains(s) {
                        if let Some(c) = p.high.get_mut(s as usize) {
                            c.clear();
                        }
                    }
                }
            }
            return Err(e);
        }
        let mut scrub = SlotSet::new();
        if !plan.grow {
            for s in plan.delta.iter() {
                if let Some(c) = p.high.get_mut(s as usize) {
                    c.clear();
                }
                // The physical slot still maps the vGPU's pages until the backend scrubs it;
                // whoever runs there next copies its own entries over them anyway.
                if self.owner[s as usize] as usize == plan.vgpu.index() {
                    self.owner[s as usize] = NO_OWNER;
                    scrub.insert(s);
                }
            }
        }
        Ok(scrub)
    }

    /// Returns the ranges vGPU `id`'s guest may use, for `vgt_if.avail_rs`.
    pub fn avail_rs(&self, id: VgpuId) -> Result<AvailRs, Error> {
        let v = self.vgpu(id)?;
        let base = self.layout.slot_addr(v.start());
        let end = self.layout.slot_addr(v.end());
        // The layout keeps every GM address below 4 GB.
        Ok(AvailRs {
            mappable_base: v.low_base as u32,
            mappable_size: v.low_size as u32,
            nonmappable_base: base as u32,
            nonmappable_size: (end - base) as u32,
        })
    }

    /// Finds the private entry of vGPU `id` for GGTT index `index`, and the slot if high GM.
    fn locate(&self, id: VgpuId, index: u64) -> Result<(Option<u32>, usize), Error> {
        let v = self.vgpu(id)?;
        let addr = index
            .checked_mul(super::layout::PAGE_SIZE)
            .ok_or(Error::OutOfRange)?;
        if addr >= v.low_base && addr < v.low_base + v.low_size {
            return Ok((
                None,
                ((addr - v.low_base) / super::layout::PAGE_SIZE) as usize,
            ));
        }
        match self.layout.slot_of_addr(addr) {
            Some(s) if v.slots.contains(s) => {
                Ok((Some(s), (index - self.layout.slot_index(s)) as usize))
            }
            _ => Err(Error::OutOfRange),
        }
    }

    /// Returns vGPU `id`'s entry at GGTT index `index`.
    pub fn read(&self, id: VgpuId, index: u64) -> Result<u64, Error> {
        let (slot, i) = self.locate(id, index)?;
        let p = self.private[id.index()].as_ref().ok_or(Error::NoVgpu)?;
        let chunk = match slot {
            None => &p.low,
            Some(s) => &p.high[s as usize],
        };
        chunk.get(i).copied().ok_or(Error::OutOfRange)
    }

    /// Stores vGPU `id`'s entry at GGTT index `index` and says whether the physical GGTT needs it.
    pub fn write(&mut self, id: VgpuId, index: u64, value: u64) -> Result<Write, Error> {
        let (slot, i) = self.locate(id, index)?;
        let through = match slot {
            None => true,
            Some(s) => self.owner[s as usize] as usize == id.index(),
        };
        let p = self.private[id.index()].as_mut().ok_or(Error::NoVgpu)?;
        let chunk = match slot {
            None => &mut p.low,
            Some(s) => &mut p.high[s as usize],
        };
        *chunk.get_mut(i).ok_or(Error::OutOfRange)? = value;
        Ok(if through {
            Write::Through
        } else {
            Write::Private
        })
    }

    /// Returns the slots vGPU `id` needs copied before it runs: those it holds whose physical
    /// entries belong to another vGPU (or to nobody).
    pub fn copy_set(&self, id: VgpuId) -> Result<SlotSet, Error> {
        let v = self.vgpu(id)?;
        let mut set = SlotSet::new();
        for s in v.slots.iter() {
            if self.owner[s as usize] as usize != id.index() {
                set.insert(s);
            }
        }
        Ok(set)
    }

    /// Copies `slots` of vGPU `id`'s private GTT out through `sink(first_index, entries)`.
    fn copy<F: FnMut(u64, &[u64])>(
        &mut self,
        id: VgpuId,
        slots: &SlotSet,
        sink: &mut F,
    ) -> Result<Copied, Error> {
        let p = self.private[id.index()].as_ref().ok_or(Error::NoVgpu)?;
        let mut c = Copied::default();
        for s in slots.iter() {
            let entries = &p.high[s as usize];
            sink(self.layout.slot_index(s), entries);
            self.owner[s as usize] = id.index() as u8;
            c.slots += 1;
            c.entries += entries.len() as u64;
        }
        Ok(c)
    }

    /// Switches the GPU to vGPU `id`: copies its entries into every slot whose physical entries
    /// are not its own, through `sink(first_ggtt_index, entries)`.
    pub fn switch_to<F: FnMut(u64, &[u64])>(
        &mut self,
        id: VgpuId,
        mut sink: F,
    ) -> Result<Copied, Error> {
        let set = self.copy_set(id)?;
        let c = self.copy(id, &set, &mut sink)?;
        self.running = Some(id);
        Ok(c)
    }

    /// Copies the running vGPU's entries into any slot it holds but does not own (after it grew),
    /// through `sink(first_ggtt_index, entries)`.
    pub fn sync_running<F: FnMut(u64, &[u64])>(&mut self, sink: F) -> Result<Copied, Error> {
        match self.running {
            Some(r) => self.switch_to(r, sink),
            None => Ok(Copied::default()),
        }
    }

    /// Prepares vGPU `next` ahead of its switch-in (gScale's predictive copy): copies its entries
    /// into the slots it needs that the running vGPU does not hold, so the switch itself only
    /// copies the slots both hold.
    pub fn prefetch<F: FnMut(u64, &[u64])>(
        &mut self,
        next: VgpuId,
        mut sink: F,
    ) -> Result<Copied, Error> {
        let mut set = self.copy_set(next)?;
        if let Some(r) = self.running {
            if r != next {
                set = set.difference(&self.vgpu(r)?.slots);
            } else {
                set = SlotSet::new();
            }
        }
        self.copy(next, &set, &mut sink)
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::{Config, MB};
    use super::*;
    use crate::storage::Std;

    fn small() -> Layout {
        // 8 slots of 64 KB (16 entries each) so tests stay cheap.
        Layout::new(Config {
            gm_size: 1024 * 1024,
            low_size: 512 * 1024,
            low_reserved: 64 * 1024,
            high_reserved: 0,
            slot_size: 64 * 1024,
        })
        .unwrap()
    }

    #[test]
    fn writes_reads_and_switches() {
        let l = small();
        let mut gm = Gm::<Std>::new(l, true).unwrap();
        let a = gm.create(64 * 1024, 4, 1).unwrap();
        let b = gm.create(64 * 1024, 6, 1).unwrap();
        // 8 slots: a holds [0,4), b the window sharing least, [2,8).
        assert_eq!(gm.vgpu(b).unwrap().slots, SlotSet::range(2, 8));
        let rs = gm.avail_rs(a).unwrap();
        assert_eq!(rs.mappable_base, 64 * 1024);
        assert_eq!(rs.nonmappable_base, 512 * 1024);
        assert_eq!(rs.nonmappable_size, 4 * 64 * 1024);
        let low_idx = u64::from(rs.mappable_base) / 4096;
        assert_eq!(gm.write(a, low_idx, 7), Ok(Write::Through));
        assert_eq!(gm.read(a, low_idx), Ok(7));
        assert_eq!(gm.write(b, low_idx, 7), Err(Error::OutOfRange));
        let s2 = l.slot_index(2);
        assert_eq!(gm.write(a, s2 + 1, 0xa), Ok(Write::Private));
        assert_eq!(gm.write(b, s2 + 1, 0xb), Ok(Write::Private));
        assert_eq!(gm.read(a, s2 + 1), Ok(0xa));
        assert_eq!(gm.read(b, s2 + 1), Ok(0xb));
        assert_eq!(gm.read(a, l.slot_index(5)), Err(Error::OutOfRange));

        let mut phys = std::vec![0u64; l.entries() as usize];
        fn put(phys: &mut [u64], first: u64, e: &[u64]) {
            phys[first as usize..first as usize + e.len()].copy_from_slice(e)
        }
        assert_eq!(
            gm.switch_to(a, |f, e| put(&mut phys, f, e)).unwrap().slots,
            4
        );
        assert_eq!(phys[s2 as usize + 1], 0xa);
        assert_eq!(gm.write(a, s2, 1), Ok(Write::Through));
        // Predictive copy of b fills [4,8) now; the switch copies only [2,4).
        assert_eq!(
            gm.prefetch(b, |f, e| put(&mut phys, f, e)).unwrap().slots,
            4
        );
        let c = gm.switch_to(b, |f, e| put(&mut phys, f, e)).unwrap();
        assert_eq!(
            c,
            Copied {
                slots: 2,
                entries: 32
            }
        );
        assert_eq!(phys[s2 as usize + 1], 0xb);
        assert_eq!(
            gm.switch_to(b, |f, e| put(&mut phys, f, e)).unwrap().slots,
            0
        );
        assert_eq!(gm.copy_set(a).unwrap(), SlotSet::range(2, 4));
        assert_eq!(gm.destroy(b).unwrap().scrub, SlotSet::range(2, 8));
        assert_eq!(gm.owner(5), None);
        assert_eq!(gm.running(), None);
        let _ = MB;
    }
}
