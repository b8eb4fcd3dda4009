// SPDX-License-Identifier: GPL-2.0

//! The parent: the GPU's vGPUs (the registry), its graphics memory (the
//! GM, through [`HostGgtt`]) and the tunables.
//!
//! C reaches the parent through the objects it hands to callbacks: the
//! mdev parent (see [`crate::mdev`]), the `/sys/kernel/rgvt` kobject (see
//! [`crate::sysfs::KobjDir`]) and debugfs files. Nothing is global.
//!
//! Locks, in the order they are taken: the registry lock, a vGPU's lock,
//! the GM lock, the backend's lock. The registry and a vGPU's lock are
//! never held together. No VFIO call is made under the registry or GM lock.

pub(crate) mod balloon;
pub(crate) mod inspect;
pub(crate) mod tunables;

use crate::backend::Backend;
use crate::debugfs;
use crate::engines::Engines;
use crate::ggtt::{gm_errno, HostGgtt, GTT_PAGE_SIZE};
use crate::gm;
use crate::gm::layout::{Config, Layout, MB};
use crate::mdev::Mdev;
use crate::vfio;
use crate::vgpu::{self, Vgpu};
use crate::vgpu_type::VgpuType;
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

/// The live vGPUs and how many more may come: what the registry lock protects.
pub(crate) struct Registry {
    vgpus: KVec<Arc<Vgpu>>,
    /// vGPUs being created: counted against `max`, with room in `vgpus`.
    reserved: usize,
    /// vGPUs being removed (out of `vgpus`, waiting for their VMM to close
    /// them and their GM to be freed): still counted against `max`.
    leaving: usize,
    max: usize,
}

impl Registry {
    /// How many more vGPUs the limit allows.
    fn room(&self) -> usize {
        self.max.saturating_sub(self.count())
    }

    /// vGPUs counted against the limit: live, being created, being removed.
    fn count(&self) -> usize {
        self.vgpus.len() + self.reserved + self.leaving
    }

    /// The limit on live vGPUs.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Sets the limit; it may not drop below the vGPUs that already exist
    /// (being created or removed included).
    pub(crate) fn set_max(&mut self, max: usize) -> Result {
        if !(1..=MAX_VGPUS_LIMIT).contains(&max) || max < self.count() {
            return Err(EINVAL);
        }
        self.max = max;
        Ok(())
    }

    /// Counts one more vGPU being created and makes room for it, so that
    /// [`Registry::insert`] cannot fail; [`Registry::insert`] or
    /// [`Registry::unreserve`] ends the reservation.
    fn reserve(&mut self) -> Result {
        if self.room() == 0 {
            return Err(ENOSPC);
        }
        self.vgpus.reserve(self.reserved + 1, GFP_KERNEL)?;
        self.reserved += 1;
        Ok(())
    }

    /// Ends a reservation whose vGPU was not created.
    fn unreserve(&mut self) {
        self.reserved = self.reserved.saturating_sub(1);
    }

    /// Adds a vGPU reserved with [`Registry::reserve`].
    fn insert(&mut self, vgpu: Arc<Vgpu>) -> Result {
        self.unreserve();
        // Room was made by `reserve`: this does not allocate.
        self.vgpus.push(vgpu, GFP_KERNEL)?;
        Ok(())
    }

    /// Takes `vgpu` out of the list; it stays counted against the limit
    /// until [`Registry::left`]. Returns whether it was in the list.
    fn remove(&mut self, vgpu: &Vgpu) -> bool {
        let Some(i) = self.vgpus.iter().position(|v| v.id == vgpu.id) else {
            return false;
        };
        let last = self.vgpus.len() - 1;
        self.vgpus.swap(i, last);
        drop(crate::storage::Vector::pop(&mut self.vgpus));
        self.leaving += 1;
        true
    }

    /// A vGPU taken out by [`Registry::remove`] is gone (closed, GM freed).
    fn left(&mut self) {
        self.leaving = self.leaving.saturating_sub(1);
    }

    /// The live vGPUs, in creation order unless some were removed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Vgpu>> {
        self.vgpus.iter()
    }
}

/// A vGPU as an mdev device: the mdev's driver data from probe to remove.
///
/// Fields drop in order: the debugfs files that show the vGPU first, then
/// the VFIO device (waiting for user space to close it, which drops the
/// vGPU's pins), then the vGPU.
pub(crate) struct VgpuDevice {
    _debugfs: debugfs::Files<Vgpu>,
    _vfio: vfio::Registration<Vgpu>,
    /// The vGPU.
    pub(crate) vgpu: Arc<Vgpu>,
}

/// The GPU and everything shared by its vGPUs.
#[pin_data]
pub(crate) struct Parent {
    /// The physical GGTT and the GM lock.
    pub(crate) host: Arc<HostGgtt>,
    /// The registry lock.
    #[pin]
    pub(crate) registry: Mutex<Registry>,
    /// Held across a write of the global shadow policy, from setting it to
    /// the last vGPU switched (two writes at once would otherwise interleave
    /// and leave a vGPU on the older one), and across the read-modify-write
    /// of a scheduler tunable. Taken before every other lock.
    #[pin]
    pub(crate) policy_switch: Mutex<()>,
    /// `/sys/kernel/debug/rgvt/`, where each vGPU has a directory.
    pub(crate) debugfs: Arc<debugfs::Dir>,
    /// The physical engines and their workers; dropped (drained) with the
    /// parent, after every vGPU was detached.
    pub(crate) engines: Arc<Engines>,
}

impl Parent {
    /// The parent of the vGPUs on `backend`: all of its GM, with
    /// [`LOW_RESERVED`] of the aperture kept for the host.
    pub(crate) fn new(backend: Arc<dyn Backend>) -> Result<Arc<Self>> {
        let layout = Layout::new(Config {
            gm_size: backend.entries() * GTT_PAGE_SIZE,
            low_size: backend.aperture_size(),
            low_reserved: LOW_RESERVED,
            high_reserved: 0,
            slot_size: SLOT_SIZE,
        })
        .map_err(gm_errno)?;
        let host = Arc::pin_init(HostGgtt::new(backend, layout)?, GFP_KERNEL)?;
        let registry = Registry {
            vgpus: KVec::new(),
            reserved: 0,
            leaving: 0,
            max: MAX_VGPUS_DEFAULT,
        };
        let debugfs = debugfs::Dir::new(kernel::c_str!("rgvt"), None)?;
        let engines = Engines::new(host.clone())?;
        Arc::pin_init(
            try_pin_init!(Self {
                host,
                registry <- kernel::new_mutex!(registry),
                policy_switch <- kernel::new_mutex!(()),
                debugfs,
                engines,
            }? Error),
            GFP_KERNEL,
        )
    }

    /// How many more vGPUs of `ty` may be created now.
    pub(crate) fn available(&self, ty: &VgpuType) -> usize {
        let registry = self.registry.lock();
        let gm = self.host.gm.lock();
        registry.room().min(ty.available(&gm.gm) as usize)
    }

    /// Creates a vGPU of type `ty` for the mdev device `mdev`.
    pub(crate) fn create(&self, mdev: &Mdev, ty: &'static VgpuType) -> Result<KBox<VgpuDevice>> {
        let vgpu = {
            let mut registry = self.registry.lock();
            let mut gm = self.host.gm.lock();
            if registry.room().min(ty.available(&gm.gm) as usize) == 0 {
                return Err(ENOSPC);
            }
            let gm_id = ty.create(&mut gm.gm).map_err(gm_errno)?;
            gm.balloon.reset(gm_id);
            gm.balloon_log.reset(gm_id);
            let made = Vgpu::new(
                self.host.clone(),
                &gm,
                gm_id,
                mdev.uuid(),
                ty,
                self.engines.clone(),
            )
            .and_then(|init| Arc::pin_init(init, GFP_KERNEL))
            .and_then(|vgpu| registry.reserve().map(|()| vgpu));
            drop(gm);
            match made {
                Ok(vgpu) => vgpu,
                Err(e) => {
                    self.host.destroy(gm_id);
                    return Err(e);
                }
            }
        };
        // Attached before the VFIO device exists, so that no kick is lost;
        // detached on every way out.
        self.engines.attach(vgpu.id, vgpu.weight(), vgpu.clone())?;
        // Under no lock of ours: VFIO calls `open_device`, which takes the
        // vGPU's and the GM lock, with VFIO's own device-set lock held.
        let made = self.bind(mdev, &vgpu);
        let mut registry = self.registry.lock();
        match made {
            Ok(dev) => match registry.insert(vgpu.clone()) {
                Ok(()) => Ok(dev),
                Err(e) => {
                    drop(registry);
                    drop(dev);
                    self.engines.detach(vgpu.id);
                    Err(e)
                }
            },
            Err(e) => {
                registry.unreserve();
                drop(registry);
                self.engines.detach(vgpu.id);
                self.host.destroy(vgpu.gm_id);
                Err(e)
            }
        }
    }

    /// Registers the VFIO device and the debugfs directory of `vgpu`.
    fn bind(&self, mdev: &Mdev, vgpu: &Arc<Vgpu>) -> Result<KBox<VgpuDevice>> {
        let reg = vfio::Registration::new(mdev, vgpu.clone())?;
        let name = kernel::str::CString::try_from_fmt(kernel::fmt!("vgpu{}", vgpu.id))?;
        let dir = debugfs::Dir::new(&name, Some(self.debugfs.clone()))?;
        let files = vgpu::inspect::files(dir, vgpu.clone())?;
        // On failure the registration is dropped here, before the caller
        // frees the vGPU's GM.
        Ok(KBox::new(
            VgpuDevice {
                _debugfs: files,
                _vfio: reg,
                vgpu: vgpu.clone(),
            },
            GFP_KERNEL,
        )?)
    }

    /// Tears down a vGPU made by [`Parent::create`].
    pub(crate) fn remove(&self, dev: KBox<VgpuDevice>) {
        let vgpu = dev.vgpu.clone();
        let listed = self.registry.lock().remove(&vgpu);
        // Unregistering waits for user space to close the device (which
        // drops the vGPU's pins and cancels its engines' work): under no
        // lock.
        drop(dev);
        // No worker holds the vGPU once this returns (and none drops the
        // last reference to it, which would drop the engines from a worker).
        self.engines.detach(vgpu.id);
        // Whatever the backend keeps for the vGPU (a real GPU's host
        // contexts) goes with it.
        self.host.backend.release_vgpu(vgpu.id);
        self.host.destroy(vgpu.gm_id);
        // Counted against `max_vgpus` until here: a removal that waits for
        // its VMM does not make room for another vGPU.
        if listed {
            self.registry.lock().left();
        }
    }
}
