// SPDX-License-Identifier: GPL-2.0

//! The device ioctls of a VFIO device: their numbers and the copying of
//! their arguments in and out of user space (`super::dispatch` calls these).
//!
//! Interrupts (`GET_IRQ_INFO`, `SET_IRQS`) are marshalled here too; what
//! they mean is the core's `irq` model.

use crate::bindings;
use crate::irq::{self, SetHeader};
use core::mem::offset_of;
use kernel::ffi::{c_uint, c_ulong};
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

/// Region index sits above this bit of a file offset (as in vfio-pci).
pub(crate) const VFIO_PCI_OFFSET_SHIFT: u32 = 40;
pub(crate) const VFIO_PCI_OFFSET_MASK: u64 = (1 << VFIO_PCI_OFFSET_SHIFT) - 1;

const fn vfio_ioctl(nr: u32) -> c_uint {
    kernel::ioctl::_IO(bindings::VFIO_TYPE as u32, bindings::VFIO_BASE + nr)
}
pub(crate) const VFIO_DEVICE_GET_INFO: c_uint = vfio_ioctl(7);
pub(crate) const VFIO_DEVICE_GET_REGION_INFO: c_uint = vfio_ioctl(8);
pub(crate) const VFIO_DEVICE_GET_IRQ_INFO: c_uint = vfio_ioctl(9);
pub(crate) const VFIO_DEVICE_SET_IRQS: c_uint = vfio_ioctl(10);
pub(crate) const VFIO_DEVICE_RESET: c_uint = vfio_ioctl(11);

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

pub(crate) fn get_info(arg: c_ulong) -> Result<c_ulong> {
    type T = bindings::vfio_device_info;
    let mut a = IoctlArg::read(arg, offset_of!(T, num_irqs) + 4)?;
    a.put_u32(
        offset_of!(T, flags),
        bindings::VFIO_DEVICE_FLAGS_PCI | bindings::VFIO_DEVICE_FLAGS_RESET,
    );
    // The PCI regions and one device-specific region (`super::TRACK_REGION`).
    a.put_u32(offset_of!(T, num_regions), NUM_REGIONS);
    a.put_u32(offset_of!(T, num_irqs), bindings::VFIO_PCI_NUM_IRQS);
    a.write_back()
}

/// Regions of the device: the PCI ones and [`super::TRACK_REGION`].
const NUM_REGIONS: u32 = bindings::VFIO_PCI_NUM_REGIONS + 1;

/// A device-specific region's `VFIO_REGION_INFO_CAP_TYPE`: type and subtype.
#[derive(Clone, Copy)]
pub(crate) struct RegionType {
    pub(crate) ty: u32,
    pub(crate) subtype: u32,
}

/// Size of `struct vfio_region_info_cap_type` (header, type, subtype).
const CAP_TYPE_SIZE: usize = 16;

/// `VFIO_DEVICE_GET_REGION_INFO`: size and flags from `size_of`, and for a
/// device-specific region its type capability (`region_type`), placed after
/// the structure when `argsz` leaves room for it, as
/// `vfio_info_add_capability` does (otherwise `argsz` says what is needed).
pub(crate) fn get_region_info(
    arg: c_ulong,
    size_of: impl Fn(u32) -> Option<u64>,
    region_type: impl Fn(u32) -> Option<RegionType>,
) -> Result<c_ulong> {
    type T = bindings::vfio_region_info;
    let minsz = offset_of!(T, offset) + 8;
    let mut a = IoctlArg::read(arg, minsz)?;
    let index = a.get_u32(offset_of!(T, index));
    if index >= NUM_REGIONS {
        return Err(EINVAL);
    }
    let rw = bindings::VFIO_REGION_INFO_FLAG_READ | bindings::VFIO_REGION_INFO_FLAG_WRITE;
    let (mut flags, size) = size_of(index).map_or((0, 0), |size| (rw, size));
    let mut cap_offset = 0;
    if let Some(rt) = size_of(index).and(region_type(index)) {
        flags |= bindings::VFIO_REGION_INFO_FLAG_CAPS;
        let need = minsz + CAP_TYPE_SIZE;
        if (a.get_u32(offset_of!(T, argsz)) as usize) < need {
            a.put_u32(offset_of!(T, argsz), need as u32);
        } else {
            let mut cap = [0u8; CAP_TYPE_SIZE];
            cap[0..2].copy_from_slice(&(bindings::VFIO_REGION_INFO_CAP_TYPE as u16).to_ne_bytes());
            cap[2..4].copy_from_slice(&1u16.to_ne_bytes());
            // `next` stays 0: the only capability.
            cap[8..12].copy_from_slice(&rt.ty.to_ne_bytes());
            cap[12..16].copy_from_slice(&rt.subtype.to_ne_bytes());
            UserSlice::new(arg + minsz, CAP_TYPE_SIZE)
                .writer()
                .write_slice(&cap)?;
            cap_offset = minsz as u32;
        }
    }
    a.put_u32(offset_of!(T, flags), flags);
    a.put_u32(offset_of!(T, cap_offset), cap_offset);
    a.put_u64(offset_of!(T, size), size);
    a.put_u64(
        offset_of!(T, offset),
        u64::from(index) << VFIO_PCI_OFFSET_SHIFT,
    );
    a.write_back()
}

/// The errno of a refused interrupt request (vfio-pci's answers).
pub(crate) fn irq_errno(e: irq::Error) -> Error {
    match e {
        irq::Error::Inval => EINVAL,
        irq::Error::NotTty => ENOTTY,
        irq::Error::Range => ERANGE,
        irq::Error::Busy => EBUSY,
    }
}

pub(crate) fn get_irq_info(arg: c_ulong) -> Result<c_ulong> {
    type T = bindings::vfio_irq_info;
    let mut a = IoctlArg::read(arg, offset_of!(T, count) + 4)?;
    let info = irq::info(a.get_u32(offset_of!(T, index))).map_err(irq_errno)?;
    a.put_u32(offset_of!(T, flags), info.flags);
    a.put_u32(offset_of!(T, count), info.count);
    a.write_back()
}

// The core's header is `struct vfio_irq_set` up to its data.
const _: () = assert!(SetHeader::MINSZ as usize == offset_of!(bindings::vfio_irq_set, count) + 4);

/// The most data a `SET_IRQS` request carries: one eventfd per vector, and
/// no index has more than one vector.
const SET_IRQS_DATA_MAX: usize = 4 * irq::NUM_IRQS as usize;

/// `VFIO_DEVICE_SET_IRQS`: copies and checks the header as
/// `vfio_set_irqs_validate_and_prepare` does (`argsz` covers the header and
/// the data its flags and count call for), copies the data, and hands both
/// to `apply`. A header that fails the checks goes to `apply` with no data,
/// which refuses it too.
pub(crate) fn set_irqs(
    arg: c_ulong,
    apply: impl FnOnce(&SetHeader, &[u8]) -> Result,
) -> Result<c_ulong> {
    type T = bindings::vfio_irq_set;
    let minsz = offset_of!(T, count) + 4;
    let mut head = [0u8; SetHeader::MINSZ as usize];
    UserSlice::new(arg, minsz).reader().read_slice(&mut head)?;
    let field = |off: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&head[off..off + 4]);
        u32::from_ne_bytes(b)
    };
    let hdr = SetHeader {
        argsz: field(offset_of!(T, argsz)),
        flags: field(offset_of!(T, flags)),
        index: field(offset_of!(T, index)),
        start: field(offset_of!(T, start)),
        count: field(offset_of!(T, count)),
    };
    let size = match hdr.data_size() {
        Ok(size) => size,
        // The driver's model refuses the header again (and counts it):
        // every refused request is counted in one place.
        Err(e) => return apply(&hdr, &[]).and(Err(irq_errno(e))),
    };
    let mut buf = [0u8; SET_IRQS_DATA_MAX];
    let data = buf.get_mut(..size).ok_or(EINVAL)?;
    UserSlice::new(arg + minsz, size)
        .reader()
        .read_slice(data)?;
    apply(&hdr, data)?;
    Ok(0)
}
