//! Counts of accesses to registers rgvt does not model, per offset.
//!
//! A guest driver that touches something new shows up here (debugfs)
//! instead of silently reading back what it wrote.

use crate::storage::{Alloc, AllocError, Vector};

/// Distinct offsets counted one by one; the rest go to the overflow count.
pub const CAPACITY: usize = 256;

/// Accesses to one untracked dword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Dword offset in BAR0.
    pub offset: u32,
    /// Reads.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
}

/// The per-offset table.
///
/// # Invariants
///
/// `entries` is sorted by offset, has no duplicates, and never holds more
/// than [`CAPACITY`] entries (room for them is reserved at creation, so
/// counting never allocates).
pub struct Untracked<A: Alloc> {
    entries: A::Vec<Entry>,
    /// Reads of offsets that did not fit in the table.
    pub overflow_reads: u64,
    /// Writes of offsets that did not fit in the table.
    pub overflow_writes: u64,
}

impl<A: Alloc> Untracked<A> {
    /// An empty table with room for [`CAPACITY`] offsets.
    pub fn new() -> Result<Self, AllocError> {
        Ok(Self {
            entries: A::Vec::try_with_capacity(CAPACITY)?,
            overflow_reads: 0,
            overflow_writes: 0,
        })
    }

    /// Counts one access to the dword at `offset`.
    pub fn count(&mut self, offset: u32, write: bool) {
        let i = match self.entries.binary_search_by_key(&offset, |e| e.offset) {
            Ok(i) => i,
            Err(i) => {
                let e = Entry {
                    offset,
                    reads: 0,
                    writes: 0,
                };
                // INVARIANT: sorted insert, bounded by CAPACITY.
                if self.entries.len() >= CAPACITY || self.entries.try_insert(i, e).is_err() {
                    if write {
                        self.overflow_writes += 1;
                    } else {
                        self.overflow_reads += 1;
                    }
                    return;
                }
                i
            }
        };
        if let Some(e) = self.entries.get_mut(i) {
            if write {
                e.writes += 1;
            } else {
                e.reads += 1;
            }
        }
    }

    /// The counted offsets, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}
