// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rc_test [OPTIONS] A:B...: the RC data path between two RDMA devices
 * (cmocka; run in the guest by suites/50-rc.sh with TAP output).
 *
 * For each pairing A:B one process opens both devices and connects an RC
 * QP on A (the requester of every operation) to one on B, exchanging QPN,
 * PSN and GID in memory: RDMA devices are visible from every network
 * namespace and each sends from its own netdev's namespace.  A:A pairs two
 * QPs of one device.  The IPv4 RoCE v2 GID is looked up, not assumed.
 *
 * The data is checked, not only the completions: every target buffer sits
 * between guard bytes that must come out unchanged, and a difference is
 * reported with its offset.  Covered: SEND (with immediate), RDMA WRITE
 * (with immediate), RDMA READ, compare-and-swap and fetch-and-add, sizes
 * around the path MTU up to 1 MiB + 5 at odd offsets, gather and scatter
 * lists, inline data, unsignaled WRs, completion channels and solicited
 * events, RNR retries, query_qp/query_device, other path MTUs, one
 * 256 MiB write and read (--big), and the error paths: remote access
 * errors, local protection and length errors, RNR retry exhausted,
 * flushes, misaligned atomics and full queues.
 *
 * Options:
 *   --ipv6         connect through IPv6 RoCE v2 GIDs (link-local) instead
 *                  of IPv4 ones; test names read "A:B ipv6 what".  Must
 *                  come before the pairings.
 *   --big A:B      add the 256 MiB test to pairing A:B
 *   --big-mib N    make that N MiB instead
 *   --mtu LIST     path MTUs for the "mtu N" tests (default 256,
 *                  comma-separated; a path MTU above a port's active MTU
 *                  is a skipped test)
 *   --only GLOBS   run only the tests whose name ("A:B what") matches one
 *                  of the comma-separated fnmatch(3) patterns
 *   --count        print the number of tests that would run, run none
 * Without pairings on the command line, RC_TEST_PAIRS (space-separated)
 * names them.  RC_TEST_VERBOSE=1 prints the time each test took.
 *
 * Linux 6.1's rxe (the control) differs from IBA in a few error statuses
 * and in flushing WRs posted in the error state; on a device that is not
 * rodp those differences are accepted, each with a "known rxe 6.1
 * behaviour" diagnostic.  rodp must behave as IBA says.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>
#include <rdma/ib_user_verbs.h>
#include <rdma/rodp-abi.h>

#include "common.h"

#define MAX_BUFS	16
#define MAX_CONNS	2
#define GUARD		256		/* guard bytes each side of a target */
#define MIB		(1024u * 1024u)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* --ipv6: connect through the devices' IPv6 RoCE v2 GIDs (fe80::...). */
static bool use_ipv6;

/* ---------------------------------------------------------------------- */
/* Test cases and the resources they hold                                  */
/* ---------------------------------------------------------------------- */

struct pairing {
	struct vt_dev *a, *b;
	char name[140];
	bool big;
};

/**
 * struct buf - a page-aligned buffer and its MR
 * @mem: the buffer
 * @size: its size (the whole of it is registered)
 * @mr: the MR, NULL for an unregistered buffer
 */
struct buf {
	uint8_t *mem;
	size_t size;
	size_t map;
	struct ibv_mr *mr;
};

struct conn;

/**
 * struct tcase - one cmocka test: what it tests and what it holds
 * @vc: its name ("A:B what") and test function
 * @pair: the pairing (NULL for a per-device test)
 * @dev: the device of a per-device test
 * @arg: a parameter (the path MTU of an "mtu N" test)
 * @conns, @nconns, @bufs, @nbufs: released after the test (and what
 *	vt_tc_alloc() gave),
 *	whether it passed or not
 */
struct tcase {
	struct vt_case vc;
	struct pairing *pair;
	struct vt_dev *dev;
	uint32_t arg;
	struct conn *conns[MAX_CONNS];
	unsigned int nconns;
	struct buf bufs[MAX_BUFS];
	unsigned int nbufs;
};

/* A fresh buffer of @len bytes (0xa5), registered on @pd unless NULL. */
static struct buf *buf_new(struct tcase *tc, struct ibv_pd *pd, size_t len,
			   int access)
{
	struct buf *b;
	size_t map = (len + 4095) & ~(size_t)4095;
	void *p;

	assert_true(tc->nbufs < MAX_BUFS);
	p = mmap(NULL, map, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap %zu bytes: %s", map, strerror(errno));
	b = &tc->bufs[tc->nbufs++];
	b->mem = p;
	b->size = len;
	b->map = map;
	b->mr = NULL;
	memset(p, 0xa5, len);
	if (!pd)
		return b;
	b->mr = ibv_reg_mr(pd, p, len, access);
	CHECK(b->mr, "ibv_reg_mr(%zu bytes, access 0x%x): %s", len, access,
	      strerror(errno));
	return b;
}

/* Give back every buffer of @tc, the newest first, and its MR if any. */
static void bufs_free(struct tcase *tc)
{
	while (tc->nbufs) {
		struct buf *b = &tc->bufs[--tc->nbufs];

		if (b->mr)
			ibv_dereg_mr(b->mr);
		munmap(b->mem, b->map);
	}
}

/* ---------------------------------------------------------------------- */
/* Patterns and comparisons                                                */
/* ---------------------------------------------------------------------- */

#define GUARD_SEED	0x6a09e667u

/* A region of a buffer that an operation is allowed to change. */
struct seg {
	size_t off;
	size_t len;
};

/*
 * Compare @got with @want over @size bytes.  @segs are where the data
 * should have gone (the rest is guard); the first difference is reported
 * as a byte of a segment or of the guard around them.
 */
static bool same_segs(const char *what, const uint8_t *got,
		      const uint8_t *want, size_t size,
		      const struct seg *segs, unsigned int nsegs)
{
	unsigned int s;
	size_t i;

	if (!memcmp(got, want, size))
		return true;
	for (i = 0; got[i] == want[i]; i++)
		;
	for (s = 0; s < nsegs; s++) {
		if (i >= segs[s].off && i < segs[s].off + segs[s].len) {
			vt_diag("%s: first difference at byte %zu of %zu%s: got 0x%02x, want 0x%02x",
				what, i - segs[s].off, segs[s].len,
				nsegs > 1 ? " of a segment" : "",
				got[i], want[i]);
			if (nsegs > 1)
				vt_diag("%s: (segment %u of %u, at buffer offset %zu)",
					what, s, nsegs, segs[s].off);
			return false;
		}
	}
	if (nsegs && i < segs[0].off)
		vt_diag("%s: guard changed %zu bytes before the target: got 0x%02x, want 0x%02x",
			what, segs[0].off - i, got[i], want[i]);
	else if (nsegs && i >= segs[nsegs - 1].off + segs[nsegs - 1].len)
		vt_diag("%s: guard changed %zu bytes after the target's end: got 0x%02x, want 0x%02x",
			what, i - segs[nsegs - 1].off - segs[nsegs - 1].len,
			got[i], want[i]);
	else
		vt_diag("%s: bytes outside the target changed at buffer offset %zu: got 0x%02x, want 0x%02x",
			what, i, got[i], want[i]);
	return false;
}

static bool same_bytes(const char *what, const uint8_t *got,
		       const uint8_t *want, size_t size, size_t off,
		       size_t len)
{
	struct seg s = { off, len };

	return same_segs(what, got, want, size, &s, 1);
}

#define EXPECT_SEGS(...)				\
	do {						\
		if (!same_segs(__VA_ARGS__))		\
			fail();				\
	} while (0)
#define EXPECT_BYTES(...)				\
	do {						\
		if (!same_bytes(__VA_ARGS__))		\
			fail();				\
	} while (0)

/* ---------------------------------------------------------------------- */
/* Connections                                                             */
/* ---------------------------------------------------------------------- */

/**
 * struct conn_opts - how to set up a connection
 * @mtu: path MTU (0: the smaller of the two ports' active MTU)
 * @send_wr, @recv_wr, @send_sge, @recv_sge, @inline_data: QP capabilities
 *	asked for
 * @timeout, @retry_cnt, @rnr_retry, @min_rnr_timer: RTR/RTS attributes
 * @sig_all: sq_sig_all
 * @channel: CQs on a completion channel (one per endpoint)
 * @b_init: leave B's QP in INIT (it then drops everything A sends)
 * @send_ops: non-zero: the QPs are made with ibv_create_qp_ex() and
 *	these send_ops_flags (the ibv_wr_* API)
 */
struct conn_opts {
	enum ibv_mtu mtu;
	uint32_t send_wr, recv_wr, send_sge, recv_sge, inline_data;
	uint8_t timeout, retry_cnt, rnr_retry, min_rnr_timer;
	bool sig_all, channel, b_init;
	uint64_t send_ops;
};

static const struct conn_opts default_opts = {
	.send_wr = 64, .recv_wr = 64, .send_sge = 4, .recv_sge = 4,
	/* 268 ms local ACK timeout: TCG guests stall for tens of ms. */
	.timeout = 16, .retry_cnt = 7, .rnr_retry = 7, .min_rnr_timer = 12,
	.sig_all = false,
};

/**
 * struct ep - one end of a connection
 * @dev: its device
 * @pd, @ch, @scq, @rcq, @qp: its verbs objects (@ch may be NULL)
 * @cap: the QP capabilities granted
 * @psn: its sq_psn, the peer's rq_psn
 */
struct ep {
	struct vt_dev *dev;
	struct ibv_pd *pd;
	struct ibv_comp_channel *ch;
	struct ibv_cq *scq, *rcq;
	struct ibv_qp *qp;
	struct ibv_qp_cap cap;
	uint32_t psn;
};

/**
 * struct conn - two connected RC QPs
 * @a: the requester's end
 * @b: the responder's end
 * @o: how it was set up
 * @path: the path attributes of both QPs (@path.rd_atomic is both
 *	max_rd_atomic and max_dest_rd_atomic)
 * @mtu_bytes: the path MTU in bytes
 */
struct conn {
	struct ep a, b;
	struct conn_opts o;
	struct vt_path path;
	uint32_t mtu_bytes;
};

static void ep_close(struct ep *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	if (e->scq)
		ibv_destroy_cq(e->scq);
	if (e->rcq)
		ibv_destroy_cq(e->rcq);
	if (e->ch)
		ibv_destroy_comp_channel(e->ch);
	if (e->pd)
		ibv_dealloc_pd(e->pd);
	memset(e, 0, sizeof(*e));
}

static void conn_close(struct conn *c)
{
	ep_close(&c->a);
	ep_close(&c->b);
}

static void ep_create(struct ep *e, struct vt_dev *d, const struct conn_opts *o,
		      uint32_t psn)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = o->send_wr, .max_recv_wr = o->recv_wr,
		.max_send_sge = o->send_sge, .max_recv_sge = o->recv_sge,
		.max_inline_data = o->inline_data,
	};
	int cqe = (int)(o->send_wr > o->recv_wr ? o->send_wr : o->recv_wr);

	e->dev = d;
	e->psn = psn;
	e->pd = ibv_alloc_pd(d->ctx);
	CHECK(e->pd, "%s: ibv_alloc_pd: %s", d->name, strerror(errno));
	if (o->channel) {
		e->ch = ibv_create_comp_channel(d->ctx);
		CHECK(e->ch, "%s: ibv_create_comp_channel: %s", d->name,
		      strerror(errno));
	}
	e->scq = ibv_create_cq(d->ctx, cqe + 1, NULL, e->ch, 0);
	e->rcq = ibv_create_cq(d->ctx, cqe + 1, NULL, e->ch, 0);
	CHECK(e->scq && e->rcq, "%s: ibv_create_cq(%d): %s", d->name,
	      cqe + 1, strerror(errno));
	if (o->send_ops) {
		struct ibv_qp_init_attr_ex ax = {
			.send_cq = e->scq, .recv_cq = e->rcq,
			.qp_type = IBV_QPT_RC, .sq_sig_all = o->sig_all,
			.cap = cap, .pd = e->pd,
			.comp_mask = IBV_QP_INIT_ATTR_PD |
				     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
			.send_ops_flags = o->send_ops,
		};

		e->qp = ibv_create_qp_ex(d->ctx, &ax);
		if (e->qp)
			cap = ax.cap;
	} else {
		e->qp = vt_qp_create(e->pd, e->scq, e->rcq, &cap, o->sig_all);
	}
	CHECK(e->qp,
	      "%s: ibv_create_qp(RC, send_wr %u recv_wr %u send_sge %u recv_sge %u inline %u): %s",
	      d->name, o->send_wr, o->recv_wr, o->send_sge, o->recv_sge,
	      o->inline_data, strerror(errno));
	e->cap = cap;
	CHECK(e->cap.max_send_wr >= o->send_wr &&
	      e->cap.max_recv_wr >= o->recv_wr &&
	      e->cap.max_send_sge >= o->send_sge &&
	      e->cap.max_recv_sge >= o->recv_sge &&
	      e->cap.max_inline_data >= o->inline_data,
	      "%s: QP granted less than asked: send_wr %u recv_wr %u send_sge %u recv_sge %u inline %u",
	      d->name, e->cap.max_send_wr, e->cap.max_recv_wr,
	      e->cap.max_send_sge, e->cap.max_recv_sge,
	      e->cap.max_inline_data);
}

static void ep_to_rtr(struct conn *c, struct ep *e, const struct ep *peer)
{
	CHECK(!vt_qp_to_rtr(e->qp, &c->path, e->dev->gid_index,
			    peer->qp->qp_num, peer->psn, &peer->dev->gid),
	      "%s: %s on %s", e->dev->name, vt_errmsg(), peer->dev->name);
}

static void ep_to_rts(struct conn *c, struct ep *e)
{
	CHECK(!vt_qp_to_rts(e->qp, &c->path, e->psn), "%s: %s",
	      e->dev->name, vt_errmsg());
}

/*
 * Connect a QP on the pairing's first device to one on its second, both
 * in RTS (unless @o->b_init).  Start PSNs just below the wrap, so that
 * multi-packet messages cross it.
 */
static struct conn *conn_open(struct tcase *tc, const struct conn_opts *o)
{
	struct pairing *p = tc->pair;
	struct conn *c;
	uint32_t am, bm;

	vt_dev_ready(p->a);
	vt_dev_ready(p->b);
	assert_true(tc->nconns < MAX_CONNS);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	tc->conns[tc->nconns++] = c;
	c->o = *o;
	vt_path_init(&c->path, p->a, p->b);
	am = vt_mtu_bytes(p->a->port.active_mtu);
	bm = vt_mtu_bytes(p->b->port.active_mtu);
	c->path.mtu = o->mtu ? o->mtu : vt_mtu_enum(am < bm ? am : bm);
	c->path.timeout = o->timeout;
	c->path.retry_cnt = o->retry_cnt;
	c->path.rnr_retry = o->rnr_retry;
	c->path.min_rnr_timer = o->min_rnr_timer;
	c->mtu_bytes = vt_mtu_bytes(c->path.mtu);
	CHECK(c->mtu_bytes, "no usable path MTU (active_mtu %u and %u)",
	      am, bm);
	CHECK(c->path.rd_atomic > 0,
	      "a device allows no outstanding RDMA reads/atomics");

	ep_create(&c->a, p->a, o, 0xfffff0 - (tc->nconns * 16));
	ep_create(&c->b, p->b, o, 0x7ffffa + tc->nconns);
	CHECK(!vt_qp_to_init(c->a.qp, VT_ACCESS_ALL), "%s: %s", p->a->name,
	      vt_errmsg());
	CHECK(!vt_qp_to_init(c->b.qp, VT_ACCESS_ALL), "%s: %s", p->b->name,
	      vt_errmsg());
	ep_to_rtr(c, &c->a, &c->b);
	ep_to_rts(c, &c->a);
	if (!o->b_init) {
		ep_to_rtr(c, &c->b, &c->a);
		ep_to_rts(c, &c->b);
	}
	return c;
}

/* ---------------------------------------------------------------------- */
/* Posting and completions                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Wait for the next completion on @cq and check its wr_id, status and
 * (when @opcode >= 0 and the status is success) opcode.
 */
static void expect_wc(struct ibv_cq *cq, struct ibv_wc *wc, const char *what,
		      uint64_t wr_id, enum ibv_wc_status status, int opcode,
		      int ms)
{
	CHECK(vt_get_wc(cq, wc, ms),
	      "%s: no completion within %d ms (want wr_id %" PRIu64 " %s)",
	      what, ms, wr_id, ibv_wc_status_str(status));
	vt_check_wc(wc, what, wr_id, status, opcode);
}

/*
 * Linux 6.1's rxe, the control, differs from IBA in a few error statuses.
 * On a device that is not rodp, rxe's value is accepted with a note;
 * rodp must give IBA's.
 */
static bool rxe_deviation(const struct vt_dev *d, int got, int rxe_value,
			  const char *what, const char *iba)
{
	if (d->rodp)
		return false;
	/*
	 * rxe 6.12 and later end a WR with a bad L_Key with WR_FLUSH_ERR:
	 * the QP is moved to error before the WR completes.
	 */
	if (got != rxe_value &&
	    !(rxe_value == IBV_WC_LOC_QP_OP_ERR && got == IBV_WC_WR_FLUSH_ERR))
		return false;
	vt_diag("%s: %s gives %s where IBA says %s (known rxe behaviour, accepted for the control)",
		what, d->name, ibv_wc_status_str(got), iba);
	return true;
}

/*
 * expect_wc() for an error status where rxe (on a device that is not
 * rodp) is known to give @rxe_status instead of IBA's @status.
 */
static void expect_wc_err(struct ibv_cq *cq, struct ibv_wc *wc,
			  const char *what, const struct vt_dev *d,
			  uint64_t wr_id, enum ibv_wc_status status,
			  enum ibv_wc_status rxe_status)
{
	CHECK(vt_get_wc(cq, wc, 10000),
	      "%s: no completion within 10 s (want wr_id %" PRIu64 " %s)",
	      what, wr_id, ibv_wc_status_str(status));
	CHECK(wc->wr_id == wr_id,
	      "%s: completion for wr_id %" PRIu64 ", want %" PRIu64, what,
	      (uint64_t)wc->wr_id, wr_id);
	if (wc->status == status ||
	    rxe_deviation(d, wc->status, rxe_status, what,
			  ibv_wc_status_str(status)))
		return;
	CHECK(0, "%s: completion status %s (%d), want %s (%d)", what,
	      ibv_wc_status_str(wc->status), wc->status,
	      ibv_wc_status_str(status), status);
}

static struct ibv_sge sge(const struct buf *b, size_t off, size_t len)
{
	struct ibv_sge s = {
		.addr = (uintptr_t)(b->mem + off),
		.length = (uint32_t)len,
		.lkey = b->mr ? b->mr->lkey : 0,
	};

	return s;
}

static uint64_t raddr(const struct buf *b, size_t off)
{
	return (uintptr_t)(b->mem + off);
}

static void expect_qp_state(struct ep *e, enum ibv_qp_state want,
			    const char *what)
{
	vt_expect_qp_state(e->qp, e->dev->name, want, what);
}

/* ---------------------------------------------------------------------- */
/* Device and QP attributes                                                */
/* ---------------------------------------------------------------------- */

static void try_qp(struct vt_dev *d, struct ibv_pd *pd, struct ibv_cq *cq,
		   uint32_t wr, uint32_t sge, bool ok)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = wr, .max_recv_wr = wr,
		.max_send_sge = sge, .max_recv_sge = sge,
	};
	struct ibv_qp *qp = vt_qp_create(pd, cq, cq, &cap, false);

	if (qp)
		ibv_destroy_qp(qp);
	if (ok)
		CHECK(qp, "%s: QP with %u WRs and %u SGEs (within max_qp_wr %d, max_sge %d) refused: %s",
		      d->name, wr, sge, d->attr.max_qp_wr, d->attr.max_sge,
		      strerror(errno));
	else
		CHECK(!qp, "%s: QP with %u WRs and %u SGEs (beyond max_qp_wr %d / max_sge %d) created",
		      d->name, wr, sge, d->attr.max_qp_wr, d->attr.max_sge);
}

/* The limits a device reports are usable and consistent. */
static void test_limits(void **state)
{
	struct tcase *tc = *state;
	struct vt_dev *d = tc->dev;
	const struct ibv_device_attr *a = &d->attr;
	const struct ibv_port_attr *p = &d->port;
	struct ibv_pd *pd;
	struct ibv_cq *cq;

	vt_dev_ready(d);
	vt_diag("%s: max_qp %d max_qp_wr %d max_sge %d max_sge_rd %d max_cq %d max_cqe %d max_mr %d max_mr_size 0x%" PRIx64 " max_qp_rd_atom %d max_qp_init_rd_atom %d atomic_cap %d max_msg_sz 0x%x active_mtu %u max_mtu %u",
		d->name, a->max_qp, a->max_qp_wr, a->max_sge, a->max_sge_rd,
		a->max_cq, a->max_cqe, a->max_mr, (uint64_t)a->max_mr_size,
		a->max_qp_rd_atom, a->max_qp_init_rd_atom, a->atomic_cap,
		p->max_msg_sz, vt_mtu_bytes(p->active_mtu),
		vt_mtu_bytes(p->max_mtu));
	CHECK(a->max_qp > 1 && a->max_qp_wr > 0 && a->max_sge >= 4 &&
	      a->max_cq > 1 && a->max_cqe > 0 && a->max_mr > 0 &&
	      a->max_pd > 0,
	      "%s: a limit is too small (want max_qp > 1, max_qp_wr > 0, max_sge >= 4, max_cq > 1, max_cqe, max_mr, max_pd > 0)",
	      d->name);
	CHECK(a->max_mr_size >= (1ull << 30), "%s: max_mr_size 0x%" PRIx64
	      " < 1 GiB", d->name, (uint64_t)a->max_mr_size);
	CHECK(a->atomic_cap == IBV_ATOMIC_HCA ||
	      a->atomic_cap == IBV_ATOMIC_GLOB,
	      "%s: atomic_cap %d: no atomics", d->name, a->atomic_cap);
	CHECK(a->max_qp_rd_atom > 0 && a->max_qp_init_rd_atom > 0 &&
	      a->max_res_rd_atom >= a->max_qp_rd_atom,
	      "%s: max_qp_rd_atom %d, max_qp_init_rd_atom %d, max_res_rd_atom %d",
	      d->name, a->max_qp_rd_atom, a->max_qp_init_rd_atom,
	      a->max_res_rd_atom);
	CHECK(a->max_sge_rd > 0 && a->max_sge_rd <= a->max_sge,
	      "%s: max_sge_rd %d (max_sge %d)", d->name, a->max_sge_rd,
	      a->max_sge);
	CHECK(p->state == IBV_PORT_ACTIVE &&
	      p->link_layer == IBV_LINK_LAYER_ETHERNET,
	      "%s: port 1 state %d link layer %d", d->name, p->state,
	      p->link_layer);
	CHECK(vt_mtu_bytes(p->active_mtu) && p->active_mtu <= p->max_mtu,
	      "%s: active_mtu %d, max_mtu %d", d->name, p->active_mtu,
	      p->max_mtu);
	CHECK(p->max_msg_sz >= 2 * MIB, "%s: max_msg_sz %u < 2 MiB", d->name,
	      p->max_msg_sz);

	/* The limits can be used, and are limits. */
	pd = ibv_alloc_pd(d->ctx);
	CHECK(pd, "%s: ibv_alloc_pd: %s", d->name, strerror(errno));
	cq = ibv_create_cq(d->ctx, a->max_cqe, NULL, NULL, 0);
	if (!cq)
		ibv_dealloc_pd(pd);
	CHECK(cq, "%s: CQ of max_cqe %d entries refused: %s", d->name,
	      a->max_cqe, strerror(errno));
	try_qp(d, pd, cq, (uint32_t)a->max_qp_wr, 1, true);
	try_qp(d, pd, cq, 16, (uint32_t)a->max_sge, true);
	try_qp(d, pd, cq, (uint32_t)a->max_qp_wr + 1, 1, false);
	try_qp(d, pd, cq, 16, (uint32_t)a->max_sge + 1, false);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
}

/* ibv_query_qp gives back what was set. */
static void test_query_qp(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr at;
	struct conn *c;
	struct ep *e;
	bool same, more;
	int rc, i;

	o.timeout = 17;
	o.retry_cnt = 5;
	o.rnr_retry = 6;
	o.min_rnr_timer = 9;
	o.sig_all = true;
	c = conn_open(tc, &o);
	for (i = 0; i < 2; i++) {
		struct ep *peer = i ? &c->a : &c->b;
		const char *n;

		e = i ? &c->b : &c->a;
		n = e->dev->name;
		memset(&at, 0, sizeof(at));
		memset(&ia, 0, sizeof(ia));
		rc = ibv_query_qp(e->qp, &at, IBV_QP_STATE | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				  IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
				  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				  IBV_QP_MIN_RNR_TIMER |
				  IBV_QP_MAX_QP_RD_ATOMIC |
				  IBV_QP_MAX_DEST_RD_ATOMIC |
				  IBV_QP_ACCESS_FLAGS | IBV_QP_AV |
				  IBV_QP_PORT | IBV_QP_CAP, &ia);
		CHECK(!rc, "%s: ibv_query_qp: %s", n, strerror(rc));
		CHECK(at.qp_state == IBV_QPS_RTS, "%s: state %d, want RTS",
		      n, at.qp_state);
		CHECK(at.path_mtu == c->path.mtu, "%s: path_mtu %d, want %d", n,
		      at.path_mtu, c->path.mtu);
		CHECK(at.dest_qp_num == peer->qp->qp_num,
		      "%s: dest_qp_num %u, want %u", n, at.dest_qp_num,
		      peer->qp->qp_num);
		CHECK(at.rq_psn == peer->psn, "%s: rq_psn 0x%x, want 0x%x", n,
		      at.rq_psn, peer->psn);
		CHECK(at.sq_psn == e->psn, "%s: sq_psn 0x%x, want 0x%x", n,
		      at.sq_psn, e->psn);
		CHECK(at.timeout == o.timeout && at.retry_cnt == o.retry_cnt &&
		      at.rnr_retry == o.rnr_retry &&
		      at.min_rnr_timer == o.min_rnr_timer,
		      "%s: timeout %u retry_cnt %u rnr_retry %u min_rnr_timer %u, want %u %u %u %u",
		      n, at.timeout, at.retry_cnt, at.rnr_retry,
		      at.min_rnr_timer, o.timeout, o.retry_cnt, o.rnr_retry,
		      o.min_rnr_timer);
		CHECK(at.max_rd_atomic == c->path.rd_atomic &&
		      at.max_dest_rd_atomic == c->path.rd_atomic,
		      "%s: max_rd_atomic %u max_dest_rd_atomic %u, want %u",
		      n, at.max_rd_atomic, at.max_dest_rd_atomic,
		      c->path.rd_atomic);
		CHECK(at.qp_access_flags == (VT_ACCESS_ALL &
					     ~IBV_ACCESS_LOCAL_WRITE) ||
		      at.qp_access_flags == VT_ACCESS_ALL,
		      "%s: qp_access_flags 0x%x, want 0x%x", n,
		      at.qp_access_flags, VT_ACCESS_ALL);
		CHECK(at.port_num == 1 && at.ah_attr.port_num == 1,
		      "%s: port_num %u, ah port_num %u", n, at.port_num,
		      at.ah_attr.port_num);
		CHECK(at.ah_attr.is_global &&
		      !memcmp(&at.ah_attr.grh.dgid, &peer->dev->gid, 16) &&
		      at.ah_attr.grh.sgid_index == e->dev->gid_index &&
		      at.ah_attr.grh.hop_limit == 64,
		      "%s: AV is_global %u sgid_index %u hop_limit %u or dgid differs",
		      n, at.ah_attr.is_global, at.ah_attr.grh.sgid_index,
		      at.ah_attr.grh.hop_limit);
		/*
		 * Both are "the actual values": equal for rodp; rxe 6.1
		 * returns the request from create and the rounded-up queue
		 * sizes from query.
		 */
		same = at.cap.max_send_wr == e->cap.max_send_wr &&
		       at.cap.max_recv_wr == e->cap.max_recv_wr &&
		       at.cap.max_send_sge == e->cap.max_send_sge &&
		       at.cap.max_recv_sge == e->cap.max_recv_sge &&
		       at.cap.max_inline_data == e->cap.max_inline_data;
		more = at.cap.max_send_wr >= e->cap.max_send_wr &&
		       at.cap.max_recv_wr >= e->cap.max_recv_wr &&
		       at.cap.max_send_sge >= e->cap.max_send_sge &&
		       at.cap.max_recv_sge >= e->cap.max_recv_sge &&
		       at.cap.max_inline_data >= e->cap.max_inline_data;
		if (!same && more && !e->dev->rodp)
			vt_diag("%s: query_qp caps %u/%u/%u/%u/%u, create gave %u/%u/%u/%u/%u (known rxe behaviour, accepted for the control)",
				n, at.cap.max_send_wr, at.cap.max_recv_wr,
				at.cap.max_send_sge, at.cap.max_recv_sge,
				at.cap.max_inline_data, e->cap.max_send_wr,
				e->cap.max_recv_wr, e->cap.max_send_sge,
				e->cap.max_recv_sge, e->cap.max_inline_data);
		else
			CHECK(same,
			      "%s: query_qp caps %u/%u/%u/%u/%u differ from create's %u/%u/%u/%u/%u (send_wr/recv_wr/send_sge/recv_sge/inline)",
			      n, at.cap.max_send_wr, at.cap.max_recv_wr,
			      at.cap.max_send_sge, at.cap.max_recv_sge,
			      at.cap.max_inline_data, e->cap.max_send_wr,
			      e->cap.max_recv_wr, e->cap.max_send_sge,
			      e->cap.max_recv_sge, e->cap.max_inline_data);
		CHECK(ia.qp_type == IBV_QPT_RC && ia.sq_sig_all == 1,
		      "%s: init attr qp_type %d sq_sig_all %d", n, ia.qp_type,
		      ia.sq_sig_all);
	}
}

/* ---------------------------------------------------------------------- */
/* Data transfers                                                          */
/* ---------------------------------------------------------------------- */

enum xfer { X_SEND, X_SEND_IMM, X_WRITE, X_WRITE_IMM, X_READ };

static const char *const xfer_names[] = {
	[X_SEND] = "SEND", [X_SEND_IMM] = "SEND_WITH_IMM",
	[X_WRITE] = "RDMA_WRITE", [X_WRITE_IMM] = "RDMA_WRITE_WITH_IMM",
	[X_READ] = "RDMA_READ",
};

/*
 * One operation of each size in @sizes from A to B (a READ moves the data
 * from B to A), source and target at odd offsets; checks completions,
 * immediate data, byte counts, the data and the guards around it.
 */
static void xfer_run(struct tcase *tc, struct conn *c, enum xfer kind,
		     const uint32_t *sizes, unsigned int n)
{
	bool write = kind == X_WRITE || kind == X_WRITE_IMM;
	bool send = kind == X_SEND || kind == X_SEND_IMM;
	bool imm = kind == X_SEND_IMM || kind == X_WRITE_IMM;
	struct ep *src_ep = kind == X_READ ? &c->b : &c->a;
	struct ep *dst_ep = kind == X_READ ? &c->a : &c->b;
	struct buf *src, *dst, *rb = NULL;
	uint32_t max = 0;
	uint8_t *want, *rb_want = NULL;
	unsigned int i;
	char what[160];

	for (i = 0; i < n; i++)
		if (sizes[i] > max)
			max = sizes[i];
	src = buf_new(tc, src_ep->pd, max + 64,
		      IBV_ACCESS_LOCAL_WRITE |
		      (kind == X_READ ? IBV_ACCESS_REMOTE_READ : 0));
	dst = buf_new(tc, dst_ep->pd, max + 2 * GUARD + 64,
		      IBV_ACCESS_LOCAL_WRITE |
		      (write ? IBV_ACCESS_REMOTE_WRITE : 0));
	want = vt_tc_alloc(&tc->vc, dst->size);
	if (write) {
		/* WRITE_IMM consumes it; a plain WRITE must not. */
		rb = buf_new(tc, c->b.pd, 256, IBV_ACCESS_LOCAL_WRITE);
		vt_fill(rb->mem, rb->size, GUARD_SEED);
		rb_want = vt_tc_alloc(&tc->vc, rb->size);
		memcpy(rb_want, rb->mem, rb->size);
		if (kind == X_WRITE) {
			struct ibv_sge s = sge(rb, 64, 64);

			vt_post_recv(c->b.qp, 0xcafe, &s, 1, "canary receive");
		}
	}

	for (i = 0; i < n; i++) {
		uint32_t len = sizes[i];
		size_t soff = 1 + 2 * (i % 5), doff = GUARD + 1 + 2 * (i % 7);
		uint32_t seed = 0x1000 * (uint32_t)kind + i + 1;
		__be32 imm_val = htonl(0x5eed0000u + i);
		struct ibv_sge ss = sge(src, soff, len);
		struct ibv_send_wr wr;
		struct ibv_wc wc;
		int op;

		snprintf(what, sizeof(what), "%s of %u bytes (path MTU %u)",
			 xfer_names[kind], len, c->mtu_bytes);
		vt_fill(src->mem + soff, len, seed);
		vt_fill(dst->mem, dst->size, GUARD_SEED ^ seed);
		memcpy(want, dst->mem, dst->size);
		memcpy(want + doff, src->mem + soff, len);

		memset(&wr, 0, sizeof(wr));
		wr.wr_id = i;
		wr.sg_list = &ss;
		wr.num_sge = len ? 1 : 0;
		wr.send_flags = IBV_SEND_SIGNALED;
		switch (kind) {
		case X_SEND:
		case X_SEND_IMM: {
			/* 16 bytes more room than needed: left alone. */
			struct ibv_sge rs = sge(dst, doff, len + 16);

			vt_post_recv(c->b.qp, 1000 + i, &rs, 1, what);
			wr.opcode = kind == X_SEND ? IBV_WR_SEND :
						     IBV_WR_SEND_WITH_IMM;
			op = IBV_WC_SEND;
			break;
		}
		case X_WRITE_IMM: {
			struct ibv_sge rs = sge(rb, 64, 64);

			vt_post_recv(c->b.qp, 1000 + i, &rs, 1, what);
		}
			/* fall through */
		case X_WRITE:
			wr.opcode = kind == X_WRITE ?
				IBV_WR_RDMA_WRITE : IBV_WR_RDMA_WRITE_WITH_IMM;
			wr.wr.rdma.remote_addr = raddr(dst, doff);
			wr.wr.rdma.rkey = dst->mr->rkey;
			op = IBV_WC_RDMA_WRITE;
			break;
		default:
			ss = sge(dst, doff, len);
			wr.opcode = IBV_WR_RDMA_READ;
			wr.wr.rdma.remote_addr = raddr(src, soff);
			wr.wr.rdma.rkey = src->mr->rkey;
			op = IBV_WC_RDMA_READ;
			break;
		}
		if (imm)
			wr.imm_data = imm_val;
		vt_post_send(c->a.qp, &wr, what);

		expect_wc(c->a.scq, &wc, what, i, IBV_WC_SUCCESS, op,
			  vt_wc_ms(len));
		CHECK(wc.qp_num == c->a.qp->qp_num,
		      "%s: requester completion qp_num %u, want %u", what,
		      wc.qp_num, c->a.qp->qp_num);
		if (kind == X_READ)
			CHECK(wc.byte_len == len,
			      "%s: RDMA_READ completion byte_len %u, want %u",
			      what, wc.byte_len, len);
		if (send || kind == X_WRITE_IMM) {
			op = send ? IBV_WC_RECV : IBV_WC_RECV_RDMA_WITH_IMM;
			expect_wc(c->b.rcq, &wc, what, 1000 + i,
				  IBV_WC_SUCCESS, op, vt_wc_ms(len));
			CHECK(wc.qp_num == c->b.qp->qp_num,
			      "%s: receive completion qp_num %u, want %u",
			      what, wc.qp_num, c->b.qp->qp_num);
			CHECK(wc.byte_len == len,
			      "%s: receive completion byte_len %u, want %u",
			      what, wc.byte_len, len);
			CHECK(!!(wc.wc_flags & IBV_WC_WITH_IMM) == imm,
			      "%s: receive completion wc_flags 0x%x: IBV_WC_WITH_IMM %s",
			      what, wc.wc_flags, imm ? "missing" : "set");
			if (imm)
				CHECK(wc.imm_data == imm_val,
				      "%s: imm_data 0x%08x, want 0x%08x",
				      what, ntohl(wc.imm_data),
				      ntohl(imm_val));
		}
		EXPECT_BYTES(what, dst->mem, want, dst->size, doff, len);
		if (rb) {
			snprintf(what, sizeof(what),
				 "%s of %u bytes: receive buffer", xfer_names[kind],
				 len);
			EXPECT_BYTES(what, rb->mem, rb_want, rb->size, 64, 0);
		}
	}
	vt_expect_no_wc(c->a.scq, "requester CQ after the transfers", 0);
	vt_expect_no_wc(c->b.rcq, "responder receive CQ after the transfers",
		     kind == X_WRITE ? 100 : 0);
	vt_expect_no_wc(c->a.rcq, "requester receive CQ", 0);
	vt_expect_no_wc(c->b.scq, "responder send CQ", 0);
}

static unsigned int std_sizes(const struct conn *c, uint32_t *s)
{
	uint32_t m = c->mtu_bytes;
	unsigned int n = 0;

	s[n++] = 0;
	s[n++] = 1;
	s[n++] = 3;
	s[n++] = m - 1;
	s[n++] = m;
	s[n++] = m + 1;
	s[n++] = 4097;
	s[n++] = 65536 + 13;
	s[n++] = MIB + 5;
	return n;
}

static void xfer_test(void **state, enum xfer kind)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc, &default_opts);
	uint32_t sizes[16];
	unsigned int n = std_sizes(c, sizes);

	xfer_run(tc, c, kind, sizes, n);
}

static void test_send(void **state)
{
	xfer_test(state, X_SEND);
}

static void test_send_imm(void **state)
{
	xfer_test(state, X_SEND_IMM);
}

static void test_write(void **state)
{
	xfer_test(state, X_WRITE);
}

static void test_write_imm(void **state)
{
	xfer_test(state, X_WRITE_IMM);
}

static void test_read(void **state)
{
	xfer_test(state, X_READ);
}

/* ---------------------------------------------------------------------- */
/* Atomics                                                                 */
/* ---------------------------------------------------------------------- */

struct atomic_bufs {
	struct buf *r;		/* remote target (on B) */
	struct buf *l;		/* local results (on A) */
	uint8_t *r_want, *l_want;
};

#define ATOM_ROFF	1000	/* 8-byte aligned target in r */
#define ATOM_LOFF	2048	/* results in l */

static void atomic_setup(struct tcase *tc, struct conn *c,
			 struct atomic_bufs *ab, uint64_t initial)
{
	ab->r = buf_new(tc, c->b.pd, 4096, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_ATOMIC);
	ab->l = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	vt_fill(ab->r->mem, 4096, GUARD_SEED);
	vt_fill(ab->l->mem, 4096, GUARD_SEED + 1);
	vt_put_u64(ab->r->mem + ATOM_ROFF, initial);
	ab->r_want = vt_tc_alloc(&tc->vc, 4096);
	ab->l_want = vt_tc_alloc(&tc->vc, 4096);
	memcpy(ab->r_want, ab->r->mem, 4096);
	memcpy(ab->l_want, ab->l->mem, 4096);
}

static void post_atomic(struct conn *c, struct atomic_bufs *ab, uint64_t id,
			enum ibv_wr_opcode op, size_t roff, unsigned int slot,
			uint64_t compare_add, uint64_t swap, const char *what)
{
	struct ibv_sge s = sge(ab->l, ATOM_LOFF + 8 * slot, 8);
	struct ibv_send_wr wr;

	vt_send_wr(&wr, id, &s, 1, op, IBV_SEND_SIGNALED);
	wr.wr.atomic.remote_addr = raddr(ab->r, roff);
	wr.wr.atomic.rkey = ab->r->mr->rkey;
	wr.wr.atomic.compare_add = compare_add;
	wr.wr.atomic.swap = swap;
	vt_post_send(c->a.qp, &wr, what);
}

/* Compare-and-swap that succeeds, one that fails, and a dependent chain. */
static void test_atomic_cas(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc, &default_opts);
	const uint64_t v0 = 0x1111222233334444ull, v1 = 0x0123456789abcdefull;
	struct atomic_bufs ab;
	struct ibv_wc wc;
	unsigned int i;

	atomic_setup(tc, c, &ab, v0);

	post_atomic(c, &ab, 1, IBV_WR_ATOMIC_CMP_AND_SWP, ATOM_ROFF, 0, v0,
		    v1, "CAS (equal)");
	expect_wc(c->a.scq, &wc, "CAS (equal)", 1, IBV_WC_SUCCESS,
		  IBV_WC_COMP_SWAP, vt_wc_ms(8));
	CHECK(vt_get_u64(ab.l->mem + ATOM_LOFF) == v0,
	      "CAS (equal): returned 0x%016" PRIx64 ", want the original 0x%016" PRIx64,
	      vt_get_u64(ab.l->mem + ATOM_LOFF), v0);
	vt_put_u64(ab.r_want + ATOM_ROFF, v1);
	vt_put_u64(ab.l_want + ATOM_LOFF, v0);
	EXPECT_BYTES("CAS (equal): remote", ab.r->mem, ab.r_want, 4096,
		     ATOM_ROFF, 8);
	EXPECT_BYTES("CAS (equal): local result", ab.l->mem, ab.l_want, 4096,
		     ATOM_LOFF, 8);

	/* Compare value differs: no swap, the current value comes back. */
	post_atomic(c, &ab, 2, IBV_WR_ATOMIC_CMP_AND_SWP, ATOM_ROFF, 1, v0,
		    ~0ull, "CAS (different)");
	expect_wc(c->a.scq, &wc, "CAS (different)", 2, IBV_WC_SUCCESS,
		  IBV_WC_COMP_SWAP, vt_wc_ms(8));
	CHECK(vt_get_u64(ab.l->mem + ATOM_LOFF + 8) == v1,
	      "CAS (different): returned 0x%016" PRIx64 ", want 0x%016" PRIx64,
	      vt_get_u64(ab.l->mem + ATOM_LOFF + 8), v1);
	vt_put_u64(ab.l_want + ATOM_LOFF + 8, v1);
	EXPECT_BYTES("CAS (different): remote unchanged", ab.r->mem,
		     ab.r_want, 4096, ATOM_ROFF, 8);
	EXPECT_BYTES("CAS (different): local result", ab.l->mem, ab.l_want,
		     4096, ATOM_LOFF, 16);

	/* Eight in flight, each expecting the previous one's swap. */
	for (i = 0; i < 8; i++)
		post_atomic(c, &ab, 10 + i, IBV_WR_ATOMIC_CMP_AND_SWP,
			    ATOM_ROFF, 2 + i, v1 + i, v1 + i + 1,
			    "CAS chain");
	for (i = 0; i < 8; i++) {
		expect_wc(c->a.scq, &wc, "CAS chain", 10 + i, IBV_WC_SUCCESS,
			  IBV_WC_COMP_SWAP, vt_wc_ms(8));
		vt_put_u64(ab.l_want + ATOM_LOFF + 8 * (2 + i), v1 + i);
	}
	vt_put_u64(ab.r_want + ATOM_ROFF, v1 + 8);
	EXPECT_BYTES("CAS chain: remote", ab.r->mem, ab.r_want, 4096,
		     ATOM_ROFF, 8);
	EXPECT_BYTES("CAS chain: local results", ab.l->mem, ab.l_want, 4096,
		     ATOM_LOFF, 80);
	vt_expect_no_wc(c->b.rcq, "atomics consume no receive", 0);
}

/* IB_UVERBS_DEVICE_ATOMIC_WRITE: rdma-core 44 has no name for it. */
#define DEVICE_ATOMIC_WRITE	(1ULL << 40)

static bool has_atomic_write(struct vt_dev *d)
{
	struct ibv_device_attr_ex ax;
	int rc;

	rc = ibv_query_device_ex(d->ctx, NULL, &ax);
	CHECK(!rc, "%s: ibv_query_device_ex: %s", d->name, strerror(rc));
	return ax.device_cap_flags_ex & DEVICE_ATOMIC_WRITE;
}

/*
 * RDMA ATOMIC WRITE (ibv_wr_atomic_write()): 8 bytes stored at once at an
 * aligned address of an MR with remote write access, completed as
 * IBV_WC_ATOMIC_WRITE; a series in flight; from rodp also through
 * ibv_post_send() (the 8 bytes from an SGE); then into an MR without
 * remote write access: a remote access error, the rest of the MR as it
 * was.  rodp must offer it; rxe has it from 6.2 on (skipped before).
 */
static void test_atomic_write(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	const uint64_t v1 = 0x0102030405060708ull;
	struct vt_dev *ends[2] = { tc->pair->a, tc->pair->b };
	struct ibv_qp_ex *qpx;
	struct ibv_send_wr wr;
	struct buf *r, *l, *n;
	struct ibv_sge s;
	struct ibv_wc wc;
	struct conn *c;
	uint8_t *want;
	uint64_t v;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (has_atomic_write(ends[i]))
			continue;
		CHECK(!ends[i]->rodp, "%s does not offer ATOMIC WRITE",
		      ends[i]->name);
		vt_diag("SKIP: %s has no ATOMIC WRITE (rxe before 6.2)",
			ends[i]->name);
		skip();
	}
	o.send_ops = IBV_QP_EX_WITH_ATOMIC_WRITE | IBV_QP_EX_WITH_SEND;
	c = conn_open(tc, &o);

	qpx = ibv_qp_to_qp_ex(c->a.qp);
	CHECK(qpx, "%s: ibv_qp_to_qp_ex", c->a.dev->name);
	r = buf_new(tc, c->b.pd, 4096, IBV_ACCESS_LOCAL_WRITE |
		    IBV_ACCESS_REMOTE_WRITE);
	l = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	vt_fill(r->mem, 4096, GUARD_SEED);
	want = vt_tc_alloc(&tc->vc, 4096);
	memcpy(want, r->mem, 4096);

	ibv_wr_start(qpx);
	qpx->wr_id = 1;
	qpx->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_atomic_write(qpx, r->mr->rkey, raddr(r, ATOM_ROFF), &v1);
	CHECK(!ibv_wr_complete(qpx), "ATOMIC_WRITE: ibv_wr_complete");
	expect_wc(c->a.scq, &wc, "ATOMIC_WRITE", 1, IBV_WC_SUCCESS,
		  IBV_WC_ATOMIC_WRITE, vt_wc_ms(8));
	memcpy(want + ATOM_ROFF, &v1, 8);
	EXPECT_BYTES("ATOMIC_WRITE: remote", r->mem, want, 4096, ATOM_ROFF,
		     8);

	/* Sixteen in flight, over the first and to consecutive words. */
	ibv_wr_start(qpx);
	for (i = 0; i < 16; i++) {
		v = v1 * (i + 2);
		qpx->wr_id = 10 + i;
		ibv_wr_atomic_write(qpx, r->mr->rkey,
				    raddr(r, ATOM_ROFF + 8 * i), &v);
		memcpy(want + ATOM_ROFF + 8 * i, &v, 8);
	}
	CHECK(!ibv_wr_complete(qpx), "ATOMIC_WRITE series: ibv_wr_complete");
	for (i = 0; i < 16; i++)
		expect_wc(c->a.scq, &wc, "ATOMIC_WRITE series", 10 + i,
			  IBV_WC_SUCCESS, IBV_WC_ATOMIC_WRITE, vt_wc_ms(8));
	EXPECT_BYTES("ATOMIC_WRITE series: remote", r->mem, want, 4096,
		     ATOM_ROFF, 128);

	/* Misaligned: refused at post time by rodp's provider. */
	if (c->a.dev->rodp) {
		ibv_wr_start(qpx);
		ibv_wr_atomic_write(qpx, r->mr->rkey,
				    raddr(r, ATOM_ROFF + 4), &v1);
		CHECK(ibv_wr_complete(qpx) == EINVAL,
		      "ATOMIC_WRITE at an unaligned address: not EINVAL");

		/* ibv_post_send(): the 8 bytes from one SGE. */
		vt_put_u64(l->mem + ATOM_LOFF, ~v1);
		s = sge(l, ATOM_LOFF, 8);
		vt_send_wr(&wr, 40, &s, 1, IBV_WR_ATOMIC_WRITE,
			   IBV_SEND_SIGNALED);
		wr.wr.rdma.remote_addr = raddr(r, ATOM_ROFF + 200);
		wr.wr.rdma.rkey = r->mr->rkey;
		vt_post_send(c->a.qp, &wr, "ATOMIC_WRITE (ibv_post_send)");
		expect_wc(c->a.scq, &wc, "ATOMIC_WRITE (ibv_post_send)", 40,
			  IBV_WC_SUCCESS, IBV_WC_ATOMIC_WRITE, vt_wc_ms(8));
		memcpy(want + ATOM_ROFF + 200, l->mem + ATOM_LOFF, 8);
		EXPECT_BYTES("ATOMIC_WRITE (ibv_post_send): remote", r->mem,
			     want, 4096, ATOM_ROFF + 200, 8);
	}
	vt_expect_no_wc(c->b.rcq, "ATOMIC_WRITE consumes no receive", 0);

	/* No remote write access: a remote access error, nothing stored. */
	n = buf_new(tc, c->b.pd, 4096, IBV_ACCESS_LOCAL_WRITE |
		    IBV_ACCESS_REMOTE_READ);
	vt_fill(n->mem, 4096, GUARD_SEED + 2);
	memcpy(want, n->mem, 4096);
	ibv_wr_start(qpx);
	qpx->wr_id = 50;
	ibv_wr_atomic_write(qpx, n->mr->rkey, raddr(n, ATOM_ROFF), &v1);
	CHECK(!ibv_wr_complete(qpx), "ATOMIC_WRITE (no access): complete");
	expect_wc(c->a.scq, &wc, "ATOMIC_WRITE without REMOTE_WRITE", 50,
		  IBV_WC_REM_ACCESS_ERR, -1, vt_wc_ms(8));
	EXPECT_BYTES("ATOMIC_WRITE without REMOTE_WRITE: remote", n->mem,
		     want, 4096, 0, 0);
}

/* Fetch-and-add across the 64-bit wrap, then a pipelined series. */
static void test_atomic_faa(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc, &default_opts);
	const uint64_t v0 = 0xfffffffffffffffeull;
	struct atomic_bufs ab;
	struct ibv_wc wc;
	uint64_t v;
	unsigned int i;

	atomic_setup(tc, c, &ab, v0);
	post_atomic(c, &ab, 1, IBV_WR_ATOMIC_FETCH_AND_ADD, ATOM_ROFF, 0, 3, 0,
		    "FETCH_ADD");
	expect_wc(c->a.scq, &wc, "FETCH_ADD", 1, IBV_WC_SUCCESS,
		  IBV_WC_FETCH_ADD, vt_wc_ms(8));
	vt_put_u64(ab.l_want + ATOM_LOFF, v0);
	vt_put_u64(ab.r_want + ATOM_ROFF, 1);
	EXPECT_BYTES("FETCH_ADD: remote (wraps to 1)", ab.r->mem, ab.r_want,
		     4096, ATOM_ROFF, 8);
	EXPECT_BYTES("FETCH_ADD: local result", ab.l->mem, ab.l_want, 4096,
		     ATOM_LOFF, 8);

	v = 1;
	for (i = 0; i < 16; i++)
		post_atomic(c, &ab, 10 + i, IBV_WR_ATOMIC_FETCH_AND_ADD,
			    ATOM_ROFF, 1 + i, 0x100000001ull << i, 0,
			    "FETCH_ADD series");
	for (i = 0; i < 16; i++) {
		expect_wc(c->a.scq, &wc, "FETCH_ADD series", 10 + i,
			  IBV_WC_SUCCESS, IBV_WC_FETCH_ADD, vt_wc_ms(8));
		vt_put_u64(ab.l_want + ATOM_LOFF + 8 * (1 + i), v);
		v += 0x100000001ull << i;
	}
	vt_put_u64(ab.r_want + ATOM_ROFF, v);
	EXPECT_BYTES("FETCH_ADD series: remote", ab.r->mem, ab.r_want, 4096,
		     ATOM_ROFF, 8);
	EXPECT_BYTES("FETCH_ADD series: local results", ab.l->mem, ab.l_want,
		     4096, ATOM_LOFF, 8 * 17);
}

/* ---------------------------------------------------------------------- */
/* Scatter/gather lists                                                    */
/* ---------------------------------------------------------------------- */

/* Copy a gathered stream into @want at @segs, in order. */
static void scatter(uint8_t *want, const uint8_t *stream, size_t len,
		    const struct seg *segs, unsigned int n)
{
	unsigned int i;
	size_t k;

	for (i = 0; i < n && len; i++) {
		k = segs[i].len < len ? segs[i].len : len;
		memcpy(want + segs[i].off, stream, k);
		stream += k;
		len -= k;
	}
}

/*
 * Three gather entries from two MRs for SEND and WRITE, a four-entry
 * scatter list on receive, and a three-entry scatter list for READ.
 */
static void test_sge(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc, &default_opts);
	uint32_t m = c->mtu_bytes;
	struct buf *s1, *s2, *d, *r;
	struct seg rs[4], ws[1], ls[3];
	struct ibv_sge g[3], sg[4];
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	uint8_t *stream, *want;
	size_t total, off;
	unsigned int i;

	s1 = buf_new(tc, c->a.pd, 8192, IBV_ACCESS_LOCAL_WRITE);
	s2 = buf_new(tc, c->a.pd, 8192, IBV_ACCESS_LOCAL_WRITE);
	vt_fill(s1->mem, 8192, 11);
	vt_fill(s2->mem, 8192, 12);
	/* Gather: 5 bytes, one MTU + 7 from another MR, then 33. */
	g[0] = sge(s1, 1, 5);
	g[1] = sge(s2, 3, m + 7);
	g[2] = sge(s1, 3001, 33);
	total = 5 + m + 7 + 33;
	stream = vt_tc_alloc(&tc->vc, total);
	memcpy(stream, s1->mem + 1, 5);
	memcpy(stream + 5, s2->mem + 3, m + 7);
	memcpy(stream + 5 + m + 7, s1->mem + 3001, 33);

	/* SEND -> four receive entries separated by guard bytes. */
	d = buf_new(tc, c->b.pd, 4 * m + 1024, IBV_ACCESS_LOCAL_WRITE);
	vt_fill(d->mem, d->size, GUARD_SEED);
	want = vt_tc_alloc(&tc->vc, d->size);
	memcpy(want, d->mem, d->size);
	off = 65;
	rs[0] = (struct seg){ off, 7 };
	off += 7 + 64 + 2;
	rs[1] = (struct seg){ off, m - 3 };
	off += m - 3 + 64 + 1;
	rs[2] = (struct seg){ off, 20 };
	off += 20 + 64 + 3;
	rs[3] = (struct seg){ off, total - 7 - (m - 3) - 20 + 50 };
	for (i = 0; i < 4; i++)
		sg[i] = sge(d, rs[i].off, rs[i].len);
	vt_post_recv(c->b.qp, 77, sg, 4, "4-entry receive");
	vt_send_wr(&wr, 1, g, 3, IBV_WR_SEND, IBV_SEND_SIGNALED);
	vt_post_send(c->a.qp, &wr, "3-entry SEND");
	expect_wc(c->a.scq, &wc, "3-entry SEND", 1, IBV_WC_SUCCESS,
		  IBV_WC_SEND, vt_wc_ms(total));
	expect_wc(c->b.rcq, &wc, "4-entry receive", 77, IBV_WC_SUCCESS,
		  IBV_WC_RECV, vt_wc_ms(total));
	CHECK(wc.byte_len == total, "4-entry receive: byte_len %u, want %zu",
	      wc.byte_len, total);
	scatter(want, stream, total, rs, 4);
	EXPECT_SEGS("SEND 3 entries -> receive 4 entries", d->mem, want,
		    d->size, rs, 4);

	/* RDMA WRITE gathers the same three entries to one odd address. */
	r = buf_new(tc, c->b.pd, 4 * m + 1024, IBV_ACCESS_LOCAL_WRITE |
		    IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	vt_fill(r->mem, r->size, GUARD_SEED + 1);
	want = vt_tc_alloc(&tc->vc, r->size);
	memcpy(want, r->mem, r->size);
	ws[0] = (struct seg){ 301, total };
	memcpy(want + 301, stream, total);
	wr.wr_id = 2;
	wr.opcode = IBV_WR_RDMA_WRITE;
	wr.wr.rdma.remote_addr = raddr(r, 301);
	wr.wr.rdma.rkey = r->mr->rkey;
	vt_post_send(c->a.qp, &wr, "3-entry RDMA_WRITE");
	expect_wc(c->a.scq, &wc, "3-entry RDMA_WRITE", 2, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_WRITE, vt_wc_ms(total));
	EXPECT_SEGS("RDMA_WRITE of 3 entries", r->mem, want, r->size, ws, 1);

	/* RDMA READ of it back, scattered over three local entries. */
	d = buf_new(tc, c->a.pd, 4 * m + 1024, IBV_ACCESS_LOCAL_WRITE);
	vt_fill(d->mem, d->size, GUARD_SEED + 2);
	want = vt_tc_alloc(&tc->vc, d->size);
	memcpy(want, d->mem, d->size);
	ls[0] = (struct seg){ 7, m + 1 };
	ls[1] = (struct seg){ m + 100, 3 };
	ls[2] = (struct seg){ m + 200, total - (m + 1) - 3 };
	for (i = 0; i < 3; i++)
		g[i] = sge(d, ls[i].off, ls[i].len);
	scatter(want, stream, total, ls, 3);
	wr.wr_id = 3;
	wr.opcode = IBV_WR_RDMA_READ;
	vt_post_send(c->a.qp, &wr, "3-entry RDMA_READ");
	expect_wc(c->a.scq, &wc, "3-entry RDMA_READ", 3, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_READ, vt_wc_ms(total));
	EXPECT_SEGS("RDMA_READ into 3 entries", d->mem, want, d->size, ls, 3);
}

/* ---------------------------------------------------------------------- */
/* Inline data                                                             */
/* ---------------------------------------------------------------------- */

/*
 * Inline SEND and WRITE up to the granted max_inline_data from memory that
 * is not registered and is overwritten right after posting; one byte more
 * is refused.
 */
static void test_inline(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct conn *c;
	struct buf *d, *r;
	uint8_t *src, *copy, *want;
	uint32_t lens[3], max;
	struct ibv_sge s[2];
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;
	unsigned int i;
	char what[96];
	int rc;

	o.inline_data = 64;
	c = conn_open(tc, &o);
	max = c->a.cap.max_inline_data;
	vt_diag("%s: max_inline_data granted: %u", c->a.dev->name, max);
	lens[0] = 1;
	lens[1] = max;
	lens[2] = max;	/* in two entries */
	src = vt_tc_alloc(&tc->vc, max + 16);
	copy = vt_tc_alloc(&tc->vc, max + 16);
	d = buf_new(tc, c->b.pd, max + 2 * GUARD, IBV_ACCESS_LOCAL_WRITE);
	r = buf_new(tc, c->b.pd, max + 2 * GUARD, IBV_ACCESS_LOCAL_WRITE |
		    IBV_ACCESS_REMOTE_WRITE);
	want = vt_tc_alloc(&tc->vc, d->size);

	for (i = 0; i < 6; i++) {
		uint32_t len = lens[i % 3];
		bool is_write = i >= 3;
		struct buf *t = is_write ? r : d;

		snprintf(what, sizeof(what), "inline %s of %u bytes%s",
			 is_write ? "RDMA_WRITE" : "SEND", len,
			 i % 3 == 2 ? " in 2 entries" : "");
		vt_fill(src, len, 40 + i);
		memcpy(copy, src, len);
		vt_fill(t->mem, t->size, GUARD_SEED + i);
		memcpy(want, t->mem, t->size);
		memcpy(want + GUARD + 1, copy, len);
		s[0] = (struct ibv_sge){ (uintptr_t)src, len, 0 };
		if (i % 3 == 2) {
			s[0].length = 3;
			s[1] = (struct ibv_sge){ (uintptr_t)src + 3, len - 3,
						 0 };
		}
		if (!is_write) {
			struct ibv_sge rs = sge(d, GUARD + 1, len);

			vt_post_recv(c->b.qp, 100 + i, &rs, 1, what);
		}
		vt_send_wr(&wr, i, s, i % 3 == 2 ? 2 : 1,
			   is_write ? IBV_WR_RDMA_WRITE : IBV_WR_SEND,
			   IBV_SEND_SIGNALED | IBV_SEND_INLINE);
		wr.wr.rdma.remote_addr = raddr(r, GUARD + 1);
		wr.wr.rdma.rkey = r->mr->rkey;
		vt_post_send(c->a.qp, &wr, what);
		memset(src, 0xee, len);	/* already copied by the post */
		expect_wc(c->a.scq, &wc, what, i, IBV_WC_SUCCESS,
			  is_write ? IBV_WC_RDMA_WRITE : IBV_WC_SEND,
			  vt_wc_ms(len));
		if (!is_write) {
			expect_wc(c->b.rcq, &wc, what, 100 + i,
				  IBV_WC_SUCCESS, IBV_WC_RECV, vt_wc_ms(len));
			CHECK(wc.byte_len == len, "%s: byte_len %u, want %u",
			      what, wc.byte_len, len);
		}
		EXPECT_BYTES(what, t->mem, want, t->size, GUARD + 1, len);
	}

	/* One byte more than granted is refused at post time. */
	s[0] = (struct ibv_sge){ (uintptr_t)src, max + 1, 0 };
	vt_send_wr(&wr, 99, s, 1, IBV_WR_RDMA_WRITE,
		   IBV_SEND_SIGNALED | IBV_SEND_INLINE);
	wr.wr.rdma.remote_addr = raddr(r, GUARD + 1);
	wr.wr.rdma.rkey = r->mr->rkey;
	bad = NULL;
	rc = ibv_post_send(c->a.qp, &wr, &bad);
	CHECK(rc != 0 && bad == &wr,
	      "inline RDMA_WRITE of max_inline_data + 1 = %u bytes: ibv_post_send returned %d (bad_wr %s)",
	      max + 1, rc, bad == &wr ? "set" : "not set");
	vt_expect_no_wc(c->a.scq, "refused inline WR", 50);
}

/* ---------------------------------------------------------------------- */
/* Unsignaled WRs                                                          */
/* ---------------------------------------------------------------------- */

/*
 * sq_sig_all 0: rounds of 15 unsignaled SENDs and a signaled one, three
 * times the send queue's depth in all, give one completion per round;
 * then unsignaled WRITEs and a signaled READ that sees their data (a READ
 * executes after the WRITEs before it).
 */
static void test_unsignaled(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct conn *c;
	struct buf *s, *d, *r, *l;
	struct ibv_send_wr wr;
	struct ibv_sge g, rg;
	struct ibv_wc wc;
	unsigned int round, k, depth;
	char what[96];

	o.send_wr = 16;
	c = conn_open(tc, &o);
	depth = c->a.cap.max_send_wr;
	s = buf_new(tc, c->a.pd, 8 * depth, IBV_ACCESS_LOCAL_WRITE);
	d = buf_new(tc, c->b.pd, 8 * depth, IBV_ACCESS_LOCAL_WRITE);
	for (round = 0; round < 3; round++) {
		vt_fill(s->mem, s->size, 70 + round);
		memset(d->mem, 0, d->size);
		for (k = 0; k < depth; k++) {
			rg = sge(d, 8 * k, 8);
			vt_post_recv(c->b.qp, 1000 * round + k, &rg, 1,
				  "receive for unsignaled SEND");
		}
		for (k = 0; k < depth; k++) {
			g = sge(s, 8 * k, 8);
			vt_send_wr(&wr, 1000 * round + k, &g, 1, IBV_WR_SEND,
				   k == depth - 1 ? IBV_SEND_SIGNALED : 0);
			snprintf(what, sizeof(what),
				 "round %u SEND %u of %u", round, k, depth);
			vt_post_send(c->a.qp, &wr, what);
		}
		snprintf(what, sizeof(what),
			 "round %u: the signaled SEND", round);
		expect_wc(c->a.scq, &wc, what, 1000 * round + depth - 1,
			  IBV_WC_SUCCESS, IBV_WC_SEND, vt_wc_ms(8 * depth));
		for (k = 0; k < depth; k++) {
			snprintf(what, sizeof(what), "round %u receive %u",
				 round, k);
			expect_wc(c->b.rcq, &wc, what, 1000 * round + k,
				  IBV_WC_SUCCESS, IBV_WC_RECV, vt_wc_ms(8));
		}
		snprintf(what, sizeof(what), "round %u: unsignaled SENDs",
			 round);
		vt_expect_no_wc(c->a.scq, what, 0);
		snprintf(what, sizeof(what), "round %u: data", round);
		EXPECT_BYTES(what, d->mem, s->mem, s->size, 0, s->size);
	}

	/* Unsignaled WRITEs, then a signaled READ of what they wrote. */
	r = buf_new(tc, c->b.pd, 4096, IBV_ACCESS_LOCAL_WRITE |
		    IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	l = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	s = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	vt_fill(s->mem, 4096, 99);
	memset(r->mem, 0, 4096);
	memset(l->mem, 0, 4096);
	for (k = 0; k < 8; k++) {
		g = sge(s, 512 * k, 512);
		vt_send_wr(&wr, 50 + k, &g, 1, IBV_WR_RDMA_WRITE, 0);
		wr.wr.rdma.remote_addr = raddr(r, 512 * k);
		wr.wr.rdma.rkey = r->mr->rkey;
		vt_post_send(c->a.qp, &wr, "unsignaled RDMA_WRITE");
	}
	g = sge(l, 0, 4096);
	vt_send_wr(&wr, 60, &g, 1, IBV_WR_RDMA_READ, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = raddr(r, 0);
	wr.wr.rdma.rkey = r->mr->rkey;
	vt_post_send(c->a.qp, &wr, "signaled RDMA_READ");
	expect_wc(c->a.scq, &wc, "RDMA_READ after unsignaled WRITEs", 60,
		  IBV_WC_SUCCESS, IBV_WC_RDMA_READ, vt_wc_ms(8192));
	vt_expect_no_wc(c->a.scq, "unsignaled WRITEs", 0);
	EXPECT_BYTES("RDMA_READ after unsignaled WRITEs", l->mem, s->mem, 4096,
		     0, 4096);
	EXPECT_BYTES("remote after unsignaled WRITEs", r->mem, s->mem, 4096,
		     0, 4096);
}

/* ---------------------------------------------------------------------- */
/* Completion channels                                                     */
/* ---------------------------------------------------------------------- */

static void expect_cq_event(struct ibv_comp_channel *ch, struct ibv_cq *cq,
			    const char *what, int ms)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct ibv_cq *got;
	void *ctx;
	int rc;

	rc = poll(&pfd, 1, ms);
	CHECK(rc == 1, "%s: no completion event within %d ms", what, ms);
	rc = ibv_get_cq_event(ch, &got, &ctx);
	CHECK(!rc, "%s: ibv_get_cq_event: %s", what, strerror(errno));
	ibv_ack_cq_events(got, 1);
	CHECK(got == cq, "%s: event for another CQ", what);
}

static void expect_no_cq_event(struct ibv_comp_channel *ch, const char *what,
			       int ms)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };

	CHECK(poll(&pfd, 1, ms) == 0, "%s: unexpected completion event",
	      what);
}

static void send_small(struct conn *c, struct buf *s, uint64_t id,
		       unsigned int flags, const char *what)
{
	struct ibv_sge g = sge(s, 0, 16);
	struct ibv_send_wr wr;

	vt_send_wr(&wr, id, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED | flags);
	vt_post_send(c->a.qp, &wr, what);
}

/*
 * ibv_req_notify_cq arms a CQ for one event; solicited-only arming
 * ignores completions of unsolicited messages.
 */
static void test_events(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct conn *c;
	struct buf *s, *d;
	struct ibv_sge rg;
	struct ibv_wc wc;
	int k;

	o.channel = true;
	c = conn_open(tc, &o);
	s = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	d = buf_new(tc, c->b.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	for (k = 0; k < 5; k++) {
		rg = sge(d, 64 * k, 64);
		vt_post_recv(c->b.qp, 10 + k, &rg, 1, "receive");
	}

	/* Armed for any completion: both ends get one event. */
	CHECK(!ibv_req_notify_cq(c->b.rcq, 0) &&
	      !ibv_req_notify_cq(c->a.scq, 0), "ibv_req_notify_cq failed");
	send_small(c, s, 1, 0, "SEND 1");
	expect_cq_event(c->b.ch, c->b.rcq, "receive CQ armed", 5000);
	expect_cq_event(c->a.ch, c->a.scq, "send CQ armed", 5000);
	expect_wc(c->b.rcq, &wc, "receive 1", 10, IBV_WC_SUCCESS, IBV_WC_RECV,
		  5000);
	expect_wc(c->a.scq, &wc, "SEND 1", 1, IBV_WC_SUCCESS, IBV_WC_SEND,
		  5000);

	/* Not armed again: no event. */
	send_small(c, s, 2, 0, "SEND 2");
	expect_wc(c->b.rcq, &wc, "receive 2", 11, IBV_WC_SUCCESS, IBV_WC_RECV,
		  5000);
	expect_wc(c->a.scq, &wc, "SEND 2", 2, IBV_WC_SUCCESS, IBV_WC_SEND,
		  5000);
	expect_no_cq_event(c->b.ch, "receive CQ not re-armed", 200);
	expect_no_cq_event(c->a.ch, "send CQ not re-armed", 0);

	/* Solicited only: an unsolicited SEND gives no event... */
	CHECK(!ibv_req_notify_cq(c->b.rcq, 1), "ibv_req_notify_cq(solicited)");
	send_small(c, s, 3, 0, "unsolicited SEND");
	expect_wc(c->b.rcq, &wc, "receive 3", 12, IBV_WC_SUCCESS, IBV_WC_RECV,
		  5000);
	expect_wc(c->a.scq, &wc, "SEND 3", 3, IBV_WC_SUCCESS, IBV_WC_SEND,
		  5000);
	expect_no_cq_event(c->b.ch, "solicited-only CQ, unsolicited SEND",
			   200);
	/* ...a solicited one does. */
	send_small(c, s, 4, IBV_SEND_SOLICITED, "solicited SEND");
	expect_cq_event(c->b.ch, c->b.rcq, "solicited-only CQ, solicited SEND",
			5000);
	expect_wc(c->b.rcq, &wc, "receive 4", 13, IBV_WC_SUCCESS, IBV_WC_RECV,
		  5000);
	expect_wc(c->a.scq, &wc, "SEND 4", 4, IBV_WC_SUCCESS, IBV_WC_SEND,
		  5000);
}

/* ---------------------------------------------------------------------- */
/* RNR retry, path MTUs, a large transfer                                  */
/* ---------------------------------------------------------------------- */

/*
 * The two ends of a SEND on @c: a 4096-byte source on A (*@s, pattern
 * @seed) and a 4096-byte buffer on B (*@d, the guard pattern).  Returns
 * a copy of *@d: what it must still hold where nothing lands.
 */
static uint8_t *send_bufs(struct tcase *tc, struct conn *c, uint32_t seed,
			  struct buf **s, struct buf **d)
{
	uint8_t *want;

	*s = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	*d = buf_new(tc, c->b.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	vt_fill((*s)->mem, 4096, seed);
	vt_fill((*d)->mem, 4096, GUARD_SEED);
	want = vt_tc_alloc(&tc->vc, 4096);
	memcpy(want, (*d)->mem, 4096);
	return want;
}

/* A SEND that arrives before its receive is retried until it is posted. */
static void test_rnr_retry(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct conn *c;
	struct buf *s, *d;
	struct ibv_sge rg;
	struct ibv_wc wc;
	uint8_t *want;

	o.min_rnr_timer = 1;	/* 0.01 ms */
	o.rnr_retry = 7;	/* for ever */
	c = conn_open(tc, &o);
	want = send_bufs(tc, c, 5, &s, &d);
	memcpy(want + 101, s->mem, 16);
	send_small(c, s, 1, 0, "SEND before its receive");
	usleep(100 * 1000);
	vt_expect_no_wc(c->a.scq, "SEND without a receive", 0);
	rg = sge(d, 101, 100);
	vt_post_recv(c->b.qp, 2, &rg, 1, "late receive");
	expect_wc(c->a.scq, &wc, "SEND after RNR NAKs", 1, IBV_WC_SUCCESS,
		  IBV_WC_SEND, 10000);
	expect_wc(c->b.rcq, &wc, "late receive", 2, IBV_WC_SUCCESS,
		  IBV_WC_RECV, 5000);
	CHECK(wc.byte_len == 16, "late receive: byte_len %u", wc.byte_len);
	EXPECT_BYTES("late receive", d->mem, want, 4096, 101, 16);
}

/* SEND, WRITE and READ around another path MTU (tc->arg bytes). */
static void test_mtu(void **state)
{
	struct tcase *tc = *state;
	struct pairing *p = tc->pair;
	struct conn_opts o = default_opts;
	struct ibv_qp_attr at;
	struct ibv_qp_init_attr ia;
	struct conn *c;
	uint32_t m = tc->arg, sizes[5];
	int rc;

	vt_dev_ready(p->a);
	vt_dev_ready(p->b);
	if (m > vt_mtu_bytes(p->a->port.active_mtu) ||
	    m > vt_mtu_bytes(p->b->port.active_mtu)) {
		vt_diag("SKIP: path MTU %u is above the active MTU of %s (%u) or %s (%u)",
			m, p->a->name, vt_mtu_bytes(p->a->port.active_mtu),
			p->b->name, vt_mtu_bytes(p->b->port.active_mtu));
		skip();
	}
	o.mtu = vt_mtu_enum(m);
	c = conn_open(tc, &o);
	rc = ibv_query_qp(c->a.qp, &at, IBV_QP_PATH_MTU, &ia);
	CHECK(!rc && at.path_mtu == o.mtu, "query_qp: path_mtu %d, want %d",
	      at.path_mtu, o.mtu);
	sizes[0] = m - 1;
	sizes[1] = m;
	sizes[2] = m + 1;
	sizes[3] = 3 * m + 1;
	sizes[4] = 65536 + 13;
	xfer_run(tc, c, X_SEND, sizes, 5);
	xfer_run(tc, c, X_WRITE_IMM, sizes, 5);
	xfer_run(tc, c, X_READ, sizes, 5);
}

/* MemAvailable in kB, from /proc/meminfo (-1: none). */
static long mem_available_kb(void)
{
	uint64_t kb;

	return vt_read_field("/proc/meminfo", "MemAvailable", &kb) ?
	       (long)kb : -1;
}

/*
 * Move @len bytes with one RDMA op, or with several of max_msg_sz bytes
 * (at most 4 outstanding) when a port's max_msg_sz is smaller.
 */
static void big_op(struct conn *c, enum ibv_wr_opcode op, struct buf *l,
		   struct buf *r, size_t len, const char *what)
{
	size_t chunk = len, nchunks, posted = 0, done = 0, off, n;
	struct ibv_send_wr wr;
	struct ibv_sge g;
	struct ibv_wc wc;

	if (c->a.dev->port.max_msg_sz < chunk)
		chunk = c->a.dev->port.max_msg_sz;
	if (c->b.dev->port.max_msg_sz < chunk)
		chunk = c->b.dev->port.max_msg_sz;
	nchunks = (len + chunk - 1) / chunk;
	if (nchunks > 1)
		vt_diag("%s: max_msg_sz %zu: %zu WRs", what, chunk, nchunks);
	while (done < nchunks) {
		while (posted < nchunks && posted - done < 4) {
			off = posted * chunk;
			n = len - off < chunk ? len - off : chunk;
			g = sge(l, GUARD + off, n);
			vt_send_wr(&wr, posted, &g, 1, op, IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = raddr(r, GUARD + off);
			wr.wr.rdma.rkey = r->mr->rkey;
			vt_post_send(c->a.qp, &wr, what);
			posted++;
		}
		expect_wc(c->a.scq, &wc, what, done, IBV_WC_SUCCESS,
			  op == IBV_WR_RDMA_READ ? IBV_WC_RDMA_READ :
						   IBV_WC_RDMA_WRITE,
			  vt_wc_ms(chunk));
		done++;
	}
}

static size_t big_len = 256 * (size_t)MIB;

/* One big RDMA WRITE and READ (256 MiB), when the guest has the memory. */
static void test_big(void **state)
{
	struct tcase *tc = *state;
	const size_t len = big_len;
	char what[64];
	struct conn *c;
	struct buf *l, *r;
	long avail = mem_available_kb();
	size_t need_kb = 2 * (len / 1024) + 128 * 1024;
	int64_t t0;
	uint8_t g[GUARD];

	if (avail < 0 || (size_t)avail < need_kb) {
		vt_diag("SKIP: the %zu MiB test needs %zu MiB available, MemAvailable is %ld MiB",
			len / MIB, need_kb / 1024, avail / 1024);
		skip();
	}
	c = conn_open(tc, &default_opts);
	l = buf_new(tc, c->a.pd, len + 2 * GUARD, IBV_ACCESS_LOCAL_WRITE);
	r = buf_new(tc, c->b.pd, len + 2 * GUARD, IBV_ACCESS_LOCAL_WRITE |
		    IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	vt_fill(l->mem + GUARD, len, 256);
	memset(g, 0xa5, GUARD);

	t0 = vt_now_ms();
	snprintf(what, sizeof(what), "%zu MiB RDMA_WRITE", len / MIB);
	big_op(c, IBV_WR_RDMA_WRITE, l, r, len, what);
	vt_diag("%s took %" PRId64 " ms", what, vt_now_ms() - t0);
	EXPECT_BYTES(what, r->mem + GUARD, l->mem + GUARD, len, 0,
		     len);
	EXPECT_BYTES(what, r->mem, g, GUARD, GUARD, 0);
	EXPECT_BYTES(what, r->mem + GUARD + len, g, GUARD, 0, 0);

	memset(l->mem + GUARD, 0, len);
	t0 = vt_now_ms();
	snprintf(what, sizeof(what), "%zu MiB RDMA_READ", len / MIB);
	big_op(c, IBV_WR_RDMA_READ, l, r, len, what);
	vt_diag("%s took %" PRId64 " ms", what, vt_now_ms() - t0);
	EXPECT_BYTES(what, l->mem + GUARD, r->mem + GUARD, len, 0,
		     len);
	EXPECT_BYTES(what, l->mem, g, GUARD, GUARD, 0);
	EXPECT_BYTES(what, l->mem + GUARD + len, g, GUARD, 0, 0);
}

/* ---------------------------------------------------------------------- */
/* Error paths                                                             */
/* ---------------------------------------------------------------------- */

/* An R_Key that names none of this test's MRs. */
static uint32_t bad_key(const struct tcase *tc, uint32_t key)
{
	uint32_t k = key ^ 0x5a5a00u;
	unsigned int i;

	for (i = 0; i < tc->nbufs; i++)
		if (tc->bufs[i].mr && (tc->bufs[i].mr->rkey == k ||
				       tc->bufs[i].mr->lkey == k))
			return bad_key(tc, k + 0x100);
	return k;
}

/*
 * Post @len bytes of RDMA op @op from A (local buffer @l at offset 8) to
 * @addr with @rkey, then two SENDs; wait for the first to complete with
 * @status and the SENDs to be flushed.  With @may_refuse, the provider
 * may refuse the first WR at post time with EINVAL instead (returns false
 * then, with nothing posted and the QP still usable).
 */
static bool remote_error(struct conn *c, struct buf *l, enum ibv_wr_opcode op,
			 uint64_t addr, uint32_t rkey, uint32_t len,
			 enum ibv_wc_status status, bool may_refuse,
			 const char *what)
{
	struct ibv_sge g = sge(l, 8, len);
	struct ibv_send_wr wr[3], *bad = NULL;
	struct ibv_wc wc;
	unsigned int i;
	int rc;

	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 3; i++) {
		wr[i].wr_id = i + 1;
		wr[i].sg_list = &g;
		wr[i].num_sge = 1;
		wr[i].opcode = i ? IBV_WR_SEND : op;
		wr[i].send_flags = IBV_SEND_SIGNALED;
		wr[i].next = i < 2 ? &wr[i + 1] : NULL;
	}
	if (op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	    op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		wr[0].wr.atomic.remote_addr = addr;
		wr[0].wr.atomic.rkey = rkey;
		wr[0].wr.atomic.compare_add = 1;
		wr[0].wr.atomic.swap = 2;
	} else {
		wr[0].wr.rdma.remote_addr = addr;
		wr[0].wr.rdma.rkey = rkey;
	}
	rc = ibv_post_send(c->a.qp, wr, &bad);
	if (rc && may_refuse) {
		CHECK(rc == EINVAL && bad == wr,
		      "%s: ibv_post_send returned %d (%s), want 0 or EINVAL for the first WR",
		      what, rc, strerror(rc));
		vt_diag("%s: refused at post time by %s's provider (EINVAL)",
			what, c->a.dev->name);
		vt_expect_no_wc(c->a.scq, what, 100);
		expect_qp_state(&c->a, IBV_QPS_RTS, "requester after the refusal");
		return false;
	}
	CHECK(!rc, "%s: ibv_post_send: %s", what, strerror(rc));
	expect_wc(c->a.scq, &wc, what, 1, status, -1, 10000);
	expect_wc(c->a.scq, &wc, "SEND posted after the failing WR", 2,
		  IBV_WC_WR_FLUSH_ERR, -1, 5000);
	expect_wc(c->a.scq, &wc, "second SEND posted after the failing WR", 3,
		  IBV_WC_WR_FLUSH_ERR, -1, 5000);
	expect_qp_state(&c->a, IBV_QPS_ERR, "requester after the error");
	return true;
}

/*
 * A request the responder refuses with a NAK (remote access or invalid
 * request): the requester completes it with @status and flushes the rest,
 * the responder goes to the error state and flushes its receives, the
 * target memory is unchanged.
 */
static void nak_test(struct tcase *tc, int r_access, enum ibv_wr_opcode op,
		     size_t roff, int key_delta, uint32_t len,
		     enum ibv_wc_status status, bool may_refuse,
		     const char *what)
{
	struct conn *c = conn_open(tc, &default_opts);
	struct buf *l, *r, *rr;
	struct ibv_sge rg;
	struct ibv_wc wc;
	uint8_t *want;
	uint32_t rkey;
	char msg[160];

	l = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	/* The target MR covers [GUARD, GUARD + 1024) of a larger buffer. */
	r = buf_new(tc, NULL, 1024 + 2 * GUARD, 0);
	r->mr = ibv_reg_mr(c->b.pd, r->mem + GUARD, 1024, r_access);
	CHECK(r->mr, "%s: ibv_reg_mr: %s", what, strerror(errno));
	rr = buf_new(tc, c->b.pd, 256, IBV_ACCESS_LOCAL_WRITE);
	vt_fill(l->mem, 4096, 1);
	vt_fill(r->mem, r->size, GUARD_SEED);
	want = vt_tc_alloc(&tc->vc, r->size);
	memcpy(want, r->mem, r->size);
	rg = sge(rr, 0, 64);
	vt_post_recv(c->b.qp, 500, &rg, 1, what);
	rg = sge(rr, 64, 64);
	vt_post_recv(c->b.qp, 501, &rg, 1, what);

	rkey = key_delta ? bad_key(tc, r->mr->rkey) : r->mr->rkey;
	if (remote_error(c, l, op, raddr(r, GUARD + roff), rkey, len, status,
			 may_refuse, what)) {
		snprintf(msg, sizeof(msg), "%s: responder's receives", what);
		expect_wc(c->b.rcq, &wc, msg, 500, IBV_WC_WR_FLUSH_ERR, -1,
			  5000);
		expect_wc(c->b.rcq, &wc, msg, 501, IBV_WC_WR_FLUSH_ERR, -1,
			  5000);
		expect_qp_state(&c->b, IBV_QPS_ERR, "responder after the NAK");
	}
	snprintf(msg, sizeof(msg), "%s: target memory", what);
	EXPECT_BYTES(msg, r->mem, want, r->size, GUARD, 0);
}

static void test_err_bad_rkey(void **state)
{
	nak_test(*state, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		 IBV_WR_RDMA_WRITE, 0, 1, 100, IBV_WC_REM_ACCESS_ERR, false,
		 "RDMA_WRITE with a bad R_Key");
}

static void test_err_beyond_mr(void **state)
{
	nak_test(*state, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		 IBV_WR_RDMA_WRITE, 1024 - 15, 0, 16, IBV_WC_REM_ACCESS_ERR,
		 false, "RDMA_WRITE one byte past the MR's end");
}

static void test_err_no_remote_write(void **state)
{
	nak_test(*state, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ,
		 IBV_WR_RDMA_WRITE, 0, 0, 100, IBV_WC_REM_ACCESS_ERR, false,
		 "RDMA_WRITE to an MR without REMOTE_WRITE");
}

static void test_err_no_remote_read(void **state)
{
	nak_test(*state, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		 IBV_WR_RDMA_READ, 0, 0, 100, IBV_WC_REM_ACCESS_ERR, false,
		 "RDMA_READ from an MR without REMOTE_READ");
}

static void test_err_no_remote_atomic(void **state)
{
	nak_test(*state, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		 IBV_ACCESS_REMOTE_READ, IBV_WR_ATOMIC_FETCH_AND_ADD, 0, 0, 8,
		 IBV_WC_REM_ACCESS_ERR, false,
		 "FETCH_ADD on an MR without REMOTE_ATOMIC");
}

/*
 * IBA: the responder NAKs a misaligned atomic as an invalid request; a
 * provider may refuse it at post time already (rxe's does).
 */
static void test_err_unaligned_atomic(void **state)
{
	nak_test(*state, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_ATOMIC,
		 IBV_WR_ATOMIC_CMP_AND_SWP, 4, 0, 8, IBV_WC_REM_INV_REQ_ERR,
		 true, "CMP_AND_SWP at an address that is not 8-byte aligned");
}

/* A bad L_Key fails locally: nothing reaches the responder. */
static void test_err_bad_lkey(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc, &default_opts);
	struct buf *l, *d;
	struct ibv_send_wr wr;
	struct ibv_sge g, rg;
	struct ibv_wc wc;
	uint8_t *want;

	want = send_bufs(tc, c, 3, &l, &d);
	rg = sge(d, 100, 200);
	vt_post_recv(c->b.qp, 9, &rg, 1, "receive");
	g = sge(l, 10, 100);
	g.lkey = bad_key(tc, g.lkey);
	vt_send_wr(&wr, 1, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	vt_post_send(c->a.qp, &wr, "SEND with a bad L_Key");
	expect_wc_err(c->a.scq, &wc, "SEND with a bad L_Key", c->a.dev, 1,
		      IBV_WC_LOC_PROT_ERR, IBV_WC_LOC_QP_OP_ERR);
	expect_qp_state(&c->a, IBV_QPS_ERR, "requester after LOC_PROT_ERR");
	vt_expect_no_wc(c->b.rcq, "responder (nothing was sent)", 200);
	expect_qp_state(&c->b, IBV_QPS_RTS, "responder");
	EXPECT_BYTES("receive buffer", d->mem, want, 4096, 100, 0);
}

/*
 * A SEND longer than its receive buffer: IBA has the responder complete
 * the receive with a local length error and NAK the request as invalid
 * (the requester sees REM_INV_REQ_ERR); both QPs go to the error state.
 * Nothing outside the receive buffer changes.
 */
static void test_err_recv_too_small(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc, &default_opts);
	struct buf *l, *d;
	struct ibv_send_wr wr;
	struct ibv_sge g, rg;
	struct ibv_wc wc;
	uint8_t *want;

	want = send_bufs(tc, c, 3, &l, &d);
	rg = sge(d, 301, 100);
	vt_post_recv(c->b.qp, 9, &rg, 1, "100-byte receive");
	rg = sge(d, 1001, 100);
	vt_post_recv(c->b.qp, 10, &rg, 1, "second receive");
	g = sge(l, 10, 200);
	vt_send_wr(&wr, 1, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	vt_post_send(c->a.qp, &wr, "200-byte SEND");
	expect_wc_err(c->a.scq, &wc, "200-byte SEND into 100 bytes: requester",
		      c->b.dev, 1, IBV_WC_REM_INV_REQ_ERR, IBV_WC_REM_OP_ERR);
	expect_wc_err(c->b.rcq, &wc, "200-byte SEND into 100 bytes: receiver",
		      c->b.dev, 9, IBV_WC_LOC_LEN_ERR, IBV_WC_LOC_QP_OP_ERR);
	expect_wc(c->b.rcq, &wc, "second receive", 10, IBV_WC_WR_FLUSH_ERR, -1,
		  5000);
	expect_qp_state(&c->b, IBV_QPS_ERR, "responder after the length error");
	/* The receive buffer's contents are undefined, not its guard. */
	memcpy(want + 301, d->mem + 301, 100);
	EXPECT_BYTES("around the 100-byte receive", d->mem, want, 4096, 301,
		     100);
}

/* rnr_retry 0 and no receive: RNR_RETRY_EXC_ERR at once. */
static void test_err_rnr(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct conn *c;
	struct buf *s;
	struct ibv_wc wc;

	o.rnr_retry = 0;
	o.min_rnr_timer = 1;
	c = conn_open(tc, &o);
	s = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	send_small(c, s, 1, 0, "SEND without a receive");
	send_small(c, s, 2, 0, "SEND after it");
	expect_wc(c->a.scq, &wc, "SEND without a receive, rnr_retry 0", 1,
		  IBV_WC_RNR_RETRY_EXC_ERR, -1, 10000);
	expect_wc(c->a.scq, &wc, "SEND after it", 2, IBV_WC_WR_FLUSH_ERR, -1,
		  5000);
	expect_qp_state(&c->a, IBV_QPS_ERR, "requester");
	expect_qp_state(&c->b, IBV_QPS_RTS, "responder after an RNR NAK");
}

/*
 * A WR posted to a QP in the error state completes with a flush error;
 * rxe 6.1 (on a device that is not rodp) may leave it queued instead.
 */
static void flushed_in_err(struct ibv_cq *cq, const struct vt_dev *d,
			   uint64_t wr_id, const char *what)
{
	struct ibv_wc wc;

	if (!vt_get_wc(cq, &wc, d->rodp ? 5000 : 1000)) {
		CHECK(!d->rodp, "%s: no completion within 5 s", what);
		vt_diag("%s: %s does not flush it (known rxe behaviour, accepted for the control)",
			what, d->name);
		return;
	}
	CHECK(wc.wr_id == wr_id && wc.status == IBV_WC_WR_FLUSH_ERR,
	      "%s: completion wr_id %" PRIu64 " status %s, want wr_id %" PRIu64 " %s",
	      what, (uint64_t)wc.wr_id, ibv_wc_status_str(wc.status), wr_id,
	      ibv_wc_status_str(IBV_WC_WR_FLUSH_ERR));
}

/*
 * Moving a QP to the error state flushes its posted receives and sends,
 * and what is posted afterwards, in order.
 */
static void test_err_flush(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct conn *c;
	struct buf *s, *d;
	struct ibv_qp_attr at = { .qp_state = IBV_QPS_ERR };
	struct ibv_sge rg;
	struct ibv_wc wc;
	char what[64];
	int k, rc;

	o.b_init = true;	/* A's SENDs stay queued: B drops them */
	o.timeout = 18;
	c = conn_open(tc, &o);
	s = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	d = buf_new(tc, c->b.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	for (k = 0; k < 3; k++) {
		rg = sge(d, 64 * k, 64);
		vt_post_recv(c->b.qp, 10 + k, &rg, 1, "receive");
		send_small(c, s, 20 + k, 0, "SEND to a QP in INIT");
	}
	rc = ibv_modify_qp(c->b.qp, &at, IBV_QP_STATE);
	CHECK(!rc, "modify responder to ERR: %s", strerror(rc));
	rc = ibv_modify_qp(c->a.qp, &at, IBV_QP_STATE);
	CHECK(!rc, "modify requester to ERR: %s", strerror(rc));
	for (k = 0; k < 3; k++) {
		snprintf(what, sizeof(what), "receive %d flushed", k);
		expect_wc(c->b.rcq, &wc, what, 10 + k, IBV_WC_WR_FLUSH_ERR, -1,
			  5000);
		CHECK(wc.qp_num == c->b.qp->qp_num, "%s: qp_num %u", what,
		      wc.qp_num);
		snprintf(what, sizeof(what), "SEND %d flushed", k);
		expect_wc(c->a.scq, &wc, what, 20 + k, IBV_WC_WR_FLUSH_ERR, -1,
			  5000);
	}

	/*
	 * Posted in the error state: flushed too (IBA).  rxe 6.1 leaves
	 * them queued; accepted for the control.
	 */
	rg = sge(d, 256, 64);
	vt_post_recv(c->b.qp, 13, &rg, 1, "receive in ERR");
	send_small(c, s, 23, 0, "SEND in ERR");
	flushed_in_err(c->b.rcq, c->b.dev, 13, "receive posted in ERR");
	flushed_in_err(c->a.scq, c->a.dev, 23, "SEND posted in ERR");
	vt_expect_no_wc(c->b.rcq, "after the flush", 50);
	vt_expect_no_wc(c->a.scq, "after the flush", 0);
}

/*
 * Posting more WRs than the queue holds fails with ENOMEM (B stays in
 * INIT so that nothing A sends is acknowledged); more SGEs than granted
 * fail with EINVAL.
 */
static void test_err_queue_full(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct conn *c;
	struct buf *s;
	struct ibv_send_wr wr, *bad;
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr at;
	struct ibv_sge *g;
	unsigned int k, nsge;
	int rc;

	o.send_wr = 8;
	o.recv_wr = 8;
	o.b_init = true;
	o.timeout = 20;		/* 4 s: the WRs stay queued */
	c = conn_open(tc, &o);
	/* The real depths: query_qp's (rxe 6.1's create reports less). */
	rc = ibv_query_qp(c->a.qp, &at, IBV_QP_CAP, &ia);
	CHECK(!rc, "ibv_query_qp: %s", strerror(rc));
	c->a.cap = at.cap;
	rc = ibv_query_qp(c->b.qp, &at, IBV_QP_CAP, &ia);
	CHECK(!rc, "ibv_query_qp: %s", strerror(rc));
	c->b.cap = at.cap;
	nsge = c->b.cap.max_recv_sge + 1;
	if (c->b.cap.max_send_sge + 1 > nsge)
		nsge = c->b.cap.max_send_sge + 1;
	s = buf_new(tc, c->a.pd, 16 * nsge, IBV_ACCESS_LOCAL_WRITE);
	g = vt_tc_alloc(&tc->vc, nsge * sizeof(*g));
	for (k = 0; k < nsge; k++)
		g[k] = sge(s, 16 * k, 16);

	for (k = 0; k < c->a.cap.max_send_wr; k++)
		send_small(c, s, k, 0, "SEND filling the send queue");
	vt_send_wr(&wr, 999, g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	bad = NULL;
	rc = ibv_post_send(c->a.qp, &wr, &bad);
	CHECK(rc == ENOMEM && bad == &wr,
	      "SEND beyond max_send_wr %u: ibv_post_send returned %d (%s), want ENOMEM",
	      c->a.cap.max_send_wr, rc, strerror(rc));

	for (k = 0; k < c->a.cap.max_recv_wr; k++)
		vt_post_recv(c->a.qp, k, g, 1, "receive filling the queue");
	memset(&rwr, 0, sizeof(rwr));
	rwr.wr_id = 999;
	rwr.sg_list = g;
	rwr.num_sge = 1;
	rbad = NULL;
	rc = ibv_post_recv(c->a.qp, &rwr, &rbad);
	CHECK(rc == ENOMEM && rbad == &rwr,
	      "receive beyond max_recv_wr %u: ibv_post_recv returned %d (%s), want ENOMEM",
	      c->a.cap.max_recv_wr, rc, strerror(rc));

	/* More entries than granted, on B's empty queues. */
	memset(&rwr, 0, sizeof(rwr));
	rwr.sg_list = g;
	rwr.num_sge = (int)c->b.cap.max_recv_sge + 1;
	rbad = NULL;
	rc = ibv_post_recv(c->b.qp, &rwr, &rbad);
	CHECK(rc == EINVAL && rbad == &rwr,
	      "receive with max_recv_sge + 1 = %d entries: ibv_post_recv returned %d (%s), want EINVAL",
	      rwr.num_sge, rc, strerror(rc));
	memset(&wr, 0, sizeof(wr));
	wr.sg_list = g;
	wr.num_sge = (int)c->b.cap.max_send_sge + 1;
	wr.opcode = IBV_WR_SEND;
	bad = NULL;
	rc = ibv_post_send(c->b.qp, &wr, &bad);
	CHECK(rc == EINVAL && bad == &wr,
	      "SEND with max_send_sge + 1 = %d entries: ibv_post_send returned %d (%s), want EINVAL",
	      wr.num_sge, rc, strerror(rc));
}

/* ---------------------------------------------------------------------- */
/* QP reuse through RESET, QP access flags, hostile rings (issue 9)        */
/* ---------------------------------------------------------------------- */

/*
 * The access flags programs pass to INIT when they reuse their MR's: the
 * remote bits count, the rest (local write, on-demand) is ignored, as on
 * rxe and mlx5.
 */
#define MR_STYLE_ACCESS	(VT_ACCESS_ALL | IBV_ACCESS_ON_DEMAND)

/* Drain what a CQ holds now; completions of a QP just reset may be there. */
static unsigned int cq_drain(struct ibv_cq *cq)
{
	struct ibv_wc wc;
	unsigned int n = 0;

	while (vt_poll_wc(cq, &wc, 20) > 0)
		n++;
	return n;
}

/* @qp to RESET; the call must come back at once, whatever is queued. */
static void ep_reset(struct ep *e, const char *what)
{
	int64_t t = vt_now_ms();
	int tries;

	CHECK(!vt_qp_move(e->qp, IBV_QPS_RESET), "%s: %s: %s", what,
	      e->dev->name, vt_errmsg());
	CHECK(vt_now_ms() - t < 5000, "%s: %s: modify to RESET took %" PRId64
	      " ms", what, e->dev->name, vt_now_ms() - t);
	/*
	 * rxe (seen on 7.x) can put a QP it has just reset back into ERR:
	 * its completer finishes an error it started before the reset.
	 * rxe is the control here, so give it three more resets; rodp's
	 * QP must be in RESET at once.
	 */
	for (tries = 0; !e->dev->rodp && tries < 3 &&
	     vt_qp_state(e->qp) == IBV_QPS_ERR; tries++) {
		vt_diag("%s: %s went back to ERR after RESET (rxe), again",
			what, e->dev->name);
		usleep(20000);
		CHECK(!vt_qp_move(e->qp, IBV_QPS_RESET), "%s: %s: %s", what,
		      e->dev->name, vt_errmsg());
	}
	expect_qp_state(e, IBV_QPS_RESET, what);
}

static void ep_to_err(struct ep *e, const char *what)
{
	CHECK(!vt_qp_move(e->qp, IBV_QPS_ERR), "%s: %s: %s", what,
	      e->dev->name, vt_errmsg());
}

/*
 * Both QPs of @c from RESET back to RTS at their endpoints' PSNs, with an
 * MR's access flags at INIT.
 */
static void conn_restate_at(struct conn *c)
{
	CHECK(!vt_qp_to_init(c->a.qp, MR_STYLE_ACCESS), "%s: %s",
	      c->a.dev->name, vt_errmsg());
	CHECK(!vt_qp_to_init(c->b.qp, MR_STYLE_ACCESS), "%s: %s",
	      c->b.dev->name, vt_errmsg());
	ep_to_rtr(c, &c->a, &c->b);
	ep_to_rtr(c, &c->b, &c->a);
	ep_to_rts(c, &c->a);
	ep_to_rts(c, &c->b);
}

/*
 * Both QPs of @c from RESET back to RTS, with new PSNs (@k-th round) and
 * an MR's access flags at INIT.
 */
static void conn_restate(struct conn *c, unsigned int k)
{
	c->a.psn = (c->a.psn + 0x10003u * (k + 1)) & 0xffffff;
	c->b.psn = (c->b.psn + 0x20005u * (k + 1)) & 0xffffff;
	conn_restate_at(c);
}

/*
 * One SEND and one RDMA WRITE from A, their bytes checked, and exactly
 * their completions on both sides: nothing from before a reset leaks.
 */
static void reuse_traffic(struct conn *c, struct buf *l, struct buf *r,
			  uint32_t rkey, unsigned int k, const char *what)
{
	struct ibv_sge g, rg;
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	char msg[128];

	vt_fill(l->mem, 8192, 100 + k);
	memset(r->mem, 0, 8192);
	rg = sge(r, 0, 256);
	vt_post_recv(c->b.qp, 7000 + k, &rg, 1, what);
	g = sge(l, 0, 256);
	vt_send_wr(&wr, 8000 + k, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	vt_post_send(c->a.qp, &wr, what);
	g = sge(l, 4096, 4096);
	vt_send_wr(&wr, 9000 + k, &g, 1, IBV_WR_RDMA_WRITE,
		   IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = raddr(r, 4096);
	wr.wr.rdma.rkey = rkey;
	vt_post_send(c->a.qp, &wr, what);
	snprintf(msg, sizeof(msg), "%s: SEND", what);
	expect_wc(c->a.scq, &wc, msg, 8000 + k, IBV_WC_SUCCESS, IBV_WC_SEND,
		  10000);
	snprintf(msg, sizeof(msg), "%s: WRITE", what);
	expect_wc(c->a.scq, &wc, msg, 9000 + k, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_WRITE, 10000);
	snprintf(msg, sizeof(msg), "%s: receive", what);
	expect_wc(c->b.rcq, &wc, msg, 7000 + k, IBV_WC_SUCCESS, IBV_WC_RECV,
		  10000);
	CHECK(wc.byte_len == 256, "%s: byte_len %u", msg, wc.byte_len);
	snprintf(msg, sizeof(msg), "%s: SEND bytes", what);
	EXPECT_BYTES(msg, r->mem, l->mem, 256, 0, 0);
	snprintf(msg, sizeof(msg), "%s: WRITE bytes", what);
	EXPECT_BYTES(msg, r->mem + 4096, l->mem + 4096, 4096, 0, 0);
	vt_expect_no_wc(c->a.scq, what, 20);
	vt_expect_no_wc(c->b.rcq, what, 0);
}

/*
 * Post @n 64 KiB WRITEs and @n SENDs from A, and @n receives on B unless
 * B is in RESET (where IBA refuses them: rxe does, rodp leaves them).
 */
static void reuse_load(struct conn *c, struct buf *l, struct buf *r,
		       uint32_t rkey, unsigned int n, const char *what)
{
	bool b_reset = vt_qp_state(c->b.qp) == IBV_QPS_RESET;
	struct ibv_send_wr wr;
	struct ibv_sge g, rg;
	unsigned int i;

	for (i = 0; i < n; i++) {
		rg = sge(r, 64 * i, 64);
		if (!b_reset)
			vt_post_recv(c->b.qp, 100 + i, &rg, 1, what);
		g = sge(l, 0, 65536);
		vt_send_wr(&wr, 200 + i, &g, 1, IBV_WR_RDMA_WRITE,
			   IBV_SEND_SIGNALED);
		wr.wr.rdma.remote_addr = raddr(r, 0);
		wr.wr.rdma.rkey = rkey;
		vt_post_send(c->a.qp, &wr, what);
		g = sge(l, 0, 64);
		vt_send_wr(&wr, 300 + i, &g, 1, IBV_WR_SEND, 0);
		vt_post_send(c->a.qp, &wr, what);
	}
}

/*
 * An rxe requester whose WRs the peer refuses: let its NAK land before
 * the reset.  rxe 6.1 takes a NAK that arrives just after a modify to
 * RESET and moves the QP from RESET to ERR (seen under load: "in state
 * 6, want 0").  A rodp requester is reset at once, NAK or not.
 */
static void rxe_settle(struct ep *e, const char *what)
{
	int64_t t0 = vt_now_ms();

	if (e->dev->rodp)
		return;
	while (vt_qp_state(e->qp) != IBV_QPS_ERR && vt_now_ms() - t0 < 5000)
		usleep(2000);
	if (vt_qp_state(e->qp) != IBV_QPS_ERR)
		vt_diag("%s: %s did not reach ERR within 5 s", what,
			e->dev->name);
}

/*
 * QPs reused through RESET, many times: with WRs in flight at the reset,
 * with WRs only posted (the peer already reset), after a local move to
 * ERR with WRs queued, and after a remote error (a WRITE into an MR moved
 * to another PD, as in the outside run that found the soft lockup).  Each
 * round resets A first or B first, restates both with new PSNs and an
 * MR's access flags at INIT, and checks that traffic works and that no
 * completion from before the reset shows up after it.
 */
static void test_reset_reuse(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct ibv_pd *pd2;
	struct conn *c;
	struct buf *l, *r;
	char what[96];
	unsigned int k, rounds = 12;
	int rc;

	o.timeout = 14;		/* 67 ms: lost ACKs recover quickly */
	c = conn_open(tc, &o);
	l = buf_new(tc, c->a.pd, 65536, IBV_ACCESS_LOCAL_WRITE);
	r = buf_new(tc, c->b.pd, 65536, VT_ACCESS_ALL);
	ep_reset(&c->a, "first reset");
	ep_reset(&c->b, "first reset");
	conn_restate(c, 0);
	reuse_traffic(c, l, r, r->mr->rkey, 0, "before any reuse");

	pd2 = ibv_alloc_pd(c->b.dev->ctx);
	CHECK(pd2, "ibv_alloc_pd: %s", strerror(errno));
	for (k = 1; k <= rounds; k++) {
		bool a_first = k & 1;

		switch (k % 4) {
		case 0:		/* in flight */
			snprintf(what, sizeof(what), "round %u, in flight", k);
			reuse_load(c, l, r, r->mr->rkey, 8, what);
			break;
		case 1:		/* only posted: the peer is reset first */
			snprintf(what, sizeof(what), "round %u, posted", k);
			ep_reset(&c->b, what);
			reuse_load(c, l, r, r->mr->rkey, 8, what);
			a_first = true;
			break;
		case 2:		/* a local error first, WRs queued */
			snprintf(what, sizeof(what), "round %u, ERR first",
				 k);
			reuse_load(c, l, r, r->mr->rkey, 4, what);
			ep_to_err(&c->a, what);
			ep_to_err(&c->b, what);
			reuse_load(c, l, r, r->mr->rkey, 2, what);
			break;
		default:	/* a remote error first: the MR in another PD */
			if (!c->b.dev->rodp) {
				/* rxe 6.1 has no rereg: a bad R_Key. */
				snprintf(what, sizeof(what),
					 "round %u, bad R_Key", k);
				reuse_load(c, l, r, bad_key(tc, r->mr->rkey),
					   4, what);
				rxe_settle(&c->a, what);
				break;
			}
			snprintf(what, sizeof(what),
				 "round %u, MR moved to another PD", k);
			rc = ibv_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_PD, pd2,
					  NULL, 0, 0);
			CHECK(!rc, "%s: ibv_rereg_mr(CHANGE_PD): %d (%s)",
			      what, rc, strerror(errno));
			reuse_load(c, l, r, r->mr->rkey, 4, what);
			rxe_settle(&c->a, what);
			break;
		}
		if (a_first) {
			ep_reset(&c->a, what);
			if (c->b.qp && vt_qp_state(c->b.qp) != IBV_QPS_RESET)
				ep_reset(&c->b, what);
		} else {
			ep_reset(&c->b, what);
			ep_reset(&c->a, what);
		}
		cq_drain(c->a.scq);
		cq_drain(c->a.rcq);
		cq_drain(c->b.scq);
		cq_drain(c->b.rcq);
		if (k % 4 == 3 && c->b.dev->rodp) {
			rc = ibv_rereg_mr(r->mr, IBV_REREG_MR_CHANGE_PD,
					  c->b.pd, NULL, 0, 0);
			CHECK(!rc, "%s: ibv_rereg_mr back: %d (%s)", what, rc,
			      strerror(errno));
		}
		conn_restate(c, k);
		reuse_traffic(c, l, r, r->mr->rkey, k, what);
	}
	ibv_dealloc_pd(pd2);
}

/*
 * A WR in flight when its QP is reset, its MR deregistered before the QP
 * is used again: nothing of it survives the reset.  The new send PSN is
 * set just behind the old one, so that a requester that still believed
 * in the old WR would find it inside its window and try to send it (the
 * outside run's soft lockup: its send failed on the dead key and retired
 * a WQE past the ring's end).
 */
static void test_reset_stale_wr(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct ibv_qp_init_attr ia;
	struct ibv_send_wr wr;
	struct ibv_qp_attr at;
	struct conn *c;
	struct buf *l, *r, *m;
	struct ibv_sge g;
	uint32_t psn;
	int rc;

	o.timeout = 18;
	c = conn_open(tc, &o);
	l = buf_new(tc, c->a.pd, 65536, IBV_ACCESS_LOCAL_WRITE);
	r = buf_new(tc, c->b.pd, 65536, VT_ACCESS_ALL);
	m = buf_new(tc, c->a.pd, 65536, IBV_ACCESS_LOCAL_WRITE);
	ep_reset(&c->a, "first reset");
	ep_reset(&c->b, "first reset");
	conn_restate(c, 0);
	reuse_traffic(c, l, r, r->mr->rkey, 0, "before");

	/* B gone to RESET: A's WRITE stays in flight, from PSN psn. */
	ep_reset(&c->b, "responder reset");
	rc = ibv_query_qp(c->a.qp, &at, IBV_QP_SQ_PSN, &ia);
	CHECK(!rc, "ibv_query_qp: %s", strerror(rc));
	psn = at.sq_psn;
	g = sge(m, 0, 65536);
	vt_send_wr(&wr, 4242, &g, 1, IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = raddr(r, 0);
	wr.wr.rdma.rkey = r->mr->rkey;
	vt_post_send(c->a.qp, &wr, "WRITE left in flight");
	usleep(50 * 1000);
	ep_reset(&c->a, "requester reset with a WRITE in flight");
	rc = ibv_dereg_mr(m->mr);
	CHECK(!rc, "ibv_dereg_mr: %s", strerror(rc));
	m->mr = NULL;
	cq_drain(c->a.scq);
	cq_drain(c->b.rcq);

	/* Restated with a send PSN 10 behind the one the WRITE had. */
	c->a.psn = (psn - 10) & 0xffffff;
	c->b.psn = (c->b.psn + 0x777u) & 0xffffff;
	conn_restate_at(c);
	usleep(100 * 1000);
	vt_expect_no_wc(c->a.scq, "after the restate, before any post", 0);
	expect_qp_state(&c->a, IBV_QPS_RTS, "requester after the restate");
	reuse_traffic(c, l, r, r->mr->rkey, 1, "after the reset");
}

/*
 * qp_access_flags holding an MR's flags (LOCAL_WRITE, ON_DEMAND): the QP
 * takes them, and RDMA WRITE, READ and atomics go through it.
 */
static void test_qp_mr_access(void **state)
{
	struct tcase *tc = *state;
	struct conn *c;
	struct buf *l, *r;
	struct ibv_send_wr wr;
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr at;
	struct ibv_sge g;
	struct ibv_wc wc;
	int rc;

	c = conn_open(tc, &default_opts);
	ep_reset(&c->a, "reset");
	ep_reset(&c->b, "reset");
	conn_restate(c, 0);
	rc = ibv_query_qp(c->b.qp, &at, IBV_QP_ACCESS_FLAGS, &ia);
	CHECK(!rc, "ibv_query_qp: %s", strerror(rc));
	CHECK((at.qp_access_flags & VT_ACCESS_ALL & ~IBV_ACCESS_LOCAL_WRITE) ==
	      (VT_ACCESS_ALL & ~IBV_ACCESS_LOCAL_WRITE),
	      "qp_access_flags 0x%x after INIT with 0x%x", at.qp_access_flags,
	      MR_STYLE_ACCESS);
	l = buf_new(tc, c->a.pd, 8192, IBV_ACCESS_LOCAL_WRITE);
	r = buf_new(tc, c->b.pd, 8192, VT_ACCESS_ALL);
	vt_fill(l->mem, 4096, 7);
	vt_fill(r->mem + 4096, 4096, 8);

	g = sge(l, 0, 4096);
	vt_send_wr(&wr, 1, &g, 1, IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = raddr(r, 0);
	wr.wr.rdma.rkey = r->mr->rkey;
	vt_post_send(c->a.qp, &wr, "WRITE");
	expect_wc(c->a.scq, &wc, "WRITE", 1, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_WRITE, 10000);
	EXPECT_BYTES("WRITE bytes", r->mem, l->mem, 4096, 0, 0);

	g = sge(l, 4096, 4096);
	vt_send_wr(&wr, 2, &g, 1, IBV_WR_RDMA_READ, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = raddr(r, 4096);
	wr.wr.rdma.rkey = r->mr->rkey;
	vt_post_send(c->a.qp, &wr, "READ");
	expect_wc(c->a.scq, &wc, "READ", 2, IBV_WC_SUCCESS, IBV_WC_RDMA_READ,
		  10000);
	EXPECT_BYTES("READ bytes", l->mem + 4096, r->mem + 4096, 4096, 0, 0);

	vt_put_u64(r->mem + 64, 40);
	g = sge(l, 64, 8);
	vt_send_wr(&wr, 3, &g, 1, IBV_WR_ATOMIC_FETCH_AND_ADD,
		   IBV_SEND_SIGNALED);
	wr.wr.atomic.remote_addr = raddr(r, 64);
	wr.wr.atomic.rkey = r->mr->rkey;
	wr.wr.atomic.compare_add = 2;
	vt_post_send(c->a.qp, &wr, "FETCH_ADD");
	expect_wc(c->a.scq, &wc, "FETCH_ADD", 3, IBV_WC_SUCCESS,
		  IBV_WC_FETCH_ADD, 10000);
	CHECK(vt_get_u64(l->mem + 64) == 40 && vt_get_u64(r->mem + 64) == 42,
	      "FETCH_ADD: got %" PRIu64 ", target %" PRIu64 ", want 40, 42",
	      vt_get_u64(l->mem + 64), vt_get_u64(r->mem + 64));
}

/* The ring headers this process has mapped from @d's uverbs file. */
static unsigned int uverbs_rings(const struct vt_dev *d,
				 struct rodp_ring_hdr **hdr, unsigned int max)
{
	char line[512], path[96];
	unsigned long lo, hi;
	unsigned int n = 0;
	size_t plen;
	FILE *f;

	snprintf(path, sizeof(path), "/dev/infiniband/%s",
		 d->ctx->device->dev_name);
	plen = strlen(path);
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, path);

		if (!p || (p[plen] != '\n' && p[plen] != '\0') ||
		    !strstr(line, " rw") ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		hdr[n++] = (struct rodp_ring_hdr *)lo;
	}
	fclose(f);
	return n;
}

/* Garbage in the ring headers: producer and consumer indexes, flags. */
static void rings_garble(struct rodp_ring_hdr **hdr, unsigned int n,
			 unsigned int pat)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t prod = hdr[i]->prod, cons = hdr[i]->cons;

		switch (pat % 5) {
		case 0:		/* the producer a little behind */
			hdr[i]->prod = prod - 1;
			break;
		case 1:		/* the producer far behind the consumer */
			hdr[i]->prod = cons - 2;
			break;
		case 2:		/* beyond the ring */
			hdr[i]->prod = cons + 0x10000;
			break;
		case 3:		/* the consumer gone */
			hdr[i]->cons = cons + 0x7fffffffu;
			hdr[i]->prod = prod + 0x80000000u;
			break;
		default:	/* noise */
			hdr[i]->prod = (uint32_t)random();
			hdr[i]->cons = (uint32_t)random();
			hdr[i]->flags = (uint32_t)random();
			break;
		}
	}
}

/* Time one call; it must come back within 5 s (a ring's worth of work). */
#define TIMED(what, call)						\
	do {								\
		int64_t t0_ = vt_now_ms();				\
		(void)(call);						\
		CHECK(vt_now_ms() - t0_ < 5000, "%s: %s took %" PRId64	\
		      " ms", what, #call, vt_now_ms() - t0_);		\
	} while (0)

/*
 * A hostile process: it writes garbage producer and consumer indexes into
 * its own SQ, RQ and CQ rings while WQEs are in flight, then posts, moves
 * its QPs to ERR (the flush walks the rings), RESET and back, and has its
 * peer send to it.  Every call returns at once, the kernel log stays
 * clean (the suite checks it), and afterwards the device works.
 */
static void test_hostile_rings(void **state)
{
	struct tcase *tc = *state;
	struct conn_opts o = default_opts;
	struct ibv_send_wr wr, *bad;
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_sge g;
	struct ibv_wc wc;
	struct conn *c;
	struct buf *l, *r;
	struct rodp_ring_hdr *hdr[64];
	unsigned int pat, n, i;
	char what[64];

	o.b_init = true;	/* A's SENDs stay in flight */
	o.timeout = 14;
	for (pat = 0; pat < 5; pat++) {
		snprintf(what, sizeof(what), "pattern %u", pat);
		c = conn_open(tc, &o);
		l = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
		r = buf_new(tc, c->b.pd, 4096, VT_ACCESS_ALL);
		for (i = 0; i < 4; i++) {
			g = sge(r, 64 * i, 64);
			vt_post_recv(c->a.qp, 50 + i, &g, 1, what);
			send_small(c, l, 60 + i, 0, what);
		}
		n = uverbs_rings(c->a.dev, hdr, 64);
		CHECK(n >= 3, "%s: %u uverbs mappings found, want the rings",
		      what, n);
		/*
		 * Garbage, then straight into the kernel (no post in
		 * between, which would publish a sane producer index again):
		 * the flush walks the rings with A's SENDs in flight.
		 */
		rings_garble(hdr, n, pat);
		TIMED(what, vt_qp_move(c->a.qp, IBV_QPS_ERR));
		rings_garble(hdr, n, pat + 1);
		memset(&rwr, 0, sizeof(rwr));
		rwr.wr_id = 90;
		rwr.sg_list = &g;
		rwr.num_sge = 1;
		TIMED(what, ibv_post_recv(c->a.qp, &rwr, &rbad));
		g = sge(l, 0, 16);
		vt_send_wr(&wr, 70, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
		TIMED(what, ibv_post_send(c->a.qp, &wr, &bad));
		rings_garble(hdr, n, pat + 2);
		TIMED(what, vt_qp_move(c->a.qp, IBV_QPS_RESET));
		rings_garble(hdr, n, pat + 3);
		/* Each modify kicks both sides: they fetch from the rings. */
		TIMED(what, vt_qp_to_init(c->a.qp, VT_ACCESS_ALL));
		TIMED(what, vt_qp_to_rtr(c->a.qp, &c->path,
					 c->a.dev->gid_index,
					 c->b.qp->qp_num, c->b.psn,
					 &c->b.dev->gid));
		TIMED(what, vt_qp_to_rts(c->a.qp, &c->path, c->a.psn));
		/* B's SENDs reach A's receive ring. */
		ep_to_rtr(c, &c->b, &c->a);
		ep_to_rts(c, &c->b);
		rings_garble(hdr, n, pat + 4);
		g = sge(r, 0, 16);
		vt_send_wr(&wr, 80, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
		TIMED(what, ibv_post_send(c->b.qp, &wr, &bad));
		TIMED(what, ibv_post_send(c->a.qp, &wr, &bad));
		usleep(100 * 1000);
		rings_garble(hdr, n, pat);
		TIMED(what, vt_qp_move(c->a.qp, IBV_QPS_ERR));
		TIMED(what, vt_qp_move(c->b.qp, IBV_QPS_ERR));
		/* The peer's own rings are garbled too (one device). */
		bufs_free(tc);
		TIMED(what, ibv_destroy_qp(c->a.qp));
		TIMED(what, ibv_destroy_qp(c->b.qp));
		c->a.qp = c->b.qp = NULL;
		conn_close(c);
		free(c);
		tc->nconns--;
	}
	/* The device still works for a well-behaved pair. */
	c = conn_open(tc, &default_opts);
	l = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
	r = buf_new(tc, c->b.pd, 4096, VT_ACCESS_ALL);
	g = sge(r, 0, 64);
	vt_post_recv(c->b.qp, 1, &g, 1, "after the hostile rounds");
	send_small(c, l, 2, 0, "after the hostile rounds");
	expect_wc(c->a.scq, &wc, "SEND after the hostile rounds", 2,
		  IBV_WC_SUCCESS, IBV_WC_SEND, 10000);
	expect_wc(c->b.rcq, &wc, "receive after the hostile rounds", 1,
		  IBV_WC_SUCCESS, IBV_WC_RECV, 10000);
}

/*
 * A FLUSH work request written straight into the send queue's ring, as a
 * process that does not go through the provider could write it: the
 * kernel must end a malformed one with a local QP operation error (its
 * WQE check, rodp_flush_wqe_ok()), never act on it.  A well-formed one
 * written the same way reaches the responder, which refuses it (the QP
 * was given no FLUSH right): that shows the ring write itself is sound.
 */
struct flush_wqe_case {
	const char *what;
	uint64_t swap;		/* placement types | level << 4 */
	uint16_t num_sge;
	uint8_t flags;
	enum ibv_wc_status status;
};

static const struct flush_wqe_case flush_wqe_cases[] = {
	{ "well-formed, no FLUSH right at the responder", 0x1, 0, 0,
	  IBV_WC_REM_INV_REQ_ERR },
	{ "no placement type", 0x0, 0, 0, IBV_WC_LOC_QP_OP_ERR },
	{ "a reserved placement type", 0x1 | 0x4, 0, 0, IBV_WC_LOC_QP_OP_ERR },
	{ "a reserved selectivity level", 0x1 | (2 << 4), 0, 0,
	  IBV_WC_LOC_QP_OP_ERR },
	{ "a stray bit above the level", 0x1 | 0x100, 0, 0,
	  IBV_WC_LOC_QP_OP_ERR },
	{ "with an SGE", 0x1, 1, 0, IBV_WC_LOC_QP_OP_ERR },
	{ "inline", 0x1, 0, RODP_SEND_INLINE, IBV_WC_LOC_QP_OP_ERR },
};

/* The SQ ring of @qp: its last slot holds the RDMA WRITE @wr_id to @raddr. */
static struct rodp_ring_hdr *sq_ring_of(const struct vt_dev *d,
					uint64_t wr_id, uint64_t raddr)
{
	struct rodp_ring_hdr *hdr[64];
	unsigned int n, i;

	n = uverbs_rings(d, hdr, 64);
	for (i = 0; i < n; i++) {
		struct rodp_ring_hdr *h = hdr[i];
		const struct rodp_swqe *w;
		size_t off;

		if (h->log2_slots > 16 || h->slot_size < sizeof(*w) ||
		    h->prod == 0)
			continue;
		off = (size_t)((h->prod - 1) & ((1u << h->log2_slots) - 1)) *
		      h->slot_size;
		w = (const void *)((char *)h + RODP_RING_HDR_SIZE + off);
		if (w->wr_id == wr_id && w->opcode == RODP_WR_RDMA_WRITE &&
		    w->flags == RODP_SEND_SIGNALED && w->remote_addr == raddr)
			return h;
	}
	return NULL;
}

/* A send queue doorbell: a POST_SEND command with no work requests. */
static int sq_doorbell(struct ibv_qp *qp)
{
	struct ib_uverbs_post_send_resp resp;
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_post_send cmd;
	} req = {
		.hdr = {
			.command = IB_USER_VERBS_CMD_POST_SEND,
			.in_words = sizeof(req) / 4,
			.out_words = sizeof(resp) / 4,
		},
		.cmd = {
			.response = (uintptr_t)&resp,
			.qp_handle = qp->handle,
			.wqe_size = sizeof(struct ib_uverbs_send_wr),
		},
	};

	return write(qp->context->cmd_fd, &req, sizeof(req)) ==
	       (ssize_t)sizeof(req) ? 0 : -1;
}

static void test_flush_wqe(void **state)
{
	struct tcase *tc = *state;
	struct ibv_send_wr wr, *bad;
	struct rodp_ring_hdr *h;
	struct rodp_swqe *w;
	struct ibv_sge g;
	struct ibv_wc wc;
	struct conn *c;
	struct buf *l, *r;
	uint32_t prod;
	unsigned int k;
	char what[96];

	for (k = 0; k < ARRAY_SIZE(flush_wqe_cases); k++) {
		const struct flush_wqe_case *fc = &flush_wqe_cases[k];

		snprintf(what, sizeof(what), "FLUSH WQE %s", fc->what);
		c = conn_open(tc, &default_opts);
		l = buf_new(tc, c->a.pd, 4096, IBV_ACCESS_LOCAL_WRITE);
		r = buf_new(tc, c->b.pd, 4096, VT_ACCESS_ALL);
		/* A WRITE through the provider marks A's send ring. */
		g = sge(l, 0, 8);
		vt_send_wr(&wr, 0xf1a5, &g, 1, IBV_WR_RDMA_WRITE,
			   IBV_SEND_SIGNALED);
		wr.wr.rdma.remote_addr = (uintptr_t)r->mem;
		wr.wr.rdma.rkey = r->mr->rkey;
		CHECK(!ibv_post_send(c->a.qp, &wr, &bad), "%s: post: %s",
		      what, strerror(errno));
		expect_wc(c->a.scq, &wc, what, 0xf1a5, IBV_WC_SUCCESS,
			  IBV_WC_RDMA_WRITE, 10000);
		h = sq_ring_of(c->a.dev, 0xf1a5, (uintptr_t)r->mem);
		CHECK(h, "%s: no send ring holds the WRITE just posted", what);
		prod = h->prod;
		CHECK(h->cons == prod, "%s: ring cons %u, prod %u", what,
		      h->cons, prod);

		w = (void *)((char *)h + RODP_RING_HDR_SIZE +
			     (size_t)(prod & ((1u << h->log2_slots) - 1)) *
			     h->slot_size);
		memset(w, 0, h->slot_size);
		w->wr_id = 100 + k;
		w->opcode = RODP_WR_FLUSH;
		w->flags = RODP_SEND_SIGNALED | fc->flags;
		w->num_sge = fc->num_sge;
		w->remote_addr = (uintptr_t)r->mem;
		w->rkey = r->mr->rkey;
		w->compare_add = 64;
		w->swap = fc->swap;
		if (fc->num_sge) {
			struct rodp_sge *s = (void *)(w + 1);

			s->addr = (uintptr_t)l->mem;
			s->length = 8;
			s->lkey = l->mr->lkey;
		}
		__atomic_store_n(&h->prod, prod + 1, __ATOMIC_RELEASE);
		CHECK(!sq_doorbell(c->a.qp), "%s: doorbell: %s", what,
		      strerror(errno));
		expect_wc_err(c->a.scq, &wc, what, c->a.dev, 100 + k,
			      fc->status, fc->status);
		bufs_free(tc);
		conn_close(c);
		free(c);
		tc->conns[--tc->nconns] = NULL;
	}
}

/* ---------------------------------------------------------------------- */
/* Test list and main                                                      */
/* ---------------------------------------------------------------------- */

struct kind {
	const char *name;
	void (*fn)(void **state);
};

static const struct kind pair_kinds[] = {
	{ "query_qp", test_query_qp },
	{ "send", test_send },
	{ "send_imm", test_send_imm },
	{ "write", test_write },
	{ "write_imm", test_write_imm },
	{ "read", test_read },
	{ "atomic cmp_swp", test_atomic_cas },
	{ "atomic fetch_add", test_atomic_faa },
	{ "atomic write", test_atomic_write },
	{ "sge", test_sge },
	{ "inline", test_inline },
	{ "unsignaled", test_unsignaled },
	{ "cq events", test_events },
	{ "rnr retry", test_rnr_retry },
	{ "err bad rkey", test_err_bad_rkey },
	{ "err write beyond mr", test_err_beyond_mr },
	{ "err no remote write", test_err_no_remote_write },
	{ "err no remote read", test_err_no_remote_read },
	{ "err no remote atomic", test_err_no_remote_atomic },
	{ "err unaligned atomic", test_err_unaligned_atomic },
	{ "err bad lkey", test_err_bad_lkey },
	{ "err recv too small", test_err_recv_too_small },
	{ "err rnr retry exceeded", test_err_rnr },
	{ "err flush", test_err_flush },
	{ "err queue full", test_err_queue_full },
	{ "reset reuse", test_reset_reuse },
	{ "reset stale wr", test_reset_stale_wr },
	{ "qp mr access flags", test_qp_mr_access },
};

static bool verbose;
static int tc_teardown(void **state)
{
	struct tcase *tc = *state;
	unsigned int i;

	if (verbose)
		vt_diag("%s: %" PRId64 " ms", tc->vc.name, vt_tc_ms());

	bufs_free(tc);
	vt_tc_free(&tc->vc);
	for (i = 0; i < tc->nconns; i++) {
		conn_close(tc->conns[i]);
		free(tc->conns[i]);
	}
	tc->nconns = 0;
	return 0;
}

static struct vt_tests list = {
	.prog = "rc_test", .teardown = tc_teardown,
};
/* add_test(fn, fmt, ...): the case of a new test named as fmt says. */
#define add_test(...)	((struct tcase *)vt_add_test(&list, __VA_ARGS__))

static void usage(void)
{
	fprintf(stderr,
		"usage: rc_test [--ipv6] [--count] [--big A:B] [--big-mib N] [--mtu N[,N...]] [--only GLOB[,GLOB...]] A:B...\n"
		"       (--ipv6: IPv6 GIDs, given before any pairing)\n"
		"       (or the pairings in RC_TEST_PAIRS; RC_TEST_VERBOSE=1 times each test)\n");
	exit(2);
}

static struct pairing *add_pairing(struct pairing *pairs, unsigned int *n,
				   const char *spec)
{
	char a[64], b[64];
	const char *colon = strchr(spec, ':');
	unsigned int i;

	if (!colon || colon == spec || !colon[1] ||
	    (size_t)(colon - spec) >= sizeof(a) ||
	    strlen(colon + 1) >= sizeof(b))
		usage();
	memcpy(a, spec, (size_t)(colon - spec));
	a[colon - spec] = '\0';
	strcpy(b, colon + 1);
	for (i = 0; i < *n; i++)
		if (!strcmp(pairs[i].a->name, a) &&
		    !strcmp(pairs[i].b->name, b))
			return &pairs[i];
	if (*n == 16)
		usage();
	pairs[*n].a = vt_dev_get(a, use_ipv6);
	pairs[*n].b = vt_dev_get(b, use_ipv6);
	if (!pairs[*n].a || !pairs[*n].b)
		usage();
	snprintf(pairs[*n].name, sizeof(pairs[*n].name), "%s:%s%s", a, b,
		 use_ipv6 ? " ipv6" : "");
	return &pairs[(*n)++];
}

int main(int argc, char **argv)
{
	static struct pairing pairs[16], self_pairs[VT_MAX_DEVS];
	unsigned int npairs = 0, i, k, nmtu = 0;
	uint32_t mtus[5] = { 256 };
	const char *env;
	char *copy, *tok, *save = NULL;
	bool count = false;
	int ai, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vt_set_fail_hook(_fail);
	verbose = getenv("RC_TEST_VERBOSE") && *getenv("RC_TEST_VERBOSE");
	for (ai = 1; ai < argc; ai++) {
		if (!strcmp(argv[ai], "--big") && ai + 1 < argc) {
			add_pairing(pairs, &npairs, argv[++ai])->big = true;
		} else if (!strcmp(argv[ai], "--mtu") && ai + 1 < argc) {
			copy = strdup(argv[++ai]);
			nmtu = 0;
			for (tok = strtok_r(copy, ",", &save); tok && nmtu < 5;
			     tok = strtok_r(NULL, ",", &save)) {
				mtus[nmtu] = (uint32_t)strtoul(tok, NULL, 10);
				if (!vt_mtu_enum(mtus[nmtu]))
					usage();
				nmtu++;
			}
			free(copy);
		} else if (!strcmp(argv[ai], "--big-mib") && ai + 1 < argc) {
			big_len = strtoul(argv[++ai], NULL, 0) * (size_t)MIB;
			if (!big_len)
				usage();
		} else if (!strcmp(argv[ai], "--ipv6")) {
			if (vt_ndevs)
				usage();	/* devices opened already */
			use_ipv6 = true;
		} else if (!strcmp(argv[ai], "--count")) {
			count = true;
		} else if (!strcmp(argv[ai], "--only") && ai + 1 < argc) {
			list.only = argv[++ai];
		} else if (argv[ai][0] == '-') {
			usage();
		} else {
			add_pairing(pairs, &npairs, argv[ai]);
		}
	}
	if (!nmtu && mtus[0])
		nmtu = 1;
	env = getenv("RC_TEST_PAIRS");
	if (!npairs && env) {
		copy = strdup(env);
		for (tok = strtok_r(copy, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save))
			add_pairing(pairs, &npairs, tok);
		free(copy);
	}
	if (!npairs)
		usage();

	vt_tests_alloc(&list,
		       3 * vt_ndevs +
		       npairs * (ARRAY_SIZE(pair_kinds) + nmtu + 1),
		       sizeof(struct tcase));
	for (i = 0; i < vt_ndevs; i++) {
		add_test(test_limits, "%s limits", vt_devs[i].name)->dev =
			&vt_devs[i];
		if (!vt_devs[i].rodp)
			continue;
		/* Its own rings are garbled: only a rodp device's. */
		self_pairs[i].a = self_pairs[i].b = &vt_devs[i];
		snprintf(self_pairs[i].name, sizeof(self_pairs[i].name),
			 "%.60s:%.60s%s", vt_devs[i].name, vt_devs[i].name,
			 use_ipv6 ? " ipv6" : "");
		add_test(test_hostile_rings, "%s hostile rings",
			 self_pairs[i].name)->pair = &self_pairs[i];
		add_test(test_flush_wqe, "%s flush wqe",
			 self_pairs[i].name)->pair = &self_pairs[i];
	}
	for (i = 0; i < npairs; i++) {
		for (k = 0; k < ARRAY_SIZE(pair_kinds); k++)
			add_test(pair_kinds[k].fn, "%s %s", pairs[i].name,
				 pair_kinds[k].name)->pair = &pairs[i];
		for (k = 0; k < nmtu; k++) {
			struct tcase *tc = add_test(test_mtu, "%s mtu %u",
						    pairs[i].name, mtus[k]);

			tc->pair = &pairs[i];
			tc->arg = mtus[k];
		}
		if (pairs[i].big) {
			struct tcase *tc = add_test(test_big,
						    "%s %zu MiB write+read",
						    pairs[i].name,
						    big_len / MIB);

			tc->pair = &pairs[i];
		}
	}
	if (count) {
		printf("%u\n", list.n);
		return 0;
	}
	if (!list.n) {
		fprintf(stderr, "rc_test: no test matches --only %s\n",
			list.only);
		return 2;
	}
	failed = _cmocka_run_group_tests("rc", list.tests, list.n, NULL,
					 NULL);
	vt_devs_close();
	return failed ? 1 : 0;
}
