//! What a vGPU's engines share: which engine, which address space, and the
//! two small traits through which the command parser (`cmd`) and the
//! execlists (`execlist`) touch the guest's memory and registers.
//!
//! The kernel implements [`GpuMemory`] over the vGPU's GGTT view and its
//! shadow PPGTT (every access validated, never a raw guest frame), and
//! [`RegFile`] over the vGPU's register model; the host tests implement both
//! over plain arrays.

use crate::mmio::regs::Bank;

/// A Skylake GT2 engine (the four i915 calls rcs0, bcs0, vcs0, vecs0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EngineId {
    /// Render (3D, GPGPU, MI).
    Rcs,
    /// Blitter (2D copies and fills).
    Bcs,
    /// Video decode/encode.
    Vcs,
    /// Video enhancement.
    Vecs,
}

impl EngineId {
    /// Every engine, in [`EngineId::index`] order.
    pub const ALL: [EngineId; 4] = [Self::Rcs, Self::Bcs, Self::Vcs, Self::Vecs];
    /// Number of engines.
    pub const COUNT: usize = 4;

    /// Position in [`EngineId::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Self::Rcs => 0,
            Self::Bcs => 1,
            Self::Vcs => 2,
            Self::Vecs => 3,
        }
    }

    /// i915's name for it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rcs => "rcs0",
            Self::Bcs => "bcs0",
            Self::Vcs => "vcs0",
            Self::Vecs => "vecs0",
        }
    }

    /// Base of its ring registers (`RENDER_RING_BASE` and friends).
    pub const fn mmio_base(self) -> u32 {
        match self {
            Self::Rcs => 0x2000,
            Self::Bcs => 0x22000,
            Self::Vcs => 0x12000,
            Self::Vecs => 0x1a000,
        }
    }

    /// The engine whose 4 KB ring-register page holds `offset`, and the
    /// offset inside that page.
    pub fn from_mmio(offset: u32) -> Option<(EngineId, u32)> {
        Self::ALL
            .into_iter()
            .find(|e| (e.mmio_base()..e.mmio_base() + 0x1000).contains(&offset))
            .map(|e| (e, offset - e.mmio_base()))
    }

    /// The GT interrupt bank and bit shift of its events (`gen8_gt_irq_handler`:
    /// RCS and BCS share GT 0 at shifts 0 and 16, VCS0 is GT 1 shift 0, VECS
    /// is GT 3 shift 0).
    pub const fn irq(self) -> (Bank, u32) {
        match self {
            Self::Rcs => (Bank::Gt(0), 0),
            Self::Bcs => (Bank::Gt(0), 16),
            Self::Vcs => (Bank::Gt(1), 0),
            Self::Vecs => (Bank::Gt(3), 0),
        }
    }
}

/// GT interrupt event bits of one engine, before its shift (`intel_gt_regs.h`).
pub mod irq_bit {
    /// `GT_RENDER_USER_INTERRUPT`: an `MI_USER_INTERRUPT` executed.
    pub const USER_INTERRUPT: u32 = 1 << 0;
    /// `GT_CONTEXT_SWITCH_INTERRUPT`: a context-status event was written.
    pub const CONTEXT_SWITCH: u32 = 1 << 8;
}

/// Which page tables translate a GPU address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// The vGPU's own view of the global GTT (its graphics-memory ranges).
    Ggtt,
    /// The running context's PPGTT, through rgvt's shadow of it.
    Ppgtt,
}

/// Why a GPU memory access failed. Either way nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemError {
    /// The address is outside the vGPU's graphics memory, or its entry is
    /// not present, or lands on scratch.
    Unmapped,
    /// The translation exists but the guest frame could not be accessed
    /// (not in the guest's memory, or the VMM unmapped it).
    Fault,
}

/// The guest memory the engines reach, by GPU virtual address.
///
/// Accesses may cross page boundaries; an implementation checks the whole
/// range before it writes anything, so a failed write has no effect.
pub trait GpuMemory {
    /// Reads `buf.len()` bytes at `addr` in `space`.
    fn read(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError>;

    /// Writes `data` at `addr` in `space`.
    fn write(&mut self, space: Space, addr: u64, data: &[u8]) -> Result<(), MemError>;

    /// Reads the little-endian dword at `addr`.
    fn read_u32(&mut self, space: Space, addr: u64) -> Result<u32, MemError> {
        let mut b = [0u8; 4];
        self.read(space, addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes the little-endian dword `value` at `addr`.
    fn write_u32(&mut self, space: Space, addr: u64, value: u32) -> Result<(), MemError> {
        self.write(space, addr, &value.to_le_bytes())
    }
}

/// A borrowed memory is a memory: lets a `&mut dyn GpuMemory` (the kernel's
/// backends take one) reach the cores' `impl GpuMemory` parameters.
impl<M: GpuMemory + ?Sized> GpuMemory for &mut M {
    fn read(&mut self, space: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        (**self).read(space, addr, buf)
    }

    fn write(&mut self, space: Space, addr: u64, data: &[u8]) -> Result<(), MemError> {
        (**self).write(space, addr, data)
    }
}

/// The vGPU's registers as its commands see them (`MI_LOAD_REGISTER_IMM`,
/// `MI_STORE_REGISTER_MEM`) and as the execlists update them (CSB, status).
///
/// Offsets are MMIO byte offsets (dword aligned); audit happens before a
/// write reaches this trait, never inside it.
pub trait RegFile {
    /// Reads the register at `offset`.
    fn read(&mut self, offset: u32) -> u32;

    /// Writes `value` to the register at `offset`, with the register's own
    /// behaviour (masked registers take the mask in the high half).
    fn write(&mut self, offset: u32, value: u32);
}

/// A borrowed register file is a register file (see the `GpuMemory` one).
impl<R: RegFile + ?Sized> RegFile for &mut R {
    fn read(&mut self, offset: u32) -> u32 {
        (**self).read(offset)
    }

    fn write(&mut self, offset: u32, value: u32) {
        (**self).write(offset, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flat([u8; 64], [u32; 4]);

    impl GpuMemory for Flat {
        fn read(&mut self, _: Space, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
            let a = addr as usize;
            let src = self.0.get(a..a + buf.len()).ok_or(MemError::Unmapped)?;
            buf.copy_from_slice(src);
            Ok(())
        }

        fn write(&mut self, _: Space, addr: u64, data: &[u8]) -> Result<(), MemError> {
            let a = addr as usize;
            let dst = self
                .0
                .get_mut(a..a + data.len())
                .ok_or(MemError::Unmapped)?;
            dst.copy_from_slice(data);
            Ok(())
        }
    }

    impl RegFile for Flat {
        fn read(&mut self, offset: u32) -> u32 {
            self.1[offset as usize / 4 % 4]
        }

        fn write(&mut self, offset: u32, value: u32) {
            self.1[offset as usize / 4 % 4] = value;
        }
    }

    fn through_impl(mut mem: impl GpuMemory, mut regs: impl RegFile) -> (u32, u32) {
        mem.write_u32(Space::Ggtt, 8, 0x1234).unwrap();
        regs.write(4, 7);
        (mem.read_u32(Space::Ggtt, 8).unwrap(), regs.read(4))
    }

    #[test]
    fn borrowed_dyn_memory_and_registers_forward() {
        let mut f = Flat([0; 64], [0; 4]);
        let mut g = Flat([0; 64], [0; 4]);
        let mem: &mut dyn GpuMemory = &mut f;
        let regs: &mut dyn RegFile = &mut g;
        assert_eq!(through_impl(mem, regs), (0x1234, 7));
        assert_eq!(f.0[8], 0x34);
        assert_eq!(g.1[1], 7);
        let mem: &mut dyn GpuMemory = &mut f;
        assert_eq!(mem.read_u32(Space::Ppgtt, 62), Err(MemError::Unmapped));
    }

    #[test]
    fn engines_are_found_by_offset() {
        for e in EngineId::ALL {
            assert_eq!(EngineId::from_mmio(e.mmio_base() + 0x230), Some((e, 0x230)));
            assert_eq!(EngineId::ALL[e.index()], e);
        }
        assert_eq!(EngineId::from_mmio(0x1000), None);
        assert_eq!(EngineId::from_mmio(0x3000), None);
    }
}
