// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test: capabilities, registration without pinning, faults on
 * anonymous and never-touched memory (cold and warm passes, counted),
 * protections next to a transfer, read-only mappings, a 64 GiB MR,
 * addresses outside the MRs, SGE lists mixing ODP and pinned MRs, two QPs
 * and one MR faulting the same pages, userfaultfd, atomics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "odp_test.h"

/* ---------------------------------------------------------------------- */
/* Capabilities and registration without pinning                          */
/* ---------------------------------------------------------------------- */

/*
 * SRQ_RECV: receives through an SRQ (tested by srq_test's "srq odp").
 * FLUSH and ATOMIC_WRITE into ODP memory: rdma-core 58's names, which
 * Debian 12's 44 lacks (tested by rdma-core's own test_odp_qp_ex_rc_flush
 * and test_odp_qp_ex_rc_atomic_write, in the conformance suite).
 */
#define ODP_SUPPORT_FLUSH		(1 << 6)
#define ODP_SUPPORT_ATOMIC_WRITE	(1 << 7)
#define RC_ODP_CAPS	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | \
			 IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ | \
			 IBV_ODP_SUPPORT_ATOMIC | IBV_ODP_SUPPORT_SRQ_RECV | \
			 ODP_SUPPORT_FLUSH | ODP_SUPPORT_ATOMIC_WRITE)
#define UC_ODP_CAPS	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | \
			 IBV_ODP_SUPPORT_WRITE)
#define XRC_ODP_CAPS	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_WRITE | \
			 IBV_ODP_SUPPORT_READ | IBV_ODP_SUPPORT_ATOMIC | \
			 IBV_ODP_SUPPORT_SRQ_RECV)

/*
 * query_device_ex reports exactly what works: general ODP and implicit
 * ODP, RC SEND/RECV/WRITE/READ/ATOMIC/SRQ_RECV/FLUSH/ATOMIC_WRITE, UC
 * SEND/RECV/WRITE (uc_test's "uc odp"), UD SEND/RECV (ud_test's "odp"), XRC
 * SEND/WRITE/READ/ATOMIC/SRQ_RECV (xrc_test's "xrc odp");
 * and both kinds of ODP MR register on the device.
 */
void test_caps(void **state)
{
	struct tcase *tc = *state;
	struct vt_dev *d = tc->dev;
	struct ibv_device_attr_ex ax;
	struct ibv_mr *mr, *imr;
	struct ibv_pd *pd;
	size_t map_len;
	uint8_t *p;
	int rc;

	CHECK(d->ctx, "%s", d->error);
	memset(&ax, 0, sizeof(ax));
	rc = ibv_query_device_ex(d->ctx, NULL, &ax);
	CHECK(!rc, "%s: ibv_query_device_ex: %s", d->name, strerror(rc));
	vt_diag("%s: odp_caps general 0x%" PRIx64 " rc 0x%x uc 0x%x ud 0x%x xrc 0x%x",
		d->name, (uint64_t)ax.odp_caps.general_caps,
		ax.odp_caps.per_transport_caps.rc_odp_caps,
		ax.odp_caps.per_transport_caps.uc_odp_caps,
		ax.odp_caps.per_transport_caps.ud_odp_caps, ax.xrc_odp_caps);
	CHECK(ax.odp_caps.general_caps ==
	      (IBV_ODP_SUPPORT | IBV_ODP_SUPPORT_IMPLICIT),
	      "%s: general_caps 0x%" PRIx64 ", want ODP_SUPPORT|ODP_SUPPORT_IMPLICIT (0x%x)",
	      d->name, (uint64_t)ax.odp_caps.general_caps,
	      IBV_ODP_SUPPORT | IBV_ODP_SUPPORT_IMPLICIT);
	CHECK(ax.odp_caps.per_transport_caps.rc_odp_caps == RC_ODP_CAPS,
	      "%s: rc_odp_caps 0x%x, want SEND|RECV|WRITE|READ|ATOMIC|SRQ_RECV|FLUSH|ATOMIC_WRITE (0x%x)",
	      d->name, ax.odp_caps.per_transport_caps.rc_odp_caps,
	      RC_ODP_CAPS);
	CHECK(ax.odp_caps.per_transport_caps.uc_odp_caps == UC_ODP_CAPS,
	      "%s: uc_odp_caps 0x%x, want SEND|RECV|WRITE (0x%x)",
	      d->name, ax.odp_caps.per_transport_caps.uc_odp_caps,
	      UC_ODP_CAPS);
	/* UD: sends from and receives into ODP MRs (suite ud, "odp"). */
	CHECK(ax.odp_caps.per_transport_caps.ud_odp_caps ==
	      (IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV),
	      "%s: ud_odp_caps 0x%x, want SEND|RECV (0x%x)", d->name,
	      ax.odp_caps.per_transport_caps.ud_odp_caps,
	      IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV);
	/* XRC: sends, writes, reads, atomics and SRQ receives (54-xrc). */
	CHECK(ax.xrc_odp_caps == XRC_ODP_CAPS,
	      "%s: xrc_odp_caps 0x%x, want SEND|WRITE|READ|ATOMIC|SRQ_RECV (0x%x)",
	      d->name, ax.xrc_odp_caps, XRC_ODP_CAPS);

	pd = ibv_alloc_pd(d->ctx);
	CHECK(pd, "%s: ibv_alloc_pd: %s", d->name, strerror(errno));
	tc->sa.dev = d;
	tc->sa.pd = pd;
	p = map_blocks(MIB, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	buf_track(tc, p, MIB, p, map_len, -1);
	mr = ibv_reg_mr(pd, p, MIB, IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	CHECK(mr, "%s: explicit ODP MR: %s", d->name, strerror(errno));
	ibv_dereg_mr(mr);
	imr = reg_implicit(pd, ODP_ACCESS);
	CHECK(imr, "%s: implicit ODP MR: %s", d->name, strerror(errno));
	CHECK(imr->addr == NULL && imr->length == SIZE_MAX,
	      "%s: implicit MR addr %p length 0x%zx", d->name, imr->addr,
	      imr->length);
	ibv_dereg_mr(imr);
}

/*
 * test_nopin's traffic: fresh buffers of @len bytes reached as @k
 * (explicit MRs with @access); @seed's pattern written from A to B and
 * read back into A.
 */
static void nopin_pass(struct tcase *tc, struct conn *c, enum bkind k,
		       int access, size_t len, uint32_t seed)
{
	struct buf *src = buf_new(tc, &tc->sa, len, k, access);
	struct buf *dst = buf_new(tc, &tc->sb, len, k, access);
	struct buf *back = buf_new(tc, &tc->sa, len, k, access);
	char what[120];

	fill_pat(src->mem, len, seed);
	snprintf(what, sizeof(what), "%zu MiB WRITE, %s, memlock 0",
		 len / MIB, bkind_str(k));
	do_write(c, src, 0, dst, 0, len, IBV_WC_SUCCESS, what);
	snprintf(what, sizeof(what), "%zu MiB READ, %s, memlock 0",
		 len / MIB, bkind_str(k));
	do_read(c, back, 0, dst, 0, len, IBV_WC_SUCCESS, what);
	snprintf(what, sizeof(what), "%s WRITE target", bkind_str(k));
	expect_pat(tc, what, dst->mem, len, seed);
	snprintf(what, sizeof(what), "%s READ destination", bkind_str(k));
	expect_pat(tc, what, back->mem, len, seed);
}

/*
 * ODP registers and moves data without pinning: with RLIMIT_MEMLOCK 0 and
 * no CAP_IPC_LOCK (so a pinned MR is refused, checked) explicit and
 * implicit ODP MRs register, WRITE and READ move the data, and the
 * process's VmPin and VmLck stay 0.
 */
void test_nopin(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct rlimit zero;
	struct ibv_mr *mr;
	size_t map_len;
	uint8_t *p;
	int rc;

	CHECK(vm_kb("VmPin") == 0, "VmPin %ld kB before the test, want 0",
	      vm_kb("VmPin"));
	CHECK(!getrlimit(RLIMIT_MEMLOCK, &tc->rlim), "getrlimit: %s",
	      strerror(errno));
	zero.rlim_cur = 0;
	zero.rlim_max = tc->rlim.rlim_max;
	CHECK(!setrlimit(RLIMIT_MEMLOCK, &zero), "setrlimit: %s",
	      strerror(errno));
	tc->restore_rlim = true;
	rc = cap_ipc_lock(false);
	CHECK(!rc, "dropping CAP_IPC_LOCK: %s", strerror(rc));
	tc->restore_cap = true;

	/* The limit bites: a pinned MR of 64 KiB is refused. */
	p = map_blocks(64 * KIB, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	buf_track(tc, p, 64 * KIB, p, map_len, -1);
	mr = ibv_reg_mr(tc->sa.pd, p, 64 * KIB, IBV_ACCESS_LOCAL_WRITE);
	if (mr)
		ibv_dereg_mr(mr);
	/* 6.1's ib_umem_get: EPERM for a limit of 0, ENOMEM above it. */
	CHECK(!mr && (errno == EPERM || errno == ENOMEM),
	      "pinned MR with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK: %s, want EPERM or ENOMEM (else this test proves nothing)",
	      mr ? "registered" : strerror(errno));

	nopin_pass(tc, c, B_ODP, ODP_ACCESS, 4 * MIB, 11);
	nopin_pass(tc, c, B_IMPLICIT, 0, MIB, 12);

	CHECK(vm_kb("VmPin") == 0 && vm_kb("VmLck") == 0,
	      "after ODP traffic: VmPin %ld kB, VmLck %ld kB, want 0",
	      vm_kb("VmPin"), vm_kb("VmLck"));
}

/* ---------------------------------------------------------------------- */
/* Anonymous memory: cold and warm passes                                  */
/* ---------------------------------------------------------------------- */

static const struct span {
	size_t off, len;
} anon_spans[] = {
	{ 0, 4096 }, { 0, 65536 }, { 0, MIB }, { 4093, 7 },
	{ 1, 65536 + 13 }, { 4095, MIB + 5 },
};

/**
 * struct anon - one span of test_anon and its buffers
 * @tc, @c: the test and its connection
 * @off, @len: the span: @len bytes at offset @off of each buffer
 * @size: each buffer's size
 * @src: A's source of WRITEs and SENDs
 * @dst: B's target of WRITEs, the source of READs
 * @back: A's target of READs
 * @rb: B's receive buffer
 */
struct anon {
	struct tcase *tc;
	struct conn *c;
	size_t off, len, size;
	struct buf *src, *dst, *back, *rb;
};

static void anon_pass(const struct anon *a, enum ibv_wr_opcode op,
		      size_t faults, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * One transfer of test_anon: @op (RDMA WRITE src -> dst, RDMA READ dst
 * -> back, SEND src -> rb) over the span; what it lands in must hold
 * src's bytes within its guard; the counters must show a fault of at
 * least @faults pages, or (@faults 0) no fault at all.
 */
static void anon_pass(const struct anon *a, enum ibv_wr_opcode op,
		      size_t faults, const char *fmt, ...)
{
	bool read = op == IBV_WR_RDMA_READ;
	struct buf *l = read ? a->back : a->src;
	struct buf *r = op == IBV_WR_SEND ? a->rb : a->dst;
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	xfer_faults(a->tc, a->c, op, l, a->off, r, a->off, a->len, faults,
		    what);
	expect_region(a->tc, what, (read ? l : r)->mem, a->size, a->off,
		      a->src->mem + a->off, a->len,
		      read ? G_BACK : r == a->rb ? G_RECV : G_DST);
}

/*
 * RDMA WRITE, RDMA READ and SEND between fresh ODP buffers the CPU filled
 * (present in the page tables, not mirrored): the first pass faults
 * (odp_faults moves, odp_fault_pages at least the pages touched), the
 * second over the same pages does not.  Sizes from 7 bytes across a page
 * boundary to 1 MiB + 5 at odd offsets; the guard around the data is
 * checked too.  Then atomics, cold and warm.
 */
void test_anon(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct cnts before, d;
	struct buf *t, *res;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(anon_spans); i++) {
		size_t off = anon_spans[i].off, len = anon_spans[i].len;
		size_t size = off + len + 64;
		struct anon a = {
			.tc = tc, .c = c, .off = off, .len = len, .size = size,
			.src = obuf(tc, &tc->sa, size),
			.dst = obuf(tc, &tc->sb, size),
			.back = obuf(tc, &tc->sa, size),
			.rb = obuf(tc, &tc->sb, size),
		};
		uint32_t seed = 100 + 8 * i;

		fill_pat(a.src->mem, size, seed);
		fill_pat(a.dst->mem, size, G_DST);
		fill_pat(a.back->mem, size, G_BACK);
		fill_pat(a.rb->mem, size, G_RECV);

		anon_pass(&a, IBV_WR_RDMA_WRITE,
			  npages(a.src->mem, off, len) +
			  npages(a.dst->mem, off, len),
			  "cold WRITE of %zu bytes at +%zu", len, off);
		fill_pat(a.src->mem + off, len, seed + 1);
		anon_pass(&a, IBV_WR_RDMA_WRITE, 0,
			  "warm WRITE of %zu bytes at +%zu", len, off);
		anon_pass(&a, IBV_WR_RDMA_READ, npages(a.back->mem, off, len),
			  "READ of %zu bytes at +%zu into a cold buffer", len,
			  off);
		fill_pat(a.back->mem, size, G_BACK);
		anon_pass(&a, IBV_WR_RDMA_READ, 0,
			  "warm READ of %zu bytes at +%zu", len, off);
		anon_pass(&a, IBV_WR_SEND, npages(a.rb->mem, off, len),
			  "SEND of %zu bytes at +%zu into a cold receive buffer",
			  len, off);
		fill_pat(a.rb->mem, size, G_RECV);
		fill_pat(a.src->mem + off, len, seed + 2);
		anon_pass(&a, IBV_WR_SEND, 0, "warm SEND of %zu bytes at +%zu",
			  len, off);
	}

	/* Atomics: the target and the result buffer are ODP. */
	t = obuf(tc, &tc->sb, PAGE);
	res = obuf(tc, &tc->sa, PAGE);
	fill_pat(t->mem, PAGE, G_DST);
	fill_pat(res->mem, PAGE, G_BACK);
	vt_put_u64(t->mem + 1000, 0x1122334455667788ull);
	snap(tc, &before);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 16, t, 1000, 0x1111, 0,
		  IBV_WC_SUCCESS, "cold FETCH_ADD");
	since(tc, &before, &d);
	CHECK(vt_get_u64(res->mem + 16) == 0x1122334455667788ull &&
	      vt_get_u64(t->mem + 1000) == 0x1122334455668899ull,
	      "cold FETCH_ADD: returned 0x%" PRIx64 " target 0x%" PRIx64,
	      vt_get_u64(res->mem + 16), vt_get_u64(t->mem + 1000));
	expect_faulted(&d, 2, "cold FETCH_ADD");
	snap(tc, &before);
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 24, t, 1000,
		  0x1122334455668899ull, 0xfeedfacecafebeefull,
		  IBV_WC_SUCCESS, "warm CMP_SWP");
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 32, t, 1000, 1, 2,
		  IBV_WC_SUCCESS, "warm CMP_SWP that does not match");
	since(tc, &before, &d);
	CHECK(vt_get_u64(res->mem + 24) == 0x1122334455668899ull &&
	      vt_get_u64(res->mem + 32) == 0xfeedfacecafebeefull &&
	      vt_get_u64(t->mem + 1000) == 0xfeedfacecafebeefull,
	      "warm CMP_SWP: returned 0x%" PRIx64 " and 0x%" PRIx64 ", target 0x%" PRIx64,
	      vt_get_u64(res->mem + 24), vt_get_u64(res->mem + 32),
	      vt_get_u64(t->mem + 1000));
	expect_warm(&d, "warm atomics");
	expect_region(tc, "around the atomics' target", t->mem, PAGE, 1000,
		      t->mem + 1000, 8, G_DST);
}

/* ---------------------------------------------------------------------- */
/* Untouched memory and the zero page                                      */
/* ---------------------------------------------------------------------- */

/*
 * Memory nobody touched reads as zeros through the NIC (READ, SEND
 * source, atomics), the CPU then sees zeros too (the zero page), and a
 * NIC WRITE into it (zero page mapped or nothing mapped at all) is what
 * the CPU then reads, with zeros around it.
 */
void test_zero(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t size = MIB + PAGE, len = MIB + 3;
	struct buf *r, *l, *src, *r2, *rb, *t, *res, *s0, *rb2;

	r = obuf(tc, &tc->sb, size);
	l = obuf(tc, &tc->sa, size);
	src = obuf(tc, &tc->sa, size);
	fill_pat(l->mem, size, G_BACK);
	fill_pat(src->mem, size, 21);

	do_read(c, l, 7, r, 5, len, IBV_WC_SUCCESS,
		"READ of never-touched memory");
	expect_region(tc, "READ of never-touched memory", l->mem, size, 7,
		      NULL, len, G_BACK);
	expect_pat(tc, "never-touched memory after the NIC read it (CPU)",
		   r->mem, size, ZERO);

	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 1, r, 5, len, ZERO,
		   "WRITE over the zero page");
	fill_pat(l->mem, size, G_BACK);
	do_read(c, l, 7, r, 5, len, IBV_WC_SUCCESS,
		"READ after the WRITE over the zero page");
	expect_region(tc, "READ after the WRITE over the zero page", l->mem,
		      size, 7, src->mem + 1, len, G_BACK);

	r2 = obuf(tc, &tc->sb, 64 * KIB);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 3, r2, 3000, 10000, ZERO,
		   "WRITE into never-touched memory");

	rb = obuf(tc, &tc->sb, 64 * KIB);
	xfer_check(tc, c, IBV_WR_SEND, src, 11, rb, 100, 5000, ZERO,
		   "SEND into a never-touched receive buffer");

	s0 = obuf(tc, &tc->sa, 64 * KIB);
	rb2 = obuf(tc, &tc->sb, 64 * KIB);
	fill_pat(rb2->mem, 64 * KIB, G_RECV);
	do_send(c, s0, 0, rb2, 10, 8192, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND from never-touched memory");
	expect_region(tc, "SEND from never-touched memory", rb2->mem,
		      64 * KIB, 10, NULL, 8192, G_RECV);

	t = obuf(tc, &tc->sb, 2 * PAGE);
	res = obuf(tc, &tc->sa, PAGE);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 0, t, 8, 0x1234, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD on never-touched memory");
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 8, t, PAGE + 16, 0,
		  0xfeed, IBV_WC_SUCCESS, "CMP_SWP on never-touched memory");
	CHECK(vt_get_u64(res->mem) == 0 && vt_get_u64(res->mem + 8) == 0,
	      "atomics on never-touched memory returned 0x%" PRIx64 " and 0x%" PRIx64 ", want 0",
	      vt_get_u64(res->mem), vt_get_u64(res->mem + 8));
	CHECK(vt_get_u64(t->mem + 8) == 0x1234 &&
	      vt_get_u64(t->mem + PAGE + 16) == 0xfeed,
	      "atomics on never-touched memory left 0x%" PRIx64 " and 0x%" PRIx64 ", want 0x1234 and 0xfeed",
	      vt_get_u64(t->mem + 8), vt_get_u64(t->mem + PAGE + 16));
	vt_put_u64(t->mem + 8, 0);
	vt_put_u64(t->mem + PAGE + 16, 0);
	expect_pat(tc, "around the atomics' targets", t->mem, 2 * PAGE, ZERO);
}

/*
 * Neighbours inside the kernel's fault window (it may fault more than a
 * transfer touches): pages RW | PROT_NONE | RW | PROT_READ | RW, then
 * nothing mapped.  Page-sized WRITEs into each RW page and READs of the
 * readable ones succeed and show; a WRITE reaching the PROT_READ page and
 * a READ of the PROT_NONE page fail with REM_ACCESS_ERR.
 */
void test_neighbours(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t map_len, n = 5 * PAGE;
	struct buf *r, *src, *l;
	uint8_t *p, *want;
	unsigned int pg;

	p = map_blocks(n, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	r = buf_track(tc, p, n, p, map_len, -1);
	fill_pat(p, n, 151);
	CHECK(!munmap(p + n, map_len - n), "munmap: %s", strerror(errno));
	r->map_len = n;
	mprot(p + PAGE, PAGE, PROT_NONE, "PROT_NONE");
	mprot(p + 3 * PAGE, PAGE, PROT_READ, "PROT_READ");
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	src = obuf(tc, &tc->sa, n);
	l = obuf(tc, &tc->sa, n);
	want = vt_tc_alloc(&tc->vc, n);
	fill_pat(want, n, 151);
	fill_pat(src->mem, n, 152);

	for (pg = 0; pg < 5; pg += 2) {
		char what[120];

		snprintf(what, sizeof(what), "WRITE of page %u (RW)", pg);
		do_write(c, src, pg * PAGE, r, pg * PAGE, PAGE,
			 IBV_WC_SUCCESS, what);
		memcpy(want + pg * PAGE, src->mem + pg * PAGE, PAGE);
		expect_same(what, p + pg * PAGE, want + pg * PAGE, PAGE);
	}
	fill_pat(l->mem, n, G_BACK);
	do_read(c, l, 0, r, 2 * PAGE, 3 * PAGE, IBV_WC_SUCCESS,
		"READ of pages 2-4 (RW, PROT_READ, RW)");
	expect_same("READ of pages 2-4", l->mem, want + 2 * PAGE, 3 * PAGE);
	do_read(c, l, 0, r, 0, PAGE, IBV_WC_SUCCESS, "READ of page 0");
	expect_same("READ of page 0", l->mem, want, PAGE);
	expect_same("PROT_READ page 3 (CPU)", p + 3 * PAGE, want + 3 * PAGE,
		    PAGE);

	do_write(c, src, 0, r, 2 * PAGE + 100, 2 * PAGE,
		 IBV_WC_REM_ACCESS_ERR,
		 "WRITE from page 2 into the PROT_READ page 3");
	expect_same("PROT_READ page 3 after the refused WRITE", p + 3 * PAGE,
		    want + 3 * PAGE, PAGE);
	c = conn_open(tc);
	do_read(c, l, 0, r, PAGE + 8, 64, IBV_WC_REM_ACCESS_ERR,
		"READ of the PROT_NONE page 1");
	c = conn_open(tc);
	fill_pat(src->mem, n, 153);
	do_write(c, src, 0, r, 4 * PAGE, PAGE, IBV_WC_SUCCESS,
		 "WRITE of page 4 (next to the unmapped hole), again");
	expect_same("page 4 (CPU)", p + 4 * PAGE, src->mem, PAGE);
	do_read(c, l, 0, r, 0, PAGE, IBV_WC_SUCCESS, "READ of page 0 again");
	expect_same("READ of page 0 again", l->mem, want, PAGE);
}

/*
 * Read-only memory must not fault forever: a memfd mapped PROT_READ is a
 * READ source (explicit MR with REMOTE_READ only, or the implicit MR) and
 * a WRITE and SEND source; a MAP_PRIVATE mapping of it, read by the NIC
 * (page cache pages, read-only), then written by the NIC gets private
 * copies: the CPU sees the WRITE, the file and the shared view do not.
 */
void test_readonly(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 64 * KIB;
	struct buf *rob, *roa, *pv, *l, *dst, *rb, *src;
	uint8_t *p, *got;
	int fd;

	fd = memfd_create("odp_test_ro", 0);
	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	src = obuf(tc, &tc->sa, len);
	fill_pat(src->mem, len, 161);
	CHECK(pwrite(fd, src->mem, len, 0) == (ssize_t)len, "pwrite: %s",
	      strerror(errno));
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap PROT_READ: %s", strerror(errno));
	rob = buf_track(tc, p, len, p, len, fd);
	buf_reg(rob, &tc->sb, odp_kind(tc), IBV_ACCESS_REMOTE_READ);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap PROT_READ: %s", strerror(errno));
	roa = buf_track(tc, p, len, p, len, -1);
	buf_reg(roa, &tc->sa, odp_kind(tc), 0);
	l = obuf(tc, &tc->sa, len);
	dst = obuf(tc, &tc->sb, len);
	rb = obuf(tc, &tc->sb, len);
	got = vt_tc_alloc(&tc->vc, len);

	do_read(c, l, 0, rob, 0, len, IBV_WC_SUCCESS,
		"READ from a PROT_READ file mapping");
	expect_pat(tc, "READ from a PROT_READ file mapping", l->mem, len, 161);
	read_pat(tc, c, l, rob, 0, len, 161, "the same READ, warm");
	do_write(c, roa, 0, dst, 0, len, IBV_WC_SUCCESS,
		 "WRITE from a PROT_READ file mapping");
	expect_pat(tc, "WRITE from a PROT_READ file mapping", dst->mem, len,
		   161);
	do_send(c, roa, 0, rb, 0, len, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND from a PROT_READ file mapping");
	expect_pat(tc, "SEND from a PROT_READ file mapping", rb->mem, len,
		   161);

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_PRIVATE: %s", strerror(errno));
	pv = obuf_at(tc, &tc->sb, p, len, -1);
	read_pat(tc, c, l, pv, 0, len, 161,
		 "READ from a MAP_PRIVATE file mapping");
	write_inside(tc, c, src, pv, len, 8, 161,
		     "WRITE into a MAP_PRIVATE file mapping",
		     "MAP_PRIVATE mapping after the NIC's WRITE (CPU)");
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_pat(tc, "the file after a WRITE into its MAP_PRIVATE mapping",
		   got, len, 161);
	expect_pat(tc, "the shared view after a WRITE into the private one",
		   rob->mem, len, 161);
	read_pat(tc, c, l, rob, 0, len, 161,
		 "READ from the shared view after the private WRITE");
}

#define BIG_MR		(64ull << 30)

/*
 * An MR as large as the address space allows (64 GiB, MAP_NORESERVE,
 * explicit; or the implicit MR over such a mapping): registration and
 * deregistration are quick, WRITEs and READs at its start, middle and
 * end work, and only what was touched becomes resident.
 */
void test_bigmr(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	const size_t offs[] = { 0, BIG_MR / 2 + 12345, BIG_MR - 64 * KIB };
	size_t len = 64 * KIB;
	struct buf *r, *src, *l;
	long rss0, rss1;
	int64_t t0, t_reg;
	unsigned int i;
	uint8_t *p;

	p = mmap(NULL, BIG_MR, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(p != MAP_FAILED, "mmap of 64 GiB (MAP_NORESERVE): %s",
	      strerror(errno));
	r = buf_track(tc, p, BIG_MR, p, BIG_MR, -1);
	madv(p, BIG_MR, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE");
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	rss0 = vm_kb("VmRSS");
	t0 = vt_now_ms();
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	t_reg = vt_now_ms() - t0;
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		char what[120];

		snprintf(what, sizeof(what), "WRITE at +0x%zx of 64 GiB",
			 offs[i]);
		write_pat(tc, c, src, r, offs[i], len, 181 + i, what);
		snprintf(what, sizeof(what), "READ at +0x%zx of 64 GiB",
			 offs[i]);
		read_pat(tc, c, l, r, offs[i], len, 181 + i, what);
	}
	rss1 = vm_kb("VmRSS");
	t0 = vt_now_ms();
	if (r->mr) {
		CHECK(!ibv_dereg_mr(r->mr), "ibv_dereg_mr: %s",
		      strerror(errno));
		r->mr = NULL;
	}
	vt_diag("64 GiB %s MR: registered in %" PRId64 " ms, deregistered in %" PRId64 " ms; VmRSS +%ld kB",
		mode_names[tc->mode], t_reg, vt_now_ms() - t0, rss1 - rss0);
	CHECK(t_reg < 2000, "registering 64 GiB took %" PRId64 " ms", t_reg);
	CHECK(rss1 - rss0 < 64 * 1024,
	      "VmRSS grew by %ld kB for 3 x 64 KiB of traffic", rss1 - rss0);
}

/*
 * Addresses an ODP MR does not cover.  Implicit: NULL, above the user
 * address space, the kernel's direct map, the vsyscall page, a range that
 * wraps past 2^64: WRITE and READ fail with REM_ACCESS_ERR, local SGEs
 * there with LOC_PROT_ERR.  Explicit, an MR at an odd address and
 * length: a byte before or after it fails, all of it works; an MR with
 * an iova unlike its address is reached at the iova (and not at the
 * address), also after its pages were dropped.
 */
void test_bounds(void **state)
{
	static const struct {
		uint64_t va;
		size_t len;
	} bad[] = {
		{ 0, 64 }, { 0x800000000000ull, 64 },
		{ 0xffff888000000000ull, 64 }, { 0xffffffffff600000ull, 64 },
		{ 0xfffffffffffff000ull, 8192 },
	};
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 8000, off = 123, i;
	struct buf *r, *src, *l, *iv, lb;
	uint64_t iova;
	char what[160];

	src = obuf(tc, &tc->sa, 4 * PAGE);
	l = obuf(tc, &tc->sa, 4 * PAGE);
	fill_pat(src->mem, 4 * PAGE, 221);
	if (tc->mode == M_IMPLICIT) {
		struct ibv_mr *imr = side_implicit(&tc->sb);

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			snprintf(what, sizeof(what), "WRITE of %zu bytes at 0x%" PRIx64,
				 bad[i].len, bad[i].va);
			rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, bad[i].va,
				imr->rkey, bad[i].len, IBV_WC_REM_ACCESS_ERR,
				what);
			c = conn_open(tc);
			snprintf(what, sizeof(what), "READ of %zu bytes at 0x%" PRIx64,
				 bad[i].len, bad[i].va);
			rdma_at(c, IBV_WR_RDMA_READ, l, 0, bad[i].va,
				imr->rkey, bad[i].len, IBV_WC_REM_ACCESS_ERR,
				what);
			c = conn_open(tc);
		}
		/* Local SGEs through the implicit lkey. */
		lb = *l;
		lb.mem = (uint8_t *)(uintptr_t)0x800000000000ull;
		r = obuf(tc, &tc->sb, PAGE);
		do_read(c, &lb, 0, r, 0, 64, IBV_WC_LOC_PROT_ERR,
			"READ into 0x800000000000 (implicit lkey)");
		c = conn_open(tc);
		lb.mem = NULL;
		do_write(c, &lb, 0, r, 0, 64, IBV_WC_LOC_PROT_ERR,
			 "WRITE from NULL (implicit lkey)");
		return;
	}

	r = obuf(tc, &tc->sb, 4 * PAGE);
	CHECK(!ibv_dereg_mr(r->mr), "ibv_dereg_mr: %s", strerror(errno));
	r->mr = ibv_reg_mr(tc->sb.pd, r->mem + off, len,
			   IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	CHECK(r->mr, "ODP MR at +%zu of %zu bytes: %s", off, len,
	      strerror(errno));
	r->rkey = r->mr->rkey;
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, off, len, ZERO,
		   "WRITE of all of an MR at an odd address");
	do_write(c, src, 0, r, off - 1, 1, IBV_WC_REM_ACCESS_ERR,
		 "WRITE of the byte before the MR");
	c = conn_open(tc);
	do_read(c, l, 0, r, off + len - 1, 2, IBV_WC_REM_ACCESS_ERR,
		"READ of the MR's last byte and the one after");
	c = conn_open(tc);
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, 0xfffffffffffffff0ull, r->rkey,
		32, IBV_WC_REM_ACCESS_ERR, "WRITE at a VA that wraps");
	c = conn_open(tc);

	iv = obuf(tc, &tc->sb, 4 * PAGE);
	CHECK(!ibv_dereg_mr(iv->mr), "ibv_dereg_mr: %s", strerror(errno));
	iova = 0x100000000000ull + ((uintptr_t)iv->mem & (PAGE - 1));
	iv->mr = ibv_reg_mr_iova(tc->sb.pd, iv->mem, 4 * PAGE, iova,
				 IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	CHECK(iv->mr, "ODP MR with iova 0x%" PRIx64 ": %s", iova,
	      strerror(errno));
	iv->rkey = iv->mr->rkey;
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, iova + 5000, iv->rkey, 3000,
		IBV_WC_SUCCESS, "WRITE at iova + 5000");
	expect_region(tc, "WRITE at iova + 5000 (CPU)", iv->mem, 4 * PAGE,
		      5000, src->mem, 3000, ZERO);
	fill_pat(iv->mem, 4 * PAGE, 222);
	rdma_at(c, IBV_WR_RDMA_READ, l, 0, iova, iv->rkey, 4 * PAGE,
		IBV_WC_SUCCESS, "READ at the iova");
	expect_pat(tc, "READ at the iova", l->mem, 4 * PAGE, 222);
	madv(iv->mem, 4 * PAGE, MADV_DONTNEED, "MADV_DONTNEED");
	rdma_at(c, IBV_WR_RDMA_READ, l, 0, iova + PAGE, iv->rkey, PAGE,
		IBV_WC_SUCCESS, "READ at the iova after MADV_DONTNEED");
	expect_pat(tc, "READ at the iova after MADV_DONTNEED", l->mem, PAGE,
		   ZERO);
	do_read(c, l, 0, iv, 0, 64, IBV_WC_REM_ACCESS_ERR,
		"READ at the MR's address instead of its iova");
}

/*
 * Scatter and gather lists mixing explicit ODP, implicit ODP and pinned
 * MRs: a SEND gathered from an ODP and a pinned buffer into a receive
 * scattered over implicit and explicit buffers; a WRITE gathered from
 * implicit and pinned memory; a READ scattered into pinned and ODP.
 */
void test_mixed(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct buf *so, *sp, *si, *ri, *re, *t, *lp, *lo;
	struct ibv_sge g[2], rg[2];
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	uint8_t *want;

	so = buf_new(tc, &tc->sa, 8192, B_ODP, ODP_ACCESS);
	sp = buf_new(tc, &tc->sa, 8192, B_PINNED, IBV_ACCESS_LOCAL_WRITE);
	si = buf_new(tc, &tc->sa, 8192, B_IMPLICIT, 0);
	ri = buf_new(tc, &tc->sb, 8192, B_IMPLICIT, 0);
	re = buf_new(tc, &tc->sb, 8192, B_ODP, ODP_ACCESS);
	t = buf_new(tc, &tc->sb, 8192, B_ODP, ODP_ACCESS);
	lp = buf_new(tc, &tc->sa, 8192, B_PINNED, IBV_ACCESS_LOCAL_WRITE);
	lo = buf_new(tc, &tc->sa, 8192, B_ODP, ODP_ACCESS);
	want = vt_tc_alloc(&tc->vc, 4000);
	cur_conn = c;
	fill_pat(so->mem, 8192, 231);
	fill_pat(sp->mem, 8192, 232);
	fill_pat(si->mem, 8192, 233);

	g[0] = sge(so, 7, 1000);
	g[1] = sge(sp, 11, 3000);
	rg[0] = sge(ri, 5, 2500);
	rg[1] = sge(re, 9, 1500);
	vt_post_recv(c->b.qp, 1, rg, 2, "mixed receive");
	vt_send_wr(&wr, 2, g, 2, IBV_WR_SEND, IBV_SEND_SIGNALED);
	post_wait(c, &wr, &wc, IBV_WC_SUCCESS, IBV_WC_SEND, 10000,
		  "mixed SEND");
	expect_wc(c->b.rcq, &wc, "mixed receive", 1, IBV_WC_SUCCESS,
		  IBV_WC_RECV, 10000);
	CHECK(wc.byte_len == 4000, "mixed receive byte_len %u", wc.byte_len);
	memcpy(want, so->mem + 7, 1000);
	memcpy(want + 1000, sp->mem + 11, 3000);
	expect_region(tc, "receive's implicit part", ri->mem, 8192, 5, want,
		      2500, ZERO);
	expect_region(tc, "receive's explicit part", re->mem, 8192, 9,
		      want + 2500, 1500, ZERO);

	g[0] = sge(si, 1, 2222);
	g[1] = sge(sp, 100, 1778);
	rdma_sgl(c, IBV_WR_RDMA_WRITE, g, 2, (uintptr_t)t->mem + 3, t->rkey,
		 IBV_WC_SUCCESS, "mixed WRITE");
	memcpy(want, si->mem + 1, 2222);
	memcpy(want + 2222, sp->mem + 100, 1778);
	expect_region(tc, "mixed WRITE's target", t->mem, 8192, 3, want, 4000,
		      ZERO);

	g[0] = sge(lp, 50, 1234);
	g[1] = sge(lo, 60, 2766);
	rdma_sgl(c, IBV_WR_RDMA_READ, g, 2, (uintptr_t)t->mem + 3, t->rkey,
		 IBV_WC_SUCCESS, "mixed READ");
	expect_region(tc, "mixed READ's pinned part", lp->mem, 8192, 50, want,
		      1234, ZERO);
	expect_region(tc, "mixed READ's ODP part", lo->mem, 8192, 60,
		      want + 1234, 2766, ZERO);
}

/*
 * RDMA @op of @len bytes at @r posted on @c1 (local buffer @l1) and on @c2
 * (@l2) before either completes; both must succeed.
 */
static void both_qps(struct conn *c1, struct buf *l1, struct conn *c2,
		     struct buf *l2, enum ibv_wr_opcode op, struct buf *r,
		     size_t len)
{
	bool read = op == IBV_WR_RDMA_READ;
	struct ibv_sge g[2] = { sge(l1, 0, len), sge(l2, 0, len) };
	struct conn *c[2] = { c1, c2 };
	struct ibv_send_wr wr[2];
	char what[2][40];
	struct ibv_wc wc;
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(what[i], sizeof(what[i]), "%s on QP %d",
			 read ? "READ" : "WRITE", i + 1);
		vt_send_wr(&wr[i], 1, &g[i], 1, op, IBV_SEND_SIGNALED);
		wr[i].wr.rdma.remote_addr = (uintptr_t)r->mem;
		wr[i].wr.rdma.rkey = r->rkey;
		vt_post_send(c[i]->a.qp, &wr[i], what[i]);
	}
	for (i = 0; i < 2; i++)
		expect_wc(c[i]->a.scq, &wc, what[i], 1, IBV_WC_SUCCESS,
			  read ? IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE,
			  vt_wc_ms(len));
}

/*
 * Two QPs fault the same cold pages at once: WRITEs of the same 1 MiB
 * into a cold target posted on both, then READs of cold memory on both:
 * all succeed with the right data.
 */
void test_two_qps(void **state)
{
	struct tcase *tc = *state;
	struct conn *c1 = conn_open(tc), *c2 = conn_open(tc);
	struct buf *r, *src, *l1, *l2, *r2;
	size_t len = MIB;

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l1 = obuf(tc, &tc->sa, len);
	l2 = obuf(tc, &tc->sa, len);
	r2 = obuf(tc, &tc->sb, len);
	fill_pat(src->mem, len, 241);
	fill_pat(r2->mem, len, 242);
	cur_conn = c1;

	both_qps(c1, src, c2, src, IBV_WR_RDMA_WRITE, r, len);
	expect_pat(tc, "target of both WRITEs", r->mem, len, 241);
	both_qps(c1, l1, c2, l2, IBV_WR_RDMA_READ, r2, len);
	expect_pat(tc, "READ on QP 1", l1->mem, len, 242);
	expect_pat(tc, "READ on QP 2", l2->mem, len, 242);
}

/*
 * One PD on one device for both QPs, so that a transfer's source and
 * target are in the same MR, even the same 2 MiB mirror block (the
 * implicit MR, or one explicit MR over the whole buffer used as lkey and
 * rkey): WRITE, READ and SEND inside one block and between two, with the
 * block cold and warm.
 */
void test_same_mr(void **state)
{
	struct tcase *tc = *state;
	struct vt_dev *d = tc->pair->a;
	size_t len = 4 * MIB, n = 256 * KIB;
	struct buf *b, *sb;
	struct conn *c;
	uint8_t *want;

	vt_dev_ready(d);
	side_open(&tc->sa, d);
	c = conn_new(tc);
	vt_path_init(&c->path, d, d);
	ep_create(&c->a, &tc->sa, 0x100);
	ep_create(&c->b, &tc->sa, 0x200);
	conn_link(c, d, d);
	b = obuf(tc, &tc->sa, len);
	sb = buf_track(tc, b->mem, len, NULL, 0, -1);
	sb->lkey = b->lkey;
	sb->rkey = b->rkey;
	want = vt_tc_alloc(&tc->vc, len);
	fill_pat(b->mem, n, 251);

	do_write(c, b, 0, sb, MIB, n, IBV_WC_SUCCESS,
		 "WRITE inside one block, cold target");
	do_write(c, b, 0, sb, MIB / 2, n, IBV_WC_SUCCESS,
		 "WRITE inside one block, warm");
	do_read(c, b, 3 * MIB / 2, sb, MIB, n, IBV_WC_SUCCESS,
		"READ inside one block");
	do_send(c, b, 0, sb, 2 * MIB + 5, n, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND into the next block");
	do_read(c, b, 3 * MIB, sb, 2 * MIB + 5, n, IBV_WC_SUCCESS,
		"READ from the next block into a third");
	fill_pat(want, n, 251);
	expect_same("WRITE inside one block, cold target", b->mem + MIB,
		    want, n);
	expect_same("WRITE inside one block, warm", b->mem + MIB / 2, want,
		    n);
	expect_same("READ inside one block", b->mem + 3 * MIB / 2, want, n);
	expect_same("SEND into the next block", b->mem + 2 * MIB + 5, want,
		    n);
	expect_same("READ from the next block into a third", b->mem + 3 * MIB,
		    want, n);
	madv(b->mem + MIB, MIB, MADV_DONTNEED, "MADV_DONTNEED");
	do_write(c, b, 0, sb, MIB + 100, n, IBV_WC_SUCCESS,
		 "WRITE inside one block after MADV_DONTNEED");
	expect_region(tc, "WRITE inside one block after MADV_DONTNEED",
		      b->mem + MIB, MIB, 100, want, n, ZERO);
}

/*
 * userfaultfd: a missing page registered with userfaultfd (and nobody
 * serving the faults) must not hang the NIC: a WRITE into it completes
 * within 10 s with REM_ACCESS_ERR (hmm faults cannot wait for userspace);
 * once the registration is gone, a WRITE works.
 */
void test_uffd(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct uffdio_register reg;
	struct uffdio_api api;
	struct buf *r, *src;
	int uffd;

	r = obuf(tc, &tc->sb, 64 * KIB);
	src = obuf(tc, &tc->sa, 64 * KIB);
	fill_pat(src->mem, 64 * KIB, 261);
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		vt_diag("userfaultfd: %s", strerror(errno));
		skip();
	}
	buf_track(tc, NULL, 0, NULL, 0, uffd);
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	CHECK(!ioctl(uffd, UFFDIO_API, &api), "UFFDIO_API: %s",
	      strerror(errno));
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)r->mem;
	reg.range.len = 64 * KIB;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	CHECK(!ioctl(uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER: %s",
	      strerror(errno));
	do_write(c, src, 0, r, 0, PAGE, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into a userfaultfd-missing page");
	close(uffd);
	tc->bufs[tc->nbufs - 1].fd = -1;
	c = conn_open(tc);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, 0, PAGE, ZERO,
		   "WRITE after the userfaultfd is closed");
}

/*
 * Atomics need a writable mirror: on the zero page (the CPU read first),
 * after fork (the child's copy keeps the old value), on a PROT_READ page
 * (REM_ACCESS_ERR, value unchanged), after MADV_DONTNEED (they see 0).
 */
void test_atomics(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct buf *t, *res;
	uint8_t *snapshot;
	struct kid *k;

	t = obuf(tc, &tc->sb, 4 * PAGE);
	res = obuf(tc, &tc->sa, PAGE);
	snapshot = vt_tc_alloc(&tc->vc, 4 * PAGE);

	expect_pat(tc, "never-touched page (CPU)", t->mem, PAGE, ZERO);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 0, t, 8, 5, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD on the zero page");
	CHECK(vt_get_u64(res->mem) == 0 && vt_get_u64(t->mem + 8) == 5,
	      "FETCH_ADD on the zero page: returned 0x%" PRIx64 ", memory 0x%" PRIx64 ", want 0 and 5",
	      vt_get_u64(res->mem), vt_get_u64(t->mem + 8));

	vt_put_u64(t->mem + PAGE + 16, 100);
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 8, t, PAGE + 16, 100,
		  101, IBV_WC_SUCCESS, "CMP_SWP before fork");
	memcpy(snapshot, t->mem, 4 * PAGE);
	k = kid_fork(tc, t->mem, 4 * PAGE, snapshot, 0);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 16, t, PAGE + 16, 1, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD after fork");
	CHECK(vt_get_u64(res->mem + 16) == 101 &&
	      vt_get_u64(t->mem + PAGE + 16) == 102,
	      "FETCH_ADD after fork: returned %" PRIu64 ", parent's memory %" PRIu64 ", want 101 and 102",
	      vt_get_u64(res->mem + 16), vt_get_u64(t->mem + PAGE + 16));
	kid_ask(k, 'S', 'y', "child's copy after the parent's atomic");
	kid_end(k, "child");

	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 24, t, 2 * PAGE, 7, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD before PROT_READ");
	mprot(t->mem + 2 * PAGE, PAGE, PROT_READ, "PROT_READ");
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 32, t, 2 * PAGE, 1, 0,
		  IBV_WC_REM_ACCESS_ERR, "FETCH_ADD on a PROT_READ page");
	CHECK(vt_get_u64(t->mem + 2 * PAGE) == 7,
	      "PROT_READ page's value %" PRIu64 " after a refused FETCH_ADD, want 7",
	      vt_get_u64(t->mem + 2 * PAGE));
	mprot(t->mem + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE, "RW");

	c = conn_open(tc);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 40, t, 3 * PAGE, 9, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD before MADV_DONTNEED");
	madv(t->mem + 3 * PAGE, PAGE, MADV_DONTNEED, "MADV_DONTNEED");
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 48, t, 3 * PAGE, 1, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD after MADV_DONTNEED");
	CHECK(vt_get_u64(res->mem + 48) == 0 &&
	      vt_get_u64(t->mem + 3 * PAGE) == 1,
	      "FETCH_ADD after MADV_DONTNEED: returned %" PRIu64 ", memory %" PRIu64 ", want 0 and 1",
	      vt_get_u64(res->mem + 48), vt_get_u64(t->mem + 3 * PAGE));
}
