//! The `.tpcb` container: a versioned header, the bundle as canonical JSON,
//! a sha256 digest, and an optional ed25519 signature.
//!
//! ```text
//! offset  size  what
//! 0       4     magic "TPCB"
//! 4       4     format version (u32, little-endian)
//! 8       8     body length N (u64, little-endian)
//! 16      N     body: the [`Bundle`] as JSON (UTF-8, fields in declaration order)
//! 16+N    32    sha256 of bytes 0..16+N
//! 48+N    100   optional: "SIG1", the signer's ed25519 public key (32 bytes),
//!               the signature (64 bytes) of bytes 0..48+N
//! ```
//!
//! The body is self-describing (every field named), and the same bundle
//! always encodes to the same bytes: the model has no maps with unordered
//! keys and no floating-point values. Any change to any byte is refused on
//! read: the digest covers header and body, an embedded signature covers
//! the digest and is always checked, and nothing may follow the end.

use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::model::{Bundle, FORMAT_VERSION};

const MAGIC: &[u8; 4] = b"TPCB";
/// Whether `bytes` start like a bundle file (its magic), whatever follows.
pub fn looks_like_bundle(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

const SIGNATURE_MAGIC: &[u8; 4] = b"SIG1";
const HEADER_LEN: usize = 16;
const DIGEST_LEN: usize = 32;
const SIGNATURE_BLOCK_LEN: usize = 4 + 32 + 64;

/// Why a bundle file was refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a tpc bundle (the file does not start with `TPCB`)")]
    NotABundle,
    #[error("the bundle is cut short ({len} bytes; the header says {expected})")]
    Truncated { len: usize, expected: u64 },
    #[error(
        "bundle format version {found} is not supported (this tpc reads version {supported}); rebuild the bundle with this tpc"
    )]
    UnknownVersion { found: u32, supported: u32 },
    #[error(
        "the bundle's digest does not match its contents: the file was changed or damaged after `tpc build`"
    )]
    DigestMismatch,
    #[error("{extra} unexpected bytes after the end of the bundle")]
    TrailingBytes { extra: usize },
    #[error("the bundle's signature is not valid: the file was changed after it was signed")]
    BadSignature,
    #[error("the bundle is not signed, and --trust requires a signature")]
    Unsigned,
    #[error("the bundle is signed by key {found}, which is not a trusted key")]
    UntrustedSigner { found: String },
    #[error("the bundle body is not valid: {reason}")]
    BadBody { reason: String },
    #[error("cannot encode the bundle: {reason}")]
    Encode { reason: String },
    #[error("bad key file: {reason}")]
    BadKey { reason: String },
}

/// A bundle read from bytes, with what was verified.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedBundle {
    pub bundle: Bundle,
    /// sha256 of header and body, as hex.
    pub digest: String,
    /// The signer's public key (hex) when the bundle is signed; the
    /// signature has been checked against it.
    pub signer: Option<String>,
}

/// Encodes a bundle, signed when `key` is given.
pub fn encode(bundle: &Bundle, key: Option<&SigningKey>) -> Result<Vec<u8>, BundleError> {
    let body = serde_json::to_vec(bundle).map_err(|e| BundleError::Encode {
        reason: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + DIGEST_LEN + SIGNATURE_BLOCK_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    if let Some(key) = key {
        let signature = key.sign(&out);
        out.extend_from_slice(SIGNATURE_MAGIC);
        out.extend_from_slice(key.verifying_key().as_bytes());
        out.extend_from_slice(&signature.to_bytes());
    }
    Ok(out)
}

/// Decodes and verifies a bundle. With `trusted` keys, the bundle must be
/// signed by one of them.
pub fn decode(
    bytes: &[u8],
    trusted: Option<&[VerifyingKey]>,
) -> Result<VerifiedBundle, BundleError> {
    if bytes.len() < 4 || &bytes[..4] != MAGIC {
        return Err(BundleError::NotABundle);
    }
    if bytes.len() < HEADER_LEN {
        return Err(BundleError::Truncated {
            len: bytes.len(),
            expected: HEADER_LEN as u64,
        });
    }
    let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&bytes[8..16]);
    let body_len = u64::from_le_bytes(len_bytes);
    let end_of_body = usize::try_from(body_len)
        .ok()
        .and_then(|n| n.checked_add(HEADER_LEN))
        .filter(|end| {
            end.checked_add(DIGEST_LEN)
                .is_some_and(|e| e <= bytes.len())
        })
        .ok_or(BundleError::Truncated {
            len: bytes.len(),
            expected: body_len.saturating_add((HEADER_LEN + DIGEST_LEN) as u64),
        })?;
    let end_of_digest = end_of_body + DIGEST_LEN;
    if Sha256::digest(&bytes[..end_of_body]).as_slice() != &bytes[end_of_body..end_of_digest] {
        return Err(BundleError::DigestMismatch);
    }
    // The version is read only once the digest holds, so a damaged header
    // says "damaged" rather than "unknown version".
    if version != FORMAT_VERSION {
        return Err(BundleError::UnknownVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let rest = &bytes[end_of_digest..];
    let signer = match rest.len() {
        0 => None,
        SIGNATURE_BLOCK_LEN if &rest[..4] == SIGNATURE_MAGIC => {
            let mut public = [0u8; 32];
            public.copy_from_slice(&rest[4..36]);
            let mut signature = [0u8; 64];
            signature.copy_from_slice(&rest[36..100]);
            let key = VerifyingKey::from_bytes(&public).map_err(|_| BundleError::BadSignature)?;
            key.verify(&bytes[..end_of_digest], &Signature::from_bytes(&signature))
                .map_err(|_| BundleError::BadSignature)?;
            Some(key)
        }
        n if n >= 4 && &rest[..4] == SIGNATURE_MAGIC => return Err(BundleError::BadSignature),
        extra => return Err(BundleError::TrailingBytes { extra }),
    };
    if let Some(trusted) = trusted {
        let Some(signer) = &signer else {
            return Err(BundleError::Unsigned);
        };
        if !trusted.iter().any(|k| k == signer) {
            return Err(BundleError::UntrustedSigner {
                found: hex(signer.as_bytes()),
            });
        }
    }
    let bundle: Bundle = serde_json::from_slice(&bytes[HEADER_LEN..end_of_body]).map_err(|e| {
        BundleError::BadBody {
            reason: e.to_string(),
        }
    })?;
    if bundle.format != FORMAT_VERSION {
        return Err(BundleError::UnknownVersion {
            found: bundle.format,
            supported: FORMAT_VERSION,
        });
    }
    Ok(VerifiedBundle {
        bundle,
        digest: hex(&bytes[end_of_body..end_of_digest]),
        signer: signer.map(|k| hex(k.as_bytes())),
    })
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

const SECRET_TAG: &str = "tpc-ed25519-secret";
const PUBLIC_TAG: &str = "tpc-ed25519-public";

/// A new signing key from 32 random bytes.
pub fn signing_key_from_seed(seed: [u8; 32]) -> SigningKey {
    SigningKey::from_bytes(&seed)
}

/// The text of a secret key file: `tpc-ed25519-secret <hex>`.
pub fn secret_key_text(key: &SigningKey) -> String {
    format!("{SECRET_TAG} {}\n", hex(&key.to_bytes()))
}

/// The text of a public key file: `tpc-ed25519-public <hex>`.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_TAG} {}\n", hex(key.as_bytes()))
}

fn key_bytes(text: &str, tag: &str) -> Result<[u8; 32], BundleError> {
    let rest = text
        .trim()
        .strip_prefix(tag)
        .ok_or_else(|| BundleError::BadKey {
            reason: format!("expected a line starting with `{tag}`"),
        })?;
    let bytes = unhex(rest).ok_or_else(|| BundleError::BadKey {
        reason: "the key is not hexadecimal".into(),
    })?;
    bytes.try_into().map_err(|_| BundleError::BadKey {
        reason: "the key is not 32 bytes".into(),
    })
}

/// Reads a secret key file.
pub fn parse_secret_key(text: &str) -> Result<SigningKey, BundleError> {
    if text.trim().starts_with(PUBLIC_TAG) {
        return Err(BundleError::BadKey {
            reason: "this is a public key; signing needs the secret key".into(),
        });
    }
    Ok(SigningKey::from_bytes(&key_bytes(text, SECRET_TAG)?))
}

/// Reads a public key file (a secret key file gives its public half).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, BundleError> {
    if text.trim().starts_with(SECRET_TAG) {
        return Ok(parse_secret_key(text)?.verifying_key());
    }
    VerifyingKey::from_bytes(&key_bytes(text, PUBLIC_TAG)?).map_err(|_| BundleError::BadKey {
        reason: "not a valid ed25519 public key".into(),
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests unwrap what they just built")]
mod tests {
    use super::*;
    use crate::model::*;

    fn bundle() -> Bundle {
        Bundle {
            format: FORMAT_VERSION,
            producer: "tpc test".into(),
            programs: ProgramSet {
                object: SENSOR_OBJECT.into(),
                abi: PROGRAM_ABI,
            },
            requirements: Requirements::default(),
            sources: vec![SourceFile {
                name: "p.yaml".into(),
                text: "kind: TracingPolicy\n".into(),
            }],
            policies: Vec::new(),
        }
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let a = encode(&bundle(), None).unwrap();
        let b = encode(&bundle(), None).unwrap();
        assert_eq!(a, b);
        let read = decode(&a, None).unwrap();
        assert_eq!(read.bundle, bundle());
        assert!(read.signer.is_none());
        assert_eq!(read.digest.len(), 64);
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let key = signing_key_from_seed([7; 32]);
        for signed in [None, Some(&key)] {
            let good = encode(&bundle(), signed).unwrap();
            for i in 0..good.len() {
                let mut bad = good.clone();
                bad[i] ^= 0x01;
                assert!(
                    decode(&bad, None).is_err(),
                    "byte {i} (signed: {})",
                    signed.is_some()
                );
            }
            let mut longer = good.clone();
            longer.push(0);
            assert!(decode(&longer, None).is_err());
            assert!(decode(&good[..good.len() - 1], None).is_err());
        }
    }

    #[test]
    fn trust_needs_a_signature_by_a_trusted_key() {
        let key = signing_key_from_seed([1; 32]);
        let other = signing_key_from_seed([2; 32]);
        let signed = encode(&bundle(), Some(&key)).unwrap();
        let unsigned = encode(&bundle(), None).unwrap();
        let trusted = [key.verifying_key()];
        assert_eq!(
            decode(&signed, Some(&trusted)).unwrap().signer,
            Some(hex(key.verifying_key().as_bytes()))
        );
        assert!(matches!(
            decode(&unsigned, Some(&trusted)),
            Err(BundleError::Unsigned)
        ));
        assert!(matches!(
            decode(&signed, Some(&[other.verifying_key()])),
            Err(BundleError::UntrustedSigner { .. })
        ));
    }

    #[test]
    fn unknown_versions_are_named() {
        let mut b = bundle();
        b.format = 99;
        let bytes = encode(&b, None).unwrap();
        assert!(matches!(
            decode(&bytes, None),
            Err(BundleError::UnknownVersion { found: 99, .. })
        ));
    }

    #[test]
    fn key_files_round_trip() {
        let key = signing_key_from_seed([9; 32]);
        let secret = parse_secret_key(&secret_key_text(&key)).unwrap();
        assert_eq!(secret.to_bytes(), key.to_bytes());
        let public = parse_public_key(&public_key_text(&key.verifying_key())).unwrap();
        assert_eq!(public, key.verifying_key());
        assert!(parse_secret_key(&public_key_text(&public)).is_err());
        assert!(parse_public_key("tpc-ed25519-public zz").is_err());
    }
}
