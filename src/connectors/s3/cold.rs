//! Packs in an archive storage class (GLACIER, DEEP_ARCHIVE) cannot be read until S3 restores
//! a temporary copy. Before a restore reads data packs, this tells which are frozen and, when
//! asked, requests their thaw and waits for it.

use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;
use http::Method;

use super::client::S3Api;
use crate::repo::backend::ColdStorage;

/// Classes whose objects must be restored before a GET.
const ARCHIVE_CLASSES: &[&str] = &["GLACIER", "DEEP_ARCHIVE"];
/// Days a thawed copy stays readable: long enough for a restore to finish.
const THAW_DAYS: u32 = 7;

pub struct S3Cold {
    api: S3Api,
}

impl S3Cold {
    pub fn new(api: S3Api) -> S3Cold {
        S3Cold { api }
    }

    /// Restored copies are readable: `x-amz-restore: ongoing-request="false"`.
    async fn readable(&self, key: &str) -> Result<bool> {
        let head = self.api.head(key).await?;
        Ok(head
            .and_then(|r| r.header("x-amz-restore"))
            .is_some_and(|v| v.contains("ongoing-request=\"false\"")))
    }
}

#[async_trait]
impl ColdStorage for S3Cold {
    async fn frozen(&self, keys: &[String]) -> Result<Vec<(String, String)>> {
        let wanted: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        for obj in self.api.list().await? {
            let class = obj.storage_class.unwrap_or_default();
            if wanted.contains(obj.key.as_str())
                && ARCHIVE_CLASSES.contains(&class.as_str())
                && !self.readable(&obj.key).await?
            {
                out.push((obj.key, class));
            }
        }
        Ok(out)
    }

    async fn thaw(&self, keys: &[String], poll: Duration) -> Result<()> {
        let body = format!(
            "<RestoreRequest><Days>{THAW_DAYS}</Days><GlacierJobParameters><Tier>Standard</Tier></GlacierJobParameters></RestoreRequest>"
        );
        for key in keys {
            let r = self
                .api
                .send(
                    Method::POST,
                    Some(&self.api.full_key(key)),
                    &[("restore", "")],
                    &[],
                    Bytes::from(body.clone()),
                )
                .await?;
            // 202: started; 200: already thawed; 409: a restore is already under way.
            if !(r.status.is_success() || r.status.as_u16() == 409) {
                return Err(self
                    .api
                    .status_error(&format!("asking to thaw '{key}'"), &r));
            }
        }
        let mut waiting: Vec<&String> = keys.iter().collect();
        loop {
            let mut still = Vec::new();
            for key in waiting {
                if !self.readable(key).await? {
                    still.push(key);
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            eprintln!(
                "waiting for {} packs to thaw (S3 takes minutes to hours; this waits, Ctrl-C stops it and a later 'restore --thaw' resumes)",
                still.len()
            );
            tokio::time::sleep(poll).await;
            waiting = still;
        }
    }
}
