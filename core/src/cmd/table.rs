//! The gen9 command headers: which opcode, on which engine, how long.
//!
//! The table is GVT-g's `cmd_info` (linux 6.12, `gvt/cmd_parser.c`) restricted to
//! what Skylake has (`D_ALL`, `D_BDW_PLUS`, `D_SKL_PLUS`), transcribed entry by entry
//! with the same opcode encoding (the header's top bits, `OP_LEN_*` wide), engines
//! and length rule, plus `XY_FAST_COPY_BLT`. What the sim does with each command is
//! its [`Kind`]: most 3D, media and 2D state is skipped by its length (the sim has
//! no render or video pipeline), the commands it models are executed, and the ones
//! that would reach host state or that it cannot model honestly are refused.

use crate::engine::EngineId;

/// Engine bit of [`Info::engines`].
pub(crate) const RCS: u8 = 1 << 0;
/// Engine bit of [`Info::engines`].
pub(crate) const BCS: u8 = 1 << 1;
/// Engine bit of [`Info::engines`].
pub(crate) const VCS: u8 = 1 << 2;
/// Engine bit of [`Info::engines`].
pub(crate) const VECS: u8 = 1 << 3;

/// The engine's bit in [`Info::engines`].
pub(crate) const fn engine_bit(e: EngineId) -> u8 {
    1 << e.index()
}

/// How a command's length in dwords is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// Always this many dwords; the header has no length field.
    Const(u8),
    /// The low `bits` of the header are the length minus 2.
    Var {
        /// Width of the length field.
        bits: u8,
    },
    /// A length field that must say `dwords` on gen9 (`F_LEN_VAR_FIXED`).
    Fixed {
        /// Width of the length field.
        bits: u8,
        /// The only length gen9 defines.
        dwords: u8,
    },
}

/// Why a known command is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Display state (flips, scan lines, display events): host state.
    Display,
    /// Writes GTT entries: host state.
    Gtt,
    /// Semaphore mailboxes and signals between engines (i915 uses none on a vGPU).
    CrossEngine,
    /// The resource streamer.
    ResourceStreamer,
    /// Has an effect the sim does not model (atomics, perf reports, conditional end).
    Unmodelled,
}

/// What the sim does with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `MI_NOOP`.
    Noop,
    /// `MI_USER_INTERRUPT`: counted for the caller.
    UserInterrupt,
    /// `MI_ARB_CHECK`, `MI_ARB_ON_OFF`: arbitration points, no effect here.
    Arb,
    /// `MI_BATCH_BUFFER_END`.
    BbEnd,
    /// `MI_BATCH_BUFFER_START`.
    BbStart,
    /// `MI_STORE_DATA_IMM`.
    StoreImm,
    /// `MI_STORE_DATA_INDEX` (status-page relative).
    StoreIndex,
    /// `MI_LOAD_REGISTER_IMM` (audited).
    Lri,
    /// `MI_LOAD_REGISTER_MEM` (audited).
    Lrm,
    /// `MI_LOAD_REGISTER_REG` (both registers audited).
    Lrr,
    /// `MI_STORE_REGISTER_MEM` (source audited).
    Srm,
    /// `MI_FLUSH_DW` and its post-sync write.
    FlushDw,
    /// `PIPE_CONTROL` and its post-sync write.
    PipeControl,
    /// `MI_SEMAPHORE_WAIT`.
    SemaphoreWait,
    /// `MI_COPY_MEM_MEM`.
    CopyMemMem,
    /// `XY_SRC_COPY_BLT`.
    SrcCopyBlt,
    /// `XY_FAST_COPY_BLT`.
    FastCopyBlt,
    /// State or work the sim has no model of: skipped by its length.
    Skip,
    /// Known but refused by the audit.
    Refused(Refusal),
}

/// One command of the table.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// The command's name in the PRMs and in GVT-g.
    pub name: &'static str,
    /// The opcode: the header's top 9 (MI), 10 (2D) or 16 (3D, media) bits.
    pub op: u16,
    /// The engines that accept it.
    pub engines: u8,
    /// Its length rule.
    pub len: Len,
    /// What the sim does with it.
    pub kind: Kind,
}

/// A command's class, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Memory interface (type 0).
    Mi,
    /// Blitter (type 2).
    Blit,
    /// 3D pipeline (type 3 on the render engine, except media).
    Render,
    /// Media (type 3 subtype 2 on the render engine; type 3 on the video engines).
    Media,
}

/// The opcode of `header` as the engine decodes it, or `None` when the engine has
/// no decoder for its type (`ring_decode_info`: 2D only on the blitter, type 3 on
/// every engine but the blitter).
pub fn opcode(engine: EngineId, header: u32) -> Option<(u16, Class)> {
    let ty = header >> 29;
    match (ty, engine) {
        (0, _) => Some(((header >> 23) as u16, Class::Mi)),
        (2, EngineId::Bcs) => Some(((header >> 22) as u16, Class::Blit)),
        (3, EngineId::Rcs) => {
            let class = if (header >> 27) & 3 == 2 {
                Class::Media
            } else {
                Class::Render
            };
            Some(((header >> 16) as u16, class))
        }
        (3, EngineId::Vcs | EngineId::Vecs) => Some(((header >> 16) as u16, Class::Media)),
        _ => None,
    }
}

/// The table entry of `header` on `engine`, with its class.
pub fn lookup(engine: EngineId, header: u32) -> Option<(&'static Info, Class)> {
    let (op, class) = opcode(engine, header)?;
    let bit = engine_bit(engine);
    TABLE
        .iter()
        .find(|i| i.op == op && i.engines & bit != 0)
        .map(|i| (i, class))
}

impl Len {
    /// The length in dwords `header` declares, and whether it is the one gen9
    /// defines (`Fixed` lengths must match).
    pub fn of(self, header: u32) -> (usize, bool) {
        match self {
            Len::Const(n) => (n as usize, true),
            Len::Var { bits } => ((header & ((1u32 << bits) - 1)) as usize + 2, true),
            Len::Fixed { bits, dwords } => {
                let n = (header & ((1u32 << bits) - 1)) as usize + 2;
                (n, n == dwords as usize)
            }
        }
    }
}

/// Every gen9 command the parser knows (226 entries).
pub static TABLE: [Info; 226] = [
    Info {
        name: "MI_NOOP",
        op: 0x0000,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Noop,
    },
    Info {
        name: "MI_SET_PREDICATE",
        op: 0x0001,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MI_USER_INTERRUPT",
        op: 0x0002,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::UserInterrupt,
    },
    Info {
        name: "MI_WAIT_FOR_EVENT",
        op: 0x0003,
        engines: RCS | BCS,
        len: Len::Const(1),
        kind: Kind::Refused(Refusal::Display),
    },
    Info {
        name: "MI_FLUSH",
        op: 0x0004,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MI_ARB_CHECK",
        op: 0x0005,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Arb,
    },
    Info {
        name: "MI_RS_CONTROL",
        op: 0x0006,
        engines: RCS,
        len: Len::Const(1),
        kind: Kind::Refused(Refusal::ResourceStreamer),
    },
    Info {
        name: "MI_REPORT_HEAD",
        op: 0x0007,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Refused(Refusal::Unmodelled),
    },
    Info {
        name: "MI_ARB_ON_OFF",
        op: 0x0008,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Arb,
    },
    Info {
        name: "MI_URB_ATOMIC_ALLOC",
        op: 0x0009,
        engines: RCS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MI_BATCH_BUFFER_END",
        op: 0x000a,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::BbEnd,
    },
    Info {
        name: "MI_SUSPEND_FLUSH",
        op: 0x000b,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MI_PREDICATE",
        op: 0x000c,
        engines: RCS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MI_TOPOLOGY_FILTER",
        op: 0x000d,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MI_SET_APPID",
        op: 0x000e,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MI_RS_CONTEXT",
        op: 0x000f,
        engines: RCS,
        len: Len::Const(1),
        kind: Kind::Refused(Refusal::ResourceStreamer),
    },
    Info {
        name: "MI_DISPLAY_FLIP",
        op: 0x0014,
        engines: RCS | BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Refused(Refusal::Display),
    },
    Info {
        name: "MI_SEMAPHORE_MBOX",
        op: 0x0016,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 3 },
        kind: Kind::Refused(Refusal::CrossEngine),
    },
    Info {
        name: "MI_MATH",
        op: 0x001a,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "MI_URB_CLEAR",
        op: 0x0019,
        engines: RCS,
        len: Len::Fixed { bits: 8, dwords: 2 },
        kind: Kind::Skip,
    },
    Info {
        name: "MI_SEMAPHORE_SIGNAL",
        op: 0x001b,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 2 },
        kind: Kind::Refused(Refusal::CrossEngine),
    },
    Info {
        name: "MI_SEMAPHORE_WAIT",
        op: 0x001c,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 4 },
        kind: Kind::SemaphoreWait,
    },
    Info {
        name: "MI_STORE_DATA_IMM",
        op: 0x0020,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 10 },
        kind: Kind::StoreImm,
    },
    Info {
        name: "MI_STORE_DATA_INDEX",
        op: 0x0021,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 8 },
        kind: Kind::StoreIndex,
    },
    Info {
        name: "MI_LOAD_REGISTER_IMM",
        op: 0x0022,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 8 },
        kind: Kind::Lri,
    },
    Info {
        name: "MI_UPDATE_GTT",
        op: 0x0023,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 10 },
        kind: Kind::Refused(Refusal::Gtt),
    },
    Info {
        name: "MI_STORE_REGISTER_MEM",
        op: 0x0024,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 4 },
        kind: Kind::Srm,
    },
    Info {
        name: "MI_FLUSH_DW",
        op: 0x0026,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 6 },
        kind: Kind::FlushDw,
    },
    Info {
        name: "MI_CLFLUSH",
        op: 0x0027,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 10 },
        kind: Kind::Skip,
    },
    Info {
        name: "MI_REPORT_PERF_COUNT",
        op: 0x0028,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 6, dwords: 4 },
        kind: Kind::Refused(Refusal::Unmodelled),
    },
    Info {
        name: "MI_LOAD_REGISTER_MEM",
        op: 0x0029,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 4 },
        kind: Kind::Lrm,
    },
    Info {
        name: "MI_LOAD_REGISTER_REG",
        op: 0x002a,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 3 },
        kind: Kind::Lrr,
    },
    Info {
        name: "MI_RS_STORE_DATA_IMM",
        op: 0x002b,
        engines: RCS,
        len: Len::Fixed { bits: 8, dwords: 4 },
        kind: Kind::Refused(Refusal::ResourceStreamer),
    },
    Info {
        name: "MI_LOAD_URB_MEM",
        op: 0x002c,
        engines: RCS,
        len: Len::Fixed { bits: 8, dwords: 4 },
        kind: Kind::Refused(Refusal::Unmodelled),
    },
    Info {
        name: "MI_STORE_URM_MEM",
        op: 0x002d,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Refused(Refusal::Unmodelled),
    },
    Info {
        name: "MI_COPY_MEM_MEM",
        op: 0x002e,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 5 },
        kind: Kind::CopyMemMem,
    },
    Info {
        name: "MI_ATOMIC",
        op: 0x002f,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Var { bits: 8 },
        kind: Kind::Refused(Refusal::Unmodelled),
    },
    Info {
        name: "MI_BATCH_BUFFER_START",
        op: 0x0031,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 3 },
        kind: Kind::BbStart,
    },
    Info {
        name: "MI_CONDITIONAL_BATCH_BUFFER_END",
        op: 0x0036,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Fixed { bits: 8, dwords: 4 },
        kind: Kind::Refused(Refusal::Unmodelled),
    },
    Info {
        name: "MI_LOAD_SCAN_LINES_INCL",
        op: 0x0012,
        engines: RCS | BCS,
        len: Len::Const(2),
        kind: Kind::Refused(Refusal::Display),
    },
    // gen9 (not in GVT-g's table): what i915 and Mesa use for linear copies on SKL.
    Info {
        name: "XY_FAST_COPY_BLT",
        op: 0x0142,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::FastCopyBlt,
    },
    Info {
        name: "XY_SETUP_BLT",
        op: 0x0101,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_SETUP_CLIP_BLT",
        op: 0x0103,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_SETUP_MONO_PATTERN_SL_BLT",
        op: 0x0111,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_PIXEL_BLT",
        op: 0x0124,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_SCANLINES_BLT",
        op: 0x0125,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_TEXT_BLT",
        op: 0x0126,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_TEXT_IMMEDIATE_BLT",
        op: 0x0131,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_COLOR_BLT",
        op: 0x0150,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_PAT_BLT",
        op: 0x0151,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_MONO_PAT_BLT",
        op: 0x0152,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_SRC_COPY_BLT",
        op: 0x0153,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::SrcCopyBlt,
    },
    Info {
        name: "XY_MONO_SRC_COPY_BLT",
        op: 0x0154,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_FULL_BLT",
        op: 0x0155,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_FULL_MONO_SRC_BLT",
        op: 0x0156,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_FULL_MONO_PATTERN_BLT",
        op: 0x0157,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_FULL_MONO_PATTERN_MONO_SRC_BLT",
        op: 0x0158,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_MONO_PAT_FIXED_BLT",
        op: 0x0159,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_MONO_SRC_COPY_IMMEDIATE_BLT",
        op: 0x0171,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_PAT_BLT_IMMEDIATE",
        op: 0x0172,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_SRC_COPY_CHROMA_BLT",
        op: 0x0173,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_FULL_IMMEDIATE_PATTERN_BLT",
        op: 0x0174,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_FULL_MONO_SRC_IMMEDIATE_PATTERN_BLT",
        op: 0x0175,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_PAT_CHROMA_BLT",
        op: 0x0176,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "XY_PAT_CHROMA_BLT_IMMEDIATE",
        op: 0x0177,
        engines: BCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VIEWPORT_STATE_POINTERS_SF_CLIP",
        op: 0x7821,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VIEWPORT_STATE_POINTERS_CC",
        op: 0x7823,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BLEND_STATE_POINTERS",
        op: 0x7824,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DEPTH_STENCIL_STATE_POINTERS",
        op: 0x7825,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_POINTERS_VS",
        op: 0x7826,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_POINTERS_HS",
        op: 0x7827,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_POINTERS_DS",
        op: 0x7828,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_POINTERS_GS",
        op: 0x7829,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_POINTERS_PS",
        op: 0x782a,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLER_STATE_POINTERS_VS",
        op: 0x782b,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLER_STATE_POINTERS_HS",
        op: 0x782c,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLER_STATE_POINTERS_DS",
        op: 0x782d,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLER_STATE_POINTERS_GS",
        op: 0x782e,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLER_STATE_POINTERS_PS",
        op: 0x782f,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_URB_VS",
        op: 0x7830,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_URB_HS",
        op: 0x7831,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_URB_DS",
        op: 0x7832,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_URB_GS",
        op: 0x7833,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GATHER_CONSTANT_VS",
        op: 0x7834,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GATHER_CONSTANT_GS",
        op: 0x7835,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GATHER_CONSTANT_HS",
        op: 0x7836,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GATHER_CONSTANT_DS",
        op: 0x7837,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GATHER_CONSTANT_PS",
        op: 0x7838,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_CONSTANTF_VS",
        op: 0x7839,
        engines: RCS,
        len: Len::Var { bits: 11 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_CONSTANTF_PS",
        op: 0x783a,
        engines: RCS,
        len: Len::Var { bits: 11 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_CONSTANTI_VS",
        op: 0x783b,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_CONSTANTI_PS",
        op: 0x783c,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_CONSTANTB_VS",
        op: 0x783d,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_CONSTANTB_PS",
        op: 0x783e,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_LOCAL_VALID_VS",
        op: 0x783f,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_LOCAL_VALID_PS",
        op: 0x7840,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_GENERATE_ACTIVE_VS",
        op: 0x7841,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_GENERATE_ACTIVE_PS",
        op: 0x7842,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_EDIT_VS",
        op: 0x7843,
        engines: RCS,
        len: Len::Var { bits: 9 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_EDIT_GS",
        op: 0x7844,
        engines: RCS,
        len: Len::Var { bits: 9 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_EDIT_HS",
        op: 0x7845,
        engines: RCS,
        len: Len::Var { bits: 9 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_EDIT_DS",
        op: 0x7846,
        engines: RCS,
        len: Len::Var { bits: 9 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_EDIT_PS",
        op: 0x7847,
        engines: RCS,
        len: Len::Var { bits: 9 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VF_INSTANCING",
        op: 0x7849,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VF_SGVS",
        op: 0x784a,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VF_TOPOLOGY",
        op: 0x784b,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_WM_CHROMAKEY",
        op: 0x784c,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PS_BLEND",
        op: 0x784d,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_WM_DEPTH_STENCIL",
        op: 0x784e,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PS_EXTRA",
        op: 0x784f,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_RASTER",
        op: 0x7850,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SBE_SWIZ",
        op: 0x7851,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_WM_HZ_OP",
        op: 0x7852,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VERTEX_BUFFERS",
        op: 0x7808,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VERTEX_ELEMENTS",
        op: 0x7809,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_INDEX_BUFFER",
        op: 0x780a,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VF_STATISTICS",
        op: 0x780b,
        engines: RCS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VF",
        op: 0x780c,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CC_STATE_POINTERS",
        op: 0x780e,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SCISSOR_STATE_POINTERS",
        op: 0x780f,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GS",
        op: 0x7811,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CLIP",
        op: 0x7812,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_WM",
        op: 0x7814,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CONSTANT_GS",
        op: 0x7816,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CONSTANT_PS",
        op: 0x7817,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLE_MASK",
        op: 0x7818,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CONSTANT_HS",
        op: 0x7819,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CONSTANT_DS",
        op: 0x781a,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_HS",
        op: 0x781b,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_TE",
        op: 0x781c,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DS",
        op: 0x781d,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_STREAMOUT",
        op: 0x781e,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SBE",
        op: 0x781f,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PS",
        op: 0x7820,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DRAWING_RECTANGLE",
        op: 0x7900,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLER_PALETTE_LOAD0",
        op: 0x7902,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CHROMA_KEY",
        op: 0x7904,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DEPTH_BUFFER",
        op: 0x7805,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_POLY_STIPPLE_OFFSET",
        op: 0x7906,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_POLY_STIPPLE_PATTERN",
        op: 0x7907,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_LINE_STIPPLE",
        op: 0x7908,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_AA_LINE_PARAMS",
        op: 0x790a,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GS_SVB_INDEX",
        op: 0x790b,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLER_PALETTE_LOAD1",
        op: 0x790c,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_MULTISAMPLE",
        op: 0x780d,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_STENCIL_BUFFER",
        op: 0x7806,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_HIER_DEPTH_BUFFER",
        op: 0x7807,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CLEAR_PARAMS",
        op: 0x7804,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PUSH_CONSTANT_ALLOC_VS",
        op: 0x7912,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PUSH_CONSTANT_ALLOC_HS",
        op: 0x7913,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PUSH_CONSTANT_ALLOC_DS",
        op: 0x7914,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PUSH_CONSTANT_ALLOC_GS",
        op: 0x7915,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_PUSH_CONSTANT_ALLOC_PS",
        op: 0x7916,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_MONOFILTER_SIZE",
        op: 0x7911,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SO_DECL_LIST",
        op: 0x7917,
        engines: RCS,
        len: Len::Var { bits: 9 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SO_BUFFER",
        op: 0x7918,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_BINDING_TABLE_POOL_ALLOC",
        op: 0x7919,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_GATHER_POOL_ALLOC",
        op: 0x791a,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_DX9_CONSTANT_BUFFER_POOL_ALLOC",
        op: 0x791b,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SAMPLE_PATTERN",
        op: 0x791c,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "PIPE_CONTROL",
        op: 0x7a00,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::PipeControl,
    },
    Info {
        name: "3DPRIMITIVE",
        op: 0x7b00,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "PIPELINE_SELECT",
        op: 0x6904,
        engines: RCS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "STATE_PREFETCH",
        op: 0x6003,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "STATE_SIP",
        op: 0x6102,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "STATE_BASE_ADDRESS",
        op: 0x6101,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "OP_3D_MEDIA_0_1_4",
        op: 0x6104,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "OP_SWTESS_BASE_ADDRESS",
        op: 0x6103,
        engines: RCS,
        len: Len::Var { bits: 3 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VS",
        op: 0x7810,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_SF",
        op: 0x7813,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_CONSTANT_VS",
        op: 0x7815,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_COMPONENT_PACKING",
        op: 0x7855,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_INTERFACE_DESCRIPTOR_LOAD",
        op: 0x7002,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_GATEWAY_STATE",
        op: 0x7003,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_STATE_FLUSH",
        op: 0x7004,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_POOL_STATE",
        op: 0x7005,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_OBJECT",
        op: 0x7100,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_CURBE_LOAD",
        op: 0x7001,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_OBJECT_PRT",
        op: 0x7102,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_OBJECT_WALKER",
        op: 0x7103,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "GPGPU_WALKER",
        op: 0x7105,
        engines: RCS,
        len: Len::Var { bits: 8 },
        kind: Kind::Skip,
    },
    Info {
        name: "MEDIA_VFE_STATE",
        op: 0x7000,
        engines: RCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "3DSTATE_VF_STATISTICS_GM45",
        op: 0x680b,
        engines: RCS | BCS | VCS | VECS,
        len: Len::Const(1),
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_PIPE_MODE_SELECT",
        op: 0x7000,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_SURFACE_STATE",
        op: 0x7001,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_PIPE_BUF_ADDR_STATE",
        op: 0x7002,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_IND_OBJ_BASE_ADDR_STATE",
        op: 0x7003,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_BSP_BUF_BASE_ADDR_STATE",
        op: 0x7004,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "OP_2_0_0_5",
        op: 0x7005,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_STATE_POINTER",
        op: 0x7006,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_QM_STATE",
        op: 0x7007,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_FQM_STATE",
        op: 0x7008,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_PAK_INSERT_OBJECT",
        op: 0x7048,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_STITCH_OBJECT",
        op: 0x704a,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_IT_OBJECT",
        op: 0x7029,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_WAIT",
        op: 0x6800,
        engines: VCS,
        len: Len::Var { bits: 6 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_AVC_IMG_STATE",
        op: 0x7100,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_AVC_QM_STATE",
        op: 0x7101,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_AVC_DIRECTMODE_STATE",
        op: 0x7102,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_AVC_SLICE_STATE",
        op: 0x7103,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_AVC_REF_IDX_STATE",
        op: 0x7104,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_AVC_WEIGHTOFFSET_STATE",
        op: 0x7105,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_AVC_PICID_STATE",
        op: 0x7125,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_AVC_DPB_STATE",
        op: 0x7126,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_AVC_BSD_OBJECT",
        op: 0x7128,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_AVC_SLICEADDR",
        op: 0x7127,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFC_AVC_PAK_OBJECT",
        op: 0x7149,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_VC1_PRED_PIPE_STATE",
        op: 0x7201,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_VC1_DIRECTMODE_STATE",
        op: 0x7202,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_VC1_SHORT_PIC_STATE",
        op: 0x7220,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_VC1_LONG_PIC_STATE",
        op: 0x7221,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_VC1_BSD_OBJECT",
        op: 0x7228,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFC_MPEG2_SLICEGROUP_STATE",
        op: 0x7343,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFC_MPEG2_PAK_OBJECT",
        op: 0x7349,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_MPEG2_PIC_STATE",
        op: 0x7300,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_MPEG2_QM_STATE",
        op: 0x7301,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_MPEG2_BSD_OBJECT",
        op: 0x7328,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_2_6_0_0",
        op: 0x7600,
        engines: VCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_2_6_0_9",
        op: 0x7609,
        engines: VCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_2_6_0_8",
        op: 0x7608,
        engines: VCS,
        len: Len::Var { bits: 16 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_JPEG_PIC_STATE",
        op: 0x7700,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFX_JPEG_HUFF_TABLE_STATE",
        op: 0x7702,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "MFD_JPEG_BSD_OBJECT",
        op: 0x7728,
        engines: VCS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "VEBOX_STATE",
        op: 0x7402,
        engines: VECS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "VEBOX_SURFACE_STATE",
        op: 0x7400,
        engines: VECS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
    Info {
        name: "VEB_DI_IECP",
        op: 0x7403,
        engines: VECS,
        len: Len::Var { bits: 12 },
        kind: Kind::Skip,
    },
];
