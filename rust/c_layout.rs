// SPDX-License-Identifier: GPL-2.0

//! A load-time check that the bindings lay out C structures as the C
//! compiler does.
//!
//! bindgen reads the headers through clang with the kernel's gcc flags
//! adapted, and a type that the kernel's own bindings only forward-declare
//! comes out as a one-byte placeholder. rgvt embeds and allocates these
//! structures by the bindings' sizes, so a difference would corrupt memory:
//! refuse to load instead.

use crate::bindings::{self, rgvt_c_struct as C};
use core::mem::size_of;
use kernel::prelude::*;

const STRUCTS: [(C, &str, usize); 11] = [
    (
        C::RGVT_VFIO_DEVICE,
        "vfio_device",
        size_of::<bindings::vfio_device>(),
    ),
    (
        C::RGVT_VFIO_DEVICE_OPS,
        "vfio_device_ops",
        size_of::<bindings::vfio_device_ops>(),
    ),
    (
        C::RGVT_MDEV_DEVICE,
        "mdev_device",
        size_of::<bindings::mdev_device>(),
    ),
    (
        C::RGVT_MDEV_TYPE,
        "mdev_type",
        size_of::<bindings::mdev_type>(),
    ),
    (
        C::RGVT_MDEV_PARENT,
        "mdev_parent",
        size_of::<bindings::mdev_parent>(),
    ),
    (
        C::RGVT_MDEV_DRIVER,
        "mdev_driver",
        size_of::<bindings::mdev_driver>(),
    ),
    (
        C::RGVT_FILE_OPERATIONS,
        "file_operations",
        size_of::<bindings::file_operations>(),
    ),
    (
        C::RGVT_KOBJ_ATTRIBUTE,
        "kobj_attribute",
        size_of::<bindings::kobj_attribute>(),
    ),
    (
        C::RGVT_DEVICE_ATTRIBUTE,
        "device_attribute",
        size_of::<bindings::device_attribute>(),
    ),
    (
        C::RGVT_ATTRIBUTE_GROUP,
        "attribute_group",
        size_of::<bindings::attribute_group>(),
    ),
    (C::RGVT_DEVICE, "device", size_of::<bindings::device>()),
];

/// Fails with `-EINVAL` if any structure's size differs between C and Rust.
pub(crate) fn check() -> Result {
    let mut ok = true;
    for (what, name, rust) in STRUCTS {
        // SAFETY: a pure function of the C definitions.
        let c = unsafe { bindings::rgvt_c_sizeof(what) };
        if c != rust {
            pr_err!(
                "struct {} is {} bytes in C but {} in the bindings\n",
                name,
                c,
                rust
            );
            ok = false;
        }
    }
    if ok {
        Ok(())
    } else {
        Err(EINVAL)
    }
}
