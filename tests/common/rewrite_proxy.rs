//! An HTTP/1.1 proxy of our own on 127.0.0.1 that answers the way weaker S3 servers do: every
//! request goes to the real server unchanged (requests are SigV4-signed: one altered byte and
//! the server refuses it), and every answer is handed whole to a rule the test gives, which
//! may rewrite its headers and body. The answer is sent re-framed by Content-Length (a chunked
//! body is de-chunked), so a rule need not care how the server framed it. Connections are kept
//! alive, one request at a time (clients do not pipeline); every request line is recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub type Headers = Vec<(String, String)>;

/// (request line, status, headers, body) -> (headers, body).
pub type Rule = dyn Fn(&str, u16, Headers, Vec<u8>) -> (Headers, Vec<u8>) + Send + Sync;

pub struct RewriteProxy {
    /// `127.0.0.1:PORT`, to use in place of the server's host.
    pub host: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RewriteProxy {
    pub fn start(
        upstream: &str,
        rule: impl Fn(&str, u16, Headers, Vec<u8>) -> (Headers, Vec<u8>) + Send + Sync + 'static,
    ) -> RewriteProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let host = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rule: Arc<Rule> = Arc::new(rule);
        let (upstream, log) = (upstream.to_string(), seen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, log, rule) = (upstream.clone(), log.clone(), rule.clone());
                std::thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(&upstream) {
                        let _ = relay(client, server, &log, &*rule);
                    }
                });
            }
        });
        RewriteProxy { host, seen }
    }

    /// Request lines seen since the last `reset` (`GET /bucket/key?query HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    pub fn reset(&self) {
        self.seen.lock().unwrap().clear();
    }
}

/// The value of header `name` (any case).
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Sets header `name` (any case) to `value`, where it is present.
pub fn replace_header(headers: &mut Headers, name: &str, value: &str) {
    for (n, v) in headers.iter_mut() {
        if n.eq_ignore_ascii_case(name) {
            *v = value.to_string();
        }
    }
}

/// A message's start line, its headers, and the raw head as received.
fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<(String, Headers, Vec<u8>)>> {
    let mut raw = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        raw.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        lines.push(String::from_utf8_lossy(&line).trim_end().to_string());
    }
    let start = lines.first().cloned().unwrap_or_default();
    let headers = lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Some((start, headers, raw)))
}

fn chunked(headers: &Headers) -> bool {
    header(headers, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
}

fn content_length(headers: &Headers) -> Option<usize> {
    header(headers, "content-length").and_then(|v| v.parse().ok())
}

/// A chunked body: (the bytes as received, the content).
fn read_chunked(r: &mut impl BufRead) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let (mut raw, mut content) = (Vec::new(), Vec::new());
    loop {
        let mut line = Vec::new();
        r.read_until(b'\n', &mut line)?;
        raw.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let size = usize::from_str_radix(text.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size line {text:?}")))?;
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                let mut t = Vec::new();
                if r.read_until(b'\n', &mut t)? == 0 || t == b"\r\n" || t == b"\n" {
                    raw.extend_from_slice(&t);
                    return Ok((raw, content));
                }
                raw.extend_from_slice(&t);
            }
        }
        let mut chunk = vec![0u8; size + 2];
        r.read_exact(&mut chunk)?;
        raw.extend_from_slice(&chunk);
        content.extend_from_slice(&chunk[..size]);
    }
}

fn relay(
    client: TcpStream,
    server: TcpStream,
    seen: &Mutex<Vec<String>>,
    rule: &Rule,
) -> std::io::Result<()> {
    let mut to_client = client.try_clone()?;
    let mut from_client = BufReader::new(client);
    let mut to_server = server.try_clone()?;
    let mut from_server = BufReader::with_capacity(1 << 16, server);
    loop {
        let Some((request_line, req_headers, raw_head)) = read_head(&mut from_client)? else {
            return Ok(());
        };
        seen.lock().unwrap().push(request_line.clone());
        to_server.write_all(&raw_head)?;
        if chunked(&req_headers) {
            to_server.write_all(&read_chunked(&mut from_client)?.0)?;
        } else if let Some(n) = content_length(&req_headers) {
            let mut body = vec![0u8; n];
            from_client.read_exact(&mut body)?;
            to_server.write_all(&body)?;
        }
        to_server.flush()?;

        let Some((status_line, headers, _)) = read_head(&mut from_server)? else {
            return Ok(());
        };
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let head_request = request_line.starts_with("HEAD ");
        let no_body = head_request || status == 204 || status == 304 || status < 200;
        let mut close =
            header(&headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = if no_body {
            Vec::new()
        } else if chunked(&headers) {
            read_chunked(&mut from_server)?.1
        } else if let Some(n) = content_length(&headers) {
            let mut body = vec![0u8; n];
            from_server.read_exact(&mut body)?;
            body
        } else {
            close = true;
            let mut body = Vec::new();
            from_server.read_to_end(&mut body)?;
            body
        };
        let (mut headers, body) = rule(&request_line, status, headers, body);
        // A HEAD answer's Content-Length is the object's, not of a body: it stays as it is.
        if !head_request && !no_body {
            headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case("content-length")
                    && !n.eq_ignore_ascii_case("transfer-encoding")
            });
            headers.push(("Content-Length".into(), body.len().to_string()));
        }
        let mut out = format!("{status_line}\r\n");
        for (n, v) in &headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        to_client.write_all(out.as_bytes())?;
        to_client.write_all(&body)?;
        to_client.flush()?;
        if close {
            return Ok(());
        }
    }
}
