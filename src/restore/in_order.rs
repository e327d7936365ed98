//! File content in the order it is written (`cat`, `dump`): runs of consecutive blobs read
//! together through the store's coalesced ranged reads, grouped by pack, handed out in order.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;

use futures::{stream, StreamExt};

use super::feed::{is_damage, Reader};
use super::units::{read_units, Use};
use crate::error::KlosetError;
use crate::remote;
use crate::repo::id::Id;
use crate::repo::{open_blob, IndexedRepo};

/// Bytes of content an in-order reader (`cat`, `dump`) reads ahead of its writer: the run of
/// consecutive blobs read together, grouped by pack.
const IN_ORDER_WINDOW: u64 = 32 * 1024 * 1024;

/// File content in order; see `Reader::in_order`.
pub struct InOrder {
    pub(super) repo: Arc<IndexedRepo>,
    pub(super) concurrency: usize,
    /// (file, blob), in the order they are written.
    pub(super) blobs: Vec<(usize, Id)>,
    /// The first blob not yet read.
    pub(super) next: usize,
    /// Blobs read, in order, not yet taken.
    pub(super) ready: VecDeque<(usize, Result<Bytes>)>,
}

impl InOrder {
    /// The next blob of file `file`'s content (an index into the files given); None when the
    /// file has no more. Blobs of earlier files not taken are passed over.
    pub async fn next_of(&mut self, file: usize) -> Option<Result<Bytes>> {
        loop {
            match self.ready.front() {
                None if self.next >= self.blobs.len() => return None,
                None => self.read_window().await,
                Some((f, _)) if *f < file => {
                    self.ready.pop_front();
                }
                Some((f, _)) if *f == file => return self.ready.pop_front().map(|(_, r)| r),
                Some(_) => return None,
            }
        }
    }

    /// Reads the next run of blobs, up to the window (at least one blob).
    async fn read_window(&mut self) {
        let start = self.next;
        let (mut end, mut bytes) = (start, 0u64);
        while end < self.blobs.len() {
            let size = self
                .repo
                .blob(&self.blobs[end].1)
                .map_or(0, |l| l.raw_length as u64);
            if end > start && bytes + size > IN_ORDER_WINDOW {
                break;
            }
            bytes += size;
            end += 1;
        }
        self.next = end;
        let mut slots: Vec<Option<Result<Bytes>>> = (start..end).map(|_| None).collect();
        let mut by_pack: HashMap<u32, HashMap<Id, Use>> = HashMap::new();
        for (k, (_, id)) in self.blobs[start..end].iter().enumerate() {
            match self.repo.blob(id) {
                Some(loc) => by_pack
                    .entry(loc.pack)
                    .or_default()
                    .entry(*id)
                    .or_insert_with(|| Use {
                        id: *id,
                        loc,
                        targets: Vec::new(),
                    })
                    .targets
                    .push((k, 0)),
                None => slots[k] = Some(Err(KlosetError::Integrity(format!(
                    "blob {} is in no index file: run 'kloset check', then 'kloset repair index' if a pack still holds it",
                    id.short()
                ))
                .into())),
            }
        }
        let reader = Reader::new(self.repo.clone(), self.concurrency);
        let repo = &self.repo;
        let read: Vec<Vec<(Vec<usize>, Result<Bytes>)>> =
            stream::iter(read_units(by_pack, reader.unit()))
                .map(|(pack, blobs)| async move {
                    let ranges: Vec<_> = blobs.iter().map(|b| b.loc.range()).collect();
                    let targets =
                        |b: &Use| b.targets.iter().map(|&(k, _)| k).collect::<Vec<usize>>();
                    let all: Vec<usize> = blobs.iter().flat_map(targets).collect();
                    let data = match repo.read_pack_ranges(pack, &ranges).await {
                        Ok(d) => d,
                        // A failing server: its error for all.
                        Err(e) if remote::kind_of(&e).is_some() && !is_damage(&e) => {
                            return vec![(all, Err(e))]
                        }
                        // Damaged data: each blob read alone, in the order they are written,
                        // so the first to fail fails as it would on its own (the writer stops
                        // there; the later ones get its text).
                        Err(_) => {
                            let mut blobs = blobs;
                            blobs.sort_by_key(|b| b.targets.iter().map(|t| t.0).min());
                            let mut out = Vec::new();
                            let mut failed: Option<String> = None;
                            for b in &blobs {
                                if let Some(text) = &failed {
                                    out.push((targets(b), Err(anyhow::anyhow!("{text}"))));
                                    continue;
                                }
                                let one = repo.read_pack_ranges(pack, &[b.loc.range()]).await;
                                let plain = one.and_then(|mut d| {
                                    let sealed = d.pop().unwrap_or_default();
                                    open_blob(repo.keys(), &b.id, &sealed, b.loc.raw_length)
                                        .map(Bytes::from)
                                });
                                if let Err(e) = &plain {
                                    failed = Some(format!("{e:#}"));
                                }
                                out.push((targets(b), plain));
                            }
                            return out;
                        }
                    };
                    let keys = repo.keys().clone();
                    let opened = tokio::task::spawn_blocking(move || {
                        blobs
                            .iter()
                            .zip(data)
                            .map(|(b, sealed)| {
                                let plain = open_blob(&keys, &b.id, &sealed, b.loc.raw_length)
                                    .map(Bytes::from);
                                (targets(b), plain)
                            })
                            .collect::<Vec<_>>()
                    })
                    .await;
                    opened.unwrap_or_else(|e| vec![(all, Err(e.into()))])
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        for (mut targets, outcome) in read.into_iter().flatten() {
            targets.sort_unstable();
            match outcome {
                Ok(data) => {
                    for k in targets {
                        slots[k] = Some(Ok(data.clone()));
                    }
                }
                // The first place in order gets the error itself (its kind decides the exit
                // status), the others its text: a writer stops at the first.
                Err(e) => {
                    let text = format!("{e:#}");
                    let mut e = Some(e);
                    for k in targets {
                        let err = e.take().unwrap_or_else(|| anyhow::anyhow!("{text}"));
                        slots[k] = Some(Err(err));
                    }
                }
            }
        }
        for (k, slot) in slots.into_iter().enumerate() {
            let outcome = slot.expect("every blob of the window was read or failed");
            self.ready.push_back((self.blobs[start + k].0, outcome));
        }
    }
}
