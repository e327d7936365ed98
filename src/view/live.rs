//! A store as a long-running browser sees it: the snapshots a filter selects, their catalog,
//! and an index that covers them. Looked at again when older than a refresh period, so a
//! backup made meanwhile appears; the index is loaded again only when the snapshots or the
//! index files changed. The look is taken in the background: reads go on with the view
//! there is, and never wait on a slow store's listing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::catalog::Catalog;
use crate::ops::forget::Filter;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::{IndexedRepo, Repo};

/// One consistent view: every snapshot listed here was listed before the index was loaded,
/// so the index covers it (a snapshot is written after its packs are indexed).
pub struct View {
    pub repo: Arc<IndexedRepo>,
    pub snapshots: Vec<(Id, Snapshot)>,
    pub catalog: Catalog,
}

impl View {
    /// A snapshot of this view by id prefix, or `latest`.
    pub fn find(&self, prefix: &str) -> Option<&(Id, Snapshot)> {
        if prefix == "latest" {
            return self.snapshots.last();
        }
        let mut hits = self
            .snapshots
            .iter()
            .filter(|(id, _)| id.to_string().starts_with(prefix));
        let first = hits.next()?;
        hits.next().is_none().then_some(first)
    }
}

pub struct Live {
    filter: Filter,
    every: Duration,
    /// The view, and when the store was last looked at for it.
    state: Mutex<(Arc<View>, Instant)>,
    refreshing: AtomicBool,
}

impl Live {
    pub async fn new(repo: Repo, filter: Filter, every: Duration) -> Result<Arc<Live>> {
        let view = Self::build(repo, &filter).await?;
        Ok(Arc::new(Live {
            filter,
            every,
            state: Mutex::new((Arc::new(view), Instant::now())),
            refreshing: AtomicBool::new(false),
        }))
    }

    /// The current view. Once it is older than the refresh period, one look at the store
    /// starts in the background and swaps a new view in when it is done; a failure keeps
    /// the view there was (the store may be briefly unreachable).
    pub async fn view(self: &Arc<Self>) -> Arc<View> {
        let (current, stale) = match self.state.lock() {
            Ok(mut s) => {
                let stale = s.1.elapsed() >= self.every;
                if stale {
                    s.1 = Instant::now();
                }
                (s.0.clone(), stale)
            }
            Err(p) => return p.into_inner().0.clone(),
        };
        if stale && !self.refreshing.swap(true, Ordering::AcqRel) {
            let live = self.clone();
            tokio::spawn(async move {
                if let Ok(Some(next)) = live.refreshed(&current).await {
                    if let Ok(mut s) = live.state.lock() {
                        s.0 = Arc::new(next);
                        // The period counts from when the new view is there.
                        s.1 = Instant::now();
                    }
                }
                live.refreshing.store(false, Ordering::Release);
            });
        }
        self.current()
    }

    fn current(&self) -> Arc<View> {
        match self.state.lock() {
            Ok(s) => s.0.clone(),
            Err(p) => p.into_inner().0.clone(),
        }
    }

    async fn refreshed(&self, current: &View) -> Result<Option<View>> {
        let fresh = current.repo.reopen();
        let mut listed = fresh.snapshots().await?;
        listed.retain(|(_, s)| self.filter.matches(s));
        let same = listed.len() == current.snapshots.len()
            && listed
                .iter()
                .zip(&current.snapshots)
                .all(|(a, b)| a.0 == b.0);
        // A prune repacks without changing which snapshots there are: an index whose files
        // are gone names packs that are gone too.
        // Damaged files count as seen, or one of them would reload the index every time.
        if same && fresh.stored_index_keys().await? == current.repo.index_keys_seen() {
            return Ok(None);
        }
        Ok(Some(Self::build(fresh, &self.filter).await?))
    }

    /// Snapshots are listed before the index is loaded, as every reader does, so that the
    /// index covers each snapshot listed.
    async fn build(repo: Repo, filter: &Filter) -> Result<View> {
        let (list, repo) = repo.snapshots_then_index().await?;
        let mut snapshots = list.good;
        snapshots.retain(|(_, s)| filter.matches(s));
        let catalog = Catalog::new(&snapshots);
        Ok(View {
            repo: Arc::new(repo),
            snapshots,
            catalog,
        })
    }
}
