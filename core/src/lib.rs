//! rgvt's pure logic, shared by the kernel module and the host tests.
//!
//! Nothing here knows the kernel: memory comes through [`storage::Alloc`], guest
//! memory, translation and page tracking through traits the module implements.
//! The kernel crate mounts this file once as its module `rgvt_core` and re-exports
//! everything at its root (see `rust/rgvt.rs`), so code here names its siblings
//! `crate::name` in both crates; a module declared below is compiled in both
//! (`tests/layout.rs` checks the mount).

// A crate attribute on the host; in the kernel (`CONFIG_RUST`) this file is a
// module of a crate that is already `no_std`.
#![cfg_attr(not(CONFIG_RUST), no_std)]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod balloon;
pub mod cfg_space;
pub mod cmd;
pub mod dma_cache;
// The guest-facing decoders under random load (host tests only).
#[cfg(test)]
mod decoders;
pub mod engine;
pub mod execlist;
pub mod gm;
pub mod irq;
pub mod mmio;
pub mod parse;
pub mod pte;
pub mod pvinfo;
pub mod sched_policy;
pub mod shadow;
pub mod storage;
pub mod vggtt;
pub mod vgpu_type;
