//! `check --read-data`: every chosen pack downloaded whole and verified. A read that fails is
//! classified first: only an integrity failure (content not matching its name, a bad header,
//! a blob that does not open) is damage and recorded in the store; a pack that could not be
//! read (access denied, an SSE-C key refused, a frozen object, the network after the
//! retries) is named with why, and the check says it is incomplete. A pack that verifies
//! loses its damage records.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use futures::{stream, StreamExt};

use crate::remote::{self, RemoteKind};
use crate::repo::id::Id;
use crate::repo::pack::read_header;
use crate::repo::{is_damage, open_blob, BlobRef, IndexedRepo};

use super::ReadData;

/// Why a pack read did not verify.
#[derive(Debug, PartialEq)]
pub enum ReadFailure {
    /// Its bytes are not what kloset wrote: recorded as damage.
    Damaged(String),
    /// Not in the store.
    Missing,
    /// Not read at all: nothing is known of its content, nothing is recorded.
    Unreadable(String),
}

/// What the read of the packs found.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    pub blobs_read: usize,
    /// Blobs found damaged (all of a damaged pack's, when the pack as a whole is).
    pub damaged_blobs: HashSet<Id>,
    /// Damaged packs: `pack <key>: why`.
    pub problems: Vec<String>,
    /// Packs not read, with why.
    pub unread: Vec<(String, String)>,
    /// Damage records removed because their pack verified.
    pub cleared: Vec<String>,
    /// Packs that had a damage record and verified: sound after all.
    pub sound_again: HashSet<Id>,
}

/// The damaged blobs of a pack read, or why it failed as a whole (with the blobs that costs).
type PackRead = Result<Vec<Id>, (Vec<Id>, ReadFailure)>;

/// Integrity failures are damage; not-found is missing; everything else (the store refused
/// or could not be reached, after the retries) says nothing about the pack's bytes.
pub fn classify(e: &anyhow::Error) -> ReadFailure {
    if is_damage(e) {
        return ReadFailure::Damaged(format!("{e:#}"));
    }
    let why = match remote::kind_of(e) {
        Some(RemoteKind::Frozen) => {
            "frozen in an archive storage class: thaw it first (see 'restore --thaw')".to_string()
        }
        Some(RemoteKind::NotFound) => return ReadFailure::Missing,
        // A whole-object read past the end: the object is shorter than it says.
        Some(RemoteKind::BadRange) => return ReadFailure::Damaged("it is truncated".into()),
        Some(RemoteKind::AccessDenied) => "access denied".to_string(),
        Some(RemoteKind::SseKey | RemoteKind::NeedsSseKey) => {
            "the server refused the SSE-C key".to_string()
        }
        Some(RemoteKind::Unreachable | RemoteKind::Tls) => {
            "the store could not be reached (after retries)".to_string()
        }
        _ => format!("the read failed after retries ({e:#})"),
    };
    ReadFailure::Unreadable(why)
}

/// Downloads the chosen packs, and every pack with a damage record (so that one that
/// verifies loses its record, even when the index reads its blobs elsewhere).
pub async fn read_packs(repo: &IndexedRepo, which: ReadData, concurrency: usize) -> ReadOutcome {
    let health = repo.health();
    let recorded: HashMap<Id, Vec<String>> =
        health
            .damage_records
            .iter()
            .fold(HashMap::new(), |mut m, (id, key)| {
                m.entry(*id).or_default().push(key.clone());
                m
            });
    // Pack by pack from the index as the reads go (never a copy of the whole index). A pack
    // read only for its damage record is read whole: a damaged one is already known (and its
    // blobs are read from elsewhere), so it is recorded again but not reported again.
    let jobs = repo
        .pack_entries_each()
        .enumerate()
        .filter_map(|(number, entry)| {
            let pack = u32::try_from(number).expect("fewer than 2^32 packs");
            let wanted = !entry.blobs.is_empty() && which.wants(&entry.id);
            if !wanted && !recorded.contains_key(&entry.id) {
                return None;
            }
            let blobs: Vec<(Id, BlobRef)> = match wanted {
                true => entry
                    .blobs
                    .iter()
                    .map(|b| {
                        let at = BlobRef {
                            pack,
                            offset: b.offset,
                            length: b.length,
                            raw_length: b.raw_length,
                        };
                        (b.id, at)
                    })
                    .collect(),
                false => Vec::new(),
            };
            Some((pack, blobs, !wanted))
        });
    let known_missing: HashSet<Id> = health.missing_packs.iter().copied().collect();
    let results: Vec<(u32, usize, bool, PackRead)> = stream::iter(jobs)
        .map(|(pack, blobs, only_for_record)| async move {
            let n = blobs.len();
            (pack, n, only_for_record, read_pack(repo, pack, blobs).await)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut out = ReadOutcome::default();
    for (pack, n, only_for_record, result) in results {
        let id = repo.pack_id(pack);
        let key = repo.pack_key_of(pack);
        let why = match result {
            Ok(bad) if bad.is_empty() => {
                out.blobs_read += n;
                if recorded.contains_key(&id) {
                    out.sound_again.insert(id);
                }
                for record in recorded.get(&id).into_iter().flatten() {
                    match repo.remove_damage_record(record).await {
                        Ok(()) => out.cleared.push(format!(
                            "pack {key} verified: its damage record {record} was removed"
                        )),
                        Err(e) => out
                            .problems
                            .push(format!("could not remove {record} ({e:#})")),
                    }
                }
                continue;
            }
            Ok(bad) => {
                out.blobs_read += n;
                let why = format!("{} blobs do not decrypt or verify", bad.len());
                out.damaged_blobs.extend(bad);
                why
            }
            Err((bad, ReadFailure::Damaged(why))) => {
                out.blobs_read += n;
                out.damaged_blobs.extend(bad);
                why
            }
            Err((_, ReadFailure::Missing)) if known_missing.contains(&id) => continue,
            Err((_, ReadFailure::Missing)) => {
                let why = "missing from the store (deleted since the listing, or lost)";
                out.unread.push((key, why.into()));
                continue;
            }
            Err((_, ReadFailure::Unreadable(why))) => {
                out.unread.push((key, why));
                continue;
            }
        };
        if !only_for_record {
            out.problems.push(format!("pack {key}: {why}"));
        }
        if let Err(e) = repo.mark_damaged(&id).await {
            out.problems
                .push(format!("could not record pack {key} as damaged: {e:#}"));
        }
    }
    out.unread.sort();
    out.cleared.sort();
    out
}

/// The ids of the pack's blobs that are damaged; Err when the pack as a whole is damaged
/// (then all of them are) or could not be read. With no blobs given, every blob its header
/// lists is verified.
async fn read_pack(repo: &IndexedRepo, pack: u32, blobs: Vec<(Id, BlobRef)>) -> PackRead {
    let all: Vec<Id> = blobs.iter().map(|(id, _)| *id).collect();
    let key = repo.pack_key_of(pack);
    let bytes = match repo.read_stored_pack(pack).await {
        Ok(Some(b)) => b,
        Ok(None) => return Err((all, ReadFailure::Missing)),
        Err(e) => return Err((all, classify(&e))),
    };
    let keys = repo.keys().clone();
    let pack_size = repo.config().pack_size;
    let name = key.rsplit('/').next().unwrap_or_default().to_string();
    let checked = tokio::task::spawn_blocking(move || {
        if Id::of_bytes(&bytes).hex() != name {
            return Err("its content does not match its name".to_string());
        }
        let header = match read_header(&keys, &bytes, pack_size) {
            Ok(Ok(h)) => h,
            Ok(Err(_)) => return Err("its header length is out of range".into()),
            Err(e) => return Err(format!("{e:#}")),
        };
        let listed: HashMap<Id, (u32, u32)> = header
            .iter()
            .map(|b| (b.id, (b.offset, b.length)))
            .collect();
        let wanted: Vec<(Id, u32, u32, u32)> = match blobs.is_empty() {
            true => header
                .iter()
                .map(|b| (b.id, b.offset, b.length, b.raw_length))
                .collect(),
            false => blobs
                .iter()
                .map(|(id, l)| (*id, l.offset, l.length, l.raw_length))
                .collect(),
        };
        let mut bad = Vec::new();
        for (id, offset, length, raw_length) in wanted {
            let in_header = listed.get(&id) == Some(&(offset, length));
            let start = offset as usize;
            let sealed = start
                .checked_add(length as usize)
                .and_then(|end| bytes.get(start..end));
            let sound =
                in_header && sealed.is_some_and(|s| open_blob(&keys, &id, s, raw_length).is_ok());
            if !sound {
                bad.push(id);
            }
        }
        Ok(bad)
    })
    .await;
    match checked {
        Ok(Ok(bad)) => Ok(bad),
        Ok(Err(why)) => Err((all, ReadFailure::Damaged(why))),
        Err(e) => Err((all, ReadFailure::Damaged(e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KlosetError;

    fn remote(kind: RemoteKind, detail: &str) -> anyhow::Error {
        remote::error("store s3://h/b", kind, detail).context("reading packs/ab/abcd")
    }

    #[test]
    fn integrity_failures_are_damage() {
        let e = anyhow::Error::from(KlosetError::Integrity("pack x is damaged".into()))
            .context("reading");
        assert!(matches!(classify(&e), ReadFailure::Damaged(_)));
        let short = remote(RemoteKind::BadRange, "416");
        assert!(matches!(classify(&short), ReadFailure::Damaged(_)));
    }

    #[test]
    fn not_found_is_missing_not_damage() {
        let e = remote(RemoteKind::NotFound, "the server answered 404 NoSuchKey");
        assert_eq!(classify(&e), ReadFailure::Missing);
    }

    #[test]
    fn refusals_and_outages_are_unreadable_with_their_reason() {
        let reason = |e: anyhow::Error| match classify(&e) {
            ReadFailure::Unreadable(why) => why,
            other => panic!("{other:?}"),
        };
        let denied = reason(remote(
            RemoteKind::AccessDenied,
            "get: the server answered 403 AccessDenied",
        ));
        assert!(denied.contains("access denied"), "{denied}");
        let frozen = reason(remote(
            RemoteKind::Frozen,
            "get: the server answered 403 InvalidObjectState",
        ));
        assert!(frozen.contains("frozen"), "{frozen}");
        let sse = reason(remote(RemoteKind::SseKey, "400"));
        assert!(sse.contains("SSE-C"), "{sse}");
        let down = reason(remote(RemoteKind::Unreachable, "connection refused"));
        assert!(down.contains("could not be reached"), "{down}");
        let busy = reason(remote(
            RemoteKind::Other,
            "the server answered 503 SlowDown",
        ));
        assert!(busy.contains("503"), "{busy}");
        let plain = reason(anyhow::anyhow!("timed out"));
        assert!(plain.contains("timed out"), "{plain}");
    }
}
