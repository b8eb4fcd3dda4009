//! `rgvtctl top`: a live view of every vGPU, like `intel_gpu_top`.
//!
//! Each refresh reads the same files as `list`, `slots`, `stats` and
//! `balloon`, and shows per vGPU the counters' rates over the interval. The
//! columns for engine and shadow counters appear when the module has them:
//! a counter is found by the last part of its name (`rcs0.workloads` counts
//! as `workloads`) in any numeric file of `vgpu<N>/` ([`Sys::vgpu_files`]),
//! so per-engine tables and new files are picked up as they land.

use crate::balloon;
use crate::cli::TopArgs;
use crate::cmd::Format;
use crate::parse::SlotMap;
use crate::sys::{Error, Result, Sys};
use crate::table::{self, Align, Table};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, queue, terminal};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How a column is computed from a vGPU's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Sum of the matching counters' increase per second.
    Rate,
    /// Largest increase of a matching `*_ns` counter, as a share of the interval in percent.
    Busy,
    /// Sum of the matching counters' values now.
    Gauge,
}

/// A column of the per-vGPU table.
struct Column {
    /// Its header.
    header: &'static str,
    kind: Kind,
    /// The names (last part, after a `.`) it sums; a trailing `*` matches a prefix.
    names: &'static [&'static str],
    /// Shown even when no vGPU has any of the counters.
    always: bool,
}

/// The columns, in order. The names of the counters still landing (engines,
/// shadow, GTT copies) are the core's and GVT-g's; the first found are used.
const COLUMNS: &[Column] = &[
    Column {
        header: "BUSY%",
        kind: Kind::Busy,
        names: &["busy_ns"],
        always: false,
    },
    Column {
        header: "WL/s",
        kind: Kind::Rate,
        // `completed`: the execlist model's contexts completed (core::execlist::Stats).
        names: &[
            "workloads",
            "workloads_completed",
            "workloads_done",
            "completed",
        ],
        always: false,
    },
    Column {
        header: "MMIO/s",
        kind: Kind::Rate,
        names: &["mmio_reads", "mmio_writes"],
        always: true,
    },
    Column {
        header: "GGTT/s",
        kind: Kind::Rate,
        names: &["reads", "writes"],
        always: true,
    },
    Column {
        header: "PT/s",
        kind: Kind::Rate,
        names: &["traps_pml4", "traps_pdp", "traps_pd", "traps_pt"],
        always: false,
    },
    Column {
        header: "STRICT",
        kind: Kind::Gauge,
        names: &["strict_pages", "pages_strict", "strict_now"],
        always: false,
    },
    Column {
        header: "RELAXED",
        kind: Kind::Gauge,
        names: &["relaxed_pages", "pages_relaxed", "relaxed_now"],
        always: false,
    },
    Column {
        header: "RECON/s",
        kind: Kind::Rate,
        names: &["reconstructions"],
        always: false,
    },
    Column {
        header: "COPY/s",
        kind: Kind::Rate,
        names: &[
            "entries_copied",
            "gtt_entries_copied",
            "ggtt_entries_copied",
            "copied_entries",
        ],
        always: false,
    },
    Column {
        header: "PINS",
        kind: Kind::Gauge,
        names: &["pins_now"],
        always: true,
    },
];

/// The numbers of debugfs `rgvt/gpu` that are sizes and addresses, not
/// counters: `top` shows the others' rates.
const GPU_CONSTANTS: &[&str] = &["ggtt_entries", "aperture_size", "scratch_mfn"];

/// Whether counter `key` is one of `names`, by the last part of its name.
fn matches(key: &str, names: &[&str]) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    names.iter().any(|n| match n.strip_suffix('*') {
        Some(prefix) => last.starts_with(prefix),
        None => last == *n,
    })
}

/// One vGPU at one instant.
#[derive(Debug, Clone, Default)]
struct VgpuSample {
    id: u32,
    ty: String,
    slots: usize,
    /// `counters` and every numeric file of `vgpu<N>/`.
    counters: BTreeMap<String, u64>,
}

/// Everything `top` shows, read at one instant.
#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    vgpus: Vec<VgpuSample>,
    map: Option<SlotMap>,
    /// The numbers of debugfs `rgvt/gpu`.
    gpu: BTreeMap<String, u64>,
    /// `backend` of debugfs `rgvt/gpu`.
    backend: Option<String>,
    balloon: balloon::Worker,
    policy: Option<String>,
    balloon_on: Option<String>,
}

impl Sample {
    fn read(sys: &Sys) -> Result<Self> {
        let vgpus = sys
            .vgpus()?
            .into_iter()
            .map(|v| {
                let mut counters: BTreeMap<String, u64> =
                    sys.counters(v.id).unwrap_or_default().into_iter().collect();
                for (_, m) in sys.vgpu_files(v.id) {
                    counters.extend(m);
                }
                VgpuSample {
                    id: v.id,
                    ty: v.ty,
                    slots: v.slots.len(),
                    counters,
                }
            })
            .collect();
        let gpu = sys.debug_sheet("gpu");
        Ok(Self {
            at: Instant::now(),
            vgpus,
            map: sys.slot_map().ok(),
            gpu: gpu
                .as_ref()
                .map(|s| {
                    s.values
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), crate::parse::number(v)?)))
                        .collect()
                })
                .unwrap_or_default(),
            backend: gpu.and_then(|s| {
                s.values
                    .into_iter()
                    .find(|(k, _)| k == "backend")
                    .map(|(_, v)| v)
            }),
            balloon: balloon::Worker::read(sys),
            policy: sys.tunable("policy").ok(),
            balloon_on: sys.tunable("balloon").ok(),
        })
    }
}

/// A column's value for vGPU `now` (`prev` is the same vGPU one interval before).
fn column_value(c: &Column, prev: Option<&VgpuSample>, now: &VgpuSample, secs: f64) -> Option<f64> {
    let keys: Vec<&String> = now
        .counters
        .keys()
        .filter(|k| matches(k, c.names))
        .collect();
    if keys.is_empty() {
        return None;
    }
    let delta = |k: &String| {
        let before = prev.and_then(|p| p.counters.get(k)).copied();
        let after = now.counters[k];
        // A counter that went backwards was reset: its value is the increase.
        before.map_or(after, |b| after.checked_sub(b).unwrap_or(after)) as f64
    };
    Some(match c.kind {
        Kind::Gauge => keys.iter().map(|k| now.counters[*k] as f64).sum(),
        Kind::Rate if prev.is_none() => 0.0,
        Kind::Rate => keys.iter().map(|k| delta(k)).sum::<f64>() / secs,
        Kind::Busy if prev.is_none() => 0.0,
        Kind::Busy => keys
            .iter()
            .map(|k| delta(k) / (secs * 1e9) * 100.0)
            .fold(0.0, f64::max),
    })
}

/// A rate or gauge for a table cell: whole numbers, `k`/`M` above 10^4/10^7.
fn human(v: f64) -> String {
    if v >= 1e7 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v > 0.0 && v < 10.0 && v.fract() != 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// One vGPU in `rgvtctl top --json`.
#[derive(Debug, Serialize)]
struct VgpuFrame {
    id: u32,
    #[serde(rename = "type")]
    ty: String,
    slots: usize,
    shared_slots: Option<u64>,
    /// The columns shown, by header (`BUSY%`, `WL/s`, ...).
    columns: BTreeMap<String, f64>,
    /// Every counter's increase per second over the interval.
    rates: BTreeMap<String, f64>,
    /// Every counter's value now.
    counters: BTreeMap<String, u64>,
    balloon_last: Option<String>,
}

/// One refresh in `rgvtctl top --json` (one line each).
#[derive(Debug, Serialize)]
struct Frame {
    interval_s: f64,
    backend: Option<String>,
    policy: Option<String>,
    balloon: Option<String>,
    /// Φ, W, C and the other `key value` pairs of the balloon worker's state.
    balloon_state: BTreeMap<String, serde_json::Value>,
    slots_total: Option<usize>,
    slots_shared: Option<u32>,
    slots_free: Option<usize>,
    /// The numbers of debugfs `rgvt/gpu`, per second.
    gpu_rates: BTreeMap<String, f64>,
    vgpus: Vec<VgpuFrame>,
}

/// How many slots each vGPU holds with another.
fn shared(map: &SlotMap) -> BTreeMap<u32, u64> {
    let mut out = BTreeMap::new();
    for s in map.slots.iter().filter(|s| s.holders.len() > 1) {
        for h in &s.holders {
            *out.entry(*h).or_insert(0) += 1;
        }
    }
    out
}

/// The frame's data from the sample before (if any) and now.
fn frame(prev: Option<&Sample>, now: &Sample) -> Frame {
    let secs = prev.map_or(0.0, |p| now.at.duration_since(p.at).as_secs_f64().max(1e-6));
    let shared = now.map.as_ref().map(shared);
    let vgpus = now
        .vgpus
        .iter()
        .map(|v| {
            let before = prev.and_then(|p| p.vgpus.iter().find(|b| b.id == v.id));
            let columns = COLUMNS
                .iter()
                .filter_map(|c| Some((c.header.to_string(), column_value(c, before, v, secs)?)))
                .collect();
            let rates = v
                .counters
                .iter()
                .map(|(k, &after)| {
                    let b = before.and_then(|b| b.counters.get(k)).copied();
                    let r = match b {
                        Some(b) if secs > 0.0 => {
                            after.checked_sub(b).unwrap_or(after) as f64 / secs
                        }
                        _ => 0.0,
                    };
                    (k.clone(), r)
                })
                .collect();
            VgpuFrame {
                id: v.id,
                ty: v.ty.clone(),
                slots: v.slots,
                shared_slots: shared.as_ref().map(|m| m.get(&v.id).copied().unwrap_or(0)),
                columns,
                rates,
                counters: v.counters.clone(),
                balloon_last: now.balloon.last_for(v.id),
            }
        })
        .collect();
    Frame {
        interval_s: secs,
        backend: now.backend.clone(),
        policy: now.policy.clone(),
        balloon: now.balloon_on.clone(),
        balloon_state: now
            .balloon
            .state
            .iter()
            .map(|(k, v)| (k.clone(), balloon::value(v)))
            .collect(),
        slots_total: now.map.as_ref().map(|m| m.slots.len()),
        slots_shared: now.map.as_ref().map(|m| m.shared),
        slots_free: now
            .map
            .as_ref()
            .map(|m| m.slots.iter().filter(|s| s.holders.is_empty()).count()),
        gpu_rates: now
            .gpu
            .iter()
            .map(|(k, &v)| {
                let b = prev.and_then(|p| p.gpu.get(k)).copied();
                let r = match b {
                    Some(b) if secs > 0.0 => v.saturating_sub(b) as f64 / secs,
                    _ => 0.0,
                };
                (k.clone(), r)
            })
            .collect(),
        vgpus,
    }
}

/// The screen for a frame, `parent` naming the mdev parent.
fn render(f: &Frame, now: &Sample, parent: &str, refresh: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rgvtctl top - {parent} (backend {}) - {} vGPUs - refresh {refresh}, every {:.2} s - q quits",
        f.backend.as_deref().unwrap_or("?"),
        f.vgpus.len(),
        f.interval_s
    );
    match &now.map {
        Some(m) => {
            let held: usize = m.slots.iter().map(|s| s.holders.len()).sum();
            let n = m.slots.len().max(1);
            let _ = writeln!(
                out,
                "slots: {} x {}, {held} held ({:.1}x), {} shared, {} free; running: {}",
                m.slots.len(),
                table::size(m.slot_size),
                held as f64 / n as f64,
                m.shared,
                f.slots_free.unwrap_or(0),
                m.running
                    .map_or_else(|| "-".to_string(), |r| format!("vGPU {r}"))
            );
        }
        None => out.push_str("slots: no slot map in debugfs\n"),
    }
    let b = &now.balloon;
    let state: Vec<String> = [("phi", "Φ"), ("w", "W"), ("c", "C")]
        .iter()
        .filter_map(|(key, name)| Some(format!("{name} {}", b.get(key)?)))
        .collect();
    let _ = writeln!(
        out,
        "balloon: {}{}",
        match f.balloon.as_deref() {
            Some("0") => "off",
            Some(_) => "on",
            None => "?",
        },
        if !b.present {
            " (no worker in debugfs)".to_string()
        } else if state.is_empty() {
            String::new()
        } else {
            format!(", {}", state.join(" "))
        }
    );
    let gpu: Vec<String> = f
        .gpu_rates
        .iter()
        .filter(|(k, _)| now.gpu.contains_key(*k) && !GPU_CONSTANTS.contains(&k.as_str()))
        .map(|(k, r)| format!("{k}/s {}", human(*r)))
        .collect();
    let _ = writeln!(
        out,
        "shadow policy: {}{}{}",
        f.policy.as_deref().unwrap_or("?"),
        if gpu.is_empty() { "" } else { "; " },
        gpu.join(", ")
    );
    out.push('\n');
    let shown: BTreeSet<&str> = f
        .vgpus
        .iter()
        .flat_map(|v| v.columns.keys().map(String::as_str))
        .collect();
    let cols: Vec<&Column> = COLUMNS
        .iter()
        .filter(|c| c.always || shown.contains(c.header))
        .collect();
    let any_balloon = f.vgpus.iter().any(|v| v.balloon_last.is_some());
    let mut header: Vec<(&str, Align)> = vec![
        ("ID", Align::Right),
        ("TYPE", Align::Left),
        ("SLOTS", Align::Right),
        ("SHARED", Align::Right),
    ];
    header.extend(cols.iter().map(|c| (c.header, Align::Right)));
    if any_balloon {
        header.push(("BALLOON", Align::Left));
    }
    let mut t = Table::new(&header);
    for v in &f.vgpus {
        let mut row = vec![
            v.id.to_string(),
            v.ty.clone(),
            v.slots.to_string(),
            v.shared_slots
                .map_or_else(|| "-".to_string(), |s| s.to_string()),
        ];
        row.extend(cols.iter().map(|c| {
            v.columns
                .get(c.header)
                .map_or_else(|| "-".to_string(), |x| human(*x))
        }));
        if any_balloon {
            row.push(v.balloon_last.clone().unwrap_or_default());
        }
        t.row(row);
    }
    if f.vgpus.is_empty() {
        out.push_str("no vGPUs\n");
    } else {
        out.push_str(&t.render());
    }
    out
}

/// Puts the terminal back as it was, also on an error or a panic.
struct Screen;

impl Screen {
    fn enter() -> std::io::Result<Self> {
        terminal::enable_raw_mode()?;
        let s = Screen;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )?;
        Ok(s)
    }

    /// Draws `text` from the top left, cut to the terminal's size.
    fn draw(&self, text: &str) -> std::io::Result<()> {
        let (w, h) = terminal::size().unwrap_or((80, 24));
        let mut out = std::io::stdout().lock();
        queue!(
            out,
            cursor::MoveTo(0, 0),
            terminal::Clear(terminal::ClearType::All)
        )?;
        for (i, line) in text.lines().take(usize::from(h)).enumerate() {
            if i > 0 {
                out.write_all(b"\r\n")?;
            }
            let cut: String = line.chars().take(usize::from(w)).collect();
            out.write_all(cut.as_bytes())?;
        }
        out.flush()
    }

    /// Waits until `deadline`; whether the user asked to quit.
    fn wait(&self, deadline: Instant) -> std::io::Result<bool> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !event::poll(left)? {
                return Ok(false);
            }
            if let Event::Key(k) = event::read()? {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if k.kind == KeyEventKind::Press
                    && (matches!(
                        k.code,
                        KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc
                    ) || ctrl_c)
                {
                    return Ok(true);
                }
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(
            std::io::stdout(),
            cursor::Show,
            terminal::LeaveAlternateScreen
        );
        let _ = terminal::disable_raw_mode();
    }
}

/// `rgvtctl top`.
pub fn run(sys: &Sys, args: &TopArgs, format: Format) -> Result<()> {
    let io = |e: std::io::Error| Error::io("top", &e);
    sys.check_loaded()?;
    let delay = Duration::from_secs_f64(args.delay);
    let live = !args.batch && format == Format::Text && std::io::stdout().is_terminal();
    let screen = if live { Screen::enter().ok() } else { None };
    let mut prev = Sample::read(sys)?;
    let mut refresh = 0u64;
    loop {
        let deadline = prev.at + delay;
        match &screen {
            Some(s) => {
                if s.wait(deadline).map_err(io)? {
                    return Ok(());
                }
            }
            None => std::thread::sleep(deadline.saturating_duration_since(Instant::now())),
        }
        let now = Sample::read(sys)?;
        refresh += 1;
        let f = frame(Some(&prev), &now);
        let text = match format {
            Format::Json => serde_json::to_string(&f)
                .map(|s| s + "\n")
                .map_err(|e| Error::msg("json", e.to_string()))?,
            Format::Text => render(&f, &now, &sys.parent, refresh),
        };
        match &screen {
            Some(s) => s.draw(&text).map_err(io)?,
            None => {
                let mut out = std::io::stdout().lock();
                let sep = if refresh > 1 && format == Format::Text {
                    "\n"
                } else {
                    ""
                };
                // A closed pipe ends the view.
                if out
                    .write_all(format!("{sep}{text}").as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return Ok(());
                }
            }
        }
        prev = now;
        if args.iterations.is_some_and(|n| refresh >= n) {
            return Ok(());
        }
    }
}

/// For the tests: one frame's text from two samples' worth of counters.
#[cfg(test)]
fn frame_text(prev: &Sample, now: &Sample) -> String {
    render(&frame(Some(prev), now), now, "sim0", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vgpu(id: u32, counters: &[(&str, u64)]) -> VgpuSample {
        VgpuSample {
            id,
            ty: "S_32".into(),
            slots: 6,
            counters: counters.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn sample(at: Instant, vgpus: Vec<VgpuSample>) -> Sample {
        Sample {
            at,
            vgpus,
            map: None,
            gpu: BTreeMap::new(),
            backend: Some("sim".into()),
            balloon: balloon::Worker::default(),
            policy: Some("full".into()),
            balloon_on: Some("1".into()),
        }
    }

    #[test]
    fn names_match_by_their_last_part() {
        assert!(matches("rcs0.workloads", &["workloads"]));
        assert!(matches("workloads", &["workloads"]));
        assert!(!matches("workloads.x", &["workloads"]));
        assert!(matches("traps_pt", &["traps_*"]));
    }

    #[test]
    fn rates_busy_and_gauges_over_the_interval() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let a = sample(
            t0,
            vec![vgpu(
                1,
                &[
                    ("mmio_reads", 10),
                    ("writes", 5),
                    ("rcs0.workloads", 100),
                    ("bcs0.workloads", 0),
                    ("rcs0.busy_ns", 0),
                    ("bcs0.busy_ns", 0),
                    ("pins_now", 7),
                ],
            )],
        );
        let b = sample(
            t1,
            vec![
                vgpu(
                    1,
                    &[
                        ("mmio_reads", 30),
                        ("writes", 9),
                        ("rcs0.workloads", 140),
                        ("bcs0.workloads", 20),
                        ("rcs0.busy_ns", 1_000_000_000),
                        ("bcs0.busy_ns", 200_000_000),
                        ("pins_now", 3),
                    ],
                ),
                vgpu(2, &[("mmio_reads", 4)]),
            ],
        );
        let f = frame(Some(&a), &b);
        let c = &f.vgpus[0].columns;
        assert_eq!(c["MMIO/s"], 10.0);
        assert_eq!(c["GGTT/s"], 2.0);
        assert_eq!(c["WL/s"], 30.0);
        // The busiest engine: 1 s of 2.
        assert_eq!(c["BUSY%"], 50.0);
        assert_eq!(c["PINS"], 3.0);
        assert!(!c.contains_key("RECON/s"));
        // A vGPU that appeared in the interval has no rate yet.
        assert_eq!(f.vgpus[1].columns["MMIO/s"], 0.0);
        let text = frame_text(&a, &b);
        let header = text
            .lines()
            .find(|l| l.trim_start().starts_with("ID"))
            .expect("a header");
        assert_eq!(
            header.split_whitespace().collect::<Vec<_>>(),
            ["ID", "TYPE", "SLOTS", "SHARED", "BUSY%", "WL/s", "MMIO/s", "GGTT/s", "PINS"]
        );
    }

    #[test]
    fn counters_that_went_backwards_restart() {
        let t0 = Instant::now();
        let a = sample(t0, vec![vgpu(1, &[("reads", 100)])]);
        let b = sample(t0 + Duration::from_secs(1), vec![vgpu(1, &[("reads", 5)])]);
        assert_eq!(frame(Some(&a), &b).vgpus[0].columns["GGTT/s"], 5.0);
    }

    #[test]
    fn human_numbers() {
        assert_eq!(human(0.0), "0");
        assert_eq!(human(2.5), "2.5");
        assert_eq!(human(1234.0), "1234");
        assert_eq!(human(12345.0), "12.3k");
        assert_eq!(human(12_345_678.0), "12.3M");
    }
}
