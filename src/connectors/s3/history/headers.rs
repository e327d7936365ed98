//! Object Lock state and additional checksums as an object's headers carry them: read from a
//! GET or HEAD answer, written with a PUT.

use http::header::HeaderName;

use super::super::client::Response;

/// The checksum algorithms S3 reports as `x-amz-checksum-<name>`.
pub const CHECKSUMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/// Object Lock state and checksums from a GET or HEAD answer's headers.
pub fn lock_state(head: &Response) -> (Option<(String, String)>, bool) {
    let retention = match (
        head.header("x-amz-object-lock-mode"),
        head.header("x-amz-object-lock-retain-until-date"),
    ) {
        (Some(m), Some(u)) => Some((m, u)),
        _ => None,
    };
    let hold = head
        .header("x-amz-object-lock-legal-hold")
        .is_some_and(|h| h.eq_ignore_ascii_case("ON"));
    (retention, hold)
}

pub fn checksums(head: &Response) -> std::collections::BTreeMap<String, String> {
    CHECKSUMS
        .iter()
        .filter_map(|alg| {
            head.header(&format!("x-amz-checksum-{alg}"))
                // A composite checksum of a multipart object (`...-N`) cannot be sent back
                // with one PUT of the whole object.
                .filter(|v| !v.contains('-'))
                .map(|v| (alg.to_string(), v))
        })
        .collect()
}

/// Headers that give a written object its lock state: a retention only while it still runs
/// (a date in the past cannot be set, and a shorter one is never asked for).
pub fn lock_headers(
    retention: &Option<(String, String)>,
    legal_hold: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(HeaderName, String)> {
    let mut h = Vec::new();
    if let Some((mode, until)) = retention {
        let running = chrono::DateTime::parse_from_rfc3339(until).is_ok_and(|u| u > now);
        if running {
            h.push((
                HeaderName::from_static("x-amz-object-lock-mode"),
                mode.clone(),
            ));
            h.push((
                HeaderName::from_static("x-amz-object-lock-retain-until-date"),
                until.clone(),
            ));
        }
    }
    if legal_hold {
        h.push((
            HeaderName::from_static("x-amz-object-lock-legal-hold"),
            "ON".to_string(),
        ));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_running_retention_is_written_and_a_hold_always() {
        let now: chrono::DateTime<chrono::Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        let past = Some(("GOVERNANCE".into(), "2026-05-01T00:00:00Z".into()));
        let future = Some(("COMPLIANCE".into(), "2026-07-01T00:00:00.000Z".into()));
        assert!(lock_headers(&past, false, now).is_empty());
        assert_eq!(lock_headers(&future, false, now).len(), 2);
        assert_eq!(lock_headers(&past, true, now).len(), 1);
    }
}
