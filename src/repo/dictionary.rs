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

/// The dictionary's id, when zstd can prepare it for both directions. A dictionary with the
/// right header and damaged tables makes zstd return nothing, which the `zstd` crate's
/// `copy` constructors take for a panic: they are only called after this.
pub fn check(raw: &[u8]) -> Result<u32> {
    let id = dict_id(raw)?;
    if zstd::zstd_safe::DDict::try_create(raw).is_none()
        || zstd::zstd_safe::CDict::try_create(raw, LEVEL).is_none()
    {
        bail!("dictionary {id:08x} is damaged: zstd cannot load its tables");
    }
    Ok(id)
}

impl Dictionaries {
    /// Makes a dictionary readable and, when `use_for_writing` and none is in use yet, the one
    /// new small blobs are compressed with.
    pub fn add(&self, raw: &[u8], use_for_writing: bool) -> Result<u32> {
        let id = check(raw)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Vec<u8>> {
        (0..2000)
            .map(|i| {
                format!(
                    "[section{i}]\nname = \"item {i}\"\nenabled = true\nsize = {}\n",
                    i * 7
                )
                .repeat(4)
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn dict_ids_come_from_a_zstd_dictionary_header() {
        let raw = [&MAGIC[..], &0x1234_5678u32.to_le_bytes(), b"rest"].concat();
        assert_eq!(dict_id(&raw).unwrap(), 0x1234_5678);
        assert!(dict_id(&MAGIC).is_err(), "too short for an id");
        assert!(dict_id(&[]).is_err());
        assert!(dict_id(&[0u8; 64]).is_err(), "wrong magic");
    }

    #[test]
    fn training_needs_enough_varied_samples() {
        assert!(train(&[]).is_none());
        assert!(train(&[b"tiny".to_vec()]).is_none());
        let dict = train(&samples()).expect("trained");
        assert!(dict.len() <= DICT_SIZE);
        assert!(dict_id(&dict).is_ok());
    }

    #[test]
    fn the_first_writing_dictionary_stays_active() {
        let d = Dictionaries::default();
        assert!(!d.has_active() && d.active().is_none());
        let dict = train(&samples()).unwrap();
        let id = d.add(&dict, false).unwrap();
        assert!(d.decoder(id).is_some(), "readable");
        assert!(!d.has_active(), "but not used for writing");
        assert_eq!(d.add(&dict, true).unwrap(), id);
        assert_eq!(d.active().map(|(i, _)| i), Some(id));
        // Another one is readable but does not replace the active one.
        let mut other = dict.clone();
        other[4..8].copy_from_slice(&(id ^ 1).to_le_bytes());
        let other_id = d.add(&other, true).unwrap();
        assert_eq!(other_id, id ^ 1);
        assert!(d.decoder(other_id).is_some());
        assert_eq!(d.active().map(|(i, _)| i), Some(id));
    }

    #[test]
    fn a_dictionary_with_damaged_tables_is_refused_not_a_panic() {
        // Found by reading (and by tests/fuzz.rs): zstd returns no dictionary for damaged
        // entropy tables, which the zstd crate's `copy` turned into a panic.
        let mut raw = train(&samples()).unwrap();
        for b in raw[8..64].iter_mut() {
            *b = 0xff;
        }
        let d = Dictionaries::default();
        assert!(check(&raw).is_err());
        assert!(d.add(&raw, true).is_err());
        assert!(!d.has_active());
    }

    #[test]
    fn unknown_ids_have_no_decoder_and_garbage_is_refused() {
        let d = Dictionaries::default();
        assert!(d.decoder(42).is_none());
        assert!(d.add(b"not a dictionary", true).is_err());
        assert!(!d.has_active());
    }
}
