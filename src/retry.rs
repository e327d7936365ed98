//! The one retry loop: a request that failed in a way a retry can fix is sent again, with
//! exponential backoff and jitter, a bounded number of times.
//!
//! It is the only retry layer for network requests. object_store's own retries are turned off
//! (`max_retries: 0`, see `connectors::s3::config`): it retries a request only until its
//! response starts, never a body cut off half-way nor a listing page, and our own S3 client
//! sends through its bare HTTP client, so this layer has to exist anyway; with both on, their
//! attempts multiplied (up to 7 × 5 requests for one read of the store). Here, the attempts a
//! request gets are exactly the policy's.

use std::future::Future;
use std::time::Duration;

use crate::remote::{self, RemoteKind};

/// How often and how patiently to try.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// Tries in all, the first one included.
    pub attempts: u32,
    /// The wait before the first retry (before jitter).
    pub initial: Duration,
    /// Waits grow by this factor per retry...
    pub base: f64,
    /// ...up to this.
    pub max: Duration,
}

impl Policy {
    /// Requests over the network (S3 stores, sources and destinations): a dead endpoint fails
    /// within seconds (about 6 s of waiting in all), a flaky one is retried with backoff.
    pub const NETWORK: Policy = Policy {
        attempts: 7,
        initial: Duration::from_millis(100),
        base: 2.0,
        max: Duration::from_secs(5),
    };

    /// A local store's disk: few, short retries.
    pub const LOCAL: Policy = Policy {
        attempts: 5,
        initial: Duration::from_millis(200),
        base: 2.0,
        max: Duration::from_secs(5),
    };

    /// The wait after failed attempt `n` (1-based), before jitter: `initial * base^(n-1)`,
    /// at most `max`.
    pub fn delay(&self, n: u32) -> Duration {
        let factor = self.base.powi(n.saturating_sub(1).min(64) as i32);
        let secs = self.initial.as_secs_f64() * factor;
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// `d` with "equal jitter": somewhere in `[d/2, d]`, by `r` in `[0, 1)`, so that clients
/// which failed together do not come back together.
pub fn jittered(d: Duration, r: f64) -> Duration {
    let half = d / 2;
    half + half.mul_f64(r.clamp(0.0, 1.0))
}

/// An HTTP status a retry can fix: a server error (500, 502, 503 SlowDown, 504), too many
/// requests, a request timeout. A 501 (not implemented) is an answer, not a fault.
pub fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// A store request's failure a retry can fix: a cut connection, a refused or timed-out one, a
/// server error or a throttle; not an answer such as "not found", "access denied", "bad
/// request" or "precondition failed".
pub fn store_transient(e: &object_store::Error) -> bool {
    match e {
        object_store::Error::NotFound { .. }
        | object_store::Error::AlreadyExists { .. }
        | object_store::Error::Precondition { .. }
        | object_store::Error::NotModified { .. }
        | object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => false,
        _ => match http_status(&remote::chain_text(e)) {
            Some(status) => transient_status(status),
            None => matches!(
                RemoteKind::of_error(e),
                RemoteKind::Unreachable | RemoteKind::Other
            ),
        },
    }
}

/// For a create-only put, whose repetition after a lost answer would find its own object:
/// only a failure that left the request unapplied (refused connection, throttle, server
/// error), as object_store retried it.
pub fn store_unsent(e: &object_store::Error) -> bool {
    let text = remote::chain_text(e);
    match http_status(&text) {
        Some(status) => transient_status(status),
        None => ["connection refused", "dns error", "tcp connect error"]
            .iter()
            .any(|w| text.contains(w)),
    }
}

/// The status of an error answer, as object_store words it ("...status code: 503 ...").
pub fn http_status(chain_text: &str) -> Option<u16> {
    let (_, rest) = chain_text.split_once("status code: ")?;
    rest.get(..3)?.parse().ok()
}

/// Runs `op` until it succeeds, fails with an error `transient` calls final, or has had the
/// policy's attempts; returns the last outcome. Only for requests that may be repeated
/// (idempotent ones, or ones whose repetition the caller handles).
pub async fn run<T, E, F, Fut>(
    policy: &Policy,
    transient: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < policy.attempts && transient(&e) => {
                let wait = jittered(policy.delay(attempt), rand::random::<f64>());
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn the_backoff_doubles_up_to_the_cap() {
        let p = Policy::NETWORK;
        let ms: Vec<u128> = (1..=8).map(|n| p.delay(n).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(p.delay(1000), p.max);
        let local: Vec<u128> = (1..5).map(|n| Policy::LOCAL.delay(n).as_millis()).collect();
        assert_eq!(local, [200, 400, 800, 1600]);
    }

    #[test]
    fn jitter_stays_between_half_and_whole() {
        let d = Duration::from_millis(800);
        assert_eq!(jittered(d, 0.0), Duration::from_millis(400));
        assert_eq!(jittered(d, 0.5), Duration::from_millis(600));
        assert!(jittered(d, 0.999) <= d);
        assert_eq!(jittered(d, 7.0), d);
    }

    #[test]
    fn server_faults_are_transient_answers_are_not() {
        for s in [500, 502, 503, 504, 429, 408] {
            assert!(transient_status(s), "{s}");
        }
        for s in [200, 304, 400, 401, 403, 404, 409, 412, 416, 501] {
            assert!(!transient_status(s), "{s}");
        }
    }

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(std::io::Error::other(text.to_string())),
        }
    }

    #[test]
    fn store_errors_are_told_apart() {
        let path = "k".to_string();
        let source = || Box::new(std::io::Error::other("x")) as _;
        let answers = [
            object_store::Error::NotFound {
                path: path.clone(),
                source: source(),
            },
            object_store::Error::Precondition {
                path: path.clone(),
                source: source(),
            },
            object_store::Error::AlreadyExists {
                path: path.clone(),
                source: source(),
            },
            object_store::Error::PermissionDenied {
                path: path.clone(),
                source: source(),
            },
            generic("Server returned non-2xx status code: 400 Bad Request: <Code>InvalidRequest"),
            generic("Server returned non-2xx status code: 416 Range Not Satisfiable: "),
            generic("invalid peer certificate: UnknownIssuer"),
        ];
        for e in &answers {
            assert!(!store_transient(e), "{e}");
            assert!(!store_unsent(e), "{e}");
        }
        for text in [
            "Server returned non-2xx status code: 503 Service Unavailable: <Code>SlowDown",
            "Server returned non-2xx status code: 500 Internal Server Error: ",
            "Server returned error response: <Code>InternalError</Code>",
            "error sending request: connection refused",
            "error decoding response body: connection reset by peer",
            "operation timed out",
        ] {
            assert!(store_transient(&generic(text)), "{text}");
        }
        // A create-only put is not sent again after a cut answer: it may have been applied.
        assert!(store_unsent(&generic(
            "tcp connect error: connection refused"
        )));
        assert!(store_unsent(&generic(
            "status code: 503 Service Unavailable"
        )));
        assert!(!store_unsent(&generic(
            "error decoding response body: connection reset"
        )));
        assert_eq!(http_status("status code: 429 too many"), Some(429));
        assert_eq!(http_status("no status here"), None);
    }

    fn quick(attempts: u32) -> Policy {
        Policy {
            attempts,
            initial: Duration::from_millis(1),
            base: 2.0,
            max: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_up_to_the_attempts() {
        let calls = AtomicU32::new(0);
        let out: Result<(), &str> = run(
            &quick(4),
            |_| true,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("down")
            },
        )
        .await;
        assert_eq!(out, Err("down"));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_final_error_or_a_success_ends_at_once() {
        let calls = AtomicU32::new(0);
        let out: Result<(), &str> = run(
            &quick(4),
            |e| *e != "final",
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("final")
            },
        )
        .await;
        assert_eq!(out, Err("final"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let calls = AtomicU32::new(0);
        let out: Result<u32, &str> = run(
            &quick(4),
            |_| true,
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => Err("down"),
                    n => Ok(n),
                }
            },
        )
        .await;
        assert_eq!(out, Ok(2));
    }
}
