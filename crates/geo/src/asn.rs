//! The ASN prefix table: compiled once from the ip-location-db ASN CSV files
//! (`@ip-location-db/asn`: `asn-ipv4.csv`, `asn-ipv6.csv`, rows `start_ip,end_ip,asn,org`)
//! into a compact binary file that loads in milliseconds.
//!
//! # File format (`.ftasn`, all integers little-endian)
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FTASN\0\0\x01` (the last byte is the format version) |
//! | 4 × 5 | `n4` IPv4 ranges, `n6` IPv6 ranges, `na` AS entries, `ns` string bytes, `np` provenance bytes |
//! | `np` | provenance, UTF-8 lines `name`, `version`, `licence`, `sha256` |
//! | 4 × `n4`, 4 × `n4` | IPv4 range starts (strictly increasing from 0), AS entry per range (`u32::MAX`: none) |
//! | 16 × `n6`, 4 × `n6` | the same for IPv6 |
//! | 12 × `na` | AS entries: number, string offset, string length |
//! | `ns` | organisation names, UTF-8, deduplicated |
//! | 8 | FNV-1a 64 of everything before it |
//!
//! The ranges form a complete partition of each address space (gaps are "none"), so a
//! lookup is one search for the last start at or below the address. The full 2026 data
//! (412k IPv4 + 103k IPv6 rows, 24 MB + 9 MB of CSV) compiles to about 8 MB.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::table::{V4Table, V6Table, NONE};
use crate::{GeoError, Provenance};

pub(crate) const MAGIC: &[u8; 8] = b"FTASN\0\0\x01";

/// Where the data came from, embedded in the compiled file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// Data set name, e.g. `@ip-location-db/asn`.
    pub name: String,
    /// Version, e.g. `2.3.2026061719`.
    pub version: String,
    /// Licence, e.g. `CC-BY-4.0 (RouteViews, DB-IP)`.
    pub licence: String,
    /// sha256 of the package tarball.
    pub sha256: String,
}

/// The ASN prefix table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnTable {
    v4: V4Table<u32>,
    v6: V6Table<u32>,
    /// (AS number, name offset, name length).
    entries: Vec<(u32, u32, u32)>,
    names: String,
    source: Source,
}

/// Builds an [`AsnTable`] from CSV rows.
#[derive(Debug, Default)]
pub struct AsnBuilder {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
    entries: Vec<(u32, u32, u32)>,
    entry_index: HashMap<(u32, String), u32>,
    names: String,
    name_index: HashMap<String, (u32, u32)>,
    rows: u64,
}

impl AsnBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&mut self, asn: u32, org: &str) -> u32 {
        if let Some(&i) = self.entry_index.get(&(asn, org.to_owned())) {
            return i;
        }
        let (off, len) = match self.name_index.get(org) {
            Some(&x) => x,
            None => {
                let x = (self.names.len() as u32, org.len() as u32);
                self.names.push_str(org);
                self.name_index.insert(org.to_owned(), x);
                x
            }
        };
        let i = self.entries.len() as u32;
        self.entries.push((asn, off, len));
        self.entry_index.insert((asn, org.to_owned()), i);
        i
    }

    /// Add one range.
    pub fn add(&mut self, start: IpAddr, end: IpAddr, asn: u32, org: &str) -> Result<(), String> {
        let e = self.entry(asn, org);
        match (start, end) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => self.v4.push((a.into(), b.into(), e)),
            (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => self.v6.push((a.into(), b.into(), e)),
            _ => return Err(format!("bad range {start} – {end}")),
        }
        self.rows += 1;
        Ok(())
    }

    /// Add every row of a CSV text (`start_ip,end_ip,asn,org`; org may be quoted with `""`
    /// escapes). `what` names the input in errors.
    ///
    /// # Errors
    /// The first malformed row, with its line number.
    pub fn add_csv(&mut self, text: &str, what: &str) -> Result<u64, GeoError> {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let bad = |reason: String| GeoError::Csv {
                file: what.to_owned(),
                line: i as u64 + 1,
                reason,
            };
            let fields = split_csv(line).map_err(|r| bad(r.to_owned()))?;
            if fields.len() < 3 {
                return Err(bad(format!(
                    "expected start_ip,end_ip,asn,org; got {line:?}"
                )));
            }
            let start =
                parse_ip(&fields[0]).ok_or_else(|| bad(format!("bad address {:?}", fields[0])))?;
            let end =
                parse_ip(&fields[1]).ok_or_else(|| bad(format!("bad address {:?}", fields[1])))?;
            let asn: u32 = fields[2]
                .trim()
                .trim_start_matches("AS")
                .parse()
                .map_err(|_| bad(format!("bad AS number {:?}", fields[2])))?;
            let org = fields.get(3).map_or("", |s| s.as_str());
            self.add(start, end, asn, org).map_err(bad)?;
            n += 1;
        }
        Ok(n)
    }

    /// Rows added.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finish: sort, resolve overlaps (the first row of two overlapping ones wins) and fill
    /// gaps. Line breaks in `source`'s fields become spaces: the compiled file keeps them
    /// one per line.
    pub fn build(mut self, mut source: Source) -> AsnTable {
        for field in [
            &mut source.name,
            &mut source.version,
            &mut source.licence,
            &mut source.sha256,
        ] {
            if field.contains(['\n', '\r']) {
                *field = field.replace(['\n', '\r'], " ");
            }
        }
        self.v4.sort_by_key(|r| (r.0, r.1));
        self.v6.sort_by_key(|r| (r.0, r.1));
        AsnTable {
            v4: V4Table::from_ranges(self.v4, NONE),
            v6: V6Table::from_ranges(self.v6, NONE),
            entries: self.entries,
            names: self.names,
            source,
        }
    }
}

/// `a.b.c.d`, an IPv6 address, or a decimal IPv4 number (the `*-num.csv` files).
fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    s.parse::<u32>().ok().map(|n| IpAddr::V4(n.into()))
}

/// Split one CSV line (RFC 4180 quoting).
fn split_csv(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err("unterminated quote");
    }
    out.push(cur);
    Ok(out)
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A bounds-checked reader over the file bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn u32s(&mut self, n: usize) -> Option<Vec<u32>> {
        let b = self.take(n.checked_mul(4)?)?;
        Some(
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        )
    }
    fn u128s(&mut self, n: usize) -> Option<Vec<u128>> {
        let b = self.take(n.checked_mul(16)?)?;
        Some(
            b.chunks_exact(16)
                .map(|c| u128::from_le_bytes(c.try_into().expect("16 bytes")))
                .collect(),
        )
    }
}

impl AsnTable {
    /// Compile the given CSV files (any mix of IPv4 and IPv6 rows) into a table.
    ///
    /// # Errors
    /// Unreadable files or malformed rows.
    pub fn compile(csvs: &[&Path], source: Source) -> Result<AsnTable, GeoError> {
        let mut b = AsnBuilder::new();
        for p in csvs {
            let text = std::fs::read_to_string(p).map_err(|e| GeoError::Io {
                path: p.to_path_buf(),
                source: e,
            })?;
            b.add_csv(&text, &p.display().to_string())?;
        }
        Ok(b.build(source))
    }

    /// The AS number and organisation of `ip`.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<(u32, &str)> {
        let e = match ip {
            IpAddr::V4(v4) => self.v4.get(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.v4.get(v4.into()),
                None => self.v6.get(v6.into()),
            },
        };
        self.entry(e)
    }

    /// The AS number of an IPv4 address given as a number (the hot path).
    #[inline]
    pub fn lookup_v4(&self, ip: u32) -> Option<(u32, &str)> {
        self.entry(self.v4.get(ip))
    }

    #[inline]
    fn entry(&self, e: u32) -> Option<(u32, &str)> {
        let &(asn, off, len) = self.entries.get(e as usize)?;
        let name = self
            .names
            .get(off as usize..(off + len) as usize)
            .unwrap_or("");
        Some((asn, name))
    }

    /// Where the data came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// IPv4 and IPv6 ranges (including gaps) and distinct (AS, organisation) entries.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.v4.len(), self.v6.len(), self.entries.len())
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.v4.memory_bytes()
            + self.v6.memory_bytes()
            + self.entries.capacity() * 12
            + self.names.capacity()
    }

    /// The compiled file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let prov = format!(
            "{}\n{}\n{}\n{}",
            self.source.name, self.source.version, self.source.licence, self.source.sha256
        );
        let mut out =
            Vec::with_capacity(64 + self.v4.len() * 8 + self.v6.len() * 20 + self.names.len());
        out.extend_from_slice(MAGIC);
        for n in [
            self.v4.len(),
            self.v6.len(),
            self.entries.len(),
            self.names.len(),
            prov.len(),
        ] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        out.extend_from_slice(prov.as_bytes());
        for (s, _) in self.v4.ranges() {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for (_, v) in self.v4.ranges() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for (s, _) in self.v6.ranges() {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for (_, v) in self.v6.ranges() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for &(a, o, l) in &self.entries {
            for x in [a, o, l] {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out.extend_from_slice(self.names.as_bytes());
        let h = fnv1a(&out);
        out.extend_from_slice(&h.to_le_bytes());
        out
    }

    /// Write the compiled file.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), GeoError> {
        std::fs::write(path, self.to_bytes()).map_err(|e| GeoError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Read a compiled file.
    ///
    /// # Errors
    /// Unreadable, truncated, corrupt (checksum) or inconsistent files.
    pub fn open(path: &Path) -> Result<AsnTable, GeoError> {
        let buf = std::fs::read(path).map_err(|e| GeoError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::from_bytes(&buf).map_err(|message| GeoError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parse a compiled file's bytes.
    ///
    /// # Errors
    /// What is wrong with the bytes.
    pub fn from_bytes(buf: &[u8]) -> Result<AsnTable, String> {
        let short = || "file is truncated".to_owned();
        if buf.len() < 8 + 20 + 8 || &buf[..8] != MAGIC {
            return Err(
                "not a floodtrace ASN table (bad magic; recompile with floodtrace-geo-compile)"
                    .into(),
            );
        }
        let (body, sum) = buf.split_at(buf.len() - 8);
        if fnv1a(body).to_le_bytes() != sum {
            return Err("checksum mismatch: the file is corrupt".into());
        }
        let mut c = Cursor { buf: body, pos: 8 };
        let n4 = c.u32().ok_or_else(short)? as usize;
        let n6 = c.u32().ok_or_else(short)? as usize;
        let na = c.u32().ok_or_else(short)? as usize;
        let ns = c.u32().ok_or_else(short)? as usize;
        let np = c.u32().ok_or_else(short)? as usize;
        let prov = std::str::from_utf8(c.take(np).ok_or_else(short)?)
            .map_err(|_| "provenance is not UTF-8".to_owned())?;
        let mut lines = prov.split('\n').map(str::to_owned);
        let source = Source {
            name: lines.next().unwrap_or_default(),
            version: lines.next().unwrap_or_default(),
            licence: lines.next().unwrap_or_default(),
            sha256: lines.next().unwrap_or_default(),
        };
        let s4 = c.u32s(n4).ok_or_else(short)?;
        let v4 = c.u32s(n4).ok_or_else(short)?;
        let s6 = c.u128s(n6).ok_or_else(short)?;
        let v6 = c.u32s(n6).ok_or_else(short)?;
        let raw = c
            .u32s(na.checked_mul(3).ok_or_else(short)?)
            .ok_or_else(short)?;
        let names = std::str::from_utf8(c.take(ns).ok_or_else(short)?)
            .map_err(|_| "organisation names are not UTF-8".to_owned())?
            .to_owned();
        if c.pos != body.len() {
            return Err("trailing bytes after the name table".into());
        }
        if s4.first() != Some(&0) || s6.first() != Some(&0) {
            return Err("range tables do not start at address 0".into());
        }
        if s4.windows(2).any(|w| w[0] >= w[1]) || s6.windows(2).any(|w| w[0] >= w[1]) {
            return Err("range starts are not strictly increasing".into());
        }
        if v4.iter().chain(&v6).any(|&v| v != NONE && v as usize >= na) {
            return Err("a range points past the AS table".into());
        }
        let entries: Vec<(u32, u32, u32)> =
            raw.chunks_exact(3).map(|x| (x[0], x[1], x[2])).collect();
        for &(_, off, len) in &entries {
            let end = off as usize + len as usize;
            if end > names.len()
                || !names.is_char_boundary(off as usize)
                || !names.is_char_boundary(end)
            {
                return Err("an organisation name lies outside the name table".into());
            }
        }
        Ok(AsnTable {
            v4: V4Table::from_parts(s4, v4),
            v6: V6Table::from_parts(s6, v6),
            entries,
            names,
            source,
        })
    }

    /// Provenance for reports.
    pub fn provenance(&self, file: &Path) -> Provenance {
        let (n4, n6, na) = self.counts();
        Provenance {
            kind: "asn",
            name: self.source.name.clone(),
            version: self.source.version.clone(),
            licence: self.source.licence.clone(),
            file: file.display().to_string(),
            detail: format!(
                "{n4} IPv4 and {n6} IPv6 ranges, {na} AS entries; package sha256 {}",
                self.source.sha256
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV4: &str = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n\
                        1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n\
                        1.0.64.0,1.0.127.255,18144,\"Enecom,Inc.\"\n\
                        1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\n\
                        8.8.8.0,8.8.8.255,15169,\"Google \"\"LLC\"\"\"\n";
    const CSV6: &str = "2001::,2001::ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC\n";

    fn table() -> AsnTable {
        let mut b = AsnBuilder::new();
        b.add_csv(CSV4, "v4").unwrap();
        b.add_csv(CSV6, "v6").unwrap();
        assert_eq!(b.rows(), 6);
        b.build(Source {
            name: "test".into(),
            version: "1".into(),
            licence: "CC0".into(),
            sha256: "00".into(),
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn csv_rows_and_lookups() {
        let t = table();
        assert_eq!(t.lookup(ip("1.0.0.1")), Some((13335, "Cloudflare, Inc.")));
        assert_eq!(t.lookup(ip("1.0.3.1")), None);
        assert_eq!(t.lookup(ip("1.0.100.1")), Some((18144, "Enecom,Inc.")));
        assert_eq!(t.lookup(ip("8.8.8.8")), Some((15169, "Google \"LLC\"")));
        assert_eq!(
            t.lookup(ip("::ffff:8.8.8.8")),
            Some((15169, "Google \"LLC\""))
        );
        assert_eq!(
            t.lookup(ip("2001::1")),
            Some((6939, "Hurricane Electric LLC"))
        );
        assert_eq!(t.lookup(ip("2002::1")), None);
        // Deduplicated: Cloudflare once.
        assert_eq!(t.counts().2, 5);
        assert_eq!(t.names.matches("Cloudflare").count(), 1);
    }

    #[test]
    fn round_trip_and_corruption() {
        let t = table();
        let bytes = t.to_bytes();
        let back = AsnTable::from_bytes(&bytes).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.source().licence, "CC0");
        let mut bad = bytes.clone();
        bad[40] ^= 1;
        assert!(AsnTable::from_bytes(&bad).unwrap_err().contains("checksum"));
        assert!(AsnTable::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        assert!(AsnTable::from_bytes(b"hello")
            .unwrap_err()
            .contains("magic"));
        // Every truncation fails cleanly, never panics.
        for n in 0..bytes.len() {
            assert!(AsnTable::from_bytes(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn csv_errors_name_the_line() {
        let mut b = AsnBuilder::new();
        let e = b
            .add_csv("1.0.0.0,1.0.0.255,1,a\n1.0.1.0,nope,2,b\n", "f.csv")
            .unwrap_err();
        assert!(e.to_string().contains("f.csv:2"), "{e}");
        assert!(b.add_csv("1.0.0.0,1.0.0.255,1,\"open\n", "g").is_err());
        assert!(b.add_csv("2.0.0.0,1.0.0.0,1,x\n", "h").is_err());
        // Decimal addresses (asn-ipv4-num.csv).
        let mut b = AsnBuilder::new();
        b.add_csv("16777216,16777471,13335,\"Cloudflare, Inc.\"\n", "num")
            .unwrap();
        let t = b.build(Source::default());
        assert_eq!(t.lookup(ip("1.0.0.9")).unwrap().0, 13335);
    }
}
