//! Where each snapshot appears when a store is browsed as directories, restic's layout:
//! `ids/<id prefix>`, `snapshots/<time>`, `hosts/<host>/<time>`, `tags/<tag>/<time>`, and a
//! `latest` link in each folder of times. Pure: built from the snapshot list alone.

use std::collections::{BTreeMap, HashMap};

use chrono::SecondsFormat;

use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;

/// What a name in a folder of the catalog is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Child {
    /// Another folder of the catalog, by its path.
    Folder(Vec<String>),
    /// A snapshot's tree, by its index in the list the catalog was built from.
    Snapshot(usize),
    /// A symbolic link (`latest`), to this relative target.
    Link(String),
}

#[derive(Default, Debug)]
pub struct Catalog {
    folders: BTreeMap<Vec<String>, Vec<(String, Child)>>,
    /// Each folder's names, to find one without going through them all.
    by_name: HashMap<Vec<String>, HashMap<String, usize>>,
}

impl Catalog {
    /// `snapshots` oldest first, as `Repo::snapshots` gives them.
    pub fn new(snapshots: &[(Id, Snapshot)]) -> Catalog {
        let mut c = Catalog::default();
        let top = ["ids", "snapshots", "hosts", "tags"];
        for name in top {
            c.folders.insert(vec![name.to_string()], Vec::new());
        }
        c.folders.insert(
            Vec::new(),
            top.iter()
                .map(|n| (n.to_string(), Child::Folder(vec![n.to_string()])))
                .collect(),
        );
        let all: Vec<usize> = (0..snapshots.len()).collect();
        let mut hosts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut tags: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let ids: Vec<Id> = snapshots.iter().map(|(id, _)| *id).collect();
        for (i, (prefix, (_, snap))) in unique_prefixes(&ids).into_iter().zip(snapshots).enumerate()
        {
            c.push(&["ids"], prefix, Child::Snapshot(i));
            hosts.entry(safe_name(&snap.host)).or_default().push(i);
            for t in &snap.tags {
                tags.entry(safe_name(t)).or_default().push(i);
            }
        }
        c.times(vec!["snapshots".into()], snapshots, &all);
        for (top, groups) in [("hosts", hosts), ("tags", tags)] {
            for (name, members) in groups {
                let path = vec![top.to_string(), name.clone()];
                c.push(&[top], name, Child::Folder(path.clone()));
                c.times(path, snapshots, &members);
            }
        }
        for (path, entries) in &c.folders {
            let names = entries
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (n.clone(), i))
                .collect();
            c.by_name.insert(path.clone(), names);
        }
        c
    }

    /// The names in a folder, in order; None when there is no such folder.
    pub fn folder(&self, path: &[String]) -> Option<&[(String, Child)]> {
        self.folders.get(path).map(Vec::as_slice)
    }

    pub fn lookup(&self, path: &[String], name: &str) -> Option<&Child> {
        let i = *self.by_name.get(path)?.get(name)?;
        self.folder(path).map(|f| &f[i].1)
    }

    fn push(&mut self, folder: &[&str], name: String, child: Child) {
        let key: Vec<String> = folder.iter().map(|s| s.to_string()).collect();
        self.folders.entry(key).or_default().push((name, child));
    }

    /// A folder of `members` named by their times (`-1`, `-2` after a time already taken),
    /// and `latest` pointing at the newest.
    fn times(&mut self, path: Vec<String>, snapshots: &[(Id, Snapshot)], members: &[usize]) {
        let mut entries = Vec::new();
        let mut taken: BTreeMap<String, usize> = BTreeMap::new();
        for &i in members {
            let base = time_name(&snapshots[i].1);
            let n = taken.entry(base.clone()).or_insert(0);
            let name = if *n == 0 { base } else { format!("{base}-{n}") };
            *n += 1;
            entries.push((name, Child::Snapshot(i)));
        }
        if let Some((newest, _)) = entries.last() {
            let link = Child::Link(newest.clone());
            entries.push(("latest".to_string(), link));
        }
        self.folders.insert(path, entries);
    }
}

/// `2024-05-06T07:08:09Z`: the snapshot's time to the second, in UTC.
pub fn time_name(snap: &Snapshot) -> String {
    snap.time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Each id's hex, as long as it takes to tell it from every other (8 digits at least, as
/// restic shows them): two snapshots whose short ids collide get longer names, not one.
fn unique_prefixes(ids: &[Id]) -> Vec<String> {
    let hex: Vec<String> = ids.iter().map(Id::to_string).collect();
    let mut order: Vec<usize> = (0..hex.len()).collect();
    order.sort_by(|&a, &b| hex[a].cmp(&hex[b]));
    let common = |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let mut len = vec![8usize; hex.len()];
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let need = (common(&hex[a], &hex[b]) + 1).min(hex[a].len());
        len[a] = len[a].max(need);
        len[b] = len[b].max(need);
    }
    hex.iter()
        .zip(len)
        .map(|(h, n)| h[..n.min(h.len())].to_string())
        .collect()
}

/// A host or tag as one path component. `/` and NUL become `_`; names that are not names
/// (`.`, `..`, empty) are prefixed. A name changed so, too long for a file system, or with a
/// `~`, ends in `~` and 16 hex digits of its hash, so that two names never share a folder.
fn safe_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let mut name = match cleaned.as_str() {
        "" | "." | ".." => format!("_{cleaned}"),
        _ => cleaned,
    };
    // A name with `~` could be another's changed form: it is told apart the same way.
    if name != s || s.contains('~') || crate::restore::names::unfit(name.as_bytes()).is_some() {
        let mut cut = name.len().min(crate::restore::names::NAME_MAX - 17);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        let hash = blake3::hash(s.as_bytes()).to_hex();
        name = format!("{name}~{}", &hash[..16]);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(n: u8, time: &str, host: &str, tags: &[&str]) -> (Id, Snapshot) {
        (
            Id([n; 32]),
            Snapshot {
                time: time.parse().unwrap(),
                host: host.into(),
                source: "/srv".into(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..crate::repo::snapshot::for_tests(0)
            },
        )
    }

    fn path(p: &str) -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    fn names(c: &Catalog, p: &str) -> Vec<String> {
        c.folder(&path(p))
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    #[test]
    fn snapshots_appear_by_id_time_host_and_tag_with_latest_links() {
        let list = vec![
            snap(1, "2024-01-01T10:00:00Z", "web1", &["nightly"]),
            snap(2, "2024-01-01T10:00:00.5Z", "web2", &[]),
            snap(3, "2024-01-02T10:00:00Z", "web1", &["nightly", "a/b"]),
        ];
        let c = Catalog::new(&list);
        assert_eq!(names(&c, ""), ["ids", "snapshots", "hosts", "tags"]);
        assert_eq!(
            names(&c, "snapshots"),
            [
                "2024-01-01T10:00:00Z",
                "2024-01-01T10:00:00Z-1",
                "2024-01-02T10:00:00Z",
                "latest"
            ]
        );
        assert_eq!(
            c.lookup(&path("snapshots"), "latest"),
            Some(&Child::Link("2024-01-02T10:00:00Z".into()))
        );
        assert_eq!(names(&c, "hosts"), ["web1", "web2"]);
        assert_eq!(
            names(&c, "hosts/web1"),
            ["2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z", "latest"]
        );
        assert_eq!(
            c.lookup(&path("hosts/web1"), "2024-01-02T10:00:00Z"),
            Some(&Child::Snapshot(2))
        );
        assert_eq!(names(&c, "tags"), [safe_name("a/b").as_str(), "nightly"]);
        assert_eq!(names(&c, "ids")[0], Id([1; 32]).short());
        assert!(c.folder(&path("hosts/nobody")).is_none());
    }

    #[test]
    fn an_empty_store_has_empty_folders_and_no_latest() {
        let c = Catalog::new(&[]);
        assert!(names(&c, "snapshots").is_empty());
        assert!(names(&c, "hosts").is_empty());
    }

    #[test]
    fn hosts_and_tags_that_are_not_names_are_made_names() {
        assert!(safe_name("..").starts_with("_..~"));
        assert!(safe_name("").starts_with("_~"));
        assert!(safe_name("a/b").starts_with("a_b~"));
        assert_ne!(safe_name("a/b"), safe_name("a_b"));
        let lookalike = safe_name("a/b");
        assert_ne!(
            safe_name(&lookalike),
            lookalike,
            "a host named like another's changed form"
        );
        assert_eq!(safe_name("nightly"), "nightly");
        let long = "é".repeat(300);
        let name = safe_name(&long);
        assert!(name.len() <= 255 && crate::restore::names::unfit(name.as_bytes()).is_none());
        assert_ne!(name, safe_name(&"é".repeat(301)));
    }

    #[test]
    fn ids_whose_short_forms_collide_are_named_longer() {
        let mut a = Id([0xab; 32]);
        let mut b = a;
        b.0[31] = 0;
        a.0[10] = 1;
        let c = Id([1; 32]);
        let p = unique_prefixes(&[a, b, c]);
        assert_eq!(p[2], "01010101");
        assert_eq!(p[0].len(), 21);
        assert_eq!(p[1].len(), 21);
        assert_ne!(p[0], p[1]);
        assert!(a.to_string().starts_with(&p[0]));
    }
}
