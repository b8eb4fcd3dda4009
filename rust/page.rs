// SPDX-License-Identifier: GPL-2.0

//! Host page frames: the frame number of a page, and copies within a frame
//! (`kmap_local_pfn`, through `rust/helpers.c`).

use crate::bindings;
use kernel::page::Page;

/// The host frame number of a page we own.
pub(crate) fn pfn(page: &Page) -> u64 {
    // SAFETY: `page` is a live page, owned for the borrow.
    unsafe { pfn_of(page.as_ptr()) }
}

/// The host frame number of `page`.
///
/// # Safety
///
/// `page` must be a live `struct page`.
pub(crate) unsafe fn pfn_of(page: *mut bindings::page) -> u64 {
    // SAFETY: the caller guarantees a live page; `page_to_pfn` only reads it.
    unsafe { bindings::rgvt_page_to_pfn(page) as u64 }
}

/// Copies `buf.len()` bytes at `offset` in frame `pfn` into `buf`.
///
/// # Safety
///
/// Frame `pfn` must be a live page we hold (owned or pinned) and
/// `offset + buf.len()` at most the page size.
pub(crate) unsafe fn read_frame(pfn: u64, offset: usize, buf: &mut [u8]) {
    // SAFETY: per the contract the frame is live and the copy stays in it;
    // `buf` is a Rust slice of `buf.len()` writable bytes.
    unsafe { bindings::rgvt_pfn_read(pfn as usize, offset, buf.as_mut_ptr().cast(), buf.len()) }
}

/// Copies `buf` into frame `pfn` at `offset`.
///
/// # Safety
///
/// As [`read_frame`].
pub(crate) unsafe fn write_frame(pfn: u64, offset: usize, buf: &[u8]) {
    // SAFETY: per the contract the frame is live and the copy stays in it;
    // `buf` is a Rust slice of `buf.len()` readable bytes.
    unsafe { bindings::rgvt_pfn_write(pfn as usize, offset, buf.as_ptr().cast(), buf.len()) }
}
