//! The scheduler against saturating and random workloads.

use super::*;
use proptest::prelude::*;
use std::vec::Vec;

fn id(n: u32) -> VgpuId {
    VgpuId::new(n).unwrap()
}

/// Runs the engine for `until` ns: `busy(k, now)` says whether vGPU k has work, `len(k, i)` the
/// length of its i-th workload. Returns the picks in order.
fn run(
    s: &mut Scheduler,
    until: u64,
    busy: impl Fn(u32, u64) -> bool,
    len: impl Fn(u32, u64) -> u64,
) -> Vec<(u64, VgpuId)> {
    let mut now = 0;
    let mut picks = Vec::new();
    let mut n = 0u64;
    while now < until {
        match s.pick_next(now, |v| busy(v.index() as u32, now)) {
            Some(p) => {
                assert!(busy(p.vgpu.index() as u32, now), "picked idle {:?}", p.vgpu);
                let ns = len(p.vgpu.index() as u32, n);
                n += 1;
                picks.push((now, p.vgpu));
                now += ns;
                s.account(p.vgpu, ns);
            }
            // Idle engine: time passes until the next workload arrives.
            None => now += 10_000,
        }
    }
    picks
}

#[test]
fn weights_1_2_4_share_within_ten_percent() {
    let mut s = Scheduler::default();
    for (k, w) in [(0, 1), (1, 2), (2, 4)] {
        s.add(id(k), w).unwrap();
    }
    // Saturating: always work; workloads of 0.2 to 2.1 ms, varying per vGPU.
    run(
        &mut s,
        10_000_000_000,
        |_, _| true,
        |k, i| 200_000 + ((i * 7919 + u64::from(k) * 104_729) % 1_900_000),
    );
    let busy: Vec<f64> = (0..3)
        .map(|k| s.stats(id(k)).unwrap().busy_ns as f64)
        .collect();
    let total: f64 = busy.iter().sum();
    assert!(total >= 9.9e9, "engine idle while all had work: {total}");
    for (k, w) in [(0, 1.0), (1, 2.0), (2, 4.0)] {
        let want = total * w / 7.0;
        let err = (busy[k] - want).abs() / want;
        assert!(err < 0.10, "vGPU {k}: {} vs {want} ({err})", busy[k]);
    }
}

#[test]
fn slices_end_on_time_and_on_workload_count() {
    let p = Params {
        max_workloads: 4,
        ..Params::default()
    };
    let mut s = Scheduler::new(p).unwrap();
    s.add(id(0), 1).unwrap();
    s.add(id(1), 1).unwrap();
    // Tiny workloads: the count ends the slice, 4 in a row, then the other vGPU.
    let picks = run(&mut s, 1_000_000, |_, _| true, |_, _| 1_000);
    let seq: Vec<usize> = picks.iter().take(12).map(|p| p.1.index()).collect();
    assert_eq!(seq, [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    // Long workloads (0.6 ms): the 1 ms slice ends after two, never inside one.
    let mut s = Scheduler::default();
    s.add(id(0), 1).unwrap();
    s.add(id(1), 1).unwrap();
    let picks = run(&mut s, 5_000_000, |_, _| true, |_, _| 600_000);
    let seq: Vec<usize> = picks.iter().take(6).map(|p| p.1.index()).collect();
    assert_eq!(seq, [0, 0, 1, 1, 0, 0]);
    assert!(s.stats(id(0)).unwrap().switches >= 2);
}

#[test]
fn idle_vgpus_cost_nothing_and_the_engine_idles_without_work() {
    let mut s = Scheduler::default();
    s.add(id(0), 1).unwrap();
    s.add(id(5), 16).unwrap();
    // vGPU 5 (weight 16) never has work: vGPU 0 gets the whole engine.
    run(&mut s, 1_000_000_000, |k, _| k == 0, |_, _| 500_000);
    let a = s.stats(id(0)).unwrap();
    assert!(a.busy_ns >= 999_000_000, "{a:?}");
    assert_eq!(s.stats(id(5)).unwrap().busy_ns, 0);
    assert!(s.stats(id(5)).unwrap().credit <= 0);
    assert_eq!(s.pick_next(2_000_000_000, |_| false), None);
    s.remove(id(0));
    assert_eq!(s.stats(id(0)), None);
    assert_eq!(s.pick_next(3_000_000_000, |_| true).unwrap().vgpu, id(5));
    assert_eq!(s.set_weight(id(0), 2), Err(Error::NoVgpu));
    assert_eq!(s.set_weight(id(5), 0), Err(Error::Invalid));
    assert_eq!(s.add(id(1), MAX_WEIGHT + 1), Err(Error::Invalid));
    assert_eq!(
        Scheduler::new(Params {
            time_slice_ns: 999,
            ..Params::default()
        })
        .err(),
        Some(Error::Invalid)
    );
}

#[test]
fn a_switch_is_reported_once_per_change_of_vgpu() {
    let mut s = Scheduler::default();
    s.add(id(0), 1).unwrap();
    s.add(id(1), 1).unwrap();
    let p = s.pick_next(0, |_| true).unwrap();
    assert!(p.switch);
    s.account(p.vgpu, 100);
    let q = s.pick_next(100, |_| true).unwrap();
    assert_eq!((q.vgpu, q.switch), (p.vgpu, false));
    // Only the other vGPU has work now.
    let other = if p.vgpu == id(0) { id(1) } else { id(0) };
    let r = s.pick_next(200, |v| v == other).unwrap();
    assert_eq!((r.vgpu, r.switch), (other, true));
    assert_eq!(s.last(), Some(other));
}

#[test]
fn charge_slice_over_and_predict() {
    let mut s = Scheduler::default();
    s.add(id(0), 1).unwrap();
    s.add(id(1), 1).unwrap();
    s.add(id(2), 1).unwrap();
    assert!(s.slice_over(0));
    let p = s.pick_next(0, |_| true).unwrap();
    assert!(!s.slice_over(10));
    // Time ends the slice; a charge moves busy time and credit but not the workload count.
    assert!(s.slice_over(DEFAULT_TIME_SLICE_NS));
    let before = s.stats(p.vgpu).unwrap();
    s.charge(p.vgpu, 1234);
    let after = s.stats(p.vgpu).unwrap();
    assert_eq!(after.busy_ns, before.busy_ns + 1234);
    assert_eq!(after.credit, before.credit - 1234);
    assert_eq!(after.workloads, before.workloads);
    // Spent credit ends the slice at once.
    s.charge(p.vgpu, DEFAULT_BALANCE_PERIOD_NS);
    assert!(s.slice_over(20));
    // The prediction is another vGPU with work, never `after`, none when alone.
    let n = s.predict(p.vgpu, |_| true).unwrap();
    assert_ne!(n, p.vgpu);
    assert_eq!(s.predict(p.vgpu, |v| v == p.vgpu), None);
    let q = s.pick_next(30, |_| true).unwrap();
    assert_eq!(q.vgpu, n, "the predicted vGPU is the one picked next");
}

/// Three guests with weights 1:2:4, each pausing `pause(n)` after its workload of `len(n)`
/// (its own time to submit the next), the scheduler waiting up to `grace`: their busy times.
fn with_pauses(grace: u64, len: impl Fn(u64) -> u64, pause: impl Fn(u64) -> u64) -> [f64; 3] {
    let mut s = Scheduler::new(Params {
        idle_grace_ns: grace,
        ..Params::default()
    })
    .unwrap();
    for (k, w) in [1u32, 2, 4].iter().enumerate() {
        s.add(id(k as u32), *w).unwrap();
    }
    let mut ready = [0u64; 3];
    let mut now = 0u64;
    let mut n = 0u64;
    while now < 20_000_000_000 {
        let r = ready;
        match s.pick_next(now, |v| now >= r[v.index()]) {
            Some(p) => {
                let ns = len(n);
                n += 1;
                now += ns;
                s.account(p.vgpu, ns);
                ready[p.vgpu.index()] = now + pause(n);
            }
            None => now += 50_000,
        }
    }
    let b = |k| s.stats(id(k)).unwrap().busy_ns as f64;
    [b(0), b(1), b(2)]
}

fn assert_ratio(busy: [f64; 3], what: &str) {
    let total: f64 = busy.iter().sum();
    std::eprintln!("{what}, weights 1:2:4: {busy:?}");
    for (k, w) in [1.0, 2.0, 4.0].iter().enumerate() {
        let want = total * w / 7.0;
        let err = (busy[k] - want).abs() / want;
        assert!(
            err < 0.10,
            "{what}: vGPU {k}: {} vs {want} ({err})",
            busy[k]
        );
    }
}

#[test]
fn weights_hold_when_guests_pause_between_workloads() {
    // Short pauses (0.2 to 0.7 ms) within the grace of one slice: the scheduler waits for the
    // guest rather than taking its share away.
    let busy = with_pauses(
        DEFAULT_TIME_SLICE_NS,
        |n| 3_000_000 + (n * 7919 % 4_000_000),
        |n| 200_000 + (n * 104_729 % 500_000),
    );
    assert_ratio(busy, "short pauses");
    // Long workloads (25 to 35 ms) and pauses of 1 to 6 ms (guests under TCG), within the
    // kernel's grace of 10 ms.
    let busy = with_pauses(
        10 * DEFAULT_TIME_SLICE_NS,
        |n| 25_000_000 + (n * 7919 % 10_000_000),
        |n| 1_000_000 + (n * 104_729 % 5_000_000),
    );
    assert_ratio(busy, "long pauses");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random weights, random busy patterns and workload lengths: the scheduler never picks a
    /// vGPU without work, never idles while one has work, and a vGPU that has work all along
    /// is chosen again within a bounded number of choices.
    #[test]
    fn never_idle_pick_never_starve(
        weights in proptest::collection::vec(1u32..=16, 1..8),
        pattern in proptest::collection::vec(any::<u16>(), 8),
        lens in proptest::collection::vec(1_000u64..3_000_000, 16),
        max_workloads in 1u32..8,
    ) {
        let mut s = Scheduler::new(Params { max_workloads, ..Params::default() }).unwrap();
        for (k, &w) in weights.iter().enumerate() {
            s.add(id(k as u32), w).unwrap();
        }
        let n = weights.len() as u32;
        // vGPU 0 always has work; the others by their bit pattern, changing every 5 ms.
        let busy = |k: u32, now: u64| {
            k == 0 || pattern[k as usize] >> ((now / 5_000_000) % 16) & 1 == 1
        };
        let len = |k: u32, i: u64| lens[((i + u64::from(k)) % lens.len() as u64) as usize];
        let picks = run(&mut s, 2_000_000_000, busy, len);
        // Never idle while someone had work: vGPU 0 always has work.
        let idle_gaps = picks.windows(2).filter(|w| w[1].0 - w[0].0 > 3_000_000).count();
        prop_assert_eq!(idle_gaps, 0);
        // vGPU 0 waits at most while the others spend a balance period's shares, each slice
        // overrunning by one workload, for as many periods as its debt needs to be paid.
        let max_len = *lens.iter().max().unwrap();
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let share0 = (DEFAULT_BALANCE_PERIOD_NS * u64::from(weights[0]) / total).max(1);
        let round = DEFAULT_BALANCE_PERIOD_NS + u64::from(n) * (DEFAULT_TIME_SLICE_NS + max_len);
        let bound = (max_len.div_ceil(share0) + 1) * round;
        let mut last0 = 0u64;
        for (at, v) in &picks {
            if *v == id(0) {
                prop_assert!(at - last0 <= bound, "vGPU 0 waited {} ns (bound {})", at - last0, bound);
                last0 = *at;
            }
        }
        prop_assert!(s.stats(id(0)).unwrap().workloads > 0);
    }
}

/// The engine loop the kernel runs (`HostGgtt::switch_in`), on the host: the scheduler
/// chooses, the chosen vGPU's entries are switched in and the next one's prepared ahead
/// (gScale's predictive copy), and every workload sees only its own vGPU's entries in every
/// slot it holds, however the slots are shared; the prefetch makes the switch itself copy no
/// more than the slots both vGPUs hold.
mod with_the_gtt {
    use super::*;
    use crate::gm::layout::{Config, Layout};
    use crate::gm::Gm;
    use crate::storage::Std;

    fn layout() -> Layout {
        // 8 slots of 16 entries, low GM for 4 vGPUs of 64 KB.
        Layout::new(Config {
            gm_size: 1024 * 1024,
            low_size: 512 * 1024,
            low_reserved: 64 * 1024,
            high_reserved: 0,
            slot_size: 64 * 1024,
        })
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn workloads_see_only_their_own_entries(
            sizes in proptest::collection::vec(1u32..=6, 2..5),
            weights in proptest::collection::vec(1u32..=4, 4),
            writes in proptest::collection::vec((0usize..4, 0u32..8, 0u64..16), 0..64),
            rounds in 20usize..200,
        ) {
            let l = layout();
            let mut gm = Gm::<Std>::new(l, true).unwrap();
            let mut s = Scheduler::default();
            let mut ids = Vec::new();
            for (k, &n) in sizes.iter().enumerate() {
                let id = gm.create(64 * 1024, n, 1).unwrap();
                s.add(id, weights[k]).unwrap();
                ids.push(id);
            }
            // Each vGPU's entries name it: entry i of slot t of vGPU k is k<<32|t<<8|i.
            let value = |k: usize, slot: u32, i: u64| ((k as u64 + 1) << 32) | u64::from(slot) << 8 | i;
            for (k, &id) in ids.iter().enumerate() {
                for slot in gm.vgpu(id).unwrap().slots.iter() {
                    for i in 0..l.entries_per_slot() {
                        gm.write(id, l.slot_index(slot) + i, value(k, slot, i)).unwrap();
                    }
                }
            }
            let mut phys = std::vec![0u64; l.entries() as usize];
            let mut now = 0u64;
            let mut w = writes.iter().cycle();
            let (mut predicted, mut predicted_switches) = (None, 0);
            for round in 0..rounds {
                let pick = s.pick_next(now, |_| true).unwrap();
                let k = ids.iter().position(|&id| id == pick.vgpu).unwrap();
                // The guest rewrites an entry while another vGPU may run (a trap).
                if let Some(&(g, slot, i)) = w.next() {
                    let g = g % ids.len();
                    if gm.vgpu(ids[g]).unwrap().slots.contains(slot) {
                        let index = l.slot_index(slot) + i;
                        let v = value(g, slot, i) ^ (round as u64) << 48;
                        if gm.write(ids[g], index, v).unwrap() == crate::gm::ggtt::Write::Through {
                            phys[index as usize] = v;
                        }
                    }
                }
                let mine = gm.vgpu(pick.vgpu).unwrap().slots;
                let both = gm
                    .running()
                    .map(|r| mine.difference(&mine.difference(&gm.vgpu(r).unwrap().slots)))
                    .unwrap_or(mine);
                let c = gm
                    .switch_to(pick.vgpu, |f, e| {
                        phys[f as usize..f as usize + e.len()].copy_from_slice(e)
                    })
                    .unwrap();
                // Prepared ahead: a predicted switch copies only the slots both vGPUs hold.
                if predicted == Some(pick.vgpu) {
                    prop_assert!(c.slots <= both.len(), "{} > {}", c.slots, both.len());
                    predicted_switches += 1;
                }
                for slot in gm.vgpu(pick.vgpu).unwrap().slots.iter() {
                    prop_assert_eq!(gm.owner(slot), Some(pick.vgpu));
                    for i in 0..l.entries_per_slot() {
                        let index = l.slot_index(slot) + i;
                        prop_assert_eq!(phys[index as usize], gm.read(pick.vgpu, index).unwrap(),
                            "vGPU {} slot {} entry {}", k, slot, i);
                    }
                }
                // Predict the next vGPU as the scheduler's least recently chosen other one.
                let next = ids[(k + 1) % ids.len()];
                predicted = Some(next);
                gm.prefetch(next, |f, e| phys[f as usize..f as usize + e.len()].copy_from_slice(e))
                    .unwrap();
                // The running vGPU's slots are still its own after the prefetch.
                for slot in gm.vgpu(pick.vgpu).unwrap().slots.iter() {
                    prop_assert_eq!(gm.owner(slot), Some(pick.vgpu));
                }
                let ns = 100_000 + (round as u64 % 7) * 300_000;
                now += ns;
                s.account(pick.vgpu, ns);
            }
            // Round robin among equals picks the predicted vGPU often.
            prop_assert!(predicted_switches > 0);
        }
    }
}

/// With a grace, `pick_next` may answer `None` although a vGPU has work: every vGPU with work
/// owes more than one share while another that ran keeps share left (it is between two of its
/// workloads). That `None` is a wait, not an idle engine: the caller must ask again (the
/// kernel's engines poll, `Action::Retry`), and the wait ends by the balance period. An
/// engine that took it for "nothing to do" slept with the current vGPU's work queued and
/// nothing left to kick it (rgvt_multi guests_8 on the debug kernel: two guests' batches never
/// completed).
#[test]
fn none_with_work_is_a_wait_bounded_by_the_period() {
    let params = Params {
        idle_grace_ns: 10 * DEFAULT_TIME_SLICE_NS,
        ..Params::default()
    };
    let mut s = Scheduler::new(params).unwrap();
    let (a, b) = (id(0), id(1));
    s.add(a, 1).unwrap();
    s.add(b, 1).unwrap();
    // Both have work: the first period starts, 50 ms each.
    assert_eq!(s.pick_next(0, |_| true).map(|p| p.vgpu), Some(a));
    s.charge(a, 1_000);
    // b runs one short workload and has no more work: it keeps its share.
    assert_eq!(s.pick_next(2_000_000, |_| true).map(|p| p.vgpu), Some(b));
    s.charge(b, 1_000);
    // a runs on: a long workload puts it more than a share in debt.
    let only_a = |v: VgpuId| v == a;
    assert_eq!(s.pick_next(3_000_000, only_a), None, "b's grace");
    assert_eq!(s.pick_next(14_000_000, only_a).map(|p| p.vgpu), Some(a));
    s.charge(a, 120_000_000);
    // a ran last and has work (no grace applies), yet: None.
    let waits = s.pick_next(15_000_000, only_a);
    assert_eq!(waits, None, "a waits for b's share to go unused");
    // Asked again (polled), the wait ends with the period.
    let mut now = 15_000_000;
    let got = loop {
        now += 100_000;
        if let Some(p) = s.pick_next(now, only_a) {
            break (now, p.vgpu);
        }
        assert!(now < 200_000_000, "still waiting at {now} ns");
    };
    assert_eq!(got.1, a);
    assert!(
        got.0 <= DEFAULT_BALANCE_PERIOD_NS + 100_000,
        "waited until {} ns",
        got.0
    );
}
