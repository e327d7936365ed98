//! Zstd dictionaries for small data blobs. A file of a few KiB compressed alone leaves most of
//! zstd's gain on the table (its tables cost more than they save); a dictionary trained on the
//! store's own small files makes them both smaller and faster to compress. Dictionaries are
//! immutable `dicts/<id>` objects, loaded with the index, and never deleted.

use std::collections::HashMap;
use std::sync::RwLock;

use anyhow::{bail, Result};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// Data blobs at most this large are compressed with the dictionary; larger ones have enough
/// context of their own.
pub const MAX_BLOB: usize = 128 * 1024;
/// Training input: samples of small files, as zstd advises (about 100 times the dictionary).
pub const SAMPLE_MIN: usize = 256;
pub const SAMPLES_WANTED: usize = 2000;
pub const SAMPLE_BYTES_WANTED: usize = 4 * 1024 * 1024;
pub const DICT_SIZE: usize = 64 * 1024;
/// Measured on GCC's sources: with a dictionary, level 3 is smaller and still faster than
/// level 1 without one.
const LEVEL: i32 = 3;
const MAGIC: [u8; 4] = [0x37, 0xA4, 0x30, 0xEC];

type Encoder = &'static EncoderDictionary<'static>;
type Decoder = &'static DecoderDictionary<'static>;

/// The dictionaries a process knows, by the 32-bit id written in each zstd frame. Prepared
/// dictionaries live for the whole process (a store has one or a few), which lets per-thread
/// compression contexts refer to them.
#[derive(Default)]
pub struct Dictionaries {
    decoders: RwLock<HashMap<u32, Decoder>>,
    active: RwLock<Option<(u32, Encoder)>>,
}

/// The dictionary id a zstd dictionary declares in its header.
pub fn dict_id(raw: &[u8]) -> Result<u32> {
    if raw.len() < 8 || raw[..4] != MAGIC {
        bail!("not a zstd dictionary");
    }
    Ok(u32::from_le_bytes(raw[4..8].try_into().expect("4 bytes")))
}

impl Dictionaries {
    /// Makes a dictionary readable and, when `use_for_writing` and none is in use yet, the one
    /// new small blobs are compressed with.
    pub fn add(&self, raw: &[u8], use_for_writing: bool) -> Result<u32> {
        let id = dict_id(raw)?;
        let mut decoders = self.decoders.write().expect("dictionaries");
        decoders
            .entry(id)
            .or_insert_with(|| Box::leak(Box::new(DecoderDictionary::copy(raw))));
        let mut active = self.active.write().expect("dictionaries");
        if use_for_writing && active.is_none() {
            *active = Some((id, Box::leak(Box::new(EncoderDictionary::copy(raw, LEVEL)))));
        }
        Ok(id)
    }

    pub fn has_active(&self) -> bool {
        self.active.read().expect("dictionaries").is_some()
    }

    pub fn active(&self) -> Option<(u32, Encoder)> {
        *self.active.read().expect("dictionaries")
    }

    pub fn decoder(&self, id: u32) -> Option<Decoder> {
        self.decoders
            .read()
            .expect("dictionaries")
            .get(&id)
            .copied()
    }
}

/// Trains a dictionary from samples of small files; None when they are too few or too alike
/// for zstd to find anything.
pub fn train(samples: &[Vec<u8>]) -> Option<Vec<u8>> {
    let dict = zstd::dict::from_samples(samples, DICT_SIZE).ok()?;
    dict_id(&dict).ok()?;
    Some(dict)
}
