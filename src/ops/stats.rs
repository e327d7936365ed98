//! `stats`: how much space snapshots take, counted restic's three ways, and what a prune would
//! free once some snapshots are gone. Everything comes from trees and the index: no file
//! content is ever read, and each tree is loaded once however many snapshots share it.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::error::KlosetError;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;

use crate::repo::IndexedRepo;

mod freed;
mod tally;
mod tree_graph;

pub use freed::{would_free, Freed};
use tally::{BlobTally, Contents};
use tree_graph::{each_tree, TreeGraph};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every file of every snapshot, as a restore of each would write it.
    RestoreSize,
    /// Each distinct file content once.
    FilesByContents,
    /// Each blob the snapshots need once, as stored.
    RawData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Host,
    Source,
    Tag,
}

/// The figures of one set of snapshots. `files` is for the two file modes, `blobs` and
/// `uncompressed` for raw-data only; `size` is file bytes or stored bytes by mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub snapshots: u64,
    pub files: u64,
    pub size: u64,
    pub blobs: u64,
    pub uncompressed: u64,
}

impl Stats {
    fn plus(self, o: Stats) -> Stats {
        Stats {
            snapshots: self.snapshots + o.snapshots,
            files: self.files + o.files,
            size: self.size + o.size,
            blobs: self.blobs + o.blobs,
            uncompressed: self.uncompressed + o.uncompressed,
        }
    }

    /// Plaintext over stored bytes (restic's "Compression Ratio"); None with nothing stored.
    pub fn compression_ratio(&self) -> Option<f64> {
        (self.size > 0).then(|| self.uncompressed as f64 / self.size as f64)
    }
}

/// The total, and with `--by` one entry per host, source or tag (None: snapshots without tags).
pub struct Report {
    pub total: Stats,
    pub groups: Vec<(Option<String>, Stats)>,
}

/// Counts `snaps` by `mode`, in total and, with `by`, per group.
pub async fn stats(
    repo: &IndexedRepo,
    snaps: &[(Id, Snapshot)],
    mode: Mode,
    by: Option<By>,
) -> Result<Report> {
    let groups = by.map(|b| group(snaps, b)).unwrap_or_default();
    let all: Vec<usize> = (0..snaps.len()).collect();
    if mode == Mode::RestoreSize {
        // Per snapshot, then summed: a restore of each writes all of it.
        let each = restore_sizes(repo, snaps).await?;
        let sum = |members: &[usize]| {
            members
                .iter()
                .fold(Stats::default(), |s, &i| s.plus(each[i]))
        };
        return Ok(Report {
            total: sum(&all),
            groups: groups.into_iter().map(|(k, m)| (k, sum(&m))).collect(),
        });
    }
    // Distinct contents or blobs do not add up across groups: each group is counted anew.
    let mut report = Report {
        total: distinct(repo, snaps, &all, mode).await?,
        groups: Vec::new(),
    };
    for (key, members) in groups {
        let s = distinct(repo, snaps, &members, mode).await?;
        report.groups.push((key, s));
    }
    Ok(report)
}

/// Snapshot positions by the value of `by`: a snapshot with several tags is in each of their
/// groups, one without in the `None` group.
fn group(snaps: &[(Id, Snapshot)], by: By) -> BTreeMap<Option<String>, Vec<usize>> {
    let mut out: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for (i, (_, s)) in snaps.iter().enumerate() {
        let keys: Vec<Option<String>> = match by {
            By::Host => vec![Some(s.host.clone())],
            By::Source => vec![Some(s.source.clone())],
            By::Tag if s.tags.is_empty() => vec![None],
            By::Tag => {
                let tags: std::collections::BTreeSet<&String> = s.tags.iter().collect();
                tags.into_iter().map(|t| Some(t.clone())).collect()
            }
        };
        for k in keys {
            out.entry(k).or_default().push(i);
        }
    }
    out
}

/// Files-by-contents or raw-data of the snapshots at `members`.
async fn distinct(
    repo: &IndexedRepo,
    snaps: &[(Id, Snapshot)],
    members: &[usize],
    mode: Mode,
) -> Result<Stats> {
    let roots: Vec<Id> = members.iter().map(|&i| snaps[i].1.tree).collect();
    let mut s = match mode {
        Mode::RawData => raw_data(repo, roots).await?,
        _ => files_by_contents(repo, roots).await?,
    };
    s.snapshots = members.len() as u64;
    Ok(s)
}

/// Each snapshot's restore-size, in the order given: the trees of all of them loaded once,
/// each subtree's sum worked out once and shared by every snapshot that holds it.
async fn restore_sizes(repo: &IndexedRepo, snaps: &[(Id, Snapshot)]) -> Result<Vec<Stats>> {
    let mut graph = TreeGraph::default();
    let roots: Vec<Id> = snaps.iter().map(|(_, s)| s.tree).collect();
    each_tree(repo, roots.iter().copied(), |id, tree| graph.add(id, tree)).await?;
    let sums = graph.sums();
    Ok(roots
        .iter()
        .map(|root| {
            let (files, size) = graph.restore_size(&sums, root);
            Stats {
                snapshots: 1,
                files,
                size,
                ..Stats::default()
            }
        })
        .collect())
}

async fn files_by_contents(repo: &IndexedRepo, roots: Vec<Id>) -> Result<Stats> {
    let mut contents = Contents::default();
    // Each tree once is enough: a content seen twice counts once anyway.
    each_tree(repo, roots, |_, tree| {
        tree.nodes.iter().for_each(|n| contents.add(n))
    })
    .await?;
    Ok(Stats {
        files: contents.files,
        size: contents.bytes,
        ..Stats::default()
    })
}

async fn raw_data(repo: &IndexedRepo, roots: Vec<Id>) -> Result<Stats> {
    let mut seen = repo.blob_set();
    let mut tally = BlobTally::default();
    crate::ops::reach::used_blobs(repo, roots, |b| {
        if seen.insert(b) {
            tally.add(repo.blob(&b));
        }
    })
    .await?;
    if tally.missing > 0 {
        return Err(KlosetError::Integrity(format!(
            "{} blobs these snapshots need are in no index file: run 'kloset check'",
            tally.missing
        ))
        .into());
    }
    Ok(Stats {
        blobs: tally.blobs,
        size: tally.stored,
        uncompressed: tally.plain,
        ..Stats::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tree::{Node, NodeKind, Tree};
    use crate::repo::BlobRef;

    fn id(n: u8) -> Id {
        Id([n; 32])
    }

    fn file(name: &str, size: u64, content: &[u8]) -> Node {
        let mut n = Node::new(name.into(), NodeKind::File);
        n.size = size;
        n.content = content.iter().map(|&c| id(c)).collect();
        n
    }

    fn linked(name: &str, size: u64, inode: u64) -> Node {
        let mut n = file(name, size, &[inode as u8]);
        (n.links, n.inode, n.device) = (2, inode, 7);
        n
    }

    fn dir(name: &str, sub: u8) -> Node {
        let mut n = Node::new(name.into(), NodeKind::Dir);
        n.subtree = Some(id(sub));
        n
    }

    fn graph(trees: &[(u8, Vec<Node>)]) -> TreeGraph {
        let mut g = TreeGraph::default();
        for (t, nodes) in trees {
            g.add(id(*t), &Tree::new(nodes.clone()));
        }
        g
    }

    #[test]
    fn restore_size_counts_every_file_of_shared_subtrees_in_each_place() {
        let mut link = Node::new("l".into(), NodeKind::Symlink);
        link.target = Some("a".into());
        let g = graph(&[
            (
                1,
                vec![file("a", 10, &[100]), dir("x", 2), dir("y", 2), link],
            ),
            (2, vec![file("b", 5, &[101]), dir("z", 3)]),
            (3, vec![file("c", 1, &[100])]),
        ]);
        let sums = g.sums();
        // Root: a, and twice (b, c): symlinks and directories are no files.
        assert_eq!(g.restore_size(&sums, &id(1)), (5, 10 + 2 * (5 + 1)));
        assert_eq!(g.restore_size(&sums, &id(2)), (2, 6));
        assert_eq!(g.restore_size(&sums, &id(9)), (0, 0));
    }

    #[test]
    fn hard_links_count_as_files_but_their_bytes_once_per_snapshot() {
        let g = graph(&[
            (1, vec![linked("h1", 100, 50), dir("d", 2), dir("e", 3)]),
            (2, vec![linked("h2", 100, 50), file("f", 1, &[9])]),
            // The same subtree twice: its links are the same files.
            (3, vec![dir("again", 2), linked("other", 30, 60)]),
            // Another snapshot holding the same inode counts it again (restic's rule).
            (4, vec![dir("d", 2)]),
        ]);
        let sums = g.sums();
        assert_eq!(g.restore_size(&sums, &id(1)), (6, 100 + 2 + 30));
        assert_eq!(g.restore_size(&sums, &id(4)), (2, 101));
    }

    #[test]
    fn deleted_keys_and_files_without_links_count_plainly() {
        let mut gone = file("gone", 40, &[5]);
        gone.s3 = Some(Box::new(crate::repo::tree::S3Meta {
            delete_marker: true,
            ..Default::default()
        }));
        // A single link with an inode is an ordinary file, whatever its inode.
        let mut one = file("one", 3, &[6]);
        one.inode = 50;
        let g = graph(&[(1, vec![gone, one, file("two", 4, &[7])])]);
        assert_eq!(g.restore_size(&g.sums(), &id(1)), (2, 7));
    }

    #[test]
    fn sums_of_a_deep_tree_need_no_recursion() {
        let depth = 200_000u32;
        let tid = |i: u32| Id::of_bytes(&i.to_le_bytes());
        let mut g = TreeGraph::default();
        for i in 0..depth {
            let mut d = Node::new("d".into(), NodeKind::Dir);
            d.subtree = Some(tid(i + 1));
            let nodes = match i + 1 < depth {
                true => vec![d, file("f", 1, &[1])],
                false => vec![file("f", 1, &[1])],
            };
            g.add(tid(i), &Tree::new(nodes));
        }
        assert_eq!(
            g.restore_size(&g.sums(), &tid(0)),
            (depth as u64, depth as u64)
        );
    }

    #[test]
    fn contents_are_counted_once_by_their_blob_list() {
        let mut c = Contents::default();
        for n in [
            file("a", 10, &[1, 2]),
            file("copy", 10, &[1, 2]),
            file("reordered", 10, &[2, 1]),
            file("empty", 0, &[]),
            file("empty too", 0, &[]),
            dir("d", 3),
        ] {
            c.add(&n);
        }
        assert_eq!((c.files, c.bytes), (3, 20));
    }

    #[test]
    fn blobs_add_up_stored_and_plain_and_missing_ones_apart() {
        let mut t = BlobTally::default();
        let at = |length, raw_length| BlobRef {
            pack: 0,
            offset: 0,
            length,
            raw_length,
        };
        t.add(Some(at(40, 100)));
        t.add(Some(at(60, 50)));
        t.add(None);
        assert_eq!((t.blobs, t.stored, t.plain, t.missing), (2, 100, 150, 1));
        let s = Stats {
            size: 100,
            uncompressed: 150,
            ..Stats::default()
        };
        assert_eq!(s.compression_ratio(), Some(1.5));
        assert_eq!(Stats::default().compression_ratio(), None);
    }

    #[test]
    fn groups_by_host_source_and_each_tag() {
        let snap = |host: &str, source: &str, tags: &[&str]| {
            let mut s: Snapshot = serde_json::from_value(serde_json::json!({
                "time": "2024-01-01T00:00:00Z", "host": host, "user": "u", "source": source,
                "source_key": "k", "tree": "00".repeat(32), "summary": {"files": 0, "dirs": 0,
                "symlinks": 0, "bytes": 0, "files_read": 0, "new_bytes": 0, "stored_bytes": 0,
                "new_blobs": 0, "errors": 0, "duration_secs": 0.0}
            }))
            .unwrap();
            s.tags = tags.iter().map(|t| t.to_string()).collect();
            (id(0), s)
        };
        let snaps = [
            snap("web1", "/a", &["x", "y", "x"]),
            snap("web2", "/a", &[]),
            snap("web1", "/b", &["y"]),
        ];
        let keys = |by| {
            group(&snaps, by)
                .into_iter()
                .map(|(k, v)| (k.unwrap_or_else(|| "-".into()), v))
                .collect::<Vec<_>>()
        };
        let s = |t: &str| t.to_string();
        assert_eq!(
            keys(By::Host),
            [(s("web1"), vec![0, 2]), (s("web2"), vec![1])]
        );
        assert_eq!(
            keys(By::Source),
            [(s("/a"), vec![0, 1]), (s("/b"), vec![2])]
        );
        assert_eq!(
            keys(By::Tag),
            [(s("-"), vec![1]), (s("x"), vec![0]), (s("y"), vec![0, 2])]
        );
    }
}
