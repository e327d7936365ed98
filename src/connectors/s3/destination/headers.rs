//! The headers a restored object is written with.

use super::*;

impl S3Destination {
    /// Headers only a whole-object PUT can carry: lock state (with the Content-MD5 S3 wants
    /// then) and the additional checksums, which the server verifies.
    pub(super) fn whole_put_headers(&self, node: &Node, data: &[u8]) -> Vec<(HeaderName, String)> {
        let Some(m) = &node.s3 else {
            return Vec::new();
        };
        let mut h = Vec::new();
        if self.object_lock.load(Ordering::Relaxed) {
            h = history::lock_headers(&m.retention, m.legal_hold, chrono::Utc::now());
        }
        if !h.is_empty() {
            use base64::Engine;
            let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(data));
            h.push((HeaderName::from_static("content-md5"), md5));
        }
        // One algorithm per object; the SDK header names it (moto reads only that).
        if let Some((alg, value)) = m.checksums.iter().next() {
            if let Ok(name) = HeaderName::try_from(format!("x-amz-checksum-{alg}")) {
                h.push((name, value.clone()));
                h.push((
                    HeaderName::from_static("x-amz-sdk-checksum-algorithm"),
                    alg.to_ascii_uppercase(),
                ));
            }
        }
        h
    }
}

pub(super) fn headers_for(node: &Node, storage_class: Option<&str>) -> Vec<(HeaderName, String)> {
    let mut h: Vec<(HeaderName, String)> = Vec::new();
    let named = |n: &'static str| HeaderName::from_static(n);
    match &node.s3 {
        Some(m) => {
            for (name, value) in [
                ("content-type", &m.content_type),
                ("content-encoding", &m.content_encoding),
                ("content-disposition", &m.content_disposition),
                ("content-language", &m.content_language),
                ("cache-control", &m.cache_control),
            ] {
                if let Some(v) = value {
                    h.push((named(name), v.clone()));
                }
            }
            for (k, v) in &m.user_metadata {
                if let Ok(name) = HeaderName::try_from(format!("x-amz-meta-{k}")) {
                    h.push((name, v.clone()));
                }
            }
            if let Some(tags) = m.tags.as_ref().filter(|t| !t.is_empty()) {
                h.push((named("x-amz-tagging"), encode_tags(tags)));
            }
            if let Some(class) = storage_class
                .map(str::to_string)
                .or_else(|| m.storage_class.clone())
            {
                h.push((named("x-amz-storage-class"), class));
            }
        }
        None => {
            let mime = mime_guess::from_path(&node.name).first_or_octet_stream();
            h.push((named("content-type"), mime.essence_str().to_string()));
            // So that a later restore to a filesystem can put these back.
            h.push((named("x-amz-meta-kloset-mode"), format!("{:o}", node.mode)));
            h.push((named("x-amz-meta-kloset-mtime-ns"), node.mtime.to_string()));
            h.push((named("x-amz-meta-kloset-uid"), node.uid.to_string()));
            h.push((named("x-amz-meta-kloset-gid"), node.gid.to_string()));
            if let Some(class) = storage_class {
                h.push((named("x-amz-storage-class"), class.to_string()));
            }
        }
    }
    h
}

pub(super) fn encode_tags(tags: &BTreeMap<String, String>) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    tags.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}
