//! Building, sharing and releasing shadow pages, one entry at a time.

use super::spt::{key, Kind, Link, Spt, PENDING_WORDS};
use super::{Error, Host, Tables};
use crate::pte::{Entry, Level, ENTRIES, FRAMES_2M, PTE_64K_STRIDE};
use crate::storage::{Alloc, Vector};

/// Most shadow pages one guest frame can have (one per guest-backed kind).
pub(super) const KINDS: usize = 5;

impl<A: Alloc> Tables<A> {
    /// Allocates the data scratch page and the scratch PT, PD and PDP above it.
    pub(super) fn alloc_scratch<H: Host>(&mut self, host: &mut H) -> Result<(), Error> {
        let data = host.alloc()?;
        self.scratch = [data; 4];
        let mut below = data;
        for level in [Level::Pt, Level::Pd, Level::Pdp] {
            let mfn = match host.alloc() {
                Ok(mfn) => mfn,
                Err(e) => {
                    self.free_scratch_upto(host, level);
                    return Err(e);
                }
            };
            for i in 0..ENTRIES {
                host.write(mfn, i, Entry::pointer(below).raw());
            }
            // A page at depth d points at the scratch page allocated for depth d + 1.
            if let Some(slot) = self.scratch.get_mut(level.depth().wrapping_sub(1)) {
                *slot = mfn;
            }
            below = mfn;
        }
        Ok(())
    }

    fn free_scratch_upto<H: Host>(&mut self, host: &mut H, failed: Level) {
        let d = failed.depth();
        for (depth, mfn) in self.scratch.iter().enumerate() {
            // Depth 3 is the data page; depths >= d hold pages allocated before `failed`.
            if depth >= d {
                host.free(*mfn);
            }
        }
    }

    /// The shadow entry pointing at scratch for a page of `level`.
    pub(super) fn scratch_entry(&self, level: Level) -> u64 {
        let frame = self.scratch.get(level.depth()).copied().unwrap_or(0);
        Entry::pointer(frame).raw()
    }

    /// Ids of the guest-backed shadow pages of `gfn` (at most one per kind).
    pub(super) fn ids_of(&self, gfn: u64) -> ([u32; KINDS], usize) {
        let mut out = [0; KINDS];
        let mut n = 0;
        let lo = key(gfn, Kind::Pml4);
        let start = self.index.partition_point(|(k, _)| *k < lo);
        for &(k, id) in self.index.iter().skip(start) {
            if k >> 3 != gfn || n == KINDS {
                break;
            }
            if let Some(slot) = out.get_mut(n) {
                *slot = id;
                n += 1;
            }
        }
        (out, n)
    }

    /// Whether some strict shadow page keeps `gfn` write-protected.
    pub(super) fn gfn_tracked(&self, gfn: u64) -> bool {
        let (ids, n) = self.ids_of(gfn);
        ids.iter()
            .take(n)
            .any(|&id| self.spt(id).is_some_and(|s| !s.relaxed))
    }

    /// Whether `id` still names the strict shadow page of `gfn` as `kind`.
    ///
    /// Rebuilding one entry can free other shadow pages (the last reference to
    /// a child goes) and create new ones that reuse the freed ids, so an id
    /// taken before such a rebuild must be checked again before each use.
    pub(super) fn is_strict_page(&self, id: u32, gfn: u64, kind: Kind) -> bool {
        self.spt(id)
            .is_some_and(|s| s.gfn == gfn && s.kind == kind && !s.relaxed)
    }

    fn lookup(&self, gfn: u64, kind: Kind) -> Option<u32> {
        let k = key(gfn, kind);
        let pos = self.index.binary_search_by(|(x, _)| x.cmp(&k)).ok()?;
        self.index.get(pos).map(|(_, id)| *id)
    }

    /// Returns the shadow page of guest page `gfn` as `kind` with one more reference, creating it.
    ///
    /// Errors inside the new page's entries are noted, not returned: the page exists.
    pub(super) fn get_child<H: Host>(
        &mut self,
        host: &mut H,
        gfn: u64,
        kind: Kind,
    ) -> Result<u32, Error> {
        if let Some(id) = self.lookup(gfn, kind) {
            if let Some(s) = self.spt_mut(id) {
                s.refs = s.refs.saturating_add(1);
                return Ok(id);
            }
        }
        let id = self.new_spt(host, gfn, kind)?;
        for i in 0..ENTRIES {
            let v = self
                .spt(id)
                .and_then(|s| s.guest.get(i).copied())
                .unwrap_or(0);
            self.set_entry(host, id, i, v);
        }
        Ok(id)
    }

    /// Creates a shadow page with one reference and all entries still zero.
    pub(super) fn new_spt<H: Host>(
        &mut self,
        host: &mut H,
        gfn: u64,
        kind: Kind,
    ) -> Result<u32, Error> {
        if self.counters.pages_now >= u64::from(self.params.max_pages) {
            self.counters.page_limit += 1;
            return Err(Error::PageLimit);
        }
        if !crate::pte::Entry::frame_fits(gfn) {
            return Err(Error::BadFrame);
        }
        let guest_backed = kind != Kind::Split;
        // Reserve everything first so that nothing below fails half-way.
        let mut links = A::Vec::new();
        links.try_resize(ENTRIES, 0)?;
        let mut guest = A::Vec::new();
        if guest_backed {
            guest.try_resize(ENTRIES, 0)?;
        }
        let slots = self.spts.len();
        self.spts.try_reserve(1)?;
        self.free
            .try_reserve((slots + 1).saturating_sub(self.free.len()))?;
        self.index.try_reserve(1)?;
        let relaxed = kind.relaxable()
            && self.params.policy == super::Policy::Full
            && self.relaxed.len() < self.params.pool_pages as usize
            && self.relaxed.try_reserve(1).is_ok();

        // Protect before reading, so no write slips between the read and the trap.
        let protect = guest_backed && !relaxed && !self.gfn_tracked(gfn);
        if protect {
            host.protect(gfn)?;
        }
        let undo = |host: &mut H| {
            if protect {
                host.unprotect(gfn);
            }
        };
        if guest_backed {
            if let Err(e) = host.read_page(gfn, &mut guest) {
                undo(host);
                return Err(e);
            }
        }
        let mfn = match host.alloc() {
            Ok(mfn) => mfn,
            Err(e) => {
                undo(host);
                return Err(e);
            }
        };
        let spt = Spt {
            gfn,
            kind,
            mfn,
            refs: 1,
            relaxed,
            guest,
            links,
            pending: [0; PENDING_WORDS],
            parked: 0,
            window_start: 0,
            window_writes: 0,
            writes: 0,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.spts.get_mut(id as usize) {
                    *slot = Some(spt);
                }
                id
            }
            None => {
                let Ok(id) = u32::try_from(slots) else {
                    undo(host);
                    host.free(mfn);
                    return Err(Error::PageLimit);
                };
                // Capacity was reserved above.
                if self.spts.try_push(Some(spt)).is_err() {
                    undo(host);
                    host.free(mfn);
                    return Err(Error::Alloc);
                }
                id
            }
        };
        if guest_backed {
            let k = key(gfn, kind);
            let pos = self.index.partition_point(|(x, _)| *x < k);
            // Capacity was reserved above, so this cannot fail.
            let _ = self.index.try_insert(pos, (k, id));
        }
        if relaxed {
            let _ = self.relaxed.try_push(id);
            self.counters.relaxed_now += 1;
        } else {
            self.counters.strict_now += 1;
        }
        self.counters.pages_now += 1;
        Ok(id)
    }

    /// Drops one reference to a shadow page; the last one frees it.
    pub(super) fn put<H: Host>(&mut self, host: &mut H, id: u32) {
        let Some(s) = self.spt_mut(id) else {
            return;
        };
        s.refs = s.refs.saturating_sub(1);
        if s.refs == 0 {
            self.destroy_spt(host, id);
        }
    }

    /// Frees a shadow page now, releasing everything its entries hold.
    pub(super) fn destroy_spt<H: Host>(&mut self, host: &mut H, id: u32) {
        let Some(spt) = self.spts.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        // Capacity for every id was reserved when the page was created.
        let _ = self.free.try_push(id);
        if spt.kind != Kind::Split {
            let k = key(spt.gfn, spt.kind);
            if let Ok(pos) = self.index.binary_search_by(|(x, _)| x.cmp(&k)) {
                self.index.remove(pos);
            }
        }
        if spt.relaxed {
            if let Some(pos) = self.relaxed.iter().position(|&x| x == id) {
                self.relaxed.remove(pos);
            }
            self.counters.relaxed_now = self.counters.relaxed_now.saturating_sub(1);
        } else {
            self.counters.strict_now = self.counters.strict_now.saturating_sub(1);
            if spt.kind != Kind::Split && !self.gfn_tracked(spt.gfn) {
                host.unprotect(spt.gfn);
            }
        }
        self.counters.parked_now = self
            .counters
            .parked_now
            .saturating_sub(u64::from(spt.parked));
        for &raw in spt.links.iter() {
            self.release(host, Link::from_raw(raw));
        }
        host.free(spt.mfn);
        self.counters.pages_now = self.counters.pages_now.saturating_sub(1);
    }

    /// Gives back what one shadow entry held.
    fn release<H: Host>(&mut self, host: &mut H, link: Link) {
        match link {
            Link::Scratch => {}
            Link::Frame(gfn) => {
                host.unpin(gfn);
                self.counters.pins_now = self.counters.pins_now.saturating_sub(1);
            }
            Link::Child(id) => self.put(host, id),
        }
    }

    /// Points entry `index` of shadow page `id` at `link`, writing `shadow` to the store.
    fn relink<H: Host>(&mut self, host: &mut H, id: u32, index: usize, link: Link, shadow: u64) {
        let Some(s) = self.spt_mut(id) else {
            self.release(host, link);
            return;
        };
        let mfn = s.mfn;
        let Some(slot) = s.links.get_mut(index) else {
            self.release(host, link);
            return;
        };
        let old = Link::from_raw(core::mem::replace(slot, link.raw()));
        host.write(mfn, index, shadow);
        // Release after linking, so rewriting the same value never frees the child.
        self.release(host, old);
    }

    /// Rebuilds shadow entry `index` of page `id` from the guest entry `value`.
    ///
    /// Errors are noted; the entry then points at scratch.
    pub(super) fn set_entry<H: Host>(&mut self, host: &mut H, id: u32, index: usize, value: u64) {
        let Some(kind) = self.spt(id).map(|s| s.kind) else {
            return;
        };
        self.unpark(id, index);
        let e = Entry::from_raw(value);
        match kind {
            Kind::Pt | Kind::Split => self.set_leaf(host, id, index, e, e.frame()),
            Kind::Pt64K => {
                // Under IPS the hardware reads only every 16th entry.
                if index % PTE_64K_STRIDE == 0 {
                    if e.present() {
                        self.counters.split_64k += 1;
                    }
                    for k in 0..PTE_64K_STRIDE {
                        self.set_leaf(host, id, index + k, e, e.frame_64k() + k as u64);
                    }
                }
            }
            Kind::Pml4 | Kind::Pdp | Kind::Pd => self.set_dir(host, id, index, e, kind),
        }
    }

    /// Points a PT-level entry at the pinned host frame of `gfn` (or scratch).
    fn set_leaf<H: Host>(&mut self, host: &mut H, id: u32, index: usize, e: Entry, gfn: u64) {
        let (link, shadow) = if !e.present() {
            (Link::Scratch, self.scratch_entry(Level::Pt))
        } else {
            match host.pin(gfn) {
                Ok(mfn) => {
                    self.counters.pins_now += 1;
                    (Link::Frame(gfn), e.host_leaf(mfn).raw())
                }
                Err(_) => {
                    self.counters.bad_frames += 1;
                    (Link::Scratch, self.scratch_entry(Level::Pt))
                }
            }
        };
        self.relink(host, id, index, link, shadow);
    }

    /// Points a PML4, PDP or PD entry at the shadow of the page it names (or scratch).
    fn set_dir<H: Host>(&mut self, host: &mut H, id: u32, index: usize, e: Entry, kind: Kind) {
        let level = kind.level();
        let link = if !e.present() {
            Link::Scratch
        } else {
            match level {
                Level::Pml4 => self.child_link(host, e.frame(), Kind::Pdp),
                Level::Pdp if e.ps() => {
                    self.counters.huge_1g += 1;
                    self.note(Error::HugePage1G);
                    Link::Scratch
                }
                Level::Pdp => self.child_link(host, e.frame(), Kind::Pd),
                Level::Pd if e.ps() => self.split_2m(host, e),
                Level::Pd if e.ips() => self.child_link(host, e.frame(), Kind::Pt64K),
                Level::Pd => self.child_link(host, e.frame(), Kind::Pt),
                Level::Pt => Link::Scratch,
            }
        };
        let shadow = match link {
            Link::Child(c) => match self.spt(c) {
                Some(child) => e.host_dir(child.mfn).raw(),
                None => self.scratch_entry(level),
            },
            _ => self.scratch_entry(level),
        };
        self.relink(host, id, index, link, shadow);
    }

    fn child_link<H: Host>(&mut self, host: &mut H, gfn: u64, kind: Kind) -> Link {
        match self.get_child(host, gfn, kind) {
            Ok(id) => Link::Child(id),
            Err(Error::BadFrame) => {
                self.counters.bad_frames += 1;
                Link::Scratch
            }
            Err(e) => {
                self.note(e);
                Link::Scratch
            }
        }
    }

    /// Shadows a 2 MB PDE as a private page of 512 4 KB entries (GVT-g's split).
    fn split_2m<H: Host>(&mut self, host: &mut H, e: Entry) -> Link {
        let base = e.frame_2m();
        let id = match self.new_spt(host, base, Kind::Split) {
            Ok(id) => id,
            Err(err) => {
                self.note(err);
                return Link::Scratch;
            }
        };
        self.counters.split_2m += 1;
        // Bit 7 is PS in the PDE but PAT in a PTE: clear it.
        let pte = e.without_ps();
        for k in 0..FRAMES_2M {
            self.set_leaf(host, id, k as usize, pte, base + k);
        }
        Link::Child(id)
    }

    /// Points entry `index` at scratch until its other half arrives.
    pub(super) fn park<H: Host>(&mut self, host: &mut H, id: u32, index: usize, half: usize) {
        let Some(s) = self.spt_mut(id) else {
            return;
        };
        let kind = s.kind;
        if kind == Kind::Pt64K && index % PTE_64K_STRIDE != 0 {
            // The hardware ignores this entry; the guest copy already has the half.
            return;
        }
        if !s.is_parked(index) {
            s.parked += 1;
            self.counters.parked_now += 1;
        }
        if let Some(s) = self.spt_mut(id) {
            s.set_half_pending(index, half, true);
        }
        let span = if kind == Kind::Pt64K {
            PTE_64K_STRIDE
        } else {
            1
        };
        let shadow = self.scratch_entry(kind.level());
        for k in 0..span {
            self.relink(host, id, index + k, Link::Scratch, shadow);
        }
    }

    /// Forgets that entry `index` waits for a half (it is being rebuilt).
    fn unpark(&mut self, id: u32, index: usize) {
        let Some(s) = self.spt_mut(id) else {
            return;
        };
        if s.is_parked(index) {
            s.set_half_pending(index, 0, false);
            s.set_half_pending(index, 1, false);
            s.parked -= 1;
            self.counters.parked_now = self.counters.parked_now.saturating_sub(1);
        }
    }

    /// Rebuilds every parked entry of page `id` from the guest copy.
    pub(super) fn finish_parked<H: Host>(&mut self, host: &mut H, id: u32) {
        if self.spt(id).map_or(true, |s| s.parked == 0) {
            return;
        }
        for i in 0..ENTRIES {
            let v = match self.spt(id) {
                Some(s) if s.is_parked(i) => s.guest.get(i).copied().unwrap_or(0),
                _ => continue,
            };
            self.set_entry(host, id, i, v);
        }
    }
}
