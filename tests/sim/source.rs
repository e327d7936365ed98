//! An in-memory source: a tree of directories and files (bytes, mtime, inode) that the
//! scheduler mutates between backups. A backup reads a frozen copy, which the oracle keeps as
//! what the snapshot must restore to.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;
use kloset::archive::{Entry, Source, Work};
use kloset::repo::tree::{Node, NodeKind, S3Meta, S3Version};
use rand::rngs::StdRng;
use rand::Rng;

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Dir,
    File { data: Bytes, mtime: i64, inode: u64 },
}

/// Paths (`a/b/c`, no leading slash) to items; a directory's parents are always present.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    pub items: BTreeMap<String, Item>,
    next_inode: u64,
}

/// Content shared by all hosts of a run, so their backups deduplicate against each other.
pub struct Corpus(pub Vec<Bytes>);

impl Corpus {
    pub fn new(rng: &mut StdRng) -> Corpus {
        Corpus((0..6).map(|_| random_bytes(rng, 2_000, 60_000)).collect())
    }
}

fn random_bytes(rng: &mut StdRng, min: usize, max: usize) -> Bytes {
    let n = rng.gen_range(min..=max);
    let mut v = vec![0u8; n];
    rng.fill(&mut v[..]);
    // Half of it compressible, as real files are.
    for b in v.iter_mut().skip(n / 2) {
        *b &= 0x0f;
    }
    Bytes::from(v)
}

impl Tree {
    fn dirs(&self) -> Vec<String> {
        let mut d: Vec<String> = vec![String::new()];
        d.extend(
            self.items
                .iter()
                .filter(|(_, i)| matches!(i, Item::Dir))
                .map(|(p, _)| p.clone()),
        );
        d
    }

    /// The paths of its files, in order.
    pub fn files(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|(_, i)| matches!(i, Item::File { .. }))
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn content(&self, rng: &mut StdRng, corpus: &Corpus, big: f64) -> Bytes {
        let r: f64 = rng.gen();
        if r < big {
            random_bytes(rng, 40_000, 200_000)
        } else if r < big + 0.25 {
            corpus.0[rng.gen_range(0..corpus.0.len())].clone()
        } else if r < big + 0.35 {
            Bytes::new()
        } else {
            random_bytes(rng, 1, 6_000)
        }
    }

    /// A few random changes: files added, rewritten, appended to, deleted; directories added.
    /// `big`: the share of new files of several packs.
    pub fn mutate(
        &mut self,
        rng: &mut StdRng,
        corpus: &Corpus,
        now_ns: i64,
        big: f64,
        changes: usize,
    ) -> String {
        let changes = match changes {
            0 => rng.gen_range(1..=6),
            n => n,
        };
        let mut said = Vec::new();
        for _ in 0..changes {
            let files = self.files();
            let what = rng.gen_range(0..10);
            self.next_inode += 1;
            let inode = self.next_inode;
            let mtime = now_ns + inode as i64;
            if what < 5 || files.is_empty() {
                let dirs = self.dirs();
                let dir = &dirs[rng.gen_range(0..dirs.len())];
                let path = join(dir, &format!("f{inode}"));
                let data = self.content(rng, corpus, big);
                said.push(format!("+{path}({})", data.len()));
                self.items.insert(path, Item::File { data, mtime, inode });
            } else if what < 7 {
                let path = files[rng.gen_range(0..files.len())].clone();
                let data = self.content(rng, corpus, big);
                said.push(format!("~{path}({})", data.len()));
                self.items.insert(path, Item::File { data, mtime, inode });
            } else if what < 8 {
                let path = files[rng.gen_range(0..files.len())].clone();
                if let Some(Item::File { data, inode, .. }) = self.items.get(&path).cloned() {
                    let mut v = data.to_vec();
                    v.extend_from_slice(&random_bytes(rng, 1, 3_000));
                    said.push(format!(">{path}"));
                    let data = Bytes::from(v);
                    self.items.insert(path, Item::File { data, mtime, inode });
                }
            } else if what < 9 {
                let path = files[rng.gen_range(0..files.len())].clone();
                said.push(format!("-{path}"));
                self.items.remove(&path);
            } else {
                let dirs = self.dirs();
                let dir = &dirs[rng.gen_range(0..dirs.len())];
                let path = join(dir, &format!("d{inode}"));
                said.push(format!("+{path}/"));
                self.items.insert(path, Item::Dir);
            }
        }
        said.join(" ")
    }

    pub fn total_bytes(&self) -> u64 {
        self.items
            .values()
            .map(|i| match i {
                Item::File { data, .. } => data.len() as u64,
                Item::Dir => 0,
            })
            .sum()
    }
}

pub fn join(dir: &str, name: &str) -> String {
    match dir.is_empty() {
        true => name.to_string(),
        false => format!("{dir}/{name}"),
    }
}

/// A backup's view of one host's tree, frozen when the backup starts.
pub struct MemSource {
    pub host: String,
    pub tree: Arc<Tree>,
}

#[async_trait]
impl Source for MemSource {
    type Handle = String;

    fn source_key(&self, _host: &str) -> String {
        format!("sim:{}:/data", self.host)
    }

    fn paths(&self) -> Vec<String> {
        vec!["/data".into()]
    }

    fn concurrency(&self) -> usize {
        4
    }

    async fn root(&self) -> Result<Entry<String>> {
        let mut node = Node::new(String::new(), NodeKind::Dir);
        node.mode = 0o755;
        Ok(Entry {
            node,
            handle: String::new(),
        })
    }

    async fn children(&self, dir: &Entry<String>, _work: &Work) -> Result<Vec<Entry<String>>> {
        let prefix = match dir.handle.is_empty() {
            true => String::new(),
            false => format!("{}/", dir.handle),
        };
        let mut out = Vec::new();
        for (path, item) in self.tree.items.range(prefix.clone()..) {
            let Some(name) = path.strip_prefix(&prefix) else {
                break;
            };
            if name.is_empty() || name.contains('/') {
                continue;
            }
            let node = match item {
                Item::Dir => {
                    let mut n = Node::new(name.to_string(), NodeKind::Dir);
                    n.mode = 0o755;
                    n
                }
                Item::File { data, mtime, inode } => {
                    let mut n = Node::new(name.to_string(), NodeKind::File);
                    n.mode = 0o644;
                    n.size = data.len() as u64;
                    n.mtime = *mtime;
                    n.inode = *inode;
                    n
                }
            };
            out.push(Entry {
                node,
                handle: path.clone(),
            });
        }
        out.sort_by(|a, b| a.node.name.as_bytes().cmp(b.node.name.as_bytes()));
        Ok(out)
    }

    fn unchanged(&self, node: &Node, prev: &Node) -> bool {
        prev.kind == NodeKind::File
            && prev.size == node.size
            && prev.mtime == node.mtime
            && prev.inode == node.inode
    }

    fn reuse(&self, mut node: Node, prev: &Node) -> Node {
        node.content = prev.content.clone();
        node.s3 = prev.s3.clone();
        node
    }

    async fn read(&self, entry: Entry<String>, work: &Work) -> Result<Option<Node>> {
        let Some(Item::File { data, .. }) = self.tree.items.get(&entry.handle) else {
            return Ok(None);
        };
        let data = data.clone();
        let saver = work.saver.clone();
        // Some files carry a history, as S3 keys backed up with versions=all do: an older
        // version whose blobs only the history names, which prune must keep all the same.
        let older = (data.len() % 3 == 0).then(|| {
            let mut old: Vec<u8> = data.iter().rev().copied().collect();
            old.extend_from_slice(entry.handle.as_bytes());
            old
        });
        // The saver hands full packs over with a blocking send: off the runtime thread.
        let (ids, old) = tokio::task::spawn_blocking(move || -> Result<_> {
            let ids = saver.save_chunked(&data, &|_| {})?;
            let old = match older {
                Some(old) => Some((old.len() as u64, saver.save_chunked(&old, &|_| {})?)),
                None => None,
            };
            Ok((ids, old))
        })
        .await??;
        let mut node = entry.node;
        if let Some((old_size, old_ids)) = old {
            let version = |id: &str, size: u64, content: Vec<kloset::repo::id::Id>| S3Version {
                version_id: id.into(),
                size,
                content,
                meta: Some(Box::default()),
                ..S3Version::default()
            };
            node.s3 = Some(Box::new(S3Meta {
                key: entry.handle.clone(),
                versions: vec![
                    version("1", old_size, old_ids),
                    version("2", node.size, ids.clone()),
                ],
                ..S3Meta::default()
            }));
        }
        node.content = ids;
        Ok(Some(node))
    }
}
