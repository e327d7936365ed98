//! What the hardware allows for one tree: each stage of a backup and of a restore timed on one
//! core, with kloset's own chunker, ids and sealing, so `scripts/bench` can show a backup or a
//! restore as a multiple of its floor (the sum of the stages, spread over the cores) instead of
//! only as a ratio to another tool.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use fastcdc::v2020::{FastCDC, Normalization};

use crate::repo::config::ChunkerParams;
use crate::repo::crypto::Keys;

/// CPU stages run on a sample of this much content, spread over the whole tree.
const SAMPLE_BYTES: u64 = 256 << 20;
/// Files are read in blocks of this size (the largest chunk FastCDC makes).
const READ_BLOCK: usize = 8 << 20;
/// Files created for the creation stage.
const CREATE_FILES: usize = 20_000;

/// Seconds one core spends on each stage for the whole tree.
#[derive(Debug, Default)]
pub struct Limits {
    pub files: u64,
    pub bytes: u64,
    pub read: f64,
    pub chunk: f64,
    pub hash: f64,
    pub zstd1: f64,
    pub zstd3: f64,
    pub seal: f64,
    pub open: f64,
    pub create: f64,
}

impl Limits {
    /// A first backup reads, chunks, ids and seals everything.
    pub fn backup_floor(&self, cores: usize) -> f64 {
        (self.read + self.chunk + self.hash + self.seal) / cores.max(1) as f64
    }

    /// A restore opens and checks every blob and creates every file.
    pub fn restore_floor(&self, cores: usize) -> f64 {
        (self.open + self.hash + self.create) / cores.max(1) as f64
    }
}

/// Times every stage on `tree`; `scratch` is a directory on the disk a restore would write to,
/// where the files of the creation stage are left.
pub fn measure(tree: &Path, scratch: &Path) -> Result<Limits> {
    let files = regular_files(tree);
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    let mut out = Limits {
        files: files.len() as u64,
        bytes: total,
        ..Default::default()
    };

    let started = Instant::now();
    let mut sample = Vec::new();
    let mut taken = 0u64;
    for (i, (path, _)) in files.iter().enumerate() {
        // Every file contributes in proportion, so the sample has the tree's mix of content;
        // read in blocks, so one huge file is not held whole.
        let due = (SAMPLE_BYTES as u128 * (i as u128 + 1) / files.len().max(1) as u128) as u64;
        let Ok(mut f) = std::fs::File::open(path) else {
            continue;
        };
        loop {
            let mut block = Vec::with_capacity(READ_BLOCK);
            match (&mut f).take(READ_BLOCK as u64).read_to_end(&mut block) {
                Ok(0) | Err(_) => break,
                Ok(n) if taken < due => {
                    taken += n as u64;
                    sample.push(block);
                }
                Ok(_) => {}
            }
        }
    }
    out.read = started.elapsed().as_secs_f64();
    let sampled: u64 = sample.iter().map(|b| b.len() as u64).sum();
    let scale = total as f64 / sampled.max(1) as f64;

    let keys = Keys::from_master(&[7; 32]);
    let params = ChunkerParams::default();
    let started = Instant::now();
    let mut chunks: Vec<&[u8]> = Vec::new();
    for data in &sample {
        let cdc = FastCDC::with_level_and_seed(
            data,
            params.min_size,
            params.avg_size,
            params.max_size,
            Normalization::Level1,
            keys.chunker_seed,
        );
        chunks.extend(cdc.map(|c| &data[c.offset..c.offset + c.length]));
    }
    out.chunk = started.elapsed().as_secs_f64() * scale;

    let started = Instant::now();
    for c in &chunks {
        std::hint::black_box(keys.blob_id(c));
    }
    out.hash = started.elapsed().as_secs_f64() * scale;

    for (level, slot) in [(1, &mut out.zstd1), (3, &mut out.zstd3)] {
        let mut ctx = zstd::bulk::Compressor::new(level)?;
        let started = Instant::now();
        for c in &chunks {
            std::hint::black_box(ctx.compress(c)?);
        }
        *slot = started.elapsed().as_secs_f64() * scale;
    }

    let started = Instant::now();
    let mut sealed = Vec::with_capacity(chunks.len());
    for c in &chunks {
        let mut s = Vec::new();
        keys.seal_data_into(b"limits", c, &mut s);
        sealed.push(s);
    }
    out.seal = started.elapsed().as_secs_f64() * scale;

    let started = Instant::now();
    for s in &sealed {
        std::hint::black_box(keys.open(b"limits", s)?);
    }
    out.open = started.elapsed().as_secs_f64() * scale;

    out.create = create_files(&files, scratch)?;
    Ok(out)
}

fn regular_files(tree: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut dirs = vec![tree.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(e.path()),
                Ok(t) if t.is_file() => {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    out.push((e.path(), size));
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Seconds to create, write and close every file of the tree, from the cost of the first
/// `CREATE_FILES` of them (with their sizes, in directories of the tree's shape).
fn create_files(files: &[(PathBuf, u64)], scratch: &Path) -> Result<f64> {
    // Kept: deleting thousands of files makes ext4's next creations crawl (it searches recently
    // freed inodes), which would slow whatever is timed next. The caller removes them later.
    let dir = tempfile::Builder::new()
        .prefix("kloset-limits-")
        .tempdir_in(scratch)?
        .keep();
    let picked: Vec<&(PathBuf, u64)> = files.iter().take(CREATE_FILES).collect();
    let zeros = vec![0x5au8; picked.iter().map(|(_, s)| *s).max().unwrap_or(0) as usize];
    let started = Instant::now();
    let mut made = std::collections::HashSet::new();
    for (i, (path, size)) in picked.iter().enumerate() {
        let sub = dir.join(format!(
            "{:x}",
            path.parent().map(|p| p.as_os_str().len()).unwrap_or(0) % 64
        ));
        if made.insert(sub.clone()) {
            std::fs::create_dir_all(&sub)?;
        }
        let mut f = std::fs::File::create(sub.join(i.to_string()))?;
        f.write_all(&zeros[..*size as usize])?;
    }
    let per_file = started.elapsed().as_secs_f64() / picked.len().max(1) as f64;
    Ok(per_file * files.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_spread_the_stages_over_the_cores() {
        let l = Limits {
            read: 1.0,
            chunk: 1.0,
            hash: 0.5,
            seal: 1.5,
            open: 1.0,
            create: 2.5,
            ..Default::default()
        };
        assert_eq!(l.backup_floor(2), 2.0);
        assert_eq!(l.restore_floor(2), 2.0);
    }

    #[test]
    fn every_stage_is_timed_on_a_small_tree() {
        let tree = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(tree.path().join(format!("f{i}")), vec![i as u8; 5000 * i]).unwrap();
        }
        let scratch = tempfile::tempdir().unwrap();
        let l = measure(tree.path(), scratch.path()).unwrap();
        assert_eq!(l.files, 20);
        assert_eq!(l.bytes, (0..20).map(|i| 5000 * i as u64).sum::<u64>());
        assert!(l.seal > 0.0 && l.create > 0.0);
    }
}
