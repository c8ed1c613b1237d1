#!/usr/bin/env bash
# Seed the fuzz corpora from the wire fixtures, the shared captures, flow exports and logs.
#
#   fuzz/seed-corpus.sh            (from anywhere; needs python3, standard library only)
#
# Writes fuzz/corpus/<target>/ (gitignored):
#   capture, resume   every fixture in crates/wire/tests/data, and the first 64 KiB of each
#                     capture under ../shared/data/pcap (next to this checkout)
#   frame             the frames of those captures, one file each
#   ipv4, ipv6        their IPv4 / IPv6 packets (link header stripped)
#   tcp_options       TCP data-offset byte + option area of their IPv4/IPv6 TCP segments
#   netflow5, netflow9, ipfix, sflow
#                     the export datagrams under ../shared/data/flows (UDP payloads of its
#                     pcaps, messages of its raw .dat files, cut like RawDatagrams), with the
#                     version field stripped as the targets expect; for v9/IPFIX also each
#                     exporter's template sets merged into its data datagrams (one datagram
#                     that teaches the template and uses it); plus, for sflow, handmade
#                     samples with a sampled header of each header protocol
#   flow_sniff        those datagrams whole, the raw .dat files whole, and back-to-back runs
#   peek              ports + declared length + payload of the UDP/TCP packets of all captures
#   access_log        runs of lines and single lines of the logs under ../shared/data/logs
#   outage_reports    small reports in each format (CSV with and without header, JSON array,
#                     JSON lines)
#   log_times         the logs' bracketed times and a few handmade ones
#   asn_csv, asn_table  a few ASN CSV rows and the body of the table compiled from them
#   claim, allow_list the documented claim forms and an allow-list with comments
# Files are named by content hash, so running it again adds nothing twice.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
fixtures="$repo/crates/wire/tests/data"
shared="$(dirname "$repo")/shared/data/pcap"
corpus="$here/corpus"

if [ ! -d "$shared" ]; then
    echo "seed-corpus: $shared is missing; seeding from the fixtures only" >&2
    shared=""
fi

mkdir -p "$corpus"/{capture,resume,frame,ipv4,ipv6,tcp_options}
mkdir -p "$corpus"/{netflow5,netflow9,ipfix,sflow,flow_sniff,peek}

PYTHONPATH="$here" python3 -B - "$corpus" "$fixtures" ${shared:+"$shared"} <<'PY'
import os, sys

from seedlib import frames, network, writer

corpus, fixtures = sys.argv[1], sys.argv[2]
shared = sys.argv[3] if len(sys.argv) > 3 else None
HEAD = 64 * 1024          # bytes of each shared capture
PER_FILE = 200            # frames taken from each capture, at most

put = writer(corpus)



def tcp_options(ip):
    """Data-offset byte + option area of a TCP segment (the tcp_options target's input)."""
    if len(ip) >= 20 and ip[0] >> 4 == 4 and ip[9] == 6:
        l4 = ip[(ip[0] & 15) * 4:]
    elif len(ip) >= 40 and ip[0] >> 4 == 6 and ip[6] == 6:
        l4 = ip[40:]
    else:
        return None
    if len(l4) < 20 or l4[12] >> 4 <= 5:
        return None
    return bytes([l4[12]]) + l4[20:(l4[12] >> 4) * 4]

def seed(path, head):
    with open(path, "rb") as f:
        buf = f.read(head) if head else f.read()
    put("capture", buf)
    put("resume", buf)
    for link, f in frames(buf)[:PER_FILE]:
        put("frame", f)
        ip = network(link, f)
        if ip:
            put("ipv4" if ip[:1] and ip[0] >> 4 == 4 else "ipv6", ip)
            opts = tcp_options(ip)
            if opts:
                put("tcp_options", opts)

for name in sorted(os.listdir(fixtures)):
    if name.endswith((".pcap", ".pcapng", ".bin")):
        seed(os.path.join(fixtures, name), None)
if shared:
    for root, _, files in sorted(os.walk(shared)):
        for name in sorted(files):
            seed(os.path.join(root, name), HEAD)
PY

flows="$(dirname "$repo")/shared/data/flows"
[ -d "$flows" ] || flows=""
PYTHONPATH="$here" python3 -B - "$corpus" ${shared:+"$shared"} ${flows:+"$flows"} <<'PY'
import os, struct, sys

from seedlib import frames, network, writer

corpus = sys.argv[1]
roots = sys.argv[2:]
PER_FILE = 200

put = writer(corpus)



def l4(ip, frags):
    """(proto, sport, dport, payload) of a UDP/TCP packet; IPv4 fragments reassembled."""
    if len(ip) >= 20 and ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        body = ip[ihl:total if ihl <= total <= len(ip) else len(ip)]
        proto, ff = ip[9], struct.unpack(">H", ip[6:8])[0]
        if ff & 0x3FFF:                      # a fragment: collect, emit when complete
            key = (ip[12:20], ip[4:6], proto)
            parts = frags.setdefault(key, {})
            parts[(ff & 0x1FFF) * 8] = (body, bool(ff & 0x2000))
            whole, at = b"", 0
            while at in parts:
                b, more = parts[at]
                whole += b
                at += len(b)
                if not more:
                    del frags[key]
                    body = whole
                    break
            else:
                return None
    elif len(ip) >= 40 and ip[0] >> 4 == 6:
        proto, body = ip[6], ip[40:]
    else:
        return None
    if proto == 17 and len(body) >= 8:
        sp, dp, ul = struct.unpack(">HHH", body[:6])
        return (17, sp, dp, body[8:ul] if 8 <= ul <= len(body) else body[8:])
    if proto == 6 and len(body) >= 20:
        sp, dp = struct.unpack(">HH", body[:4])
        return (6, sp, dp, body[(body[12] >> 4) * 4:])
    return None

def packets(path):
    with open(path, "rb") as f:
        buf = f.read()
    frags, out = {}, []
    for link, fr in frames(buf):
        ip = network(link, fr)
        p = ip and l4(ip, frags)
        if p:
            out.append(p)
    return out

def v9_len(d):
    """Length of the v9 message at the start of d (flowsets up to the next v9 header)."""
    at, sets = 20, 0
    while at + 4 <= len(d):
        if not any(d[at:]) and sets:
            return len(d)
        sid, l = struct.unpack(">HH", d[at:at + 4])
        if sid == 9 and sets:
            return at
        if l < 4 or at + l > len(d):
            return len(d)
        at += l
        sets += 1
    return len(d)

def messages(d):
    """Cut a raw export file into messages, as RawDatagrams does."""
    out = []
    while d:
        v = struct.unpack(">H", d[:2])[0] if len(d) >= 2 else -1
        n = len(d)
        if v == 5 and len(d) >= 4:
            n = 24 + 48 * struct.unpack(">H", d[2:4])[0]
        elif v == 9 and len(d) >= 24:
            n = v9_len(d)
        elif v == 10 and len(d) >= 4:
            n = struct.unpack(">H", d[2:4])[0]
        if n <= 0 or n > len(d):
            n = len(d)
        out.append(d[:n])
        d = d[n:]
    return out

def flow_version(d):
    if d[:4] == b"\0\0\0\x05":
        return "sflow"
    return {5: "netflow5", 9: "netflow9", 10: "ipfix"}.get(
        struct.unpack(">H", d[:2])[0] if len(d) >= 2 else -1)

def sets(d):
    """The flowsets / sets of a v9 or IPFIX message."""
    at, out = (20 if d[:2] == b"\0\x09" else 16), []
    while at + 4 <= len(d):
        l = struct.unpack(">H", d[at + 2:at + 4])[0]
        if l < 4 or at + l > len(d):
            break
        out.append(d[at:at + l])
        at += l
    return out

def merged(tpls, data):
    """data's header, then tpls' template sets, then data's sets."""
    body = b"".join(s for t in tpls for s in sets(t) if struct.unpack(">H", s[:2])[0] < 256)
    body += b"".join(sets(data))
    if data[:2] == b"\0\x09":
        n = struct.unpack(">H", data[2:4])[0] + 1
        return data[:2] + struct.pack(">H", min(n, 0xFFFF)) + data[4:20] + body
    if len(body) + 16 > 0xFFFF:
        return None
    return data[:2] + struct.pack(">H", len(body) + 16) + data[4:16] + body

def seed_datagram(d):
    t = flow_version(d)
    if t:
        put(t, d[4:] if t == "sflow" else d[2:])

def exporter(name):
    base = os.path.splitext(name)[0]
    for cut in ("_tpl", "_data", "-template", "-data", "_opttpl", "-options"):
        i = base.find(cut)
        if i > 0:
            base = base[:i]
    return base

groups = {}
for root in roots:
    flows = os.path.basename(root) == "flows"
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            if name.endswith(".dat"):
                with open(path, "rb") as f:
                    raw = f.read()
                put("flow_sniff", raw)
                dgs = messages(raw)
            elif name.endswith((".pcap", ".pcapng", ".cap")):
                pk = packets(path)
                for proto, sp, dp, pl in pk[:PER_FILE]:
                    put("peek", struct.pack(">HHH", sp, dp, len(pl)) + pl)
                if not flows:
                    continue
                dgs = [pl for proto, sp, dp, pl in pk if proto == 17 and flow_version(pl)]
                if len(dgs) > 1:
                    put("flow_sniff", b"".join(dgs[:8]))
            else:
                continue
            for d in dgs[:PER_FILE]:
                put("flow_sniff", d)
                seed_datagram(d)
            if flows:
                groups.setdefault((dirpath, exporter(name)), []).extend(dgs[:PER_FILE])

# Template sets merged into data datagrams of the same exporter (within one file or
# between the tpl/data files of one exporter), so one datagram reaches record decoding.
for dgs in groups.values():
    nf = [d for d in dgs if flow_version(d) in ("netflow9", "ipfix")]
    tpls = [d for d in nf if any(struct.unpack(">H", s[:2])[0] < 256 for s in sets(d))]
    if not tpls:
        continue
    for d in nf[:40]:
        for ver in ("netflow9", "ipfix"):
            same = [t for t in tpls if flow_version(t) == ver and t is not d]
            if flow_version(d) == ver and same:
                m = merged(same[:6], d)
                if m:
                    seed_datagram(m)
                    put("flow_sniff", m)

# sFlow samples whose raw packet header is of each header protocol 1-17 (most real exports
# carry Ethernet only), in front of one IPv4/UDP packet: the link walkers for MPLS, PPP,
# packet over SONET and frame relay, and the skip of the protocols that are not decoded.
def sflow_header(proto, header):
    padded = header + b"\0" * (-len(header) % 4)
    rec = struct.pack(">IIIIII", 1, 16 + len(padded), proto, len(header) + 4, 4, len(header)) + padded
    sample = struct.pack(">IIIIIIII", 1, 3, 10, 1000, 0, 3, 4, 1) + rec
    return (struct.pack(">IIIIIII", 5, 1, 0xC0000264, 0, 1, 1000, 1)
            + struct.pack(">II", 1, len(sample)) + sample)

udp4 = (bytes([0x45, 0, 0, 36, 0, 1, 0, 0, 64, 17, 0, 0, 10, 9, 0, 7, 192, 0, 2, 70])
        + bytes([0, 53, 0x82, 0x35, 0, 16, 0, 0]) + b"z" * 8)
heads = {
    1: [bytes(12) + b"\x08\x00", bytes(12) + b"\x88\x47\x00\x06\x41\x40"],
    5: [b"\x18\x41\x03\xcc", b"\x18\x41\x03\x00\x80\x00\x00\x00\x08\x00", b"\x18\x41\x08\x00"],
    7: [b"\xff\x03\x00\x21", b"\x21", b"\xff\x03\x02\x81\x00\x06\x41\x40"],
    11: [b""],
    12: [b""],
    13: [b"\x00\x06\x40\x40\x00\x06\x41\x40"],
    14: [b"\xff\x03\x00\x21", b"\x0f\x00\x08\x00"],
}
udp6 = (bytes([0x60, 0, 0, 0, 0, 16, 17, 64]) + bytes(15) + b"\x07" + bytes(15) + b"\x46"
        + bytes([0, 53, 0x82, 0x35, 0, 16, 0, 0]) + b"z" * 8)
for proto in range(1, 18):
    for head in heads.get(proto, [b"\xaa\xaa\x03\x00\x00\x00\x08\x00"]):
        d = sflow_header(proto, head + (udp6 if proto == 12 else udp4))
        seed_datagram(d)
        put("flow_sniff", d)
PY

# Text parsers: pieces of the shared access logs, and small reports in each format.
logs="$(dirname "$repo")/shared/data/logs"
[ -d "$logs" ] || logs=""
mkdir -p "$corpus"/{access_log,outage_reports,log_times}
PYTHONPATH="$here" python3 -B - "$corpus" ${logs:+"$logs"} <<'PY'
import os, sys

from seedlib import writer

corpus = sys.argv[1]

put = writer(corpus)

for root in sys.argv[2:]:
    for name in sorted(os.listdir(root)):
        with open(os.path.join(root, name), "rb") as f:
            lines = f.read(1 << 20).split(b"\n")
        for i in range(0, min(len(lines), 2000), 25):
            put("access_log", b"\n".join(lines[i:i + 25]))
        for line in lines[:200:10]:
            put("access_log", line)
            put("log_times", line.split(b"[")[-1].split(b"]")[0])

put("access_log", b'{"ts":1741615205,"status":503,"remote_addr":"192.0.2.1","method":"GET","path":"/"}\n')
put("outage_reports", b"timestamp,region,channel,problem\n2025-03-10T14:00:05Z,DE,app,login\n"
    b'2025-03-10T14:00:09Z,"US, East",website,"feed ""x"""\n1741615210,FR,,\n')
put("outage_reports", b"2025-03-10T14:00:05Z,DE,app,login\n")
put("outage_reports", b'[{"timestamp":"2025-03-10T14:00:05Z","region":"DE"},\n {"time":1741615206,"channel":"app"}]\n')
put("outage_reports", b'{"reported_at":"10/Mar/2025:14:00:05 +0000","country":"UA","problem":"login"}\n{"ts":1741615207.25}\n')
for t in (b"2025-03-10T14:00:05Z", b"2025-03-10T14:00:05.123456789+05:30", b"10/Mar/2025:14:00:05 -0700",
          b"[10/Mar/2025:14:00:05 +0000]", b"1741615205", b"1741615205.123", b"1741615205123"):
    put("log_times", t)
PY

# ASN tables: a few CSV rows, and the body of the table compiled from them (the asn_table
# target adds the magic and checksum itself), when floodtrace-geo-compile is built.
mkdir -p "$corpus"/{asn_csv,asn_table}
printf '%s\n' '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."' '1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd' \
    '2001:db8::,2001:db8::ffff,64496,"Doc ""AS"""' > "$corpus/asn_csv/rows"
compile="$repo/target/release/floodtrace-geo-compile"
if [ -x "$compile" ]; then
    table="$(mktemp)"
    "$compile" -o "$table" --name seed --version 1 "$corpus/asn_csv/rows" >/dev/null
    python3 - "$table" "$corpus/asn_table/rows" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b[8:-8])
PY
    rm -f "$table"
else
    echo "seed-corpus: $compile not built; asn_table starts empty" >&2
fi

# Claims and allow-lists: the documented forms.
mkdir -p "$corpus"/{claim,allow_list}
for c in origin=UA asn=AS64500 botnet=mirai spoofed=no cause=attack; do
    printf '%s' "$c" > "$corpus/claim/$c"
done
printf '%s\n' '# resolvers' '192.0.2.53' '198.51.100.0/24  # monitoring' '2001:db8::/32' \
    > "$corpus/allow_list/example"

for t in capture resume frame ipv4 ipv6 tcp_options netflow5 netflow9 ipfix sflow flow_sniff peek \
    access_log outage_reports log_times asn_csv asn_table claim allow_list; do
    echo "seed-corpus: $t: $(ls "$corpus/$t" | wc -l) inputs" >&2
done
