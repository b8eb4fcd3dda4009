//! `rgvt-figures`: the benchmarks' results as SVG figures.
//!
//! `cargo bench -p rgvt-core --bench shadow` and `--bench gm` write
//! `build/bench/shadow.json` and `gm.json`; this draws them with plotters'
//! SVG backend (no fonts needed: text stays text in the SVG):
//!
//! - `shadow.svg`: mediation time per frame of each shadow policy against
//!   strict, one panel per trace (the gHyvi comparison);
//! - `gm.svg`: GTT entries copied per second for static 384 MB, static
//!   1024 MB and ballooning with 15 vGPUs, then against the number of vGPUs
//!   with the average Φ and the most vGPUs each sustains (gBalloon/gScale);
//! - `gm-kernel.svg`, when `tools/bench-gm.sh` wrote `gm-kernel.json`: the
//!   same comparison measured in the kernel on the sim engines (entries
//!   copied per second, workloads per second per guest, evictions).
//!
//! `tools/figures.sh` runs the benchmarks and this in one command.
//!
//!   rgvt-figures [IN_DIR [OUT_DIR]]   (default build/bench and Documentation/rgvt/figures)

use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::error::Error;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn Error>>;

/// One colour per policy or configuration, in order.
const COLOURS: [RGBColor; 5] = [
    RGBColor(0x55, 0x55, 0x55),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0xd6, 0x27, 0x28),
];

fn read(path: &Path) -> Res<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

fn num(v: &Value, key: &str) -> Res<f64> {
    v[key]
        .as_f64()
        .ok_or_else(|| format!("{key}: not a number in {v}").into())
}

fn text(v: &Value, key: &str) -> Res<String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{key}: not a string in {v}").into())
}

/// A UTC date and time from seconds since 1970 (the civil-from-days algorithm).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// "`command`, date" for a figure's footer.
fn made_by(v: &Value) -> Res<String> {
    Ok(format!(
        "made by `{}` on {} (tools/figures.sh)",
        text(v, "command")?,
        utc(v["unix_time"].as_u64().unwrap_or(0))
    ))
}

/// A value for a bar label: µs with one decimal below 100, whole above.
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Where a bar starts and its label sits: a linear axis from 0, or a
/// logarithmic one (values across orders of magnitude) from below the least.
#[derive(Clone, Copy)]
enum Scale {
    Linear,
    Log,
}

/// Bars with their values on top, one per label, on `area`.
fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    labels: &[String],
    values: &[f64],
    notes: &[String],
    scale: Scale,
) -> Res<()>
where
    DB::ErrorType: 'static,
{
    let max = values.iter().copied().fold(0.0, f64::max).max(1e-9);
    match scale {
        Scale::Linear => bars_on(
            area,
            caption,
            y_desc,
            labels,
            values,
            notes,
            0.0,
            0.0..max * 1.3,
            |v, line| v + max * (0.02 + 0.055 * line),
        ),
        Scale::Log => {
            let min = values
                .iter()
                .copied()
                .filter(|v| *v > 0.0)
                .fold(max, f64::min);
            // Whole decades, at least three, so the axis has few labels.
            let lo = 10f64.powf((min / 2.0).log10().floor());
            let hi = 10f64.powf((max * 6.0).log10().ceil()).max(lo * 1000.0);
            bars_on(
                area,
                caption,
                y_desc,
                labels,
                values,
                notes,
                lo,
                (lo..hi).log_scale(),
                |v, line| v * 1.08 * 1.45f64.powf(line),
            )
        }
    }
}

/// [`bars`] on the axis `y`, bars starting at `base`, the value's label at
/// `above(value, 0.0)` and the note's on the line above, `above(value, 1.0)`.
#[expect(clippy::too_many_arguments, reason = "one figure panel's inputs")]
fn bars_on<DB: DrawingBackend, Y>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    labels: &[String],
    values: &[f64],
    notes: &[String],
    base: f64,
    y: Y,
    above: impl Fn(f64, f64) -> f64,
) -> Res<()>
where
    DB::ErrorType: 'static,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(62)
        // plotters' integer ranges are inclusive: one segment per label.
        .build_cartesian_2d((0..labels.len().saturating_sub(1)).into_segmented(), y)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc(y_desc)
        .y_label_formatter(&|y| short(*y))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (i, v) in values.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(colour.filled())
                .margin(8)
                .baseline(base)
                .data([(i, *v)]),
        )?;
        let note = notes.get(i).filter(|n| !n.is_empty());
        for (line, label) in [(0.0, Some(short(*v))), (1.0, note.cloned())] {
            let Some(label) = label else { continue };
            chart.draw_series([Text::new(
                label,
                (SegmentValue::CenterOf(i), above(*v, line)),
                ("sans-serif", 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )])?;
        }
    }
    Ok(())
}

/// `shadow.svg`: mediation µs per frame by policy, one panel per trace.
fn shadow(input: &Value, out: &Path) -> Res<()> {
    let rows = input["rows"].as_array().ok_or("shadow.json: no rows")?;
    let mut traces: Vec<String> = Vec::new();
    for r in rows {
        let t = text(r, "trace")?;
        if !traces.contains(&t) {
            traces.push(t);
        }
    }
    let root = SVGBackend::new(out, (1350, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (body, foot) = root.split_vertically(490);
    let body = body.titled(
        &format!(
            "Mediation time per frame: strict shadowing vs the hybrid policies (gHyvi); traps x {:.1} us VM exit + measured CPU time",
            num(input, "exit_ns")? / 1000.0
        ),
        ("sans-serif", 19),
    )?;
    for (area, trace) in body.split_evenly((1, traces.len())).iter().zip(&traces) {
        let mine: Vec<&Value> = rows
            .iter()
            .filter(|r| r["trace"].as_str() == Some(trace))
            .collect();
        let labels: Vec<String> = mine.iter().map(|r| text(r, "policy")).collect::<Res<_>>()?;
        let values: Vec<f64> = mine
            .iter()
            .map(|r| num(r, "mediation_us_per_frame"))
            .collect::<Res<_>>()?;
        let notes: Vec<String> = mine
            .iter()
            .map(|r| {
                let x = num(r, "vs_strict")?;
                Ok(if text(r, "policy")? == "strict" {
                    String::new()
                } else {
                    format!("{x:.3}x strict")
                })
            })
            .collect::<Res<_>>()?;
        bars(
            area,
            &format!("{trace} trace"),
            "mediation us per frame (log)",
            &labels,
            &values,
            &notes,
            Scale::Log,
        )?;
    }
    foot.draw(&Text::new(
        format!(
            "{}; bar labels: us per frame and the ratio to strict. MODEL of host services (in-memory simulator), not a GPU run.",
            made_by(input)?
        ),
        (12, 8),
        ("sans-serif", 13),
    ))?;
    root.present()?;
    Ok(())
}

/// The shadow a row of `shadow-kernel.json` ran on (`sim` in a file from
/// before both shadows ran side by side).
fn shadow_of(r: &Value) -> String {
    r["shadow"].as_str().unwrap_or("sim").to_string()
}

/// The floors of `shadow-kernel.json`, as text: one per shadow
/// (`floors`), or the one `floor` of an older file.
fn floors_text(input: &Value) -> Res<String> {
    if let Some(fl) = input["floors"].as_array() {
        let parts: Vec<String> = fl
            .iter()
            .map(|f| {
                Ok(format!(
                    "{} {:.0} ns per PTE ({})",
                    shadow_of(f),
                    num(f, "ns_per_pte")?,
                    f["translation"].as_str().unwrap_or("?")
                ))
            })
            .collect::<Res<_>>()?;
        return Ok(parts.join(", "));
    }
    Ok(format!(
        "{:.0} ns per PTE",
        num(&input["floor"], "ns_per_pte")?
    ))
}

/// `shadow-kernel.svg`: the same comparison measured in the kernel
/// (`tools/bench-shadow.sh`): kernel mediation µs per frame by policy, one
/// panel per shadow (the sim's, the pinned one) and trace, each bar
/// labelled with its mediation and its guest-visible time as ratios to
/// strict on the same shadow.
fn shadow_kernel(input: &Value, out: &Path) -> Res<()> {
    let rows = input["rows"]
        .as_array()
        .ok_or("shadow-kernel.json: no rows")?;
    let mut panels: Vec<(String, String)> = Vec::new();
    for r in rows {
        let p = (shadow_of(r), text(r, "trace")?);
        if !panels.contains(&p) {
            panels.push(p);
        }
    }
    let lines = if panels.len() > 2 { 2 } else { 1 };
    let per_line = panels.len().div_ceil(lines).max(1);
    let height = 30 + 490 * lines as u32;
    let root = SVGBackend::new(out, (1350, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (body, foot) = root.split_vertically(height - 30);
    let body = body.titled(
        &format!(
            "In the kernel: mediation time per frame (trap_ns + reconstruct_ns), strict vs the hybrid policies; {} PT pages, QEMU {}",
            num(input, "pt_pages")?,
            text(input, "accel")?
        ),
        ("sans-serif", 19),
    )?;
    for (area, (shadow, trace)) in body.split_evenly((lines, per_line)).iter().zip(&panels) {
        let mine: Vec<&Value> = rows
            .iter()
            .filter(|r| r["trace"].as_str() == Some(trace) && shadow_of(r) == *shadow)
            .collect();
        let strict = mine
            .iter()
            .find(|r| r["policy"].as_str() == Some("strict"))
            .ok_or_else(|| format!("{shadow} {trace}: no strict row"))?;
        let (s_med, s_guest) = (num(strict, "mediation_ns")?, num(strict, "guest_ns")?);
        let labels: Vec<String> = mine.iter().map(|r| text(r, "policy")).collect::<Res<_>>()?;
        let values: Vec<f64> = mine
            .iter()
            .map(|r| Ok(num(r, "mediation_ns")? / 1000.0))
            .collect::<Res<_>>()?;
        let notes: Vec<String> = mine
            .iter()
            .map(|r| {
                Ok(if text(r, "policy")? == "strict" {
                    String::new()
                } else {
                    format!(
                        "{:.2}x / {:.2}x",
                        num(r, "mediation_ns")? / s_med.max(1.0),
                        num(r, "guest_ns")? / s_guest.max(1.0)
                    )
                })
            })
            .collect::<Res<_>>()?;
        bars(
            area,
            &format!("{trace} trace, {shadow} shadow"),
            "kernel mediation us per frame (log)",
            &labels,
            &values,
            &notes,
            Scale::Log,
        )?;
    }
    foot.draw(&Text::new(
        format!(
            "{}; bar labels: us per frame, then mediation / guest-visible time against strict; floor (read, translate, write, no bookkeeping): {}. In QEMU.",
            made_by(input)?,
            floors_text(input)?
        ),
        (12, 8),
        ("sans-serif", 13),
    ))?;
    root.present()?;
    Ok(())
}

/// `gm.svg`: the 15-vGPU comparison and the sweep over vGPU counts.
fn gm(input: &Value, out: &Path) -> Res<()> {
    let cmp = input["comparison"]
        .as_array()
        .ok_or("gm.json: no comparison")?;
    let sweep = input["sweep"].as_array().ok_or("gm.json: no sweep")?;
    let t2 = num(&input["model"], "t2")?;
    let root = SVGBackend::new(out, (1350, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (body, foot) = root.split_vertically(490);
    let body = body.titled(
        "Graphics memory per vGPU: static 384 MB, static 1024 MB and ballooning (gBalloon) - a trace-driven MODEL",
        ("sans-serif", 19),
    )?;
    let panels = body.split_evenly((1, 3));

    let labels: Vec<String> = cmp.iter().map(|r| text(r, "config")).collect::<Res<_>>()?;
    let values: Vec<f64> = cmp
        .iter()
        .map(|r| num(r, "entries_per_s"))
        .collect::<Res<_>>()?;
    let notes: Vec<String> = cmp
        .iter()
        .map(|r| Ok(format!("Φ {:.2}", num(r, "phi_avg")?)))
        .collect::<Res<_>>()?;
    let n = cmp.first().map_or(0.0, |r| num(r, "vgpus").unwrap_or(0.0));
    bars(
        &panels[0],
        &format!("{n:.0} vGPUs: GTT entries copied/s"),
        "entries copied per second",
        &labels,
        &values,
        &notes,
        Scale::Linear,
    )?;

    let max_n = sweep
        .iter()
        .flat_map(|c| c["points"].as_array().into_iter().flatten())
        .filter_map(|p| p["vgpus"].as_f64())
        .fold(1.0, f64::max);
    let max_e = sweep
        .iter()
        .flat_map(|c| c["points"].as_array().into_iter().flatten())
        .filter_map(|p| p["entries_per_s"].as_f64())
        .fold(1.0, f64::max);
    for (panel, key, caption, y_desc, top) in [
        (
            &panels[1],
            "entries_per_s",
            "GTT entries copied/s by vGPU count",
            "entries copied per second",
            max_e * 1.1,
        ),
        (
            &panels[2],
            "phi_avg",
            "average Φ by vGPU count (T2 dashed)",
            "average Φ",
            2.0_f64.min(t2 * 1.3),
        ),
    ] {
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(62)
            .build_cartesian_2d(0.0..max_n + 0.5, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("vGPUs")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(y_desc)
            .y_label_formatter(&|y| short(*y))
            .label_style(("sans-serif", 13))
            .draw()?;
        for (i, c) in sweep.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let points: Vec<(f64, f64)> = c["points"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p["vgpus"].as_f64()?, p[key].as_f64()?)))
                .collect();
            let name = format!(
                "{} (sustains {})",
                text(c, "config")?,
                c["sustained"].as_u64().unwrap_or(0)
            );
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                points
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, colour.filled())),
            )?;
        }
        if key == "phi_avg" {
            let dash: Vec<(f64, f64)> = (0..=(max_n as usize))
                .step_by(2)
                .map(|x| (x as f64, t2))
                .collect();
            chart.draw_series(
                dash.chunks(1)
                    .map(|p| PathElement::new(vec![p[0], (p[0].0 + 1.0, t2)], BLACK)),
            )?;
        }
        chart
            .configure_series_labels()
            .position(if key == "phi_avg" {
                SeriesLabelPosition::LowerLeft
            } else {
                SeriesLabelPosition::MiddleRight
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()?;
    }
    foot.draw(&Text::new(
        format!(
            "{}; sweep: scenes of {} s; sustained: every vGPU fits and average Φ < T2 = {t2}; the testbed's low GM holds 16 vGPUs of 4 MB.",
            made_by(input)?,
            input["model"]["sweep_scene_ms"].as_u64().unwrap_or(0) / 1000
        ),
        (12, 8),
        ("sans-serif", 13),
    ))?;
    root.present()?;
    Ok(())
}

/// `gm-kernel.svg`: `tools/bench-gm.sh`'s configurations side by side.
fn gm_kernel(input: &Value, out: &Path) -> Res<()> {
    let r = &input["result"];
    let cfgs = r["configs"]
        .as_array()
        .ok_or("gm-kernel.json: no configs")?;
    let root = SVGBackend::new(out, (1350, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (body, foot) = root.split_vertically(490);
    let body = body.titled(
        &format!(
            "Graphics memory per vGPU, measured in the kernel on the sim engines: {} guests ({} growing), {} s each",
            r["guests"].as_u64().unwrap_or(0),
            r["growing"].as_u64().unwrap_or(0),
            r["seconds"].as_f64().unwrap_or(0.0)
        ),
        ("sans-serif", 19),
    )?;
    let panels = body.split_evenly((1, 3));
    let labels: Vec<String> = cfgs.iter().map(|c| text(c, "config")).collect::<Res<_>>()?;
    let phi = |c: &Value| -> Res<String> {
        let p = num(c, "phi_mean")?;
        Ok(if p >= 0.0 {
            format!("Φ {p:.2}")
        } else {
            String::new()
        })
    };
    for (panel, caption, y_desc, key, note) in [
        (
            &panels[0],
            "GTT entries copied/s (switch_in)",
            "entries copied per second",
            "entries_per_s",
            &phi as &dyn Fn(&Value) -> Res<String>,
        ),
        (
            &panels[1],
            "workloads/s per guest (median; min-max)",
            "workloads per second",
            "wl_per_s_median",
            &|c: &Value| -> Res<String> {
                Ok(format!(
                    "{}-{}",
                    short(num(c, "wl_per_s_min")?),
                    short(num(c, "wl_per_s_max")?)
                ))
            },
        ),
        (
            &panels[2],
            "evictions (grants above)",
            "evictions in the run",
            "evictions",
            &|c: &Value| -> Res<String> { Ok(format!("{:.0} grants", num(c, "grants")?)) },
        ),
    ] {
        let values: Vec<f64> = cfgs.iter().map(|c| num(c, key)).collect::<Res<_>>()?;
        let notes: Vec<String> = cfgs.iter().map(note).collect::<Res<_>>()?;
        bars(
            panel,
            caption,
            y_desc,
            &labels,
            &values,
            &notes,
            Scale::Linear,
        )?;
    }
    foot.draw(&Text::new(
        format!(
            "made by `tools/bench-gm.sh` on {} ({}, commit {}); largest number of vGPUs submitting at once with correct results: {}",
            utc(input["unix_time"].as_u64().unwrap_or(0)),
            input["accel"].as_str().unwrap_or("?"),
            input["commit"].as_str().unwrap_or("?").get(..10).unwrap_or("?"),
            r["scale"]["largest"].as_u64().unwrap_or(0)
        ),
        (12, 8),
        ("sans-serif", 13),
    ))?;
    root.present()?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let input = args
        .first()
        .map_or_else(|| root.join("build/bench"), PathBuf::from);
    let output = args
        .get(1)
        .map_or_else(|| root.join("Documentation/rgvt/figures"), PathBuf::from);
    let run = || -> Res<()> {
        std::fs::create_dir_all(&output)?;
        for (name, draw) in [
            ("shadow", shadow as fn(&Value, &Path) -> Res<()>),
            ("gm", gm),
        ] {
            let data = read(&input.join(format!("{name}.json")))?;
            let svg = output.join(format!("{name}.svg"));
            draw(&data, &svg)?;
            println!("{}", svg.display());
        }
        // The in-kernel run (tools/bench-shadow.sh, in QEMU) is drawn when it ran.
        let kernel = input.join("shadow-kernel.json");
        if kernel.exists() {
            let svg = output.join("shadow-kernel.svg");
            shadow_kernel(&read(&kernel)?, &svg)?;
            println!("{}", svg.display());
        }
        // The kernel benchmark's results, when tools/bench-gm.sh made them.
        let kernel = input.join("gm-kernel.json");
        if kernel.exists() {
            let svg = output.join("gm-kernel.svg");
            gm_kernel(&read(&kernel)?, &svg)?;
            println!("{}", svg.display());
        }
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rgvt-figures: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that the SVG at `svg` holds every one of `needles`.
    fn assert_drawn(svg: &Path, needles: &[&str]) {
        let s = std::fs::read_to_string(svg).expect("svg");
        for needle in needles {
            assert!(s.contains(needle), "{needle} not in the SVG");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_847_520), "2026-11-28 06:32 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn figures_from_results() {
        let dir = std::env::temp_dir().join(format!("rgvt-figures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let shadow_in = serde_json::json!({
            "command": "cargo bench -p rgvt-core --bench shadow", "unix_time": 0, "exit_ns": 2000,
            "rows": [
                {"trace": "massive", "policy": "strict", "mediation_us_per_frame": 400.0, "vs_strict": 1.0},
                {"trace": "massive", "policy": "full", "mediation_us_per_frame": 100.0, "vs_strict": 0.25},
                {"trace": "normal", "policy": "strict", "mediation_us_per_frame": 64.0, "vs_strict": 1.0},
                {"trace": "normal", "policy": "full", "mediation_us_per_frame": 80.0, "vs_strict": 1.25},
            ]
        });
        let svg = dir.join("shadow.svg");
        shadow(&shadow_in, &svg).expect("draws");
        assert_drawn(
            &svg,
            &[
                "<svg",
                "massive trace",
                "normal trace",
                "\n400\n",
                "\n100\n",
                "\n0.250x strict\n",
                "\n1.250x strict\n",
                "1970-01-01",
            ],
        );
        let kernel_in = serde_json::json!({
            "command": "tools/bench-shadow.sh", "unix_time": 0, "accel": "tcg", "pt_pages": 64,
            "rows": [
                {"trace": "massive", "policy": "strict", "mediation_ns": 300000.0, "guest_ns": 400000.0},
                {"trace": "massive", "policy": "segmented", "mediation_ns": 150000.0, "guest_ns": 100000.0},
                {"trace": "normal", "policy": "strict", "mediation_ns": 70000.0, "guest_ns": 1000000.0},
            ],
            "floor": {"ns_per_pte": 5000.0}
        });
        let svg = dir.join("shadow-kernel.svg");
        shadow_kernel(&kernel_in, &svg).expect("draws");
        assert_drawn(
            &svg,
            &[
                "massive trace",
                "normal trace",
                "\n300\n",
                "\n0.50x / 0.25x\n",
                "5000 ns per PTE",
            ],
        );
        // Both shadows side by side: a panel per shadow and trace, a floor each.
        let both_in = serde_json::json!({
            "command": "tools/bench-shadow.sh", "unix_time": 0, "accel": "tcg", "pt_pages": 64,
            "rows": [
                {"shadow": "sim", "trace": "massive", "policy": "strict", "mediation_ns": 300000.0, "guest_ns": 400000.0},
                {"shadow": "sim", "trace": "massive", "policy": "segmented", "mediation_ns": 150000.0, "guest_ns": 100000.0},
                {"shadow": "pinned", "trace": "massive", "policy": "strict", "mediation_ns": 40000.0, "guest_ns": 100000.0},
                {"shadow": "pinned", "trace": "massive", "policy": "segmented", "mediation_ns": 4000.0, "guest_ns": 20000.0},
            ],
            "floors": [
                {"shadow": "sim", "translation": "short pin", "ns_per_pte": 5000.0},
                {"shadow": "pinned", "translation": "books lookup", "ns_per_pte": 160.0},
            ]
        });
        shadow_kernel(&both_in, &svg).expect("draws");
        assert_drawn(
            &svg,
            &[
                "massive trace, sim shadow",
                "massive trace, pinned shadow",
                "\n0.10x / 0.20x\n",
                "sim 5000 ns per PTE (short pin), pinned 160 ns per PTE (books lookup)",
            ],
        );
        let gm_in = serde_json::json!({
            "command": "cargo bench -p rgvt-core --bench gm", "unix_time": 0,
            "model": {"t2": 1.0, "sweep_scene_ms": 2000},
            "comparison": [
                {"config": "static 384MB", "vgpus": 15, "entries_per_s": 4.9e6, "phi_avg": 0.57},
                {"config": "gBalloon", "vgpus": 15, "entries_per_s": 2.8e6, "phi_avg": 0.49},
            ],
            "sweep": [
                {"config": "static 384MB", "sustained": 16, "points": [
                    {"vgpus": 1, "entries_per_s": 3e3, "phi_avg": 0.4},
                    {"vgpus": 16, "entries_per_s": 5.4e6, "phi_avg": 0.58}]},
            ]
        });
        let svg = dir.join("gm.svg");
        gm(&gm_in, &svg).expect("draws");
        assert_drawn(
            &svg,
            &[
                "\n4.9M\n",
                "\nΦ 0.57\n",
                "\nΦ 0.49\n",
                "static 384MB (sustains 16)",
                "vGPUs",
            ],
        );
        assert!(gm(&serde_json::json!({}), &svg).is_err());
        let kernel_in = serde_json::json!({
            "bench": "gm-kernel", "accel": "tcg", "commit": "0123456789abcdef", "unix_time": 0,
            "result": {"guests": 15, "growing": 3, "seconds": 20.0, "configs": [
                {"config": "static-384", "entries_per_s": 6.2e6, "wl_per_s_min": 6.6,
                 "wl_per_s_median": 10.2, "wl_per_s_max": 12.6, "evictions": 1532.0,
                 "grants": 0.0, "phi_mean": -1.0},
                {"config": "balloon", "entries_per_s": 7.4e6, "wl_per_s_min": 11.6,
                 "wl_per_s_median": 13.4, "wl_per_s_max": 17.7, "evictions": 2144.0,
                 "grants": 3.0, "phi_mean": 1.91}],
                "scale": {"largest": 32}}
        });
        let svg = dir.join("gm-kernel.svg");
        gm_kernel(&kernel_in, &svg).expect("draws");
        assert_drawn(
            &svg,
            &[
                "\n6.2M\n",
                "\nΦ 1.91\n",
                "\n3 grants\n",
                "\n6.6-12.6\n",
                "correct results: 32",
            ],
        );
        assert!(gm_kernel(&serde_json::json!({}), &svg).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
