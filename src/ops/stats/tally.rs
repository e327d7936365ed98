//! Running counts: distinct file contents, and blobs as stored and as plaintext.

use std::collections::HashSet;

use super::tree_graph::is_counted_file;
use crate::repo::id::Id;
use crate::repo::tree::Node;
use crate::repo::BlobRef;

/// Distinct file contents, by their list of blobs (restic's key): equal lists are equal bytes.
#[derive(Default)]
pub(super) struct Contents {
    pub(super) seen: HashSet<Id>,
    pub(super) files: u64,
    pub(super) bytes: u64,
}

impl Contents {
    pub(super) fn add(&mut self, n: &Node) {
        if is_counted_file(n) && self.seen.insert(content_key(&n.content)) {
            self.files += 1;
            self.bytes += n.size;
        }
    }
}

/// A hash of the blob list: one small key a content, however many chunks it has.
pub(super) fn content_key(content: &[Id]) -> Id {
    let mut h = blake3::Hasher::new();
    content.iter().for_each(|b| {
        h.update(&b.0);
    });
    Id(*h.finalize().as_bytes())
}

/// Blobs as stored (`length`: compressed, encrypted, padded) and as plaintext.
#[derive(Default)]
pub(super) struct BlobTally {
    pub(super) blobs: u64,
    pub(super) stored: u64,
    pub(super) plain: u64,
    /// Needed but in no index file.
    pub(super) missing: u64,
}

impl BlobTally {
    pub(super) fn add(&mut self, at: Option<BlobRef>) {
        match at {
            Some(at) => {
                self.blobs += 1;
                self.stored += u64::from(at.length);
                self.plain += u64::from(at.raw_length);
            }
            None => self.missing += 1,
        }
    }
}
