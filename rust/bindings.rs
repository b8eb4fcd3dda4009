// SPDX-License-Identifier: GPL-2.0

//! Bindings for the C APIs that 6.12's `kernel::bindings` lacks.
//!
//! Generated at build time from `bindings/bindings.h` with the kernel's own
//! bindgen flags; every type they mention but do not define comes from
//! `kernel::bindings`, so values pass between the two without casts.

#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    missing_docs,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    improper_ctypes,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

pub(crate) use kernel::bindings::*;
use kernel::ffi;

include!("bindings/generated.rs");
