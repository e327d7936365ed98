//! Remote failures as types, and the one table of what to do about each. The store client
//! (object_store) and the object-level S3 requests both end up here, so a missing bucket or a
//! refused credential reads the same whichever code path met it, and callers branch on the
//! kind, never on message text.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteKind {
    MissingBucket,
    AccessDenied,
    Unreachable,
    Tls,
    NotFound,
    PreconditionFailed,
    /// A range the object does not hold (a truncated object).
    BadRange,
    /// With SSE-C: the server will not decrypt with the key given.
    SseKey,
    /// The server does not offer the storage class asked for.
    StorageClass,
    /// An object written with SSE-C, read without a key.
    NeedsSseKey,
    /// An object in an archive storage class, not restored (`InvalidObjectState`).
    Frozen,
    Other,
}

impl RemoteKind {
    /// What to do about it, when there is something to say.
    pub fn hint(self) -> Option<&'static str> {
        match self {
            RemoteKind::MissingBucket => Some("the bucket does not exist: run 'create' (which makes it when the credentials allow) or create it with your S3 tools"),
            RemoteKind::AccessDenied => Some("access denied: check access_key and secret_access_key (or the AWS credentials in the environment), and the key's permissions"),
            RemoteKind::Unreachable => Some("cannot reach the endpoint: check the host, port and that the server is running"),
            RemoteKind::NeedsSseKey => Some("the object is encrypted with a customer key (SSE-C): set sse_customer_key=@FILE on this source or destination"),
            RemoteKind::StorageClass => Some("the server refused the storage class: set the store's storage_class to one it offers (e.g. STANDARD_IA, GLACIER, DEEP_ARCHIVE) or unset it"),
            RemoteKind::SseKey => Some("the server refused the SSE-C key: these objects were written with another sse_customer_key; give the one they were written with (a 403 can also mean wrong credentials)"),
            RemoteKind::Tls => Some("TLS mismatch: check use_tls (true for https, false for http, e.g. '-o use_tls=false') and the server certificate"),
            RemoteKind::Frozen => Some("the object is in an archive storage class: thaw it first ('restore --thaw', or your S3 tools)"),
            RemoteKind::NotFound
            | RemoteKind::PreconditionFailed
            | RemoteKind::BadRange
            | RemoteKind::Other => None,
        }
    }

    /// Like `of_status`, for a request that carried an SSE-C key: 400 and 403 are how
    /// servers refuse a key that does not match (Garage 400, AWS 403).
    pub fn of_status_with_sse_c(status: u16, code: &str) -> RemoteKind {
        match (status, code) {
            (400 | 403, "" | "InvalidRequest" | "AccessDenied" | "Forbidden" | "BadRequest") => {
                RemoteKind::SseKey
            }
            _ => RemoteKind::of_status(status, code),
        }
    }

    /// From an S3 status and error code.
    pub fn of_status(status: u16, code: &str) -> RemoteKind {
        match (status, code) {
            (_, "NoSuchBucket") => RemoteKind::MissingBucket,
            (_, "InvalidStorageClass") => RemoteKind::StorageClass,
            (_, "InvalidObjectState") => RemoteKind::Frozen,
            (403, _) | (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied") => {
                RemoteKind::AccessDenied
            }
            (404, _) => RemoteKind::NotFound,
            (412, _) => RemoteKind::PreconditionFailed,
            (416, _) => RemoteKind::BadRange,
            _ => RemoteKind::Other,
        }
    }

    /// From a transport or client error whose only record of the cause is its text (the
    /// HTTP stack reports TLS and connection failures as nested sources).
    pub fn of_error(e: &(dyn std::error::Error + 'static)) -> RemoteKind {
        let all = chain_text(e);
        let any = |words: &[&str]| words.iter().any(|w| all.contains(w));
        if any(&["nosuchbucket", "bucket does not exist"]) {
            RemoteKind::MissingBucket
        } else if any(&["invalidstorageclass"]) {
            RemoteKind::StorageClass
        } else if any(&["invalidobjectstate"]) {
            RemoteKind::Frozen
        } else if any(&[
            "range not satisfiable",
            "status 416",
            "invalid range",
            "out of range",
        ]) {
            RemoteKind::BadRange
        } else if any(&[
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "accessdenied",
            "forbidden",
            "status 403",
        ]) {
            RemoteKind::AccessDenied
        } else if any(&[
            "invalid http version",
            "wrong version number",
            "tls",
            "corrupt message",
            "certificate",
            "ssl",
        ]) {
            RemoteKind::Tls
        } else if any(&[
            "connection refused",
            "dns error",
            "timed out",
            "error sending request",
        ]) {
            RemoteKind::Unreachable
        } else {
            RemoteKind::Other
        }
    }
}

/// An error and all its sources, lower-cased.
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut all = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        all.push_str(&format!(" {s}"));
        src = s.source();
    }
    all.to_lowercase()
}

/// A failure of a remote store, source or destination (exit code 19).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RemoteError {
    pub kind: RemoteKind,
    message: String,
}

pub const EXIT_CODE: i32 = 19;

/// One line naming the thing, the hint when there is one, and the server's words.
pub fn error(display: &str, kind: RemoteKind, detail: &str) -> anyhow::Error {
    let detail = truncate(
        &crate::redact::userinfo(detail.lines().next().unwrap_or("")),
        160,
    );
    let display = crate::redact::userinfo(display);
    let message = match kind.hint() {
        Some(hint) if detail.is_empty() => format!("{display}: {hint}"),
        Some(hint) => format!("{display}: {hint} ({detail})"),
        None => format!("{display}: {detail}"),
    };
    RemoteError { kind, message }.into()
}

/// A remote error of `kind` with a message already made (an error told to several callers).
pub fn again(kind: RemoteKind, message: String) -> anyhow::Error {
    RemoteError { kind, message }.into()
}

/// The kind of a remote error anywhere in an error chain.
pub fn kind_of(e: &anyhow::Error) -> Option<RemoteKind> {
    e.chain()
        .find_map(|c| c.downcast_ref::<RemoteError>())
        .map(|r| r.kind)
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(
            RemoteKind::of_status(404, "NoSuchBucket"),
            RemoteKind::MissingBucket
        );
        assert_eq!(
            RemoteKind::of_status(404, "NoSuchKey"),
            RemoteKind::NotFound
        );
        assert_eq!(RemoteKind::of_status(403, ""), RemoteKind::AccessDenied);
        assert_eq!(
            RemoteKind::of_status(403, "InvalidObjectState"),
            RemoteKind::Frozen
        );
        assert_eq!(
            RemoteKind::of_status(412, ""),
            RemoteKind::PreconditionFailed
        );
        assert_eq!(
            RemoteKind::of_status(500, "InternalError"),
            RemoteKind::Other
        );
    }

    #[test]
    fn messages_never_show_userinfo() {
        let e = error(
            "s3://KEY:SECRET@h/b",
            RemoteKind::Unreachable,
            "error sending request for url (http://KEY:SECRET@h/b/x)",
        );
        let shown = format!("{e:#}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("KEY"),
            "{shown}"
        );
    }

    #[test]
    fn errors_carry_their_kind_through_context() {
        let e = error("store x", RemoteKind::MissingBucket, "404").context("while listing");
        assert_eq!(kind_of(&e), Some(RemoteKind::MissingBucket));
    }
}
