// SPDX-License-Identifier: GPL-2.0

//! Module-wide state: the live vGPUs and the limits on them.
//!
//! C calls into rgvt through callbacks that carry no pointer back to the
//! module object (sysfs attributes of `/sys/kernel/rgvt`, mdev type
//! attributes), so the state is published once at load time and found
//! through [`get`].

use crate::vfio;
use crate::vgpu::Vgpu;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// The most vGPUs `max_vgpus` may allow.
pub(crate) const MAX_VGPUS_LIMIT: usize = 64;
/// How many vGPUs may exist at once unless the administrator says otherwise.
pub(crate) const MAX_VGPUS_DEFAULT: usize = 32;

/// One live vGPU and its VFIO registration.
struct Entry {
    /// The mdev device the vGPU was created for, as a key.
    mdev: usize,
    vgpu: Arc<Vgpu>,
    vfio: vfio::Registration,
}

/// The vGPUs, under [`State::vgpus`].
pub(crate) struct Vgpus {
    entries: KVec<Entry>,
    max: usize,
}

impl Vgpus {
    /// How many more vGPUs may be created now.
    pub(crate) fn available(&self) -> usize {
        self.max.saturating_sub(self.entries.len())
    }

    /// The limit on live vGPUs.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Sets the limit; it may not drop below the vGPUs that already exist.
    pub(crate) fn set_max(&mut self, max: usize) -> Result {
        if !(1..=MAX_VGPUS_LIMIT).contains(&max) || max < self.entries.len() {
            return Err(EINVAL);
        }
        self.max = max;
        Ok(())
    }

    /// The smallest vGPU id not in use; ids start at 1 as GVT-g's do.
    pub(crate) fn free_id(&self) -> u32 {
        (1u32..)
            .find(|id| !self.entries.iter().any(|e| e.vgpu.id == *id))
            .unwrap_or(0)
    }

    /// Adds a vGPU; fails with `-ENOSPC` when the limit is reached.
    pub(crate) fn insert(
        &mut self,
        mdev: usize,
        vgpu: Arc<Vgpu>,
        vfio: vfio::Registration,
    ) -> Result {
        if self.available() == 0 {
            return Err(ENOSPC);
        }
        self.entries.push(Entry { mdev, vgpu, vfio }, GFP_KERNEL)?;
        Ok(())
    }

    /// Takes the vGPU of `mdev` out of the list; the caller drops the
    /// returned registration outside the lock, since that waits for user
    /// space to close the device.
    pub(crate) fn take(&mut self, mdev: usize) -> Option<vfio::Registration> {
        let i = self.entries.iter().position(|e| e.mdev == mdev)?;
        let last = self.entries.len() - 1;
        self.entries.swap(i, last);
        crate::storage::Vector::pop(&mut self.entries).map(|e| e.vfio)
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
}

/// Everything the callbacks share.
#[pin_data]
pub(crate) struct State {
    /// The live vGPUs.
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
    /// Allocates the state and publishes it.
    pub(crate) fn new() -> Result<Self> {
        let state = KBox::pin_init(
            pin_init!(State {
                vgpus <- kernel::new_mutex!(Vgpus { entries: KVec::new(), max: MAX_VGPUS_DEFAULT }),
            }),
            GFP_KERNEL,
        )?;
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
