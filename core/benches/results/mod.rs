//! What both benches share: where and how they write their results for
//! `tools/figures.sh`.

use std::fs;
use std::path::{Path, PathBuf};

/// Seconds since 1970, for the figures' date.
pub fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes `name.json` to `$RGVT_BENCH_OUT`, by default `build/bench/` of the
/// workspace, where `tools/figures.sh` finds it.
pub fn write_json(name: &str, v: &serde_json::Value) {
    let dir = std::env::var_os("RGVT_BENCH_OUT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/bench"),
        PathBuf::from,
    );
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(v).expect("JSON of numbers and strings") + "\n";
    match fs::create_dir_all(&dir).and_then(|()| fs::write(&path, text)) {
        Ok(()) => println!("\nresults: {}", path.display()),
        Err(e) => eprintln!("results not written to {}: {e}", path.display()),
    }
}
