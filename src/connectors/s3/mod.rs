//! S3 as a source, a destination and a store, through one connection config.

pub mod client;
pub mod cold;
pub mod config;
pub mod destination;
pub mod history;
pub mod lock;
mod multipart;
pub mod source;
pub mod sse;
mod xml;
