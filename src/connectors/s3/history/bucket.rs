//! What a bucket has switched on: versioning and Object Lock.

use anyhow::Result;
use bytes::Bytes;
use http::Method;

use super::super::client::{Response, S3Api};
use super::super::xml::parse_element;

impl S3Api {
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
}
