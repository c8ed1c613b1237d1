"""What seed-corpus.sh's seeders share: writing corpus files and walking captures
(standard library only)."""
import hashlib
import os
import struct


def writer(corpus):
    """put(target, data): write `data` into corpus/target/, named by its content hash (so
    seeding twice adds nothing twice)."""
    def put(target, data):
        with open(os.path.join(corpus, target, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
    return put


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
