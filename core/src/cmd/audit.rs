//! The register whitelist of `MI_LOAD_REGISTER_IMM`/`MEM`/`REG` and
//! `MI_STORE_REGISTER_MEM`.
//!
//! It is GVT-g's `F_CMD_ACCESS` set on Skylake (linux 6.12 `gvt/handlers.c`,
//! `init_generic_mmio_info`, `init_bdw_mmio_info`, `init_skl_mmio_info`) minus the
//! entries that reach state of the host rather than of the guest's context:
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

use crate::engine::EngineId;

/// A whitelisted byte range, absolute or relative to the engine's ring base.
struct Range {
    /// First byte (absolute MMIO offset, or offset from the ring base).
    start: u32,
    /// Length in bytes.
    len: u32,
}

/// Ranges relative to the executing engine's own ring base: a command may only
/// reach its own engine's ring registers.
const RING: &[Range] = &[
    // RING_SYNC_0/1 (gen6 semaphore mailboxes; plain storage on gen9).
    Range {
        start: 0x40,
        len: 8,
    },
    // 0x28 and 0x134: GVT-g's unnamed ring registers with F_CMD_ACCESS.
    Range {
        start: 0x28,
        len: 4,
    },
    Range {
        start: 0x134,
        len: 4,
    },
    // RING_MI_MODE, RING_INSTPM (masked).
    Range {
        start: 0x9c,
        len: 4,
    },
    Range {
        start: 0xc0,
        len: 4,
    },
    // CSFE_CHICKEN1.
    Range {
        start: 0xd4,
        len: 4,
    },
    // RING_CONTEXT_CONTROL (base + 0x244).
    Range {
        start: 0x244,
        len: 4,
    },
    // RING_TIMESTAMP and its upper dword.
    Range {
        start: 0x358,
        len: 8,
    },
];

/// Absolute ranges (render and GT state saved in the context, MOCS, counters).
const ABS: &[Range] = &[
    Range {
        start: 0x2088,
        len: 4,
    },
    Range {
        start: 0x2090,
        len: 4,
    }, // _3D_CHICKEN3
    Range {
        start: 0x20a0,
        len: 4,
    },
    Range {
        start: 0x20dc,
        len: 4,
    },
    Range {
        start: 0x20e0,
        len: 4,
    }, // GEN7_FF_SLICE_CS_CHICKEN1
    Range {
        start: 0x20e4,
        len: 4,
    }, // FF_SLICE_CS_CHICKEN2
    Range {
        start: 0x20ec,
        len: 4,
    }, // GEN9_CS_DEBUG_MODE1
    Range {
        start: 0x2120,
        len: 8,
    }, // CACHE_MODE_0, 0x2124
    Range {
        start: 0x215c,
        len: 4,
    },
    Range {
        start: 0x2178,
        len: 8,
    },
    Range {
        start: 0x21f0,
        len: 4,
    },
    Range {
        start: 0x2220,
        len: 4,
    },
    Range {
        start: 0x2290,
        len: 8,
    },
    Range {
        start: 0x2300,
        len: 0x58,
    }, // pipeline statistics counters
    Range {
        start: 0x2420,
        len: 4,
    },
    Range {
        start: 0x2430,
        len: 16,
    },
    Range {
        start: 0x2470,
        len: 4,
    },
    Range {
        start: 0x2580,
        len: 4,
    }, // GEN8_CS_CHICKEN1
    Range {
        start: 0x4030,
        len: 4,
    }, // ARB_MODE (masked)
    Range {
        start: 0x4090,
        len: 8,
    }, // GAM_ECOCHK, 0x4094
    Range {
        start: 0x4ab0,
        len: 4,
    }, // GEN9_GAMT_ECO_REG_RW_IA
    Range {
        start: 0x4ddc,
        len: 4,
    }, // MMCD_MISC_CTRL
    Range {
        start: 0x5200,
        len: 32,
    },
    Range {
        start: 0x5240,
        len: 32,
    },
    Range {
        start: 0x5280,
        len: 16,
    },
    Range {
        start: 0x5588,
        len: 4,
    }, // GEN9_WM_CHICKEN3
    Range {
        start: 0x7000,
        len: 12,
    }, // CACHE_MODE_0_GEN7, CACHE_MODE_1, GEN7_GT_MODE
    Range {
        start: 0x7010,
        len: 12,
    }, // COMMON_SLICE_CHICKEN1/2, 0x7018
    Range {
        start: 0x7300,
        len: 8,
    }, // HDC_CHICKEN0, GEN8_HDC_CHICKEN1
    Range {
        start: 0x9030,
        len: 4,
    },
    Range {
        start: 0xb004,
        len: 4,
    }, // GEN8_GARBCNTL
    Range {
        start: 0xb020,
        len: 0x80,
    }, // GEN9_LNCFCMOCS (L3CC)
    Range {
        start: 0xb118,
        len: 8,
    }, // GEN8_L3SQCREG4, BDW_SCRATCH1
    Range {
        start: 0xc800,
        len: 0x7f8,
    }, // GEN9_GFX_MOCS of every engine
    Range {
        start: 0xe100,
        len: 4,
    }, // GEN7_HALF_SLICE_CHICKEN1
    Range {
        start: 0xe180,
        len: 4,
    }, // HALF_SLICE_CHICKEN2
    Range {
        start: 0xe184,
        len: 4,
    }, // HALF_SLICE_CHICKEN3
    Range {
        start: 0xe188,
        len: 4,
    }, // GEN9_HALF_SLICE_CHICKEN5
    Range {
        start: 0xe194,
        len: 4,
    }, // GEN9_HALF_SLICE_CHICKEN7
    Range {
        start: 0xe220,
        len: 4,
    },
    Range {
        start: 0xe230,
        len: 4,
    },
    Range {
        start: 0xe240,
        len: 4,
    },
    Range {
        start: 0xe260,
        len: 4,
    },
    Range {
        start: 0xe270,
        len: 4,
    },
    Range {
        start: 0xe280,
        len: 4,
    },
    Range {
        start: 0xe2a0,
        len: 4,
    },
    Range {
        start: 0xe2b0,
        len: 4,
    },
    Range {
        start: 0xe2c0,
        len: 4,
    },
    Range {
        start: 0xe4cc,
        len: 4,
    },
    Range {
        start: 0xe4f0,
        len: 8,
    }, // GEN8_ROW_CHICKEN, GEN7_ROW_CHICKEN2
    Range {
        start: 0x12178,
        len: 8,
    },
    Range {
        start: 0x12220,
        len: 4,
    },
    Range {
        start: 0x1a178,
        len: 8,
    },
    Range {
        start: 0x1c178,
        len: 8,
    },
    Range {
        start: 0x22178,
        len: 8,
    },
    Range {
        start: 0x22200,
        len: 4,
    }, // BCS_SWCTRL
    Range {
        start: 0x22220,
        len: 4,
    },
];

/// Whether a command on `engine` may load or store the register at `offset`.
pub fn allowed(engine: EngineId, offset: u32) -> bool {
    if offset & 3 != 0 {
        return false;
    }
    let inside = |r: &Range, off: u32| off >= r.start && off - r.start < r.len;
    if ABS.iter().any(|r| inside(r, offset)) {
        return true;
    }
    match offset.checked_sub(engine.mmio_base()) {
        Some(rel) if rel < 0x1000 => RING.iter().any(|r| inside(r, rel)),
        _ => false,
    }
}
