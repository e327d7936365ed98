//! Commands that act on a store: create, backup, ls, restore, info, check.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use indicatif::HumanBytes;
use serde_json::json;

use super::Ctx;
use crate::cli::args::{BackupArgs, CreateArgs, LsArgs, RestoreArgs, StoreCommand};
use crate::connectors::options::Role;
use crate::connectors::{self, Spec};
use crate::error::{usage, KlosetError};
use crate::location::{self, Location};
use crate::ops::backup::{self, BackupOptions};
use crate::ops::browse::{self, Found};
use crate::ops::check;
use crate::ops::restore_fs::{self, RestoreOptions, RestoreRoot};
use crate::ops::restore_s3::{self, S3RestoreOptions, S3RestoreSummary};
use crate::passphrase::PassphraseSource;
use crate::registry::Registry;
use crate::repo::config::KdfCost;
use crate::repo::id::Id;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::Repo;

pub async fn run(ctx: &Ctx, at: Option<String>, cmd: StoreCommand) -> Result<()> {
    let registry = Registry::load()?;
    let spec = store_spec(&registry, at)?;
    match cmd {
        StoreCommand::Create(a) => create(ctx, &spec, a).await,
        StoreCommand::Backup(a) => run_backup(ctx, &registry, &spec, a).await,
        StoreCommand::Ls(a) => ls(ctx, &spec, a).await,
        StoreCommand::Restore(a) => restore(ctx, &registry, &spec, a).await,
        StoreCommand::Info { snapshot } => info(ctx, &spec, snapshot).await,
        StoreCommand::Check { read_data } => run_check(ctx, &spec, read_data).await,
    }
}

/// `at` if given, else $KLOSET_REPOSITORY, else the registry's default store, else ~/.kloset.
fn store_spec(registry: &Registry, at: Option<String>) -> Result<Spec> {
    let text = at.or_else(|| {
        std::env::var("KLOSET_REPOSITORY")
            .ok()
            .filter(|s| !s.is_empty())
    });
    match text {
        Some(t) => resolve(registry, Role::Store, &t),
        None => match &registry.default_store {
            Some(name) => registry.resolve(Role::Store, name),
            None => {
                let home = dirs::home_dir().ok_or_else(|| {
                    usage("no home directory: give a store with 'kloset at LOCATION ...'")
                })?;
                Ok(Spec::bare(Location::Fs(home.join(".kloset"))))
            }
        },
    }
}

/// `@name[:sub]` through the registry, anything else as a location.
pub fn resolve(registry: &Registry, role: Role, text: &str) -> Result<Spec> {
    if text.starts_with('@') {
        registry.resolve(role, text)
    } else {
        Ok(Spec::bare(location::parse(text)?))
    }
}

fn passphrase(ctx: &Ctx, spec: &Spec) -> PassphraseSource {
    PassphraseSource {
        keyfile: ctx.keyfile.clone(),
        passphrase: spec.option("passphrase").map(str::to_string),
        passphrase_cmd: spec.option("passphrase_cmd").map(str::to_string),
    }
}

async fn open(ctx: &Ctx, spec: &Spec, with_index: bool) -> Result<Repo> {
    let backend = connectors::open_store(spec, false)?;
    // Fail on a missing or unreachable store before asking for a passphrase.
    Repo::read_config(&backend).await?;
    let pass = passphrase(ctx, spec).get(false)?;
    let mut repo = Repo::open(backend, &pass).await?;
    if with_index {
        repo.load_index().await?;
    }
    Ok(repo)
}

async fn create(ctx: &Ctx, spec: &Spec, a: CreateArgs) -> Result<()> {
    if a.pack_size_mib == 0 || a.pack_size_mib > 512 {
        return Err(usage("--pack-size-mib must be between 1 and 512"));
    }
    let backend = connectors::open_store(spec, true)?;
    if let Location::S3(loc) = &spec.location {
        let api = connectors::s3_api::S3Api::new(loc, &spec.options, &spec.display)?;
        if api.bucket_missing().await? {
            if !api.create_bucket().await? {
                return Err(KlosetError::Remote(format!(
                    "bucket '{}' does not exist and these credentials cannot create it: create it with your S3 tools, then run create again",
                    loc.bucket
                ))
                .into());
            }
            eprintln!("created bucket '{}'", loc.bucket);
        }
    }
    if Repo::read_config(&backend).await.is_ok() {
        return Err(KlosetError::AlreadyInitialised(spec.display.clone()).into());
    }
    let pass = passphrase(ctx, spec).get(true)?;
    let cost = KdfCost {
        memory_kib: a.kdf_memory_mib.max(1) * 1024,
        iterations: a.kdf_iterations.max(1),
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
    let source = resolve(registry, Role::Source, &a.source)?;
    let repo = Arc::new(open(ctx, spec, true).await?);
    let opts = BackupOptions {
        source_display: source.display.clone(),
        tags: a.tags,
        quiet: ctx.quiet,
        force: a.force,
        concurrency: connectors::concurrency(spec),
    };
    backup::RUNNING.store(true, std::sync::atomic::Ordering::SeqCst);
    let outcome = match &source.location {
        Location::Fs(path) => {
            let path = source.fs_path(path);
            if std::fs::symlink_metadata(&path).is_err() {
                return Err(usage(format!(
                    "source {} does not exist: check the path",
                    path.display()
                )));
            }
            backup::backup_fs(repo, path, opts).await?
        }
        Location::S3(loc) => {
            let api = source.s3_api(loc)?;
            crate::ops::backup_s3::backup_s3(repo, Arc::new(api), opts).await?
        }
    };
    let s = &outcome.snapshot.summary;
    if ctx.json {
        println!(
            "{}",
            json!({"id": outcome.id, "snapshot": outcome.snapshot, "errors": outcome.errors})
        );
    } else {
        println!(
            "snapshot {} saved: {} files, {} dirs, {} ({} files read, {} new, {} stored) in {:.1}s",
            outcome.id.short(),
            s.files,
            s.dirs,
            HumanBytes(s.bytes),
            s.files_read,
            HumanBytes(s.new_bytes),
            HumanBytes(s.stored_bytes),
            s.duration_secs
        );
    }
    if !outcome.errors.is_empty() {
        return Err(KlosetError::PartialBackup(outcome.errors.len(), outcome.id.short()).into());
    }
    Ok(())
}

async fn ls(ctx: &Ctx, spec: &Spec, a: LsArgs) -> Result<()> {
    let Some(snap) = a.snapshot else {
        let repo = open(ctx, spec, false).await?;
        let snaps = repo.snapshots().await?;
        if ctx.json {
            let list: Vec<_> = snaps
                .iter()
                .map(|(id, s)| json!({"id": id, "snapshot": s}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(());
        }
        println!(
            "{:<8}  {:<19}  {:<12}  {:>10}  {:>8}  source",
            "id", "time", "host", "size", "files"
        );
        for (id, s) in snaps {
            println!(
                "{:<8}  {:<19}  {:<12}  {:>10}  {:>8}  {}",
                id.short(),
                s.time
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S"),
                s.host,
                HumanBytes(s.summary.bytes).to_string(),
                s.summary.files,
                s.source
            );
        }
        return Ok(());
    };
    let repo = open(ctx, spec, true).await?;
    let resolved = browse::resolve(&repo, &snap).await?;
    if let (true, Found::Dir(id, _)) = (a.recursive, &resolved.found) {
        let (_, path) = browse::split_spec(&snap);
        let all = browse::walk_all(&repo, *id, path).await?;
        if ctx.json {
            let list: Vec<_> = all
                .iter()
                .map(|(p, n)| json!({"path": p, "node": n}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        } else {
            for (p, mut n) in all {
                n.name = p;
                print_node(&n, a.long);
            }
        }
        return Ok(());
    }
    let nodes = match resolved.found {
        Found::Dir(id, _) => repo.load_tree(&id).await?.nodes,
        Found::File(node) => vec![node],
    };
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&nodes)?);
        return Ok(());
    }
    for n in &nodes {
        print_node(n, a.long);
    }
    Ok(())
}

fn print_node(n: &Node, long: bool) {
    let name = match n.kind {
        NodeKind::Dir => format!("{}/", n.name),
        NodeKind::Symlink => format!("{} -> {}", n.name, n.target.as_deref().unwrap_or("")),
        NodeKind::File => n.name.clone(),
    };
    if !long {
        println!("{name}");
        return;
    }
    let kind = match n.kind {
        NodeKind::Dir => 'd',
        NodeKind::Symlink => 'l',
        NodeKind::File => '-',
    };
    let time = chrono::DateTime::from_timestamp_nanos(n.mtime)
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S");
    println!(
        "{kind}{} {:>5} {:>5} {:>12} {time} {name}",
        mode_string(n.mode),
        n.uid,
        n.gid,
        n.size
    );
    if let Some(s3) = &n.s3 {
        println!("      {}", serde_json::to_string(s3).unwrap_or_default());
    }
}

fn mode_string(mode: u32) -> String {
    let mut s = String::new();
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

async fn restore(ctx: &Ctx, registry: &Registry, spec: &Spec, a: RestoreArgs) -> Result<()> {
    let dest = resolve(registry, Role::Destination, &a.to)?;
    let repo = Arc::new(open(ctx, spec, true).await?);
    let resolved = browse::resolve(&repo, &a.snapshot).await?;
    let root = match resolved.found {
        Found::Dir(id, _) => RestoreRoot::Tree(id),
        Found::File(node) => RestoreRoot::Node(Box::new(node)),
    };
    let target: PathBuf = match &dest.location {
        Location::Fs(p) => dest.fs_path(p),
        Location::S3(loc) => {
            let api = Arc::new(dest.s3_api(loc)?);
            let opts = S3RestoreOptions {
                force: a.force,
                quiet: ctx.quiet,
                concurrency: connectors::concurrency(&dest),
                storage_class: dest.option("storage_class").map(str::to_string),
            };
            let summary = restore_s3::restore_s3(repo, root, api.clone(), opts).await?;
            return report_s3_restore(ctx, &resolved.id, &api.display_location(), summary);
        }
    };
    let opts = RestoreOptions {
        force: a.force,
        quiet: ctx.quiet,
        concurrency: connectors::concurrency(spec),
    };
    let summary = restore_fs::restore_fs(repo, root, &target, opts).await?;
    for n in &summary.notes {
        eprintln!("note: {n}");
    }
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    if ctx.json {
        println!(
            "{}",
            json!({"snapshot": resolved.id, "target": target, "files": summary.files, "dirs": summary.dirs,
                   "symlinks": summary.symlinks, "bytes": summary.bytes, "errors": summary.errors})
        );
    } else {
        println!(
            "restored snapshot {} to {}: {} files, {} dirs, {} symlinks, {}",
            resolved.id.short(),
            target.display(),
            summary.files,
            summary.dirs,
            summary.symlinks,
            HumanBytes(summary.bytes)
        );
    }
    if !summary.errors.is_empty() {
        return Err(anyhow::anyhow!(
            "{} entries could not be restored (listed above); everything else was",
            summary.errors.len()
        ));
    }
    Ok(())
}

fn report_s3_restore(ctx: &Ctx, id: &Id, target: &str, s: S3RestoreSummary) -> Result<()> {
    for n in &s.notes {
        eprintln!("note: {n}");
    }
    for e in &s.errors {
        eprintln!("error: {e}");
    }
    if ctx.json {
        println!(
            "{}",
            json!({"snapshot": id, "target": target, "objects": s.objects, "bytes": s.bytes,
                   "skipped_identical": s.skipped_identical, "written": s.written, "errors": s.errors,
                   "notes": s.notes})
        );
    } else {
        println!(
            "restored snapshot {} to s3://{target}: {} objects written, {} identical skipped, {}",
            id.short(),
            s.objects,
            s.skipped_identical,
            HumanBytes(s.bytes)
        );
    }
    if !s.errors.is_empty() {
        if !ctx.json {
            for key in &s.written {
                println!("written: {key}");
            }
        }
        return Err(KlosetError::Remote(format!(
            "{} objects could not be written (listed above; {} were): run the same restore again to finish",
            s.errors.len(),
            s.written.len()
        ))
        .into());
    }
    Ok(())
}

async fn info(ctx: &Ctx, spec: &Spec, snapshot: Option<String>) -> Result<()> {
    let Some(snap) = snapshot else {
        let repo = open(ctx, spec, true).await?;
        let snaps = repo.snapshot_ids().await?;
        let packs = repo.backend.list("packs").await?;
        let bytes: u64 = packs.iter().map(|(_, s)| s).sum();
        let v = json!({
            "location": spec.display,
            "id": repo.config.id,
            "version": repo.config.version,
            "created": repo.config.created,
            "chunker": repo.config.chunker,
            "kdf": {"algorithm": repo.config.kdf.algorithm, "memory_kib": repo.config.kdf.memory_kib,
                    "iterations": repo.config.kdf.iterations},
            "snapshots": snaps.len(),
            "packs": packs.len(),
            "blobs": repo.index.blob_count(),
            "stored_bytes": bytes,
        });
        if ctx.json {
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            println!("store      {}", spec.display);
            println!("id         {}", repo.config.id);
            println!("format     kloset v{}", repo.config.version);
            println!("created    {}", repo.config.created);
            println!("snapshots  {}", snaps.len());
            println!("packs      {} ({})", packs.len(), HumanBytes(bytes));
            println!("blobs      {}", repo.index.blob_count());
        }
        return Ok(());
    };
    let repo = open(ctx, spec, true).await?;
    let resolved = browse::resolve(&repo, &snap).await?;
    let (_, path) = browse::split_spec(&snap);
    let entry: Option<Node> = match resolved.found {
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

async fn run_check(ctx: &Ctx, spec: &Spec, read_data: bool) -> Result<()> {
    let repo = open(ctx, spec, true).await?;
    let report = check::check(&repo, read_data, connectors::concurrency(spec)).await?;
    for p in &report.problems {
        eprintln!("problem: {p}");
    }
    if ctx.json {
        println!(
            "{}",
            json!({"snapshots": report.snapshots, "trees": report.trees, "packs": report.packs,
                   "orphan_packs": report.orphan_packs, "blobs_read": report.blobs_read,
                   "problems": report.problems})
        );
    } else {
        println!(
            "checked {} snapshots, {} trees, {} packs ({} unreferenced packs from interrupted runs){}",
            report.snapshots,
            report.trees,
            report.packs,
            report.orphan_packs,
            if read_data { format!(", {} blobs read", report.blobs_read) } else { String::new() }
        );
    }
    if !report.problems.is_empty() {
        return Err(KlosetError::Integrity(format!(
            "{} problems found (listed above): restore what you can, and back up again to store missing data",
            report.problems.len()
        ))
        .into());
    }
    if !ctx.json {
        println!("no problems found");
    }
    Ok(())
}
