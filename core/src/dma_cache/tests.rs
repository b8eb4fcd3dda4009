use super::*;
use crate::storage::Std;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

type Cache = DmaCache<Std>;

/// The DMA frame the fake IOMMU gives the n-th mapping (never reused).
fn dma_for(n: u64) -> u64 {
    0x8_0000 + n * 7
}

#[test]
fn hit_counts_holders_and_last_release_unmaps() {
    let mut c = Cache::new();
    assert_eq!(c.acquire(5), Ok(Acquire::Pin));
    assert_eq!(c.pins_out(), 1);
    assert_eq!(c.finish_pin(5, 100), Finish::Inserted);
    assert_eq!(c.pins_out(), 0);
    assert_eq!(c.acquire(5), Ok(Acquire::Hit(100)));
    assert_eq!(c.get(5).map(Mapping::refs), Some(2));
    assert_eq!(c.gfn_of(100), Some(5));
    assert_eq!(c.release(5), None);
    let m = c.release(5).expect("last holder unmaps");
    assert_eq!((m.gfn, m.dma), (5, 100));
    assert!(c.is_empty());
    assert_eq!(c.gfn_of(100), None);
}

#[test]
fn unmap_goes_stale_refuses_new_pins_and_undoes_pins_out() {
    let mut c = Cache::new();
    assert_eq!(c.acquire(1), Ok(Acquire::Pin));
    assert_eq!(c.finish_pin(1, 10), Finish::Inserted);
    assert_eq!(c.acquire(2), Ok(Acquire::Pin));
    c.begin_unmap(0, 4);
    assert!(c.pins_out_in(0, 4));
    assert!(!c.pins_out_in(3, 4));
    // The pin made before the unmap is undone, and stays out until then.
    assert_eq!(c.finish_pin(2, 20), Finish::Undo);
    assert!(c.pins_out_in(0, 4));
    c.cancel_pin(2);
    assert!(!c.pins_out_in(0, 4));
    let mut out = [Mapping {
        gfn: 0,
        dma: 0,
        refs: 0,
    }; 4];
    assert_eq!(c.take_range(0, 4, &mut out), 1);
    assert_eq!((out[0].gfn, out[0].dma), (1, 10));
    c.end_unmap();
    assert_eq!(c.acquire(3), Ok(Acquire::Refused));
    // The holder of the unmapped page lets go: counted, nothing returned.
    assert_eq!(c.release(1), None);
    assert_eq!(c.counters().stale_releases, 1);
    assert!(c.clear_stale());
    assert_eq!(c.acquire(3), Ok(Acquire::Pin));
}

#[test]
fn clear_stale_waits_for_running_unmaps() {
    let mut c = Cache::new();
    c.begin_unmap(0, 1);
    assert!(!c.clear_stale());
    c.end_unmap();
    assert!(c.clear_stale());
    assert!(!c.is_stale());
}

#[test]
fn duplicate_pin_joins_the_first_mapping() {
    let mut c = Cache::new();
    assert_eq!(c.acquire(9), Ok(Acquire::Pin));
    assert_eq!(c.acquire(9), Ok(Acquire::Pin));
    assert_eq!(c.finish_pin(9, 1), Finish::Inserted);
    assert_eq!(c.finish_pin(9, 2), Finish::Duplicate(1));
    c.cancel_pin(9);
    assert_eq!(c.pins_out(), 0);
    assert_eq!(c.get(9).map(Mapping::refs), Some(2));
}

#[test]
fn two_guest_frames_may_share_a_dma_frame() {
    let mut c = Cache::new();
    for g in [7, 3] {
        assert_eq!(c.acquire(g), Ok(Acquire::Pin));
        assert_eq!(c.finish_pin(g, 50), Finish::Inserted);
    }
    assert_eq!(c.gfn_of(50), Some(3));
    assert_eq!(c.release(3).map(|m| m.gfn), Some(3));
    assert_eq!(c.gfn_of(50), Some(7));
    assert_eq!(c.release(7).map(|m| m.gfn), Some(7));
    assert_eq!(c.gfn_of(50), None);
}

#[test]
fn a_pin_never_registered_is_refused() {
    let mut c = Cache::new();
    assert_eq!(c.finish_pin(4, 1), Finish::Undo);
    assert!(c.is_empty());
}

#[test]
fn take_range_stops_at_the_range_and_the_batch() {
    let mut c = Cache::new();
    for g in 0..10 {
        assert_eq!(c.acquire(g), Ok(Acquire::Pin));
        assert_eq!(c.finish_pin(g, 100 + g), Finish::Inserted);
    }
    c.begin_unmap(2, 5);
    let mut out = [Mapping {
        gfn: 0,
        dma: 0,
        refs: 0,
    }; 3];
    assert_eq!(c.take_range(2, 5, &mut out), 3);
    assert_eq!(out.map(|m| m.gfn), [2, 3, 4]);
    assert_eq!(c.take_range(2, 5, &mut out), 2);
    assert_eq!(out[..2].iter().map(|m| m.gfn).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(c.take_range(2, 5, &mut out), 0);
    c.end_unmap();
    assert_eq!(c.len(), 5);
    assert_eq!(c.gfn_of(107), Some(7));
    assert_eq!(c.gfn_of(104), None);
}

/// One step of the random protocol run below.
#[derive(Debug, Clone)]
enum Op {
    /// A holder wants `gfn` (a shadow entry being built).
    Acquire(u64),
    /// The k-th pin out finishes (the page pinned and mapped meanwhile).
    Finish(usize),
    /// The k-th holder lets go (its tree or entry released).
    Release(usize),
    /// The VMM unmaps [first, first + count).
    Unmap(u64, u64),
    /// The shadow drops every tree and the cache leaves stale.
    Rebuild,
    /// The device closes.
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..24).prop_map(Op::Acquire),
        3 => (0usize..8).prop_map(Op::Finish),
        3 => (0usize..16).prop_map(Op::Release),
        1 => (0u64..24, 1u64..8).prop_map(|(f, n)| Op::Unmap(f, n)),
        1 => Just(Op::Rebuild),
        1 => Just(Op::Close),
    ]
}

/// The host side: real pins (a multiset of guest frames pinned), the DMA
/// frames mapped, and the holders as the shadow entries would be.
#[derive(Default)]
struct World {
    next_dma: u64,
    /// Pins made by the host and not undone: gfn -> count.
    pinned: BTreeMap<u64, u32>,
    /// DMA frames mapped now -> gfn.
    mapped: BTreeMap<u64, u64>,
    /// (gfn, dma) per holder.
    holders: Vec<(u64, u64)>,
    /// Pins out: (gfn, dma the host made for it).
    out: Vec<(u64, u64)>,
}

impl World {
    fn pin(&mut self, gfn: u64) -> u64 {
        self.next_dma += 1;
        let dma = dma_for(self.next_dma);
        *self.pinned.entry(gfn).or_default() += 1;
        assert!(self.mapped.insert(dma, gfn).is_none());
        dma
    }

    fn unpin(&mut self, gfn: u64, dma: u64) {
        assert_eq!(self.mapped.remove(&dma), Some(gfn), "unmapped twice");
        let n = self.pinned.get_mut(&gfn).expect("unpinned twice");
        *n -= 1;
        if *n == 0 {
            self.pinned.remove(&gfn);
        }
    }

    fn drain(&mut self, c: &mut Cache, first: Option<(u64, u64)>) {
        let mut batch = [Mapping {
            gfn: 0,
            dma: 0,
            refs: 0,
        }; 3];
        loop {
            let n = match first {
                Some((f, k)) => c.take_range(f, k, &mut batch),
                None => c.take_all(&mut batch),
            };
            for m in &batch[..n] {
                self.unpin(m.gfn, m.dma);
            }
            if n < batch.len() {
                break;
            }
        }
    }
}

fn check(c: &Cache, w: &World) -> Result<(), TestCaseError> {
    // Every page mapped by the host is in the cache or a pin out, and the
    // cache's holder counts are the holders'.
    let mut holders: BTreeMap<u64, u32> = BTreeMap::new();
    for &(g, _) in &w.holders {
        *holders.entry(g).or_default() += 0;
        if c.get(g).is_some() {
            *holders.entry(g).or_default() += 1;
        }
    }
    for m in c.by_gfn.iter() {
        prop_assert!(m.refs > 0);
        prop_assert_eq!(w.mapped.get(&m.dma), Some(&m.gfn));
        prop_assert_eq!(c.gfn_of(m.dma), Some(m.gfn));
        prop_assert_eq!(holders.get(&m.gfn).copied(), Some(m.refs));
    }
    prop_assert_eq!(c.by_dma.len(), c.by_gfn.len());
    prop_assert!(c.by_gfn.windows(2).all(|p| p[0].gfn < p[1].gfn));
    prop_assert!(c.by_dma.windows(2).all(|p| p[0] < p[1]));
    let out: BTreeSet<u64> = w.out.iter().map(|p| p.1).collect();
    for (&dma, &g) in &w.mapped {
        prop_assert!(
            c.get(g).map(|m| m.dma) == Some(dma) || out.contains(&dma),
            "host mapping {dma:#x} of {g} leaked"
        );
    }
    prop_assert_eq!(c.pins_out(), w.out.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The protocol the kernel follows, in random order: every page pinned
    /// is unpinned exactly once, no page stays pinned after an unmap of it
    /// or a close, the holder counts are exact, and while stale nothing new
    /// is pinned.
    #[test]
    fn random_protocol_balances_every_pin(ops in proptest::collection::vec(op(), 1..120)) {
        let mut c = Cache::new();
        let mut w = World::default();
        for op in ops {
            match op {
                Op::Acquire(g) => match c.acquire(g).map_err(|_| TestCaseError::fail("alloc"))? {
                    Acquire::Hit(dma) => {
                        prop_assert_eq!(c.get(g).map(|m| m.dma), Some(dma));
                        w.holders.push((g, dma));
                    }
                    Acquire::Pin => {
                        prop_assert!(!c.is_stale());
                        let dma = w.pin(g);
                        w.out.push((g, dma));
                    }
                    Acquire::Refused => prop_assert!(c.is_stale()),
                },
                Op::Finish(k) if k < w.out.len() => {
                    let (g, dma) = w.out.remove(k);
                    let stale = c.is_stale();
                    match c.finish_pin(g, dma) {
                        Finish::Inserted => {
                            prop_assert!(!stale);
                            w.holders.push((g, dma));
                        }
                        Finish::Duplicate(first) => {
                            w.unpin(g, dma);
                            c.cancel_pin(g);
                            w.holders.push((g, first));
                        }
                        Finish::Undo => {
                            prop_assert!(stale);
                            w.unpin(g, dma);
                            c.cancel_pin(g);
                        }
                    }
                }
                Op::Finish(_) => {}
                Op::Release(k) if k < w.holders.len() => {
                    let (g, dma) = w.holders.swap_remove(k);
                    let last = !w.holders.iter().any(|h| h.0 == g);
                    match c.release(g) {
                        Some(m) => {
                            prop_assert!(last);
                            prop_assert_eq!((m.gfn, m.dma), (g, dma));
                            w.unpin(g, dma);
                        }
                        None => prop_assert!(!last || c.get(g).is_none()),
                    }
                }
                Op::Release(_) => {}
                Op::Unmap(first, count) => {
                    c.begin_unmap(first, count);
                    // The pins out of the range end first (refused: stale).
                    while let Some(k) = w.out.iter().position(|p| p.0 >= first && p.0 - first < count) {
                        let (g, dma) = w.out.remove(k);
                        match c.finish_pin(g, dma) {
                            // Another pin of the frame got in first.
                            Finish::Duplicate(first) => w.holders.push((g, first)),
                            f => prop_assert_eq!(f, Finish::Undo),
                        }
                        w.unpin(g, dma);
                        c.cancel_pin(g);
                    }
                    prop_assert!(!c.pins_out_in(first, count));
                    w.drain(&mut c, Some((first, count)));
                    c.end_unmap();
                    // Nothing of the range stays pinned.
                    prop_assert!(w.pinned.keys().all(|&g| g < first || g - first >= count));
                }
                Op::Rebuild => {
                    // The shadow drops every tree: every holder lets go.
                    for (g, dma) in core::mem::take(&mut w.holders) {
                        if let Some(m) = c.release(g) {
                            prop_assert_eq!(m.dma, dma);
                            w.unpin(g, dma);
                        }
                    }
                    prop_assert!(c.is_empty());
                    prop_assert!(c.clear_stale());
                }
                Op::Close => {
                    // Close stops the engines first: the pins out end.
                    for (g, dma) in core::mem::take(&mut w.out) {
                        match c.finish_pin(g, dma) {
                            Finish::Inserted => w.holders.push((g, dma)),
                            Finish::Duplicate(first) => {
                                w.unpin(g, dma);
                                c.cancel_pin(g);
                                w.holders.push((g, first));
                            }
                            Finish::Undo => {
                                w.unpin(g, dma);
                                c.cancel_pin(g);
                            }
                        }
                    }
                    // Everything goes, holders or not; their later
                    // releases find nothing.
                    w.drain(&mut c, None);
                    prop_assert!(c.is_empty());
                    prop_assert!(w.pinned.is_empty(), "pins left after close: {:?}", w.pinned);
                    for (g, _) in core::mem::take(&mut w.holders) {
                        prop_assert_eq!(c.release(g), None);
                    }
                    prop_assert!(c.clear_stale());
                }
            }
            check(&c, &w)?;
        }
    }
}
