//! `kloset at STORE ui` in a real browser: headless Chromium loads the page with the token
//! kloset printed, lists snapshots, opens directories (one of a thousand entries), previews a
//! file, downloads a file and a directory, searches, diffs; requests without the token, or
//! with a wrong one, are refused. Screenshots of each page are saved under
//! target/ui-screenshots/ for a person to look at.

#[path = "common/cdp.rs"]
mod cdp;
mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use cdp::Browser;
use common::{make_fixture, Env};

/// The status line's code of a bare GET, cookie optional.
fn status_of(addr: &str, path: &str, cookie: Option<&str>) -> String {
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    status_with(addr, path, &format!("Host: {addr}\r\n{cookie}"))
}

/// The status line's code of a GET with these header lines.
fn status_with(addr: &str, path: &str, headers: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).unwrap_or("").to_string()
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("ui-screenshots")
}

struct Ui(std::process::Child);

impl Drop for Ui {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let _ = self.0.wait();
    }
}

#[test]
fn the_ui_in_a_real_browser() {
    let env = Env::new();
    let store = env.local_store();
    let src = env.path("src");
    make_fixture(&src);
    let first = env.backup(&store, src.to_str().unwrap());
    fs::create_dir_all(src.join("many")).unwrap();
    for i in 0..1000 {
        fs::write(src.join(format!("many/entry-{i:04}.txt")), format!("{i}\n")).unwrap();
    }
    let second = env.backup(&store, src.to_str().unwrap());
    let (a, b) = (
        first["id"].as_str().unwrap()[..8].to_string(),
        second["id"].as_str().unwrap()[..8].to_string(),
    );

    let mut child = env.spawn(&["at", &store, "ui", "--listen", "127.0.0.1:0"]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let ui = Ui(child);
    let mut url = String::new();
    out.read_line(&mut url).unwrap();
    let url = url.trim().to_string();
    let rest = url.strip_prefix("http://").expect("first line is the URL");
    let (addr, query) = rest.split_once("/?token=").unwrap();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "loopback unless told: {addr}"
    );
    assert_eq!(query.len(), 48, "a long random token");

    // Without the token: 401; with a wrong one: 403, for pages and data alike.
    assert_eq!(status_of(addr, "/", None), "401");
    assert_eq!(status_of(addr, "/api/snapshots", None), "401");
    assert_eq!(
        status_of(addr, "/api/file?snapshot=latest&path=/zero", None),
        "401"
    );
    let port = addr.rsplit(':').next().unwrap();
    let cookie = |t: &str| format!("kloset_token_{port}={t}");
    assert_eq!(
        status_of(addr, "/api/snapshots", Some(&cookie("0000"))),
        "403"
    );
    // Another port's cookie is not this one's.
    assert_eq!(
        status_of(
            addr,
            "/api/snapshots",
            Some(&format!("kloset_token_1={query}"))
        ),
        "401"
    );
    assert_eq!(status_of(addr, "/?token=wrong", None), "403");
    assert_eq!(
        status_of(addr, "/api/snapshots", Some(&cookie(query))),
        "200"
    );
    // With the token, but under another site's name (DNS rebinding), or from another
    // site's page: refused.
    let with = |extra: &str| format!("Cookie: {}\r\n{extra}", cookie(query));
    assert_eq!(
        status_with(
            addr,
            "/api/snapshots",
            &with(&format!("Host: evil.example:{port}\r\n"))
        ),
        "421"
    );
    assert_eq!(
        status_with(
            addr,
            "/api/snapshots",
            &with(&format!("Host: {addr}\r\nSec-Fetch-Site: cross-site\r\n"))
        ),
        "403"
    );

    let shots = screenshots();
    let downloads = env.path("downloads");
    fs::create_dir_all(&downloads).unwrap();
    let mut browser = Browser::start(&env.path("chromium-profile"), &downloads);
    browser.navigate(&url);
    // The token left the address bar for a cookie (the page that takes it moves on at once).
    browser.wait_until(
        "the token leaving the address bar",
        "location.search === '' && location.pathname === '/'",
    );
    browser.wait_until(
        "the snapshot list",
        "document.querySelectorAll('#snapshots tr[data-id]').length === 2",
    );
    let listed = browser
        .eval("[...document.querySelectorAll('#snapshots tr[data-id] a')].map(a => a.textContent)");
    assert_eq!(listed, serde_json::json!([b, a]), "newest first");
    browser.screenshot(&shots.join("01-snapshots.png"));

    // A snapshot's root, then a directory of a thousand entries.
    browser.eval("document.querySelector('#snapshots tr[data-id] a').click()");
    browser.wait_until(
        "the root",
        "document.querySelector('#entries tr[data-name=\"docs\"]')",
    );
    browser.screenshot(&shots.join("02-root.png"));
    browser.eval("document.querySelector('#entries tr[data-name=\"many\"] a').click()");
    browser.wait_until(
        "a thousand entries",
        "document.querySelectorAll('#entries tr[data-name]').length === 1000",
    );
    browser.screenshot(&shots.join("03-thousand-entries.png"));

    // An entry's page, with a preview of its text.
    browser.visit(
        "#/browse/latest/%2Fdocs",
        "docs",
        "document.querySelector('#entries tr[data-name=\"readme.txt\"]')",
    );
    browser.eval("document.querySelector('#entries tr[data-name=\"readme.txt\"] a').click()");
    browser.wait_until("the preview", "document.getElementById('preview')");
    assert_eq!(
        browser.eval("document.getElementById('preview').textContent"),
        "hello kloset\n"
    );
    browser.screenshot(&shots.join("04-entry-preview.png"));

    // A download through the browser, compared byte for byte.
    browser.visit(
        "#/browse/latest/%2F",
        "the root again",
        "document.querySelector('#entries tr[data-name=\"big.bin\"] a.download')",
    );
    browser.eval("document.querySelector('#entries tr[data-name=\"big.bin\"] a.download').click()");
    let name = browser.downloaded();
    assert_eq!(name, "big.bin");
    assert!(
        fs::read(downloads.join(&name)).unwrap() == fs::read(src.join("big.bin")).unwrap(),
        "the downloaded file differs from the source"
    );
    // A directory as a zip.
    browser.visit(
        "#/browse/latest/%2Fdocs%2Fnested",
        "nested",
        "document.querySelector('#entries tr[data-name=\"text.log\"]')",
    );
    browser.eval("document.getElementById('zip').click()");
    let zip = browser.downloaded();
    assert_eq!(zip, "nested.zip");
    let bytes = fs::read(downloads.join(&zip)).unwrap();
    assert_eq!(&bytes[..2], b"PK");

    // Search and diff.
    browser.visit(
        "#/find/readme.txt",
        "hits",
        "document.querySelectorAll('#hits tr').length === 3",
    );
    browser.screenshot(&shots.join("05-find.png"));
    browser.visit(
        &format!("#/diff/{a}/{b}"),
        "changes",
        "document.querySelectorAll('#changes tr').length > 1000",
    );
    browser.screenshot(&shots.join("06-diff.png"));
    browser.visit(
        "#/state",
        "the store's state",
        "document.querySelectorAll('main table tr').length > 5",
    );
    browser.screenshot(&shots.join("07-store.png"));
    drop(browser);
    drop(ui);
}
