//! The store's security parameters: the ranges a reader accepts (checked before anything uses
//! them, Argon2 above all) and their canonical encoding, which every wrapped master key carries
//! as AEAD associated data. FORMAT.md, "Bound parameters".

use anyhow::Result;

use super::config::{ChunkerParams, KdfParams, StoreConfig};
use crate::error::KlosetError;

/// Packs hold blobs at u32 offsets and a pack may overrun its target by one blob (a chunk of at
/// most 16 MiB, a tree of at most 1 GiB): 512 MiB keeps every offset far inside u32. The
/// floor is below what `create` offers (1 MiB) so tests and the simulation can use tiny packs.
pub const PACK_SIZE: std::ops::RangeInclusive<u64> = (16 << 10)..=(512 << 20);

/// Argon2id costs a reader runs at most: a machine with 2 GiB of RAM survives the memory cap,
/// and a planted key object can cost an open a minute, never an abort.
pub const KDF_MAX_MEMORY_KIB: u32 = 1 << 20;
pub const KDF_MAX_ITERATIONS: u32 = 64;
pub const KDF_MAX_PARALLELISM: u32 = 16;
/// Argon2id's own floor is 8 KiB per lane.
pub const KDF_MIN_MEMORY_KIB: u32 = 8;
const SALT_BYTES: std::ops::RangeInclusive<usize> = 8..=64;

/// Today's `create` defaults: `key add` and `key passwd` never wrap below them.
pub const KDF_DEFAULT_MEMORY_KIB: u32 = 64 * 1024;
pub const KDF_DEFAULT_ITERATIONS: u32 = 3;
pub const KDF_DEFAULT_PARALLELISM: u32 = 1;

/// The first line of every bound AAD: names the encoding, so a later one cannot be confused
/// with it.
const AAD_HEADER: &str = "kloset bound parameters v1\n";

fn out_of_range(what: String) -> anyhow::Error {
    KlosetError::Integrity(format!(
        "the store's config has {what}: it was altered or damaged; put back a copy of the config object"
    ))
    .into()
}

/// Every parameter of the config a reader uses, in range; called before any is used.
pub fn check_config(config: &StoreConfig) -> Result<()> {
    if !PACK_SIZE.contains(&config.pack_size) {
        return Err(out_of_range(format!(
            "pack_size {}, outside {}..={}",
            config.pack_size,
            PACK_SIZE.start(),
            PACK_SIZE.end()
        )));
    }
    check_chunker(&config.chunker).map_err(out_of_range)?;
    check_kdf(&config.kdf).map_err(|why| out_of_range(format!("KDF parameters {why}")))
}

/// FastCDC's own ranges (it panics outside them), and min <= avg <= max.
pub fn check_chunker(c: &ChunkerParams) -> std::result::Result<(), String> {
    use fastcdc::v2020::{
        AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN,
    };
    let sizes = [
        ("min_size", c.min_size, MINIMUM_MIN, MINIMUM_MAX),
        ("avg_size", c.avg_size, AVERAGE_MIN, AVERAGE_MAX),
        ("max_size", c.max_size, MAXIMUM_MIN, MAXIMUM_MAX),
    ];
    for (name, value, lo, hi) in sizes {
        if !(lo..=hi).contains(&value) {
            return Err(format!("chunker {name} {value}, outside {lo}..={hi}"));
        }
    }
    if !(c.min_size <= c.avg_size && c.avg_size <= c.max_size) {
        return Err(format!(
            "chunker sizes out of order (min {}, avg {}, max {})",
            c.min_size, c.avg_size, c.max_size
        ));
    }
    Ok(())
}

/// Within what Argon2id accepts and under the caps; the reason when not (never the salt).
pub fn check_kdf(k: &KdfParams) -> std::result::Result<(), String> {
    if k.algorithm != "argon2id" {
        return Err(format!(
            "with the unsupported algorithm '{}'",
            k.algorithm.escape_debug()
        ));
    }
    let costs = [
        (
            "memory_kib",
            k.memory_kib,
            KDF_MIN_MEMORY_KIB,
            KDF_MAX_MEMORY_KIB,
        ),
        ("iterations", k.iterations, 1, KDF_MAX_ITERATIONS),
        ("parallelism", k.parallelism, 1, KDF_MAX_PARALLELISM),
    ];
    for (name, value, lo, hi) in costs {
        if !(lo..=hi).contains(&value) {
            return Err(format!("with {name} {value}, outside {lo}..={hi}"));
        }
    }
    if k.memory_kib < 8 * k.parallelism {
        return Err("with less than 8 KiB of memory per lane".into());
    }
    let salt_ok = hex::decode(&k.salt).is_ok_and(|s| SALT_BYTES.contains(&s.len()))
        && k.salt
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !salt_ok {
        return Err(format!(
            "with a salt that is not {}..={} bytes of lowercase hex",
            SALT_BYTES.start(),
            SALT_BYTES.end()
        ));
    }
    Ok(())
}

/// `key add` and `key passwd`: the config's cost where it is higher, today's defaults where
/// it is lower (a config may have been made cheap, or lowered by someone without the key on a
/// store that had no MAC yet).
pub fn kdf_floor(config: &KdfParams, salt: String) -> KdfParams {
    KdfParams {
        algorithm: "argon2id".into(),
        memory_kib: config
            .memory_kib
            .clamp(KDF_DEFAULT_MEMORY_KIB, KDF_MAX_MEMORY_KIB),
        iterations: config
            .iterations
            .clamp(KDF_DEFAULT_ITERATIONS, KDF_MAX_ITERATIONS),
        parallelism: config
            .parallelism
            .clamp(KDF_DEFAULT_PARALLELISM, KDF_MAX_PARALLELISM),
        salt,
    }
}

/// The (name, value) pairs a wrapped key is bound to, in their fixed order. Optional config
/// fields go at the end, each only when present, so stores without them keep their AAD.
pub fn bound_pairs(config: &StoreConfig, kdf: &KdfParams) -> Vec<(&'static str, String)> {
    vec![
        ("format", config.format.clone()),
        ("version", config.version.to_string()),
        ("id", config.id.hex()),
        ("chunker.min_size", config.chunker.min_size.to_string()),
        ("chunker.avg_size", config.chunker.avg_size.to_string()),
        ("chunker.max_size", config.chunker.max_size.to_string()),
        ("pack_size", config.pack_size.to_string()),
        ("kdf.algorithm", kdf.algorithm.clone()),
        ("kdf.memory_kib", kdf.memory_kib.to_string()),
        ("kdf.iterations", kdf.iterations.to_string()),
        ("kdf.parallelism", kdf.parallelism.to_string()),
        ("kdf.salt", kdf.salt.clone()),
    ]
}

/// `AAD_HEADER`, then `name=value\n` per pair. Names never hold `=`, values never `\n` (the
/// checks above admit only digits, hex and fixed words), so the encoding is unambiguous.
pub fn bound_aad(config: &StoreConfig, kdf: &KdfParams) -> Vec<u8> {
    encode(&bound_pairs(config, kdf))
}

fn encode(pairs: &[(&str, String)]) -> Vec<u8> {
    let mut out = AAD_HEADER.as_bytes().to_vec();
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        // A value with a newline cannot come from a checked config; escaped all the same so
        // two configs never share an encoding.
        out.extend_from_slice(value.escape_debug().to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests;
