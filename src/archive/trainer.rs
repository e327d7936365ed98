//! Trains the store's zstd dictionary from the first small files a backup saves, when the
//! store has none yet. Blobs saved before it is ready are compressed without it; it is used
//! only once stored (see `Repo::save_dictionary`), so nothing can name a missing dictionary.

use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::repo::dictionary::{self, MAX_BLOB, SAMPLES_WANTED, SAMPLE_BYTES_WANTED, SAMPLE_MIN};
use crate::repo::IndexedRepo;

/// At the end of a run, fewer samples than wanted still make a useful dictionary.
const SAMPLES_ENOUGH: usize = 500;
/// Longer samples add little to a dictionary and crowd out variety.
const SAMPLE_CAP: usize = 16 * 1024;

pub struct Trainer {
    repo: Arc<IndexedRepo>,
    runtime: Handle,
    samples: Mutex<Option<Samples>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Samples {
    list: Vec<Vec<u8>>,
    bytes: usize,
}

impl Trainer {
    /// None when the store already has a dictionary or was made without one. Call from
    /// within the runtime.
    pub fn new(repo: Arc<IndexedRepo>) -> Option<Trainer> {
        if repo.keys().dictionaries.has_active() || !repo.trains_dictionary() {
            return None;
        }
        Some(Trainer {
            repo,
            runtime: Handle::current(),
            samples: Mutex::new(Some(Samples::default())),
            task: Mutex::new(None),
        })
    }

    /// A new data blob: kept as a sample while there are too few.
    pub fn offer(&self, data: &[u8]) {
        if data.len() < SAMPLE_MIN || data.len() > MAX_BLOB {
            return;
        }
        let mut guard = self.samples.lock().expect("samples");
        let Some(samples) = guard.as_mut() else {
            return;
        };
        let sample = &data[..data.len().min(SAMPLE_CAP)];
        samples.bytes += sample.len();
        samples.list.push(sample.to_vec());
        if samples.list.len() < SAMPLES_WANTED && samples.bytes < SAMPLE_BYTES_WANTED {
            return;
        }
        let samples = guard.take().expect("checked above");
        drop(guard);
        self.train(samples);
    }

    fn train(&self, samples: Samples) {
        let repo = self.repo.clone();
        let task = self.runtime.spawn(async move {
            let trained =
                tokio::task::spawn_blocking(move || dictionary::train(&samples.list)).await;
            if let Ok(Some(dict)) = trained {
                // A dictionary that could not be stored is simply not used.
                let _ = repo.save_dictionary(dict).await;
            }
        });
        *self.task.lock().expect("task") = Some(task);
    }

    /// Waits for a training under way, so that the run's end leaves no request in flight. A
    /// run that saw fewer samples than wanted, but enough, trains for the next runs.
    pub async fn finish(&self) {
        let left = self.samples.lock().expect("samples").take();
        if let Some(samples) = left.filter(|s| s.list.len() >= SAMPLES_ENOUGH) {
            self.train(samples);
        }
        let task = self.task.lock().expect("task").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
