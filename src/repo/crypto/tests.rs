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
    assert_eq!(
        unwrap_key(&[1u8; 32], b"store", &wrapped).map(|k| *k),
        Some(key)
    );
    assert_eq!(unwrap_key(&[2u8; 32], b"store", &wrapped), None);
}

#[test]
fn small_blobs_use_the_dictionary_and_need_it_to_open() {
    let samples: Vec<Vec<u8>> = (0..2000)
        .map(|i| {
            format!(
                "#include <stdio.h>\nint f{i}(int x) {{ return x * {i} + 1; }}\n/* file {i} */\n"
            )
            .repeat(3)
            .into_bytes()
        })
        .collect();
    let dict = dictionary::train(&samples).expect("trained");
    let writer = Keys::from_master(&[7u8; 32]);
    let plain = writer.seal_data_into_vec(b"id", &samples[5]);
    writer.dictionaries.add(&dict, true).unwrap();
    let with_dict = writer.seal_data_into_vec(b"id", &samples[5]);
    assert!(
        with_dict.len() < plain.len(),
        "{} {}",
        with_dict.len(),
        plain.len()
    );
    assert_eq!(writer.open(b"id", &with_dict).unwrap(), samples[5]);
    // Another process without the dictionary fails that blob alone, with a reason.
    let reader = Keys::from_master(&[7u8; 32]);
    assert_eq!(reader.open(b"id", &plain).unwrap(), samples[5]);
    let err = reader.open(b"id", &with_dict).unwrap_err().to_string();
    assert!(err.contains("dictionary"), "{err}");
    // Trees and metadata never use it.
    let mut tree = Vec::new();
    writer.seal_into(b"id", &samples[5], &mut tree);
    assert_eq!(reader.open(b"id", &tree).unwrap(), samples[5]);
}

impl Keys {
    fn seal_data_into_vec(&self, aad: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.seal_data_into(aad, data, &mut out);
        out
    }
}

fn random_vec(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

/// Seals chosen plaintext bytes (encoding byte included) as `open` expects them.
fn craft(keys: &Keys, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = [3u8; NONCE_LEN];
    let mut buf = plaintext.to_vec();
    let tag = encrypt(&keys.cipher, nonce, aad, &mut buf);
    [&nonce[..], &buf, &tag].concat()
}

const OVERHEAD: usize = NONCE_LEN + 1 + TAG_LEN;

#[test]
fn blob_ids_are_keyed_deterministic_and_content_bound() {
    let a = Keys::from_master(&[1u8; 32]);
    let b = Keys::from_master(&[2u8; 32]);
    assert_eq!(a.blob_id(b"x"), a.blob_id(b"x"));
    assert_ne!(a.blob_id(b"x"), a.blob_id(b"y"));
    assert_ne!(a.blob_id(b"x"), b.blob_id(b"x"), "ids depend on the key");
    assert_ne!(a.blob_id(b"x"), Id::of_bytes(b"x"), "not a plain hash");
}

#[test]
fn subkeys_are_derived_deterministically_and_apart() {
    let a = Keys::from_master(&[1u8; 32]);
    let a2 = Keys::from_master(&[1u8; 32]);
    let b = Keys::from_master(&[2u8; 32]);
    assert_eq!(a.chunker_seed, a2.chunker_seed);
    assert_ne!(a.chunker_seed, b.chunker_seed);
    assert_ne!(
        *a.id_key, [1u8; 32],
        "the master key is never used directly"
    );
    let sealed = a.seal(b"aad", b"secret");
    assert_eq!(a2.open(b"aad", &sealed).unwrap(), b"secret");
}

#[test]
fn another_master_key_cannot_open() {
    let a = Keys::from_master(&[1u8; 32]);
    let b = Keys::from_master(&[2u8; 32]);
    let e = b.open(b"aad", &a.seal(b"aad", b"data")).unwrap_err();
    assert!(e.to_string().contains("authentication failed"), "{e}");
}

#[test]
fn sealing_twice_gives_different_bytes_that_both_open() {
    let k = Keys::from_master(&[5u8; 32]);
    let one = k.seal(b"a", b"same plaintext");
    let two = k.seal(b"a", b"same plaintext");
    assert_ne!(one, two, "fresh nonce each time");
    assert_ne!(one[..NONCE_LEN], two[..NONCE_LEN]);
    assert_eq!(k.open(b"a", &one).unwrap(), k.open(b"a", &two).unwrap());
}

#[test]
fn objects_shorter_than_the_minimum_are_truncated_errors() {
    let k = Keys::from_master(&[5u8; 32]);
    for n in [0, 1, NONCE_LEN, OVERHEAD - 1] {
        let e = k.open(b"", &vec![0u8; n]).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{n}: {e}");
    }
    // The smallest valid object: the empty plaintext.
    let empty = k.seal(b"", b"");
    assert_eq!(empty.len(), OVERHEAD);
    assert_eq!(k.open(b"", &empty).unwrap(), b"");
}

#[test]
fn tampering_with_nonce_tag_or_length_fails() {
    let k = Keys::from_master(&[5u8; 32]);
    let sealed = k.seal(b"aad", &vec![b'q'; 5000]);
    let mut nonce = sealed.clone();
    nonce[0] ^= 0x80;
    let mut tag = sealed.clone();
    *tag.last_mut().unwrap() ^= 1;
    let mut longer = sealed.clone();
    longer.push(0);
    let shorter = sealed[..sealed.len() - 1].to_vec();
    for bad in [nonce, tag, longer, shorter] {
        assert!(k.open(b"aad", &bad).is_err());
    }
    assert!(k.open(b"", &sealed).is_err(), "an empty aad is another aad");
}

#[test]
fn tiny_and_random_blobs_are_stored_raw() {
    let k = Keys::from_master(&[5u8; 32]);
    // Under 64 bytes nothing is compressed, however repetitive.
    let tiny = vec![0u8; 63];
    assert_eq!(k.seal(b"", &tiny).len(), OVERHEAD + tiny.len());
    // High-entropy data, small or large, is not even tried.
    for n in [10_000, 300_000] {
        let data = random_vec(n);
        let sealed = k.seal(b"", &data);
        assert_eq!(sealed.len(), OVERHEAD + n, "{n}");
        assert_eq!(k.open(b"", &sealed).unwrap(), data);
    }
}

#[test]
fn compressible_blobs_of_every_size_class_shrink_and_round_trip() {
    let k = Keys::from_master(&[5u8; 32]);
    for n in [64, 1000, 4096, 100_000, SAMPLE_FROM, 2 * SAMPLE_FROM + 7] {
        let data: Vec<u8> = (0..n).map(|i| b"abcabcabd"[i % 9]).collect();
        let sealed = k.seal(b"x", &data);
        assert!(sealed.len() < OVERHEAD + n, "{n}: {}", sealed.len());
        assert_eq!(k.open(b"x", &sealed).unwrap(), data, "{n}");
    }
}

#[test]
fn a_large_blob_is_judged_at_its_start_middle_and_end() {
    let k = Keys::from_master(&[5u8; 32]);
    // Random throughout, as media is: stored raw.
    let data = random_vec(SAMPLE_FROM * 2);
    let sealed = k.seal(b"", &data);
    assert_eq!(sealed.len(), OVERHEAD + data.len());
    assert_eq!(k.open(b"", &sealed).unwrap(), data);
    // A random header before text (an archive member, an image with a long caption): the
    // middle says it compresses.
    let mut data = random_vec(64 * 1024);
    data.resize(SAMPLE_FROM * 2, b'a');
    let sealed = k.seal(b"", &data);
    assert!(sealed.len() < OVERHEAD + data.len() / 2);
    assert_eq!(k.open(b"", &sealed).unwrap(), data);
}

#[test]
fn worth_compressing_boundaries() {
    assert!(!worth_compressing(&[]));
    assert!(!worth_compressing(&[0u8; 63]));
    assert!(worth_compressing(&[0u8; 64]));
    assert!(
        worth_compressing(&random_vec(ENTROPY_SAMPLE - 1)),
        "too short to judge"
    );
    assert!(!worth_compressing(&random_vec(ENTROPY_SAMPLE)));
    assert!(worth_compressing(&vec![7u8; SAMPLE_FROM]));
    assert!(!worth_compressing(&random_vec(SAMPLE_FROM)));
}

#[test]
fn entropy_of_known_distributions() {
    assert_eq!(entropy_bits(&[9u8; 100]), 0.0);
    let halves: Vec<u8> = (0..1000).map(|i| (i % 2) as u8).collect();
    assert!((entropy_bits(&halves) - 1.0).abs() < 1e-9);
    let all: Vec<u8> = (0..=255u8).collect();
    assert!((entropy_bits(&all) - 8.0).abs() < 1e-9);
}

#[test]
fn an_unknown_encoding_byte_is_an_error() {
    let k = Keys::from_master(&[5u8; 32]);
    let e = k.open(b"a", &craft(&k, b"a", &[9, 1, 2, 3])).unwrap_err();
    assert!(e.to_string().contains("unknown encoding byte 9"), "{e}");
    // A dictionary header too short to hold its id.
    let e = k
        .open(b"a", &craft(&k, b"a", &[ZSTD_DICT, 1, 2]))
        .unwrap_err();
    assert!(e.to_string().contains("unknown encoding byte 2"), "{e}");
}

#[test]
fn a_raw_payload_opens_as_written() {
    let k = Keys::from_master(&[5u8; 32]);
    assert_eq!(
        k.open(b"a", &craft(&k, b"a", &[RAW, 4, 5])).unwrap(),
        [4, 5]
    );
    assert_eq!(k.open(b"a", &craft(&k, b"a", &[RAW])).unwrap(), b"");
}

#[test]
fn a_zstd_payload_that_is_not_a_frame_is_an_error_not_a_panic() {
    let k = Keys::from_master(&[5u8; 32]);
    let e = k
        .open(b"a", &craft(&k, b"a", &[ZSTD, 0, 1, 2, 3]))
        .unwrap_err();
    assert!(e.to_string().contains("plausible content size"), "{e}");
    assert!(k.open(b"a", &craft(&k, b"a", &[ZSTD])).is_err());
    // A real frame, cut short.
    let frame = zstd::bulk::compress(&[b'x'; 5000], 3).unwrap();
    let cut = [&[ZSTD][..], &frame[..frame.len() - 4]].concat();
    assert!(k.open(b"a", &craft(&k, b"a", &cut)).is_err());
}

#[test]
fn frame_sizes_come_from_the_frame_header() {
    let frame = zstd::bulk::compress(&[1u8; 12_345], 3).unwrap();
    let any = Size::AtMost(MAX_PLAINTEXT);
    assert_eq!(frame_size(&frame, any).unwrap(), 12_345);
    assert!(frame_size(b"not zstd", any).is_err());
    assert!(frame_size(&[], any).is_err());
    assert!(frame_size(&frame, Size::AtMost(12_344)).is_err());
    assert!(frame_size(&frame, Size::Exactly(12_345)).is_ok());
    assert!(frame_size(&frame, Size::Exactly(12_346)).is_err());
}

#[test]
fn wrapped_keys_are_bound_to_their_aad_and_refuse_tampering() {
    let kek = [1u8; 32];
    let key = [9u8; 32];
    let wrapped = wrap_key(&kek, b"store-a", &key);
    assert_eq!(wrapped.len(), NONCE_LEN + 32 + TAG_LEN);
    assert_eq!(unwrap_key(&kek, b"store-b", &wrapped), None);
    let mut bad = wrapped.clone();
    bad[NONCE_LEN + 3] ^= 1;
    assert_eq!(unwrap_key(&kek, b"store-a", &bad), None);
    assert_eq!(unwrap_key(&kek, b"store-a", &wrapped[1..]), None);
    assert_eq!(unwrap_key(&kek, b"store-a", &[]), None);
    assert_ne!(wrapped, wrap_key(&kek, b"store-a", &key), "fresh nonce");
}

#[test]
fn random_bytes_are_not_repeated() {
    let a: [u8; 32] = random_bytes();
    let b: [u8; 32] = random_bytes();
    assert_ne!(a, b);
    assert_eq!(random_bytes::<0>(), [0u8; 0]);
}

#[test]
fn padded_blobs_and_headers_fill_their_class_and_open_anywhere() {
    let writer = Keys::from_master(&[7u8; 32]).with_padding(true);
    let reader = Keys::from_master(&[7u8; 32]);
    let overhead = NONCE_LEN + TAG_LEN;
    for data in [
        vec![],
        vec![b'a'; 10],
        vec![b'x'; 3_000],
        random_vec(70_000),
    ] {
        let mut sealed = Vec::new();
        writer.seal_data_into(b"id", &data, &mut sealed);
        let body = sealed.len() - overhead;
        assert_eq!(body, padding::class(body), "{} -> {body}", data.len());
        assert_eq!(reader.open(b"id", &sealed).unwrap(), data);
        writer.seal_tree_into(b"id", &data, &mut sealed);
        assert_eq!(
            sealed.len() - overhead,
            padding::class(sealed.len() - overhead)
        );
        assert_eq!(reader.open(b"id", &sealed).unwrap(), data);
        let header = writer.seal_pack_header(b"h", &data);
        assert!(header.len() - overhead >= padding::MIN_CLASS);
        assert_eq!(reader.open(b"h", &header).unwrap(), data);
    }
    // Two small blobs of different sizes look alike; index files and snapshots are not padded.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    writer.seal_data_into(b"id", &random_vec(40), &mut a);
    writer.seal_data_into(b"id", &random_vec(400), &mut b);
    assert_eq!(a.len(), b.len());
    assert_eq!(writer.seal(b"x", b"tiny").len(), overhead + 1 + 4);
}

/// `ZSTD || frame`, sealed as it is.
fn sealed_frame(keys: &Keys, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let frame = zstd::bulk::compress(plain, 3).unwrap();
    keys.seal_body(aad, &[&[ZSTD][..], &frame].concat())
}

#[test]
fn a_frame_declaring_more_than_the_limit_is_refused_before_it_is_decompressed() {
    let keys = Keys::from_master(&[4u8; 32]);
    let sealed = sealed_frame(&keys, b"a", &vec![0u8; 1 << 20]);
    assert!(sealed.len() < 1000, "a small object claiming 1 MiB");
    assert_eq!(keys.open(b"a", &sealed).unwrap().len(), 1 << 20);
    let e = keys.open_within(b"a", &sealed, 4096).unwrap_err();
    assert!(e.to_string().contains("more than the 4096"), "{e}");
    assert_eq!(
        keys.open_within(b"a", &sealed, 1 << 20).unwrap().len(),
        1 << 20
    );
}

#[test]
fn a_blob_opens_only_to_the_length_the_index_says() {
    let keys = Keys::from_master(&[4u8; 32]);
    let sealed = sealed_frame(&keys, b"a", &[7u8; 5000]);
    assert_eq!(keys.open_exact(b"a", &sealed, 5000).unwrap().len(), 5000);
    let e = keys.open_exact(b"a", &sealed, 4999).unwrap_err();
    assert!(e.to_string().contains("the index says 4999"), "{e}");
    assert!(keys.open_exact(b"a", &sealed, 1 << 30).is_err());
    // Stored raw, the length is the caller's to compare (open_blob does).
    let raw = keys.seal_body(b"a", &[&[RAW][..], &[1u8; 10]].concat());
    assert_eq!(keys.open_exact(b"a", &raw, 10).unwrap(), vec![1u8; 10]);
    assert!(keys.open_within(b"a", &raw, 9).is_err());
}
