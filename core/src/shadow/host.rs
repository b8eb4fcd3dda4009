//! What the shadow tables need from their environment, as four small traits.
//!
//! The kernel glue implements them over KVM page tracking, VFIO pinning and
//! real host pages; the host tests and benchmarks use [`super::sim::Sim`].

use super::Error;

/// Read access to the guest's memory, by guest frame number.
pub trait GuestMemory {
    /// Reads the 512 entries of the guest page `gfn` into `out` (512 long).
    ///
    /// Fails with [`Error::BadFrame`] when the guest does not own `gfn`.
    fn read_page(&mut self, gfn: u64, out: &mut [u64]) -> Result<(), Error>;

    /// Reads entry `index` (0..512) of the guest page `gfn`.
    fn read_entry(&mut self, gfn: u64, index: usize) -> Result<u64, Error>;
}

/// Translation of guest frames to host frames the GPU may access.
pub trait Translate {
    /// Validates `gfn`, pins its host frame (one more reference) and returns it.
    ///
    /// Fails with [`Error::BadFrame`] for a frame the guest does not own.
    fn pin(&mut self, gfn: u64) -> Result<u64, Error>;

    /// Drops one reference taken by [`Translate::pin`].
    fn unpin(&mut self, gfn: u64);
}

/// Write protection of guest page-table pages.
pub trait Track {
    /// Makes guest writes to `gfn` trap into [`super::Tables::write`].
    fn protect(&mut self, gfn: u64) -> Result<(), Error>;

    /// Stops trapping writes to `gfn`.
    fn unprotect(&mut self, gfn: u64);
}

/// The host pages that hold shadow entries, named by host frame number.
///
/// The GPU walks these frames, so the kernel backs them with real pages.
pub trait Store {
    /// Allocates a zeroed page and returns its host frame number.
    fn alloc(&mut self) -> Result<u64, Error>;

    /// Frees a page returned by [`Store::alloc`].
    fn free(&mut self, mfn: u64);

    /// Writes entry `index` (0..512) of page `mfn`.
    fn write(&mut self, mfn: u64, index: usize, entry: u64);

    /// Reads entry `index` of page `mfn`, `None` if `mfn` is not a shadow page.
    fn read(&self, mfn: u64, index: usize) -> Option<u64>;
}

/// Everything the shadow tables call, in one bound.
pub trait Host: GuestMemory + Translate + Track + Store {}

impl<T: GuestMemory + Translate + Track + Store> Host for T {}
