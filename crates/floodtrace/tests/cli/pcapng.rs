//! pcapng files written by the tests themselves: how the reader's handling of unusual and
//! damaged blocks reaches the report, the messages and the exit code.

use crate::support::{run_with_stdin, u64_at};

/// A little-endian block of type `ty`, its body padded to 4 bytes.
pub fn block(ty: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().div_ceil(4) * 4) as u32;
    let mut b = ty.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(len as usize - 4, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

/// Section header of version 1.0, section length unknown.
pub fn shb() -> Vec<u8> {
    let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    body.extend_from_slice(&[1, 0, 0, 0]);
    body.extend_from_slice(&u64::MAX.to_le_bytes());
    block(0x0a0d_0d0a, &body)
}

/// Ethernet interface, no snaplen, microsecond timestamps.
pub fn idb_ethernet() -> Vec<u8> {
    block(1, &[1, 0, 0, 0, 0, 0, 0, 0])
}

#[test]
fn bogus_block_length_on_stdin_is_refused_without_reading_on() {
    // ng_hugeblock_head.pcapng of the review: an EPB header claiming 0xfffffff0 bytes,
    // then 32 MiB of zeros. The stream used to be buffered to its end (537 MB resident for
    // 300 MB of zeros) and reported as a truncated block.
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    bytes.extend(6u32.to_le_bytes());
    bytes.extend(0xffff_fff0u32.to_le_bytes());
    bytes.resize(bytes.len() + (32 << 20), 0);
    let r = run_with_stdin(
        [
            "analyze",
            "--no-detect",
            "--no-progress",
            "--format",
            "json",
            "-",
        ],
        Some(&bytes),
    );
    r.expect_code(3);
    let message =
        "record 1 at offset 0x30: invalid block length 4294967280 (over the 16 MiB limit)";
    assert!(
        r.stderr.contains(&format!("floodtrace: -: {message}")),
        "stderr: {}",
        r.stderr
    );
    let doc = r.json();
    let input = &doc["inputs"][0];
    assert_eq!(input["complete"], false);
    assert_eq!(u64_at(input, "packets"), 0);
    let e = &input["errors"][0];
    assert_eq!(e["reason"], "pcapng.block_length");
    assert_eq!(e["fatal"], true);
    assert_eq!((u64_at(e, "offset"), u64_at(e, "record")), (0x30, 1));
    assert_eq!(e["message"], message);
}
