//! Exec ids: base64 of "<node>:<boot-time ns>:<pid>", the shape Tetragon uses, unique across pid reuse.

/// The exec id of the process image `pid` started at `exec_ktime` (boot-time
/// ns of its exec or fork) on `node`.
pub fn exec_id(node: &str, exec_ktime: u64, pid: u32) -> String {
    base64_standard(format!("{node}:{exec_ktime}:{pid}").as_bytes())
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64_standard(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = chunk.get(1).copied().map_or(0, u32::from);
        let b2 = chunk.get(2).copied().map_or(0, u32::from);
        let triple = (b0 << 16) | (b1 << 8) | b2;
        let symbols = [
            (triple >> 18) & 63,
            (triple >> 12) & 63,
            (triple >> 6) & 63,
            triple & 63,
        ];
        for (index, symbol) in symbols.iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(ALPHABET[*symbol as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_standard(input.as_bytes()), expected);
        }
    }

    #[test]
    fn reproduces_a_tetragon_exec_id() {
        // from Tetragon's exported sample events
        assert_eq!(
            exec_id("minikube", 3_349_766_462_822, 38_313),
            "bWluaWt1YmU6MzM0OTc2NjQ2MjgyMjozODMxMw=="
        );
    }

    #[test]
    fn pid_reuse_gives_a_new_id() {
        assert_ne!(exec_id("n", 1, 7), exec_id("n", 2, 7));
    }
}
