// SPDX-License-Identifier: GPL-2.0

//! The balloon worker: every `balloon_period_ms` it measures W and C, runs
//! the core's policy period (Φ, T1/T2, Algorithm 1, the guest protocol;
//! `crate::balloon::Balloon::step`), logs each decision with its inputs and
//! publishes the outcome to the guests.
//!
//! - W: the run delay of the threads behind each open vGPU over the period
//!   (its VM's vCPU threads when the device is bound to KVM, which is what
//!   KVM reports to the guest as steal time; otherwise the threads of the
//!   VMM process that opened it; `crate::acct`), summed over the vGPUs,
//!   over their run delay plus running time. debugfs `balloon` says which
//!   (`w_from`, `vgpus_kvm`, `vgpus_vmm`).
//! - C: the time spent copying GTT entries in the period
//!   (`crate::ggtt::switch`, measured with `ktime_get` around each copy)
//!   over online CPUs × the period's length.
//! - GM utilization (Trim's choice): the share of a vGPU's high-GM private
//!   entries that map a page other than scratch, sampled every
//!   [`UTIL_STRIDE`]th entry.
//!
//! With `balloon` off the period still runs: the policy's `Off` regime
//! rejects every request and shrinks nothing, so sizes stay fixed.
//!
//! Locks: the worker's own lock (only the worker takes it), then the
//! registry lock alone (to list the vGPUs), then each vGPU's lock with the
//! GM lock inside it, or the GM lock alone. No VFIO call is made: pins are
//! only dropped in a vGPU's own callbacks (`rust/vgpu/balloon.rs`).

use super::Parent;
use crate::acct::{self, Kind, RunTime};
use crate::balloon::protocol::State;
use crate::balloon::{Milli, Sample, Source, Status};
use crate::debugfs::{Seq, Show};
use crate::ggtt::log::{Event, Measured, Row};
use crate::ggtt::switch::now_ns;
use crate::gm::slots::{VgpuId, MAX_VGPUS};
use crate::kthread::{self, Periodic};
use crate::vgpu::{Vgpu, UUID_LEN};
use core::fmt;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// Every this many entries of a slot (256 KB of GM) is looked at for its
/// utilization: 256 per 64 MB slot, a few thousand reads a period.
const UTIL_STRIDE: u64 = 64;

const N: usize = MAX_VGPUS as usize;

/// A vGPU's thread times at the previous period, to take differences.
#[derive(Clone, Copy)]
struct Prev {
    uuid: [u8; UUID_LEN],
    kind: Kind,
    rt: RunTime,
}

/// What the worker remembers between periods.
struct Memory {
    /// Per vGPU id (`MAX_VGPUS` of them, on the heap).
    prev: KVec<Option<Prev>>,
    last_ns: u64,
    copy_ns: u64,
    period: u64,
}

/// The balloon worker of one parent.
#[pin_data]
pub(crate) struct Worker {
    parent: Arc<Parent>,
    #[pin]
    memory: Mutex<Memory>,
}

/// The running worker: its thread, stopped (and waited for) on drop.
pub(crate) struct Running {
    _thread: kthread::Thread<Worker>,
}

/// Starts the balloon worker of `parent`.
pub(crate) fn start(parent: Arc<Parent>) -> Result<Running> {
    let copy_ns = parent.host.gm.lock().switch.copy_ns;
    let mut prev = KVec::with_capacity(N, GFP_KERNEL)?;
    for _ in 0..N {
        prev.push(None, GFP_KERNEL)?;
    }
    let memory = Memory {
        prev,
        last_ns: now_ns(),
        copy_ns,
        period: 0,
    };
    let worker = Arc::pin_init(
        pin_init!(Worker {
            parent,
            memory <- kernel::new_mutex!(memory),
        }),
        GFP_KERNEL,
    )?;
    Ok(Running {
        _thread: kthread::Thread::start(kernel::c_str!("rgvt-balloon"), worker)?,
    })
}

impl Periodic for Worker {
    fn tick(&self) -> u32 {
        let mut mem = self.memory.lock();
        self.period(&mut mem);
        self.parent.host.gm.lock().balloon.params().period_ms
    }
}

/// `a - b` for counters that may go back (a thread exited): 0 then.
fn delta(a: u64, b: u64) -> u64 {
    a.saturating_sub(b)
}

impl Worker {
    /// One period.
    fn period(&self, mem: &mut Memory) {
        let now = now_ns();
        let period_ns = now.saturating_sub(mem.last_ns).max(1);
        mem.last_ns = now;
        let Ok(vgpus) = self.vgpus() else {
            return;
        };
        let mut m = Measured {
            period: mem.period,
            period_ns,
            cpus: acct::online_cpus(),
            ..Measured::default()
        };
        mem.period += 1;
        // W: the threads behind each open vGPU.
        let mut seen = [false; N];
        for v in vgpus.iter() {
            let i = v.gm_id.index();
            seen[i] = true;
            let now = {
                let st = v.state.lock();
                if !st.open {
                    None
                } else {
                    match st.acct.as_ref().and_then(|s| s.sample()) {
                        Some(x) => Some(x),
                        None => {
                            m.from_none += 1;
                            None
                        }
                    }
                }
            };
            let Some((kind, rt)) = now else {
                mem.prev[i] = None;
                continue;
            };
            match kind {
                Kind::Kvm => m.from_kvm += 1,
                Kind::Vmm => m.from_vmm += 1,
            }
            // Differences only against the same vGPU measured the same way.
            if let Some(p) = mem.prev[i].filter(|p| p.uuid == v.uuid && p.kind == kind) {
                let steal = delta(rt.delay_ns, p.rt.delay_ns);
                m.steal_ns += steal;
                m.vcpu_ns += steal + delta(rt.exec_ns, p.rt.exec_ns);
            }
            mem.prev[i] = Some(Prev {
                uuid: v.uuid,
                kind,
                rt,
            });
        }
        for (i, s) in seen.iter().enumerate() {
            if !*s {
                mem.prev[i] = None;
            }
        }
        let util = self.utilization();
        self.step(mem, &mut m, &util);
        for v in vgpus.iter() {
            v.balloon_sync();
        }
    }

    /// The live vGPUs (the registry lock only while copying the list).
    fn vgpus(&self) -> Result<KVec<Arc<Vgpu>>> {
        let registry = self.parent.registry.lock();
        let mut out = KVec::new();
        for v in registry.iter() {
            out.push(v.clone(), GFP_KERNEL)?;
        }
        Ok(out)
    }

    /// Each vGPU's share of its high-GM entries in use, sampled, one vGPU
    /// per acquisition of the GM lock.
    fn utilization(&self) -> [Milli; N] {
        let mut util = [Milli(0); N];
        let scratch = self.parent.host.backend.scratch_pte();
        for (i, u) in util.iter_mut().enumerate() {
            let Some(id) = VgpuId::new(i as u32) else {
                continue;
            };
            let s = self.parent.host.gm.lock();
            let Ok(v) = s.gm.vgpu(id) else {
                continue;
            };
            let layout = s.gm.layout();
            let (mut used, mut seen) = (0u64, 0u64);
            for slot in v.slots.iter() {
                let first = layout.slot_index(slot);
                let mut index = first;
                while index < first + layout.entries_per_slot() {
                    let e = s.gm.read(id, index).unwrap_or(0);
                    used += u64::from(e != 0 && e != scratch);
                    seen += 1;
                    index += UTIL_STRIDE;
                }
            }
            *u = Milli::ratio(used, seen);
        }
        util
    }

    /// Runs the policy's period under the GM lock and logs what it did.
    fn step(&self, mem: &mut Memory, m: &mut Measured, util: &[Milli; N]) {
        let host = &self.parent.host;
        let synced = {
            let mut guard = host.gm.lock();
            let s = &mut *guard;
            m.copy_ns = delta(s.switch.copy_ns, mem.copy_ns);
            mem.copy_ns = s.switch.copy_ns;
            let sample = Sample {
                steal_ns: m.steal_ns,
                vcpu_ns: m.vcpu_ns,
                copy_ns: m.copy_ns,
                cpus: m.cpus,
                period_ns: m.period_ns,
                source: Source::Measured,
            };
            // What each channel waited for before the period, to name the
            // decisions after it.
            let mut before = [(None, false); N];
            for (id, _) in s.gm.slots().iter() {
                let c = s.balloon.channel(id);
                before[id.index()] = (c.pending(), matches!(c.state(), State::Releasing { .. }));
            }
            let d = s.balloon.step(&mut s.gm, &sample, |id| util[id.index()]);
            m.load = d.load;
            s.balloon_log.measured = Some(*m);
            s.balloon_log.regime = Some(d.regime);
            let ids: KVec<VgpuId> = {
                let mut ids = KVec::new();
                for (id, _) in s.gm.slots().iter() {
                    // At most MAX_VGPUS; on failure the period goes unlogged.
                    let _ = ids.push(id, GFP_KERNEL);
                }
                ids
            };
            for id in ids.iter().copied() {
                let (pending, releasing) = before[id.index()];
                let c = *s.balloon.channel(id);
                let held = s.held(id);
                let row = |event, slots, evictions| Row {
                    period: m.period,
                    vgpu: id,
                    event,
                    slots,
                    evictions,
                    held,
                    load: d.load,
                    regime: d.regime,
                };
                if let Some((slots, evictions)) = pending {
                    let event = match c.status() {
                        Status::Granted => Some(Event::Grant),
                        Status::Rejected => Some(Event::Reject),
                        _ => None,
                    };
                    if let Some(e) = event {
                        s.balloon_log.push(row(e, slots, evictions));
                    }
                }
                let shrink = d.shrink.filter(|sh| sh.vgpu == id);
                // A release in flight ends in a period only by timing out
                // (answers come in the BAR0 path, under the GM lock too);
                // the same period may then ask again.
                if releasing && (shrink.is_some() || !matches!(c.state(), State::Releasing { .. }))
                {
                    s.balloon_log.push(row(Event::Withdrawn, 0, 0));
                }
                if let Some(sh) = shrink {
                    s.balloon_log.push(row(Event::Release, sh.slots, 0));
                }
            }
            // A grant to the vGPU whose entries are switched in: its new
            // slots get its entries now, before the guest learns of them.
            d.granted > 0 && host.sync_running_locked(s).is_ok_and(|n| n > 0)
        };
        if synced {
            host.backend.invalidate();
        }
    }
}

/// debugfs `balloon`: the latest period's inputs, the vGPUs' counters and
/// the decision log (`Documentation/rgvt/debugfs.rst`).
pub(crate) struct BalloonFile;

impl Show for BalloonFile {
    type Data = Parent;

    fn show(p: &Parent, m: &mut Seq) -> fmt::Result {
        p.host.gm.lock().show_balloon(m)
    }
}
