//! An in-memory restore destination: what the library's restore planner hands over, kept as a
//! `source::Tree` so the oracle compares it with the tree the backup read.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;
use kloset::repo::tree::{Node, NodeKind};
use kloset::restore::{ContentSink, Destination, Plan, PlannedFile, Reader};

#[derive(Default)]
pub struct MemDest {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    dirs: Mutex<Vec<String>>,
}

fn rel(path: &[u8]) -> String {
    String::from_utf8_lossy(path.strip_prefix(b"/").unwrap_or(path)).into_owned()
}

impl MemDest {
    /// (path, content) of every file and the path of every directory restored.
    pub fn contents(&self) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
        let mut dirs = self.dirs.lock().unwrap().clone();
        dirs.sort();
        (self.files.lock().unwrap().clone(), dirs)
    }
}

#[async_trait]
impl ContentSink for MemDest {
    async fn write(
        &self,
        _file: usize,
        planned: &PlannedFile,
        _segment: usize,
        offset: u64,
        data: Bytes,
        _whole: bool,
    ) -> Result<()> {
        let mut files = self.files.lock().unwrap();
        let buf = files.entry(rel(&planned.path)).or_default();
        let end = offset as usize + data.len();
        if buf.len() < end {
            buf.resize(end, 0);
        }
        buf[offset as usize..end].copy_from_slice(&data);
        Ok(())
    }

    async fn complete(&self, _file: usize, planned: &PlannedFile, _segments: usize) -> Result<()> {
        self.files
            .lock()
            .unwrap()
            .entry(rel(&planned.path))
            .or_default();
        Ok(())
    }
}

#[async_trait]
impl Destination for MemDest {
    fn display(&self) -> String {
        "memory".into()
    }

    fn segment_size(&self) -> Option<u64> {
        None
    }

    fn accept(&self, _parent: &[u8], node: &Node, _plan: &mut Plan) -> bool {
        matches!(node.kind, NodeKind::File | NodeKind::Dir)
    }

    async fn prepare(&self, plan: &mut Plan, _reader: &Reader) -> Result<()> {
        let mut files = self.files.lock().unwrap();
        for f in &plan.files {
            // Empty files get no segments.
            if f.node.size == 0 {
                files.insert(rel(&f.path), Vec::new());
            }
        }
        self.dirs
            .lock()
            .unwrap()
            .extend(plan.dirs.iter().map(|(p, _)| rel(p)));
        Ok(())
    }

    async fn finish(&self, _plan: &mut Plan, _errors: &mut Vec<String>) -> Result<()> {
        Ok(())
    }
}
