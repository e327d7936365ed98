//! What a bucket keeps beside its current objects: object versions and delete markers
//! (`ListObjectVersions`), ACLs, Object Lock state and additional checksums, read for a backup
//! and written back by a restore.

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http::header::HeaderName;
use http::{Method, StatusCode};

use super::client::{Listed, Response, S3Api};
use super::xml::{parse_element, Element};
use crate::repo::tree::{S3Acl, S3Grant};

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

/// The checksum algorithms S3 reports as `x-amz-checksum-<name>`.
pub const CHECKSUMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

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

    /// Whether the bucket has versioning enabled (suspended or never enabled: false).
    pub async fn versioning_enabled(&self) -> Result<bool> {
        let r = self.bucket_get("versioning").await?;
        match r.status.as_u16() {
            200..=299 => Ok(parse_element(&r.body)
                .ok()
                .and_then(|e| e.field("Status"))
                .is_some_and(|s| s == "Enabled")),
            404 | 501 => Ok(false),
            _ => Err(self.status_error("reading the bucket's versioning", &r)),
        }
    }

    /// Whether the bucket has Object Lock enabled.
    pub async fn object_lock_enabled(&self) -> Result<bool> {
        let r = self.bucket_get("object-lock").await?;
        match r.status.as_u16() {
            200..=299 => Ok(parse_element(&r.body)
                .ok()
                .and_then(|e| e.field("ObjectLockEnabled"))
                .is_some_and(|s| s == "Enabled")),
            _ => Ok(false),
        }
    }

    async fn bucket_get(&self, what: &str) -> Result<Response> {
        self.send(Method::GET, None, &[(what, "")], &[], Bytes::new())
            .await
    }

    /// An object's (or one version's) ACL; None when the server has none to give.
    pub async fn acl(&self, rel: &str, version: Option<&str>) -> Result<Option<S3Acl>> {
        let r = self
            .send_sub(Method::GET, rel, "acl", version, &[], Bytes::new())
            .await?;
        match r.status.as_u16() {
            200..=299 => {}
            // 403: an object another account owns; its ACL is not recorded, the object is.
            400 | 403 | 404 | 405 | 501 => return Ok(None),
            _ => return Err(self.status_error(&format!("reading the ACL of '{rel}'"), &r)),
        }
        let policy = parse_element(&r.body)
            .map_err(|e| anyhow!("{}: unreadable ACL of '{rel}': {e}", self.display()))?;
        Ok(Some(acl_of(&policy)))
    }

    /// PutObjectAcl for one version (None: the current one).
    pub async fn put_acl(&self, rel: &str, version: Option<&str>, acl: &S3Acl) -> Result<()> {
        let r = self
            .send_sub(
                Method::PUT,
                rel,
                "acl",
                version,
                &grant_headers(acl),
                Bytes::new(),
            )
            .await?;
        if !r.status.is_success() {
            return Err(self.status_error(&format!("setting the ACL of '{rel}'"), &r));
        }
        Ok(())
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
    super::client::url_decode(raw).ok_or_else(|| format!("key '{raw}' does not decode to UTF-8"))
}

fn acl_of(policy: &Element) -> S3Acl {
    let owner = policy.child("Owner").and_then(|o| o.field("ID"));
    let grants = policy
        .child("AccessControlList")
        .map(|l| {
            l.children_named("Grant")
                .filter_map(|g| {
                    let grantee = g.child("Grantee")?;
                    let (kind, who) = ["ID", "URI", "EmailAddress"]
                        .iter()
                        .find_map(|f| grantee.field(f).map(|v| (*f, v)))?;
                    let kind = match kind {
                        "ID" => "CanonicalUser",
                        "URI" => "Group",
                        _ => "AmazonCustomerByEmail",
                    };
                    Some(S3Grant {
                        kind: kind.to_string(),
                        grantee: who,
                        permission: g.field("Permission")?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    S3Acl { owner, grants }
}

/// The grants as `x-amz-grant-*` headers: S3 takes them like the XML form, and moto reads only
/// them. The owner is whoever writes the object.
fn grant_headers(acl: &S3Acl) -> Vec<(HeaderName, String)> {
    let mut by_permission: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    // A quote or comma in a grantee would end its value early and name another grantee.
    for g in acl
        .grants
        .iter()
        .filter(|g| !g.grantee.contains(['"', ',']))
    {
        let who = match g.kind.as_str() {
            "CanonicalUser" => format!("id=\"{}\"", g.grantee),
            "Group" => format!("uri=\"{}\"", g.grantee),
            _ => format!("emailAddress=\"{}\"", g.grantee),
        };
        by_permission
            .entry(g.permission.as_str())
            .or_default()
            .push(who);
    }
    by_permission
        .into_iter()
        .filter_map(|(permission, who)| {
            let name = format!(
                "x-amz-grant-{}",
                permission.to_ascii_lowercase().replace('_', "-")
            );
            Some((HeaderName::try_from(name).ok()?, who.join(", ")))
        })
        .collect()
}

#[cfg(test)]
fn acl_xml(acl: &S3Acl) -> String {
    let mut xml =
        String::from("<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if let Some(owner) = &acl.owner {
        xml.push_str(&format!(
            "<Owner><ID>{}</ID></Owner>",
            super::xml::xml_escape(owner)
        ));
    }
    xml.push_str("<AccessControlList>");
    for g in &acl.grants {
        let field = match g.kind.as_str() {
            "CanonicalUser" => "ID",
            "Group" => "URI",
            _ => "EmailAddress",
        };
        xml.push_str(&format!(
            "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"{}\"><{field}>{}</{field}></Grantee><Permission>{}</Permission></Grant>",
            super::xml::xml_escape(&g.kind),
            super::xml::xml_escape(&g.grantee),
            super::xml::xml_escape(&g.permission)
        ));
    }
    xml.push_str("</AccessControlList></AccessControlPolicy>");
    xml
}

/// The ACL as the destination is told to write it (`acls=false` writes none,
/// `acl_map=OLD=NEW,...` maps canonical user ids):
/// owners and grantees mapped, or None to write no ACL.
pub fn mapped_acl(acl: &S3Acl, policy: &AclPolicy) -> Option<S3Acl> {
    if policy.drop {
        return None;
    }
    let map = |id: &str| {
        policy
            .map
            .iter()
            .find(|(from, _)| from == id)
            .map(|(_, to)| to.clone())
            .unwrap_or_else(|| id.to_string())
    };
    Some(S3Acl {
        owner: acl.owner.as_deref().map(map),
        grants: acl
            .grants
            .iter()
            .map(|g| S3Grant {
                grantee: match g.kind.as_str() {
                    "CanonicalUser" => map(&g.grantee),
                    _ => g.grantee.clone(),
                },
                ..g.clone()
            })
            .collect(),
    })
}

#[derive(Clone, Debug, Default)]
pub struct AclPolicy {
    pub drop: bool,
    pub map: Vec<(String, String)>,
}

impl AclPolicy {
    /// From the destination's `acls` and `acl_map` options.
    pub fn from_options(acls: Option<&str>, map: Option<&str>) -> Result<AclPolicy> {
        let drop = match acls.map(crate::connectors::options::parse_bool) {
            None | Some(Some(true)) => false,
            Some(Some(false)) => true,
            Some(None) => return Err(crate::error::config("option acls must be true or false")),
        };
        let mut pairs = Vec::new();
        for pair in map.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
            let (from, to) = pair.split_once('=').ok_or_else(|| {
                crate::error::config(format!(
                    "option acl_map takes OLD=NEW pairs separated by commas, not '{pair}'"
                ))
            })?;
            pairs.push((from.to_string(), to.to_string()));
        }
        Ok(AclPolicy { drop, map: pairs })
    }
}

/// Object Lock state and checksums from a GET or HEAD answer's headers.
pub fn lock_state(head: &Response) -> (Option<(String, String)>, bool) {
    let retention = match (
        head.header("x-amz-object-lock-mode"),
        head.header("x-amz-object-lock-retain-until-date"),
    ) {
        (Some(m), Some(u)) => Some((m, u)),
        _ => None,
    };
    let hold = head
        .header("x-amz-object-lock-legal-hold")
        .is_some_and(|h| h.eq_ignore_ascii_case("ON"));
    (retention, hold)
}

pub fn checksums(head: &Response) -> std::collections::BTreeMap<String, String> {
    CHECKSUMS
        .iter()
        .filter_map(|alg| {
            head.header(&format!("x-amz-checksum-{alg}"))
                // A composite checksum of a multipart object (`...-N`) cannot be sent back
                // with one PUT of the whole object.
                .filter(|v| !v.contains('-'))
                .map(|v| (alg.to_string(), v))
        })
        .collect()
}

/// Headers that give a written object its lock state: a retention only while it still runs
/// (a date in the past cannot be set, and a shorter one is never asked for).
pub fn lock_headers(
    retention: &Option<(String, String)>,
    legal_hold: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(HeaderName, String)> {
    let mut h = Vec::new();
    if let Some((mode, until)) = retention {
        let running = chrono::DateTime::parse_from_rfc3339(until).is_ok_and(|u| u > now);
        if running {
            h.push((
                HeaderName::from_static("x-amz-object-lock-mode"),
                mode.clone(),
            ));
            h.push((
                HeaderName::from_static("x-amz-object-lock-retain-until-date"),
                until.clone(),
            ));
        }
    }
    if legal_hold {
        h.push((
            HeaderName::from_static("x-amz-object-lock-legal-hold"),
            "ON".to_string(),
        ));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acl_reads_owner_and_every_kind_of_grantee_and_writes_back_the_same() {
        let body = br#"<AccessControlPolicy><Owner><ID>o1</ID></Owner><AccessControlList>
<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o1</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
<Grant><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
</AccessControlList></AccessControlPolicy>"#;
        let acl = acl_of(&parse_element(body).unwrap());
        assert_eq!(acl.owner.as_deref(), Some("o1"));
        assert_eq!(acl.grants.len(), 2);
        assert_eq!(acl.grants[1].kind, "Group");
        assert_eq!(acl.grants[1].permission, "READ");
        let again = acl_of(&parse_element(acl_xml(&acl).as_bytes()).unwrap());
        assert_eq!(again, acl);
        let headers = grant_headers(&acl);
        let shown: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("x-amz-grant-full-control", "id=\"o1\""),
                (
                    "x-amz-grant-read",
                    "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""
                ),
            ]
        );
    }

    #[test]
    fn acl_owners_are_mapped_or_dropped_as_told() {
        let acl = S3Acl {
            owner: Some("old".into()),
            grants: vec![
                S3Grant {
                    kind: "CanonicalUser".into(),
                    grantee: "old".into(),
                    permission: "FULL_CONTROL".into(),
                },
                S3Grant {
                    kind: "Group".into(),
                    grantee: "old".into(),
                    permission: "READ".into(),
                },
            ],
        };
        let policy = AclPolicy::from_options(None, Some("old=new,x=y")).unwrap();
        let m = mapped_acl(&acl, &policy).unwrap();
        assert_eq!(m.owner.as_deref(), Some("new"));
        assert_eq!(m.grants[0].grantee, "new");
        assert_eq!(m.grants[1].grantee, "old", "a group URI is not an owner");
        let drop = AclPolicy::from_options(Some("false"), None).unwrap();
        assert!(mapped_acl(&acl, &drop).is_none());
        assert!(AclPolicy::from_options(Some("maybe"), None).is_err());
        assert!(AclPolicy::from_options(None, Some("nopair")).is_err());
    }

    #[test]
    fn only_a_running_retention_is_written_and_a_hold_always() {
        let now: chrono::DateTime<chrono::Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        let past = Some(("GOVERNANCE".into(), "2026-05-01T00:00:00Z".into()));
        let future = Some(("COMPLIANCE".into(), "2026-07-01T00:00:00.000Z".into()));
        assert!(lock_headers(&past, false, now).is_empty());
        assert_eq!(lock_headers(&future, false, now).len(), 2);
        assert_eq!(lock_headers(&past, true, now).len(), 1);
    }
}
