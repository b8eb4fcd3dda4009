//! The logical ring context image: what a submission reads from the guest's
//! context and what completion writes back.
//!
//! A gen9 image starts with the per-process HWSP page (`LRC_PPHWSP_PN`),
//! then the register-state page (`LRC_STATE_PN`): `MI_LOAD_REGISTER_IMM`
//! commands whose (offset, value) pairs the engine loads when the context is
//! restored (`gen9_rcs_offsets` and `gen9_xcs_offsets` in `gt/intel_lrc.c`,
//! the dword indices of `gt/intel_lrc_reg.h`, GVT-g's
//! `execlist_ring_context`). rgvt reads the first [`DWORDS`] dwords in one
//! access and checks that the LRI headers and the register offsets it uses
//! are where gen9 puts them, so a guest cannot make it take a value from
//! elsewhere.

use super::desc::{Descriptor, Mode};
use crate::engine::{EngineId, GpuMemory, MemError, Space};

/// Byte offset of the register-state page in the image.
pub const STATE_OFFSET: u32 = 4096;

/// Dword indices in the register-state page (`intel_lrc_reg.h`); each is
/// the value of a pair, the register offset is the dword before.
pub mod idx {
    /// First `MI_LOAD_REGISTER_IMM` header.
    pub const LRI_1: usize = 0x01;
    /// `CTX_CONTEXT_CONTROL`.
    pub const CONTEXT_CONTROL: usize = 0x03;
    /// `CTX_RING_HEAD`.
    pub const RING_HEAD: usize = 0x05;
    /// `CTX_RING_TAIL`.
    pub const RING_TAIL: usize = 0x07;
    /// `CTX_RING_START`.
    pub const RING_START: usize = 0x09;
    /// `CTX_RING_CTL`.
    pub const RING_CTL: usize = 0x0b;
    /// Batch buffer current head, upper dword.
    pub const BB_ADDR_UDW: usize = 0x0d;
    /// Batch buffer current head, lower dword.
    pub const BB_ADDR: usize = 0x0f;
    /// `CTX_BB_STATE`.
    pub const BB_STATE: usize = 0x11;
    /// `CTX_BB_PER_CTX_PTR` (render only).
    pub const BB_PER_CTX_PTR: usize = 0x19;
    /// `CTX_RCS_INDIRECT_CTX` (render only).
    pub const INDIRECT_CTX: usize = 0x1b;
    /// Second `MI_LOAD_REGISTER_IMM` header.
    pub const LRI_2: usize = 0x21;
    /// `CTX_TIMESTAMP`.
    pub const TIMESTAMP: usize = 0x23;
    /// `CTX_PDP3_UDW`; PDP `n` upper is `PDP3_UDW + 4 * (3 - n)`, lower 2 further.
    pub const PDP3_UDW: usize = 0x25;
    /// `CTX_PDP0_UDW`.
    pub const PDP0_UDW: usize = 0x31;
    /// `CTX_PDP0_LDW`.
    pub const PDP0_LDW: usize = 0x33;
}

/// Dwords of the register-state page rgvt reads (through the last PDP).
pub const DWORDS: usize = idx::PDP0_LDW + 1;

/// Registers in the first LRI on gen9 (both render and the others).
const LRI_1_COUNT: u32 = 14;
/// Registers in the second LRI (timestamp and the eight PDP halves).
const LRI_2_COUNT: u32 = 9;
/// `MI_LOAD_REGISTER_IMM`'s opcode in bits 31:23.
const MI_LOAD_REGISTER_IMM: u32 = 0x22;

/// The (value index, register offset from the engine base) pairs that
/// must be in place: every register rgvt takes a value of.
const EXPECTED: [(usize, u32); 16] = [
    (idx::CONTEXT_CONTROL, 0x244),
    (idx::RING_HEAD, 0x34),
    (idx::RING_TAIL, 0x30),
    (idx::RING_START, 0x38),
    (idx::RING_CTL, 0x3c),
    (idx::BB_ADDR_UDW, 0x168),
    (idx::BB_ADDR, 0x140),
    (idx::BB_STATE, 0x110),
    (idx::PDP3_UDW, 0x28c),
    (idx::PDP3_UDW + 2, 0x288),
    (idx::PDP3_UDW + 4, 0x284),
    (idx::PDP3_UDW + 6, 0x280),
    (idx::PDP3_UDW + 8, 0x27c),
    (idx::PDP3_UDW + 10, 0x278),
    (idx::PDP3_UDW + 12, 0x274),
    (idx::PDP3_UDW + 14, 0x270),
];

/// Render-only pairs (workaround batches).
const EXPECTED_RCS: [(usize, u32); 2] = [(idx::BB_PER_CTX_PTR, 0x1c0), (idx::INDIRECT_CTX, 0x1c4)];

/// `RING_CTL` fields and ring pointer masks (`intel_engine_regs.h`, GVT-g's `reg.h`).
mod ring_bits {
    /// `RING_VALID`.
    pub const VALID: u32 = 1;
    /// `RING_NR_PAGES`: size in pages, minus one, in bits 20:12.
    pub const NR_PAGES: u32 = 0x001f_f000;
    /// `RB_HEAD_OFF_MASK` (`HEAD_ADDR`).
    pub const HEAD_OFF: u32 = 0x001f_fffc;
    /// `RB_TAIL_OFF_MASK` (`TAIL_ADDR`).
    pub const TAIL_OFF: u32 = 0x001f_fff8;
    /// `RB_HEAD_WRAP_CNT_OFF`.
    pub const WRAP_SHIFT: u32 = 21;
    /// `RB_HEAD_WRAP_CNT_MAX`.
    pub const WRAP_MAX: u32 = (1 << 11) - 1;
    /// `INDIRECT_CTX_ADDR_MASK`.
    pub const INDIRECT_ADDR: u32 = 0xffff_ffc0;
    /// `INDIRECT_CTX_SIZE_MASK`, in cache lines.
    pub const INDIRECT_SIZE: u32 = 0x3f;
    /// `PER_CTX_ADDR_MASK`.
    pub const PER_CTX_ADDR: u32 = 0xffff_f000;
}

/// Why a context image is refused. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LrcError {
    /// The image could not be read (not in the vGPU's GM, not mapped).
    Mem(MemError),
    /// A dword that must be an LRI header or a register offset is not;
    /// `dword` is its index in the register-state page.
    Layout {
        /// Index in the register-state page.
        dword: usize,
        /// What the image holds there.
        found: u32,
    },
    /// The ring is not valid, or head or tail lies outside it.
    Ring,
    /// The PPGTT root is not page aligned, or is 0 in 4-level mode.
    Root,
}

impl From<MemError> for LrcError {
    fn from(e: MemError) -> Self {
        Self::Mem(e)
    }
}

/// A context's ring buffer as its image describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    /// GGTT address of the ring (`RING_START`).
    pub start: u32,
    /// Byte offset of the next command (`RING_HEAD` without its wrap count).
    pub head: u32,
    /// Byte offset after the last command (`RING_TAIL`).
    pub tail: u32,
    /// `RING_CTL` as written.
    pub ctl: u32,
}

impl Ring {
    /// Size of the ring in bytes, from `RING_CTL` (`_RING_CTL_BUF_SIZE`).
    pub const fn size(&self) -> u32 {
        (self.ctl & ring_bits::NR_PAGES) + 4096
    }

    /// Whether `RING_CTL` marks the ring valid.
    pub const fn is_valid(&self) -> bool {
        self.ctl & ring_bits::VALID != 0
    }
}

/// The PPGTT root of a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// 3-level: PDP0..PDP3 (guest addresses of the page directories).
    L3([u64; 4]),
    /// 4-level: the guest address of the PML4 (PDP0 in the image).
    L4(u64),
}

/// The render engine's workaround batches, as GVT-g checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WaCtx {
    /// Indirect context batch: GGTT address and size in bytes (0: none).
    pub indirect: (u32, u32),
    /// Per-context batch GGTT address, if its valid bit is set.
    pub per_ctx: Option<u32>,
}

/// What a submission reads from one context image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Image {
    /// The ring.
    pub ring: Ring,
    /// `RING_HEAD` as the image holds it (with the wrap count in 31:21).
    pub guest_head: u32,
    /// `CTX_CONTEXT_CONTROL` value.
    pub ctx_ctrl: u32,
    /// Batch buffer current head (upper dword above).
    pub bb_addr: u64,
    /// `BB_STATE` (bit 5: the batch is in the PPGTT).
    pub bb_state: u32,
    /// PPGTT root.
    pub root: Root,
    /// Render workaround batches (default for other engines).
    pub wa: WaCtx,
}

/// Reads and checks the image of `desc` for `engine`.
pub fn read(
    mem: &mut impl GpuMemory,
    engine: EngineId,
    desc: Descriptor,
    mode: Mode,
) -> Result<Image, LrcError> {
    let mut bytes = [0u8; DWORDS * 4];
    let state = u64::from(desc.lrca()) + u64::from(STATE_OFFSET);
    mem.read(Space::Ggtt, state, &mut bytes)?;
    let dw = |i: usize| {
        let b = &bytes[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    check_lri(idx::LRI_1, dw(idx::LRI_1), LRI_1_COUNT)?;
    check_lri(idx::LRI_2, dw(idx::LRI_2), LRI_2_COUNT)?;
    let base = engine.mmio_base();
    let rcs: &[(usize, u32)] = if engine == EngineId::Rcs {
        &EXPECTED_RCS
    } else {
        &[]
    };
    for &(i, reg) in EXPECTED.iter().chain(rcs) {
        let found = dw(i - 1);
        if found != base + reg {
            return Err(LrcError::Layout {
                dword: i - 1,
                found,
            });
        }
    }

    let guest_head = dw(idx::RING_HEAD);
    let ring = Ring {
        start: dw(idx::RING_START) & !0xfff,
        head: guest_head & ring_bits::HEAD_OFF,
        tail: dw(idx::RING_TAIL) & ring_bits::TAIL_OFF,
        ctl: dw(idx::RING_CTL),
    };
    if !ring.is_valid() || ring.head >= ring.size() || ring.tail >= ring.size() {
        return Err(LrcError::Ring);
    }

    let pdp = |n: usize| {
        let udw = idx::PDP3_UDW + 4 * (3 - n);
        (u64::from(dw(udw)) << 32) | u64::from(dw(udw + 2))
    };
    let root = match mode {
        Mode::Legacy64 => Root::L4(pdp(0)),
        Mode::Legacy32 => Root::L3([pdp(0), pdp(1), pdp(2), pdp(3)]),
    };
    let aligned = |a: u64| a & 0xfff == 0;
    match root {
        Root::L4(a) if a == 0 || !aligned(a) => return Err(LrcError::Root),
        Root::L3(p) if !p.iter().all(|&a| aligned(a)) => return Err(LrcError::Root),
        _ => {}
    }

    let wa = if engine == EngineId::Rcs {
        let ind = dw(idx::INDIRECT_CTX);
        let per = dw(idx::BB_PER_CTX_PTR);
        WaCtx {
            indirect: (
                ind & ring_bits::INDIRECT_ADDR,
                (ind & ring_bits::INDIRECT_SIZE) * 64,
            ),
            per_ctx: (per & 1 != 0).then_some(per & ring_bits::PER_CTX_ADDR),
        }
    } else {
        WaCtx::default()
    };

    Ok(Image {
        ring,
        guest_head,
        ctx_ctrl: dw(idx::CONTEXT_CONTROL),
        bb_addr: (u64::from(dw(idx::BB_ADDR_UDW)) << 32) | u64::from(dw(idx::BB_ADDR)),
        bb_state: dw(idx::BB_STATE),
        root,
        wa,
    })
}

fn check_lri(i: usize, found: u32, count: u32) -> Result<(), LrcError> {
    // Flag bits (force posted, 15:8) vary; opcode and length may not.
    if found >> 23 != MI_LOAD_REGISTER_IMM || found & 0xff != 2 * count - 1 {
        return Err(LrcError::Layout { dword: i, found });
    }
    Ok(())
}

/// `RING_HEAD` after a workload that ran from `guest_head` to `tail`: the
/// offset is the tail, the wrap count (bits 31:21) goes up when the ring
/// wrapped (GVT-g's `update_guest_context`).
pub fn head_after(guest_head: u32, head: u32, tail: u32) -> u32 {
    let mut wrap = guest_head >> ring_bits::WRAP_SHIFT;
    if tail < head {
        wrap = if wrap == ring_bits::WRAP_MAX {
            0
        } else {
            wrap + 1
        };
    }
    (wrap << ring_bits::WRAP_SHIFT) | tail
}

/// Writes the ring head back into the image at `lrca` on completion, as
/// GVT-g does (the head is the tail the workload ran to).
pub fn write_head(mem: &mut impl GpuMemory, lrca: u32, head: u32) -> Result<(), MemError> {
    let at = u64::from(lrca) + u64::from(STATE_OFFSET) + 4 * idx::RING_HEAD as u64;
    mem.write_u32(Space::Ggtt, at, head)
}

/// Builds a gen9 register-state page as i915's `set_offsets` and
/// `init_reg_state` lay out the part rgvt reads, for host tests (the whole
/// page, `1024` dwords; the rest is 0).
#[cfg(any(test, feature = "std"))]
pub fn model_state(engine: EngineId, ring: Ring, root: Root) -> [u32; 1024] {
    const LRI_1_REGS: [u32; 14] = [
        0x244, 0x34, 0x30, 0x38, 0x3c, 0x168, 0x140, 0x110, 0x11c, 0x114, 0x118, 0x1c0, 0x1c4,
        0x1c8,
    ];
    const LRI_2_REGS: [u32; 9] = [
        0x3a8, 0x28c, 0x288, 0x284, 0x280, 0x27c, 0x278, 0x274, 0x270,
    ];
    let mut s = [0u32; 1024];
    let base = engine.mmio_base();
    // MI_LOAD_REGISTER_IMM(n) | MI_LRI_FORCE_POSTED.
    s[idx::LRI_1] = (MI_LOAD_REGISTER_IMM << 23) | (2 * LRI_1_COUNT - 1) | (1 << 12);
    s[idx::LRI_2] = (MI_LOAD_REGISTER_IMM << 23) | (2 * LRI_2_COUNT - 1) | (1 << 12);
    for (i, reg) in LRI_1_REGS.iter().enumerate() {
        s[idx::LRI_1 + 1 + 2 * i] = base + reg;
    }
    for (i, reg) in LRI_2_REGS.iter().enumerate() {
        s[idx::LRI_2 + 1 + 2 * i] = base + reg;
    }
    s[idx::RING_HEAD] = ring.head;
    s[idx::RING_TAIL] = ring.tail;
    s[idx::RING_START] = ring.start;
    s[idx::RING_CTL] = ring.ctl;
    let pdps = match root {
        Root::L4(a) => [a, 0, 0, 0],
        Root::L3(p) => p,
    };
    for (n, a) in pdps.iter().enumerate() {
        let udw = idx::PDP3_UDW + 4 * (3 - n);
        s[udw] = (a >> 32) as u32;
        s[udw + 2] = *a as u32;
    }
    s
}
