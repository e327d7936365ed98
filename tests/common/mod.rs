//! Test harness: runs the real `kloset` binary in an isolated config/home, makes fixture trees,
//! and compares restored trees with their sources byte for byte.
#![allow(dead_code)]

pub mod proxy;
pub mod rewrite_proxy;
pub mod servers;
pub mod suite;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "kloset failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code, expected,
            "unexpected exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// The error message must be a single line.
    pub fn one_line_error(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("kloset:"))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line, got: {}",
            self.stderr
        );
        lines[0]
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("home")).unwrap();
        Env {
            dir,
            extra_env: Vec::new(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn config_dir(&self) -> PathBuf {
        self.path("config")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kloset"));
        cmd.args(args)
            .env("KLOSET_CONFIG_DIR", self.config_dir())
            .env("HOME", self.path("home"))
            .env("KLOSET_PASSPHRASE", "correct horse")
            .env_remove("KLOSET_REPOSITORY")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out: Output = self.command(args).output().expect("run kloset");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `kloset at STORE create` with a cheap KDF so tests stay fast.
    pub fn create(&self, store: &str) -> Run {
        self.create_with_packs(store, "4")
    }

    /// `create` with 1 MiB packs: small trees then span several packs.
    pub fn create_small_packs(&self, store: &str) -> Run {
        self.create_with_packs(store, "1")
    }

    fn create_with_packs(&self, store: &str, pack_mib: &str) -> Run {
        self.run(&[
            "at",
            store,
            "create",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
            "--pack-size-mib",
            pack_mib,
        ])
    }

    /// `prune` that deletes at once and repacks everything partly used: for tests where no
    /// backup runs meanwhile.
    pub fn prune_now(&self, store: &str) -> Run {
        self.run(&[
            "at",
            store,
            "prune",
            "--delete-delay",
            "0",
            "--max-unused",
            "0%",
        ])
    }

    /// `prune_now` with `--json`: its report.
    pub fn prune_now_json(&self, store: &str) -> serde_json::Value {
        self.run(&[
            "--json",
            "at",
            store,
            "prune",
            "--delete-delay",
            "0",
            "--max-unused",
            "0%",
        ])
        .ok()
        .json()
    }

    /// A new store at `store` under the test's directory; returns its path.
    pub fn local_store(&self) -> String {
        let store = self.path("store").to_str().unwrap().to_string();
        self.create(&store).ok();
        store
    }

    /// Starts kloset in the background with its output captured, for tests that interrupt it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start kloset")
    }

    /// `kloset at STORE restore --force -to TARGET SPEC`
    pub fn restore_forced(&self, store: &str, target: &Path, spec: &str) -> Run {
        self.run(&[
            "at",
            store,
            "restore",
            "--force",
            "-to",
            target.to_str().unwrap(),
            spec,
        ])
    }

    /// `kloset at STORE restore -to TARGET SPEC`
    pub fn restore(&self, store: &str, target: &Path, spec: &str) -> Run {
        self.run(&[
            "at",
            store,
            "restore",
            "-to",
            target.to_str().unwrap(),
            spec,
        ])
    }

    pub fn backup(&self, store: &str, source: &str) -> serde_json::Value {
        self.run(&["--json", "at", store, "backup", source])
            .ok()
            .json()
    }
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Polls `ready` until it holds or a minute passes (callers assert on what follows).
pub fn wait_until(ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Deterministic pseudo-random bytes (xorshift), so fixtures need no rand dependency.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A tree with every kind of thing a restore must get exactly right.
pub fn make_fixture(root: &Path) {
    fs::create_dir_all(root.join("docs/nested/deeper")).unwrap();
    fs::create_dir_all(root.join("empty dir")).unwrap();
    fs::create_dir_all(root.join("données/日本語")).unwrap();
    fs::write(root.join("zero"), b"").unwrap();
    fs::write(root.join("docs/readme.txt"), b"hello kloset\n").unwrap();
    fs::write(
        root.join("docs/nested/text.log"),
        "line of text\n".repeat(20_000),
    )
    .unwrap();
    fs::write(
        root.join("docs/nested/deeper/random.bin"),
        pseudo_random(1, 300_000),
    )
    .unwrap();
    // Above the 8 MiB maximum chunk size, and above the read-whole threshold.
    fs::write(
        root.join("big.bin"),
        pseudo_random(2, 17 * 1024 * 1024 + 123),
    )
    .unwrap();
    fs::write(
        root.join("données/日本語/ファイル.txt"),
        "non-ASCII names\n",
    )
    .unwrap();
    fs::write(root.join("données/café ☕.md"), pseudo_random(3, 5000)).unwrap();
    for i in 0..40 {
        fs::write(
            root.join(format!("docs/small-{i:03}")),
            pseudo_random(100 + i, 100 + i as usize * 37),
        )
        .unwrap();
    }
    // Same content twice: deduplicated in the store, restored twice.
    fs::write(
        root.join("docs/copy-of-random.bin"),
        pseudo_random(1, 300_000),
    )
    .unwrap();
    std::os::unix::fs::symlink("docs/readme.txt", root.join("link-to-readme")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).unwrap();
    fs::set_permissions(
        root.join("docs/readme.txt"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    fs::set_permissions(
        root.join("données/café ☕.md"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::set_permissions(root.join("empty dir"), fs::Permissions::from_mode(0o700)).unwrap();
    let t = filetime::FileTime::from_unix_time(1_600_000_000, 123_456_789);
    filetime::set_file_mtime(root.join("docs/nested/text.log"), t).unwrap();
    filetime::set_symlink_file_times(root.join("dangling"), t, t).unwrap();
    filetime::set_file_mtime(root.join("docs/nested/deeper"), t).unwrap();
}

#[derive(Debug, PartialEq)]
pub struct Entry {
    pub kind: char,
    pub mode: u32,
    pub mtime: (i64, i64),
    pub size: u64,
    pub hash: String,
}

/// Every entry below `root`: kind, permission bits, mtime, size, BLAKE3 of content or link target.
pub fn manifest(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let path = e.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let ft = meta.file_type();
        let (kind, hash) = if ft.is_symlink() {
            (
                'l',
                fs::read_link(&path).unwrap().to_string_lossy().into_owned(),
            )
        } else if ft.is_dir() {
            walk(root, &path, out);
            ('d', String::new())
        } else {
            (
                'f',
                blake3::hash(&fs::read(&path).unwrap()).to_hex().to_string(),
            )
        };
        let mtime = if kind == 'l' {
            (0, 0)
        } else {
            (meta.mtime(), meta.mtime_nsec())
        };
        let mode = if kind == 'l' { 0 } else { meta.mode() & 0o7777 };
        let size = if kind == 'f' { meta.len() } else { 0 };
        out.insert(
            rel,
            Entry {
                kind,
                mode,
                mtime,
                size,
                hash,
            },
        );
    }
}

pub fn assert_same_tree(source: &Path, restored: &Path) {
    let a = manifest(source);
    let b = manifest(restored);
    assert!(!a.is_empty(), "empty source manifest");
    for (k, v) in &a {
        assert_eq!(Some(v), b.get(k), "entry {k} differs");
    }
    assert_eq!(
        a.len(),
        b.len(),
        "restored tree has extra entries: {:?}",
        b.keys().filter(|k| !a.contains_key(*k)).collect::<Vec<_>>()
    );
}

/// A name no other test (or earlier run) uses: for buckets and prefixes on shared servers.
pub fn unique(tag: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_007;
    format!("{tag}-{}-{n}", std::process::id())
}

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// `kloset ROLE add NAME location=s3://... <credentials>` for a bucket and prefix of `server`;
/// returns `@NAME`.
pub fn add_s3(
    env: &Env,
    role: &str,
    name: &str,
    server: &servers::S3Server,
    bucket: &str,
    prefix: &str,
) -> String {
    let mut args = vec![
        role.to_string(),
        "add".into(),
        name.into(),
        format!("location={}", server.url(bucket, prefix)),
    ];
    args.extend(server.credentials());
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
    format!("@{name}")
}
