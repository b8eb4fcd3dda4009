//! Shadow PPGTT: the page tables the GPU walks in place of the guest's (gHyvi hybrid mode).
//!
//! The guest keeps 4-level page tables in its own memory; the GPU must never
//! walk them, because their entries hold guest frames. [`Tables`] keeps one
//! shadow page per guest page-table page (keyed by guest frame and kind, shared
//! when several entries point at the same page), whose entries hold pinned host
//! frames or point at a per-level scratch page.
//!
//! Each shadow page is *strict* (the guest page is write-protected and every
//! trapped write is emulated at once, [`Tables::write`]) or, for PT pages only,
//! *relaxed* (unprotected; [`Tables::before_submit`] rebuilds the entries that
//! changed before the next workload runs). The [`Policy`] decides which pages
//! relax; it can change at any time without losing correctness.
//!
//! Sub-modules: `spt` (one shadow page), `tree` (building, sharing, releasing,
//! walking), `write` (strict-mode trap emulation), `relaxed` (policies and
//! reconstruction), `track` (the protected frames and the VFIO tracking
//! region's protocol), `params` and `counters`.

mod counters;
mod host;
mod params;
mod relaxed;
mod spt;
pub mod track;
mod tree;
mod write;

#[cfg(any(test, feature = "std"))]
pub mod sim;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub use counters::Counters;
pub use host::{GuestMemory, Host, Store, Track, Translate};
pub use params::{Param, ParamError, Params, Policy, MAX_PAGES, MAX_POOL};

use crate::pte::{Entry, Level};
use crate::storage::{Alloc, AllocError, Vector};
use spt::Spt;

/// Why a shadow operation failed.
///
/// Operations that fail part-way leave the tables consistent: the entries they
/// could not shadow point at scratch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A memory allocation failed.
    Alloc,
    /// A guest frame the guest does not own.
    BadFrame,
    /// The bound on shadow pages ([`Params::max_pages`]) was reached.
    PageLimit,
    /// A 1 GB entry, which rgvt (like GVT-g) does not shadow.
    HugePage1G,
    /// A trapped write of a size other than 4 or 8 bytes, or misaligned.
    BadWrite,
    /// No shadow root for this guest frame.
    NoRoot,
    /// Write protection of a guest page failed.
    Track,
    /// A tunable was refused.
    Param(ParamError),
}

impl From<AllocError> for Error {
    fn from(_: AllocError) -> Self {
        Error::Alloc
    }
}

impl From<ParamError> for Error {
    fn from(e: ParamError) -> Self {
        Error::Param(e)
    }
}

/// Where a GPU virtual address lands in the shadow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A host frame pinned for the guest.
    Frame(u64),
    /// The scratch page (the guest entry is not present or not valid).
    Scratch,
    /// The walk left the shadow pages (never happens with a live root).
    Fault,
}

/// A shadow root: one guest PML4 in use by at least one context.
struct Root {
    gfn: u64,
    id: u32,
    refs: u32,
}

/// The shadow page tables of one vGPU.
///
/// All host resources come from the [`Host`] passed to each call; call
/// [`Tables::destroy`] to give them back.
///
/// # Invariants
///
/// `index` is sorted by key and names exactly the live guest-backed pages;
/// `relaxed` lists the relaxed pages, oldest first; each live page's `refs`
/// counts the roots and shadow entries that hold it; counters ending in `_now`
/// match the state.
pub struct Tables<A: Alloc> {
    params: Params,
    counters: Counters,
    spts: A::Vec<Option<Spt<A>>>,
    free: A::Vec<u32>,
    index: A::Vec<(u64, u32)>,
    roots: A::Vec<Root>,
    relaxed: A::Vec<u32>,
    /// One guest page, reused by every reconstruction (no 4 KB on the stack).
    buf: A::Vec<u64>,
    /// Frame each level's scratch entries point at, by [`Level::depth`].
    scratch: [u64; 4],
    /// First error of the current operation; the operation finishes anyway.
    error: Option<Error>,
}

impl<A: Alloc> Tables<A> {
    /// Creates empty tables with their scratch pages.
    pub fn new<H: Host>(host: &mut H, params: Params) -> Result<Self, Error> {
        params.validate()?;
        let mut buf = A::Vec::new();
        buf.try_resize(crate::pte::ENTRIES, 0)?;
        let mut t = Tables {
            params,
            counters: Counters::default(),
            spts: A::Vec::new(),
            free: A::Vec::new(),
            index: A::Vec::new(),
            roots: A::Vec::new(),
            relaxed: A::Vec::new(),
            buf,
            scratch: [0; 4],
            error: None,
        };
        t.alloc_scratch(host)?;
        Ok(t)
    }

    /// Returns the tunables in force.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Returns the counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Host frame of the scratch data page every invalid address lands on.
    pub fn scratch_frame(&self) -> u64 {
        self.scratch[Level::Pt.depth()]
    }

    /// Whether `mfn` is one of the scratch pages (of any level).
    ///
    /// A walk of the shadow that skips them visits only what the guest mapped.
    pub fn is_scratch(&self, mfn: u64) -> bool {
        self.scratch.contains(&mfn)
    }

    /// Host frame of the shadow root for the guest PML4 at `gfn`, if attached.
    pub fn root(&self, gfn: u64) -> Option<u64> {
        let r = self.roots.iter().find(|r| r.gfn == gfn)?;
        Some(self.spt(r.id)?.mfn)
    }

    /// Calls `f` with the guest frame of every shadow page of 4 KB PTEs
    /// (the pages a massive update rewrites), for the kernel's floor
    /// measurement of reconstruction (`vgpu<N>/shadow_floor`).
    pub fn for_each_pt(&self, mut f: impl FnMut(u64)) {
        for s in self.spts.iter().flatten() {
            if s.kind == spt::Kind::Pt {
                f(s.gfn);
            }
        }
    }

    /// Whether a shadow page of guest frame `gfn` is relaxed.
    pub fn is_relaxed(&self, gfn: u64) -> bool {
        let (ids, n) = self.ids_of(gfn);
        ids.iter()
            .take(n)
            .any(|&id| self.spt(id).is_some_and(|s| s.relaxed))
    }

    /// Shadows the guest PML4 at `gfn` (or takes one more reference) and returns the shadow root frame.
    ///
    /// On error nothing stays attached.
    pub fn attach<H: Host>(&mut self, host: &mut H, gfn: u64) -> Result<u64, Error> {
        if let Some(r) = self.roots.iter_mut().find(|r| r.gfn == gfn) {
            r.refs = r.refs.saturating_add(1);
            let id = r.id;
            return self.spt(id).map(|s| s.mfn).ok_or(Error::NoRoot);
        }
        self.roots.try_reserve(1)?;
        self.error = None;
        let id = match self.get_child(host, gfn, spt::Kind::Pml4) {
            Ok(id) => id,
            Err(e) => {
                if e == Error::BadFrame {
                    self.counters.bad_frames += 1;
                }
                self.error = None;
                return Err(e);
            }
        };
        if let Err(e) = self.take_error() {
            self.put(host, id);
            return Err(e);
        }
        let mfn = self.spt(id).map(|s| s.mfn).ok_or(Error::NoRoot)?;
        self.roots.try_push(Root { gfn, id, refs: 1 })?;
        Ok(mfn)
    }

    /// Drops one reference to the shadow root of `gfn`; the last one frees the tree.
    pub fn detach<H: Host>(&mut self, host: &mut H, gfn: u64) -> Result<(), Error> {
        let pos = self
            .roots
            .iter()
            .position(|r| r.gfn == gfn)
            .ok_or(Error::NoRoot)?;
        let Some(r) = self.roots.get_mut(pos) else {
            return Err(Error::NoRoot);
        };
        r.refs = r.refs.saturating_sub(1);
        if r.refs == 0 {
            let id = r.id;
            self.roots.swap_remove(pos);
            self.put(host, id);
        }
        Ok(())
    }

    /// Frees every shadow page and scratch page and drops every pin and protection.
    pub fn destroy<H: Host>(mut self, host: &mut H) {
        while let Some(r) = self.roots.pop() {
            self.put(host, r.id);
        }
        // Nothing else should be live; free leftovers anyway so no pin leaks.
        for id in 0..self.spts.len() {
            if self.spts.get(id).is_some_and(Option::is_some) {
                self.destroy_spt(host, id as u32);
            }
        }
        for mfn in self.scratch {
            host.free(mfn);
        }
    }

    /// Changes the tunables; pages move between modes as the new ones require.
    pub fn set_params<H: Host>(&mut self, host: &mut H, params: Params) -> Result<(), Error> {
        params.validate()?;
        self.params = params;
        self.apply_policy(host)
    }

    /// Changes the policy; pages move between modes as it requires.
    pub fn set_policy<H: Host>(&mut self, host: &mut H, policy: Policy) -> Result<(), Error> {
        self.params.policy = policy;
        self.apply_policy(host)
    }

    /// Walks the shadow for the GPU virtual address `va` from the shadow root `root_mfn`.
    pub fn translate<S: Store + ?Sized>(&self, store: &S, root_mfn: u64, va: u64) -> Target {
        let mut mfn = root_mfn;
        for level in Level::ALL {
            let Some(raw) = store.read(mfn, level.index(va)) else {
                return Target::Fault;
            };
            let e = Entry::from_raw(raw);
            if !e.present() {
                return Target::Fault;
            }
            mfn = e.frame();
        }
        if mfn == self.scratch_frame() {
            Target::Scratch
        } else {
            Target::Frame(mfn)
        }
    }

    fn spt(&self, id: u32) -> Option<&Spt<A>> {
        self.spts.get(id as usize).and_then(Option::as_ref)
    }

    fn spt_mut(&mut self, id: u32) -> Option<&mut Spt<A>> {
        self.spts.get_mut(id as usize).and_then(Option::as_mut)
    }

    /// Remembers the first error of the current operation.
    fn note(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Ends the current operation, returning its first error.
    fn take_error(&mut self) -> Result<(), Error> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
