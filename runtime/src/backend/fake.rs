//! A scripted kernel for unit tests: hands out queued records and drop counts, keeps the process map and the policy maps in memory, records attachments.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use super::{AttachTarget, KernelBackend, LinkHandle};
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
    /// Policy map contents: (map, key) → value.
    pub maps: HashMap<(&'static str, Vec<u8>), Vec<u8>>,
    /// Live attachments.
    pub links: HashMap<LinkHandle, (String, AttachTarget)>,
    pub next_link: u64,
    /// Attach attempts that fail (a target named here).
    pub failing_targets: Vec<AttachTarget>,
    pub policy_drops: HashMap<u16, u64>,
    /// Every map write and delete, in order, so tests can check what a hit
    /// would see between two writes.
    pub log: Vec<MapOp>,
}

/// One logged map write (`value`) or delete (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapOp {
    pub map: &'static str,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
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

    fn process_pids(&self) -> Result<Vec<u32>, RuntimeError> {
        let mut pids: Vec<u32> = self.entries.keys().copied().collect();
        pids.sort_unstable();
        Ok(pids)
    }

    fn update_process_entry(&mut self, entry: &ProcessEntry) -> Result<(), RuntimeError> {
        if let Some(existing) = self.entries.get_mut(&entry.pid) {
            *existing = entry.clone();
        }
        Ok(())
    }

    fn map_update(
        &mut self,
        map: &'static str,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), RuntimeError> {
        self.maps.insert((map, key.to_vec()), value.to_vec());
        self.log.push(MapOp {
            map,
            key: key.to_vec(),
            value: Some(value.to_vec()),
        });
        Ok(())
    }

    fn map_delete(&mut self, map: &'static str, key: &[u8]) -> Result<(), RuntimeError> {
        self.maps.remove(&(map, key.to_vec()));
        self.log.push(MapOp {
            map,
            key: key.to_vec(),
            value: None,
        });
        Ok(())
    }

    fn attach(&mut self, program: &str, target: &AttachTarget) -> Result<LinkHandle, RuntimeError> {
        if self.failing_targets.contains(target) {
            return Err(RuntimeError::MissingProgram {
                program: format!("{program} (fake failure on {target})"),
            });
        }
        self.next_link += 1;
        let handle = LinkHandle(self.next_link);
        self.links
            .insert(handle, (program.to_owned(), target.clone()));
        Ok(handle)
    }

    fn detach(&mut self, link: LinkHandle) -> Result<(), RuntimeError> {
        self.links.remove(&link);
        Ok(())
    }

    fn policy_drops(&self, policy: u16) -> Result<u64, RuntimeError> {
        Ok(self.policy_drops.get(&policy).copied().unwrap_or(0))
    }

    fn program_ids(&self) -> Vec<u32> {
        Vec::new()
    }

    fn shutdown(&mut self) -> Result<(), RuntimeError> {
        self.shut_down = true;
        self.links.clear();
        Ok(())
    }
}
