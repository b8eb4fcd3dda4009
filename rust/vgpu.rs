// SPDX-License-Identifier: GPL-2.0

//! A vGPU: its identity, its share of GM and its emulated device.
//!
//! The emulation is safe code: guest memory is reached through the VFIO
//! device a callback was given ([`vfio::Device`]), the physical GGTT through
//! [`HostGgtt`]. Regions (configuration space, BAR0, BAR2) are in
//! [`regions`], the GGTT's life cycle (open, close, reset, DMA unmap) in
//! [`gtt`].
//!
//! Lock order: the vGPU's interrupt set-up lock ([`Vgpu::irq_setup`]),
//! then its engine lock ([`Vgpu::engine`]), then its shadow PPGTT's lock
//! ([`Vgpu::shadow`], taken by the engine worker, close and reset, never by
//! `dma_unmap`), then its lock
//! ([`Vgpu::state`]), then the GM lock. The INTx unmask
//! virqfd's callback takes the vGPU's lock, so the virqfd is only disabled
//! with the set-up lock held, never the vGPU's.

pub(crate) mod balloon;
pub(crate) mod engine;
pub(crate) mod engine_state;
pub(crate) mod gtt;
pub(crate) mod inspect;
pub(crate) mod irq;
pub(crate) mod mem;
pub(crate) mod regions;
pub(crate) mod shadow;
pub(crate) mod track;

use crate::cfg_space::{Bar, BarKind, ConfigSpace, Identity};
use crate::engines::Engines;
use crate::eventfd::{EventFd, Virqfd};
use crate::ggtt::{gm_errno, GmState, HostGgtt, GTT_PAGE_SIZE};
use crate::gm::slots::VgpuId;
use crate::irq::{Irqs, NUM_IRQS};
use crate::kstorage::KvAlloc;
use crate::mmio::{Vregs, BAR0_SIZE};
use crate::vggtt::VGgtt;
use crate::vgpu_type::VgpuType;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{Arc, CondVar, Mutex};

/// The length of a UUID in its canonical text form.
pub(crate) const UUID_LEN: usize = 36;

/// Device-level counters (the register file and the GGTT keep their own).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    /// BAR0 accesses refused: bad size, alignment or offset.
    pub(crate) bar0_bad: u64,
    /// Pieces of BAR2 reads and writes that reached a guest page (a VMM
    /// access is cut at every page boundary and every 256 bytes).
    pub(crate) bar2_accesses: u64,
    /// Pieces of BAR2 accesses through an entry on the scratch page (reads
    /// give zeroes, writes are dropped).
    pub(crate) bar2_scratch: u64,
    /// BAR2 accesses outside the vGPU's low GM, refused.
    pub(crate) bar2_out_of_range: u64,
    /// `dma_unmap` notifications from the VMM.
    pub(crate) dma_unmaps: u64,
    /// Device resets (`VFIO_DEVICE_RESET`, open, close).
    pub(crate) resets: u64,
}

impl Counters {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("bar0_bad", self.bar0_bad);
        f("bar2_accesses", self.bar2_accesses);
        f("bar2_scratch", self.bar2_scratch);
        f("bar2_out_of_range", self.bar2_out_of_range);
        f("dma_unmaps", self.dma_unmaps);
        f("resets", self.resets);
    }
}

const N: usize = NUM_IRQS as usize;

/// The eventfd of each interrupt index (vector 0: no index has more).
#[derive(Default)]
pub(crate) struct Triggers(pub(crate) [Option<EventFd>; N]);

impl Triggers {
    /// How many eventfds are held now.
    pub(crate) fn held(&self) -> usize {
        self.0.iter().filter(|t| t.is_some()).count()
    }
}

/// Interrupt counters kept outside the core's model.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IrqCounters {
    /// Eventfds signalled, per index (INTx, MSI, MSI-X, ERR, REQ).
    pub(crate) signals: [u64; N],
    /// `SET_IRQS` requests refused because a descriptor was not an eventfd.
    pub(crate) bad_fd: u64,
    /// Signals of the INTx unmask eventfd (KVM's resampler).
    pub(crate) unmask_fd_signals: u64,
    /// Release requests from VFIO (the vGPU is being removed while open).
    pub(crate) requests: u64,
}

impl IrqCounters {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        const NAMES: [&str; N] = [
            "intx_eventfd_signals",
            "msi_eventfd_signals",
            "msix_eventfd_signals",
            "err_eventfd_signals",
            "req_eventfd_signals",
        ];
        for (name, n) in NAMES.iter().zip(self.signals) {
            f(name, n);
        }
        f("set_irqs_bad_fd", self.bad_fd);
        f("unmask_fd_signals", self.unmask_fd_signals);
        f("release_requests", self.requests);
    }
}

/// The emulated device: what the vGPU's lock protects.
pub(crate) struct Emulated {
    /// The PCI configuration space the VMM sees.
    pub(crate) cfg: ConfigSpace,
    /// BAR0's MMIO registers, with the PV info page.
    pub(crate) vregs: Vregs<KvAlloc>,
    /// The guest's view of its GGTT entries and the pins behind them.
    pub(crate) ggtt: VGgtt<KvAlloc>,
    /// Whether a VMM has the device open (pins are only held while it has).
    pub(crate) open: bool,
    /// Batches of frames that left the entries under this lock and are
    /// being unpinned with it released (see [`gtt`]).
    pub(crate) unpinning: u32,
    /// The VFIO interrupts' state (the core's model).
    pub(crate) irqs: Irqs,
    /// The eventfds the VMM gave for each interrupt index.
    pub(crate) triggers: Triggers,
    /// Interrupt counters the core's model does not keep.
    pub(crate) irq_counters: IrqCounters,
    /// Counters.
    pub(crate) counters: Counters,
    /// The engines' ELSP latches and queued submissions (boxed: not on
    /// the probe's stack).
    pub(crate) elsp: KBox<engine_state::Elsp>,
    /// The threads behind the open device, for the balloon's W (set by
    /// open, dropped by close).
    pub(crate) acct: Option<crate::acct::Source>,
}

/// One virtual GPU.
#[pin_data]
pub(crate) struct Vgpu {
    /// Small id, unique among live vGPUs, from 1 (GVT-g's `vgpu_id`).
    pub(crate) id: u32,
    /// The vGPU in the slot map.
    pub(crate) gm_id: VgpuId,
    /// The mdev UUID, as the mdev core named the device.
    pub(crate) uuid: [u8; UUID_LEN],
    /// What the vGPU was created as.
    pub(crate) ty: &'static VgpuType,
    /// Its low GM (aperture) range in bytes: fixed for its lifetime.
    pub(crate) low_base: u64,
    /// Size of the low GM range in bytes.
    pub(crate) low_size: u64,
    /// The physical GGTT, shared with the other vGPUs.
    pub(crate) host: Arc<HostGgtt>,
    /// Serialises interrupt set-up (`SET_IRQS`, close): the only place the
    /// INTx unmask virqfd is enabled or disabled.
    #[pin]
    pub(crate) irq_setup: Mutex<()>,
    /// The emulated device, with the INTx unmask virqfd whose callback
    /// takes its lock.
    #[pin]
    pub(crate) state: Virqfd<Mutex<Emulated>>,
    /// Wakes, with [`Vgpu::state`], a DMA unmap waiting for pins out of
    /// the lock to be dropped, and pins waiting for an unmap of their frame
    /// to end (see [`gtt`]).
    #[pin]
    pub(crate) pin_wait: CondVar,
    /// The engine lock: the execlists and running workloads (see
    /// [`engine`]). Taken before the vGPU's lock, never by `dma_unmap`.
    #[pin]
    pub(crate) engine: Mutex<engine_state::EngineState>,
    /// The physical engines, kicked after an ELSP submission.
    pub(crate) engines: Arc<Engines>,
    /// The shadow PPGTT (see [`shadow`]): taken before [`Vgpu::state`],
    /// never by `dma_unmap`, so guest pages may be pinned under it. Shared
    /// with KVM's page-track notifier while the device is open ([`track`]).
    pub(crate) shadow: Arc<Mutex<shadow::Shadow>>,
    /// Scheduling weight: the type's, or the override
    /// ([`Vgpu::set_weight`]); the engines' scheduler holds the same.
    weight: AtomicU32,
}

/// The largest weight a vGPU may be given (GVT-g's `VGPU_MAX_WEIGHT`).
pub(crate) const MAX_WEIGHT: u32 = 16;

/// The graphics memory size GGMS states for a GPU with `gm_size` bytes:
/// the smallest of 1, 2 or 4 GB that covers it (the entries past the GPU's
/// own read as 0 and ignore writes, like any entry outside the vGPU's
/// ranges).
pub(crate) fn guest_gm_size(gm_size: u64) -> u64 {
    gm_size.clamp(1 << 30, 4 << 30).next_power_of_two()
}

/// The configuration space of a freshly reset vGPU with an aperture of
/// `aperture` bytes on a GPU with `gm_size` bytes of graphics memory.
pub(crate) fn reset_cfg_space(aperture: u64, gm_size: u64) -> Result<ConfigSpace> {
    let bars = [
        Bar {
            index: 0,
            kind: BarKind::Mem64 {
                prefetchable: false,
            },
            size: BAR0_SIZE,
        },
        Bar {
            index: 2,
            kind: BarKind::Mem64 { prefetchable: true },
            size: aperture,
        },
    ];
    ConfigSpace::new_igd(&Identity::INTEL_SKL_GT2, &bars, guest_gm_size(gm_size))
        .map_err(|_| EINVAL)
}

impl Vgpu {
    /// Creates vGPU `gm_id` (already placed in `gm`, whose lock the caller
    /// holds) named by `uuid`, on `host`.
    pub(crate) fn new(
        host: Arc<HostGgtt>,
        gm: &GmState,
        gm_id: VgpuId,
        uuid: &CStr,
        ty: &'static VgpuType,
        engines: Arc<Engines>,
    ) -> Result<impl PinInit<Self, Error>> {
        let name = uuid.as_bytes();
        let mut text = [0u8; UUID_LEN];
        if name.len() != UUID_LEN {
            return Err(EINVAL);
        }
        text.copy_from_slice(name);
        let v = gm.gm.vgpu(gm_id).map_err(gm_errno)?;
        let (low_base, low_size) = (v.low_base, v.low_size);
        // The engines' parts are on the heap; made first, so that little
        // fallible comes between the register file and its move into the
        // initializer (each would keep a copy of it on the stack).
        let engine = engine_state::EngineState::new()?;
        let elsp = engine_state::Elsp::new()?;
        let shadow = Arc::pin_init(
            kernel::new_mutex!(shadow::Shadow::new(gm.shadow)),
            GFP_KERNEL,
        )?;
        let mut vregs = Vregs::new(&gm.published(gm_id, ty)?)?;
        // The balloon's PV fields are there from the start, not from the
        // worker's first period.
        vregs.publish_pv(&gm.balloon_pv(gm_id)?);
        let state = Emulated {
            cfg: reset_cfg_space(
                host.backend.aperture_size(),
                host.backend.entries() * GTT_PAGE_SIZE,
            )?,
            vregs,
            ggtt: VGgtt::new(host.backend.scratch_mfn()),
            open: false,
            unpinning: 0,
            irqs: Irqs::new(),
            triggers: Triggers::default(),
            irq_counters: IrqCounters::default(),
            counters: Counters::default(),
            elsp,
            acct: None,
        };
        Ok(try_pin_init!(Self {
            id: gm_id.index() as u32 + 1,
            gm_id,
            uuid: text,
            ty,
            low_base,
            low_size,
            host,
            irq_setup <- kernel::new_mutex!(()),
            state <- Virqfd::new(kernel::new_mutex!(state)),
            pin_wait <- kernel::new_condvar!(),
            engine <- kernel::new_mutex!(engine),
            engines,
            shadow,
            weight: AtomicU32::new(ty.weight),
        }? Error))
    }

    /// The scheduling weight.
    pub(crate) fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    /// Overrides the scheduling weight (1..=[`MAX_WEIGHT`], as GVT-g);
    /// shares follow from the next balance period. The per-vGPU sysfs
    /// file calls this.
    pub(crate) fn set_weight(&self, weight: u32) -> Result {
        if !(1..=MAX_WEIGHT).contains(&weight) {
            return Err(EINVAL);
        }
        self.engines.set_weight(self.id, weight)?;
        self.weight.store(weight, Ordering::Relaxed);
        Ok(())
    }

    /// The UUID as text.
    pub(crate) fn uuid_str(&self) -> &str {
        core::str::from_utf8(&self.uuid).unwrap_or("?")
    }

    /// The type's name as text.
    pub(crate) fn type_name(&self) -> &str {
        self.ty.name.to_str().unwrap_or("?")
    }
}

impl fmt::Display for Vgpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vgpu{} ({} {})",
            self.id,
            self.type_name(),
            self.uuid_str()
        )
    }
}
