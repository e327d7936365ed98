//! Fuzz targets, one per parser of store objects: the config, key objects, index files, pack
//! headers, trees (and blobs), snapshots, dictionaries, marks, leases and locks, and the
//! sealed-object decoder itself. Every object read from a store is hostile input: none may
//! panic, abort, or allocate more than a bounded multiple of its size. In the suite each
//! target runs a short slice; `scripts/fuzz SECONDS` runs each for longer (see `fuzzer`).

mod fuzzer;

use chrono::{TimeZone, Utc};
use fuzzer::{Budget, Counting};
use kloset::repo::config::{KdfCost, KdfParams, StoreConfig};
use kloset::repo::crypto::{unwrap_key, Keys};
use kloset::repo::id::Id;
use kloset::repo::index::{BlobEntry, BlobKind, Index, IndexFile, PackEntry};
use kloset::repo::keys::{parse_key_file, KeyFile};
use kloset::repo::pack::{read_header, PackBuilder, HEADER_AAD};
use kloset::repo::snapshot::{Snapshot, Summary};
use kloset::repo::tree::{Node, NodeKind, S3Meta, Tree, Xattr};
use kloset::repo::tree_pages::{parse_tree_blob, TreeBlob};
use kloset::repo::{
    decode_dictionary, dictionary, load, maintenance, open_blob, DICTIONARY_AAD, INDEX_AAD,
    SNAPSHOT_AAD,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const PACK_SIZE: u64 = 16 << 20;
/// JSON parsed into Rust structs: a node of a few dozen bytes of JSON is a few hundred in
/// memory (and vectors double as they grow).
const JSON: Budget = Budget {
    k: 48,
    c: 256 << 10,
};

fn keys() -> Keys {
    Keys::from_master(&[42u8; 32])
}

fn blob(n: u8, offset: u32, length: u32, raw_length: u32, kind: BlobKind) -> BlobEntry {
    BlobEntry {
        id: Id([n; 32]),
        kind,
        offset,
        length,
        raw_length,
    }
}

#[test]
fn config() {
    let (config, _) = StoreConfig::new(
        "p",
        KdfCost {
            memory_kib: 8,
            iterations: 1,
        },
        PACK_SIZE,
        None,
    )
    .unwrap();
    let keyless = config.without_own_key(&[1u8; 32]).unwrap();
    let seeds = vec![
        serde_json::to_vec_pretty(&config).unwrap(),
        serde_json::to_vec(&keyless).unwrap(),
    ];
    // The parse, and what opening does before the KDF: the mac and the wrapped key's form.
    fuzzer::run("config", &seeds, JSON, |raw| {
        if let Ok(c) = serde_json::from_slice::<StoreConfig>(raw) {
            let _ = c.has_own_key();
            let _ = c.verify_mac(&[0u8; 32]);
            if let Ok(wrapped) = hex::decode(&c.master_key) {
                let _ = unwrap_key(&[0u8; 32], &c.id.0, &wrapped);
            }
        }
    });
}

#[test]
fn key_objects() {
    let file = KeyFile {
        created: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
        host: "web1".into(),
        user: "root".into(),
        kdf: KdfParams {
            algorithm: "argon2id".into(),
            memory_kib: 65536,
            iterations: 3,
            parallelism: 1,
            salt: "00".repeat(16),
        },
        master_key: "ab".repeat(60),
        passphrase_check: Some("cd".repeat(16)),
    };
    let seeds = vec![serde_json::to_vec_pretty(&file).unwrap()];
    fuzzer::run("key objects", &seeds, JSON, |raw| {
        if let Some(k) = parse_key_file(raw) {
            if let Ok(wrapped) = hex::decode(&k.master_key) {
                let _ = unwrap_key(&[0u8; 32], &[0u8; 32], &wrapped);
            }
        }
    });
}

fn index_seed() -> Vec<u8> {
    serde_json::to_vec(&index_sample()).unwrap()
}

fn index_sample() -> IndexFile {
    let packs = (0..3u8)
        .map(|p| PackEntry {
            id: Id([p; 32]),
            blobs: (0..6u8)
                .map(|b| blob(p * 16 + b, b as u32 * 100, 100, 80, BlobKind::Data))
                .collect(),
        })
        .collect();
    IndexFile { packs }
}

#[test]
fn index_files() {
    let keys = keys();
    let seeds = vec![
        index_seed(),
        b"{\"packs\":[]}".to_vec(),
        kloset::repo::index_codec::encode(&index_sample()),
    ];
    fuzzer::run_prepared(
        "index files",
        &seeds,
        JSON,
        |json| keys.seal(INDEX_AAD, json),
        |raw| {
            // Loaded as a store loads it: parsed, checked, and added to the index.
            if let Ok(file) = load::decode_index(&keys, "index/x", raw, PACK_SIZE) {
                let mut index = Index::default();
                index.add_files(vec![file], |id| id.0[0] % 3);
                for (n, id) in index.pack_ids().iter().enumerate() {
                    let _ = (index.pack_end(n as u32), index.has_pack(id));
                }
                let _ = index.pack_entries();
            }
        },
    );
}

#[test]
fn pack_headers() {
    let keys = keys();
    let mut builder = PackBuilder::default();
    for n in 0..5u8 {
        let data = vec![n; 100 + n as usize];
        let id = keys.blob_id(&data);
        builder.add(id, BlobKind::Data, &keys.seal(&id.0, &data), data.len());
    }
    let pack = builder.finish(&keys);
    let header = serde_json::to_vec(&pack.entry.blobs).unwrap();
    // Mutated header JSON, sealed into a pack's tail; mutated tails as they are (the length
    // field, truncation) come in as raw bytes.
    let tail = |json: &[u8]| {
        let sealed = keys.seal(HEADER_AAD, json);
        let mut out = vec![0u8; 64];
        out.extend_from_slice(&sealed);
        out.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        out
    };
    fuzzer::run_prepared("pack headers", &[header], JSON, tail, |raw| {
        let _ = read_header(&keys, raw, PACK_SIZE);
    });
    fuzzer::run("pack tails", &[pack.bytes.to_vec()], JSON, |raw| {
        let _ = read_header(&keys, raw, PACK_SIZE);
    });
}

fn tree_seed() -> Vec<u8> {
    let mut file = Node::new("f".into(), NodeKind::File);
    file.content = vec![Id([1u8; 32]), Id([2u8; 32])];
    file.size = 12345;
    file.links = 2;
    file.device = 5;
    file.xattrs = vec![Xattr {
        name: "user.k".into(),
        value: "76".into(),
    }];
    let mut dir = Node::new("d".into(), NodeKind::Dir);
    dir.subtree = Some(Id([3u8; 32]));
    dir.name_raw = Some("64ff".into());
    let mut link = Node::new("l".into(), NodeKind::Symlink);
    link.target = Some("../x".into());
    link.target_raw = Some("2e2eff".into());
    let mut obj = Node::new("o".into(), NodeKind::File);
    obj.s3 = Some(Box::new(S3Meta {
        key: "p/o".into(),
        etag: Some("\"e\"".into()),
        ..S3Meta::default()
    }));
    let tree = Tree::new(vec![
        file,
        dir,
        link,
        obj,
        Node::new("fifo".into(), NodeKind::Fifo),
    ]);
    serde_json::to_vec(&tree).unwrap()
}

#[test]
fn trees() {
    let id = Id([9u8; 32]);
    fuzzer::run("trees", &[tree_seed()], JSON, |raw| {
        if let Ok(TreeBlob::Whole(tree)) = parse_tree_blob(&id, raw) {
            for n in &tree.nodes {
                let _ = (n.name_bytes(), n.target_bytes(), n.kind.is_special());
            }
        }
    });
}

#[test]
fn blobs() {
    // A tree blob as a reader opens it: sealed under its id, checked against the index's
    // raw_length (the seed's own, or one off).
    let keys = keys();
    let seeds = vec![tree_seed(), vec![0u8; 3000]];
    fuzzer::run_prepared(
        "blobs",
        &seeds,
        JSON,
        |plain| {
            let id = keys.blob_id(plain);
            let mut out = id.0.to_vec();
            out.extend_from_slice(
                &(plain.len() as u32 + (plain.len() % 3 == 0) as u32).to_le_bytes(),
            );
            out.extend_from_slice(&keys.seal(&id.0, plain));
            out
        },
        |raw| {
            if raw.len() < 36 {
                return;
            }
            let id = Id(raw[..32].try_into().unwrap());
            let raw_length = u32::from_le_bytes(raw[32..36].try_into().unwrap());
            if let Ok(plain) = open_blob(&keys, &id, &raw[36..], raw_length) {
                assert_eq!(plain.len(), raw_length as usize);
                let _ = parse_tree_blob(&id, &plain);
            }
        },
    );
}

#[test]
fn snapshots() {
    let keys = keys();
    let snap = Snapshot {
        time: "2024-05-06T07:08:09.123456789Z".parse().unwrap(),
        host: "web1".into(),
        user: "root".into(),
        source: "/srv".into(),
        source_key: "fs:web1:/srv".into(),
        paths: vec!["/srv".into(), "/etc".into()],
        tags: vec!["nightly".into()],
        tree: Id([1u8; 32]),
        parent: Some(Id([2u8; 32])),
        original: Some(Id([3u8; 32])),
        version: 0,
        summary: Summary {
            files: 3,
            bytes: 100,
            duration_secs: 1.5,
            ..Summary::default()
        },
        extra: Default::default(),
    };
    let seeds = vec![serde_json::to_vec(&snap).unwrap()];
    let id = Id([5u8; 32]);
    fuzzer::run_prepared(
        "snapshots",
        &seeds,
        JSON,
        |json| keys.seal(SNAPSHOT_AAD, json),
        |raw| {
            let _ = load::decode_snapshot(&keys, &id, raw);
        },
    );
}

fn trained_dictionary() -> Vec<u8> {
    let samples: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            format!("[s{i}]\nname = \"item {i}\"\nsize = {}\n", i * 7)
                .repeat(4)
                .into_bytes()
        })
        .collect();
    dictionary::train(&samples).expect("a dictionary")
}

#[test]
fn dictionaries() {
    let keys = keys();
    let seeds = vec![trained_dictionary()];
    // zstd prepares dictionaries in C memory, which this allocator does not see: the budget
    // is for what kloset itself allocates.
    fuzzer::run_prepared(
        "dictionaries",
        &seeds,
        JSON,
        |raw| keys.seal(DICTIONARY_AAD, raw),
        |sealed| {
            let _ = decode_dictionary(&keys, sealed);
        },
    );
}

#[test]
fn marks_leases_and_locks() {
    let id = Id([7u8; 32]);
    let marks = vec![format!("retiring/{}.1700000000000", id.hex()).into_bytes()];
    fuzzer::run("marks", &marks, JSON, |raw| {
        let _ = maintenance::parse_marker(&String::from_utf8_lossy(raw));
    });
    let leases = vec![
        br#"{"host":"h","pid":1,"op":"backup","started_ms":1000}"#.to_vec(),
        br#"{"host":"h","pid":1,"op":"sync"}"#.to_vec(),
    ];
    let renewed = Utc.timestamp_millis_opt(90_000).unwrap();
    fuzzer::run("leases", &leases, JSON, |raw| {
        let _ = kloset::repo::lease::started_of(raw, renewed);
    });
    let locks = vec![
        br#"{"host":"h","pid":4194304,"boot_id":"b","pid_ns":"pid:[1]"}"#.to_vec(),
        br#"{"host":"h","pid":1}"#.to_vec(),
    ];
    fuzzer::run("locks", &locks, JSON, |raw| {
        let _ = maintenance::lock_is_dead_here(raw);
    });
}

#[test]
fn sealed_bodies() {
    // The decoder under every sealed object, with bodies the writer would not make: encoding
    // bytes, zstd frames (with and without a dictionary) whose headers claim any size.
    let keys = keys();
    let dict = trained_dictionary();
    let dict_id = keys.dictionaries.add(&dict, false).unwrap();
    let plain = index_seed();
    let frame = zstd::bulk::compress(&plain, 3).unwrap();
    let with_dict = zstd::bulk::Compressor::with_dictionary(3, &dict)
        .unwrap()
        .compress(&plain)
        .unwrap();
    let seeds = vec![
        [&[0u8][..], &plain].concat(),
        [&[1u8][..], &frame].concat(),
        [&[2u8][..], &dict_id.to_le_bytes(), &with_dict].concat(),
        [
            &[1u8][..],
            &zstd::bulk::compress(&vec![0u8; 1 << 20], 19).unwrap(),
        ]
        .concat(),
    ];
    // Decompression may inflate a stored byte METADATA_RATIO times, no more.
    let budget = Budget {
        k: kloset::repo::bounds::METADATA_RATIO as usize + 8,
        c: 256 << 10,
    };
    fuzzer::run_prepared(
        "sealed bodies",
        &seeds,
        budget,
        |body| keys.seal_body(b"aad", body),
        |sealed| {
            let limit = kloset::repo::bounds::metadata_plaintext(sealed.len(), 1 << 30);
            let _ = keys.open_within(b"aad", sealed, limit);
        },
    );
}

/// Each finding fixed, as the case that showed it.
#[test]
fn regressions() {
    let keys = keys();
    // A dictionary with its header right and its tables damaged: zstd prepares nothing, which
    // panicked inside the zstd crate.
    let mut dict = trained_dictionary();
    for b in dict[8..64].iter_mut() {
        *b = 0xff;
    }
    let sealed = keys.seal(DICTIONARY_AAD, &dict);
    assert!(decode_dictionary(&keys, &sealed).is_err());
    // A small frame declaring a gigabyte: refused before anything is allocated for it.
    let frame = zstd::bulk::compress(&vec![0u8; 1 << 24], 19).unwrap();
    let sealed = keys.seal_body(INDEX_AAD, &[&[1u8][..], &frame].concat());
    let peak = fuzzer::peak_of(|| {
        assert!(load::decode_index(&keys, "index/x", &sealed, 1 << 20).is_err());
    });
    assert!(peak < 1 << 20, "{peak}");
    // An index entry whose offset and length overflow u32 when summed: kept apart as u64.
    let wrap = IndexFile {
        packs: vec![PackEntry {
            id: Id([1; 32]),
            blobs: vec![blob(2, u32::MAX - 10, 100, 60, BlobKind::Data)],
        }],
    };
    let sealed = keys.seal(INDEX_AAD, &serde_json::to_vec(&wrap).unwrap());
    let file = load::decode_index(&keys, "index/x", &sealed, PACK_SIZE).unwrap();
    assert_eq!(file.packs[0].end(), u32::MAX as u64 + 90);
    // A pack trailer claiming a 4 GiB header: refused without asking for more bytes.
    let mut tail = vec![0u8; 100];
    tail.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(read_header(&keys, &tail, 1 << 20).is_err());
    // A blob that opens to fewer bytes than the index says is an integrity error, not a
    // misplaced or short write.
    let data = b"twelve bytes".to_vec();
    let id = keys.blob_id(&data);
    let sealed = keys.seal(&id.0, &data);
    assert!(open_blob(&keys, &id, &sealed, 12).is_ok());
    let e = open_blob(&keys, &id, &sealed, 13).unwrap_err();
    assert!(kloset::repo::is_damage(&e), "{e}");
}
