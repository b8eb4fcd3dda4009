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
}

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
}

impl ConfigSpace {
    /// Builds a type-0 header for `id` with the given BARs and INTA#.
    pub fn new(id: &Identity, bars: &[Bar]) -> Result<Self, CfgError> {
        let mut cs = Self {
            bytes: [0; PCI_CFG_SPACE_SIZE],
            wmask: [0; PCI_CFG_SPACE_SIZE],
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
mod tests {
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

    fn gpu() -> ConfigSpace {
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

    proptest! {
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
