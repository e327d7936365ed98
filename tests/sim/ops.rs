//! Running one planned operation through the library, as the CLI would, and telling what
//! became of it: done (with what it reported), failed, killed at a point, or aborted.

use std::sync::Arc;

use anyhow::Result;
use kloset::cancel::Cancel;
use kloset::kill_point::Killed;
use kloset::ops::backup::{backup, BackupOptions};
use kloset::ops::check::{check, ReadData};
use kloset::ops::forget::{self, Filter, GroupBy};
use kloset::ops::prune::{prune, PruneOptions};
use kloset::ops::repair;
use kloset::ops::retention::Policy;
use kloset::ops::rewrite::{self, RewriteOptions, TagChange};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::scheduler::{Kind, Planned};
use super::source::MemSource;
use super::world::{Saved, World};

tokio::task_local! {
    /// The kill point the running operation dies at (see `install_kill_hook`).
    static KILL_AT: Option<&'static str>;
}

/// Routes the library's kill points to the operation whose task reaches them. Installed once
/// per process; Killed unwindings are not printed.
pub fn install_kill_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        kloset::kill_point::install_hook(Some(Arc::new(|name: &str| {
            KILL_AT.try_with(|k| *k == Some(name)).unwrap_or(false)
        })));
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Killed>().is_none() {
                default(info);
            }
        }));
    });
}

pub enum Fate {
    Done(String),
    Failed(String),
    Killed(String),
    Aborted,
    Panicked(String),
}

impl Fate {
    pub fn show(&self) -> String {
        match self {
            Fate::Done(s) => format!("ok: {s}"),
            Fate::Failed(s) => format!("error: {s}"),
            Fate::Killed(p) => format!("killed at {p}"),
            Fate::Aborted => "aborted".into(),
            Fate::Panicked(s) => format!("PANIC: {s}"),
        }
    }
}

/// Runs the operation as its own task, killed or aborted as planned.
pub async fn run(world: Arc<World>, p: Planned) -> Fate {
    let kill = p.kill_at;
    let abort_after = p.abort_after_ms;
    // A local task: the library's futures are not all `Send` (higher-ranked lifetimes).
    let mut task = tokio::task::spawn_local(KILL_AT.scope(kill, execute(world, p)));
    let result = match abort_after {
        Some(ms) => {
            tokio::select! {
                r = &mut task => r,
                _ = tokio::time::sleep(std::time::Duration::from_millis(ms)) => {
                    task.abort();
                    task.await
                }
            }
        }
        None => task.await,
    };
    match result {
        Ok(Ok(s)) => Fate::Done(s),
        Ok(Err(e)) => {
            let mut s = format!("{e:#}");
            s.truncate(200);
            Fate::Failed(s)
        }
        Err(e) if e.is_cancelled() => Fate::Aborted,
        Err(e) => {
            let payload = e.into_panic();
            if let Some(k) = payload.downcast_ref::<Killed>() {
                return Fate::Killed(k.0.clone());
            }
            let s = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Fate::Panicked(s)
        }
    }
}

async fn execute(world: Arc<World>, p: Planned) -> Result<String> {
    let who = format!("op{}", p.n);
    let mut rng = StdRng::seed_from_u64(p.seed);
    let view_seed: u64 = rng.gen();
    let w = &world;
    match p.kind {
        Kind::Backup { big, changes } => {
            let now_ns = w.sim.secs() as i64 * 1_000_000_000;
            let (tree, said) = {
                let mut trees = w.trees.lock().unwrap();
                let said = trees[p.host].mutate(&mut rng, &w.corpus, now_ns, big, changes);
                (Arc::new(trees[p.host].clone()), said)
            };
            let repo = w.open(&who, p.host, view_seed).await?;
            // As the binary does (cli/opening.rs): the lease before the index.
            repo.take_lease("backup").await?;
            let repo = repo.load_index().await?;
            let name = w.host_name(p.host);
            let source = MemSource {
                host: name.clone(),
                tree: tree.clone(),
            };
            let opts = BackupOptions {
                source_display: "/data".into(),
                tags: Vec::new(),
                quiet: true,
                force: false,
                concurrency: 2,
                cancel: Cancel::default(),
                host: Some(name),
                time: None,
                dry_run: false,
            };
            let out = backup(Arc::new(repo), source, opts).await?;
            anyhow::ensure!(out.errors.is_empty(), "backup errors: {:?}", out.errors);
            w.saved.lock().unwrap().push(Saved {
                op: p.n,
                host: p.host,
                id: out.id,
                tree: tree.clone(),
            });
            Ok(format!(
                "snapshot {} saved ({} bytes, {} new blobs) [{said}]",
                out.id.short(),
                tree.total_bytes(),
                out.snapshot.summary.new_blobs
            ))
        }
        Kind::Prune {
            delay_ms,
            max_unused,
        } => {
            let repo = w.open(&who, p.host, view_seed).await?;
            let opts = PruneOptions {
                dry_run: false,
                max_unused,
                max_repack: u64::MAX,
                delete_delay: chrono::Duration::milliseconds(delay_ms),
                quiet: true,
            };
            let r = prune(repo, &opts).await?;
            Ok(format!(
                "{} packs: marked {}, deleted {}, unindexed deleted {}, repacked {}, waiting {}, recovered {}",
                r.packs,
                r.packs_marked,
                r.packs_deleted,
                r.unindexed_deleted,
                r.packs_repacked,
                r.packs_waiting,
                r.packs_recovered
            ))
        }
        Kind::Forget { keep } => {
            let repo = w.open(&who, p.host, view_seed).await?;
            let policy = Policy {
                last: Some(keep),
                ..Default::default()
            };
            let group_by = GroupBy::parse("host").expect("group by");
            let groups = forget::plan(
                repo.snapshots().await?,
                &policy,
                &Filter::default(),
                group_by,
            );
            let ids: Vec<_> = groups
                .iter()
                .flat_map(|g| g.remove.iter().map(|j| j.id))
                .collect();
            // Recorded first: a forget that fails half-way may have removed any of them.
            w.forgotten.lock().unwrap().extend(ids.iter().copied());
            forget::remove(&repo, &ids).await?;
            let shown: Vec<String> = ids.iter().map(|i| i.short()).collect();
            Ok(format!("removed [{}]", shown.join(" ")))
        }
        Kind::Check => {
            let mut repo = w.open(&who, p.host, view_seed).await?;
            repo.bypass_cache();
            let r = check(repo, ReadData::All, 4).await?;
            Ok(format!(
                "{} snapshots, {} packs, {} problems",
                r.snapshots,
                r.packs,
                r.problems.len()
            ))
        }
        Kind::RepairIndex => {
            let repo = w.open(&who, p.host, view_seed).await?.load_index().await?;
            let r = repair::index(&repo).await?;
            Ok(format!(
                "{} packs indexed, {} index files removed",
                r.packs, r.removed
            ))
        }
        Kind::KeyAdd | Kind::Passwd => {
            let repo = w.open(&who, p.host, view_seed).await?;
            let pass = format!("pass-{}", p.n + 1);
            // Known before the write: a lost response may still have added it.
            w.passphrases.lock().unwrap().push(pass.clone());
            let name = repo.add_key(&pass).await?;
            if matches!(p.kind, Kind::KeyAdd) {
                return Ok(format!("added key {name}"));
            }
            let mut repo = repo;
            let old = repo.key_in_use().0.clone();
            repo.remove_key(&old, true).await?;
            Ok(format!("added key {name}, removed {old}"))
        }
        Kind::RemoveIndex { pick, oldest } => {
            let keys = w.server.by_age(w.server.keys("index").await);
            if keys.is_empty() {
                return Ok("no index file to delete".into());
            }
            let key = match oldest {
                true => keys[0].clone(),
                false => keys[(pick % keys.len() as u64) as usize].clone(),
            };
            w.server.remove_by_someone_else(&key).await;
            Ok(format!("deleted {key}"))
        }
        Kind::Tag { pick } | Kind::Rewrite { pick } => {
            let Some((host, old, tree)) = w.pick_saved(pick) else {
                return Ok("no snapshot to change".into());
            };
            let repo = w.open(&who, p.host, view_seed).await?;
            repo.take_lease("tag").await?;
            let repo = Arc::new(repo.load_index().await?);
            let Some(listed) = repo.snapshots().await?.into_iter().find(|(i, _)| *i == old) else {
                return Ok(format!("{} is gone", old.short()));
            };
            // Recorded first: a run that stops after its commit may have deleted the old one.
            w.forgotten.lock().unwrap().insert(old);
            let (done, expected) = match p.kind {
                Kind::Tag { .. } => {
                    let change = TagChange {
                        add: vec![format!("t{}", p.n)],
                        ..TagChange::default()
                    };
                    (rewrite::retag(&repo, &[listed], &change).await?, tree)
                }
                _ => {
                    let files = tree.files();
                    let at = (pick % files.len().max(1) as u64) as usize;
                    let Some(path) = files.get(at).cloned() else {
                        w.forgotten.lock().unwrap().remove(&old);
                        return Ok("no file to take out".into());
                    };
                    let exclude = kloset::filter::Patterns::new(&[format!("/{path}")], &[], &[])?;
                    let opts = RewriteOptions {
                        exclude,
                        forget: true,
                        dry_run: false,
                        concurrency: 2,
                    };
                    let mut less = (*tree).clone();
                    less.items.remove(&path);
                    (
                        rewrite::rewrite(repo.clone(), &[listed], &opts).await?,
                        Arc::new(less),
                    )
                }
            };
            repo.release_lease().await;
            let new = done.first().and_then(|r| r.new);
            if let Some(new) = new {
                w.saved.lock().unwrap().push(Saved {
                    op: p.n,
                    host,
                    id: new,
                    tree: expected,
                });
            }
            Ok(format!(
                "{} -> {}",
                old.short(),
                new.map_or("unchanged".into(), |n| n.short())
            ))
        }
        Kind::PlantControl { pick, what } => {
            let packs = w.server.keys("packs").await;
            let pack = match packs.is_empty() {
                true => "0".repeat(64),
                false => packs[(pick % packs.len() as u64) as usize]
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            };
            let ms = w.sim.secs() as i64 * 1000;
            let garbage_mac = format!(r#"{{"v":1,"mac":"{:064x}"}}"#, pick as u128);
            let (key, body) = match what % 4 {
                0 => (format!("retiring/{pack}.{ms}"), garbage_mac.into_bytes()),
                1 => (
                    format!("locks/prune-9999999999999999-{:016x}", pick),
                    br#"{"host":"elsewhere","pid":1}"#.to_vec(),
                ),
                2 => (
                    format!("leases/{:032x}", pick as u128),
                    br#"{"host":"elsewhere","pid":1,"op":"backup","started_ms":0}"#.to_vec(),
                ),
                _ => (format!("damaged/{pack}"), Vec::new()),
            };
            w.server.plant_by_someone_else(&key, body).await;
            Ok(format!("planted {key}"))
        }
    }
}
