//! A minimal reader of POSIX (ustar/GNU) tar archives: regular files only,
//! enough to read a tarball of tracefs `format` files.

use crate::btf::error::BtfError;

const BLOCK: usize = 512;

/// One regular file in an archive.
pub(crate) struct TarEntry<'a> {
    pub path: String,
    pub data: &'a [u8],
}

/// Lists the regular files of an uncompressed tar archive.
pub(crate) fn entries<'a>(archive: &'a [u8], what: &str) -> Result<Vec<TarEntry<'a>>, BtfError> {
    let error = |reason: String| BtfError::Tar {
        what: what.to_string(),
        reason,
    };
    let mut out = Vec::new();
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while at + BLOCK <= archive.len() {
        let header = &archive[at..at + BLOCK];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let size = parse_octal(&header[124..136])
            .ok_or_else(|| error(format!("bad size field at byte {at}")))?;
        let size = usize::try_from(size).map_err(|_| error("entry too large".into()))?;
        let data_start = at + BLOCK;
        let data_end = data_start
            .checked_add(size)
            .filter(|&end| end <= archive.len())
            .ok_or_else(|| error(format!("entry at byte {at} runs past the end")))?;
        let type_flag = header[156];
        let name = c_string(&header[0..100]);
        let prefix = if &header[257..262] == b"ustar" {
            c_string(&header[345..500])
        } else {
            String::new()
        };
        let path = match long_name.take() {
            Some(long) => long,
            None if prefix.is_empty() => name,
            None => format!("{prefix}/{name}"),
        };
        match type_flag {
            b'0' | 0 => out.push(TarEntry {
                path,
                data: &archive[data_start..data_end],
            }),
            // GNU long name: the next entry's path is this entry's data.
            b'L' => long_name = Some(c_string(&archive[data_start..data_end])),
            _ => {}
        }
        at = data_start + size.div_ceil(BLOCK) * BLOCK;
    }
    Ok(out)
}

fn c_string(bytes: &[u8]) -> String {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..len]).into_owned()
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    fn header(name: &str, size: usize, flag: u8) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK];
        block[..name.len()].copy_from_slice(name.as_bytes());
        let size_field = format!("{size:011o}\0");
        block[124..136].copy_from_slice(size_field.as_bytes());
        block[156] = flag;
        block[257..262].copy_from_slice(b"ustar");
        block
    }

    #[test]
    fn reads_files_and_skips_directories() {
        let mut archive = header("events/", 0, b'5');
        archive.extend(header("events/a/b/format", 5, b'0'));
        let mut data = b"hello".to_vec();
        data.resize(BLOCK, 0);
        archive.extend(data);
        archive.extend(vec![0u8; BLOCK * 2]);
        let files = entries(&archive, "test").unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "events/a/b/format");
        assert_eq!(files[0].data, b"hello");
    }

    #[test]
    fn truncated_archive_is_an_error() {
        let mut archive = header("x", 4096, b'0');
        archive.extend(vec![0u8; 10]);
        assert!(entries(&archive, "test").is_err());
    }
}
