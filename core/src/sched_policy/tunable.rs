//! The scheduler's sysfs tunables (`/sys/kernel/rgvt/sched_*`): names, parsing, printing.
//!
//! Values are given in the units an administrator thinks in (µs for the slice and the grace,
//! ms for the balance period) and kept in ns; a write that would break [`Params::valid`] is
//! refused and the old values stay.

use super::{Error, Params};
use crate::parse::parse_u64_in;
use core::fmt;

/// One scheduler tunable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunable {
    /// `sched_time_slice_us`: how long a vGPU keeps the GPU before the scheduler chooses again.
    TimeSliceUs,
    /// `sched_balance_period_ms`: the period over which the shares follow the weights.
    BalancePeriodMs,
    /// `sched_max_workloads`: the most workloads a vGPU starts in one slice.
    MaxWorkloads,
    /// `sched_idle_grace_us`: how long the GPU waits for the vGPU that ran last to submit again.
    IdleGraceUs,
}

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;

impl Tunable {
    /// Every tunable, in the order sysfs lists them.
    pub const ALL: [Tunable; 4] = [
        Tunable::TimeSliceUs,
        Tunable::BalancePeriodMs,
        Tunable::MaxWorkloads,
        Tunable::IdleGraceUs,
    ];

    /// Returns the sysfs file name.
    pub const fn name(self) -> &'static core::ffi::CStr {
        match self {
            Tunable::TimeSliceUs => c"sched_time_slice_us",
            Tunable::BalancePeriodMs => c"sched_balance_period_ms",
            Tunable::MaxWorkloads => c"sched_max_workloads",
            Tunable::IdleGraceUs => c"sched_idle_grace_us",
        }
    }
}

impl Params {
    /// Parses `bytes` (a sysfs write) into tunable `t`: `Ok` with the new parameters (the
    /// caller applies them), or an error with `self` unchanged.
    pub fn with(&self, t: Tunable, bytes: &[u8]) -> Result<Params, Error> {
        // Each value is bounded before it is scaled, so no product overflows; the relations
        // between them are `valid`'s.
        let value = |max: u64| parse_u64_in(bytes, 0, max).map_err(|_| Error::Invalid);
        let mut new = *self;
        match t {
            Tunable::TimeSliceUs => new.time_slice_ns = value(10_000_000)? * NS_PER_US,
            Tunable::BalancePeriodMs => new.balance_period_ns = value(10_000)? * NS_PER_MS,
            Tunable::MaxWorkloads => new.max_workloads = value(u64::from(u32::MAX))? as u32,
            Tunable::IdleGraceUs => new.idle_grace_ns = value(10_000_000)? * NS_PER_US,
        }
        if new.valid() {
            Ok(new)
        } else {
            Err(Error::Invalid)
        }
    }

    /// Writes tunable `t` the way sysfs `show` prints it (no newline).
    pub fn show(&self, t: Tunable, f: &mut impl fmt::Write) -> fmt::Result {
        match t {
            Tunable::TimeSliceUs => write!(f, "{}", self.time_slice_ns / NS_PER_US),
            Tunable::BalancePeriodMs => write!(f, "{}", self.balance_period_ns / NS_PER_MS),
            Tunable::MaxWorkloads => write!(f, "{}", self.max_workloads),
            Tunable::IdleGraceUs => write!(f, "{}", self.idle_grace_ns / NS_PER_US),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn shown(p: &Params) -> String {
        let mut out = String::new();
        for t in Tunable::ALL {
            out.push_str(t.name().to_str().unwrap());
            out.push('=');
            p.show(t, &mut out).unwrap();
            out.push(' ');
        }
        out
    }

    #[test]
    fn store_validates_and_keeps_old_values() {
        let p = Params {
            idle_grace_ns: 10 * super::super::DEFAULT_TIME_SLICE_NS,
            ..Params::default()
        };
        assert_eq!(
            shown(&p),
            "sched_time_slice_us=1000 sched_balance_period_ms=100 sched_max_workloads=16 \
             sched_idle_grace_us=10000 "
        );
        let q = p.with(Tunable::TimeSliceUs, b"2500\n").unwrap();
        assert_eq!(q.time_slice_ns, 2_500_000);
        let q = q.with(Tunable::BalancePeriodMs, b"250").unwrap();
        assert_eq!(q.balance_period_ns, 250_000_000);
        assert_eq!(
            q.with(Tunable::MaxWorkloads, b"1").unwrap().max_workloads,
            1
        );
        assert_eq!(q.with(Tunable::IdleGraceUs, b"0").unwrap().idle_grace_ns, 0);
        // Out of range or against another value: refused.
        let refused: [(Tunable, &[u8]); 10] = [
            (Tunable::TimeSliceUs, b"0"),
            (Tunable::TimeSliceUs, b"100001"), // longer than the 100 ms period
            (Tunable::TimeSliceUs, b"-1"),
            (Tunable::TimeSliceUs, b"1ms"),
            (Tunable::BalancePeriodMs, b"0"),
            (Tunable::BalancePeriodMs, b"10001"),
            (Tunable::MaxWorkloads, b"0"),
            (Tunable::MaxWorkloads, b"4097"),
            (Tunable::IdleGraceUs, b"100001"),
            (Tunable::IdleGraceUs, b"18446744073709551616"),
        ];
        for (t, input) in refused {
            assert_eq!(p.with(t, input), Err(Error::Invalid), "{t:?} {input:?}");
        }
        // A period shorter than the slice is refused too.
        let long = p.with(Tunable::TimeSliceUs, b"50000").unwrap();
        assert_eq!(
            long.with(Tunable::BalancePeriodMs, b"10"),
            Err(Error::Invalid)
        );
    }

    #[test]
    fn every_value_shown_is_accepted_back() {
        let p = Params {
            idle_grace_ns: 3_000_000,
            ..Params::default()
        };
        for t in Tunable::ALL {
            let mut s = String::new();
            p.show(t, &mut s).unwrap();
            assert_eq!(p.with(t, s.as_bytes()), Ok(p), "{t:?}");
        }
    }
}
