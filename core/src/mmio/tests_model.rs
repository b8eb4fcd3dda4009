//! Tests of the register model: each behaviour as i915 6.12 exercises it.

use super::regs::*;
use super::*;
use crate::pvinfo::{GmRange, Published};
use crate::storage::Std;
use proptest::prelude::*;

/// The PV info of the vGPU the tests model.
fn pv() -> Published {
    Published {
        vgt_id: 1,
        mappable: GmRange {
            base: 0,
            size: 64 << 20,
        },
        nonmappable: GmRange {
            base: 256 << 20,
            size: 256 << 20,
        },
        fence_num: 4,
    }
}

fn vregs() -> Vregs<Std> {
    Vregs::new(&pv()).unwrap()
}

fn rd(v: &mut Vregs<Std>, off: u32) -> u32 {
    let mut b = [0u8; 4];
    v.read(off, &mut b);
    u32::from_le_bytes(b)
}

fn wr(v: &mut Vregs<Std>, off: u32, val: u32) {
    v.write(off, &val.to_le_bytes());
}

const fn masked_en(bits: u32) -> u32 {
    bits << 16 | bits
}

const fn masked_dis(bits: u32) -> u32 {
    bits << 16
}

#[test]
fn no_display_and_no_guc_as_i915_reads_them() {
    let mut v = vregs();
    // intel_device_info_runtime_init: every pipe fused off means no display.
    let dfsm = rd(&mut v, SKL_DFSM::OFFSET);
    assert_eq!(dfsm & (1 << 30), 1 << 30, "pipe A fused off");
    assert_eq!(dfsm & (1 << 21), 1 << 21, "pipe B fused off");
    assert_eq!(dfsm & (1 << 28), 1 << 28, "pipe C fused off");
    // GS_MIA_IN_RESET: the GuC core is held in reset.
    assert_eq!(rd(&mut v, GUC_STATUS::OFFSET) & 1, 1);
    // Both are fuses/status, not writable by the guest.
    wr(&mut v, SKL_DFSM::OFFSET, 0);
    wr(&mut v, GUC_STATUS::OFFSET, 0);
    assert_eq!(rd(&mut v, SKL_DFSM::OFFSET), dfsm);
    assert_eq!(rd(&mut v, GUC_STATUS::OFFSET) & 1, 1);
}

#[test]
fn sseu_from_fuses_as_gen9_sseu_info_init() {
    let mut v = vregs();
    let fuse2 = rd(&mut v, GEN8_FUSE2::OFFSET);
    let slice_mask = GEN8_FUSE2::S_ENA.get(fuse2);
    let ss_mask = 0b1111 & !GEN8_FUSE2::SS_DIS.get(fuse2);
    assert_eq!(slice_mask, 0b1);
    assert_eq!(ss_mask, 0b0111);
    let eu_disable = rd(&mut v, GEN9_EU_DISABLE::OFFSET);
    let eus: u32 = (0..4)
        .filter(|ss| ss_mask & (1 << ss) != 0)
        .map(|ss| 8 - ((eu_disable >> (ss * 8)) & 0xff).count_ones())
        .sum();
    assert_eq!(eus, 24, "Skylake GT2 has 24 EUs");
    // Fuses are read-only.
    wr(&mut v, GEN8_FUSE2::OFFSET, 0);
    assert_eq!(rd(&mut v, GEN8_FUSE2::OFFSET), fuse2);
    assert_eq!(v.stats.ro_dropped, 1);
    let cap = rd(&mut v, GEN6_RP_STATE_CAP::OFFSET);
    let (rp0, rp1, rpn) = (
        GEN6_RP_STATE_CAP::RP0.get(cap),
        GEN6_RP_STATE_CAP::RP1.get(cap),
        GEN6_RP_STATE_CAP::RPN.get(cap),
    );
    assert!(rp0 > rp1 && rp1 > rpn && rpn > 0);
}

#[test]
fn forcewake_is_sane_and_acks_follow_requests() {
    let mut v = vregs();
    // sanity_check_mmio_access.
    assert_ne!(rd(&mut v, FORCEWAKE_MT::OFFSET), !0);
    for (req, ack) in [
        (
            FORCEWAKE_RENDER_GEN9::OFFSET,
            FORCEWAKE_ACK_RENDER_GEN9::OFFSET,
        ),
        (
            FORCEWAKE_MEDIA_GEN9::OFFSET,
            FORCEWAKE_ACK_MEDIA_GEN9::OFFSET,
        ),
        (FORCEWAKE_MT::OFFSET, FORCEWAKE_ACK_GT_GEN9::OFFSET),
    ] {
        wr(&mut v, req, masked_en(1));
        assert_eq!(rd(&mut v, ack) & 1, 1);
        assert_eq!(rd(&mut v, req), 1, "masked: upper half reads 0");
        wr(&mut v, req, masked_dis(1));
        assert_eq!(rd(&mut v, ack) & 1, 0);
    }
    assert_eq!(v.untracked().count(), 0);
}

#[test]
fn iir_is_write_one_to_clear_as_gen3_irq_reset() {
    let mut v = vregs();
    for bank in BANKS {
        v.raise(bank, 0x8001_0001);
        let (imr, iir, ier) = (bank.base() + 4, bank.base() + 8, bank.base() + 0xc);
        assert_eq!(rd(&mut v, iir), 0x8001_0001, "{bank:?}");
        // gen3_irq_reset: mask all, disable, clear twice.
        wr(&mut v, imr, !0);
        wr(&mut v, ier, 0);
        wr(&mut v, iir, !0);
        wr(&mut v, iir, !0);
        // gen3_assert_iir_is_zero.
        assert_eq!(rd(&mut v, iir), 0, "{bank:?}");
        assert_eq!(rd(&mut v, imr), !0);
        // Masked events do not latch.
        v.raise(bank, 0xffff_ffff);
        assert_eq!(rd(&mut v, iir), 0);
        // ISR is read-only.
        wr(&mut v, bank.base(), !0);
        assert_eq!(rd(&mut v, bank.base()), 0);
    }
    // Writing 1s only clears the bits written.
    let iir = Bank::Gt(0).base() + 8;
    wr(&mut v, Bank::Gt(0).base() + 4, 0);
    v.raise(Bank::Gt(0), 0b1111);
    wr(&mut v, iir, 0b0101);
    assert_eq!(rd(&mut v, iir), 0b1010);
    v.write(iir + 1, &[0xff]);
    assert_eq!(rd(&mut v, iir), 0b1010, "a byte write clears only its byte");
}

#[test]
fn master_interrupt_as_gen8_irq_handler() {
    let mut v = vregs();
    let master = GEN8_MASTER_IRQ::OFFSET;
    let rcs = Bank::Gt(0);
    // Postinstall: unmask and enable user interrupts, enable master.
    wr(&mut v, rcs.base() + 4, !1);
    wr(&mut v, rcs.base() + 0xc, 1);
    v.raise(rcs, 1);
    assert!(!v.irq_pending(), "master off");
    wr(&mut v, master, 0xffff_ffff);
    assert_eq!(
        rd(&mut v, master),
        1 << 31 | 1,
        "control and GT RCS pending"
    );
    assert!(v.irq_pending());
    // The handler: read master, disable, clear the IIR, re-enable.
    wr(&mut v, master, 0);
    assert!(!v.irq_pending());
    wr(&mut v, rcs.base() + 8, 1);
    wr(&mut v, master, 1 << 31);
    assert!(!v.irq_pending());
    assert_eq!(rd(&mut v, master), 1 << 31);
    // An event not enabled in IER latches but does not interrupt.
    v.raise(rcs, 2);
    assert!(!v.irq_pending());
    // BCS sits in the high half and drives master bit 1; PCH bit 23.
    wr(&mut v, rcs.base() + 4, !(1 << 16));
    wr(&mut v, rcs.base() + 0xc, 1 << 16);
    v.raise(rcs, 1 << 16);
    assert_eq!(rd(&mut v, master), 1 << 31 | 1 << 1);
    wr(&mut v, Bank::Pch.base() + 0xc, !0);
    v.raise(Bank::Pch, 4);
    assert_eq!(rd(&mut v, master), 1 << 31 | 1 << 1 | 1 << 23);
}

#[test]
fn masked_registers() {
    let mut v = vregs();
    // RING_MODE_GEN7 is masked too, with its own rules (bit 0 never
    // sticks): `mmio::tests::engine_registers_are_the_engines`.
    for off in MASKED.iter().copied() {
        wr(&mut v, off, masked_en(0b101));
        wr(&mut v, off, 0x0000_0002);
        assert_eq!(rd(&mut v, off), 0b101, "{off:#x}: unselected bits stay");
        wr(&mut v, off, masked_dis(0b100));
        assert_eq!(rd(&mut v, off), 0b001, "{off:#x}");
        // A 16-bit write of the low half alone changes nothing.
        v.write(off, &[0xff, 0xff]);
        assert_eq!(rd(&mut v, off), 0b001, "{off:#x}");
    }
    assert_eq!(v.untracked().count(), 0);
}

#[test]
fn engine_reset_and_stop_handshakes() {
    let mut v = vregs();
    for (_, base) in ENGINES {
        let ctl = base + RING_RESET_CTL::OFFSET;
        let ready = RING_RESET_CTL::READY_TO_RESET.mask();
        // gen8_engine_reset_prepare, then reset_finish.
        wr(&mut v, ctl, masked_en(RING_RESET_CTL::REQUEST_RESET.mask()));
        assert_eq!(rd(&mut v, ctl) & ready, ready);
        wr(
            &mut v,
            ctl,
            masked_dis(RING_RESET_CTL::REQUEST_RESET.mask()),
        );
        assert_eq!(rd(&mut v, ctl) & ready, 0);
        // The guest cannot fake readiness.
        wr(&mut v, ctl, masked_en(ready));
        assert_eq!(rd(&mut v, ctl) & ready, 0);
        // intel_engine_stop_cs: STOP_RING, then wait for MODE_IDLE.
        let mode = base + RING_MI_MODE::OFFSET;
        let idle = RING_MI_MODE::MODE_IDLE.mask();
        wr(&mut v, mode, masked_en(RING_MI_MODE::STOP_RING.mask()));
        assert_eq!(rd(&mut v, mode) & idle, idle);
        wr(&mut v, mode, masked_dis(RING_MI_MODE::STOP_RING.mask()));
        assert_eq!(rd(&mut v, mode) & idle, 0);
        wr(&mut v, mode, masked_en(idle));
        assert_eq!(rd(&mut v, mode) & idle, 0);
    }
    assert_eq!(v.stats.engine_resets, 4);
    // gen6_hw_domain_reset: the bits read back 0 at once.
    wr(&mut v, GEN6_GDRST::OFFSET, GEN6_GDRST::GRDOM_FULL.mask());
    assert_eq!(rd(&mut v, GEN6_GDRST::OFFSET), 0);
    assert_eq!(v.stats.gdrst, 1);
}

/// `__snb_pcode_rw` of i915 against the model.
fn pcode_rw(v: &mut Vregs<Std>, mbox: u32, val: u32) -> Result<u32, u32> {
    let ready = GEN6_PCODE_MAILBOX::READY.mask();
    assert_eq!(rd(v, GEN6_PCODE_MAILBOX::OFFSET) & ready, 0, "EAGAIN");
    wr(v, GEN6_PCODE_DATA::OFFSET, val);
    wr(v, GEN6_PCODE_DATA1::OFFSET, 0);
    wr(v, GEN6_PCODE_MAILBOX::OFFSET, ready | mbox);
    let m = rd(v, GEN6_PCODE_MAILBOX::OFFSET);
    assert_eq!(m & ready, 0, "completes at once");
    match GEN6_PCODE_MAILBOX::ERROR.get(m) {
        0 => Ok(rd(v, GEN6_PCODE_DATA::OFFSET)),
        e => Err(e),
    }
}

#[test]
fn pcode_mailbox() {
    let mut v = vregs();
    assert_eq!(
        pcode_rw(&mut v, pcode::READ_MEM_LATENCY, 0),
        Ok(0x1e1a_1100)
    );
    assert_eq!(
        pcode_rw(&mut v, pcode::READ_MEM_LATENCY, 1),
        Ok(0x6151_4b3d)
    );
    assert_eq!(
        pcode_rw(&mut v, pcode::SKL_CDCLK_CONTROL, 0),
        Ok(pcode::SKL_CDCLK_READY_FOR_CHANGE)
    );
    assert_eq!(pcode_rw(&mut v, pcode::READ_RC6VIDS, 0x40), Ok(0x41));
    // HSW_PCODE_DYNAMIC_DUTY_CYCLE_CONTROL (0x1a) with a parameter.
    assert_eq!(pcode_rw(&mut v, 0x1a | 0x300, 7), Ok(7));
    assert_eq!(v.stats.pcode, 5);
}

#[test]
fn fences_are_storage() {
    let mut v = vregs();
    for i in 0..NUM_FENCES {
        let off = FENCE_REG_GEN6::OFFSET + 8 * i;
        v.write(
            off,
            &(0x1234_5000_0000_0001u64 + u64::from(i)).to_le_bytes(),
        );
    }
    for i in 0..NUM_FENCES {
        let mut b = [0u8; 8];
        v.read(FENCE_REG_GEN6::OFFSET + 8 * i, &mut b);
        assert_eq!(u64::from_le_bytes(b), 0x1234_5000_0000_0001 + u64::from(i));
    }
    assert_eq!(v.untracked().count(), 0);
}

#[test]
fn mocs_tables_are_storage_as_intel_mocs_init() {
    let mut v = vregs();
    // i915 writes every entry of the five engines' tables and the L3
    // entries at init (a stock guest: some 350 dwords).
    for (i, off) in MOCS
        .clone()
        .step_by(4)
        .chain(LNCFCMOCS.step_by(4))
        .enumerate()
    {
        wr(&mut v, off, 0x30 + i as u32);
        assert_eq!(rd(&mut v, off), 0x30 + i as u32, "{off:#x}");
    }
    assert_eq!(v.untracked().count(), 0);
    assert_eq!(v.untracked_overflow(), (0, 0));
    // Just past each table is not known.
    wr(&mut v, MOCS.end, 1);
    wr(&mut v, LNCFCMOCS.end, 1);
    assert_eq!(v.untracked().count(), 2);
}

#[test]
fn power_handshakes() {
    let mut v = vregs();
    assert_eq!(rd(&mut v, SKL_FUSE_STATUS::OFFSET) >> 25, 0b100_0111);
    // Power well 1 (request bit 3) and 2 (request bit 5).
    wr(&mut v, HSW_PWR_WELL_CTL2::OFFSET, 1 << 3 | 1 << 5);
    assert_eq!(rd(&mut v, HSW_PWR_WELL_CTL2::OFFSET), 0b11_1100);
    wr(&mut v, HSW_PWR_WELL_CTL2::OFFSET, 1 << 5);
    assert_eq!(rd(&mut v, HSW_PWR_WELL_CTL2::OFFSET), 0b11_0000);
    wr(
        &mut v,
        DBUF_CTL_S1::OFFSET,
        DBUF_CTL_S1::POWER_REQUEST.mask(),
    );
    assert_ne!(
        rd(&mut v, DBUF_CTL_S1::OFFSET) & DBUF_CTL_S1::POWER_STATE.mask(),
        0
    );
    wr(&mut v, LCPLL1_CTL::OFFSET, LCPLL1_CTL::PLL_ENABLE.mask());
    assert_ne!(
        rd(&mut v, LCPLL1_CTL::OFFSET) & LCPLL1_CTL::PLL_LOCK.mask(),
        0
    );
}

#[test]
fn tlb_invalidation_completes_and_dplls_lock() {
    let mut v = vregs();
    for i in 0..NUM_TLB_CR {
        let cr = GEN8_RTCR::OFFSET + 4 * i;
        // mmio_invalidate_full: write the request, wait for it to clear.
        wr(&mut v, cr, 1);
        assert_eq!(rd(&mut v, cr), 0);
    }
    assert_eq!(v.stats.tlb_invalidations, 5);
    assert_eq!(rd(&mut v, DPLL_STATUS::OFFSET), 0);
    wr(&mut v, DPLL_ENABLES[0], 1 << 31);
    wr(&mut v, DPLL_ENABLES[2], 1 << 31);
    assert_eq!(rd(&mut v, DPLL_STATUS::OFFSET), 1 | 1 << 16);
    wr(&mut v, DPLL_STATUS::OFFSET, !0);
    assert_eq!(rd(&mut v, DPLL_STATUS::OFFSET), 1 | 1 << 16, "read-only");
    assert_eq!(v.untracked().count(), 1, "WRPLL1 enable is plain storage");
}

#[test]
fn untracked_offsets_are_storage_and_counted() {
    let mut v = vregs();
    wr(&mut v, 0x4_0000, 0xdead_beef);
    assert_eq!(rd(&mut v, 0x4_0000), 0xdead_beef);
    let mut b = [0u8; 8];
    v.read(0x4_0000, &mut b);
    let got: std::vec::Vec<_> = v.untracked().copied().collect();
    assert_eq!(
        got,
        [
            UntrackedEntry {
                offset: 0x4_0000,
                reads: 2,
                writes: 1
            },
            UntrackedEntry {
                offset: 0x4_0004,
                reads: 1,
                writes: 0
            },
        ]
    );
    // Modelled registers and the PV info page are not counted.
    rd(&mut v, GEN8_FUSE2::OFFSET);
    rd(&mut v, crate::pvinfo::VGT_PVINFO_PAGE);
    assert_eq!(v.untracked().count(), 2);
    // The table is bounded; the rest is one overflow count.
    for i in 0..300 {
        wr(&mut v, 0x5_0000 + 4 * i, i);
    }
    assert_eq!(v.untracked().count(), untracked::CAPACITY);
    assert_eq!(v.untracked_overflow(), (0, 300 - 254));
    let offs: std::vec::Vec<_> = v.untracked().map(|e| e.offset).collect();
    assert!(
        offs.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
    // Past the table, storage still works.
    assert_eq!(rd(&mut v, 0x5_0000 + 4 * 299), 299);
}

proptest! {
    /// Any sequence of writes and raises keeps the invariants i915 relies
    /// on, and the line equals gen8's rule computed from the registers.
    #[test]
    fn model_invariants(ops in proptest::collection::vec(
        (0usize..8, any::<u32>(), any::<u32>(), 0usize..BANKS.len()), 0..64)
    ) {
        let mut v = vregs();
        let masked_offs: std::vec::Vec<u32> = MASKED.to_vec();
        for (what, a, b, bank) in ops {
            let bank = BANKS[bank];
            match what {
                0 => v.raise(bank, a),
                1 => wr(&mut v, bank.base() + 4 * (b % 4), a),
                2 => wr(&mut v, GEN8_MASTER_IRQ::OFFSET, a),
                3 => wr(&mut v, masked_offs[b as usize % masked_offs.len()], a),
                4 => wr(&mut v, ENGINES[b as usize % 4].1 + [0x9c, 0xd0, 0xc0, 0x29c][(b / 4) as usize % 4], a),
                5 => wr(&mut v, GEN6_PCODE_MAILBOX::OFFSET, a),
                6 => wr(&mut v, 0x6_0000 + 4 * (b % 16), a),
                _ => wr(&mut v, GEN6_GDRST::OFFSET, a),
            }
            for off in masked_offs.iter().copied().chain(ENGINES.iter().map(|(_, b)| b + 0x9c)) {
                prop_assert_eq!(rd(&mut v, off) >> 16, 0);
            }
            for (_, base) in ENGINES {
                let m = rd(&mut v, base + 0x9c);
                prop_assert_eq!(RING_MI_MODE::MODE_IDLE.get(m), RING_MI_MODE::STOP_RING.get(m));
                let c = rd(&mut v, base + 0xd0);
                prop_assert_eq!(RING_RESET_CTL::READY_TO_RESET.get(c), RING_RESET_CTL::REQUEST_RESET.get(c));
            }
            prop_assert_eq!(rd(&mut v, GEN6_PCODE_MAILBOX::OFFSET) & GEN6_PCODE_MAILBOX::READY.mask(), 0);
            prop_assert_eq!(rd(&mut v, GEN6_GDRST::OFFSET), 0);
            let master = rd(&mut v, GEN8_MASTER_IRQ::OFFSET);
            let any_enabled = BANKS.iter().any(|b| {
                let (iir, ier) = (v.reg(b.base() + 8), v.reg(b.base() + 0xc));
                let live = iir & ier;
                // Bits gen8 routes nowhere (GT3's high half) never interrupt.
                let routed: u32 = b.upstream().iter().map(|(_, m)| *m).fold(0, |a, m| a | m);
                live & routed != 0
            });
            prop_assert_eq!(v.irq_pending(), master >> 31 == 1 && any_enabled);
        }
    }
}

#[test]
fn reset_restores_registers_and_keeps_counts() {
    let mut v = vregs();
    let fresh = vregs();
    wr(&mut v, 0x4_0000, 5);
    wr(&mut v, GEN8_MASTER_IRQ::OFFSET, 1 << 31);
    wr(&mut v, RING_MI_MODE::OFFSET + 0x2000, masked_en(1 << 8));
    v.reset(&pv());
    for off in (0..MMIO_SIZE).step_by(4) {
        assert_eq!(v.reg(off), fresh.reg(off), "{off:#x}");
    }
    assert_eq!(v.untracked().count(), 1);
    assert_eq!(v.stats.writes, 3);
}
