//! The execlist registers of an engine and how a guest sees them.
//!
//! Offsets are relative to the engine's MMIO base (`gt/intel_engine_regs.h`,
//! GVT-g's `_EL_OFFSET_*`). The MMIO model stores these registers in the
//! vGPU's register file; the execlist state machine updates them through
//! [`crate::engine::RegFile`], and the guest-facing behaviour of each is the
//! plain functions below, which the MMIO model calls ([`kind`] says which).

use crate::mmio::regs::Field;

/// `RING_TAIL`.
pub const RING_TAIL: u32 = 0x30;
/// `RING_HEAD`.
pub const RING_HEAD: u32 = 0x34;
/// `RING_HWS_PGA`: GGTT address of the hardware status page.
pub const HWS_PGA: u32 = 0x80;
/// `RING_MODE_GEN7` (GFX_MODE), masked.
pub const RING_MODE: u32 = 0x29c;
/// `RING_ELSP`: the submit port.
pub const ELSP: u32 = 0x230;
/// `RING_EXECLIST_STATUS_LO`; `_HI` (the running context ID) follows.
pub const STATUS_LO: u32 = 0x234;
/// `RING_EXECLIST_STATUS_HI`.
pub const STATUS_HI: u32 = 0x238;
/// `RING_CONTEXT_STATUS_BUF`: [`CSB_ENTRIES`] entries of two dwords.
pub const CSB_BUF: u32 = 0x370;
/// `RING_CONTEXT_STATUS_PTR`, masked.
pub const CSB_PTR: u32 = 0x3a0;

/// `GEN8_CSB_ENTRIES`.
pub const CSB_ENTRIES: u32 = 6;
/// `I915_HWS_CSB_BUF0_INDEX`: dword of the first CSB entry in the status page.
pub const HWS_CSB_BUF0_INDEX: u32 = 0x10;
/// `I915_HWS_CSB_WRITE_INDEX`: dword of the CSB write pointer in the status page.
pub const HWS_CSB_WRITE_INDEX: u32 = 0x1f;

/// The pointer i915 writes on reset (`reset_csb_pointers`: `csb_size - 1`
/// for both), so that the next event lands in entry 0.
pub const CSB_PTR_RESET: u32 = CSB_ENTRIES - 1;

/// Fields of `RING_CONTEXT_STATUS_PTR`.
pub mod csb_ptr {
    use crate::mmio::regs::Field;

    /// Last entry the engine wrote (`GEN8_CSB_WRITE_PTR_MASK`).
    pub const WRITE: Field = Field::bits(2, 0);
    /// Last entry software consumed (`GEN8_CSB_READ_PTR_MASK`).
    pub const READ: Field = Field::bits(10, 8);
}

/// Fields of `RING_MODE_GEN7`.
pub mod ring_mode {
    use crate::mmio::regs::Field;

    /// `GFX_RUN_LIST_ENABLE`: execlists instead of ring-buffer submission.
    pub const RUN_LIST_ENABLE: Field = Field::bits(15, 15);
    /// `GFX_PPGTT_ENABLE`.
    pub const PPGTT_ENABLE: Field = Field::bits(9, 9);
    /// Bit 0, which GVT-g treats as an unsupported guest
    /// (`ring_mode_mmio_write`).
    pub const UNSUPPORTED: Field = Field::bits(0, 0);
}

/// Fields of `RING_EXECLIST_STATUS_LO` (GVT-g's `execlist_status_format`).
pub mod status {
    use crate::mmio::regs::Field;

    /// Which slot runs.
    pub const CURRENT_POINTER: Field = Field::bits(0, 0);
    /// Which slot the next submission fills.
    pub const WRITE_POINTER: Field = Field::bits(1, 1);
    /// Both slots are taken.
    pub const QUEUE_FULL: Field = Field::bits(2, 2);
    /// Slot 1 valid.
    pub const EXECLIST_1_VALID: Field = Field::bits(3, 3);
    /// Slot 0 valid.
    pub const EXECLIST_0_VALID: Field = Field::bits(4, 4);
    /// Slot 1 active.
    pub const EXECLIST_1_ACTIVE: Field = Field::bits(17, 17);
    /// Slot 0 active.
    pub const EXECLIST_0_ACTIVE: Field = Field::bits(18, 18);
}

/// Bits of a context-status (CSB) event's low dword (`GEN8_CTX_STATUS_*`).
pub mod event {
    /// The engine went from idle to running a submission.
    pub const IDLE_TO_ACTIVE: u32 = 1 << 0;
    /// The running context was preempted by a new submission.
    pub const PREEMPTED: u32 = 1 << 1;
    /// Element 0 finished and element 1 starts.
    pub const ELEMENT_SWITCH: u32 = 1 << 2;
    /// The engine went idle.
    pub const ACTIVE_TO_IDLE: u32 = 1 << 3;
    /// A context finished.
    pub const COMPLETE: u32 = 1 << 4;
    /// The preemption resubmitted the running context with a new tail.
    pub const LITE_RESTORE: u32 = 1 << 15;
}

/// One context-status event: the status bits and the context ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// [`event`] bits.
    pub status: u32,
    /// The context the event is about (0 for idle-to-active, as GVT-g).
    pub ctx_id: u32,
}

/// What an execlist register does for the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `RING_ELSP`: writes go to the engine's `ElspLatch`; reads return 0.
    Elsp,
    /// `RING_EXECLIST_STATUS_LO/HI`: read-only, reads return what the
    /// execlist stored; guest writes are dropped.
    Status,
    /// `RING_CONTEXT_STATUS_BUF`: read-only, reads return the stored
    /// entries; guest writes are dropped.
    CsbBuf,
    /// `RING_CONTEXT_STATUS_PTR`: masked, see [`csb_ptr_write`].
    CsbPtr,
    /// `RING_MODE_GEN7`: masked, see [`ring_mode_write`].
    RingMode,
}

/// The execlist behaviour of the register at `offset` from an engine's base.
pub fn kind(offset: u32) -> Option<Kind> {
    Some(match offset {
        ELSP => Kind::Elsp,
        STATUS_LO | STATUS_HI => Kind::Status,
        o if (CSB_BUF..CSB_BUF + 8 * CSB_ENTRIES).contains(&o) => Kind::CsbBuf,
        CSB_PTR => Kind::CsbPtr,
        RING_MODE => Kind::RingMode,
        _ => return None,
    })
}

const PTR_FIELDS: u32 = csb_ptr::WRITE.mask() | csb_ptr::READ.mask();

/// A write to `RING_CONTEXT_STATUS_PTR`: masked (GVT-g's `F_MODE_MASK`),
/// only the two pointer fields exist. i915 moves the read pointer with it
/// and, on reset, sets both pointers (`reset_csb_pointers`).
pub fn csb_ptr_write(old: u32, value: u32) -> u32 {
    let mask = (value >> 16) & PTR_FIELDS;
    (old & !mask & PTR_FIELDS) | (value & mask)
}

/// The value `RING_CONTEXT_STATUS_PTR` holds after an engine or vGPU reset.
pub const fn csb_ptr_reset() -> u32 {
    csb_ptr::READ.put(CSB_PTR_RESET) | csb_ptr::WRITE.put(CSB_PTR_RESET)
}

/// The entry the next event goes to, after the one the pointer names.
///
/// Any value a guest may have written (6 and 7 included) yields an entry
/// in range; 7 is the hardware's "nothing written yet" (GVT-g's reset
/// value) and starts at 0 as well.
pub fn csb_next(ptr: u32) -> u32 {
    let w = csb_ptr::WRITE.get(ptr);
    if w + 1 >= CSB_ENTRIES {
        0
    } else {
        w + 1
    }
}

/// What a guest write to `RING_MODE_GEN7` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeChange {
    /// The register's new value (masked write).
    pub value: u32,
    /// `Some(on)` if the write touched `GFX_RUN_LIST_ENABLE`.
    pub execlists: Option<bool>,
    /// The write sets a mode GVT-g refuses (bit 0); the vGPU should count
    /// it and may treat the guest as unsupported.
    pub unsupported: bool,
}

/// A write to `RING_MODE_GEN7` (masked, GVT-g's `ring_mode_mmio_write`).
pub fn ring_mode_write(old: u32, value: u32) -> ModeChange {
    let mask = (value >> 16) & 0xffff;
    let enabled = |f: Field| mask & f.mask() != 0 && value & f.mask() != 0;
    let unsupported = enabled(ring_mode::UNSUPPORTED);
    // The unsupported bit never latches, as GVT-g clears it before storing.
    let mask = mask & !ring_mode::UNSUPPORTED.mask();
    let run_list = ring_mode::RUN_LIST_ENABLE.mask();
    ModeChange {
        value: ((old & !mask) | (value & mask)) & 0xffff,
        execlists: (mask & run_list != 0).then_some(value & run_list != 0),
        unsupported,
    }
}

/// Whether `RING_MODE_GEN7` (as stored) has execlists enabled; ELSP writes
/// before that are counted and ignored.
pub const fn execlists_enabled(ring_mode: u32) -> bool {
    ring_mode::RUN_LIST_ENABLE.get(ring_mode) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csb_pointer_writes_are_masked() {
        let p = csb_ptr_reset();
        assert_eq!(csb_ptr::WRITE.get(p), 5);
        assert_eq!(csb_ptr::READ.get(p), 5);
        // i915 moves its read pointer: mask READ only.
        let p2 = csb_ptr_write(p, (csb_ptr::READ.mask() << 16) | csb_ptr::READ.put(2));
        assert_eq!(csb_ptr::READ.get(p2), 2);
        assert_eq!(csb_ptr::WRITE.get(p2), 5);
        // No mask, no change; reserved bits never stick.
        assert_eq!(csb_ptr_write(p2, 0x0000_ffff), p2);
        assert_eq!(csb_ptr_write(0, 0xffff_ffff), PTR_FIELDS);
        // i915's reset value.
        assert_eq!(
            csb_ptr_write(0x0703, 0xffff << 16 | 5 << 8 | 5),
            csb_ptr_reset()
        );
    }

    #[test]
    fn the_next_entry_is_always_in_range() {
        for w in 0..8 {
            let n = csb_next(csb_ptr::WRITE.put(w));
            assert!(n < CSB_ENTRIES);
            assert_eq!(n, if w < 5 { w + 1 } else { 0 });
        }
    }

    #[test]
    fn ring_mode_enables_execlists() {
        let en = (1 << 31) | (1 << 15);
        let c = ring_mode_write(0, en);
        assert_eq!(c.execlists, Some(true));
        assert!(execlists_enabled(c.value));
        assert!(!c.unsupported);
        let c2 = ring_mode_write(c.value, 1 << 9 | 1 << 25);
        assert_eq!(c2.execlists, None);
        assert!(execlists_enabled(c2.value));
        assert_eq!(ring_mode_write(c2.value, 1 << 31).execlists, Some(false));
        let bad = ring_mode_write(0, 1 << 16 | 1);
        assert!(bad.unsupported);
        assert_eq!(bad.value, 0);
    }

    #[test]
    fn kinds() {
        assert_eq!(kind(0x230), Some(Kind::Elsp));
        assert_eq!(kind(0x238), Some(Kind::Status));
        assert_eq!(kind(0x370), Some(Kind::CsbBuf));
        assert_eq!(kind(0x39c), Some(Kind::CsbBuf));
        assert_eq!(kind(0x3a0), Some(Kind::CsbPtr));
        assert_eq!(kind(0x29c), Some(Kind::RingMode));
        assert_eq!(kind(0x80), None);
    }
}
