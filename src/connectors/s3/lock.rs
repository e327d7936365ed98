//! S3 Object Lock for a store (options `object_lock_days`, `object_lock_mode`): the bucket's
//! default retention puts every object kloset writes under lock for N days; prune asks here
//! before deleting and extends the retention of what is still in use, as kopia's maintenance
//! does, so a stolen credential cannot destroy the last N days of backups.

use anyhow::Result;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderName, Method, StatusCode};
use md5::{Digest, Md5};

use super::client::S3Api;
use super::xml::xml_field;
use crate::error::config;
use crate::repo::backend::ObjectLock;

#[derive(Clone, Copy, Debug)]
pub struct LockPolicy {
    pub days: u32,
    /// `GOVERNANCE` or `COMPLIANCE`.
    pub mode: &'static str,
}

impl LockPolicy {
    pub fn from_options(
        opts: &std::collections::BTreeMap<String, String>,
        display: &str,
    ) -> Result<Option<LockPolicy>> {
        let days = match opts.get("object_lock_days") {
            None if opts.contains_key("object_lock_mode") => {
                return Err(config(format!(
                    "{display}: object_lock_mode needs object_lock_days=N"
                )))
            }
            None => return Ok(None),
            Some(d) => d.parse::<u32>().ok().filter(|d| *d > 0).ok_or_else(|| {
                config(format!(
                    "{display}: object_lock_days must be a whole number of days, at least 1"
                ))
            })?,
        };
        let mode = match opts.get("object_lock_mode").map(|m| m.to_ascii_lowercase()) {
            None => "GOVERNANCE",
            Some(m) if m == "governance" => "GOVERNANCE",
            Some(m) if m == "compliance" => "COMPLIANCE",
            Some(m) => {
                return Err(config(format!(
                    "{display}: object_lock_mode={m}: give governance or compliance"
                )))
            }
        };
        Ok(Some(LockPolicy { days, mode }))
    }
}

pub struct S3Lock {
    api: S3Api,
    policy: LockPolicy,
}

impl S3Lock {
    pub fn new(api: S3Api, policy: LockPolicy) -> S3Lock {
        S3Lock { api, policy }
    }

    /// At `create`: the bucket must have Object Lock, and gets the default retention.
    pub async fn prepare_bucket(&self) -> Result<()> {
        let r = self
            .api
            .send(Method::GET, None, &[("object-lock", "")], &[], Bytes::new())
            .await?;
        let enabled = r.status.is_success()
            && xml_field(&r.body, "ObjectLockEnabled").is_some_and(|v| v == "Enabled");
        if !enabled {
            return Err(config(format!(
                "{}: bucket '{}' does not have Object Lock enabled, and it can only be enabled when a bucket is made: make a new bucket with Object Lock (e.g. 'aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket'), or let 'create' make it",
                self.api.display(),
                self.api.config().bucket
            )));
        }
        let body = format!(
            "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>{}</Mode><Days>{}</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
            self.policy.mode, self.policy.days
        );
        let r = self
            .api
            .send(
                Method::PUT,
                None,
                &[("object-lock", "")],
                &[md5_header(&body)],
                Bytes::from(body),
            )
            .await?;
        if !r.status.is_success() {
            return Err(self
                .api
                .status_error("setting the bucket's default retention", &r));
        }
        Ok(())
    }
}

fn md5_header(body: &str) -> (HeaderName, String) {
    (
        HeaderName::from_static("content-md5"),
        B64.encode(Md5::digest(body.as_bytes())),
    )
}

#[async_trait]
impl ObjectLock for S3Lock {
    fn days(&self) -> u32 {
        self.policy.days
    }

    async fn retained_until(&self, key: &str) -> Result<Option<DateTime<Utc>>> {
        let Some(head) = self.api.head(key).await? else {
            return Ok(None);
        };
        Ok(head
            .header("x-amz-object-lock-retain-until-date")
            .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
            .map(|d| d.with_timezone(&Utc)))
    }

    async fn extend(&self, key: &str, until: DateTime<Utc>) -> Result<()> {
        let body = format!(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
            self.policy.mode,
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let r = self
            .api
            .send(
                Method::PUT,
                Some(&self.api.full_key(key)),
                &[("retention", "")],
                &[md5_header(&body)],
                Bytes::from(body),
            )
            .await?;
        match r.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(self
                .api
                .status_error(&format!("extending the retention of '{key}'"), &r)),
        }
    }
}
