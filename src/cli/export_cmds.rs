//! `dump` and `cat`: a snapshot's tree or one file of it to stdout.

use std::sync::Arc;

use anyhow::Result;

use super::opening::open_indexed;
use super::Ctx;
use crate::connectors::Spec;
use crate::error::{usage, KlosetError};
use crate::ops::browse::{self, Found};
use crate::repo::IndexedRepo;

pub(super) async fn dump(
    ctx: &Ctx,
    spec: &Spec,
    target: &str,
    format: crate::ops::dump::Format,
    filter: crate::ops::forget::Filter,
) -> Result<()> {
    let repo = Arc::new(open_indexed(ctx, spec).await?);
    let resolved = browse::resolve_with(&repo, target, &filter, None).await?;
    let (tree, name) = match resolved.found {
        Found::File(node) if node.kind == crate::repo::tree::NodeKind::File => {
            return write_content(repo, spec, &node).await
        }
        Found::File(_) => {
            return Err(usage(format!(
                "{target} is not a file or directory: dump a directory above it"
            )))
        }
        Found::Dir(id, node) => (id, node),
    };
    let base = name.as_ref().map_or(String::new(), |n| n.name.clone());
    let (mut entries, left_out) = crate::ops::dump::entries(&repo, tree, &base).await?;
    if let Some(node) = name {
        entries.insert(0, (base, node));
    }
    for line in &left_out {
        eprintln!("{line}");
    }
    let concurrency = spec.concurrency();
    tokio::task::spawn_blocking(move || {
        let out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        let warn = |line| eprintln!("{line}");
        crate::ops::dump::write(repo, entries, format, concurrency, out, &warn)
    })
    .await??;
    match left_out.len() {
        0 => Ok(()),
        n => Err(KlosetError::PartialDump(n).into()),
    }
}

/// One file of a snapshot to stdout.
pub(super) async fn cat(
    ctx: &Ctx,
    spec: &Spec,
    target: &str,
    filter: crate::ops::forget::Filter,
) -> Result<()> {
    let repo = Arc::new(open_indexed(ctx, spec).await?);
    let node = match browse::resolve_with(&repo, target, &filter, None).await?.found {
        Found::File(node) if node.kind == crate::repo::tree::NodeKind::File => node,
        _ => {
            return Err(KlosetError::Usage(format!(
                "{target} is not a file: name one as ID:/path/to/file ('kloset ls ID:/path' lists a directory; 'restore' writes a tree)"
            ))
            .into())
        }
    };
    write_content(repo, spec, &node).await
}

/// A file's content to stdout, in order, each blob verified against its id.
async fn write_content(
    repo: Arc<IndexedRepo>,
    spec: &Spec,
    node: &crate::repo::tree::Node,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    crate::ops::dump::cat(repo, node, spec.concurrency(), &mut out).await
}
