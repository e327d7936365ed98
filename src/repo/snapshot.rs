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

/// A snapshot as restic's `snapshots --json` writes one: a flat object with `id`, `short_id`,
/// `time`, `hostname`, `username`, `paths`, `tags`, `tree`, `parent` (and `original` for a
/// copy or a rewrite), plus kloset's own fields: `host` (the same as `hostname`), `source`,
/// `source_key` and `summary`.
pub fn flat_json(id: &Id, s: &Snapshot) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_string(),
        "short_id": id.short(),
        "time": s.time,
        "tree": s.tree.to_string(),
        "parent": s.parent.map(|p| p.to_string()),
        "original": s.original.map(|p| p.to_string()),
        "paths": s.paths,
        "hostname": s.host,
        "host": s.host,
        "username": s.user,
        "tags": s.tags,
        "source": s.source,
        "source_key": s.source_key,
        "summary": s.summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flat_form_has_restics_fields_at_the_top() {
        let s = snap();
        let v = flat_json(&Id([7u8; 32]), &s);
        assert_eq!(v["id"], Id([7u8; 32]).to_string());
        assert_eq!(v["short_id"], Id([7u8; 32]).short());
        assert_eq!(v["hostname"], "web1");
        assert_eq!(v["host"], "web1");
        assert_eq!(v["username"], "root");
        assert_eq!(v["paths"][0], "/srv");
        assert_eq!(v["tags"][0], "nightly");
        assert_eq!(v["tree"], Id([1u8; 32]).to_string());
        assert_eq!(v["parent"], Id([2u8; 32]).to_string());
        assert!(v["original"].is_null());
        assert_eq!(v["summary"]["files"], 3);
        let time: DateTime<Utc> = serde_json::from_value(v["time"].clone()).unwrap();
        assert_eq!(time, s.time);
    }

    fn snap() -> Snapshot {
        Snapshot {
            time: "2024-05-06T07:08:09.123456789Z".parse().unwrap(),
            host: "web1".into(),
            user: "root".into(),
            source: "/srv".into(),
            source_key: "fs:web1:/srv".into(),
            paths: vec!["/srv".into()],
            tags: vec!["nightly".into()],
            tree: Id([1u8; 32]),
            parent: Some(Id([2u8; 32])),
            original: None,
            summary: Summary {
                files: 3,
                bytes: 100,
                duration_secs: 1.5,
                ..Summary::default()
            },
        }
    }

    #[test]
    fn json_round_trips_with_nanosecond_time() {
        let s = snap();
        let text = serde_json::to_string(&s).unwrap();
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back.time, s.time);
        assert_eq!(
            (back.host, back.source_key, back.paths, back.tags),
            (s.host, s.source_key, s.paths, s.tags)
        );
        assert_eq!((back.tree, back.parent), (s.tree, s.parent));
        assert_eq!(back.summary.files, 3);
        assert_eq!(back.summary.duration_secs, 1.5);
    }

    #[test]
    fn empty_paths_and_absent_original_are_left_out() {
        let s = Snapshot {
            paths: vec![],
            ..snap()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            !text.contains("\"paths\"") && !text.contains("\"original\""),
            "{text}"
        );
        let copied = Snapshot {
            original: Some(Id([9u8; 32])),
            ..snap()
        };
        let back: Snapshot =
            serde_json::from_str(&serde_json::to_string(&copied).unwrap()).unwrap();
        assert_eq!(back.original, Some(Id([9u8; 32])));
    }

    #[test]
    fn older_snapshots_without_optional_fields_still_load() {
        let text = format!(
            r#"{{"time":"2020-01-01T00:00:00Z","host":"h","user":"u","source":"/x",
            "source_key":"fs:h:/x","tree":"{}","summary":{{"files":0,"dirs":0,"symlinks":0,
            "bytes":0,"files_read":0,"new_bytes":0,"stored_bytes":0,"new_blobs":0,"errors":0,
            "duration_secs":0.0}}}}"#,
            "00".repeat(32)
        );
        let s: Snapshot = serde_json::from_str(&text).unwrap();
        assert!(s.paths.is_empty() && s.tags.is_empty());
        assert!(s.parent.is_none() && s.original.is_none());
    }

    #[test]
    fn a_snapshot_with_a_bad_tree_id_does_not_load() {
        let mut v = serde_json::to_value(snap()).unwrap();
        v["tree"] = serde_json::Value::String("nothex".into());
        assert!(serde_json::from_value::<Snapshot>(v).is_err());
    }
}
