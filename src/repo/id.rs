//! 32-byte identifiers (blob, pack, index and snapshot ids), shown and stored as hex.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Id(pub [u8; 32]);

/// Byte order, compared as four big-endian words: the index bisects on this, and a call to
/// `memcmp` per step cost more than the step (measured).
impl Ord for Id {
    fn cmp(&self, other: &Id) -> std::cmp::Ordering {
        let word = |id: &Id, i: usize| {
            u64::from_be_bytes(id.0[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
        };
        (0..4)
            .map(|i| word(self, i).cmp(&word(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Id) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Id {
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    pub fn parse(s: &str) -> anyhow::Result<Id> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| anyhow::anyhow!("'{s}' is not a 64-character hex id"))?;
        Ok(Id(out))
    }

    /// Content address of stored objects (packs, index files, snapshots): plain BLAKE3 of the bytes.
    pub fn of_bytes(data: &[u8]) -> Id {
        Id(*blake3::hash(data).as_bytes())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Id::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_as_their_bytes() {
        let ids: Vec<Id> = (0..500u32)
            .map(|i| {
                let mut b = [0u8; 32];
                b[(i % 32) as usize] = (i / 32) as u8 * 17;
                b[31 - (i % 7) as usize] ^= i as u8;
                Id(b)
            })
            .collect();
        for a in &ids {
            for b in &ids {
                assert_eq!(a.cmp(b), a.0.cmp(&b.0));
            }
        }
    }

    #[test]
    fn hex_round_trips_and_short_is_its_first_8_characters() {
        let id = Id::of_bytes(b"hello");
        let hex = id.hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(Id::parse(&hex).unwrap(), id);
        assert_eq!(id.short(), hex[..8]);
        assert_eq!(id.to_string(), hex);
        assert_eq!(format!("{id:?}"), id.short());
    }

    #[test]
    fn of_bytes_is_plain_blake3() {
        assert_eq!(
            Id::of_bytes(b"").hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_ne!(Id::of_bytes(b"a"), Id::of_bytes(b"b"));
    }

    #[test]
    fn parse_accepts_either_case_and_refuses_other_lengths_or_characters() {
        let id = Id([0xab; 32]);
        assert_eq!(Id::parse(&"AB".repeat(32)).unwrap(), id);
        for bad in [
            "",
            "ab",
            &"ab".repeat(31),
            &"ab".repeat(33),
            &"zz".repeat(32),
        ] {
            let e = Id::parse(bad).unwrap_err().to_string();
            assert!(e.contains("64-character hex id"), "{bad}: {e}");
        }
        assert!(Id::parse(&format!(" {}", "ab".repeat(32))).is_err());
    }

    #[test]
    fn serde_uses_the_hex_string() {
        let id = Id([1u8; 32]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", "01".repeat(32)));
        assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
        assert!(serde_json::from_str::<Id>("\"0102\"").is_err());
        assert!(serde_json::from_str::<Id>("[1,2]").is_err());
    }

    #[test]
    fn ids_order_by_their_bytes_like_their_hex() {
        let mut ids = [Id([3u8; 32]), Id([1u8; 32]), Id([0xff; 32]), Id::default()];
        ids.sort();
        let hex: Vec<String> = ids.iter().map(Id::hex).collect();
        let mut sorted = hex.clone();
        sorted.sort();
        assert_eq!(hex, sorted);
        assert_eq!(Id::default(), Id([0u8; 32]));
    }
}
