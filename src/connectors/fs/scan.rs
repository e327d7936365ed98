//! The quick parallel scan that gives a filesystem backup's progress bar its total (and so a
//! percentage and an ETA), as restic does: sizes only, under the same selection as the backup.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ignore::{WalkBuilder, WalkState};

use super::select::Selection;
use crate::progress::Progress;

/// Runs beside the backup; when it is done the bar gets its total. Only an estimate: files
/// that change meanwhile are counted as the backup finds them.
pub fn start(selection: Arc<Selection>, progress: Progress) {
    std::thread::spawn(move || progress.set_total(total(&selection)));
}

/// Bytes of the files the selection covers, counted on two threads.
pub fn total(selection: &Arc<Selection>) -> u64 {
    let Some((first, rest)) = selection.roots().split_first() else {
        return 0;
    };
    let mut walk = WalkBuilder::new(first);
    for r in rest {
        walk.add(r);
    }
    let sel = selection.clone();
    walk.standard_filters(false)
        .follow_links(false)
        .threads(2)
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            let excluded = sel.has_patterns() && sel.excluded(e.path(), is_dir);
            let tagged = is_dir && e.depth() > 0 && sel.skip_contents(e.path());
            !excluded && !tagged
        });
    let total = AtomicU64::new(0);
    walk.build_parallel().run(|| {
        let total = &total;
        Box::new(move |entry| {
            if let Ok(e) = entry {
                if e.file_type().is_some_and(|t| t.is_file()) {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    total.fetch_add(len, Ordering::Relaxed);
                }
            }
            WalkState::Continue
        })
    });
    total.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::fs::select::SelectOptions;

    #[test]
    fn counts_what_the_backup_would_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (rel, len) in [("a", 10), ("sub/b", 20), ("skip.o", 40), ("tagged/c", 80)] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, vec![1u8; len]).unwrap();
        }
        std::fs::write(root.join("tagged/.nobackup"), "").unwrap();
        let opts = SelectOptions {
            excludes: crate::filter::Patterns::new(&["*.o".into()], &[], &[]).unwrap(),
            if_present: vec![".nobackup".into()],
            one_file_system: false,
        };
        let sel = Arc::new(Selection::new(vec![root.to_path_buf()], opts).unwrap());
        assert_eq!(total(&sel), 30);
    }
}
