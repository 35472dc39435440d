// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test: ibv_advise_mr, prefetch with and without FLUSH, and its
 * errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "odp_test.h"

static const char *advice_str(enum ibv_advise_mr_advice a)
{
	switch (a) {
	case IBV_ADVISE_MR_ADVICE_PREFETCH:		return "PREFETCH";
	case IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE:	return "PREFETCH_WRITE";
	case IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:	return "PREFETCH_NO_FAULT";
	default:					return "?";
	}
}

/* ibv_advise_mr on one range must return @want (0 or an errno). */
static void advise(struct ibv_pd *pd, enum ibv_advise_mr_advice a,
		   uint32_t flags, struct ibv_sge g, int want,
		   const char *what)
{
	int rc;

	errno = 0;
	rc = ibv_advise_mr(pd, a, flags, &g, 1);
	CHECK(rc == want,
	      "%s: ibv_advise_mr(%s, flags 0x%x, 0x%" PRIx64 "+%u, lkey 0x%x) returned %d (%s), errno %d, want %d (%s)",
	      what, advice_str(a), flags, (uint64_t)g.addr, g.length, g.lkey,
	      rc, rc > 0 ? strerror(rc) : "-", errno, want,
	      want ? strerror(want) : "success");
}

/* A key no MR of the test has. */
static uint32_t bad_key(const struct tcase *tc, uint32_t key)
{
	uint32_t k = key ^ 0x5a5a00u;
	unsigned int i;

	for (i = 0; i < tc->nbufs; i++)
		if (tc->bufs[i].lkey == k || tc->bufs[i].rkey == k)
			return bad_key(tc, k + 0x100);
	if ((tc->sa.imr && tc->sa.imr->lkey == k) ||
	    (tc->sb.imr && tc->sb.imr->lkey == k))
		return bad_key(tc, k + 0x100);
	return k;
}

#define ADV_FLUSH	IBV_ADVISE_MR_FLAG_FLUSH

/*
 * ibv_advise_mr: PREFETCH_WRITE with FLUSH mirrors the range before it
 * returns (a WRITE into it then faults nowhere; CPU-filled and untouched
 * memory); PREFETCH for a READ source; PREFETCH_NO_FAULT mirrors only
 * what is present (the untouched half still faults); without FLUSH the
 * prefetch happens in the background.  Counted in odp_prefetches and
 * odp_prefetch_pages.  Errors: EFAULT for an unknown lkey, a range
 * outside the MR, PREFETCH_WRITE on an MR without LOCAL_WRITE; EINVAL for
 * a pinned MR and for unknown flags.
 */
void test_advise(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB, half = MIB / 2;
	struct ibv_pd *pa = tc->sa.pd, *pb = tc->sb.pd;
	struct buf *src, *r, *r2, *r3, *l3, *r4, *l4, *r5, *ro, *pin;
	struct cnts before, d;
	struct ibv_sge g;
	int64_t end;

	src = obuf(tc, &tc->sa, len);
	r = obuf(tc, &tc->sb, len);
	fill_pat(src->mem, len, 131);
	fill_pat(r->mem, len, G_DST);
	advise(pa, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH,
	       sge(src, 0, len), 0, "PREFETCH of a WRITE source");
	snap(tc, &before);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(r, 0, len), 0, "PREFETCH_WRITE of a CPU-filled target");
	since(tc, &before, &d);
	CHECK(d.v[VT_C_PREFETCHES] == 1 &&
	      d.v[VT_C_PREFETCH_PAGES] >= npages(r->mem, 0, len),
	      "PREFETCH_WRITE of %zu pages: odp_prefetches +%" PRIu64 ", odp_prefetch_pages +%" PRIu64 ", want 1 and >= %zu",
	      npages(r->mem, 0, len), d.v[VT_C_PREFETCHES],
	      d.v[VT_C_PREFETCH_PAGES], npages(r->mem, 0, len));
	xfer_faults(tc, c, IBV_WR_RDMA_WRITE, src, 0, r, 0, len, 0,
		    "WRITE after PREFETCH_WRITE");
	expect_pat(tc, "WRITE after PREFETCH_WRITE", r->mem, len, 131);

	/* Untouched memory, prefetched for writing. */
	r2 = obuf(tc, &tc->sb, len);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(r2, 0, len), 0, "PREFETCH_WRITE of untouched memory");
	xfer_faults(tc, c, IBV_WR_RDMA_WRITE, src, 0, r2, 0, len, 0,
		    "WRITE into prefetched untouched memory");
	expect_pat(tc, "WRITE into prefetched untouched memory", r2->mem,
		   len, 131);

	/* A READ from untouched memory prefetched for reading. */
	r3 = obuf(tc, &tc->sb, len);
	l3 = obuf(tc, &tc->sa, len);
	fill_pat(l3->mem, len, G_BACK);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH, sge(r3, 0, len),
	       0, "PREFETCH of an untouched READ source");
	advise(pa, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(l3, 0, len), 0, "PREFETCH_WRITE of a READ destination");
	xfer_faults(tc, c, IBV_WR_RDMA_READ, l3, 0, r3, 0, len, 0,
		    "READ after PREFETCH");
	expect_pat(tc, "READ of prefetched untouched memory", l3->mem, len,
		   ZERO);

	/* PREFETCH_NO_FAULT: only the present half gets mirrored. */
	r4 = obuf(tc, &tc->sb, len);
	l4 = obuf(tc, &tc->sa, len);
	fill_pat(r4->mem, half, 132);
	advise(pa, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(l4, 0, len), 0, "PREFETCH_WRITE of a READ destination");
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT, ADV_FLUSH,
	       sge(r4, 0, len), 0, "PREFETCH_NO_FAULT, half present");
	xfer_faults(tc, c, IBV_WR_RDMA_READ, l4, 0, r4, 0, half, 0,
		    "READ of the present half after PREFETCH_NO_FAULT");
	expect_pat(tc, "READ of the present half", l4->mem, half, 132);
	xfer_faults(tc, c, IBV_WR_RDMA_READ, l4, half, r4, half, half,
		    npages(r4->mem, half, half),
		    "READ of the untouched half after PREFETCH_NO_FAULT");
	expect_pat(tc, "READ of the untouched half", l4->mem + half, half,
		   ZERO);

	/* Without FLUSH: in the background, done when counted. */
	r5 = obuf(tc, &tc->sb, len);
	snap(tc, &before);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, 0, sge(r5, 0, len),
	       0, "PREFETCH_WRITE without FLUSH");
	end = vt_now_ms() + 10000;
	do
		since(tc, &before, &d);
	while (d.v[VT_C_PREFETCH_PAGES] < npages(r5->mem, 0, len) &&
	       vt_now_ms() < end);
	CHECK(d.v[VT_C_PREFETCH_PAGES] >= npages(r5->mem, 0, len),
	      "PREFETCH_WRITE without FLUSH: odp_prefetch_pages +%" PRIu64 " after 10 s, want >= %zu",
	      d.v[VT_C_PREFETCH_PAGES], npages(r5->mem, 0, len));
	xfer_faults(tc, c, IBV_WR_RDMA_WRITE, src, 0, r5, 0, len, 0,
		    "WRITE after a background prefetch");
	expect_pat(tc, "WRITE after a background prefetch", r5->mem, len,
		   131);

	/* Errors. */
	g = sge(r, 0, PAGE);
	g.lkey = bad_key(tc, g.lkey);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH, g, EFAULT,
	       "unknown lkey");
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, 0x80, sge(r, 0, PAGE),
	       EINVAL, "unknown flag 0x80");
	pin = buf_new(tc, &tc->sb, 64 * KIB, B_PINNED,
		      IBV_ACCESS_LOCAL_WRITE);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH,
	       sge(pin, 0, PAGE), EINVAL, "pinned (non-ODP) MR");
	if (tc->mode == M_EXPLICIT) {
		g = sge(r, len - 100, 200);
		advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH, g, EFAULT,
		       "range beyond the MR's end");
		ro = buf_new(tc, &tc->sb, 64 * KIB, B_ODP,
			     IBV_ACCESS_REMOTE_READ);
		advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
		       sge(ro, 0, PAGE), EFAULT,
		       "PREFETCH_WRITE on an MR without LOCAL_WRITE");
		advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH,
		       sge(ro, 0, PAGE), 0,
		       "PREFETCH on an MR without LOCAL_WRITE");
	}
}
