//! The balloon tunables, their defaults, bounds and sysfs parsing.

use super::fixed::{parse_bool, parse_u32, Milli};
use crate::gm::Error;
use core::fmt;

/// The balloon tunables (`/sys/kernel/rgvt/balloon_*`).
///
/// # Invariants
///
/// `10 <= period_ms <= 60000`, `t1 <= t2 <= 2.0`, `0 < w_max, c_max <= 1.0`,
/// `1 <= shrink_tight <= 8`, `1 <= shrink_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Whether the balloon runs at all; when off, every guest request is rejected.
    pub enabled: bool,
    /// How often the policy runs, in milliseconds (gBalloon: 500).
    pub period_ms: u32,
    /// Φ below T1 approves every expansion and shrinks nothing (gBalloon: 0.5).
    pub t1: Milli,
    /// Φ at or above T2 rejects expansions and shrinks regardless of use (gBalloon: 1.0).
    pub t2: Milli,
    /// The steal-time share that counts as full CPU contention (normalizes W).
    pub w_max: Milli,
    /// The GTT-copy CPU share that counts as full copy overhead (normalizes C).
    pub c_max: Milli,
    /// Slots taken from one vGPU per period when Φ ≥ T2 (gBalloon: two).
    pub shrink_tight: u32,
    /// Periods a shrink waits for the guest to release memory before it is cancelled.
    pub shrink_timeout: u32,
    /// Whether new parents give vGPUs scattered slot sets instead of runs (beyond gBalloon).
    pub scattered: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            enabled: true,
            period_ms: 500,
            t1: Milli(500),
            t2: Milli(1000),
            // gBalloon fixes both maxima by experiment; these are conservative starting points.
            w_max: Milli(500),
            c_max: Milli(100),
            shrink_tight: 2,
            shrink_timeout: 4,
            scattered: false,
        }
    }
}

/// One tunable, named as its sysfs file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunable {
    /// `balloon` (bool).
    Enabled,
    /// `balloon_period_ms` (u32).
    PeriodMs,
    /// `balloon_t1` (decimal).
    T1,
    /// `balloon_t2` (decimal).
    T2,
    /// `balloon_w_max` (decimal).
    WMax,
    /// `balloon_c_max` (decimal).
    CMax,
    /// `balloon_shrink_slots` (u32).
    ShrinkTight,
    /// `balloon_shrink_timeout` (u32, periods).
    ShrinkTimeout,
    /// `slots_scattered` (bool).
    Scattered,
}

impl Tunable {
    /// Every tunable, in the order sysfs lists them.
    pub const ALL: [Tunable; 9] = [
        Tunable::Enabled,
        Tunable::PeriodMs,
        Tunable::T1,
        Tunable::T2,
        Tunable::WMax,
        Tunable::CMax,
        Tunable::ShrinkTight,
        Tunable::ShrinkTimeout,
        Tunable::Scattered,
    ];

    /// Returns the sysfs file name.
    pub const fn name(self) -> &'static core::ffi::CStr {
        match self {
            Tunable::Enabled => c"balloon",
            Tunable::PeriodMs => c"balloon_period_ms",
            Tunable::T1 => c"balloon_t1",
            Tunable::T2 => c"balloon_t2",
            Tunable::WMax => c"balloon_w_max",
            Tunable::CMax => c"balloon_c_max",
            Tunable::ShrinkTight => c"balloon_shrink_slots",
            Tunable::ShrinkTimeout => c"balloon_shrink_timeout",
            Tunable::Scattered => c"slots_scattered",
        }
    }
}

impl Params {
    /// Returns whether the values satisfy the invariants.
    pub fn validate(&self) -> Result<(), Error> {
        let ok = (10..=60_000).contains(&self.period_ms)
            && self.t1 <= self.t2
            && self.t2 <= Milli(2000)
            && (1..=1000).contains(&self.w_max.0)
            && (1..=1000).contains(&self.c_max.0)
            && (1..=8).contains(&self.shrink_tight)
            && self.shrink_timeout >= 1;
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid)
        }
    }

    /// Parses `bytes` (a sysfs write) into tunable `t`; on error the old value is kept.
    pub fn store(&mut self, t: Tunable, bytes: &[u8]) -> Result<(), Error> {
        let mut new = *self;
        match t {
            Tunable::Enabled => new.enabled = parse_bool(bytes)?,
            Tunable::PeriodMs => new.period_ms = parse_u32(bytes)?,
            Tunable::T1 => new.t1 = Milli::parse(bytes)?,
            Tunable::T2 => new.t2 = Milli::parse(bytes)?,
            Tunable::WMax => new.w_max = Milli::parse(bytes)?,
            Tunable::CMax => new.c_max = Milli::parse(bytes)?,
            Tunable::ShrinkTight => new.shrink_tight = parse_u32(bytes)?,
            Tunable::ShrinkTimeout => new.shrink_timeout = parse_u32(bytes)?,
            Tunable::Scattered => new.scattered = parse_bool(bytes)?,
        }
        new.validate()?;
        // INVARIANT: validated above.
        *self = new;
        Ok(())
    }

    /// Writes tunable `t` the way sysfs `show` prints it (no newline).
    pub fn show(&self, t: Tunable, f: &mut impl fmt::Write) -> fmt::Result {
        match t {
            Tunable::Enabled => write!(f, "{}", u8::from(self.enabled)),
            Tunable::PeriodMs => write!(f, "{}", self.period_ms),
            Tunable::T1 => write!(f, "{}", self.t1),
            Tunable::T2 => write!(f, "{}", self.t2),
            Tunable::WMax => write!(f, "{}", self.w_max),
            Tunable::CMax => write!(f, "{}", self.c_max),
            Tunable::ShrinkTight => write!(f, "{}", self.shrink_tight),
            Tunable::ShrinkTimeout => write!(f, "{}", self.shrink_timeout),
            Tunable::Scattered => write!(f, "{}", u8::from(self.scattered)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn store_validates_and_keeps_old_values() {
        let mut p = Params::default();
        assert_eq!(p.validate(), Ok(()));
        p.store(Tunable::T1, b"0.75\n").unwrap();
        assert_eq!(p.t1, Milli(750));
        assert_eq!(p.store(Tunable::T1, b"1.5"), Err(Error::Invalid));
        assert_eq!(p.t1, Milli(750));
        assert_eq!(p.store(Tunable::T2, b"2.5"), Err(Error::Invalid));
        assert_eq!(p.store(Tunable::PeriodMs, b"5"), Err(Error::Invalid));
        assert_eq!(p.store(Tunable::WMax, b"0"), Err(Error::Invalid));
        p.store(Tunable::PeriodMs, b"250").unwrap();
        p.store(Tunable::Enabled, b"0").unwrap();
        assert!(!p.enabled);
        let mut out = String::new();
        for t in Tunable::ALL {
            out.push_str(t.name().to_str().unwrap());
            out.push('=');
            p.show(t, &mut out).unwrap();
            out.push(' ');
        }
        assert_eq!(
            out,
            "balloon=0 balloon_period_ms=250 balloon_t1=0.75 balloon_t2=1.0 balloon_w_max=0.5 \
             balloon_c_max=0.1 balloon_shrink_slots=2 balloon_shrink_timeout=4 slots_scattered=0 "
        );
    }
}
