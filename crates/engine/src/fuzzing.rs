//! Entry points for fuzz targets and property tests of the text parsers (outage reports,
//! access logs, timestamps, claims, allow-lists): each takes arbitrary bytes, must never
//! panic, and checks what the parser promises beyond that (counts that add up, values that
//! print and read back, rules that never cover an allow-listed address), panicking when a
//! promise is broken so that a fuzzer reports it. Lines that are not valid UTF-8 reach the
//! parsers as the lossy conversion the binary makes of a file.
#![doc(hidden)]

use crate::claim::Claim;
use crate::mitigate::{exclude, parse_allow_list, Cidr};
use crate::textlog::{
    parse_access_log, parse_clf_time, parse_epoch, parse_outage_reports, parse_rfc3339, parse_time,
    ParseStats, MAX_MALFORMED_KEPT,
};

/// Checks every parse result makes: reasons sum to the malformed count, the examples are
/// the first ones (at most [`MAX_MALFORMED_KEPT`]) and point at lines of the input.
fn check_stats(st: &ParseStats) {
    assert_eq!(st.reasons.values().sum::<u64>(), st.malformed, "{st:?}");
    assert_eq!(
        st.examples.len() as u64,
        st.malformed.min(MAX_MALFORMED_KEPT as u64),
        "{st:?}"
    );
    for e in &st.examples {
        assert!(e.line >= 1 && e.line <= st.lines.max(1), "{e:?} of {st:?}");
    }
}

/// Parse `data` as an access log.
///
/// # Panics
/// When a line is not exactly one of read, skipped or malformed, or the requests handed
/// out differ from the records counted.
pub fn access_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut handed = 0u64;
    let st = parse_access_log(&text, |_| handed += 1);
    assert_eq!(handed, st.records);
    assert_eq!(st.records + st.skipped + st.malformed, st.lines, "{st:?}");
    check_stats(&st);
}

/// Parse `data` as outage reports.
///
/// # Panics
/// When the reports returned differ from the records counted, or more records, skipped and
/// malformed entries are counted than the input has lines (a JSON array may hold several
/// elements on one line, so it is only checked for the line-based formats).
pub fn outage_reports(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (reports, st) = parse_outage_reports(&text);
    assert_eq!(reports.len() as u64, st.records);
    if st.format != "json" {
        assert!(st.records + st.skipped + st.malformed <= st.lines, "{st:?}");
    }
    check_stats(&st);
}

/// Parse `data` as a timestamp in every format the logs use.
pub fn times(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for s in [&*text, text.trim()] {
        let _ = (
            parse_time(s),
            parse_rfc3339(s),
            parse_epoch(s),
            parse_clf_time(s),
        );
    }
}

/// Parse `data` as a claim (`key=value`).
///
/// # Panics
/// When a claim that reads does not print as text that reads back as the same claim.
pub fn claim(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = Claim::parse(&text) {
        assert_eq!(Claim::parse(&c.to_string()), Ok(c.clone()), "{c}");
    }
}

/// Parse `data` as an allow-list, and cut the whole address space around it.
///
/// # Panics
/// When an entry does not print as text that reads back as the same entry, or a prefix
/// left after cutting overlaps an allow-listed one.
pub fn allow_list(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(allow) = parse_allow_list(&text) else {
        return;
    };
    for a in &allow {
        assert_eq!(a.to_string().parse::<Cidr>().as_ref(), Ok(a), "{a}");
    }
    for all in ["0.0.0.0/0", "::/0"] {
        let all: Cidr = all.parse().expect("a valid prefix");
        let spans = AllowSpans::new(&allow, all.width());
        for left in exclude(all, &allow) {
            assert!(!spans.overlaps(&left), "{left} overlaps the allow-list");
        }
    }
}

/// The allow-listed address ranges of one family, to test whether a prefix overlaps any of
/// them with a search rather than a scan (checks of `mitigate::exclude` that do not reuse
/// its logic).
pub struct AllowSpans {
    /// `(first, last)` address of each entry, by first address.
    spans: Vec<(u128, u128)>,
    /// The furthest last address of the entries up to each one (entries may nest).
    reach: Vec<u128>,
}

impl AllowSpans {
    /// The entries of `allow` whose family is `width` bits wide (32 or 128).
    pub fn new(allow: &[Cidr], width: u8) -> Self {
        let mut spans: Vec<(u128, u128)> = allow
            .iter()
            .filter(|a| a.width() == width)
            .map(|a| {
                let (lo, hi, _) = a.range();
                (lo, hi)
            })
            .collect();
        spans.sort_unstable();
        let reach = spans
            .iter()
            .scan(0, |m, s| {
                *m = s.1.max(*m);
                Some(*m)
            })
            .collect();
        AllowSpans { spans, reach }
    }

    /// Whether `p` (of the same family) shares an address with an entry: some entry
    /// starting at or before `p`'s end reaches `p`'s start.
    pub fn overlaps(&self, p: &Cidr) -> bool {
        let (lo, hi, _) = p.range();
        let before = self.spans.partition_point(|s| s.0 <= hi);
        before > 0 && self.reach[before - 1] >= lo
    }
}
