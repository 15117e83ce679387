//! The sync function's code as plinth itself deploys it when it repairs drift: the source of
//! `Code.ZipFile` in a zip archive laid out the way CloudFormation lays out inline code (one file,
//! `index.py`, for the `index.handler` handler), but byte for byte the same every time (stored,
//! not compressed, dated 1980-01-01), so that the hash Lambda reports for it is known in advance.

use base64::Engine;
use sha2::{Digest, Sha256};

/// The file CloudFormation writes inline Python code to.
pub(crate) const INLINE_FILE: &str = "index.py";

/// A zip archive holding `source` as `index.py`, the same bytes for the same source.
pub fn inline_code_zip(source: &str) -> Vec<u8> {
    let data = source.as_bytes();
    let name = INLINE_FILE.as_bytes();
    let crc = crc32(data);
    let size = u32::try_from(data.len()).expect("inline code is at most 4 KB");
    let name_len = u16::try_from(name.len()).expect("a short file name");
    // DOS time and date: 00:00:00, 1980-01-01.
    let (time, date) = (0u16, (1 << 5) | 1);

    let mut out = Vec::with_capacity(data.len() + 128);
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    for half in [20u16, 0, 0, time, date] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    for word in [crc, size, size] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(data);

    let directory = u32::try_from(out.len()).expect("a small archive");
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    // made by Unix (3), version 2.0; needs 2.0; no flags; stored
    for half in [0x0314u16, 20, 0, 0, time, date] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    for word in [crc, size, size] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    // name length, no extra field, no comment, disk 0, no internal attributes
    for half in [name_len, 0, 0, 0, 0] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    // a regular file, rw-r--r--
    out.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name);
    let directory_size = u32::try_from(out.len()).expect("a small archive") - directory;

    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for half in [0u16, 0, 1, 1] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    out.extend_from_slice(&directory_size.to_le_bytes());
    out.extend_from_slice(&directory.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The hash Lambda reports as `CodeSha256` for a deployment package: base64 of its SHA-256.
pub fn code_sha256(package: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(package))
}

/// The SHA-256 of a source text, in hex: what names a version of the code in a template.
pub(crate) fn source_sha256_hex(source: &str) -> String {
    use std::fmt::Write;
    Sha256::digest(source.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// CRC-32 (IEEE), as zip archives carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_archive_is_a_zip_any_reader_opens_with_the_source_as_index_py() {
        let source = crate::templates::ARTIFACT_SYNC_SOURCE;
        let package = inline_code_zip(source);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&package)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut file = archive.by_name("index.py").unwrap();
        assert_eq!(file.unix_mode(), Some(0o100_644));
        let mut read = String::new();
        file.read_to_string(&mut read).unwrap();
        assert_eq!(read, source);
    }

    #[test]
    fn the_same_source_makes_the_same_bytes_and_another_source_others() {
        let a = inline_code_zip("def handler(event, context):\n    pass\n");
        assert_eq!(
            a,
            inline_code_zip("def handler(event, context):\n    pass\n")
        );
        assert_ne!(
            code_sha256(&a),
            code_sha256(&inline_code_zip(
                "def handler(event, context):\n    return 1\n"
            ))
        );
    }

    #[test]
    fn hashes_are_in_the_forms_aws_and_templates_use() {
        // CRC-32 and SHA-256 check values
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            source_sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            code_sha256(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
