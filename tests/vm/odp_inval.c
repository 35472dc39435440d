// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test: what invalidates the NIC's mirror while the memory is
 * registered: MADV_DONTNEED between passes, mprotect, munmap (also under
 * WRITEs), ibv_dereg_mr and ftruncate under WRITEs, mremap, remap cycles,
 * ibv_rereg_mr, overlapping MRs, MADV_DONTNEED racing transfers,
 * MADV_COLLAPSE, page migration, a poisoned page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "odp_test.h"

/* ---------------------------------------------------------------------- */
/* MADV_DONTNEED, mprotect, munmap, mremap                                 */
/* ---------------------------------------------------------------------- */

/*
 * Cold memory: MADV_DONTNEED between passes.  Each DONTNEED invalidates
 * the mirrored pages (counted); then the CPU sees zeros and the next NIC
 * WRITE faults again and is what the CPU reads, or (without the CPU
 * looking first) a NIC READ returns zeros, not the old data.  The same for
 * a SEND source (the receiver gets zeros after DONTNEED, then the new
 * data after the CPU writes over the zero page) and a receive buffer.
 */
void test_dontneed(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB + 3, roff = 1, size = 256 * KIB + PAGE;
	struct buf *r, *src, *l, *s, *rb;
	struct cnts before, d;
	char what[160];
	unsigned int p;

	obuf3(tc, size, &r, &src, &l);
	fill_pat(src->mem, size, 31);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, roff, len, ZERO,
		   "first WRITE");

	for (p = 1; p <= 4; p++) {
		snprintf(what, sizeof(what), "pass %u: MADV_DONTNEED", p);
		snap(tc, &before);
		madv(r->mem, size, MADV_DONTNEED, "MADV_DONTNEED");
		since(tc, &before, &d);
		CHECK(d.v[VT_C_INVALS] >= 1 &&
		      d.v[VT_C_INVAL_PAGES] >= npages(r->mem, roff, len),
		      "%s: odp_invalidations +%" PRIu64 ", odp_inval_pages +%" PRIu64 ", want >= 1 and >= %zu (the mirrored pages)",
		      what, d.v[VT_C_INVALS], d.v[VT_C_INVAL_PAGES],
		      npages(r->mem, roff, len));
		if (p % 2) {
			snprintf(what, sizeof(what),
				 "pass %u: CPU after MADV_DONTNEED", p);
			expect_pat(tc, what, r->mem, size, ZERO);
			snprintf(what, sizeof(what),
				 "pass %u: WRITE after MADV_DONTNEED", p);
			fill_pat(src->mem, size, 31 + p);
			xfer_faults(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, roff,
				    len, npages(r->mem, roff, len), what);
			expect_region(tc, what, r->mem, size, roff, src->mem,
				      len, ZERO);
		} else {
			snprintf(what, sizeof(what),
				 "pass %u: READ after MADV_DONTNEED", p);
			fill_pat(l->mem, size, G_BACK);
			xfer_faults(tc, c, IBV_WR_RDMA_READ, l, 2, r, roff,
				    len, npages(r->mem, roff, len), what);
			expect_region(tc, what, l->mem, size, 2, NULL, len,
				      G_BACK);
			snprintf(what, sizeof(what),
				 "pass %u: WRITE after the READ", p);
			fill_pat(src->mem, size, 31 + p);
			xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, roff,
				   len, ZERO, what);
		}
	}

	/* A SEND source and a receive buffer. */
	s = obuf(tc, &tc->sa, 64 * KIB);
	rb = obuf(tc, &tc->sb, 64 * KIB);
	fill_pat(s->mem, 64 * KIB, 77);
	xfer_check(tc, c, IBV_WR_SEND, s, 0, rb, 0, 40000, ZERO, "SEND");
	madv(s->mem, 64 * KIB, MADV_DONTNEED, "MADV_DONTNEED");
	fill_pat(rb->mem, 64 * KIB, G_RECV);
	xfer_faults(tc, c, IBV_WR_SEND, s, 0, rb, 0, 40000,
		    npages(s->mem, 0, 40000),
		    "SEND from a source after MADV_DONTNEED");
	expect_region(tc, "SEND from a source after MADV_DONTNEED",
		      rb->mem, 64 * KIB, 0, NULL, 40000, G_RECV);
	madv(rb->mem, 64 * KIB, MADV_DONTNEED, "MADV_DONTNEED");
	fill_pat(s->mem, 64 * KIB, 78);		/* over the zero page */
	xfer_check(tc, c, IBV_WR_SEND, s, 0, rb, 0, 40000, ZERO,
		   "SEND after the CPU wrote over the zero page, into a receive buffer after MADV_DONTNEED");
}

/* The odp_fault_fails counter moved since @before. */
static void expect_fault_fail(const struct tcase *tc,
			      const struct cnts *before, const char *what)
{
	struct cnts d;

	since(tc, before, &d);
	CHECK(d.v[VT_C_FAULT_FAILS] >= 1,
	      "%s: odp_fault_fails +%" PRIu64 ", want >= 1", what,
	      d.v[VT_C_FAULT_FAILS]);
}

/*
 * mprotect: after PROT_READ on a target the NIC had mirrored writable, a
 * WRITE fails with REM_ACCESS_ERR and changes nothing while a READ still
 * works; after PROT_NONE a READ fails too; back to read-write, WRITE
 * works again.  On the requester: a READ into a read-only destination and
 * a SEND from a PROT_NONE source end in LOC_PROT_ERR; on the responder a
 * read-only receive buffer completes the receive with LOC_PROT_ERR and
 * NAKs the SEND (REM_OP_ERR).  Each failed fault is counted.
 */
void test_mprotect(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 64 * KIB + 5, size = 64 * KIB + PAGE;
	struct buf *r, *src, *l, *rb;
	struct cnts before;
	uint8_t *want;

	obuf3(tc, size, &r, &src, &l);
	want = vt_tc_alloc(&tc->vc, size);
	fill_pat(src->mem, size, 41);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, 3, len, ZERO, "WRITE");
	memcpy(want, r->mem, size);

	mprot(r->mem, size, PROT_READ, "PROT_READ");
	fill_pat(src->mem, size, 42);
	snap(tc, &before);
	do_write(c, src, 0, r, 3, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into a PROT_READ target");
	expect_fault_fail(tc, &before, "WRITE into a PROT_READ target");
	expect_same("PROT_READ target after the refused WRITE", r->mem, want,
		    size);

	c = conn_open(tc);
	fill_pat(l->mem, size, G_BACK);
	do_read(c, l, 0, r, 3, len, IBV_WC_SUCCESS,
		"READ from a PROT_READ target");
	expect_region(tc, "READ from a PROT_READ target", l->mem, size, 0,
		      want + 3, len, G_BACK);

	mprot(r->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, 3, len, ZERO,
		   "WRITE after mprotect back to read-write");
	memcpy(want, r->mem, size);

	mprot(r->mem, size, PROT_NONE, "PROT_NONE");
	snap(tc, &before);
	do_read(c, l, 0, r, 3, len, IBV_WC_REM_ACCESS_ERR,
		"READ from a PROT_NONE target");
	expect_fault_fail(tc, &before, "READ from a PROT_NONE target");
	mprot(r->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");
	expect_same("target after PROT_NONE and back", r->mem, want, size);

	/* Requester side: a READ into a read-only destination. */
	c = conn_open(tc);
	memcpy(want, l->mem, size);
	mprot(l->mem, size, PROT_READ, "PROT_READ");
	snap(tc, &before);
	do_read(c, l, 0, r, 3, len, IBV_WC_LOC_PROT_ERR,
		"READ into a PROT_READ destination");
	expect_fault_fail(tc, &before, "READ into a PROT_READ destination");
	expect_same("PROT_READ READ destination", l->mem, want, size);
	mprot(l->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");

	/* A SEND from a PROT_NONE source (mirrored before). */
	c = conn_open(tc);
	rb = obuf(tc, &tc->sb, size);
	fill_pat(src->mem, size, 43);
	xfer_check(tc, c, IBV_WR_SEND, src, 0, rb, 0, len, ZERO, "SEND");
	mprot(src->mem, size, PROT_NONE, "PROT_NONE");
	snap(tc, &before);
	do_send(c, src, 0, rb, 0, len, IBV_WC_LOC_PROT_ERR, NO_RECV_WC,
		"SEND from a PROT_NONE source");
	expect_fault_fail(tc, &before, "SEND from a PROT_NONE source");
	expect_qp_state(&c->a, IBV_QPS_ERR, "sender after LOC_PROT_ERR");
	mprot(src->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");

	/* A SEND into a read-only receive buffer (mirrored before). */
	c = conn_open(tc);
	fill_pat(src->mem, size, 44);
	do_send(c, src, 0, rb, 0, len, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND");
	memcpy(want, rb->mem, size);
	mprot(rb->mem, size, PROT_READ, "PROT_READ");
	fill_pat(src->mem, size, 45);
	snap(tc, &before);
	do_send(c, src, 0, rb, 0, len, IBV_WC_REM_OP_ERR, IBV_WC_LOC_PROT_ERR,
		"SEND into a PROT_READ receive buffer");
	expect_fault_fail(tc, &before, "SEND into a PROT_READ receive buffer");
	expect_same("PROT_READ receive buffer", rb->mem, want, size);
	mprot(rb->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");
}

/* Hold [@addr, @addr + @len) with an inaccessible placeholder mapping. */
static void hold_range(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE | MAP_FIXED, -1, 0);

	CHECK(p == addr, "placeholder at %p: %s", addr,
	      p == MAP_FAILED ? strerror(errno) : "elsewhere");
}

/* Map @len bytes at exactly @addr (it must be free). */
static void remap_at(struct buf *b, const char *what)
{
	void *p = mmap(b->map, b->map_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	CHECK(p == b->map, "%s: mmap at %p: got %p (%s)", what, b->map, p,
	      p == MAP_FAILED ? strerror(errno) : "elsewhere");
	madvise(p, b->map_len, MADV_NOHUGEPAGE);
}

/* A thread that unmaps a target or deregisters its MR under traffic. */
enum race_act { R_UNMAP, R_DEREG, R_TRUNCATE };

struct racer {
	enum race_act act;
	void *addr;			/* R_UNMAP: what to unmap */
	size_t len;
	struct ibv_mr *mr;		/* R_DEREG: what to deregister */
	int fd;				/* R_TRUNCATE: what to truncate */
	unsigned int posted;		/* WRs posted so far */
	unsigned int after;		/* act once this many are */
	int rc, err;
	int64_t ms;			/* how long the act took */
};

static const char *race_act_str(enum race_act a)
{
	return a == R_UNMAP ? "munmap" : a == R_DEREG ? "ibv_dereg_mr" :
	       "ftruncate";
}

static void *racer_run(void *arg)
{
	struct racer *u = arg;
	int64_t end = vt_now_ms() + 20000, t0;

	while (__atomic_load_n(&u->posted, __ATOMIC_ACQUIRE) < u->after &&
	       vt_now_ms() < end)
		;
	t0 = vt_now_ms();
	if (u->act == R_UNMAP)
		u->rc = munmap(u->addr, u->len);
	else if (u->act == R_TRUNCATE)
		u->rc = ftruncate(u->fd, 0);
	else
		u->rc = ibv_dereg_mr(u->mr);
	u->err = u->act != R_DEREG ? errno : u->rc;
	u->ms = vt_now_ms() - t0;
	return NULL;
}

#define STREAM_WRS	48
#define STREAM_LEN	(64 * KIB)

/*
 * Stream STREAM_WRS WRITEs of 64 KiB from @src to @ra with @rkey (32
 * chunks, round robin), at most 8 in flight, while @u acts after 4 were
 * posted: they succeed up to the act, then one fails with REM_ACCESS_ERR
 * and the rest are flushed.  Returns whether the error came.
 */
static bool stream_race(struct conn *c, struct buf *src, uint64_t ra,
			uint32_t rkey, struct racer *u, const char *what)
{
	unsigned int ok = 0, posted = 0, done = 0;
	struct ibv_send_wr wr;
	struct ibv_sge g;
	struct ibv_wc wc;
	bool err = false;
	pthread_t th;

	u->after = 4;
	CHECK(!pthread_create(&th, NULL, racer_run, u),
	      "pthread_create failed");
	while (done < STREAM_WRS) {
		while (!err && posted < STREAM_WRS && posted - done < 8) {
			g = sge(src, (posted % 32) * STREAM_LEN, STREAM_LEN);
			vt_send_wr(&wr, posted, &g, 1, IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = ra +
				(posted % 32) * STREAM_LEN;
			wr.wr.rdma.rkey = rkey;
			vt_post_send(c->a.qp, &wr, what);
			__atomic_store_n(&u->posted, ++posted,
					 __ATOMIC_RELEASE);
		}
		if (err && done == posted)
			break;
		if (!vt_get_wc(c->a.scq, &wc, 20000)) {
			pthread_join(th, NULL);
			CHECK(0, "%s: no completion for WR %u within 20 s",
			      what, done);
		}
		CHECK(wc.wr_id == done,
		      "%s: completion for WR %" PRIu64 ", want %u", what,
		      (uint64_t)wc.wr_id, done);
		done++;
		if (wc.status == IBV_WC_SUCCESS) {
			CHECK(!err, "%s: WR %" PRIu64 " succeeded after an error",
			      what, (uint64_t)wc.wr_id);
			ok++;
		} else if (!err) {
			err = true;
			CHECK(wc.status == IBV_WC_REM_ACCESS_ERR,
			      "%s: WR %" PRIu64 " ended %s, want REM_ACCESS_ERR",
			      what, (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
		} else {
			CHECK(wc.status == IBV_WC_WR_FLUSH_ERR,
			      "%s: WR %" PRIu64 " after the error ended %s, want WR_FLUSH_ERR",
			      what, (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
		}
	}
	pthread_join(th, NULL);
	CHECK(!u->rc, "%s: %s failed: %s", what, race_act_str(u->act),
	      strerror(u->err));
	vt_diag("%s: %u of %u WRITEs posted, %u succeeded, %s; the %s took %" PRId64 " ms",
		what, posted, STREAM_WRS, ok,
		err ? "then REM_ACCESS_ERR" : "all before it",
		race_act_str(u->act), u->ms);
	return err;
}

/* Every byte of @got is 0 or the byte of @want at the same offset. */
static void expect_zero_or(const char *what, const uint8_t *got,
			   const uint8_t *want, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] && got[i] != want[i])
			break;
	CHECK(i == len,
	      "%s: byte %zu is 0x%02x: neither 0 nor the data written there (0x%02x)",
	      what, i, got[i], want[i]);
}

/*
 * munmap: a target the NIC had mirrored is unmapped, then WRITE and READ
 * fail with REM_ACCESS_ERR; new memory mapped at the same address is what
 * the NIC then reads (zeros, not the old data) and writes.  Then a thread
 * unmaps a 2 MiB target while WRITEs into it run (see stream_race()); the
 * memory mapped there afterwards holds zeros.
 */
void test_munmap(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB - 1, size = 256 * KIB;
	struct buf *r, *src, *l, *r2;
	struct racer u;

	r = obuf(tc, &tc->sb, size);
	src = obuf(tc, &tc->sa, 2 * MIB);
	l = obuf(tc, &tc->sa, size);
	fill_pat(src->mem, 2 * MIB, 51);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, 1, len, ZERO, "WRITE");

	CHECK(!munmap(r->map, r->map_len), "munmap: %s", strerror(errno));
	do_write(c, src, 0, r, 1, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into an unmapped target");
	/*
	 * The new QP maps its rings; with the hole held by a placeholder
	 * they cannot land where remap_at() wants the target back.
	 */
	hold_range(r->map, r->map_len);
	c = conn_open(tc);
	CHECK(!munmap(r->map, r->map_len), "munmap: %s", strerror(errno));
	do_read(c, l, 0, r, 1, len, IBV_WC_REM_ACCESS_ERR,
		"READ from an unmapped target");

	remap_at(r, "new memory at the unmapped address");
	c = conn_open(tc);
	fill_pat(l->mem, size, G_BACK);
	do_read(c, l, 0, r, 1, len, IBV_WC_SUCCESS,
		"READ from new memory at the unmapped address");
	expect_region(tc, "READ from new memory at the unmapped address",
		      l->mem, size, 0, NULL, len, G_BACK);
	fill_pat(src->mem, 2 * MIB, 52);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, 1, len, ZERO,
		   "WRITE into new memory at the unmapped address");

	/* Unmapped while WRITEs run. */
	r2 = obuf(tc, &tc->sb, 2 * MIB);
	do_write(c, src, 0, r2, 0, 2 * MIB, IBV_WC_SUCCESS,
		 "WRITE before the stream");
	memset(&u, 0, sizeof(u));
	u.act = R_UNMAP;
	u.addr = r2->map;
	u.len = r2->map_len;
	if (!stream_race(c, src, (uintptr_t)r2->mem, r2->rkey, &u,
			 "munmap under WRITEs"))
		do_write(c, src, 0, r2, 0, STREAM_LEN, IBV_WC_REM_ACCESS_ERR,
			 "WRITE after the unmap");
	remap_at(r2, "new memory where the stream's target was");
	expect_pat(tc, "new memory where the stream's target was", r2->mem,
		   2 * MIB, ZERO);
}

/*
 * ibv_dereg_mr of the target's MR (explicit, or the implicit one) while
 * WRITEs into it run: it returns promptly, the WRITEs succeed up to it,
 * then REM_ACCESS_ERR and flushes; every byte of the target is zero or
 * what was written there; a fresh MR over it works.
 */
void test_dereg(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct buf *r, *src;
	struct racer u;
	uint32_t rkey;

	src = obuf(tc, &tc->sa, 2 * MIB);
	r = obuf(tc, &tc->sb, 2 * MIB);
	fill_pat(src->mem, 2 * MIB, 56);
	do_write(c, src, 0, r, 0, 2 * MIB, IBV_WC_SUCCESS,
		 "WRITE before the stream");
	madv(r->mem, 2 * MIB, MADV_DONTNEED, "MADV_DONTNEED");
	memset(&u, 0, sizeof(u));
	u.act = R_DEREG;
	rkey = r->rkey;
	if (tc->mode == M_IMPLICIT) {
		u.mr = tc->sb.imr;
		tc->sb.imr = NULL;
	} else {
		u.mr = r->mr;
		r->mr = NULL;
	}
	if (!stream_race(c, src, (uintptr_t)r->mem, rkey, &u,
			 "ibv_dereg_mr under WRITEs"))
		do_write(c, src, 0, r, 0, STREAM_LEN, IBV_WC_REM_ACCESS_ERR,
			 "WRITE after the deregistration");
	CHECK(u.ms < 5000, "ibv_dereg_mr under traffic took %" PRId64 " ms",
	      u.ms);
	expect_zero_or("target after the deregistration", r->mem, src->mem,
		       2 * MIB);

	c = conn_open(tc);
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	write_pat(tc, c, src, r, 0, 2 * MIB, 57, "WRITE through a fresh MR");
}

/*
 * A MAP_SHARED tmpfs file truncated to 0 while WRITEs into its mapping
 * run: they succeed up to the truncation, then REM_ACCESS_ERR (beyond
 * the end of the file) and flushes; extended again, the file holds only
 * zeros, and a WRITE then lands in it.
 */
void test_truncate(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 2 * MIB;
	struct buf *f, *src;
	struct racer u;
	uint8_t *p, *got;
	int fd;

	p = file_map(tc, len, &fd);
	f = obuf_at(tc, &tc->sb, p, len, fd);
	src = obuf(tc, &tc->sa, len);
	got = vt_tc_alloc(&tc->vc, len);
	fill_pat(src->mem, len, 311);
	do_write(c, src, 0, f, 0, len, IBV_WC_SUCCESS,
		 "WRITE before the stream");
	memset(&u, 0, sizeof(u));
	u.act = R_TRUNCATE;
	u.fd = fd;
	if (!stream_race(c, src, (uintptr_t)f->mem, f->rkey, &u,
			 "ftruncate under WRITEs"))
		do_write(c, src, 0, f, 0, STREAM_LEN, IBV_WC_REM_ACCESS_ERR,
			 "WRITE after the truncation");
	CHECK(!ftruncate(fd, (off_t)len), "ftruncate: %s", strerror(errno));
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_pat(tc, "the file truncated and extended again", got, len,
		   ZERO);
	c = conn_open(tc);
	do_write(c, src, 0, f, 100, 5000, IBV_WC_SUCCESS,
		 "WRITE after the file was extended again");
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_region(tc, "the file after the last WRITE", got, len, 100,
		      src->mem, 5000, ZERO);
}

/*
 * mremap of a buffer the NIC mirrored: the old address fails
 * (REM_ACCESS_ERR); with the implicit MR the new address works with the
 * same key and shows the data; with an explicit MR the new address is
 * outside the MR (REM_ACCESS_ERR).  Moved back to the old address (data
 * changed by the CPU meanwhile), the NIC reads the new data and its WRITE
 * is what the CPU reads.
 */
void test_mremap(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB, map_len;
	struct buf *r, *src, *l, *yb, ybuf;
	uint8_t *x, *y, *p;

	obuf3(tc, len, &r, &src, &l);
	x = r->mem;
	y = map_blocks(len, &map_len, false);
	CHECK(y, "mmap: %s", strerror(errno));
	CHECK(map_len == r->map_len, "map lengths %zu and %zu", map_len,
	      r->map_len);
	yb = buf_track(tc, y, len, y, map_len, -1);

	fill_pat(src->mem, len, 61);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE");
	p = mremap(x, map_len, map_len, MREMAP_MAYMOVE | MREMAP_FIXED, y);
	CHECK(p == y, "mremap %p -> %p: %s", (void *)x, (void *)y,
	      p == MAP_FAILED ? strerror(errno) : "moved elsewhere");
	/*
	 * Hold the old range: the QPs opened below map their rings, and
	 * one could land in the hole that the MREMAP_FIXED back would then
	 * unmap under the provider (seen once: a READ posted into a ring
	 * the kernel no longer saw).
	 */
	hold_range(x, map_len);
	expect_pat(tc, "CPU at the new address", y, len, 61);

	do_read(c, l, 0, r, 0, len, IBV_WC_REM_ACCESS_ERR,
		"READ at the old address after mremap");
	c = conn_open(tc);
	ybuf = *r;
	ybuf.mem = y;
	if (tc->mode == M_IMPLICIT) {
		read_pat(tc, c, l, &ybuf, 0, len, 61,
			 "READ at the new address, same key");
		write_pat(tc, c, src, &ybuf, 0, len, 62,
			  "WRITE at the new address, same key");
	} else {
		do_read(c, l, 0, &ybuf, 0, len, IBV_WC_REM_ACCESS_ERR,
			"READ at the new address (outside the explicit MR)");
		c = conn_open(tc);
	}

	fill_pat(y, len, 63);
	p = mremap(y, map_len, map_len, MREMAP_MAYMOVE | MREMAP_FIXED, x);
	CHECK(p == x, "mremap back %p -> %p: %s", (void *)y, (void *)x,
	      p == MAP_FAILED ? strerror(errno) : "moved elsewhere");
	yb->map = NULL;		/* nothing left there to unmap */
	read_pat(tc, c, l, r, 0, len, 63,
		 "READ at the old address after mremap back");
	write_pat(tc, c, src, r, 0, len, 64,
		  "WRITE at the old address after mremap back");
}

/*
 * Several MRs over the same memory: two explicit ODP MRs and the implicit
 * one.  A WRITE through one shows through the others; after one is
 * deregistered and the pages dropped, the others fault again and work;
 * the deregistered key fails with REM_ACCESS_ERR.
 */
void test_overlap(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB;
	struct buf *m1, *m2, *im, *src, *l;

	m1 = buf_new(tc, &tc->sb, len, B_ODP, ODP_ACCESS);
	m2 = buf_track(tc, m1->mem, len, NULL, 0, -1);
	buf_reg(m2, &tc->sb, B_ODP, ODP_ACCESS);
	im = buf_track(tc, m1->mem, len, NULL, 0, -1);
	buf_reg(im, &tc->sb, B_IMPLICIT, 0);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 171);
	do_write(c, src, 0, m1, 0, len, IBV_WC_SUCCESS,
		 "WRITE through the first MR");
	do_read(c, l, 0, m2, 0, len, IBV_WC_SUCCESS,
		"READ through the second MR");
	expect_pat(tc, "READ through the second MR", l->mem, len, 171);
	read_pat(tc, c, l, im, 0, len, 171, "READ through the implicit MR");

	CHECK(!ibv_dereg_mr(m1->mr), "ibv_dereg_mr: %s", strerror(errno));
	m1->mr = NULL;
	madv(m2->mem, len, MADV_DONTNEED, "MADV_DONTNEED");
	write_pat(tc, c, src, m2, 0, len, 172,
		  "WRITE through the second MR after the first is gone");
	read_pat(tc, c, l, im, 0, len, 172,
		 "READ through the implicit MR after the first is gone");
	do_write(c, src, 0, m1, 0, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE with the deregistered MR's key");
	expect_pat(tc, "memory after the WRITE with a dead key", m2->mem, len,
		   172);
}

/* Counter @name of the test's devices, summed; for diagnostics. */
static uint64_t hw_counter(const struct vt_dev *a, const struct vt_dev *b,
			   const char *name)
{
	uint64_t v, sum = 0;

	if (vt_hw_counter(a->name, name, &v))
		sum += v;
	if (b != a && vt_hw_counter(b->name, name, &v))
		sum += v;
	return sum;
}

/* A thread dropping the target's pages in a loop for a while. */
struct dropper {
	uint8_t *mem, *mem2;
	size_t len;
	int64_t until;
	unsigned int rounds;
	unsigned int pause_us;
	int64_t max_ms;			/* the longest madvise() */
	int err;
};

static void *dropper_run(void *arg)
{
	struct dropper *d = arg;

	int64_t t0;

	while (vt_now_ms() < d->until) {
		t0 = vt_now_ms();
		if (madvise(d->mem, d->len, MADV_DONTNEED) ||
		    (d->rounds % 4 == 3 &&
		     madvise(d->mem2, d->len, MADV_DONTNEED))) {
			d->err = errno;
			break;
		}
		if (vt_now_ms() - t0 > d->max_ms)
			d->max_ms = vt_now_ms() - t0;
		d->rounds++;
		usleep(d->pause_us);
	}
	return NULL;
}

/*
 * Invalidation racing the NIC: a thread drops a 2 MiB target's pages
 * (MADV_DONTNEED) in a loop for 1.5 s, and every 4th round the READ
 * destination's, while WRITEs, READs and SENDs (into it) of 256 KiB run
 * against it.  Both
 * make progress and all transfers succeed; every byte the target or a
 * READ holds is zero or what was written at that offset (never stale or
 * foreign data); afterwards a WRITE and READ are exact.
 */
void test_race(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 2 * MIB, chunk = 256 * KIB, off;
	unsigned int ops = 0;
	struct buf *r, *src, *l;
	int64_t max_ms = 0;
	uint64_t retx, tmo;
	struct dropper d;
	pthread_t th;
	char what[120];

	obuf3(tc, len, &r, &src, &l);
	fill_pat(src->mem, len, 191);
	memset(&d, 0, sizeof(d));
	d.mem = r->mem;
	d.mem2 = l->mem;
	d.len = len;
	d.until = vt_now_ms() + 1500;
	retx = hw_counter(tc->pair->a, tc->pair->b, "retransmits");
	tmo = hw_counter(tc->pair->a, tc->pair->b, "ack_timeouts");
	d.pause_us = getenv("ODP_RACE_US") ?
		     (unsigned int)atoi(getenv("ODP_RACE_US")) : 1000;
	CHECK(!pthread_create(&th, NULL, dropper_run, &d),
	      "pthread_create failed");
	while (vt_now_ms() < d.until) {
		int64_t t0 = vt_now_ms();

		off = (ops % (len / chunk)) * chunk;
		snprintf(what, sizeof(what), "op %u: %s at +%zu", ops,
			 ops % 3 == 1 ? "READ" : ops % 3 ? "SEND" : "WRITE",
			 off);
		if (ops % 3 == 1) {
			memset(l->mem + off, 0xee, chunk);
			do_read(c, l, off, r, off, chunk, IBV_WC_SUCCESS,
				what);
			expect_zero_or(what, l->mem + off, src->mem + off,
				       chunk);
		} else if (ops % 3 == 2) {
			do_send(c, src, off, r, off, chunk, IBV_WC_SUCCESS,
				IBV_WC_SUCCESS, what);
		} else {
			do_write(c, src, off, r, off, chunk, IBV_WC_SUCCESS,
				 what);
		}
		ops++;
		if (vt_now_ms() - t0 > max_ms)
			max_ms = vt_now_ms() - t0;
	}
	pthread_join(th, NULL);
	usleep(10000);
	vt_diag("%u WRITEs, READs and SENDs of 256 KiB (the longest %" PRId64 " ms) against %u rounds of MADV_DONTNEED %u us apart (the longest %" PRId64 " ms); retransmits +%" PRIu64 ", ack_timeouts +%" PRIu64,
		ops, max_ms, d.rounds, d.pause_us, d.max_ms,
		hw_counter(tc->pair->a, tc->pair->b, "retransmits") - retx,
		hw_counter(tc->pair->a, tc->pair->b, "ack_timeouts") - tmo);
	CHECK(!d.err, "madvise: %s", strerror(d.err));
	/* Both sides made progress (how much: see the diagnostic). */
	CHECK(d.rounds >= 2 && ops >= 2,
	      "too little racing: %u rounds, %u transfers", d.rounds, ops);
	expect_zero_or("target after the race", r->mem, src->mem, len);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE after the race");
	expect_pat(tc, "WRITE after the race", r->mem, len, 191);
	read_pat(tc, c, l, r, 0, len, 191, "READ after the race");
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/*
 * Page migration: MADV_COLLAPSE copies the small pages the NIC mirrored
 * into a new transparent huge page and frees them.  A READ then returns
 * the data, a WRITE is what the CPU reads (not written into a freed
 * page), and the collapse invalidated the mirror.
 */
void test_collapse(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 2 * MIB;
	struct buf *r, *src, *l;
	struct cnts before, d;

	obuf3(tc, len, &r, &src, &l);
	fill_pat(r->mem, len, G_DST);
	fill_pat(src->mem, len, 201);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE into small pages");
	CHECK(anon_huge_kb(r->mem) == 0, "AnonHugePages %ld kB before",
	      anon_huge_kb(r->mem));
	madv(r->mem, len, MADV_HUGEPAGE, "MADV_HUGEPAGE");
	snap(tc, &before);
	if (madvise(r->mem, len, MADV_COLLAPSE)) {
		vt_diag("MADV_COLLAPSE: %s", strerror(errno));
		CHECK(errno != EINVAL, "this kernel has no MADV_COLLAPSE");
		skip();
	}
	since(tc, &before, &d);
	CHECK(anon_huge_kb(r->mem) >= 2048,
	      "MADV_COLLAPSE made no huge page (AnonHugePages %ld kB)",
	      anon_huge_kb(r->mem));
	CHECK(d.v[VT_C_INVAL_PAGES] >= len / PAGE,
	      "MADV_COLLAPSE: odp_inval_pages +%" PRIu64 ", want >= %zu (the mirrored small pages)",
	      d.v[VT_C_INVAL_PAGES], len / PAGE);
	read_pat(tc, c, l, r, 0, len, 201, "READ after the collapse");
	write_inside(tc, c, src, r, len, 3, 201, "WRITE after the collapse",
		     "WRITE after the collapse (CPU)");
}

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

/* The page frame number behind @addr (root only), 0 when not present. */
static uint64_t pfn_of(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (off_t)((uintptr_t)addr / PAGE * 8)) != 8)
		e = 0;
	close(fd);
	return e >> 63 ? e & ((1ull << 55) - 1) : 0;
}

/*
 * Page migration, forced: MADV_SOFT_OFFLINE moves each page the NIC
 * mirrored (writable) to a new frame (checked in /proc/self/pagemap).
 * The mirror is invalidated; a READ returns the data and a WRITE is what
 * the CPU reads, not written into the old frames.
 */
void test_migrate(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * PAGE;	/* the kernel logs each page it moves */
	struct buf *r, *src, *l;
	struct cnts before, d;
	uint64_t pfn0;

	obuf3(tc, len, &r, &src, &l);
	fill_pat(src->mem, len, 271);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE");
	pfn0 = pfn_of(r->mem);
	snap(tc, &before);
	if (madvise(r->mem, len, MADV_SOFT_OFFLINE)) {
		vt_diag("MADV_SOFT_OFFLINE: %s", strerror(errno));
		CHECK(errno != EINVAL && errno != EPERM,
		      "MADV_SOFT_OFFLINE is not available");
		skip();
	}
	since(tc, &before, &d);
	vt_diag("page 0: pfn 0x%" PRIx64 " -> 0x%" PRIx64 "; odp_inval_pages +%" PRIu64,
		pfn0, pfn_of(r->mem), d.v[VT_C_INVAL_PAGES]);
	CHECK(pfn0 && pfn_of(r->mem) && pfn_of(r->mem) != pfn0,
	      "the page did not move (pfn 0x%" PRIx64 " -> 0x%" PRIx64 ")",
	      pfn0, pfn_of(r->mem));
	CHECK(d.v[VT_C_INVAL_PAGES] >= len / PAGE,
	      "migration: odp_inval_pages +%" PRIu64 ", want >= %zu",
	      d.v[VT_C_INVAL_PAGES], len / PAGE);
	read_pat(tc, c, l, r, 0, len, 271, "READ after migration");
	write_pat(tc, c, src, r, 0, len, 272, "WRITE after migration");
}

/*
 * A poisoned page (MADV_HWPOISON on a page the NIC mirrored): a READ or
 * a WRITE touching it fails with REM_ACCESS_ERR, the NIC never reads the
 * bad frame; the pages around it still work.  The CPU never touches it.
 */
static volatile sig_atomic_t hwpoison_sigbus;

static void hwpoison_on_sigbus(int sig)
{
	hwpoison_sigbus = 1;
}

void test_hwpoison(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * PAGE;
	struct buf *r, *src, *l;
	struct sigaction sa = { .sa_handler = hwpoison_on_sigbus }, old;
	int rc, err;

	obuf3(tc, len, &r, &src, &l);
	fill_pat(src->mem, len, 281);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE");
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ");
	/*
	 * Newer kernels (6.12) treat MADV_HWPOISON as an action-required
	 * memory failure and send the caller, which maps the page, a SIGBUS
	 * on the way out of madvise(): take it, as a process that survives
	 * a poisoned page would.
	 */
	hwpoison_sigbus = 0;
	sigemptyset(&sa.sa_mask);
	CHECK(!sigaction(SIGBUS, &sa, &old), "sigaction: %s",
	      strerror(errno));
	rc = madvise(r->mem + PAGE, PAGE, MADV_HWPOISON);
	err = errno;
	sigaction(SIGBUS, &old, NULL);
	if (hwpoison_sigbus)
		vt_diag("MADV_HWPOISON: this kernel sent the caller SIGBUS");
	errno = err;
	if (rc) {
		vt_diag("MADV_HWPOISON: %s", strerror(errno));
		CHECK(errno != EINVAL && errno != EPERM,
		      "MADV_HWPOISON is not available");
		skip();
	}
	do_read(c, l, 0, r, PAGE + 100, 200, IBV_WC_REM_ACCESS_ERR,
		"READ of the poisoned page");
	c = conn_open(tc);
	do_write(c, src, 0, r, PAGE - 8, 16, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into the poisoned page");
	c = conn_open(tc);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 2 * PAGE, 2 * PAGE, IBV_WC_SUCCESS,
		"READ of the pages after the poisoned one");
	expect_same("READ of the pages after the poisoned one", l->mem,
		    src->mem + 2 * PAGE, 2 * PAGE);
}

/*
 * ibv_rereg_mr of an explicit ODP MR: a new range (the NIC then reaches
 * the new memory with the MR's keys, not the old), fewer access rights
 * (a WRITE fails, a READ works), and no ON_DEMAND any more (it pins: VmPin
 * grows, WRITEs work; back to 0 after the deregistration).
 */
void test_rereg(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 64 * KIB, map_len;
	struct buf *x, *y, *src, *l;
	uint32_t old_rkey;
	long pin0;
	uint8_t *p;
	int rc;

	x = buf_new(tc, &tc->sb, len, B_ODP, ODP_ACCESS);
	p = map_blocks(len, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	y = buf_track(tc, p, len, p, map_len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	fill_pat(src->mem, len, 291);
	do_write(c, src, 0, x, 0, len, IBV_WC_SUCCESS, "WRITE before rereg");

	old_rkey = x->rkey;
	rc = ibv_rereg_mr(x->mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			  y->mem, len, 0);
	CHECK(!rc, "ibv_rereg_mr(CHANGE_TRANSLATION): %d (%s)", rc,
	      strerror(errno));
	y->rkey = x->mr->rkey;
	y->lkey = x->mr->lkey;
	write_pat(tc, c, src, y, 0, len, 292, "WRITE into the MR's new range");
	expect_pat(tc, "the MR's old range (CPU)", x->mem, len, 291);
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, (uintptr_t)x->mem, old_rkey,
		len, IBV_WC_REM_ACCESS_ERR,
		"WRITE into the old range with the old key");
	c = conn_open(tc);
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, (uintptr_t)x->mem, y->rkey, len,
		IBV_WC_REM_ACCESS_ERR,
		"WRITE into the old range with the new key");
	expect_pat(tc, "the MR's old range after the refused WRITEs", x->mem,
		   len, 291);

	c = conn_open(tc);
	rc = ibv_rereg_mr(x->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			  IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE |
			  IBV_ACCESS_REMOTE_READ);
	CHECK(!rc, "ibv_rereg_mr(CHANGE_ACCESS): %d (%s)", rc,
	      strerror(errno));
	y->rkey = x->mr->rkey;
	do_write(c, src, 0, y, 0, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE after REMOTE_WRITE was taken away");
	c = conn_open(tc);
	do_read(c, l, 0, y, 0, len, IBV_WC_SUCCESS,
		"READ after REMOTE_WRITE was taken away");
	expect_pat(tc, "READ after REMOTE_WRITE was taken away", l->mem, len,
		   292);

	pin0 = vm_kb("VmPin");
	rc = ibv_rereg_mr(x->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			  IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(!rc, "ibv_rereg_mr(CHANGE_ACCESS to pinned): %d (%s)", rc,
	      strerror(errno));
	y->rkey = x->mr->rkey;
	CHECK(vm_kb("VmPin") == pin0 + (long)(len / KIB),
	      "VmPin %ld kB after the MR became pinned, want %ld",
	      vm_kb("VmPin"), pin0 + (long)(len / KIB));
	write_pat(tc, c, src, y, 0, len, 293, "WRITE into the MR, pinned now");
	CHECK(!ibv_dereg_mr(x->mr), "ibv_dereg_mr: %s", strerror(errno));
	x->mr = NULL;
	CHECK(vm_kb("VmPin") == pin0, "VmPin %ld kB after dereg, want %ld",
	      vm_kb("VmPin"), pin0);
}

/*
 * An implicit MR's blocks go when their whole 2 MiB is unmapped, and come
 * back when used again: 24 rounds of mmap at one address, WRITE, READ,
 * munmap (explicit: one MR over that range all along).
 */
void test_remap_cycles(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = BLOCK;
	struct buf *r, *src, *l;
	unsigned int i;
	char what[120];

	obuf3(tc, len, &r, &src, &l);
	for (i = 0; i < 24; i++) {
		size_t off = (i * 4096 * 37) % (len - 64 * KIB);

		snprintf(what, sizeof(what), "round %u: WRITE at +%zu", i,
			 off);
		fill_pat(src->mem, 64 * KIB, 300 + i);
		xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, off, 64 * KIB,
			   ZERO, what);
		snprintf(what, sizeof(what), "round %u: READ at +%zu", i,
			 off);
		fill_pat(l->mem, 64 * KIB, G_BACK);
		do_read(c, l, 0, r, off, 64 * KIB, IBV_WC_SUCCESS, what);
		expect_same(what, l->mem, src->mem, 64 * KIB);
		CHECK(!munmap(r->map, r->map_len), "munmap: %s",
		      strerror(errno));
		remap_at(r, what);
	}
}
