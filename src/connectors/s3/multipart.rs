//! Multipart uploads with kloset's own part layout (a restore's segments).

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http::header::HeaderName;
use http::{Method, StatusCode};

use super::client::S3Api;
use super::xml::{xml_escape, xml_field, InitiateUpload};

impl S3Api {
    pub async fn create_multipart(
        &self,
        rel: &str,
        headers: &[(HeaderName, String)],
    ) -> Result<String> {
        let r = self
            .send(
                Method::POST,
                Some(&self.full_key(rel)),
                &[("uploads", "")],
                headers,
                Bytes::new(),
            )
            .await?;
        if !r.status.is_success() {
            return Err(self.status_error(&format!("starting an upload of '{rel}'"), &r));
        }
        let i: InitiateUpload = quick_xml::de::from_reader(r.body.as_ref())
            .map_err(|e| anyhow!("{}: unreadable upload id: {e}", self.display()))?;
        Ok(i.upload_id)
    }

    /// Returns the part's ETag.
    pub async fn upload_part(
        &self,
        rel: &str,
        upload_id: &str,
        number: usize,
        body: Bytes,
        content_md5: bool,
    ) -> Result<String> {
        let n = number.to_string();
        let q = [("partNumber", n.as_str()), ("uploadId", upload_id)];
        // S3 refuses parts of an upload with Object Lock parameters without it.
        let md5 = match content_md5 {
            true => {
                use base64::Engine;
                use md5::Digest;
                let digest = md5::Md5::digest(&body);
                vec![(
                    HeaderName::from_static("content-md5"),
                    base64::engine::general_purpose::STANDARD.encode(digest),
                )]
            }
            false => Vec::new(),
        };
        let r = self
            .send(Method::PUT, Some(&self.full_key(rel)), &q, &md5, body)
            .await?;
        if !r.status.is_success() {
            return Err(self.status_error(&format!("uploading part {number} of '{rel}'"), &r));
        }
        r.header("etag")
            .ok_or_else(|| anyhow!("{}: part {number} of '{rel}' has no ETag", self.display()))
    }

    pub async fn complete_multipart(
        &self,
        rel: &str,
        upload_id: &str,
        etags: &[String],
    ) -> Result<Option<String>> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, etag) in etags.iter().enumerate() {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                xml_escape(etag)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let r = self
            .send(
                Method::POST,
                Some(&self.full_key(rel)),
                &[("uploadId", upload_id)],
                &[],
                Bytes::from(xml),
            )
            .await?;
        // A completion whose answer was lost is retried and then told the upload is gone:
        // it is done when the object is there with the multipart ETag of these parts.
        if r.status == StatusCode::NOT_FOUND
            && xml_field(&r.body, "Code").as_deref() == Some("NoSuchUpload")
        {
            let stored = self.head(rel).await?.and_then(|h| h.header("etag"));
            if stored.is_some_and(|e| e.trim_matches('"') == multipart_etag(etags)) {
                return Ok(None);
            }
        }
        // S3 may report a failure inside a 200 response.
        if !r.status.is_success() || xml_field(&r.body, "Code").is_some() {
            return Err(self.status_error(&format!("completing the upload of '{rel}'"), &r));
        }
        Ok(r.header("x-amz-version-id"))
    }

    /// Multipart uploads in progress under the location's prefix: (key relative to it, upload
    /// id, when it was begun). A restore killed mid-upload leaves them (invisible, and billed).
    pub async fn open_uploads(
        &self,
    ) -> Result<Vec<(String, String, Option<chrono::DateTime<chrono::Utc>>)>> {
        let base = match self.config().prefix.as_str() {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let mut out = Vec::new();
        let mut marker: Option<(String, String)> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut query = vec![("uploads", ""), ("prefix", base.as_str())];
            if let Some((k, u)) = &marker {
                query.push(("key-marker", k.as_str()));
                query.push(("upload-id-marker", u.as_str()));
            }
            let r = self
                .send(Method::GET, None, &query, &[], Bytes::new())
                .await?;
            if !r.status.is_success() {
                return Err(self.status_error("listing open multipart uploads", &r));
            }
            let page = super::xml::parse_element(&r.body)
                .map_err(|e| anyhow!("{}: unreadable upload listing: {e}", self.display()))?;
            for u in page.children_named("Upload") {
                if let (Some(key), Some(id)) = (u.field("Key"), u.field("UploadId")) {
                    let begun = u
                        .field("Initiated")
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&chrono::Utc));
                    if let Some(rel) = key.strip_prefix(&base) {
                        out.push((rel.to_string(), id, begun));
                    }
                }
            }
            let more = page
                .field("IsTruncated")
                .is_some_and(|t| t.trim() == "true");
            let next = (
                page.field("NextKeyMarker"),
                page.field("NextUploadIdMarker"),
            );
            match (more, next) {
                (true, (Some(k), Some(u))) if seen.insert((k.clone(), u.clone())) => {
                    marker = Some((k, u))
                }
                (true, _) => {
                    return Err(anyhow!(
                        "{}: unreadable upload listing: more follows but no new marker",
                        self.display()
                    ))
                }
                (false, _) => break,
            }
        }
        Ok(out)
    }

    pub async fn abort_multipart(&self, rel: &str, upload_id: &str) -> Result<()> {
        let r = self
            .send(
                Method::DELETE,
                Some(&self.full_key(rel)),
                &[("uploadId", upload_id)],
                &[],
                Bytes::new(),
            )
            .await?;
        if !r.status.is_success() && r.status != StatusCode::NOT_FOUND {
            return Err(self.status_error(&format!("aborting the upload of '{rel}'"), &r));
        }
        Ok(())
    }
}

/// S3's ETag of a multipart object: MD5 of the parts' binary MD5s, then `-` and their count.
fn multipart_etag(parts: &[String]) -> String {
    use md5::{Digest, Md5};
    let mut all = Md5::new();
    for p in parts {
        if let Ok(bytes) = hex::decode(p.trim_matches('"')) {
            all.update(bytes);
        }
    }
    format!("{}-{}", hex::encode(all.finalize()), parts.len())
}
