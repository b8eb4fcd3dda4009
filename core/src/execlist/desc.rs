//! Context descriptors: the 64-bit values a guest writes to the ELSP.
//!
//! The layout is gen9's (`gt/intel_lrc.h`, GVT-g's
//! `execlist_ctx_descriptor_format`): flags and the LRCA in the low dword,
//! the context ID in the high dword.

/// Fields of a descriptor's low dword.
pub mod ldw {
    use crate::mmio::regs::Field;

    /// `GEN8_CTX_VALID`: the element holds a context.
    pub const VALID: Field = Field::bits(0, 0);
    /// `GEN8_CTX_FORCE_PD_RESTORE`.
    pub const FORCE_PD_RESTORE: Field = Field::bits(1, 1);
    /// `GEN8_CTX_FORCE_RESTORE`.
    pub const FORCE_RESTORE: Field = Field::bits(2, 2);
    /// Addressing mode (`INTEL_LEGACY_32B_CONTEXT` and friends).
    pub const ADDRESSING_MODE: Field = Field::bits(4, 3);
    /// `GEN8_CTX_PRIVILEGE`: the context may use privileged (GGTT) access.
    pub const PRIVILEGE: Field = Field::bits(8, 8);
    /// The logical ring context address: GGTT page of the context image.
    pub const LRCA: Field = Field::bits(31, 12);
}

/// `INTEL_LEGACY_32B_CONTEXT`: 3-level PPGTT, four PDPs in the image.
const MODE_LEGACY_32B: u32 = 1;
/// `INTEL_LEGACY_64B_CONTEXT`: 4-level PPGTT, the PML4 in PDP0.
const MODE_LEGACY_64B: u32 = 3;

/// How a context's PPGTT is rooted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Legacy 32-bit: a 3-level PPGTT rooted at four PDPs.
    Legacy32,
    /// Legacy 64-bit: a 4-level PPGTT rooted at a PML4 (what i915 uses
    /// with a 48-bit PPGTT).
    Legacy64,
}

/// Why a descriptor is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescError {
    /// Element 0 is not valid (a submission must start with a context).
    Invalid,
    /// The privilege bit is clear; GVT-g refuses these too ("unexpected
    /// GGTT elsp submission").
    NotPrivileged,
    /// Advanced (SVM) addressing, which neither GVT-g nor rgvt supports;
    /// the value is the mode field.
    Addressing(u32),
}

/// One context descriptor, as written (low and high dword).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Descriptor {
    /// Low dword: flags and LRCA.
    pub lo: u32,
    /// High dword: the context ID.
    pub hi: u32,
}

impl Descriptor {
    /// A descriptor from its two dwords.
    pub const fn new(lo: u32, hi: u32) -> Self {
        Self { lo, hi }
    }

    /// A descriptor from its 64-bit value.
    pub const fn from_u64(v: u64) -> Self {
        Self {
            lo: v as u32,
            hi: (v >> 32) as u32,
        }
    }

    /// Whether the element holds a context at all.
    pub const fn is_valid(self) -> bool {
        ldw::VALID.get(self.lo) != 0
    }

    /// GGTT address of the context image (its first page, the PPHWSP).
    pub const fn lrca(self) -> u32 {
        self.lo & ldw::LRCA.mask()
    }

    /// The context ID the guest chose; it comes back in the CSB events.
    pub const fn ctx_id(self) -> u32 {
        self.hi
    }

    /// GVT-g's `same_context`: same context ID and same image.
    pub const fn same_context(self, other: Descriptor) -> bool {
        self.ctx_id() == other.ctx_id() && self.lrca() == other.lrca()
    }

    /// The format checks of a valid element: privileged, legacy addressing.
    ///
    /// Whether the LRCA names memory of the vGPU is the caller's
    /// `GpuMemory`'s business when the image is read.
    pub fn check(self) -> Result<Mode, DescError> {
        if !self.is_valid() {
            return Err(DescError::Invalid);
        }
        if ldw::PRIVILEGE.get(self.lo) == 0 {
            return Err(DescError::NotPrivileged);
        }
        match ldw::ADDRESSING_MODE.get(self.lo) {
            MODE_LEGACY_32B => Ok(Mode::Legacy32),
            MODE_LEGACY_64B => Ok(Mode::Legacy64),
            m => Err(DescError::Addressing(m)),
        }
    }
}

/// The fields a descriptor is made of, for tests and tools that build one.
pub fn encode(lrca: u32, ctx_id: u32, mode: Mode) -> Descriptor {
    let m = match mode {
        Mode::Legacy32 => MODE_LEGACY_32B,
        Mode::Legacy64 => MODE_LEGACY_64B,
    };
    let lo = ldw::VALID.put(1)
        | ldw::PRIVILEGE.put(1)
        | ldw::ADDRESSING_MODE.put(m)
        | (lrca & ldw::LRCA.mask());
    Descriptor::new(lo, ctx_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i915_descriptors_decode() {
        // lrc_descriptor(): LEGACY_64B << 3 | VALID | PRIVILEGE | lrca, ccid above.
        let d = Descriptor::from_u64((0x1234u64 << 32) | (3 << 3) | 1 | (1 << 8) | 0x0012_3000);
        assert_eq!(d.check(), Ok(Mode::Legacy64));
        assert_eq!(d.lrca(), 0x0012_3000);
        assert_eq!(d.ctx_id(), 0x1234);
        assert_eq!(encode(0x0012_3000, 0x1234, Mode::Legacy64), d);
    }

    #[test]
    fn bad_descriptors_are_refused() {
        let good = encode(0x5000, 7, Mode::Legacy32);
        assert_eq!(good.check(), Ok(Mode::Legacy32));
        assert_eq!(
            Descriptor::new(good.lo & !1, 7).check(),
            Err(DescError::Invalid)
        );
        assert_eq!(
            Descriptor::new(good.lo & !(1 << 8), 7).check(),
            Err(DescError::NotPrivileged)
        );
        for m in [0, 2] {
            let lo = (good.lo & !ldw::ADDRESSING_MODE.mask()) | ldw::ADDRESSING_MODE.put(m);
            assert_eq!(
                Descriptor::new(lo, 7).check(),
                Err(DescError::Addressing(m))
            );
        }
        assert!(good.same_context(encode(0x5000, 7, Mode::Legacy64)));
        assert!(!good.same_context(encode(0x6000, 7, Mode::Legacy32)));
        assert!(!good.same_context(encode(0x5000, 8, Mode::Legacy32)));
    }
}
