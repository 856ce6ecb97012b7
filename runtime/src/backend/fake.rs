//! A scripted kernel for unit tests: hands out queued records and drop counts, keeps a process map in memory.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use super::KernelBackend;
use crate::{error::RuntimeError, model::DropCounts, wire::ProcessEntry};

/// Replays records pushed by the test, one batch per `read_records` call.
#[derive(Debug, Default)]
pub struct FakeBackend {
    pub batches: VecDeque<Vec<Vec<u8>>>,
    pub drops: DropCounts,
    /// Drop counts to switch to after each batch is read, in order.
    pub drops_after_batch: VecDeque<DropCounts>,
    pub entries: HashMap<u32, ProcessEntry>,
    pub shut_down: bool,
}

impl FakeBackend {
    pub fn push_batch(&mut self, records: Vec<Vec<u8>>) {
        self.batches.push_back(records);
    }
}

impl KernelBackend for FakeBackend {
    fn read_records(
        &mut self,
        _timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, RuntimeError> {
        let Some(batch) = self.batches.pop_front() else {
            return Ok(0);
        };
        for record in &batch {
            on_record(record);
        }
        if let Some(drops) = self.drops_after_batch.pop_front() {
            self.drops = drops;
        }
        Ok(batch.len())
    }

    fn drop_counts(&self) -> Result<DropCounts, RuntimeError> {
        Ok(self.drops)
    }

    fn seed_process(&mut self, entry: &ProcessEntry) -> Result<bool, RuntimeError> {
        if self.entries.contains_key(&entry.pid) {
            return Ok(false);
        }
        self.entries.insert(entry.pid, entry.clone());
        Ok(true)
    }

    fn process_entry(&self, pid: u32) -> Result<Option<ProcessEntry>, RuntimeError> {
        Ok(self.entries.get(&pid).cloned())
    }

    fn shutdown(&mut self) -> Result<(), RuntimeError> {
        self.shut_down = true;
        Ok(())
    }
}
