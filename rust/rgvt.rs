// SPDX-License-Identifier: GPL-2.0

//! rgvt: mediated GPU virtualization for Intel GPUs.
//!
//! Many VMs share one GPU through mdev/VFIO devices, as with GVT-g. This
//! crate is the kernel glue: mdev parent and types, VFIO devices, sysfs,
//! debugfs. The pure logic lives in `core/src` and is compiled here as
//! modules of this crate (the same files `cargo test` checks on the host).

use kernel::prelude::*;

// The pure core: no kernel types, no unsafe. Keep this list equal to the
// `pub mod` list of core/src/lib.rs (checked by core/tests/layout.rs).
#[forbid(unsafe_code)]
#[path = "../core/src/cfg_space.rs"]
pub mod cfg_space;
#[forbid(unsafe_code)]
#[path = "../core/src/mmio.rs"]
pub mod mmio;
#[forbid(unsafe_code)]
#[path = "../core/src/parse.rs"]
pub mod parse;
#[forbid(unsafe_code)]
#[path = "../core/src/pvinfo.rs"]
pub mod pvinfo;
#[forbid(unsafe_code)]
#[path = "../core/src/storage.rs"]
pub mod storage;

mod bindings;
mod c_static;
mod debugfs;
mod kstorage;
mod mdev;
mod state;
mod sysfs;
mod vfio;
mod vgpu;

module! {
    type: Rgvt,
    name: "rgvt",
    author: "rgvt developers",
    description: "Mediated GPU virtualization for Intel GPUs (sim backend)",
    license: "GPL",
}

/// The loaded module.
///
/// Fields drop in order: the views into the state first (debugfs, sysfs),
/// then the mdev parent (which removes every vGPU), then the state itself.
struct Rgvt {
    _debugfs: debugfs::Dir,
    _tunables: sysfs::Tunables,
    _parent: mdev::Parent,
    _state: state::Published,
}

/// `/sys/kernel/debug/rgvt/vgpus`: one line per live vGPU.
static VGPUS_FILE: debugfs::File = debugfs::File {
    name: kernel::c_str!("vgpus"),
    show: |m| {
        use core::fmt::Write;
        let vgpus = state::get()?.vgpus.lock();
        let r = writeln!(m, "id uuid type").and_then(|()| {
            vgpus.iter().try_for_each(|v| {
                writeln!(
                    m,
                    "{} {} {}",
                    v.id,
                    v.uuid_str(),
                    v.ty.name.to_str().unwrap_or("?")
                )
            })
        });
        r.map_err(|_| EFBIG)
    },
};

impl kernel::Module for Rgvt {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let state = state::Published::new()?;
        let parent = mdev::Parent::new(module)?;
        let tunables = sysfs::Tunables::new()?;
        let debugfs = debugfs::Dir::new(kernel::c_str!("rgvt"));
        debugfs.add(&VGPUS_FILE);
        pr_info!("loaded: sim backend, {} vGPU types\n", vgpu::TYPES.len());
        Ok(Rgvt {
            _debugfs: debugfs,
            _tunables: tunables,
            _parent: parent,
            _state: state,
        })
    }
}
