//! Per-vGPU statistics of the shadow tables, owned here and printed by debugfs.

/// Counters of one vGPU's shadow tables.
///
/// Fields named `*_now` are gauges (current values); all others only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Trapped writes to PML4 pages.
    pub traps_pml4: u64,
    /// Trapped writes to PDP pages.
    pub traps_pdp: u64,
    /// Trapped writes to PD pages.
    pub traps_pd: u64,
    /// Trapped writes to PT pages.
    pub traps_pt: u64,
    /// Trapped writes to frames with no shadow page (raced with an unshadow).
    pub traps_spurious: u64,
    /// Writes emulated into the guest copy and the shadow.
    pub emulated_writes: u64,
    /// 4-byte writes to half of an 8-byte entry.
    pub partial_writes: u64,
    /// Writes of another size or misaligned (the entries were resynced instead).
    pub rejected_writes: u64,
    /// Guest entries pointing outside guest memory, mapped to scratch.
    pub bad_frames: u64,
    /// 1 GB entries, which are not supported and map to scratch.
    pub huge_1g: u64,
    /// 2 MB entries split into 4 KB shadow entries.
    pub split_2m: u64,
    /// 64 KB entries split into 4 KB shadow entries.
    pub split_64k: u64,
    /// Shadow pages refused because the page bound was reached.
    pub page_limit: u64,
    /// Strict to relaxed transitions.
    pub to_relaxed: u64,
    /// Relaxed to strict transitions.
    pub to_strict: u64,
    /// Relaxed pages synced early because the pool was full.
    pub evictions: u64,
    /// Page reconstructions (relaxed pages rebuilt from the guest).
    pub reconstructions: u64,
    /// Guest entries compared during reconstruction.
    pub ptes_compared: u64,
    /// Shadow entries rebuilt during reconstruction.
    pub ptes_rebuilt: u64,
    /// Workload submissions seen by the "before a workload runs" hook.
    pub submissions: u64,
    /// Shadow page-table pages (including split pages) now.
    pub pages_now: u64,
    /// Shadow pages in strict mode now.
    pub strict_now: u64,
    /// Shadow pages in relaxed mode now.
    pub relaxed_now: u64,
    /// Guest frames pinned by shadow entries now.
    pub pins_now: u64,
    /// Entries parked on scratch waiting for their other half now.
    pub parked_now: u64,
}

impl Counters {
    /// Calls `f` with each counter's name and value, in declaration order.
    pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("traps_pml4", self.traps_pml4);
        f("traps_pdp", self.traps_pdp);
        f("traps_pd", self.traps_pd);
        f("traps_pt", self.traps_pt);
        f("traps_spurious", self.traps_spurious);
        f("emulated_writes", self.emulated_writes);
        f("partial_writes", self.partial_writes);
        f("rejected_writes", self.rejected_writes);
        f("bad_frames", self.bad_frames);
        f("huge_1g", self.huge_1g);
        f("split_2m", self.split_2m);
        f("split_64k", self.split_64k);
        f("page_limit", self.page_limit);
        f("to_relaxed", self.to_relaxed);
        f("to_strict", self.to_strict);
        f("evictions", self.evictions);
        f("reconstructions", self.reconstructions);
        f("ptes_compared", self.ptes_compared);
        f("ptes_rebuilt", self.ptes_rebuilt);
        f("submissions", self.submissions);
        f("pages_now", self.pages_now);
        f("strict_now", self.strict_now);
        f("relaxed_now", self.relaxed_now);
        f("pins_now", self.pins_now);
        f("parked_now", self.parked_now);
    }

    /// All trapped writes, whatever the level.
    pub fn traps(&self) -> u64 {
        self.traps_pml4 + self.traps_pdp + self.traps_pd + self.traps_pt
    }
}
