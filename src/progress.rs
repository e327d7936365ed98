//! Progress on stderr with indicatif; silent when stderr is not a terminal or with --quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    verb: String,
}

impl Progress {
    /// `verb` is what is being done ("backup", "restore"); `total` bytes when known.
    pub fn new(quiet: bool, verb: &str, total: Option<u64>) -> Progress {
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        if quiet || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        }
        let progress = Progress {
            bar,
            verb: verb.to_string(),
        };
        progress.style(total.is_some());
        progress.bar.enable_steady_tick(Duration::from_millis(250));
        progress
    }

    fn style(&self, bounded: bool) {
        let verb = &self.verb;
        let template = if bounded {
            format!("{verb} {{bar:30}} {{percent}}% {{binary_bytes}}/{{binary_total_bytes}} {{binary_bytes_per_sec}} {{msg}} eta {{eta}}")
        } else {
            format!(
                "{verb} {{spinner}} {{binary_bytes}} {{binary_bytes_per_sec}} {{msg}} {{elapsed}}"
            )
        };
        self.bar
            .set_style(ProgressStyle::with_template(&template).expect("valid progress template"));
    }

    /// Whether anything is drawn: work done only for the bar can be skipped when not.
    pub fn is_visible(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// The total became known (a scan finished): the spinner becomes a bar with an ETA.
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total.max(self.bar.position()));
        self.style(true);
    }

    pub fn add_bytes(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn set_message(&self, msg: String) {
        self.bar.set_message(msg);
    }

    /// Prints a line above the bar (or plainly when hidden).
    pub fn warn(&self, line: &str) {
        let line = &crate::redact::userinfo(line);
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
