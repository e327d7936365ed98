//! Races of prune with writers, found in review and kept as tests: a slow mark put, and repacks that must free what they copied.
mod common;

use std::fs;

use common::Env;

fn write_tree(dir: &std::path::Path, seeds: impl Fn(u64) -> u64) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..30u64 {
        fs::write(
            dir.join(format!("f{i:02}")),
            common::pseudo_random(seeds(i), 60_000),
        )
        .unwrap();
    }
}

/// Prune's repack copies the used blobs of a partly used pack, marks the pack, and then, in
/// step 3, finds it "needed" (its stale entry still lists the blobs just copied), unmarks it
/// and keeps it: nothing is freed, and every prune writes another copy.
#[test]
fn repack_frees_the_partly_used_pack_and_does_not_copy_again() {
    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create_small_packs(&store).ok();
    let src = env.path("src");
    // 30 files of 60 KB: ~1.8 MB, two data packs of 1 MiB.
    write_tree(&src, |i| i);
    env.backup(&store, src.to_str().unwrap());
    // Half of the files change: the first snapshot's packs become partly used.
    write_tree(&src, |i| if i % 2 == 0 { i + 100 } else { i });
    env.backup(&store, src.to_str().unwrap());
    env.run(&["at", &store, "forget", "--keep-last", "1"]).ok();
    let first = env.prune_now_json(&store);
    eprintln!("first prune: {first}");
    let second = env.prune_now_json(&store);
    eprintln!("second prune: {second}");
    for n in 3..6 {
        let again = env.prune_now_json(&store);
        eprintln!("prune {n}: {again}");
    }
    assert!(first["packs_repacked"].as_u64().unwrap() > 0, "{first}");
    assert_eq!(
        first["packs_recovered"].as_u64().unwrap(),
        0,
        "the packs just repacked were unmarked again: {first}"
    );
    assert_eq!(
        second["packs_written"].as_u64().unwrap(),
        0,
        "the second prune copied the same blobs again: {second}"
    );
    env.run(&["at", &store, "check", "--read-data"]).ok();
}

// ---------------------------------------------------------------------------------------------
// Prune once dated the marks it wrote by a server time taken *before* the first mark was
// written, while the writer's commit check uses the mark's real `LastModified` (now prune reads
// its marks back and dates them by that). A writer whose lease starts more than 5 s after `marked_at` but before
// its pack's mark lands (a slow/retried PUT, or simply thousands of marks written one by one)
// loads an index without the mark, reuses the pack, passes the commit check (the mark, if it
// sees one, is newer than its lease), and prune deletes the pack anyway.

mod race {
    use std::fmt;
    use std::ops::Range;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use futures::stream::BoxStream;
    use object_store::path::Path;
    use object_store::{
        GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
        PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    };

    /// Delays the first PUT under `retiring/` (a slow or retried request).
    #[derive(Debug)]
    pub struct SlowFirstMark {
        pub inner: Arc<dyn ObjectStore>,
        pub delay: Duration,
        pub first_seen: Arc<(Mutex<bool>, Condvar)>,
        pub delayed: AtomicBool,
    }

    impl fmt::Display for SlowFirstMark {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "slow({})", self.inner)
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for SlowFirstMark {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> Result<PutResult> {
            if location.as_ref().starts_with("retiring/")
                && !self.delayed.swap(true, Ordering::SeqCst)
            {
                {
                    let (m, c) = &*self.first_seen;
                    *m.lock().unwrap() = true;
                    c.notify_all();
                }
                tokio::time::sleep(self.delay).await;
            }
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
            self.inner.get_opts(location, options).await
        }
        async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
            self.inner.get_ranges(location, ranges).await
        }
        async fn delete(&self, location: &Path) -> Result<()> {
            self.inner.delete(location).await
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy(from, to).await
        }
        async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy_if_not_exists(from, to).await
        }
    }

    /// A one-shot flag threads wait on.
    #[derive(Default)]
    pub struct Flag(Mutex<bool>, Condvar);
    impl Flag {
        pub fn set(&self) {
            *self.0.lock().unwrap() = true;
            self.1.notify_all();
        }
        pub fn wait(&self, timeout: Duration) -> bool {
            let g = self.0.lock().unwrap();
            let (g, _) = self.1.wait_timeout_while(g, timeout, |v| !*v).unwrap();
            *g
        }
    }
}

#[test]
fn a_pack_marked_by_a_slow_put_is_not_deleted_under_a_committed_snapshot() {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use clap::Parser;
    use race::{Flag, SlowFirstMark};

    let env = Env::new();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let src = env.path("src");
    write_tree(&src, |i| i);
    let first = env.backup(&store, src.to_str().unwrap());
    let first_id = first["id"].as_str().unwrap().to_string();
    // The first snapshot goes: its packs are now unused, for prune to mark and delete.
    env.run(&["at", &store, "rm", &first_id[..8]]).ok();

    // In-process from here: the writer runs through the CLI, the prune through the library,
    // over a store whose first mark PUT takes 8 s.
    std::env::set_var("KLOSET_PASSPHRASE", "correct horse");
    std::env::set_var("KLOSET_CONFIG_DIR", env.config_dir());
    std::env::set_var("HOME", env.path("home"));

    let step3_done = Arc::new(Flag::default());
    let writer_saved = Arc::new(Flag::default());
    {
        let (step3_done, writer_saved) = (step3_done.clone(), writer_saved.clone());
        kloset::kill_point::install_hook(Some(Arc::new(move |name: &str| {
            match name {
                // The writer has checked its packs: it saves only after prune's re-listing.
                "commit:checked" => {
                    assert!(step3_done.wait(Duration::from_secs(60)));
                }
                "commit:saved" => writer_saved.set(),
                // Prune has listed leases and snapshots again and written its index: let the
                // writer commit, then go on deleting.
                "prune:index-written" => {
                    step3_done.set();
                    writer_saved.wait(Duration::from_secs(30));
                }
                _ => {}
            }
            false
        })));
    }

    let first_seen = Arc::new((Mutex::new(false), Condvar::new()));
    let prune = {
        let (store, first_seen) = (store.clone(), first_seen.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let local = object_store::local::LocalFileSystem::new_with_prefix(&store).unwrap();
                let slow = SlowFirstMark {
                    inner: Arc::new(local),
                    delay: Duration::from_secs(8),
                    first_seen,
                    delayed: AtomicBool::new(false),
                };
                let backend =
                    kloset::repo::backend::Backend::new(Arc::new(slow), store.clone(), false);
                let repo = kloset::repo::Repo::open(backend, "correct horse")
                    .await
                    .unwrap();
                kloset::ops::prune::prune(
                    repo,
                    &kloset::ops::prune::PruneOptions {
                        dry_run: false,
                        max_unused: 0.0,
                        max_repack: u64::MAX,
                        delete_delay: chrono::Duration::zero(),
                        quiet: true,
                    },
                )
                .await
                .map(|r| format!("{r:?}"))
            })
        })
    };
    // Prune has taken its "now" and started the first mark; 6 s later a backup starts.
    {
        let (m, c) = &*first_seen;
        let g = m.lock().unwrap();
        let _ = c
            .wait_timeout_while(g, Duration::from_secs(60), |v| !*v)
            .unwrap();
    }
    std::thread::sleep(Duration::from_secs(6));
    let backup = {
        let (store, src) = (store.clone(), src.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let cli = kloset::cli::args::Cli::try_parse_from([
                "kloset",
                "--quiet",
                "at",
                &store,
                "backup",
                src.to_str().unwrap(),
            ])
            .unwrap();
            rt.block_on(kloset::cli::run(cli, kloset::cancel::Cancel::default()))
                .map_err(|e| format!("{e:#}"))
        })
    };
    let backup = backup.join().unwrap();
    let pruned = prune.join().unwrap();
    kloset::kill_point::install_hook(None);
    eprintln!("backup: {backup:?}\nprune: {pruned:?}");
    assert!(backup.is_ok(), "the backup reported failure: {backup:?}");
    // The backup said its snapshot was saved: it must restore.
    let check = env.run(&["at", &store, "check", "--read-data"]);
    let out = env.path("out");
    let restored = env.restore(&store, &out, "latest");
    assert!(
        check.code == 0 && restored.code == 0,
        "a snapshot reported as saved is broken:\ncheck: {}\nrestore: {}",
        check.stderr,
        restored.stderr
    );
}
