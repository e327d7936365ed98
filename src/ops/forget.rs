//! `rm` and `forget`: removing snapshots. Only snapshot objects are deleted; the data they
//! alone referenced stays until a prune, so both are cheap and cannot damage other snapshots.

use anyhow::Result;
use serde::Serialize;

use super::retention::{self, Candidate, Decision, Policy};
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::Repo;

/// Which snapshots a command considers: every given filter must match.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub host: Option<String>,
    pub tags: Vec<String>,
    /// A source as given to `backup`, one of its paths, or its stored key (`fs:host:/path`).
    pub source: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.tags.is_empty() && self.source.is_none()
    }

    /// For messages: `(host web1, tag nightly)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.host {
            parts.push(format!("host {h}"));
        }
        for t in &self.tags {
            parts.push(format!("tag {t}"));
        }
        if let Some(s) = &self.source {
            parts.push(format!("source {s}"));
        }
        format!("({})", parts.join(", "))
    }

    pub fn matches(&self, snap: &Snapshot) -> bool {
        self.host.as_ref().is_none_or(|h| &snap.host == h)
            && self.tags.iter().all(|t| snap.tags.contains(t))
            && self.source.as_ref().is_none_or(|s| {
                &snap.source == s || &snap.source_key == s || snap.paths.contains(s)
            })
    }
}

/// What snapshots are grouped by before the policy applies to each group.
#[derive(Clone, Copy, Debug)]
pub struct GroupBy {
    pub host: bool,
    pub source: bool,
    pub tags: bool,
}

impl GroupBy {
    /// `host,source` (the default), any subset of `host`, `source`, `tags`, or `` for one group.
    pub fn parse(text: &str) -> Option<GroupBy> {
        let mut g = GroupBy {
            host: false,
            source: false,
            tags: false,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" => g.host = true,
                "source" | "path" | "paths" => g.source = true,
                "tags" => g.tags = true,
                _ => return None,
            }
        }
        Some(g)
    }

    fn key(&self, snap: &Snapshot) -> GroupKey {
        let mut tags = snap.tags.clone();
        tags.sort();
        GroupKey {
            host: self.host.then(|| snap.host.clone()),
            // The stored key, so that an S3 source and a directory of the same name stay apart.
            // Grouped by host too, a filesystem key without its host part (older `--host`
            // backups were keyed by the machine's name); else the key whole, so that two
            // hosts' backups of one path stay two groups.
            source: self.source.then(|| match self.host {
                true => crate::ops::backup::source_of_key(&snap.source_key),
                false => snap.source_key.clone(),
            }),
            tags: self.tags.then_some(tags),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GroupKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

#[derive(Serialize)]
pub struct Judged {
    pub id: Id,
    pub time: chrono::DateTime<chrono::Utc>,
    pub source: String,
    #[serde(flatten)]
    pub decision: Decision,
}

#[derive(Serialize)]
pub struct Group {
    pub group: GroupKey,
    pub keep: Vec<Judged>,
    pub remove: Vec<Judged>,
}

/// Applies the policy to each group of the snapshots the filter selects, newest first.
pub fn plan(
    snaps: Vec<(Id, Snapshot)>,
    policy: &Policy,
    filter: &Filter,
    group_by: GroupBy,
) -> Vec<Group> {
    let mut groups: std::collections::BTreeMap<GroupKey, Vec<(Id, Snapshot)>> = Default::default();
    for (id, snap) in snaps.into_iter().filter(|(_, s)| filter.matches(s)) {
        groups
            .entry(group_by.key(&snap))
            .or_default()
            .push((id, snap));
    }
    groups
        .into_iter()
        .map(|(key, mut members)| {
            members.sort_by(|a, b| b.1.time.cmp(&a.1.time).then(a.0.cmp(&b.0)));
            let decisions = decide_counting_copies_once(policy, &members);
            let mut group = Group {
                group: key,
                keep: Vec::new(),
                remove: Vec::new(),
            };
            for ((id, snap), decision) in members.into_iter().zip(decisions) {
                let judged = Judged {
                    id,
                    time: snap.time,
                    source: snap.source,
                    decision,
                };
                if judged.decision.keep {
                    group.keep.push(judged);
                } else {
                    group.remove.push(judged);
                }
            }
            group
        })
        .collect()
}

/// Copies and versions of one snapshot (the same `original`: two syncs or a sync and its
/// source leave copies, tag and rewrite versions) count once: the policy sees the newest in
/// time of each (a planted version dated long ago cannot make a restore point look old) with
/// the tags of all, and every copy and version follows its decision, so that a restore point
/// is kept or removed whole.
fn decide_counting_copies_once(policy: &Policy, members: &[(Id, Snapshot)]) -> Vec<Decision> {
    let origin = |(id, s): &(Id, Snapshot)| s.original.unwrap_or(*id);
    let mut first_of: std::collections::HashMap<Id, usize> = Default::default();
    let mut representatives: Vec<&(Id, Snapshot)> = Vec::new();
    let slot: Vec<usize> = members
        .iter()
        .map(|m| {
            let i = *first_of.entry(origin(m)).or_insert_with(|| {
                representatives.push(m);
                representatives.len() - 1
            });
            i
        })
        .collect();
    // Every tag any copy or version carries counts for `--keep-tag`: versions made apart (two
    // hosts tagging at once) are kept for any of them, never removed for one's lack.
    let mut tags: Vec<Vec<String>> = vec![Vec::new(); representatives.len()];
    for (m, &i) in members.iter().zip(&slot) {
        for t in &m.1.tags {
            if !tags[i].contains(t) {
                tags[i].push(t.clone());
            }
        }
    }
    let candidates: Vec<Candidate> = representatives
        .iter()
        .zip(&tags)
        .map(|((_, s), tags)| Candidate { time: s.time, tags })
        .collect();
    let decisions = retention::apply(policy, &candidates);
    slot.into_iter().map(|i| decisions[i].clone()).collect()
}

/// Deletes snapshot objects; what only they referenced is reclaimed by a later prune.
pub async fn remove(repo: &Repo, ids: &[Id]) -> Result<()> {
    for id in ids {
        repo.delete_snapshot(id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod copies_tests {
    use super::*;

    fn snap(secs: i64, original: Option<Id>) -> Snapshot {
        Snapshot {
            original,
            ..crate::repo::snapshot::for_tests(secs)
        }
    }

    #[test]
    fn two_copies_of_the_newest_count_once_and_both_stay() {
        let newest = Id([9; 32]);
        // Newest first, as `plan` orders them: two copies of one snapshot, then an older one.
        let members = vec![
            (Id([1; 32]), snap(300, Some(newest))),
            (Id([2; 32]), snap(300, Some(newest))),
            (Id([3; 32]), snap(100, None)),
        ];
        let policy = Policy {
            last: Some(2),
            ..Default::default()
        };
        let d = decide_counting_copies_once(&policy, &members);
        assert!(d.iter().all(|d| d.keep), "the older restore point stays");
        let policy = Policy {
            last: Some(1),
            ..Default::default()
        };
        let d = decide_counting_copies_once(&policy, &members);
        assert_eq!(
            d.iter().map(|d| d.keep).collect::<Vec<_>>(),
            [true, true, false]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::{TimeZone, Utc};

    fn snap(host: &str, key: &str, tags: &[&str], day: u32) -> Snapshot {
        Snapshot {
            time: Utc.with_ymd_and_hms(2024, 1, day, 12, 0, 0).unwrap(),
            host: host.into(),
            user: "u".into(),
            source: key.rsplit(':').next().unwrap().into(),
            source_key: key.into(),
            paths: vec![key.rsplit(':').next().unwrap().into()],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            tree: Id::default(),
            parent: None,
            original: None,
            version: 0,
            summary: Default::default(),
            extra: Default::default(),
        }
    }

    fn with_ids(snaps: Vec<Snapshot>) -> Vec<(Id, Snapshot)> {
        snaps
            .into_iter()
            .enumerate()
            .map(|(i, s)| (Id([i as u8 + 1; 32]), s))
            .collect()
    }

    fn last(n: usize) -> Policy {
        Policy {
            last: Some(n),
            ..Policy::default()
        }
    }

    #[test]
    fn group_by_parses_any_subset() {
        let g = GroupBy::parse("host,source").unwrap();
        assert!(g.host && g.source && !g.tags);
        let g = GroupBy::parse(" tags , host ").unwrap();
        assert!(g.host && !g.source && g.tags);
        let g = GroupBy::parse("paths").unwrap();
        assert!(g.source, "restic's name for it");
        assert!(GroupBy::parse("path").unwrap().source);
        let g = GroupBy::parse("").unwrap();
        assert!(!g.host && !g.source && !g.tags, "one group");
        assert!(GroupBy::parse(",,").is_some());
    }

    #[test]
    fn group_by_refuses_unknown_fields() {
        for bad in ["hosts", "Host", "host;source", "user", "host,time"] {
            assert!(GroupBy::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_empty_filter_matches_every_snapshot() {
        let f = Filter::default();
        assert!(f.is_empty());
        assert_eq!(f.describe(), "()");
        assert!(f.matches(&snap("h", "fs:h:/a", &[], 1)));
    }

    #[test]
    fn filters_need_every_condition() {
        let f = Filter {
            host: Some("web1".into()),
            tags: vec!["a".into(), "b".into()],
            source: None,
        };
        assert!(!f.is_empty());
        assert_eq!(f.describe(), "(host web1, tag a, tag b)");
        assert!(f.matches(&snap("web1", "fs:web1:/x", &["b", "a", "c"], 1)));
        assert!(!f.matches(&snap("web1", "fs:web1:/x", &["a"], 1)));
        assert!(!f.matches(&snap("web2", "fs:web2:/x", &["a", "b"], 1)));
    }

    #[test]
    fn a_source_filter_takes_the_given_source_its_key_or_a_path() {
        let mut s = snap("h", "fs:h:/srv", &[], 1);
        s.source = "./srv".into();
        s.paths = vec!["/srv".into(), "/etc".into()];
        for given in ["./srv", "fs:h:/srv", "/srv", "/etc"] {
            let f = Filter {
                source: Some(given.into()),
                ..Filter::default()
            };
            assert!(f.matches(&s), "{given}");
        }
        let f = Filter {
            source: Some("/sr".into()),
            ..Filter::default()
        };
        assert!(!f.matches(&s), "no prefix matching");
        assert_eq!(f.describe(), "(source /sr)");
    }

    #[test]
    fn plan_groups_by_host_and_source_and_applies_the_policy_to_each() {
        let snaps = with_ids(vec![
            snap("a", "fs:a:/x", &[], 1),
            snap("a", "fs:a:/x", &[], 2),
            snap("a", "fs:a:/y", &[], 3),
            snap("b", "fs:b:/x", &[], 4),
            snap("b", "fs:b:/x", &[], 5),
        ]);
        let g = plan(
            snaps,
            &last(1),
            &Filter::default(),
            GroupBy::parse("host,source").unwrap(),
        );
        assert_eq!(g.len(), 3);
        let summary: Vec<(Option<String>, usize, usize)> = g
            .iter()
            .map(|g| (g.group.source.clone(), g.keep.len(), g.remove.len()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("fs:/x".into()), 1, 1),
                (Some("fs:/y".into()), 1, 0),
                (Some("fs:/x".into()), 1, 1)
            ]
        );
        assert_eq!(g[0].keep[0].time.format("%d").to_string(), "02");
        assert_eq!(g[0].group.host.as_deref(), Some("a"));
        assert!(g[0].group.tags.is_none());
    }

    #[test]
    fn plan_with_no_grouping_puts_everything_in_one_group() {
        let snaps = with_ids(vec![
            snap("a", "fs:a:/x", &[], 1),
            snap("b", "fs:b:/y", &[], 2),
            snap("c", "fs:c:/z", &[], 3),
        ]);
        let g = plan(
            snaps,
            &last(2),
            &Filter::default(),
            GroupBy::parse("").unwrap(),
        );
        assert_eq!(g.len(), 1);
        assert_eq!((g[0].keep.len(), g[0].remove.len()), (2, 1));
        assert_eq!(g[0].remove[0].source, "/x");
    }

    #[test]
    fn grouping_by_tags_ignores_their_order() {
        let snaps = with_ids(vec![
            snap("a", "fs:a:/x", &["b", "a"], 1),
            snap("a", "fs:a:/x", &["a", "b"], 2),
            snap("a", "fs:a:/x", &["a"], 3),
        ]);
        let g = plan(
            snaps,
            &last(1),
            &Filter::default(),
            GroupBy::parse("tags").unwrap(),
        );
        assert_eq!(g.len(), 2);
        let ab = g
            .iter()
            .find(|g| g.group.tags.as_deref() == Some(&["a".to_string(), "b".to_string()][..]))
            .unwrap();
        assert_eq!((ab.keep.len(), ab.remove.len()), (1, 1));
    }

    #[test]
    fn plan_leaves_snapshots_outside_the_filter_alone() {
        let snaps = with_ids(vec![
            snap("a", "fs:a:/x", &[], 1),
            snap("a", "fs:a:/x", &[], 2),
            snap("b", "fs:b:/x", &[], 3),
        ]);
        let f = Filter {
            host: Some("a".into()),
            ..Filter::default()
        };
        let g = plan(snaps, &last(0), &f, GroupBy::parse("host").unwrap());
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].remove.len(), 2, "b's snapshot is not even listed");
    }

    #[test]
    fn plan_lists_each_group_newest_first_with_ties_broken_by_id() {
        let mut snaps = with_ids(vec![
            snap("a", "fs:a:/x", &[], 1),
            snap("a", "fs:a:/x", &[], 3),
            snap("a", "fs:a:/x", &[], 3),
            snap("a", "fs:a:/x", &[], 2),
        ]);
        snaps.reverse();
        let g = plan(
            snaps,
            &last(10),
            &Filter::default(),
            GroupBy::parse("").unwrap(),
        );
        let order: Vec<u8> = g[0].keep.iter().map(|j| j.id.0[0]).collect();
        assert_eq!(order, [2, 3, 4, 1]);
        assert!(g[0]
            .keep
            .iter()
            .all(|j| j.decision.reasons == ["last snapshot"]));
    }

    #[test]
    fn judged_entries_serialise_with_their_reasons_inline() {
        let snaps = with_ids(vec![snap("a", "fs:a:/x", &[], 1)]);
        let g = plan(
            snaps,
            &last(1),
            &Filter::default(),
            GroupBy::parse("host").unwrap(),
        );
        let v = serde_json::to_value(&g[0]).unwrap();
        assert_eq!(v["group"], serde_json::json!({"host": "a"}));
        assert_eq!(v["keep"][0]["keep"], true);
        assert_eq!(v["keep"][0]["reasons"][0], "last snapshot");
        assert_eq!(v["keep"][0]["source"], "/x");
        assert_eq!(v["remove"], serde_json::json!([]));
    }
}
