//! What a backup leaves out: gitignore-style patterns (`*.o`, `/build`, `node_modules/`,
//! `logs/**`, `!keep.o`), matched against paths relative to the backup's root, for files and
//! S3 object keys alike. `--iexclude` patterns ignore case.

use anyhow::Result;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::KlosetError;

#[derive(Clone)]
pub struct Excludes {
    exact: Gitignore,
    any_case: Gitignore,
}

impl Default for Excludes {
    fn default() -> Self {
        Excludes {
            exact: Gitignore::empty(),
            any_case: Gitignore::empty(),
        }
    }
}

impl Excludes {
    /// `exclude_files`: files of patterns, one a line (`#` comments and blank lines skipped).
    pub fn new(
        exclude: &[String],
        iexclude: &[String],
        exclude_files: &[std::path::PathBuf],
    ) -> Result<Excludes> {
        let mut patterns: Vec<String> = exclude.to_vec();
        for file in exclude_files {
            let text = std::fs::read_to_string(file).map_err(|e| {
                KlosetError::Usage(format!("--exclude-file {}: {e}", file.display()))
            })?;
            patterns.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string),
            );
        }
        Ok(Excludes {
            exact: build(&patterns, false)?,
            any_case: build(iexclude, true)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.any_case.is_empty()
    }

    /// `path`: relative to the backup's root, `/`-separated, without a leading `/`.
    pub fn excludes(&self, path: &str, is_dir: bool) -> bool {
        self.exact.matched(path, is_dir).is_ignore()
            || self.any_case.matched(path, is_dir).is_ignore()
    }

    /// Like `excludes`, also when a directory above the path is excluded (S3 keys, which are
    /// listed whole rather than walked).
    pub fn excludes_key(&self, key: &str) -> bool {
        self.exact
            .matched_path_or_any_parents(key, false)
            .is_ignore()
            || self
                .any_case
                .matched_path_or_any_parents(key, false)
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
                "--exclude '{p}': {e}: see README, 'Choosing what to back up'"
            ))
        })?;
    }
    b.build()
        .map_err(|e| KlosetError::Usage(format!("exclude patterns: {e}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(patterns: &[&str]) -> Excludes {
        let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        Excludes::new(&p, &[], &[]).unwrap()
    }

    #[test]
    fn gitignore_forms() {
        let e = ex(&["*.o", "/build", "node_modules/", "logs/**", "!keep.o"]);
        assert!(e.excludes("a.o", false));
        assert!(e.excludes("src/deep/a.o", false));
        assert!(!e.excludes("src/keep.o", false), "negated");
        assert!(e.excludes("build", true));
        assert!(!e.excludes("src/build", true), "anchored to the root");
        assert!(e.excludes("web/node_modules", true));
        assert!(!e.excludes("web/node_modules", false), "directories only");
        assert!(e.excludes("logs/2024/a.txt", false));
        assert!(e.excludes_key("logs/2024/a.txt"));
        assert!(e.excludes_key("web/node_modules/x/y.js") || e.excludes_key("web/node_modules/x"));
        assert!(!e.excludes("src/main.c", false));
        let i = Excludes::new(&[], &["*.JPG".into()], &[]).unwrap();
        assert!(i.excludes("photo.jpg", false) && i.excludes("b/PHOTO.Jpg", false));
    }
}
