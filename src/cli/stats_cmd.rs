//! `stats`: how much space snapshots take.

use std::collections::HashSet;

use anyhow::Result;
use indicatif::HumanBytes;
use serde_json::{json, Map, Value};

use super::args::housekeeping::{StatsArgs, StatsBy, StatsMode};
use super::opening::{open, snapshot_filter};
use super::Ctx;
use crate::connectors::Spec;
use crate::ops::forget::Filter;
use crate::ops::stats::{self as s, By, Mode, Report, Stats};
use crate::progress::Progress;
use crate::repo::id::Id;
use crate::repo::snapshot::Snapshot;
use crate::repo::Repo;

pub(super) async fn stats(ctx: &Ctx, spec: &Spec, a: StatsArgs) -> Result<()> {
    let filter = snapshot_filter(a.filter);
    let repo = open(ctx, spec).await?;
    // Snapshots before the index (as prune does): a backup committing meanwhile writes its
    // index files first, so every snapshot chosen here finds its blobs in the index.
    let snaps = select(&repo, &a.snapshots, &filter).await?;
    let repo = repo.load_index().await?;
    let (mode, by) = (mode_of(a.mode), a.by.map(by_of));
    let progress = Progress::new(ctx.quiet, "stats", None);
    progress.set_message(format!("reading the trees of {} snapshots", snaps.len()));
    let report = s::stats(&repo, &snaps, mode, by).await;
    progress.finish();
    let report = report?;
    match ctx.json {
        true => println!(
            "{}",
            serde_json::to_string_pretty(&as_json(&report, a.mode, a.by))?
        ),
        false => print(&report, a.mode, a.by),
    }
    Ok(())
}

/// The snapshots named (id prefixes, `latest` as the filters choose it; each once), else every
/// one the filters select. Those that do not open are named on stderr and left out.
async fn select(repo: &Repo, given: &[String], filter: &Filter) -> Result<Vec<(Id, Snapshot)>> {
    if given.is_empty() {
        let list = repo.snapshot_list().await?;
        for (id, why) in &list.damaged {
            eprintln!(
                "warning: snapshot {} does not open, not counted: {why}",
                id.short()
            );
        }
        return Ok(list
            .good
            .into_iter()
            .filter(|(_, s)| filter.matches(s))
            .collect());
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for p in given {
        let (id, snap) = crate::ops::browse::pick(repo, p, filter, None).await?;
        if seen.insert(id) {
            out.push((id, snap));
        }
    }
    Ok(out)
}

fn mode_of(m: StatsMode) -> Mode {
    match m {
        StatsMode::RestoreSize => Mode::RestoreSize,
        StatsMode::FilesByContents => Mode::FilesByContents,
        StatsMode::RawData => Mode::RawData,
    }
}

fn by_of(b: StatsBy) -> By {
    match b {
        StatsBy::Host => By::Host,
        StatsBy::Source => By::Source,
        StatsBy::Tag => By::Tag,
    }
}

fn mode_name(m: StatsMode) -> &'static str {
    match m {
        StatsMode::RestoreSize => "restore-size",
        StatsMode::FilesByContents => "files-by-contents",
        StatsMode::RawData => "raw-data",
    }
}

fn by_name(b: StatsBy) -> &'static str {
    match b {
        StatsBy::Host => "host",
        StatsBy::Source => "source",
        StatsBy::Tag => "tag",
    }
}

/// A group's value as shown; `None` is the group of untagged snapshots.
fn group_label(key: &Option<String>) -> &str {
    key.as_deref().unwrap_or("(no tag)")
}

/// restic's field names: file counts in the file modes, blob figures in raw-data only.
fn stats_json(st: &Stats, mode: StatsMode) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("snapshots_count".into(), json!(st.snapshots));
    m.insert("total_size".into(), json!(st.size));
    if mode == StatsMode::RawData {
        m.insert("total_blob_count".into(), json!(st.blobs));
        m.insert("total_uncompressed_size".into(), json!(st.uncompressed));
        // Left out with nothing stored, as restic does.
        if let Some(r) = st.compression_ratio() {
            m.insert("compression_ratio".into(), json!(r));
        }
    } else {
        m.insert("total_file_count".into(), json!(st.files));
    }
    m
}

/// The figures alone, or with `--by` {"total": ..., "groups": [{FIELD: value, ...}]}, where
/// the value of untagged snapshots' group is null.
fn as_json(r: &Report, mode: StatsMode, by: Option<StatsBy>) -> Value {
    let Some(by) = by else {
        return Value::Object(stats_json(&r.total, mode));
    };
    let groups: Vec<Value> = r
        .groups
        .iter()
        .map(|(key, st)| {
            let mut m = Map::new();
            m.insert(by_name(by).into(), json!(key));
            m.extend(stats_json(st, mode));
            Value::Object(m)
        })
        .collect();
    json!({"total": stats_json(&r.total, mode), "groups": groups})
}

/// restic's layout: `Stats in MODE mode:`, then right-aligned labels; with `--by` one block a
/// group, then the total.
fn print(r: &Report, mode: StatsMode, by: Option<StatsBy>) {
    let Some(by) = by else {
        println!("Stats in {} mode:", mode_name(mode));
        print_stats(&r.total, mode);
        return;
    };
    println!("Stats in {} mode, by {}:", mode_name(mode), by_name(by));
    for (key, st) in &r.groups {
        println!("\n{} {}:", by_name(by), group_label(key));
        print_stats(st, mode);
    }
    println!("\ntotal:");
    print_stats(&r.total, mode);
}

fn print_stats(st: &Stats, mode: StatsMode) {
    let line = |label: &str, value: String| println!("{label:>24}:  {value}");
    line("Snapshots processed", st.snapshots.to_string());
    if mode == StatsMode::RawData {
        line("Total Blob Count", st.blobs.to_string());
        line(
            "Total Uncompressed Size",
            HumanBytes(st.uncompressed).to_string(),
        );
        line("Total Size", HumanBytes(st.size).to_string());
        if let Some(ratio) = st.compression_ratio() {
            line("Compression Ratio", format!("{ratio:.2}x"));
        }
    } else {
        line("Total File Count", st.files.to_string());
        line("Total Size", HumanBytes(st.size).to_string());
    }
}
