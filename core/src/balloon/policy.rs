//! gBalloon's policy: the overhead metric Φ and what each of its three regimes does.
//!
//! Every period the backend measures, over all VMs, the share of vCPU time spent waiting for a
//! CPU (steal time, W) and the share of CPU time spent copying GTT entries on context switches
//! (C); `Φ = W/W_max + C/C_max` in `[0, 2]` selects a regime.

use super::fixed::Milli;
use super::params::Params;
use crate::gm::VgpuId;

/// Where a sample's quantities came from, for the debugfs log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The host's own accounting (steal time, cycles around the copy loop).
    #[default]
    Measured,
    /// The sim backend's workload model, where the host has nothing to measure.
    Modeled,
}

/// What the backend measured over one period; the core never reads clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    /// Steal time of all vCPUs of all VMs in the period, in ns.
    pub steal_ns: u64,
    /// Time all those vCPUs were runnable or running in the period, in ns (W's denominator).
    pub vcpu_ns: u64,
    /// CPU time spent copying GTT entries on context switches in the period, in ns.
    pub copy_ns: u64,
    /// Number of host CPUs.
    pub cpus: u32,
    /// Length of the period, in ns.
    pub period_ns: u64,
    /// Where the numbers came from.
    pub source: Source,
}

/// The overhead metric of one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    /// W: the steal-time share, in `[0, 1]`.
    pub w: Milli,
    /// C: GTT-copy time / (CPUs × period), in `[0, 1]`.
    pub c: Milli,
    /// Φ = min(W/W_max, 1) + min(C/C_max, 1), in `[0, 2]`.
    pub phi: Milli,
}

impl Load {
    /// Computes W, C and Φ from `s` with the maxima of `p`.
    pub fn new(p: &Params, s: &Sample) -> Self {
        let w = Milli::ratio(s.steal_ns, s.vcpu_ns);
        let c = Milli::ratio(s.copy_ns, s.period_ns.saturating_mul(u64::from(s.cpus)));
        let wn = Milli::ratio(u64::from(w.0), u64::from(p.w_max.0));
        let cn = Milli::ratio(u64::from(c.0), u64::from(p.c_max.0));
        Load {
            w,
            c,
            phi: Milli(wn.0 + cn.0),
        }
    }
}

/// What the policy does in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// The balloon is switched off: requests are rejected, nothing shrinks.
    Off,
    /// Φ < T1: approve every expansion, shrink nothing.
    Grow,
    /// T1 ≤ Φ < T2: approve expansions, shrink by one slot the vGPU holding much GM with the
    /// lowest GM utilization.
    Trim,
    /// Φ ≥ T2: reject expansions, shrink by `shrink_tight` slots regardless of use.
    Tight,
}

impl Regime {
    /// Classifies Φ with the thresholds of `p`.
    pub fn of(p: &Params, phi: Milli) -> Self {
        if !p.enabled {
            Regime::Off
        } else if phi < p.t1 {
            Regime::Grow
        } else if phi < p.t2 {
            Regime::Trim
        } else {
            Regime::Tight
        }
    }

    /// Returns whether expansion requests are approved.
    pub fn approves(self) -> bool {
        matches!(self, Regime::Grow | Regime::Trim)
    }
}

/// One vGPU as the shrink choice sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// The vGPU.
    pub vgpu: VgpuId,
    /// Slots it holds.
    pub slots: u32,
    /// Slots it must keep.
    pub min: u32,
    /// Share of its high GM the guest has objects in, measured by the backend.
    pub util: Milli,
    /// Whether it can be asked to shrink now (no balloon exchange in flight, no pending request).
    pub eligible: bool,
}

/// Chooses which vGPU to shrink by how many slots in `regime`, or nothing.
///
/// Trim reads gBalloon's "holds much GM and has the lowest utilization" as the most idle GM,
/// `slots × (1 − util)`, and needs at least one idle slot (lower utilization, then lower id, on
/// ties). Tight takes the vGPU with the most slots above its minimum (lower id on ties),
/// regardless of utilization.
pub fn choose_shrink<I>(p: &Params, regime: Regime, usage: I) -> Option<(VgpuId, u32)>
where
    I: Iterator<Item = Usage>,
{
    let can = |u: &Usage| u.eligible && u.slots > u.min;
    // Idle GM in thousandths of a slot; util is at most 1.0.
    let idle = |u: &Usage| u64::from(u.slots) * u64::from(1000 - u.util.0.min(1000));
    match regime {
        Regime::Off | Regime::Grow => None,
        Regime::Trim => usage
            .filter(|u| can(u) && idle(u) >= 1000)
            .min_by(|a, b| {
                idle(b)
                    .cmp(&idle(a))
                    .then(a.util.cmp(&b.util))
                    .then(a.vgpu.cmp(&b.vgpu))
            })
            .map(|u| (u.vgpu, 1)),
        Regime::Tight => usage
            .filter(can)
            .min_by(|a, b| {
                (b.slots - b.min)
                    .cmp(&(a.slots - a.min))
                    .then(a.vgpu.cmp(&b.vgpu))
            })
            .map(|u| (u.vgpu, p.shrink_tight.min(u.slots - u.min))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            w_max: Milli::ONE,
            c_max: Milli::ONE,
            ..Params::default()
        }
    }

    fn phi_of(w: u64, c: u64) -> Milli {
        // W = w/1000 of vCPU time, C = c/1000 of 2 CPUs × 1 s.
        let s = Sample {
            steal_ns: w,
            vcpu_ns: 1000,
            copy_ns: c * 2_000_000,
            cpus: 2,
            period_ns: 1_000_000_000,
            source: Source::Modeled,
        };
        Load::new(&params(), &s).phi
    }

    #[test]
    fn regimes_at_threshold_edges() {
        let p = params();
        assert_eq!(phi_of(250, 249), Milli(499));
        assert_eq!(Regime::of(&p, phi_of(250, 249)), Regime::Grow);
        assert_eq!(Regime::of(&p, phi_of(250, 250)), Regime::Trim);
        assert_eq!(Regime::of(&p, phi_of(999, 0)), Regime::Trim);
        assert_eq!(Regime::of(&p, phi_of(500, 500)), Regime::Tight);
        assert_eq!(Regime::of(&p, phi_of(2000, 5000)), Regime::Tight);
        assert_eq!(phi_of(2000, 5000), Milli(2000));
        assert_eq!(Regime::of(&p, Milli(0)), Regime::Grow);
        let off = Params {
            enabled: false,
            ..p
        };
        assert_eq!(Regime::of(&off, Milli(0)), Regime::Off);
        assert!(Regime::Trim.approves() && !Regime::Tight.approves());
        // The maxima normalize: W = 0.25 against W_max = 0.5 is already 0.5.
        let half = Params {
            w_max: Milli(500),
            ..p
        };
        let s = Sample {
            steal_ns: 1,
            vcpu_ns: 4,
            ..Sample::default()
        };
        assert_eq!(Load::new(&half, &s).phi, Milli(500));
        assert_eq!(Load::new(&half, &Sample::default()).phi, Milli(0));
    }

    #[test]
    fn shrink_choice() {
        let id = |n| VgpuId::new(n).unwrap();
        let u = |n, slots, min, util, eligible| Usage {
            vgpu: id(n),
            slots,
            min,
            util: Milli(util),
            eligible,
        };
        let all = [
            u(0, 10, 6, 900, true),
            u(1, 8, 6, 100, true),
            u(2, 2, 1, 0, true),
            u(3, 12, 12, 0, true),
            u(4, 9, 6, 50, false),
        ];
        let p = params();
        // vGPU1 has the most idle GM (7.2 slots); vGPU3 is at its minimum, vGPU4 busy.
        assert_eq!(
            choose_shrink(&p, Regime::Trim, all.iter().copied()),
            Some((id(1), 1))
        );
        // Fully used vGPUs are left alone in Trim.
        let busy = [u(0, 10, 6, 1000, true), u(1, 8, 6, 950, true)];
        assert_eq!(choose_shrink(&p, Regime::Trim, busy.iter().copied()), None);
        let all2 = [all[0], u(1, 9, 6, 100, true), all[2], all[3], all[4]];
        assert_eq!(
            choose_shrink(&p, Regime::Tight, all2.iter().copied()),
            Some((id(0), 2))
        );
        assert_eq!(choose_shrink(&p, Regime::Grow, all2.iter().copied()), None);
        let one = [u(7, 3, 2, 0, true)];
        assert_eq!(
            choose_shrink(&p, Regime::Tight, one.iter().copied()),
            Some((id(7), 1))
        );
    }
}
