//! Crash tests: `KLOSET_KILL_AT=<name>` makes the process SIGKILL itself when it reaches the
//! point of that name, so tests can stop a write path at exactly the step they mean to.

/// Dies here, as from `kill -9`, when `KLOSET_KILL_AT` names this point.
pub fn here(name: &str) {
    if std::env::var("KLOSET_KILL_AT").is_ok_and(|v| v == name) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
}
