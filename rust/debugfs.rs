// SPDX-License-Identifier: GPL-2.0

//! debugfs: `/sys/kernel/debug/rgvt/`, read-only views into rgvt's state.
//!
//! Unstable by definition. A file is a type implementing [`Show`]: its
//! `show` formats the whole contents from the data the file was created
//! with; `seq_file` handles buffering and offsets.

use crate::bindings;
use core::fmt;
use core::marker::PhantomData;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::from_result;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// The `seq_file` a `show` callback writes to.
///
/// # Invariants
///
/// `m` is the live `seq_file` of the current `show` call.
pub(crate) struct Seq {
    m: *mut bindings::seq_file,
}

impl fmt::Write for Seq {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: by the type invariant `m` is live; `s` is valid for
        // `s.len()` bytes. On overflow seq_file retries with a bigger
        // buffer, so the result needs no handling here.
        unsafe { bindings::seq_write(self.m, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// What a debugfs file shows.
pub(crate) trait Show: 'static {
    /// What the file is created with and shows.
    type Data: Sync + 'static;

    /// Prints the whole file.
    fn show(data: &Self::Data, m: &mut Seq) -> fmt::Result;
}

/// `seq_file` show callback of files of type `F`.
///
/// # Safety
///
/// `m` must be a live `seq_file` opened by [`file_open::<F>`].
unsafe extern "C" fn file_show<F: Show>(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    from_result(|| {
        // SAFETY: `single_open` stored the `&F::Data` given to `Files::add`
        // as `private`; it outlives the file (invariant of `Files`).
        let data = unsafe { &*(*m).private.cast::<F::Data>() };
        // INVARIANT: `m` is the seq_file of this call.
        F::show(data, &mut Seq { m }).map_err(|_| EFBIG)?;
        Ok(0)
    })
}

/// `open` of files of type `F`.
///
/// # Safety
///
/// Called by VFS with a live inode created by [`Files::add::<F>`] and the
/// file being opened.
unsafe extern "C" fn file_open<F: Show>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: debugfs keeps the `data` given to `debugfs_create_file` in
    // `i_private`; `file` is the file being opened.
    unsafe { bindings::single_open(file, Some(file_show::<F>), (*inode).i_private) }
}

struct Fops<F>(PhantomData<F>);

impl<F: Show> Fops<F> {
    const OPS: bindings::file_operations = bindings::file_operations {
        open: Some(file_open::<F>),
        read: Some(bindings::seq_read),
        llseek: Some(bindings::seq_lseek),
        release: Some(bindings::single_release),
        // SAFETY: all zeroes is a valid `file_operations` (no other callbacks).
        ..unsafe { core::mem::zeroed() }
    };
}

/// A debugfs directory, removed with everything in it on drop.
///
/// # Invariants
///
/// `dentry` is what `debugfs_create_dir` returned: a directory or an error
/// pointer, both of which the debugfs API accepts and ignores as needed.
/// `_parent` keeps the directory it was created in until this one is gone.
pub(crate) struct Dir {
    dentry: *mut bindings::dentry,
    _parent: Option<Arc<Dir>>,
}

// SAFETY: the dentry is only used to create files and to remove the
// directory, which debugfs allows from any thread.
unsafe impl Send for Dir {}
// SAFETY: as above; creating files is serialised by debugfs itself.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `name` under `parent` (the debugfs root when `None`).
    ///
    /// debugfs failures are not errors for the driver (as in C): a missing
    /// directory just means no files. Only allocating the handle can fail.
    pub(crate) fn new(name: &CStr, parent: Option<Arc<Dir>>) -> Result<Arc<Self>> {
        let p = parent.as_ref().map_or(core::ptr::null_mut(), |p| p.dentry);
        // SAFETY: the name is NUL-terminated (debugfs copies it); `p` is null
        // or a debugfs directory, kept alive by `parent`.
        let dentry = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), p) };
        // INVARIANT: `dentry` is what `debugfs_create_dir` returned, and the
        // parent is kept.
        // On failure the handle is dropped, which removes the directory.
        Ok(Arc::new(
            Self {
                dentry,
                _parent: parent,
            },
            GFP_KERNEL,
        )?)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `dentry` came from debugfs and its
        // parent still exists; `debugfs_remove` waits for running file
        // operations to finish.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}

/// Read-only files in a directory, all showing one `T`.
///
/// # Invariants
///
/// Every entry of `files` is what `debugfs_create_file` returned for a file
/// in `dir` showing `*data`; they are removed before `data` is released.
pub(crate) struct Files<T: Send + Sync + 'static> {
    files: KVec<*mut bindings::dentry>,
    dir: Arc<Dir>,
    data: Arc<T>,
}

// SAFETY: the dentries are only removed, which debugfs allows from any
// thread; `T` is `Send + Sync`.
unsafe impl<T: Send + Sync + 'static> Send for Files<T> {}
// SAFETY: `Files` has no `&self` methods.
unsafe impl<T: Send + Sync + 'static> Sync for Files<T> {}

impl<T: Send + Sync + 'static> Files<T> {
    /// Files in `dir` that will show `data`.
    pub(crate) fn new(dir: Arc<Dir>, data: Arc<T>) -> Self {
        Self {
            files: KVec::new(),
            dir,
            data,
        }
    }

    /// Adds a file of type `F` named `name`.
    pub(crate) fn add<F: Show<Data = T>>(&mut self, name: &CStr) -> Result {
        self.files.reserve(1, GFP_KERNEL)?;
        let data: &T = &self.data;
        // SAFETY: `self.dir.dentry` is a debugfs directory (or an error
        // pointer, which debugfs accepts); the fops are a promoted constant;
        // `data` outlives the file, which `drop` removes first.
        let file = unsafe {
            bindings::debugfs_create_file(
                name.as_char_ptr(),
                0o444,
                self.dir.dentry,
                (data as *const T).cast_mut().cast(),
                &Fops::<F>::OPS,
            )
        };
        // INVARIANT: a file of `dir` showing `data`; room was reserved.
        self.files.push(file, GFP_KERNEL)?;
        Ok(())
    }
}

impl<T: Send + Sync + 'static> Drop for Files<T> {
    fn drop(&mut self) {
        for &file in self.files.iter() {
            // SAFETY: by the type invariant the file came from debugfs, in a
            // directory `self.dir` keeps; removing it waits for running
            // `show` calls, after which nothing uses `data`.
            unsafe { bindings::debugfs_remove(file) };
        }
    }
}
