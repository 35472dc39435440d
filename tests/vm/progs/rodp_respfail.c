// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp_respfail: what a rodp responder sends when the memory behind an
 * RDMA READ or an atomic fails it, packet by packet, with rxe (the
 * in-kernel soft-RoCE) as the requester.
 *
 *   rodp_respfail [--responder DEV] [--requester DEV] [--ifname IF]
 *
 * In the test guest (suites/56-respfail.sh): an RC QP on the requester
 * (default rxe0) connected to one on the responder (default rodp0), whose
 * memory is a cold ODP MR (nothing of it mirrored yet: each 256 KiB of a
 * read costs the responder a fault).  Every packet the responder sends to
 * the requester is captured with an AF_PACKET socket on IF (default ve2,
 * rxe0's netdev) and checked in order: opcode, PSN, AETH syndrome.
 *
 * Failures are made two ways:
 *  - "mm gone": the fault-injection point odp_fault in debugfs
 *    (/sys/kernel/debug/rodp/inject/) makes the Nth ODP fault from now
 *    fail exactly as when the process's address space is gone (its
 *    process exiting: do_exit() runs exit_mm() before exit_files(), so
 *    for a moment the QP lives on without its memory);
 *  - "unmapped": part of the MR's range is munmap()ed.
 *
 * What must hold (rxe on 6.1 WARNs, rxe_comp.c:756, when a response
 * stream it has started is followed by anything but MIDDLE or LAST, and
 * keeps its place in the stream across retries):
 *  - a failure in the middle of a read's response stream stops the
 *    stream without any further packet (no ACK, no NAK, no LAST); the
 *    requester's retries go unanswered and it ends with RETRY_EXC_ERR;
 *  - a failure at the first response of a read, or at an atomic, is one
 *    NAK in its place: remote operational error when the address space
 *    is gone (the responder's own failure), remote access error for an
 *    unmapped range; the requester ends with REM_OP_ERR or
 *    REM_ACCESS_ERR;
 *  - the responder's QP is in the error state afterwards, and its
 *    counters (tx_read_stop, tx_nak_op, tx_nak_access) and the injection
 *    point's hits moved by one.
 * The first case, a whole read of the cold MR, checks the capture itself:
 * FIRST, MIDDLEs, LAST, every byte.  The last one checks that a NAK which
 * ends the QP (a WRITE with a bad R_Key right behind a READ) waits for
 * the READ's responses.  TAP output, one case each.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "common.h"

#define KIB		1024u
#define BLOCK		(2u * 1024 * KIB)	/* rodp's ODP block */
#define MR_LEN		(512 * KIB)
#define HALF		(MR_LEN / 2)
#define REQ_PSN		0x10000u	/* Q's first PSN: R's responses' */
#define RESP_PSN	0x20000u
#define INJ_DIR		"/sys/kernel/debug/rodp/inject"
#define ROCE_PORT	4791
#define MAX_PKTS	4096

/* RC opcodes (IBA table 36) the responder may send. */
enum {
	OP_READ_FIRST	= 0x0d,
	OP_READ_MIDDLE	= 0x0e,
	OP_READ_LAST	= 0x0f,
	OP_READ_ONLY	= 0x10,
	OP_ACK		= 0x11,
	OP_ATOMIC_ACK	= 0x12,
};

/* AETH syndromes: ACK 0b000xxxxx, NAK 0b011 + code. */
#define SYN_NAK(code)	(0x60 | (code))
#define NAK_ACCESS	2
#define NAK_OP		3

/* ---------------------------------------------------------------------- */
/* The capture                                                             */
/* ---------------------------------------------------------------------- */

/* One packet the responder sent to the requester's QP. */
struct rsp {
	uint8_t op;
	uint32_t psn;
	int syn;		/* AETH syndrome, -1 when there is no AETH */
	uint32_t len;		/* payload bytes */
};

static int cap_fd = -1;
static uint32_t cap_saddr;	/* the responder's address, network order */

static void cap_open(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int sz = 16 << 20;

	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex)
		vt_die("no interface %s: %s", ifname, strerror(errno));
	cap_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK,
			htons(ETH_P_IP));
	if (cap_fd < 0)
		vt_die("AF_PACKET socket: %s", strerror(errno));
	if (setsockopt(cap_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		vt_die("SO_RCVBUFFORCE: %s", strerror(errno));
	if (bind(cap_fd, (struct sockaddr *)&sll, sizeof(sll)))
		vt_die("bind to %s: %s", ifname, strerror(errno));
}

/* Packets lost by the capture socket since the last call. */
static unsigned int cap_drops(void)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(cap_fd, SOL_PACKET, PACKET_STATISTICS, &st, &len))
		vt_die("PACKET_STATISTICS: %s", strerror(errno));
	return st.tp_drops;
}

/* Forget what was captured so far. */
static void cap_reset(void)
{
	uint8_t b[2048];

	while (recv(cap_fd, b, sizeof(b), 0) >= 0)
		;
	cap_drops();
}

static bool has_aeth(uint8_t op)
{
	return op == OP_READ_FIRST || op == OP_READ_LAST ||
	       op == OP_READ_ONLY || op == OP_ACK || op == OP_ATOMIC_ACK;
}

/*
 * Every packet captured since cap_reset() that the responder sent to QP
 * @dqpn, in order, into @r (at most MAX_PKTS).  Returns how many.
 */
static unsigned int cap_take(uint32_t dqpn, struct rsp *r)
{
	unsigned int n = 0, drops;
	uint8_t b[2048];
	ssize_t len;

	while ((len = recv(cap_fd, b, sizeof(b), 0)) >= 0) {
		unsigned int ihl = (b[0] & 0xf) * 4u, hdr;
		const uint8_t *bth;
		uint32_t saddr;
		size_t l4;

		if (len < 20 || b[0] >> 4 != 4 || b[9] != IPPROTO_UDP)
			continue;
		memcpy(&saddr, b + 12, 4);
		l4 = ihl + 8;
		if (saddr != cap_saddr || (size_t)len < l4 + 12 + 4 ||
		    ((b[ihl + 2] << 8) | b[ihl + 3]) != ROCE_PORT)
			continue;
		bth = b + l4;
		if ((((uint32_t)bth[5] << 16) | (bth[6] << 8) | bth[7]) !=
		    dqpn)
			continue;
		if (n == MAX_PKTS)
			vt_die("more than %u packets captured", MAX_PKTS);
		r[n].op = bth[0];
		r[n].psn = ((uint32_t)bth[9] << 16) | (bth[10] << 8) | bth[11];
		hdr = 12;
		r[n].syn = -1;
		if (has_aeth(bth[0])) {
			r[n].syn = bth[12];
			hdr += 4;
		}
		if (bth[0] == OP_ATOMIC_ACK)
			hdr += 8;
		hdr += ((bth[1] >> 4) & 3) + 4;		/* pad, ICRC */
		r[n].len = (size_t)len - l4 >= hdr ?
			   (uint32_t)((size_t)len - l4 - hdr) : 0;
		n++;
	}
	drops = cap_drops();
	if (drops)
		vt_bad("the capture lost %u packets: no verdict on the sequence",
		    drops);
	return n;
}

static const char *op_name(uint8_t op)
{
	switch (op) {
	case OP_READ_FIRST:	return "READ_RESPONSE_FIRST";
	case OP_READ_MIDDLE:	return "READ_RESPONSE_MIDDLE";
	case OP_READ_LAST:	return "READ_RESPONSE_LAST";
	case OP_READ_ONLY:	return "READ_RESPONSE_ONLY";
	case OP_ACK:		return "ACKNOWLEDGE";
	case OP_ATOMIC_ACK:	return "ATOMIC_ACKNOWLEDGE";
	default:		return "another opcode";
	}
}

/* Packet @i of @r, for a diagnostic. */
static const char *pkt_str(const struct rsp *r, unsigned int i)
{
	static char s[128];

	snprintf(s, sizeof(s), "packet %u: %s (0x%02x) PSN 0x%06x", i,
		 op_name(r[i].op), r[i].op, r[i].psn);
	if (r[i].syn >= 0)
		snprintf(s + strlen(s), sizeof(s) - strlen(s),
			 ", AETH syndrome 0x%02x", (unsigned int)r[i].syn);
	return s;
}

/* ---------------------------------------------------------------------- */
/* Expectations on the captured packets                                    */
/* ---------------------------------------------------------------------- */

/*
 * The whole stream of a @total-packet read from @psn, every one full.
 * Unhurried, that is FIRST, MIDDLEs and LAST, PSN by PSN.  On a loaded
 * host the requester may time out and ask again for what it has not
 * seen yet, and the responder then answers that part again: so what is
 * checked is that every packet is a full read response of the read's
 * PSN range (never an ACK or NAK), every PSN is answered, and the last
 * one is answered by a LAST.
 */
static void want_full_stream(const struct rsp *r, unsigned int n,
			     uint32_t psn, unsigned int total, uint32_t mtu)
{
	static bool seen[MAX_PKTS];
	unsigned int i, missing = 0;
	bool last = false;

	if (n == total) {
		for (i = 0; i < n; i++) {
			uint8_t want = i == 0 ? OP_READ_FIRST :
				       i + 1 == total ? OP_READ_LAST :
				       OP_READ_MIDDLE;

			if (r[i].op != want ||
			    r[i].psn != ((psn + i) & 0xffffff))
				break;
		}
		if (i == n)
			goto lengths;
	}
	vt_diag("%u response packets for %u PSNs: the requester asked again",
		n, total);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		uint32_t off = (r[i].psn - psn) & 0xffffff;

		if ((r[i].op != OP_READ_FIRST && r[i].op != OP_READ_MIDDLE &&
		     r[i].op != OP_READ_LAST && r[i].op != OP_READ_ONLY) ||
		    off >= total || off >= MAX_PKTS) {
			vt_bad("%s: not a response of the read (PSN 0x%06x + %u)",
			       pkt_str(r, i), psn, total);
			return;
		}
		seen[off] = true;
		if (off + 1 == total && (r[i].op == OP_READ_LAST ||
					 r[i].op == OP_READ_ONLY))
			last = true;
	}
	for (i = 0; i < total && i < MAX_PKTS; i++)
		missing += !seen[i];
	if (missing || !last)
		vt_bad("%u of %u PSNs never answered%s", missing, total,
		       last ? "" : ", no LAST");
lengths:
	for (i = 0; i < n; i++) {
		if (r[i].len != mtu ||
		    (r[i].syn >= 0 && (r[i].syn & 0xe0) != 0)) {
			vt_bad("%s, want %u bytes and an ACK syndrome",
			       pkt_str(r, i), mtu);
			return;
		}
	}
}

/*
 * A read's stream from @psn cut short: FIRST, then MIDDLEs only, fewer
 * than @total, at most @max of them, and not one packet after: no ACK or
 * NAK, no LAST.
 */
static void want_cut_stream(const struct rsp *r, unsigned int n,
			    uint32_t psn, unsigned int total,
			    unsigned int max)
{
	unsigned int i;

	if (!n) {
		vt_bad("no response at all: the failure was to come mid-stream");
		return;
	}
	for (i = 0; i < n; i++) {
		uint8_t want = i ? OP_READ_MIDDLE : OP_READ_FIRST;

		if (r[i].op != want || r[i].psn != ((psn + i) & 0xffffff)) {
			vt_bad("%s, want %s PSN 0x%06x and nothing but MIDDLEs until the stream stops",
			    pkt_str(r, i), op_name(want),
			    (psn + i) & 0xffffff);
			return;
		}
	}
	if (n >= total || n > max)
		vt_bad("%u responses of %u, want at most %u (the failure comes before)",
		    n, total, max);
	vt_diag("%u of %u responses, then nothing (%s)", n, total,
		pkt_str(r, n - 1));
}

/* One packet only: an ACK carrying NAK @code at @psn. */
static void want_one_nak(const struct rsp *r, unsigned int n, uint32_t psn,
			 unsigned int code)
{
	unsigned int i;

	if (n != 1 || r[0].op != OP_ACK || r[0].psn != psn ||
	    r[0].syn != (int)SYN_NAK(code)) {
		vt_bad("%u packets, want exactly one: ACKNOWLEDGE PSN 0x%06x with NAK syndrome 0x%02x",
		    n, psn, SYN_NAK(code));
		for (i = 0; i < n && i < 4; i++)
			vt_diag("%s", pkt_str(r, i));
	}
}

/*
 * An RNR NAK at @psn first, then no NAK at all, and at the end the answer
 * to the retried request: @last (ACKNOWLEDGE or ATOMIC_ACKNOWLEDGE) at
 * @last_psn with an ACK syndrome.
 */
static void want_rnr_first(const struct rsp *r, unsigned int n, uint32_t psn,
			   uint8_t last, uint32_t last_psn)
{
	unsigned int i;

	if (!n || r[0].op != OP_ACK || r[0].psn != psn ||
	    r[0].syn < 0 || (r[0].syn & 0xe0) != 0x20) {
		vt_bad("%u packets, want an ACKNOWLEDGE PSN 0x%06x with an RNR NAK syndrome (0x2x) first",
		    n, psn);
		for (i = 0; i < n && i < 4; i++)
			vt_diag("%s", pkt_str(r, i));
		return;
	}
	for (i = 1; i < n; i++) {
		if (r[i].syn >= 0 && (r[i].syn & 0xe0) != 0) {
			vt_bad("%s: a NAK after the RNR NAK", pkt_str(r, i));
			return;
		}
	}
	if (n < 2 || r[n - 1].op != last || r[n - 1].psn != last_psn)
		vt_bad("%s, want %s PSN 0x%06x last", pkt_str(r, n - 1),
		    op_name(last), last_psn);
}

/* ---------------------------------------------------------------------- */
/* Devices, the QP pair, the injection point                              */
/* ---------------------------------------------------------------------- */

static const char *name_q = "rxe0", *name_r = "rodp0";
static struct vt_dev dev_q, dev_r;
static struct rsp pkts[MAX_PKTS];

/**
 * struct pair - the requester (Q, on rxe0) and the responder (R, on rodp0)
 * @pd_q, @cq_q, @qp_q, @mr_q, @buf_q: Q's objects and its pinned buffer
 * @pd_r, @cq_r, @qp_r, @mr_r: R's; @mr_r is an ODP MR over @mem_r
 * @map_r, @map_len: the mapping @mem_r lies in (block-aligned inside it)
 * @mtu: the path MTU in bytes
 */
struct pair {
	struct ibv_pd *pd_q, *pd_r;
	struct ibv_cq *cq_q, *cq_r;
	struct ibv_qp *qp_q, *qp_r;
	struct ibv_mr *mr_q, *mr_r;
	uint8_t *buf_q, *mem_r, *map_r;
	size_t map_len;
	uint32_t mtu;
};

static void pair_close(struct pair *p)
{
	if (p->qp_q)
		ibv_destroy_qp(p->qp_q);
	if (p->qp_r)
		ibv_destroy_qp(p->qp_r);
	if (p->mr_q)
		ibv_dereg_mr(p->mr_q);
	if (p->mr_r)
		ibv_dereg_mr(p->mr_r);
	if (p->cq_q)
		ibv_destroy_cq(p->cq_q);
	if (p->cq_r)
		ibv_destroy_cq(p->cq_r);
	if (p->pd_q)
		ibv_dealloc_pd(p->pd_q);
	if (p->pd_r)
		ibv_dealloc_pd(p->pd_r);
	if (p->map_r)
		munmap(p->map_r, p->map_len);
	free(p->buf_q);
	memset(p, 0, sizeof(*p));
}

static struct ibv_qp *make_qp(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_cap cap = { .max_send_wr = 8, .max_recv_wr = 8,
				  .max_send_sge = 1, .max_recv_sge = 1 };

	return vt_qp_create(pd, cq, cq, &cap, false);
}

/*
 * A fresh pair: R's memory MR_LEN bytes of pattern @seed at the start of
 * an ODP block, under a cold ODP MR; Q's buffer zeroed.  Q retries twice
 * after a 268 ms timeout, so a responder that stops answering ends Q's
 * work request within about a second.
 */
static void pair_open(struct pair *p, uint32_t seed)
{
	const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	struct vt_path path;
	uintptr_t a;
	int rc;

	memset(p, 0, sizeof(*p));
	p->map_len = 2 * BLOCK;
	p->map_r = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->map_r == MAP_FAILED)
		vt_die("mmap: %s", strerror(errno));
	a = ((uintptr_t)p->map_r + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1);
	p->mem_r = (uint8_t *)a;
	vt_fill(p->mem_r, MR_LEN, seed);
	p->buf_q = aligned_alloc(4096, MR_LEN);
	if (!p->buf_q)
		vt_die("out of memory");
	memset(p->buf_q, 0, MR_LEN);

	p->pd_q = ibv_alloc_pd(dev_q.ctx);
	p->pd_r = ibv_alloc_pd(dev_r.ctx);
	p->cq_q = ibv_create_cq(dev_q.ctx, 16, NULL, NULL, 0);
	p->cq_r = ibv_create_cq(dev_r.ctx, 16, NULL, NULL, 0);
	if (!p->pd_q || !p->pd_r || !p->cq_q || !p->cq_r)
		vt_die("PD/CQ: %s", strerror(errno));
	p->mr_q = ibv_reg_mr(p->pd_q, p->buf_q, MR_LEN, access);
	if (!p->mr_q)
		vt_die("ibv_reg_mr on %s: %s", dev_q.name, strerror(errno));
	p->mr_r = ibv_reg_mr(p->pd_r, p->mem_r, MR_LEN,
			     access | IBV_ACCESS_ON_DEMAND);
	if (!p->mr_r)
		vt_die("ODP ibv_reg_mr on %s: %s", dev_r.name, strerror(errno));
	p->qp_q = make_qp(p->pd_q, p->cq_q);
	p->qp_r = make_qp(p->pd_r, p->cq_r);
	if (!p->qp_q || !p->qp_r)
		vt_die("ibv_create_qp(RC): %s", strerror(errno));

	vt_path_init(&path, &dev_q, &dev_r);
	path.timeout = 16;
	path.retry_cnt = 2;
	p->mtu = vt_mtu_bytes(path.mtu);
	rc = vt_qp_connect(p->qp_q, &path, &dev_q, p->qp_r->qp_num, REQ_PSN,
			   RESP_PSN, &dev_r.gid);
	if (!rc)
		rc = vt_qp_connect(p->qp_r, &path, &dev_r, p->qp_q->qp_num,
				   RESP_PSN, REQ_PSN, &dev_q.gid);
	if (rc)
		vt_die("connecting QP %u on %s and QP %u on %s: %s",
		    p->qp_q->qp_num, dev_q.name, p->qp_r->qp_num, dev_r.name,
		    vt_errmsg());
}

/* A counter of R's device, -1 when it cannot be read. */
static long long counter(const char *name)
{
	uint64_t v;

	return vt_hw_counter(dev_r.name, name, &v) ? (long long)v : -1;
}

/* R's hw counters, then the injection points' hits (from C_HITS on). */
enum { C_STOP, C_NAK_OP, C_NAK_ACCESS, C_RNR, C_HITS, C_BUSY_HITS, C_NUM };

static const char *const c_names[C_NUM] = {
	"tx_read_stop", "tx_nak_op", "tx_nak_access", "tx_rnr_nak",
	"odp_fault_hits", "odp_busy_hits",
};

static long long inj_read(const char *file)
{
	char path[256];
	uint64_t v;

	snprintf(path, sizeof(path), INJ_DIR "/%s", file);
	return vt_read_u64(path, &v) ? (long long)v : -1;
}

/* Arm injection point @point (odp_fault, odp_busy): its @n-th pass fails. */
static void inj_arm_at(const char *point, unsigned int n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), INJ_DIR "/%s", point);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%u\n", n) < 0 || fclose(f))
		vt_die("writing %u to %s: %s (debugfs mounted? rodp.ko built with RODP_FAULT_INJECT?)",
		    n, path, strerror(errno));
}

static void inj_arm(unsigned int n)
{
	inj_arm_at("odp_fault", n);
}

static void counters(long long *v)
{
	unsigned int i;

	/* The RDMA core caches hardware counters for 10 ms. */
	usleep(20 * 1000);
	for (i = 0; i < C_NUM; i++)
		v[i] = i < C_HITS ? counter(c_names[i]) : inj_read(c_names[i]);
}

/* Each counter moved by @want[i] since @before. */
static void want_counters(const long long *before, const int *want)
{
	long long after[C_NUM];
	unsigned int i;

	counters(after);
	for (i = 0; i < C_NUM; i++)
		if (before[i] < 0 || after[i] - before[i] != want[i])
			vt_bad("%s moved by %lld (%lld -> %lld), want %d",
			    c_names[i], after[i] - before[i], before[i],
			    after[i], want[i]);
}

/*
 * Post one work request on Q, wait for its completion (status @status),
 * give late packets 300 ms, and take what R sent.  Returns the packets.
 */
static unsigned int run_wr(struct pair *p, struct ibv_send_wr *wr,
			   enum ibv_wc_status status)
{
	struct ibv_wc wc;
	int64_t t0;

	vt_post_send(p->qp_q, wr, "the work request");
	t0 = vt_now_ms();
	if (vt_poll_wc(p->cq_q, &wc, 20000) != 1) {
		vt_bad("no completion on %s within 20 s", dev_q.name);
	} else {
		if (wc.status != status)
			vt_bad("%s's completion: %s, want %s", dev_q.name,
			    ibv_wc_status_str(wc.status),
			    ibv_wc_status_str(status));
		vt_diag("%s's completion after %" PRId64 " ms: %s",
			dev_q.name, vt_now_ms() - t0,
			ibv_wc_status_str(wc.status));
	}
	usleep(300 * 1000);
	return cap_take(p->qp_q->qp_num, pkts);
}

/* R's QP is in state @want. */
static void want_state(struct pair *p, enum ibv_qp_state want)
{
	int st = vt_qp_state(p->qp_r);

	if (st != (int)want)
		vt_bad("%s's QP is %s, want %s", dev_r.name,
		    vt_qp_state_str(st), vt_qp_state_str(want));
}

/* Q reads (@op IBV_WR_RDMA_READ) or writes @len bytes at @off of R's MR. */
static unsigned int do_rdma(struct pair *p, enum ibv_wr_opcode op,
			    uint32_t off, uint32_t len,
			    enum ibv_wc_status status)
{
	struct ibv_sge g = { .addr = (uintptr_t)p->buf_q, .length = len,
			     .lkey = p->mr_q->lkey };
	struct ibv_send_wr wr;

	vt_send_wr(&wr, 1, &g, 1, op, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = (uintptr_t)p->mem_r + off;
	wr.wr.rdma.rkey = p->mr_r->rkey;
	cap_reset();
	return run_wr(p, &wr, status);
}

static unsigned int do_read(struct pair *p, uint32_t off, uint32_t len,
			    enum ibv_wc_status status)
{
	return do_rdma(p, IBV_WR_RDMA_READ, off, len, status);
}

static unsigned int do_write(struct pair *p, uint32_t off, uint32_t len,
			     enum ibv_wc_status status)
{
	return do_rdma(p, IBV_WR_RDMA_WRITE, off, len, status);
}

/*
 * Q's fetch-and-add of 1 (@cas: compare-and-swap of 1 with a pattern) at
 * offset @off of R's MR.
 */
static unsigned int do_atomic(struct pair *p, bool cas, uint32_t off,
			      enum ibv_wc_status status)
{
	struct ibv_sge g = { .addr = (uintptr_t)p->buf_q, .length = 8,
			     .lkey = p->mr_q->lkey };
	struct ibv_send_wr wr;

	vt_send_wr(&wr, 1, &g, 1, cas ? IBV_WR_ATOMIC_CMP_AND_SWP :
		   IBV_WR_ATOMIC_FETCH_AND_ADD, IBV_SEND_SIGNALED);
	wr.wr.atomic.remote_addr = (uintptr_t)p->mem_r + off;
	wr.wr.atomic.rkey = p->mr_r->rkey;
	wr.wr.atomic.compare_add = 1;
	wr.wr.atomic.swap = 0x5a5a5a5a5a5a5a5aull;
	cap_reset();
	return run_wr(p, &wr, status);
}

/* ---------------------------------------------------------------------- */
/* The cases                                                               */
/* ---------------------------------------------------------------------- */

/* The control: a whole read of the cold MR, the capture sees it all. */
static void case_control(void)
{
	int want[C_NUM] = { 0 };
	long long before[C_NUM];
	struct pair p;
	unsigned int n;

	pair_open(&p, 1);
	counters(before);
	n = do_read(&p, 0, MR_LEN, IBV_WC_SUCCESS);
	want_full_stream(pkts, n, REQ_PSN, MR_LEN / p.mtu, p.mtu);
	if (memcmp(p.buf_q, p.mem_r, MR_LEN))
		vt_bad("the data read differs from the responder's memory");
	want_state(&p, IBV_QPS_RTS);
	want_counters(before, want);
	pair_close(&p);
	vt_case_end("control: a READ of 512 KiB of a cold ODP MR, FIRST, MIDDLEs, LAST, every byte");
}

/*
 * A read whose responder fails in the middle of its responses: injected
 * (the second fault: the first brought in the first 256 KiB) or the MR's
 * second half unmapped.
 */
static void case_read_cut(bool inject)
{
	int want[C_NUM] = { [C_STOP] = 1, [C_HITS] = inject };
	long long before[C_NUM];
	struct pair p;
	unsigned int n;

	pair_open(&p, 2);
	if (!inject && munmap(p.mem_r + HALF, HALF))
		vt_die("munmap: %s", strerror(errno));
	counters(before);
	if (inject)
		inj_arm(2);
	n = do_read(&p, 0, MR_LEN, IBV_WC_RETRY_EXC_ERR);
	inj_arm(0);
	want_cut_stream(pkts, n, REQ_PSN, MR_LEN / p.mtu, HALF / p.mtu);
	want_state(&p, IBV_QPS_ERR);
	want_counters(before, want);
	pair_close(&p);
	vt_case_end(inject ?
		 "READ, the address space gone mid-stream (injected ODP fault): responses stop, no NAK, no LAST; rxe0 ends RETRY_EXC_ERR" :
		 "READ into an unmapped range mid-stream: responses stop, no NAK, no LAST; rxe0 ends RETRY_EXC_ERR");
}

/* A read whose very first response fails: one NAK instead. */
static void case_read_first(bool inject)
{
	int want[C_NUM] = { [C_NAK_OP] = inject, [C_NAK_ACCESS] = !inject,
			    [C_HITS] = inject };
	long long before[C_NUM];
	struct pair p;
	unsigned int n;

	pair_open(&p, 3);
	if (!inject && munmap(p.mem_r + HALF, HALF))
		vt_die("munmap: %s", strerror(errno));
	counters(before);
	if (inject)
		inj_arm(1);
	n = do_read(&p, inject ? 0 : HALF, inject ? MR_LEN : 4 * KIB,
		    inject ? IBV_WC_REM_OP_ERR : IBV_WC_REM_ACCESS_ERR);
	inj_arm(0);
	want_one_nak(pkts, n, REQ_PSN, inject ? NAK_OP : NAK_ACCESS);
	want_state(&p, IBV_QPS_ERR);
	want_counters(before, want);
	pair_close(&p);
	vt_case_end(inject ?
		 "READ, the address space gone at the first response (injected): one NAK, remote operational error; rxe0 ends REM_OP_ERR" :
		 "READ of an unmapped range: one NAK, remote access error; rxe0 ends REM_ACCESS_ERR");
}

/* An atomic whose memory fails: one NAK, memory unchanged. */
static void case_atomic(bool inject)
{
	int want[C_NUM] = { [C_NAK_OP] = inject, [C_NAK_ACCESS] = !inject,
			    [C_HITS] = inject };
	uint32_t off = inject ? 0 : HALF;
	long long before[C_NUM];
	uint64_t old = 0;
	struct pair p;
	unsigned int n;

	pair_open(&p, 4);
	if (!inject && munmap(p.mem_r + HALF, HALF))
		vt_die("munmap: %s", strerror(errno));
	if (inject)
		old = vt_get_u64(p.mem_r + off);
	counters(before);
	if (inject)
		inj_arm(1);
	n = do_atomic(&p, !inject, off,
		      inject ? IBV_WC_REM_OP_ERR : IBV_WC_REM_ACCESS_ERR);
	inj_arm(0);
	want_one_nak(pkts, n, REQ_PSN, inject ? NAK_OP : NAK_ACCESS);
	if (inject && vt_get_u64(p.mem_r + off) != old)
		vt_bad("the failed FETCH_ADD changed the responder's memory");
	want_state(&p, IBV_QPS_ERR);
	want_counters(before, want);
	pair_close(&p);
	vt_case_end(inject ?
		 "FETCH_ADD, the address space gone (injected): one NAK, remote operational error, memory unchanged; rxe0 ends REM_OP_ERR" :
		 "CMP_SWAP on an unmapped page: one NAK, remote access error; rxe0 ends REM_ACCESS_ERR");
}

/*
 * A READ, and right behind it a WRITE with a bad R_Key: the READ's
 * responses answer an earlier request than the NAK, they go out first.
 * 100 responses: more than the responder sends in one round (64), so the
 * WRITE comes in while they go out, and fewer than rxe keeps unacked
 * (128), so it sends the WRITE right behind the READ.
 */
#define NB_LEN		(100 * KIB)

static void case_nak_behind_read(void)
{
	int want[C_NUM] = { [C_NAK_ACCESS] = 1 };
	struct ibv_sge g[2];
	struct ibv_send_wr wr[2];
	long long before[C_NUM];
	unsigned int n, total, i;
	struct ibv_wc wc;
	struct pair p;

	pair_open(&p, 5);
	total = NB_LEN / p.mtu;
	g[0] = (struct ibv_sge){ .addr = (uintptr_t)p.buf_q,
				 .length = NB_LEN, .lkey = p.mr_q->lkey };
	g[1] = (struct ibv_sge){ .addr = (uintptr_t)p.buf_q,
				 .length = 64, .lkey = p.mr_q->lkey };
	vt_send_wr(&wr[0], 1, &g[0], 1, IBV_WR_RDMA_READ, IBV_SEND_SIGNALED);
	wr[0].wr.rdma.remote_addr = (uintptr_t)p.mem_r;
	wr[0].wr.rdma.rkey = p.mr_r->rkey;
	vt_send_wr(&wr[1], 2, &g[1], 1, IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED);
	wr[1].wr.rdma.remote_addr = (uintptr_t)p.mem_r;
	wr[1].wr.rdma.rkey = p.mr_r->rkey ^ 0x80;
	wr[0].next = &wr[1];
	counters(before);
	cap_reset();
	vt_post_send(p.qp_q, &wr[0], "READ and WRITE");
	for (i = 0; i < 2; i++) {
		enum ibv_wc_status st = i ? IBV_WC_REM_ACCESS_ERR :
					IBV_WC_SUCCESS;

		if (vt_poll_wc(p.cq_q, &wc, 20000) != 1) {
			vt_bad("no completion %u on %s within 20 s", i + 1,
			    dev_q.name);
			break;
		}
		if (wc.wr_id != i + 1 || wc.status != st)
			vt_bad("completion %u: WR %" PRIu64 " %s, want WR %u %s",
			    i + 1, (uint64_t)wc.wr_id,
			    ibv_wc_status_str(wc.status), i + 1,
			    ibv_wc_status_str(st));
	}
	usleep(300 * 1000);
	n = cap_take(p.qp_q->qp_num, pkts);
	want_full_stream(pkts, n > total ? total : n, REQ_PSN, total, p.mtu);
	if (n > total)
		want_one_nak(pkts + total, n - total, REQ_PSN + total,
			     NAK_ACCESS);
	else
		vt_bad("%u packets: no NAK after the READ's %u responses", n,
		    total);
	if (memcmp(p.buf_q, p.mem_r, NB_LEN))
		vt_bad("the data read differs from the responder's memory");
	want_state(&p, IBV_QPS_ERR);
	want_counters(before, want);
	pair_close(&p);
	vt_case_end("READ of 100 KiB, a WRITE with a bad R_Key behind it: the READ's whole stream, then one NAK, remote access error; rxe0: READ done, WRITE REM_ACCESS_ERR");
}

/*
 * An ODP fault that fails for the moment only (injected: debugfs
 * rodp/inject/odp_busy, the -EBUSY of a fault that kept colliding with
 * invalidations) under a WRITE of 64 KiB or a FETCH_ADD into the cold
 * MR: not the requester's error, nor a reason to end the QP.  R answers
 * the request's first PSN with an RNR NAK, rxe0 sends it again after the
 * RNR timer, and it completes: every byte written, the add done once.
 */
#define BUSY_LEN	(64 * KIB)

static void case_busy(bool atomic)
{
	int want[C_NUM] = { [C_RNR] = 1, [C_BUSY_HITS] = 1 };
	long long before[C_NUM];
	uint64_t old = 0;
	struct pair p;
	unsigned int n;

	pair_open(&p, 6 + atomic);
	if (atomic)
		old = vt_get_u64(p.mem_r);
	else
		vt_fill(p.buf_q, BUSY_LEN, 99);
	counters(before);
	inj_arm_at("odp_busy", 1);
	n = atomic ? do_atomic(&p, false, 0, IBV_WC_SUCCESS) :
		     do_write(&p, 0, BUSY_LEN, IBV_WC_SUCCESS);
	inj_arm_at("odp_busy", 0);
	if (atomic)
		want_rnr_first(pkts, n, REQ_PSN, OP_ATOMIC_ACK, REQ_PSN);
	else
		want_rnr_first(pkts, n, REQ_PSN, OP_ACK,
			       REQ_PSN + BUSY_LEN / p.mtu - 1);
	if (atomic && (vt_get_u64(p.mem_r) != old + 1 ||
		       vt_get_u64(p.buf_q) != old))
		vt_bad("FETCH_ADD: memory 0x%" PRIx64 " (want 0x%" PRIx64 "), returned 0x%" PRIx64 " (want 0x%" PRIx64 ")",
		    vt_get_u64(p.mem_r), old + 1, vt_get_u64(p.buf_q), old);
	if (!atomic && memcmp(p.mem_r, p.buf_q, BUSY_LEN))
		vt_bad("the responder's memory differs from what was written");
	want_state(&p, IBV_QPS_RTS);
	want_counters(before, want);
	pair_close(&p);
	vt_case_end(atomic ?
		 "FETCH_ADD, its fault fails for now (injected -EBUSY): an RNR NAK, the retry adds once; rxe0 ends SUCCESS, the QP stays RTS" :
		 "WRITE of 64 KiB, its fault fails for now (injected -EBUSY): an RNR NAK at its first PSN, then every byte; rxe0 ends SUCCESS, the QP stays RTS");
}

/*
 * The same in the middle of a message: a WRITE of the whole 512 KiB MR,
 * whose second fault (the first brings in 256 KiB ahead) fails for the
 * moment.  One RNR NAK, at a PSN inside the message, no other NAK; rxe0
 * sends the rest again and every byte lands once, where it belongs.
 *
 * rxe as a sender on a guest with two CPUs reorders a packet now and
 * then (its work moves between CPUs, and one message's packets cross two
 * backlogs: the uc suite meets it too).  rodp0 then answers, as RC must,
 * with a PSN sequence error NAK, and rxe0 goes back to it.  When that is
 * the only thing wrong, the case runs once more, with a diagnostic; a
 * second time fails, as does any other NAK.
 */
static void case_busy_mid(void)
{
	int want[C_NUM] = { [C_RNR] = 1, [C_BUSY_HITS] = 1 };
	long long before[C_NUM], seq0;
	unsigned int n, i, rnr, seq, other, tries = 0;
	uint32_t at, seq_at;
	struct pair p;

again:
	rnr = 0;
	seq = 0;
	other = 0;
	at = 0;
	seq_at = 0;
	pair_open(&p, 9);
	vt_fill(p.buf_q, MR_LEN, 98);
	counters(before);
	seq0 = counter("tx_nak_seq");
	inj_arm_at("odp_busy", 2);
	n = do_write(&p, 0, MR_LEN, IBV_WC_SUCCESS);
	inj_arm_at("odp_busy", 0);
	for (i = 0; i < n; i++) {
		if (pkts[i].syn < 0 || !(pkts[i].syn & 0xe0))
			continue;
		if ((pkts[i].syn & 0xe0) == 0x20) {
			rnr++;
			at = pkts[i].psn;
		} else if (pkts[i].syn == 0x60) {
			seq++;
			seq_at = pkts[i].psn;
		} else {
			other++;
		}
	}
	if (seq && !other && !tries && counter("tx_nak_seq") - seq0 == seq) {
		vt_diag("%u PSN sequence NAK(s) from %s, last at +%u: %s reordered a packet; again",
			seq, dev_r.name, (seq_at - REQ_PSN) & 0xffffff,
			dev_q.name);
		pair_close(&p);
		tries++;
		goto again;
	}
	for (i = 0; i < n; i++)
		if (pkts[i].syn >= 0 && (pkts[i].syn & 0xe0) &&
		    (pkts[i].syn & 0xe0) != 0x20)
			vt_bad("%s: a NAK", pkt_str(pkts, i));
	if (rnr != 1 || at == REQ_PSN ||
	    ((at - REQ_PSN) & 0xffffff) >= MR_LEN / p.mtu)
		vt_bad("%u RNR NAKs, the last at PSN 0x%06x: want one inside the message, after its first PSN",
		    rnr, at);
	else
		vt_diag("the RNR NAK at PSN +%u of %u", (at - REQ_PSN) & 0xffffff,
			MR_LEN / p.mtu);
	if (memcmp(p.mem_r, p.buf_q, MR_LEN))
		vt_bad("the responder's memory differs from what was written");
	want_state(&p, IBV_QPS_RTS);
	want_counters(before, want);
	pair_close(&p);
	vt_case_end("WRITE of 512 KiB, its second fault fails for now (injected -EBUSY): one RNR NAK inside the message, then every byte once; rxe0 ends SUCCESS, the QP stays RTS");
}

/*
 * The same on rodp as the requester: rodp0 READs 64 KiB from rxe0 into a
 * cold ODP buffer of its own, and the fault that places the first
 * response fails for the moment (odp_busy).  The response is dropped as
 * if lost; rodp0 asks again and the READ completes, every byte right,
 * the QP still RTS.  (Nothing captured: the requester's side is judged
 * by its completion and counters.)
 */
static void case_busy_requester(void)
{
	const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ;
	long long hits0, hits1;
	uint64_t rt0 = 0, rt1 = 0;
	struct ibv_pd *pd_a, *pd_b;
	struct ibv_cq *cq_a, *cq_b;
	struct ibv_qp *qp_a, *qp_b;
	struct ibv_mr *mr_a, *mr_b;
	struct ibv_send_wr wr;
	struct vt_path path;
	struct ibv_sge g;
	struct ibv_wc wc;
	uint8_t *a, *b;
	int rc;

	/* a: rodp0's cold ODP buffer; b: rxe0's pinned pattern */
	a = mmap(NULL, BUSY_LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = aligned_alloc(4096, BUSY_LEN);
	if (a == MAP_FAILED || !b)
		vt_die("out of memory");
	vt_fill(b, BUSY_LEN, 8);
	pd_a = ibv_alloc_pd(dev_r.ctx);
	pd_b = ibv_alloc_pd(dev_q.ctx);
	cq_a = ibv_create_cq(dev_r.ctx, 16, NULL, NULL, 0);
	cq_b = ibv_create_cq(dev_q.ctx, 16, NULL, NULL, 0);
	if (!pd_a || !pd_b || !cq_a || !cq_b)
		vt_die("PD/CQ: %s", strerror(errno));
	mr_a = ibv_reg_mr(pd_a, a, BUSY_LEN, access | IBV_ACCESS_ON_DEMAND);
	mr_b = ibv_reg_mr(pd_b, b, BUSY_LEN, access);
	if (!mr_a || !mr_b)
		vt_die("ibv_reg_mr: %s", strerror(errno));
	qp_a = make_qp(pd_a, cq_a);
	qp_b = make_qp(pd_b, cq_b);
	if (!qp_a || !qp_b)
		vt_die("ibv_create_qp(RC): %s", strerror(errno));
	vt_path_init(&path, &dev_r, &dev_q);
	rc = vt_qp_connect(qp_a, &path, &dev_r, qp_b->qp_num, REQ_PSN,
			   RESP_PSN, &dev_q.gid);
	if (!rc)
		rc = vt_qp_connect(qp_b, &path, &dev_q, qp_a->qp_num,
				   RESP_PSN, REQ_PSN, &dev_r.gid);
	if (rc)
		vt_die("connecting %s and %s: %s", dev_r.name, dev_q.name,
		    vt_errmsg());

	g = (struct ibv_sge){ .addr = (uintptr_t)a, .length = BUSY_LEN,
			      .lkey = mr_a->lkey };
	vt_send_wr(&wr, 1, &g, 1, IBV_WR_RDMA_READ, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = (uintptr_t)b;
	wr.wr.rdma.rkey = mr_b->rkey;
	usleep(20 * 1000);
	vt_hw_counter(dev_r.name, "retransmits", &rt0);
	hits0 = inj_read("odp_busy_hits");
	inj_arm_at("odp_busy", 1);
	vt_post_send(qp_a, &wr, "the READ");
	if (vt_poll_wc(cq_a, &wc, 20000) != 1)
		vt_bad("no completion on %s within 20 s", dev_r.name);
	else if (wc.status != IBV_WC_SUCCESS)
		vt_bad("%s's completion: %s, want success", dev_r.name,
		    ibv_wc_status_str(wc.status));
	inj_arm_at("odp_busy", 0);
	usleep(20 * 1000);
	vt_hw_counter(dev_r.name, "retransmits", &rt1);
	hits1 = inj_read("odp_busy_hits");
	if (hits1 - hits0 != 1)
		vt_bad("odp_busy_hits moved by %lld, want 1", hits1 - hits0);
	if (rt1 <= rt0)
		vt_bad("%s's retransmits did not move (%" PRIu64 "): the READ was not asked again",
		    dev_r.name, rt0);
	if (memcmp(a, b, BUSY_LEN))
		vt_bad("the data read differs from %s's memory", dev_q.name);
	if (vt_qp_state(qp_a) != IBV_QPS_RTS)
		vt_bad("%s's QP is %s, want RTS", dev_r.name,
		    vt_qp_state_str(vt_qp_state(qp_a)));
	vt_diag("%s: retransmits +%" PRIu64, dev_r.name, rt1 - rt0);
	ibv_destroy_qp(qp_a);
	ibv_destroy_qp(qp_b);
	ibv_dereg_mr(mr_a);
	ibv_dereg_mr(mr_b);
	ibv_destroy_cq(cq_a);
	ibv_destroy_cq(cq_b);
	ibv_dealloc_pd(pd_a);
	ibv_dealloc_pd(pd_b);
	munmap(a, BUSY_LEN);
	free(b);
	vt_case_end("rodp0 READs 64 KiB into a cold ODP buffer, its fault fails for now (injected -EBUSY): the response is dropped, the READ asked again, every byte right; the QP stays RTS");
}

/*
 * case_busy(true) with rodp1 as the requester in place of rxe0: rodp's
 * own completer must take the RNR NAK at an atomic's PSN (it waits and
 * sends it again: rnr_waits, no ACK timeout) and the add is done once.
 */
static void case_busy_rodp_atomic(void)
{
	int want[C_NUM] = { [C_RNR] = 1, [C_BUSY_HITS] = 1 };
	uint64_t w0 = 0, w1 = 0, t0 = 0, t1 = 0, old;
	struct vt_dev rxe = dev_q, d;
	long long before[C_NUM];
	struct pair p;

	if (vt_dev_open(&d, "rodp1", false))
		vt_die("%s", d.error);
	dev_q = d;
	pair_open(&p, 8);
	/*
	 * Not present: rodp0 takes rodp1's packet on this host, in rodp1's
	 * post, where it may not fault, only mirror what is present; so the
	 * fault (and the injection) comes in its work item.
	 */
	if (madvise(p.mem_r, 4096, MADV_DONTNEED))
		vt_die("madvise: %s", strerror(errno));
	old = 0;
	counters(before);
	vt_hw_counter(dev_q.name, "rnr_waits", &w0);
	vt_hw_counter(dev_q.name, "ack_timeouts", &t0);
	inj_arm_at("odp_busy", 1);
	do_atomic(&p, false, 0, IBV_WC_SUCCESS);
	inj_arm_at("odp_busy", 0);
	vt_hw_counter(dev_q.name, "rnr_waits", &w1);
	vt_hw_counter(dev_q.name, "ack_timeouts", &t1);
	if (w1 - w0 != 1 || t1 != t0)
		vt_bad("%s: rnr_waits +%" PRIu64 " (want 1), ack_timeouts +%" PRIu64 " (want 0)",
		    dev_q.name, w1 - w0, t1 - t0);
	if (vt_get_u64(p.mem_r) != old + 1 || vt_get_u64(p.buf_q) != old)
		vt_bad("FETCH_ADD: memory 0x%" PRIx64 " (want 0x%" PRIx64 "), returned 0x%" PRIx64 " (want 0x%" PRIx64 ")",
		    vt_get_u64(p.mem_r), old + 1, vt_get_u64(p.buf_q), old);
	want_state(&p, IBV_QPS_RTS);
	want_counters(before, want);
	pair_close(&p);
	ibv_close_device(dev_q.ctx);
	dev_q = rxe;
	vt_case_end("FETCH_ADD from rodp1, its fault fails for now (injected -EBUSY): rodp1 takes the RNR NAK (rnr_waits +1, no ACK timeout), the add done once; the QP stays RTS");
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rodp_respfail [--responder DEV] [--requester DEV] [--ifname IF]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = "ve2";
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--responder") && i + 1 < argc)
			name_r = argv[++i];
		else if (!strcmp(argv[i], "--requester") && i + 1 < argc)
			name_q = argv[++i];
		else if (!strcmp(argv[i], "--ifname") && i + 1 < argc)
			ifname = argv[++i];
		else
			usage();
	}

	printf("1..13\n");
	vt_case_begin();
	if (vt_dev_open(&dev_q, name_q, false))
		vt_die("%s", dev_q.error);
	if (vt_dev_open(&dev_r, name_r, false))
		vt_die("%s", dev_r.error);
	if (!dev_r.rodp)
		vt_die("%s is not a rodp device", dev_r.name);
	if (inj_read("odp_fault_hits") < 0)
		vt_die("no %s/odp_fault_hits: debugfs not mounted, or rodp.ko built without RODP_FAULT_INJECT",
		    INJ_DIR);
	memcpy(&cap_saddr, dev_r.gid.raw + 12, 4);
	cap_open(ifname);
	vt_diag("requester %s, responder %s (cold ODP MR of %u KiB), capture on %s",
		name_q, name_r, MR_LEN / KIB, ifname);
	inj_arm(0);
	inj_arm_at("odp_busy", 0);

	case_control();
	case_read_cut(true);
	case_read_first(true);
	case_read_cut(false);
	case_read_first(false);
	case_atomic(true);
	case_atomic(false);
	case_nak_behind_read();
	case_busy(false);
	case_busy(true);
	case_busy_mid();
	case_busy_requester();
	case_busy_rodp_atomic();

	close(cap_fd);
	ibv_close_device(dev_q.ctx);
	ibv_close_device(dev_r.ctx);
	return vt_tap_failed ? 1 : 0;
}
