//! Headless Chromium (Debian's `chromium`) driven over its DevTools protocol: one page,
//! scripts evaluated in it, screenshots, downloads into a directory.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: String,
    pub events: Vec<Value>,
}

impl Browser {
    pub fn start(profile: &Path, downloads: &Path) -> Browser {
        let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("the UI test needs Debian's chromium (scripts/test installs it)");
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut url = None;
        for line in stderr.lines() {
            let line = line.unwrap();
            if let Some(at) = line.find("ws://") {
                url = Some(line[at..].trim().to_string());
                break;
            }
        }
        let url = url.expect("chromium printed no DevTools address");
        let (ws, _) = tungstenite::connect(&url).expect("connect to DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let mut browser = Browser {
            child,
            ws,
            next: 0,
            session: String::new(),
            events: Vec::new(),
        };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.call(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": downloads, "eventsEnabled": true }),
        );
        browser.page("Page.enable", json!({}));
        browser
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let got: Value = match self.ws.read().expect("DevTools answer") {
                Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
                _ => continue,
            };
            if got["id"] == json!(id) {
                assert!(got.get("error").is_none(), "{method}: {}", got["error"]);
                return got["result"].clone();
            }
            self.events.push(got);
        }
    }

    /// A browser-wide command.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A command to the page.
    pub fn page(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(method, params, Some(s))
    }

    pub fn navigate(&mut self, url: &str) {
        self.page("Page.navigate", json!({ "url": url }));
        self.wait_until("document loaded", "document.readyState === 'complete'");
    }

    /// A script's value in the page (promises awaited).
    pub fn eval(&mut self, script: &str) -> Value {
        let r = self.page(
            "Runtime.evaluate",
            json!({ "expression": script, "awaitPromise": true, "returnByValue": true }),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{script}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Goes to a page of the app (`#/...`) and waits until it shows `condition`.
    pub fn visit(&mut self, hash: &str, what: &str, condition: &str) {
        self.eval(&format!("location.hash = '{hash}'"));
        self.wait_until(what, condition);
    }

    pub fn wait_until(&mut self, what: &str, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.eval(&format!("!!({condition})")) != json!(true) {
            assert!(Instant::now() < deadline, "{what}: not after 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn screenshot(&mut self, to: &Path) {
        let shot = self.page("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, png).unwrap();
    }

    /// Waits for a download to finish; its file name in the download directory.
    pub fn downloaded(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut name = None;
        loop {
            for e in self.events.drain(..) {
                match e["method"].as_str() {
                    Some("Browser.downloadWillBegin") => {
                        name = e["params"]["suggestedFilename"].as_str().map(String::from)
                    }
                    Some("Browser.downloadProgress")
                        if e["params"]["state"] == json!("completed") =>
                    {
                        return name.expect("a download completed that never began");
                    }
                    Some("Browser.downloadProgress")
                        if e["params"]["state"] == json!("canceled") =>
                    {
                        panic!("download canceled")
                    }
                    _ => {}
                }
            }
            assert!(Instant::now() < deadline, "no download finished after 60 s");
            // Any command lets the events that came meanwhile be read.
            self.eval("1");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
