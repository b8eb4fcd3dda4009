//! Unit tests of the shadow tables against the reference walk of [`Sim::model`].

use super::sim::{Sim, HOST_BASE};
use super::{Error, Params, Policy, Tables, Target};
use crate::pte::{Entry, Level};
use crate::storage::Std;
use std::vec::Vec;

const ROOT: u64 = 1;
const PDP: u64 = 2;
const PD: u64 = 3;
const PT: u64 = 4;
const PT2: u64 = 5;
const PT3: u64 = 6;
const DATA: u64 = 100;
const FRAMES: u64 = 1024;

fn ptr(gfn: u64) -> u64 {
    Entry::pointer(gfn).raw()
}

fn va(pml4: u64, pdp: u64, pd: u64, pt: u64) -> u64 {
    (pml4 << 39) | (pdp << 30) | (pd << 21) | (pt << 12)
}

/// A guest with ROOT -> PDP -> PD -> PT, the PT mapping 8 data pages.
fn guest() -> Sim {
    let mut sim = Sim::new(FRAMES);
    sim.set_entry(ROOT, 0, ptr(PDP));
    sim.set_entry(PDP, 0, ptr(PD));
    sim.set_entry(PD, 0, ptr(PT));
    for i in 0..8 {
        sim.set_entry(PT, i, ptr(DATA + i as u64));
    }
    sim
}

fn tables(sim: &mut Sim, params: Params) -> (Tables<Std>, u64) {
    let mut t = Tables::<Std>::new(sim, params).unwrap();
    let root = t.attach(sim, ROOT).unwrap();
    (t, root)
}

fn strict() -> Params {
    Params {
        policy: Policy::Strict,
        ..Params::default()
    }
}

/// A guest write: into guest memory, then through the trap if the page is protected.
fn write(
    t: &mut Tables<Std>,
    sim: &mut Sim,
    gfn: u64,
    off: usize,
    data: &[u8],
) -> Result<(), Error> {
    if sim.guest_write(gfn, off, data) {
        t.write(sim, gfn, off, data, 0)
    } else {
        Ok(())
    }
}

fn write64(
    t: &mut Tables<Std>,
    sim: &mut Sim,
    gfn: u64,
    index: usize,
    v: u64,
) -> Result<(), Error> {
    write(t, sim, gfn, index * 8, &v.to_le_bytes())
}

fn expect(sim: &Sim, va: u64) -> Target {
    match sim.model(ROOT, va) {
        Some(h) => Target::Frame(h),
        None => Target::Scratch,
    }
}

/// Compares the shadow with the model over the first 4 entries of the upper levels.
fn check(t: &Tables<Std>, sim: &Sim, root: u64) {
    for a in 0..2 {
        for b in 0..4 {
            for c in 0..4 {
                for d in 0..512 {
                    let v = va(a, b, c, d);
                    assert_eq!(t.translate(sim, root, v), expect(sim, v), "va {v:#x}");
                }
            }
        }
    }
}

fn assert_released(t: Tables<Std>, mut sim: Sim) {
    t.destroy(&mut sim);
    assert_eq!(sim.total_pins(), 0);
    assert_eq!(sim.protected_frames(), 0);
    assert_eq!(sim.live_pages(), 0);
}

#[test]
fn build_translate_destroy() {
    let mut sim = guest();
    let (t, root) = tables(&mut sim, Params::default());
    check(&t, &sim, root);
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 3)),
        Target::Frame(HOST_BASE + DATA + 3)
    );
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 9)), Target::Scratch);
    assert_eq!(t.counters().pins_now, 8);
    assert_eq!(t.counters().pages_now, 4);
    assert_eq!(sim.protected_frames(), 4);
    assert_released(t, sim);
}

#[test]
fn cache_bits_survive_shadowing_and_nothing_else_does() {
    let mut sim = guest();
    // PWT, PCD and PAT (the PPAT index) and bit 62, which gen8 reserves.
    let guest_pte = ptr(DATA) | 0x98 | (1 << 62);
    sim.set_entry(PT, 0, guest_pte);
    let (t, root) = tables(&mut sim, strict());
    let pt_mfn = Entry::from_raw(sim_read(&sim, root, Level::Pd, va(0, 0, 0, 0))).frame();
    let shadow = crate::shadow::Store::read(&sim, pt_mfn, 0).unwrap();
    assert_eq!(
        shadow,
        Entry::from_raw(ptr(DATA) | 0x98)
            .with_frame(HOST_BASE + DATA)
            .raw()
    );
    assert_eq!(shadow & (1 << 62), 0);
    assert_released(t, sim);
}

/// Reads the shadow entry of `level` on the walk of `va` (the entry pointing at the next level).
fn sim_read(sim: &Sim, root: u64, level: Level, v: u64) -> u64 {
    let mut mfn = root;
    for l in Level::ALL {
        let e = crate::shadow::Store::read(sim, mfn, l.index(v)).unwrap();
        if l == level {
            return e;
        }
        mfn = Entry::from_raw(e).frame();
    }
    unreachable!()
}

#[test]
fn strict_write_updates_shadow_at_once() {
    let mut sim = guest();
    let (mut t, root) = tables(&mut sim, strict());
    write64(&mut t, &mut sim, PT, 3, ptr(DATA + 50)).unwrap();
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 3)),
        Target::Frame(HOST_BASE + DATA + 50)
    );
    write64(&mut t, &mut sim, PT, 4, 0).unwrap();
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 4)), Target::Scratch);
    assert_eq!(t.counters().traps_pt, 2);
    assert_eq!(t.counters().emulated_writes, 2);
    assert_eq!(sim.pins(DATA + 3), 0);
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn half_written_entry_parks_on_scratch() {
    let mut sim = guest();
    let (mut t, root) = tables(&mut sim, strict());
    let new = ptr(DATA + 7) | (1 << 40); // high half differs too
    let lo = (new as u32).to_le_bytes();
    let hi = ((new >> 32) as u32).to_le_bytes();
    // Low half first: the entry is neither old nor new, so it parks.
    write(&mut t, &mut sim, PT, 2 * 8, &lo).unwrap();
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 2)), Target::Scratch);
    assert_eq!(t.counters().parked_now, 1);
    write(&mut t, &mut sim, PT, 2 * 8 + 4, &hi).unwrap();
    assert_eq!(t.counters().parked_now, 0);
    assert_eq!(t.counters().partial_writes, 2);
    check(&t, &sim, root);
    // High half first works the same way.
    let new = ptr(DATA + 9);
    write(
        &mut t,
        &mut sim,
        PT,
        5 * 8 + 4,
        &((new >> 32) as u32).to_le_bytes(),
    )
    .unwrap();
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 5)), Target::Scratch);
    write(&mut t, &mut sim, PT, 5 * 8, &(new as u32).to_le_bytes()).unwrap();
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 5)),
        Target::Frame(HOST_BASE + DATA + 9)
    );
    // A lone half whose partner never comes is finished before the workload runs.
    write(
        &mut t,
        &mut sim,
        PT,
        6 * 8,
        &(ptr(DATA + 11) as u32).to_le_bytes(),
    )
    .unwrap();
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 6)), Target::Scratch);
    t.before_submit(&mut sim).unwrap();
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 6)),
        Target::Frame(HOST_BASE + DATA + 11)
    );
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn odd_writes_are_rejected_and_resynced() {
    let mut sim = guest();
    let (mut t, root) = tables(&mut sim, strict());
    let v = ptr(DATA + 20).to_le_bytes();
    assert_eq!(write(&mut t, &mut sim, PT, 8 + 4, &v), Err(Error::BadWrite));
    assert_eq!(
        write(&mut t, &mut sim, PT, 3 * 8, &v[..2]),
        Err(Error::BadWrite)
    );
    assert_eq!(
        write(&mut t, &mut sim, PT, 4094, &v[..4]),
        Err(Error::BadWrite)
    );
    assert_eq!(t.counters().rejected_writes, 3);
    // Whatever reached guest memory is what the shadow shows.
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn shared_page_table_page() {
    let mut sim = guest();
    sim.set_entry(PD, 1, ptr(PT));
    sim.set_entry(PDP, 1, ptr(PD));
    let (mut t, root) = tables(&mut sim, strict());
    assert_eq!(t.counters().pages_now, 4);
    // One shadow PT, reachable four ways, each pin taken once.
    assert_eq!(t.counters().pins_now, 8);
    write64(&mut t, &mut sim, PT, 1, ptr(DATA + 30)).unwrap();
    for (b, c) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        assert_eq!(
            t.translate(&sim, root, va(0, b, c, 1)),
            Target::Frame(HOST_BASE + DATA + 30)
        );
    }
    // Dropping one reference keeps the page for the others.
    write64(&mut t, &mut sim, PD, 0, 0).unwrap();
    assert_eq!(t.counters().pages_now, 4);
    assert!(sim.is_protected(PT));
    write64(&mut t, &mut sim, PD, 1, 0).unwrap();
    assert_eq!(t.counters().pages_now, 3);
    assert!(!sim.is_protected(PT));
    assert_eq!(t.counters().pins_now, 0);
    check(&t, &sim, root);
    // A second root sharing the PDP.
    sim.set_entry(7, 0, ptr(PDP));
    let root2 = t.attach(&mut sim, 7).unwrap();
    assert_eq!(t.counters().pages_now, 4);
    assert_eq!(t.attach(&mut sim, 7), Ok(root2));
    t.detach(&mut sim, 7).unwrap();
    t.detach(&mut sim, 7).unwrap();
    assert_eq!(t.detach(&mut sim, 7), Err(Error::NoRoot));
    assert_eq!(t.counters().pages_now, 3);
    assert_released(t, sim);
}

#[test]
fn huge_pages_split_or_refused() {
    let mut sim = guest();
    // 2 MB at frame 512, 64 KB pages under an IPS PDE, a 1 GB entry.
    sim.set_entry(PD, 1, ptr(512) | (1 << 7));
    sim.set_entry(PD, 2, ptr(PT2) | (1 << 11));
    sim.set_entry(PT2, 0, ptr(0x100));
    sim.set_entry(PT2, 16, ptr(0x110) | 0x18);
    sim.set_entry(PT2, 3, ptr(DATA + 0x33)); // ignored under IPS
    let (mut t, root) = tables(&mut sim, strict());
    for k in 0..512 {
        assert_eq!(
            t.translate(&sim, root, va(0, 0, 1, k)),
            Target::Frame(HOST_BASE + 512 + k)
        );
    }
    for k in 0..32 {
        assert_eq!(
            t.translate(&sim, root, va(0, 0, 2, k)),
            Target::Frame(HOST_BASE + 0x100 + k)
        );
    }
    assert_eq!(t.counters().split_2m, 1);
    assert_eq!(t.counters().pins_now, 8 + 512 + 32);
    // A write to a 64 KB entry moves all 16 shadow entries.
    write64(&mut t, &mut sim, PT2, 16, ptr(0x140)).unwrap();
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 2, 17)),
        Target::Frame(HOST_BASE + 0x141)
    );
    write64(&mut t, &mut sim, PT2, 17, ptr(DATA + 0x50)).unwrap();
    check(&t, &sim, root);
    // Dropping the 2 MB entry releases its split page and 512 pins.
    write64(&mut t, &mut sim, PD, 1, 0).unwrap();
    assert_eq!(t.counters().pins_now, 8 + 32);
    // 1 GB entries are refused and map to scratch.
    assert_eq!(
        write64(&mut t, &mut sim, PDP, 1, ptr(0) | (1 << 7)),
        Err(Error::HugePage1G)
    );
    assert_eq!(t.counters().huge_1g, 1);
    assert_eq!(t.translate(&sim, root, va(0, 1, 0, 0)), Target::Scratch);
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn frames_outside_guest_memory_map_to_scratch() {
    let mut sim = guest();
    sim.set_entry(PT, 9, ptr(FRAMES + 5));
    sim.set_entry(PD, 1, ptr(FRAMES * 4));
    let (mut t, root) = tables(&mut sim, strict());
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 9)), Target::Scratch);
    assert_eq!(t.translate(&sim, root, va(0, 0, 1, 0)), Target::Scratch);
    assert_eq!(t.counters().bad_frames, 2);
    write64(&mut t, &mut sim, PT, 10, ptr(u64::MAX >> 12)).unwrap();
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 10)), Target::Scratch);
    assert_eq!(t.counters().bad_frames, 3);
    // A root outside guest memory is refused.
    assert_eq!(t.attach(&mut sim, FRAMES + 1), Err(Error::BadFrame));
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn page_bound_gives_clear_error_and_leaks_nothing() {
    let mut sim = guest();
    let params = Params {
        max_pages: 3,
        ..strict()
    };
    let mut t = Tables::<Std>::new(&mut sim, params).unwrap();
    assert_eq!(t.attach(&mut sim, ROOT), Err(Error::PageLimit));
    assert_eq!(t.counters().page_limit, 1);
    assert_eq!(t.counters().pages_now, 0);
    assert_eq!(sim.total_pins(), 0);
    assert_eq!(sim.protected_frames(), 0);
    // Allocation failures are clean too.
    sim.alloc_budget = Some(2);
    let p = Params {
        max_pages: 100,
        ..Params::default()
    };
    t.set_params(&mut sim, p).unwrap();
    assert_eq!(t.attach(&mut sim, ROOT), Err(Error::Alloc));
    assert_eq!(sim.total_pins(), 0);
    assert_eq!(sim.protected_frames(), 0);
    sim.alloc_budget = None;
    assert_released(t, sim);
}

/// Maps PT, PT2 and PT3 under PD entries 0..3, each with 8 pages.
fn three_pts() -> Sim {
    let mut sim = guest();
    for (i, pt) in [PT, PT2, PT3].into_iter().enumerate() {
        sim.set_entry(PD, i, ptr(pt));
        for k in 0..8 {
            sim.set_entry(pt, k, ptr(DATA + 10 * i as u64 + k as u64));
        }
    }
    sim
}

#[test]
fn reconstruction_runs_before_the_workload_and_not_earlier() {
    let mut sim = guest();
    let params = Params {
        policy: Policy::Segmented,
        threshold: 2,
        ..Params::default()
    };
    let (mut t, root) = tables(&mut sim, params);
    write64(&mut t, &mut sim, PT, 0, ptr(DATA + 40)).unwrap();
    assert!(!t.is_relaxed(PT));
    write64(&mut t, &mut sim, PT, 1, ptr(DATA + 41)).unwrap();
    // The threshold-th trapped write is emulated, then the page relaxes.
    assert!(t.is_relaxed(PT));
    assert!(!sim.is_protected(PT));
    check(&t, &sim, root);
    // Untrapped writes: the shadow lags until the hook runs...
    for i in 2..20 {
        write64(&mut t, &mut sim, PT, i, ptr(DATA + 40 + i as u64)).unwrap();
    }
    assert_eq!(t.counters().traps_pt, 2);
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 7)),
        Target::Frame(HOST_BASE + DATA + 7)
    );
    assert_eq!(t.translate(&sim, root, va(0, 0, 0, 19)), Target::Scratch);
    // ...and covers the very last write once it ran.
    t.before_submit(&mut sim).unwrap();
    check(&t, &sim, root);
    assert_eq!(t.counters().ptes_rebuilt, 18);
    assert_eq!(t.counters().ptes_compared, 512);
    // Segmented: back to strict, so the next write traps again.
    assert!(!t.is_relaxed(PT));
    assert!(sim.is_protected(PT));
    write64(&mut t, &mut sim, PT, 25, ptr(DATA + 99)).unwrap();
    assert_eq!(t.counters().traps_pt, 3);
    check(&t, &sim, root);
    assert_eq!(t.counters().to_relaxed, 1);
    assert_eq!(t.counters().to_strict, 1);
    assert_released(t, sim);
}

#[test]
fn write_window_resets() {
    let mut sim = guest();
    let params = Params {
        policy: Policy::Dynamic,
        threshold: 2,
        window_ns: 1000,
        ..Params::default()
    };
    let (mut t, _root) = tables(&mut sim, params);
    let v = ptr(DATA).to_le_bytes();
    sim.guest_write(PT, 0, &v);
    t.write(&mut sim, PT, 0, &v, 0).unwrap();
    sim.guest_write(PT, 0, &v);
    t.write(&mut sim, PT, 0, &v, 5000).unwrap();
    assert!(!t.is_relaxed(PT));
    sim.guest_write(PT, 0, &v);
    t.write(&mut sim, PT, 0, &v, 5500).unwrap();
    assert!(t.is_relaxed(PT));
    // Dynamic: stays relaxed across submissions.
    t.before_submit(&mut sim).unwrap();
    assert!(t.is_relaxed(PT));
    assert_released(t, sim);
}

#[test]
fn full_pool_evicts_the_oldest_after_syncing_it() {
    let mut sim = three_pts();
    let params = Params {
        policy: Policy::Dynamic,
        threshold: 1,
        pool_pages: 2,
        ..Params::default()
    };
    let (mut t, root) = tables(&mut sim, params);
    write64(&mut t, &mut sim, PT, 0, ptr(DATA + 60)).unwrap();
    write64(&mut t, &mut sim, PT2, 0, ptr(DATA + 61)).unwrap();
    assert!(t.is_relaxed(PT) && t.is_relaxed(PT2));
    // An untrapped write to the oldest relaxed page...
    write64(&mut t, &mut sim, PT, 1, ptr(DATA + 62)).unwrap();
    // ...is picked up when it is evicted to make room, before any submission.
    write64(&mut t, &mut sim, PT3, 0, ptr(DATA + 63)).unwrap();
    assert!(!t.is_relaxed(PT) && t.is_relaxed(PT2) && t.is_relaxed(PT3));
    assert!(sim.is_protected(PT));
    assert_eq!(t.counters().evictions, 1);
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 1)),
        Target::Frame(HOST_BASE + DATA + 62)
    );
    t.before_submit(&mut sim).unwrap();
    check(&t, &sim, root);
    assert_eq!(t.counters().relaxed_now, 2);
    assert_released(t, sim);
}

#[test]
fn policies_switch_without_losing_writes() {
    let mut sim = three_pts();
    let params = Params {
        policy: Policy::Full,
        ..Params::default()
    };
    let (mut t, root) = tables(&mut sim, params);
    assert_eq!(t.counters().relaxed_now, 3);
    assert_eq!(sim.protected_frames(), 3);
    write64(&mut t, &mut sim, PT2, 5, ptr(DATA + 70)).unwrap();
    // Going strict syncs every relaxed page at once.
    t.set_policy(&mut sim, Policy::Strict).unwrap();
    assert_eq!(t.counters().relaxed_now, 0);
    assert_eq!(sim.protected_frames(), 6);
    check(&t, &sim, root);
    t.set_policy(&mut sim, Policy::Full).unwrap();
    assert_eq!(t.counters().relaxed_now, 3);
    write64(&mut t, &mut sim, PT3, 5, ptr(DATA + 71)).unwrap();
    t.set_policy(&mut sim, Policy::Static).unwrap();
    t.before_submit(&mut sim).unwrap();
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn static_policy_keeps_the_most_written_pages() {
    let mut sim = three_pts();
    let params = Params {
        policy: Policy::Static,
        static_pages: 1,
        ..Params::default()
    };
    let (mut t, root) = tables(&mut sim, params);
    write64(&mut t, &mut sim, PT, 0, ptr(DATA + 1)).unwrap();
    assert!(t.is_relaxed(PT));
    write64(&mut t, &mut sim, PT2, 0, ptr(DATA + 2)).unwrap();
    assert!(!t.is_relaxed(PT2));
    write64(&mut t, &mut sim, PT2, 1, ptr(DATA + 3)).unwrap();
    assert!(t.is_relaxed(PT2) && !t.is_relaxed(PT));
    assert_eq!(t.counters().evictions, 1);
    t.before_submit(&mut sim).unwrap();
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn destroy_releases_every_pin_and_protection() {
    let mut sim = three_pts();
    sim.set_entry(PD, 3, ptr(512) | (1 << 7));
    sim.set_entry(7, 0, ptr(PDP));
    let params = Params {
        policy: Policy::Dynamic,
        threshold: 1,
        ..Params::default()
    };
    let (mut t, _root) = tables(&mut sim, params);
    t.attach(&mut sim, 7).unwrap();
    write64(&mut t, &mut sim, PT, 0, ptr(DATA + 1)).unwrap();
    // A relaxed page written behind our back, and a parked half.
    write64(&mut t, &mut sim, PT, 1, ptr(DATA + 2)).unwrap();
    write(
        &mut t,
        &mut sim,
        PT2,
        8,
        &(ptr(DATA + 3) as u32).to_le_bytes(),
    )
    .unwrap();
    let pins: u64 = (0..FRAMES).map(|g| u64::from(sim.pins(g))).sum();
    assert_eq!(pins, 3 * 8 + 512);
    assert_eq!(t.counters().pins_now, pins);
    assert_released(t, sim);
}

#[test]
fn counters_have_unique_names() {
    let mut names = Vec::new();
    super::Counters::default().for_each(|n, v| {
        assert_eq!(v, 0);
        names.push(n);
    });
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n);
}

/// Without write tracking (no write traps), `refresh` sees a change at every level.
#[test]
fn refresh_sees_untracked_changes_at_every_level() {
    let mut sim = guest();
    let (mut t, root) = tables(&mut sim, Params::default());
    let rebuilt = |t: &Tables<Std>| t.counters().ptes_rebuilt;
    // A PTE: the guest remaps page 3 without the write trapping.
    sim.set_entry(PT, 3, ptr(DATA + 50));
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 3)),
        Target::Frame(HOST_BASE + DATA + 3),
        "stale until refreshed"
    );
    let before = rebuilt(&t);
    t.refresh(&mut sim).unwrap();
    assert_eq!(rebuilt(&t), before + 1);
    check(&t, &sim, root);
    // A PDE to another PT, a PDPE to a new PD, a PML4E to a new PDP.
    sim.set_entry(PT2, 0, ptr(DATA + 60));
    sim.set_entry(PD, 1, ptr(PT2));
    sim.set_entry(PT3, 7, ptr(DATA + 70));
    sim.set_entry(20, 0, ptr(PT3));
    sim.set_entry(PDP, 1, ptr(20));
    sim.set_entry(21, 2, ptr(PD));
    sim.set_entry(ROOT, 1, ptr(21));
    t.refresh(&mut sim).unwrap();
    check(&t, &sim, root);
    assert_eq!(
        t.translate(&sim, root, va(0, 1, 0, 7)),
        Target::Frame(HOST_BASE + DATA + 70)
    );
    assert_eq!(
        t.translate(&sim, root, va(1, 2, 1, 0)),
        Target::Frame(HOST_BASE + DATA + 60)
    );
    // Unmapping a subtree releases its pins; refresh again with nothing changed rebuilds nothing.
    sim.set_entry(ROOT, 0, 0);
    t.refresh(&mut sim).unwrap();
    check(&t, &sim, root);
    assert_eq!(t.counters().pins_now, sim.total_pins());
    let before = rebuilt(&t);
    t.refresh(&mut sim).unwrap();
    assert_eq!(rebuilt(&t), before);
    assert_eq!(t.counters().submissions, 4);
    assert_released(t, sim);
}

/// A frame whose writes did not trap (protection late or lost) is brought back by `resync_frame`.
#[test]
fn resync_frame_rebuilds_one_frame_at_any_level() {
    let mut sim = guest();
    let (mut t, root) = tables(&mut sim, Params::default());
    sim.set_entry(PT, 3, ptr(DATA + 50));
    sim.set_entry(PT2, 0, ptr(DATA + 60));
    sim.set_entry(PD, 1, ptr(PT2));
    t.resync_frame(&mut sim, PT).unwrap();
    assert_eq!(
        t.translate(&sim, root, va(0, 0, 0, 3)),
        Target::Frame(HOST_BASE + DATA + 50)
    );
    assert_ne!(
        t.translate(&sim, root, va(0, 0, 1, 0)),
        Target::Frame(HOST_BASE + DATA + 60),
        "only the frame asked for"
    );
    t.resync_frame(&mut sim, PD).unwrap();
    check(&t, &sim, root);
    // A frame with no shadow page: nothing to do.
    t.resync_frame(&mut sim, DATA + 99).unwrap();
    check(&t, &sim, root);
    assert_released(t, sim);
}

#[test]
fn for_each_pt_lists_the_4k_pt_pages_only() {
    let mut sim = guest();
    sim.set_entry(PD, 1, ptr(PT2));
    let (t, _) = tables(&mut sim, strict());
    let mut pts = Vec::new();
    t.for_each_pt(|gfn| pts.push(gfn));
    pts.sort_unstable();
    assert_eq!(pts, [PT, PT2]);
}

/// `refresh_root` compares the pages of its tree only: another tree stays
/// as it was until its own turn, and the work is one tree's pages.
#[test]
fn refresh_root_compares_its_tree_only() {
    const ROOT_B: u64 = 30;
    const PDP_B: u64 = 31;
    const PD_B: u64 = 32;
    const PT_B: u64 = 33;
    let mut sim = guest();
    sim.set_entry(ROOT_B, 0, ptr(PDP_B));
    sim.set_entry(PDP_B, 0, ptr(PD_B));
    sim.set_entry(PD_B, 0, ptr(PT_B));
    sim.set_entry(PT_B, 0, ptr(DATA + 40));
    let (mut t, root_a) = tables(&mut sim, Params::default());
    let root_b = t.attach(&mut sim, ROOT_B).unwrap();
    // Both trees change without a trap.
    sim.set_entry(PT, 3, ptr(DATA + 50));
    sim.set_entry(PT_B, 0, ptr(DATA + 41));
    let compared = t.counters().ptes_compared;
    t.refresh_root(&mut sim, ROOT).unwrap();
    // PML4, PDP, PD and PT of tree A: 4 pages of 512 entries.
    assert_eq!(t.counters().ptes_compared, compared + 4 * 512);
    check(&t, &sim, root_a);
    assert_eq!(
        t.translate(&sim, root_b, va(0, 0, 0, 0)),
        Target::Frame(HOST_BASE + DATA + 40),
        "tree B waits for its own refresh"
    );
    t.refresh_root(&mut sim, ROOT_B).unwrap();
    assert_eq!(
        t.translate(&sim, root_b, va(0, 0, 0, 0)),
        Target::Frame(HOST_BASE + DATA + 41)
    );
    assert_eq!(t.refresh_root(&mut sim, 44), Err(Error::NoRoot));
    t.detach(&mut sim, ROOT_B).unwrap();
    assert_released(t, sim);
}
