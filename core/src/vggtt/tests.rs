//! Unit tests of the GGTT trap-and-emulate, and a property test against a model.

use super::{Range, VGgtt, MAX_PENDING};
use crate::pte::GgttPte;
use crate::shadow::{Error, Translate};
use crate::storage::Std;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::format;
use std::vec::Vec;

/// Host frame backing guest frame 0.
const HOST_BASE: u64 = 0x10_0000;
/// Host frame of the scratch page.
const SCRATCH: u64 = 0xdead;
/// Guest frames the VMM maps at the start.
const FRAMES: u64 = 64;

/// A VFIO-like translation: refcounted pins per guest frame, refused for unmapped frames.
#[derive(Debug, Default)]
struct Tr {
    unmapped: BTreeSet<u64>,
    pins: HashMap<u64, u32>,
    /// Every pin and unpin as (gfn, count after).
    log: Vec<(u64, u32)>,
}

impl Tr {
    fn mapped(&self, gfn: u64) -> bool {
        gfn < FRAMES && !self.unmapped.contains(&gfn)
    }

    fn pins(&self, gfn: u64) -> u32 {
        self.pins.get(&gfn).copied().unwrap_or(0)
    }

    fn total(&self) -> u64 {
        self.pins.values().map(|&p| u64::from(p)).sum()
    }
}

impl Translate for Tr {
    fn pin(&mut self, gfn: u64) -> Result<u64, Error> {
        if !self.mapped(gfn) {
            return Err(Error::BadFrame);
        }
        let c = self.pins.entry(gfn).or_insert(0);
        *c += 1;
        self.log.push((gfn, *c));
        Ok(gfn + HOST_BASE)
    }

    fn unpin(&mut self, gfn: u64) {
        let c = self
            .pins
            .get_mut(&gfn)
            .expect("unpin of a frame never pinned");
        assert!(*c > 0, "unpin of unpinned gfn {gfn:#x}");
        *c -= 1;
        self.log.push((gfn, *c));
        if *c == 0 {
            self.pins.remove(&gfn);
        }
    }
}

fn range(start: u64, len: u64) -> Range {
    Range { start, len }
}

fn vggtt(tr: &mut Tr, ranges: &[Range]) -> VGgtt<Std> {
    let mut v = VGgtt::<Std>::new(SCRATCH);
    v.set_ranges(tr, ranges).unwrap();
    v
}

/// A present guest entry for `gfn` with some cache bits and a high software bit.
fn pte(gfn: u64) -> u64 {
    GgttPte::new(gfn).raw() | 0x6 | (1 << 62)
}

fn host(guest: u64, mfn: u64) -> u64 {
    GgttPte::from_raw(guest).with_frame(mfn).raw()
}

#[test]
fn whole_write_pins_and_keeps_flags() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(100, 10)]);
    let h = v.write(&mut tr, 105, 0, 8, pte(7)).unwrap();
    assert_eq!(h, host(pte(7), 7 + HOST_BASE));
    assert_eq!(
        h & !(((1 << 46) - 1) & !0xfff),
        pte(7) & !(((1 << 46) - 1) & !0xfff)
    );
    assert_eq!(tr.pins(7), 1);
    assert_eq!(v.read(105, 0, 8), pte(7));
    assert_eq!(v.read(105, 0, 4), pte(7) & 0xffff_ffff);
    assert_eq!(v.read(105, 4, 4), pte(7) >> 32);
    assert_eq!(v.entry(105), Some((pte(7), Some(7))));
    assert_eq!(v.host_pte(105), Some(h));
    let c = v.counters();
    assert_eq!((c.writes, c.pins_now, c.pins_total, c.reads), (1, 1, 1, 3));
}

#[test]
fn non_present_entry_points_at_scratch() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    let guest = pte(3) & !1;
    assert_eq!(v.write(&mut tr, 1, 0, 8, guest), Some(host(guest, SCRATCH)));
    assert_eq!(tr.total(), 0);
    assert_eq!(v.entry(1), Some((guest, None)));
    assert_eq!(v.counters().invalid_entries, 0);
}

#[test]
fn halves_in_both_orders() {
    for (first, second) in [(0u8, 4u8), (4, 0)] {
        let mut tr = Tr::default();
        let mut v = vggtt(&mut tr, &[range(0, 8)]);
        let g = pte(9);
        let half = |o: u8| (g >> (u32::from(o) * 8)) & 0xffff_ffff;
        let h1 = v.write(&mut tr, 3, first, 4, half(first)).unwrap();
        assert_eq!(GgttPte::from_raw(h1).frame(), SCRATCH);
        assert_eq!(tr.total(), 0);
        assert_eq!(v.counters().pending_now, 1);
        assert_eq!(v.read(3, first, 4), half(first));
        let h2 = v.write(&mut tr, 3, second, 4, half(second)).unwrap();
        assert_eq!(h2, host(g, 9 + HOST_BASE));
        assert_eq!(tr.pins(9), 1);
        assert_eq!(v.read(3, 0, 8), g);
        let c = v.counters();
        assert_eq!((c.partial_writes, c.pending_now, c.pins_now), (2, 0, 1));
    }
}

#[test]
fn half_write_of_a_pinned_entry_unpins_until_complete() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 8)]);
    v.write(&mut tr, 2, 0, 8, pte(5)).unwrap();
    // The guest changes the frame through the low half: the entry parks on scratch.
    let g = pte(6);
    let h = v.write(&mut tr, 2, 0, 4, g & 0xffff_ffff).unwrap();
    assert_eq!(GgttPte::from_raw(h).frame(), SCRATCH);
    assert_eq!(tr.total(), 0);
    let h = v.write(&mut tr, 2, 4, 4, g >> 32).unwrap();
    assert_eq!(h, host(g, 6 + HOST_BASE));
    assert_eq!((tr.pins(5), tr.pins(6)), (0, 1));
}

#[test]
fn repeated_first_half_updates_pending_data() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 8)]);
    v.write(&mut tr, 1, 0, 4, pte(3) & 0xffff_ffff).unwrap();
    let h = v.write(&mut tr, 1, 0, 4, pte(4) & 0xffff_ffff).unwrap();
    assert_eq!(GgttPte::from_raw(h).frame(), SCRATCH);
    assert_eq!(v.counters().pending_now, 1);
    assert_eq!(tr.total(), 0);
    let h = v.write(&mut tr, 1, 4, 4, pte(4) >> 32).unwrap();
    assert_eq!(h, host(pte(4), 4 + HOST_BASE));
    assert_eq!((tr.pins(3), tr.pins(4)), (0, 1));
}

#[test]
fn whole_write_supersedes_a_pending_half() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 8)]);
    v.write(&mut tr, 1, 0, 4, 0x1234).unwrap();
    v.write(&mut tr, 1, 0, 8, pte(3)).unwrap();
    assert_eq!(v.counters().pending_now, 0);
    // A later high half starts a new pending entry instead of completing a stale one.
    let h = v.write(&mut tr, 1, 4, 4, pte(3) >> 32).unwrap();
    assert_eq!(GgttPte::from_raw(h).frame(), SCRATCH);
    assert_eq!(tr.total(), 0);
}

#[test]
fn pending_halves_are_bounded() {
    let mut tr = Tr::default();
    let n = MAX_PENDING as u64;
    let mut v = vggtt(&mut tr, &[range(0, 2 * n)]);
    for i in 0..n + 3 {
        v.write(&mut tr, i, 0, 4, pte(i % FRAMES) & 0xffff_ffff)
            .unwrap();
    }
    let c = v.counters();
    assert_eq!((c.pending_now, c.pending_evicted), (n, 3));
    // The evicted entries 0..3 stay on scratch when their other half arrives (it starts anew).
    let h = v.write(&mut tr, 0, 4, 4, pte(0) >> 32).unwrap();
    assert_eq!(GgttPte::from_raw(h).frame(), SCRATCH);
    assert_eq!(v.counters().pending_evicted, 4);
    // Entries still pending complete normally.
    let h = v.write(&mut tr, n, 4, 4, pte(n % FRAMES) >> 32).unwrap();
    assert_eq!(h, host(pte(n % FRAMES), n % FRAMES + HOST_BASE));
    // A full rewrite of an evicted entry works.
    let h = v.write(&mut tr, 1, 0, 8, pte(1)).unwrap();
    assert_eq!(h, host(pte(1), 1 + HOST_BASE));
}

#[test]
fn out_of_range_and_malformed_accesses_are_ignored() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(10, 5), range(100, 5)]);
    for index in [0, 9, 15, 99, 105, u64::MAX] {
        assert_eq!(v.write(&mut tr, index, 0, 8, pte(1)), None);
        assert_eq!(v.read(index, 0, 8), 0);
    }
    for (offset, len) in [
        (4, 8),
        (1, 4),
        (0, 2),
        (0, 1),
        (8, 8),
        (0, 0),
        (0, 16),
        (255, 4),
    ] {
        assert_eq!(v.write(&mut tr, 10, offset, len, pte(1)), None);
    }
    v.write(&mut tr, 10, 0, 8, pte(1)).unwrap();
    assert_eq!(v.read(10, 4, 8), 0);
    assert_eq!(v.read(10, 2, 4), 0);
    assert_eq!(v.entry(9), None);
    assert_eq!(v.host_pte(15), None);
    let c = v.counters();
    assert_eq!((c.ignored_writes, c.writes, c.pins_now), (14, 15, 1));
    assert_eq!(tr.total(), 1);
}

#[test]
fn rewrite_unpins_the_old_frame_once() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    v.write(&mut tr, 0, 0, 8, pte(1)).unwrap();
    v.write(&mut tr, 1, 0, 8, pte(1)).unwrap();
    v.write(&mut tr, 0, 0, 8, pte(2)).unwrap();
    assert_eq!((tr.pins(1), tr.pins(2)), (1, 1));
    // Same frame again, new flags: the count goes 1 -> 2 -> 1, never 0.
    tr.log.clear();
    let h = v.write(&mut tr, 0, 0, 8, pte(2) | 0x8).unwrap();
    assert_eq!(h, host(pte(2) | 0x8, 2 + HOST_BASE));
    assert_eq!(tr.log, [(2, 2), (2, 1)]);
    v.write(&mut tr, 0, 0, 8, 0).unwrap();
    assert_eq!((tr.pins(1), tr.pins(2)), (1, 0));
    let c = v.counters();
    assert_eq!((c.pins_total, c.unpins_total, c.pins_now), (4, 3, 1));
}

#[test]
fn unpinnable_frame_points_at_scratch() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    v.write(&mut tr, 0, 0, 8, pte(3)).unwrap();
    let h = v.write(&mut tr, 0, 0, 8, pte(FRAMES + 5)).unwrap();
    assert_eq!(h, host(pte(FRAMES + 5), SCRATCH));
    assert_eq!(tr.total(), 0);
    assert_eq!(v.entry(0), Some((pte(FRAMES + 5), None)));
    assert_eq!(v.read(0, 0, 8), pte(FRAMES + 5));
    assert_eq!(v.counters().invalid_entries, 1);
}

#[test]
fn unmap_repoints_only_affected_entries() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 8), range(50, 8)]);
    for (i, gfn) in [(0, 10), (1, 11), (2, 12), (50, 11), (51, 13)] {
        v.write(&mut tr, i, 0, 8, pte(gfn)).unwrap();
    }
    v.write(&mut tr, 3, 0, 4, pte(11) & 0xffff_ffff).unwrap();
    let mut sunk = Vec::new();
    v.unmap(&mut tr, 11, 2, |i, h| sunk.push((i, h)));
    sunk.sort_unstable();
    assert_eq!(
        sunk,
        [
            (1, host(pte(11), SCRATCH)),
            (2, host(pte(12), SCRATCH)),
            (50, host(pte(11), SCRATCH)),
        ]
    );
    assert_eq!(
        (tr.pins(10), tr.pins(11), tr.pins(12), tr.pins(13)),
        (1, 0, 0, 1)
    );
    assert_eq!(v.entry(1), Some((pte(11), None)));
    assert_eq!(v.host_pte(1), Some(host(pte(11), SCRATCH)));
    let c = v.counters();
    assert_eq!((c.unmapped, c.pins_now), (3, 2));
    // A later rewrite pins again.
    v.write(&mut tr, 1, 0, 8, pte(11)).unwrap();
    assert_eq!(tr.pins(11), 1);
    v.unmap(&mut tr, 0, u64::MAX, |_, _| {});
    assert_eq!(tr.total(), 0);
}

#[test]
fn set_ranges_keeps_surviving_entries() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(10, 10)]);
    for i in 10..20 {
        v.write(&mut tr, i, 0, 8, pte(i)).unwrap();
    }
    v.write(&mut tr, 19, 0, 4, 0x1000).unwrap();
    assert_eq!(tr.total(), 9);
    // Shrink and move: [15, 25) keeps 15..19 (19 still pending), drops 10..15.
    v.set_ranges(&mut tr, &[range(15, 10)]).unwrap();
    assert_eq!(v.ranges(), [range(15, 10)]);
    assert_eq!(tr.total(), 4);
    for i in 10..15 {
        assert_eq!(tr.pins(i), 0);
        assert_eq!(v.entry(i), None);
    }
    for i in 15..19 {
        assert_eq!(v.entry(i), Some((pte(i), Some(i))));
    }
    assert_eq!(v.entry(20), Some((0, None)));
    assert_eq!(v.host_pte(20), Some(v.scratch_pte(0)));
    assert_eq!(v.counters().pending_now, 1);
    let g19 = (pte(19) & !0xffff_ffff) | 0x1000;
    let h = v.write(&mut tr, 19, 4, 4, g19 >> 32).unwrap();
    // The new low half has no present bit: the completed entry points at scratch.
    assert_eq!(h, host(g19, SCRATCH));
    // Grow into two ranges, unsorted and overlapping: the state survives.
    v.set_ranges(
        &mut tr,
        &[range(30, 5), range(12, 8), range(18, 4), range(0, 0)],
    )
    .unwrap();
    assert_eq!(v.ranges(), [range(12, 10), range(30, 5)]);
    assert_eq!(v.entry(15), Some((pte(15), Some(15))));
    assert_eq!(v.entry(12), Some((0, None)));
    assert_eq!(tr.total(), 4);
    v.release(&mut tr);
    assert_eq!(tr.total(), 0);
    assert_eq!(v.ranges(), []);
    assert_eq!(v.counters().pins_now, 0);
}

#[test]
fn set_ranges_drops_pending_halves_that_leave() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    v.write(&mut tr, 2, 0, 4, 1).unwrap();
    v.set_ranges(&mut tr, &[range(0, 2)]).unwrap();
    assert_eq!(v.counters().pending_now, 0);
    v.set_ranges(&mut tr, &[range(0, 4)]).unwrap();
    // The entry came back fresh: its high half starts a new pending entry.
    let h = v.write(&mut tr, 2, 4, 4, 0).unwrap();
    assert_eq!(h, v.scratch_pte(0));
    assert_eq!(v.counters().pending_now, 1);
}

#[test]
fn ranges_are_normalized() {
    let mut tr = Tr::default();
    let v = vggtt(
        &mut tr,
        &[
            range(8, 4),
            range(0, 4),
            range(4, 4),
            range(20, 0),
            range(u64::MAX - 1, 9),
        ],
    );
    assert_eq!(v.ranges(), [range(0, 12), range(u64::MAX - 1, 1)]);
    assert_eq!(v.entry(u64::MAX - 1), Some((0, None)));
    assert_eq!(v.entry(u64::MAX), None);
}

#[test]
fn release_leaves_no_pins() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 16), range(64, 16)]);
    for i in (0..16).chain(64..80) {
        v.write(&mut tr, i, 0, 8, pte(i % 5)).unwrap();
    }
    v.write(&mut tr, 3, 4, 4, 0).unwrap();
    assert_eq!(tr.total(), 31);
    v.release(&mut tr);
    assert_eq!(tr.total(), 0);
    assert_eq!(v.counters().pins_now, 0);
    assert_eq!(v.counters().pending_now, 0);
    assert_eq!(v.write(&mut tr, 0, 0, 8, pte(1)), None);
    assert_eq!(v.counters().unpins_total, v.counters().pins_total);
}

#[test]
fn counters_have_names() {
    let v = VGgtt::<Std>::new(SCRATCH);
    let mut names = Vec::new();
    v.counters().for_each(|n, _| names.push(n));
    assert_eq!(names.len(), 11);
    assert!(names.contains(&"pending_evicted"));
}

/// The reference model: guest values, pinned frames and the pending FIFO, by the spec's rules.
#[derive(Debug, Default)]
struct Model {
    ranges: Vec<Range>,
    /// Index -> (guest value, pinned gfn).
    entries: HashMap<u64, (u64, Option<u64>)>,
    pending: VecDeque<(u64, u8)>,
    max_pending: usize,
}

impl Model {
    fn owns(&self, index: u64) -> bool {
        self.ranges.iter().any(|r| r.contains(index))
    }

    fn host(&self, index: u64) -> u64 {
        let (g, pinned) = self.entries.get(&index).copied().unwrap_or((0, None));
        host(g, pinned.map_or(SCRATCH, |f| f + HOST_BASE))
    }

    fn pin(tr: &Tr, guest: u64) -> Option<u64> {
        let p = GgttPte::from_raw(guest);
        (p.present() && tr.mapped(p.frame())).then(|| p.frame())
    }

    fn write(&mut self, tr: &Tr, index: u64, offset: u8, len: usize, value: u64) -> Option<u64> {
        if !self.owns(index) || !matches!((offset, len), (0, 8) | (0, 4) | (4, 4)) {
            return None;
        }
        let (old, _) = self.entries.get(&index).copied().unwrap_or((0, None));
        let pos = self.pending.iter().position(|p| p.0 == index);
        let (guest, complete) = if len == 8 {
            if let Some(p) = pos {
                self.pending.remove(p);
            }
            (value, true)
        } else {
            let shift = u32::from(offset) * 8;
            let g = (old & !(0xffff_ffff << shift)) | ((value & 0xffff_ffff) << shift);
            match pos {
                Some(p) if self.pending[p].1 != offset => {
                    self.pending.remove(p);
                    (g, true)
                }
                Some(_) => (g, false),
                None => {
                    if self.pending.len() == self.max_pending {
                        self.pending.pop_front();
                    }
                    if self.max_pending > 0 {
                        self.pending.push_back((index, offset));
                    }
                    (g, false)
                }
            }
        };
        let pinned = if complete {
            Model::pin(tr, guest)
        } else {
            None
        };
        self.entries.insert(index, (guest, pinned));
        Some(self.host(index))
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A guest write: entry, (offset, len) choice, frame, flags.
    Write(u64, u8, u64, u64),
    /// The VMM unmaps [gfn, gfn + count).
    Unmap(u64, u64),
    /// The VMM maps [gfn, gfn + count) again.
    Map(u64, u64),
    /// New ranges.
    Ranges(Vec<(u64, u64)>),
    /// vGPU reset.
    Release,
}

/// Entry indices the test touches (the ranges lie inside, plus a margin to miss them).
const SPAN: u64 = 48;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..SPAN + 4, 0u8..8, 0..FRAMES + 4, 0u64..16)
            .prop_map(|(i, k, f, b)| Op::Write(i, k, f, b)),
        1 => (0..FRAMES, 1u64..8).prop_map(|(g, n)| Op::Unmap(g, n)),
        1 => (0..FRAMES, 1u64..8).prop_map(|(g, n)| Op::Map(g, n)),
        1 => proptest::collection::vec((0..SPAN, 0u64..20), 0..4).prop_map(Op::Ranges),
        1 => Just(Op::Release),
    ]
}

fn check(
    v: &VGgtt<Std>,
    m: &Model,
    tr: &Tr,
    phys: &HashMap<u64, u64>,
) -> Result<(), TestCaseError> {
    for index in 0..SPAN + 4 {
        prop_assert_eq!(v.entry(index).is_some(), m.owns(index), "owns {}", index);
        if !m.owns(index) {
            continue;
        }
        let (g, pinned) = m.entries.get(&index).copied().unwrap_or((0, None));
        prop_assert_eq!(v.entry(index), Some((g, pinned)), "entry {}", index);
        prop_assert_eq!(
            phys.get(&index).copied(),
            Some(m.host(index)),
            "phys {}",
            index
        );
        prop_assert_eq!(v.host_pte(index), Some(m.host(index)), "host_pte {}", index);
    }
    for gfn in 0..FRAMES + 4 {
        let expect = m
            .entries
            .iter()
            .filter(|(&i, &(_, p))| m.owns(i) && p == Some(gfn))
            .count() as u32;
        prop_assert_eq!(tr.pins(gfn), expect, "pins of gfn {}", gfn);
    }
    prop_assert_eq!(v.counters().pins_now, tr.total());
    prop_assert_eq!(v.counters().pending_now, m.pending.len() as u64);
    Ok(())
}

fn run(ops: &[Op], max_pending: usize) -> Result<(), TestCaseError> {
    let mut tr = Tr::default();
    let mut v = VGgtt::<Std>::new(SCRATCH);
    v.max_pending = max_pending;
    let mut m = Model {
        max_pending,
        ..Model::default()
    };
    let mut phys = HashMap::new();
    for op in ops {
        match *op {
            Op::Write(index, kind, frame, bits) => {
                let (offset, len) = match kind {
                    0..=2 => (0, 8),
                    3 | 4 => (0, 4),
                    5 | 6 => (4, 4),
                    _ => (4, 8),
                };
                // Present most of the time; flags and a high bit travel into the host PTE.
                let guest = GgttPte::new(frame).raw() | ((bits & 0x7) << 1) | ((bits >> 3) << 63);
                let guest = if bits == 15 { guest & !1 } else { guest };
                let value = if offset == 4 && len == 4 {
                    guest >> 32
                } else {
                    guest
                };
                let got = v.write(&mut tr, index, offset, len, value);
                let want = m.write(&tr, index, offset, len, value);
                prop_assert_eq!(got, want, "write {} {} {}", index, offset, len);
                if let Some(h) = got {
                    phys.insert(index, h);
                }
                if m.owns(index) && len == 4 {
                    let r = v.read(index, offset, len);
                    let g = m.entries[&index].0;
                    prop_assert_eq!(r, (g >> (u32::from(offset) * 8)) & 0xffff_ffff);
                }
            }
            Op::Unmap(gfn, count) => {
                v.unmap(&mut tr, gfn, count, |i, h| {
                    phys.insert(i, h);
                });
                for (g, p) in m.entries.values_mut() {
                    let _ = g;
                    if p.is_some_and(|f| f >= gfn && f < gfn + count) {
                        *p = None;
                    }
                }
                tr.unmapped.extend(gfn..gfn + count);
            }
            Op::Map(gfn, count) => {
                for g in gfn..gfn + count {
                    tr.unmapped.remove(&g);
                }
            }
            Op::Ranges(ref rs) => {
                let ranges: Vec<Range> = rs.iter().map(|&(s, l)| range(s, l)).collect();
                v.set_ranges(&mut tr, &ranges).unwrap();
                let old: Vec<Range> = std::mem::take(&mut m.ranges);
                m.ranges = ranges;
                for index in 0..SPAN + 32 {
                    let was = old.iter().any(|r| r.contains(index));
                    if !m.owns(index) {
                        m.entries.remove(&index);
                        phys.remove(&index);
                    } else if !was {
                        // The caller installs the scratch PTE of a new entry.
                        m.entries.remove(&index);
                        phys.insert(index, v.scratch_pte(0));
                    }
                }
                let owned: Vec<(u64, u8)> =
                    m.pending.iter().copied().filter(|p| m.owns(p.0)).collect();
                m.pending = owned.into();
            }
            Op::Release => {
                v.release(&mut tr);
                prop_assert_eq!(tr.total(), 0);
                m.ranges.clear();
                m.entries.clear();
                m.pending.clear();
                phys.clear();
            }
        }
        for index in 0..SPAN + 4 {
            let want = if m.owns(index) {
                m.entries.get(&index).map_or(0, |e| e.0)
            } else {
                0
            };
            prop_assert_eq!(v.read(index, 0, 8), want, "read {}", index);
        }
        check(&v, &m, &tr, &phys)?;
    }
    v.release(&mut tr);
    prop_assert_eq!(tr.total(), 0);
    prop_assert_eq!(v.counters().pins_total, v.counters().unpins_total);
    Ok(())
}

fn start() -> impl Strategy<Value = Vec<Op>> {
    // Begin with ranges, so most writes land.
    (
        proptest::collection::vec((0..SPAN, 1u64..24), 1..4),
        proptest::collection::vec(op(), 1..120),
    )
        .prop_map(|(rs, mut ops)| {
            ops.insert(0, Op::Ranges(rs));
            ops
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn matches_model(
        ops in start(),
        max_pending in prop_oneof![Just(0usize), 1usize..5, Just(MAX_PENDING)],
    ) {
        run(&ops, max_pending)?;
    }
}

#[test]
fn model_scenario_eviction_with_small_bound() {
    let ops = [
        Op::Ranges(std::vec![(0, 8)]),
        Op::Write(0, 3, 1, 0),
        Op::Write(1, 3, 2, 0),
        Op::Write(2, 5, 3, 0),
        Op::Write(0, 5, 1, 0),
        Op::Write(2, 3, 3, 0),
        Op::Unmap(3, 1),
        Op::Write(2, 0, 3, 0),
        Op::Map(3, 1),
        Op::Write(2, 0, 3, 0),
    ];
    run(&ops, 2).unwrap();
    let _ = format!("{:?}", ops[0]);
}
