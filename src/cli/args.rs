//! The clap command tree.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

pub use lifecycle::{ForgetArgs, KeyWhat, PruneArgs, RepairWhat};

#[derive(Parser, Debug)]
#[command(
    name = "kloset",
    version,
    about = "Encrypted, deduplicated backups of directories and S3 buckets, into a local or S3 store",
    after_help = "Without 'at', commands use $KLOSET_REPOSITORY, else the default store ('kloset store default'), else ~/.kloset."
)]
pub struct Cli {
    /// No progress output.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Machine-readable output where a command has it.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the store passphrase from the first line of FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub keyfile: Option<PathBuf>,
    /// A connector option for every location given directly (not as @name), e.g.
    /// `-o use_tls=false -o region=eu-west-3` (repeatable; same keys as the registry). A secret
    /// is best given as `@FILE`, `!COMMAND` or `?` (asked), e.g. `-o secret_access_key=@~/.s3key`.
    #[arg(short = 'o', long = "option", global = true, value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a store command against LOCATION: a path, fs:///path, s3://host/bucket[/prefix] or @name.
    At {
        location: String,
        #[command(subcommand)]
        command: StoreCommand,
    },
    #[command(flatten)]
    Repo(StoreCommand),
    /// Manage named sources (what to back up).
    Source {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Manage named stores (where backups live).
    Store {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Manage named destinations (where to restore).
    Destination {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Print a shell completion script.
    Completion { shell: Shell },
    /// Write man pages into DIR (one per subcommand).
    #[command(hide = true)]
    Manpages { dir: PathBuf },
    /// Time each stage of a backup and a restore of TREE on one core (for scripts/bench).
    #[command(hide = true)]
    Limits {
        tree: PathBuf,
        /// Where the file-creation stage writes (the restore's disk).
        scratch: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Initialise a new store (asks for a passphrase twice, or reads KLOSET_PASSPHRASE).
    Create(CreateArgs),
    /// Back up a directory, file, s3:// location or @source into the store.
    Backup(BackupArgs),
    /// Back up a generated tree of FILES tiny files (for scripts/bench's scale step): each
    /// generation changes CHANGED per mille of them.
    #[command(hide = true)]
    Synthesize {
        files: u64,
        #[arg(long, default_value_t = 1000)]
        per_dir: u64,
        #[arg(long, default_value_t = 0)]
        generation: u32,
        #[arg(long, default_value_t = 10)]
        changed_permille: u32,
    },
    /// List snapshots, or the entries at ID[:/path] inside one.
    Ls(LsArgs),
    /// Restore a snapshot (or ID:/sub/path) to a directory, s3:// location or @destination.
    Restore(RestoreArgs),
    /// What changed between two snapshots: + added, - removed, M modified, U metadata only.
    Diff {
        #[arg(value_name = "SNAPSHOT")]
        from: String,
        #[arg(value_name = "SNAPSHOT")]
        to: String,
        /// Which snapshots `latest` considers.
        #[command(flatten)]
        filter: SnapshotFilter,
    },
    /// Which snapshots hold entries matching a glob: `*.pdf` matches names, `/etc/**/x`
    /// whole paths.
    Find {
        pattern: String,
        /// Only this snapshot.
        #[arg(long, value_name = "SNAPSHOT")]
        snapshot: Option<String>,
        /// Match regardless of case.
        #[arg(short = 'i', long)]
        ignore_case: bool,
        #[command(flatten)]
        filter: SnapshotFilter,
    },
    /// Print one file (or S3 object) of a snapshot to stdout: ID:/path/to/file.
    Cat {
        #[arg(value_name = "SNAPSHOT:PATH")]
        target: String,
        #[command(flatten)]
        filter: SnapshotFilter,
    },
    /// Write a directory of a snapshot to stdout as a tar or zip archive (a file: its content).
    Dump {
        #[arg(value_name = "SNAPSHOT[:PATH]")]
        target: String,
        #[arg(long, value_enum, default_value = "tar")]
        format: crate::ops::dump::Format,
        #[command(flatten)]
        filter: SnapshotFilter,
    },
    /// Show the store, or one snapshot or entry.
    Info { snapshot: Option<String> },
    /// Mount the store read-only with FUSE: ids/, snapshots/, hosts/, tags/ (restic's layout).
    Mount(view::MountArgs),
    /// Browse the store in a web browser: a local read-only web UI behind a random token.
    Ui(view::UiArgs),
    /// Verify the store: every snapshot's trees and blobs are indexed and every pack exists.
    Check {
        /// Also download every pack, re-hash it and decrypt every blob.
        #[arg(long)]
        read_data: bool,
        /// Read only a slice of the packs: `1/10` (then 2/10 next time...) or `5%` at random.
        #[arg(long, value_name = "SUBSET", conflicts_with = "read_data")]
        read_data_subset: Option<String>,
    },
    /// Delete snapshots (their data stays until a prune).
    Rm {
        /// Snapshot id prefixes.
        #[arg(required = true, value_name = "SNAPSHOT")]
        snapshots: Vec<String>,
    },
    /// Delete the snapshots a retention policy does not keep (restic's rules; local time).
    Forget(ForgetArgs),
    /// How much space snapshots take: restore size, distinct file contents, or stored data.
    Stats(housekeeping::StatsArgs),
    /// Add, remove or set tags on snapshots already taken (each becomes a new snapshot).
    Tag(housekeeping::TagArgs),
    /// Take paths out of snapshots already taken: new snapshots without them.
    Rewrite(housekeeping::RewriteArgs),
    /// Reclaim space: delete packs no snapshot needs, repack partly used ones, compact the
    /// index. Safe beside running backups (two phases, see FORMAT.md).
    Prune(PruneArgs),
    /// Copy snapshots to or from another store (only the data it lacks; incremental).
    Sync {
        direction: SyncDirection,
        /// The other store: a path, s3://... or @name.
        #[arg(value_name = "STORE")]
        other: String,
        /// Snapshots of the sending store (default: all that the filters select).
        #[arg(value_name = "SNAPSHOT")]
        snapshots: Vec<String>,
        #[command(flatten)]
        filter: SnapshotFilter,
        /// Read the other store's passphrase from the first line of FILE (else its
        /// passphrase option, KLOSET_OTHER_PASSPHRASE, or a prompt).
        #[arg(long, value_name = "FILE")]
        other_keyfile: Option<PathBuf>,
    },
    /// Passphrases that open the store: list, add, rm, passwd.
    Key {
        #[command(subcommand)]
        what: KeyWhat,
    },
    /// Rebuild what is damaged: `repair index` indexes packs from their own headers.
    Repair {
        #[command(subcommand)]
        what: RepairWhat,
    },
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Argon2id memory cost in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub kdf_memory_mib: u32,
    /// Argon2id iterations.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub kdf_iterations: u32,
    /// Target pack size in MiB.
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub pack_size_mib: u64,
    /// Share another store's chunker parameters and blob ids (and so its master key), so
    /// `sync` between them moves data without re-chunking.
    #[arg(long, value_name = "STORE")]
    pub like: Option<String>,
    /// Read the other store's passphrase from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub other_keyfile: Option<PathBuf>,
    /// Never train a zstd dictionary: one holds verbatim fragments of the first backup's
    /// small files (sealed, but kept for good); small files then take more space.
    #[arg(long)]
    pub no_dictionary: bool,
    /// Pad every blob to a size class (at most ~11 % more, at least 512 bytes), so stored
    /// sizes no longer tell compressed sizes. Needs a kloset that reads padded blobs.
    #[arg(long)]
    pub padding: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SyncDirection {
    /// From the store at hand to STORE.
    To,
    /// From STORE to the store at hand.
    From,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// A path, s3://host/bucket[/prefix], or @source[:sub/path]. Several paths make one
    /// snapshot whose tree starts at `/`.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Tag the snapshot (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Read every file, ignoring the parent snapshot.
    #[arg(long)]
    pub force: bool,
    /// Record this host name instead of this machine's.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Leave out paths (or object keys) matching this gitignore-style pattern (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Like --exclude, ignoring case.
    #[arg(long, value_name = "PATTERN")]
    pub iexclude: Vec<String>,
    /// Read exclude patterns from a file, one a line (repeatable).
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<std::path::PathBuf>,
    /// Leave out the contents of directories holding a valid CACHEDIR.TAG.
    #[arg(long)]
    pub exclude_caches: bool,
    /// Leave out the contents of directories holding this file: NAME or NAME:HEADER
    /// (repeatable).
    #[arg(long, value_name = "NAME[:HEADER]")]
    pub exclude_if_present: Vec<String>,
    /// Stay on the filesystems of the paths given (mount points are kept, empty).
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// Read the source and report what would be stored; write nothing to the store.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Record this time instead of now: 'YYYY-MM-DD HH:MM:SS' (local) or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// A snapshot id prefix (or `latest`), optionally with :/path.
    pub snapshot: Option<String>,
    /// Long listing: mode, owner, size, time, and S3 metadata.
    #[arg(short, long)]
    pub long: bool,
    /// Everything below the path, with full paths.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// S3 keys backed up with versions=all: each version and delete marker, oldest first, and
    /// keys whose newest entry is a delete marker.
    #[arg(long)]
    pub versions: bool,
    #[command(flatten)]
    pub filter: SnapshotFilter,
}

/// Which snapshots a listing, or `latest`, considers.
#[derive(Args, Debug, Default)]
pub struct SnapshotFilter {
    /// Only snapshots from this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only snapshots with this tag (repeatable: all of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only snapshots of this source (as given to backup, or its key).
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Where to restore: a directory, s3://host/bucket[/prefix] or @destination[:sub/path]. `-to` works too.
    #[arg(long = "to", value_name = "DEST")]
    pub to: String,
    /// A snapshot id prefix (or `latest`), optionally with :/path.
    pub snapshot: String,
    /// Restore into a non-empty target, overwriting what is there.
    #[arg(long)]
    pub force: bool,
    /// Restore only paths matching this gitignore-style pattern, with the directories on the
    /// way (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Like --include, ignoring case.
    #[arg(long, value_name = "PATTERN")]
    pub iinclude: Vec<String>,
    /// Leave out paths matching this pattern; a directory takes its contents along (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Like --exclude, ignoring case.
    #[arg(long, value_name = "PATTERN")]
    pub iexclude: Vec<String>,
    /// Packs in an archive storage class: ask S3 to restore them, wait, then restore.
    #[arg(long)]
    pub thaw: bool,
    /// Skip device nodes and FIFOs, clear setuid/setgid bits and drop file capabilities:
    /// recommended when restoring a snapshot another host made.
    #[arg(long)]
    pub no_special: bool,
    /// S3 keys as they stood at TIME (RFC 3339, or 'YYYY-MM-DD HH:MM:SS' local time), from a
    /// snapshot taken with versions=all: per key the newest version not after TIME, nothing
    /// for a key deleted or not yet written then.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub filter: SnapshotFilter,
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Register NAME: `add NAME location=... [key=value ...]` or `add NAME LOCATION [key=value ...]`.
    /// A secret (passphrase, access_key, secret_access_key, session_token, sse_customer_key)
    /// may be `@FILE`, `!COMMAND` or `?` (asked when used): then only that is stored.
    Add {
        name: String,
        #[arg(required = true, value_name = "LOCATION|KEY=VALUE")]
        args: Vec<String>,
    },
    /// Show entries (secrets masked unless --secrets).
    Show {
        names: Vec<String>,
        #[arg(long)]
        secrets: bool,
        /// YAML output.
        #[arg(long)]
        yaml: bool,
    },
    /// List the names.
    Ls,
    /// Change options of NAME.
    Set {
        name: String,
        #[arg(required = true, value_name = "KEY=VALUE")]
        args: Vec<String>,
    },
    /// Remove options of NAME ('location' cannot be removed).
    Unset {
        name: String,
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
    },
    /// Remove NAME.
    Rm { name: String },
    /// (stores only) Use NAME when `at` is omitted.
    Default { name: String },
    /// Add every entry of a YAML file laid out like config.example.yaml.
    Import {
        file: PathBuf,
        /// Replace entries that already exist.
        #[arg(long)]
        force: bool,
        /// Import entries that run commands (passphrase_cmd, or a secret given as
        /// !COMMAND) without asking; they are listed either way.
        #[arg(long)]
        allow_commands: bool,
    },
}

/// clap cannot take `-to` (it reads `-t o`); the seed command lines use it, so rewrite it.
pub fn normalise_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for a in args {
        if a == "--" {
            passthrough = true;
        }
        if !passthrough && a == "-to" {
            out.push("--to".to_string());
        } else if let (false, Some(v)) = (passthrough, a.strip_prefix("-to=")) {
            out.push(format!("--to={v}"));
        } else {
            out.push(a);
        }
    }
    out
}

pub mod housekeeping;
mod lifecycle;
#[cfg(test)]
mod tests;
pub mod view;
