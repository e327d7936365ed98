//! Arguments of the commands that look after snapshots already taken: `stats`, `tag` and
//! `rewrite`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::SnapshotFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsMode {
    /// What a restore of the snapshots would write: every file of each, counted in each.
    RestoreSize,
    /// Each distinct file content once: what the files take before chunking.
    FilesByContents,
    /// The blobs the snapshots need, each once: what they take in the store.
    RawData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsBy {
    Host,
    Source,
    Tag,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Snapshot id prefixes or `latest` (default: all that the filters select).
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// What to count (restic's modes).
    #[arg(long, value_enum, default_value = "restore-size")]
    pub mode: StatsMode,
    /// One line per host, source or tag, beside the total.
    #[arg(long, value_enum, value_name = "FIELD")]
    pub by: Option<StatsBy>,
    #[command(flatten)]
    pub filter: SnapshotFilter,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// Snapshot id prefixes or `latest` (default: all that the filters select).
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// Add this tag (repeatable; comma lists too).
    #[arg(long = "add", value_name = "TAG")]
    pub add: Vec<String>,
    /// Remove this tag (repeatable; comma lists too).
    #[arg(long = "remove", value_name = "TAG")]
    pub remove: Vec<String>,
    /// Replace all tags with these (repeatable; comma lists too; `--set ''` clears them).
    #[arg(long = "set", value_name = "TAG", conflicts_with_all = ["add", "remove"])]
    pub set: Vec<String>,
    #[command(flatten)]
    pub filter: SnapshotFilter,
}

#[derive(Args, Debug)]
pub struct RewriteArgs {
    /// Snapshot id prefixes or `latest` (default: all that the filters select).
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// Take out paths (or S3 keys) matching this gitignore-style pattern (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Like --exclude, ignoring case.
    #[arg(long, value_name = "PATTERN")]
    pub iexclude: Vec<String>,
    /// Read exclude patterns from a file, one a line (repeatable).
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Remove each original once its rewritten snapshot is saved (a prune then reclaims
    /// what only the originals held).
    #[arg(long)]
    pub forget: bool,
    /// Show what would be taken out, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filter: SnapshotFilter,
}
