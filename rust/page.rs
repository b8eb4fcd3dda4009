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

/// Bytes in a host page.
const PAGE_BYTES: usize = 4096;

/// A zeroed host page that rgvt owns, read and written as 512 little-endian
/// 64-bit entries (a shadow page-table page).
///
/// # Invariants
///
/// `page` was allocated by [`Table::new`] and is owned here alone: no other
/// reference to it exists, so `&self` reads never race with a write (writes
/// take `&mut self`). Dropping it frees the page.
pub(crate) struct Table {
    page: Page,
}

impl Table {
    /// Allocates a zeroed page.
    pub(crate) fn new() -> kernel::error::Result<Self> {
        use kernel::alloc::flags::{__GFP_ZERO, GFP_KERNEL};
        let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
        // INVARIANT: freshly allocated, and owned by the new value only.
        Ok(Self { page })
    }

    /// The page's host frame number (to map it for a GPU).
    pub(crate) fn pfn(&self) -> u64 {
        pfn(&self.page)
    }

    /// Byte offset of entry `index`, if it is in the page.
    fn offset(index: usize) -> Option<usize> {
        index.checked_mul(8).filter(|&o| o + 8 <= PAGE_BYTES)
    }

    /// Reads entry `index`, `None` past the page's 512 entries.
    pub(crate) fn read(&self, index: usize) -> Option<u64> {
        let offset = Self::offset(index)?;
        let mut b = [0u8; 8];
        // SAFETY: `b` is valid for 8 bytes; the read stays in the page
        // (`offset`); no write races with it (type invariant).
        unsafe { self.page.read_raw(b.as_mut_ptr(), offset, 8) }.ok()?;
        Some(u64::from_le_bytes(b))
    }

    /// Writes entry `index`; an index past the page's 512 entries is ignored.
    pub(crate) fn write(&mut self, index: usize, value: u64) {
        let Some(offset) = Self::offset(index) else {
            return;
        };
        let b = value.to_le_bytes();
        // SAFETY: `b` is valid for 8 bytes; the write stays in the page
        // (`offset`); `&mut self` excludes any other access (type invariant).
        // It cannot fail for an offset inside the page.
        let _ = unsafe { self.page.write_raw(b.as_ptr(), offset, 8) };
    }
}
