// SPDX-License-Identifier: GPL-2.0

//! The balloon's decision log and per-vGPU counters, kept under the GM lock
//! (`GmState::balloon_log`) and shown by debugfs `balloon`.

use crate::balloon::{Load, Regime};
use crate::gm::slots::{VgpuId, MAX_VGPUS};
use kernel::prelude::*;

/// Decisions the log keeps (the oldest are dropped).
pub(crate) const LOG_ROWS: usize = 256;

/// What happened to one vGPU's balloon, as a log row says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A request was granted (the slots are the vGPU's already).
    Grant,
    /// A request was rejected (by the policy, or at once as unsatisfiable).
    Reject,
    /// The host asked the guest to release slots.
    Release,
    /// The guest acknowledged a release; the slots were taken back.
    Released,
    /// The guest refused to release.
    Refused,
    /// The guest did not answer a release in time: it keeps its slots.
    Withdrawn,
}

impl Event {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Event::Grant => "grant",
            Event::Reject => "reject",
            Event::Release => "release",
            Event::Released => "released",
            Event::Refused => "refused",
            Event::Withdrawn => "withdrawn",
        }
    }
}

/// One decision with its inputs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// The policy period it was made in (the latest, for a guest's answer).
    pub(crate) period: u64,
    /// The vGPU.
    pub(crate) vgpu: VgpuId,
    /// What happened.
    pub(crate) event: Event,
    /// Slots asked, granted or released.
    pub(crate) slots: u32,
    /// Evictions the guest reported with its request (0 otherwise).
    pub(crate) evictions: u32,
    /// Slots the vGPU holds after it.
    pub(crate) held: u32,
    /// W, C and Φ of the period.
    pub(crate) load: Load,
    /// The regime Φ selected.
    pub(crate) regime: Regime,
}

/// One vGPU's balloon counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VgpuCounters {
    /// Requests the guest posted (repeats of one sequence number excluded).
    pub(crate) requests: u64,
    /// Requests granted, and the slots they added.
    pub(crate) granted: u64,
    pub(crate) granted_slots: u64,
    /// Requests rejected.
    pub(crate) rejected: u64,
    /// Releases asked, and released (acknowledged) with their slots.
    pub(crate) releases: u64,
    pub(crate) released: u64,
    pub(crate) released_slots: u64,
    /// Releases refused by the guest.
    pub(crate) refused: u64,
    /// Releases withdrawn because the guest did not answer in time.
    pub(crate) withdrawn: u64,
    /// Notifications that did not fit the exchange (stale sequence, bad state).
    pub(crate) bad_notifies: u64,
    /// The sequence number of the latest request, to count each once.
    pub(crate) last_req: Option<u32>,
}

impl VgpuCounters {
    pub(crate) fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("requests", self.requests);
        f("granted", self.granted);
        f("granted_slots", self.granted_slots);
        f("rejected", self.rejected);
        f("releases", self.releases);
        f("released", self.released);
        f("released_slots", self.released_slots);
        f("refused", self.refused);
        f("withdrawn", self.withdrawn);
        f("bad_notifies", self.bad_notifies);
    }
}

/// What the worker measured in its latest period, for debugfs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Measured {
    /// The period's number.
    pub(crate) period: u64,
    /// W, C and Φ.
    pub(crate) load: Load,
    /// Its length, ns.
    pub(crate) period_ns: u64,
    /// Run delay (steal) and run delay + running time of the guests' threads, ns.
    pub(crate) steal_ns: u64,
    pub(crate) vcpu_ns: u64,
    /// Time spent copying GTT entries, ns.
    pub(crate) copy_ns: u64,
    /// Online CPUs.
    pub(crate) cpus: u32,
    /// vGPUs whose W came from their VM's vCPU threads, from their VMM's
    /// threads, and open ones with neither (their VMM exited).
    pub(crate) from_kvm: u32,
    pub(crate) from_vmm: u32,
    pub(crate) from_none: u32,
}

/// The decision log and the counters (under the GM lock).
///
/// # Invariants
///
/// `rows.len() <= LOG_ROWS` and its capacity is at least `LOG_ROWS`, so
/// logging never allocates under the lock; `next < LOG_ROWS` is where the
/// next row goes once the ring is full; `counters.len() == MAX_VGPUS`.
pub(crate) struct Log {
    rows: KVec<Row>,
    next: usize,
    /// Rows dropped from the ring.
    pub(crate) dropped: u64,
    /// Per vGPU id (`MAX_VGPUS` of them, on the heap: the GM state is
    /// built on the stack of module init).
    pub(crate) counters: KVec<VgpuCounters>,
    /// The latest period, once the worker ran one.
    pub(crate) measured: Option<Measured>,
    /// The regime of the latest period.
    pub(crate) regime: Option<Regime>,
}

impl Log {
    /// An empty log with room for [`LOG_ROWS`] rows.
    pub(crate) fn new() -> Result<Self> {
        let mut counters = KVec::with_capacity(MAX_VGPUS as usize, GFP_KERNEL)?;
        for _ in 0..MAX_VGPUS {
            counters.push(VgpuCounters::default(), GFP_KERNEL)?;
        }
        // INVARIANT: empty, with the room stated.
        Ok(Log {
            rows: KVec::with_capacity(LOG_ROWS, GFP_KERNEL)?,
            next: 0,
            dropped: 0,
            counters,
            measured: None,
            regime: None,
        })
    }

    /// Appends `row`, dropping the oldest when full; counts it.
    pub(crate) fn push(&mut self, row: Row) {
        let c = &mut self.counters[row.vgpu.index()];
        match row.event {
            Event::Grant => {
                c.granted += 1;
                c.granted_slots += u64::from(row.slots);
            }
            Event::Reject => c.rejected += 1,
            Event::Release => c.releases += 1,
            Event::Released => {
                c.released += 1;
                c.released_slots += u64::from(row.slots);
            }
            Event::Refused => c.refused += 1,
            Event::Withdrawn => c.withdrawn += 1,
        }
        if self.rows.len() < LOG_ROWS {
            // Capacity was reserved: no allocation.
            let _ = self.rows.push(row, GFP_KERNEL);
        } else {
            self.rows[self.next] = row;
            self.next = (self.next + 1) % LOG_ROWS;
            self.dropped += 1;
        }
    }

    /// Forgets vGPU `id`'s counters (on create and destroy); its rows stay.
    pub(crate) fn reset(&mut self, id: VgpuId) {
        self.counters[id.index()] = VgpuCounters::default();
    }

    /// A row for `vgpu` at the latest period's inputs.
    pub(crate) fn row(&self, vgpu: VgpuId, event: Event, slots: u32, held: u32) -> Row {
        Row {
            period: self.measured.map_or(0, |m| m.period),
            vgpu,
            event,
            slots,
            evictions: 0,
            held,
            load: self.measured.map(|m| m.load).unwrap_or_default(),
            regime: self.regime.unwrap_or(Regime::Off),
        }
    }

    /// The rows, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Row> {
        let (new, old) = self.rows.split_at(self.next.min(self.rows.len()));
        Iterator::chain(old.iter(), new.iter())
    }
}

/// The word debugfs prints for a regime.
pub(crate) fn regime_name(r: Regime) -> &'static str {
    match r {
        Regime::Off => "off",
        Regime::Grow => "grow",
        Regime::Trim => "trim",
        Regime::Tight => "tight",
    }
}
