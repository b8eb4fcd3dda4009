//! Which vGPU holds which low-GM range and which high-GM slots.
//!
//! Low GM is partitioned (first fit, as GVT-g's `drm_mm` allocation does). High GM slots may be
//! shared: the occupancy map keeps, per slot, a bitmask of the vGPUs holding it, so "who is in
//! slot i" is one load.

use super::layout::{Layout, MAX_SLOTS, PAGE_SIZE};
use super::Error;
use crate::storage::{Alloc, Vector};

/// The most vGPUs one parent device may hold (one bit each in a slot's occupancy mask).
pub const MAX_VGPUS: u32 = 64;

const WORDS: usize = (MAX_SLOTS / 64) as usize;

/// A vGPU's index in the slot map, `0..MAX_VGPUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VgpuId(u8);

impl VgpuId {
    /// Returns the id `n`, if `n < MAX_VGPUS`.
    pub fn new(n: u32) -> Option<Self> {
        if n < MAX_VGPUS {
            // `n < 64` fits in u8.
            Some(VgpuId(n as u8))
        } else {
            None
        }
    }

    /// Returns the id as an index.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Returns the id's bit in an occupancy mask.
    pub fn bit(self) -> u64 {
        1 << self.0
    }
}

/// A set of slot numbers below [`MAX_SLOTS`], as a fixed bitmap (32 bytes, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotSet([u64; WORDS]);

impl SlotSet {
    /// Returns the empty set.
    pub const fn new() -> Self {
        SlotSet([0; WORDS])
    }

    /// Returns the set `[start, end)`, clipped to [`MAX_SLOTS`].
    pub fn range(start: u32, end: u32) -> Self {
        let mut s = Self::new();
        for i in start..end.min(MAX_SLOTS) {
            s.insert(i);
        }
        s
    }

    /// Adds `slot`; slots at or past [`MAX_SLOTS`] are ignored.
    pub fn insert(&mut self, slot: u32) {
        if let Some(w) = self.0.get_mut((slot / 64) as usize) {
            *w |= 1 << (slot % 64);
        }
    }

    /// Removes `slot`.
    pub fn remove(&mut self, slot: u32) {
        if let Some(w) = self.0.get_mut((slot / 64) as usize) {
            *w &= !(1 << (slot % 64));
        }
    }

    /// Returns whether `slot` is in the set.
    pub fn contains(&self, slot: u32) -> bool {
        self.0
            .get((slot / 64) as usize)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    /// Returns the number of slots in the set.
    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Returns whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// Returns the slots in either set.
    pub fn union(&self, other: &Self) -> Self {
        let mut r = *self;
        for (a, b) in r.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
        r
    }

    /// Returns the slots of `self` not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        let mut r = *self;
        for (a, b) in r.0.iter_mut().zip(other.0.iter()) {
            *a &= !b;
        }
        r
    }

    /// Returns whether every slot of `self` is in `other`.
    pub fn is_subset(&self, other: &Self) -> bool {
        self.difference(other).is_empty()
    }

    /// Returns the lowest slot, if any.
    pub fn first(&self) -> Option<u32> {
        self.iter().next()
    }

    /// Returns the highest slot, if any.
    pub fn last(&self) -> Option<u32> {
        (0..WORDS as u32)
            .rev()
            .find(|&w| self.0[w as usize] != 0)
            .map(|w| w * 64 + 63 - self.0[w as usize].leading_zeros())
    }

    /// Returns whether the set is one run `[first, last]` (the empty set counts as one).
    pub fn is_run(&self) -> bool {
        match (self.first(), self.last()) {
            (Some(a), Some(b)) => b - a + 1 == self.len(),
            _ => true,
        }
    }

    /// Returns the set as eight 32-bit words, slot `s` at bit `s % 32` of word `s / 32`.
    pub fn words32(&self) -> [u32; WORDS * 2] {
        let mut w = [0; WORDS * 2];
        for (i, &x) in self.0.iter().enumerate() {
            w[2 * i] = x as u32;
            w[2 * i + 1] = (x >> 32) as u32;
        }
        w
    }

    /// Returns the slots in increasing order.
    pub fn iter(&self) -> Iter {
        Iter {
            set: *self,
            word: 0,
        }
    }
}

impl core::fmt::Display for SlotSet {
    /// Prints the set as runs, `0-3,7,9-10`, or `-` when empty (for sysfs and debugfs).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut run: Option<(u32, u32)> = None;
        let mut first = true;
        let mut put = |f: &mut core::fmt::Formatter<'_>, (a, b): (u32, u32)| {
            let sep = if first { "" } else { "," };
            first = false;
            if a == b {
                write!(f, "{sep}{a}")
            } else {
                write!(f, "{sep}{a}-{b}")
            }
        };
        for s in self.iter() {
            run = match run {
                Some((a, b)) if b + 1 == s => Some((a, s)),
                Some(r) => {
                    put(f, r)?;
                    Some((s, s))
                }
                None => Some((s, s)),
            };
        }
        match run {
            Some(r) => put(f, r),
            None => f.write_str("-"),
        }
    }
}

/// The slots of a [`SlotSet`] in increasing order.
#[derive(Debug, Clone)]
pub struct Iter {
    set: SlotSet,
    word: usize,
}

impl Iterator for Iter {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while let Some(w) = self.set.0.get_mut(self.word) {
            if *w != 0 {
                let bit = w.trailing_zeros();
                *w &= *w - 1;
                return Some(self.word as u32 * 64 + bit);
            }
            self.word += 1;
        }
        None
    }
}

/// One vGPU's share of GM.
///
/// # Invariants
///
/// `min <= slots.len()`; with contiguous allocation `slots` is one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vgpu {
    /// First low-GM (aperture) address the vGPU owns.
    pub low_base: u64,
    /// Bytes of low GM the vGPU owns; nobody else uses them.
    pub low_size: u64,
    /// High-GM slots the vGPU holds, possibly shared.
    pub slots: SlotSet,
    /// The fewest slots ballooning may leave the vGPU (its type's size).
    pub min: u32,
}

impl Vgpu {
    /// Returns `P`, the first slot (0 when the vGPU holds none).
    pub fn start(&self) -> u32 {
        self.slots.first().unwrap_or(0)
    }

    /// Returns `S`, the number of slots held.
    pub fn count(&self) -> u32 {
        self.slots.len()
    }

    /// Returns one past the last slot held: the end of the run, or of the hull of a scattered set.
    pub fn end(&self) -> u32 {
        self.slots.last().map_or(0, |l| l + 1)
    }
}

/// A planned change of one vGPU's slots, made by `crate::balloon::adjust` and applied by
/// [`Slots::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resize {
    /// The vGPU to grow or shrink.
    pub vgpu: VgpuId,
    /// Whether slots are added (expansion) or released (reduction).
    pub grow: bool,
    /// `L`: slots added or released at the left end of the run (0 for scattered sets).
    pub left: u32,
    /// `R`: slots added or released at the right end of the run (0 for scattered sets).
    pub right: u32,
    /// The slots added or released.
    pub delta: SlotSet,
    /// The vGPU's slots when the plan was made; applying checks they did not change.
    pub before: SlotSet,
}

impl Resize {
    /// Returns the vGPU's slots after the change.
    pub fn after(&self) -> SlotSet {
        if self.grow {
            self.before.union(&self.delta)
        } else {
            self.before.difference(&self.delta)
        }
    }
}

/// The slot and low-GM map of one parent device.
///
/// # Invariants
///
/// `occ[i]` has bit `k` set exactly when vGPU `k` exists and holds slot `i`; `occ.len() == M`;
/// `vgpus.len() == MAX_VGPUS`; low-GM ranges of vGPUs do not overlap and lie in
/// `[low_base, low_end)`. `exclusive` has bit `k` set only when vGPU `k` exists, and then no
/// other vGPU holds any of its slots.
pub struct Slots<A: Alloc> {
    m: u32,
    contiguous: bool,
    low_base: u64,
    low_end: u64,
    occ: A::Vec<u64>,
    vgpus: A::Vec<Option<Vgpu>>,
    /// vGPUs that never share their slots (GVT-g's partitioned types).
    exclusive: u64,
}

impl<A: Alloc> Slots<A> {
    /// Returns an empty map for `layout`; `contiguous` selects runs (gScale, gBalloon) over
    /// scattered slot sets.
    pub fn new(layout: &Layout, contiguous: bool) -> Result<Self, Error> {
        let mut occ = A::Vec::<u64>::new();
        occ.try_resize(layout.slots() as usize, 0)?;
        let mut vgpus = A::Vec::<Option<Vgpu>>::new();
        vgpus.try_resize(MAX_VGPUS as usize, None)?;
        // INVARIANT: empty map, sizes as stated.
        Ok(Slots {
            m: layout.slots(),
            contiguous,
            low_base: layout.low_base(),
            low_end: layout.low_end(),
            occ,
            vgpus,
            exclusive: 0,
        })
    }

    /// Returns `M`, the number of slots.
    pub fn m(&self) -> u32 {
        self.m
    }

    /// Returns whether each vGPU's slots form one run.
    pub fn contiguous(&self) -> bool {
        self.contiguous
    }

    /// Returns the mask of vGPUs holding `slot` (0 past `M`).
    pub fn occupants(&self, slot: u32) -> u64 {
        self.occ.get(slot as usize).copied().unwrap_or(0)
    }

    /// Returns how many vGPUs hold `slot`.
    pub fn sharers(&self, slot: u32) -> u32 {
        self.occupants(slot).count_ones()
    }

    /// Returns vGPU `id`'s share of GM.
    pub fn get(&self, id: VgpuId) -> Option<&Vgpu> {
        self.vgpus.get(id.index()).and_then(|v| v.as_ref())
    }

    /// Returns the existing vGPUs in id order.
    pub fn iter(&self) -> impl Iterator<Item = (VgpuId, &Vgpu)> + Clone + '_ {
        self.vgpus
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((VgpuId(i as u8), v.as_ref()?)))
    }

    /// Returns the number of slots held by two vGPUs or more.
    pub fn shared_slots(&self) -> u32 {
        self.occ.iter().filter(|m| m.count_ones() > 1).count() as u32
    }

    /// Adds a vGPU with `low_size` bytes of low GM and `slots` slots of which `min` are kept.
    ///
    /// The slots go where they share the fewest existing slots (lowest start on ties), never
    /// on a slot of an exclusive vGPU.
    pub fn create(&mut self, low_size: u64, slots: u32, min: u32) -> Result<VgpuId, Error> {
        self.create_with(low_size, slots, min, false)
    }

    /// Returns whether vGPU `id` never shares its slots.
    pub fn is_exclusive(&self, id: VgpuId) -> bool {
        self.exclusive & id.bit() != 0
    }

    /// Returns whether `slot` is held by an exclusive vGPU other than `id`, or, when `id` is
    /// exclusive itself, by anyone else: a slot `id` may not take.
    pub fn blocked_for(&self, id: Option<VgpuId>, slot: u32) -> bool {
        let me = id.map_or(0, VgpuId::bit);
        let others = self.occupants(slot) & !me;
        others & self.exclusive != 0 || (me & self.exclusive != 0 && others != 0)
    }

    /// As [`Slots::create`]; an `exclusive` vGPU only takes slots nobody holds, and no later
    /// vGPU shares them (GVT-g's types), else [`Error::NoSpace`].
    pub fn create_with(
        &mut self,
        low_size: u64,
        slots: u32,
        min: u32,
        exclusive: bool,
    ) -> Result<VgpuId, Error> {
        if low_size == 0 || low_size % PAGE_SIZE != 0 || min == 0 || min > slots {
            return Err(Error::Invalid);
        }
        if slots > self.m {
            return Err(Error::NoSpace);
        }
        let idx = self
            .vgpus
            .iter()
            .position(|v| v.is_none())
            .ok_or(Error::TooManyVgpus)?;
        let id = VgpuId(idx as u8);
        let low_base = self.low_fit(low_size).ok_or(Error::NoSpace)?;
        let set = self.place(slots, exclusive).ok_or(Error::NoSpace)?;
        let v = Vgpu {
            low_base,
            low_size,
            slots: set,
            min,
        };
        for s in set.iter() {
            self.occ[s as usize] |= id.bit();
        }
        if exclusive {
            self.exclusive |= id.bit();
        }
        // INVARIANT: `low_fit` returned a free range, `place` a run (or set) inside `[0, M)`
        // with no slot the vGPU may not take, and the occupancy bits were set for exactly
        // those slots.
        self.vgpus[idx] = Some(v);
        Ok(id)
    }

    /// Removes vGPU `id`, freeing its low GM and its slots.
    pub fn destroy(&mut self, id: VgpuId) -> Result<Vgpu, Error> {
        let v = self
            .vgpus
            .get_mut(id.index())
            .and_then(|v| v.take())
            .ok_or(Error::NoVgpu)?;
        for s in v.slots.iter() {
            self.occ[s as usize] &= !id.bit();
        }
        self.exclusive &= !id.bit();
        Ok(v)
    }

    /// Returns how many more vGPUs with `low_size` bytes of low GM fit, for the mdev type's
    /// `available_instances`; high GM is shared, so low GM and free ids bound the count.
    pub fn available(&self, low_size: u64) -> u32 {
        if low_size == 0 {
            return 0;
        }
        let (mut cursor, mut fit) = (self.low_base, 0u64);
        loop {
            // The next range at or after the cursor; ranges never overlap.
            let next = self
                .iter()
                .map(|(_, v)| (v.low_base, v.low_base + v.low_size))
                .filter(|&(b, _)| b >= cursor)
                .min();
            let gap_end = next.map_or(self.low_end, |(b, _)| b);
            fit += (gap_end - cursor) / low_size;
            match next {
                Some((_, end)) => cursor = end,
                None => break,
            }
        }
        let free_ids = self.vgpus.iter().filter(|v| v.is_none()).count() as u64;
        // Bounded by MAX_VGPUS.
        fit.min(free_ids) as u32
    }

    /// Applies a planned resize, or fails with [`Error::Stale`] if the vGPU changed since.
    pub fn apply(&mut self, plan: &Resize) -> Result<(), Error> {
        // Algorithm 1 chooses by sharing only; exclusivity is a constraint on top of it.
        if plan.grow
            && plan
                .delta
                .iter()
                .any(|s| self.blocked_for(Some(plan.vgpu), s))
        {
            return Err(Error::NoSpace);
        }
        let m = self.m;
        let contiguous = self.contiguous;
        let v = self
            .vgpus
            .get_mut(plan.vgpu.index())
            .and_then(|v| v.as_mut())
            .ok_or(Error::NoVgpu)?;
        if v.slots != plan.before {
            return Err(Error::Stale);
        }
        let after = plan.after();
        let ok = if plan.grow {
            plan.delta.difference(&plan.before) == plan.delta
        } else {
            plan.delta.is_subset(&plan.before)
        };
        if !ok
            || after.last().is_some_and(|l| l >= m)
            || (contiguous && !after.is_run())
            || after.len() < v.min
        {
            return Err(Error::Invalid);
        }
        v.slots = after;
        let bit = plan.vgpu.bit();
        for s in plan.delta.iter() {
            if plan.grow {
                self.occ[s as usize] |= bit;
            } else {
                self.occ[s as usize] &= !bit;
            }
        }
        // INVARIANT: `after` is inside `[0, M)`, a run when contiguous, at least `min`, and the
        // occupancy bits changed for exactly `delta`.
        Ok(())
    }

    /// Moves vGPU `id` to `set` regardless of sharing, to build the paper's figures in tests.
    #[cfg(test)]
    pub(crate) fn pin(&mut self, id: VgpuId, set: SlotSet) {
        let v = self.vgpus[id.index()].as_mut().unwrap();
        for s in v.slots.iter() {
            self.occ[s as usize] &= !id.bit();
        }
        v.slots = set;
        for s in set.iter() {
            self.occ[s as usize] |= id.bit();
        }
    }

    /// Returns the lowest low-GM address with `size` free bytes.
    fn low_fit(&self, size: u64) -> Option<u64> {
        let mut candidates = core::iter::once(self.low_base)
            .chain(self.iter().map(|(_, v)| v.low_base + v.low_size));
        let mut best: Option<u64> = None;
        // Each free gap starts at the base or right after some range; O(n^2) for n <= 64.
        for base in &mut candidates {
            let end = base.checked_add(size)?;
            if end > self.low_end {
                continue;
            }
            let clash = self
                .iter()
                .any(|(_, v)| base < v.low_base + v.low_size && v.low_base < end);
            if !clash && best.map_or(true, |b| base < b) {
                best = Some(base);
            }
        }
        best
    }

    /// Chooses `count` slots for a new vGPU, sharing as few as possible and none that an
    /// exclusive vGPU holds; an `exclusive` vGPU gets only free slots. `None` if impossible.
    fn place(&self, count: u32, exclusive: bool) -> Option<SlotSet> {
        let bad = |s: u32| self.blocked_for(None, s) || (exclusive && self.sharers(s) > 0);
        if !self.contiguous {
            let mut exclude = SlotSet::new();
            for s in (0..self.m).filter(|&s| bad(s)) {
                exclude.insert(s);
            }
            if self.m - exclude.len() < count {
                return None;
            }
            return Some(self.least_shared(count, &exclude));
        }
        // Sliding window over the per-slot sharer counts and the slots the vGPU may not
        // take; the lowest start wins ties.
        let mut sum: u32 = (0..count).map(|s| self.sharers(s)).sum();
        let mut nbad = (0..count).filter(|&s| bad(s)).count();
        let mut best = if nbad == 0 { Some((0, sum)) } else { None };
        for p in 1..=self.m - count {
            let (enter, leave) = (p + count - 1, p - 1);
            sum = sum + self.sharers(enter) - self.sharers(leave);
            nbad = nbad + usize::from(bad(enter)) - usize::from(bad(leave));
            if nbad == 0 && best.map_or(true, |(_, b)| sum < b) {
                best = Some((p, sum));
            }
        }
        best.map(|(p, _)| SlotSet::range(p, p + count))
    }

    /// Returns the `count` slots outside `exclude` with the fewest sharers (lowest on ties).
    pub fn least_shared(&self, count: u32, exclude: &SlotSet) -> SlotSet {
        self.pick(count, exclude, false)
    }

    /// Returns the `count` slots of `within` with the most other sharers (lowest on ties).
    pub fn most_shared(&self, count: u32, within: &SlotSet) -> SlotSet {
        self.pick(count, &SlotSet::range(0, self.m).difference(within), true)
    }

    fn pick(&self, count: u32, exclude: &SlotSet, most: bool) -> SlotSet {
        // Counting selection in two passes over M: a histogram of sharer counts (0..=64) finds
        // the threshold count, then slots are taken in index order. 130 bytes of stack.
        let key = |s: u32| {
            let n = self.sharers(s) as usize;
            if most {
                MAX_VGPUS as usize - n
            } else {
                n
            }
        };
        let mut hist = [0u16; MAX_VGPUS as usize + 1];
        for s in (0..self.m).filter(|&s| !exclude.contains(s)) {
            hist[key(s)] += 1;
        }
        let (mut below, mut threshold) = (0u32, hist.len());
        for (k, &n) in hist.iter().enumerate() {
            if below + u32::from(n) >= count {
                threshold = k;
                break;
            }
            below += u32::from(n);
        }
        let mut at_threshold = count.saturating_sub(below);
        let mut chosen = SlotSet::new();
        for s in (0..self.m).filter(|&s| !exclude.contains(s)) {
            let k = key(s);
            if k < threshold {
                chosen.insert(s);
            } else if k == threshold && at_threshold > 0 {
                chosen.insert(s);
                at_threshold -= 1;
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::{Config, MB};
    use super::*;
    use crate::storage::Std;

    pub(crate) fn layout(slots: u32) -> Layout {
        Layout::new(Config {
            gm_size: 256 * MB + u64::from(slots) * 64 * MB,
            ..Config::default()
        })
        .unwrap()
    }

    #[test]
    fn slot_set_ops() {
        let mut s = SlotSet::range(3, 7);
        assert_eq!(s.len(), 4);
        assert!(s.is_run());
        assert_eq!((s.first(), s.last()), (Some(3), Some(6)));
        s.remove(4);
        assert!(!s.is_run());
        s.insert(200);
        s.insert(300);
        assert_eq!(s.iter().collect::<std::vec::Vec<_>>(), [3, 5, 6, 200]);
        assert_eq!(s.last(), Some(200));
        assert!(SlotSet::new().is_run());
        assert!(SlotSet::range(5, 6).is_subset(&s));
        assert_eq!(std::format!("{s}"), "3,5-6,200");
        assert_eq!(std::format!("{}", SlotSet::new()), "-");
        assert_eq!(std::format!("{}", SlotSet::range(0, 4)), "0-3");
        let w = s.words32();
        assert_eq!((w[0], w[6]), (0b110_1000, 1 << 8));
    }

    #[test]
    fn create_partitions_low_and_avoids_sharing() {
        let mut m = Slots::<Std>::new(&layout(10), true).unwrap();
        let a = m.create(64 * MB, 4, 4).unwrap();
        let b = m.create(64 * MB, 4, 4).unwrap();
        let c = m.create(64 * MB, 4, 2).unwrap();
        assert_eq!(m.get(a).unwrap().slots, SlotSet::range(0, 4));
        assert_eq!(m.get(b).unwrap().slots, SlotSet::range(4, 8));
        // Two slots are free; the window [6, 10) shares two, as little as any.
        assert_eq!(m.get(c).unwrap().slots, SlotSet::range(6, 10));
        assert_eq!(m.occupants(6), b.bit() | c.bit());
        assert_eq!(m.get(b).unwrap().low_base, 128 * MB);
        // Low GM (192 MB for guests) is full.
        assert_eq!(m.available(4096), 0);
        assert_eq!(m.create(4096, 1, 1), Err(Error::NoSpace));
        m.destroy(b).unwrap();
        assert_eq!(m.occupants(6), c.bit());
        assert_eq!((m.available(64 * MB), m.available(32 * MB)), (1, 2));
        let d = m.create(32 * MB, 2, 1).unwrap();
        assert_eq!(m.available(32 * MB), 1);
        assert_eq!(m.get(d).unwrap().low_base, 128 * MB);
        assert_eq!(m.get(d).unwrap().slots, SlotSet::range(4, 6));
        assert_eq!(m.create(64 * MB, 11, 1), Err(Error::NoSpace));
        assert_eq!(m.create(MB, 2, 3), Err(Error::Invalid));
    }

    #[test]
    fn ids_run_out() {
        let big = Layout::new(Config {
            low_size: 1024 * MB,
            ..Config::default()
        })
        .unwrap();
        let mut m = Slots::<Std>::new(&big, false).unwrap();
        for _ in 0..MAX_VGPUS {
            m.create(4096, 1, 1).unwrap();
        }
        assert_eq!(m.create(4096, 1, 1), Err(Error::TooManyVgpus));
    }
}
