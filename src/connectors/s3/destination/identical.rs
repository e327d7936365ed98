//! Whether an object already at the destination is the one this restore would write: its
//! ETag where that tells, else its bytes read back, and its headers, metadata, class and tags.

use super::*;

impl S3Destination {
    /// Whether the object at `key` has the headers, user metadata, storage class and tags this
    /// restore would give it. Headers the restore would not send (a server's default content
    /// type) are not compared.
    pub(super) async fn described_alike(&self, key: &str, node: &Node) -> Result<bool> {
        // Not known alike is not alike: written again (or a conflict), never skipped.
        let Ok(Some(head)) = self.api.head(key).await else {
            return Ok(false);
        };
        let expected = headers_for(node, self.storage_class.as_deref());
        let mut class = "STANDARD".to_string();
        for (name, value) in &expected {
            match name.as_str() {
                "x-amz-tagging" => {}
                "x-amz-storage-class" => class = value.clone(),
                n if head.header(n).as_deref() != Some(value.as_str()) => return Ok(false),
                _ => {}
            }
        }
        let got_class = head.header("x-amz-storage-class");
        if got_class.as_deref().unwrap_or("STANDARD") != class {
            return Ok(false);
        }
        let meta = |n: &str| n.starts_with("x-amz-meta-");
        let want_meta = expected.iter().filter(|(n, _)| meta(n.as_str())).count();
        if head.headers.keys().filter(|n| meta(n.as_str())).count() != want_meta {
            return Ok(false);
        }
        // Tags the source could not read are not known to differ.
        let Some(want_tags) = node.s3.as_ref().map(|m| m.tags.clone()) else {
            return Ok(true);
        };
        let Some(want_tags) = want_tags else {
            return Ok(true);
        };
        let tagged = head.header("x-amz-tagging-count").is_some_and(|c| c != "0");
        if self.tagging.load(Ordering::Relaxed) != TAGGING_NONE && (tagged || !want_tags.is_empty())
        {
            if let Some(tags) = self.api.tags(key).await? {
                return Ok(tags == want_tags);
            }
        }
        Ok(true)
    }
}

impl S3Destination {
    /// Whether the object at `key` (ETag `etag`, empty if unknown) holds exactly the bytes of
    /// `pieces`, which must cover `size` from 0. It is read in ranges of at most READ_STEP,
    /// never held whole; every answer must name one ETag, so a rewrite mid-read is no match.
    pub(super) async fn holds(
        &self,
        key: &str,
        etag: &str,
        size: u64,
        pieces: &[Piece],
    ) -> Result<bool> {
        let mut next = 0;
        for p in pieces {
            if p.offset != next {
                return Ok(false);
            }
            next += p.len;
        }
        if next != size {
            return Ok(false);
        }
        let mut pinned = Some(etag.trim_matches('"').to_string()).filter(|e| !e.is_empty());
        for p in pieces {
            let mut sha = Sha256::new();
            let mut at = p.offset;
            while at < p.offset + p.len {
                let end = (at + READ_STEP).min(p.offset + p.len);
                let r = self.api.get(key, Some(at..end), None).await?;
                let body = match (r.status.as_u16(), r.body.len() as u64) {
                    (206, n) if n == end - at => r.body.clone(),
                    // A server that ignores Range sends the whole object.
                    (200, n) if n == size => r.body.slice(at as usize..end as usize),
                    // Gone or rewritten since it was listed: not what this restore would write.
                    (404 | 412, _) | (200 | 206, _) => return Ok(false),
                    _ => {
                        let what = format!("reading '{key}' to compare it");
                        return Err(self.api.status_error(&what, &r));
                    }
                };
                if let Some(now) = r.header("etag").map(|e| e.trim_matches('"').to_string()) {
                    if *pinned.get_or_insert_with(|| now.clone()) != now {
                        return Ok(false);
                    }
                }
                sha.update(&body);
                at = end;
            }
            if <[u8; 32]>::from(sha.finalize()) != p.sha256 {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// What an existing object's ETag says of whether it holds what this restore would write, whose
/// ETag is `ours`; None when it cannot tell. Only two single-PUT MD5s differ conclusively: a
/// multipart ETag depends on the part layout of whoever wrote the object, and on some servers
/// it is an opaque string (as may be any ETag of an encrypted object, or of a server without
/// ETags in listings and HEAD answers).
pub(super) fn etag_says(stored: &str, ours: &str) -> Option<bool> {
    if stored.eq_ignore_ascii_case(ours) {
        return Some(true);
    }
    (is_md5(stored) && is_md5(ours)).then_some(false)
}

pub(super) fn is_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One segment of a candidate's content, as the sink saw it.
#[derive(Clone, Copy)]
pub(super) struct Piece {
    offset: u64,
    len: u64,
    sha256: [u8; 32],
}

/// Computes the ETag S3 gives what this restore writes: MD5 of the bytes, or for multipart
/// uploads the MD5 of the parts' MD5s followed by `-<parts>`; and for the files in `verify`,
/// where each segment is and its SHA-256, to compare with the existing object's bytes.
#[derive(Default)]
pub(super) struct EtagSink {
    pub(super) parts: Mutex<HashMap<usize, BTreeMap<usize, [u8; 16]>>>,
    pub(super) done: Mutex<Vec<(usize, String)>>,
    pub(super) verify: std::collections::HashSet<usize>,
    pub(super) pieces: Mutex<HashMap<usize, BTreeMap<usize, Piece>>>,
}

#[async_trait]
impl ContentSink for EtagSink {
    async fn write(
        &self,
        file: usize,
        _planned: &PlannedFile,
        segment: usize,
        offset: u64,
        data: Bytes,
        whole: bool,
    ) -> Result<()> {
        if self.verify.contains(&file) {
            let piece = Piece {
                offset,
                len: data.len() as u64,
                sha256: Sha256::digest(&data).into(),
            };
            let mut pieces = self.pieces.lock().expect("pieces");
            pieces.entry(file).or_default().insert(segment, piece);
        }
        let digest: [u8; 16] = Md5::digest(&data).into();
        if whole {
            self.done
                .lock()
                .expect("etags")
                .push((file, hex::encode(digest)));
        } else {
            self.parts
                .lock()
                .expect("parts")
                .entry(file)
                .or_default()
                .insert(segment, digest);
        }
        Ok(())
    }

    async fn complete(&self, file: usize, _planned: &PlannedFile, segments: usize) -> Result<()> {
        let parts = self
            .parts
            .lock()
            .expect("parts")
            .remove(&file)
            .unwrap_or_default();
        let mut all = Md5::new();
        for d in parts.values() {
            all.update(d);
        }
        let etag = format!("{}-{segments}", hex::encode(all.finalize()));
        self.done.lock().expect("etags").push((file, etag));
        Ok(())
    }
}
