//! Graphics memory: the GGTT layout, vGPU slots with sharing, private GTTs and switch copies.
//!
//! Low GM (the CPU-visible aperture) is partitioned between vGPUs as GVT-g does. High GM is cut
//! into slots (gScale) and each vGPU holds a set of slots that other vGPUs may also hold; every
//! vGPU keeps its own entries for its slots in a private GTT, and a GPU context switch copies the
//! incoming vGPU's entries wherever the physical GGTT holds someone else's.

pub mod ggtt;
pub mod layout;
pub mod slots;

pub use ggtt::Gm;
pub use layout::Layout;
pub use slots::{SlotSet, Slots, VgpuId};

use crate::storage::AllocError;

/// Why a GM operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A layout or tunable parameter is out of range or inconsistent (`-EINVAL`).
    Invalid,
    /// Not enough GM or slots to satisfy the request (`-ENOSPC`).
    NoSpace,
    /// No vGPU with this id exists (`-ENOENT`).
    NoVgpu,
    /// All vGPU ids are in use (`-ENOSPC` in the create path).
    TooManyVgpus,
    /// The address or index lies outside the vGPU's memory (the access is ignored, as GVT-g does).
    OutOfRange,
    /// The change would leave the vGPU below its minimum slot count (`-EINVAL`).
    BelowMinimum,
    /// A balloon operation is already in flight for this vGPU (`-EBUSY`).
    Busy,
    /// A plan no longer matches the state it was made for (`-EAGAIN`).
    Stale,
    /// Memory allocation failed (`-ENOMEM`).
    NoMemory,
}

impl From<AllocError> for Error {
    fn from(_: AllocError) -> Self {
        Error::NoMemory
    }
}
