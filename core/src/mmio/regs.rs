//! The registers rgvt models, named and laid out as in i915's headers.
//!
//! Offsets and fields come from `i915_reg.h`, `gt/intel_gt_regs.h` and
//! `gt/intel_engine_regs.h` of Linux 6.12; [`kind`] says how each one
//! behaves, and is the only place an offset is mapped to a behaviour.

/// A bit field of a 32-bit register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    shift: u32,
    width: u32,
}

impl Field {
    /// Bits `hi` down to `lo`, inclusive.
    pub const fn bits(hi: u32, lo: u32) -> Self {
        Self {
            shift: lo,
            width: hi - lo + 1,
        }
    }

    /// The field's bits in place.
    pub const fn mask(self) -> u32 {
        (u32::MAX >> (32 - self.width)) << self.shift
    }

    /// The field's value in `reg`.
    pub const fn get(self, reg: u32) -> u32 {
        (reg & self.mask()) >> self.shift
    }

    /// `value` placed in the field (excess bits dropped).
    pub const fn put(self, value: u32) -> u32 {
        (value << self.shift) & self.mask()
    }
}

/// Declares a register: a module with its `OFFSET` and named fields.
macro_rules! register {
    ($(#[$m:meta])* $name:ident @ $off:expr $(, $(#[$fm:meta])* $field:ident : $hi:literal : $lo:literal)* $(,)?) => {
        $(#[$m])*
        // Named as in i915 so that a grep finds both.
        #[allow(non_snake_case)]
        pub mod $name {
            #[allow(unused_imports)]
            use super::Field;
            /// Offset in BAR0 (relative to the engine base for `RING_*`).
            pub const OFFSET: u32 = $off;
            $($(#[$fm])* pub const $field: Field = Field::bits($hi, $lo);)*
        }
    };
}

// Interrupts (gen8+): one master register and banks of ISR/IMR/IIR/IER.
register!(
    /// Master interrupt control: enable bit and which banks are pending.
    GEN8_MASTER_IRQ @ 0x44200,
    /// The guest's master enable; the only writable bit.
    CONTROL: 31:31,
);
register!(
    /// First GT interrupt bank; bank `n` is `0x10 * n` further.
    GEN8_GT_ISR @ 0x44300,
);
register!(
    /// Display pipe A interrupt bank; pipe `n` is `0x10 * n` further.
    GEN8_DE_PIPE_ISR @ 0x44400,
);
register!(
    /// Display port interrupt bank.
    GEN8_DE_PORT_ISR @ 0x44440,
);
register!(
    /// Display miscellaneous interrupt bank.
    GEN8_DE_MISC_ISR @ 0x44460,
);
register!(
    /// Power control unit interrupt bank.
    GEN8_PCU_ISR @ 0x444e0,
);
register!(
    /// South display engine (PCH) interrupt bank.
    SDEISR @ 0xc4000,
);

// Fuses and capabilities: read-only, Skylake GT2 values.
register!(
    /// Slice and subslice fuses (`gen9_sseu_info_init`).
    GEN8_FUSE2 @ 0x9120,
    /// Enabled slices.
    S_ENA: 27:25,
    /// Disabled subslices (of four on gen9).
    SS_DIS: 23:20,
);
register!(
    /// EU disable fuses of slice 0 (slice `s` is `4 * s` further): one
    /// byte per subslice.
    GEN9_EU_DISABLE @ 0x9134,
);
register!(
    /// RPS frequency limits, in 50 MHz units on gen9 (`gen6_rps_init`).
    GEN6_RP_STATE_CAP @ 0x145998,
    /// Lowest frequency.
    RPN: 23:16,
    /// Most efficient frequency.
    RP1: 15:8,
    /// Highest frequency.
    RP0: 7:0,
);
register!(
    /// Display fuse distribution status (`gen9_wait_for_power_well_fuses`).
    SKL_FUSE_STATUS @ 0x42000,
    /// Fuses downloaded.
    DOWNLOAD_STATUS: 31:31,
    /// Power gates 0, 1, 2 distributed (`SKL_FUSE_PG_DIST_STATUS`).
    PG_DIST_STATUS: 27:25,
);

register!(
    /// Display fuse straps (`intel_device_info_runtime_init`): a vGPU has
    /// no display, so every pipe reads as fused off and i915 leaves the
    /// display engine (power wells, CDCLK, DDI, panel) alone.
    SKL_DFSM @ 0x51000,
    /// Pipe A fused off.
    PIPE_A_DISABLE: 30:30,
    /// Pipe C fused off.
    PIPE_C_DISABLE: 28:28,
    /// Pipe B fused off.
    PIPE_B_DISABLE: 21:21,
);
register!(
    /// GuC status (`intel_uc_init_early`, `guc_wait_ucode`): rgvt offers
    /// no GuC, so its microcontroller reads as held in reset.
    GUC_STATUS @ 0xc000,
    /// The GuC's MIA core is in reset.
    MIA_IN_RESET: 0:0,
);

// Forcewake: i915 does not use it on a vGPU but checks the register.
register!(
    /// Forcewake request, GT/blitter domain (masked); its upper half
    /// reading back as anything but zero means MMIO is broken
    /// (`sanity_check_mmio_access`).
    FORCEWAKE_MT @ 0xa188,
);
register!(
    /// Forcewake request, render domain (masked).
    FORCEWAKE_RENDER_GEN9 @ 0xa278,
);
register!(
    /// Forcewake request, media domain (masked).
    FORCEWAKE_MEDIA_GEN9 @ 0xa270,
);
register!(
    /// Forcewake acknowledge, render domain.
    FORCEWAKE_ACK_RENDER_GEN9 @ 0xd84,
);
register!(
    /// Forcewake acknowledge, media domain.
    FORCEWAKE_ACK_MEDIA_GEN9 @ 0xd88,
);
register!(
    /// Forcewake acknowledge, GT domain.
    FORCEWAKE_ACK_GT_GEN9 @ 0x130044,
);

// Reset.
register!(
    /// Graphics domain reset request; bits clear when the reset is done.
    GEN6_GDRST @ 0x941c,
    /// Full GPU reset.
    GRDOM_FULL: 0:0,
    /// Render engine reset.
    GRDOM_RENDER: 1:1,
    /// Video (media) engine reset.
    GRDOM_MEDIA: 2:2,
    /// Blitter engine reset.
    GRDOM_BLT: 3:3,
    /// Video enhancement engine reset.
    GRDOM_VECS: 4:4,
);
register!(
    /// MCR steering selector (stored; there is one slice to steer to).
    GEN8_MCR_SELECTOR @ 0xfdc,
);

// Per-engine registers, at the engine's MMIO base plus `OFFSET`.
register!(
    /// Engine mode (masked): stop the ring, see it idle.
    RING_MI_MODE @ 0x9c,
    /// The command streamer is idle (read-only).
    MODE_IDLE: 9:9,
    /// Request to stop the ring.
    STOP_RING: 8:8,
);
register!(
    /// Engine reset handshake (masked).
    RING_RESET_CTL @ 0xd0,
    /// Software asks to reset the engine.
    REQUEST_RESET: 0:0,
    /// The engine is ready to be reset.
    READY_TO_RESET: 1:1,
);
register!(
    /// Instruction parser mode (masked).
    RING_INSTPM @ 0xc0,
);
register!(
    /// GFX_MODE / RING_MODE_GEN7 (masked): execlists, PPGTT.
    RING_MODE_GEN7 @ 0x29c,
);
register!(
    /// Hardware status page address (stored).
    RING_HWS_PGA @ 0x80,
);
// The execlist registers (`RING_ELSP`, `RING_EXECLIST_STATUS_LO/HI`,
// `RING_CONTEXT_STATUS_BUF`, `RING_CONTEXT_STATUS_PTR`, `RING_MODE_GEN7`)
// are the execlist core's: `crate::execlist::regs` names them and says what
// a guest write does; `engine_kind` maps them here.
register!(
    /// Status page write mask (stored).
    RING_HWSTAM @ 0x98,
);
register!(
    /// Engine interrupt mask (stored).
    RING_IMR @ 0xa8,
);

// Pcode mailbox.
register!(
    /// Pcode mailbox: command and `READY` handshake, error code on return.
    GEN6_PCODE_MAILBOX @ 0x138124,
    /// Set by software to start a command; cleared when it completes.
    READY: 31:31,
    /// Command (on write) and error code (on completion; 0 is success).
    ERROR: 7:0,
);
register!(
    /// Pcode mailbox data.
    GEN6_PCODE_DATA @ 0x138128,
);
register!(
    /// Pcode mailbox second data word.
    GEN6_PCODE_DATA1 @ 0x13812c,
);

/// Pcode commands the mailbox answers with data (`intel_pcode.h` names).
pub mod pcode {
    /// `GEN6_PCODE_READ_RC6VIDS`.
    pub const READ_RC6VIDS: u32 = 0x5;
    /// `GEN9_PCODE_READ_MEM_LATENCY`.
    pub const READ_MEM_LATENCY: u32 = 0x6;
    /// `SKL_PCODE_CDCLK_CONTROL`.
    pub const SKL_CDCLK_CONTROL: u32 = 0x7;
    /// `SKL_CDCLK_READY_FOR_CHANGE`.
    pub const SKL_CDCLK_READY_FOR_CHANGE: u32 = 0x1;
}

// Fences.
register!(
    /// Fence 0, low dword; fence `i` is `8 * i` further (`FENCE_REG_GEN6_LO`).
    FENCE_REG_GEN6 @ 0x100000,
);
/// Number of fence registers on gen9.
pub const NUM_FENCES: u32 = 32;

// Display power handshakes: a request bit and the state bit below it.
register!(
    /// Power well control (BIOS); wells `i` request bit `2i+1`, state `2i`.
    HSW_PWR_WELL_CTL1 @ 0x45400,
);
register!(
    /// Power well control (driver); as [`HSW_PWR_WELL_CTL1`].
    HSW_PWR_WELL_CTL2 @ 0x45404,
);
register!(
    /// Power well control (KVMR); as [`HSW_PWR_WELL_CTL1`].
    HSW_PWR_WELL_CTL3 @ 0x45408,
);
register!(
    /// Power well control (debug); as [`HSW_PWR_WELL_CTL1`].
    HSW_PWR_WELL_CTL4 @ 0x4540c,
);
register!(
    /// Display buffer slice 1 power.
    DBUF_CTL_S1 @ 0x44fe8,
    /// Power request.
    POWER_REQUEST: 31:31,
    /// Power state.
    POWER_STATE: 30:30,
);
register!(
    /// Display PLL 0 (LCPLL1) control.
    LCPLL1_CTL @ 0x46010,
    /// Enable.
    PLL_ENABLE: 31:31,
    /// Locked.
    PLL_LOCK: 30:30,
);

register!(
    /// Display PLL lock status: DPLL `i` locked at bit `8 * i`, computed
    /// from the PLLs' enable bits (GVT-g's `dpll_status_read`).
    DPLL_STATUS @ 0x6c060,
);

/// The enable registers of DPLL 0..=3 (LCPLL1, LCPLL2, WRPLL1, WRPLL2);
/// bit 31 enables.
pub const DPLL_ENABLES: [u32; 4] = [LCPLL1_CTL::OFFSET, 0x46014, 0x46040, 0x46060];

register!(
    /// Render TLB invalidation control (`GEN8_RTCR`); the video, second
    /// video, blitter and video enhancement ones follow every 4 bytes
    /// (`GEN8_M1TCR`, `GEN8_M2TCR`, `GEN8_BTCR`, `GEN8_VTCR`). The request
    /// bit reads back clear once the TLB is invalidated.
    GEN8_RTCR @ 0x4260,
);
/// Number of TLB invalidation control registers from [`GEN8_RTCR`].
pub const NUM_TLB_CR: u32 = 5;

/// The engines' MOCS tables (`GEN9_GFX_MOCS` at 0xc800 to `GEN9_BLT_MOCS`
/// at 0xcc00, 64 entries each): plain storage the guest programs at init,
/// as GVT-g's `MMIO_F(GEN9_GFX_MOCS(0), 0x7f8, ...)`.
pub const MOCS: core::ops::Range<u32> = 0xc800..0xc800 + 0x7f8;
/// The L3 cache control entries (`GEN9_LNCFCMOCS`, 32 registers): plain
/// storage, as GVT-g's `MMIO_F(GEN7_L3CNTLREG2, 0x80, ...)`.
pub const LNCFCMOCS: core::ops::Range<u32> = 0xb020..0xb020 + 0x80;

/// Masked registers that are not per engine (GVT-g's `F_MODE_MASK` list
/// in `gvt/handlers.c` for gen9).
pub const MASKED: &[u32] = &[
    0x2088,
    0x2090, // _3D_CHICKEN3
    0x20dc,
    0x20e0, // GEN7_FF_SLICE_CS_CHICKEN1
    0x20e4, // FF_SLICE_CS_CHICKEN2
    0x20ec, // GEN9_CS_DEBUG_MODE1
    0x2120, // CACHE_MODE_0
    0x2124,
    0x2470,
    0x2580,
    0x4030, // ARB_MODE
    0x5588, // GEN9_WM_CHICKEN3
    0x7000, // CACHE_MODE_0_GEN7
    0x7004, // CACHE_MODE_1
    0x7008, // GEN7_GT_MODE
    0x7010, // GEN7_COMMON_SLICE_CHICKEN1
    0x7014, // COMMON_SLICE_CHICKEN2
    0x7018,
    0x7300, // HDC_CHICKEN0
    0x7304, // GEN8_HDC_CHICKEN1
    0xe100, // GEN7_HALF_SLICE_CHICKEN1
    0xe180, // HALF_SLICE_CHICKEN2
    0xe184, // HSW_HALF_SLICE_CHICKEN3
    0xe188,
    0xe194,
    0xe4f0, // GEN8_ROW_CHICKEN
    0xe4f4, // GEN7_ROW_CHICKEN2
    FORCEWAKE_MT::OFFSET,
    FORCEWAKE_RENDER_GEN9::OFFSET,
    FORCEWAKE_MEDIA_GEN9::OFFSET,
];

/// The engines of a Skylake GT2 and their MMIO bases.
pub const ENGINES: [(&str, u32); 4] = [
    ("rcs0", 0x2000),
    ("vcs0", 0x12000),
    ("vecs0", 0x1a000),
    ("bcs0", 0x22000),
];

/// An interrupt bank: four registers at `base`, `+4`, `+8`, `+0xc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bank {
    /// GT bank 0..=3 (0: render/blitter, 1: video, 2: PM/GuC, 3: video
    /// enhancement).
    Gt(u8),
    /// Display pipe 0..=2.
    DePipe(u8),
    /// Display ports.
    DePort,
    /// Display miscellaneous.
    DeMisc,
    /// Power control unit.
    Pcu,
    /// South display engine.
    Pch,
}

/// Every bank, in the order [`Bank::index`] numbers them.
pub const BANKS: [Bank; NUM_BANKS] = [
    Bank::Gt(0),
    Bank::Gt(1),
    Bank::Gt(2),
    Bank::Gt(3),
    Bank::DePipe(0),
    Bank::DePipe(1),
    Bank::DePipe(2),
    Bank::DePort,
    Bank::DeMisc,
    Bank::Pcu,
    Bank::Pch,
];

/// Number of distinct banks.
pub const NUM_BANKS: usize = 11;

/// Which register of a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankReg {
    /// Interrupt status (live events; rgvt reads 0).
    Isr,
    /// Interrupt mask: masked events do not latch in IIR.
    Imr,
    /// Interrupt identity: latched events, write 1 to clear.
    Iir,
    /// Interrupt enable: which IIR bits reach the master.
    Ier,
}

impl Bank {
    /// The ISR offset.
    pub const fn base(self) -> u32 {
        match self {
            Self::Gt(n) => GEN8_GT_ISR::OFFSET + 0x10 * n as u32,
            Self::DePipe(n) => GEN8_DE_PIPE_ISR::OFFSET + 0x10 * n as u32,
            Self::DePort => GEN8_DE_PORT_ISR::OFFSET,
            Self::DeMisc => GEN8_DE_MISC_ISR::OFFSET,
            Self::Pcu => GEN8_PCU_ISR::OFFSET,
            Self::Pch => SDEISR::OFFSET,
        }
    }

    /// Position in [`BANKS`] (and in the model's state arrays).
    pub const fn index(self) -> usize {
        match self {
            Self::Gt(n) => n as usize,
            Self::DePipe(n) => 4 + n as usize,
            Self::DePort => 7,
            Self::DeMisc => 8,
            Self::Pcu => 9,
            Self::Pch => 10,
        }
    }

    /// The master bits this bank drives, each with the IIR bits that
    /// drive it (GVT-g's `gen8_irq_map`, and GuC in GT2's high half as
    /// i915's `GEN8_GT_GUC_IRQ`).
    pub const fn upstream(self) -> [(u32, u32); 2] {
        match self {
            Self::Gt(0) => [(1 << 0, 0xffff), (1 << 1, 0xffff_0000)],
            Self::Gt(1) => [(1 << 2, 0xffff), (1 << 3, 0xffff_0000)],
            Self::Gt(2) => [(1 << 4, 0xffff), (1 << 5, 0xffff_0000)],
            Self::Gt(_) => [(1 << 6, 0xffff), (0, 0)],
            Self::DePipe(n) => [(1 << (16 + n as u32), !0), (0, 0)],
            Self::DePort => [(1 << 20, !0), (0, 0)],
            Self::DeMisc => [(1 << 22, !0), (0, 0)],
            Self::Pch => [(1 << 23, !0), (0, 0)],
            Self::Pcu => [(1 << 30, !0), (0, 0)],
        }
    }
}

/// How a modelled register behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Known, plain storage.
    Storage,
    /// Fixed value; writes are dropped and counted.
    ReadOnly,
    /// Upper 16 bits select which of the lower 16 a write changes; reads
    /// return 0 in the upper half.
    Masked,
    /// `RING_MI_MODE`: masked, `MODE_IDLE` follows `STOP_RING` (no engine
    /// runs anything yet, so a stopped ring is at once idle).
    MiMode,
    /// `RING_RESET_CTL`: masked, `READY_TO_RESET` follows `REQUEST_RESET`.
    ResetCtl,
    /// `GEN6_GDRST`: the reset completes at once, the bits read back 0.
    Gdrst,
    /// `RING_ELSP`: guest writes go to the engines' latch, reads give 0.
    Elsp,
    /// Execlist status and context-status buffer: kept by the engines,
    /// read-only to the guest.
    EngineStatus,
    /// `RING_CONTEXT_STATUS_PTR`: masked, two pointer fields
    /// (`execlist::regs::csb_ptr_write`).
    CsbPtr,
    /// `RING_MODE_GEN7`: masked; enables execlists
    /// (`execlist::regs::ring_mode_write`).
    RingMode,
    /// A forcewake ack: reads the low half of the request at this offset.
    ForcewakeAck(u32),
    /// `GEN8_MASTER_IRQ`: enable bit stored, pending bits computed.
    Master,
    /// A register of an interrupt bank.
    Irq(Bank, BankReg),
    /// A TLB invalidation control: the invalidation completes at once, the
    /// register reads back 0 (GVT-g's `gvt_reg_tlb_control_handler`).
    TlbInval,
    /// `DPLL_STATUS`: read-only, computed from [`DPLL_ENABLES`].
    DpllStatus,
    /// `GEN6_PCODE_MAILBOX`: commands complete at once, successfully.
    PcodeMailbox,
    /// A request/state handshake: the bits in `req` are copied `shift`
    /// bits down (power wells, DBUF, DPLL 0).
    Handshake {
        /// Request bits.
        req: u32,
        /// How far below each request bit its state bit is.
        shift: u32,
    },
}

/// How the register at dword `offset` behaves, or `None` if rgvt does not
/// model it (plain storage, counted as untracked).
pub fn kind(offset: u32) -> Option<Kind> {
    if let Some(k) = engine_kind(offset) {
        return Some(k);
    }
    if let Some(k) = bank_kind(offset) {
        return Some(k);
    }
    let fence_end = FENCE_REG_GEN6::OFFSET + 8 * NUM_FENCES;
    if (FENCE_REG_GEN6::OFFSET..fence_end).contains(&offset) {
        return Some(Kind::Storage);
    }
    if MASKED.contains(&offset) {
        return Some(Kind::Masked);
    }
    if (GEN8_RTCR::OFFSET..GEN8_RTCR::OFFSET + 4 * NUM_TLB_CR).contains(&offset) {
        return Some(Kind::TlbInval);
    }
    if MOCS.contains(&offset) || LNCFCMOCS.contains(&offset) {
        return Some(Kind::Storage);
    }
    Some(match offset {
        GEN8_MASTER_IRQ::OFFSET => Kind::Master,
        GEN8_FUSE2::OFFSET
        | GEN6_RP_STATE_CAP::OFFSET
        | SKL_FUSE_STATUS::OFFSET
        | SKL_DFSM::OFFSET
        | GUC_STATUS::OFFSET
        | FUSE_EU_DISABLE_0
        | FUSE_EU_DISABLE_1
        | FUSE_EU_DISABLE_2 => Kind::ReadOnly,
        FORCEWAKE_ACK_RENDER_GEN9::OFFSET => Kind::ForcewakeAck(FORCEWAKE_RENDER_GEN9::OFFSET),
        FORCEWAKE_ACK_MEDIA_GEN9::OFFSET => Kind::ForcewakeAck(FORCEWAKE_MEDIA_GEN9::OFFSET),
        FORCEWAKE_ACK_GT_GEN9::OFFSET => Kind::ForcewakeAck(FORCEWAKE_MT::OFFSET),
        GEN6_GDRST::OFFSET => Kind::Gdrst,
        GEN8_MCR_SELECTOR::OFFSET | GEN6_PCODE_DATA::OFFSET | GEN6_PCODE_DATA1::OFFSET => {
            Kind::Storage
        }
        GEN6_PCODE_MAILBOX::OFFSET => Kind::PcodeMailbox,
        DPLL_STATUS::OFFSET => Kind::DpllStatus,
        HSW_PWR_WELL_CTL1::OFFSET
        | HSW_PWR_WELL_CTL2::OFFSET
        | HSW_PWR_WELL_CTL3::OFFSET
        | HSW_PWR_WELL_CTL4::OFFSET => Kind::Handshake {
            req: 0xaaaa_aaaa,
            shift: 1,
        },
        DBUF_CTL_S1::OFFSET => Kind::Handshake {
            req: DBUF_CTL_S1::POWER_REQUEST.mask(),
            shift: 1,
        },
        LCPLL1_CTL::OFFSET => Kind::Handshake {
            req: LCPLL1_CTL::PLL_ENABLE.mask(),
            shift: 1,
        },
        _ => return None,
    })
}

const FUSE_EU_DISABLE_0: u32 = GEN9_EU_DISABLE::OFFSET;
const FUSE_EU_DISABLE_1: u32 = GEN9_EU_DISABLE::OFFSET + 4;
const FUSE_EU_DISABLE_2: u32 = GEN9_EU_DISABLE::OFFSET + 8;

fn engine_kind(offset: u32) -> Option<Kind> {
    let (_, base) = ENGINES
        .iter()
        .find(|(_, base)| (*base..*base + 0x1000).contains(&offset))?;
    use crate::execlist::regs::{kind as execlist_kind, Kind as Execlist};
    let rel = offset - base;
    if let Some(k) = execlist_kind(rel) {
        return Some(match k {
            Execlist::Elsp => Kind::Elsp,
            Execlist::Status | Execlist::CsbBuf => Kind::EngineStatus,
            Execlist::CsbPtr => Kind::CsbPtr,
            Execlist::RingMode => Kind::RingMode,
        });
    }
    Some(match rel {
        RING_MI_MODE::OFFSET => Kind::MiMode,
        RING_RESET_CTL::OFFSET => Kind::ResetCtl,
        RING_INSTPM::OFFSET => Kind::Masked,
        RING_HWS_PGA::OFFSET | RING_HWSTAM::OFFSET | RING_IMR::OFFSET => Kind::Storage,
        _ => return None,
    })
}

fn bank_kind(offset: u32) -> Option<Kind> {
    let bank = BANKS
        .iter()
        .find(|b| (b.base()..b.base() + 0x10).contains(&offset))?;
    let reg = match offset - bank.base() {
        0x0 => BankReg::Isr,
        0x4 => BankReg::Imr,
        0x8 => BankReg::Iir,
        _ => BankReg::Ier,
    };
    Some(Kind::Irq(*bank, reg))
}

/// The values a fresh vGPU's registers hold, as a Skylake GT2 (HD
/// Graphics 530: one slice, three subslices of eight EUs) reports them.
pub fn defaults() -> [(u32, u32); 6] {
    [
        // Slice 0 enabled; subslice 3 of 4 fused off.
        (
            GEN8_FUSE2::OFFSET,
            GEN8_FUSE2::S_ENA.put(0b001) | GEN8_FUSE2::SS_DIS.put(0b1000),
        ),
        // 1100 MHz max, 550 MHz efficient, 300 MHz min.
        (
            GEN6_RP_STATE_CAP::OFFSET,
            GEN6_RP_STATE_CAP::RP0.put(22)
                | GEN6_RP_STATE_CAP::RP1.put(11)
                | GEN6_RP_STATE_CAP::RPN.put(6),
        ),
        // Display fuses loaded and power gates 0-2 distributed, as GVT-g
        // sets them (`intel_vgpu_reset_mmio`).
        (
            SKL_FUSE_STATUS::OFFSET,
            SKL_FUSE_STATUS::DOWNLOAD_STATUS.mask() | SKL_FUSE_STATUS::PG_DIST_STATUS.mask(),
        ),
        // No EU of slice 0 fused off.
        (FUSE_EU_DISABLE_0, 0),
        // No display: all three pipes fused off.
        (
            SKL_DFSM::OFFSET,
            SKL_DFSM::PIPE_A_DISABLE.mask()
                | SKL_DFSM::PIPE_B_DISABLE.mask()
                | SKL_DFSM::PIPE_C_DISABLE.mask(),
        ),
        // No GuC: its core stays in reset.
        (GUC_STATUS::OFFSET, GUC_STATUS::MIA_IN_RESET.mask()),
    ]
}
