//! One shadow page-table page (GVT-g's `intel_vgpu_ppgtt_spt`) and its per-entry links.

use crate::pte::{Level, ENTRIES};
use crate::storage::Alloc;

/// What a shadow page shadows, which fixes how its entries are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A guest PML4 page.
    Pml4,
    /// A guest PDP page.
    Pdp,
    /// A guest PD page.
    Pd,
    /// A guest PT page of 4 KB entries.
    Pt,
    /// A guest PT page under an IPS PDE: every 16th entry maps 64 KB.
    Pt64K,
    /// No guest page: 512 4 KB entries splitting one guest 2 MB PDE.
    Split,
}

impl Kind {
    /// The level of the entries this page holds.
    pub(crate) const fn level(self) -> Level {
        match self {
            Kind::Pml4 => Level::Pml4,
            Kind::Pdp => Level::Pdp,
            Kind::Pd => Level::Pd,
            Kind::Pt | Kind::Pt64K | Kind::Split => Level::Pt,
        }
    }

    /// Small number used in the lookup key.
    pub(crate) const fn code(self) -> u64 {
        match self {
            Kind::Pml4 => 0,
            Kind::Pdp => 1,
            Kind::Pd => 2,
            Kind::Pt => 3,
            Kind::Pt64K => 4,
            Kind::Split => 5,
        }
    }

    /// Whether pages of this kind may run relaxed (gHyvi relaxes PT pages only).
    pub(crate) const fn relaxable(self) -> bool {
        matches!(self, Kind::Pt | Kind::Pt64K)
    }
}

/// Lookup key of a guest-backed shadow page: its guest frame and kind.
pub(crate) const fn key(gfn: u64, kind: Kind) -> u64 {
    (gfn << 3) | kind.code()
}

/// The host resource one shadow entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// Points at a scratch page; holds nothing.
    Scratch,
    /// Points at the pinned host frame of this guest frame.
    Frame(u64),
    /// Points at the shadow page with this id (one reference).
    Child(u32),
}

const LINK_FRAME: u64 = 1 << 63;
const LINK_CHILD: u64 = 1 << 62;
const LINK_VALUE: u64 = LINK_CHILD - 1;

impl Link {
    /// Packs the link into one word, so a page's links cost 4 KB.
    pub(crate) const fn raw(self) -> u64 {
        match self {
            Link::Scratch => 0,
            Link::Frame(gfn) => LINK_FRAME | (gfn & LINK_VALUE),
            Link::Child(id) => LINK_CHILD | id as u64,
        }
    }

    /// Unpacks a word made by [`Link::raw`].
    pub(crate) const fn from_raw(raw: u64) -> Link {
        if raw & LINK_FRAME != 0 {
            Link::Frame(raw & LINK_VALUE)
        } else if raw & LINK_CHILD != 0 {
            Link::Child((raw & LINK_VALUE) as u32)
        } else {
            Link::Scratch
        }
    }
}

/// Words of the per-entry "one half arrived" bitmap (two bits per entry).
pub(crate) const PENDING_WORDS: usize = ENTRIES * 2 / 64;

/// One shadow page-table page.
///
/// # Invariants
///
/// `links` has 512 entries; `guest` has 512 entries unless `kind` is
/// [`Kind::Split`] (then it is empty). Entry `i` of the store page `mfn` points
/// at what `links[i]` holds, or at the level's scratch page when the link is
/// [`Link::Scratch`]. While the page is strict and not parked at `i`, `guest[i]`
/// equals the guest's entry `i`; while it is relaxed, the shadow matches
/// `guest`, which the next reconstruction brings up to date.
pub(crate) struct Spt<A: Alloc> {
    /// Guest frame shadowed (the split 2 MB frame for [`Kind::Split`]).
    pub(crate) gfn: u64,
    /// What the page shadows.
    pub(crate) kind: Kind,
    /// Host frame of the shadow page the GPU walks.
    pub(crate) mfn: u64,
    /// Parent entries and roots referencing this page.
    pub(crate) refs: u32,
    /// Unprotected and rebuilt before each workload.
    pub(crate) relaxed: bool,
    /// The guest entries the shadow was built from.
    pub(crate) guest: A::Vec<u64>,
    /// What each shadow entry holds, packed by [`Link::raw`].
    pub(crate) links: A::Vec<u64>,
    /// Bit `2i + h`: half `h` of entry `i` arrived alone (the entry is parked).
    pub(crate) pending: [u64; PENDING_WORDS],
    /// Entries parked on scratch.
    pub(crate) parked: u32,
    /// Start of the current write-counting window.
    pub(crate) window_start: u64,
    /// Trapped writes in the current window.
    pub(crate) window_writes: u32,
    /// All writes seen (trapped, or found at reconstruction), for the static policy.
    pub(crate) writes: u64,
}

impl<A: Alloc> Spt<A> {
    /// Whether half `half` (0 low, 1 high) of entry `index` arrived alone.
    pub(crate) fn half_pending(&self, index: usize, half: usize) -> bool {
        let bit = index * 2 + half;
        self.pending
            .get(bit / 64)
            .is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    /// Sets or clears the pending flag of one half.
    pub(crate) fn set_half_pending(&mut self, index: usize, half: usize, on: bool) {
        let bit = index * 2 + half;
        if let Some(w) = self.pending.get_mut(bit / 64) {
            if on {
                *w |= 1 << (bit % 64);
            } else {
                *w &= !(1 << (bit % 64));
            }
        }
    }

    /// Whether entry `index` waits for its other half.
    pub(crate) fn is_parked(&self, index: usize) -> bool {
        self.half_pending(index, 0) || self.half_pending(index, 1)
    }
}
