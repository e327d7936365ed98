//! Arguments of the commands that change what a store holds over its life: forget, prune,
//! keys and repair.

use clap::{Args, Subcommand};

use super::SnapshotFilter;

#[derive(Subcommand, Debug)]
pub enum KeyWhat {
    /// The keys, the one in use marked with *.
    List,
    /// Add a passphrase (from --new-keyfile, KLOSET_NEW_PASSPHRASE, or asked twice).
    Add {
        /// Read the new passphrase from this file's first line.
        #[arg(long, value_name = "FILE")]
        new_keyfile: Option<std::path::PathBuf>,
    },
    /// Remove a key by name or prefix (never the last; the one in use only with --force).
    Rm {
        #[arg(value_name = "KEY")]
        name: String,
        #[arg(long)]
        force: bool,
    },
    /// Change the passphrase in use: add the new one, then remove the one in use.
    Passwd {
        /// Read the new passphrase from this file's first line.
        #[arg(long, value_name = "FILE")]
        new_keyfile: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RepairWhat {
    /// Index every pack no readable index file names, from its header; remove damaged index files.
    Index,
}

#[derive(Args, Debug)]
pub struct ForgetArgs {
    /// Keep the N newest snapshots.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Keep the newest snapshot of each of the N most recent hours that have one.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<usize>,
    /// Keep the newest snapshot of each of the N most recent days that have one.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<usize>,
    /// Keep the newest snapshot of each of the N most recent ISO weeks that have one.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<usize>,
    /// Keep the newest snapshot of each of the N most recent months that have one.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<usize>,
    /// Keep the newest snapshot of each of the N most recent years that have one.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<usize>,
    /// Keep snapshots younger than this, counted from the group's newest (e.g. 2d, 1y6m, 12h).
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<String>,
    /// Keep snapshots carrying all these tags (comma-separated; repeatable, any list).
    #[arg(long, value_name = "TAGS")]
    pub keep_tag: Vec<String>,
    #[command(flatten)]
    pub filter: SnapshotFilter,
    /// Apply the policy to each group of snapshots: host, source, tags, or a comma list.
    #[arg(long, default_value = "host,source", value_name = "FIELDS")]
    pub group_by: String,
    /// Show what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Prune afterwards (with prune's defaults).
    #[arg(long)]
    pub prune: bool,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Show what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Unused space left in partly used packs, as a share of the store (e.g. 5%, 0%).
    #[arg(long, default_value = "5%", value_name = "PERCENT")]
    pub max_unused: String,
    /// Repack at most this much in one run (e.g. 2GiB, 500MiB).
    #[arg(long, value_name = "SIZE")]
    pub max_repack: Option<String>,
    /// Marked packs are deleted only this much later (by the server's clock). Running
    /// backups and syncs announce themselves with leases and are safe without it; set it
    /// longer than any backup when older kloset builds, which take no lease, write here.
    #[arg(long, default_value = "0", value_name = "DURATION")]
    pub delete_delay: String,
}
