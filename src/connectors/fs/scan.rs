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
    let Some((first, rest)) = selection.roots().split_first() else {
        return;
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
    std::thread::spawn(move || {
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
        progress.set_total(total.load(Ordering::Relaxed));
    });
}
