//! USDT probes (SystemTap SDT notes) of an ELF file: where a probe sits in
//! the file, its semaphore, and how each of its arguments is read.
//!
//! A probe is a `stapsdt` note (type 3) in a `SHT_NOTE` section: the
//! probe's address, the link-time address of `.stapsdt.base`, the
//! semaphore's address, then `provider\0name\0args\0`. The address moves
//! with `.stapsdt.base` when the file was prelinked; uprobes take file
//! offsets, found through the program header that maps the address. The
//! argument string lists `SIZE@OPERAND` per argument in the assembler's
//! syntax (`-4@%eax`, `8@-16(%rbp)`, `4@$5`, `-1@-96(%rbp,%rax,8)`), read
//! here the way Tetragon's agent reads it (`pkg/elf/usdt*.go`), for
//! x86-64.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection};

/// How one argument is computed (`struct tpc_usdt_arg`'s `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UsdtArgKind {
    /// A constant (`$imm`), in `val_off`.
    Const,
    /// A register's value.
    Reg,
    /// The memory at a register plus `val_off`.
    RegDeref,
    /// The memory at base + index << scale + `val_off`.
    Sib,
}

/// One argument of a probe, ready for the kernel table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UsdtArg {
    pub kind: UsdtArgKind,
    /// Offset of the (base) register in `struct pt_regs`.
    pub reg_off: u16,
    /// Offset of the index register (`Sib`).
    pub idx_off: u16,
    /// The constant, or the displacement.
    pub val_off: u64,
    /// log2 of the index's scale (`Sib`).
    pub scale: u8,
    /// Size of the value in bytes (1, 2, 4 or 8).
    pub size: u8,
    pub signed: bool,
}

impl UsdtArg {
    /// 64 − bits of the value: the shift that truncates and extends it.
    pub fn shift(&self) -> u8 {
        64 - 8 * self.size
    }
}

/// One site of a probe in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsdtSite {
    /// File offset of the probe instruction (a uprobe's offset).
    pub offset: u64,
    /// File offset of the semaphore, 0 when the probe has none. The kernel
    /// counts attached uprobes there (`ref_ctr_offset`), which makes the
    /// program run the probe's code.
    pub ref_ctr_offset: u64,
    pub args: Vec<UsdtArg>,
    /// The argument string as the note has it.
    pub args_text: String,
}

/// The sites of `provider:name` in the ELF file `path`.
pub fn sites(path: &str, provider: &str, name: &str) -> Result<Vec<UsdtSite>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    sites_in(&data, provider, name).map_err(|e| format!("{path}: {e}"))
}

/// A probe as one hook reads it: its sites, and the argument layout they
/// share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsdtProbe {
    pub sites: Vec<UsdtSite>,
    pub args: Vec<UsdtArg>,
}

/// The probe `provider:name` of `path`: an error when the file has none, or
/// when its sites place the arguments differently (one hook reads one
/// layout; Tetragon loads a program per site instead).
pub fn probe(path: &str, provider: &str, name: &str) -> Result<UsdtProbe, String> {
    let sites = sites(path, provider, name)?;
    let Some(first) = sites.first() else {
        return Err(format!("{path} has no USDT probe {provider}:{name}"));
    };
    if let Some(other) = sites.iter().find(|s| s.args != first.args) {
        return Err(format!(
            "the {} sites of {provider}:{name} in {path} place the arguments differently \
             (`{}` and `{}`); tpc reads one layout per probe",
            sites.len(),
            first.args_text,
            other.args_text
        ));
    }
    let args = first.args.clone();
    Ok(UsdtProbe { sites, args })
}

/// [`sites`] on the file's bytes.
pub fn sites_in(data: &[u8], provider: &str, name: &str) -> Result<Vec<UsdtSite>, String> {
    let file =
        ElfFile64::<Endianness>::parse(data).map_err(|e| format!("not a 64-bit ELF file: {e}"))?;
    let endian = file.endian();
    let header = file.elf_header();
    let base = file
        .section_by_name(".stapsdt.base")
        .map(|s| s.address())
        .unwrap_or(0);
    let segments = header
        .program_headers(endian, data)
        .map_err(|e| format!("program headers: {e}"))?;
    let to_offset = |addr: u64, executable: bool| -> Option<u64> {
        segments.iter().find_map(|p| {
            let vaddr = p.p_vaddr(endian);
            let filesz = p.p_filesz(endian);
            let exec = p.p_flags(endian).0 & elf::PF_X.0 != 0;
            (p.p_type(endian) == elf::PT_LOAD
                && exec == executable
                && addr >= vaddr
                && addr < vaddr + filesz.max(p.p_memsz(endian)))
            .then(|| addr - vaddr + p.p_offset(endian))
        })
    };
    let sections = header
        .sections(endian, data)
        .map_err(|e| format!("section headers: {e}"))?;
    let mut found = Vec::new();
    for section in sections.iter() {
        let Some(mut notes) = section
            .notes(endian, data)
            .map_err(|e| format!("notes: {e}"))?
        else {
            continue;
        };
        while let Some(note) = notes.next().map_err(|e| format!("notes: {e}"))? {
            if note.name() != b"stapsdt" || note.n_type(endian).0 != 3 {
                continue;
            }
            let desc = note.desc();
            if desc.len() < 24 {
                return Err("a stapsdt note shorter than its three addresses".into());
            }
            let word = |at: usize| {
                let bytes: [u8; 8] = desc[at..at + 8].try_into().unwrap_or_default();
                if endian == Endianness::Little {
                    u64::from_le_bytes(bytes)
                } else {
                    u64::from_be_bytes(bytes)
                }
            };
            let (pc, note_base, sema) = (word(0), word(8), word(16));
            let mut strings = desc[24..].split(|b| *b == 0);
            let mut text = || {
                strings
                    .next()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default()
            };
            let (note_provider, note_name, args_text) = (text(), text(), text());
            if note_provider != provider || note_name != name {
                continue;
            }
            let mut pc_abs = pc;
            if base != 0 && note_base != 0 {
                pc_abs = pc.wrapping_add(base).wrapping_sub(note_base);
            }
            let offset = to_offset(pc_abs, true).ok_or_else(|| {
                format!("probe {provider}:{name} at {pc_abs:#x} is in no executable segment")
            })?;
            let ref_ctr_offset = if sema == 0 {
                0
            } else {
                to_offset(sema, false).ok_or_else(|| {
                    format!("the semaphore of {provider}:{name} at {sema:#x} is in no data segment")
                })?
            };
            let args = parse_args(&args_text)
                .map_err(|e| format!("probe {provider}:{name}: arguments `{args_text}`: {e}"))?;
            found.push(UsdtSite {
                offset,
                ref_ctr_offset,
                args,
                args_text,
            });
        }
    }
    Ok(found)
}

/// The kernel table entry of an argument (`struct tpc_usdt_arg`).
pub fn kernel_arg(arg: &UsdtArg) -> tpc_bundle::layout::KernelUsdtArg {
    tpc_bundle::layout::KernelUsdtArg {
        kind: match arg.kind {
            UsdtArgKind::Const => 1,
            UsdtArgKind::Reg => 2,
            UsdtArgKind::RegDeref => 3,
            UsdtArgKind::Sib => 4,
        },
        reg_off: arg.reg_off,
        idx_off: arg.idx_off,
        val_off: arg.val_off,
        scale: arg.scale,
        shift: arg.shift(),
        signed: arg.signed,
    }
}

/// Every argument of a note's argument string.
pub fn parse_args(text: &str) -> Result<Vec<UsdtArg>, String> {
    text.split_whitespace().map(parse_arg).collect()
}

fn parse_arg(spec: &str) -> Result<UsdtArg, String> {
    let (size, operand) = spec
        .split_once('@')
        .ok_or_else(|| format!("`{spec}` has no SIZE@"))?;
    let size: i32 = size
        .parse()
        .map_err(|_| format!("`{spec}`: size `{size}` is not a number"))?;
    let signed = size < 0;
    let size = u8::try_from(size.unsigned_abs())
        .ok()
        .filter(|s| matches!(s, 1 | 2 | 4 | 8))
        .ok_or_else(|| format!("`{spec}`: size {size} is not 1, 2, 4 or 8"))?;
    let mut arg = UsdtArg {
        kind: UsdtArgKind::Const,
        reg_off: 0,
        idx_off: 0,
        val_off: 0,
        scale: 0,
        size,
        signed,
    };
    if let Some(imm) = operand.strip_prefix('$') {
        arg.val_off = parse_int(imm).ok_or_else(|| format!("`{spec}`: constant `{imm}`"))? as u64;
        return Ok(arg);
    }
    if let Some(reg) = operand.strip_prefix('%') {
        arg.kind = UsdtArgKind::Reg;
        arg.reg_off = register(reg).ok_or_else(|| format!("`{spec}`: register `{reg}`"))?;
        return Ok(arg);
    }
    let open = operand
        .find('(')
        .ok_or_else(|| format!("`{spec}`: operand `{operand}` not understood"))?;
    let inner = operand[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| format!("`{spec}`: no closing parenthesis"))?;
    let displacement = &operand[..open];
    arg.val_off = if displacement.is_empty() {
        0
    } else {
        parse_int(displacement).ok_or_else(|| format!("`{spec}`: displacement `{displacement}`"))?
            as u64
    };
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    let reg = |text: &str| -> Result<u16, String> {
        text.strip_prefix('%')
            .and_then(register)
            .ok_or_else(|| format!("`{spec}`: register `{text}`"))
    };
    match parts.as_slice() {
        [base] => {
            arg.kind = UsdtArgKind::RegDeref;
            arg.reg_off = reg(base)?;
        }
        [base, index] | [base, index, _] => {
            arg.kind = UsdtArgKind::Sib;
            arg.reg_off = reg(base)?;
            arg.idx_off = reg(index)?;
            arg.scale = match parts.get(2).copied().unwrap_or("1") {
                "1" => 0,
                "2" => 1,
                "4" => 2,
                "8" => 3,
                other => return Err(format!("`{spec}`: scale `{other}`")),
            };
        }
        _ => return Err(format!("`{spec}`: operand `{operand}` not understood")),
    }
    Ok(arg)
}

fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    Some(if negative { -value } else { value })
}

/// Offset in x86-64's `struct pt_regs` of a register, by any of its names
/// (`rax`, `eax`, `ax`, `al`; `r8`, `r8d`, `r8w`, `r8b`). The high bytes
/// (`ah`, ...) are refused, as Tetragon's table and libbpf refuse them: a
/// read at the register would give the low byte.
fn register(name: &str) -> Option<u16> {
    const REGS: &[(&[&str], u16)] = &[
        (&["r15", "r15d", "r15w", "r15b"], 0),
        (&["r14", "r14d", "r14w", "r14b"], 8),
        (&["r13", "r13d", "r13w", "r13b"], 16),
        (&["r12", "r12d", "r12w", "r12b"], 24),
        (&["rbp", "ebp", "bp", "bpl"], 32),
        (&["rbx", "ebx", "bx", "bl"], 40),
        (&["r11", "r11d", "r11w", "r11b"], 48),
        (&["r10", "r10d", "r10w", "r10b"], 56),
        (&["r9", "r9d", "r9w", "r9b"], 64),
        (&["r8", "r8d", "r8w", "r8b"], 72),
        (&["rax", "eax", "ax", "al"], 80),
        (&["rcx", "ecx", "cx", "cl"], 88),
        (&["rdx", "edx", "dx", "dl"], 96),
        (&["rsi", "esi", "si", "sil"], 104),
        (&["rdi", "edi", "di", "dil"], 112),
        (&["rip", "eip", "ip"], 128),
        (&["rsp", "esp", "sp", "spl"], 152),
    ];
    REGS.iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, offset)| *offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_strings_parse_as_tetragon_reads_them() {
        let args = parse_args("8@%rbp -4@%eax -4@112(%rsp) 4@$-9 -1@-96(%rbp,%rax,8) 2@(%rdi)")
            .unwrap_or_default();
        assert_eq!(args.len(), 6);
        assert_eq!(
            (args[0].kind, args[0].reg_off, args[0].size, args[0].signed),
            (UsdtArgKind::Reg, 32, 8, false)
        );
        assert_eq!(
            (args[1].kind, args[1].reg_off, args[1].size, args[1].signed),
            (UsdtArgKind::Reg, 80, 4, true)
        );
        assert_eq!(
            (args[2].kind, args[2].reg_off, args[2].val_off),
            (UsdtArgKind::RegDeref, 152, 112)
        );
        assert_eq!(
            (args[3].kind, args[3].val_off as i64),
            (UsdtArgKind::Const, -9)
        );
        assert_eq!(
            (
                args[4].kind,
                args[4].reg_off,
                args[4].idx_off,
                args[4].scale,
                args[4].val_off as i64
            ),
            (UsdtArgKind::Sib, 32, 80, 3, -96)
        );
        assert_eq!(
            (args[5].kind, args[5].reg_off, args[5].val_off),
            (UsdtArgKind::RegDeref, 112, 0)
        );
        assert_eq!(args[1].shift(), 32);
    }

    /// A little-endian ELF64 file with two PT_LOAD segments (code at file
    /// offset 0x1000 for 0x401000, data at 0x2000 for 0x603000), a
    /// `.stapsdt.base` moved by 0x10 since link time, and `notes`.
    fn elf_with_notes(notes: &[(&str, &str, &str, u64, u64)]) -> Vec<u8> {
        let mut desc_notes = Vec::new();
        for (provider, name, args, pc, sema) in notes {
            let mut desc = Vec::new();
            desc.extend_from_slice(&pc.to_le_bytes());
            desc.extend_from_slice(&0x50_0000u64.to_le_bytes()); // base at link time
            desc.extend_from_slice(&sema.to_le_bytes());
            for text in [provider, name, args] {
                desc.extend_from_slice(text.as_bytes());
                desc.push(0);
            }
            let descsz = desc.len() as u32;
            while desc.len() % 4 != 0 {
                desc.push(0);
            }
            desc_notes.extend_from_slice(&8u32.to_le_bytes());
            desc_notes.extend_from_slice(&descsz.to_le_bytes());
            desc_notes.extend_from_slice(&3u32.to_le_bytes());
            desc_notes.extend_from_slice(b"stapsdt\0");
            desc_notes.extend_from_slice(&desc);
        }
        let shstrtab = b"\0.note.stapsdt\0.stapsdt.base\0.shstrtab\0";
        let notes_at = 0x3000usize;
        let strtab_at = notes_at + desc_notes.len();
        let shoff = (strtab_at + shstrtab.len()).div_ceil(8) * 8;
        let mut file = vec![0u8; shoff + 4 * 64];
        let put = |file: &mut Vec<u8>, at: usize, bytes: &[u8]| {
            file[at..at + bytes.len()].copy_from_slice(bytes);
        };
        put(&mut file, 0, b"\x7fELF\x02\x01\x01");
        put(&mut file, 16, &3u16.to_le_bytes()); // ET_DYN
        put(&mut file, 18, &62u16.to_le_bytes()); // x86-64
        put(&mut file, 20, &1u32.to_le_bytes());
        put(&mut file, 32, &64u64.to_le_bytes()); // e_phoff
        put(&mut file, 40, &(shoff as u64).to_le_bytes());
        put(&mut file, 52, &64u16.to_le_bytes());
        put(&mut file, 54, &56u16.to_le_bytes());
        put(&mut file, 56, &2u16.to_le_bytes());
        put(&mut file, 58, &64u16.to_le_bytes());
        put(&mut file, 60, &4u16.to_le_bytes());
        put(&mut file, 62, &3u16.to_le_bytes()); // .shstrtab
        for (i, (flags, offset, vaddr)) in [(5u32, 0x1000u64, 0x40_1000u64), (6, 0x2000, 0x60_3000)]
            .into_iter()
            .enumerate()
        {
            let at = 64 + 56 * i;
            put(&mut file, at, &1u32.to_le_bytes()); // PT_LOAD
            put(&mut file, at + 4, &flags.to_le_bytes());
            put(&mut file, at + 8, &offset.to_le_bytes());
            put(&mut file, at + 16, &vaddr.to_le_bytes());
            put(&mut file, at + 24, &vaddr.to_le_bytes());
            put(&mut file, at + 32, &0x1000u64.to_le_bytes());
            put(&mut file, at + 40, &0x1000u64.to_le_bytes());
        }
        put(&mut file, notes_at, &desc_notes);
        put(&mut file, strtab_at, shstrtab);
        // (name, type, addr, offset, size, align)
        let sections: [(u32, u32, u64, usize, usize, u64); 3] = [
            (1, 7, 0, notes_at, desc_notes.len(), 4),
            (15, 1, 0x50_0010, 0x1000, 8, 8),
            (29, 3, 0, strtab_at, shstrtab.len(), 1),
        ];
        for (i, (name, kind, addr, offset, size, align)) in sections.into_iter().enumerate() {
            let at = shoff + 64 * (i + 1);
            put(&mut file, at, &name.to_le_bytes());
            put(&mut file, at + 4, &kind.to_le_bytes());
            put(&mut file, at + 16, &addr.to_le_bytes());
            put(&mut file, at + 24, &(offset as u64).to_le_bytes());
            put(&mut file, at + 32, &(size as u64).to_le_bytes());
            put(&mut file, at + 48, &align.to_le_bytes());
        }
        file
    }

    #[test]
    fn notes_give_file_offsets_moved_with_the_base_and_the_semaphore() {
        let file = elf_with_notes(&[
            ("other", "probe", "8@%rdi", 0x40_1100, 0),
            ("app", "start", "-4@%eax 8@-8(%rbp)", 0x40_1234, 0x60_3010),
            ("app", "start", "-4@%eax 8@-8(%rbp)", 0x40_1300, 0x60_3010),
        ]);
        let sites = sites_in(&file, "app", "start").unwrap_or_default();
        assert_eq!(sites.len(), 2);
        assert_eq!(
            sites[0].offset, 0x1244,
            "0x401234 + 0x10 in the code segment"
        );
        assert_eq!(sites[1].offset, 0x1310);
        assert_eq!(
            sites[0].ref_ctr_offset, 0x2010,
            "the semaphore in the data segment"
        );
        assert_eq!(sites[0].args.len(), 2);
        assert_eq!(sites[0].args_text, "-4@%eax 8@-8(%rbp)");
        assert!(
            sites_in(&file, "app", "stop")
                .unwrap_or_default()
                .is_empty()
        );
        let outside = elf_with_notes(&[("app", "start", "", 0x70_0000, 0)]);
        let error = sites_in(&outside, "app", "start").err().unwrap_or_default();
        assert!(error.contains("no executable segment"), "{error}");
        let bad_sema = elf_with_notes(&[("app", "start", "", 0x40_1234, 0x40_1000)]);
        let error = sites_in(&bad_sema, "app", "start")
            .err()
            .unwrap_or_default();
        assert!(error.contains("no data segment"), "{error}");
        assert!(sites_in(b"not an elf", "app", "start").is_err());
    }

    #[test]
    fn bad_argument_strings_say_what_is_wrong() {
        let error = |text: &str| parse_args(text).err().unwrap_or_default();
        assert!(error("3@%rax").contains("size 3"));
        assert!(error("8@%xmm0").contains("register `xmm0`"));
        assert!(error("8rax").contains("no SIZE@"));
        assert!(error("1@%ah").contains("register `ah`"));
    }
}
