// SPDX-License-Identifier: GPL-2.0

//! The parent's files in `/sys/kernel/debug/rgvt/` (see
//! `Documentation/rgvt/debugfs.rst`).

use super::Parent;
use crate::debugfs::{Files, Seq, Show};
use core::fmt::{self, Write};
use kernel::prelude::*;
use kernel::sync::Arc;

/// `vgpus`: one line per live vGPU.
struct VgpusFile;

impl Show for VgpusFile {
    type Data = Parent;

    fn show(p: &Parent, m: &mut Seq) -> fmt::Result {
        let registry = p.registry.lock();
        let gm = p.host.gm.lock();
        writeln!(m, "id uuid type low_gm high_gm_slots")?;
        for g in registry.iter() {
            let n = gm.gm.vgpu(g.gm_id).map(|x| x.slots.len()).unwrap_or(0);
            writeln!(
                m,
                "{} {} {} {:#x}+{:#x} {}",
                g.id,
                g.uuid_str(),
                g.type_name(),
                g.low_base,
                g.low_size,
                n
            )?;
        }
        Ok(())
    }
}

/// `slots`: for every high-GM slot, who holds it and whose entries the
/// physical GGTT has there.
struct SlotsFile;

impl Show for SlotsFile {
    type Data = Parent;

    fn show(p: &Parent, m: &mut Seq) -> fmt::Result {
        let s = p.host.gm.lock();
        let layout = s.gm.layout();
        writeln!(
            m,
            "slots {} of {} MB from {:#x}; shared {}; running {}",
            layout.slots(),
            layout.config().slot_size >> 20,
            layout.high_base(),
            s.gm.slots().shared_slots(),
            s.gm.running().map_or(0, |r| r.index() + 1)
        )?;
        writeln!(m, "slot gm_base owner holders")?;
        for slot in 0..layout.slots() {
            let holders = s.gm.slots().occupants(slot);
            write!(m, "{} {:#x} ", slot, layout.slot_addr(slot))?;
            match s.gm.owner(slot) {
                Some(o) => write!(m, "{}", o.index() + 1)?,
                None => m.write_str("-")?,
            }
            m.write_str(" ")?;
            if holders == 0 {
                m.write_str("-")?;
            }
            let mut sep = "";
            for bit in 0..64 {
                if holders & (1 << bit) != 0 {
                    write!(m, "{sep}{}", bit + 1)?;
                    sep = ",";
                }
            }
            m.write_str("\n")?;
        }
        Ok(())
    }
}

/// `gpu`: the backend, and the GTT copies of switches.
struct GpuFile;

impl Show for GpuFile {
    type Data = Parent;

    fn show(p: &Parent, m: &mut Seq) -> fmt::Result {
        p.host.backend.describe(m)?;
        let counters = p.host.gm.lock().switch;
        let mut r = Ok(());
        counters.for_each(|name, value| {
            if r.is_ok() {
                r = writeln!(m, "{name} {value}");
            }
        });
        r?;
        writeln!(m, "ggtt_foreign {}", p.host.foreign())
    }
}

/// `engines`: the physical engines' workers.
struct EnginesFile;

impl Show for EnginesFile {
    type Data = Parent;

    fn show(p: &Parent, m: &mut Seq) -> fmt::Result {
        p.engines.describe(m)
    }
}

/// `shadow_selfcheck`: runs the kernel shadow PPGTT's self-check (a
/// synthetic guest, see `vgpu/shadow/check.rs`) and shows its results.
struct ShadowCheckFile;

impl Show for ShadowCheckFile {
    type Data = Parent;

    fn show(_: &Parent, m: &mut Seq) -> fmt::Result {
        crate::vgpu::shadow::check::run(m)
    }
}

/// The parent's files in its debugfs root, showing `parent`.
pub(crate) fn files(parent: Arc<Parent>) -> Result<Files<Parent>> {
    let mut files = Files::new(parent.debugfs.clone(), parent);
    files.add::<VgpusFile>(kernel::c_str!("vgpus"))?;
    files.add::<SlotsFile>(kernel::c_str!("slots"))?;
    files.add::<GpuFile>(kernel::c_str!("gpu"))?;
    files.add::<EnginesFile>(kernel::c_str!("engines"))?;
    files.add::<ShadowCheckFile>(kernel::c_str!("shadow_selfcheck"))?;
    files.add::<super::balloon::BalloonFile>(kernel::c_str!("balloon"))?;
    Ok(files)
}
