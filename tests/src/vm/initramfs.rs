//! The guest's root file system: files, binaries with the shared libraries
//! `ldd` says they load, and device nodes, written as the `newc` cpio
//! archive the kernel unpacks as its initramfs.
//!
//! The archive is written here rather than by `cpio -o -H newc`: every entry
//! is owned by root and dated 0 whoever runs the tests, `/dev/console` can
//! be a device node without root, and large binaries stream straight from
//! their files (no staging copy). It is not compressed: the kernel takes a
//! plain archive, and gunzip in an emulated CPU costs more than it saves.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    io::{self, Write},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use super::{VmError, find_on_path};

/// Where an entry's content comes from.
#[derive(Debug, Clone)]
enum Content {
    HostFile(PathBuf),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Entry {
    Directory { mode: u32 },
    File { content: Content, mode: u32 },
    Symlink { target: String },
    CharDevice { major: u32, minor: u32, mode: u32 },
}

/// An initramfs being put together; paths are absolute guest paths.
#[derive(Debug, Clone, Default)]
pub struct Initramfs {
    entries: BTreeMap<String, Entry>,
}

/// `guest` as an archive name (no leading `/`), or why it is not usable.
fn archive_name(guest: &str) -> Result<String, VmError> {
    let invalid = |why: &str| VmError::InvalidGuest {
        reason: format!("guest path `{guest}` {why}"),
    };
    let Some(relative) = guest.strip_prefix('/') else {
        return Err(invalid("is not absolute"));
    };
    if relative.is_empty() {
        return Err(invalid("is the root directory"));
    }
    if relative
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(invalid("has an empty, `.` or `..` component"));
    }
    Ok(relative.to_owned())
}

impl Initramfs {
    /// An empty archive (the root directory is implied).
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, guest: &str, entry: Entry) -> Result<(), VmError> {
        self.entries.insert(archive_name(guest)?, entry);
        Ok(())
    }

    /// A directory (parents of other entries are added without asking).
    pub fn add_directory(&mut self, guest: &str) -> Result<(), VmError> {
        self.insert(guest, Entry::Directory { mode: 0o755 })
    }

    /// A copy of host file `host` at `guest`, with the host file's
    /// permission bits.
    pub fn add_file(&mut self, guest: &str, host: &Path) -> Result<(), VmError> {
        let metadata = fs::metadata(host).map_err(|error| VmError::io("reading", host, error))?;
        if !metadata.is_file() {
            return Err(VmError::InvalidGuest {
                reason: format!("{} is not a regular file", host.display()),
            });
        }
        let mode = metadata.permissions().mode() & 0o7777;
        self.insert(
            guest,
            Entry::File {
                content: Content::HostFile(host.to_path_buf()),
                mode,
            },
        )
    }

    /// `bytes` as file `guest` with permission bits `mode`.
    pub fn add_bytes(&mut self, guest: &str, bytes: Vec<u8>, mode: u32) -> Result<(), VmError> {
        self.insert(
            guest,
            Entry::File {
                content: Content::Bytes(bytes),
                mode: mode & 0o7777,
            },
        )
    }

    /// A symbolic link at `guest` pointing at `target`.
    pub fn add_symlink(&mut self, guest: &str, target: &str) -> Result<(), VmError> {
        self.insert(
            guest,
            Entry::Symlink {
                target: target.to_owned(),
            },
        )
    }

    /// A character device node.
    pub fn add_char_device(
        &mut self,
        guest: &str,
        major: u32,
        minor: u32,
        mode: u32,
    ) -> Result<(), VmError> {
        self.insert(guest, Entry::CharDevice { major, minor, mode })
    }

    /// Executable `host` at `guest`, plus every shared library `ldd` says it
    /// loads, each at its host path (so the dynamic loader finds them where
    /// the binary was linked to look). A static binary brings nothing else.
    pub fn add_binary(&mut self, guest: &str, host: &Path) -> Result<(), VmError> {
        self.add_file(guest, host)?;
        if let Some(Entry::File { mode, .. }) = self.entries.get_mut(&archive_name(guest)?) {
            *mode |= 0o555;
        }
        for library in shared_libraries(host)? {
            let guest_path = library.to_string_lossy().into_owned();
            // the content behind a symlinked library, under the name asked for
            self.add_file(&guest_path, &library)?;
        }
        Ok(())
    }

    /// Whether the archive has an entry at `guest`.
    pub fn contains(&self, guest: &str) -> bool {
        archive_name(guest).is_ok_and(|name| self.entries.contains_key(&name))
    }

    /// Writes the archive (directories first, then everything in path
    /// order, then the trailer); returns its size in bytes.
    pub fn write_to(&self, out: &mut impl Write) -> Result<u64, VmError> {
        let mut writer = NewcWriter {
            out,
            written: 0,
            next_inode: 1,
        };
        let io_error =
            |error| VmError::io("writing the initramfs to", Path::new("(archive)"), error);
        let mut directories = BTreeSet::new();
        for (name, entry) in &self.entries {
            let mut parent = Path::new(name).parent();
            while let Some(dir) = parent.filter(|dir| !dir.as_os_str().is_empty()) {
                directories.insert(dir.to_string_lossy().into_owned());
                parent = dir.parent();
            }
            if matches!(entry, Entry::Directory { .. }) {
                directories.insert(name.clone());
            }
        }
        for dir in &directories {
            let mode = match self.entries.get(dir) {
                Some(Entry::Directory { mode }) => *mode,
                _ => 0o755,
            };
            writer
                .entry(dir, 0o040_000 | mode, 2, 0, 0, EntryData::None)
                .map_err(io_error)?;
        }
        for (name, entry) in &self.entries {
            match entry {
                Entry::Directory { .. } => {}
                Entry::File { content, mode } => {
                    let data = match content {
                        Content::Bytes(bytes) => EntryData::Bytes(bytes),
                        Content::HostFile(path) => EntryData::File(path),
                    };
                    writer
                        .entry(name, 0o100_000 | mode, 1, 0, 0, data)
                        .map_err(|error| match content {
                            Content::HostFile(path) => VmError::io("packing", path, error),
                            Content::Bytes(_) => io_error(error),
                        })?;
                }
                Entry::Symlink { target } => writer
                    .entry(
                        name,
                        0o120_777,
                        1,
                        0,
                        0,
                        EntryData::Bytes(target.as_bytes()),
                    )
                    .map_err(io_error)?,
                Entry::CharDevice { major, minor, mode } => writer
                    .entry(name, 0o020_000 | mode, 1, *major, *minor, EntryData::None)
                    .map_err(io_error)?,
            }
        }
        writer
            .entry("TRAILER!!!", 0, 1, 0, 0, EntryData::None)
            .map_err(io_error)?;
        Ok(writer.written)
    }
}

enum EntryData<'a> {
    None,
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// The `newc` (SVR4, no checksum) format: a 110-byte ASCII header, the
/// NUL-terminated name and the data, each padded to 4 bytes.
struct NewcWriter<'w, W: Write> {
    out: &'w mut W,
    written: u64,
    next_inode: u32,
}

impl<W: Write> NewcWriter<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let padding = (4 - self.written % 4) % 4;
        self.put(&[0; 3][..usize::try_from(padding).unwrap_or(0)])
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        links: u32,
        rdev_major: u32,
        rdev_minor: u32,
        data: EntryData<'_>,
    ) -> io::Result<()> {
        let (size, file) = match data {
            EntryData::None => (0, None),
            EntryData::Bytes(bytes) => (bytes.len() as u64, None),
            EntryData::File(path) => (fs::metadata(path)?.len(), Some(path)),
        };
        let size32 = u32::try_from(size).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "file larger than newc's 4 GiB")
        })?;
        let name_size = u32::try_from(name.len() + 1)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name too long"))?;
        let inode = self.next_inode;
        self.next_inode += 1;
        let fields = [
            inode, mode, 0, 0, links, 0, size32, 0, 0, rdev_major, rdev_minor, name_size, 0,
        ];
        let mut header = String::from("070701");
        for field in fields {
            header.push_str(&format!("{field:08x}"));
        }
        self.put(header.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()?;
        match (data, file) {
            (EntryData::Bytes(bytes), _) => self.put(bytes)?,
            (_, Some(path)) => {
                let mut source = fs::File::open(path)?;
                let copied = io::copy(&mut source, self.out)?;
                self.written += copied;
                if copied != size {
                    return Err(io::Error::other(format!(
                        "{} changed size while being packed",
                        path.display()
                    )));
                }
            }
            _ => {}
        }
        self.pad()
    }
}

/// The shared libraries (and the dynamic loader) `binary` needs, as `ldd`
/// lists them; empty for a static binary.
pub fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, VmError> {
    if find_on_path("ldd").is_none() {
        return Err(VmError::Missing {
            piece: "ldd".to_owned(),
            help: "needed to find the shared libraries of guest binaries (Debian package libc-bin)"
                .to_owned(),
        });
    }
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|error| VmError::io("running ldd on", binary, error))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stdout.contains("not a dynamic executable")
        || stderr.contains("not a dynamic executable")
        || stdout.contains("statically linked")
    {
        return Ok(Vec::new());
    }
    if !output.status.success() {
        return Err(VmError::Tool {
            command: format!("ldd {}", binary.display()),
            status: output.status.to_string(),
            stderr: stderr.trim().to_owned(),
        });
    }
    parse_ldd(&stdout).map_err(|missing| VmError::Tool {
        command: format!("ldd {}", binary.display()),
        status: "libraries not found".to_owned(),
        stderr: missing.join(", "),
    })
}

/// The library paths in `ldd` output, or the names it could not find.
fn parse_ldd(listing: &str) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for line in listing.lines().map(str::trim) {
        let (name, resolved) = match line.split_once(" => ") {
            Some((name, resolved)) => (name, resolved),
            None => (line, line),
        };
        if resolved.starts_with("not found") {
            missing.push(name.to_owned());
            continue;
        }
        // "/lib/x86_64-linux-gnu/libc.so.6 (0x…)"; the vDSO has no path
        let path = resolved.split(" (").next().unwrap_or(resolved).trim();
        if path.starts_with('/') {
            found.push(PathBuf::from(path));
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_listing_gives_every_library_and_the_loader() {
        let listing = "\tlinux-vdso.so.1 (0x00007ffc5b1f2000)\n\
            \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0e)\n\
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0d)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f0f)\n";
        assert_eq!(
            parse_ldd(listing),
            Ok(vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ])
        );
    }

    #[test]
    fn ldd_listing_with_a_missing_library_names_it() {
        let listing =
            "\tlibbpf.so.1 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n";
        assert_eq!(parse_ldd(listing), Err(vec!["libbpf.so.1".to_owned()]));
    }

    #[test]
    fn guest_paths_must_be_absolute_and_plain() {
        let mut image = Initramfs::new();
        assert!(image.add_bytes("relative/file", Vec::new(), 0o644).is_err());
        assert!(image.add_bytes("/a/../b", Vec::new(), 0o644).is_err());
        assert!(image.add_bytes("/a//b", Vec::new(), 0o644).is_err());
        assert!(image.add_bytes("/", Vec::new(), 0o644).is_err());
        assert!(image.add_bytes("/a/b", Vec::new(), 0o644).is_ok());
    }

    /// One entry read back: name, mode, (rdev major, minor), data.
    type ReadEntry = (String, u32, (u32, u32), Vec<u8>);

    fn read_newc(mut archive: &[u8]) -> Vec<ReadEntry> {
        let mut entries = Vec::new();
        let mut offset = 0usize;
        let field = |header: &[u8], index: usize| {
            let text = std::str::from_utf8(&header[6 + 8 * index..14 + 8 * index]).unwrap_or("");
            u32::from_str_radix(text, 16).unwrap_or(u32::MAX)
        };
        let align = |value: usize| value.div_ceil(4) * 4;
        loop {
            let header = &archive[..110];
            assert_eq!(&header[..6], b"070701", "bad magic at offset {offset}");
            let mode = field(header, 1);
            let size = field(header, 6) as usize;
            let rdev = (field(header, 9), field(header, 10));
            let name_size = field(header, 11) as usize;
            let name = String::from_utf8_lossy(&archive[110..110 + name_size - 1]).into_owned();
            let data_start = align(110 + name_size);
            let data = archive[data_start..data_start + size].to_vec();
            let next = align(data_start + size);
            offset += next;
            archive = &archive[next..];
            if name == "TRAILER!!!" {
                assert!(archive.is_empty(), "bytes after the trailer");
                return entries;
            }
            entries.push((name, mode, rdev, data));
        }
    }

    /// GNU cpio reads the archive back with the same entries (a check of the
    /// format against another implementation than the test's own reader).
    #[test]
    fn gnu_cpio_lists_the_same_entries() {
        if find_on_path("cpio").is_none() {
            assert!(
                !crate::vm::in_ci(),
                "cpio is missing (apt-get install cpio); CI=true, so this is a failure"
            );
            eprintln!("skipping gnu_cpio_lists_the_same_entries: cpio is not installed");
            return;
        }
        let mut image = Initramfs::new();
        image
            .add_bytes("/a/b/c.txt", b"odd length".to_vec(), 0o644)
            .and_then(|()| image.add_symlink("/a/link", "b/c.txt"))
            .and_then(|()| image.add_char_device("/dev/console", 5, 1, 0o600))
            .unwrap_or_else(|error| panic!("{error}"));
        let mut archive = Vec::new();
        image
            .write_to(&mut archive)
            .unwrap_or_else(|error| panic!("{error}"));
        let mut child = Command::new("cpio")
            .args(["-it", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cpio: {error}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&archive)
                .unwrap_or_else(|error| panic!("cpio: {error}"));
        }
        let listed = child
            .wait_with_output()
            .unwrap_or_else(|error| panic!("cpio: {error}"));
        assert!(listed.status.success(), "cpio -it failed");
        assert_eq!(
            String::from_utf8_lossy(&listed.stdout),
            "a\na/b\ndev\na/b/c.txt\na/link\ndev/console\n"
        );
    }

    #[test]
    fn archive_holds_parents_first_then_entries_with_their_modes() {
        let mut image = Initramfs::new();
        image
            .add_bytes("/tpc-vm/scenarios/a.sh", b"echo hi\n".to_vec(), 0o755)
            .and_then(|()| image.add_char_device("/dev/console", 5, 1, 0o600))
            .and_then(|()| image.add_symlink("/bin/sh", "busybox"))
            .and_then(|()| image.add_bytes("/odd", vec![1, 2, 3, 4, 5], 0o644))
            .unwrap_or_else(|error| panic!("{error}"));
        let mut archive = Vec::new();
        let size = image
            .write_to(&mut archive)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(size, archive.len() as u64);
        assert_eq!(archive.len() % 4, 0);
        let entries = read_newc(&archive);
        let names: Vec<&str> = entries.iter().map(|entry| entry.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "dev",
                "tpc-vm",
                "tpc-vm/scenarios",
                "bin/sh",
                "dev/console",
                "odd",
                "tpc-vm/scenarios/a.sh"
            ]
        );
        let by_name = |wanted: &str| {
            entries
                .iter()
                .find(|entry| entry.0 == wanted)
                .unwrap_or_else(|| panic!("no {wanted}"))
        };
        assert_eq!(by_name("tpc-vm").1, 0o040_755);
        assert_eq!(by_name("bin/sh").1, 0o120_777);
        assert_eq!(by_name("bin/sh").3, b"busybox");
        assert_eq!(by_name("dev/console").1, 0o020_600);
        assert_eq!(by_name("dev/console").2, (5, 1));
        assert_eq!(by_name("odd").3, [1, 2, 3, 4, 5]);
        assert_eq!(by_name("tpc-vm/scenarios/a.sh").1, 0o100_755);
        assert_eq!(by_name("tpc-vm/scenarios/a.sh").3, b"echo hi\n");
    }
}
