use super::*;
use chrono::TimeZone;

fn at(s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    Local
        .from_local_datetime(&naive)
        .unwrap()
        .with_timezone(&Utc)
}

fn kept(policy: &Policy, times: &[&str]) -> Vec<String> {
    let tags: Vec<Vec<String>> = times
        .iter()
        .map(|t| {
            if t.ends_with("release") {
                vec!["release".to_string()]
            } else {
                vec![]
            }
        })
        .collect();
    let cands: Vec<Candidate> = times
        .iter()
        .zip(&tags)
        .map(|(t, tags)| Candidate {
            time: at(t.trim_end_matches(" release")),
            tags,
        })
        .collect();
    apply(policy, &cands)
        .iter()
        .zip(times)
        .filter(|(d, _)| d.keep)
        .map(|(_, t)| t.to_string())
        .collect()
}

// restic's documented example: one snapshot a day... keep-daily 3 keeps the newest of the
// three most recent days that have snapshots, whatever the gaps.
#[test]
fn daily_keeps_the_newest_of_each_recent_day_with_snapshots() {
    let times = [
        "2024-01-01 10:00:00",
        "2024-01-01 20:00:00",
        "2024-01-03 09:00:00",
        "2024-01-07 08:00:00",
        "2024-01-07 09:00:00",
        "2024-01-08 12:00:00",
    ];
    let p = Policy {
        daily: Some(3),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        [
            "2024-01-03 09:00:00",
            "2024-01-07 09:00:00",
            "2024-01-08 12:00:00"
        ]
    );
}

#[test]
fn last_and_periods_combine_and_cross_month_and_year_boundaries() {
    let times = [
        "2022-12-31 23:00:00",
        "2023-01-01 00:30:00",
        "2023-01-31 23:59:00",
        "2023-02-01 00:01:00",
        "2023-02-15 12:00:00",
        "2023-02-28 12:00:00",
    ];
    let p = Policy {
        monthly: Some(3),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        [
            "2022-12-31 23:00:00",
            "2023-01-31 23:59:00",
            "2023-02-28 12:00:00"
        ]
    );
    let p = Policy {
        yearly: Some(5),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2022-12-31 23:00:00", "2023-02-28 12:00:00"]
    );
    let p = Policy {
        last: Some(2),
        yearly: Some(1),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2023-02-15 12:00:00", "2023-02-28 12:00:00"]
    );
}

#[test]
fn weekly_uses_iso_weeks_and_hourly_hours() {
    // 2024-01-07 is a Sunday (ISO week 1), 2024-01-08 a Monday (week 2).
    let times = [
        "2024-01-06 10:00:00",
        "2024-01-07 10:00:00",
        "2024-01-08 10:00:00",
    ];
    let p = Policy {
        weekly: Some(5),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2024-01-07 10:00:00", "2024-01-08 10:00:00"]
    );
    let times = [
        "2024-01-08 10:05:00",
        "2024-01-08 10:55:00",
        "2024-01-08 11:00:00",
    ];
    let p = Policy {
        hourly: Some(1),
        ..Policy::default()
    };
    assert_eq!(kept(&p, &times), ["2024-01-08 11:00:00"]);
}

#[test]
fn within_counts_back_from_the_newest_snapshot_and_tags_keep() {
    let times = [
        "2024-01-01 00:00:00 release",
        "2024-01-05 00:00:00",
        "2024-01-09 00:00:00",
        "2024-01-10 12:00:00",
    ];
    let p = Policy {
        within: parse_duration("2d"),
        tags: vec![vec!["release".into()]],
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        [
            "2024-01-01 00:00:00 release",
            "2024-01-09 00:00:00",
            "2024-01-10 12:00:00"
        ]
    );
}

#[test]
fn durations_parse_like_restics() {
    assert_eq!(parse_duration("2d"), Some(chrono::Duration::days(2)));
    assert_eq!(
        parse_duration("1y2m3d4h"),
        Some(chrono::Duration::days(365 + 60 + 3) + chrono::Duration::hours(4))
    );
    assert_eq!(parse_duration("3"), None);
    assert_eq!(parse_duration("x"), None);
    assert_eq!(parse_duration(""), None);
}

mod edge_cases;
