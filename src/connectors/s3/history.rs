//! What a bucket keeps beside its current objects: object versions and delete markers
//! (`ListObjectVersions`), ACLs, Object Lock state and additional checksums, read for a backup
//! and written back by a restore.

mod acl;
mod acl_policy;
mod bucket;
mod headers;
mod versions;

pub use acl_policy::{mapped_acl, AclPolicy};
pub use headers::{checksums, lock_headers, lock_state, CHECKSUMS};
pub use versions::ListedVersion;
