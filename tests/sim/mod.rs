//! A deterministic, seeded simulation of the library (see tests/simulation.rs).

pub mod clock;
pub mod destination;
pub mod faults;
pub mod ops;
pub mod oracle;
pub mod run;
pub mod scheduler;
pub mod source;
pub mod world;
