//! The committed shell completions (completions/) and man pages (man/) must match what the
//! current command tree generates. Regenerate with `KLOSET_BLESS=1 cargo test --test generated_docs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn kloset(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_kloset"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bless() -> bool {
    std::env::var_os("KLOSET_BLESS").is_some()
}

fn compare(path: &Path, fresh: &[u8], stale: &mut Vec<String>) {
    if bless() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, fresh).unwrap();
    } else if fs::read(path).ok().as_deref() != Some(fresh) {
        stale.push(path.display().to_string());
    }
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let mut stale = Vec::new();
    for (shell, file) in [
        ("bash", "kloset.bash"),
        ("zsh", "_kloset"),
        ("fish", "kloset.fish"),
    ] {
        compare(
            &root().join("completions").join(file),
            &kloset(&["completion", shell]),
            &mut stale,
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    kloset(&["manpages", tmp.path().to_str().unwrap()]);
    let mut generated: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    generated.sort();
    assert!(
        generated.contains(&"kloset-backup.1".to_string()),
        "{generated:?}"
    );
    assert!(
        generated.contains(&"kloset-source-add.1".to_string()),
        "{generated:?}"
    );
    for name in &generated {
        compare(
            &root().join("man").join(name),
            &fs::read(tmp.path().join(name)).unwrap(),
            &mut stale,
        );
    }
    if !bless() {
        let committed: Vec<String> = fs::read_dir(root().join("man"))
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for c in committed {
            if !generated.contains(&c) {
                stale.push(format!("man/{c} (no longer generated)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}; run KLOSET_BLESS=1 cargo test --test generated_docs"
    );
}
