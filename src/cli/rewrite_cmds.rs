//! `tag` and `rewrite`: snapshots already taken, replaced by new ones.

use anyhow::Result;

use super::args::housekeeping::{RewriteArgs, TagArgs};
use super::Ctx;
use crate::connectors::Spec;

pub(super) async fn tag(_ctx: &Ctx, _spec: &Spec, _a: TagArgs) -> Result<()> {
    anyhow::bail!("tag: not yet")
}

pub(super) async fn rewrite(_ctx: &Ctx, _spec: &Spec, _a: RewriteArgs) -> Result<()> {
    anyhow::bail!("rewrite: not yet")
}
