//! The access token: random, compared in constant time, carried once in the URL and then in
//! an HttpOnly, SameSite=Strict cookie so that no other site's page can use it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

/// The token, and the cookie that carries it: named for the port, since cookies are shared
/// by every port of a host, so that two UIs, or another local service, do not meet it.
pub struct Auth {
    pub token: String,
    pub cookie: String,
    /// The Host headers a request may carry when the UI listens on loopback only: a page of
    /// another site whose name it made resolve to 127.0.0.1 (DNS rebinding) carries its own.
    hosts: Option<Vec<String>>,
}

impl Auth {
    pub fn new(token: String, addr: std::net::SocketAddr) -> Auth {
        let port = addr.port();
        let hosts = addr.ip().is_loopback().then(|| {
            let mut hosts = vec![
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
                addr.to_string(),
            ];
            // Browsers leave the default port out of Host.
            if port == 80 {
                hosts.extend(["127.0.0.1", "localhost", "[::1]"].map(String::from));
            }
            hosts
        });
        Auth {
            token,
            cookie: format!("kloset_token_{port}"),
            hosts,
        }
    }

    fn host_allowed(&self, req: &Request) -> bool {
        let Some(hosts) = &self.hosts else {
            return true;
        };
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        host.is_some_and(|h| hosts.iter().any(|ok| ok.eq_ignore_ascii_case(h)))
    }
}

/// A request another site's page made (a link, a form, an image): browsers say so in
/// `Sec-Fetch-Site`. Typed URLs and the UI's own requests say `none` or `same-origin`.
/// Opening the URL kloset printed from a local file or another program's page is a top-level
/// navigation to `/?token=`: that one is let in, since the token is what it proves.
fn from_another_site(req: &Request) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let opening_the_url = req.method() == axum::http::Method::GET
        && req.uri().path() == "/"
        && header("sec-fetch-mode") == Some("navigate")
        && header("sec-fetch-dest") == Some("document");
    header("sec-fetch-site").is_some_and(|v| v != "same-origin" && v != "none")
        && !(opening_the_url && req.uri().query().is_some_and(|q| q.contains("token=")))
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Equal strings, in a time that depends only on their lengths.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The token a request carries: in its query string, else in its cookie.
fn carried(req: &Request, cookie: &str) -> (Option<String>, bool) {
    let in_query = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .map(str::to_string)
    });
    if in_query.is_some() {
        return (in_query, true);
    }
    let in_cookie = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(cookie)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        });
    (in_cookie, false)
}

pub async fn require_token(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    if !auth.host_allowed(&req) {
        return refused(
            StatusCode::MISDIRECTED_REQUEST,
            "kloset ui: this address is not the UI's: open the URL kloset printed when it started",
        );
    }
    if from_another_site(&req) {
        return refused(
            StatusCode::FORBIDDEN,
            "kloset ui: a request from another site's page: open the URL kloset printed",
        );
    }
    let (given, from_query) = carried(&req, &auth.cookie);
    let Some(given) = given else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "kloset ui: no access token: open the URL kloset printed when it started",
        );
    };
    if !same(&given, &auth.token) {
        return refused(
            StatusCode::FORBIDDEN,
            "kloset ui: wrong access token: open the URL kloset printed when it started",
        );
    }
    if from_query {
        // The token leaves the address bar (and the history) at once: the cookie carries it.
        // A page of our own moves on, not a redirect: a redirect keeps the first request's
        // "cross-site" (a URL opened from a file), and the strict cookie would not be sent.
        let cookie = format!("{}={given}; Path=/; HttpOnly; SameSite=Strict", auth.cookie);
        let moving_on = "<!doctype html><meta http-equiv=\"refresh\" content=\"0;url=/\"><a href=\"/\">kloset ui</a>\n";
        let mut redirect = (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            moving_on,
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            redirect.headers_mut().insert(header::SET_COOKIE, v);
        }
        return redirect;
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refused(status: StatusCode, why: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        why,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
        assert_ne!(new_token(), new_token());
        assert_eq!(new_token().len(), 48);
    }

    fn request(host: &str, site: Option<&str>) -> Request {
        let mut b = Request::builder().uri("/").header(header::HOST, host);
        if let Some(site) = site {
            b = b.header("sec-fetch-site", site);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn on_loopback_only_the_uis_own_host_names_are_let_in() {
        let auth = Auth::new("t".into(), "127.0.0.1:8080".parse().unwrap());
        assert!(auth.host_allowed(&request("127.0.0.1:8080", None)));
        assert!(auth.host_allowed(&request("LOCALHOST:8080", None)));
        assert!(!auth.host_allowed(&request("evil.example:8080", None)));
        assert!(!auth.host_allowed(&request("127.0.0.1:9", None)));
        let open = Auth::new("t".into(), "0.0.0.0:8080".parse().unwrap());
        assert!(open.host_allowed(&request("backup-host:8080", None)));
        assert!(from_another_site(&request("h", Some("cross-site"))));
        assert!(from_another_site(&request("h", Some("same-site"))));
        assert!(!from_another_site(&request("h", Some("same-origin"))));
        assert!(!from_another_site(&request("h", Some("none"))));
        assert!(!from_another_site(&request("h", None)));
        // The printed URL opened from a local file (`--open`) is let in; nothing else is.
        let opening = |uri: &str, dest: &str| {
            Request::builder()
                .uri(uri)
                .header("sec-fetch-site", "cross-site")
                .header("sec-fetch-mode", "navigate")
                .header("sec-fetch-dest", dest)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert!(!from_another_site(&opening("/?token=abc", "document")));
        assert!(from_another_site(&opening("/?token=abc", "iframe")));
        assert!(from_another_site(&opening(
            "/api/zip?token=abc",
            "document"
        )));
        assert!(from_another_site(&opening("/", "document")));
        let port80 = Auth::new("t".into(), "127.0.0.1:80".parse().unwrap());
        assert!(port80.host_allowed(&request("localhost", None)));
    }

    #[test]
    fn the_query_wins_over_the_cookie() {
        let req = Request::builder()
            .uri("/x?a=1&token=t1")
            .header(header::COOKIE, "other=1; kloset_token_80=t2")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(carried(&req, "kloset_token_80"), (Some("t1".into()), true));
        let req = Request::builder()
            .uri("/x")
            .header(header::COOKIE, "kloset_token_8=t3; kloset_token_80=t2")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(carried(&req, "kloset_token_80"), (Some("t2".into()), false));
    }
}
