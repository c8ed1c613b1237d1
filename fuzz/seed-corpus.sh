#!/usr/bin/env bash
# Seed the fuzz corpora from the wire fixtures and the shared captures.
#
#   fuzz/seed-corpus.sh            (from anywhere; needs python3, standard library only)
#
# Writes fuzz/corpus/<target>/ (gitignored):
#   capture, resume   every fixture in crates/wire/tests/data, and the first 64 KiB of each
#                     capture under ../shared/data/pcap (next to this checkout)
#   frame             the frames of those captures, one file each
#   ipv4, ipv6        their IPv4 / IPv6 packets (link header stripped)
#   tcp_options       TCP data-offset byte + option area of their IPv4/IPv6 TCP segments
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

python3 - "$corpus" "$fixtures" ${shared:+"$shared"} <<'PY'
import hashlib, os, struct, sys

corpus, fixtures = sys.argv[1], sys.argv[2]
shared = sys.argv[3] if len(sys.argv) > 3 else None
HEAD = 64 * 1024          # bytes of each shared capture
PER_FILE = 200            # frames taken from each capture, at most

def put(target, data):
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)

def frames(buf):
    """(link type, frame) of each whole record of a pcap or pcapng prefix."""
    out = []
    if len(buf) < 24:
        return out
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        link = struct.unpack(e + "I", buf[20:24])[0] & 0xFFFF
        pos = 24
        while pos + 16 <= len(buf):
            caplen = struct.unpack(e + "I", buf[pos + 8:pos + 12])[0]
            if pos + 16 + caplen > len(buf):
                break
            out.append((link, buf[pos + 16:pos + 16 + caplen]))
            pos += 16 + caplen
    elif magic == b"\x0a\x0d\x0d\x0a":
        pos, e, links = 0, "<", []
        while pos + 12 <= len(buf):
            if buf[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
                e = "<" if buf[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                links = []
            btype, blen = struct.unpack(e + "II", buf[pos:pos + 8])
            if blen < 12 or pos + blen > len(buf):
                break
            body = buf[pos + 8:pos + blen - 4]
            if btype == 1 and len(body) >= 2:
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif btype in (2, 6) and len(body) >= 20:
                ifid = struct.unpack(e + ("I" if btype == 6 else "H"), body[:4 if btype == 6 else 2])[0]
                caplen = struct.unpack(e + "I", body[12:16])[0]
                if ifid < len(links):
                    out.append((links[ifid], body[20:20 + caplen]))
            elif btype == 3 and len(body) >= 4 and links:
                out.append((links[0], body[4:]))
            pos += blen
    return out

def network(link, f):
    """The IP packet of a frame, for the link types the ipv4/ipv6 targets care about."""
    if link == 1 and len(f) >= 14:
        et, at = struct.unpack(">H", f[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(f) >= at + 4:
            et, at = struct.unpack(">H", f[at + 2:at + 4])[0], at + 4
        return f[at:] if et in (0x0800, 0x86DD) else None
    if link in (12, 14, 101, 228, 229):
        return f
    if link in (0, 108) and len(f) > 4:
        return f[4:]
    if link == 113 and len(f) > 16:
        return f[16:]
    if link == 276 and len(f) > 20:
        return f[20:]
    return None

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

for t in capture resume frame ipv4 ipv6 tcp_options; do
    echo "seed-corpus: $t: $(ls "$corpus/$t" | wc -l) inputs" >&2
done
