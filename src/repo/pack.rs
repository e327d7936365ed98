//! Packs: many sealed blobs in one immutable object, followed by an encrypted header that lists
//! them, so the index can be rebuilt from the packs alone.
//!
//! Layout: `blob* || sealed(header JSON) || u32 LE length of the sealed header`.

use bytes::Bytes;

use super::bounds;
use super::crypto::Keys;
use super::id::Id;
use super::index::{check_entries, BlobEntry, BlobKind, PackEntry};

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
    /// Packs are closed at `pack_size` (at most 512 MiB) and no blob is over
    /// `bounds::MAX_BLOB`, so offsets and lengths fit the format's u32 fields.
    pub fn add(&mut self, id: Id, kind: BlobKind, sealed: &[u8], raw_length: usize) {
        let fits = |n: usize| u32::try_from(n).expect("packs and blobs stay below 4 GiB");
        self.blobs.push(BlobEntry {
            id,
            kind,
            offset: fits(self.buf.len()),
            length: fits(sealed.len()),
            raw_length: fits(raw_length),
        });
        self.buf.extend_from_slice(sealed);
    }

    pub fn reserve(&mut self, n: usize) {
        self.buf.reserve(n);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    pub fn finish(mut self, keys: &Keys) -> FinishedPack {
        let header = serde_json::to_vec(&self.blobs).expect("blob entries serialise");
        let sealed = keys.seal_pack_header(HEADER_AAD, &header);
        self.buf.extend_from_slice(&sealed);
        let header_len = u32::try_from(sealed.len()).expect("a pack header is below 4 GiB");
        self.buf.extend_from_slice(&header_len.to_le_bytes());
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

/// Reads the blob list back out of a whole pack (or its last bytes: `Err(n)` asks for the
/// last `n` bytes when `tail` is too short to hold the header). A header longer than
/// `bounds::pack_header(pack_size)`, or whose entries are impossible, is damage.
pub fn read_header(
    keys: &Keys,
    tail: &[u8],
    pack_size: u64,
) -> anyhow::Result<Result<Vec<BlobEntry>, usize>> {
    anyhow::ensure!(tail.len() >= 4, "pack is truncated");
    let (rest, len) = tail.split_at(tail.len() - 4);
    let n = u32::from_le_bytes(len.try_into()?) as u64;
    let max = bounds::pack_header(pack_size);
    anyhow::ensure!(
        n <= max,
        "pack header claims {n} bytes, more than the {max} a header can be"
    );
    let n = usize::try_from(n)?;
    let Some(start) = rest.len().checked_sub(n) else {
        return Ok(Err(n + 4));
    };
    let sealed = &rest[start..];
    let limit = bounds::metadata_plaintext(sealed.len(), max);
    let header = keys
        .open_within(HEADER_AAD, sealed, limit)
        .map_err(|e| anyhow::anyhow!("pack header: {e}"))?;
    let blobs: Vec<BlobEntry> = serde_json::from_slice(&header)?;
    check_entries(&blobs).map_err(|e| anyhow::anyhow!("pack header: {e}"))?;
    Ok(Ok(blobs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_every_blob_and_ids_the_bytes() {
        let keys = Keys::from_master(&[3u8; 32]);
        let mut b = PackBuilder::default();
        let blobs: Vec<Vec<u8>> = vec![b"one".to_vec(), vec![7u8; 5000], b"three".to_vec()];
        for data in &blobs {
            let id = keys.blob_id(data);
            b.add(id, BlobKind::Data, &keys.seal(&id.0, data), data.len());
        }
        let pack = b.finish(&keys);
        assert_eq!(pack.id, Id::of_bytes(&pack.bytes));
        let header = read_header(&keys, &pack.bytes, 1 << 20).unwrap().unwrap();
        assert_eq!(header.len(), 3);
        for (entry, data) in header.iter().zip(&blobs) {
            let sealed = &pack.bytes[entry.offset as usize..entry.end() as usize];
            assert_eq!(&keys.open(&entry.id.0, sealed).unwrap(), data);
            assert_eq!(entry.raw_length as usize, data.len());
        }
    }
}
