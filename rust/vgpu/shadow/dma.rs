// SPDX-License-Identifier: GPL-2.0

//! Guest pages pinned and DMA-mapped for a real GPU's shadow PPGTT: GVT-g's
//! `kvmgt_dma_map_guest_page` / `kvmgt_dma_unmap_guest_page` with its
//! gfn -> DMA cache, over the core's books ([`DmaCache`]).
//!
//! A leaf entry of a shadow tree on i915 holds the DMA address of a guest
//! page that stays pinned (`vfio_pin_pages`) and mapped (`dma_map_page` on
//! i915's device, [`DmaMap`]) while any entry names it; the mapping counts
//! its holders and the last release unmaps and unpins it.
//!
//! Locking: [`GuestDma`]'s lock is a leaf taken by the shadow's holders
//! (under the shadow lock) and by the VFIO `dma_unmap` callback, which
//! takes no other lock of ours; no pin, unpin, map or unmap is made with it
//! held. `dma_unmap` never takes the shadow lock: it marks the books stale,
//! waits for the pins of its range that are out (a holder pinning with the
//! lock dropped finds the books stale when it comes back and undoes its
//! pin), takes the range's mappings out and unmaps and unpins them, whoever
//! holds them. The shadow entries that still name those pages are dropped
//! by the next [`super::Shadow::prepare`], which sees the books stale and
//! releases every tree before it builds again (while stale no new page is
//! pinned, so a release can never reach a later mapping of the same frame).
//! As on GVT-g, a workload already running on the GPU keeps its entries
//! until it ends; an IOMMU stops its accesses to the unmapped pages.
//!
//! Rebuilding a page table's shadow takes and drops up to 512 holders in a
//! row, nearly all answered by the books alone (a page another entry
//! holds). [`GuestDma::pin_held`] and [`GuestDma::unpin_held`] keep the
//! lock across such a run ([`Held`]) and drop it before anything else: a
//! pin, an unmap or unpin, or whatever the caller does between them that
//! may block on another lock (guest reads, protections, page maps). Every
//! rule above still holds; only the number of lock rounds changes.

use crate::backend::DmaMap;
use crate::dma_cache::{Acquire, Counters, DmaCache, Finish, Mapping};
use crate::kstorage::KvAlloc;
use crate::shadow::{self, Translate};
use crate::vfio;
use kernel::prelude::*;
use kernel::sync::lock::{mutex::MutexBackend, Guard};
use kernel::sync::{Arc, CondVar, Mutex};

/// Mappings taken out and undone per lock round (`dma_unmap`, close).
const BATCH: usize = 32;

/// A 4 KB page.
const PAGE_SHIFT: u32 = 12;

/// PPGTT entries hold 46-bit addresses.
const ADDR_BITS: u32 = 46;

/// What the lock protects.
struct Books {
    cache: DmaCache<KvAlloc>,
    /// The open device, through which guest pages are pinned and unpinned.
    dev: Option<vfio::DeviceRef>,
    /// Mappings released with no device to unpin them through (a bug:
    /// close drops every tree before the device).
    orphaned: u64,
}

/// The books' lock, held across a run of [`GuestDma::pin_held`] and
/// [`GuestDma::unpin_held`] that the books answer alone. Dropping it
/// (setting the caller's `Option` to `None`) ends the run; it must be
/// dropped before anything that may pin, map or take another lock.
pub(crate) struct Held<'a>(Guard<'a, Books, MutexBackend>);

/// Counters for debugfs `shadow`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Snapshot {
    pub(crate) cache: Counters,
    pub(crate) mapped: usize,
    pub(crate) pins_out: usize,
    pub(crate) stale: bool,
    pub(crate) orphaned: u64,
}

/// The guest pages one vGPU's shadow holds for a real GPU.
#[pin_data]
pub(crate) struct GuestDma {
    #[pin]
    books: Mutex<Books>,
    /// Wakes a `dma_unmap` waiting for the pins of its range that are out.
    #[pin]
    pins_done: CondVar,
    map: Arc<dyn DmaMap>,
}

impl GuestDma {
    /// Empty books for guest pages mapped through `map`.
    pub(crate) fn new(map: Arc<dyn DmaMap>) -> impl PinInit<Self> {
        pin_init!(Self {
            books <- kernel::new_mutex!(Books {
                cache: DmaCache::new(),
                dev: None,
                orphaned: 0,
            }),
            pins_done <- kernel::new_condvar!(),
            map,
        })
    }

    /// The device opened: guest pages are pinned through it.
    pub(crate) fn open(&self, dev: &vfio::Device) {
        let old = self.books.lock().dev.replace(dev.get());
        // References go with no lock held.
        drop(old);
    }

    /// The device closes (after the shadow dropped every tree): whatever
    /// is still mapped is unmapped and unpinned, and the device goes.
    pub(crate) fn close(&self) {
        self.drain(None);
        let old = {
            let mut b = self.books.lock();
            // No tree is left to name an unmapped page: the next session
            // pins from its first build (false only while an unmap runs,
            // and then the next prepare clears it).
            let _ = b.cache.clear_stale();
            b.dev.take()
        };
        drop(old);
    }

    /// The counters.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let b = self.books.lock();
        Snapshot {
            cache: *b.cache.counters(),
            mapped: b.cache.len(),
            pins_out: b.cache.pins_out(),
            stale: b.cache.is_stale(),
            orphaned: b.orphaned,
        }
    }

    /// Whether an unmap took pages out that shadow entries may still name.
    pub(crate) fn is_stale(&self) -> bool {
        self.books.lock().cache.is_stale()
    }

    /// Every tree was dropped: pages are pinned again (false while an
    /// unmap runs).
    pub(crate) fn clear_stale(&self) -> bool {
        self.books.lock().cache.clear_stale()
    }

    /// Calls `f` with the books under one lock round (they are read, not
    /// changed: the in-kernel bench's floor looks its frames up there).
    /// `f` must not pin, map or take another lock.
    pub(crate) fn held<R>(&self, f: impl FnOnce(&DmaCache<KvAlloc>) -> R) -> R {
        f(&self.books.lock().cache)
    }

    /// The guest frame behind DMA frame `frame`, if one of ours.
    pub(crate) fn gfn_of(&self, frame: u64) -> Option<u64> {
        self.books.lock().cache.gfn_of(frame)
    }

    /// Unmaps and unpins a mapping taken out of the books.
    fn undo(&self, dev: Option<&vfio::Device>, gfn: u64, frame: u64) {
        self.map.unmap(frame << PAGE_SHIFT);
        match dev {
            Some(dev) => dev.pins().unpin(gfn),
            None => self.books.lock().orphaned += 1,
        }
    }

    /// A reference to the open device, taken under the lock.
    fn device(b: &Books) -> Option<vfio::DeviceRef> {
        b.dev.as_ref().map(|d| d.device().get())
    }

    /// The pin of `gfn` registered as out ends: a waiting unmap may go on.
    fn cancel(&self, gfn: u64) {
        self.books.lock().cache.cancel_pin(gfn);
        self.pins_done.notify_all();
    }

    /// One more holder of guest page `gfn`: its DMA frame, pinned and
    /// mapped on first use. Called under the shadow lock, with the books
    /// held in `held` (locked now if not): a hit keeps them held for the
    /// next call; anything else drops them, and a pin is made with them
    /// dropped.
    pub(crate) fn pin_held<'a>(
        &'a self,
        held: &mut Option<Held<'a>>,
        gfn: u64,
    ) -> core::result::Result<u64, shadow::Error> {
        let b = &mut held.get_or_insert_with(|| Held(self.books.lock())).0;
        let dev = match b.cache.acquire(gfn) {
            Ok(Acquire::Hit(frame)) => return Ok(frame),
            Ok(Acquire::Refused) => {
                *held = None;
                return Err(shadow::Error::BadFrame);
            }
            Ok(Acquire::Pin) => Self::device(b),
            Err(e) => {
                *held = None;
                return Err(e.into());
            }
        };
        // The pin is registered as out: it is made with the lock dropped.
        *held = None;
        self.pin_out(gfn, dev)
    }

    /// Drops one holder of guest page `gfn`, with the books held in `held`
    /// (locked now if not): a page still held by another entry keeps them
    /// held for the next call; the last holder drops them, then unmaps and
    /// unpins the page. A page an unmap already took out is only counted.
    pub(crate) fn unpin_held<'a>(&'a self, held: &mut Option<Held<'a>>, gfn: u64) {
        let b = &mut held.get_or_insert_with(|| Held(self.books.lock())).0;
        let Some(m) = b.cache.release(gfn) else {
            return;
        };
        let dev = Self::device(b);
        *held = None;
        self.undo(dev.as_ref().map(|d| d.device()), m.gfn, m.dma);
    }

    /// Makes the pin of `gfn` that [`DmaCache::acquire`] registered as out,
    /// through `dev`, with the books' lock dropped.
    fn pin_out(
        &self,
        gfn: u64,
        dev: Option<vfio::DeviceRef>,
    ) -> core::result::Result<u64, shadow::Error> {
        let Some(dev) = dev else {
            self.cancel(gfn);
            return Err(shadow::Error::BadFrame);
        };
        let dev = dev.device();
        let pfn = match dev.pins().pin(gfn) {
            Ok(pfn) => pfn,
            Err(e) => {
                self.cancel(gfn);
                return Err(e);
            }
        };
        let frame = match self.map.map(pfn) {
            Ok(dma) if dma & ((1 << PAGE_SHIFT) - 1) == 0 && dma >> ADDR_BITS == 0 => {
                dma >> PAGE_SHIFT
            }
            Ok(dma) => {
                // A mapping off a page boundary or above 46 bits cannot
                // be a PTE (i915's DMA mask keeps it at 39 bits).
                self.map.unmap(dma);
                dev.pins().unpin(gfn);
                self.cancel(gfn);
                return Err(shadow::Error::Alloc);
            }
            Err(_) => {
                dev.pins().unpin(gfn);
                self.cancel(gfn);
                return Err(shadow::Error::Alloc);
            }
        };
        let fin = self.books.lock().cache.finish_pin(gfn, frame);
        match fin {
            Finish::Inserted => {
                self.pins_done.notify_all();
                Ok(frame)
            }
            Finish::Duplicate(first) => {
                self.undo(Some(dev), gfn, frame);
                self.cancel(gfn);
                Ok(first)
            }
            Finish::Undo => {
                self.undo(Some(dev), gfn, frame);
                self.cancel(gfn);
                Err(shadow::Error::BadFrame)
            }
        }
    }

    /// The VMM unmapped guest memory [iova, iova + length) (VFIO's
    /// `dma_unmap`, see the module documentation): when this returns, no
    /// page of the range is pinned or mapped by these books.
    pub(crate) fn dma_unmap(&self, dev: &vfio::Device, iova: u64, length: u64) {
        let first = iova >> PAGE_SHIFT;
        let count = iova
            .saturating_add(length)
            .div_ceil(1 << PAGE_SHIFT)
            .saturating_sub(first);
        self.books.lock().cache.begin_unmap(first, count);
        self.drain(Some((dev, first, count)));
        self.books.lock().cache.end_unmap();
    }

    /// Takes the mappings of a range (`dma_unmap`) or all of them (close)
    /// out in batches, and unmaps and unpins each with the lock dropped.
    fn drain(&self, range: Option<(&vfio::Device, u64, u64)>) {
        let blank = Mapping::default();
        let mut batch = [blank; BATCH];
        loop {
            let (n, own) = {
                let mut b = self.books.lock();
                let n = match range {
                    Some((_, first, count)) => {
                        // A pin of the range out finds the books stale
                        // when it comes back, undoes itself and wakes us.
                        while b.cache.pins_out_in(first, count) {
                            self.pins_done.wait(&mut b);
                        }
                        b.cache.take_range(first, count, &mut batch)
                    }
                    None => b.cache.take_all(&mut batch),
                };
                (n, Self::device(&b))
            };
            let dev = match range {
                Some((dev, _, _)) => Some(dev),
                None => own.as_ref().map(|d| d.device()),
            };
            for m in batch.iter().take(n) {
                self.undo(dev, m.gfn, m.dma);
            }
            drop(own);
            crate::sched::cond_resched();
            if n < batch.len() {
                return;
            }
        }
    }
}
