// SPDX-License-Identifier: GPL-2.0

//! The VFIO device of a vGPU: what a VMM opens, reads, writes and ioctls.
//!
//! Registered as an emulated-IOMMU device (as kvmgt and the mdev samples
//! are), so guest memory is reached through `vfio_pin_pages`/`vfio_dma_rw`
//! on IOVAs the VMM mapped. Every region access and ioctl argument comes from
//! an untrusted user: sizes, offsets and `argsz` are checked before use.

use crate::bindings;
use crate::c_static::CStatic;
use crate::vgpu::{self, Vgpu};
use core::mem::offset_of;
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, from_result};
use kernel::ffi::{c_char, c_uint, c_ulong};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::uaccess::UserSlice;

/// Region index sits above this bit of a file offset (as in vfio-pci).
const VFIO_PCI_OFFSET_SHIFT: u32 = 40;
const VFIO_PCI_OFFSET_MASK: u64 = (1 << VFIO_PCI_OFFSET_SHIFT) - 1;

const fn vfio_ioctl(nr: u32) -> c_uint {
    kernel::ioctl::_IO(bindings::VFIO_TYPE as u32, bindings::VFIO_BASE + nr)
}
const VFIO_DEVICE_GET_INFO: c_uint = vfio_ioctl(7);
const VFIO_DEVICE_GET_REGION_INFO: c_uint = vfio_ioctl(8);
const VFIO_DEVICE_GET_IRQ_INFO: c_uint = vfio_ioctl(9);
const VFIO_DEVICE_SET_IRQS: c_uint = vfio_ioctl(10);
const VFIO_DEVICE_RESET: c_uint = vfio_ioctl(11);

/// What `_vfio_alloc_device` allocates for a vGPU.
///
/// # Invariants
///
/// `vdev` is first, as `vfio_alloc_device()` requires. `vgpu` is null or
/// a reference from `Arc::into_raw`, released in [`release`].
#[repr(C)]
struct Device {
    vdev: bindings::vfio_device,
    vgpu: *const Vgpu,
}

/// Returns the vGPU behind a VFIO device of ours.
///
/// # Safety
///
/// `vdev` must be a live device allocated by [`Registration::new`] whose
/// `vgpu` was set, i.e. any device VFIO passes to our ops.
unsafe fn vgpu_of<'a>(vdev: *mut bindings::vfio_device) -> &'a Vgpu {
    // SAFETY: per the function's contract, `vdev` is the first member of a
    // live `Device` whose `vgpu` holds an `Arc` reference until `release`.
    unsafe { &*(*vdev.cast::<Device>()).vgpu }
}

/// VFIO `release`: drops the device's reference to its vGPU.
///
/// # Safety
///
/// `vdev` must be a device of ours whose last user is gone (VFIO's contract).
unsafe extern "C" fn release(vdev: *mut bindings::vfio_device) {
    // SAFETY: VFIO calls `release` once, on a device of ours, after its last
    // user is gone and before freeing it.
    let vgpu = unsafe { (*vdev.cast::<Device>()).vgpu };
    if !vgpu.is_null() {
        // SAFETY: by the invariant of `Device`, this is the reference taken
        // by `Arc::into_raw` in `Registration::new`, given back once.
        drop(unsafe { Arc::from_raw(vgpu) });
    }
}

/// Splits a region file offset into (region index, offset in the region).
fn region_of(pos: i64) -> Result<(u32, usize)> {
    let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
    let index = u32::try_from(pos >> VFIO_PCI_OFFSET_SHIFT).map_err(|_| EINVAL)?;
    Ok((index, (pos & VFIO_PCI_OFFSET_MASK) as usize))
}

/// The largest single access to the configuration space region.
const CFG_ACCESS_MAX: usize = crate::cfg_space::PCI_CFG_SPACE_SIZE;

fn region_read(vgpu: &Vgpu, pos: i64, out: UserSlice, count: usize) -> Result<isize> {
    let (index, offset) = region_of(pos)?;
    match index {
        bindings::VFIO_PCI_CONFIG_REGION_INDEX => {
            let mut data = [0u8; CFG_ACCESS_MAX];
            let data = data.get_mut(..count).ok_or(EINVAL)?;
            vgpu.cfg.lock().read(offset, data).map_err(|_| EINVAL)?;
            out.writer().write_slice(data)?;
            Ok(count as isize)
        }
        // BAR0 (MMIO, GGTT) and BAR2 (aperture) are emulated by the
        // sim backend work that follows; until then they are not readable.
        _ => Err(EINVAL),
    }
}

fn region_write(vgpu: &Vgpu, pos: i64, input: UserSlice, count: usize) -> Result<isize> {
    let (index, offset) = region_of(pos)?;
    match index {
        bindings::VFIO_PCI_CONFIG_REGION_INDEX => {
            let mut data = [0u8; CFG_ACCESS_MAX];
            let data = data.get_mut(..count).ok_or(EINVAL)?;
            input.reader().read_slice(data)?;
            vgpu.cfg.lock().write(offset, data).map_err(|_| EINVAL)?;
            Ok(count as isize)
        }
        _ => Err(EINVAL),
    }
}

/// VFIO `read`: a region read by the VMM.
///
/// # Safety
///
/// `vdev` must be one of our devices and `ppos` valid (VFIO's contract).
unsafe extern "C" fn read(
    vdev: *mut bindings::vfio_device,
    buf: *mut c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: VFIO passes one of our devices and a valid position pointer.
    let (vgpu, pos) = unsafe { (vgpu_of(vdev), *ppos) };
    from_result(|| region_read(vgpu, pos, UserSlice::new(buf as usize, count), count))
}

/// VFIO `write`: a region write by the VMM.
///
/// # Safety
///
/// `vdev` must be one of our devices and `ppos` valid (VFIO's contract).
unsafe extern "C" fn write(
    vdev: *mut bindings::vfio_device,
    buf: *const c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: VFIO passes one of our devices and a valid position pointer.
    let (vgpu, pos) = unsafe { (vgpu_of(vdev), *ppos) };
    from_result(|| region_write(vgpu, pos, UserSlice::new(buf as usize, count), count))
}

/// An ioctl argument: the first `minsz` bytes of a VFIO uAPI structure.
///
/// Fields are read and written at their C offsets (`offset_of!` on the
/// bindgen structures), so no user bytes are ever reinterpreted as a Rust
/// type.
struct IoctlArg {
    bytes: [u8; 32],
    minsz: usize,
    user: usize,
}

impl IoctlArg {
    /// Copies in `minsz` bytes and checks `argsz` (the first field).
    fn read(arg: c_ulong, minsz: usize) -> Result<Self> {
        let mut a = Self {
            bytes: [0; 32],
            minsz,
            user: arg,
        };
        let head = a.bytes.get_mut(..minsz).ok_or(EINVAL)?;
        UserSlice::new(a.user, minsz).reader().read_slice(head)?;
        if (a.get_u32(0) as usize) < minsz {
            return Err(EINVAL);
        }
        Ok(a)
    }

    fn get_u32(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[off..off + 4]);
        u32::from_ne_bytes(b)
    }

    fn put_u32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }

    fn put_u64(&mut self, off: usize, v: u64) {
        self.bytes[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    }

    /// Copies the `minsz` bytes back to user space.
    fn write_back(&self) -> Result<c_ulong> {
        UserSlice::new(self.user, self.minsz)
            .writer()
            .write_slice(&self.bytes[..self.minsz])?;
        Ok(0)
    }
}

fn get_info(arg: c_ulong) -> Result<c_ulong> {
    type T = bindings::vfio_device_info;
    let mut a = IoctlArg::read(arg, offset_of!(T, num_irqs) + 4)?;
    a.put_u32(
        offset_of!(T, flags),
        bindings::VFIO_DEVICE_FLAGS_PCI | bindings::VFIO_DEVICE_FLAGS_RESET,
    );
    a.put_u32(offset_of!(T, num_regions), bindings::VFIO_PCI_NUM_REGIONS);
    a.put_u32(offset_of!(T, num_irqs), bindings::VFIO_PCI_NUM_IRQS);
    a.write_back()
}

fn get_region_info(arg: c_ulong) -> Result<c_ulong> {
    type T = bindings::vfio_region_info;
    let mut a = IoctlArg::read(arg, offset_of!(T, offset) + 8)?;
    let index = a.get_u32(offset_of!(T, index));
    let rw = bindings::VFIO_REGION_INFO_FLAG_READ | bindings::VFIO_REGION_INFO_FLAG_WRITE;
    let (flags, size) = match index {
        bindings::VFIO_PCI_CONFIG_REGION_INDEX => (rw, CFG_ACCESS_MAX as u64),
        // Sized now so a VMM can lay out the BARs; accesses come with the
        // register file and aperture emulation.
        bindings::VFIO_PCI_BAR0_REGION_INDEX => (0, vgpu::BAR0_SIZE),
        bindings::VFIO_PCI_BAR2_REGION_INDEX => (0, vgpu::BAR2_SIZE),
        i if i < bindings::VFIO_PCI_NUM_REGIONS => (0, 0),
        _ => return Err(EINVAL),
    };
    a.put_u32(offset_of!(T, flags), flags);
    a.put_u32(offset_of!(T, cap_offset), 0);
    a.put_u64(offset_of!(T, size), size);
    a.put_u64(
        offset_of!(T, offset),
        u64::from(index) << VFIO_PCI_OFFSET_SHIFT,
    );
    a.write_back()
}

fn get_irq_info(arg: c_ulong) -> Result<c_ulong> {
    type T = bindings::vfio_irq_info;
    let mut a = IoctlArg::read(arg, offset_of!(T, count) + 4)?;
    if a.get_u32(offset_of!(T, index)) >= bindings::VFIO_PCI_NUM_IRQS {
        return Err(EINVAL);
    }
    // No interrupt is wired up yet: every index reports zero vectors.
    a.put_u32(offset_of!(T, flags), 0);
    a.put_u32(offset_of!(T, count), 0);
    a.write_back()
}

fn set_irqs(arg: c_ulong) -> Result<c_ulong> {
    type T = bindings::vfio_irq_set;
    IoctlArg::read(arg, offset_of!(T, count) + 4)?;
    // Every index has zero vectors (see `get_irq_info`), so no request fits.
    Err(EINVAL)
}

fn reset(vgpu: &Vgpu) -> Result<c_ulong> {
    *vgpu.cfg.lock() = Vgpu::reset_cfg_space()?;
    Ok(0)
}

/// VFIO `ioctl`: device ioctls from the VMM.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn ioctl(vdev: *mut bindings::vfio_device, cmd: c_uint, arg: c_ulong) -> isize {
    // SAFETY: VFIO passes one of our devices.
    let vgpu = unsafe { vgpu_of(vdev) };
    from_result(|| {
        let r = match cmd {
            VFIO_DEVICE_GET_INFO => get_info(arg),
            VFIO_DEVICE_GET_REGION_INFO => get_region_info(arg),
            VFIO_DEVICE_GET_IRQ_INFO => get_irq_info(arg),
            VFIO_DEVICE_SET_IRQS => set_irqs(arg),
            VFIO_DEVICE_RESET => reset(vgpu),
            _ => Err(ENOTTY),
        }?;
        Ok(r as isize)
    })
}

static OPS: CStatic<bindings::vfio_device_ops> = CStatic::new(bindings::vfio_device_ops {
    name: kernel::c_str!("rgvt-vgpu").as_char_ptr().cast_mut(),
    release: Some(release),
    read: Some(read),
    write: Some(write),
    ioctl: Some(ioctl),
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
});

/// A registered VFIO device for one vGPU.
///
/// # Invariants
///
/// `0` is a registered device from [`Registration::new`] on which we hold
/// the reference `_vfio_alloc_device` returned.
pub(crate) struct Registration(NonNull<bindings::vfio_device>);

// SAFETY: the device is only unregistered and put, which VFIO allows from
// any thread.
unsafe impl Send for Registration {}

impl Registration {
    /// Allocates and registers the VFIO device of `vgpu` under `dev` (the
    /// mdev device).
    pub(crate) fn new(dev: *mut bindings::device, vgpu: Arc<Vgpu>) -> Result<Self> {
        // SAFETY: `dev` is a live mdev device being probed; `Device` starts
        // with its `vfio_device` as `_vfio_alloc_device` requires; `OPS` is
        // a static.
        let vdev = from_err_ptr(unsafe {
            bindings::_vfio_alloc_device(core::mem::size_of::<Device>(), dev, OPS.get())
        })?;
        // INVARIANT: the allocation is zeroed, so `vgpu` was null; from here
        // on it holds a reference that `release` gives back.
        // SAFETY: `vdev` is the start of a freshly allocated `Device`.
        unsafe { (*vdev.cast::<Device>()).vgpu = Arc::into_raw(vgpu) };
        // SAFETY: `vdev` was initialised by `_vfio_alloc_device`.
        let ret = unsafe { bindings::vfio_register_emulated_iommu_dev(vdev) };
        if ret != 0 {
            // SAFETY: drops the allocation reference; `release` runs.
            unsafe { bindings::rgvt_vfio_put_device(vdev) };
            return Err(Error::from_errno(ret));
        }
        NonNull::new(vdev).map(Self).ok_or(EINVAL)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the device is registered; this waits
        // until user space closed it.
        unsafe { bindings::vfio_unregister_group_dev(self.0.as_ptr()) };
        // SAFETY: drops our reference; the last one runs `release`.
        unsafe { bindings::rgvt_vfio_put_device(self.0.as_ptr()) };
    }
}
