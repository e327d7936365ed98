//! Snapshot manifests: the single commit point of a backup.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::id::Id;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Bytes of file content in the snapshot.
    pub bytes: u64,
    /// Files read this time (the rest were unchanged since the parent).
    pub files_read: u64,
    /// Plaintext bytes of blobs that were new to the store.
    pub new_bytes: u64,
    /// Bytes written to the store in packs (compressed, encrypted).
    pub stored_bytes: u64,
    pub new_blobs: u64,
    pub errors: u64,
    pub duration_secs: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub time: DateTime<Utc>,
    pub host: String,
    pub user: String,
    /// The source as given on the command line (path, location or @name).
    pub source: String,
    /// A stable key for choosing the parent of the next backup of the same source.
    pub source_key: String,
    /// The absolute paths a filesystem backup covered (several: the tree starts at `/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub tree: Id,
    #[serde(default)]
    pub parent: Option<Id>,
    /// A copy made by `sync`: the id of the snapshot in the store where it was taken, so the
    /// same snapshot is never copied twice, in either direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Id>,
    pub summary: Summary,
}
