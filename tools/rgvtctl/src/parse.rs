//! Parsers for what rgvt prints in sysfs and debugfs.
//!
//! Each takes the text of one file and returns `None` (or skips a line) on
//! input it does not understand, so a newer module with more fields still
//! shows what this tool knows about. The debugfs formats are described in
//! `Documentation/rgvt/debugfs.rst` and are not a stable ABI.

use serde::Serialize;

/// The `description` of an mdev type, in GVT-g's format.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TypeDesc {
    /// Low (mappable) graphics memory in bytes.
    pub low_gm: u64,
    /// High graphics memory in bytes.
    pub high_gm: u64,
    /// Fence registers.
    pub fence: u32,
    /// Resolution of the virtual display.
    pub resolution: String,
    /// Scheduling weight.
    pub weight: u32,
    /// Whether the high-GM slots may be shared with other vGPUs (gScale).
    pub shared: bool,
}

/// Parses a number with a `MB` suffix (`"128MB"`) into bytes.
fn megabytes(v: &str) -> Option<u64> {
    let n: u64 = v.trim().strip_suffix("MB")?.trim().parse().ok()?;
    n.checked_mul(1 << 20)
}

/// Parses a type's `description` ("low_gm_size: 128MB" ... one per line).
pub fn description(text: &str) -> TypeDesc {
    let mut d = TypeDesc::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "low_gm_size" => d.low_gm = megabytes(value).unwrap_or(0),
            "high_gm_size" => d.high_gm = megabytes(value).unwrap_or(0),
            "fence" => d.fence = value.parse().unwrap_or(0),
            "resolution" => d.resolution = value.to_string(),
            "weight" => d.weight = value.parse().unwrap_or(0),
            "high_gm_shared" => d.shared = value == "yes",
            _ => {}
        }
    }
    d
}

/// Parses an unsigned integer written in hex with `0x` or in decimal.
pub fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses a list of ranges like a cpulist (`"0-2,7"`) into its members.
pub fn ranges(s: &str) -> Option<Vec<u32>> {
    let s = s.trim();
    let mut out = Vec::new();
    if s.is_empty() {
        return Some(out);
    }
    for part in s.split(',') {
        let (a, b): (u32, u32) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let n = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if a > b {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
}

/// Writes members as ranges (`[0, 1, 2, 7]` as `"0-2,7"`); `"-"` when empty.
pub fn format_ranges(items: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let start = items[i];
        let mut end = start;
        while i + 1 < items.len() && items[i + 1] == end + 1 {
            i += 1;
            end = items[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(",")
    }
}

/// Parses `name value` lines (a vGPU's `counters` file), in file order.
pub fn counters(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let name = it.next()?;
            let value = number(it.next()?)?;
            Some((name.to_string(), value))
        })
        .collect()
}

/// One high-GM slot of the `slots` debugfs file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    /// Slot index.
    pub index: u32,
    /// First graphics address of the slot.
    pub gm_base: u64,
    /// The vGPU whose entries the physical GGTT holds there, if any.
    pub owner: Option<u32>,
    /// The vGPUs that hold the slot.
    pub holders: Vec<u32>,
}

/// The `slots` debugfs file: the slot map.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SlotMap {
    /// Slot size in bytes.
    #[serde(rename = "slot_bytes")]
    pub slot_size: u64,
    /// Graphics address of slot 0.
    pub base: u64,
    /// Slots held by two vGPUs or more, as the module counts them.
    pub shared: u32,
    /// The vGPU running now, if any.
    pub running: Option<u32>,
    /// Every slot, by index.
    pub slots: Vec<Slot>,
}

/// Parses a comma-separated id list, `-` for none.
fn ids(s: &str) -> Option<Vec<u32>> {
    if s == "-" {
        return Some(Vec::new());
    }
    s.split(',').map(|x| x.parse().ok()).collect()
}

/// Parses the summary line:
/// `slots 60 of 64 MB from 0x10000000; shared 28; running 0`.
fn slots_summary(line: &str, map: &mut SlotMap) -> Option<()> {
    for part in line.split(';') {
        let w: Vec<&str> = part.split_whitespace().collect();
        match w.as_slice() {
            ["slots", _n, "of", mb, "MB", "from", base] => {
                map.slot_size = mb.parse::<u64>().ok()? << 20;
                map.base = number(base)?;
            }
            ["shared", n] => map.shared = n.parse().ok()?,
            ["running", n] => map.running = Some(n.parse().ok()?).filter(|&r| r != 0),
            _ => {}
        }
    }
    Some(())
}

/// Parses the `slots` debugfs file; `None` if it has no summary line.
pub fn slots(text: &str) -> Option<SlotMap> {
    let mut lines = text.lines();
    let mut map = SlotMap::default();
    slots_summary(lines.next()?, &mut map)?;
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        let [index, base, owner, holders] = w.as_slice() else {
            continue;
        };
        let (Ok(index), Some(gm_base)) = (index.parse(), number(base)) else {
            continue; // the header line
        };
        map.slots.push(Slot {
            index,
            gm_base,
            owner: owner.parse().ok(),
            holders: ids(holders)?,
        });
    }
    Some(map)
}

/// A debugfs file read without knowing its exact format: its `key value`
/// pairs and its table.
///
/// This is how rgvtctl reads the files the module grows (per-engine and
/// shadow counters, the balloon's state and log): a line of `key value`
/// parts (separated by `;`, as the `slots` summary) gives values; a line of
/// three names or more is a table's header, and the lines with as many words
/// after it are its rows. Other lines are skipped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The `key value` pairs, in file order.
    pub values: Vec<(String, String)>,
    /// The last table's column names.
    pub columns: Vec<String>,
    /// Its rows, as many cells as columns each.
    pub rows: Vec<Vec<String>>,
}

/// Whether `w` names a column (a letter first, then letters, digits, `_`, `/`, `%`, `.`).
fn is_name(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_alphabetic())
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_/%.".contains(c))
}

/// Parses a file into a [`Sheet`].
pub fn sheet(text: &str) -> Sheet {
    let mut s = Sheet::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() || words[0].starts_with('#') {
            continue;
        }
        if !s.columns.is_empty() && words.len() == s.columns.len() {
            s.rows.push(words.iter().map(|w| w.to_string()).collect());
            continue;
        }
        let parts: Vec<Vec<&str>> = line
            .split(';')
            .map(|p| p.split_whitespace().collect())
            .collect();
        if parts.iter().all(|p| p.len() == 2 && is_name(p[0])) {
            s.values
                .extend(parts.iter().map(|p| (p[0].to_string(), p[1].to_string())));
        } else if words.len() >= 3 && !line.contains(';') && words.iter().all(|w| is_name(w)) {
            s.columns = words.iter().map(|w| w.to_string()).collect();
            s.rows.clear();
        }
    }
    s
}

/// The numbers of a file: its `name value` pairs, and each numeric cell of
/// its table as `<first cell>.<column>` (`rcs0.workloads`), in file order.
pub fn metrics(text: &str) -> Vec<(String, u64)> {
    let s = sheet(text);
    let mut out: Vec<(String, u64)> = s
        .values
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), number(v)?)))
        .collect();
    for row in &s.rows {
        for (col, cell) in s.columns.iter().zip(row).skip(1) {
            if let Some(v) = number(cell) {
                out.push((format!("{}.{col}", row[0]), v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_of_gvt_and_sharing_types() {
        let d = description(
            "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4\n",
        );
        assert_eq!(d.low_gm, 128 << 20);
        assert_eq!(d.high_gm, 512 << 20);
        assert_eq!((d.fence, d.weight, d.shared), (4, 4, false));
        assert_eq!(d.resolution, "1920x1200");
        let s = description("low_gm_size: 4MB\nhigh_gm_size: 384MB\nhigh_gm_shared: yes\n");
        assert!(s.shared);
        assert_eq!(s.low_gm, 4 << 20);
        assert_eq!(description("junk\nfence: x\n"), TypeDesc::default());
    }

    #[test]
    fn numbers_in_hex_and_decimal() {
        assert_eq!(number("0x4000000\n"), Some(0x400_0000));
        assert_eq!(number("12"), Some(12));
        assert_eq!(number("0xg"), None);
        assert_eq!(number(""), None);
    }

    #[test]
    fn range_lists_round_trip() {
        assert_eq!(ranges("0-2,7\n"), Some(vec![0, 1, 2, 7]));
        assert_eq!(ranges(""), Some(vec![]));
        assert_eq!(ranges("3-1"), None);
        assert_eq!(ranges("a"), None);
        assert_eq!(format_ranges(&[0, 1, 2, 7, 9, 10]), "0-2,7,9-10");
        assert_eq!(format_ranges(&[]), "-");
    }

    #[test]
    fn counter_lines() {
        let c = counters("reads 3\nwrites 0x10\nbroken\n");
        assert_eq!(c, vec![("reads".into(), 3), ("writes".into(), 16)]);
    }

    #[test]
    fn slot_map() {
        let text = "slots 3 of 64 MB from 0x10000000; shared 1; running 2\n\
                    slot gm_base owner holders\n\
                    0 0x10000000 - 1,11\n\
                    1 0x14000000 2 2\n\
                    2 0x18000000 - -\n";
        let m = slots(text).expect("parses");
        assert_eq!(m.slot_size, 64 << 20);
        assert_eq!(m.base, 0x1000_0000);
        assert_eq!((m.shared, m.running), (1, Some(2)));
        assert_eq!(m.slots.len(), 3);
        assert_eq!(m.slots[0].holders, vec![1, 11]);
        assert_eq!(m.slots[0].owner, None);
        assert_eq!(m.slots[1].owner, Some(2));
        assert!(m.slots[2].holders.is_empty());
        assert_eq!(
            slots("slots 1 of 64 MB from 0x0; shared 0; running 0\n").map(|m| m.running),
            Some(None)
        );
        assert_eq!(slots(""), None);
    }

    #[test]
    fn sheets_of_values_and_a_table() {
        let s = sheet(
            "balloon on; period_ms 500\nphi 0.42\n\
             period vgpu decision slots\n3 2 grant 1\n4 - shrink\nx 1 2 3 4\n5 7 reject 0\n",
        );
        assert_eq!(
            s.values,
            vec![
                ("balloon".into(), "on".into()),
                ("period_ms".into(), "500".into()),
                ("phi".into(), "0.42".into())
            ]
        );
        assert_eq!(s.columns, ["period", "vgpu", "decision", "slots"]);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[1], ["5", "7", "reject", "0"]);
        assert_eq!(sheet(""), Sheet::default());
    }

    #[test]
    fn metrics_of_counters_and_engine_tables() {
        let m = metrics("workloads 3\nname x\nengine workloads busy_ns\nrcs0 5 0x10\nbcs0 1 2\n");
        assert_eq!(
            m,
            vec![
                ("workloads".into(), 3),
                ("rcs0.workloads".into(), 5),
                ("rcs0.busy_ns".into(), 16),
                ("bcs0.workloads".into(), 1),
                ("bcs0.busy_ns".into(), 2),
            ]
        );
        // The counters file reads the same as with `counters`.
        let c = "reads 3\nwrites 0x10\n";
        assert_eq!(metrics(c), counters(c));
    }
}
