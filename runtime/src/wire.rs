//! Decoding of the base sensor's ring-buffer records (layouts in `bpf-programs/base_sensor.h`).

use crate::error::DecodeError;

/// `WIRE_VERSION` in `base_sensor.h`.
pub const WIRE_VERSION: u8 = 1;

const EVENT_EXEC: u8 = 1;
const EVENT_FORK: u8 = 2;
const EVENT_EXIT: u8 = 3;

const HEADER_LEN: usize = 16;
const EXEC_FIXED_LEN: usize = 80;
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
                }))
            }
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
    pub binary: Vec<u8>,
}

/// `ENTRY_BINARY_LEN` in `base_sensor.h`.
pub const ENTRY_BINARY_LEN: usize = 256;
/// `sizeof(struct process_entry)`.
pub const PROCESS_ENTRY_LEN: usize = 56 + ENTRY_BINARY_LEN;

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
        bytes[56..56 + binary_len].copy_from_slice(&self.binary[..binary_len]);
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
            binary: reader.slice(56, binary_len, "process entry")?.to_vec(),
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
}

/// Builders for records in the wire layout, for tests and fake backends.
pub mod encode {
    use super::{
        EVENT_EXEC, EVENT_EXIT, EVENT_FORK, ExecRecord, ExitRecord, ForkRecord, WIRE_VERSION,
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
