//! Keys and sealing: keyed BLAKE3 blob ids, zstd when it pays, AES-256-GCM with random nonces.
//!
//! A sealed object is `nonce (12) || ciphertext || tag (16)`. The plaintext starts with one
//! byte saying how the rest is encoded (0 = raw, 1 = zstd) so that incompressible data costs
//! no decompression on restore; 3 = padded to a size class around one of the others
//! (`padding`).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use anyhow::{bail, Result};
use rand::RngCore;
use std::cell::RefCell;
use zeroize::Zeroizing;
use zstd::zstd_safe::{CParameter, DictAttachPref};

use super::dictionary::{self, Dictionaries};
use super::id::Id;
use super::padding;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// zstd level for blobs without a dictionary: 3 stores ~3 % less than 1 on source trees.
const LEVEL: i32 = 3;
const RAW: u8 = 0;
const ZSTD: u8 = 1;
/// zstd with one of the store's dictionaries: the byte is followed by its 4-byte id (LE).
const ZSTD_DICT: u8 = 2;
/// Below this size a blob's start decides whether it is compressed; above it, three places,
/// because compressing already-compressed media is the slowest stage of the pipeline and gains
/// nothing.
const SAMPLE_FROM: usize = 128 * 1024;
/// Smaller blobs are judged by the byte entropy of their start: nearly 8 bits per byte means
/// random or already-compressed data, which zstd cannot shrink.
const ENTROPY_SAMPLE: usize = 4096;
const INCOMPRESSIBLE_BITS: f64 = 7.5;
/// No blob (a chunk, or a tree of a huge directory) decompresses to more than this.
const MAX_PLAINTEXT: u64 = super::bounds::MAX_BLOB;

/// Key material only: no Debug, and every key is wiped when dropped (the cipher's own schedule
/// by aes-gcm's `zeroize` feature).
pub struct Keys {
    id_key: Zeroizing<[u8; 32]>,
    cipher: Aes256Gcm,
    pub chunker_seed: u64,
    pub dictionaries: Dictionaries,
    /// Blobs and pack headers are padded to a size class (`create --padding`).
    pad: bool,
}

/// What is being sealed: blobs and pack headers are padded when the store asks for it;
/// index files, snapshots and dictionaries are not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Padded,
    Data,
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Keys {
        let id_key = Zeroizing::new(blake3::derive_key("kloset v1 blob id", master));
        let data_key = Zeroizing::new(blake3::derive_key("kloset v1 data encryption", master));
        let seed = Zeroizing::new(blake3::derive_key("kloset v1 chunker seed", master));
        Keys {
            id_key,
            cipher: aes_key(&data_key),
            chunker_seed: u64::from_le_bytes(seed[..8].try_into().expect("8 bytes")),
            dictionaries: Dictionaries::default(),
            pad: false,
        }
    }

    /// Pads every blob and pack header sealed from now on (the store's config says so).
    pub fn with_padding(mut self, pad: bool) -> Keys {
        self.pad = pad;
        self
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
        self.seal_with(aad, plaintext, out, Kind::Object)
    }

    /// Seals a data blob: small ones use the store's dictionary when it has one.
    pub fn seal_data_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        self.seal_with(aad, plaintext, out, Kind::Data)
    }

    /// Seals a tree blob.
    pub fn seal_tree_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        self.seal_with(aad, plaintext, out, Kind::Padded)
    }

    /// Seals a pack header: its length follows the blobs' count and sizes.
    pub fn seal_pack_header(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.seal_with(aad, plaintext, &mut out, Kind::Padded);
        out
    }

    fn seal_with(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>, kind: Kind) {
        out.clear();
        out.reserve(NONCE_LEN + 1 + plaintext.len() + TAG_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        let pad = self.pad && kind != Kind::Object;
        if pad {
            padding::start(out);
        }
        let dict = (kind == Kind::Data && plaintext.len() <= dictionary::MAX_BLOB)
            .then(|| self.dictionaries.active())
            .flatten();
        let compressed = worth_compressing(plaintext)
            && match dict {
                Some((id, dict)) => compress_with_dictionary(id, dict, plaintext, out),
                None => compress(plaintext, out),
            };
        if !compressed {
            out.push(RAW);
            out.extend_from_slice(plaintext);
        }
        if pad {
            padding::finish(out, NONCE_LEN);
        }
        let tag = encrypt(&self.cipher, nonce, aad, &mut out[NONCE_LEN..]);
        out.extend_from_slice(&tag);
    }

    /// Decrypt and decompress; any tampering or wrong key fails the tag check.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        self.open_sized(aad, sealed, Size::AtMost(MAX_PLAINTEXT))
    }

    /// `open`, refusing a plaintext over `limit` bytes before anything is allocated for it.
    pub fn open_within(&self, aad: &[u8], sealed: &[u8], limit: u64) -> Result<Vec<u8>> {
        self.open_sized(aad, sealed, Size::AtMost(limit.min(MAX_PLAINTEXT)))
    }

    /// `open` of a blob whose plaintext must be `len` bytes (the index's `raw_length`): a
    /// compressed frame claiming another size is refused before decompression.
    pub fn open_exact(&self, aad: &[u8], sealed: &[u8], len: u64) -> Result<Vec<u8>> {
        self.open_sized(aad, sealed, Size::Exactly(len))
    }

    /// Seals an encoded body as it is (`RAW || plaintext`, `ZSTD || frame`, ...): for tests
    /// and fuzz targets that need bodies the writer would not make.
    #[doc(hidden)]
    pub fn seal_body(&self, aad: &[u8], body: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend_from_slice(body);
        let tag = encrypt(&self.cipher, nonce, aad, &mut out[NONCE_LEN..]);
        out.extend_from_slice(&tag);
        out
    }

    fn open_sized(&self, aad: &[u8], sealed: &[u8], size: Size) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN + 1 + TAG_LEN {
            bail!("sealed object is truncated ({} bytes)", sealed.len());
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let mut buf = rest.to_vec();
        let len = decrypt(&self.cipher, nonce, aad, &mut buf)
            .ok_or_else(|| anyhow::anyhow!("authentication failed (data corrupted or tampered)"))?;
        buf.truncate(len);
        padding::strip(&mut buf)?;
        if buf.is_empty() {
            bail!("sealed object is empty");
        }
        let (Size::AtMost(limit) | Size::Exactly(limit)) = size;
        if buf[0] == RAW && buf.len() as u64 - 1 > limit {
            bail!(
                "{} bytes, more than the {limit} allowed here",
                buf.len() - 1
            );
        }
        match buf[0] {
            RAW => {
                buf.copy_within(1.., 0);
                buf.pop();
                Ok(buf)
            }
            ZSTD => {
                let size = frame_size(&buf[1..], size)?;
                ZSTD_DCTX.with(|d| Ok(d.borrow_mut().decompress(&buf[1..], size)?))
            }
            ZSTD_DICT if buf.len() >= 5 => {
                let id = u32::from_le_bytes(buf[1..5].try_into().expect("4 bytes"));
                let dict = self.dictionaries.decoder(id).ok_or_else(|| {
                    anyhow::anyhow!(
                        "compressed with dictionary {id:08x}, which the store does not hold"
                    )
                })?;
                let size = frame_size(&buf[5..], size)?;
                ZSTD_DICT_DCTX.with(|d| {
                    let mut d = d.borrow_mut();
                    d.set_prepared_dictionary(dict)?;
                    Ok(d.decompress(&buf[5..], size)?)
                })
            }
            other => bail!("unknown encoding byte {other}"),
        }
    }
}

/// What a sealed object may open to.
#[derive(Clone, Copy)]
enum Size {
    AtMost(u64),
    Exactly(u64),
}

/// The content size a zstd frame declares, when `size` allows it: decompression allocates
/// exactly this much, so it is never more than the caller's bound.
fn frame_size(frame: &[u8], size: Size) -> Result<usize> {
    let declared = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .filter(|&n| n <= MAX_PLAINTEXT)
        .ok_or_else(|| anyhow::anyhow!("zstd frame without a plausible content size"))?;
    match size {
        Size::AtMost(limit) if declared > limit => {
            bail!("zstd frame declares {declared} bytes, more than the {limit} allowed here")
        }
        Size::Exactly(len) if declared != len => {
            bail!("zstd frame declares {declared} bytes, the index says {len}")
        }
        _ => Ok(usize::try_from(declared)?),
    }
}

/// Appends `ZSTD || frame` when that is smaller than the plaintext.
fn compress(plaintext: &[u8], out: &mut Vec<u8>) -> bool {
    with_encoder(None, |e| match e.compress(plaintext) {
        Some(frame) if frame.len() < plaintext.len() => {
            out.push(ZSTD);
            out.extend_from_slice(frame);
            true
        }
        _ => false,
    })
    .unwrap_or(false)
}

/// Appends `ZSTD_DICT || id || frame` when that is smaller than the plaintext.
fn compress_with_dictionary(
    id: u32,
    dict: EncoderDict,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    with_encoder(Some((id, dict)), |e| match e.compress(plaintext) {
        Some(frame) if frame.len() + 5 < plaintext.len() => {
            out.push(ZSTD_DICT);
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(frame);
            true
        }
        _ => false,
    })
    .unwrap_or(false)
}

type EncoderDict = &'static zstd::dict::EncoderDictionary<'static>;

/// A compression context with its output buffer. Creating one per blob dominated small files;
/// keeping one per thread cost several MiB in each of the blocking pool's many threads. A few
/// shared ones serve: as many are made as blobs are sealed at once, and a handful are kept.
struct Encoder {
    dict: Option<u32>,
    ctx: zstd::bulk::Compressor<'static>,
    buf: Vec<u8>,
}

impl Encoder {
    fn compress(&mut self, data: &[u8]) -> Option<&[u8]> {
        self.buf.clear();
        self.buf
            .reserve(zstd::zstd_safe::compress_bound(data.len()));
        let n = self.ctx.compress_to_buffer(data, &mut self.buf).ok()?;
        Some(&self.buf[..n])
    }
}

static ENCODERS: std::sync::Mutex<Vec<Encoder>> = std::sync::Mutex::new(Vec::new());
const KEEP_ENCODERS: usize = 6;
const KEEP_ENCODER_BUFFER: usize = 4 << 20;

fn with_encoder<R>(
    dict: Option<(u32, EncoderDict)>,
    f: impl FnOnce(&mut Encoder) -> R,
) -> Option<R> {
    let want = dict.map(|(id, _)| id);
    let found = {
        let mut free = ENCODERS.lock().expect("encoders");
        free.iter()
            .position(|e| e.dict == want)
            .map(|i| free.swap_remove(i))
    };
    let mut encoder = match found {
        Some(e) => e,
        None => Encoder {
            dict: want,
            ctx: match dict {
                Some((_, d)) => {
                    let mut c = zstd::bulk::Compressor::with_prepared_dictionary(d).ok()?;
                    // Above 16 KiB zstd copies the dictionary's tables into the context for
                    // every blob; referring to them in place compressed kloset's 16-128 KiB
                    // blobs of Linux's sources 20 % faster to the same size.
                    // A zstd without the parameter still compresses, only slower.
                    let attach = CParameter::ForceAttachDict(DictAttachPref::ForceAttach);
                    let _ = c.set_parameter(attach);
                    c
                }
                None => zstd::bulk::Compressor::new(LEVEL).ok()?,
            },
            buf: Vec::new(),
        },
    };
    let out = f(&mut encoder);
    if encoder.buf.capacity() > KEEP_ENCODER_BUFFER {
        encoder.buf = Vec::new();
    }
    let mut free = ENCODERS.lock().expect("encoders");
    if free.len() < KEEP_ENCODERS {
        free.push(encoder);
    }
    Some(out)
}

thread_local! {
    static ZSTD_DCTX: RefCell<zstd::bulk::Decompressor<'static>> =
        RefCell::new(zstd::bulk::Decompressor::new().expect("zstd decompression context"));
    /// Kept apart from the plain context: a referenced dictionary would apply to every frame.
    static ZSTD_DICT_DCTX: RefCell<zstd::bulk::Decompressor<'static>> =
        RefCell::new(zstd::bulk::Decompressor::new().expect("zstd decompression context"));
}

fn worth_compressing(data: &[u8]) -> bool {
    if data.len() < 64 {
        return false;
    }
    if data.len() < ENTROPY_SAMPLE {
        return true;
    }
    if data.len() < SAMPLE_FROM {
        return entropy_bits(&data[..ENTROPY_SAMPLE]) < INCOMPRESSIBLE_BITS;
    }
    // Start, middle and end: compressing a sample first cost 64 KiB of level-3 work on every
    // large blob, most of which compress anyway; media is near 8 bits per byte throughout.
    let mid = data.len() / 2 - ENTROPY_SAMPLE / 2;
    [0, mid, data.len() - ENTROPY_SAMPLE]
        .iter()
        .any(|&at| entropy_bits(&data[at..at + ENTROPY_SAMPLE]) < INCOMPRESSIBLE_BITS)
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

/// A key wrapped under a passphrase-derived key; stored in the plaintext `config` and `keys/`.
pub fn wrap_key(kek: &[u8; 32], aad: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let nonce: [u8; NONCE_LEN] = random_bytes();
    // Encrypted in place: it holds the key only until then.
    let mut buf = key.to_vec();
    let tag = encrypt(&aes_key(kek), nonce, aad, &mut buf);
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out.extend_from_slice(&tag);
    out
}

/// Returns None when the tag does not verify: the passphrase was wrong.
pub fn unwrap_key(kek: &[u8; 32], aad: &[u8], wrapped: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    if wrapped.len() != NONCE_LEN + 32 + TAG_LEN {
        return None;
    }
    let (nonce, rest) = wrapped.split_at(NONCE_LEN);
    let mut buf = Zeroizing::new(rest.to_vec());
    let len = decrypt(&aes_key(kek), nonce, aad, &mut buf)?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(buf.get(..len).filter(|k| k.len() == 32)?);
    Some(key)
}

// AES-256-GCM through the `aes-gcm` crate (AES-NI and CLMUL picked at run time). Measured
// against ring's assembly: 1.0 against 4.0 GiB/s sealing 1 MiB blobs on one core, i.e. about
// 0.2 s of CPU per GiB stored; blobs are compressed first, so this is a few percent of a backup.
fn aes_key(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

fn encrypt(key: &Aes256Gcm, nonce: [u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
    key.encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, buf)
        .expect("AES-GCM encryption cannot fail for in-memory buffers")
        .into()
}

/// Decrypts `ciphertext || tag` in place; Some(plaintext length) when the tag verifies.
fn decrypt(key: &Aes256Gcm, nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> Option<usize> {
    if nonce.len() != NONCE_LEN || buf.len() < TAG_LEN {
        return None;
    }
    let len = buf.len() - TAG_LEN;
    let (body, tag) = buf.split_at_mut(len);
    let tag = Tag::clone_from_slice(tag);
    key.decrypt_in_place_detached(Nonce::from_slice(nonce), aad, body, &tag)
        .ok()
        .map(|_| len)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests;
