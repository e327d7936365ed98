//! Command-line front end: parse, dispatch, and the output of each command.

pub mod args;
mod export_cmds;
pub mod lifecycle_cmds;
mod opening;
pub mod registry_cmds;
mod rewrite_cmds;
mod stats_cmd;
pub mod store_cmds;
mod sync_cmd;
mod times;
mod view_cmds;

pub mod output;

use std::path::PathBuf;

use anyhow::Result;
use clap::CommandFactory;

use crate::cancel::Cancel;
use crate::connectors::options::Role;
use crate::registry::Options;
use args::{Cli, Command};

pub struct Ctx {
    pub quiet: bool,
    pub json: bool,
    pub keyfile: Option<PathBuf>,
    /// `-o key=value`: options of every location given directly.
    pub options: Options,
    pub cancel: Cancel,
}

pub async fn run(cli: Cli, cancel: Cancel) -> Result<()> {
    let ctx = Ctx {
        quiet: cli.quiet,
        json: cli.json,
        keyfile: cli.keyfile,
        options: registry_cmds::parse_pairs(&cli.options, false)?,
        cancel,
    };
    match cli.command {
        Command::At { location, command } => store_cmds::run(&ctx, Some(location), command).await,
        Command::Repo(command) => store_cmds::run(&ctx, None, command).await,
        Command::Source { command } => registry_cmds::run(&ctx, Role::Source, command),
        Command::Store { command } => registry_cmds::run(&ctx, Role::Store, command),
        Command::Destination { command } => registry_cmds::run(&ctx, Role::Destination, command),
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kloset", &mut std::io::stdout());
            Ok(())
        }
        Command::Manpages { dir } => write_manpages(&dir),
        Command::Limits { tree, scratch } => print_limits(&tree, &scratch),
    }
}

/// One line per stage, `name seconds`, then the floors for this machine's cores.
fn print_limits(tree: &std::path::Path, scratch: &std::path::Path) -> Result<()> {
    let l = crate::ops::limits::measure(tree, scratch)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mib = l.bytes as f64 / 1048576.0;
    println!("files {}\nmib {mib:.0}\ncores {cores}", l.files);
    for (name, s) in [
        ("read", l.read),
        ("chunk", l.chunk),
        ("hash", l.hash),
        ("zstd1", l.zstd1),
        ("zstd3", l.zstd3),
        ("seal", l.seal),
        ("open", l.open),
        ("create", l.create),
    ] {
        println!("{name} {s:.3} s ({:.0} MiB/s per core)", mib / s.max(1e-9));
    }
    println!("backup_floor {:.3}", l.backup_floor(cores));
    println!("restore_floor {:.3}", l.restore_floor(cores));
    Ok(())
}

/// One page for kloset and one per subcommand (kloset-backup.1, kloset-source-add.1, ...).
pub fn write_manpages(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let cmd = Cli::command();
    write_page(dir, cmd, "kloset")
}

fn write_page(dir: &std::path::Path, cmd: clap::Command, name: &str) -> Result<()> {
    let cmd = cmd.name(name.to_string());
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    std::fs::write(dir.join(format!("{name}.1")), out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_name = format!("{name}-{}", sub.get_name());
        write_page(dir, sub.clone(), &sub_name)?;
    }
    Ok(())
}
