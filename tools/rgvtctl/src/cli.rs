//! The command line, declared once: clap parses it, and the same definition
//! gives `--help`, the shell completions and the man page.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Inspect and manage rgvt's vGPUs: types, vGPUs, the slot map, counters and tunables.
///
/// rgvtctl reads and writes only rgvt's files: the mdev types and devices in
/// sysfs, the tunables under /sys/kernel/rgvt/ and the (unstable) debugfs views
/// under /sys/kernel/debug/rgvt/. Exit status: 0 on success, 1 when the kernel
/// or the file system refused, 2 for a bad command line.
#[derive(Debug, Parser)]
#[command(name = "rgvtctl", version, max_term_width = 100)]
#[command(
    after_help = "See Documentation/rgvt/usage.rst for the JSON fields and the debugfs files read."
)]
pub struct Cli {
    /// Where sysfs is mounted.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "RGVTCTL_SYSFS_ROOT",
        default_value = "/sys"
    )]
    pub sysfs_root: PathBuf,

    /// Where debugfs is mounted [default: <sysfs root>/kernel/debug].
    #[arg(long, global = true, value_name = "DIR", env = "RGVTCTL_DEBUGFS_ROOT")]
    pub debugfs_root: Option<PathBuf>,

    /// The mdev parent device.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "RGVT_PARENT",
        default_value = "sim0"
    )]
    pub parent: String,

    /// Print JSON (stable field names, see usage.rst) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The vGPU types: GM sizes, sharing, how many more fit.
    Types,
    /// The vGPUs: id, uuid, type, low GM, slots, pins, traps.
    List,
    /// The high-GM slot map: who holds each slot, sharing.
    Slots,
    /// A vGPU's counters (debugfs).
    Stats {
        /// The vGPU's id or UUID.
        vgpu: String,
    },
    /// Every tunable, or one value.
    Get {
        /// A tunable's name (as in /sys/kernel/rgvt/).
        tunable: Option<String>,
    },
    /// Change a tunable (the kernel validates it; its error is shown).
    Set {
        /// The tunable's name.
        tunable: String,
        /// The new value.
        value: String,
    },
    /// Create a vGPU (a random UUID if none is given).
    Create {
        /// The type's name (S_32) or directory (rgvt-S_32).
        #[arg(value_name = "TYPE")]
        ty: String,
        /// The new device's UUID.
        uuid: Option<String>,
    },
    /// Remove a vGPU.
    Remove {
        /// The vGPU's id or UUID.
        vgpu: String,
    },
    /// The balloon: its tunables, the policy's state (Φ, W, C) and its decision log.
    Balloon(BalloonArgs),
    /// A live view of every vGPU, refreshed (like intel_gpu_top); q quits.
    Top(TopArgs),
    /// Print the shell completion script for SHELL.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write rgvtctl.1 and one page per subcommand into DIR.
    Man {
        /// Write the pages into this directory instead of printing rgvtctl.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `rgvtctl balloon [log]`.
#[derive(Debug, Args)]
pub struct BalloonArgs {
    /// What to show (default: the state and the last decisions).
    #[command(subcommand)]
    pub what: Option<BalloonWhat>,
}

/// `rgvtctl balloon log`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum BalloonWhat {
    /// Every decision in the log, oldest first.
    Log,
}

/// `rgvtctl top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Seconds between two refreshes (rates are over this interval).
    #[arg(short, long, value_name = "SECONDS", default_value_t = 1.0, value_parser = delay)]
    pub delay: f64,

    /// Stop after this many refreshes (default: until q).
    #[arg(short = 'n', long, value_name = "N")]
    pub iterations: Option<u64>,

    /// Print one screen after another, without clearing (default when stdout is not a terminal).
    #[arg(short, long)]
    pub batch: bool,
}

/// A refresh interval between 10 ms and an hour.
fn delay(s: &str) -> Result<f64, String> {
    let d: f64 = s.parse().map_err(|_| format!("{s} is not a number"))?;
    if (0.01..=3600.0).contains(&d) {
        Ok(d)
    } else {
        Err("must be between 0.01 and 3600 seconds".to_string())
    }
}
