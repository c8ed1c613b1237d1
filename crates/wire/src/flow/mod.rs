//! Flow telemetry: NetFlow v5, NetFlow v9, IPFIX and sFlow v5 export datagrams turned into
//! [`Observation`]s.
//!
//! - [`FlowDecoder`] decodes one export datagram (a UDP payload) at a time and reports what
//!   it finds as [`FlowEvent`]s through a callback: flow records (as observations whose
//!   counts are already multiplied by the sampling rate), templates learned, sampling rates
//!   learned from options data, sFlow interface counters, and errors with their offset.
//!   v9/IPFIX templates are cached per (exporter, observation domain / source id, template
//!   id) in a bounded [`TemplateCache`](template::TemplateCache).
//! - [`sniff`] recognises a UDP payload as one of the four protocols by its content (version
//!   field plus header and length consistency), never by port.
//! - [`RawDatagrams`] cuts a "raw export datagram file" (one or several export messages
//!   stored back to back, without pcap framing) into messages using their own length fields.
//! - [`extract::for_each_export`] walks a pcap/pcapng capture and hands over the UDP
//!   payloads that sniff as flow exports, reassembling IP-fragmented export datagrams in a
//!   bounded buffer.
//!
//! Decoding a record never allocates: records are walked in place and each becomes a `Copy`
//! [`Observation`]. Only a template's arrival allocates (its field list is stored).
//!
//! ```
//! use floodtrace_wire::flow::{FlowDecoder, FlowEvent};
//!
//! // A NetFlow v5 datagram with one record: 192.0.2.1:1234 -> 198.51.100.7:53, UDP,
//! // 3 packets, 180 bytes, exported with 1-in-10 sampling.
//! let mut d = vec![0, 5, 0, 1, 0, 0, 0x27, 0x10, 0x60, 0, 0, 0, 0, 0, 0, 0,
//!                  0, 0, 0, 1, 0, 0, 0x40, 10];
//! d.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 7, 0, 0, 0, 0, 0, 1, 0, 2,
//!                       0, 0, 0, 3, 0, 0, 0, 180, 0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10,
//!                       0x04, 0xd2, 0, 53, 0, 0, 17, 0, 0, 0, 0, 0, 24, 24, 0, 0]);
//! let mut decoder = FlowDecoder::default();
//! let mut records = Vec::new();
//! decoder.decode("10.0.0.1".parse().unwrap(), 0, &d, &mut |ev| {
//!     if let FlowEvent::Record(obs) = ev { records.push(*obs) }
//! });
//! assert_eq!(records.len(), 1);
//! assert_eq!((records[0].dport, records[0].proto), (53, 17));
//! assert_eq!((records[0].packets, records[0].bytes, records[0].sampling), (30, 1800, 10));
//! ```

use core::fmt;
use core::net::IpAddr;

use crate::error::DecodeError;
use crate::observe::Observation;

pub mod extract;
mod ipfix;
mod netflow5;
mod netflow9;
mod sflow;
mod sniff;
pub mod template;

pub use sniff::{claimed_protocol, sniff, RawDatagram, RawDatagrams};
pub use template::TemplateCache;

/// The flow-export protocols floodtrace decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowProtocol {
    /// Cisco NetFlow version 5 (fixed record layout).
    NetflowV5,
    /// Cisco NetFlow version 9 (RFC 3954, templates).
    NetflowV9,
    /// IPFIX (RFC 7011, "NetFlow v10").
    Ipfix,
    /// sFlow version 5 (packet sampling plus counters).
    SflowV5,
}

impl FlowProtocol {
    /// Lowercase name used in messages and reason keys.
    pub const fn name(self) -> &'static str {
        match self {
            FlowProtocol::NetflowV5 => "netflow5",
            FlowProtocol::NetflowV9 => "netflow9",
            FlowProtocol::Ipfix => "ipfix",
            FlowProtocol::SflowV5 => "sflow",
        }
    }

    /// The collector port conventionally used for the protocol (only a hint: floodtrace
    /// recognises exports by content).
    pub const fn default_port(self) -> u16 {
        match self {
            FlowProtocol::NetflowV5 | FlowProtocol::NetflowV9 => 2055,
            FlowProtocol::Ipfix => 4739,
            FlowProtocol::SflowV5 => 6343,
        }
    }
}

impl fmt::Display for FlowProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Limits and overrides of a [`FlowDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowConfig {
    /// Most templates kept over all exporters; the oldest learned is evicted first.
    pub max_templates: usize,
    /// Most templates kept for one exporter address (all its source ids / observation
    /// domains); beyond it that exporter's oldest is evicted, not another exporter's.
    pub max_templates_per_exporter: usize,
    /// Templates with more fields than this are rejected.
    pub max_template_fields: usize,
    /// A template not refreshed for this many seconds of the exporter's own export time is
    /// treated as gone (0: templates never expire).
    pub template_timeout_secs: u32,
    /// Most sampler rates (from options data) kept over all exporters.
    pub max_samplers: usize,
    /// Use this sampling rate for every record, whatever the export says.
    pub sampling_override: Option<u32>,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_templates: 4096,
            max_templates_per_exporter: 1024,
            max_template_fields: 512,
            template_timeout_secs: 1800,
            max_samplers: 4096,
            sampling_override: None,
        }
    }
}

/// A template learned (or withdrawn) from a v9 or IPFIX export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateInfo {
    /// NetFlow v9 or IPFIX.
    pub protocol: FlowProtocol,
    /// Exporter address the template belongs to.
    pub exporter: IpAddr,
    /// v9 source id or IPFIX observation domain id.
    pub domain: u32,
    /// Template id (≥ 256).
    pub template_id: u16,
    /// Number of fields (0 for an IPFIX withdrawal).
    pub fields: u16,
    /// Whether it is an options template.
    pub options: bool,
    /// Offset of the template record in the datagram.
    pub offset: usize,
}

/// A sampling rate learned from v9/IPFIX options data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SamplingInfo {
    /// Exporter address.
    pub exporter: IpAddr,
    /// v9 source id or IPFIX observation domain id.
    pub domain: u32,
    /// Sampler / selector id the rate applies to (0: the whole exporter domain).
    pub sampler_id: u64,
    /// One packet in `rate` is sampled.
    pub rate: u32,
}

/// sFlow generic interface counters (counter record enterprise 0, format 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceCounters {
    /// sFlow agent address.
    pub agent: IpAddr,
    /// sFlow sub-agent id.
    pub sub_agent: u32,
    /// When the datagram was received (the `received_ns` given to the decoder).
    pub ts_ns: u64,
    /// Counter sample sequence number.
    pub sequence: u32,
    /// ifIndex.
    pub if_index: u32,
    /// ifType.
    pub if_type: u32,
    /// ifSpeed, bits per second.
    pub if_speed: u64,
    /// ifDirection (0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out).
    pub if_direction: u32,
    /// ifStatus bits (bit 0 admin up, bit 1 oper up).
    pub if_status: u32,
    /// ifInOctets.
    pub in_octets: u64,
    /// ifInUcastPkts.
    pub in_unicast: u32,
    /// ifInMulticastPkts.
    pub in_multicast: u32,
    /// ifInBroadcastPkts.
    pub in_broadcast: u32,
    /// ifInDiscards.
    pub in_discards: u32,
    /// ifInErrors.
    pub in_errors: u32,
    /// ifOutOctets.
    pub out_octets: u64,
    /// ifOutUcastPkts.
    pub out_unicast: u32,
    /// ifOutMulticastPkts.
    pub out_multicast: u32,
    /// ifOutBroadcastPkts.
    pub out_broadcast: u32,
    /// ifOutDiscards.
    pub out_discards: u32,
    /// ifOutErrors.
    pub out_errors: u32,
}

/// What [`FlowDecoder::decode`] reports, in datagram order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEvent<'a> {
    /// A flow record or flow sample, as an observation with `origin = Flow` and counts
    /// multiplied by `sampling`. Lent, not moved: the decoder fills it on its stack and a
    /// sink that keeps it copies it (it is `Copy`).
    Record(&'a Observation),
    /// A template was learned, replaced or (IPFIX, `fields == 0`) withdrawn.
    Template(TemplateInfo),
    /// A sampling rate was learned from options data.
    Sampling(SamplingInfo),
    /// sFlow interface counters.
    Counters(InterfaceCounters),
    /// A well-formed flow sample left out because nothing in it is decoded (not damage).
    Skipped(SkippedSample),
    /// The export breaks a limit of its protocol but its framing is unambiguous, so it
    /// was decoded anyway (not damage: every record it holds was reported).
    Warning(FlowWarning),
    /// Something could not be decoded; decoding went on where it could.
    Error(FlowError),
}

/// An export that breaks a limit of its protocol and was decoded anyway (see
/// [`FlowEvent::Warning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowWarning {
    /// The protocol being decoded.
    pub protocol: FlowProtocol,
    /// Byte offset in the datagram of the field in question.
    pub offset: usize,
    /// What is unusual.
    pub kind: FlowWarningKind,
}

/// What a [`FlowWarning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlowWarningKind {
    /// A NetFlow v5 header counting more than the 30 records v5 allows, in a datagram
    /// exactly `24 + 48 × count` bytes long: all `count` records were decoded (as tshark
    /// does).
    NetflowV5CountAbove30 {
        /// The header's count.
        count: u16,
    },
}

impl FlowWarning {
    /// A short, stable key for per-reason counters, e.g. `netflow5.count_above_30`.
    pub fn reason(&self) -> &'static str {
        match self.kind {
            FlowWarningKind::NetflowV5CountAbove30 { .. } => "netflow5.count_above_30",
        }
    }
}

impl fmt::Display for FlowWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}: ", self.protocol, self.offset)?;
        match self.kind {
            FlowWarningKind::NetflowV5CountAbove30 { count } => write!(
                f,
                "header count {count} is above the 30 records NetFlow v5 allows; the datagram \
                 holds exactly {count} records, all decoded"
            ),
        }
    }
}

/// A flow sample that is not damaged but gives no record: its only packet header is of an
/// sFlow header protocol floodtrace does not decode (token bus, token ring, FDDI, X.25,
/// SMDS, ATM AAL5, IEEE 802.11), and it has no sampled IPv4 / IPv6 record to fall back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedSample {
    /// The protocol being decoded.
    pub protocol: FlowProtocol,
    /// Byte offset in the datagram of the packet header record's body.
    pub offset: usize,
    /// The sFlow `header_protocol` (a valid value, 1 to 17).
    pub header_protocol: u32,
    /// The sample's sampling rate: the one sampled packet stood for this many.
    pub sampling: u32,
}

impl SkippedSample {
    /// A short, stable key for per-reason counters, one per header protocol, e.g.
    /// `sflow.header_not_decoded.ieee80211`.
    pub fn reason(&self) -> &'static str {
        sflow::not_decoded_reason(self.header_protocol)
    }

    /// The header protocol's name, e.g. `IEEE 802.11 MAC`.
    pub fn header_protocol_name(&self) -> &'static str {
        sflow::header_protocol_name(self.header_protocol)
    }
}

impl fmt::Display for SkippedSample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {}: header protocol {} ({}) is not decoded: sample skipped",
            self.protocol,
            self.offset,
            self.header_protocol,
            self.header_protocol_name()
        )
    }
}

/// What is wrong, without where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlowErrorKind {
    /// The payload is not an export datagram of a known protocol.
    Unrecognised {
        /// The first 16 bits (the version field of NetFlow/IPFIX).
        version: u16,
    },
    /// The payload is empty or one byte long: too short to hold a version field, so it is
    /// no export of any protocol.
    TooShort {
        /// The payload's length (0 or 1).
        len: usize,
    },
    /// A structure runs past the end of the datagram (or of its enclosing set/sample).
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes it needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A field holds an impossible value. `field` is also the stable reason key.
    BadField {
        /// Reason key, e.g. `netflow5.count`.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A data set refers to a template that has not been seen (or was evicted). The set is
    /// skipped; nothing is buffered.
    MissingTemplate {
        /// Source id / observation domain id.
        domain: u32,
        /// The template id of the data set.
        template_id: u16,
        /// Templates the cache had evicted (of any exporter) before this data set: when
        /// non-zero, the template may have arrived and been evicted.
        evicted: u64,
    },
    /// The template was known but not refreshed within the configured timeout.
    ExpiredTemplate {
        /// Source id / observation domain id.
        domain: u32,
        /// The template id of the data set.
        template_id: u16,
    },
    /// A template was not stored because it breaks a limit. `why` is the reason key.
    TemplateRejected {
        /// The template id.
        template_id: u16,
        /// Reason key, e.g. `template.too_many_fields`.
        why: &'static str,
        /// The offending value.
        value: u64,
    },
    /// Bytes follow the end of the message that are neither padding nor part of it (often a
    /// second message stored back to back: see [`RawDatagrams`]).
    Trailing {
        /// How many bytes follow.
        bytes: usize,
    },
    /// An sFlow sampled packet header could not be decoded.
    Packet(DecodeError),
}

/// A decoding error: which protocol, where in the datagram, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowError {
    /// The protocol being decoded (`None` when the datagram was not recognised).
    pub protocol: Option<FlowProtocol>,
    /// Byte offset in the datagram where the damaged structure starts.
    pub offset: usize,
    /// What is wrong.
    pub kind: FlowErrorKind,
}

impl FlowError {
    pub(crate) fn new(protocol: FlowProtocol, offset: usize, kind: FlowErrorKind) -> Self {
        FlowError {
            protocol: Some(protocol),
            offset,
            kind,
        }
    }

    pub(crate) fn truncated(
        protocol: FlowProtocol,
        offset: usize,
        what: &'static str,
        need: usize,
        have: usize,
    ) -> Self {
        Self::new(
            protocol,
            offset,
            FlowErrorKind::Truncated { what, need, have },
        )
    }

    pub(crate) fn bad(
        protocol: FlowProtocol,
        offset: usize,
        field: &'static str,
        value: u64,
    ) -> Self {
        Self::new(protocol, offset, FlowErrorKind::BadField { field, value })
    }

    /// A short, stable key for per-reason counters, e.g. `ipfix.missing_template`.
    pub fn reason(&self) -> &'static str {
        use FlowErrorKind as K;
        use FlowProtocol as P;
        match (self.kind, self.protocol) {
            (K::Unrecognised { .. } | K::TooShort { .. }, _) | (_, None) => "flow.unrecognised",
            (K::BadField { field, .. }, _) => field,
            (K::TemplateRejected { why, .. }, _) => why,
            (K::Packet(e), _) => e.reason(),
            (K::Truncated { .. }, Some(p)) => match p {
                P::NetflowV5 => "netflow5.truncated",
                P::NetflowV9 => "netflow9.truncated",
                P::Ipfix => "ipfix.truncated",
                P::SflowV5 => "sflow.truncated",
            },
            (K::MissingTemplate { .. }, Some(p)) => match p {
                P::Ipfix => "ipfix.missing_template",
                _ => "netflow9.missing_template",
            },
            (K::ExpiredTemplate { .. }, Some(p)) => match p {
                P::Ipfix => "ipfix.expired_template",
                _ => "netflow9.expired_template",
            },
            (K::Trailing { .. }, Some(p)) => match p {
                P::NetflowV5 => "netflow5.trailing",
                P::NetflowV9 => "netflow9.trailing",
                P::Ipfix => "ipfix.trailing",
                P::SflowV5 => "sflow.trailing",
            },
        }
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            Some(p) => write!(f, "{p} at offset {}: ", self.offset)?,
            None => write!(f, "at offset {}: ", self.offset)?,
        }
        match self.kind {
            FlowErrorKind::Unrecognised { version } => {
                write!(f, "not a flow export (version field {version})")
            }
            FlowErrorKind::TooShort { len: 0 } => {
                write!(f, "empty datagram: not a flow export")
            }
            FlowErrorKind::TooShort { len } => write!(
                f,
                "{len}-byte datagram: too short for a version field, not a flow export"
            ),
            FlowErrorKind::Truncated { what, need, have } => {
                write!(f, "{what} truncated: need {need} bytes, have {have}")
            }
            FlowErrorKind::BadField { field, value } => write!(f, "{field} is invalid ({value})"),
            FlowErrorKind::MissingTemplate {
                domain,
                template_id,
                evicted: 0,
            } => write!(
                f,
                "data set for template {template_id} (domain {domain}) before its template: skipped"
            ),
            FlowErrorKind::MissingTemplate {
                domain,
                template_id,
                evicted,
            } => write!(
                f,
                "data set for template {template_id} (domain {domain}) whose template is not held: \
                 skipped (it never arrived, or it was among the {evicted} templates evicted to \
                 stay within the template limit)"
            ),
            FlowErrorKind::ExpiredTemplate {
                domain,
                template_id,
            } => write!(
                f,
                "template {template_id} (domain {domain}) expired: data set skipped"
            ),
            FlowErrorKind::TemplateRejected {
                template_id,
                why,
                value,
            } => write!(f, "template {template_id} rejected: {why} ({value})"),
            FlowErrorKind::Trailing { bytes } => write!(
                f,
                "{bytes} bytes after the end of the message (another message stored back to back?)"
            ),
            FlowErrorKind::Packet(e) => write!(f, "sampled packet header: {e}"),
        }
    }
}

impl std::error::Error for FlowError {}

/// Totals a [`FlowDecoder`] keeps over its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowStats {
    /// Datagrams given to [`FlowDecoder::decode`].
    pub datagrams: u64,
    /// Flow records / samples reported as [`FlowEvent::Record`].
    pub records: u64,
    /// Data records that carried no IP address (NAT events, options-like data): skipped.
    pub unaddressed: u64,
    /// Templates learned or replaced.
    pub templates: u64,
    /// Templates evicted to stay within [`FlowConfig::max_templates`].
    pub templates_evicted: u64,
    /// Data sets skipped for a missing or expired template.
    pub missing_template: u64,
    /// Flow samples skipped, undamaged, because nothing in them is decoded
    /// ([`FlowEvent::Skipped`]).
    pub skipped: u64,
    /// Warnings reported ([`FlowEvent::Warning`]).
    pub warnings: u64,
    /// Errors reported.
    pub errors: u64,
}

/// What one call of [`FlowDecoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DatagramSummary {
    /// The protocol, when recognised.
    pub protocol: Option<FlowProtocol>,
    /// Records reported.
    pub records: u32,
    /// Errors reported.
    pub errors: u32,
    /// Warnings reported ([`FlowEvent::Warning`]: decoded anyway, not damage).
    pub warnings: u32,
    /// Bytes that belonged to the message (less than the datagram when bytes trail it).
    pub consumed: usize,
    /// v9/IPFIX data records walked in data sets, options data and address-less records
    /// included (what IPFIX sequence numbers count).
    pub data_records: u32,
}

/// The stateful decoder: template and sampler caches plus totals.
///
/// A clone is an independent decoder in the same state: [`FlowDecoder::learn`] plus clones
/// let a file's datagrams be decoded on several threads (see `floodtrace::flows`).
#[derive(Debug, Default, Clone)]
pub struct FlowDecoder {
    config: FlowConfig,
    templates: TemplateCache,
    stats: FlowStats,
}

/// Everything a protocol decoder needs while walking one datagram.
pub(crate) struct Ctx<'s, F: FnMut(FlowEvent)> {
    pub exporter: IpAddr,
    pub received_ns: u64,
    pub config: &'s FlowConfig,
    pub templates: &'s mut TemplateCache,
    pub stats: &'s mut FlowStats,
    pub summary: DatagramSummary,
    pub sink: &'s mut F,
    /// Only follow the state (templates, withdrawals, options data): ordinary data sets
    /// are skipped unread ([`FlowDecoder::learn`]).
    pub learn_only: bool,
}

impl<F: FnMut(FlowEvent)> Ctx<'_, F> {
    pub fn error(&mut self, e: FlowError) {
        self.stats.errors += 1;
        self.summary.errors += 1;
        if matches!(
            e.kind,
            FlowErrorKind::MissingTemplate { .. } | FlowErrorKind::ExpiredTemplate { .. }
        ) {
            self.stats.missing_template += 1;
        }
        (self.sink)(FlowEvent::Error(e));
    }

    pub fn record(&mut self, obs: &Observation) {
        self.stats.records += 1;
        self.summary.records += 1;
        (self.sink)(FlowEvent::Record(obs));
    }

    pub fn warn(&mut self, w: FlowWarning) {
        self.stats.warnings += 1;
        self.summary.warnings += 1;
        (self.sink)(FlowEvent::Warning(w));
    }

    pub fn skip(&mut self, s: SkippedSample) {
        self.stats.skipped += 1;
        (self.sink)(FlowEvent::Skipped(s));
    }

    pub fn emit(&mut self, ev: FlowEvent) {
        (self.sink)(ev);
    }

    /// Sampling rate to apply: the override, else `rate` (0 counts as 1).
    pub fn rate(&self, rate: u32) -> u32 {
        self.config.sampling_override.unwrap_or(rate).max(1)
    }
}

impl FlowDecoder {
    /// A decoder with the given limits.
    pub fn new(config: FlowConfig) -> Self {
        FlowDecoder {
            templates: TemplateCache::new(&config),
            config,
            stats: FlowStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// Totals so far.
    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    /// The template and sampler cache.
    pub fn templates(&self) -> &TemplateCache {
        &self.templates
    }

    /// Decode one export datagram (a UDP payload) sent by `exporter` and received at
    /// `received_ns` (ns since the Unix epoch; sFlow carries no wall-clock time, so its
    /// samples take this; NetFlow and IPFIX use their own header and record times).
    ///
    /// Every record, template, learned sampling rate, counter set and error is handed to
    /// `sink` in datagram order. Errors never stop the walk while the framing can still be
    /// followed: a data set without its template is skipped and the next set decoded.
    pub fn decode<F: FnMut(FlowEvent)>(
        &mut self,
        exporter: IpAddr,
        received_ns: u64,
        datagram: &[u8],
        sink: &mut F,
    ) -> DatagramSummary {
        self.stats.datagrams += 1;
        self.walk(exporter, received_ns, datagram, false, sink)
    }

    /// Bring the decoder to the state [`FlowDecoder::decode`] would leave it in, without
    /// decoding records: templates are learned and withdrawn and options data read (the
    /// sampling rates), but ordinary data sets, NetFlow v5 and sFlow (which carry no state)
    /// are skipped, nothing is reported and [`FlowDecoder::stats`] does not change.
    ///
    /// Data sets never change the state (a template lookup only reads it), so a clone taken
    /// before a run of datagrams, after `learn` walked all earlier ones, decodes that run
    /// exactly as one decoder decoding everything in order would.
    pub fn learn(&mut self, exporter: IpAddr, received_ns: u64, datagram: &[u8]) {
        if !matches!(datagram, [0, 9, ..] | [0, 10, ..]) {
            return;
        }
        let stats = self.stats;
        self.walk(exporter, received_ns, datagram, true, &mut |_| {});
        self.stats = stats;
    }

    fn walk<F: FnMut(FlowEvent)>(
        &mut self,
        exporter: IpAddr,
        received_ns: u64,
        datagram: &[u8],
        learn_only: bool,
        sink: &mut F,
    ) -> DatagramSummary {
        let mut ctx = Ctx {
            exporter,
            received_ns,
            config: &self.config,
            templates: &mut self.templates,
            stats: &mut self.stats,
            summary: DatagramSummary::default(),
            sink,
            learn_only,
        };
        let protocol = match (claimed_protocol(datagram), datagram) {
            (Some(p), _) => p,
            (None, [a, b, ..]) => {
                ctx.error(FlowError {
                    protocol: None,
                    offset: 0,
                    kind: FlowErrorKind::Unrecognised {
                        version: u16::from_be_bytes([*a, *b]),
                    },
                });
                return ctx.summary;
            }
            (None, _) => {
                ctx.error(FlowError {
                    protocol: None,
                    offset: 0,
                    kind: FlowErrorKind::TooShort {
                        len: datagram.len(),
                    },
                });
                return ctx.summary;
            }
        };
        ctx.summary.protocol = Some(protocol);
        let consumed = match protocol {
            FlowProtocol::NetflowV5 => netflow5::decode(&mut ctx, datagram),
            FlowProtocol::NetflowV9 => netflow9::decode(&mut ctx, datagram),
            FlowProtocol::Ipfix => ipfix::decode(&mut ctx, datagram),
            FlowProtocol::SflowV5 => sflow::decode(&mut ctx, datagram),
        };
        ctx.summary.consumed = consumed;
        ctx.summary
    }
}

/// Multiply a count by the sampling rate without overflowing.
#[inline]
pub(crate) fn scale(count: u64, rate: u32) -> u64 {
    count.saturating_mul(u64::from(rate))
}

/// Read a big-endian unsigned integer of 1 to 8 bytes (longer fields keep the last 8).
#[inline]
pub(crate) fn be_uint(b: &[u8]) -> u64 {
    // The usual counter and address widths without the byte loop.
    match *b {
        [x] => return u64::from(x),
        [x, y] => return u64::from(u16::from_be_bytes([x, y])),
        [a, b, c, d] => return u64::from(u32::from_be_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => return u64::from_be_bytes([a, b, c, d, e, f, g, h]),
        _ => {}
    }
    let b = if b.len() > 8 { &b[b.len() - 8..] } else { b };
    b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

/// The big-endian `u16` at `at`, or `None` past the end.
#[inline]
pub(crate) fn get16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at.checked_add(2)?)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
}

/// The big-endian `u32` at `at`, or `None` past the end.
#[inline]
pub(crate) fn get32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
