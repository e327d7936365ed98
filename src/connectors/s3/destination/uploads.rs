//! Multipart uploads no restore will finish: those a failed step left, and those a killed
//! restore left for the keys being restored.

use super::*;

impl S3Destination {
    /// Uploads a killed restore left for the keys this one writes: aborted (best effort; one
    /// that cannot be listed or aborted only costs its storage until the bucket's lifecycle).
    pub(super) async fn abort_stale_uploads(&self, plan: &mut Plan) {
        let planned: std::collections::HashSet<String> = plan
            .files
            .iter()
            .chain(plan.history.iter().flatten())
            .map(Self::key)
            .collect();
        let open = match self.api.open_uploads().await {
            Ok(open) => open,
            Err(e) => {
                plan.notes.push(format!(
                    "multipart uploads left by an earlier restore could not be listed ({e:#})"
                ));
                return;
            }
        };
        // Only uploads begun before this restore: not a concurrent writer's.
        let stale: Vec<(String, String)> = open
            .into_iter()
            .filter(|u| planned.contains(&u.0) && u.2.is_some_and(|t| t < self.started))
            .map(|(key, id, _)| (key, id))
            .collect();
        if stale.is_empty() {
            return;
        }
        let n = stale.len();
        futures::stream::iter(stale)
            .for_each_concurrent(8, |(key, id)| async move {
                let _ = self.api.abort_multipart(&key, &id).await;
            })
            .await;
        plan.notes.push(format!(
            "{n} unfinished multipart uploads of the keys being restored, left by an earlier run, were aborted"
        ));
    }

    /// Uploads no feed will complete (a failed step's): aborted, never continued by the next
    /// version or left behind.
    pub(super) async fn abort_left_uploads(&self) {
        let left: Vec<Upload> = self.uploads.lock().await.drain().map(|(_, u)| u).collect();
        for upload in left {
            let _ = self.api.abort_multipart(&upload.key, &upload.id).await;
        }
    }
}
