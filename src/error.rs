//! The errors kloset reports at its boundary, each with its own exit code.
//!
//! Inside, code uses `anyhow` with context; anything that a user can act on is raised as a
//! `KlosetError` so `main` can print one line and exit with a code scripts can branch on.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum KlosetError {
    #[error("{0}")]
    Usage(String),
    #[error("store at {0} is not initialised: run 'kloset at {0} create' first")]
    NotInitialised(String),
    #[error("store at {0} is already initialised: use it as it is, or choose another location")]
    AlreadyInitialised(String),
    #[error("store at {0} holds kloset data but its config is missing: do not run 'create' there (it would not open the old data); put back a copy of the config object, or choose another location")]
    ConfigLost(String),
    #[error("another 'create' of the store at {0} ran at the same time: run 'kloset at {0} ls' to see whether it finished, else run create again")]
    CreateRace(String),
    #[error("wrong passphrase for store at {0}: check KLOSET_PASSPHRASE, the store's passphrase option, or what you typed")]
    WrongPassphrase(String),
    #[error("no passphrase available and no terminal to ask on: set KLOSET_PASSPHRASE, use --keyfile, or set the store's passphrase/passphrase_cmd option")]
    NoPassphrase,
    #[error("no snapshot matches '{0}': run 'kloset ls' to see the snapshot ids")]
    UnknownSnapshot(String),
    #[error(
        "snapshot prefix '{0}' is ambiguous ({1} snapshots match): give more characters of the id"
    )]
    AmbiguousSnapshot(String, usize),
    #[error("'latest' is ambiguous: this store holds snapshots of several sources ({0}): add --source SOURCE or --host HOST, or give a snapshot id")]
    AmbiguousLatest(String),
    #[error("restore target {0} exists and is not empty: choose an empty or new directory, or pass --force to overwrite")]
    TargetExists(String),
    #[error("integrity error: {0}")]
    Integrity(String),
    #[error("{0}")]
    Config(String),
    #[error("backup finished with {0} unreadable source entries (listed above); snapshot {1} holds everything else")]
    PartialBackup(usize, String),
    #[error("{0} entries could not be restored (listed above); everything else was")]
    PartialRestore(usize),
    #[error("{0} entries were left out of the archive for their names (listed above); everything else is in it")]
    PartialDump(usize),
    #[error("{count} packs this restore needs are in the {class} storage class and must be thawed first ({shown}...): run the restore again with --thaw (S3 restores them, which takes minutes to hours, and kloset waits), or restore them with your S3 tools")]
    Frozen {
        count: usize,
        class: String,
        shown: String,
    },
    #[error(
        "nothing was committed: {0}; run the same command again (what was uploaded is reused)"
    )]
    CommitRefused(String),
    #[error("{0} snapshots could not be copied (listed above); every other one was")]
    PartialSync(usize),
    #[error("{0}: run 'kloset repair index', then the command again")]
    NeedsRepair(String),
    #[error("check incomplete: {0} packs could not be read (listed above, with why; none was recorded as damaged): fix what stops the reads and run the check again")]
    CheckIncomplete(usize),
    #[error("interrupted: no snapshot was written; run the same command again, data already uploaded is reused")]
    Interrupted,
    #[error("nothing was committed: {0}")]
    TreeTooLarge(String),
}

impl KlosetError {
    /// Exit codes: distinct per kind so scripts can react; 1 is left for unexpected I/O failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            KlosetError::Usage(_) => 2,
            KlosetError::PartialBackup(..) => 3,
            KlosetError::NotInitialised(_) => 10,
            KlosetError::AlreadyInitialised(_) => 11,
            KlosetError::ConfigLost(_) => 10,
            KlosetError::CreateRace(_) => 11,
            KlosetError::WrongPassphrase(_) => 12,
            KlosetError::NoPassphrase => 13,
            KlosetError::UnknownSnapshot(_) => 14,
            KlosetError::AmbiguousSnapshot(..) => 15,
            KlosetError::AmbiguousLatest(_) => 15,
            KlosetError::TargetExists(_) => 16,
            KlosetError::Integrity(_) => 17,
            KlosetError::Config(_) => 18,
            KlosetError::PartialRestore(_) => 4,
            // Like a partial restore: the archive is what a restore of it would write.
            KlosetError::PartialDump(_) => 4,
            KlosetError::Frozen { .. } => 20,
            KlosetError::CommitRefused(_) => 21,
            KlosetError::PartialSync(_) => 5,
            KlosetError::NeedsRepair(_) => 22,
            KlosetError::CheckIncomplete(_) => 23,
            KlosetError::TreeTooLarge(_) => 24,
            KlosetError::Interrupted => 130,
        }
    }
}

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    KlosetError::Usage(msg.into()).into()
}

pub fn config(msg: impl Into<String>) -> anyhow::Error {
    KlosetError::Config(msg.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<KlosetError> {
        vec![
            KlosetError::Usage("u".into()),
            KlosetError::NotInitialised("s".into()),
            KlosetError::AlreadyInitialised("s".into()),
            KlosetError::ConfigLost("s".into()),
            KlosetError::CreateRace("s".into()),
            KlosetError::WrongPassphrase("s".into()),
            KlosetError::NoPassphrase,
            KlosetError::UnknownSnapshot("ab".into()),
            KlosetError::AmbiguousSnapshot("ab".into(), 2),
            KlosetError::AmbiguousLatest("x, y".into()),
            KlosetError::TargetExists("/t".into()),
            KlosetError::Integrity("bad".into()),
            KlosetError::Config("c".into()),
            KlosetError::PartialBackup(3, "id".into()),
            KlosetError::PartialRestore(2),
            KlosetError::PartialDump(1),
            KlosetError::Frozen {
                count: 1,
                class: "GLACIER".into(),
                shown: "p".into(),
            },
            KlosetError::CommitRefused("c".into()),
            KlosetError::NeedsRepair("n".into()),
            KlosetError::CheckIncomplete(2),
            KlosetError::Interrupted,
            KlosetError::TreeTooLarge("d".into()),
        ]
    }

    #[test]
    fn exit_codes_are_the_documented_ones() {
        // The README's table: scripts branch on these.
        let codes: Vec<i32> = all().iter().map(KlosetError::exit_code).collect();
        assert_eq!(
            codes,
            [2, 10, 11, 10, 11, 12, 13, 14, 15, 15, 16, 17, 18, 3, 4, 4, 20, 21, 22, 23, 130, 24]
        );
    }

    #[test]
    fn exit_codes_never_collide_with_success_or_unexpected_failure() {
        // 0 is success, 1 unexpected I/O failure and 19 the remote store errors (not raised
        // as a KlosetError): none of them may come out of one.
        for e in all() {
            assert!(![0, 1, 19].contains(&e.exit_code()), "{e:?}");
        }
    }

    #[test]
    fn kinds_that_need_different_actions_have_different_codes() {
        let code = |e: KlosetError| e.exit_code();
        let distinct = [
            code(KlosetError::Usage(String::new())),
            code(KlosetError::PartialBackup(1, String::new())),
            code(KlosetError::PartialRestore(1)),
            code(KlosetError::NotInitialised(String::new())),
            code(KlosetError::AlreadyInitialised(String::new())),
            code(KlosetError::WrongPassphrase(String::new())),
            code(KlosetError::NoPassphrase),
            code(KlosetError::UnknownSnapshot(String::new())),
            code(KlosetError::AmbiguousSnapshot(String::new(), 2)),
            code(KlosetError::TargetExists(String::new())),
            code(KlosetError::Integrity(String::new())),
            code(KlosetError::Config(String::new())),
            code(KlosetError::Frozen {
                count: 1,
                class: String::new(),
                shown: String::new(),
            }),
            code(KlosetError::CheckIncomplete(1)),
            code(KlosetError::Interrupted),
            code(KlosetError::TreeTooLarge(String::new())),
        ];
        let set: std::collections::HashSet<i32> = distinct.iter().copied().collect();
        assert_eq!(set.len(), distinct.len(), "{distinct:?}");
    }

    #[test]
    fn messages_tell_what_to_run() {
        let m = KlosetError::NotInitialised("s3://h/b".into()).to_string();
        assert!(m.contains("kloset at s3://h/b create"), "{m}");
        let m = KlosetError::AmbiguousSnapshot("ab12".into(), 3).to_string();
        assert!(m.contains("'ab12'") && m.contains("3 snapshots"), "{m}");
        let m = KlosetError::PartialBackup(5, "deadbeef".into()).to_string();
        assert!(m.contains("5 unreadable") && m.contains("deadbeef"), "{m}");
        let m = KlosetError::Frozen {
            count: 4,
            class: "DEEP_ARCHIVE".into(),
            shown: "aa, bb".into(),
        }
        .to_string();
        assert!(m.contains("4 packs") && m.contains("DEEP_ARCHIVE") && m.contains("--thaw"));
        let m = KlosetError::CheckIncomplete(3).to_string();
        assert!(m.contains("3 packs could not be read") && m.contains("check again"));
    }

    #[test]
    fn usage_and_config_helpers_carry_their_kind_and_text() {
        let u = usage("bad flag");
        assert_eq!(u.to_string(), "bad flag");
        assert_eq!(u.downcast_ref::<KlosetError>().unwrap().exit_code(), 2);
        let c = config("bad option");
        assert_eq!(c.to_string(), "bad option");
        assert_eq!(c.downcast_ref::<KlosetError>().unwrap().exit_code(), 18);
    }
}
