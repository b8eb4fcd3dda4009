// SPDX-License-Identifier: GPL-2.0

//! Write protection of the guest's page-table pages: from KVM and from the
//! VFIO tracking region, for the shadow PPGTT's policies.
//!
//! The shadow's tables ask [`Tracker::protect`] to write-protect each guest
//! frame a strict shadow page needs, and [`Tracker::unprotect`] when none
//! does. Two sources deliver the guest's writes to those frames to
//! [`Tables::write`](crate::shadow::Tables::write):
//!
//! - **KVM**: when the VMM associated the device with a VM (the kvm-vfio
//!   device sets `vfio_device->kvm`), `Vgpu::track_open` registers a
//!   page-track notifier and each frame is protected with
//!   `kvm_write_track_add_gfn` at once; a write traps in the vCPU, which
//!   emulates it here ([`KvmHandler::track_write`]).
//! - **The tracking region** (`include/uapi/rgvt.h`): a VMM without KVM
//!   reads the list of frames and its generation, protects them itself,
//!   acknowledges the generation and forwards each write to them.
//!
//! With neither (no VM, region not enabled) no write traps, and the only
//! correct policy is `full`: the vGPU runs it whatever is configured and
//! rebuilds the whole shadow from guest memory before every workload
//! (debugfs `shadow` shows `policy_effective full` and `tracking none`).
//! When a source starts, the next workload rebuilds everything once; a
//! frame protected through the region is trusted only once the VMM
//! acknowledged a generation that lists it, and until then is rebuilt
//! from guest memory before every workload (as is a frame whose KVM
//! protection went with its memslot).
//!
//! Lock order: KVM's srcu read locks (a vCPU in `track_write`) or its
//! `slots_lock` (memslot removal), then the shadow's lock
//! ([`super::Vgpu::shadow`]), then `kvm->srcu` (read) and `kvm->mmu_lock`
//! inside `kvm_write_track_add_gfn`/`remove_gfn`. Nothing under the
//! shadow's lock waits for `slots_lock` or for an srcu grace period: the
//! notifier is unregistered (which synchronizes its srcu) after the
//! shadow's lock is dropped (`Vgpu::track_close`, in [`ops`]).

pub(crate) mod ops;

use crate::kstorage::KvAlloc;
use crate::shadow::track::Frames;
use crate::shadow::{self, Policy};
use crate::storage::Vector;
use crate::vfio::session::{KvmTrack, Session};
use kernel::alloc::KVVec;
use kernel::prelude::*;

/// KVM's notifier, which reaches the vGPU's shadow.
pub(crate) type Kvm = KvmTrack;

/// The policy a vGPU runs while nothing traps its page-table writes (the
/// only correct one then).
pub(crate) const UNTRACKED_POLICY: Policy = Policy::Full;

/// Nanoseconds of the monotonic clock.
pub(crate) fn now_ns() -> u64 {
    kernel::time::Ktime::ktime_get().to_ns() as u64
}

/// Counters of write tracking, per vGPU.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    /// Guest writes to our protected frames delivered by KVM's notifier.
    pub(crate) traps_kvm: u64,
    /// KVM notifications for frames that are not ours (KVM's own shadow
    /// paging write-tracks the guest's page tables too; ignored, as kvmgt does).
    pub(crate) kvm_foreign: u64,
    /// Frames write-protected (from any source), in total.
    pub(crate) protects: u64,
    /// Guest writes forwarded through the tracking region.
    pub(crate) traps_region: u64,
    /// Trapped writes the shadow refused (odd size or offset; resynced).
    pub(crate) trap_errors: u64,
    /// Nanoseconds spent emulating trapped writes.
    pub(crate) trap_ns: u64,
    /// Nanoseconds spent bringing the shadow up to date before workloads.
    pub(crate) reconstruct_ns: u64,
    /// Rebuilds from guest memory before a workload: of the workload's tree
    /// with no tracker, of every tree once after a source started.
    pub(crate) full_rebuilds: u64,
    /// Frames rebuilt alone because their protection came late or was lost.
    pub(crate) frame_resyncs: u64,
    /// Frames refused because [`crate::shadow::track::MAX_TRACKED`] were protected.
    pub(crate) track_full: u64,
    /// `kvm_write_track_add_gfn` failures (the page is not shadowed).
    pub(crate) kvm_protect_errors: u64,
    /// Frames whose KVM protection went with a removed memslot.
    pub(crate) kvm_lost: u64,
    /// Region accesses of a bad offset, size or value.
    pub(crate) region_bad_access: u64,
    /// Forwarded writes with a bad size, flags or page crossing.
    pub(crate) region_bad_record: u64,
    /// Forwarded writes to a frame that is not protected.
    pub(crate) region_untracked: u64,
    /// Region misuse: a write forwarded while off, a bad acknowledgement.
    pub(crate) region_protocol: u64,
    /// Policy changes of the running vGPU (configured or effective).
    pub(crate) policy_changes: u64,
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("traps_kvm", self.traps_kvm);
        f("kvm_foreign", self.kvm_foreign);
        f("protects", self.protects);
        f("traps_region", self.traps_region);
        f("trap_errors", self.trap_errors);
        f("trap_ns", self.trap_ns);
        f("reconstruct_ns", self.reconstruct_ns);
        f("full_rebuilds", self.full_rebuilds);
        f("frame_resyncs", self.frame_resyncs);
        f("track_full", self.track_full);
        f("kvm_protect_errors", self.kvm_protect_errors);
        f("kvm_lost", self.kvm_lost);
        f("region_bad_access", self.region_bad_access);
        f("region_bad_record", self.region_bad_record);
        f("region_untracked", self.region_untracked);
        f("region_protocol", self.region_protocol);
        f("policy_changes", self.policy_changes);
    }
}

/// Where the guest's writes to protected frames come from, as debugfs names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Nothing traps: the shadow is rebuilt before every workload.
    None,
    /// KVM's page tracking.
    Kvm,
    /// The VFIO tracking region.
    Region,
}

impl Source {
    /// The name debugfs shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Source::None => "none",
            Source::Kvm => "kvm",
            Source::Region => "region",
        }
    }
}

/// The protected frames of one vGPU and the sources that trap writes to them.
///
/// # Invariants
///
/// Every frame of `unsure` and `lost` is listed in `frames`; with `kvm`,
/// every listed frame not in `lost` holds one KVM protection of ours.
pub(crate) struct Tracker {
    frames: Frames<KvAlloc>,
    kvm: Option<Kvm>,
    /// The open device, for work outside VFIO callbacks (debugfs walks).
    session: Option<Session>,
    /// Frames listed through the region (generation at listing) that the
    /// VMM has not acknowledged yet: their writes may not have trapped.
    unsure: KVVec<(u64, u64)>,
    /// Frames whose KVM protection a memslot removal took.
    lost: KVVec<u64>,
    /// The shadow was built while nothing trapped: rebuild it whole once.
    stale: bool,
    pub(crate) stats: Stats,
}

impl Tracker {
    pub(crate) fn new() -> Self {
        Self {
            frames: Frames::new(),
            kvm: None,
            session: None,
            unsure: KVVec::new(),
            lost: KVVec::new(),
            stale: true,
            stats: Stats::default(),
        }
    }

    /// Which source traps writes now (KVM first).
    pub(crate) fn source(&self) -> Source {
        if self.kvm.is_some() {
            Source::Kvm
        } else if self.frames.on() {
            Source::Region
        } else {
            Source::None
        }
    }

    /// The policy that is correct with the sources there are.
    pub(crate) fn effective(&self, configured: Policy) -> Policy {
        match self.source() {
            Source::None => UNTRACKED_POLICY,
            _ => configured,
        }
    }

    /// The protected frames and the region's state.
    pub(crate) fn frames(&self) -> &Frames<KvAlloc> {
        &self.frames
    }

    fn frames_mut(&mut self) -> &mut Frames<KvAlloc> {
        &mut self.frames
    }

    /// Takes the open device's session out (to reach guest memory while
    /// the shadow is borrowed); [`Tracker::put_session`] puts it back.
    pub(crate) fn take_session(&mut self) -> Option<Session> {
        self.session.take()
    }

    pub(crate) fn put_session(&mut self, session: Option<Session>) {
        if session.is_some() {
            self.session = session;
        }
    }

    /// The next workload rebuilds the whole shadow.
    pub(crate) fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// Whether the next workload needs the whole shadow rebuilt.
    pub(crate) fn needs_full_rebuild(&self) -> bool {
        self.stale || self.source() == Source::None
    }

    /// The whole shadow was rebuilt from guest memory.
    pub(crate) fn rebuilt(&mut self) {
        self.stats.full_rebuilds += 1;
        if self.source() != Source::None {
            self.stale = false;
        }
    }

    /// Frames to rebuild alone before the next workload (unacknowledged or
    /// lost protections), into `out`; the acknowledged ones leave `unsure`,
    /// and lost KVM protections are taken again where KVM allows.
    pub(crate) fn take_unsure(&mut self, out: &mut KVVec<u64>) -> Result {
        out.clear();
        let acked = self.frames.acked();
        let mut i = 0;
        while let Some(&(gfn, gen)) = self.unsure.get(i) {
            out.try_push(gfn)?;
            if acked >= gen && self.frames.on() {
                // Trapped since the acknowledgement; the rebuild below
                // catches what came before it.
                self.unsure.swap_remove(i);
            } else {
                i += 1;
            }
        }
        let mut i = 0;
        while let Some(&gfn) = self.lost.get(i) {
            out.try_push(gfn)?;
            let again = self.kvm.as_ref().is_some_and(|k| k.protect(gfn).is_ok());
            if again {
                self.lost.swap_remove(i);
            } else {
                i += 1;
            }
        }
        self.stats.frame_resyncs += out.len() as u64;
        Ok(())
    }

    /// Write-protects `gfn` for a strict shadow page.
    pub(crate) fn protect(&mut self, gfn: u64) -> core::result::Result<(), shadow::Error> {
        if self.frames.contains(gfn) {
            return Ok(());
        }
        if self.frames.insert(gfn).is_err() {
            self.stats.track_full += 1;
            return Err(shadow::Error::Track);
        }
        if let Some(k) = self.kvm.as_ref() {
            if k.protect(gfn).is_err() {
                self.frames.remove(gfn);
                self.stats.kvm_protect_errors += 1;
                return Err(shadow::Error::Track);
            }
        }
        self.stats.protects += 1;
        if self.kvm.is_none() && self.frames.on() {
            let gen = self.frames.generation();
            if self.unsure.try_push((gfn, gen)).is_err() {
                // Cannot remember it: a whole rebuild covers it.
                self.stale = true;
            }
        }
        Ok(())
    }

    /// Stops write-protecting `gfn`.
    pub(crate) fn unprotect(&mut self, gfn: u64) {
        if !self.frames.contains(gfn) {
            return;
        }
        self.frames.remove(gfn);
        if let Some(pos) = self.unsure.iter().position(|&(g, _)| g == gfn) {
            // At most one entry per frame: `protect` lists a frame once.
            self.unsure.swap_remove(pos);
        }
        if let Some(pos) = self.lost.iter().position(|&g| g == gfn) {
            // KVM already dropped it with the memslot.
            self.lost.swap_remove(pos);
        } else if let Some(k) = self.kvm.as_ref() {
            let _ = k.unprotect(gfn);
        }
    }

    /// KVM removed the memslot of [gfn, gfn + pages): our protections there went with it.
    pub(crate) fn remove_region(&mut self, gfn: u64, pages: u64) {
        let end = gfn.saturating_add(pages);
        let lost: &mut KVVec<u64> = &mut self.lost;
        for g in self.frames.iter().filter(|&g| g >= gfn && g < end) {
            if !lost.contains(&g) {
                if lost.try_push(g).is_err() {
                    self.stale = true;
                }
                self.stats.kvm_lost += 1;
            }
        }
    }

    /// Turns region forwarding on or off.
    pub(crate) fn set_region(&mut self, on: bool) -> Result {
        if on == self.frames.on() {
            return Ok(());
        }
        self.frames.set_on(on);
        // Nothing trapped through the region until now (or from now on).
        self.stale = true;
        self.unsure.clear();
        if on && self.kvm.is_none() {
            let gen = self.frames.generation();
            for gfn in self.frames.iter() {
                self.unsure.try_push((gfn, gen))?;
            }
        }
        Ok(())
    }

    /// The device was opened: keep it, with KVM's notifier if it has a VM.
    pub(crate) fn open(&mut self, session: Session, kvm: Option<Kvm>) {
        self.session = Some(session);
        self.kvm = kvm;
        self.stale = true;
    }

    /// The device is closing: gives back the notifier (to be dropped with
    /// no lock held) after dropping every protection still listed.
    pub(crate) fn close(&mut self) -> (Option<Kvm>, Option<Session>) {
        let frames: KVVec<u64> = {
            let mut v = KVVec::new();
            for g in self.frames.iter() {
                if v.try_push(g).is_err() {
                    break;
                }
            }
            v
        };
        for g in frames.iter() {
            self.unprotect(*g);
        }
        self.frames.clear();
        self.unsure.clear();
        self.lost.clear();
        self.stale = true;
        (self.kvm.take(), self.session.take())
    }
}
