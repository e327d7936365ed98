//! How large each kind of store object can be, in one place. Every object is read from the
//! store only after its size (listed, from the cache file's metadata, or from the response
//! before its body is read) was checked against its kind's bound; an object over it is damage
//! (never read whole), and every writer stays under the same bounds. FORMAT.md, "Bounds".

use std::sync::OnceLock;

/// Config, key objects, leases, locks, marks, damage records: a few hundred bytes each.
pub const SMALL_OBJECT: u64 = 64 * 1024;
/// A snapshot manifest: a few KiB (its paths and tags are what the command line gave).
pub const SNAPSHOT: u64 = 16 * 1024 * 1024;
/// A sealed dictionary: zstd dictionaries of `dictionary::DICT_SIZE` (64 KiB).
pub const DICTIONARY: u64 = 1024 * 1024;
/// The largest pack size `create` accepts (`--pack-size-mib`); a config claiming more is
/// bounded as if it said this.
pub const MAX_PACK_SIZE: u64 = 512 * 1024 * 1024;
/// No blob (a chunk, or a tree of a huge directory) is more than this in plaintext: readers
/// refuse more, and writers never write a tree beyond it (`tree_limit`).
pub const MAX_BLOB: u64 = 1 << 30;
/// What sealing adds to a plaintext: nonce, encoding byte, tag (and a dictionary id).
pub const SEAL_OVERHEAD: u64 = 12 + 1 + 16 + 4;
/// The smallest sealed blob: an empty plaintext, stored raw.
pub const MIN_SEALED_BLOB: u64 = 12 + 1 + 16;
/// Index files hold at most this many blobs (an empty pack entry counts as one), except that
/// one pack is never split: the pack that reaches this count is the file's last.
pub const BLOBS_PER_INDEX_FILE: usize = 100_000;
/// The JSON of one blob entry, at most (64 hex digits of id, ten-digit offsets and lengths),
/// with the JSON of its pack entry: more than kloset ever writes.
const ENTRY_JSON: u64 = 256;
/// Room for JSON brackets, a seal, and rounding.
const SLACK: u64 = 64 * 1024;
/// Metadata (index files, snapshots, pack headers, dictionaries) is JSON of random ids, or a
/// dictionary: zstd shrinks it a few times at most. A frame claiming to inflate more than this
/// is damage, so a small object never makes a reader allocate for a claim.
pub const METADATA_RATIO: u64 = 64;

/// Blobs one pack can hold at most: a pack is closed once it reaches `pack_size`.
pub fn blobs_per_pack(pack_size: u64) -> u64 {
    pack_size.min(MAX_PACK_SIZE) / MIN_SEALED_BLOB + 1
}

/// A sealed pack header (the JSON of every blob entry of one pack).
pub fn pack_header(pack_size: u64) -> u64 {
    blobs_per_pack(pack_size) * ENTRY_JSON + SLACK
}

/// A sealed index file, as the pack writer, prune and repair size them.
pub fn index_file(pack_size: u64) -> u64 {
    (BLOBS_PER_INDEX_FILE as u64 + blobs_per_pack(pack_size)) * ENTRY_JSON + SLACK
}

/// A whole pack whose blobs end at `end` (by its index entry): the blobs, the header, the
/// 4-byte header length.
pub fn pack(end: u64, pack_size: u64) -> u64 {
    end.saturating_add(4 + pack_header(pack_size))
}

/// The plaintext a sealed metadata object of `sealed` bytes may open to, within its kind's
/// bound `kind`.
pub fn metadata_plaintext(sealed: usize, kind: u64) -> u64 {
    (sealed as u64)
        .saturating_mul(METADATA_RATIO)
        .saturating_add(SLACK)
        .min(kind)
}

/// A directory whose tree is larger than this is written as pages of at most this much
/// (`tree_pages`): readers need not hold a huge blob, nor writers write one. With `KLOSET_TEST_TREE_LIMIT`, the limit (tests page small directories).
pub const TREE_PAGE: u64 = 16 * 1024 * 1024;

pub fn tree_page() -> u64 {
    TREE_PAGE_FOR_TESTS
        .get()
        .copied()
        .unwrap_or(TREE_PAGE)
        .min(tree_limit())
}

static TREE_LIMIT: OnceLock<u64> = OnceLock::new();
static TREE_PAGE_FOR_TESTS: OnceLock<u64> = OnceLock::new();

/// For the simulation, which runs in one process: directories larger than `n` bytes are
/// written as pages from now on, while a tree may still be as large as ever (a node of a file
/// of many chunks alone passes a small page; limiting trees to it would refuse the backup).
#[doc(hidden)]
pub fn set_tree_page_for_tests(n: u64) {
    let _ = TREE_PAGE_FOR_TESTS.set(n.min(MAX_BLOB));
}

/// The largest tree blob a backup writes: `MAX_BLOB`, or less when `KLOSET_TEST_TREE_LIMIT` asks
/// (tests show the refusal without a 1 GiB directory).
pub fn tree_limit() -> u64 {
    *TREE_LIMIT.get_or_init(|| {
        std::env::var("KLOSET_TEST_TREE_LIMIT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(MAX_BLOB, |n| n.min(MAX_BLOB))
    })
}

/// Ok when an object of `size` bytes may be read as a `what`; else says why it is not.
pub fn check(what: &str, size: u64, max: u64) -> Result<(), String> {
    if size > max {
        return Err(format!(
            "{what} is {size} bytes, more than the {max} bytes such an object can be: not read"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_files_of_small_packs_stay_well_below_a_planted_64_mib_object() {
        assert!(index_file(1 << 20) < 40 << 20, "{}", index_file(1 << 20));
        // The default 16 MiB packs: still refuses the 300 MB object of the report.
        assert!(index_file(16 << 20) < 300_000_000);
    }

    #[test]
    fn bounds_cover_what_the_writers_write() {
        // An index file of BLOBS_PER_INDEX_FILE entries, each at its longest.
        let entry = r#"{"id":"0000000000000000000000000000000000000000000000000000000000000000","kind":"data","offset":4294967295,"length":4294967295,"raw_length":4294967295},"#;
        let pack = r#"{"id":"0000000000000000000000000000000000000000000000000000000000000000","blobs":[]},"#;
        assert!(((entry.len() + pack.len()) as u64) < ENTRY_JSON);
        assert!(blobs_per_pack(16 << 20) * MIN_SEALED_BLOB >= 16 << 20);
        assert!(pack_header(16 << 20) >= blobs_per_pack(16 << 20) * entry.len() as u64);
    }

    #[test]
    fn a_config_claiming_huge_packs_is_bounded_as_the_largest_allowed() {
        assert_eq!(index_file(u64::MAX), index_file(MAX_PACK_SIZE));
        assert_eq!(pack(u64::MAX, 1 << 20), u64::MAX);
    }

    #[test]
    fn metadata_may_inflate_a_bounded_number_of_times() {
        assert_eq!(metadata_plaintext(0, 1 << 40), SLACK);
        assert_eq!(metadata_plaintext(1000, 1 << 40), 64_000 + SLACK);
        assert_eq!(metadata_plaintext(usize::MAX, 77), 77);
    }

    #[test]
    fn check_names_the_object_and_both_sizes() {
        assert!(check("index file x", 10, 10).is_ok());
        let e = check("index file x", 11, 10).unwrap_err();
        assert!(
            e.contains("index file x is 11 bytes") && e.contains("10 bytes"),
            "{e}"
        );
    }
}
