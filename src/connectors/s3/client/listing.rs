//! ListObjectsV2: every key under the prefix, or one folder level, decoded as asked.

use anyhow::anyhow;
use http::Method;

use super::super::xml::ListPage;
use super::*;

impl S3Api {
    /// Every object under the prefix, paginated; no delimiter, so every key comes back as is.
    pub async fn list(&self) -> Result<Vec<Listed>> {
        Ok(self.list_under("", false).await?.0)
    }

    /// One level of the hierarchy the keys imply: the objects whose keys are `dir` (relative,
    /// empty or ending in `/`) and one more segment, and the folders one level down (relative,
    /// ending in `/`). A bucket is read a folder at a time, never held whole.
    pub async fn list_level(&self, dir: &str) -> Result<(Vec<Listed>, Vec<String>)> {
        self.list_under(dir, true).await
    }

    async fn list_under(&self, dir: &str, one_level: bool) -> Result<(Vec<Listed>, Vec<String>)> {
        let base = if self.config.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.config.prefix)
        };
        let list_prefix = format!("{base}{dir}");
        let mut out = Vec::new();
        let mut folders = Vec::new();
        let mut token: Option<String> = None;
        let unreadable = |what: String| anyhow!("{}: unreadable listing: {what}", self.display());
        loop {
            // Keys come percent-encoded: an XML parser turns CR, U+0085 and U+2028 in raw
            // text into line feeds, which would name another key or folder.
            let mut query = vec![
                ("list-type", "2"),
                ("prefix", list_prefix.as_str()),
                ("encoding-type", "url"),
            ];
            if one_level {
                query.push(("delimiter", "/"));
            }
            if let Some(t) = &token {
                query.push(("continuation-token", t.as_str()));
            }
            let r = self
                .send(Method::GET, None, &query, &[], Bytes::new())
                .await?;
            if !r.status.is_success() {
                return Err(self.status_error("listing objects", &r));
            }
            let page: ListPage = quick_xml::de::from_reader(r.body.as_ref())
                .map_err(|e| unreadable(e.to_string()))?;
            // Some servers encode as asked without saying so (no EncodingType): a page is
            // taken as encoded unless it holds text that no encoder leaves raw.
            let raw_texts = page
                .contents
                .iter()
                .map(|e| e.key.as_str())
                .chain(page.common_prefixes.iter().map(|p| p.prefix.as_str()));
            let encoded = page.encoding_type.as_deref() == Some("url") || !unencoded(raw_texts);
            let text = |raw: String| -> Result<String> {
                if !encoded {
                    return Ok(raw);
                }
                url_decode(&raw)
                    .ok_or_else(|| unreadable(format!("key '{raw}' does not decode to UTF-8")))
            };
            // Anything outside what was asked for is a server error, never silently dropped.
            let inside = |key: &str| -> Result<String> {
                key.strip_prefix(&list_prefix)
                    .map(|_| key[base.len()..].to_string())
                    .ok_or_else(|| unreadable(format!("'{key}' is outside '{list_prefix}'")))
            };
            for e in page.contents {
                out.push(Listed {
                    key: inside(&text(e.key)?)?,
                    size: e.size,
                    etag: e.etag,
                    last_modified: e.last_modified,
                    storage_class: e.storage_class,
                });
            }
            for p in page.common_prefixes {
                folders.push(inside(&text(p.prefix)?)?);
            }
            match (page.is_truncated, page.next_continuation_token) {
                (true, Some(t)) if token.as_deref() == Some(t.as_str()) => {
                    return Err(unreadable(
                        "the server gave the same continuation token twice".into(),
                    ))
                }
                (true, Some(t)) => token = Some(t),
                (true, None) => {
                    return Err(unreadable(
                        "a page says more follows but gives no continuation token".into(),
                    ))
                }
                (false, _) => break,
            }
        }
        Ok((out, folders))
    }
}

/// A key or prefix of a listing asked with `encoding-type=url`. AWS form-encodes them (a space
/// is `+`, a `+` is `%2B`), and botocore decodes them with `unquote_str`, which is
/// `urllib.parse.unquote_plus`: so do we. Servers that encode a space as `%20` decode the same.
/// None: the bytes are not UTF-8.
pub(in crate::connectors::s3) fn url_decode(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|k| k.into_owned())
}

/// Whether some text of a listing page is certainly not url-encoded: an encoder never leaves
/// a space, a control character or a non-ASCII character raw.
pub(super) fn unencoded<'a>(mut texts: impl Iterator<Item = &'a str>) -> bool {
    texts.any(|t| {
        t.chars()
            .any(|c| c == ' ' || c.is_control() || !c.is_ascii())
    })
}
