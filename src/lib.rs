//! kloset: encrypted, deduplicated backups of directories and S3 buckets.
//!
//! The binary (`main.rs`) only parses, runs and maps errors to exit codes; everything else is
//! here. Layers, each importing only the ones below it:
//! - `cli`: the clap tree and what each command prints;
//! - `ops`: what the commands do (backup, restore, check, browse);
//! - `archive` (one archiver over the `Source` trait) and `restore` (one planner over the
//!   `Destination` trait);
//! - `connectors`: filesystem and S3 implementations of sources, destinations and stores;
//! - `repo`: the store format, reached only through `Repo`.

pub mod archive;
pub mod cancel;
pub mod cli;
pub mod clock;
pub mod connectors;
pub mod error;
pub mod filter;
pub mod kill_point;
pub mod location;
pub mod ops;
pub mod passphrase;
pub mod progress;
pub mod redact;
pub mod registry;
pub mod remote;
pub mod repo;
pub mod restore;
pub mod retry;
pub mod view;

pub use error::KlosetError;

/// The exit code and one-line message for an error that reached the top.
pub fn exit_code_and_message(err: &anyhow::Error) -> (i32, String) {
    let code = err.chain().find_map(|e| {
        e.downcast_ref::<KlosetError>()
            .map(KlosetError::exit_code)
            .or_else(|| {
                e.downcast_ref::<remote::RemoteError>()
                    .map(|_| remote::EXIT_CODE)
            })
    });
    // The outermost of our own errors is already one line that names the fix.
    let msg = match (
        err.downcast_ref::<KlosetError>(),
        err.downcast_ref::<remote::RemoteError>(),
    ) {
        (Some(k), _) => k.to_string(),
        (None, Some(r)) => r.to_string(),
        _ => format!("{err:#}"),
    };
    // Errors of the HTTP stack carry URLs: none reaches a person with credentials in it.
    (code.unwrap_or(1), redact::userinfo(&msg))
}
