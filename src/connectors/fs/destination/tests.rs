use super::*;

fn set(paths: &[&str]) -> HashSet<Vec<u8>> {
    paths.iter().map(|p| p.as_bytes().to_vec()).collect()
}

#[test]
fn below_means_the_directory_itself_or_under_it_by_whole_names() {
    let refused = set(&["/a/b"]);
    assert!(is_below(b"/a/b", &refused));
    assert!(is_below(b"/a/b/c", &refused));
    assert!(!is_below(b"/a/bc", &refused));
    assert!(!is_below(b"/a", &refused));
    assert!(!is_below(b"", &refused));
}

fn node(kind: NodeKind) -> Node {
    Node::new("x".into(), kind)
}

#[test]
fn a_refused_directory_takes_everything_below_it_out_of_the_plan() {
    let mut plan = Plan::default();
    for d in ["/a", "/a/b", "/a/b/c", "/a/bc"] {
        plan.dirs.push((d.as_bytes().to_vec(), node(NodeKind::Dir)));
    }
    for f in ["/a/f", "/a/b/f", "/a/b/c/f"] {
        plan.files.push(PlannedFile {
            path: f.as_bytes().to_vec(),
            node: node(NodeKind::File),
        });
    }
    plan.links
        .push((b"/a/b/l".to_vec(), node(NodeKind::Symlink)));
    plan.specials
        .push((b"/a/bc/p".to_vec(), node(NodeKind::Fifo)));
    drop_below(&mut plan, &set(&["/a/b"]));
    let dirs: Vec<&[u8]> = plan.dirs.iter().map(|(p, _)| &p[..]).collect();
    assert_eq!(dirs, vec![&b"/a"[..], b"/a/bc"]);
    let files: Vec<&[u8]> = plan.files.iter().map(|f| &f.path[..]).collect();
    assert_eq!(files, vec![&b"/a/f"[..]]);
    assert!(plan.links.is_empty());
    assert_eq!(plan.specials.len(), 1);
}

#[test]
fn the_first_name_of_a_hard_linked_file_is_written_and_the_others_linked_to_it() {
    let file = |path: &str, inode: u64, links: u64| {
        let mut n = node(NodeKind::File);
        (n.inode, n.links, n.device) = (inode, links, 1);
        PlannedFile {
            path: path.as_bytes().to_vec(),
            node: n,
        }
    };
    let mut files = vec![
        file("/a", 7, 2),
        file("/b", 8, 1),
        file("/c", 7, 2),
        file("/d", 8, 1),
    ];
    let links = split_hard_links(&mut files);
    let kept: Vec<&[u8]> = files.iter().map(|f| &f.path[..]).collect();
    assert_eq!(kept, vec![&b"/a"[..], b"/b", b"/d"]);
    assert_eq!(links, vec![(b"/c".to_vec(), b"/a".to_vec())]);
}

#[test]
fn make_dir_replaces_a_link_only_when_forced_and_never_follows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, outside) = (tmp.path().join("t"), tmp.path().join("outside"));
    fs::create_dir_all(&target).unwrap();
    fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("d")).unwrap();
    let dirs = TargetDirs::open(&target).unwrap();
    let e = make_dir(&dirs, b"/d", false).unwrap_err().to_string();
    assert!(e.contains("--force"), "{e}");
    make_dir(&dirs, b"/d", true).unwrap();
    make_dir(&dirs, b"/d/e", false).unwrap();
    assert!(target.join("d/e").is_dir());
    assert!(fs::symlink_metadata(target.join("d")).unwrap().is_dir());
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}
