//! Cancellation passed in, not read from statics: `main` owns the Ctrl-C handler and hands a
//! token to the operation. A backup asks for a clean stop (it checks the token between entries
//! and writes no snapshot); anything else stops the process at once, which is safe because the
//! snapshot is the only commit point.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<State>,
}

#[derive(Default)]
struct State {
    requested: AtomicBool,
    graceful: AtomicBool,
}

impl Cancel {
    /// Operations that can stop cleanly say so; Ctrl-C then waits for them once.
    pub fn stop_gracefully(&self) {
        self.inner.graceful.store(true, Ordering::SeqCst);
    }

    /// Called by the signal handler: true when the operation will stop by itself.
    pub fn request(&self) -> bool {
        let first = !self.inner.requested.swap(true, Ordering::SeqCst);
        first && self.inner.graceful.load(Ordering::SeqCst)
    }

    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::Relaxed)
    }
}
