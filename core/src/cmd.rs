//! The auditing command parser: a workload is scanned, copied and audited
//! whole before any of it runs, then executed from the copy.
//!
//! # Use
//!
//! ```text
//! let w = cmd::Workload { engine, ring_start, head, tail, ring_size, hwsp, ppgtt: true };
//! let scanned = cmd::scan::<A>(&w, &mut mem, &cmd::Limits::default())?; // AuditError: fail the context
//! let mut exec = scanned.exec();
//! loop {
//!     match exec.run(&mut mem, &mut regs, budget) {
//!         Step::Done { head } => { /* context complete, ring head = head */ }
//!         Step::Waiting { .. } => { /* semaphore: retry later; give up after N tries = hang */ }
//!         Step::Yield => { /* budget used up: call run again */ }
//!         Step::Fault { .. } | Step::Hung => { /* failed context / hang */ }
//!     }
//!     // exec.stats().user_interrupts grew: raise GT_RENDER_USER_INTERRUPT.
//! }
//! ```
//!
//! # Scan (audit before effect)
//!
//! [`scan`] walks the ring (in the GGTT, from `head` to `tail`, wrapping at
//! `ring_size`) and follows `MI_BATCH_BUFFER_START`: from the ring to a first-level
//! batch, from a first-level batch to a second-level one (header bit 22) and back
//! on its `MI_BATCH_BUFFER_END`, and chains (a start without bit 22 jumps, at the
//! same level, with no return). Bit 8 selects the PPGTT, else the GGTT. Every command
//! is looked up in the gen9 table ([`table`]), its length checked, its operands
//! audited ([`audit`] for registers) and its dwords copied into a host-side
//! buffer in execution order: the scan unrolls the control flow, so the copy is
//! a straight-line program. Nothing is executed during the scan and execution reads
//! only the copy, so a guest that rewrites its ring or batch after the scan changes
//! nothing (no TOCTOU).
//!
//! A malformed, unknown, forbidden or unreadable command is an [`AuditError`]: the
//! workload has no effect at all, and the caller fails the context as GVT-g does.
//!
//! # Bounds
//!
//! [`Limits`] bounds the commands and dwords of one workload and the bytes its
//! copies may move. A workload that reaches the command or dword bound (an endless
//! chain, a batch that jumps to itself) is **not** an audit failure: the scan
//! stops at the bound with everything before it audited, execution runs that
//! prefix and then reports [`Step::Hung`], as a real engine would run until the
//! hang check fires. Batch nesting is bounded by the hardware's two levels (a
//! third is an audit failure). Copies over the byte bound are audit failures
//! (their size is known at scan time). Semaphore polls are bounded by the caller:
//! each [`Exec::run`] that finds the semaphore unsatisfied returns
//! [`Step::Waiting`] without moving.
//!
//! # Execution model (what the sim does)
//!
//! Executed: `MI_NOOP`, `MI_ARB_CHECK`, `MI_ARB_ON_OFF`, batch start/end (already
//! resolved by the scan), `MI_STORE_DATA_IMM` (dword/qword, bit 22 = GGTT),
//! `MI_STORE_DATA_INDEX` (relative to [`Workload::hwsp`]), `MI_LOAD_REGISTER_IMM`,
//! `MI_LOAD_REGISTER_MEM`, `MI_LOAD_REGISTER_REG`, `MI_STORE_REGISTER_MEM`,
//! `MI_FLUSH_DW` and `PIPE_CONTROL` post-sync writes (immediate, timestamp, depth
//! count; address-space bit; store-index form), `MI_USER_INTERRUPT` (counted in
//! [`Stats::user_interrupts`]; the caller raises the interrupt),
//! `MI_SEMAPHORE_WAIT` (poll and signal mode both polled: the sim has no
//! signals), `MI_COPY_MEM_MEM`, and linear `XY_SRC_COPY_BLT`/`XY_FAST_COPY_BLT`
//! (pitch × height rectangles). All other known 2D, 3D and media commands are
//! skipped by their length. Refused: see [`table::Refusal`].
//!
//! An access that faults stops the workload with [`Step::Fault`]; the commands
//! before it have taken effect (a copy may be partly done), as on hardware.
//!
//! # Limits of the model
//!
//! - The address operands of skipped commands (3D state base addresses, media
//!   surfaces, `XY_COLOR_BLT`...) are not audited: in the sim they have no
//!   effect. A backend that hands the copy to real hardware (the `i915` one)
//!   relies on the shadow PPGTT and the vGPU's GGTT view for isolation, and would
//!   add GVT-g's `ADDR_FIX` range checks for GGTT operands.
//! - Privilege is not modelled: the GGTT bit of a store and a whitelisted LRI are
//!   honoured in a PPGTT (non-privileged) batch too. Both stay inside the
//!   vGPU's own memory and audited registers.
//! - A register a command only reads (`MI_STORE_REGISTER_MEM`, the source of
//!   `MI_LOAD_REGISTER_REG`) may be one the audit refuses to write, such as
//!   `RING_MODE` or the PDPs ([`audit::readable`]): a read reaches only the
//!   vGPU's register model.

pub mod audit;
mod exec;
pub mod table;
#[cfg(test)]
mod tests;

use crate::engine::{EngineId, GpuMemory, MemError, Space};
use crate::storage::{Alloc, Vector};
pub use exec::{Exec, Stats, Step};
use table::{Class, Kind, Refusal};

/// One workload: the part of a context's ring the engine is asked to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// The engine it runs on (selects opcodes and the register whitelist).
    pub engine: EngineId,
    /// GGTT address of the ring buffer (page aligned).
    pub ring_start: u64,
    /// Byte offset of the first command in the ring (the caller strips the wrap
    /// count `RING_HEAD` keeps in bits 31:21).
    pub head: u32,
    /// Byte offset one past the last command; `head == tail` is an empty ring.
    pub tail: u32,
    /// Ring size in bytes (a multiple of 4 KiB, at most 2 MiB as `RING_CTL` allows).
    pub ring_size: u32,
    /// GGTT address the store-index forms (`MI_STORE_DATA_INDEX`, `MI_FLUSH_DW`
    /// and `PIPE_CONTROL` with "store data index") are relative to: in execlists
    /// mode the context's per-process status page, i.e. the LRCA.
    pub hwsp: u64,
    /// Whether the context has a PPGTT; without one, PPGTT addresses go to the GGTT.
    pub ppgtt: bool,
}

/// Bounds of one workload's scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Commands copied, over all levels (past it: [`Step::Hung`]).
    pub max_cmds: usize,
    /// Dwords of the shadow copy (past it: [`Step::Hung`]).
    pub max_dwords: usize,
    /// Bytes all copy commands together may move (past it: an audit failure).
    pub max_copy_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_cmds: 1 << 16,
            max_dwords: 1 << 20,
            max_copy_bytes: 64 << 20,
        }
    }
}

/// Where a command was read: ring (level 0) or batch level 1 or 2, and its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Where {
    /// 0 for the ring, 1 or 2 for a batch buffer.
    pub level: u8,
    /// The address space it was read from.
    pub space: Space,
    /// Its GPU address.
    pub addr: u64,
}

/// Why the audit refused a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The ring description is inconsistent (size, alignment, head or tail).
    BadRing,
    /// No command with this opcode exists on this engine.
    UnknownOpcode,
    /// The length field is not one gen9 defines for the command.
    BadLength,
    /// A command in the ring runs past the tail.
    CrossesTail,
    /// A known command the audit refuses.
    Refused(Refusal),
    /// A register outside the engine's whitelist.
    Register(u32),
    /// `MI_LOAD_REGISTER_IMM` header flags gen9 does not have or the sim refuses
    /// (CS-relative MMIO, remap, byte-write disables).
    LriFlags,
    /// A second-level batch started from the ring.
    SecondLevelFromRing,
    /// A second-level batch started from a second-level batch.
    NestingTooDeep,
    /// `MI_BATCH_BUFFER_END` in the ring.
    BatchEndInRing,
    /// A post-sync operation or compare mode the hardware reserves.
    BadOperation,
    /// A blit the sim does not model (tiled, raster operation other than copy,
    /// partial write mask, unknown depth, negative pitch).
    UnsupportedBlit,
    /// The copies exceed [`Limits::max_copy_bytes`].
    CopyTooLarge,
    /// A batch or ring address that overflows.
    BadAddress,
    /// Reading the command failed.
    Memory(MemError),
    /// The host could not allocate the shadow copy.
    NoMemory,
}

/// A refused workload: where, which command, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditError {
    /// Where the offending command was read.
    pub at: Where,
    /// Its header dword (0 if it could not be read).
    pub header: u32,
    /// Why it was refused.
    pub reason: Reason,
}

impl AuditError {
    /// The refused command's name on `engine` (for logs and debugfs), or
    /// `"unknown"`.
    pub fn command(&self, engine: EngineId) -> &'static str {
        table::lookup(engine, self.header).map_or("unknown", |(i, _)| i.name)
    }
}

/// One command of the shadow copy.
#[derive(Debug, Clone, Copy)]
struct Cmd {
    at: Where,
    /// Index of its header in [`Scanned::dwords`].
    start: u32,
    /// Length in dwords.
    len: u32,
    kind: Kind,
    class: Class,
}

/// An audited workload: the straight-line copy of every command it runs.
///
/// # Invariants
///
/// Every command in `cmds` passed the audit; the commands tile `dwords` in order
/// (each starts where the previous ended, the last ends at `dwords.len()`).
pub struct Scanned<A: Alloc> {
    w: Workload,
    cmds: A::Vec<Cmd>,
    dwords: A::Vec<u32>,
    /// The scan stopped at a bound: execution ends in [`Step::Hung`].
    cut: bool,
    copy_bytes: u64,
}

impl<A: Alloc> Scanned<A> {
    /// Commands in the copy.
    pub fn commands(&self) -> usize {
        self.cmds.len()
    }

    /// Bytes of the copy.
    pub fn bytes(&self) -> usize {
        self.dwords.len() * 4
    }

    /// The audited copy, in execution order: what a backend that hands the
    /// workload to real hardware submits (never the guest's ring again,
    /// which the guest may have rewritten since the scan).
    pub fn dwords(&self) -> &[u32] {
        &self.dwords
    }

    /// Whether the scan stopped at a bound (the workload will end hung).
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// Bytes the copy commands will move.
    pub fn copy_bytes(&self) -> u64 {
        self.copy_bytes
    }

    /// The workload it was scanned from.
    pub fn workload(&self) -> &Workload {
        &self.w
    }

    /// Starts executing the copy.
    pub fn exec(self) -> Exec<A> {
        Exec::new(self)
    }
}

/// Reads guest dwords through a small window, so that a command costs one
/// memory access per 256 bytes rather than one per dword.
///
/// A window never crosses a 4 KiB page, so it only reads pages the command
/// itself is on.
struct Reader {
    space: Space,
    base: u64,
    valid: bool,
    buf: [u8; WINDOW],
}

const WINDOW: usize = 256;

impl Reader {
    fn new() -> Self {
        Self {
            space: Space::Ggtt,
            base: 0,
            valid: false,
            buf: [0; WINDOW],
        }
    }

    fn dword(
        &mut self,
        mem: &mut impl GpuMemory,
        space: Space,
        addr: u64,
    ) -> Result<u32, MemError> {
        // Every caller passes a dword-aligned address; masking keeps the index
        // below inside the window even if one did not.
        let addr = addr & !3;
        let base = addr & !(WINDOW as u64 - 1);
        if !self.valid || self.space != space || self.base != base {
            self.valid = false;
            mem.read(space, base, &mut self.buf)?;
            self.valid = true;
            self.space = space;
            self.base = base;
        }
        let off = (addr - base) as usize;
        Ok(u32::from_le_bytes([
            self.buf[off],
            self.buf[off + 1],
            self.buf[off + 2],
            self.buf[off + 3],
        ]))
    }
}

/// How a batch walk ended.
enum Flow {
    /// Its first-level `MI_BATCH_BUFFER_END`: continue in the ring.
    Return,
    /// A bound was reached: stop scanning.
    Cut,
}

/// Where the next command of a batch is.
#[derive(Clone, Copy)]
struct Pos {
    space: Space,
    addr: u64,
}

struct Scanner<'a, A: Alloc, M: GpuMemory> {
    w: &'a Workload,
    lim: &'a Limits,
    mem: &'a mut M,
    rd: Reader,
    out: Scanned<A>,
}

/// Scans, copies and audits a workload (see the module documentation).
pub fn scan<A: Alloc>(
    w: &Workload,
    mem: &mut impl GpuMemory,
    lim: &Limits,
) -> Result<Scanned<A>, AuditError> {
    let mut s = Scanner {
        w,
        lim,
        mem,
        rd: Reader::new(),
        out: Scanned {
            w: *w,
            cmds: A::Vec::new(),
            dwords: A::Vec::new(),
            cut: false,
            copy_bytes: 0,
        },
    };
    s.ring()?;
    Ok(s.out)
}

impl<A: Alloc, M: GpuMemory> Scanner<'_, A, M> {
    fn space(&self, ggtt: bool) -> Space {
        if ggtt || !self.w.ppgtt {
            Space::Ggtt
        } else {
            Space::Ppgtt
        }
    }

    /// No further command fits (checked before reading one).
    fn full(&self) -> bool {
        self.out.cmds.len() >= self.lim.max_cmds || self.out.dwords.len() >= self.lim.max_dwords
    }

    /// A command of `len` dwords would not fit in the copy.
    fn too_long(&self, len: usize) -> bool {
        len > self.lim.max_dwords - self.out.dwords.len()
    }

    fn ring(&mut self) -> Result<(), AuditError> {
        let w = *self.w;
        let ring_at = |pos: u32| Where {
            level: 0,
            space: Space::Ggtt,
            addr: w.ring_start.wrapping_add(pos as u64),
        };
        let bad = |reason| AuditError {
            at: ring_at(w.head),
            header: 0,
            reason,
        };
        // RING_CTL's buffer length: 1 to 512 pages.
        if w.ring_size == 0
            || w.ring_size > 512 * 4096
            || w.ring_size % 4096 != 0
            || w.ring_start % 4096 != 0
            || w.head % 4 != 0
            || w.tail % 4 != 0
            || w.head >= w.ring_size
            || w.tail >= w.ring_size
        {
            return Err(bad(Reason::BadRing));
        }
        if w.ring_start.checked_add(w.ring_size as u64).is_none() {
            return Err(bad(Reason::BadAddress));
        }
        let mut pos = w.head;
        while pos != w.tail {
            if self.full() {
                self.out.cut = true;
                return Ok(());
            }
            let at = ring_at(pos);
            let err = |header, reason| AuditError { at, header, reason };
            let header = self
                .rd
                .dword(self.mem, Space::Ggtt, at.addr)
                .map_err(|e| err(0, Reason::Memory(e)))?;
            let (kind, class, len) = self.decode(header).map_err(|r| err(header, r))?;
            if self.too_long(len) {
                self.out.cut = true;
                return Ok(());
            }
            let avail = (w.tail.wrapping_sub(pos).wrapping_add(w.ring_size) % w.ring_size) / 4;
            if len > avail as usize {
                return Err(err(header, Reason::CrossesTail));
            }
            let start = self.out.dwords.len();
            self.push_dword(header).map_err(|r| err(header, r))?;
            for i in 1..len {
                let p = (pos as u64 + 4 * i as u64) % w.ring_size as u64;
                let d = self
                    .rd
                    .dword(self.mem, Space::Ggtt, w.ring_start + p)
                    .map_err(|e| err(header, Reason::Memory(e)))?;
                self.push_dword(d).map_err(|r| err(header, r))?;
            }
            self.finish(at, start, len, kind, class)
                .map_err(|r| err(header, r))?;
            pos = ((pos as u64 + 4 * len as u64) % w.ring_size as u64) as u32;
            match kind {
                Kind::BbEnd => return Err(err(header, Reason::BatchEndInRing)),
                Kind::BbStart => {
                    if header & BB_SECOND_LEVEL != 0 {
                        return Err(err(header, Reason::SecondLevelFromRing));
                    }
                    let target = self.bb_target(start, header);
                    match self.batch(target)? {
                        Flow::Return => {}
                        Flow::Cut => return Ok(()),
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The target of the `MI_BATCH_BUFFER_START` copied at `start`.
    fn bb_target(&self, start: usize, header: u32) -> Pos {
        let d = &self.out.dwords[start..];
        Pos {
            space: self.space(header & BB_PPGTT == 0),
            addr: addr48(d[1], d[2]),
        }
    }

    /// Walks a first-level batch (and the second-level batches it calls) until
    /// its `MI_BATCH_BUFFER_END`.
    fn batch(&mut self, first: Pos) -> Result<Flow, AuditError> {
        let mut level = 1u8;
        let mut cur = first;
        let mut ret: Option<Pos> = None;
        loop {
            if self.full() {
                self.out.cut = true;
                return Ok(Flow::Cut);
            }
            let at = Where {
                level,
                space: cur.space,
                addr: cur.addr,
            };
            let err = |header, reason| AuditError { at, header, reason };
            let header = self
                .rd
                .dword(self.mem, cur.space, cur.addr)
                .map_err(|e| err(0, Reason::Memory(e)))?;
            let (kind, class, len) = self.decode(header).map_err(|r| err(header, r))?;
            if self.too_long(len) {
                self.out.cut = true;
                return Ok(Flow::Cut);
            }
            let start = self.out.dwords.len();
            self.push_dword(header).map_err(|r| err(header, r))?;
            for i in 1..len {
                let a = cur
                    .addr
                    .checked_add(4 * i as u64)
                    .ok_or(err(header, Reason::BadAddress))?;
                let d = self
                    .rd
                    .dword(self.mem, cur.space, a)
                    .map_err(|e| err(header, Reason::Memory(e)))?;
                self.push_dword(d).map_err(|r| err(header, r))?;
            }
            self.finish(at, start, len, kind, class)
                .map_err(|r| err(header, r))?;
            let next = Pos {
                space: cur.space,
                addr: cur
                    .addr
                    .checked_add(4 * len as u64)
                    .ok_or(err(header, Reason::BadAddress))?,
            };
            match kind {
                Kind::BbEnd => match ret.take() {
                    Some(r) => {
                        level = 1;
                        cur = r;
                    }
                    None => return Ok(Flow::Return),
                },
                Kind::BbStart => {
                    let target = self.bb_target(start, header);
                    if header & BB_SECOND_LEVEL != 0 {
                        if level == 2 {
                            return Err(err(header, Reason::NestingTooDeep));
                        }
                        ret = Some(next);
                        level = 2;
                    }
                    cur = target;
                }
                _ => cur = next,
            }
        }
    }

    /// Looks `header` up: its kind, class and length in dwords.
    fn decode(&self, header: u32) -> Result<(Kind, Class, usize), Reason> {
        let (info, class) = table::lookup(self.w.engine, header).ok_or(Reason::UnknownOpcode)?;
        let (len, ok) = info.len.of(header);
        if !ok {
            return Err(Reason::BadLength);
        }
        if let Kind::Refused(r) = info.kind {
            return Err(Reason::Refused(r));
        }
        Ok((info.kind, class, len))
    }

    fn push_dword(&mut self, d: u32) -> Result<(), Reason> {
        self.out.dwords.try_push(d).map_err(|_| Reason::NoMemory)
    }

    /// Audits the command just copied at `start` and records it.
    fn finish(
        &mut self,
        at: Where,
        start: usize,
        len: usize,
        kind: Kind,
        class: Class,
    ) -> Result<(), Reason> {
        let bytes = audit_cmd(self.w.engine, kind, &self.out.dwords[start..start + len])?;
        let total = self.out.copy_bytes.saturating_add(bytes);
        if total > self.lim.max_copy_bytes {
            return Err(Reason::CopyTooLarge);
        }
        self.out.copy_bytes = total;
        // INVARIANT: the command was audited and its dwords end the copy.
        self.out
            .cmds
            .try_push(Cmd {
                at,
                start: start as u32,
                len: len as u32,
                kind,
                class,
            })
            .map_err(|_| Reason::NoMemory)
    }
}

/// `MI_BATCH_BUFFER_START` bit 22: a second-level batch.
const BB_SECOND_LEVEL: u32 = 1 << 22;
/// `MI_BATCH_BUFFER_START` bit 8: the target is in the PPGTT.
const BB_PPGTT: u32 = 1 << 8;
/// Bit 22 of most MI memory commands: the address is in the GGTT.
pub(crate) const USE_GGTT: u32 = 1 << 22;

/// A 48-bit address from its low (dword aligned) and high dwords.
pub(crate) fn addr48(lo: u32, hi: u32) -> u64 {
    qword(lo & !3, hi & 0xffff)
}

/// The qword whose low and high dwords are `lo` and `hi`.
pub(crate) fn qword(lo: u32, hi: u32) -> u64 {
    ((hi as u64) << 32) | lo as u64
}

/// The bytes per pixel and rectangle of a linear blit, or why it is refused.
pub(crate) struct Blit {
    pub cpp: u64,
    pub width: u64,
    pub height: u64,
    pub dst: u64,
    pub dst_pitch: u64,
    pub dst_x: u64,
    pub dst_y: u64,
    pub src: u64,
    pub src_pitch: u64,
    pub src_x: u64,
    pub src_y: u64,
}

impl Blit {
    /// Decodes `XY_SRC_COPY_BLT` (`fast == false`) or `XY_FAST_COPY_BLT`.
    pub(crate) fn decode(fast: bool, d: &[u32]) -> Result<Blit, Reason> {
        if d.len() != 10 {
            return Err(Reason::BadLength);
        }
        let cpp = if fast {
            // Linear source and destination only (tiling fields zero).
            if d[0] & ((3 << 20) | (3 << 13)) != 0 {
                return Err(Reason::UnsupportedBlit);
            }
            match (d[1] >> 24) & 7 {
                0 => 1,
                1 => 2,
                2 => 4,
                3 => 8,
                4 => 16,
                _ => return Err(Reason::UnsupportedBlit),
            }
        } else {
            // Linear, SRCCOPY, every channel written, pitches not negative
            // (they are signed 16-bit fields here).
            if d[0] & ((1 << 15) | (1 << 11)) != 0
                || (d[1] >> 16) & 0xff != 0xcc
                || d[1] & 0x8000 != 0
                || d[7] & 0x8000 != 0
            {
                return Err(Reason::UnsupportedBlit);
            }
            match (d[1] >> 24) & 3 {
                0 => 1,
                1 | 2 => 2,
                _ => {
                    if (d[0] >> 20) & 3 != 3 {
                        return Err(Reason::UnsupportedBlit);
                    }
                    4
                }
            }
        };
        let (x1, y1) = ((d[2] & 0xffff) as u64, (d[2] >> 16) as u64);
        let (x2, y2) = ((d[3] & 0xffff) as u64, (d[3] >> 16) as u64);
        Ok(Blit {
            cpp,
            width: x2.saturating_sub(x1),
            height: y2.saturating_sub(y1),
            dst: addr48(d[4], d[5]),
            dst_pitch: (d[1] & 0xffff) as u64,
            dst_x: x1,
            dst_y: y1,
            src: addr48(d[8], d[9]),
            src_pitch: (d[7] & 0xffff) as u64,
            src_x: (d[6] & 0xffff) as u64,
            src_y: (d[6] >> 16) as u64,
        })
    }

    /// Bytes it moves.
    pub(crate) fn bytes(&self) -> u64 {
        self.width * self.height * self.cpp
    }
}

/// Audits one command's operands; returns the bytes it copies.
fn audit_cmd(engine: EngineId, kind: Kind, d: &[u32]) -> Result<u64, Reason> {
    // Registers a command writes, and registers it only reads.
    let reg = |off: u32| {
        if off & !0x7f_fffc == 0 && audit::allowed(engine, off) {
            Ok(())
        } else {
            Err(Reason::Register(off))
        }
    };
    let read_reg = |off: u32| {
        if off & !0x7f_fffc == 0 && audit::readable(engine, off) {
            Ok(())
        } else {
            Err(Reason::Register(off))
        }
    };
    let h = d[0];
    match kind {
        Kind::Lri => {
            // Bits 19 (CS-relative MMIO, gen11+), 17 (remap, gen12+) and the
            // byte-write disables 11:8.
            if h & ((1 << 19) | (1 << 17) | (0xf << 8)) != 0 {
                return Err(Reason::LriFlags);
            }
            if d.len() % 2 != 1 {
                return Err(Reason::BadLength);
            }
            for pair in d[1..].chunks_exact(2) {
                reg(pair[0])?;
            }
        }
        Kind::BbStart => {
            // The sim models neither the resource streamer (bit 10) nor
            // predication (bit 15), so a start that depends on them is refused.
            if h & (1 << 10) != 0 {
                return Err(Reason::Refused(Refusal::ResourceStreamer));
            }
            if h & (1 << 15) != 0 {
                return Err(Reason::Refused(Refusal::Unmodelled));
            }
        }
        Kind::Lrm => reg(d[1])?,
        Kind::Srm => read_reg(d[1])?,
        Kind::Lrr => {
            // Source, then destination.
            read_reg(d[1])?;
            reg(d[2])?;
        }
        Kind::StoreImm => {
            // One data dword, or two (the qword form sets bit 21 with length 5).
            if !(4..=5).contains(&d.len()) {
                return Err(Reason::BadLength);
            }
        }
        Kind::StoreIndex => {
            if !(3..=4).contains(&d.len()) {
                return Err(Reason::BadLength);
            }
        }
        Kind::FlushDw => match (h >> 14) & 3 {
            0 => {}
            2 => return Err(Reason::BadOperation),
            _ => {
                if !(4..=5).contains(&d.len()) {
                    return Err(Reason::BadLength);
                }
            }
        },
        Kind::PipeControl => {
            if d.len() != 6 {
                return Err(Reason::BadLength);
            }
        }
        Kind::SemaphoreWait => {
            // Register poll (bit 16) is gen12; compare ops 6 and 7 are reserved.
            if h & (1 << 16) != 0 || (h >> 12) & 7 > 5 {
                return Err(Reason::BadOperation);
            }
        }
        Kind::SrcCopyBlt => return Ok(Blit::decode(false, d)?.bytes()),
        Kind::FastCopyBlt => return Ok(Blit::decode(true, d)?.bytes()),
        Kind::CopyMemMem => return Ok(4),
        Kind::Noop
        | Kind::UserInterrupt
        | Kind::Arb
        | Kind::BbEnd
        | Kind::Skip
        | Kind::Refused(_) => {}
    }
    Ok(0)
}
