//! The weighted time-slice scheduler of one physical engine: which vGPU's workload runs next.
//!
//! This follows GVT-g's `sched_policy.c` (gVirt): every balance period (100 ms) each vGPU with
//! work gets a share of the period in proportion to its weight; the engine runs one vGPU for a
//! time slice (1 ms) before choosing again, among the vGPUs with work and time left, the one
//! chosen least recently (GVT-g's LRU list). A workload is never preempted: the caller asks for
//! the next vGPU only between workloads, and charges each workload's time when it ends, so an
//! overrun becomes debt paid from the next share. Two departures from GVT-g, both documented
//! where they are made: a slice ends after [`Params::max_workloads`] workloads as well (a vGPU
//! of many tiny workloads cannot hold a slice by count), and when every vGPU with work has
//! spent its share the next period starts at once instead of leaving the engine idle until the
//! timer (work conserving). A vGPU without work is skipped, gets no share, and accrues nothing,
//! unless it ran in the period that ends: a guest between two of its workloads (submitting the
//! next) keeps its share, and while such a vGPU has share left the others run on debt instead of
//! a new period starting early (which would cap its share).
//!
//! The core reads no clock: the caller passes `now` in nanoseconds from any monotonic source.
//! (The module is named after GVT-g's file: the kernel crate's own `sched` is its scheduling
//! points, and the core is re-exported at the kernel crate's root.)

use crate::gm::slots::{VgpuId, MAX_VGPUS};

#[cfg(test)]
mod tests;
mod tunable;

pub use tunable::Tunable;

/// GVT-g's time slice, `GVT_DEFAULT_TIME_SLICE` (1 ms).
pub const DEFAULT_TIME_SLICE_NS: u64 = 1_000_000;
/// GVT-g's balance period, `GVT_TS_BALANCE_PERIOD_MS` (100 ms).
pub const DEFAULT_BALANCE_PERIOD_NS: u64 = 100_000_000;
/// Workloads one vGPU may start in one slice before the scheduler chooses again.
pub const DEFAULT_MAX_WORKLOADS: u32 = 16;
/// The largest weight (GVT-g's types go up to 16; the sysfs override allows more).
pub const MAX_WEIGHT: u32 = 1024;

/// The scheduler's tunables.
///
/// # Invariants
///
/// `1000 <= time_slice_ns <= balance_period_ns <= 10 s`, `1 <= max_workloads <= 4096` and
/// `idle_grace_ns <= balance_period_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// How long one vGPU keeps the engine before the scheduler chooses again.
    pub time_slice_ns: u64,
    /// The period over which the shares follow the weights.
    pub balance_period_ns: u64,
    /// The most workloads one vGPU starts in one slice.
    pub max_workloads: u32,
    /// How long the engine waits for the vGPU that ran last, when it has no work but share
    /// left, before another vGPU gets it (its guest is submitting the next workload; GVT-g
    /// keeps a vGPU current until its timer tick). 0: never wait (fully work conserving).
    pub idle_grace_ns: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            time_slice_ns: DEFAULT_TIME_SLICE_NS,
            balance_period_ns: DEFAULT_BALANCE_PERIOD_NS,
            max_workloads: DEFAULT_MAX_WORKLOADS,
            idle_grace_ns: 0,
        }
    }
}

impl Params {
    /// Returns whether the values satisfy the invariants.
    pub fn valid(&self) -> bool {
        (1000..=self.balance_period_ns).contains(&self.time_slice_ns)
            && self.balance_period_ns <= 10_000_000_000
            && (1..=4096).contains(&self.max_workloads)
            && self.idle_grace_ns <= self.balance_period_ns
    }
}

/// Why a scheduler call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A weight or parameter out of range (`-EINVAL`).
    Invalid,
    /// The vGPU is not in the scheduler (`-ENOENT`).
    NoVgpu,
}

/// One vGPU's state in the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    weight: u32,
    /// Time left in the current balance period, in ns; negative after an overrun (debt).
    credit: i64,
    /// When it was last chosen, as a pick count (the LRU order; 0: never).
    last_pick: u64,
    /// Busy time charged since it was added.
    busy_ns: u64,
    /// Workloads charged since it was added.
    workloads: u64,
    /// Times it was chosen when another vGPU (or none) had the engine.
    switches: u64,
    /// Whether it started a workload in this balance period: a vGPU between two of its
    /// workloads (its guest is submitting the next) is still busy for the balance.
    ran: bool,
    /// Its share at the last balance (0 if it got none).
    share: i64,
}

/// The slice running now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slice {
    vgpu: VgpuId,
    start: u64,
    workloads: u32,
}

/// What [`Scheduler::pick_next`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    /// The vGPU whose workload runs next.
    pub vgpu: VgpuId,
    /// Whether it is another vGPU than the one that ran last (the caller switches its GTT in).
    pub switch: bool,
}

/// One vGPU's counters, for debugfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Its weight.
    pub weight: u32,
    /// Its time left in this balance period (negative: debt), in ns.
    pub credit: i64,
    /// Busy time charged, in ns.
    pub busy_ns: u64,
    /// Workloads charged.
    pub workloads: u64,
    /// Times the engine was switched to it.
    pub switches: u64,
}

/// The scheduler of one physical engine.
///
/// # Invariants
///
/// `entries[k]` is `Some` exactly for the vGPUs added and not removed, each with
/// `1 <= weight <= MAX_WEIGHT`; `slice`, when set, names one of them; `params` is valid.
#[derive(Debug, Clone)]
pub struct Scheduler {
    params: Params,
    entries: [Option<Entry>; MAX_VGPUS as usize],
    slice: Option<Slice>,
    /// The vGPU that ran last (whose GTT is switched in), even after its slice ended.
    last: Option<VgpuId>,
    period_start: u64,
    picks: u64,
    /// Balance periods started, on time or early.
    periods: u64,
    /// Since when the vGPU that ran last has had no work (for [`Params::idle_grace_ns`]).
    idle_since: Option<u64>,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new(Params::default()).unwrap_or(Scheduler {
            params: Params::default(),
            entries: [None; MAX_VGPUS as usize],
            slice: None,
            last: None,
            period_start: 0,
            picks: 0,
            periods: 0,
            idle_since: None,
        })
    }
}

impl Scheduler {
    /// Returns an empty scheduler, or [`Error::Invalid`] for bad `params`.
    pub fn new(params: Params) -> Result<Self, Error> {
        if !params.valid() {
            return Err(Error::Invalid);
        }
        // INVARIANT: no vGPUs, valid parameters.
        Ok(Scheduler {
            params,
            entries: [None; MAX_VGPUS as usize],
            slice: None,
            last: None,
            period_start: 0,
            picks: 0,
            periods: 0,
            idle_since: None,
        })
    }

    /// Returns the tunables.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Replaces the tunables; they apply from the next choice.
    pub fn set_params(&mut self, params: Params) -> Result<(), Error> {
        if !params.valid() {
            return Err(Error::Invalid);
        }
        self.params = params;
        Ok(())
    }

    /// Adds vGPU `id` with `weight` (its type's, GVT-g: 16 / instances); it starts with no
    /// credit and gets its share at the next balance.
    pub fn add(&mut self, id: VgpuId, weight: u32) -> Result<(), Error> {
        check_weight(weight)?;
        // INVARIANT: the weight was checked.
        self.entries[id.index()] = Some(Entry {
            weight,
            credit: 0,
            last_pick: 0,
            busy_ns: 0,
            workloads: 0,
            switches: 0,
            ran: false,
            share: 0,
        });
        Ok(())
    }

    /// Removes vGPU `id`; a slice it held ends.
    pub fn remove(&mut self, id: VgpuId) {
        self.entries[id.index()] = None;
        if self.slice.is_some_and(|s| s.vgpu == id) {
            self.slice = None;
        }
        if self.last == Some(id) {
            self.last = None;
        }
    }

    /// Changes vGPU `id`'s weight (the sysfs override); shares follow from the next balance.
    pub fn set_weight(&mut self, id: VgpuId, weight: u32) -> Result<(), Error> {
        check_weight(weight)?;
        let e = self.entries[id.index()].as_mut().ok_or(Error::NoVgpu)?;
        e.weight = weight;
        Ok(())
    }

    /// Returns vGPU `id`'s counters.
    pub fn stats(&self, id: VgpuId) -> Option<Stats> {
        self.entries[id.index()].map(|e| Stats {
            weight: e.weight,
            credit: e.credit,
            busy_ns: e.busy_ns,
            workloads: e.workloads,
            switches: e.switches,
        })
    }

    /// Returns the vGPU that ran last, whose GTT entries the physical GGTT holds.
    pub fn last(&self) -> Option<VgpuId> {
        self.last
    }

    /// Returns how many balance periods started.
    pub fn periods(&self) -> u64 {
        self.periods
    }

    /// Chooses the vGPU whose next workload runs, at time `now`, among those for which
    /// `has_work` is true. Call only between workloads (no preemption); the choice counts as
    /// one workload started in the slice. `None` with no vGPU with work leaves the engine idle;
    /// with a grace ([`Params::idle_grace_ns`]) it may also come while a vGPU has work: a wait
    /// (for the last vGPU's next workload, or for a vGPU with share left while every vGPU with
    /// work owes more than a share), which ends by the grace or the balance period with no
    /// event to tell the caller: it must ask again soon.
    ///
    /// The running slice goes on while its vGPU has work, credit, time left in the slice and
    /// fewer than [`Params::max_workloads`] workloads; otherwise the least recently chosen
    /// vGPU with work and credit gets a new slice. If no vGPU with work has credit, a new
    /// balance period starts now.
    pub fn pick_next(&mut self, now: u64, has_work: impl Fn(VgpuId) -> bool) -> Option<Pick> {
        if now.saturating_sub(self.period_start) >= self.params.balance_period_ns {
            self.balance(now, &has_work);
        }
        if let Some(l) = self.last {
            let grace = self.params.idle_grace_ns;
            let waiting =
                grace > 0 && !has_work(l) && self.entries[l.index()].is_some_and(|e| e.credit > 0);
            if waiting {
                let since = *self.idle_since.get_or_insert(now);
                if now.saturating_sub(since) < grace {
                    return None;
                }
            } else if has_work(l) {
                self.idle_since = None;
            }
        }
        if let Some(s) = self.slice {
            let keep = self.entries[s.vgpu.index()].is_some_and(|e| e.credit > 0)
                && now.saturating_sub(s.start) < self.params.time_slice_ns
                && s.workloads < self.params.max_workloads
                && has_work(s.vgpu);
            if keep {
                return Some(self.start_workload(s.vgpu, now));
            }
            self.slice = None;
        }
        let next = match self.lru(|id, e| e.credit > 0 && has_work(id)) {
            Some(id) => id,
            None => {
                let any = self.lru(|id, _| has_work(id))?;
                if self.lru(|_, e| e.ran && e.credit > 0).is_some() {
                    // A vGPU with share left is between two of its workloads: the others
                    // run on debt (paid from their next share) rather than a new period
                    // taking its share away. With a grace (the caller polls again), only a
                    // vGPU owing less than one share does: filling every pause of the others
                    // with whole workloads would grow its debt without end.
                    if self.params.idle_grace_ns == 0 {
                        return Some(self.start_workload(any, now));
                    }
                    let next = self.lru(|id, e| has_work(id) && e.credit + e.share > 0)?;
                    return Some(self.start_workload(next, now));
                }
                // Every vGPU with work spent its share (or none has work): start the next
                // period now rather than idling until the timer, as GVT-g would.
                self.balance(now, &has_work);
                // Debt deeper than a whole share leaves no one with credit: the least
                // recently chosen runs anyway, so work never waits on an idle engine.
                self.lru(|id, e| e.credit > 0 && has_work(id))
                    .unwrap_or(any)
            }
        };
        Some(self.start_workload(next, now))
    }

    /// Charges `ns` of engine time to vGPU `id` for one workload that ended.
    pub fn account(&mut self, id: VgpuId, ns: u64) {
        if let Some(e) = self.entries[id.index()].as_mut() {
            let ns = ns.min(i64::MAX as u64);
            e.credit = e.credit.saturating_sub(ns as i64);
            e.busy_ns = e.busy_ns.saturating_add(ns);
            e.workloads += 1;
        }
    }

    /// Charges `ns` of busy time to vGPU `id` without counting a workload: the GPU-wide
    /// scheduler of the kernel charges the time a vGPU had at least one engine inside one of
    /// its workloads (one interval may hold several workloads on several engines).
    pub fn charge(&mut self, id: VgpuId, ns: u64) {
        if let Some(e) = self.entries[id.index()].as_mut() {
            let ns = ns.min(i64::MAX as u64);
            e.credit = e.credit.saturating_sub(ns as i64);
            e.busy_ns = e.busy_ns.saturating_add(ns);
        }
    }

    /// Starts the running slice's time again at `now`: the caller switched the GPU to the
    /// slice's vGPU (copying its GTT entries) after choosing it, and the slice is counted from
    /// when the vGPU can run, not from the choice (a switch may take longer than a slice).
    pub fn restart_slice(&mut self, now: u64) {
        if let Some(s) = self.slice.as_mut() {
            s.start = now;
        }
    }

    /// Returns whether the running slice is over at `now`: no slice, or its vGPU has no
    /// credit left, used its time slice or started [`Params::max_workloads`] workloads. The
    /// caller then asks [`Scheduler::pick_next`], which may pick another vGPU.
    pub fn slice_over(&self, now: u64) -> bool {
        match self.slice {
            None => true,
            Some(s) => {
                !self.entries[s.vgpu.index()].is_some_and(|e| e.credit > 0)
                    || now.saturating_sub(s.start) >= self.params.time_slice_ns
                    || s.workloads >= self.params.max_workloads
            }
        }
    }

    /// Predicts the vGPU chosen after `after` (gScale's predictive copy prepares its GTT
    /// entries): the least recently chosen other vGPU with work, preferring one with credit.
    pub fn predict(&self, after: VgpuId, has_work: impl Fn(VgpuId) -> bool) -> Option<VgpuId> {
        self.lru(|id, e| id != after && e.credit > 0 && has_work(id))
            .or_else(|| self.lru(|id, _| id != after && has_work(id)))
    }

    /// Starts a workload of `id`, opening a slice if it does not hold one.
    fn start_workload(&mut self, id: VgpuId, now: u64) -> Pick {
        let switch = self.last != Some(id);
        if switch {
            self.idle_since = None;
        }
        match &mut self.slice {
            Some(s) if s.vgpu == id => s.workloads += 1,
            _ => {
                self.picks += 1;
                self.slice = Some(Slice {
                    vgpu: id,
                    start: now,
                    workloads: 1,
                });
                if let Some(e) = self.entries[id.index()].as_mut() {
                    e.last_pick = self.picks;
                }
            }
        }
        if let Some(e) = self.entries[id.index()].as_mut() {
            e.ran = true;
            e.switches += u64::from(switch);
        }
        self.last = Some(id);
        Pick { vgpu: id, switch }
    }

    /// Returns the least recently chosen vGPU that `ok` accepts (lowest id on ties).
    fn lru(&self, ok: impl Fn(VgpuId, &Entry) -> bool) -> Option<VgpuId> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((VgpuId::new(i as u32)?, e.as_ref()?)))
            .filter(|(id, e)| ok(*id, e))
            .min_by_key(|(id, e)| (e.last_pick, *id))
            .map(|(id, _)| id)
    }

    /// Starts a balance period at `now`: each vGPU with work gets its weight's share of the
    /// period on top of what it has left (debt is paid first; unused time is banked up to
    /// one more share); a vGPU without work drops its credit and costs nothing.
    fn balance(&mut self, now: u64, has_work: &impl Fn(VgpuId) -> bool) {
        self.period_start = now;
        self.periods += 1;
        let total: u64 = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((VgpuId::new(i as u32)?, e.as_ref()?)))
            .filter(|(id, e)| has_work(*id) || e.ran)
            .map(|(_, e)| u64::from(e.weight))
            .sum();
        let period = self.params.balance_period_ns;
        for (i, slot) in self.entries.iter_mut().enumerate() {
            let Some(e) = slot.as_mut() else { continue };
            let busy = VgpuId::new(i as u32).is_some_and(has_work) || e.ran;
            e.ran = false;
            if !busy || total == 0 {
                e.credit = e.credit.min(0);
                e.share = 0;
                continue;
            }
            // period <= 10 s and weight <= total: the share fits in i64; `total` is not 0.
            let share = (period * u64::from(e.weight))
                .checked_div(total)
                .unwrap_or(0)
                .max(1) as i64;
            // Time left from a period that ended on the clock is kept, up to one more share:
            // a vGPU whose workloads are long next to its share would otherwise lose what the
            // period's end cut off, while the others' debt is always carried.
            e.credit = e.credit.saturating_add(share).min(2 * share);
            e.share = share;
        }
    }
}

fn check_weight(weight: u32) -> Result<(), Error> {
    if (1..=MAX_WEIGHT).contains(&weight) {
        Ok(())
    } else {
        Err(Error::Invalid)
    }
}
