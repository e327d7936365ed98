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
    let live = Arc::new(Live::new(repo, snapshot_filter(a.filter), every).await?);
    let contents = Arc::new(Contents::new(a.cache << 20, spec.concurrency()));
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
    let live = Arc::new(Live::new(repo, snapshot_filter(a.filter), every).await?);
    let contents = Arc::new(Contents::new(64 << 20, spec.concurrency()));
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .map_err(|e| {
            KlosetError::Usage(format!(
                "cannot listen on {}: {e}: give another --listen ADDR:PORT",
                a.listen
            ))
        })?;
    let server = crate::view::ui::Server::new(live, contents, spec.concurrency());
    let url = format!(
        "http://{}/?token={}",
        listener.local_addr()?,
        server.token()
    );
    // The first line of output, whatever else is asked: scripts and tests read it.
    println!("{url}");
    if a.open {
        open_browser(&url);
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

/// The desktop's browser, if there is one; the URL was printed either way.
fn open_browser(url: &str) {
    let opened = std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        eprintln!("kloset: could not start a browser (xdg-open); open the URL above");
    }
}
