//! Runtime ballooning of vGPU graphics memory (gBalloon): algorithm, policy and guest protocol.
//!
//! [`Balloon::step`] runs once per period (`Params::period_ms`, 500 ms by default) with what the
//! backend measured; it answers the guests' requests and may ask one guest to release slots, and
//! returns a [`Decision`] for the debugfs log. Guest notifications go to [`Balloon::request`],
//! [`Balloon::ack`] and [`Balloon::refuse`].

pub mod adjust;
pub mod fixed;
pub mod params;
pub mod policy;
pub mod protocol;

#[cfg(test)]
pub(crate) mod tests;

pub use fixed::Milli;
pub use params::{Params, Tunable};
pub use policy::{Load, Regime, Sample, Source};
pub use protocol::{Ack, Channel, Reject, Status};

use crate::gm::slots::{Resize, SlotSet, MAX_VGPUS};
use crate::gm::{Error, Gm, VgpuId};
use crate::storage::{Alloc, Vector};

/// What an acknowledgement changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acked {
    /// Nothing: a grant or rejection was taken note of. Publish `Idle`.
    Done,
    /// The guest released memory and the reduction was applied: publish the new `avail_rs`.
    Released {
        /// The reduction applied.
        plan: Resize,
        /// Released slots whose physical entries were the vGPU's: point them at scratch.
        scrub: SlotSet,
    },
}

/// A reduction the policy started in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shrink {
    /// The vGPU asked to release slots.
    pub vgpu: VgpuId,
    /// Slots asked for.
    pub slots: u32,
    /// Released from the left end of the run.
    pub left: u32,
    /// Released from the right end of the run.
    pub right: u32,
}

/// What one balloon period decided, for the debugfs log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The period's number, counting from 0.
    pub period: u64,
    /// Where the sample came from.
    pub source: Source,
    /// W, C and Φ.
    pub load: Load,
    /// The regime Φ selected.
    pub regime: Regime,
    /// Requests granted.
    pub granted: u32,
    /// Slots added by those grants.
    pub granted_slots: u32,
    /// Requests rejected.
    pub rejected: u32,
    /// The release started, if any.
    pub shrink: Option<Shrink>,
    /// Releases withdrawn because the guest did not answer in time.
    pub withdrawn: u32,
}

impl core::fmt::Display for Decision {
    /// Prints one debugfs log line, e.g. `period=3 source=measured w=0.2 c=0.01 phi=0.5
    /// regime=trim granted=1/2 rejected=0 shrink=4:1(L1,R0) withdrawn=0`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let source = match self.source {
            Source::Measured => "measured",
            Source::Modeled => "modeled",
        };
        let regime = match self.regime {
            Regime::Off => "off",
            Regime::Grow => "grow",
            Regime::Trim => "trim",
            Regime::Tight => "tight",
        };
        write!(
            f,
            "period={} source={source} w={} c={} phi={} regime={regime} granted={}/{} \
             rejected={} shrink=",
            self.period,
            self.load.w,
            self.load.c,
            self.load.phi,
            self.granted,
            self.granted_slots,
            self.rejected
        )?;
        match self.shrink {
            Some(s) => write!(
                f,
                "{}:{}(L{},R{})",
                s.vgpu.index(),
                s.slots,
                s.left,
                s.right
            )?,
            None => f.write_str("-")?,
        }
        write!(f, " withdrawn={}", self.withdrawn)
    }
}

/// The balloon of one parent device: tunables and one protocol channel per vGPU id.
///
/// # Invariants
///
/// `channels.len() == MAX_VGPUS`.
pub struct Balloon<A: Alloc> {
    params: Params,
    channels: A::Vec<Channel>,
    period: u64,
}

impl<A: Alloc> Balloon<A> {
    /// Returns a balloon with validated `params` and idle channels.
    pub fn new(params: Params) -> Result<Self, Error> {
        params.validate()?;
        let mut channels = A::Vec::<Channel>::new();
        channels.try_resize(MAX_VGPUS as usize, Channel::new())?;
        Ok(Balloon {
            params,
            channels,
            period: 0,
        })
    }

    /// Returns the tunables.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Parses a sysfs write into tunable `t` (see [`Params::store`]).
    pub fn store(&mut self, t: Tunable, bytes: &[u8]) -> Result<(), Error> {
        self.params.store(t, bytes)
    }

    /// Returns vGPU `id`'s protocol channel, for the PV fields it publishes.
    pub fn channel(&self, id: VgpuId) -> &Channel {
        // `channels` has an entry for every id.
        &self.channels[id.index()]
    }

    /// Returns the host-written balloon PV fields of vGPU `id` as `(offset, value)` pairs
    /// (`avail_rs` comes from [`Gm::avail_rs`]).
    pub fn pv_fields<B: Alloc>(
        &self,
        gm: &Gm<B>,
        id: VgpuId,
    ) -> Result<[(u32, u32); protocol::HOST_FIELDS], Error> {
        Ok(protocol::host_fields(
            gm.layout(),
            gm.vgpu(id)?.slots,
            &self.channels[id.index()],
        ))
    }

    /// Resets vGPU `id`'s channel; call on create and destroy.
    pub fn reset(&mut self, id: VgpuId) {
        self.channels[id.index()] = Channel::new();
    }

    /// Takes a guest request for `slots` more slots; one that can never be met is rejected now.
    pub fn request<B: Alloc>(
        &mut self,
        gm: &Gm<B>,
        id: VgpuId,
        req_seq: u32,
        slots: u32,
        evictions: u32,
    ) -> Result<(), Reject> {
        let held = gm.vgpu(id).map_err(Reject::Failed)?.count();
        let c = &mut self.channels[id.index()];
        c.request(req_seq, slots, evictions)?;
        if held.saturating_add(slots) > gm.layout().slots() {
            // Answered, not dropped: the guest sees `Rejected` at once.
            if c.pending().is_some() {
                let _ = c.reject();
            }
            return Err(Reject::Unsatisfiable);
        }
        Ok(())
    }

    /// Takes the guest's acknowledgement of answer `seq`; a release is applied to `gm` here.
    pub fn ack<B: Alloc>(&mut self, gm: &mut Gm<B>, id: VgpuId, seq: u32) -> Result<Acked, Error> {
        let c = &mut self.channels[id.index()];
        match c.ack(seq)? {
            Ack::Done => Ok(Acked::Done),
            Ack::Release(plan) => Ok(Acked::Released {
                plan,
                scrub: gm.resize(&plan)?,
            }),
        }
    }

    /// Takes the guest's refusal to release memory: it keeps all of it.
    pub fn refuse(&mut self, id: VgpuId, seq: u32) -> Result<(), Error> {
        self.channels[id.index()].refuse(seq)
    }

    /// Runs one period: classifies Φ, answers waiting requests (most evictions first), and
    /// starts at most one release. `util(id)` is the share of a vGPU's high GM in use.
    ///
    /// Grants are applied to `gm` here; if the running vGPU grew, call [`Gm::sync_running`]
    /// before publishing the new PV fields.
    pub fn step<B: Alloc>(
        &mut self,
        gm: &mut Gm<B>,
        sample: &Sample,
        util: impl Fn(VgpuId) -> Milli,
    ) -> Decision {
        let p = self.params;
        let load = Load::new(&p, sample);
        let regime = Regime::of(&p, load.phi);
        let mut d = Decision {
            period: self.period,
            source: sample.source,
            load,
            regime,
            granted: 0,
            granted_slots: 0,
            rejected: 0,
            shrink: None,
            withdrawn: 0,
        };
        self.period += 1;
        for c in self.channels.iter_mut() {
            if c.tick(p.shrink_timeout) {
                d.withdrawn += 1;
            }
        }
        let mut answered: u64 = 0;
        // Selection by repeated scans keeps this allocation-free; at most 64 channels.
        while let Some((i, slots)) = self
            .channels
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.pending().map(|(s, e)| (i, s, e)))
            .max_by(|a, b| a.2.cmp(&b.2).then(b.0.cmp(&a.0)))
            .map(|(i, s, _)| (i, s))
        {
            answered |= 1 << i;
            let granted = regime.approves()
                && VgpuId::new(i as u32)
                    .ok_or(Error::NoVgpu)
                    .and_then(|id| adjust::plan_expansion(gm.slots(), id, slots))
                    .and_then(|plan| gm.resize(&plan))
                    .is_ok();
            let c = &mut self.channels[i];
            if granted {
                let _ = c.grant();
                d.granted += 1;
                d.granted_slots += slots;
            } else {
                let _ = c.reject();
                d.rejected += 1;
            }
        }
        let channels = &self.channels;
        let usage = gm.slots().iter().map(|(id, v)| policy::Usage {
            vgpu: id,
            slots: v.count(),
            min: v.min,
            util: util(id),
            eligible: channels[id.index()].can_release() && answered & id.bit() == 0,
        });
        if let Some((id, q)) = policy::choose_shrink(&p, regime, usage) {
            if let Ok(plan) = adjust::plan_reduction(gm.slots(), id, q) {
                if self.channels[id.index()].release(plan).is_ok() {
                    d.shrink = Some(shrink_of(&plan));
                }
            }
        }
        d
    }
}

fn shrink_of(plan: &Resize) -> Shrink {
    Shrink {
        vgpu: plan.vgpu,
        slots: plan.delta.len(),
        left: plan.left,
        right: plan.right,
    }
}
