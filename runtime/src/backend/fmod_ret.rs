//! The fmod_ret programs (`bpf-programs/fmod_ret.bpf.c`), which aya cannot
//! load (it has no `BPF_MODIFY_RETURN` program type): this module reads a
//! program's instructions from the object, points its map references at
//! the sensor object's maps, loads it through the `bpf` system call against
//! the BTF of the function it modifies and attaches it.
//!
//! The programs are small and self-contained on purpose: one section each,
//! no subprograms, no CO-RE, no global data, and relocations only to maps
//! the sensor object created (by name). Anything else in the object is
//! refused with the reason rather than loaded wrong.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use aya::Btf;
use aya_obj::{
    btf::BtfKind,
    generated::{BPF_PSEUDO_MAP_FD, bpf_attach_type, bpf_attr, bpf_cmd, bpf_prog_type},
};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

/// Bytes of one BPF instruction.
const INSN: usize = 8;
/// Opcode of the first half of a 64-bit immediate load (`ld_imm64`).
const LD_IMM64: u8 = 0x18;
/// Bytes of the verifier log kept for an error.
const LOG_SIZE: usize = 64 * 1024;
/// `BPF_LOG_STATS`: the verifier's messages and statistics only.
const LOG_STATS: u32 = 4;

/// A loaded and attached fmod_ret program: closing both fds detaches it.
#[derive(Debug)]
pub struct FmodRetLink {
    _link: OwnedFd,
    _program: OwnedFd,
}

/// The instructions of `program` in `object`, with each map reference
/// pointed at the fd `map_fd` gives for the map's name.
pub fn instructions(
    object: &[u8],
    program: &str,
    map_fd: &dyn Fn(&str) -> Option<RawFd>,
) -> Result<Vec<u8>, String> {
    let file = object::File::parse(object).map_err(|e| format!("reading the object: {e}"))?;
    let symbol = file
        .symbols()
        .find(|s| s.name() == Ok(program) && s.is_definition())
        .ok_or_else(|| format!("the object has no program {program}"))?;
    let index = symbol
        .section_index()
        .ok_or_else(|| format!("{program} is in no section"))?;
    let section = file
        .section_by_index(index)
        .map_err(|e| format!("the section of {program}: {e}"))?;
    let data = section
        .data()
        .map_err(|e| format!("the section of {program}: {e}"))?;
    let start = usize::try_from(symbol.address()).unwrap_or(usize::MAX);
    let size = usize::try_from(symbol.size()).unwrap_or(0);
    let end = start.saturating_add(size);
    if start != 0 || end != data.len() || size == 0 || size % INSN != 0 {
        return Err(format!(
            "{program} is not the whole of its section (one program per section is what this loader reads)"
        ));
    }
    let mut insns = data.to_vec();
    for (offset, relocation) in section.relocations() {
        let RelocationTarget::Symbol(target) = relocation.target() else {
            return Err(format!(
                "{program} has a relocation this loader does not read"
            ));
        };
        let name = file
            .symbol_by_index(target)
            .and_then(|s| s.name().map(str::to_owned))
            .map_err(|e| format!("a relocation of {program}: {e}"))?;
        let at = usize::try_from(offset).unwrap_or(usize::MAX);
        if at % INSN != 0 || at + 2 * INSN > insns.len() || insns[at] != LD_IMM64 {
            return Err(format!(
                "{program} refers to `{name}` other than by loading a map (only map references are read)"
            ));
        }
        let fd = map_fd(&name).ok_or_else(|| {
            format!("{program} refers to `{name}`, which is not a map of the sensor object")
        })?;
        // src_reg is the high nibble of the second byte
        insns[at + 1] =
            (insns[at + 1] & 0x0f) | (u8::try_from(BPF_PSEUDO_MAP_FD).unwrap_or(1) << 4);
        insns[at + 4..at + 8].copy_from_slice(&fd.to_le_bytes());
    }
    Ok(insns)
}

/// A loaded fmod_ret program and the instructions the verifier processed
/// (from its statistics line).
#[derive(Debug)]
pub struct Loaded {
    pub fd: OwnedFd,
    pub verified: Option<u32>,
}

/// Loads `insns` as an fmod_ret program on kernel function `function`
/// (found in `btf`); the program, or why the kernel refused it (with the
/// end of the verifier's log).
pub fn load(insns: &[u8], name: &str, function: &str, btf: &Btf) -> Result<Loaded, String> {
    let btf_id = btf
        .id_by_type_name_kind(function, BtfKind::Func)
        .map_err(|e| format!("the kernel's BTF has no function {function}: {e}"))?;
    let license = c"GPL";
    let mut log = vec![0u8; LOG_SIZE];
    let mut attr = zeroed_attr();
    {
        // SAFETY: writing plain integers into the PROG_LOAD member of a
        // zeroed union.
        #[expect(unsafe_code, reason = "a field of the bpf_attr union")]
        let load = unsafe { &mut attr.__bindgen_anon_3 };
        load.prog_type = bpf_prog_type::BPF_PROG_TYPE_TRACING as u32;
        load.expected_attach_type = bpf_attach_type::BPF_MODIFY_RETURN as u32;
        load.attach_btf_id = btf_id;
        load.insns = insns.as_ptr() as u64;
        load.insn_cnt = u32::try_from(insns.len() / INSN).unwrap_or(u32::MAX);
        load.license = license.as_ptr() as u64;
        // errors and the statistics line, without the per-instruction trace
        load.log_level = LOG_STATS;
        load.log_size = u32::try_from(log.len()).unwrap_or(0);
        load.log_buf = log.as_mut_ptr() as u64;
        for (to, from) in load.prog_name.iter_mut().zip(name.bytes().take(15)) {
            *to = from as std::ffi::c_char;
        }
    }
    let result = bpf(bpf_cmd::BPF_PROG_LOAD, &mut attr);
    let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    match result {
        Ok(fd) => Ok(Loaded {
            fd,
            verified: processed(&text),
        }),
        Err(error) => {
            let tail: Vec<&str> = text.lines().rev().take(12).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            if tail.is_empty() {
                Err(format!(
                    "the kernel refused fmod_ret program {name} on {function}: {error}"
                ))
            } else {
                Err(format!(
                    "the kernel refused fmod_ret program {name} on {function}: {error}\n{}",
                    tail.join("\n")
                ))
            }
        }
    }
}

/// `N` of the verifier's "processed N insns" line.
fn processed(log: &str) -> Option<u32> {
    let rest = log.split("processed ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Attaches a loaded fmod_ret program to the function it was loaded for.
pub fn attach(program: OwnedFd) -> Result<FmodRetLink, String> {
    let mut attr = zeroed_attr();
    {
        // SAFETY: as in `load`, the RAW_TRACEPOINT_OPEN member.
        #[expect(unsafe_code, reason = "a field of the bpf_attr union")]
        let open = unsafe { &mut attr.raw_tracepoint };
        open.name = 0;
        open.prog_fd = u32::try_from(program.as_raw_fd()).unwrap_or(u32::MAX);
    }
    let link = bpf(bpf_cmd::BPF_RAW_TRACEPOINT_OPEN, &mut attr)
        .map_err(|e| format!("attaching the fmod_ret program: {e}"))?;
    Ok(FmodRetLink {
        _link: link,
        _program: program,
    })
}

/// The fd of an aya map, for [`instructions`].
pub fn raw(fd: BorrowedFd<'_>) -> RawFd {
    fd.as_raw_fd()
}

fn zeroed_attr() -> bpf_attr {
    // SAFETY: bpf_attr is a union of plain integer structs, for which all
    // zero bytes is a valid value (and what the kernel wants in unused
    // fields).
    #[expect(unsafe_code, reason = "zero-initialising the bpf_attr union")]
    unsafe {
        std::mem::zeroed()
    }
}

/// The `bpf` system call with a command that returns a new fd.
fn bpf(cmd: bpf_cmd, attr: &mut bpf_attr) -> Result<OwnedFd, std::io::Error> {
    let size = std::mem::size_of::<bpf_attr>();
    // SAFETY: `attr` is a valid, fully initialised bpf_attr of `size`
    // bytes that outlives the call; the buffers it points at (instructions,
    // license, log) outlive it too.
    #[expect(unsafe_code, reason = "the bpf system call")]
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            std::ptr::from_mut(attr),
            size,
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fd = RawFd::try_from(ret).map_err(|_| std::io::Error::other("fd out of range"))?;
    // SAFETY: the kernel returned a new fd that nothing else owns.
    #[expect(unsafe_code, reason = "taking ownership of the fd the kernel returned")]
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::unwrap_used,
        reason = "tests: a failed unwrap is a failed test"
    )]

    use super::*;

    /// Each fmod_ret program of the embedded object reads, with its one map
    /// reference pointed at the fd given, and nothing else changed.
    #[test]
    fn the_embedded_programs_relocate_their_map() {
        let Some(object) = crate::objects::fmod_ret() else {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "built without BPF objects under CI=true");
            eprintln!("skipped: built without BPF objects");
            return;
        };
        for slot in 0..tpc_bundle::layout::KPROBE_FMODRET_SLOTS.1 {
            let name = format!("tpc_fmodret_{slot}");
            let plain = instructions(object, &name, &|_| Some(0)).unwrap();
            let moved = instructions(object, &name, &|m| {
                (m == "tpc_override_tasks").then_some(0x1234_5678)
            })
            .unwrap();
            assert_eq!(plain.len(), moved.len());
            let changed: Vec<usize> = (0..plain.len() / INSN)
                .filter(|i| plain[i * INSN..(i + 1) * INSN] != moved[i * INSN..(i + 1) * INSN])
                .collect();
            assert!(
                !changed.is_empty(),
                "{name}: no map reference was relocated"
            );
            for i in changed {
                let insn = &moved[i * INSN..(i + 1) * INSN];
                assert_eq!(insn[0], LD_IMM64, "{name}: instruction {i}");
                assert_eq!(insn[1] >> 4, 1, "{name}: src_reg of instruction {i}");
                assert_eq!(&insn[4..8], &0x1234_5678i32.to_le_bytes());
            }
        }
        let err = instructions(object, "tpc_fmodret_0", &|_| None).unwrap_err();
        assert!(err.contains("tpc_override_tasks"), "{err}");
        let err = instructions(object, "no_such_program", &|_| Some(0)).unwrap_err();
        assert!(err.contains("no program"), "{err}");
    }

    #[test]
    fn the_statistics_line_gives_the_instruction_count() {
        let log = "func#0 @0\nprocessed 17 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1\n";
        assert_eq!(processed(log), Some(17));
        assert_eq!(processed("R1 invalid mem access"), None);
    }
}
