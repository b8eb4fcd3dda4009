// SPDX-License-Identifier: GPL-2.0

//! sysfs: the tunables under `/sys/kernel/rgvt/` and the per-vGPU `rgvt/`
//! group of each mdev device.
//!
//! Each file is one row of a table (name, show, store); the C attribute
//! structures are built from the table at compile time and one pair of
//! trampolines finds the row from the attribute's address.

use crate::balloon::params::Tunable as BalloonTunable;
use crate::bindings;
use crate::c_static::CStatic;
use crate::gm::slots::SlotSet;
use crate::shadow;
use crate::state::{self, State};
use crate::vgpu::Vgpu;
use core::fmt::{self, Write};
use kernel::error::from_result;
use kernel::ffi::c_char;
use kernel::prelude::*;
use kernel::str::CStr;

/// Size of the buffer sysfs hands to `show` (`PAGE_SIZE`).
const SYSFS_BUF_SIZE: usize = 4096;

/// The buffer of a sysfs `show` (or mdev `show_description`) callback.
///
/// # Invariants
///
/// `buf` is valid for writes of `SYSFS_BUF_SIZE` bytes and `len <= SYSFS_BUF_SIZE`.
pub(crate) struct PageBuf {
    buf: *mut u8,
    len: usize,
}

impl PageBuf {
    /// Wraps the buffer sysfs passed to a `show` callback.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for writes of `PAGE_SIZE` bytes for the lifetime
    /// of the returned value.
    pub(crate) unsafe fn new(buf: *mut c_char) -> Self {
        // INVARIANT: the caller guarantees the buffer; `len` starts at 0.
        Self {
            buf: buf.cast(),
            len: 0,
        }
    }

    /// The number of bytes written, as a `show` callback returns it.
    pub(crate) fn len(&self) -> isize {
        self.len as isize
    }
}

impl fmt::Write for PageBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        if bytes.len() > SYSFS_BUF_SIZE - self.len {
            return Err(fmt::Error);
        }
        // SAFETY: by the type invariant the buffer holds `SYSFS_BUF_SIZE`
        // bytes and the check above keeps the copy inside it; `bytes` is a
        // Rust slice, so it cannot overlap the C buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.buf.add(self.len), bytes.len())
        };
        self.len += bytes.len();
        Ok(())
    }
}

/// Turns a formatting failure (a full page) into an errno.
fn emit(r: fmt::Result) -> Result {
    r.map_err(|_| EFBIG)
}

/// One tunable file of `/sys/kernel/rgvt/`.
#[derive(Clone, Copy)]
enum Tunable {
    /// `max_vgpus`: how many vGPUs may live at once.
    MaxVgpus,
    /// A shadow page-table parameter (policy, relax threshold, ...).
    Shadow(shadow::Param),
    /// A ballooning parameter (period, T1, T2, on/off, ...).
    Balloon(BalloonTunable),
}

impl Tunable {
    const fn name(self) -> &'static core::ffi::CStr {
        match self {
            Tunable::MaxVgpus => c"max_vgpus",
            Tunable::Shadow(p) => p.name(),
            Tunable::Balloon(t) => t.name(),
        }
    }

    fn show(self, s: &State, b: &mut PageBuf) -> Result {
        let v = s.vgpus.lock();
        let r = match self {
            Tunable::MaxVgpus => write!(b, "{}", v.max()),
            Tunable::Shadow(p) => v.shadow.show(p, b),
            Tunable::Balloon(t) => v.balloon.params().show(t, b),
        };
        emit(r.and_then(|()| b.write_str("\n")))
    }

    /// Validates and applies a write; on error the old value stays.
    fn store(self, s: &State, input: &[u8]) -> Result {
        let mut v = s.vgpus.lock();
        match self {
            Tunable::MaxVgpus => {
                let max = crate::parse::parse_u64_in(input, 1, state::MAX_VGPUS_LIMIT as u64)
                    .map_err(|_| EINVAL)?;
                v.set_max(max as usize)
            }
            // New vGPUs start with these; the PPGTT shadow of running ones
            // follows when the engine submits through it.
            Tunable::Shadow(p) => v.shadow.set(p, input).map_err(|_| EINVAL),
            Tunable::Balloon(t) => v.balloon.store(t, input).map_err(|_| EINVAL),
        }
    }
}

const NR_SHADOW: usize = shadow::Param::ALL.len();
const NR_BALLOON: usize = BalloonTunable::ALL.len();
const NR_TUNABLES: usize = 1 + NR_SHADOW + NR_BALLOON;

const fn tunables() -> [Tunable; NR_TUNABLES] {
    let mut t = [Tunable::MaxVgpus; NR_TUNABLES];
    let mut i = 0;
    while i < NR_SHADOW {
        t[1 + i] = Tunable::Shadow(shadow::Param::ALL[i]);
        i += 1;
    }
    i = 0;
    while i < NR_BALLOON {
        t[1 + NR_SHADOW + i] = Tunable::Balloon(BalloonTunable::ALL[i]);
        i += 1;
    }
    t
}

const TUNABLES: [Tunable; NR_TUNABLES] = tunables();

const fn kobj_attrs() -> [bindings::kobj_attribute; NR_TUNABLES] {
    // SAFETY: `kobj_attribute` is plain C data for which all zeroes is valid
    // (null pointers, `None` callbacks).
    let mut attrs: [bindings::kobj_attribute; NR_TUNABLES] = unsafe { core::mem::zeroed() };
    let mut i = 0;
    while i < NR_TUNABLES {
        attrs[i].attr.name = TUNABLES[i].name().as_ptr().cast();
        attrs[i].attr.mode = 0o644;
        attrs[i].show = Some(tunable_show);
        attrs[i].store = Some(tunable_store);
        i += 1;
    }
    attrs
}

static KOBJ_ATTRS: CStatic<[bindings::kobj_attribute; NR_TUNABLES]> = CStatic::new(kobj_attrs());

const fn attr_ptrs() -> [*mut bindings::attribute; NR_TUNABLES + 1] {
    let mut ptrs = [core::ptr::null_mut(); NR_TUNABLES + 1];
    let base = KOBJ_ATTRS.get().cast::<bindings::kobj_attribute>();
    let mut i = 0;
    while i < NR_TUNABLES {
        // `attr` is the first member of `kobj_attribute`.
        ptrs[i] = base.wrapping_add(i).cast();
        i += 1;
    }
    ptrs
}

static TUNABLE_ATTR_PTRS: CStatic<[*mut bindings::attribute; NR_TUNABLES + 1]> =
    CStatic::new(attr_ptrs());

static TUNABLE_GROUP: CStatic<bindings::attribute_group> =
    CStatic::new(bindings::attribute_group {
        attrs: TUNABLE_ATTR_PTRS.get().cast(),
        // SAFETY: all zeroes is a valid `attribute_group` (no name, no callbacks).
        ..unsafe { core::mem::zeroed() }
    });

/// Finds the table row of a `kobj_attribute` from `KOBJ_ATTRS`.
fn tunable_of(attr: *const bindings::kobj_attribute) -> Result<Tunable> {
    let base = KOBJ_ATTRS.get() as usize;
    let i = (attr as usize).wrapping_sub(base) / core::mem::size_of::<bindings::kobj_attribute>();
    TUNABLES.get(i).copied().ok_or(EINVAL)
}

/// `show` of every tunable.
///
/// # Safety
///
/// `attr` must be in `KOBJ_ATTRS` and `buf` a `PAGE_SIZE` sysfs buffer.
unsafe extern "C" fn tunable_show(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    from_result(|| {
        let t = tunable_of(attr)?;
        // SAFETY: sysfs passes a `PAGE_SIZE` buffer to `show`.
        let mut out = unsafe { PageBuf::new(buf) };
        t.show(state::get()?, &mut out)?;
        Ok(out.len())
    })
}

/// `store` of every tunable.
///
/// # Safety
///
/// `buf` must hold `count` readable bytes (sysfs's contract).
unsafe extern "C" fn tunable_store(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    from_result(|| {
        let t = tunable_of(attr)?;
        // SAFETY: sysfs passes `count` readable bytes in `buf`.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        t.store(state::get()?, input)?;
        Ok(count as isize)
    })
}

/// The `/sys/kernel/rgvt/` directory and its tunables.
///
/// # Invariants
///
/// `kobj` is a live kobject created by `kobject_create_and_add` whose
/// attribute group `TUNABLE_GROUP` was created; both go away in `drop`.
pub(crate) struct Tunables {
    kobj: *mut bindings::kobject,
}

// SAFETY: the kobject pointer is only used to tear the directory down,
// which the kernel allows from any thread.
unsafe impl Send for Tunables {}
// SAFETY: `Tunables` has no `&self` methods touching the kobject.
unsafe impl Sync for Tunables {}

impl Tunables {
    /// Creates `/sys/kernel/rgvt/` with every tunable.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `kernel_kobj` is set up at boot and never freed; the name
        // is a NUL-terminated static string.
        let kobj = unsafe {
            bindings::kobject_create_and_add(
                kernel::c_str!("rgvt").as_char_ptr(),
                bindings::kernel_kobj,
            )
        };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `kobj` is live; the group and everything it points to are
        // statics.
        let ret = unsafe { bindings::sysfs_create_group(kobj, TUNABLE_GROUP.get()) };
        if ret != 0 {
            // SAFETY: drops the only reference, taken by `kobject_create_and_add`.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: the kobject and its group were both created.
        Ok(Self { kobj })
    }
}

impl Drop for Tunables {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the group exists on the live kobject.
        unsafe { bindings::sysfs_remove_group(self.kobj, TUNABLE_GROUP.get()) };
        // SAFETY: drops the reference `kobject_create_and_add` gave us.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}

/// One file of the per-vGPU `rgvt/` group.
struct VgpuFile {
    name: &'static CStr,
    show: fn(&State, &Vgpu, &mut PageBuf) -> Result,
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

fn gm_show(
    s: &State,
    v: &Vgpu,
    b: &mut PageBuf,
    f: impl FnOnce(&crate::gm::ggtt::AvailRs) -> u32,
) -> Result {
    let rs = s
        .vgpus
        .lock()
        .gm
        .avail_rs(v.gm_id)
        .map_err(state::gm_errno)?;
    emit(writeln!(b, "{:#x}", f(&rs)))
}

const VGPU_FILES: [VgpuFile; 6] = [
    VgpuFile {
        name: kernel::c_str!("vgpu_id"),
        show: |_, v, b| emit(writeln!(b, "{}", v.id)),
    },
    VgpuFile {
        name: kernel::c_str!("low_gm_base"),
        show: |s, v, b| gm_show(s, v, b, |rs| rs.mappable_base),
    },
    VgpuFile {
        name: kernel::c_str!("low_gm_size"),
        show: |s, v, b| gm_show(s, v, b, |rs| rs.mappable_size),
    },
    VgpuFile {
        name: kernel::c_str!("high_gm_base"),
        show: |s, v, b| gm_show(s, v, b, |rs| rs.nonmappable_base),
    },
    VgpuFile {
        name: kernel::c_str!("high_gm_size"),
        show: |s, v, b| gm_show(s, v, b, |rs| rs.nonmappable_size),
    },
    VgpuFile {
        name: kernel::c_str!("slots"),
        show: |s, v, b| {
            let set = s
                .vgpus
                .lock()
                .gm
                .vgpu(v.gm_id)
                .map_err(state::gm_errno)?
                .slots;
            emit(write_slots(b, &set))
        },
    },
];
const NR_VGPU_FILES: usize = VGPU_FILES.len();

const fn dev_attrs() -> [bindings::device_attribute; NR_VGPU_FILES] {
    // SAFETY: all zeroes is a valid `device_attribute`.
    let mut attrs: [bindings::device_attribute; NR_VGPU_FILES] = unsafe { core::mem::zeroed() };
    let mut i = 0;
    while i < NR_VGPU_FILES {
        attrs[i].attr.name = VGPU_FILES[i].name.as_char_ptr();
        attrs[i].attr.mode = 0o444;
        attrs[i].show = Some(vgpu_show);
        i += 1;
    }
    attrs
}

static DEV_ATTRS: CStatic<[bindings::device_attribute; NR_VGPU_FILES]> = CStatic::new(dev_attrs());

const fn dev_attr_ptrs() -> [*mut bindings::attribute; NR_VGPU_FILES + 1] {
    let mut ptrs = [core::ptr::null_mut(); NR_VGPU_FILES + 1];
    let base = DEV_ATTRS.get().cast::<bindings::device_attribute>();
    let mut i = 0;
    while i < NR_VGPU_FILES {
        // `attr` is the first member of `device_attribute`.
        ptrs[i] = base.wrapping_add(i).cast();
        i += 1;
    }
    ptrs
}

static DEV_ATTR_PTRS: CStatic<[*mut bindings::attribute; NR_VGPU_FILES + 1]> =
    CStatic::new(dev_attr_ptrs());

static VGPU_GROUP: CStatic<bindings::attribute_group> = CStatic::new(bindings::attribute_group {
    name: kernel::c_str!("rgvt").as_char_ptr(),
    attrs: DEV_ATTR_PTRS.get().cast(),
    // SAFETY: all zeroes is a valid `attribute_group`.
    ..unsafe { core::mem::zeroed() }
});

static VGPU_GROUPS: CStatic<[*const bindings::attribute_group; 2]> =
    CStatic::new([VGPU_GROUP.get().cast_const(), core::ptr::null()]);

/// The NULL-terminated group list for `device_driver::dev_groups`.
pub(crate) fn vgpu_groups() -> *mut *const bindings::attribute_group {
    VGPU_GROUPS.get().cast()
}

/// `show` of every file in a vGPU's `rgvt/` group.
///
/// # Safety
///
/// `dev` must be a live mdev device and `buf` a `PAGE_SIZE` sysfs buffer.
unsafe extern "C" fn vgpu_show(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    from_result(|| {
        let base = DEV_ATTRS.get() as usize;
        let i =
            (attr as usize).wrapping_sub(base) / core::mem::size_of::<bindings::device_attribute>();
        let file = VGPU_FILES.get(i).ok_or(EINVAL)?;
        // SAFETY: the group is only attached to mdev devices bound to rgvt,
        // whose attributes exist only while the driver is bound.
        let vgpu = unsafe { crate::mdev::vgpu_of(dev) }?;
        // SAFETY: sysfs passes a `PAGE_SIZE` buffer to `show`.
        let mut out = unsafe { PageBuf::new(buf) };
        (file.show)(state::get()?, &vgpu, &mut out)?;
        Ok(out.len())
    })
}
