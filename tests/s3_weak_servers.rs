//! S3 servers weaker than Garage, played by a proxy of our own (tests/common/rewrite_proxy.rs)
//! that rewrites Garage's answers the way those servers answer: keys url-encoded without the
//! `EncodingType` echo, listings without ETags, multipart ETags in an opaque form. Requests
//! pass unchanged (they are signed). Buckets are filled and inspected with boto3
//! (tests/tools/s3tool.py), which goes to Garage directly.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::rewrite_proxy::{header, replace_header, Headers, RewriteProxy};
use common::servers::{garage, S3Server};
use common::{pseudo_random, unique, Env};
use serde_json::Value;

fn through(server: &S3Server, proxy: &RewriteProxy) -> S3Server {
    S3Server {
        host: proxy.host.clone(),
        ..server.clone()
    }
}

fn dump(server: &S3Server, bucket: &str, prefix: &str) -> Value {
    serde_json::from_str(&server.tool(&["dump", bucket, prefix])).unwrap()
}

fn is_listing(request_line: &str) -> bool {
    request_line.starts_with("GET ") && request_line.contains("list-type=2")
}

/// `body` with every `<tag>...</tag>` element passed through `f` (None: dropped), counting
/// the elements changed.
fn rewrite_elements(
    body: &[u8],
    tag: &str,
    count: &AtomicUsize,
    f: impl Fn(&str) -> Option<String>,
) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&open) {
        let Some(len) = rest[at..].find(&close) else {
            break;
        };
        out.push_str(&rest[..at]);
        let inner = &rest[at + open.len()..at + len];
        match f(inner) {
            Some(new) if new == inner => out.push_str(&rest[at..at + len + close.len()]),
            Some(new) => {
                count.fetch_add(1, Ordering::Relaxed);
                out.push_str(&format!("{open}{new}{close}"));
            }
            None => {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        rest = &rest[at + len + close.len()..];
    }
    out.push_str(rest);
    out.into_bytes()
}

/// Every object node's key in a snapshot, from `ls -R --json`.
fn recorded_keys(env: &Env, store: &str, id: &str) -> BTreeSet<String> {
    let all = env
        .run(&["--json", "at", store, "ls", "-R", id])
        .ok()
        .json();
    all.as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some(e["node"]["s3"]["key"].as_str()?.to_string()))
        .collect()
}

#[test]
fn keys_encoded_without_the_echo_are_decoded_in_backups_and_restores() {
    let server = garage();
    let stripped = Arc::new(AtomicUsize::new(0));
    let count = stripped.clone();
    // A server that url-encodes keys as asked but never says so.
    let proxy = RewriteProxy::start(&server.host, move |line, _, headers, body| {
        if !is_listing(line) {
            return (headers, body);
        }
        (
            headers,
            rewrite_elements(&body, "EncodingType", &count, |_| None),
        )
    });
    let env = Env::new();
    let bucket = unique("noecho");
    server.tool(&["fill", &bucket]);
    for key in ["pct name", "plus+sign and space", "a+b/c d+"] {
        server.tool(&["put", &bucket, key, key]);
    }
    let want: BTreeSet<String> = dump(server, &bucket, "")
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(want.contains("pct name") && want.contains("percent/100%25 sure%2Fnot-a-slash"));
    let weak = through(server, &proxy);
    let source = common::add_s3(&env, "source", "weak", &weak, &bucket, "");
    let echoed = common::add_s3(&env, "source", "echoed", server, &bucket, "");
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();

    let snap = env.backup(&store, &source);
    assert!(stripped.load(Ordering::Relaxed) > 0, "the echo was removed");
    let id = snap["id"].as_str().unwrap().to_string();
    assert_eq!(recorded_keys(&env, &store, &id), want, "without the echo");
    assert_eq!(snap["snapshot"]["summary"]["errors"], 0, "{snap}");
    let direct = env.backup(&store, &echoed);
    assert_eq!(
        recorded_keys(&env, &store, direct["id"].as_str().unwrap()),
        want,
        "with the echo"
    );

    // A restore lists the target too: its existing objects are found by their real keys.
    let target = unique("noecho-dst");
    let dest = common::add_s3(&env, "destination", "d", &weak, &target, "r");
    let first = env
        .run(&["--json", "at", &store, "restore", "-to", &dest, &id])
        .ok()
        .json();
    assert_eq!(first["objects"], want.len());
    assert_eq!(dump(server, &bucket, ""), dump(server, &target, "r/"));
    let again = env
        .run(&["--json", "at", &store, "restore", "-to", &dest, &id])
        .ok()
        .json();
    assert_eq!(again["objects"], 0, "{again}");
    assert_eq!(again["skipped_identical"], want.len());
}

/// GETs of objects (not listings) among the requests the proxy saw.
fn object_gets(proxy: &RewriteProxy) -> Vec<String> {
    proxy
        .requests()
        .into_iter()
        .filter(|l| l.starts_with("GET ") && !l.contains("list-type=") && !l.contains("?tagging"))
        .collect()
}

#[test]
fn without_etags_in_listings_unchanged_objects_are_not_read_again() {
    let server = garage();
    let stripped = Arc::new(AtomicUsize::new(0));
    let count = stripped.clone();
    let proxy = RewriteProxy::start(&server.host, move |line, _, headers, body| {
        if !is_listing(line) {
            return (headers, body);
        }
        (headers, rewrite_elements(&body, "ETag", &count, |_| None))
    });
    let env = Env::new();
    let bucket = unique("noetag");
    server.tool(&["many", &bucket, "d/", "12"]);
    server.tool(&["put", &bucket, "same-size.txt", "first version"]);
    server.tool(&["put", &bucket, "top.txt", "top"]);
    // Read in ranged parts, which without an ETag are pinned by the listed time.
    server.tool(&["big", &bucket, "big.bin", "20"]);
    let source = common::add_s3(&env, "source", "b", &through(server, &proxy), &bucket, "");
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();

    let first = env.backup(&store, &source);
    assert!(stripped.load(Ordering::Relaxed) >= 15, "ETags were removed");
    assert_eq!(first["snapshot"]["summary"]["files_read"], 15, "{first}");
    assert_eq!(first["snapshot"]["summary"]["errors"], 0, "{first}");
    proxy.reset();
    let second = env.backup(&store, &source);
    assert_eq!(second["snapshot"]["summary"]["files_read"], 0, "{second}");
    assert_eq!(second["snapshot"]["summary"]["files"], 15);
    assert_eq!(object_gets(&proxy), Vec::<String>::new());

    // Same size, new content: only Last-Modified tells (kept to the second by some servers).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    server.tool(&["put", &bucket, "same-size.txt", "later version"]);
    proxy.reset();
    let third = env.backup(&store, &source);
    assert_eq!(third["snapshot"]["summary"]["files_read"], 1, "{third}");
    let gets = object_gets(&proxy);
    assert!(
        gets.len() == 1 && gets[0].contains("/same-size.txt "),
        "{gets:?}"
    );
    let out = env.path("out");
    env.restore(&store, &out, third["id"].as_str().unwrap())
        .ok();
    assert_eq!(
        fs::read_to_string(out.join("same-size.txt")).unwrap(),
        "later version"
    );
    assert_eq!(
        fs::read_to_string(out.join("d/00003.txt")).unwrap(),
        "object 3\n".repeat(4)
    );
}

/// `"<32 hex>-<parts>"`, quoted or `&quot;`-quoted as in XML: the ETag S3 gives a multipart
/// object.
fn multipart_form(etag: &str) -> bool {
    let bare = etag
        .trim_matches('"')
        .trim_start_matches("&quot;")
        .trim_end_matches("&quot;");
    let bare = bare.trim_matches('"');
    match bare.split_once('-') {
        Some((md5, n)) => {
            md5.len() == 32
                && md5.bytes().all(|b| b.is_ascii_hexdigit())
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// The same opaque ETag for the same object every time it is named.
fn opaque(etag: &str) -> String {
    let bare = etag.replace("&quot;", "").replace('"', "");
    let h = blake3::hash(bare.as_bytes()).to_hex();
    let quote = if etag.starts_with("&quot;") {
        "&quot;"
    } else {
        "\""
    };
    format!("{quote}opaque-{}{quote}", &h[..24])
}

/// A server whose multipart ETags are opaque strings: in CompleteMultipartUpload answers,
/// HEAD and GET headers and listings.
fn opaque_multipart_etags(
    count: Arc<AtomicUsize>,
) -> impl Fn(&str, u16, Headers, Vec<u8>) -> (Headers, Vec<u8>) {
    move |_line, _status, mut headers, body| {
        if let Some(e) = header(&headers, "etag").filter(|e| multipart_form(e)) {
            let new = opaque(e);
            replace_header(&mut headers, "etag", &new);
            count.fetch_add(1, Ordering::Relaxed);
        }
        // Garage gives its XML answers no Content-Type.
        let body = match body.starts_with(b"<?xml") {
            true => rewrite_elements(&body, "ETag", &count, |e| {
                Some(if multipart_form(e) {
                    opaque(e)
                } else {
                    e.to_string()
                })
            }),
            false => body,
        };
        (headers, body)
    }
}

#[test]
fn an_opaque_multipart_etag_makes_no_conflict_and_hides_no_change() {
    let server = garage();
    let rewritten = Arc::new(AtomicUsize::new(0));
    let proxy = RewriteProxy::start(&server.host, opaque_multipart_etags(rewritten.clone()));
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let big = pseudo_random(11, 20 * 1024 * 1024);
    fs::write(src.join("big.bin"), &big).unwrap();
    fs::write(src.join("small.txt"), "small\n").unwrap();
    let store = env.path("store").to_str().unwrap().to_string();
    env.create(&store).ok();
    let id = env.backup(&store, src.to_str().unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let target = unique("opaque");
    let dest = common::add_s3(
        &env,
        "destination",
        "d",
        &through(server, &proxy),
        &target,
        "r",
    );
    let restore = |env: &Env| env.run(&["--json", "at", &store, "restore", "-to", &dest, &id]);

    let first = restore(&env).ok().json();
    assert_eq!(first["objects"], 2);
    assert!(
        proxy
            .requests()
            .iter()
            .any(|l| l.starts_with("POST ") && l.contains("?uploads")),
        "big.bin went up in parts"
    );
    assert!(
        rewritten.load(Ordering::Relaxed) > 0,
        "its ETag was made opaque"
    );
    let stored = dump(server, &target, "r/");
    assert_eq!(stored["big.bin"]["md5"], md5_hex(&big));

    proxy.reset();
    let second = restore(&env).ok().json();
    assert_eq!(second["objects"], 0, "{second}");
    assert_eq!(second["skipped_identical"], 2);
    assert!(
        proxy
            .requests()
            .iter()
            .any(|l| l.starts_with("GET ") && l.contains("/r/big.bin")),
        "the object whose ETag cannot tell was read back"
    );

    // The same size, other bytes, in parts of another size: a conflict, and nothing written.
    server.tool(&["big", &target, "r/big.bin", "20", "other", "8"]);
    let changed = dump(server, &target, "r/");
    assert_ne!(changed["big.bin"]["md5"], stored["big.bin"]["md5"]);
    let third = restore(&env).code(16);
    assert!(third.stderr.contains("big.bin"), "{}", third.stderr);
    assert_eq!(dump(server, &target, "r/"), changed, "nothing was written");
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(data))
}
