//! Unit tests of the GGTT trap-and-emulate, and a property test against a model.

use super::{
    Commit, Counters, Issue, PinOut, Plan, Range, Ticket, VGgtt, MAX_PENDING, MAX_PIN_TRIES,
};
use crate::pte::GgttPte;
use crate::shadow::{Error, Translate};
use crate::storage::{AllocError, Std};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::format;
use std::vec::Vec;

/// Host frame backing guest frame 0.
const HOST_BASE: u64 = 0x10_0000;
/// Host frame of the scratch page.
const SCRATCH: u64 = 0xdead;
/// Guest frames the VMM maps at the start.
pub(crate) const FRAMES: u64 = 64;

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

/// The three steps of a write, the unmap batches and the releases run back to back, as a caller
/// with no concurrency would (the kernel runs the pins and unpins with its lock released).
trait Seq {
    fn write(&mut self, tr: &mut Tr, index: u64, offset: u8, len: usize, value: u64)
        -> Option<u64>;
    fn unmap(&mut self, tr: &mut Tr, gfn: u64, count: u64, sink: impl FnMut(u64, u64));
    fn release(&mut self, tr: &mut Tr);
    fn set_ranges_tr(&mut self, tr: &mut Tr, ranges: &[Range]) -> Result<(), AllocError>;
}

/// Pins a ticket's frame as the kernel does with no lock held.
fn pin(tr: &mut Tr, t: &Ticket) -> Option<u64> {
    tr.pin(t.gfn()).ok()
}

/// Drops the pins a commit handed back, then retires the ticket's, as the kernel does.
fn finish(v: &mut VGgtt<Std>, tr: &mut Tr, c: &Commit) {
    for gfn in c.unpin.into_iter().flatten() {
        tr.unpin(gfn);
    }
    if let Some(out) = c.retire {
        v.retire(out);
    }
}

/// Issues a ticket that nothing holds back.
fn issue(v: &mut VGgtt<Std>, t: Ticket) -> Ticket {
    match v.issue(t) {
        Issue::Go(t) => t,
        other => panic!("ticket not issued: {other:?}"),
    }
}

/// Plans a write that needs a pin and issues its ticket.
fn ticket(v: &mut VGgtt<Std>, index: u64, offset: u8, len: usize, value: u64) -> Ticket {
    match v.plan_write(index, offset, len, value) {
        Plan::Pin(t) => issue(v, t),
        other => panic!("a present entry needs a pin: {other:?}"),
    }
}

impl Seq for VGgtt<Std> {
    fn write(
        &mut self,
        tr: &mut Tr,
        index: u64,
        offset: u8,
        len: usize,
        value: u64,
    ) -> Option<u64> {
        match self.plan_write(index, offset, len, value) {
            Plan::Ignored => None,
            Plan::Done { pte, unpin } => {
                if let Some(gfn) = unpin {
                    tr.unpin(gfn);
                }
                Some(pte)
            }
            Plan::Pin(mut t) => loop {
                let t2 = match self.issue(t) {
                    Issue::Go(t2) => t2,
                    Issue::Stale => break None,
                    Issue::Wait => panic!("nothing holds a sequential write back"),
                };
                let pinned = pin(tr, &t2);
                let c = self.commit_write(t2, pinned);
                finish(self, tr, &c);
                match c.retry {
                    Some(r) => t = r,
                    None => break c.pte,
                }
            },
        }
    }

    fn unmap(&mut self, tr: &mut Tr, gfn: u64, count: u64, mut sink: impl FnMut(u64, u64)) {
        // A small batch, so that the tests cross batch boundaries.
        let mut out = [0u64; 3];
        assert!(self.begin_unmap(gfn, count));
        assert!(!self.pins_out_in(gfn, count));
        loop {
            let n = self.take_unmapped(gfn, count, &mut out, &mut sink);
            for &g in &out[..n] {
                tr.unpin(g);
            }
            if n < out.len() {
                break;
            }
        }
        self.end_unmap(gfn, count);
    }

    fn release(&mut self, tr: &mut Tr) {
        let r = self.take_all();
        for gfn in r.pins() {
            tr.unpin(gfn);
        }
    }

    fn set_ranges_tr(&mut self, tr: &mut Tr, ranges: &[Range]) -> Result<(), AllocError> {
        let r = self.set_ranges(ranges)?;
        for gfn in r.pins() {
            tr.unpin(gfn);
        }
        Ok(())
    }
}

fn range(start: u64, len: u64) -> Range {
    Range { start, len }
}

fn vggtt(tr: &mut Tr, ranges: &[Range]) -> VGgtt<Std> {
    let mut v = VGgtt::<Std>::new(SCRATCH);
    v.set_ranges_tr(tr, ranges).unwrap();
    v
}

/// A present guest entry for `gfn` with some cache bits and a high software bit.
fn pte(gfn: u64) -> u64 {
    GgttPte::new(gfn).raw() | 0x6 | (1 << 62)
}

/// The host PTE the spec asks for: the guest's present bit and the host frame, nothing else.
fn host(guest: u64, mfn: u64) -> u64 {
    const ADDR: u64 = ((1 << 46) - 1) & !0xfff;
    (guest & 1) | ((mfn << 12) & ADDR)
}

#[test]
fn all_ones_guest_entry_gives_only_present_and_frame() {
    const ADDR: u64 = ((1 << 46) - 1) & !0xfff;
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(100, 10)]);
    let guest = !ADDR | (7 << 12);
    let h = v.write(&mut tr, 105, 0, 8, guest).unwrap();
    assert_eq!(h, ((7 + HOST_BASE) << 12) | 1);
    assert_eq!(v.host_pte(105), Some(h));
    assert_eq!(v.read(105, 0, 8), guest);
    // Halves, and scratch: the same rule.
    v.write(&mut tr, 106, 4, 4, guest >> 32);
    let h = v.write(&mut tr, 106, 0, 4, guest & 0xffff_ffff).unwrap();
    assert_eq!(h, ((7 + HOST_BASE) << 12) | 1);
    let h = v.write(&mut tr, 107, 0, 8, !ADDR & !1).unwrap();
    assert_eq!(h, SCRATCH << 12);
}

#[test]
fn whole_write_pins_and_drops_guest_bits() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(100, 10)]);
    let h = v.write(&mut tr, 105, 0, 8, pte(7)).unwrap();
    assert_eq!(h, host(pte(7), 7 + HOST_BASE));
    // The guest's cache and software bits stay in its own value, not in the host's.
    assert_eq!(h & !(((1 << 46) - 1) & !0xfff), 1);
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
    // The evicted entries 0..3 stay on scratch when their other half arrives: it ends the lost
    // pair, and evicts nothing.
    let h = v.write(&mut tr, 0, 4, 4, pte(0) >> 32).unwrap();
    assert_eq!(GgttPte::from_raw(h).frame(), SCRATCH);
    assert_eq!(v.counters().pending_evicted, 3);
    assert_eq!(v.counters().pending_now, n);
    // Two new halves of it make a new pair (evicting the oldest pending: entry 3).
    v.write(&mut tr, 0, 0, 4, pte(0) & 0xffff_ffff).unwrap();
    let h = v.write(&mut tr, 0, 4, 4, pte(0) >> 32).unwrap();
    assert_eq!(h, host(pte(0), HOST_BASE));
    assert_eq!(v.counters().pending_evicted, 4);
    // Entries still pending complete normally.
    let h = v.write(&mut tr, n, 4, 4, pte(n % FRAMES) >> 32).unwrap();
    assert_eq!(h, host(pte(n % FRAMES), n % FRAMES + HOST_BASE));
    // A full rewrite of an evicted entry works.
    let h = v.write(&mut tr, 1, 0, 8, pte(1)).unwrap();
    assert_eq!(h, host(pte(1), 1 + HOST_BASE));
}

/// Issue 13: one more entry than the bound, written as all low halves then all high halves. One
/// eviction costs that one pair; it must not turn every later high half into a first half.
#[test]
fn halves_past_the_bound_do_not_cascade() {
    for extra in [1, 2, 5, MAX_PENDING as u64] {
        let mut tr = Tr::default();
        let n = MAX_PENDING as u64 + extra;
        let mut v = vggtt(&mut tr, &[range(0, n)]);
        for i in 0..n {
            v.write(&mut tr, i, 0, 4, pte(i % FRAMES) & 0xffff_ffff);
        }
        let mut mapped = 0;
        for i in 0..n {
            let h = v.write(&mut tr, i, 4, 4, pte(i % FRAMES) >> 32).unwrap();
            mapped += u64::from(h == host(pte(i % FRAMES), i % FRAMES + HOST_BASE));
        }
        let c = v.counters();
        assert_eq!(
            (mapped, c.pending_evicted),
            (n - extra, extra),
            "extra {extra}"
        );
        assert_eq!((c.pending_now, c.pins_now), (0, n - extra), "extra {extra}");
        // The lost pairs are over: their entries take two new halves again.
        v.write(&mut tr, 0, 0, 4, pte(0) & 0xffff_ffff);
        let h = v.write(&mut tr, 0, 4, 4, pte(0) >> 32).unwrap();
        assert_eq!(h, host(pte(0), HOST_BASE));
    }
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
    v.set_ranges_tr(&mut tr, &[range(15, 10)]).unwrap();
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
    v.set_ranges_tr(
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
    v.set_ranges_tr(&mut tr, &[range(0, 2)]).unwrap();
    assert_eq!(v.counters().pending_now, 0);
    v.set_ranges_tr(&mut tr, &[range(0, 4)]).unwrap();
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
    assert_eq!(names.len(), 14);
    assert!(names.contains(&"pending_evicted"));
}

/// The reference model: guest values, pinned frames and the pending FIFO, by the spec's rules.
#[derive(Debug, Default)]
struct Model {
    ranges: Vec<Range>,
    /// Index -> (guest value, pinned gfn).
    entries: HashMap<u64, (u64, Option<u64>)>,
    pending: VecDeque<(u64, u8)>,
    /// Entries whose pending half was forgotten -> that half's offset.
    lone: HashMap<u64, u8>,
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
            self.lone.remove(&index);
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
                // The other half of a forgotten pair ends it: the entry stays on scratch.
                None if self.lone.get(&index) == Some(&(offset ^ 4)) => {
                    self.lone.remove(&index);
                    (g, false)
                }
                None => {
                    self.lone.remove(&index);
                    if self.pending.len() == self.max_pending {
                        if let Some((i, o)) = self.pending.pop_front() {
                            self.lone.insert(i, o);
                        }
                    }
                    if self.max_pending > 0 {
                        self.pending.push_back((index, offset));
                    } else {
                        self.lone.insert(index, offset);
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
pub(crate) enum Op {
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
pub(crate) const SPAN: u64 = 48;

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

/// Runs `ops` against the model; returns the final counters (the decoder soak tallies them).
pub(crate) fn run(ops: &[Op], max_pending: usize) -> Result<Counters, TestCaseError> {
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
                v.set_ranges_tr(&mut tr, &ranges).unwrap();
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
                // Entries that left, or came back fresh, forget their lost pair.
                let now = m.ranges.clone();
                m.lone.retain(|&i, _| {
                    now.iter().any(|r| r.contains(i)) && old.iter().any(|r| r.contains(i))
                });
            }
            Op::Release => {
                v.release(&mut tr);
                prop_assert_eq!(tr.total(), 0);
                m.ranges.clear();
                m.entries.clear();
                m.pending.clear();
                m.lone.clear();
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
    let counters = *v.counters();
    v.release(&mut tr);
    prop_assert_eq!(tr.total(), 0);
    prop_assert_eq!(v.counters().pins_total, v.counters().unpins_total);
    Ok(counters)
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

// Pins taken with the caller's lock released: what may happen between a plan and its commit.

#[test]
fn an_unmap_waits_for_a_pin_out_and_the_retry_waits_for_the_unmap() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    let t = ticket(&mut v, 1, 0, 8, pte(5));
    let pinned = pin(&mut tr, &t);
    assert_eq!(tr.pins(5), 1);
    // The VMM unmaps frame 5 while the writer holds its pin outside the lock: the unmap must
    // wait, or type1 would find the page still pinned when the callback returns.
    assert!(v.begin_unmap(5, 1));
    assert!(v.pins_out_in(5, 1));
    assert!(!v.pins_out_in(6, 10));
    let c = v.commit_write(t, pinned);
    assert_eq!((c.pte, c.unpin), (None, [Some(5), None]));
    let r = c.retry.expect("a ticket that raced an unmap is retried");
    // Handed back, but out until the writer unpinned and retired it.
    assert!(v.pins_out_in(5, 1));
    finish(&mut v, &mut tr, &c);
    assert!(!v.pins_out_in(5, 1));
    assert_eq!(tr.total(), 0);
    // No new pin of a frame being unmapped: the retry waits for the unmap to end.
    assert_eq!(v.issue(r), Issue::Wait);
    assert_eq!(v.reserve(5), Issue::Wait);
    let mut out = [0; 4];
    assert_eq!(
        v.take_unmapped(5, 1, &mut out, |_, _| panic!("no entry holds 5")),
        0
    );
    v.end_unmap(5, 1);
    tr.unmapped.insert(5);
    // Now the frame is gone: the retry cannot pin it and the entry goes to scratch.
    let r = issue(&mut v, r);
    let again = pin(&mut tr, &r);
    assert_eq!(again, None);
    let c = v.commit_write(r, again);
    assert_eq!(c.pte, Some(host(pte(5), SCRATCH)));
    assert_eq!((c.unpin, c.retry, c.retire), ([None, None], None, None));
    assert_eq!(v.entry(1), Some((pte(5), None)));
    assert!(!v.pins_out_in(0, u64::MAX));
    let k = v.counters();
    assert_eq!((k.pin_retries, k.invalid_entries, k.pins_now), (1, 1, 0));
}

#[test]
fn pins_out_are_bounded() {
    let mut v = VGgtt::<Std>::new(SCRATCH);
    let outs: Vec<PinOut> = (0..super::MAX_PINS_OUT as u64)
        .map(|g| match v.reserve(g) {
            Issue::Go(o) => o,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(v.reserve(100), Issue::Wait);
    v.retire(outs[3]);
    // Retiring twice, or a slot reused since, changes nothing.
    assert!(matches!(v.reserve(100), Issue::Go(_)));
    v.retire(outs[3]);
    assert!(v.pins_out_in(100, 1));
    assert!(!v.pins_out_in(3, 1));
}

#[test]
fn an_entry_keeps_its_old_pin_until_the_commit() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    let h3 = v.write(&mut tr, 2, 0, 8, pte(3)).unwrap();
    let t = ticket(&mut v, 2, 0, 8, pte(4));
    // Between plan and commit: the guest reads its new value, the GPU still uses the old page,
    // which is still pinned for the entry.
    assert_eq!(v.read(2, 0, 8), pte(4));
    assert_eq!(v.entry(2), Some((pte(4), Some(3))));
    assert_eq!(v.host_pte(2), Some(h3));
    let pinned = pin(&mut tr, &t);
    let c = v.commit_write(t, pinned);
    assert_eq!(c.pte, Some(host(pte(4), 4 + HOST_BASE)));
    assert_eq!(c.unpin, [Some(3), None]);
    finish(&mut v, &mut tr, &c);
    assert_eq!((tr.pins(3), tr.pins(4)), (0, 1));
}

#[test]
fn a_rewrite_during_the_pin_makes_the_ticket_stale() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    let a = ticket(&mut v, 0, 0, 8, pte(6));
    let b = ticket(&mut v, 0, 0, 8, pte(7));
    let (pa, pb) = (pin(&mut tr, &a), pin(&mut tr, &b));
    // The later plan commits first; the earlier ticket is stale whenever it commits.
    let cb = v.commit_write(b, pb);
    assert_eq!(cb.pte, Some(host(pte(7), 7 + HOST_BASE)));
    let ca = v.commit_write(a, pa);
    assert_eq!((ca.pte, ca.unpin, ca.retry), (None, [Some(6), None], None));
    finish(&mut v, &mut tr, &cb);
    finish(&mut v, &mut tr, &ca);
    assert_eq!((tr.pins(6), tr.pins(7)), (0, 1));
    assert_eq!(v.entry(0), Some((pte(7), Some(7))));
    assert_eq!(v.counters().stale_pins, 1);
    // A half write during the pin also makes it stale (the entry is incomplete).
    let c = ticket(&mut v, 0, 0, 8, pte(8));
    let pc = pin(&mut tr, &c);
    let Plan::Done { unpin, .. } = v.plan_write(0, 4, 4, pte(8) >> 32) else {
        panic!("a half write needs no pin");
    };
    assert_eq!(unpin, Some(7));
    tr.unpin(7);
    let cc = v.commit_write(c, pc);
    assert_eq!((cc.pte, cc.unpin), (None, [Some(8), None]));
    finish(&mut v, &mut tr, &cc);
    assert_eq!(tr.total(), 0);
}

#[test]
fn two_tickets_for_one_value_the_later_commit_wins() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    let a = ticket(&mut v, 3, 0, 8, pte(9));
    let b = ticket(&mut v, 3, 0, 8, pte(9));
    let (pa, pb) = (pin(&mut tr, &a), pin(&mut tr, &b));
    let ca = v.commit_write(a, pa);
    let cb = v.commit_write(b, pb);
    assert_eq!(ca.unpin, [None, None]);
    // The later commit replaces the earlier one's pin, handed back once.
    assert_eq!(cb.unpin, [Some(9), None]);
    finish(&mut v, &mut tr, &ca);
    finish(&mut v, &mut tr, &cb);
    assert_eq!(tr.pins(9), 1);
    assert_eq!(v.counters().pins_now, 1);
}

#[test]
fn endless_unmaps_fall_back_to_scratch() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    v.write(&mut tr, 1, 0, 8, pte(2)).unwrap();
    let mut t = ticket(&mut v, 1, 0, 8, pte(3));
    for round in 1..=MAX_PIN_TRIES {
        let p = pin(&mut tr, &t);
        // An unmap elsewhere on every round: the ticket can never be sure.
        v.unmap(&mut tr, 40, 1, |_, _| {});
        let c = v.commit_write(t, p);
        finish(&mut v, &mut tr, &c);
        match c.retry {
            Some(r) => t = issue(&mut v, r),
            None => {
                assert_eq!(round, MAX_PIN_TRIES);
                assert_eq!(c.pte, Some(host(pte(3), SCRATCH)));
                assert_eq!(c.unpin, [Some(3), Some(2)]);
            }
        }
    }
    assert_eq!(tr.total(), 0);
    let k = v.counters();
    assert_eq!(
        (k.pin_retries, k.pin_fallbacks),
        (u64::from(MAX_PIN_TRIES) - 1, 1)
    );
    assert_eq!(v.entry(1), Some((pte(3), None)));
}

#[test]
fn release_and_range_change_make_tickets_stale() {
    let mut tr = Tr::default();
    let mut v = vggtt(&mut tr, &[range(0, 4)]);
    let t = ticket(&mut v, 1, 0, 8, pte(3));
    let p = pin(&mut tr, &t);
    v.release(&mut tr);
    v.set_ranges_tr(&mut tr, &[range(0, 4)]).unwrap();
    // The entry was reset to 0: the ticket no longer matches it.
    let c = v.commit_write(t, p);
    assert_eq!((c.pte, c.unpin, c.retry), (None, [Some(3), None], None));
    finish(&mut v, &mut tr, &c);
    assert_eq!(tr.total(), 0);
}

/// A pin in flight, as the kernel's writer or BAR2 access holds it between unlock and relock.
#[derive(Debug)]
enum Flight {
    /// A write's ticket: planned (`issued` false) or issued; `pinned` once the writer pinned.
    Write {
        ticket: Ticket,
        issued: bool,
        pinned: Option<Option<u64>>,
    },
    /// A BAR2 access's own pin, `Some` once pinned.
    Access(PinOut, Option<bool>),
}

#[derive(Debug, Clone)]
pub(crate) enum COp {
    /// Plan a guest write (as `Op::Write`); its ticket is left in flight.
    Plan(u64, u8, u64, u64),
    /// The k-th flight takes its next step: issue, pin.
    Step(usize),
    /// The k-th flight finishes (commit, or unpin for an access), taking its steps first.
    Commit(usize),
    /// A BAR2 access starts on a frame.
    Access(u64),
    /// The VMM starts unmapping [gfn, gfn + count) (at most one at a time, as type1).
    UnmapBegin(u64, u64),
    /// The unmap takes the entries' pins and ends, if no pin of its range is out.
    UnmapEnd,
    Map(u64, u64),
    Ranges(Vec<(u64, u64)>),
    Release,
}

fn cop() -> impl Strategy<Value = COp> {
    prop_oneof![
        8 => (0..SPAN + 4, 0u8..8, 0..FRAMES + 4, 0u64..16)
            .prop_map(|(i, k, f, b)| COp::Plan(i % 12, k, f % 12, b)),
        8 => (0usize..8).prop_map(COp::Step),
        6 => (0usize..8).prop_map(COp::Commit),
        1 => (0..14u64).prop_map(COp::Access),
        2 => (0..12u64, 1u64..4).prop_map(|(g, n)| COp::UnmapBegin(g, n)),
        3 => Just(COp::UnmapEnd),
        2 => (0..12u64, 1u64..4).prop_map(|(g, n)| COp::Map(g, n)),
        1 => proptest::collection::vec((0..12u64, 0u64..12), 0..3).prop_map(COp::Ranges),
        1 => Just(COp::Release),
    ]
}

fn guest_value(kind: u8, frame: u64, bits: u64) -> (u8, usize, u64) {
    let (offset, len) = match kind {
        0..=2 => (0, 8),
        3 | 4 => (0, 4),
        5 | 6 => (4, 4),
        _ => (4, 8),
    };
    let guest = GgttPte::new(frame).raw() | ((bits & 0x7) << 1) | ((bits >> 3) << 63);
    let guest = if bits == 15 { guest & !1 } else { guest };
    let value = if offset == 4 && len == 4 {
        guest >> 32
    } else {
        guest
    };
    (offset, len, value)
}

/// The world of the interleaving test: the vGPU's books, VFIO's pins, the physical GGTT.
struct World {
    v: VGgtt<Std>,
    tr: Tr,
    phys: HashMap<u64, u64>,
    flights: Vec<Flight>,
    unmap: Option<(u64, u64)>,
}

impl World {
    /// Takes flight `k`'s next step; `false` if it must wait (issue refused) or has no step left.
    fn step(&mut self, k: usize) -> bool {
        let Some(f) = self.flights.get_mut(k) else {
            return false;
        };
        match f {
            Flight::Write {
                ticket,
                issued: issued @ false,
                ..
            } => match self.v.issue(*ticket) {
                Issue::Go(t) => {
                    *ticket = t;
                    *issued = true;
                    true
                }
                Issue::Wait => false,
                Issue::Stale => {
                    self.flights.remove(k);
                    true
                }
            },
            Flight::Write {
                ticket,
                pinned: pinned @ None,
                ..
            } => {
                *pinned = Some(pin(&mut self.tr, ticket));
                true
            }
            Flight::Access(out, pinned @ None) => {
                *pinned = Some(self.tr.pin(out.gfn()).is_ok());
                true
            }
            _ => false,
        }
    }

    /// Finishes flight `k` if it can (it is issued); as the kernel: install, unpin after
    /// unlocking, retire, retry.
    fn land(&mut self, k: usize) {
        while self.step(k) {}
        let Some(f) = self.flights.get(k) else {
            return;
        };
        match *f {
            Flight::Write {
                ticket,
                issued: true,
                pinned,
            } => {
                self.flights.remove(k);
                let pinned = pinned.unwrap_or_else(|| pin(&mut self.tr, &ticket));
                let c = self.v.commit_write(ticket, pinned);
                if let Some(pte) = c.pte {
                    self.phys.insert(ticket.index(), pte);
                }
                finish(&mut self.v, &mut self.tr, &c);
                if let Some(r) = c.retry {
                    self.flights.push(Flight::Write {
                        ticket: r,
                        issued: false,
                        pinned: None,
                    });
                }
            }
            Flight::Access(out, Some(pinned)) => {
                self.flights.remove(k);
                if pinned {
                    self.tr.unpin(out.gfn());
                }
                self.v.retire(out);
            }
            _ => {}
        }
    }

    /// Ends the running unmap if no pin of its range is out: takes the entries' pins (scrub,
    /// then unpin) and checks what type1 checks when the callback returns.
    fn end_unmap(&mut self) -> Result<bool, TestCaseError> {
        let Some((gfn, count)) = self.unmap else {
            return Ok(true);
        };
        if self.v.pins_out_in(gfn, count) {
            return Ok(false);
        }
        let mut out = [0u64; 3];
        loop {
            let phys = &mut self.phys;
            let n = self.v.take_unmapped(gfn, count, &mut out, |i, h| {
                phys.insert(i, h);
            });
            for &g in &out[..n] {
                self.tr.unpin(g);
            }
            if n < out.len() {
                break;
            }
        }
        self.v.end_unmap(gfn, count);
        for g in gfn..gfn + count {
            prop_assert_eq!(self.tr.pins(g), 0, "gfn {} still pinned after dma_unmap", g);
        }
        self.tr.unmapped.extend(gfn..gfn + count);
        self.unmap = None;
        Ok(true)
    }

    /// What must hold at every instant, whatever is in flight.
    fn check(&self, quiet: bool) -> Result<(), TestCaseError> {
        let (v, tr) = (&self.v, &self.tr);
        let mut held: HashMap<u64, u32> = HashMap::new();
        let mut entries = 0;
        for index in 0..SPAN + 4 {
            let Some((guest, pin)) = v.entry(index) else {
                continue;
            };
            let h = v.host_pte(index).unwrap();
            prop_assert_eq!(self.phys.get(&index).copied(), Some(h), "phys {}", index);
            match pin {
                Some(g) => {
                    // The entry maps exactly the frame pinned for it, and that frame is mapped.
                    prop_assert_eq!(
                        GgttPte::from_raw(h).frame(),
                        g + HOST_BASE,
                        "host {}",
                        index
                    );
                    prop_assert!(tr.mapped(g), "entry {} holds unmapped frame {}", index, g);
                    *held.entry(g).or_insert(0) += 1;
                    entries += 1;
                    if quiet {
                        prop_assert_eq!(GgttPte::from_raw(guest).frame(), g, "settled {}", index);
                    }
                }
                None => {
                    prop_assert_eq!(GgttPte::from_raw(h).frame(), SCRATCH, "scratch {}", index)
                }
            }
        }
        for f in &self.flights {
            match *f {
                Flight::Write {
                    ticket,
                    issued,
                    pinned,
                } => {
                    if pinned == Some(Some(ticket.gfn() + HOST_BASE)) {
                        *held.entry(ticket.gfn()).or_insert(0) += 1;
                    }
                    // Only an issued ticket pins, and an issued ticket is out.
                    prop_assert!(issued || pinned.is_none());
                    if issued {
                        prop_assert!(v.pins_out_in(ticket.gfn(), 1));
                    }
                }
                Flight::Access(out, pinned) => {
                    if pinned == Some(true) {
                        *held.entry(out.gfn()).or_insert(0) += 1;
                    }
                    prop_assert!(v.pins_out_in(out.gfn(), 1));
                }
            }
        }
        for gfn in 0..FRAMES + 4 {
            prop_assert_eq!(
                tr.pins(gfn),
                held.get(&gfn).copied().unwrap_or(0),
                "pins of {}",
                gfn
            );
        }
        prop_assert_eq!(v.counters().pins_now, entries);
        Ok(())
    }
}

/// Runs `ops` in the interleaving world; returns the final counters (the decoder soak tallies
/// them).
pub(crate) fn run_concurrent(ops: &[COp]) -> Result<Counters, TestCaseError> {
    let mut w = World {
        v: VGgtt::<Std>::new(SCRATCH),
        tr: Tr::default(),
        phys: HashMap::new(),
        flights: Vec::new(),
        unmap: None,
    };
    w.v.set_ranges_tr(&mut w.tr, &[range(0, 8)]).unwrap();
    for i in 0..8 {
        w.phys.insert(i, w.v.scratch_pte(0));
    }
    for op in ops {
        match *op {
            COp::Plan(index, kind, frame, bits) => {
                let (offset, len, value) = guest_value(kind, frame, bits);
                match w.v.plan_write(index, offset, len, value) {
                    Plan::Ignored => {}
                    Plan::Done { pte, unpin } => {
                        w.phys.insert(index, pte);
                        if let Some(g) = unpin {
                            w.tr.unpin(g);
                        }
                    }
                    Plan::Pin(ticket) => w.flights.push(Flight::Write {
                        ticket,
                        issued: false,
                        pinned: None,
                    }),
                }
            }
            COp::Step(k) => {
                w.step(k);
            }
            COp::Commit(k) => w.land(k),
            COp::Access(gfn) => {
                if let Issue::Go(out) = w.v.reserve(gfn) {
                    w.flights.push(Flight::Access(out, None));
                }
            }
            COp::UnmapBegin(gfn, count) => {
                if w.unmap.is_none() {
                    prop_assert!(w.v.begin_unmap(gfn, count));
                    w.unmap = Some((gfn, count));
                }
            }
            COp::UnmapEnd => {
                w.end_unmap()?;
            }
            COp::Map(gfn, count) => {
                for g in gfn..gfn + count {
                    w.tr.unmapped.remove(&g);
                }
            }
            COp::Ranges(ref rs) => {
                let ranges: Vec<Range> = rs.iter().map(|&(s, l)| range(s, l)).collect();
                let old: Vec<u64> = (0..SPAN + 4).filter(|&i| w.v.entry(i).is_some()).collect();
                w.v.set_ranges_tr(&mut w.tr, &ranges).unwrap();
                for index in 0..SPAN + 4 {
                    if w.v.entry(index).is_none() {
                        w.phys.remove(&index);
                    } else if !old.contains(&index) {
                        w.phys.insert(index, w.v.scratch_pte(0));
                    }
                }
            }
            COp::Release => {
                w.v.release(&mut w.tr);
                w.phys.clear();
            }
        }
        w.check(false)?;
    }
    // Everyone finishes, as the kernel's waits allow: flights that can land do, which lets the
    // unmap end, which lets the waiting flights issue.
    let mut rounds = 0;
    while !w.flights.is_empty() || w.unmap.is_some() {
        rounds += 1;
        prop_assert!(rounds < 10_000, "no progress: {:?}", w.flights);
        for k in (0..w.flights.len()).rev() {
            w.land(k);
            w.check(false)?;
        }
        w.end_unmap()?;
        w.check(false)?;
    }
    w.check(true)?;
    let counters = *w.v.counters();
    w.v.release(&mut w.tr);
    prop_assert_eq!(w.tr.total(), 0);
    prop_assert_eq!(w.v.counters().pins_total, w.v.counters().unpins_total);
    prop_assert!(!w.v.pins_out_in(0, u64::MAX));
    Ok(counters)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Plans, issues, pins, commits, BAR2 pins, unmaps, range changes and releases in any
    /// interleaving: every pin is dropped exactly once (`Tr` panics on a second unpin, and
    /// nothing is left at the end), no entry ever maps a frame that is not pinned for it or that
    /// the VMM unmapped, and when an unmap ends no page of its range is pinned any more.
    #[test]
    fn interleavings_keep_pins_exact(
        ops in proptest::collection::vec(cop(), 1..160),
    ) {
        run_concurrent(&ops)?;
    }
}
