//! Tables with aligned columns and human-readable sizes.

use comfy_table::{presets, CellAlignment, ContentArrangement};

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: padded on the right.
    Left,
    /// Numbers: padded on the left.
    Right,
}

/// A table printed with a header row and columns as wide as their widest cell,
/// two blanks apart and without borders (`comfy-table` lays it out).
#[derive(Debug)]
pub struct Table {
    inner: comfy_table::Table,
}

impl Table {
    /// A table with these column names and alignments.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        let mut inner = comfy_table::Table::new();
        inner
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(columns.iter().map(|(n, _)| *n));
        let last = columns.len().saturating_sub(1);
        for (i, (_, align)) in columns.iter().enumerate() {
            if let Some(c) = inner.column_mut(i) {
                c.set_padding((0, if i == last { 0 } else { 2 }));
                c.set_cell_alignment(match align {
                    Align::Left => CellAlignment::Left,
                    Align::Right => CellAlignment::Right,
                });
            }
        }
        Self { inner }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub fn row(&mut self, mut cells: Vec<String>) {
        let n = self.inner.column_count();
        cells.resize(n, String::new());
        self.inner.add_row(cells);
    }

    /// The table as text, each line ending in a newline, without trailing blanks.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in self.inner.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

const KB: u64 = 1 << 10;
const MB: u64 = 1 << 20;
const GB: u64 = 1 << 30;

/// A byte count in the largest unit that divides it: `128 MB`, `4 GB`, `12 KB`.
pub fn size(bytes: u64) -> String {
    for (unit, name) in [(GB, "GB"), (MB, "MB"), (KB, "KB")] {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} B")
}

/// A graphics address range `[base, base + len)` as `0x04000000-0x0bffffff`.
pub fn range(base: u64, len: u64) -> String {
    let last = (base + len).saturating_sub(1).max(base);
    format!("{base:#010x}-{last:#010x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_the_largest_whole_unit() {
        assert_eq!(size(128 << 20), "128 MB");
        assert_eq!(size(4 << 30), "4 GB");
        assert_eq!(size(3840 << 20), "3840 MB");
        assert_eq!(size(8192), "8 KB");
        assert_eq!(size(100), "100 B");
        assert_eq!(size(0), "0 B");
    }

    #[test]
    fn ranges_show_the_last_address() {
        assert_eq!(range(0x400_0000, 0x800_0000), "0x04000000-0x0bffffff");
        assert_eq!(range(0x1000, 0), "0x00001000-0x00001000");
    }

    #[test]
    fn columns_align() {
        let mut t = Table::new(&[("NAME", Align::Left), ("N", Align::Right)]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["long name".into(), "123".into()]);
        t.row(vec!["short".into()]);
        assert_eq!(
            t.render(),
            "NAME         N\na            1\nlong name  123\nshort\n"
        );
    }
}
