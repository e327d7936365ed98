//! Objects themselves: GET (whole, a range, one version), HEAD and PUT.

use std::ops::Range;

use http::header::HeaderName;
use http::Method;

use super::*;

impl S3Api {
    /// GET of a whole object or a range; `if_match` makes a changed object fail with 412.
    pub async fn get(
        &self,
        rel: &str,
        range: Option<Range<u64>>,
        if_match: Option<&str>,
    ) -> Result<Response> {
        self.get_version(rel, None, range, if_match, None).await
    }

    /// GET of one version (None: the current one). Asks for the object's additional
    /// checksums, which S3 gives only when asked.
    pub async fn get_version(
        &self,
        rel: &str,
        version: Option<&str>,
        range: Option<Range<u64>>,
        if_match: Option<&str>,
        if_unmodified_since: Option<&str>,
    ) -> Result<Response> {
        let mut headers = vec![(
            HeaderName::from_static("x-amz-checksum-mode"),
            "ENABLED".to_string(),
        )];
        if let Some(r) = range {
            headers.push((
                http::header::RANGE,
                format!("bytes={}-{}", r.start, r.end - 1),
            ));
        }
        if let Some(etag) = if_match {
            headers.push((http::header::IF_MATCH, etag.to_string()));
        }
        if let Some(t) = if_unmodified_since {
            headers.push((http::header::IF_UNMODIFIED_SINCE, t.to_string()));
        }
        let query: Vec<(&str, &str)> = version.map(|v| ("versionId", v)).into_iter().collect();
        self.send(
            Method::GET,
            Some(&self.full_key(rel)),
            &query,
            &headers,
            Bytes::new(),
        )
        .await
    }

    pub async fn head(&self, rel: &str) -> Result<Option<Response>> {
        let r = self
            .send(
                Method::HEAD,
                Some(&self.full_key(rel)),
                &[],
                &[],
                Bytes::new(),
            )
            .await?;
        match r.status {
            s if s.is_success() => Ok(Some(r)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error(&format!("reading '{rel}'"), &r)),
        }
    }

    /// PutObject; the new version's id where the bucket keeps versions.
    pub async fn put(
        &self,
        rel: &str,
        body: Bytes,
        headers: &[(HeaderName, String)],
    ) -> Result<Option<String>> {
        let r = self
            .send(Method::PUT, Some(&self.full_key(rel)), &[], headers, body)
            .await?;
        if !r.status.is_success() {
            return Err(self.status_error(&format!("writing '{rel}'"), &r));
        }
        Ok(r.header("x-amz-version-id"))
    }
}
