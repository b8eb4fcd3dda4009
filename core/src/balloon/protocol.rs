//! The runtime ballooning protocol between a guest driver and the host, over the PV info page.
//!
//! GVT-g's guest balloons once at boot from `avail_rs`. rgvt adds an exchange: the guest asks
//! for slots (saying how many objects it evicted for lack of GM), the host grants (rewriting
//! `avail_rs`), rejects, or asks the guest to release slots; the guest acknowledges each answer.
//! Growing is applied before the grant is published, shrinking only after the guest has
//! acknowledged that it released the memory, so a vGPU never loses GM its guest still uses.
//!
//! All offsets are relative to the PV info page (`VGT_PVINFO_PAGE`, MMIO 0x78000) and lie in
//! `struct vgt_if`'s reserved areas: host-to-guest fields in `rsv3` (top half page), guest-to-host
//! fields in `rsv7` (bottom half). Every field is a little-endian `u32`.

use crate::gm::layout::Layout;
use crate::gm::slots::{Resize, SlotSet};
use crate::gm::Error;

/// Host → guest: the protocol version the host speaks (`PV_BALLOON_VERSION_1`); 0 means the
/// host does not balloon at runtime.
pub const PV_BALLOON_VERSION: u32 = 0x100;
/// Host → guest: [`Status`] of the latest answer.
pub const PV_BALLOON_STATUS: u32 = 0x104;
/// Host → guest: sequence number of the latest answer; the guest acknowledges it.
pub const PV_BALLOON_SEQ: u32 = 0x108;
/// Host → guest: with [`Status::Release`], the base of the high GM the guest keeps.
pub const PV_BALLOON_KEEP_BASE: u32 = 0x10c;
/// Host → guest: with [`Status::Release`], the size of the high GM the guest keeps.
pub const PV_BALLOON_KEEP_SIZE: u32 = 0x110;
/// Host → guest: bytes per slot.
pub const PV_BALLOON_SLOT_SIZE: u32 = 0x114;
/// Host → guest: GM address of slot 0.
pub const PV_BALLOON_SLOT_BASE: u32 = 0x118;
/// Host → guest: eight `u32` words (0x120..0x140), a bitmap of the slots the guest may use
/// (bit `s % 32` of word `s / 32`); with [`Status::Release`] the slots it keeps. Needed when
/// slots are scattered: `avail_rs` then gives the hull and the guest balloons the holes.
pub const PV_BALLOON_SLOT_MAP: u32 = 0x120;
/// Guest → host: slots the guest asks for.
pub const PV_BALLOON_REQ_SLOTS: u32 = 0x880;
/// Guest → host: objects evicted for lack of GM since the previous request.
pub const PV_BALLOON_REQ_EVICTIONS: u32 = 0x884;
/// Guest → host: sequence number of the request, so a repeated notification is not a new one.
pub const PV_BALLOON_REQ_SEQ: u32 = 0x888;
/// Guest → host: the answer sequence number the guest acknowledges (or refuses).
pub const PV_BALLOON_ACK_SEQ: u32 = 0x88c;

/// The value of [`PV_BALLOON_VERSION`] for this protocol.
pub const PV_BALLOON_VERSION_1: u32 = 1;

/// `g2v_notify` (PV offset 0x818) value: the guest posted a request.
pub const G2V_BALLOON_REQUEST: u32 = 0x80;
/// `g2v_notify` value: the guest applied the answer named by `PV_BALLOON_ACK_SEQ` (for a
/// release: the memory is no longer used).
pub const G2V_BALLOON_ACK: u32 = 0x81;
/// `g2v_notify` value: the guest cannot release the memory asked for.
pub const G2V_BALLOON_REFUSE: u32 = 0x82;

/// The host's latest answer, as written to [`PV_BALLOON_STATUS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    /// Nothing in flight.
    Idle = 0,
    /// The request was granted; `avail_rs` holds the new ranges.
    Granted = 1,
    /// The request was rejected; the ranges are unchanged.
    Rejected = 2,
    /// The host asks the guest to release everything outside the keep range and slot map.
    Release = 3,
}

/// Why a request was rejected (for the debugfs log; the guest only sees [`Status::Rejected`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// The policy rejects expansions this period (Φ ≥ T2) or the balloon is off.
    Policy,
    /// The request cannot be met: too many slots, or none.
    Unsatisfiable,
    /// Growing failed for lack of memory or slots.
    Failed(Error),
}

/// Where one vGPU's exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Nothing in flight.
    Idle,
    /// A request waits for the next policy period.
    Requested {
        /// Slots asked for.
        slots: u32,
        /// Evictions reported with it.
        evictions: u32,
    },
    /// A grant or rejection waits for the guest's acknowledgement.
    Answered(Status),
    /// The host asked the guest to release `plan.delta`; nothing is released until it acks.
    Releasing {
        /// The reduction to apply once acknowledged.
        plan: Resize,
        /// Periods waited so far.
        waited: u32,
    },
}

/// What the host does after a guest acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Nothing more: the answer was taken note of.
    Done,
    /// The guest released the memory: apply this reduction, then publish the new `avail_rs`.
    Release(Resize),
}

/// One vGPU's side of the ballooning protocol.
///
/// # Invariants
///
/// `seq` is the number of the latest answer published; a request that arrives while a release
/// is in flight is parked in `deferred` and answered after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    state: State,
    seq: u32,
    last_req: Option<u32>,
    deferred: Option<(u32, u32)>,
}

impl Default for Channel {
    fn default() -> Self {
        Self::new()
    }
}

impl Channel {
    /// Returns an idle channel.
    pub const fn new() -> Self {
        Channel {
            state: State::Idle,
            seq: 0,
            last_req: None,
            deferred: None,
        }
    }

    /// Returns the current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Returns the value for [`PV_BALLOON_SEQ`].
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// Returns the value for [`PV_BALLOON_STATUS`].
    pub fn status(&self) -> Status {
        match self.state {
            State::Idle | State::Requested { .. } => Status::Idle,
            State::Answered(s) => s,
            State::Releasing { .. } => Status::Release,
        }
    }

    /// Returns the slots the guest may keep using: during a release the slots it keeps.
    pub fn keep(&self, held: SlotSet) -> SlotSet {
        match self.state {
            State::Releasing { plan, .. } => plan.after(),
            _ => held,
        }
    }

    /// Returns the request waiting for the policy, as `(slots, evictions)`.
    pub fn pending(&self) -> Option<(u32, u32)> {
        match self.state {
            State::Requested { slots, evictions } => Some((slots, evictions)),
            _ => None,
        }
    }

    /// Returns whether the host may start a release now.
    pub fn can_release(&self) -> bool {
        matches!(self.state, State::Idle | State::Answered(_)) && self.deferred.is_none()
    }

    /// Takes a guest request (`G2V_BALLOON_REQUEST`) with the PV fields the guest wrote.
    ///
    /// A repeated notification for the same `req_seq` changes nothing. A request for no slots
    /// is rejected at once; one that arrives during a release is answered after it.
    pub fn request(&mut self, req_seq: u32, slots: u32, evictions: u32) -> Result<(), Reject> {
        if self.last_req == Some(req_seq) {
            return Ok(());
        }
        self.last_req = Some(req_seq);
        if slots == 0 {
            self.answer(Status::Rejected);
            return Err(Reject::Unsatisfiable);
        }
        match self.state {
            State::Releasing { .. } => self.deferred = Some((slots, evictions)),
            // A new request implies the guest has seen the previous answer.
            _ => self.state = State::Requested { slots, evictions },
        }
        Ok(())
    }

    fn answer(&mut self, status: Status) {
        self.seq = self.seq.wrapping_add(1);
        self.state = State::Answered(status);
    }

    /// Publishes a grant; the expansion must already be applied to the GM.
    pub fn grant(&mut self) -> Result<(), Error> {
        match self.state {
            State::Requested { .. } => {
                self.answer(Status::Granted);
                Ok(())
            }
            _ => Err(Error::Stale),
        }
    }

    /// Publishes a rejection of the waiting request.
    pub fn reject(&mut self) -> Result<(), Error> {
        match self.state {
            State::Requested { .. } => {
                self.answer(Status::Rejected);
                Ok(())
            }
            _ => Err(Error::Stale),
        }
    }

    /// Asks the guest to release the slots `plan` removes; nothing changes in the GM yet.
    pub fn release(&mut self, plan: Resize) -> Result<(), Error> {
        if plan.grow || !self.can_release() {
            return Err(Error::Busy);
        }
        self.seq = self.seq.wrapping_add(1);
        self.state = State::Releasing { plan, waited: 0 };
        Ok(())
    }

    /// Takes the guest's acknowledgement (`G2V_BALLOON_ACK`) of answer `seq`.
    pub fn ack(&mut self, seq: u32) -> Result<Ack, Error> {
        if seq != self.seq {
            return Err(Error::Stale);
        }
        let r = match self.state {
            State::Answered(_) => Ack::Done,
            State::Releasing { plan, .. } => Ack::Release(plan),
            State::Idle | State::Requested { .. } => return Err(Error::Stale),
        };
        self.finish();
        Ok(r)
    }

    /// Takes the guest's refusal (`G2V_BALLOON_REFUSE`) to release memory; it keeps all of it.
    pub fn refuse(&mut self, seq: u32) -> Result<(), Error> {
        match self.state {
            State::Releasing { .. } if seq == self.seq => {
                self.finish();
                Ok(())
            }
            _ => Err(Error::Stale),
        }
    }

    /// Counts one policy period; returns whether a release has waited `timeout` periods and was
    /// withdrawn (the guest keeps its memory, the host publishes `Idle`).
    pub fn tick(&mut self, timeout: u32) -> bool {
        if let State::Releasing { waited, .. } = &mut self.state {
            *waited += 1;
            if *waited >= timeout {
                self.seq = self.seq.wrapping_add(1);
                self.finish();
                return true;
            }
        }
        false
    }

    /// Leaves a finished exchange, resuming a request parked during a release.
    fn finish(&mut self) {
        self.state = match self.deferred.take() {
            Some((slots, evictions)) => State::Requested { slots, evictions },
            None => State::Idle,
        };
    }
}

/// Number of host-written fields [`host_fields`] returns.
pub const HOST_FIELDS: usize = 15;

/// Returns the host-written balloon fields of one vGPU as `(offset, value)` pairs, for the
/// backend to store into the PV info page next to `avail_rs` (from `Gm::avail_rs`).
///
/// `held` is the vGPU's current slot set; during a release the keep range and slot map show
/// what the guest keeps, while `avail_rs` still shows what it holds.
pub fn host_fields(layout: &Layout, held: SlotSet, channel: &Channel) -> [(u32, u32); HOST_FIELDS] {
    let keep = channel.keep(held);
    let keep_base = layout.slot_addr(keep.first().unwrap_or(0));
    let keep_end = layout.slot_addr(keep.last().map_or(0, |l| l + 1));
    let map = keep.words32();
    // Layouts keep GM below 4 GB, so addresses and sizes fit in u32.
    let mut f = [
        (PV_BALLOON_VERSION, PV_BALLOON_VERSION_1),
        (PV_BALLOON_STATUS, channel.status() as u32),
        (PV_BALLOON_SEQ, channel.seq()),
        (PV_BALLOON_KEEP_BASE, keep_base as u32),
        (PV_BALLOON_KEEP_SIZE, (keep_end - keep_base) as u32),
        (PV_BALLOON_SLOT_SIZE, layout.config().slot_size as u32),
        (PV_BALLOON_SLOT_BASE, layout.high_base() as u32),
        // The slot map's eight words, filled in below.
        (PV_BALLOON_SLOT_MAP, 0),
        (PV_BALLOON_SLOT_MAP, 0),
        (PV_BALLOON_SLOT_MAP, 0),
        (PV_BALLOON_SLOT_MAP, 0),
        (PV_BALLOON_SLOT_MAP, 0),
        (PV_BALLOON_SLOT_MAP, 0),
        (PV_BALLOON_SLOT_MAP, 0),
        (PV_BALLOON_SLOT_MAP, 0),
    ];
    for (i, w) in map.iter().enumerate() {
        f[7 + i] = (PV_BALLOON_SLOT_MAP + 4 * i as u32, *w);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gm::VgpuId;

    fn shrink() -> Resize {
        Resize {
            vgpu: VgpuId::new(0).unwrap(),
            grow: false,
            left: 0,
            right: 1,
            delta: SlotSet::range(3, 4),
            before: SlotSet::range(0, 4),
        }
    }

    #[test]
    fn grant_and_reject_are_acknowledged() {
        let mut c = Channel::new();
        c.request(1, 2, 40).unwrap();
        assert_eq!(c.pending(), Some((2, 40)));
        // A repeated notification is not a second request.
        c.request(1, 2, 40).unwrap();
        assert_eq!(c.status(), Status::Idle);
        c.grant().unwrap();
        assert_eq!((c.status(), c.seq()), (Status::Granted, 1));
        assert_eq!(c.grant(), Err(Error::Stale));
        assert_eq!(c.ack(0), Err(Error::Stale));
        assert_eq!(c.ack(1), Ok(Ack::Done));
        assert_eq!(c.state(), State::Idle);
        c.request(2, 1, 5).unwrap();
        c.reject().unwrap();
        assert_eq!(c.status(), Status::Rejected);
        // A new request without an ack is still taken.
        c.request(3, 1, 9).unwrap();
        assert_eq!(c.pending(), Some((1, 9)));
        assert_eq!(c.request(4, 0, 0), Err(Reject::Unsatisfiable));
        assert_eq!(c.status(), Status::Rejected);
    }

    #[test]
    fn release_waits_for_the_guest() {
        let mut c = Channel::new();
        c.release(shrink()).unwrap();
        assert_eq!(c.status(), Status::Release);
        assert_eq!(c.keep(SlotSet::range(0, 4)), SlotSet::range(0, 3));
        assert_eq!(c.release(shrink()), Err(Error::Busy));
        // A request during the release is parked, then answered.
        c.request(7, 3, 100).unwrap();
        assert_eq!(c.pending(), None);
        assert_eq!(c.ack(c.seq()), Ok(Ack::Release(shrink())));
        assert_eq!(c.pending(), Some((3, 100)));
        assert!(!c.can_release());
        c.reject().unwrap();
        c.release(shrink()).unwrap();
        c.refuse(c.seq()).unwrap();
        assert_eq!(c.state(), State::Idle);
        c.release(shrink()).unwrap();
        assert!(!c.tick(2));
        assert!(c.tick(2));
        assert_eq!(c.state(), State::Idle);
        assert_eq!(c.ack(c.seq()), Err(Error::Stale));
        let grow = Resize {
            grow: true,
            ..shrink()
        };
        assert_eq!(c.release(grow), Err(Error::Busy));
    }
}
