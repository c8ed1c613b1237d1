//! Record header values no writer should produce, which the readers read anyway: the packet
//! is counted like any other, with a warning, not as damage. A classic pcap record with one
//! is read only when the framing after it is intact; a pcapng packet block carries its own
//! length, so its framing is intact whenever the block's is.

use super::CaptureFormat;

/// A record header value no writer should produce, read anyway (see the module docs).
/// Carried by [`super::Record::odd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OddValue {
    /// The captured length exceeds the original length (an original length of 0
    /// included): a classic pcap record header, or a pcapng enhanced or obsolete packet
    /// block. The record's wire length is taken as the captured length in both formats.
    CaplenExceedsLen {
        /// Captured length.
        caplen: u32,
        /// Original length.
        origlen: u32,
        /// The container whose header said so (it names the reason).
        format: CaptureFormat,
    },
    /// Classic pcap: the timestamp fraction is a second or more. It is added to the seconds
    /// as given, as tshark does.
    TsFraction {
        /// The fraction.
        fraction: u32,
        /// Nanoseconds (else microseconds).
        nanos: bool,
    },
    /// pcapng: the packet block's timestamp, read with its interface's `if_tsresol` and
    /// `if_tsoffset`, is before 1970-01-01T00:00:00Z or after
    /// 2554-07-21T23:34:33.709551615Z, outside what nanoseconds since the epoch in a `u64`
    /// (`Record::ts_ns`) hold. The record is dated with the nearer of the two.
    TimeOutOfRange {
        /// The timestamp in whole seconds since the epoch, rounded down (saturated at
        /// `i64::MAX`).
        second: i64,
    },
}

impl OddValue {
    /// Every [`OddValue::reason`].
    pub const REASONS: [&'static str; 4] = [
        "pcap.caplen_exceeds_len",
        "pcap.ts_fraction",
        "pcapng.caplen_exceeds_len",
        "pcapng.time_out_of_range",
    ];

    /// A short, stable key for counters (for classic pcap, the same as the fatal error's
    /// when the framing after the record is not intact).
    pub const fn reason(&self) -> &'static str {
        match self {
            OddValue::CaplenExceedsLen {
                format: CaptureFormat::Pcap,
                ..
            } => Self::REASONS[0],
            OddValue::TsFraction { .. } => Self::REASONS[1],
            OddValue::CaplenExceedsLen {
                format: CaptureFormat::Pcapng,
                ..
            } => Self::REASONS[2],
            OddValue::TimeOutOfRange { .. } => Self::REASONS[3],
        }
    }
}

impl core::fmt::Display for OddValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            OddValue::CaplenExceedsLen {
                caplen, origlen, ..
            } => write!(
                f,
                "captured length {caplen} exceeds the original length {origlen}; counted \
                 as {caplen} bytes on the wire"
            ),
            OddValue::TsFraction { fraction, nanos } => write!(
                f,
                "timestamp fraction {fraction} {} is a second or more; added as given",
                if nanos { "ns" } else { "µs" }
            ),
            OddValue::TimeOutOfRange { second } if second < 0 => write!(
                f,
                "timestamp {second} s (Unix time, whole seconds) is before \
                 1970-01-01T00:00:00Z, the earliest time floodtrace holds; dated \
                 1970-01-01T00:00:00Z"
            ),
            OddValue::TimeOutOfRange { second } => write!(
                f,
                "timestamp {second} s{} (Unix time, whole seconds) is after \
                 2554-07-21T23:34:33.709551615Z, the latest time floodtrace holds; dated \
                 2554-07-21T23:34:33.709551615Z",
                if second == i64::MAX { " or later" } else { "" }
            ),
        }
    }
}

/// Which header values of a record are odd (the niche of this enum lets
/// `Option<OddHeader>` stay as small as `OddHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum OddKinds {
    /// Classic pcap: captured length above the original length.
    Length = 1,
    /// Classic pcap: fraction of a second or more.
    Fraction,
    /// Classic pcap: both.
    LengthFraction,
    /// pcapng: captured length above the original length.
    BlockLength,
    /// pcapng: time out of range.
    BlockTime,
    /// pcapng: both.
    BlockLengthTime,
}

/// The odd header values of one record ([`OddValue`]), packed into 16 bytes: a
/// [`super::Record`] is returned by value for every packet, and two `Option<OddValue>` made
/// it 72 bytes where 64 fit. The captured length is the record's `data.len()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OddHeader {
    kinds: OddKinds,
    /// Classic pcap: the fraction is in nanoseconds.
    nanos: bool,
    /// The original length (when the captured length exceeds it).
    origlen: u32,
    /// Classic pcap: the timestamp fraction; pcapng: the second out of range (`i64` bits).
    value: u64,
}

impl OddHeader {
    /// The odd values of a classic pcap record header: `origlen` when the captured length
    /// exceeds it, `fraction` when it is a second or more (in ns if `nanos`, else µs).
    pub(super) fn pcap(origlen: Option<u32>, fraction: Option<u32>, nanos: bool) -> Option<Self> {
        use OddKinds::{Fraction, Length, LengthFraction};
        Self::pack(
            [Length, Fraction, LengthFraction],
            origlen,
            fraction.map(u64::from),
            nanos,
        )
    }

    /// The odd values of a pcapng packet block: `origlen` when the captured length exceeds
    /// it, `second` when the time is out of range (the Unix second it stands for).
    pub(super) fn pcapng(origlen: Option<u32>, second: Option<i64>) -> Option<Self> {
        use OddKinds::{BlockLength, BlockLengthTime, BlockTime};
        Self::pack(
            [BlockLength, BlockTime, BlockLengthTime],
            origlen,
            second.map(|s| s as u64),
            false,
        )
    }

    /// Pack an odd original length and an odd second value, whose kinds are `[length
    /// alone, value alone, both]`; `None` when neither is odd.
    fn pack(
        [length, value_only, both]: [OddKinds; 3],
        origlen: Option<u32>,
        value: Option<u64>,
        nanos: bool,
    ) -> Option<Self> {
        let kinds = match (origlen.is_some(), value.is_some()) {
            (true, true) => both,
            (true, false) => length,
            (false, true) => value_only,
            (false, false) => return None,
        };
        Some(OddHeader {
            kinds,
            nanos,
            origlen: origlen.unwrap_or(0),
            value: value.unwrap_or(0),
        })
    }

    /// The odd values, filled from the first slot; `caplen` is the record's captured length.
    pub fn values(&self, caplen: u32) -> [Option<OddValue>; 2] {
        let len = |format| OddValue::CaplenExceedsLen {
            caplen,
            origlen: self.origlen,
            format,
        };
        let frac = OddValue::TsFraction {
            fraction: self.value as u32,
            nanos: self.nanos,
        };
        let time = OddValue::TimeOutOfRange {
            second: self.value as i64,
        };
        match self.kinds {
            OddKinds::Length => [Some(len(CaptureFormat::Pcap)), None],
            OddKinds::Fraction => [Some(frac), None],
            OddKinds::LengthFraction => [Some(len(CaptureFormat::Pcap)), Some(frac)],
            OddKinds::BlockLength => [Some(len(CaptureFormat::Pcapng)), None],
            OddKinds::BlockTime => [Some(time), None],
            OddKinds::BlockLengthTime => [Some(len(CaptureFormat::Pcapng)), Some(time)],
        }
    }
}
