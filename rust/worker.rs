// SPDX-License-Identifier: GPL-2.0

//! A workqueue of rgvt's own and the work items it runs: the engines'
//! workers (`alloc_workqueue`, `destroy_workqueue`, through
//! `rust/helpers.c`, and 6.12's `kernel::workqueue` for the items).
//!
//! 6.12's Rust workqueue API can queue an item but not wait for one; a
//! queue of our own can: dropping it drains it (`destroy_workqueue` waits
//! for every queued and running item), so no item runs once the module's
//! code may be gone.

use crate::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::workqueue::{self, Work, WorkItem};

/// What a [`Worker`] does each time it runs.
pub(crate) trait Job: Send + Sync + 'static {
    /// Runs the job, in process context, with no lock held; it may sleep.
    fn run(&self);
}

/// A work item running `job`, queued by [`Queue::enqueue`].
///
/// An item is queued at most once at a time; queueing it while it runs
/// makes it run again afterwards (the workqueue clears its pending bit
/// before running it), so a kick is never lost.
#[pin_data]
pub(crate) struct Worker<J: Job> {
    #[pin]
    work: Work<Worker<J>>,
    /// What the item runs.
    #[pin]
    pub(crate) job: J,
}

kernel::impl_has_work! {
    impl{J: Job} HasWork<Self> for Worker<J> { self.work }
}

impl<J: Job> WorkItem for Worker<J> {
    type Pointer = Arc<Self>;

    fn run(this: Arc<Self>) {
        this.job.run();
    }
}

impl<J: Job> Worker<J> {
    /// A new, idle item running the job `job` initialises.
    pub(crate) fn new(job: impl PinInit<J>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                work <- kernel::new_work!("rgvt::worker::Worker"),
                job <- job,
            }),
            GFP_KERNEL,
        )
    }
}

/// An unbound workqueue, drained and destroyed on drop.
///
/// # Invariants
///
/// `wq` is a workqueue from `alloc_workqueue`, destroyed only by `drop`.
pub(crate) struct Queue {
    wq: NonNull<bindings::workqueue_struct>,
}

// SAFETY: workqueues are used from any thread; `destroy_workqueue` (the
// only use of `&mut self`) may be called from any process context.
unsafe impl Send for Queue {}
// SAFETY: queueing work is thread-safe.
unsafe impl Sync for Queue {}

impl Queue {
    /// An unbound queue running up to `max_active` items at once.
    pub(crate) fn new(max_active: usize) -> Result<Self> {
        let max = i32::try_from(max_active).map_err(|_| EINVAL)?;
        // SAFETY: plain allocation; the name is a literal in the helper.
        let wq = unsafe { bindings::rgvt_alloc_engine_wq(max) };
        // INVARIANT: a workqueue from `alloc_workqueue`.
        Ok(Self {
            wq: NonNull::new(wq).ok_or(ENOMEM)?,
        })
    }

    /// Queues `item` unless it is queued already (it then runs once for
    /// both kicks). Returns whether it was queued by this call.
    pub(crate) fn enqueue<J: Job>(&self, item: &Arc<Worker<J>>) -> bool {
        // SAFETY: by the type invariant `wq` is a live workqueue for as long
        // as `self` is borrowed.
        let q = unsafe { workqueue::Queue::from_raw(self.wq.as_ptr()) };
        q.enqueue(item.clone()).is_ok()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `wq` is live and destroyed here
        // only; this waits for every queued and running item. No item owns
        // the queue (they hold their own `Arc`s), so none is dropping it.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}
