//! Control objects (prune marks, prune locks, leases, damage records) are small, rewritable and
//! not sealed, so anyone who can write to the store could plant one. Each one kloset writes
//! ends in a MAC under a key derived from the master key, over the store id, the object's
//! name and its JSON body (FORMAT.md, "Control objects"); readers tell authentic ones from the
//! rest with `Control::verifies`.
//!
//! The MAC is appended to the JSON object as one more field, always last and of fixed length
//! (`,"mac":"<64 hex>"}`), so that older readers, which ignore unknown fields, still parse the
//! body, and the bytes it covers are exactly the body without that field.

use anyhow::Result;
use bytes::Bytes;
use futures::{stream, StreamExt};

use super::id::Id;
use super::Repo;

/// The key context for the control MAC subkey (see `Keys`).
pub const CONTEXT: &str = "kloset 2026 control mac";
/// The body of an object whose only message is that kloset wrote it (marks, damage records).
pub const PLAIN: &[u8] = b"{\"v\":1}";
/// Control bodies are a few dozen bytes; a larger object is not read, and is not authentic.
pub const MAX_BODY: u64 = 64 * 1024;

const FIELD: &[u8] = b",\"mac\":\"";
const HEX_LEN: usize = 64;
/// `,"mac":"` + 64 hex digits + `"}`.
const TRAILER_LEN: usize = FIELD.len() + HEX_LEN + 2;

/// Signs and verifies control objects of one store. Cheap to clone into renewal tasks.
#[derive(Clone)]
pub struct Control {
    key: [u8; 32],
    store: Id,
}

impl Control {
    pub fn new(master: &[u8; 32], store: Id) -> Control {
        Control {
            key: blake3::derive_key(CONTEXT, master),
            store,
        }
    }

    /// The MAC of `payload` as the body of object `name`. Name and store id are
    /// length-prefixed, so no two (name, payload) pairs hash the same input.
    fn mac(&self, name: &str, payload: &[u8]) -> blake3::Hash {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(b"kloset control v1");
        h.update(&self.store.0);
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(payload);
        h.finalize()
    }

    /// `payload`, a JSON object with at least one field, with the MAC as its last field.
    pub fn sign(&self, name: &str, payload: &[u8]) -> Vec<u8> {
        debug_assert!(payload.starts_with(b"{") && payload.ends_with(b"}") && payload.len() > 2);
        let mac = self.mac(name, payload);
        let mut out = Vec::with_capacity(payload.len() + TRAILER_LEN);
        out.extend_from_slice(&payload[..payload.len() - 1]);
        out.extend_from_slice(FIELD);
        out.extend_from_slice(mac.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        out
    }

    /// The body is one `sign` made for this name in this store. Anything else (no MAC, an
    /// empty body as older kloset wrote, a MAC for another name or store, garbage) is not.
    pub fn verifies(&self, name: &str, body: &[u8]) -> bool {
        let Some(split) = body.len().checked_sub(TRAILER_LEN) else {
            return false;
        };
        let (head, trailer) = body.split_at(split);
        if head.len() < 2 || !trailer.starts_with(FIELD) || !trailer.ends_with(b"\"}") {
            return false;
        }
        let hex = &trailer[FIELD.len()..FIELD.len() + HEX_LEN];
        let mut claimed = [0u8; 32];
        if hex::decode_to_slice(hex, &mut claimed).is_err() {
            return false;
        }
        let mut payload = Vec::with_capacity(head.len() + 1);
        payload.extend_from_slice(head);
        payload.push(b'}');
        // `Hash == [u8; 32]` compares in constant time.
        self.mac(name, &payload) == claimed
    }
}

/// A control object as a reader finds it.
#[derive(Debug)]
pub enum Found {
    /// Removed since the listing.
    Gone,
    Authentic(Bytes),
    /// No valid MAC (planted, damaged, or written by a kloset before MACs), with its body
    /// unless it is larger than any control object kloset writes (then it is never read).
    Unauthenticated(Option<Bytes>),
}

impl Repo {
    /// Signs a control object's body for its name.
    pub(super) fn sign_control(&self, key: &str, payload: &[u8]) -> Bytes {
        Bytes::from(self.control.sign(key, payload))
    }

    /// Writes a control object whose body says only that kloset wrote it.
    pub(super) async fn put_plain_control(&self, key: &str) -> Result<()> {
        self.backend.put(key, self.sign_control(key, PLAIN)).await
    }

    /// Reads one listed control object (of the listed size) and tells whether kloset wrote it.
    pub(super) async fn read_control(&self, key: &str, listed_size: u64) -> Result<Found> {
        if listed_size > MAX_BODY {
            return Ok(Found::Unauthenticated(None));
        }
        // Never read whole: the object may have grown since the listing.
        let Some(body) = self.backend.get_at_most(key, MAX_BODY).await? else {
            return Ok(Found::Gone);
        };
        Ok(match body.len() as u64 > MAX_BODY {
            true => Found::Unauthenticated(None),
            false if self.control.verifies(key, &body) => Found::Authentic(body),
            false => Found::Unauthenticated(Some(body)),
        })
    }

    /// Every object under a control prefix (`retiring`, `locks`, `leases`, `damaged`) without
    /// a valid MAC: `check` names them.
    pub async fn unauthenticated_controls(&self, prefix: &str) -> Result<Vec<String>> {
        let listed = self.backend.list(prefix).await?;
        let read: Vec<Option<String>> = stream::iter(listed)
            .map(|(key, size)| async move {
                let found = self.read_control(&key, size).await?;
                Ok::<_, anyhow::Error>(matches!(found, Found::Unauthenticated(_)).then_some(key))
            })
            .buffer_unordered(super::META_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        let mut found: Vec<String> = read.into_iter().flatten().collect();
        found.sort();
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(master: u8, store: u8) -> Control {
        Control::new(&[master; 32], Id([store; 32]))
    }

    #[test]
    fn a_signed_body_verifies_and_stays_json_for_older_readers() {
        let c = control(1, 2);
        let body = c.sign("locks/prune-1-ab", br#"{"host":"h","pid":7}"#);
        assert!(c.verifies("locks/prune-1-ab", &body));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["pid"], 7);
        assert_eq!(v["mac"].as_str().unwrap().len(), 64);
        let plain = c.sign("retiring/x.1", PLAIN);
        assert!(c.verifies("retiring/x.1", &plain));
    }

    #[test]
    fn a_mac_binds_the_name_the_store_and_the_key() {
        let c = control(1, 2);
        let body = c.sign("damaged/aa", PLAIN);
        assert!(!c.verifies("damaged/bb", &body), "another object's name");
        assert!(
            !control(1, 3).verifies("damaged/aa", &body),
            "another store"
        );
        assert!(!control(9, 2).verifies("damaged/aa", &body), "another key");
    }

    #[test]
    fn anything_else_does_not_verify() {
        let c = control(1, 2);
        let good = c.sign("leases/00", br#"{"host":"h","pid":1,"op":"backup"}"#);
        let mut flipped = good.clone();
        flipped[3] ^= 1;
        let mut bad_hex = good.clone();
        let at = bad_hex.len() - 5;
        bad_hex[at] = b'g';
        let forged_mac = format!(r#"{{"v":1,"mac":"{}"}}"#, "0".repeat(64));
        for body in [
            b"".to_vec(),
            b"{}".to_vec(),
            PLAIN.to_vec(),
            br#"{"host":"h","pid":1,"op":"backup"}"#.to_vec(),
            flipped,
            bad_hex,
            forged_mac.into_bytes(),
            good[1..].to_vec(),
            vec![0xff; TRAILER_LEN],
            vec![b'"'; TRAILER_LEN + 2],
        ] {
            assert!(
                !c.verifies("leases/00", &body),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
