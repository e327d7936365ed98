//! Files that cannot become keys: the empty key, and names that are one key once made UTF-8.

use super::*;

/// An empty key would address the bucket itself (a PUT there is CreateBucket): a file at the
/// restored root's own path (a folder marker `/` of a snapshot's root) is not written.
pub(super) fn refuse_empty_keys(plan: &mut Plan) {
    let Plan { files, notes, .. } = plan;
    let before = files.len();
    files.retain(|f| !f.relative().is_empty());
    if files.len() < before {
        notes.push(format!(
            "{} entries at the restored root's own key (an empty key) are not written: S3 has no such object",
            before - files.len()
        ));
    }
}

/// Keys are UTF-8, file names need not be: names that differ only in bytes that are not
/// UTF-8 become the same key. None of such files is written (each would overwrite the
/// other); each is reported, which makes the restore partial.
pub(super) fn drop_colliding_keys(plan: &mut Plan) {
    let mut paths_of: HashMap<String, usize> = HashMap::new();
    for f in &plan.files {
        *paths_of.entry(S3Destination::key(f)).or_default() += 1;
    }
    let Plan { files, errors, .. } = plan;
    files.retain(|f| {
        let key = S3Destination::key(f);
        let n = paths_of[&key];
        if n > 1 {
            errors.push(format!(
                "not restored: '{}' and {} other file(s) with names that are not UTF-8 would all be the object '{key}'",
                f.relative().escape_ascii(),
                n - 1
            ));
        }
        n == 1
    });
}
