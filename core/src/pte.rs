//! Gen8+ graphics translation table entries: the GGTT PTE and the four PPGTT levels.
//!
//! This is the only place that knows the bit layout. Everything else asks these
//! types for the present bit, the frame and the page-size bits. Host entries are
//! built from validated fields only, never by masking the guest's value: the
//! GGTT's from the present bit and the pinned frame ([`GgttPte::host`]), the
//! PPGTT shadow's from the present bit, the guest's RW and PPAT-index bits and
//! the host frame ([`Entry::host_leaf`], [`Entry::host_dir`]).

/// Entries in one page-table page.
pub const ENTRIES: usize = 512;

/// Bytes in one entry.
pub const ENTRY_SIZE: usize = 8;

/// Bytes in one page.
pub const PAGE_SIZE: usize = 4096;

/// Bits of a byte address below the frame number.
pub const PAGE_SHIFT: u32 = 12;

/// Host address width the entries carry (GVT-g's `GTT_HAW`).
pub const ADDR_BITS: u32 = 46;

/// Bits of GPU virtual address a 4-level PPGTT translates.
pub const VA_BITS: u32 = 48;

/// Number of 4 KB entries a 64 KB entry spans in a PT whose PDE has the IPS bit.
pub const PTE_64K_STRIDE: usize = 16;

/// Number of 4 KB frames a 2 MB page spans.
pub const FRAMES_2M: u64 = 512;

const PRESENT: u64 = 1 << 0;
const RW: u64 = 1 << 1;
/// PPAT index bit 0 (x86's PWT position).
const PWT: u64 = 1 << 3;
/// PPAT index bit 1 (x86's PCD position).
const PCD: u64 = 1 << 4;
/// PS in a PDPE (1 GB page) or a PDE (2 MB page); in a PTE the same bit is PAT.
const PS: u64 = 1 << 7;
/// IPS in a PDE: the PT below holds 64 KB entries (every 16th entry is used).
const IPS: u64 = 1 << 11;

const fn addr_mask(low: u32) -> u64 {
    ((1u64 << ADDR_BITS) - 1) & !((1u64 << low) - 1)
}

const ADDR_4K: u64 = addr_mask(12);
const ADDR_64K: u64 = addr_mask(16);
const ADDR_2M: u64 = addr_mask(21);

/// A level of the 4-level PPGTT, named after the entries its pages hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Page-map level 4: the root, one entry per 512 GB.
    Pml4,
    /// Page-directory-pointer table: one entry per 1 GB.
    Pdp,
    /// Page directory: one entry per 2 MB.
    Pd,
    /// Page table: one entry per 4 KB page.
    Pt,
}

impl Level {
    /// All levels, root first.
    pub const ALL: [Level; 4] = [Level::Pml4, Level::Pdp, Level::Pd, Level::Pt];

    /// Position from the root (0) to the page table (3).
    pub const fn depth(self) -> usize {
        match self {
            Level::Pml4 => 0,
            Level::Pdp => 1,
            Level::Pd => 2,
            Level::Pt => 3,
        }
    }

    /// Lowest virtual-address bit this level's index uses.
    pub const fn shift(self) -> u32 {
        PAGE_SHIFT + 9 * (3 - self.depth() as u32)
    }

    /// Index into a page of this level for the GPU virtual address `va`.
    pub const fn index(self, va: u64) -> usize {
        ((va >> self.shift()) as usize) & (ENTRIES - 1)
    }

    /// The level one step closer to the pages, if any.
    pub const fn child(self) -> Option<Level> {
        match self {
            Level::Pml4 => Some(Level::Pdp),
            Level::Pdp => Some(Level::Pd),
            Level::Pd => Some(Level::Pt),
            Level::Pt => None,
        }
    }
}

/// One PPGTT entry at any level, as the guest (or the shadow) wrote it.
///
/// Accessors for bits that only exist at some levels (PS, IPS) are meaningful
/// only there; callers pick them by [`Level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry(u64);

impl Entry {
    /// Wraps a raw 64-bit entry.
    pub const fn from_raw(raw: u64) -> Self {
        Entry(raw)
    }

    /// Returns the raw 64-bit entry.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Returns a present, writable entry pointing at `frame` (used for scratch links).
    pub const fn pointer(frame: u64) -> Self {
        Entry(PRESENT | RW).with_frame(frame)
    }

    /// The shadow of this guest PTE, mapping host frame `frame`.
    ///
    /// Only what rgvt validates goes in: present, the guest's RW bit (i915
    /// clears it for read-only objects) and the three PPAT index bits (PWT,
    /// PCD and PAT at bit 7: the cache attributes the host's private PAT
    /// table defines), and the frame. Reserved and ignored bits of the
    /// guest's value never reach the GPU.
    pub const fn host_leaf(self, frame: u64) -> Self {
        Entry(PRESENT | (self.0 & (RW | PWT | PCD | PS))).with_frame(frame)
    }

    /// The shadow of this guest directory entry (PML4E, PDPE, PDE), pointing
    /// at the shadow page `frame`: present, RW, PWT and PCD; never PS or IPS
    /// (the shadow below is always a 4 KB-entry page).
    pub const fn host_dir(self, frame: u64) -> Self {
        Entry(PRESENT | (self.0 & (RW | PWT | PCD))).with_frame(frame)
    }

    /// Whether the hardware follows this entry.
    pub const fn present(self) -> bool {
        self.0 & PRESENT != 0
    }

    /// 4 KB frame number of the address field.
    pub const fn frame(self) -> u64 {
        (self.0 & ADDR_4K) >> PAGE_SHIFT
    }

    /// First 4 KB frame of the 64 KB page this PTE maps (under an IPS PDE).
    pub const fn frame_64k(self) -> u64 {
        (self.0 & ADDR_64K) >> PAGE_SHIFT
    }

    /// First 4 KB frame of the 2 MB page this PDE maps (with PS set).
    pub const fn frame_2m(self) -> u64 {
        (self.0 & ADDR_2M) >> PAGE_SHIFT
    }

    /// PS: a PDPE maps 1 GB, a PDE maps 2 MB.
    pub const fn ps(self) -> bool {
        self.0 & PS != 0
    }

    /// IPS: the PDE's page table holds 64 KB entries.
    pub const fn ips(self) -> bool {
        self.0 & IPS != 0
    }

    /// Same entry with the address field replaced by `frame`; other bits kept.
    pub const fn with_frame(self, frame: u64) -> Self {
        Entry((self.0 & !ADDR_4K) | ((frame << PAGE_SHIFT) & ADDR_4K))
    }

    /// Same entry with PS cleared (a huge mapping split into 4 KB entries).
    pub const fn without_ps(self) -> Self {
        Entry(self.0 & !PS)
    }

    /// Same entry with IPS cleared (the shadow splits 64 KB pages).
    pub const fn without_ips(self) -> Self {
        Entry(self.0 & !IPS)
    }

    /// Whether `frame` fits the address field.
    pub const fn frame_fits(frame: u64) -> bool {
        frame <= (ADDR_4K >> PAGE_SHIFT)
    }
}

/// One gen8+ GGTT PTE: present bit, 4 KB frame, other bits kept as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GgttPte(u64);

impl GgttPte {
    /// Wraps a raw 64-bit GGTT PTE.
    pub const fn from_raw(raw: u64) -> Self {
        GgttPte(raw)
    }

    /// Returns the raw 64-bit GGTT PTE.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Whether the GPU may access the page.
    pub const fn present(self) -> bool {
        self.0 & PRESENT != 0
    }

    /// 4 KB frame number of the address field.
    pub const fn frame(self) -> u64 {
        Entry(self.0).frame()
    }

    /// Same PTE with the address field replaced by `frame`; other bits kept.
    pub const fn with_frame(self, frame: u64) -> Self {
        GgttPte(Entry(self.0).with_frame(frame).raw())
    }

    /// Returns a present PTE for `frame` with no other bits.
    pub const fn new(frame: u64) -> Self {
        GgttPte(PRESENT).with_frame(frame)
    }

    /// Returns the host PTE for a guest entry, built from the fields rgvt validated: the
    /// present bit and the host `frame` (masked to the address field), nothing else.
    ///
    /// Never derive a host entry by masking the guest's value: every bit not named here is
    /// reserved or ignored on the GPUs rgvt emulates, and a guest must not reach the host's
    /// through them. Gen8/gen9 GGTT entries carry no cache bits (i915's `gen8_ggtt_pte_encode`
    /// sets only present and the address; a PAT index in the GGTT PTE is gen12.70+), so no
    /// cache field travels; a backend that allows one adds it here, validated.
    pub const fn host(present: bool, frame: u64) -> Self {
        GgttPte(if present { PRESENT } else { 0 }).with_frame(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_replacement_keeps_cache_bits() {
        // PWT, PCD, PAT and a high software bit as a guest might set them.
        let guest = Entry::from_raw(0x8000_0000_0000_0000 | (0x1234 << 12) | 0x9b);
        let shadow = guest.with_frame(0x5678);
        assert_eq!(shadow.frame(), 0x5678);
        assert_eq!(shadow.raw() & !ADDR_4K, guest.raw() & !ADDR_4K);
        assert!(shadow.present());
    }

    #[test]
    fn huge_frames_are_aligned() {
        let e = Entry::from_raw((0x12345 << 12) | PS | IPS | PRESENT);
        assert_eq!(e.frame_2m(), 0x12200);
        assert_eq!(e.frame_64k(), 0x12340);
        assert!(e.ps() && e.ips());
        assert!(!e.without_ps().ps() && !e.without_ips().ips());
    }

    #[test]
    fn level_indices() {
        let va = (3u64 << 39) | (4 << 30) | (5 << 21) | (6 << 12) | 0x123;
        let idx: [usize; 4] = Level::ALL.map(|l| l.index(va));
        assert_eq!(idx, [3, 4, 5, 6]);
        assert_eq!(Level::Pd.child(), Some(Level::Pt));
        assert_eq!(Level::Pt.child(), None);
    }

    #[test]
    fn address_field_is_bounded() {
        let e = Entry::default().with_frame(u64::MAX);
        assert_eq!(e.raw() & !ADDR_4K, 0);
        assert!(Entry::frame_fits(e.frame()));
        assert!(!Entry::frame_fits(e.frame() + 1));
        let g = GgttPte::new(0x42);
        assert!(g.present());
        assert_eq!(g.frame(), 0x42);
        assert_eq!(
            GgttPte::from_raw(g.raw() | 0x6).with_frame(7).raw(),
            (7 << 12) | 0x7
        );
    }

    #[test]
    fn ppgtt_shadow_entries_have_only_validated_fields() {
        let all = Entry::from_raw(u64::MAX);
        assert_eq!(
            all.host_leaf(7).raw(),
            (7 << 12) | PRESENT | RW | PWT | PCD | PS
        );
        assert_eq!(all.host_dir(7).raw(), (7 << 12) | PRESENT | RW | PWT | PCD);
        // A read-only uncached PTE keeps exactly that.
        let ro = Entry::from_raw(PRESENT | PWT | PCD | (0x1234 << 12));
        assert_eq!(ro.host_leaf(9).raw(), PRESENT | PWT | PCD | (9 << 12));
        // Bits above the address, and the IPS/ignored bits, never travel.
        let junk = Entry::from_raw(PRESENT | (1 << 63) | (0x7f << 52) | IPS | (1 << 9));
        assert_eq!(junk.host_leaf(1).raw(), PRESENT | (1 << 12));
        assert_eq!(junk.host_dir(1).raw(), PRESENT | (1 << 12));
    }

    #[test]
    fn host_pte_has_only_validated_fields() {
        // All ones around any frame: only present and the address survive.
        for frame in [0, 1, 0x1234, ADDR_4K >> PAGE_SHIFT, u64::MAX] {
            let h = GgttPte::host(true, frame).raw();
            assert_eq!(h & !ADDR_4K, PRESENT, "frame {frame:#x}");
            assert_eq!(h & ADDR_4K, (frame << PAGE_SHIFT) & ADDR_4K);
            assert_eq!(GgttPte::host(false, frame).raw() & !ADDR_4K, 0);
        }
    }
}
