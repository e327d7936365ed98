//! Object versions and delete markers: a folder's versions as `ListObjectVersions` lists them,
//! and a new delete marker written by `DeleteObject`.

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http::{Method, StatusCode};

use super::super::client::{Listed, S3Api};
use super::super::xml::parse_element;

/// One entry of a version listing.
#[derive(Clone, Debug)]
pub struct ListedVersion {
    /// Key, size, ETag, Last-Modified and class as for a current object (size 0 for a marker).
    pub listed: Listed,
    pub version_id: String,
    pub delete_marker: bool,
    /// The server says this is the key's newest entry.
    pub latest: bool,
}

impl S3Api {
    /// One level of the hierarchy with every version and delete marker of each key, in the
    /// listing's order (keys ascending, each key's entries newest first), and the folders.
    pub async fn list_versions_level(
        &self,
        dir: &str,
    ) -> Result<(Vec<ListedVersion>, Vec<String>)> {
        let base = self.prefix_base();
        let list_prefix = format!("{base}{dir}");
        let unreadable =
            |what: String| anyhow!("{}: unreadable version listing: {what}", self.display());
        let mut out = Vec::new();
        let mut folders = Vec::new();
        let mut marker: Option<(String, String)> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut query = vec![
                ("versions", ""),
                ("prefix", list_prefix.as_str()),
                ("delimiter", "/"),
                ("encoding-type", "url"),
            ];
            if let Some((k, v)) = &marker {
                query.push(("key-marker", k.as_str()));
                query.push(("version-id-marker", v.as_str()));
            }
            let r = self
                .send(Method::GET, None, &query, &[], Bytes::new())
                .await?;
            if !r.status.is_success() {
                return Err(self.status_error("listing object versions", &r));
            }
            let page = parse_element(&r.body).map_err(unreadable)?;
            // Asked for url encoding: decoded whether or not the answer says so.
            let key_of = |raw: &str| -> Result<String> {
                let key = decoded(raw).map_err(unreadable)?;
                key.strip_prefix(&list_prefix)
                    .map(|_| key[base.len()..].to_string())
                    .ok_or_else(|| unreadable(format!("'{key}' is outside '{list_prefix}'")))
            };
            for e in &page.children {
                let delete_marker = match e.name.as_str() {
                    "Version" => false,
                    "DeleteMarker" => true,
                    _ => continue,
                };
                let key = key_of(&e.field("Key").ok_or_else(|| unreadable("no Key".into()))?)?;
                let version_id = e
                    .field("VersionId")
                    .ok_or_else(|| unreadable(format!("'{key}' has no VersionId")))?;
                let size = match (delete_marker, e.field("Size")) {
                    (true, _) => 0,
                    (false, Some(s)) => s
                        .trim()
                        .parse()
                        .map_err(|_| unreadable(format!("'{key}' has size '{s}'")))?,
                    (false, None) => return Err(unreadable(format!("'{key}' has no Size"))),
                };
                out.push(ListedVersion {
                    listed: Listed {
                        key,
                        size,
                        etag: e.field("ETag"),
                        last_modified: e.field("LastModified"),
                        storage_class: e.field("StorageClass"),
                    },
                    version_id,
                    delete_marker,
                    latest: e.field("IsLatest").is_some_and(|l| l.trim() == "true"),
                });
            }
            for p in page.children_named("CommonPrefixes") {
                if let Some(prefix) = p.field("Prefix") {
                    folders.push(key_of(&prefix)?);
                }
            }
            let truncated = page
                .field("IsTruncated")
                .is_some_and(|t| t.trim() == "true");
            if !truncated {
                break;
            }
            let next = match (
                page.field("NextKeyMarker"),
                page.field("NextVersionIdMarker"),
            ) {
                // Encoded like the keys: sent back encoded, it would be encoded twice.
                (Some(k), v) => (decoded(&k).map_err(unreadable)?, v.unwrap_or_default()),
                (None, _) => {
                    return Err(unreadable(
                        "a page says more follows but gives no next key marker".into(),
                    ))
                }
            };
            // Any marker given before, not only the last one: a server cycling through
            // markers would otherwise list forever.
            if !seen.insert(next.clone()) {
                return Err(unreadable("the server gave the same markers twice".into()));
            }
            marker = Some(next);
        }
        Ok((out, folders))
    }

    /// DeleteObject: on a versioned bucket, a new delete marker.
    pub async fn delete_object(&self, rel: &str) -> Result<()> {
        let r = self
            .send(
                Method::DELETE,
                Some(&self.full_key(rel)),
                &[],
                &[],
                Bytes::new(),
            )
            .await?;
        match r.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(self.status_error(&format!("deleting '{rel}'"), &r)),
        }
    }

    fn prefix_base(&self) -> String {
        match self.config().prefix.as_str() {
            "" => String::new(),
            p => format!("{p}/"),
        }
    }
}

/// A key as listed with `encoding-type=url` (as `list_under` decodes them).
fn decoded(raw: &str) -> Result<String, String> {
    super::super::client::url_decode(raw)
        .ok_or_else(|| format!("key '{raw}' does not decode to UTF-8"))
}
