//! What the commands do, independent of how they were asked for.

pub mod backup;
pub mod backup_fs;
pub mod backup_s3;
pub mod browse;
pub mod check;
pub mod restore_fs;
pub mod restore_s3;
pub mod saver;
