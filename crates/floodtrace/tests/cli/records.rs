//! Acceptance: the "partial result" line says whether reading stopped at the damage or went
//! on past damaged records it skipped.
//!
//! The captures are written here, byte by byte, not by floodtrace's writers.

use crate::support::{analyze_json, u64_at, Run, TempDir};

/// 2023-11-14T22:13:20Z.
const T: u32 = 1_700_000_000;

/// An Ethernet frame carrying IPv4/UDP from 10.0.0.1 to 192.0.2.`host` (42 bytes).
fn frame(host: u8) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];
    f.extend([0x08, 0x00]);
    f.extend([
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 192, 0, 2, host,
    ]);
    f.extend([0x04, 0xd2, 0, 80, 0, 8, 0, 0]);
    f
}

fn analyze(path: &std::path::Path, extra: &[&str]) -> Run {
    analyze_json(extra, &[path])
}

/// pcapng: an enhanced packet block naming an interface that does not exist, between two
/// good ones, is skipped and reading goes on. The partial-result line says so, rather than
/// that the records counted came before the damage.
#[test]
fn partial_result_line_says_reading_went_on_past_a_skipped_block() {
    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        body.resize(body.len().div_ceil(4) * 4, 0);
        let len = 12 + body.len() as u32;
        let mut b = Vec::new();
        b.extend(ty.to_le_bytes());
        b.extend(len.to_le_bytes());
        b.extend(body);
        b.extend(len.to_le_bytes());
        b
    }
    fn epb(interface: u32, host: u8) -> Vec<u8> {
        let f = frame(host);
        let ts = (u64::from(T) + u64::from(host)) * 1_000_000;
        let mut body = Vec::new();
        for v in [
            interface,
            (ts >> 32) as u32,
            ts as u32,
            f.len() as u32,
            f.len() as u32,
        ] {
            body.extend(v.to_le_bytes());
        }
        body.extend(f);
        block(6, &body)
    }
    let mut shb = Vec::new();
    shb.extend(0x1a2b_3c4du32.to_le_bytes());
    shb.extend([1, 0, 0, 0]);
    shb.extend((-1i64).to_le_bytes());
    let mut bytes = block(0x0a0d_0d0a, &shb);
    bytes.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
    let bad_at = bytes.len() + epb(0, 1).len();
    bytes.extend(epb(0, 1));
    bytes.extend(epb(5, 2));
    bytes.extend(epb(0, 3));
    let tmp = TempDir::new("ng-skip");
    let path = tmp.write("badif.pcapng", &bytes);
    let r = analyze(&path, &[]);
    r.expect_code(3);
    let input = &r.json()["inputs"][0];
    assert_eq!(u64_at(input, "packets"), 2, "{input}");
    let e = &input["errors"][0];
    assert_eq!(e["fatal"], false, "{e}");
    assert_eq!(u64_at(e, "offset"), bad_at as u64, "{e}");
    let shown = path.display();
    let line = format!(
        "floodtrace: {shown}: partial result: 2 records counted, 1 damaged record skipped\n"
    );
    assert!(r.stderr.contains(&line), "{}", r.stderr);
    assert!(!r.stderr.contains("before the damage"), "{}", r.stderr);

    // Cut inside the last block as well: reading stops there, after the skip.
    let cut = &bytes[..bytes.len() - 10];
    let path = tmp.write("badif-cut.pcapng", cut);
    let r = analyze(&path, &[]);
    r.expect_code(3);
    let line = format!(
        "floodtrace: {}: partial result: 1 record counted, 1 damaged record skipped before \
         reading stopped\n",
        path.display()
    );
    assert!(r.stderr.contains(&line), "{}", r.stderr);
}
