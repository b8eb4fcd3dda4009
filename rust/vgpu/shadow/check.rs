// SPDX-License-Identifier: GPL-2.0

//! A self-check of the kernel's shadow PPGTT over a synthetic guest, shown
//! by `/sys/kernel/debug/rgvt/shadow_selfcheck`.
//!
//! Until the engine runs workloads, nothing else drives [`Shadow`] in the
//! kernel: this runs it with its real parts (kernel pages for the shadow,
//! the `full` rebuild, PV notifications, eviction, teardown) against a
//! guest whose memory is a few kernel pages, and prints one line per check
//! and a summary. A shadow page left allocated would show in kmemleak.

use super::{GuestFrames, Shadow, ENTRIES, MAX_TREES, POLICY, STORE_BASE};
use crate::page;
use crate::pte::Entry;
use crate::pvinfo::G2v;
use crate::shadow::Params;
use crate::storage::Vector;
use core::fmt::{self, Write};
use kernel::alloc::KVVec;
use kernel::prelude::*;

const ROOT: u64 = 1;
const PDP: u64 = 2;
const PD: u64 = 3;
const PT: u64 = 4;
const PT2: u64 = 5;
const ROOT2: u64 = 6;
const DATA: u64 = 10;
const NEW: u64 = 20;
/// Roots for the eviction check start here (empty PML4 pages).
const SPARE: u64 = 40;
/// Frames of the synthetic guest.
const FRAMES: u64 = SPARE + MAX_TREES as u64 + 1;

/// A guest whose memory is `FRAMES` zeroed kernel pages.
struct Guest {
    frames: KVVec<page::Table>,
}

impl Guest {
    fn new() -> Result<Self> {
        let mut frames = KVVec::new();
        for _ in 0..FRAMES {
            frames.try_push(page::Table::new()?)?;
        }
        Ok(Self { frames })
    }

    /// An untrapped guest write of entry `index` of page `gfn`.
    fn set(&mut self, gfn: u64, index: usize, value: u64) {
        if let Some(t) = usize::try_from(gfn)
            .ok()
            .and_then(|g| self.frames.get_mut(g))
        {
            t.write(index, value);
        }
    }
}

impl GuestFrames for Guest {
    fn read_entries(&self, gfn: u64, first: usize, out: &mut [u64]) -> Result {
        let g = usize::try_from(gfn).map_err(|_| EFAULT)?;
        let t = self.frames.get(g).ok_or(EFAULT)?;
        if first
            .checked_add(out.len())
            .map_or(true, |end| end > ENTRIES)
        {
            return Err(EINVAL);
        }
        for (k, e) in out.iter_mut().enumerate() {
            *e = t.read(first + k).ok_or(EINVAL)?;
        }
        Ok(())
    }

    fn probe(&self, gfn: u64) -> Result {
        if gfn < FRAMES {
            Ok(())
        } else {
            Err(EFAULT)
        }
    }
}

fn ptr(gfn: u64) -> u64 {
    Entry::pointer(gfn).raw()
}

fn va(pml4: u64, pdp: u64, pd: u64, pt: u64) -> u64 {
    (pml4 << 39) | (pdp << 30) | (pd << 21) | (pt << 12)
}

/// Lines of results and their tally.
struct Report<'a, W: Write> {
    out: &'a mut W,
    passed: u32,
    failed: u32,
}

impl<W: Write> Report<'_, W> {
    fn check(&mut self, name: &str, ok: bool) -> fmt::Result {
        if ok {
            self.passed += 1;
            writeln!(self.out, "ok {name}")
        } else {
            self.failed += 1;
            writeln!(self.out, "FAIL {name}")
        }
    }
}

/// Runs every check, printing one line each and a summary line
/// `shadow selfcheck: N passed, M failed`.
pub(crate) fn run(out: &mut impl Write) -> fmt::Result {
    let mut r = Report {
        out,
        passed: 0,
        failed: 0,
    };
    match Guest::new() {
        Ok(mut g) => checks(&mut r, &mut g)?,
        Err(e) => {
            r.failed += 1;
            writeln!(r.out, "FAIL setup: {e:?}")?;
        }
    }
    writeln!(
        r.out,
        "shadow selfcheck: {} passed, {} failed",
        r.passed, r.failed
    )
}

fn checks<W: Write>(r: &mut Report<'_, W>, g: &mut Guest) -> fmt::Result {
    g.set(ROOT, 0, ptr(PDP));
    g.set(PDP, 0, ptr(PD));
    g.set(PD, 0, ptr(PT));
    for i in 0..8 {
        g.set(PT, i, ptr(DATA + i as u64));
    }
    // Outside the guest's memory, and the name of a shadow page.
    g.set(PT, 8, ptr(FRAMES + 5));
    g.set(PT, 9, ptr(STORE_BASE));
    let mut sh = Shadow::new(Params::default(), None);
    r.check("policy_is_full_untracked", sh.effective_policy() == POLICY)?;
    r.check("no_tree_before_prepare", sh.translate(ROOT, 0).is_none())?;

    r.check("prepare_builds_on_first_use", sh.prepare(&*g, ROOT).is_ok())?;
    r.check(
        "one_tree_built_on_use",
        sh.trees() == 1 && sh.stats().built_on_use == 1,
    )?;
    r.check(
        "pte_maps_guest_frame",
        sh.translate(ROOT, va(0, 0, 0, 3) + 0x123) == Some((DATA + 3, 0x123)),
    )?;
    r.check(
        "bits_above_47_ignored",
        sh.translate(ROOT, (0xffff << 48) | va(0, 0, 0, 3)) == Some((DATA + 3, 0)),
    )?;
    r.check(
        "not_present_is_none",
        sh.translate(ROOT, va(0, 0, 0, 100)).is_none(),
    )?;
    r.check(
        "bad_frames_map_nothing",
        sh.translate(ROOT, va(0, 0, 0, 8)).is_none()
            && sh.translate(ROOT, va(0, 0, 0, 9)).is_none()
            && sh.counters().bad_frames == 2,
    )?;

    // Between two workloads the guest remaps a page; no write traps.
    g.set(PT, 3, ptr(NEW));
    let rebuilt = sh.counters().ptes_rebuilt;
    r.check(
        "stale_until_prepare",
        sh.translate(ROOT, va(0, 0, 0, 3)) == Some((DATA + 3, 0)),
    )?;
    r.check("prepare_again", sh.prepare(&*g, ROOT).is_ok())?;
    r.check(
        "pte_change_seen_after_prepare",
        sh.translate(ROOT, va(0, 0, 0, 3)) == Some((NEW, 0))
            && sh.counters().ptes_rebuilt == rebuilt + 1
            && sh.stats().rebuilds == 2,
    )?;
    g.set(PT2, 0, ptr(NEW + 1));
    g.set(PD, 1, ptr(PT2));
    let _ = sh.prepare(&*g, ROOT);
    r.check(
        "pde_change_seen",
        sh.translate(ROOT, va(0, 0, 1, 0)) == Some((NEW + 1, 0)),
    )?;
    g.set(ROOT, 1, ptr(PDP));
    let _ = sh.prepare(&*g, ROOT);
    r.check(
        "pml4e_change_seen",
        sh.translate(ROOT, va(1, 0, 0, 3)) == Some((NEW, 0)),
    )?;
    g.set(PD, 0, 0);
    let _ = sh.prepare(&*g, ROOT);
    r.check(
        "unmapped_pde_maps_nothing",
        sh.translate(ROOT, va(0, 0, 0, 3)).is_none()
            && sh.translate(ROOT, va(1, 0, 0, 3)).is_none(),
    )?;

    // PV notifications: the PML4's address in pdp[0].
    g.set(ROOT2, 0, ptr(PDP));
    sh.pv_notify(&*g, G2v::PpgttL4Create, ROOT2 << 12);
    r.check(
        "pv_create_attaches",
        sh.trees() == 2 && sh.translate(ROOT2, va(0, 0, 1, 0)) == Some((NEW + 1, 0)),
    )?;
    sh.pv_notify(&*g, G2v::PpgttL4Destroy, ROOT2 << 12);
    r.check("pv_destroy_detaches", sh.trees() == 1)?;
    sh.pv_notify(&*g, G2v::PpgttL4Destroy, ROOT2 << 12);
    sh.pv_notify(&*g, G2v::PpgttL4Create, (ROOT2 << 12) | 8);
    sh.pv_notify(&*g, G2v::PpgttL3Create, 0);
    let s = *sh.stats();
    r.check(
        "pv_counted_either_way",
        s.pv_l4_creates == 2
            && s.pv_l4_destroys == 2
            && s.pv_unknown == 1
            && s.pv_bad == 1
            && s.pv_l3 == 1
            && sh.trees() == 1,
    )?;
    r.check(
        "root_outside_guest_refused",
        sh.prepare(&*g, FRAMES + 1).is_err() && sh.stats().root_errors == 1 && sh.trees() == 1,
    )?;

    // More roots than trees: the least recently used unheld tree goes.
    let held = SPARE;
    let _ = sh.attach(&*g, held);
    let mut ok = true;
    for root in SPARE + 1..FRAMES {
        ok &= sh.prepare(&*g, root).is_ok();
    }
    let mut has_root = false;
    let mut has_held = false;
    sh.for_each_tree(|gfn, _, _| {
        has_root |= gfn == ROOT;
        has_held |= gfn == held;
    });
    r.check(
        "trees_bounded_lru_evicted",
        ok && sh.trees() == MAX_TREES && sh.stats().evictions >= 1 && !has_root && has_held,
    )?;
    r.check(
        "detach_frees_held_tree",
        sh.detach(held).is_ok() && sh.trees() == MAX_TREES - 1,
    )?;

    sh.clear();
    let c = sh.counters();
    r.check(
        "clear_frees_every_tree",
        sh.trees() == 0 && c.pages_now == 0 && c.pins_now == 0 && sh.store_pages() == 4,
    )?;
    r.check(
        "usable_after_clear",
        sh.prepare(&*g, ROOT).is_ok() && sh.translate(ROOT, va(0, 0, 1, 0)) == Some((NEW + 1, 0)),
    )?;
    // Dropped here with a tree live: `Drop` frees it and the scratch pages.
    drop(sh);
    Ok(())
}
