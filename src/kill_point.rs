//! Crash tests: `KLOSET_KILL_AT=<name>` makes the process SIGKILL itself when it reaches the
//! point of that name, so tests can stop a write path at exactly the step they mean to. The
//! simulation installs a hook instead: a kill there ends the simulated operation by unwinding
//! with `Killed`, which its task reports as a crash.

use std::sync::{Arc, RwLock};

type Hook = Arc<dyn Fn(&str) -> bool + Send + Sync>;

static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// The payload of the unwinding that a simulated kill starts.
#[derive(Debug)]
pub struct Killed(pub String);

/// Replaces the environment variable with `hook` (the simulation): when it returns true for a
/// point, the operation dies there.
pub fn install_hook(hook: Option<Hook>) {
    *HOOK.write().expect("kill hook") = hook;
}

/// Dies here, as from `kill -9`, when `KLOSET_KILL_AT` (or the installed hook) names this point.
pub fn here(name: &str) {
    let hook = HOOK.read().expect("kill hook").clone();
    if let Some(hook) = hook {
        if hook(name) {
            std::panic::panic_any(Killed(name.to_string()));
        }
        return;
    }
    if std::env::var("KLOSET_KILL_AT").is_ok_and(|v| v == name) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
}
