// SPDX-License-Identifier: GPL-2.0

//! Statics that C reads through raw pointers (attribute tables, ops tables).

use core::cell::UnsafeCell;

/// A C structure placed in a `static` and handed to C by address.
///
/// The `UnsafeCell` keeps it in writable memory, since some C users (sysfs
/// under lockdep, the driver core) may write to what they are given.
///
/// # Invariants
///
/// Rust code never creates a reference to the contents after C has been
/// given the pointer; it only passes [`CStatic::get`] on.
#[repr(transparent)]
pub(crate) struct CStatic<T>(UnsafeCell<T>);

// SAFETY: Rust only hands out raw pointers (see the type invariant); any
// concurrent access happens in C under C's own locking.
unsafe impl<T> Sync for CStatic<T> {}

impl<T> CStatic<T> {
    /// Wraps `value` for use in a `static`.
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// Returns the address to give to C.
    pub(crate) const fn get(&self) -> *mut T {
        self.0.get()
    }
}
