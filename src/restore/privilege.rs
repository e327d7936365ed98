//! Entries that carry privilege on the machine they are restored to: device nodes (raw access
//! to a disk or memory), setuid/setgid programs and file capabilities. `restore --no-special`
//! leaves them out: devices and FIFOs are skipped, setuid/setgid bits cleared, capabilities
//! dropped, so a snapshot another host made cannot plant a way to root. A directory keeps its
//! setgid bit: there it only passes the group on to new entries.

use std::borrow::Cow;

use crate::repo::tree::{Node, NodeKind};

/// The extended attribute holding a file's capabilities.
pub const CAPABILITY_XATTR: &str = "security.capability";

const SETUID_SETGID: u32 = 0o6000;

/// What the planner does with privileged entries, and what it met.
#[derive(Default)]
pub struct Privilege {
    /// Leave them out (`--no-special`).
    pub strip: bool,
    skipped: u64,
    cleared: u64,
    /// Privileged entries restored as they are.
    pub kept: u64,
}

impl Privilege {
    pub fn new(strip: bool) -> Privilege {
        Privilege {
            strip,
            ..Privilege::default()
        }
    }

    /// The node as it is to be restored; None: not at all.
    pub fn admit<'n>(&mut self, node: &'n Node) -> Option<Cow<'n, Node>> {
        let concerned = is_privileged(node) || (self.strip && node.kind == NodeKind::Fifo);
        if !concerned {
            return Some(Cow::Borrowed(node));
        }
        if !self.strip {
            self.kept += 1;
            return Some(Cow::Borrowed(node));
        }
        if node.kind.is_special() {
            self.skipped += 1;
            return None;
        }
        self.cleared += 1;
        let mut plain = node.clone();
        if plain.kind != NodeKind::Dir {
            plain.mode &= !SETUID_SETGID;
        }
        plain.xattrs.retain(|x| x.name != CAPABILITY_XATTR);
        Some(Cow::Owned(plain))
    }

    /// What --no-special left out, for the summary.
    pub fn note(&self) -> Option<String> {
        (self.skipped + self.cleared > 0).then(|| {
            format!(
                "--no-special: {} device nodes and FIFOs skipped; setuid/setgid bits and file capabilities removed from {} entries",
                self.skipped, self.cleared
            )
        })
    }
}

/// A device node, a setuid/setgid non-directory, or an entry with file capabilities.
pub fn is_privileged(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Chardev | NodeKind::Blockdev)
        || (node.kind != NodeKind::Dir && node.mode & SETUID_SETGID != 0)
        || node.xattrs.iter().any(|x| x.name == CAPABILITY_XATTR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tree::Xattr;

    fn node(kind: NodeKind, mode: u32) -> Node {
        let mut n = Node::new("n".into(), kind);
        n.mode = mode;
        n
    }

    fn with_cap(mut n: Node) -> Node {
        n.xattrs = vec![
            Xattr {
                name: CAPABILITY_XATTR.into(),
                value: "01".into(),
            },
            Xattr {
                name: "user.keep".into(),
                value: "02".into(),
            },
        ];
        n
    }

    #[test]
    fn what_counts_as_privileged() {
        assert!(is_privileged(&node(NodeKind::Chardev, 0o666)));
        assert!(is_privileged(&node(NodeKind::Blockdev, 0o660)));
        assert!(is_privileged(&node(NodeKind::File, 0o4755)));
        assert!(is_privileged(&node(NodeKind::File, 0o2755)));
        assert!(is_privileged(&with_cap(node(NodeKind::File, 0o755))));
        assert!(!is_privileged(&node(NodeKind::Fifo, 0o644)));
        assert!(!is_privileged(&node(NodeKind::Dir, 0o2775)));
        assert!(!is_privileged(&node(NodeKind::File, 0o1777)));
    }

    #[test]
    fn stripping_skips_devices_and_fifos_and_clears_the_rest() {
        let mut p = Privilege::new(true);
        assert!(p.admit(&node(NodeKind::Chardev, 0o666)).is_none());
        assert!(p.admit(&node(NodeKind::Fifo, 0o644)).is_none());
        let file = with_cap(node(NodeKind::File, 0o6755));
        let plain = p.admit(&file).unwrap();
        assert_eq!(plain.mode, 0o755);
        let names: Vec<&str> = plain.xattrs.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["user.keep"]);
        let dir = with_cap(node(NodeKind::Dir, 0o2775));
        assert_eq!(
            p.admit(&dir).unwrap().mode,
            0o2775,
            "a directory keeps setgid"
        );
        let ordinary = node(NodeKind::File, 0o644);
        assert!(matches!(p.admit(&ordinary), Some(Cow::Borrowed(_))));
        let note = p.note().unwrap();
        assert!(note.contains("2 device nodes and FIFOs") && note.contains("2 entries"));
        assert_eq!(p.kept, 0);
    }

    #[test]
    fn without_stripping_everything_is_kept_and_counted() {
        let mut p = Privilege::new(false);
        let dev = node(NodeKind::Blockdev, 0o660);
        let suid = node(NodeKind::File, 0o4755);
        let fifo = node(NodeKind::Fifo, 0o644);
        for n in [&dev, &suid, &fifo] {
            assert!(matches!(p.admit(n), Some(Cow::Borrowed(_))));
        }
        assert_eq!(p.kept, 2);
        assert!(p.note().is_none());
    }
}
