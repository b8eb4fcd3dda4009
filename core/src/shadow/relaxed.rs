//! Relaxed mode: which pages relax under each policy, and their reconstruction.

use super::spt::{Kind, Link};
use super::{Error, Host, Policy, Tables};
use crate::pte::{Level, ENTRIES};
use crate::storage::{Alloc, Vector};

impl<A: Alloc> Tables<A> {
    /// The "before a workload runs" hook: brings every shadow entry up to date.
    ///
    /// Parked half-written entries are rebuilt from the guest copy, every
    /// relaxed page is reconstructed and, under [`Policy::Segmented`], made
    /// strict again (protected first, so no write is lost in between).
    pub fn before_submit<H: Host>(&mut self, host: &mut H) -> Result<(), Error> {
        self.error = None;
        self.counters.submissions += 1;
        if self.counters.parked_now > 0 {
            for id in 0..self.spts.len() {
                self.finish_parked(host, id as u32);
            }
        }
        let segmented = self.params.policy == Policy::Segmented;
        let mut i = 0;
        while let Some(&id) = self.relaxed.get(i) {
            if segmented {
                match self.make_strict(host, id) {
                    // `make_strict` removed `id`, so `i` names the next page.
                    Ok(()) => continue,
                    // Still relaxed: rebuild it anyway so the workload sees the guest's tables.
                    Err(e) => self.note(e),
                }
            }
            self.reconstruct(host, id);
            i += 1;
        }
        self.take_error()
    }

    /// The "before a workload runs" hook of a host that cannot write-protect: rebuilds every page.
    ///
    /// Without write tracking ([`super::Track`] does nothing) no guest write
    /// traps, so a strict page's copy of the guest entries goes stale as soon
    /// as the guest writes its page. This compares every guest-backed shadow
    /// page, strict or relaxed, with guest memory and rebuilds the entries
    /// that changed, top level first: a directory entry that changed releases
    /// the subtree it pointed at and builds the new one from guest memory, so
    /// a page freed on the way is not read again. Parked halves are finished
    /// from the guest copy first (the guest's entry then wins in the
    /// comparison). Correct under every policy; counts as a submission.
    pub fn refresh<H: Host>(&mut self, host: &mut H) -> Result<(), Error> {
        self.error = None;
        self.counters.submissions += 1;
        if self.counters.parked_now > 0 {
            for id in 0..self.spts.len() {
                self.finish_parked(host, id as u32);
            }
        }
        for level in Level::ALL {
            // Pages made during this pass read guest memory when they were
            // made; comparing them again finds nothing to rebuild.
            let mut id = 0;
            while id < self.spts.len() {
                let id32 = id as u32;
                if self
                    .spt(id32)
                    .is_some_and(|s| s.kind != Kind::Split && s.kind.level() == level)
                {
                    self.reconstruct(host, id32);
                }
                id += 1;
            }
        }
        self.take_error()
    }

    /// [`Tables::refresh`] for one tree: the pages reachable from the
    /// shadow root of the guest PML4 `root`, top level first.
    ///
    /// What a host that cannot write-protect runs before a workload on that
    /// root: the work is the tree's pages, not every page of every tree
    /// (another tree's pages are compared before its own workloads). A page
    /// reached twice (shared within the tree) is compared twice, the second
    /// time finding nothing. [`Error::NoRoot`] if `root` is not attached.
    pub fn refresh_root<H: Host>(&mut self, host: &mut H, root: u64) -> Result<(), Error> {
        self.error = None;
        let id = self
            .roots
            .iter()
            .find(|r| r.gfn == root)
            .map(|r| r.id)
            .ok_or(Error::NoRoot)?;
        self.counters.submissions += 1;
        if self.counters.parked_now > 0 {
            for id in 0..self.spts.len() {
                self.finish_parked(host, id as u32);
            }
        }
        self.refresh_page(host, id);
        self.take_error()
    }

    /// Compares page `id` with guest memory, then each page its entries
    /// name now (after the comparison: a subtree it released is not read,
    /// one it built was read from guest memory as it was built).
    fn refresh_page<H: Host>(&mut self, host: &mut H, id: u32) {
        let Some(kind) = self.spt(id).map(|s| s.kind) else {
            return;
        };
        if kind != Kind::Split {
            self.reconstruct(host, id);
        }
        if kind.level() == Level::Pt {
            return;
        }
        // Depth at most three more: PML4 -> PDP -> PD -> PT. A child cannot
        // free `id` (this page's parent or root holds it), and its links are
        // read again for each entry.
        for i in 0..ENTRIES {
            let link = self
                .spt(id)
                .and_then(|s| s.links.get(i))
                .map(|&raw| Link::from_raw(raw));
            if let Some(Link::Child(child)) = link {
                self.refresh_page(host, child);
            }
        }
    }

    /// Rebuilds every shadow page of guest frame `gfn` from guest memory, strict or relaxed.
    ///
    /// For a frame whose writes may not all have trapped (its protection
    /// came late or was lost): after this the shadow matches guest memory
    /// as of now. Parked halves of its pages are finished first.
    pub fn resync_frame<H: Host>(&mut self, host: &mut H, gfn: u64) -> Result<(), Error> {
        self.error = None;
        for kind in [Kind::Pml4, Kind::Pdp, Kind::Pd, Kind::Pt, Kind::Pt64K] {
            // Looked up again for each kind: rebuilding one page may free another.
            let (ids, n) = self.ids_of(gfn);
            let found = ids
                .iter()
                .take(n)
                .copied()
                .find(|&id| self.spt(id).is_some_and(|s| s.gfn == gfn && s.kind == kind));
            if let Some(id) = found {
                self.finish_parked(host, id);
                self.reconstruct(host, id);
            }
        }
        self.take_error()
    }

    /// Counts a trapped write to page `id` and relaxes it if the policy says so.
    pub(super) fn count_write<H: Host>(&mut self, host: &mut H, id: u32, now: u64) {
        let policy = self.params.policy;
        let window = self.params.window_ns;
        let threshold = self.params.threshold;
        let Some(s) = self.spt_mut(id) else {
            return;
        };
        s.writes = s.writes.saturating_add(1);
        if now.wrapping_sub(s.window_start) >= window {
            s.window_start = now;
            s.window_writes = 0;
        }
        s.window_writes = s.window_writes.saturating_add(1);
        if s.relaxed || !s.kind.relaxable() {
            return;
        }
        let hot = s.window_writes >= threshold;
        let writes = s.writes;
        match policy {
            Policy::Strict => {}
            Policy::Full => self.relax(host, id),
            Policy::Dynamic | Policy::Segmented if hot => self.relax(host, id),
            Policy::Dynamic | Policy::Segmented => {}
            Policy::Static => {
                let cap = self.cap();
                if cap == 0 {
                    return;
                }
                if self.relaxed.len() >= cap {
                    // Replace the least-written relaxed page if this one is written more.
                    let coldest = self
                        .relaxed
                        .iter()
                        .filter_map(|&r| self.spt(r).map(|s| (s.writes, r)))
                        .min();
                    match coldest {
                        Some((w, r)) if w < writes => {
                            if self.make_strict(host, r).is_err() {
                                return;
                            }
                            self.counters.evictions += 1;
                        }
                        _ => return,
                    }
                }
                self.relax(host, id);
            }
        }
    }

    /// How many pages may be relaxed under the current tunables.
    fn cap(&self) -> usize {
        let pool = self.params.pool_pages as usize;
        match self.params.policy {
            Policy::Strict => 0,
            Policy::Static => pool.min(self.params.static_pages as usize),
            _ => pool,
        }
    }

    /// Makes page `id` relaxed, first syncing the oldest relaxed page if the pool is full.
    fn relax<H: Host>(&mut self, host: &mut H, id: u32) {
        let cap = self.cap();
        if cap == 0 {
            return;
        }
        while self.relaxed.len() >= cap {
            let Some(&oldest) = self.relaxed.first() else {
                break;
            };
            if self.make_strict(host, oldest).is_err() {
                return;
            }
            self.counters.evictions += 1;
        }
        if self.relaxed.try_push(id).is_err() {
            // Staying strict is always correct.
            return;
        }
        // The shadow must match the guest copy before writes stop trapping.
        self.finish_parked(host, id);
        let Some(s) = self.spt_mut(id) else {
            return;
        };
        s.relaxed = true;
        s.window_writes = 0;
        let gfn = s.gfn;
        self.counters.strict_now = self.counters.strict_now.saturating_sub(1);
        self.counters.relaxed_now += 1;
        self.counters.to_relaxed += 1;
        if !self.gfn_tracked(gfn) {
            host.unprotect(gfn);
        }
    }

    /// Protects relaxed page `id` again, then brings it up to date.
    pub(super) fn make_strict<H: Host>(&mut self, host: &mut H, id: u32) -> Result<(), Error> {
        let Some(gfn) = self.spt(id).map(|s| s.gfn) else {
            return Ok(());
        };
        if !self.gfn_tracked(gfn) {
            host.protect(gfn)?;
        }
        self.reconstruct(host, id);
        if let Some(pos) = self.relaxed.iter().position(|&x| x == id) {
            self.relaxed.remove(pos);
        }
        if let Some(s) = self.spt_mut(id) {
            s.relaxed = false;
            s.window_writes = 0;
        }
        self.counters.relaxed_now = self.counters.relaxed_now.saturating_sub(1);
        self.counters.strict_now += 1;
        self.counters.to_strict += 1;
        Ok(())
    }

    /// Rebuilds the entries of relaxed page `id` that differ from the guest page.
    pub(super) fn reconstruct<H: Host>(&mut self, host: &mut H, id: u32) {
        let Some(gfn) = self.spt(id).map(|s| s.gfn) else {
            return;
        };
        let mut buf = core::mem::replace(&mut self.buf, A::Vec::new());
        if buf.len() != ENTRIES {
            if let Err(e) = buf.try_resize(ENTRIES, 0) {
                self.note(e.into());
                return;
            }
        }
        if let Err(e) = host.read_page(gfn, &mut buf) {
            // The guest lost the page: nothing in it may stay mapped.
            self.note(e);
            buf.iter_mut().for_each(|v| *v = 0);
        }
        self.counters.reconstructions += 1;
        self.counters.ptes_compared += ENTRIES as u64;
        let mut rebuilt = 0;
        for (i, &v) in buf.iter().enumerate() {
            let Some(slot) = self.spt_mut(id).and_then(|s| s.guest.get_mut(i)) else {
                break;
            };
            if *slot != v {
                *slot = v;
                self.set_entry(host, id, i, v);
                rebuilt += 1;
            }
        }
        self.buf = buf;
        self.counters.ptes_rebuilt += rebuilt;
        if let Some(s) = self.spt_mut(id) {
            s.writes = s.writes.saturating_add(rebuilt);
        }
    }

    /// Moves pages between modes after a policy or tunable change.
    pub(super) fn apply_policy<H: Host>(&mut self, host: &mut H) -> Result<(), Error> {
        self.error = None;
        let cap = self.cap();
        while self.relaxed.len() > cap {
            let Some(&oldest) = self.relaxed.first() else {
                break;
            };
            if let Err(e) = self.make_strict(host, oldest) {
                // Still relaxed, so still rebuilt before every workload: correct.
                self.note(e);
                break;
            }
        }
        if self.params.policy == Policy::Full {
            for id in 0..self.spts.len() {
                if self.relaxed.len() >= cap {
                    break;
                }
                let id = id as u32;
                if self
                    .spt(id)
                    .is_some_and(|s| !s.relaxed && s.kind.relaxable())
                {
                    self.relax(host, id);
                }
            }
        }
        self.take_error()
    }
}
