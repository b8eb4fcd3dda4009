//! gBalloon's GPU memory adjustment algorithm (its Algorithm 1): where to grow or shrink a vGPU.
//!
//! A run `[P, P+S)` grows by `L` slots on the left and `R` on the right, choosing the split that
//! shares the fewest slots with other vGPUs; it shrinks from both ends releasing the most shared
//! slots. Loop bounds and tie rules follow DESIGN §5 literally. Scattered slot sets (the paper's
//! future work) take the least shared free slots and release the most shared held ones.

use crate::gm::slots::{Resize, SlotSet, Slots, VgpuId};
use crate::gm::Error;
use crate::storage::Alloc;

/// Returns `(L, R)` for growing the run `[p, p+s)` of `M = m` slots by `q`, given each slot's
/// count of other vGPUs; the smallest shared count wins, the first `L` tried on ties.
pub fn expansion_split(
    m: u32,
    p: u32,
    s: u32,
    q: u32,
    others: impl Fn(u32) -> u32,
) -> Result<(u32, u32), Error> {
    if s.checked_add(q).map_or(true, |n| n > m) || p.checked_add(s).map_or(true, |e| e > m) {
        return Err(Error::NoSpace);
    }
    let lo = q - q.min(m - p - s);
    let hi = q.min(p);
    // count(i) = others in [p-i, p) plus others in [p+s, p+s+q-i).
    let mut count: u32 =
        (p - lo..p).map(&others).sum::<u32>() + (p + s..p + s + q - lo).map(&others).sum::<u32>();
    let (mut best, mut min) = (lo, count);
    for i in lo..hi {
        // Moving one slot from the right end to the left end.
        count = count + others(p - i - 1) - others(p + s + q - i - 1);
        if count < min {
            min = count;
            best = i + 1;
        }
    }
    Ok((best, q - best))
}

/// Returns `(L, R)` for shrinking the run `[p, p+s)` by `q`, given each slot's count of other
/// vGPUs; the largest shared count wins, the first `L` tried on ties.
pub fn reduction_split(
    p: u32,
    s: u32,
    q: u32,
    others: impl Fn(u32) -> u32,
) -> Result<(u32, u32), Error> {
    if s < q {
        return Err(Error::BelowMinimum);
    }
    if p.checked_add(s).is_none() {
        return Err(Error::Invalid);
    }
    // count(i) = others in [p, p+i) plus others in [p+s+i-q, p+s).
    let mut count: u32 = (p + s - q..p + s).map(&others).sum();
    let (mut best, mut max) = (0, count);
    for i in 0..q {
        count = count + others(p + i) - others(p + s + i - q);
        if count > max {
            max = count;
            best = i + 1;
        }
    }
    Ok((best, q - best))
}

/// Plans growing vGPU `k` by `q` slots.
pub fn plan_expansion<A: Alloc>(map: &Slots<A>, k: VgpuId, q: u32) -> Result<Resize, Error> {
    let v = map.get(k).ok_or(Error::NoVgpu)?;
    if q == 0 {
        return Err(Error::Invalid);
    }
    let others = |x: u32| (map.occupants(x) & !k.bit()).count_ones();
    let (left, right, delta) = if map.contiguous() {
        let (p, s) = (v.start(), v.count());
        let (l, r) = expansion_split(map.m(), p, s, q, others)?;
        (
            l,
            r,
            SlotSet::range(p - l, p).union(&SlotSet::range(p + s, p + s + r)),
        )
    } else {
        if v.count().saturating_add(q) > map.m() {
            return Err(Error::NoSpace);
        }
        (0, 0, map.least_shared(q, &v.slots))
    };
    Ok(Resize {
        vgpu: k,
        grow: true,
        left,
        right,
        delta,
        before: v.slots,
    })
}

/// Plans shrinking vGPU `k` by `q` slots, never below its minimum.
pub fn plan_reduction<A: Alloc>(map: &Slots<A>, k: VgpuId, q: u32) -> Result<Resize, Error> {
    let v = map.get(k).ok_or(Error::NoVgpu)?;
    if q == 0 {
        return Err(Error::Invalid);
    }
    if v.count() < q || v.count() - q < v.min {
        return Err(Error::BelowMinimum);
    }
    let (left, right, delta) = if map.contiguous() {
        let (p, s) = (v.start(), v.count());
        let others = |x: u32| (map.occupants(x) & !k.bit()).count_ones();
        let (l, r) = reduction_split(p, s, q, others)?;
        (
            l,
            r,
            SlotSet::range(p, p + l).union(&SlotSet::range(p + s - r, p + s)),
        )
    } else {
        (0, 0, map.most_shared(q, &v.slots))
    };
    Ok(Resize {
        vgpu: k,
        grow: false,
        left,
        right,
        delta,
        before: v.slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gm::layout::{Config, Layout, MB};
    use crate::storage::Std;

    /// The paper's figure 4: five slots, vGPU1 [1,2], vGPU2 [3,4], vGPU3 [4,5], vGPU4 [3]
    /// (1-based), i.e. 0-based runs (0,2), (2,2), (3,2), (2,1).
    #[test]
    fn paper_example() {
        let runs = [(0u32, 2u32), (2, 2), (3, 2), (2, 1)];
        let occupied = |x: u32, skip: usize| {
            runs.iter()
                .enumerate()
                .filter(|&(j, &(p, s))| j != skip && p <= x && x < p + s)
                .count() as u32
        };
        // vGPU4 asks for two slots: left 2 shares 2, 1+1 shares 3, right 2 shares 3.
        assert_eq!(expansion_split(5, 2, 1, 2, |x| occupied(x, 3)), Ok((2, 0)));
        // Reducing vGPU3 by one releases slot 4 (shared with vGPU2), not slot 5.
        assert_eq!(reduction_split(3, 2, 1, |x| occupied(x, 2)), Ok((1, 0)));
        assert_eq!(expansion_split(5, 2, 1, 5, |_| 0), Err(Error::NoSpace));
        assert_eq!(reduction_split(3, 2, 3, |_| 0), Err(Error::BelowMinimum));
    }

    /// The same example through the slot map, with the planned changes applied.
    #[test]
    fn paper_example_on_the_map() {
        let l = Layout::new(Config {
            gm_size: 256 * MB + 5 * 64 * MB,
            ..Config::default()
        })
        .unwrap();
        let mut map = Slots::<Std>::new(&l, true).unwrap();
        let v1 = map.create(MB, 2, 1).unwrap();
        let v2 = map.create(MB, 2, 1).unwrap();
        let v3 = map.create(MB, 2, 1).unwrap();
        let v4 = map.create(MB, 1, 1).unwrap();
        // Placement put them elsewhere; pin the figure's runs.
        for (id, run) in [(v1, (0, 2)), (v2, (2, 4)), (v3, (3, 5)), (v4, (2, 3))] {
            map.pin(id, SlotSet::range(run.0, run.1));
        }
        let plan = plan_expansion(&map, v4, 2).unwrap();
        assert_eq!((plan.left, plan.right), (2, 0));
        map.apply(&plan).unwrap();
        assert_eq!(map.get(v4).unwrap().slots, SlotSet::range(0, 3));
        let plan = plan_reduction(&map, v3, 1).unwrap();
        assert_eq!((plan.left, plan.right), (1, 0));
        assert_eq!(plan.delta, SlotSet::range(3, 4));
        map.apply(&plan).unwrap();
        assert_eq!(map.get(v3).unwrap().slots, SlotSet::range(4, 5));
        assert_eq!(plan_reduction(&map, v3, 1), Err(Error::BelowMinimum));
        assert_eq!(map.apply(&plan), Err(Error::Stale));
    }

    #[test]
    fn scattered_plans() {
        let l = Layout::new(Config {
            gm_size: 256 * MB + 6 * 64 * MB,
            ..Config::default()
        })
        .unwrap();
        let mut map = Slots::<Std>::new(&l, false).unwrap();
        let a = map.create(MB, 3, 1).unwrap();
        let b = map.create(MB, 2, 1).unwrap();
        assert_eq!(map.get(b).unwrap().slots, SlotSet::range(3, 5));
        let plan = plan_expansion(&map, b, 2).unwrap();
        // Slot 5 is free, then the lowest of the slots a holds.
        assert_eq!(plan.delta.iter().collect::<std::vec::Vec<_>>(), [0, 5]);
        map.apply(&plan).unwrap();
        let plan = plan_reduction(&map, a, 1).unwrap();
        assert_eq!(plan.delta, SlotSet::range(0, 1));
    }
}
