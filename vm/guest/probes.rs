//! `tpc-vm-probes OBJECT`: the VM smoke test's loader. Loads the kprobe, the
//! fentry and the BPF LSM program of `vm/guest/probes.bpf.c` with aya (the
//! loader `tpc-runtime` uses), attaches them, opens a file of its own a few
//! times and checks that each program saw exactly those opens and read the
//! file's inode number through its CO-RE relocations. Prints one line per
//! program; exits 0 when all three fired as expected, 1 otherwise.

use std::{fs, os::unix::fs::MetadataExt, process::ExitCode};

use aya::{
    Btf, EbpfLoader,
    maps::Array,
    programs::{FEntry, KProbe, Lsm},
};

/// How many times the file is opened while the programs are attached.
const OPENS: u64 = 3;

/// (map slot, program, what it is attached to), as in `probes.bpf.c`.
const PROGRAMS: [(u32, &str, &str); 3] = [
    (0, "tpc_vm_kprobe", "kprobe on security_file_open"),
    (1, "tpc_vm_fentry", "fentry on security_file_open"),
    (2, "tpc_vm_lsm", "BPF LSM on file_open"),
];

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("tpc-vm-probes: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let object = std::env::args()
        .nth(1)
        .ok_or("usage: tpc-vm-probes OBJECT")?;
    let pid = std::process::id();
    let btf = Btf::from_sys_fs().map_err(|error| format!("reading kernel BTF: {error}"))?;
    let mut ebpf = EbpfLoader::new()
        .btf(Some(&btf))
        .override_global("target_tgid", &pid, true)
        .load_file(&object)
        .map_err(|error| format!("loading {object}: {error}"))?;

    let program = |name: &str| format!("program {name}");
    let kprobe: &mut KProbe = ebpf
        .program_mut(PROGRAMS[0].1)
        .ok_or_else(|| format!("{} is not in the object", program(PROGRAMS[0].1)))?
        .try_into()
        .map_err(|error| format!("{}: {error}", program(PROGRAMS[0].1)))?;
    kprobe
        .load()
        .and_then(|()| kprobe.attach("security_file_open", 0).map(drop))
        .map_err(|error| format!("kprobe: {error:?}"))?;
    let fentry: &mut FEntry = ebpf
        .program_mut(PROGRAMS[1].1)
        .ok_or_else(|| format!("{} is not in the object", program(PROGRAMS[1].1)))?
        .try_into()
        .map_err(|error| format!("{}: {error}", program(PROGRAMS[1].1)))?;
    fentry
        .load("security_file_open", &btf)
        .and_then(|()| fentry.attach().map(drop))
        .map_err(|error| format!("fentry: {error:?}"))?;
    let lsm: &mut Lsm = ebpf
        .program_mut(PROGRAMS[2].1)
        .ok_or_else(|| format!("{} is not in the object", program(PROGRAMS[2].1)))?
        .try_into()
        .map_err(|error| format!("{}: {error}", program(PROGRAMS[2].1)))?;
    lsm.load("file_open", &btf)
        .and_then(|()| lsm.attach().map(drop))
        .map_err(|error| format!("lsm: {error:?}"))?;

    let hits: Array<_, [u64; 2]> =
        Array::try_from(ebpf.map("hits").ok_or("map hits is not in the object")?)
            .map_err(|error| format!("map hits: {error}"))?;
    let read_hits = || -> Result<Vec<[u64; 2]>, String> {
        PROGRAMS
            .iter()
            .map(|(slot, name, _)| {
                hits.get(slot, 0)
                    .map_err(|error| format!("reading the hits of {name}: {error}"))
            })
            .collect()
    };

    let target = std::env::current_dir()
        .map_err(|error| format!("current directory: {error}"))?
        .join("probe-target");
    fs::write(&target, b"opened by tpc-vm-probes\n")
        .map_err(|error| format!("writing {}: {error}", target.display()))?;
    let inode = fs::metadata(&target)
        .map_err(|error| format!("{}: {error}", target.display()))?
        .ino();

    let before = read_hits()?;
    for _ in 0..OPENS {
        fs::File::open(&target)
            .map_err(|error| format!("opening {}: {error}", target.display()))?;
    }
    let after = read_hits()?;

    let mut all_fired = true;
    for (((_, name, what), before), after) in PROGRAMS.iter().zip(&before).zip(&after) {
        let fired = after[0] - before[0];
        let verdict = if fired == OPENS && after[1] == inode {
            "ok"
        } else {
            all_fired = false;
            "WRONG"
        };
        println!(
            "{verdict}: {what} ({name}): fired {fired} times for {OPENS} opens, last inode {} (the file's is {inode})",
            after[1]
        );
    }
    Ok(all_fired)
}
