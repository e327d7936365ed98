//! `kloset at A sync to|from B`: which store sends, which snapshots, and the report.

use std::sync::Arc;

use anyhow::Result;
use indicatif::HumanBytes;

use super::opening::{open, open_other, snapshot_filter};
use super::Ctx;
use crate::cli::args::{SnapshotFilter, SyncDirection};
use crate::connectors::Spec;
use crate::ops::browse;
use crate::ops::sync::{self, SyncOptions, SyncOutcome};

pub struct SyncArgs {
    pub direction: SyncDirection,
    pub other: Spec,
    pub snapshots: Vec<String>,
    pub filter: SnapshotFilter,
    pub other_keyfile: Option<std::path::PathBuf>,
}

pub async fn run(ctx: &Ctx, here: &Spec, a: SyncArgs) -> Result<()> {
    let this = open(ctx, here).await?;
    let other = open_other(&a.other, a.other_keyfile).await?;
    let (from, mut to) = match a.direction {
        SyncDirection::To => (this, other),
        SyncDirection::From => (other, this),
    };
    // Histories copied into a store make it one an older kloset must refuse (FORMAT.md).
    if from.config().histories {
        to.allow_histories().await?;
    }
    // The receiving store's lease before its index (FORMAT.md, "Leases").
    to.take_lease("sync").await?;
    let (from, to) = (
        Arc::new(from.load_index().await?),
        Arc::new(to.load_index().await?),
    );
    let filter = snapshot_filter(a.filter);
    let mut chosen = Vec::new();
    if a.snapshots.is_empty() {
        chosen = from.snapshots().await?;
        chosen.retain(|(_, s)| filter.matches(s));
    }
    for s in &a.snapshots {
        chosen.push(browse::pick(&from, s, &filter, None).await?);
    }
    let opts = SyncOptions {
        concurrency: here.concurrency().max(a.other.concurrency()),
        quiet: ctx.quiet,
        cancel: ctx.cancel.clone(),
    };
    let outcome = sync::sync(from, to, chosen, opts).await?;
    report(ctx, &outcome)?;
    if !outcome.failed.is_empty() {
        return Err(crate::error::KlosetError::PartialSync(outcome.failed.len()).into());
    }
    Ok(())
}

fn report(ctx: &Ctx, o: &SyncOutcome) -> Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(o)?);
        return Ok(());
    }
    for c in &o.copied {
        println!("snapshot {} copied as {}", c.from.short(), c.to.short());
    }
    println!(
        "{} snapshots copied, {} already there; {} read, {} new in {} blobs, {} stored{}",
        o.copied.len(),
        o.already_there.len(),
        HumanBytes(o.read_bytes),
        HumanBytes(o.new_bytes),
        o.new_blobs,
        HumanBytes(o.stored_bytes),
        match o.same_ids || o.copied.is_empty() {
            true => "",
            false => " (the stores name blobs differently: content was chunked again; see 'create --like')",
        }
    );
    Ok(())
}
