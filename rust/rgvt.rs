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
#[path = "../core/src/balloon.rs"]
pub mod balloon;
#[forbid(unsafe_code)]
#[path = "../core/src/cfg_space.rs"]
pub mod cfg_space;
#[forbid(unsafe_code)]
#[path = "../core/src/gm.rs"]
pub mod gm;
#[forbid(unsafe_code)]
#[path = "../core/src/irq.rs"]
pub mod irq;
#[forbid(unsafe_code)]
#[path = "../core/src/mmio.rs"]
pub mod mmio;
#[forbid(unsafe_code)]
#[path = "../core/src/parse.rs"]
pub mod parse;
#[forbid(unsafe_code)]
#[path = "../core/src/pte.rs"]
pub mod pte;
#[forbid(unsafe_code)]
#[path = "../core/src/pvinfo.rs"]
pub mod pvinfo;
#[forbid(unsafe_code)]
#[path = "../core/src/shadow.rs"]
pub mod shadow;
#[forbid(unsafe_code)]
#[path = "../core/src/storage.rs"]
pub mod storage;
#[forbid(unsafe_code)]
#[path = "../core/src/vggtt.rs"]
pub mod vggtt;
#[forbid(unsafe_code)]
#[path = "../core/src/vgpu_type.rs"]
pub mod vgpu_type;

pub mod backend;
mod bindings;
mod c_static;
mod debugfs;
mod inspect;
mod kstorage;
mod layout;
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
/// Fields drop in order: the tunables first, then the mdev parent (which
/// removes every vGPU), then the state with its debugfs directory.
struct Rgvt {
    _tunables: sysfs::Tunables,
    _parent: Option<mdev::Parent>,
    #[cfg(CONFIG_DRM_I915_GVT)]
    _i915: Option<backend::i915::Attachment>,
    _state: state::Published,
}

impl kernel::Module for Rgvt {
    fn init(module: &'static ThisModule) -> Result<Self> {
        layout::check()?;
        let kind = backend::Kind::from_param()?;
        let state = state::Published::new()?;
        #[cfg(CONFIG_DRM_I915_GVT)]
        let i915 = match kind {
            backend::Kind::Sim => None,
            backend::Kind::I915 => Some(
                backend::i915::Attachment::new()
                    .inspect_err(|e| pr_err!("i915 backend: cannot attach to i915 ({:?})\n", e))?,
            ),
            backend::Kind::Auto => backend::i915::Attachment::new()
                .inspect_err(|e| {
                    pr_info!(
                        "i915 backend not attached ({:?}): another GVT device model owns i915\n",
                        e
                    )
                })
                .ok(),
        };
        #[cfg(not(CONFIG_DRM_I915_GVT))]
        if kind == backend::Kind::I915 {
            pr_err!("backend=i915 needs a kernel with CONFIG_DRM_I915_GVT\n");
            return Err(ENODEV);
        }
        // Until the i915 backend offers types, every vGPU lives on sim.
        let parent = match kind {
            backend::Kind::I915 => None,
            _ => Some(mdev::Parent::new(module)?),
        };
        let tunables = sysfs::Tunables::new()?;
        pr_info!(
            "loaded: backend {:?}, {} vGPU types\n",
            kind,
            vgpu_type::TYPES.len()
        );
        Ok(Rgvt {
            _tunables: tunables,
            _parent: parent,
            #[cfg(CONFIG_DRM_I915_GVT)]
            _i915: i915,
            _state: state,
        })
    }
}
