use super::*;
use crate::repo::config::{KdfCost, StoreConfig};

fn config() -> StoreConfig {
    let cost = KdfCost {
        memory_kib: 8,
        iterations: 1,
    };
    StoreConfig::new("p", cost, 16 << 20, None).unwrap().0
}

fn refused(c: &StoreConfig) -> String {
    let e = check_config(c).unwrap_err();
    assert!(
        matches!(
            e.downcast_ref::<KlosetError>(),
            Some(KlosetError::Integrity(_))
        ),
        "{e}"
    );
    e.to_string()
}

#[test]
fn a_new_config_is_in_range() {
    check_config(&config()).unwrap();
    check_chunker(&ChunkerParams::default()).unwrap();
}

#[test]
fn pack_sizes_that_would_overflow_offsets_or_leak_blob_sizes_are_refused() {
    let mut c = config();
    for bad in [0, 4096, (4u64 << 30), u64::MAX, (512 << 20) + 1] {
        c.pack_size = bad;
        assert!(refused(&c).contains(&format!("pack_size {bad}")));
    }
    for good in [16 << 10, 1 << 20, 512 << 20] {
        c.pack_size = good;
        check_config(&c).unwrap();
    }
}

#[test]
fn chunker_sizes_outside_fastcdc_or_out_of_order_are_refused() {
    let mut c = config();
    let cases = [
        (0, 1024, 8192, "min_size 0"),
        (64, 100, 8192, "avg_size 100"),
        (64, 256, 512, "max_size 512"),
        (64, 256, u32::MAX, "max_size 4294967295"),
        (4096, 2048, 8192, "out of order"),
        (64, 8192, 4096, "out of order"),
    ];
    for (min, avg, max, why) in cases {
        c.chunker = ChunkerParams {
            min_size: min,
            avg_size: avg,
            max_size: max,
        };
        let e = refused(&c);
        assert!(e.contains(why), "{e}");
    }
}

#[test]
fn kdf_costs_over_the_caps_are_refused_and_the_floor_is_todays_default() {
    let mut c = config();
    c.kdf.memory_kib = KDF_MAX_MEMORY_KIB + 1;
    assert!(refused(&c).contains("memory_kib"));
    c.kdf.memory_kib = 8;
    c.kdf.iterations = KDF_MAX_ITERATIONS + 1;
    assert!(refused(&c).contains("iterations"));
    c.kdf.iterations = 1;
    c.kdf.parallelism = 2;
    assert!(refused(&c).contains("per lane"));
    c.kdf.parallelism = 1;
    c.kdf.salt = "ABCD".repeat(8);
    assert!(refused(&c).contains("salt"));

    let low = kdf_floor(&config().kdf, "00".repeat(16));
    assert_eq!(
        (low.memory_kib, low.iterations, low.parallelism),
        (
            KDF_DEFAULT_MEMORY_KIB,
            KDF_DEFAULT_ITERATIONS,
            KDF_DEFAULT_PARALLELISM
        )
    );
    let mut high = config().kdf;
    high.memory_kib = 256 * 1024;
    high.iterations = 10;
    let kept = kdf_floor(&high, "00".repeat(16));
    assert_eq!((kept.memory_kib, kept.iterations), (256 * 1024, 10));
    assert_eq!(kept.salt, "00".repeat(16));
}

#[test]
fn the_bound_aad_names_every_parameter_and_changes_with_each() {
    let c = config();
    let aad = String::from_utf8(bound_aad(&c, &c.kdf)).unwrap();
    // The store's version is bound (2 since binary index files; 1 for older stores).
    let head = format!(
        "kloset bound parameters v1\nformat=kloset\nversion={}\n",
        c.version
    );
    assert!(aad.starts_with(&head), "{aad}");
    assert!(aad.contains(&format!("\nid={}\n", c.id.hex())));
    assert!(aad.contains("\npack_size=16777216\n"));
    assert!(aad.ends_with(&format!("kdf.salt={}\n", c.kdf.salt)));
    let base = bound_aad(&c, &c.kdf);
    let changes: Vec<fn(&mut StoreConfig)> = vec![
        |c| c.id.0[0] ^= 1,
        |c| c.version += 1,
        |c| c.chunker.min_size += 1,
        |c| c.chunker.avg_size += 1,
        |c| c.chunker.max_size += 1,
        |c| c.pack_size += 1,
        |c| c.kdf.memory_kib += 1,
        |c| c.kdf.iterations += 1,
        |c| c.kdf.parallelism += 1,
        |c| c.kdf.salt = "11".repeat(16),
    ];
    for change in changes {
        let mut d = c.clone();
        change(&mut d);
        assert_ne!(bound_aad(&d, &d.kdf), base);
    }
    // Fields outside the parameters do not unbind the key.
    let mut d = c.clone();
    d.created = chrono::Utc::now() + chrono::Duration::days(1);
    d.mac = None;
    assert_eq!(bound_aad(&d, &d.kdf), base);
}

#[test]
fn the_encoding_is_unambiguous() {
    let a = encode(&[("a", "1".into()), ("b", "2".into())]);
    let b = encode(&[("a", "1\nb=2".into())]);
    assert_ne!(a, b);
}
