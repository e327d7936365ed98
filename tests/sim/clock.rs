//! Simulated time: a fixed base instant plus tokio's (paused) elapsed time. Every clock in a
//! run derives from this one: the server's (`faults`) and each host's (`clock::Skewed`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use kloset::clock::{Clock, Skewed};

pub struct SimClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl SimClock {
    /// Must be called inside the paused runtime.
    pub fn start() -> Arc<SimClock> {
        Arc::new(SimClock {
            base: DateTime::from_timestamp(1_790_000_000, 0).expect("base time"),
            start: tokio::time::Instant::now(),
        })
    }

    /// Seconds since the run began (for the schedule log).
    pub fn secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.start.elapsed()).expect("elapsed")
    }
}

/// A host's clock: the simulated one, off by `skew_secs`.
pub fn host_clock(sim: &Arc<SimClock>, skew_secs: i64) -> Arc<dyn Clock> {
    Arc::new(Skewed {
        base: sim.clone(),
        offset: chrono::Duration::seconds(skew_secs),
    })
}
