//! The local filesystem as a source and a destination (as a store it is object_store's
//! `LocalFileSystem`, built in `connectors`).

pub mod destination;
pub mod meta;
mod scan;
pub mod select;
pub mod source;
