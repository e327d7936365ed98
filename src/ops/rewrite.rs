//! `tag` and `rewrite`: a snapshot already taken is replaced by a new one (other tags, or a
//! tree without some paths), which records the id it replaces in `original`. The new one is
//! committed as a backup is (FORMAT.md, "Commit"): every pack it names is checked against the
//! store and prune's marks, under this writer's lease, before it is written. Only then is the
//! old one deleted; a run cut short between the two leaves both, and the next run of the same
//! change finishes it instead of making another copy (see `already_done`).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;
use futures::future::BoxFuture;

use crate::archive::saver::BlobSaver;
use crate::error::KlosetError;
use crate::filter::Patterns;
use crate::repo::commit::CommitRefs;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::{Node, NodeKind, Tree};
use crate::repo::walk::{Visit, WalkOptions};
use crate::repo::IndexedRepo;

/// What happened to one snapshot.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Replaced {
    pub old: Id,
    /// None: nothing to change (or a dry run).
    pub new: Option<Id>,
    /// Whether the old snapshot was deleted.
    pub removed_old: bool,
    /// Entries taken out (rewrite), files and directories among them (counting what the
    /// directories held) and the files' bytes.
    pub entries_removed: u64,
    pub files_removed: u64,
    #[serde(skip)]
    pub dirs_removed: u64,
    pub bytes_removed: u64,
}

/// A change of tags: `set` replaces them all; else `remove`, then `add`.
#[derive(Default, Debug)]
pub struct TagChange {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    pub set: Option<Vec<String>>,
}

impl TagChange {
    /// The tags after the change: no duplicates, in the order they were first given.
    pub fn apply(&self, tags: &[String]) -> Vec<String> {
        let base: Vec<String> = match &self.set {
            Some(set) => set.clone(),
            None => tags
                .iter()
                .filter(|t| !self.remove.contains(t))
                .chain(&self.add)
                .cloned()
                .collect(),
        };
        let mut out: Vec<String> = Vec::new();
        for t in base.into_iter().filter(|t| !t.is_empty()) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }
}

/// The snapshot a replacement of `id` is the same as: its original, what it was before it
/// was replaced at all.
fn first_original(id: Id, snap: &Snapshot) -> Id {
    snap.original.unwrap_or(id)
}

/// The version a replacement of `id` gets: past every version of it in the store, so that a
/// change of an older version is still the newest (sync and forget go by the number).
fn next_version(all: &[(Id, Snapshot)], id: Id, snap: &Snapshot) -> Result<u32> {
    let first = first_original(id, snap);
    all.iter()
        .filter(|(other, s)| first_original(*other, s) == first)
        .map(|(_, s)| s.version)
        .max()
        .unwrap_or(snap.version)
        .max(snap.version)
        .checked_add(1)
        .ok_or_else(|| {
            KlosetError::Integrity(format!(
                "snapshot {} has a version that cannot grow (a planted or damaged snapshot): remove it with 'kloset rm'",
                id.short()
            ))
            .into()
        })
}

/// A replacement of `id` already in the store with this tree and these tags: a run cut
/// short after its commit. Then only the old one's deletion is left to do.
fn already_done(
    all: &[(Id, Snapshot)],
    id: Id,
    snap: &Snapshot,
    tree: Id,
    tags: &[String],
) -> Option<Id> {
    let original = first_original(id, snap);
    all.iter()
        .find(|(other, s)| {
            *other != id
                && s.original == Some(original)
                && s.version > snap.version
                && s.tree == tree
                && s.tags == tags
                && s.time == snap.time
                && s.host == snap.host
        })
        .map(|(other, _)| *other)
}

/// Gives each of `chosen` its changed tags: a new snapshot for each one whose tags change,
/// and the old one deleted.
pub async fn retag(
    repo: &IndexedRepo,
    chosen: &[(Id, Snapshot)],
    change: &TagChange,
) -> Result<Vec<Replaced>> {
    let mut all = repo.snapshots().await?;
    let mut out = Vec::new();
    for (id, snap) in chosen {
        let tags = change.apply(&snap.tags);
        let mut r = Replaced {
            old: *id,
            new: None,
            removed_old: false,
            entries_removed: 0,
            files_removed: 0,
            dirs_removed: 0,
            bytes_removed: 0,
        };
        if tags == snap.tags {
            out.push(r);
            continue;
        }
        let new = match already_done(&all, *id, snap, snap.tree, &tags) {
            Some(done) => done,
            None => {
                let refs = CommitRefs {
                    reused: crate::ops::reach::packs_of(repo, [snap.tree]).await?,
                    written: Vec::new(),
                };
                let next = Snapshot {
                    tags,
                    original: Some(first_original(*id, snap)),
                    version: next_version(&all, *id, snap)?,
                    ..snap.clone()
                };
                let new = repo.commit(&next, &refs).await?;
                // Numbered past by the next change of the same snapshot in this run.
                all.push((new, next));
                new
            }
        };
        crate::kill_point::here("tag:committed");
        repo.delete_snapshot(id).await?;
        (r.new, r.removed_old) = (Some(new), true);
        out.push(r);
    }
    Ok(out)
}

pub struct RewriteOptions {
    pub exclude: Patterns,
    /// Delete each original once its replacement is committed.
    pub forget: bool,
    pub dry_run: bool,
    pub concurrency: usize,
}

/// Takes what `exclude` names out of each of `chosen`: a new snapshot for each one that held
/// any of it, its trees rewritten above what was taken out and everything else reused.
pub async fn rewrite(
    repo: Arc<IndexedRepo>,
    chosen: &[(Id, Snapshot)],
    opts: &RewriteOptions,
) -> Result<Vec<Replaced>> {
    let mut all = repo.snapshots().await?;
    let (saver, uploader) = BlobSaver::start(repo.clone(), opts.concurrency, opts.dry_run);
    let rewriter = Arc::new(Rewriter {
        repo: repo.clone(),
        saver: saver.clone(),
        exclude: opts.exclude.clone(),
        done: std::sync::Mutex::new(HashMap::new()),
    });
    let mut out = Vec::new();
    let mut result = Ok(());
    for (id, snap) in chosen {
        match rewrite_one(&rewriter, &mut all, *id, snap, opts).await {
            Ok(r) => out.push(r),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    saver.close();
    let uploaded = uploader.await?;
    result?;
    uploaded?;
    Ok(out)
}

async fn rewrite_one(
    rewriter: &Arc<Rewriter>,
    all: &mut Vec<(Id, Snapshot)>,
    id: Id,
    snap: &Snapshot,
    opts: &RewriteOptions,
) -> Result<Replaced> {
    let repo = &rewriter.repo;
    let outcome = rewriter.clone().tree(snap.tree, String::new()).await?;
    let mut r = Replaced {
        old: id,
        new: None,
        removed_old: false,
        entries_removed: outcome.entries,
        files_removed: outcome.files,
        dirs_removed: outcome.dirs,
        bytes_removed: outcome.bytes,
    };
    if outcome.tree == snap.tree {
        return Ok(r);
    }
    if outcome.empty {
        return Err(crate::error::KlosetError::Usage(format!(
            "the patterns take everything out of snapshot {}: to delete it, use 'kloset rm {}'",
            id.short(),
            id.short()
        ))
        .into());
    }
    if opts.dry_run {
        return Ok(r);
    }
    let new = match already_done(all, id, snap, outcome.tree, &snap.tags) {
        Some(done) => done,
        None => {
            rewriter.saver.writer.settle().await?;
            crate::kill_point::here("rewrite:uploaded");
            // The old tree's packs hold everything the new one reuses (a superset: a pack of
            // only what was taken out is checked too, which can only refuse more).
            let mut reused = crate::ops::reach::packs_of(repo, [snap.tree]).await?;
            reused.extend(rewriter.saver.reused_packs());
            let refs = CommitRefs {
                reused,
                written: rewriter.saver.writer.written_ids(),
            };
            let mut summary = snap.summary.clone();
            summary.files = summary.files.saturating_sub(outcome.files);
            summary.dirs = summary.dirs.saturating_sub(outcome.dirs);
            summary.bytes = summary.bytes.saturating_sub(outcome.bytes);
            let next = Snapshot {
                tree: outcome.tree,
                original: Some(first_original(id, snap)),
                version: next_version(all, id, snap)?,
                summary,
                ..snap.clone()
            };
            let new = repo.commit(&next, &refs).await?;
            // Numbered past by the next change of the same snapshot in this run.
            all.push((new, next));
            new
        }
    };
    r.new = Some(new);
    crate::kill_point::here("rewrite:committed");
    if opts.forget {
        repo.delete_snapshot(&id).await?;
        r.removed_old = true;
    }
    Ok(r)
}

/// A tree after the rewrite, and what was taken out below it.
#[derive(Clone, Copy)]
struct TreeOutcome {
    tree: Id,
    entries: u64,
    files: u64,
    dirs: u64,
    bytes: u64,
    /// Nothing is left in it.
    empty: bool,
}

struct Rewriter {
    repo: Arc<IndexedRepo>,
    saver: Arc<BlobSaver>,
    exclude: Patterns,
    /// Trees already rewritten in this run, by id and path (anchored patterns depend on it).
    done: std::sync::Mutex<HashMap<(Id, String), TreeOutcome>>,
}

impl Rewriter {
    /// The tree `id` at `path` (relative to the snapshot's root, no leading `/`) without what
    /// the patterns name; the same id when nothing below it is taken out.
    fn tree(self: Arc<Self>, id: Id, path: String) -> BoxFuture<'static, Result<TreeOutcome>> {
        Box::pin(async move {
            if let Some(known) = self.done.lock().expect("done").get(&(id, path.clone())) {
                return Ok(*known);
            }
            let tree = self.repo.load_tree(&id).await?;
            let mut outcome = TreeOutcome {
                tree: id,
                entries: 0,
                files: 0,
                dirs: 0,
                bytes: 0,
                empty: false,
            };
            let mut kept: Vec<Node> = Vec::with_capacity(tree.nodes.len());
            let mut changed = false;
            for mut node in tree.nodes {
                let here = match path.is_empty() {
                    true => node.name.clone(),
                    false => format!("{path}/{}", node.name),
                };
                let is_dir = node.kind == NodeKind::Dir;
                if self.exclude.matches(&here, is_dir) {
                    changed = true;
                    let (files, dirs, bytes) = self.counted(&node).await?;
                    outcome.entries += 1;
                    outcome.files += files;
                    outcome.dirs += dirs;
                    outcome.bytes += bytes;
                    continue;
                }
                if let (true, Some(sub)) = (is_dir, node.subtree) {
                    let below = self.clone().tree(sub, here).await?;
                    if below.tree != sub {
                        changed = true;
                        node.subtree = Some(below.tree);
                    }
                    outcome.entries += below.entries;
                    outcome.files += below.files;
                    outcome.dirs += below.dirs;
                    outcome.bytes += below.bytes;
                }
                kept.push(node);
            }
            outcome.empty = kept.is_empty();
            if changed {
                outcome.tree = self.saver.save_tree_async(&Tree::new(kept), &path).await?;
            }
            self.done.lock().expect("done").insert((id, path), outcome);
            Ok(outcome)
        })
    }

    /// Files, directories and bytes of an entry taken out: itself, and all a directory holds.
    async fn counted(&self, node: &Node) -> Result<(u64, u64, u64)> {
        let Some(sub) = node.subtree.filter(|_| node.kind == NodeKind::Dir) else {
            let file = node.kind == NodeKind::File && !node.is_deleted();
            let dir = u64::from(node.kind == NodeKind::Dir);
            return Ok((u64::from(file), dir, if file { node.size } else { 0 }));
        };
        let (mut files, mut dirs, mut bytes) = (0, 1, 0);
        let opts = WalkOptions::default();
        self.repo
            .walk(vec![(Vec::new(), sub)], opts, |v| {
                if let Visit::Node { node, .. } = v {
                    if node.kind == NodeKind::File && !node.is_deleted() {
                        files += 1;
                        bytes += node.size;
                    }
                    dirs += u64::from(node.kind == NodeKind::Dir);
                }
                true
            })
            .await?;
        Ok((files, dirs, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tags_are_removed_then_added_or_set() {
        let change = TagChange {
            add: tags(&["b", "c"]),
            remove: tags(&["a"]),
            set: None,
        };
        assert_eq!(change.apply(&tags(&["a", "b"])), tags(&["b", "c"]));
        let set = TagChange {
            set: Some(tags(&["x", "x", ""])),
            ..TagChange::default()
        };
        assert_eq!(set.apply(&tags(&["a"])), tags(&["x"]));
        let clear = TagChange {
            set: Some(tags(&[""])),
            ..TagChange::default()
        };
        assert!(clear.apply(&tags(&["a"])).is_empty());
    }

    fn snap(tree: u8, tags_: &[&str], original: Option<Id>) -> Snapshot {
        Snapshot {
            tags: tags(tags_),
            tree: Id([tree; 32]),
            original,
            ..crate::repo::snapshot::for_tests(1_704_067_200)
        }
    }

    #[test]
    fn a_change_of_an_older_version_is_numbered_past_the_newest() {
        let old = Id([1; 32]);
        let all = vec![
            (old, snap(9, &[], None)),
            (
                Id([2; 32]),
                Snapshot {
                    version: 2,
                    ..snap(9, &["x"], Some(old))
                },
            ),
        ];
        assert_eq!(next_version(&all, old, &all[0].1).unwrap(), 3);
        assert_eq!(next_version(&all[..1], old, &all[0].1).unwrap(), 1);
        let planted = vec![(
            Id([3; 32]),
            Snapshot {
                version: u32::MAX,
                ..snap(9, &[], Some(old))
            },
        )];
        assert!(
            next_version(&planted, old, &all[0].1).is_err(),
            "no overflow"
        );
    }

    #[test]
    fn a_replacement_committed_before_a_cut_is_found_again() {
        let old = Id([1; 32]);
        let done = Id([2; 32]);
        let all = vec![
            (old, snap(9, &[], None)),
            (
                done,
                Snapshot {
                    version: 1,
                    ..snap(9, &["t"], Some(old))
                },
            ),
        ];
        let (_, s) = &all[0];
        assert_eq!(
            already_done(&all, old, s, Id([9; 32]), &tags(&["t"])),
            Some(done)
        );
        assert_eq!(already_done(&all, old, s, Id([9; 32]), &tags(&["u"])), None);
        assert_eq!(already_done(&all, old, s, Id([8; 32]), &tags(&["t"])), None);
    }
}
