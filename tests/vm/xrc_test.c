// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xrc_test [--ipv6] [--count] [--only GLOBS] A:B...: eXtended Reliable
 * Connection (cmocka; run in the guest by suites/54-xrc.sh with TAP
 * output).  rxe has no XRC: A and B are rodp devices.
 *
 * For each pairing A:B one process opens both devices.  B has an XRC
 * domain with two XRC SRQs, each with a CQ of its own, and one XRC_RECV
 * QP; A has an XRC_SEND QP connected to it.  Data is checked byte for
 * byte.
 *
 * Tests per pairing:
 *   xrc data        SENDs of 1 byte to 12000 bytes (several packets)
 *                   alternating between the two SRQs, each completing in
 *                   its SRQ's CQ with wc.qp_num the XRC_RECV QP and
 *                   wc.src_qp the XRC_SEND QP; a WRITE with immediate
 *                   taking a receive from an SRQ; a READ; both atomics;
 *                   then the same through ibv_wr_*() with
 *                   ibv_wr_set_xrc_srqn()
 *   xrc wrong srqn  a SEND naming no SRQ, then one naming an SRQ of
 *                   another XRC domain: IBV_WC_REM_INV_REQ_ERR, and the
 *                   receiver's XRC_RECV QP in the error state
 *   xrc open qp     a second context opens the domain through the same
 *                   file and the XRC_RECV QP by number (ibv_open_qp());
 *                   with the creator's handle destroyed, the QP still
 *                   receives; SRQ and domain refuse to go while in use
 *   xrc odp         (B reports XRC ODP SEND and SRQ_RECV) the send
 *                   buffer, receive buffers and RDMA target in ODP MRs;
 *                   the odp_faults counters of both devices must move
 * and per rodp device "xrc caps": IBV_DEVICE_XRC, xrc_odp_caps,
 * ibv_get_srq_num() refusing a basic SRQ, posting to an XRC_RECV QP
 * and receives on an XRC_SEND QP refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "common.h"

#define NSRQ		2
#define SLOTS		16		/* receive buffers per SRQ */
#define SLOT		16384u		/* bytes of each */
#define TGT_LEN		65536u		/* RDMA target on B */
#define SRC_LEN		65536u		/* send buffer on A */
#define FILL		0xa5
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define XRC_FILE	"/tmp/rodp-xrc-test.xrcd"

static bool use_ipv6;

struct pairing {
	struct vt_dev *a, *b;
	char name[140];
};

/**
 * struct fix - one XRC connection: A's XRC_SEND QP and CQ, B's domain,
 * SRQs with their CQs and receive buffers, B's XRC_RECV QP and RDMA
 * target, A's send buffer
 */
struct fix {
	struct vt_dev *a, *b;
	struct vt_path path;
	int fd;
	struct ibv_pd *apd, *bpd;
	struct ibv_cq *acq, *bcq[NSRQ];
	struct ibv_xrcd *xrcd;
	struct ibv_srq *srq[NSRQ];
	uint32_t srqn[NSRQ];
	struct ibv_qp *ini, *tgt;
	uint8_t *sbuf, *rbuf, *tbuf;
	struct ibv_mr *smr, *rmr, *tmr;
	uint64_t posted[NSRQ];	/* receives posted to each SRQ */
};

struct tcase {
	struct vt_case vc;
	struct pairing *pair;
	struct vt_dev *dev;
	struct fix *fx;
};

static void *map_buf(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED, "mmap(%zu): %s", len, strerror(errno));
	return p;
}

static void fix_close(struct fix *f)
{
	int i;

	if (f->ini)
		ibv_destroy_qp(f->ini);
	if (f->tgt)
		ibv_destroy_qp(f->tgt);
	for (i = 0; i < NSRQ; i++)
		if (f->srq[i])
			ibv_destroy_srq(f->srq[i]);
	if (f->xrcd)
		ibv_close_xrcd(f->xrcd);
	if (f->smr)
		ibv_dereg_mr(f->smr);
	if (f->rmr)
		ibv_dereg_mr(f->rmr);
	if (f->tmr)
		ibv_dereg_mr(f->tmr);
	if (f->sbuf)
		munmap(f->sbuf, SRC_LEN);
	if (f->rbuf)
		munmap(f->rbuf, (size_t)NSRQ * SLOTS * SLOT);
	if (f->tbuf)
		munmap(f->tbuf, TGT_LEN);
	for (i = 0; i < NSRQ; i++)
		if (f->bcq[i])
			ibv_destroy_cq(f->bcq[i]);
	if (f->acq)
		ibv_destroy_cq(f->acq);
	if (f->apd)
		ibv_dealloc_pd(f->apd);
	if (f->bpd)
		ibv_dealloc_pd(f->bpd);
	if (f->fd >= 0)
		close(f->fd);
}

/* An XRC SRQ of B's domain, completing into @cq. */
static struct ibv_srq *xsrq_create(struct ibv_context *ctx,
				   struct ibv_pd *pd, struct ibv_xrcd *xrcd,
				   struct ibv_cq *cq)
{
	struct ibv_srq_init_attr_ex sx;

	memset(&sx, 0, sizeof(sx));
	sx.comp_mask = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD |
		       IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ;
	sx.srq_type = IBV_SRQT_XRC;
	sx.pd = pd;
	sx.xrcd = xrcd;
	sx.cq = cq;
	sx.attr.max_wr = SLOTS;
	sx.attr.max_sge = 1;
	return ibv_create_srq_ex(ctx, &sx);
}

/* Post receive buffer @slot of SRQ @i (buffers are per SRQ). */
static void post_slot(struct fix *f, int i, unsigned int slot)
{
	uint8_t *p = f->rbuf + ((size_t)i * SLOTS + slot) * SLOT;
	struct ibv_sge sg = {
		.addr = (uintptr_t)p, .length = SLOT, .lkey = f->rmr->lkey,
	};
	struct ibv_recv_wr wr = {
		.wr_id = ((uint64_t)i << 32) | slot, .sg_list = &sg,
		.num_sge = 1,
	}, *bad;
	int rc;

	memset(p, FILL, SLOT);
	rc = ibv_post_srq_recv(f->srq[i], &wr, &bad);
	CHECK(!rc, "ibv_post_srq_recv(SRQ %u): %s", f->srqn[i], strerror(rc));
	f->posted[i]++;
}

/* The XRC_SEND QP @ini on A to @tgt_qpn, the XRC_RECV QP @tgt on B. */
static void xrc_connect(struct fix *f, struct ibv_qp *ini,
			struct ibv_qp *tgt)
{
	const struct vt_path *p = &f->path;
	struct ibv_qp_attr at;
	int rc;

	rc = vt_qp_to_init(ini, 0);
	CHECK(!rc, "%s", vt_errmsg());
	rc = vt_qp_to_init(tgt, p->access);
	CHECK(!rc, "%s", vt_errmsg());

	/* XRC_RECV: as an RC responder. */
	rc = vt_qp_to_rtr(tgt, p, f->b->gid_index, ini->qp_num, 0x1234,
			  &f->a->gid);
	CHECK(!rc, "%s", vt_errmsg());
	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_RTS;
	at.timeout = p->timeout;
	at.sq_psn = 0x777;
	rc = ibv_modify_qp(tgt, &at, IBV_QP_STATE | IBV_QP_TIMEOUT |
			   IBV_QP_SQ_PSN);
	CHECK(!rc, "XRC_RECV to RTS: %s", strerror(rc));

	/* XRC_SEND: an RC requester, no responder attributes. */
	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_RTR;
	at.path_mtu = p->mtu;
	at.dest_qp_num = tgt->qp_num;
	at.rq_psn = 0x777;
	at.ah_attr.is_global = 1;
	at.ah_attr.grh.dgid = f->b->gid;
	at.ah_attr.grh.sgid_index = (uint8_t)f->a->gid_index;
	at.ah_attr.grh.hop_limit = 64;
	at.ah_attr.port_num = 1;
	rc = ibv_modify_qp(ini, &at, IBV_QP_STATE | IBV_QP_AV |
			   IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN);
	CHECK(!rc, "XRC_SEND to RTR: %s", strerror(rc));
	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_RTS;
	at.timeout = p->timeout;
	at.retry_cnt = p->retry_cnt;
	at.rnr_retry = p->rnr_retry;
	at.sq_psn = 0x1234;
	at.max_rd_atomic = p->rd_atomic;
	rc = ibv_modify_qp(ini, &at, IBV_QP_STATE | IBV_QP_TIMEOUT |
			   IBV_QP_SQ_PSN | IBV_QP_RETRY_CNT |
			   IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
	CHECK(!rc, "XRC_SEND to RTS: %s", strerror(rc));
}

static struct ibv_qp *ini_create(struct fix *f)
{
	struct ibv_qp_init_attr_ex qx;
	struct ibv_qp *qp;

	memset(&qx, 0, sizeof(qx));
	qx.qp_type = IBV_QPT_XRC_SEND;
	qx.send_cq = f->acq;
	qx.cap.max_send_wr = 64;
	qx.cap.max_send_sge = 1;
	qx.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
	qx.pd = f->apd;
	qx.send_ops_flags = IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_RDMA_WRITE |
			    IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM |
			    IBV_QP_EX_WITH_RDMA_READ |
			    IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD |
			    IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP;
	qp = ibv_create_qp_ex(f->a->ctx, &qx);
	CHECK(qp, "%s: ibv_create_qp_ex(XRC_SEND): %s", f->a->name,
	      strerror(errno));
	return qp;
}

static struct ibv_qp *tgt_create(struct ibv_context *ctx,
				 struct ibv_xrcd *xrcd)
{
	struct ibv_qp_init_attr_ex qx;

	memset(&qx, 0, sizeof(qx));
	qx.qp_type = IBV_QPT_XRC_RECV;
	qx.comp_mask = IBV_QP_INIT_ATTR_XRCD;
	qx.xrcd = xrcd;
	return ibv_create_qp_ex(ctx, &qx);
}

/* The fixture; the memory of both sides in ODP MRs when @odp. */
static struct fix *fix_open(struct tcase *tc, bool odp)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct ibv_xrcd_init_attr xa;
	int acc = odp ? IBV_ACCESS_ON_DEMAND : 0;
	int i;
	unsigned int s;

	CHECK(f, "calloc");
	tc->fx = f;
	f->fd = -1;
	f->a = tc->pair->a;
	f->b = tc->pair->b;
	vt_dev_ready(f->a);
	vt_dev_ready(f->b);
	vt_path_init(&f->path, f->a, f->b);

	f->apd = ibv_alloc_pd(f->a->ctx);
	f->bpd = ibv_alloc_pd(f->b->ctx);
	f->acq = ibv_create_cq(f->a->ctx, 128, NULL, NULL, 0);
	CHECK(f->apd && f->bpd && f->acq, "PD/CQ: %s", strerror(errno));
	for (i = 0; i < NSRQ; i++) {
		f->bcq[i] = ibv_create_cq(f->b->ctx, 64, NULL, NULL, 0);
		CHECK(f->bcq[i], "CQ: %s", strerror(errno));
	}

	f->fd = open(XRC_FILE, O_RDONLY | O_CREAT, 0600);
	CHECK(f->fd >= 0, "open(%s): %s", XRC_FILE, strerror(errno));
	memset(&xa, 0, sizeof(xa));
	xa.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS;
	xa.fd = f->fd;
	xa.oflags = O_CREAT;
	f->xrcd = ibv_open_xrcd(f->b->ctx, &xa);
	CHECK(f->xrcd, "%s: ibv_open_xrcd: %s", f->b->name, strerror(errno));

	f->sbuf = map_buf(SRC_LEN);
	f->rbuf = map_buf((size_t)NSRQ * SLOTS * SLOT);
	f->tbuf = map_buf(TGT_LEN);
	f->smr = ibv_reg_mr(f->apd, f->sbuf, SRC_LEN,
			    IBV_ACCESS_LOCAL_WRITE | acc);
	f->rmr = ibv_reg_mr(f->bpd, f->rbuf, (size_t)NSRQ * SLOTS * SLOT,
			    IBV_ACCESS_LOCAL_WRITE | acc);
	f->tmr = ibv_reg_mr(f->bpd, f->tbuf, TGT_LEN, VT_ACCESS_ALL | acc);
	CHECK(f->smr && f->rmr && f->tmr, "ibv_reg_mr%s: %s",
	      odp ? " (ODP)" : "", strerror(errno));

	for (i = 0; i < NSRQ; i++) {
		f->srq[i] = xsrq_create(f->b->ctx, f->bpd, f->xrcd, f->bcq[i]);
		CHECK(f->srq[i], "%s: ibv_create_srq_ex(XRC): %s", f->b->name,
		      strerror(errno));
		CHECK(!ibv_get_srq_num(f->srq[i], &f->srqn[i]) &&
		      f->srqn[i] && f->srqn[i] <= 0xffffff,
		      "ibv_get_srq_num: %u", f->srqn[i]);
		for (s = 0; s < SLOTS; s++)
			post_slot(f, i, s);
	}
	CHECK(f->srqn[0] != f->srqn[1], "two SRQs, one number %u",
	      f->srqn[0]);

	f->tgt = tgt_create(f->b->ctx, f->xrcd);
	CHECK(f->tgt, "%s: ibv_create_qp_ex(XRC_RECV): %s", f->b->name,
	      strerror(errno));
	f->ini = ini_create(f);
	xrc_connect(f, f->ini, f->tgt);
	return f;
}

/* One send WR on the XRC_SEND QP, waited for. */
static void xsend(struct fix *f, struct ibv_send_wr *wr, uint32_t srqn,
		  enum ibv_wc_status want, const char *what)
{
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int rc;

	wr->send_flags |= IBV_SEND_SIGNALED;
	wr->qp_type.xrc.remote_srqn = srqn;
	rc = ibv_post_send(f->ini, wr, &bad);
	CHECK(!rc, "%s: ibv_post_send: %s", what, strerror(rc));
	CHECK(vt_get_wc(f->acq, &wc, vt_wc_ms(SRC_LEN)),
	      "%s: no send completion", what);
	CHECK(wc.wr_id == wr->wr_id && wc.status == want,
	      "%s: send completion wr_id %" PRIu64 " status %s, want %s",
	      what, wc.wr_id, ibv_wc_status_str(wc.status),
	      ibv_wc_status_str(want));
}

/*
 * The receive completion of a message of @len bytes on SRQ @i: in that
 * SRQ's CQ, from A's XRC_SEND QP to B's XRC_RECV QP, the bytes as @src,
 * the rest of the buffer untouched.  Its buffer is posted again.
 */
static void expect_recv(struct fix *f, int i, const uint8_t *src,
			uint32_t len, int opcode, bool imm, uint32_t imm_data)
{
	struct ibv_wc wc;
	unsigned int slot;
	uint8_t *p;
	uint32_t k;

	CHECK(vt_get_wc(f->bcq[i], &wc, vt_wc_ms(len)),
	      "no receive completion in SRQ %u's CQ (%u bytes)", f->srqn[i],
	      len);
	CHECK(wc.status == IBV_WC_SUCCESS && (int)wc.opcode == opcode,
	      "SRQ %u: receive status %s opcode %s", f->srqn[i],
	      ibv_wc_status_str(wc.status), vt_wc_opcode_str(wc.opcode));
	CHECK((wc.wr_id >> 32) == (uint64_t)i,
	      "SRQ %u's CQ completed a WQE of another SRQ (wr_id %#" PRIx64
	      ")", f->srqn[i], wc.wr_id);
	CHECK(wc.qp_num == f->tgt->qp_num && wc.src_qp == f->ini->qp_num,
	      "receive: qp_num %u src_qp %u, want %u %u", wc.qp_num,
	      wc.src_qp, f->tgt->qp_num, f->ini->qp_num);
	CHECK(wc.byte_len == len, "receive: byte_len %u, want %u",
	      wc.byte_len, len);
	CHECK(!!(wc.wc_flags & IBV_WC_WITH_IMM) == imm &&
	      (!imm || ntohl(wc.imm_data) == imm_data),
	      "receive: wc_flags %#x imm %#x", wc.wc_flags,
	      ntohl(wc.imm_data));
	slot = (unsigned int)(wc.wr_id & 0xffffffff);
	p = f->rbuf + ((size_t)i * SLOTS + slot) * SLOT;
	if (src)
		CHECK(!memcmp(p, src, len),
		      "SRQ %u: received %u bytes differ", f->srqn[i], len);
	for (k = src ? len : 0; k < SLOT; k++)
		CHECK(p[k] == FILL, "SRQ %u: byte %u after the message written",
		      f->srqn[i], k);
	post_slot(f, i, slot);
}

static void sge_of(struct fix *f, struct ibv_sge *sg, uint32_t off,
		   uint32_t len)
{
	sg->addr = (uintptr_t)f->sbuf + off;
	sg->length = len;
	sg->lkey = f->smr->lkey;
}

/* The whole exchange of "xrc data" and "xrc odp". */
static void exchange(struct fix *f)
{
	static const uint32_t lens[] = { 1, 100, 4096, 4103, 12000, 0 };
	struct ibv_send_wr wr;
	struct ibv_sge sg;
	uint64_t v;
	unsigned int n;
	int i;

	/* SENDs alternating between the SRQs. */
	for (n = 0; n < ARRAY_SIZE(lens) * 2; n++) {
		uint32_t len = lens[n % ARRAY_SIZE(lens)];

		i = (int)(n % NSRQ);
		vt_fill(f->sbuf, len, 1000 + n);
		sge_of(f, &sg, 0, len);
		memset(&wr, 0, sizeof(wr));
		wr.wr_id = n;
		wr.opcode = IBV_WR_SEND;
		wr.sg_list = &sg;
		wr.num_sge = 1;
		xsend(f, &wr, f->srqn[i], IBV_WC_SUCCESS, "SEND");
		expect_recv(f, i, f->sbuf, len, IBV_WC_RECV, false, 0);
	}

	/* WRITE with immediate: the data in B's MR, a receive consumed. */
	vt_fill(f->sbuf, 9000, 77);
	memset(f->tbuf, 0, TGT_LEN);
	sge_of(f, &sg, 0, 9000);
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 100;
	wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
	wr.imm_data = htonl(0xc0ffee);
	wr.sg_list = &sg;
	wr.num_sge = 1;
	wr.wr.rdma.remote_addr = (uintptr_t)f->tbuf + 64;
	wr.wr.rdma.rkey = f->tmr->rkey;
	xsend(f, &wr, f->srqn[1], IBV_WC_SUCCESS, "WRITE_WITH_IMM");
	expect_recv(f, 1, NULL, 9000, IBV_WC_RECV_RDMA_WITH_IMM, true,
		    0xc0ffee);
	CHECK(!memcmp(f->tbuf + 64, f->sbuf, 9000),
	      "WRITE_WITH_IMM: the data differs");

	/* READ back what B holds, into A. */
	vt_fill(f->tbuf + 20000, 10000, 99);
	memset(f->sbuf, 0, 10000);
	sge_of(f, &sg, 0, 10000);
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 101;
	wr.opcode = IBV_WR_RDMA_READ;
	wr.sg_list = &sg;
	wr.num_sge = 1;
	wr.wr.rdma.remote_addr = (uintptr_t)f->tbuf + 20000;
	wr.wr.rdma.rkey = f->tmr->rkey;
	xsend(f, &wr, f->srqn[0], IBV_WC_SUCCESS, "READ");
	CHECK(!memcmp(f->sbuf, f->tbuf + 20000, 10000),
	      "READ: the data differs");

	/* Atomics on a word of B. */
	vt_put_u64(f->tbuf + 8, 40);
	sge_of(f, &sg, 0, 8);
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 102;
	wr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	wr.sg_list = &sg;
	wr.num_sge = 1;
	wr.wr.atomic.remote_addr = (uintptr_t)f->tbuf + 8;
	wr.wr.atomic.rkey = f->tmr->rkey;
	wr.wr.atomic.compare_add = 2;
	xsend(f, &wr, f->srqn[0], IBV_WC_SUCCESS, "FETCH_ADD");
	CHECK(vt_get_u64(f->sbuf) == 40 && vt_get_u64(f->tbuf + 8) == 42,
	      "FETCH_ADD: got %" PRIu64 ", B holds %" PRIu64,
	      vt_get_u64(f->sbuf), vt_get_u64(f->tbuf + 8));
	wr.wr_id = 103;
	wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	wr.wr.atomic.compare_add = 42;
	wr.wr.atomic.swap = 7;
	xsend(f, &wr, f->srqn[1], IBV_WC_SUCCESS, "CMP_SWAP");
	v = vt_get_u64(f->tbuf + 8);
	CHECK(vt_get_u64(f->sbuf) == 42 && v == 7,
	      "CMP_SWAP: got %" PRIu64 ", B holds %" PRIu64,
	      vt_get_u64(f->sbuf), v);

	/* The same through the extended API. */
	{
		struct ibv_qp_ex *qx = ibv_qp_to_qp_ex(f->ini);
		struct ibv_wc wc;
		int rc;

		CHECK(qx, "ibv_qp_to_qp_ex(XRC_SEND)");
		vt_fill(f->sbuf, 3000, 5);
		ibv_wr_start(qx);
		qx->wr_id = 200;
		qx->wr_flags = IBV_SEND_SIGNALED;
		ibv_wr_send(qx);
		ibv_wr_set_xrc_srqn(qx, f->srqn[1]);
		ibv_wr_set_sge(qx, f->smr->lkey, (uintptr_t)f->sbuf, 3000);
		rc = ibv_wr_complete(qx);
		CHECK(!rc, "ibv_wr_complete: %s", strerror(rc));
		CHECK(vt_get_wc(f->acq, &wc, vt_wc_ms(3000)) &&
		      wc.wr_id == 200 && wc.status == IBV_WC_SUCCESS,
		      "ibv_wr_send: completion %s",
		      ibv_wc_status_str(wc.status));
		expect_recv(f, 1, f->sbuf, 3000, IBV_WC_RECV, false, 0);
	}
}

static void test_data(void **state)
{
	struct tcase *tc = *state;

	exchange(fix_open(tc, false));
}

/*
 * A device's odp_faults: through RDMA netlink, which asks the driver each
 * time; sysfs serves cached values, seen stale here across a whole test.
 */
static uint64_t odp_faults(const struct vt_dev *d)
{
	static const char *const name[] = { "odp_faults" };
	uint64_t v = 0;

	if (d->index >= 0 && vt_nl_counters_add(d->index, name, 1, &v))
		return v;
	usleep(30000);
	CHECK(vt_hw_counter(d->name, "odp_faults", &v),
	      "%s: no odp_faults counter", d->name);
	return v;
}

static void test_odp(void **state)
{
	struct tcase *tc = *state;
	uint64_t a0, b0, a1, b1;
	struct fix *f;

	a0 = odp_faults(tc->pair->a);
	b0 = odp_faults(tc->pair->b);
	f = fix_open(tc, true);
	exchange(f);
	a1 = odp_faults(f->a);
	b1 = odp_faults(f->b);
	if (a1 <= a0 || b1 <= b0) {
		struct vt_hw_snap sn;
		char line[1024];

		vt_hw_snap(f->a->name, &sn);
		vt_hw_nonzero(&sn, line, sizeof(line));
		vt_diag("%s: %s", f->a->name, line);
		vt_hw_snap(f->b->name, &sn);
		vt_hw_nonzero(&sn, line, sizeof(line));
		vt_diag("%s: %s", f->b->name, line);
	}
	CHECK(a1 > a0 && b1 > b0,
	      "odp_faults did not move: %s %" PRIu64 " -> %" PRIu64
	      ", %s %" PRIu64 " -> %" PRIu64, f->a->name, a0, a1, f->b->name,
	      b0, b1);
}

static void test_wrong_srqn(void **state)
{
	struct tcase *tc = *state;
	struct fix *f = fix_open(tc, false);
	struct ibv_xrcd_init_attr xa;
	struct ibv_send_wr wr;
	struct ibv_xrcd *other;
	struct ibv_srq *osrq;
	struct ibv_sge sg;
	uint32_t onum;
	int round;

	/* An SRQ of another domain, on B, with receives posted. */
	memset(&xa, 0, sizeof(xa));
	xa.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS;
	xa.fd = -1;
	xa.oflags = O_CREAT;
	other = ibv_open_xrcd(f->b->ctx, &xa);
	CHECK(other, "ibv_open_xrcd (no file): %s", strerror(errno));
	osrq = xsrq_create(f->b->ctx, f->bpd, other, f->bcq[0]);
	CHECK(osrq && !ibv_get_srq_num(osrq, &onum), "SRQ in domain 2: %s",
	      strerror(errno));

	for (round = 0; round < 2; round++) {
		uint32_t srqn = round ? onum : 0xfffff0;

		if (round) {
			/* A fresh connection: the first ended in error. */
			ibv_destroy_qp(f->ini);
			ibv_destroy_qp(f->tgt);
			f->tgt = tgt_create(f->b->ctx, f->xrcd);
			CHECK(f->tgt, "XRC_RECV: %s", strerror(errno));
			f->ini = ini_create(f);
			xrc_connect(f, f->ini, f->tgt);
		}
		vt_fill(f->sbuf, 64, 3);
		sge_of(f, &sg, 0, 64);
		memset(&wr, 0, sizeof(wr));
		wr.wr_id = 7;
		wr.opcode = IBV_WR_SEND;
		wr.sg_list = &sg;
		wr.num_sge = 1;
		xsend(f, &wr, srqn, IBV_WC_REM_INV_REQ_ERR,
		      round ? "SEND to another domain's SRQ" :
			      "SEND to no SRQ");
		vt_expect_qp_state(f->tgt, f->b->name, IBV_QPS_ERR,
				   "XRC_RECV after a wrong SRQ number");
		vt_expect_no_wc(f->bcq[0], "the SRQs' CQ", 200);
		vt_expect_no_wc(f->bcq[1], "the SRQs' CQ", 0);
	}
	CHECK(!ibv_destroy_srq(osrq), "destroy SRQ of domain 2");
	CHECK(!ibv_close_xrcd(other), "close domain 2");
}

static void test_open_qp(void **state)
{
	struct tcase *tc = *state;
	struct fix *f = fix_open(tc, false);
	struct ibv_context *ctx2;
	struct ibv_qp_open_attr oa;
	struct ibv_xrcd_init_attr xa;
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr at;
	struct ibv_xrcd *x2;
	struct ibv_send_wr wr;
	struct ibv_sge sg;
	struct ibv_qp *q2;
	struct ibv_device **list;
	int i, n, rc;

	list = ibv_get_device_list(&n);
	CHECK(list, "ibv_get_device_list");
	ctx2 = NULL;
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), f->b->name))
			ctx2 = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	CHECK(ctx2, "a second context on %s", f->b->name);

	memset(&xa, 0, sizeof(xa));
	xa.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS;
	xa.fd = f->fd;
	xa.oflags = 0;
	x2 = ibv_open_xrcd(ctx2, &xa);
	CHECK(x2, "ibv_open_xrcd of the same file: %s", strerror(errno));
	memset(&oa, 0, sizeof(oa));
	oa.comp_mask = IBV_QP_OPEN_ATTR_NUM | IBV_QP_OPEN_ATTR_XRCD |
		       IBV_QP_OPEN_ATTR_TYPE;
	oa.qp_num = f->tgt->qp_num;
	oa.xrcd = x2;
	oa.qp_type = IBV_QPT_XRC_RECV;
	q2 = ibv_open_qp(ctx2, &oa);
	CHECK(q2 && q2->qp_num == f->tgt->qp_num, "ibv_open_qp(%u): %s",
	      f->tgt->qp_num, strerror(errno));
	rc = ibv_query_qp(q2, &at, IBV_QP_STATE, &init);
	CHECK(!rc && at.qp_state == IBV_QPS_RTS,
	      "query of the opened QP: rc %d state %s", rc,
	      vt_qp_state_str(at.qp_state));

	/* In use: neither the domain nor an SRQ may go. */
	CHECK(ibv_close_xrcd(f->xrcd) != 0, "domain closed with QPs in it");

	/* The creator's handle gone, the QP lives on the opened one. */
	CHECK(!ibv_destroy_qp(f->tgt), "destroy the creator's handle");
	f->tgt = q2;
	vt_fill(f->sbuf, 5000, 11);
	sge_of(f, &sg, 0, 5000);
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 9;
	wr.opcode = IBV_WR_SEND;
	wr.sg_list = &sg;
	wr.num_sge = 1;
	xsend(f, &wr, f->srqn[1], IBV_WC_SUCCESS, "SEND after open_qp");
	expect_recv(f, 1, f->sbuf, 5000, IBV_WC_RECV, false, 0);

	/* The last handle: the QP goes with it. */
	CHECK(!ibv_destroy_qp(q2), "destroy the opened handle");
	f->tgt = NULL;
	CHECK(!ibv_close_xrcd(x2), "close the second domain handle");
	CHECK(!ibv_close_device(ctx2), "close the second context");
}

static void test_caps(void **state)
{
	struct tcase *tc = *state;
	struct vt_dev *d = tc->dev;
	struct ibv_device_attr_ex ax;
	struct ibv_srq_init_attr sa;
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_send_wr swr, *sbad;
	struct ibv_xrcd_init_attr xa;
	struct ibv_qp_init_attr_ex qx;
	struct ibv_qp *tgt, *ini;
	struct ibv_xrcd *xrcd;
	struct ibv_srq *srq;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	uint32_t num;
	int rc;

	vt_dev_ready(d);
	rc = ibv_query_device_ex(d->ctx, NULL, &ax);
	CHECK(!rc, "%s: ibv_query_device_ex: %s", d->name, strerror(rc));
	CHECK(ax.orig_attr.device_cap_flags & IBV_DEVICE_XRC,
	      "%s: no IBV_DEVICE_XRC", d->name);
	CHECK((ax.xrc_odp_caps & (IBV_ODP_SUPPORT_SEND |
				  IBV_ODP_SUPPORT_SRQ_RECV)) ==
	      (IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_SRQ_RECV),
	      "%s: xrc_odp_caps 0x%x lack SEND|SRQ_RECV", d->name,
	      ax.xrc_odp_caps);

	pd = ibv_alloc_pd(d->ctx);
	cq = ibv_create_cq(d->ctx, 4, NULL, NULL, 0);
	CHECK(pd && cq, "PD/CQ: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.attr.max_wr = 4;
	sa.attr.max_sge = 1;
	srq = ibv_create_srq(pd, &sa);
	CHECK(srq, "basic SRQ: %s", strerror(errno));
	CHECK(ibv_get_srq_num(srq, &num) == EINVAL,
	      "ibv_get_srq_num of a basic SRQ did not fail with EINVAL");
	ibv_destroy_srq(srq);

	memset(&xa, 0, sizeof(xa));
	xa.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS;
	xa.fd = -1;
	xa.oflags = O_CREAT;
	xrcd = ibv_open_xrcd(d->ctx, &xa);
	CHECK(xrcd, "ibv_open_xrcd: %s", strerror(errno));
	tgt = tgt_create(d->ctx, xrcd);
	CHECK(tgt, "XRC_RECV: %s", strerror(errno));
	memset(&rwr, 0, sizeof(rwr));
	memset(&swr, 0, sizeof(swr));
	swr.opcode = IBV_WR_SEND;
	CHECK(ibv_post_recv(tgt, &rwr, &rbad) != 0 && rbad == &rwr,
	      "post_recv on an XRC_RECV QP accepted");
	CHECK(ibv_post_send(tgt, &swr, &sbad) != 0 && sbad == &swr,
	      "post_send on an XRC_RECV QP accepted");

	memset(&qx, 0, sizeof(qx));
	qx.qp_type = IBV_QPT_XRC_SEND;
	qx.send_cq = cq;
	qx.cap.max_send_wr = 4;
	qx.cap.max_send_sge = 1;
	qx.comp_mask = IBV_QP_INIT_ATTR_PD;
	qx.pd = pd;
	ini = ibv_create_qp_ex(d->ctx, &qx);
	CHECK(ini && qx.cap.max_recv_wr == 0, "XRC_SEND: %s",
	      ini ? "receive queue granted" : strerror(errno));
	CHECK(ibv_post_recv(ini, &rwr, &rbad) != 0,
	      "post_recv on an XRC_SEND QP accepted");

	CHECK(!ibv_destroy_qp(ini) && !ibv_destroy_qp(tgt),
	      "destroy the XRC QPs");
	CHECK(!ibv_close_xrcd(xrcd), "ibv_close_xrcd");
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
}

/* ---------------------------------------------------------------------- */
/* Test list and main                                                      */
/* ---------------------------------------------------------------------- */

static int tc_teardown(void **state)
{
	struct tcase *tc = *state;

	if (tc->fx) {
		fix_close(tc->fx);
		free(tc->fx);
		tc->fx = NULL;
	}
	vt_tc_free(&tc->vc);
	return 0;
}

static struct vt_tests list = {
	.prog = "xrc_test", .teardown = tc_teardown,
};
#define add_test(...)	((struct tcase *)vt_add_test(&list, __VA_ARGS__))

static void usage(void)
{
	fprintf(stderr,
		"usage: xrc_test [--ipv6] [--count] [--only GLOB[,GLOB...]] A:B...\n");
	exit(2);
}

static void add_pairing(struct pairing *pairs, unsigned int *n,
			const char *spec)
{
	char a[64], b[64];
	const char *colon = strchr(spec, ':');

	if (!colon || colon == spec || !colon[1] ||
	    (size_t)(colon - spec) >= sizeof(a) ||
	    strlen(colon + 1) >= sizeof(b) || *n == 16)
		usage();
	memcpy(a, spec, (size_t)(colon - spec));
	a[colon - spec] = '\0';
	strcpy(b, colon + 1);
	pairs[*n].a = vt_dev_get(a, use_ipv6);
	pairs[*n].b = vt_dev_get(b, use_ipv6);
	if (!pairs[*n].a || !pairs[*n].b)
		usage();
	snprintf(pairs[*n].name, sizeof(pairs[*n].name), "%s:%s%s", a, b,
		 use_ipv6 ? " ipv6" : "");
	(*n)++;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void **state);
	} kinds[] = {
		{ "xrc data", test_data },
		{ "xrc wrong srqn", test_wrong_srqn },
		{ "xrc open qp", test_open_qp },
		{ "xrc odp", test_odp },
	};
	static struct pairing pairs[16];
	unsigned int npairs = 0, i, k;
	bool count = false;
	int ai, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vt_set_fail_hook(_fail);
	for (ai = 1; ai < argc; ai++) {
		if (!strcmp(argv[ai], "--ipv6")) {
			if (vt_ndevs)
				usage();
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
	if (!npairs)
		usage();

	vt_tests_alloc(&list, vt_ndevs + npairs * ARRAY_SIZE(kinds),
		       sizeof(struct tcase));
	for (i = 0; i < vt_ndevs; i++)
		if (vt_devs[i].rodp && !use_ipv6)
			add_test(test_caps, "%s xrc caps",
				 vt_devs[i].name)->dev = &vt_devs[i];
	for (i = 0; i < npairs; i++)
		for (k = 0; k < ARRAY_SIZE(kinds); k++)
			add_test(kinds[k].fn, "%s %s", pairs[i].name,
				 kinds[k].name)->pair = &pairs[i];
	if (count) {
		printf("%u\n", list.n);
		return 0;
	}
	if (!list.n) {
		fprintf(stderr, "xrc_test: no test to run\n");
		return 2;
	}
	failed = _cmocka_run_group_tests("xrc", list.tests, list.n, NULL,
					 NULL);
	vt_devs_close();
	return failed ? 1 : 0;
}
