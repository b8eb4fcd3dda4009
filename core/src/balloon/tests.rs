//! Property tests of the slot map, private GTTs, switch planner and adjustment algorithm against
//! a reference model, and tests of the balloon's period step and protocol together.

use super::adjust::{plan_expansion, plan_reduction};
use super::*;
use crate::gm::ggtt::Write;
use crate::gm::layout::{Config, Layout};
use crate::gm::slots::SlotSet;
use proptest::prelude::*;
use std::format;
use std::string::String;
use std::vec::Vec;

/// Slots of 64 KB (16 entries) keep the private GTTs small.
fn layout(m: u32) -> Layout {
    Layout::new(Config {
        gm_size: 1024 * 1024 + u64::from(m) * 64 * 1024,
        low_size: 1024 * 1024,
        low_reserved: 64 * 1024,
        high_reserved: 0,
        slot_size: 64 * 1024,
    })
    .unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Create { pages: u64, slots: u32, min: u32 },
    Destroy(usize),
    Expand(usize, u32),
    Reduce(usize, u32),
    Write(usize, u64, u64),
    Prefetch(usize),
    Switch(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (1..40u64, 1..6u32, 1..4u32).prop_map(|(pages, slots, min)| Op::Create {
            pages,
            slots,
            min: min.min(slots)
        }),
        1 => (0..8usize).prop_map(Op::Destroy),
        2 => (0..8usize, 1..5u32).prop_map(|(v, q)| Op::Expand(v, q)),
        2 => (0..8usize, 1..4u32).prop_map(|(v, q)| Op::Reduce(v, q)),
        2 => (0..8usize, any::<u64>(), any::<u64>()).prop_map(|(v, i, x)| Op::Write(v, i, x)),
        1 => (0..8usize).prop_map(Op::Prefetch),
        2 => (0..8usize).prop_map(Op::Switch),
    ]
}

/// Others' count in slot `x` for vGPU `k`, recomputed from the vGPUs' sets.
fn others(gm: &Gm<crate::storage::Std>, k: VgpuId, x: u32) -> u32 {
    gm.slots()
        .iter()
        .filter(|&(id, v)| id != k && v.slots.contains(x))
        .count() as u32
}

fn count_in(gm: &Gm<crate::storage::Std>, k: VgpuId, set: &SlotSet) -> u32 {
    set.iter().map(|x| others(gm, k, x)).sum()
}

/// Checks a contiguous plan against every feasible split (brute force).
fn check_split(gm: &Gm<crate::storage::Std>, plan: &Resize, q: u32) {
    let k = plan.vgpu;
    let v = gm.vgpu(k).unwrap();
    let (p, s, m) = (v.start(), v.count(), gm.layout().slots());
    let mut best: Option<(u32, u32)> = None;
    for i in 0..=q {
        let set = if plan.grow {
            if i > p || p + s + q - i > m {
                continue;
            }
            SlotSet::range(p - i, p).union(&SlotSet::range(p + s, p + s + q - i))
        } else {
            SlotSet::range(p, p + i).union(&SlotSet::range(p + s + i - q, p + s))
        };
        let c = count_in(gm, k, &set);
        let better = match best {
            None => true,
            Some((_, b)) => (plan.grow && c < b) || (!plan.grow && c > b),
        };
        if better {
            best = Some((i, c));
        }
    }
    let (l, _) = best.unwrap();
    assert_eq!((plan.left, plan.right), (l, q - l), "{plan:?}");
}

/// Checks a scattered plan: no unchosen candidate beats a chosen slot.
fn check_pick(gm: &Gm<crate::storage::Std>, plan: &Resize) {
    let k = plan.vgpu;
    let candidates = if plan.grow {
        SlotSet::range(0, gm.layout().slots()).difference(&plan.before)
    } else {
        plan.before
    };
    for c in plan.delta.iter() {
        for o in candidates.difference(&plan.delta).iter() {
            let (a, b) = (others(gm, k, c), others(gm, k, o));
            assert!(if plan.grow { a <= b } else { a >= b }, "{plan:?}");
        }
    }
}

fn run(m: u32, contiguous: bool, ops: &[Op]) {
    let l = layout(m);
    let per = l.entries_per_slot() as usize;
    let mut gm = Gm::<crate::storage::Std>::new(l, contiguous).unwrap();
    let mut ids: Vec<VgpuId> = Vec::new();
    let mut phys = std::vec![0u64; l.entries() as usize];
    // The model of who owns each physical slot's contents.
    let mut owner: Vec<Option<VgpuId>> = std::vec![None; m as usize];
    let pick = |ids: &Vec<VgpuId>, i: usize| ids.get(i % ids.len().max(1)).copied();
    for op in ops {
        match *op {
            Op::Create { pages, slots, min } => {
                let fits = gm.slots().available(pages * 4096) > 0 && slots <= m;
                match gm.create(pages * 4096, slots, min) {
                    Ok(id) => {
                        assert!(fits);
                        ids.push(id)
                    }
                    Err(e) => assert!(
                        !fits && matches!(e, Error::NoSpace | Error::TooManyVgpus),
                        "{e:?}"
                    ),
                }
            }
            Op::Destroy(i) => {
                if let Some(id) = pick(&ids, i) {
                    let freed = gm.destroy(id).unwrap();
                    ids.retain(|&x| x != id);
                    let mut scrub = SlotSet::new();
                    for (s, o) in owner.iter_mut().enumerate() {
                        if *o == Some(id) {
                            *o = None;
                            scrub.insert(s as u32);
                        }
                    }
                    assert_eq!(freed.scrub, scrub);
                }
            }
            Op::Expand(i, q) => {
                let Some(id) = pick(&ids, i) else { continue };
                let s = gm.vgpu(id).unwrap().count();
                match plan_expansion(gm.slots(), id, q) {
                    Ok(plan) => {
                        assert!(s + q <= m);
                        if contiguous {
                            check_split(&gm, &plan, q);
                        } else {
                            check_pick(&gm, &plan);
                        }
                        gm.resize(&plan).unwrap();
                        assert_eq!(gm.vgpu(id).unwrap().count(), s + q);
                        if gm.running() == Some(id) {
                            // The running vGPU grew: its new slots are copied in at once.
                            let mut copied = SlotSet::new();
                            gm.sync_running(|first, e| {
                                copied.insert(l.slot_of_index(first).unwrap());
                                phys[first as usize..first as usize + e.len()].copy_from_slice(e);
                            })
                            .unwrap();
                            assert!(plan.delta.is_subset(&copied));
                            for x in copied.iter() {
                                owner[x as usize] = Some(id);
                            }
                            assert!(gm.copy_set(id).unwrap().is_empty());
                        }
                    }
                    Err(e) => assert!(s + q > m && e == Error::NoSpace, "{e:?}"),
                }
            }
            Op::Reduce(i, q) => {
                let Some(id) = pick(&ids, i) else { continue };
                let v = *gm.vgpu(id).unwrap();
                match plan_reduction(gm.slots(), id, q) {
                    Ok(plan) => {
                        if contiguous {
                            check_split(&gm, &plan, q);
                        } else {
                            check_pick(&gm, &plan);
                        }
                        let scrub = gm.resize(&plan).unwrap();
                        let mut expected = SlotSet::new();
                        for s in plan.delta.iter() {
                            if owner[s as usize] == Some(id) {
                                owner[s as usize] = None;
                                expected.insert(s);
                            }
                        }
                        assert_eq!(scrub, expected);
                    }
                    Err(e) => assert!(v.count() < q + v.min && e == Error::BelowMinimum),
                }
            }
            Op::Write(i, idx, value) => {
                let Some(id) = pick(&ids, i) else { continue };
                let v = *gm.vgpu(id).unwrap();
                // Aim half the writes at the vGPU's own high GM.
                let idx = if idx % 2 == 0 && v.count() > 0 {
                    let nth = (idx / 2 % u64::from(v.count())) as usize;
                    let s = v.slots.iter().nth(nth).unwrap();
                    l.slot_index(s) + (idx >> 8) % per as u64
                } else {
                    idx % (l.entries() + 4)
                };
                match gm.write(id, idx, value) {
                    Ok(w) => {
                        assert_eq!(gm.read(id, idx), Ok(value));
                        let slot = l.slot_of_index(idx);
                        let mine = slot.is_none_or(|s| owner[s as usize] == Some(id));
                        assert_eq!(w == Write::Through, mine);
                        if mine {
                            phys[idx as usize] = value;
                        }
                    }
                    Err(e) => assert_eq!(e, Error::OutOfRange),
                }
            }
            Op::Prefetch(i) | Op::Switch(i) => {
                let Some(id) = pick(&ids, i) else { continue };
                let held = gm.vgpu(id).unwrap().slots;
                let expected: SlotSet = {
                    let mut s = SlotSet::new();
                    for x in held.iter().filter(|&x| owner[x as usize] != Some(id)) {
                        s.insert(x);
                    }
                    s
                };
                assert_eq!(gm.copy_set(id).unwrap(), expected);
                let mut copied = SlotSet::new();
                let mut sink = |first: u64, e: &[u64]| {
                    copied.insert(l.slot_of_index(first).unwrap());
                    phys[first as usize..first as usize + e.len()].copy_from_slice(e);
                };
                let c = if matches!(op, Op::Switch(_)) {
                    let c = gm.switch_to(id, &mut sink).unwrap();
                    assert_eq!(copied, expected);
                    c
                } else {
                    let running = gm.running().map(|r| gm.vgpu(r).unwrap().slots);
                    let c = gm.prefetch(id, &mut sink).unwrap();
                    match running {
                        Some(r) if gm.running() != Some(id) => {
                            assert_eq!(copied, expected.difference(&r))
                        }
                        Some(_) => assert!(copied.is_empty()),
                        None => assert_eq!(copied, expected),
                    }
                    c
                };
                assert_eq!(c.slots, copied.len());
                assert_eq!(c.entries, u64::from(copied.len()) * per as u64);
                for s in copied.iter() {
                    owner[s as usize] = Some(id);
                }
                if matches!(op, Op::Switch(_)) {
                    // Every slot of the running vGPU now holds exactly its private entries.
                    for s in held.iter() {
                        let base = l.slot_index(s);
                        for e in 0..per as u64 {
                            assert_eq!(phys[(base + e) as usize], gm.read(id, base + e).unwrap());
                        }
                    }
                }
            }
        }
        // Invariants after every operation.
        for s in 0..m {
            let mut mask = 0;
            for (id, v) in gm.slots().iter() {
                if v.slots.contains(s) {
                    mask |= id.bit();
                }
            }
            assert_eq!(gm.slots().occupants(s), mask);
            assert_eq!(gm.owner(s), owner[s as usize]);
        }
        for (_, v) in gm.slots().iter() {
            assert!(v.slots.last().is_none_or(|x| x < m));
            assert!(v.count() >= v.min);
            assert!(!contiguous || v.slots.is_run());
        }
        let lows: Vec<_> = gm
            .slots()
            .iter()
            .map(|(_, v)| (v.low_base, v.low_size))
            .collect();
        for (i, a) in lows.iter().enumerate() {
            assert!(a.0 >= l.low_base() && a.0 + a.1 <= l.low_end());
            for b in &lows[i + 1..] {
                assert!(a.0 + a.1 <= b.0 || b.0 + b.1 <= a.0);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn slot_map_model(m in 3..14u32, contiguous in any::<bool>(), ops in prop::collection::vec(op(), 1..80)) {
        run(m, contiguous, &ops);
    }
}

fn sample(phi_w: u64) -> Sample {
    // W = phi_w/1000 with W_max = 1 and no copy time, so Φ = W.
    Sample {
        steal_ns: phi_w,
        vcpu_ns: 1000,
        copy_ns: 0,
        cpus: 4,
        period_ns: 500_000_000,
        source: Source::Modeled,
    }
}

fn setup() -> (
    Gm<crate::storage::Std>,
    Balloon<crate::storage::Std>,
    [VgpuId; 3],
) {
    let mut gm = Gm::new(layout(8), true).unwrap();
    let a = gm.create(64 * 1024, 2, 2).unwrap();
    let b = gm.create(64 * 1024, 4, 1).unwrap();
    let c = gm.create(64 * 1024, 2, 1).unwrap();
    let p = Params {
        w_max: Milli::ONE,
        ..Params::default()
    };
    (gm, Balloon::new(p).unwrap(), [a, b, c])
}

#[test]
fn grow_regime_grants_and_publishes() {
    let (mut gm, mut bl, [a, _, c]) = setup();
    assert_eq!(gm.vgpu(c).unwrap().slots, SlotSet::range(6, 8));
    bl.request(&gm, a, 1, 2, 30).unwrap();
    bl.request(&gm, c, 1, 1, 90).unwrap();
    let before = gm.avail_rs(a).unwrap();
    let d = bl.step(&mut gm, &sample(499), |_| Milli(0));
    assert_eq!(
        (d.regime, d.granted, d.granted_slots, d.rejected),
        (Regime::Grow, 2, 3, 0)
    );
    assert_eq!(d.shrink, None);
    assert_eq!(bl.channel(a).status(), Status::Granted);
    // a ([0,2)) grew right, into b's [2,6); c ([6,8)) grew left into b's run too.
    assert_eq!(gm.vgpu(a).unwrap().slots, SlotSet::range(0, 4));
    assert_eq!(gm.vgpu(c).unwrap().slots, SlotSet::range(5, 8));
    assert_eq!(
        gm.avail_rs(a).unwrap().nonmappable_size,
        2 * before.nonmappable_size
    );
    let seq = bl.channel(a).seq();
    assert_eq!(bl.ack(&mut gm, a, seq), Ok(Acked::Done));
    // Impossible requests are answered at once.
    assert_eq!(bl.request(&gm, a, 2, 9, 1), Err(Reject::Unsatisfiable));
    assert_eq!(bl.channel(a).status(), Status::Rejected);
}

#[test]
fn trim_regime_shrinks_only_after_release() {
    let (mut gm, mut bl, [a, b, c]) = setup();
    let util = |id: VgpuId| if id == b { Milli(100) } else { Milli(900) };
    let d = bl.step(&mut gm, &sample(500), util);
    assert_eq!(d.regime, Regime::Trim);
    // b holds the most GM with the lowest use: one slot, from the end it shares most.
    let s = d.shrink.unwrap();
    assert_eq!((s.vgpu, s.slots), (b, 1));
    assert_eq!(bl.channel(b).status(), Status::Release);
    assert_eq!(
        std::format!("{}", bl.step(&mut gm, &sample(0), |_| Milli(0))),
        "period=1 source=modeled w=0.0 c=0.0 phi=0.0 regime=grow granted=0/0 rejected=0 \
         shrink=- withdrawn=0"
    );
    // Nothing is taken until the guest releases it; the PV page shows what it keeps.
    assert_eq!(gm.vgpu(b).unwrap().count(), 4);
    let f = bl.pv_fields(&gm, b).unwrap();
    let get = |off: u32| f.iter().find(|x| x.0 == off).unwrap().1;
    assert_eq!(get(protocol::PV_BALLOON_STATUS), Status::Release as u32);
    assert_eq!(gm.avail_rs(b).unwrap().nonmappable_size, 4 * 64 * 1024);
    assert_eq!(get(protocol::PV_BALLOON_KEEP_SIZE), 3 * 64 * 1024);
    let map = get(protocol::PV_BALLOON_SLOT_MAP);
    assert_eq!(map.count_ones(), 3);
    assert_eq!(get(protocol::PV_BALLOON_SLOT_BASE), 1024 * 1024);
    assert_eq!(get(protocol::PV_BALLOON_SLOT_SIZE), 64 * 1024);
    // The next period does not start a second release for b.
    let d = bl.step(&mut gm, &sample(500), util);
    assert_ne!(d.shrink.map(|s| s.vgpu), Some(b));
    let seq = bl.channel(b).seq();
    assert!(matches!(
        bl.ack(&mut gm, b, seq),
        Ok(Acked::Released { .. })
    ));
    assert_eq!(gm.vgpu(b).unwrap().count(), 3);
    let _ = (a, c);
}

#[test]
fn tight_regime_rejects_and_shrinks_two() {
    let (mut gm, mut bl, [a, b, _]) = setup();
    bl.request(&gm, a, 1, 1, 10).unwrap();
    let d = bl.step(&mut gm, &sample(1000), |_| Milli(1000));
    assert_eq!((d.regime, d.granted, d.rejected), (Regime::Tight, 0, 1));
    assert_eq!(bl.channel(a).status(), Status::Rejected);
    assert_eq!(d.shrink.map(|s| (s.vgpu, s.slots)), Some((b, 2)));
    // The guest refuses: it keeps its memory; an unanswered release is withdrawn in time.
    let seq = bl.channel(b).seq();
    bl.refuse(b, seq).unwrap();
    assert_eq!(gm.vgpu(b).unwrap().count(), 4);
    let d = bl.step(&mut gm, &sample(1000), |_| Milli(1000));
    assert_eq!(d.shrink.map(|s| s.vgpu), Some(b));
    let mut withdrawn = 0;
    for _ in 0..bl.params().shrink_timeout {
        withdrawn += bl.step(&mut gm, &sample(0), |_| Milli(0)).withdrawn;
    }
    assert_eq!(withdrawn, 1);
    assert_eq!(gm.vgpu(b).unwrap().count(), 4);
    // Switched off: requests are still answered, with a rejection.
    bl.store(Tunable::Enabled, b"0\n").unwrap();
    bl.request(&gm, a, 2, 1, 10).unwrap();
    let d = bl.step(&mut gm, &sample(0), |_| Milli(0));
    assert_eq!((d.regime, d.rejected, d.shrink), (Regime::Off, 1, None));
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum GuestOp {
    Request(usize, u32, u32, u32),
    Ack(usize, Option<u32>),
    Refuse(usize, Option<u32>),
    Step(u64, u32),
}

fn guest_op() -> impl Strategy<Value = GuestOp> {
    prop_oneof![
        3 => (0..4usize, 0..4u32, prop_oneof![0..4u32, any::<u32>()], any::<u32>())
            .prop_map(|(v, s, q, e)| GuestOp::Request(v, s, q, e)),
        3 => (0..4usize, prop::option::of(any::<u32>())).prop_map(|(v, s)| GuestOp::Ack(v, s)),
        1 => (0..4usize, prop::option::of(any::<u32>())).prop_map(|(v, s)| GuestOp::Refuse(v, s)),
        3 => (0..2200u64, 0..=1000u32).prop_map(|(w, u)| GuestOp::Step(w, u)),
    ]
}

/// Runs the guests' `ops` on four vGPUs: nobody loses slots it has not released, every request
/// is answered by the next period, and the minimum holds. `refused` sees each error by kind
/// (the decoder soak tallies them).
pub(crate) fn run_protocol(
    contiguous: bool,
    ops: &[GuestOp],
    refused: &mut dyn FnMut(String),
) -> Result<(), TestCaseError> {
    let mut gm = Gm::<crate::storage::Std>::new(layout(10), contiguous).unwrap();
    let ids = [
        gm.create(64 * 1024, 2, 2).unwrap(),
        gm.create(64 * 1024, 3, 1).unwrap(),
        gm.create(64 * 1024, 2, 1).unwrap(),
        gm.create(64 * 1024, 4, 2).unwrap(),
    ];
    let mut bl = Balloon::<crate::storage::Std>::new(Params {
        w_max: Milli::ONE,
        ..Params::default()
    })
    .unwrap();
    for op in ops.iter().copied() {
        let before: Vec<SlotSet> = ids.iter().map(|&id| gm.vgpu(id).unwrap().slots).collect();
        let mut released: Option<(usize, Resize)> = None;
        match op {
            GuestOp::Request(v, seq, q, e) => {
                if let Err(e) = bl.request(&gm, ids[v], seq, q, e) {
                    refused(format!("request {e:?}"));
                }
            }
            GuestOp::Ack(v, seq) => {
                let seq = seq.unwrap_or(bl.channel(ids[v]).seq());
                match bl.ack(&mut gm, ids[v], seq) {
                    Ok(Acked::Released { plan, .. }) => released = Some((v, plan)),
                    Ok(Acked::Done) => {}
                    Err(e) => refused(format!("ack {e:?}")),
                }
            }
            GuestOp::Refuse(v, seq) => {
                let seq = seq.unwrap_or(bl.channel(ids[v]).seq());
                if let Err(e) = bl.refuse(ids[v], seq) {
                    refused(format!("refuse {e:?}"));
                }
            }
            GuestOp::Step(w, u) => {
                let _ = bl.step(&mut gm, &sample(w), |_| Milli(u));
                for &id in &ids {
                    prop_assert_eq!(bl.channel(id).pending(), None);
                }
            }
        }
        for (i, &id) in ids.iter().enumerate() {
            let v = gm.vgpu(id).unwrap();
            prop_assert!(v.count() >= v.min);
            let lost = before[i].difference(&v.slots);
            match released {
                Some((r, plan)) if r == i => {
                    prop_assert_eq!(lost, plan.delta);
                    prop_assert_eq!(v.slots, plan.after());
                }
                _ => prop_assert!(lost.is_empty()),
            }
            prop_assert!(bl.channel(id).keep(v.slots).is_subset(&v.slots));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever the guests write, nobody loses slots it has not released, every request is
    /// answered by the next period, and the minimum holds.
    #[test]
    fn protocol_never_takes_unreleased_memory(
        contiguous in any::<bool>(),
        ops in prop::collection::vec(guest_op(), 1..80),
    ) {
        run_protocol(contiguous, &ops, &mut |_| {})?;
    }
}

#[derive(Debug, Clone)]
enum XOp {
    Create { slots: u32, exclusive: bool },
    Destroy(usize),
    Expand(usize, u32),
}

fn xop() -> impl Strategy<Value = XOp> {
    prop_oneof![
        2 => (1..5u32, any::<bool>()).prop_map(|(slots, exclusive)| XOp::Create { slots, exclusive }),
        1 => any::<usize>().prop_map(XOp::Destroy),
        2 => (any::<usize>(), 1..4u32).prop_map(|(i, q)| XOp::Expand(i, q)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// However vGPUs come, go and grow, no slot of an exclusive vGPU (GVT-g's types) ever
    /// has a second holder, and an exclusive create fails only when no free run is left.
    #[test]
    fn exclusive_slots_are_never_shared(
        m in 4..16u32,
        contiguous in any::<bool>(),
        ops in prop::collection::vec(xop(), 1..60),
    ) {
        let mut gm = Gm::<crate::storage::Std>::new(layout(m), contiguous).unwrap();
        let mut ids: Vec<VgpuId> = Vec::new();
        for op in ops {
            match op {
                XOp::Create { slots, exclusive } => {
                    // The model: which slots this vGPU may take, and whether enough of them
                    // (in a run, when contiguous) exist.
                    let ok = |s: u32| {
                        if exclusive {
                            gm.slots().sharers(s) == 0
                        } else {
                            !gm.slots().blocked_for(None, s)
                        }
                    };
                    let fits = slots <= m
                        && if contiguous {
                            (0..=m - slots).any(|p| (p..p + slots).all(ok))
                        } else {
                            (0..m).filter(|&s| ok(s)).count() as u32 >= slots
                        };
                    let room = ids.len() < crate::gm::slots::MAX_VGPUS as usize
                        && gm.slots().available(4096) > 0;
                    match gm.create_with(4096, slots, slots, exclusive) {
                        Ok(id) => {
                            prop_assert!(fits && room);
                            ids.push(id);
                        }
                        Err(e) => prop_assert!(
                            matches!(e, Error::NoSpace | Error::TooManyVgpus) && !(fits && room),
                            "{:?}",
                            e
                        ),
                    }
                }
                XOp::Destroy(i) => {
                    if !ids.is_empty() {
                        let id = ids.remove(i % ids.len());
                        gm.destroy(id).unwrap();
                    }
                }
                XOp::Expand(i, q) => {
                    if ids.is_empty() {
                        continue;
                    }
                    let id = ids[i % ids.len()];
                    if let Ok(plan) = plan_expansion(gm.slots(), id, q) {
                        let blocked = plan.delta.iter().any(|s| gm.slots().blocked_for(Some(id), s));
                        let r = gm.resize(&plan);
                        prop_assert_eq!(r.is_ok(), !blocked, "{:?}", plan);
                    }
                }
            }
            for (id, v) in gm.slots().iter() {
                if gm.slots().is_exclusive(id) {
                    for s in v.slots.iter() {
                        prop_assert_eq!(gm.slots().sharers(s), 1, "slot {} of exclusive {:?}", s, id);
                    }
                }
            }
        }
    }
}
