//! Commands that act on a store: create, backup, ls, restore, info, check.

use std::sync::Arc;

use anyhow::Result;
use serde_json::json;

use super::opening::{
    open, open_as, open_indexed, open_other, open_writer, open_writer_for, passphrase,
    snapshot_filter,
};
use super::times::parse_time;
use super::{lifecycle_cmds, output, Ctx};
use crate::cli::args::{BackupArgs, CreateArgs, LsArgs, RepairWhat, RestoreArgs, StoreCommand};
use crate::connectors::fs::select::{SelectOptions, CACHEDIR_TAG};
use crate::connectors::options::Role;
use crate::connectors::synthetic::Shape;
use crate::connectors::{self, Spec};
use crate::error::{usage, KlosetError};
use crate::location::{self, Location};
use crate::ops::backup::BackupOptions;
use crate::ops::browse::{self, Found};
use crate::ops::check;
use crate::registry::Registry;
use crate::repo::config::{KdfCost, Padding, SizePrivacy};
use crate::repo::Repo;
use crate::restore::planner::RestoreRoot;

pub async fn run(ctx: &Ctx, at: Option<String>, cmd: StoreCommand) -> Result<()> {
    let registry = Registry::load()?;
    let spec = store_spec(ctx, &registry, at)?;
    match cmd {
        StoreCommand::Create(a) => create(ctx, &spec, a).await,
        StoreCommand::Backup(a) => run_backup(ctx, &registry, &spec, a).await,
        StoreCommand::Synthesize {
            files,
            per_dir,
            generation,
            changed_permille,
        } => {
            let shape = Shape::new(files, per_dir, generation, changed_permille)?;
            synthesize(ctx, &spec, shape).await
        }
        StoreCommand::Ls(a) => ls(ctx, &spec, a).await,
        StoreCommand::Restore(a) => restore(ctx, &registry, &spec, a).await,
        StoreCommand::Info { snapshot } => info(ctx, &spec, snapshot).await,
        StoreCommand::Mount(a) => super::view_cmds::mount(ctx, &spec, a).await,
        StoreCommand::Ui(a) => super::view_cmds::ui(ctx, &spec, a).await,
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
        StoreCommand::Rm { snapshots } => lifecycle_cmds::rm(ctx, &spec, snapshots).await,
        StoreCommand::Forget(a) => lifecycle_cmds::forget(ctx, &spec, a).await,
        StoreCommand::Stats(a) => super::stats_cmd::stats(ctx, &spec, a).await,
        StoreCommand::Tag(a) => super::rewrite_cmds::tag(ctx, &spec, a).await,
        StoreCommand::Rewrite(a) => super::rewrite_cmds::rewrite(ctx, &spec, a).await,
        StoreCommand::Key { what } => lifecycle_cmds::key(ctx, &spec, what).await,
        StoreCommand::Cat { target, filter } => {
            super::export_cmds::cat(ctx, &spec, &target, snapshot_filter(filter)).await
        }
        StoreCommand::Dump {
            target,
            format,
            filter,
        } => super::export_cmds::dump(ctx, &spec, &target, format, snapshot_filter(filter)).await,
        StoreCommand::Find {
            pattern,
            snapshot,
            ignore_case,
            filter,
        } => {
            let repo = open_indexed(ctx, &spec).await?;
            let snaps = match snapshot {
                Some(s) => vec![browse::pick(&repo, &s, &Default::default(), None).await?],
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
        StoreCommand::Diff { from, to, filter } => {
            let repo = open_indexed(ctx, &spec).await?;
            let filter = snapshot_filter(filter);
            let (a, b) = (
                browse::pick(&repo, &from, &filter, None).await?.1.tree,
                browse::pick(&repo, &to, &filter, None).await?.1.tree,
            );
            let changes = crate::ops::diff::diff(&repo, a, b).await?;
            output::diff(ctx, &changes)
        }
        StoreCommand::Prune(a) => lifecycle_cmds::prune(ctx, &spec, &a).await,
        StoreCommand::Sync {
            direction,
            other,
            snapshots,
            filter,
            other_keyfile,
        } => {
            let other = resolve(ctx, &registry, Role::Store, &other)?;
            let a = super::sync_cmd::SyncArgs {
                direction,
                other,
                snapshots,
                filter,
                other_keyfile,
            };
            super::sync_cmd::run(ctx, &spec, a).await
        }
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

async fn create(ctx: &Ctx, spec: &Spec, a: CreateArgs) -> Result<()> {
    if a.pack_size_mib == 0 || a.pack_size_mib > 512 {
        return Err(usage("--pack-size-mib must be between 1 and 512"));
    }
    let max_mib = crate::repo::params::KDF_MAX_MEMORY_KIB / 1024;
    let max_iterations = crate::repo::params::KDF_MAX_ITERATIONS;
    if !(8..=max_mib).contains(&a.kdf_memory_mib)
        || !(1..=max_iterations).contains(&a.kdf_iterations)
    {
        return Err(usage(format!(
            "--kdf-memory-mib must be between 8 and {max_mib} and --kdf-iterations between 1 and {max_iterations}"
        )));
    }
    let like = match &a.like {
        Some(other) => {
            let registry = Registry::load()?;
            let other = resolve(ctx, &registry, Role::Store, other)?;
            Some(
                open_other(&other, a.other_keyfile.clone())
                    .await?
                    .template(),
            )
        }
        None => None,
    };
    let backend = connectors::open_store(spec, true).await?;
    if Repo::read_config(&backend).await.is_ok() {
        return Err(KlosetError::AlreadyInitialised(spec.display.clone()).into());
    }
    let pass = passphrase(ctx, spec).get(true)?;
    let cost = KdfCost {
        memory_kib: a.kdf_memory_mib * 1024,
        iterations: a.kdf_iterations,
    };
    let pack_size = a.pack_size_mib * 1024 * 1024;
    let size_privacy = SizePrivacy {
        no_dictionary: a.no_dictionary,
        padding: a.padding.then_some(Padding::Padme),
    };
    let config = Repo::create_with(
        &backend,
        &pass,
        cost,
        pack_size,
        like.as_ref(),
        size_privacy,
    )
    .await?;
    if ctx.json {
        println!("{}", json!({"id": config.id, "location": spec.display}));
    } else {
        println!("created store {} at {}", config.id.short(), spec.display);
    }
    Ok(())
}

async fn run_backup(ctx: &Ctx, registry: &Registry, spec: &Spec, a: BackupArgs) -> Result<()> {
    let sources = a
        .sources
        .iter()
        .map(|s| resolve(ctx, registry, Role::Source, s))
        .collect::<Result<Vec<_>>>()?;
    let mut if_present = a.exclude_if_present;
    if a.exclude_caches {
        if_present.push(CACHEDIR_TAG.to_string());
    }
    let select = SelectOptions {
        excludes: crate::filter::Patterns::new(&a.exclude, &a.iexclude, &a.exclude_file)?,
        if_present,
        one_file_system: a.one_file_system,
    };
    let op = (!a.dry_run).then_some("backup");
    let histories = sources.iter().any(|s| s.option("versions") == Some("all"));
    let repo = Arc::new(open_writer_for(ctx, spec, op, histories).await?);
    let opts = BackupOptions {
        source_display: sources
            .iter()
            .map(|s| s.display.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        tags: a.tags,
        quiet: ctx.quiet,
        force: a.force,
        concurrency: spec.concurrency(),
        cancel: ctx.cancel.clone(),
        host: a.host,
        time: a
            .time
            .as_deref()
            .map(|t| parse_time("--time", t))
            .transpose()?,
        dry_run: a.dry_run,
    };
    let outcome = crate::ops::run::backup(repo, &sources, select, opts).await?;
    output::backup(ctx, &outcome);
    if !outcome.errors.is_empty() && !outcome.dry_run {
        return Err(KlosetError::PartialBackup(outcome.errors.len(), outcome.id.short()).into());
    }
    Ok(())
}

async fn synthesize(ctx: &Ctx, spec: &Spec, shape: Shape) -> Result<()> {
    let repo = Arc::new(open_writer(ctx, spec, Some("backup")).await?);
    let opts = BackupOptions {
        source_display: format!("synthetic tree of {} files", shape.files),
        tags: Vec::new(),
        quiet: ctx.quiet,
        force: false,
        concurrency: spec.concurrency(),
        cancel: ctx.cancel.clone(),
        host: None,
        time: None,
        dry_run: false,
    };
    let source = crate::connectors::synthetic::SyntheticSource::new(shape);
    let outcome = crate::ops::backup::backup(repo, source, opts).await?;
    output::backup(ctx, &outcome);
    Ok(())
}

async fn ls(ctx: &Ctx, spec: &Spec, a: LsArgs) -> Result<()> {
    let filter = snapshot_filter(a.filter);
    let Some(snap) = a.snapshot else {
        let repo = open(ctx, spec).await?;
        let mut list = repo.snapshot_list().await?;
        list.good.retain(|(_, s)| filter.matches(s));
        return output::snapshots(ctx, &list.good, &list.damaged);
    };
    let repo = open_indexed(ctx, spec).await?;
    let resolved = browse::resolve_with(&repo, &snap, &filter, None).await?;
    if let (true, Found::Dir(id, _)) = (a.recursive, &resolved.found) {
        let (_, path) = browse::split_spec(&snap);
        let mut all = browse::walk_all(&repo, *id, path).await?;
        all.retain(|(_, n)| a.versions || !n.is_deleted());
        return output::entries_with_paths(ctx, all, a.long, a.versions);
    }
    let mut nodes = match resolved.found {
        Found::Dir(id, _) => repo.load_tree(&id).await?.nodes,
        Found::File(node) => vec![node],
    };
    nodes.retain(|n| a.versions || !n.is_deleted());
    output::entries(ctx, &nodes, a.long, a.versions)
}

async fn restore(ctx: &Ctx, registry: &Registry, spec: &Spec, a: RestoreArgs) -> Result<()> {
    let dest = resolve(ctx, registry, Role::Destination, &a.to)?;
    let filter = crate::filter::RestoreFilter {
        include: crate::filter::Patterns::new(&a.include, &a.iinclude, &[])?,
        exclude: crate::filter::Patterns::new(&a.exclude, &a.iexclude, &[])?,
    };
    let repo = Arc::new(open_indexed(ctx, spec).await?);
    let at_hand = match &dest.location {
        Location::Fs(p) => std::path::absolute(p)?.display().to_string(),
        Location::S3(_) => dest.display.clone(),
    };
    let which = snapshot_filter(a.filter);
    let resolved = browse::resolve_with(&repo, &a.snapshot, &which, Some(&at_hand)).await?;
    let root = match resolved.found {
        Found::Dir(id, _) => RestoreRoot::Tree(id),
        Found::File(node) => RestoreRoot::Node(Box::new(node)),
    };
    let opts = crate::restore::planner::RestoreOptions {
        quiet: ctx.quiet,
        filter,
        thaw: a.thaw,
        concurrency: spec.concurrency(),
        no_special: a.no_special,
        as_of: a
            .as_of
            .as_deref()
            .map(|t| parse_time("--as-of", t))
            .transpose()?,
        cancel: ctx.cancel.clone(),
    };
    // Into a bucket, Ctrl-C stops between reads so that open multipart uploads are aborted
    // (left, they are invisible and billed); a second Ctrl-C still stops at once.
    if matches!(dest.location, Location::S3(_)) {
        ctx.cancel.stop_gracefully();
    }
    let mut summary = crate::ops::run::restore(repo, root, &dest, a.force, opts).await?;
    let this_host = crate::ops::backup::host_name();
    if summary.privileged > 0 && resolved.snapshot.host != this_host {
        summary.notes.push(format!(
            "the snapshot was made on host '{}' and holds {} device nodes, setuid/setgid files or files with capabilities, restored as they were: restore --no-special leaves them out",
            resolved.snapshot.host, summary.privileged
        ));
    }
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
    let repo = open_indexed(ctx, spec).await?;
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
    let repo = open_as(ctx, spec, true).await?;
    let report = check::check(repo, read, spec.concurrency()).await?;
    output::check(ctx, &report, !matches!(read, check::ReadData::None));
    if !report.problems.is_empty() {
        return Err(KlosetError::Integrity(format!(
            "{} problems found (listed above, with what to do)",
            report.problems.len()
        ))
        .into());
    }
    if !report.unread.is_empty() {
        return Err(KlosetError::CheckIncomplete(report.unread.len()).into());
    }
    if !ctx.json {
        println!("no problems found");
    }
    Ok(())
}

async fn repair_index(ctx: &Ctx, spec: &Spec) -> Result<()> {
    let repo = open_as(ctx, spec, true).await?.load_index().await?;
    let outcome = crate::ops::repair::index(&repo).await?;
    if ctx.json {
        println!(
            "{}",
            json!({"packs_indexed": outcome.packs, "index_files_removed": outcome.removed,
                   "unreadable_packs": outcome.unreadable, "index_files_kept": outcome.kept})
        );
    } else {
        println!(
            "index repaired: {} packs indexed from their headers, {} damaged index files removed, {} packs without a readable header",
            outcome.packs, outcome.removed, outcome.unreadable
        );
        if outcome.kept > 0 {
            println!(
                "{} damaged index files kept: some packs could not be read, and those files may be the only record of their blobs",
                outcome.kept
            );
        }
    }
    Ok(())
}
