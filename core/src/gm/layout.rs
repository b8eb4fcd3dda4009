//! Where low GM, high GM, the host's parts and the slots sit in the GGTT.

use super::Error;

/// Bytes of GM mapped by one GGTT entry.
pub const PAGE_SIZE: u64 = 4096;

/// Bytes of one GGTT entry (a gen8 PTE).
pub const ENTRY_SIZE: u64 = 8;

/// The most high-GM slots a layout may have; bounds [`super::SlotSet`].
pub const MAX_SLOTS: u32 = 256;

/// 1 MB, the unit GVT-g's types and this file's defaults are written in.
pub const MB: u64 = 1 << 20;

/// The GM layout's parameters, in bytes.
///
/// The defaults are the sim backend's (and the gBalloon testbed's): 4 GB of GM, 256 MB of it
/// low (aperture) with 64 MB kept by the host, 3840 MB high cut in sixty 64 MB slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Size of the whole GGTT address space (low + high GM).
    pub gm_size: u64,
    /// Size of low GM, the part the aperture (BAR2) maps; low GM starts at address 0.
    pub low_size: u64,
    /// Low GM at the start of the aperture kept by the host driver.
    pub low_reserved: u64,
    /// High GM right after low GM kept by the host driver.
    pub high_reserved: u64,
    /// Size of one high-GM slot (gScale uses 64 MB).
    pub slot_size: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gm_size: 4096 * MB,
            low_size: 256 * MB,
            low_reserved: 64 * MB,
            high_reserved: 0,
            slot_size: 64 * MB,
        }
    }
}

/// A validated GM layout with the conversions between addresses, GGTT indices and slots.
///
/// # Invariants
///
/// Every size is a non-zero multiple of [`PAGE_SIZE`] (the reserved parts may be zero),
/// `low_reserved < low_size < gm_size <= 4 GB` (the PV info page holds 32-bit addresses), and
/// `1 <= slots <= MAX_SLOTS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    cfg: Config,
    slots: u32,
}

impl Layout {
    /// Validates `cfg` and returns the layout, or [`Error::Invalid`].
    pub fn new(cfg: Config) -> Result<Self, Error> {
        let aligned = |v: u64| v % PAGE_SIZE == 0;
        if !(aligned(cfg.gm_size)
            && aligned(cfg.low_size)
            && aligned(cfg.low_reserved)
            && aligned(cfg.high_reserved)
            && aligned(cfg.slot_size))
            || cfg.slot_size == 0
            || cfg.gm_size > 4096 * MB
            || cfg.low_size >= cfg.gm_size
            || cfg.low_reserved >= cfg.low_size
        {
            return Err(Error::Invalid);
        }
        let high = cfg.gm_size - cfg.low_size;
        let usable = high.checked_sub(cfg.high_reserved).ok_or(Error::Invalid)?;
        let slots = usable / cfg.slot_size;
        if slots == 0 || slots > u64::from(MAX_SLOTS) {
            return Err(Error::Invalid);
        }
        // INVARIANT: checked above; `slots <= MAX_SLOTS` fits in u32.
        Ok(Layout {
            cfg,
            slots: slots as u32,
        })
    }

    /// Returns the parameters this layout was built from.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Returns `M`, the number of high-GM slots vGPUs share.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// Returns the number of GGTT entries (one per 4 KB page of GM).
    pub fn entries(&self) -> u64 {
        self.cfg.gm_size / PAGE_SIZE
    }

    /// Returns the number of GGTT entries of one slot.
    pub fn entries_per_slot(&self) -> u64 {
        self.cfg.slot_size / PAGE_SIZE
    }

    /// Returns the first low-GM address vGPUs may get (after the host's part).
    pub fn low_base(&self) -> u64 {
        self.cfg.low_reserved
    }

    /// Returns the end of low GM (the aperture size).
    pub fn low_end(&self) -> u64 {
        self.cfg.low_size
    }

    /// Returns the GM address of slot 0.
    pub fn high_base(&self) -> u64 {
        self.cfg.low_size + self.cfg.high_reserved
    }

    /// Returns the GM address where slot `slot` starts (`slot` may equal `M` for the end).
    pub fn slot_addr(&self, slot: u32) -> u64 {
        self.high_base() + u64::from(slot) * self.cfg.slot_size
    }

    /// Returns the GGTT index of the first entry of slot `slot`.
    pub fn slot_index(&self, slot: u32) -> u64 {
        self.slot_addr(slot) / PAGE_SIZE
    }

    /// Returns the slot holding GM address `addr`, if it is in the shared high GM.
    pub fn slot_of_addr(&self, addr: u64) -> Option<u32> {
        let off = addr.checked_sub(self.high_base())?;
        // `checked_div`: a panicking division is a path objtool cannot follow
        // in the kernel build (and `Layout::new` already refuses size 0).
        let slot = off.checked_div(self.cfg.slot_size)?;
        if slot < u64::from(self.slots) {
            // `slot < M <= MAX_SLOTS` fits in u32.
            Some(slot as u32)
        } else {
            None
        }
    }

    /// Returns the slot whose entries include GGTT index `index`.
    pub fn slot_of_index(&self, index: u64) -> Option<u32> {
        self.slot_of_addr(index.checked_mul(PAGE_SIZE)?)
    }

    /// Returns the GGTT index of the entry mapping GM address `addr`.
    pub fn index_of_addr(addr: u64) -> u64 {
        addr / PAGE_SIZE
    }

    /// Returns the GM address an entry at GGTT index `index` maps.
    pub fn addr_of_index(index: u64) -> u64 {
        index * PAGE_SIZE
    }

    /// Returns the offset in the vGPU's BAR0 GGTT window of the entry at GGTT index `index`.
    pub fn entry_offset(index: u64) -> u64 {
        index * ENTRY_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_gballoon_testbed() {
        let l = Layout::new(Config::default()).unwrap();
        assert_eq!(l.slots(), 60);
        assert_eq!(l.entries(), 1 << 20);
        assert_eq!(l.entries_per_slot(), 16384);
        assert_eq!(l.high_base(), 256 * MB);
        assert_eq!(l.slot_addr(1), 320 * MB);
        assert_eq!(l.slot_of_addr(320 * MB), Some(1));
        assert_eq!(l.slot_of_addr(320 * MB - 1), Some(0));
        assert_eq!(l.slot_of_addr(255 * MB), None);
        assert_eq!(l.slot_of_addr(4096 * MB), None);
        assert_eq!(l.slot_of_index(l.slot_index(59)), Some(59));
        assert_eq!(Layout::index_of_addr(l.slot_addr(2)), l.slot_index(2));
        assert_eq!(Layout::entry_offset(3), 24);
    }

    #[test]
    fn rejects_bad_configs() {
        let ok = Config::default();
        for bad in [
            Config { slot_size: 0, ..ok },
            Config {
                slot_size: 4097,
                ..ok
            },
            Config {
                low_size: ok.gm_size,
                ..ok
            },
            Config {
                low_reserved: ok.low_size,
                ..ok
            },
            Config {
                high_reserved: 3841 * MB,
                ..ok
            },
            Config {
                gm_size: 8192 * MB,
                ..ok
            },
            Config {
                slot_size: 4 * MB,
                ..ok
            },
        ] {
            assert_eq!(Layout::new(bad), Err(Error::Invalid), "{bad:?}");
        }
        let reserved = Layout::new(Config {
            high_reserved: 384 * MB,
            ..ok
        })
        .unwrap();
        assert_eq!(reserved.slots(), 54);
        assert_eq!(reserved.slot_addr(0), 640 * MB);
    }
}
