// SPDX-License-Identifier: GPL-2.0

//! The VFIO device of a vGPU: what a VMM opens, reads, writes and ioctls.
//!
//! Registered as an emulated-IOMMU device (as kvmgt and the mdev samples
//! are), so guest memory is reached through `vfio_pin_pages`/`vfio_dma_rw`
//! on IOVAs the VMM mapped. Every region access and ioctl argument comes from
//! an untrusted user: sizes, offsets and `argsz` are checked before use.

use crate::backend::Ggtt;
use crate::bindings;
use crate::c_static::CStatic;
use crate::cfg_space::PCI_CFG_SPACE_SIZE;
use crate::mmio::{self, Target};
use crate::pte::GgttPte;
use crate::shadow::{self, Translate};
use crate::state::{self, State};
use crate::vgpu::{self, Inner, Vgpu, GTT_PAGE_SIZE};
use core::mem::offset_of;
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, from_result};
use kernel::ffi::{c_char, c_int, c_uint, c_ulong};
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

/// The largest access copied in one step (a region access loops over them).
const ACCESS_CHUNK: usize = 256;

/// Guest frames pinned through VFIO, as the core's [`Translate`].
///
/// # Invariants
///
/// `vdev` is one of our devices, open (VFIO only calls the ops that build
/// a `Pins` between `open_device` and the end of `close_device`).
struct Pins {
    vdev: *mut bindings::vfio_device,
}

impl Translate for Pins {
    fn pin(&mut self, gfn: u64) -> core::result::Result<u64, shadow::Error> {
        // IOVA = guest physical address (kvmgt's convention).
        let iova = gfn
            .checked_mul(GTT_PAGE_SIZE)
            .ok_or(shadow::Error::BadFrame)?;
        let mut page: *mut bindings::page = core::ptr::null_mut();
        let prot = (bindings::IOMMU_READ | bindings::IOMMU_WRITE) as i32;
        // SAFETY: by the type invariant `vdev` is open; `page` receives one
        // page pointer.
        let n = unsafe { bindings::vfio_pin_pages(self.vdev, iova, 1, prot, &mut page) };
        if n != 1 || page.is_null() {
            // The VMM never mapped this frame: not the guest's memory.
            return Err(shadow::Error::BadFrame);
        }
        // SAFETY: `page` was just pinned and stays so until `unpin`.
        Ok(unsafe { bindings::rgvt_page_to_pfn(page) } as u64)
    }

    fn unpin(&mut self, gfn: u64) {
        // SAFETY: `vdev` is open and `gfn` was pinned by `pin` (the core
        // unpins only what it pinned).
        unsafe { bindings::vfio_unpin_pages(self.vdev, gfn * GTT_PAGE_SIZE, 1) };
    }
}

/// Drops every pin and starts the GGTT of `vgpu` over: all entries on
/// scratch (private and physical), the guest's view empty, the ranges the
/// vGPU owns now.
fn reset_ggtt(
    state: &State,
    vdev: *mut bindings::vfio_device,
    vgpu: &Vgpu,
    inner: &mut Inner,
) -> Result {
    // INVARIANT: called from open, close and reset, while `vdev` is open.
    let mut pins = Pins { vdev };
    inner.ggtt.release(&mut pins);
    inner.counters.resets += 1;
    let ranges = {
        let mut parent = state.vgpus.lock();
        let ranges = vgpu::ggtt_ranges(&parent.gm, vgpu.gm_id)?;
        let scratch = state.gpu.scratch_pte();
        for r in ranges.iter() {
            for index in r.start..r.start + r.len {
                parent.install(&state.gpu, vgpu.gm_id, index, scratch);
            }
        }
        state.gpu.invalidate();
        ranges
    };
    if inner.open {
        inner.ggtt.set_ranges(&mut pins, &ranges)?;
    }
    Ok(())
}

fn bar0_access(
    state: &State,
    vdev: *mut bindings::vfio_device,
    vgpu: &Vgpu,
    offset: u64,
    data: &mut [u8],
    write: bool,
) -> Result {
    let mut inner = vgpu.inner.lock();
    let target = match mmio::decode(offset, data.len()) {
        Ok(t) => t,
        Err(_) => {
            inner.counters.bar0_bad += 1;
            return Err(EINVAL);
        }
    };
    match target {
        Target::Mmio(o) if write => {
            // Notifications are counted by the register file; acting on
            // them (PPGTT create, balloon requests) comes with the engine.
            let _ = inner.vregs.write(o, data);
        }
        Target::Mmio(o) => inner.vregs.read(o, data),
        Target::Ggtt { index, offset } if write => {
            let mut raw = [0u8; 8];
            raw[..data.len()].copy_from_slice(data);
            let value = u64::from_le_bytes(raw);
            // INVARIANT: region accesses only come while the device is open.
            let mut pins = Pins { vdev };
            if let Some(pte) = inner
                .ggtt
                .write(&mut pins, index, offset, data.len(), value)
            {
                if state
                    .vgpus
                    .lock()
                    .install(&state.gpu, vgpu.gm_id, index, pte)
                {
                    state.gpu.invalidate();
                }
            }
        }
        Target::Ggtt { index, offset } => {
            let v = inner.ggtt.read(index, offset, data.len());
            let len = data.len();
            data.copy_from_slice(&v.to_le_bytes()[..len]);
        }
    }
    Ok(())
}

/// A VMM access to the aperture: through the vGPU's own GGTT entries to
/// the guest pages they map, within the vGPU's low GM only.
fn bar2_access(state: &State, vgpu: &Vgpu, offset: u64, data: &mut [u8], write: bool) -> Result {
    let mut inner = vgpu.inner.lock();
    let end = offset.checked_add(data.len() as u64).ok_or(EINVAL)?;
    if offset < vgpu.low_base || end > vgpu.low_base + vgpu.low_size {
        inner.counters.bar2_out_of_range += 1;
        return Err(EINVAL);
    }
    let parent = state.vgpus.lock();
    let scratch = state.gpu.scratch_mfn();
    let mut done = 0;
    while done < data.len() {
        let addr = offset + done as u64;
        let in_page = (addr % GTT_PAGE_SIZE) as usize;
        let n = (data.len() - done).min(GTT_PAGE_SIZE as usize - in_page);
        let chunk = &mut data[done..done + n];
        let pte = GgttPte::from_raw(
            parent
                .gm
                .read(vgpu.gm_id, addr / GTT_PAGE_SIZE)
                .unwrap_or(0),
        );
        if !pte.present() || pte.frame() == scratch {
            inner.counters.bar2_scratch += 1;
            if !write {
                chunk.fill(0);
            }
        } else {
            let pfn = pte.frame() as usize;
            // SAFETY: the frame comes from the vGPU's own entry, which only
            // ever holds frames pinned for it (held while the entry does,
            // under the vGPU lock we hold); `in_page + n` stays in the page.
            unsafe {
                if write {
                    bindings::rgvt_pfn_write(pfn, in_page, chunk.as_ptr().cast(), n)
                } else {
                    bindings::rgvt_pfn_read(pfn, in_page, chunk.as_mut_ptr().cast(), n)
                }
            }
            inner.counters.bar2_accesses += 1;
        }
        done += n;
    }
    Ok(())
}

/// One region access of at most [`ACCESS_CHUNK`] bytes.
fn region_access(
    vdev: *mut bindings::vfio_device,
    vgpu: &Vgpu,
    index: u32,
    offset: u64,
    data: &mut [u8],
    write: bool,
) -> Result {
    let state = state::get()?;
    match index {
        bindings::VFIO_PCI_CONFIG_REGION_INDEX => {
            let mut inner = vgpu.inner.lock();
            let offset = usize::try_from(offset).map_err(|_| EINVAL)?;
            let r = if write {
                inner.cfg.write(offset, data)
            } else {
                inner.cfg.read(offset, data)
            };
            r.map_err(|_| EINVAL)
        }
        bindings::VFIO_PCI_BAR0_REGION_INDEX => bar0_access(state, vdev, vgpu, offset, data, write),
        bindings::VFIO_PCI_BAR2_REGION_INDEX => bar2_access(state, vgpu, offset, data, write),
        _ => Err(EINVAL),
    }
}

/// A `read` or `write` on the device fd: BAR0 and config accesses are one
/// register or entry; BAR2 accesses are split in chunks.
fn rw(
    vdev: *mut bindings::vfio_device,
    vgpu: &Vgpu,
    pos: i64,
    user: UserSlice,
    count: usize,
    write: bool,
) -> Result<isize> {
    let (index, offset) = region_of(pos)?;
    let chunked = index == bindings::VFIO_PCI_BAR2_REGION_INDEX;
    if count == 0 || (!chunked && count > ACCESS_CHUNK) {
        return Err(EINVAL);
    }
    let (mut reader, mut writer) = user.reader_writer();
    let mut buf = [0u8; ACCESS_CHUNK];
    let mut done = 0;
    while done < count {
        let n = (count - done).min(ACCESS_CHUNK);
        let data = &mut buf[..n];
        if write {
            reader.read_slice(data)?;
        }
        region_access(vdev, vgpu, index, (offset + done) as u64, data, write)?;
        if !write {
            writer.write_slice(data)?;
        }
        done += n;
    }
    Ok(count as isize)
}

/// The common part of the `read` and `write` callbacks.
///
/// # Safety
///
/// `vdev` must be one of our devices and `ppos` valid (VFIO's contract).
unsafe fn rw_callback(
    vdev: *mut bindings::vfio_device,
    buf: usize,
    count: usize,
    ppos: *mut bindings::loff_t,
    write: bool,
) -> isize {
    // SAFETY: VFIO passes one of our devices and a valid position pointer.
    let (vgpu, pos) = unsafe { (vgpu_of(vdev), *ppos) };
    from_result(|| rw(vdev, vgpu, pos, UserSlice::new(buf, count), count, write))
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
    // SAFETY: forwarded from VFIO's contract.
    unsafe { rw_callback(vdev, buf as usize, count, ppos, false) }
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
    // SAFETY: forwarded from VFIO's contract.
    unsafe { rw_callback(vdev, buf as usize, count, ppos, true) }
}

/// VFIO `open_device`: the first open; the GGTT starts empty.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn open_device(vdev: *mut bindings::vfio_device) -> c_int {
    // SAFETY: VFIO passes one of our devices.
    let vgpu = unsafe { vgpu_of(vdev) };
    from_result(|| {
        let state = state::get()?;
        let mut inner = vgpu.inner.lock();
        inner.open = true;
        if let Err(e) = reset_ggtt(state, vdev, vgpu, &mut inner) {
            inner.open = false;
            return Err(e);
        }
        Ok(0)
    })
}

/// VFIO `close_device`: the last close; every pin is dropped.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn close_device(vdev: *mut bindings::vfio_device) {
    // SAFETY: VFIO passes one of our devices.
    let vgpu = unsafe { vgpu_of(vdev) };
    let Ok(state) = state::get() else {
        return;
    };
    let mut inner = vgpu.inner.lock();
    inner.open = false;
    // Releasing pins cannot fail; only re-scrubbing can, on allocation.
    if reset_ggtt(state, vdev, vgpu, &mut inner).is_err() {
        pr_warn!("{}: could not scrub GGTT entries on close\n", vgpu);
    }
}

/// VFIO `dma_unmap`: the VMM unmapped guest memory that entries may pin.
///
/// # Safety
///
/// `vdev` must be one of our devices (VFIO's contract).
unsafe extern "C" fn dma_unmap(vdev: *mut bindings::vfio_device, iova: u64, length: u64) {
    // SAFETY: VFIO passes one of our devices.
    let vgpu = unsafe { vgpu_of(vdev) };
    let Ok(state) = state::get() else {
        return;
    };
    let mut inner = vgpu.inner.lock();
    inner.counters.dma_unmaps += 1;
    let first = iova / GTT_PAGE_SIZE;
    let last = iova.saturating_add(length).div_ceil(GTT_PAGE_SIZE);
    // INVARIANT: VFIO only notifies devices that are open.
    let mut pins = Pins { vdev };
    let mut parent = state.vgpus.lock();
    let mut changed = false;
    inner
        .ggtt
        .unmap(&mut pins, first, last - first, |index, pte| {
            changed |= parent.install(&state.gpu, vgpu.gm_id, index, pte);
        });
    if changed {
        state.gpu.invalidate();
    }
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

fn get_region_info(arg: c_ulong, aperture: u64) -> Result<c_ulong> {
    type T = bindings::vfio_region_info;
    let mut a = IoctlArg::read(arg, offset_of!(T, offset) + 8)?;
    let index = a.get_u32(offset_of!(T, index));
    let rw = bindings::VFIO_REGION_INFO_FLAG_READ | bindings::VFIO_REGION_INFO_FLAG_WRITE;
    let (flags, size) = match index {
        bindings::VFIO_PCI_CONFIG_REGION_INDEX => (rw, PCI_CFG_SPACE_SIZE as u64),
        bindings::VFIO_PCI_BAR0_REGION_INDEX => (rw, mmio::BAR0_SIZE),
        bindings::VFIO_PCI_BAR2_REGION_INDEX => (rw, aperture),
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

/// `VFIO_DEVICE_RESET`: configuration space, registers and GGTT as new.
fn reset(vdev: *mut bindings::vfio_device, vgpu: &Vgpu) -> Result<c_ulong> {
    let state = state::get()?;
    let mut inner = vgpu.inner.lock();
    inner.cfg = vgpu::reset_cfg_space(state.gpu.aperture_size())?;
    let pv = vgpu::published(&state.vgpus.lock().gm, vgpu.gm_id, vgpu.ty)?;
    inner.vregs = mmio::Vregs::new(&pv)?;
    reset_ggtt(state, vdev, vgpu, &mut inner)?;
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
            VFIO_DEVICE_GET_REGION_INFO => get_region_info(arg, state::get()?.gpu.aperture_size()),
            VFIO_DEVICE_GET_IRQ_INFO => get_irq_info(arg),
            VFIO_DEVICE_SET_IRQS => set_irqs(arg),
            VFIO_DEVICE_RESET => reset(vdev, vgpu),
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
    open_device: Some(open_device),
    close_device: Some(close_device),
    dma_unmap: Some(dma_unmap),
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
