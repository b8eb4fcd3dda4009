//! Tables with aligned columns and human-readable sizes.

use std::fmt::Write;

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: padded on the right.
    Left,
    /// Numbers: padded on the left.
    Right,
}

/// A table printed with a header row and columns as wide as their widest cell.
#[derive(Debug)]
pub struct Table {
    header: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names and alignments.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            header: columns.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, each line ending in a newline, without trailing blanks.
    pub fn render(&self) -> String {
        let mut width: Vec<usize> = self.header.iter().map(|(h, _)| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|(h, _)| h.clone()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, ((_, align), w)) in self.header.iter().zip(&width).enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(cell.chars().count());
                if i > 0 {
                    line.push_str("  ");
                }
                match align {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad));
                    }
                    Align::Right => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    }
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
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
