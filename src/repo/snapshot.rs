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
    /// The snapshot this one stands for: where `sync` copied it from, or the first one of
    /// those `tag` or `rewrite` replaced (see `lineage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Id>,
    /// 0 for a snapshot as taken; each `tag` or `rewrite` makes the next version of it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u32,
    pub summary: Summary,
    /// Fields of a newer kloset, kept as they are when `tag` or `rewrite` writes the snapshot
    /// again.
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Which snapshot, and which version of it, a snapshot is: what sync and forget compare. A
/// copy made by `sync` keeps both; `tag` and `rewrite` keep the first (`original`) and make
/// the next version. A version is newer than every one of a smaller number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lineage {
    pub first: Id,
    pub version: u32,
}

pub fn lineage(id: &Id, s: &Snapshot) -> Lineage {
    Lineage {
        first: s.original.unwrap_or(*id),
        version: s.version,
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A snapshot as restic's `snapshots --json` writes one: a flat object with `id`, `short_id`,
/// `time`, `hostname`, `username`, `paths`, `tags`, `tree`, `parent` (and `original` for a
/// copy or a new version), plus kloset's own fields: `host` (the same as `hostname`),
/// `version`, `source`, `source_key` and `summary`.
pub fn flat_json(id: &Id, s: &Snapshot) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_string(),
        "short_id": id.short(),
        "time": s.time,
        "tree": s.tree.to_string(),
        "parent": s.parent.map(|p| p.to_string()),
        "original": s.original.map(|p| p.to_string()),
        "version": s.version,
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

/// A snapshot of nothing at `secs` past the epoch, host `h`, source `/s`: for unit tests.
#[cfg(test)]
pub fn for_tests(secs: i64) -> Snapshot {
    Snapshot {
        time: DateTime::from_timestamp(secs, 0).expect("a time"),
        host: "h".into(),
        user: "u".into(),
        source: "/s".into(),
        source_key: "fs:h:/s".into(),
        paths: Vec::new(),
        tags: Vec::new(),
        tree: Id([0; 32]),
        parent: None,
        original: None,
        version: 0,
        summary: Summary::default(),
        extra: Default::default(),
    }
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
            version: 0,
            summary: Summary {
                files: 3,
                bytes: 100,
                duration_secs: 1.5,
                ..Summary::default()
            },
            extra: Default::default(),
        }
    }

    #[test]
    fn a_copy_keeps_its_lineage_and_a_new_version_is_newer() {
        let (a, b) = (Id([5u8; 32]), Id([6u8; 32]));
        let copy = Snapshot {
            original: Some(a),
            ..snap()
        };
        assert_eq!(lineage(&a, &snap()), lineage(&b, &copy));
        let next = Snapshot { version: 1, ..copy };
        assert!(lineage(&b, &next) > lineage(&a, &snap()));
        assert_eq!(lineage(&b, &next).first, a);
    }

    #[test]
    fn fields_of_a_newer_kloset_are_kept() {
        let mut v = serde_json::to_value(snap()).unwrap();
        v["future"] = serde_json::json!({"x": 1});
        let s: Snapshot = serde_json::from_value(v).unwrap();
        let again = serde_json::to_value(&s).unwrap();
        assert_eq!(again["future"]["x"], 1);
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
