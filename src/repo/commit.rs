//! The one commit: how backup and sync make a snapshot visible (FORMAT.md, "Commit").
//! Just before the snapshot object is written, every pack it refers to, those this run wrote
//! and those it reused from the index, is checked against one listing of `packs/` and one of
//! the prune marks. A snapshot never names a pack that is gone, nor one that a prune may delete
//! without having seen this writer's lease.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::id::Id;
use super::maintenance::Mark;
use super::snapshot::Snapshot;
use super::{IndexedRepo, Repo};
use crate::error::KlosetError;
use crate::kill_point;

/// The packs a snapshot about to be committed refers to.
#[derive(Default)]
pub struct CommitRefs {
    /// Packs of the loaded index (by number) the run reused.
    pub reused: Vec<u32>,
    /// Packs the run wrote itself.
    pub written: Vec<Id>,
}

/// What the lease of the committing writer guarantees.
#[derive(Clone, Copy)]
pub struct LeaseView {
    pub started: DateTime<Utc>,
    /// Renewed on time all along: every prune since the start has seen it.
    pub intact: bool,
    /// The server's time of the renewal this view comes from.
    pub renewed: DateTime<Utc>,
}

/// Between the renewal before the checks and the one after the snapshot was written, at most
/// this much server time may pass; past it the lease may have looked stale to a prune in
/// between, and the checks are made again.
const COMMIT_WINDOW: chrono::Duration = chrono::Duration::minutes(4);
/// Server timestamps have a second's resolution: a mark stamped within this of the lease's
/// start may have come first, and no prune was bound to spare it.
const MARGIN: chrono::Duration = chrono::Duration::seconds(5);

/// Why a commit must not happen, if it must not: packs that are gone, and marked packs that
/// no live lease of ours protected (marked before we started, or while our lease lapsed).
/// Every mark counts here, with or without a MAC, and its oldest: a prune of a kloset older
/// than MACs deletes by marks without one, and this prune by its newest authentic mark, never
/// older than the oldest of all.
pub fn refusal(
    refs: &HashSet<Id>,
    stored: &HashSet<Id>,
    marks: &HashMap<Id, Mark>,
    lease: LeaseView,
) -> Option<String> {
    let gone = refs.iter().filter(|p| !stored.contains(p)).count();
    let exposed = refs
        .iter()
        .filter(|p| stored.contains(p))
        .filter(|p| {
            marks
                .get(p)
                .is_some_and(|m| !lease.intact || m.first < lease.started + MARGIN)
        })
        .count();
    match (gone, exposed) {
        (0, 0) => None,
        (g, 0) => Some(format!(
            "{g} packs this snapshot refers to were deleted while it was being written (by a prune, or by hand)"
        )),
        (g, e) => Some(format!(
            "{} packs this snapshot refers to were deleted or marked for deletion by a prune while it was being written",
            g + e
        )),
    }
}

impl Repo {}

impl IndexedRepo {
    /// Writes the snapshot if everything it refers to is there and safe from prune; else
    /// writes nothing and says so (`CommitRefused`). Needs the writer's lease.
    pub async fn commit(&self, snapshot: &Snapshot, refs: &CommitRefs) -> Result<Id> {
        let before = self
            .renew_lease()
            .await?
            .ok_or_else(|| anyhow::anyhow!("internal: a commit without a lease"))?;
        let mut wanted: HashSet<Id> = refs.written.iter().copied().collect();
        wanted.extend(refs.reused.iter().map(|&n| self.pack_id(n)));
        if let Some(why) = self.exposed(&wanted, before).await? {
            return Err(KlosetError::CommitRefused(why).into());
        }
        kill_point::here("commit:checked");
        let id = self.save_snapshot(snapshot).await?;
        kill_point::here("commit:saved");
        // A writer that paused between the checks and the write (a suspended laptop) may
        // have looked dead to a prune meanwhile: then it checks again, and takes its snapshot
        // back if what it names was deleted or marked under it.
        // An error here (the network still waking up) counts as a lapse: the snapshot is taken
        // back rather than left unchecked.
        let after = self.renew_lease().await.ok().flatten();
        let held = after.is_some_and(|a| a.intact && a.renewed - before.renewed <= COMMIT_WINDOW);
        if !held {
            let lapsed = LeaseView {
                intact: false,
                ..after.unwrap_or(before)
            };
            let why = match self.exposed(&wanted, lapsed).await {
                Ok(None) => return Ok(id),
                Ok(Some(why)) => why,
                Err(e) => format!("its packs could not be checked again after a pause ({e:#})"),
            };
            self.delete_snapshot(&id).await?;
            return Err(KlosetError::CommitRefused(why).into());
        }
        Ok(id)
    }

    /// Why the packs in `wanted` cannot be named by a snapshot now, if they cannot. Marks are
    /// listed before and after the packs: prune deletes a pack before its marks, so a pack
    /// seen in the listing has its mark in one of the two.
    async fn exposed(&self, wanted: &HashSet<Id>, lease: LeaseView) -> Result<Option<String>> {
        if wanted.is_empty() {
            return Ok(None);
        }
        let mut marks = self.current_marks().await?;
        let stored: HashSet<Id> = self
            .stored_packs()
            .await?
            .iter()
            .filter_map(|(k, _)| super::load::id_of_key(k))
            .collect();
        for (id, mark) in self.current_marks().await? {
            let m = marks.entry(id).or_insert(mark.clone());
            m.first = m.first.min(mark.first);
        }
        Ok(refusal(wanted, &stored, &marks, lease))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }
    fn id(n: u8) -> Id {
        Id([n; 32])
    }
    fn mark(ms: i64) -> Mark {
        Mark {
            keys: vec![],
            at: at(ms),
            first: at(ms),
        }
    }
    fn lease(started: i64, intact: bool) -> LeaseView {
        LeaseView {
            started: at(started),
            intact,
            renewed: at(started),
        }
    }

    #[test]
    fn everything_there_and_unmarked_commits() {
        let refs = HashSet::from([id(1), id(2)]);
        let stored = HashSet::from([id(1), id(2), id(3)]);
        assert_eq!(
            refusal(&refs, &stored, &HashMap::new(), lease(0, true)),
            None
        );
    }

    #[test]
    fn a_missing_pack_refuses() {
        let refs = HashSet::from([id(1), id(2)]);
        let stored = HashSet::from([id(1)]);
        let why = refusal(&refs, &stored, &HashMap::new(), lease(0, true)).unwrap();
        assert!(why.starts_with("1 packs"), "{why}");
    }

    #[test]
    fn a_mark_made_after_our_start_is_covered_by_the_lease() {
        let refs = HashSet::from([id(1)]);
        let stored = refs.clone();
        let marks = HashMap::from([(id(1), mark(7_000))]);
        assert_eq!(refusal(&refs, &stored, &marks, lease(1_000, true)), None);
        // Within the margin of the start (one-second stamps): it may have come first.
        let close = HashMap::from([(id(1), mark(4_000))]);
        assert!(refusal(&refs, &stored, &close, lease(1_000, true)).is_some());
    }

    #[test]
    fn a_mark_older_than_our_lease_refuses() {
        // Listing lag hid it when the index was loaded: no prune had to spare it for us.
        let refs = HashSet::from([id(1)]);
        let stored = refs.clone();
        let marks = HashMap::from([(id(1), mark(500))]);
        assert!(refusal(&refs, &stored, &marks, lease(1_000, true)).is_some());
    }

    #[test]
    fn any_mark_refuses_when_the_lease_lapsed() {
        let refs = HashSet::from([id(1)]);
        let stored = refs.clone();
        let marks = HashMap::from([(id(1), mark(5_000))]);
        assert!(refusal(&refs, &stored, &marks, lease(1_000, false)).is_some());
        // Unmarked packs are fine even then: nothing can delete an unmarked indexed pack.
        assert_eq!(
            refusal(&refs, &stored, &HashMap::new(), lease(1_000, false)),
            None
        );
    }

    #[test]
    fn the_oldest_mark_decides_even_when_a_newer_one_is_there() {
        // A planted mark newer than our start must not hide an older one a prune acts on.
        let refs = HashSet::from([id(1)]);
        let stored = refs.clone();
        let two = Mark {
            keys: vec![],
            at: at(9_000),
            first: at(500),
        };
        let marks = HashMap::from([(id(1), two)]);
        assert!(refusal(&refs, &stored, &marks, lease(1_000, true)).is_some());
    }

    #[test]
    fn marks_of_other_packs_do_not_matter() {
        let refs = HashSet::from([id(1)]);
        let stored = HashSet::from([id(1), id(2)]);
        let marks = HashMap::from([(id(2), mark(0))]);
        assert_eq!(refusal(&refs, &stored, &marks, lease(1_000, false)), None);
    }
}
