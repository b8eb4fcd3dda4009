// SPDX-License-Identifier: GPL-2.0

//! A vGPU's side of runtime ballooning: the guest's notifications
//! (`g2v_notify` values `crate::balloon::protocol::G2V_BALLOON_*`) and
//! keeping what the guest sees (its GGTT ranges, the PV fields) equal to
//! what the GM holds after a grant or a release.
//!
//! A grant only adds slots: the guest's GGTT view grows under the vGPU's
//! lock and nothing is unpinned. A release is applied when the guest
//! acknowledges it, in the vGPU's own BAR0 write: the physical entries are
//! on scratch when [`crate::ggtt::HostGgtt::balloon_ack`] returns, the view
//! shrinks under the vGPU's lock, and the pins of the entries that left are
//! dropped after the lock is released (the rule of `gtt.rs`).

use super::{Emulated, Vgpu};
use crate::balloon::protocol as pv;
use crate::ggtt::GmState;
use crate::kstorage::KvAlloc;
use crate::pvinfo::{G2v, VGT_PVINFO_PAGE};
use crate::shadow::Translate;
use crate::vfio;
use crate::vggtt::{Range, Released};
use kernel::prelude::*;
use kernel::sync::lock::{mutex::MutexBackend, Guard};

/// Whether every entry of `old` lies in `new` (both sorted runs, `new`
/// merged as [`GmState::ranges`] makes them).
fn covers(new: &[Range], old: &[Range]) -> bool {
    old.iter().all(|o| {
        new.iter()
            .any(|n| n.start <= o.start && o.start + o.len <= n.start + n.len)
    })
}

/// The runs of `new` outside `old` (both sorted, non-overlapping).
fn added(new: &[Range], old: &[Range]) -> Result<KVec<Range>> {
    let mut out = KVec::new();
    for n in new {
        let (mut at, end) = (n.start, n.start + n.len);
        for o in old {
            if o.start >= end || o.start + o.len <= at {
                continue;
            }
            if o.start > at {
                out.push(
                    Range {
                        start: at,
                        len: o.start - at,
                    },
                    GFP_KERNEL,
                )?;
            }
            at = at.max(o.start + o.len);
        }
        if at < end {
            out.push(
                Range {
                    start: at,
                    len: end - at,
                },
                GFP_KERNEL,
            )?;
        }
    }
    Ok(out)
}

impl Vgpu {
    /// Acts on a `g2v_notify` value the guest wrote, with the vGPU's lock
    /// `st` held (released before returning); values that are not the
    /// balloon's are left to their own handlers.
    pub(crate) fn g2v_balloon(
        &self,
        dev: &vfio::Device,
        mut st: Guard<'_, Emulated, MutexBackend>,
        value: u32,
    ) {
        let reg = |st: &Emulated, off: u32| st.vregs.reg(VGT_PVINFO_PAGE + off);
        match G2v::from_raw(value) {
            Some(G2v::BalloonRequest) => {
                let (seq, slots, evictions) = (
                    reg(&st, pv::PV_BALLOON_REQ_SEQ),
                    reg(&st, pv::PV_BALLOON_REQ_SLOTS),
                    reg(&st, pv::PV_BALLOON_REQ_EVICTIONS),
                );
                self.host.balloon_request(self.gm_id, seq, slots, evictions);
            }
            Some(G2v::BalloonAck) => {
                let seq = reg(&st, pv::PV_BALLOON_ACK_SEQ);
                self.host.balloon_ack(self.gm_id, seq);
            }
            Some(G2v::BalloonRefuse) => {
                let seq = reg(&st, pv::PV_BALLOON_ACK_SEQ);
                self.host.balloon_refuse(self.gm_id, seq);
            }
            _ => return,
        }
        let Some(released) = self.balloon_sync_locked(&mut st, true) else {
            return;
        };
        // As `gtt.rs`'s `unpin_unlocked`: the frames left the entries under
        // the lock; `dma_unmap` waits for them while `unpinning` counts them.
        st.unpinning += 1;
        drop(st);
        let mut pins = dev.pins();
        for gfn in released.pins() {
            pins.unpin(gfn);
        }
        self.state.lock().unpinning -= 1;
        self.pin_wait.notify_all();
    }

    /// Makes the guest's GGTT view follow the GM and publishes the PV
    /// fields, under the vGPU's lock.
    ///
    /// Returns the pins of entries that left the view, for the caller to
    /// drop once the lock is released; with `shrink` false (the worker,
    /// which cannot unpin) a view that would lose entries is left as it is
    /// for the vGPU's own path to update, and nothing is returned.
    pub(crate) fn balloon_sync_locked(
        &self,
        st: &mut Emulated,
        shrink: bool,
    ) -> Option<Released<KvAlloc>> {
        let (fields, ranges) = {
            let gm: Guard<'_, GmState, MutexBackend> = self.host.gm.lock();
            let fields = gm.balloon_pv(self.gm_id).ok()?;
            (fields, gm.ranges(self.gm_id).ok())
        };
        st.vregs.publish_pv(&fields);
        // Pins (and so GGTT ranges) exist only while a VMM has the device.
        let ranges = ranges.filter(|_| st.open)?;
        if st.ggtt.ranges() == &ranges[..] || (!shrink && !covers(&ranges, st.ggtt.ranges())) {
            return None;
        }
        // On an allocation failure the view stays as it was: the guest's
        // writes to a granted slot are ignored until the next period.
        let added = added(&ranges, st.ggtt.ranges()).ok()?;
        let released = st.ggtt.set_ranges(&ranges).ok()?;
        // New entries point at scratch in the guest's view: so do they in
        // the private GTT (and physically where the slot is the vGPU's).
        self.host.scrub_ranges(self.gm_id, &added);
        Some(released)
    }

    /// Publishes the PV fields and grows the guest's view after a period
    /// of the balloon worker (which may have granted slots).
    pub(crate) fn balloon_sync(&self) {
        let mut st = self.state.lock();
        // Growing only: nothing leaves the view, so nothing is to unpin.
        let _ = self.balloon_sync_locked(&mut st, false);
    }
}
