//! The record layouts of the `.mmdb` files floodtrace reads, in one place: the geo tables
//! here and the simulator (which draws sources from the same data) both read them so.
//!
//! * ip-location-db: `{"country_code": "US"}`.
//! * IPinfo: `{"country": "SG", "asn": "AS32787", "as_name": …}`; IPinfo Lite carries
//!   `country_code` next to a country *name*, and `country_code` wins.
//! * GeoIP2: `{"country": {"iso_code": "US"}}`; GeoLite2-ASN
//!   `autonomous_system_number` / `autonomous_system_organization`.

use serde::Deserialize;

/// `country` is a code (IPinfo), a name (IPinfo Lite) or a map (GeoIP2).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CountryField<'a> {
    /// A string: a two-letter code or a country name.
    Code(&'a str),
    /// GeoIP2's map.
    Map {
        /// The two-letter code.
        #[serde(default)]
        iso_code: Option<&'a str>,
    },
}

/// `asn` is `"AS32787"` (IPinfo) or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AsnField<'a> {
    /// A number.
    Number(u32),
    /// `"AS123"` (or plain digits).
    Text(&'a str),
}

/// The fields of any supported record layout; everything else is ignored.
#[derive(Debug, Deserialize)]
pub struct Record<'a> {
    /// ip-location-db / IPinfo Lite country code.
    #[serde(borrow, default)]
    pub country_code: Option<&'a str>,
    /// IPinfo / GeoIP2 country.
    #[serde(borrow, default)]
    pub country: Option<CountryField<'a>>,
    /// IPinfo ASN.
    #[serde(borrow, default)]
    pub asn: Option<AsnField<'a>>,
    /// IPinfo AS name.
    #[serde(borrow, default)]
    pub as_name: Option<&'a str>,
    /// GeoLite2-ASN number.
    #[serde(default)]
    pub autonomous_system_number: Option<u32>,
    /// GeoLite2-ASN organisation.
    #[serde(borrow, default)]
    pub autonomous_system_organization: Option<&'a str>,
}

/// Which field gave the country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layout {
    /// `country_code`.
    CountryCode,
    /// `country` as a string.
    Country,
    /// `country.iso_code`.
    CountryIsoCode,
}

impl Layout {
    /// The field's name.
    pub fn field(self) -> &'static str {
        match self {
            Layout::CountryCode => "country_code",
            Layout::Country => "country",
            Layout::CountryIsoCode => "country.iso_code",
        }
    }
}

/// `s` as an upper-case two-letter code, when it is two ASCII letters.
pub fn two_letter(s: &str) -> Option<[u8; 2]> {
    let b = s.as_bytes();
    (b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic))
        .then(|| [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
}

impl Record<'_> {
    /// The country code and the field it came from (`country_code` first).
    pub fn country(&self) -> Option<([u8; 2], Layout)> {
        if let Some(c) = self.country_code.and_then(two_letter) {
            return Some((c, Layout::CountryCode));
        }
        match &self.country {
            Some(CountryField::Code(s)) => two_letter(s).map(|c| (c, Layout::Country)),
            Some(CountryField::Map { iso_code: Some(s) }) => {
                two_letter(s).map(|c| (c, Layout::CountryIsoCode))
            }
            _ => None,
        }
    }

    /// The AS number and organisation (empty when the record names none).
    pub fn asn(&self) -> Option<(u32, &str)> {
        let number = match &self.asn {
            Some(AsnField::Number(n)) => Some(*n),
            Some(AsnField::Text(s)) => s
                .strip_prefix("AS")
                .or_else(|| s.strip_prefix("as"))
                .unwrap_or(s)
                .parse()
                .ok(),
            None => self.autonomous_system_number,
        }?;
        let name = self
            .as_name
            .or(self.autonomous_system_organization)
            .unwrap_or("");
        Some((number, name))
    }
}
