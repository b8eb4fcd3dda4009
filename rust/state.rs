// SPDX-License-Identifier: GPL-2.0

//! Module-wide state: the GPU, its graphics memory, the live vGPUs and the
//! tunables.
//!
//! C calls into rgvt through callbacks that carry no pointer back to the
//! module object (sysfs attributes of `/sys/kernel/rgvt`, mdev type
//! attributes), so the state is published once at load time and found
//! through [`get`].
//!
//! Locking: a vGPU's own lock (`Vgpu::inner`) is taken before the parent
//! lock ([`State::vgpus`]), never after.

use crate::backend::sim::{self, Sim};
use crate::backend::Ggtt;
use crate::balloon::{self, Balloon};
use crate::debugfs;
use crate::gm::layout::{Config, Layout, MB};
use crate::gm::slots::VgpuId;
use crate::gm::{self, Gm};
use crate::kstorage::Kernel;
use crate::shadow;
use crate::vfio;
use crate::vgpu::Vgpu;
use crate::vgpu_type::VgpuType;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// The most vGPUs `max_vgpus` may allow (the slot map's limit).
pub(crate) const MAX_VGPUS_LIMIT: usize = gm::slots::MAX_VGPUS as usize;
/// How many vGPUs may exist at once unless the administrator says otherwise.
pub(crate) const MAX_VGPUS_DEFAULT: usize = 32;
/// Low GM at the start of the aperture kept for the host (GVT-g keeps the
/// host's share too).
const LOW_RESERVED: u64 = 64 * MB;
/// High GM slot size (gScale).
const SLOT_SIZE: u64 = 64 * MB;

/// One live vGPU with its VFIO registration and debugfs directory.
///
/// Fields drop in order: the debugfs files that show the vGPU first, then
/// the VFIO device (waiting for user space to close it), then the vGPU.
pub(crate) struct Entry {
    /// `/sys/kernel/debug/rgvt/vgpu<N>/`.
    _debugfs: debugfs::Dir,
    /// The VFIO device.
    _vfio: vfio::Registration,
    /// The vGPU.
    pub(crate) vgpu: Arc<Vgpu>,
    /// The mdev device the vGPU was created for, as a key.
    mdev: usize,
}

/// The parent's graphics memory and vGPUs, under [`State::vgpus`].
pub(crate) struct Vgpus {
    entries: KVec<Entry>,
    /// vGPUs being created: counted against `max`, with room in `entries`.
    reserved: usize,
    max: usize,
    /// Slots, private GTTs and the physical slot owners.
    pub(crate) gm: Gm<Kernel>,
    /// Ballooning parameters and per-vGPU protocol state.
    pub(crate) balloon: Balloon<Kernel>,
    /// Shadow page-table parameters new vGPUs start with.
    pub(crate) shadow: shadow::Params,
}

impl Vgpus {
    /// How many more vGPUs of `ty` may be created now.
    pub(crate) fn available(&self, ty: &VgpuType) -> usize {
        let room = self.max.saturating_sub(self.entries.len() + self.reserved);
        room.min(ty.available(&self.gm) as usize)
    }

    /// The limit on live vGPUs.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Sets the limit; it may not drop below the vGPUs that already exist.
    pub(crate) fn set_max(&mut self, max: usize) -> Result {
        if !(1..=MAX_VGPUS_LIMIT).contains(&max) || max < self.entries.len() + self.reserved {
            return Err(EINVAL);
        }
        self.max = max;
        Ok(())
    }

    /// Counts one more vGPU being created and makes room for it, so that
    /// [`Vgpus::insert`] cannot fail; [`Vgpus::insert`] or
    /// [`Vgpus::unreserve`] ends the reservation.
    pub(crate) fn reserve(&mut self) -> Result {
        if self.entries.len() + self.reserved >= self.max {
            return Err(ENOSPC);
        }
        self.entries.reserve(self.reserved + 1, GFP_KERNEL)?;
        self.reserved += 1;
        Ok(())
    }

    /// Ends a reservation whose vGPU was not created.
    pub(crate) fn unreserve(&mut self) {
        self.reserved = self.reserved.saturating_sub(1);
    }

    /// Adds a vGPU reserved with [`Vgpus::reserve`].
    pub(crate) fn insert(
        &mut self,
        mdev: usize,
        vgpu: Arc<Vgpu>,
        vfio: vfio::Registration,
        debugfs: debugfs::Dir,
    ) -> Result {
        self.unreserve();
        let e = Entry {
            _debugfs: debugfs,
            _vfio: vfio,
            vgpu,
            mdev,
        };
        // Room was made by `reserve`: this does not allocate.
        self.entries.push(e, GFP_KERNEL)?;
        Ok(())
    }

    /// Takes the vGPU of `mdev` out of the list; the caller drops it
    /// outside the lock, since dropping the VFIO registration waits for user
    /// space to close the device.
    pub(crate) fn take(&mut self, mdev: usize) -> Option<Entry> {
        let i = self.entries.iter().position(|e| e.mdev == mdev)?;
        let last = self.entries.len() - 1;
        self.entries.swap(i, last);
        crate::storage::Vector::pop(&mut self.entries)
    }

    /// Returns the vGPU of the mdev device at address `mdev`.
    pub(crate) fn find(&self, mdev: usize) -> Option<Arc<Vgpu>> {
        self.entries
            .iter()
            .find(|e| e.mdev == mdev)
            .map(|e| e.vgpu.clone())
    }

    /// The live vGPUs, in creation order unless some were removed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Vgpu>> {
        self.entries.iter().map(|e| &e.vgpu)
    }

    /// Stores `pte` as vGPU `id`'s entry `index`, and in the physical GGTT
    /// when the vGPU's entries are the ones there. Returns whether the
    /// physical GGTT changed.
    pub(crate) fn install(&mut self, gpu: &Sim, id: VgpuId, index: u64, pte: u64) -> bool {
        match self.gm.write(id, index, pte) {
            Ok(gm::ggtt::Write::Through) => {
                gpu.write(index, pte);
                true
            }
            // Either the slot's physical entries are another vGPU's (the
            // switch-in copy brings ours), or the index is not the vGPU's.
            Ok(gm::ggtt::Write::Private) | Err(_) => false,
        }
    }

    /// Frees vGPU `id`'s GM and points the physical entries it left at
    /// scratch.
    pub(crate) fn destroy(&mut self, gpu: &Sim, id: VgpuId) {
        self.balloon.reset(id);
        let Ok(freed) = self.gm.destroy(id) else {
            return;
        };
        let scratch = gpu.scratch_pte();
        let page = crate::vgpu::GTT_PAGE_SIZE;
        let low = freed.vgpu.low_base / page..(freed.vgpu.low_base + freed.vgpu.low_size) / page;
        for index in low {
            gpu.write(index, scratch);
        }
        let per_slot = self.gm.layout().entries_per_slot();
        for s in freed.scrub.iter() {
            let first = self.gm.layout().slot_index(s);
            for index in first..first + per_slot {
                gpu.write(index, scratch);
            }
        }
        gpu.invalidate();
    }
}

/// Everything the callbacks share.
///
/// `debugfs` is first so that its files, which show the rest, go first.
#[pin_data]
pub(crate) struct State {
    /// `/sys/kernel/debug/rgvt/`.
    pub(crate) debugfs: debugfs::Dir,
    /// The GPU (sim backend).
    #[pin]
    pub(crate) gpu: Sim,
    /// GM, vGPUs and tunables.
    #[pin]
    pub(crate) vgpus: Mutex<Vgpus>,
}

static STATE: AtomicPtr<State> = AtomicPtr::new(core::ptr::null_mut());

/// Returns the published state, or `-ENODEV` outside the module's lifetime.
pub(crate) fn get() -> Result<&'static State> {
    let p = STATE.load(Ordering::Acquire);
    if p.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: by the invariant of `Published`, a non-null `STATE` points to a
    // live `State` that is only freed after every callback that could call
    // `get` was unregistered.
    Ok(unsafe { &*p })
}

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

/// Owns the state and keeps it published while alive.
///
/// # Invariants
///
/// `STATE` points to `self._state` from `new` until `drop`, and nowhere else.
/// It must be dropped after everything that may call [`get`] was torn down.
pub(crate) struct Published {
    _state: Pin<KBox<State>>,
}

impl Published {
    /// Builds the GPU and its GM, and publishes the state.
    pub(crate) fn new() -> Result<Self> {
        let cfg = sim::Config::from_params()?;
        let layout = Layout::new(Config {
            gm_size: cfg.gm_size,
            low_size: cfg.aperture,
            low_reserved: LOW_RESERVED,
            high_reserved: 0,
            slot_size: SLOT_SIZE,
        })
        .map_err(gm_errno)?;
        let vgpus = Vgpus {
            entries: KVec::new(),
            reserved: 0,
            max: MAX_VGPUS_DEFAULT,
            gm: Gm::new(layout, true).map_err(gm_errno)?,
            balloon: Balloon::new(balloon::params::Params::default()).map_err(gm_errno)?,
            shadow: shadow::Params::default(),
        };
        let state = KBox::pin_init(
            try_pin_init!(State {
                debugfs: debugfs::Dir::new(kernel::c_str!("rgvt"), None),
                gpu <- Sim::new(cfg)?,
                vgpus <- kernel::new_mutex!(vgpus),
            }? Error),
            GFP_KERNEL,
        )?;
        // SAFETY: the files are in `state.debugfs`, which `state` drops first.
        unsafe { crate::inspect::add_global(&state.debugfs, &state) };
        let p: *const State = &*state;
        // INVARIANT: `state` is pinned in its box and lives as long as `self`.
        STATE.store(p.cast_mut(), Ordering::Release);
        Ok(Self { _state: state })
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        STATE.store(core::ptr::null_mut(), Ordering::Release);
    }
}
