// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mr_test DEVICE: pinned memory regions on a rodp device (cmocka; run in
 * the guest by suites/40-mr.sh with TAP output).
 *
 * Registration and deregistration with every access combination, distinct
 * keys, the errors the verbs promise (bad access, zero length, unmapped
 * memory), and RLIMIT_MEMLOCK: pinning is charged as the kernel does
 * (VmPin), and refused over the limit for a process without CAP_IPC_LOCK.
 *
 * ibv_rereg_mr keeps the L_Key and R_Key through every kind of change
 * (translation, access, PD, all three) of pinned, ODP and implicit ODP
 * MRs, and a refused one changes nothing.  The rereg tests under traffic
 * connect two RC QPs on the device (verbs.c) and re-register the
 * responder's MR while the requester keeps the R_Key it got before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "common.h"

static const char *dev_name;

struct fixture {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
};

static struct ibv_context *open_dev(void)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list)
		return NULL;
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev_name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	return ctx;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ctx = open_dev();
	if (!f->ctx) {
		free(f);
		return -1;
	}
	f->pd = ibv_alloc_pd(f->ctx);
	if (!f->pd) {
		ibv_close_device(f->ctx);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ibv_dealloc_pd(f->pd);
	ibv_close_device(f->ctx);
	free(f);
	return 0;
}

static void *map_pages(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* VmPin of this process in kB, from /proc/self/status (-1: none). */
static long vm_pin_kb(void)
{
	uint64_t kb;

	return vt_read_field("/proc/self/status", "VmPin", &kb) ?
	       (long)kb : -1;
}

static void test_device_reports_mrs(void **state)
{
	struct fixture *f = *state;
	struct ibv_device_attr attr;

	assert_int_equal(ibv_query_device(f->ctx, &attr), 0);
	assert_true(attr.max_mr > 0);
	assert_true(attr.max_mr_size >= (1ULL << 30));
}

static void test_reg_every_access(void **state)
{
	static const int access[] = {
		0,
		IBV_ACCESS_LOCAL_WRITE,
		IBV_ACCESS_REMOTE_READ,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_ATOMIC,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_RELAXED_ORDERING,
	};
	struct fixture *f = *state;
	size_t len = 3 * 4096 + 100;
	char *buf = map_pages(4 * 4096);
	unsigned int i;

	for (i = 0; i < sizeof(access) / sizeof(access[0]); i++) {
		struct ibv_mr *mr = ibv_reg_mr(f->pd, buf + 100, len,
					       access[i]);

		assert_non_null(mr);
		assert_int_equal(mr->lkey, mr->rkey);
		assert_int_not_equal(mr->lkey, 0);
		assert_ptr_equal(mr->addr, buf + 100);
		assert_int_equal(mr->length, len);
		assert_int_equal(ibv_dereg_mr(mr), 0);
	}
	munmap(buf, 4 * 4096);
}

static void test_keys_distinct(void **state)
{
	enum { N = 512 };
	struct fixture *f = *state;
	struct ibv_mr *mr[N];
	char *buf = map_pages(4096);
	int i, j;

	for (i = 0; i < N; i++) {
		mr[i] = ibv_reg_mr(f->pd, buf, 4096, IBV_ACCESS_LOCAL_WRITE);
		assert_non_null(mr[i]);
		for (j = 0; j < i; j++)
			assert_int_not_equal(mr[i]->lkey, mr[j]->lkey);
	}
	for (i = 0; i < N; i++)
		assert_int_equal(ibv_dereg_mr(mr[i]), 0);

	/* A stale key does not name the next MR. */
	mr[0] = ibv_reg_mr(f->pd, buf, 4096, 0);
	assert_non_null(mr[0]);
	i = mr[0]->lkey;
	assert_int_equal(ibv_dereg_mr(mr[0]), 0);
	mr[1] = ibv_reg_mr(f->pd, buf, 4096, 0);
	assert_non_null(mr[1]);
	assert_int_not_equal(mr[1]->lkey, (uint32_t)i);
	ibv_dereg_mr(mr[1]);
	munmap(buf, 4096);
}

static void test_bad_access(void **state)
{
	struct fixture *f = *state;
	char *buf = map_pages(4096);

	/* Remote write or atomic needs local write (IB spec, verbs man). */
	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 4096, IBV_ACCESS_REMOTE_WRITE));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 4096, IBV_ACCESS_REMOTE_ATOMIC));
	assert_int_equal(errno, EINVAL);
	munmap(buf, 4096);
}

/*
 * ODP regions pin nothing (the odp suite covers them in depth); an
 * implicit one covers the whole address space.
 */
static void test_odp_unpinned(void **state)
{
	struct fixture *f = *state;
	struct ibv_device_attr_ex attr;
	size_t len = 64 * 4096;
	char *buf = map_pages(len);
	long before = vm_pin_kb();
	struct ibv_mr *mr, *imr;

	assert_int_equal(ibv_query_device_ex(f->ctx, NULL, &attr), 0);
	assert_int_equal(attr.odp_caps.general_caps,
			 IBV_ODP_SUPPORT | IBV_ODP_SUPPORT_IMPLICIT);
	memset(buf, 1, len);
	mr = ibv_reg_mr(f->pd, buf, len, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_ON_DEMAND);
	assert_non_null(mr);
	imr = ibv_reg_mr(f->pd, NULL, SIZE_MAX, IBV_ACCESS_LOCAL_WRITE |
			 IBV_ACCESS_ON_DEMAND);
	assert_non_null(imr);
	assert_int_equal(vm_pin_kb(), before);
	assert_int_equal(ibv_dereg_mr(imr), 0);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	munmap(buf, len);
}

/* ---------------------------------------------------------------------- */
/* ibv_rereg_mr keeps the keys                                             */
/* ---------------------------------------------------------------------- */

/* ibv_rereg_mr that must succeed and leave both keys as they were. */
static void rereg_same_keys(struct ibv_mr *mr, int flags, struct ibv_pd *pd,
			    void *addr, size_t len, int access,
			    const char *what)
{
	uint32_t lkey = mr->lkey, rkey = mr->rkey;
	int rc = ibv_rereg_mr(mr, flags, pd, addr, len, access);

	CHECK(!rc, "%s: ibv_rereg_mr: %d (%s)", what, rc, strerror(errno));
	CHECK(mr->lkey == lkey && mr->rkey == rkey,
	      "%s: keys 0x%x/0x%x after the rereg, want the same 0x%x/0x%x",
	      what, mr->lkey, mr->rkey, lkey, rkey);
	if (flags & IBV_REREG_MR_CHANGE_TRANSLATION)
		CHECK(mr->addr == addr && mr->length == len,
		      "%s: MR at %p+%zu, want %p+%zu", what, mr->addr,
		      mr->length, addr, len);
	if (flags & IBV_REREG_MR_CHANGE_PD)
		CHECK(mr->pd == pd, "%s: the MR's PD did not change", what);
}

/*
 * A pinned MR keeps its L_Key and R_Key through every kind of rereg:
 * translation (the pinning moves with it), access, PD, and all three at
 * once.
 */
static void test_rereg_keys_pinned(void **state)
{
	struct fixture *f = *state;
	size_t len = 16 * 4096;
	char *a = map_pages(len), *b = map_pages(2 * len);
	long before = vm_pin_kb();
	struct ibv_pd *pd2 = ibv_alloc_pd(f->ctx);
	struct ibv_mr *mr;

	assert_non_null(pd2);
	mr = ibv_reg_mr(f->pd, a, len, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(mr);
	assert_int_equal(vm_pin_kb() - before, (long)(len / 1024));

	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, b, 2 * len,
			0, "TRANSLATION");
	/* The old range is unpinned, the new one pinned. */
	assert_int_equal(vm_pin_kb() - before, (long)(2 * len / 1024));
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_REMOTE_READ, "ACCESS");
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_PD, pd2, NULL, 0, 0, "PD");
	assert_ptr_equal(mr->addr, b);
	assert_int_equal(vm_pin_kb() - before, (long)(2 * len / 1024));
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_TRANSLATION |
			IBV_REREG_MR_CHANGE_ACCESS | IBV_REREG_MR_CHANGE_PD,
			f->pd, a, len, IBV_ACCESS_LOCAL_WRITE,
			"TRANSLATION | ACCESS | PD");
	assert_int_equal(vm_pin_kb() - before, (long)(len / 1024));
	/* The PD it has already: nothing to change, nothing changes. */
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_PD, f->pd, NULL, 0, 0,
			"PD, the same one");
	/* No flags at all. */
	assert_int_not_equal(ibv_rereg_mr(mr, 0, NULL, NULL, 0, 0), 0);

	assert_int_equal(ibv_dereg_mr(mr), 0);
	assert_int_equal(vm_pin_kb(), before);
	assert_int_equal(ibv_dealloc_pd(pd2), 0);
	munmap(a, len);
	munmap(b, 2 * len);
}

/*
 * An explicit ODP MR keeps its keys through every kind of rereg, and
 * through pinned and back (ON_DEMAND taken away and given back); an
 * implicit one through access and PD changes and a new translation (it
 * becomes explicit), and a refused change leaves it implicit.
 */
static void test_rereg_keys_odp(void **state)
{
	struct fixture *f = *state;
	const int odp = IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE;
	size_t len = 16 * 4096;
	char *a = map_pages(len), *b = map_pages(2 * len);
	long before = vm_pin_kb();
	struct ibv_pd *pd2 = ibv_alloc_pd(f->ctx);
	struct ibv_mr *mr;
	uint32_t key;

	assert_non_null(pd2);
	mr = ibv_reg_mr(f->pd, a, len, odp);
	assert_non_null(mr);
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, b, 2 * len,
			0, "ODP: TRANSLATION");
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			odp | IBV_ACCESS_REMOTE_WRITE, "ODP: ACCESS");
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_PD, pd2, NULL, 0, 0,
			"ODP: PD");
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_TRANSLATION |
			IBV_REREG_MR_CHANGE_ACCESS | IBV_REREG_MR_CHANGE_PD,
			f->pd, a, len, odp, "ODP: TRANSLATION | ACCESS | PD");
	assert_int_equal(vm_pin_kb(), before);
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			IBV_ACCESS_LOCAL_WRITE, "ODP to pinned");
	assert_int_equal(vm_pin_kb() - before, (long)(len / 1024));
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0, odp,
			"pinned to ODP");
	assert_int_equal(vm_pin_kb(), before);
	assert_int_equal(ibv_dereg_mr(mr), 0);

	mr = ibv_reg_mr(f->pd, NULL, SIZE_MAX, odp);
	assert_non_null(mr);
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			odp | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
			"implicit: ACCESS");
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_PD, pd2, NULL, 0, 0,
			"implicit: PD");
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_ACCESS |
			IBV_REREG_MR_CHANGE_PD, f->pd, NULL, 0, odp,
			"implicit: ACCESS | PD");
	/* Without ON_DEMAND the whole address space cannot be pinned. */
	key = mr->lkey;
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL,
				      NULL, 0, IBV_ACCESS_LOCAL_WRITE),
			 IBV_REREG_MR_ERR_CMD);
	assert_int_equal(mr->lkey, key);
	assert_int_equal(vm_pin_kb(), before);
	rereg_same_keys(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, a, len, 0,
			"implicit to explicit: TRANSLATION");
	assert_int_equal(ibv_dereg_mr(mr), 0);

	assert_int_equal(ibv_dealloc_pd(pd2), 0);
	munmap(a, len);
	munmap(b, 2 * len);
}

/* ---------------------------------------------------------------------- */
/* rereg under traffic: an RC pair on the device                           */
/* ---------------------------------------------------------------------- */

#define RC_LEN		(4 * 4096)

enum mem_kind { MEM_PINNED, MEM_ODP };

/**
 * struct rc - two connected RC QPs on the device, A the requester and B
 * the responder, and the memory they use; what is set up is released by
 * rc_teardown() whether the test passed or not
 * @dev: the device
 * @pd_a, @pd_b: the QPs' PDs
 * @pd_c: another PD, for B's MR to move to
 * @cq_a, @cq_b: one CQ per QP (send and receive)
 * @qp_a, @qp_b: the QPs
 * @path: their path attributes
 * @psn: start PSN of the next connect
 * @src: A's memory: RC_LEN to send from, RC_LEN to read into
 * @x, @y: B's memory: two ranges of RC_LEN, where the MR under test
 *	starts and where a rereg moves it
 * @src_mr: A's MR over @src
 * @mr: B's MR under test
 */
struct rc {
	struct vt_dev *dev;
	struct ibv_pd *pd_a, *pd_b, *pd_c;
	struct ibv_cq *cq_a, *cq_b;
	struct ibv_qp *qp_a, *qp_b;
	struct vt_path path;
	uint32_t psn;
	uint8_t *src, *x, *y;
	struct ibv_mr *src_mr, *mr;
};

static void rc_connect(struct rc *rc)
{
	uint32_t pa = rc->psn, pb = rc->psn + 0x1000;

	rc->psn += 0x10000;
	CHECK(!vt_qp_connect(rc->qp_a, &rc->path, rc->dev, rc->qp_b->qp_num,
			     pa, pb, &rc->dev->gid), "%s", vt_errmsg());
	CHECK(!vt_qp_connect(rc->qp_b, &rc->path, rc->dev, rc->qp_a->qp_num,
			     pb, pa, &rc->dev->gid), "%s", vt_errmsg());
}

/* Both QPs back to RTS through RESET (after an error took them to ERR). */
static void rc_restate(struct rc *rc)
{
	struct ibv_wc wc;

	CHECK(!vt_qp_move(rc->qp_a, IBV_QPS_RESET) &&
	      !vt_qp_move(rc->qp_b, IBV_QPS_RESET), "%s", vt_errmsg());
	CHECK(!vt_get_wc(rc->cq_a, &wc, 0) && !vt_get_wc(rc->cq_b, &wc, 0),
	      "a completion left over: wr_id %" PRIu64 " %s",
	      (uint64_t)wc.wr_id, ibv_wc_status_str(wc.status));
	rc_connect(rc);
}

static int rc_setup(void **state)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = 16, .max_recv_wr = 16,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	struct rc *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return -1;
	*state = rc;
	rc->dev = vt_dev_get(dev_name, false);
	if (!rc->dev || !vt_dev_ok(rc->dev)) {
		printf("# %s\n", rc->dev ? rc->dev->error : "no device");
		return -1;
	}
	rc->pd_a = ibv_alloc_pd(rc->dev->ctx);
	rc->pd_b = ibv_alloc_pd(rc->dev->ctx);
	rc->pd_c = ibv_alloc_pd(rc->dev->ctx);
	rc->cq_a = ibv_create_cq(rc->dev->ctx, 64, NULL, NULL, 0);
	rc->cq_b = ibv_create_cq(rc->dev->ctx, 64, NULL, NULL, 0);
	if (!rc->pd_a || !rc->pd_b || !rc->pd_c || !rc->cq_a || !rc->cq_b)
		return -1;
	rc->qp_a = vt_qp_create(rc->pd_a, rc->cq_a, rc->cq_a, &cap, false);
	rc->qp_b = vt_qp_create(rc->pd_b, rc->cq_b, rc->cq_b, &cap, false);
	rc->src = mmap(NULL, 4 * RC_LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!rc->qp_a || !rc->qp_b || rc->src == MAP_FAILED) {
		rc->src = NULL;
		return -1;
	}
	rc->x = rc->src + 2 * RC_LEN;
	rc->y = rc->src + 3 * RC_LEN;
	rc->src_mr = ibv_reg_mr(rc->pd_a, rc->src, 2 * RC_LEN,
				IBV_ACCESS_LOCAL_WRITE);
	if (!rc->src_mr)
		return -1;
	vt_path_init(&rc->path, rc->dev, rc->dev);
	rc->psn = 0x100;
	rc_connect(rc);
	return 0;
}

static int rc_teardown(void **state)
{
	struct rc *rc = *state;

	if (rc->mr)
		ibv_dereg_mr(rc->mr);
	if (rc->src_mr)
		ibv_dereg_mr(rc->src_mr);
	if (rc->qp_a)
		ibv_destroy_qp(rc->qp_a);
	if (rc->qp_b)
		ibv_destroy_qp(rc->qp_b);
	if (rc->cq_a)
		ibv_destroy_cq(rc->cq_a);
	if (rc->cq_b)
		ibv_destroy_cq(rc->cq_b);
	if (rc->pd_a)
		ibv_dealloc_pd(rc->pd_a);
	if (rc->pd_b)
		ibv_dealloc_pd(rc->pd_b);
	if (rc->pd_c)
		ibv_dealloc_pd(rc->pd_c);
	if (rc->src)
		munmap(rc->src, 4 * RC_LEN);
	free(rc);
	return 0;
}

/* B's MR under test: @kind memory at @addr in @pd. */
static uint32_t rc_mr(struct rc *rc, enum mem_kind kind, struct ibv_pd *pd,
		      void *addr, int access)
{
	if (kind == MEM_ODP)
		access |= IBV_ACCESS_ON_DEMAND;
	rc->mr = ibv_reg_mr(pd, addr, RC_LEN, access);
	CHECK(rc->mr, "ibv_reg_mr(%s, access 0x%x): %s",
	      kind == MEM_ODP ? "ODP" : "pinned", access, strerror(errno));
	return rc->mr->rkey;
}

static void rc_rereg(struct rc *rc, enum mem_kind kind, int flags,
		     struct ibv_pd *pd, void *addr, int access,
		     const char *what)
{
	if (kind == MEM_ODP && (flags & IBV_REREG_MR_CHANGE_ACCESS))
		access |= IBV_ACCESS_ON_DEMAND;
	rereg_same_keys(rc->mr, flags, pd, addr,
			flags & IBV_REREG_MR_CHANGE_TRANSLATION ? RC_LEN : 0,
			access, what);
}

/* The next completion on @cq, which must be @wr_id with @status. */
static void rc_wc(struct ibv_cq *cq, const char *what, uint64_t wr_id,
		  enum ibv_wc_status status, struct ibv_wc *wc)
{
	CHECK(vt_get_wc(cq, wc, vt_wc_ms(RC_LEN)),
	      "%s: no completion (want wr_id %" PRIu64 " %s)", what, wr_id,
	      ibv_wc_status_str(status));
	vt_check_wc(wc, what, wr_id, status, -1);
}

/*
 * An RDMA WRITE (READ) of RC_LEN bytes by A at @va with @rkey; it must
 * complete with @status.  A successful WRITE's data is checked at @va.
 */
static void rc_rdma(struct rc *rc, enum ibv_wr_opcode op, uint64_t va,
		    uint32_t rkey, enum ibv_wc_status status,
		    const char *what)
{
	static uint32_t seed = 1000;
	struct ibv_sge g = {
		.addr = (uintptr_t)rc->src, .length = RC_LEN,
		.lkey = rc->src_mr->lkey,
	};
	struct ibv_send_wr wr;
	struct ibv_wc wc;

	if (op == IBV_WR_RDMA_READ)
		g.addr += RC_LEN;
	else
		vt_fill(rc->src, RC_LEN, ++seed);
	vt_send_wr(&wr, seed, &g, 1, op, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = va;
	wr.wr.rdma.rkey = rkey;
	vt_post_send(rc->qp_a, &wr, what);
	rc_wc(rc->cq_a, what, seed, status, &wc);
	if (status != IBV_WC_SUCCESS)
		return;
	if (op == IBV_WR_RDMA_READ)
		CHECK(!memcmp(rc->src + RC_LEN, (void *)(uintptr_t)va, RC_LEN),
		      "%s: the data read differs from the target's", what);
	else
		CHECK(!memcmp((void *)(uintptr_t)va, rc->src, RC_LEN),
		      "%s: the data did not land at 0x%" PRIx64, what, va);
}

/*
 * An access change: B's MR, without REMOTE_WRITE at first, is given it;
 * A's WRITE with the R_Key it got before the rereg lands.  Taken away
 * again, the same WRITE is refused.
 */
static void rereg_access(void **state, enum mem_kind kind)
{
	struct rc *rc = *state;
	uint32_t rkey = rc_mr(rc, kind, rc->pd_b, rc->x,
			      IBV_ACCESS_LOCAL_WRITE);

	rc_rereg(rc, kind, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL,
		 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		 "ACCESS + REMOTE_WRITE");
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->x, rkey, IBV_WC_SUCCESS,
		"WRITE with the R_Key from before the rereg");
	rc_rereg(rc, kind, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL,
		 IBV_ACCESS_LOCAL_WRITE, "ACCESS - REMOTE_WRITE");
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->x, rkey,
		IBV_WC_REM_ACCESS_ERR, "WRITE after REMOTE_WRITE went");
}

static void test_rereg_rc_access_pinned(void **state)
{
	rereg_access(state, MEM_PINNED);
}

static void test_rereg_rc_access_odp(void **state)
{
	rereg_access(state, MEM_ODP);
}

/* The same with an implicit ODP MR, reached at virtual addresses. */
static void test_rereg_rc_access_implicit(void **state)
{
	struct rc *rc = *state;
	uint32_t rkey;

	rc->mr = ibv_reg_mr(rc->pd_b, NULL, SIZE_MAX,
			    IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE);
	CHECK(rc->mr, "implicit ODP MR: %s", strerror(errno));
	rkey = rc->mr->rkey;
	rc_rereg(rc, MEM_ODP, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL,
		 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		 IBV_ACCESS_REMOTE_READ, "implicit: ACCESS + REMOTE_WRITE");
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->y, rkey, IBV_WC_SUCCESS,
		"WRITE with the implicit R_Key from before the rereg");
	rc_rdma(rc, IBV_WR_RDMA_READ, (uintptr_t)rc->y, rkey, IBV_WC_SUCCESS,
		"READ with the implicit R_Key from before the rereg");
}

/*
 * A PD change: B's MR moves to another PD and A's WRITE with the old
 * R_Key fails (REM_ACCESS_ERR); back in B's QP's PD, the same R_Key works
 * again once the QPs are restated.
 */
static void rereg_pd(void **state, enum mem_kind kind)
{
	struct rc *rc = *state;
	uint32_t rkey = rc_mr(rc, kind, rc->pd_b, rc->x,
			      IBV_ACCESS_LOCAL_WRITE |
			      IBV_ACCESS_REMOTE_WRITE);

	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->x, rkey, IBV_WC_SUCCESS,
		"WRITE before the rereg");
	rc_rereg(rc, kind, IBV_REREG_MR_CHANGE_PD, rc->pd_c, NULL, 0,
		 "PD to another PD");
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->x, rkey,
		IBV_WC_REM_ACCESS_ERR, "WRITE into an MR of another PD");
	vt_expect_qp_state(rc->qp_a, rc->dev->name, IBV_QPS_ERR,
			   "requester after REM_ACCESS_ERR");
	rc_restate(rc);
	rc_rereg(rc, kind, IBV_REREG_MR_CHANGE_PD, rc->pd_b, NULL, 0,
		 "PD back to the QP's");
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->x, rkey, IBV_WC_SUCCESS,
		"WRITE with the first R_Key, the MR back in the QP's PD");
}

static void test_rereg_rc_pd_pinned(void **state)
{
	rereg_pd(state, MEM_PINNED);
}

static void test_rereg_rc_pd_odp(void **state)
{
	rereg_pd(state, MEM_ODP);
}

/*
 * A translation change under a posted receive: B posts a receive into
 * range x of its MR, then the MR moves to range y.  A SEND then fails at
 * the responder, not in a flush: A sees REM_OP_ERR, B's receive
 * LOC_PROT_ERR, and x is untouched.  Restated, the QPs use the same
 * keys on range y: a receive with the old L_Key, a WRITE with the old
 * R_Key.
 */
static void rereg_trans_recv(void **state, enum mem_kind kind)
{
	struct rc *rc = *state;
	uint32_t rkey = rc_mr(rc, kind, rc->pd_b, rc->x,
			      IBV_ACCESS_LOCAL_WRITE |
			      IBV_ACCESS_REMOTE_WRITE);
	uint32_t lkey = rc->mr->lkey;
	struct ibv_sge g = {
		.addr = (uintptr_t)rc->src, .length = RC_LEN,
		.lkey = rc->src_mr->lkey,
	};
	struct ibv_sge rg = {
		.addr = (uintptr_t)rc->x, .length = RC_LEN, .lkey = lkey,
	};
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	uint8_t *want = malloc(RC_LEN);

	assert_non_null(want);
	vt_fill(rc->x, RC_LEN, 7);
	memcpy(want, rc->x, RC_LEN);
	vt_post_recv(rc->qp_b, 7, &rg, 1, "receive into x");
	rc_rereg(rc, kind, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, rc->y, 0,
		 "TRANSLATION from x to y");

	vt_fill(rc->src, RC_LEN, 8);
	vt_send_wr(&wr, 8, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	vt_post_send(rc->qp_a, &wr, "SEND into the receive outside the MR");
	rc_wc(rc->cq_a, "SEND into a receive the MR no longer covers", 8,
	      IBV_WC_REM_OP_ERR, &wc);
	rc_wc(rc->cq_b, "receive the MR no longer covers", 7,
	      IBV_WC_LOC_PROT_ERR, &wc);
	CHECK(!memcmp(rc->x, want, RC_LEN),
	      "the old range x changed under the refused SEND");
	free(want);

	rc_restate(rc);
	rg.addr = (uintptr_t)rc->y;
	vt_post_recv(rc->qp_b, 9, &rg, 1, "receive into y, the same L_Key");
	vt_fill(rc->src, RC_LEN, 10);
	wr.wr_id = 10;
	vt_post_send(rc->qp_a, &wr, "SEND after the restate");
	rc_wc(rc->cq_a, "SEND after the restate", 10, IBV_WC_SUCCESS, &wc);
	rc_wc(rc->cq_b, "receive into y with the L_Key from before", 9,
	      IBV_WC_SUCCESS, &wc);
	CHECK(wc.byte_len == RC_LEN && !memcmp(rc->y, rc->src, RC_LEN),
	      "the SEND did not land in y (%u bytes)", wc.byte_len);
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->y, rkey, IBV_WC_SUCCESS,
		"WRITE into y with the R_Key from before");
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->x, rkey,
		IBV_WC_REM_ACCESS_ERR, "WRITE into x, outside the MR now");
}

static void test_rereg_rc_trans_recv_pinned(void **state)
{
	rereg_trans_recv(state, MEM_PINNED);
}

static void test_rereg_rc_trans_recv_odp(void **state)
{
	rereg_trans_recv(state, MEM_ODP);
}

/*
 * All three at once: B's MR, in another PD, over x and without
 * REMOTE_WRITE, moves to y, to B's QP's PD and gets REMOTE_WRITE and
 * REMOTE_READ; A's WRITE and READ with the first R_Key work on y.
 */
static void rereg_all(void **state, enum mem_kind kind)
{
	struct rc *rc = *state;
	uint32_t rkey = rc_mr(rc, kind, rc->pd_c, rc->x,
			      IBV_ACCESS_LOCAL_WRITE);

	rc_rereg(rc, kind, IBV_REREG_MR_CHANGE_TRANSLATION |
		 IBV_REREG_MR_CHANGE_ACCESS | IBV_REREG_MR_CHANGE_PD,
		 rc->pd_b, rc->y, IBV_ACCESS_LOCAL_WRITE |
		 IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
		 "TRANSLATION | ACCESS | PD");
	rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->y, rkey, IBV_WC_SUCCESS,
		"WRITE with the first R_Key");
	rc_rdma(rc, IBV_WR_RDMA_READ, (uintptr_t)rc->y, rkey, IBV_WC_SUCCESS,
		"READ with the first R_Key");
}

static void test_rereg_rc_all_pinned(void **state)
{
	rereg_all(state, MEM_PINNED);
}

static void test_rereg_rc_all_odp(void **state)
{
	rereg_all(state, MEM_ODP);
}

/*
 * Refused reregs change nothing, keys, range, access and PD included,
 * before and after a successful one: a new translation over unmapped
 * memory (EFAULT), with and without a PD and access change along; remote
 * write without local write (EINVAL).  A's WRITE and READ with the
 * first R_Key still reach range x of B's MR, in B's QP's PD.
 */
static void rereg_refused(void **state, enum mem_kind kind)
{
	struct rc *rc = *state;
	uint32_t rkey = rc_mr(rc, kind, rc->pd_b, rc->x,
			      IBV_ACCESS_LOCAL_WRITE |
			      IBV_ACCESS_REMOTE_WRITE);
	uint32_t lkey = rc->mr->lkey;
	int odp = kind == MEM_ODP ? IBV_ACCESS_ON_DEMAND : 0;
	/* ODP: the kernel's direct map, no user address; pinned: unmapped. */
	void *bad = kind == MEM_ODP ? (void *)0xffff888000000000ull :
		    mmap(NULL, RC_LEN, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static const struct {
		int flags, access;
		bool pd, trans;
		const char *what;
	} refused[] = {
		{ IBV_REREG_MR_CHANGE_TRANSLATION, 0, false, true,
		  "TRANSLATION over unusable memory" },
		{ IBV_REREG_MR_CHANGE_TRANSLATION | IBV_REREG_MR_CHANGE_PD |
		  IBV_REREG_MR_CHANGE_ACCESS, IBV_ACCESS_LOCAL_WRITE, true,
		  true, "TRANSLATION over unusable memory, PD and ACCESS" },
		{ IBV_REREG_MR_CHANGE_ACCESS | IBV_REREG_MR_CHANGE_PD,
		  IBV_ACCESS_REMOTE_WRITE, true, false,
		  "REMOTE_WRITE without LOCAL_WRITE, PD" },
	};
	unsigned int i, round;
	int ret;

	CHECK(bad != MAP_FAILED, "mmap: %s", strerror(errno));
	if (kind == MEM_PINNED)
		munmap(bad, RC_LEN);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			ret = ibv_rereg_mr(rc->mr, refused[i].flags,
					   refused[i].pd ? rc->pd_c : NULL,
					   refused[i].trans ? bad : NULL,
					   refused[i].trans ? RC_LEN : 0,
					   refused[i].access ?
					   refused[i].access | odp : 0);
			CHECK(ret == IBV_REREG_MR_ERR_CMD,
			      "%s: ibv_rereg_mr %d, want %d (refused)",
			      refused[i].what, ret, IBV_REREG_MR_ERR_CMD);
			CHECK(rc->mr->lkey == lkey && rc->mr->rkey == rkey &&
			      rc->mr->addr == rc->x &&
			      rc->mr->length == RC_LEN &&
			      rc->mr->pd == rc->pd_b,
			      "%s: the MR changed", refused[i].what);
		}
		rc_rdma(rc, IBV_WR_RDMA_WRITE, (uintptr_t)rc->x, rkey,
			IBV_WC_SUCCESS, "WRITE after the refused reregs");
		if (round)
			break;
		rc_rereg(rc, kind, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL,
			 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			 IBV_ACCESS_REMOTE_READ, "ACCESS + REMOTE_READ");
	}
	rc_rdma(rc, IBV_WR_RDMA_READ, (uintptr_t)rc->x, rkey, IBV_WC_SUCCESS,
		"READ after the refused reregs");
}

static void test_rereg_refused_pinned(void **state)
{
	rereg_refused(state, MEM_PINNED);
}

static void test_rereg_refused_odp(void **state)
{
	rereg_refused(state, MEM_ODP);
}

static void test_bad_ranges(void **state)
{
	struct fixture *f = *state;
	char *buf = map_pages(2 * 4096);

	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 0, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EINVAL);

	/* The second page is not mapped any more. */
	munmap(buf + 4096, 4096);
	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 2 * 4096, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EFAULT);
	munmap(buf, 4096);
}

static void test_pin_accounting(void **state)
{
	struct fixture *f = *state;
	size_t len = 64 * 4096;
	char *buf = map_pages(len);
	long before = vm_pin_kb(), during;
	struct ibv_mr *mr;

	assert_true(before >= 0);
	mr = ibv_reg_mr(f->pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(mr);
	during = vm_pin_kb();
	assert_int_equal(during - before, (long)(len / 1024));
	assert_int_equal(ibv_dereg_mr(mr), 0);
	assert_int_equal(vm_pin_kb(), before);
	munmap(buf, len);
}

/*
 * Without CAP_IPC_LOCK (as user nobody), pinning counts against
 * RLIMIT_MEMLOCK: 16 pages fit a 128 KiB limit, 64 pages do not.
 */
static int memlock_child(void)
{
	struct rlimit rl = { 128 << 10, 128 << 10 };
	struct ibv_context *ctx;
	struct ibv_mr *mr;
	struct ibv_pd *pd;
	char *buf;

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return 10;
	ctx = open_dev();
	if (!ctx)
		return 11;
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		return 12;
	buf = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 13;
	mr = ibv_reg_mr(pd, buf, 16 * 4096, IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		return 14;
	ibv_dereg_mr(mr);
	errno = 0;
	mr = ibv_reg_mr(pd, buf, 64 * 4096, IBV_ACCESS_LOCAL_WRITE);
	if (mr)
		return 15;
	if (errno != ENOMEM)
		return 16;
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}

static void test_memlock_limit(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(memlock_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * Pinned MRs on hugetlb memory (2 MiB pages, reserved by suites/40-mr.sh):
 * one over two whole huge pages, one starting and ending inside them.
 * WRITEs and READs land at the start, across the boundary between the two
 * pages and at the end, data checked byte for byte.
 */
static void test_hugetlb_pinned(void **state)
{
	const size_t huge = 2u << 20, len = 2 * huge;
	const int acc = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_REMOTE_READ;
	struct rc *rc = *state;
	uint8_t *p, *mid;
	uint64_t va[3];
	int i, j;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	CHECK(p != MAP_FAILED,
	      "mmap of 4 MiB MAP_HUGETLB: %s (the suite reserves 2 MiB pages)",
	      strerror(errno));
	memset(p, 0x5a, len);
	mid = p + huge / 2 + 100;
	for (j = 0; j < 2; j++) {
		uint8_t *base = j ? mid : p;
		size_t mlen = j ? huge : len;

		rc->mr = ibv_reg_mr(rc->pd_b, base, mlen, acc);
		CHECK(rc->mr, "ibv_reg_mr of hugetlb memory at +%zu: %s",
		      (size_t)(base - p), strerror(errno));
		va[0] = (uintptr_t)base;
		va[1] = (uintptr_t)p + huge - RC_LEN / 2 - 4;
		va[2] = (uintptr_t)base + mlen - RC_LEN;
		for (i = 0; i < 3; i++) {
			rc_rdma(rc, IBV_WR_RDMA_WRITE, va[i], rc->mr->rkey,
				IBV_WC_SUCCESS, "WRITE into hugetlb pages");
			rc_rdma(rc, IBV_WR_RDMA_READ, va[i], rc->mr->rkey,
				IBV_WC_SUCCESS, "READ of hugetlb pages");
		}
		CHECK(!ibv_dereg_mr(rc->mr), "dereg: %s", strerror(errno));
		rc->mr = NULL;
	}
	munmap(p, len);
}

#define RC_TEST(fn) cmocka_unit_test_setup_teardown(fn, rc_setup, rc_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_reports_mrs),
		cmocka_unit_test(test_reg_every_access),
		cmocka_unit_test(test_keys_distinct),
		cmocka_unit_test(test_bad_access),
		cmocka_unit_test(test_odp_unpinned),
		cmocka_unit_test(test_rereg_keys_pinned),
		cmocka_unit_test(test_rereg_keys_odp),
		RC_TEST(test_rereg_refused_pinned),
		RC_TEST(test_rereg_refused_odp),
		RC_TEST(test_rereg_rc_access_pinned),
		RC_TEST(test_rereg_rc_access_odp),
		RC_TEST(test_rereg_rc_access_implicit),
		RC_TEST(test_rereg_rc_pd_pinned),
		RC_TEST(test_rereg_rc_pd_odp),
		RC_TEST(test_rereg_rc_trans_recv_pinned),
		RC_TEST(test_rereg_rc_trans_recv_odp),
		RC_TEST(test_rereg_rc_all_pinned),
		RC_TEST(test_rereg_rc_all_odp),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_pin_accounting),
		cmocka_unit_test(test_memlock_limit),
		RC_TEST(test_hugetlb_pinned),
	};
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: mr_test DEVICE\n");
		return 2;
	}
	dev_name = argv[1];
	vt_set_fail_hook(_fail);
	ret = cmocka_run_group_tests_name("mr", tests, setup, teardown);
	vt_devs_close();
	return ret;
}
