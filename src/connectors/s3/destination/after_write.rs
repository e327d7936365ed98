//! What follows writing an object or a version: its tags (kept by the PUT, set apart, or lost
//! where the server has none), its ACL, and the count of versions a replay wrote.

use super::*;

impl S3Destination {
    /// Counts what a replay wrote.
    pub(super) fn written_version(&self, planned: &PlannedFile) {
        if planned
            .node
            .s3
            .as_ref()
            .is_some_and(|m| m.version_id.is_some())
        {
            self.replayed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// After an object (or a version) is written: its ACL, as the options say.
    pub(super) async fn ensure_acl(
        &self,
        planned: &PlannedFile,
        version: Option<&str>,
    ) -> Result<()> {
        let Some(acl) = planned.node.s3.as_ref().and_then(|m| m.acl.as_ref()) else {
            return Ok(());
        };
        let Some(acl) = history::mapped_acl(acl, &self.acls) else {
            return Ok(());
        };
        let key = Self::key(planned);
        if let Err(e) = self.api.put_acl(&key, version, &acl).await {
            // An owner unknown here is this object's problem, not the restore's.
            self.refused
                .lock()
                .expect("refused")
                .push(format!("'{key}': its ACL was not set ({e:#}); acl_map=OLD=NEW maps owners, acls=false leaves ACLs out"));
        }
        Ok(())
    }

    /// After an object with tags is written: makes sure the server kept them.
    pub(super) async fn ensure_tags(&self, planned: &PlannedFile) -> Result<()> {
        let Some(tags) = planned
            .node
            .s3
            .as_ref()
            .and_then(|m| m.tags.as_ref())
            .filter(|t| !t.is_empty())
        else {
            return Ok(());
        };
        let key = Self::key(planned);
        let state = self.tagging.load(Ordering::Relaxed);
        if state == TAGGING_UNKNOWN {
            let kept = self.api.tags(&key).await?.as_ref() == Some(tags);
            if kept {
                self.tagging.store(TAGGING_IN_PUT, Ordering::Relaxed);
                return Ok(());
            }
        }
        if matches!(state, TAGGING_IN_PUT | TAGGING_NONE) {
            if state == TAGGING_NONE {
                self.tags_lost.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        let set = match self.api.put_tags(&key, tags).await {
            Ok(set) => set,
            Err(e) if remote::kind_of(&e).is_some() => {
                self.refused
                    .lock()
                    .expect("refused")
                    .push(format!("'{key}': its tags were not set ({e:#})"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let now = if set { TAGGING_SEPARATE } else { TAGGING_NONE };
        self.tagging.store(now, Ordering::Relaxed);
        if !set {
            self.tags_lost.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
