// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Host unit test of the provider's CQ code (provider/rodpu_cq.c) against a
 * fake kernel: the ibv_cmd_* helpers are replaced by stubs that lay CQ rings
 * out in a memfd standing in for the uverbs file, exactly as rodp.ko
 * announces them, and the test produces completions into the rings
 * through its own mapping of the same memory.
 */
#define _GNU_SOURCE
#include <endian.h>
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

struct fake_ring {
	uint64_t offset;
	size_t size;
	uint32_t slots;
	struct rodp_ring_hdr *hdr;	/* the kernel's view */
	uint32_t prod;
};

static struct {
	int fd;				/* "uverbs file" = memfd */
	uint64_t next_offset;
	struct fake_ring ring;		/* the last ring handed out */
	struct fake_ring old_ring;	/* before the last resize */
	uint32_t start_idx;		/* prod = cons of a new ring */
	uint32_t bad_slot_size;		/* != 0: write this into the header */
	uint32_t bad_num_cqe;		/* != 0: announce this many entries */
	int create_ret, destroy_ret, resize_ret;
	int creates, destroys, notifies, last_solicited, logs;
} fk;

static struct ibv_device fake_dev = { .name = "rodp9" };
static struct rodpu_context *ctx;

static void fake_ring_new(struct fake_ring *r, uint32_t cqe)
{
	uint32_t slots = 1;
	long page = sysconf(_SC_PAGESIZE);

	while (slots < cqe)
		slots <<= 1;
	r->slots = slots;
	r->size = RODP_RING_HDR_SIZE +
		  (size_t)slots * sizeof(struct rodp_cqe);
	r->size = (r->size + page - 1) / page * page;
	r->offset = fk.next_offset;
	fk.next_offset += r->size;
	assert_int_equal(ftruncate(fk.fd, (off_t)fk.next_offset), 0);
	r->hdr = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      fk.fd, (off_t)r->offset);
	assert_true(r->hdr != MAP_FAILED);
	memset(r->hdr, 0, r->size);
	r->hdr->log2_slots = (uint32_t)__builtin_ctz(slots);
	r->hdr->slot_size = fk.bad_slot_size ? fk.bad_slot_size :
					       sizeof(struct rodp_cqe);
	r->prod = fk.start_idx;
	r->hdr->prod = fk.start_idx;
	r->hdr->cons = fk.start_idx;
}

static void fake_announce(struct fake_ring *r, void *drv)
{
	struct rodp_create_cq_resp *resp = drv;

	resp->mmap_offset = r->offset;
	resp->mmap_size = r->size;
	resp->num_cqe = fk.bad_num_cqe ? fk.bad_num_cqe : r->slots;
}

/* Kernel side of a completion: fill the slot, then publish prod. */
static void produce(uint32_t n, uint64_t wr_id_base)
{
	struct fake_ring *r = &fk.ring;
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct rodp_cqe *e = (void *)((char *)r->hdr +
			RODP_RING_HDR_SIZE +
			rcore_ring_slot_off(r->hdr->log2_slots,
					    sizeof(struct rodp_cqe), r->prod));

		memset(e, 0, sizeof(*e));
		e->wr_id = wr_id_base + i;
		e->status = IBV_WC_SUCCESS;
		e->opcode = IBV_WC_RECV;
		e->byte_len = 100 + i;
		e->qp_num = 17;
		r->prod++;
	}
	rcore_store_release_u32(&r->hdr->prod, r->prod);
}

static struct rodp_cqe *slot_at(struct fake_ring *r, uint32_t idx)
{
	return (void *)((char *)r->hdr + RODP_RING_HDR_SIZE +
			rcore_ring_slot_off(r->hdr->log2_slots,
					    sizeof(struct rodp_cqe), idx));
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

int ibv_cmd_create_cq(struct ibv_context *context, int cqe,
		      struct ibv_comp_channel *channel, int comp_vector,
		      struct ibv_cq *cq, struct ibv_create_cq *cmd,
		      size_t cmd_size, struct ib_uverbs_create_cq_resp *resp,
		      size_t resp_size)
{
	struct rodpu_create_cq *c = (void *)cmd;

	/* The driver parts sit right after the core ones. */
	assert_int_equal(cmd_size, sizeof(struct ibv_create_cq) +
			 sizeof(struct rodp_create_cq_cmd));
	assert_int_equal(resp_size, sizeof(struct ib_uverbs_create_cq_resp) +
			 sizeof(struct rodp_create_cq_resp));
	assert_int_equal(c->drv.reserved, 0);

	fk.creates++;
	if (fk.create_ret)
		return fk.create_ret;
	fake_ring_new(&fk.ring, (uint32_t)cqe);
	fake_announce(&fk.ring, (char *)resp + sizeof(*resp));
	cq->context = context;
	cq->cqe = (int)fk.ring.slots;
	return 0;
}

int ibv_cmd_create_cq_ex(struct ibv_context *context,
			 const struct ibv_cq_init_attr_ex *cq_attr,
			 struct verbs_cq *cq, struct ibv_create_cq_ex *cmd,
			 size_t cmd_size,
			 struct ib_uverbs_ex_create_cq_resp *resp,
			 size_t resp_size, uint32_t cmd_flags)
{
	assert_int_equal(cmd_size, sizeof(struct ibv_create_cq_ex) +
			 sizeof(struct rodp_create_cq_cmd));
	assert_int_equal(resp_size,
			 sizeof(struct ib_uverbs_ex_create_cq_resp) +
			 sizeof(struct rodp_create_cq_resp));
	assert_int_equal(cmd_flags, 0);

	fk.creates++;
	if (fk.create_ret)
		return fk.create_ret;
	fake_ring_new(&fk.ring, cq_attr->cqe);
	fake_announce(&fk.ring, (char *)resp + sizeof(*resp));
	cq->cq.context = context;
	cq->cq.cqe = (int)fk.ring.slots;
	return 0;
}

int ibv_cmd_destroy_cq(struct ibv_cq *cq)
{
	fk.destroys++;
	return fk.destroy_ret;
}

int ibv_cmd_req_notify_cq(struct ibv_cq *cq, int solicited_only)
{
	fk.notifies++;
	fk.last_solicited = solicited_only;
	return 0;
}

/* Like the kernel: move the unconsumed entries to a new ring. */
int ibv_cmd_resize_cq(struct ibv_cq *cq, int cqe, struct ibv_resize_cq *cmd,
		      size_t cmd_size, struct ib_uverbs_resize_cq_resp *resp,
		      size_t resp_size)
{
	struct fake_ring *old = &fk.old_ring;
	uint32_t cons, n, i;

	assert_int_equal(resp_size, sizeof(*resp) +
			 sizeof(struct rodp_resize_cq_resp));
	if (fk.resize_ret)
		return fk.resize_ret;

	*old = fk.ring;
	cons = rcore_load_acquire_u32(&old->hdr->cons);
	n = old->prod - cons;
	fk.start_idx = 0;
	fake_ring_new(&fk.ring, (uint32_t)cqe);
	for (i = 0; i < n; i++)
		*slot_at(&fk.ring, i) = *slot_at(old, cons + i);
	fk.ring.prod = n;
	fk.ring.hdr->prod = n;
	fake_announce(&fk.ring, (char *)resp + sizeof(*resp));
	cq->cqe = (int)fk.ring.slots;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
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
	return 0;
}

static int teardown(void **state)
{
	close(fk.fd);
	free(ctx);
	return 0;
}

static struct ibv_cq *new_cq(int cqe)
{
	struct ibv_cq *cq;

	cq = rodpu_create_cq(&ctx->vctx.context, cqe, NULL, 0);
	assert_non_null(cq);
	return cq;
}

static void test_empty(void **state)
{
	struct ibv_wc wc[4];
	struct ibv_cq *cq = new_cq(5);

	assert_int_equal(cq->cqe, 8);
	assert_int_equal(rodpu_poll_cq(cq, 4, wc), 0);
	assert_int_equal(rodpu_poll_cq(cq, 0, wc), 0);
	assert_int_equal(rodpu_poll_cq(cq, -1, wc), 0);
	assert_int_equal(rodpu_req_notify_cq(cq, 1), 0);
	assert_int_equal(fk.last_solicited, 1);
	assert_int_equal(rodpu_destroy_cq(cq), 0);
	assert_int_equal(fk.destroys, 1);
}

static void test_fields(void **state)
{
	struct ibv_cq *cq = new_cq(4);
	struct rodp_cqe *e;
	struct ibv_wc wc[2];

	e = slot_at(&fk.ring, 0);
	e->wr_id = 0x1122334455667788ull;
	e->status = IBV_WC_REM_ACCESS_ERR;
	e->opcode = IBV_WC_RECV_RDMA_WITH_IMM;
	e->vendor_err = 0x55;
	e->byte_len = 4096;
	e->imm_data = htobe32(0xdeadbeef);
	e->qp_num = 0x123456;
	e->src_qp = 0x654321;
	e->wc_flags = 1 << 1 | 1 << 0;		/* IB_WC_WITH_IMM | GRH */
	e->pkey_index = 3;
	e->slid = 0x77;
	e->sl = 5;
	e->dlid_path_bits = 9;
	e = slot_at(&fk.ring, 1);
	e->wr_id = 2;
	e->wc_flags = 1 << 2 | 1 << 3;	/* WITH_INVALIDATE | IP_CSUM_OK */
	e->imm_data = 0xabcd;		/* the invalidated rkey */
	fk.ring.prod = 2;
	rcore_store_release_u32(&fk.ring.hdr->prod, 2);

	memset(wc, 0xa5, sizeof(wc));
	assert_int_equal(rodpu_poll_cq(cq, 2, wc), 2);
	assert_int_equal(wc[0].wr_id, 0x1122334455667788ull);
	assert_int_equal(wc[0].status, IBV_WC_REM_ACCESS_ERR);
	assert_int_equal(wc[0].opcode, IBV_WC_RECV_RDMA_WITH_IMM);
	assert_int_equal(wc[0].vendor_err, 0x55);
	assert_int_equal(wc[0].byte_len, 4096);
	assert_int_equal(be32toh(wc[0].imm_data), 0xdeadbeef);
	assert_int_equal(wc[0].qp_num, 0x123456);
	assert_int_equal(wc[0].src_qp, 0x654321);
	assert_int_equal(wc[0].wc_flags, IBV_WC_WITH_IMM | IBV_WC_GRH);
	assert_int_equal(wc[0].pkey_index, 3);
	assert_int_equal(wc[0].slid, 0x77);
	assert_int_equal(wc[0].sl, 5);
	assert_int_equal(wc[0].dlid_path_bits, 9);
	assert_int_equal(wc[1].wr_id, 2);
	assert_int_equal(wc[1].wc_flags, IBV_WC_WITH_INV | IBV_WC_IP_CSUM_OK);
	assert_int_equal(wc[1].invalidated_rkey, 0xabcd);
	assert_int_equal(fk.ring.hdr->cons, 2);
	assert_int_equal(rodpu_destroy_cq(cq), 0);
}

static void test_order_and_wrap(void **state)
{
	struct ibv_cq *cq;
	struct ibv_wc wc[8];
	uint64_t next = 0;
	int round, n, i;

	/* Start just below 2^32 so the indices wrap during the test. */
	fk.start_idx = 0xfffffff0u;
	cq = new_cq(8);
	for (round = 0; round < 10; round++) {
		produce(8, next);		/* a full ring */
		n = rodpu_poll_cq(cq, 3, wc);
		assert_int_equal(n, 3);
		for (i = 0; i < n; i++)
			assert_int_equal(wc[i].wr_id, next++);
		n = rodpu_poll_cq(cq, 8, wc);
		assert_int_equal(n, 5);
		for (i = 0; i < n; i++)
			assert_int_equal(wc[i].wr_id, next++);
		assert_int_equal(rodpu_poll_cq(cq, 8, wc), 0);
		assert_int_equal(fk.ring.hdr->cons, fk.ring.prod);
	}
	assert_true(fk.ring.prod < 0xfffffff0u);	/* it did wrap */
	assert_int_equal(rodpu_destroy_cq(cq), 0);
}

static void test_error_ring(void **state)
{
	struct ibv_cq *cq = new_cq(4);
	struct ibv_wc wc[4];

	produce(2, 40);
	fk.ring.hdr->flags |= RODP_RING_F_ERROR;
	/* What was completed before the error is still delivered... */
	assert_int_equal(rodpu_poll_cq(cq, 4, wc), 2);
	assert_int_equal(wc[1].wr_id, 41);
	/* ...then polling reports the error instead of "empty". */
	errno = 0;
	assert_int_equal(rodpu_poll_cq(cq, 4, wc), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(rodpu_destroy_cq(cq), 0);
}

static void test_corrupt_prod(void **state)
{
	struct ibv_cq *cq = new_cq(4);
	struct ibv_wc wc[4];

	rcore_store_release_u32(&fk.ring.hdr->prod, 5);	/* > 4 slots */
	errno = 0;
	assert_int_equal(rodpu_poll_cq(cq, 4, wc), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(fk.ring.hdr->cons, 0);
	assert_int_equal(rodpu_destroy_cq(cq), 0);
}

static void test_cq_ex(void **state)
{
	struct ibv_cq_init_attr_ex attr = {
		.cqe = 4,
		.wc_flags = IBV_WC_STANDARD_FLAGS |
			    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |
			    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK,
	};
	struct ibv_poll_cq_attr pattr = {};
	struct ibv_cq_ex *cq;
	struct ibv_wc wc[4];

	cq = rodpu_create_cq_ex(&ctx->vctx.context, &attr);
	assert_non_null(cq);

	assert_int_equal(cq->start_poll(cq, &pattr), ENOENT);
	/* ENOENT released the lock: a plain poll must not hang. */
	assert_int_equal(rodpu_poll_cq(ibv_cq_ex_to_cq(cq), 4, wc), 0);

	produce(3, 70);
	slot_at(&fk.ring, 1)->wc_flags = 1 << 2;	/* WITH_INVALIDATE */
	slot_at(&fk.ring, 0)->ts_mono = 0x1122334455667788ull;
	slot_at(&fk.ring, 0)->ts_real = 0x0102030405060708ull;
	assert_int_equal(cq->start_poll(cq, &pattr), 0);
	assert_int_equal(cq->wr_id, 70);
	assert_int_equal(cq->status, IBV_WC_SUCCESS);
	assert_int_equal(cq->read_opcode(cq), IBV_WC_RECV);
	assert_int_equal(cq->read_byte_len(cq), 100);
	assert_int_equal(cq->read_qp_num(cq), 17);
	assert_true(cq->read_completion_ts(cq) == 0x1122334455667788ull);
	assert_true(cq->read_completion_wallclock_ns(cq) ==
		    0x0102030405060708ull);
	assert_int_equal(cq->next_poll(cq), 0);
	assert_int_equal(cq->wr_id, 71);
	assert_int_equal(cq->read_wc_flags(cq), IBV_WC_WITH_INV);
	/* Entries are handed back to the kernel as polling moves on. */
	assert_int_equal(fk.ring.hdr->cons, 1);
	assert_int_equal(cq->next_poll(cq), 0);
	assert_int_equal(cq->wr_id, 72);
	assert_int_equal(cq->next_poll(cq), ENOENT);
	cq->end_poll(cq);
	assert_int_equal(fk.ring.hdr->cons, 3);

	/* end_poll right after start_poll consumes exactly one entry. */
	produce(2, 80);
	assert_int_equal(cq->start_poll(cq, &pattr), 0);
	cq->end_poll(cq);
	assert_int_equal(rodpu_poll_cq(ibv_cq_ex_to_cq(cq), 4, wc), 1);
	assert_int_equal(wc[0].wr_id, 81);

	pattr.comp_mask = 1;
	assert_int_equal(cq->start_poll(cq, &pattr), EINVAL);
	assert_int_equal(rodpu_destroy_cq(ibv_cq_ex_to_cq(cq)), 0);
}

/*
 * A QP gone to RESET leaves no completions: rodpu_cq_clean() drops its
 * entries, the others keep their order, wrapping included, and entries
 * the kernel adds afterwards are untouched.
 */
static void test_clean(void **state)
{
	static const uint32_t qpn[7] = { 5, 17, 5, 5, 17, 17, 5 };
	struct ibv_cq *cq = new_cq(8);
	struct ibv_wc wc[8];
	uint32_t i;

	produce(6, 0);
	assert_int_equal(rodpu_poll_cq(cq, 6, wc), 6);	/* cons at 6 */
	produce(7, 100);			/* slots 6, 7, 0 .. 4 */
	for (i = 0; i < 7; i++)
		slot_at(&fk.ring, 6 + i)->qp_num = qpn[i];
	rodpu_cq_clean(cq, 5);
	assert_int_equal(fk.ring.hdr->cons, 10);
	produce(1, 200);
	assert_int_equal(rodpu_poll_cq(cq, 8, wc), 4);
	assert_int_equal(wc[0].wr_id, 101);
	assert_int_equal(wc[1].wr_id, 104);
	assert_int_equal(wc[2].wr_id, 105);
	assert_int_equal(wc[3].wr_id, 200);
	for (i = 0; i < 3; i++)
		assert_int_equal(wc[i].qp_num, 17);

	/* Nothing of the QP: nothing moves. */
	produce(2, 300);
	rodpu_cq_clean(cq, 99);
	assert_int_equal(fk.ring.hdr->cons, 14);
	assert_int_equal(rodpu_poll_cq(cq, 8, wc), 2);
	assert_int_equal(wc[1].wr_id, 301);
	assert_int_equal(rodpu_destroy_cq(cq), 0);
}

static void test_cq_ex_unsupported(void **state)
{
	struct ibv_cq_init_attr_ex attr = {
		.cqe = 4,
		.wc_flags = IBV_WC_EX_WITH_FLOW_TAG,
	};

	errno = 0;
	assert_null(rodpu_create_cq_ex(&ctx->vctx.context, &attr));
	assert_int_equal(errno, EOPNOTSUPP);

	attr.wc_flags = 0;
	attr.comp_mask = IBV_CQ_INIT_ATTR_MASK_FLAGS;
	attr.flags = IBV_CREATE_CQ_ATTR_IGNORE_OVERRUN;
	errno = 0;
	assert_null(rodpu_create_cq_ex(&ctx->vctx.context, &attr));
	assert_int_equal(errno, EOPNOTSUPP);

	attr.comp_mask = IBV_CQ_INIT_ATTR_MASK_PD;
	attr.flags = 0;
	errno = 0;
	assert_null(rodpu_create_cq_ex(&ctx->vctx.context, &attr));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(fk.creates, 0);
}

static void test_bad_announcements(void **state)
{
	fk.create_ret = EINVAL;
	errno = 0;
	assert_null(rodpu_create_cq(&ctx->vctx.context, 4, NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fk.destroys, 0);
	fk.create_ret = 0;

	/* A header that disagrees with the announcement: undone. */
	fk.bad_slot_size = 32;
	errno = 0;
	assert_null(rodpu_create_cq(&ctx->vctx.context, 4, NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fk.destroys, 1);
	fk.bad_slot_size = 0;

	/* A slot count that is not a power of two. */
	fk.bad_num_cqe = 3;
	errno = 0;
	assert_null(rodpu_create_cq(&ctx->vctx.context, 4, NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fk.destroys, 2);
	fk.bad_num_cqe = 0;
	assert_true(fk.logs >= 2);
}

static void test_destroy_refused(void **state)
{
	struct ibv_cq *cq = new_cq(4);
	struct ibv_wc wc[4];

	fk.destroy_ret = EBUSY;
	assert_int_equal(rodpu_destroy_cq(cq), EBUSY);
	/* Still usable. */
	produce(1, 5);
	assert_int_equal(rodpu_poll_cq(cq, 4, wc), 1);
	fk.destroy_ret = 0;
	assert_int_equal(rodpu_destroy_cq(cq), 0);
}

static void test_resize(void **state)
{
	struct ibv_cq *cq = new_cq(4);
	struct ibv_wc wc[8];
	int i;

	produce(3, 10);
	assert_int_equal(rodpu_poll_cq(cq, 1, wc), 1);
	assert_int_equal(wc[0].wr_id, 10);

	assert_int_equal(rodpu_resize_cq(cq, 16), 0);
	assert_int_equal(cq->cqe, 16);
	produce(10, 13);	/* into the new ring, after the moved ones */
	assert_int_equal(rodpu_poll_cq(cq, 8, wc), 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(wc[i].wr_id, 11 + i);
	assert_int_equal(rodpu_poll_cq(cq, 8, wc), 4);
	assert_int_equal(wc[3].wr_id, 22);

	fk.resize_ret = EOPNOTSUPP;
	assert_int_equal(rodpu_resize_cq(cq, 64), EOPNOTSUPP);
	produce(1, 23);
	assert_int_equal(rodpu_poll_cq(cq, 8, wc), 1);
	assert_int_equal(rodpu_destroy_cq(cq), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_wrap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_error_ring, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_prod, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cq_ex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cq_ex_unsupported, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_announcements, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destroy_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resize, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
