//! One signed request: its URL, headers and signature, retried while the server or the
//! connection fails, and an error status made a typed error.

use std::time::Duration;

use anyhow::anyhow;
use http::header::{HeaderName, HeaderValue};
use http::Method;
use object_store::aws::AwsAuthorizer;
use object_store::client::{HttpRequest, HttpRequestBody};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::super::xml::xml_field;
use super::*;
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

impl S3Api {
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

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
