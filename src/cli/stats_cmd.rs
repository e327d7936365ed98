//! `stats`: how much space snapshots take.

use anyhow::Result;

use super::args::housekeeping::StatsArgs;
use super::Ctx;
use crate::connectors::Spec;

pub(super) async fn stats(_ctx: &Ctx, _spec: &Spec, _a: StatsArgs) -> Result<()> {
    anyhow::bail!("stats: not yet")
}
