use super::*;

fn file(path: &[u8]) -> PlannedFile {
    PlannedFile {
        path: path.to_vec(),
        node: Node::new("f".into(), NodeKind::File),
    }
}

#[test]
fn only_equal_etags_or_two_differing_md5s_decide_without_reading() {
    let (md5, other) = ("0123456789abcdef0123456789abcdef", "f".repeat(32));
    let multipart = "0123456789abcdef0123456789abcdef-3";
    assert_eq!(etag_says(md5, md5), Some(true));
    assert_eq!(etag_says(&md5.to_uppercase(), md5), Some(true));
    assert_eq!(etag_says(multipart, multipart), Some(true));
    assert_eq!(etag_says(&other, md5), Some(false));
    // Another part layout, a single PUT of what we upload in parts, or the reverse.
    assert_eq!(etag_says(&format!("{other}-3"), multipart), None);
    assert_eq!(etag_says(&format!("{other}-2"), multipart), None);
    assert_eq!(etag_says(md5, multipart), None);
    assert_eq!(etag_says(multipart, md5), None);
    // Opaque, or none at all.
    assert_eq!(etag_says("opaque-1f2e3d", multipart), None);
    assert_eq!(etag_says("opaque-1f2e3d", md5), None);
    assert_eq!(etag_says("", md5), None);
    assert!(is_md5(md5) && !is_md5(multipart) && !is_md5(&md5[1..]) && !is_md5(&"g".repeat(32)));
}

#[test]
fn names_that_become_one_key_are_all_reported_and_none_written() {
    let mut plan = Plan {
        files: vec![
            file(b"/d/a\xff"),
            file(b"/d/a\xfe"),
            file(b"/d/b"),
            file(b"/d/a\xef\xbf\xbd"),
        ],
        ..Plan::default()
    };
    drop_colliding_keys(&mut plan);
    let kept: Vec<&[u8]> = plan.files.iter().map(|f| f.path.as_slice()).collect();
    assert_eq!(kept, [&b"/d/b"[..]]);
    assert_eq!(plan.errors.len(), 3, "{:?}", plan.errors);
    assert!(plan.errors[0].contains("d/a\\xff") && plan.errors[0].contains("2 other"));
}
