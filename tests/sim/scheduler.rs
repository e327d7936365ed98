//! The schedule: which host runs which operation when, with which parameters, kill point and
//! abort time, all drawn from the seed before anything runs. Hosts run their queues
//! concurrently; an operation starts at its planned time or when its host's previous one
//! ends, whichever is later.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::faults::Faults;

#[derive(Clone, Debug)]
pub enum Kind {
    /// `big`: the share of new files spanning several packs; `changes` to the source before
    /// it (0: a few, at random).
    Backup {
        big: f64,
        changes: usize,
    },
    Forget {
        keep: usize,
    },
    Prune {
        delay_ms: i64,
        max_unused: f64,
    },
    Check,
    RepairIndex,
    KeyAdd,
    Passwd,
    /// Someone else (a copy tool) deletes an index file: `pick` chooses which; `oldest`
    /// takes the one written first.
    RemoveIndex {
        pick: u64,
        oldest: bool,
    },
    /// Someone else plants a control object kloset did not write: a retiring mark or a damage
    /// record on a stored pack, a prune lock named far in the future, or a lease that claims
    /// to have started at the epoch (`what` chooses, `pick` which pack).
    PlantControl {
        pick: u64,
        what: u8,
    },
    /// `tag --add`: one of the snapshots saved so far (`pick`) gets a tag.
    Tag {
        pick: u64,
    },
    /// `rewrite --forget`: one of the snapshots saved so far loses one of its files.
    Rewrite {
        pick: u64,
    },
}

#[derive(Clone, Debug)]
pub struct Planned {
    pub n: usize,
    /// Index into the hosts; `hosts` itself is "someone else" (the adversary).
    pub host: usize,
    pub at_ms: u64,
    pub kind: Kind,
    /// A named point where the operation dies.
    pub kill_at: Option<&'static str>,
    /// The operation's task is aborted this long after it started.
    pub abort_after_ms: Option<u64>,
    /// Seeds the operation's own decisions (source changes, fault view).
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub struct Params {
    pub hosts: usize,
    pub ops: usize,
    pub faults: Faults,
}

impl Params {
    pub fn standard(hosts: usize, ops: usize) -> Params {
        Params {
            hosts,
            ops,
            faults: Faults {
                error: 0.03,
                lost_write: 0.02,
                latency: 0.5,
                max_latency_ms: 1500,
                list_lag_ms: 0,
            },
        }
    }
}

const PRUNE_KILLS: [&str; 5] = [
    "prune:copied",
    "prune:marked",
    "prune:index-written",
    "prune:old-index-deleted",
    "prune:pack-deleted",
];

/// Points of the backup's own task (the uploader's run in a task of their own, which the
/// per-operation hook does not reach: those are covered by aborts).
const BACKUP_KILLS: [&str; 2] = ["commit:checked", "commit:saved"];

const TAG_KILLS: [&str; 3] = ["commit:checked", "commit:saved", "tag:committed"];

const REWRITE_KILLS: [&str; 4] = [
    "rewrite:uploaded",
    "commit:checked",
    "commit:saved",
    "rewrite:committed",
];

/// Gaps between planned starts: mostly seconds, sometimes minutes, sometimes hours (so that
/// prune's sweep of packs no index names, after 6 h, comes into play).
fn gap_ms(rng: &mut StdRng) -> u64 {
    match rng.gen_range(0..100) {
        0..60 => rng.gen_range(0..20_000),
        60..85 => rng.gen_range(20_000..600_000),
        _ => rng.gen_range(3_600_000..12 * 3_600_000),
    }
}

fn prune_delay(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..10) {
        0..2 => 0,
        2..7 => rng.gen_range(1_000..10_000),
        _ => rng.gen_range(3_600_000..24 * 3_600_000),
    }
}

/// A random schedule: the run's first operations are a backup per host.
pub fn random(seed: u64, p: &Params) -> (StdRng, Vec<Planned>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut plan = Vec::new();
    let mut t = 0u64;
    for n in 0..p.ops {
        let host = match n < p.hosts {
            true => n,
            false => rng.gen_range(0..p.hosts),
        };
        t += gap_ms(&mut rng);
        let kind = match (n < p.hosts, rng.gen_range(0..100)) {
            (false, 34..36) => Kind::Tag { pick: rng.gen() },
            (false, 36..38) => Kind::Rewrite { pick: rng.gen() },
            (true, _) | (_, 0..38) => Kind::Backup {
                big: [0.0, 0.1, 0.4][rng.gen_range(0..3)],
                changes: 0,
            },
            (_, 38..60) => Kind::Prune {
                delay_ms: prune_delay(&mut rng),
                max_unused: [0.0, 0.1][rng.gen_range(0..2)],
            },
            (_, 60..70) => Kind::Forget {
                keep: rng.gen_range(1..4),
            },
            (_, 70..78) => Kind::Check,
            (_, 78..83) => Kind::RepairIndex,
            (_, 83..87) => Kind::KeyAdd,
            (_, 87..90) => Kind::Passwd,
            (_, 90..95) => Kind::RemoveIndex {
                pick: rng.gen(),
                oldest: rng.gen_bool(0.5),
            },
            _ => Kind::PlantControl {
                pick: rng.gen(),
                what: rng.gen_range(0..4),
            },
        };
        let host = match kind {
            Kind::RemoveIndex { .. } | Kind::PlantControl { .. } => p.hosts,
            _ => host,
        };
        let kill_at = match kind {
            Kind::Prune { .. } if rng.gen_bool(0.15) => {
                Some(PRUNE_KILLS[rng.gen_range(0..PRUNE_KILLS.len())])
            }
            Kind::Backup { .. } if rng.gen_bool(0.1) => {
                Some(BACKUP_KILLS[rng.gen_range(0..BACKUP_KILLS.len())])
            }
            Kind::RepairIndex if rng.gen_bool(0.2) => Some("repair:indexed"),
            Kind::Tag { .. } if rng.gen_bool(0.2) => {
                Some(TAG_KILLS[rng.gen_range(0..TAG_KILLS.len())])
            }
            Kind::Rewrite { .. } if rng.gen_bool(0.2) => {
                Some(REWRITE_KILLS[rng.gen_range(0..REWRITE_KILLS.len())])
            }
            _ => None,
        };
        let abort_after_ms = rng.gen_bool(0.07).then(|| rng.gen_range(0..40_000));
        plan.push(Planned {
            n,
            host,
            at_ms: t,
            kind,
            kill_at,
            abort_after_ms,
            seed: rng.gen(),
        });
    }
    (rng, plan)
}

fn op(n: usize, host: usize, at_ms: u64, kind: Kind, rng: &mut StdRng) -> Planned {
    Planned {
        n,
        host,
        at_ms,
        kind,
        kill_at: None,
        abort_after_ms: None,
        seed: rng.gen(),
    }
}

const HOUR: u64 = 3_600_000;

/// Known bug 1: an index file goes missing, then a prune (hours later) sweeps the packs it
/// named as unindexed leftovers although a live snapshot uses them.
pub fn missing_index(seed: u64) -> (StdRng, Vec<Planned>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let r = &mut rng;
    let plan = vec![
        op(
            0,
            0,
            0,
            Kind::Backup {
                big: 0.5,
                changes: 8,
            },
            r,
        ),
        op(
            1,
            0,
            60_000,
            Kind::Backup {
                big: 0.0,
                changes: 0,
            },
            r,
        ),
        op(2, 0, 120_000, Kind::Forget { keep: 1 }, r),
        op(
            3,
            1,
            180_000,
            Kind::RemoveIndex {
                pick: 0,
                oldest: true,
            },
            r,
        ),
        op(
            4,
            0,
            7 * HOUR,
            Kind::Prune {
                delay_ms: HOUR as i64,
                max_unused: 0.1,
            },
            r,
        ),
    ];
    (rng, plan)
}

/// Known bug 2: a backup runs longer than prune's delete delay beside periodic prunes of
/// another host.
pub fn long_backup(seed: u64) -> (StdRng, Vec<Planned>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let big = Kind::Backup {
        big: 0.9,
        changes: 20,
    };
    let mut plan = vec![op(0, 0, 0, big, &mut rng)];
    for i in 0..20 {
        let kind = Kind::Prune {
            delay_ms: 3_000,
            max_unused: 0.0,
        };
        let at = 2_000 + i * 4_000;
        plan.push(op(plan.len(), 1, at, kind, &mut rng));
    }
    (rng, plan)
}

pub fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Backup { big, changes } => format!("backup(big={big}, changes={changes})"),
        Kind::Forget { keep } => format!("forget(keep-last {keep})"),
        Kind::Prune {
            delay_ms,
            max_unused,
        } => format!("prune(delay {}s, max-unused {max_unused})", delay_ms / 1000),
        Kind::Check => "check --read-data".into(),
        Kind::RepairIndex => "repair index".into(),
        Kind::KeyAdd => "key add".into(),
        Kind::Passwd => "key passwd".into(),
        Kind::RemoveIndex { oldest, .. } => {
            format!("someone else deletes an index file (oldest={oldest})")
        }
        Kind::PlantControl { what, .. } => {
            let kind = [
                "a retiring mark",
                "a prune lock",
                "a lease",
                "a damage record",
            ];
            format!("someone else plants {}", kind[*what as usize % 4])
        }
        Kind::Tag { .. } => "tag --add".into(),
        Kind::Rewrite { .. } => "rewrite --exclude FILE --forget".into(),
    }
}
