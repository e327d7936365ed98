//! Object-level S3 requests that object_store's `ObjectStore` API cannot express: listing keys
//! exactly as stored (`a//b`, `dir/`, a leading `/`), reading and writing every metadata header
//! and tags, and multipart uploads with our own part layout.
//!
//! Requests go through object_store's own HTTP client and credential chain, configured from the
//! same `S3Config` as the store client, and are signed by object_store's `AwsAuthorizer`; this
//! module only builds them.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{
    HttpClient, HttpConnector, HttpRequest, HttpRequestBody, ReqwestConnector,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::config::S3Config;
use super::xml::{xml_escape, xml_field, ListPage, Tagging};
use crate::remote::{self, RemoteKind};

/// Everything but RFC 3986 unreserved characters, as SigV4 wants.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Same, keeping `/` between key segments.
const KEY: &AsciiSet = &COMPONENT.remove(b'/');
/// Why one try of a request did not give an answer.
enum Failure {
    /// A server error: tried again; the last one is the answer.
    Server(Response),
    /// The connection failed or the answer was cut off: tried again.
    Cut(anyhow::Error),
    /// Not worth another try.
    Final(anyhow::Error),
}

impl Failure {
    fn transient(&self) -> bool {
        !matches!(self, Failure::Final(_))
    }
}

pub struct S3Api {
    http: HttpClient,
    config: S3Config,
    bucket_url: String,
    credentials: AwsCredentialProvider,
}

#[derive(Clone, Debug)]
pub struct Listed {
    /// Relative to the location's prefix, exactly as stored.
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub storage_class: Option<String>,
}

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

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

impl S3Api {
    pub fn new(config: &S3Config) -> Result<S3Api> {
        let bucket = config.bucket_client()?;
        let http = ReqwestConnector::default()
            .connect(&config.client_options()?)
            .map_err(|e| {
                crate::error::config(format!("cannot configure S3 for {}: {e}", config.display))
            })?;
        Ok(S3Api {
            http,
            bucket_url: config.bucket_url(),
            credentials: bucket.credentials().clone(),
            config: config.clone(),
        })
    }

    pub fn display(&self) -> &str {
        &self.config.display
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// `host/bucket[/prefix]`, without credentials: names the source in snapshots.
    pub fn display_location(&self) -> String {
        self.config.display_location()
    }

    /// The full bucket key of a key relative to the location's prefix.
    pub fn full_key(&self, rel: &str) -> String {
        if self.config.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.config.prefix)
        }
    }

    /// Sends one signed request, retrying (`crate::retry`) connection failures, answers cut off
    /// and server errors (500, 502, 503 SlowDown, 504, 429, 408); a 501 (not implemented) is an
    /// answer, not a fault. `key` None addresses the bucket itself.
    pub async fn send(
        &self,
        method: Method,
        key: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(HeaderName, String)],
        body: Bytes,
    ) -> Result<Response> {
        let mut uri = self.bucket_url.clone();
        if let Some(k) = key {
            uri.push('/');
            uri.push_str(&encode_key(k));
        }
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(k, COMPONENT),
                        utf8_percent_encode(v, COMPONENT)
                    )
                })
                .collect();
            uri.push('?');
            uri.push_str(&q.join("&"));
        }
        let attempt = || self.send_once(&method, &uri, key, query, headers, &body);
        match crate::retry::run(&self.config.retry, Failure::transient, attempt).await {
            Ok(resp) | Err(Failure::Server(resp)) => Ok(resp),
            Err(Failure::Cut(e) | Failure::Final(e)) => Err(e),
        }
    }

    /// A request to a subresource (`?tagging`, `?acl`) of an object or one of its versions.
    pub async fn send_sub(
        &self,
        method: Method,
        rel: &str,
        sub: &str,
        version: Option<&str>,
        headers: &[(HeaderName, String)],
        body: Bytes,
    ) -> Result<Response> {
        let mut query = vec![(sub, "")];
        if let Some(v) = version {
            query.push(("versionId", v));
        }
        self.send(method, Some(&self.full_key(rel)), &query, headers, body)
            .await
    }

    /// One try of `send`.
    async fn send_once(
        &self,
        method: &Method,
        uri: &str,
        key: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(HeaderName, String)],
        body: &Bytes,
    ) -> Result<Response, Failure> {
        let mut req: HttpRequest = http::Request::builder()
            .method(method.clone())
            .uri(uri)
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| Failure::Final(anyhow!("bad S3 request for {}: {e}", self.display())))?;
        let sse = match (&self.config.sse, key) {
            (Some(sse), Some(_)) => sse.headers(method, query),
            _ => Vec::new(),
        };
        for (name, value) in headers.iter().chain(&sse) {
            let v = HeaderValue::from_str(value).map_err(|_| {
                Failure::Final(anyhow!("header {name} has a value S3 cannot carry"))
            })?;
            req.headers_mut().insert(name.clone(), v);
        }
        let digest = sha256(body);
        let credential = self.credentials.get_credential().await.map_err(|e| {
            Failure::Final(remote::error(
                self.display(),
                RemoteKind::AccessDenied,
                &e.to_string(),
            ))
        })?;
        AwsAuthorizer::new(&credential, "s3", &self.config.region)
            .authorize(&mut req, Some(&digest));
        // A server that accepts connections and never answers is an error within the
        // timeout (plus time to move the body at 1 MiB/s), not a hang; it is not retried.
        let allowed = self.config.timeout + Duration::from_secs((body.len() >> 20) as u64);
        let silent = |allowed: Duration| {
            Failure::Final(remote::error(
                self.display(),
                RemoteKind::Unreachable,
                &format!(
                    "the server did not answer within {} s (option timeout)",
                    allowed.as_secs()
                ),
            ))
        };
        let resp = match tokio::time::timeout(allowed, self.http.execute(req)).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => return Err(Failure::Cut(self.transport_error(&e))),
            Err(_) => return Err(silent(allowed)),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        // A body cut off half-way is read again whole: a GET pinned with If-Match still
        // returns the same version, or 412 if the object changed meanwhile.
        let length: u64 = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0);
        let allowed = self.config.timeout + Duration::from_secs(length >> 20);
        let body = match tokio::time::timeout(allowed, resp.into_body().bytes()).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                return Err(Failure::Cut(remote::error(
                    self.display(),
                    RemoteKind::Unreachable,
                    &format!("reading a response failed: {e}"),
                )))
            }
            Err(_) => return Err(silent(allowed)),
        };
        let resp = Response {
            status,
            headers,
            body,
        };
        match crate::retry::transient_status(status.as_u16()) {
            true => Err(Failure::Server(resp)),
            false => Ok(resp),
        }
    }

    fn transport_error(&self, e: &(dyn std::error::Error + 'static)) -> anyhow::Error {
        let kind = match RemoteKind::of_error(e) {
            RemoteKind::Other => RemoteKind::Unreachable,
            k => k,
        };
        remote::error(self.display(), kind, &e.to_string())
    }

    /// Turns an error status into a typed, one-line error naming the fix.
    pub fn status_error(&self, what: &str, r: &Response) -> anyhow::Error {
        let code = xml_field(&r.body, "Code").unwrap_or_default();
        let customer_key = self.config.sse.as_ref().is_some_and(|s| s.is_customer());
        let kind = match (customer_key, r.status.as_u16(), code.as_str()) {
            (true, status, _) => RemoteKind::of_status_with_sse_c(status, &code),
            (false, 400, "InvalidRequest") => RemoteKind::NeedsSseKey,
            (false, status, _) => RemoteKind::of_status(status, &code),
        };
        let detail = format!("{what}: the server answered {} {code}", r.status.as_u16());
        remote::error(self.display(), kind, &detail)
    }

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

/// The key as a request path. The HTTP stack parses URLs the WHATWG way, which drops `.` and
/// `..` segments (even as `%2E`); a key that has such segments is sent with its `/` encoded
/// too, as one segment that nothing normalises, and signed as sent: S3 decodes it back to the
/// same key. (moto accepts this; Garage checks such a signature against another path and
/// refuses it, which the source and destination report as such.)
pub fn has_dot_segment(key: &str) -> bool {
    key.split('/').any(|seg| seg == "." || seg == "..")
}

fn encode_key(key: &str) -> String {
    let set = if has_dot_segment(key) { COMPONENT } else { KEY };
    utf8_percent_encode(key, set).to_string()
}

mod listing;

pub(in crate::connectors::s3) use listing::url_decode;

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests;
