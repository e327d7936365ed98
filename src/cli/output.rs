//! What the store commands print: a human form and, with `--json`, a machine form.

use anyhow::Result;
use indicatif::HumanBytes;
use serde_json::json;

use super::Ctx;
use crate::connectors::Spec;
use crate::ops::backup::BackupOutcome;
use crate::ops::check::CheckReport;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::{Node, NodeKind};
use crate::repo::IndexedRepo;
use crate::restore::planner::RestoreSummary;

pub fn backup(ctx: &Ctx, outcome: &BackupOutcome) {
    let s = &outcome.snapshot.summary;
    if ctx.json && outcome.dry_run {
        println!(
            "{}",
            json!({"dry_run": true, "summary": s, "errors": outcome.errors})
        );
    } else if ctx.json {
        println!(
            "{}",
            json!({"message_type": "summary", "id": outcome.id, "snapshot_id": outcome.id,
                   "snapshot": crate::repo::snapshot::flat_json(&outcome.id, &outcome.snapshot),
                   "errors": outcome.errors})
        );
    } else if outcome.dry_run {
        println!(
            "dry run, nothing written: would back up {} files, {} dirs, {} ({} files to read, {} new in {} blobs){}",
            s.files,
            s.dirs,
            HumanBytes(s.bytes),
            s.files_read,
            HumanBytes(s.new_bytes),
            s.new_blobs,
            match outcome.errors.len() {
                0 => String::new(),
                n => format!("; {n} entries unreadable (listed above)"),
            }
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
}

pub fn snapshots(ctx: &Ctx, snaps: &[(Id, Snapshot)], damaged: &[(Id, String)]) -> Result<()> {
    if ctx.json {
        let list: Vec<_> = snaps
            .iter()
            .map(|(id, s)| crate::repo::snapshot::flat_json(id, s))
            .chain(
                damaged
                    .iter()
                    .map(|(id, why)| json!({"id": id, "damaged": why})),
            )
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!(
        "{:<8}  {:<19}  {:<12}  {:>10}  {:>8}  source [tags]",
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
            match s.tags.is_empty() {
                true => s.source.clone(),
                false => format!("{} [{}]", s.source, s.tags.join(",")),
            }
        );
    }
    for (id, why) in damaged {
        println!("{:<8}  damaged: {why}", id.short());
    }
    Ok(())
}

pub fn entries(ctx: &Ctx, nodes: &[Node], long: bool, versions: bool) -> Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(nodes)?);
        return Ok(());
    }
    for n in nodes {
        print_node(n, long);
        if versions {
            print_versions(n);
        }
    }
    Ok(())
}

/// A key's history under its entry, oldest first: version id, Last-Modified, size.
fn print_versions(n: &Node) {
    for v in n.s3.iter().flat_map(|m| &m.versions) {
        let what = match v.delete_marker {
            true => "delete marker".to_string(),
            false => format!("{} bytes", v.size),
        };
        println!(
            "    version {} {} {what}",
            v.version_id,
            v.last_modified.as_deref().unwrap_or("-")
        );
    }
}

pub fn entries_with_paths(
    ctx: &Ctx,
    all: Vec<(String, Node)>,
    long: bool,
    versions: bool,
) -> Result<()> {
    if ctx.json {
        let list: Vec<_> = all
            .iter()
            .map(|(p, n)| json!({"path": p, "node": n}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for (p, mut n) in all {
        n.name = p;
        print_node(&n, long);
        if versions {
            print_versions(&n);
        }
    }
    Ok(())
}

fn print_node(n: &Node, long: bool) {
    let name = match n.kind {
        NodeKind::Dir => format!("{}/", n.name),
        NodeKind::Symlink => format!("{} -> {}", n.name, n.target.as_deref().unwrap_or("")),
        _ => n.name.clone(),
    };
    if !long {
        println!("{name}");
        return;
    }
    let kind = match n.kind {
        NodeKind::Dir => 'd',
        NodeKind::Symlink => 'l',
        NodeKind::File => '-',
        NodeKind::Fifo => 'p',
        NodeKind::Chardev => 'c',
        NodeKind::Blockdev => 'b',
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

pub fn restore(ctx: &Ctx, id: &Id, s: &RestoreSummary) {
    for n in &s.notes {
        eprintln!("note: {n}");
    }
    for e in &s.errors {
        eprintln!("error: {}", crate::redact::userinfo(e));
    }
    if ctx.json {
        println!(
            "{}",
            json!({"snapshot": id, "target": s.target, "files": s.files, "dirs": s.dirs,
                   "symlinks": s.symlinks, "bytes": s.bytes, "objects": s.written,
                   "skipped_identical": s.skipped_identical, "errors": s.errors, "notes": s.notes})
        );
    } else {
        println!(
            "restored snapshot {} to {}: {} files ({} written, {} identical skipped), {} dirs, {} symlinks, {}",
            id.short(),
            s.target,
            s.files,
            s.written,
            s.skipped_identical,
            s.dirs,
            s.symlinks,
            HumanBytes(s.bytes)
        );
    }
}

pub fn store_info(
    ctx: &Ctx,
    spec: &Spec,
    repo: &IndexedRepo,
    snapshots: usize,
    packs: &[(String, u64)],
) -> Result<()> {
    let bytes: u64 = packs.iter().map(|(_, s)| s).sum();
    let config = repo.config();
    if ctx.json {
        let v = json!({
            "location": spec.display,
            "id": config.id,
            "version": config.version,
            "created": config.created,
            "chunker": config.chunker,
            "kdf": {"algorithm": config.kdf.algorithm, "memory_kib": config.kdf.memory_kib,
                    "iterations": config.kdf.iterations},
            "snapshots": snapshots,
            "packs": packs.len(),
            "blobs": repo.blob_count(),
            "stored_bytes": bytes,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("store      {}", spec.display);
        println!("id         {}", config.id);
        println!("format     kloset v{}", config.version);
        println!("created    {}", config.created);
        println!("snapshots  {snapshots}");
        println!("packs      {} ({})", packs.len(), HumanBytes(bytes));
        println!("blobs      {}", repo.blob_count());
    }
    Ok(())
}

pub fn check(ctx: &Ctx, report: &CheckReport, read_data: bool) {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for c in &report.cleared {
        eprintln!("{c}");
    }
    for (pack, why) in &report.unread {
        eprintln!("not read: pack {pack}: {why}");
    }
    for p in &report.problems {
        eprintln!("problem: {p}");
    }
    for a in &report.advice {
        eprintln!("what to do: {a}");
    }
    if ctx.json {
        println!(
            "{}",
            json!({"snapshots": report.snapshots, "trees": report.trees, "packs": report.packs,
                   "orphan_packs": report.orphan_packs, "blobs_read": report.blobs_read,
                   "problems": report.problems, "advice": report.advice,
                   "warnings": report.warnings, "cleared": report.cleared,
                   "unread": report.unread.iter().map(|(p, why)| json!({"pack": p, "why": why})).collect::<Vec<_>>()})
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
}

pub fn removed(ctx: &Ctx, ids: &[Id]) {
    if ctx.json {
        println!("{}", json!({ "removed": ids }));
    } else {
        for id in ids {
            println!("removed snapshot {}", id.short());
        }
    }
}

pub fn forget(ctx: &Ctx, groups: &[crate::ops::forget::Group], dry_run: bool) -> Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string(groups)?);
        return Ok(());
    }
    for g in groups {
        let mut name = Vec::new();
        if let Some(h) = &g.group.host {
            name.push(format!("host {h}"));
        }
        if let Some(s) = &g.group.source {
            name.push(format!("source {s}"));
        }
        if let Some(t) = &g.group.tags {
            name.push(format!("tags [{}]", t.join(",")));
        }
        println!(
            "{}: keep {}, {} {}",
            if name.is_empty() {
                "all snapshots".to_string()
            } else {
                name.join(", ")
            },
            g.keep.len(),
            if dry_run { "would remove" } else { "removed" },
            g.remove.len()
        );
        for j in &g.keep {
            println!(
                "  keep    {}  {}  {}",
                j.id.short(),
                j.time
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S"),
                j.decision.reasons.join(", ")
            );
        }
        for j in &g.remove {
            println!(
                "  remove  {}  {}",
                j.id.short(),
                j.time
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
            );
        }
    }
    Ok(())
}

pub fn prune(ctx: &Ctx, r: &crate::ops::prune::PruneReport) -> Result<()> {
    for u in &r.unauthenticated {
        eprintln!("warning: {u}");
    }
    if ctx.json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    let verb = if r.dry_run { "would be" } else { "were" };
    println!(
        "{} snapshots; {} packs ({}), {} unused",
        r.snapshots,
        r.packs,
        HumanBytes(r.stored_bytes),
        HumanBytes(r.unused_bytes)
    );
    println!(
        "{} packs {verb} deleted ({} freed), {} repacked into {}, {} marked for deletion by a later prune, {} waiting for their delay, {} marks withdrawn (a snapshot needs them)",
        r.packs_deleted + r.unindexed_deleted,
        HumanBytes(r.bytes_freed),
        r.packs_repacked,
        r.packs_written,
        r.packs_marked,
        r.packs_waiting,
        r.packs_recovered
    );
    if !r.dry_run {
        println!(
            "index: {} files -> {}",
            r.index_files_before, r.index_files_after
        );
    }
    if r.repack_skipped_cold {
        println!("partly used packs were not repacked: the store's storage_class archives data packs, which cannot be read without a thaw");
    }
    if r.packs_retained > 0 || r.retention_extended > 0 {
        println!(
            "Object Lock: {} packs kept until their retention ends (a later prune deletes them), {} objects in use retained for another period",
            r.packs_retained, r.retention_extended
        );
    }
    Ok(())
}

pub fn keys(ctx: &Ctx, keys: &[crate::repo::keys::KeyInfo]) -> Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string(keys)?);
        return Ok(());
    }
    for k in keys {
        let short = if k.name.len() > 8 {
            &k.name[..8]
        } else {
            &k.name
        };
        println!(
            "{} {:<8}  {}  {}@{}",
            if k.in_use { "*" } else { " " },
            short,
            k.created
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            k.user,
            k.host
        );
    }
    Ok(())
}

pub fn key_done(ctx: &Ctx, what: &str, name: &str) {
    let short = if name.len() > 8 { &name[..8] } else { name };
    if ctx.json {
        println!("{}", json!({ what: name }));
    } else {
        println!("{what} key {short}");
    }
}

pub fn diff(ctx: &Ctx, changes: &[crate::ops::diff::Changed]) -> Result<()> {
    use crate::ops::diff::Change;
    if ctx.json {
        println!("{}", serde_json::to_string(changes)?);
        return Ok(());
    }
    for c in changes {
        let mark = match c.change {
            Change::Added => "+",
            Change::Removed => "-",
            Change::Modified => "M",
            Change::Metadata => "U",
            Change::Versions => "V",
        };
        println!("{mark}    {}", c.path);
    }
    Ok(())
}

pub fn found(ctx: &Ctx, hits: &[crate::ops::find::Hit]) -> Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string(hits)?);
        return Ok(());
    }
    let mut last = None;
    for h in hits {
        if last != Some(h.snapshot) {
            println!(
                "snapshot {} of {}:",
                h.snapshot.short(),
                h.time
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
            );
            last = Some(h.snapshot);
        }
        println!("  {}  {}", h.path, HumanBytes(h.size));
    }
    Ok(())
}

/// After `forget --dry-run`'s plan: what a prune would then free (the blobs only the removed
/// snapshots need, as stored). Nothing with --json, whose answer is the plan.
pub fn would_free(ctx: &Ctx, freed: &crate::ops::stats::Freed) {
    if ctx.json {
        return;
    }
    println!(
        "a prune would then free about {} ({} bytes in {} blobs)",
        HumanBytes(freed.bytes),
        freed.bytes,
        freed.blobs
    );
}
