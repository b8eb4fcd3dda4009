//! BAR0 of a vGPU: the MMIO register file, then the GGTT entries.
//!
//! The layout is gen8+'s: 2 MB of registers (the PV info page inside them),
//! a hole, and from 8 MB one 8-byte GGTT entry per 4 KB of graphics memory.
//! [`decode`] is the only place a BAR0 offset from the VMM is interpreted,
//! so every path below it sees an access that is in range and well formed.

use crate::engine::EngineId;
use crate::execlist;
use crate::pvinfo::{self, Access};
use crate::storage::{Alloc, AllocError, Vector};

pub mod regs;
pub mod untracked;

#[cfg(test)]
mod tests_model;

use regs::{Bank, BankReg, Kind};
pub use untracked::Entry as UntrackedEntry;

/// Size of BAR0.
pub const BAR0_SIZE: u64 = 16 << 20;
/// Size of the MMIO register range at the start of BAR0.
pub const MMIO_SIZE: u32 = 2 << 20;
/// Offset of the first GGTT entry in BAR0.
pub const GGTT_OFFSET: u64 = 8 << 20;
/// Size of one GGTT entry.
pub const GGTT_ENTRY_SIZE: u64 = 8;

/// What a BAR0 access reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The register file, at this byte offset.
    Mmio(u32),
    /// GGTT entry `index`; `offset` is 0 (whole entry or low half) or 4
    /// (high half).
    Ggtt {
        /// Entry index (graphics address / 4 KB).
        index: u64,
        /// Byte offset inside the entry: 0 or 4.
        offset: u8,
    },
}

/// Why a BAR0 access was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessError {
    /// Past the end of BAR0, or in the hole between registers and GGTT.
    OutOfRange,
    /// A size other than 1, 2, 4, 8 (registers) or 4, 8 (GGTT), or not
    /// naturally aligned.
    BadSize,
}

/// Interprets a BAR0 access of `len` bytes at `offset`.
pub fn decode(offset: u64, len: usize) -> Result<Target, AccessError> {
    let end = offset
        .checked_add(len as u64)
        .ok_or(AccessError::OutOfRange)?;
    if end > BAR0_SIZE {
        return Err(AccessError::OutOfRange);
    }
    if !matches!(len, 1 | 2 | 4 | 8) || offset % len as u64 != 0 {
        return Err(AccessError::BadSize);
    }
    if end <= u64::from(MMIO_SIZE) {
        return Ok(Target::Mmio(offset as u32));
    }
    if offset >= GGTT_OFFSET {
        // GGTT entries are written whole or by 4-byte halves (GVT-g's rule).
        if len < 4 {
            return Err(AccessError::BadSize);
        }
        let rel = offset - GGTT_OFFSET;
        return Ok(Target::Ggtt {
            index: rel / GGTT_ENTRY_SIZE,
            offset: (rel % GGTT_ENTRY_SIZE) as u8,
        });
    }
    Err(AccessError::OutOfRange)
}

/// What a guest register write asks of the engines, besides its effect
/// on the register file ([`engine_hook`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineHook {
    /// A dword written to `engine`'s ELSP.
    Elsp {
        /// The engine.
        engine: EngineId,
        /// The dword.
        value: u32,
    },
    /// A write to ELSP that is not one whole dword: dropped (i915 writes
    /// ELSP with `writel`).
    BadElsp,
    /// `GEN6_GDRST` resets these engines (bit [`EngineId::index`]).
    Reset {
        /// Engines to reset, one bit each.
        engines: u8,
    },
}

/// What a guest write of `data` at register offset `offset` (a
/// [`Target::Mmio`]) asks of the engines.
pub fn engine_hook(offset: u32, data: &[u8]) -> Option<EngineHook> {
    let dword = offset & !3;
    if let Some((engine, rel)) = EngineId::from_mmio(dword) {
        if rel != execlist::regs::ELSP {
            return None;
        }
        let Ok(bytes) = <[u8; 4]>::try_from(data) else {
            return Some(EngineHook::BadElsp);
        };
        return Some(EngineHook::Elsp {
            engine,
            value: u32::from_le_bytes(bytes),
        });
    }
    if dword != regs::GEN6_GDRST::OFFSET || offset != dword || data.is_empty() {
        return None;
    }
    let v = u32::from(data[0]);
    let domains = [
        (regs::GEN6_GDRST::GRDOM_RENDER, EngineId::Rcs),
        (regs::GEN6_GDRST::GRDOM_MEDIA, EngineId::Vcs),
        (regs::GEN6_GDRST::GRDOM_BLT, EngineId::Bcs),
        (regs::GEN6_GDRST::GRDOM_VECS, EngineId::Vecs),
    ];
    let engines = if regs::GEN6_GDRST::GRDOM_FULL.get(v) != 0 {
        (1 << EngineId::COUNT) - 1
    } else {
        domains
            .iter()
            .filter(|(f, _)| f.get(v) != 0)
            .fold(0u8, |acc, (_, e)| acc | (1 << e.index()))
    };
    (engines != 0).then_some(EngineHook::Reset { engines })
}

/// Register-file counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Register reads.
    pub reads: u64,
    /// Register writes applied.
    pub writes: u64,
    /// Guest writes to host-owned PV info fields, dropped.
    pub pvinfo_ro_dropped: u64,
    /// `g2v_notify` writes.
    pub g2v_notify: u64,
    /// Guest writes to read-only registers (fuses, ISRs), dropped.
    pub ro_dropped: u64,
    /// Resets requested through `GEN6_GDRST`.
    pub gdrst: u64,
    /// Engine reset handshakes (`RING_RESET_CTL` requests).
    pub engine_resets: u64,
    /// Pcode mailbox commands.
    pub pcode: u64,
    /// Events raised into interrupt banks.
    pub irq_raised: u64,
    /// TLB invalidations requested.
    pub tlb_invalidations: u64,
    /// `RING_MODE_GEN7` writes asking for a mode GVT-g refuses (bit 0).
    pub ring_mode_unsupported: u64,
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("mmio_reads", self.reads);
        f("mmio_writes", self.writes);
        f("pvinfo_ro_dropped", self.pvinfo_ro_dropped);
        f("g2v_notify", self.g2v_notify);
        f("mmio_ro_dropped", self.ro_dropped);
        f("gdrst", self.gdrst);
        f("engine_resets", self.engine_resets);
        f("pcode", self.pcode);
        f("irq_raised", self.irq_raised);
        f("tlb_invalidations", self.tlb_invalidations);
        f("ring_mode_unsupported", self.ring_mode_unsupported);
    }
}

/// The MMIO registers of one vGPU.
///
/// Registers [`regs::kind`] knows behave as a Skylake GT2's do where i915
/// relies on it; every other dword is plain storage (GVT-g's vreg) whose
/// accesses are counted per offset in [`Vregs::untracked`].
///
/// # Invariants
///
/// `regs` holds `MMIO_SIZE / 4` dwords. Masked registers hold 0 in their
/// upper half.
pub struct Vregs<A: Alloc> {
    regs: A::Vec<u32>,
    /// Counters.
    pub stats: Stats,
    untracked: untracked::Untracked<A>,
}

impl<A: Alloc> Vregs<A> {
    /// A register file with the Skylake GT2 defaults and the PV info page
    /// published; everything else is 0.
    pub fn new(pv: &pvinfo::Published) -> Result<Self, AllocError> {
        let mut regs = A::Vec::new();
        regs.try_resize((MMIO_SIZE / 4) as usize, 0)?;
        let mut v = Self {
            regs,
            stats: Stats::default(),
            untracked: untracked::Untracked::new()?,
        };
        for (off, val) in regs::defaults() {
            v.set(off, val);
        }
        v.publish(pv);
        Ok(v)
    }

    /// Puts every register back to its power-on value (a device reset),
    /// keeping the counters and the untracked table, so what a guest
    /// touched before a reset stays visible; allocates nothing.
    pub fn reset(&mut self, pv: &pvinfo::Published) {
        self.regs.fill(0);
        for (off, val) in regs::defaults() {
            self.set(off, val);
        }
        self.publish(pv);
    }

    fn set(&mut self, offset: u32, value: u32) {
        if let Some(r) = self.regs.get_mut((offset / 4) as usize) {
            *r = value;
        }
    }

    /// Accesses to registers rgvt does not model, by offset (for debugfs).
    pub fn untracked(&self) -> impl Iterator<Item = &UntrackedEntry> {
        self.untracked.iter()
    }

    /// Reads and writes of untracked offsets that did not fit the table.
    pub fn untracked_overflow(&self) -> (u64, u64) {
        (
            self.untracked.overflow_reads,
            self.untracked.overflow_writes,
        )
    }

    /// The master interrupt register's pending bits: each bank's enabled
    /// IIR bits, routed as in GVT-g's `gen8_irq_map`.
    fn master_pending(&self) -> u32 {
        regs::BANKS.iter().fold(0, |acc, b| {
            let live = self.reg(b.base() + 8) & self.reg(b.base() + 0xc);
            b.upstream()
                .iter()
                .filter(|(_, bits)| live & bits != 0)
                .fold(acc, |acc, (master, _)| acc | master)
        })
    }

    /// Whether the device asserts its interrupt: the guest's master enable
    /// is on and some bank has an enabled IIR bit.
    pub fn irq_pending(&self) -> bool {
        let master = self.reg(regs::GEN8_MASTER_IRQ::OFFSET);
        regs::GEN8_MASTER_IRQ::CONTROL.get(master) != 0 && self.master_pending() != 0
    }

    /// Raises events `bits` in `bank`: the bits its IMR does not mask latch
    /// in its IIR (gen8's rule, GVT-g's `propagate_event`). The caller then
    /// checks [`Vregs::irq_pending`] for the line.
    pub fn raise(&mut self, bank: Bank, bits: u32) {
        self.stats.irq_raised += 1;
        let imr = self.reg(bank.base() + 4);
        let iir = bank.base() + 8;
        self.set(iir, self.reg(iir) | (bits & !imr));
    }

    /// The dword at `offset` as the guest reads it.
    fn read_dword(&mut self, offset: u32) -> u32 {
        let stored = self.reg(offset);
        match regs::kind(offset) {
            Some(Kind::Master) => stored | self.master_pending(),
            Some(Kind::ForcewakeAck(req)) => self.reg(req) & 0xffff,
            Some(Kind::DpllStatus) => regs::DPLL_ENABLES
                .iter()
                .enumerate()
                .filter(|(_, ctl)| self.reg(**ctl) & (1 << 31) != 0)
                .fold(0, |acc, (i, _)| acc | (1 << (8 * i))),
            Some(_) => stored,
            None if is_pvinfo(offset) => stored,
            None => {
                self.untracked.count(offset, false);
                stored
            }
        }
    }

    /// Writes the bytes of `value` selected by `be` (0xff per byte) to the
    /// dword at `offset`, with the register's behaviour.
    fn write_dword(&mut self, offset: u32, value: u32, be: u32) {
        let old = self.reg(offset);
        let merged = (old & !be) | (value & be);
        // Bytes not written count as 0 where a 1 acts (mask selects,
        // write-1-to-clear), so a partial write changes only its bytes.
        let v = value & be;
        let new = match regs::kind(offset) {
            None => {
                self.untracked.count(offset, true);
                merged
            }
            Some(Kind::Storage) => merged,
            Some(Kind::TlbInval) => {
                if v != 0 {
                    self.stats.tlb_invalidations += 1;
                }
                0
            }
            // The latch is the engines'; the register itself reads 0.
            Some(Kind::Elsp) => old,
            Some(Kind::CsbPtr) => execlist::regs::csb_ptr_write(old, v),
            Some(Kind::RingMode) => {
                let change = execlist::regs::ring_mode_write(old, v);
                if change.unsupported {
                    self.stats.ring_mode_unsupported += 1;
                }
                change.value
            }
            Some(Kind::ReadOnly)
            | Some(Kind::EngineStatus)
            | Some(Kind::ForcewakeAck(_))
            | Some(Kind::DpllStatus)
            | Some(Kind::Irq(_, BankReg::Isr)) => {
                self.stats.ro_dropped += 1;
                old
            }
            Some(Kind::Irq(_, BankReg::Iir)) => old & !v,
            Some(Kind::Irq(_, _)) => merged,
            Some(Kind::Master) => {
                let control = regs::GEN8_MASTER_IRQ::CONTROL.mask();
                if be & control != 0 {
                    v & control
                } else {
                    old
                }
            }
            Some(Kind::Masked) => masked(old, v, 0),
            Some(Kind::MiMode) => {
                use regs::RING_MI_MODE::{MODE_IDLE, STOP_RING};
                let m = masked(old, v, MODE_IDLE.mask());
                let idle = MODE_IDLE.put(STOP_RING.get(m));
                (m & !MODE_IDLE.mask()) | idle
            }
            Some(Kind::ResetCtl) => {
                use regs::RING_RESET_CTL::{READY_TO_RESET, REQUEST_RESET};
                let m = masked(old, v, READY_TO_RESET.mask());
                if REQUEST_RESET.get(m) != 0 && REQUEST_RESET.get(old) == 0 {
                    self.stats.engine_resets += 1;
                }
                (m & !READY_TO_RESET.mask()) | READY_TO_RESET.put(REQUEST_RESET.get(m))
            }
            Some(Kind::Gdrst) => {
                if v != 0 {
                    self.stats.gdrst += 1;
                }
                0
            }
            Some(Kind::PcodeMailbox) => {
                self.pcode(merged);
                merged
                    & !(regs::GEN6_PCODE_MAILBOX::READY.mask()
                        | regs::GEN6_PCODE_MAILBOX::ERROR.mask())
            }
            Some(Kind::Handshake { req, shift }) => {
                (merged & !(req >> shift)) | ((merged & req) >> shift)
            }
        };
        self.set(offset, new);
    }

    /// Runs a pcode command, as GVT-g's `mailbox_write`: it completes at
    /// once with success, and the reads i915 makes get Skylake's answers.
    fn pcode(&mut self, mailbox: u32) {
        use regs::pcode::*;
        self.stats.pcode += 1;
        let data = regs::GEN6_PCODE_DATA::OFFSET;
        let d = self.reg(data);
        let answer = match regs::GEN6_PCODE_MAILBOX::ERROR.get(mailbox) {
            // Memory latencies of a Skylake: two reads, levels 0-3 then 4-7.
            READ_MEM_LATENCY if d == 0 => 0x1e1a_1100,
            READ_MEM_LATENCY => 0x6151_4b3d,
            SKL_CDCLK_CONTROL => SKL_CDCLK_READY_FOR_CHANGE,
            READ_RC6VIDS => d | 1,
            _ => d,
        };
        self.set(data, answer);
    }

    /// A register write by the engines: an `MI_LOAD_REGISTER_IMM` the
    /// command parser audited, or the execlists updating their status.
    ///
    /// Masked and interrupt registers behave as for a guest write (an LRI
    /// is what the hardware sees); the engines' own registers, read-only to
    /// the guest, and registers rgvt does not model take `value` as is
    /// (not counted as untracked: the guest did not touch them).
    pub fn engine_write(&mut self, offset: u32, value: u32) {
        let offset = offset & !3;
        if offset >= MMIO_SIZE || is_pvinfo(offset) {
            return;
        }
        match regs::kind(offset) {
            None | Some(Kind::Storage) | Some(Kind::Elsp) | Some(Kind::EngineStatus) => {
                self.set(offset, value)
            }
            // The execlists move the write pointer under its mask.
            Some(Kind::CsbPtr) => self.set(
                offset,
                execlist::regs::csb_ptr_write(self.reg(offset), value),
            ),
            Some(_) => self.write_dword(offset, value, !0),
        }
    }

    /// Rewrites the host half of the PV info page (after the allocation
    /// changed).
    pub fn publish(&mut self, pv: &pvinfo::Published) {
        for (off, val) in pvinfo::top_half(pv) {
            if let Some(r) = self
                .regs
                .get_mut(((pvinfo::VGT_PVINFO_PAGE + off) / 4) as usize)
            {
                *r = val;
            }
        }
    }

    /// Stores host-owned PV info dwords, `(offset in the page, value)` (the
    /// runtime balloon fields, `crate::balloon::protocol::host_fields`);
    /// offsets outside the page are ignored.
    pub fn publish_pv(&mut self, fields: &[(u32, u32)]) {
        for &(off, val) in fields {
            if off < pvinfo::VGT_PVINFO_SIZE {
                self.set(pvinfo::VGT_PVINFO_PAGE + (off & !3), val);
            }
        }
    }

    /// Returns the dword register at `offset` (must be 4-aligned, in range).
    pub fn reg(&self, offset: u32) -> u32 {
        self.regs.get((offset / 4) as usize).copied().unwrap_or(0)
    }

    /// Reads `buf.len()` bytes of registers at `offset` (a [`Target::Mmio`]).
    pub fn read(&mut self, offset: u32, buf: &mut [u8]) {
        self.stats.reads += 1;
        let mut dword = None;
        for (i, b) in buf.iter_mut().enumerate() {
            let o = offset.wrapping_add(i as u32);
            let v = match dword {
                Some((at, v)) if at == o & !3 => v,
                _ => {
                    let v = self.read_dword(o & !3);
                    dword = Some((o & !3, v));
                    v
                }
            };
            *b = (v >> ((o % 4) * 8)) as u8;
        }
    }

    /// Writes `data` at `offset`; host-owned PV info bytes are dropped.
    ///
    /// Returns the new `g2v_notify` value when the guest wrote one, for the
    /// caller to act on.
    pub fn write(&mut self, offset: u32, data: &[u8]) -> Option<u32> {
        if !is_pvinfo(offset) {
            self.stats.writes += 1;
            // Split into dwords: accesses are naturally aligned, so an
            // 8-byte write is two whole dwords and a smaller one sits in one.
            let mut i = 0;
            while i < data.len() {
                let o = offset.wrapping_add(i as u32);
                let (mut value, mut be) = (0u32, 0u32);
                while i < data.len() && offset.wrapping_add(i as u32) & !3 == o & !3 {
                    let shift = (offset.wrapping_add(i as u32) % 4) * 8;
                    value |= u32::from(data[i]) << shift;
                    be |= 0xff << shift;
                    i += 1;
                }
                self.write_dword(o & !3, value, be);
            }
            return None;
        }
        let pv = pvinfo::VGT_PVINFO_PAGE..pvinfo::VGT_PVINFO_PAGE + pvinfo::VGT_PVINFO_SIZE;
        let mut notify = false;
        let mut dropped = false;
        for (i, b) in data.iter().enumerate() {
            let o = offset.wrapping_add(i as u32);
            if pv.contains(&o) {
                match pvinfo::access(o - pvinfo::VGT_PVINFO_PAGE) {
                    Access::ReadOnly => {
                        dropped = true;
                        continue;
                    }
                    Access::Notify => notify = true,
                    Access::Guest => {}
                }
            }
            let Some(r) = self.regs.get_mut((o / 4) as usize) else {
                continue;
            };
            let shift = (o % 4) * 8;
            *r = (*r & !(0xff << shift)) | (u32::from(*b) << shift);
        }
        if dropped {
            self.stats.pvinfo_ro_dropped += 1;
        }
        if data.len() > usize::from(dropped) {
            self.stats.writes += 1;
        }
        if notify {
            self.stats.g2v_notify += 1;
            return Some(self.reg(pvinfo::VGT_PVINFO_PAGE + pvinfo::off::G2V_NOTIFY));
        }
        None
    }
}

/// Whether `offset` is in the PV info page (which has its own rules).
fn is_pvinfo(offset: u32) -> bool {
    (pvinfo::VGT_PVINFO_PAGE..pvinfo::VGT_PVINFO_PAGE + pvinfo::VGT_PVINFO_SIZE).contains(&offset)
}

/// A masked write: the upper half of `v` selects which low bits take the
/// low half's value; `fixed` bits never change.
fn masked(old: u32, v: u32, fixed: u32) -> u32 {
    let sel = (v >> 16) & !fixed;
    ((old & !sel) | (v & sel)) & 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pvinfo::{off, GmRange, Published, VGT_PVINFO_PAGE};
    use crate::storage::Std;

    fn pv() -> Published {
        Published {
            vgt_id: 2,
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

    #[test]
    fn decode_layout() {
        assert_eq!(decode(0, 4), Ok(Target::Mmio(0)));
        assert_eq!(decode(0x1f_fffc, 4), Ok(Target::Mmio(0x1f_fffc)));
        assert_eq!(decode(0x20_0000, 4), Err(AccessError::OutOfRange));
        assert_eq!(decode(0x7f_fffc, 4), Err(AccessError::OutOfRange));
        assert_eq!(
            decode(GGTT_OFFSET + 8 * 5, 8),
            Ok(Target::Ggtt {
                index: 5,
                offset: 0
            })
        );
        assert_eq!(
            decode(GGTT_OFFSET + 8 * 5 + 4, 4),
            Ok(Target::Ggtt {
                index: 5,
                offset: 4
            })
        );
        assert_eq!(decode(GGTT_OFFSET + 4, 8), Err(AccessError::BadSize));
        assert_eq!(decode(GGTT_OFFSET, 2), Err(AccessError::BadSize));
        assert!(decode(BAR0_SIZE - 8, 8).is_ok());
        assert_eq!(decode(BAR0_SIZE - 4, 8), Err(AccessError::OutOfRange));
        assert_eq!(decode(BAR0_SIZE, 4), Err(AccessError::OutOfRange));
        assert_eq!(decode(u64::MAX - 2, 4), Err(AccessError::OutOfRange));
        assert_eq!(decode(2, 4), Err(AccessError::BadSize));
        assert_eq!(decode(0, 3), Err(AccessError::BadSize));
        assert_eq!(decode(0, 16), Err(AccessError::BadSize));
    }

    #[test]
    fn pvinfo_page_is_published_and_guarded() {
        let mut v = Vregs::<Std>::new(&pv()).unwrap();
        let mut magic = [0u8; 8];
        v.read(VGT_PVINFO_PAGE, &mut magic);
        assert_eq!(u64::from_le_bytes(magic), pvinfo::VGT_MAGIC);
        assert_eq!(v.reg(VGT_PVINFO_PAGE + off::VGT_ID), 2);
        let base = VGT_PVINFO_PAGE + off::AVAIL_RS_NONMAPPABLE_BASE;
        assert_eq!(v.write(base, &[0xff; 4]), None);
        assert_eq!(v.reg(base), 0x1000_0000, "host field kept");
        assert_eq!(v.stats.pvinfo_ro_dropped, 1);
        let pdp = VGT_PVINFO_PAGE + off::PDP;
        v.write(pdp, &0x1234_5000u32.to_le_bytes());
        assert_eq!(v.reg(pdp), 0x1234_5000);
        let n = VGT_PVINFO_PAGE + off::G2V_NOTIFY;
        assert_eq!(v.write(n, &4u32.to_le_bytes()), Some(4));
    }

    #[test]
    fn engine_hooks() {
        for e in EngineId::ALL {
            let elsp = e.mmio_base() + execlist::regs::ELSP;
            assert_eq!(
                engine_hook(elsp, &0x1234_5678u32.to_le_bytes()),
                Some(EngineHook::Elsp {
                    engine: e,
                    value: 0x1234_5678
                })
            );
            assert_eq!(engine_hook(elsp, &[1, 2]), Some(EngineHook::BadElsp));
            assert_eq!(engine_hook(elsp, &[0; 8]), Some(EngineHook::BadElsp));
            assert_eq!(engine_hook(elsp + 4, &[0; 4]), None);
        }
        let gdrst = regs::GEN6_GDRST::OFFSET;
        assert_eq!(
            engine_hook(gdrst, &1u32.to_le_bytes()),
            Some(EngineHook::Reset { engines: 0xf })
        );
        assert_eq!(
            engine_hook(gdrst, &(1u32 << 3).to_le_bytes()),
            Some(EngineHook::Reset {
                engines: 1 << EngineId::Bcs.index()
            })
        );
        assert_eq!(
            engine_hook(gdrst, &((1u32 << 2) | (1 << 4)).to_le_bytes()),
            Some(EngineHook::Reset {
                engines: (1 << EngineId::Vcs.index()) | (1 << EngineId::Vecs.index())
            })
        );
        assert_eq!(engine_hook(gdrst, &0u32.to_le_bytes()), None);
        assert_eq!(engine_hook(0x2000, &[0; 4]), None);
    }

    #[test]
    fn engine_registers_are_the_engines() {
        let mut v = Vregs::<Std>::new(&pv()).unwrap();
        let base = EngineId::Bcs.mmio_base();
        // ELSP reads 0 whatever is written; status and CSB are read-only
        // to the guest and written by the engines.
        v.write(base + 0x230, &0xdead_beefu32.to_le_bytes());
        assert_eq!(v.reg(base + 0x230), 0);
        for off in [0x234, 0x238, 0x370, 0x39c] {
            v.write(base + off, &[0xff; 4]);
            assert_eq!(v.reg(base + off), 0, "{off:#x}");
            v.engine_write(base + off, 0x55);
            assert_eq!(v.reg(base + off), 0x55, "{off:#x}");
        }
        // The CSB pointer is masked, for the guest and for the engines.
        let ptr = base + execlist::regs::CSB_PTR;
        v.engine_write(ptr, 0x0007_0003);
        assert_eq!(v.reg(ptr), 0x0003);
        v.write(ptr, &0x0700_0202u32.to_le_bytes());
        assert_eq!(v.reg(ptr), 0x0203);
        // RING_MODE enables execlists under its mask; bit 0 never sticks.
        let mode = base + execlist::regs::RING_MODE;
        v.write(mode, &0x8001_8001u32.to_le_bytes());
        assert!(execlist::regs::execlists_enabled(v.reg(mode)));
        assert_eq!(v.reg(mode), 0x8000);
        assert_eq!(v.stats.ring_mode_unsupported, 1);
        let untracked = v.untracked().count();
        v.engine_write(base + 0x34, 0x40);
        assert_eq!(v.reg(base + 0x34), 0x40);
        assert_eq!(
            v.untracked().count(),
            untracked,
            "engine writes are not the guest's"
        );
        v.engine_write(VGT_PVINFO_PAGE, 0);
        assert_eq!(v.reg(VGT_PVINFO_PAGE), pvinfo::VGT_MAGIC as u32);
    }

    #[test]
    fn sub_dword_registers() {
        let mut v = Vregs::<Std>::new(&pv()).unwrap();
        v.write(0x2000, &[0x11, 0x22, 0x33, 0x44]);
        v.write(0x2001, &[0xaa]);
        v.write(0x2002, &[0xbb, 0xcc]);
        assert_eq!(v.reg(0x2000), 0xccbb_aa11);
        let mut b = [0u8; 2];
        v.read(0x2002, &mut b);
        assert_eq!(b, [0xbb, 0xcc]);
    }
}
