use super::fetch::*;
use super::level::*;
use super::*;

fn listed(key: &str) -> Listed {
    Listed {
        key: key.to_string(),
        size: 1,
        etag: Some("\"e\"".into()),
        last_modified: None,
        storage_class: None,
    }
}

fn obj(key: &str) -> Handle {
    Handle::Object(listed(key))
}

fn version(key: &str, id: &str, marker: bool) -> ListedVersion {
    ListedVersion {
        listed: listed(key),
        version_id: id.into(),
        delete_marker: marker,
        latest: false,
    }
}

#[test]
fn a_version_listing_becomes_one_node_per_key_with_its_history_oldest_first() {
    // As moto lists them: versions first, then markers, all in the same second.
    let mut latest = version("a", "a3", true);
    latest.latest = true;
    let entries = vec![
        version("a", "a2", false),
        version("a", "a1", false),
        version("b", "b1", false),
        latest,
    ];
    let handles = group_versions(entries);
    assert_eq!(handles.len(), 2);
    let none = crate::filter::Patterns::default();
    let nodes = level_entries("", handles, Vec::new(), &none).unwrap();
    let a = nodes[0].node.s3.as_ref().unwrap();
    let ids: Vec<&str> = a.versions.iter().map(|v| v.version_id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2", "a3"]);
    assert!(a.delete_marker && nodes[0].node.is_deleted());
    assert_eq!(a.version_id.as_deref(), Some("a3"));
    let b = &nodes[1].node;
    assert!(!b.is_deleted() && b.has_history());
    // The same versions are unchanged; one more, or a marker in place of one, is not.
    let now = &a.versions;
    assert!(same_history(now, now));
    assert!(!same_history(now, &now[..2]));
    let mut marked = now.clone();
    marked[1].delete_marker = true;
    assert!(!same_history(now, &marked));
}

#[test]
fn a_multipart_version_completed_after_a_delete_stays_newest_as_s3_lists_it() {
    let at = |mut v: ListedVersion, t: &str, latest: bool| {
        v.listed.last_modified = Some(t.into());
        v.latest = latest;
        v
    };
    // S3's order, newest first: B (a multipart upload started before the delete and
    // completed after it), the delete marker, A.
    let listed = vec![
        at(version("k", "B", false), "2026-01-01T00:00:01Z", true),
        at(version("k", "d", true), "2026-01-01T00:00:02Z", false),
        at(version("k", "A", false), "2026-01-01T00:00:00Z", false),
    ];
    let Handle::Versions(ordered) = group_versions(listed).remove(0) else {
        panic!("a key");
    };
    let ids: Vec<&str> = ordered.iter().map(|v| v.version_id.as_str()).collect();
    assert_eq!(ids, ["A", "d", "B"]);
}

#[test]
fn only_a_501_or_a_first_refusal_turns_tags_off_for_the_run() {
    let refused = |s: u16, code: &str| TagRead::Refused(s, code.into());
    let tags = TagRead::Tags(BTreeMap::new());
    assert_eq!(tagging_after(TAGS_UNKNOWN, &tags), Tagging::Has);
    assert_eq!(tagging_after(TAGS_YES, &refused(501, "")), Tagging::Lacks);
    assert_eq!(
        tagging_after(TAGS_YES, &refused(400, "NotImplemented")),
        Tagging::Lacks
    );
    assert_eq!(
        tagging_after(TAGS_UNKNOWN, &refused(400, "")),
        Tagging::Lacks
    );
    assert_eq!(
        tagging_after(TAGS_YES, &refused(400, "")),
        Tagging::ThisObject
    );
    assert_eq!(
        tagging_after(TAGS_YES, &refused(404, "NoSuchKey")),
        Tagging::ThisObject
    );
    assert_eq!(
        tagging_after(TAGS_UNKNOWN, &refused(403, "AccessDenied")),
        Tagging::ThisObject
    );
}

#[test]
fn fetches_hold_their_size_of_the_budget_and_a_huge_object_the_whole_of_it() {
    let all = (FETCH_BUDGET / BUDGET_UNIT) as u32;
    assert_eq!(fetch_units(0), 1);
    assert_eq!(fetch_units(1), 1);
    assert_eq!(fetch_units(BUDGET_UNIT + 1), 2);
    assert_eq!(fetch_units(PART), (PART / BUDGET_UNIT) as u32);
    assert_eq!(fetch_units(100 * PART), all / 2);
    assert!(fetch_units(u64::MAX) <= all);
}

/// Every key below `dir`, rebuilt level by level as the archiver would, from a "server"
/// that answers delimiter listings out of `all`.
fn keys_below(all: &[&str], dir: &str, out: &mut Vec<String>) {
    let mut objects = Vec::new();
    let mut folders = Vec::new();
    for k in all
        .iter()
        .filter_map(|k| k.strip_prefix(dir).map(|r| (k, r)))
    {
        match k.1.split_once('/') {
            Some((f, _)) => folders.push(format!("{dir}{f}/")),
            None => objects.push(Handle::Object(listed(k.0))),
        }
    }
    folders.dedup();
    let none = crate::filter::Patterns::default();
    for e in level_entries(dir, objects, folders, &none).unwrap() {
        match e.handle {
            Handle::Object(o) => out.push(o.key),
            Handle::Dir(sub) => keys_below(all, &sub, out),
            Handle::Versions(_) => unreachable!("no versions listed here"),
        }
    }
}

#[test]
fn awkward_keys_map_to_folders_and_back_exactly() {
    let all = [
        "a",
        "a/b",
        "dir/",
        "a//b",
        "/x",
        "x",
        "./y",
        "../z",
        "p/q/r/s",
        "sp ace/é",
    ];
    let none = crate::filter::Patterns::default();
    let folders = ["/", "./", "../", "a/", "dir/", "p/", "sp ace/"].map(String::from);
    let root = level_entries("", vec![obj("a"), obj("x")], folders.to_vec(), &none).unwrap();
    let names: Vec<(&str, NodeKind)> = root
        .iter()
        .map(|e| (e.node.name.as_str(), e.node.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("", NodeKind::Dir),
            (".", NodeKind::Dir),
            ("..", NodeKind::Dir),
            ("a", NodeKind::File),
            ("a", NodeKind::Dir),
            ("dir", NodeKind::Dir),
            ("p", NodeKind::Dir),
            ("sp ace", NodeKind::Dir),
            ("x", NodeKind::File),
        ]
    );
    let mut rebuilt = Vec::new();
    keys_below(&all, "", &mut rebuilt);
    rebuilt.sort();
    let mut want: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(rebuilt, want);
}

#[test]
fn a_server_that_ignores_the_delimiter_still_gives_each_object_once() {
    let none = crate::filter::Patterns::default();
    let flat = vec![obj("a/b/c"), obj("a/d"), obj("e")];
    let root = level_entries("", flat, Vec::new(), &none).unwrap();
    let names: Vec<&str> = root.iter().map(|e| e.node.name.as_str()).collect();
    assert_eq!(names, ["a", "e"]);
    let wrong = level_entries("a/", Vec::new(), vec!["b/".into()], &none);
    assert!(wrong.is_err());
}

fn meta(key: &str, etag: Option<&str>, last_modified: Option<&str>) -> S3Meta {
    S3Meta {
        key: key.into(),
        etag: etag.map(String::from),
        last_modified: last_modified.map(String::from),
        ..Default::default()
    }
}

#[test]
fn an_object_is_unchanged_by_etag_and_last_modified_or_without_listed_etags_by_last_modified() {
    let t1 = Some("2024-01-01T00:00:00.000Z");
    let t2 = Some("2024-01-01T00:00:01.000Z");
    let (e1, e2) = (Some("\"e1\""), Some("\"e2\""));
    // Listings with ETags: both must match.
    assert!(same_object(&meta("k", e1, t1), &meta("k", e1, t1)));
    assert!(!same_object(&meta("k", e2, t1), &meta("k", e1, t1)));
    assert!(!same_object(&meta("k", e1, t2), &meta("k", e1, t1)));
    assert!(!same_object(&meta("k", e1, t1), &meta("k", None, t1)));
    // No ETag in the listing: the parent's ETag (from its GET) is not compared.
    assert!(same_object(&meta("k", None, t1), &meta("k", e1, t1)));
    assert!(same_object(&meta("k", None, t1), &meta("k", None, t1)));
    assert!(!same_object(&meta("k", None, t2), &meta("k", e1, t1)));
    // Nothing to go by, or another key: read again.
    assert!(!same_object(&meta("k", None, None), &meta("k", None, None)));
    assert!(!same_object(&meta("k", None, None), &meta("k", e1, None)));
    assert!(same_object(&meta("k", e1, None), &meta("k", e1, None)));
    assert!(!same_object(&meta("j", e1, t1), &meta("k", e1, t1)));
}

#[test]
fn a_listed_object_is_a_file_named_by_its_last_segment() {
    let node = listed_node(&listed("2024/01/photo.jpg"));
    assert_eq!(node.name, "photo.jpg");
    assert_eq!(node.s3.unwrap().key, "2024/01/photo.jpg");
    assert_eq!(listed_node(&listed("dir/")).name, "");
}
