//! Which snapshots a `forget` policy keeps, following restic's documented rules: within each
//! group, snapshots are taken newest first; `--keep-last n` keeps the n newest; each of
//! `--keep-hourly/daily/weekly/monthly/yearly n` keeps the newest snapshot of each of the n
//! most recent periods (local time) that have one; `--keep-within` keeps those younger than the
//! duration, counted back from the group's newest snapshot; `--keep-tag` keeps those carrying
//! every tag of one of its lists. A snapshot is kept when any rule keeps it.

use chrono::{DateTime, Datelike, Local, Timelike, Utc};
use serde::Serialize;

#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub last: Option<usize>,
    pub hourly: Option<usize>,
    pub daily: Option<usize>,
    pub weekly: Option<usize>,
    pub monthly: Option<usize>,
    pub yearly: Option<usize>,
    pub within: Option<chrono::Duration>,
    /// Each entry: tags that must all be present.
    pub tags: Vec<Vec<String>>,
}

impl Policy {
    pub fn is_empty(&self) -> bool {
        self.last.is_none()
            && self.hourly.is_none()
            && self.daily.is_none()
            && self.weekly.is_none()
            && self.monthly.is_none()
            && self.yearly.is_none()
            && self.within.is_none()
            && self.tags.is_empty()
    }
}

/// What the policy needs to know of a snapshot.
pub struct Candidate<'a> {
    pub time: DateTime<Utc>,
    pub tags: &'a [String],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub keep: bool,
    /// Why it is kept (empty when it is not).
    pub reasons: Vec<String>,
}

/// Decides for each candidate of one group, in the order given.
pub fn apply(policy: &Policy, candidates: &[Candidate]) -> Vec<Decision> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| candidates[b].time.cmp(&candidates[a].time));
    let newest = order.first().map(|&i| candidates[i].time);
    let mut buckets: Vec<Bucket> = [
        (policy.last, "last snapshot", Period::Each),
        (policy.hourly, "hourly snapshot", Period::Hour),
        (policy.daily, "daily snapshot", Period::Day),
        (policy.weekly, "weekly snapshot", Period::Week),
        (policy.monthly, "monthly snapshot", Period::Month),
        (policy.yearly, "yearly snapshot", Period::Year),
    ]
    .into_iter()
    .filter_map(|(count, reason, period)| {
        count.map(|left| Bucket {
            left,
            reason,
            period,
            last: None,
        })
    })
    .collect();
    let mut out = vec![
        Decision {
            keep: false,
            reasons: Vec::new()
        };
        candidates.len()
    ];
    for (nth, &i) in order.iter().enumerate() {
        let c = &candidates[i];
        let mut reasons = Vec::new();
        if policy
            .tags
            .iter()
            .any(|want| want.iter().all(|t| c.tags.contains(t)))
        {
            reasons.push("has a kept tag".to_string());
        }
        if let (Some(within), Some(newest)) = (policy.within, newest) {
            // A duration reaching past the earliest representable time keeps everything.
            if newest
                .checked_sub_signed(within)
                .is_none_or(|from| c.time > from)
            {
                reasons.push("within the kept duration".to_string());
            }
        }
        for b in &mut buckets {
            if b.left == 0 {
                continue;
            }
            let value = b.period.of(c.time, nth);
            if b.last != Some(value) {
                b.last = Some(value);
                b.left -= 1;
                reasons.push(b.reason.to_string());
            }
        }
        out[i] = Decision {
            keep: !reasons.is_empty(),
            reasons,
        };
    }
    out
}

struct Bucket {
    left: usize,
    reason: &'static str,
    period: Period,
    last: Option<i64>,
}

#[derive(Clone, Copy)]
enum Period {
    Each,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    /// The period a time falls in, in local time; `Each` makes every snapshot its own.
    fn of(self, time: DateTime<Utc>, nth: usize) -> i64 {
        let t = time.with_timezone(&Local);
        let (y, m, d, h) = (
            t.year() as i64,
            t.month() as i64,
            t.day() as i64,
            t.hour() as i64,
        );
        match self {
            Period::Each => nth as i64,
            Period::Hour => ((y * 100 + m) * 100 + d) * 100 + h,
            Period::Day => (y * 100 + m) * 100 + d,
            Period::Week => {
                let w = t.iso_week();
                w.year() as i64 * 100 + w.week() as i64
            }
            Period::Month => y * 100 + m,
            Period::Year => y,
        }
    }
}

/// `2d`, `1y2m3d`, `12h`: years, months (30 days), weeks, days, hours, as restic accepts; also
/// seconds (`30s`) and a bare `0`.
pub fn parse_duration(text: &str) -> Option<chrono::Duration> {
    if text == "0" {
        return Some(chrono::Duration::zero());
    }
    let mut total = chrono::Duration::zero();
    let mut number = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        // Checked: an absurd duration is refused rather than overflowing.
        let part = match ch {
            'y' => chrono::Duration::try_days(n.checked_mul(365)?),
            'm' => chrono::Duration::try_days(n.checked_mul(30)?),
            'w' => chrono::Duration::try_weeks(n),
            'd' => chrono::Duration::try_days(n),
            'h' => chrono::Duration::try_hours(n),
            's' => chrono::Duration::try_seconds(n),
            _ => return None,
        }?;
        total = total.checked_add(&part)?;
    }
    (number.is_empty() && !text.is_empty()).then_some(total)
}

#[cfg(test)]
mod tests;
