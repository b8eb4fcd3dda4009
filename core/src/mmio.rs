//! BAR0 of a vGPU: the MMIO register file, then the GGTT entries.
//!
//! The layout is gen8+'s: 2 MB of registers (the PV info page inside them),
//! a hole, and from 8 MB one 8-byte GGTT entry per 4 KB of graphics memory.
//! [`decode`] is the only place a BAR0 offset from the VMM is interpreted,
//! so every path below it sees an access that is in range and well formed.

use crate::pvinfo::{self, Access};
use crate::storage::{Alloc, AllocError, Vector};

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
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("mmio_reads", self.reads);
        f("mmio_writes", self.writes);
        f("pvinfo_ro_dropped", self.pvinfo_ro_dropped);
        f("g2v_notify", self.g2v_notify);
    }
}

/// The MMIO registers of one vGPU.
///
/// # Invariants
///
/// `regs` holds `MMIO_SIZE / 4` dwords.
pub struct Vregs<A: Alloc> {
    regs: A::Vec<u32>,
    /// Counters.
    pub stats: Stats,
}

impl<A: Alloc> Vregs<A> {
    /// A register file of zeroes with the PV info page published.
    pub fn new(pv: &pvinfo::Published) -> Result<Self, AllocError> {
        let mut regs = A::Vec::new();
        regs.try_resize((MMIO_SIZE / 4) as usize, 0)?;
        let mut v = Self {
            regs,
            stats: Stats::default(),
        };
        v.publish(pv);
        Ok(v)
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

    /// Returns the dword register at `offset` (must be 4-aligned, in range).
    pub fn reg(&self, offset: u32) -> u32 {
        self.regs.get((offset / 4) as usize).copied().unwrap_or(0)
    }

    fn byte(&self, offset: u32) -> u8 {
        let shift = (offset % 4) * 8;
        (self.reg(offset & !3) >> shift) as u8
    }

    /// Reads `buf.len()` bytes of registers at `offset` (a [`Target::Mmio`]).
    pub fn read(&mut self, offset: u32, buf: &mut [u8]) {
        self.stats.reads += 1;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.byte(offset.wrapping_add(i as u32));
        }
    }

    /// Writes `data` at `offset`; host-owned PV info bytes are dropped.
    ///
    /// Returns the new `g2v_notify` value when the guest wrote one, for the
    /// caller to act on.
    pub fn write(&mut self, offset: u32, data: &[u8]) -> Option<u32> {
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
