// SPDX-License-Identifier: GPL-2.0

//! sysfs in Rust: the page buffer of a `show`, attribute tables built from
//! a table of rows, and a kobject directory whose files show one object
//! (the mdev devices' groups are in [`crate::mdev`]).
//!
//! Each file is one row of a table; the C attribute structures are built
//! from the table at compile time by [`attribute_table!`], and a trampoline
//! finds the row from the attribute's address and the object from the C
//! object it is given (the kobject, or the device's driver data).

use crate::bindings;
use core::fmt;
use core::ptr::NonNull;
use kernel::error::from_result;
use kernel::ffi::c_char;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

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
pub(crate) fn emit(r: fmt::Result) -> Result {
    r.map_err(|_| EFBIG)
}

/// Builds the C tables of an attribute group from a table of rows, in
/// statics: `$attrs` (one `$ty` per row, made by the const fn `$row(i)`),
/// the NULL-terminated pointer list and `$group`, named `$name` (or
/// unnamed with `None`).
macro_rules! attribute_table {
    ($attrs:ident, $group:ident, $ty:ty, $n:expr, $name:expr, $row:path) => {
        static $attrs: $crate::c_static::CStatic<[$ty; $n]> = $crate::c_static::CStatic::new({
            let mut attrs = $crate::sysfs::zeroed_table::<$ty, { $n }>();
            let mut i = 0;
            while i < $n {
                attrs[i] = $row(i);
                i += 1;
            }
            attrs
        });
        static $group: $crate::c_static::CStatic<$crate::bindings::attribute_group> = {
            static PTRS: $crate::c_static::CStatic<[*mut $crate::bindings::attribute; $n + 1]> =
                $crate::c_static::CStatic::new($crate::sysfs::attr_ptrs::<$ty, $n, { $n + 1 }>(
                    $attrs.get(),
                ));
            $crate::c_static::CStatic::new($crate::sysfs::group($name, PTRS.get().cast()))
        };
    };
}
pub(crate) use attribute_table;

/// A table of attribute structures, all zeroes.
pub(crate) const fn zeroed_table<A: AttributeStruct, const N: usize>() -> [A; N] {
    // SAFETY: `AttributeStruct` types are plain C data for which all zeroes
    // is valid (null pointers, `None` callbacks).
    unsafe { core::mem::zeroed() }
}

/// An attribute structure, all zeroes.
const fn zeroed<A: AttributeStruct>() -> A {
    // SAFETY: as in `zeroed_table`.
    unsafe { core::mem::zeroed() }
}

/// A file `name` with permissions `mode`, for a [`KobjDir`].
pub(crate) const fn attr(name: *const c_char, mode: u16) -> bindings::attribute {
    let mut a: bindings::attribute = zeroed();
    a.name = name;
    a.mode = mode;
    a
}

/// A read-only device file `name` shown by `show`.
pub(crate) const fn device_attr(
    name: &'static CStr,
    show: unsafe extern "C" fn(
        *mut bindings::device,
        *mut bindings::device_attribute,
        *mut c_char,
    ) -> isize,
) -> bindings::device_attribute {
    let mut a: bindings::device_attribute = zeroed();
    a.attr.name = name.as_char_ptr();
    a.attr.mode = 0o444;
    a.show = Some(show);
    a
}

/// A writable device file `name` (mode 0644) shown by `show`, written through `store`.
pub(crate) const fn device_attr_rw(
    name: &'static CStr,
    show: unsafe extern "C" fn(
        *mut bindings::device,
        *mut bindings::device_attribute,
        *mut c_char,
    ) -> isize,
    store: unsafe extern "C" fn(
        *mut bindings::device,
        *mut bindings::device_attribute,
        *const c_char,
        usize,
    ) -> isize,
) -> bindings::device_attribute {
    let mut a = device_attr(name, show);
    a.attr.mode = 0o644;
    a.store = Some(store);
    a
}

/// C attribute structures that start with their `struct attribute`.
///
/// # Safety
///
/// Implementors are `repr(C)` C structures whose first member is a
/// `struct attribute` and for which all zeroes is a valid value.
pub(crate) unsafe trait AttributeStruct {}

// SAFETY: it is a `struct attribute`.
unsafe impl AttributeStruct for bindings::attribute {}
// SAFETY: `attr` is the first member of `device_attribute`.
unsafe impl AttributeStruct for bindings::device_attribute {}

/// The NULL-terminated list of the attributes at `base[0..N]` (`M = N + 1`).
pub(crate) const fn attr_ptrs<A: AttributeStruct, const N: usize, const M: usize>(
    base: *mut [A; N],
) -> [*mut bindings::attribute; M] {
    let mut ptrs = [core::ptr::null_mut(); M];
    let base = base.cast::<A>();
    let mut i = 0;
    while i < N {
        // The `attribute` is the first member (`AttributeStruct`).
        ptrs[i] = base.wrapping_add(i).cast();
        i += 1;
    }
    ptrs
}

/// An attribute group over the NULL-terminated list `attrs`.
pub(crate) const fn group(
    name: Option<&'static CStr>,
    attrs: *mut *mut bindings::attribute,
) -> bindings::attribute_group {
    bindings::attribute_group {
        name: match name {
            Some(n) => n.as_char_ptr(),
            None => core::ptr::null(),
        },
        attrs,
        // SAFETY: all zeroes is a valid `attribute_group` (no callbacks).
        ..unsafe { core::mem::zeroed() }
    }
}

/// The files of a kobject directory, all showing one `Self`.
pub(crate) trait KobjFiles: Send + Sync + 'static {
    /// How many files (rows of [`KobjFiles::attrs`]).
    const N: usize;
    /// The attribute table, built by [`attribute_table!`] from `N` rows.
    fn attrs() -> *mut bindings::attribute;
    /// The group holding [`KobjFiles::attrs`].
    fn group() -> *mut bindings::attribute_group;
    /// Prints file `row`.
    fn show(&self, row: usize, out: &mut PageBuf) -> Result;
    /// Validates and applies a write to file `row`; on error the old value stays.
    fn store(&self, row: usize, input: &[u8]) -> Result;
}

/// What a [`KobjDir`] allocates: the kobject and the object its files show.
///
/// # Invariants
///
/// `kobj` is first; `data` is null (only until [`KobjDir::new`] sets it) or
/// holds an `Arc` reference from `Arc::into_raw`, given back in
/// [`kobj_release`].
#[repr(C)]
struct KobjRaw<T> {
    kobj: bindings::kobject,
    data: *const T,
}

/// Returns the object the files of kobject `kobj` show (`container_of`).
///
/// # Safety
///
/// `kobj` must be the kobject of a live [`KobjRaw<T>`].
unsafe fn kobj_data<'a, T>(kobj: *mut bindings::kobject) -> &'a T {
    // SAFETY: per the contract `kobj` is the first member of a live
    // `KobjRaw<T>` whose `data` holds an `Arc` reference.
    unsafe { &*(*kobj.cast::<KobjRaw<T>>()).data }
}

/// kobject `release`: frees the allocation and its reference to the data.
///
/// # Safety
///
/// Called once by the kobject core, on a kobject of a [`KobjDir<T>`].
unsafe extern "C" fn kobj_release<T>(kobj: *mut bindings::kobject) {
    // SAFETY: the allocation is the `KBox<KobjRaw<T>>` of `KobjDir::new`,
    // released once after the last reference.
    let raw = unsafe { KBox::from_raw(kobj.cast::<KobjRaw<T>>()) };
    if !raw.data.is_null() {
        // SAFETY: by the invariant of `KobjRaw`, the reference taken in
        // `KobjDir::new`, given back once.
        drop(unsafe { Arc::from_raw(raw.data) });
    }
}

/// `sysfs_ops::show` of a [`KobjDir<T>`].
///
/// # Safety
///
/// `kobj` must be the kobject of a live [`KobjDir<T>`], `attr` one of its
/// attributes and `buf` a `PAGE_SIZE` buffer (sysfs's contract).
unsafe extern "C" fn kobj_show<T: KobjFiles>(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs passes the kobject of one of our directories, live
    // while its files are.
    let data = unsafe { kobj_data::<T>(kobj) };
    // SAFETY: sysfs passes a `PAGE_SIZE` buffer to `show`.
    let mut out = unsafe { PageBuf::new(buf) };
    from_result(|| {
        let row = kobj_row::<T>(attr).ok_or(EINVAL)?;
        data.show(row, &mut out)?;
        Ok(out.len())
    })
}

/// Which of `T`'s files `attr` is.
fn kobj_row<T: KobjFiles>(attr: *const bindings::attribute) -> Option<usize> {
    let offset = (attr as usize).wrapping_sub(T::attrs() as usize);
    let size = core::mem::size_of::<bindings::attribute>();
    let i = offset / size;
    (offset % size == 0 && i < T::N).then_some(i)
}

/// `sysfs_ops::store` of a [`KobjDir<T>`].
///
/// # Safety
///
/// `kobj` must be the kobject of a live [`KobjDir<T>`] and `buf` hold
/// `count` readable bytes (sysfs's contract).
unsafe extern "C" fn kobj_store<T: KobjFiles>(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes the kobject of one of our directories, live
    // while its files are.
    let data = unsafe { kobj_data::<T>(kobj) };
    // SAFETY: sysfs passes `count` readable bytes in `buf`.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    from_result(|| {
        let row = kobj_row::<T>(attr).ok_or(EINVAL)?;
        data.store(row, input)?;
        Ok(count as isize)
    })
}

struct KobjType<T>(core::marker::PhantomData<T>);

impl<T: KobjFiles> KobjType<T> {
    const SYSFS_OPS: bindings::sysfs_ops = bindings::sysfs_ops {
        show: Some(kobj_show::<T>),
        store: Some(kobj_store::<T>),
    };
    const KTYPE: bindings::kobj_type = bindings::kobj_type {
        release: Some(kobj_release::<T>),
        sysfs_ops: &Self::SYSFS_OPS,
        // SAFETY: all zeroes is a valid `kobj_type` (no other callbacks).
        ..unsafe { core::mem::zeroed() }
    };
}

/// A directory under `/sys/kernel/` whose files show a `T`.
///
/// # Invariants
///
/// `raw` is a kobject added with `kobject_init_and_add` whose group
/// `T::group()` was created, on which we hold the initial reference.
pub(crate) struct KobjDir<T: KobjFiles> {
    raw: NonNull<KobjRaw<T>>,
}

// SAFETY: the kobject is only torn down through it, which the kernel allows
// from any thread; `T` is `Send + Sync`.
unsafe impl<T: KobjFiles> Send for KobjDir<T> {}
// SAFETY: `KobjDir` has no `&self` methods.
unsafe impl<T: KobjFiles> Sync for KobjDir<T> {}

impl<T: KobjFiles> KobjDir<T> {
    /// Creates `/sys/kernel/<name>/` with `T`'s files, showing `data`.
    pub(crate) fn new(name: &'static CStr, data: Arc<T>) -> Result<Self> {
        let mut raw = KBox::new(
            KobjRaw {
                kobj: bindings::kobject::default(),
                data: core::ptr::null(),
            },
            GFP_KERNEL,
        )?;
        // The reference goes in only once the allocation exists: a raw
        // pointer dropped with a failed allocation would leak it (and with
        // it the whole parent).
        raw.data = Arc::into_raw(data);
        let raw = KBox::into_raw(raw);
        // SAFETY: `raw` is a fresh, zeroed kobject; from here on
        // `kobject_put` frees it (and the data reference) through
        // `kobj_release`. `kernel_kobj` is set up at boot and never freed;
        // the name is a NUL-terminated static string.
        let ret = unsafe {
            bindings::kobject_init_and_add(
                core::ptr::addr_of_mut!((*raw).kobj),
                &KobjType::<T>::KTYPE,
                bindings::kernel_kobj,
                kernel::c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        // SAFETY: `raw` stays allocated until the `kobject_put` below or in `drop`.
        let kobj = unsafe { core::ptr::addr_of_mut!((*raw).kobj) };
        if ret == 0 {
            // SAFETY: `kobj` is live; the group and everything it points to
            // are statics.
            let ret = unsafe { bindings::sysfs_create_group(kobj, T::group()) };
            if ret == 0 {
                // INVARIANT: the kobject and its group were both created.
                return NonNull::new(raw).map(|raw| Self { raw }).ok_or(EINVAL);
            }
            // SAFETY: drops the initial reference, freeing everything.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: `kobject_init_and_add` wants a put even on failure.
        unsafe { bindings::kobject_put(kobj) };
        Err(Error::from_errno(ret))
    }
}

impl<T: KobjFiles> Drop for KobjDir<T> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the kobject is live.
        let kobj = unsafe { core::ptr::addr_of_mut!((*self.raw.as_ptr()).kobj) };
        // SAFETY: the group exists on the live kobject (type invariant);
        // removing it waits for running `show`/`store` calls.
        unsafe { bindings::sysfs_remove_group(kobj, T::group()) };
        // SAFETY: drops the initial reference; `kobj_release` frees the rest.
        unsafe { bindings::kobject_put(kobj) };
    }
}
