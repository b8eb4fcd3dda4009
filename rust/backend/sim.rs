// SPDX-License-Identifier: GPL-2.0

//! The sim backend: a software GPU whose GGTT is an array in host memory,
//! in the gen8 PTE format, sized by the `sim_gm_mb` and `sim_aperture_mb`
//! parameters (4 GB of GM with a 256 MB aperture by default, as in the
//! gBalloon testbed).

use super::{Backend, Writer};
use crate::cmd::{Exec, Step};
use crate::engine::{EngineId, GpuMemory, RegFile};
use crate::gm::layout::PAGE_SIZE;
use crate::kstorage::KvAlloc;
use crate::page;
use crate::params;
use crate::pte::GgttPte;
use crate::storage::Vector;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::alloc::flags::{__GFP_ZERO, GFP_KERNEL};
use kernel::alloc::KVVec;
use kernel::page::Page;
use kernel::prelude::*;
use kernel::sync::Mutex;

/// The GGTT window of BAR0 holds 1M entries: at most 4 GB of GM.
const GM_MB_MAX: u32 = 4096;
const GM_MB_MIN: u32 = 512;

/// The software GPU.
#[pin_data]
pub(crate) struct Sim {
    #[pin]
    ggtt: Mutex<KVVec<u64>>,
    aperture: u64,
    /// The page every invalid entry points at, owned for the GPU's lifetime.
    _scratch: Page,
    scratch_mfn: u64,
    invalidations: AtomicU64,
    /// Commands the engines ran, per engine.
    commands: [AtomicU64; EngineId::COUNT],
}

/// The simulated GPU's size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Graphics memory in bytes.
    pub(crate) gm_size: u64,
    /// Aperture (low GM) in bytes.
    pub(crate) aperture: u64,
}

impl Config {
    /// Reads and checks the `sim_gm_mb` and `sim_aperture_mb` parameters.
    pub(crate) fn from_params() -> Result<Self> {
        let (gm_mb, ap_mb) = (params::sim_gm_mb(), params::sim_aperture_mb());
        if !(GM_MB_MIN..=GM_MB_MAX).contains(&gm_mb)
            || !ap_mb.is_power_of_two()
            || ap_mb < 128
            || ap_mb >= gm_mb
        {
            pr_err!(
                "sim: sim_gm_mb must be {}..{} and sim_aperture_mb a power of two from 128 below it\n",
                GM_MB_MIN,
                GM_MB_MAX
            );
            return Err(EINVAL);
        }
        Ok(Self {
            gm_size: u64::from(gm_mb) << 20,
            aperture: u64::from(ap_mb) << 20,
        })
    }
}

impl Sim {
    /// Builds the GPU; every entry starts on scratch.
    pub(crate) fn new(config: Config) -> Result<impl PinInit<Self, Error>> {
        let scratch = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
        let scratch_mfn = page::pfn(&scratch);
        let entries = config.gm_size / PAGE_SIZE;
        let aperture = config.aperture;
        let mut ggtt = KVVec::new();
        Vector::try_resize(&mut ggtt, entries as usize, GgttPte::new(scratch_mfn).raw())
            .map_err(|_| ENOMEM)?;
        Ok(try_pin_init!(Self {
            ggtt <- kernel::new_mutex!(ggtt),
            aperture,
            _scratch: scratch,
            scratch_mfn,
            invalidations: AtomicU64::new(0),
            commands: Default::default(),
        }? Error))
    }
}

impl Backend for Sim {
    fn entries(&self) -> u64 {
        self.ggtt.lock().len() as u64
    }

    fn aperture_size(&self) -> u64 {
        self.aperture
    }

    fn scratch_mfn(&self) -> u64 {
        self.scratch_mfn
    }

    fn write_batch(&self, batch: &mut dyn FnMut(Writer<'_>)) {
        let mut g = self.ggtt.lock();
        batch(&mut |index, pte| {
            if let Some(e) = usize::try_from(index).ok().and_then(|i| g.get_mut(i)) {
                *e = pte;
            }
        });
    }

    fn read_entry(&self, index: u64) -> Option<u64> {
        let g = self.ggtt.lock();
        usize::try_from(index).ok().and_then(|i| g.get(i)).copied()
    }

    fn invalidate(&self) {
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// The sim has no TLB; the invalidation count is what a real GPU would
    /// have been asked to do.
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(out, "backend sim")?;
        writeln!(out, "ggtt_entries {}", self.entries())?;
        writeln!(out, "aperture_size {:#x}", self.aperture_size())?;
        writeln!(out, "scratch_mfn {:#x}", self.scratch_mfn)?;
        writeln!(
            out,
            "ggtt_invalidations {}",
            self.invalidations.load(Ordering::Relaxed)
        )?;
        for e in EngineId::ALL {
            let n = self.commands[e.index()].load(Ordering::Relaxed);
            writeln!(out, "{}_commands {n}", e.name())?;
        }
        Ok(())
    }

    /// The sim's engines are the command parser's executor: the audited
    /// copy runs against the vGPU's memory and registers.
    fn run(
        &self,
        engine: EngineId,
        exec: &mut Exec<KvAlloc>,
        mut mem: &mut dyn GpuMemory,
        mut regs: &mut dyn RegFile,
        budget: usize,
    ) -> Result<Step> {
        let before = exec.position();
        let step = exec.run(&mut mem, &mut regs, budget);
        let ran = exec.position().saturating_sub(before) as u64;
        self.commands[engine.index()].fetch_add(ran, Ordering::Relaxed);
        Ok(step)
    }
}
