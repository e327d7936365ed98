//! An HTTP proxy of our own on 127.0.0.1 in front of a real S3 server. It records every request
//! line that passes (tests count what kloset asks of a store) and, when told to, injects faults
//! into a share of the requests: `503 SlowDown`, `500 InternalError`, a connection reset in the
//! middle of the response, or a delay; and, when told to, delays every request by a fixed
//! latency (a slow link, for tests that need an operation to take seconds); and, for chosen
//! object keys, answers every whole-object GET with one error status for good (`fail_key`: a
//! denied, frozen or unreachable object, as retries see it). Requests are parsed only as far as needed to find where
//! one ends (headers, then Content-Length bytes of body); clients do not pipeline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Proxy {
    /// `127.0.0.1:PORT`, to use in place of the server's host.
    pub host: String,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<String>>,
    /// Faults per thousand requests.
    fault_rate: AtomicU64,
    /// A small deterministic generator: the same run injects the same faults.
    rng: AtomicU64,
    faults: AtomicUsize,
    /// Added before every request is passed on, in milliseconds (0: none).
    latency_ms: AtomicU64,
    /// Request-line substrings answered with (status line, S3 code), every time.
    stuck: Mutex<Vec<(String, String, String)>>,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    SlowDown,
    Internal,
    ResetMidBody,
    Delay,
}

impl Shared {
    fn draw(&self) -> Option<Fault> {
        let rate = self.fault_rate.load(Ordering::Relaxed);
        if rate == 0 {
            return None;
        }
        // xorshift64*
        let mut x = self.rng.load(Ordering::Relaxed).max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
        if r % 1000 >= rate {
            return None;
        }
        self.faults.fetch_add(1, Ordering::Relaxed);
        Some(match (r / 1000) % 4 {
            0 => Fault::SlowDown,
            1 => Fault::Internal,
            2 => Fault::ResetMidBody,
            _ => Fault::Delay,
        })
    }
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let host = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared {
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            ..Default::default()
        });
        let (upstream, state) = (upstream.to_string(), shared.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, state) = (upstream.clone(), state.clone());
                std::thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(&upstream) {
                        relay(client, server, state);
                    }
                });
            }
        });
        Proxy { host, shared }
    }

    /// Request lines seen since the last `reset` (`GET /bucket/key?query HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn reset(&self) {
        self.shared.seen.lock().unwrap().clear();
    }

    /// Injects a fault into `per_thousand` of every thousand requests from now on.
    pub fn set_fault_rate(&self, per_thousand: u64) {
        self.shared
            .fault_rate
            .store(per_thousand, Ordering::Relaxed);
    }

    /// Delays every request by `latency` from now on, as a slow link would.
    pub fn set_latency(&self, latency: Duration) {
        self.shared
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// Answers every GET without a Range header whose line contains `key` with `status`
    /// (e.g. "403 Forbidden") and the S3 error `code`, from now on, until `clear_failed_keys`.
    pub fn fail_key(&self, key: &str, status: &str, code: &str) {
        self.shared
            .stuck
            .lock()
            .unwrap()
            .push((key.into(), status.into(), code.into()));
    }

    pub fn clear_failed_keys(&self) {
        self.shared.stuck.lock().unwrap().clear();
    }

    pub fn faults_injected(&self) -> usize {
        self.shared.faults.load(Ordering::Relaxed)
    }
}

fn relay(client: TcpStream, server: TcpStream, state: Arc<Shared>) {
    // Bytes of the current response still to pass before the connection is cut (0: never).
    let cut = Arc::new(AtomicUsize::new(0));
    let (mut from_server, to_client) = (server.try_clone().unwrap(), client.try_clone().unwrap());
    let cut_at = cut.clone();
    let mut to_client_copy = to_client.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from_server.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let limit = cut_at.load(Ordering::Relaxed);
            if limit > 0 && n >= limit {
                let _ = to_client_copy.write_all(&buf[..limit]);
                let _ = to_client_copy.shutdown(Shutdown::Both);
                let _ = from_server.shutdown(Shutdown::Both);
                return;
            }
            if limit > 0 {
                cut_at.store(limit - n, Ordering::Relaxed);
            }
            if to_client_copy.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to_client_copy.shutdown(Shutdown::Both);
    });
    let mut reader = BufReader::new(client);
    let mut to_server = server;
    let mut to_client = to_client;
    loop {
        let mut head = Vec::new();
        let mut content_length = 0usize;
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = to_server.shutdown(Shutdown::Both);
                    return;
                }
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
            if let Some(v) = text.strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            }
            let end = line == b"\r\n";
            head.extend_from_slice(&line);
            if end {
                break;
            }
        }
        let first = String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        state.seen.lock().unwrap().push(first.clone());
        let mut body = Vec::with_capacity(content_length);
        if (&mut reader)
            .take(content_length as u64)
            .read_to_end(&mut body)
            .is_err()
        {
            return;
        }
        let latency = state.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            std::thread::sleep(Duration::from_millis(latency));
        }
        let whole_get = first.starts_with("GET ")
            && !String::from_utf8_lossy(&head)
                .to_ascii_lowercase()
                .contains("\r\nrange:");
        let stuck = state
            .stuck
            .lock()
            .unwrap()
            .iter()
            .find(|(key, _, _)| whole_get && first.contains(key.as_str()))
            .map(|(_, status, code)| (status.clone(), code.clone()));
        if let Some((status, code)) = stuck {
            let xml = format!("<Error><Code>{code}</Code><Message>injected</Message></Error>");
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{xml}",
                xml.len()
            );
            if to_client.write_all(resp.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        match state.draw() {
            Some(fault @ (Fault::SlowDown | Fault::Internal)) => {
                let (status, code) = match fault {
                    Fault::SlowDown => ("503 Service Unavailable", "SlowDown"),
                    _ => ("500 Internal Server Error", "InternalError"),
                };
                let xml = format!("<Error><Code>{code}</Code><Message>injected</Message></Error>");
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{xml}",
                    xml.len()
                );
                if to_client.write_all(resp.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            Some(Fault::ResetMidBody) => cut.store(600, Ordering::Relaxed),
            Some(Fault::Delay) => std::thread::sleep(Duration::from_millis(300)),
            None => {}
        }
        if to_server.write_all(&head).is_err() || to_server.write_all(&body).is_err() {
            return;
        }
    }
}
