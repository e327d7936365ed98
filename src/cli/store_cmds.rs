//! Commands that act on a store: create, backup, ls, restore, info, check.

use std::sync::Arc;

use anyhow::Result;
use serde_json::json;

use super::{output, Ctx};
use crate::cli::args::{BackupArgs, CreateArgs, LsArgs, RepairWhat, RestoreArgs, StoreCommand};
use crate::connectors::options::Role;
use crate::connectors::{self, Spec};
use crate::error::{usage, KlosetError};
use crate::location::{self, Location};
use crate::ops::backup::BackupOptions;
use crate::ops::browse::{self, Found};
use crate::ops::check;
use crate::passphrase::PassphraseSource;
use crate::registry::Registry;
use crate::repo::config::KdfCost;
use crate::repo::Repo;
use crate::restore::planner::RestoreRoot;

pub async fn run(ctx: &Ctx, at: Option<String>, cmd: StoreCommand) -> Result<()> {
    let registry = Registry::load()?;
    let spec = store_spec(ctx, &registry, at)?;
    match cmd {
        StoreCommand::Create(a) => create(ctx, &spec, a).await,
        StoreCommand::Backup(a) => run_backup(ctx, &registry, &spec, a).await,
        StoreCommand::Ls(a) => ls(ctx, &spec, a).await,
        StoreCommand::Restore(a) => restore(ctx, &registry, &spec, a).await,
        StoreCommand::Info { snapshot } => info(ctx, &spec, snapshot).await,
        StoreCommand::Check {
            read_data,
            read_data_subset,
        } => {
            let read = match (read_data, read_data_subset) {
                (_, Some(text)) => check::ReadData::parse_subset(&text).ok_or_else(|| {
                    KlosetError::Usage(format!(
                        "--read-data-subset {text}: give n/m (e.g. 1/10) or a percentage (e.g. 5%)"
                    ))
                })?,
                (true, None) => check::ReadData::All,
                (false, None) => check::ReadData::None,
            };
            run_check(ctx, &spec, read).await
        }
        StoreCommand::Rm { snapshots } => rm(ctx, &spec, snapshots).await,
        StoreCommand::Forget(a) => forget(ctx, &spec, a).await,
        StoreCommand::Key { what } => key(ctx, &spec, what).await,
        StoreCommand::Cat { target } => cat(ctx, &spec, &target).await,
        StoreCommand::Find {
            pattern,
            snapshot,
            ignore_case,
            filter,
        } => {
            let repo = open(ctx, &spec, true).await?;
            let snaps = match snapshot {
                Some(s) => vec![repo.find_snapshot(&s).await?],
                None => {
                    let filter = snapshot_filter(filter);
                    let mut all = repo.snapshots().await?;
                    all.retain(|(_, s)| filter.matches(s));
                    all
                }
            };
            let hits = crate::ops::find::find(&repo, &snaps, &pattern, ignore_case).await?;
            output::found(ctx, &hits)
        }
        StoreCommand::Diff { from, to } => {
            let repo = open(ctx, &spec, true).await?;
            let (a, b) = (
                repo.find_snapshot(&from).await?.1.tree,
                repo.find_snapshot(&to).await?.1.tree,
            );
            let changes = crate::ops::diff::diff(&repo, a, b).await?;
            output::diff(ctx, &changes)
        }
        StoreCommand::Prune(a) => run_prune(ctx, &spec, prune_options(&a, ctx.quiet)?).await,
        StoreCommand::Repair {
            what: RepairWhat::Index,
        } => repair_index(ctx, &spec).await,
    }
}

/// `at` if given, else $KLOSET_REPOSITORY, else the registry's default store, else ~/.kloset.
fn store_spec(ctx: &Ctx, registry: &Registry, at: Option<String>) -> Result<Spec> {
    let text = at.or_else(|| {
        std::env::var("KLOSET_REPOSITORY")
            .ok()
            .filter(|s| !s.is_empty())
    });
    match text {
        Some(t) => resolve(ctx, registry, Role::Store, &t),
        None => match &registry.default_store {
            Some(name) => registry.resolve(Role::Store, name),
            None => {
                let home = dirs::home_dir().ok_or_else(|| {
                    usage("no home directory: give a store with 'kloset at LOCATION ...'")
                })?;
                Ok(Spec::bare(
                    Location::Fs(home.join(".kloset")),
                    Default::default(),
                ))
            }
        },
    }
}

/// `@name[:sub]` through the registry, anything else as a location with the `-o` options.
fn resolve(ctx: &Ctx, registry: &Registry, role: Role, text: &str) -> Result<Spec> {
    if text.starts_with('@') {
        return registry.resolve(role, text);
    }
    Spec::inline(role, location::parse(text)?, &ctx.options)
}

fn passphrase(ctx: &Ctx, spec: &Spec) -> PassphraseSource {
    PassphraseSource {
        keyfile: ctx.keyfile.clone(),
        passphrase: spec.option("passphrase").map(str::to_string),
        passphrase_cmd: spec.option("passphrase_cmd").map(str::to_string),
    }
}

async fn open(ctx: &Ctx, spec: &Spec, with_index: bool) -> Result<Repo> {
    open_as(ctx, spec, with_index, false).await
}

/// `from_store`: read metadata from the store itself, not the local cache (checks).
async fn open_as(ctx: &Ctx, spec: &Spec, with_index: bool, from_store: bool) -> Result<Repo> {
    let backend = connectors::open_store(spec, false).await?;
    // Fail on a missing or unreachable store before asking for a passphrase.
    Repo::read_config(&backend).await?;
    let pass = passphrase(ctx, spec).get(false)?;
    let mut repo = Repo::open(backend, &pass).await?;
    if from_store {
        repo.bypass_cache();
    }
    if with_index {
        repo.load_index().await?;
    }
    Ok(repo)
}

async fn create(ctx: &Ctx, spec: &Spec, a: CreateArgs) -> Result<()> {
    if a.pack_size_mib == 0 || a.pack_size_mib > 512 {
        return Err(usage("--pack-size-mib must be between 1 and 512"));
    }
    if a.kdf_memory_mib < 8 || a.kdf_iterations == 0 {
        return Err(usage(
            "--kdf-memory-mib must be at least 8 and --kdf-iterations at least 1",
        ));
    }
    let backend = connectors::open_store(spec, true).await?;
    if Repo::read_config(&backend).await.is_ok() {
        return Err(KlosetError::AlreadyInitialised(spec.display.clone()).into());
    }
    let pass = passphrase(ctx, spec).get(true)?;
    let cost = KdfCost {
        memory_kib: a.kdf_memory_mib * 1024,
        iterations: a.kdf_iterations,
    };
    let config = Repo::create(&backend, &pass, cost, a.pack_size_mib * 1024 * 1024).await?;
    if ctx.json {
        println!("{}", json!({"id": config.id, "location": spec.display}));
    } else {
        println!("created store {} at {}", config.id.short(), spec.display);
    }
    Ok(())
}

async fn run_backup(ctx: &Ctx, registry: &Registry, spec: &Spec, a: BackupArgs) -> Result<()> {
    let source = resolve(ctx, registry, Role::Source, &a.source)?;
    let repo = Arc::new(open(ctx, spec, true).await?);
    let opts = BackupOptions {
        source_display: source.display.clone(),
        tags: a.tags,
        quiet: ctx.quiet,
        force: a.force,
        concurrency: spec.concurrency(),
        cancel: ctx.cancel.clone(),
        host: a.host,
        time: a.time.as_deref().map(parse_time).transpose()?,
        excludes: crate::filter::Excludes::new(&a.exclude, &a.iexclude, &a.exclude_file)?,
    };
    let outcome = connectors::backup(repo, &source, opts).await?;
    output::backup(ctx, &outcome);
    if !outcome.errors.is_empty() {
        return Err(KlosetError::PartialBackup(outcome.errors.len(), outcome.id.short()).into());
    }
    Ok(())
}

async fn ls(ctx: &Ctx, spec: &Spec, a: LsArgs) -> Result<()> {
    let filter = snapshot_filter(a.filter);
    let Some(snap) = a.snapshot else {
        let repo = open(ctx, spec, false).await?;
        let mut list = repo.snapshot_list().await?;
        list.good.retain(|(_, s)| filter.matches(s));
        return output::snapshots(ctx, &list.good, &list.damaged);
    };
    let repo = open(ctx, spec, true).await?;
    let resolved = browse::resolve_with(&repo, &snap, &filter).await?;
    if let (true, Found::Dir(id, _)) = (a.recursive, &resolved.found) {
        let (_, path) = browse::split_spec(&snap);
        let all = browse::walk_all(&repo, *id, path).await?;
        return output::entries_with_paths(ctx, all, a.long);
    }
    let nodes = match resolved.found {
        Found::Dir(id, _) => repo.load_tree(&id).await?.nodes,
        Found::File(node) => vec![node],
    };
    output::entries(ctx, &nodes, a.long)
}

async fn restore(ctx: &Ctx, registry: &Registry, spec: &Spec, a: RestoreArgs) -> Result<()> {
    let dest = resolve(ctx, registry, Role::Destination, &a.to)?;
    let repo = Arc::new(open(ctx, spec, true).await?);
    let resolved = browse::resolve_with(&repo, &a.snapshot, &snapshot_filter(a.filter)).await?;
    let root = match resolved.found {
        Found::Dir(id, _) => RestoreRoot::Tree(id),
        Found::File(node) => RestoreRoot::Node(Box::new(node)),
    };
    let summary =
        connectors::restore(repo, root, &dest, a.force, ctx.quiet, spec.concurrency()).await?;
    output::restore(ctx, &resolved.id, &summary);
    if !summary.damaged.is_empty() {
        let shown: Vec<&str> = summary.damaged.iter().take(5).map(String::as_str).collect();
        let more = summary.damaged.len().saturating_sub(shown.len());
        return Err(KlosetError::Integrity(format!(
            "{} files were not restored because their data in the store is missing or damaged ({}{}); nothing partial was left in their place: run 'kloset check --read-data'",
            summary.damaged.len(),
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ))
        .into());
    }
    if !summary.errors.is_empty() {
        return Err(KlosetError::PartialRestore(summary.errors.len()).into());
    }
    Ok(())
}

async fn info(ctx: &Ctx, spec: &Spec, snapshot: Option<String>) -> Result<()> {
    let repo = open(ctx, spec, true).await?;
    let Some(snap) = snapshot else {
        let snaps = repo.snapshot_ids().await?;
        let packs = repo.stored_packs().await?;
        return output::store_info(ctx, spec, &repo, snaps.len(), &packs);
    };
    let resolved = browse::resolve(&repo, &snap).await?;
    let (_, path) = browse::split_spec(&snap);
    let entry = match resolved.found {
        Found::Dir(_, node) => node,
        Found::File(node) => Some(node),
    };
    let v = match (path.trim_matches('/').is_empty(), entry) {
        (false, Some(node)) => json!({"snapshot": resolved.id, "path": path, "entry": node}),
        _ => json!({"id": resolved.id, "snapshot": resolved.snapshot}),
    };
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

async fn run_check(ctx: &Ctx, spec: &Spec, read: check::ReadData) -> Result<()> {
    let repo = open_as(ctx, spec, true, true).await?;
    let report = check::check(&repo, read, spec.concurrency()).await?;
    output::check(ctx, &report, !matches!(read, check::ReadData::None));
    if !report.problems.is_empty() {
        return Err(KlosetError::Integrity(format!(
            "{} problems found (listed above, with what to do)",
            report.problems.len()
        ))
        .into());
    }
    if !ctx.json {
        println!("no problems found");
    }
    Ok(())
}

async fn repair_index(ctx: &Ctx, spec: &Spec) -> Result<()> {
    let repo = open_as(ctx, spec, true, true).await?;
    let outcome = crate::ops::repair::index(&repo).await?;
    if ctx.json {
        println!(
            "{}",
            json!({"packs_indexed": outcome.packs, "index_files_removed": outcome.removed,
                   "unreadable_packs": outcome.unreadable})
        );
    } else {
        println!(
            "index repaired: {} packs indexed from their headers, {} damaged index files removed, {} packs without a readable header",
            outcome.packs, outcome.removed, outcome.unreadable
        );
    }
    Ok(())
}

async fn rm(ctx: &Ctx, spec: &Spec, prefixes: Vec<String>) -> Result<()> {
    let repo = open(ctx, spec, false).await?;
    let mut ids = Vec::new();
    for p in &prefixes {
        if p == "latest" {
            return Err(KlosetError::Usage(
                "rm takes snapshot ids, not 'latest': run 'kloset ls' to see them".into(),
            )
            .into());
        }
        ids.push(repo.find_snapshot(p).await?.0);
    }
    crate::ops::forget::remove(&repo, &ids).await?;
    output::removed(ctx, &ids);
    Ok(())
}

async fn forget(ctx: &Ctx, spec: &Spec, a: crate::cli::args::ForgetArgs) -> Result<()> {
    use crate::ops::forget::{self as f, GroupBy};
    use crate::ops::retention::{parse_duration, Policy};
    let within = match &a.keep_within {
        Some(text) => Some(parse_duration(text).ok_or_else(|| {
            KlosetError::Usage(format!(
                "--keep-within {text}: give a duration such as 2d, 12h, 1y6m (y, m, w, d, h)"
            ))
        })?),
        None => None,
    };
    let policy = Policy {
        last: a.keep_last,
        hourly: a.keep_hourly,
        daily: a.keep_daily,
        weekly: a.keep_weekly,
        monthly: a.keep_monthly,
        yearly: a.keep_yearly,
        within,
        tags: a
            .keep_tag
            .iter()
            .map(|l| l.split(',').map(|t| t.trim().to_string()).collect())
            .collect(),
    };
    if policy.is_empty() {
        return Err(KlosetError::Usage(
            "forget needs a policy, e.g. --keep-last 7 or --keep-daily 7; to delete given snapshots use 'kloset rm ID'".into(),
        )
        .into());
    }
    let group_by = GroupBy::parse(&a.group_by).ok_or_else(|| {
        KlosetError::Usage(format!(
            "--group-by {}: use host, source, tags or a comma list of them",
            a.group_by
        ))
    })?;
    let filter = snapshot_filter(a.filter);
    let repo = open(ctx, spec, false).await?;
    let groups = f::plan(repo.snapshots().await?, &policy, &filter, group_by);
    if !a.dry_run {
        let ids: Vec<_> = groups
            .iter()
            .flat_map(|g| g.remove.iter().map(|j| j.id))
            .collect();
        f::remove(&repo, &ids).await?;
    }
    output::forget(ctx, &groups, a.dry_run)?;
    if a.prune && !a.dry_run {
        let opts = prune_options(
            &crate::cli::args::PruneArgs {
                dry_run: false,
                max_unused: "5%".into(),
                max_repack: None,
                delete_delay: "24h".into(),
            },
            ctx.quiet,
        )?;
        run_prune(ctx, spec, opts).await?;
    }
    Ok(())
}

fn prune_options(
    a: &crate::cli::args::PruneArgs,
    quiet: bool,
) -> Result<crate::ops::prune::PruneOptions> {
    let max_unused = a
        .max_unused
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| (0.0..=100.0).contains(n))
        .ok_or_else(|| {
            KlosetError::Usage(format!(
                "--max-unused {}: give a percentage such as 5% or 0%",
                a.max_unused
            ))
        })?;
    let max_repack = match &a.max_repack {
        Some(text) => parse_size(text).ok_or_else(|| {
            KlosetError::Usage(format!(
                "--max-repack {text}: give a size such as 2GiB, 500MiB or 1000000"
            ))
        })?,
        None => u64::MAX,
    };
    let delete_delay = crate::ops::retention::parse_duration(&a.delete_delay).ok_or_else(|| {
        KlosetError::Usage(format!(
            "--delete-delay {}: give a duration such as 24h, 2d, 30s or 0",
            a.delete_delay
        ))
    })?;
    Ok(crate::ops::prune::PruneOptions {
        dry_run: a.dry_run,
        max_unused: max_unused / 100.0,
        max_repack,
        delete_delay,
        quiet,
    })
}

/// `2GiB`, `500MiB`, `64KiB`, `1G`, or bytes.
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        "t" | "tib" | "tb" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

async fn run_prune(ctx: &Ctx, spec: &Spec, opts: crate::ops::prune::PruneOptions) -> Result<()> {
    let mut repo = open(ctx, spec, false).await?;
    let report = crate::ops::prune::prune(&mut repo, &opts).await?;
    output::prune(ctx, &report)
}

/// `2024-01-02 03:04:05` (local time) or RFC 3339.
fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|n| chrono::Local.from_local_datetime(&n).earliest())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| {
            KlosetError::Usage(format!(
                "--time {text}: give 'YYYY-MM-DD HH:MM:SS' (local time) or an RFC 3339 time"
            ))
            .into()
        })
}

async fn key(ctx: &Ctx, spec: &Spec, what: crate::cli::args::KeyWhat) -> Result<()> {
    use crate::cli::args::KeyWhat;
    let mut repo = open(ctx, spec, false).await?;
    match what {
        KeyWhat::List => output::keys(ctx, &repo.list_keys().await?),
        KeyWhat::Add { new_keyfile } => {
            let pass = crate::passphrase::new_passphrase(new_keyfile.as_deref())?;
            let name = repo.add_key(&pass).await?;
            output::key_done(ctx, "added", &name);
            Ok(())
        }
        KeyWhat::Rm { name, force } => {
            let name = repo.remove_key(&name, force).await?;
            output::key_done(ctx, "removed", &name);
            Ok(())
        }
        KeyWhat::Passwd { new_keyfile } => {
            let pass = crate::passphrase::new_passphrase(new_keyfile.as_deref())?;
            let old = repo.key_in_use().0.clone();
            let name = repo.add_key(&pass).await?;
            // Killed here, both passphrases open the store; nothing is lost.
            crate::kill_point::here("key:added");
            repo.remove_key(&old, true).await?;
            output::key_done(ctx, "added", &name);
            output::key_done(ctx, "removed", &old);
            Ok(())
        }
    }
}

/// Writes a file's content to stdout blob by blob, each verified against its id.
async fn cat(ctx: &Ctx, spec: &Spec, target: &str) -> Result<()> {
    use std::io::Write;
    let repo = open(ctx, spec, true).await?;
    let node = match browse::resolve(&repo, target).await?.found {
        Found::File(node) if node.kind == crate::repo::tree::NodeKind::File => node,
        _ => {
            return Err(KlosetError::Usage(format!(
                "{target} is not a file: name one as ID:/path/to/file ('kloset ls ID:/path' lists a directory; 'restore' writes a tree)"
            ))
            .into())
        }
    };
    let mut out = std::io::stdout().lock();
    for id in &node.content {
        let data = repo.read_blob(id).await?;
        out.write_all(&data)?;
    }
    out.flush()?;
    Ok(())
}

fn snapshot_filter(a: crate::cli::args::SnapshotFilter) -> crate::ops::forget::Filter {
    crate::ops::forget::Filter {
        host: a.host,
        tags: a.tags,
        source: a.source,
    }
}
