// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp_inject: crafted and random RoCEv2 packets against a live RC QP.
 *
 *   rodp_inject [--netns NS] [--seed N] [--fuzz N] [--from A] [--to B]
 *   rodp_inject --selftest PCAP
 *
 * Live mode (in the test guest, run by suites/55-inject.sh): connects an
 * RC QP on rodp1 (B, the target) to one on rodp0 (A) in this process,
 * then impersonates A: it builds IPv4 + UDP + BTH + extension headers +
 * payload + ICRC with rcore and sends them from a raw socket (IP_HDRINCL)
 * to B's address, UDP port 4791, aimed at B's QP.  The raw socket is
 * opened in network namespace NS (default: the current one; the suite
 * uses ns0, where A's address lives).  Classes of packets: a valid RDMA
 * WRITE (the injector itself is right), bad ICRC, truncated headers,
 * reserved and foreign opcodes, responses sent to a responder, wrong
 * destination QPN, PSNs ahead of and behind the window, a RETH longer
 * than the MR, a bad R_Key, a payload above the path MTU, an ATOMIC WRITE
 * that is misaligned or not 8 bytes long, a misaligned atomic, a SEND
 * without a posted receive (RNR NAK), and seeded fuzz (random bytes,
 * random headers at the live QP, mutated valid packets).  After each class: B's memory outside what a valid request
 * may touch is unchanged (the MR sits between guard bytes), B's hardware
 * counters (/sys/class/infiniband/B/ports/1/hw_counters) moved as
 * expected, and B is still alive (a valid WRITE injected next lands) or,
 * where IBA wants a NAK that ends the connection, in the error state
 * (then the pair is re-created).  Last, a normal transfer over a fresh QP
 * pair works.  TAP output, one case per class.
 *
 * Self-test mode (host, ctest): every IPv4 packet of an rxe capture
 * (tests/data) is parsed, rebuilt with this program's builder and must
 * come out byte for byte the same, ICRC included.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include <rcore/hdr.h>
#include <rcore/icrc.h>
#include <rcore/opcode.h>
#include <rcore/pkt.h>
#include <rcore/psn.h>

#include "common.h"
#include "pcap_read.h"

#define PKT_MAX		2048
#define IP_HLEN		20
#define UDP_HLEN	8
#define L4_OFF		(IP_HLEN + UDP_HLEN)	/* BTH offset */

/* ---------------------------------------------------------------------- */
/* Packet building                                                         */
/* ---------------------------------------------------------------------- */

/**
 * struct ipv4_flow - the IP and UDP fields of injected packets
 * @saddr: source address (network order)
 * @daddr: destination address (network order)
 * @sport: UDP source port
 * @id: next IP ID (never 0: the kernel would pick one, and the ICRC
 *      covers the IP ID)
 * @tos: IP TOS byte
 * @ttl: IP TTL
 * @frag: flags and fragment offset (0x4000: DF)
 */
struct ipv4_flow {
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t id;
	uint8_t tos;
	uint8_t ttl;
	uint16_t frag;
};

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Write the IPv4 and UDP headers for a UDP payload of @l4_len bytes at
 * @buf (UDP checksum 0: none, allowed over IPv4).
 */
static void put_ip_udp(uint8_t *buf, const struct ipv4_flow *f,
		       size_t l4_len)
{
	size_t tot = L4_OFF + l4_len;
	uint16_t c;

	memset(buf, 0, L4_OFF);
	buf[0] = 0x45;
	buf[1] = f->tos;
	rcore_put_be16(buf + 2, (uint16_t)tot);
	rcore_put_be16(buf + 4, f->id);
	rcore_put_be16(buf + 6, f->frag);
	buf[8] = f->ttl;
	buf[9] = RCORE_IPPROTO_UDP;
	memcpy(buf + 12, &f->saddr, 4);
	memcpy(buf + 16, &f->daddr, 4);
	c = ip_csum(buf, IP_HLEN);
	rcore_put_be16(buf + 10, c);
	rcore_put_be16(buf + 20, f->sport);
	rcore_put_be16(buf + 22, RCORE_ROCEV2_PORT);
	rcore_put_be16(buf + 24, (uint16_t)(UDP_HLEN + l4_len));
	rcore_put_be16(buf + 26, 0);
}

/* Recompute the ICRC of the whole IP packet @buf of @len bytes. */
static void reseal(uint8_t *buf, size_t len)
{
	uint32_t icrc;

	if (rcore_icrc_calc(buf, len - RCORE_ICRC_LEN, &icrc) == RCORE_OK)
		rcore_icrc_put(buf + len - RCORE_ICRC_LEN, icrc);
}

/**
 * build_pkt - a whole IPv4 RoCEv2 packet
 * @buf: destination, PKT_MAX bytes
 * @f: IP/UDP fields
 * @h: BTH and extension headers (@h->bth.pad is set here)
 * @payload: payload bytes (may be NULL for zeros)
 * @plen: payload length
 *
 * Return: the IP packet's length, ICRC included; 0 when rcore cannot build
 * the headers (unknown opcode).
 */
static size_t build_pkt(uint8_t *buf, const struct ipv4_flow *f,
			struct rcore_pkt *h, const uint8_t *payload,
			size_t plen)
{
	uint8_t pad = rcore_pad_len((uint32_t)plen);
	size_t len;
	int hl;

	h->bth.pad = pad;
	hl = rcore_pkt_build(buf + L4_OFF, PKT_MAX - L4_OFF, h);
	if (hl < 0)
		return 0;
	len = L4_OFF + (size_t)hl;
	if (len + plen + pad + RCORE_ICRC_LEN > PKT_MAX)
		return 0;
	if (payload)
		memcpy(buf + len, payload, plen);
	else
		memset(buf + len, 0, plen);
	len += plen;
	memset(buf + len, 0, pad);
	len += pad + RCORE_ICRC_LEN;
	put_ip_udp(buf, f, len - L4_OFF);
	reseal(buf, len);
	return len;
}

/*
 * A packet of @l4_len raw transport bytes (@raw, any content) with a
 * correct ICRC over them when @seal and there is room for one.
 */
static size_t build_raw(uint8_t *buf, const struct ipv4_flow *f,
			const uint8_t *raw, size_t l4_len, bool seal)
{
	memcpy(buf + L4_OFF, raw, l4_len);
	put_ip_udp(buf, f, l4_len);
	if (seal && l4_len >= RCORE_BTH_LEN + RCORE_ICRC_LEN)
		reseal(buf, L4_OFF + l4_len);
	return L4_OFF + l4_len;
}

/* ---------------------------------------------------------------------- */
/* Self-test against a capture                                             */
/* ---------------------------------------------------------------------- */

static int selftest(const char *path)
{
	struct pcap_file pf;
	struct pcap_roce r;
	struct ipv4_flow f;
	struct rcore_pkt p;
	unsigned int n = 0, i, total = 0;
	uint8_t buf[PKT_MAX];
	size_t len;
	int rc;

	/* Count first: the plan comes before the cases. */
	if (pcap_open(&pf, path))
		return 2;
	while ((rc = pcap_next_roce(&pf, &r)) == 1)
		if (!r.v6)
			total++;
	pcap_close(&pf);
	if (rc < 0 || !total) {
		printf("1..0 # SKIP no IPv4 RoCEv2 packets in %s\n", path);
		return rc < 0 ? 1 : 0;
	}
	printf("1..%u\n", total + 1);
	if (pcap_open(&pf, path))
		return 2;
	while (pcap_next_roce(&pf, &r) == 1) {
		const uint8_t *ip = r.ip, *bth = ip + r.bth_off;
		size_t blen = r.ip_len - r.bth_off;
		char name[96];

		if (r.v6)
			continue;
		vt_case_begin();
		n++;
		rc = rcore_pkt_parse(bth, blen, &p);
		snprintf(name, sizeof(name),
			 "captured packet %u (%s, %zu bytes) rebuilt byte for byte",
			 n, rc ? "?" : p.info->name, r.ip_len);
		if (rc) {
			vt_bad("packet %u does not parse: %s", n,
			    rcore_strerror(rc));
			vt_case_end(name);
			continue;
		}
		memset(&f, 0, sizeof(f));
		memcpy(&f.saddr, ip + 12, 4);
		memcpy(&f.daddr, ip + 16, 4);
		f.tos = ip[1];
		f.id = rcore_get_be16(ip + 4);
		f.frag = rcore_get_be16(ip + 6);
		f.ttl = ip[8];
		f.sport = rcore_get_be16(ip + r.bth_off - UDP_HLEN);
		len = build_pkt(buf, &f, &p, bth + p.hdr_len, p.payload_len);
		if (len != r.ip_len) {
			vt_bad("packet %u: built %zu bytes, capture has %zu", n, len,
			    r.ip_len);
		} else if (memcmp(buf, ip, len)) {
			for (i = 0; buf[i] == ip[i]; i++)
				;
			vt_bad("packet %u: first difference at byte %u (IP header 0..19, UDP 20..27, BTH 28..): built 0x%02x, captured 0x%02x",
			    n, i, buf[i], ip[i]);
		}
		vt_case_end(name);
	}
	pcap_close(&pf);

	/* The "bad ICRC" class relies on the check seeing one flipped bit. */
	vt_case_begin();
	memset(&f, 0, sizeof(f));
	f.saddr = htonl(0x0a4d000a);
	f.daddr = htonl(0x0a4d000b);
	f.sport = 0xc000;
	f.id = 1;
	f.ttl = 64;
	f.frag = 0x4000;
	memset(&p, 0, sizeof(p));
	p.bth.opcode = RCORE_RC_WRITE_ONLY;
	p.bth.pkey = RCORE_DEFAULT_PKEY;
	p.bth.dqpn = 0x11;
	p.reth.len = 5;
	len = build_pkt(buf, &f, &p, (const uint8_t *)"hello", 5);
	if (len < L4_OFF + 16 + 8 || rcore_icrc_check(buf, len) != RCORE_OK) {
		vt_bad("a built WRITE_ONLY does not pass rcore_icrc_check");
	} else {
		buf[len - 8] ^= 1;
		if (rcore_icrc_check(buf, len) != RCORE_ERR_ICRC)
			vt_bad("a flipped payload bit passes rcore_icrc_check");
	}
	vt_case_end("a built packet passes the ICRC check, one flipped bit fails it");
	return vt_tap_failed ? 1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Devices and the QP pair                                                 */
/* ---------------------------------------------------------------------- */

/* Open device @d called @name (its IPv4 RoCE v2 GID) or give up. */
static void dev_open(struct vt_dev *d, const char *name)
{
	if (vt_dev_open(d, name, false))
		vt_die("%s", d->error);
}

/* The IPv4 address of device @d's GID, network order. */
static uint32_t dev_addr(const struct vt_dev *d)
{
	uint32_t a;

	memcpy(&a, d->gid.raw + 12, 4);
	return a;
}

#define PAGE		4096u
#define MEM_LEN		(4 * PAGE)
#define MR_OFF		(PAGE + 100)	/* the MR within the memory */
#define MR_LEN		8000u
#define A_PSN		0xfffff0u

/**
 * struct pair - A on the first device, B (the target) on the second
 * @pd_a, @cq_a, @qp_a, @pd_b, @cq_b, @qp_b: verbs objects
 * @mem: B's memory: guard, the MR (MR_OFF, MR_LEN), guard
 * @want: what @mem must hold
 * @mr: B's MR over @mem + MR_OFF
 * @epsn: the PSN B expects next (it started at A's sq_psn)
 * @mtu: the path MTU in bytes
 * @probe: probe counter (each probe writes distinct bytes)
 */
struct pair {
	struct ibv_pd *pd_a, *pd_b;
	struct ibv_cq *cq_a, *cq_b;
	struct ibv_qp *qp_a, *qp_b;
	uint8_t *mem;
	uint8_t want[MEM_LEN];
	struct ibv_mr *mr;
	uint32_t epsn;
	uint32_t mtu;
	unsigned int probe;
};

static const char *name_a = "rodp0", *name_b = "rodp1";
static struct vt_dev dev_a, dev_b;

static struct ibv_qp *make_qp(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };

	return vt_qp_create(pd, cq, cq, &cap, false);
}

static void pair_close(struct pair *p)
{
	if (p->qp_a)
		ibv_destroy_qp(p->qp_a);
	if (p->qp_b)
		ibv_destroy_qp(p->qp_b);
	if (p->mr)
		ibv_dereg_mr(p->mr);
	if (p->cq_a)
		ibv_destroy_cq(p->cq_a);
	if (p->cq_b)
		ibv_destroy_cq(p->cq_b);
	if (p->pd_a)
		ibv_dealloc_pd(p->pd_a);
	if (p->pd_b)
		ibv_dealloc_pd(p->pd_b);
	p->qp_a = p->qp_b = NULL;
	p->mr = NULL;
	p->cq_a = p->cq_b = NULL;
	p->pd_a = p->pd_b = NULL;
}

/*
 * A fresh pair; B's memory keeps its content (and @want), so that a
 * change made through an earlier pair is still seen.
 */
static void pair_open(struct pair *p)
{
	struct vt_path path;
	int rc;

	pair_close(p);
	p->pd_a = ibv_alloc_pd(dev_a.ctx);
	p->pd_b = ibv_alloc_pd(dev_b.ctx);
	p->cq_a = ibv_create_cq(dev_a.ctx, 64, NULL, NULL, 0);
	p->cq_b = ibv_create_cq(dev_b.ctx, 64, NULL, NULL, 0);
	if (!p->pd_a || !p->pd_b || !p->cq_a || !p->cq_b)
		vt_die("PD/CQ: %s", strerror(errno));
	p->mr = ibv_reg_mr(p->pd_b, p->mem + MR_OFF, MR_LEN,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC);
	if (!p->mr)
		vt_die("ibv_reg_mr on %s: %s", dev_b.name, strerror(errno));
	p->qp_a = make_qp(p->pd_a, p->cq_a);
	p->qp_b = make_qp(p->pd_b, p->cq_b);
	if (!p->qp_a || !p->qp_b)
		vt_die("ibv_create_qp(RC): %s", strerror(errno));
	/* The smaller active MTU; 4 RDMA reads and atomics each way. */
	vt_path_init(&path, &dev_a, &dev_b);
	path.rd_atomic = 4;
	path.dest_rd_atomic = 4;
	p->epsn = A_PSN;
	p->mtu = vt_mtu_bytes(path.mtu);
	rc = vt_qp_connect(p->qp_a, &path, &dev_a, p->qp_b->qp_num, A_PSN,
			   0x100, &dev_b.gid);
	if (!rc)
		rc = vt_qp_connect(p->qp_b, &path, &dev_b, p->qp_a->qp_num,
				   0x100, A_PSN, &dev_a.gid);
	if (rc)
		vt_die("connecting QP %u on %s and QP %u on %s: %s",
		    p->qp_a->qp_num, dev_a.name, p->qp_b->qp_num, dev_b.name,
		    vt_errmsg());
}

/* ---------------------------------------------------------------------- */
/* Counters                                                                */
/* ---------------------------------------------------------------------- */

enum cnt {
	C_RX_PKTS, C_DROP_ICRC, C_DROP_HDR, C_DROP_NOQP, C_DROP_STATE,
	C_DROP_SEQ, C_NAK_SEQ, C_NAK_INV, C_NAK_ACCESS, C_NAK_OP, C_RNR_NAK,
	C_DUP_REQ,
	C_MAX
};

static const char *const cnt_names[C_MAX] = {
	"rx_pkts", "rx_drop_icrc", "rx_drop_hdr", "rx_drop_noqp",
	"rx_drop_state", "rx_drop_seq", "tx_nak_seq", "tx_nak_inv", "tx_nak_access",
	"tx_nak_op", "tx_rnr_nak", "rx_dup_req",
};

struct counters {
	long long v[C_MAX];
};

/* -1 when the counter is missing. */
static long long read_counter(const char *dev, const char *name)
{
	uint64_t v;

	return vt_hw_counter(dev, name, &v) ? (long long)v : -1;
}

static void read_counters(struct counters *c)
{
	unsigned int i;

	/* The RDMA core caches hardware counters for 10 ms. */
	usleep(20 * 1000);
	for (i = 0; i < C_MAX; i++)
		c->v[i] = read_counter(dev_b.name, cnt_names[i]);
}

/*
 * Expected counter deltas: @want[i] >= 0 is an exact delta, -1 means
 * "not checked".  Missing counters fail the case.
 */
static void expect_counters(const struct counters *before,
			    const struct counters *after, const long long *want)
{
	unsigned int i;

	for (i = 0; i < C_MAX; i++) {
		long long d = after->v[i] - before->v[i];

		if (want[i] < 0)
			continue;
		if (before->v[i] < 0 || after->v[i] < 0)
			vt_bad("counter %s/%s missing (%s)", dev_b.name,
			    cnt_names[i], "hw_counters");
		else if (d != want[i])
			vt_bad("counter %s moved by %lld, want %lld", cnt_names[i],
			    d, want[i]);
	}
}

/*
 * A class's expected counter deltas: @rx_pkts received, no other counter
 * moved except rx_dup_req (not checked); the class then sets its own.
 */
static void want_none(long long *want, long long rx_pkts)
{
	unsigned int i;

	for (i = 0; i < C_MAX; i++)
		want[i] = 0;
	want[C_RX_PKTS] = rx_pkts;
	want[C_DUP_REQ] = -1;
}

static long long delta(const struct counters *b, const struct counters *a,
		       enum cnt i)
{
	return a->v[i] - b->v[i];
}

/* Wait until B has received @n more packets than @before counted. */
static void wait_rx(const struct counters *before, long long n)
{
	long long now = 0;
	int i;

	for (i = 0; i < 250; i++) {
		now = read_counter(dev_b.name, cnt_names[C_RX_PKTS]);
		if (now < 0 || now - before->v[C_RX_PKTS] >= n)
			return;
		usleep(20 * 1000);
	}
	vt_bad("%s received %lld of the %lld packets sent within 5 s",
	    dev_b.name, now - before->v[C_RX_PKTS], n);
}

/* ---------------------------------------------------------------------- */
/* Injection                                                               */
/* ---------------------------------------------------------------------- */

static int raw_fd = -1;
static struct ipv4_flow flow;
/* A capture of what B answers, on A's interface (--capture IF in --netns) */
static int cap_fd = -1, cap_ifindex;
static const char *cap_if = "ve0";
static struct sockaddr_in dst;
static unsigned int sent;

static void inject(uint8_t *buf, size_t len)
{
	ssize_t n;

	/* The IP ID is covered by the ICRC: keep the built one. */
	n = sendto(raw_fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst));
	if (n != (ssize_t)len)
		vt_die("sendto %zu bytes: %s", len, n < 0 ? strerror(errno) :
		    "short write");
	sent++;
	if (!++flow.id)
		flow.id = 1;
	/* Do not outrun the receiving socket. */
	if (!(sent % 8))
		usleep(2000);
}

static void hdr_init(struct rcore_pkt *h, uint8_t opcode, uint32_t dqpn,
		     uint32_t psn)
{
	memset(h, 0, sizeof(*h));
	h->bth.opcode = opcode;
	h->bth.pkey = RCORE_DEFAULT_PKEY;
	h->bth.dqpn = dqpn;
	h->bth.psn = psn & RCORE_PSN_MASK;
	h->bth.ackreq = true;
}

/* An RDMA WRITE (ONLY or FIRST) packet to B's MR at @off. */
static size_t mk_write(uint8_t *buf, const struct pair *p, uint8_t opcode,
		       uint32_t psn, uint32_t off, uint32_t rkey,
		       uint32_t reth_len, const uint8_t *data, size_t len)
{
	struct rcore_pkt h;

	hdr_init(&h, opcode, p->qp_b->qp_num, psn);
	h.reth.va = (uintptr_t)(p->mem + MR_OFF + off);
	h.reth.rkey = rkey;
	h.reth.len = reth_len;
	return build_pkt(buf, &flow, &h, data, len);
}

static bool mem_same(const struct pair *p, const char *what, bool mr_too)
{
	size_t i;

	for (i = 0; i < MEM_LEN; i++) {
		if (!mr_too && i >= MR_OFF && i < MR_OFF + MR_LEN)
			continue;
		if (p->mem[i] != p->want[i])
			break;
	}
	if (i == MEM_LEN)
		return true;
	if (i < MR_OFF)
		vt_bad("%s: memory %zu bytes before the MR changed: 0x%02x, want 0x%02x",
		    what, MR_OFF - i, p->mem[i], p->want[i]);
	else if (i >= MR_OFF + MR_LEN)
		vt_bad("%s: memory %zu bytes after the MR's end changed: 0x%02x, want 0x%02x",
		    what, i - MR_OFF - MR_LEN, p->mem[i], p->want[i]);
	else
		vt_bad("%s: MR byte %zu changed: 0x%02x, want 0x%02x", what,
		    i - MR_OFF, p->mem[i], p->want[i]);
	return false;
}

/*
 * Inject a valid 16-byte RDMA WRITE (BTH P_Key @pkey) at B's expected PSN
 * and wait for it to land: B is alive, and everything sent to its QP
 * before has been processed (B handles its packets in order).
 */
static bool probe_pkey(struct pair *p, const char *what, uint16_t pkey)
{
	uint8_t buf[PKT_MAX], data[16];
	uint32_t off = 16 * (p->probe % (MR_LEN / 16));
	struct rcore_pkt h;
	size_t len, i;
	int t;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0x5a ^ (p->probe * 7 + i * 13));
	if (!memcmp(p->mem + MR_OFF + off, data, sizeof(data)))
		data[0] ^= 0xff;
	p->probe++;
	hdr_init(&h, RCORE_RC_WRITE_ONLY, p->qp_b->qp_num, p->epsn);
	h.bth.pkey = pkey;
	h.reth.va = (uintptr_t)(p->mem + MR_OFF + off);
	h.reth.rkey = p->mr->rkey;
	h.reth.len = sizeof(data);
	len = build_pkt(buf, &flow, &h, data, sizeof(data));
	inject(buf, len);
	for (t = 0; t < 500; t++) {
		if (!memcmp(p->mem + MR_OFF + off, data, sizeof(data)))
			break;
		usleep(10 * 1000);
	}
	if (t == 500) {
		vt_bad("%s: a valid WRITE injected at PSN 0x%06x did not land within 5 s (QP %u on %s in %s)",
		    what, p->epsn, p->qp_b->qp_num, dev_b.name,
		    vt_qp_state_str(vt_qp_state(p->qp_b)));
		return false;
	}
	memcpy(p->want + MR_OFF + off, data, sizeof(data));
	p->epsn = rcore_psn_add(p->epsn, 1);
	return true;
}

static bool probe(struct pair *p, const char *what)
{
	return probe_pkey(p, what, RCORE_DEFAULT_PKEY);
}

/*
 * The end of a class: B's counters moved as @want says since @b, and its
 * memory holds what @p->want says.
 */
static void class_check(struct pair *p, const struct counters *b,
			const long long *want, const char *what)
{
	struct counters a;

	read_counters(&a);
	expect_counters(b, &a, want);
	mem_same(p, what, true);
}

/* B must be in the error state now (a NAK ended the connection). */
static void expect_error_state(struct pair *p, const char *what)
{
	int s = IBV_QPS_RESET;
	int t;

	for (t = 0; t < 500; t++) {
		s = vt_qp_state(p->qp_b);
		if (s == IBV_QPS_ERR)
			return;
		usleep(10 * 1000);
	}
	vt_bad("%s: QP %u on %s is in %s, want ERR after the NAK", what,
	    p->qp_b->qp_num, dev_b.name, vt_qp_state_str(s));
}

/* ---------------------------------------------------------------------- */
/* Classes                                                                 */
/* ---------------------------------------------------------------------- */

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rnd();
}

/* The injector is right: a valid WRITE lands, counters say so. */
static void class_valid(struct pair *p)
{
	long long want[C_MAX];
	struct counters b;

	vt_case_begin();
	read_counters(&b);
	probe(p, "valid WRITE");
	probe(p, "second valid WRITE");
	want_none(want, 2);
	class_check(p, &b, want, "after two valid WRITEs");
	vt_case_end("two valid RDMA WRITEs injected at the live QP land");
}

/* Valid packets with a wrong ICRC: dropped. */
static void class_icrc(struct pair *p)
{
	long long want[C_MAX];
	uint8_t buf[PKT_MAX], data[64];
	struct counters b;
	unsigned int i;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < 6; i++) {
		rnd_fill(data, sizeof(data));
		len = mk_write(buf, p, RCORE_RC_WRITE_ONLY, p->epsn, 64 * i,
			       p->mr->rkey, sizeof(data), data, sizeof(data));
		switch (i % 3) {
		case 0:			/* ICRC bytes */
			buf[len - 1 - i / 3] ^= 0x40;
			break;
		case 1:			/* payload after sealing */
			buf[len - 20] ^= 1;
			break;
		default:		/* RETH after sealing */
			buf[L4_OFF + RCORE_BTH_LEN + 11] ^= 0x10;
			break;
		}
		inject(buf, len);
	}
	probe(p, "after bad ICRCs");
	want_none(want, 7);
	want[C_DROP_ICRC] = 6;
	class_check(p, &b, want, "after bad ICRCs");
	vt_case_end("bad ICRC: dropped (rx_drop_icrc), memory unchanged");
}

/* Shorter than a BTH, than BTH + ICRC, than BTH + RETH. */
static void class_truncated(struct pair *p)
{
	static const size_t garbage[] = { 0, 1, 8, 11 };
	long long want[C_MAX];
	uint8_t buf[PKT_MAX], raw[64];
	struct rcore_pkt h;
	struct counters b;
	unsigned int i;
	size_t len, n = 0;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < 4; i++) {
		rnd_fill(raw, sizeof(raw));
		len = build_raw(buf, &flow, raw, garbage[i], false);
		inject(buf, len);
		n++;
	}
	/* A BTH of WRITE_FIRST aimed at the QP: no ICRC, then no RETH. */
	hdr_init(&h, RCORE_RC_WRITE_FIRST, p->qp_b->qp_num, p->epsn);
	rcore_bth_encode(raw, sizeof(raw), &h.bth);
	len = build_raw(buf, &flow, raw, RCORE_BTH_LEN, false);
	inject(buf, len);
	memset(raw + RCORE_BTH_LEN, 0, 4);
	len = build_raw(buf, &flow, raw, RCORE_BTH_LEN + RCORE_ICRC_LEN, true);
	inject(buf, len);
	/* BTH + half a RETH + ICRC. */
	h.reth.va = (uintptr_t)(p->mem + MR_OFF);
	h.reth.rkey = p->mr->rkey;
	h.reth.len = 1024;
	rcore_reth_encode(raw + RCORE_BTH_LEN, sizeof(raw) - RCORE_BTH_LEN,
			  &h.reth);
	len = build_raw(buf, &flow, raw,
			RCORE_BTH_LEN + 8 + RCORE_ICRC_LEN, true);
	inject(buf, len);
	/* A READ request cut inside its RETH. */
	h.bth.opcode = RCORE_RC_READ_REQ;
	rcore_bth_encode(raw, sizeof(raw), &h.bth);
	len = build_raw(buf, &flow, raw,
			RCORE_BTH_LEN + 12 + RCORE_ICRC_LEN, true);
	inject(buf, len);
	n += 4;
	probe(p, "after truncated packets");
	want_none(want, (long long)n + 1);
	want[C_DROP_HDR] = (long long)n;
	class_check(p, &b, want, "after truncated packets");
	vt_case_end("truncated headers (< BTH, no ICRC, < BTH+RETH): dropped (rx_drop_hdr)");
}

/*
 * What B made of one packet since @b: dropped as unparseable (@hdr),
 * NAKed as an invalid request (@inv), or anything else (@other).  True
 * when it made anything of it yet.
 */
static bool opcode_verdict(const struct counters *b, long long *hdr,
			   long long *inv, long long *other)
{
	struct counters a;

	read_counters(&a);
	*hdr = delta(b, &a, C_DROP_HDR);
	*inv = delta(b, &a, C_NAK_INV);
	*other = delta(b, &a, C_DROP_ICRC) + delta(b, &a, C_DROP_NOQP) +
		 delta(b, &a, C_DROP_STATE) + delta(b, &a, C_DROP_SEQ) +
		 delta(b, &a, C_NAK_SEQ) + delta(b, &a, C_NAK_ACCESS) +
		 delta(b, &a, C_NAK_OP);
	return *hdr + *inv + *other;
}

/*
 * Reserved RC opcodes and other transports' opcodes at the expected PSN.
 * Another transport's packet is dropped; a reserved RC opcode is either
 * dropped as unparseable or NAKed as an invalid request (then B is in
 * the error state and the pair is re-created).
 */
static void class_opcodes(struct pair *p)
{
	static const uint8_t ops[] = {
		0x15, 0x18, 0x1b, 0x1f,			/* RC reserved */
		RCORE_UC_WRITE_ONLY, RCORE_UC_SEND_ONLY,
		RCORE_UD_SEND_ONLY, RCORE_CNP,
		0x40, 0x55, 0xa0, 0xc0, 0xe0, 0xff,	/* RD, XRC, others */
	};
	uint8_t buf[PKT_MAX], raw[64];
	struct counters b;
	struct rcore_pkt h;
	unsigned int i, k, naks = 0;
	size_t len;

	vt_case_begin();
	for (i = 0; i < sizeof(ops); i++) {
		bool rc_reserved = ops[i] >> 5 == RCORE_TR_RC;
		long long hdr, inv, other;

		read_counters(&b);
		hdr_init(&h, ops[i], p->qp_b->qp_num, p->epsn);
		h.reth.va = (uintptr_t)(p->mem + MR_OFF);
		h.reth.rkey = p->mr->rkey;
		h.reth.len = 16;
		h.deth.qkey = 0x11111111;
		len = build_pkt(buf, &flow, &h, NULL, 16);
		if (!len) {
			/* rcore does not know it: BTH + 16 bytes + ICRC. */
			rcore_bth_encode(raw, sizeof(raw), &h.bth);
			memset(raw + RCORE_BTH_LEN, 0x33, 20);
			len = build_raw(buf, &flow, raw,
					RCORE_BTH_LEN + 16 + RCORE_ICRC_LEN,
					true);
		}
		inject(buf, len);
		wait_rx(&b, 1);
		/*
		 * rx_pkts moves in the softirq, the verdict in the QP's work
		 * item: wait for the verdict (a loaded host delays it), then
		 * a little more for a second one that must not come.
		 */
		for (k = 0; k < 250; k++) {
			usleep(20 * 1000);
			if (opcode_verdict(&b, &hdr, &inv, &other))
				break;
		}
		usleep(50 * 1000);
		opcode_verdict(&b, &hdr, &inv, &other);
		if (rc_reserved && inv == 1 && !hdr && !other) {
			naks++;
			expect_error_state(p, "reserved RC opcode");
			mem_same(p, "after a reserved RC opcode", true);
			pair_open(p);
			continue;
		}
		if (hdr != 1 || inv || other)
			vt_bad("opcode 0x%02x: rx_drop_hdr +%lld, tx_nak_inv +%lld, others +%lld; want a drop (rx_drop_hdr +1)%s",
			    ops[i], hdr, inv, other,
			    rc_reserved ? " or an invalid-request NAK" : "");
		if (vt_qp_state(p->qp_b) != IBV_QPS_RTS)
			vt_bad("opcode 0x%02x: QP now in %s, want RTS", ops[i],
			    vt_qp_state_str(vt_qp_state(p->qp_b)));
	}
	vt_diag("reserved RC opcodes: %u of 4 NAKed as invalid requests, the rest dropped",
		naks);
	probe(p, "after foreign opcodes");
	mem_same(p, "after foreign opcodes", true);
	vt_case_end("reserved and foreign opcodes: dropped or NAKed, memory unchanged");
}

/* Responses (ACK, read response, atomic ACK) sent to a pure responder. */
static void class_responses(struct pair *p)
{
	static const uint8_t ops[] = {
		RCORE_RC_ACK, RCORE_RC_ATOMIC_ACK, RCORE_RC_READ_RESP_ONLY,
		RCORE_RC_READ_RESP_FIRST, RCORE_RC_READ_RESP_LAST,
	};
	long long want[C_MAX], drops;
	uint8_t buf[PKT_MAX];
	struct counters b, a;
	struct rcore_pkt h;
	unsigned int i;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < sizeof(ops); i++) {
		hdr_init(&h, ops[i], p->qp_b->qp_num, 0x100 + i);
		h.bth.ackreq = false;
		h.aeth.syndrome = i & 1 ?
			rcore_aeth_nak(RCORE_NAK_INVALID_REQ) :
			rcore_aeth_ack(0x1f);
		h.aeth.msn = i;
		len = build_pkt(buf, &flow, &h, NULL,
				ops[i] >= RCORE_RC_READ_RESP_FIRST &&
				ops[i] <= RCORE_RC_READ_RESP_ONLY ?
				(ops[i] == RCORE_RC_READ_RESP_FIRST ?
				 p->mtu : 64) : 0);
		if (!len)
			vt_die("cannot build opcode 0x%02x", ops[i]);
		inject(buf, len);
	}
	probe(p, "after stray responses");
	read_counters(&a);
	for (i = 0; i < C_MAX; i++)
		want[i] = i >= C_NAK_SEQ && i <= C_RNR_NAK ? 0 : -1;
	want[C_RX_PKTS] = sizeof(ops) + 1;
	expect_counters(&b, &a, want);
	drops = delta(&b, &a, C_DROP_HDR) + delta(&b, &a, C_DROP_NOQP) +
		delta(&b, &a, C_DROP_STATE) + delta(&b, &a, C_DROP_SEQ) +
		delta(&b, &a, C_DROP_ICRC);
	if (drops != (long long)sizeof(ops))
		vt_bad("%zu stray responses: rx_drop_* moved by %lld in all",
		    sizeof(ops), drops);
	if (vt_qp_state(p->qp_b) != IBV_QPS_RTS)
		vt_bad("QP in %s after stray responses, want RTS",
		    vt_qp_state_str(vt_qp_state(p->qp_b)));
	mem_same(p, "after stray responses", true);
	vt_case_end("responses sent to a responder that asked nothing: dropped");
}

/*
 * Valid WRITEs to QPs that do not exist, and one to QP1, which exists
 * (ib_mad's GSI QP) but is a UD QP: an RC packet is not for it.
 */
static void class_noqp(struct pair *p)
{
	uint32_t qpns[] = { p->qp_b->qp_num ^ 0x800, 0xffffff, 0, 1 };
	long long want[C_MAX];
	uint8_t buf[PKT_MAX], data[32];
	struct counters b;
	struct rcore_pkt h;
	unsigned int i;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < 4; i++) {
		rnd_fill(data, sizeof(data));
		hdr_init(&h, RCORE_RC_WRITE_ONLY, qpns[i], p->epsn);
		h.reth.va = (uintptr_t)(p->mem + MR_OFF);
		h.reth.rkey = p->mr->rkey;
		h.reth.len = sizeof(data);
		len = build_pkt(buf, &flow, &h, data, sizeof(data));
		inject(buf, len);
	}
	probe(p, "after wrong QPNs");
	want_none(want, 5);
	want[C_DROP_NOQP] = 3;
	want[C_DROP_HDR] = 1;
	class_check(p, &b, want, "after wrong QPNs");
	vt_case_end("wrong destination QPN (unknown, 0xffffff, QP0: rx_drop_noqp; an RC WRITE to QP1, the GSI QP: rx_drop_hdr): dropped");
}

/*
 * The P_Key check: the table holds only the default P_Key 0xffff, a full
 * member, which any P_Key with the same low 15 bits matches (0x7fff, a
 * limited member, included).  Every other P_Key is dropped.
 */
static void class_pkey(struct pair *p)
{
	static const uint16_t bad[] = { 0x0000, 0x1234, 0x8001, 0xfffe };
	uint8_t buf[PKT_MAX], data[32];
	long long want[C_MAX];
	struct counters b;
	struct rcore_pkt h;
	unsigned int i;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < 4; i++) {
		rnd_fill(data, sizeof(data));
		hdr_init(&h, RCORE_RC_WRITE_ONLY, p->qp_b->qp_num, p->epsn);
		h.bth.pkey = bad[i];
		h.reth.va = (uintptr_t)(p->mem + MR_OFF + 64 * i);
		h.reth.rkey = p->mr->rkey;
		h.reth.len = sizeof(data);
		len = build_pkt(buf, &flow, &h, data, sizeof(data));
		inject(buf, len);
	}
	probe(p, "after foreign P_Keys");
	want_none(want, 5);
	want[C_DROP_HDR] = 4;
	class_check(p, &b, want, "after foreign P_Keys");

	/* A limited member's P_Key matches the full default one. */
	probe_pkey(p, "a WRITE with P_Key 0x7fff (limited member)", 0x7fff);
	mem_same(p, "after a limited member's P_Key", true);
	vt_case_end("P_Keys 0x0000, 0x1234, 0x8001, 0xfffe: dropped (rx_drop_hdr); 0x7fff (limited member) lands");
}

/* ---------------------------------------------------------------------- */
/* A QP whose creation fails (issue 9, item 5)                             */
/* ---------------------------------------------------------------------- */

#define INJECT_DIR	"/sys/kernel/debug/rodp/inject"

/* Write @val to rodp.ko's injection file @name; false on failure. */
static bool inject_set(const char *name, long val)
{
	char path[128];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), INJECT_DIR "/%s", name);
	f = fopen(path, "w");
	if (!f)
		return false;
	rc = fprintf(f, "%ld\n", val);
	return (fclose(f) == 0) && rc > 0;
}

static long inject_get(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), INJECT_DIR "/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* rodp.ko's injection points, debugfs mounted if it was not. */
static bool inject_ready(void)
{
	struct stat st;

	if (stat(INJECT_DIR, &st) &&
	    mount("none", "/sys/kernel/debug", "debugfs", 0, NULL) &&
	    errno != EBUSY)
		return false;
	return !stat(INJECT_DIR, &st);
}

struct create_job {
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	int err;
};

static void *create_thread(void *arg)
{
	struct create_job *j = arg;

	j->qp = make_qp(j->pd, j->cq);
	j->err = j->qp ? 0 : errno;
	return NULL;
}

/*
 * A creation that fails after its QP number was allocated.  The injection
 * point holds create_qp for a while at its last step, then fails it;
 * meanwhile valid WRITEs arrive for that QP number (the next one the
 * cyclic allocator gives).  The QP must never have been visible to the
 * receive path: every one of them is dropped as "no such QP", none is
 * queued for the QP about to be freed (which the old order allowed: it
 * published the QP before its last steps).
 */
static void class_create_fails(struct pair *p)
{
	const unsigned int n = 8;
	struct create_job job = { .pd = p->pd_b, .cq = p->cq_b };
	long long want[C_MAX];
	uint8_t buf[PKT_MAX], data[32];
	struct rcore_pkt h;
	struct counters b;
	struct ibv_qp *qp;
	pthread_t th;
	long hits;
	uint32_t qpn;
	unsigned int i;
	size_t len;
	int k;

	vt_case_begin();
	if (!inject_ready()) {
		vt_bad("no %s: rodp.ko built without RODP_FAULT_INJECT?",
		    INJECT_DIR);
		goto out;
	}
	qp = make_qp(p->pd_b, p->cq_b);
	if (!qp) {
		vt_bad("ibv_create_qp: %s", strerror(errno));
		goto out;
	}
	qpn = qp->qp_num + 1;
	ibv_destroy_qp(qp);
	hits = inject_get("create_qp_hits");
	if (!inject_set("create_qp_delay", 1500) ||
	    !inject_set("create_qp", 1)) {
		vt_bad("cannot arm %s/create_qp: %s", INJECT_DIR,
		    strerror(errno));
		goto out;
	}
	read_counters(&b);
	if (pthread_create(&th, NULL, create_thread, &job)) {
		vt_bad("pthread_create failed");
		goto out_disarm;
	}
	/* The countdown reaches 0 when the creation enters the window. */
	for (k = 0; k < 500 && inject_get("create_qp") != 0; k++)
		usleep(2000);
	if (k == 500)
		vt_bad("the creation never reached the injection point");
	for (i = 0; i < n; i++) {
		rnd_fill(data, sizeof(data));
		hdr_init(&h, RCORE_RC_WRITE_ONLY, qpn, i);
		h.reth.va = (uintptr_t)(p->mem + MR_OFF);
		h.reth.rkey = p->mr->rkey;
		h.reth.len = sizeof(data);
		len = build_pkt(buf, &flow, &h, data, sizeof(data));
		inject(buf, len);
	}
	wait_rx(&b, n);
	if (inject_get("create_qp") != 0)
		vt_bad("the injection point was re-armed meanwhile");
	pthread_join(th, NULL);
	if (job.qp) {
		vt_bad("QP %u created, want the injected failure", job.qp->qp_num);
		ibv_destroy_qp(job.qp);
	} else if (job.err != ENOMEM) {
		vt_bad("ibv_create_qp failed with %s, want ENOMEM (injected)",
		    strerror(job.err));
	}
	if (inject_get("create_qp_hits") != hits + 1)
		vt_bad("create_qp_hits %ld, want %ld", inject_get("create_qp_hits"),
		    hits + 1);
	want_none(want, n);
	want[C_DROP_NOQP] = n;
	class_check(p, &b, want, "after packets for a QP being created");
	probe(p, "after a failed QP creation");
	/* The number space is fine: the next creation works. */
	qp = make_qp(p->pd_b, p->cq_b);
	if (!qp)
		vt_bad("ibv_create_qp after the failure: %s", strerror(errno));
	else
		ibv_destroy_qp(qp);
out_disarm:
	inject_set("create_qp", 0);
	inject_set("create_qp_delay", 0);
out:
	vt_case_end("create_qp failing after its QPN was allocated: packets for that QPN meanwhile dropped as no-QP, the QP never seen");
}

/* PSNs far ahead of ePSN: one sequence NAK, then silent drops. */
static void class_psn_ahead(struct pair *p)
{
	long long want[C_MAX];
	uint8_t buf[PKT_MAX], data[32];
	struct counters b;
	unsigned int i;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < 3; i++) {
		rnd_fill(data, sizeof(data));
		len = mk_write(buf, p, RCORE_RC_WRITE_ONLY,
			       rcore_psn_add(p->epsn, 0x400000 + (int32_t)i),
			       32 * i, p->mr->rkey, sizeof(data), data,
			       sizeof(data));
		inject(buf, len);
	}
	/* The expected PSN still works and ends the NAK latch. */
	probe(p, "after PSNs ahead of the window");
	want_none(want, 4);
	want[C_NAK_SEQ] = 1;
	want[C_DROP_SEQ] = 2;
	class_check(p, &b, want, "after PSNs ahead");
	if (vt_qp_state(p->qp_b) != IBV_QPS_RTS)
		vt_bad("QP in %s after a sequence NAK, want RTS",
		    vt_qp_state_str(vt_qp_state(p->qp_b)));
	vt_case_end("PSN 2^22 ahead of the window: one NAK (tx_nak_seq), then dropped (rx_drop_seq), QP alive");
}

/*
 * Capture every frame on cap_if (@on), or nothing.  A tap of all frames,
 * as tcpdump's: while it is there, rodp sends B's answers to A through
 * the network, not from device to device (rodp_direct.c).
 */
static void cap_on(bool on)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = on ? htons(ETH_P_ALL) : 0,
		.sll_ifindex = cap_ifindex,
	};

	if (bind(cap_fd, (struct sockaddr *)&sll, sizeof(sll)))
		vt_die("capture on %s: %s", cap_if, strerror(errno));
}

/* Forget what the capture holds. */
static void cap_flush(void)
{
	uint8_t b[2048];

	while (recv(cap_fd, b, sizeof(b), 0) >= 0)
		;
}

/*
 * The ACKs B sent to A's QP within @ms: how many, and the PSN of the last
 * in *@psn.  With @until set, it stops at the first ACK of PSN @until.
 */
static unsigned int cap_acks(const struct pair *p, int ms, uint32_t *psn,
			     const uint32_t *until)
{
	int64_t end = vt_now_ms() + ms;
	unsigned int n = 0;
	uint8_t b[2048];
	ssize_t len;

	while (vt_now_ms() < end) {
		const uint8_t *bth;
		unsigned int ihl;
		uint32_t saddr;

		len = recv(cap_fd, b, sizeof(b), 0);
		if (len < 0) {
			usleep(10 * 1000);
			continue;
		}
		ihl = (b[0] & 0xf) * 4u;
		if (len < 20 || b[0] >> 4 != 4 || b[9] != IPPROTO_UDP ||
		    (size_t)len < ihl + 8 + RCORE_BTH_LEN + 4)
			continue;
		memcpy(&saddr, b + 12, 4);
		bth = b + ihl + 8;
		if (saddr != flow.daddr ||
		    ((b[ihl + 2] << 8) | b[ihl + 3]) != RCORE_ROCEV2_PORT ||
		    bth[0] != RCORE_RC_ACK ||
		    (((uint32_t)bth[5] << 16) | (bth[6] << 8) | bth[7]) !=
		    p->qp_a->qp_num)
			continue;
		*psn = ((uint32_t)bth[9] << 16) | (bth[10] << 8) | bth[11];
		n++;
		if (until && *psn == *until)
			break;
	}
	return n;
}

/*
 * A duplicate that asks for an ACK, behind a newer request: B answers
 * with its latest ACK (the newest request's PSN), not the duplicate's own
 * PSN, and does not execute it.  (rxe on 6.1, sending a message again,
 * takes an ACK of exactly that message's last PSN for its end without
 * completing it, and sends its packets again one PSN late.)
 */
static void class_dup_ack(struct pair *p)
{
	uint8_t buf[PKT_MAX], data[16];
	uint32_t first, last, psn = 0;
	long long want[C_MAX];
	struct counters b;
	unsigned int n;
	size_t len;

	vt_case_begin();
	cap_on(true);
	read_counters(&b);
	first = p->epsn;
	if (!probe(p, "a first WRITE") || !probe(p, "a second WRITE"))
		goto out;
	last = rcore_psn_add(p->epsn, -1);
	/* Their ACKs out of the way: up to the second one's. */
	if (!cap_acks(p, 5000, &psn, &last) || psn != last)
		vt_bad("no ACK of the second WRITE (PSN 0x%06x) within 5 s",
		    last);
	cap_flush();
	memset(data, 0x3c, sizeof(data));
	len = mk_write(buf, p, RCORE_RC_WRITE_ONLY, first, 0, p->mr->rkey,
		       sizeof(data), data, sizeof(data));
	inject(buf, len);
	n = cap_acks(p, 1000, &psn, NULL);
	if (n != 1 || psn != last)
		vt_bad("%u ACKs to the duplicate at PSN 0x%06x (the last PSN 0x%06x), want one with PSN 0x%06x, the latest",
		    n, first, psn, last);
	probe(p, "after the duplicate");
	want_none(want, 4);
	want[C_DUP_REQ] = 1;
	want[C_DROP_SEQ] = -1;
	class_check(p, &b, want, "after a duplicate behind a newer request");
out:
	cap_on(false);
	vt_case_end("a duplicate WRITE asking for an ACK behind a newer one: not executed, answered with the latest ACK (the newer one's PSN)");
}

/* Duplicates (behind ePSN) with other data: acknowledged, not executed. */
static void class_psn_behind(struct pair *p)
{
	int32_t back[] = { -1, -2, -0x400000 };
	long long want[C_MAX];
	uint8_t buf[PKT_MAX], data[16];
	struct counters b;
	unsigned int i;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < 3; i++) {
		memset(data, 0xc3 + i, sizeof(data));
		len = mk_write(buf, p, RCORE_RC_WRITE_ONLY,
			       rcore_psn_add(p->epsn, back[i]), 16 * i,
			       p->mr->rkey, sizeof(data), data, sizeof(data));
		inject(buf, len);
	}
	probe(p, "after duplicate PSNs");
	want_none(want, 4);
	want[C_DUP_REQ] = 3;
	want[C_DROP_SEQ] = -1;
	class_check(p, &b, want, "after duplicate PSNs");
	vt_case_end("PSNs behind the window (duplicates with other data): not executed (rx_dup_req), QP alive");
}

/*
 * A request B must refuse with a NAK that ends the connection: counter
 * @cnt moves by one, B goes to the error state, memory is unchanged;
 * then a fresh pair.
 */
static void nak_class(struct pair *p, const char *name, enum cnt cnt,
		      uint8_t *buf, size_t len)
{
	long long want[C_MAX];
	struct counters b;

	vt_case_begin();
	read_counters(&b);
	inject(buf, len);
	wait_rx(&b, 1);
	expect_error_state(p, name);
	want_none(want, 1);
	want[cnt] = 1;
	class_check(p, &b, want, name);
	pair_open(p);
	probe(p, "fresh pair after the NAK");
	vt_case_end(name);
}

static void class_reth_too_long(struct pair *p)
{
	uint8_t buf[PKT_MAX], data[4096];
	size_t len;

	rnd_fill(data, p->mtu);
	len = mk_write(buf, p, RCORE_RC_WRITE_FIRST, p->epsn, 0, p->mr->rkey,
		       MR_LEN + PAGE, data, p->mtu);
	nak_class(p, "WRITE whose RETH length is larger than the MR: NAK (tx_nak_access), QP error, memory unchanged",
		  C_NAK_ACCESS, buf, len);
}

static void class_bad_rkey(struct pair *p)
{
	uint8_t buf[PKT_MAX], data[64];
	size_t len;

	rnd_fill(data, sizeof(data));
	len = mk_write(buf, p, RCORE_RC_WRITE_ONLY, p->epsn, 0,
		       p->mr->rkey ^ 0x5a5a00, sizeof(data), data,
		       sizeof(data));
	nak_class(p, "WRITE with a bad R_Key: NAK (tx_nak_access), QP error, memory unchanged",
		  C_NAK_ACCESS, buf, len);
}

static void class_over_mtu(struct pair *p)
{
	uint8_t buf[PKT_MAX], data[4096 + 4];
	size_t len;

	rnd_fill(data, p->mtu + 4);
	len = mk_write(buf, p, RCORE_RC_WRITE_ONLY, p->epsn, 0, p->mr->rkey,
		       p->mtu + 4, data, p->mtu + 4);
	if (!len || len > 1500)
		vt_die("path MTU %u: the packet does not fit the link", p->mtu);
	nak_class(p, "WRITE_ONLY with a payload above the path MTU: NAK (tx_nak_inv), QP error, memory unchanged",
		  C_NAK_INV, buf, len);
}

/* An atomic at an address that is not 8-byte aligned. */
static void class_misaligned_atomic(struct pair *p)
{
	uint8_t buf[PKT_MAX];
	struct rcore_pkt h;
	size_t len;

	hdr_init(&h, RCORE_RC_CMP_SWAP, p->qp_b->qp_num, p->epsn);
	/* Inside the MR, 4 bytes past an 8-byte boundary. */
	h.atmeth.va = (((uintptr_t)(p->mem + MR_OFF) + 64) & ~(uintptr_t)7) + 4;
	h.atmeth.rkey = p->mr->rkey;
	h.atmeth.compare = 0;
	h.atmeth.swap_add = ~0ull;
	len = build_pkt(buf, &flow, &h, NULL, 0);
	nak_class(p, "CMP_SWAP at an address that is not 8-byte aligned: NAK (tx_nak_inv), QP error, memory unchanged",
		  C_NAK_INV, buf, len);
}

/* ATOMIC WRITE: 4 bytes past an 8-byte boundary, or 16 bytes long. */
static void class_bad_atomic_write(struct pair *p)
{
	uintptr_t mr = (uintptr_t)(p->mem + MR_OFF);
	/* An 8-byte aligned offset in the MR (MR_OFF itself may not be). */
	uint32_t off = (uint32_t)(((mr + 64) & ~(uintptr_t)7) - mr);
	uint8_t buf[PKT_MAX], data[16];
	size_t len;

	rnd_fill(data, sizeof(data));
	len = mk_write(buf, p, RCORE_RC_ATOMIC_WRITE, p->epsn, off + 4,
		       p->mr->rkey, 8, data, 8);
	nak_class(p, "ATOMIC_WRITE at an address that is not 8-byte aligned: NAK (tx_nak_inv), QP error, memory unchanged",
		  C_NAK_INV, buf, len);
	len = mk_write(buf, p, RCORE_RC_ATOMIC_WRITE, p->epsn, off,
		       p->mr->rkey, 16, data, 16);
	nak_class(p, "ATOMIC_WRITE of 16 bytes: NAK (tx_nak_inv), QP error, memory unchanged",
		  C_NAK_INV, buf, len);
}

/* A SEND with no receive posted: RNR NAK, the connection lives on. */
static void class_rnr(struct pair *p)
{
	long long want[C_MAX];
	uint8_t buf[PKT_MAX], data[32];
	struct counters b;
	struct rcore_pkt h;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	rnd_fill(data, sizeof(data));
	hdr_init(&h, RCORE_RC_SEND_ONLY, p->qp_b->qp_num, p->epsn);
	len = build_pkt(buf, &flow, &h, data, sizeof(data));
	inject(buf, len);
	/* The WRITE at the same PSN is what B expects next. */
	probe(p, "after an RNR NAK");
	want_none(want, 2);
	want[C_RNR_NAK] = 1;
	class_check(p, &b, want, "after an RNR NAK");
	vt_case_end("SEND without a posted receive: RNR NAK (tx_rnr_nak), QP alive");
}

/* ---------------------------------------------------------------------- */
/* Fuzz                                                                    */
/* ---------------------------------------------------------------------- */

static unsigned int fuzz_n = 150;

/* After fuzz: guards intact, every packet counted; a fresh pair. */
static void fuzz_end(struct pair *p, const struct counters *b, const char *name)
{
	struct counters a;

	wait_rx(b, fuzz_n);
	read_counters(&a);
	if (delta(b, &a, C_RX_PKTS) != fuzz_n)
		vt_bad("rx_pkts moved by %lld, want %u", delta(b, &a, C_RX_PKTS),
		    fuzz_n);
	vt_diag("%s: rx_drop icrc +%lld hdr +%lld noqp +%lld seq +%lld; NAK seq +%lld inv +%lld access +%lld op +%lld rnr +%lld; B in %s",
		name, delta(b, &a, C_DROP_ICRC), delta(b, &a, C_DROP_HDR),
		delta(b, &a, C_DROP_NOQP), delta(b, &a, C_DROP_SEQ),
		delta(b, &a, C_NAK_SEQ), delta(b, &a, C_NAK_INV),
		delta(b, &a, C_NAK_ACCESS), delta(b, &a, C_NAK_OP),
		delta(b, &a, C_RNR_NAK), vt_qp_state_str(vt_qp_state(p->qp_b)));
	mem_same(p, name, false);
	/* What valid requests wrote into the MR is allowed. */
	memcpy(p->want + MR_OFF, p->mem + MR_OFF, MR_LEN);
	pair_open(p);
	probe(p, "fresh pair after fuzz");
	vt_case_end(name);
}

static void class_fuzz_bytes(struct pair *p)
{
	uint8_t buf[PKT_MAX], raw[PKT_MAX];
	struct counters b;
	unsigned int i;
	size_t n;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < fuzz_n; i++) {
		n = rnd() % 600;
		rnd_fill(raw, n);
		inject(buf, build_raw(buf, &flow, raw, n, rnd() & 1));
	}
	fuzz_end(p, &b, "fuzz: random UDP payloads to port 4791");
}

/* Random BTH (at the live QP, PSN near ePSN), random rest, mostly sealed. */
static void class_fuzz_headers(struct pair *p)
{
	uint8_t buf[PKT_MAX], raw[PKT_MAX];
	struct counters b;
	struct rcore_bth bth;
	unsigned int i;
	size_t n;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < fuzz_n; i++) {
		n = RCORE_BTH_LEN + rnd() % 1100;
		rnd_fill(raw, n);
		memset(&bth, 0, sizeof(bth));
		bth.opcode = (uint8_t)(rnd() % 4 ? rnd() % 0x18 : rnd());
		bth.se = rnd() & 1;
		bth.pad = rnd() & 3;
		bth.tver = rnd() % 8 ? 0 : rnd() & 15;
		bth.pkey = rnd() % 8 ? RCORE_DEFAULT_PKEY : (uint16_t)rnd();
		bth.dqpn = p->qp_b->qp_num;
		bth.ackreq = rnd() & 1;
		bth.psn = rcore_psn_add(p->epsn, (int32_t)(rnd() % 9) - 4);
		rcore_bth_encode(raw, n, &bth);
		/* Half the time a RETH that names B's MR. */
		if (rnd() & 1 && n >= RCORE_BTH_LEN + RCORE_RETH_LEN) {
			struct rcore_reth r = {
				(uintptr_t)(p->mem + MR_OFF) + rnd() % MR_LEN,
				p->mr->rkey, rnd() % 2048 };

			rcore_reth_encode(raw + RCORE_BTH_LEN, n, &r);
		}
		inject(buf, build_raw(buf, &flow, raw, n, rnd() % 4));
	}
	fuzz_end(p, &b, "fuzz: random headers at the live QP");
}

/*
 * Valid packets (every request kind) with 1-3 random bytes changed or the
 * length cut or grown, resealed most of the time.  B is re-created when a
 * mutation ended its connection and every 30 packets, so that most hit a
 * live QP near its expected PSN.
 */
static void class_fuzz_mutated(struct pair *p)
{
	uint8_t buf[PKT_MAX], data[2048];
	struct counters b;
	struct rcore_pkt h;
	unsigned int i, k;
	size_t len;

	vt_case_begin();
	read_counters(&b);
	for (i = 0; i < fuzz_n; i++) {
		static const uint8_t ops[] = {
			RCORE_RC_WRITE_ONLY, RCORE_RC_WRITE_FIRST,
			RCORE_RC_WRITE_LAST, RCORE_RC_WRITE_ONLY_IMM,
			RCORE_RC_SEND_ONLY, RCORE_RC_READ_REQ,
			RCORE_RC_CMP_SWAP, RCORE_RC_FETCH_ADD,
		};
		uint8_t op = ops[rnd() % sizeof(ops)];
		size_t plen = 0;

		/*
		 * A fresh pair when a mutation ended the connection, and
		 * every 30 packets: ePSN is known again.
		 */
		if ((!(i % 10) && vt_qp_state(p->qp_b) != IBV_QPS_RTS) ||
		    (i && !(i % 30))) {
			memcpy(p->want + MR_OFF, p->mem + MR_OFF, MR_LEN);
			if (!mem_same(p, "during mutation fuzz", false))
				break;
			pair_open(p);
		}
		hdr_init(&h, op, p->qp_b->qp_num, p->epsn);
		h.reth.va = (uintptr_t)(p->mem + MR_OFF) + 8 * (rnd() % 64);
		h.reth.rkey = p->mr->rkey;
		h.reth.len = 64;
		h.atmeth.va = h.reth.va;
		h.atmeth.rkey = p->mr->rkey;
		h.atmeth.swap_add = rnd();
		h.imm = rnd();
		if (op == RCORE_RC_WRITE_FIRST)
			plen = p->mtu;
		else if (rcore_opcode_info(op)->flags & RCORE_OPF_PAYLOAD)
			plen = 64;
		rnd_fill(data, plen);
		len = build_pkt(buf, &flow, &h, data, plen);
		for (k = 0; k <= rnd() % 3; k++) {
			/* Mostly the transport headers. */
			size_t at = L4_OFF + (rnd() % 2 ? rnd() % 44 :
					      rnd() % (len - L4_OFF));

			if (at < len)
				buf[at] ^= (uint8_t)(1u << (rnd() % 8));
		}
		if (!(rnd() % 8)) {
			size_t nl = len + (rnd() % 17) - 8;

			if (nl > L4_OFF && nl < PKT_MAX) {
				if (nl > len)
					rnd_fill(buf + len, nl - len);
				len = nl;
				put_ip_udp(buf, &flow, len - L4_OFF);
			}
		}
		if (rnd() % 4 && len >= L4_OFF + RCORE_BTH_LEN + RCORE_ICRC_LEN)
			reseal(buf, len);
		inject(buf, len);
		/* A packet that executed moved ePSN; follow it sometimes. */
		if (!(rnd() % 4))
			p->epsn = rcore_psn_add(p->epsn, 1);
	}
	fuzz_end(p, &b, "fuzz: mutated valid requests");
}

/* ---------------------------------------------------------------------- */
/* The end: a normal transfer                                              */
/* ---------------------------------------------------------------------- */

static void class_final(struct pair *p)
{
	struct ibv_device_attr da;
	struct ibv_send_wr wr, *badwr;
	struct ibv_sge sg;
	struct ibv_mr *lmr;
	struct ibv_wc wc;
	uint8_t *src;
	int n = 0, rc;

	vt_case_begin();
	if (ibv_query_device(dev_a.ctx, &da) ||
	    ibv_query_device(dev_b.ctx, &da))
		vt_bad("a device no longer answers ibv_query_device");
	pair_open(p);
	src = malloc(MR_LEN);
	if (!src)
		vt_die("out of memory");
	rnd_fill(src, MR_LEN);
	lmr = ibv_reg_mr(p->pd_a, src, MR_LEN, IBV_ACCESS_LOCAL_WRITE);
	if (!lmr)
		vt_die("ibv_reg_mr: %s", strerror(errno));
	sg = (struct ibv_sge){ (uintptr_t)src, MR_LEN, lmr->lkey };
	vt_send_wr(&wr, 42, &sg, 1, IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = (uintptr_t)(p->mem + MR_OFF);
	wr.wr.rdma.rkey = p->mr->rkey;
	rc = ibv_post_send(p->qp_a, &wr, &badwr);
	if (rc)
		vt_bad("ibv_post_send: %s", strerror(rc));
	if (!rc)
		n = vt_poll_wc(p->cq_a, &wc, 10000);
	if (!rc && n < 0)
		vt_bad("RDMA WRITE over a fresh pair: %s", vt_errmsg());
	else if (!rc && n != 1)
		vt_bad("an RDMA WRITE over a fresh pair did not complete in 10 s");
	else if (!rc && (wc.status != IBV_WC_SUCCESS || wc.wr_id != 42))
		vt_bad("RDMA WRITE over a fresh pair: status %s",
		    ibv_wc_status_str(wc.status));
	memcpy(p->want + MR_OFF, src, MR_LEN);
	mem_same(p, "after a normal RDMA WRITE", true);
	ibv_dereg_mr(lmr);
	free(src);
	vt_case_end("after all that: both devices answer, a fresh QP pair moves data");
}

/* ---------------------------------------------------------------------- */
/* main                                                                    */
/* ---------------------------------------------------------------------- */

/*
 * The capture socket on cap_if, made in the namespace open_raw() is in;
 * it takes nothing until cap_on().
 */
static void open_capture(void)
{
	cap_ifindex = (int)if_nametoindex(cap_if);
	if (!cap_ifindex)
		vt_die("no interface %s: %s", cap_if, strerror(errno));
	cap_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (cap_fd < 0)
		vt_die("AF_PACKET socket: %s", strerror(errno));
}

/*
 * The raw socket and the capture, opened in network namespace @ns (NULL:
 * this one).
 */
static void open_raw(const char *ns)
{
	char path[256];
	int self = -1, target;

	if (ns) {
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
		target = open(path, O_RDONLY | O_CLOEXEC);
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (target < 0 || self < 0 || setns(target, CLONE_NEWNET))
			vt_die("entering network namespace %s: %s", ns,
			    strerror(errno));
		close(target);
	}
	raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd < 0)
		vt_die("raw socket: %s", strerror(errno));
	open_capture();
	if (ns) {
		if (setns(self, CLONE_NEWNET))
			vt_die("back to our network namespace: %s",
			    strerror(errno));
		close(self);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rodp_inject [--netns NS] [--seed N] [--fuzz N] [--from DEV] [--to DEV]\n"
		"       [--capture IF]\n"
		"       rodp_inject --selftest PCAP\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ns = NULL;
	unsigned long seed = 1;
	struct pair *p;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--selftest") && i + 1 < argc)
			return selftest(argv[i + 1]);
		else if (!strcmp(argv[i], "--netns") && i + 1 < argc)
			ns = argv[++i];
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--fuzz") && i + 1 < argc)
			fuzz_n = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--from") && i + 1 < argc)
			name_a = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			name_b = argv[++i];
		else if (!strcmp(argv[i], "--capture") && i + 1 < argc)
			cap_if = argv[++i];
		else
			usage();
	}
	rng = seed * 0x9e3779b97f4a7c15ull + 1;

	printf("1..22\n");
	vt_diag("seed %lu, %u packets per fuzz class, %s -> %s", seed, fuzz_n,
		name_a, name_b);
	open_raw(ns);
	dev_open(&dev_a, name_a);
	dev_open(&dev_b, name_b);
	flow.saddr = dev_addr(&dev_a);
	flow.daddr = dev_addr(&dev_b);
	flow.sport = 0xc000 | (uint16_t)(getpid() & 0x3fff);
	flow.id = 1;
	flow.ttl = 64;
	flow.frag = 0x4000;
	dst.sin_family = AF_INET;
	dst.sin_addr.s_addr = flow.daddr;

	p = calloc(1, sizeof(*p));
	if (!p)
		vt_die("out of memory");
	p->mem = mmap(NULL, MEM_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED)
		vt_die("mmap: %s", strerror(errno));
	rnd_fill(p->mem, MEM_LEN);
	memcpy(p->want, p->mem, MEM_LEN);
	pair_open(p);
	vt_diag("target: QP %u on %s, MR 0x%x bytes at %p, rkey 0x%x, path MTU %u, from QP %u on %s",
		p->qp_b->qp_num, dev_b.name, MR_LEN, (void *)(p->mem + MR_OFF),
		p->mr->rkey, p->mtu, p->qp_a->qp_num, dev_a.name);

	class_valid(p);
	class_icrc(p);
	class_truncated(p);
	class_opcodes(p);
	class_responses(p);
	class_noqp(p);
	class_pkey(p);
	class_create_fails(p);
	class_psn_ahead(p);
	class_psn_behind(p);
	class_dup_ack(p);
	class_reth_too_long(p);
	class_bad_rkey(p);
	class_over_mtu(p);
	class_misaligned_atomic(p);
	class_bad_atomic_write(p);
	class_rnr(p);
	class_fuzz_bytes(p);
	class_fuzz_headers(p);
	class_fuzz_mutated(p);
	class_final(p);

	pair_close(p);
	ibv_close_device(dev_a.ctx);
	ibv_close_device(dev_b.ctx);
	return vt_tap_failed ? 1 : 0;
}
