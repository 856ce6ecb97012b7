//! Decoding of the sensor's ring-buffer records (layouts in `bpf-programs/base_sensor.h` and, for hook records, `bpf-programs/policy_maps.h` as declared in `tpc_bundle::layout`).

use crate::error::DecodeError;

/// `WIRE_VERSION` in `base_sensor.h`.
pub const WIRE_VERSION: u8 = 3;

const EVENT_EXEC: u8 = 1;
const EVENT_FORK: u8 = 2;
const EVENT_EXIT: u8 = 3;
const EVENT_HOOK: u8 = 4;
const EVENT_HOOK_RETURN: u8 = 5;

const HEADER_LEN: usize = 16;
const EXEC_FIXED_LEN: usize = 152;
const HOOK_FIXED_LEN: usize = 376;
const FORK_LEN: usize = 48;
const EXIT_LEN: usize = 40;

/// Flags carried by records and process entries (`FLAG_*` in `base_sensor.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RecordFlags(pub u32);

impl RecordFlags {
    pub const EXECVE: u32 = 1 << 0;
    pub const CLONE: u32 = 1 << 1;
    pub const PROCFS: u32 = 1 << 2;
    pub const TRUNC_BINARY: u32 = 1 << 3;
    pub const TRUNC_ARGS: u32 = 1 << 4;
    pub const TRUNC_CWD: u32 = 1 << 5;
    pub const ERROR_BINARY: u32 = 1 << 6;
    pub const ERROR_ARGS: u32 = 1 << 7;
    pub const ERROR_CWD: u32 = 1 << 8;
    pub const PARENT_UNKNOWN: u32 = 1 << 9;
    pub const ENTRY_MISSING: u32 = 1 << 10;
    pub const TRUNC_FILENAME: u32 = 1 << 11;

    pub fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }
}

/// An execve that completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRecord {
    pub cpu: u32,
    pub ktime: u64,
    pub pid: u32,
    pub tid: u32,
    pub parent_pid: u32,
    pub flags: RecordFlags,
    pub exec_ktime: u64,
    /// 0 when the parent had no entry in the kernel's process map.
    pub parent_exec_ktime: u64,
    pub process_start_ktime: u64,
    pub uid: u32,
    pub euid: u32,
    pub auid: u32,
    pub old_tid: u32,
    /// The executable's path, walked from the task (symlinks resolved).
    pub binary: Vec<u8>,
    pub cwd: Vec<u8>,
    /// The NUL-separated argv block, argv[0] included.
    pub args: Vec<u8>,
    /// The filename given to execve.
    pub filename: Vec<u8>,
    /// Namespaces, capabilities and namespace pid at exec.
    pub task: TaskInfo,
}

/// What the programs read off a task: namespace inodes (in
/// `tpc_bundle::NAMESPACE_KINDS` order), capability sets (effective,
/// inheritable, permitted) and the pid in its own pid namespace (0 in the
/// host's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskInfo {
    pub ns: [u32; 10],
    pub caps: [u64; 3],
    pub nspid: u32,
}

/// One policy that matched a hook hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookPost {
    pub ph_id: u32,
    /// The winning selector; `None` for a hook without selectors.
    pub selector: Option<u8>,
    /// `tpc_bundle::layout::post_flags`.
    pub flags: u8,
    pub policy: u16,
}

/// One slot's bytes in a hook record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotBytes {
    pub offset: u16,
    pub len: u16,
    /// A buffer's size before it was cut.
    pub original_len: u32,
}

/// A hook hit that some policy matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRecord {
    pub cpu: u32,
    pub ktime: u64,
    pub pid: u32,
    pub tid: u32,
    /// The identity of the process entry, 0 when it had none.
    pub exec_ktime: u64,
    pub hook_id: u32,
    /// `tpc_bundle::layout::hook_event_flags`.
    pub flags: u16,
    pub ns: [u32; 10],
    pub caps: [u64; 3],
    pub values: [u64; 8],
    pub slots: [SlotBytes; 8],
    pub posts: Vec<HookPost>,
    pub data: Vec<u8>,
    /// Return records: the `ktime` of the entry record they finish; 0 for
    /// entry records.
    pub entry_ktime: u64,
}

impl HookRecord {
    /// The bytes of slot `slot`.
    pub fn slot_bytes(&self, slot: usize) -> &[u8] {
        let Some(s) = self.slots.get(slot) else {
            return &[];
        };
        let start = usize::from(s.offset);
        let end = start + usize::from(s.len);
        self.data.get(start..end).unwrap_or_default()
    }
}

/// A new thread group created by fork/clone (threads are not reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkRecord {
    pub cpu: u32,
    pub ktime: u64,
    pub pid: u32,
    pub parent_pid: u32,
    pub flags: RecordFlags,
    pub exec_ktime: u64,
    pub parent_exec_ktime: u64,
}

/// The last thread of a thread group exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    pub cpu: u32,
    pub ktime: u64,
    pub pid: u32,
    pub tid: u32,
    /// wait(2) status: exit code in bits 8..16, terminating signal in bits 0..7.
    pub exit_code: u32,
    pub flags: RecordFlags,
    /// 0 when the process had no entry in the kernel's process map.
    pub exec_ktime: u64,
}

/// One decoded ring-buffer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Exec(ExecRecord),
    Fork(ForkRecord),
    Exit(ExitRecord),
    Hook(HookRecord),
    /// A return probe finishing a call whose entry record awaits it.
    HookReturn(HookRecord),
}

impl Record {
    /// Decodes one record as the BPF side wrote it.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let reader = Reader { bytes };
        reader.need(HEADER_LEN, "record header")?;
        let kind = reader.u8(0)?;
        let version = reader.u8(1)?;
        if version != WIRE_VERSION {
            return Err(DecodeError::Version {
                found: version,
                expected: WIRE_VERSION,
            });
        }
        let cpu = reader.u32(4)?;
        let ktime = reader.u64(8)?;
        match kind {
            EVENT_EXEC => {
                reader.need(EXEC_FIXED_LEN, "exec")?;
                let binary_len = usize::from(reader.u16(72)?);
                let cwd_len = usize::from(reader.u16(74)?);
                let args_len = usize::from(reader.u16(76)?);
                let filename_len = usize::from(reader.u16(78)?);
                let task = TaskInfo {
                    nspid: reader.u32(80)?,
                    caps: [reader.u64(88)?, reader.u64(96)?, reader.u64(104)?],
                    ns: reader.u32s::<10>(112)?,
                };
                let mut offset = EXEC_FIXED_LEN;
                let mut take = |len: usize| -> Result<Vec<u8>, DecodeError> {
                    let slice = reader.slice(offset, len, "exec")?;
                    offset += len;
                    Ok(slice.to_vec())
                };
                let binary = take(binary_len)?;
                let cwd = take(cwd_len)?;
                let args = take(args_len)?;
                let filename = take(filename_len)?;
                Ok(Record::Exec(ExecRecord {
                    cpu,
                    ktime,
                    pid: reader.u32(16)?,
                    tid: reader.u32(20)?,
                    parent_pid: reader.u32(24)?,
                    flags: RecordFlags(reader.u32(28)?),
                    exec_ktime: reader.u64(32)?,
                    parent_exec_ktime: reader.u64(40)?,
                    process_start_ktime: reader.u64(48)?,
                    uid: reader.u32(56)?,
                    euid: reader.u32(60)?,
                    auid: reader.u32(64)?,
                    old_tid: reader.u32(68)?,
                    binary,
                    cwd,
                    args,
                    filename,
                    task,
                }))
            }
            EVENT_HOOK => Ok(Record::Hook(decode_hook(&reader, cpu, ktime)?)),
            EVENT_HOOK_RETURN => Ok(Record::HookReturn(decode_hook(&reader, cpu, ktime)?)),
            EVENT_FORK => {
                reader.need(FORK_LEN, "fork")?;
                Ok(Record::Fork(ForkRecord {
                    cpu,
                    ktime,
                    pid: reader.u32(16)?,
                    parent_pid: reader.u32(20)?,
                    flags: RecordFlags(reader.u32(24)?),
                    exec_ktime: reader.u64(32)?,
                    parent_exec_ktime: reader.u64(40)?,
                }))
            }
            EVENT_EXIT => {
                reader.need(EXIT_LEN, "exit")?;
                Ok(Record::Exit(ExitRecord {
                    cpu,
                    ktime,
                    pid: reader.u32(16)?,
                    tid: reader.u32(20)?,
                    exit_code: reader.u32(24)?,
                    flags: RecordFlags(reader.u32(28)?),
                    exec_ktime: reader.u64(32)?,
                }))
            }
            other => Err(DecodeError::UnknownKind { kind: other }),
        }
    }
}

fn decode_hook(reader: &Reader<'_>, cpu: u32, ktime: u64) -> Result<HookRecord, DecodeError> {
    reader.need(HOOK_FIXED_LEN, "hook")?;
    let nposts = usize::from(reader.u16(36)?).min(16);
    let mut posts = Vec::with_capacity(nposts);
    for i in 0..nposts {
        let at = 232 + 8 * i;
        let selector = reader.u8(at + 4)?;
        posts.push(HookPost {
            ph_id: reader.u32(at)?,
            selector: (selector != 0xff).then_some(selector),
            flags: reader.u8(at + 5)?,
            policy: reader.u16(at + 6)?,
        });
    }
    let mut values = [0u64; 8];
    let mut slots = [SlotBytes::default(); 8];
    for i in 0..8 {
        values[i] = reader.u64(104 + 8 * i)?;
        slots[i] = SlotBytes {
            offset: reader.u16(168 + 2 * i)?,
            len: reader.u16(184 + 2 * i)?,
            original_len: reader.u32(200 + 4 * i)?,
        };
    }
    let data_len = usize::try_from(reader.u32(360)?).unwrap_or(usize::MAX);
    let data = reader
        .slice(HOOK_FIXED_LEN, data_len, "hook data")?
        .to_vec();
    Ok(HookRecord {
        cpu,
        ktime,
        pid: reader.u32(16)?,
        tid: reader.u32(20)?,
        exec_ktime: reader.u64(24)?,
        hook_id: reader.u32(32)?,
        flags: reader.u16(38)?,
        ns: reader.u32s::<10>(40)?,
        caps: [reader.u64(80)?, reader.u64(88)?, reader.u64(96)?],
        values,
        slots,
        posts,
        data,
        entry_ktime: reader.u64(368)?,
    })
}

/// A process entry as the kernel's `tpc_processes` map stores it
/// (`struct process_entry`); user space writes these to seed processes that
/// were running before the sensor started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEntry {
    pub exec_ktime: u64,
    pub parent_exec_ktime: u64,
    pub start_ktime: u64,
    pub pid: u32,
    pub parent_pid: u32,
    pub uid: u32,
    pub euid: u32,
    pub auid: u32,
    pub flags: RecordFlags,
    /// Namespaces and capabilities recorded for the change filters, and
    /// the namespace pid.
    pub task: TaskInfo,
    /// followChildren bits.
    pub follow: [u64; 4],
    pub binary: Vec<u8>,
}

/// `ENTRY_BINARY_LEN` in `base_sensor.h`.
pub const ENTRY_BINARY_LEN: usize = 256;
/// `sizeof(struct process_entry)`.
pub const PROCESS_ENTRY_LEN: usize = 152 + ENTRY_BINARY_LEN;
const ENTRY_BINARY_AT: usize = 152;

impl ProcessEntry {
    /// The entry's bytes in the kernel's layout; the binary path is cut to fit
    /// (and flagged) like the BPF side does.
    pub fn encode(&self) -> [u8; PROCESS_ENTRY_LEN] {
        let mut bytes = [0u8; PROCESS_ENTRY_LEN];
        let mut flags = self.flags.0;
        let binary_len = if self.binary.len() > ENTRY_BINARY_LEN - 1 {
            flags |= RecordFlags::TRUNC_BINARY;
            ENTRY_BINARY_LEN - 1
        } else {
            self.binary.len()
        };
        bytes[0..8].copy_from_slice(&self.exec_ktime.to_ne_bytes());
        bytes[8..16].copy_from_slice(&self.parent_exec_ktime.to_ne_bytes());
        bytes[16..24].copy_from_slice(&self.start_ktime.to_ne_bytes());
        bytes[24..28].copy_from_slice(&self.pid.to_ne_bytes());
        bytes[28..32].copy_from_slice(&self.parent_pid.to_ne_bytes());
        bytes[32..36].copy_from_slice(&self.uid.to_ne_bytes());
        bytes[36..40].copy_from_slice(&self.euid.to_ne_bytes());
        bytes[40..44].copy_from_slice(&self.auid.to_ne_bytes());
        bytes[44..48].copy_from_slice(&flags.to_ne_bytes());
        let binary_len_u32 = u32::try_from(binary_len).unwrap_or(0);
        bytes[48..52].copy_from_slice(&binary_len_u32.to_ne_bytes());
        bytes[52..56].copy_from_slice(&self.task.nspid.to_ne_bytes());
        for (i, word) in self.follow.iter().enumerate() {
            bytes[56 + 8 * i..64 + 8 * i].copy_from_slice(&word.to_ne_bytes());
        }
        for (i, cap) in self.task.caps.iter().enumerate() {
            bytes[88 + 8 * i..96 + 8 * i].copy_from_slice(&cap.to_ne_bytes());
        }
        for (i, ns) in self.task.ns.iter().enumerate() {
            bytes[112 + 4 * i..116 + 4 * i].copy_from_slice(&ns.to_ne_bytes());
        }
        bytes[ENTRY_BINARY_AT..ENTRY_BINARY_AT + binary_len]
            .copy_from_slice(&self.binary[..binary_len]);
        bytes
    }

    /// Reads an entry back from the kernel's layout.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let reader = Reader { bytes };
        reader.need(PROCESS_ENTRY_LEN, "process entry")?;
        let binary_len = usize::try_from(reader.u32(48)?)
            .unwrap_or(usize::MAX)
            .min(ENTRY_BINARY_LEN - 1);
        Ok(ProcessEntry {
            exec_ktime: reader.u64(0)?,
            parent_exec_ktime: reader.u64(8)?,
            start_ktime: reader.u64(16)?,
            pid: reader.u32(24)?,
            parent_pid: reader.u32(28)?,
            uid: reader.u32(32)?,
            euid: reader.u32(36)?,
            auid: reader.u32(40)?,
            flags: RecordFlags(reader.u32(44)?),
            task: TaskInfo {
                nspid: reader.u32(52)?,
                caps: [reader.u64(88)?, reader.u64(96)?, reader.u64(104)?],
                ns: reader.u32s::<10>(112)?,
            },
            follow: [
                reader.u64(56)?,
                reader.u64(64)?,
                reader.u64(72)?,
                reader.u64(80)?,
            ],
            binary: reader
                .slice(ENTRY_BINARY_AT, binary_len, "process entry")?
                .to_vec(),
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn need(&self, len: usize, what: &'static str) -> Result<(), DecodeError> {
        if self.bytes.len() < len {
            return Err(DecodeError::Short {
                what,
                needed: len,
                found: self.bytes.len(),
            });
        }
        Ok(())
    }

    fn slice(&self, offset: usize, len: usize, what: &'static str) -> Result<&[u8], DecodeError> {
        let end = offset.saturating_add(len);
        self.bytes.get(offset..end).ok_or(DecodeError::Short {
            what,
            needed: end,
            found: self.bytes.len(),
        })
    }

    fn array<const N: usize>(&self, offset: usize) -> Result<[u8; N], DecodeError> {
        let slice = self.slice(offset, N, "record")?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    fn u8(&self, offset: usize) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(offset)?[0])
    }

    fn u16(&self, offset: usize) -> Result<u16, DecodeError> {
        Ok(u16::from_ne_bytes(self.array(offset)?))
    }

    fn u32(&self, offset: usize) -> Result<u32, DecodeError> {
        Ok(u32::from_ne_bytes(self.array(offset)?))
    }

    fn u64(&self, offset: usize) -> Result<u64, DecodeError> {
        Ok(u64::from_ne_bytes(self.array(offset)?))
    }

    fn u32s<const N: usize>(&self, offset: usize) -> Result<[u32; N], DecodeError> {
        let mut out = [0u32; N];
        for (i, v) in out.iter_mut().enumerate() {
            *v = self.u32(offset + 4 * i)?;
        }
        Ok(out)
    }
}

/// Builders for records in the wire layout, for tests and fake backends.
pub mod encode {
    use super::{
        EVENT_EXEC, EVENT_EXIT, EVENT_FORK, EVENT_HOOK, EVENT_HOOK_RETURN, ExecRecord, ExitRecord,
        ForkRecord, HookRecord, WIRE_VERSION,
    };

    fn header(kind: u8, cpu: u32, ktime: u64) -> Vec<u8> {
        let mut bytes = vec![kind, WIRE_VERSION, 0, 0];
        bytes.extend_from_slice(&cpu.to_ne_bytes());
        bytes.extend_from_slice(&ktime.to_ne_bytes());
        bytes
    }

    fn len_u16(bytes: &[u8]) -> [u8; 2] {
        u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_ne_bytes()
    }

    pub fn exec(record: &ExecRecord) -> Vec<u8> {
        let mut bytes = header(EVENT_EXEC, record.cpu, record.ktime);
        for value in [record.pid, record.tid, record.parent_pid, record.flags.0] {
            bytes.extend_from_slice(&value.to_ne_bytes());
        }
        for value in [
            record.exec_ktime,
            record.parent_exec_ktime,
            record.process_start_ktime,
        ] {
            bytes.extend_from_slice(&value.to_ne_bytes());
        }
        for value in [record.uid, record.euid, record.auid, record.old_tid] {
            bytes.extend_from_slice(&value.to_ne_bytes());
        }
        for part in [&record.binary, &record.cwd, &record.args, &record.filename] {
            bytes.extend_from_slice(&len_u16(part));
        }
        bytes.extend_from_slice(&record.task.nspid.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        for cap in record.task.caps {
            bytes.extend_from_slice(&cap.to_ne_bytes());
        }
        for ns in record.task.ns {
            bytes.extend_from_slice(&ns.to_ne_bytes());
        }
        for part in [&record.binary, &record.cwd, &record.args, &record.filename] {
            bytes.extend_from_slice(part);
        }
        bytes
    }

    pub fn fork(record: &ForkRecord) -> Vec<u8> {
        let mut bytes = header(EVENT_FORK, record.cpu, record.ktime);
        for value in [record.pid, record.parent_pid, record.flags.0, 0] {
            bytes.extend_from_slice(&value.to_ne_bytes());
        }
        bytes.extend_from_slice(&record.exec_ktime.to_ne_bytes());
        bytes.extend_from_slice(&record.parent_exec_ktime.to_ne_bytes());
        bytes
    }

    pub fn hook(record: &HookRecord) -> Vec<u8> {
        hook_of_kind(EVENT_HOOK, record)
    }

    /// A return probe's record.
    pub fn hook_return(record: &HookRecord) -> Vec<u8> {
        hook_of_kind(EVENT_HOOK_RETURN, record)
    }

    fn hook_of_kind(kind: u8, record: &HookRecord) -> Vec<u8> {
        let mut bytes = header(kind, record.cpu, record.ktime);
        bytes.extend_from_slice(&record.pid.to_ne_bytes());
        bytes.extend_from_slice(&record.tid.to_ne_bytes());
        bytes.extend_from_slice(&record.exec_ktime.to_ne_bytes());
        bytes.extend_from_slice(&record.hook_id.to_ne_bytes());
        let nposts = u16::try_from(record.posts.len().min(16)).unwrap_or(16);
        bytes.extend_from_slice(&nposts.to_ne_bytes());
        bytes.extend_from_slice(&record.flags.to_ne_bytes());
        for ns in record.ns {
            bytes.extend_from_slice(&ns.to_ne_bytes());
        }
        for cap in record.caps {
            bytes.extend_from_slice(&cap.to_ne_bytes());
        }
        for v in record.values {
            bytes.extend_from_slice(&v.to_ne_bytes());
        }
        for s in record.slots {
            bytes.extend_from_slice(&s.offset.to_ne_bytes());
        }
        for s in record.slots {
            bytes.extend_from_slice(&s.len.to_ne_bytes());
        }
        for s in record.slots {
            bytes.extend_from_slice(&s.original_len.to_ne_bytes());
        }
        for i in 0..16 {
            match record.posts.get(i) {
                Some(p) => {
                    bytes.extend_from_slice(&p.ph_id.to_ne_bytes());
                    bytes.push(p.selector.unwrap_or(0xff));
                    bytes.push(p.flags);
                    bytes.extend_from_slice(&p.policy.to_ne_bytes());
                }
                None => bytes.extend_from_slice(&[0; 8]),
            }
        }
        let data_len = u32::try_from(record.data.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&data_len.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(&record.entry_ktime.to_ne_bytes());
        bytes.extend_from_slice(&record.data);
        bytes
    }

    pub fn exit(record: &ExitRecord) -> Vec<u8> {
        let mut bytes = header(EVENT_EXIT, record.cpu, record.ktime);
        for value in [record.pid, record.tid, record.exit_code, record.flags.0] {
            bytes.extend_from_slice(&value.to_ne_bytes());
        }
        bytes.extend_from_slice(&record.exec_ktime.to_ne_bytes());
        bytes
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;

    fn sample_exec() -> ExecRecord {
        ExecRecord {
            cpu: 1,
            ktime: 99,
            pid: 10,
            tid: 10,
            parent_pid: 1,
            flags: RecordFlags(RecordFlags::EXECVE | RecordFlags::CLONE),
            exec_ktime: 99,
            parent_exec_ktime: 5,
            process_start_ktime: 90,
            uid: 1000,
            euid: 0,
            auid: 4_294_967_295,
            old_tid: 10,
            binary: b"/usr/bin/true".to_vec(),
            cwd: b"/tmp".to_vec(),
            args: b"true\0a b\0".to_vec(),
            filename: b"/bin/true".to_vec(),
            task: TaskInfo {
                ns: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
                caps: [0x1ff, 0, 0x3ff],
                nspid: 0,
            },
        }
    }

    #[test]
    fn exec_round_trips_through_the_wire_layout() {
        let record = sample_exec();
        let bytes = encode::exec(&record);
        assert_eq!(bytes.len(), EXEC_FIXED_LEN + 13 + 4 + 9 + 9);
        assert_eq!(Record::decode(&bytes).unwrap(), Record::Exec(record));
    }

    #[test]
    fn fork_and_exit_round_trip() {
        let fork = ForkRecord {
            cpu: 0,
            ktime: 7,
            pid: 11,
            parent_pid: 10,
            flags: RecordFlags(2),
            exec_ktime: 7,
            parent_exec_ktime: 99,
        };
        let bytes = encode::fork(&fork);
        assert_eq!(bytes.len(), FORK_LEN);
        assert_eq!(Record::decode(&bytes).unwrap(), Record::Fork(fork));
        let exit = ExitRecord {
            cpu: 1,
            ktime: 8,
            pid: 11,
            tid: 12,
            exit_code: 3 << 8,
            flags: RecordFlags(0),
            exec_ktime: 7,
        };
        let bytes = encode::exit(&exit);
        assert_eq!(bytes.len(), EXIT_LEN);
        assert_eq!(Record::decode(&bytes).unwrap(), Record::Exit(exit));
    }

    #[test]
    fn hook_records_round_trip() {
        let mut slots = [SlotBytes::default(); 8];
        slots[1] = SlotBytes {
            offset: 0,
            len: 5,
            original_len: 0,
        };
        let record = HookRecord {
            cpu: 1,
            ktime: 5,
            pid: 7,
            tid: 8,
            exec_ktime: 3,
            hook_id: 2,
            flags: 0,
            ns: [9; 10],
            caps: [1, 2, 3],
            values: [0, 0, 0, 0, 0, 0, 0, 42],
            slots,
            posts: vec![HookPost {
                ph_id: 4,
                selector: Some(1),
                flags: 1,
                policy: 3,
            }],
            data: b"/etc/".to_vec(),
            entry_ktime: 0,
        };
        let bytes = encode::hook(&record);
        assert_eq!(bytes.len(), HOOK_FIXED_LEN + 5);
        let decoded = Record::decode(&bytes).unwrap();
        assert_eq!(decoded, Record::Hook(record.clone()));
        let ret = HookRecord {
            entry_ktime: 4,
            ..record.clone()
        };
        let decoded = Record::decode(&encode::hook_return(&ret)).unwrap();
        assert_eq!(decoded, Record::HookReturn(ret));
        assert_eq!(record.slot_bytes(1), b"/etc/");
    }

    #[test]
    fn short_or_foreign_records_are_errors() {
        let bytes = encode::exec(&sample_exec());
        assert!(matches!(
            Record::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Short { .. })
        ));
        let mut wrong_version = bytes.clone();
        wrong_version[1] = 9;
        assert!(matches!(
            Record::decode(&wrong_version),
            Err(DecodeError::Version { found: 9, .. })
        ));
        let mut wrong_kind = bytes;
        wrong_kind[0] = 42;
        assert!(matches!(
            Record::decode(&wrong_kind),
            Err(DecodeError::UnknownKind { kind: 42 })
        ));
        assert!(Record::decode(&[]).is_err());
    }

    #[test]
    fn process_entry_round_trips_and_cuts_long_binaries() {
        let entry = ProcessEntry {
            exec_ktime: 1,
            parent_exec_ktime: 2,
            start_ktime: 3,
            pid: 4,
            parent_pid: 5,
            uid: 6,
            euid: 7,
            auid: 8,
            flags: RecordFlags(RecordFlags::PROCFS),
            task: TaskInfo {
                ns: [4_026_531_838; 10],
                caps: [1, 2, 3],
                nspid: 9,
            },
            follow: [1, 0, 0, 1 << 63],
            binary: b"/usr/bin/sh".to_vec(),
        };
        assert_eq!(ProcessEntry::decode(&entry.encode()).unwrap(), entry);
        let long = ProcessEntry {
            binary: vec![b'a'; 400],
            ..entry
        };
        let decoded = ProcessEntry::decode(&long.encode()).unwrap();
        assert_eq!(decoded.binary.len(), ENTRY_BINARY_LEN - 1);
        assert!(decoded.flags.has(RecordFlags::TRUNC_BINARY));
    }
}
