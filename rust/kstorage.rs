// SPDX-License-Identifier: GPL-2.0

//! The core's storage backed by the kernel's `KVVec`.
//!
//! `kvmalloc` rather than `kmalloc`: some core arrays are megabytes (a
//! vGPU's register file), which physically contiguous memory may not have.

use crate::storage::{Alloc, AllocError, Vector};
use kernel::alloc::{flags::GFP_KERNEL, Allocator, KVVec, Vec};
use kernel::error::code::ENOMEM;

/// The core's allocator in the module: `KVVec` with `GFP_KERNEL`.
pub(crate) struct KvAlloc;

impl Alloc for KvAlloc {
    type Vec<T> = KVVec<T>;
}

impl<T, A: Allocator> Vector<T> for Vec<T, A> {
    fn new() -> Self {
        Vec::new()
    }

    fn try_push(&mut self, value: T) -> Result<(), AllocError> {
        self.push(value, GFP_KERNEL).map_err(|_| AllocError)
    }

    fn pop(&mut self) -> Option<T> {
        let last = self.len().checked_sub(1)?;
        // SAFETY: `last < len`, so the element is initialised; the `set_len`
        // below gives up the vector's ownership of it, so it is moved out
        // exactly once.
        let value = unsafe { core::ptr::read(self.as_ptr().add(last)) };
        // SAFETY: shrinking the length never exposes uninitialised elements.
        unsafe { self.set_len(last) };
        Some(value)
    }

    fn try_reserve(&mut self, additional: usize) -> Result<(), AllocError> {
        self.reserve(additional, GFP_KERNEL).map_err(|_| AllocError)
    }
}

impl From<AllocError> for kernel::error::Error {
    fn from(_: AllocError) -> Self {
        ENOMEM
    }
}
