/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A minimal pcap reader for the tests: walks the records of a classic pcap
 * file (either byte order, micro- or nanosecond stamps; Ethernet, Linux
 * cooked v1/v2 or raw IP link types) and hands out the IP packets that
 * carry RoCEv2 (UDP destination port 4791), trimmed to the IP length.
 * Header-only, host code (uses libc).
 */
#ifndef RODP_TESTS_PCAP_READ_H
#define RODP_TESTS_PCAP_READ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_ROCE_PORT	4791

struct pcap_file {
	uint8_t *data;
	size_t len;
	size_t pos;
	int swap;		/* file byte order differs from the host's */
	uint32_t linktype;
};

/* One RoCEv2 packet of a capture. */
struct pcap_roce {
	const uint8_t *ip;	/* IPv4 or IPv6 header */
	size_t ip_len;		/* from the IP header to the end of the ICRC */
	size_t bth_off;		/* offset of the BTH from @ip */
	int v6;
};

static inline uint32_t pcap_u32(const struct pcap_file *f, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return f->swap ? __builtin_bswap32(v) : v;
}

/* Read a whole pcap file into @f.  0 on success, -1 with a message. */
static inline int pcap_open(struct pcap_file *f, const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint32_t magic;
	long n;

	memset(f, 0, sizeof(*f));
	if (!fp) {
		perror(path);
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 24 ||
	    fseek(fp, 0, SEEK_SET))
		goto bad;
	f->data = malloc((size_t)n);
	if (!f->data || fread(f->data, 1, (size_t)n, fp) != (size_t)n)
		goto bad;
	f->len = (size_t)n;
	memcpy(&magic, f->data, 4);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		f->swap = 0;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		f->swap = 1;
	else
		goto bad;
	f->linktype = pcap_u32(f, f->data + 20) & 0xffff;
	f->pos = 24;
	fclose(fp);
	return 0;
bad:
	fprintf(stderr, "%s: not a readable pcap file\n", path);
	free(f->data);
	f->data = NULL;
	fclose(fp);
	return -1;
}

static inline void pcap_close(struct pcap_file *f)
{
	free(f->data);
	f->data = NULL;
}

/* Offset of the IP header in a frame of the file's link type, or -1. */
static inline long pcap_l3_offset(const struct pcap_file *f,
				  const uint8_t *p, size_t len)
{
	size_t off;
	uint16_t type;

	switch (f->linktype) {
	case 1:		/* Ethernet */
		off = 12;
		if (len < 14)
			return -1;
		type = (uint16_t)(p[12] << 8 | p[13]);
		while (type == 0x8100 || type == 0x88a8) {
			off += 4;
			if (len < off + 2)
				return -1;
			type = (uint16_t)(p[off] << 8 | p[off + 1]);
		}
		off += 2;
		break;
	case 113:	/* Linux cooked v1 */
		if (len < 16)
			return -1;
		type = (uint16_t)(p[14] << 8 | p[15]);
		off = 16;
		break;
	case 276:	/* Linux cooked v2 */
		if (len < 20)
			return -1;
		type = (uint16_t)(p[0] << 8 | p[1]);
		off = 20;
		break;
	case 101:	/* raw IP */
		return 0;
	default:
		return -1;
	}
	if (type != 0x0800 && type != 0x86dd)
		return -1;
	return (long)off;
}

/*
 * Next RoCEv2 packet of the capture: 1 and @r filled, 0 at the end, -1
 * on a truncated file.  Frames that are not IPv4/IPv6 UDP to port 4791
 * are skipped.
 */
static inline int pcap_next_roce(struct pcap_file *f, struct pcap_roce *r)
{
	const uint8_t *p, *ip;
	size_t incl, avail, hlen, iplen;
	long l3;

	while (f->pos + 16 <= f->len) {
		incl = pcap_u32(f, f->data + f->pos + 8);
		if (f->pos + 16 + incl > f->len)
			return -1;
		p = f->data + f->pos + 16;
		f->pos += 16 + incl;

		l3 = pcap_l3_offset(f, p, incl);
		if (l3 < 0)
			continue;
		ip = p + l3;
		avail = incl - (size_t)l3;
		if (avail < 1)
			continue;
		if ((ip[0] >> 4) == 4) {
			hlen = (size_t)(ip[0] & 15) * 4;
			if (avail < 20 || hlen < 20 || ip[9] != 17)
				continue;
			iplen = (size_t)(ip[2] << 8 | ip[3]);
			r->v6 = 0;
		} else if ((ip[0] >> 4) == 6) {
			hlen = 40;
			if (avail < 40 || ip[6] != 17)
				continue;
			iplen = 40 + (size_t)(ip[4] << 8 | ip[5]);
			r->v6 = 1;
		} else {
			continue;
		}
		if (iplen > avail || iplen < hlen + 8)
			continue;	/* snapped or malformed */
		if ((ip[hlen + 2] << 8 | ip[hlen + 3]) != PCAP_ROCE_PORT)
			continue;
		r->ip = ip;
		r->ip_len = iplen;
		r->bth_off = hlen + 8;
		return 1;
	}
	return f->pos == f->len ? 0 : -1;
}

#endif /* RODP_TESTS_PCAP_READ_H */
