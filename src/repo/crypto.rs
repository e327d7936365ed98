//! Keys and sealing: keyed BLAKE3 blob ids, zstd when it pays, AES-256-GCM with random nonces.
//!
//! A sealed object is `nonce (12) || ciphertext || tag (16)`. The plaintext starts with one
//! byte saying how the rest is encoded (0 = raw, 1 = zstd) so that incompressible data costs
//! no decompression on restore.

use anyhow::{bail, Result};
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use std::cell::RefCell;

use super::id::Id;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const RAW: u8 = 0;
const ZSTD: u8 = 1;
/// Below this size a blob is compressed whole; above it, a sample decides first, because
/// compressing already-compressed media is the slowest stage of the pipeline and gains nothing.
const SAMPLE_FROM: usize = 128 * 1024;
const SAMPLE_LEN: usize = 64 * 1024;
/// Smaller blobs are judged by the byte entropy of their start: nearly 8 bits per byte means
/// random or already-compressed data, which zstd cannot shrink.
const ENTROPY_SAMPLE: usize = 4096;
const INCOMPRESSIBLE_BITS: f64 = 7.5;
/// No blob (a chunk, or a tree of a huge directory) decompresses to more than this.
const MAX_PLAINTEXT: u64 = 1 << 30;

pub struct Keys {
    id_key: [u8; 32],
    cipher: LessSafeKey,
    pub chunker_seed: u64,
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Keys {
        let id_key = blake3::derive_key("kloset v1 blob id", master);
        let data_key = blake3::derive_key("kloset v1 data encryption", master);
        let seed = blake3::derive_key("kloset v1 chunker seed", master);
        Keys {
            id_key,
            cipher: aes_key(&data_key),
            chunker_seed: u64::from_le_bytes(seed[..8].try_into().expect("8 bytes")),
        }
    }

    /// Keyed, so a blob id reveals nothing about content to someone without the key.
    pub fn blob_id(&self, plaintext: &[u8]) -> Id {
        Id(*blake3::keyed_hash(&self.id_key, plaintext).as_bytes())
    }

    /// Compress (when it helps) and encrypt, binding the ciphertext to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.seal_into(aad, plaintext, &mut out);
        out
    }

    /// `seal` into a caller's buffer (cleared first), so hot loops reuse their allocations.
    pub fn seal_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(NONCE_LEN + 1 + plaintext.len() + TAG_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        let compressed = worth_compressing(plaintext)
            && ZSTD_CTX.with(|z| {
                let (enc, zbuf) = &mut *z.borrow_mut();
                zbuf.clear();
                zbuf.reserve(zstd::zstd_safe::compress_bound(plaintext.len()));
                match enc.compress_to_buffer(plaintext, zbuf) {
                    Ok(n) if n < plaintext.len() => {
                        out.push(ZSTD);
                        out.extend_from_slice(&zbuf[..n]);
                        true
                    }
                    _ => false,
                }
            });
        if !compressed {
            out.push(RAW);
            out.extend_from_slice(plaintext);
        }
        let tag = encrypt(&self.cipher, nonce, aad, &mut out[NONCE_LEN..]);
        out.extend_from_slice(&tag);
    }

    /// Decrypt and decompress; any tampering or wrong key fails the tag check.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN + 1 + TAG_LEN {
            bail!("sealed object is truncated ({} bytes)", sealed.len());
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let mut buf = rest.to_vec();
        let len = decrypt(&self.cipher, nonce, aad, &mut buf)
            .ok_or_else(|| anyhow::anyhow!("authentication failed (data corrupted or tampered)"))?;
        buf.truncate(len);
        match buf[0] {
            RAW => {
                buf.copy_within(1.., 0);
                buf.pop();
                Ok(buf)
            }
            ZSTD => {
                let size = zstd::zstd_safe::get_frame_content_size(&buf[1..])
                    .ok()
                    .flatten()
                    .filter(|&n| n <= MAX_PLAINTEXT)
                    .ok_or_else(|| {
                        anyhow::anyhow!("zstd frame without a plausible content size")
                    })?;
                ZSTD_DCTX.with(|d| Ok(d.borrow_mut().decompress(&buf[1..], size as usize)?))
            }
            other => bail!("unknown encoding byte {other}"),
        }
    }
}

thread_local! {
    /// A zstd context and output buffer per thread: creating them per blob dominated small files.
    static ZSTD_CTX: RefCell<(zstd::bulk::Compressor<'static>, Vec<u8>)> =
        RefCell::new((zstd::bulk::Compressor::new(1).expect("zstd level 1"), Vec::new()));
}

thread_local! {
    static ZSTD_DCTX: RefCell<zstd::bulk::Decompressor<'static>> =
        RefCell::new(zstd::bulk::Decompressor::new().expect("zstd decompression context"));
}

fn worth_compressing(data: &[u8]) -> bool {
    if data.len() < 64 {
        return false;
    }
    if data.len() < SAMPLE_FROM {
        return data.len() < ENTROPY_SAMPLE
            || entropy_bits(&data[..ENTROPY_SAMPLE]) < INCOMPRESSIBLE_BITS;
    }
    let sample = &data[..SAMPLE_LEN];
    ZSTD_CTX.with(|z| {
        let (enc, zbuf) = &mut *z.borrow_mut();
        zbuf.clear();
        zbuf.reserve(zstd::zstd_safe::compress_bound(sample.len()));
        match enc.compress_to_buffer(sample, zbuf) {
            Ok(n) => n < sample.len() * 9 / 10,
            Err(_) => false,
        }
    })
}

fn entropy_bits(sample: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in sample {
        counts[b as usize] += 1;
    }
    let n = sample.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A key wrapped under a passphrase-derived key; stored in the plaintext `config`.
pub fn wrap_key(kek: &[u8; 32], aad: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let nonce: [u8; NONCE_LEN] = random_bytes();
    let mut buf = key.to_vec();
    let tag = encrypt(&aes_key(kek), nonce, aad, &mut buf);
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out.extend_from_slice(&tag);
    out
}

/// Returns None when the tag does not verify: the passphrase was wrong.
pub fn unwrap_key(kek: &[u8; 32], aad: &[u8], wrapped: &[u8]) -> Option<[u8; 32]> {
    if wrapped.len() != NONCE_LEN + 32 + TAG_LEN {
        return None;
    }
    let (nonce, rest) = wrapped.split_at(NONCE_LEN);
    let mut buf = rest.to_vec();
    let len = decrypt(&aes_key(kek), nonce, aad, &mut buf)?;
    buf[..len].try_into().ok()
}

// AES-256-GCM through ring: its AES-NI/CLMUL code is several times faster than the pure-Rust
// crates on the hot path (every blob is sealed on backup and opened on restore).
fn aes_key(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key"))
}

fn encrypt(key: &LessSafeKey, nonce: [u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), buf)
        .expect("AES-GCM encryption cannot fail for in-memory buffers");
    tag.as_ref().try_into().expect("a 16-byte tag")
}

/// Decrypts `ciphertext || tag` in place; Some(plaintext length) when the tag verifies.
fn decrypt(key: &LessSafeKey, nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> Option<usize> {
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), buf)
        .ok()
        .map(|plain| plain.len())
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let keys = Keys::from_master(&[7u8; 32]);
        for data in [
            vec![],
            vec![1u8; 10],
            vec![b'a'; 300_000],
            random_vec(200_000),
        ] {
            let sealed = keys.seal(b"aad", &data);
            assert_eq!(keys.open(b"aad", &sealed).unwrap(), data);
            assert!(keys.open(b"other", &sealed).is_err());
            let mut bad = sealed.clone();
            let mid = bad.len() / 2;
            bad[mid] ^= 1;
            assert!(keys.open(b"aad", &bad).is_err());
        }
        let compressible = vec![b'z'; 1 << 20];
        assert!(keys.seal(b"", &compressible).len() < 100_000);
    }

    #[test]
    fn wrapped_key_needs_the_right_kek() {
        let key = [9u8; 32];
        let wrapped = wrap_key(&[1u8; 32], b"store", &key);
        assert_eq!(unwrap_key(&[1u8; 32], b"store", &wrapped), Some(key));
        assert_eq!(unwrap_key(&[2u8; 32], b"store", &wrapped), None);
    }

    fn random_vec(n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        rand::thread_rng().fill_bytes(&mut v);
        v
    }
}
