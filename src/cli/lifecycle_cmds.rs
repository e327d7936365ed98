//! Store commands that change what a store holds over its life: rm, forget, prune, keys.

use anyhow::Result;

use super::opening::{open, snapshot_filter};
use super::{output, Ctx};
use crate::connectors::Spec;
use crate::error::KlosetError;

/// `prune` from its arguments.
pub(super) async fn prune(ctx: &Ctx, spec: &Spec, a: &crate::cli::args::PruneArgs) -> Result<()> {
    run_prune(ctx, spec, prune_options(a, ctx.quiet)?).await
}

pub(super) async fn rm(ctx: &Ctx, spec: &Spec, prefixes: Vec<String>) -> Result<()> {
    let repo = open(ctx, spec).await?;
    let mut ids = Vec::new();
    for p in &prefixes {
        if p == "latest" {
            return Err(KlosetError::Usage(
                "rm takes snapshot ids, not 'latest': run 'kloset ls' to see them".into(),
            )
            .into());
        }
        ids.push(
            crate::ops::browse::pick(&repo, p, &Default::default(), None)
                .await?
                .0,
        );
    }
    crate::ops::forget::remove(&repo, &ids).await?;
    output::removed(ctx, &ids);
    Ok(())
}

pub(super) async fn forget(ctx: &Ctx, spec: &Spec, a: crate::cli::args::ForgetArgs) -> Result<()> {
    use crate::ops::forget::{self as f, GroupBy};
    use crate::ops::retention::{parse_duration, Policy};
    let within = match &a.keep_within {
        Some(text) => Some(parse_duration(text).ok_or_else(|| {
            KlosetError::Usage(format!(
                "--keep-within {text}: give a duration such as 2d, 12h, 1y6m (y, m, w, d, h)"
            ))
        })?),
        None => None,
    };
    let policy = Policy {
        last: a.keep_last,
        hourly: a.keep_hourly,
        daily: a.keep_daily,
        weekly: a.keep_weekly,
        monthly: a.keep_monthly,
        yearly: a.keep_yearly,
        within,
        tags: a
            .keep_tag
            .iter()
            .map(|l| l.split(',').map(|t| t.trim().to_string()).collect())
            .collect(),
    };
    if policy.is_empty() {
        return Err(KlosetError::Usage(
            "forget needs a policy, e.g. --keep-last 7 or --keep-daily 7; to delete given snapshots use 'kloset rm ID'".into(),
        )
        .into());
    }
    let group_by = GroupBy::parse(&a.group_by).ok_or_else(|| {
        KlosetError::Usage(format!(
            "--group-by {}: use host, source, tags or a comma list of them",
            a.group_by
        ))
    })?;
    let filter = snapshot_filter(a.filter);
    let repo = open(ctx, spec).await?;
    let groups = f::plan(repo.snapshots().await?, &policy, &filter, group_by);
    if !a.dry_run {
        let ids: Vec<_> = groups
            .iter()
            .flat_map(|g| g.remove.iter().map(|j| j.id))
            .collect();
        f::remove(&repo, &ids).await?;
    }
    output::forget(ctx, &groups, a.dry_run)?;
    // The JSON answer is the list of groups: no room for the figure there.
    if a.dry_run && !ctx.json {
        let removed = groups
            .iter()
            .flat_map(|g| g.remove.iter().map(|j| j.id))
            .collect();
        // An estimate beside the plan: not knowing it does not fail the dry run.
        match crate::ops::stats::would_free(repo, &removed).await {
            Ok(freed) => output::would_free(ctx, &freed),
            Err(e) => eprintln!("note: cannot tell what a prune would then free: {e:#}"),
        }
    }
    if a.prune && !a.dry_run {
        let opts = prune_options(
            &crate::cli::args::PruneArgs {
                dry_run: false,
                max_unused: "5%".into(),
                max_repack: None,
                delete_delay: "0".into(),
            },
            ctx.quiet,
        )?;
        run_prune(ctx, spec, opts).await?;
    }
    Ok(())
}

fn prune_options(
    a: &crate::cli::args::PruneArgs,
    quiet: bool,
) -> Result<crate::ops::prune::PruneOptions> {
    let max_unused = a
        .max_unused
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| (0.0..=100.0).contains(n))
        .ok_or_else(|| {
            KlosetError::Usage(format!(
                "--max-unused {}: give a percentage such as 5% or 0%",
                a.max_unused
            ))
        })?;
    let max_repack = match &a.max_repack {
        Some(text) => parse_size(text).ok_or_else(|| {
            KlosetError::Usage(format!(
                "--max-repack {text}: give a size such as 2GiB, 500MiB or 1000000"
            ))
        })?,
        None => u64::MAX,
    };
    let delete_delay = crate::ops::retention::parse_duration(&a.delete_delay).ok_or_else(|| {
        KlosetError::Usage(format!(
            "--delete-delay {}: give a duration such as 24h, 2d, 30s or 0",
            a.delete_delay
        ))
    })?;
    Ok(crate::ops::prune::PruneOptions {
        dry_run: a.dry_run,
        max_unused: max_unused / 100.0,
        max_repack,
        delete_delay,
        quiet,
    })
}

/// `2GiB`, `500MiB`, `64KiB`, `1G`, or bytes.
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        "t" | "tib" | "tb" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

async fn run_prune(ctx: &Ctx, spec: &Spec, opts: crate::ops::prune::PruneOptions) -> Result<()> {
    let repo = open(ctx, spec).await?;
    let report = crate::ops::prune::prune(repo, &opts).await?;
    output::prune(ctx, &report)
}

pub(super) async fn key(ctx: &Ctx, spec: &Spec, what: crate::cli::args::KeyWhat) -> Result<()> {
    use crate::cli::args::KeyWhat;
    let mut repo = open(ctx, spec).await?;
    match what {
        KeyWhat::List => output::keys(ctx, &repo.list_keys().await?),
        KeyWhat::Add { new_keyfile } => {
            let pass = crate::passphrase::new_passphrase(new_keyfile.as_deref())?;
            let name = repo.add_key(&pass).await?;
            output::key_done(ctx, "added", &name);
            Ok(())
        }
        KeyWhat::Rm { name, force } => {
            let name = repo.remove_key(&name, force).await?;
            output::key_done(ctx, "removed", &name);
            Ok(())
        }
        KeyWhat::Passwd { new_keyfile } => {
            let pass = crate::passphrase::new_passphrase(new_keyfile.as_deref())?;
            let old = repo.key_in_use().0.clone();
            let name = repo.add_key(&pass).await?;
            // Killed here, both passphrases open the store; nothing is lost.
            crate::kill_point::here("key:added");
            repo.remove_key(&old, true).await?;
            output::key_done(ctx, "added", &name);
            output::key_done(ctx, "removed", &old);
            Ok(())
        }
    }
}
