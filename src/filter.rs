//! Gitignore-style patterns (`*.o`, `/build`, `node_modules/`, `logs/**`, `!keep.o`), matched
//! against paths relative to a backup's or a restore's root, for files and S3 object keys
//! alike: what a backup leaves out, what a restore includes or leaves out. `--iexclude` and
//! `--iinclude` patterns ignore case.

use anyhow::Result;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::KlosetError;

#[derive(Clone)]
pub struct Patterns {
    exact: Gitignore,
    any_case: Gitignore,
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns {
            exact: Gitignore::empty(),
            any_case: Gitignore::empty(),
        }
    }
}

impl Patterns {
    /// `files`: files of patterns, one a line (`#` comments and blank lines skipped).
    pub fn new(
        exact: &[String],
        any_case: &[String],
        files: &[std::path::PathBuf],
    ) -> Result<Patterns> {
        let mut patterns: Vec<String> = exact.to_vec();
        for file in files {
            let text = std::fs::read_to_string(file).map_err(|e| {
                KlosetError::Usage(format!(
                    "--exclude-file {}: {e}: give a readable file of patterns, one a line",
                    file.display()
                ))
            })?;
            patterns.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string),
            );
        }
        Ok(Patterns {
            exact: build(&patterns, false)?,
            any_case: build(any_case, true)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.any_case.is_empty()
    }

    /// `path`: relative to the backup's root, `/`-separated, without a leading `/`.
    pub fn matches(&self, path: &str, is_dir: bool) -> bool {
        self.exact.matched(path, is_dir).is_ignore()
            || self.any_case.matched(path, is_dir).is_ignore()
    }

    /// Like `matches`, also when a directory above the path matches (S3 keys, which are
    /// listed whole rather than walked).
    pub fn matches_key(&self, key: &str) -> bool {
        self.matches_path_or_parents(key, false)
    }

    fn matches_path_or_parents(&self, path: &str, is_dir: bool) -> bool {
        self.exact
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
            || self
                .any_case
                .matched_path_or_any_parents(path, is_dir)
                .is_ignore()
    }
}

fn build(patterns: &[String], any_case: bool) -> Result<Gitignore> {
    let mut b = GitignoreBuilder::new("");
    b.case_insensitive(any_case)
        .map_err(|e| KlosetError::Usage(format!("exclude patterns: {e}")))?;
    for p in patterns {
        b.add_line(None, p).map_err(|e| {
            KlosetError::Usage(format!(
                "pattern '{p}': {e}: see README, 'Choosing what to back up'"
            ))
        })?;
    }
    b.build()
        .map_err(|e| KlosetError::Usage(format!("exclude patterns: {e}")).into())
}

/// What a restore writes: everything, or what `include` names (with the directories on the
/// way), less what `exclude` names.
#[derive(Clone, Default)]
pub struct RestoreFilter {
    pub include: Patterns,
    pub exclude: Patterns,
}

impl RestoreFilter {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// `path` relative to the restore's root. An excluded directory takes its contents along.
    pub fn excluded(&self, path: &str, is_dir: bool) -> bool {
        self.exclude.matches(path, is_dir)
    }

    /// A file (or link, or device) the includes name, itself or by a directory above it.
    pub fn included(&self, path: &str, is_dir: bool) -> bool {
        self.include.is_empty() || self.include.matches_path_or_parents(path, is_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(patterns: &[&str]) -> Patterns {
        let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        Patterns::new(&p, &[], &[]).unwrap()
    }

    #[test]
    fn gitignore_forms() {
        let e = ex(&["*.o", "/build", "node_modules/", "logs/**", "!keep.o"]);
        assert!(e.matches("a.o", false));
        assert!(e.matches("src/deep/a.o", false));
        assert!(!e.matches("src/keep.o", false), "negated");
        assert!(e.matches("build", true));
        assert!(!e.matches("src/build", true), "anchored to the root");
        assert!(e.matches("web/node_modules", true));
        assert!(!e.matches("web/node_modules", false), "directories only");
        assert!(e.matches("logs/2024/a.txt", false));
        assert!(e.matches_key("logs/2024/a.txt"));
        assert!(e.matches_key("web/node_modules/x/y.js") || e.matches_key("web/node_modules/x"));
        assert!(!e.matches("src/main.c", false));
        let i = Patterns::new(&[], &["*.JPG".into()], &[]).unwrap();
        assert!(i.matches("photo.jpg", false) && i.matches("b/PHOTO.Jpg", false));
    }
}
