//! Which entry names can be written out as a path component: the filesystem destination's
//! rule, shared by exports (`dump`), so that no archive entry can name a place outside the
//! directory it is unpacked in. Names come from the store (or from S3 keys such as `a/../b`)
//! and are hostile input.

/// The longest name most filesystems hold, in bytes.
pub const NAME_MAX: usize = 255;

/// Why a name cannot be one path component, or None when it can.
pub fn unfit(raw: &[u8]) -> Option<&'static str> {
    if raw.is_empty() {
        Some("an empty name")
    } else if raw == b"." || raw == b".." {
        Some("a name that is '.' or '..'")
    } else if raw.contains(&b'/') {
        Some("a name with '/'")
    } else if raw.contains(&0) {
        Some("a name with NUL")
    } else if raw.len() > NAME_MAX {
        Some("a name longer than a filesystem holds")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_escape_or_cannot_exist_are_unfit() {
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"a/b",
            b"../x",
            b"/abs",
            b"nul\0",
            &[b'x'; 256],
        ] {
            assert!(unfit(bad).is_some(), "{bad:?}");
        }
        for ok in [
            &b"a"[..],
            b"...",
            b"..x",
            b".hidden",
            b"caf\xe9",
            &[b'x'; 255],
        ] {
            assert_eq!(unfit(ok), None, "{ok:?}");
        }
    }
}
