//! The bucket itself: made when missing, and whether it is there.

use http::header::HeaderName;
use http::Method;

use super::super::xml::xml_field;
use super::*;

impl S3Api {
    /// CreateBucket, with Object Lock when asked; Ok(false) when the server refuses
    /// (typically: no permission).
    pub async fn create_bucket(&self, object_lock: bool) -> Result<bool> {
        let region = &self.config.region;
        let body = if region == "us-east-1" {
            Bytes::new()
        } else {
            Bytes::from(format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                region
            ))
        };
        let lock = (
            HeaderName::from_static("x-amz-bucket-object-lock-enabled"),
            "true".to_string(),
        );
        let headers = match object_lock {
            true => vec![lock],
            false => Vec::new(),
        };
        let r = self.send(Method::PUT, None, &[], &headers, body).await?;
        let code = xml_field(&r.body, "Code").unwrap_or_default();
        Ok(r.status.is_success() || code == "BucketAlreadyOwnedByYou")
    }

    /// True when the bucket does not exist.
    pub async fn bucket_missing(&self) -> Result<bool> {
        let r = self
            .send(
                Method::GET,
                None,
                &[("list-type", "2"), ("max-keys", "1")],
                &[],
                Bytes::new(),
            )
            .await?;
        Ok(r.status == StatusCode::NOT_FOUND)
    }
}
