/*
 * gencap: deterministic synthetic DDoS capture for the floodtrace benchmark.
 *
 *   gencap OUTPUT.pcap PACKETS [SEED [SOURCES]]
 *
 * SOURCES cycles the flood's sources through a pool of that many addresses instead of a
 * fresh random one per packet (for the memory benchmark: same packets, time span and
 * destinations, a different number of distinct sources).
 *
 * Writes a classic pcap (little-endian, microsecond timestamps, linktype
 * Ethernet) holding a flood from uniformly random IPv4 sources to one victim
 * mixed over background client/server traffic.  The same (PACKETS, SEED) always
 * produces byte-identical output, so benchmark numbers from different machines
 * or commits are comparable, and the first N packets of a big file equal the
 * whole of a file generated with PACKETS = N.
 *
 * The mix is chosen to exercise what an analyser has to do on real evidence,
 * not to be realistic in every detail:
 *   ~85 %  flood to 203.0.113.10 from random sources (millions distinct, so
 *          per-source state cannot be kept exactly): TCP SYN to 80/443 and UDP,
 *          part of it with reflection source ports 53/123/1900;
 *   ~15 %  background between 2,000 clients and 200 servers (TCP ACK/PSH and
 *          UDP), about 1 in 16 of it 802.1Q tagged so link-layer parsing is not
 *          a single fixed offset.
 * Timestamps are spread evenly over about 60 seconds, so aggregation per
 * (destination, second) sees ~60 buckets for the victim and many small ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#define VICTIM      0xCB00710Au /* 203.0.113.10 (TEST-NET-3) */
#define N_CLIENTS   2000u
#define N_SERVERS   200u
#define DURATION_US 60000000ull /* the whole capture spans ~60 s */
#define START_SEC   1700000000u /* 2023-11-14, any fixed epoch works */
#define MAX_FRAME   1600u

/* splitmix64: tiny, fast, good enough statistically, and fully specified, so
 * the capture does not depend on the C library's rand(). */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) via multiply-shift; the bias for small n is irrelevant. */
static uint32_t below(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static void put16be(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void put32be(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (uint8_t)v;
}
static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Real IPv4 header checksums, so that tools validating them (tshark with
 * checksum checks enabled, the analyser itself if it ever does) see no errors.
 * Layer-4 checksums are left 0: for UDP that means "none" and tools do not
 * verify TCP checksums by default. */
static uint16_t ip_checksum(const uint8_t *h)
{
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	return csum_fold(sum);
}

/* A public-looking random source: skip 0/8, 10/8, 127/8 and 224/3 so that
 * "bogon share" style checks in the analyser see a uniformly spoofed flood of
 * routable addresses rather than noise from reserved space. */
static uint32_t random_source(void)
{
	for (;;) {
		uint32_t a = (uint32_t)rnd();
		uint8_t o = a >> 24;
		if (o == 0 || o == 10 || o == 127 || o >= 224)
			continue;
		return a;
	}
}

/* Flood sources drawn from a fixed pool of this many addresses (0 = every packet a
 * fresh random source). The memory benchmark holds packets, time span and
 * destinations fixed and varies only the number of distinct sources. */
static uint64_t source_pool;
static uint64_t pool_next; /* the pool is cycled through in order: n packets, min(n, pool) sources */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint32_t pool_source(uint64_t i)
{
	uint64_t h = mix64(i + 0x9E3779B97F4A7C15ull);
	for (;;) {
		uint32_t a = (uint32_t)h;
		uint8_t o = a >> 24;
		if (!(o == 0 || o == 10 || o == 127 || o >= 224))
			return a;
		h = mix64(h);
	}
}

static uint32_t client_addr(uint32_t i) { return 0x0A000000u + 0x100u + i; } /* 10.0.1.0-10.0.8.207 */
static uint32_t server_addr(uint32_t i) { return 0xC6336400u + i; }         /* 198.51.100.0-.199 */

/* UDP payload shapes.  Ports alone decide which dissector tshark applies, so
 * payloads on well-known ports are well-formed messages of that protocol;
 * anything else is opaque zeros on ports no dissector claims by default. */
enum payload {
	PL_ZERO,        /* opaque bytes */
	PL_DNS_ANY,     /* DNS response with TXT answers: reflection/amplification */
	PL_NTP_MONLIST, /* NTP mode 7 MON_GETLIST_1 response: reflection */
	PL_SSDP,        /* SSDP M-SEARCH response: reflection */
	PL_DNS_QUERY,   /* background DNS query */
	PL_DNS_ANSWER,  /* background DNS response with one A record */
	PL_NTP_CLIENT,  /* background NTP mode 3 */
	PL_NTP_SERVER,  /* background NTP mode 4 */
};

static const uint8_t qname_example[] = "\x07" "example" "\x03" "com";  /* + root 0 */
static const uint8_t qname_www[] = "\x03" "www" "\x07" "example" "\x03" "com";

static uint32_t put_question(uint8_t *p, const uint8_t *name, uint32_t name_len,
			     uint16_t qtype)
{
	memcpy(p, name, name_len);
	p[name_len] = 0;
	put16be(p + name_len + 1, qtype);
	put16be(p + name_len + 3, 1); /* class IN */
	return name_len + 5;
}

/* Writes the payload at p.  want is the length the caller would like; the
 * result may differ where the protocol fixes sizes.  Returns the length. */
static uint32_t put_payload(uint8_t *p, enum payload kind, uint32_t want)
{
	uint32_t n, i;

	switch (kind) {
	case PL_DNS_ANY: {
		/* Header + question, then as many TXT answer bytes as fit `want`,
		 * split into <= 255-byte character-strings.  Too little room for
		 * an answer gives a bare response. */
		put16be(p, (uint16_t)rnd());
		put16be(p + 2, 0x8180);
		put16be(p + 4, 1);
		put16be(p + 6, 0);
		put32be(p + 8, 0);
		n = 12 + put_question(p + 12, qname_example, sizeof qname_example - 1, 255);
		if (want >= n + 13) {
			uint32_t rdlen = want - n - 12;
			put16be(p + 6, 1);
			put16be(p + n, 0xC00C); /* name: pointer to the question */
			put16be(p + n + 2, 16); /* TXT */
			put16be(p + n + 4, 1);
			put32be(p + n + 6, 3600);
			put16be(p + n + 10, (uint16_t)rdlen);
			n += 12;
			while (rdlen > 0) {
				uint32_t c = rdlen < 256 ? rdlen : 256;
				p[n++] = (uint8_t)(c - 1);
				for (i = 1; i < c; i++)
					p[n++] = (uint8_t)('a' + (i % 26));
				rdlen -= c;
			}
		}
		return n;
	}
	case PL_NTP_MONLIST: {
		/* The classic amplifier: up to 6 x 72-byte entries per response
		 * (440 bytes at most, matching real monlist replies). */
		uint32_t items = 1 + want / 80;
		if (items > 6)
			items = 6;
		p[0] = 0x97; /* response, version 2, mode 7 */
		p[1] = 0;
		p[2] = 3;    /* implementation XNTPD */
		p[3] = 42;   /* MON_GETLIST_1 */
		put16be(p + 4, (uint16_t)items);
		put16be(p + 6, 72);
		n = 8;
		for (i = 0; i < items; i++, n += 72) {
			memset(p + n, 0, 72);
			put32be(p + n, below(1000));      /* avg interval */
			put32be(p + n + 4, below(1000));  /* last interval */
			put32be(p + n + 12, 1 + below(100000)); /* count */
			put32be(p + n + 16, random_source()); /* remote address */
			put16be(p + n + 28, 123);         /* port */
			p[n + 30] = 3;                    /* mode */
			p[n + 31] = 4;                    /* version */
		}
		return n;
	}
	case PL_SSDP: {
		static const char resp[] =
			"HTTP/1.1 200 OK\r\n"
			"CACHE-CONTROL: max-age=1800\r\n"
			"EXT:\r\n"
			"LOCATION: http://192.168.1.1:49152/rootDesc.xml\r\n"
			"SERVER: Linux/3.14 UPnP/1.0 IpBridge/1.26.0\r\n"
			"ST: upnp:rootdevice\r\n"
			"USN: uuid:2f402f80-da50-11e1-9b23-001788255acc::upnp:rootdevice\r\n"
			"\r\n";
		memcpy(p, resp, sizeof resp - 1);
		return sizeof resp - 1;
	}
	case PL_DNS_QUERY:
	case PL_DNS_ANSWER:
		put16be(p, (uint16_t)rnd());
		put16be(p + 2, kind == PL_DNS_QUERY ? 0x0100 : 0x8180);
		put16be(p + 4, 1);
		put16be(p + 6, kind == PL_DNS_QUERY ? 0 : 1);
		put32be(p + 8, 0);
		n = 12 + put_question(p + 12, qname_www, sizeof qname_www - 1, 1);
		if (kind == PL_DNS_ANSWER) {
			put16be(p + n, 0xC00C);
			put16be(p + n + 2, 1);
			put16be(p + n + 4, 1);
			put32be(p + n + 6, 300);
			put16be(p + n + 10, 4);
			put32be(p + n + 12, 0x5DB8D822u); /* 93.184.216.34 */
			n += 16;
		}
		return n;
	case PL_NTP_CLIENT:
	case PL_NTP_SERVER:
		memset(p, 0, 48);
		p[0] = kind == PL_NTP_CLIENT ? 0x23 : 0x24; /* v4, mode 3 / 4 */
		if (kind == PL_NTP_SERVER) {
			p[1] = 2;           /* stratum */
			p[2] = 6;           /* poll */
			p[3] = 0xE9;        /* precision */
			put32be(p + 12, 0xC0000201u);  /* reference id */
			put32be(p + 16, 0xE8F00000u);  /* reference timestamp */
		}
		put32be(p + 40, 0xE8F00000u + below(1000)); /* transmit timestamp */
		put32be(p + 44, (uint32_t)rnd());
		return 48;
	case PL_ZERO:
	default:
		memset(p, 0, want);
		return want;
	}
}

/* Builds one frame into buf; returns its length. */
static uint32_t build_frame(uint8_t *buf)
{
	uint32_t src, dst, want;
	uint16_t sport, dport;
	uint8_t proto, tcp_flags = 0;
	enum payload kind = PL_ZERO;
	int vlan = 0;

	if (below(100) < 85) {
		dst = VICTIM;
		src = source_pool ? pool_source(pool_next++ % source_pool) : random_source();
		if (below(100) < 55) {
			/* SYN flood: minimal frames (54 bytes of headers padded to
			 * the 60-byte Ethernet minimum), the worst case for
			 * per-packet cost. */
			proto = 6;
			tcp_flags = 0x02;
			sport = (uint16_t)(1024 + below(64512));
			dport = below(2) ? 443 : 80;
			want = 0;
		} else {
			uint32_t k = below(10);
			proto = 17;
			want = 22 + below(449); /* 64..512-byte frames */
			/* 40 % reflection (amplifier service port to a random
			 * high port), 60 % a direct flood between random ports.
			 * Random ports come from 61000-65535: above the Linux
			 * ephemeral range, and no dissector claims them, so
			 * tshark decodes the zero payloads as plain data instead
			 * of reporting them as malformed messages of whatever
			 * protocol happens to own a port. */
			sport = (uint16_t)(61000 + below(4536));
			dport = (uint16_t)(61000 + below(4536));
			if (k < 2) { sport = 53; kind = PL_DNS_ANY; }
			else if (k < 3) { sport = 123; kind = PL_NTP_MONLIST; }
			else if (k < 4) { sport = 1900; kind = PL_SSDP; }
		}
	} else {
		/* Background: either direction between a client and a server. */
		uint32_t c = client_addr(below(N_CLIENTS));
		uint32_t s = server_addr(below(N_SERVERS));
		uint16_t eph = (uint16_t)(32768 + below(28232));
		uint16_t svc;
		int to_server = below(2);
		vlan = below(16) == 0;
		if (below(100) < 75) {
			static const uint16_t tcp_svc[] = { 443, 80, 22, 25, 993 };
			proto = 6;
			svc = tcp_svc[below(5)];
			if (below(3)) { tcp_flags = 0x10; want = 0; }  /* bare ACK */
			else { tcp_flags = 0x18; want = 40 + below(1421); } /* PSH|ACK with data */
		} else {
			proto = 17;
			want = 0;
			switch (below(3)) {
			case 0:
				svc = 53;
				kind = to_server ? PL_DNS_QUERY : PL_DNS_ANSWER;
				break;
			case 1:
				svc = 123;
				kind = to_server ? PL_NTP_CLIENT : PL_NTP_SERVER;
				break;
			default:
				svc = 443; /* QUIC-sized opaque datagrams */
				want = 20 + below(1200);
				break;
			}
		}
		if (to_server) { src = c; dst = s; sport = eph; dport = svc; }
		else           { src = s; dst = c; sport = svc; dport = eph; }
	}

	uint32_t l2 = vlan ? 18 : 14;
	uint32_t l4 = proto == 6 ? 20 : 8;
	uint8_t *ip = buf + l2;
	uint8_t *l4p = ip + 20;
	uint32_t plen = want;

	if (proto == 17)
		plen = put_payload(l4p + 8, kind, want);
	else
		memset(l4p + 20, 0, plen); /* TCP payload content is irrelevant */

	uint32_t ip_len = 20 + l4 + plen;
	uint32_t frame_len = l2 + ip_len;
	if (frame_len < 60) {
		/* Ethernet minimum: pad after the IP packet, not inside it. */
		memset(buf + frame_len, 0, 60 - frame_len);
		frame_len = 60;
	}

	/* Locally administered MACs; the source MAC embeds the IP for variety. */
	static const uint8_t dmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	memcpy(buf, dmac, 6);
	buf[6] = 0x02; buf[7] = 0x00; put32be(buf + 8, src);
	if (vlan) {
		put16be(buf + 12, 0x8100);
		put16be(buf + 14, (uint16_t)(100 + below(4))); /* PCP 0, VID 100..103 */
		put16be(buf + 16, 0x0800);
	} else {
		put16be(buf + 12, 0x0800);
	}

	ip[0] = 0x45;
	ip[1] = 0;
	put16be(ip + 2, (uint16_t)ip_len);
	put16be(ip + 4, (uint16_t)rnd());          /* IP id */
	put16be(ip + 6, proto == 6 ? 0x4000 : 0);  /* DF on TCP */
	ip[8] = (uint8_t)(40 + below(89));         /* TTL 40..128 */
	ip[9] = proto;
	ip[10] = ip[11] = 0;
	put32be(ip + 12, src);
	put32be(ip + 16, dst);
	put16be(ip + 10, ip_checksum(ip));

	put16be(l4p, sport);
	put16be(l4p + 2, dport);
	if (proto == 6) {
		put32be(l4p + 4, (uint32_t)rnd());                          /* seq */
		put32be(l4p + 8, tcp_flags == 0x02 ? 0 : (uint32_t)rnd()); /* ack */
		l4p[12] = 0x50;                                             /* data offset 5 */
		l4p[13] = tcp_flags;
		put16be(l4p + 14, (uint16_t)(tcp_flags == 0x02 ? 64240 : 502 + below(64000)));
		put32be(l4p + 16, 0); /* checksum (unverified by default), urgent */
	} else {
		put16be(l4p + 4, (uint16_t)(8 + plen));
		put16be(l4p + 6, 0);  /* no UDP checksum */
	}
	return frame_len;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: %s OUTPUT.pcap PACKETS [SEED [SOURCES]]\n", argv[0]);
		return 2;
	}
	char *end;
	errno = 0;
	unsigned long long count = strtoull(argv[2], &end, 10);
	if (errno || *end || count == 0) {
		fprintf(stderr, "gencap: bad packet count '%s'\n", argv[2]);
		return 2;
	}
	uint64_t seed = 0x666C6F6F64ull; /* "flood" */
	if (argc == 5) {
		source_pool = strtoull(argv[4], &end, 10);
		if (*end) {
			fprintf(stderr, "gencap: bad source count '%s'\n", argv[4]);
			return 2;
		}
	}
	if (argc >= 4) {
		seed = strtoull(argv[3], &end, 0);
		if (*end) {
			fprintf(stderr, "gencap: bad seed '%s'\n", argv[3]);
			return 2;
		}
	}
	rng_state = seed;

	FILE *f = fopen(argv[1], "wb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	/* Big stdio buffer: the generator is I/O bound and 10M small fwrites
	 * through the default 4 KiB buffer would dominate its run time. */
	static char iobuf[8 << 20];
	setvbuf(f, iobuf, _IOFBF, sizeof iobuf);

	uint8_t gh[24];
	put32le(gh, 0xA1B2C3D4u);
	gh[4] = 2; gh[5] = 0;          /* version 2.4, little-endian fields */
	gh[6] = 4; gh[7] = 0;
	put32le(gh + 8, 0);            /* thiszone */
	put32le(gh + 12, 0);           /* sigfigs */
	put32le(gh + 16, 65535);       /* snaplen */
	put32le(gh + 20, 1);           /* LINKTYPE_ETHERNET */
	fwrite(gh, 1, sizeof gh, f);

	/* A constant 6 us mean gap (jittered inside its slot, so timestamps stay
	 * monotonic) gives ~60 s at 10M packets and, unlike spreading a fixed
	 * duration over the count, keeps every prefix of a big file identical to
	 * a smaller file generated with the same seed. */
	const uint64_t gap_us = DURATION_US / 10000000ull;
	uint8_t rec[16 + MAX_FRAME];
	for (unsigned long long i = 0; i < count; i++) {
		uint32_t len = build_frame(rec + 16);
		uint64_t t = (uint64_t)i * gap_us + below((uint32_t)gap_us);
		put32le(rec, START_SEC + (uint32_t)(t / 1000000u));
		put32le(rec + 4, (uint32_t)(t % 1000000u));
		put32le(rec + 8, len);
		put32le(rec + 12, len);
		if (fwrite(rec, 1, 16 + len, f) != 16 + len) {
			perror(argv[1]);
			return 1;
		}
	}
	if (fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
