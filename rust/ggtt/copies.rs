// SPDX-License-Identifier: GPL-2.0

//! The GTT copy counters of switches (`crate::ggtt::switch`), kept under
//! the GM lock (`GmState::switch`) and shown by debugfs `gpu`.

/// Switch counters of the whole GPU, for debugfs `gpu` and the balance
/// policy.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    /// Switches made (`HostGgtt::switch_in` calls that succeeded).
    pub(crate) switches: u64,
    /// Switches that copied nothing: every slot was already the vGPU's.
    pub(crate) switches_free: u64,
    /// Slots copied by switches.
    pub(crate) slots: u64,
    /// Entries copied by switches.
    pub(crate) entries: u64,
    /// Slots copied ahead of their vGPU's switch.
    pub(crate) prefetch_slots: u64,
    /// Entries copied ahead.
    pub(crate) prefetch_entries: u64,
    /// Entries copied into slots a running vGPU gained (after a grant).
    pub(crate) sync_entries: u64,
    /// Time spent copying entries, all kinds, in ns.
    pub(crate) copy_ns: u64,
    /// The longest single switch, in ns.
    pub(crate) max_switch_ns: u64,
}

impl Counters {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("switches", self.switches);
        f("switches_free", self.switches_free);
        f("switch_slots_copied", self.slots);
        f("switch_entries_copied", self.entries);
        f("prefetch_slots_copied", self.prefetch_slots);
        f("prefetch_entries_copied", self.prefetch_entries);
        f("sync_entries_copied", self.sync_entries);
        f("copy_ns", self.copy_ns);
        f("max_switch_ns", self.max_switch_ns);
    }
}
