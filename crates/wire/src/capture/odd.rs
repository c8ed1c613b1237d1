//! Record header values no writer should produce, which a reader reads anyway because the
//! framing around the record is intact: they are counted with a warning, not as damage.

/// A record header value no writer should produce, read anyway because the framing after
/// the record is intact (see the classic pcap reader). Carried by [`super::Record::odd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OddValue {
    /// The captured length exceeds the original length (an original length of 0
    /// included). The record's wire length is taken as the captured length, as the pcapng
    /// reader does.
    CaplenExceedsLen {
        /// Captured length.
        caplen: u32,
        /// Original length.
        origlen: u32,
    },
    /// The timestamp fraction is a second or more. It is added to the seconds as given,
    /// as tshark does.
    TsFraction {
        /// The fraction.
        fraction: u32,
        /// Nanoseconds (else microseconds).
        nanos: bool,
    },
}

impl OddValue {
    /// Every [`OddValue::reason`].
    pub const REASONS: [&'static str; 2] = ["pcap.caplen_exceeds_len", "pcap.ts_fraction"];

    /// A short, stable key for counters (the same as the fatal error's when the framing
    /// after the record is not intact).
    pub const fn reason(&self) -> &'static str {
        match self {
            OddValue::CaplenExceedsLen { .. } => Self::REASONS[0],
            OddValue::TsFraction { .. } => Self::REASONS[1],
        }
    }
}

impl core::fmt::Display for OddValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            OddValue::CaplenExceedsLen { caplen, origlen } => write!(
                f,
                "captured length {caplen} exceeds the original length {origlen}; counted \
                 as {caplen} bytes on the wire"
            ),
            OddValue::TsFraction { fraction, nanos } => write!(
                f,
                "timestamp fraction {fraction} {} is a second or more; added as given",
                if nanos { "ns" } else { "µs" }
            ),
        }
    }
}

/// Which header values of a record are odd (the niche of this enum lets
/// `Option<OddHeader>` stay 12 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum OddKinds {
    Length = 1,
    Fraction = 2,
    Both = 3,
}

/// The odd header values of one record ([`OddValue`]), packed: a [`super::Record`] is
/// returned by value for every packet, and two `Option<OddValue>` made it 72 bytes where
/// it had been 48. The captured length is the record's `data.len()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OddHeader {
    pub(super) kinds: OddKinds,
    pub(super) nanos: bool,
    pub(super) origlen: u32,
    pub(super) fraction: u32,
}

impl OddHeader {
    /// The odd values, filled from the first slot; `caplen` is the record's captured length.
    pub fn values(&self, caplen: u32) -> [Option<OddValue>; 2] {
        let len = OddValue::CaplenExceedsLen {
            caplen,
            origlen: self.origlen,
        };
        let frac = OddValue::TsFraction {
            fraction: self.fraction,
            nanos: self.nanos,
        };
        match self.kinds {
            OddKinds::Length => [Some(len), None],
            OddKinds::Fraction => [Some(frac), None],
            OddKinds::Both => [Some(len), Some(frac)],
        }
    }
}
