//! `find PATTERN`: which snapshots hold entries matching a glob, and where. A pattern without
//! `/` matches names (`*.pdf`); one with `/` matches whole paths (`/etc/**/*.conf`).

use anyhow::Result;
use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

use crate::error::KlosetError;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::NodeKind;
use crate::repo::walk::{child_path, Visit, WalkOptions};
use crate::repo::IndexedRepo;

#[derive(Debug, Serialize)]
pub struct Hit {
    pub snapshot: Id,
    pub time: chrono::DateTime<chrono::Utc>,
    pub path: String,
    pub kind: NodeKind,
    pub size: u64,
}

pub fn matcher(pattern: &str, ignore_case: bool) -> Result<GlobMatcher> {
    Ok(GlobBuilder::new(pattern)
        .case_insensitive(ignore_case)
        .literal_separator(true)
        .build()
        .map_err(|e| KlosetError::Usage(format!("find '{pattern}': {e}")))?
        .compile_matcher())
}

/// Every matching entry of the given snapshots, oldest snapshot first, paths in order.
pub async fn find(
    repo: &IndexedRepo,
    snapshots: &[(Id, Snapshot)],
    pattern: &str,
    ignore_case: bool,
) -> Result<Vec<Hit>> {
    let glob = matcher(pattern, ignore_case)?;
    let whole_path = pattern.contains('/');
    let mut hits = Vec::new();
    for (id, snap) in snapshots {
        let mut found = Vec::new();
        repo.walk(vec![(Vec::new(), snap.tree)], WalkOptions::default(), |v| {
            if let Visit::Node { parent, node } = v {
                if node.is_deleted() {
                    return true;
                }
                let path = String::from_utf8_lossy(&child_path(parent, node)).into_owned();
                let subject = if whole_path {
                    path.as_str()
                } else {
                    node.name.as_str()
                };
                if glob.is_match(subject) {
                    found.push(Hit {
                        snapshot: *id,
                        time: snap.time,
                        path,
                        kind: node.kind,
                        size: node.size,
                    });
                }
            }
            true
        })
        .await?;
        found.sort_by(|a, b| a.path.cmp(&b.path));
        hits.extend(found);
    }
    Ok(hits)
}
