// SPDX-License-Identifier: GPL-2.0

//! A vGPU's shadow PPGTT: the core's [`Tables`] over kernel pages, for the
//! engine worker.
//!
//! Shadow trees are keyed by the guest's PML4 (the root the context image
//! or the PV page names) and built on first use ([`Shadow::prepare`]) or
//! ahead of it ([`Shadow::attach`], the PV `g2v_notify` PPGTT create).
//! Guest frames that strict shadow pages need are write-protected through
//! the vGPU's [`Tracker`] (KVM or the VFIO tracking region, see
//! [`super::track`]); the configured policy runs when one of them traps
//! writes, `full` otherwise. Before every workload [`Shadow::prepare`]
//! does what the policy in force needs: the relaxed pages' reconstruction
//! ([`Tables::before_submit`]), after rebuilding the frames whose writes
//! may not have trapped; or, with no tracker, a comparison of every page
//! of the workload's tree with the guest's page ([`Tables::refresh_root`];
//! the other trees are compared before their own workloads). When a
//! tracker starts, every tree is compared once ([`Tables::refresh`]).
//!
//! The sim reaches guest memory through a short pin per access, so
//! [`Translate`] only validates a frame (pinned and unpinned at once) and
//! names the guest frame itself as the "host frame": a frame the VMM unmaps
//! later faults at its next access instead of being used. Guest page-table
//! pages are read the same way ([`GuestFrames`]). The shadow pages are real
//! kernel pages ([`page::Table`]), named by frame numbers the guest cannot
//! use (from [`STORE_BASE`]); every one is freed on [`Shadow::clear`] or
//! with the vGPU.
//!
//! Locking: [`super::Vgpu::shadow`] is taken by the engine worker (inside its own
//! engine lock) and by close, reset and removal, always before (outside) the
//! vGPU's lock and never by `dma_unmap`, so the short pins taken under it
//! keep the rule of `Documentation/rgvt/design.rst` ("Pins and unpins run
//! under no lock of ours" that `dma_unmap` takes). Nothing here takes the
//! vGPU's lock.

pub(crate) mod check;
pub(crate) mod dma;

use super::track::{self as wtrack, Source, Tracker};
use crate::backend::DmaMap;
use crate::kstorage::KvAlloc;
use crate::page;
use crate::pte::Entry;
use crate::pvinfo::G2v;
use crate::shadow::{self, GuestMemory, Params, Policy, Store, Tables, Target, Track, Translate};
use crate::storage::Vector;
use crate::vfio;
use crate::vfio::session::KvmHandler;
use dma::GuestDma;
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// The policy a vGPU runs while nothing traps its page-table writes (the
/// only correct one then; see [`super::track`]).
pub(crate) const POLICY: Policy = wtrack::UNTRACKED_POLICY;

/// Shadow trees one vGPU keeps; a new root beyond it evicts the least
/// recently prepared tree that no attach holds.
pub(crate) const MAX_TREES: usize = 64;

/// Frame number of the first shadow page.
///
/// PPGTT entries hold 46-bit addresses (frames below 2^34); the shadow's
/// pages are named by the top 2^21 of those, which no guest frame may use
/// ([`Translate::pin`] refuses them), so a guest entry can never be taken
/// for a shadow page or the scratch page.
pub(crate) const STORE_BASE: u64 = (1 << 34) - (1 << 21);

/// Slots of shadow pages: more than [`shadow::MAX_PAGES`] plus the scratch pages.
const STORE_SLOTS: usize = 1 << 21;

/// Entries in a page-table page.
const ENTRIES: usize = 512;

/// Guest memory by guest frame, each access through a short pin.
///
/// The engine implements it over whatever reaches the VMM's memory; the
/// VFIO device does ([`vfio::Device`]). Called with no lock of ours held
/// that `dma_unmap` takes.
pub(crate) trait GuestFrames {
    /// Reads `out.len()` entries of guest page `gfn` from entry `first`.
    fn read_entries(&self, gfn: u64, first: usize, out: &mut [u64]) -> Result;

    /// Checks that `gfn` is guest memory now (pinned and unpinned at once).
    fn probe(&self, gfn: u64) -> Result;
}

impl GuestFrames for vfio::Device {
    fn read_entries(&self, gfn: u64, first: usize, out: &mut [u64]) -> Result {
        let end = first.checked_add(out.len()).ok_or(EINVAL)?;
        if end > ENTRIES {
            return Err(EINVAL);
        }
        let pinned = self.pin_page(gfn)?;
        // 256 bytes of stack at a time, one pin for the whole read.
        let mut buf = [0u8; 256];
        let mut at = first * 8;
        for chunk in out.chunks_mut(buf.len() / 8) {
            let bytes = buf.get_mut(..chunk.len() * 8).ok_or(EINVAL)?;
            pinned.read(at, bytes)?;
            for (k, e) in chunk.iter_mut().enumerate() {
                let Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) = bytes.get(k * 8..k * 8 + 8) else {
                    return Err(EINVAL);
                };
                *e = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
            }
            at += bytes.len();
        }
        Ok(())
    }

    fn probe(&self, gfn: u64) -> Result {
        self.pin_page(gfn).map(drop)
    }
}

/// No guest memory: what tearing down needs (it reads no guest page).
struct NoGuest;

impl GuestFrames for NoGuest {
    fn read_entries(&self, _gfn: u64, _first: usize, _out: &mut [u64]) -> Result {
        Err(EFAULT)
    }

    fn probe(&self, _gfn: u64) -> Result {
        Err(EFAULT)
    }
}

/// The kernel pages behind the shadow.
///
/// For the sim they are named by frame from [`STORE_BASE`]; for a real GPU
/// ([`PageStore::map`]) each is DMA-mapped for the GPU's device and named by
/// its DMA frame (the address the GPU walks), as GVT-g's shadow pages
/// (`alloc_page` and `dma_map_page`, `spt->shadow_page.mfn`).
///
/// # Invariants
///
/// `free` lists the empty slots of `pages` and has room for every slot, so
/// freeing never allocates; `live` counts the full slots. With `map`, each
/// full slot's page is mapped at its name, `names` holds exactly one
/// `(name, slot)` per full slot, sorted by name, and has room for every
/// slot; without it `names` is empty.
struct PageStore {
    pages: KVVec<Option<(page::Table, u64)>>,
    free: KVVec<u32>,
    names: KVVec<(u64, u32)>,
    map: Option<Arc<dyn DmaMap>>,
    live: u64,
    /// With `map`: the page the last write went to, `(name, slot)` (a
    /// page table's rebuild writes one page 512 times: the search of
    /// `names` is made once). Always a full slot of that name.
    last: Option<(u64, usize)>,
}

impl PageStore {
    fn new(map: Option<Arc<dyn DmaMap>>) -> Self {
        Self {
            pages: KVVec::new(),
            free: KVVec::new(),
            names: KVVec::new(),
            map,
            live: 0,
            last: None,
        }
    }

    fn slot(&self, mfn: u64) -> Option<usize> {
        if self.map.is_some() {
            let i = self.names.binary_search_by_key(&mfn, |n| n.0).ok()?;
            return self.names.get(i).map(|n| n.1 as usize);
        }
        usize::try_from(mfn.checked_sub(STORE_BASE)?)
            .ok()
            .filter(|&s| s < STORE_SLOTS)
    }

    fn page(&self, mfn: u64) -> Option<&page::Table> {
        self.pages.get(self.slot(mfn)?)?.as_ref().map(|p| &p.0)
    }

    /// The name of a new page in `slot`: its DMA frame, mapped now, or its
    /// frame from [`STORE_BASE`].
    fn name(&self, table: &page::Table, slot: usize) -> core::result::Result<u64, shadow::Error> {
        let Some(map) = self.map.as_ref() else {
            return Ok(STORE_BASE + slot as u64);
        };
        let dma = map.map(table.pfn()).map_err(|_| shadow::Error::Alloc)?;
        // A PTE holds a 46-bit, page-aligned address.
        if dma & 0xfff != 0 || dma >> 46 != 0 {
            map.unmap(dma);
            return Err(shadow::Error::Alloc);
        }
        Ok(dma >> 12)
    }
}

impl Store for PageStore {
    fn alloc(&mut self) -> core::result::Result<u64, shadow::Error> {
        let table = page::Table::new().map_err(|_| shadow::Error::Alloc)?;
        let slot = match self.free.pop() {
            Some(slot) => slot as usize,
            None => {
                let slot = self.pages.len();
                if slot >= STORE_SLOTS {
                    return Err(shadow::Error::PageLimit);
                }
                // Room in `free` (and `names`) for every slot, this one included.
                let want = (slot + 1).saturating_sub(self.free.len());
                self.free.try_reserve(want)?;
                if self.map.is_some() {
                    let want = (slot + 1).saturating_sub(self.names.len());
                    self.names.try_reserve(want)?;
                }
                self.pages.try_push(None)?;
                slot
            }
        };
        let name = match self.name(&table, slot) {
            Ok(name) => name,
            Err(e) => {
                // Room was reserved when the slot was made.
                let _ = self.free.try_push(slot as u32);
                return Err(e);
            }
        };
        if self.map.is_some() {
            let at = match self.names.binary_search_by_key(&name, |n| n.0) {
                Err(at) => at,
                // Two live pages on one DMA frame: the mapping is wrong.
                Ok(_) => {
                    if let Some(map) = self.map.as_ref() {
                        map.unmap(name << 12);
                    }
                    let _ = self.free.try_push(slot as u32);
                    return Err(shadow::Error::Alloc);
                }
            };
            // Room was reserved when the slot was made.
            self.names.try_insert(at, (name, slot as u32))?;
        }
        let Some(entry) = self.pages.get_mut(slot) else {
            return Err(shadow::Error::Alloc);
        };
        *entry = Some((table, name));
        self.live += 1;
        Ok(name)
    }

    fn free(&mut self, mfn: u64) {
        let Some(slot) = self.slot(mfn) else {
            return;
        };
        let Some(entry) = self.pages.get_mut(slot) else {
            return;
        };
        let Some((table, name)) = entry.take() else {
            return;
        };
        self.live -= 1;
        if self.last.is_some_and(|(_, s)| s == slot) {
            // INVARIANT: `last` names a full slot only.
            self.last = None;
        }
        if let Some(map) = self.map.as_ref() {
            // The GPU stops seeing the page before it is freed.
            map.unmap(name << 12);
            if let Ok(i) = self.names.binary_search_by_key(&name, |n| n.0) {
                self.names.remove(i);
            }
        }
        drop(table);
        // Room was reserved when the slot was made.
        let _ = self.free.try_push(slot as u32);
    }

    fn write(&mut self, mfn: u64, index: usize, entry: u64) {
        let slot = match self.last {
            Some((name, slot)) if name == mfn => Some(slot),
            _ => {
                let slot = self.slot(mfn);
                if self.map.is_some() {
                    // INVARIANT: a name found in `names` is a full slot's.
                    self.last = slot.map(|s| (mfn, s));
                }
                slot
            }
        };
        let table = slot
            .and_then(|s| self.pages.get_mut(s))
            .and_then(Option::as_mut);
        if let Some((t, _)) = table {
            t.write(index, entry);
        }
    }

    fn read(&self, mfn: u64, index: usize) -> Option<u64> {
        self.page(mfn)?.read(index)
    }
}

impl Drop for PageStore {
    fn drop(&mut self) {
        // Pages the tables did not free are unmapped before they go.
        let names: &[(u64, u32)] = &self.names;
        if let Some(map) = self.map.as_ref() {
            for &(name, _) in names {
                map.unmap(name << 12);
            }
        }
    }
}

/// What the core's tables call: guest memory through short pins, write
/// protection through the tracker, the kernel pages of the store.
struct Host<'a> {
    guest: &'a dyn GuestFrames,
    store: &'a mut PageStore,
    track: &'a mut Tracker,
    /// The last frame [`Translate::pin`] found to be guest memory in this
    /// operation (one trap, one prepare): building a page table's shadow
    /// validates each entry's frame, and i915 fills a new page table with
    /// 512 entries naming its one scratch page.
    probed: Option<u64>,
    /// A real GPU's pinned, DMA-mapped guest pages; `None` for the sim.
    dma: Option<&'a GuestDma>,
    /// Their books, held across a run of pins and unpins they answer alone
    /// (a page table's rebuild: one lock round, not two per entry); every
    /// other call drops them first ([`Host::unhold`]), so nothing that may
    /// block on another lock runs with them held (see [`dma`]).
    books: Option<dma::Held<'a>>,
}

impl Host<'_> {
    /// Ends a run of pins and unpins: the books' lock is dropped.
    fn unhold(&mut self) {
        self.books = None;
    }
}

impl GuestMemory for Host<'_> {
    fn read_page(&mut self, gfn: u64, out: &mut [u64]) -> core::result::Result<(), shadow::Error> {
        // A guest read pins under VFIO's locks: not with the books held.
        self.unhold();
        // Once per shadow page built or compared: a tree as large as
        // `max_shadow_pages` allows is many pages, and the shadow's lock is
        // a mutex, so this is a scheduling point.
        crate::sched::cond_resched();
        if gfn >= STORE_BASE {
            return Err(shadow::Error::BadFrame);
        }
        let n = out.len().min(ENTRIES);
        let out = out.get_mut(..n).ok_or(shadow::Error::BadFrame)?;
        self.guest
            .read_entries(gfn, 0, out)
            .map_err(|_| shadow::Error::BadFrame)
    }

    fn read_entry(&mut self, gfn: u64, index: usize) -> core::result::Result<u64, shadow::Error> {
        self.unhold();
        if gfn >= STORE_BASE {
            return Err(shadow::Error::BadFrame);
        }
        let mut v = [0u64; 1];
        self.guest
            .read_entries(gfn, index, &mut v)
            .map_err(|_| shadow::Error::BadFrame)?;
        Ok(v[0])
    }
}

impl Translate for Host<'_> {
    fn pin(&mut self, gfn: u64) -> core::result::Result<u64, shadow::Error> {
        if gfn >= STORE_BASE {
            return Err(shadow::Error::BadFrame);
        }
        if let Some(dma) = self.dma {
            // A real GPU: the page held pinned and mapped, its DMA frame
            // (the books stay held while they answer alone).
            return dma.pin_held(&mut self.books, gfn);
        }
        // Validated once per operation: `pin` holds nothing either way (the
        // sim reaches the frame through a short pin per access, and a frame
        // the VMM unmaps later faults there), so probing it again in the
        // same operation would only repeat a pin and unpin.
        if self.probed != Some(gfn) {
            self.guest.probe(gfn).map_err(|_| shadow::Error::BadFrame)?;
            self.probed = Some(gfn);
        }
        Ok(gfn)
    }

    fn unpin(&mut self, gfn: u64) {
        // The sim's `pin` held nothing.
        if let Some(dma) = self.dma {
            dma.unpin_held(&mut self.books, gfn);
        }
    }
}

impl Track for Host<'_> {
    fn protect(&mut self, gfn: u64) -> core::result::Result<(), shadow::Error> {
        // KVM's write tracking takes KVM's locks: not with the books held.
        self.unhold();
        self.track.protect(gfn)
    }

    fn unprotect(&mut self, gfn: u64) {
        self.unhold();
        self.track.unprotect(gfn)
    }
}

impl Store for Host<'_> {
    fn alloc(&mut self) -> core::result::Result<u64, shadow::Error> {
        // Allocates and maps a page: not with the books held.
        self.unhold();
        self.store.alloc()
    }

    fn free(&mut self, mfn: u64) {
        self.unhold();
        self.store.free(mfn)
    }

    fn write(&mut self, mfn: u64, index: usize, entry: u64) {
        self.store.write(mfn, index, entry)
    }

    fn read(&self, mfn: u64, index: usize) -> Option<u64> {
        self.store.read(mfn, index)
    }
}

/// The errno of a shadow error.
fn errno(e: shadow::Error) -> Error {
    match e {
        shadow::Error::Alloc => ENOMEM,
        shadow::Error::BadFrame => EFAULT,
        shadow::Error::PageLimit => ENOSPC,
        _ => EINVAL,
    }
}

/// One shadow tree: a guest PML4 and who holds it.
struct Root {
    /// Guest frame of the PML4.
    gfn: u64,
    /// Attaches not yet detached (the PV create is one); 0 for a tree
    /// built on use, which eviction may take.
    refs: u32,
    /// [`Shadow::clock`] at its last prepare.
    last_use: u64,
    /// Workloads running on it on a real GPU ([`Shadow::hold`]): neither
    /// a detach nor eviction frees it meanwhile.
    held: u32,
}

/// Counters of the kernel side (the core's tables keep theirs).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    /// Trees attached ahead of use (engine or PV create), or one more attach.
    pub(crate) attaches: u64,
    /// Detaches (engine or PV destroy).
    pub(crate) detaches: u64,
    /// Trees built by `prepare` on first use.
    pub(crate) built_on_use: u64,
    /// Trees freed to make room for another ([`MAX_TREES`]).
    pub(crate) evictions: u64,
    /// Roots refused: every tree held and [`MAX_TREES`] reached.
    pub(crate) trees_refused: u64,
    /// Roots that could not be shadowed (not guest memory, allocation, bounds).
    pub(crate) root_errors: u64,
    /// `prepare` calls: each rebuilds the shadow from the guest's tables.
    pub(crate) rebuilds: u64,
    /// Rebuilds that noted an error (the entries concerned map scratch).
    pub(crate) rebuild_errors: u64,
    /// Addresses translated.
    pub(crate) translations: u64,
    /// Translations that found no page (not present, scratch, bad frame, no tree).
    pub(crate) translate_misses: u64,
    /// PV `VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE` notifications.
    pub(crate) pv_l4_creates: u64,
    /// PV `VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY` notifications.
    pub(crate) pv_l4_destroys: u64,
    /// PV 3-level PPGTT notifications (not shadowed: rgvt advertises 48-bit PPGTT).
    pub(crate) pv_l3: u64,
    /// PV notifications with an unaligned PML4 address or an unshadowable root.
    pub(crate) pv_bad: u64,
    /// PV destroys of a root with no tree.
    pub(crate) pv_unknown: u64,
    /// Every tree dropped at once (close, reset).
    pub(crate) clears: u64,
    /// Every tree dropped before a workload because the VMM unmapped guest
    /// pages shadow entries named (a real GPU's shadow only).
    pub(crate) dma_stale_rebuilds: u64,
    /// Such drops put off: a workload still ran on a tree.
    pub(crate) dma_stale_deferred: u64,
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("attaches", self.attaches);
        f("detaches", self.detaches);
        f("built_on_use", self.built_on_use);
        f("evictions", self.evictions);
        f("trees_refused", self.trees_refused);
        f("root_errors", self.root_errors);
        f("rebuilds", self.rebuilds);
        f("rebuild_errors", self.rebuild_errors);
        f("translations", self.translations);
        f("translate_misses", self.translate_misses);
        f("pv_l4_creates", self.pv_l4_creates);
        f("pv_l4_destroys", self.pv_l4_destroys);
        f("pv_l3", self.pv_l3);
        f("pv_bad", self.pv_bad);
        f("pv_unknown", self.pv_unknown);
        f("clears", self.clears);
        f("dma_stale_rebuilds", self.dma_stale_rebuilds);
        f("dma_stale_deferred", self.dma_stale_deferred);
    }
}

/// What [`Shadow::floor`] measured.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Floor {
    /// Guest PT pages read.
    pub(crate) pages: u64,
    /// Entries translated and written.
    pub(crate) ptes: u64,
    /// PT pages the guest no longer has (not counted in `ptes`).
    pub(crate) bad_pages: u64,
    /// Nanoseconds for all of it.
    pub(crate) ns: u64,
    /// Nanoseconds for the same reads and writes without the translation.
    pub(crate) copy_ns: u64,
    /// A real GPU's shadow: present entries whose guest page the books do
    /// not hold (written as scratch; 0 when the shadow is up to date).
    pub(crate) misses: u64,
}

/// A vGPU's shadow PPGTT, under [`super::Vgpu::shadow`].
///
/// # Invariants
///
/// Each entry of `roots` holds exactly one reference of `tables` to its
/// root (none without `tables`), and `roots` has at most [`MAX_TREES`]
/// entries; `tables` names pages of `store` only.
pub(crate) struct Shadow {
    /// The tunables; `policy` is the configured one (see
    /// [`Shadow::effective_policy`]): `override_policy` if set, else
    /// `default_policy`.
    params: Params,
    /// The global default (`/sys/kernel/rgvt/policy`) as last applied here.
    default_policy: Policy,
    /// This vGPU's own policy (its sysfs `shadow_policy`), `None` to
    /// follow the global default.
    override_policy: Option<Policy>,
    tables: Option<Tables<KvAlloc>>,
    track: Tracker,
    /// Frames to rebuild alone, reused by every prepare.
    resync: KVVec<u64>,
    store: PageStore,
    roots: KVVec<Root>,
    /// Counts prepares, for least-recently-used eviction.
    clock: u64,
    stats: Stats,
    /// A real GPU's guest pages ([`dma`]); `None` for the sim.
    dma: Option<Arc<GuestDma>>,
    /// Trees held by a workload running on a real GPU ([`Shadow::hold`]).
    held: u32,
}

impl Shadow {
    /// An empty shadow with the tunables `defaults` (their policy runs once
    /// a tracker traps writes, [`POLICY`] until then), for the sim (`dma`
    /// `None`) or for a real GPU: its pages mapped through `map` and its
    /// leaf entries the DMA frames of the guest pages `dma` holds.
    pub(crate) fn new(defaults: Params, dma: Option<(Arc<dyn DmaMap>, Arc<GuestDma>)>) -> Self {
        let (map, dma) = match dma {
            Some((map, dma)) => (Some(map), Some(dma)),
            None => (None, None),
        };
        Self {
            params: defaults,
            default_policy: defaults.policy,
            override_policy: None,
            tables: None,
            track: Tracker::new(),
            resync: KVVec::new(),
            store: PageStore::new(map),
            roots: KVVec::new(),
            clock: 0,
            stats: Stats::default(),
            dma,
            held: 0,
        }
    }

    /// The real GPU's guest pages, if the shadow is DMA-mapped.
    pub(crate) fn dma(&self) -> Option<&Arc<GuestDma>> {
        self.dma.as_ref()
    }

    /// The kernel side's counters.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The core's counters (zero before the first tree).
    pub(crate) fn counters(&self) -> shadow::Counters {
        self.tables
            .as_ref()
            .map(|t| *t.counters())
            .unwrap_or_default()
    }

    /// The tunables in force (the policy as configured).
    pub(crate) fn params(&self) -> &Params {
        &self.params
    }

    /// The policy the tables run: the configured one when a tracker traps
    /// writes, [`POLICY`] otherwise.
    pub(crate) fn effective_policy(&self) -> Policy {
        self.track.effective(self.params.policy)
    }

    /// The write tracker.
    pub(crate) fn tracker(&self) -> &Tracker {
        &self.track
    }

    pub(crate) fn tracker_mut(&mut self) -> &mut Tracker {
        &mut self.track
    }

    /// This vGPU's own policy, `None` when it follows the global default.
    pub(crate) fn policy_override(&self) -> Option<Policy> {
        self.override_policy
    }

    /// The global default changed to `policy`: the vGPU runs it unless it
    /// has a policy of its own ([`Shadow::set_policy_override`]).
    pub(crate) fn set_default_policy(&mut self, policy: Policy) {
        self.default_policy = policy;
        self.apply_policy();
    }

    /// Gives the vGPU a policy of its own (`Some`), or makes it follow the
    /// global default again (`None`).
    pub(crate) fn set_policy_override(&mut self, policy: Option<Policy>) {
        self.override_policy = policy;
        self.apply_policy();
    }

    /// Configures the policy the override and the default say; it runs
    /// at once if a tracker traps writes (pages change modes now,
    /// protected before they are trusted), and from the next workload the
    /// policy's reconstruction. Both the global and the per-vGPU switch
    /// come here, so neither can leave a stale shadow entry the other
    /// would not.
    fn apply_policy(&mut self) {
        let policy = self.override_policy.unwrap_or(self.default_policy);
        if self.params.policy != policy {
            self.params.policy = policy;
            self.track.stats.policy_changes += 1;
        }
        self.sync_policy();
    }

    /// Brings the tables' policy to [`Shadow::effective_policy`], reading
    /// guest memory through the open device (pages made strict again are
    /// rebuilt from it).
    pub(crate) fn sync_policy(&mut self) {
        let session = self.track.take_session();
        match session.as_ref() {
            Some(s) => self.sync_policy_with(s.device()),
            // Closed: no tree, so no page reads guest memory.
            None => self.sync_policy_with(&NoGuest),
        }
        self.track.put_session(session);
    }

    fn sync_policy_with(&mut self, guest: &dyn GuestFrames) {
        let want = self.effective_policy();
        let Some(t) = self.tables.as_mut() else {
            return;
        };
        if t.params().policy == want {
            return;
        }
        let mut host = Host {
            guest,
            store: &mut self.store,
            track: &mut self.track,
            probed: None,
            dma: self.dma.as_deref(),
            books: None,
        };
        // A page that could not change mode stays as it was: strict pages
        // are protected, relaxed ones rebuilt before every workload.
        let _ = t.set_policy(&mut host, want);
    }

    /// Emulates a guest write of `data` at `gpa` trapped by `source`.
    ///
    /// Errors (an odd size or offset, a frame the guest lost) leave the
    /// entries concerned as guest memory says or on scratch, never stale.
    pub(crate) fn trapped_write(
        &mut self,
        guest: &dyn GuestFrames,
        source: Source,
        gpa: u64,
        data: &[u8],
    ) -> Result {
        let t0 = wtrack::now_ns();
        match source {
            Source::Kvm => self.track.stats.traps_kvm += 1,
            Source::Region => self.track.stats.traps_region += 1,
            Source::None => {}
        }
        let Shadow {
            tables,
            store,
            track,
            dma,
            ..
        } = self;
        let Some(t) = tables.as_mut() else {
            return Ok(());
        };
        let mut host = Host {
            guest,
            store,
            track,
            probed: None,
            dma: dma.as_deref(),
            books: None,
        };
        let r = t.write(&mut host, gpa >> 12, (gpa & 0xfff) as usize, data, t0);
        // The books' lock goes with the host.
        drop(host);
        let st = &mut self.track.stats;
        st.trap_ns += wtrack::now_ns().saturating_sub(t0);
        r.map_err(|e| {
            st.trap_errors += 1;
            errno(e)
        })
    }

    /// Shadow trees now.
    pub(crate) fn trees(&self) -> usize {
        self.roots.len()
    }

    /// Kernel pages held now (shadow pages and the four scratch pages).
    pub(crate) fn store_pages(&self) -> u64 {
        self.store.live
    }

    /// Calls `f` with each tree's root frame, attach count and last use.
    pub(crate) fn for_each_tree(&self, mut f: impl FnMut(u64, u32, u64)) {
        for r in self.roots.iter() {
            f(r.gfn, r.refs, r.last_use);
        }
    }

    /// The tables (made on first use, with the effective policy), the
    /// store, the counters, the tracker and the guest pages, apart.
    #[allow(clippy::type_complexity)]
    fn parts(
        &mut self,
    ) -> Result<(
        &mut Tables<KvAlloc>,
        &mut PageStore,
        &mut Stats,
        &mut Tracker,
        Option<&GuestDma>,
    )> {
        let policy = self.effective_policy();
        let Shadow {
            params,
            tables,
            store,
            stats,
            track,
            dma,
            ..
        } = self;
        let dma = dma.as_deref();
        let t = match tables {
            Some(t) => t,
            None => {
                let mut host = Host {
                    guest: &NoGuest,
                    store: &mut *store,
                    track: &mut *track,
                    probed: None,
                    dma,
                    books: None,
                };
                let p = Params { policy, ..*params };
                tables.insert(Tables::new(&mut host, p).map_err(errno)?)
            }
        };
        Ok((t, store, stats, track, dma))
    }

    fn find(&self, gfn: u64) -> Option<usize> {
        self.roots.iter().position(|r| r.gfn == gfn)
    }

    /// Shadows the guest PML4 at `gfn` ahead of use, or takes one more
    /// reference to its tree; [`Shadow::detach`] drops it.
    pub(crate) fn attach(&mut self, guest: &dyn GuestFrames, gfn: u64) -> Result {
        if let Some(r) = self.find(gfn).and_then(|i| self.roots.get_mut(i)) {
            r.refs = r.refs.saturating_add(1);
            self.stats.attaches += 1;
            return Ok(());
        }
        self.build(guest, gfn, 1)?;
        self.stats.attaches += 1;
        Ok(())
    }

    /// Drops one reference to the tree of `gfn`; the tree goes with the last.
    ///
    /// A tree built on use (no reference) goes at once.
    pub(crate) fn detach(&mut self, gfn: u64) -> Result {
        let i = self.find(gfn).ok_or(ENOENT)?;
        self.stats.detaches += 1;
        let free = match self.roots.get_mut(i) {
            Some(r) => {
                r.refs = r.refs.saturating_sub(1);
                r.refs == 0 && r.held == 0
            }
            None => return Err(ENOENT),
        };
        if free {
            self.release(i);
        }
        Ok(())
    }

    /// Brings the shadow up to date with the guest's tables before a
    /// workload on the context whose PML4 is at `gfn`: builds its tree on
    /// first use, then what the policy in force needs (see the module
    /// documentation): with no tracker, every page of this tree compared
    /// with the guest's; after a tracker started, every page of every
    /// tree once; then the policy's reconstruction.
    ///
    /// Fails only when the root cannot be shadowed at all (not guest
    /// memory, allocation, bounds); entries the rebuild could not shadow
    /// map scratch and are counted.
    pub(crate) fn prepare(&mut self, guest: &dyn GuestFrames, gfn: u64) -> Result {
        self.clock += 1;
        self.drop_stale();
        let i = match self.find(gfn) {
            Some(i) => i,
            None => {
                let i = self.build(guest, gfn, 0)?;
                self.stats.built_on_use += 1;
                i
            }
        };
        let clock = self.clock;
        if let Some(r) = self.roots.get_mut(i) {
            r.last_use = clock;
        }
        self.sync_policy_with(guest);
        let t0 = wtrack::now_ns();
        let mut resync = core::mem::replace(&mut self.resync, KVVec::new());
        let (tables, store, stats, track, dma) = self.parts()?;
        stats.rebuilds += 1;
        let full = track.needs_full_rebuild();
        if !full && track.take_unsure(&mut resync).is_err() {
            // Could not list them: the whole rebuild below covers them.
            track.mark_stale();
        }
        let full = full || track.needs_full_rebuild();
        let mut host = Host {
            guest,
            store,
            track,
            probed: None,
            dma,
            books: None,
        };
        let untracked = host.track.source() == Source::None;
        let r = if untracked {
            // Nothing traps: this tree may be stale anywhere; the others
            // are compared before their own workloads.
            tables.refresh_root(&mut host, gfn)
        } else if full {
            tables.refresh(&mut host)
        } else {
            let mut r = Ok(());
            for &frame in resync.iter() {
                r = r.and(tables.resync_frame(&mut host, frame));
            }
            r.and(tables.before_submit(&mut host))
        };
        if r.is_err() {
            stats.rebuild_errors += 1;
        }
        if full {
            host.track.rebuilt();
        }
        // The books' lock goes with the host.
        drop(host);
        let dt = wtrack::now_ns().saturating_sub(t0);
        self.track.stats.reconstruct_ns += dt;
        self.resync = resync;
        Ok(())
    }

    /// A real GPU's shadow whose guest pages the VMM unmapped (some entries
    /// may name pages no longer pinned): every tree goes, so the next
    /// builds pin afresh, unless a workload still runs on one (then the
    /// drop waits for the next prepare; meanwhile no page is pinned and new
    /// entries map scratch). See [`dma`].
    fn drop_stale(&mut self) {
        let Some(dma) = self.dma.clone() else {
            return;
        };
        if !dma.is_stale() {
            return;
        }
        if self.held > 0 {
            self.stats.dma_stale_deferred += 1;
            return;
        }
        while !self.roots.is_empty() {
            self.release(self.roots.len() - 1);
        }
        if dma.clear_stale() {
            self.stats.dma_stale_rebuilds += 1;
        }
    }

    /// The DMA address of the shadow PML4 of the guest root `gfn`, for a
    /// real GPU's context (`None` for the sim's shadow or a root with no
    /// tree). Valid while the tree lives: hold it ([`Shadow::hold`]) for
    /// as long as the GPU may walk it.
    pub(crate) fn root_dma(&self, gfn: u64) -> Option<u64> {
        self.dma.as_ref()?;
        let mfn = self.tables.as_ref()?.root(gfn)?;
        Some(mfn << 12)
    }

    /// Keeps the tree of root `gfn` from eviction, PV destroy and the
    /// stale drop while a workload runs on it on a real GPU; false if
    /// there is no such tree. [`Shadow::unhold`] ends it.
    pub(crate) fn hold(&mut self, gfn: u64) -> bool {
        let Some(r) = self.find(gfn).and_then(|i| self.roots.get_mut(i)) else {
            return false;
        };
        r.held = r.held.saturating_add(1);
        self.held += 1;
        true
    }

    /// Ends a [`Shadow::hold`] of root `gfn`'s tree (which a PV destroy
    /// meanwhile may have left to go now).
    pub(crate) fn unhold(&mut self, gfn: u64) {
        // A tree detached while held stays, as one built on use does
        // (eviction takes it when room is needed).
        if let Some(r) = self.find(gfn).and_then(|i| self.roots.get_mut(i)) {
            if r.held > 0 {
                r.held -= 1;
                self.held = self.held.saturating_sub(1);
            }
        }
    }

    /// The guest frame a shadow leaf names: the frame itself for the sim,
    /// the guest page behind a DMA frame for a real GPU.
    fn guest_frame(&self, frame: u64) -> Option<u64> {
        match self.dma.as_ref() {
            Some(dma) => dma.gfn_of(frame),
            None => Some(frame),
        }
    }

    /// Brings every tree up to date as [`Shadow::prepare`] does, then
    /// calls `f` with each tree's root and each address the shadow maps
    /// to a guest frame (4 KB pages, in address order), for the debugfs
    /// walk. Fails when the device is not open.
    pub(crate) fn walk(&mut self, mut f: impl FnMut(u64, u64, u64) -> core::fmt::Result) -> Result {
        // Out of the tracker while the trees are prepared through it.
        let Some(session) = self.track.take_session() else {
            return Err(ENODEV);
        };
        let mut n = 0;
        let mut r = Ok(());
        while let Some(gfn) = self.roots.get(n).map(|r| r.gfn) {
            r = r.and(self.prepare(session.device(), gfn));
            n += 1;
        }
        self.track.put_session(Some(session));
        r?;
        let Some(t) = self.tables.as_ref() else {
            return Ok(());
        };
        for r in self.roots.iter() {
            let Some(root) = t.root(r.gfn) else {
                continue;
            };
            let dma = self.dma.as_deref();
            walk_level(t, &self.store, root, 0, 0, &mut |va, frame| {
                // A real GPU's DMA frame is shown as its guest frame.
                let frame = match dma {
                    Some(d) => d.gfn_of(frame).unwrap_or(u64::MAX),
                    None => frame,
                };
                f(r.gfn, va, frame)
            })
            .map_err(|_| EINVAL)?;
        }
        Ok(())
    }

    /// Measures the floor of reconstruction for the in-kernel benchmark
    /// (`vgpu<N>/shadow_floor`, unstable debugfs).
    ///
    /// Reads every guest PT page the shadow has, translates each entry as
    /// the shadow does and writes it into a private page, with none of the
    /// shadow's bookkeeping (no guest copy, no comparison, no links, no
    /// counters); then times the same pass without the translation
    /// ([`Floor::copy_ns`]). The translation is the sim's [`Translate::pin`]
    /// probe of the frame (a short pin and unpin) or, for a real GPU's
    /// shadow, a lookup of the frame in the books of pinned pages, one lock
    /// round per page (a cache hit with no holder taken or dropped: what
    /// rebuilding an entry whose page is held needs at least). Changes
    /// nothing the GPU walks. Fails when the device is not open.
    pub(crate) fn floor(&mut self) -> Result<Floor> {
        let Some(session) = self.track.take_session() else {
            return Err(ENODEV);
        };
        let dma = self.dma.clone();
        let r = self.floor_with(session.device(), dma.as_deref());
        self.track.put_session(Some(session));
        r
    }

    fn floor_with(&mut self, guest: &dyn GuestFrames, dma: Option<&GuestDma>) -> Result<Floor> {
        let mut frames = KVVec::new();
        let mut full = Ok(());
        if let Some(t) = self.tables.as_ref() {
            t.for_each_pt(|gfn| {
                if full.is_ok() {
                    full = frames.try_push(gfn);
                }
            });
        }
        full?;
        let scratch = self.tables.as_ref().map_or(0, |t| t.scratch_frame());
        let mut out = page::Table::new()?;
        let mut buf = KVVec::new();
        buf.try_resize(ENTRIES, 0u64)?;
        let mut f = Floor::default();
        let t0 = wtrack::now_ns();
        for &gfn in frames.iter() {
            // As `Host::read_page` does (a scheduling point per page).
            crate::sched::cond_resched();
            if guest.read_entries(gfn, 0, &mut buf).is_err() {
                f.bad_pages += 1;
                continue;
            }
            if let Some(dma) = dma {
                dma.held(|cache| {
                    for (i, &v) in buf.iter().enumerate() {
                        let e = Entry::from_raw(v);
                        let frame = e.frame();
                        let held = if e.present() && frame < STORE_BASE {
                            cache.get(frame).map(|m| m.dma)
                        } else {
                            None
                        };
                        let shadow = match held {
                            Some(d) => e.host_leaf(d).raw(),
                            None => {
                                f.misses += u64::from(e.present());
                                Entry::pointer(scratch).raw()
                            }
                        };
                        out.write(i, shadow);
                    }
                });
            } else {
                for (i, &v) in buf.iter().enumerate() {
                    let e = Entry::from_raw(v);
                    let frame = e.frame();
                    let ok = e.present() && frame < STORE_BASE && guest.probe(frame).is_ok();
                    let shadow = if ok {
                        e.host_leaf(frame).raw()
                    } else {
                        Entry::pointer(scratch).raw()
                    };
                    out.write(i, shadow);
                }
            }
            f.pages += 1;
            f.ptes += ENTRIES as u64;
        }
        f.ns = wtrack::now_ns().saturating_sub(t0);
        // The same without the translation (every present entry taken as
        // valid): what reading and writing alone cost, so the report can
        // say how much of the floor is the frame probe.
        let t0 = wtrack::now_ns();
        for &gfn in frames.iter() {
            crate::sched::cond_resched();
            if guest.read_entries(gfn, 0, &mut buf).is_err() {
                continue;
            }
            for (i, &v) in buf.iter().enumerate() {
                let e = Entry::from_raw(v);
                let shadow = if e.present() && e.frame() < STORE_BASE {
                    e.host_leaf(e.frame()).raw()
                } else {
                    Entry::pointer(scratch).raw()
                };
                out.write(i, shadow);
            }
        }
        f.copy_ns = wtrack::now_ns().saturating_sub(t0);
        Ok(f)
    }

    /// Translates the PPGTT address `va` of the context whose PML4 is at
    /// `gfn`: the guest frame and the offset in it, `None` for an address
    /// that is not mapped (not present, scratch, a frame that is not the
    /// guest's) or a root with no tree.
    ///
    /// Valid as of the last [`Shadow::prepare`]. Bits above 47 are ignored:
    /// the hardware walks 48 bits, and i915 writes canonical addresses.
    pub(crate) fn translate(&mut self, gfn: u64, va: u64) -> Option<(u64, usize)> {
        self.stats.translations += 1;
        let va = va & ((1 << 48) - 1);
        let found = self.tables.as_ref().and_then(|t| {
            let root = t.root(gfn)?;
            match t.translate(&self.store, root, va) {
                Target::Frame(frame) => Some((self.guest_frame(frame)?, (va & 0xfff) as usize)),
                Target::Scratch | Target::Fault => None,
            }
        });
        if found.is_none() {
            self.stats.translate_misses += 1;
        }
        found
    }

    /// A PV `g2v_notify` from the guest, with the PV page's `pdp[0]` (the
    /// PML4's address for the 4-level notifications).
    ///
    /// A 4-level create attaches the tree ahead of use, a destroy detaches
    /// it; every notification is counted, whether or not it changed
    /// anything. The caller reads both under the vGPU's lock and calls this
    /// after dropping it.
    pub(crate) fn pv_notify(&mut self, guest: &dyn GuestFrames, note: G2v, pdp0: u64) {
        let gfn = (pdp0 & 0xfff == 0).then_some(pdp0 >> 12);
        match note {
            G2v::PpgttL4Create => {
                self.stats.pv_l4_creates += 1;
                if gfn.map_or(true, |g| self.attach(guest, g).is_err()) {
                    self.stats.pv_bad += 1;
                }
            }
            G2v::PpgttL4Destroy => {
                self.stats.pv_l4_destroys += 1;
                match gfn {
                    None => self.stats.pv_bad += 1,
                    Some(g) => {
                        if self.detach(g).is_err() {
                            self.stats.pv_unknown += 1;
                        }
                    }
                }
            }
            G2v::PpgttL3Create | G2v::PpgttL3Destroy => self.stats.pv_l3 += 1,
            _ => {}
        }
    }

    /// Drops every tree (close, reset): nothing stays pinned or allocated
    /// but the scratch pages.
    pub(crate) fn clear(&mut self) {
        self.stats.clears += 1;
        while !self.roots.is_empty() {
            self.release(self.roots.len() - 1);
        }
    }

    /// Shadows root `gfn` as a new tree with `refs` references, evicting
    /// the least recently used unheld tree if [`MAX_TREES`] are live.
    fn build(&mut self, guest: &dyn GuestFrames, gfn: u64, refs: u32) -> Result<usize> {
        if self.roots.len() >= MAX_TREES {
            let victim = self
                .roots
                .iter()
                .enumerate()
                .filter(|(_, r)| r.refs == 0 && r.held == 0)
                .min_by_key(|(_, r)| r.last_use)
                .map(|(i, _)| i);
            let Some(victim) = victim else {
                self.stats.trees_refused += 1;
                return Err(EBUSY);
            };
            self.release(victim);
            self.stats.evictions += 1;
        }
        self.roots.try_reserve(1)?;
        let (tables, store, stats, track, dma) = self.parts()?;
        let mut host = Host {
            guest,
            store,
            track,
            probed: None,
            dma,
            books: None,
        };
        if let Err(e) = tables.attach(&mut host, gfn) {
            stats.root_errors += 1;
            return Err(errno(e));
        }
        drop(host);
        // INVARIANT: the tree's one reference is recorded; room was reserved.
        self.roots.try_push(Root {
            gfn,
            refs,
            last_use: self.clock,
            held: 0,
        })?;
        Ok(self.roots.len() - 1)
    }

    /// Frees tree `i` (its one reference of the tables).
    fn release(&mut self, i: usize) {
        if i >= self.roots.len() {
            return;
        }
        let Some(root) = self.roots.remove(i) else {
            return;
        };
        self.held = self.held.saturating_sub(root.held);
        if let Some(t) = self.tables.as_mut() {
            let mut host = Host {
                guest: &NoGuest,
                store: &mut self.store,
                track: &mut self.track,
                probed: None,
                dma: self.dma.as_deref(),
                books: None,
            };
            // The reference exists by the type invariant.
            let _ = t.detach(&mut host, root.gfn);
        }
    }
}

impl KvmHandler for Mutex<Shadow> {
    fn track_write(&self, dev: &vfio::Device, gpa: u64, data: &[u8]) {
        let mut sh = self.lock();
        if !sh.tracker().frames().contains(gpa >> 12) {
            sh.tracker_mut().stats.kvm_foreign += 1;
            return;
        }
        // The write is in guest memory already; a refused one was resynced
        // from it and counted (`trap_errors`).
        let _ = sh.trapped_write(dev, Source::Kvm, gpa, data);
    }

    fn track_remove_region(&self, gfn: u64, pages: u64) {
        self.lock().tracker_mut().remove_region(gfn, pages);
    }
}

impl Drop for Shadow {
    fn drop(&mut self) {
        self.clear();
        if let Some(t) = self.tables.take() {
            let mut host = Host {
                guest: &NoGuest,
                store: &mut self.store,
                track: &mut self.track,
                probed: None,
                dma: self.dma.as_deref(),
                books: None,
            };
            t.destroy(&mut host);
        }
        // Whatever the tables left, the store's pages are freed with it.
    }
}

/// Calls `f` with each address under shadow page `mfn` (at `depth`, 0 for
/// the root, covering the addresses from `base`) that maps a frame other
/// than scratch, and that frame.
fn walk_level(
    t: &Tables<KvAlloc>,
    store: &PageStore,
    mfn: u64,
    depth: u32,
    base: u64,
    f: &mut dyn FnMut(u64, u64) -> core::fmt::Result,
) -> core::fmt::Result {
    for i in 0..ENTRIES {
        let Some(raw) = store.read(mfn, i) else {
            return Ok(());
        };
        let e = Entry::from_raw(raw);
        if !e.present() || t.is_scratch(e.frame()) {
            continue;
        }
        let va = base | ((i as u64) << (39 - 9 * depth));
        if depth == 3 {
            f(va, e.frame())?;
        } else {
            walk_level(t, store, e.frame(), depth + 1, va, f)?;
        }
    }
    Ok(())
}
