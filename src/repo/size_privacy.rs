//! What a store's object sizes may tell, chosen at `create` and kept in its config (so covered
//! by the config's mac): whether a zstd dictionary is trained, and whether blobs are padded.

use serde::{Deserialize, Serialize};

/// Trade-offs between store size and what the store's object sizes reveal (README, "What the
/// store's sizes tell").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizePrivacy {
    /// No zstd dictionary is ever trained: one holds verbatim fragments of the first
    /// backup's small files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_dictionary: bool,
    /// Blobs and pack headers are padded to a size class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<Padding>,
}

impl SizePrivacy {
    pub fn is_default(&self) -> bool {
        *self == SizePrivacy::default()
    }
}

/// How sealed blobs are padded. A config naming a scheme this build does not know does not
/// parse: writing unpadded blobs into a store that asked for padding would be a silent leak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Padmé size classes (see `repo::padding`), at least 512 bytes.
    Padme,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::config::{KdfCost, StoreConfig};

    fn made() -> (StoreConfig, [u8; 32]) {
        let cost = KdfCost {
            memory_kib: 8,
            iterations: 1,
        };
        let (config, master) = StoreConfig::new("p", cost, 16 << 20, None).unwrap();
        (config, *master)
    }

    fn both() -> SizePrivacy {
        SizePrivacy {
            no_dictionary: true,
            padding: Some(Padding::Padme),
        }
    }

    #[test]
    fn a_default_config_does_not_name_the_field() {
        let (c, _) = made();
        let text = serde_json::to_string(&c).unwrap();
        assert!(!text.contains("size_privacy"), "{text}");
        let back: StoreConfig = serde_json::from_str(&text).unwrap();
        assert!(back.size_privacy.is_default());
    }

    #[test]
    fn the_choice_is_covered_by_the_mac_and_survives_a_round_trip() {
        let (c, master) = made();
        let private = c.with_size_privacy(both(), &master).unwrap();
        assert!(private.verify_mac(&master).is_ok());
        let text = serde_json::to_string(&private).unwrap();
        assert!(
            text.contains(r#""size_privacy":{"no_dictionary":true,"padding":"padme"}"#),
            "{text}"
        );
        let back: StoreConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back.size_privacy, both());
        assert!(back.verify_mac(&master).is_ok());
        // Someone without the key cannot turn the padding off unnoticed.
        let stripped = StoreConfig {
            size_privacy: SizePrivacy::default(),
            ..back.clone()
        };
        assert!(stripped.verify_mac(&master).is_err());
        // `key rm config` keeps it.
        let keyless = back.without_own_key(&master).unwrap();
        assert_eq!(keyless.size_privacy, both());
        assert!(keyless.verify_mac(&master).is_ok());
    }

    #[test]
    fn an_unknown_padding_scheme_does_not_parse() {
        let (c, master) = made();
        let text = serde_json::to_string(&c.with_size_privacy(both(), &master).unwrap())
            .unwrap()
            .replace("padme", "future");
        assert!(serde_json::from_str::<StoreConfig>(&text).is_err());
    }
}
