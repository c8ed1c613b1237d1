#!/usr/bin/env python3
"""Generate the hand-built capture fixtures for floodtrace-wire and their ground truth.

Usage:  python3 scripts/make-fixtures.py

Writes, under crates/wire/tests/data/:
  * the capture fixtures (classic pcap, pcapng, and three deliberately damaged files),
  * expected.tsv  - one row per frame, columns described in README.md, cross-checked with tshark,
  * capinfos.tsv  - packet count per valid fixture according to `capinfos -c -M`,
  * README.md     - one line per fixture, plus column definitions.

Python 3 standard library only (no scapy). The output is deterministic: the same bytes are
written on every run (no clocks, no randomness). tshark and capinfos are REQUIRED: every
column of expected.tsv is computed twice, once from the model of what this script wrote and
once from tshark's dissection, and the script aborts loudly on any disagreement.
"""

import ipaddress
import os
import re
import shutil
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "wire", "tests", "data")

COLUMNS = ["file", "frame", "ts_ns", "wire_len", "cap_len", "src", "dst", "proto",
           "sport", "dport", "tcp_flags", "ttl", "fragment", "encap", "inner_proto"]

BASE = 1700000000  # 2023-11-14T22:13:20Z, all timestamps are BASE + small offsets

# TCP flag bits
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


# ----------------------------------------------------------------------------------------
# packet model
# ----------------------------------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_bytes(addr):
    return ipaddress.ip_address(addr).packed


def ip_text(addr):
    return str(ipaddress.ip_address(addr))  # tshark prints the same canonical forms


class L4:
    """A transport (or GRE/ICMP) payload whose bytes depend on the IP pseudo header."""

    def __init__(self, proto, make, sport="", dport="", flags="", hmin=0,
                 encap="none", inner_proto=""):
        self.proto = proto
        self.make = make  # make(src_bytes, dst_bytes) -> bytes
        self.sport, self.dport, self.flags, self.hmin = sport, dport, flags, hmin
        self.encap, self.inner_proto = encap, inner_proto


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def tcp_opts_syn(tsval, tsecr=0, mss=1460, ws=7):
    # Linux order: MSS, SACK_PERM, TS, NOP, WS (20 bytes)
    return (struct.pack("!BBH", 2, 4, mss) + b"\x04\x02" +
            struct.pack("!BBII", 8, 10, tsval, tsecr) + b"\x01" + struct.pack("!BBB", 3, 3, ws))


def tcp_opts_ts(tsval, tsecr):
    return b"\x01\x01" + struct.pack("!BBII", 8, 10, tsval, tsecr)


def tcp(sport, dport, flags, seq=0, ack=0, win=64240, opts=b"", payload=b"", urp=0):
    assert len(opts) % 4 == 0

    def make(s, d):
        off = (20 + len(opts)) // 4
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0, urp) + opts
        seg = hdr + payload
        c = csum(pseudo(s, d, 6, len(seg)) + seg)
        return seg[:16] + struct.pack("!H", c) + seg[18:]
    # Ports and flags are reported once the flags byte (13) is captured.
    return L4(6, make, str(sport), str(dport), "%02x" % flags, 14)


def udp(sport, dport, payload):
    def make(s, d):
        ln = 8 + len(payload)
        seg = struct.pack("!HHHH", sport, dport, ln, 0) + payload
        c = csum(pseudo(s, d, 17, ln) + seg) or 0xFFFF
        return seg[:6] + struct.pack("!H", c) + seg[8:]
    return L4(17, make, str(sport), str(dport), "", 8)


def icmp(typ, code, rest, payload):
    def make(s, d):
        msg = struct.pack("!BBH", typ, code, 0) + rest + payload
        return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
    return L4(1, make)


def icmp_echo(ident, seq, payload, reply=False):
    return icmp(0 if reply else 8, 0, struct.pack("!HH", ident, seq), payload)


def icmp_unreach(quoted, code=3):
    """ICMP destination unreachable quoting an inner IP packet (header + 8 bytes)."""
    ihl = (quoted.data[0] & 0x0F) * 4
    return icmp(3, code, b"\0\0\0\0", quoted.data[:ihl + 8])


def icmp6(typ, code, body):
    def make(s, d):
        msg = struct.pack("!BBH", typ, code, 0) + body
        c = csum(pseudo(s, d, 58, len(msg)) + msg)
        return msg[:2] + struct.pack("!H", c) + msg[4:]
    return L4(58, make)


def icmp6_echo(ident, seq, payload, reply=False):
    return icmp6(129 if reply else 128, 0, struct.pack("!HH", ident, seq) + payload)


def gre(inner, ptype, csum_on=False, key=None, seq=None):
    """GRE (RFC 2784/2890) carrying `inner` (a Pkt for 0x0800/0x86DD or a Frame for 0x6558)."""
    def make(s, d):
        flags = (0x8000 if csum_on else 0) | (0x2000 if key is not None else 0) | \
                (0x1000 if seq is not None else 0)
        hdr = struct.pack("!HH", flags, ptype)
        if csum_on:
            hdr += b"\0\0\0\0"
        if key is not None:
            hdr += struct.pack("!I", key)
        if seq is not None:
            hdr += struct.pack("!I", seq)
        msg = hdr + inner.data
        if csum_on:
            msg = msg[:4] + struct.pack("!H", csum(msg)) + msg[6:]
        return msg
    return L4(47, make, encap="gre", inner_proto=str(inner.meta["proto"]))


class Pkt:
    """A network-layer packet (or a complete link-layer frame) plus the truth about it."""

    def __init__(self, data, meta, ethertype=None):
        self.data, self.meta, self.ethertype = data, meta, ethertype


def empty_meta():
    return dict(src="", dst="", proto="", sport="", dport="", tcp_flags="", ttl="",
                fragment="none", encap="none", inner_proto="", l4off=None, hmin=0)


def l4_meta(meta, l4, l4off, fragment):
    meta.update(proto=str(l4.proto), fragment=fragment, l4off=l4off, encap=l4.encap,
                inner_proto=l4.inner_proto)
    if fragment != "later":
        meta.update(sport=l4.sport, dport=l4.dport, tcp_flags=l4.flags, hmin=l4.hmin)
    else:
        meta.update(l4off=None)
    return meta


def ipv4(src, dst, l4, ttl=64, ident=0x1234, df=False, opts=b"", frag=None, tos=0):
    """frag = (offset_in_bytes, length or None, more_fragments) slices the L4 bytes."""
    s, d = ip_bytes(src), ip_bytes(dst)
    body = l4.make(s, d)
    flags_off, fragment = (0x4000 if df else 0), "none"
    if frag is not None:
        off, ln, mf = frag
        assert off % 8 == 0
        body = body[off:off + ln] if ln is not None else body[off:]
        flags_off = (0x2000 if mf else 0) | (off // 8)
        fragment = "later" if off else ("first" if mf else "none")
    assert len(opts) % 4 == 0
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(body), ident, flags_off,
                      ttl, l4.proto, 0, s, d) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    meta = empty_meta()
    meta.update(src=ip_text(src), dst=ip_text(dst), ttl=str(ttl))
    return Pkt(hdr + body, l4_meta(meta, l4, ihl * 4, fragment), 0x0800)


def ext_opts(nxt, opts):
    """Hop-by-hop / destination options header with the given TLV options, padded to 8n."""
    body = opts
    pad = (-(2 + len(body))) % 8
    if pad == 1:
        body += b"\x00"
    elif pad:
        body += bytes([1, pad - 2]) + b"\0" * (pad - 2)
    return bytes([nxt, (2 + len(body)) // 8 - 1]) + body


def ipv6(src, dst, l4, hlim=64, ext=(), flow=0, tc=0):
    """ext: sequence of ('hbh', opts) ('dst', opts) ('srh', [segments]) ('frag', off, len, m, id).

    The final upper-layer protocol (the `proto` column) is l4.proto; a fragment header's
    next-header field also carries l4.proto."""
    s, d = ip_bytes(src), ip_bytes(dst)
    body = l4.make(s, d)
    fragment = "none"
    kinds = {"hbh": 0, "dst": 60, "srh": 43, "frag": 44}
    chain = b""
    for i, e in enumerate(ext):
        nxt = kinds[ext[i + 1][0]] if i + 1 < len(ext) else l4.proto
        if e[0] in ("hbh", "dst"):
            chain += ext_opts(nxt, e[1])
        elif e[0] == "srh":
            segs = b"".join(ip_bytes(a) for a in e[1])
            # next, hdr ext len, type 4, segments left 0, last entry, flags, tag
            chain += struct.pack("!BBBBBBH", nxt, len(segs) // 8, 4, 0, len(e[1]) - 1, 0, 0) + segs
        elif e[0] == "frag":
            _, off, ln, m, ident = e
            assert off % 8 == 0
            body = body[off:off + ln] if ln is not None else body[off:]
            chain += struct.pack("!BBHI", nxt, 0, off | (1 if m else 0), ident)
            fragment = "later" if off else ("first" if m else "none")
    first = kinds[ext[0][0]] if ext else l4.proto
    hdr = struct.pack("!IHBB16s16s", (6 << 28) | (tc << 20) | flow, len(chain) + len(body),
                      first, hlim, s, d)
    meta = empty_meta()
    meta.update(src=ip_text(src), dst=ip_text(dst), ttl=str(hlim))
    return Pkt(hdr + chain + body, l4_meta(meta, l4, 40 + len(chain), fragment), 0x86DD)


def arp(op, sha, spa, tha, tpa):
    data = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, ip_bytes(spa), tha,
                       ip_bytes(tpa))
    return Pkt(data, empty_meta(), 0x0806)


def wrap(pkt, header):
    meta = dict(pkt.meta)
    if meta["l4off"] is not None:
        meta["l4off"] += len(header)
    return Pkt(header + pkt.data, meta, None)


MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
MAC_GW = bytes.fromhex("02000000fffe")
BCAST = b"\xff" * 6


def ether(pkt, dst=MAC_B, src=MAC_A, vlans=()):
    """vlans: sequence of (tpid, tci), outermost first."""
    hdr = dst + src
    for tpid, tci in vlans:
        hdr += struct.pack("!HH", tpid, tci)
    return wrap(pkt, hdr + struct.pack("!H", pkt.ethertype))


def sll(pkt, pkttype=0, addr=MAC_A):
    return wrap(pkt, struct.pack("!HHH8sH", pkttype, 1, len(addr), addr, pkt.ethertype))


def sll2(pkt, pkttype=0, ifindex=2, addr=MAC_A):
    # protocol, reserved(MBZ), interface index, ARPHRD type, packet type, addr len, addr[8]
    return wrap(pkt, struct.pack("!HHIHBB8s", pkt.ethertype, 0, ifindex, 1, pkttype, len(addr),
                                 addr))


def null(pkt, family, order):
    return wrap(pkt, struct.pack(order + "I", family))


def raw(pkt):
    return wrap(pkt, b"")


# ----------------------------------------------------------------------------------------
# addresses and a few canned packets
# ----------------------------------------------------------------------------------------

CLI4, SRV4, ATK4, VIC4 = "198.51.100.10", "203.0.113.5", "192.0.2.66", "203.0.113.80"
CLI6, SRV6, ATK6 = "2001:db8::10", "2001:db8:1::5", "2001:db8:bad::66"
HTTP_GET = b"GET / HTTP/1.1\r\nHost: victim.example\r\n\r\n"
JUNK = bytes(range(48, 48 + 64))  # '0'..'o', plain ASCII payload
UDP_SPORT, UDP_DPORT = 33333, 44444  # no tshark dissector registered on these ports


def syn4(sport=40001, ttl=64, flags=SYN, src=CLI4, dst=SRV4, **kw):
    return ipv4(src, dst, tcp(sport, 80, flags, seq=0x1000, opts=tcp_opts_syn(1111)), ttl=ttl,
                df=True, **kw)


def syn6(sport=40006, hlim=64, src=CLI6, dst=SRV6, flags=SYN):
    return ipv6(src, dst, tcp(sport, 80, flags, seq=0x6000, opts=tcp_opts_syn(6666)), hlim=hlim)


def udp4(n=0, src=ATK4, dst=VIC4, ttl=50, payload=JUNK):
    return ipv4(src, dst, udp(UDP_SPORT + n, UDP_DPORT, payload), ttl=ttl, ident=0x2000 + n)


def udp6(n=0, src=ATK6, dst=SRV6, hlim=50, payload=JUNK):
    return ipv6(src, dst, udp(UDP_SPORT + n, UDP_DPORT, payload), hlim=hlim)


def echo4(n=0, reply=False):
    a, b = (SRV4, CLI4) if reply else (CLI4, SRV4)
    return ipv4(a, b, icmp_echo(0x77, n, JUNK[:32], reply), ttl=63 if reply else 64,
                ident=0x3000 + n)


def echo6(n=0, reply=False):
    a, b = (SRV6, CLI6) if reply else (CLI6, SRV6)
    return ipv6(a, b, icmp6_echo(0x66, n, JUNK[:32], reply), hlim=255)


# ----------------------------------------------------------------------------------------
# file writers.  A "record" is (ts, pkt, caplen_or_None); ts = (sec, nsec) or None (SPB).
# Every writer returns the list of truth rows for the frames it wrote.
# ----------------------------------------------------------------------------------------

def truth_row(ts, pkt, caplen):
    m = dict(pkt.meta)
    wire = len(pkt.data)
    if m["l4off"] is not None:
        assert caplen >= m["l4off"], "fixtures never cut inside the IP header"
        if caplen < m["l4off"] + m["hmin"]:
            m.update(sport="", dport="", tcp_flags="")  # transport fixed header not captured
    ts_ns = "" if ts is None else str(ts[0] * 10**9 + ts[1])
    return dict(ts_ns=ts_ns, wire_len=str(wire), cap_len=str(caplen), src=m["src"],
                dst=m["dst"], proto=m["proto"], sport=m["sport"], dport=m["dport"],
                tcp_flags=m["tcp_flags"], ttl=m["ttl"], fragment=m["fragment"],
                encap=m["encap"], inner_proto=m["inner_proto"])


def pcap(records, linktype, order="<", nsec=False, snaplen=65535):
    """Classic libpcap file; records are (ts, pkt). caplen = min(len, snaplen)."""
    out = struct.pack(order + "IHHiIII", 0xA1B23C4D if nsec else 0xA1B2C3D4, 2, 4, 0, 0, snaplen,
                      linktype)
    rows = []
    for ts, pkt in records:
        sec, ns = ts
        if not nsec:
            assert ns % 1000 == 0, "usec file needs whole microseconds"
        caplen = min(len(pkt.data), snaplen)
        out += struct.pack(order + "IIII", sec, ns if nsec else ns // 1000, caplen, len(pkt.data))
        out += pkt.data[:caplen]
        rows.append(truth_row(ts, pkt, caplen))
    return out, rows


def pad4(b):
    return b + b"\0" * ((-len(b)) % 4)


class PcapNG:
    """Minimal pcapng section writer; `order` is '<' or '>' for the whole section."""

    def __init__(self):
        self.out = b""
        self.rows = []

    def block(self, btype, body):
        o = self.order
        body = pad4(body)
        tot = 12 + len(body)
        self.out += struct.pack(o + "II", btype, tot) + body + struct.pack(o + "I", tot)

    def opts(self, lst):
        o = self.order
        b = b""
        for code, val in lst:
            b += struct.pack(o + "HH", code, len(val)) + pad4(val)
        if lst:
            b += struct.pack(o + "HH", 0, 0)
        return b

    def shb(self, order, appl=b"floodtrace make-fixtures.py"):
        self.order = order
        self.ifaces = []  # (linktype, snaplen, units_per_second, kind)
        self.block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1) +
                   self.opts([(4, appl)]))

    def idb(self, linktype, snaplen, name, tsresol=None):
        o = self.order
        opts = [(2, name)]
        if tsresol is None:
            units = 10**6
        else:
            opts.append((9, bytes([tsresol])))
            units = 2 ** (tsresol & 0x7F) if tsresol & 0x80 else 10 ** tsresol
        self.ifaces.append((linktype, snaplen, units))
        self.block(1, struct.pack(o + "HHI", linktype, 0, snaplen) + self.opts(opts))

    def ts_units(self, ifid, ts):
        sec, ns = ts
        units = self.ifaces[ifid][2]
        frac = ns * units // 10**9
        assert frac * 10**9 == ns * units, "timestamp not exactly representable: %r" % (ts,)
        return sec * units + frac

    def epb(self, ifid, ts, pkt, opts=(), caplen=None):
        o = self.order
        caplen = min(len(pkt.data), self.ifaces[ifid][1] or 1 << 30, caplen or 1 << 30)
        t = self.ts_units(ifid, ts)
        self.block(6, struct.pack(o + "IIIII", ifid, t >> 32, t & 0xFFFFFFFF, caplen,
                                  len(pkt.data)) + pad4(pkt.data[:caplen]) + self.opts(list(opts)))
        self.rows.append(truth_row(ts, pkt, caplen))

    def spb(self, pkt):
        o = self.order
        caplen = min(len(pkt.data), self.ifaces[0][1] or 1 << 30)
        self.block(3, struct.pack(o + "I", len(pkt.data)) + pad4(pkt.data[:caplen]))
        self.rows.append(truth_row(None, pkt, caplen))

    def pb(self, ifid, ts, pkt, drops=0, opts=()):
        """Obsolete Packet Block (block type 2)."""
        o = self.order
        caplen = len(pkt.data)
        t = self.ts_units(ifid, ts)
        self.block(2, struct.pack(o + "HHIIII", ifid, drops, t >> 32, t & 0xFFFFFFFF, caplen,
                                  len(pkt.data)) + pad4(pkt.data) + self.opts(list(opts)))
        self.rows.append(truth_row(ts, pkt, caplen))

    def nrb(self, entries):
        o = self.order
        b = b""
        for addr, name in entries:
            a = ip_bytes(addr)
            val = a + name + b"\0"
            b += struct.pack(o + "HH", 1 if len(a) == 4 else 2, len(val)) + pad4(val)
        b += struct.pack(o + "HH", 0, 0)
        self.block(4, b)

    def isb(self, ifid, ts, start, recv, drop):
        o = self.order
        t, s = self.ts_units(ifid, ts), self.ts_units(ifid, start)
        tsv = lambda v: struct.pack(o + "II", v >> 32, v & 0xFFFFFFFF)
        self.block(5, struct.pack(o + "III", ifid, t >> 32, t & 0xFFFFFFFF) + self.opts([
            (2, tsv(s)), (3, tsv(t)), (4, struct.pack(o + "Q", recv)),
            (5, struct.pack(o + "Q", drop))]))

    def unknown(self, btype, body):
        self.block(btype, body)


# NB: 0x00000BAD / 0x40000BAD are the pcapng *Custom Block* types (tshark 4 shows them as
# records); a block type that no specification assigns is used for the "unknown block".
UNKNOWN_BLOCK = 0x0000F00D


def T(sec_off, ns):
    return (BASE + sec_off, ns)


# ----------------------------------------------------------------------------------------
# the fixtures
# ----------------------------------------------------------------------------------------

def f_le_usec_ether():
    E = ether
    conn = [  # a TCP handshake, data, teardown between CLI4 and SRV4
        E(syn4()),
        E(ipv4(SRV4, CLI4, tcp(80, 40001, SYN | ACK, seq=0x9000, ack=0x1001, win=65160,
                                opts=tcp_opts_syn(2222, 1111, ws=9)), ttl=57, df=True), MAC_A, MAC_B),
        E(ipv4(CLI4, SRV4, tcp(40001, 80, ACK, seq=0x1001, ack=0x9001, win=502,
                                opts=tcp_opts_ts(1112, 2222)), df=True)),
        E(ipv4(CLI4, SRV4, tcp(40001, 80, PSH | ACK, seq=0x1001, ack=0x9001, win=502,
                                opts=tcp_opts_ts(1113, 2222), payload=HTTP_GET), df=True)),
        E(ipv4(SRV4, CLI4, tcp(80, 40001, FIN | ACK, seq=0x9001, ack=0x1001 + len(HTTP_GET),
                                win=509), ttl=57, df=True), MAC_A, MAC_B),
        E(ipv4(ATK4, SRV4, tcp(6666, 80, RST, seq=0xDEAD, win=0), ttl=243)),
    ]
    big_tcp = tcp(40002, 80, ACK, seq=0x2000, ack=0x3000, win=502, payload=JUNK + JUNK[:36])
    big_udp = udp(UDP_SPORT, UDP_DPORT, JUNK * 3)  # 8 + 192 = 200 bytes
    hbh = b"\x05\x02\x00\x00"  # router alert (MLD)
    pkts = conn + [
        E(udp4()),
        E(echo4(1)),
        E(ipv4(SRV4, ATK4, icmp_unreach(udp4(7, src=ATK4, dst=SRV4)), ttl=64), MAC_A, MAC_B),
        # IPv4 options: router alert (4 bytes) + NOP NOP NOP EOL -> IHL 7
        E(ipv4(CLI4, "224.0.0.22", udp(UDP_SPORT, UDP_DPORT, b"ip-options"), ttl=1,
               opts=b"\x94\x04\x00\x00\x01\x01\x01\x00")),
        # IPv4 TCP in two fragments (first carries the full TCP header)
        E(ipv4(CLI4, SRV4, big_tcp, ident=0xF001, frag=(0, 64, True))),
        E(ipv4(CLI4, SRV4, big_tcp, ident=0xF001, frag=(64, None, False))),
        # IPv4 UDP in three fragments: first, middle (MF set, offset>0), last
        E(ipv4(ATK4, VIC4, big_udp, ttl=50, ident=0xF002, frag=(0, 80, True))),
        E(ipv4(ATK4, VIC4, big_udp, ttl=50, ident=0xF002, frag=(80, 80, True))),
        E(ipv4(ATK4, VIC4, big_udp, ttl=50, ident=0xF002, frag=(160, None, False))),
        E(syn6()),
        # IPv6 hop-by-hop + destination options + fragment header; first and later fragment
        E(ipv6(ATK6, SRV6, big_udp, hlim=60,
               ext=[("hbh", hbh), ("dst", b""), ("frag", 0, 104, True, 0xABCDEF01)])),
        E(ipv6(ATK6, SRV6, big_udp, hlim=60,
               ext=[("hbh", hbh), ("dst", b""), ("frag", 104, None, False, 0xABCDEF01)])),
        # hop-by-hop + routing (SRH, segments left 0) + destination options + TCP
        E(ipv6(CLI6, SRV6, tcp(40007, 80, SYN, seq=0x7000, opts=tcp_opts_syn(7777)), hlim=64,
               ext=[("hbh", b""), ("srh", ["2001:db8:5::1"]), ("dst", b"")])),
        E(echo6(1)),
        E(echo6(1, reply=True), MAC_A, MAC_B),
        E(arp(1, MAC_A, CLI4, b"\0" * 6, "198.51.100.1"), BCAST),
    ]
    recs = [(T(i, (100000 + i * 111111) % 1000000 * 1000), p) for i, p in enumerate(pkts)]
    return pcap(recs, 1, "<")


def f_be_nsec_ether():
    E = ether
    pkts = [
        E(syn4(sport=41000, flags=SYN | ECE | CWR)),
        E(ipv4(SRV4, CLI4, tcp(80, 41000, SYN | ACK | ECE, seq=5, ack=1, win=65160,
                                opts=tcp_opts_syn(9, 8)), ttl=57), MAC_A, MAC_B),
        E(ipv4(CLI4, SRV4, tcp(41000, 80, URG | ACK | PSH, seq=1, ack=6, win=502, urp=1,
                                payload=b"!"), df=True)),
        E(udp4(1)),
        E(echo4(2, reply=True), MAC_A, MAC_B),
        E(udp6(2)),
        E(syn6(sport=41006, flags=SYN)),
        E(echo6(3)),
    ]
    ns = [123456789, 987654321, 1, 999999999, 500000000, 42, 100000007, 3]
    recs = [(T(10 + i, ns[i]), p) for i, p in enumerate(pkts)]
    return pcap(recs, 1, ">", nsec=True)


def f_snaplen_cut():
    E = ether
    pkts = [
        E(syn4(sport=42000)),  # 74 bytes; fixed TCP header captured, options cut
        E(ipv4(CLI4, SRV4, tcp(42000, 80, PSH | ACK, seq=1, ack=1, payload=JUNK * 3))),
        # IPv4 with 8 bytes of options: only 12 bytes of TCP header captured
        E(ipv4(CLI4, SRV4, tcp(42001, 80, SYN, seq=7), opts=b"\x94\x04\x00\x00\x01\x01\x01\x00")),
        E(syn6(sport=42006)),  # 14 + 40 = 54: no TCP byte captured
        E(udp4(3, payload=JUNK * 4)),
        E(udp6(4)),  # no UDP byte captured
        # IPv4 with 16 bytes of options: 4 bytes of UDP captured
        E(ipv4(ATK4, VIC4, udp(UDP_SPORT, UDP_DPORT, JUNK), ttl=50,
               opts=b"\x94\x04\x00\x00" + b"\x07\x0b\x04" + b"\0" * 8 + b"\x00")),  # RA + RR
        E(echo4(4)),
        E(arp(1, MAC_A, CLI4, b"\0" * 6, "198.51.100.1"), BCAST),  # 42 bytes, not cut
        E(ipv4(CLI4, SRV4, tcp(42000, 80, ACK, seq=1, ack=1))),  # exactly 54, not cut
    ]
    recs = [(T(20 + i, 250000000 + i * 1000), p) for i, p in enumerate(pkts)]
    return pcap(recs, 1, "<", snaplen=54)


def f_vlan_qinq():
    E = ether
    pkts = [
        E(syn4(sport=43000), vlans=[(0x8100, 100)]),
        E(udp6(5), vlans=[(0x8100, 200)]),
        E(udp4(6), vlans=[(0x88A8, 10), (0x8100, 20)]),  # 802.1ad QinQ
        E(echo4(5), vlans=[(0x8100, 30), (0x8100, 40)]),  # legacy double 802.1Q
        E(arp(1, MAC_A, CLI4, b"\0" * 6, "198.51.100.1"), BCAST, vlans=[(0x8100, 100)]),
        E(ipv4(ATK4, SRV4, tcp(6667, 80, RST | ACK, seq=1, ack=1, win=0), ttl=240),
          vlans=[(0x8100, (5 << 13) | 4094)]),  # PCP 5, VID 4094
        E(syn6(sport=43006), vlans=[(0x88A8, 11), (0x8100, 21)]),
    ]
    recs = [(T(30 + i, i * 1000), p) for i, p in enumerate(pkts)]
    return pcap(recs, 1, "<")


def common_l3():
    return [syn4(sport=44000), udp6(6), echo4(6),
            ipv4(ATK4, VIC4, udp(UDP_SPORT, UDP_DPORT, JUNK * 3), ttl=50, ident=0xF003,
                 frag=(0, 96, True)),
            echo6(6)]


def f_sll():
    pkts = [sll(p, pkttype=(0 if i % 2 == 0 else 4)) for i, p in enumerate(common_l3())]
    pkts.append(sll(arp(2, MAC_B, SRV4, MAC_A, CLI4), pkttype=1))
    recs = [(T(40 + i, 111000 * (i + 1)), p) for i, p in enumerate(pkts)]
    return pcap(recs, 113, "<")


def f_sll2():
    pkts = [sll2(p, pkttype=(0 if i % 2 == 0 else 4), ifindex=3 + i)
            for i, p in enumerate(common_l3())]
    pkts.append(sll2(arp(2, MAC_B, SRV4, MAC_A, CLI4), pkttype=1))
    recs = [(T(50 + i, 222000 * (i + 1)), p) for i, p in enumerate(pkts)]
    return pcap(recs, 276, "<")


def f_raw_ip():
    pkts = [raw(syn4(sport=45000)), raw(udp6(7)), raw(echo4(7)), raw(echo6(7)),
            raw(ipv4(CLI4, SRV4, tcp(45000, 80, ACK, seq=1, ack=1), df=True))]
    recs = [(T(60 + i, 1000 * (i + 1)), p) for i, p in enumerate(pkts)]
    return pcap(recs, 101, "<")


def f_raw_ipv4():
    big = udp(UDP_SPORT, UDP_DPORT, JUNK * 2)
    pkts = [raw(syn4(sport=46000)), raw(udp4(8)), raw(echo4(8)),
            raw(ipv4(ATK4, VIC4, big, ttl=50, ident=0xF004, frag=(0, 64, True))),
            raw(ipv4(ATK4, VIC4, big, ttl=50, ident=0xF004, frag=(64, None, False)))]
    recs = [(T(70 + i, 1000 * (i + 1)), p) for i, p in enumerate(pkts)]
    return pcap(recs, 228, "<")


def f_raw_ipv6():
    big = udp(UDP_SPORT, UDP_DPORT, JUNK * 2)
    pkts = [raw(syn6(sport=47006)), raw(udp6(8)), raw(echo6(8)),
            raw(ipv6(ATK6, SRV6, big, hlim=60, ext=[("hbh", b""), ("frag", 0, 64, True, 77)])),
            raw(ipv6(ATK6, SRV6, big, hlim=60, ext=[("frag", 64, None, False, 77)]))]
    recs = [(T(80 + i, 1000 * (i + 1)), p) for i, p in enumerate(pkts)]
    return pcap(recs, 229, "<")


def null_pkts(order):
    return [null(syn4(sport=48000), 2, order), null(syn6(sport=48024), 24, order),
            null(udp6(9), 28, order), null(echo6(9), 30, order), null(udp4(9), 2, order)]


def f_null_le():
    recs = [(T(90 + i, 1000 * (i + 1)), p) for i, p in enumerate(null_pkts("<"))]
    return pcap(recs, 0, "<")


def f_null_be():
    recs = [(T(95 + i, 1000 * (i + 1)), p) for i, p in enumerate(null_pkts(">"))]
    return pcap(recs, 0, ">")


def f_loop_be():
    # LINKTYPE_LOOP: family word is always big-endian, even in a little-endian file.
    recs = [(T(100 + i, 1000 * (i + 1)), p) for i, p in enumerate(null_pkts(">"))]
    return pcap(recs, 108, "<")


def f_gre():
    E = ether
    inner_udp = udp4(10, src="10.0.0.1", dst="10.0.0.2", ttl=64)
    inner_icmp = ipv4("10.0.0.2", "10.0.0.1", icmp_echo(5, 5, JUNK[:16]), ttl=64)
    inner_eth = ether(syn4(sport=49000, src="172.16.0.1", dst="172.16.0.2"),
                      bytes.fromhex("0200000000aa"), bytes.fromhex("0200000000bb"))
    inner_eth_udp = ether(udp4(11, src="172.16.0.3", dst="172.16.0.4"),
                          bytes.fromhex("0200000000aa"), bytes.fromhex("0200000000bb"))
    inner6 = udp6(12, src="2001:db8:77::1", dst="2001:db8:77::2")
    G1, G2 = "192.0.2.1", "192.0.2.2"
    pkts = [
        E(ipv4(G1, G2, gre(inner_udp, 0x0800), ttl=255)),
        E(ipv4(G2, G1, gre(inner_icmp, 0x0800, csum_on=True, key=0x1000, seq=1), ttl=254)),
        E(ipv4(G1, G2, gre(inner_udp, 0x0800, csum_on=True, key=0xCAFE, seq=2), ttl=255)),
        E(ipv4(G1, G2, gre(inner_eth, 0x6558), ttl=253)),
        E(ipv4(G1, G2, gre(inner_eth_udp, 0x6558, key=42), ttl=253)),
        E(ipv4(G1, G2, gre(inner6, 0x86DD, seq=9), ttl=252)),
    ]
    recs = [(T(110 + i, 1000 * (i + 1)), p) for i, p in enumerate(pkts)]
    return pcap(recs, 1, "<")


def f_pcapng_multi_if():
    w = PcapNG()
    w.shb("<")
    w.idb(1, 262144, b"eth0")                    # if 0: Ethernet, default 10^-6
    w.idb(101, 65535, b"tun0", tsresol=9)        # if 1: raw IP, 10^-9
    w.idb(113, 96, b"any", tsresol=0x80 | 20)    # if 2: Linux SLL, 2^-20, snaplen 96
    w.nrb([(SRV4, b"victim.example"), (SRV6, b"victim6.example")])
    w.epb(0, T(200, 123456000), ether(syn4(sport=50000)),
          opts=[(1, b"first packet, comment option"), (2, struct.pack("<I", 1))])
    w.epb(1, T(200, 123456789), raw(udp4(13)))
    # 2^-20 resolution: fraction m*2048 units = m*1953125 ns exactly
    w.epb(2, T(200, 37 * 1953125), sll(syn6(sport=50006)))
    w.unknown(UNKNOWN_BLOCK, b"floodtrace: unknown block, must be skipped\0\0")
    w.spb(ether(udp4(14)))  # SPB: interface 0, no timestamp
    w.pb(1, T(201, 5), raw(echo6(10)), drops=3, opts=[(1, b"obsolete packet block")])
    # SLL interface with snaplen 96: this one is cut
    w.epb(2, T(201, 511 * 1953125), sll(udp4(15, payload=JUNK * 2), pkttype=4))
    w.epb(0, T(201, 999999000), ether(echo4(10)), opts=[(1, b"x")])
    w.epb(1, T(202, 1), raw(ipv6(ATK6, SRV6, udp(UDP_SPORT, UDP_DPORT, JUNK * 2), hlim=60,
                                 ext=[("hbh", b""), ("frag", 64, None, False, 99)])))
    w.isb(0, T(203, 0), T(200, 0), 4, 0)
    w.isb(2, T(203, 0), T(200, 0), 2, 0)
    # second section: fresh interface table, interface 0 is now raw IPv4 (228) in ms units
    w.shb("<", appl=b"floodtrace section 2")
    w.idb(228, 65535, b"ipv4only", tsresol=3)
    w.idb(1, 65535, b"eth1", tsresol=6)
    w.epb(0, T(210, 7000000), raw(syn4(sport=50100)))
    w.epb(1, T(210, 8000), ether(arp(1, MAC_A, CLI4, b"\0" * 6, "198.51.100.1"), BCAST))
    w.epb(0, T(211, 999000000), raw(echo4(11)))
    return w.out, w.rows


def f_pcapng_be():
    w = PcapNG()
    w.shb(">")
    w.idb(1, 64, b"em0", tsresol=9)  # snaplen 64
    w.epb(0, T(300, 111111111), ether(syn4(sport=51000)), opts=[(1, b"big-endian section")])
    w.epb(0, T(300, 222222222), ether(syn6(sport=51006)))  # 94 bytes, cut to 64
    w.spb(ether(udp4(16)))  # 106 bytes original, SPB carries snaplen (64) bytes
    w.unknown(UNKNOWN_BLOCK, b"skip me!")
    w.epb(0, T(301, 3), ether(echo4(12)))
    w.isb(0, T(302, 0), T(300, 0), 4, 1)
    return w.out, w.rows


def truncate_and_break():
    """Damaged files derived from a valid 6-record pcap."""
    pkts = [ether(syn4(sport=52000 + i)) for i in range(6)]
    recs = [(T(400 + i, 1000 * i), p) for i, p in enumerate(pkts)]
    good, _ = pcap(recs, 1, "<")
    # record i starts at 24 + i * (16 + 74)
    rec_len = 16 + len(pkts[0].data)
    fifth = 24 + 4 * rec_len
    truncated = good[:fifth + 16 + 30]  # header of record 5 plus 30 of its 74 data bytes
    fourth = 24 + 3 * rec_len
    bad = bytearray(good)
    bad[fourth + 8:fourth + 12] = struct.pack("<I", 0x7FFFFFFF)
    return truncated, bytes(bad)


NOT_A_CAPTURE = (b"This is not a packet capture.\n"
                 b"floodtrace test fixture: plain text, no pcap or pcapng magic.\n")

FIXTURES = [  # (file name, builder, one-line description)
    ("pcap_le_usec_ether.pcap", f_le_usec_ether,
     "little-endian pcap, microseconds, Ethernet: TCP handshake (SYN options MSS/SACK_PERM/TS/"
     "NOP/WS), PSH/FIN/RST, UDP, ICMP echo, ICMP unreachable quoting IP/UDP, IPv4 options, "
     "IPv4 TCP fragments (first+later), IPv4 UDP fragments (first+middle+last), IPv6 TCP, IPv6 "
     "hop-by-hop+dstopts+fragment (first+later), IPv6 hop-by-hop+SRH routing+dstopts+TCP, "
     "ICMPv6 echo, ARP"),
    ("pcap_be_nsec_ether.pcap", f_be_nsec_ether,
     "big-endian pcap with nanosecond magic 0xa1b23c4d, nanosecond digits in every timestamp; "
     "SYN with ECE+CWR, URG/PSH/ACK, UDP, ICMP, IPv6 UDP/TCP/ICMPv6"),
    ("pcap_snaplen_cut.pcap", f_snaplen_cut,
     "snaplen 54: caplen < wire length; TCP options cut, TCP fixed header cut at 12 bytes, IPv6 "
     "with 0 TCP/UDP bytes, UDP header cut at 4 bytes, payload cuts, plus uncut 42/54-byte frames"),
    ("pcap_vlan_qinq.pcap", f_vlan_qinq,
     "802.1Q (IPv4, IPv6, ARP, PCP bits), QinQ 0x88a8+0x8100 (IPv4, IPv6), double 0x8100"),
    ("pcap_sll.pcap", f_sll,
     "Linux cooked v1 (linktype 113): IPv4 TCP, IPv6 UDP, ICMP, IPv4 first fragment, ICMPv6, ARP"),
    ("pcap_sll2.pcap", f_sll2,
     "Linux cooked v2 (linktype 276): same packets as pcap_sll.pcap"),
    ("pcap_raw_ip.pcap", f_raw_ip,
     "LINKTYPE_RAW (101), IPv4 and IPv6 told apart by the version nibble"),
    ("pcap_raw_ipv4.pcap", f_raw_ipv4,
     "LINKTYPE_IPV4 (228): TCP, UDP, ICMP, UDP fragments first+later"),
    ("pcap_raw_ipv6.pcap", f_raw_ipv6,
     "LINKTYPE_IPV6 (229): TCP, UDP, ICMPv6, fragment header first (after hop-by-hop) + later"),
    ("pcap_null_le.pcap", f_null_le,
     "LINKTYPE_NULL (0), little-endian file, little-endian family words 2/24/28/30"),
    ("pcap_null_be.pcap", f_null_be,
     "LINKTYPE_NULL (0), big-endian file, big-endian family words 2/24/28/30"),
    ("pcap_loop_be.pcap", f_loop_be,
     "LINKTYPE_LOOP (108) in a little-endian file; family words always big-endian 2/24/28/30"),
    ("gre_ip_and_eth.pcap", f_gre,
     "GRE over IPv4: plain 0x0800/UDP, C+K+S 0x0800/ICMP and /UDP, 0x6558 Ethernet/IPv4/TCP SYN, "
     "0x6558 with key Ethernet/IPv4/UDP, S-flag 0x86DD IPv6/UDP"),
    ("pcapng_multi_if.pcapng", f_pcapng_multi_if,
     "pcapng LE, section 1: IDBs Ethernet (10^-6), raw IP 101 (if_tsresol 9), SLL 113 (if_tsresol "
     "0x94 = 2^-20, snaplen 96); NRB, EPBs with comment/flags options, unknown block type 0x0000F00D, "
     "SPB (if 0, no timestamp), obsolete PB type 2 (if 1), ISBs; section 2 (new SHB): IDBs "
     "raw IPv4 228 (if_tsresol 3) and Ethernet (if_tsresol 6)"),
    ("pcapng_be.pcapng", f_pcapng_be,
     "pcapng big-endian section: Ethernet IDB snaplen 64 if_tsresol 9, EPBs (one cut), SPB whose "
     "captured length is the IDB snaplen (64 < 106), unknown block type 0x0000F00D, ISB"),
]

DAMAGED = [
    ("truncated_mid_record.pcap",
     "valid 6-record Ethernet pcap cut 30 bytes into the 5th record's data (4 good records)"),
    ("bad_caplen.pcap",
     "6-record Ethernet pcap whose 4th record header has caplen 0x7fffffff (3 good records)"),
    ("not_a_capture.bin", "plain text, neither pcap nor pcapng magic"),
]


# ----------------------------------------------------------------------------------------
# tshark cross-check
# ----------------------------------------------------------------------------------------

TS_FIELDS = ["frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.protocols",
             "ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.flags.mf", "ip.frag_offset",
             "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim", "ipv6.hopopts.nxt",
             "ipv6.dstopts.nxt", "ipv6.routing.nxt", "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset",
             "ipv6.fraghdr.more", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.urgent_pointer",
             "udp.srcport", "udp.dstport", "udp.checksum", "gre.proto"]
TS_OPTS = ["-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
EXT_LAYERS = {"ipv6.hopopts": "ipv6.hopopts.nxt", "ipv6.dstopts": "ipv6.dstopts.nxt",
              "ipv6.routing": "ipv6.routing.nxt", "ipv6.fraghdr": "ipv6.fraghdr.nxt"}


def run(cmd):
    # run inside OUT with bare file names so messages do not contain absolute paths
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=OUT)
    err = "\n".join(l for l in p.stderr.decode("utf-8", "replace").splitlines()
                    if not l.startswith("Running as user"))
    return p.returncode, p.stdout.decode("utf-8", "replace"), err


def epoch_to_ns(s):
    """frame.time_epoch string -> integer ns, by digits (never through a float)."""
    if s == "":
        return ""
    m = re.fullmatch(r"(\d+)(?:\.(\d{1,9}))?", s)
    assert m, "unexpected time_epoch %r" % s
    return str(int(m.group(1)) * 10**9 + int((m.group(2) or "").ljust(9, "0")))


def tshark_rows(path):
    cmd = ["tshark"] + TS_OPTS + ["-r", path, "-T", "fields", "-E", "separator=/t",
                                  "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in TS_FIELDS:
        cmd += ["-e", f]
    rc, out, err = run(cmd)
    if rc != 0 or err.strip():
        sys.exit("tshark failed on %s (rc %d): %s" % (path, rc, err))
    rows = []
    for line in out.splitlines():
        v = dict(zip(TS_FIELDS, [x.split(",") if x else [] for x in line.split("\t")]))
        one = lambda f, i=0: v[f][i] if len(v[f]) > i else ""
        layers = one("frame.protocols").split(":")
        r = dict(ts_ns=epoch_to_ns(one("frame.time_epoch")), wire_len=one("frame.len"),
                 cap_len=one("frame.cap_len"), src="", dst="", proto="", sport="", dport="",
                 tcp_flags="", ttl="", fragment="none", encap="none", inner_proto="")
        ipi = next((i for i, l in enumerate(layers) if l in ("ip", "ipv6")), None)
        if ipi is not None:
            nxt = ipi + 1
            if layers[ipi] == "ip":
                r.update(src=one("ip.src"), dst=one("ip.dst"), proto=one("ip.proto"),
                         ttl=one("ip.ttl"))
                off, mf = int(one("ip.frag_offset")), one("ip.flags.mf") in ("1", "True")
            else:
                r.update(src=one("ipv6.src"), dst=one("ipv6.dst"), proto=one("ipv6.nxt"),
                         ttl=one("ipv6.hlim"))
                off, mf = 0, False
                while nxt < len(layers) and layers[nxt] in EXT_LAYERS:
                    r["proto"] = one(EXT_LAYERS[layers[nxt]])
                    if layers[nxt] == "ipv6.fraghdr":
                        off = int(one("ipv6.fraghdr.offset"))
                        mf = one("ipv6.fraghdr.more") in ("1", "True")
                    nxt += 1
            r["fragment"] = "later" if off else ("first" if mf else "none")
            l4 = layers[nxt] if nxt < len(layers) else ""
            # tshark shows the ports of a transport header cut by the snaplen; the truth says
            # "empty" unless the header was captured through its TCP flags byte (which
            # tshark 4.0 proves by showing the flags, from 16 bytes on: no fixture cuts a
            # TCP header at 14 or 15 bytes) or through the last field of the UDP header
            # (its checksum).
            if l4 == "tcp" and r["fragment"] != "later" and one("tcp.flags"):
                r.update(sport=one("tcp.srcport"), dport=one("tcp.dstport"),
                         tcp_flags="%02x" % (int(one("tcp.flags"), 16) & 0xFF)
                         if one("tcp.flags") else "")
            elif l4 == "udp" and r["fragment"] != "later" and one("udp.checksum"):
                r.update(sport=one("udp.srcport"), dport=one("udp.dstport"))
            elif l4 == "gre":
                r["encap"] = "gre"
                inner = next(i for i in range(nxt + 1, len(layers)) if layers[i] in ("ip", "ipv6"))
                k = layers[:inner].count(layers[inner])
                r["inner_proto"] = one("ip.proto" if layers[inner] == "ip" else "ipv6.nxt", k)
        r["_layers"] = ":".join(layers)
        rows.append(r)
    return rows


def check_not_malformed(path):
    # both with our options and with tshark's defaults (reassembly on)
    # (the first run also validates every checksum tshark knows how to check)
    checks = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
              "-o", "udp.check_checksum:TRUE"]
    for opts in (TS_OPTS + checks, []):
        rc, out, err = run(["tshark"] + opts + ["-r", path, "-V"])
        if rc != 0 or err.strip():
            sys.exit("tshark -V failed on %s: %s" % (path, err))
        bad = [l for l in out.splitlines()
               if "malformed" in l.lower() or "checksum status: bad" in l.lower()]
        if bad:
            sys.exit("tshark reports malformed packets in %s:\n%s" % (path, "\n".join(bad[:10])))


def capinfos_count(path):
    rc, out, err = run(["capinfos", "-c", "-M", path])
    m = re.search(r"Number of packets:\s*(\d+)", out)
    if rc != 0 or not m:
        sys.exit("capinfos failed on %s: %s %s" % (path, out, err))
    return int(m.group(1))


# ----------------------------------------------------------------------------------------

def write(name, data):
    assert len(data) < 20 * 1024, "%s is too large (%d bytes)" % (name, len(data))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    for tool in ("tshark", "capinfos"):
        if shutil.which(tool) is None:
            sys.exit("ERROR: %s not found; install it (apt-get install tshark) - the ground "
                     "truth must be confirmed by tshark" % tool)
    os.makedirs(OUT, exist_ok=True)
    table, counts = [], []
    for name, builder, _ in FIXTURES:
        data, model = builder()
        write(name, data)
        path = name  # tools run with cwd=OUT
        got = tshark_rows(path)
        if len(got) != len(model):
            sys.exit("%s: model has %d frames, tshark sees %d" % (name, len(model), len(got)))
        for i, (m, t) in enumerate(zip(model, got), 1):
            diffs = [(c, m[c], t[c]) for c in COLUMNS[2:] if m[c] != t[c]]
            if diffs:
                sys.exit("%s frame %d disagrees with tshark (column, model, tshark): %r\n"
                         "  tshark layers: %s" % (name, i, diffs, t["_layers"]))
            table.append([name, str(i)] + [m[c] for c in COLUMNS[2:]])
        check_not_malformed(path)
        n = capinfos_count(path)
        if n != len(model):
            sys.exit("%s: capinfos counts %d packets, model %d" % (name, n, len(model)))
        counts.append((name, n))
    truncated, bad = truncate_and_break()
    write("truncated_mid_record.pcap", truncated)
    write("bad_caplen.pcap", bad)
    write("not_a_capture.bin", NOT_A_CAPTURE)
    damaged_notes = {}
    for name, _ in DAMAGED:
        rc, out, err = run(["tshark"] + TS_OPTS + ["-r", name, "-T", "fields",
                                                   "-e", "frame.number"])
        damaged_notes[name] = (len(out.split()), err.strip().replace("\n", " "))
    assert damaged_notes["truncated_mid_record.pcap"][0] == 4, damaged_notes
    assert damaged_notes["bad_caplen.pcap"][0] == 3, damaged_notes
    assert damaged_notes["not_a_capture.bin"][0] == 0, damaged_notes

    with open(os.path.join(OUT, "expected.tsv"), "w", newline="\n") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for row in table:
            f.write("\t".join(row) + "\n")
    with open(os.path.join(OUT, "capinfos.tsv"), "w", newline="\n") as f:
        f.write("file\tpackets\n")
        for name, n in counts:
            f.write("%s\t%d\n" % (name, n))
    version = run(["tshark", "--version"])[1].splitlines()[0]
    write_readme(version, counts, damaged_notes)
    print("wrote %d fixtures, %d expected rows; verified with %s" %
          (len(FIXTURES) + len(DAMAGED), len(table), version))


README_HEAD = """\
# floodtrace-wire test fixtures

Everything in this directory is generated by `scripts/make-fixtures.py` (python3, standard
library only) and is byte-for-byte deterministic: run `python3 scripts/make-fixtures.py` from the
repository root to regenerate. Do not edit the files by hand.

The packets are hand-built by the script; the ground truth in `expected.tsv` is computed from the
script's model of what it wrote **and** independently from tshark's dissection of the written
files; the script aborts if the two disagree in any column, if tshark reports a malformed
packet (`tshark -V`), or if `capinfos` counts a different number of packets.
Verified with: {version}
(fields extracted with tshark options `{opts}`; the malformed check is run with and without them).

## Fixtures

| file | what it exercises |
|------|-------------------|
"""

README_COLUMNS = """
## expected.tsv

Tab separated, header row first, one row per frame of every valid fixture above
(the damaged files are not listed). Columns:

| column | meaning |
|--------|---------|
| file | fixture file name |
| frame | 1-based frame number in the file (pcapng: counts EPB, SPB and obsolete PB in file order, across sections) |
| ts_ns | integer nanoseconds since the Unix epoch; empty for a Simple Packet Block (it has no timestamp). Computed from the exact values written (never through a float) and compared with tshark's `frame.time_epoch` digits |
| wire_len | original length on the wire (`frame.len`) |
| cap_len | captured length (`frame.cap_len`) |
| src, dst | outermost IPv4/IPv6 source and destination as tshark prints them (dotted quad / RFC 5952); empty when the frame is not IP (ARP) |
| proto | IP protocol number of the outer IP header: IPv4 `protocol`; for IPv6 the upper-layer protocol after the extension-header chain (hop-by-hop 0, routing 43, destination options 60, fragment 44 are walked). For fragments (first or later) it is the protocol named in the IPv4 header / the IPv6 fragment header's next-header field. Empty for non-IP |
| sport, dport | ports of the OUTER TCP/UDP header, i.e. the header directly after the outer IP header (and its extension headers). Empty when that header is not TCP/UDP (ICMP, ICMPv6, GRE - GRE inner ports are not reported), for non-first fragments, and when the transport header is cut before what they need (fewer than 14 TCP bytes, i.e. before the flags byte, or 8 UDP bytes before caplen). A TCP header cut after its flags byte, in its window or its options, still has ports and flags |
| tcp_flags | two lowercase hex digits of TCP header byte 13 (CWR ECE URG ACK PSH RST SYN FIN), same emptiness rules as the ports; empty if the outer transport is not TCP |
| ttl | IPv4 TTL / IPv6 hop limit of the outer IP header; empty for non-IP |
| fragment | `none`, `first` (offset 0 and more-fragments set) or `later` (offset > 0, whether or not more-fragments is set); IPv4 flags/offset or the IPv6 fragment header |
| encap | `gre` when the outer transport is GRE (protocol 47), else `none` |
| inner_proto | for GRE: protocol of the inner IP packet (IPv4 protocol / IPv6 next header) whether the inner packet follows GRE directly (0x0800, 0x86DD) or via an inner Ethernet frame (0x6558); else empty |

`capinfos.tsv`: `file`, `packets` as reported by `capinfos -c -M` for each valid fixture.

## Damaged files (error tests)

| file | what it is | tshark |
|------|------------|--------|
"""

README_TAIL = """
## Notes

* pcapng timestamps: interface 2 of `pcapng_multi_if.pcapng` uses if_tsresol 0x94 (units of
  2^-20 s). All its fractions are multiples of 2048 units so the nanosecond value is exact
  (2048 units = 1953125 ns): no rounding question arises.
* SPB captured length = min(original length, IDB 0 snaplen); the block is padded to 4 bytes.
  In `pcapng_be.pcapng` the SPB's original length is 106 and the snaplen 64, so cap_len is 64.
* EPB/SPB data is padded to a 32-bit boundary; option values too. Section 2 of
  `pcapng_multi_if.pcapng` restarts interface numbering at 0 with a different link type.
* Linux SLL (113) header, 16 bytes: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2).
  SLL2 (276) header, 20 bytes: protocol(2) reserved(2) interface index(4) ARPHRD(2)
  packet type(1) addr len(1) addr(8). All fields big-endian.
* LINKTYPE_NULL (0) stores the family in the capturing host's byte order (both orders are
  present, in `pcap_null_le.pcap` and `pcap_null_be.pcap`); a decoder should treat a value
  with non-zero upper 16 bits as byte-swapped. LINKTYPE_LOOP (108) is always big-endian, even
  in the little-endian `pcap_loop_be.pcap`. AF_INET = 2; AF_INET6 = 24 (NetBSD/OpenBSD),
  28 (FreeBSD), 30 (Darwin).
* tshark is run with IPv4/IPv6 reassembly disabled so each fragment is judged on its own.
* Cut transport headers: tshark still shows the ports of a TCP/UDP header of which only 4..19
  bytes were captured (e.g. `pcap_snaplen_cut.pcap` frames 3 and 7). The truth deliberately
  says "empty" there; the script confirms it with tshark by requiring the last field of the
  fixed header (TCP urgent pointer, UDP checksum) to be present before it takes tshark's ports.
* ICMP errors quote an inner IP header + 8 bytes (`pcap_le_usec_ether.pcap` frame 9): src, dst,
  ttl and proto are those of the outer header, the quoted UDP ports are not reported.
* GRE rows: proto 47, sport/dport/tcp_flags empty (GRE has no ports; inner ports are not
  reported), encap `gre`, inner_proto from the inner IP header. GRE checksums are valid.
* All IPv4, TCP, UDP, ICMP, ICMPv6 and GRE checksums are correct (checked with tshark's
  checksum validation); IPv4 header checksums cover the options.
* Unknown pcapng block: type 0x0000F00D (no specification assigns it). 0x00000BAD and
  0x40000BAD are *Custom Blocks* in the pcapng spec, and tshark 4.0 surfaces them as a record
  (a frame), so they are deliberately not used here.
* pcapng frames from different interfaces are not in timestamp order (frame 9 and 10 of
  `pcapng_multi_if.pcapng`); file order is the frame order.
* `bad_caplen.pcap`: the 4th record claims caplen 0x7fffffff with an ordinary original
  length; the file is otherwise intact, so a reader must reject the record rather than try to
  read 2 GiB. `truncated_mid_record.pcap`: the 5th record header is complete, its data is not.
"""


def write_readme(version, counts, damaged_notes):
    s = README_HEAD.format(version=version, opts=" ".join(TS_OPTS))
    for name, _, desc in FIXTURES:
        n = dict(counts)[name]
        s += "| `%s` | %s (%d frames) |\n" % (name, desc, n)
    s += README_COLUMNS
    for name, desc in DAMAGED:
        n, err = damaged_notes[name]
        s += "| `%s` | %s | %d frames, then: %s |\n" % (name, desc, n, err or "no error")
    s += README_TAIL
    with open(os.path.join(OUT, "README.md"), "w", newline="\n") as f:
        f.write(s)


if __name__ == "__main__":
    main()
