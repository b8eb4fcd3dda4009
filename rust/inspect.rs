// SPDX-License-Identifier: GPL-2.0

//! What `/sys/kernel/debug/rgvt/` shows (see `Documentation/rgvt/debugfs.rst`).

use crate::backend::Ggtt;
use crate::debugfs::{Dir, Seq, Show};
use crate::state::State;
use crate::vgpu::Vgpu;
use core::fmt::{self, Write};
use kernel::prelude::*;

/// `vgpus`: one line per live vGPU.
pub(crate) struct VgpusFile;

impl Show for VgpusFile {
    type Data = State;

    fn show(s: &State, m: &mut Seq) -> fmt::Result {
        let v = s.vgpus.lock();
        writeln!(m, "id uuid type low_gm high_gm_slots")?;
        for g in v.iter() {
            let n = v.gm.vgpu(g.gm_id).map(|x| x.slots.len()).unwrap_or(0);
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
pub(crate) struct SlotsFile;

impl Show for SlotsFile {
    type Data = State;

    fn show(s: &State, m: &mut Seq) -> fmt::Result {
        let v = s.vgpus.lock();
        let layout = v.gm.layout();
        writeln!(
            m,
            "slots {} of {} MB from {:#x}; shared {}; running {}",
            layout.slots(),
            layout.config().slot_size >> 20,
            layout.high_base(),
            v.gm.slots().shared_slots(),
            v.gm.running().map_or(0, |r| r.index() + 1)
        )?;
        writeln!(m, "slot gm_base owner holders")?;
        for slot in 0..layout.slots() {
            let holders = v.gm.slots().occupants(slot);
            write!(m, "{} {:#x} ", slot, layout.slot_addr(slot))?;
            match v.gm.owner(slot) {
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

/// `gpu`: the backend.
pub(crate) struct GpuFile;

impl Show for GpuFile {
    type Data = State;

    fn show(s: &State, m: &mut Seq) -> fmt::Result {
        let g = &s.gpu;
        writeln!(m, "backend sim")?;
        writeln!(m, "ggtt_entries {}", g.entries())?;
        writeln!(m, "aperture_size {:#x}", g.aperture_size())?;
        writeln!(m, "scratch_mfn {:#x}", g.scratch_mfn())?;
        writeln!(m, "ggtt_invalidations {}", g.invalidations())
    }
}

/// `vgpu<N>/counters`: traps, entries, pins and device accesses.
pub(crate) struct CountersFile;

impl Show for CountersFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        let inner = v.inner.lock();
        let mut r = Ok(());
        let mut line = |name: &str, value: u64| {
            if r.is_ok() {
                r = writeln!(m, "{name} {value}");
            }
        };
        inner.counters.for_each(&mut line);
        inner.vregs.stats.for_each(&mut line);
        inner.ggtt.counters().for_each(&mut line);
        r
    }
}

/// `vgpu<N>/ggtt`: every entry the guest wrote, with the pin and the
/// host PTE behind it.
pub(crate) struct GgttFile;

impl Show for GgttFile {
    type Data = Vgpu;

    fn show(v: &Vgpu, m: &mut Seq) -> fmt::Result {
        let state = crate::state::get().map_err(|_| fmt::Error)?;
        let inner = v.inner.lock();
        let parent = state.vgpus.lock();
        writeln!(m, "index gm_addr guest_pte gfn host_pte")?;
        for r in inner.ggtt.ranges() {
            for index in r.start..r.start + r.len {
                let Some((guest, gfn)) = inner.ggtt.entry(index) else {
                    continue;
                };
                if guest == 0 {
                    continue;
                }
                let host = parent.gm.read(v.gm_id, index).unwrap_or(0);
                write!(m, "{index:#x} {:#x} {guest:#018x} ", index << 12)?;
                match gfn {
                    Some(g) => write!(m, "{g:#x}")?,
                    None => m.write_str("-")?,
                }
                writeln!(m, " {host:#018x}")?;
            }
        }
        Ok(())
    }
}

/// Creates `/sys/kernel/debug/rgvt/vgpu<N>/` for `vgpu`.
///
/// # Safety
///
/// `vgpu` must outlive the returned directory.
pub(crate) unsafe fn vgpu_dir(root: &Dir, vgpu: &Vgpu) -> Result<Dir> {
    let name = kernel::str::CString::try_from_fmt(kernel::fmt!("vgpu{}", vgpu.id))?;
    let dir = Dir::new(&name, Some(root));
    // SAFETY: the caller keeps `vgpu` alive as long as `dir`.
    unsafe {
        dir.add::<CountersFile>(kernel::c_str!("counters"), vgpu);
        dir.add::<GgttFile>(kernel::c_str!("ggtt"), vgpu);
    }
    Ok(dir)
}

/// Adds the global files to the root directory.
///
/// # Safety
///
/// `state` must outlive `root`.
pub(crate) unsafe fn add_global(root: &Dir, state: &State) {
    // SAFETY: the caller keeps `state` alive as long as `root`.
    unsafe {
        root.add::<VgpusFile>(kernel::c_str!("vgpus"), state);
        root.add::<SlotsFile>(kernel::c_str!("slots"), state);
        root.add::<GpuFile>(kernel::c_str!("gpu"), state);
    }
}
