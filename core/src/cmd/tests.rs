//! Host tests of the command parser: one test per command, the workloads stock
//! i915 emits on Skylake, the register audit against a reference table, and
//! seeded random programs (never a panic, lengths consistent, execution equal to
//! an independent reference interpreter, no TOCTOU, bounded loops).
//!
//! The random tests run 300 programs (3000 streams) by default; a longer run:
//!
//! ```text
//! RGVT_CMD_CASES=100000 cargo test -p rgvt-core --release --lib cmd::tests::random
//! ```

mod gen9_null_state;

use super::table::{self, Kind, Len, Refusal, TABLE};
use super::*;
use crate::engine::{EngineId, GpuMemory, MemError, RegFile, Space};
use crate::storage::Std;
use std::collections::{BTreeMap, HashMap};
use std::string::String;
use std::vec::Vec;
use std::{format, vec};

// ---------------------------------------------------------------- models

/// Guest memory: sparse 4 KiB pages per address space; unmapped pages fault.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
struct Mem {
    pages: [BTreeMap<u64, Vec<u8>>; 2],
}

fn si(space: Space) -> usize {
    match space {
        Space::Ggtt => 0,
        Space::Ppgtt => 1,
    }
}

impl Mem {
    fn map(&mut self, space: Space, addr: u64, len: u64) {
        let mut p = addr & !0xfff;
        while p < addr + len {
            self.pages[si(space)]
                .entry(p)
                .or_insert_with(|| vec![0; 4096]);
            p += 4096;
        }
    }

    fn covered(&self, space: Space, addr: u64, len: usize) -> bool {
        let Some(end) = addr.checked_add(len as u64) else {
            return false;
        };
        let mut p = addr & !0xfff;
        while p < end {
            if !self.pages[si(space)].contains_key(&p) {
                return false;
            }
            p += 4096;
        }
        true
    }

    fn put(&mut self, space: Space, addr: u64, dwords: &[u32]) {
        let mut bytes = Vec::new();
        for d in dwords {
            bytes.extend_from_slice(&d.to_le_bytes());
        }
        self.map(space, addr, bytes.len() as u64);
        self.write(space, addr, &bytes).unwrap();
    }

    fn get(&mut self, space: Space, addr: u64) -> u32 {
        self.read_u32(space, addr).unwrap()
    }
}

impl GpuMemory for Mem {
    fn read(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if !self.covered(space, addr, buf.len()) {
            return Err(MemError::Unmapped);
        }
        let mut done = 0;
        while done < buf.len() {
            let a = addr + done as u64;
            let off = (a & 0xfff) as usize;
            let n = (4096 - off).min(buf.len() - done);
            let page = &self.pages[si(space)][&(a & !0xfff)];
            buf[done..done + n].copy_from_slice(&page[off..off + n]);
            done += n;
        }
        Ok(())
    }

    fn write(&mut self, space: Space, addr: u64, data: &[u8]) -> Result<(), MemError> {
        if !self.covered(space, addr, data.len()) {
            return Err(MemError::Unmapped);
        }
        let mut done = 0;
        while done < data.len() {
            let a = addr + done as u64;
            let off = (a & 0xfff) as usize;
            let n = (4096 - off).min(data.len() - done);
            let page = self.pages[si(space)].get_mut(&(a & !0xfff)).unwrap();
            page[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }
}

/// Registers: plain storage, every write logged.
#[derive(Default)]
struct Regs {
    r: HashMap<u32, u32>,
    log: Vec<(u32, u32)>,
}

impl RegFile for Regs {
    fn read(&mut self, offset: u32) -> u32 {
        self.r.get(&offset).copied().unwrap_or(0)
    }

    fn write(&mut self, offset: u32, value: u32) {
        self.r.insert(offset, value);
        self.log.push((offset, value));
    }
}

// ---------------------------------------------------------------- encoders

const G: Space = Space::Ggtt;
const P: Space = Space::Ppgtt;
const RING: u64 = 0x10000;
const BATCH: u64 = 0x20000;
const HWSP: u64 = 0x30000;
const PBATCH: u64 = 0x1_0000_0000;

fn mi(op: u32, len: u32) -> u32 {
    op << 23 | len.wrapping_sub(2) & 0xff
}
fn lo(a: u64) -> u32 {
    a as u32
}
fn hi(a: u64) -> u32 {
    (a >> 32) as u32
}
fn gbit(space: Space) -> u32 {
    if space == G {
        USE_GGTT
    } else {
        0
    }
}

const NOOP: u32 = 0;
const USER_INTERRUPT: u32 = 0x0100_0000;
const ARB_CHECK: u32 = 0x0280_0000;
const ARB_ON: u32 = 0x0400_0001;
const BB_END: u32 = 0x0500_0000;

fn sdi(space: Space, addr: u64, v: u32) -> Vec<u32> {
    vec![mi(0x20, 4) | gbit(space), lo(addr), hi(addr), v]
}
fn sdi64(space: Space, addr: u64, v: u64) -> Vec<u32> {
    vec![
        mi(0x20, 5) | 1 << 21 | gbit(space),
        lo(addr),
        hi(addr),
        v as u32,
        (v >> 32) as u32,
    ]
}
fn sdx(off: u32, v: u32) -> Vec<u32> {
    vec![mi(0x21, 3), off, v]
}
fn lri(pairs: &[(u32, u32)]) -> Vec<u32> {
    let mut c = vec![mi(0x22, 1 + 2 * pairs.len() as u32)];
    for &(r, v) in pairs {
        c.push(r);
        c.push(v);
    }
    c
}
fn srm(reg: u32, space: Space, addr: u64) -> Vec<u32> {
    vec![mi(0x24, 4) | gbit(space), reg, lo(addr), hi(addr)]
}
fn lrm(reg: u32, space: Space, addr: u64) -> Vec<u32> {
    vec![mi(0x29, 4) | gbit(space), reg, lo(addr), hi(addr)]
}
fn lrr(src: u32, dst: u32) -> Vec<u32> {
    vec![mi(0x2a, 3), src, dst]
}
fn flush_dw(space: Space, addr: u64, v: u32) -> Vec<u32> {
    let g = if space == G { 1 << 2 } else { 0 };
    vec![mi(0x26, 4) | 1 << 14, lo(addr) | g, hi(addr), v]
}
fn pipe_control(space: Space, addr: u64, v: u64) -> Vec<u32> {
    let g = if space == G { 1 << 24 } else { 0 };
    vec![
        0x7a00_0004,
        1 << 14 | g,
        lo(addr),
        hi(addr),
        v as u32,
        (v >> 32) as u32,
    ]
}
fn bb_start(space: Space, addr: u64, second: bool) -> Vec<u32> {
    let p = if space == P { 1 << 8 } else { 0 };
    let s = if second { 1 << 22 } else { 0 };
    vec![mi(0x31, 3) | p | s, lo(addr), hi(addr)]
}
fn sem_wait(space: Space, op: u32, data: u32, addr: u64) -> Vec<u32> {
    vec![
        mi(0x1c, 4) | 1 << 15 | op << 12 | gbit(space),
        data,
        lo(addr),
        hi(addr),
    ]
}
fn copy_mem(dspace: Space, dst: u64, sspace: Space, src: u64) -> Vec<u32> {
    let sg = if sspace == G { 1 << 22 } else { 0 };
    let dg = if dspace == G { 1 << 21 } else { 0 };
    vec![mi(0x2e, 5) | sg | dg, lo(dst), hi(dst), lo(src), hi(src)]
}

/// A linear blit of `w`×`h` pixels of `cpp` bytes.
#[derive(Clone, Copy, Debug)]
struct Rect {
    fast: bool,
    cpp: u64,
    w: u32,
    h: u32,
    src: u64,
    spitch: u32,
    sx: u32,
    sy: u32,
    dst: u64,
    dpitch: u32,
    dx: u32,
    dy: u32,
}

fn blit(r: &Rect) -> Vec<u32> {
    let (h0, depth) = if r.fast {
        let d = match r.cpp {
            1 => 0,
            2 => 1,
            4 => 2,
            8 => 3,
            _ => 4,
        };
        (2 << 29 | 0x42 << 22 | 8, d << 24)
    } else {
        let d = match r.cpp {
            1 => 0,
            2 => 1,
            _ => 3,
        };
        (2 << 29 | 0x53 << 22 | 8 | 3 << 20, d << 24 | 0xcc << 16)
    };
    vec![
        h0,
        depth | r.dpitch,
        r.dy << 16 | r.dx,
        (r.dy + r.h) << 16 | (r.dx + r.w),
        lo(r.dst),
        hi(r.dst),
        r.sy << 16 | r.sx,
        r.spitch,
        lo(r.src),
        hi(r.src),
    ]
}

fn cat(parts: &[Vec<u32>]) -> Vec<u32> {
    parts.concat()
}

/// A workload of `ring` at the start of a 4 KiB ring on `engine`.
fn workload(engine: EngineId, mem: &mut Mem, ring: &[u32]) -> Workload {
    mem.map(G, RING, 4096);
    mem.put(G, RING, ring);
    mem.map(G, HWSP, 4096);
    Workload {
        engine,
        ring_start: RING,
        head: 0,
        tail: (ring.len() * 4) as u32 % 4096,
        ring_size: 4096,
        hwsp: HWSP,
        ppgtt: true,
    }
}

fn scan_std(w: &Workload, mem: &mut Mem) -> Result<Scanned<Std>, AuditError> {
    scan::<Std>(w, mem, &Limits::default())
}

/// Scans and runs `ring` (with whatever batches `mem` holds) to its end.
fn run(engine: EngineId, mem: &mut Mem, regs: &mut Regs, ring: &[u32]) -> (Step, Stats) {
    let w = workload(engine, mem, ring);
    let mut e = scan_std(&w, mem).expect("audit").exec();
    let step = e.run(mem, regs, 0);
    (step, *e.stats())
}

fn refused(engine: EngineId, mem: &mut Mem, ring: &[u32]) -> Reason {
    let w = workload(engine, mem, ring);
    match scan_std(&w, mem) {
        Err(e) => e.reason,
        Ok(_) => panic!("accepted"),
    }
}

// ---------------------------------------------------------------- decoding

#[test]
fn table_has_one_entry_per_opcode_and_engine() {
    for (i, a) in TABLE.iter().enumerate() {
        for b in &TABLE[i + 1..] {
            assert!(
                a.op != b.op || a.engines & b.engines == 0,
                "{} and {} share an opcode",
                a.name,
                b.name
            );
        }
    }
}

#[test]
fn lengths_follow_the_header() {
    assert_eq!(Len::Var { bits: 8 }.of(0x7a00_0004), (6, true));
    assert_eq!(Len::Const(1).of(0x6904_0300), (1, true));
    assert_eq!(Len::Fixed { bits: 8, dwords: 3 }.of(mi(0x31, 3)), (3, true));
    assert_eq!(
        Len::Fixed { bits: 8, dwords: 3 }.of(mi(0x31, 4)),
        (4, false)
    );
    let (sdi, _) = table::lookup(EngineId::Rcs, mi(0x20, 4)).unwrap();
    assert_eq!(sdi.kind, Kind::StoreImm);
    // 2D only on the blitter, 3D and media nowhere on it.
    assert!(table::lookup(EngineId::Bcs, 0x5440_0008).is_some());
    assert!(table::lookup(EngineId::Rcs, 0x5440_0008).is_none());
    assert!(table::lookup(EngineId::Bcs, 0x7a00_0004).is_none());
    assert!(table::lookup(EngineId::Vcs, 0x7a00_0004).is_none());
}

#[test]
fn unknown_wrong_engine_and_malformed_commands_are_refused() {
    let mut m = Mem::default();
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &[0x0880_0000, 0]),
        Reason::UnknownOpcode
    );
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &[0xe000_0000, 0]),
        Reason::UnknownOpcode
    );
    // A blit on the render engine, PIPE_CONTROL on the video engine.
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &blit_cmd()),
        Reason::UnknownOpcode
    );
    assert_eq!(
        refused(EngineId::Vcs, &mut m, &pipe_control(G, 0x40000, 1)),
        Reason::UnknownOpcode
    );
    // A fixed-length command with another length.
    let mut bad = bb_start(G, BATCH, false);
    bad[0] += 1;
    bad.push(0);
    assert_eq!(refused(EngineId::Rcs, &mut m, &bad), Reason::BadLength);
    // Store data with three data dwords.
    assert_eq!(
        refused(
            EngineId::Rcs,
            &mut m,
            &[mi(0x20, 6), 0x40000, 0, 1, 2, 3, 0, 0]
        ),
        Reason::BadLength
    );
    // A command running past the tail.
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &sdi(G, 0x40000, 1)[..3]),
        Reason::CrossesTail
    );
    // Host-state commands.
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &[mi(0x23, 4), 0, 0, 0]),
        Reason::Refused(Refusal::Gtt)
    );
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &[0x0180_0000, 0]),
        Reason::Refused(Refusal::Display)
    );
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &[BB_END, 0]),
        Reason::BatchEndInRing
    );
    // PIPE_CONTROL of another length, reserved post-sync and compare ops.
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &[0x7a00_0003, 0, 0, 0, 0, 0]),
        Reason::BadLength
    );
    assert_eq!(
        refused(EngineId::Bcs, &mut m, &[mi(0x26, 4) | 2 << 14, 0, 0, 0]),
        Reason::BadOperation
    );
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &sem_wait(G, 6, 0, 0x40000)),
        Reason::BadOperation
    );
}

fn blit_cmd() -> Vec<u32> {
    blit(&Rect {
        fast: false,
        cpp: 4,
        w: 1,
        h: 1,
        src: 0x1000,
        spitch: 4,
        sx: 0,
        sy: 0,
        dst: 0x2000,
        dpitch: 4,
        dx: 0,
        dy: 0,
    })
}

#[test]
fn bad_rings_are_refused() {
    let mut m = Mem::default();
    let mut w = workload(EngineId::Rcs, &mut m, &[NOOP, NOOP]);
    for bad in [
        Workload { ring_size: 0, ..w },
        Workload {
            ring_size: 100,
            ..w
        },
        Workload {
            ring_size: 513 * 4096,
            ..w
        },
        Workload { head: 2, ..w },
        Workload { tail: 4096, ..w },
        Workload {
            ring_start: 0x10010,
            ..w
        },
    ] {
        assert_eq!(
            scan_std(&bad, &mut m).err().unwrap().reason,
            Reason::BadRing
        );
    }
    // An unmapped ring faults at its head.
    w.ring_start = 0x7000_0000;
    assert_eq!(
        scan_std(&w, &mut m).err().unwrap().reason,
        Reason::Memory(MemError::Unmapped)
    );
}

// ---------------------------------------------------------------- execution

#[test]
fn stores_write_where_their_address_space_says() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.map(P, 0x5_0000_0000, 4096);
    let mut r = Regs::default();
    let ring = cat(&[
        sdi(G, 0x40000, 0x11),
        sdi(P, 0x5_0000_0008, 0x22),
        sdi64(G, 0x40010, 0x3333_0000_4444),
        sdx(0x40, 0x55),
        vec![NOOP],
    ]);
    let (step, st) = run(EngineId::Vcs, &mut m, &mut r, &ring);
    assert_eq!(
        step,
        Step::Done {
            head: (ring.len() * 4) as u32
        }
    );
    assert_eq!(m.get(G, 0x40000), 0x11);
    assert_eq!(m.get(P, 0x5_0000_0008), 0x22);
    assert_eq!(m.get(G, 0x40010), 0x4444);
    assert_eq!(m.get(G, 0x40014), 0x3333);
    assert_eq!(m.get(G, HWSP + 0x40), 0x55);
    assert_eq!((st.stores, st.mi), (4, 5));
}

#[test]
fn a_context_without_ppgtt_stores_to_the_ggtt() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    let ring = sdi(P, 0x40004, 7);
    let mut w = workload(EngineId::Rcs, &mut m, &ring);
    w.ppgtt = false;
    let mut e = scan_std(&w, &mut m).unwrap().exec();
    assert!(matches!(
        e.run(&mut m, &mut Regs::default(), 0),
        Step::Done { .. }
    ));
    assert_eq!(m.get(G, 0x40004), 7);
}

#[test]
fn flush_dw_and_pipe_control_post_sync_writes() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.map(P, 0x9000, 4096);
    let mut r = Regs::default();
    r.r.insert(0x22358, 0xaaaa);
    r.r.insert(0x2235c, 0xbbbb);
    let ring = cat(&[
        flush_dw(G, 0x40008, 0x77),
        flush_dw(P, 0x9010, 0x88),
        // Store index and timestamp forms.
        vec![mi(0x26, 4) | 1 << 21 | 1 << 14, 0x80, 0, 0x99],
        vec![mi(0x26, 4) | 3 << 14, 0x40020 | 1 << 2, 0, 0],
    ]);
    let (step, st) = run(EngineId::Bcs, &mut m, &mut r, &ring);
    assert!(matches!(step, Step::Done { .. }));
    assert_eq!(m.get(G, 0x40008), 0x77);
    assert_eq!(m.get(P, 0x9010), 0x88);
    assert_eq!(m.get(G, HWSP + 0x80), 0x99);
    assert_eq!((m.get(G, 0x40020), m.get(G, 0x40024)), (0xaaaa, 0xbbbb));
    assert_eq!(st.stores, 4);

    let ring = cat(&[
        pipe_control(G, 0x40100, 0x1_0000_0002),
        pipe_control(P, 0x9100, 5),
        // i915's flush: a qword to the status page's scratch slot, by index.
        vec![0x7a00_0004, 1 << 14 | 1 << 21, 0xd0, 0, 0x66, 0],
        // No post-sync operation: no write.
        vec![0x7a00_0004, 1 << 24, 0x40200, 0, 0x12, 0],
    ]);
    let (step, st) = run(EngineId::Rcs, &mut m, &mut r, &ring);
    assert!(matches!(step, Step::Done { .. }));
    assert_eq!((m.get(G, 0x40100), m.get(G, 0x40104)), (2, 1));
    assert_eq!(m.get(P, 0x9100), 5);
    assert_eq!(m.get(G, HWSP + 0xd0), 0x66);
    assert_eq!(m.get(G, 0x40200), 0);
    assert_eq!((st.stores, st.render), (3, 4));
}

#[test]
fn registers_load_and_store_through_the_whitelist() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.put(G, 0x40010, &[0x1234]);
    let mut r = Regs::default();
    let ring = cat(&[
        lri(&[(0x7014, 0x0001_0001), (0x2358, 5)]),
        lrm(0xb118, G, 0x40010),
        lrr(0xb118, 0x7300),
        srm(0x7300, G, 0x40020),
        vec![NOOP],
    ]);
    let (step, st) = run(EngineId::Rcs, &mut m, &mut r, &ring);
    assert!(matches!(step, Step::Done { .. }));
    assert_eq!(
        r.log,
        [
            (0x7014, 0x0001_0001),
            (0x2358, 5),
            (0xb118, 0x1234),
            (0x7300, 0x1234)
        ]
    );
    assert_eq!(m.get(G, 0x40020), 0x1234);
    assert_eq!((st.reg_writes, st.stores), (4, 1));

    // Forbidden: writes of the PDPs and RING_MODE (reads of them are allowed:
    // reads_take_the_whole_gvt_list_of_the_engines_own_ring), another engine's
    // ring registers, flags.
    for (engine, cmd) in [
        (EngineId::Rcs, lri(&[(0x7014, 0), (0x2270, 0)])),
        (EngineId::Rcs, lri(&[(0x229c, 0)])),
        (EngineId::Rcs, lri(&[(0x2209c, 0)])),
        (EngineId::Rcs, lrm(0x2080, G, 0x40010)),
        (EngineId::Rcs, lrr(0x7014, 0x44304)),
        (EngineId::Rcs, srm(0x941c, G, 0x40020)),
    ] {
        let mut c = cmd;
        if c.len() % 2 == 1 {
            c.push(NOOP);
        }
        assert!(
            matches!(refused(engine, &mut m, &c), Reason::Register(_)),
            "{:x?}",
            c
        );
    }
    let mut c = lri(&[(0x7014, 0)]);
    c[0] |= 1 << 19;
    c.push(NOOP);
    assert_eq!(refused(EngineId::Rcs, &mut m, &c), Reason::LriFlags);
    // An LRI whose pairs are cut in half.
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &[mi(0x22, 4), 0x7014, 0, 0x7004]),
        Reason::BadLength
    );
}

#[test]
fn user_interrupts_and_arbitration_are_counted() {
    let mut m = Mem::default();
    let ring = [
        ARB_ON,
        ARB_CHECK,
        USER_INTERRUPT,
        NOOP,
        USER_INTERRUPT,
        NOOP,
    ];
    let (step, st) = run(EngineId::Vecs, &mut m, &mut Regs::default(), &ring);
    assert!(matches!(step, Step::Done { .. }));
    assert_eq!((st.user_interrupts, st.mi, st.stores), (2, 6, 0));
    // An engine's totals over two such workloads.
    let mut total = Stats::default();
    total.add(&st);
    total.add(&st);
    assert_eq!((total.user_interrupts, total.mi), (4, 12));
}

#[test]
fn semaphore_waits_until_its_condition_then_resumes() {
    for (op, data, blocked, released) in [
        (0u32, 5u32, 5u32, 6u32),
        (1, 5, 4, 5),
        (2, 5, 5, 4),
        (3, 5, 6, 5),
        (4, 5, 4, 5),
        (5, 5, 5, 4),
    ] {
        let mut m = Mem::default();
        m.map(G, 0x40000, 4096);
        m.put(G, 0x40000, &[blocked]);
        let ring = cat(&[sem_wait(G, op, data, 0x40000), sdi(G, 0x40004, 1)]);
        let w = workload(EngineId::Rcs, &mut m, &ring);
        let mut e = scan_std(&w, &mut m).unwrap().exec();
        let mut r = Regs::default();
        for _ in 0..3 {
            assert!(matches!(e.run(&mut m, &mut r, 0), Step::Waiting { .. }));
        }
        assert_eq!(m.get(G, 0x40004), 0, "op {op}");
        m.put(G, 0x40000, &[released]);
        assert!(
            matches!(e.run(&mut m, &mut r, 0), Step::Done { .. }),
            "op {op}"
        );
        assert_eq!(m.get(G, 0x40004), 1);
        assert_eq!(e.stats().polls, 3);
    }
}

#[test]
fn copies_move_rectangles_and_dwords() {
    for (fast, cpp) in [
        (false, 1),
        (false, 2),
        (false, 4),
        (true, 1),
        (true, 4),
        (true, 8),
        (true, 16),
    ] {
        let mut m = Mem::default();
        m.map(P, 0x100000, 0x10000);
        m.map(P, 0x200000, 0x10000);
        let src: Vec<u32> = (0..0x1000u32)
            .map(|i| i.wrapping_mul(0x9e37_79b9))
            .collect();
        m.put(P, 0x100000, &src);
        let r = Rect {
            fast,
            cpp,
            w: 7,
            h: 5,
            src: 0x100000,
            spitch: 256,
            sx: 3,
            sy: 2,
            dst: 0x200000,
            dpitch: 512,
            dx: 1,
            dy: 4,
        };
        let mut want = m.clone();
        reference_blit(&mut want, &r);
        let (step, st) = run(EngineId::Bcs, &mut m, &mut Regs::default(), &blit(&r));
        assert!(matches!(step, Step::Done { .. }));
        assert_ne!(m.get(P, 0x200000 + 4 * 512 + cpp), 0, "nothing copied");
        for y in 0..16u64 {
            for x in 0..64u64 {
                let a = 0x200000 + y * 512 + x * 4;
                assert_eq!(
                    m.get(P, a),
                    want.get(P, a),
                    "fast {fast} cpp {cpp} at {a:#x}"
                );
            }
        }
        assert_eq!((st.bytes_copied, st.blit), (7 * 5 * cpp, 1));
    }

    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.map(P, 0x9000, 4096);
    m.put(P, 0x9000, &[0xfeed]);
    let (step, st) = run(
        EngineId::Rcs,
        &mut m,
        &mut Regs::default(),
        &cat(&[
            copy_mem(G, 0x40000, P, 0x9000),
            copy_mem(P, 0x9008, G, 0x40000),
        ]),
    );
    assert!(matches!(step, Step::Done { .. }));
    assert_eq!((m.get(G, 0x40000), m.get(P, 0x9008)), (0xfeed, 0xfeed));
    assert_eq!(st.bytes_copied, 8);
}

#[test]
fn blits_the_sim_cannot_model_are_refused() {
    let mut m = Mem::default();
    let mut tiled = blit_cmd();
    tiled[0] |= 1 << 11;
    assert_eq!(
        refused(EngineId::Bcs, &mut m, &tiled),
        Reason::UnsupportedBlit
    );
    let mut rop = blit_cmd();
    rop[1] = rop[1] & !(0xff << 16) | 0x5a << 16;
    assert_eq!(
        refused(EngineId::Bcs, &mut m, &rop),
        Reason::UnsupportedBlit
    );
    let mut negative = blit_cmd();
    negative[7] |= 0x8000;
    assert_eq!(
        refused(EngineId::Bcs, &mut m, &negative),
        Reason::UnsupportedBlit
    );
    let mut rgb_only = blit_cmd();
    rgb_only[0] &= !(1 << 21);
    assert_eq!(
        refused(EngineId::Bcs, &mut m, &rgb_only),
        Reason::UnsupportedBlit
    );
    // Bigger than the workload's copy bound.
    let big = blit(&Rect {
        fast: true,
        cpp: 16,
        w: 0xffff,
        h: 0xffff,
        src: 0,
        spitch: 0xffff,
        sx: 0,
        sy: 0,
        dst: 0,
        dpitch: 0xffff,
        dx: 0,
        dy: 0,
    });
    let w = workload(EngineId::Bcs, &mut m, &big);
    let e = scan::<Std>(&w, &mut m, &Limits::default()).err().unwrap();
    assert_eq!(e.reason, Reason::CopyTooLarge);
}

#[test]
fn a_fault_stops_the_workload_after_what_ran() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    let ring = cat(&[sdi(G, 0x40000, 1), sdi(G, 0x90000, 2), sdi(G, 0x40004, 3)]);
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let mut e = scan_std(&w, &mut m).unwrap().exec();
    let step = e.run(&mut m, &mut Regs::default(), 0);
    assert_eq!(
        step,
        Step::Fault {
            at: Where {
                level: 0,
                space: G,
                addr: RING + 16
            },
            header: ring[4],
            err: MemError::Unmapped
        }
    );
    assert_eq!((m.get(G, 0x40000), m.get(G, 0x40004)), (1, 0));
    // The end repeats.
    assert_eq!(e.run(&mut m, &mut Regs::default(), 0), step);
}

#[test]
fn a_budget_yields_and_resumes() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    let ring: Vec<u32> = (0..10)
        .flat_map(|i| sdi(G, 0x40000 + 4 * i, i as u32 + 1))
        .collect();
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let mut e = scan_std(&w, &mut m).unwrap().exec();
    let mut r = Regs::default();
    for i in 0..3 {
        assert_eq!(e.run(&mut m, &mut r, 3), Step::Yield);
        assert_eq!(e.position(), 3 * (i + 1));
    }
    assert!(matches!(e.run(&mut m, &mut r, 3), Step::Done { .. }));
    for i in 0..10 {
        assert_eq!(m.get(G, 0x40000 + 4 * i), i as u32 + 1);
    }
}

// ---------------------------------------------------------------- batches

#[test]
fn batches_first_second_level_and_chains() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    // Level 1 in the GGTT calls a level-2 batch in the PPGTT, which chains to a
    // second PPGTT batch; its end returns to level 1, which ends back in the ring.
    m.put(
        G,
        BATCH,
        &cat(&[
            sdi(G, 0x40000, 1),
            bb_start(P, PBATCH, true),
            sdi(G, 0x40008, 4),
            vec![BB_END],
        ]),
    );
    m.put(
        P,
        PBATCH,
        &cat(&[sdi(G, 0x40004, 2), bb_start(P, PBATCH + 0x800, false)]),
    );
    m.put(P, PBATCH + 0x800, &cat(&[sdi(G, 0x4000c, 3), vec![BB_END]]));
    let ring = cat(&[bb_start(G, BATCH, false), sdi(G, 0x40010, 5), vec![NOOP]]);
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let s = scan_std(&w, &mut m).unwrap();
    let levels: Vec<(u8, Space)> = s.cmds.iter().map(|c| (c.at.level, c.at.space)).collect();
    assert_eq!(
        levels,
        [
            (0, G),
            (1, G),
            (1, G),
            (2, P),
            (2, P),
            (2, P),
            (2, P),
            (1, G),
            (1, G),
            (0, G),
            (0, G)
        ]
    );
    let mut e = s.exec();
    assert!(matches!(
        e.run(&mut m, &mut Regs::default(), 0),
        Step::Done { .. }
    ));
    let got: Vec<u32> = (0..5).map(|i| m.get(G, 0x40000 + 4 * i)).collect();
    assert_eq!(got, [1, 2, 4, 3, 5]);
}

#[test]
fn nesting_past_two_levels_and_second_level_from_the_ring_are_refused() {
    let mut m = Mem::default();
    m.put(
        G,
        BATCH,
        &cat(&[bb_start(G, BATCH + 0x100, true), vec![BB_END]]),
    );
    m.put(
        G,
        BATCH + 0x100,
        &cat(&[bb_start(G, BATCH + 0x200, true), vec![BB_END]]),
    );
    m.put(G, BATCH + 0x200, &[BB_END]);
    let mut ring = bb_start(G, BATCH, false);
    ring.push(NOOP);
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let e = scan_std(&w, &mut m).err().unwrap();
    assert_eq!(e.reason, Reason::NestingTooDeep);
    assert_eq!(
        e.at,
        Where {
            level: 2,
            space: G,
            addr: BATCH + 0x100
        }
    );

    let mut ring = bb_start(G, BATCH + 0x200, true);
    ring.push(NOOP);
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &ring),
        Reason::SecondLevelFromRing
    );

    // Predicated or resource-streamer batches.
    let mut ring = bb_start(G, BATCH + 0x200, false);
    ring.push(NOOP);
    ring[0] |= 1 << 15;
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &ring),
        Reason::Refused(Refusal::Unmodelled)
    );
    ring[0] ^= 1 << 15 | 1 << 10;
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &ring),
        Reason::Refused(Refusal::ResourceStreamer)
    );
}

#[test]
fn a_batch_outside_the_guest_memory_is_refused_before_anything_runs() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    let ring = cat(&[
        sdi(G, 0x40000, 1),
        bb_start(P, 0x7_0000_0000, false),
        vec![NOOP],
    ]);
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let e = scan_std(&w, &mut m).err().unwrap();
    assert_eq!(e.reason, Reason::Memory(MemError::Unmapped));
    assert_eq!(
        e.at,
        Where {
            level: 1,
            space: P,
            addr: 0x7_0000_0000
        }
    );
    // Audit before effect: the store before it did not happen.
    assert_eq!(m.get(G, 0x40000), 0);
}

#[test]
fn a_forbidden_command_deep_in_a_batch_stops_the_whole_workload() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.put(
        P,
        PBATCH,
        &cat(&[sdi(G, 0x40004, 2), lri(&[(0x2270, 0)]), vec![NOOP, BB_END]]),
    );
    let ring = cat(&[sdi(G, 0x40000, 1), bb_start(P, PBATCH, false), vec![NOOP]]);
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let e = scan_std(&w, &mut m).err().unwrap();
    assert_eq!(e.reason, Reason::Register(0x2270));
    assert_eq!(e.header, mi(0x22, 3));
    assert_eq!(e.command(EngineId::Rcs), "MI_LOAD_REGISTER_IMM");
    assert_eq!(e.command(EngineId::Bcs), "MI_LOAD_REGISTER_IMM");
    let junk = AuditError {
        header: 0xe000_0000,
        ..e
    };
    assert_eq!(junk.command(EngineId::Rcs), "unknown");
    assert_eq!((m.get(G, 0x40000), m.get(G, 0x40004)), (0, 0));
}

#[test]
fn the_ring_wraps() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.map(G, RING, 4096);
    m.map(G, HWSP, 4096);
    // Two stores starting 8 bytes before the end of the ring.
    let cmds = cat(&[sdi(G, 0x40000, 1), sdi(G, 0x40004, 2)]);
    for (i, d) in cmds.iter().enumerate() {
        let off = (4096 - 8 + 4 * i as u64) % 4096;
        m.put(G, RING + off, &[*d]);
    }
    let w = Workload {
        engine: EngineId::Rcs,
        ring_start: RING,
        head: 4096 - 8,
        tail: 24,
        ring_size: 4096,
        hwsp: HWSP,
        ppgtt: true,
    };
    let mut e = scan_std(&w, &mut m).unwrap().exec();
    assert_eq!(
        e.run(&mut m, &mut Regs::default(), 0),
        Step::Done { head: 24 }
    );
    assert_eq!((m.get(G, 0x40000), m.get(G, 0x40004)), (1, 2));
}

#[test]
fn an_endless_chain_is_cut_at_the_bound_and_hangs() {
    for space in [G, P] {
        let base = if space == G { BATCH } else { PBATCH };
        let mut m = Mem::default();
        m.map(G, 0x40000, 4096);
        // Two batches jumping to each other forever, each storing on the way.
        m.put(
            space,
            base,
            &cat(&[sdi(G, 0x40000, 1), bb_start(space, base + 0x100, false)]),
        );
        m.put(
            space,
            base + 0x100,
            &cat(&[sdi(G, 0x40004, 2), bb_start(space, base, false)]),
        );
        let mut ring = bb_start(space, base, false);
        ring.push(NOOP);
        let w = workload(EngineId::Rcs, &mut m, &ring);
        let lim = Limits {
            max_cmds: 1000,
            ..Limits::default()
        };
        let s = scan::<Std>(&w, &mut m, &lim).unwrap();
        assert!(s.cut());
        assert_eq!(s.commands(), 1000);
        let mut e = s.exec();
        assert_eq!(e.run(&mut m, &mut Regs::default(), 0), Step::Hung);
        assert_eq!(e.stats().stores, 500);
        // And by dwords.
        let lim = Limits {
            max_dwords: 999,
            ..Limits::default()
        };
        let s = scan::<Std>(&w, &mut m, &lim).unwrap();
        assert!(s.cut() && s.bytes() <= 4 * 999);
    }
    // A batch that calls itself at the second level nests too deep.
    let mut m = Mem::default();
    m.put(G, BATCH, &cat(&[bb_start(G, BATCH, true), vec![BB_END]]));
    let mut ring = bb_start(G, BATCH, false);
    ring.push(NOOP);
    assert_eq!(
        refused(EngineId::Rcs, &mut m, &ring),
        Reason::NestingTooDeep
    );
}

#[test]
fn rewriting_the_batch_after_the_scan_changes_nothing() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.put(P, PBATCH, &cat(&[sdi(G, 0x40000, 1), vec![BB_END]]));
    let ring = cat(&[bb_start(P, PBATCH, false), sdi(G, 0x40004, 2)]);
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let s = scan_std(&w, &mut m).unwrap();
    // The guest now turns both into forbidden register writes.
    let evil = cat(&[lri(&[(0x2270, 0xdead)]), vec![NOOP]]);
    m.put(P, PBATCH, &evil);
    m.put(G, RING + 12, &evil);
    let mut r = Regs::default();
    let mut e = s.exec();
    assert!(matches!(e.run(&mut m, &mut r, 0), Step::Done { .. }));
    assert_eq!((m.get(G, 0x40000), m.get(G, 0x40004)), (1, 2));
    assert!(r.log.is_empty());
}

// ---------------------------------------------------------------- stock i915

/// The context workarounds i915 6.12 emits by LRI on Skylake GT2
/// (`gen9_ctx_workarounds_init` + `skl_tune_iz_hashing`, `intel_engine_emit_ctx_wa`).
const SKL_CTX_WA: [u32; 10] = [
    0x7014, // COMMON_SLICE_CHICKEN2
    0xe194, // GEN9_HALF_SLICE_CHICKEN7
    0xe4f0, // GEN8_ROW_CHICKEN
    0x7004, // CACHE_MODE_1
    0xe188, // GEN9_HALF_SLICE_CHICKEN5
    0x7300, // HDC_CHICKEN0
    0xe184, // GEN8_HALF_SLICE_CHICKEN3
    0xe180, // HALF_SLICE_CHICKEN2
    0x2580, // GEN8_CS_CHICKEN1
    0x7008, // GEN7_GT_MODE
];

#[test]
fn i915_render_requests_pass_the_audit_and_run() {
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    m.put(G, BATCH, &gen9_null_state::BATCH);
    m.put(
        P,
        PBATCH,
        &cat(&[sdi(P, 0x2_0000_0000, 0xc0ffee), vec![BB_END]]),
    );
    m.map(P, 0x2_0000_0000, 4096);
    let wa: Vec<(u32, u32)> = SKL_CTX_WA.iter().map(|&r| (r, 0x0001_0001)).collect();
    let seqno = HWSP + 0x100;
    let ring = cat(&[
        // intel_engine_emit_ctx_wa.
        lri(&wa),
        vec![NOOP],
        // gen8_emit_init_breadcrumb.
        vec![ARB_CHECK, NOOP],
        vec![mi(0x20, 4) | USE_GGTT, lo(seqno), 0, 41],
        // The null render state (a GGTT batch, "secure") and a user batch in the PPGTT.
        vec![ARB_ON],
        bb_start(G, BATCH, false),
        vec![0x0400_0000, NOOP],
        vec![ARB_ON],
        bb_start(P, PBATCH, false),
        vec![0x0400_0000, NOOP],
        // gen8_emit_flush_rcs: CS stall + flushes, qword to the scratch slot by index.
        vec![
            0x7a00_0004,
            1 << 20 | 1 << 21 | 1 << 14 | 1 << 12 | 1,
            0xd0,
            0,
            0,
            0,
        ],
        // gen8_emit_fini_breadcrumb_rcs.
        vec![
            0x7a00_0004,
            1 << 24 | 1 << 14 | 1 << 20,
            lo(seqno),
            0,
            42,
            0,
        ],
        vec![USER_INTERRUPT, ARB_ON, ARB_CHECK, NOOP],
    ]);
    let mut r = Regs::default();
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let s = scan_std(&w, &mut m).expect("stock i915 must pass");
    // The null state is walked by length to its end.
    let null: Vec<&Cmd> = s
        .cmds
        .iter()
        .filter(|c| c.at.space == G && c.at.level == 1)
        .collect();
    let last = null.last().unwrap();
    assert_eq!(last.kind, Kind::BbEnd);
    assert_eq!(last.at.addr, BATCH + 4 * gen9_null_state::END as u64);
    let mut e = s.exec();
    assert!(matches!(e.run(&mut m, &mut r, 0), Step::Done { .. }));
    assert_eq!(m.get(G, seqno), 42);
    assert_eq!(m.get(P, 0x2_0000_0000), 0xc0ffee);
    assert_eq!(r.log.len(), SKL_CTX_WA.len());
    let st = e.stats();
    assert_eq!(st.user_interrupts, 1);
    assert!(st.skipped > 20 && st.render > 20, "{st:?}");
}

#[test]
fn i915_blitter_and_video_requests_pass_the_audit_and_run() {
    for engine in [EngineId::Bcs, EngineId::Vcs, EngineId::Vecs] {
        let mut m = Mem::default();
        m.map(P, 0x100000, 0x4000);
        m.map(P, 0x200000, 0x4000);
        m.put(P, 0x100000, &[1, 2, 3, 4]);
        let copy = if engine == EngineId::Bcs {
            blit(&Rect {
                fast: true,
                cpp: 4,
                w: 4,
                h: 1,
                src: 0x100000,
                spitch: 16,
                sx: 0,
                sy: 0,
                dst: 0x200000,
                dpitch: 16,
                dx: 0,
                dy: 0,
            })
        } else {
            copy_mem(P, 0x200000, P, 0x100000)
        };
        m.put(
            P,
            PBATCH,
            &cat(&[copy, flush_dw(P, 0x200100, 9), vec![BB_END]]),
        );
        let seqno = HWSP + 0x100;
        let ring = cat(&[
            vec![ARB_CHECK, NOOP],
            vec![mi(0x20, 4) | USE_GGTT, lo(seqno), 0, 41],
            vec![ARB_ON],
            bb_start(P, PBATCH, false),
            vec![0x0400_0000, NOOP],
            // gen8_emit_flush_xcs: a dword to the scratch slot by index.
            vec![mi(0x26, 4) | 1 << 21 | 1 << 14, 0xd0, 0, 0],
            // gen8_emit_fini_breadcrumb_xcs.
            vec![mi(0x26, 4) | 1 << 14, lo(seqno) | 1 << 2, 0, 42],
            vec![USER_INTERRUPT, ARB_ON, ARB_CHECK, NOOP],
        ]);
        let (step, st) = run(engine, &mut m, &mut Regs::default(), &ring);
        assert!(matches!(step, Step::Done { .. }), "{engine:?}");
        assert_eq!(m.get(G, seqno), 42);
        assert_eq!(m.get(P, 0x200000), 1);
        assert_eq!(m.get(P, 0x200100), 9);
        assert_eq!(st.user_interrupts, 1);
    }
}

#[test]
fn i915_gen9_indirect_context_batch_passes_the_audit() {
    // gen9_init_indirectctx_bb (intel_lrc.c), should the engine run it as a batch:
    // the coherent-L3 workaround, a flush and three context workarounds by LRI.
    let mut m = Mem::default();
    let scratch = 0x40100;
    m.map(G, scratch, 4096);
    m.put(G, scratch, &[0x5a5a]);
    let bb = cat(&[
        vec![0x0400_0000],
        srm(0xb118, G, scratch),
        lri(&[(0xb118, 0x4040_0000 | (1 << 21))]),
        vec![0x7a00_0004, (1 << 20) | (1 << 5), 0, 0, 0, 0],
        lrm(0xb118, G, scratch),
        vec![
            0x7a00_0004,
            (1 << 27) | (1 << 21) | (1 << 20) | (1 << 14),
            0xd0,
            0,
            0,
            0,
        ],
        lri(&[
            (0x7014, 0x0800_0000),
            (0x2088, 0x0002_0002),
            (0x2090, 0x0200_0200),
        ]),
        // GEN9_MEDIA_POOL_STATE (pooled-EU parts).
        vec![0x7005_0004, 1 << 31, 0x0077_7000, 0, 0, 0],
        vec![ARB_ON, NOOP, NOOP, NOOP, BB_END],
    ]);
    m.put(G, BATCH, &bb);
    let mut ring = bb_start(G, BATCH, false);
    ring.push(NOOP);
    let mut r = Regs::default();
    let (step, st) = run(EngineId::Rcs, &mut m, &mut r, &ring);
    assert!(matches!(step, Step::Done { .. }));
    // LRI, LRM (the saved value back), then the three workarounds.
    assert_eq!(r.log.len(), 5);
    assert_eq!(r.log[1], (0xb118, 0));
    assert_eq!((st.media, st.skipped), (1, 1));
}

// ---------------------------------------------------------------- register audit

/// GVT-g's `F_CMD_ACCESS` registers on Skylake, transcribed from `gvt/handlers.c`
/// as (offset, bytes, ring-relative, why refused by rgvt if it is).
const GVT_CMD_ACCESS: &[(u32, u32, bool, Option<&str>)] = &[
    (0x28, 4, true, None),
    (0x134, 4, true, None),
    (0x29c, 4, true, Some("RING_MODE: execlist enable")),
    (0x9c, 4, true, None),
    (0xc0, 4, true, None),
    (0x358, 4, true, None),
    (0x35c, 4, true, None),
    (0x244, 4, true, None),
    (0x270, 32, true, Some("PDPs: the PPGTT root")),
    (0x40, 4, true, None),
    (0x44, 4, true, None),
    (0xd4, 4, true, None),
    (0x4d0, 48, true, Some("FORCE_TO_NONPRIV")),
    (0x7008, 4, false, None),
    (0x7000, 4, false, None),
    (0x7004, 4, false, None),
    (0x2120, 4, false, None),
    (0x2124, 4, false, None),
    (0x20dc, 4, false, None),
    (0x2090, 4, false, None),
    (0x2088, 4, false, None),
    (0x20e4, 4, false, None),
    (0x2470, 4, false, None),
    (0x4090, 4, false, None),
    (0x7010, 4, false, None),
    (0x7014, 4, false, None),
    (0x9030, 4, false, None),
    (0x20a0, 4, false, None),
    (0x2420, 4, false, None),
    (0x2430, 4, false, None),
    (0x2434, 4, false, None),
    (0x2438, 4, false, None),
    (0x243c, 4, false, None),
    (0x7018, 4, false, None),
    (0xe184, 4, false, None),
    (0xe100, 4, false, None),
    (0x120000, 4, false, Some("GTFIFODBG: uncore")),
    (0x120008, 4, false, Some("GTFIFOCTL: uncore")),
    (0x940c, 4, false, Some("UCGCTL4: clock gating")),
    (0x215c, 4, false, None),
    (0x2178, 4, false, None),
    (0x217c, 4, false, None),
    (0x12178, 4, false, None),
    (0x1217c, 4, false, None),
    (0x2290, 8, false, None),
    (0x5200, 32, false, None),
    (0x5240, 32, false, None),
    (0x5280, 16, false, None),
    (0x1c17c, 4, false, None),
    (0x1c178, 4, false, None),
    (0x22200, 4, false, None),
    (0x2300, 8, false, None),
    (0x2308, 8, false, None),
    (0x2310, 8, false, None),
    (0x2318, 8, false, None),
    (0x2320, 8, false, None),
    (0x2328, 8, false, None),
    (0x2330, 8, false, None),
    (0x2338, 8, false, None),
    (0x2340, 8, false, None),
    (0x2348, 8, false, None),
    (0x2350, 8, false, None),
    (0x4094, 4, false, None),
    (0x4030, 4, false, None),
    (0x2220, 4, false, None),
    (0x12220, 4, false, None),
    (0x22220, 4, false, None),
    (0x22178, 4, false, None),
    (0x1a178, 4, false, None),
    (0x1a17c, 4, false, None),
    (0x2217c, 4, false, None),
    (0x7300, 4, false, None),
    (0xe4f0, 4, false, None),
    (0xe4f4, 4, false, None),
    (0x9430, 4, false, Some("UCGCTL6: clock gating")),
    (0xb118, 4, false, None),
    (0xe194, 4, false, None),
    (0xe188, 4, false, None),
    (0xe180, 4, false, None),
    (0x2580, 4, false, None),
    (0xe220, 4, false, None),
    (0xe230, 4, false, None),
    (0xe240, 4, false, None),
    (0xe260, 4, false, None),
    (0xe270, 4, false, None),
    (0xe280, 4, false, None),
    (0xe2a0, 4, false, None),
    (0xe2b0, 4, false, None),
    (0xe2c0, 4, false, None),
    (0x21f0, 4, false, None),
    (0x4ab0, 4, false, None),
    (0x4ddc, 4, false, None),
    (0xb11c, 4, false, None),
    (0xc800, 0x7f8, false, None),
    (0xb020, 0x80, false, None),
    (0x20e0, 4, false, None),
    (0x20ec, 4, false, None),
    (0x4de0, 16, false, Some("TR-TT: address translation")),
    (0x4df0, 4, false, Some("TR-TT: address translation")),
    (0x4df4, 4, false, Some("TR-TT: address translation")),
    (0xb004, 4, false, None),
    (0x7304, 4, false, None),
    (0x5588, 4, false, None),
    (0xe4cc, 4, false, None),
];

/// The reference decision for a write: in GVT-g's list (ring registers of the
/// engine's own ring only) and not excluded.
fn reference(engine: EngineId, off: u32) -> bool {
    in_gvt_list(engine, off, false)
}

/// The reference decision for a read: in GVT-g's list (ring registers of the
/// engine's own ring only), excluded or not. The exclusions are about what a
/// write would do to the host; a read reaches only the vGPU's register model
/// (a gen9 GPU lets a batch read `RING_MODE`, and so must rgvt).
fn reference_read(engine: EngineId, off: u32) -> bool {
    in_gvt_list(engine, off, true)
}

fn in_gvt_list(engine: EngineId, off: u32, with_excluded: bool) -> bool {
    off % 4 == 0
        && GVT_CMD_ACCESS.iter().any(|&(start, len, ring, why)| {
            let start = if ring {
                engine.mmio_base() + start
            } else {
                start
            };
            (with_excluded || why.is_none()) && off >= start && off < start + len
        })
}

/// Registers that reach host state: never allowed, on any engine.
const HOST_STATE: &[u32] = &[
    0x2080, 0x22080, 0x12080, 0x1a080, // RING_HWS_PGA
    0x2230, 0x22230, 0x12230, 0x1a230, // ELSP
    0x2030, 0x2034, 0x2038, 0x203c, // ring tail, head, start, ctl
    0x2270, 0x2274, 0x2288, 0x228c, 0x22270, 0x1228c, // PDPs
    0x229c, 0x2229c, 0x1229c, 0x1a29c, // RING_MODE
    0x2228, 0x22228, // PP_DIR_BASE
    0x24d0, 0x224d0, // FORCE_TO_NONPRIV
    0x941c,  // GDRST
    0x44200, 0x44300, 0x44304, 0x44308, 0x4430c, 0x44310, 0x44314, // GT interrupts
    0xa188, 0xa18c, 0x130044, // forcewake
    0xa090, 0xa094, 0xa0b0, // RC6 / power
    0x138124, 0x138128, // PCODE mailbox
    0x70180, 0x70184, 0x68000, 0x60000, 0xc4000, // display, south display
    0x100000, 0x100004, 0x100080, // fences
    0x800000, 0x800004, 0xfffffc, // GGTT entries
    0x120000, 0x120008, 0x9430, 0x940c, 0x4df4, 0x4de0,
];

/// Registers that are host state even to read (not in GVT-g's list): never
/// readable, on any engine.
const NEVER_READ: &[u32] = &[
    0x2080, 0x22080, 0x12080, 0x1a080, // RING_HWS_PGA
    0x2230, 0x22230, 0x12230, 0x1a230, // ELSP
    0x2234, 0x2238, 0x2370, 0x23a0, // execlist status, CSB, CSB pointer
    0x2030, 0x2034, 0x2038, 0x203c, 0x12034, // ring tail, head, start, ctl
    0x2228, 0x22228, // PP_DIR_BASE
    0x941c,  // GDRST
    0x44200, 0x44300, 0x44304, 0x44308, 0x4430c, 0x44310, 0x44314, // GT interrupts
    0xa188, 0xa18c, 0x130044, // forcewake
    0xa090, 0xa094, 0xa0b0, // RC6 / power
    0x138124, 0x138128, // PCODE mailbox
    0x70180, 0x70184, 0x68000, 0x60000, 0xc4000, // display, south display
    0x100000, 0x100004, 0x100080, // fences
    0x800000, 0x800004, 0xfffffc, // GGTT entries
];

#[test]
fn reads_take_the_whole_gvt_list_of_the_engines_own_ring() {
    for e in EngineId::ALL {
        let base = e.mmio_base();
        // RING_MODE, the PDPs and FORCE_TO_NONPRIV of its own ring: read, not written.
        for rel in [0x29c, 0x270, 0x274, 0x28c, 0x4d0, 0x4fc] {
            assert!(audit::readable(e, base + rel), "{e:?} {rel:#x}");
            assert!(!audit::allowed(e, base + rel), "{e:?} {rel:#x}");
        }
        // Not another engine's.
        for o in EngineId::ALL.iter().filter(|&&o| o != e) {
            assert!(!audit::readable(e, o.mmio_base() + 0x29c), "{e:?} {o:?}");
            assert!(!audit::readable(e, o.mmio_base() + 0x9c), "{e:?} {o:?}");
        }
        for &r in NEVER_READ {
            assert!(!audit::readable(e, r), "{e:?} {r:#x}");
            assert!(!reference_read(e, r), "{e:?} {r:#x}");
        }
    }
    // Through a scan: SRM of RING_MODE and LRR from it pass, a write of it
    // (LRI, LRM, LRR destination) does not, and the SRM stores the value.
    let mut m = Mem::default();
    m.map(G, 0x40000, 4096);
    let mut r = Regs::default();
    r.r.insert(0x229c, 0x8000 | 0x200);
    let ring = cat(&[
        srm(0x229c, G, 0x40020),
        lrr(0x229c, 0x7300),
        srm(0x7300, G, 0x40024),
        vec![NOOP],
    ]);
    let (step, _) = run(EngineId::Rcs, &mut m, &mut r, &ring);
    assert!(matches!(step, Step::Done { .. }));
    assert_eq!(m.get(G, 0x40020), 0x8200);
    assert_eq!(m.get(G, 0x40024), 0x8200);
    assert_eq!(r.log, [(0x7300, 0x8200)]);
    for cmd in [
        lri(&[(0x229c, 0)]),
        lrm(0x229c, G, 0x40010),
        lrr(0x7300, 0x229c),
        lrr(0x2234, 0x7300),
        srm(0x2230, G, 0x40020),
        // Another engine's RING_MODE.
        srm(0x2229c, G, 0x40020),
    ] {
        let mut c = cmd;
        if c.len() % 2 == 1 {
            c.push(NOOP);
        }
        assert!(
            matches!(refused(EngineId::Rcs, &mut m, &c), Reason::Register(_)),
            "{c:x?}"
        );
    }
}

#[test]
fn the_audit_allows_what_i915_emits_and_refuses_host_state() {
    for r in SKL_CTX_WA {
        assert!(audit::allowed(EngineId::Rcs, r), "{r:#x}");
    }
    // GEN8_L3SQCREG4 (coherent L3 w/a), the MOCS tables of every engine, L3CC.
    assert!(audit::allowed(EngineId::Rcs, 0xb118));
    for base in [0xc800, 0xc900, 0xca00, 0xcb00, 0xcc00] {
        for i in 0..62 {
            assert!(audit::allowed(EngineId::Rcs, base + 4 * i));
        }
    }
    for i in 0..32 {
        assert!(audit::allowed(EngineId::Rcs, 0xb020 + 4 * i));
    }
    for e in EngineId::ALL {
        assert!(audit::allowed(e, e.mmio_base() + 0x9c), "{e:?} MI_MODE");
        for &r in HOST_STATE {
            assert!(!audit::allowed(e, r), "{e:?} {r:#x}");
            assert!(!reference(e, r), "{e:?} {r:#x}");
        }
        // Not another engine's ring registers.
        for o in EngineId::ALL.iter().filter(|&&o| o != e) {
            assert!(!audit::allowed(e, o.mmio_base() + 0x9c));
        }
    }
}

#[test]
fn the_audit_matches_the_reference_table() {
    let mut rng = Rng(0x7267_7674_c0de);
    let mut tried = 0;
    for e in EngineId::ALL {
        // Every listed register and its neighbours.
        for &(start, len, ring, _) in GVT_CMD_ACCESS {
            let start = if ring { e.mmio_base() + start } else { start };
            for off in start.saturating_sub(16)..start + len + 16 {
                assert_eq!(audit::allowed(e, off), reference(e, off), "{e:?} {off:#x}");
                assert_eq!(
                    audit::readable(e, off),
                    reference_read(e, off),
                    "{e:?} {off:#x}"
                );
                tried += 1;
            }
        }
        // And random offsets, in the register range and anywhere.
        for _ in 0..20_000 {
            let off = match rng.next() % 3 {
                0 => (rng.next() as u32) & 0x3_fffc,
                1 => (rng.next() as u32) & 0x7f_fffc,
                _ => rng.next() as u32,
            };
            assert_eq!(audit::allowed(e, off), reference(e, off), "{e:?} {off:#x}");
            assert_eq!(
                audit::readable(e, off),
                reference_read(e, off),
                "{e:?} {off:#x}"
            );
            // And through a whole scan: LRI to it is refused exactly when the
            // reference says so, and SRM of it when the read reference does.
            if rng.next() % 16 == 0 {
                let mut m = Mem::default();
                let mut c = lri(&[(off, 1)]);
                c.push(NOOP);
                let w = workload(e, &mut m, &c);
                let ok = scan_std(&w, &mut m).is_ok();
                assert_eq!(
                    ok,
                    reference(e, off) && off & !0x7f_fffc == 0,
                    "{e:?} {off:#x}"
                );
                let c = srm(off, G, 0x40000);
                let w = workload(e, &mut m, &c);
                let ok = scan_std(&w, &mut m).is_ok();
                assert_eq!(
                    ok,
                    reference_read(e, off) && off & !0x7f_fffc == 0,
                    "{e:?} {off:#x}"
                );
            }
            tried += 1;
        }
    }
    assert!(tried > 80_000);
}

// ---------------------------------------------------------------- random programs

use crate::decoders::Rng;

/// A random address space for a program's stores.
fn space(rng: &mut Rng) -> Space {
    if rng.next() & 1 == 0 {
        G
    } else {
        P
    }
}

/// Where random programs store: a GGTT and a PPGTT data region.
const GDATA: u64 = 0x40000;
const PDATA: u64 = 0x2_0000_0000;
const DATA_LEN: u64 = 0x8000;
/// Blit source and destination regions (disjoint).
const BSRC: u64 = 0x3_0000_0000;
const BDST: u64 = 0x3_0010_0000;
const BLEN: u64 = 0x10000;

/// One operation of a random program, as the reference interpreter sees it.
#[derive(Clone, Copy, Debug)]
enum Op {
    Sdi(Space, u64, u32),
    Sdi64(Space, u64, u64),
    Sdx(u32, u32),
    Flush(Space, u64, u32),
    Pc(Space, u64, u64),
    Copy(Space, u64, Space, u64),
    Blit(Rect),
    LriSrm(u32, u32, Space, u64),
    /// LRM a register from the first address, SRM it to the second.
    LrmSrm(u32, Space, u64, Space, u64),
    /// LRI the first register, LRR it into the second, SRM that.
    LrrSrm(u32, u32, u32, Space, u64),
    Irq,
    Noop,
}

fn data(rng: &mut Rng, align: u64) -> (Space, u64) {
    let s = space(rng);
    let base = if s == G { GDATA } else { PDATA };
    (s, base + rng.below(DATA_LEN / align) * align)
}

fn random_op(rng: &mut Rng) -> Op {
    match rng.below(12) {
        0 => {
            let (s, a) = data(rng, 4);
            Op::Sdi(s, a, rng.next() as u32)
        }
        1 => {
            let (s, a) = data(rng, 8);
            Op::Sdi64(s, a, rng.next())
        }
        2 => Op::Sdx(rng.below(1024) as u32 * 4, rng.next() as u32),
        3 => {
            let (s, a) = data(rng, 8);
            Op::Flush(s, a, rng.next() as u32)
        }
        4 => {
            let (s, a) = data(rng, 8);
            Op::Pc(s, a, rng.next())
        }
        5 => {
            let (d, da) = data(rng, 4);
            let (s, sa) = data(rng, 4);
            Op::Copy(d, da, s, sa)
        }
        6 => {
            let fast = rng.next() & 1 == 0;
            let cpps: &[u64] = if fast { &[1, 2, 4, 8, 16] } else { &[1, 2, 4] };
            Op::Blit(Rect {
                fast,
                cpp: cpps[rng.below(cpps.len() as u64) as usize],
                w: rng.below(17) as u32,
                h: rng.below(9) as u32,
                src: BSRC + rng.below(16) * 64,
                spitch: 64 + 4 * rng.below(49) as u32,
                sx: rng.below(16) as u32,
                sy: rng.below(8) as u32,
                dst: BDST + rng.below(16) * 64,
                dpitch: 64 + 4 * rng.below(49) as u32,
                dx: rng.below(16) as u32,
                dy: rng.below(8) as u32,
            })
        }
        7 => {
            let (s, a) = data(rng, 4);
            Op::LriSrm(REGS[rng.below(5) as usize], rng.next() as u32, s, a)
        }
        8 => Op::Irq,
        9 => {
            let (s, a) = data(rng, 4);
            let (d, da) = data(rng, 4);
            Op::LrmSrm(REGS[rng.below(5) as usize], s, a, d, da)
        }
        10 => {
            let (d, da) = data(rng, 4);
            let (r1, r2) = (REGS[rng.below(5) as usize], REGS[rng.below(5) as usize]);
            Op::LrrSrm(r1, rng.next() as u32, r2, d, da)
        }
        _ => Op::Noop,
    }
}

/// Registers random programs load and store (whitelisted on every engine).
const REGS: [u32; 5] = [0x7014, 0xb118, 0x2350, 0xc800, 0xe194];

fn encode(op: &Op) -> Vec<u32> {
    match *op {
        Op::Sdi(s, a, v) => sdi(s, a, v),
        Op::Sdi64(s, a, v) => sdi64(s, a, v),
        Op::Sdx(o, v) => sdx(o, v),
        Op::Flush(s, a, v) => flush_dw(s, a, v),
        Op::Pc(s, a, v) => pipe_control(s, a, v),
        Op::Copy(d, da, s, sa) => copy_mem(d, da, s, sa),
        Op::Blit(r) => blit(&r),
        Op::LriSrm(r, v, s, a) => cat(&[lri(&[(r, v)]), srm(r, s, a)]),
        Op::LrmSrm(r, s, a, d, da) => cat(&[lrm(r, s, a), srm(r, d, da)]),
        Op::LrrSrm(r1, v, r2, d, da) => cat(&[lri(&[(r1, v)]), lrr(r1, r2), srm(r2, d, da)]),
        Op::Irq => vec![USER_INTERRUPT],
        Op::Noop => vec![NOOP],
    }
}

/// Which engine can run `op`.
fn engine_for(ops: &[Op]) -> EngineId {
    if ops.iter().any(|o| matches!(o, Op::Blit(_))) {
        EngineId::Bcs
    } else if ops.iter().any(|o| matches!(o, Op::Pc(..))) {
        EngineId::Rcs
    } else {
        EngineId::Vcs
    }
}

/// A rectangle copy as the PRM describes it, byte by byte (source and
/// destination never overlap in these tests).
fn reference_blit(mem: &mut Mem, r: &Rect) {
    for y in 0..r.h as u64 {
        for x in 0..(r.w as u64 * r.cpp) {
            let s = r.src + (r.sy as u64 + y) * r.spitch as u64 + r.sx as u64 * r.cpp + x;
            let d = r.dst + (r.dy as u64 + y) * r.dpitch as u64 + r.dx as u64 * r.cpp + x;
            let mut b = [0u8];
            mem.read(P, s, &mut b).unwrap();
            mem.write(P, d, &b).unwrap();
        }
    }
}

/// The reference interpreter: each operation applied directly to the memory.
fn interpret(mem: &mut Mem, ops: &[Op]) -> (u64, u64) {
    let (mut irqs, mut copied) = (0, 0);
    for op in ops {
        match *op {
            Op::Sdi(s, a, v) | Op::Flush(s, a, v) => mem.write(s, a, &v.to_le_bytes()).unwrap(),
            Op::Sdi64(s, a, v) | Op::Pc(s, a, v) => mem.write(s, a, &v.to_le_bytes()).unwrap(),
            Op::Sdx(o, v) => mem.write(G, HWSP + o as u64, &v.to_le_bytes()).unwrap(),
            Op::Copy(d, da, s, sa) => {
                let v = mem.get(s, sa);
                mem.write(d, da, &v.to_le_bytes()).unwrap();
                copied += 4;
            }
            Op::Blit(r) => {
                reference_blit(mem, &r);
                copied += r.w as u64 * r.h as u64 * r.cpp;
            }
            Op::LriSrm(_, v, s, a) | Op::LrrSrm(_, v, _, s, a) => {
                mem.write(s, a, &v.to_le_bytes()).unwrap()
            }
            Op::LrmSrm(_, s, a, d, da) => {
                let v = mem.get(s, a);
                mem.write(d, da, &v.to_le_bytes()).unwrap();
            }
            Op::Irq => irqs += 1,
            Op::Noop => {}
        }
    }
    (irqs, copied)
}

/// Lays `ops` out as a ring calling a first-level batch, which calls a
/// second-level batch that chains once, so that execution order is `ops` order.
fn layout(rng: &mut Rng, mem: &mut Mem, ops: &[Op]) -> Workload {
    let n = ops.len();
    let mut cuts = [0; 5].map(|_| rng.below(n as u64 + 1) as usize);
    cuts[..4].sort_unstable();
    // Keep the ring small: at most 24 operations in it.
    let [a, b, m, c, _] = cuts;
    let (a, d) = (a.min(12), (c + 12).min(n).max(c));
    let enc = |r: std::ops::Range<usize>| -> Vec<u32> { ops[r].iter().flat_map(encode).collect() };
    let (s1, s2) = (space(rng), space(rng));
    let l1 = if s1 == G { BATCH } else { PBATCH };
    let l2 = if s2 == G {
        BATCH + 0x8000
    } else {
        PBATCH + 0x8000
    };
    let l2b = l2 + 0x4000;
    mem.put(
        s1,
        l1,
        &cat(&[enc(a..b), bb_start(s2, l2, true), enc(c..d), vec![BB_END]]),
    );
    mem.put(s2, l2, &cat(&[enc(b..m), bb_start(s2, l2b, false)]));
    mem.put(s2, l2b, &cat(&[enc(m..c), vec![BB_END]]));
    let mut ring = cat(&[enc(0..a), bb_start(s1, l1, false), enc(d..n)]);
    if ring.len() % 2 == 1 {
        ring.push(NOOP);
    }
    workload(engine_for(ops), mem, &ring)
}

fn base_mem(rng: &mut Rng) -> Mem {
    let mut m = Mem::default();
    m.map(G, GDATA, DATA_LEN);
    m.map(P, PDATA, DATA_LEN);
    m.map(G, HWSP, 4096);
    let src: Vec<u32> = (0..BLEN / 4).map(|_| rng.next() as u32).collect();
    m.put(P, BSRC, &src);
    m.map(P, BDST, BLEN);
    m
}

fn cases() -> u64 {
    std::env::var("RGVT_CMD_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

#[test]
fn random_programs_match_the_reference_interpreter() {
    let mut rng = Rng(0x7267_7674_0010_cafe);
    for case in 0..cases() {
        let n = 1 + rng.below(40) as usize;
        let mut ops: Vec<Op> = (0..n).map(|_| random_op(&mut rng)).collect();
        // A program runs on one engine: blits and PIPE_CONTROL never together.
        if ops.iter().any(|o| matches!(o, Op::Blit(_))) {
            ops.retain(|o| !matches!(o, Op::Pc(..)));
        }
        let mut mem = base_mem(&mut rng);
        let w = layout(&mut rng, &mut mem, &ops);
        let mut want = mem.clone();
        let (irqs, copied) = interpret(&mut want, &ops);
        let s = scan_std(&w, &mut mem).unwrap_or_else(|e| panic!("case {case}: {e:?} {ops:?}"));
        let mut e = s.exec();
        let mut regs = Regs::default();
        let mut steps = 0;
        let step = loop {
            steps += 1;
            match e.run(&mut mem, &mut regs, 1 + rng.below(8) as usize) {
                Step::Yield => continue,
                other => break other,
            }
        };
        assert!(matches!(step, Step::Done { .. }), "case {case}: {step:?}");
        assert!(mem == want, "case {case}: memory differs {ops:?}");
        let st = e.stats();
        assert_eq!(
            (st.user_interrupts, st.bytes_copied),
            (irqs, copied),
            "case {case}"
        );
        assert!(steps >= 1);
    }
}

#[test]
fn random_programs_rewritten_after_the_scan_run_as_scanned() {
    let mut rng = Rng(0x7267_7674_0010_70c7);
    for case in 0..cases() {
        let n = 1 + rng.below(30) as usize;
        let ops: Vec<Op> = (0..n)
            .map(|_| random_op(&mut rng))
            .filter(|o| !matches!(o, Op::Blit(_)))
            .collect();
        let mut mem = base_mem(&mut rng);
        let w = layout(&mut rng, &mut mem, &ops);
        let mut want = mem.clone();
        interpret(&mut want, &ops);
        let s = scan_std(&w, &mut mem).unwrap();
        // The guest scribbles over its ring and every batch page.
        for (space, base, len) in [(G, RING, 0x1000), (G, BATCH, 0x10000), (P, PBATCH, 0x10000)] {
            for (_, page) in mem.pages[si(space)].range_mut(base..base + len) {
                page.iter_mut().for_each(|b| *b = rng.next() as u8);
            }
        }
        let mut e = s.exec();
        assert!(matches!(
            e.run(&mut mem, &mut Regs::default(), 0),
            Step::Done { .. }
        ));
        for (space, base) in [(G, GDATA), (P, PDATA), (G, HWSP)] {
            for a in (base..base + 4096).step_by(4) {
                assert_eq!(mem.get(space, a), want.get(space, a), "case {case} {a:#x}");
            }
        }
    }
}

/// A random command of `engine`: mostly a real opcode with a payload as long as
/// its header says (addresses often in the mapped data regions, registers often
/// whitelisted), sometimes a junk dword.
fn random_cmd(rng: &mut Rng, engine: EngineId, clean: bool) -> Vec<u32> {
    if !clean && rng.below(16) == 0 {
        return vec![rng.next() as u32];
    }
    let cands: Vec<&table::Info> = TABLE
        .iter()
        .filter(|i| i.engines & table::engine_bit(engine) != 0)
        .filter(|i| !clean || !matches!(i.kind, Kind::Refused(_) | Kind::Lri))
        .collect();
    let i = cands[rng.below(cands.len() as u64) as usize];
    let shift = match i.op {
        op if (0x100..0x200).contains(&op) => 22,
        op if op < 0x100 => 23,
        _ => 16,
    };
    let top = (i.op as u32) << shift;
    let mut low = match rng.below(4) {
        0 => 0,
        1 => rng.below(12) as u32,
        2 => rng.next() as u32 & 0x3f_ff00,
        _ => rng.next() as u32 & 0xff,
    } & ((1 << shift) - 1);
    // Keep most payloads short.
    if let Len::Var { bits } = i.len {
        if bits > 8 && rng.below(4) != 0 {
            low &= !((1 << bits) - 1);
            low |= rng.below(16) as u32;
        }
    }
    // Mostly the length gen9 defines, so that streams go on.
    if let Len::Fixed { dwords, .. } = i.len {
        if rng.below(8) != 0 {
            low = low & !0xff | (dwords as u32 - 2);
        }
    }
    // Clean streams mostly use the lengths the audit accepts.
    let proper = match i.kind {
        Kind::StoreImm | Kind::FlushDw => Some(4 + rng.below(2) as u32),
        Kind::StoreIndex => Some(3 + rng.below(2) as u32),
        Kind::PipeControl => Some(6),
        Kind::SrcCopyBlt | Kind::FastCopyBlt => Some(10),
        _ => None,
    };
    if let (Some(n), true, Len::Var { bits }) = (proper, clean && rng.below(8) != 0, i.len) {
        low = low & !((1 << bits) - 1) | (n - 2);
    }
    // Never longer than 64 dwords.
    if let Len::Var { bits } = i.len {
        if i.len.of(top | low).0 > 64 {
            low = low & !((1 << bits) - 1) | rng.below(8) as u32;
        }
    }
    let h = top | low;
    let (len, _) = i.len.of(h);
    let regs = [0x7014, 0xb118, 0xc800, 0x2270];
    let mut c = vec![h];
    for k in 1..len {
        let is_reg = match i.kind {
            Kind::Lri => k % 2 == 1,
            Kind::Lrm | Kind::Srm => k == 1,
            Kind::Lrr => k <= 2,
            _ => false,
        };
        c.push(match rng.below(4) {
            _ if is_reg && (clean || rng.below(2) == 0) => regs[rng.below(4) as usize],
            0 => rng.next() as u32,
            1 => 0,
            _ => (GDATA + rng.below(DATA_LEN / 4) * 4) as u32,
        });
    }
    c
}

#[test]
fn random_streams_never_panic_and_lengths_tile_the_copy() {
    let mut rng = Rng(0x7267_7674_0010_5eed);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..cases() * 10 {
        let engine = EngineId::ALL[rng.below(4) as usize];
        // Half the streams hold only commands the audit may accept.
        let clean = rng.next() & 1 == 0;
        let mut mem = Mem::default();
        mem.map(G, GDATA, DATA_LEN);
        mem.map(P, PDATA, DATA_LEN);
        // Batches full of random commands, sometimes jumping into each other.
        // Clean streams jump to command boundaries and start the ring at its
        // first command; the others anywhere.
        let mut starts: Vec<(Space, u64)> = vec![(G, BATCH), (P, PBATCH)];
        let target = |rng: &mut Rng, starts: &[(Space, u64)]| -> (Space, u64) {
            if clean || rng.below(2) == 0 {
                starts[rng.below(starts.len() as u64) as usize]
            } else {
                let base = if rng.next() & 1 == 0 { BATCH } else { PBATCH };
                (if base == BATCH { G } else { P }, base + 4 * rng.below(64))
            }
        };
        for (space, base) in [(G, BATCH), (P, PBATCH)] {
            let mut b = Vec::new();
            while b.len() < 512 {
                starts.push((space, base + 4 * b.len() as u64));
                match rng.below(12) {
                    0 => {
                        let (ts, ta) = target(&mut rng, &starts);
                        b.extend(bb_start(ts, ta, rng.below(3) == 0));
                    }
                    1 => b.push(BB_END),
                    _ => b.extend(random_cmd(&mut rng, engine, clean)),
                }
            }
            mem.put(space, base, &b);
        }
        let mut ring = Vec::new();
        while ring.len() < 64 {
            if rng.below(6) == 0 {
                let (ts, ta) = target(&mut rng, &starts);
                ring.extend(bb_start(ts, ta, false));
            } else {
                ring.extend(random_cmd(&mut rng, engine, clean));
            }
        }
        if ring.len() % 2 == 1 {
            ring.push(NOOP);
        }
        if !clean {
            ring.truncate(64 + rng.below(64) as usize);
        }
        let mut w = workload(engine, &mut mem, &ring);
        if !clean {
            w.head = 4 * rng.below(8) as u32;
        }
        let lim = Limits {
            max_cmds: 1 + rng.below(400) as usize,
            max_dwords: 1 + rng.below(4000) as usize,
            max_copy_bytes: 1 << 20,
        };
        let key = match scan::<Std>(&w, &mut mem, &lim) {
            Err(AuditError {
                reason: Reason::Register(_),
                ..
            }) => "audit Register".into(),
            Err(e) => format!("audit {:?}", e.reason),
            Ok(s) => {
                // The commands tile the copy, each as long as its header says.
                let mut at = 0usize;
                for c in s.cmds.iter() {
                    assert_eq!(c.start as usize, at);
                    let h = s.dwords[at];
                    let (info, _) = table::lookup(engine, h).expect("only known commands");
                    assert_eq!(info.len.of(h), (c.len as usize, true));
                    at += c.len as usize;
                }
                assert_eq!(at, s.dwords.len());
                assert!(s.commands() <= lim.max_cmds);
                assert!(s.dwords.len() <= lim.max_dwords);
                // Without batches and bounds, the ring commands are exactly head..tail.
                if !s.cut() && s.cmds.iter().all(|c| c.at.level == 0) {
                    let ring_bytes = (w.tail + w.ring_size - w.head) % w.ring_size;
                    assert_eq!(s.bytes(), ring_bytes as usize);
                }
                let mut e = s.exec();
                let mut regs = Regs::default();
                let mut step = Step::Yield;
                for _ in 0..50 {
                    step = e.run(&mut mem, &mut regs, 1 + rng.below(64) as usize);
                    if !matches!(step, Step::Yield | Step::Waiting { .. }) {
                        break;
                    }
                }
                match step {
                    Step::Done { head } => {
                        assert_eq!(head, w.tail);
                        "done".into()
                    }
                    Step::Hung => "hung".into(),
                    Step::Fault { err, .. } => format!("fault {err:?}"),
                    Step::Waiting { .. } => "waiting".into(),
                    Step::Yield => "yield".into(),
                }
            }
        };
        *outcomes.entry(key).or_default() += 1;
    }
    std::println!("{outcomes:#?}");
    // The generator reaches the interesting outcomes.
    assert!(outcomes.keys().any(|k| k == "done"));
    for k in [
        "done",
        "hung",
        "audit UnknownOpcode",
        "audit Register",
        "audit BadLength",
    ] {
        assert!(outcomes.contains_key(k), "{k} never happened");
    }
}

/// Scan and execution rates over the model memory (report, do not assert):
///
/// ```text
/// cargo test -p rgvt-core --release --lib cmd::tests::throughput -- --ignored --nocapture
/// ```
#[test]
#[ignore]
fn throughput() {
    use std::time::Instant;
    // A batch of 4096 store-dwords, run 200 times.
    let mut m = Mem::default();
    m.map(P, PDATA, DATA_LEN);
    let stores: Vec<u32> = (0..4096u64)
        .flat_map(|i| sdi(P, PDATA + 4 * (i % 2048), i as u32))
        .chain([BB_END])
        .collect();
    m.put(P, PBATCH, &stores);
    let mut ring = bb_start(P, PBATCH, false);
    ring.push(NOOP);
    let w = workload(EngineId::Rcs, &mut m, &ring);
    let (mut scan_t, mut run_t) = (0f64, 0f64);
    for _ in 0..200 {
        let t = Instant::now();
        let mut e = scan_std(&w, &mut m).unwrap().exec();
        scan_t += t.elapsed().as_secs_f64();
        let t = Instant::now();
        assert!(matches!(
            e.run(&mut m, &mut Regs::default(), 0),
            Step::Done { .. }
        ));
        run_t += t.elapsed().as_secs_f64();
    }
    let n = 200.0 * 4096.0;
    std::println!(
        "store-dword: scan {:.1} M cmds/s, execute {:.1} M stores/s, {:.0} workloads/s",
        n / scan_t / 1e6,
        n / run_t / 1e6,
        200.0 / (scan_t + run_t)
    );
    // A 4 MiB blit (1024 rows of 4 KiB), 20 times.
    let mut m = Mem::default();
    m.map(P, BSRC, 4 << 20);
    m.map(P, BDST + (64 << 20), 4 << 20);
    let r = Rect {
        fast: true,
        cpp: 4,
        w: 1024,
        h: 1024,
        src: BSRC,
        spitch: 4096,
        sx: 0,
        sy: 0,
        dst: BDST + (64 << 20),
        dpitch: 4096,
        dx: 0,
        dy: 0,
    };
    let w = workload(EngineId::Bcs, &mut m, &blit(&r));
    let t = Instant::now();
    for _ in 0..20 {
        let mut e = scan_std(&w, &mut m).unwrap().exec();
        assert!(matches!(
            e.run(&mut m, &mut Regs::default(), 0),
            Step::Done { .. }
        ));
    }
    std::println!(
        "blit: {:.0} MB/s",
        20.0 * 4.0 / t.elapsed().as_secs_f64() * 1.048_576
    );
}
