use super::*;
use futures::TryStreamExt;

fn store(dir: &tempfile::TempDir, sync: SyncFn) -> DurableStore {
    let inner = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    DurableStore::with_sync(inner, sync)
}

fn create_only() -> PutOptions {
    PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    }
}

async fn read(s: &DurableStore, key: &str) -> Bytes {
    s.get(&Path::from(key))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
}

/// Every file under the store's directory, by path relative to it.
fn files(dir: &tempfile::TempDir) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir.path()).unwrap().to_owned();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn puts_land_whole_in_new_directories_and_leave_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, File::sync_all);
    let put = s
        .put(
            &Path::from("packs/ab/abcd"),
            Bytes::from("pack bytes").into(),
        )
        .await
        .unwrap();
    assert!(put.e_tag.is_some());
    assert_eq!(read(&s, "packs/ab/abcd").await, "pack bytes");
    s.put(&Path::from("packs/ab/abcd"), Bytes::from("again").into())
        .await
        .unwrap();
    assert_eq!(
        read(&s, "packs/ab/abcd").await,
        "again",
        "a plain put replaces"
    );
    assert_eq!(files(&dir), ["packs/ab/abcd"]);
    let listed: Vec<ObjectMeta> = s.list(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].e_tag,
        s.head(&Path::from("packs/ab/abcd")).await.unwrap().e_tag
    );
}

#[tokio::test]
async fn a_create_only_put_never_replaces_and_says_already_exists() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, File::sync_all);
    let key = Path::from("leases/0123");
    s.put_opts(&key, Bytes::from("first").into(), create_only())
        .await
        .unwrap();
    let again = s
        .put_opts(&key, Bytes::from("second").into(), create_only())
        .await;
    assert!(
        matches!(again, Err(object_store::Error::AlreadyExists { .. })),
        "{again:?}"
    );
    assert_eq!(read(&s, "leases/0123").await, "first");
    assert_eq!(
        files(&dir),
        ["leases/0123"],
        "the refused write left nothing"
    );
}

#[tokio::test]
async fn a_failing_sync_is_an_error_and_leaves_no_object() {
    fn no_space(_: &File) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::ENOSPC))
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("snapshots")).unwrap();
    let s = store(&dir, no_space);
    let e = s
        .put(&Path::from("snapshots/ff"), Bytes::from("x").into())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("cannot sync") && text.contains("No space left"),
        "{text}"
    );
    assert!(files(&dir).is_empty(), "{:?}", files(&dir));
    let e = s
        .put_opts(
            &Path::from("config"),
            Bytes::from("x").into(),
            create_only(),
        )
        .await
        .unwrap_err();
    assert!(!matches!(e, object_store::Error::AlreadyExists { .. }));
    assert!(files(&dir).is_empty());
}

#[tokio::test]
async fn a_failing_directory_sync_after_the_rename_is_still_an_error() {
    fn dirs_fail(f: &File) -> io::Result<()> {
        match f.metadata()?.is_dir() {
            true => Err(io::Error::from_raw_os_error(libc::EIO)),
            false => f.sync_all(),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("index")).unwrap();
    let e = store(&dir, dirs_fail)
        .put(&Path::from("index/aa"), Bytes::from("x").into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot sync directory"), "{e}");
}

#[tokio::test]
async fn multipart_uploads_are_written_whole_on_completion() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, File::sync_all);
    let mut up = s.put_multipart(&Path::from("big/obj")).await.unwrap();
    up.put_part(Bytes::from("one ").into()).await.unwrap();
    up.put_part(Bytes::from("two").into()).await.unwrap();
    assert!(files(&dir).is_empty(), "nothing before completion");
    up.complete().await.unwrap();
    assert_eq!(read(&s, "big/obj").await, "one two");
}

#[tokio::test]
async fn attributes_and_conditional_updates_are_refused_like_local_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, File::sync_all);
    let opts = PutOptions {
        mode: PutMode::Update(object_store::UpdateVersion {
            e_tag: None,
            version: None,
        }),
        ..Default::default()
    };
    let r = s
        .put_opts(&Path::from("x"), Bytes::new().into(), opts)
        .await;
    assert!(matches!(r, Err(object_store::Error::NotImplemented)));
}
