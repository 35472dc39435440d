// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Host unit test of the provider's QP and SRQ code (provider/rodpu_qp.c,
 * rodpu_srq.c) against a
 * fake kernel: the ibv_cmd_* helpers are replaced by stubs that lay the send
 * and receive rings out in a memfd standing in for the uverbs file, as
 * rodp.ko announces them, and count doorbells.  The test reads the WQEs
 * the provider wrote through its own mapping of the same memory, and
 * plays the kernel's part by advancing the consumer indices.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "rodpu.h"

/* ------------------------------------------------------------------ */
/* The fake kernel                                                     */
/* ------------------------------------------------------------------ */

struct fake_wq {
	uint64_t offset;
	size_t size;
	uint32_t log2_slots;
	uint32_t slot_size;
	struct rodp_ring_hdr *hdr;	/* the kernel's view */
};

static struct {
	int fd;				/* "uverbs file" = memfd */
	uint64_t next_offset;
	struct fake_wq sq, rq, srq;
	int srq_destroys;
	uint32_t start_idx;		/* initial prod = cons of new rings */
	/* knobs */
	int create_ret, destroy_ret, sq_db_ret, rq_db_ret;
	uint32_t grant_send_wr;		/* != 0: grant this many */
	uint32_t grant_inline;		/* != 0: grant this much inline */
	int no_rq;			/* announce no receive queue */
	uint32_t sq_slot_shrink;	/* make the SQ slots this much smaller */
	int bad_hdr;			/* header disagrees with the response */
	int rewind_on_reset;		/* modify to RESET zeroes the indices */
	/* what happened */
	int creates, destroys, modifies, queries, logs;
	int sq_dbs, rq_dbs;		/* doorbells (atomic) */
	bool write_refused;		/* write(2) says EACCES */
	int writes;			/* write(2) doorbells tried */
	int sq_ioctl_dbs, rq_ioctl_dbs;	/* doorbells through ioctl(2) */
	uint32_t prod_at_sq_db;		/* hdr->prod when the SQ bell rang */
	int last_attr_mask;
	int cleans;			/* rodpu_cq_clean() calls */
	uint32_t clean_qpn;		/* ... and the QP of the last */
} fk;

static struct ibv_device fake_dev = { .name = "rodp9" };
static struct rodpu_context *ctx;
static struct ibv_pd fake_pd;
static struct ibv_cq fake_cq[2];

/* As libibverbs does it. */
struct ibv_qp_ex *ibv_qp_to_qp_ex(struct ibv_qp *qp)
{
	struct verbs_qp *vqp = (struct verbs_qp *)qp;

	return (vqp->comp_mask & VERBS_QP_EX) ? &vqp->qp_ex : NULL;
}

static uint32_t log2_ceil(uint32_t n)
{
	uint32_t l = 0;

	while ((1u << l) < n)
		l++;
	return l;
}

static void fake_wq_new(struct fake_wq *q, uint32_t log2_slots,
			uint32_t slot_size)
{
	long page = sysconf(_SC_PAGESIZE);

	q->log2_slots = log2_slots;
	q->slot_size = slot_size;
	q->size = RODP_RING_HDR_SIZE + ((size_t)slot_size << log2_slots);
	q->size = (q->size + page - 1) / page * page;
	q->offset = fk.next_offset;
	fk.next_offset += q->size;
	assert_int_equal(ftruncate(fk.fd, (off_t)fk.next_offset), 0);
	q->hdr = mmap(NULL, q->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      fk.fd, (off_t)q->offset);
	assert_true(q->hdr != MAP_FAILED);
	memset(q->hdr, 0, q->size);
	q->hdr->log2_slots = fk.bad_hdr ? log2_slots + 1 : log2_slots;
	q->hdr->slot_size = slot_size;
	q->hdr->prod = fk.start_idx;
	q->hdr->cons = fk.start_idx;
}

void __verbs_log(struct verbs_context *vctx, uint32_t level,
		 const char *fmt, ...)
{
	va_list ap;

	fk.logs++;
	fprintf(stderr, "# log: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* SRQs: one ring; a resize lays a new one out, the WQEs carried over. */
int ibv_cmd_create_srq(struct ibv_pd *pd, struct ibv_srq *srq,
		       struct ibv_srq_init_attr *attr,
		       struct ibv_create_srq *cmd, size_t cmd_size,
		       struct ib_uverbs_create_srq_resp *resp,
		       size_t resp_size)
{
	struct rodp_create_srq_resp *r = (void *)(resp + 1);
	uint32_t sge = attr->attr.max_sge ? attr->attr.max_sge : 1;

	assert_int_equal(cmd_size, sizeof(struct ibv_create_srq) +
			 sizeof(struct rodp_create_srq_cmd));
	assert_int_equal(resp_size, sizeof(*resp) + sizeof(*r));
	if (fk.create_ret)
		return fk.create_ret;
	fake_wq_new(&fk.srq, log2_ceil(attr->attr.max_wr),
		    (uint32_t)(sizeof(struct rodp_rwqe) +
			       sge * sizeof(struct rodp_sge)));
	r->mi.mmap_offset = fk.srq.offset;
	r->mi.mmap_size = fk.srq.size;
	r->mi.log2_slots = fk.srq.log2_slots;
	r->mi.slot_size = fk.srq.slot_size;
	attr->attr.max_wr = 1u << fk.srq.log2_slots;
	attr->attr.max_sge = sge;
	srq->context = pd->context;
	srq->pd = pd;
	srq->handle = 9;
	return 0;
}

int ibv_cmd_modify_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
		       int srq_attr_mask, struct ibv_modify_srq *cmd,
		       size_t cmd_size)
{
	struct rodp_modify_srq_cmd *drv = (void *)(cmd + 1);
	struct rodp_srq_mmap_info *mi;
	struct fake_wq old = fk.srq;
	uint32_t prod, cons, i;

	assert_int_equal(cmd_size, sizeof(*cmd) + sizeof(*drv));
	fk.modifies++;
	if (!(srq_attr_mask & IBV_SRQ_MAX_WR))
		return 0;
	prod = old.hdr->prod;
	cons = old.hdr->cons;
	if (srq_attr->max_wr < prod - cons)
		return EINVAL;
	fake_wq_new(&fk.srq, log2_ceil(srq_attr->max_wr), old.slot_size);
	for (i = cons; i != prod; i++)
		memcpy((char *)fk.srq.hdr + RODP_RING_HDR_SIZE +
		       rcore_ring_slot_off(fk.srq.log2_slots,
					   fk.srq.slot_size, i),
		       (char *)old.hdr + RODP_RING_HDR_SIZE +
		       rcore_ring_slot_off(old.log2_slots, old.slot_size, i),
		       old.slot_size);
	fk.srq.hdr->prod = prod;
	fk.srq.hdr->cons = cons;
	mi = (void *)(uintptr_t)drv->mmap_info_addr;
	mi->mmap_offset = fk.srq.offset;
	mi->mmap_size = fk.srq.size;
	mi->log2_slots = fk.srq.log2_slots;
	mi->slot_size = fk.srq.slot_size;
	munmap(old.hdr, old.size);
	return 0;
}

int ibv_cmd_query_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
		      struct ibv_query_srq *cmd, size_t cmd_size)
{
	srq_attr->max_wr = 1u << fk.srq.log2_slots;
	srq_attr->max_sge = (fk.srq.slot_size - sizeof(struct rodp_rwqe)) /
			    sizeof(struct rodp_sge);
	srq_attr->srq_limit = 0;
	return 0;
}

int ibv_cmd_destroy_srq(struct ibv_srq *srq)
{
	fk.srq_destroys++;
	munmap(fk.srq.hdr, fk.srq.size);
	fk.srq.hdr = NULL;
	return fk.destroy_ret;
}

/* XRC needs the kernel's XRC domains: the VM suite 54-xrc tests it. */
int ibv_cmd_create_srq_ex(struct ibv_context *context, struct verbs_srq *srq,
			  struct ibv_srq_init_attr_ex *attr_ex,
			  struct ibv_create_xsrq *cmd, size_t cmd_size,
			  struct ib_uverbs_create_srq_resp *resp,
			  size_t resp_size)
{
	return EOPNOTSUPP;
}

int ibv_cmd_open_qp(struct ibv_context *context, struct verbs_qp *qp,
		    int vqp_sz, struct ibv_qp_open_attr *attr,
		    struct ibv_open_qp *cmd, size_t cmd_size,
		    struct ib_uverbs_create_qp_resp *resp, size_t resp_size)
{
	return EOPNOTSUPP;
}

int ibv_cmd_create_qp_ex(struct ibv_context *context, struct verbs_qp *qp,
			 struct ibv_qp_init_attr_ex *attr_ex,
			 struct ibv_create_qp *cmd, size_t cmd_size,
			 struct ib_uverbs_create_qp_resp *resp,
			 size_t resp_size)
{
	struct rodpu_create_qp *c = (void *)cmd;
	struct rodp_create_qp_resp *r = (void *)(resp + 1);
	struct ibv_qp_cap *cap = &attr_ex->cap;
	uint32_t log2, data;

	/* As libibverbs' legacy command: it refuses any other mask bit. */
	if (attr_ex->comp_mask & ~(uint32_t)(IBV_QP_INIT_ATTR_PD |
					     IBV_QP_INIT_ATTR_XRCD |
					     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS))
		return EINVAL;
	/* The driver parts sit right after the core ones. */
	assert_int_equal(cmd_size, sizeof(struct ibv_create_qp) +
			 sizeof(struct rodp_create_qp_cmd));
	assert_int_equal(resp_size, sizeof(struct ib_uverbs_create_qp_resp) +
			 sizeof(struct rodp_create_qp_resp));
	assert_int_equal(c->drv.reserved, 0);
	assert_true(attr_ex->comp_mask & IBV_QP_INIT_ATTR_PD);

	fk.creates++;
	if (fk.create_ret)
		return fk.create_ret;

	/* Grant what was asked for, in rings of whole powers of two. */
	if (fk.grant_inline)
		cap->max_inline_data = fk.grant_inline;
	log2 = log2_ceil(cap->max_send_wr ? cap->max_send_wr : 1);
	data = cap->max_send_sge * (uint32_t)sizeof(struct rodp_sge);
	if (cap->max_inline_data > data)
		data = cap->max_inline_data;
	fake_wq_new(&fk.sq, log2, ((uint32_t)sizeof(struct rodp_swqe) +
				   data + 63) / 64 * 64 - fk.sq_slot_shrink);
	r->sq_mmap_offset = fk.sq.offset;
	r->sq_mmap_size = fk.sq.size;
	r->sq_log2_slots = fk.sq.log2_slots;
	r->sq_slot_size = fk.sq.slot_size;
	cap->max_send_wr = fk.grant_send_wr ? fk.grant_send_wr : 1u << log2;

	if (fk.no_rq) {
		memset(&fk.rq, 0, sizeof(fk.rq));
		cap->max_recv_wr = 0;
		cap->max_recv_sge = 0;
	} else {
		log2 = log2_ceil(cap->max_recv_wr ? cap->max_recv_wr : 1);
		fake_wq_new(&fk.rq, log2, (uint32_t)sizeof(struct rodp_rwqe) +
			    cap->max_recv_sge *
			    (uint32_t)sizeof(struct rodp_sge));
		r->rq_mmap_offset = fk.rq.offset;
		r->rq_mmap_size = fk.rq.size;
		r->rq_log2_slots = fk.rq.log2_slots;
		r->rq_slot_size = fk.rq.slot_size;
		cap->max_recv_wr = 1u << log2;
	}

	/* What libibverbs fills in. */
	qp->qp.context = context;
	qp->qp.pd = attr_ex->pd;
	qp->qp.qp_type = attr_ex->qp_type;
	qp->qp.handle = 7;
	qp->qp.qp_num = 0x11;
	qp->comp_mask = 0;
	return 0;
}

int ibv_cmd_destroy_qp(struct ibv_qp *qp)
{
	fk.destroys++;
	return fk.destroy_ret;
}

/* rodpu_cq.c is not linked here: the CQ side is test_rodpu_cq.c's. */
void rodpu_cq_clean(struct ibv_cq *ibcq, uint32_t qpn)
{
	(void)ibcq;
	fk.cleans++;
	fk.clean_qpn = qpn;
}

int ibv_cmd_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
		      int attr_mask, struct ibv_modify_qp *cmd,
		      size_t cmd_size)
{
	assert_int_equal(cmd_size, sizeof(struct ibv_modify_qp));
	fk.modifies++;
	fk.last_attr_mask = attr_mask;
	/* A kernel that rewinds the rings of a QP moved to RESET. */
	if ((attr_mask & IBV_QP_STATE) && attr->qp_state == IBV_QPS_RESET &&
	    fk.rewind_on_reset) {
		fk.sq.hdr->prod = fk.sq.hdr->cons = 0;
		fk.rq.hdr->prod = fk.rq.hdr->cons = 0;
	}
	return 0;
}

int ibv_cmd_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
		     int attr_mask, struct ibv_qp_init_attr *init_attr,
		     struct ibv_query_qp *cmd, size_t cmd_size)
{
	assert_int_equal(cmd_size, sizeof(struct ibv_query_qp));
	fk.queries++;
	fk.last_attr_mask = attr_mask;
	attr->qp_state = IBV_QPS_RTS;
	return 0;
}

/*
 * Doorbells: uverbs write(2) commands without work requests.  Checks the
 * bytes as the kernel's ib_uverbs_write() reads them.
 */
int rodpu_cmd_write(struct ibv_context *ibctx, const void *cmd, size_t len)
{
	const struct ib_uverbs_cmd_hdr *hdr = cmd;
	/* POST_SEND and POST_RECV have one layout (the provider checks). */
	const struct ib_uverbs_post_send *ps = (const void *)(hdr + 1);
	bool sq = hdr->command == IB_USER_VERBS_CMD_POST_SEND;

	assert_ptr_equal(ibctx, &ctx->vctx.context);
	__atomic_fetch_add(&fk.writes, 1, __ATOMIC_RELAXED);
	if (fk.write_refused)
		return EACCES;
	assert_true(len >= sizeof(*hdr));
	assert_int_equal((size_t)hdr->in_words * 4, len);
	assert_int_equal(hdr->out_words, 1);
	if (!sq && hdr->command != IB_USER_VERBS_CMD_POST_RECV)
		fail_msg("unexpected uverbs command %u", hdr->command);
	assert_int_equal(len, sizeof(*hdr) + sizeof(*ps));
	if (ps->wr_count || ps->sge_count)
		fail_msg("%s doorbell carries work requests", sq ? "SQ" : "RQ");
	assert_int_equal(ps->wqe_size, sq ? sizeof(struct ib_uverbs_send_wr) :
					    sizeof(struct ib_uverbs_recv_wr));
	assert_int_equal(ps->qp_handle, 7);
	assert_true(ps->response != 0);
	if (!sq) {
		__atomic_fetch_add(&fk.rq_dbs, 1, __ATOMIC_RELAXED);
		return fk.rq_db_ret;
	}
	__atomic_fetch_add(&fk.sq_dbs, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&fk.prod_at_sq_db,
			 rcore_load_acquire_u32(&fk.sq.hdr->prod),
			 __ATOMIC_RELAXED);
	return fk.sq_db_ret;
}

/* The ioctl(2) doorbells, after write(2) was refused. */
int ibv_cmd_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		      struct ibv_send_wr **bad_wr)
{
	if (wr)
		fail_msg("SQ doorbell carries work requests");
	assert_non_null(bad_wr);
	assert_int_equal(ibqp->handle, 7);
	__atomic_fetch_add(&fk.sq_dbs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&fk.sq_ioctl_dbs, 1, __ATOMIC_RELAXED);
	return fk.sq_db_ret;
}

int ibv_cmd_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		      struct ibv_recv_wr **bad_wr)
{
	if (wr)
		fail_msg("RQ doorbell carries work requests");
	assert_non_null(bad_wr);
	assert_int_equal(ibqp->handle, 7);
	__atomic_fetch_add(&fk.rq_dbs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&fk.rq_ioctl_dbs, 1, __ATOMIC_RELAXED);
	return fk.rq_db_ret;
}

static struct rodp_swqe *sq_slot(uint32_t idx)
{
	return (void *)((char *)fk.sq.hdr + RODP_RING_HDR_SIZE +
			rcore_ring_slot_off(fk.sq.log2_slots, fk.sq.slot_size,
					    idx));
}

static struct rodp_sge *swqe_sge(uint32_t idx)
{
	return (void *)(sq_slot(idx) + 1);
}

static struct rodp_rwqe *rq_slot(uint32_t idx)
{
	return (void *)((char *)fk.rq.hdr + RODP_RING_HDR_SIZE +
			rcore_ring_slot_off(fk.rq.log2_slots, fk.rq.slot_size,
					    idx));
}

static uint32_t sq_prod(void)
{
	return rcore_load_acquire_u32(&fk.sq.hdr->prod) - fk.start_idx;
}

static uint32_t rq_prod(void)
{
	return rcore_load_acquire_u32(&fk.rq.hdr->prod) - fk.start_idx;
}

/* The kernel retires @n WQEs. */
static void consume(struct fake_wq *q, uint32_t n)
{
	rcore_store_release_u32(&q->hdr->cons, q->hdr->cons + n);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	fk.fd = memfd_create("rodpu-test-uverbs", 0);
	if (fk.fd < 0)
		return -1;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -1;
	ctx->vctx.context.device = &fake_dev;
	ctx->vctx.context.cmd_fd = fk.fd;
	ctx->max_inline = 512;
	memset(&fake_pd, 0, sizeof(fake_pd));
	fake_pd.context = &ctx->vctx.context;
	fake_pd.handle = 3;
	return 0;
}

static int teardown(void **state)
{
	close(fk.fd);
	free(ctx);
	return 0;
}

static const struct ibv_qp_cap default_cap = {
	.max_send_wr = 8,
	.max_recv_wr = 8,
	.max_send_sge = 4,
	.max_recv_sge = 3,
	.max_inline_data = 100,
};

static struct ibv_qp *new_qp(const struct ibv_qp_cap *cap)
{
	struct ibv_qp_init_attr attr = {
		.cap = *cap,
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp *qp;

	qp = rodpu_create_qp(&fake_pd, &attr);
	assert_non_null(qp);
	/* As ibv_modify_qp() leaves it once connected: posting is open. */
	qp->state = IBV_QPS_RTS;
	return qp;
}

static struct ibv_qp *new_qp_ex(const struct ibv_qp_cap *cap,
				uint64_t send_ops)
{
	struct ibv_qp_init_attr_ex attr = {
		.cap = *cap,
		.qp_type = IBV_QPT_RC,
		.comp_mask = IBV_QP_INIT_ATTR_PD |
			     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = &fake_pd,
		.send_ops_flags = send_ops,
	};
	struct ibv_qp *qp;

	qp = rodpu_create_qp_ex(&ctx->vctx.context, &attr);
	assert_non_null(qp);
	qp->state = IBV_QPS_RTS;
	return qp;
}

/* A send WR of one SGE. */
static struct ibv_send_wr one_wr(uint64_t wr_id, struct ibv_sge *sge)
{
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
	};

	return wr;
}

/*
 * Posting before the queue is open is an immediate EINVAL, nothing
 * published: sends before RTS, receives in RESET (the extended API
 * likewise, at wr_complete).
 */
static void test_post_state(void **state)
{
	static const enum ibv_qp_state shut[] = {
		IBV_QPS_RESET, IBV_QPS_INIT, IBV_QPS_RTR,
	};
	struct ibv_qp *qp = new_qp_ex(&default_cap, IBV_QP_EX_WITH_SEND);
	struct ibv_qp_ex *qpx = ibv_qp_to_qp_ex(qp);
	struct ibv_sge sge = { .addr = 0x1000, .length = 8, .lkey = 1 };
	struct ibv_send_wr swr = one_wr(1, &sge), *sbad = NULL;
	struct ibv_recv_wr rwr = { .wr_id = 2, .sg_list = &sge, .num_sge = 1 };
	struct ibv_recv_wr *rbad = NULL;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		qp->state = shut[i];
		assert_int_equal(rodpu_post_send(qp, &swr, &sbad), EINVAL);
		assert_ptr_equal(sbad, &swr);
		ibv_wr_start(qpx);
		qpx->wr_id = 3;
		ibv_wr_send(qpx);
		ibv_wr_set_sge(qpx, 1, 0x1000, 8);
		assert_int_equal(ibv_wr_complete(qpx), EINVAL);
		rbad = NULL;
		assert_int_equal(rodpu_post_recv(qp, &rwr, &rbad),
				 shut[i] == IBV_QPS_RESET ? EINVAL : 0);
		assert_ptr_equal(rbad, shut[i] == IBV_QPS_RESET ? &rwr : NULL);
	}
	assert_int_equal(sq_prod(), 0);
	assert_int_equal(rq_prod(), 2);
	assert_int_equal(fk.sq_dbs, 0);
	qp->state = IBV_QPS_RTS;
	assert_int_equal(rodpu_post_send(qp, &swr, &sbad), 0);
	assert_int_equal(sq_prod(), 1);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void assert_sge(const struct rodp_sge *s, uint64_t addr,
		       uint32_t length, uint32_t lkey)
{
	assert_int_equal(s->addr, addr);
	assert_int_equal(s->length, length);
	assert_int_equal(s->lkey, lkey);
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static void test_create_destroy(void **state)
{
	struct ibv_qp_init_attr attr = {
		.cap = { .max_send_wr = 5, .max_recv_wr = 3,
			 .max_send_sge = 2, .max_recv_sge = 1,
			 .max_inline_data = 40 },
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
	};
	struct ibv_qp *qp;

	qp = rodpu_create_qp(&fake_pd, &attr);
	assert_non_null(qp);
	/* The granted capabilities come back to the caller. */
	assert_int_equal(attr.cap.max_send_wr, 8);
	assert_int_equal(attr.cap.max_recv_wr, 4);
	assert_int_equal(to_rqp(qp)->sq.depth, 8);
	assert_int_equal(to_rqp(qp)->rq.depth, 4);
	assert_int_equal(to_rqp(qp)->sq.max_inline, 40);
	assert_int_equal(qp->qp_num, 0x11);
	/* Created through the legacy verb: no extended posting. */
	assert_null(ibv_qp_to_qp_ex(qp));

	assert_int_equal(rodpu_destroy_qp(qp), 0);
	assert_int_equal(fk.destroys, 1);
	assert_int_equal(fk.sq_dbs + fk.rq_dbs, 0);
}

static void test_create_unsupported(void **state)
{
	struct ibv_qp *qp;
	struct ibv_qp_init_attr attr = {
		.cap = default_cap,
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp_init_attr_ex ax = {
		.cap = default_cap,
		.qp_type = IBV_QPT_RC,
		.comp_mask = IBV_QP_INIT_ATTR_PD |
			     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = &fake_pd,
	};
	static const uint64_t bad_ops[] = {
		IBV_QP_EX_WITH_TSO,
	};
	size_t i;

	for (i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		ax.send_ops_flags = IBV_QP_EX_WITH_SEND | bad_ops[i];
		errno = 0;
		assert_null(rodpu_create_qp_ex(&ctx->vctx.context, &ax));
		assert_int_equal(errno, EOPNOTSUPP);
	}

	/* UC: sends and writes only. */
	ax.qp_type = IBV_QPT_UC;
	for (i = 0; i < 4; i++) {
		static const uint64_t uc_bad[] = {
			IBV_QP_EX_WITH_RDMA_READ,
			IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP,
			IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD,
			IBV_QP_EX_WITH_ATOMIC_WRITE,
		};

		ax.send_ops_flags = IBV_QP_EX_WITH_RDMA_WRITE | uc_bad[i];
		errno = 0;
		assert_null(rodpu_create_qp_ex(&ctx->vctx.context, &ax));
		assert_int_equal(errno, EOPNOTSUPP);
	}
	ax.qp_type = IBV_QPT_RC;

	/* The mask alone is fine (pyverbs sets it); a flag is not. */
	ax.send_ops_flags = IBV_QP_EX_WITH_SEND;
	ax.comp_mask |= IBV_QP_INIT_ATTR_CREATE_FLAGS;
	qp = rodpu_create_qp_ex(&ctx->vctx.context, &ax);
	assert_non_null(qp);
	assert_int_equal(ax.comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS,
			 IBV_QP_INIT_ATTR_CREATE_FLAGS);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
	fk.creates = 0;
	fk.destroys = 0;
	ax.create_flags = IBV_QP_CREATE_BLOCK_SELF_MCAST_LB;
	errno = 0;
	assert_null(rodpu_create_qp_ex(&ctx->vctx.context, &ax));
	assert_int_equal(errno, EOPNOTSUPP);

	ax.create_flags = 0;
	ax.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_XRCD;
	errno = 0;
	assert_null(rodpu_create_qp_ex(&ctx->vctx.context, &ax));
	assert_int_equal(errno, EINVAL);	/* an XRC domain on an RC QP */
	ax.comp_mask = IBV_QP_INIT_ATTR_PD;
	ax.qp_type = IBV_QPT_XRC_RECV;
	errno = 0;
	assert_null(rodpu_create_qp_ex(&ctx->vctx.context, &ax));
	assert_int_equal(errno, EINVAL);	/* XRC_RECV without a domain */
	ax.qp_type = IBV_QPT_RC;
	/* None of it reached the kernel. */
	assert_int_equal(fk.creates, 0);

	/* The kernel's refusal (e.g. of a UD QP) is passed through. */
	fk.create_ret = EOPNOTSUPP;
	attr.qp_type = IBV_QPT_UD;
	errno = 0;
	assert_null(rodpu_create_qp(&fake_pd, &attr));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(fk.creates, 1);
	assert_int_equal(fk.destroys, 0);
}

static void test_bad_announcements(void **state)
{
	struct ibv_qp_init_attr attr = {
		.cap = default_cap,
		.qp_type = IBV_QPT_RC,
	};

	/* SQ slots too small for the granted SGEs and inline data. */
	fk.sq_slot_shrink = 64;
	errno = 0;
	assert_null(rodpu_create_qp(&fake_pd, &attr));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fk.destroys, 1);
	fk.sq_slot_shrink = 0;

	/* More WRs granted than the ring has slots. */
	fk.grant_send_wr = 9;
	attr.cap = default_cap;
	errno = 0;
	assert_null(rodpu_create_qp(&fake_pd, &attr));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fk.destroys, 2);
	fk.grant_send_wr = 0;

	/* A ring header that disagrees with the response: unmapped, undone. */
	fk.bad_hdr = 1;
	attr.cap = default_cap;
	errno = 0;
	assert_null(rodpu_create_qp(&fake_pd, &attr));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fk.destroys, 3);
	fk.bad_hdr = 0;
	assert_true(fk.logs >= 3);
}

static void test_no_rq(void **state)
{
	struct ibv_recv_wr rwr = { .wr_id = 1 }, *bad = NULL;
	struct ibv_srq srq = {};
	struct ibv_qp_init_attr attr = {
		.cap = default_cap,
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp *qp;

	fk.no_rq = 1;
	qp = new_qp(&default_cap);
	assert_null(to_rqp(qp)->rq.hdr);
	assert_int_equal(rodpu_post_recv(qp, &rwr, &bad), EINVAL);
	assert_ptr_equal(bad, &rwr);
	assert_int_equal(rodpu_destroy_qp(qp), 0);

	/* A QP on an SRQ: the kernel gives it no receive queue. */
	attr.srq = &srq;
	qp = rodpu_create_qp(&fake_pd, &attr);
	assert_non_null(qp);
	assert_null(to_rqp(qp)->rq.hdr);
	bad = NULL;
	assert_int_equal(rodpu_post_recv(qp, &rwr, &bad), EINVAL);
	assert_ptr_equal(bad, &rwr);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_destroy_refused(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);
	struct ibv_sge sge = { .addr = 1, .length = 2, .lkey = 3 };
	struct ibv_send_wr wr = one_wr(1, &sge), *bad;

	fk.destroy_ret = EBUSY;
	assert_int_equal(rodpu_destroy_qp(qp), EBUSY);
	/* Still usable. */
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(sq_prod(), 1);
	fk.destroy_ret = 0;
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_modify_query(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_INIT };

	assert_int_equal(rodpu_modify_qp(qp, &attr, IBV_QP_STATE |
					 IBV_QP_PORT), 0);
	assert_int_equal(fk.modifies, 1);
	assert_int_equal(fk.last_attr_mask, IBV_QP_STATE | IBV_QP_PORT);
	memset(&attr, 0, sizeof(attr));
	assert_int_equal(rodpu_query_qp(qp, &attr, IBV_QP_STATE, &init), 0);
	assert_int_equal(fk.queries, 1);
	assert_int_equal(attr.qp_state, IBV_QPS_RTS);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_reset_rewind(void **state)
{
	struct ibv_sge sge = { .addr = 1, .length = 1, .lkey = 1 };
	struct ibv_send_wr wr = one_wr(1, &sge), *bad = NULL;
	struct ibv_recv_wr rwr = { .wr_id = 2 }, *rbad = NULL;
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_RESET };
	struct ibv_qp *qp;

	fk.start_idx = 5;
	fk.rewind_on_reset = 1;
	qp = new_qp(&default_cap);
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(rodpu_post_recv(qp, &rwr, &rbad), 0);
	assert_int_equal(fk.sq.hdr->prod, 6);
	assert_int_equal(fk.rq.hdr->prod, 6);

	/* Other transitions leave the indices and the CQs alone. */
	qp->send_cq = &fake_cq[0];
	qp->recv_cq = &fake_cq[0];
	attr.qp_state = IBV_QPS_ERR;
	assert_int_equal(rodpu_modify_qp(qp, &attr, IBV_QP_STATE), 0);
	assert_int_equal(fk.cleans, 0);
	attr.qp_state = IBV_QPS_RESET;
	assert_int_equal(rodpu_modify_qp(qp, &attr, IBV_QP_STATE), 0);
	/* One CQ for both queues: cleaned once, of this QP. */
	assert_int_equal(fk.cleans, 1);
	assert_int_equal(fk.clean_qpn, qp->qp_num);
	qp->recv_cq = &fake_cq[1];
	assert_int_equal(rodpu_modify_qp(qp, &attr, IBV_QP_STATE), 0);
	assert_int_equal(fk.cleans, 3);
	qp->send_cq = NULL;
	qp->recv_cq = NULL;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(rodpu_post_recv(qp, &rwr, &rbad), 0);
	assert_int_equal(fk.sq.hdr->prod, 1);
	assert_int_equal(fk.rq.hdr->prod, 1);
	assert_int_equal(sq_slot(0)->wr_id, 1);
	assert_int_equal(rq_slot(0)->wr_id, 2);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

/* ------------------------------------------------------------------ */
/* post_send                                                           */
/* ------------------------------------------------------------------ */

static void test_send_opcodes(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);
	struct ibv_sge sge = { .addr = 0x1000, .length = 64, .lkey = 0x77 };
	struct ibv_sge res = { .addr = 0x2000, .length = 8, .lkey = 0x78 };
	struct ibv_send_wr wr[8], *bad = NULL;
	struct rodp_swqe *w;
	int i;

	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 8; i++) {
		wr[i].wr_id = 100 + (uint64_t)i;
		wr[i].sg_list = &sge;
		wr[i].num_sge = 1;
		wr[i].next = i < 7 ? &wr[i + 1] : NULL;
	}
	wr[0].opcode = IBV_WR_SEND;
	wr[0].send_flags = IBV_SEND_SIGNALED | IBV_SEND_IP_CSUM;
	wr[1].opcode = IBV_WR_SEND_WITH_IMM;
	wr[1].imm_data = htobe32(0xa1b2c3d4);
	wr[1].send_flags = IBV_SEND_SOLICITED;
	wr[2].opcode = IBV_WR_RDMA_WRITE;
	wr[2].wr.rdma.remote_addr = 0x123456789abcull;
	wr[2].wr.rdma.rkey = 0x1111;
	wr[2].send_flags = IBV_SEND_FENCE;
	wr[3].opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
	wr[3].wr.rdma.remote_addr = 0x2000;
	wr[3].wr.rdma.rkey = 0x2222;
	wr[3].imm_data = htobe32(7);
	wr[4].opcode = IBV_WR_RDMA_READ;
	wr[4].wr.rdma.remote_addr = 0x3000;
	wr[4].wr.rdma.rkey = 0x3333;
	wr[5].opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	wr[5].wr.atomic.remote_addr = 0x4008;
	wr[5].wr.atomic.rkey = 0x4444;
	wr[5].wr.atomic.compare_add = 0x0102030405060708ull;
	wr[5].wr.atomic.swap = 0x1112131415161718ull;
	wr[5].sg_list = &res;
	wr[6].opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	wr[6].wr.atomic.remote_addr = 0x5000;
	wr[6].wr.atomic.rkey = 0x5555;
	wr[6].wr.atomic.compare_add = 42;
	wr[6].wr.atomic.swap = 99;	/* not carried for fetch-and-add */
	wr[6].sg_list = &res;
	wr[7].opcode = IBV_WR_SEND_WITH_INV;
	wr[7].invalidate_rkey = 0xabcdef;

	/* Fill the slots with garbage: every field must be written. */
	memset(sq_slot(0), 0xee, (size_t)fk.sq.slot_size * 8);

	assert_int_equal(rodpu_post_send(qp, wr, &bad), 0);
	assert_int_equal(sq_prod(), 8);
	/* One doorbell, after publishing all eight. */
	assert_int_equal(fk.sq_dbs, 1);
	assert_int_equal(fk.prod_at_sq_db - fk.start_idx, 8);

	for (i = 0; i < 8; i++) {
		w = sq_slot((uint32_t)i);
		assert_int_equal(w->wr_id, 100 + i);
		assert_int_equal(w->opcode, wr[i].opcode);
		assert_int_equal(w->num_sge, 1);
		assert_int_equal(w->inline_len, 0);
		assert_true(w->dest.ah == 0 && w->dest.xrc_srqn == 0);
	}
	assert_int_equal(sq_slot(0)->flags, RODP_SEND_SIGNALED);
	assert_int_equal(sq_slot(0)->imm_data, 0);
	assert_int_equal(sq_slot(0)->remote_addr, 0);
	assert_sge(swqe_sge(0), 0x1000, 64, 0x77);

	assert_int_equal(sq_slot(1)->flags, RODP_SEND_SOLICITED);
	assert_int_equal(be32toh(sq_slot(1)->imm_data), 0xa1b2c3d4);

	assert_int_equal(sq_slot(2)->flags, RODP_SEND_FENCE);
	assert_int_equal(sq_slot(2)->remote_addr, 0x123456789abcull);
	assert_int_equal(sq_slot(2)->rkey, 0x1111);
	assert_int_equal(sq_slot(2)->imm_data, 0);

	assert_int_equal(sq_slot(3)->remote_addr, 0x2000);
	assert_int_equal(sq_slot(3)->rkey, 0x2222);
	assert_int_equal(be32toh(sq_slot(3)->imm_data), 7);

	assert_int_equal(sq_slot(4)->remote_addr, 0x3000);
	assert_int_equal(sq_slot(4)->rkey, 0x3333);
	assert_sge(swqe_sge(4), 0x1000, 64, 0x77);

	w = sq_slot(5);
	assert_int_equal(w->remote_addr, 0x4008);
	assert_int_equal(w->rkey, 0x4444);
	assert_int_equal(w->compare_add, 0x0102030405060708ull);
	assert_int_equal(w->swap, 0x1112131415161718ull);
	assert_sge(swqe_sge(5), 0x2000, 8, 0x78);

	w = sq_slot(6);
	assert_int_equal(w->remote_addr, 0x5000);
	assert_int_equal(w->rkey, 0x5555);
	assert_int_equal(w->compare_add, 42);
	assert_int_equal(w->swap, 0);

	assert_int_equal(sq_slot(7)->imm_data, 0xabcdef);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

/*
 * UD: a send carries its destination (AH number, QPN, Q_Key) in the WQE;
 * RDMA, atomics and a send without an AH are refused at post.
 */
static void test_ud_send(void **state)
{
	struct ibv_qp_init_attr attr = {
		.cap = default_cap,
		.qp_type = IBV_QPT_UD,
	};
	struct rodpu_ah ah = { .num = 77 };
	struct ibv_sge sge = { .addr = 0x1000, .length = 64, .lkey = 0x77 };
	struct ibv_send_wr wr[2], bad_wr, *bad = NULL;
	struct ibv_qp *qp;
	struct rodp_swqe *w;
	static const enum ibv_wr_opcode refused[] = {
		IBV_WR_RDMA_WRITE, IBV_WR_RDMA_WRITE_WITH_IMM,
		IBV_WR_RDMA_READ, IBV_WR_ATOMIC_CMP_AND_SWP,
		IBV_WR_ATOMIC_FETCH_AND_ADD, IBV_WR_SEND_WITH_INV,
	};
	unsigned int i;

	(void)state;
	qp = rodpu_create_qp(&fake_pd, &attr);
	assert_non_null(qp);
	qp->state = IBV_QPS_RTS;

	memset(wr, 0, sizeof(wr));
	wr[0] = one_wr(1, &sge);
	wr[0].wr.ud.ah = &ah.ibv_ah;
	wr[0].wr.ud.remote_qpn = 0x123456;
	wr[0].wr.ud.remote_qkey = 0x80000000u;
	wr[0].next = &wr[1];
	wr[1] = one_wr(2, &sge);
	wr[1].opcode = IBV_WR_SEND_WITH_IMM;
	wr[1].imm_data = htobe32(5);
	wr[1].wr.ud.ah = &ah.ibv_ah;
	wr[1].wr.ud.remote_qpn = 9;
	wr[1].wr.ud.remote_qkey = 0x11223344;
	memset(sq_slot(0), 0xee, (size_t)fk.sq.slot_size * 2);
	assert_int_equal(rodpu_post_send(qp, wr, &bad), 0);
	assert_int_equal(sq_prod(), 2);
	w = sq_slot(0);
	assert_int_equal(w->dest.ah, 77);
	assert_int_equal(w->dest.remote_qpn, 0x123456);
	assert_int_equal(w->dest.remote_qkey, 0x80000000u);
	w = sq_slot(1);
	assert_int_equal(w->opcode, IBV_WR_SEND_WITH_IMM);
	assert_int_equal(w->dest.remote_qpn, 9);
	assert_int_equal(w->dest.remote_qkey, 0x11223344);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		bad_wr = one_wr(3, &sge);
		bad_wr.opcode = refused[i];
		bad_wr.wr.ud.ah = &ah.ibv_ah;
		bad = NULL;
		assert_int_equal(rodpu_post_send(qp, &bad_wr, &bad), EINVAL);
		assert_ptr_equal(bad, &bad_wr);
	}
	bad_wr = one_wr(4, &sge);
	bad_wr.wr.ud.ah = NULL;
	assert_int_equal(rodpu_post_send(qp, &bad_wr, &bad), EINVAL);
	assert_int_equal(sq_prod(), 2);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_send_sges(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);
	struct ibv_sge sge[5] = {
		{ 0x10, 1, 1 }, { 0x20, 2, 2 }, { 0x30, 3, 3 },
		{ 0x40, 4, 4 }, { 0x50, 5, 5 },
	};
	struct ibv_send_wr wr[3], *bad = NULL;
	int i;

	memset(wr, 0, sizeof(wr));
	wr[0].opcode = IBV_WR_SEND;
	wr[0].sg_list = sge;
	wr[0].num_sge = 4;		/* max_send_sge */
	wr[0].next = &wr[1];
	wr[1].opcode = IBV_WR_RDMA_WRITE;
	wr[1].num_sge = 0;		/* zero-length write */
	wr[1].next = &wr[2];
	wr[2].opcode = IBV_WR_SEND;
	wr[2].sg_list = sge;
	wr[2].num_sge = 5;		/* one too many */

	assert_int_equal(rodpu_post_send(qp, wr, &bad), EINVAL);
	assert_ptr_equal(bad, &wr[2]);
	/* The two before it are posted, and the kernel told. */
	assert_int_equal(sq_prod(), 2);
	assert_int_equal(fk.sq_dbs, 1);
	assert_int_equal(sq_slot(0)->num_sge, 4);
	for (i = 0; i < 4; i++)
		assert_sge(&swqe_sge(0)[i], sge[i].addr, sge[i].length,
			   sge[i].lkey);
	assert_int_equal(sq_slot(1)->num_sge, 0);

	/* A failing first request posts nothing and rings nothing. */
	bad = NULL;
	assert_int_equal(rodpu_post_send(qp, &wr[2], &bad), EINVAL);
	assert_ptr_equal(bad, &wr[2]);
	assert_int_equal(sq_prod(), 2);
	assert_int_equal(fk.sq_dbs, 1);

	wr[2].num_sge = -1;
	assert_int_equal(rodpu_post_send(qp, &wr[2], &bad), EINVAL);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_send_inline(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);	/* 100 inline */
	char a[30], b[50], c[20], big[101];
	struct ibv_sge sge[3] = {
		{ (uintptr_t)a, sizeof(a), 0 },
		{ (uintptr_t)b, sizeof(b), 0 },
		{ (uintptr_t)c, sizeof(c), 0 },
	};
	struct ibv_sge bsge = { (uintptr_t)big, sizeof(big), 0 };
	struct ibv_send_wr wr, *bad = NULL;
	const char *data;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	memset(big, 'x', sizeof(big));

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 9;
	wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
	wr.send_flags = IBV_SEND_INLINE | IBV_SEND_SIGNALED;
	wr.sg_list = sge;
	wr.num_sge = 3;			/* 100 bytes: exactly the limit */
	wr.wr.rdma.remote_addr = 0x9000;
	wr.wr.rdma.rkey = 0x99;
	wr.imm_data = htobe32(5);
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);

	assert_int_equal(sq_slot(0)->flags,
			 RODP_SEND_INLINE | RODP_SEND_SIGNALED);
	assert_int_equal(sq_slot(0)->num_sge, 0);
	assert_int_equal(sq_slot(0)->inline_len, 100);
	assert_int_equal(sq_slot(0)->remote_addr, 0x9000);
	data = (const char *)(sq_slot(0) + 1);
	assert_memory_equal(data, a, sizeof(a));
	assert_memory_equal(data + 30, b, sizeof(b));
	assert_memory_equal(data + 80, c, sizeof(c));

	/* The caller's buffers may be reused at once. */
	memset(a, 0, sizeof(a));
	assert_int_equal(data[0], 'a');

	/* One byte more than granted. */
	wr.sg_list = &bsge;
	wr.num_sge = 1;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	assert_ptr_equal(bad, &wr);

	/* Inline needs data to send: not for reads and atomics. */
	bsge.length = 8;
	wr.opcode = IBV_WR_RDMA_READ;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	wr.wr.atomic.remote_addr = 0x8000;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);

	/* A zero-length inline send is fine. */
	wr.opcode = IBV_WR_SEND;
	wr.num_sge = 0;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(sq_slot(1)->inline_len, 0);
	assert_int_equal(sq_slot(1)->flags, RODP_SEND_INLINE |
			 RODP_SEND_SIGNALED);
	assert_int_equal(sq_prod(), 2);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_send_bad_requests(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);
	struct ibv_sge res[2] = { { 0x100, 8, 1 }, { 0x200, 8, 1 } };
	struct ibv_send_wr wr, *bad = NULL;
	static const enum ibv_wr_opcode bad_ops[] = {
		IBV_WR_BIND_MW /* without a window */, IBV_WR_TSO,
		IBV_WR_DRIVER1, 200,
	};
	size_t i;

	memset(&wr, 0, sizeof(wr));
	wr.sg_list = res;
	wr.num_sge = 1;
	for (i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		wr.opcode = bad_ops[i];
		bad = NULL;
		assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
		assert_ptr_equal(bad, &wr);
	}

	/* Atomics: one aligned 64-bit word, one SGE of 8 bytes. */
	wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	wr.wr.atomic.remote_addr = 0x1004;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.wr.atomic.remote_addr = 0x1000;
	wr.num_sge = 2;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.num_sge = 0;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.num_sge = 1;
	res[0].length = 4;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	res[0].length = 8;

	assert_int_equal(sq_prod(), 0);
	assert_int_equal(fk.sq_dbs, 0);
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(sq_prod(), 1);

	/*
	 * ATOMIC WRITE through ibv_post_send(): its 8 bytes from one SGE
	 * of 8 bytes, at an 8-byte aligned address (RETH from wr.rdma).
	 */
	wr.opcode = IBV_WR_ATOMIC_WRITE;
	wr.wr.rdma.remote_addr = 0x2004;
	wr.wr.rdma.rkey = 0x99;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.wr.rdma.remote_addr = 0x2000;
	res[0].length = 16;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	res[0].length = 8;
	wr.num_sge = 0;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.num_sge = 1;
	assert_int_equal(sq_prod(), 1);
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(sq_prod(), 2);
	assert_int_equal(sq_slot(fk.start_idx + 1)->opcode,
			 RODP_WR_ATOMIC_WRITE);
	assert_int_equal(sq_slot(fk.start_idx + 1)->remote_addr, 0x2000);
	assert_int_equal(sq_slot(fk.start_idx + 1)->rkey, 0x99);
	assert_int_equal(sq_slot(fk.start_idx + 1)->num_sge, 1);
	wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	wr.wr.atomic.remote_addr = 0x1000;

	/* UC QPs post sends and writes, no atomics or reads. */
	qp->qp_type = IBV_QPT_UC;
	bad = NULL;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	assert_ptr_equal(bad, &wr);
	wr.opcode = IBV_WR_RDMA_READ;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.opcode = IBV_WR_RDMA_WRITE;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(sq_prod(), 3);
	wr.opcode = IBV_WR_ATOMIC_WRITE;	/* RC only */
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	assert_int_equal(sq_prod(), 3);
	wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	/* Other QP types do not post here. */
	qp->qp_type = IBV_QPT_RAW_PACKET;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EOPNOTSUPP);
	qp->qp_type = IBV_QPT_RC;
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_send_full(void **state)
{
	struct ibv_qp_cap cap = default_cap;
	struct ibv_sge sge = { .addr = 1, .length = 1, .lkey = 1 };
	struct ibv_send_wr wr[12], *bad = NULL;
	struct ibv_qp *qp;
	uint64_t next_id = 0;
	int i, round;

	/* Start just below 2^32 so the indices wrap. */
	fk.start_idx = 0xfffffffau;
	qp = new_qp(&cap);		/* 8 slots, 8 WRs granted */
	for (i = 0; i < 12; i++) {
		wr[i] = one_wr(0, &sge);
		wr[i].next = i < 11 ? &wr[i + 1] : NULL;
	}

	for (round = 0; round < 4; round++) {
		for (i = 0; i < 12; i++)
			wr[i].wr_id = next_id + (uint64_t)i;
		bad = NULL;
		assert_int_equal(rodpu_post_send(qp, wr, &bad), ENOMEM);
		assert_ptr_equal(bad, &wr[8]);
		next_id += 8;
		/* 8 now, and 3 more in each round before. */
		assert_int_equal(fk.prod_at_sq_db - fk.start_idx,
				 11u * (uint32_t)round + 8);
		/* Full: nothing more goes in, no doorbell. */
		assert_int_equal(rodpu_post_send(qp, &wr[8], &bad), ENOMEM);
		assert_int_equal(fk.sq_dbs, 2 * round + 1);
		/* The kernel retires 3: 3 more fit, in order. */
		consume(&fk.sq, 3);
		for (i = 0; i < 3; i++)
			wr[i].wr_id = next_id + (uint64_t)i;
		wr[2].next = NULL;
		assert_int_equal(rodpu_post_send(qp, wr, &bad), 0);
		wr[2].next = &wr[3];
		next_id += 3;
		assert_int_equal(sq_slot(fk.start_idx +
					 sq_prod() - 1)->wr_id, next_id - 1);
		consume(&fk.sq, 8);
	}
	assert_true(fk.sq.hdr->prod < 0xfffffffau);	/* it did wrap */
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

/* A granted max_send_wr below the ring size is what limits posting. */
static void test_send_depth(void **state)
{
	struct ibv_sge sge = { .addr = 1, .length = 1, .lkey = 1 };
	struct ibv_send_wr wr[8], *bad = NULL;
	struct ibv_qp *qp;
	int i;

	fk.grant_send_wr = 5;
	qp = new_qp(&default_cap);
	for (i = 0; i < 8; i++) {
		wr[i] = one_wr((uint64_t)i, &sge);
		wr[i].next = i < 7 ? &wr[i + 1] : NULL;
	}
	assert_int_equal(rodpu_post_send(qp, wr, &bad), ENOMEM);
	assert_ptr_equal(bad, &wr[5]);
	assert_int_equal(sq_prod(), 5);

	/* A consumer index beyond what was posted is a corrupt ring. */
	fk.sq.hdr->cons = fk.start_idx + 7;
	assert_int_equal(rodpu_post_send(qp, &wr[5], &bad), EIO);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_send_error_ring(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);
	struct ibv_sge sge = { .addr = 1, .length = 1, .lkey = 1 };
	struct ibv_send_wr wr = one_wr(1, &sge), *bad = NULL;

	/* The doorbell fails after the WQE reached the ring. */
	fk.sq_db_ret = EINVAL;
	bad = &wr;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	assert_null(bad);
	assert_int_equal(sq_prod(), 1);
	fk.sq_db_ret = 0;

	/* QP in error: even a refused post rings, so it gets flushed. */
	fk.sq.hdr->flags |= RODP_RING_F_ERROR;
	wr.opcode = IBV_WR_TSO;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	assert_int_equal(fk.sq_dbs, 2);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

/*
 * The kernel refuses write(2) once the process's credentials changed
 * since it opened the device: the doorbells go through ioctl(2) from
 * then on, for every QP of the context, and no post is lost.
 */
static void test_doorbell_fallback(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);
	struct ibv_sge sge = { .addr = 1, .length = 1, .lkey = 1 };
	struct ibv_send_wr wr = one_wr(1, &sge), *bad = NULL;
	struct ibv_recv_wr rwr = { .wr_id = 2, .sg_list = &sge,
				   .num_sge = 1 }, *rbad = NULL;

	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(fk.writes, 1);
	assert_int_equal(fk.sq_ioctl_dbs, 0);

	fk.write_refused = true;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(fk.writes, 2);
	assert_int_equal(fk.sq_ioctl_dbs, 1);
	assert_int_equal(sq_prod(), 2);

	/* No more write(2) tries, on either queue. */
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	fk.rq.hdr->flags |= RODP_RING_F_ERROR;
	assert_int_equal(rodpu_post_recv(qp, &rwr, &rbad), 0);
	assert_int_equal(fk.writes, 2);
	assert_int_equal(fk.sq_ioctl_dbs, 2);
	assert_int_equal(fk.rq_ioctl_dbs, 1);

	/* An ioctl(2) doorbell's error is the post's. */
	fk.sq_db_ret = EIO;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EIO);
	fk.sq_db_ret = 0;
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

/* ------------------------------------------------------------------ */
/* post_recv                                                           */
/* ------------------------------------------------------------------ */

static void test_recv(void **state)
{
	struct ibv_qp *qp = new_qp(&default_cap);	/* 8 x 3 SGEs */
	struct ibv_sge sge[4] = {
		{ 0x10, 100, 1 }, { 0x20, 200, 2 }, { 0x30, 300, 3 },
		{ 0x40, 400, 4 },
	};
	struct ibv_recv_wr wr[10], *bad = NULL;
	struct rodp_sge *s;
	int i;

	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 10; i++) {
		wr[i].wr_id = 500 + (uint64_t)i;
		wr[i].sg_list = sge;
		wr[i].num_sge = i % 4;		/* 0..3 */
		wr[i].next = i < 9 ? &wr[i + 1] : NULL;
	}
	memset(rq_slot(0), 0xee, (size_t)fk.rq.slot_size * 8);

	/* 8 fit; the 9th finds the queue full. */
	assert_int_equal(rodpu_post_recv(qp, wr, &bad), ENOMEM);
	assert_ptr_equal(bad, &wr[8]);
	assert_int_equal(rq_prod(), 8);
	/* Receive posting never enters the kernel on a healthy QP. */
	assert_int_equal(fk.rq_dbs, 0);
	assert_int_equal(fk.sq_dbs, 0);

	for (i = 0; i < 8; i++) {
		assert_int_equal(rq_slot((uint32_t)i)->wr_id, 500 + i);
		assert_int_equal(rq_slot((uint32_t)i)->num_sge, i % 4);
		assert_int_equal(rq_slot((uint32_t)i)->reserved, 0);
	}
	s = (void *)(rq_slot(3) + 1);
	for (i = 0; i < 3; i++)
		assert_sge(&s[i], sge[i].addr, sge[i].length, sge[i].lkey);

	/* Too many SGEs. */
	consume(&fk.rq, 8);
	wr[0].num_sge = 4;
	wr[0].next = NULL;
	assert_int_equal(rodpu_post_recv(qp, wr, &bad), EINVAL);
	assert_ptr_equal(bad, &wr[0]);
	assert_int_equal(rq_prod(), 8);

	/* QP in error: post, then ask the kernel to flush. */
	fk.rq.hdr->flags |= RODP_RING_F_ERROR;
	wr[0].num_sge = 1;
	assert_int_equal(rodpu_post_recv(qp, wr, &bad), 0);
	assert_int_equal(rq_prod(), 9);
	assert_int_equal(fk.rq_dbs, 1);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}


/* ------------------------------------------------------------------ */
/* Shared receive queues                                               */
/* ------------------------------------------------------------------ */

static struct rodp_rwqe *srq_slot(uint32_t idx)
{
	return (void *)((char *)fk.srq.hdr + RODP_RING_HDR_SIZE +
			rcore_ring_slot_off(fk.srq.log2_slots,
					    fk.srq.slot_size, idx));
}

static void test_srq(void **state)
{
	struct ibv_srq_init_attr sa = {
		.attr = { .max_wr = 6, .max_sge = 2 },
	};
	struct ibv_sge sge[3] = {
		{ 0x10, 100, 1 }, { 0x20, 200, 2 }, { 0x30, 300, 3 },
	};
	struct ibv_recv_wr wr[40], *bad = NULL;
	struct ibv_srq_attr at;
	struct ibv_srq *srq;
	struct rodp_sge *s;
	int i;

	srq = rodpu_create_srq(&fake_pd, &sa);
	assert_non_null(srq);
	assert_int_equal(sa.attr.max_wr, 8);
	assert_int_equal(sa.attr.max_sge, 2);

	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 40; i++) {
		wr[i].wr_id = 700 + (uint64_t)i;
		wr[i].sg_list = sge;
		wr[i].num_sge = i % 3;		/* 0..2 */
		wr[i].next = i < 39 ? &wr[i + 1] : NULL;
	}

	/* 8 fit; the 9th finds the SRQ full.  No system call. */
	assert_int_equal(rodpu_post_srq_recv(srq, wr, &bad), ENOMEM);
	assert_ptr_equal(bad, &wr[8]);
	assert_int_equal(fk.srq.hdr->prod, 8);
	assert_int_equal(fk.rq_dbs + fk.sq_dbs, 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(srq_slot((uint32_t)i)->wr_id, 700 + i);
		assert_int_equal(srq_slot((uint32_t)i)->num_sge, i % 3);
	}
	s = (void *)(srq_slot(2) + 1);
	assert_sge(&s[0], 0x10, 100, 1);
	assert_sge(&s[1], 0x20, 200, 2);

	/* Too many SGEs. */
	consume(&fk.srq, 3);
	wr[9].num_sge = 3;
	assert_int_equal(rodpu_post_srq_recv(srq, &wr[9], &bad), EINVAL);
	assert_ptr_equal(bad, &wr[9]);
	assert_int_equal(fk.srq.hdr->prod, 8);

	/* A resize with 5 posted: the new ring continues the indexes. */
	memset(&at, 0, sizeof(at));
	at.max_wr = 32;
	assert_int_equal(rodpu_modify_srq(srq, &at, IBV_SRQ_MAX_WR), 0);
	assert_int_equal(fk.srq.log2_slots, 5);
	assert_int_equal(srq_slot(7)->wr_id, 707);
	wr[10].num_sge = 1;
	wr[36].next = NULL;
	/* 27 more fit (32 - 5), the 28th does not. */
	assert_int_equal(rodpu_post_srq_recv(srq, &wr[10], &bad), 0);
	assert_int_equal(fk.srq.hdr->prod, 35);
	assert_int_equal(srq_slot(34)->wr_id, 736);
	wr[37].next = NULL;
	assert_int_equal(rodpu_post_srq_recv(srq, &wr[37], &bad), ENOMEM);
	assert_ptr_equal(bad, &wr[37]);

	/* Too small for what is posted: refused, the ring stays. */
	at.max_wr = 4;
	assert_int_equal(rodpu_modify_srq(srq, &at, IBV_SRQ_MAX_WR), EINVAL);
	assert_int_equal(rodpu_query_srq(srq, &at), 0);
	assert_int_equal(at.max_wr, 32);
	consume(&fk.srq, 1);
	assert_int_equal(rodpu_post_srq_recv(srq, &wr[37], &bad), 0);
	assert_int_equal(srq_slot(35)->wr_id, 737);

	/* The limit alone: no new ring. */
	at.srq_limit = 3;
	assert_int_equal(rodpu_modify_srq(srq, &at, IBV_SRQ_LIMIT), 0);
	assert_int_equal(fk.srq.log2_slots, 5);

	/* An SRQ in error takes nothing more. */
	consume(&fk.srq, 10);
	fk.srq.hdr->flags |= RODP_RING_F_ERROR;
	bad = NULL;
	assert_int_equal(rodpu_post_srq_recv(srq, &wr[38], &bad), EIO);
	assert_ptr_equal(bad, &wr[38]);
	assert_int_equal(fk.srq.hdr->prod, 36);

	assert_int_equal(rodpu_destroy_srq(srq), 0);
	assert_int_equal(fk.srq_destroys, 1);
}

/* ------------------------------------------------------------------ */
/* Extended posting                                                    */
/* ------------------------------------------------------------------ */

#define ALL_OPS	(IBV_QP_EX_WITH_RDMA_WRITE |				\
		 IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM |			\
		 IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_SEND_WITH_IMM |	\
		 IBV_QP_EX_WITH_RDMA_READ |				\
		 IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP |			\
		 IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD |			\
		 IBV_QP_EX_WITH_ATOMIC_WRITE)

/*
 * Memory window WQEs: BIND_MW (ibv_post_send and ibv_wr_bind_mw) carries
 * the window's new R_Key, the range, the MR's L_Key, the rights and the
 * window's type; LOCAL_INV and SEND_WITH_INV (ibv_wr_*) the R_Key in
 * imm_data.  A new R_Key of another index is refused.
 */
static void test_mw_wqes(void **state)
{
	struct ibv_qp *qp = new_qp_ex(&default_cap,
				      IBV_QP_EX_WITH_BIND_MW |
				      IBV_QP_EX_WITH_LOCAL_INV |
				      IBV_QP_EX_WITH_SEND_WITH_INV);
	struct ibv_qp_ex *qpx = ibv_qp_to_qp_ex(qp);
	struct ibv_mr mr = { .lkey = 0x4321 };
	struct ibv_mw mw1 = { .rkey = 0x1200, .type = IBV_MW_TYPE_1 };
	struct ibv_mw mw2 = { .rkey = 0x34ff, .type = IBV_MW_TYPE_2 };
	struct ibv_mw_bind mb = {
		.wr_id = 9, .send_flags = IBV_SEND_SIGNALED,
		.bind_info = { .mr = &mr, .addr = 0x7000, .length = 0x300,
			       .mw_access_flags = IBV_ACCESS_REMOTE_READ },
	};
	struct ibv_send_wr wr, *bad = NULL;
	struct rodp_swqe *w;

	assert_non_null(qpx);
	memset(sq_slot(0), 0xee, (size_t)fk.sq.slot_size * 8);

	/* ibv_bind_mw()'s WQE, as the provider posts it (type 1). */
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 9;
	wr.opcode = IBV_WR_BIND_MW;
	wr.send_flags = IBV_SEND_SIGNALED | IBV_SEND_INLINE;
	wr.bind_mw.mw = &mw1;
	wr.bind_mw.rkey = ibv_inc_rkey(mw1.rkey);
	wr.bind_mw.bind_info = mb.bind_info;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	w = sq_slot(0);
	assert_int_equal(w->opcode, RODP_WR_BIND_MW);
	assert_int_equal(w->flags, RODP_SEND_SIGNALED);
	assert_int_equal(w->rkey, 0x1201);
	assert_int_equal(w->remote_addr, 0x7000);
	assert_int_equal(w->compare_add, 0x300);
	assert_int_equal(w->bind.mr_lkey, 0x4321);
	assert_int_equal(w->bind.access, IBV_ACCESS_REMOTE_READ);
	assert_int_equal(w->bind.mw_type, IBV_MW_TYPE_1);
	assert_int_equal(w->num_sge, 0);
	assert_int_equal(w->inline_len, 0);

	/* Another window's index, or no window: refused. */
	wr.bind_mw.rkey = 0x1301;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);
	wr.bind_mw.mw = NULL;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), EINVAL);

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 10;
	wr.opcode = IBV_WR_LOCAL_INV;
	wr.invalidate_rkey = 0x1201;
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	w = sq_slot(1);
	assert_int_equal(w->opcode, RODP_WR_LOCAL_INV);
	assert_int_equal(w->imm_data, 0x1201);
	assert_int_equal(w->num_sge, 0);
	assert_int_equal(sq_prod(), 2);

	/* The extended API: a type 2 bind (key byte wraps), inv, send_inv. */
	ibv_wr_start(qpx);
	qpx->wr_id = 11;
	qpx->wr_flags = IBV_SEND_SIGNALED;
	mb.bind_info.mw_access_flags = IBV_ACCESS_REMOTE_WRITE |
				       IBV_ACCESS_ZERO_BASED;
	ibv_wr_bind_mw(qpx, &mw2, ibv_inc_rkey(mw2.rkey), &mb.bind_info);
	qpx->wr_id = 12;
	ibv_wr_local_inv(qpx, 0x3400);
	qpx->wr_id = 13;
	ibv_wr_send_inv(qpx, 0x3400);
	ibv_wr_set_sge(qpx, 0x55, 0x1000, 64);
	assert_int_equal(ibv_wr_complete(qpx), 0);
	assert_int_equal(sq_prod(), 5);
	w = sq_slot(2);
	assert_int_equal(w->wr_id, 11);
	assert_int_equal(w->opcode, RODP_WR_BIND_MW);
	assert_int_equal(w->rkey, 0x3400);
	assert_int_equal(w->bind.mw_type, IBV_MW_TYPE_2);
	assert_int_equal(w->bind.access, IBV_ACCESS_REMOTE_WRITE |
			 IBV_ACCESS_ZERO_BASED);
	w = sq_slot(3);
	assert_int_equal(w->opcode, RODP_WR_LOCAL_INV);
	assert_int_equal(w->imm_data, 0x3400);
	w = sq_slot(4);
	assert_int_equal(w->opcode, RODP_WR_SEND_WITH_INV);
	assert_int_equal(w->imm_data, 0x3400);
	assert_sge(swqe_sge(4), 0x1000, 64, 0x55);

	/* A bad bind fails the batch as a whole. */
	ibv_wr_start(qpx);
	ibv_wr_local_inv(qpx, 1);
	ibv_wr_bind_mw(qpx, &mw2, 0x9900, &mb.bind_info);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	assert_int_equal(sq_prod(), 5);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

static void test_wr_api(void **state)
{
	struct ibv_qp *qp = new_qp_ex(&default_cap, ALL_OPS);
	struct ibv_qp_ex *qpx = ibv_qp_to_qp_ex(qp);
	struct ibv_sge list[3] = {
		{ 0x10, 1, 11 }, { 0x20, 2, 12 }, { 0x30, 3, 13 },
	};
	char d1[10], d2[5];
	struct ibv_data_buf bufs[2] = { { d1, sizeof(d1) },
					{ d2, sizeof(d2) } };
	const char *data;

	assert_non_null(qpx);
	assert_ptr_equal(&qpx->qp_base, qp);
	memset(d1, '1', sizeof(d1));
	memset(d2, '2', sizeof(d2));
	memset(sq_slot(0), 0xee, (size_t)fk.sq.slot_size * 8);

	ibv_wr_start(qpx);
	qpx->wr_id = 1;
	qpx->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(qpx);
	ibv_wr_set_sge(qpx, 0x55, 0x1000, 64);

	qpx->wr_id = 2;
	qpx->wr_flags = IBV_SEND_SOLICITED | IBV_SEND_INLINE;
	ibv_wr_send_imm(qpx, htobe32(0xfeed));
	ibv_wr_set_sge_list(qpx, 3, list);

	qpx->wr_id = 3;
	qpx->wr_flags = IBV_SEND_INLINE;
	ibv_wr_rdma_write(qpx, 0x33, 0x3000);
	ibv_wr_set_inline_data(qpx, d1, sizeof(d1));

	qpx->wr_id = 4;
	qpx->wr_flags = 0;
	ibv_wr_rdma_write_imm(qpx, 0x44, 0x4000, htobe32(4));
	ibv_wr_set_inline_data_list(qpx, 2, bufs);

	qpx->wr_id = 5;
	ibv_wr_rdma_read(qpx, 0x55, 0x5000);
	ibv_wr_set_sge(qpx, 0x56, 0x5100, 4096);

	qpx->wr_id = 6;
	qpx->wr_flags = IBV_SEND_FENCE;
	ibv_wr_atomic_cmp_swp(qpx, 0x66, 0x6000, 11, 22);
	ibv_wr_set_sge(qpx, 0x67, 0x6100, 8);

	qpx->wr_id = 7;
	qpx->wr_flags = 0;
	ibv_wr_atomic_fetch_add(qpx, 0x77, 0x7000, 33);
	ibv_wr_set_sge(qpx, 0x78, 0x7100, 8);

	/* ATOMIC WRITE: its 8 bytes in the WQE, in memory order. */
	qpx->wr_id = 8;
	ibv_wr_atomic_write(qpx, 0x88, 0x8000, "ABCDEFGH");

	/* Nothing is visible to the kernel before wr_complete. */
	assert_int_equal(sq_prod(), 0);
	assert_int_equal(ibv_wr_complete(qpx), 0);
	assert_int_equal(sq_prod(), 8);
	assert_int_equal(fk.sq_dbs, 1);
	assert_int_equal(fk.prod_at_sq_db - fk.start_idx, 8);

	assert_int_equal(sq_slot(0)->wr_id, 1);
	assert_int_equal(sq_slot(0)->opcode, IBV_WR_SEND);
	assert_int_equal(sq_slot(0)->flags, RODP_SEND_SIGNALED);
	assert_int_equal(sq_slot(0)->num_sge, 1);
	assert_int_equal(sq_slot(0)->imm_data, 0);
	assert_int_equal(sq_slot(0)->inline_len, 0);
	assert_true(sq_slot(0)->dest.ah == 0);
	assert_sge(swqe_sge(0), 0x1000, 64, 0x55);

	/* wr_flags' INLINE does not make a WQE inline; the setter does. */
	assert_int_equal(sq_slot(1)->opcode, IBV_WR_SEND_WITH_IMM);
	assert_int_equal(sq_slot(1)->flags, RODP_SEND_SOLICITED);
	assert_int_equal(be32toh(sq_slot(1)->imm_data), 0xfeed);
	assert_int_equal(sq_slot(1)->num_sge, 3);
	assert_sge(&swqe_sge(1)[2], 0x30, 3, 13);

	assert_int_equal(sq_slot(2)->opcode, IBV_WR_RDMA_WRITE);
	assert_int_equal(sq_slot(2)->flags, RODP_SEND_INLINE);
	assert_int_equal(sq_slot(2)->rkey, 0x33);
	assert_int_equal(sq_slot(2)->remote_addr, 0x3000);
	assert_int_equal(sq_slot(2)->inline_len, 10);
	assert_int_equal(sq_slot(2)->num_sge, 0);
	assert_memory_equal(swqe_sge(2), d1, sizeof(d1));

	assert_int_equal(sq_slot(3)->opcode, IBV_WR_RDMA_WRITE_WITH_IMM);
	assert_int_equal(sq_slot(3)->flags, RODP_SEND_INLINE);
	assert_int_equal(be32toh(sq_slot(3)->imm_data), 4);
	assert_int_equal(sq_slot(3)->inline_len, 15);
	data = (const char *)swqe_sge(3);
	assert_memory_equal(data, d1, sizeof(d1));
	assert_memory_equal(data + 10, d2, sizeof(d2));

	assert_int_equal(sq_slot(4)->opcode, IBV_WR_RDMA_READ);
	assert_int_equal(sq_slot(4)->wr_id, 5);
	assert_int_equal(sq_slot(4)->rkey, 0x55);
	assert_int_equal(sq_slot(4)->remote_addr, 0x5000);
	assert_sge(swqe_sge(4), 0x5100, 4096, 0x56);

	assert_int_equal(sq_slot(5)->opcode, IBV_WR_ATOMIC_CMP_AND_SWP);
	assert_int_equal(sq_slot(5)->flags, RODP_SEND_FENCE);
	assert_int_equal(sq_slot(5)->compare_add, 11);
	assert_int_equal(sq_slot(5)->swap, 22);
	assert_sge(swqe_sge(5), 0x6100, 8, 0x67);

	assert_int_equal(sq_slot(6)->opcode, IBV_WR_ATOMIC_FETCH_AND_ADD);
	assert_int_equal(sq_slot(6)->compare_add, 33);
	assert_int_equal(sq_slot(6)->swap, 0);
	assert_int_equal(sq_slot(6)->rkey, 0x77);

	assert_int_equal(sq_slot(7)->opcode, RODP_WR_ATOMIC_WRITE);
	assert_int_equal(sq_slot(7)->rkey, 0x88);
	assert_int_equal(sq_slot(7)->remote_addr, 0x8000);
	assert_int_equal(sq_slot(7)->num_sge, 0);
	assert_int_equal(sq_slot(7)->flags, 0);
	assert_memory_equal(&sq_slot(7)->compare_add, "ABCDEFGH", 8);

	/* An empty batch publishes nothing and rings nothing. */
	ibv_wr_start(qpx);
	assert_int_equal(ibv_wr_complete(qpx), 0);
	assert_int_equal(fk.sq_dbs, 1);
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

/* A failed batch posts nothing, and leaves the QP usable. */
static void test_wr_api_errors(void **state)
{
	struct ibv_qp *qp = new_qp_ex(&default_cap, IBV_QP_EX_WITH_SEND);
	struct ibv_qp_ex *qpx = ibv_qp_to_qp_ex(qp);
	struct ibv_sge sge = { .addr = 1, .length = 1, .lkey = 1 };
	struct ibv_send_wr wr = one_wr(77, &sge), *bad = NULL;
	struct ibv_sge five[5] = {};
	char big[101] = {};
	int i;

	assert_non_null(qpx);

	/* Queue full in the middle: the whole batch fails. */
	ibv_wr_start(qpx);
	for (i = 0; i < 9; i++) {
		ibv_wr_send(qpx);
		ibv_wr_set_sge(qpx, 1, 1, 1);
	}
	assert_int_equal(ibv_wr_complete(qpx), ENOMEM);
	assert_int_equal(sq_prod(), 0);
	assert_int_equal(fk.sq_dbs, 0);

	/* Inline data longer than granted. */
	ibv_wr_start(qpx);
	ibv_wr_send(qpx);
	ibv_wr_set_inline_data(qpx, big, sizeof(big));
	ibv_wr_send(qpx);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);

	/* Too many SGEs; a setter before any builder. */
	ibv_wr_start(qpx);
	ibv_wr_send(qpx);
	ibv_wr_set_sge_list(qpx, 5, five);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	ibv_wr_start(qpx);
	ibv_wr_set_sge(qpx, 1, 1, 1);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);

	/* Inline on a read, an atomic without result buffer or misaligned. */
	ibv_wr_start(qpx);
	ibv_wr_rdma_read(qpx, 1, 0x100);
	ibv_wr_set_inline_data(qpx, big, 4);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	ibv_wr_start(qpx);
	ibv_wr_atomic_fetch_add(qpx, 1, 0x100, 1);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	ibv_wr_start(qpx);
	ibv_wr_atomic_fetch_add(qpx, 1, 0x100, 1);
	ibv_wr_send(qpx);
	ibv_wr_set_sge(qpx, 1, 1, 1);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	ibv_wr_start(qpx);
	ibv_wr_atomic_cmp_swp(qpx, 1, 0x104, 1, 2);
	ibv_wr_set_sge(qpx, 1, 0x200, 8);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	ibv_wr_start(qpx);
	ibv_wr_atomic_cmp_swp(qpx, 1, 0x100, 1, 2);
	ibv_wr_set_sge(qpx, 1, 0x200, 16);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);

	/* ATOMIC WRITE: misaligned; with an SGE or inline data of its own. */
	ibv_wr_start(qpx);
	ibv_wr_atomic_write(qpx, 1, 0x104, "ABCDEFGH");
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	ibv_wr_start(qpx);
	ibv_wr_atomic_write(qpx, 1, 0x100, "ABCDEFGH");
	ibv_wr_set_sge(qpx, 1, 0x200, 8);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);
	ibv_wr_start(qpx);
	ibv_wr_atomic_write(qpx, 1, 0x100, "ABCDEFGH");
	ibv_wr_set_inline_data(qpx, big, 8);
	assert_int_equal(ibv_wr_complete(qpx), EINVAL);

	/* Builders rodp does not offer fail the batch. */
	ibv_wr_start(qpx);
	ibv_wr_send(qpx);
	ibv_wr_set_sge(qpx, 1, 1, 1);
	ibv_wr_send_tso(qpx, NULL, 0, 0);
	assert_int_equal(ibv_wr_complete(qpx), EOPNOTSUPP);
	ibv_wr_start(qpx);
	ibv_wr_set_ud_addr(qpx, NULL, 1, 1);
	assert_int_equal(ibv_wr_complete(qpx), EOPNOTSUPP);

	assert_int_equal(sq_prod(), 0);
	assert_int_equal(fk.sq_dbs, 0);

	/* Abort drops the batch and lets go of the queue. */
	ibv_wr_start(qpx);
	qpx->wr_id = 66;
	ibv_wr_send(qpx);
	ibv_wr_set_sge(qpx, 1, 1, 1);
	ibv_wr_abort(qpx);
	assert_int_equal(sq_prod(), 0);
	assert_int_equal(rodpu_post_send(qp, &wr, &bad), 0);
	assert_int_equal(sq_prod(), 1);
	assert_int_equal(sq_slot(fk.start_idx)->wr_id, 77);

	/* Batches after failed ones work, from where the queue was. */
	ibv_wr_start(qpx);
	qpx->wr_id = 88;
	qpx->wr_flags = IBV_SEND_INLINE;	/* but no inline data set */
	ibv_wr_send(qpx);
	assert_int_equal(ibv_wr_complete(qpx), 0);
	assert_int_equal(sq_prod(), 2);
	assert_int_equal(sq_slot(fk.start_idx + 1)->wr_id, 88);
	assert_int_equal(sq_slot(fk.start_idx + 1)->num_sge, 0);
	assert_int_equal(sq_slot(fk.start_idx + 1)->flags, 0);

	/* A doorbell error is the batch's result. */
	fk.sq_db_ret = EIO;
	ibv_wr_start(qpx);
	ibv_wr_send(qpx);
	assert_int_equal(ibv_wr_complete(qpx), EIO);
	fk.sq_db_ret = 0;
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

/* ------------------------------------------------------------------ */
/* Several posting threads against a consuming "kernel"                */
/* ------------------------------------------------------------------ */

#define MT_THREADS	2
#define MT_PER_THREAD	100000u

struct mt_arg {
	struct ibv_qp *qp;
	unsigned int id;
};

static void *mt_poster(void *p)
{
	struct mt_arg *a = p;
	struct ibv_sge sge = { .addr = 1, .length = 1, .lkey = 1 };
	struct ibv_send_wr wr[2], *bad;
	struct ibv_qp_ex *qpx = ibv_qp_to_qp_ex(a->qp);
	uint32_t n = 0;
	int ret;

	wr[0] = one_wr(0, &sge);
	wr[1] = one_wr(0, &sge);
	wr[0].next = &wr[1];
	while (n < MT_PER_THREAD) {
		wr[0].wr_id = (uint64_t)a->id << 32 | n;
		wr[1].wr_id = (uint64_t)a->id << 32 | (n + 1);
		if (n % 4 == 0) {
			/* Alternate with the extended interface. */
			ibv_wr_start(qpx);
			qpx->wr_id = wr[0].wr_id;
			ibv_wr_send(qpx);
			qpx->wr_id = wr[1].wr_id;
			ibv_wr_send(qpx);
			ret = ibv_wr_complete(qpx);
			if (!ret)
				n += 2;
		} else {
			bad = NULL;
			ret = rodpu_post_send(a->qp, wr, &bad);
			if (!ret)
				n += 2;
			else if (bad == &wr[1])
				n += 1;
		}
		if (ret && ret != ENOMEM)
			return (void *)(uintptr_t)1;
		if (ret)
			sched_yield();
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct ibv_qp_cap cap = default_cap;
	struct mt_arg args[MT_THREADS];
	pthread_t th[MT_THREADS];
	uint32_t next[MT_THREADS] = {};
	uint32_t cons, prod, total = 0;
	struct ibv_qp *qp;
	void *res;
	int i;

	cap.max_send_wr = 16;
	qp = new_qp_ex(&cap, IBV_QP_EX_WITH_SEND);
	for (i = 0; i < MT_THREADS; i++) {
		args[i].qp = qp;
		args[i].id = (unsigned int)i;
		assert_int_equal(pthread_create(&th[i], NULL, mt_poster,
						&args[i]), 0);
	}

	/* The kernel: every WQE once, each thread's in its order. */
	cons = fk.sq.hdr->cons;
	while (total < MT_THREADS * MT_PER_THREAD) {
		prod = rcore_load_acquire_u32(&fk.sq.hdr->prod);
		assert_true(prod - cons <= 16);
		for (; cons != prod; cons++) {
			uint64_t id = sq_slot(cons)->wr_id;
			uint32_t t = (uint32_t)(id >> 32);

			assert_true(t < MT_THREADS);
			assert_int_equal((uint32_t)id, next[t]);
			next[t]++;
			total++;
		}
		rcore_store_release_u32(&fk.sq.hdr->cons, cons);
		if (prod == cons)
			sched_yield();
	}
	for (i = 0; i < MT_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &res), 0);
		assert_null(res);
		assert_int_equal(next[i], MT_PER_THREAD);
	}
	assert_int_equal(rodpu_destroy_qp(qp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_post_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create_destroy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create_unsupported, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_announcements, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_rq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_modify_query, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_rewind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_opcodes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_sges, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_inline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_bad_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_depth, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_doorbell_fallback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_error_ring, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ud_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wr_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mw_wqes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wr_api_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
