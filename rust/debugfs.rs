// SPDX-License-Identifier: GPL-2.0

//! debugfs: `/sys/kernel/debug/rgvt/`, read-only views into rgvt's state.
//!
//! Unstable by definition. Each file is a static [`File`] whose `show`
//! formats the whole contents; `seq_file` handles buffering and offsets.

use crate::bindings;
use crate::c_static::CStatic;
use core::fmt;
use kernel::error::from_result;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;

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

/// One debugfs file: a name and the function that prints it.
pub(crate) struct File {
    /// File name inside `/sys/kernel/debug/rgvt/`.
    pub(crate) name: &'static CStr,
    /// Prints the whole file.
    pub(crate) show: fn(&mut Seq) -> Result,
}

/// `seq_file` show callback of every rgvt debugfs file.
///
/// # Safety
///
/// `m` must be a live `seq_file` opened by [`file_open`].
unsafe extern "C" fn file_show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    from_result(|| {
        // SAFETY: `single_open` stored the `&'static File` given at creation
        // as `private`.
        let file = unsafe { &*(*m).private.cast::<File>() };
        // INVARIANT: `m` is the seq_file of this call.
        (file.show)(&mut Seq { m })?;
        Ok(0)
    })
}

/// `open` of every rgvt debugfs file.
///
/// # Safety
///
/// Called by VFS with a live inode created by [`Dir::add`] and the file being opened.
unsafe extern "C" fn file_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: debugfs keeps the `data` given to `debugfs_create_file` (a
    // `&'static File`) in `i_private`; `file` is the file being opened.
    unsafe { bindings::single_open(file, Some(file_show), (*inode).i_private) }
}

static FOPS: CStatic<bindings::file_operations> = CStatic::new(bindings::file_operations {
    open: Some(file_open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    // SAFETY: all zeroes is a valid `file_operations` (no other callbacks).
    ..unsafe { core::mem::zeroed() }
});

/// A debugfs directory, removed with everything in it on drop.
///
/// # Invariants
///
/// `dentry` is what `debugfs_create_dir` returned: a directory or an error
/// pointer, both of which the debugfs API accepts and ignores as needed.
pub(crate) struct Dir {
    dentry: *mut bindings::dentry,
}

// SAFETY: the dentry is only used to create files and to remove the
// directory, which debugfs allows from any thread.
unsafe impl Send for Dir {}
// SAFETY: as above; creating files is serialised by debugfs itself.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `/sys/kernel/debug/<name>/`.
    ///
    /// debugfs failures are not errors for the driver (as in C): a missing
    /// directory just means no files.
    pub(crate) fn new(name: &'static CStr) -> Self {
        // SAFETY: the name is a NUL-terminated static string; a null parent
        // means the debugfs root.
        let dentry =
            unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        // INVARIANT: `dentry` is what `debugfs_create_dir` returned.
        Self { dentry }
    }

    /// Adds a read-only file.
    pub(crate) fn add(&self, file: &'static File) {
        // SAFETY: `self.dentry` is a debugfs directory (or an error pointer,
        // which debugfs accepts); `file` and `FOPS` are statics, so they
        // outlive the file.
        unsafe {
            bindings::debugfs_create_file(
                file.name.as_char_ptr(),
                0o444,
                self.dentry,
                (file as *const File).cast_mut().cast(),
                FOPS.get(),
            )
        };
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `dentry` came from debugfs;
        // `debugfs_remove` waits for running file operations to finish.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}
