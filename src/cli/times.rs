//! Times given on the command line (`backup --time`, `restore --as-of`).

use anyhow::Result;

use crate::error::KlosetError;

/// `2024-01-02 03:04:05` (local time) or RFC 3339.
pub(super) fn parse_time(flag: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|n| chrono::Local.from_local_datetime(&n).earliest())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| {
            KlosetError::Usage(format!(
                "{flag} {text}: give 'YYYY-MM-DD HH:MM:SS' (local time) or an RFC 3339 time"
            ))
            .into()
        })
}
