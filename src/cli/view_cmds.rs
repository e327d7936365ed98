//! `mount` and `ui`: long-running browsers of a store.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::args::view::{MountArgs, UiArgs};
use super::opening::{open, snapshot_filter};
use super::Ctx;
use crate::connectors::Spec;
use crate::error::KlosetError;
use crate::view::contents::Contents;
use crate::view::live::Live;

pub async fn mount(ctx: &Ctx, spec: &Spec, a: MountArgs) -> Result<()> {
    if !a.dir.is_dir() {
        return Err(KlosetError::Usage(format!(
            "cannot mount at {}: not a directory: create an empty one first",
            a.dir.display()
        ))
        .into());
    }
    let repo = open(ctx, spec).await?;
    let every = Duration::from_secs(a.refresh);
    let live = Live::new(repo, snapshot_filter(a.filter), every).await?;
    let budget = a.cache.checked_mul(1 << 20).ok_or_else(|| {
        KlosetError::Usage("--cache is too large: give MiB, such as --cache 512".into())
    })?;
    let contents = Arc::new(Contents::new(budget, spec.concurrency()));
    let runtime = tokio::runtime::Handle::current();
    ctx.cancel.stop_gracefully();
    let cancel = ctx.cancel.clone();
    let dir = a.dir.clone();
    let quiet = ctx.quiet;
    tokio::task::spawn_blocking(move || {
        let stop = || cancel.is_requested();
        let said = move || {
            if !quiet {
                eprintln!(
                    "kloset: mounted at {}; unmount with 'umount {}' or Ctrl-C",
                    dir.display(),
                    dir.display()
                );
            }
        };
        crate::view::mount::serve(runtime, live, contents, &a.dir, &stop, &said)
    })
    .await?
}

pub async fn ui(ctx: &Ctx, spec: &Spec, a: UiArgs) -> Result<()> {
    let repo = open(ctx, spec).await?;
    let every = Duration::from_secs(a.refresh);
    let live = Live::new(repo, snapshot_filter(a.filter), every).await?;
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .map_err(|e| {
            KlosetError::Usage(format!(
                "cannot listen on {}: {e}: give another --listen ADDR:PORT",
                a.listen
            ))
        })?;
    let server = crate::view::ui::Server::new(live, spec.concurrency());
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}/?token={}", server.token());
    // The first line of output, whatever else is asked: scripts and tests read it.
    println!("{url}");
    if !addr.ip().is_loopback() && !ctx.quiet {
        eprintln!(
            "kloset: listening on {addr}, beyond this machine: the token travels unencrypted over plain HTTP"
        );
    }
    if a.open {
        open_browser(&url, addr.port());
    }
    let cancel = ctx.cancel.clone();
    ctx.cancel.stop_gracefully();
    server
        .serve(listener, async move {
            while !cancel.is_requested() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
}

/// The desktop's browser, if there is one; the URL was printed either way. The browser is
/// given a file of the user's own that sends it on to the URL: a process's arguments can be
/// read by every user of the machine, and the token must not be among them.
fn open_browser(url: &str, port: u16) {
    let page = format!(
        "<!doctype html><meta http-equiv=\"refresh\" content=\"0;url={url}\"><a href=\"{url}\">kloset ui</a>\n"
    );
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let file = dir.join(format!("kloset-ui-{port}.html"));
    let written = {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(&file);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .and_then(|mut f| f.write_all(page.as_bytes()))
    };
    if written.is_err() {
        eprintln!(
            "kloset: could not write {}; open the URL above",
            file.display()
        );
        return;
    }
    let opened = std::process::Command::new("xdg-open")
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        eprintln!("kloset: could not start a browser (xdg-open); open the URL above");
    }
}
