//! The bytes of an index file (before sealing): binary fixed-size records, a third of the
//! JSON's size and decoded without a parser; JSON index files of older writers still read.
//!
//! ```text
//! magic "\0KIX" | version u8 = 1 | packs u32 | per pack: id [32] | blobs u32 |
//!     per blob: id [32] | kind u8 (0 data, 1 tree) | offset u32 | length u32 | raw_length u32
//! ```
//! Integers little-endian. Anything else (a short record, a count past the end, bytes left
//! over, an unknown kind or version) is damage.

use super::id::Id;
use super::index::{BlobEntry, BlobKind, IndexFile, PackEntry};

const MAGIC: &[u8; 4] = b"\0KIX";
const VERSION: u8 = 1;
const HEADER: usize = MAGIC.len() + 1 + 4;
const PACK_RECORD: usize = 32 + 4;
const BLOB_RECORD: usize = 32 + 1 + 4 + 4 + 4;

pub fn encode(file: &IndexFile) -> Vec<u8> {
    let blobs: usize = file.packs.iter().map(|p| p.blobs.len()).sum();
    let mut out = Vec::with_capacity(HEADER + file.packs.len() * PACK_RECORD + blobs * BLOB_RECORD);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&len_u32(file.packs.len()).to_le_bytes());
    for pack in &file.packs {
        out.extend_from_slice(&pack.id.0);
        out.extend_from_slice(&len_u32(pack.blobs.len()).to_le_bytes());
        for b in &pack.blobs {
            out.extend_from_slice(&b.id.0);
            out.push(match b.kind {
                BlobKind::Data => 0,
                BlobKind::Tree => 1,
            });
            out.extend_from_slice(&b.offset.to_le_bytes());
            out.extend_from_slice(&b.length.to_le_bytes());
            out.extend_from_slice(&b.raw_length.to_le_bytes());
        }
    }
    out
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).expect("index files hold far fewer than 2^32 entries")
}

/// Either form. Errors say what is wrong (the caller names the file).
pub fn decode(plain: &[u8]) -> Result<IndexFile, String> {
    if !plain.starts_with(MAGIC) {
        return serde_json::from_slice(plain).map_err(|e| e.to_string());
    }
    let mut r = Reader { rest: plain };
    r.take(MAGIC.len())?;
    let version = r.take(1)?[0];
    if version != VERSION {
        return Err(format!(
            "binary index version {version} is newer than this kloset reads: upgrade kloset"
        ));
    }
    let packs = r.u32()? as usize;
    // Counts are checked against the bytes left before anything is allocated for them.
    if packs > r.rest.len() / PACK_RECORD {
        return Err(format!("claims {packs} packs in {} bytes", plain.len()));
    }
    let mut file = IndexFile {
        packs: Vec::with_capacity(packs),
    };
    for _ in 0..packs {
        let id = r.id()?;
        let count = r.u32()? as usize;
        if count > r.rest.len() / BLOB_RECORD {
            return Err(format!(
                "pack {} claims {count} blobs past the end",
                id.short()
            ));
        }
        let mut blobs = Vec::with_capacity(count);
        for _ in 0..count {
            let id = r.id()?;
            let kind = match r.take(1)?[0] {
                0 => BlobKind::Data,
                1 => BlobKind::Tree,
                k => return Err(format!("blob {} has unknown kind {k}", id.short())),
            };
            blobs.push(BlobEntry {
                id,
                kind,
                offset: r.u32()?,
                length: r.u32()?,
                raw_length: r.u32()?,
            });
        }
        file.packs.push(PackEntry { id, blobs });
    }
    if !r.rest.is_empty() {
        return Err(format!("{} bytes after the last pack", r.rest.len()));
    }
    Ok(file)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err("ends inside a record".into());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn id(&mut self) -> Result<Id, String> {
        Ok(Id(self.take(32)?.try_into().expect("32 bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IndexFile {
        let blob = |n: u8, kind| BlobEntry {
            id: Id([n; 32]),
            kind,
            offset: u32::from(n) * 100,
            length: 90,
            raw_length: u32::MAX - u32::from(n),
        };
        IndexFile {
            packs: vec![
                PackEntry {
                    id: Id([1; 32]),
                    blobs: vec![blob(2, BlobKind::Data), blob(3, BlobKind::Tree)],
                },
                PackEntry {
                    id: Id([4; 32]),
                    blobs: Vec::new(),
                },
            ],
        }
    }

    fn same(a: &IndexFile, b: &IndexFile) -> bool {
        serde_json::to_string(a).unwrap() == serde_json::to_string(b).unwrap()
    }

    #[test]
    fn binary_round_trips_and_json_still_reads() {
        let file = sample();
        let bin = encode(&file);
        assert_eq!(bin.len(), HEADER + 2 * PACK_RECORD + 2 * BLOB_RECORD);
        assert!(same(&decode(&bin).unwrap(), &file));
        let json = serde_json::to_vec(&file).unwrap();
        assert!(same(&decode(&json).unwrap(), &file));
        assert!(same(
            &decode(&encode(&IndexFile::default())).unwrap(),
            &IndexFile::default()
        ));
    }

    #[test]
    fn every_truncation_and_every_lie_is_refused() {
        let bin = encode(&sample());
        for cut in 0..bin.len() {
            assert!(decode(&bin[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bin.clone();
        longer.push(0);
        assert!(decode(&longer).unwrap_err().contains("after the last pack"));
        let mut kind = bin.clone();
        kind[HEADER + PACK_RECORD + 32] = 7;
        assert!(decode(&kind).unwrap_err().contains("unknown kind"));
        let mut version = bin.clone();
        version[4] = 2;
        assert!(decode(&version).unwrap_err().contains("upgrade kloset"));
        let mut packs = bin.clone();
        packs[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&packs).unwrap_err().contains("claims"));
        let mut blobs = bin;
        blobs[HEADER + 32..HEADER + 36].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&blobs).unwrap_err().contains("past the end"));
    }
}
