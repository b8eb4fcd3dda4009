//! The guest-facing decoders under random load: no input may panic or overflow, and the
//! invariants the models check hold after every operation.
//!
//! Each test drives one decoder with its own seeded generator (splitmix64, so a run is
//! reproduced from its seed alone) and reuses the models and checks of the modules' own tests
//! where they exist (`vggtt::tests`, `irq::tests`, `cfg_space::tests`, `balloon::tests`).
//! `cargo test` runs [`DEFAULT_OPS`] operations per decoder with [`DEFAULT_SEED`]; a long run
//! sets the environment (see `Documentation/rgvt/testing.rst`):
//!
//! ```text
//! RGVT_DECODER_OPS=1000000 RGVT_DECODER_SEED=random \
//!     cargo test -p rgvt-core --release --lib decoders:: -- --nocapture --test-threads=1
//! ```
//!
//! Each test prints its seed, operations, operations per second and the errors the decoder
//! returned, by kind. Run in debug (the default profile) overflow checks are on.

use crate::balloon::params::{Params as BalloonParams, Tunable};
use crate::balloon::tests::{run_protocol, GuestOp};
use crate::cfg_space::tests::{gpu, igd, walk_caps, word};
use crate::cfg_space::{gm_size_of, msi, reg};
use crate::irq::tests::{run as run_irq, set as set_irq, Glue, Step};
use crate::irq::{self, Irqs, Mode, SetHeader, NUM_IRQS};
use crate::mmio::regs::{BANKS, MASKED};
use crate::mmio::{self, Target, Vregs, BAR0_SIZE, GGTT_OFFSET, MMIO_SIZE};
use crate::parse::{parse_bool, parse_choice, parse_u64, parse_u64_in, trim};
use crate::pte::{Entry, GgttPte, Level, ENTRIES};
use crate::pvinfo::{self, Access, GmRange, Published, VGT_PVINFO_PAGE, VGT_PVINFO_SIZE};
use crate::shadow::{Param as ShadowParam, Params as ShadowParams};
use crate::storage::Std;
use crate::vggtt::tests::{run as run_ggtt_model, run_concurrent, COp, Op, FRAMES, SPAN};
use crate::vggtt::{Commit, Counters, Issue, Plan, Range, Ticket, VGgtt, MAX_PENDING};
use std::collections::{BTreeMap, HashMap};
use std::string::{String, ToString};
use std::sync::OnceLock;
use std::time::Instant;
use std::vec::Vec;
use std::{format, println, vec};

/// Operations per decoder in `cargo test` (a few seconds in all, in debug).
const DEFAULT_OPS: u64 = 100_000;
/// The seed of `cargo test`'s run, so that CI's run is always the same.
const DEFAULT_SEED: u64 = 0x7267_7674_0013_5eed;

/// splitmix64: small, fast, and every seed gives a full-period stream (the
/// host tests' one generator: a run is reproduced from its seed).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// A stream for decoder `stream` of the run with `seed`.
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next();
        r
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n) (n > 0; the tiny modulo bias does not matter here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True once in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn u32(&mut self) -> u32 {
        self.next() as u32
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// A value biased to the edges a decoder gets wrong: 0, 1, powers of two, all ones.
    fn edgy(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => u64::MAX - self.below(4),
            2 => 1u64 << self.below(64),
            3 => (1u64 << self.below(64)).wrapping_sub(1),
            4 => self.below(256),
            _ => self.next(),
        }
    }
}

/// The run's seed and operations per decoder, from the environment or the defaults.
///
/// `random` draws one seed for the whole run (every test of the process shares it), printed by
/// each test so that any failure can be replayed.
fn config() -> (u64, u64) {
    static SEED: OnceLock<u64> = OnceLock::new();
    let ops = std::env::var("RGVT_DECODER_OPS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_OPS);
    let seed = *SEED.get_or_init(|| match std::env::var("RGVT_DECODER_SEED") {
        Ok(s) if s.trim() == "random" => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            Rng::new(t, u64::from(std::process::id())).next()
        }
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("RGVT_DECODER_SEED={s}: not a number or `random`"))
        }
        Err(_) => DEFAULT_SEED,
    });
    (seed, ops)
}

/// Operations done and errors returned, by kind, for the report.
struct Tally {
    name: &'static str,
    seed: u64,
    ops: u64,
    errors: BTreeMap<String, u64>,
    start: Instant,
}

impl Tally {
    fn new(name: &'static str, seed: u64) -> Self {
        println!("decoders: {name}: seed {seed:#x}");
        Tally {
            name,
            seed,
            ops: 0,
            errors: BTreeMap::new(),
            start: Instant::now(),
        }
    }

    fn err(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_insert(0) += 1;
    }

    /// Adds the GGTT counters that count refused or degraded guest input.
    fn ggtt(&mut self, c: &Counters) {
        c.for_each(|name, n| {
            if n > 0
                && matches!(
                    name,
                    "ignored_writes"
                        | "invalid_entries"
                        | "pending_evicted"
                        | "stale_pins"
                        | "pin_retries"
                        | "pin_fallbacks"
                )
            {
                *self.errors.entry(format!("ggtt {name}")).or_insert(0) += n;
            }
        });
    }

    fn report(&self) {
        let s = self.start.elapsed().as_secs_f64();
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        println!(
            "decoders: {}: seed {:#x}, {} ops in {:.2} s ({:.0} ops/s); errors by kind: {}",
            self.name,
            self.seed,
            self.ops,
            s,
            self.ops as f64 / s.max(1e-9),
            if errors.is_empty() {
                "none".to_string()
            } else {
                errors.join(", ")
            }
        );
    }
}

/// Fails with the seed, so the run can be repeated.
fn fail(t: &Tally, what: impl core::fmt::Display) -> ! {
    panic!(
        "decoders: {}: seed {:#x} (RGVT_DECODER_SEED={:#x}), after {} ops: {what}",
        t.name, t.seed, t.seed, t.ops
    )
}

/// Host frame of the scratch page.
const SCRATCH: u64 = 0xdead;

/// Guest frames pinned by a fake VFIO that refuses one pin in `fail_one_in`.
struct Pinner {
    pins: HashMap<u64, u32>,
    fail_one_in: u64,
}

impl Pinner {
    fn new(fail_one_in: u64) -> Self {
        Pinner {
            pins: HashMap::new(),
            fail_one_in,
        }
    }

    fn pin(&mut self, rng: &mut Rng, gfn: u64) -> Option<u64> {
        if rng.one_in(self.fail_one_in) {
            return None;
        }
        *self.pins.entry(gfn).or_insert(0) += 1;
        // Any host frame; the address field keeps what fits.
        Some(gfn ^ 0x5_5555)
    }

    fn unpin(&mut self, t: &Tally, gfn: u64) {
        match self.pins.get_mut(&gfn) {
            Some(c) if *c > 0 => {
                *c -= 1;
                if *c == 0 {
                    self.pins.remove(&gfn);
                }
            }
            _ => fail(t, format!("unpin of unpinned gfn {gfn:#x}")),
        }
    }

    fn total(&self) -> u64 {
        self.pins.values().map(|&c| u64::from(c)).sum()
    }
}

/// Runs a planned GGTT write to its end as a caller with no concurrency does.
fn land_write(v: &mut VGgtt<Std>, p: &mut Pinner, rng: &mut Rng, t: &mut Tally, plan: Plan) {
    let mut ticket: Ticket = match plan {
        Plan::Ignored => return t.err("ggtt write ignored"),
        Plan::Done { unpin, .. } => {
            if let Some(g) = unpin {
                p.unpin(t, g);
            }
            return;
        }
        Plan::Pin(ticket) => ticket,
    };
    for _ in 0..64 {
        let issued = match v.issue(ticket) {
            Issue::Go(i) => i,
            Issue::Stale => return t.err("ggtt ticket stale"),
            Issue::Wait => fail(t, "a sequential write was held back"),
        };
        let pinned = p.pin(rng, issued.gfn());
        if pinned.is_none() {
            t.err("ggtt pin failed");
        }
        let c: Commit = v.commit_write(issued, pinned);
        for g in c.unpin.into_iter().flatten() {
            p.unpin(t, g);
        }
        if let Some(out) = c.retire {
            v.retire(out);
        }
        match c.retry {
            Some(r) => ticket = r,
            None => return,
        }
    }
    fail(t, "a write kept retrying");
}

/// Every pin the fake VFIO holds is held by exactly one entry (the GGTT has no pin out between
/// operations here).
fn check_pins(v: &VGgtt<Std>, p: &Pinner, t: &Tally) {
    if v.counters().pins_now != p.total() {
        fail(
            t,
            format!(
                "pins_now {} but {} pins taken",
                v.counters().pins_now,
                p.total()
            ),
        );
    }
}

/// Gives up everything and checks that every pin was released exactly once.
fn release_all(v: &mut VGgtt<Std>, p: &mut Pinner, t: &Tally) {
    let r = v.take_all();
    for g in r.pins() {
        p.unpin(t, g);
    }
    if p.total() != 0 || v.counters().pins_total != v.counters().unpins_total {
        fail(t, format!("pins left after take_all: {:?}", p.pins));
    }
}

fn pv() -> Published {
    Published {
        vgt_id: 3,
        mappable: GmRange {
            base: 0x0400_0000,
            size: 0x0400_0000,
        },
        nonmappable: GmRange {
            base: 0x1000_0000,
            size: 0x1800_0000,
        },
        fence_num: 4,
    }
}

/// A BAR0 offset: anywhere, or near the edges and the areas with rules of their own.
fn bar0_offset(rng: &mut Rng) -> u64 {
    match rng.below(9) {
        0 => rng.edgy(),
        1 => BAR0_SIZE.wrapping_sub(rng.below(24)),
        2 => u64::from(MMIO_SIZE).wrapping_sub(rng.below(24)) + rng.below(2) * 24,
        3 | 4 => GGTT_OFFSET + rng.below(4096 * 8),
        5 | 6 => u64::from(VGT_PVINFO_PAGE) + rng.below(u64::from(VGT_PVINFO_SIZE) + 8),
        7 => {
            let b = BANKS[rng.below(BANKS.len() as u64) as usize];
            u64::from(b.base()) + rng.below(16)
        }
        _ => u64::from(MASKED[rng.below(MASKED.len() as u64) as usize]) + rng.below(4),
    }
}

fn access_len(rng: &mut Rng) -> usize {
    match rng.below(8) {
        0 => rng.edgy() as usize,
        1 => rng.below(17) as usize,
        _ => 1 << rng.below(4),
    }
}

/// BAR0 through `mmio::decode`, the register model (PV page included) and the GGTT half.
#[test]
fn decoders_mmio() {
    let (seed, n) = config();
    let mut rng = Rng::new(seed, 1);
    let mut t = Tally::new("mmio", seed);
    let pv = pv();
    let mut regs = Vregs::<Std>::new(&pv).unwrap();
    let mut ggtt = VGgtt::<Std>::new(SCRATCH);
    let mut pins = Pinner::new(8);
    ggtt.set_ranges(&[Range {
        start: 0,
        len: 2048,
    }])
    .unwrap();
    let host_owned: Vec<(u32, u32)> = pvinfo::top_half(&pv)
        .into_iter()
        .filter(|&(o, _)| pvinfo::access(o) == Access::ReadOnly)
        .collect();
    while t.ops < n {
        t.ops += 1;
        let mut offset = bar0_offset(&mut rng);
        let len = access_len(&mut rng);
        if len.is_power_of_two() && !rng.one_in(8) {
            offset &= !(len as u64 - 1);
        }
        let write = rng.one_in(2);
        match mmio::decode(offset, len) {
            Err(e) => t.err(format!("decode {e:?}")),
            Ok(Target::Mmio(o)) => {
                if u64::from(o) + len as u64 > u64::from(MMIO_SIZE) || u64::from(o) != offset {
                    fail(&t, format!("decode({offset:#x}, {len}) gave Mmio({o:#x})"));
                }
                if write {
                    let data = rng.bytes(len);
                    if let Some(notify) = regs.write(o, &data) {
                        t.err(format!(
                            "g2v notify of {} value",
                            pvinfo::G2v::from_raw(notify).map_or("an unknown", |_| "a known")
                        ));
                    }
                } else {
                    let mut buf = vec![0u8; len];
                    regs.read(o, &mut buf);
                }
            }
            Ok(Target::Ggtt { index, offset: at }) => {
                let entries = (BAR0_SIZE - GGTT_OFFSET) / mmio::GGTT_ENTRY_SIZE;
                if index >= entries || !matches!(at, 0 | 4) || len < 4 {
                    fail(
                        &t,
                        format!("decode({offset:#x}, {len}) gave entry {index} +{at}"),
                    );
                }
                if write {
                    let value = match rng.below(3) {
                        0 => rng.next(),
                        1 => GgttPte::new(rng.below(64)).raw(),
                        _ => GgttPte::new(rng.below(64)).raw() >> 32,
                    };
                    let plan = ggtt.plan_write(index, at, len, value);
                    land_write(&mut ggtt, &mut pins, &mut rng, &mut t, plan);
                    check_pins(&ggtt, &pins, &t);
                } else {
                    ggtt.read(index, at, len);
                }
            }
        }
        // The register model's own API at any offset and size, as a careless caller would use it.
        if rng.one_in(16) {
            let o = rng.u32();
            let len = rng.below(12) as usize;
            if rng.one_in(2) {
                let data = rng.bytes(len);
                let _ = regs.write(o, &data);
            } else {
                let mut buf = vec![0u8; len];
                regs.read(o, &mut buf);
            }
        }
        for &(o, val) in &host_owned {
            let got = regs.reg(VGT_PVINFO_PAGE + o);
            if got != val {
                fail(
                    &t,
                    format!("host-owned PV field {o:#x} is {got:#x}, not {val:#x}"),
                );
            }
        }
        if rng.one_in(5000) {
            regs.reset(&pv);
        }
        if rng.one_in(5000) {
            release_all(&mut ggtt, &mut pins, &t);
            ggtt.set_ranges(&[Range {
                start: 0,
                len: 2048,
            }])
            .unwrap();
        }
    }
    release_all(&mut ggtt, &mut pins, &t);
    t.report();
}

/// A small frame mostly (so entries share frames and unmaps hit them), sometimes one the fake
/// VFIO never mapped (the pin fails).
fn cop_frame(rng: &mut Rng) -> u64 {
    if rng.one_in(16) {
        FRAMES - 2 + rng.below(6)
    } else {
        rng.below(14)
    }
}

fn random_cop(rng: &mut Rng) -> COp {
    match rng.below(32) {
        0..=7 => COp::Plan(
            rng.below(12),
            rng.below(8) as u8,
            cop_frame(rng),
            rng.below(16),
        ),
        8..=15 => COp::Step(rng.below(8) as usize),
        16..=21 => COp::Commit(rng.below(8) as usize),
        22 => COp::Access(rng.below(14)),
        23 | 24 => COp::UnmapBegin(rng.below(12), 1 + rng.below(3)),
        25..=27 => COp::UnmapEnd,
        28 | 29 => COp::Map(rng.below(12), 1 + rng.below(3)),
        30 => COp::Ranges(
            (0..rng.below(3))
                .map(|_| (rng.below(12), rng.below(12)))
                .collect(),
        ),
        _ => COp::Release,
    }
}

fn random_op(rng: &mut Rng) -> Op {
    match rng.below(16) {
        0..=11 => Op::Write(
            rng.below(SPAN + 4),
            rng.below(8) as u8,
            rng.below(FRAMES + 4),
            rng.below(16),
        ),
        12 => Op::Unmap(rng.below(FRAMES), 1 + rng.below(7)),
        13 => Op::Map(rng.below(FRAMES), 1 + rng.below(7)),
        14 => Op::Ranges(
            (0..rng.below(4))
                .map(|_| (rng.below(SPAN), rng.below(20)))
                .collect(),
        ),
        _ => Op::Release,
    }
}

/// A range anywhere in the 64-bit index space: small, or so large no allocation can hold it.
fn wild_range(rng: &mut Rng) -> Range {
    let start = match rng.below(3) {
        0 => rng.edgy(),
        _ => rng.below(4096),
    };
    let len = match rng.below(8) {
        0 => 1u64 << (45 + rng.below(19)),
        1 => u64::MAX - rng.below(4),
        _ => rng.below(512),
    };
    Range { start, len }
}

/// One call of the trap path's API with arbitrary arguments; checks the pins after it.
fn wild_op(v: &mut VGgtt<Std>, p: &mut Pinner, rng: &mut Rng, t: &mut Tally) {
    let index = match rng.below(4) {
        0 => rng.edgy(),
        _ => v
            .ranges()
            .first()
            .map_or(0, |r| r.start)
            .saturating_add(rng.below(600)),
    };
    match rng.below(16) {
        0..=6 => {
            let offset = match rng.below(4) {
                0 => rng.next() as u8,
                _ => 4 * rng.below(2) as u8,
            };
            let len = match rng.below(4) {
                0 => rng.edgy() as usize,
                _ => 4 << rng.below(2),
            };
            let value = match rng.below(3) {
                0 => rng.edgy(),
                _ => GgttPte::new(rng.below(32)).raw() | (rng.next() & 0xfff0_0000_0000_0ffe),
            };
            let plan = v.plan_write(index, offset, len, value);
            land_write(v, p, rng, t, plan);
        }
        7 => {
            v.read(index, rng.next() as u8, rng.edgy() as usize);
        }
        8 => {
            let n = rng.below(4) as usize;
            let ranges: Vec<Range> = (0..n).map(|_| wild_range(rng)).collect();
            match v.set_ranges(&ranges) {
                Ok(r) => {
                    for g in r.pins() {
                        p.unpin(t, g);
                    }
                }
                Err(e) => t.err(format!("set_ranges {e:?}")),
            }
        }
        9 | 10 => {
            let gfn = match rng.below(3) {
                0 => rng.edgy(),
                _ => rng.below(32),
            };
            let count = match rng.below(3) {
                0 => rng.edgy(),
                _ => rng.below(8),
            };
            if !v.begin_unmap(gfn, count) {
                fail(t, "a sequential unmap found every unmap slot taken");
            }
            let mut out = [0u64; 3];
            loop {
                let got = v.take_unmapped(gfn, count, &mut out, |_, _| {});
                for &g in &out[..got] {
                    p.unpin(t, g);
                }
                if got < out.len() {
                    break;
                }
            }
            v.end_unmap(gfn, count);
            if v.pins_out_in(gfn, count) {
                fail(t, "a pin is out after the unmap");
            }
        }
        11 => match v.reserve(rng.edgy()) {
            Issue::Go(out) => {
                if let Some(_host) = p.pin(rng, out.gfn()) {
                    p.unpin(t, out.gfn());
                }
                v.retire(out);
            }
            Issue::Wait => t.err("ggtt reserve wait"),
            Issue::Stale => t.err("ggtt reserve stale"),
        },
        12 => {
            let _ = v.entry(index);
            let _ = v.host_pte(index);
        }
        13 if rng.one_in(16) => release_all(v, p, t),
        _ => {
            let guest = rng.next();
            let pte = v.scratch_pte(guest);
            if GgttPte::from_raw(pte).frame() != SCRATCH {
                fail(t, format!("scratch_pte({guest:#x}) = {pte:#x}"));
            }
        }
    }
    check_pins(v, p, t);
    // No entry maps a frame that is not pinned for it.
    let lo = v.ranges().first().map_or(0, |r| r.start);
    for index in lo..lo.saturating_add(8) {
        if let Some((_, Some(g))) = v.entry(index) {
            if !p.pins.contains_key(&g) {
                fail(t, format!("entry {index} holds gfn {g:#x}, not pinned"));
            }
        }
    }
}

/// The GGTT trap path: interleavings against the pin model, sequences against the reference
/// model, and every entry point with arbitrary arguments.
#[test]
fn decoders_vggtt() {
    let (seed, n) = config();
    let mut rng = Rng::new(seed, 2);
    let mut t = Tally::new("vggtt", seed);
    let mut wild = VGgtt::<Std>::new(SCRATCH);
    let mut pins = Pinner::new(6);
    while t.ops < n {
        match rng.below(4) {
            0 | 1 => {
                let len = 1 + rng.below(160);
                let ops: Vec<COp> = (0..len).map(|_| random_cop(&mut rng)).collect();
                t.ops += len;
                match run_concurrent(&ops) {
                    Ok(c) => t.ggtt(&c),
                    Err(e) => fail(&t, format!("{e}\n{ops:?}")),
                }
            }
            2 => {
                let len = 1 + rng.below(120);
                let mut ops: Vec<Op> = (0..len).map(|_| random_op(&mut rng)).collect();
                ops.insert(0, Op::Ranges(vec![(rng.below(SPAN), 1 + rng.below(23)); 1]));
                let max_pending = match rng.below(3) {
                    0 => rng.below(3) as usize,
                    _ => MAX_PENDING,
                };
                t.ops += len;
                match run_ggtt_model(&ops, max_pending) {
                    Ok(c) => t.ggtt(&c),
                    Err(e) => fail(&t, format!("{e}\n{ops:?}")),
                }
            }
            _ => {
                for _ in 0..64 {
                    wild_op(&mut wild, &mut pins, &mut rng, &mut t);
                }
                t.ops += 64;
            }
        }
    }
    let c = *wild.counters();
    t.ggtt(&c);
    release_all(&mut wild, &mut pins, &t);
    t.report();
}

/// A `SET_IRQS` header: well formed with one field broken, or anything at all.
fn irq_request(rng: &mut Rng) -> (SetHeader, Vec<u8>) {
    let data_type = rng.below(3) as u32;
    let action = rng.below(3) as u32;
    let count = if rng.one_in(5) { 0 } else { 1 };
    let data = match data_type {
        0 => Vec::new(),
        1 => vec![rng.below(2) as u8],
        _ => match rng.below(6) {
            0 => (-1i32).to_le_bytes().to_vec(),
            1 => rng.bytes(4),
            _ => (7 + 2 * rng.below(2) as i32).to_le_bytes().to_vec(),
        },
    };
    let mut h = SetHeader {
        argsz: SetHeader::MINSZ + count * data.len() as u32,
        flags: (1 << data_type) | (8 << action),
        index: rng.below(6) as u32,
        start: 0,
        count,
    };
    match rng.below(10) {
        0 => h.argsz = rng.edgy() as u32,
        1 => h.flags ^= 1 << rng.below(32),
        2 => h.index = rng.edgy() as u32,
        3 => h.start = rng.edgy() as u32,
        4 => h.count = rng.edgy() as u32,
        5 => {
            h = SetHeader {
                argsz: rng.edgy() as u32,
                flags: rng.edgy() as u32,
                index: rng.edgy() as u32,
                start: rng.edgy() as u32,
                count: rng.edgy() as u32,
            };
            let len = rng.below(16) as usize;
            return (h, rng.bytes(len));
        }
        _ => {}
    }
    (h, data)
}

/// `SET_IRQS` and the line: against vfio-pci's transliteration, then alone with closes.
#[test]
fn decoders_irq() {
    let (seed, n) = config();
    let mut rng = Rng::new(seed, 3);
    let mut t = Tally::new("irq", seed);
    while t.ops < n {
        // The header decoders alone, with any vector count.
        let (h, _) = irq_request(&mut rng);
        let num_irqs = match rng.below(3) {
            0 => rng.edgy() as u32,
            _ => rng.below(3) as u32,
        };
        if let Ok(size) = h.validate(num_irqs) {
            let room = u64::from(h.argsz) - u64::from(SetHeader::MINSZ);
            if size as u64 > room || size as u64 > 4 * u64::from(num_irqs) {
                fail(&t, format!("{h:?} with {num_irqs} vectors: {size} bytes"));
            }
        }
        let raw = rng.edgy() as u32;
        match irq::info(raw) {
            Ok(_) if raw >= NUM_IRQS => fail(&t, format!("info of index {raw}")),
            Ok(_) => {}
            Err(e) => t.err(format!("irq_info {e:?}")),
        }
        if let Ok(size) = h.data_size() {
            if size > 4 {
                fail(&t, format!("{h:?}: {size} bytes of data for one vector"));
            }
        }
        if rng.one_in(3) {
            let len = 1 + rng.below(60);
            let steps: Vec<Step> = (0..len)
                .map(|_| match rng.below(8) {
                    0..=4 => {
                        let (h, d) = irq_request(&mut rng);
                        Step::Set(h, d)
                    }
                    5 => Step::Level(rng.one_in(2)),
                    6 => Step::Unmask,
                    _ => Step::IntxDisable(rng.one_in(2)),
                })
                .collect();
            t.ops += len;
            let mut refused = Vec::new();
            if let Err(e) = run_irq(&steps, &mut |e| refused.push(e)) {
                fail(&t, format!("{e}\n{steps:?}"));
            }
            for e in refused {
                t.err(format!("set_irqs {e:?}"));
            }
        } else {
            let mut irqs = Irqs::new();
            let mut glue = Glue::default();
            let len = 1 + rng.below(40);
            t.ops += len;
            for _ in 0..len {
                match rng.below(10) {
                    0..=4 => {
                        let (h, d) = irq_request(&mut rng);
                        if let Err(e) = set_irq(&mut irqs, &mut glue, h, &d) {
                            t.err(format!("set_irqs {e:?}"));
                        }
                    }
                    5 => glue.apply(irqs.set_level(rng.one_in(2))),
                    6 => glue.apply(irqs.unmask()),
                    7 => glue.apply(irqs.set_intx_disabled(rng.one_in(2))),
                    8 => {
                        irqs.unmask_fd_closed();
                        let _ = irqs.request();
                    }
                    _ => {
                        glue.apply(irqs.close());
                        if irqs.mode() != Mode::None || glue.triggers.iter().any(Option::is_some) {
                            fail(&t, format!("close left {:?} and {glue:?}", irqs.mode()));
                        }
                    }
                }
            }
        }
    }
    t.report();
}

/// Config space reads and writes of any offset, length and value.
#[test]
fn decoders_cfg_space() {
    let (seed, n) = config();
    let mut rng = Rng::new(seed, 4);
    let mut t = Tally::new("cfg_space", seed);
    while t.ops < n {
        let is_igd = rng.one_in(2);
        let mut cs = if is_igd { igd(4 << 30) } else { gpu() };
        for _ in 0..64 {
            t.ops += 1;
            let offset = match rng.below(8) {
                0 => rng.edgy() as usize,
                1 => 0x40 + rng.below(0xc0) as usize,
                2 => 0xac + rng.below(12) as usize,
                _ => rng.below(0x104) as usize,
            };
            let len = match rng.below(6) {
                0 => rng.below(300) as usize,
                1 => (rng.edgy() as usize).min(4096),
                _ => rng.below(9) as usize,
            };
            if rng.one_in(3) {
                let mut buf = vec![0u8; len];
                if let Err(e) = cs.read(offset, &mut buf) {
                    t.err(format!("read {e:?}"));
                }
                continue;
            }
            let data = rng.bytes(len);
            if let Err(e) = cs.write(offset, &data) {
                t.err(format!("write {e:?}"));
            }
            if let Err(e) = cs.read_u32(rng.edgy() as usize) {
                t.err(format!("read_u32 {e:?}"));
            }
            if let Err(e) = cs.bar_address(rng.below(8) as usize) {
                t.err(format!("bar_address {e:?}"));
            }
            let _ = (cs.msi_enabled(), cs.msi_message(), cs.intx_disabled());
            // What the guest may not change: identity, BAR alignment, the capability list and
            // the graphics registers.
            let ok = cs.read_u32(0) == Ok(0x1912_8086)
                && cs.bar_address(0).is_ok_and(|a| a % (16 << 20) == 0)
                && cs.bar_address(2).is_ok_and(|a| a % (256 << 20) == 0)
                && cs
                    .read_u32(reg::PCI_BASE_ADDRESS_0)
                    .is_ok_and(|b| b & 0xf == 0x4);
            if !ok {
                fail(
                    &t,
                    format!("identity or BARs changed by {offset:#x} {data:02x?}"),
                );
            }
            if is_igd {
                let caps = walk_caps(&cs);
                let fixed = caps == Ok(vec![(0xac, msi::PCI_CAP_ID_MSI)])
                    && gm_size_of(word(&cs, reg::GMCH_CTRL)) == 4 << 30
                    && cs.read_u32(reg::BDSM) == Ok(0)
                    && cs.read_u32(reg::ASLS) == Ok(0)
                    && word(&cs, 0xac + msi::PCI_MSI_FLAGS) & !msi::PCI_MSI_FLAGS_ENABLE == 0;
                if !fixed {
                    fail(
                        &t,
                        format!("{caps:?} or IGD registers changed by {offset:#x} {data:02x?}"),
                    );
                }
            }
        }
    }
    t.report();
}

fn guest_op(rng: &mut Rng) -> GuestOp {
    let v = rng.below(4) as usize;
    let seq = |rng: &mut Rng| match rng.below(3) {
        0 => None,
        1 => Some(rng.below(4) as u32),
        _ => Some(rng.edgy() as u32),
    };
    match rng.below(10) {
        0..=2 => GuestOp::Request(
            v,
            rng.below(4) as u32,
            if rng.one_in(2) {
                rng.below(4) as u32
            } else {
                rng.edgy() as u32
            },
            rng.edgy() as u32,
        ),
        3..=5 => GuestOp::Ack(v, seq(rng)),
        6 => GuestOp::Refuse(v, seq(rng)),
        _ => GuestOp::Step(rng.below(2200), rng.below(1001) as u32),
    }
}

/// The ballooning protocol as the guest drives it through the PV page.
#[test]
fn decoders_balloon() {
    let (seed, n) = config();
    let mut rng = Rng::new(seed, 5);
    let mut t = Tally::new("balloon", seed);
    while t.ops < n {
        let len = 1 + rng.below(80);
        let ops: Vec<GuestOp> = (0..len).map(|_| guest_op(&mut rng)).collect();
        t.ops += len;
        let mut refused = Vec::new();
        if let Err(e) = run_protocol(rng.one_in(2), &ops, &mut |k| refused.push(k)) {
            fail(&t, format!("{e}\n{ops:?}"));
        }
        for k in refused {
            t.err(k);
        }
    }
    t.report();
}

/// Bytes like a sysfs write: digits, words, blanks, or anything.
fn sysfs_bytes(rng: &mut Rng) -> Vec<u8> {
    const WORDS: [&[u8]; 12] = [
        b"0",
        b"1",
        b"y",
        b"yes",
        b"on",
        b"n",
        b"no",
        b"off",
        b"fixed",
        b"adaptive",
        b"-1",
        b"18446744073709551615",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.below(5) {
        match rng.below(6) {
            0 => out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize]),
            1 => out.extend_from_slice(rng.edgy().to_string().as_bytes()),
            2 => out.push(b" \t\n\r\x0c\x0b"[rng.below(6) as usize]),
            3 => {
                let n = rng.below(4) as usize;
                out.extend(rng.bytes(n));
            }
            4 => out.extend((0..rng.below(22)).map(|_| b'0' + rng.below(10) as u8)),
            _ => out.push(b'\n'),
        }
    }
    out
}

/// PTE decoders on any 64 bits, and sysfs parsing and the tunables on any bytes.
#[test]
fn decoders_pte_and_parse() {
    let (seed, n) = config();
    let mut rng = Rng::new(seed, 6);
    let mut t = Tally::new("pte+parse", seed);
    const NAMES: [&str; 3] = ["fixed", "adaptive", "off"];
    let mut shadow = ShadowParams::default();
    let mut balloon = BalloonParams::default();
    while t.ops < n {
        t.ops += 1;
        let raw = rng.edgy();
        let frame = rng.edgy();
        let e = Entry::from_raw(raw);
        let _ = (
            e.present(),
            e.ps(),
            e.ips(),
            e.without_ps(),
            e.without_ips(),
        );
        let w = e.with_frame(frame);
        if (e.frame_64k() << 12) & 0xffff != 0 || (e.frame_2m() << 12) & 0x1f_ffff != 0 {
            fail(&t, format!("huge frames of {raw:#x} are not aligned"));
        }
        if Entry::frame_fits(frame)
            && (w.frame() != frame || Entry::pointer(frame).frame() != frame)
        {
            fail(&t, format!("frame {frame:#x} fits but does not round-trip"));
        }
        if w.raw() & !(0x3fff_ffff_f000) != raw & !(0x3fff_ffff_f000) {
            fail(&t, format!("with_frame changed other bits of {raw:#x}"));
        }
        let va = rng.next();
        for l in Level::ALL {
            if l.index(va) >= ENTRIES {
                fail(&t, format!("{l:?} index of {va:#x}"));
            }
        }
        let g = GgttPte::from_raw(raw);
        let host = GgttPte::host(g.present(), frame).raw();
        if host & !(0x3fff_ffff_f000 | 1) != 0 || (host & 1 == 1) != g.present() {
            fail(&t, format!("host PTE {host:#x} for guest {raw:#x}"));
        }

        let input = sysfs_bytes(&mut rng);
        let trimmed = trim(&input);
        if trimmed.first().is_some_and(u8::is_ascii_whitespace)
            || trimmed.last().is_some_and(u8::is_ascii_whitespace)
        {
            fail(&t, format!("trim({input:02x?})"));
        }
        match parse_u64(&input) {
            Ok(v) => {
                if !trimmed.iter().all(u8::is_ascii_digit)
                    || parse_u64(v.to_string().as_bytes()) != Ok(v)
                {
                    fail(&t, format!("parse_u64({input:02x?}) = {v}"));
                }
            }
            Err(_) => t.err("parse_u64"),
        }
        let (min, max) = (rng.edgy(), rng.edgy());
        match parse_u64_in(&input, min, max) {
            Ok(v) if v < min || v > max => fail(&t, format!("{v} outside [{min}, {max}]")),
            Ok(_) => {}
            Err(_) => t.err("parse_u64_in"),
        }
        if parse_bool(&input).is_err() {
            t.err("parse_bool");
        }
        match parse_choice(&input, &NAMES) {
            Ok(i) if NAMES[i].as_bytes() != trimmed => fail(&t, format!("choice {i}")),
            Ok(_) => {}
            Err(_) => t.err("parse_choice"),
        }

        // The sysfs tunables built on these parsers: a refused write changes nothing, an
        // accepted one leaves valid parameters, and every value prints.
        let p = ShadowParam::ALL[rng.below(ShadowParam::ALL.len() as u64) as usize];
        let before = shadow;
        match shadow.set(p, &input) {
            Ok(()) if shadow.validate().is_err() => fail(&t, format!("{p:?} = {input:02x?}")),
            Ok(()) => {}
            Err(e) if shadow != before => fail(&t, format!("{p:?} changed by a refused {e:?}")),
            Err(e) => t.err(format!("shadow set {e:?}")),
        }
        let mut out = String::new();
        if shadow.show(p, &mut out).is_err() {
            fail(&t, format!("{p:?} does not print"));
        }
        let b = Tunable::ALL[rng.below(Tunable::ALL.len() as u64) as usize];
        let before = balloon;
        match balloon.store(b, &input) {
            Ok(()) if balloon.validate().is_err() => fail(&t, format!("{b:?} = {input:02x?}")),
            Ok(()) => {}
            Err(e) if balloon != before => fail(&t, format!("{b:?} changed by a refused {e:?}")),
            Err(e) => t.err(format!("balloon store {e:?}")),
        }
        out.clear();
        if balloon.show(b, &mut out).is_err() {
            fail(&t, format!("{b:?} does not print"));
        }
        if rng.one_in(64) {
            shadow = ShadowParams::default();
            balloon = BalloonParams::default();
        }
    }
    t.report();
}
