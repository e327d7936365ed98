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
}

impl Auth {
    pub fn new(token: String, port: u16) -> Auth {
        Auth {
            token,
            cookie: format!("kloset_token_{port}"),
        }
    }
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
        let cookie = format!("{}={given}; Path=/; HttpOnly; SameSite=Strict", auth.cookie);
        let mut redirect = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
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
