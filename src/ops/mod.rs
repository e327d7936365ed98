//! What the commands do, independent of how they were asked for.

pub mod backup;
pub mod browse;
pub mod check;
pub mod diff;
pub mod dump;
pub mod find;
pub mod forget;
pub mod limits;
pub mod prune;
pub mod reach;
pub mod repair;
pub mod retention;
pub mod rewrite;
pub mod run;
pub mod stats;
pub mod sync;
