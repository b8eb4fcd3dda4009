//! Execution of an audited copy against the guest's memory and registers.

use super::table::{Class, Kind};
use super::{addr48, Blit, Cmd, Scanned, Where, USE_GGTT};
use crate::engine::{GpuMemory, MemError, RegFile, Space};
use crate::storage::Alloc;

/// What one [`Exec::run`] call ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Every command ran; the ring's head is now `head` (the workload's tail).
    Done {
        /// The new ring head (byte offset).
        head: u32,
    },
    /// An `MI_SEMAPHORE_WAIT` is not satisfied; call `run` again later.
    Waiting {
        /// The waiting command.
        at: Where,
    },
    /// The call's command budget is used up; call `run` again.
    Yield,
    /// A memory access failed; the workload is over (earlier commands took effect).
    Fault {
        /// The faulting command.
        at: Where,
        /// Its header.
        header: u32,
        /// The failure.
        err: MemError,
    },
    /// The workload reached its scan bound (an endless chain): it is over.
    Hung,
}

/// What a workload has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// MI commands executed (including batch start/end).
    pub mi: u64,
    /// 2D (blitter) commands executed.
    pub blit: u64,
    /// 3D commands executed or skipped.
    pub render: u64,
    /// Media commands executed or skipped.
    pub media: u64,
    /// Of those, commands skipped by their length (no model in the sim).
    pub skipped: u64,
    /// `MI_USER_INTERRUPT`s: the caller raises one interrupt if this grew.
    pub user_interrupts: u64,
    /// Memory writes by stores and post-sync operations.
    pub stores: u64,
    /// Register writes (LRI, LRM, LRR).
    pub reg_writes: u64,
    /// Bytes moved by copies.
    pub bytes_copied: u64,
    /// Semaphore polls that found the condition false.
    pub polls: u64,
}

/// A workload being executed; resumable across [`Exec::run`] calls.
pub struct Exec<A: Alloc> {
    s: Scanned<A>,
    /// Next command to run.
    pos: usize,
    /// The workload ended (done, fault or hang): further runs repeat the end.
    end: Option<Step>,
    stats: Stats,
}

/// Chunk of a copy: copies go through the stack in pieces this big.
const CHUNK: usize = 512;

/// An address in the guest's memory.
#[derive(Clone, Copy)]
struct At {
    space: Space,
    addr: u64,
}

impl<A: Alloc> Exec<A> {
    pub(super) fn new(s: Scanned<A>) -> Self {
        Self {
            s,
            pos: 0,
            end: None,
            stats: Stats::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Index of the next command of the copy.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The scanned workload.
    pub fn scanned(&self) -> &Scanned<A> {
        &self.s
    }

    /// Runs at most `budget` commands (0: no limit) from where the last call
    /// stopped.
    pub fn run(
        &mut self,
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
        budget: usize,
    ) -> Step {
        if let Some(end) = self.end {
            return end;
        }
        let mut ran = 0usize;
        while self.pos < self.s.cmds.len() {
            if budget != 0 && ran == budget {
                return Step::Yield;
            }
            let c = self.s.cmds[self.pos];
            match self.one(&c, mem, regs) {
                Ok(true) => {}
                Ok(false) => {
                    self.stats.polls += 1;
                    return Step::Waiting { at: c.at };
                }
                Err(err) => {
                    let end = Step::Fault {
                        at: c.at,
                        header: self.s.dwords[c.start as usize],
                        err,
                    };
                    self.end = Some(end);
                    return end;
                }
            }
            match c.class {
                Class::Mi => self.stats.mi += 1,
                Class::Blit => self.stats.blit += 1,
                Class::Render => self.stats.render += 1,
                Class::Media => self.stats.media += 1,
            }
            self.pos += 1;
            ran += 1;
        }
        let end = if self.s.cut {
            Step::Hung
        } else {
            Step::Done {
                head: self.s.w.tail,
            }
        };
        self.end = Some(end);
        end
    }

    fn space(&self, ggtt: bool) -> Space {
        if ggtt || !self.s.w.ppgtt {
            Space::Ggtt
        } else {
            Space::Ppgtt
        }
    }

    fn hwsp(&self, offset: u32) -> At {
        At {
            space: Space::Ggtt,
            addr: self.s.w.hwsp.wrapping_add(offset as u64),
        }
    }

    fn timestamp(&self, regs: &mut impl RegFile) -> u64 {
        let base = self.s.w.engine.mmio_base();
        regs.read(base + 0x358) as u64 | (regs.read(base + 0x35c) as u64) << 32
    }

    fn store(&mut self, mem: &mut impl GpuMemory, at: At, data: &[u8]) -> Result<(), MemError> {
        mem.write(at.space, at.addr, data)?;
        self.stats.stores += 1;
        Ok(())
    }

    /// Runs one command; `Ok(false)` means a semaphore is not yet satisfied.
    fn one(
        &mut self,
        c: &Cmd,
        mem: &mut impl GpuMemory,
        regs: &mut impl RegFile,
    ) -> Result<bool, MemError> {
        let (start, len) = (c.start as usize, c.len as usize);
        // A copy of the command's dwords (at most the longest executed command).
        let mut d = [0u32; 10];
        let n = len.min(d.len());
        d[..n].copy_from_slice(&self.s.dwords[start..start + n]);
        let h = d[0];
        match c.kind {
            Kind::Noop | Kind::Arb | Kind::BbStart | Kind::BbEnd => {}
            Kind::Skip => self.stats.skipped += 1,
            Kind::Refused(_) => {}
            Kind::UserInterrupt => self.stats.user_interrupts += 1,
            Kind::StoreImm => {
                let at = At {
                    space: self.space(h & USE_GGTT != 0),
                    addr: addr48(d[1], d[2]),
                };
                if len == 5 {
                    let v = d[3] as u64 | (d[4] as u64) << 32;
                    self.store(mem, at, &v.to_le_bytes())?;
                } else {
                    self.store(mem, at, &d[3].to_le_bytes())?;
                }
            }
            Kind::StoreIndex => {
                if len == 4 {
                    let v = d[2] as u64 | (d[3] as u64) << 32;
                    self.store(mem, self.hwsp(d[1] & 0xff8), &v.to_le_bytes())?;
                } else {
                    self.store(mem, self.hwsp(d[1] & 0xffc), &d[2].to_le_bytes())?;
                }
            }
            Kind::Lri => {
                for pair in self.s.dwords[start + 1..start + len].chunks_exact(2) {
                    regs.write(pair[0], pair[1]);
                    self.stats.reg_writes += 1;
                }
            }
            Kind::Lrm => {
                let v = mem.read_u32(self.space(h & USE_GGTT != 0), addr48(d[2], d[3]))?;
                regs.write(d[1], v);
                self.stats.reg_writes += 1;
            }
            Kind::Lrr => {
                let v = regs.read(d[1]);
                regs.write(d[2], v);
                self.stats.reg_writes += 1;
            }
            Kind::Srm => {
                let v = regs.read(d[1]);
                let at = At {
                    space: self.space(h & USE_GGTT != 0),
                    addr: addr48(d[2], d[3]),
                };
                self.store(mem, at, &v.to_le_bytes())?;
            }
            Kind::FlushDw => {
                let op = (h >> 14) & 3;
                if op != 0 {
                    // Bit 21: the address is an index into the status page;
                    // else dword 1 bit 2 selects the GGTT.
                    let at = if h & (1 << 21) != 0 {
                        self.hwsp(d[1] & 0xff8)
                    } else {
                        At {
                            space: self.space(d[1] & (1 << 2) != 0),
                            addr: addr48(d[1] & !7, d[2]),
                        }
                    };
                    if op == 3 {
                        let t = self.timestamp(regs);
                        self.store(mem, at, &t.to_le_bytes())?;
                    } else if len == 5 {
                        let v = d[3] as u64 | (d[4] as u64) << 32;
                        self.store(mem, at, &v.to_le_bytes())?;
                    } else {
                        self.store(mem, at, &d[3].to_le_bytes())?;
                    }
                }
            }
            Kind::PipeControl => {
                let op = (d[1] >> 14) & 3;
                if op != 0 {
                    // Dword 1 bit 21: store data index; bit 24: GGTT.
                    let at = if d[1] & (1 << 21) != 0 {
                        self.hwsp(d[2] & 0xff8)
                    } else {
                        At {
                            space: self.space(d[1] & (1 << 24) != 0),
                            addr: addr48(d[2] & !7, d[3]),
                        }
                    };
                    let v = match op {
                        1 => d[4] as u64 | (d[5] as u64) << 32,
                        // PS_DEPTH_COUNT.
                        2 => regs.read(0x2350) as u64 | (regs.read(0x2354) as u64) << 32,
                        _ => self.timestamp(regs),
                    };
                    self.store(mem, at, &v.to_le_bytes())?;
                }
            }
            Kind::SemaphoreWait => {
                let v = mem.read_u32(self.space(h & USE_GGTT != 0), addr48(d[2], d[3]))?;
                let want = d[1];
                let ok = match (h >> 12) & 7 {
                    0 => v > want,
                    1 => v >= want,
                    2 => v < want,
                    3 => v <= want,
                    4 => v == want,
                    _ => v != want,
                };
                return Ok(ok);
            }
            Kind::CopyMemMem => {
                let src = At {
                    space: self.space(h & (1 << 22) != 0),
                    addr: addr48(d[3], d[4]),
                };
                let dst = At {
                    space: self.space(h & (1 << 21) != 0),
                    addr: addr48(d[1], d[2]),
                };
                let v = mem.read_u32(src.space, src.addr)?;
                self.store(mem, dst, &v.to_le_bytes())?;
                self.stats.bytes_copied += 4;
            }
            Kind::SrcCopyBlt | Kind::FastCopyBlt => {
                // The audit decoded it already; a failure here cannot happen, but
                // an undecodable blit would simply do nothing.
                if let Ok(b) = Blit::decode(c.kind == Kind::FastCopyBlt, &d) {
                    self.blit(mem, &b)?;
                }
            }
        }
        Ok(true)
    }

    /// Copies a linear rectangle row by row (blits use the context's PPGTT).
    fn blit(&mut self, mem: &mut impl GpuMemory, b: &Blit) -> Result<(), MemError> {
        let space = self.space(false);
        let row = b.width * b.cpp;
        let mut buf = [0u8; CHUNK];
        for y in 0..b.height {
            let src = b
                .src
                .wrapping_add((b.src_y + y) * b.src_pitch + b.src_x * b.cpp);
            let dst = b
                .dst
                .wrapping_add((b.dst_y + y) * b.dst_pitch + b.dst_x * b.cpp);
            let mut off = 0u64;
            while off < row {
                let n = (row - off).min(CHUNK as u64) as usize;
                mem.read(space, src.wrapping_add(off), &mut buf[..n])?;
                mem.write(space, dst.wrapping_add(off), &buf[..n])?;
                off += n as u64;
                self.stats.bytes_copied += n as u64;
            }
        }
        Ok(())
    }
}
