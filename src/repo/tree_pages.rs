//! Paged trees: a directory whose tree would be larger than one page is stored as page blobs
//! (plain trees holding a run of its entries, in order) and a head blob naming them. Readers
//! assemble the pages, so everything above the loader sees one tree; reachability (prune,
//! check) sees the pages through `Tree::pages`. FORMAT.md, "Paged trees".

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, Result};

use serde::Deserialize;

use super::id::Id;
use super::load::{is_damage, same_class};
use super::tree::{Tree, TreeHead};
use crate::error::KlosetError;

/// A tree blob as stored: a whole directory, or the head of a paged one.
pub enum TreeBlob {
    Whole(Tree),
    Head(TreeHead),
}

/// Both shapes in one parse: which fields are present decides.
#[derive(Deserialize)]
struct AnyTreeBlob {
    nodes: Option<Vec<super::tree::Node>>,
    pages: Option<Vec<Id>>,
    entries: Option<u64>,
}

/// A tree blob's plaintext parsed. A blob with `nodes` is a whole tree (as every kloset wrote
/// before pages); one with `pages` and `entries` a head. Both, or neither, is damage: a tree
/// that also names pages would leave them unprotected from prune if read as a plain tree.
pub fn parse_tree_blob(id: &Id, raw: &[u8]) -> Result<TreeBlob> {
    let damaged = |why: String| -> anyhow::Error {
        KlosetError::Integrity(format!("tree {} is malformed: {why}", id.short())).into()
    };
    let blob: AnyTreeBlob = serde_json::from_slice(raw).map_err(|e| damaged(e.to_string()))?;
    match (blob.nodes, blob.pages, blob.entries) {
        (Some(nodes), None, None) => Ok(TreeBlob::Whole(Tree::new(nodes))),
        (None, Some(pages), Some(entries)) => {
            let head = TreeHead { pages, entries };
            check_head(&head).map_err(damaged)?;
            Ok(TreeBlob::Head(head))
        }
        (Some(_), _, _) => Err(damaged("it holds both entries and pages".into())),
        _ => Err(damaged("missing field `nodes`".into())),
    }
}

/// What a head must be before any page is fetched for it: pages, each once, no more of them
/// than entries (a writer never writes an empty page).
fn check_head(head: &TreeHead) -> Result<(), String> {
    if head.pages.is_empty() {
        return Err("a paged tree without pages".into());
    }
    if head.pages.len() as u64 > head.entries {
        return Err(format!(
            "{} pages for {} entries",
            head.pages.len(),
            head.entries
        ));
    }
    let mut seen = HashSet::with_capacity(head.pages.len());
    if let Some(twice) = head.pages.iter().find(|p| !seen.insert(**p)) {
        return Err(format!("page {} is listed twice", twice.short()));
    }
    Ok(())
}

/// Pages loaded for a batch of heads, each handed out once per head that names it: moved out
/// at its last use, copied before.
pub struct Pages {
    loaded: HashMap<Id, Result<TreeBlob>>,
    uses: HashMap<Id, usize>,
}

impl Pages {
    pub fn new(loaded: HashMap<Id, Result<TreeBlob>>, heads: &[(Id, TreeHead)]) -> Pages {
        let mut uses = HashMap::new();
        for (_, head) in heads {
            for page in &head.pages {
                *uses.entry(*page).or_insert(0) += 1;
            }
        }
        Pages { loaded, uses }
    }

    fn take(&mut self, page: &Id) -> Option<Result<TreeBlob>> {
        let left = self.uses.get_mut(page)?;
        *left -= 1;
        if *left == 0 {
            return self.loaded.remove(page);
        }
        Some(match self.loaded.get(page)? {
            Ok(TreeBlob::Whole(t)) => Ok(TreeBlob::Whole(t.clone())),
            Ok(TreeBlob::Head(h)) => Ok(TreeBlob::Head(h.clone())),
            Err(e) => Err(same_class(e)),
        })
    }
}

/// The directory a head stands for, from its pages. A page that is missing, is itself a
/// head, or pages whose entries do not add up to the head's count make the tree damaged:
/// never a directory with entries left out. A page that could not be read for another reason
/// (the network) is that error, not damage.
pub fn assemble(id: &Id, head: TreeHead, pages: &mut Pages) -> Result<Tree> {
    let damaged = |why: String| -> anyhow::Error {
        KlosetError::Integrity(format!("paged tree {}: {why}", id.short())).into()
    };
    check_head(&head).map_err(damaged)?;
    let mut nodes = Vec::new();
    for page in &head.pages {
        match pages.take(page) {
            Some(Ok(TreeBlob::Whole(t))) => nodes.extend(t.nodes),
            Some(Ok(TreeBlob::Head(_))) => {
                return Err(damaged(format!("page {} is a head itself", page.short())))
            }
            Some(Err(e)) if is_damage(&e) => {
                return Err(damaged(format!("page {}: {e:#}", page.short())))
            }
            Some(Err(e)) => return Err(e.context(format!("paged tree {}", id.short()))),
            None => return Err(anyhow!("internal: page {} was not loaded", page.short())),
        }
        if nodes.len() as u64 > head.entries {
            break;
        }
    }
    if nodes.len() as u64 != head.entries {
        return Err(damaged(format!(
            "its pages hold {} entries or more, the head says {}",
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

    fn assembled(id: &Id, head: TreeHead, loaded: HashMap<Id, Result<TreeBlob>>) -> Result<Tree> {
        let mut pages = Pages::new(loaded, &[(*id, head.clone())]);
        assemble(id, head, &mut pages)
    }

    #[test]
    fn a_head_assembles_its_pages_in_order_and_names_them() {
        let (a, b) = (Id([1; 32]), Id([2; 32]));
        let head = TreeHead {
            pages: vec![a, b],
            entries: 3,
        };
        let t = assembled(&Id([9; 32]), head, loaded(&[(b, tree(2)), (a, tree(1))])).unwrap();
        assert_eq!(t.pages, vec![a, b]);
        let names: Vec<_> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["file-0000", "file-0000", "file-0001"]);
    }

    #[test]
    fn a_page_shared_by_two_heads_reaches_both() {
        let (a, b, c) = (Id([1; 32]), Id([2; 32]), Id([3; 32]));
        let h1 = TreeHead {
            pages: vec![a, b],
            entries: 3,
        };
        let h2 = TreeHead {
            pages: vec![c, b],
            entries: 4,
        };
        let heads = [(Id([8; 32]), h1.clone()), (Id([9; 32]), h2.clone())];
        let mut pages = Pages::new(loaded(&[(a, tree(1)), (b, tree(2)), (c, tree(2))]), &heads);
        assert_eq!(
            assemble(&heads[0].0, h1, &mut pages).unwrap().nodes.len(),
            3
        );
        assert_eq!(
            assemble(&heads[1].0, h2, &mut pages).unwrap().nodes.len(),
            4
        );
        assert!(pages.loaded.is_empty());
    }

    #[test]
    fn heads_that_do_not_add_up_are_damage_not_a_shorter_directory() {
        let (a, b) = (Id([1; 32]), Id([2; 32]));
        // `b` is a head itself.
        let pages = || {
            let mut p = loaded(&[(a, tree(2))]);
            let nested = TreeHead {
                pages: vec![a],
                entries: 2,
            };
            p.insert(b, Ok(TreeBlob::Head(nested)));
            p
        };
        let id = Id([9; 32]);
        let head = |pages: Vec<Id>, entries| TreeHead { pages, entries };
        let err = |h: TreeHead| {
            let e = assembled(&id, h, pages()).unwrap_err();
            assert_eq!(
                e.downcast_ref::<KlosetError>().map(KlosetError::exit_code),
                Some(17)
            );
            format!("{e:#}")
        };
        assert!(err(head(vec![a], 3)).contains("hold 2 entries or more, the head says 3"));
        assert!(err(head(vec![a, a], 4)).contains("listed twice"));
        assert!(err(head(vec![a, b], 4)).contains("a head itself"));
        assert!(err(head(vec![a, b], 1)).contains("2 pages for 1 entries"));
        assert!(err(head(vec![], 0)).contains("without pages"));
    }

    #[test]
    fn a_page_that_is_damaged_is_damage_and_one_unreachable_is_not() {
        let (a, id) = (Id([1; 32]), Id([9; 32]));
        let head = TreeHead {
            pages: vec![a],
            entries: 2,
        };
        let mut broken = loaded(&[]);
        broken.insert(a, Err(KlosetError::Integrity("pack gone".into()).into()));
        let e = assembled(&id, head.clone(), broken).unwrap_err();
        assert!(format!("{e:#}").contains("pack gone"));
        assert_eq!(
            e.downcast_ref::<KlosetError>().map(KlosetError::exit_code),
            Some(17)
        );
        let mut offline = loaded(&[]);
        offline.insert(a, Err(anyhow!("connection reset")));
        let e = assembled(&id, head, offline).unwrap_err();
        assert!(format!("{e:#}").contains("connection reset"));
        assert!(e.downcast_ref::<KlosetError>().is_none());
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
        // A tree that also names pages, or a head that names none, is damage.
        let both = br#"{"nodes":[],"pages":[],"entries":0}"#;
        assert!(
            format!("{:#}", parse_tree_blob(&Id([0; 32]), both).err().unwrap()).contains("both")
        );
        let none = br#"{"pages":[],"entries":0}"#;
        assert!(parse_tree_blob(&Id([0; 32]), none).is_err());
        // Fields a later writer adds to a head are ignored.
        let later = br#"{"pages":["0101010101010101010101010101010101010101010101010101010101010101"],"entries":1,"cut":"cdc"}"#;
        assert!(matches!(
            parse_tree_blob(&Id([0; 32]), later).unwrap(),
            TreeBlob::Head(_)
        ));
    }
}
