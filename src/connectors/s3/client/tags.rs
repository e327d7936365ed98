//! Object tags: GetObjectTagging and PutObjectTagging, of an object or one of its versions.

use std::collections::BTreeMap;

use anyhow::anyhow;
use http::Method;

use super::super::xml::{xml_escape, xml_field, Tagging};
use super::*;

pub enum TagRead {
    Tags(BTreeMap<String, String>),
    /// The status and S3 error code of a refusal.
    Refused(u16, String),
}

impl TagRead {
    /// A refusal that says the server has no tagging at all, rather than that this object's
    /// tags cannot be read: 501, or NotImplemented under any status.
    pub fn unsupported(&self) -> bool {
        matches!(self, TagRead::Refused(s, code) if *s == 501 || code == "NotImplemented")
    }
}

impl S3Api {
    /// Ok(None) when the server does not implement tagging.
    pub async fn tags(&self, rel: &str) -> Result<Option<BTreeMap<String, String>>> {
        self.version_tags(rel, None).await
    }

    /// The tags of one version (None: the current one).
    pub async fn version_tags(
        &self,
        rel: &str,
        version: Option<&str>,
    ) -> Result<Option<BTreeMap<String, String>>> {
        Ok(match self.read_tags(rel, version).await? {
            TagRead::Tags(t) => Some(t),
            TagRead::Refused(..) => None,
        })
    }

    /// The tags of one version, or the status and S3 code the server refused them with.
    pub async fn read_tags(&self, rel: &str, version: Option<&str>) -> Result<TagRead> {
        let r = self
            .send_sub(Method::GET, rel, "tagging", version, &[], Bytes::new())
            .await?;
        if !r.status.is_success() {
            return match r.status.as_u16() {
                s @ (400..=499 | 501) => Ok(TagRead::Refused(
                    s,
                    xml_field(&r.body, "Code").unwrap_or_default(),
                )),
                _ => Err(self.status_error(&format!("reading tags of '{rel}'"), &r)),
            };
        }
        let t: Tagging = quick_xml::de::from_reader(r.body.as_ref())
            .map_err(|e| anyhow!("{}: unreadable tags of '{rel}': {e}", self.display()))?;
        Ok(TagRead::Tags(
            t.tag_set
                .tag
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect(),
        ))
    }

    /// PutObjectTagging. Ok(false) when the server does not implement tagging.
    pub async fn put_tags(&self, rel: &str, tags: &BTreeMap<String, String>) -> Result<bool> {
        self.put_version_tags(rel, None, tags).await
    }

    /// PutObjectTagging of one version (None: the current one).
    pub async fn put_version_tags(
        &self,
        rel: &str,
        version: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool> {
        let mut xml = String::from("<Tagging><TagSet>");
        for (k, v) in tags {
            xml.push_str(&format!(
                "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
                xml_escape(k),
                xml_escape(v)
            ));
        }
        xml.push_str("</TagSet></Tagging>");
        let r = self
            .send_sub(Method::PUT, rel, "tagging", version, &[], Bytes::from(xml))
            .await?;
        let code = xml_field(&r.body, "Code").unwrap_or_default();
        match r.status.as_u16() {
            200..=299 => Ok(true),
            // One object's tags the server will not take (InvalidTag, a 400 or 403 on it) are
            // that object's problem: reported by the caller, the next object tagged as usual.
            400 | 403 if code != "NotImplemented" => {
                Err(self.status_error(&format!("setting tags of '{rel}'"), &r))
            }
            405 | 501 | 400 => Ok(false),
            _ => Err(self.status_error(&format!("setting tags of '{rel}'"), &r)),
        }
    }
}
