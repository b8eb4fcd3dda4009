//! rgvt's pure logic, shared by the kernel module and the host tests.
//!
//! Nothing here knows the kernel: memory comes through [`storage::Alloc`], guest
//! memory, translation and page tracking through traits the module implements.
//! The kernel crate compiles these same files as modules of its own root (see
//! `rust/rgvt.rs`), so code here names its siblings `crate::name` and the module
//! list below must match the `#[path]` list there (checked by `tests/layout.rs`).

#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod balloon;
pub mod cfg_space;
pub mod gm;
pub mod irq;
pub mod mmio;
pub mod parse;
pub mod pte;
pub mod pvinfo;
pub mod shadow;
pub mod storage;
pub mod vggtt;
pub mod vgpu_type;
