//! The virtual PCI configuration space of a vGPU.
//!
//! The guest (through the VMM) reads and writes it like a real Intel GPU's:
//! identity and class are read-only, the command register and interrupt line
//! are writable, and BARs follow the sizing protocol (write all ones, read
//! back the size mask). Which bits a write may change is kept as a per-byte
//! write mask, so every register follows one rule and read-only fields can
//! never be changed by a write of any size or alignment.

/// Size of the conventional PCI configuration space.
pub const PCI_CFG_SPACE_SIZE: usize = 256;

/// Register offsets, named as in `include/uapi/linux/pci_regs.h`.
pub mod reg {
    /// Vendor ID (16 bits).
    pub const PCI_VENDOR_ID: usize = 0x00;
    /// Device ID (16 bits).
    pub const PCI_DEVICE_ID: usize = 0x02;
    /// Command register (16 bits).
    pub const PCI_COMMAND: usize = 0x04;
    /// Status register (16 bits).
    pub const PCI_STATUS: usize = 0x06;
    /// Revision ID (8 bits).
    pub const PCI_REVISION_ID: usize = 0x08;
    /// Class code: programming interface, subclass, base class (24 bits).
    pub const PCI_CLASS_PROG: usize = 0x09;
    /// Header type (8 bits).
    pub const PCI_HEADER_TYPE: usize = 0x0e;
    /// First base address register; BAR `n` is at `PCI_BASE_ADDRESS_0 + 4 * n`.
    pub const PCI_BASE_ADDRESS_0: usize = 0x10;
    /// Subsystem vendor ID (16 bits).
    pub const PCI_SUBSYSTEM_VENDOR_ID: usize = 0x2c;
    /// Subsystem ID (16 bits).
    pub const PCI_SUBSYSTEM_ID: usize = 0x2e;
    /// Capabilities pointer (8 bits).
    pub const PCI_CAPABILITY_LIST: usize = 0x34;
    /// Interrupt line (8 bits, writable scratch for the OS).
    pub const PCI_INTERRUPT_LINE: usize = 0x3c;
    /// Interrupt pin (8 bits).
    pub const PCI_INTERRUPT_PIN: usize = 0x3d;
    /// Graphics control (`SNB_GMCH_CTRL`, 16 bits): GGMS and GMS.
    pub const GMCH_CTRL: usize = 0x50;
    /// Base of data stolen memory (`BDSM`, 32 bits).
    pub const BDSM: usize = 0x5c;
    /// Where rgvt puts the MSI capability, as on a real Skylake IGD.
    pub const MSI_CAP: usize = 0xac;
    const _: () = assert!(MSI_CAP + super::msi::SIZEOF <= ASLS, "MSI overlaps ASLS");
    /// ASL storage, the OpRegion's guest physical address (`ASLS`, 32 bits).
    pub const ASLS: usize = 0xfc;
}

/// Fields of the MSI capability (`PCI_MSI_*` in `pci_regs.h`).
pub mod msi {
    /// Capability ID of MSI.
    pub const PCI_CAP_ID_MSI: u8 = 0x05;
    /// Offset of the message control word inside the capability.
    pub const PCI_MSI_FLAGS: usize = 2;
    /// Offset of the 32-bit message address.
    pub const PCI_MSI_ADDRESS_LO: usize = 4;
    /// Offset of the message data of a 32-bit capability.
    pub const PCI_MSI_DATA_32: usize = 8;
    /// Size of a 32-bit capability without per-vector masking.
    pub const SIZEOF: usize = 10;
    /// MSI enable (message control bit 0).
    pub const PCI_MSI_FLAGS_ENABLE: u16 = 1 << 0;
    /// Multiple message capable: log2 of the vectors (bits 3:1).
    pub const PCI_MSI_FLAGS_QMASK: u16 = 0x7 << 1;
    /// 64-bit address capable (bit 7).
    pub const PCI_MSI_FLAGS_64BIT: u16 = 1 << 7;
    /// Per-vector masking capable (bit 8).
    pub const PCI_MSI_FLAGS_MASKBIT: u16 = 1 << 8;
}

/// Fields of the graphics control register at [`reg::GMCH_CTRL`] (gen8+).
pub mod gmch {
    /// GTT graphics memory size: the GGTT is `1 << GGMS` MB (bits 7:6,
    /// `BDW_GMCH_GGMS_*`); 0 means no GGTT.
    pub const GGMS_SHIFT: u32 = 6;
    /// Mask of GGMS after shifting.
    pub const GGMS_MASK: u16 = 0x3;
    /// Graphics mode select: stolen memory size (bits 15:8, `BDW_GMCH_GMS_*`).
    pub const GMS_SHIFT: u32 = 8;
}

/// Status register bit: the capability list at 0x34 is valid.
pub const PCI_STATUS_CAP_LIST: u16 = 1 << 4;

/// Command register bits the guest may set (`PCI_COMMAND_*`).
pub mod command {
    /// Respond to I/O space accesses.
    pub const PCI_COMMAND_IO: u16 = 1 << 0;
    /// Respond to memory space accesses.
    pub const PCI_COMMAND_MEMORY: u16 = 1 << 1;
    /// Bus mastering (DMA).
    pub const PCI_COMMAND_MASTER: u16 = 1 << 2;
    /// Parity error response.
    pub const PCI_COMMAND_PARITY: u16 = 1 << 6;
    /// SERR# enable.
    pub const PCI_COMMAND_SERR: u16 = 1 << 8;
    /// INTx emulation disable.
    pub const PCI_COMMAND_INTX_DISABLE: u16 = 1 << 10;
}

/// BAR type bits in the low dword (`PCI_BASE_ADDRESS_*`).
const PCI_BASE_ADDRESS_SPACE_IO: u32 = 0x01;
const PCI_BASE_ADDRESS_MEM_TYPE_64: u32 = 0x04;
const PCI_BASE_ADDRESS_MEM_PREFETCH: u32 = 0x08;
const PCI_HEADER_TYPE_NORMAL: u8 = 0;
/// Display controller, VGA compatible.
const PCI_CLASS_DISPLAY_VGA: u32 = 0x03_0000;
/// Intel's PCI vendor ID.
pub const PCI_VENDOR_ID_INTEL: u16 = 0x8086;

/// What one BAR decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// 64-bit memory BAR (takes two BAR slots).
    Mem64 {
        /// Whether the memory is prefetchable.
        prefetchable: bool,
    },
    /// 32-bit memory BAR.
    Mem32,
    /// I/O port BAR.
    Io,
}

/// One base address register: its kind and size (a power of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    /// BAR index, 0..=5.
    pub index: usize,
    /// What it decodes.
    pub kind: BarKind,
    /// Size in bytes; a power of two of at least 16 (4 for I/O).
    pub size: u64,
}

impl Bar {
    fn flags(&self) -> u32 {
        match self.kind {
            BarKind::Mem64 { prefetchable } => {
                PCI_BASE_ADDRESS_MEM_TYPE_64
                    | if prefetchable {
                        PCI_BASE_ADDRESS_MEM_PREFETCH
                    } else {
                        0
                    }
            }
            BarKind::Mem32 => 0,
            BarKind::Io => PCI_BASE_ADDRESS_SPACE_IO,
        }
    }

    fn valid(&self) -> bool {
        let min = if self.kind == BarKind::Io { 4 } else { 16 };
        let slots = if matches!(self.kind, BarKind::Mem64 { .. }) {
            2
        } else {
            1
        };
        let max = if matches!(self.kind, BarKind::Mem64 { .. }) {
            1u64 << 63
        } else {
            1u64 << 31
        };
        self.size.is_power_of_two() && (min..=max).contains(&self.size) && self.index + slots <= 6
    }
}

/// An access outside the configuration space, or a bad layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CfgError {
    /// The access reaches past the end of the space or is empty.
    OutOfRange,
    /// A BAR layout that no device could have (bad size, overlapping slots).
    BadBar,
    /// A graphics memory size that GGMS cannot express (1, 2 or 4 GB).
    BadGm,
}

/// The GGMS value for `gm_size` bytes of graphics memory (gen8+).
///
/// Each 8-byte GGTT entry maps 4 KB, so the GGTT takes `gm_size / 512`
/// bytes; GGMS is its size as `1 << GGMS` MB (`gen8_get_total_gtt_size` in
/// i915), which makes 1, 2 and 4 GB the only sizes it can state.
pub fn ggms(gm_size: u64) -> Result<u16, CfgError> {
    let ggtt_mb = (gm_size / 512) >> 20;
    if gm_size % (512 << 20) != 0 || !ggtt_mb.is_power_of_two() {
        return Err(CfgError::BadGm);
    }
    let ggms = ggtt_mb.trailing_zeros() as u16;
    if ggms == 0 || ggms > gmch::GGMS_MASK {
        return Err(CfgError::BadGm);
    }
    Ok(ggms)
}

/// The graphics memory size a GMCH control value states, as i915 computes
/// it (`gen8_get_total_gtt_size` times 4 KB per 8-byte entry).
pub fn gm_size_of(gmch_ctrl: u16) -> u64 {
    let ggms = (gmch_ctrl >> gmch::GGMS_SHIFT) & gmch::GGMS_MASK;
    if ggms == 0 {
        return 0;
    }
    ((1u64 << ggms) << 20) / 8 * 4096
}

/// What identifies the emulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Revision ID.
    pub revision: u8,
    /// Class code (base class, subclass, programming interface).
    pub class: u32,
    /// Subsystem vendor ID.
    pub subsystem_vendor: u16,
    /// Subsystem ID.
    pub subsystem: u16,
}

impl Identity {
    /// An Intel gen9 GPU (Skylake GT2, HD Graphics 530, as GVT-g's hosts).
    pub const INTEL_SKL_GT2: Self = Self {
        vendor: PCI_VENDOR_ID_INTEL,
        device: 0x1912,
        revision: 0x06,
        class: PCI_CLASS_DISPLAY_VGA,
        subsystem_vendor: PCI_VENDOR_ID_INTEL,
        subsystem: 0x2015,
    };
}

/// A virtual PCI configuration space.
///
/// # Invariants
///
/// Bytes outside `wmask` only change through [`ConfigSpace::new`]; each BAR's
/// flag bits and the bits below its size are read-only, so a BAR always reads
/// back as an address aligned to its size with its type flags.
#[derive(Clone)]
pub struct ConfigSpace {
    bytes: [u8; PCI_CFG_SPACE_SIZE],
    wmask: [u8; PCI_CFG_SPACE_SIZE],
    /// Built by [`ConfigSpace::new_igd`]: has the MSI capability and the
    /// read-only graphics registers.
    igd: bool,
    igd_ro_dropped: u64,
}

impl ConfigSpace {
    /// Builds a type-0 header for `id` with the given BARs and INTA#.
    pub fn new(id: &Identity, bars: &[Bar]) -> Result<Self, CfgError> {
        let mut cs = Self {
            bytes: [0; PCI_CFG_SPACE_SIZE],
            wmask: [0; PCI_CFG_SPACE_SIZE],
            igd: false,
            igd_ro_dropped: 0,
        };
        cs.put(reg::PCI_VENDOR_ID, &id.vendor.to_le_bytes());
        cs.put(reg::PCI_DEVICE_ID, &id.device.to_le_bytes());
        cs.put(reg::PCI_REVISION_ID, &[id.revision]);
        cs.put(reg::PCI_CLASS_PROG, &id.class.to_le_bytes()[..3]);
        cs.put(reg::PCI_HEADER_TYPE, &[PCI_HEADER_TYPE_NORMAL]);
        cs.put(
            reg::PCI_SUBSYSTEM_VENDOR_ID,
            &id.subsystem_vendor.to_le_bytes(),
        );
        cs.put(reg::PCI_SUBSYSTEM_ID, &id.subsystem.to_le_bytes());
        cs.put(reg::PCI_INTERRUPT_PIN, &[1]);

        use command::*;
        let cmd_mask = PCI_COMMAND_IO
            | PCI_COMMAND_MEMORY
            | PCI_COMMAND_MASTER
            | PCI_COMMAND_PARITY
            | PCI_COMMAND_SERR
            | PCI_COMMAND_INTX_DISABLE;
        cs.mask(reg::PCI_COMMAND, &cmd_mask.to_le_bytes());
        cs.mask(reg::PCI_INTERRUPT_LINE, &[0xff]);

        let mut used = 0u8;
        for bar in bars {
            if !bar.valid() {
                return Err(CfgError::BadBar);
            }
            let slots: u8 = if matches!(bar.kind, BarKind::Mem64 { .. }) {
                0b11
            } else {
                0b01
            };
            let bit = slots << bar.index;
            if used & bit != 0 {
                return Err(CfgError::BadBar);
            }
            used |= bit;
            let off = reg::PCI_BASE_ADDRESS_0 + 4 * bar.index;
            // The address bits at and above the size are writable; the
            // flags and the bits below the size read back as fixed.
            let addr_mask = !(bar.size - 1);
            cs.put(off, &bar.flags().to_le_bytes());
            cs.mask(off, &(addr_mask as u32 & !0xf).to_le_bytes());
            if matches!(bar.kind, BarKind::Mem64 { .. }) {
                cs.mask(off + 4, &((addr_mask >> 32) as u32).to_le_bytes());
            }
        }
        Ok(cs)
    }

    /// Builds an Intel IGD's space: [`ConfigSpace::new`] plus the MSI
    /// capability and the graphics registers i915 reads, for `gm_size` bytes
    /// of graphics memory.
    ///
    /// GVT-g's choices (`intel_vgpu_init_cfg_space`): GMS is 0, so the guest
    /// sees no stolen memory (i915 does not use it on a vGPU anyway), and
    /// ASLS is 0, so there is no OpRegion. rgvt has no host stolen memory
    /// to show, so BDSM is 0 too. All three are read-only: a guest write is
    /// dropped and counted ([`ConfigSpace::igd_ro_dropped`]). The MSI
    /// capability sits at 0xac as on a real Skylake and is the only one:
    /// 32-bit address, one vector, no per-vector masking; its enable bit,
    /// address and data are writable as a real device's, because QEMU
    /// writes them through while it emulates MSI itself.
    pub fn new_igd(id: &Identity, bars: &[Bar], gm_size: u64) -> Result<Self, CfgError> {
        let ggms = ggms(gm_size)?;
        let mut cs = Self::new(id, bars)?;
        cs.igd = true;
        cs.put(reg::PCI_STATUS, &PCI_STATUS_CAP_LIST.to_le_bytes());
        cs.put(reg::PCI_CAPABILITY_LIST, &[reg::MSI_CAP as u8]);
        // Next pointer 0: MSI ends the list. Message control: one vector
        // (QMASK 0), no 64-bit address, no masking; only ENABLE is writable.
        cs.put(reg::MSI_CAP, &[msi::PCI_CAP_ID_MSI, 0]);
        cs.mask(
            reg::MSI_CAP + msi::PCI_MSI_FLAGS,
            &msi::PCI_MSI_FLAGS_ENABLE.to_le_bytes(),
        );
        // The address is dword aligned (bits 1:0 read as 0).
        cs.mask(
            reg::MSI_CAP + msi::PCI_MSI_ADDRESS_LO,
            &0xffff_fffcu32.to_le_bytes(),
        );
        cs.mask(reg::MSI_CAP + msi::PCI_MSI_DATA_32, &[0xff, 0xff]);
        cs.put(reg::GMCH_CTRL, &(ggms << gmch::GGMS_SHIFT).to_le_bytes());
        Ok(cs)
    }

    /// Whether the guest (through the VMM) enabled MSI.
    pub fn msi_enabled(&self) -> bool {
        self.has_msi()
            && self.u16_at(reg::MSI_CAP + msi::PCI_MSI_FLAGS) & msi::PCI_MSI_FLAGS_ENABLE != 0
    }

    /// The MSI message (address, data) the guest programmed.
    pub fn msi_message(&self) -> Option<(u32, u16)> {
        if !self.has_msi() {
            return None;
        }
        let a = reg::MSI_CAP + msi::PCI_MSI_ADDRESS_LO;
        let addr = u32::from_le_bytes([
            self.bytes[a],
            self.bytes[a + 1],
            self.bytes[a + 2],
            self.bytes[a + 3],
        ]);
        Some((addr, self.u16_at(reg::MSI_CAP + msi::PCI_MSI_DATA_32)))
    }

    /// Whether the guest disabled INTx in the command register.
    pub fn intx_disabled(&self) -> bool {
        self.u16_at(reg::PCI_COMMAND) & command::PCI_COMMAND_INTX_DISABLE != 0
    }

    /// Guest writes to GMCH control, BDSM or ASLS, all dropped.
    pub fn igd_ro_dropped(&self) -> u64 {
        self.igd_ro_dropped
    }

    fn has_msi(&self) -> bool {
        self.igd
    }

    fn u16_at(&self, offset: usize) -> u16 {
        u16::from_le_bytes([self.bytes[offset], self.bytes[offset + 1]])
    }

    fn put(&mut self, offset: usize, value: &[u8]) {
        self.bytes[offset..offset + value.len()].copy_from_slice(value);
    }

    fn mask(&mut self, offset: usize, mask: &[u8]) {
        self.wmask[offset..offset + mask.len()].copy_from_slice(mask);
    }

    fn range(offset: usize, len: usize) -> Result<core::ops::Range<usize>, CfgError> {
        let end = offset.checked_add(len).ok_or(CfgError::OutOfRange)?;
        if len == 0 || end > PCI_CFG_SPACE_SIZE {
            return Err(CfgError::OutOfRange);
        }
        Ok(offset..end)
    }

    /// Copies `buf.len()` bytes starting at `offset` into `buf`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), CfgError> {
        let r = Self::range(offset, buf.len())?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    /// Writes `data` at `offset`; only the writable bits change.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), CfgError> {
        let r = Self::range(offset, data.len())?;
        let igd_ro = [
            reg::GMCH_CTRL..reg::GMCH_CTRL + 2,
            reg::BDSM..reg::BDSM + 4,
            reg::ASLS..reg::ASLS + 4,
        ];
        if self.igd && igd_ro.iter().any(|ro| ro.start < r.end && r.start < ro.end) {
            self.igd_ro_dropped += 1;
        }
        for ((b, m), d) in self.bytes[r.clone()]
            .iter_mut()
            .zip(&self.wmask[r])
            .zip(data)
        {
            *b = (*b & !m) | (d & m);
        }
        Ok(())
    }

    /// Reads a little-endian dword at `offset`.
    pub fn read_u32(&self, offset: usize) -> Result<u32, CfgError> {
        let mut b = [0u8; 4];
        self.read(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Returns the address BAR `index` is programmed to (flags removed).
    pub fn bar_address(&self, index: usize) -> Result<u64, CfgError> {
        let off = reg::PCI_BASE_ADDRESS_0 + 4 * index;
        let lo = self.read_u32(off)?;
        if lo & PCI_BASE_ADDRESS_SPACE_IO != 0 {
            return Ok(u64::from(lo & !0x3));
        }
        let hi = if lo & PCI_BASE_ADDRESS_MEM_TYPE_64 != 0 {
            self.read_u32(off + 4)?
        } else {
            0
        };
        Ok((u64::from(hi) << 32) | u64::from(lo & !0xf))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    const BAR0: Bar = Bar {
        index: 0,
        kind: BarKind::Mem64 {
            prefetchable: false,
        },
        size: 16 << 20,
    };
    const BAR2: Bar = Bar {
        index: 2,
        kind: BarKind::Mem64 { prefetchable: true },
        size: 256 << 20,
    };

    pub(crate) fn gpu() -> ConfigSpace {
        ConfigSpace::new(&Identity::INTEL_SKL_GT2, &[BAR0, BAR2]).unwrap()
    }

    #[test]
    fn identity_reads_back() {
        let cs = gpu();
        assert_eq!(cs.read_u32(reg::PCI_VENDOR_ID).unwrap(), 0x1912_8086);
        assert_eq!(cs.read_u32(reg::PCI_REVISION_ID).unwrap(), 0x0300_0006);
        assert_eq!(cs.read_u32(reg::PCI_BASE_ADDRESS_0).unwrap(), 0x4);
        assert_eq!(cs.read_u32(reg::PCI_BASE_ADDRESS_0 + 8).unwrap(), 0xc);
    }

    #[test]
    fn bar_sizing_protocol() {
        let mut cs = gpu();
        let off = reg::PCI_BASE_ADDRESS_0;
        cs.write(off, &[0xff; 4]).unwrap();
        cs.write(off + 4, &[0xff; 4]).unwrap();
        let lo = cs.read_u32(off).unwrap();
        let hi = cs.read_u32(off + 4).unwrap();
        let size = !((u64::from(hi) << 32) | u64::from(lo & !0xf)) + 1;
        assert_eq!(size, 16 << 20);
        assert_eq!(lo & 0xf, 0x4, "flags survive sizing");
        cs.write(off, &0xfe00_0000u32.to_le_bytes()).unwrap();
        cs.write(off + 4, &0u32.to_le_bytes()).unwrap();
        assert_eq!(cs.bar_address(0).unwrap(), 0xfe00_0000);
    }

    #[test]
    fn read_only_fields_stay() {
        let mut cs = gpu();
        cs.write(0, &[0xff; 4]).unwrap();
        cs.write(reg::PCI_INTERRUPT_PIN, &[7]).unwrap();
        assert_eq!(cs.read_u32(0).unwrap(), 0x1912_8086);
        let mut pin = [0u8];
        cs.read(reg::PCI_INTERRUPT_PIN, &mut pin).unwrap();
        assert_eq!(pin, [1]);
        cs.write(reg::PCI_COMMAND, &[0xff, 0xff]).unwrap();
        assert_eq!(cs.read_u32(reg::PCI_COMMAND).unwrap() & 0xffff, 0x0547);
    }

    #[test]
    fn out_of_range_and_bad_layouts() {
        let mut cs = gpu();
        assert_eq!(cs.read(255, &mut [0; 2]), Err(CfgError::OutOfRange));
        assert_eq!(cs.write(256, &[0]), Err(CfgError::OutOfRange));
        assert_eq!(cs.read(usize::MAX, &mut [0; 2]), Err(CfgError::OutOfRange));
        assert_eq!(cs.read(0, &mut []), Err(CfgError::OutOfRange));
        let odd = Bar {
            size: 3 << 20,
            ..BAR0
        };
        assert!(ConfigSpace::new(&Identity::INTEL_SKL_GT2, &[odd]).is_err());
        let overlap = Bar { index: 1, ..BAR2 };
        assert!(ConfigSpace::new(&Identity::INTEL_SKL_GT2, &[BAR0, overlap]).is_err());
        let past_end = Bar { index: 5, ..BAR0 };
        assert!(ConfigSpace::new(&Identity::INTEL_SKL_GT2, &[past_end]).is_err());
    }

    pub(crate) fn igd(gm: u64) -> ConfigSpace {
        ConfigSpace::new_igd(&Identity::INTEL_SKL_GT2, &[BAR0, BAR2], gm).unwrap()
    }

    fn byte(cs: &ConfigSpace, off: usize) -> u8 {
        let mut b = [0u8];
        cs.read(off, &mut b).unwrap();
        b[0]
    }

    pub(crate) fn word(cs: &ConfigSpace, off: usize) -> u16 {
        let mut b = [0u8; 2];
        cs.read(off, &mut b).unwrap();
        u16::from_le_bytes(b)
    }

    /// Walks the capability list as QEMU's `vfio_add_std_cap` and Linux's
    /// `pci_find_capability` do: status bit, pointer at 0x34 (low two bits
    /// ignored), each entry in the space after the header, at most 48 hops.
    pub(crate) fn walk_caps(cs: &ConfigSpace) -> Result<std::vec::Vec<(usize, u8)>, &'static str> {
        let mut caps = std::vec::Vec::new();
        if word(cs, reg::PCI_STATUS) & PCI_STATUS_CAP_LIST == 0 {
            return Ok(caps);
        }
        let mut pos = usize::from(byte(cs, reg::PCI_CAPABILITY_LIST) & !3);
        let mut ttl = 48;
        while pos != 0 {
            if !(0x40..=PCI_CFG_SPACE_SIZE - 4).contains(&pos) {
                return Err("capability outside the device-specific space");
            }
            ttl -= 1;
            if ttl == 0 {
                return Err("capability loop");
            }
            caps.push((pos, byte(cs, pos)));
            pos = usize::from(byte(cs, pos + 1) & !3);
        }
        Ok(caps)
    }

    #[test]
    fn msi_capability_parses_like_qemu() {
        let cs = igd(4 << 30);
        let caps = walk_caps(&cs).unwrap();
        assert_eq!(caps, [(0xac, msi::PCI_CAP_ID_MSI)]);
        let ctrl = word(&cs, 0xac + msi::PCI_MSI_FLAGS);
        // QEMU's vfio_msi_setup: 1 << QMASK vectors, 32-bit, no masking.
        assert_eq!(1 << ((ctrl & msi::PCI_MSI_FLAGS_QMASK) >> 1), 1);
        assert_eq!(ctrl & msi::PCI_MSI_FLAGS_64BIT, 0);
        assert_eq!(ctrl & msi::PCI_MSI_FLAGS_MASKBIT, 0);
        assert_eq!(byte(&cs, reg::PCI_INTERRUPT_PIN), 1);
        assert!(!cs.msi_enabled());
        // A plain (non-IGD) space has no capabilities.
        assert!(walk_caps(&gpu()).unwrap().is_empty());
    }

    #[test]
    fn msi_is_programmable() {
        let mut cs = igd(4 << 30);
        cs.write(0xac + 4, &0xfee0_1003u32.to_le_bytes()).unwrap();
        cs.write(0xac + 8, &0x4041u16.to_le_bytes()).unwrap();
        cs.write(0xac + 2, &0xffffu16.to_le_bytes()).unwrap();
        assert!(cs.msi_enabled());
        assert_eq!(cs.msi_message(), Some((0xfee0_1000, 0x4041)));
        assert_eq!(
            word(&cs, 0xac + 2),
            msi::PCI_MSI_FLAGS_ENABLE,
            "only ENABLE sticks"
        );
        // The ID and next pointer are fixed.
        cs.write(0xac, &[0xff, 0xff]).unwrap();
        assert_eq!(walk_caps(&cs).unwrap(), [(0xac, msi::PCI_CAP_ID_MSI)]);
        cs.write(0xac + 2, &[0]).unwrap();
        assert!(!cs.msi_enabled());
        assert_eq!(gpu().msi_message(), None);
    }

    #[test]
    fn ggms_for_1_2_4_gb() {
        for (gm, ggms_val) in [(1u64 << 30, 1u16), (2 << 30, 2), (4 << 30, 3)] {
            assert_eq!(ggms(gm), Ok(ggms_val));
            let cs = igd(gm);
            let ctrl = word(&cs, reg::GMCH_CTRL);
            assert_eq!((ctrl >> gmch::GGMS_SHIFT) & gmch::GGMS_MASK, ggms_val);
            assert_eq!(ctrl >> gmch::GMS_SHIFT, 0, "no stolen memory");
            assert_eq!(gm_size_of(ctrl), gm, "i915 computes the same size back");
        }
        for bad in [0, 512 << 20, 3 << 30, 8 << 30, (1 << 30) + 4096] {
            assert_eq!(ggms(bad), Err(CfgError::BadGm), "{bad:#x}");
        }
        assert_eq!(gm_size_of(0), 0);
    }

    #[test]
    fn igd_registers_are_read_only() {
        let mut cs = igd(2 << 30);
        let before = (
            cs.read_u32(reg::GMCH_CTRL).unwrap(),
            cs.read_u32(reg::BDSM).unwrap(),
            cs.read_u32(reg::ASLS).unwrap(),
        );
        cs.write(reg::GMCH_CTRL, &[0xff; 4]).unwrap();
        cs.write(reg::BDSM, &[0xff; 4]).unwrap();
        cs.write(reg::ASLS + 2, &[0xff; 2]).unwrap();
        cs.write(reg::PCI_STATUS, &[0; 2]).unwrap();
        cs.write(reg::PCI_CAPABILITY_LIST, &[0x40]).unwrap();
        let after = (
            cs.read_u32(reg::GMCH_CTRL).unwrap(),
            cs.read_u32(reg::BDSM).unwrap(),
            cs.read_u32(reg::ASLS).unwrap(),
        );
        assert_eq!(before, after);
        assert_eq!(cs.igd_ro_dropped(), 3);
        assert_eq!(walk_caps(&cs).unwrap().len(), 1);
        cs.write(
            reg::PCI_COMMAND,
            &command::PCI_COMMAND_INTX_DISABLE.to_le_bytes(),
        )
        .unwrap();
        assert!(cs.intx_disabled());
    }

    proptest! {
        /// Whatever an IGD space is written, its capability list still
        /// parses and the graphics registers keep their values.
        #[test]
        fn igd_writes_keep_caps_and_gmch(
            writes in proptest::collection::vec((0usize..256, proptest::collection::vec(any::<u8>(), 1..8)), 0..64)
        ) {
            let mut cs = igd(4 << 30);
            for (off, data) in &writes {
                let _ = cs.write(*off, data);
            }
            prop_assert_eq!(walk_caps(&cs).unwrap(), std::vec![(0xac, msi::PCI_CAP_ID_MSI)]);
            prop_assert_eq!(gm_size_of(word(&cs, reg::GMCH_CTRL)), 4 << 30);
            prop_assert_eq!(cs.read_u32(reg::BDSM).unwrap(), 0);
            prop_assert_eq!(cs.read_u32(reg::ASLS).unwrap(), 0);
            prop_assert_eq!(word(&cs, 0xac + msi::PCI_MSI_FLAGS) & !msi::PCI_MSI_FLAGS_ENABLE, 0);
        }

        /// Whatever is written, identity and BAR alignment hold.
        #[test]
        fn writes_never_break_invariants(
            writes in proptest::collection::vec((0usize..256, proptest::collection::vec(any::<u8>(), 1..8)), 0..64)
        ) {
            let mut cs = gpu();
            for (off, data) in &writes {
                let _ = cs.write(*off, data);
            }
            prop_assert_eq!(cs.read_u32(0).unwrap(), 0x1912_8086);
            prop_assert_eq!(cs.bar_address(0).unwrap() % (16 << 20), 0);
            prop_assert_eq!(cs.bar_address(2).unwrap() % (256 << 20), 0);
            prop_assert_eq!(cs.read_u32(reg::PCI_BASE_ADDRESS_0).unwrap() & 0xf, 0x4);
        }
    }
}
