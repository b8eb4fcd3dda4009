// SPDX-License-Identifier: GPL-2.0

//! The vGPU's side of write tracking: KVM's notifier at open and close,
//! the tracking region's accesses, and the debugfs walk (see [`super`]).

use super::Source;
use crate::shadow::track::{self, Op, RegionError};
use crate::vfio;
use crate::vfio::session::{KvmTrack, Session};
use crate::vgpu::Vgpu;
use kernel::prelude::*;

impl Vgpu {
    /// The device was opened (from the VMM's task): KVM's notifier if the
    /// VMM gave the device a VM, the device kept for the debugfs walk.
    pub(crate) fn track_open(&self, dev: &vfio::Device) {
        // Registered with no lock of ours held (it takes KVM's). A VM that
        // refuses (KVM without external write tracking) leaves the vGPU
        // without KVM tracking: correct under `full`, which it then runs.
        let kvm = match KvmTrack::register(dev, self.shadow.clone()) {
            Ok(kvm) => kvm,
            Err(e) => {
                pr_warn!("{}: no KVM write tracking ({:?}): policy full\n", self, e);
                None
            }
        };
        let mut sh = self.shadow.lock();
        sh.tracker_mut().open(Session::new(dev), kvm);
        sh.sync_policy();
    }

    /// The device is closing: every tree goes, every protection is
    /// dropped, and KVM's notifier is unregistered after the shadow's lock
    /// is released (unregistering waits for writes in flight, which take it).
    pub(crate) fn track_close(&self) {
        let (kvm, session) = {
            let mut sh = self.shadow.lock();
            sh.clear();
            let parts = sh.tracker_mut().close();
            sh.sync_policy();
            parts
        };
        drop(kvm);
        drop(session);
    }

    /// The size of the tracking region.
    pub(crate) fn track_region_size() -> u64 {
        track::REGION_SIZE
    }

    /// Checks a whole access to the tracking region before any of it.
    pub(crate) fn track_region_check(&self, offset: u64, count: usize) -> Result {
        let ok = offset
            .checked_add(count as u64)
            .is_some_and(|end| end <= track::REGION_SIZE);
        if !ok {
            self.shadow.lock().tracker_mut().stats.region_bad_access += 1;
            return Err(EINVAL);
        }
        Ok(())
    }

    /// One access to the tracking region (at most [`vfio::ACCESS_CHUNK`] bytes).
    pub(crate) fn track_region_access(
        &self,
        dev: &vfio::Device,
        offset: u64,
        data: &mut [u8],
        write: bool,
    ) -> Result {
        let mut sh = self.shadow.lock();
        if !write {
            return match sh.tracker().frames().read(offset, data) {
                Ok(()) => Ok(()),
                Err(_) => {
                    sh.tracker_mut().stats.region_bad_access += 1;
                    Err(EINVAL)
                }
            };
        }
        let op = match track::decode_write(offset, data) {
            Ok(op) => op,
            Err(e) => {
                let st = &mut sh.tracker_mut().stats;
                match e {
                    RegionError::BadRecord => st.region_bad_record += 1,
                    RegionError::BadAccess | RegionError::BadCtl => st.region_bad_access += 1,
                }
                return Err(EINVAL);
            }
        };
        match op {
            Op::Enable(on) => {
                sh.tracker_mut().set_region(on)?;
                sh.sync_policy();
                Ok(())
            }
            Op::Ack(gen) => {
                let t = sh.tracker_mut();
                if t.frames_mut().ack(gen).is_err() {
                    t.stats.region_protocol += 1;
                    return Err(EINVAL);
                }
                Ok(())
            }
            Op::Write { gpa, len, data } => {
                let t = sh.tracker_mut();
                if !t.frames().on() {
                    t.stats.region_protocol += 1;
                    return Err(EPERM);
                }
                if !t.frames().contains(gpa >> 12) {
                    t.stats.region_untracked += 1;
                    return Err(EINVAL);
                }
                let bytes = data.get(..len).ok_or(EINVAL)?;
                sh.trapped_write(dev, Source::Region, gpa, bytes)
            }
        }
    }
}

/// `vgpu<N>/shadow_walk` (unstable debugfs, for tests): brings every
/// shadow tree up to date as before a workload, then prints one line per
/// tree (`root <gfn>`) and one per 4 KB page it maps (`<va> <gfn>`).
pub(crate) struct WalkFile;

impl crate::debugfs::Show for WalkFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut crate::debugfs::Seq) -> core::fmt::Result {
        use core::fmt::Write;
        let mut sh = v.shadow.lock();
        let mut last_root = None;
        let r = sh.walk(|root, va, gfn| {
            if last_root != Some(root) {
                last_root = Some(root);
                writeln!(m, "root {root:#x}")?;
            }
            writeln!(m, "{va:#x} {gfn:#x}")
        });
        if let Err(e) = r {
            writeln!(m, "error {}", e.to_errno())?;
        }
        Ok(())
    }
}

/// `vgpu<N>/shadow_floor` (unstable debugfs, for `tools/bench-shadow.sh`):
/// runs [`crate::vgpu::shadow::Shadow::floor`] once per read and prints
/// `pages <n> ptes <n> bad_pages <n> ns <n> copy_ns <n> misses <n>`.
pub(crate) struct FloorFile;

impl crate::debugfs::Show for FloorFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut crate::debugfs::Seq) -> core::fmt::Result {
        use core::fmt::Write;
        let r = v.shadow.lock().floor();
        match r {
            Ok(f) => writeln!(
                m,
                "pages {} ptes {} bad_pages {} ns {} copy_ns {} misses {}",
                f.pages, f.ptes, f.bad_pages, f.ns, f.copy_ns, f.misses
            ),
            Err(e) => writeln!(m, "error {}", e.to_errno()),
        }
    }
}
