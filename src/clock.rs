//! "Now" as a host sees it. The binary uses the system clock; the simulation gives each
//! simulated host its own clock (with its own skew) through the `Backend` it opens. Ages that
//! decide what prune may delete are never taken from here: they are the server's
//! (`LastModified`), so a host whose clock is wrong cannot make prune delete early.

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A fixed offset from another clock (a simulated host whose clock is wrong).
pub struct Skewed {
    pub base: Arc<dyn Clock>,
    pub offset: chrono::Duration,
}

impl Clock for Skewed {
    fn now(&self) -> DateTime<Utc> {
        self.base.now() + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(DateTime<Utc>);
    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    #[test]
    fn skew_is_added_to_the_base() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let skewed = Skewed {
            base: Arc::new(Fixed(t)),
            offset: chrono::Duration::seconds(-90),
        };
        assert_eq!(skewed.now(), t - chrono::Duration::seconds(90));
    }
}
