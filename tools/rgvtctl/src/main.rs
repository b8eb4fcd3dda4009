//! `rgvtctl`: look at and manage rgvt's vGPUs from a shell.
//!
//! It reads and writes only rgvt's files: the mdev types and devices in
//! sysfs, the tunables under `/sys/kernel/rgvt/` and the (unstable) debugfs
//! views under `/sys/kernel/debug/rgvt/`, and prints tables a person can
//! read, or JSON with `--json`. See `Documentation/rgvt/usage.rst`.

mod balloon;
mod cli;
mod cmd;
mod parse;
mod sys;
mod table;
mod top;

use clap::{CommandFactory, Parser};
use cli::{BalloonWhat, Cli, Command};
use cmd::Format;
use std::io::Write;
use std::process::ExitCode;
use sys::Sys;

/// The roots and parent the options name.
fn sys_of(cli: &Cli) -> Sys {
    Sys {
        debugfs: cli
            .debugfs_root
            .clone()
            .unwrap_or_else(|| cli.sysfs_root.join("kernel/debug")),
        sysfs: cli.sysfs_root.clone(),
        parent: cli.parent.clone(),
    }
}

/// The man pages: `rgvtctl.1` and `rgvtctl-<command>.1` for each subcommand.
fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command();
    // Built, the subcommands carry the global options (--sysfs-root, --json, ...).
    cmd.build();
    let mut pages = Vec::new();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    pages.push(("rgvtctl.1".to_string(), buf));
    // `help` (clap's own) needs no page: `rgvtctl help top` is `rgvtctl top --help`.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("rgvtctl-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .version(env!("CARGO_PKG_VERSION"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub).render(&mut buf)?;
        pages.push((format!("{name}.1"), buf));
    }
    Ok(pages)
}

/// `rgvtctl man [--dir DIR]`.
fn man(dir: Option<&std::path::Path>) -> sys::Result<String> {
    let io = |e: std::io::Error| sys::Error::io("man", &e);
    let pages = man_pages().map_err(io)?;
    let Some(dir) = dir else {
        return Ok(String::from_utf8_lossy(&pages[0].1).into_owned());
    };
    std::fs::create_dir_all(dir).map_err(|e| sys::Error::io(dir.display().to_string(), &e))?;
    for (name, page) in &pages {
        let p = dir.join(name);
        std::fs::write(&p, page).map_err(|e| sys::Error::io(p.display().to_string(), &e))?;
    }
    Ok(format!(
        "wrote {} pages to {}\n",
        pages.len(),
        dir.display()
    ))
}

/// Runs the command; the text to print.
fn run(cli: &Cli) -> sys::Result<String> {
    let sys = sys_of(cli);
    let f = if cli.json { Format::Json } else { Format::Text };
    match &cli.command {
        Command::Types => cmd::types(&sys, f),
        Command::List => cmd::list(&sys, f),
        Command::Slots => cmd::slots(&sys, f),
        Command::Stats { vgpu } => cmd::stats(&sys, vgpu, f),
        Command::Get { tunable } => cmd::get(&sys, tunable.as_deref(), f),
        Command::Set { tunable, value } => cmd::set(&sys, tunable, value, f),
        Command::Create { ty, uuid } => cmd::create(&sys, ty, uuid.as_deref(), f),
        Command::Remove { vgpu } => cmd::remove(&sys, vgpu, f),
        Command::Balloon(b) => balloon::balloon(&sys, matches!(b.what, Some(BalloonWhat::Log)), f),
        Command::Top(args) => top::run(&sys, args, f).map(|()| String::new()),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "rgvtctl", &mut buf);
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

/// The environment variables that stand for options.
const ENV_OPTIONS: &[&str] = &["RGVTCTL_SYSFS_ROOT", "RGVTCTL_DEBUGFS_ROOT", "RGVT_PARENT"];

fn main() -> ExitCode {
    // An empty variable means unset, as `RGVT_PARENT= rgvtctl list` reads
    // (clap would take the empty string as the value).
    for v in ENV_OPTIONS {
        if std::env::var_os(v).is_some_and(|x| x.is_empty()) {
            std::env::remove_var(v);
        }
    }
    // clap prints help and version (exit 0) and usage errors (exit 2) itself.
    let cli = Cli::parse();
    match run(&cli) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`rgvtctl list | head`) is not an error.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rgvtctl: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rgvtctl").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_then_command() {
        let cli = parse(&["--sysfs-root", "/x", "--parent=p1", "get", "policy"]).expect("parses");
        let sys = sys_of(&cli);
        assert_eq!(sys.sysfs, PathBuf::from("/x"));
        assert_eq!(sys.debugfs, PathBuf::from("/x/kernel/debug"));
        assert_eq!(sys.parent, "p1");
        assert!(matches!(cli.command, Command::Get { tunable: Some(ref t) } if t == "policy"));
        // Global options also follow the command.
        let cli = parse(&["list", "--json", "--debugfs-root", "/d"]).expect("parses");
        assert!(cli.json);
        assert_eq!(sys_of(&cli).debugfs, PathBuf::from("/d"));
    }

    #[test]
    fn bad_command_lines() {
        use clap::error::ErrorKind;
        let kind = |a: &[&str]| parse(a).err().map(|e| e.kind());
        assert_eq!(
            kind(&["--bogus", "1", "list"]),
            Some(ErrorKind::UnknownArgument)
        );
        assert_eq!(kind(&["--parent"]), Some(ErrorKind::InvalidValue));
        assert_eq!(kind(&["-h"]), Some(ErrorKind::DisplayHelp));
        assert_eq!(kind(&["stats"]), Some(ErrorKind::MissingRequiredArgument));
        assert_eq!(
            kind(&["top", "--delay", "0"]),
            Some(ErrorKind::ValueValidation)
        );
        assert_eq!(
            kind(&["balloon", "nope"]),
            Some(ErrorKind::InvalidSubcommand)
        );
        assert!(parse(&[]).is_err());
        let cli = parse(&["--sysfs-root", "/nonexistent", "types"]).expect("parses");
        assert!(run(&cli).is_err());
    }

    #[test]
    fn man_pages_for_every_subcommand() {
        let pages = man_pages().expect("renders");
        assert_eq!(pages.len(), 1 + Cli::command().get_subcommands().count());
        let main = String::from_utf8_lossy(&pages[0].1);
        assert!(main.contains(".TH rgvtctl 1"), "{main}");
        assert!(
            main.contains("rgvtctl\\-top(1)") || main.contains("top"),
            "{main}"
        );
    }
}
