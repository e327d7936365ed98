//! An object's (or one version's) ACL: read as S3's XML policy, written back as
//! `x-amz-grant-*` headers.

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http::header::HeaderName;
use http::Method;

use super::super::client::S3Api;
use super::super::xml::{parse_element, Element};
use crate::repo::tree::{S3Acl, S3Grant};

impl S3Api {
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
            super::super::xml::xml_escape(owner)
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
            super::super::xml::xml_escape(&g.kind),
            super::super::xml::xml_escape(&g.grantee),
            super::super::xml::xml_escape(&g.permission)
        ));
    }
    xml.push_str("</AccessControlList></AccessControlPolicy>");
    xml
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
}
