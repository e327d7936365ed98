//! What `stat` says of each inode: entries of a snapshot as stored (mode, owner, times, size,
//! link count, device), catalog folders and links read-only and owned by whoever mounted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, INodeNo};

use super::inodes::What;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::NodeKind;
use crate::view::catalog::Child;

pub fn catalog_child(child: &Child, snapshots: &[(Id, Snapshot)]) -> What {
    match child {
        Child::Folder(path) => What::Folder(path.clone()),
        Child::Link(target) => What::Link(target.clone()),
        Child::Snapshot(i) => {
            let (id, snap) = &snapshots[*i];
            What::Root {
                snapshot: *id,
                tree: snap.tree,
                time_ns: snap.time.timestamp_nanos_opt().unwrap_or(0),
            }
        }
    }
}

pub fn kind(what: &What) -> FileType {
    match what {
        What::Folder(_) | What::Root { .. } => FileType::Directory,
        What::Link(_) => FileType::Symlink,
        What::Entry { node, .. } => match node.kind {
            NodeKind::File => FileType::RegularFile,
            NodeKind::Dir => FileType::Directory,
            NodeKind::Symlink => FileType::Symlink,
            NodeKind::Fifo => FileType::NamedPipe,
            NodeKind::Chardev => FileType::CharDevice,
            NodeKind::Blockdev => FileType::BlockDevice,
        },
    }
}

fn time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

pub fn of(ino: u64, what: &What, owner: (u32, u32)) -> FileAttr {
    let mut attr = FileAttr {
        ino: INodeNo(ino),
        size: 0,
        blocks: 0,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: kind(what),
        perm: 0o555,
        nlink: 2,
        uid: owner.0,
        gid: owner.1,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    };
    match what {
        What::Folder(_) => {}
        What::Link(target) => {
            attr.perm = 0o777;
            attr.nlink = 1;
            attr.size = target.len() as u64;
        }
        What::Root { time_ns, .. } => {
            let t = time(*time_ns);
            (attr.atime, attr.mtime, attr.ctime) = (t, t, t);
        }
        What::Entry { node, .. } => {
            let default_perm = match node.kind {
                NodeKind::Dir => 0o755,
                _ => 0o644,
            };
            // An S3 object has no mode: it is shown as a file anyone may read. Set-id bits
            // are not shown: a mount does not hand out a store's privileges.
            attr.perm = match node.mode & 0o1777 {
                0 if node.s3.is_some() => default_perm,
                m => m as u16,
            };
            attr.uid = node.uid;
            attr.gid = node.gid;
            attr.size = match node.kind {
                NodeKind::Symlink => node.target_bytes().len() as u64,
                NodeKind::Dir => 0,
                _ => node.size,
            };
            attr.blocks = attr.size.div_ceil(512);
            attr.nlink = match node.kind {
                NodeKind::Dir => 2,
                _ => node.links.max(1) as u32,
            };
            attr.rdev = node.rdev as u32;
            let (m, c) = (time(node.mtime), time(node.ctime));
            (attr.atime, attr.mtime, attr.ctime, attr.crtime) = (m, m, c, m);
        }
    }
    attr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tree::{Node, S3Meta};

    #[test]
    fn entries_show_what_was_stored_and_objects_are_readable() {
        let mut n = Node::new("f".into(), NodeKind::File);
        (n.mode, n.uid, n.gid, n.size, n.links) = (0o640, 7, 8, 1000, 3);
        n.mtime = 1_500_000_000_123_456_789;
        let what = What::Entry {
            node: Box::new(n.clone()),
            root: 2,
        };
        let a = of(5, &what, (0, 0));
        assert_eq!(
            (a.perm, a.uid, a.gid, a.size, a.nlink),
            (0o640, 7, 8, 1000, 3)
        );
        assert_eq!(a.blocks, 2);
        assert_eq!(
            a.mtime.duration_since(UNIX_EPOCH).unwrap().as_nanos(),
            1_500_000_000_123_456_789
        );
        n.mode = 0;
        n.s3 = Some(Box::new(S3Meta::default()));
        let what = What::Entry {
            node: Box::new(n),
            root: 2,
        };
        assert_eq!(of(5, &what, (0, 0)).perm, 0o644);
        let mut setuid = Node::new("s".into(), NodeKind::File);
        setuid.mode = 0o4755;
        let what = What::Entry {
            node: Box::new(setuid),
            root: 2,
        };
        assert_eq!(of(5, &what, (0, 0)).perm, 0o755);
        assert_eq!(time(-1_000_000_000), UNIX_EPOCH - Duration::from_secs(1));
    }
}
