// SPDX-License-Identifier: GPL-2.0

//! The tunables under `/sys/kernel/rgvt/`: the vGPU limit (under the
//! registry lock), the shadow and balloon parameters (under the GM lock).

use super::{Parent, MAX_VGPUS_LIMIT};
use crate::balloon::params::Tunable as BalloonTunable;
use crate::sched_policy::Tunable as SchedTunable;
use crate::shadow;
use core::fmt::Write;
use kernel::prelude::*;

/// One tunable file.
#[derive(Clone, Copy)]
pub(crate) enum Tunable {
    /// `max_vgpus`: how many vGPUs may live at once.
    MaxVgpus,
    /// A shadow page-table parameter (policy, relax threshold, ...).
    Shadow(shadow::Param),
    /// A ballooning parameter (period, T1, T2, on/off, ...).
    Balloon(BalloonTunable),
    /// A scheduler parameter (time slice, balance period, ...).
    Sched(SchedTunable),
}

const NR_SHADOW: usize = shadow::Param::ALL.len();
const NR_BALLOON: usize = BalloonTunable::ALL.len();
const NR_SCHED: usize = SchedTunable::ALL.len();
/// How many tunables there are.
pub(crate) const NR_TUNABLES: usize = 1 + NR_SHADOW + NR_BALLOON + NR_SCHED;

/// Every tunable, in the order of the files.
pub(crate) const TUNABLES: [Tunable; NR_TUNABLES] = {
    let mut t = [Tunable::MaxVgpus; NR_TUNABLES];
    let mut i = 0;
    while i < NR_SHADOW {
        t[1 + i] = Tunable::Shadow(shadow::Param::ALL[i]);
        i += 1;
    }
    i = 0;
    while i < NR_BALLOON {
        t[1 + NR_SHADOW + i] = Tunable::Balloon(BalloonTunable::ALL[i]);
        i += 1;
    }
    i = 0;
    while i < NR_SCHED {
        t[1 + NR_SHADOW + NR_BALLOON + i] = Tunable::Sched(SchedTunable::ALL[i]);
        i += 1;
    }
    t
};

impl Tunable {
    /// The file's name.
    pub(crate) const fn name(self) -> &'static core::ffi::CStr {
        match self {
            Tunable::MaxVgpus => c"max_vgpus",
            Tunable::Shadow(p) => p.name(),
            Tunable::Balloon(t) => t.name(),
            Tunable::Sched(t) => t.name(),
        }
    }

    /// Prints the value, with a newline.
    pub(crate) fn show(self, parent: &Parent, b: &mut impl Write) -> core::fmt::Result {
        match self {
            Tunable::MaxVgpus => write!(b, "{}", parent.registry.lock().max()),
            Tunable::Shadow(p) => parent.host.gm.lock().shadow.show(p, b),
            Tunable::Balloon(t) => parent.host.gm.lock().balloon.params().show(t, b),
            Tunable::Sched(t) => parent.engines.params().show(t, b),
        }?;
        b.write_str("\n")
    }

    /// Validates and applies a write; on error the old value stays.
    pub(crate) fn store(self, parent: &Parent, input: &[u8]) -> Result {
        match self {
            Tunable::MaxVgpus => {
                let max = crate::parse::parse_u64_in(input, 1, MAX_VGPUS_LIMIT as u64)
                    .map_err(|_| EINVAL)?;
                parent.registry.lock().set_max(max as usize)
            }
            // The default of new vGPUs and the policy of every running
            // one that has none of its own (sysfs `shadow_policy`), at
            // once: each runs it when a tracker traps its page-table
            // writes, `full` until then (`vgpu::track`). A page made strict
            // again is rebuilt from guest memory through pins, so the
            // shadows' locks are taken with neither the GM nor the registry
            // lock held (the vGPUs are collected first).
            Tunable::Shadow(shadow::Param::Policy) => {
                let policy = shadow::Policy::parse(input).map_err(|_| EINVAL)?;
                let _switch = parent.policy_switch.lock();
                parent.host.gm.lock().shadow.policy = policy;
                let mut vgpus = KVec::new();
                for v in parent.registry.lock().iter() {
                    vgpus.push(v.clone(), GFP_KERNEL)?;
                }
                for v in vgpus.iter() {
                    v.shadow.lock().set_default_policy(policy);
                }
                Ok(())
            }
            // New vGPUs start with these; running ones keep theirs.
            Tunable::Shadow(p) => parent
                .host
                .gm
                .lock()
                .shadow
                .set(p, input)
                .map_err(|_| EINVAL),
            Tunable::Balloon(t) => parent
                .host
                .gm
                .lock()
                .balloon
                .store(t, input)
                .map_err(|_| EINVAL),
            // Read, changed and written back: `policy_switch` keeps two
            // writers from each writing back the other's old value.
            Tunable::Sched(t) => {
                let _switch = parent.policy_switch.lock();
                let new = parent.engines.params().with(t, input).map_err(|_| EINVAL)?;
                parent.engines.set_params(new)
            }
        }
    }
}
