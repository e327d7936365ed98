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

    /// A folder of object keys (`a/b` for the keys under `a/b/`), judged as a directory.
    pub fn matches_folder(&self, folder: &str) -> bool {
        self.matches_path_or_parents(folder, true)
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

    fn file_of(lines: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("patterns");
        std::fs::write(&path, lines).unwrap();
        (dir, path)
    }

    #[test]
    fn no_patterns_match_nothing() {
        let p = Patterns::default();
        assert!(p.is_empty());
        assert!(!p.matches("a", false) && !p.matches("a", true) && !p.matches_key("a/b"));
        assert!(Patterns::new(&[], &[], &[]).unwrap().is_empty());
        assert!(!ex(&["*.o"]).is_empty());
    }

    #[test]
    fn a_later_pattern_overrides_an_earlier_negation() {
        // Last match wins, as in gitignore.
        let e = ex(&["!keep.o", "*.o"]);
        assert!(e.matches("keep.o", false));
        let e = ex(&["*.o", "!keep.o"]);
        assert!(!e.matches("keep.o", false));
    }

    #[test]
    fn a_pattern_with_an_inner_slash_is_anchored_to_the_root() {
        let e = ex(&["docs/*.txt"]);
        assert!(e.matches("docs/a.txt", false));
        assert!(!e.matches("src/docs/a.txt", false));
        assert!(!e.matches("docs/sub/a.txt", false), "* does not cross /");
    }

    #[test]
    fn double_star_prefix_matches_at_any_depth() {
        let e = ex(&["**/tmp"]);
        assert!(e.matches("tmp", true));
        assert!(e.matches("a/b/tmp", false));
        assert!(!e.matches("a/tmpx", false));
    }

    #[test]
    fn matches_looks_at_the_path_alone_and_matches_key_at_its_parents_too() {
        // The walker prunes an excluded directory, so `matches` need not look upward; S3 keys
        // are listed whole, so `matches_key` must.
        let e = ex(&["cache/"]);
        assert!(!e.matches("x/cache/a.txt", false));
        assert!(e.matches_key("x/cache/a.txt"));
        assert!(e.matches_key("cache/deep/er/b"));
        assert!(
            !e.matches_key("cache"),
            "a key is an object, not a directory"
        );
        assert!(!e.matches_key("cachex/a"));
    }

    #[test]
    fn case_is_ignored_only_for_the_iexclude_patterns() {
        let exact = ex(&["*.JPG"]);
        assert!(exact.matches("a.JPG", false));
        assert!(!exact.matches("a.jpg", false));
        let both = Patterns::new(&["*.o".into()], &["Thumbs.db".into()], &[]).unwrap();
        assert!(both.matches("x/THUMBS.DB", false));
        assert!(both.matches("a.o", false));
        assert!(!both.matches("a.O", false));
        assert!(both.matches_key("dir/thumbs.db"));
    }

    #[test]
    fn exclude_files_skip_comments_and_blank_lines_and_trim() {
        let (_dir, path) = file_of("# build output\n\n   *.o   \n\t/target\n#*.rs\n");
        let p = Patterns::new(&[], &[], &[path]).unwrap();
        assert!(p.matches("a.o", false));
        assert!(p.matches("target", true));
        assert!(
            !p.matches("main.rs", false),
            "a commented-out pattern is not used"
        );
        assert!(!p.matches("# build output", false));
    }

    #[test]
    fn exclude_files_add_to_the_patterns_given_inline() {
        let (_dir, path) = file_of("*.log\n");
        let p = Patterns::new(&["*.tmp".into()], &[], &[path]).unwrap();
        assert!(p.matches("a.tmp", false) && p.matches("a.log", false));
    }

    #[test]
    fn an_unreadable_exclude_file_is_a_usage_error_naming_it() {
        let missing = std::path::PathBuf::from("/nonexistent/kloset-patterns");
        let err = Patterns::new(&[], &[], &[missing]).err().unwrap();
        assert!(err
            .to_string()
            .contains("--exclude-file /nonexistent/kloset-patterns"));
        assert!(matches!(
            err.downcast_ref::<KlosetError>(),
            Some(KlosetError::Usage(_))
        ));
    }

    #[test]
    fn a_malformed_pattern_is_a_usage_error_naming_it() {
        let err = Patterns::new(&["a[z-a]".into()], &[], &[]).err().unwrap();
        assert!(err.to_string().contains("pattern 'a[z-a]'"), "{err}");
        assert!(err.to_string().contains("invalid range"), "{err}");
        // The case-insensitive patterns are checked as strictly.
        assert!(Patterns::new(&[], &["{a".into()], &[]).is_err());
        assert!(matches!(
            err.downcast_ref::<KlosetError>(),
            Some(KlosetError::Usage(_))
        ));
    }

    #[test]
    fn an_empty_restore_filter_restores_everything() {
        let f = RestoreFilter::default();
        assert!(f.is_empty());
        assert!(f.included("any/file", false) && f.included("dir", true));
        assert!(!f.excluded("any/file", false));
    }

    #[test]
    fn restore_includes_take_what_lies_below_a_named_directory() {
        let f = RestoreFilter {
            include: ex(&["/docs"]),
            exclude: ex(&["*.bak"]),
        };
        assert!(!f.is_empty());
        assert!(f.included("docs", true));
        assert!(f.included("docs/a/b.txt", false));
        assert!(!f.included("src/docs.txt", false));
        assert!(!f.included("src/docs/a.txt", false), "anchored at the root");
        assert!(f.excluded("docs/old.bak", false));
        assert!(!f.excluded("docs/new.txt", false));
    }
}
