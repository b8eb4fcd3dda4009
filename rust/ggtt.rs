// SPDX-License-Identifier: GPL-2.0

//! The physical GGTT the vGPUs share: the backend, and under the GM lock
//! the partition of graphics memory among the vGPUs (slots, private GTTs,
//! physical slot owners), the balloon and the shadow parameters.
//!
//! Every update of the physical GGTT goes through here: one entry from a
//! guest write, a batch from a DMA unmap, and the scrubs (reset and close
//! in batches of [`SCRUB_BATCH`] with a scheduling point between them;
//! destroy in one, since the GM it frees may be handed out again as soon as
//! the GM lock is released). A batch takes the GM lock and the backend's
//! lock once.
//!
//! Lock order: a vGPU's lock, then the GM lock, then the backend's lock.
//! No VFIO call (pin, unpin, DMA) is made under the GM lock.

pub(crate) mod copies;
pub(crate) mod exchange;
pub(crate) mod log;
pub(crate) mod switch;

use crate::backend::Backend;
use crate::balloon::{self, Balloon};
use crate::gm::layout::Layout;
use crate::gm::slots::VgpuId;
use crate::gm::{self, Gm};
use crate::kstorage::KvAlloc;
use crate::pvinfo;
use crate::shadow;
use crate::vggtt::Range;
use crate::vgpu_type::VgpuType;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// Bytes of GM behind one GGTT entry.
pub(crate) use crate::gm::layout::PAGE_SIZE as GTT_PAGE_SIZE;

/// Entries [`HostGgtt::scrub`] points at scratch per acquisition of the GM
/// lock: bounded work under it, whatever the vGPU's size (a 64 MB low GM is
/// 16384 entries, 8 batches).
const SCRUB_BATCH: u64 = 2048;

/// Takes (index, host PTE) pairs to install (see [`HostGgtt::write_entries`]).
pub(crate) type Sink<'a> = &'a mut dyn FnMut(u64, u64);

/// Maps a core GM error to an errno.
pub(crate) fn gm_errno(e: gm::Error) -> Error {
    match e {
        gm::Error::NoSpace | gm::Error::TooManyVgpus => ENOSPC,
        gm::Error::NoVgpu => ENOENT,
        gm::Error::Busy => EBUSY,
        gm::Error::Stale => EAGAIN,
        gm::Error::NoMemory => ENOMEM,
        gm::Error::Invalid | gm::Error::OutOfRange | gm::Error::BelowMinimum => EINVAL,
    }
}

/// What the GM lock protects.
pub(crate) struct GmState {
    /// Slots, private GTTs and the physical slot owners.
    pub(crate) gm: Gm<KvAlloc>,
    /// Ballooning parameters and per-vGPU protocol state.
    pub(crate) balloon: Balloon<KvAlloc>,
    /// Shadow page-table parameters new vGPUs start with.
    pub(crate) shadow: shadow::Params,
    /// GTT copies made by switches (see `switch`).
    pub(crate) switch: copies::Counters,
    /// The balloon's decisions and counters (see `exchange`).
    pub(crate) balloon_log: log::Log,
}

impl GmState {
    /// What the PV info page tells the guest about vGPU `id`.
    pub(crate) fn published(&self, id: VgpuId, ty: &VgpuType) -> Result<pvinfo::Published> {
        let rs = self.gm.avail_rs(id).map_err(gm_errno)?;
        Ok(pvinfo::Published {
            vgt_id: id.index() as u32 + 1,
            mappable: pvinfo::GmRange {
                base: rs.mappable_base,
                size: rs.mappable_size,
            },
            nonmappable: pvinfo::GmRange {
                base: rs.nonmappable_base,
                size: rs.nonmappable_size,
            },
            fence_num: ty.fence,
        })
    }

    /// The GGTT entry ranges vGPU `id` owns: its low GM, then its slot runs.
    pub(crate) fn ranges(&self, id: VgpuId) -> Result<KVec<Range>> {
        let v = self.gm.vgpu(id).map_err(gm_errno)?;
        let layout = self.gm.layout();
        let mut ranges = KVec::new();
        ranges.push(
            Range {
                start: v.low_base / GTT_PAGE_SIZE,
                len: v.low_size / GTT_PAGE_SIZE,
            },
            GFP_KERNEL,
        )?;
        let per_slot = layout.entries_per_slot();
        for s in v.slots.iter() {
            let start = layout.slot_index(s);
            match ranges.last_mut() {
                Some(r) if r.start + r.len == start => r.len += per_slot,
                _ => ranges.push(
                    Range {
                        start,
                        len: per_slot,
                    },
                    GFP_KERNEL,
                )?,
            }
        }
        Ok(ranges)
    }
}

/// Points every entry of `ranges` at scratch in the physical GGTT where
/// `through(index)` says the physical entry is the one to change, under one
/// acquisition of the backend's lock, then invalidates: the one scrub path.
fn scrub(
    backend: &dyn Backend,
    ranges: impl Iterator<Item = core::ops::Range<u64>>,
    mut through: impl FnMut(u64, u64) -> bool,
) {
    let scratch = backend.scratch_pte();
    let mut ranges = Some(ranges);
    backend.write_batch(&mut |w| {
        for r in ranges.take().into_iter().flatten() {
            for index in r {
                if through(index, scratch) {
                    w(index, scratch);
                }
            }
        }
    });
    backend.invalidate();
}

/// The physical GGTT and the GM partition (see the module documentation).
#[pin_data]
pub(crate) struct HostGgtt {
    /// The GPU.
    pub(crate) backend: Arc<dyn Backend>,
    /// The GM lock.
    #[pin]
    pub(crate) gm: Mutex<GmState>,
    /// GGTT accesses of the engines that found another vGPU's entry in the
    /// physical GGTT (refused; a missing switch shows here).
    ggtt_foreign: AtomicU64,
}

impl HostGgtt {
    /// The GGTT of `backend`, with GM laid out as `layout`.
    pub(crate) fn new(
        backend: Arc<dyn Backend>,
        layout: Layout,
    ) -> Result<impl PinInit<Self, Error>> {
        let state = GmState {
            gm: Gm::new(layout, true).map_err(gm_errno)?,
            balloon: Balloon::new(balloon::params::Params::default()).map_err(gm_errno)?,
            // Until write tracking only `full` is correct (the tunable
            // refuses the others: `vgpu::shadow::POLICY`).
            shadow: shadow::Params {
                policy: shadow::Policy::Full,
                ..shadow::Params::default()
            },
            switch: copies::Counters::default(),
            balloon_log: log::Log::new()?,
        };
        Ok(try_pin_init!(Self {
            backend,
            gm <- kernel::new_mutex!(state),
            ggtt_foreign: AtomicU64::new(0),
        }? Error))
    }

    /// Counts an engine's GGTT access refused because the physical entry
    /// was another vGPU's.
    pub(crate) fn count_foreign(&self) {
        self.ggtt_foreign.fetch_add(1, Ordering::Relaxed);
    }

    /// GGTT accesses refused so far (see [`HostGgtt::count_foreign`]).
    pub(crate) fn foreign(&self) -> u64 {
        self.ggtt_foreign.load(Ordering::Relaxed)
    }

    /// Stores a batch of vGPU `id`'s entries: `entries` is called once
    /// with a sink of (index, host PTE). Each goes to the vGPU's private
    /// GTT, and to the physical GGTT where the vGPU's entries are the ones
    /// there (low GM always; a shared slot only while switched in); indices
    /// that are not the vGPU's are ignored.
    pub(crate) fn write_entries(&self, id: VgpuId, entries: &mut dyn FnMut(Sink<'_>)) {
        let mut changed = false;
        {
            let mut s = self.gm.lock();
            self.backend.write_batch(&mut |w| {
                entries(&mut |index, pte| {
                    if let Ok(gm::ggtt::Write::Through) = s.gm.write(id, index, pte) {
                        w(index, pte);
                        changed = true;
                    }
                })
            });
        }
        if changed {
            self.backend.invalidate();
        }
    }

    /// Points vGPU `id`'s entries at scratch, private and physical, and
    /// returns its ranges as they are now.
    ///
    /// In batches of [`SCRUB_BATCH`] entries, each under one acquisition of
    /// the GM lock, with a scheduling point between them, then one
    /// invalidation: a reset or close of one vGPU holds the GM lock (which
    /// every vGPU's GGTT write takes) for one batch at a time, and the CPU
    /// is given up between batches. The caller holds the vGPU's lock (a
    /// mutex) throughout, so no write of this vGPU's entries comes in
    /// between; an entry already on scratch while a later batch runs is
    /// harmless (the pins it used are dropped only after the invalidation).
    pub(crate) fn scrub(&self, id: VgpuId) -> Result<KVec<Range>> {
        let ranges = self.gm.lock().ranges(id)?;
        let scratch = self.backend.scratch_pte();
        for r in ranges.iter() {
            let end = r.start + r.len;
            let mut start = r.start;
            while start < end {
                let stop = end.min(start + SCRUB_BATCH);
                {
                    let mut s = self.gm.lock();
                    self.backend.write_batch(&mut |w| {
                        for index in start..stop {
                            if let Ok(gm::ggtt::Write::Through) = s.gm.write(id, index, scratch) {
                                w(index, scratch);
                            }
                        }
                    });
                }
                start = stop;
                // No spinlock held: the vGPU's lock is a mutex.
                crate::sched::cond_resched();
            }
        }
        self.backend.invalidate();
        Ok(ranges)
    }

    /// Points every entry of `ranges` of vGPU `id` at scratch without
    /// allocating (the fallback when [`HostGgtt::scrub`] could not list the
    /// vGPU's ranges): the entries holding pins must be off their pages
    /// before those are unpinned, whatever failed.
    pub(crate) fn scrub_ranges(&self, id: VgpuId, ranges: &[Range]) {
        let scratch = self.backend.scratch_pte();
        self.write_entries(id, &mut |sink| {
            for r in ranges {
                for index in r.start..r.start + r.len {
                    sink(index, scratch);
                }
            }
        });
    }

    /// Frees vGPU `id`'s GM and points the physical entries it left at
    /// scratch.
    pub(crate) fn destroy(&self, id: VgpuId) {
        let mut s = self.gm.lock();
        s.balloon.reset(id);
        s.balloon_log.reset(id);
        let Ok(freed) = s.gm.destroy(id) else {
            return;
        };
        let layout = s.gm.layout();
        let per_slot = layout.entries_per_slot();
        let low = freed.vgpu.low_base / GTT_PAGE_SIZE
            ..(freed.vgpu.low_base + freed.vgpu.low_size) / GTT_PAGE_SIZE;
        let slots = freed.scrub.iter().map(|slot| {
            let first = layout.slot_index(slot);
            first..first + per_slot
        });
        scrub(
            &*self.backend,
            Iterator::chain(core::iter::once(low), slots),
            |_, _| true,
        );
    }
}
