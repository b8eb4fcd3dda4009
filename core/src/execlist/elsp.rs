//! The ELSP port: four dword writes make one submission of two descriptors.
//!
//! Gen9 without ELSQ takes a submission as four writes to `base + 0x230`:
//! element 1 high, element 1 low, element 0 high, element 0 low; the fourth
//! submits (GVT-g's `elsp_mmio_write`). [`ElspLatch`] runs in the MMIO path
//! under the vGPU lock, so it only latches and queues: checking the
//! descriptors and reading the context images is the engine worker's job
//! ([`super::Execlist::submit`]).

use super::desc::Descriptor;

/// How many submissions wait for the worker before new ones are dropped.
///
/// A stock i915 has at most one submission in flight per engine (it writes
/// the ELSP again only after the previous one was acknowledged by an event),
/// so the queue is for a worker that lags behind, not for throughput.
pub const QUEUE: usize = 8;

/// One ELSP submission: element 0 runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Submission {
    /// The two elements, `[elem0, elem1]`.
    pub desc: [Descriptor; 2],
}

/// The per-engine ELSP write latch and its queue of whole submissions.
///
/// # Invariants
///
/// `index < 4`, `len <= QUEUE` and `head < QUEUE`.
#[derive(Debug, Clone)]
pub struct ElspLatch {
    /// The dwords written so far, in GVT-g's order: `[elem0 lo, elem0 hi,
    /// elem1 lo, elem1 hi]`, filled from the end.
    dwords: [u32; 4],
    /// How many dwords of the current submission were written.
    index: u8,
    queue: [Submission; QUEUE],
    head: u8,
    len: u8,
    /// Submissions completed by the guest.
    latched: u64,
    /// Submissions dropped because the queue was full.
    overflow: u64,
}

impl Default for ElspLatch {
    fn default() -> Self {
        Self::new()
    }
}

impl ElspLatch {
    /// An empty latch, as after reset.
    pub const fn new() -> Self {
        Self {
            dwords: [0; 4],
            index: 0,
            queue: [Submission {
                desc: [Descriptor::new(0, 0); 2],
            }; QUEUE],
            head: 0,
            len: 0,
            latched: 0,
            overflow: 0,
        }
    }

    /// Takes one guest write to the ELSP; returns `true` when it completed a
    /// submission and queued it (the caller then kicks the engine worker).
    ///
    /// Any sequence of values is accepted: the latch only counts writes, so
    /// a guest that writes in another order submits descriptors made of the
    /// dwords it wrote, which [`super::Execlist::submit`] then checks.
    pub fn write(&mut self, value: u32) -> bool {
        let i = usize::from(self.index);
        self.dwords[3 - i] = value;
        // INVARIANT: `index` stays below 4.
        self.index = (self.index + 1) % 4;
        if self.index != 0 {
            return false;
        }
        self.latched += 1;
        let d = self.dwords;
        let s = Submission {
            desc: [Descriptor::new(d[0], d[1]), Descriptor::new(d[2], d[3])],
        };
        if usize::from(self.len) == QUEUE {
            self.overflow += 1;
            return false;
        }
        let tail = (usize::from(self.head) + usize::from(self.len)) % QUEUE;
        self.queue[tail] = s;
        // INVARIANT: checked above that `len < QUEUE`.
        self.len += 1;
        true
    }

    /// The oldest queued submission.
    pub fn pop(&mut self) -> Option<Submission> {
        if self.len == 0 {
            return None;
        }
        let s = self.queue[usize::from(self.head)];
        // INVARIANT: `head` wraps at `QUEUE`, `len` was not 0.
        self.head = ((usize::from(self.head) + 1) % QUEUE) as u8;
        self.len -= 1;
        Some(s)
    }

    /// Number of queued submissions.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether no submission is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(submissions latched, submissions dropped on a full queue)`.
    pub fn counts(&self) -> (u64, u64) {
        (self.latched, self.overflow)
    }

    /// Engine or vGPU reset: forgets a partial write and the queue (the
    /// counters stay).
    pub fn reset(&mut self) {
        self.dwords = [0; 4];
        self.index = 0;
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_writes_make_a_submission_in_i915_order() {
        let mut l = ElspLatch::new();
        // execlists_submit_ports: port 1 then port 0, upper dword first.
        assert!(!l.write(0x11)); // elem1 hi
        assert!(!l.write(0x10)); // elem1 lo
        assert!(!l.write(0x01)); // elem0 hi
        assert!(l.write(0x00)); // elem0 lo
        let s = l.pop().unwrap();
        assert_eq!(s.desc[0], Descriptor::new(0x00, 0x01));
        assert_eq!(s.desc[1], Descriptor::new(0x10, 0x11));
        assert_eq!(l.pop(), None);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let mut l = ElspLatch::new();
        for n in 0..(QUEUE as u32 + 3) {
            for k in 0..4 {
                l.write(n * 4 + k);
            }
        }
        assert_eq!(l.len(), QUEUE);
        assert_eq!(l.counts(), (QUEUE as u64 + 3, 3));
        // FIFO: the first ones stay, the late ones were dropped.
        for n in 0..QUEUE as u32 {
            assert_eq!(
                l.pop().unwrap().desc[0],
                Descriptor::new(n * 4 + 3, n * 4 + 2)
            );
        }
        assert!(l.is_empty());
    }

    #[test]
    fn reset_forgets_a_partial_write() {
        let mut l = ElspLatch::new();
        l.write(1);
        l.write(2);
        l.reset();
        for v in [0x11, 0x10, 0x01, 0x00] {
            l.write(v);
        }
        assert_eq!(l.pop().unwrap().desc[0], Descriptor::new(0, 1));
    }
}
