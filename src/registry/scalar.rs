//! Option values read exactly as written, and YAML tags refused.
//!
//! YAML reads `1.50` as a float and `0x1F` as 31; the registry asks serde_yaml for each value
//! as a string, which hands over the scalar's own text, quoted or not. A value written
//! `!pass show x` without quotes is YAML's tag syntax, not kloset's `!command`: the tag would
//! be dropped without a word, so such a file is refused with the entry named.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// One option value, as its text.
pub struct AsWritten(pub String);

impl<'de> Deserialize<'de> for AsWritten {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AsWritten, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = String;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a single value (quote it: key: 'value')")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        d.deserialize_str(Text).map(AsWritten)
    }
}

/// The first option value written with a YAML tag, as `stores.NAME.KEY`.
pub fn first_tagged(text: &str) -> Option<String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    for section in ["sources", "stores", "destinations"] {
        let Some(entries) = doc.get(section).and_then(|v| v.as_mapping()) else {
            continue;
        };
        for (name, opts) in entries {
            let Some(opts) = opts.as_mapping() else {
                continue;
            };
            for (key, value) in opts {
                if matches!(value, serde_yaml::Value::Tagged(_)) {
                    let shown = |v: &serde_yaml::Value| match v {
                        serde_yaml::Value::String(s) => s.clone(),
                        _ => "?".to_string(),
                    };
                    return Some(format!("{section}.{}.{}", shown(name), shown(key)));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_text() {
        let v: std::collections::BTreeMap<String, AsWritten> = serde_yaml::from_str(
            "a: 1.50\nb: 0x1F\nc: 12345678901234567890123\nd: true\ne: '007'\nf: ~\ng: \"x y\"\n",
        )
        .unwrap();
        let text = |k: &str| v[k].0.as_str();
        assert_eq!(text("a"), "1.50");
        assert_eq!(text("b"), "0x1F");
        assert_eq!(text("c"), "12345678901234567890123");
        assert_eq!(text("d"), "true");
        assert_eq!(text("e"), "007");
        assert_eq!(text("f"), "~");
        assert_eq!(text("g"), "x y");
    }

    #[test]
    fn tags_are_found_with_their_entry() {
        let text = "stores:\n  main:\n    location: /s\n    passphrase: !pass show x\n";
        assert_eq!(
            first_tagged(text).as_deref(),
            Some("stores.main.passphrase")
        );
        assert_eq!(
            first_tagged("stores:\n  main:\n    passphrase: '!pass show x'\n"),
            None
        );
    }
}
