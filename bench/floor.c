/*
 * floor: the least work any analyser of a capture has to do, as fast as a
 * straightforward C program does it.
 *
 *   floor FILE.pcap
 *
 * It maps the file, walks every record and counts packets per (IPv4
 * destination, second) -- the aggregation floodtrace builds its buckets on --
 * in an open-addressing hash table.  No decoding beyond finding the
 * destination address, no per-source state, no output but the totals.  The
 * benchmark compares floodtrace against this to tell "slow because it does
 * more" from "slow because of overhead".
 *
 * Prints one line:  packets=N ipv4=N keys=N seconds=S
 * where seconds covers the walk only (mapping the file is excluded, as is
 * process start-up), measured with CLOCK_MONOTONIC.
 *
 * Classic pcap only (either byte order, micro- or nanosecond magic); pcapng
 * is out of scope because the benchmark generates its own input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct slot {
	uint64_t key;   /* ts_sec << 32 | IPv4 destination; 0 = empty */
	uint64_t count;
};

struct table {
	struct slot *slots;
	size_t mask;    /* capacity - 1, capacity a power of two */
	size_t used;
};

/* Mixes the key so that linear probing does not cluster on the sequential
 * seconds and addresses real traffic produces. (murmur3 finaliser) */
static inline size_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return (size_t)k;
}

static void table_init(struct table *t, size_t cap)
{
	t->slots = calloc(cap, sizeof *t->slots);
	if (!t->slots) {
		perror("calloc");
		exit(1);
	}
	t->mask = cap - 1;
	t->used = 0;
}

static void table_grow(struct table *t)
{
	struct table n;
	table_init(&n, (t->mask + 1) * 2);
	for (size_t i = 0; i <= t->mask; i++) {
		struct slot s = t->slots[i];
		if (!s.key)
			continue;
		size_t j = hash64(s.key) & n.mask;
		while (n.slots[j].key)
			j = (j + 1) & n.mask;
		n.slots[j] = s;
	}
	n.used = t->used;
	free(t->slots);
	*t = n;
}

static inline void table_add(struct table *t, uint64_t key)
{
	size_t i = hash64(key) & t->mask;
	for (;;) {
		struct slot *s = &t->slots[i];
		if (s->key == key) {
			s->count++;
			return;
		}
		if (!s->key)
			break;
		i = (i + 1) & t->mask;
	}
	t->slots[i].key = key;
	t->slots[i].count = 1;
	/* Keep the load factor at or below 1/2 so probe chains stay short. */
	if (++t->used * 2 > t->mask + 1)
		table_grow(t);
}

static inline uint32_t rd32(const uint8_t *p, int swap)
{
	uint32_t v;
	memcpy(&v, p, 4);   /* records are not aligned in general */
	return swap ? __builtin_bswap32(v) : v;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE.pcap\n", argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	size_t size = (size_t)st.st_size;
	if (size < 24) {
		fprintf(stderr, "%s: too short for a pcap header\n", argv[1]);
		return 1;
	}
	const uint8_t *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* The walk is strictly sequential; let the kernel read ahead (a no-op
	 * when the benchmark has already warmed the page cache). */
	posix_madvise((void *)base, size, POSIX_MADV_SEQUENTIAL);

	uint32_t magic;
	memcpy(&magic, base, 4);
	int swap;
	if (magic == 0xA1B2C3D4u || magic == 0xA1B23C4Du)
		swap = 0;
	else if (magic == 0xD4C3B2A1u || magic == 0x4D3CB2A1u)
		swap = 1;
	else {
		fprintf(stderr, "%s: not a classic pcap file\n", argv[1]);
		return 1;
	}
	uint32_t linktype = rd32(base + 20, swap) & 0x0FFFFFFF; /* upper bits: FCS info */
	if (linktype != 1) {
		fprintf(stderr, "%s: linktype %u, only Ethernet (1) is supported\n",
			argv[1], linktype);
		return 1;
	}

	struct table t;
	table_init(&t, 1 << 12);
	uint64_t packets = 0, ipv4 = 0;

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	const uint8_t *p = base + 24, *end = base + size;
	while (end - p >= 16) {
		uint32_t ts_sec = rd32(p, swap);
		uint32_t caplen = rd32(p + 8, swap);
		const uint8_t *f = p + 16;
		if ((size_t)(end - f) < caplen) {
			fprintf(stderr, "%s: truncated record at offset %zu\n",
				argv[1], (size_t)(p - base));
			break;
		}
		p = f + caplen;
		packets++;

		/* Ethertype at 12; step over any stack of 802.1Q/802.1ad tags. */
		uint32_t off = 12;
		if (caplen < off + 2)
			continue;
		uint16_t et = (uint16_t)(f[off] << 8 | f[off + 1]);
		while ((et == 0x8100 || et == 0x88A8) && caplen >= off + 6) {
			off += 4;
			et = (uint16_t)(f[off] << 8 | f[off + 1]);
		}
		off += 2;
		if (et != 0x0800 || caplen < off + 20 || (f[off] >> 4) != 4)
			continue;
		ipv4++;
		uint32_t dst;
		memcpy(&dst, f + off + 16, 4);   /* network order is fine as a key */
		/* +1 keeps the key non-zero (0 marks an empty slot) even for
		 * 0.0.0.0 at ts 0; it is a bijection, so keys stay distinct
		 * (only ts 2^32-1 with 255.255.255.255 would wrap to 0). */
		table_add(&t, ((uint64_t)ts_sec << 32 | dst) + 1);
	}

	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	/* Use the table so the compiler cannot drop the counting. */
	uint64_t sum = 0;
	for (size_t i = 0; i <= t.mask; i++)
		sum += t.slots[i].count;
	if (sum != ipv4) {
		fprintf(stderr, "floor: internal error, counted %llu of %llu\n",
			(unsigned long long)sum, (unsigned long long)ipv4);
		return 1;
	}

	printf("packets=%llu ipv4=%llu keys=%zu seconds=%.6f\n",
	       (unsigned long long)packets, (unsigned long long)ipv4, t.used, secs);
	munmap((void *)base, size);
	close(fd);
	return 0;
}
