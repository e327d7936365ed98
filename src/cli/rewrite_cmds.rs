//! `tag` and `rewrite`: snapshots already taken, replaced by new ones.

use std::sync::Arc;

use anyhow::Result;
use serde_json::json;

use super::args::housekeeping::{RewriteArgs, TagArgs};
use super::args::SnapshotFilter;
use super::opening::{open_writer, snapshot_filter};
use super::Ctx;
use crate::connectors::Spec;
use crate::error::KlosetError;
use crate::ops::rewrite::{self, Replaced, RewriteOptions, TagChange};
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::IndexedRepo;

/// The snapshots named, or all that the filters select when none is.
async fn chosen(
    repo: &IndexedRepo,
    named: &[String],
    filter: SnapshotFilter,
) -> Result<Vec<(Id, Snapshot)>> {
    let filter = snapshot_filter(filter);
    if named.is_empty() {
        let mut all = repo.snapshots().await?;
        all.retain(|(_, s)| filter.matches(s));
        return Ok(all);
    }
    let mut out: Vec<(Id, Snapshot)> = Vec::new();
    for n in named {
        let picked = crate::ops::browse::pick(repo, n, &filter, None).await?;
        if !out.iter().any(|(id, _)| *id == picked.0) {
            out.push(picked);
        }
    }
    Ok(out)
}

/// `a,b` and repeated flags alike.
fn tag_list(given: &[String]) -> Vec<String> {
    given
        .iter()
        .flat_map(|g| g.split(','))
        .map(|t| t.trim().to_string())
        .collect()
}

pub(super) async fn tag(ctx: &Ctx, spec: &Spec, a: TagArgs) -> Result<()> {
    if a.add.is_empty() && a.remove.is_empty() && a.set.is_empty() {
        return Err(KlosetError::Usage(
            "tag needs --add TAG, --remove TAG or --set TAG: e.g. 'kloset tag --add keep latest'"
                .into(),
        )
        .into());
    }
    let change = TagChange {
        add: tag_list(&a.add),
        remove: tag_list(&a.remove),
        set: (!a.set.is_empty()).then(|| tag_list(&a.set)),
    };
    let repo = open_writer(ctx, spec, Some("tag")).await?;
    let picked = chosen(&repo, &a.snapshots, a.filter).await;
    let done = match picked {
        Ok(list) => rewrite::retag(&repo, &list, &change).await,
        Err(e) => Err(e),
    };
    repo.release_lease().await;
    report(ctx, "tags changed", &done?)
}

pub(super) async fn rewrite(ctx: &Ctx, spec: &Spec, a: RewriteArgs) -> Result<()> {
    let exclude = crate::filter::Patterns::new(&a.exclude, &a.iexclude, &a.exclude_file)?;
    if exclude.is_empty() {
        return Err(KlosetError::Usage(
            "rewrite needs --exclude PATTERN (or --iexclude, --exclude-file): what to take out"
                .into(),
        )
        .into());
    }
    let op = (!a.dry_run).then_some("rewrite");
    let repo = Arc::new(open_writer(ctx, spec, op).await?);
    let opts = RewriteOptions {
        exclude,
        forget: a.forget,
        dry_run: a.dry_run,
        concurrency: spec.concurrency(),
    };
    let done = match chosen(&repo, &a.snapshots, a.filter).await {
        Ok(list) => rewrite::rewrite(repo.clone(), &list, &opts).await,
        Err(e) => Err(e),
    };
    repo.release_lease().await;
    let done = done?;
    if a.dry_run && !ctx.json {
        for r in &done {
            println!(
                "{}: would take out {} entries ({} files, {})",
                r.old.short(),
                r.entries_removed,
                r.files_removed,
                indicatif::HumanBytes(r.bytes_removed)
            );
        }
        println!("dry run: nothing written");
        return Ok(());
    }
    report(ctx, "rewritten", &done)
}

fn report(ctx: &Ctx, what: &str, done: &[Replaced]) -> Result<()> {
    if ctx.json {
        let list: Vec<_> = done
            .iter()
            .map(|r| {
                json!({
                    "old": r.old.to_string(),
                    "new": r.new.map(|n| n.to_string()),
                    "removed_old": r.removed_old,
                    "entries_removed": r.entries_removed,
                    "files_removed": r.files_removed,
                    "bytes_removed": r.bytes_removed,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let changed = done.iter().filter(|r| r.new.is_some()).count();
    for r in done {
        match r.new {
            Some(new) => println!(
                "{} -> {}{}",
                r.old.short(),
                new.short(),
                match (r.entries_removed, r.removed_old) {
                    (0, _) => String::new(),
                    (n, true) => format!(" ({n} entries taken out; original removed)"),
                    (n, false) => format!(" ({n} entries taken out; original kept)"),
                }
            ),
            None => println!("{}: unchanged", r.old.short()),
        }
    }
    println!("{changed} of {} snapshots {what}", done.len());
    Ok(())
}
