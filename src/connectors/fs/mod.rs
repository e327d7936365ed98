//! The local filesystem as a source and a destination (as a store it is object_store's
//! `LocalFileSystem`, built in `connectors`).

pub mod destination;
pub mod meta;
mod put_back;
mod scan;
pub mod select;
pub mod source;
mod target_dirs;
mod temp_file;
