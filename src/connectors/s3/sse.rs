//! Server-side encryption asked of S3 (options `sse`, `sse_kms_key_id`, `sse_customer_key`):
//! SSE-S3, SSE-KMS, or SSE-C with a key read from a file or a command. kloset's own
//! encryption is unaffected; this is what bucket policies that demand SSE headers need.

use std::collections::BTreeMap;

use anyhow::Result;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::{HeaderName, Method};
use md5::{Digest, Md5};

use crate::error::config;

#[derive(Clone)]
pub enum Sse {
    /// `sse=AES256`: keys managed by S3.
    S3,
    /// `sse=aws:kms`, optionally with `sse_kms_key_id`.
    Kms(Option<String>),
    /// `sse_customer_key`: sent with every object read and write.
    Customer { key: String, key_md5: String },
}

impl std::fmt::Debug for Sse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sse::S3 => f.write_str("SSE-S3"),
            Sse::Kms(id) => write!(f, "SSE-KMS({id:?})"),
            Sse::Customer { .. } => f.write_str("SSE-C(..)"),
        }
    }
}

impl Sse {
    pub fn from_options(opts: &BTreeMap<String, String>, display: &str) -> Result<Option<Sse>> {
        let kms_id = opts.get("sse_kms_key_id").cloned();
        let customer = opts.get("sse_customer_key");
        match (opts.get("sse").map(String::as_str), customer) {
            (None, None) if kms_id.is_none() => Ok(None),
            (Some("AES256"), None) if kms_id.is_none() => Ok(Some(Sse::S3)),
            (Some("aws:kms"), None) => Ok(Some(Sse::Kms(kms_id))),
            (None, Some(source)) if kms_id.is_none() => {
                let key = customer_key(source, display)?;
                Ok(Some(Sse::Customer {
                    key: B64.encode(key),
                    key_md5: B64.encode(Md5::digest(key)),
                }))
            }
            (Some(other), None) if other != "AES256" && other != "aws:kms" => Err(config(format!(
                "{display}: sse={other} is not known: give sse=AES256 or sse=aws:kms (for SSE-C give sse_customer_key=@FILE)"
            ))),
            _ => Err(config(format!(
                "{display}: give one of sse=AES256, sse=aws:kms [sse_kms_key_id=ID], or sse_customer_key=@FILE"
            ))),
        }
    }

    /// The object_store settings for the store backend.
    pub fn object_store_config(&self) -> Vec<(&'static str, String)> {
        match self {
            Sse::S3 => vec![("aws_server_side_encryption", "AES256".into())],
            Sse::Kms(id) => {
                let mut v = vec![("aws_server_side_encryption", "aws:kms".to_string())];
                v.extend(id.clone().map(|id| ("aws_sse_kms_key_id", id)));
                v
            }
            Sse::Customer { key, .. } => vec![
                ("aws_server_side_encryption", "sse-c".into()),
                ("aws_sse_customer_key_base64", key.clone()),
            ],
        }
    }

    /// The headers one object request carries: SSE-C on every read and write of content,
    /// SSE-S3/KMS where an object is created (not on parts, which S3 refuses).
    pub fn headers(&self, method: &Method, query: &[(&str, &str)]) -> Vec<(HeaderName, String)> {
        let has = |n: &str| query.iter().any(|(k, _)| *k == n);
        if has("tagging") || has("retention") || has("restore") || has("legal-hold") || has("acl") {
            return Vec::new();
        }
        let creates = (*method == Method::PUT && !has("partNumber"))
            || (*method == Method::POST && has("uploads"));
        let name = HeaderName::from_static;
        match self {
            Sse::Customer { key, key_md5 } => {
                let content = matches!(*method, Method::GET | Method::HEAD | Method::PUT)
                    || (*method == Method::POST && has("uploads"));
                if !content {
                    return Vec::new();
                }
                vec![
                    (
                        name("x-amz-server-side-encryption-customer-algorithm"),
                        "AES256".into(),
                    ),
                    (
                        name("x-amz-server-side-encryption-customer-key"),
                        key.clone(),
                    ),
                    (
                        name("x-amz-server-side-encryption-customer-key-md5"),
                        key_md5.clone(),
                    ),
                ]
            }
            _ if !creates => Vec::new(),
            Sse::S3 => vec![(name("x-amz-server-side-encryption"), "AES256".into())],
            Sse::Kms(id) => {
                let mut v = vec![(name("x-amz-server-side-encryption"), "aws:kms".to_string())];
                if let Some(id) = id {
                    v.push((
                        name("x-amz-server-side-encryption-aws-kms-key-id"),
                        id.clone(),
                    ));
                }
                v
            }
        }
    }

    pub fn is_customer(&self) -> bool {
        matches!(self, Sse::Customer { .. })
    }
}

/// `@/path` (a file of 32 raw bytes, or their base64 or hex), `!command` (whose output is),
/// or the base64 or hex itself.
fn customer_key(source: &str, display: &str) -> Result<[u8; 32]> {
    let bad = |why: String| config(format!("{display}: sse_customer_key {why}"));
    let raw = crate::connectors::secrets::referenced_bytes("sse_customer_key", source, display)?
        .unwrap_or_else(|| source.as_bytes().to_vec());
    // A file or a command may hold the raw bytes; anything else is text.
    let outside = source.starts_with('@') || source.starts_with('!');
    if let (true, Ok(key)) = (outside, <[u8; 32]>::try_from(raw.as_slice())) {
        return Ok(key);
    }
    let text = String::from_utf8_lossy(&raw).trim().to_string();
    let decoded = hex::decode(&text)
        .ok()
        .filter(|k| k.len() == 32)
        .or_else(|| B64.decode(&text).ok().filter(|k| k.len() == 32));
    decoded
        .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
        .ok_or_else(|| {
            bad("is not a 256-bit key: give 32 raw bytes in a file, or their base64 or hex".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_and_headers() {
        assert!(Sse::from_options(&opts(&[]), "s").unwrap().is_none());
        let s3 = Sse::from_options(&opts(&[("sse", "AES256")]), "s")
            .unwrap()
            .unwrap();
        assert_eq!(s3.headers(&Method::PUT, &[]).len(), 1);
        assert!(s3.headers(&Method::GET, &[]).is_empty());
        assert!(s3
            .headers(&Method::PUT, &[("partNumber", "1"), ("uploadId", "u")])
            .is_empty());
        let kms = Sse::from_options(&opts(&[("sse", "aws:kms"), ("sse_kms_key_id", "k")]), "s")
            .unwrap()
            .unwrap();
        assert_eq!(kms.headers(&Method::POST, &[("uploads", "")]).len(), 2);
        let hex_key = "00".repeat(32);
        let c = Sse::from_options(&opts(&[("sse_customer_key", &hex_key)]), "s")
            .unwrap()
            .unwrap();
        assert_eq!(c.headers(&Method::GET, &[]).len(), 3);
        assert!(c.headers(&Method::GET, &[("tagging", "")]).is_empty());
        assert!(format!("{c:?}").contains(".."), "the key never shows");
        for bad in [
            vec![("sse", "rot13")],
            vec![("sse", "AES256"), ("sse_customer_key", "x")],
            vec![("sse_kms_key_id", "k")],
            vec![("sse_customer_key", "short")],
        ] {
            assert!(Sse::from_options(&opts(&bad), "s").is_err(), "{bad:?}");
        }
    }

    fn customer(source: &str) -> Result<Option<Sse>> {
        Sse::from_options(&opts(&[("sse_customer_key", source)]), "store")
    }

    fn key_of(sse: &Sse) -> (String, String) {
        match sse {
            Sse::Customer { key, key_md5 } => (key.clone(), key_md5.clone()),
            other => panic!("{other:?}"),
        }
    }

    const ZERO_KEY_B64: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const ZERO_KEY_MD5: &str = "cLyPS3KoaSFGi/joRB3OUQ==";
    const SEQ_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SEQ_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const SEQ_MD5: &str = "tP/LI3N87DFaSk0aoqYgzg==";

    #[test]
    fn a_customer_key_is_sent_as_base64_with_its_md5() {
        let c = customer(&"00".repeat(32)).unwrap().unwrap();
        assert_eq!(key_of(&c), (ZERO_KEY_B64.into(), ZERO_KEY_MD5.into()));
        assert!(c.is_customer());
        let h = c.headers(&Method::PUT, &[]);
        assert_eq!(h[0].1, "AES256");
        assert_eq!(h[1].1, ZERO_KEY_B64);
        assert_eq!(h[2].1, ZERO_KEY_MD5);
    }

    #[test]
    fn inline_customer_keys_may_be_hex_or_base64() {
        let hex = customer(SEQ_HEX).unwrap().unwrap();
        let b64 = customer(SEQ_B64).unwrap().unwrap();
        assert_eq!(key_of(&hex), (SEQ_B64.into(), SEQ_MD5.into()));
        assert_eq!(key_of(&hex), key_of(&b64));
        let upper = customer(&SEQ_HEX.to_uppercase()).unwrap().unwrap();
        assert_eq!(key_of(&upper), key_of(&hex));
    }

    #[test]
    fn an_inline_32_character_text_is_not_taken_as_raw_key_bytes() {
        let e = customer("abcdefghijklmnopqrstuvwxyz012345").unwrap_err();
        assert!(e.to_string().contains("is not a 256-bit key"), "{e}");
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused() {
        for bad in [
            "00".repeat(31),
            "00".repeat(33),
            B64.encode([0u8; 16]),
            String::new(),
        ] {
            assert!(customer(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_file_may_hold_raw_bytes_or_text_with_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        std::fs::write(&raw, (0u8..32).collect::<Vec<u8>>()).unwrap();
        let c = customer(&format!("@{}", raw.display())).unwrap().unwrap();
        assert_eq!(key_of(&c), (SEQ_B64.into(), SEQ_MD5.into()));
        let text = dir.path().join("text");
        std::fs::write(&text, format!("{SEQ_HEX}\n")).unwrap();
        let c = customer(&format!("@{}", text.display())).unwrap().unwrap();
        assert_eq!(key_of(&c).0, SEQ_B64);
        let b64 = dir.path().join("b64");
        std::fs::write(&b64, format!("  {SEQ_B64}\r\n")).unwrap();
        let c = customer(&format!("@{}", b64.display())).unwrap().unwrap();
        assert_eq!(key_of(&c).0, SEQ_B64);
    }

    #[test]
    fn a_missing_key_file_is_named_in_the_error() {
        let e = customer("@/nonexistent/kloset.key")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("store: cannot read sse_customer_key from /nonexistent/kloset.key"),
            "{e}"
        );
    }

    #[test]
    fn a_key_command_prints_the_key_and_its_failure_is_an_error() {
        let c = customer(&format!("!echo {SEQ_HEX}")).unwrap().unwrap();
        assert_eq!(key_of(&c).0, SEQ_B64);
        let e = customer("!exit 3").unwrap_err().to_string();
        assert!(
            e.contains("the command for sse_customer_key exited with"),
            "{e}"
        );
        assert!(customer("!echo short").is_err());
    }

    #[test]
    fn sse_modes_cannot_be_mixed() {
        for bad in [
            vec![("sse", "aws:kms"), ("sse_customer_key", SEQ_HEX)],
            vec![("sse", "AES256"), ("sse_kms_key_id", "k")],
            vec![("sse_customer_key", SEQ_HEX), ("sse_kms_key_id", "k")],
        ] {
            let e = Sse::from_options(&opts(&bad), "s").unwrap_err().to_string();
            assert!(e.contains("give one of"), "{bad:?}: {e}");
        }
        let e = Sse::from_options(&opts(&[("sse", "aes256")]), "s")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sse=aes256 is not known"),
            "values are case-sensitive: {e}"
        );
    }

    #[test]
    fn kms_without_a_key_id_uses_the_default_key() {
        let kms = Sse::from_options(&opts(&[("sse", "aws:kms")]), "s")
            .unwrap()
            .unwrap();
        assert!(!kms.is_customer());
        let h = kms.headers(&Method::PUT, &[]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0.as_str(), "x-amz-server-side-encryption");
        assert_eq!(h[0].1, "aws:kms");
        assert_eq!(
            kms.object_store_config(),
            [("aws_server_side_encryption", "aws:kms".to_string())]
        );
    }

    #[test]
    fn object_store_settings_for_each_mode() {
        assert_eq!(
            Sse::S3.object_store_config(),
            [("aws_server_side_encryption", "AES256".to_string())]
        );
        assert_eq!(
            Sse::Kms(Some("arn:k".into())).object_store_config(),
            [
                ("aws_server_side_encryption", "aws:kms".to_string()),
                ("aws_sse_kms_key_id", "arn:k".to_string())
            ]
        );
        let c = customer(SEQ_HEX).unwrap().unwrap();
        assert_eq!(
            c.object_store_config(),
            [
                ("aws_server_side_encryption", "sse-c".to_string()),
                ("aws_sse_customer_key_base64", SEQ_B64.to_string())
            ]
        );
    }

    #[test]
    fn sse_s3_and_kms_headers_go_only_where_an_object_is_created() {
        for sse in [Sse::S3, Sse::Kms(None)] {
            assert!(!sse.headers(&Method::PUT, &[]).is_empty());
            assert!(!sse.headers(&Method::POST, &[("uploads", "")]).is_empty());
            assert!(sse.headers(&Method::POST, &[("uploadId", "u")]).is_empty());
            assert!(sse.headers(&Method::HEAD, &[]).is_empty());
            assert!(sse.headers(&Method::DELETE, &[]).is_empty());
            assert!(sse.headers(&Method::PUT, &[("retention", "")]).is_empty());
            assert!(sse.headers(&Method::PUT, &[("legal-hold", "")]).is_empty());
        }
    }

    #[test]
    fn sse_c_headers_go_on_every_content_request_but_not_on_sub_resources() {
        let c = customer(SEQ_HEX).unwrap().unwrap();
        assert_eq!(c.headers(&Method::HEAD, &[]).len(), 3);
        assert_eq!(c.headers(&Method::PUT, &[("partNumber", "2")]).len(), 3);
        assert_eq!(c.headers(&Method::POST, &[("uploads", "")]).len(), 3);
        assert!(c.headers(&Method::POST, &[("uploadId", "u")]).is_empty());
        assert!(c.headers(&Method::DELETE, &[]).is_empty());
        assert!(c.headers(&Method::POST, &[("restore", "")]).is_empty());
        assert!(c.headers(&Method::PUT, &[("tagging", "")]).is_empty());
    }

    #[test]
    fn debug_never_shows_a_customer_key() {
        let c = customer(SEQ_HEX).unwrap().unwrap();
        let shown = format!("{c:?}");
        assert_eq!(shown, "SSE-C(..)");
        assert!(!shown.contains(SEQ_B64) && !shown.contains(SEQ_MD5));
        assert_eq!(format!("{:?}", Sse::S3), "SSE-S3");
        assert_eq!(
            format!("{:?}", Sse::Kms(Some("k".into()))),
            "SSE-KMS(Some(\"k\"))"
        );
    }
}
