// SPDX-License-Identifier: GPL-2.0

//! rgvt: mediated GPU virtualization for Intel GPUs.
//!
//! Many VMs share one GPU through mdev/VFIO devices, as with GVT-g. This
//! crate is the kernel side; the pure logic lives in `core/src` and is
//! compiled here as one module of this crate (the same files `cargo test`
//! checks on the host). The layers, lowest first (a module imports only
//! from its own layer or those below; see `Documentation/rgvt/design.rst`):
//!
//! 1. C wrappers, the only files with `unsafe`: `acct`, `bindings`, `c_static`,
//!    `c_layout`, `kstorage`, `kthread`, `params`, `page`, `debugfs`, `eventfd`, `sysfs`,
//!    `mdev`, `vfio` (with `vfio/ioctl`), and `backend/i915`.
//! 2. Backends: `backend` (the trait), `backend/sim`, `backend/i915`.
//! 3. vGPU emulation: `ggtt` (the physical GGTT and the GM lock), `vgpu`
//!    (with `vgpu/regions`, `vgpu/gtt`, `vgpu/irq`, `vgpu/inspect`).
//! 4. The parent: `parent` (registry, vGPU creation, with
//!    `parent/tunables`, `parent/inspect`).
//! 5. Glue: `glue` (which wrapper calls what) and this root.

use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::Arc;

// The pure core: no kernel types, no unsafe (`#![forbid(unsafe_code)]` in
// its lib.rs). Mounted once, so every core module is in the kernel crate as
// soon as lib.rs declares it; re-exported so that core code's
// `crate::gm::...` paths resolve here as they do in the core crate.
#[path = "../core/src/lib.rs"]
pub mod rgvt_core;
pub use rgvt_core::*;

// Layer 1: C wrappers.
mod acct;
mod bindings;
mod c_layout;
mod c_static;
mod debugfs;
mod eventfd;
mod kstorage;
mod kthread;
mod mdev;
mod page;
mod params;
mod sched;
mod sysfs;
mod vfio;
mod worker;
// Layer 2: backends.
mod backend;
// Layer 3: vGPU emulation.
mod engines;
mod ggtt;
mod vgpu;
// Layer 4: the parent.
mod parent;
// Layer 5: glue.
mod glue;

module! {
    type: Rgvt,
    name: "rgvt",
    author: "rgvt developers",
    description: "Mediated GPU virtualization for Intel GPUs (sim backend)",
    license: "GPL",
}

/// The loaded module.
///
/// Fields drop in order: the balloon worker first (stopped and waited
/// for), the tunables, then the mdev parent (which
/// removes every vGPU), the i915 attachment, the parent's debugfs files,
/// and the parent last (with the debugfs root).
struct Rgvt {
    _balloon: parent::balloon::Running,
    _tunables: sysfs::KobjDir<parent::Parent>,
    _mdev: Option<mdev::Parent<parent::Parent>>,
    #[cfg(CONFIG_DRM_I915_GVT)]
    _i915: Option<backend::i915::Attachment>,
    _debugfs: debugfs::Files<parent::Parent>,
    _parent: Arc<parent::Parent>,
}

impl kernel::Module for Rgvt {
    fn init(module: &'static ThisModule) -> Result<Self> {
        c_layout::check()?;
        let kind = backend::Kind::from_param()?;
        // Until the i915 backend offers types, every vGPU lives on sim.
        let sim = backend::sim::Sim::new(backend::sim::Config::from_params()?)?;
        let gpu: Arc<dyn backend::Backend> = Arc::pin_init(sim, GFP_KERNEL)?;
        let parent = parent::Parent::new(gpu)?;
        let debugfs = parent::inspect::files(parent.clone())?;
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
        let mdev = match kind {
            backend::Kind::I915 => None,
            _ => Some(mdev::Parent::new(
                module,
                kernel::c_str!("rgvt"),
                kernel::c_str!("sim0"),
                parent.clone(),
            )?),
        };
        let tunables = sysfs::KobjDir::new(kernel::c_str!("rgvt"), parent.clone())?;
        let balloon = parent::balloon::start(parent.clone())?;
        pr_info!(
            "loaded: backend {:?}, {} vGPU types\n",
            kind,
            vgpu_type::TYPES.len()
        );
        Ok(Rgvt {
            _balloon: balloon,
            _tunables: tunables,
            _mdev: mdev,
            #[cfg(CONFIG_DRM_I915_GVT)]
            _i915: i915,
            _debugfs: debugfs,
            _parent: parent,
        })
    }
}
