// SPDX-License-Identifier: GPL-2.0

//! mdev in Rust: a parent device in its own class that offers the vGPU
//! types, and the mdev driver that turns each created mdev into a device
//! of a [`Driver`].
//!
//! `echo <uuid> > .../mdev_supported_types/rgvt-V5_4/create` makes the mdev
//! core call [`Driver::probe`], whose result becomes the mdev device's
//! driver data; `echo 1 > /sys/bus/mdev/devices/<uuid>/remove` (or
//! unloading rgvt) hands it back to [`Driver::remove`]. Every callback finds
//! the driver from the `mdev_parent` it is given (`container_of`), and the
//! device from the driver data: nothing is looked up.

use crate::bindings;
use crate::sysfs::PageBuf;
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

/// What an mdev parent of ours does.
pub(crate) trait Driver: Send + Sync + 'static {
    /// What [`Driver::probe`] makes of an mdev device; its sysfs group shows it.
    type Device: DeviceFiles;
    /// Turns a newly created mdev device of type `ty` into a device.
    fn probe(&self, mdev: &Mdev, ty: &'static VgpuType) -> Result<KBox<Self::Device>>;
    /// Tears down a device `probe` made.
    fn remove(&self, dev: KBox<Self::Device>);
    /// How many more devices of `ty` may be created now.
    fn available(&self, ty: &'static VgpuType) -> usize;
}

/// The files of each mdev device's sysfs group, all showing its driver data.
pub(crate) trait DeviceFiles: Send + Sync + 'static {
    /// How many files.
    const N: usize;
    /// The attribute table, built by [`crate::sysfs::attribute_table!`] from
    /// `N` rows made by [`device_attr::<Self>`].
    fn attrs() -> *mut bindings::device_attribute;
    /// The NULL-terminated list of groups holding [`DeviceFiles::attrs`].
    fn groups() -> *mut *const bindings::attribute_group;
    /// Prints file `row`.
    fn show(&self, row: usize, out: &mut PageBuf) -> Result;
    /// Validates and applies a write to file `row` (one made by
    /// [`device_attr_rw::<Self>`]); on error the old value stays.
    fn store(&self, row: usize, input: &[u8]) -> Result;
}

/// A read-only file `name` of the group of devices whose driver data is a `T`.
pub(crate) const fn device_attr<T: DeviceFiles>(name: &'static CStr) -> bindings::device_attribute {
    crate::sysfs::device_attr(name, device_show::<T>)
}

/// A writable file `name` (mode 0644) of the group of devices whose driver
/// data is a `T`: reads go to [`DeviceFiles::show`], writes to
/// [`DeviceFiles::store`], both with the file's row.
pub(crate) const fn device_attr_rw<T: DeviceFiles>(
    name: &'static CStr,
) -> bindings::device_attribute {
    crate::sysfs::device_attr_rw(name, device_show::<T>, device_store::<T>)
}

/// An mdev device being probed.
///
/// # Invariants
///
/// The device is live, named after its UUID, for the reference's lifetime.
#[repr(transparent)]
pub(crate) struct Mdev(Opaque<bindings::mdev_device>);

impl Mdev {
    /// # Safety
    ///
    /// `mdev` must be live and named for `'a`.
    unsafe fn from_raw<'a>(mdev: *mut bindings::mdev_device) -> &'a Self {
        // SAFETY: `Mdev` is a transparent wrapper; the caller guarantees
        // the device is live for `'a`.
        unsafe { &*mdev.cast::<Self>() }
    }

    /// The mdev's `struct device`.
    pub(crate) fn as_dev(&self) -> *mut bindings::device {
        // SAFETY: by the type invariant the device is live; this only
        // computes a field address.
        unsafe { core::ptr::addr_of_mut!((*self.0.get()).dev) }
    }

    /// The UUID the mdev core named the device after.
    pub(crate) fn uuid(&self) -> &CStr {
        // SAFETY: `dev_set_name` ran before `device_add`, so the kobject
        // name is a NUL-terminated string that lives as long as the device.
        unsafe { CStr::from_char_ptr((*self.as_dev()).kobj.name) }
    }
}

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

/// The C objects the mdev core keeps pointers to while registered, and
/// the driver they lead to.
#[pin_data]
struct Registrations<P: Driver> {
    #[pin]
    driver: Opaque<bindings::mdev_driver>,
    #[pin]
    parent: Opaque<bindings::mdev_parent>,
    #[pin]
    types: [MdevType; NR_TYPES],
    #[pin]
    type_ptrs: Opaque<[*mut bindings::mdev_type; NR_TYPES]>,
    data: Arc<P>,
}

/// Returns the vGPU type and the driver of an mdev type of ours.
///
/// # Safety
///
/// `mtype` must be one of the types registered by a live [`Parent<P>`].
unsafe fn type_of<'a, P: Driver>(mtype: *mut bindings::mdev_type) -> (&'static VgpuType, &'a P) {
    // SAFETY: per the contract and the invariant of `MdevType`, `mtype`
    // points into a live `MdevType`; `ty` is never written after creation.
    let ty = unsafe { (*mtype.cast::<MdevType>()).ty };
    // SAFETY: the mdev core set `parent` to our `mdev_parent` when it added
    // the type; it is the `parent` member of a live `Registrations<P>`.
    let regs = unsafe {
        &*(*mtype)
            .parent
            .cast::<u8>()
            .sub(offset_of!(Registrations<P>, parent))
            .cast::<Registrations<P>>()
    };
    (ty, &regs.data)
}

/// Returns the driver data `probe` gave a bound device.
///
/// # Safety
///
/// `dev` must be bound to the mdev driver of a [`Parent<P>`] whose
/// `P::Device` is `T`, between `probe` and `remove`.
unsafe fn drvdata<'a, T>(dev: *mut bindings::device) -> &'a T {
    // SAFETY: per the contract `driver_data` is the `KBox<T>` `probe` set,
    // freed only in `remove`.
    unsafe { &*(*dev).driver_data.cast::<T>() }
}

/// mdev `probe`: a new mdev device.
///
/// # Safety
///
/// `mdev` must be a live mdev device of one of our types (the mdev core's contract).
unsafe extern "C" fn probe<P: Driver>(mdev: *mut bindings::mdev_device) -> c_int {
    // SAFETY: the mdev core passes a live mdev device of one of our types,
    // named after its UUID.
    let ((ty, drv), mdev) = unsafe { (type_of::<P>((*mdev).type_), Mdev::from_raw(mdev)) };
    from_result(|| {
        let dev = drv.probe(mdev, ty)?;
        // SAFETY: the device is being probed: nothing else uses its driver
        // data until `remove`, which takes it back.
        unsafe { (*mdev.as_dev()).driver_data = KBox::into_raw(dev).cast() };
        Ok(0)
    })
}

/// mdev `remove`: hands the device's driver data back to the driver.
///
/// # Safety
///
/// `mdev` must be a device [`probe`] accepted (the mdev core's contract).
unsafe extern "C" fn remove<P: Driver>(mdev: *mut bindings::mdev_device) {
    // SAFETY: the mdev core passes a live device of one of our types.
    let ((_, drv), mdev) = unsafe { (type_of::<P>((*mdev).type_), Mdev::from_raw(mdev)) };
    let dev = mdev.as_dev();
    // SAFETY: `probe` succeeded, so the driver data is its `KBox`; the
    // driver's sysfs group is already gone, so nothing else uses it.
    let data = unsafe { KBox::from_raw((*dev).driver_data.cast::<P::Device>()) };
    // SAFETY: as above; the pointer is not used after this.
    unsafe { (*dev).driver_data = core::ptr::null_mut() };
    drv.remove(data)
}

/// mdev `get_available`: how many more devices may be created.
///
/// # Safety
///
/// Called by the mdev core with one of our types.
unsafe extern "C" fn get_available<P: Driver>(mtype: *mut bindings::mdev_type) -> c_uint {
    // SAFETY: the mdev core only calls us with our types.
    let (ty, drv) = unsafe { type_of::<P>(mtype) };
    drv.available(ty) as c_uint
}

/// mdev `show_description`: the type's resources, as GVT-g prints them.
///
/// # Safety
///
/// `mtype` must be one of our types and `buf` a `PAGE_SIZE` sysfs buffer.
unsafe extern "C" fn show_description<P: Driver>(
    mtype: *mut bindings::mdev_type,
    buf: *mut c_char,
) -> isize {
    // SAFETY: the mdev core only calls us with our types.
    let (ty, _) = unsafe { type_of::<P>(mtype) };
    // SAFETY: the mdev core passes a `PAGE_SIZE` sysfs buffer.
    let mut out = unsafe { PageBuf::new(buf) };
    from_result(|| {
        ty.describe(&mut out).map_err(|_| EFBIG)?;
        Ok(out.len())
    })
}

/// `show` of every file in the group of devices whose driver data is a `T`.
///
/// # Safety
///
/// `dev` must be bound to an mdev driver of ours whose devices carry a `T`
/// (the table was built with [`device_attr::<T>`] and given as that
/// driver's groups), and `buf` a `PAGE_SIZE` buffer (sysfs's contract).
unsafe extern "C" fn device_show<T: DeviceFiles>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: the group is only attached to devices bound to our driver,
    // and driver groups are removed before `remove` drops the driver data.
    let data = unsafe { drvdata::<T>(dev) };
    // SAFETY: sysfs passes a `PAGE_SIZE` buffer to `show`.
    let mut out = unsafe { PageBuf::new(buf) };
    from_result(|| {
        let row = device_row::<T>(attr).ok_or(EINVAL)?;
        data.show(row, &mut out)?;
        Ok(out.len())
    })
}

/// Which row of `T`'s table `attr` is.
fn device_row<T: DeviceFiles>(attr: *const bindings::device_attribute) -> Option<usize> {
    let offset = (attr as usize).wrapping_sub(T::attrs() as usize);
    let size = core::mem::size_of::<bindings::device_attribute>();
    let row = offset / size;
    (offset % size == 0 && row < T::N).then_some(row)
}

/// `store` of every writable file in the group of devices whose driver
/// data is a `T` (the rows made by [`device_attr_rw::<T>`]).
///
/// # Safety
///
/// `dev` must be bound to an mdev driver of ours whose devices carry a `T`
/// (as for [`device_show`]), and `buf` hold `count` readable bytes
/// (sysfs's contract).
unsafe extern "C" fn device_store<T: DeviceFiles>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: the group is only attached to devices bound to our driver,
    // and driver groups are removed (waiting for running `store` calls)
    // before `remove` drops the driver data.
    let data = unsafe { drvdata::<T>(dev) };
    // SAFETY: sysfs passes `count` readable bytes in `buf`, live for the call.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    from_result(|| {
        let row = device_row::<T>(attr).ok_or(EINVAL)?;
        data.store(row, input)?;
        Ok(count as isize)
    })
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

/// Registers device `name` in `class`, returning it with one reference.
fn new_parent_dev(class: *mut bindings::class, name: &CStr) -> Result<*mut bindings::device> {
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
    // strings (`dev_set_name` copies the name).
    let mut ret = unsafe {
        bindings::dev_set_name(dev, kernel::c_str!("%s").as_char_ptr(), name.as_char_ptr())
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

/// The registered parent device, its types and the mdev driver, leading
/// to a `P`.
///
/// # Invariants
///
/// While alive: `class` is a live class, `dev` a registered device in it on
/// which we hold a reference, `regs.driver` a registered mdev driver and
/// `regs.parent` a parent registered with `dev`, `regs.driver` and the types.
pub(crate) struct Parent<P: Driver> {
    class: *mut bindings::class,
    dev: *mut bindings::device,
    regs: Pin<KBox<Registrations<P>>>,
}

// SAFETY: the raw pointers are only used to unregister, which the kernel
// allows from any thread; `P` is `Send + Sync`.
unsafe impl<P: Driver> Send for Parent<P> {}
// SAFETY: `Parent` has no methods that use its pointers through `&self`.
unsafe impl<P: Driver> Sync for Parent<P> {}

impl<P: Driver> Parent<P> {
    /// Creates class `class_name` with device `dev_name`, and registers the
    /// mdev driver and parent with every type of [`TYPES`], leading to `data`.
    pub(crate) fn new(
        module: &'static ThisModule,
        class_name: &'static CStr,
        dev_name: &CStr,
        data: Arc<P>,
    ) -> Result<Self> {
        // SAFETY: the name is a NUL-terminated static string.
        let class = from_err_ptr(unsafe { bindings::class_create(class_name.as_char_ptr()) })?;
        // SAFETY: `class` was created above and is not used after this.
        let class_guard = ScopeGuard::new(|| unsafe { bindings::class_destroy(class) });

        let dev = new_parent_dev(class, dev_name)?;
        // SAFETY: `dev` is registered and we hold its initial reference.
        let dev_guard = ScopeGuard::new(|| unsafe { bindings::device_unregister(dev) });

        let driver = bindings::mdev_driver {
            device_api: kernel::c_str!("vfio-pci").as_char_ptr(),
            probe: Some(probe::<P>),
            remove: Some(remove::<P>),
            get_available: Some(get_available::<P>),
            show_description: Some(show_description::<P>),
            driver: bindings::device_driver {
                name: class_name.as_char_ptr(),
                owner: module.as_ptr(),
                mod_name: class_name.as_char_ptr(),
                dev_groups: P::Device::groups(),
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
            pin_init!(Registrations {
                driver: Opaque::new(driver),
                parent: Opaque::new(bindings::mdev_parent::default()),
                types,
                type_ptrs: Opaque::new([core::ptr::null_mut(); NR_TYPES]),
                data,
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

impl<P: Driver> Drop for Parent<P> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant everything is registered; removing
        // the parent removes every device first (calling `remove`).
        unsafe { bindings::mdev_unregister_parent(self.regs.parent.get()) };
        // SAFETY: no parent uses the driver any more.
        unsafe { bindings::mdev_unregister_driver(self.regs.driver.get()) };
        // SAFETY: drops our reference; `release_parent_dev` frees it.
        unsafe { bindings::device_unregister(self.dev) };
        // SAFETY: the class has no devices left.
        unsafe { bindings::class_destroy(self.class) };
    }
}
