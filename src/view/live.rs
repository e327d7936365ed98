//! A store as a long-running browser sees it: the snapshots a filter selects, their catalog,
//! and an index that covers them. Looked at again when older than a refresh period, so a
//! backup made meanwhile appears; the index is loaded again only when the snapshots changed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::Mutex;

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
    state: Mutex<(Arc<View>, Instant)>,
}

impl Live {
    pub async fn new(repo: Repo, filter: Filter, every: Duration) -> Result<Live> {
        let view = Self::build(repo, &filter).await?;
        Ok(Live {
            filter,
            every,
            state: Mutex::new((Arc::new(view), Instant::now())),
        })
    }

    /// The current view, looked at again first when older than the refresh period. A
    /// failure to refresh keeps the view there was (the store may be briefly unreachable).
    pub async fn view(&self) -> Arc<View> {
        let mut state = self.state.lock().await;
        if state.1.elapsed() >= self.every {
            state.1 = Instant::now();
            if let Ok(Some(next)) = self.refreshed(&state.0).await {
                state.0 = Arc::new(next);
            }
        }
        state.0.clone()
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
        let mut loaded = current.repo.index_keys().to_vec();
        loaded.sort();
        if same && fresh.stored_index_keys().await? == loaded {
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
