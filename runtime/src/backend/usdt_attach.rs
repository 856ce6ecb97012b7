//! Attaching a loaded uprobe program at a USDT site with the probe's
//! semaphore counted. aya's uprobe attach has no `ref_ctr_offset`, and
//! programs that guard their probes with a semaphore (Python, most
//! `DTRACE_PROBE` users) run the probe's code only while the semaphore is
//! non-zero, so the uprobe is opened here: `perf_event_open` on the uprobe
//! PMU with the semaphore's file offset in `config` (bits 32..63,
//! `PERF_UPROBE_REF_CTR_OFFSET_SHIFT`), the file in `config1`, the site in
//! `config2`; then `PERF_EVENT_IOC_SET_BPF` and `PERF_EVENT_IOC_ENABLE`.
//! The kernel increments the semaphore while the event is open and
//! decrements it when the last one closes. Closing the fd detaches.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `PERF_EVENT_IOC_ENABLE`.
const IOC_ENABLE: libc::c_ulong = 0x2400;
/// `PERF_EVENT_IOC_SET_BPF`.
const IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
/// `PERF_ATTR_SIZE_VER1`: up to `config2`, all this needs.
const ATTR_SIZE: u32 = 72;
/// `PERF_FLAG_FD_CLOEXEC`.
const FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// An open uprobe with the program attached; dropping it detaches.
#[derive(Debug)]
pub struct UsdtLink {
    _event: OwnedFd,
}

fn uprobe_pmu() -> Result<u32, String> {
    let path = "/sys/bus/event_source/devices/uprobe/type";
    std::fs::read_to_string(path)
        .map_err(|e| format!("{path}: {e} (a kernel without uprobes?)"))?
        .trim()
        .parse()
        .map_err(|e| format!("{path}: {e}"))
}

/// `struct perf_event_attr` up to `config2` (`PERF_ATTR_SIZE_VER1`), in
/// the machine's byte order: a uprobe of the PMU `pmu` on the file whose
/// path is at `path_ptr`, at file offset `offset`, counting the semaphore at
/// `ref_ctr_offset`.
fn perf_attr(
    pmu: u32,
    path_ptr: u64,
    offset: u64,
    ref_ctr_offset: u64,
) -> [u8; ATTR_SIZE as usize] {
    let mut attr = [0u8; ATTR_SIZE as usize];
    attr[0..4].copy_from_slice(&pmu.to_ne_bytes()); // type
    attr[4..8].copy_from_slice(&ATTR_SIZE.to_ne_bytes()); // size
    attr[8..16].copy_from_slice(&(ref_ctr_offset << 32).to_ne_bytes()); // config
    attr[56..64].copy_from_slice(&path_ptr.to_ne_bytes()); // config1: uprobe_path
    attr[64..72].copy_from_slice(&offset.to_ne_bytes()); // config2: probe_offset
    attr
}

/// Attaches `program` (a loaded uprobe program) at file offset `offset` of
/// `path`, counting the semaphore at file offset `ref_ctr_offset` (0: the
/// probe has none).
pub fn attach(
    program: BorrowedFd<'_>,
    path: &str,
    offset: u64,
    ref_ctr_offset: u64,
) -> Result<UsdtLink, String> {
    let pmu = uprobe_pmu()?;
    let c_path = CString::new(path).map_err(|_| format!("{path}: a NUL in the path"))?;
    let attr = perf_attr(pmu, c_path.as_ptr() as u64, offset, ref_ctr_offset);
    #[expect(unsafe_code, reason = "the perf_event_open system call")]
    // SAFETY: attr is a valid perf_event_attr of ATTR_SIZE bytes whose
    // config1 points at c_path, alive across the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::c_int,
            0 as libc::c_int,
            -1 as libc::c_int,
            FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        let error = std::io::Error::last_os_error();
        let hint = if ref_ctr_offset != 0 && error.raw_os_error() == Some(libc::EINVAL) {
            " (kernels before 4.20 cannot count a USDT semaphore)"
        } else {
            ""
        };
        return Err(format!(
            "perf_event_open of a uprobe at {path}@{offset:#x}: {error}{hint}"
        ));
    }
    let fd = i32::try_from(fd).map_err(|_| "perf_event_open returned no fd".to_owned())?;
    #[expect(unsafe_code, reason = "taking ownership of the fd the kernel returned")]
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    let event = unsafe { OwnedFd::from_raw_fd(fd) };
    for (request, argument, what) in [
        (IOC_SET_BPF, program.as_raw_fd(), "PERF_EVENT_IOC_SET_BPF"),
        (IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE"),
    ] {
        #[expect(unsafe_code, reason = "the perf event ioctls")]
        // SAFETY: event is an open perf event fd; both requests take an int.
        let done = unsafe { libc::ioctl(event.as_raw_fd(), request, argument) };
        if done < 0 {
            return Err(format!(
                "{what} on the uprobe at {path}@{offset:#x}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(UsdtLink { _event: event })
}

#[cfg(test)]
mod tests {
    use super::perf_attr;

    #[test]
    fn the_attr_places_the_uprobe_fields_where_the_kernel_reads_them() {
        let attr = perf_attr(9, 0x1122_3344_5566_7788, 0x42_512a, 0xa8_426c);
        let word = |at: usize| u64::from_ne_bytes(attr[at..at + 8].try_into().unwrap_or_default());
        assert_eq!(
            u32::from_ne_bytes(attr[0..4].try_into().unwrap_or_default()),
            9
        );
        assert_eq!(
            u32::from_ne_bytes(attr[4..8].try_into().unwrap_or_default()),
            72
        );
        assert_eq!(
            word(8),
            0xa8_426c << 32,
            "config: ref_ctr_offset in bits 32..63"
        );
        assert_eq!(word(56), 0x1122_3344_5566_7788, "config1: the path");
        assert_eq!(word(64), 0x42_512a, "config2: the offset");
        assert!(
            attr[16..56].iter().all(|b| *b == 0),
            "no sampling, enabled at open"
        );
    }
}
