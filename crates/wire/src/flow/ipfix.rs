//! IPFIX (RFC 7011).
//!
//! Message header (16 bytes): version 10, message length, export time, sequence number,
//! observation domain id. Then sets: id 2 templates, id 3 options templates, ids ≥ 256 data.
//! Field specifiers with the enterprise bit carry a 4-byte enterprise number; such fields
//! are walked over (their length respected, variable or not) and otherwise ignored.

use super::netflow9::{data_set, learn, Clock};
use super::template::Field;
use super::{get16, get32, Ctx, FlowError, FlowErrorKind, FlowEvent, FlowProtocol, TemplateInfo};

const P: FlowProtocol = FlowProtocol::Ipfix;
const HEADER: usize = 16;

/// Decode an IPFIX message; returns its length (the bytes that belonged to it).
pub(crate) fn decode<F: FnMut(FlowEvent)>(ctx: &mut Ctx<'_, F>, d: &[u8]) -> usize {
    if d.len() < HEADER {
        ctx.error(FlowError::truncated(P, 0, "header", HEADER, d.len()));
        return d.len();
    }
    let (Some(length), Some(secs), Some(domain)) = (get16(d, 2), get32(d, 4), get32(d, 12)) else {
        return d.len();
    };
    let length = usize::from(length);
    if length < HEADER {
        ctx.error(FlowError::bad(P, 2, "ipfix.length", length as u64));
        return d.len();
    }
    let end = if length > d.len() {
        ctx.error(FlowError::truncated(P, 0, "message", length, d.len()));
        d.len()
    } else {
        length
    };
    let clock = Clock {
        export_secs: secs,
        uptime_ms: None,
    };
    let mut at = HEADER;
    while at < end {
        let rest = end - at;
        let (Some(id), Some(len)) = (get16(&d[..end], at), get16(&d[..end], at + 2)) else {
            ctx.error(FlowError::truncated(P, at, "set header", 4, rest));
            break;
        };
        let len = usize::from(len);
        if len < 4 {
            ctx.error(FlowError::bad(P, at, "ipfix.set_length", len as u64));
            break;
        }
        let set_end = if len > rest {
            ctx.error(FlowError::truncated(P, at, "set", len, rest));
            end
        } else {
            at + len
        };
        let body = &d[at + 4..set_end];
        match id {
            2 => templates(ctx, domain, body, at + 4, secs, false),
            3 => templates(ctx, domain, body, at + 4, secs, true),
            0..=255 => ctx.error(FlowError::bad(P, at, "ipfix.set_id", u64::from(id))),
            _ => data_set(ctx, P, domain, id, body, at, clock),
        }
        at = set_end;
    }
    if end < d.len() {
        let trailing = &d[end..];
        if trailing.iter().any(|b| *b != 0) {
            ctx.error(FlowError::new(
                P,
                end,
                FlowErrorKind::Trailing {
                    bytes: trailing.len(),
                },
            ));
        }
    }
    end
}

/// Read `count` field specifiers from `body` at `at`; returns the offset after them, and
/// the fields when `keep` (otherwise they are only walked, e.g. for a template rejected
/// for its size).
fn specifiers(
    body: &[u8],
    mut at: usize,
    count: u16,
    keep: bool,
) -> Result<(usize, Vec<Field>), usize> {
    let mut fields = Vec::new();
    if keep {
        // Bounded by the bytes present: each specifier takes at least 4.
        fields.reserve(usize::from(count).min(body.len().saturating_sub(at) / 4));
    }
    for _ in 0..count {
        let (Some(raw), Some(len)) = (get16(body, at), get16(body, at + 2)) else {
            return Err(at);
        };
        at += 4;
        let enterprise = if raw & 0x8000 != 0 {
            let Some(e) = get32(body, at) else {
                return Err(at);
            };
            at += 4;
            e
        } else {
            0
        };
        if keep {
            fields.push(Field {
                id: raw & 0x7fff,
                enterprise,
                len,
            });
        }
    }
    Ok((at, fields))
}

/// Template set (id 2) or options template set (id 3) body.
fn templates<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    domain: u32,
    body: &[u8],
    base: usize,
    secs: u32,
    options: bool,
) {
    let head = if options { 6 } else { 4 };
    let mut at = 0;
    while body.len() - at >= 4 {
        let (Some(tid), Some(count)) = (get16(body, at), get16(body, at + 2)) else {
            break;
        };
        if tid == 0 && count == 0 {
            break; // padding
        }
        if count == 0 {
            // Template withdrawal (RFC 7011 §8.1).
            if tid >= 256 {
                let key = super::template::TemplateKey {
                    protocol: P,
                    exporter: ctx.exporter,
                    domain,
                    template_id: tid,
                };
                ctx.templates.withdraw(&key);
                ctx.emit(FlowEvent::Template(TemplateInfo {
                    protocol: P,
                    exporter: ctx.exporter,
                    domain,
                    template_id: tid,
                    fields: 0,
                    options,
                    offset: base + at,
                }));
            }
            at += 4;
            continue;
        }
        let scope = if options {
            match get16(body, at + 4) {
                Some(s) => s,
                None => {
                    ctx.error(FlowError::truncated(
                        P,
                        base + at,
                        "options template",
                        6,
                        body.len() - at,
                    ));
                    return;
                }
            }
        } else {
            0
        };
        let keep = usize::from(count) <= ctx.config.max_template_fields;
        let (next, fields) = match specifiers(body, at + head, count, keep) {
            Ok(r) => r,
            Err(cut) => {
                ctx.error(FlowError::truncated(
                    P,
                    base + at,
                    "template",
                    cut + 4 - at,
                    body.len() - at,
                ));
                return;
            }
        };
        if tid < 256 {
            ctx.error(FlowError::bad(
                P,
                base + at,
                "ipfix.template_id",
                u64::from(tid),
            ));
        } else if scope > count {
            ctx.error(FlowError::bad(
                P,
                base + at,
                "ipfix.scope_field_count",
                u64::from(scope),
            ));
        } else if !keep {
            ctx.error(FlowError::new(
                P,
                base + at,
                FlowErrorKind::TemplateRejected {
                    template_id: tid,
                    why: "template.too_many_fields",
                    value: u64::from(count),
                },
            ));
        } else {
            learn(ctx, P, domain, tid, fields, scope, options, base + at, secs);
        }
        at = next;
    }
}
