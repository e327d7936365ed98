//! Writing content: a small object in one PUT, a larger one part by part as a multipart
//! upload, a delete marker of a replayed history as a DeleteObject.

use super::*;

impl S3Destination {
    /// The upload id of a multipart file, started on its first part.
    async fn upload_id(&self, file: usize, planned: &PlannedFile) -> Result<String> {
        let mut uploads = self.uploads.lock().await;
        if let Some(u) = uploads.get(&file) {
            return Ok(u.id.clone());
        }
        let mut headers = headers_for(&planned.node, self.storage_class.as_deref());
        if let (true, Some(m)) = (self.object_lock.load(Ordering::Relaxed), &planned.node.s3) {
            headers.extend(history::lock_headers(
                &m.retention,
                m.legal_hold,
                chrono::Utc::now(),
            ));
        }
        let id = self
            .api
            .create_multipart(&Self::key(planned), &headers)
            .await?;
        uploads.insert(
            file,
            Upload {
                key: Self::key(planned),
                id: id.clone(),
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }
}

#[async_trait]
impl ContentSink for S3Destination {
    async fn write(
        &self,
        file: usize,
        planned: &PlannedFile,
        segment: usize,
        _offset: u64,
        data: Bytes,
        whole: bool,
    ) -> Result<()> {
        let key = Self::key(planned);
        if planned.node.is_deleted() {
            // A delete marker of a replayed history: on a versioned bucket, a new marker.
            self.api.delete_object(&key).await?;
            self.replayed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if whole {
            let mut headers = headers_for(&planned.node, self.storage_class.as_deref());
            headers.extend(self.whole_put_headers(&planned.node, &data));
            let version = self.api.put(&key, data, &headers).await?;
            self.written_version(planned);
            self.ensure_tags(planned).await?;
            return self.ensure_acl(planned, version.as_deref()).await;
        }
        let upload = self.upload_id(file, planned).await?;
        let locked = self.object_lock.load(Ordering::Relaxed)
            && planned
                .node
                .s3
                .as_ref()
                .is_some_and(|m| m.retention.is_some() || m.legal_hold);
        let etag = self
            .api
            .upload_part(&key, &upload, segment + 1, data, locked)
            .await?;
        if let Some(u) = self.uploads.lock().await.get_mut(&file) {
            u.parts.insert(segment, etag);
        }
        Ok(())
    }

    async fn complete(&self, file: usize, planned: &PlannedFile, _segments: usize) -> Result<()> {
        let Some(upload) = self.uploads.lock().await.remove(&file) else {
            return Err(anyhow::anyhow!(
                "internal: no upload for {}",
                Self::key(planned)
            ));
        };
        let etags: Vec<String> = upload.parts.into_values().collect();
        let key = Self::key(planned);
        let done = self.api.complete_multipart(&key, &upload.id, &etags).await;
        if done.is_err() {
            let _ = self.api.abort_multipart(&key, &upload.id).await;
        }
        let version = done?;
        self.written_version(planned);
        self.ensure_tags(planned).await?;
        self.ensure_acl(planned, version.as_deref()).await
    }

    async fn abandon(&self, file: usize, planned: &PlannedFile) {
        // Never leave a partial upload behind (it is billed and invisible).
        if let Some(upload) = self.uploads.lock().await.remove(&file) {
            let _ = self
                .api
                .abort_multipart(&Self::key(planned), &upload.id)
                .await;
        }
    }
}
