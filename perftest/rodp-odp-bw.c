// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp-odp-bw: RC RDMA WRITE (or READ) bandwidth into On-Demand Paging
 * memory regions, against pinned ones, with the device's ODP counters.
 *
 *   rodp-odp-bw [--dev-a A] [--dev-b B] [--op write|read] [--mode LIST]
 *               [--size N] [--total N] [--passes N] [--depth N]
 *               [--odp-local] [--timeout S] [--all]
 *
 * One process opens both devices (default rodp0, the requester A, and
 * rodp1, the responder B; the same name twice is a device talking to
 * itself) and connects an RC QP on each to the other directly: no TCP
 * exchange.  A posts RDMA WRITEs (or READs) of --size bytes until
 * --total bytes have moved (a pass), --depth of them in flight.  B holds
 * the "target" buffer, the one the mode is about: the remote buffer A
 * writes into (write) or reads from (read).  A's local buffer is pinned
 * unless --odp-local (then an explicit ODP MR, kept warm) or the mode
 * is implicit.
 *
 * Modes (what happens to B's target buffer; "timed" is what a pass's
 * time covers):
 *   pinned    plain MR.  One untimed warm-up pass.
 *   warm      explicit ODP MR whose pages the NIC has faulted in during
 *             an untimed warm-up pass.
 *   cold      explicit ODP MR; before each pass (untimed) the buffer is
 *             dropped with madvise(MADV_DONTNEED), so the pass faults
 *             every page in again.  Write: the pages are new zero-filled
 *             pages allocated by the fault.  Read: the CPU writes the
 *             data again after the drop (untimed), so the pages exist
 *             and only the NIC's mirror of them is empty.
 *   prefetch  as cold, then ibv_advise_mr(PREFETCH_WRITE for write,
 *             PREFETCH for read, IBV_ADVISE_MR_FLAG_FLUSH) over the
 *             whole buffer.  The advise_mr call is timed: a pass is
 *             prefetch + transfer.
 *   implicit  implicit ODP MRs (ibv_reg_mr(pd, NULL, SIZE_MAX, ...)) on
 *             both sides, A's local buffer and B's target reached
 *             through them; warm (one untimed warm-up pass).
 * Timed (CLOCK_MONOTONIC): the advise_mr call (prefetch) plus the first
 * post_send to the last completion.  Not timed: drops, CPU writes of
 * the data, the data check, reading the counters (for prefetch also
 * between the advise_mr call and the transfer, so the transfer's own
 * faults are known apart from the prefetch's: column xfer_f).
 *
 * Every selected (mode, size) case runs its passes interleaved with the
 * other cases' (pass 1 of every case, then pass 2, ...), so a drift of
 * the machine hits them alike.  A case's bandwidth is that of its median
 * pass (under TCG a pass now and then stalls behind the host's other
 * work).  The ODP numbers are deltas of the devices' hw counters
 * (/sys/class/infiniband/DEV/ports/1/hw_counters, both devices added up;
 * readable from the initial network namespace only) around each timed
 * pass, the drop included, summed over the passes; faults per second
 * are over the passes' summed time.
 *
 * Data: before each case's last pass the data source gets a pattern of
 * its own (and the destination is cleared for read); after it, the
 * destination must hold that pattern byte for byte.
 *
 * --all: every mode at --size and at 1 MiB, the ratio of each case to
 * pinned at its size, and the targets: warm >= 0.95 x pinned and
 * prefetch >= 0.95 x pinned at --size and at 1 MiB, cold >= 0.70 x
 * pinned at 1 MiB.
 *
 * For comparison with the fault columns (us/page), the CPU's own cost of
 * a first write to an anonymous page, in this process: the page fault,
 * the allocation and the zeroing (clear_page) of 2048 pages by
 * madvise(MADV_POPULATE_WRITE), the median of 5 rounds.
 *
 * Exit status: 0 when every transfer completed and moved the right data
 * (targets met or not: this is a benchmark), 1 on wrong data, 2 on a
 * usage error, 3 on a verbs error or a transfer that stopped (no
 * completion for --timeout s: then both QPs' states, every hw counter of
 * both devices, `rdma resource show qp -dd`, and the same 10 s later).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "verbs.h"

#define BLOCK		(2ul << 20)	/* buffers aligned to the mirror block */
#define MIB		(1ul << 20)
#define MAX_TOTAL	(1ul << 30)	/* one SGE covers a whole buffer */
#define POLL_BATCH	16
#define MAX_PASSES	100

static int timeout_s = 30;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("rodp-odp-bw: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(3);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf,
							1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("rodp-odp-bw: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (--help for usage)\n", stderr);
	exit(2);
}

static void stall_report(void);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The CPU's first write to an anonymous page: fault, allocation, zeroing,
 * microseconds per 4 KiB page (median of 5 rounds of 8 MiB); 0 when
 * MADV_POPULATE_WRITE is not there (before Linux 5.14).
 */
static double cpu_first_touch_us(void)
{
	const size_t len = 8u << 20, pages = len / 4096;
	double t[5], t0;
	void *p;
	int i;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < 5; i++) {
		madvise(p, len, MADV_DONTNEED);
		t0 = now();
		if (madvise(p, len, MADV_POPULATE_WRITE)) {
			munmap(p, len);
			return 0;
		}
		t[i] = (now() - t0) * 1e6 / (double)pages;
	}
	munmap(p, len);
	qsort(t, 5, sizeof(t[0]), cmp_double);
	return t[2];
}

/* ---------------------------------------------------------------------- */
/* Counters                                                                */
/* ---------------------------------------------------------------------- */

struct counters {
	uint64_t v[VT_C_ODP_NUM];
};

/* Which counters every device opened has (a missing one reads as 0). */
static bool cnt_have[VT_C_ODP_NUM];

/* The sum of the counters of @devs (@ndev names). */
static void cnt_read(const char *const *devs, int ndev, struct counters *c)
{
	uint64_t v;
	int d, i;

	memset(c, 0, sizeof(*c));
	for (d = 0; d < ndev; d++)
		for (i = 0; i < VT_C_ODP_NUM; i++)
			if (vt_hw_counter(devs[d], vt_odp_cnt_names[i], &v))
				c->v[i] += v;
}

static void cnt_probe(const char *const *devs, int ndev)
{
	uint64_t v;
	int d, i;

	for (i = 0; i < VT_C_ODP_NUM; i++) {
		cnt_have[i] = true;
		for (d = 0; d < ndev; d++)
			if (!vt_hw_counter(devs[d], vt_odp_cnt_names[i], &v))
				cnt_have[i] = false;
	}
}

/* ---------------------------------------------------------------------- */
/* Devices and the QP pair                                                 */
/* ---------------------------------------------------------------------- */

/**
 * struct dev - one end: a device, its PD, CQ and QP
 * @name: the device's name
 * @vd: the device (context, port 1, IPv4 RoCE v2 GID)
 * @attr: ibv_query_device_ex() (the ODP capabilities)
 */
struct dev {
	const char *name;
	struct vt_dev vd;
	struct ibv_device_attr_ex attr;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
};

static void dev_open(struct dev *d)
{
	if (vt_dev_open(&d->vd, d->name, false))
		die("%s", d->vd.error);
	if (ibv_query_device_ex(d->vd.ctx, NULL, &d->attr))
		die("%s: ibv_query_device_ex failed", d->name);
	d->pd = ibv_alloc_pd(d->vd.ctx);
	if (!d->pd)
		die("%s: ibv_alloc_pd: %s", d->name, strerror(errno));
}

static void dev_make_qp(struct dev *d, int depth)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = (uint32_t)depth, .max_recv_wr = 1,
		.max_send_sge = 1, .max_recv_sge = 1,
	};

	d->cq = ibv_create_cq(d->vd.ctx, 2 * depth, NULL, NULL, 0);
	if (!d->cq)
		die("%s: ibv_create_cq: %s", d->name, strerror(errno));
	d->qp = vt_qp_create(d->pd, d->cq, d->cq, &cap, false);
	if (!d->qp)
		die("%s: ibv_create_qp (%d WRs): %s", d->name, depth,
		    strerror(errno));
}

/* At most @depth RDMA reads in flight, at least 1, as @cap allows. */
static uint8_t rd_depth(int depth, int cap)
{
	int rd = depth < cap ? depth : cap;

	return (uint8_t)(rd > 0 ? (rd < 255 ? rd : 255) : 1);
}

/* Brings @self's QP to RTS, connected to @peer's (PSN 0x100 each way). */
static void qp_connect(struct dev *self, struct dev *peer, enum ibv_mtu mtu,
		       int depth)
{
	const struct ibv_device_attr *a = &self->attr.orig_attr;
	struct vt_path path;

	vt_path_init(&path, &self->vd, &peer->vd);
	path.mtu = mtu;
	path.rd_atomic = rd_depth(depth, a->max_qp_init_rd_atom);
	path.dest_rd_atomic = rd_depth(depth, a->max_qp_rd_atom);
	path.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		      IBV_ACCESS_REMOTE_READ;
	if (vt_qp_connect(self->qp, &path, &self->vd, peer->qp->qp_num,
			  0x100, 0x100, &peer->vd.gid))
		die("%s", vt_errmsg());
}

/* ---------------------------------------------------------------------- */
/* Memory                                                                  */
/* ---------------------------------------------------------------------- */

/* @len bytes of anonymous memory aligned to the 2 MiB mirror block. */
static uint8_t *buf_alloc(size_t len)
{
	size_t span = len + BLOCK;
	uintptr_t p, a;
	void *m;

	m = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		die("mmap %zu bytes: %s", span, strerror(errno));
	p = (uintptr_t)m;
	a = (p + BLOCK - 1) & ~(BLOCK - 1);
	if (a > p)
		munmap(m, a - p);
	if (p + span > a + len)
		munmap((void *)(a + len), p + span - (a + len));
	return (uint8_t *)a;
}

static uint64_t pat_word(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + i * 0xd6e8feb86659fd93ull;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 32);
}

static void pat_fill(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t *w = (uint64_t *)(void *)buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pat_word(seed, i);
}

/*
 * Checks @buf against the pattern @seed; prints the first difference and
 * returns false when there is one.
 */
static bool pat_check(const uint8_t *buf, size_t len, uint64_t seed,
		      const char *what)
{
	const uint64_t *w = (const uint64_t *)(const void *)buf;
	size_t i, bad = 0, first = 0;
	uint64_t want, got = 0;

	for (i = 0; i < len / 8; i++) {
		if (w[i] == pat_word(seed, i))
			continue;
		if (!bad++) {
			first = i;
			got = w[i];
		}
	}
	if (!bad)
		return true;
	want = pat_word(seed, first);
	fprintf(stderr,
		"rodp-odp-bw: %s: WRONG DATA: %zu of %zu 8-byte words differ; first at byte %zu (page %zu): want %016" PRIx64 ", got %016" PRIx64 "\n",
		what, bad, len / 8, first * 8, first * 8 / 4096, want, got);
	return false;
}

/* ---------------------------------------------------------------------- */
/* Modes and cases                                                         */
/* ---------------------------------------------------------------------- */

enum mode { M_PINNED, M_WARM, M_COLD, M_PREFETCH, M_IMPLICIT, M_MAX };

static const char *const mode_name[M_MAX] = {
	[M_PINNED] = "pinned", [M_WARM] = "warm", [M_COLD] = "cold",
	[M_PREFETCH] = "prefetch", [M_IMPLICIT] = "implicit",
};

/**
 * struct target - B's buffer for one mode
 * @buf: the memory (@len bytes, 2 MiB aligned)
 * @mr: its MR on B (explicit ODP or pinned; NULL for implicit)
 * @rkey: what A names it with
 */
struct target {
	uint8_t *buf;
	struct ibv_mr *mr;
	uint32_t rkey;
};

/**
 * struct result - one (mode, size) case
 * @secs: timed seconds over its passes
 * @t: each timed pass's seconds
 * @cnt: counter deltas over its passes
 * @xfer_faults: fault events during the transfers (without a prefetch's)
 * @data_ok: the last pass moved the right bytes
 */
struct result {
	enum mode mode;
	size_t size;
	double secs;
	double t[MAX_PASSES];
	struct counters cnt;
	uint64_t xfer_faults;
	bool data_ok;
};

static struct dev req = { .name = "rodp0" }, resp = { .name = "rodp1" };
static bool op_read;
static bool odp_local;
static size_t total = 8 * MIB;
static int depth = 16;
static const char *cnt_devs[2];
static int cnt_ndev;

static uint8_t *local_buf;
static struct ibv_mr *local_mr;		/* the requester's: pinned or ODP */
static struct ibv_mr *implicit_a, *implicit_b;
static struct target tgt[M_MAX];
static bool mode_used[M_MAX];

static bool mode_odp(enum mode m)
{
	return m != M_PINNED;
}

static struct ibv_mr *reg(struct dev *d, void *addr, size_t len, int access,
			  const char *what)
{
	struct ibv_mr *mr = ibv_reg_mr(d->pd, addr, len, access);

	if (!mr)
		die("%s: ibv_reg_mr(%s%s, %zu bytes): %s (odp caps: general 0x%" PRIx64 ", rc 0x%x)",
		    d->name, what,
		    access & IBV_ACCESS_ON_DEMAND ? ", IBV_ACCESS_ON_DEMAND" :
		    "", len, strerror(errno),
		    (uint64_t)d->attr.odp_caps.general_caps,
		    d->attr.odp_caps.per_transport_caps.rc_odp_caps);
	return mr;
}

static void setup_memory(void)
{
	const int acc = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_REMOTE_READ;
	int m;

	local_buf = buf_alloc(total);
	pat_fill(local_buf, total, 1);
	local_mr = reg(&req, local_buf, total,
		       odp_local ? acc | IBV_ACCESS_ON_DEMAND : acc,
		       "local buffer");
	for (m = 0; m < M_MAX; m++) {
		if (!mode_used[m])
			continue;
		tgt[m].buf = buf_alloc(total);
		/* Real pages for every mode, as a program's data would be. */
		pat_fill(tgt[m].buf, total, 2);
		if (m == M_IMPLICIT)
			continue;
		tgt[m].mr = reg(&resp, tgt[m].buf, total,
				mode_odp(m) ? acc | IBV_ACCESS_ON_DEMAND : acc,
				mode_name[m]);
		tgt[m].rkey = tgt[m].mr->rkey;
	}
	if (mode_used[M_IMPLICIT]) {
		implicit_a = reg(&req, NULL, SIZE_MAX, acc | IBV_ACCESS_ON_DEMAND,
				 "implicit, NULL, SIZE_MAX");
		implicit_b = reg(&resp, NULL, SIZE_MAX, acc | IBV_ACCESS_ON_DEMAND,
				 "implicit, NULL, SIZE_MAX");
		tgt[M_IMPLICIT].rkey = implicit_b->rkey;
	}
}

/* ---------------------------------------------------------------------- */
/* A pass                                                                  */
/* ---------------------------------------------------------------------- */

static const char *wc_op(enum ibv_wc_opcode op)
{
	switch (op) {
	case IBV_WC_RDMA_WRITE:
		return "RDMA WRITE";
	case IBV_WC_RDMA_READ:
		return "RDMA READ";
	default:
		return "other";
	}
}

/* All of one pass's WRs: total / size messages, @depth in flight. */
static void transfer(enum mode m, size_t size, int pass)
{
	struct ibv_send_wr wr[POLL_BATCH], *bad;
	struct ibv_sge sge[POLL_BATCH];
	struct ibv_wc wc[POLL_BATCH];
	size_t n = total / size, posted = 0, done = 0, off;
	uint32_t lkey = m == M_IMPLICIT ? implicit_a->lkey : local_mr->lkey;
	double last = now();
	int i, k, want, got;

	while (done < n) {
		want = (int)(n - posted);
		if (want > depth - (int)(posted - done))
			want = depth - (int)(posted - done);
		if (want > POLL_BATCH)
			want = POLL_BATCH;
		for (i = 0; i < want; i++) {
			off = (posted + (size_t)i) * size % total;
			sge[i].addr = (uintptr_t)(local_buf + off);
			sge[i].length = (uint32_t)size;
			sge[i].lkey = lkey;
			vt_send_wr(&wr[i], posted + (size_t)i, &sge[i], 1,
				   op_read ? IBV_WR_RDMA_READ :
					     IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr[i].wr.rdma.remote_addr =
				(uintptr_t)(tgt[m].buf + off);
			wr[i].wr.rdma.rkey = tgt[m].rkey;
			wr[i].next = i + 1 < want ? &wr[i + 1] : NULL;
		}
		if (want > 0) {
			k = ibv_post_send(req.qp, wr, &bad);
			if (k)
				die("%s %zu: ibv_post_send (WR %zu of %zu): %s",
				    mode_name[m], size, posted, n, strerror(k));
			posted += (size_t)want;
		}
		got = ibv_poll_cq(req.cq, POLL_BATCH, wc);
		if (got < 0)
			die("%s %zu: ibv_poll_cq failed (%d)", mode_name[m],
			    size, got);
		for (i = 0; i < got; i++)
			if (wc[i].status != IBV_WC_SUCCESS)
				die("%s %zu, pass %d: %s of message %" PRIu64 " (bytes %" PRIu64 "..) completed with %s (vendor_err 0x%x)",
				    mode_name[m], size, pass + 1,
				    wc_op(wc[i].opcode), wc[i].wr_id,
				    wc[i].wr_id * size % total,
				    ibv_wc_status_str(wc[i].status),
				    wc[i].vendor_err);
		if (got) {
			done += (size_t)got;
			last = now();
		} else if (now() - last > timeout_s) {
			stall_report();
			die("%s %zu, pass %d: no completion for %d s (%zu of %zu messages completed, %zu posted)",
			    mode_name[m], size, pass + 1, timeout_s, done, n,
			    posted);
		}
	}
}

static const char *qp_state_name(struct ibv_qp *qp)
{
	return vt_qp_state_str(vt_qp_state(qp));
}

/*
 * What a stalled transfer leaves to look at: QP states, every counter of
 * both devices, and which of them still move in the next 10 s.
 */
static void stall_report(void)
{
	static struct vt_hw_snap s0[2], s1[2];
	const struct dev *d[2] = { &req, &resp };
	int i, j, nd = strcmp(req.name, resp.name) ? 2 : 1;

	fprintf(stderr, "rodp-odp-bw: stalled; QP %s 0x%x: %s, QP %s 0x%x: %s\n",
		req.name, req.qp->qp_num, qp_state_name(req.qp), resp.name,
		resp.qp->qp_num, qp_state_name(resp.qp));
	for (i = 0; i < nd; i++) {
		vt_hw_snap(d[i]->name, &s0[i]);
		fprintf(stderr, "rodp-odp-bw: %s hw_counters:", d[i]->name);
		for (j = 0; j < s0[i].n; j++)
			if (s0[i].v[j])
				fprintf(stderr, " %s=%" PRIu64, s0[i].name[j],
					s0[i].v[j]);
		fputs(" (others 0)\n", stderr);
	}
	/* The driver's own view of the QPs (iproute2; a missing one says so). */
	fprintf(stderr, "rodp-odp-bw: rdma resource show qp -dd:\n");
	fflush(stderr);
	if (system("rdma resource show qp -dd 1>&2"))
		fprintf(stderr, "rodp-odp-bw: (rdma resource show failed)\n");
	sleep(10);
	for (i = 0; i < nd; i++) {
		vt_hw_snap(d[i]->name, &s1[i]);
		fprintf(stderr, "rodp-odp-bw: %s in the next 10 s:",
			d[i]->name);
		for (j = 0; j < s1[i].n && j < s0[i].n; j++)
			if (s1[i].v[j] != s0[i].v[j])
				fprintf(stderr, " %s +%" PRIu64, s1[i].name[j],
					s1[i].v[j] - s0[i].v[j]);
		fputc('\n', stderr);
	}
	fprintf(stderr, "rodp-odp-bw: QP %s: %s, QP %s: %s; rdma resource show qp -dd:\n",
		req.name, qp_state_name(req.qp), resp.name, qp_state_name(resp.qp));
	fflush(stderr);
	if (system("rdma resource show qp -dd 1>&2"))
		fprintf(stderr, "rodp-odp-bw: (rdma resource show failed)\n");
}

/* Drops the target pages (the NIC's mirror goes with them). */
static void drop(enum mode m)
{
	if (madvise(tgt[m].buf, total, MADV_DONTNEED))
		die("madvise(MADV_DONTNEED): %s", strerror(errno));
}

static void prefetch(enum mode m, size_t size)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)tgt[m].buf,
		.length = (uint32_t)total,
		.lkey = tgt[m].mr->lkey,
	};
	int rc;

	rc = ibv_advise_mr(resp.pd, op_read ? IBV_ADVISE_MR_ADVICE_PREFETCH :
			   IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			   IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (rc)
		die("%s %zu: ibv_advise_mr(%s, FLUSH, %zu bytes) on %s: %s",
		    mode_name[m], size, op_read ? "PREFETCH" : "PREFETCH_WRITE",
		    total, resp.name, strerror(rc));
}

/*
 * One pass of case @r.  @timed: add its time and counters to @r; @seed:
 * non-zero for the last pass, whose data is checked (the pattern's seed).
 */
static void pass(struct result *r, int passno, bool timed, uint64_t seed)
{
	enum mode m = r->mode;
	uint8_t *src = op_read ? tgt[m].buf : local_buf;
	uint8_t *dst = op_read ? local_buf : tgt[m].buf;
	struct counters c0, cx, c1;
	double t0, tp, tx, t1;
	char what[64];
	int i;

	cnt_read(cnt_devs, cnt_ndev, &c0);
	if (m == M_COLD || m == M_PREFETCH) {
		drop(m);
		/* Read: the data is there again, the mirror is not. */
		if (op_read && !seed)
			pat_fill(src, total, 3);
	}
	if (seed) {
		pat_fill(src, total, seed);
		/*
		 * Write: the new pattern is proof enough, and a cold
		 * target must stay unpopulated.
		 */
		if (op_read)
			memset(dst, 0, total);
	}

	t0 = now();
	tp = t0;
	cx = c0;
	if (m == M_PREFETCH) {
		prefetch(m, r->size);
		/* The transfer's own faults apart from the prefetch's. */
		tp = now();
		cnt_read(cnt_devs, cnt_ndev, &cx);
	}
	tx = now();
	transfer(m, r->size, passno);
	t1 = now();
	cnt_read(cnt_devs, cnt_ndev, &c1);

	if (timed) {
		r->t[passno] = (tp - t0) + (t1 - tx);
		r->secs += r->t[passno];
		for (i = 0; i < VT_C_ODP_NUM; i++)
			r->cnt.v[i] += c1.v[i] - c0.v[i];
		r->xfer_faults += c1.v[VT_C_FAULTS] - cx.v[VT_C_FAULTS];
	}
	if (seed) {
		snprintf(what, sizeof(what), "%s %zu %s", mode_name[m],
			 r->size, op_read ? "read" : "write");
		r->data_ok = pat_check(dst, total, seed, what);
	}
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */
/* ---------------------------------------------------------------------- */

static void human_size(char *s, size_t n, size_t v)
{
	if (v >= MIB && !(v % MIB))
		snprintf(s, n, "%zuM", v / MIB);
	else if (v >= 1024 && !(v % 1024))
		snprintf(s, n, "%zuK", v / 1024);
	else
		snprintf(s, n, "%zu", v);
}

/* Bandwidth of the median pass (the mean of the middle two for even). */
static double mibs(const struct result *r, int passes)
{
	double t[MAX_PASSES], med;

	memcpy(t, r->t, sizeof(t[0]) * (size_t)passes);
	qsort(t, (size_t)passes, sizeof(t[0]), cmp_double);
	med = passes % 2 ? t[passes / 2] :
			   (t[passes / 2 - 1] + t[passes / 2]) / 2;
	return med > 0 ? (double)total / med / MIB : 0;
}

/* Half the range of the passes' bandwidths, in % of the median's. */
static double spread(const struct result *r, int passes)
{
	double lo = 0, hi = 0, b, med = mibs(r, passes);
	int i;

	for (i = 0; i < passes; i++) {
		b = r->t[i] > 0 ? (double)total / r->t[i] / MIB : 0;
		if (!i || b < lo)
			lo = b;
		if (!i || b > hi)
			hi = b;
	}
	return med > 0 ? (hi - lo) / 2 / med * 100 : 0;
}

static const struct result *find(const struct result *res, int nres,
				 enum mode m, size_t size)
{
	int i;

	for (i = 0; i < nres; i++)
		if (res[i].mode == m && res[i].size == size)
			return &res[i];
	return NULL;
}

static void print_header(void)
{
	printf("%-9s %-5s %5s %8s %4s %5s %9s %8s %9s %6s %7s %7s %5s %6s %7s %8s %4s\n",
	       "mode", "op", "size", "MiB/s", "+-%", "/pin", "faults/s",
	       "us/page", "us/fault", "faults", "xfer_f", "pages", "fails",
	       "invals", "inv_pgs", "pf_pages", "data");
}

static void print_row(const struct result *r, const struct result *pin,
		      int passes)
{
	const uint64_t *v = r->cnt.v;
	char sz[24], ratio[16], fps[16], upp[16], upf[16];

	human_size(sz, sizeof(sz), r->size);
	strcpy(ratio, "-");
	if (pin && pin != r && mibs(pin, passes) > 0)
		snprintf(ratio, sizeof(ratio), "%.2f",
			 mibs(r, passes) / mibs(pin, passes));
	snprintf(fps, sizeof(fps), "%.0f",
		 r->secs > 0 ? (double)v[VT_C_FAULTS] / r->secs : 0);
	strcpy(upp, "-");
	strcpy(upf, "-");
	if (v[VT_C_FAULT_PAGES] && cnt_have[VT_C_FAULT_NS])
		snprintf(upp, sizeof(upp), "%.2f",
			 (double)v[VT_C_FAULT_NS] /
			 (double)v[VT_C_FAULT_PAGES] / 1e3);
	if (v[VT_C_FAULTS] && cnt_have[VT_C_FAULT_NS])
		snprintf(upf, sizeof(upf), "%.1f",
			 (double)v[VT_C_FAULT_NS] / (double)v[VT_C_FAULTS] /
			 1e3);
	if (!cnt_have[VT_C_FAULTS])
		strcpy(fps, "-");
	printf("%-9s %-5s %5s %8.1f %4.0f %5s %9s %8s %9s %6" PRIu64 " %7" PRIu64 " %7" PRIu64 " %5" PRIu64 " %6" PRIu64 " %7" PRIu64 " %8" PRIu64 " %4s\n",
	       mode_name[r->mode], op_read ? "read" : "write", sz,
	       mibs(r, passes), spread(r, passes), ratio, fps, upp, upf,
	       v[VT_C_FAULTS], r->xfer_faults,
	       v[VT_C_FAULT_PAGES], v[VT_C_FAULT_FAILS], v[VT_C_INVALS],
	       v[VT_C_INVAL_PAGES], v[VT_C_PREFETCH_PAGES],
	       r->data_ok ? "ok" : "BAD");
	fflush(stdout);
}

static void print_target(const struct result *res, int nres, int passes,
			 enum mode m, size_t size, double want)
{
	const struct result *r = find(res, nres, m, size);
	const struct result *p = find(res, nres, M_PINNED, size);
	char sz[24];
	double q;

	human_size(sz, sizeof(sz), size);
	if (!r || !p || mibs(p, passes) <= 0) {
		printf("target: %-8s >= %.2f x pinned at %4s: not measured\n",
		       mode_name[m], want, sz);
		return;
	}
	q = mibs(r, passes) / mibs(p, passes);
	printf("target: %-8s >= %.2f x pinned at %4s: %.2f %s%s\n",
	       mode_name[m], want, sz, q, q >= want ? "ok" : "MISS",
	       r->data_ok ? "" : " (wrong data)");
}

static const char *thp_mode(void)
{
	static char s[128];
	char *a, *b;
	FILE *f;

	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f || !fgets(s, sizeof(s), f)) {
		if (f)
			fclose(f);
		return "?";
	}
	fclose(f);
	a = strchr(s, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!a || !b)
		return "?";
	*b = 0;
	return a + 1;
}

/* ---------------------------------------------------------------------- */
/* Main                                                                    */
/* ---------------------------------------------------------------------- */

static void usage(void)
{
	puts("usage: rodp-odp-bw [options]\n"
	     "  -a, --dev-a DEV    requester, holds the local buffer (rodp0)\n"
	     "  -b, --dev-b DEV    responder, holds the target buffer (rodp1)\n"
	     "  -o, --op OP        write (default) or read\n"
	     "  -m, --mode LIST    comma-separated: pinned,warm,cold,prefetch,implicit\n"
	     "                     (default: all five)\n"
	     "  -s, --size N       message size (default 64K; K, M suffixes)\n"
	     "  -t, --total N      bytes per pass, the target buffer's size\n"
	     "                     (default 8M, at most 1G)\n"
	     "  -n, --passes N     timed passes per case (default 9)\n"
	     "  -q, --depth N      WRs in flight (default 16)\n"
	     "  -l, --odp-local    the local buffer is an explicit ODP MR too\n"
	     "  -T, --timeout S    give up after S s without a completion (30)\n"
	     "  -A, --all          every mode at --size and at 1M, ratios to\n"
	     "                     pinned and the targets\n"
	     "See the comment at the top of perftest/rodp-odp-bw.c for what\n"
	     "each mode does and what is timed.");
}

static size_t parse_size(const char *s, const char *opt)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		usage_error("%s wants a size, not '%s'", opt, s);
	switch (*end) {
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		usage_error("%s wants a size, not '%s'", opt, s);
	return (size_t)v;
}

static void parse_modes(char *list)
{
	char *tok, *save = NULL;
	int m;

	memset(mode_used, 0, sizeof(mode_used));
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (m = 0; m < M_MAX; m++)
			if (!strcmp(tok, mode_name[m]))
				break;
		if (m == M_MAX)
			usage_error("unknown mode '%s'", tok);
		mode_used[m] = true;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev-a", required_argument, NULL, 'a' },
		{ "dev-b", required_argument, NULL, 'b' },
		{ "op", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "total", required_argument, NULL, 't' },
		{ "passes", required_argument, NULL, 'n' },
		{ "depth", required_argument, NULL, 'q' },
		{ "odp-local", no_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "all", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct result res[2 * M_MAX];
	size_t size = 64 * 1024, sizes[2];
	int passes = 9, nsizes = 1, nres = 0, i, m, p, c;
	bool all = false, bad = false;
	enum ibv_mtu mtu;

	for (m = 0; m < M_MAX; m++)
		mode_used[m] = true;
	while ((c = getopt_long(argc, argv, "a:b:o:m:s:t:n:q:lT:Ah", opts,
				NULL)) != -1) {
		switch (c) {
		case 'a':
			req.name = optarg;
			break;
		case 'b':
			resp.name = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "read"))
				op_read = true;
			else if (strcmp(optarg, "write"))
				usage_error("--op is write or read");
			break;
		case 'm':
			parse_modes(optarg);
			break;
		case 's':
			size = parse_size(optarg, "--size");
			break;
		case 't':
			total = parse_size(optarg, "--total");
			break;
		case 'n':
			passes = atoi(optarg);
			break;
		case 'q':
			depth = atoi(optarg);
			break;
		case 'l':
			odp_local = true;
			break;
		case 'T':
			timeout_s = atoi(optarg);
			break;
		case 'A':
			all = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage_error("bad option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (all)
		for (m = 0; m < M_MAX; m++)
			mode_used[m] = true;
	sizes[0] = size;
	if (all && size != MIB)
		sizes[nsizes++] = MIB;
	for (i = 0; i < nsizes; i++)
		if (sizes[i] > total)
			total = sizes[i];
	if (!size || size > UINT32_MAX)
		usage_error("--size must be 1..4G-1");
	if (total > MAX_TOTAL || total % 8)
		usage_error("--total must be a multiple of 8, at most 1G");
	for (i = 0; i < nsizes; i++)
		if (total % sizes[i])
			usage_error("--total (%zu) must be a multiple of the message size (%zu)",
				    total, sizes[i]);
	if (passes < 1 || passes > MAX_PASSES || depth < 1 || depth > 4096 ||
	    timeout_s < 1)
		usage_error("--passes (1..%d), --depth (1..4096) and --timeout must be positive",
			    MAX_PASSES);

	dev_open(&req);
	dev_open(&resp);
	dev_make_qp(&req, depth);
	dev_make_qp(&resp, depth);
	mtu = req.vd.port.active_mtu < resp.vd.port.active_mtu ?
	      req.vd.port.active_mtu : resp.vd.port.active_mtu;
	qp_connect(&req, &resp, mtu, depth);
	qp_connect(&resp, &req, mtu, depth);
	cnt_devs[cnt_ndev++] = resp.name;
	if (strcmp(req.name, resp.name))
		cnt_devs[cnt_ndev++] = req.name;
	cnt_probe(cnt_devs, cnt_ndev);
	setup_memory();

	for (i = 0; i < nsizes; i++)
		for (m = 0; m < M_MAX; m++) {
			if (!mode_used[m])
				continue;
			memset(&res[nres], 0, sizeof(res[nres]));
			res[nres].mode = (enum mode)m;
			res[nres].size = sizes[i];
			nres++;
		}

	printf("# rodp-odp-bw: RC RDMA %s, %s -> %s (target on %s), %zu bytes per pass, %d passes, %d in flight, MTU %d, local buffer %s, THP %s\n",
	       op_read ? "READ" : "WRITE", req.name, resp.name, resp.name, total,
	       passes, depth, 128 << mtu, odp_local ? "explicit ODP" : "pinned",
	       thp_mode());
	printf("# timed: (prefetch: advise_mr FLUSH +) first post_send of a pass to its last completion; not timed: MADV_DONTNEED, CPU writes, counter reads, data check\n");
	if (!cnt_have[VT_C_FAULTS])
		printf("# no ODP counters in /sys/class/infiniband/%s/ports/1/hw_counters: counter columns are 0\n",
		       resp.name);

	/* Warm-up: pinned, warm and implicit start with their pages mapped. */
	for (i = 0; i < nres; i++)
		if (res[i].mode == M_PINNED || res[i].mode == M_WARM ||
		    res[i].mode == M_IMPLICIT)
			pass(&res[i], -1, false, 0);
	for (p = 0; p < passes; p++)
		for (i = 0; i < nres; i++)
			pass(&res[i], p, true,
			     p == passes - 1 ? 100 + (uint64_t)i : 0);

	print_header();
	for (i = 0; i < nres; i++) {
		print_row(&res[i], find(res, nres, M_PINNED, res[i].size),
			  passes);
		bad |= !res[i].data_ok;
	}
	printf("# MiB/s: 2^20 bytes/s of the median timed pass; +-%%: half the range of the passes' MiB/s, in %% of it; /pin: ratio to pinned at that size\n"
	       "# faults (fault events), pages (pages faulted in), fails, invals, inv_pgs (pages invalidated), pf_pages (pages prefetched): hw counter deltas over the timed passes, %s, a prefetch's own faults included; xfer_f: the fault events during the transfers alone; faults/s: faults over the timed seconds; us/page, us/fault: odp_fault_ns over pages, over faults\n",
	       cnt_ndev > 1 ? "both devices" : "one device");
	printf("# the CPU's first write to a 4 KiB anonymous page (fault, allocation, clear_page; MADV_POPULATE_WRITE of 8 MiB, median of 5): %.2f us/page\n",
	       cpu_first_touch_us());
	if (all) {
		print_target(res, nres, passes, M_WARM, size, 0.95);
		print_target(res, nres, passes, M_WARM, MIB, 0.95);
		print_target(res, nres, passes, M_PREFETCH, size, 0.95);
		print_target(res, nres, passes, M_PREFETCH, MIB, 0.95);
		print_target(res, nres, passes, M_COLD, MIB, 0.70);
	}
	if (bad)
		fprintf(stderr, "rodp-odp-bw: wrong data moved (see above)\n");
	return bad ? 1 : 0;
}
