// SPDX-License-Identifier: GPL-2.0

//! The glue: which C-facing wrapper calls what.
//!
//! A vGPU is the data of its VFIO device ([`vfio::Driver`]); the parent is
//! the data of the mdev parent ([`mdev::Driver`]) and of the tunables
//! directory ([`sysfs::KobjFiles`]); a [`VgpuDevice`] is the driver data of
//! its mdev device, shown by the per-vGPU sysfs group
//! ([`mdev::DeviceFiles`]). The sysfs tables are built here from their rows.

use crate::bindings;
use crate::c_static::CStatic;
use crate::ggtt::gm_errno;
use crate::gm::ggtt::AvailRs;
use crate::gm::slots::SlotSet;
use crate::irq::SetHeader;
use crate::mdev::{self, Mdev};
use crate::parent::tunables::{NR_TUNABLES, TUNABLES};
use crate::parent::{Parent, VgpuDevice};
use crate::sysfs::{self, attribute_table, emit, PageBuf};
use crate::vfio;
use crate::vgpu::Vgpu;
use crate::vgpu_type::VgpuType;
use core::fmt::{self, Write};
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::str::CStr;

impl vfio::Driver for Vgpu {
    fn open(&self, dev: &vfio::Device) -> Result {
        Vgpu::open(self, dev)
    }

    fn close(&self, dev: &vfio::Device) {
        Vgpu::close(self, dev)
    }

    fn region_size(&self, index: u32) -> Option<u64> {
        Vgpu::region_size(self, index)
    }

    fn region_check(&self, index: u32, offset: u64, count: usize) -> Result {
        Vgpu::region_check(self, index, offset, count)
    }

    fn region_access(
        &self,
        dev: &vfio::Device,
        index: u32,
        offset: u64,
        data: &mut [u8],
        write: bool,
    ) -> Result {
        Vgpu::region_access(self, dev, index, offset, data, write)
    }

    fn reset(&self, dev: &vfio::Device) -> Result {
        Vgpu::reset(self, dev)
    }

    fn dma_unmap(&self, dev: &vfio::Device, iova: u64, length: u64) {
        Vgpu::dma_unmap(self, dev, iova, length)
    }

    fn set_irqs(&self, _dev: &vfio::Device, hdr: &SetHeader, data: &[u8]) -> Result {
        Vgpu::set_irqs(self, hdr, data)
    }

    fn request(&self, count: u32) {
        Vgpu::request(self, count)
    }
}

impl mdev::Driver for Parent {
    type Device = VgpuDevice;

    fn probe(&self, mdev: &Mdev, ty: &'static VgpuType) -> Result<KBox<VgpuDevice>> {
        self.create(mdev, ty)
    }

    fn remove(&self, dev: KBox<VgpuDevice>) {
        Parent::remove(self, dev)
    }

    fn available(&self, ty: &'static VgpuType) -> usize {
        Parent::available(self, ty)
    }
}

const fn tunable_attr(i: usize) -> bindings::attribute {
    sysfs::attr(TUNABLES[i].name().as_ptr().cast(), 0o644)
}

attribute_table!(
    TUNABLE_ATTRS,
    TUNABLE_GROUP,
    bindings::attribute,
    NR_TUNABLES,
    None,
    tunable_attr
);

impl sysfs::KobjFiles for Parent {
    const N: usize = NR_TUNABLES;

    fn attrs() -> *mut bindings::attribute {
        TUNABLE_ATTRS.get().cast()
    }

    fn group() -> *mut bindings::attribute_group {
        TUNABLE_GROUP.get()
    }

    fn show(&self, row: usize, out: &mut PageBuf) -> Result {
        let t = TUNABLES.get(row).ok_or(EINVAL)?;
        emit(t.show(self, out))
    }

    fn store(&self, row: usize, input: &[u8]) -> Result {
        TUNABLES.get(row).ok_or(EINVAL)?.store(self, input)
    }
}

/// One file of the per-vGPU `rgvt/` group: read-only, or writable when it
/// has a `store` (mode 0644). A refused write leaves the old value and is
/// counted in the vGPU's `sysfs_refused` (debugfs `counters`).
struct VgpuFile {
    name: &'static CStr,
    show: fn(&Vgpu, &mut PageBuf) -> Result,
    store: Option<fn(&Vgpu, &[u8]) -> Result>,
}

/// `shadow_policy`: the vGPU's own shadow policy, or `default` when it
/// follows the global one (`/sys/kernel/rgvt/policy`).
fn policy_show(v: &Vgpu, b: &mut PageBuf) -> Result {
    let own = v.shadow.lock().policy_override();
    emit(writeln!(b, "{}", own.map_or("default", |p| p.name())))
}

/// Writes `shadow_policy`: one of the five policies, or `default`. The
/// switch is the global one's (`Shadow::set_policy_override`), done at once.
fn policy_store(v: &Vgpu, input: &[u8]) -> Result {
    let own = if crate::parse::trim(input) == b"default" {
        None
    } else {
        Some(crate::shadow::Policy::parse(input).map_err(|_| EINVAL)?)
    };
    v.shadow.lock().set_policy_override(own);
    Ok(())
}

/// Writes `weight`: the vGPU's scheduling weight, 1..=16 (GVT-g's range);
/// its share follows from the next balance period.
fn weight_store(v: &Vgpu, input: &[u8]) -> Result {
    let w = crate::parse::parse_u64_in(input, 1, u64::from(crate::vgpu::MAX_WEIGHT))
        .map_err(|_| EINVAL)?;
    v.set_weight(w as u32)
}

/// Prints a slot set as a list of ranges, like a cpulist: `3-8,12`.
fn write_slots(b: &mut PageBuf, slots: &SlotSet) -> fmt::Result {
    let mut first = true;
    let mut run: Option<(u32, u32)> = None;
    let flush = |b: &mut PageBuf, r: (u32, u32), first: &mut bool| {
        let sep = if *first { "" } else { "," };
        *first = false;
        if r.0 == r.1 {
            write!(b, "{sep}{}", r.0)
        } else {
            write!(b, "{sep}{}-{}", r.0, r.1)
        }
    };
    for s in slots.iter() {
        run = match run {
            Some((a, z)) if z + 1 == s => Some((a, s)),
            Some(r) => {
                flush(b, r, &mut first)?;
                Some((s, s))
            }
            None => Some((s, s)),
        };
    }
    if let Some(r) = run {
        flush(b, r, &mut first)?;
    }
    b.write_str("\n")
}

/// Prints one field of the vGPU's GM ranges as the PV info page gives them.
fn gm_show(v: &Vgpu, b: &mut PageBuf, f: impl FnOnce(&AvailRs) -> u32) -> Result {
    let rs = v.host.gm.lock().gm.avail_rs(v.gm_id).map_err(gm_errno)?;
    emit(writeln!(b, "{:#x}", f(&rs)))
}

const VGPU_FILES: [VgpuFile; 8] = [
    VgpuFile {
        name: kernel::c_str!("vgpu_id"),
        show: |v, b| emit(writeln!(b, "{}", v.id)),
        store: None,
    },
    VgpuFile {
        name: kernel::c_str!("low_gm_base"),
        show: |v, b| gm_show(v, b, |rs| rs.mappable_base),
        store: None,
    },
    VgpuFile {
        name: kernel::c_str!("low_gm_size"),
        show: |v, b| gm_show(v, b, |rs| rs.mappable_size),
        store: None,
    },
    VgpuFile {
        name: kernel::c_str!("high_gm_base"),
        show: |v, b| gm_show(v, b, |rs| rs.nonmappable_base),
        store: None,
    },
    VgpuFile {
        name: kernel::c_str!("high_gm_size"),
        show: |v, b| gm_show(v, b, |rs| rs.nonmappable_size),
        store: None,
    },
    VgpuFile {
        name: kernel::c_str!("slots"),
        show: |v, b| {
            let set = v.host.gm.lock().gm.vgpu(v.gm_id).map_err(gm_errno)?.slots;
            emit(write_slots(b, &set))
        },
        store: None,
    },
    VgpuFile {
        name: kernel::c_str!("shadow_policy"),
        show: policy_show,
        store: Some(policy_store),
    },
    VgpuFile {
        name: kernel::c_str!("weight"),
        show: |v, b| emit(writeln!(b, "{}", v.weight())),
        store: Some(weight_store),
    },
];
const NR_VGPU_FILES: usize = VGPU_FILES.len();

const fn vgpu_attr(i: usize) -> bindings::device_attribute {
    if VGPU_FILES[i].store.is_some() {
        mdev::device_attr_rw::<VgpuDevice>(VGPU_FILES[i].name)
    } else {
        mdev::device_attr::<VgpuDevice>(VGPU_FILES[i].name)
    }
}

attribute_table!(
    VGPU_ATTRS,
    VGPU_GROUP,
    bindings::device_attribute,
    NR_VGPU_FILES,
    Some(kernel::c_str!("rgvt")),
    vgpu_attr
);

static VGPU_GROUPS: CStatic<[*const bindings::attribute_group; 2]> =
    CStatic::new([VGPU_GROUP.get().cast_const(), core::ptr::null()]);

impl mdev::DeviceFiles for VgpuDevice {
    const N: usize = NR_VGPU_FILES;

    fn attrs() -> *mut bindings::device_attribute {
        VGPU_ATTRS.get().cast()
    }

    fn groups() -> *mut *const bindings::attribute_group {
        VGPU_GROUPS.get().cast()
    }

    fn show(&self, row: usize, out: &mut PageBuf) -> Result {
        (VGPU_FILES.get(row).ok_or(EINVAL)?.show)(&self.vgpu, out)
    }

    fn store(&self, row: usize, input: &[u8]) -> Result {
        // A read-only row has mode 0444: sysfs does not call `store` for it.
        let store = VGPU_FILES.get(row).and_then(|f| f.store).ok_or(EACCES)?;
        store(&self.vgpu, input).inspect_err(|_| {
            self.vgpu.sysfs_refused.fetch_add(1, Ordering::Relaxed);
        })
    }
}
