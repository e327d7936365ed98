use super::*;

#[test]
fn component_ends_split_a_path_in_place() {
    assert_eq!(component_ends(b"").unwrap(), Vec::<usize>::new());
    assert_eq!(component_ends(b"a").unwrap(), vec![1]);
    assert_eq!(component_ends(b"ab/c/def").unwrap(), vec![2, 4, 8]);
}

#[test]
fn component_ends_refuse_names_that_could_climb_or_name_nothing() {
    for bad in [
        &b"a/../b"[..],
        b"..",
        b"a/.",
        b"a//b",
        b"/a",
        b"a/",
        b"a/b\0c",
    ] {
        assert!(component_ends(bad).is_err(), "{bad:?}");
    }
    assert!(component_ends(b"...").is_ok(), "'...' is an ordinary name");
}

#[test]
fn split_parent_takes_the_last_name() {
    assert_eq!(split_parent(b"/a/b/f"), (&b"/a/b"[..], &b"f"[..]));
    assert_eq!(split_parent(b"/f"), (&b""[..], &b"f"[..]));
    assert_eq!(split_parent(b"f"), (&b""[..], &b"f"[..]));
}

fn fd() -> Arc<OwnedFd> {
    Arc::new(openat(CWD, "/", dir_flags(), Mode::empty()).unwrap())
}

#[test]
fn the_cache_closes_the_least_recently_used_directory_first() {
    let mut lru = Lru::new(2);
    lru.insert(b"a".to_vec(), fd());
    lru.insert(b"b".to_vec(), fd());
    assert!(lru.get(b"a").is_some());
    lru.insert(b"c".to_vec(), fd());
    assert!(lru.get(b"b").is_none(), "b was used least recently");
    assert!(lru.get(b"a").is_some() && lru.get(b"c").is_some());
    lru.insert(b"c".to_vec(), fd());
    assert_eq!(lru.entries.len(), 2, "replacing an entry evicts nothing");
}

#[test]
fn a_symlink_on_the_way_is_refused_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, outside) = (tmp.path().join("target"), tmp.path().join("outside"));
    std::fs::create_dir_all(target.join("a/b")).unwrap();
    std::fs::create_dir_all(outside.join("b")).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("link")).unwrap();
    std::fs::write(target.join("file"), b"").unwrap();
    let dirs = TargetDirs::open(&target).unwrap();
    assert!(dirs.dir(b"/a/b").is_ok());
    for rel in [&b"/link"[..], b"/link/b", b"/file", b"/file/x"] {
        let e = dirs.dir(rel).unwrap_err().to_string();
        assert!(e.contains("not followed"), "{e}");
    }
    assert!(dirs.dir(b"/a/../a").is_err());
}

#[test]
fn an_open_directory_stays_the_one_found_when_it_is_moved_and_replaced_by_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, outside) = (tmp.path().join("target"), tmp.path().join("outside"));
    std::fs::create_dir_all(target.join("a")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let dirs = TargetDirs::open(&target).unwrap();
    let a = dirs.dir(b"/a").unwrap();
    std::fs::rename(target.join("a"), target.join("moved")).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("a")).unwrap();
    let again = dirs.dir(b"/a").unwrap();
    rustix::fs::mkdirat(&*again, "made", Mode::from_raw_mode(0o700)).unwrap();
    assert!(target.join("moved/made").is_dir());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    drop((a, again, dirs));
    let fresh = TargetDirs::open(&target).unwrap();
    assert!(
        fresh.dir(b"/a").is_err(),
        "looked up again, the link is refused"
    );
}
