//! Application payload peek: what the first bytes of a TCP or UDP payload look like, as a
//! small `Copy` [`AppHint`] stored in [`Observation::app`](crate::Observation::app).
//!
//! The classifier (issue 5) decides attack vectors "by source port and payload, not by port
//! alone". This module supplies the payload half: every recogniser below checks the
//! *content* of the payload, and none of them fires on a port number by itself. A port is
//! used as a hint only where the content alone is too weak to decide and the fact sheet
//! (`../shared/spec/attack-signatures.md` §3.2) names the port as part of the match:
//!
//! | hint | content checked | port hint |
//! |---|---|---|
//! | [`AppHint::DnsQuery`] / [`AppHint::DnsResponse`] | DNS header (opcode 0, Z 0), record counts that fit the datagram, a well-formed first question name, a known QCLASS | none (also matches mDNS and NetBIOS-NS, which share the format) |
//! | [`AppHint::NtpMonlist`] | mode 7, implementation 2/3, request code 42/20, item size 0/72 (§3.2 "NTP monlist") | none |
//! | [`AppHint::NtpMode`] | version 1-4, mode 1-6, 48-byte minimum for modes 1-5, 12-byte header and count for mode 6 | sport or dport 123 |
//! | [`AppHint::MemcachedResponse`] | UDP frame header (seq < total, reserved 0) then `VALUE ` / `STAT ` / `END\r\n`; on TCP the same text without the frame header (§3.2 "memcached") | sport 11211 only for continuation datagrams (seq > 0), which start mid-value |
//! | [`AppHint::MemcachedRequest`] | optional frame header then `get ` / `gets ` / `stats` | none |
//! | [`AppHint::SsdpResponse`] / [`AppHint::SsdpSearch`] | UDP `HTTP/1.x 200` with `ST:` and `USN:` headers; `M-SEARCH * HTTP/1.1` (§3.2 "SSDP") | none |
//! | [`AppHint::CldapResponse`] / [`AppHint::CldapSearch`] | UDP BER SEQUENCE (length within the datagram), INTEGER message id, op `0x64`/`0x65` (or `0x63` for a search) (§3.2 "CLDAP") | none |
//! | [`AppHint::SnmpResponse`] / [`AppHint::SnmpRequest`] | UDP BER SEQUENCE, version INTEGER 0/1, community OCTET STRING, PDU tag `0xA2` (or another PDU tag) (§3.2 "SNMPv2c") | none |
//! | [`AppHint::ChargenData`] | ≥ 72 consecutive bytes of the RFC 864 rotating pattern | sport 19 also accepts any printable run ≥ 72 (§3.2 "CharGEN") |
//! | [`AppHint::WsdResponse`] | UDP XML (`<` first) containing `ProbeMatches` (§3.2 "WS-Discovery") | none |
//! | [`AppHint::Vse`] | UDP payload starting with Mirai's exact 25-byte query (§1.2 "vse") | none |
//! | [`AppHint::RipResponse`], [`AppHint::RpcReply`], [`AppHint::CoapResponse`], [`AppHint::Stun`], [`AppHint::TftpData`] | RIP command 2 + 20-byte entries; ONC-RPC accepted reply; CoAP v1 2.xx with a link-format body; STUN magic cookie and length; TFTP opcode 3 with ≤ 512 data bytes (§3.2) | none |
//! | [`AppHint::HttpRequest`] / [`AppHint::HttpResponse`] | TCP request line `METHOD target HTTP/1.x`, headers; `HTTP/1.x NNN` (§1.2 "http", §5.2) | none |
//! | [`AppHint::TlsClientHello`] | TCP TLS handshake record (`16 03 0x`) holding a ClientHello | none |
//! | [`AppHint::Other`] | anything else: first four bytes and a [`PayloadClass`] | — |
//!
//! Every peek reads through `get`, `first_chunk` and `split_at_checked`, never panics, never
//! allocates, and looks at a bounded prefix of the payload (at most a few KiB of text is
//! scanned for HTTP headers or `ProbeMatches`). Names and header values are not stored:
//! they are reduced to 32-bit FNV-1a hashes ([`fnv1a`], [`domain_hash`]) so a later stage can
//! count distinct names, paths or user agents without allocating per packet.
//!
//! A payload cut by the capture (snaplen, or a first IP fragment) is peeked as far as it
//! goes; recognisers that need bytes beyond the cut return nothing and the payload becomes
//! [`AppHint::Other`].

use crate::transport::{PROTO_TCP, PROTO_UDP};

/// What the start of a TCP or UDP payload was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppHint {
    /// No payload (or not TCP/UDP, or a later fragment without a transport header).
    #[default]
    None,
    /// A DNS query (QR = 0). Also matches mDNS and NetBIOS name-service queries.
    DnsQuery {
        /// Length of the first question's name in dotted form without the trailing dot
        /// (`0` for the root), saturated at 255.
        qname_len: u8,
        /// Length of the leftmost label (`12` for Mirai's `dns` vector).
        first_label_len: u8,
        /// Number of labels in the name.
        labels: u8,
        /// QTYPE of the first question (`1` = A).
        qtype: u16,
        /// An EDNS0 OPT record (type 41) was found in the additional section.
        edns: bool,
        /// Recursion Desired.
        rd: bool,
        /// What the leftmost label looks like (see [`LabelClass`]).
        first_label_class: LabelClass,
        /// [`domain_hash`] of the labels after the first (the parent zone of a
        /// random-subdomain query): `domain_hash("example.com")` for `x1y2.example.com`.
        parent_hash: u32,
    },
    /// A DNS response (QR = 1). NetBIOS node-status answers (QDCOUNT 0, type 0x21) match too.
    DnsResponse {
        /// RCODE (3 = NXDOMAIN).
        rcode: u8,
        /// ANCOUNT.
        answers: u16,
        /// QTYPE of the first question (or TYPE of the first answer when there is no
        /// question): 255 = ANY, 16 = TXT, 48 = DNSKEY.
        qtype: u16,
        /// An EDNS0 OPT record was found in the captured bytes (a first IP fragment
        /// usually ends before the additional section: then `false`).
        edns: bool,
        /// The TC (truncated) bit.
        truncated: bool,
        /// [`domain_hash`] of the whole first question name (amplifier domains repeat it).
        qname_hash: u32,
    },
    /// NTP in mode 1-6 (mode 3 client, 4 server, 6 control), sent to or from port 123.
    NtpMode(u8),
    /// NTP mode 7 `MON_GETLIST(_1)` (monlist), the 556× amplification vector.
    NtpMonlist {
        /// The response bit is set (the reflected traffic the victim receives).
        response: bool,
    },
    /// memcached response text (`VALUE`, `STAT`, `END`), optionally behind the UDP frame header.
    MemcachedResponse {
        /// UDP frame header sequence number (0 on TCP).
        seq: u16,
        /// UDP frame header total datagrams (0 on TCP, which has no frame header).
        total: u16,
        /// What the text starts with.
        body: MemcachedBody,
    },
    /// memcached request (`get`, `gets`, `stats`), the trigger of a memcached reflection.
    MemcachedRequest {
        /// The UDP frame header was present.
        framed: bool,
    },
    /// SSDP search response: `HTTP/1.1 200 OK` over UDP with `ST:` and `USN:` headers.
    SsdpResponse,
    /// SSDP `M-SEARCH` request.
    SsdpSearch,
    /// CLDAP (LDAP over UDP) searchResEntry or searchResDone.
    CldapResponse,
    /// CLDAP searchRequest (the trigger of a CLDAP reflection).
    CldapSearch,
    /// SNMP v1/v2c GetResponse (PDU tag `0xA2`).
    SnmpResponse,
    /// SNMP v1/v2c with another PDU tag (`0xA0` get, `0xA1` get-next, `0xA5` get-bulk, …).
    SnmpRequest {
        /// The PDU tag.
        pdu: u8,
    },
    /// CharGEN output (RFC 864 rotating printable lines).
    ChargenData,
    /// WS-Discovery `ProbeMatches` SOAP envelope.
    WsdResponse,
    /// Mirai `vse`: `FF FF FF FF` "TSource Engine Query" NUL.
    Vse,
    /// RIP response (command 2), version 1 or 2.
    RipResponse,
    /// ONC-RPC accepted reply (portmap `DUMP` answers are these).
    RpcReply,
    /// CoAP version 1 response with a 2.xx code and a link-format (`</…>`) body.
    CoapResponse {
        /// The CoAP code byte (`0x45` = 2.05 Content).
        code: u8,
    },
    /// STUN message (magic cookie `0x2112A442`).
    Stun {
        /// STUN message type (`0x0101` = binding success response).
        message_type: u16,
    },
    /// TFTP DATA packet (opcode 3), matched on content because TFTP replies come from an
    /// ephemeral port.
    TftpData {
        /// Block number.
        block: u16,
    },
    /// An HTTP request on TCP.
    HttpRequest {
        /// Request method.
        method: HttpMethod,
        /// [`fnv1a`] of the request target exactly as sent (path and query string).
        path_hash: u32,
        /// [`fnv1a`] of the `User-Agent` value (leading and trailing blanks removed);
        /// `0` when the segment has no complete `User-Agent` line.
        ua_hash: u32,
        /// [`fnv1a`] of the complete header lines' names, lower-cased, joined by `,`, in
        /// wire order (see [`MIRAI_HTTP_HEADER_ORDER`]).
        headers_hash: u32,
        /// The user agent is exactly one of Mirai's five (§1.2 "http").
        mirai_ua: bool,
    },
    /// An HTTP response on TCP (or an HTTP-shaped UDP datagram that is not SSDP).
    HttpResponse {
        /// Status code.
        status: u16,
    },
    /// A TLS handshake record carrying a ClientHello.
    TlsClientHello,
    /// A payload none of the above recognised.
    Other {
        /// The first four payload bytes (zero-padded when shorter).
        first4: [u8; 4],
        /// A coarse description of the first [`CLASS_SAMPLE`] bytes.
        class: PayloadClass,
    },
}

/// What the leftmost label of a DNS name looks like (lower-cased first).
///
/// A cheap heuristic, applied in this order:
/// 1. `None`: no label (a query for the root); `Short`: fewer than 6 characters.
/// 2. `Other`: any character outside `[a-z0-9-]` (underscores of service labels, …).
/// 3. `Word`: letters and hyphens only, at least one vowel (`aeiouy`) per five letters and
///    no run of five or more consonants: "pronounceable".
/// 4. `Hex`: only `[0-9a-f]` (hashes used by CDNs and trackers).
/// 5. `MiraiAlphabet`: only `[a-w0-8]`, Mirai's 32 symbols. A single random 12-character
///    label over `[a-z0-9]` avoids x, y, z and 9 by chance 24 % of the time, so this is a
///    per-domain share signal, never a per-query verdict (see §5.1's caveats).
/// 6. `RandomAlnum`: letters and digits with at least one digit per four characters, or a
///    consonant run of five or more, or fewer than one vowel per five letters.
/// 7. `Mixed`: everything else (e.g. `mail2`, `server01a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LabelClass {
    /// No first label.
    #[default]
    None,
    /// Fewer than 6 characters: too short to judge.
    Short,
    /// Pronounceable letters (and hyphens).
    Word,
    /// Hexadecimal digits only.
    Hex,
    /// Only characters from Mirai's `[a-w0-8]` alphabet, not word-like.
    MiraiAlphabet,
    /// Letters and digits that look machine-generated.
    RandomAlnum,
    /// Letters and digits that look neither random nor like a word.
    Mixed,
    /// Contains characters outside `[a-z0-9-]`.
    Other,
}

/// Start of a memcached response text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MemcachedBody {
    /// `VALUE <key> <flags> <bytes>` (a `get` answer).
    #[default]
    Value,
    /// `STAT <name> <value>` (a `stats` answer).
    Stat,
    /// `END\r\n`.
    End,
    /// A later datagram of a multi-datagram UDP response (starts inside the value).
    Continuation,
}

/// HTTP request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpMethod {
    /// `GET`.
    #[default]
    Get,
    /// `POST`.
    Post,
    /// `HEAD`.
    Head,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `OPTIONS`.
    Options,
    /// `PATCH`.
    Patch,
    /// `CONNECT`.
    Connect,
    /// `TRACE`.
    Trace,
}

/// Coarse content class of an unrecognised payload, from its first [`CLASS_SAMPLE`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayloadClass {
    /// All bytes zero (Mirai `udp` with `rand=0`).
    #[default]
    Zeros,
    /// One byte value repeated (not zero).
    Constant,
    /// Printable ASCII, tab, CR and LF only.
    Text,
    /// Distinct byte values ≥ 3/4 of the sample (and a sample of ≥ 16 bytes): random or
    /// compressed/encrypted data. 64 uniformly random bytes give ~57 distinct values.
    High,
    /// Anything else.
    Low,
}

/// How many leading bytes [`PayloadClass`] looks at.
pub const CLASS_SAMPLE: usize = 64;

/// Mirai's `vse` payload (§1.2 "vse").
pub const VSE_QUERY: &[u8; 25] = b"\xff\xff\xff\xffTSource Engine Query\0";

/// Mirai's five HTTP flood user agents (§1.2 "http"; `table.c` `TABLE_HTTP_ONE`..`FIVE`).
pub const MIRAI_USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/601.7.7 (KHTML, like Gecko) Version/9.1.2 Safari/601.7.7",
];

/// `headers_hash` of Mirai's default request (§1.2 "http": User-Agent, Host, Connection,
/// Accept, Accept-Language; no postdata, no cookie).
pub const MIRAI_HTTP_HEADER_ORDER: u32 =
    fnv1a(b"user-agent,host,connection,accept,accept-language");

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// 32-bit FNV-1a of `bytes`.
pub const fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h = FNV_OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u32).wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

#[inline]
fn fnv_step(h: u32, b: u8) -> u32 {
    (h ^ b as u32).wrapping_mul(FNV_PRIME)
}

/// The hash [`AppHint::DnsQuery::parent_hash`] and [`AppHint::DnsResponse::qname_hash`] use:
/// FNV-1a of the dotted name, ASCII lower-cased, without a trailing dot. Compute it from a
/// configured zone to match queries against it: `domain_hash("Example.COM.")` equals the
/// `parent_hash` of a query for `abc123def456.example.com`.
pub fn domain_hash(name: &str) -> u32 {
    let b = name.as_bytes();
    fnv_lower(FNV_OFFSET, b.strip_suffix(b".").unwrap_or(b))
}

/// Continue FNV-1a hash `h` over `bytes`, ASCII lower-cased (names compare without case).
#[inline]
fn fnv_lower(h: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(h, |h, &c| fnv_step(h, c.to_ascii_lowercase()))
}

/// Which payloads [`crate::observe_frame_with`] classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PeekMode {
    /// None: [`crate::Observation::app`] stays [`AppHint::None`].
    Never,
    /// Every TCP and UDP payload.
    #[default]
    Always,
    /// Only the payloads floodtrace's analysis reads (see [`analysis_wants`]): a random
    /// flood's payload is then not classified at all, which is most of the cost.
    Analysis,
}

impl From<bool> for PeekMode {
    fn from(peek: bool) -> Self {
        if peek {
            PeekMode::Always
        } else {
            PeekMode::Never
        }
    }
}

/// UDP source ports whose payload tells a reflected answer from a flood that only borrows
/// the port (the reflection services of `attack-signatures.md` §3; NetBIOS name service
/// answers look like DNS).
pub const REFLECTION_SOURCE_PORTS: [u16; 15] = [
    19, 53, 69, 111, 123, 137, 161, 389, 520, 1900, 3283, 3478, 3702, 5683, 11211,
];

/// Whether the analysis reads this payload: DNS queries (water torture), answers from a
/// reflection service's port (is it really that service?), and TCP payloads that may be an
/// HTTP request (first byte an upper-case letter: methods are upper case).
#[inline]
pub fn analysis_wants(proto: u8, sport: u16, dport: u16, first: u8) -> bool {
    match proto {
        PROTO_UDP => dport == 53 || REFLECTION_SOURCE_PORTS.contains(&sport),
        PROTO_TCP => first.is_ascii_uppercase(),
        _ => false,
    }
}

/// Peek at a transport payload.
///
/// `proto` is the IP protocol (only TCP and UDP payloads are examined), `sport`/`dport`
/// the transport ports (hints for weak-content protocols only, see the module docs),
/// `payload` the captured payload bytes and `full_len` the payload length the headers
/// declare (≥ `payload.len()` when the capture or a fragment cut it; structural length
/// checks use the larger of the two).
///
/// Never panics and never allocates.
pub fn peek(proto: u8, sport: u16, dport: u16, payload: &[u8], full_len: usize) -> AppHint {
    if payload.is_empty() {
        return AppHint::None;
    }
    let full_len = full_len.max(payload.len());
    let found = match proto {
        PROTO_UDP => peek_udp(sport, dport, payload, full_len),
        PROTO_TCP => peek_tcp(payload),
        _ => return AppHint::None,
    };
    found.unwrap_or_else(|| other(payload))
}

fn peek_udp(sport: u16, dport: u16, p: &[u8], full_len: usize) -> Option<AppHint> {
    let port = |n: u16| sport == n || dport == n;
    // Cheap dispatch on the first byte; a miss falls through to the binary formats (a DNS
    // transaction id may start with any byte).
    let early = match p.first()? {
        0xff if p.starts_with(VSE_QUERY) => Some(AppHint::Vse),
        b'M' if p.starts_with(b"M-SEARCH ") => Some(AppHint::SsdpSearch),
        b'H' => http_response(p, true),
        b'<' => wsd(p),
        0x30 => ber(p, full_len),
        _ => None,
    };
    if early.is_some() {
        return early;
    }
    if let Some(hint) = dns(p, full_len) {
        return Some(hint);
    }
    if let Some(hint) = ntp(p, port(123)) {
        return Some(hint);
    }
    if let Some(hint) = memcached(p, true, sport == 11211) {
        return Some(hint);
    }
    if let Some(hint) = rip(p, full_len) {
        return Some(hint);
    }
    if let Some(hint) = rpc_reply(p) {
        return Some(hint);
    }
    if let Some(hint) = stun(p, full_len) {
        return Some(hint);
    }
    if let Some(hint) = coap(p) {
        return Some(hint);
    }
    if let Some(hint) = tftp_data(p, full_len) {
        return Some(hint);
    }
    chargen(p, sport == 19)
}

fn peek_tcp(p: &[u8]) -> Option<AppHint> {
    match p.first()? {
        b'H' if p.starts_with(b"HTTP/1.") => http_response(p, false),
        b'A'..=b'Z' => http_request(p).or_else(|| memcached(p, false, false)),
        0x16 => tls_client_hello(p),
        b'g' | b's' => memcached(p, false, false),
        _ => None,
    }
}

/// A cursor over untrusted bytes (rustls style): every read is checked.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { rest: b }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let (b, rest) = self.rest.split_first_chunk::<2>()?;
        self.rest = rest;
        Some(u16::from_be_bytes(*b))
    }

    fn u32(&mut self) -> Option<u32> {
        let (b, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(u32::from_be_bytes(*b))
    }
}

// ---------------------------------------------------------------------------------------
// DNS (also mDNS and NetBIOS-NS, which share the message format).

/// What a walk over a question name found.
struct Name {
    labels: u8,
    dotted_len: usize,
    first_len: u8,
    /// Queries only (see [`NameUse`]).
    first_class: LabelClass,
    /// Queries only.
    parent_hash: u32,
    /// Responses only.
    full_hash: u32,
}

/// What a name is read for: a query's hint keeps its first label's class and the hash of
/// the rest (random-subdomain floods), a response's the hash of the whole name. Each walk
/// computes only what its hint keeps (a reflection flood is mostly responses, each name
/// hashed per packet).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameUse {
    Query,
    Response,
}

/// Walk an uncompressed name (a compression pointer ends it: the pointed-to suffix is not
/// followed, so it is not counted or hashed). `None` if a label is malformed, the name
/// exceeds 255 bytes or the bytes end first.
fn question_name(r: &mut Reader<'_>, read_for: NameUse) -> Option<Name> {
    let mut name = Name {
        labels: 0,
        dotted_len: 0,
        first_len: 0,
        first_class: LabelClass::None,
        parent_hash: FNV_OFFSET,
        full_hash: FNV_OFFSET,
    };
    let mut wire_len = 0usize;
    loop {
        let len = r.u8()?;
        match len {
            0 => return Some(name),
            1..=63 => {}
            0xc0..=0xff => {
                r.u8()?;
                return Some(name);
            }
            _ => return None, // 0x40-0xbf: extended label types, obsolete
        }
        wire_len += 1 + len as usize;
        if wire_len > 255 {
            return None;
        }
        let label = r.take(len as usize)?;
        if name.labels == 0 {
            name.first_len = len;
        }
        match read_for {
            NameUse::Query if name.labels == 0 => name.first_class = classify_label(label),
            NameUse::Query => {
                if name.labels > 1 {
                    name.parent_hash = fnv_step(name.parent_hash, b'.');
                }
                name.parent_hash = fnv_lower(name.parent_hash, label);
            }
            NameUse::Response => {
                if name.labels > 0 {
                    name.full_hash = fnv_step(name.full_hash, b'.');
                }
                name.full_hash = fnv_lower(name.full_hash, label);
            }
        }
        if name.labels > 0 {
            name.dotted_len += 1;
        }
        name.dotted_len += len as usize;
        name.labels += 1;
    }
}

/// Skip a possibly compressed name.
fn skip_name(r: &mut Reader<'_>) -> Option<()> {
    // A name has at most 127 labels; the bound also stops a walk over junk.
    for _ in 0..128 {
        match r.u8()? {
            0 => return Some(()),
            len @ 1..=63 => {
                r.take(len as usize)?;
            }
            0xc0..=0xff => {
                r.u8()?;
                return Some(());
            }
            _ => return None,
        }
    }
    None
}

/// Known QCLASS values (IN, CH, HS, NONE, ANY), ignoring mDNS's unicast/cache-flush bit.
fn known_class(class: u16) -> bool {
    matches!(class & 0x7fff, 1 | 3 | 4 | 254 | 255)
}

/// Whether an OPT record (type 41) is among the additional records, walking at most 64
/// records of the captured bytes.
fn find_opt(r: &mut Reader<'_>, more_questions: u16, an: u16, ns: u16, ar: u16) -> bool {
    let mut walk = || -> Option<bool> {
        for _ in 0..more_questions.min(64) {
            skip_name(r)?;
            r.take(4)?;
        }
        let records = an as u32 + ns as u32;
        if records + ar as u32 > 64 {
            return Some(false);
        }
        for i in 0..records + ar as u32 {
            skip_name(r)?;
            let rtype = r.u16()?;
            if i >= records && rtype == 41 {
                return Some(true);
            }
            r.take(6)?; // class, TTL
            let rdlen = r.u16()?;
            r.take(rdlen as usize)?;
        }
        Some(false)
    };
    walk().unwrap_or(false)
}

fn dns(p: &[u8], full_len: usize) -> Option<AppHint> {
    let mut r = Reader::new(p);
    let _id = r.u16()?;
    let flags = r.u16()?;
    let (qd, an, ns, ar) = (r.u16()?, r.u16()?, r.u16()?, r.u16()?);
    let opcode = (flags >> 11) & 0xf;
    let z = flags & 0x0040;
    if opcode != 0 || z != 0 {
        return None;
    }
    let response = flags & 0x8000 != 0;
    let rcode = (flags & 0xf) as u8;
    if !response && rcode != 0 {
        return None;
    }
    // Each question takes ≥ 5 bytes and each record ≥ 11: the counts must fit the datagram.
    let need = qd as usize * 5 + (an as usize + ns as usize + ar as usize) * 11;
    if need > full_len.saturating_sub(12) {
        return None;
    }
    let read_for = if response {
        NameUse::Response
    } else {
        NameUse::Query
    };
    let (name, qtype) = if qd > 0 {
        let name = question_name(&mut r, read_for)?;
        let qtype = r.u16()?;
        if !known_class(r.u16()?) {
            return None;
        }
        (name, qtype)
    } else if response && an > 0 {
        // NetBIOS node status and some mDNS answers carry no question: use the first answer.
        let name = question_name(&mut r, NameUse::Response)?;
        let rtype = r.u16()?;
        if !known_class(r.u16()?) {
            return None;
        }
        // Give the reader back the rest of the answer so the OPT walk starts after it.
        r.take(4)?;
        let rdlen = r.u16()?;
        r.take(rdlen as usize)?;
        let edns = find_opt(&mut r, 0, 0, ns, ar);
        return Some(AppHint::DnsResponse {
            rcode,
            answers: an,
            qtype: rtype,
            edns,
            truncated: flags & 0x0200 != 0,
            qname_hash: name.full_hash,
        });
    } else {
        return None;
    };
    let edns = find_opt(&mut r, qd - 1, an, ns, ar);
    Some(if response {
        AppHint::DnsResponse {
            rcode,
            answers: an,
            qtype,
            edns,
            truncated: flags & 0x0200 != 0,
            qname_hash: name.full_hash,
        }
    } else {
        AppHint::DnsQuery {
            qname_len: name.dotted_len.min(255) as u8,
            first_label_len: name.first_len,
            labels: name.labels,
            qtype,
            edns,
            rd: flags & 0x0100 != 0,
            first_label_class: name.first_class,
            parent_hash: name.parent_hash,
        }
    })
}

/// See [`LabelClass`] for the rules.
pub fn classify_label(label: &[u8]) -> LabelClass {
    if label.is_empty() {
        return LabelClass::None;
    }
    if label.len() < 6 {
        return LabelClass::Short;
    }
    let (mut letters, mut digits, mut vowels, mut hyphens) = (0usize, 0usize, 0usize, 0usize);
    let (mut run, mut max_run) = (0usize, 0usize);
    let (mut hex, mut mirai) = (true, true);
    for &c in label {
        let c = c.to_ascii_lowercase();
        match c {
            b'a'..=b'z' => {
                letters += 1;
                if matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y') {
                    vowels += 1;
                    run = 0;
                } else {
                    run += 1;
                    max_run = max_run.max(run);
                }
                hex &= c <= b'f';
                mirai &= c <= b'w';
            }
            b'0'..=b'9' => {
                digits += 1;
                run = 0;
                mirai &= c != b'9';
            }
            b'-' => {
                hyphens += 1;
                run = 0;
                hex = false;
                mirai = false;
            }
            _ => return LabelClass::Other,
        }
    }
    if digits == 0 && vowels * 5 >= letters && max_run < 5 {
        return LabelClass::Word;
    }
    if hex {
        return LabelClass::Hex;
    }
    if mirai {
        return LabelClass::MiraiAlphabet;
    }
    let len = letters + digits + hyphens;
    if digits * 4 >= len || max_run >= 5 || vowels * 5 < letters {
        return LabelClass::RandomAlnum;
    }
    LabelClass::Mixed
}

// ---------------------------------------------------------------------------------------
// NTP.

fn ntp(p: &[u8], port_123: bool) -> Option<AppHint> {
    let &[b0, b1, b2, b3, ..] = p else {
        return None;
    };
    let version = (b0 >> 3) & 7;
    let mode = b0 & 7;
    if mode == 7 {
        // Mode 7 header: R|M|VN|mode, A|sequence, implementation, request code, err|count,
        // mbz|item size. Monlist items are 72 bytes (0 in a request with no items).
        let item_size = u16::from_be_bytes([*p.get(6)?, *p.get(7)?]) & 0x0fff;
        if (2..=4).contains(&version)
            && matches!(b2, 2 | 3)
            && matches!(b3, 42 | 20)
            && matches!(item_size, 0 | 72)
        {
            return Some(AppHint::NtpMonlist {
                response: b0 & 0x80 != 0,
            });
        }
        return None;
    }
    if !port_123 || !(1..=4).contains(&version) || mode == 0 {
        return None;
    }
    if mode == 6 {
        // Control header: 12 bytes, then `count` data bytes (≤ 468).
        let count = u16::from_be_bytes([*p.get(10)?, *p.get(11)?]);
        if b1 & 0x1f == 0 || count > 468 {
            return None;
        }
        return Some(AppHint::NtpMode(6));
    }
    // Modes 1-5: a 48-byte header, stratum 0-16.
    if p.len() < 48 || b1 > 16 {
        return None;
    }
    Some(AppHint::NtpMode(mode))
}

// ---------------------------------------------------------------------------------------
// memcached.

fn memcached(p: &[u8], udp: bool, sport_11211: bool) -> Option<AppHint> {
    let (mut seq, mut total, mut text, mut framed) = (0, 0, p, false);
    if udp {
        let (h, rest) = p.split_first_chunk::<8>()?;
        let s = u16::from_be_bytes([h[2], h[3]]);
        let t = u16::from_be_bytes([h[4], h[5]]);
        if h[6..8] != [0, 0] || t == 0 || s >= t {
            return None;
        }
        (seq, total, text, framed) = (s, t, rest, true);
    }
    let body = if text.starts_with(b"VALUE ") {
        MemcachedBody::Value
    } else if text.starts_with(b"STAT ") {
        MemcachedBody::Stat
    } else if text.starts_with(b"END\r\n") {
        MemcachedBody::End
    } else if text.starts_with(b"get ") || text.starts_with(b"gets ") || text.starts_with(b"stats")
    {
        return Some(AppHint::MemcachedRequest { framed });
    } else if udp && seq > 0 && sport_11211 {
        MemcachedBody::Continuation
    } else {
        return None;
    };
    Some(AppHint::MemcachedResponse { seq, total, body })
}

// ---------------------------------------------------------------------------------------
// Text protocols: HTTP, SSDP, WS-Discovery.

/// At most this many bytes of a text payload are scanned for headers or markers.
const TEXT_SCAN: usize = 4096;

/// Split off one line ending in `\n` (without `\r\n`); `None` if no complete line is left.
fn line<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    // `memchr` compares 32 bytes at a time: a flood of SSDP answers or HTTP requests has
    // every one of its header lines scanned here.
    let at = memchr::memchr(b'\n', rest)?;
    let (l, r) = rest.split_at_checked(at)?;
    *rest = r.get(1..)?;
    Some(l.strip_suffix(b"\r").unwrap_or(l))
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', r @ ..] = v {
        v = r;
    }
    while let [r @ .., b' ' | b'\t'] = v {
        v = r;
    }
    v
}

/// `HTTP/1.x NNN`; over UDP with `ST:` and `USN:` headers it is SSDP.
fn http_response(p: &[u8], udp: bool) -> Option<AppHint> {
    let rest = p.strip_prefix(b"HTTP/1.")?;
    let &[minor, b' ', d0, d1, d2, ..] = rest else {
        return None;
    };
    if !minor.is_ascii_digit() || ![d0, d1, d2].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = (d0 - b'0') as u16 * 100 + (d1 - b'0') as u16 * 10 + (d2 - b'0') as u16;
    if udp && status == 200 {
        let mut text = p.get(..TEXT_SCAN).unwrap_or(p);
        let _status_line = line(&mut text)?;
        let (mut st, mut usn) = (false, false);
        while let Some(l) = line(&mut text) {
            if l.is_empty() {
                break;
            }
            let name = l.split(|&c| c == b':').next().unwrap_or(&[]);
            st |= name.eq_ignore_ascii_case(b"ST");
            usn |= name.eq_ignore_ascii_case(b"USN");
            if st && usn {
                break;
            }
        }
        if st && usn {
            return Some(AppHint::SsdpResponse);
        }
    }
    Some(AppHint::HttpResponse { status })
}

const METHODS: [(&[u8], HttpMethod); 9] = [
    (b"GET ", HttpMethod::Get),
    (b"POST ", HttpMethod::Post),
    (b"HEAD ", HttpMethod::Head),
    (b"PUT ", HttpMethod::Put),
    (b"DELETE ", HttpMethod::Delete),
    (b"OPTIONS ", HttpMethod::Options),
    (b"PATCH ", HttpMethod::Patch),
    (b"CONNECT ", HttpMethod::Connect),
    (b"TRACE ", HttpMethod::Trace),
];

fn http_request(p: &[u8]) -> Option<AppHint> {
    let (method, rest) = METHODS
        .iter()
        .find_map(|&(m, method)| Some((method, p.strip_prefix(m)?)))?;
    let mut text = rest.get(..TEXT_SCAN).unwrap_or(rest);
    let request_line = line(&mut text)?;
    let sp = request_line.iter().rposition(|&c| c == b' ')?;
    let (target, version) = request_line.split_at_checked(sp)?;
    if target.is_empty() || !version.starts_with(b" HTTP/1.") {
        return None;
    }
    let path_hash = fnv1a(target);
    let (mut ua_hash, mut mirai_ua, mut headers_hash, mut first) = (0, false, FNV_OFFSET, true);
    while let Some(l) = line(&mut text) {
        if l.is_empty() {
            break;
        }
        let Some(colon) = l.iter().position(|&c| c == b':') else {
            break; // not a header line: stop, the rest is not headers
        };
        let (name, value) = l.split_at_checked(colon)?;
        if !first {
            headers_hash = fnv_step(headers_hash, b',');
        }
        first = false;
        headers_hash = name
            .iter()
            .fold(headers_hash, |h, &c| fnv_step(h, c.to_ascii_lowercase()));
        if name.eq_ignore_ascii_case(b"user-agent") {
            let ua = trim(value.get(1..).unwrap_or(&[]));
            ua_hash = fnv1a(ua);
            mirai_ua = MIRAI_USER_AGENTS.iter().any(|m| m.as_bytes() == ua);
        }
    }
    Some(AppHint::HttpRequest {
        method,
        path_hash,
        ua_hash,
        headers_hash,
        mirai_ua,
    })
}

fn wsd(p: &[u8]) -> Option<AppHint> {
    let text = p.get(..TEXT_SCAN).unwrap_or(p);
    let needle = b"ProbeMatches";
    text.windows(needle.len())
        .any(|w| w == needle)
        .then_some(AppHint::WsdResponse)
}

fn tls_client_hello(p: &[u8]) -> Option<AppHint> {
    let &[0x16, 0x03, minor, _, _, 0x01, ..] = p else {
        return None;
    };
    (minor <= 0x04).then_some(AppHint::TlsClientHello)
}

// ---------------------------------------------------------------------------------------
// BER: SNMP and CLDAP.

/// A BER definite length (short form, or long form of 1-4 bytes).
fn ber_len(r: &mut Reader<'_>) -> Option<usize> {
    let b = r.u8()?;
    if b < 0x80 {
        return Some(b as usize);
    }
    let n = (b & 0x7f) as usize;
    if !(1..=4).contains(&n) {
        return None;
    }
    Some(
        r.take(n)?
            .iter()
            .fold(0usize, |v, &d| (v << 8) | d as usize),
    )
}

fn ber(p: &[u8], full_len: usize) -> Option<AppHint> {
    let mut r = Reader::new(p);
    if r.u8()? != 0x30 {
        return None;
    }
    let len = ber_len(&mut r)?;
    let header = p.len() - r.rest.len();
    if header + len > full_len {
        return None;
    }
    if r.u8()? != 0x02 {
        return None;
    }
    let int_len = ber_len(&mut r)?;
    if !(1..=4).contains(&int_len) {
        return None;
    }
    let int = r.take(int_len)?;
    let tag = r.u8()?;
    match tag {
        0x04 if matches!(int, [0 | 1]) => {
            // SNMP v1 / v2c: community OCTET STRING, then the PDU.
            let community = ber_len(&mut r)?;
            r.take(community)?;
            match r.u8()? {
                0xa2 => Some(AppHint::SnmpResponse),
                pdu @ 0xa0..=0xa8 => Some(AppHint::SnmpRequest { pdu }),
                _ => None,
            }
        }
        0x63..=0x65 => {
            let op_len = ber_len(&mut r)?;
            if op_len > full_len {
                return None;
            }
            Some(if tag == 0x63 {
                AppHint::CldapSearch
            } else {
                AppHint::CldapResponse
            })
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Small binary protocols named in §3.2.

/// RIP response: command 2, version 1/2, zero (v1) or routing-domain bytes, 20-byte entries,
/// the first with address family 2 (IP) or 0xFFFF (v2 authentication).
fn rip(p: &[u8], full_len: usize) -> Option<AppHint> {
    let &[2, version @ (1 | 2), mbz0, mbz1, af0, af1, ..] = p else {
        return None;
    };
    if version == 1 && (mbz0, mbz1) != (0, 0) {
        return None;
    }
    if full_len < 24
        || !(full_len - 4).is_multiple_of(20)
        || !matches!([af0, af1], [0, 2] | [0xff, 0xff])
    {
        return None;
    }
    Some(AppHint::RipResponse)
}

/// ONC-RPC reply: xid, msg_type 1 (REPLY), reply_stat 0 (MSG_ACCEPTED), verifier (flavor
/// 0-6, length ≤ 400), accept_stat 0-5.
fn rpc_reply(p: &[u8]) -> Option<AppHint> {
    let mut r = Reader::new(p);
    let _xid = r.u32()?;
    if r.u32()? != 1 || r.u32()? != 0 || r.u32()? > 6 {
        return None;
    }
    let verf_len = r.u32()?;
    if verf_len > 400 {
        return None;
    }
    r.take(verf_len as usize)?;
    (r.u32()? <= 5).then_some(AppHint::RpcReply)
}

/// STUN: first two bits zero, magic cookie, length + 20 = datagram length.
fn stun(p: &[u8], full_len: usize) -> Option<AppHint> {
    let (h, _) = p.split_first_chunk::<8>()?;
    let message_type = u16::from_be_bytes([h[0], h[1]]);
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    if message_type & 0xc000 != 0 || h[4..8] != [0x21, 0x12, 0xa4, 0x42] || len + 20 != full_len {
        return None;
    }
    Some(AppHint::Stun { message_type })
}

/// CoAP version 1, code 2.05 (Content), a token of ≤ 8 bytes, options that parse, then
/// the `0xFF` payload marker and a link-format body (`<`).
fn coap(p: &[u8]) -> Option<AppHint> {
    let mut r = Reader::new(p);
    let b0 = r.u8()?;
    let code = r.u8()?;
    if b0 >> 6 != 1 || b0 & 0x0f > 8 || code != 0x45 {
        return None;
    }
    r.take(2 + (b0 & 0x0f) as usize)?; // message id, token
                                       // Each option advances by ≥ 1 byte, so the walk ends.
    loop {
        let h = r.u8()?;
        if h == 0xff {
            break;
        }
        // A nibble of 13 or 14 takes 1 or 2 extension bytes; 15 is reserved.
        let mut ext = |nibble: u8| -> Option<usize> {
            match nibble {
                0..=12 => Some(nibble as usize),
                13 => Some(r.u8()? as usize + 13),
                14 => Some(r.u16()? as usize + 269),
                _ => None,
            }
        };
        let _delta = ext(h >> 4)?;
        let len = ext(h & 0x0f)?;
        r.take(len)?;
    }
    (r.u8()? == b'<').then_some(AppHint::CoapResponse { code })
}

/// TFTP DATA: opcode 3, block ≥ 1, at most 512 data bytes.
fn tftp_data(p: &[u8], full_len: usize) -> Option<AppHint> {
    let &[0, 3, b0, b1, ..] = p else {
        return None;
    };
    let block = u16::from_be_bytes([b0, b1]);
    (block > 0 && full_len <= 516).then_some(AppHint::TftpData { block })
}

// ---------------------------------------------------------------------------------------
// CharGEN and the generic fallback.

/// RFC 864 output: 72-character lines, each character the previous one + 1 (wrapping
/// 0x7E → 0x20), lines separated by CR LF. ≥ 72 consecutive pattern bytes match; with the
/// port hint (sport 19), any printable run ≥ 72 matches.
fn chargen(p: &[u8], sport_19: bool) -> Option<AppHint> {
    let (mut run, mut printable_run) = (0usize, 0usize);
    let mut prev: Option<u8> = None;
    for &c in p.get(..512).unwrap_or(p) {
        if (0x20..=0x7e).contains(&c) {
            printable_run += 1;
            run = match prev {
                Some(q) if c == if q == 0x7e { 0x20 } else { q + 1 } => run + 1,
                _ => 1,
            };
            prev = Some(c);
        } else if c == b'\r' || c == b'\n' {
            // A line break ends the run: each line starts one character later.
            prev = None;
            printable_run = 0;
        } else {
            return None;
        }
        if run >= 72 || (sport_19 && printable_run >= 72) {
            return Some(AppHint::ChargenData);
        }
    }
    None
}

fn other(p: &[u8]) -> AppHint {
    let mut first4 = [0u8; 4];
    for (d, s) in first4.iter_mut().zip(p) {
        *d = *s;
    }
    AppHint::Other {
        first4,
        class: payload_class(p.get(..CLASS_SAMPLE).unwrap_or(p)),
    }
}

/// See [`PayloadClass`].
pub fn payload_class(sample: &[u8]) -> PayloadClass {
    let mut seen = [0u64; 4];
    let mut distinct = 0usize;
    let mut text = true;
    for &c in sample {
        let (word, bit) = ((c >> 6) as usize, 1u64 << (c & 63));
        if let Some(w) = seen.get_mut(word) {
            if *w & bit == 0 {
                *w |= bit;
                distinct += 1;
            }
        }
        text &= (0x20..=0x7e).contains(&c) || matches!(c, b'\t' | b'\r' | b'\n');
    }
    match sample.first() {
        None => PayloadClass::Zeros,
        Some(0) if distinct == 1 => PayloadClass::Zeros,
        Some(_) if distinct == 1 => PayloadClass::Constant,
        _ if text => PayloadClass::Text,
        _ if sample.len() >= 16 && distinct * 4 >= sample.len() * 3 => PayloadClass::High,
        _ => PayloadClass::Low,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mirai `dns` query (§1.2): id, flags 0x0100, QDCOUNT 1, a 12-character label from
    /// `[a-w0-8]`, then `example.com`, A/IN, no EDNS0.
    static MIRAI_DNS_QUERY: [u8; 42] = [
        0x4a, 0x1f, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, //
        12, b'k', b'3', b'd', b'8', b'a', b'w', b'0', b'q', b'b', b'm', b'2', b't', //
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, //
        0, 1, 0, 1,
    ];

    /// A query for `WWW.Example.COM` (0x20 case randomisation), type ANY, with an EDNS0 OPT
    /// record advertising 4096 bytes, as a reflection trigger looks.
    static ANY_QUERY_EDNS: [u8; 44] = [
        0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, //
        3, b'W', b'W', b'W', 7, b'E', b'x', b'a', b'm', b'P', b'l', b'e', 3, b'C', b'O', b'M',
        0, //
        0, 255, 0, 1, //
        0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0,
    ];

    /// NTP mode 7 MON_GETLIST_1 response head (§3.2): 0xD7, seq, XNTPD, 42, 6 items of 72.
    static MONLIST_RESPONSE: [u8; 8] = [0xd7, 0x01, 0x03, 0x2a, 0x00, 0x06, 0x00, 0x48];

    fn udp(sport: u16, dport: u16, p: &[u8]) -> AppHint {
        peek(PROTO_UDP, sport, dport, p, p.len())
    }

    fn tcp(p: &[u8]) -> AppHint {
        peek(PROTO_TCP, 40000, 80, p, p.len())
    }

    fn xorshift(seed: &mut u64) -> u8 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 24) as u8
    }

    #[test]
    fn parse_mirai_dns_query() {
        let hint = udp(31337, 53, &MIRAI_DNS_QUERY);
        assert_eq!(
            hint,
            AppHint::DnsQuery {
                qname_len: 24,
                first_label_len: 12,
                labels: 3,
                qtype: 1,
                edns: false,
                rd: true,
                first_label_class: LabelClass::MiraiAlphabet,
                parent_hash: domain_hash("example.com"),
            }
        );
        // Content, not port: the same bytes to another port are still a DNS query.
        assert_eq!(udp(31337, 9999, &MIRAI_DNS_QUERY), hint);
    }

    #[test]
    fn parse_dns_query_edns_and_case() {
        let AppHint::DnsQuery {
            qtype,
            edns,
            labels,
            parent_hash,
            first_label_class,
            ..
        } = udp(5000, 53, &ANY_QUERY_EDNS)
        else {
            panic!("{:?}", udp(5000, 53, &ANY_QUERY_EDNS));
        };
        assert_eq!((qtype, edns, labels), (255, true, 3));
        assert_eq!(parent_hash, domain_hash("example.com."));
        assert_eq!(first_label_class, LabelClass::Short);
    }

    #[test]
    fn parse_dns_response() {
        // The ANY query answered: QR, RD, RA, one TXT answer, then the OPT record.
        let mut p = ANY_QUERY_EDNS[..33].to_vec();
        p[2..4].copy_from_slice(&[0x81, 0x83]); // NXDOMAIN, to see the rcode
        p[6..8].copy_from_slice(&[0, 1]);
        p.extend_from_slice(&[
            0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 3, b'a', b'b',
        ]);
        p.push(b'c');
        p.extend_from_slice(&ANY_QUERY_EDNS[33..]);
        assert_eq!(
            udp(53, 33333, &p),
            AppHint::DnsResponse {
                rcode: 3,
                answers: 1,
                qtype: 255,
                edns: true,
                truncated: false,
                qname_hash: domain_hash("www.example.com"),
            }
        );
        // Cut after the question (a first fragment): still a response, OPT not seen.
        let AppHint::DnsResponse { edns, .. } = peek(PROTO_UDP, 53, 1, &p[..40], p.len()) else {
            panic!()
        };
        assert!(!edns);
    }

    #[test]
    fn dns_counts_must_fit() {
        let mut p = MIRAI_DNS_QUERY;
        p[10..12].copy_from_slice(&[0x40, 0x00]); // 16384 additional records
        assert!(matches!(udp(1, 53, &p), AppHint::Other { .. }));
        let mut p = MIRAI_DNS_QUERY;
        p[2] |= 0x28; // opcode 5 (UPDATE)
        assert!(matches!(udp(1, 53, &p), AppHint::Other { .. }));
    }

    #[test]
    fn label_classes() {
        let cases: [(&[u8], LabelClass); 13] = [
            (b"", LabelClass::None),
            (b"www", LabelClass::Short),
            (b"github", LabelClass::Word),
            (b"mail-server", LabelClass::Word),
            (b"3f9a0c1d77e2", LabelClass::Hex),
            (b"DeadBeef0042", LabelClass::Hex),
            (b"k3d8aw0qbm2t", LabelClass::MiraiAlphabet),
            (b"qwrtplkmnbvc", LabelClass::MiraiAlphabet),
            (b"x7k9z2m4q8y1", LabelClass::RandomAlnum),
            (b"zxyq9wrtpl", LabelClass::RandomAlnum),
            (b"server09x", LabelClass::Mixed),
            (b"_googlecast", LabelClass::Other),
            (b"a.b\x00cd", LabelClass::Other),
        ];
        for (label, want) in cases {
            assert_eq!(classify_label(label), want, "{}", label.escape_ascii());
        }
    }

    #[test]
    fn hashes() {
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(domain_hash("Example.COM."), fnv1a(b"example.com"));
        assert_eq!(
            MIRAI_HTTP_HEADER_ORDER,
            fnv1a(b"user-agent,host,connection,accept,accept-language")
        );
    }

    #[test]
    fn parse_ntp() {
        assert_eq!(
            udp(123, 4444, &MONLIST_RESPONSE),
            AppHint::NtpMonlist { response: true }
        );
        // The trigger (0x17: request, version 2, mode 7; no items), on any port.
        let req = [0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0];
        assert_eq!(
            udp(5555, 6666, &req),
            AppHint::NtpMonlist { response: false }
        );
        let mut server = [0u8; 48];
        server[..4].copy_from_slice(&[0x24, 2, 6, 0xe9]); // v4, mode 4, stratum 2
        assert_eq!(udp(123, 50000, &server), AppHint::NtpMode(4));
        // Not by port alone, and not by content alone where the content is this weak.
        assert!(matches!(udp(123, 50000, &[0u8; 48]), AppHint::Other { .. }));
        assert!(matches!(udp(1230, 50000, &server), AppHint::Other { .. }));
    }

    #[test]
    fn parse_memcached() {
        let mut value = vec![0x12, 0x34, 0, 0, 0, 3, 0, 0];
        value.extend_from_slice(b"VALUE k00a1 0 4000\r\nxxxx");
        assert_eq!(
            udp(11211, 80, &value),
            AppHint::MemcachedResponse {
                seq: 0,
                total: 3,
                body: MemcachedBody::Value
            }
        );
        let mut cont = vec![0x12, 0x34, 0, 1, 0, 3, 0, 0];
        cont.extend_from_slice(b"qwertyuiop");
        assert_eq!(
            udp(11211, 80, &cont),
            AppHint::MemcachedResponse {
                seq: 1,
                total: 3,
                body: MemcachedBody::Continuation
            }
        );
        // A continuation has no text marker: without sport 11211 it is not memcached.
        assert!(matches!(udp(11212, 80, &cont), AppHint::Other { .. }));
        let mut stats = vec![0, 1, 0, 0, 0, 1, 0, 0];
        stats.extend_from_slice(b"stats\r\n");
        assert_eq!(
            udp(4000, 11211, &stats),
            AppHint::MemcachedRequest { framed: true }
        );
        assert_eq!(
            tcp(b"STAT pid 8837\r\n"),
            AppHint::MemcachedResponse {
                seq: 0,
                total: 0,
                body: MemcachedBody::Stat
            }
        );
    }

    #[test]
    fn parse_ssdp() {
        let resp = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: upnp:rootdevice\r\n\
                     USN: uuid:1::upnp:rootdevice\r\nLOCATION: http://192.168.1.1:49152/x.xml\r\n\r\n";
        assert_eq!(udp(1900, 80, resp), AppHint::SsdpResponse);
        assert_eq!(tcp(resp), AppHint::HttpResponse { status: 200 });
        assert_eq!(
            udp(1900, 80, b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"),
            AppHint::HttpResponse { status: 200 }
        );
        assert_eq!(
            udp(5000, 1900, b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n"),
            AppHint::SsdpSearch
        );
    }

    #[test]
    fn parse_cldap() {
        // searchResEntry with 4-byte BER lengths (as Active Directory writes them).
        let mut p = vec![
            0x30, 0x84, 0, 0, 0, 13, 0x02, 0x01, 0x07, 0x64, 0x84, 0, 0, 0, 4,
        ];
        p.extend_from_slice(&[0x04, 0x00, 0x30, 0x00]);
        assert_eq!(udp(389, 80, &p), AppHint::CldapResponse);
        // A SEQUENCE longer than the datagram is not LDAP.
        p[5] = 200;
        assert!(matches!(udp(389, 80, &p), AppHint::Other { .. }));
        let search = [0x30, 0x25, 0x02, 0x01, 0x01, 0x63, 0x20, 0x04, 0x00];
        assert_eq!(peek(PROTO_UDP, 5, 389, &search, 39), AppHint::CldapSearch);
    }

    #[test]
    fn parse_snmp() {
        // v2c GetResponse, community "public", then request id 1, error 0, index 0.
        let p = [
            0x30, 0x18, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa2,
            0x0d, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00,
        ];
        assert_eq!(udp(161, 80, &p), AppHint::SnmpResponse);
        let mut bulk = p;
        bulk[13] = 0xa5;
        assert_eq!(udp(80, 161, &bulk), AppHint::SnmpRequest { pdu: 0xa5 });
    }

    #[test]
    fn parse_chargen() {
        let mut p = Vec::new();
        for line in 0..3 {
            p.extend((0..72).map(|k| 0x20 + ((line + k) % 95) as u8));
            p.extend_from_slice(b"\r\n");
        }
        assert_eq!(udp(19, 7777, &p), AppHint::ChargenData);
        assert_eq!(udp(7000, 7777, &p), AppHint::ChargenData);
        let text = [b'a'; 100];
        assert_eq!(udp(19, 7777, &text), AppHint::ChargenData);
        assert!(matches!(
            udp(7000, 7777, &text),
            AppHint::Other {
                class: PayloadClass::Constant,
                ..
            }
        ));
    }

    #[test]
    fn parse_wsd_and_vse() {
        let xml = b"<?xml version=\"1.0\"?><soap:Envelope><soap:Body><wsd:ProbeMatches>";
        assert_eq!(udp(3702, 80, xml), AppHint::WsdResponse);
        assert!(matches!(
            udp(3702, 80, b"<?xml version=\"1.0\"?><a/>"),
            AppHint::Other { .. }
        ));
        assert_eq!(udp(40000, 27015, VSE_QUERY), AppHint::Vse);
        assert!(matches!(
            udp(40000, 27015, &VSE_QUERY[..24]),
            AppHint::Other { .. }
        ));
    }

    #[test]
    fn parse_small_binary_protocols() {
        let mut rip = vec![2, 1, 0, 0];
        rip.extend_from_slice(&[0, 2, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(udp(520, 520, &rip), AppHint::RipResponse);
        let rpc = [
            0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(udp(111, 600, &rpc), AppHint::RpcReply);
        let mut stun = vec![0x01, 0x01, 0, 4, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[0; 12]);
        stun.extend_from_slice(&[0, 0x20, 0, 0]);
        assert_eq!(
            udp(3478, 600, &stun),
            AppHint::Stun {
                message_type: 0x0101
            }
        );
        // ACK, token length 2, 2.05, message id, token, Content-Format option (12) = 40.
        let coap = [
            0x62, 0x45, 0x12, 0x34, 0xaa, 0xbb, 0xc1, 40, 0xff, b'<', b'/', b'a', b'>',
        ];
        assert_eq!(udp(5683, 600, &coap), AppHint::CoapResponse { code: 0x45 });
        let mut tftp = vec![0, 3, 0, 7];
        tftp.extend_from_slice(&[0x55; 512]);
        assert_eq!(udp(49152, 600, &tftp), AppHint::TftpData { block: 7 });
    }

    #[test]
    fn parse_http_request() {
        let mut p = b"GET / HTTP/1.1\r\nUser-Agent: ".to_vec();
        p.extend_from_slice(MIRAI_USER_AGENTS[4].as_bytes());
        p.extend_from_slice(
            b"\r\nHost: 198.51.100.7\r\nConnection: keep-alive\r\nAccept: text/html,*/*;q=0.8\r\n\
              Accept-Language: en-US,en;q=0.8\r\n\r\n",
        );
        assert_eq!(
            tcp(&p),
            AppHint::HttpRequest {
                method: HttpMethod::Get,
                path_hash: fnv1a(b"/"),
                ua_hash: fnv1a(MIRAI_USER_AGENTS[4].as_bytes()),
                headers_hash: MIRAI_HTTP_HEADER_ORDER,
                mirai_ua: true,
            }
        );
        let post = b"POST /login?x=1 HTTP/1.0\r\nuser-agent:  curl/8.0 \r\nHost: a\r\n\r\nbody";
        let AppHint::HttpRequest {
            method,
            path_hash,
            ua_hash,
            mirai_ua,
            headers_hash,
        } = tcp(post)
        else {
            panic!("{:?}", tcp(post));
        };
        assert_eq!(method, HttpMethod::Post);
        assert_eq!(path_hash, fnv1a(b"/login?x=1"));
        assert_eq!(ua_hash, fnv1a(b"curl/8.0"));
        assert_eq!(headers_hash, fnv1a(b"user-agent,host"));
        assert!(!mirai_ua);
        // A Mirai UA with one character changed is not Mirai's.
        let near = p
            .iter()
            .map(|&c| if c == b'9' { b'8' } else { c })
            .collect::<Vec<_>>();
        assert!(matches!(
            tcp(&near),
            AppHint::HttpRequest {
                mirai_ua: false,
                ..
            }
        ));
        // Over UDP, not an HTTP request; a request line without a version is not one.
        assert!(matches!(udp(1, 80, &p), AppHint::Other { .. }));
        assert!(matches!(tcp(b"GET /\r\n"), AppHint::Other { .. }));
    }

    #[test]
    fn parse_tls_client_hello() {
        let hello = [
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ];
        assert_eq!(tcp(&hello), AppHint::TlsClientHello);
        let server_hello = [0x16, 0x03, 0x03, 0x00, 0x5a, 0x02, 0x00];
        assert!(matches!(tcp(&server_hello), AppHint::Other { .. }));
    }

    #[test]
    fn payload_classes() {
        assert_eq!(
            udp(1, 2, &[0u8; 512]),
            AppHint::Other {
                first4: [0; 4],
                class: PayloadClass::Zeros
            }
        );
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let random: Vec<u8> = (0..512).map(|_| xorshift(&mut seed)).collect();
        let AppHint::Other { first4, class } = udp(1, 2, &random) else {
            panic!("{:?}", udp(1, 2, &random));
        };
        assert_eq!(
            (first4, class),
            (random[..4].try_into().unwrap(), PayloadClass::High)
        );
        assert!(matches!(
            udp(1, 2, b"hello there, plain words"),
            AppHint::Other {
                class: PayloadClass::Text,
                ..
            }
        ));
        let low: Vec<u8> = (0..64).map(|i| [1u8, 2, 3, 200][i % 4]).collect();
        assert!(matches!(
            udp(1, 2, &low),
            AppHint::Other {
                class: PayloadClass::Low,
                ..
            }
        ));
        assert_eq!(udp(1, 2, &[]), AppHint::None);
        assert_eq!(peek(1, 0, 0, b"GET / HTTP/1.1\r\n", 16), AppHint::None);
    }

    /// Every recogniser on every cut of every fixture: no panic, and a cut payload is at
    /// most as specific as the whole (checked loosely: it never becomes a *different*
    /// recognised kind, except `Other`).
    #[test]
    fn truncated() {
        let mut http = b"GET / HTTP/1.1\r\nUser-Agent: ".to_vec();
        http.extend_from_slice(MIRAI_USER_AGENTS[0].as_bytes());
        http.extend_from_slice(b"\r\n\r\n");
        let fixtures: [&[u8]; 6] = [
            &MIRAI_DNS_QUERY,
            &ANY_QUERY_EDNS,
            &MONLIST_RESPONSE,
            VSE_QUERY,
            &http,
            b"HTTP/1.1 200 OK\r\nST: a\r\nUSN: b\r\n\r\n",
        ];
        for f in fixtures {
            for proto in [PROTO_UDP, PROTO_TCP] {
                let whole = peek(proto, 53, 123, f, f.len());
                for cut in 0..f.len() {
                    let got = peek(proto, 53, 123, &f[..cut], f.len());
                    let same_kind =
                        core::mem::discriminant(&got) == core::mem::discriminant(&whole);
                    assert!(
                        same_kind
                            || matches!(got, AppHint::Other { .. } | AppHint::None)
                            || matches!(got, AppHint::HttpResponse { .. }),
                        "{} cut at {cut}: {got:?} vs {whole:?}",
                        f.escape_ascii()
                    );
                }
            }
        }
    }

    #[test]
    fn small_and_copy() {
        assert!(
            core::mem::size_of::<AppHint>() <= 20,
            "{}",
            core::mem::size_of::<AppHint>()
        );
    }

    /// Not a benchmark (criterion lives in `benches/`): a rough ns/peek printed for the two
    /// hottest recognisers, to catch an order-of-magnitude regression by eye. Run with
    /// `cargo test --release -p floodtrace-wire peek::tests::timing -- --nocapture`.
    #[test]
    fn timing() {
        let mut http = b"GET / HTTP/1.1\r\nUser-Agent: ".to_vec();
        http.extend_from_slice(MIRAI_USER_AGENTS[2].as_bytes());
        http.extend_from_slice(
            b"\r\nHost: 198.51.100.7\r\nConnection: keep-alive\r\nAccept: text/html,*/*;q=0.8\r\n\
              Accept-Language: en-US,en;q=0.8\r\n\r\n",
        );
        let mut seed = 7;
        let random: Vec<u8> = (0..512).map(|_| xorshift(&mut seed)).collect();
        let cases: [(&str, u8, &[u8]); 3] = [
            ("dns query", PROTO_UDP, &MIRAI_DNS_QUERY),
            ("http request", PROTO_TCP, &http),
            ("512 random bytes", PROTO_UDP, &random),
        ];
        for (name, proto, p) in cases {
            let n = 200_000u32;
            let start = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(peek(proto, 40000, 53, std::hint::black_box(p), p.len()));
            }
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            println!("peek {name}: {ns:.1} ns/packet");
        }
    }
}
