//! Text evidence decoders: user outage reports (CSV, JSON array, JSON lines) and web server
//! access logs (Apache/Nginx *common* and *combined* format, JSON lines).
//!
//! Parsing is I/O-free: every function takes the text and returns records plus
//! [`ParseStats`]. A line that cannot be read never stops the parse: it is counted, and the
//! first [`MAX_MALFORMED_KEPT`] are kept with their 1-based line number and a stable reason
//! key. Blank lines and lines starting with `#` are *skipped* (counted apart from malformed
//! ones): test fixtures and W3C-style logs carry comments.
//!
//! Times are read as RFC 3339 (`2025-03-10T09:41:07Z`, fractions and `±HH:MM` offsets
//! allowed, a space instead of `T` allowed, no zone = UTC), as Apache `%t`
//! (`10/Mar/2025:09:41:07 +0000`), or as Unix epoch numbers: seconds, with values from 10^11
//! on taken as milliseconds, from 10^14 as microseconds and from 10^17 as nanoseconds.
//! Formats are described in docs/FORMATS.md.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// At most this many malformed lines are kept with their details (all are counted).
pub const MAX_MALFORMED_KEPT: usize = 1000;

/// One line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    /// 1-based line number in the input (for a JSON array: the line where the element starts).
    pub line: u64,
    /// Stable reason key, e.g. `combined.quote`, `csv.time`, `json.syntax`.
    pub reason: &'static str,
    /// The problem in words.
    pub message: String,
}

/// What a parse read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParseStats {
    /// Input format recognised (`csv`, `json`, `jsonl`, `combined`, `mixed`, …).
    pub format: String,
    /// Lines in the input (a last line without a newline counts).
    pub lines: u64,
    /// Records read.
    pub records: u64,
    /// Blank and comment lines (and a CSV header).
    pub skipped: u64,
    /// Lines (or JSON array elements) that could not be read.
    pub malformed: u64,
    /// Malformed lines per reason.
    pub reasons: BTreeMap<&'static str, u64>,
    /// The first [`MAX_MALFORMED_KEPT`] malformed lines, in input order.
    pub examples: Vec<Malformed>,
}

impl ParseStats {
    fn bad(&mut self, line: u64, reason: &'static str, message: impl Into<String>) {
        self.malformed += 1;
        *self.reasons.entry(reason).or_insert(0) += 1;
        if self.examples.len() < MAX_MALFORMED_KEPT {
            self.examples.push(Malformed {
                line,
                reason,
                message: message.into(),
            });
        }
    }
}

// ---------------------------------------------------------------------------------------
// Times

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &[u8], n: usize) -> Option<u32> {
    if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s[..n].iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32))
}

/// Nanoseconds since the epoch of a UTC civil time, or `None` when out of range.
fn civil_ns(date: (i64, u32, u32), time: (u32, u32, u32), frac_ns: u64, off_s: i64) -> Option<u64> {
    let ((y, mo, d), (h, mi, s)) = (date, time);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64 - off_s;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(frac_ns)
}

/// Parse an RFC 3339 time (`T` or a space between date and time; fraction optional; `Z`,
/// `±HH:MM`, `±HHMM` or nothing (UTC)) to nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    let y = digits(b, 4)? as i64;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let mo = digits(&b[5..], 2)?;
    let d = digits(&b[8..], 2)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let h = digits(&b[11..], 2)?;
    let mi = digits(&b[14..], 2)?;
    let (s, mut i) = if b.get(16) == Some(&b':') {
        (digits(&b[17..], 2)?, 19)
    } else {
        (0, 16)
    };
    let mut frac_ns = 0u64;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                frac_ns = frac_ns * 10 + (b[i] - b'0') as u64;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(9)..9 {
            frac_ns *= 10;
        }
    }
    let off = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                5 if rest[2] == b':' => (digits(rest, 2)?, digits(&rest[3..], 2)?),
                4 => (digits(rest, 2)?, digits(&rest[2..], 2)?),
                2 => (digits(rest, 2)?, 0),
                _ => return None,
            };
            let o = (oh * 3600 + om * 60) as i64;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    civil_ns((y, mo, d), (h, mi, s), frac_ns, off)
}

/// Parse a Unix epoch number (seconds, or ms/µs/ns by magnitude; a fraction allowed).
pub fn parse_epoch(s: &str) -> Option<u64> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) || int.len() > 20 {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: u64 = int.parse().ok()?;
    let scale: u64 = if v >= 100_000_000_000_000_000 {
        1
    } else if v >= 100_000_000_000_000 {
        1_000
    } else if v >= 100_000_000_000 {
        1_000_000
    } else {
        1_000_000_000
    };
    let mut f = 0u64;
    let mut unit = scale;
    for c in frac.bytes() {
        unit /= 10;
        if unit == 0 {
            break;
        }
        f += (c - b'0') as u64 * unit;
    }
    v.checked_mul(scale)?.checked_add(f)
}

/// Any of the accepted time forms: RFC 3339, Apache `%t` (brackets optional) or epoch.
pub fn parse_time(s: &str) -> Option<u64> {
    let t = s.trim();
    parse_rfc3339(t)
        .or_else(|| parse_clf_time(t.trim_start_matches('[').trim_end_matches(']')))
        .or_else(|| parse_epoch(t))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parse Apache's `%t` without brackets: `10/Oct/2000:13:55:36 -0700`.
pub fn parse_clf_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let d = digits(b, 2)?;
    let mo = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(&b[3..6]))? as u32
        + 1;
    let y = digits(&b[7..], 4)? as i64;
    if b[14] != b':' || b[17] != b':' {
        return None;
    }
    let (h, mi, sec) = (
        digits(&b[12..], 2)?,
        digits(&b[15..], 2)?,
        digits(&b[18..], 2)?,
    );
    let off = if b.len() == 20 {
        0
    } else {
        let rest = s[20..].trim_start();
        let rb = rest.as_bytes();
        if rb.len() != 5 || !matches!(rb[0], b'+' | b'-') {
            return None;
        }
        let o = (digits(&rb[1..], 2)? * 3600 + digits(&rb[3..], 2)? * 60) as i64;
        if rb[0] == b'-' {
            -o
        } else {
            o
        }
    };
    civil_ns((y, mo, d), (h, mi, sec), 0, off)
}

fn time_of_value(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => parse_time(s),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                parse_epoch(&u.to_string())
            } else {
                let f = n.as_f64()?;
                (f.is_finite() && f >= 0.0).then(|| parse_epoch(&format!("{f:.9}")))?
            }
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Lines

/// Lines of `text` with their 1-based numbers; `\r\n` endings are trimmed. A trailing newline
/// does not start another line.
fn numbered_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.split_inclusive('\n').enumerate().map(|(i, l)| {
        let l = l.strip_suffix('\n').unwrap_or(l);
        (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l))
    })
}

fn is_skippable(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

// ---------------------------------------------------------------------------------------
// Outage reports

/// One user outage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutageReport {
    /// When it was reported (ns since the epoch).
    pub ts_ns: u64,
    /// Country code or region name (`unknown` when absent).
    pub region: String,
    /// Channel: `app`, `website`, … (`unknown` when absent).
    pub channel: String,
    /// Problem: `login`, `feed`, `server connection`, … (`unknown` when absent).
    pub problem: String,
}

/// The value used for a field a report does not have.
pub const UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Time,
    Region,
    Channel,
    Problem,
}

fn report_field(name: &str) -> Option<Field> {
    match name.trim().to_ascii_lowercase().as_str() {
        "timestamp" | "time" | "ts" | "date" | "datetime" | "created_at" | "reported_at"
        | "@timestamp" => Some(Field::Time),
        "region" | "country" | "location" | "country_code" => Some(Field::Region),
        "channel" | "source" | "platform" => Some(Field::Channel),
        "problem" | "issue" | "category" | "type" => Some(Field::Problem),
        _ => None,
    }
}

/// Parse outage reports: CSV (header `timestamp,region,channel,problem` — columns in any
/// order, aliases accepted, header optional when the columns are in that order), a JSON
/// array of objects, or JSON lines (one object per line). The format is recognised from the
/// first character that is not white space. Reports come back in input order.
pub fn parse_outage_reports(text: &str) -> (Vec<OutageReport>, ParseStats) {
    let text = strip_bom(text);
    match text.trim_start().as_bytes().first() {
        Some(b'[') => parse_reports_json_array(text),
        Some(b'{') => parse_reports_jsonl(text),
        _ => parse_reports_csv(text),
    }
}

fn report_from_object(v: &Value) -> Result<OutageReport, (&'static str, String)> {
    let Value::Object(map) = v else {
        return Err(("json.object", "not a JSON object".into()));
    };
    let mut r = OutageReport {
        ts_ns: 0,
        region: UNKNOWN.into(),
        channel: UNKNOWN.into(),
        problem: UNKNOWN.into(),
    };
    let mut time = None;
    for (k, val) in map {
        match report_field(k) {
            Some(Field::Time) => {
                time = Some(
                    time_of_value(val)
                        .ok_or(("json.time", format!("unreadable time {val} in {k:?}")))?,
                )
            }
            Some(f) => {
                let s = match val {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                match f {
                    Field::Region => r.region = s,
                    Field::Channel => r.channel = s,
                    _ => r.problem = s,
                }
            }
            None => {}
        }
    }
    r.ts_ns = time.ok_or(("json.time", "no timestamp field".to_string()))?;
    Ok(r)
}

fn parse_reports_jsonl(text: &str) -> (Vec<OutageReport>, ParseStats) {
    let mut st = ParseStats {
        format: "jsonl".into(),
        ..ParseStats::default()
    };
    let mut out = Vec::new();
    for (n, line) in numbered_lines(text) {
        st.lines = n;
        if is_skippable(line) {
            st.skipped += 1;
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => match report_from_object(&v) {
                Ok(r) => {
                    st.records += 1;
                    out.push(r);
                }
                Err((reason, msg)) => st.bad(n, reason, msg),
            },
            Err(e) => st.bad(n, "json.syntax", e.to_string()),
        }
    }
    (out, st)
}

/// Splits a JSON array's text into its elements' texts with the line each starts on,
/// without parsing them (so one bad element does not lose the others). Returns the elements
/// and, if the array's own structure is broken, the line and a message.
/// Elements with their first line, and the line and message of a structural error.
type ArrayParts<'a> = (Vec<(u64, &'a str)>, Option<(u64, String)>);

fn split_json_array(text: &str) -> ArrayParts<'_> {
    let b = text.as_bytes();
    let mut line = 1u64;
    let mut i = 0;
    while i < b.len() && b[i] != b'[' {
        if b[i] == b'\n' {
            line += 1;
        }
        i += 1;
    }
    i += 1;
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    let mut start: Option<(usize, u64)> = None;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
        }
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                start.get_or_insert((i, line));
            }
            b'{' | b'[' => {
                depth += 1;
                start.get_or_insert((i, line));
            }
            b'}' | b']' if depth > 0 => depth -= 1,
            b']' => {
                if let Some((s, l)) = start.take() {
                    out.push((l, &text[s..i]));
                }
                let rest = text[i + 1..].trim();
                if !rest.is_empty() {
                    return (out, Some((line, "text after the end of the array".into())));
                }
                return (out, None);
            }
            b',' if depth == 0 => match start.take() {
                Some((s, l)) => out.push((l, &text[s..i])),
                None => out.push((line, "")),
            },
            c if c.is_ascii_whitespace() => {}
            _ => {
                start.get_or_insert((i, line));
            }
        }
        i += 1;
    }
    if let Some((s, l)) = start.take() {
        out.push((l, &text[s..]));
    }
    // The input's last line: a final line break ends that line, it starts no other
    // (`line` counted it, so it is at least 2 then).
    let last = if text.ends_with('\n') { line - 1 } else { line };
    (
        out,
        Some((last, "the array is not closed (input cut short?)".into())),
    )
}

fn parse_reports_json_array(text: &str) -> (Vec<OutageReport>, ParseStats) {
    let mut st = ParseStats {
        format: "json".into(),
        lines: numbered_lines(text).count() as u64,
        ..ParseStats::default()
    };
    let (elements, broken) = split_json_array(text);
    let mut out = Vec::new();
    for (line, el) in elements {
        match serde_json::from_str::<Value>(el.trim()) {
            Ok(v) => match report_from_object(&v) {
                Ok(r) => {
                    st.records += 1;
                    out.push(r);
                }
                Err((reason, msg)) => st.bad(line, reason, msg),
            },
            Err(e) => st.bad(line, "json.syntax", e.to_string()),
        }
    }
    if let Some((line, msg)) = broken {
        st.bad(line, "json.syntax", msg);
    }
    (out, st)
}

/// CSV records of `text` (RFC 4180: quoted fields may hold commas, doubled quotes and line
/// breaks), each with the line it starts on; `Err` for a record whose quote never closes.
fn csv_records(text: &str) -> Vec<(u64, Result<Vec<String>, String>)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    let mut line = 1u64;
    while i < b.len() {
        let start_line = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut err = None;
        loop {
            if i >= b.len() {
                fields.push(std::mem::take(&mut field));
                break;
            }
            if b[i] == b'"' && field.is_empty() {
                // Quoted field.
                i += 1;
                let mut closed = false;
                let from = i;
                let mut buf = Vec::new();
                while i < b.len() {
                    if b[i] == b'"' {
                        if b.get(i + 1) == Some(&b'"') {
                            buf.push(b'"');
                            i += 2;
                            continue;
                        }
                        closed = true;
                        i += 1;
                        break;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    buf.push(b[i]);
                    i += 1;
                }
                let _ = from;
                field = String::from_utf8_lossy(&buf).into_owned();
                if !closed {
                    err = Some("a quoted field is not closed".to_string());
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                // After a closing quote: a separator, a line end, or stray text.
                while i < b.len() && b[i] != b',' && b[i] != b'\n' {
                    if b[i] != b'\r' && err.is_none() {
                        err = Some("text after a closing quote".to_string());
                    }
                    i += 1;
                }
            }
            if i >= b.len() {
                fields.push(std::mem::take(&mut field));
                break;
            }
            match b[i] {
                b',' => {
                    fields.push(std::mem::take(&mut field));
                    i += 1;
                }
                b'\n' => {
                    fields.push(std::mem::take(&mut field));
                    i += 1;
                    line += 1;
                    break;
                }
                _ => {
                    let s = i;
                    while i < b.len() && b[i] != b',' && b[i] != b'\n' {
                        i += 1;
                    }
                    field.push_str(text[s..i].trim_end_matches('\r'));
                }
            }
        }
        out.push((start_line, err.map_or(Ok(fields), Err)));
    }
    out
}

fn parse_reports_csv(text: &str) -> (Vec<OutageReport>, ParseStats) {
    let mut st = ParseStats {
        format: "csv".into(),
        lines: numbered_lines(text).count() as u64,
        ..ParseStats::default()
    };
    let mut out = Vec::new();
    let mut columns: Option<Vec<Option<Field>>> = None;
    for (line, rec) in csv_records(text) {
        let fields = match rec {
            Ok(f) => f,
            Err(msg) => {
                st.bad(line, "csv.quote", msg);
                continue;
            }
        };
        if fields.iter().all(|f| f.trim().is_empty()) || fields[0].trim_start().starts_with('#') {
            st.skipped += 1;
            continue;
        }
        let cols = match &columns {
            Some(c) => c,
            None => {
                if parse_time(&fields[0]).is_some() {
                    // No header: the documented column order.
                    columns = Some(vec![
                        Some(Field::Time),
                        Some(Field::Region),
                        Some(Field::Channel),
                        Some(Field::Problem),
                    ]);
                } else {
                    let c: Vec<Option<Field>> = fields.iter().map(|f| report_field(f)).collect();
                    if !c.contains(&Some(Field::Time)) {
                        st.bad(
                            line,
                            "csv.header",
                            format!("the header names no timestamp column: {}", fields.join(",")),
                        );
                        return (out, st);
                    }
                    st.skipped += 1;
                    columns = Some(c);
                    continue;
                }
                columns.as_ref().expect("set")
            }
        };
        if fields.len() > cols.len() {
            st.bad(
                line,
                "csv.fields",
                format!("{} fields, the header has {}", fields.len(), cols.len()),
            );
            continue;
        }
        let mut r = OutageReport {
            ts_ns: 0,
            region: UNKNOWN.into(),
            channel: UNKNOWN.into(),
            problem: UNKNOWN.into(),
        };
        let mut time = None;
        for (f, c) in fields.iter().zip(cols) {
            match c {
                Some(Field::Time) => time = Some(parse_time(f).ok_or(f)),
                Some(Field::Region) if !f.is_empty() => r.region = f.clone(),
                Some(Field::Channel) if !f.is_empty() => r.channel = f.clone(),
                Some(Field::Problem) if !f.is_empty() => r.problem = f.clone(),
                _ => {}
            }
        }
        match time {
            Some(Ok(t)) => {
                r.ts_ns = t;
                st.records += 1;
                out.push(r);
            }
            Some(Err(f)) => st.bad(line, "csv.time", format!("unreadable timestamp {f:?}")),
            None => st.bad(line, "csv.fields", "no timestamp field on this line"),
        }
    }
    (out, st)
}

// ---------------------------------------------------------------------------------------
// Access logs

/// One web request from an access log.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest<'a> {
    /// Time of the request (ns since the epoch; combined logs have second resolution).
    pub ts_ns: u64,
    /// Client address or host name as logged.
    pub client: Cow<'a, str>,
    /// Request method (`-` when the request line was `-`).
    pub method: Cow<'a, str>,
    /// Request target (path and query), empty when the request line had none.
    pub path: Cow<'a, str>,
    /// Final status.
    pub status: Option<u16>,
    /// Response bytes (`None` for `-`).
    pub bytes: Option<u64>,
    /// User-Agent (`None` when absent or `-`).
    pub user_agent: Option<Cow<'a, str>>,
    /// Time to serve the request, in milliseconds, when logged.
    pub latency_ms: Option<f64>,
}

/// Why one access-log line could not be read: a stable key and words.
pub type LineError = (&'static str, String);

/// Reads a quoted field starting at `b[i] == b'"'`; returns the raw content (escapes kept)
/// and the index after the closing quote.
fn quoted(s: &str, i: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    debug_assert_eq!(b[i], b'"');
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some((&s[i + 1..j], j + 1)),
            _ => j += 1,
        }
    }
    None
}

fn token(s: &str, i: usize) -> (&str, usize) {
    let b = s.as_bytes();
    let mut j = i;
    while j < b.len() && b[j] != b' ' {
        j += 1;
    }
    (&s[i..j], j)
}

fn skip_spaces(s: &str, mut i: usize) -> usize {
    while s.as_bytes().get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Parse one line of the Apache/Nginx common or combined format:
/// `%h %l %u [%t] "%r" %>s %b ["%{Referer}i" "%{User-Agent}i" [more fields…]]`.
/// Fields after the user agent (Nginx's `$http_x_forwarded_for`, …) are ignored.
pub fn parse_combined_line(line: &str) -> Result<HttpRequest<'_>, LineError> {
    let (host, i) = token(line, 0);
    if host.is_empty() {
        return Err(("combined.host", "no client address".into()));
    }
    let i = skip_spaces(line, i);
    let (_ident, i) = token(line, i);
    let i = skip_spaces(line, i);
    let (_user, i) = token(line, i);
    let i = skip_spaces(line, i);
    let b = line.as_bytes();
    if b.get(i) != Some(&b'[') {
        return Err((
            "combined.time",
            "no [time] after the client, ident and user fields: not an access-log line".into(),
        ));
    }
    let close = line[i..].find(']').ok_or((
        "combined.time",
        "the [time] field is not closed".to_string(),
    ))? + i;
    let ts_ns = parse_clf_time(&line[i + 1..close]).ok_or((
        "combined.time",
        format!("unreadable time [{}]", &line[i + 1..close]),
    ))?;
    let i = skip_spaces(line, close + 1);
    if b.get(i) != Some(&b'"') {
        return Err(("combined.request", "no quoted request line".into()));
    }
    let (request, i) = quoted(line, i).ok_or((
        "combined.quote",
        "the request line's quote is not closed".to_string(),
    ))?;
    let mut parts = request.split(' ').filter(|p| !p.is_empty());
    let method = parts.next().unwrap_or("-");
    let path = parts.next().unwrap_or("");
    let i = skip_spaces(line, i);
    let (status_s, i) = token(line, i);
    let status = match status_s {
        "-" => None,
        s if s.len() == 3 && s.bytes().all(|c| c.is_ascii_digit()) => {
            Some(s.parse::<u16>().expect("three digits"))
        }
        s => return Err(("combined.status", format!("status {s:?} is not a number"))),
    };
    let i = skip_spaces(line, i);
    let (bytes_s, mut i) = token(line, i);
    let bytes = match bytes_s {
        "-" => None,
        s => Some(
            s.parse::<u64>()
                .map_err(|_| ("combined.bytes", format!("size {s:?} is not a number")))?,
        ),
    };
    // Optional quoted fields: referer, user agent, then anything.
    let mut quoted_fields = Vec::new();
    loop {
        i = skip_spaces(line, i);
        if i >= b.len() {
            break;
        }
        if b[i] == b'"' {
            let (f, next) = quoted(line, i).ok_or((
                "combined.quote",
                format!(
                    "quoted field {} is not closed (line cut short?)",
                    quoted_fields.len() + 1
                ),
            ))?;
            quoted_fields.push(f);
            i = next;
        } else {
            // Extra unquoted fields (e.g. a request time appended by some formats).
            let (_, next) = token(line, i);
            i = next;
        }
    }
    let user_agent = quoted_fields
        .get(1)
        .filter(|u| !u.is_empty() && **u != "-")
        .map(|u| Cow::Borrowed(*u));
    Ok(HttpRequest {
        ts_ns,
        client: Cow::Borrowed(host),
        method: Cow::Borrowed(method),
        path: Cow::Borrowed(path),
        status,
        bytes,
        user_agent,
        latency_ms: None,
    })
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A latency value: a number in `unit_ms` milliseconds, or a string with a unit
/// (`12ms`, `0.5s`, `800us`, `800µs`, `1500ns`) or without (then `unit_ms`).
fn latency_of(v: &Value, unit_ms: f64) -> Option<f64> {
    let ms = match v {
        Value::Number(n) => n.as_f64()? * unit_ms,
        Value::String(s) => {
            let s = s.trim();
            let (num, mult) = if let Some(x) = s.strip_suffix("ms") {
                (x, 1.0)
            } else if let Some(x) = s.strip_suffix("us").or_else(|| s.strip_suffix("µs")) {
                (x, 0.001)
            } else if let Some(x) = s.strip_suffix("ns") {
                (x, 1e-6)
            } else if let Some(x) = s.strip_suffix('s') {
                (x, 1000.0)
            } else {
                (s, unit_ms)
            };
            num.trim().parse::<f64>().ok()? * mult
        }
        _ => return None,
    };
    (ms.is_finite() && ms >= 0.0).then_some(ms)
}

/// Parse one JSON-lines access-log record. Keys (first present wins):
/// time `time`/`timestamp`/`@timestamp`/`ts`/`time_local`/`time_iso8601`; client
/// `remote_addr`/`client`/`client_ip`/`ip`/`remote_ip`/`clientip`/`src_ip`; request
/// `request` (`"GET /x HTTP/1.1"`) or `method` + `path`/`uri`/`url`/`request_uri`; `status`/
/// `status_code`; `bytes`/`body_bytes_sent`/`bytes_sent`/`size`; `user_agent`/
/// `http_user_agent`/`agent`/`ua`; latency `request_time`/`latency`/`duration` in seconds,
/// `latency_ms`/`duration_ms`/`request_time_ms` in milliseconds (strings may carry a unit).
pub fn parse_json_access_line(line: &str) -> Result<HttpRequest<'static>, LineError> {
    let v: Value = serde_json::from_str(line).map_err(|e| ("json.syntax", e.to_string()))?;
    let Value::Object(m) = &v else {
        return Err(("json.object", "not a JSON object".into()));
    };
    let get = |keys: &[&str]| keys.iter().find_map(|k| m.get(*k)).filter(|v| !v.is_null());
    let tv = get(&[
        "time",
        "timestamp",
        "@timestamp",
        "ts",
        "time_local",
        "time_iso8601",
    ])
    .ok_or(("json.time", "no time field".to_string()))?;
    let ts_ns = time_of_value(tv).ok_or(("json.time", format!("unreadable time {tv}")))?;
    let client = get(&[
        "remote_addr",
        "client",
        "client_ip",
        "ip",
        "remote_ip",
        "clientip",
        "src_ip",
    ])
    .and_then(str_of)
    .ok_or(("json.client", "no client address field".to_string()))?;
    let (method, path) = match get(&["request"]).and_then(str_of) {
        Some(r) if get(&["method"]).is_none() => {
            let mut p = r.split(' ').filter(|x| !x.is_empty());
            (
                p.next().unwrap_or("-").to_string(),
                p.next().unwrap_or("").to_string(),
            )
        }
        _ => (
            get(&["method", "request_method"])
                .and_then(str_of)
                .unwrap_or_else(|| "-".into()),
            get(&["path", "uri", "url", "request_uri"])
                .and_then(str_of)
                .unwrap_or_default(),
        ),
    };
    let status = match get(&["status", "status_code"]) {
        None => None,
        Some(s) => Some(
            str_of(s)
                .and_then(|x| x.parse::<u16>().ok())
                .ok_or(("json.status", format!("status {s} is not a number")))?,
        ),
    };
    let bytes = get(&["bytes", "body_bytes_sent", "bytes_sent", "size"])
        .and_then(str_of)
        .and_then(|x| x.parse::<u64>().ok());
    let user_agent = get(&["user_agent", "http_user_agent", "agent", "ua"])
        .and_then(str_of)
        .filter(|u| !u.is_empty() && u != "-")
        .map(Cow::Owned);
    let latency_ms = [
        ("latency_ms", 1.0),
        ("duration_ms", 1.0),
        ("request_time_ms", 1.0),
        ("request_time", 1000.0),
        ("latency", 1000.0),
        ("duration", 1000.0),
    ]
    .iter()
    .find_map(|(k, unit)| m.get(*k).and_then(|v| latency_of(v, *unit)));
    Ok(HttpRequest {
        ts_ns,
        client: Cow::Owned(client),
        method: Cow::Owned(method),
        path: Cow::Owned(path),
        status,
        bytes,
        user_agent,
        latency_ms,
    })
}

/// Parse one access-log line: JSON when it starts with `{`, else common/combined.
pub fn parse_access_line(line: &str) -> Result<HttpRequest<'_>, LineError> {
    if line.trim_start().starts_with('{') {
        parse_json_access_line(line.trim())
    } else {
        parse_combined_line(line)
    }
}

/// Parse an access log, calling `each` for every request in input order. Blank lines and
/// `#` comments are skipped; unreadable lines are counted. `format` in the result is
/// `combined`, `jsonl`, `mixed` or `empty`.
pub fn parse_access_log<'a>(text: &'a str, mut each: impl FnMut(HttpRequest<'a>)) -> ParseStats {
    let text = strip_bom(text);
    let mut st = ParseStats::default();
    let (mut json, mut clf) = (0u64, 0u64);
    for (n, line) in numbered_lines(text) {
        st.lines = n;
        if is_skippable(line) {
            st.skipped += 1;
            continue;
        }
        if line.trim_start().starts_with('{') {
            json += 1;
        } else {
            clf += 1;
        }
        match parse_access_line(line) {
            Ok(r) => {
                st.records += 1;
                each(r);
            }
            Err((reason, msg)) => st.bad(n, reason, msg),
        }
    }
    st.format = match (json, clf) {
        (0, 0) => "empty",
        (_, 0) => "jsonl",
        (0, _) => "combined",
        _ => "mixed",
    }
    .into();
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_rfc3339("2025-03-10T09:41:07Z"),
            Some(1_741_599_667_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2025-03-10 10:41:07.5+01:00"),
            Some(1_741_599_667_500_000_000)
        );
        assert_eq!(parse_epoch("1741599667"), Some(1_741_599_667_000_000_000));
        assert_eq!(
            parse_epoch("1741599667500"),
            Some(1_741_599_667_500_000_000)
        );
        assert_eq!(
            parse_epoch("1741599667.25"),
            Some(1_741_599_667_250_000_000)
        );
        assert_eq!(
            parse_clf_time("10/Mar/2025:10:41:07 +0100"),
            Some(1_741_599_667_000_000_000)
        );
        assert_eq!(parse_rfc3339("2025-02-30T00:00:00Z"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn csv_with_quotes_header_and_bad_lines() {
        let text = "timestamp,region,channel,problem\n\
                    2025-03-10T09:41:07Z,US,app,login\n\
                    2025-03-10T09:41:08Z,GB,website,\"server connection, slow\"\n\
                    not a time,US,app,login\n\
                    \n\
                    1741599669,FR,app,\"multi\nline\"\n\
                    2025-03-10T09:41:10Z,US,app,\"open\n";
        let (r, st) = parse_outage_reports(text);
        assert_eq!(r.len(), 3, "{st:?}");
        assert_eq!(r[1].problem, "server connection, slow");
        assert_eq!(r[2].problem, "multi\nline");
        assert_eq!(st.malformed, 2);
        assert_eq!(st.examples[0].line, 4);
        assert_eq!(st.examples[0].reason, "csv.time");
        assert_eq!(st.examples[1].line, 8);
        assert_eq!(st.examples[1].reason, "csv.quote");
    }

    #[test]
    fn json_array_keeps_good_elements() {
        let text = "[\n {\"timestamp\": 1741599667, \"region\": \"US\", \"channel\": \"app\", \"problem\": \"feed\"},\n {\"timestamp\": \"bad\"},\n {\"time\": \"2025-03-10T09:41:07Z\"}\n]\n";
        let (r, st) = parse_outage_reports(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].channel, UNKNOWN);
        assert_eq!(st.malformed, 1);
        assert_eq!(st.examples[0].line, 3);
    }

    #[test]
    fn combined_and_json_lines() {
        let l = r#"1.2.3.4 - - [10/Mar/2025:09:41:07 +0000] "GET /a?b=\"c\" HTTP/1.1" 503 - "-" "curl/8" "-""#;
        let r = parse_access_line(l).unwrap();
        assert_eq!((r.status, r.bytes), (Some(503), None));
        assert_eq!(r.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(r.path, r#"/a?b=\"c\""#);
        let j = r#"{"time":"2025-03-10T09:41:07Z","remote_addr":"1.2.3.4","request":"POST /x HTTP/2","status":"500","request_time":"0.250"}"#;
        let r = parse_access_line(j).unwrap();
        assert_eq!((r.method.as_ref(), r.status), ("POST", Some(500)));
        assert_eq!(r.latency_ms, Some(250.0));
        let cut = r#"1.2.3.4 - - [10/Mar/2025:09:41:07 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla"#;
        assert_eq!(parse_access_line(cut).unwrap_err().0, "combined.quote");
    }
}
