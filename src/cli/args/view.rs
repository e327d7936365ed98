//! Arguments of the commands that browse a store: `mount` and `ui`.

use std::path::PathBuf;

use clap::Args;

use super::SnapshotFilter;

#[derive(Args, Debug)]
pub struct MountArgs {
    /// An empty directory to mount the store at (read-only, until unmounted or Ctrl-C).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Look at the store's snapshots again after this many seconds (on access; 1 at least).
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub refresh: u64,
    /// MiB of file content kept in memory for reads.
    #[arg(long, value_name = "MIB", default_value_t = 128)]
    pub cache: u64,
    /// Only these snapshots.
    #[command(flatten)]
    pub filter: SnapshotFilter,
}

#[derive(Args, Debug)]
pub struct UiArgs {
    /// Where to listen: loopback unless an address is given.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Look at the store's snapshots again after this many seconds (on access; 1 at least).
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub refresh: u64,
    /// Only these snapshots.
    #[command(flatten)]
    pub filter: SnapshotFilter,
}
