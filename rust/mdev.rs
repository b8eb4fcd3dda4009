// SPDX-License-Identifier: GPL-2.0

//! The mdev parent: a virtual `sim0` device in class `rgvt` that offers the
//! vGPU types, and the mdev driver that turns each created mdev into a vGPU.
//!
//! `echo <uuid> > .../mdev_supported_types/rgvt-V5_4/create` makes the mdev
//! core call [`probe`]; `echo 1 > /sys/bus/mdev/devices/<uuid>/remove` (or
//! unloading rgvt) calls [`remove`].

use crate::backend::Ggtt;
use crate::bindings;
use crate::inspect;
use crate::state;
use crate::sysfs::PageBuf;
use crate::vfio;
use crate::vgpu::Vgpu;
use crate::vgpu_type::{VgpuType, TYPES};
use core::mem::offset_of;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{from_err_ptr, from_result};
use kernel::ffi::{c_char, c_int, c_uint};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::types::{Opaque, ScopeGuard};

const NR_TYPES: usize = TYPES.len();

/// An mdev type of ours: the C object and the type it describes.
///
/// # Invariants
///
/// `raw` is first, so a `*mut mdev_type` the mdev core passes back is a
/// pointer to the `MdevType` containing it.
#[repr(C)]
struct MdevType {
    raw: Opaque<bindings::mdev_type>,
    ty: &'static VgpuType,
}

/// Returns the vGPU type of an mdev type of ours.
///
/// # Safety
///
/// `mtype` must be one of the types registered by [`Parent::new`].
unsafe fn type_of(mtype: *mut bindings::mdev_type) -> &'static VgpuType {
    // SAFETY: per the contract and the invariant of `MdevType`, `mtype`
    // points into a live `MdevType`; `ty` is never written after creation.
    unsafe { (*mtype.cast::<MdevType>()).ty }
}

/// mdev `probe`: turns a newly created mdev device into a vGPU.
///
/// # Safety
///
/// `mdev` must be a live mdev device of one of our types (the mdev core's contract).
unsafe extern "C" fn probe(mdev: *mut bindings::mdev_device) -> c_int {
    from_result(|| {
        let state = state::get()?;
        // SAFETY: the mdev core passes a live mdev device of one of our
        // types, already named after its UUID.
        let (ty, dev) = unsafe { (type_of((*mdev).type_), core::ptr::addr_of_mut!((*mdev).dev)) };
        // SAFETY: `dev_set_name` ran before `device_add`, so the kobject
        // name is a NUL-terminated string that lives as long as `dev`.
        let uuid = unsafe { CStr::from_char_ptr((*dev).kobj.name) };

        let gpu = &state.gpu;
        let (vgpu, gm_id) = {
            let mut vgpus = state.vgpus.lock();
            if vgpus.available(ty) == 0 {
                return Err(ENOSPC);
            }
            let gm_id = ty.create(&mut vgpus.gm).map_err(state::gm_errno)?;
            vgpus.balloon.reset(gm_id);
            let init = Vgpu::new(
                &vgpus.gm,
                gm_id,
                uuid,
                ty,
                gpu.aperture_size(),
                gpu.scratch_mfn(),
            );
            match init
                .and_then(|init| Arc::pin_init(init, GFP_KERNEL))
                .and_then(|vgpu| vgpus.reserve().map(|()| vgpu))
            {
                Ok(vgpu) => (vgpu, gm_id),
                Err(e) => {
                    vgpus.destroy(gpu, gm_id);
                    return Err(e);
                }
            }
        };
        // Not under the parent lock: VFIO calls `open_device`, which takes
        // it, with VFIO's own device-set lock held.
        let r = vfio::Registration::new(dev, vgpu.clone()).and_then(|reg| {
            // SAFETY: the directory goes into the same entry as `vgpu`,
            // which drops it first.
            let dir = unsafe { inspect::vgpu_dir(&state.debugfs, &vgpu) };
            Ok((reg, dir?))
        });
        let mut vgpus = state.vgpus.lock();
        match r {
            Ok((reg, dir)) => vgpus.insert(mdev as usize, vgpu, reg, dir).map(|()| 0),
            Err(e) => {
                vgpus.unreserve();
                vgpus.destroy(gpu, gm_id);
                Err(e)
            }
        }
    })
}

/// mdev `remove`: tears down the vGPU of `mdev`.
///
/// # Safety
///
/// `mdev` must be a device [`probe`] accepted (the mdev core's contract).
unsafe extern "C" fn remove(mdev: *mut bindings::mdev_device) {
    let Ok(state) = state::get() else {
        return;
    };
    let taken = state.vgpus.lock().take(mdev as usize);
    if let Some(entry) = taken {
        let gm_id = entry.vgpu.gm_id;
        // Unregistering waits for user space to close the device (which
        // drops the vGPU's pins): not under the lock.
        drop(entry);
        state.vgpus.lock().destroy(&state.gpu, gm_id);
    }
}

/// mdev `get_available`: how many more vGPUs may be created.
///
/// # Safety
///
/// Called by the mdev core with one of our types.
unsafe extern "C" fn get_available(mtype: *mut bindings::mdev_type) -> c_uint {
    // SAFETY: the mdev core only calls us with our types.
    let ty = unsafe { type_of(mtype) };
    state::get().map_or(0, |s| s.vgpus.lock().available(ty) as c_uint)
}

/// mdev `show_description`: the type's resources, as GVT-g prints them.
///
/// # Safety
///
/// `mtype` must be one of our types and `buf` a `PAGE_SIZE` sysfs buffer.
unsafe extern "C" fn show_description(mtype: *mut bindings::mdev_type, buf: *mut c_char) -> isize {
    from_result(|| {
        // SAFETY: the mdev core only calls us with our types and a
        // `PAGE_SIZE` sysfs buffer.
        let (ty, mut out) = unsafe { (type_of(mtype), PageBuf::new(buf)) };
        ty.describe(&mut out).map_err(|_| EFBIG)?;
        Ok(out.len())
    })
}

/// Returns the vGPU of the mdev device `dev`, if it is one of ours.
///
/// # Safety
///
/// `dev` must be the `struct device` of a live mdev device.
pub(crate) unsafe fn vgpu_of(dev: *mut bindings::device) -> Result<Arc<Vgpu>> {
    let mdev = (dev as usize).wrapping_sub(offset_of!(bindings::mdev_device, dev));
    state::get()?.vgpus.lock().find(mdev).ok_or(ENODEV)
}

/// `release` of the parent device: frees it.
///
/// # Safety
///
/// `dev` must come from [`new_parent_dev`]; the driver core calls this once.
unsafe extern "C" fn release_parent_dev(dev: *mut bindings::device) {
    // SAFETY: the parent device was allocated by `KBox` in `new_parent_dev`
    // and the driver core calls `release` once, after the last reference.
    drop(unsafe { KBox::from_raw(dev) });
}

/// Registers the `sim0` device in `class`, returning it with one reference.
fn new_parent_dev(class: *mut bindings::class) -> Result<*mut bindings::device> {
    let dev = KBox::into_raw(KBox::new(bindings::device::default(), GFP_KERNEL)?);
    // SAFETY: `dev` is a fresh, exclusively owned, zeroed device.
    unsafe {
        (*dev).class = class;
        (*dev).release = Some(release_parent_dev);
    }
    // SAFETY: `dev` is set up and not shared; from here on `put_device`
    // frees it through `release_parent_dev`.
    unsafe { bindings::device_initialize(dev) };
    // SAFETY: `dev` is initialised; format and argument are NUL-terminated
    // static strings.
    let mut ret = unsafe {
        bindings::dev_set_name(
            dev,
            kernel::c_str!("%s").as_char_ptr(),
            kernel::c_str!("sim0").as_char_ptr(),
        )
    };
    if ret == 0 {
        // SAFETY: `dev` is initialised and named.
        ret = unsafe { bindings::device_add(dev) };
    }
    if ret != 0 {
        // SAFETY: drops the reference of `device_initialize`.
        unsafe { bindings::put_device(dev) };
        return Err(Error::from_errno(ret));
    }
    Ok(dev)
}

/// The C objects the mdev core keeps pointers to while registered.
#[pin_data]
struct Regs {
    #[pin]
    driver: Opaque<bindings::mdev_driver>,
    #[pin]
    parent: Opaque<bindings::mdev_parent>,
    #[pin]
    types: [MdevType; NR_TYPES],
    #[pin]
    type_ptrs: Opaque<[*mut bindings::mdev_type; NR_TYPES]>,
}

/// The registered parent device, its types and the mdev driver.
///
/// # Invariants
///
/// While alive: `class` is a live class, `dev` a registered device in it on
/// which we hold a reference, `regs.driver` a registered mdev driver and
/// `regs.parent` a parent registered with `dev`, `regs.driver` and the types.
pub(crate) struct Parent {
    class: *mut bindings::class,
    dev: *mut bindings::device,
    regs: Pin<KBox<Regs>>,
}

// SAFETY: the raw pointers are only used to unregister, which the kernel
// allows from any thread.
unsafe impl Send for Parent {}
// SAFETY: `Parent` has no methods that use its pointers through `&self`.
unsafe impl Sync for Parent {}

impl Parent {
    /// Creates class `rgvt`, device `sim0`, and registers the mdev driver
    /// and parent with every type of [`TYPES`].
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let name = kernel::c_str!("rgvt").as_char_ptr();
        // SAFETY: the name is a NUL-terminated static string.
        let class = from_err_ptr(unsafe { bindings::class_create(name) })?;
        // SAFETY: `class` was created above and is not used after this.
        let class_guard = ScopeGuard::new(|| unsafe { bindings::class_destroy(class) });

        let dev = new_parent_dev(class)?;
        // SAFETY: `dev` is registered and we hold its initial reference.
        let dev_guard = ScopeGuard::new(|| unsafe { bindings::device_unregister(dev) });

        let driver = bindings::mdev_driver {
            device_api: kernel::c_str!("vfio-pci").as_char_ptr(),
            probe: Some(probe),
            remove: Some(remove),
            get_available: Some(get_available),
            show_description: Some(show_description),
            driver: bindings::device_driver {
                name: kernel::c_str!("rgvt").as_char_ptr(),
                owner: module.as_ptr(),
                mod_name: kernel::c_str!("rgvt").as_char_ptr(),
                dev_groups: crate::sysfs::vgpu_groups(),
                ..Default::default()
            },
            ..Default::default()
        };
        let types = core::array::from_fn(|i| MdevType {
            raw: Opaque::new(bindings::mdev_type {
                sysfs_name: TYPES[i].name.as_ptr().cast(),
                pretty_name: TYPES[i].name.as_ptr().cast(),
                ..Default::default()
            }),
            ty: &TYPES[i],
        });
        let regs = KBox::pin_init(
            pin_init!(Regs {
                driver: Opaque::new(driver),
                parent: Opaque::new(bindings::mdev_parent::default()),
                types,
                type_ptrs: Opaque::new([core::ptr::null_mut(); NR_TYPES]),
            }),
            GFP_KERNEL,
        )?;
        for (i, t) in regs.types.iter().enumerate() {
            // SAFETY: `type_ptrs` is not shared with C yet; `i < NR_TYPES`.
            unsafe { (*regs.type_ptrs.get())[i] = t.raw.get() };
        }

        // SAFETY: `regs` is pinned and outlives the registration (dropped
        // after unregistering in `Drop`).
        kernel::error::to_result(unsafe { bindings::mdev_register_driver(regs.driver.get()) })?;
        let driver_guard = ScopeGuard::new(|| {
            // SAFETY: registered just above; unregistered on the error path only.
            unsafe { bindings::mdev_unregister_driver(regs.driver.get()) }
        });

        // SAFETY: all pointers refer to live, pinned objects that outlive the
        // registration; `dev` is registered.
        kernel::error::to_result(unsafe {
            bindings::mdev_register_parent(
                regs.parent.get(),
                dev,
                regs.driver.get(),
                regs.type_ptrs.get().cast(),
                NR_TYPES as c_uint,
            )
        })?;

        driver_guard.dismiss();
        dev_guard.dismiss();
        class_guard.dismiss();
        // INVARIANT: every registration above succeeded.
        Ok(Self { class, dev, regs })
    }
}

impl Drop for Parent {
    fn drop(&mut self) {
        // SAFETY: by the type invariant everything is registered; removing
        // the parent removes every vGPU first (calling `remove`).
        unsafe {
            bindings::mdev_unregister_parent(self.regs.parent.get());
        }
        // SAFETY: no parent uses the driver any more.
        unsafe { bindings::mdev_unregister_driver(self.regs.driver.get()) };
        // SAFETY: drops our reference; `release_parent_dev` frees it.
        unsafe { bindings::device_unregister(self.dev) };
        // SAFETY: the class has no devices left.
        unsafe { bindings::class_destroy(self.class) };
    }
}
