//! `rgvtctl balloon [log]`: the balloon's tunables, the policy's state and its decisions.
//!
//! The tunables are sysfs (`/sys/kernel/rgvt/balloon*`). The state (Φ, W,
//! C, where W came from) and the decision log are debugfs files of the
//! balloon worker, `rgvt/balloon` (and `rgvt/balloon_log` if the module
//! keeps the log apart), read as [`parse::Sheet`]s: `key value` pairs for the
//! state, a header line and rows for the log, whatever the columns are. A
//! module without the worker has neither file, and rgvtctl says so.

use crate::cmd::{emit, Format};
use crate::parse::{self, Sheet};
use crate::sys::{Result, Sys};
use crate::table::{Align, Table};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The debugfs files read, in order; the log is the last table found.
const FILES: &[&str] = &["balloon", "balloon_log"];

/// How many decisions `rgvtctl balloon` shows (`balloon log` shows all).
const RECENT: usize = 10;

/// A cell as JSON: a number when it reads as one, else a string; `-` is `null`.
pub fn value(cell: &str) -> Value {
    if cell == "-" {
        return Value::Null;
    }
    if let Some(n) = parse::number(cell) {
        return Value::from(n);
    }
    match cell.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::from(cell),
    }
}

/// What the balloon worker shows in debugfs.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Worker {
    /// Whether any of the files exists.
    pub present: bool,
    /// Their `key value` pairs.
    pub state: Vec<(String, String)>,
    /// The log's column names.
    pub columns: Vec<String>,
    /// The log's rows, oldest first.
    pub rows: Vec<Vec<String>>,
}

impl Worker {
    /// Reads the balloon's debugfs files.
    pub fn read(sys: &Sys) -> Self {
        let mut d = Worker::default();
        for f in FILES {
            let Some(Sheet {
                values,
                columns,
                rows,
            }) = sys.debug_sheet(f)
            else {
                continue;
            };
            d.present = true;
            d.state.extend(values);
            if !columns.is_empty() {
                d.columns = columns;
                d.rows = rows;
            }
        }
        d
    }

    /// A state value by key (`phi`, `w`, `c`, ...).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.state
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// A column's index, by one of its usual names.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| names.contains(&c.as_str()))
    }

    /// The last decision about vGPU `id`, as `column=value` words
    /// (the row's period/time column and vGPU column left out).
    pub fn last_for(&self, id: u32) -> Option<String> {
        let v = self.column(&["vgpu", "vgpu_id", "id"])?;
        let row = self
            .rows
            .iter()
            .rev()
            .find(|r| parse::number(&r[v]) == Some(u64::from(id)))?;
        Some(
            self.columns
                .iter()
                .zip(row)
                .enumerate()
                .filter(|(i, (c, _))| {
                    *i != v && !matches!(c.as_str(), "period" | "time_ms" | "time")
                })
                .map(|(_, (c, cell))| format!("{c}={cell}"))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

/// `rgvtctl balloon --json`.
#[derive(Debug, Serialize)]
pub struct Balloon {
    /// The `balloon` tunable: runtime ballooning on or off (`null` if unreadable).
    pub enabled: Option<bool>,
    /// The `balloon_*` tunables by name, as the kernel prints them.
    pub tunables: BTreeMap<String, String>,
    /// Whether the module shows the balloon worker in debugfs.
    pub worker: bool,
    /// The worker's state (`phi`, `w`, `c`, ...), numbers as numbers.
    pub state: BTreeMap<String, Value>,
    /// Decisions, oldest first: the log's columns, numbers as numbers, `-` as `null`.
    pub log: Vec<BTreeMap<String, Value>>,
}

/// `rgvtctl balloon` (the last decisions) and `rgvtctl balloon log` (all).
pub fn balloon(sys: &Sys, all: bool, format: Format) -> Result<String> {
    let names = sys.tunable_names()?;
    let tunables: BTreeMap<String, String> = names
        .iter()
        .filter(|n| n.starts_with("balloon") || n.as_str() == "slots_scattered")
        .filter_map(|n| Some((n.clone(), sys.tunable(n).ok()?)))
        .collect();
    let d = Worker::read(sys);
    let skip = if all {
        0
    } else {
        d.rows.len().saturating_sub(RECENT)
    };
    let data = Balloon {
        enabled: tunables.get("balloon").map(|v| v != "0"),
        worker: d.present,
        state: d.state.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
        log: d.rows[skip..]
            .iter()
            .map(|r| {
                d.columns
                    .iter()
                    .cloned()
                    .zip(r.iter().map(|c| value(c)))
                    .collect()
            })
            .collect(),
        tunables,
    };
    emit(format, &data, |b| text(b, &d, skip))
}

fn text(b: &Balloon, d: &Worker, skip: usize) -> String {
    let t = |k: &str| b.tunables.get(k).map_or("?", String::as_str);
    let mut out = format!(
        "balloon: {}; period {} ms, T1 {}, T2 {}, W_max {}, C_max {}, shrink {} slots, timeout {} periods\n",
        match b.enabled {
            Some(true) => "on",
            Some(false) => "off",
            None => "?",
        },
        t("balloon_period_ms"),
        t("balloon_t1"),
        t("balloon_t2"),
        t("balloon_w_max"),
        t("balloon_c_max"),
        t("balloon_shrink_slots"),
        t("balloon_shrink_timeout"),
    );
    if !d.present {
        out.push_str(
            "no balloon worker in debugfs (rgvt/balloon): this module does not run the policy;\n\
             the tunables above are what it will start with\n",
        );
        return out;
    }
    if !d.state.is_empty() {
        let state: Vec<String> = d.state.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "state: {}", state.join(", "));
    }
    if d.rows.is_empty() {
        out.push_str("no decisions yet\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{} of {} decisions:",
        d.rows.len() - skip,
        d.rows.len()
    );
    let cols: Vec<(&str, Align)> = d
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let numeric = d
                .rows
                .iter()
                .all(|r| !matches!(value(&r[i]), Value::String(_)));
            (c.as_str(), if numeric { Align::Right } else { Align::Left })
        })
        .collect();
    let upper: Vec<String> = cols.iter().map(|(c, _)| c.to_ascii_uppercase()).collect();
    let cols: Vec<(&str, Align)> = upper
        .iter()
        .zip(&cols)
        .map(|(u, (_, a))| (u.as_str(), *a))
        .collect();
    let mut table = Table::new(&cols);
    for r in &d.rows[skip..] {
        table.row(r.clone());
    }
    out.push_str(&table.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_as_json() {
        assert_eq!(value("12"), Value::from(12u64));
        assert_eq!(value("0x10"), Value::from(16u64));
        assert_eq!(value("0.42"), Value::from(0.42));
        assert_eq!(value("grant"), Value::from("grant"));
        assert_eq!(value("-"), Value::Null);
        assert_eq!(value("inf"), Value::from("inf"));
    }

    /// The module's `rgvt/balloon` as `rust/ggtt/exchange.rs` writes it.
    #[test]
    fn the_modules_balloon_file() {
        let s = parse::sheet(
            "period 41; source measured; phi 0.62; w 0.31; c 0.0; regime trim\n\
             w_from vmm; vgpus_kvm 0; vgpus_vmm 2; vgpus_unmeasured 0; steal_ns 5; vcpu_ns 16\n\
             c_from copy_time; copy_ns 0; cpus 2; period_ns 20001000\n\
             log_dropped 0\n\
             vgpu1.requests 1; vgpu1.granted 1; vgpu1.granted_slots 1; vgpu1.rejected 0\n\
             vgpu3.requests 0; vgpu3.granted 0; vgpu3.granted_slots 0; vgpu3.rejected 0\n\
             period vgpu decision slots evictions held phi w c regime\n\
             3 1 grant 1 50 7 0.0 0.0 0.0 grow\n\
             40 3 release 2 0 8 2.0 1.0 1.0 tight\n\
             41 3 withdrawn 0 0 8 0.62 0.31 0.0 trim\n",
        );
        let d = Worker {
            present: true,
            state: s.values,
            columns: s.columns,
            rows: s.rows,
        };
        assert_eq!(d.get("phi"), Some("0.62"));
        assert_eq!(d.get("w_from"), Some("vmm"));
        assert_eq!(d.get("vgpu1.granted"), Some("1"));
        assert_eq!(d.rows.len(), 3);
        assert_eq!(
            d.last_for(1).as_deref(),
            Some("decision=grant slots=1 evictions=50 held=7 phi=0.0 w=0.0 c=0.0 regime=grow")
        );
        assert!(d.last_for(3).unwrap().starts_with("decision=withdrawn"));
    }

    #[test]
    fn last_decision_of_a_vgpu() {
        let s =
            parse::sheet("period vgpu decision slots\n1 2 grant 1\n2 3 reject 0\n3 2 shrink 2\n");
        let d = Worker {
            present: true,
            state: vec![("phi".into(), "0.4".into())],
            columns: s.columns,
            rows: s.rows,
        };
        assert_eq!(d.last_for(2).as_deref(), Some("decision=shrink slots=2"));
        assert_eq!(d.last_for(9), None);
        assert_eq!(d.get("PHI"), Some("0.4"));
    }
}
