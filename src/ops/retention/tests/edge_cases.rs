//! Edge cases of each rule, one test per case, on hand-made candidates.

use super::*;

fn cands<'a>(times: &[DateTime<Utc>], tags: &'a [Vec<String>]) -> Vec<Candidate<'a>> {
    times
        .iter()
        .zip(tags)
        .map(|(&time, tags)| Candidate { time, tags })
        .collect()
}

fn untagged(n: usize) -> Vec<Vec<String>> {
    vec![Vec::new(); n]
}

#[test]
fn an_empty_policy_is_empty_and_any_rule_makes_it_not() {
    assert!(Policy::default().is_empty());
    let rules = [
        Policy {
            last: Some(0),
            ..Policy::default()
        },
        Policy {
            hourly: Some(1),
            ..Policy::default()
        },
        Policy {
            daily: Some(1),
            ..Policy::default()
        },
        Policy {
            weekly: Some(1),
            ..Policy::default()
        },
        Policy {
            monthly: Some(1),
            ..Policy::default()
        },
        Policy {
            yearly: Some(1),
            ..Policy::default()
        },
        Policy {
            within: Some(chrono::Duration::hours(1)),
            ..Policy::default()
        },
        Policy {
            tags: vec![vec!["a".into()]],
            ..Policy::default()
        },
    ];
    for p in rules {
        assert!(!p.is_empty(), "{p:?}");
    }
}

#[test]
fn an_empty_policy_keeps_nothing_and_no_candidates_give_no_decisions() {
    let times = ["2024-01-01 10:00:00", "2024-01-02 10:00:00"];
    assert!(kept(&Policy::default(), &times).is_empty());
    let p = Policy {
        last: Some(3),
        ..Policy::default()
    };
    assert!(apply(&p, &[]).is_empty());
}

#[test]
fn keep_last_keeps_the_n_newest_whatever_the_input_order() {
    let times = [
        "2024-03-01 10:00:00",
        "2024-01-01 10:00:00",
        "2024-05-01 10:00:00",
        "2024-02-01 10:00:00",
        "2024-04-01 10:00:00",
    ];
    let p = Policy {
        last: Some(2),
        ..Policy::default()
    };
    // Decisions come back in the order given, not sorted.
    assert_eq!(
        kept(&p, &times),
        ["2024-05-01 10:00:00", "2024-04-01 10:00:00"]
    );
}

#[test]
fn keep_last_larger_than_the_group_keeps_all_and_zero_keeps_none() {
    let times = ["2024-01-01 10:00:00", "2024-01-02 10:00:00"];
    let p = Policy {
        last: Some(10),
        ..Policy::default()
    };
    assert_eq!(kept(&p, &times), times);
    let p = Policy {
        last: Some(0),
        ..Policy::default()
    };
    assert!(kept(&p, &times).is_empty());
}

#[test]
fn keep_last_counts_snapshots_of_the_same_second_separately() {
    let t = at("2024-01-01 10:00:00");
    let tags = untagged(3);
    let p = Policy {
        last: Some(2),
        ..Policy::default()
    };
    let d = apply(&p, &cands(&[t, t, t], &tags));
    assert_eq!(d.iter().filter(|d| d.keep).count(), 2);
    // Ties keep the order given: the first two.
    assert!(d[0].keep && d[1].keep && !d[2].keep);
}

#[test]
fn daily_splits_at_midnight() {
    let times = [
        "2024-01-01 23:59:59",
        "2024-01-02 00:00:00",
        "2024-01-02 00:00:01",
    ];
    let p = Policy {
        daily: Some(2),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2024-01-01 23:59:59", "2024-01-02 00:00:01"]
    );
}

#[test]
fn daily_crosses_a_leap_day() {
    let times = [
        "2024-02-28 12:00:00",
        "2024-02-29 08:00:00",
        "2024-02-29 18:00:00",
        "2024-03-01 06:00:00",
    ];
    let p = Policy {
        daily: Some(3),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        [
            "2024-02-28 12:00:00",
            "2024-02-29 18:00:00",
            "2024-03-01 06:00:00"
        ]
    );
}

#[test]
fn hourly_counts_only_hours_that_have_snapshots() {
    let times = [
        "2024-01-01 01:10:00",
        "2024-01-01 01:50:00",
        "2024-01-01 05:00:00",
        "2024-01-02 05:30:00",
    ];
    let p = Policy {
        hourly: Some(3),
        ..Policy::default()
    };
    // Same hour of a different day is a different hour.
    assert_eq!(
        kept(&p, &times),
        [
            "2024-01-01 01:50:00",
            "2024-01-01 05:00:00",
            "2024-01-02 05:30:00"
        ]
    );
}

#[test]
fn weekly_iso_week_spans_a_year_boundary() {
    // 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 53 of 2020; 2021-01-04
    // (Mon) starts week 1 of 2021.
    let times = [
        "2020-12-28 10:00:00",
        "2020-12-31 10:00:00",
        "2021-01-03 10:00:00",
        "2021-01-04 10:00:00",
    ];
    let p = Policy {
        weekly: Some(5),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2021-01-03 10:00:00", "2021-01-04 10:00:00"]
    );
    // 2024-12-30 (Mon) is in ISO week 1 of 2025, together with 2025-01-05 (Sun).
    let times = [
        "2024-12-29 10:00:00",
        "2024-12-30 10:00:00",
        "2025-01-05 10:00:00",
    ];
    assert_eq!(
        kept(&p, &times),
        ["2024-12-29 10:00:00", "2025-01-05 10:00:00"]
    );
}

#[test]
fn weekly_does_not_confuse_the_same_week_number_of_different_years() {
    // Both in ISO week 10, a year apart.
    let times = ["2023-03-08 10:00:00", "2024-03-06 10:00:00"];
    let p = Policy {
        weekly: Some(2),
        ..Policy::default()
    };
    assert_eq!(kept(&p, &times), times);
}

#[test]
fn monthly_does_not_confuse_the_same_month_of_different_years() {
    let times = [
        "2022-06-10 10:00:00",
        "2023-06-10 10:00:00",
        "2023-06-20 10:00:00",
    ];
    let p = Policy {
        monthly: Some(12),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2022-06-10 10:00:00", "2023-06-20 10:00:00"]
    );
}

#[test]
fn monthly_limit_stops_at_the_nth_month_with_snapshots() {
    let times = [
        "2023-01-15 10:00:00",
        "2023-03-15 10:00:00",
        "2023-07-15 10:00:00",
        "2023-08-15 10:00:00",
    ];
    let p = Policy {
        monthly: Some(2),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2023-07-15 10:00:00", "2023-08-15 10:00:00"]
    );
}

#[test]
fn yearly_keeps_the_last_snapshot_of_each_year_up_to_n_years() {
    let times = [
        "2019-05-01 10:00:00",
        "2020-01-01 00:00:00",
        "2020-12-31 23:59:59",
        "2022-02-01 10:00:00",
    ];
    let p = Policy {
        yearly: Some(2),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2020-12-31 23:59:59", "2022-02-01 10:00:00"]
    );
}

#[test]
fn a_snapshot_kept_by_several_rules_lists_every_reason() {
    let t = [at("2024-01-01 10:00:00"), at("2023-12-31 10:00:00")];
    let tags = vec![vec!["release".to_string()], vec![]];
    let p = Policy {
        last: Some(1),
        daily: Some(1),
        yearly: Some(1),
        within: Some(chrono::Duration::hours(1)),
        tags: vec![vec!["release".into()]],
        ..Policy::default()
    };
    let d = apply(&p, &cands(&t, &tags));
    assert!(d[0].keep);
    assert_eq!(
        d[0].reasons,
        [
            "has a kept tag",
            "within the kept duration",
            "last snapshot",
            "daily snapshot",
            "yearly snapshot"
        ]
    );
    assert_eq!(
        d[1],
        Decision {
            keep: false,
            reasons: vec![]
        }
    );
}

#[test]
fn keep_tag_needs_every_tag_of_one_list() {
    let t = [
        at("2024-01-01 10:00:00"),
        at("2024-01-02 10:00:00"),
        at("2024-01-03 10:00:00"),
        at("2024-01-04 10:00:00"),
    ];
    let tags = vec![
        vec!["a".to_string(), "b".to_string()],
        vec!["a".to_string()],
        vec!["c".to_string()],
        vec![],
    ];
    let p = Policy {
        tags: vec![vec!["a".into(), "b".into()], vec!["c".into()]],
        ..Policy::default()
    };
    let keep: Vec<bool> = apply(&p, &cands(&t, &tags))
        .iter()
        .map(|d| d.keep)
        .collect();
    assert_eq!(keep, [true, false, true, false]);
}

#[test]
fn keep_tag_matches_tags_exactly_not_by_prefix_or_case() {
    let t = [at("2024-01-01 10:00:00"), at("2024-01-02 10:00:00")];
    let tags = vec![vec!["Release".to_string()], vec!["release-1".to_string()]];
    let p = Policy {
        tags: vec![vec!["release".into()]],
        ..Policy::default()
    };
    assert!(apply(&p, &cands(&t, &tags)).iter().all(|d| !d.keep));
}

#[test]
fn within_is_strict_at_its_boundary() {
    let newest = at("2024-01-10 00:00:00");
    let t = [
        newest,
        newest - chrono::Duration::days(2),
        newest - chrono::Duration::days(2) + chrono::Duration::seconds(1),
    ];
    let tags = untagged(3);
    let p = Policy {
        within: Some(chrono::Duration::days(2)),
        ..Policy::default()
    };
    let keep: Vec<bool> = apply(&p, &cands(&t, &tags))
        .iter()
        .map(|d| d.keep)
        .collect();
    assert_eq!(keep, [true, false, true]);
}

#[test]
fn within_counts_from_the_newest_snapshot_not_from_now() {
    // Years-old snapshots are still kept by --keep-within relative to the newest of them.
    let times = ["2001-01-01 00:00:00", "2001-01-02 00:00:00"];
    let p = Policy {
        within: parse_duration("1w"),
        ..Policy::default()
    };
    assert_eq!(kept(&p, &times), times);
}

#[test]
fn keep_last_and_keep_daily_count_independently() {
    // keep-last and keep-daily count independently: last 1 keeps the newest, daily 2
    // keeps the newest of each of the two newest days, which includes the newest again.
    let times = [
        "2024-01-01 08:00:00",
        "2024-01-02 08:00:00",
        "2024-01-02 09:00:00",
    ];
    let p = Policy {
        last: Some(1),
        daily: Some(2),
        ..Policy::default()
    };
    assert_eq!(
        kept(&p, &times),
        ["2024-01-01 08:00:00", "2024-01-02 09:00:00"]
    );
}

#[test]
fn durations_accept_each_unit_and_zero() {
    use chrono::Duration as D;
    assert_eq!(parse_duration("0"), Some(D::zero()));
    assert_eq!(parse_duration("0d"), Some(D::zero()));
    assert_eq!(parse_duration("30s"), Some(D::seconds(30)));
    assert_eq!(parse_duration("12h"), Some(D::hours(12)));
    assert_eq!(parse_duration("1w"), Some(D::weeks(1)));
    assert_eq!(parse_duration("1m"), Some(D::days(30)));
    assert_eq!(parse_duration("1y"), Some(D::days(365)));
    assert_eq!(parse_duration("2w3d"), Some(D::days(17)));
    // Repeated units add up.
    assert_eq!(parse_duration("1d1d"), Some(D::days(2)));
}

#[test]
fn durations_reject_malformed_text() {
    for bad in [
        "1d2", "d", "-1d", "1D", "1.5d", " 1d", "1d ", "1 d", "1x", "+1d", "1dd",
    ] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn huge_durations_are_refused_not_a_panic() {
    assert_eq!(parse_duration("99999999999999999999d"), None);
    assert_eq!(parse_duration("99999999999999y"), None);
    assert_eq!(parse_duration("9223372036854775807s"), None);
}

#[test]
fn a_within_longer_than_the_calendar_keeps_everything_instead_of_panicking() {
    let within = parse_duration("300000y").expect("representable as a duration");
    let times = ["1990-01-01 00:00:00", "2024-01-01 00:00:00"];
    let p = Policy {
        within: Some(within),
        ..Policy::default()
    };
    assert_eq!(kept(&p, &times), times);
}
