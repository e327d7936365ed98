//! The oracle, run after the schedule with faults off: the store opens; after `repair index`
//! (which undoes the only injected damage, index files deleted by someone else) every snapshot
//! an operation reported saved and nobody forgot is listed and restores byte-identical to the
//! tree it was taken from; `check --read-data` finds nothing. A lost snapshot is explained by
//! the packs the server deleted that held its missing blobs, and how prune came to delete
//! them: with a retiring mark (two-phase path) or without (sweep of unindexed packs).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use kloset::filter::RestoreFilter;
use kloset::ops::check::{check, ReadData};
use kloset::ops::repair;
use kloset::repo::id::Id;
use kloset::repo::pack::read_header;
use kloset::repo::walk::{Visit, WalkOptions};
use kloset::repo::IndexedRepo;
use kloset::restore::planner::{restore, RestoreOptions, RestoreRoot};

use super::destination::MemDest;
use super::source::{Item, Tree};
use super::world::World;

#[derive(Clone, Debug)]
pub struct Violation {
    /// `bug1:unindexed-swept`, `bug2:retired-in-use`, `lost`, `check`, `open`, `panic`...
    pub class: String,
    pub text: String,
}

fn v(class: &str, text: String) -> Violation {
    Violation {
        class: class.into(),
        text,
    }
}

pub async fn verify(world: &World) -> Vec<Violation> {
    world.server.set_faults(false);
    let mut out = Vec::new();
    let open = |who: &'static str| world.open(who, usize::MAX, 1);
    match open("oracle-repair").await {
        Ok(repo) => {
            let r = match repo.load_index().await {
                Ok(repo) => repair::index(&repo).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                out.push(v("repair", format!("repair index failed: {e:#}")));
            }
        }
        Err(e) => {
            out.push(v("open", format!("the store does not open: {e:#}")));
            return out;
        }
    }
    let repo = match open("oracle").await {
        Ok(r) => r,
        Err(e) => {
            out.push(v("open", format!("the store does not open: {e:#}")));
            return out;
        }
    };
    let repo = match repo.load_index().await {
        Ok(r) => r,
        Err(e) => {
            out.push(v("open", format!("the index does not load: {e:#}")));
            return out;
        }
    };
    let repo = Arc::new(repo);
    let listed = match repo.snapshot_list().await {
        Ok(l) => l,
        Err(e) => {
            out.push(v("open", format!("snapshots do not list: {e:#}")));
            return out;
        }
    };
    let forgotten = world.forgotten.lock().unwrap().clone();
    let saved: Vec<(usize, usize, Id, Arc<Tree>)> = world
        .saved
        .lock()
        .unwrap()
        .iter()
        .map(|s| (s.op, s.host, s.id, s.tree.clone()))
        .collect();
    for (op, host, id, tree) in saved {
        if forgotten.contains(&id) {
            continue;
        }
        let who = format!("snapshot {} (op{op}, h{host})", id.short());
        let Some((_, snap)) = listed.good.iter().find(|(i, _)| *i == id) else {
            out.push(v("lost", format!("{who} was reported saved and is gone")));
            continue;
        };
        let wrong = match restore_and_compare(&repo, snap.tree, &tree).await {
            Ok(()) => continue,
            Err(why) => why,
        };
        let missing = missing_blobs(&repo, snap.tree).await;
        let (class, culprits) = explain(world, &repo, &missing);
        out.push(v(
            &class,
            format!(
                "{who} does not restore: {wrong}; {} blobs missing; {culprits}",
                missing.len()
            ),
        ));
    }
    drop(repo);
    match open("oracle-check").await {
        Ok(mut repo) => {
            repo.bypass_cache();
            match check(repo, ReadData::All, 4).await {
                Ok(r) if r.problems.is_empty() => {}
                Ok(r) => {
                    let first: Vec<String> = r.problems.iter().take(3).cloned().collect();
                    out.push(v(
                        "check",
                        format!(
                            "check: {} problems: {}",
                            r.problems.len(),
                            first.join(" | ")
                        ),
                    ));
                }
                Err(e) => out.push(v("check", format!("check failed: {e:#}"))),
            }
        }
        Err(e) => out.push(v("open", format!("the store does not open: {e:#}"))),
    }
    out
}

async fn restore_and_compare(repo: &Arc<IndexedRepo>, root: Id, tree: &Tree) -> Result<(), String> {
    let dest = MemDest::default();
    let opts = RestoreOptions {
        quiet: true,
        filter: RestoreFilter::default(),
        thaw: false,
        concurrency: 4,
        no_special: false,
        as_of: None,
        cancel: Default::default(),
    };
    let summary = restore(repo.clone(), RestoreRoot::Tree(root), &dest, opts)
        .await
        .map_err(|e| format!("restore failed: {e:#}"))?;
    if !summary.errors.is_empty() || !summary.damaged.is_empty() {
        let mut e = summary.errors.clone();
        e.extend(summary.damaged.iter().map(|d| format!("damaged: {d}")));
        e.truncate(2);
        return Err(format!("restore reported {}", e.join(" | ")));
    }
    let (files, dirs) = dest.contents();
    let mut want_files = BTreeMap::new();
    let mut want_dirs = Vec::new();
    for (path, item) in &tree.items {
        match item {
            Item::Dir => want_dirs.push(path.clone()),
            Item::File { data, .. } => {
                want_files.insert(path.clone(), data.to_vec());
            }
        }
    }
    want_dirs.sort();
    if dirs != want_dirs {
        return Err(format!("directories differ: {dirs:?} vs {want_dirs:?}"));
    }
    for (path, data) in &want_files {
        match files.get(path) {
            None => return Err(format!("{path} not restored")),
            Some(got) if got != data => {
                return Err(format!(
                    "{path} differs ({} bytes restored, {} backed up)",
                    got.len(),
                    data.len()
                ))
            }
            _ => {}
        }
    }
    if let Some(extra) = files.keys().find(|k| !want_files.contains_key(*k)) {
        return Err(format!("{extra} restored but never backed up"));
    }
    Ok(())
}

/// Blobs the snapshot names that the index does not have (trees that do not load included).
async fn missing_blobs(repo: &IndexedRepo, root: Id) -> HashSet<Id> {
    let mut missing = HashSet::new();
    if repo.blob(&root).is_none() {
        missing.insert(root);
    }
    let _ = repo
        .walk(
            vec![(Vec::new(), root)],
            WalkOptions {
                once: true,
                tolerate: true,
            },
            |visit| {
                match visit {
                    Visit::Node { node, .. } => {
                        for id in node.blobs().chain(node.subtree.iter()) {
                            if repo.blob(id).is_none() {
                                missing.insert(*id);
                            }
                        }
                    }
                    Visit::Pages { pages, .. } => {
                        missing.extend(pages.iter().filter(|id| repo.blob(id).is_none()));
                    }
                    Visit::Broken { .. } => {}
                }
                true
            },
        )
        .await;
    missing
}

/// Which deleted packs held the missing blobs, and the bug class their deletion points to.
fn explain(world: &World, repo: &IndexedRepo, missing: &HashSet<Id>) -> (String, String) {
    let deleted = world.server.deleted_packs.lock().unwrap().clone();
    let mut lines = Vec::new();
    let (mut marked, mut swept) = (0, 0);
    for d in &deleted {
        let Ok(Ok(blobs)) = read_header(repo.keys(), &d.bytes, repo.config().pack_size) else {
            continue;
        };
        let held = blobs.iter().filter(|b| missing.contains(&b.id)).count();
        if held == 0 {
            continue;
        }
        match d.was_marked {
            true => marked += 1,
            false => swept += 1,
        }
        lines.push(format!(
            "{} (held {held}) deleted by {} at {:.1}s {}",
            d.key
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .get(..8)
                .unwrap_or(""),
            d.by,
            d.at,
            match d.was_marked {
                true => "after a retiring mark",
                false => "unmarked (unindexed sweep)",
            }
        ));
    }
    let class = match (marked, swept) {
        (0, 0) => "lost",
        (_, 0) => "bug2:retired-in-use",
        (0, _) => "bug1:unindexed-swept",
        _ => "bug1+bug2",
    };
    lines.truncate(4);
    (class.into(), format!("packs: {}", lines.join("; ")))
}
