//! Packs: many sealed blobs in one immutable object, followed by an encrypted header that lists
//! them, so the index can be rebuilt from the packs alone.
//!
//! Layout: `blob* || sealed(header JSON) || u32 LE length of the sealed header`.

use bytes::Bytes;

use super::crypto::Keys;
use super::id::Id;
use super::index::{BlobEntry, BlobKind, PackEntry};

pub const HEADER_AAD: &[u8] = b"kloset pack header";

#[derive(Default)]
pub struct PackBuilder {
    buf: Vec<u8>,
    blobs: Vec<BlobEntry>,
}

pub struct FinishedPack {
    pub id: Id,
    pub bytes: Bytes,
    pub entry: PackEntry,
}

impl PackBuilder {
    pub fn with_capacity(n: usize) -> PackBuilder {
        PackBuilder {
            buf: Vec::with_capacity(n),
            blobs: Vec::new(),
        }
    }

    pub fn add(&mut self, id: Id, kind: BlobKind, sealed: &[u8], raw_length: usize) {
        self.blobs.push(BlobEntry {
            id,
            kind,
            offset: self.buf.len() as u32,
            length: sealed.len() as u32,
            raw_length: raw_length as u32,
        });
        self.buf.extend_from_slice(sealed);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    pub fn finish(mut self, keys: &Keys) -> FinishedPack {
        let header = serde_json::to_vec(&self.blobs).expect("blob entries serialise");
        let sealed = keys.seal(HEADER_AAD, &header);
        self.buf.extend_from_slice(&sealed);
        self.buf
            .extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        let id = Id::of_bytes(&self.buf);
        FinishedPack {
            id,
            bytes: Bytes::from(self.buf),
            entry: PackEntry {
                id,
                blobs: self.blobs,
            },
        }
    }
}

/// Reads the blob list back out of a whole pack (used by `check --read-data`).
pub fn read_header(keys: &Keys, pack: &[u8]) -> anyhow::Result<Vec<BlobEntry>> {
    anyhow::ensure!(pack.len() >= 4, "pack is truncated");
    let n = u32::from_le_bytes(pack[pack.len() - 4..].try_into()?) as usize;
    anyhow::ensure!(n + 4 <= pack.len(), "pack header length is out of range");
    let sealed = &pack[pack.len() - 4 - n..pack.len() - 4];
    let header = keys.open(HEADER_AAD, sealed)?;
    Ok(serde_json::from_slice(&header)?)
}
