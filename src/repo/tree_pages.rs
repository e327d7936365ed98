//! Paged trees: a directory whose tree would be larger than one page is stored as page blobs
//! (plain trees holding a run of its entries, in order) and a head blob naming them. Readers
//! assemble the pages, so everything above the loader sees one tree; reachability (prune,
//! check) sees the pages through `Tree::pages`. FORMAT.md, "Paged trees".

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, Result};

use super::id::Id;
use super::tree::{Tree, TreeHead};
use crate::error::KlosetError;

/// A tree blob as stored: a whole directory, or the head of a paged one.
pub enum TreeBlob {
    Whole(Tree),
    Head(TreeHead),
}

/// A tree blob's plaintext parsed. A blob with `nodes` is a whole tree (as every kloset wrote
/// before pages); one with only `pages` and `entries` a head.
pub fn parse_tree_blob(id: &Id, raw: &[u8]) -> Result<TreeBlob> {
    match serde_json::from_slice::<Tree>(raw) {
        Ok(tree) => Ok(TreeBlob::Whole(tree)),
        Err(whole) => match serde_json::from_slice::<TreeHead>(raw) {
            Ok(head) => Ok(TreeBlob::Head(head)),
            Err(_) => Err(KlosetError::Integrity(format!(
                "tree {} is malformed: {whole}",
                id.short()
            ))
            .into()),
        },
    }
}

/// The directory a head stands for, from its pages (each loaded once, shared between heads).
/// A page that is missing, is itself a head, appears twice, or pages whose entries do not add
/// up to the head's count make the tree damaged: never a directory with entries left out.
pub fn assemble(id: &Id, head: TreeHead, pages: &HashMap<Id, Result<TreeBlob>>) -> Result<Tree> {
    let damaged = |why: String| -> anyhow::Error {
        KlosetError::Integrity(format!("paged tree {}: {why}", id.short())).into()
    };
    let mut seen = HashSet::new();
    let mut nodes = Vec::new();
    for page in &head.pages {
        if !seen.insert(*page) {
            return Err(damaged(format!("page {} is listed twice", page.short())));
        }
        match pages.get(page) {
            Some(Ok(TreeBlob::Whole(t))) => nodes.extend(t.nodes.iter().cloned()),
            Some(Ok(TreeBlob::Head(_))) => {
                return Err(damaged(format!("page {} is a head itself", page.short())))
            }
            Some(Err(e)) => return Err(damaged(format!("page {}: {e:#}", page.short()))),
            None => return Err(anyhow!("internal: page {} was not loaded", page.short())),
        }
    }
    if nodes.len() as u64 != head.entries {
        return Err(damaged(format!(
            "its pages hold {} entries, the head says {}",
            nodes.len(),
            head.entries
        )));
    }
    Ok(Tree {
        nodes,
        pages: head.pages,
    })
}

/// How a tree is written: one blob, or pages and then a head.
#[derive(Debug, PartialEq)]
pub enum Encoded {
    One(Vec<u8>),
    Pages(Vec<Vec<u8>>),
}

/// The blobs of `tree`, each at most `page` bytes where an entry allows it. Pages are filled
/// in order, so the same directory always gives the same pages (and deduplicates). An entry
/// larger than a page gets a page of its own; the caller refuses it beyond the tree limit.
pub fn encode(tree: &Tree, page: u64) -> Result<Encoded> {
    let whole = serde_json::to_vec(tree)?;
    if whole.len() as u64 <= page {
        return Ok(Encoded::One(whole));
    }
    const OPEN: &[u8] = b"{\"nodes\":[";
    const CLOSE: &[u8] = b"]}";
    let mut pages = Vec::new();
    let mut current = OPEN.to_vec();
    let mut in_current = 0usize;
    for node in &tree.nodes {
        let json = serde_json::to_vec(node)?;
        let grown = current.len() + usize::from(in_current > 0) + json.len() + CLOSE.len();
        if in_current > 0 && grown as u64 > page {
            current.extend_from_slice(CLOSE);
            pages.push(std::mem::replace(&mut current, OPEN.to_vec()));
            in_current = 0;
        }
        if in_current > 0 {
            current.push(b',');
        }
        current.extend_from_slice(&json);
        in_current += 1;
    }
    current.extend_from_slice(CLOSE);
    pages.push(current);
    Ok(Encoded::Pages(pages))
}

/// The head blob of a paged tree.
pub fn head(pages: Vec<Id>, entries: usize) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&TreeHead {
        pages,
        entries: entries as u64,
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tree::{Node, NodeKind};

    fn tree(n: usize) -> Tree {
        Tree::new(
            (0..n)
                .map(|i| Node::new(format!("file-{i:04}"), NodeKind::File))
                .collect(),
        )
    }

    fn parsed(raw: &[u8]) -> Tree {
        match parse_tree_blob(&Id([0; 32]), raw).unwrap() {
            TreeBlob::Whole(t) => t,
            TreeBlob::Head(_) => panic!("a page parsed as a head"),
        }
    }

    #[test]
    fn a_small_tree_is_one_blob_as_before_pages() {
        let t = tree(3);
        assert_eq!(
            encode(&t, 1 << 20).unwrap(),
            Encoded::One(serde_json::to_vec(&t).unwrap())
        );
    }

    #[test]
    fn a_large_tree_is_pages_within_the_bound_that_concatenate_to_it() {
        let t = tree(100);
        let Encoded::Pages(pages) = encode(&t, 600).unwrap() else {
            panic!("not paged")
        };
        assert!(pages.len() > 5, "{}", pages.len());
        assert!(pages.iter().all(|p| p.len() <= 600));
        let nodes: Vec<Node> = pages.iter().flat_map(|p| parsed(p).nodes).collect();
        assert_eq!(nodes, t.nodes);
        // The same directory pages the same way.
        assert_eq!(encode(&t, 600).unwrap(), Encoded::Pages(pages));
    }

    #[test]
    fn an_entry_larger_than_a_page_gets_a_page_of_its_own() {
        let mut t = tree(3);
        t.nodes[1].name = "x".repeat(500);
        let Encoded::Pages(pages) = encode(&t, 200).unwrap() else {
            panic!("not paged")
        };
        assert_eq!(pages.len(), 3);
        assert_eq!(parsed(&pages[1]).nodes, vec![t.nodes[1].clone()]);
    }

    fn loaded(pages: &[(Id, Tree)]) -> HashMap<Id, Result<TreeBlob>> {
        pages
            .iter()
            .map(|(id, t)| (*id, Ok(TreeBlob::Whole(t.clone()))))
            .collect()
    }

    #[test]
    fn a_head_assembles_its_pages_in_order_and_names_them() {
        let (a, b) = (Id([1; 32]), Id([2; 32]));
        let pages = loaded(&[(b, tree(2)), (a, tree(1))]);
        let head = TreeHead {
            pages: vec![a, b],
            entries: 3,
        };
        let t = assemble(&Id([9; 32]), head, &pages).unwrap();
        assert_eq!(t.pages, vec![a, b]);
        let names: Vec<_> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["file-0000", "file-0000", "file-0001"]);
    }

    #[test]
    fn heads_that_do_not_add_up_are_damage_not_a_shorter_directory() {
        let (a, b) = (Id([1; 32]), Id([2; 32]));
        let mut pages = loaded(&[(a, tree(2))]);
        pages.insert(
            b,
            Ok(TreeBlob::Head(TreeHead {
                pages: vec![a],
                entries: 2,
            })),
        );
        let id = Id([9; 32]);
        let head = |pages: Vec<Id>, entries| TreeHead { pages, entries };
        let err = |h| format!("{:#}", assemble(&id, h, &pages).unwrap_err());
        assert!(err(head(vec![a], 3)).contains("hold 2 entries, the head says 3"));
        assert!(err(head(vec![a, a], 4)).contains("listed twice"));
        assert!(err(head(vec![a, b], 4)).contains("a head itself"));
        let mut broken = loaded(&[]);
        broken.insert(a, Err(anyhow!("pack gone")));
        let e = assemble(&id, head(vec![a], 2), &broken).unwrap_err();
        assert!(format!("{e:#}").contains("pack gone"));
        assert_eq!(
            e.downcast_ref::<KlosetError>().map(KlosetError::exit_code),
            Some(17)
        );
    }

    #[test]
    fn heads_parse_and_an_older_reader_refuses_them() {
        let raw = head(vec![Id([1; 32])], 5).unwrap();
        assert!(matches!(
            parse_tree_blob(&Id([0; 32]), &raw).unwrap(),
            TreeBlob::Head(TreeHead { entries: 5, .. })
        ));
        // What a kloset without pages parses a tree blob as.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct OldTree {
            nodes: Vec<serde_json::Value>,
        }
        let old = serde_json::from_slice::<OldTree>(&raw).unwrap_err();
        assert!(old.to_string().contains("missing field `nodes`"), "{old}");
        assert!(parse_tree_blob(&Id([0; 32]), b"{\"pages\":3}").is_err());
    }
}
