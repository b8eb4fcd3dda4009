// SPDX-License-Identifier: GPL-2.0

//! The physical engines: one worker per engine (rcs0, bcs0, vcs0, vecs0),
//! and one GPU-wide scheduling decision, as GVT-g makes it
//! (`sched_policy.c`, `scheduler.c`).
//!
//! The physical GGTT is GPU-wide: a high-GM slot several vGPUs hold has one
//! vGPU's entries at a time (`crate::ggtt::switch`). So, as in GVT-g, one
//! vGPU at a time is *current*: its entries are switched in and only its
//! work runs, on any engine. The choice is the core's weighted time-slice
//! scheduler ([`crate::sched_policy::Scheduler`]: weights over a balance
//! period, slices of 1 ms or [`crate::sched_policy::Params::max_workloads`]
//! workloads). A switch to another vGPU is decided when an engine is about
//! to start a workload (of the current vGPU, or of another while the
//! current one's slice is over or it has no work), and made only once no
//! engine is inside a workload of the current vGPU (no preemption inside a
//! workload, as gVirt); meanwhile no engine starts a new one. The switch
//! copies the incoming vGPU's GTT entries, and predictively those of the
//! vGPU expected next ([`HostGgtt::switch_in`]), then wakes the engines
//! that have its work. There is no timer: decisions happen at workload
//! boundaries and kicks, so idle vGPUs (and an idle GPU) cost nothing.
//!
//! A vGPU is a [`Client`], attached by the parent when it is created and
//! detached when it is removed. An ELSP write kicks the engine
//! ([`Engines::kick`], after the vGPU's lock is dropped): the vGPU is
//! marked as having work on the engine and the engine's work item is
//! queued (a no-op if it is already). The worker then runs
//! [`Client::step`]s of the current vGPU: bounded pieces of work, each
//! saying whether the engine is inside a workload after it.
//!
//! Time: a vGPU is charged, GPU-wide, the time during which at least one
//! engine is inside one of its workloads (GVT-g charges the time it is
//! current; rgvt does not charge a current vGPU that has nothing running).
//! Each engine's and each (vGPU, engine)'s step time is counted as well.
//!
//! Locks: an engine's `running` lock is held for one decision and one step,
//! and taken before the scheduler lock (held for a decision and during a
//! switch: it is taken before the GM lock) and before the vGPU's engine
//! lock (which the step takes; the scheduler lock is not held during a
//! step). The clients and wake locks are leaves. [`Engines::detach`] takes
//! `running` of every engine after clearing the client, so when it returns
//! no worker holds the vGPU.

use crate::engine::EngineId;
use crate::ggtt::switch::now_ns;
use crate::ggtt::HostGgtt;
use crate::gm::slots::{VgpuId, MAX_VGPUS};
use crate::sched;
use crate::sched_policy::{Params, Scheduler};
use crate::worker::{Job, Queue, Worker};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// Client ids are 1..=[`MAX_VGPUS`] (a vGPU's id).
const SLOTS: usize = MAX_VGPUS as usize + 1;
const COUNT: usize = EngineId::COUNT;

/// What is left of a client's work on an engine after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing queued for this engine.
    Idle,
    /// More to do now.
    More,
    /// Blocked on the guest (a semaphore): retry after a short sleep.
    Waiting,
}

/// What one step left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stepped {
    /// What is left to do.
    pub(crate) progress: Progress,
    /// Whether the engine is inside a workload of the client (scanned and
    /// not ended): no other vGPU may be switched in until it ends.
    pub(crate) inside: bool,
}

/// A user of the engines: a vGPU.
pub(crate) trait Client: Send + Sync {
    /// Runs one bounded step of the client's work on `engine`, in the
    /// engine's worker, with no lock of the engines held but `running`.
    fn step(&self, engine: EngineId) -> Stepped;
}

/// The attached clients, by id.
type Clients = Mutex<KVVec<Option<Arc<dyn Client>>>>;

/// Scheduling and GTT-switch counters of one vGPU (debugfs `vgpu<N>/sched`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VgpuSched {
    /// Switches to this vGPU ([`HostGgtt::switch_in`] calls for it).
    pub(crate) switches: u64,
    /// Switches to it that failed (it was being removed).
    pub(crate) switch_errors: u64,
    /// GTT entries copied when it was switched in.
    pub(crate) entries_copied: u64,
    /// GTT entries copied for it ahead of its switch (predicted next).
    pub(crate) prefetch_entries: u64,
    /// Time its switches took (its copy and the predictive one), in ns.
    pub(crate) copy_ns: u64,
    /// Step time per engine, in ns.
    pub(crate) busy_ns: [u64; COUNT],
    /// Steps per engine.
    pub(crate) steps: [u64; COUNT],
}

/// The scheduler's tunables: GVT-g's slice and balance period, and a grace
/// of 10 ms for a vGPU whose guest is submitting its next workload (a guest
/// process under TCG takes 1 to several ms to see a completion and submit
/// again; without the grace its share goes to the others: with 3 ms, 1:2:4
/// came out as 16.0 / 30.7 / 53.3%). The engine waits only while that
/// vGPU has share left and others have work; an idle GPU does not poll.
const PARAMS: Params = Params {
    time_slice_ns: crate::sched_policy::DEFAULT_TIME_SLICE_NS,
    balance_period_ns: crate::sched_policy::DEFAULT_BALANCE_PERIOD_NS,
    max_workloads: crate::sched_policy::DEFAULT_MAX_WORKLOADS,
    idle_grace_ns: 10 * crate::sched_policy::DEFAULT_TIME_SLICE_NS,
};

/// What an engine's worker does next.
enum Action {
    /// Nothing this engine can do now (it is kicked when that changes).
    Idle,
    /// The scheduler waits a moment for the current vGPU's next workload
    /// ([`Params::idle_grace_ns`]), or for another's while the vGPUs with
    /// work are in debt: decide again after a short sleep.
    Retry,
    /// Step this client.
    Step(usize),
    /// A switch was made: wake these engines (bit [`EngineId::index`]) and
    /// decide again.
    Switched(u8),
}

/// The GPU-wide scheduling state (the scheduler lock).
///
/// # Invariants
///
/// `inflight[e]`, when set, is `current`; `next`, when set, is not
/// `current`; the bits of `pending`, `kicked` and the ids in `current`,
/// `next` and `inflight` are attached clients' (client id = VgpuId + 1).
struct Sched {
    policy: KBox<Scheduler>,
    /// The client whose entries are switched in and whose work runs.
    current: Option<usize>,
    /// A switch decided and waiting for the engines to leave `current`'s
    /// workloads.
    next: Option<usize>,
    /// The client each engine is inside a workload of.
    inflight: [Option<usize>; COUNT],
    /// Per engine, the clients with work queued there (bit VgpuId).
    pending: [u64; COUNT],
    /// Per engine, clients kicked since their last step began (a kick
    /// during a step that ends idle is not lost).
    kicked: [u64; COUNT],
    /// Since when `current` has had an engine inside one of its workloads.
    busy_since: Option<u64>,
    /// `current` was switched in and has not started the workload the
    /// choice was for (the policy counted it already: no second choice).
    fresh: bool,
    /// Per-client counters.
    stats: KVVec<VgpuSched>,
    /// Decisions made (pick_next calls).
    decisions: u64,
    /// Times an engine found a switch pending and waited for the others.
    switch_waits: u64,
}

/// A client id's bit in `pending`/`kicked`, and its scheduler id.
fn vid(id: usize) -> Option<VgpuId> {
    VgpuId::new(u32::try_from(id.checked_sub(1)?).ok()?)
}

fn bit(id: usize) -> u64 {
    vid(id).map_or(0, |v| v.bit())
}

impl Sched {
    fn has_work(pending: &[u64; COUNT], inflight: &[Option<usize>; COUNT], v: VgpuId) -> bool {
        pending.iter().any(|p| p & v.bit() != 0)
            || inflight.iter().any(|i| (*i).and_then(vid) == Some(v))
    }

    /// Lets the policy choose, among the clients with work.
    fn pick(&mut self, now: u64) -> Option<usize> {
        let (pending, inflight) = (self.pending, self.inflight);
        self.decisions += 1;
        let p = self
            .policy
            .pick_next(now, |v| Self::has_work(&pending, &inflight, v))?;
        Some(p.vgpu.index() + 1)
    }

    /// Decides what engine `e` does next (see the module documentation).
    fn select(&mut self, e: usize, now: u64, host: &HostGgtt) -> Action {
        if let Some(id) = self.inflight[e] {
            self.kicked[e] &= !bit(id);
            return Action::Step(id);
        }
        // At most: decide a switch, then find it must wait or make it.
        for _ in 0..3 {
            if let Some(n) = self.next {
                if self.inflight.iter().any(Option::is_some) {
                    self.switch_waits += 1;
                    return Action::Idle;
                }
                return Action::Switched(self.switch(n, host));
            }
            let cur = self.current;
            let cur_work = cur
                .and_then(vid)
                .is_some_and(|v| Self::has_work(&self.pending, &self.inflight, v));
            match cur {
                Some(c) if self.pending[e] & bit(c) != 0 && self.fresh => {
                    self.fresh = false;
                    self.kicked[e] &= !bit(c);
                    self.busy_since.get_or_insert(now);
                    self.inflight[e] = Some(c);
                    return Action::Step(c);
                }
                Some(c) if self.pending[e] & bit(c) != 0 => match self.pick(now) {
                    Some(p) if p == c => {
                        self.kicked[e] &= !bit(c);
                        self.busy_since.get_or_insert(now);
                        // Inside from now: the step may scan (read guest
                        // memory through the GGTT) before it says so, and
                        // no switch may come in between.
                        self.inflight[e] = Some(c);
                        return Action::Step(c);
                    }
                    Some(p) => self.next = Some(p),
                    // Not "nothing to do": the current vGPU has work here
                    // but owes more than a share while another keeps share
                    // left (`Scheduler::pick_next` with a grace). Decide
                    // again after a short sleep: the wait ends by the
                    // balance period. Idle here slept with the work queued
                    // and, once the other guests stopped submitting,
                    // nothing left to kick this engine (rgvt_multi
                    // guests_8 on the debug kernel: batches never ran).
                    None => return Action::Retry,
                },
                Some(c) if cur_work => {
                    // The current vGPU works on other engines; this one
                    // has only others' work: they wait for its slice.
                    if self.pending[e] == 0 || self.fresh || !self.policy.slice_over(now) {
                        return Action::Idle;
                    }
                    match self.pick(now) {
                        Some(p) if p != c => self.next = Some(p),
                        _ => return Action::Idle,
                    }
                }
                _ => {
                    // No current vGPU, or it has no work: anyone with work.
                    self.fresh = false;
                    if self.pending[e] == 0 {
                        return Action::Idle;
                    }
                    match self.pick(now) {
                        Some(p) if Some(p) != cur => self.next = Some(p),
                        Some(_) => return Action::Idle,
                        // Work waits while the current vGPU's guest submits
                        // its next workload (bounded by the grace), or while
                        // a vGPU with share left does (bounded by the
                        // balance period).
                        None => return Action::Retry,
                    }
                }
            }
        }
        Action::Idle
    }

    /// Makes client `n` current: its GTT entries in, the predicted next
    /// one's ahead. Returns the engines that have its work.
    fn switch(&mut self, n: usize, host: &HostGgtt) -> u8 {
        self.next = None;
        self.current = Some(n);
        self.fresh = true;
        let Some(v) = vid(n) else {
            return 0;
        };
        let (pending, inflight) = (self.pending, self.inflight);
        let predicted = self
            .policy
            .predict(v, |w| Self::has_work(&pending, &inflight, w));
        let done = host.switch_in(v, predicted);
        // Its slice runs from now: the copy may take longer than a slice.
        self.policy.restart_slice(now_ns());
        if let Some(s) = self.stats.get_mut(n) {
            match done {
                Ok(c) => {
                    s.switches += 1;
                    s.entries_copied += c.entries;
                    s.copy_ns += c.ns;
                }
                // Being removed: its accesses to shared slots fault (they
                // are not its entries), nothing else happens.
                Err(_) => s.switch_errors += 1,
            }
        }
        if let (Ok(c), Some(p)) = (done, predicted) {
            if let Some(s) = self.stats.get_mut(p.index() + 1) {
                s.prefetch_entries += c.prefetch_entries;
            }
        }
        let mut mask = 0u8;
        for (e, p) in self.pending.iter().enumerate() {
            if p & v.bit() != 0 {
                mask |= 1 << e;
            }
        }
        mask
    }

    /// Records a step of client `id` on engine `e` that took `ns` and
    /// ended at `now`. Returns the engines to wake (a workload ended and
    /// others may be waiting for a switch).
    fn stepped(&mut self, e: usize, id: usize, r: Stepped, ns: u64, now: u64) -> u8 {
        if let Some(s) = self.stats.get_mut(id) {
            s.busy_ns[e] += ns;
            s.steps[e] += 1;
        }
        let b = bit(id);
        if r.progress == Progress::Idle && self.kicked[e] & b == 0 {
            self.pending[e] &= !b;
        } else {
            self.pending[e] |= b;
        }
        self.inflight[e] = r.inside.then_some(id);
        if self.inflight.iter().all(Option::is_none) {
            if let (Some(since), Some(v)) = (self.busy_since.take(), vid(id)) {
                self.policy.charge(v, now.saturating_sub(since));
            }
        }
        if r.inside {
            return 0;
        }
        // The engine left the vGPU's work (a workload ended, or it had
        // none to start): engines with work may now switch or run.
        let mut mask = 0u8;
        for (k, p) in self.pending.iter().enumerate() {
            if k != e && *p != 0 {
                mask |= 1 << k;
            }
        }
        mask
    }

    /// Forgets client `id` (detached).
    fn forget(&mut self, id: usize) {
        let b = bit(id);
        for e in 0..COUNT {
            self.pending[e] &= !b;
            self.kicked[e] &= !b;
            if self.inflight[e] == Some(id) {
                self.inflight[e] = None;
            }
        }
        if self.current == Some(id) {
            self.current = None;
            self.busy_since = None;
            self.fresh = false;
        }
        if self.next == Some(id) {
            self.next = None;
        }
        if let Some(v) = vid(id) {
            self.policy.remove(v);
        }
    }
}

/// Counters of one physical engine (debugfs `engines`).
#[derive(Default)]
struct Counters {
    /// Kicks (an ELSP submission, or anything else queueing a vGPU).
    kicks: AtomicU64,
    /// Runs of the work item.
    runs: AtomicU64,
    /// Steps of a vGPU's work.
    steps: AtomicU64,
    /// Sleeps because the running workload waits on a semaphore.
    sleeps: AtomicU64,
    /// Time spent in steps, in ns.
    busy_ns: AtomicU64,
}

/// What the engines share: the scheduler, the clients and the workers.
#[pin_data]
struct Shared {
    #[pin]
    sched: Mutex<Sched>,
    #[pin]
    clients: Clients,
    /// The queue and the workers, to wake engines; taken out (and the
    /// queue drained) when the engines are dropped, which breaks the cycle
    /// workers -> `Shared` -> workers.
    #[pin]
    wake: Mutex<Option<Wake>>,
    host: Arc<HostGgtt>,
}

/// The queue the workers run on, and the workers (the queue first: it is
/// drained before the workers are released).
struct Wake {
    queue: Queue,
    workers: [Arc<Worker<Engine>>; COUNT],
}

impl Shared {
    /// Queues the workers of the engines in `mask`.
    fn wake(&self, mask: u8) {
        if mask == 0 {
            return;
        }
        if let Some(w) = self.wake.lock().as_ref() {
            for (e, worker) in w.workers.iter().enumerate() {
                if mask & (1 << e) != 0 {
                    w.queue.enqueue(worker);
                }
            }
        }
    }
}

/// One physical engine: its worker's state.
#[pin_data]
pub(crate) struct Engine {
    id: EngineId,
    /// Held by the worker for one step; [`Engines::detach`] takes it to
    /// wait for a step of the client it detached.
    #[pin]
    running: Mutex<()>,
    shared: Arc<Shared>,
    counters: Counters,
}

/// How long (a `usleep_range`, in microseconds) a worker sleeps when the
/// workload it runs waits on a semaphore, before it polls again.
const POLL_MIN_US: u64 = 50;
const POLL_MAX_US: u64 = 100;

impl Job for Engine {
    /// Runs the current vGPU's work on this engine until there is none it
    /// may run.
    fn run(&self) {
        self.counters.runs.fetch_add(1, Ordering::Relaxed);
        let e = self.id.index();
        loop {
            let (progress, wake) = {
                let _running = self.running.lock();
                let action = self
                    .shared
                    .sched
                    .lock()
                    .select(e, now_ns(), &self.shared.host);
                match action {
                    Action::Idle => return,
                    Action::Retry => (Progress::Waiting, 0),
                    Action::Switched(mask) => (Progress::More, mask),
                    Action::Step(id) => {
                        let client = self.shared.clients.lock().get(id).cloned().flatten();
                        let Some(client) = client else {
                            // Detached since it was chosen.
                            self.shared.sched.lock().forget(id);
                            continue;
                        };
                        self.counters.steps.fetch_add(1, Ordering::Relaxed);
                        let start = now_ns();
                        let r = client.step(self.id);
                        let end = now_ns();
                        let ns = end.saturating_sub(start);
                        self.counters.busy_ns.fetch_add(ns, Ordering::Relaxed);
                        let wake = self.shared.sched.lock().stepped(e, id, r, ns, end);
                        // `client` drops here, under `running`: a detach
                        // that waited for `running` finds no step holding
                        // the vGPU.
                        drop(client);
                        (r.progress, wake)
                    }
                }
            };
            self.shared.wake(wake);
            if progress == Progress::Waiting {
                // The workload waits on its guest: let it run.
                self.counters.sleeps.fetch_add(1, Ordering::Relaxed);
                sched::usleep(POLL_MIN_US, POLL_MAX_US);
            } else {
                sched::cond_resched();
            }
        }
    }
}

/// The physical engines and their workers.
///
/// Dropping it drains the queue first, so no worker runs afterwards; it is
/// dropped by the parent at unload, after every vGPU was detached (never by
/// a worker: workers hold only the shared state, not this).
pub(crate) struct Engines {
    shared: Arc<Shared>,
}

impl Engines {
    /// The engines, idle, with no client, switching `host`'s GGTT.
    pub(crate) fn new(host: Arc<HostGgtt>) -> Result<Arc<Self>> {
        let mut table = KVVec::new();
        for _ in 0..SLOTS {
            table.push(None, GFP_KERNEL)?;
        }
        let mut stats = KVVec::new();
        for _ in 0..SLOTS {
            stats.push(VgpuSched::default(), GFP_KERNEL)?;
        }
        let sched = Sched {
            policy: KBox::new(Scheduler::new(PARAMS).map_err(|_| EINVAL)?, GFP_KERNEL)?,
            current: None,
            next: None,
            inflight: [None; COUNT],
            pending: [0; COUNT],
            kicked: [0; COUNT],
            busy_since: None,
            fresh: false,
            stats,
            decisions: 0,
            switch_waits: 0,
        };
        let shared = Arc::pin_init(
            pin_init!(Shared {
                sched <- kernel::new_mutex!(sched),
                clients <- kernel::new_mutex!(table),
                wake <- kernel::new_mutex!(None),
                host,
            }),
            GFP_KERNEL,
        )?;
        let worker = |id: EngineId| -> Result<Arc<Worker<Engine>>> {
            let shared = shared.clone();
            Worker::new(pin_init!(Engine {
                id,
                running <- kernel::new_mutex!(()),
                shared,
                counters: Counters::default(),
            }))
        };
        let workers = [
            worker(EngineId::ALL[0])?,
            worker(EngineId::ALL[1])?,
            worker(EngineId::ALL[2])?,
            worker(EngineId::ALL[3])?,
        ];
        *shared.wake.lock() = Some(Wake {
            queue: Queue::new(COUNT)?,
            workers,
        });
        Ok(Arc::new(Self { shared }, GFP_KERNEL)?)
    }

    /// Runs `f` on the workers (none after the engines were dropped).
    fn for_workers(&self, mut f: impl FnMut(&Worker<Engine>)) {
        let workers = self.shared.wake.lock().as_ref().map(|w| w.workers.clone());
        for w in workers.iter().flatten() {
            f(w);
        }
    }

    /// Attaches client `id` (a vGPU's id) with scheduling weight `weight`.
    pub(crate) fn attach(&self, id: u32, weight: u32, client: Arc<dyn Client>) -> Result {
        let i = id as usize;
        let v = vid(i).ok_or(EINVAL)?;
        {
            let mut s = self.shared.sched.lock();
            s.policy.add(v, weight).map_err(|_| EINVAL)?;
            if let Some(st) = s.stats.get_mut(i) {
                *st = VgpuSched::default();
            }
        }
        let mut c = self.shared.clients.lock();
        let slot = c.get_mut(i).ok_or(EINVAL)?;
        *slot = Some(client);
        Ok(())
    }

    /// Detaches client `id`; when this returns no worker runs it or holds
    /// a reference to it.
    pub(crate) fn detach(&self, id: u32) {
        let gone = self
            .shared
            .clients
            .lock()
            .get_mut(id as usize)
            .and_then(Option::take);
        self.for_workers(|w| {
            // A step in progress (which may hold the client) ends first.
            drop(w.job.running.lock());
        });
        drop(gone);
        let mask = {
            let mut s = self.shared.sched.lock();
            s.forget(id as usize);
            s.pending
                .iter()
                .enumerate()
                .filter(|(_, p)| **p != 0)
                .fold(0u8, |m, (e, _)| m | (1 << e))
        };
        // Engines that waited for its slice or its switch decide again.
        self.shared.wake(mask);
    }

    /// Changes client `id`'s weight (from the next balance period).
    pub(crate) fn set_weight(&self, id: u32, weight: u32) -> Result {
        let v = vid(id as usize).ok_or(EINVAL)?;
        self.shared
            .sched
            .lock()
            .policy
            .set_weight(v, weight)
            .map_err(|_| EINVAL)
    }

    /// The scheduler's parameters (sysfs `sched_*`).
    pub(crate) fn params(&self) -> Params {
        *self.shared.sched.lock().policy.params()
    }

    /// Applies new scheduler parameters (sysfs `sched_*`, validated by the
    /// core): the slice running now ends by the new length, shares follow
    /// from the next balance period.
    pub(crate) fn set_params(&self, params: Params) -> Result {
        self.shared
            .sched
            .lock()
            .policy
            .set_params(params)
            .map_err(|_| EINVAL)?;
        // Engines sleeping out a grace decide again under the new one.
        self.shared.wake(u8::MAX);
        Ok(())
    }

    /// Queues client `id` on `engine` and wakes the engine's worker.
    pub(crate) fn kick(&self, engine: EngineId, id: u32) {
        let e = engine.index();
        let b = bit(id as usize);
        if b == 0 {
            return;
        }
        {
            let mut s = self.shared.sched.lock();
            s.pending[e] |= b;
            s.kicked[e] |= b;
        }
        self.for_workers(|w| {
            if w.job.id == engine {
                w.job.counters.kicks.fetch_add(1, Ordering::Relaxed);
            }
        });
        self.shared.wake(1 << e);
    }

    /// Prints each engine's counters and the scheduler's state (debugfs
    /// `engines`).
    pub(crate) fn describe(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        let (cur, next, pending, decisions, waits, periods, params) = {
            let s = self.shared.sched.lock();
            (
                s.current,
                s.next,
                s.pending,
                s.decisions,
                s.switch_waits,
                s.policy.periods(),
                *s.policy.params(),
            )
        };
        writeln!(out, "engine kicks runs steps sleeps busy_ns queued")?;
        let mut r = Ok(());
        self.for_workers(|w| {
            let c = &w.job.counters;
            if r.is_ok() {
                r = writeln!(
                    out,
                    "{} {} {} {} {} {} {}",
                    w.job.id.name(),
                    c.kicks.load(Ordering::Relaxed),
                    c.runs.load(Ordering::Relaxed),
                    c.steps.load(Ordering::Relaxed),
                    c.sleeps.load(Ordering::Relaxed),
                    c.busy_ns.load(Ordering::Relaxed),
                    pending[w.job.id.index()].count_ones()
                );
            }
        });
        r?;
        writeln!(out, "current {}", cur.unwrap_or(0))?;
        writeln!(out, "next {}", next.unwrap_or(0))?;
        writeln!(out, "decisions {decisions}")?;
        writeln!(out, "switch_waits {waits}")?;
        writeln!(out, "balance_periods {periods}")?;
        writeln!(out, "time_slice_ns {}", params.time_slice_ns)?;
        writeln!(out, "balance_period_ns {}", params.balance_period_ns)?;
        writeln!(out, "max_workloads {}", params.max_workloads)
    }

    /// Prints client `id`'s scheduling counters (debugfs `vgpu<N>/sched`).
    pub(crate) fn describe_client(
        &self,
        id: u32,
        out: &mut dyn core::fmt::Write,
    ) -> core::fmt::Result {
        let i = id as usize;
        let (st, pol, cur) = {
            let s = self.shared.sched.lock();
            let st = s.stats.get(i).copied().unwrap_or_default();
            let pol = vid(i).and_then(|v| s.policy.stats(v));
            (st, pol, s.current == Some(i))
        };
        let pol = pol.unwrap_or_default();
        writeln!(out, "weight {}", pol.weight)?;
        writeln!(out, "credit_ns {}", pol.credit)?;
        writeln!(out, "busy_ns {}", pol.busy_ns)?;
        writeln!(out, "scheduled {}", pol.switches)?;
        writeln!(out, "current {}", u8::from(cur))?;
        writeln!(out, "switches {}", st.switches)?;
        writeln!(out, "switch_errors {}", st.switch_errors)?;
        writeln!(out, "entries_copied {}", st.entries_copied)?;
        writeln!(out, "prefetch_entries {}", st.prefetch_entries)?;
        writeln!(out, "copy_ns {}", st.copy_ns)?;
        for e in EngineId::ALL {
            writeln!(out, "{}_busy_ns {}", e.name(), st.busy_ns[e.index()])?;
            writeln!(out, "{}_steps {}", e.name(), st.steps[e.index()])?;
        }
        Ok(())
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        // Drains the queue (no worker runs afterwards), then releases the
        // workers; no lock is held while it waits.
        let wake = self.shared.wake.lock().take();
        drop(wake);
    }
}
