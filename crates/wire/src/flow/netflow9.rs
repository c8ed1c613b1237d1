//! NetFlow v9 (RFC 3954), plus the data-set walk it shares with IPFIX.
//!
//! Header (20 bytes): version, count, sysUptime (ms), unix_secs, sequence, source id. Then
//! flowsets: id 0 templates, id 1 options templates, ids ≥ 256 data.

use core::net::IpAddr;

use super::template::{
    v9_scope_id, walk_record, Field, Lookup, Rec, SamplerKey, Template, TemplateKey, Time,
};
use super::{
    get16, get32, scale, Ctx, FlowError, FlowErrorKind, FlowEvent, FlowProtocol, SamplingInfo,
    TemplateInfo,
};
use crate::observe::{Observation, Origin};

const P: FlowProtocol = FlowProtocol::NetflowV9;
const HEADER: usize = 20;

/// How a record's times map to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Export time from the message header, seconds since the epoch.
    pub export_secs: u32,
    /// Exporter uptime at export, ms (v9 only).
    pub uptime_ms: Option<u32>,
}

impl Clock {
    fn export_ns(&self) -> u64 {
        u64::from(self.export_secs) * 1_000_000_000
    }

    /// `system_init_ms`: the exporter's boot time (IPFIX), from the record or its options.
    fn resolve(&self, t: Time, system_init_ms: Option<u64>) -> Option<u64> {
        match t {
            Time::None => None,
            Time::Abs(ns) => Some(ns),
            Time::Uptime(ms) => {
                if let Some(up) = self.uptime_ms {
                    // Milliseconds before export; negative when the clock wrapped oddly.
                    let before = i64::from(up.wrapping_sub(ms) as i32);
                    Some(self.export_ns().saturating_add_signed(-before * 1_000_000))
                } else {
                    system_init_ms
                        .map(|init| init.saturating_add(u64::from(ms)).saturating_mul(1_000_000))
                }
            }
        }
    }

    /// The record's start time, else its end time, else the export time. Uptime times of
    /// IPFIX records need the exporter's boot time: the record's own, else
    /// `learned_init_ms` (from options data).
    pub fn timestamp(&self, rec: &Rec, learned_init_ms: Option<u64>) -> u64 {
        let init = rec.system_init_ms.or(learned_init_ms);
        self.resolve(rec.start, init)
            .or_else(|| self.resolve(rec.end, init))
            .unwrap_or_else(|| self.export_ns())
    }
}

/// Decode a v9 datagram; returns the bytes that belonged to the message.
pub(crate) fn decode<F: FnMut(FlowEvent)>(ctx: &mut Ctx<'_, F>, d: &[u8]) -> usize {
    if d.len() < HEADER {
        ctx.error(FlowError::truncated(P, 0, "header", HEADER, d.len()));
        return d.len();
    }
    let (Some(uptime), Some(secs), Some(domain)) = (get32(d, 4), get32(d, 8), get32(d, 16)) else {
        return d.len();
    };
    let clock = Clock {
        export_secs: secs,
        uptime_ms: Some(uptime),
    };
    let mut at = HEADER;
    while at < d.len() {
        let rest = &d[at..];
        if rest.iter().all(|b| *b == 0) {
            // Zero padding after the last flowset (Cisco ACI, Palo Alto).
            return d.len();
        }
        let (Some(id), Some(len)) = (get16(d, at), get16(d, at + 2)) else {
            ctx.error(FlowError::truncated(P, at, "flowset header", 4, rest.len()));
            return d.len();
        };
        if id == 9 && rest.len() >= HEADER && at > HEADER {
            // Flowset ids 2..=255 are reserved: a "flowset" with id 9 here is the header
            // of another v9 message stored back to back.
            ctx.error(FlowError::new(
                P,
                at,
                FlowErrorKind::Trailing { bytes: rest.len() },
            ));
            return at;
        }
        let len = usize::from(len);
        if len < 4 {
            ctx.error(FlowError::bad(P, at, "netflow9.flowset_length", len as u64));
            return d.len();
        }
        let end = if len > rest.len() {
            ctx.error(FlowError::truncated(P, at, "flowset", len, rest.len()));
            d.len()
        } else {
            at + len
        };
        let body = &d[at + 4..end];
        match id {
            0 => templates(ctx, P, domain, body, at + 4, secs, false),
            1 => options_templates(ctx, domain, body, at + 4, secs),
            2..=255 => ctx.error(FlowError::bad(P, at, "netflow9.flowset_id", u64::from(id))),
            _ => data_set(ctx, P, domain, id, body, at, clock),
        }
        at = end;
    }
    d.len()
}

/// Store a template, reporting it or why it was rejected.
#[allow(clippy::too_many_arguments)]
pub(crate) fn learn<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    protocol: FlowProtocol,
    domain: u32,
    template_id: u16,
    fields: Vec<Field>,
    scope_fields: u16,
    options: bool,
    offset: usize,
    now_secs: u32,
) {
    let n = fields.len();
    match Template::new(fields, scope_fields, options, ctx.config) {
        Ok(t) => {
            let key = TemplateKey {
                protocol,
                exporter: ctx.exporter,
                domain,
                template_id,
            };
            ctx.stats.templates_evicted += ctx.templates.insert(key, t, now_secs);
            ctx.stats.templates += 1;
            ctx.emit(FlowEvent::Template(TemplateInfo {
                protocol,
                exporter: ctx.exporter,
                domain,
                template_id,
                fields: n as u16,
                options,
                offset,
            }));
        }
        Err((why, value)) => ctx.error(FlowError::new(
            protocol,
            offset,
            FlowErrorKind::TemplateRejected {
                template_id,
                why,
                value,
            },
        )),
    }
}

/// v9 template flowset body (also used for v9-style templates nowhere else).
fn templates<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    protocol: FlowProtocol,
    domain: u32,
    body: &[u8],
    base: usize,
    secs: u32,
    _options: bool,
) {
    let mut at = 0;
    while body.len() - at >= 4 {
        let (Some(tid), Some(count)) = (get16(body, at), get16(body, at + 2)) else {
            break;
        };
        if tid == 0 && count == 0 {
            break; // padding
        }
        let need = 4 + usize::from(count) * 4;
        if body.len() - at < need {
            ctx.error(FlowError::truncated(
                protocol,
                base + at,
                "template",
                need,
                body.len() - at,
            ));
            return;
        }
        if tid < 256 {
            ctx.error(FlowError::bad(
                protocol,
                base + at,
                "netflow9.template_id",
                u64::from(tid),
            ));
        } else if usize::from(count) > ctx.config.max_template_fields {
            ctx.error(FlowError::new(
                protocol,
                base + at,
                FlowErrorKind::TemplateRejected {
                    template_id: tid,
                    why: "template.too_many_fields",
                    value: u64::from(count),
                },
            ));
        } else {
            let fields = (0..usize::from(count))
                .map(|i| {
                    let p = at + 4 + i * 4;
                    Field {
                        id: get16(body, p).unwrap_or(0),
                        enterprise: 0,
                        len: get16(body, p + 2).unwrap_or(0),
                    }
                })
                .collect();
            learn(
                ctx,
                protocol,
                domain,
                tid,
                fields,
                0,
                false,
                base + at,
                secs,
            );
        }
        at += need;
    }
}

/// v9 options template flowset body.
fn options_templates<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    domain: u32,
    body: &[u8],
    base: usize,
    secs: u32,
) {
    let mut at = 0;
    while body.len() - at >= 6 {
        let (Some(tid), Some(scope_len), Some(opt_len)) =
            (get16(body, at), get16(body, at + 2), get16(body, at + 4))
        else {
            break;
        };
        if tid == 0 {
            break; // padding
        }
        let (scope_len, opt_len) = (usize::from(scope_len), usize::from(opt_len));
        if !scope_len.is_multiple_of(4) || !opt_len.is_multiple_of(4) {
            ctx.error(FlowError::bad(
                P,
                base + at,
                "netflow9.options_length",
                (scope_len | opt_len) as u64,
            ));
            return;
        }
        let need = 6 + scope_len + opt_len;
        if body.len() - at < need {
            ctx.error(FlowError::truncated(
                P,
                base + at,
                "options template",
                need,
                body.len() - at,
            ));
            return;
        }
        let count = (scope_len + opt_len) / 4;
        if tid < 256 {
            ctx.error(FlowError::bad(
                P,
                base + at,
                "netflow9.template_id",
                u64::from(tid),
            ));
        } else if count > ctx.config.max_template_fields {
            ctx.error(FlowError::new(
                P,
                base + at,
                FlowErrorKind::TemplateRejected {
                    template_id: tid,
                    why: "template.too_many_fields",
                    value: count as u64,
                },
            ));
        } else {
            let scope = scope_len / 4;
            let fields = (0..count)
                .map(|i| {
                    let p = at + 6 + i * 4;
                    Field {
                        id: if i < scope {
                            v9_scope_id()
                        } else {
                            get16(body, p).unwrap_or(0)
                        },
                        enterprise: 0,
                        len: get16(body, p + 2).unwrap_or(0),
                    }
                })
                .collect();
            learn(
                ctx,
                P,
                domain,
                tid,
                fields,
                scope as u16,
                true,
                base + at,
                secs,
            );
        }
        at += need;
        // Options templates are padded to 4 bytes; the next one (rare) starts after it.
    }
}

/// Walk a data set of `template_id` (`set_at` is the offset of the set header).
pub(crate) fn data_set<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    protocol: FlowProtocol,
    domain: u32,
    template_id: u16,
    body: &[u8],
    set_at: usize,
    clock: Clock,
) {
    let key = TemplateKey {
        protocol,
        exporter: ctx.exporter,
        domain,
        template_id,
    };
    let template = match ctx.templates.lookup(&key, clock.export_secs) {
        Lookup::Found(t) => t,
        Lookup::Missing => {
            let kind = FlowErrorKind::MissingTemplate {
                domain,
                template_id,
                evicted: ctx.templates.evicted(),
            };
            ctx.error(FlowError::new(protocol, set_at, kind));
            return;
        }
        Lookup::Expired => {
            let kind = FlowErrorKind::ExpiredTemplate {
                domain,
                template_id,
            };
            ctx.error(FlowError::new(protocol, set_at, kind));
            return;
        }
    };
    if ctx.learn_only && !template.options {
        return;
    }
    let base = set_at + 4;
    let mut at = 0;
    let mut rec = Rec::default();
    // The rate learned for sampler 0, looked up once per set: only options records change
    // learned rates, and a set's records are all of one template.
    let mut default_rate = None;
    while body.len() - at >= template.min_len {
        if template.min_len == 0 {
            break;
        }
        let next = match walk_record(&template, body, at, &mut rec) {
            Ok(next) => next,
            Err(cut) => {
                if body[at..].iter().all(|b| *b == 0) {
                    break; // padding that happens to be longer than a variable-length record
                }
                ctx.error(FlowError::truncated(
                    protocol,
                    base + cut.at,
                    "record field",
                    cut.need,
                    cut.have,
                ));
                return;
            }
        };
        at = next;
        ctx.summary.data_records += 1;
        if template.options {
            options_record(ctx, protocol, domain, &rec);
        } else {
            data_record(ctx, protocol, domain, &rec, clock, &mut default_rate);
        }
    }
}

fn options_record<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    protocol: FlowProtocol,
    domain: u32,
    rec: &Rec,
) {
    if let Some(ms) = rec.system_init_ms {
        ctx.templates.set_system_init(ctx.exporter, domain, ms);
    }
    let Some(rate) = rec.own_rate() else {
        return;
    };
    let key = SamplerKey {
        protocol,
        exporter: ctx.exporter,
        domain,
        sampler_id: rec.sampler_id.unwrap_or(0),
    };
    ctx.templates.set_sampler(key, rate);
    ctx.emit(FlowEvent::Sampling(SamplingInfo {
        exporter: ctx.exporter,
        domain,
        sampler_id: key.sampler_id,
        rate,
    }));
}

fn data_record<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    protocol: FlowProtocol,
    domain: u32,
    rec: &Rec,
    clock: Clock,
    default_rate: &mut Option<Option<u32>>,
) {
    if !rec.has_address() {
        ctx.stats.unaddressed += 1;
        return;
    }
    let exporter: IpAddr = ctx.exporter;
    let learned = |sampler_id| {
        ctx.templates.sampler(&SamplerKey {
            protocol,
            exporter,
            domain,
            sampler_id,
        })
    };
    let rate = rec
        .own_rate()
        .or_else(|| rec.sampler_id.and_then(learned))
        .or_else(|| *default_rate.get_or_insert_with(|| learned(0)))
        .unwrap_or(1);
    let rate = ctx.rate(rate);
    let (src, dst) = rec.addresses();
    // Only IPFIX uptimes without the record's own boot time need the learned one.
    let uptime = |t| matches!(t, Time::Uptime(_));
    let learned_init = (clock.uptime_ms.is_none()
        && rec.system_init_ms.is_none()
        && (uptime(rec.start) || uptime(rec.end)))
    .then(|| ctx.templates.system_init(exporter, domain))
    .flatten();
    let mut obs = Observation::new(clock.timestamp(rec, learned_init), src, dst);
    fill(&mut obs, rec, rate);
    ctx.record(&obs);
}

/// Copy a record's fields into an observation, scaling counts by `rate`.
pub(crate) fn fill(obs: &mut Observation, rec: &Rec, rate: u32) {
    obs.proto = rec.proto;
    obs.sport = rec.sport;
    obs.dport = rec.dport;
    obs.tcp_flags = if rec.proto == crate::transport::PROTO_TCP {
        rec.tcp_flags
    } else {
        0
    };
    obs.ttl = rec.ttl;
    if matches!(
        rec.proto,
        crate::transport::PROTO_ICMP | crate::transport::PROTO_ICMPV6
    ) {
        // Without ICMP type/code fields, exporters put type << 8 | code in the
        // destination port.
        let (t, c) = rec
            .icmp
            .unwrap_or(((rec.dport >> 8) as u8, rec.dport as u8));
        obs.icmp_type = t;
        obs.icmp_code = c;
    }
    let (packets, bytes) = (rec.packets(), rec.bytes());
    obs.packets = scale(packets, rate);
    obs.bytes = scale(bytes, rate);
    if let Some(mean) = bytes.checked_div(packets) {
        let mean = u32::try_from(mean).unwrap_or(u32::MAX);
        obs.ip_len = mean;
        obs.wire_len = mean;
    }
    obs.origin = Origin::Flow;
    obs.sampling = rate;
}
