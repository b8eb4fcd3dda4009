//! The execlist against a model of the guest's i915 (gen9).
//!
//! The model is written from i915 6.12, not from this module: context
//! images are laid out by a port of `set_offsets` with `gen9_rcs_offsets`
//! and `gen9_xcs_offsets` (`gt/intel_lrc.c`); submissions follow
//! `execlists_dequeue` without preemption or timeslicing (what a vGPU
//! guest runs); events are consumed by a port of `process_csb` with
//! `gen8_csb_parse`, reading the CSB from the status page as i915 does on
//! a vGPU (`intel_execlists_submission.c`).

use super::desc::{encode, Mode};
use super::lrc::{self, Root};
use super::regs::{csb_ptr, event};
use super::*;
use crate::engine::MemError;
use proptest::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::vec;
use std::vec::Vec;

// ---------------------------------------------------------------- memory, registers

/// GGTT memory of the model: a flat range from 0.
struct Mem {
    bytes: Vec<u8>,
    /// Every write through `GpuMemory`: (address, length).
    writes: Vec<(u64, usize)>,
}

const GM: usize = 4 << 20;

impl Mem {
    fn new() -> Self {
        Self {
            bytes: vec![0; GM],
            writes: Vec::new(),
        }
    }
    fn range(&self, space: Space, addr: u64, len: usize) -> Result<usize, MemError> {
        if space != Space::Ggtt {
            return Err(MemError::Unmapped);
        }
        let a = usize::try_from(addr).map_err(|_| MemError::Unmapped)?;
        if a.checked_add(len)
            .map_or(true, |end| end > self.bytes.len())
        {
            return Err(MemError::Unmapped);
        }
        Ok(a)
    }
    fn dw(&self, addr: u64) -> u32 {
        let a = addr as usize;
        u32::from_le_bytes(self.bytes[a..a + 4].try_into().unwrap())
    }
    fn set_dw(&mut self, addr: u64, v: u32) {
        let a = addr as usize;
        self.bytes[a..a + 4].copy_from_slice(&v.to_le_bytes());
    }
}

impl GpuMemory for Mem {
    fn read(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let a = self.range(space, addr, buf.len())?;
        buf.copy_from_slice(&self.bytes[a..a + buf.len()]);
        Ok(())
    }
    fn write(&mut self, space: Space, addr: u64, data: &[u8]) -> Result<(), MemError> {
        let a = self.range(space, addr, data.len())?;
        self.bytes[a..a + data.len()].copy_from_slice(data);
        self.writes.push((addr, data.len()));
        Ok(())
    }
}

/// Registers of the model: plain storage, `RING_CONTEXT_STATUS_PTR` and
/// `RING_MODE` masked (upper half selects, reads give 0 above).
#[derive(Default)]
struct Regs {
    r: HashMap<u32, u32>,
}

impl Regs {
    fn masked(offset: u32) -> bool {
        EngineId::from_mmio(offset).is_some_and(|(_, o)| o == 0x3a0 || o == 0x29c)
    }
}

impl RegFile for Regs {
    fn read(&mut self, offset: u32) -> u32 {
        self.r.get(&offset).copied().unwrap_or(0)
    }
    fn write(&mut self, offset: u32, value: u32) {
        let v = if Self::masked(offset) {
            let old = self.read(offset);
            let m = value >> 16;
            (old & !m | value & m) & 0xffff
        } else {
            value
        };
        self.r.insert(offset, v);
    }
}

// ---------------------------------------------------------------- i915's context image

/// `set_offsets` of `gt/intel_lrc.c` with its encoding macros.
fn set_offsets(regs: &mut [u32], data: &[u8], base: u32) {
    let mut r = 0usize;
    let mut d = 0usize;
    while data[d] != 0 {
        if data[d] & 0x80 != 0 {
            r += usize::from(data[d] & 0x7f);
            d += 1;
            continue;
        }
        let mut count = u32::from(data[d] & 0x3f);
        let flags = data[d] >> 6;
        d += 1;
        // MI_LOAD_REGISTER_IMM(count): MI_INSTR(0x22, 2 * count - 1).
        regs[r] = (0x22 << 23) | (2 * count - 1);
        if flags & 1 != 0 {
            regs[r] |= 1 << 12; // MI_LRI_FORCE_POSTED
        }
        r += 1;
        while count > 0 {
            let mut offset = 0u32;
            loop {
                let v = data[d];
                d += 1;
                offset = (offset << 7) | u32::from(v & 0x7f);
                if v & 0x80 == 0 {
                    break;
                }
            }
            regs[r] = base + (offset << 2);
            r += 2;
            count -= 1;
        }
    }
}

const fn nop(x: u8) -> u8 {
    0x80 | x
}
const fn lri(count: u8, posted: bool) -> u8 {
    (if posted { 1 << 6 } else { 0 }) | count
}
const fn reg(x: u32) -> u8 {
    (x >> 2) as u8
}
macro_rules! reg16 {
    ($x:expr) => {
        (
            (($x as u32) >> 9) as u8 | 0x80,
            ((($x as u32) >> 2) & 0x7f) as u8,
        )
    };
}

/// `gen9_rcs_offsets` (render) and `gen9_xcs_offsets` (the others) share
/// their first two LRIs; the tail differs and is not read by rgvt.
fn gen9_offsets(rcs: bool) -> Vec<u8> {
    let mut v = vec![nop(1), lri(14, true), reg16!(0x244).0, reg16!(0x244).1];
    for r in [
        0x34, 0x30, 0x38, 0x3c, 0x168, 0x140, 0x110, 0x11c, 0x114, 0x118, 0x1c0, 0x1c4, 0x1c8,
    ] {
        v.push(reg(r));
    }
    v.extend([nop(3), lri(9, true)]);
    for r in [
        0x3a8, 0x28c, 0x288, 0x284, 0x280, 0x27c, 0x278, 0x274, 0x270,
    ] {
        let (a, b) = reg16!(r);
        v.extend([a, b]);
    }
    v.extend([nop(13), lri(1, true)]);
    let (a, b) = reg16!(0x200);
    v.extend([a, b]);
    if rcs {
        v.extend([nop(13), lri(2, true)]);
        for r in [0x2200usize, 0x2208] {
            let (a, b) = reg16!(r - 0x2000);
            v.extend([a, b]);
        }
    }
    v.push(0);
    v
}

// intel_lrc_reg.h
const CTX_RING_HEAD: usize = 0x04 + 1;
const CTX_RING_TAIL: usize = 0x06 + 1;
const CTX_RING_START: usize = 0x08 + 1;
const CTX_RING_CTL: usize = 0x0a + 1;
const CTX_PDP0_UDW: usize = 0x30 + 1;
const CTX_PDP0_LDW: usize = 0x32 + 1;

/// A context of the model guest.
#[derive(Clone)]
struct Ctx {
    lrca: u32,
    id: u32,
    ring_start: u32,
    pml4: u64,
    /// Tail of the last request emitted into its ring.
    emitted: u32,
    /// How far the engine executed its ring (the breadcrumb).
    executed: u32,
}

const RING_SIZE: u32 = 256 * 1024;
const REQ_BYTES: u32 = 64;

/// `lrc_init_regs` for a 4-level PPGTT: offsets, ring, PML4 in PDP0.
fn init_image(mem: &mut Mem, engine: EngineId, c: &Ctx) {
    let mut regs = [0u32; 1024];
    set_offsets(
        &mut regs,
        &gen9_offsets(engine == EngineId::Rcs),
        engine.mmio_base(),
    );
    regs[CTX_RING_START] = c.ring_start;
    regs[CTX_RING_HEAD] = 0;
    regs[CTX_RING_TAIL] = 0;
    // RING_CTL_SIZE(size) | RING_VALID
    regs[CTX_RING_CTL] = (RING_SIZE - 4096) | 1;
    regs[CTX_PDP0_UDW] = (c.pml4 >> 32) as u32;
    regs[CTX_PDP0_LDW] = c.pml4 as u32;
    let state = u64::from(c.lrca) + 4096;
    for (i, v) in regs.iter().enumerate() {
        mem.set_dw(state + 4 * i as u64, *v);
    }
}

// ---------------------------------------------------------------- i915's execlists

/// A port: the last request of a context in a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Port {
    ctx: usize,
    tail: u32,
}

/// The guest's `intel_engine_execlists` and the request flow around it.
struct I915 {
    engine: EngineId,
    hwsp: u64,
    csb_head: u32,
    active: VecDeque<Port>,
    pending: Vec<Port>,
    /// Requests not yet dequeued, in order: (context, tail after it).
    queue: VecDeque<Port>,
    ctxs: Vec<Ctx>,
    /// Ports retired by a completion event, in order.
    retired: Vec<Port>,
}

const GEN8_CTX_STATUS_IDLE_ACTIVE: u32 = 1 << 0;
const GEN8_CTX_STATUS_PREEMPTED: u32 = 1 << 1;
const I915_HWS_CSB_BUF0_INDEX: u64 = 0x10;
const I915_HWS_CSB_WRITE_INDEX: u64 = 0x1f;
const CSB_SIZE: u32 = 6;

impl I915 {
    fn new(engine: EngineId, mem: &mut Mem, regs: &mut Regs, nctx: usize) -> Self {
        let hwsp = 0x10_0000 + 0x1000 * engine.index() as u64;
        let base = engine.mmio_base();
        regs.write(base + 0x80, hwsp as u32); // RING_HWS_PGA
        regs.write(base + 0x29c, (1 << 31) | (1 << 15)); // execlists on
        let ctxs: Vec<Ctx> = (0..nctx)
            .map(|i| Ctx {
                lrca: 0x20_0000 + 0x1_0000 * i as u32,
                id: 0x100 + i as u32,
                ring_start: 0x28_0000 + RING_SIZE * i as u32,
                pml4: 0x7_0000_0000 + 0x1000 * i as u64,
                emitted: 0,
                executed: 0,
            })
            .collect();
        for c in &ctxs {
            init_image(mem, engine, c);
        }
        let mut me = Self {
            engine,
            hwsp,
            csb_head: 0,
            active: VecDeque::new(),
            pending: Vec::new(),
            queue: VecDeque::new(),
            ctxs,
            retired: Vec::new(),
        };
        me.reset_csb_pointers(mem, regs);
        me
    }

    /// `reset_csb_pointers`.
    fn reset_csb_pointers(&mut self, mem: &mut Mem, regs: &mut Regs) {
        let reset_value = CSB_SIZE - 1;
        let ptr = self.engine.mmio_base() + 0x3a0;
        regs.write(ptr, 0xffff << 16 | reset_value << 8 | reset_value);
        self.csb_head = reset_value;
        mem.set_dw(self.hwsp + 4 * I915_HWS_CSB_WRITE_INDEX, reset_value);
        for i in 0..u64::from(CSB_SIZE) {
            mem.set_dw(self.hwsp + 4 * I915_HWS_CSB_BUF0_INDEX + 8 * i, !0);
            mem.set_dw(self.hwsp + 4 * I915_HWS_CSB_BUF0_INDEX + 8 * i + 4, !0);
        }
    }

    /// A new request on context `ctx` (`emit` into its ring).
    fn request(&mut self, ctx: usize) {
        let c = &mut self.ctxs[ctx];
        c.emitted += REQ_BYTES;
        assert!(c.emitted < RING_SIZE, "test rings do not wrap");
        self.queue.push_back(Port {
            ctx,
            tail: c.emitted,
        });
    }

    fn completed(&self, p: &Port) -> bool {
        self.ctxs[p.ctx].executed >= p.tail
    }

    /// `process_csb` with `gen8_csb_parse`; panics where i915 would set
    /// `ERROR_CSB` (and reset the engine).
    fn process_csb(&mut self, mem: &Mem) {
        let mut head = self.csb_head;
        let tail = mem.dw(self.hwsp + 4 * I915_HWS_CSB_WRITE_INDEX);
        assert!(tail < CSB_SIZE, "CSB write pointer {tail} out of range");
        if head == tail {
            return;
        }
        self.csb_head = tail;
        loop {
            head += 1;
            if head == CSB_SIZE {
                head = 0;
            }
            let at = self.hwsp + 4 * I915_HWS_CSB_BUF0_INDEX + 8 * u64::from(head);
            let lo = mem.dw(at);
            assert_ne!(lo, !0, "stale CSB entry {head}");
            let promote = lo & (GEN8_CTX_STATUS_IDLE_ACTIVE | GEN8_CTX_STATUS_PREEMPTED) != 0;
            if promote {
                assert!(
                    !self.pending.is_empty(),
                    "ERROR_CSB: promote, nothing pending"
                );
                // Old inflight become inactive; pending becomes inflight.
                self.active = self.pending.drain(..).collect();
            } else {
                let p = self
                    .active
                    .pop_front()
                    .expect("ERROR_CSB: completion, nothing active");
                // "context completed before request!": the hardware says
                // the context is done, so its request must be.
                assert!(
                    self.completed(&p),
                    "context {p:?} completed before its request"
                );
                self.retired.push(p);
            }
            if head == tail {
                break;
            }
        }
    }

    /// `execlists_dequeue` without preemption or timeslicing; returns the
    /// ELSP dwords it writes, in write order.
    fn dequeue(&mut self, mem: &mut Mem) -> Option<[u32; 4]> {
        if !self.pending.is_empty() {
            return None;
        }
        let first_live = self.active.iter().position(|p| !self.completed(p));
        let live: Vec<Port> = match first_live {
            Some(i) => self.active.iter().skip(i).copied().collect(),
            None => Vec::new(),
        };
        if live.len() > 1 {
            // active[1]: wait for the next CS event.
            return None;
        }
        let mut last = live.first().copied();
        let mut ports: Vec<Port> = Vec::new();
        let mut submit = false;
        while let Some(rq) = self.queue.front().copied() {
            if let Some(l) = last {
                if l.ctx != rq.ctx {
                    if ports.len() == 1 {
                        break; // port == last_port
                    }
                    ports.push(l);
                }
            }
            self.queue.pop_front();
            submit = true;
            last = Some(rq);
        }
        if !submit {
            return None;
        }
        ports.push(last.unwrap());
        if live.iter().eq(ports.iter()) {
            return None;
        }
        // execlists_update_context: the tail goes into the image.
        for p in &ports {
            let c = &self.ctxs[p.ctx];
            mem.set_dw(u64::from(c.lrca) + 4096 + 4 * CTX_RING_TAIL as u64, p.tail);
        }
        let desc = |p: Option<&Port>| match p {
            Some(p) => {
                let c = &self.ctxs[p.ctx];
                // lrc_descriptor: LEGACY_64B << 3 | PRIVILEGE | VALID | lrca; ccid above.
                (u64::from(c.id) << 32) | (3 << 3) | (1 << 8) | 1 | u64::from(c.lrca)
            }
            None => 0,
        };
        let (d0, d1) = (desc(ports.first()), desc(ports.get(1)));
        self.pending = ports;
        // execlists_submit_ports: port 1 then port 0, upper dword first.
        Some([(d1 >> 32) as u32, d1 as u32, (d0 >> 32) as u32, d0 as u32])
    }

    fn idle(&self) -> bool {
        self.pending.is_empty()
            && self.queue.is_empty()
            && self.active.iter().all(|p| self.completed(p))
    }
}

// ---------------------------------------------------------------- the vGPU's engine

/// The engine worker as the kernel runs it: drains the latch into the
/// execlist, runs workloads in order, completes them.
struct Worker {
    latch: ElspLatch,
    el: Execlist,
    queue: VecDeque<Workload>,
    /// A workload that ran and waits for its completion report.
    ran: Option<Workload>,
    irqs: u32,
    /// Workloads whose completion wrote a context-complete event, in order.
    completes: Vec<Port>,
    /// Submissions acknowledged by an event while workloads were
    /// outstanding (lite restores of the running context).
    acks_while_busy: u64,
}

impl Worker {
    fn new(engine: EngineId, regs: &mut Regs) -> Self {
        let mut el = Execlist::new(engine);
        el.reset(regs);
        Self {
            latch: ElspLatch::new(),
            el,
            queue: VecDeque::new(),
            ran: None,
            irqs: 0,
            completes: Vec::new(),
            acks_while_busy: 0,
        }
    }

    /// The model context index of a workload (its LRCA's position).
    fn el_ctx(&self, w: &Workload) -> usize {
        ((w.desc.lrca() - 0x20_0000) / 0x1_0000) as usize
    }

    fn drain(&mut self, mem: &mut Mem, regs: &mut Regs) {
        while let Some(s) = self.latch.pop() {
            let r = self
                .el
                .submit(s, mem, regs)
                .expect("an i915 submission is accepted");
            if r.irq != 0 && (!self.queue.is_empty() || self.ran.is_some()) {
                self.acks_while_busy += 1;
            }
            self.irqs += r.irq;
            self.queue.extend(r.workloads.into_iter().flatten());
        }
    }

    /// Runs the next workload: checks it against the guest's context and
    /// writes the breadcrumbs.
    fn run(&mut self, i915: &mut I915) -> bool {
        if self.ran.is_some() {
            return false;
        }
        let Some(w) = self.queue.pop_front() else {
            return false;
        };
        assert!(self.el.is_current(&w));
        let c = i915
            .ctxs
            .iter_mut()
            .find(|c| c.lrca == w.desc.lrca())
            .expect("workload of a known context");
        assert_eq!(w.desc.ctx_id(), c.id);
        assert_eq!(w.image.ring.start, c.ring_start);
        assert_eq!(w.image.ring.size(), RING_SIZE);
        assert_eq!(w.image.root, Root::L4(c.pml4));
        assert_eq!(w.hwsp as u64, i915.hwsp);
        // The engine resumes exactly where the context stopped.
        assert_eq!(w.image.ring.head, c.executed, "head of {w:?}");
        assert!(w.image.ring.tail >= c.executed);
        c.executed = w.image.ring.tail;
        self.ran = Some(w);
        true
    }

    fn complete(&mut self, mem: &mut Mem, regs: &mut Regs) -> bool {
        let Some(w) = self.ran.take() else {
            return false;
        };
        let ptr_reg = w.engine.mmio_base() + 0x3a0;
        let mut at = csb_ptr::WRITE.get(regs.read(ptr_reg));
        let before = self.el.stats().events;
        let irq = self.el.complete(&w, Outcome::Done, mem, regs).unwrap();
        self.irqs += irq;
        for _ in before..self.el.stats().events {
            at = (at + 1) % CSB_SIZE;
            let ev = regs.read(w.engine.mmio_base() + 0x370 + 8 * at);
            if ev & event::COMPLETE != 0 {
                let c = self.el_ctx(&w);
                self.completes.push(Port {
                    ctx: c,
                    tail: w.image.ring.tail,
                });
            }
        }
        let head = mem.dw(u64::from(w.desc.lrca()) + 4096 + 4 * CTX_RING_HEAD as u64);
        assert_eq!(head, w.image.ring.tail, "head written back");
        true
    }
}

/// One random step of guest and engine; returns whether anything happened.
fn step(op: u8, arg: u8, i915: &mut I915, wk: &mut Worker, mem: &mut Mem, regs: &mut Regs) {
    let ev_before = wk.el.stats().events;
    let irq_before = wk.irqs;
    match op % 5 {
        0 => {
            let n = i915.ctxs.len();
            i915.request(usize::from(arg) % n);
        }
        1 => tasklet(i915, wk, mem),
        2 => wk.drain(mem, regs),
        3 => {
            wk.run(i915);
        }
        _ => {
            wk.complete(mem, regs);
        }
    }
    check_pointers(i915, mem, regs);
    if wk.el.stats().events > ev_before {
        assert!(wk.irqs > irq_before, "an event without an interrupt");
    }
}

/// `execlists_submission_tasklet`: process the CSB, then dequeue.
fn tasklet(i915: &mut I915, wk: &mut Worker, mem: &mut Mem) {
    i915.process_csb(mem);
    if let Some(dws) = i915.dequeue(mem) {
        for (i, d) in dws.iter().enumerate() {
            assert_eq!(wk.latch.write(*d), i == 3);
        }
    }
}

fn check_pointers(i915: &I915, mem: &Mem, regs: &mut Regs) {
    let ptr = regs.read(i915.engine.mmio_base() + 0x3a0);
    assert!(csb_ptr::WRITE.get(ptr) < CSB_SIZE);
    assert!(mem.dw(i915.hwsp + 4 * I915_HWS_CSB_WRITE_INDEX) < CSB_SIZE);
}

/// Runs everything to the end and checks i915's view is consistent.
fn settle(i915: &mut I915, wk: &mut Worker, mem: &mut Mem, regs: &mut Regs) {
    for _ in 0..10_000 {
        tasklet(i915, wk, mem);
        wk.drain(mem, regs);
        let ran = wk.run(i915);
        let done = wk.complete(mem, regs);
        check_pointers(i915, mem, regs);
        if !ran && !done && wk.queue.is_empty() && i915.idle() {
            i915.process_csb(mem);
            break;
        }
    }
    assert!(
        i915.idle(),
        "requests left: queue {:?} pending {:?} active {:?} engine {:?} {:?}",
        i915.queue,
        i915.pending,
        i915.active,
        wk.el,
        wk.queue
    );
    assert!(
        i915.pending.is_empty() && i915.active.is_empty(),
        "ports left: {:?}",
        i915.active
    );
    assert!(!wk.el.is_active());
    for c in &i915.ctxs {
        assert_eq!(c.executed, c.emitted, "every request ran");
    }
    // i915 retired exactly the contexts the engine completed, in order.
    assert_eq!(i915.retired, wk.completes);
    // Retired ports come in execution order: per context, tails grow.
    let mut last: HashMap<usize, u32> = HashMap::new();
    for p in &i915.retired {
        let l = last.entry(p.ctx).or_default();
        assert!(p.tail >= *l);
        *l = p.tail;
    }
    let base = i915.engine.mmio_base();
    assert_eq!(
        regs.read(base + 0x234) & (3 << 3 | 3 << 17),
        0,
        "EXECLIST_STATUS idle"
    );
}

fn setup(engine: EngineId, nctx: usize) -> (Mem, Regs, I915, Worker) {
    let mut mem = Mem::new();
    let mut regs = Regs::default();
    let i915 = I915::new(engine, &mut mem, &mut regs, nctx);
    let wk = Worker::new(engine, &mut regs);
    (mem, regs, i915, wk)
}

// ---------------------------------------------------------------- scenarios

#[test]
fn one_request_idle_active_complete_idle() {
    let (mut mem, mut regs, mut i915, mut wk) = setup(EngineId::Rcs, 1);
    i915.request(0);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    assert_eq!(wk.irqs, irq_bit::CONTEXT_SWITCH);
    let s = wk.el.stats();
    assert_eq!((s.submissions, s.events), (1, 1));
    // The first event lands in entry 0 after i915's reset.
    assert_eq!(mem.dw(i915.hwsp + 4 * I915_HWS_CSB_WRITE_INDEX), 0);
    assert_eq!(mem.dw(i915.hwsp + 0x40), event::IDLE_TO_ACTIVE);
    i915.process_csb(&mem);
    assert_eq!(i915.active.len(), 1);
    assert!(wk.run(&mut i915));
    assert!(wk.complete(&mut mem, &mut regs));
    let ptr = regs.read(0x2000 + 0x3a0);
    assert_eq!(csb_ptr::WRITE.get(ptr), 1);
    assert_eq!(
        regs.read(0x2000 + 0x370 + 8),
        event::COMPLETE | event::ACTIVE_TO_IDLE
    );
    assert_eq!(regs.read(0x2000 + 0x370 + 12), 0x100);
    settle(&mut i915, &mut wk, &mut mem, &mut regs);
    assert_eq!(i915.retired.len(), 1);
}

#[test]
fn lite_restore_while_running() {
    let (mut mem, mut regs, mut i915, mut wk) = setup(EngineId::Bcs, 2);
    i915.request(0);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    i915.process_csb(&mem);
    // More work on the running context and another context: i915 submits
    // [ctx0 with a new tail, ctx1].
    i915.request(0);
    i915.request(1);
    tasklet(&mut i915, &mut wk, &mut mem);
    assert_eq!(i915.pending.len(), 2);
    let irqs = wk.irqs;
    wk.drain(&mut mem, &mut regs);
    assert_eq!(wk.queue.len(), 3);
    // The second workload of ctx0 starts where the first ends.
    assert_eq!(wk.queue[1].image.ring.head, wk.queue[0].image.ring.tail);
    // A gen9 engine acknowledges the lite restore at once, while the first
    // workload still runs: PREEMPTED | LITE_RESTORE with the context ID,
    // and its interrupt.
    assert_eq!(wk.el.stats().lite_restores, 1);
    assert_eq!(wk.el.stats().events, 2);
    assert_eq!(wk.irqs, irqs + irq_bit::CONTEXT_SWITCH);
    let ptr = csb_ptr::WRITE.get(regs.read(0x22000 + 0x3a0));
    let ev = regs.read(0x22000 + 0x370 + 8 * ptr);
    assert_eq!(ev, event::LITE_RESTORE | event::PREEMPTED);
    assert_eq!(regs.read(0x22000 + 0x370 + 8 * ptr + 4), i915.ctxs[0].id);
    // i915 promotes its pending ports on it.
    i915.process_csb(&mem);
    assert!(i915.pending.is_empty());
    assert_eq!(i915.active.len(), 2);
    // The first workload sends no completion of its own.
    assert!(wk.run(&mut i915) && wk.complete(&mut mem, &mut regs));
    assert_eq!(wk.el.stats().events, 2);
    settle(&mut i915, &mut wk, &mut mem, &mut regs);
    assert_eq!(i915.retired.len(), 2);
}

/// The kselftest's lite restore: one context resubmitted alone with a new
/// tail while its first workload runs. Events: idle-to-active, the lite
/// restore at once, then one complete | active-to-idle when the new tail
/// is reached (gen9; not a second idle-to-active after a completion).
#[test]
fn lite_restore_of_a_lone_context_is_acknowledged_at_once() {
    let (mut mem, mut regs, mut i915, mut wk) = setup(EngineId::Rcs, 1);
    let base = EngineId::Rcs.mmio_base();
    let events = |regs: &mut Regs, wk: &Worker| -> Vec<(u32, u32)> {
        let n = wk.el.stats().events as u32;
        (0..n)
            .map(|i| {
                let at = base + 0x370 + 8 * (i % CSB_SIZE);
                (regs.read(at), regs.read(at + 4))
            })
            .collect()
    };
    i915.request(0);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    i915.process_csb(&mem);
    // The first workload is running (handed to the engine, not completed).
    assert!(wk.run(&mut i915));
    // A second request on the context: i915 resubmits it with the new tail.
    i915.request(0);
    tasklet(&mut i915, &mut wk, &mut mem);
    assert_eq!(i915.pending.len(), 1);
    wk.drain(&mut mem, &mut regs);
    let id = i915.ctxs[0].id;
    assert_eq!(
        events(&mut regs, &wk),
        [
            (event::IDLE_TO_ACTIVE, 0),
            (event::PREEMPTED | event::LITE_RESTORE, id)
        ]
    );
    let status = regs.read(base + 0x234);
    assert_ne!(status & (3 << 17), 0, "EXECLIST_STATUS active");
    assert_eq!(regs.read(base + 0x238), id, "the running context");
    i915.process_csb(&mem);
    assert_eq!(i915.active.len(), 1);
    assert!(wk.complete(&mut mem, &mut regs));
    assert!(wk.run(&mut i915) && wk.complete(&mut mem, &mut regs));
    assert_eq!(
        events(&mut regs, &wk),
        [
            (event::IDLE_TO_ACTIVE, 0),
            (event::PREEMPTED | event::LITE_RESTORE, id),
            (event::COMPLETE | event::ACTIVE_TO_IDLE, id)
        ]
    );
    settle(&mut i915, &mut wk, &mut mem, &mut regs);
    assert_eq!(i915.retired.len(), 1);
}

/// A resubmission of the running context behind a submission whose
/// schedule-in is still deferred is not acknowledged early: the slots it
/// would be checked against are not yet the engine's.
#[test]
fn a_lite_restore_behind_a_deferred_schedule_in_waits_for_it() {
    let (mut mem, mut regs, i915, _) = setup(EngineId::Vcs, 2);
    let mut el = Execlist::new(EngineId::Vcs);
    el.reset(&mut regs);
    let d = |i: usize| encode(i915.ctxs[i].lrca, i915.ctxs[i].id, Mode::Legacy64);
    let sub = |a| Submission {
        desc: [a, Descriptor::default()],
    };
    let mut q: VecDeque<Workload> = VecDeque::new();
    // [A] runs; [B] waits for A's completion; then [B] again.
    for s in [sub(d(0)), sub(d(1)), sub(d(1))] {
        let r = el.submit(s, &mut mem, &mut regs).unwrap();
        q.extend(r.workloads.into_iter().flatten());
    }
    assert_eq!((el.stats().events, el.stats().lite_restores), (1, 0));
    while let Some(w) = q.pop_front() {
        el.complete(&w, Outcome::Done, &mut mem, &mut regs).unwrap();
    }
    // A's complete | active-to-idle, B's idle-to-active, the lite restore
    // when B's second workload is dispatched, B's complete | active-to-idle.
    let s = el.stats();
    assert_eq!((s.events, s.lite_restores, s.completed), (5, 1, 3));
    assert!(!el.is_active());
}

#[test]
fn submission_while_the_last_request_is_done_waits_for_the_completion() {
    let (mut mem, mut regs, mut i915, mut wk) = setup(EngineId::Vcs, 2);
    i915.request(0);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    i915.process_csb(&mem);
    // The breadcrumb is written, the completion event not yet.
    assert!(wk.run(&mut i915));
    i915.request(1);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    // Nothing until the running context completes; then complete +
    // active-to-idle and idle-to-active, one interrupt.
    assert_eq!(wk.el.stats().events, 1);
    let before = wk.el.stats().events;
    assert!(wk.complete(&mut mem, &mut regs));
    assert_eq!(wk.el.stats().events, before + 2);
    settle(&mut i915, &mut wk, &mut mem, &mut regs);
    assert_eq!(i915.retired.len(), 2);
}

#[test]
fn a_failed_workload_sends_nothing_and_reset_recovers() {
    let (mut mem, mut regs, mut i915, mut wk) = setup(EngineId::Vecs, 2);
    i915.request(0);
    i915.request(1);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    assert_eq!(wk.queue.len(), 2);
    let events = wk.el.stats().events;
    let w = wk.queue.pop_front().unwrap();
    assert_eq!(
        wk.el.complete(&w, Outcome::Failed, &mut mem, &mut regs),
        Ok(0)
    );
    assert_eq!(wk.el.stats().events, events);
    // The rest of the queue is dropped.
    let w1 = wk.queue.pop_front().unwrap();
    assert!(!wk.el.is_current(&w1));
    assert_eq!(
        wk.el.complete(&w1, Outcome::Done, &mut mem, &mut regs),
        Err(CompleteError::Stale)
    );
    // i915's hang check resets the engine, then starts over.
    wk.el.reset(&mut regs);
    wk.latch.reset();
    i915.pending.clear();
    i915.active.clear();
    i915.reset_csb_pointers(&mut mem, &mut regs);
    for c in &mut i915.ctxs {
        // __execlists_reset: the ring restarts past the guilty request.
        c.executed = c.emitted;
        let state = u64::from(c.lrca) + 4096;
        mem.set_dw(state + 4 * CTX_RING_HEAD as u64, c.emitted);
    }
    i915.request(1);
    settle(&mut i915, &mut wk, &mut mem, &mut regs);
}

#[test]
fn refused_submissions_emit_nothing() {
    let (mut mem, mut regs, i915, _) = setup(EngineId::Rcs, 1);
    let mut el = Execlist::new(EngineId::Rcs);
    el.reset(&mut regs);
    let c = &i915.ctxs[0];
    let good = encode(c.lrca, c.id, Mode::Legacy64);
    let sub = |d0, d1| Submission { desc: [d0, d1] };
    let bad_lo = Descriptor::new(good.lo & !1, 1);
    assert!(matches!(
        el.submit(sub(bad_lo, good), &mut mem, &mut regs),
        Err(SubmitError::Desc { elem: 0, .. })
    ));
    let outside = encode(GM as u32, 1, Mode::Legacy64);
    assert_eq!(
        el.submit(sub(outside, Descriptor::default()), &mut mem, &mut regs),
        Err(SubmitError::Image {
            elem: 0,
            err: LrcError::Mem(MemError::Unmapped)
        })
    );
    // A page that is no context image.
    let blank = encode(0x1000, 1, Mode::Legacy64);
    assert!(matches!(
        el.submit(sub(good, blank), &mut mem, &mut regs),
        Err(SubmitError::Image {
            elem: 1,
            err: LrcError::Layout { dword: 1, .. }
        })
    ));
    // A render image on the blitter: its register offsets are not the blitter's.
    let mut bcs = Execlist::new(EngineId::Bcs);
    assert!(matches!(
        bcs.submit(sub(good, Descriptor::default()), &mut mem, &mut regs),
        Err(SubmitError::Image {
            err: LrcError::Layout { dword: 2, .. },
            ..
        })
    ));
    // An invalid ring.
    let ctl = u64::from(c.lrca) + 4096 + 4 * CTX_RING_CTL as u64;
    let v = mem.dw(ctl);
    mem.set_dw(ctl, v & !1);
    assert_eq!(
        el.submit(sub(good, Descriptor::default()), &mut mem, &mut regs),
        Err(SubmitError::Image {
            elem: 0,
            err: LrcError::Ring
        })
    );
    mem.set_dw(ctl, v);
    assert_eq!(el.stats().refused, 4);
    assert_eq!(el.stats().events, 0);
    assert!(!el.is_active());
    assert!(el
        .submit(sub(good, Descriptor::default()), &mut mem, &mut regs)
        .is_ok());
}

#[test]
fn model_state_matches_set_offsets() {
    for e in EngineId::ALL {
        let mut want = [0u32; 1024];
        set_offsets(&mut want, &gen9_offsets(e == EngineId::Rcs), e.mmio_base());
        let ring = lrc::Ring {
            start: 0x5000,
            head: 0x40,
            tail: 0x80,
            ctl: 0x1001,
        };
        let got = lrc::model_state(e, ring, Root::L4(0x1234_5000));
        // Every dword rgvt checks or reads agrees with i915's encoder.
        for i in 0..lrc::DWORDS {
            if [
                lrc::idx::RING_HEAD,
                lrc::idx::RING_TAIL,
                lrc::idx::RING_START,
                lrc::idx::RING_CTL,
            ]
            .contains(&i)
                || (lrc::idx::PDP3_UDW..=lrc::idx::PDP0_LDW).contains(&i) && i % 2 == 1
            {
                continue;
            }
            assert_eq!(got[i], want[i], "{e:?} dword {i:#x}");
        }
    }
}

/// Sequences of requests, submissions, runs and completions in any
/// interleaving leave i915's view consistent.
#[test]
fn i915_view_stays_consistent_under_random_interleavings() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut total = Stats::default();
    let mut acks_while_busy = 0;
    for round in 0..300 {
        let engine = EngineId::ALL[round % 4];
        let (mut mem, mut regs, mut i915, mut wk) = setup(engine, 1 + round % 3);
        for _ in 0..200 {
            let r = next();
            step(
                r as u8,
                (r >> 8) as u8,
                &mut i915,
                &mut wk,
                &mut mem,
                &mut regs,
            );
        }
        settle(&mut i915, &mut wk, &mut mem, &mut regs);
        let s = wk.el.stats();
        assert_eq!(
            s.refused + s.schedule_out_errors + s.hwsp_faults + s.writeback_faults,
            0
        );
        total.submissions += s.submissions;
        total.lite_restores += s.lite_restores;
        total.events += s.events;
        acks_while_busy += wk.acks_while_busy;
    }
    // And lite restores acknowledged while the context ran.
    assert!(acks_while_busy > 100, "{acks_while_busy}");
    // The interleavings did exercise lite restores.
    assert!(total.lite_restores > 100, "{total:?}");
}

// ---------------------------------------------------------------- hostile guests

#[derive(Debug, Clone)]
enum Op {
    Elsp(u32),
    /// An ELSP write of a descriptor of a real context (`ctx`, `id` bit flip).
    ElspCtx(u8, bool, bool),
    Drain,
    Run(bool),
    Reset,
    PtrWrite(u32),
    HwsPga(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u32>().prop_map(Op::Elsp),
        (any::<u8>(), any::<bool>(), any::<bool>())
            .prop_map(|(c, hi, flip)| Op::ElspCtx(c, hi, flip)),
        Just(Op::Drain),
        any::<bool>().prop_map(Op::Run),
        Just(Op::Reset),
        any::<u32>().prop_map(Op::PtrWrite),
        prop_oneof![any::<u32>(), Just(0x10_0000u32)].prop_map(Op::HwsPga),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any ELSP writes, pointer writes, runs and resets: no panic, every
    /// pointer rgvt writes is in range, nothing is written outside the
    /// CSB registers, the images' heads and the status page.
    #[test]
    fn hostile_elsp_traffic(ops in prop::collection::vec(op(), 1..200), e in 0usize..4) {
        let engine = EngineId::ALL[e];
        let (mut mem, mut regs, i915, _) = setup(engine, 3);
        let mut wk = Worker::new(engine, &mut regs);
        let base = engine.mmio_base();
        for op in ops {
            let events = wk.el.stats().events;
            match op {
                Op::Elsp(v) => { wk.latch.write(v); }
                Op::ElspCtx(c, hi, flip) => {
                    let c = &i915.ctxs[usize::from(c) % i915.ctxs.len()];
                    let d = encode(c.lrca, c.id ^ u32::from(flip), Mode::Legacy64);
                    wk.latch.write(if hi { d.hi } else { d.lo });
                }
                Op::Drain => {
                    while let Some(s) = wk.latch.pop() {
                        if let Ok(r) = wk.el.submit(s, &mut mem, &mut regs) {
                            wk.queue.extend(r.workloads.into_iter().flatten());
                        }
                    }
                }
                Op::Run(ok) => {
                    if let Some(w) = wk.queue.pop_front() {
                        let outcome = if ok { Outcome::Done } else { Outcome::Failed };
                        let current = wk.el.is_current(&w);
                        let r = wk.el.complete(&w, outcome, &mut mem, &mut regs);
                        // Only the oldest outstanding workload completes.
                        prop_assert_eq!(r.is_ok(), current);
                    }
                }
                Op::Reset => {
                    wk.el.reset(&mut regs);
                    wk.latch.reset();
                    wk.queue.clear();
                }
                Op::PtrWrite(v) => regs.write(base + 0x3a0, v),
                Op::HwsPga(v) => regs.write(base + 0x80, v),
            }
            // GpuMemory writes: the status page's CSB area or an image's head.
            let hws = u64::from(regs.read(base + 0x80) & !0xfff);
            for (a, len) in mem.writes.drain(..) {
                let in_csb = a >= hws + 0x40 && a + len as u64 <= hws + 0x80;
                let head = i915.ctxs.iter().any(|c| a == u64::from(c.lrca) + 4096 + 4 * CTX_RING_HEAD as u64);
                prop_assert!(in_csb || head, "write at {:#x}", a);
            }
            if wk.el.stats().events > events {
                let ptr = regs.read(base + 0x3a0);
                prop_assert!(csb_ptr::WRITE.get(ptr) < CSB_SIZE);
                let hwsp = u64::from(regs.read(base + 0x80) & !0xfff);
                if hwsp != 0 && hwsp + 0x1000 <= GM as u64 {
                    prop_assert!(mem.dw(hwsp + 4 * I915_HWS_CSB_WRITE_INDEX) < CSB_SIZE);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- details

fn write_state(mem: &mut Mem, lrca: u32, state: &[u32; 1024]) {
    for (i, v) in state.iter().enumerate() {
        mem.set_dw(u64::from(lrca) + 4096 + 4 * i as u64, *v);
    }
}

#[test]
fn legacy_32_roots_and_render_workaround_batches_are_read() {
    let mut mem = Mem::new();
    let ring = lrc::Ring {
        start: 0x8000,
        head: 0x40,
        tail: 0x80,
        ctl: 0x3000 | 1,
    };
    let pdps = [0x1_0000_1000, 0x2000, 0x3000, 0x4_0000_4000];
    let mut state = lrc::model_state(EngineId::Rcs, ring, Root::L3(pdps));
    state[lrc::idx::INDIRECT_CTX] = 0x9040 | 3; // three cache lines
    state[lrc::idx::BB_PER_CTX_PTR] = 0xa000 | 1;
    write_state(&mut mem, 0x5000, &state);
    let d = encode(0x5000, 9, Mode::Legacy32);
    let img = lrc::read(&mut mem, EngineId::Rcs, d, Mode::Legacy32).unwrap();
    assert_eq!(img.ring, ring);
    assert_eq!(img.ring.size(), 0x4000);
    assert_eq!(img.root, Root::L3(pdps));
    assert_eq!(img.wa.indirect, (0x9040, 3 * 64));
    assert_eq!(img.wa.per_ctx, Some(0xa000));
    // The same image read as 4-level takes PDP0 as the PML4.
    let img = lrc::read(&mut mem, EngineId::Rcs, d, Mode::Legacy64).unwrap();
    assert_eq!(img.root, Root::L4(0x1_0000_1000));

    // Roots must be page aligned; a 4-level root must exist.
    let mut bad = state;
    bad[lrc::idx::PDP0_LDW] = 0x1008;
    write_state(&mut mem, 0x5000, &bad);
    assert_eq!(
        lrc::read(&mut mem, EngineId::Rcs, d, Mode::Legacy32),
        Err(LrcError::Root)
    );
    bad[lrc::idx::PDP0_LDW] = 0;
    bad[lrc::idx::PDP0_UDW] = 0;
    write_state(&mut mem, 0x5000, &bad);
    assert_eq!(
        lrc::read(&mut mem, EngineId::Rcs, d, Mode::Legacy64),
        Err(LrcError::Root)
    );
    // Head or tail outside the ring.
    let mut bad = state;
    bad[lrc::idx::RING_TAIL] = 0x4000;
    write_state(&mut mem, 0x5000, &bad);
    assert_eq!(
        lrc::read(&mut mem, EngineId::Rcs, d, Mode::Legacy32),
        Err(LrcError::Ring)
    );
    // A wrong LRI length.
    let mut bad = state;
    bad[lrc::idx::LRI_2] -= 2;
    write_state(&mut mem, 0x5000, &bad);
    assert!(matches!(
        lrc::read(&mut mem, EngineId::Rcs, d, Mode::Legacy32),
        Err(LrcError::Layout { dword: 0x21, .. })
    ));
}

#[test]
fn the_head_keeps_its_wrap_count() {
    let wrap = |n: u32| n << 21;
    assert_eq!(
        lrc::head_after(wrap(3) | 0x100, 0x100, 0x200),
        wrap(3) | 0x200
    );
    assert_eq!(
        lrc::head_after(wrap(3) | 0x100, 0x100, 0x40),
        wrap(4) | 0x40
    );
    assert_eq!(lrc::head_after(wrap(2047) | 0x100, 0x100, 0x40), 0x40);
}

#[test]
fn status_and_read_pointer_follow_the_engine() {
    let (mut mem, mut regs, mut i915, mut wk) = setup(EngineId::Rcs, 2);
    let status = |regs: &mut Regs| (regs.read(0x2234), regs.read(0x2238));
    i915.request(0);
    i915.request(1);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    let (lo, hi) = status(&mut regs);
    // Slot 0 runs element 0 (ctx 0x100); the next submission goes to slot 1.
    assert_eq!(lo, 1 << 4 | 1 << 18 | 1 << 1);
    assert_eq!(hi, 0x100);
    // i915 consumes the event and moves the read pointer: it stays.
    i915.process_csb(&mem);
    regs.write(0x23a0, 0x0700_0000 | i915.csb_head << 8);
    assert!(wk.run(&mut i915) && wk.complete(&mut mem, &mut regs));
    assert_eq!(status(&mut regs).1, 0x101, "element 1 runs");
    let ptr = regs.read(0x23a0);
    assert_eq!(csb_ptr::READ.get(ptr), 0);
    assert_eq!(csb_ptr::WRITE.get(ptr), 1);
    assert_eq!(
        regs.read(0x2370 + 8),
        event::COMPLETE | event::ELEMENT_SWITCH
    );
    assert!(wk.run(&mut i915) && wk.complete(&mut mem, &mut regs));
    let (lo, hi) = status(&mut regs);
    assert_eq!((lo & (3 << 3 | 3 << 17), hi), (0, 0), "idle");
    settle(&mut i915, &mut wk, &mut mem, &mut regs);
    // Reset: i915's values, the next event in entry 0.
    wk.el.reset(&mut regs);
    assert_eq!(regs.read(0x23a0), 5 << 8 | 5);
    assert_eq!(status(&mut regs), (0, 0));
}

#[test]
fn an_unmapped_status_page_is_counted_and_the_registers_still_move() {
    let (mut mem, mut regs, mut i915, mut wk) = setup(EngineId::Bcs, 1);
    regs.write(0x22080, GM as u32);
    i915.request(0);
    tasklet(&mut i915, &mut wk, &mut mem);
    wk.drain(&mut mem, &mut regs);
    let s = wk.el.stats();
    assert_eq!((s.events, s.hwsp_faults), (1, 1));
    assert_eq!(csb_ptr::WRITE.get(regs.read(0x223a0)), 0);
    assert_eq!(regs.read(0x22370), event::IDLE_TO_ACTIVE);
}

#[test]
fn stats_are_listed() {
    let mut names = Vec::new();
    Stats::default().for_each(|n, v| {
        assert_eq!(v, 0);
        names.push(n);
    });
    assert_eq!(names.len(), 11);
}

#[test]
fn a_submission_that_finds_both_slots_taken_at_dispatch_fails_the_queue() {
    let (mut mem, mut regs, i915, _) = setup(EngineId::Rcs, 3);
    let mut el = Execlist::new(EngineId::Rcs);
    el.reset(&mut regs);
    let d = |i: usize| encode(i915.ctxs[i].lrca, i915.ctxs[i].id, Mode::Legacy64);
    let sub = |a, b| Submission { desc: [a, b] };
    let mut q: VecDeque<Workload> = VecDeque::new();
    // [X, X], then [X, Z] and [X, W] queued behind it: a guest i915 never
    // submits these; GVT-g's model puts [X, Z] in the second slot and
    // cannot place [X, W].
    for s in [sub(d(0), d(0)), sub(d(0), d(1)), sub(d(0), d(2))] {
        let r = el.submit(s, &mut mem, &mut regs).unwrap();
        q.extend(r.workloads.into_iter().flatten());
    }
    assert_eq!(q.len(), 6);
    while let Some(w) = q.pop_front() {
        if el.is_current(&w) {
            el.complete(&w, Outcome::Done, &mut mem, &mut regs).unwrap();
        }
    }
    let s = el.stats();
    assert_eq!(s.refused, 1);
    assert!(s.dropped >= 1);
    assert_eq!(s.completed + s.dropped, 6);
    // Nothing outstanding, both slots still taken: refused at once.
    assert_eq!(
        el.submit(sub(d(1), Descriptor::default()), &mut mem, &mut regs),
        Err(SubmitError::Busy)
    );
    el.reset(&mut regs);
    assert!(el
        .submit(sub(d(1), Descriptor::default()), &mut mem, &mut regs)
        .is_ok());
}
