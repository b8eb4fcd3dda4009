//! `rgvtctl`: look at and manage rgvt's vGPUs from a shell.
//!
//! It reads and writes only rgvt's files: the mdev types and devices in
//! sysfs, the tunables under `/sys/kernel/rgvt/` and the (unstable) debugfs
//! views under `/sys/kernel/debug/rgvt/`, and prints tables a person can
//! read. See `Documentation/rgvt/usage.rst`.

mod cmd;
mod parse;
mod sys;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;
use sys::Sys;

const USAGE: &str = "\
usage: rgvtctl [OPTIONS] COMMAND [ARGS]

commands:
  types                   the vGPU types: GM sizes, sharing, how many more fit
  list                    the vGPUs: id, uuid, type, low GM, slots, pins, traps
  slots                   the high-GM slot map: who holds each slot, sharing
  stats <id|uuid>         a vGPU's counters (debugfs)
  get [tunable]           every tunable, or one value
  set <tunable> <value>   change a tunable (the kernel validates it)
  create <type> [uuid]    create a vGPU (a random UUID if none is given)
  remove <id|uuid>        remove a vGPU

options:
  --sysfs-root DIR        where sysfs is (default /sys; env RGVTCTL_SYSFS_ROOT)
  --debugfs-root DIR      where debugfs is (default <sysfs root>/kernel/debug;
                          env RGVTCTL_DEBUGFS_ROOT)
  --parent NAME           the mdev parent device (default sim0; env RGVT_PARENT)
  -h, --help              this text
";

/// A command line that cannot be run: exit status 2.
struct Usage(String);

/// The options and the command with its arguments.
struct Args {
    sys: Sys,
    command: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Parses the options before the command; the rest is the command.
fn parse_args(args: &[String]) -> Result<Option<Args>, Usage> {
    let mut sysfs = env("RGVTCTL_SYSFS_ROOT").map(PathBuf::from);
    let mut debugfs = env("RGVTCTL_DEBUGFS_ROOT").map(PathBuf::from);
    let mut parent = env("RGVT_PARENT");
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if !a.starts_with('-') {
            break;
        }
        if a == "-h" || a == "--help" {
            return Ok(None);
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (a, None),
        };
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| Usage(format!("{name} needs a value")))?
            }
        };
        match name {
            "--sysfs-root" => sysfs = Some(PathBuf::from(value)),
            "--debugfs-root" => debugfs = Some(PathBuf::from(value)),
            "--parent" => parent = Some(value),
            _ => return Err(Usage(format!("unknown option {name}"))),
        }
        i += 1;
    }
    let sysfs = sysfs.unwrap_or_else(|| PathBuf::from("/sys"));
    let debugfs = debugfs.unwrap_or_else(|| sysfs.join("kernel/debug"));
    Ok(Some(Args {
        sys: Sys {
            sysfs,
            debugfs,
            parent: parent.unwrap_or_else(|| "sim0".to_string()),
        },
        command: args[i..].to_vec(),
    }))
}

/// Runs one command; `Ok(Err(..))` is a usage error.
fn run(sys: &Sys, command: &[String]) -> Result<sys::Result<String>, Usage> {
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    Ok(match words.as_slice() {
        ["types"] => cmd::types(sys),
        ["list"] => cmd::list(sys),
        ["slots"] => cmd::slots(sys),
        ["stats", key] => cmd::stats(sys, key),
        ["get"] => cmd::get(sys, None),
        ["get", name] => cmd::get(sys, Some(name)),
        ["set", name, value] => cmd::set(sys, name, value),
        ["create", ty] => cmd::create(sys, ty, None),
        ["create", ty, uuid] => cmd::create(sys, ty, Some(uuid)),
        ["remove", key] => cmd::remove(sys, key),
        [] => return Err(Usage("no command".to_string())),
        [c, ..] => return Err(Usage(format!("bad arguments for '{c}'"))),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|a| match a {
        None => {
            print!("{USAGE}");
            Ok(Ok(String::new()))
        }
        Some(a) => run(&a.sys, &a.command),
    });
    match result {
        Ok(Ok(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("rgvtctl: {e}");
            ExitCode::FAILURE
        }
        Err(Usage(why)) => {
            eprintln!("rgvtctl: {why}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_then_command() {
        let a = parse_args(&strings(&[
            "--sysfs-root",
            "/x",
            "--parent=p1",
            "get",
            "policy",
        ]))
        .ok()
        .flatten()
        .expect("parses");
        assert_eq!(a.sys.sysfs, PathBuf::from("/x"));
        assert_eq!(a.sys.debugfs, PathBuf::from("/x/kernel/debug"));
        assert_eq!(a.sys.parent, "p1");
        assert_eq!(a.command, strings(&["get", "policy"]));
    }

    #[test]
    fn bad_command_lines() {
        assert!(parse_args(&strings(&["--bogus", "1"])).is_err());
        assert!(parse_args(&strings(&["--parent"])).is_err());
        assert!(matches!(parse_args(&strings(&["-h"])), Ok(None)));
        let sys = Sys {
            sysfs: "/nonexistent".into(),
            debugfs: "/nonexistent".into(),
            parent: "sim0".into(),
        };
        assert!(run(&sys, &[]).is_err());
        assert!(run(&sys, &strings(&["stats"])).is_err());
        assert!(matches!(run(&sys, &strings(&["types"])), Ok(Err(_))));
    }
}
