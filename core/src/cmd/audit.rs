//! The register whitelists of `MI_LOAD_REGISTER_IMM`/`MEM`/`REG` and
//! `MI_STORE_REGISTER_MEM`: [`allowed`] for the registers a command writes,
//! [`readable`] for those it reads.
//!
//! # Writes
//!
//! The write whitelist is GVT-g's `F_CMD_ACCESS` set on Skylake (linux 6.12
//! `gvt/handlers.c`, `init_generic_mmio_info`, `init_bdw_mmio_info`,
//! `init_skl_mmio_info`) minus the entries that reach state of the host rather
//! than of the guest's context:
//! - the PDP registers (`base + 0x270..0x290`): the PPGTT root is rgvt's shadow;
//! - `RING_MODE` (`base + 0x29c`): execlist enable, owned by the execlists;
//! - `RING_FORCE_TO_NONPRIV` (`base + 0x4d0..`): would widen what unprivileged
//!   batches may touch on a real engine;
//! - `GTFIFODBG`/`GTFIFOCTL` (uncore), `GEN7_UCGCTL4`/`GEN8_UCGCTL6` (clock
//!   gating: power) and the TR-TT registers (`0x4de0..0x4df8`: address
//!   translation).
//!
//! Every register stock i915 6.12 programs by LRI on Skylake is in it: the
//! context workarounds of `gen9_ctx_workarounds_init`/`skl_tune_iz_hashing`
//! (`COMMON_SLICE_CHICKEN2`, `GEN9_HALF_SLICE_CHICKEN7`, `GEN8_ROW_CHICKEN`,
//! `CACHE_MODE_1`, `GEN9_HALF_SLICE_CHICKEN5`, `HDC_CHICKEN0`,
//! `GEN8_HALF_SLICE_CHICKEN3`, `HALF_SLICE_CHICKEN2`, `GEN8_CS_CHICKEN1`,
//! `GEN7_GT_MODE`), `GEN8_L3SQCREG4` and the MOCS/L3CC tables. The host tests
//! check this against a reference table written from those sources.
//!
//! # Reads
//!
//! A read (the register of `MI_STORE_REGISTER_MEM`, the source of
//! `MI_LOAD_REGISTER_REG`) has no effect on any engine: it reaches only the
//! vGPU's register model, whose values are the guest's own. The exclusions
//! above are about effects, so reads take GVT-g's whole `F_CMD_ACCESS` set:
//! the write whitelist plus `RING_MODE`, the PDPs and `RING_FORCE_TO_NONPRIV`
//! of the engine's own ring, and the uncore, clock-gating and TR-TT registers.
//! A gen9 GPU lets a batch read `RING_MODE` (i915 and its tests do), and a
//! guest that reads its own execlist enable or PDPs learns nothing it could
//! not read by MMIO. Everything else stays refused (other engines' rings,
//! `RING_HWS_PGA`, ELSP, ring head/tail/start/ctl, interrupts, reset, power,
//! display, fences, the GGTT). GVT-g 6.12 itself is narrower than its flag:
//! its `cmd_reg_handler` refuses `SRM`/`LRM`/`LRR` of everything but
//! `GEN8_L3SQCREG4` and `0x21f0` on Skylake; rgvt follows the hardware there.

use crate::engine::EngineId;

/// A whitelisted byte range, absolute or relative to the engine's ring base.
struct Range {
    /// First byte (absolute MMIO offset, or offset from the ring base).
    start: u32,
    /// Length in bytes.
    len: u32,
}

/// A range of `len` bytes at `start`.
const fn r(start: u32, len: u32) -> Range {
    Range { start, len }
}

/// Ranges relative to the executing engine's own ring base: a command may only
/// reach its own engine's ring registers.
const RING: &[Range] = &[
    // RING_SYNC_0/1 (gen6 semaphore mailboxes; plain storage on gen9).
    r(0x40, 8),
    // 0x28 and 0x134: GVT-g's unnamed ring registers with F_CMD_ACCESS.
    r(0x28, 4),
    r(0x134, 4),
    // RING_MI_MODE, RING_INSTPM (masked).
    r(0x9c, 4),
    r(0xc0, 4),
    // CSFE_CHICKEN1.
    r(0xd4, 4),
    // RING_CONTEXT_CONTROL (base + 0x244).
    r(0x244, 4),
    // RING_TIMESTAMP and its upper dword.
    r(0x358, 8),
];

/// Ring-relative ranges a command may read but not write (see "Reads").
const RING_READ_ONLY: &[Range] = &[
    // RING_PDP0..3 (UDW, LDW): the guest's PPGTT root as it wrote it.
    r(0x270, 32),
    // RING_MODE_GEN7: execlist enable.
    r(0x29c, 4),
    // RING_FORCE_TO_NONPRIV (12 slots).
    r(0x4d0, 48),
];

/// Absolute ranges a command may read but not write (see "Reads").
const ABS_READ_ONLY: &[Range] = &[
    r(0x4de0, 24),  // TR-TT: TRVATTL3PTRDW(0..3), TRVADR, TRTTE
    r(0x940c, 4),   // GEN7_UCGCTL4
    r(0x9430, 4),   // GEN8_UCGCTL6
    r(0x120000, 4), // GTFIFODBG
    r(0x120008, 4), // GTFIFOCTL
];

/// Absolute ranges (render and GT state saved in the context, MOCS, counters).
const ABS: &[Range] = &[
    r(0x2088, 4),
    r(0x2090, 4), // _3D_CHICKEN3
    r(0x20a0, 4),
    r(0x20dc, 4),
    r(0x20e0, 4), // GEN7_FF_SLICE_CS_CHICKEN1
    r(0x20e4, 4), // FF_SLICE_CS_CHICKEN2
    r(0x20ec, 4), // GEN9_CS_DEBUG_MODE1
    r(0x2120, 8), // CACHE_MODE_0, 0x2124
    r(0x215c, 4),
    r(0x2178, 8),
    r(0x21f0, 4),
    r(0x2220, 4),
    r(0x2290, 8),
    r(0x2300, 0x58), // pipeline statistics counters
    r(0x2420, 4),
    r(0x2430, 16),
    r(0x2470, 4),
    r(0x2580, 4), // GEN8_CS_CHICKEN1
    r(0x4030, 4), // ARB_MODE (masked)
    r(0x4090, 8), // GAM_ECOCHK, 0x4094
    r(0x4ab0, 4), // GEN9_GAMT_ECO_REG_RW_IA
    r(0x4ddc, 4), // MMCD_MISC_CTRL
    r(0x5200, 32),
    r(0x5240, 32),
    r(0x5280, 16),
    r(0x5588, 4),  // GEN9_WM_CHICKEN3
    r(0x7000, 12), // CACHE_MODE_0_GEN7, CACHE_MODE_1, GEN7_GT_MODE
    r(0x7010, 12), // COMMON_SLICE_CHICKEN1/2, 0x7018
    r(0x7300, 8),  // HDC_CHICKEN0, GEN8_HDC_CHICKEN1
    r(0x9030, 4),
    r(0xb004, 4),     // GEN8_GARBCNTL
    r(0xb020, 0x80),  // GEN9_LNCFCMOCS (L3CC)
    r(0xb118, 8),     // GEN8_L3SQCREG4, BDW_SCRATCH1
    r(0xc800, 0x7f8), // GEN9_GFX_MOCS of every engine
    r(0xe100, 4),     // GEN7_HALF_SLICE_CHICKEN1
    r(0xe180, 4),     // HALF_SLICE_CHICKEN2
    r(0xe184, 4),     // HALF_SLICE_CHICKEN3
    r(0xe188, 4),     // GEN9_HALF_SLICE_CHICKEN5
    r(0xe194, 4),     // GEN9_HALF_SLICE_CHICKEN7
    r(0xe220, 4),
    r(0xe230, 4),
    r(0xe240, 4),
    r(0xe260, 4),
    r(0xe270, 4),
    r(0xe280, 4),
    r(0xe2a0, 4),
    r(0xe2b0, 4),
    r(0xe2c0, 4),
    r(0xe4cc, 4),
    r(0xe4f0, 8), // GEN8_ROW_CHICKEN, GEN7_ROW_CHICKEN2
    r(0x12178, 8),
    r(0x12220, 4),
    r(0x1a178, 8),
    r(0x1c178, 8),
    r(0x22178, 8),
    r(0x22200, 4), // BCS_SWCTRL
    r(0x22220, 4),
];

/// Whether `offset` is in one of `abs` or, relative to `engine`'s ring base,
/// one of `ring`.
fn listed(engine: EngineId, offset: u32, abs: &[Range], ring: &[Range]) -> bool {
    if offset & 3 != 0 {
        return false;
    }
    let inside = |r: &Range, off: u32| off >= r.start && off - r.start < r.len;
    if abs.iter().any(|r| inside(r, offset)) {
        return true;
    }
    match offset.checked_sub(engine.mmio_base()) {
        Some(rel) if rel < 0x1000 => ring.iter().any(|r| inside(r, rel)),
        _ => false,
    }
}

/// Whether a command on `engine` may write (load) the register at `offset`:
/// the LRI and LRM targets and the destination of LRR.
pub fn allowed(engine: EngineId, offset: u32) -> bool {
    listed(engine, offset, ABS, RING)
}

/// Whether a command on `engine` may read the register at `offset`: the
/// register of SRM and the source of LRR. Every writable register is
/// readable.
pub fn readable(engine: EngineId, offset: u32) -> bool {
    allowed(engine, offset) || listed(engine, offset, ABS_READ_ONLY, RING_READ_ONLY)
}
