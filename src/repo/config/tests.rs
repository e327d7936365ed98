use super::*;

impl StoreConfig {
    /// Unwraps the config's own key and accepts it as a host that never saw the store would.
    fn unlock(&self, passphrase: &str) -> Result<Option<[u8; 32]>> {
        let Some(u) = self.unwrap_own_key(passphrase)? else {
            return Ok(None);
        };
        self.accept(&u.master, u.style, false)?;
        Ok(Some(*u.master))
    }
}

/// A config as kloset wrote it before bound parameters: the store id alone as AAD, and
/// (`mac`) with or without a MAC.
fn legacy(passphrase: &str, mac: bool) -> (StoreConfig, [u8; 32]) {
    let (c, master) = made(passphrase);
    let kek = derive_kek(passphrase, &c.kdf).unwrap();
    let old = StoreConfig {
        master_key: hex::encode(wrap_key(&kek, &c.id.0, &master)),
        master_key_check: None,
        passphrase_check: None,
        mac: None,
        ..c
    };
    match mac {
        true => (old.with_mac(&master).unwrap(), master),
        false => (old, master),
    }
}

/// The cheapest cost Argon2id accepts: these tests are about the logic, not the KDF.
fn cheap() -> KdfCost {
    KdfCost {
        memory_kib: 8,
        iterations: 1,
    }
}

fn made(passphrase: &str) -> (StoreConfig, [u8; 32]) {
    let (c, master) = StoreConfig::new(passphrase, cheap(), 16 << 20, None).unwrap();
    (c, *master)
}

fn integrity(e: anyhow::Error) -> String {
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
fn a_new_config_unlocks_with_its_passphrase_only() {
    let (c, master) = made("correct horse");
    assert_eq!(c.unlock("correct horse").unwrap(), Some(master));
    assert_eq!(c.unlock("wrong").unwrap(), None);
    assert_eq!(c.unlock("").unwrap(), None);
}

#[test]
fn a_new_config_has_its_fields_set() {
    let (c, _) = made("p");
    assert_eq!((c.format.as_str(), c.version), ("kloset", FORMAT_VERSION));
    assert_eq!(c.pack_size, 16 << 20);
    assert_eq!(c.kdf.algorithm, "argon2id");
    assert_eq!(
        (c.kdf.memory_kib, c.kdf.iterations, c.kdf.parallelism),
        (8, 1, 1)
    );
    assert_eq!(c.kdf.salt.len(), 32);
    assert!(c.has_own_key());
    assert!(c.master_key_check.is_some() && c.mac.is_some());
    let (d, _) = made("p");
    assert_ne!(c.id, d.id);
    assert_ne!(c.kdf.salt, d.kdf.salt);
    assert_ne!(c.master_key, d.master_key);
}

#[test]
fn a_store_made_like_another_shares_its_master_key_and_chunker_only() {
    let (a, master) = made("a");
    let like = Template {
        master: Zeroizing::new(master),
        chunker: ChunkerParams {
            min_size: 64,
            avg_size: 256,
            max_size: 1024,
        },
    };
    let (b, b_master) = StoreConfig::new("b", cheap(), 1 << 20, Some(&like)).unwrap();
    assert_eq!(*b_master, master);
    assert_eq!(
        (b.chunker.min_size, b.chunker.avg_size, b.chunker.max_size),
        (64, 256, 1024)
    );
    assert_ne!(a.id, b.id);
    assert_eq!(b.unlock("b").unwrap(), Some(master));
    assert_eq!(b.unlock("a").unwrap(), None, "its passphrase is its own");
}

#[test]
fn default_chunker_sizes_are_ordered() {
    let c = ChunkerParams::default();
    assert!(c.min_size < c.avg_size && c.avg_size < c.max_size);
}

#[test]
fn a_changed_parameter_unbinds_the_key_and_fails_the_mac() {
    let (c, master) = made("p");
    let altered = StoreConfig {
        pack_size: c.pack_size * 2,
        ..c.clone()
    };
    // The key is bound to the parameters: it no longer unwraps, and the passphrase check
    // tells that from a wrong passphrase.
    let e = integrity(altered.unlock("p").unwrap_err());
    assert!(e.contains("parameters were changed"), "{e}");
    assert_eq!(altered.unlock("wrong").unwrap(), None);
    let unchecked = StoreConfig {
        passphrase_check: None,
        ..altered.clone()
    };
    assert_eq!(
        unchecked.unlock("p").unwrap(),
        None,
        "without it, as a wrong one"
    );
    // A key object's master key still meets the MAC.
    assert!(integrity(altered.verify_mac(&master).unwrap_err()).contains("damaged"));
    let mut chunker = c.clone();
    chunker.chunker.max_size += 1;
    assert!(chunker.unlock("p").is_err());
    // The MAC guards what is not bound (a legacy key, `created`).
    let (old, _) = legacy("p", true);
    let altered = StoreConfig {
        pack_size: old.pack_size * 2,
        ..old
    };
    assert!(integrity(altered.unlock("p").unwrap_err()).contains("fields were changed"));
    assert_eq!(altered.unlock("wrong").unwrap(), None);
}

#[test]
fn a_new_key_is_bound_and_a_legacy_one_is_told_apart() {
    let (c, master) = made("p");
    let u = c.unwrap_own_key("p").unwrap().unwrap();
    assert_eq!((u.style, *u.master), (KeyStyle::Bound, master));
    let (old, master) = legacy("p", false);
    let u = old.unwrap_own_key("p").unwrap().unwrap();
    assert_eq!((u.style, *u.master), (KeyStyle::Legacy, master));
    let bound = old.with_own_key_bound(&u.kek, &u.master).unwrap();
    let again = bound.unwrap_own_key("p").unwrap().unwrap();
    assert_eq!(again.style, KeyStyle::Bound);
    assert!(bound.mac.is_some() && bound.master_key_check.is_some());
    assert!(bound.verify_mac(&master).is_ok());
}

#[test]
fn a_config_without_mac_is_accepted_only_for_a_legacy_key_on_a_new_host() {
    let (c, master) = made("p");
    let stripped = StoreConfig {
        mac: None,
        master_key_check: None,
        ..c
    };
    let e = integrity(stripped.unlock("p").unwrap_err());
    assert!(e.contains("no MAC") && e.contains("bound"), "{e}");
    let (old, master_old) = legacy("p", false);
    assert!(old.accept(&master_old, KeyStyle::Legacy, false).is_ok());
    let e = integrity(old.accept(&master_old, KeyStyle::Legacy, true).unwrap_err());
    assert!(e.contains("authenticated config before"), "{e}");
    assert!(stripped.accept(&master, KeyStyle::Bound, false).is_err());
}

#[test]
fn a_damaged_master_key_is_told_from_a_wrong_passphrase() {
    let (c, _) = made("p");
    let mut flipped = c.clone();
    let last = if flipped.master_key.ends_with('0') {
        "1"
    } else {
        "0"
    };
    flipped.master_key.pop();
    flipped.master_key.push_str(last);
    assert!(integrity(flipped.unlock("p").unwrap_err()).contains("does not match its check"));
    let mut not_hex = c.clone();
    not_hex.master_key = "zz".into();
    assert!(integrity(not_hex.unlock("p").unwrap_err()).contains("not hex"));
}

#[test]
fn old_configs_without_check_or_mac_still_unlock() {
    let (old, master) = legacy("p", false);
    assert_eq!(old.unlock("p").unwrap(), Some(master));
    assert_eq!(old.unlock("q").unwrap(), None);
    assert!(old.verify_mac(&[0u8; 32]).is_ok(), "nothing to verify");
}

#[test]
fn verify_mac_needs_the_right_master_key() {
    let (c, master) = made("p");
    assert!(c.verify_mac(&master).is_ok());
    integrity(c.verify_mac(&[0u8; 32]).unwrap_err());
}

#[test]
fn without_own_key_keeps_a_valid_mac_and_never_unlocks() {
    let (c, master) = made("p");
    let keyless = c.without_own_key(&master).unwrap();
    assert!(!keyless.has_own_key());
    assert!(keyless.master_key_check.is_none());
    assert!(keyless.verify_mac(&master).is_ok());
    assert_ne!(keyless.mac, c.mac);
    assert_eq!(keyless.unlock("p").unwrap(), None);
}

#[test]
fn json_round_trips_and_omits_absent_fields() {
    let (c, master) = made("p");
    let text = serde_json::to_string(&c).unwrap();
    assert!(
        !text.contains(&hex::encode(master)),
        "the master key only wrapped"
    );
    let back: StoreConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(back.unlock("p").unwrap(), Some(master), "the mac survives");
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    let old = StoreConfig {
        master_key_check: None,
        mac: None,
        ..c
    };
    let text = serde_json::to_string(&old).unwrap();
    assert!(!text.contains("master_key_check") && !text.contains("\"mac\""));
    let back: StoreConfig = serde_json::from_str(&text).unwrap();
    assert!(back.mac.is_none() && back.master_key_check.is_none());
}

#[test]
fn derive_kek_is_deterministic_and_depends_on_passphrase_and_salt() {
    let (c, _) = made("p");
    let k1 = derive_kek("p", &c.kdf).unwrap();
    assert_eq!(k1, derive_kek("p", &c.kdf).unwrap());
    assert_ne!(k1, derive_kek("q", &c.kdf).unwrap());
    let other_salt = KdfParams {
        salt: "00".repeat(16),
        ..c.kdf.clone()
    };
    assert_ne!(k1, derive_kek("p", &other_salt).unwrap());
}

#[test]
fn derive_kek_refuses_unknown_or_out_of_cap_parameters_before_argon2() {
    let (c, _) = made("p");
    let refused = |kdf: KdfParams| integrity(derive_kek("p", &kdf).unwrap_err());
    let e = refused(KdfParams {
        algorithm: "scrypt".into(),
        ..c.kdf.clone()
    });
    assert!(e.contains("unsupported algorithm 'scrypt'"), "{e}");
    let e = refused(KdfParams {
        salt: "xyz".into(),
        ..c.kdf.clone()
    });
    assert!(e.contains("salt"), "{e}");
    let e = refused(KdfParams {
        memory_kib: 0,
        ..c.kdf.clone()
    });
    assert!(e.contains("memory_kib 0"), "{e}");
    // Would abort the process in Argon2's allocation; refused before it runs.
    let e = refused(KdfParams {
        memory_kib: u32::MAX,
        ..c.kdf.clone()
    });
    assert!(e.contains("memory_kib 4294967295"), "{e}");
    assert!(!e.contains(&c.kdf.salt), "no salt in messages");
    refused(KdfParams {
        iterations: 0,
        ..c.kdf.clone()
    });
    refused(KdfParams {
        parallelism: 1000,
        ..c.kdf.clone()
    });
}

#[test]
fn new_refuses_parameters_a_reader_would_refuse() {
    assert!(StoreConfig::new("p", cheap(), 4096, None).is_err());
    let cost = KdfCost {
        memory_kib: u32::MAX,
        iterations: 1,
    };
    assert!(StoreConfig::new("p", cost, 16 << 20, None).is_err());
}

#[test]
fn a_config_with_an_unsupported_kdf_fails_to_unlock() {
    let (c, _) = made("p");
    let odd = StoreConfig {
        kdf: KdfParams {
            algorithm: "pbkdf2".into(),
            ..c.kdf.clone()
        },
        ..c
    };
    assert!(odd.unlock("p").is_err());
}
