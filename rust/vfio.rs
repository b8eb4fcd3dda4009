// SPDX-License-Identifier: GPL-2.0

//! A VFIO device in Rust: registration, the ops table, and guest memory
//! reached through it (pins and pinned pages).
//!
//! Registered as an emulated-IOMMU device (as kvmgt and the mdev samples
//! are), so guest memory is reached through `vfio_pin_pages` on IOVAs the
//! VMM mapped. What the device does is a [`Driver`]: the trampolines here
//! turn C calls into its safe methods, with the device's data found from the
//! `vfio_device` VFIO passes (`container_of`), never by a lookup.

pub(crate) mod ioctl;
pub(crate) mod session;

use crate::bindings;
use crate::page;
use crate::shadow::{self, Translate};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, from_result};
use kernel::ffi::{c_char, c_int, c_uint, c_ulong};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;
use kernel::uaccess::UserSlice;

/// Region index of the PCI configuration space.
pub(crate) const CONFIG_REGION: u32 = bindings::VFIO_PCI_CONFIG_REGION_INDEX;
/// Region index of BAR0 (MMIO registers and the GGTT).
pub(crate) const BAR0_REGION: u32 = bindings::VFIO_PCI_BAR0_REGION_INDEX;
/// Region index of BAR2 (the aperture).
pub(crate) const BAR2_REGION: u32 = bindings::VFIO_PCI_BAR2_REGION_INDEX;
/// Region index of the write-tracking region, the one device-specific
/// region (`RGVT_TRACK_REGION_INDEX` in the UAPI header).
pub(crate) const TRACK_REGION: u32 = bindings::VFIO_PCI_NUM_REGIONS;

/// Bytes of guest memory behind one IOVA page (and one GGTT entry).
const PAGE_SIZE: u64 = 4096;

/// What a VFIO device of ours does; the data of every callback.
pub(crate) trait Driver: Send + Sync + 'static {
    /// The first open of the device.
    fn open(&self, dev: &Device) -> Result;
    /// The last close of the device.
    fn close(&self, dev: &Device);
    /// The size of region `index`, `None` for a region the device lacks.
    fn region_size(&self, index: u32) -> Option<u64>;
    /// Whether an access of `count` bytes at `offset` of region `index` is
    /// allowed as a whole, checked before any of it is done (a refused
    /// access has no effect, even when it is split in chunks).
    fn region_check(&self, index: u32, offset: u64, count: usize) -> Result;
    /// One access of at most [`ACCESS_CHUNK`] bytes to region `index`.
    fn region_access(
        &self,
        dev: &Device,
        index: u32,
        offset: u64,
        data: &mut [u8],
        write: bool,
    ) -> Result;
    /// `VFIO_DEVICE_RESET`.
    fn reset(&self, dev: &Device) -> Result;
    /// The VMM unmapped guest memory [iova, iova + length).
    fn dma_unmap(&self, dev: &Device, iova: u64, length: u64);
    /// `VFIO_DEVICE_SET_IRQS` with its header and data, copied in; the
    /// header passed `SetHeader::data_size`.
    fn set_irqs(&self, dev: &Device, hdr: &crate::irq::SetHeader, data: &[u8]) -> Result;
    /// The device is being unregistered while a VMM holds it: ask the VMM
    /// to release it. `count` is how many times it was asked before (VFIO
    /// asks every 10 seconds).
    fn request(&self, count: u32);
}

/// The largest access passed to [`Driver::region_access`] at once; larger
/// BAR2 accesses are split, other regions refuse them.
pub(crate) const ACCESS_CHUNK: usize = 256;

/// A VFIO device VFIO handed to one of our callbacks.
///
/// # Invariants
///
/// The device is one of ours, allocated by [`Registration::new`], live and
/// open for the lifetime of the reference (only the trampolines below make
/// one, for the duration of a callback that needs an open device).
#[repr(transparent)]
pub(crate) struct Device(Opaque<bindings::vfio_device>);

impl Device {
    /// # Safety
    ///
    /// `vdev` must be a device of ours, live for `'a`.
    unsafe fn from_raw<'a>(vdev: *mut bindings::vfio_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `vfio_device`; the
        // caller guarantees it is live for `'a`.
        unsafe { &*vdev.cast::<Self>() }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::vfio_device {
        self.0.get()
    }

    /// The guest's memory as the core's [`Translate`]: pins by guest frame.
    pub(crate) fn pins(&self) -> Pins<'_> {
        Pins { dev: self }
    }

    /// A counted reference to the device, for use outside a callback while
    /// the device is open (the engine workers reach guest memory through it).
    pub(crate) fn get(&self) -> DeviceRef {
        // SAFETY: by the type invariant the device is live; `get_device`
        // takes a reference on its embedded `struct device`.
        unsafe { bindings::get_device(core::ptr::addr_of_mut!((*self.as_raw()).device)) };
        // INVARIANT: a reference was just taken.
        DeviceRef {
            vdev: NonNull::from(self),
        }
    }

    /// Pins guest frame `gfn` for as long as the returned guard lives.
    pub(crate) fn pin_page(&self, gfn: u64) -> Result<PinnedPage<'_>> {
        let iova = gfn.checked_mul(PAGE_SIZE).ok_or(EINVAL)?;
        let mut page: *mut bindings::page = core::ptr::null_mut();
        let prot = (bindings::IOMMU_READ | bindings::IOMMU_WRITE) as i32;
        // SAFETY: by the type invariant the device is live, and open: a
        // `&Device` only exists inside a callback VFIO makes between
        // `open_device` and the end of `close_device` (or on an open fd);
        // `page` receives one page pointer.
        let n = unsafe { bindings::vfio_pin_pages(self.as_raw(), iova, 1, prot, &mut page) };
        if n != 1 || page.is_null() {
            // The VMM never mapped this frame: not the guest's memory.
            return Err(EFAULT);
        }
        // INVARIANT: `page` was pinned just above, at `iova`.
        Ok(PinnedPage {
            dev: self,
            iova,
            page,
        })
    }
}

/// A reference on a device of ours, held outside VFIO's callbacks.
///
/// Its owner uses it only while the device is open and drops it before the
/// device's `close_device` returns (the vGPU's close takes it back under the
/// engine lock, which every user holds). VFIO refuses, with a warning, a
/// pin on a device that is not open, so a mistake there fails a pin; the
/// reference keeps the memory, so it is never a use after free.
///
/// # Invariants
///
/// `vdev` is a device of ours on which this holds one reference.
pub(crate) struct DeviceRef {
    vdev: NonNull<Device>,
}

// SAFETY: a `vfio_device` may be used and put from any thread.
unsafe impl Send for DeviceRef {}
// SAFETY: `&DeviceRef` only gives `&Device`, whose methods are thread-safe.
unsafe impl Sync for DeviceRef {}

impl DeviceRef {
    /// The device, for pins (see the type's documentation for when).
    pub(crate) fn device(&self) -> &Device {
        // SAFETY: by the type invariant the device is live while referenced.
        unsafe { self.vdev.as_ref() }
    }
}

impl Drop for DeviceRef {
    fn drop(&mut self) {
        // SAFETY: by the type invariant this holds one reference; never
        // the last one (the VFIO registration holds its own until the
        // device is unregistered, after close).
        unsafe { bindings::rgvt_vfio_put_device(self.vdev.as_ref().as_raw()) };
    }
}

/// One guest page pinned through VFIO, unpinned on drop.
///
/// # Invariants
///
/// `page` is pinned by `vfio_pin_pages` on `dev` at `iova`, once.
pub(crate) struct PinnedPage<'a> {
    dev: &'a Device,
    iova: u64,
    page: *mut bindings::page,
}

impl PinnedPage<'_> {
    /// The host frame of the page.
    pub(crate) fn pfn(&self) -> u64 {
        // SAFETY: by the type invariant the page is pinned, hence live.
        unsafe { page::pfn_of(self.page) }
    }

    /// Copies `buf.len()` bytes from `offset` in the page into `buf`.
    pub(crate) fn read(&self, offset: usize, buf: &mut [u8]) -> Result {
        if offset.checked_add(buf.len()).ok_or(EINVAL)? > PAGE_SIZE as usize {
            return Err(EINVAL);
        }
        // SAFETY: the page is pinned (type invariant) and the copy stays
        // inside it (checked above).
        unsafe { page::read_frame(self.pfn(), offset, buf) };
        Ok(())
    }

    /// Copies `buf` into the page at `offset`.
    pub(crate) fn write(&self, offset: usize, buf: &[u8]) -> Result {
        if offset.checked_add(buf.len()).ok_or(EINVAL)? > PAGE_SIZE as usize {
            return Err(EINVAL);
        }
        // SAFETY: the page is pinned (type invariant) and the copy stays
        // inside it (checked above).
        unsafe { page::write_frame(self.pfn(), offset, buf) };
        Ok(())
    }
}

impl Drop for PinnedPage<'_> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the page is pinned once at `iova`.
        unsafe { bindings::vfio_unpin_pages(self.dev.as_raw(), self.iova, 1) };
    }
}

/// Guest frames pinned through a VFIO device, as the core's [`Translate`].
///
/// The core keeps the books: it unpins exactly what it pinned.
pub(crate) struct Pins<'a> {
    dev: &'a Device,
}

impl Translate for Pins<'_> {
    fn pin(&mut self, gfn: u64) -> core::result::Result<u64, shadow::Error> {
        let page = self
            .dev
            .pin_page(gfn)
            .map_err(|_| shadow::Error::BadFrame)?;
        let pfn = page.pfn();
        // The core holds the pin until `unpin`.
        core::mem::forget(page);
        Ok(pfn)
    }

    fn unpin(&mut self, gfn: u64) {
        // SAFETY: the core only unpins what `pin` pinned (and forgot the
        // guard of); IOVA = guest physical address (kvmgt's convention).
        unsafe { bindings::vfio_unpin_pages(self.dev.as_raw(), gfn * PAGE_SIZE, 1) };
    }
}

/// What `_vfio_alloc_device` allocates for a device of ours.
///
/// # Invariants
///
/// `vdev` is first, as `vfio_alloc_device()` requires. `data` is null or
/// a reference from `Arc::into_raw`, released in [`release`].
#[repr(C)]
struct Raw<T> {
    vdev: bindings::vfio_device,
    data: *const T,
}

/// Returns the data of a device of ours (`container_of`).
///
/// # Safety
///
/// `vdev` must be a live device allocated by [`Registration::new`] for `T`,
/// i.e. any device VFIO passes to the ops of `T`.
unsafe fn data_of<'a, T>(vdev: *mut bindings::vfio_device) -> &'a T {
    // SAFETY: per the contract `vdev` is the first member of a live
    // `Raw<T>` whose `data` holds an `Arc` reference until `release`.
    unsafe { &*(*vdev.cast::<Raw<T>>()).data }
}

/// VFIO `release`: drops the device's reference to its data.
///
/// # Safety
///
/// `vdev` must be a device of ours whose last user is gone (VFIO's contract).
unsafe extern "C" fn release<T: Driver>(vdev: *mut bindings::vfio_device) {
    // SAFETY: VFIO calls `release` once, on a device of ours, after its last
    // user is gone and before freeing it.
    let data = unsafe { (*vdev.cast::<Raw<T>>()).data };
    if !data.is_null() {
        // SAFETY: by the invariant of `Raw`, this is the reference taken by
        // `Arc::into_raw` in `Registration::new`, given back once.
        drop(unsafe { Arc::from_raw(data) });
    }
}

/// Splits a region file offset into (region index, offset in the region).
fn region_of(pos: i64) -> Result<(u32, usize)> {
    let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
    let index = u32::try_from(pos >> ioctl::VFIO_PCI_OFFSET_SHIFT).map_err(|_| EINVAL)?;
    Ok((index, (pos & ioctl::VFIO_PCI_OFFSET_MASK) as usize))
}

/// A `read` or `write` on the device fd, copied through a bounce buffer:
/// config and BAR0 accesses are one register or entry; BAR2 accesses are
/// split in chunks.
///
/// The whole range is checked first ([`Driver::region_check`]), so a refused
/// access writes nothing and reads nothing. Between chunks no lock of ours
/// is held, and the task may be rescheduled: a 64 MB transfer holds the CPU
/// for one [`ACCESS_CHUNK`] at a time, and the vGPU's lock for one page
/// lookup at a time.
fn rw<T: Driver>(
    drv: &T,
    dev: &Device,
    pos: i64,
    user: UserSlice,
    count: usize,
    write: bool,
) -> Result<isize> {
    let (index, offset) = region_of(pos)?;
    let chunked = index == BAR2_REGION || index == TRACK_REGION;
    if count == 0 || (!chunked && count > ACCESS_CHUNK) {
        return Err(EINVAL);
    }
    drv.region_check(index, offset as u64, count)?;
    let (mut reader, mut writer) = user.reader_writer();
    let mut buf = [0u8; ACCESS_CHUNK];
    let mut done = 0;
    while done < count {
        let n = (count - done).min(ACCESS_CHUNK);
        let data = &mut buf[..n];
        if write {
            reader.read_slice(data)?;
        }
        drv.region_access(dev, index, (offset + done) as u64, data, write)?;
        if !write {
            writer.write_slice(data)?;
        }
        done += n;
        // No lock of ours is held between chunks.
        crate::sched::cond_resched();
    }
    Ok(count as isize)
}

/// The common part of the `read` and `write` callbacks.
///
/// # Safety
///
/// `vdev` must be one of our devices and `ppos` valid (VFIO's contract).
unsafe fn rw_callback<T: Driver>(
    vdev: *mut bindings::vfio_device,
    buf: usize,
    count: usize,
    ppos: *mut bindings::loff_t,
    write: bool,
) -> isize {
    // SAFETY: VFIO passes one of our devices, live during the call.
    let (drv, dev) = unsafe { (data_of::<T>(vdev), Device::from_raw(vdev)) };
    // SAFETY: VFIO passes a valid position pointer.
    let pos = unsafe { *ppos };
    from_result(|| rw(drv, dev, pos, UserSlice::new(buf, count), count, write))
}

/// VFIO `read`: a region read by the VMM.
///
/// # Safety
///
/// `vdev` must be one of our devices and `ppos` valid (VFIO's contract).
unsafe extern "C" fn read<T: Driver>(
    vdev: *mut bindings::vfio_device,
    buf: *mut c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: forwarded from VFIO's contract.
    unsafe { rw_callback::<T>(vdev, buf as usize, count, ppos, false) }
}

/// VFIO `write`: a region write by the VMM.
///
/// # Safety
///
/// `vdev` must be one of our devices and `ppos` valid (VFIO's contract).
unsafe extern "C" fn write<T: Driver>(
    vdev: *mut bindings::vfio_device,
    buf: *const c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: forwarded from VFIO's contract.
    unsafe { rw_callback::<T>(vdev, buf as usize, count, ppos, true) }
}

/// VFIO `open_device`: the first open.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn open_device<T: Driver>(vdev: *mut bindings::vfio_device) -> c_int {
    // SAFETY: VFIO passes one of our devices, live during the call.
    let (drv, dev) = unsafe { (data_of::<T>(vdev), Device::from_raw(vdev)) };
    from_result(|| drv.open(dev).map(|()| 0))
}

/// VFIO `close_device`: the last close.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn close_device<T: Driver>(vdev: *mut bindings::vfio_device) {
    // SAFETY: VFIO passes one of our devices, live during the call.
    let (drv, dev) = unsafe { (data_of::<T>(vdev), Device::from_raw(vdev)) };
    drv.close(dev)
}

/// VFIO `dma_unmap`: the VMM unmapped guest memory.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn dma_unmap<T: Driver>(vdev: *mut bindings::vfio_device, iova: u64, len: u64) {
    // SAFETY: VFIO passes one of our devices, live during the call.
    let (drv, dev) = unsafe { (data_of::<T>(vdev), Device::from_raw(vdev)) };
    drv.dma_unmap(dev, iova, len)
}

/// VFIO `request`: the device is being unregistered while still open.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn request<T: Driver>(vdev: *mut bindings::vfio_device, count: c_uint) {
    // SAFETY: VFIO passes one of our devices, registered and live during the
    // call (`vfio_unregister_group_dev` calls this before it returns).
    let drv = unsafe { data_of::<T>(vdev) };
    drv.request(count)
}

/// VFIO `ioctl`: device ioctls from the VMM.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn ioctl<T: Driver>(
    vdev: *mut bindings::vfio_device,
    cmd: c_uint,
    arg: c_ulong,
) -> isize {
    // SAFETY: VFIO passes one of our devices, live during the call.
    let (drv, dev) = unsafe { (data_of::<T>(vdev), Device::from_raw(vdev)) };
    from_result(|| dispatch(drv, dev, cmd, arg).map(|r| r as isize))
}

/// The type capability of the device-specific regions (`RGVT_TRACK_TYPE`
/// and `RGVT_TRACK_SUBTYPE` in the UAPI header): an Intel vendor type with
/// rgvt's own subtype.
fn region_type(index: u32) -> Option<ioctl::RegionType> {
    (index == TRACK_REGION).then_some(ioctl::RegionType {
        ty: bindings::VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086,
        subtype: TRACK_SUBTYPE,
    })
}

/// Subtype of the tracking region (rgvt's, above the i915 ones VFIO names).
pub(crate) const TRACK_SUBTYPE: u32 = 0x5247_0001;

/// Runs device ioctl `cmd` with user argument `arg`.
fn dispatch<T: Driver>(drv: &T, dev: &Device, cmd: c_uint, arg: c_ulong) -> Result<c_ulong> {
    match cmd {
        ioctl::VFIO_DEVICE_GET_INFO => ioctl::get_info(arg),
        ioctl::VFIO_DEVICE_GET_REGION_INFO => {
            ioctl::get_region_info(arg, |i| drv.region_size(i), region_type)
        }
        ioctl::VFIO_DEVICE_GET_IRQ_INFO => ioctl::get_irq_info(arg),
        ioctl::VFIO_DEVICE_SET_IRQS => {
            ioctl::set_irqs(arg, |hdr, data| drv.set_irqs(dev, hdr, data))
        }
        ioctl::VFIO_DEVICE_RESET => drv.reset(dev).map(|()| 0),
        _ => Err(ENOTTY),
    }
}

/// The ops table of devices whose data is a `T`.
struct Ops<T>(PhantomData<T>);

impl<T: Driver> Ops<T> {
    const OPS: bindings::vfio_device_ops = bindings::vfio_device_ops {
        name: kernel::c_str!("rgvt-vgpu").as_char_ptr().cast_mut(),
        release: Some(release::<T>),
        read: Some(read::<T>),
        write: Some(write::<T>),
        ioctl: Some(ioctl::<T>),
        open_device: Some(open_device::<T>),
        close_device: Some(close_device::<T>),
        dma_unmap: Some(dma_unmap::<T>),
        request: Some(request::<T>),
        #[cfg(CONFIG_IOMMUFD)]
        bind_iommufd: Some(bindings::vfio_iommufd_emulated_bind),
        #[cfg(CONFIG_IOMMUFD)]
        unbind_iommufd: Some(bindings::vfio_iommufd_emulated_unbind),
        #[cfg(CONFIG_IOMMUFD)]
        attach_ioas: Some(bindings::vfio_iommufd_emulated_attach_ioas),
        #[cfg(CONFIG_IOMMUFD)]
        detach_ioas: Some(bindings::vfio_iommufd_emulated_detach_ioas),
        // SAFETY: all zeroes is a valid `vfio_device_ops` (no other callbacks).
        ..unsafe { core::mem::zeroed() }
    };
}

/// A registered VFIO device whose callbacks go to a `T`.
///
/// # Invariants
///
/// `vdev` is a registered device from [`Registration::new`] on which we
/// hold the reference `_vfio_alloc_device` returned.
pub(crate) struct Registration<T> {
    vdev: NonNull<bindings::vfio_device>,
    _data: PhantomData<Arc<T>>,
}

// SAFETY: the device is only unregistered and put, which VFIO allows from
// any thread; the data it holds is `Send + Sync` (`Driver`).
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: `Registration` has no `&self` methods.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Allocates and registers a VFIO device under the mdev device `parent`,
    /// whose callbacks go to `data`.
    pub(crate) fn new(parent: &crate::mdev::Mdev, data: Arc<T>) -> Result<Self> {
        // SAFETY: `parent` is a live device; `Raw<T>` starts with its
        // `vfio_device` as `_vfio_alloc_device` requires; the ops are a
        // promoted constant.
        let vdev = from_err_ptr(unsafe {
            bindings::_vfio_alloc_device(
                core::mem::size_of::<Raw<T>>(),
                parent.as_dev(),
                &Ops::<T>::OPS,
            )
        })?;
        // INVARIANT: the allocation is zeroed, so `data` was null; from here
        // on it holds a reference that `release` gives back.
        // SAFETY: `vdev` is the start of a freshly allocated `Raw<T>`.
        unsafe { (*vdev.cast::<Raw<T>>()).data = Arc::into_raw(data) };
        // SAFETY: `vdev` was initialised by `_vfio_alloc_device`.
        let ret = unsafe { bindings::vfio_register_emulated_iommu_dev(vdev) };
        if ret != 0 {
            // SAFETY: drops the allocation reference; `release` runs.
            unsafe { bindings::rgvt_vfio_put_device(vdev) };
            return Err(Error::from_errno(ret));
        }
        let vdev = NonNull::new(vdev).ok_or(EINVAL)?;
        Ok(Self {
            vdev,
            _data: PhantomData,
        })
    }
}

impl<T> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the device is registered; this waits
        // until user space closed it.
        unsafe { bindings::vfio_unregister_group_dev(self.vdev.as_ptr()) };
        // SAFETY: drops our reference; the last one runs `release`.
        unsafe { bindings::rgvt_vfio_put_device(self.vdev.as_ptr()) };
    }
}
