// SPDX-License-Identifier: GPL-2.0

//! Switching the physical GGTT to a vGPU before its workload runs (gScale).
//!
//! High-GM slots may be held by several vGPUs; the physical GGTT holds one
//! vGPU's entries per slot (the slot's *owner*, debugfs `slots`). Before a
//! workload of vGPU V runs, [`HostGgtt::switch_in`] copies V's private
//! entries into every slot V holds and does not own (the core's planner,
//! `gm::Gm::switch_to`), then, as gScale's predictive copy, the entries of
//! the vGPU expected next into the slots it holds that V does not hold (so
//! its own switch later copies only the slots both hold). Each copy is timed
//! (`ktime_get`); the time is the balance policy's C.
//!
//! Locking: takes the GM lock, then the backend's lock once per copy (one
//! [`crate::backend::Backend::write_batch`]), and invalidates after the GM
//! lock is dropped and before returning. Call it with no GM or backend lock
//! held; holding a vGPU's lock is allowed (vGPU lock before GM lock). It
//! makes no VFIO call and does not sleep beyond the two mutexes.
//!
//! What the caller keeps: on return V owns all of its slots, and keeps them
//! until another vGPU holding one of them is switched in. An engine that
//! runs V's workload must therefore not switch in another vGPU sharing a
//! slot with V (on another engine) until the workload ends; with one
//! scheduler deciding for the engines that share GM this holds by itself.

use super::{GmState, HostGgtt};
use crate::ggtt::gm_errno;
use crate::gm::ggtt::Copied;
use crate::gm::slots::VgpuId;
use kernel::prelude::*;
use kernel::time::Ktime;

/// What one [`HostGgtt::switch_in`] copied and how long it took.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SwitchStats {
    /// Slots of the incoming vGPU copied into the physical GGTT.
    pub(crate) slots: u32,
    /// GGTT entries copied for them.
    pub(crate) entries: u64,
    /// Slots of the next vGPU copied ahead (predictive copy).
    pub(crate) prefetch_slots: u32,
    /// GGTT entries copied ahead.
    pub(crate) prefetch_entries: u64,
    /// Time spent copying (both copies), in ns.
    pub(crate) ns: u64,
}

/// The monotonic clock in ns (never negative after boot).
pub(crate) fn now_ns() -> u64 {
    u64::try_from(Ktime::ktime_get().to_ns()).unwrap_or(0)
}

impl HostGgtt {
    /// Makes the physical GGTT hold vGPU `id`'s entries in every slot it
    /// holds, then prepares `next`'s entries where `id` does not need the
    /// slot (see the module documentation for the locking and what the
    /// caller keeps).
    pub(crate) fn switch_in(&self, id: VgpuId, next: Option<VgpuId>) -> Result<SwitchStats> {
        let mut stats = SwitchStats::default();
        {
            let mut s = self.gm.lock();
            let start = now_ns();
            let c = self.copy(&mut s, |gm, sink| gm.switch_to(id, sink))?;
            (stats.slots, stats.entries) = (c.slots, c.entries);
            if let Some(n) = next.filter(|&n| n != id) {
                // A vGPU removed meanwhile has nothing to prepare.
                if let Ok(p) = self.copy(&mut s, |gm, sink| gm.prefetch(n, sink)) {
                    (stats.prefetch_slots, stats.prefetch_entries) = (p.slots, p.entries);
                }
            }
            stats.ns = now_ns().saturating_sub(start);
            let k = &mut s.switch;
            k.switches += 1;
            k.switches_free += u64::from(stats.slots == 0);
            k.slots += u64::from(stats.slots);
            k.entries += stats.entries;
            k.prefetch_slots += u64::from(stats.prefetch_slots);
            k.prefetch_entries += stats.prefetch_entries;
            k.copy_ns += stats.ns;
            k.max_switch_ns = k.max_switch_ns.max(stats.ns);
        }
        if stats.slots != 0 || stats.prefetch_slots != 0 {
            self.backend.invalidate();
        }
        Ok(stats)
    }

    /// Copies the running vGPU's entries into slots it holds but does not
    /// own (after a grant made it bigger), under the GM lock the caller
    /// holds; returns the entries copied. The caller invalidates when it
    /// is not 0, after dropping the GM lock.
    pub(crate) fn sync_running_locked(&self, s: &mut GmState) -> Result<u64> {
        let start = now_ns();
        let c = self.copy(s, |gm, sink| gm.sync_running(sink))?;
        s.switch.sync_entries += c.entries;
        s.switch.copy_ns += now_ns().saturating_sub(start);
        Ok(c.entries)
    }

    /// Runs one of the core's copy plans with the physical GGTT as its sink,
    /// under one acquisition of the backend's lock.
    fn copy(
        &self,
        s: &mut GmState,
        plan: impl FnOnce(
            &mut crate::gm::Gm<crate::kstorage::KvAlloc>,
            &mut dyn FnMut(u64, &[u64]),
        ) -> core::result::Result<Copied, crate::gm::Error>,
    ) -> Result<Copied> {
        let mut plan = Some(plan);
        let mut result = Ok(Copied::default());
        self.backend.write_batch(&mut |w| {
            if let Some(plan) = plan.take() {
                result = plan(&mut s.gm, &mut |first, entries| {
                    for (index, pte) in (first..).zip(entries.iter()) {
                        w(index, *pte);
                    }
                });
            }
        });
        result.map_err(gm_errno)
    }
}
