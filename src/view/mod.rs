//! Browsing a store while it changes, for `mount` and `ui`: where snapshots appear
//! (`catalog`), a view that follows new snapshots (`live`), reads of any range of a stored
//! file through a bounded cache (`contents`), the names a directory shows and paths made of
//! them (`listing`), and what S3 keeps of an object as extended attributes (`xattrs`).

pub mod catalog;
pub mod contents;
pub mod listing;
pub mod live;
pub mod mount;
pub mod ui;
pub mod xattrs;
