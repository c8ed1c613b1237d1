//! Properties of the text parsers that must hold for any input: no byte string makes the
//! outage-report, access-log, timestamp, claim or allow-list parsers panic, the counts they
//! report add up, claims and allow-list entries read back from their printed form, and no
//! prefix cut around an allow-list overlaps it (`floodtrace_engine::fuzzing` holds the
//! checks, shared with the fuzz targets).
//!
//! Inputs are arbitrary bytes, lines assembled from the pieces real logs are made of
//! (quotes, brackets, separators, times, JSON), and the real access logs under
//! `../shared/data/logs` cut at random points and with random bytes replaced.

mod common;

use std::io::Read;
use std::sync::OnceLock;

use common::shared_data;
use floodtrace_engine::fuzzing;
use floodtrace_engine::textlog::{parse_access_log, parse_outage_reports};
use proptest::prelude::*;

/// Pieces of log and report lines: the parsers' tokens, so random lines reach deep paths.
const PIECES: [&str; 34] = [
    "\"",
    "\"\"",
    ",",
    "\n",
    "\r\n",
    " ",
    "[",
    "]",
    "{",
    "}",
    ":",
    "-",
    "#",
    "\\",
    "\u{feff}",
    "é",
    "timestamp,region,channel,problem",
    "time,country",
    "2025-03-10T14:00:05Z",
    "2025-03-10T14:00:05.123+01:00",
    "10/Mar/2025:14:00:05 +0000",
    "[10/Mar/2025:14:00:05 +0000]",
    "1741615205",
    "1741615205.5",
    "99999999999999999999",
    "\"GET / HTTP/1.1\"",
    "\"POST /login?x=1 HTTP/2.0\"",
    "200",
    "503 1234",
    "\"Mozilla/5.0\"",
    "{\"time\":\"2025-03-10T14:00:05Z\",\"region\":\"DE\"}",
    "{\"ts\":1741615205,\"status\":503,\"remote_addr\":\"192.0.2.1\"}",
    "[{\"timestamp\":1741615205},",
    "203.0.113.7 - - ",
];

fn pieced() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..PIECES.len(), 0..60)
        .prop_map(|ix| ix.iter().flat_map(|&i| PIECES[i].bytes()).collect())
}

/// The first 64 KiB of every log under `../shared/data/logs` (read once).
fn shared_logs() -> &'static [Vec<u8>] {
    static LOGS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(read_shared_logs)
}

fn read_shared_logs() -> Vec<Vec<u8>> {
    let dir = shared_data("logs");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out = Vec::new();
    for e in entries {
        let p = e.expect("a directory entry").path();
        if p.is_file() {
            let mut b = Vec::new();
            std::fs::File::open(&p)
                .and_then(|f| f.take(64 << 10).read_to_end(&mut b))
                .expect("a readable log");
            out.push(b);
        }
    }
    assert!(!out.is_empty(), "no logs under {}", dir.display());
    out
}

fn every_parser(data: &[u8]) {
    fuzzing::access_log(data);
    fuzzing::outage_reports(data);
    fuzzing::times(data);
    fuzzing::claim(data);
    fuzzing::allow_list(data);
    for line in data.split(|b| *b == b'\n').take(8) {
        fuzzing::times(line);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
        every_parser(&data);
    }

    #[test]
    fn lines_of_log_pieces(data in pieced()) {
        every_parser(&data);
    }
}

/// Pieces of claims and allow-list lines.
const CLAIM_PIECES: [&str; 22] = [
    "origin",
    "ORIGIN",
    "country",
    "asn",
    "AS",
    "botnet",
    "spoofed",
    "cause",
    "=",
    " ",
    "UA",
    "ua",
    "64500",
    "Mirai",
    "yes",
    "0",
    "attack",
    "10.0.0.0/8",
    "2001:db8::/32",
    "/",
    "\n",
    "#",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn claims_and_allow_lists(ix in prop::collection::vec(0..CLAIM_PIECES.len(), 0..12)) {
        let data: Vec<u8> = ix.iter().flat_map(|&i| CLAIM_PIECES[i].bytes()).collect();
        fuzzing::claim(&data);
        fuzzing::allow_list(&data);
    }

    #[test]
    fn allow_lists_of_random_prefixes(
        prefixes in prop::collection::vec((any::<u128>(), 0u8..=128, any::<bool>()), 0..12),
    ) {
        let text: String = prefixes
            .iter()
            .map(|&(a, len, v4)| {
                if v4 {
                    format!("{}/{}\n", std::net::Ipv4Addr::from(a as u32), len % 33)
                } else {
                    format!("{}/{len}\n", std::net::Ipv6Addr::from(a))
                }
            })
            .collect();
        fuzzing::allow_list(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn real_logs_cut_and_damaged(
        which in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let logs = shared_logs();
        let mut data = logs[which.index(logs.len())].clone();
        data.truncate(cut.index(data.len() + 1));
        for (at, b) in flips {
            if !data.is_empty() {
                let i = at.index(data.len());
                data[i] = b;
            }
        }
        every_parser(&data);
    }
}

/// A damaged line costs that line only: the requests of the other lines are still read.
#[test]
fn a_damaged_line_leaves_the_others() {
    for log in shared_logs() {
        let text = String::from_utf8_lossy(log).into_owned();
        let mut whole = 0u64;
        let st = parse_access_log(&text, |_| whole += 1);
        if st.records < 3 {
            continue;
        }
        // Replace the second line with garbage: exactly one record fewer.
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines[1] = "\u{1}garbage \"";
        let damaged = lines.join("\n");
        let mut n = 0u64;
        let st2 = parse_access_log(&damaged, |_| n += 1);
        assert_eq!(n + 1, whole, "{st2:?}");
        assert_eq!(st2.malformed, st.malformed + 1);
        assert_eq!(st2.examples.iter().filter(|e| e.line == 2).count(), 1);
    }
}

/// A CSV header without a timestamp column is one malformed line, not also a skipped one.
#[test]
fn a_header_without_time_is_counted_once() {
    let (reports, st) = parse_outage_reports("region,channel\nDE,app\n");
    assert!(reports.is_empty());
    assert_eq!((st.malformed, st.skipped, st.lines), (1, 0, 2), "{st:?}");
}

/// An unclosed JSON array is reported on the input's last line, not on the one after
/// its final line break.
#[test]
fn an_unclosed_array_is_reported_on_its_last_line() {
    let (reports, st) = parse_outage_reports("[{\"timestamp\":1741615205},\n {\"ts\":1}\n");
    assert_eq!((reports.len(), st.lines, st.malformed), (2, 2, 1), "{st:?}");
    assert_eq!(st.examples[0].line, 2, "{st:?}");
}
