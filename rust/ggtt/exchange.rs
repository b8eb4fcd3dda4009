// SPDX-License-Identifier: GPL-2.0

//! The balloon's side under the GM lock: the guest's notifications applied
//! to the GM (request, acknowledgement, refusal), the PV fields a vGPU
//! publishes, and the decision log with its per-vGPU counters that debugfs
//! `balloon` shows (`rust/parent/balloon.rs` runs the policy). The
//! exchange's rules are the core's (`crate::balloon::protocol`).
//!
//! A release is applied only when the guest acknowledges it
//! (`crate::balloon::Balloon::ack`); the physical entries of the released
//! slots that were the vGPU's are pointed at scratch here, under the GM and
//! backend locks, before the caller drops the pins behind them.

use super::log::{regime_name, Event};
use super::{GmState, HostGgtt};
use crate::balloon::{protocol, Acked, Regime};
use crate::gm::slots::VgpuId;
use crate::pvinfo::off;
use core::fmt::{self, Write};
use kernel::prelude::*;

/// Number of PV dwords [`GmState::balloon_pv`] returns.
pub(crate) const PV_FIELDS: usize = 4 + protocol::HOST_FIELDS;

impl GmState {
    /// The PV dwords that tell vGPU `id`'s guest its ranges and where its
    /// balloon exchange stands: `avail_rs` and the balloon fields.
    pub(crate) fn balloon_pv(&self, id: VgpuId) -> Result<[(u32, u32); PV_FIELDS]> {
        let rs = self.gm.avail_rs(id).map_err(super::gm_errno)?;
        let host = self
            .balloon
            .pv_fields(&self.gm, id)
            .map_err(super::gm_errno)?;
        let mut f = [(0, 0); PV_FIELDS];
        f[0] = (off::AVAIL_RS_MAPPABLE_BASE, rs.mappable_base);
        f[1] = (off::AVAIL_RS_MAPPABLE_SIZE, rs.mappable_size);
        f[2] = (off::AVAIL_RS_NONMAPPABLE_BASE, rs.nonmappable_base);
        f[3] = (off::AVAIL_RS_NONMAPPABLE_SIZE, rs.nonmappable_size);
        f[4..].copy_from_slice(&host);
        Ok(f)
    }

    /// Slots vGPU `id` holds (0 if it is gone).
    pub(crate) fn held(&self, id: VgpuId) -> u32 {
        self.gm.vgpu(id).map_or(0, |v| v.count())
    }

    /// Writes the debugfs `balloon` file: the latest period's inputs, the
    /// vGPUs' counters, then the log (a header line and a row per decision).
    pub(crate) fn show_balloon(&self, m: &mut dyn Write) -> fmt::Result {
        let log = &self.balloon_log;
        match log.measured {
            Some(s) => {
                let from = match (s.from_kvm, s.from_vmm) {
                    (0, 0) => "none",
                    (_, 0) => "kvm",
                    (0, _) => "vmm",
                    _ => "kvm+vmm",
                };
                writeln!(
                    m,
                    "period {}; source measured; phi {}; w {}; c {}; regime {}",
                    s.period,
                    s.load.phi,
                    s.load.w,
                    s.load.c,
                    regime_name(log.regime.unwrap_or(Regime::Off))
                )?;
                writeln!(
                    m,
                    "w_from {from}; vgpus_kvm {}; vgpus_vmm {}; vgpus_unmeasured {}; \
                     steal_ns {}; vcpu_ns {}",
                    s.from_kvm, s.from_vmm, s.from_none, s.steal_ns, s.vcpu_ns
                )?;
                writeln!(
                    m,
                    "c_from copy_time; copy_ns {}; cpus {}; period_ns {}",
                    s.copy_ns, s.cpus, s.period_ns
                )?;
            }
            None => writeln!(m, "period -; source -")?,
        }
        writeln!(m, "log_dropped {}", log.dropped)?;
        for (id, _) in self.gm.slots().iter() {
            let mut sep = "";
            let mut r = Ok(());
            log.counters[id.index()].for_each(|name, value| {
                if r.is_ok() {
                    r = write!(m, "{sep}vgpu{}.{name} {value}", id.index() + 1);
                    sep = "; ";
                }
            });
            r?;
            m.write_str("\n")?;
        }
        writeln!(
            m,
            "period vgpu decision slots evictions held phi w c regime"
        )?;
        for r in log.iter() {
            writeln!(
                m,
                "{} {} {} {} {} {} {} {} {} {}",
                r.period,
                r.vgpu.index() + 1,
                r.event.name(),
                r.slots,
                r.evictions,
                r.held,
                r.load.phi,
                r.load.w,
                r.load.c,
                regime_name(r.regime)
            )?;
        }
        Ok(())
    }
}

impl HostGgtt {
    /// The guest of vGPU `id` asked for `slots` more slots (request `seq`,
    /// having evicted `evictions` objects); answered by the next period,
    /// or rejected now if it can never be met.
    pub(crate) fn balloon_request(&self, id: VgpuId, seq: u32, slots: u32, evictions: u32) {
        let mut s = self.gm.lock();
        let s = &mut *s;
        let r = s.balloon.request(&s.gm, id, seq, slots, evictions);
        let c = &mut s.balloon_log.counters[id.index()];
        if c.last_req != Some(seq) {
            c.last_req = Some(seq);
            c.requests += 1;
        }
        if r.is_err() {
            let held = s.held(id);
            let mut row = s.balloon_log.row(id, Event::Reject, slots, held);
            row.evictions = evictions;
            s.balloon_log.push(row);
        }
    }

    /// The guest of vGPU `id` acknowledged answer `seq`. Returns whether
    /// slots were released: their physical entries are on scratch when this
    /// returns, and the caller updates the guest's ranges and unpins.
    pub(crate) fn balloon_ack(&self, id: VgpuId, seq: u32) -> bool {
        let released = {
            let mut s = self.gm.lock();
            let s = &mut *s;
            match s.balloon.ack(&mut s.gm, id, seq) {
                Ok(Acked::Done) => return false,
                Ok(Acked::Released { plan, scrub }) => {
                    let layout = *s.gm.layout();
                    let per_slot = layout.entries_per_slot();
                    let scratch = self.backend.scratch_pte();
                    self.backend.write_batch(&mut |w| {
                        for slot in scrub.iter() {
                            let first = layout.slot_index(slot);
                            for index in first..first + per_slot {
                                w(index, scratch);
                            }
                        }
                    });
                    let held = s.held(id);
                    let row = s
                        .balloon_log
                        .row(id, Event::Released, plan.delta.len(), held);
                    s.balloon_log.push(row);
                    true
                }
                Err(_) => {
                    s.balloon_log.counters[id.index()].bad_notifies += 1;
                    return false;
                }
            }
        };
        self.backend.invalidate();
        released
    }

    /// The guest of vGPU `id` refused release `seq`: it keeps its slots.
    pub(crate) fn balloon_refuse(&self, id: VgpuId, seq: u32) {
        let mut s = self.gm.lock();
        let s = &mut *s;
        if s.balloon.refuse(id, seq).is_ok() {
            let held = s.held(id);
            let row = s.balloon_log.row(id, Event::Refused, 0, held);
            s.balloon_log.push(row);
        } else {
            s.balloon_log.counters[id.index()].bad_notifies += 1;
        }
    }
}
