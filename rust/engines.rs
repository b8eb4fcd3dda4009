// SPDX-License-Identifier: GPL-2.0

//! The physical engines: one worker per engine (rcs0, bcs0, vcs0, vecs0),
//! each running, in FIFO order, the vGPUs that have work for it.
//!
//! A vGPU is a [`Client`], attached by the parent when it is created and
//! detached when it is removed. An ELSP write kicks the engine
//! ([`Engines::kick`], after the vGPU's lock is dropped): the vGPU's id is
//! queued once, and the engine's work item is queued (a no-op if it is
//! already). The worker then calls [`Client::step`] for the vGPU at the
//! head of the queue: one bounded piece of work, after which the vGPU goes
//! to the back of the queue if it has more. The weighted scheduler of
//! GVT-g (time slices per vGPU) is a later issue; this is plain FIFO.
//!
//! Locks: an engine's `running` lock is held for one step and taken before
//! the vGPU's engine lock (which the step takes); the queue and client
//! locks are leaves. [`Engines::detach`] takes `running` of every engine
//! after clearing the client, so when it returns no worker holds the vGPU.

use crate::engine::EngineId;
use crate::gm::slots::MAX_VGPUS;
use crate::sched;
use crate::worker::{Job, Queue, Worker};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// Client ids are 1..=[`MAX_VGPUS`] (a vGPU's id).
const SLOTS: usize = MAX_VGPUS as usize + 1;

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

/// A user of the engines: a vGPU.
pub(crate) trait Client: Send + Sync {
    /// Runs one bounded step of the client's work on `engine`, in the
    /// engine's worker, with no lock of the engines held but `running`.
    fn step(&self, engine: EngineId) -> Progress;
}

/// The ids waiting for one engine, in order, each at most once.
struct Fifo {
    ring: [u8; SLOTS],
    head: usize,
    len: usize,
    queued: [bool; SLOTS],
}

impl Fifo {
    const fn new() -> Self {
        Self {
            ring: [0; SLOTS],
            head: 0,
            len: 0,
            queued: [false; SLOTS],
        }
    }

    /// Queues `id` unless it is queued already.
    fn push(&mut self, id: usize) {
        if id >= SLOTS || self.queued[id] || self.len == SLOTS {
            return;
        }
        self.queued[id] = true;
        self.ring[(self.head + self.len) % SLOTS] = id as u8;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let id = usize::from(self.ring[self.head]);
        self.head = (self.head + 1) % SLOTS;
        self.len -= 1;
        self.queued[id] = false;
        Some(id)
    }
}

/// The attached clients, by id.
type Clients = Mutex<KVVec<Option<Arc<dyn Client>>>>;

/// Counters of one physical engine (debugfs `engines`).
#[derive(Default)]
struct Counters {
    /// Kicks (an ELSP submission, or anything else queueing a vGPU).
    kicks: AtomicU64,
    /// Runs of the work item.
    runs: AtomicU64,
    /// Steps of a vGPU's work.
    steps: AtomicU64,
    /// Sleeps because every queued vGPU was waiting on a semaphore.
    sleeps: AtomicU64,
}

/// One physical engine: its queue of clients and its worker's state.
#[pin_data]
pub(crate) struct Engine {
    id: EngineId,
    #[pin]
    fifo: Mutex<Fifo>,
    /// Held by the worker for one step; [`Engines::detach`] takes it to
    /// wait for a step of the client it detached.
    #[pin]
    running: Mutex<()>,
    clients: Arc<Clients>,
    counters: Counters,
}

/// How long (a `usleep_range`, in microseconds) a worker sleeps when every
/// vGPU queued on its engine waits on a semaphore, before it polls again.
const POLL_MIN_US: u64 = 50;
const POLL_MAX_US: u64 = 100;

impl Job for Engine {
    /// Runs the clients queued for this engine until none has work.
    fn run(&self) {
        self.counters.runs.fetch_add(1, Ordering::Relaxed);
        // Steps since one made progress (not `Waiting`).
        let mut idle_steps = 0usize;
        loop {
            let progress = {
                let _running = self.running.lock();
                let Some(id) = self.fifo.lock().pop() else {
                    return;
                };
                let client = self.clients.lock().get(id).cloned().flatten();
                let Some(client) = client else {
                    // Detached since it was queued.
                    continue;
                };
                self.counters.steps.fetch_add(1, Ordering::Relaxed);
                let p = client.step(self.id);
                if p != Progress::Idle {
                    self.fifo.lock().push(id);
                }
                // `client` drops here, under `running`: a detach that
                // waited for `running` finds no step holding the vGPU.
                p
            };
            match progress {
                Progress::Waiting => idle_steps += 1,
                _ => idle_steps = 0,
            }
            let queued = self.fifo.lock().len;
            if idle_steps > 0 && idle_steps >= queued {
                // Everything queued is waiting on its guest: let it run.
                self.counters.sleeps.fetch_add(1, Ordering::Relaxed);
                sched::usleep(POLL_MIN_US, POLL_MAX_US);
                idle_steps = 0;
            } else {
                sched::cond_resched();
            }
        }
    }
}

/// The physical engines and their workers.
///
/// Dropping it drains the queue first (fields drop in order), so no worker
/// runs afterwards; it is dropped by the parent at unload, after every vGPU
/// was detached (never by a worker: workers hold only their [`Engine`]).
pub(crate) struct Engines {
    queue: Queue,
    workers: [Arc<Worker<Engine>>; EngineId::COUNT],
    clients: Arc<Clients>,
}

impl Engines {
    /// The engines, idle, with no client.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let mut table = KVVec::new();
        for _ in 0..SLOTS {
            table.push(None, GFP_KERNEL)?;
        }
        let clients: Arc<Clients> = Arc::pin_init(kernel::new_mutex!(table), GFP_KERNEL)?;
        let worker = |id: EngineId| -> Result<Arc<Worker<Engine>>> {
            let clients = clients.clone();
            Worker::new(pin_init!(Engine {
                id,
                fifo <- kernel::new_mutex!(Fifo::new()),
                running <- kernel::new_mutex!(()),
                clients,
                counters: Counters::default(),
            }))
        };
        let workers = [
            worker(EngineId::ALL[0])?,
            worker(EngineId::ALL[1])?,
            worker(EngineId::ALL[2])?,
            worker(EngineId::ALL[3])?,
        ];
        Ok(Arc::new(
            Self {
                queue: Queue::new(EngineId::COUNT)?,
                workers,
                clients,
            },
            GFP_KERNEL,
        )?)
    }

    /// Attaches client `id` (a vGPU's id).
    pub(crate) fn attach(&self, id: u32, client: Arc<dyn Client>) -> Result {
        let mut c = self.clients.lock();
        let slot = c.get_mut(id as usize).ok_or(EINVAL)?;
        *slot = Some(client);
        Ok(())
    }

    /// Detaches client `id`; when this returns no worker runs it or holds
    /// a reference to it.
    pub(crate) fn detach(&self, id: u32) {
        let gone = self
            .clients
            .lock()
            .get_mut(id as usize)
            .and_then(Option::take);
        for w in &self.workers {
            // A step in progress (which may hold the client) ends first.
            drop(w.job.running.lock());
        }
        drop(gone);
    }

    /// Queues client `id` on `engine` and wakes the engine's worker.
    pub(crate) fn kick(&self, engine: EngineId, id: u32) {
        let w = &self.workers[engine.index()];
        w.job.counters.kicks.fetch_add(1, Ordering::Relaxed);
        w.job.fifo.lock().push(id as usize);
        self.queue.enqueue(w);
    }

    /// Prints each engine's counters (debugfs `engines`).
    pub(crate) fn describe(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        writeln!(out, "engine kicks runs steps sleeps queued")?;
        for w in &self.workers {
            let c = &w.job.counters;
            writeln!(
                out,
                "{} {} {} {} {} {}",
                w.job.id.name(),
                c.kicks.load(Ordering::Relaxed),
                c.runs.load(Ordering::Relaxed),
                c.steps.load(Ordering::Relaxed),
                c.sleeps.load(Ordering::Relaxed),
                w.job.fifo.lock().len
            )?;
        }
        Ok(())
    }
}
