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

/// Every engine.
const ALL: u8 = RCS | BCS | VCS | VECS;

/// One table row.
const fn i(name: &'static str, op: u16, engines: u8, len: Len, kind: Kind) -> Info {
    Info {
        name,
        op,
        engines,
        len,
        kind,
    }
}

/// A constant length.
const fn cst(n: u8) -> Len {
    Len::Const(n)
}

/// A length field `bits` wide.
const fn var(bits: u8) -> Len {
    Len::Var { bits }
}

/// A length field `bits` wide that must say `dwords`.
const fn fix(bits: u8, dwords: u8) -> Len {
    Len::Fixed { bits, dwords }
}

/// A refused command.
const fn refused(r: Refusal) -> Kind {
    Kind::Refused(r)
}

use Kind::*;

/// Every gen9 command the parser knows (226 entries), one per line.
#[rustfmt::skip]
pub static TABLE: [Info; 226] = [
    i("MI_NOOP", 0x0000, ALL, cst(1), Noop),
    i("MI_SET_PREDICATE", 0x0001, ALL, cst(1), Skip),
    i("MI_USER_INTERRUPT", 0x0002, ALL, cst(1), UserInterrupt),
    i("MI_WAIT_FOR_EVENT", 0x0003, RCS | BCS, cst(1), refused(Refusal::Display)),
    i("MI_FLUSH", 0x0004, ALL, cst(1), Skip),
    i("MI_ARB_CHECK", 0x0005, ALL, cst(1), Arb),
    i("MI_RS_CONTROL", 0x0006, RCS, cst(1), refused(Refusal::ResourceStreamer)),
    i("MI_REPORT_HEAD", 0x0007, ALL, cst(1), refused(Refusal::Unmodelled)),
    i("MI_ARB_ON_OFF", 0x0008, ALL, cst(1), Arb),
    i("MI_URB_ATOMIC_ALLOC", 0x0009, RCS, cst(1), Skip),
    i("MI_BATCH_BUFFER_END", 0x000a, ALL, cst(1), BbEnd),
    i("MI_SUSPEND_FLUSH", 0x000b, ALL, cst(1), Skip),
    i("MI_PREDICATE", 0x000c, RCS, cst(1), Skip),
    i("MI_TOPOLOGY_FILTER", 0x000d, ALL, cst(1), Skip),
    i("MI_SET_APPID", 0x000e, ALL, cst(1), Skip),
    i("MI_RS_CONTEXT", 0x000f, RCS, cst(1), refused(Refusal::ResourceStreamer)),
    i("MI_DISPLAY_FLIP", 0x0014, RCS | BCS, var(8), refused(Refusal::Display)),
    i("MI_SEMAPHORE_MBOX", 0x0016, ALL, fix(8, 3), refused(Refusal::CrossEngine)),
    i("MI_MATH", 0x001a, ALL, var(8), Skip),
    i("MI_URB_CLEAR", 0x0019, RCS, fix(8, 2), Skip),
    i("MI_SEMAPHORE_SIGNAL", 0x001b, ALL, fix(8, 2), refused(Refusal::CrossEngine)),
    i("MI_SEMAPHORE_WAIT", 0x001c, ALL, fix(8, 4), SemaphoreWait),
    i("MI_STORE_DATA_IMM", 0x0020, ALL, var(10), StoreImm),
    i("MI_STORE_DATA_INDEX", 0x0021, ALL, var(8), StoreIndex),
    i("MI_LOAD_REGISTER_IMM", 0x0022, ALL, var(8), Lri),
    i("MI_UPDATE_GTT", 0x0023, ALL, var(10), refused(Refusal::Gtt)),
    i("MI_STORE_REGISTER_MEM", 0x0024, ALL, fix(8, 4), Srm),
    i("MI_FLUSH_DW", 0x0026, ALL, var(6), FlushDw),
    i("MI_CLFLUSH", 0x0027, ALL, var(10), Skip),
    i("MI_REPORT_PERF_COUNT", 0x0028, ALL, fix(6, 4), refused(Refusal::Unmodelled)),
    i("MI_LOAD_REGISTER_MEM", 0x0029, ALL, fix(8, 4), Lrm),
    i("MI_LOAD_REGISTER_REG", 0x002a, ALL, fix(8, 3), Lrr),
    i("MI_RS_STORE_DATA_IMM", 0x002b, RCS, fix(8, 4), refused(Refusal::ResourceStreamer)),
    i("MI_LOAD_URB_MEM", 0x002c, RCS, fix(8, 4), refused(Refusal::Unmodelled)),
    i("MI_STORE_URM_MEM", 0x002d, RCS, var(8), refused(Refusal::Unmodelled)),
    i("MI_COPY_MEM_MEM", 0x002e, ALL, fix(8, 5), CopyMemMem),
    i("MI_ATOMIC", 0x002f, ALL, var(8), refused(Refusal::Unmodelled)),
    i("MI_BATCH_BUFFER_START", 0x0031, ALL, fix(8, 3), BbStart),
    i("MI_CONDITIONAL_BATCH_BUFFER_END", 0x0036, ALL, fix(8, 4), refused(Refusal::Unmodelled)),
    i("MI_LOAD_SCAN_LINES_INCL", 0x0012, RCS | BCS, cst(2), refused(Refusal::Display)),
    // gen9, not in GVT-g's table: what i915 and Mesa use for linear copies on SKL.
    i("XY_FAST_COPY_BLT", 0x0142, BCS, var(8), FastCopyBlt),
    i("XY_SETUP_BLT", 0x0101, BCS, var(8), Skip),
    i("XY_SETUP_CLIP_BLT", 0x0103, BCS, var(8), Skip),
    i("XY_SETUP_MONO_PATTERN_SL_BLT", 0x0111, BCS, var(8), Skip),
    i("XY_PIXEL_BLT", 0x0124, BCS, var(8), Skip),
    i("XY_SCANLINES_BLT", 0x0125, BCS, var(8), Skip),
    i("XY_TEXT_BLT", 0x0126, BCS, var(8), Skip),
    i("XY_TEXT_IMMEDIATE_BLT", 0x0131, BCS, var(8), Skip),
    i("XY_COLOR_BLT", 0x0150, BCS, var(8), Skip),
    i("XY_PAT_BLT", 0x0151, BCS, var(8), Skip),
    i("XY_MONO_PAT_BLT", 0x0152, BCS, var(8), Skip),
    i("XY_SRC_COPY_BLT", 0x0153, BCS, var(8), SrcCopyBlt),
    i("XY_MONO_SRC_COPY_BLT", 0x0154, BCS, var(8), Skip),
    i("XY_FULL_BLT", 0x0155, BCS, var(8), Skip),
    i("XY_FULL_MONO_SRC_BLT", 0x0156, BCS, var(8), Skip),
    i("XY_FULL_MONO_PATTERN_BLT", 0x0157, BCS, var(8), Skip),
    i("XY_FULL_MONO_PATTERN_MONO_SRC_BLT", 0x0158, BCS, var(8), Skip),
    i("XY_MONO_PAT_FIXED_BLT", 0x0159, BCS, var(8), Skip),
    i("XY_MONO_SRC_COPY_IMMEDIATE_BLT", 0x0171, BCS, var(8), Skip),
    i("XY_PAT_BLT_IMMEDIATE", 0x0172, BCS, var(8), Skip),
    i("XY_SRC_COPY_CHROMA_BLT", 0x0173, BCS, var(8), Skip),
    i("XY_FULL_IMMEDIATE_PATTERN_BLT", 0x0174, BCS, var(8), Skip),
    i("XY_FULL_MONO_SRC_IMMEDIATE_PATTERN_BLT", 0x0175, BCS, var(8), Skip),
    i("XY_PAT_CHROMA_BLT", 0x0176, BCS, var(8), Skip),
    i("XY_PAT_CHROMA_BLT_IMMEDIATE", 0x0177, BCS, var(8), Skip),
    i("3DSTATE_VIEWPORT_STATE_POINTERS_SF_CLIP", 0x7821, RCS, var(8), Skip),
    i("3DSTATE_VIEWPORT_STATE_POINTERS_CC", 0x7823, RCS, var(8), Skip),
    i("3DSTATE_BLEND_STATE_POINTERS", 0x7824, RCS, var(8), Skip),
    i("3DSTATE_DEPTH_STENCIL_STATE_POINTERS", 0x7825, RCS, var(8), Skip),
    i("3DSTATE_BINDING_TABLE_POINTERS_VS", 0x7826, RCS, var(8), Skip),
    i("3DSTATE_BINDING_TABLE_POINTERS_HS", 0x7827, RCS, var(8), Skip),
    i("3DSTATE_BINDING_TABLE_POINTERS_DS", 0x7828, RCS, var(8), Skip),
    i("3DSTATE_BINDING_TABLE_POINTERS_GS", 0x7829, RCS, var(8), Skip),
    i("3DSTATE_BINDING_TABLE_POINTERS_PS", 0x782a, RCS, var(8), Skip),
    i("3DSTATE_SAMPLER_STATE_POINTERS_VS", 0x782b, RCS, var(8), Skip),
    i("3DSTATE_SAMPLER_STATE_POINTERS_HS", 0x782c, RCS, var(8), Skip),
    i("3DSTATE_SAMPLER_STATE_POINTERS_DS", 0x782d, RCS, var(8), Skip),
    i("3DSTATE_SAMPLER_STATE_POINTERS_GS", 0x782e, RCS, var(8), Skip),
    i("3DSTATE_SAMPLER_STATE_POINTERS_PS", 0x782f, RCS, var(8), Skip),
    i("3DSTATE_URB_VS", 0x7830, RCS, var(8), Skip),
    i("3DSTATE_URB_HS", 0x7831, RCS, var(8), Skip),
    i("3DSTATE_URB_DS", 0x7832, RCS, var(8), Skip),
    i("3DSTATE_URB_GS", 0x7833, RCS, var(8), Skip),
    i("3DSTATE_GATHER_CONSTANT_VS", 0x7834, RCS, var(8), Skip),
    i("3DSTATE_GATHER_CONSTANT_GS", 0x7835, RCS, var(8), Skip),
    i("3DSTATE_GATHER_CONSTANT_HS", 0x7836, RCS, var(8), Skip),
    i("3DSTATE_GATHER_CONSTANT_DS", 0x7837, RCS, var(8), Skip),
    i("3DSTATE_GATHER_CONSTANT_PS", 0x7838, RCS, var(8), Skip),
    i("3DSTATE_DX9_CONSTANTF_VS", 0x7839, RCS, var(11), Skip),
    i("3DSTATE_DX9_CONSTANTF_PS", 0x783a, RCS, var(11), Skip),
    i("3DSTATE_DX9_CONSTANTI_VS", 0x783b, RCS, var(8), Skip),
    i("3DSTATE_DX9_CONSTANTI_PS", 0x783c, RCS, var(8), Skip),
    i("3DSTATE_DX9_CONSTANTB_VS", 0x783d, RCS, var(8), Skip),
    i("3DSTATE_DX9_CONSTANTB_PS", 0x783e, RCS, var(8), Skip),
    i("3DSTATE_DX9_LOCAL_VALID_VS", 0x783f, RCS, var(8), Skip),
    i("3DSTATE_DX9_LOCAL_VALID_PS", 0x7840, RCS, var(8), Skip),
    i("3DSTATE_DX9_GENERATE_ACTIVE_VS", 0x7841, RCS, var(8), Skip),
    i("3DSTATE_DX9_GENERATE_ACTIVE_PS", 0x7842, RCS, var(8), Skip),
    i("3DSTATE_BINDING_TABLE_EDIT_VS", 0x7843, RCS, var(9), Skip),
    i("3DSTATE_BINDING_TABLE_EDIT_GS", 0x7844, RCS, var(9), Skip),
    i("3DSTATE_BINDING_TABLE_EDIT_HS", 0x7845, RCS, var(9), Skip),
    i("3DSTATE_BINDING_TABLE_EDIT_DS", 0x7846, RCS, var(9), Skip),
    i("3DSTATE_BINDING_TABLE_EDIT_PS", 0x7847, RCS, var(9), Skip),
    i("3DSTATE_VF_INSTANCING", 0x7849, RCS, var(8), Skip),
    i("3DSTATE_VF_SGVS", 0x784a, RCS, var(8), Skip),
    i("3DSTATE_VF_TOPOLOGY", 0x784b, RCS, var(8), Skip),
    i("3DSTATE_WM_CHROMAKEY", 0x784c, RCS, var(8), Skip),
    i("3DSTATE_PS_BLEND", 0x784d, RCS, var(8), Skip),
    i("3DSTATE_WM_DEPTH_STENCIL", 0x784e, RCS, var(8), Skip),
    i("3DSTATE_PS_EXTRA", 0x784f, RCS, var(8), Skip),
    i("3DSTATE_RASTER", 0x7850, RCS, var(8), Skip),
    i("3DSTATE_SBE_SWIZ", 0x7851, RCS, var(8), Skip),
    i("3DSTATE_WM_HZ_OP", 0x7852, RCS, var(8), Skip),
    i("3DSTATE_VERTEX_BUFFERS", 0x7808, RCS, var(8), Skip),
    i("3DSTATE_VERTEX_ELEMENTS", 0x7809, RCS, var(8), Skip),
    i("3DSTATE_INDEX_BUFFER", 0x780a, RCS, var(8), Skip),
    i("3DSTATE_VF_STATISTICS", 0x780b, RCS, cst(1), Skip),
    i("3DSTATE_VF", 0x780c, RCS, var(8), Skip),
    i("3DSTATE_CC_STATE_POINTERS", 0x780e, RCS, var(8), Skip),
    i("3DSTATE_SCISSOR_STATE_POINTERS", 0x780f, RCS, var(8), Skip),
    i("3DSTATE_GS", 0x7811, RCS, var(8), Skip),
    i("3DSTATE_CLIP", 0x7812, RCS, var(8), Skip),
    i("3DSTATE_WM", 0x7814, RCS, var(8), Skip),
    i("3DSTATE_CONSTANT_GS", 0x7816, RCS, var(8), Skip),
    i("3DSTATE_CONSTANT_PS", 0x7817, RCS, var(8), Skip),
    i("3DSTATE_SAMPLE_MASK", 0x7818, RCS, var(8), Skip),
    i("3DSTATE_CONSTANT_HS", 0x7819, RCS, var(8), Skip),
    i("3DSTATE_CONSTANT_DS", 0x781a, RCS, var(8), Skip),
    i("3DSTATE_HS", 0x781b, RCS, var(8), Skip),
    i("3DSTATE_TE", 0x781c, RCS, var(8), Skip),
    i("3DSTATE_DS", 0x781d, RCS, var(8), Skip),
    i("3DSTATE_STREAMOUT", 0x781e, RCS, var(8), Skip),
    i("3DSTATE_SBE", 0x781f, RCS, var(8), Skip),
    i("3DSTATE_PS", 0x7820, RCS, var(8), Skip),
    i("3DSTATE_DRAWING_RECTANGLE", 0x7900, RCS, var(8), Skip),
    i("3DSTATE_SAMPLER_PALETTE_LOAD0", 0x7902, RCS, var(8), Skip),
    i("3DSTATE_CHROMA_KEY", 0x7904, RCS, var(8), Skip),
    i("3DSTATE_DEPTH_BUFFER", 0x7805, RCS, var(8), Skip),
    i("3DSTATE_POLY_STIPPLE_OFFSET", 0x7906, RCS, var(8), Skip),
    i("3DSTATE_POLY_STIPPLE_PATTERN", 0x7907, RCS, var(8), Skip),
    i("3DSTATE_LINE_STIPPLE", 0x7908, RCS, var(8), Skip),
    i("3DSTATE_AA_LINE_PARAMS", 0x790a, RCS, var(8), Skip),
    i("3DSTATE_GS_SVB_INDEX", 0x790b, RCS, var(8), Skip),
    i("3DSTATE_SAMPLER_PALETTE_LOAD1", 0x790c, RCS, var(8), Skip),
    i("3DSTATE_MULTISAMPLE", 0x780d, RCS, var(8), Skip),
    i("3DSTATE_STENCIL_BUFFER", 0x7806, RCS, var(8), Skip),
    i("3DSTATE_HIER_DEPTH_BUFFER", 0x7807, RCS, var(8), Skip),
    i("3DSTATE_CLEAR_PARAMS", 0x7804, RCS, var(8), Skip),
    i("3DSTATE_PUSH_CONSTANT_ALLOC_VS", 0x7912, RCS, var(8), Skip),
    i("3DSTATE_PUSH_CONSTANT_ALLOC_HS", 0x7913, RCS, var(8), Skip),
    i("3DSTATE_PUSH_CONSTANT_ALLOC_DS", 0x7914, RCS, var(8), Skip),
    i("3DSTATE_PUSH_CONSTANT_ALLOC_GS", 0x7915, RCS, var(8), Skip),
    i("3DSTATE_PUSH_CONSTANT_ALLOC_PS", 0x7916, RCS, var(8), Skip),
    i("3DSTATE_MONOFILTER_SIZE", 0x7911, RCS, var(8), Skip),
    i("3DSTATE_SO_DECL_LIST", 0x7917, RCS, var(9), Skip),
    i("3DSTATE_SO_BUFFER", 0x7918, RCS, var(8), Skip),
    i("3DSTATE_BINDING_TABLE_POOL_ALLOC", 0x7919, RCS, var(8), Skip),
    i("3DSTATE_GATHER_POOL_ALLOC", 0x791a, RCS, var(8), Skip),
    i("3DSTATE_DX9_CONSTANT_BUFFER_POOL_ALLOC", 0x791b, RCS, var(8), Skip),
    i("3DSTATE_SAMPLE_PATTERN", 0x791c, RCS, var(8), Skip),
    i("PIPE_CONTROL", 0x7a00, RCS, var(8), PipeControl),
    i("3DPRIMITIVE", 0x7b00, RCS, var(8), Skip),
    i("PIPELINE_SELECT", 0x6904, RCS, cst(1), Skip),
    i("STATE_PREFETCH", 0x6003, RCS, var(8), Skip),
    i("STATE_SIP", 0x6102, RCS, var(8), Skip),
    i("STATE_BASE_ADDRESS", 0x6101, RCS, var(8), Skip),
    i("OP_3D_MEDIA_0_1_4", 0x6104, RCS, var(8), Skip),
    i("OP_SWTESS_BASE_ADDRESS", 0x6103, RCS, var(3), Skip),
    i("3DSTATE_VS", 0x7810, RCS, var(8), Skip),
    i("3DSTATE_SF", 0x7813, RCS, var(8), Skip),
    i("3DSTATE_CONSTANT_VS", 0x7815, RCS, var(8), Skip),
    i("3DSTATE_COMPONENT_PACKING", 0x7855, RCS, var(8), Skip),
    i("MEDIA_INTERFACE_DESCRIPTOR_LOAD", 0x7002, RCS, var(16), Skip),
    i("MEDIA_GATEWAY_STATE", 0x7003, RCS, var(16), Skip),
    i("MEDIA_STATE_FLUSH", 0x7004, RCS, var(16), Skip),
    i("MEDIA_POOL_STATE", 0x7005, RCS, var(16), Skip),
    i("MEDIA_OBJECT", 0x7100, RCS, var(16), Skip),
    i("MEDIA_CURBE_LOAD", 0x7001, RCS, var(16), Skip),
    i("MEDIA_OBJECT_PRT", 0x7102, RCS, var(16), Skip),
    i("MEDIA_OBJECT_WALKER", 0x7103, RCS, var(16), Skip),
    i("GPGPU_WALKER", 0x7105, RCS, var(8), Skip),
    i("MEDIA_VFE_STATE", 0x7000, RCS, var(16), Skip),
    i("3DSTATE_VF_STATISTICS_GM45", 0x680b, ALL, cst(1), Skip),
    i("MFX_PIPE_MODE_SELECT", 0x7000, VCS, var(12), Skip),
    i("MFX_SURFACE_STATE", 0x7001, VCS, var(12), Skip),
    i("MFX_PIPE_BUF_ADDR_STATE", 0x7002, VCS, var(12), Skip),
    i("MFX_IND_OBJ_BASE_ADDR_STATE", 0x7003, VCS, var(12), Skip),
    i("MFX_BSP_BUF_BASE_ADDR_STATE", 0x7004, VCS, var(12), Skip),
    i("OP_2_0_0_5", 0x7005, VCS, var(12), Skip),
    i("MFX_STATE_POINTER", 0x7006, VCS, var(12), Skip),
    i("MFX_QM_STATE", 0x7007, VCS, var(12), Skip),
    i("MFX_FQM_STATE", 0x7008, VCS, var(12), Skip),
    i("MFX_PAK_INSERT_OBJECT", 0x7048, VCS, var(12), Skip),
    i("MFX_STITCH_OBJECT", 0x704a, VCS, var(12), Skip),
    i("MFD_IT_OBJECT", 0x7029, VCS, var(12), Skip),
    i("MFX_WAIT", 0x6800, VCS, var(6), Skip),
    i("MFX_AVC_IMG_STATE", 0x7100, VCS, var(12), Skip),
    i("MFX_AVC_QM_STATE", 0x7101, VCS, var(12), Skip),
    i("MFX_AVC_DIRECTMODE_STATE", 0x7102, VCS, var(12), Skip),
    i("MFX_AVC_SLICE_STATE", 0x7103, VCS, var(12), Skip),
    i("MFX_AVC_REF_IDX_STATE", 0x7104, VCS, var(12), Skip),
    i("MFX_AVC_WEIGHTOFFSET_STATE", 0x7105, VCS, var(12), Skip),
    i("MFD_AVC_PICID_STATE", 0x7125, VCS, var(12), Skip),
    i("MFD_AVC_DPB_STATE", 0x7126, VCS, var(12), Skip),
    i("MFD_AVC_BSD_OBJECT", 0x7128, VCS, var(12), Skip),
    i("MFD_AVC_SLICEADDR", 0x7127, VCS, var(12), Skip),
    i("MFC_AVC_PAK_OBJECT", 0x7149, VCS, var(12), Skip),
    i("MFX_VC1_PRED_PIPE_STATE", 0x7201, VCS, var(12), Skip),
    i("MFX_VC1_DIRECTMODE_STATE", 0x7202, VCS, var(12), Skip),
    i("MFD_VC1_SHORT_PIC_STATE", 0x7220, VCS, var(12), Skip),
    i("MFD_VC1_LONG_PIC_STATE", 0x7221, VCS, var(12), Skip),
    i("MFD_VC1_BSD_OBJECT", 0x7228, VCS, var(12), Skip),
    i("MFC_MPEG2_SLICEGROUP_STATE", 0x7343, VCS, var(12), Skip),
    i("MFC_MPEG2_PAK_OBJECT", 0x7349, VCS, var(12), Skip),
    i("MFX_MPEG2_PIC_STATE", 0x7300, VCS, var(12), Skip),
    i("MFX_MPEG2_QM_STATE", 0x7301, VCS, var(12), Skip),
    i("MFD_MPEG2_BSD_OBJECT", 0x7328, VCS, var(12), Skip),
    i("MFX_2_6_0_0", 0x7600, VCS, var(16), Skip),
    i("MFX_2_6_0_9", 0x7609, VCS, var(16), Skip),
    i("MFX_2_6_0_8", 0x7608, VCS, var(16), Skip),
    i("MFX_JPEG_PIC_STATE", 0x7700, VCS, var(12), Skip),
    i("MFX_JPEG_HUFF_TABLE_STATE", 0x7702, VCS, var(12), Skip),
    i("MFD_JPEG_BSD_OBJECT", 0x7728, VCS, var(12), Skip),
    i("VEBOX_STATE", 0x7402, VECS, var(12), Skip),
    i("VEBOX_SURFACE_STATE", 0x7400, VECS, var(12), Skip),
    i("VEB_DI_IECP", 0x7403, VECS, var(12), Skip),
];
