//! Property tests: at every submission the shadow translates like the guest's own tables.
//!
//! Random guest writes (trapped when the page is protected, straight into
//! guest memory when not, in whole or in halves, sometimes malformed), root
//! changes, policy and tunable changes and submissions run against
//! [`Sim::model`], under every initial policy. The untracked runs are a host
//! without write protection (the kernel's sim until write tracking): no
//! write traps, and [`Tables::refresh`] rebuilds the shadow before each
//! workload, or [`Tables::refresh_root`] the tree of each root before that
//! root is checked (the kernel's prepare of one context's workload).

use super::sim::Sim;
use super::{Error, Params, Policy, Tables, Target};
use crate::pte::Entry;
use crate::storage::Std;
use proptest::prelude::*;
use std::format;
use std::vec::Vec;

/// Guest frames; page-table pages come from the first `TABLES`.
const FRAMES: u64 = 48;
const TABLES: u64 = 12;
/// Entry indices written: the checked upper-level indices plus some 64 KB corners.
const INDICES: [usize; 8] = [0, 1, 2, 15, 16, 17, 32, 511];

#[derive(Debug, Clone)]
enum Op {
    /// Guest writes `value` to entry `INDICES[index]` of table page `page` in `style`.
    Write {
        page: u64,
        index: usize,
        value: u64,
        style: u8,
    },
    /// The guest's current context now uses root `root` (attach it, maybe drop the oldest).
    Root { root: u64, drop_old: bool },
    /// Runtime policy change.
    Policy(usize),
    /// Runtime tunable change: pool, threshold, static pages.
    Tune {
        pool: u32,
        threshold: u32,
        statics: u32,
    },
    /// A workload is submitted: check every address of every attached root.
    Submit,
}

fn value() -> impl Strategy<Value = u64> {
    (0u8..10, 0u64..(FRAMES + 8), 0u64..32).prop_map(|(kind, frame, flags)| {
        // Mostly present entries to small frames (so pages get shared), some
        // not present, some out of range, some huge.
        let bits = (flags & 0x1a) | ((flags & 1) << 62);
        match kind {
            0 => 0,
            1 => Entry::pointer(frame).raw() | (1 << 7),
            2 => Entry::pointer(frame).raw() | (1 << 11),
            3 => Entry::pointer(frame + 1000).raw(),
            4..=6 => Entry::pointer(frame % TABLES).raw() | bits,
            _ => Entry::pointer(frame).raw() | bits,
        }
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (page(), 0..INDICES.len(), value(), 0u8..12)
            .prop_map(|(page, index, value, style)| Op::Write { page, index, value, style }),
        1 => (prop_oneof![Just(0u64), Just(9), Just(1), Just(3)], any::<bool>())
            .prop_map(|(root, drop_old)| Op::Root { root, drop_old }),
        1 => (0..Policy::ALL.len()).prop_map(Op::Policy),
        1 => (prop_oneof![Just(1u32), Just(2), Just(3), Just(8192)], 1u32..4, 0u32..3)
            .prop_map(|(pool, threshold, statics)| Op::Tune { pool, threshold, statics }),
        3 => Just(Op::Submit),
    ]
}

/// Direct writes that perturb the base tree before the first root is attached.
fn layout() -> impl Strategy<Value = Vec<(u64, usize, u64)>> {
    proptest::collection::vec((0..TABLES, 0..INDICES.len(), value()), 0..8)
}

/// A tree with shared pages, a 64 KB PT and a 2 MB entry, reachable from roots 0 and 9.
fn base(sim: &mut Sim) {
    let p = |f: u64| Entry::pointer(f).raw();
    let links: [(u64, usize, u64); 13] = [
        (0, 0, p(1)),
        (0, 1, p(2)),
        (9, 0, p(1)),
        (9, 2, p(2)),
        (1, 0, p(3)),
        (1, 1, p(4)),
        (2, 0, p(4)),
        (3, 0, p(5)),
        (3, 1, p(6)),
        (3, 2, p(7) | (1 << 11)),
        (4, 0, p(6)),
        (4, 1, p(8)),
        (4, 2, p(0) | (1 << 7)),
    ];
    for (page, index, value) in links {
        sim.set_entry(page, index, value);
    }
    for (k, i) in INDICES.into_iter().enumerate() {
        for pt in [5, 6, 8] {
            sim.set_entry(pt, i, p(TABLES + (pt + k as u64) % (FRAMES - TABLES)));
        }
    }
    sim.set_entry(7, 0, p(16));
    sim.set_entry(7, 16, p(32));
}

/// Table pages written: mostly the PT pages of the base tree.
fn page() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 5..9u64, 2 => 0..TABLES]
}

struct World {
    sim: Sim,
    t: Tables<Std>,
    roots: Vec<u64>,
    now: u64,
    /// Whether writes to protected pages trap (false: a host with no write tracking).
    tracked: bool,
}

impl World {
    fn guest_write(&mut self, gfn: u64, off: usize, data: &[u8]) -> Result<(), Error> {
        self.now += 300;
        if self.sim.guest_write(gfn, off, data) && self.tracked {
            self.t.write(&mut self.sim, gfn, off, data, self.now)
        } else {
            Ok(())
        }
    }

    fn write(
        &mut self,
        page: u64,
        index: usize,
        value: u64,
        style: u8,
    ) -> Result<(), TestCaseError> {
        let off = index * 8;
        let lo = (value as u32).to_le_bytes();
        let hi = ((value >> 32) as u32).to_le_bytes();
        let results = match style {
            0 => [
                self.guest_write(page, off + 4, &hi),
                self.guest_write(page, off, &lo),
            ],
            1 => [
                self.guest_write(page, off, &lo),
                self.guest_write(page, off + 4, &hi),
            ],
            2 => [self.guest_write(page, off, &lo), Ok(())],
            3 => [
                self.guest_write(page, off + 4, &value.to_le_bytes()),
                Ok(()),
            ],
            4 => [self.guest_write(page, off + 2, &lo[..2]), Ok(())],
            _ => [self.guest_write(page, off, &value.to_le_bytes()), Ok(())],
        };
        for r in results {
            match r {
                Ok(()) | Err(Error::BadWrite) | Err(Error::HugePage1G) => {}
                Err(e) => return Err(TestCaseError::fail(format!("write failed: {e:?}"))),
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for &root in &self.roots {
            self.check_root(root)?;
        }
        prop_assert_eq!(self.t.counters().pins_now, self.sim.total_pins());
        prop_assert!(self.sim.max_protect_depth() <= 1);
        Ok(())
    }

    /// Every address of `root` that the layout can map translates as the guest's tables say.
    fn check_root(&self, root: u64) -> Result<(), TestCaseError> {
        {
            let Some(mfn) = self.t.root(root) else {
                return Err(TestCaseError::fail("root lost"));
            };
            for a in 0..3u64 {
                for b in 0..3u64 {
                    for c in 0..3u64 {
                        for d in 0..512u64 {
                            let va = (a << 39) | (b << 30) | (c << 21) | (d << 12);
                            let want = match self.sim.model(root, va) {
                                Some(h) => Target::Frame(h),
                                None => Target::Scratch,
                            };
                            let got = self.t.translate(&self.sim, mfn, va);
                            prop_assert_eq!(got, want, "root {} va {:#x}", root, va);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A submission point: the reconstruction `mode` runs, then the check.
    /// Its errors fail the case unless `lenient` (the last one, after
    /// everything the case did), a 1 GB page's never.
    fn submit(&mut self, mode: Mode, lenient: bool) -> Result<(), TestCaseError> {
        let ok = |r: Result<(), Error>| match r {
            Ok(()) | Err(Error::HugePage1G) => Ok(()),
            Err(_) if lenient => Ok(()),
            Err(e) => Err(TestCaseError::fail(format!("submit: {e:?}"))),
        };
        match mode {
            Mode::Tracked => ok(self.t.before_submit(&mut self.sim))?,
            Mode::Untracked => ok(self.t.refresh(&mut self.sim))?,
            Mode::UntrackedPerRoot => {
                // Each root's workload: its tree refreshed, then checked at
                // once (the other trees may be stale until their turn).
                for i in 0..self.roots.len() {
                    let root = self.roots[i];
                    ok(self.t.refresh_root(&mut self.sim, root))?;
                    self.check_root(root)?;
                }
            }
        }
        self.check()
    }
}

/// How the shadow is brought up to date at a submission point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Writes trap; the policy's `before_submit`.
    Tracked,
    /// Nothing traps; `refresh` of every tree.
    Untracked,
    /// Nothing traps; `refresh_root` of each root in turn.
    UntrackedPerRoot,
}

fn run(policy: Policy, layout: Vec<(u64, usize, u64)>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    run_mode(policy, Mode::Tracked, layout, ops)
}

fn run_mode(
    policy: Policy,
    mode: Mode,
    layout: Vec<(u64, usize, u64)>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut sim = Sim::new(FRAMES);
    base(&mut sim);
    for (page, index, value) in layout {
        sim.set_entry(page, INDICES[index], value);
    }
    let params = Params {
        policy,
        threshold: 2,
        window_ns: 2000,
        pool_pages: 3,
        static_pages: 2,
        ..Params::default()
    };
    let t =
        Tables::<Std>::new(&mut sim, params).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    let mut w = World {
        sim,
        t,
        roots: Vec::new(),
        now: 0,
        tracked: mode == Mode::Tracked,
    };
    match w.t.attach(&mut w.sim, 0) {
        Ok(_) => w.roots.push(0),
        Err(Error::HugePage1G) => {}
        Err(e) => return Err(TestCaseError::fail(format!("attach: {e:?}"))),
    }
    for op in ops {
        match op {
            Op::Write {
                page,
                index,
                value,
                style,
            } => w.write(page, INDICES[index], value, style)?,
            Op::Root { root, drop_old } => {
                match w.t.attach(&mut w.sim, root) {
                    Ok(_) => {
                        if !w.roots.contains(&root) {
                            w.roots.push(root);
                        } else {
                            // Keep one reference per listed root.
                            w.t.detach(&mut w.sim, root)
                                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        }
                    }
                    Err(Error::HugePage1G) => {}
                    Err(e) => return Err(TestCaseError::fail(format!("attach: {e:?}"))),
                }
                if drop_old && w.roots.len() > 1 {
                    let old = w.roots.remove(0);
                    w.t.detach(&mut w.sim, old)
                        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                }
            }
            Op::Policy(i) => {
                w.t.set_policy(&mut w.sim, Policy::ALL[i])
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            }
            Op::Tune {
                pool,
                threshold,
                statics,
            } => {
                let mut p = *w.t.params();
                p.pool_pages = pool;
                p.threshold = threshold;
                p.static_pages = statics;
                w.t.set_params(&mut w.sim, p)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            }
            Op::Submit => w.submit(mode, false)?,
        }
    }
    w.submit(mode, true)?;
    let World { mut sim, t, .. } = w;
    t.destroy(&mut sim);
    prop_assert_eq!(sim.total_pins(), 0);
    prop_assert_eq!(sim.protected_frames(), 0);
    prop_assert_eq!(sim.live_pages(), 0);
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

macro_rules! policy_test {
    ($name:ident, $policy:expr) => {
        proptest! {
            #![proptest_config(config())]
            #[test]
            fn $name(layout in layout(), ops in proptest::collection::vec(op(), 1..80)) {
                run($policy, layout, ops)?;
            }
        }
    };
}

policy_test!(model_strict, Policy::Strict);
policy_test!(model_full, Policy::Full);
policy_test!(model_static, Policy::Static);
policy_test!(model_dynamic, Policy::Dynamic);
policy_test!(model_segmented, Policy::Segmented);

macro_rules! untracked_test {
    ($name:ident, $policy:expr) => {
        proptest! {
            #![proptest_config(config())]
            #[test]
            fn $name(layout in layout(), ops in proptest::collection::vec(op(), 1..80)) {
                run_mode($policy, Mode::Untracked, layout, ops)?;
            }
        }
    };
}

untracked_test!(model_untracked_full, Policy::Full);
untracked_test!(model_untracked_strict, Policy::Strict);
untracked_test!(model_untracked_segmented, Policy::Segmented);

macro_rules! untracked_root_test {
    ($name:ident, $policy:expr) => {
        proptest! {
            #![proptest_config(config())]
            #[test]
            fn $name(layout in layout(), ops in proptest::collection::vec(op(), 1..80)) {
                run_mode($policy, Mode::UntrackedPerRoot, layout, ops)?;
            }
        }
    };
}

untracked_root_test!(model_untracked_per_root_full, Policy::Full);
untracked_root_test!(model_untracked_per_root_strict, Policy::Strict);

/// A case the property test once found: guest page 9 is shadowed as PDP
/// (root 0's PML4[2]), PD (page 2's PDP[0]) and PT (page 2's PD[0]). The trapped
/// write to its entry 2 first rebuilds the PDP entry, which frees 2-as-PD and
/// with it 9-as-PT; the PD entry then creates 5-as-PT, which reused the freed
/// id, and the write was applied to it as if it were page 9.
#[test]
fn regression_page_at_three_levels() {
    let ops = std::vec![
        Op::Write {
            page: 0,
            index: 2,
            value: 0x9003,
            style: 0,
        },
        Op::Write {
            page: 2,
            index: 0,
            value: 0x9003,
            style: 5,
        },
        Op::Write {
            page: 9,
            index: 2,
            value: 0x5003,
            style: 5,
        },
    ];
    run(Policy::Segmented, std::vec![(0, 0, 0)], ops).unwrap();
}
