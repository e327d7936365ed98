//! The local filesystem as a source and a destination, and as a store: object_store's
//! `LocalFileSystem` for reads, `durable_store` for writes that survive a power cut.

pub mod destination;
pub mod durable_store;
mod file_writer;
pub mod meta;
mod put_back;
mod scan;
pub mod select;
pub mod source;
mod target_dirs;
mod temp_file;
