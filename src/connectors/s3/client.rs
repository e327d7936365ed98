//! Object-level S3 requests that object_store's `ObjectStore` API cannot express: listing keys
//! exactly as stored (`a//b`, `dir/`, a leading `/`), reading and writing every metadata header
//! and tags, and multipart uploads with our own part layout.
//!
//! Requests go through object_store's own HTTP client and credential chain, configured from the
//! same `S3Config` as the store client, and are signed by object_store's `AwsAuthorizer`; this
//! module only builds them.

use anyhow::Result;
use bytes::Bytes;
use http::header::HeaderMap;
use http::StatusCode;
use object_store::aws::AwsCredentialProvider;
use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};

use super::config::S3Config;

mod bucket;
mod listing;
mod objects;
mod request;
mod tags;

pub(in crate::connectors::s3) use listing::url_decode;
pub use request::has_dot_segment;
pub use tags::TagRead;

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
}

#[cfg(test)]
mod tests;
