//! `kloset check`: the store's own objects, not a cache of them. Every indexed pack exists and
//! is as long as the index says, every index file and snapshot opens, every snapshot's trees
//! load and every blob they name is stored in a sound pack. With `--read-data`, every pack is
//! downloaded whole and re-hashed against its name, its header compared with the index, and
//! every blob decrypted and verified; a damaged pack is recorded in the store, so the next
//! backup saves its blobs again from the source. Problems name the snapshots and files they
//! affect and what to run.

use std::collections::{BTreeMap, HashSet};

use anyhow::Result;

use crate::repo::id::Id;
use crate::repo::tree::NodeKind;
use crate::repo::walk::{child_path, Visit, WalkOptions};
use crate::repo::{IndexedRepo, Repo};

mod read_data;

pub use read_data::{classify, ReadFailure};

/// Affected files listed per snapshot, at most.
const SHOWN_FILES: usize = 10;

#[derive(Debug, Default)]
pub struct CheckReport {
    pub snapshots: usize,
    pub trees: usize,
    pub packs: usize,
    pub orphan_packs: usize,
    pub blobs_read: usize,
    pub problems: Vec<String>,
    /// What to do about the problems.
    pub advice: Vec<String>,
    /// Not failures: control objects without a valid MAC, which kloset ignores (FORMAT.md,
    /// "Control objects").
    pub warnings: Vec<String>,
    /// `--read-data`: packs that could not be read, with why; nothing is known of them, so the
    /// check is incomplete.
    pub unread: Vec<(String, String)>,
    /// `--read-data`: damage records removed because their pack verified.
    pub cleared: Vec<String>,
}

/// Which packs `check` downloads and verifies.
#[derive(Clone, Copy, Debug)]
pub enum ReadData {
    None,
    All,
    /// `n/m`: the packs whose id falls in the n-th of m slices (run 1/m ... m/m in turn).
    Slice(u32, u32),
    /// A random share of the packs, 0 < p <= 1.
    Share(f64),
}

impl ReadData {
    /// `1/10` or `5%`.
    pub fn parse_subset(text: &str) -> Option<ReadData> {
        if let Some(p) = text.strip_suffix('%') {
            let p: f64 = p.trim().parse().ok()?;
            return (p > 0.0 && p <= 100.0).then_some(ReadData::Share(p / 100.0));
        }
        let (n, m) = text.split_once('/')?;
        let (n, m): (u32, u32) = (n.trim().parse().ok()?, m.trim().parse().ok()?);
        (n >= 1 && n <= m).then_some(ReadData::Slice(n, m))
    }

    fn wants(&self, pack: &Id) -> bool {
        match *self {
            ReadData::None => false,
            ReadData::All => true,
            ReadData::Slice(n, m) => {
                u32::from_le_bytes(pack.0[..4].try_into().expect("4 bytes")) % m == n - 1
            }
            ReadData::Share(p) => rand::random::<f64>() < p,
        }
    }
}

/// Checks a repo opened without its index.
pub async fn check(repo: Repo, read: ReadData, concurrency: usize) -> Result<CheckReport> {
    // A backup committing meanwhile is either not listed or fully indexed, never reported as
    // broken.
    let refused_keys = repo.refused_keys().await?;
    let (list, repo) = repo.snapshots_then_index().await?;
    let repo = &repo;
    let mut report = CheckReport::default();
    for (key, why) in &refused_keys {
        report.problems.push(format!("key object {key} {why}"));
    }
    if !refused_keys.is_empty() {
        report.advice.push(
            "key objects that kloset did not write (planted by someone with write access, or damaged) are never tried: delete them, and find out who can write to the store".into(),
        );
    }
    let health = repo.health();
    let indexed: HashSet<String> = repo.indexed_pack_keys().into_iter().collect();
    let stored: HashSet<String> = repo
        .stored_packs()
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    report.packs = indexed.len();
    // Left by interrupted backups; harmless, and reused data is indexed by the next run.
    report.orphan_packs = stored
        .iter()
        .filter(|k| !indexed.contains(*k) && is_pack_name(k))
        .count();
    let mut partial: Vec<String> = stored
        .iter()
        .filter(|k| !is_pack_name(k))
        .cloned()
        .collect();
    partial.extend(repo.partial_pack_writes());
    if !partial.is_empty() {
        report.advice.push(format!(
            "{} partly written files under packs/ (e.g. {}) were left by a write that failed (a full disk, a crash): they hold nothing a snapshot needs and can be deleted",
            partial.len(),
            partial[0]
        ));
    }
    for (key, why) in &health.damaged_dictionaries {
        report.problems.push(format!("dictionary {key}: {why}"));
    }
    for (key, why) in &health.damaged_index {
        report.problems.push(format!("index file {key}: {why}"));
    }
    if !health.damaged_index.is_empty() {
        report.advice.push(format!(
            "the blob lists of {} packs were read again from their headers, so nothing they hold is lost; run 'kloset repair index' to write a new index file for them",
            health.recovered_packs.len()
        ));
    }
    report.snapshots = list.good.len() + list.damaged.len();
    for (id, why) in &list.damaged {
        report
            .problems
            .push(format!("snapshot {}: {why}", id.short()));
    }
    if !list.damaged.is_empty() {
        report.advice.push(
            "damaged snapshots are skipped by 'latest' and by backups choosing a parent; the others are intact".into(),
        );
    }

    report.warnings = unauthenticated_controls(repo).await?;
    let mut damaged_blobs: HashSet<Id> = HashSet::new();
    let mut sound_again: HashSet<Id> = HashSet::new();
    if !matches!(read, ReadData::None) {
        let outcome = read_data::read_packs(repo, read, concurrency).await;
        report.blobs_read = outcome.blobs_read;
        report.problems.extend(outcome.problems);
        report.unread = outcome.unread;
        report.cleared = outcome.cleared;
        damaged_blobs = outcome.damaged_blobs;
        sound_again = outcome.sound_again;
        if !report.unread.is_empty() {
            report.advice.push(format!(
                "{} packs could not be read (listed above, with why) and were not recorded as damaged: fix what stops the reads and run 'kloset check --read-data' again",
                report.unread.len()
            ));
        }
    }
    // A missing or damaged pack is a problem when a snapshot needs what only it held; once a
    // backup has stored those blobs again, it is only waiting for prune.
    let mut bad_packs: Vec<String> = health
        .missing_packs
        .iter()
        .map(|id| format!("pack {} is missing from the store", id.short()))
        .collect();
    bad_packs.extend(
        health
            .damaged_packs
            .iter()
            .filter(|(id, _)| !sound_again.contains(id))
            .map(|(id, why)| format!("pack {} is damaged: {why}", id.short())),
    );

    // A pack whose damage record was just removed holds its blobs after all.
    let readable = |blob: &Id| {
        repo.is_readable(blob)
            || repo
                .blob(blob)
                .is_some_and(|l| sound_again.contains(&repo.pack_id(l.pack)))
    };
    let roots: Vec<(Vec<u8>, Id)> = list
        .good
        .iter()
        .map(|(_, s)| (Vec::new(), s.tree))
        .collect();
    let mut trees: HashSet<Id> = roots.iter().map(|(_, t)| *t).collect();
    let mut lost: HashSet<Id> = HashSet::new();
    let opts = WalkOptions {
        once: true,
        tolerate: true,
    };
    let problems = &mut report.problems;
    repo.walk(roots, opts, |v| match v {
        Visit::Broken { tree, error, .. } => {
            problems.push(format!("tree {}: {error:#}", tree.short()));
            false
        }
        Visit::Pages { pages, .. } => {
            trees.extend(pages.iter().copied());
            false
        }
        Visit::Node { node, .. } => {
            trees.extend(node.subtree.filter(|_| node.kind == NodeKind::Dir));
            for blob in node.blobs() {
                if !readable(blob) || damaged_blobs.contains(blob) {
                    lost.insert(*blob);
                }
            }
            true
        }
    })
    .await?;
    report.trees = trees.len();
    if lost.is_empty() {
        for p in bad_packs {
            report.advice.push(format!(
                "{p}, but every blob a snapshot needs from it is stored again elsewhere"
            ));
        }
    } else {
        report.problems.extend(bad_packs);
        report.problems.push(format!(
            "{} blobs that snapshots use are missing or damaged",
            lost.len()
        ));
        affected(repo, &list.good, &lost, &mut report).await?;
    }
    Ok(report)
}

/// One warning per control object without a valid MAC, saying what kloset does with it.
async fn unauthenticated_controls(repo: &IndexedRepo) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for (prefix, treated) in [
        ("retiring", "no prune of this kloset deletes by it; the next prune removes it"),
        ("locks", "prune passes it over"),
        ("leases", "prune honours it as a lease all the same (an older kloset's backup writes no MAC); delete it if no such backup runs"),
    ] {
        for key in repo.unauthenticated_controls(prefix).await? {
            warnings.push(format!("{key} carries no valid MAC: {treated}"));
        }
    }
    for key in &repo.health().unauthenticated_damage {
        warnings.push(format!(
            "{key} carries no valid MAC: ignored (its pack counts as sound unless 'check --read-data' finds otherwise); the next prune removes it"
        ));
    }
    Ok(warnings)
}

/// `packs/xx/<64 hex>`: anything else under packs/ is a leftover of a failed write.
fn is_pack_name(key: &str) -> bool {
    key.rsplit('/').next().is_some_and(|n| Id::parse(n).is_ok())
}

/// Names the files of each snapshot that use lost blobs, and what to run.
async fn affected(
    repo: &IndexedRepo,
    snapshots: &[(Id, crate::repo::snapshot::Snapshot)],
    lost: &HashSet<Id>,
    report: &mut CheckReport,
) -> Result<()> {
    let mut by_snapshot: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (id, snap) in snapshots {
        let mut files = Vec::new();
        repo.walk(
            vec![(Vec::new(), snap.tree)],
            WalkOptions {
                once: false,
                tolerate: true,
            },
            |v| {
                if let Visit::Node { parent, node } = v {
                    if node.blobs().any(|b| lost.contains(b)) {
                        files.push(String::from_utf8_lossy(&child_path(parent, node)).into_owned());
                    }
                }
                true
            },
        )
        .await?;
        if !files.is_empty() {
            by_snapshot.insert(id.short(), (snap.source.clone(), files));
        }
    }
    for (id, (source, files)) in &by_snapshot {
        let shown: Vec<&str> = files.iter().take(SHOWN_FILES).map(String::as_str).collect();
        let more = files.len().saturating_sub(SHOWN_FILES);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        report.problems.push(format!(
            "snapshot {id} ({source}): {} files cannot be restored whole: {}{tail}",
            files.len(),
            shown.join(", ")
        ));
    }
    let sources: Vec<&str> = by_snapshot.values().map(|(s, _)| s.as_str()).collect();
    report.advice.push(format!(
        "run 'kloset backup' of {} again: blobs of missing or damaged packs are saved again from the source, and new snapshots are whole; the snapshots listed above stay as they are",
        sources.join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(first: u32) -> Id {
        let mut id = [0xeeu8; 32];
        id[..4].copy_from_slice(&first.to_le_bytes());
        Id(id)
    }

    #[test]
    fn subsets_parse_as_slices() {
        assert!(matches!(
            ReadData::parse_subset("1/10"),
            Some(ReadData::Slice(1, 10))
        ));
        assert!(matches!(
            ReadData::parse_subset("3/3"),
            Some(ReadData::Slice(3, 3))
        ));
        assert!(matches!(
            ReadData::parse_subset(" 2 / 5 "),
            Some(ReadData::Slice(2, 5))
        ));
        for bad in [
            "0/3", "4/3", "1/0", "0/0", "1/", "/3", "a/b", "1/2/3", "-1/3", "1",
        ] {
            assert!(ReadData::parse_subset(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn subsets_parse_as_shares() {
        let share = |t: &str| match ReadData::parse_subset(t) {
            Some(ReadData::Share(p)) => Some(p),
            _ => None,
        };
        assert_eq!(share("5%"), Some(0.05));
        assert_eq!(share("100%"), Some(1.0));
        assert_eq!(share("0.5%"), Some(0.005));
        assert_eq!(share(" 20 %"), Some(0.2));
        for bad in ["0%", "-5%", "100.1%", "%", "abc%", "NaN%", "inf%"] {
            assert_eq!(share(bad), None, "{bad}");
        }
    }

    #[test]
    fn slices_partition_the_packs() {
        let packs: Vec<Id> = (0..1000u32)
            .map(|i| pack(i.wrapping_mul(2_654_435_761)))
            .collect();
        let m = 7;
        for p in &packs {
            let hits = (1..=m).filter(|&n| ReadData::Slice(n, m).wants(p)).count();
            assert_eq!(hits, 1, "each pack is in exactly one slice");
        }
        let first = packs
            .iter()
            .filter(|p| ReadData::Slice(1, m).wants(p))
            .count();
        assert!(first > 100 && first < 200, "{first}");
    }

    #[test]
    fn slices_depend_on_the_first_four_bytes_of_the_id() {
        assert!(ReadData::Slice(1, 4).wants(&pack(8)));
        assert!(ReadData::Slice(2, 4).wants(&pack(9)));
        assert!(ReadData::Slice(4, 4).wants(&pack(u32::MAX)));
        assert!(ReadData::Slice(1, 1).wants(&pack(12345)));
    }

    #[test]
    fn none_all_and_full_share_are_what_they_say() {
        let p = pack(1);
        assert!(!ReadData::None.wants(&p));
        assert!(ReadData::All.wants(&p));
        assert!((0..100).all(|_| ReadData::Share(1.0).wants(&p)));
    }

    #[test]
    fn pack_names_are_64_hex_characters_under_their_directory() {
        let hex = "ab".repeat(32);
        assert!(is_pack_name(&format!("packs/ab/{hex}")));
        assert!(is_pack_name(&hex));
        assert!(!is_pack_name(&format!("packs/ab/{hex}.tmp")));
        assert!(!is_pack_name(&format!("packs/ab/.{hex}")));
        assert!(!is_pack_name("packs/ab/"));
        assert!(!is_pack_name(&format!("packs/ab/{}", &hex[..62])));
    }
}
