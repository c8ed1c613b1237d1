//! The v9/IPFIX template cache, the sampler-rate cache, and the walk of one data record
//! through its template.
//!
//! Templates are keyed by (protocol, exporter address, source id / observation domain id,
//! template id). The cache holds at most [`FlowConfig::max_templates`] templates over all
//! exporters and evicts the oldest learned first, and at most
//! [`FlowConfig::max_templates_per_exporter`] of one exporter address, evicting that
//! exporter's oldest first; a template with more than
//! [`FlowConfig::max_template_fields`] fields, or whose fixed record length exceeds 65535
//! bytes, is rejected. Storing a template is the only allocation the flow decoders make.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::{be_uint, FlowConfig, FlowProtocol};

/// Template field length meaning "variable length" (RFC 7011 §7).
pub const VARLEN: u16 = 0xffff;

/// Field id given to v9 options-template scope fields, which are not information elements
/// (scope type 1 "System" must not be read as IE 1 octetDeltaCount).
const V9_SCOPE: u16 = 0xffff;

/// One field of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Information element id (enterprise bit cleared).
    pub id: u16,
    /// Enterprise number (0 for IANA elements). Enterprise fields are skipped.
    pub enterprise: u32,
    /// Length in bytes, or [`VARLEN`].
    pub len: u16,
}

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Fields in record order (scope fields first for options templates).
    pub fields: Box<[Field]>,
    /// Number of scope fields (options templates).
    pub scope_fields: u16,
    /// Whether it is an options template.
    pub options: bool,
    /// Shortest possible record: fixed lengths plus one length byte per variable field.
    pub min_len: usize,
    /// Whether any field is variable-length.
    pub varlen: bool,
    /// For a template without variable-length fields, how a data record's walk reads it:
    /// one length check, then only the fields [`apply`] reads, at fixed offsets (empty
    /// for variable-length templates).
    plan: Plan,
}

/// Offset and length of a field in a fixed-length record.
type Span = (u16, u16);

/// How the walk reads a record of a fixed-length template. Exporters send thousands of
/// records per template, so work done here once saves it per record: fields nothing reads
/// (interfaces, next hops, masks) are never looked at, and the common ones are read
/// straight into their place without dispatching on their id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Plan {
    /// Fields read straight into the record: each is the only field of its template that
    /// writes its part of the record, so the order they are read in does not matter.
    direct: Direct,
    /// The other fields [`apply`] reads, in record order.
    rest: Box<[Planned]>,
}

/// The common fields of a fixed-length template (see [`Plan::direct`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Direct {
    bytes: Option<Span>,
    packets: Option<Span>,
    proto: Option<Span>,
    tcp_flags: Option<Span>,
    sport: Option<Span>,
    dport: Option<Span>,
    /// Offsets of 4-byte IPv4 addresses.
    src4: Option<u16>,
    dst4: Option<u16>,
    start: Option<(Span, TimeUnit)>,
    end: Option<(Span, TimeUnit)>,
}

/// A field of a fixed-length template read through [`apply`], at its offset in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planned {
    offset: u16,
    len: u16,
    id: u16,
}

/// What a flow start or end time field counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    /// Milliseconds of exporter uptime.
    UptimeMs,
    /// Seconds since the Unix epoch.
    Seconds,
    /// Milliseconds since the Unix epoch.
    Millis,
}

impl TimeUnit {
    #[inline]
    fn time(self, n: u64) -> Time {
        match self {
            TimeUnit::UptimeMs => Time::Uptime(n as u32),
            TimeUnit::Seconds => Time::Abs(n.saturating_mul(1_000_000_000)),
            TimeUnit::Millis => Time::Abs(n.saturating_mul(1_000_000)),
        }
    }
}

impl Plan {
    /// The plan of a fixed-length template's `fields`.
    fn new(fields: &[Field], scope_fields: u16) -> Plan {
        let mut read = Vec::new();
        let mut writers = [0u8; TARGETS];
        let mut offset = 0usize;
        for (i, f) in fields.iter().enumerate() {
            let target = target(f.id);
            if read_by_walk(f, i, scope_fields) && target != 0 {
                writers[target] = writers[target].saturating_add(1);
                // Fits: the caller checked that the whole record is at most 65535 bytes.
                read.push(Planned {
                    offset: offset as u16,
                    len: f.len,
                    id: f.id,
                });
            }
            offset += usize::from(f.len);
        }
        let mut direct = Direct::default();
        let mut rest = Vec::new();
        for p in read {
            if writers[target(p.id)] > 1 {
                rest.push(p);
                continue;
            }
            let span = (p.offset, p.len);
            match p.id {
                1 => direct.bytes = Some(span),
                2 => direct.packets = Some(span),
                4 => direct.proto = Some(span),
                6 => direct.tcp_flags = Some(span),
                7 => direct.sport = Some(span),
                11 => direct.dport = Some(span),
                8 if p.len == 4 => direct.src4 = Some(p.offset),
                12 if p.len == 4 => direct.dst4 = Some(p.offset),
                22 => direct.start = Some((span, TimeUnit::UptimeMs)),
                150 => direct.start = Some((span, TimeUnit::Seconds)),
                152 => direct.start = Some((span, TimeUnit::Millis)),
                21 => direct.end = Some((span, TimeUnit::UptimeMs)),
                151 => direct.end = Some((span, TimeUnit::Seconds)),
                153 => direct.end = Some((span, TimeUnit::Millis)),
                _ => rest.push(p),
            }
        }
        Plan {
            direct,
            rest: rest.into_boxed_slice(),
        }
    }

    /// Read a whole record `r` (exactly the template's length) into `rec` (default).
    #[inline]
    fn read(&self, r: &[u8], rec: &mut Rec) {
        let field = |(offset, len): Span| {
            let start = usize::from(offset);
            &r[start..start + usize::from(len)]
        };
        let d = &self.direct;
        let n = |s: Span| be_uint(field(s));
        if let Some(s) = d.bytes {
            rec.bytes[0] = Some(n(s));
        }
        if let Some(s) = d.packets {
            rec.packets[0] = Some(n(s));
        }
        if let Some(s) = d.proto {
            rec.proto = n(s) as u8;
        }
        if let Some(s) = d.tcp_flags {
            rec.tcp_flags = n(s) as u8;
        }
        if let Some(s) = d.sport {
            rec.sport = n(s) as u16;
        }
        if let Some(s) = d.dport {
            rec.dport = n(s) as u16;
        }
        if let Some(o) = d.src4 {
            rec.src4 = Some(Ipv4Addr::from(n((o, 4)) as u32));
        }
        if let Some(o) = d.dst4 {
            rec.dst4 = Some(Ipv4Addr::from(n((o, 4)) as u32));
        }
        if let Some((s, unit)) = d.start {
            rec.start = unit.time(n(s));
        }
        if let Some((s, unit)) = d.end {
            rec.end = unit.time(n(s));
        }
        for p in self.rest.iter() {
            apply(rec, p.id, field((p.offset, p.len)));
        }
    }
}

impl Template {
    /// Build a template, enforcing the limits.
    ///
    /// # Errors
    /// `(reason key, value)` when the template has more fields than allowed or its fixed
    /// record length exceeds 65535 bytes.
    pub fn new(
        fields: Vec<Field>,
        scope_fields: u16,
        options: bool,
        config: &FlowConfig,
    ) -> Result<Self, (&'static str, u64)> {
        if fields.len() > config.max_template_fields {
            return Err(("template.too_many_fields", fields.len() as u64));
        }
        let mut min_len = 0usize;
        let mut varlen = false;
        for f in &fields {
            if f.len == VARLEN {
                varlen = true;
                min_len += 1;
            } else {
                min_len += usize::from(f.len);
            }
        }
        if min_len > 65535 {
            return Err(("template.record_too_long", min_len as u64));
        }
        if min_len == 0 {
            return Err(("template.empty_record", fields.len() as u64));
        }
        let plan = if varlen {
            Plan::default()
        } else {
            Plan::new(&fields, scope_fields)
        };
        Ok(Template {
            fields: fields.into_boxed_slice(),
            scope_fields,
            options,
            min_len,
            varlen,
            plan,
        })
    }
}

/// Cache key of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateKey {
    /// NetFlow v9 or IPFIX (separate id spaces).
    pub protocol: FlowProtocol,
    /// Exporter address.
    pub exporter: IpAddr,
    /// Source id / observation domain id.
    pub domain: u32,
    /// Template id.
    pub template_id: u16,
}

/// Cache key of a sampler rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SamplerKey {
    /// NetFlow v9 or IPFIX: an exporter may speak both, with separate source id and
    /// observation domain spaces, and one's sampling says nothing of the other's.
    pub protocol: FlowProtocol,
    /// Exporter address.
    pub exporter: IpAddr,
    /// Source id / observation domain id.
    pub domain: u32,
    /// Sampler / selector id (0: the domain's rate).
    pub sampler_id: u64,
}

/// A map that keeps at most `cap` entries and evicts the oldest inserted first. With a
/// [`Quota`], each group of entries (the templates of one exporter) is also held to its
/// own limit, evicting that group's oldest first.
#[derive(Debug, Clone)]
struct Bounded<K, V> {
    cap: usize,
    map: HashMap<K, (V, u64)>,
    order: VecDeque<(K, u64)>,
    next: u64,
    /// Entries evicted so far.
    evicted: u64,
    quota: Option<Quota<K>>,
}

/// A per-group limit within a [`Bounded`] map: without it, one sender inventing templates
/// (from one address, spoofed or not) evicts every other exporter's, and their data goes
/// undecoded until they send their templates again.
#[derive(Debug, Clone)]
struct Quota<K> {
    group_of: fn(&K) -> IpAddr,
    cap: usize,
    /// Per group: its live entries, and its insertion order (entries whose sequence no
    /// longer matches the map's are stale and skipped, as in [`Bounded::order`]).
    groups: HashMap<IpAddr, (usize, VecDeque<(K, u64)>)>,
}

/// True when `key` is held with insertion sequence `seq` (not replaced or removed since).
fn live<K: Eq + core::hash::Hash, V>(map: &HashMap<K, (V, u64)>, key: &K, seq: u64) -> bool {
    map.get(key).is_some_and(|e| e.1 == seq)
}

impl<K: Copy + Eq + core::hash::Hash, V> Bounded<K, V> {
    fn new(cap: usize) -> Self {
        Bounded {
            cap: cap.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
            evicted: 0,
            quota: None,
        }
    }

    /// The same, also holding each group (`group_of`) to `group_cap` entries.
    fn with_quota(cap: usize, group_of: fn(&K) -> IpAddr, group_cap: usize) -> Self {
        Bounded {
            quota: Some(Quota {
                group_of,
                cap: group_cap.max(1),
                groups: HashMap::new(),
            }),
            ..Bounded::new(cap)
        }
    }

    /// One entry fewer in `key`'s group (it was removed from the map).
    fn left_group(&mut self, key: &K) {
        if let Some(q) = &mut self.quota {
            let g = (q.group_of)(key);
            if let Some(e) = q.groups.get_mut(&g) {
                e.0 -= 1;
                if e.0 == 0 {
                    q.groups.remove(&g);
                }
            }
        }
    }

    /// Insert or replace; returns how many entries were evicted.
    fn insert(&mut self, key: K, value: V) -> u64 {
        let seq = self.next;
        self.next += 1;
        let mut evicted = 0;
        let new = self.map.insert(key, (value, seq)).is_none();
        if let Some(q) = &mut self.quota {
            let (held, order) = q.groups.entry((q.group_of)(&key)).or_default();
            order.push_back((key, seq));
            if new {
                *held += 1;
                while *held > q.cap {
                    let Some((old, s)) = order.pop_front() else {
                        break;
                    };
                    if live(&self.map, &old, s) {
                        self.map.remove(&old);
                        *held -= 1;
                        evicted += 1;
                    }
                }
            }
            if order.len() > 2 * *held + 16 {
                let map = &self.map;
                order.retain(|(k, s)| live(map, k, *s));
            }
        }
        if new {
            while self.map.len() > self.cap {
                let Some((old, s)) = self.order.pop_front() else {
                    break;
                };
                if live(&self.map, &old, s) {
                    self.map.remove(&old);
                    self.left_group(&old);
                    evicted += 1;
                }
            }
        }
        self.evicted += evicted;
        self.order.push_back((key, seq));
        // Replacements leave stale entries behind: compact so the queue stays bounded.
        if self.order.len() > 2 * self.cap + 16 {
            let map = &self.map;
            self.order.retain(|(k, s)| live(map, k, *s));
        }
        evicted
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|e| &e.0)
    }

    /// The value under `key`, to change in place (its age stays).
    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key).map(|e| &mut e.0)
    }

    fn remove(&mut self, key: &K) {
        if self.map.remove(key).is_some() {
            self.left_group(key);
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// A stored template with the export time it was last seen.
#[derive(Debug)]
struct Stored {
    template: Arc<Template>,
    seen_secs: u32,
    /// Whether `template` is this cache's own rather than shared with the cache it was
    /// cloned from (see [`TemplateCache::lookup`]).
    owned: bool,
}

impl Clone for Stored {
    fn clone(&self) -> Self {
        Stored {
            template: Arc::clone(&self.template),
            seen_secs: self.seen_secs,
            owned: false,
        }
    }
}

/// Result of a template lookup.
pub(crate) enum Lookup {
    Found(Arc<Template>),
    Missing,
    Expired,
}

/// The templates and sampler rates of all exporters, bounded in number.
#[derive(Debug, Clone)]
pub struct TemplateCache {
    templates: Bounded<TemplateKey, Stored>,
    samplers: Bounded<SamplerKey, u32>,
    /// IPFIX `systemInitTimeMilliseconds` (element 160) learned from options data per
    /// (exporter, observation domain): what turns `flowStartSysUpTime` into wall-clock time
    /// for data records that do not carry it themselves.
    system_init: Bounded<(IpAddr, u32), u64>,
    timeout_secs: u32,
}

impl Default for TemplateCache {
    fn default() -> Self {
        TemplateCache::new(&FlowConfig::default())
    }
}

impl TemplateCache {
    /// An empty cache with the limits of `config`.
    pub fn new(config: &FlowConfig) -> Self {
        TemplateCache {
            templates: Bounded::with_quota(
                config.max_templates,
                |k: &TemplateKey| k.exporter,
                config.max_templates_per_exporter,
            ),
            samplers: Bounded::new(config.max_samplers),
            system_init: Bounded::new(config.max_samplers),
            timeout_secs: config.template_timeout_secs,
        }
    }

    /// Number of templates held.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether no template is held.
    pub fn is_empty(&self) -> bool {
        self.templates.len() == 0
    }

    /// Templates evicted so far to stay within [`FlowConfig::max_templates`]. Part of the
    /// cache's state (learning templates evicts as decoding does), so it is the same
    /// whatever thread decodes a datagram.
    pub fn evicted(&self) -> u64 {
        self.templates.evicted
    }

    /// Number of sampler rates held.
    pub fn samplers(&self) -> usize {
        self.samplers.len()
    }

    /// The template stored under `key`, if any (expiry not checked).
    pub fn get(&self, key: &TemplateKey) -> Option<&Template> {
        self.templates.get(key).map(|s| &*s.template)
    }

    /// The sampling rate learned for `key`, if any.
    pub fn sampler(&self, key: &SamplerKey) -> Option<u32> {
        self.samplers.get(key).copied()
    }

    /// Store a template; returns how many were evicted to make room.
    pub(crate) fn insert(&mut self, key: TemplateKey, template: Template, now_secs: u32) -> u64 {
        self.templates.insert(
            key,
            Stored {
                template: Arc::new(template),
                seen_secs: now_secs,
                owned: true,
            },
        )
    }

    /// Forget a template (IPFIX withdrawal).
    pub(crate) fn withdraw(&mut self, key: &TemplateKey) {
        self.templates.remove(key);
    }

    /// Find a template, checking expiry against the exporter's `now_secs`.
    ///
    /// A clone of a cache (a chunk's decoder, on another thread) copies a template the
    /// first time it looks it up: every data set takes a handle on its template, and with
    /// one shared count the workers and the walking thread took turns on its cache line. A
    /// clone copies only the templates it uses, so cloning stays cheap.
    pub(crate) fn lookup(&mut self, key: &TemplateKey, now_secs: u32) -> Lookup {
        let timeout = self.timeout_secs;
        match self.templates.get_mut(key) {
            None => Lookup::Missing,
            Some(s) if timeout > 0 && now_secs.saturating_sub(s.seen_secs) > timeout => {
                Lookup::Expired
            }
            Some(s) => {
                if !s.owned {
                    s.template = Arc::new(Template::clone(&s.template));
                    s.owned = true;
                }
                Lookup::Found(Arc::clone(&s.template))
            }
        }
    }

    /// The exporter's boot time (ms since the epoch) learned for `domain`, if any.
    pub fn system_init(&self, exporter: IpAddr, domain: u32) -> Option<u64> {
        self.system_init.get(&(exporter, domain)).copied()
    }

    /// Remember an exporter's boot time for `domain`.
    /// A known key is updated in place: options data repeats it with every refresh, and
    /// decoding a datagram that brings no new key allocates nothing.
    pub(crate) fn set_system_init(&mut self, exporter: IpAddr, domain: u32, ms: u64) {
        match self.system_init.get_mut(&(exporter, domain)) {
            Some(v) => *v = ms,
            None => {
                self.system_init.insert((exporter, domain), ms);
            }
        }
    }

    /// Remember a sampler rate.
    pub(crate) fn set_sampler(&mut self, key: SamplerKey, rate: u32) {
        if self.samplers.get(&key) != Some(&rate) {
            self.samplers.insert(key, rate);
        }
    }
}

/// Timestamps a record may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Time {
    #[default]
    None,
    /// Milliseconds of exporter uptime (v9 FIRST/LAST_SWITCHED, IPFIX 22/21).
    Uptime(u32),
    /// Nanoseconds since the Unix epoch.
    Abs(u64),
}

/// The fields of one data record that floodtrace uses. Filled in place: no allocation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rec {
    pub src4: Option<Ipv4Addr>,
    pub dst4: Option<Ipv4Addr>,
    pub src6: Option<Ipv6Addr>,
    pub dst6: Option<Ipv6Addr>,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub tcp_flags: u8,
    pub ttl: u8,
    pub icmp: Option<(u8, u8)>,
    /// Byte counters in order of preference: delta, total, post, initiator.
    pub bytes: [Option<u64>; 4],
    /// Packet counters in the same order.
    pub packets: [Option<u64>; 4],
    pub start: Time,
    pub end: Time,
    /// Sampling rate carried by the record itself.
    pub rate: Option<u32>,
    pub sampling_size: Option<u64>,
    pub sampling_population: Option<u64>,
    pub packet_interval: Option<u64>,
    pub packet_space: Option<u64>,
    pub sampler_id: Option<u64>,
    pub system_init_ms: Option<u64>,
}

impl Rec {
    pub fn bytes(&self) -> u64 {
        self.bytes.iter().find_map(|b| *b).unwrap_or(0)
    }

    pub fn packets(&self) -> u64 {
        self.packets.iter().find_map(|b| *b).unwrap_or(0)
    }

    pub fn has_address(&self) -> bool {
        self.src4.is_some() || self.dst4.is_some() || self.src6.is_some() || self.dst6.is_some()
    }

    /// Source and destination, IPv4 preferred when both families are present.
    pub fn addresses(&self) -> (IpAddr, IpAddr) {
        if self.src4.is_some() || self.dst4.is_some() {
            (
                IpAddr::V4(self.src4.unwrap_or(Ipv4Addr::UNSPECIFIED)),
                IpAddr::V4(self.dst4.unwrap_or(Ipv4Addr::UNSPECIFIED)),
            )
        } else {
            (
                IpAddr::V6(self.src6.unwrap_or(Ipv6Addr::UNSPECIFIED)),
                IpAddr::V6(self.dst6.unwrap_or(Ipv6Addr::UNSPECIFIED)),
            )
        }
    }

    /// The sampling rate the record states about itself (interval, random interval,
    /// packet interval + space, population / size).
    pub fn own_rate(&self) -> Option<u32> {
        if let Some(r) = self.rate.filter(|r| *r > 0) {
            return Some(r);
        }
        if let (Some(i), Some(s)) = (self.packet_interval, self.packet_space) {
            if let Some(r) = i.saturating_add(s).checked_div(i) {
                return u32::try_from(r).ok();
            }
        }
        if let Some(i) = self.packet_interval.filter(|i| *i > 1) {
            // samplingPacketInterval alone (Cisco uses it as "1 out of N").
            return u32::try_from(i).ok();
        }
        if let (Some(n), Some(p)) = (self.sampling_size, self.sampling_population) {
            if n > 0 && p >= n {
                return u32::try_from(p / n).ok();
            }
        }
        None
    }
}

fn ipv4(v: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from)
}

fn ipv6(v: &[u8]) -> Option<Ipv6Addr> {
    <[u8; 16]>::try_from(v).ok().map(Ipv6Addr::from)
}

/// NTP timestamp (seconds since 1900, fraction) to ns since the Unix epoch.
fn ntp_ns(v: &[u8]) -> Option<u64> {
    if v.len() != 8 {
        return None;
    }
    let secs = u64::from(u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
    let frac = u64::from(u32::from_be_bytes([v[4], v[5], v[6], v[7]]));
    let unix = secs.checked_sub(2_208_988_800)?;
    Some(unix * 1_000_000_000 + ((frac * 1_000_000_000) >> 32))
}

/// Interpret one field value (IANA elements only).
fn apply(rec: &mut Rec, id: u16, v: &[u8]) {
    let n = || be_uint(v);
    match id {
        1 => rec.bytes[0] = Some(n()),
        2 => rec.packets[0] = Some(n()),
        85 => rec.bytes[1] = Some(n()),
        86 => rec.packets[1] = Some(n()),
        23 => rec.bytes[2] = Some(n()),
        24 => rec.packets[2] = Some(n()),
        231 => rec.bytes[3] = Some(n()),
        298 => rec.packets[3] = Some(n()),
        4 => rec.proto = n() as u8,
        6 => rec.tcp_flags = n() as u8,
        7 => rec.sport = n() as u16,
        11 => rec.dport = n() as u16,
        8 => rec.src4 = ipv4(v).or(rec.src4),
        12 => rec.dst4 = ipv4(v).or(rec.dst4),
        27 => rec.src6 = ipv6(v).or(rec.src6),
        28 => rec.dst6 = ipv6(v).or(rec.dst6),
        32 | 139 => {
            let t = n();
            rec.icmp = Some(((t >> 8) as u8, t as u8));
        }
        176 | 178 => {
            let code = rec.icmp.map_or(0, |i| i.1);
            rec.icmp = Some((n() as u8, code));
        }
        177 | 179 => {
            let ty = rec.icmp.map_or(0, |i| i.0);
            rec.icmp = Some((ty, n() as u8));
        }
        192 => rec.ttl = n() as u8,
        52 if rec.ttl == 0 => rec.ttl = n() as u8,
        22 => rec.start = TimeUnit::UptimeMs.time(n()),
        21 => rec.end = TimeUnit::UptimeMs.time(n()),
        150 => rec.start = TimeUnit::Seconds.time(n()),
        151 => rec.end = TimeUnit::Seconds.time(n()),
        152 => rec.start = TimeUnit::Millis.time(n()),
        153 => rec.end = TimeUnit::Millis.time(n()),
        154 | 156 => rec.start = ntp_ns(v).map_or(rec.start, Time::Abs),
        155 | 157 => rec.end = ntp_ns(v).map_or(rec.end, Time::Abs),
        160 => rec.system_init_ms = Some(n()),
        34 | 50 => rec.rate = u32::try_from(n()).ok().or(rec.rate),
        305 => rec.packet_interval = Some(n()),
        306 => rec.packet_space = Some(n()),
        309 => rec.sampling_size = Some(n()),
        310 => rec.sampling_population = Some(n()),
        48 | 302 => rec.sampler_id = Some(n()),
        _ => {}
    }
}

/// Number of [`target`] values.
const TARGETS: usize = 28;

/// Which part of a [`Rec`] information element `id` writes in [`apply`] (elements sharing
/// a part share a number), 0 when `apply` ignores it. Kept beside `apply`; the test
/// `target_names_every_element_apply_reads` checks the two agree.
const fn target(id: u16) -> usize {
    match id {
        1 => 1,
        2 => 2,
        85 => 3,
        86 => 4,
        23 => 5,
        24 => 6,
        231 => 7,
        298 => 8,
        4 => 9,
        6 => 10,
        7 => 11,
        11 => 12,
        8 => 13,
        12 => 14,
        27 => 15,
        28 => 16,
        32 | 139 | 176..=179 => 17,
        52 | 192 => 18,
        22 | 150 | 152 | 154 | 156 => 19,
        21 | 151 | 153 | 155 | 157 => 20,
        160 => 21,
        34 | 50 => 22,
        305 => 23,
        306 => 24,
        309 => 25,
        310 => 26,
        48 | 302 => 27,
        _ => 0,
    }
}

/// Whether the walk interprets field `f` (number `i` of a template with `scope_fields`
/// scope fields): enterprise fields and v9 scope fields are skipped.
#[inline]
fn read_by_walk(f: &Field, i: usize, scope_fields: u16) -> bool {
    let scope_v9 = f.id == V9_SCOPE && i < usize::from(scope_fields);
    f.enterprise == 0 && !scope_v9
}

/// Why a record could not be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordCut {
    /// Offset of the field that did not fit (relative to the set body).
    pub at: usize,
    pub need: usize,
    pub have: usize,
}

/// Walk one record of `template` starting at `at` in `body` into `rec` (reset first: one
/// `Rec` serves a whole data set, so nothing is copied per record); returns the offset
/// after it.
pub(crate) fn walk_record(
    template: &Template,
    body: &[u8],
    at: usize,
    rec: &mut Rec,
) -> Result<usize, RecordCut> {
    *rec = Rec::default();
    if !template.varlen {
        // One length check for the whole record, then only the fields `apply` reads. A
        // record cut short falls through to the field walk, which says which field.
        if let Some(r) = body.get(at..at + template.min_len) {
            template.plan.read(r, rec);
            return Ok(at + template.min_len);
        }
    }
    walk_fields(template, body, at, rec)
}

/// [`walk_record`] field by field: for variable-length templates, and to locate the field
/// a record is cut in.
fn walk_fields(
    template: &Template,
    body: &[u8],
    mut at: usize,
    rec: &mut Rec,
) -> Result<usize, RecordCut> {
    for (i, f) in template.fields.iter().enumerate() {
        let len = if f.len == VARLEN {
            let Some(&l) = body.get(at) else {
                return Err(RecordCut {
                    at,
                    need: 1,
                    have: 0,
                });
            };
            at += 1;
            if l == 255 {
                let Some(l2) = super::get16(body, at) else {
                    return Err(RecordCut {
                        at,
                        need: 2,
                        have: body.len().saturating_sub(at),
                    });
                };
                at += 2;
                usize::from(l2)
            } else {
                usize::from(l)
            }
        } else {
            usize::from(f.len)
        };
        let Some(v) = body.get(at..at + len) else {
            return Err(RecordCut {
                at,
                need: len,
                have: body.len().saturating_sub(at),
            });
        };
        at += len;
        if read_by_walk(f, i, template.scope_fields) {
            apply(rec, f.id, v);
        }
    }
    Ok(at)
}

/// The field id used for v9 scope fields.
pub(crate) const fn v9_scope_id() -> u16 {
    V9_SCOPE
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn target_names_every_element_apply_reads() {
        for id in 0..=u16::MAX {
            // 0xe0.. : an NTP time after 1970, a rate that fits 32 bits at length 4.
            for len in [1usize, 2, 4, 8, 16] {
                let value: Vec<u8> = (0..len as u8).map(|i| 0xe0 + i).collect();
                let mut rec = Rec::default();
                apply(&mut rec, id, &value);
                let read = format!("{rec:?}") != format!("{:?}", Rec::default());
                assert!(
                    !read || target(id) != 0,
                    "apply reads element {id} (length {len}) but target() says it does not"
                );
            }
        }
        // And target() names nothing apply ignores at every length.
        for id in (0..=u16::MAX).filter(|&id| target(id) != 0) {
            let read_somehow = [1usize, 2, 4, 8, 16].iter().any(|&len| {
                let value: Vec<u8> = (0..len as u8).map(|i| 0xe0 + i).collect();
                let mut rec = Rec::default();
                apply(&mut rec, id, &value);
                format!("{rec:?}") != format!("{:?}", Rec::default())
            });
            assert!(
                read_somehow,
                "target() names element {id}, which apply ignores"
            );
        }
    }

    #[test]
    fn a_cloned_cache_copies_a_template_once_it_is_used() {
        let config = FlowConfig::default();
        let mut cache = TemplateCache::new(&config);
        let key = TemplateKey {
            protocol: FlowProtocol::NetflowV9,
            exporter: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            domain: 1,
            template_id: 256,
        };
        let field = Field {
            id: 8,
            enterprise: 0,
            len: 4,
        };
        let template = Template::new(vec![field], 0, false, &config).expect("valid");
        cache.insert(key, template.clone(), 0);
        let found = |cache: &mut TemplateCache| match cache.lookup(&key, 0) {
            Lookup::Found(t) => t,
            _ => panic!("the template is stored"),
        };
        let original = found(&mut cache);
        let mut clone = cache.clone();
        // The clone shares the original's template until it uses it, then owns a copy;
        // the original keeps its own.
        let first = found(&mut clone);
        assert!(!Arc::ptr_eq(&first, &original));
        assert_eq!(*first, template);
        drop(first);
        let again = found(&mut clone);
        let third = found(&mut clone);
        assert!(
            Arc::ptr_eq(&again, &third),
            "copied once, not at every lookup"
        );
        assert!(Arc::ptr_eq(&found(&mut cache), &original));
    }

    /// Element ids a generated template draws from: every one `apply` reads, some it
    /// ignores, and the v9 scope id.
    fn element() -> impl Strategy<Value = (u16, u32, u16)> {
        let ids = prop::sample::select(vec![
            1u16, 2, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 17, 21, 22, 27, 28, 32, 34, 48, 50, 52,
            85, 86, 139, 150, 151, 152, 153, 154, 155, 160, 176, 177, 192, 231, 298, 305, 309,
            V9_SCOPE,
        ]);
        let lens = prop::sample::select(vec![1u16, 2, 3, 4, 6, 8, 16]);
        (ids, prop_oneof![4 => Just(0u32), 1 => Just(9u32)], lens)
    }

    proptest! {
        /// The planned walk of a fixed-length template reads what the field walk reads,
        /// and a record cut short still names its field.
        #[test]
        fn planned_walk_equals_field_walk(
            fields in prop::collection::vec(element(), 1..24),
            scope in 0u16..4,
            body in prop::collection::vec(any::<u8>(), 0..600),
            at in 0usize..64,
        ) {
            let fields: Vec<Field> = fields
                .into_iter()
                .map(|(id, enterprise, len)| Field { id, enterprise, len })
                .collect();
            let template = Template::new(fields, scope, scope > 0, &FlowConfig::default())
                .expect("within the limits");
            prop_assert!(!template.varlen);
            let at = at.min(body.len());
            let (mut planned, mut walked) = (Rec::default(), Rec::default());
            let a = walk_record(&template, &body, at, &mut planned);
            let b = walk_fields(&template, &body, at, &mut walked);
            prop_assert_eq!(a, b);
            if a.is_ok() {
                prop_assert_eq!(format!("{planned:?}"), format!("{walked:?}"));
            }
        }
    }
}
