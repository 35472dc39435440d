// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test's fixtures (odp_test.h): the ODP counters of the test's
 * devices, data patterns and their checks, sides, buffers and MRs, RC
 * connections, posting and completions (with a stall report), and forked
 * children.  Everything a test allocates is tracked in its struct tcase
 * and released by odp_main.c's teardown.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "odp_test.h"

/* ---------------------------------------------------------------------- */
/* ODP hardware counters                                                   */
/* ---------------------------------------------------------------------- */

bool verbose;
bool lifespan_zero;
bool use_netlink = true;	/* until it fails once */

/* Add device @d's ODP counters to @c. */
static void dev_cnts_add(const struct vt_dev *d, struct cnts *c)
{
	uint64_t v;
	int i;

	if (use_netlink && vt_nl_counters_add(d->index, vt_odp_cnt_names,
					      VT_C_ODP_NUM, c->v))
		return;
	/* sysfs keeps hw counters for their lifespan, at least a jiffy. */
	usleep(lifespan_zero ? 10000 : 30000);
	for (i = 0; i < VT_C_ODP_NUM; i++) {
		CHECK(vt_hw_counter(d->name, vt_odp_cnt_names[i], &v),
		      "cannot read " VT_HW_DIR "/%s: %s", d->name,
		      vt_odp_cnt_names[i], strerror(errno));
		c->v[i] += v;
	}
}

/* ---------------------------------------------------------------------- */
/* Patterns and comparisons                                                */
/* ---------------------------------------------------------------------- */

/* Fill @p with a byte stream that depends on @seed (ZERO: zeros). */
void fill_pat(void *dst, size_t len, uint32_t seed)
{
	if (seed == ZERO)
		memset(dst, 0, len);
	else
		vt_fill(dst, len, seed);
}

/* Pages of 4 KiB that [p + off, p + off + len) touches. */
size_t npages(const void *p, size_t off, size_t len)
{
	uintptr_t s = (uintptr_t)p + off;

	return len ? (s + len - 1) / PAGE - s / PAGE + 1 : 0;
}

/*
 * Compare @got with @want over @size bytes; report the first difference
 * (relative to the region [@off, @off + @len) the data should be in).
 */
static bool same(const char *what, const uint8_t *got, const uint8_t *want,
		 size_t size, size_t off, size_t len)
{
	size_t i, n;

	if (!memcmp(got, want, size))
		return true;
	for (i = 0; got[i] == want[i]; i++)
		;
	if (i >= off && i < off + len)
		vt_diag("%s: first difference at byte %zu of the %zu-byte data: got 0x%02x, want 0x%02x",
			what, i - off, len, got[i], want[i]);
	else if (i < off)
		vt_diag("%s: byte %zu before the data changed: got 0x%02x, want 0x%02x",
			what, off - i, got[i], want[i]);
	else
		vt_diag("%s: byte %zu after the data's end changed: got 0x%02x, want 0x%02x",
			what, i - off - len, got[i], want[i]);
	for (n = 0; i < size; i++)
		n += got[i] != want[i];
	vt_diag("%s: %zu of %zu bytes differ from the first difference on",
		what, n, size);
	return false;
}

/* ---------------------------------------------------------------------- */
/* Checks of data and counters                                             */
/* ---------------------------------------------------------------------- */

const char *const mode_names[] = {
	[M_EXPLICIT] = "explicit", [M_IMPLICIT] = "implicit", [M_NONE] = "",
};

const char *tmp_dir = "/tmp";

/* A scratch buffer of @len bytes (valid until the next call). */
static uint8_t *scratch(struct tcase *tc, size_t len)
{
	if (len > tc->scratch_len) {
		free(tc->scratch);
		tc->scratch = malloc(len);
		CHECK(tc->scratch, "out of memory (%zu bytes)", len);
		tc->scratch_len = len;
	}
	return tc->scratch;
}

/*
 * @got (@size bytes) must hold @guard's pattern except [@off, @off +
 * @len), which must hold @data (NULL: zeros).
 */
void expect_region(struct tcase *tc, const char *what,
		   const uint8_t *got, size_t size, size_t off,
		   const void *data, size_t len, uint32_t guard)
{
	uint8_t *want = scratch(tc, size);

	fill_pat(want, size, guard);
	if (data)
		memcpy(want + off, data, len);
	else
		memset(want + off, 0, len);
	if (!same(what, got, want, size, off, len))
		fail();
}

/* @got must hold @len bytes of @seed's pattern. */
void expect_pat(struct tcase *tc, const char *what, const uint8_t *got,
		size_t len, uint32_t seed)
{
	expect_region(tc, what, got, len, 0, NULL, 0, seed);
}

/* @got must equal @want. */
void expect_same(const char *what, const void *got, const void *want,
		 size_t len)
{
	if (!same(what, got, want, len, 0, len))
		fail();
}

/* The ODP counters of the test's devices (summed when they are two). */
void snap(const struct tcase *tc, struct cnts *c)
{
	memset(c, 0, sizeof(*c));
	dev_cnts_add(tc->pair->a, c);
	if (tc->pair->b != tc->pair->a)
		dev_cnts_add(tc->pair->b, c);
}

/* @d: how far the counters moved since @before. */
void since(const struct tcase *tc, const struct cnts *before,
	   struct cnts *d)
{
	struct cnts now;
	int i;

	snap(tc, &now);
	for (i = 0; i < VT_C_ODP_NUM; i++)
		d->v[i] = now.v[i] - before->v[i];
}

/* The transfer faulted: at least one fault event and @pages pages. */
void expect_faulted(const struct cnts *d, size_t pages,
		    const char *what)
{
	if (verbose)
		vt_diag("%s: odp_faults +%" PRIu64 ", odp_fault_pages +%" PRIu64
			" (%zu pages touched), odp_fault_ns +%" PRIu64, what,
			d->v[VT_C_FAULTS], d->v[VT_C_FAULT_PAGES], pages,
			d->v[VT_C_FAULT_NS]);
	CHECK(d->v[VT_C_FAULTS] > 0 && d->v[VT_C_FAULT_PAGES] >= pages,
	      "%s: odp_faults +%" PRIu64 ", odp_fault_pages +%" PRIu64
	      ", want > 0 and >= %zu (pages it touched first)",
	      what, d->v[VT_C_FAULTS], d->v[VT_C_FAULT_PAGES], pages);
}

/* The transfer used warm pages only: no fault at all. */
void expect_warm(const struct cnts *d, const char *what)
{
	CHECK(d->v[VT_C_FAULTS] == 0 && d->v[VT_C_FAULT_PAGES] == 0,
	      "%s: odp_faults +%" PRIu64 ", odp_fault_pages +%" PRIu64
	      ", want no fault (the pages were mirrored already)",
	      what, d->v[VT_C_FAULTS], d->v[VT_C_FAULT_PAGES]);
}

/* ---------------------------------------------------------------------- */
/* Sides, buffers, MRs, memory                                             */
/* ---------------------------------------------------------------------- */

void side_open(struct side *s, struct vt_dev *d)
{
	if (s->pd)
		return;
	vt_dev_ready(d);
	s->dev = d;
	s->pd = ibv_alloc_pd(d->ctx);
	CHECK(s->pd, "%s: ibv_alloc_pd: %s", d->name, strerror(errno));
}

void sides_open(struct tcase *tc)
{
	side_open(&tc->sa, tc->pair->a);
	side_open(&tc->sb, tc->pair->b);
}

/* ibv_reg_mr(pd, NULL, SIZE_MAX, IBV_ACCESS_ON_DEMAND | @access). */
struct ibv_mr *reg_implicit(struct ibv_pd *pd, int access)
{
	return ibv_reg_mr(pd, NULL, SIZE_MAX, IBV_ACCESS_ON_DEMAND | access);
}

struct ibv_mr *side_implicit(struct side *s)
{
	if (!s->imr) {
		s->imr = reg_implicit(s->pd, ODP_ACCESS);
		CHECK(s->imr,
		      "%s: implicit ODP MR ibv_reg_mr(NULL, SIZE_MAX, ON_DEMAND|0x%x): %s",
		      s->dev->name, ODP_ACCESS, strerror(errno));
	}
	return s->imr;
}

/*
 * @len bytes at a 2 MiB-aligned address, alone in their 2 MiB blocks (the
 * kernel mirrors the address space in such blocks), untouched, with small
 * pages unless @huge (then MADV_HUGEPAGE).  NULL on failure.
 */
uint8_t *map_blocks(size_t len, size_t *map_len, bool huge)
{
	size_t span = (len + BLOCK - 1) & ~(size_t)(BLOCK - 1);
	uint8_t *p, *a;

	p = mmap(NULL, span + BLOCK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + span, (size_t)(p + BLOCK - a));
	madvise(a, span, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	*map_len = span;
	return a;
}

/* Track a buffer at @mem; the test unmaps @map and closes @fd after. */
struct buf *buf_track(struct tcase *tc, void *mem, size_t size,
		      void *map, size_t map_len, int fd)
{
	struct buf *b;

	assert_true(tc->nbufs < MAX_BUFS);
	b = &tc->bufs[tc->nbufs++];
	memset(b, 0, sizeof(*b));
	b->mem = mem;
	b->size = size;
	b->map = map;
	b->map_len = map_len;
	b->fd = fd;
	return b;
}

const char *bkind_str(enum bkind k)
{
	switch (k) {
	case B_PINNED:		return "pinned";
	case B_ODP:		return "explicit ODP";
	case B_IMPLICIT:	return "implicit ODP";
	default:		return "no";
	}
}

/* Make @b reachable through side @s: its own MR or the implicit one. */
void buf_reg(struct buf *b, struct side *s, enum bkind k, int access)
{
	struct ibv_mr *imr;

	switch (k) {
	case B_NONE:
		return;
	case B_IMPLICIT:
		imr = side_implicit(s);
		b->lkey = imr->lkey;
		b->rkey = imr->rkey;
		return;
	default:
		b->mr = ibv_reg_mr(s->pd, b->mem, b->size,
				   access | (k == B_ODP ?
					     IBV_ACCESS_ON_DEMAND : 0));
		CHECK(b->mr, "%s: %s MR of %zu bytes at %p, access 0x%x: %s",
		      s->dev->name, bkind_str(k), b->size, (void *)b->mem,
		      access, strerror(errno));
		b->lkey = b->mr->lkey;
		b->rkey = b->mr->rkey;
	}
}

/* A fresh untouched buffer of @len bytes in its own 2 MiB blocks. */
struct buf *buf_new(struct tcase *tc, struct side *s, size_t len,
		    enum bkind k, int access)
{
	size_t map_len;
	uint8_t *p = map_blocks(len, &map_len, false);
	struct buf *b;

	CHECK(p, "mmap of %zu bytes: %s", len, strerror(errno));
	b = buf_track(tc, p, len, p, map_len, -1);
	buf_reg(b, s, k, access);
	return b;
}

enum bkind odp_kind(const struct tcase *tc)
{
	return tc->mode == M_IMPLICIT ? B_IMPLICIT : B_ODP;
}

/* A fresh untouched ODP buffer (explicit or implicit, as the test). */
struct buf *obuf(struct tcase *tc, struct side *s, size_t len)
{
	return buf_new(tc, s, len, odp_kind(tc), ODP_ACCESS);
}

/* Track mapping @p of @len bytes and register it as the test's ODP. */
struct buf *obuf_at(struct tcase *tc, struct side *s, void *p,
		    size_t len, int fd)
{
	struct buf *b = buf_track(tc, p, len, p, len, fd);

	buf_reg(b, s, odp_kind(tc), ODP_ACCESS);
	return b;
}

/*
 * The three fresh ODP buffers of @len bytes most tests use: @r on side B
 * (WRITE target, READ source), @src and @l on side A (WRITE source, READ
 * destination).
 */
void obuf3(struct tcase *tc, size_t len, struct buf **r, struct buf **src,
	   struct buf **l)
{
	*r = obuf(tc, &tc->sb, len);
	*src = obuf(tc, &tc->sa, len);
	*l = obuf(tc, &tc->sa, len);
}

/*
 * A new file of @len bytes in tmp_dir (tc->tmpfile, unlinked when the
 * test ends), mapped MAP_SHARED; its descriptor in *@fd.
 */
uint8_t *file_map(struct tcase *tc, size_t len, int *fd)
{
	uint8_t *p;

	snprintf(tc->tmpfile, sizeof(tc->tmpfile), "%s/odp_test.XXXXXX",
		 tmp_dir);
	*fd = mkstemp(tc->tmpfile);
	CHECK(*fd >= 0, "mkstemp %s: %s", tc->tmpfile, strerror(errno));
	CHECK(!ftruncate(*fd, (off_t)len), "ftruncate: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	CHECK(p != MAP_FAILED, "mmap %s: %s", tc->tmpfile, strerror(errno));
	return p;
}

/* AnonHugePages of the mapping at @addr, in kB (-1: not found). */
long anon_huge_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long s, e;
	char line[512];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = (uintptr_t)addr >= s && (uintptr_t)addr < e;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* "VmPin:" or "VmLck:" of /proc/self/status in kB, -1 when missing. */
long vm_kb(const char *field)
{
	uint64_t kb;

	return vt_read_field("/proc/self/status", field, &kb) ? (long)kb : -1;
}

/* Raise or drop CAP_IPC_LOCK in the effective set; 0 or the errno. */
int cap_ipc_lock(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	uint32_t bit = 1u << (CAP_IPC_LOCK % 32);

	if (syscall(SYS_capget, &h, d))
		return errno;
	if (on)
		d[CAP_IPC_LOCK / 32].effective |= bit;
	else
		d[CAP_IPC_LOCK / 32].effective &= ~bit;
	return syscall(SYS_capset, &h, d) ? errno : 0;
}

void madv(void *p, size_t len, int advice, const char *name)
{
	CHECK(!madvise(p, len, advice), "madvise(%p, %zu, %s): %s", p, len,
	      name, strerror(errno));
}

void mprot(void *p, size_t len, int prot, const char *name)
{
	CHECK(!mprotect(p, len, prot), "mprotect(%p, %zu, %s): %s", p, len,
	      name, strerror(errno));
}

/* ---------------------------------------------------------------------- */
/* Connections                                                             */
/* ---------------------------------------------------------------------- */

void ep_close(struct ep *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	if (e->scq)
		ibv_destroy_cq(e->scq);
	if (e->rcq)
		ibv_destroy_cq(e->rcq);
	memset(e, 0, sizeof(*e));
}

void ep_create(struct ep *e, struct side *s, uint32_t psn)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = SEND_WR, .max_recv_wr = RECV_WR,
		.max_send_sge = 2, .max_recv_sge = 2,
	};

	e->side = s;
	e->psn = psn;
	e->scq = ibv_create_cq(s->dev->ctx, CQE, NULL, NULL, 0);
	e->rcq = ibv_create_cq(s->dev->ctx, CQE, NULL, NULL, 0);
	CHECK(e->scq && e->rcq, "%s: ibv_create_cq: %s", s->dev->name,
	      strerror(errno));
	e->qp = vt_qp_create(s->pd, e->scq, e->rcq, &cap, false);
	CHECK(e->qp, "%s: ibv_create_qp(RC): %s", s->dev->name,
	      strerror(errno));
}

/* A fresh connection of the test, not set up yet. */
struct conn *conn_new(struct tcase *tc)
{
	struct conn *c;

	assert_true(tc->nconns < MAX_CONNS);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	tc->conns[tc->nconns++] = c;
	return c;
}

/* Connect @c's QPs (on @da and @db) to each other, both to RTS. */
void conn_link(struct conn *c, const struct vt_dev *da,
	       const struct vt_dev *db)
{
	CHECK(!vt_qp_connect(c->a.qp, &c->path, da, c->b.qp->qp_num,
			     c->a.psn, c->b.psn, &db->gid) &&
	      !vt_qp_connect(c->b.qp, &c->path, db, c->a.qp->qp_num,
			     c->b.psn, c->a.psn, &da->gid),
	      "connecting QPs %s:%u and %s:%u: %s", da->name,
	      c->a.qp->qp_num, db->name, c->b.qp->qp_num, vt_errmsg());
}

/* Connect a fresh QP on side A to a fresh one on side B, both in RTS. */
struct conn *conn_open(struct tcase *tc)
{
	struct vt_dev *da = tc->pair->a, *db = tc->pair->b;
	struct conn *c;

	vt_dev_ready(da);
	vt_dev_ready(db);
	sides_open(tc);
	c = conn_new(tc);
	vt_path_init(&c->path, da, db);
	CHECK(vt_mtu_bytes(c->path.mtu) && c->path.rd_atomic,
	      "no usable path (active_mtu %d and %d, rd_atomic %u)",
	      da->port.active_mtu, db->port.active_mtu, c->path.rd_atomic);
	ep_create(&c->a, &tc->sa, 0xfffff0 - tc->nconns * 16);
	ep_create(&c->b, &tc->sb, 0x7ffffa + tc->nconns);
	conn_link(c, da, db);
	return c;
}

/* ---------------------------------------------------------------------- */
/* Posting and completions                                                 */
/* ---------------------------------------------------------------------- */

struct conn *cur_conn;

static void diag_qp(const char *who, struct ep *e)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr at;

	if (!e->qp)
		return;
	if (ibv_query_qp(e->qp, &at, IBV_QP_STATE | IBV_QP_SQ_PSN |
			 IBV_QP_RQ_PSN, &ia)) {
		vt_diag("  %s QP %u: ibv_query_qp failed", who, e->qp->qp_num);
		return;
	}
	vt_diag("  %s QP %u on %s: state %d sq_psn 0x%x rq_psn 0x%x", who,
		e->qp->qp_num, e->side->dev->name, at.qp_state, at.sq_psn,
		at.rq_psn);
}

/* Every hw counter of @d that is not 0, on one line. */
static void diag_counters(const struct vt_dev *d)
{
	static struct vt_hw_snap sn;
	char line[1024];

	vt_hw_snap(d->name, &sn);
	vt_hw_nonzero(&sn, line, sizeof(line));
	vt_diag("  %s:%s", d->name, line);
}

/* Where connection @c's QPs are and what its devices counted. */
static void diag_conn(struct conn *c)
{
	diag_qp("requester", &c->a);
	diag_qp("responder", &c->b);
	diag_counters(c->a.side->dev);
	if (c->b.side && c->b.side->dev != c->a.side->dev)
		diag_counters(c->b.side->dev);
}

/*
 * A completion did not come in time: say where the QPs are and what the
 * devices counted, then wait 30 s more to tell a slow transfer from a
 * stuck one (the test fails either way).
 */
static void stall_report(struct ibv_cq *cq, const char *what, int ms)
{
	struct conn *c = cur_conn;
	struct ibv_wc wc;
	int64_t t0 = vt_now_ms();

	vt_diag("%s: no completion within %d ms; the QPs and counters now:",
		what, ms);
	if (c)
		diag_conn(c);
	vt_diag_cmd("rdma resource show qp -dd");
	if (vt_get_wc(cq, &wc, 30000))
		vt_diag("%s: the completion came %" PRId64 " ms later: wr_id %" PRIu64 " %s",
			what, vt_now_ms() - t0, (uint64_t)wc.wr_id,
			ibv_wc_status_str(wc.status));
	else
		vt_diag("%s: still no completion 30 s later (stuck)", what);
	if (c)
		diag_conn(c);
	vt_diag_cmd("rdma resource show qp -dd");
}

/*
 * Wait for the next completion on @cq and check its wr_id, status and
 * (when @opcode >= 0 and the status is success) opcode.
 */
void expect_wc(struct ibv_cq *cq, struct ibv_wc *wc, const char *what,
	       uint64_t wr_id, enum ibv_wc_status status, int opcode,
	       int ms)
{
	if (!vt_get_wc(cq, wc, ms)) {
		stall_report(cq, what, ms);
		CHECK(0, "%s: no completion within %d ms (want wr_id %" PRIu64 " %s)",
		      what, ms, wr_id, ibv_wc_status_str(status));
	}
	if (wc->status != status && status == IBV_WC_SUCCESS && cur_conn) {
		vt_diag("%s: failed (%s); the QPs and counters now:", what,
			ibv_wc_status_str(wc->status));
		diag_conn(cur_conn);
	}
	vt_check_wc(wc, what, wr_id, status, opcode);
}

void expect_qp_state(struct ep *e, enum ibv_qp_state want,
		     const char *what)
{
	vt_expect_qp_state(e->qp, e->side->dev->name, want, what);
}

struct ibv_sge sge(const struct buf *b, size_t off, size_t len)
{
	struct ibv_sge s = {
		.addr = (uintptr_t)(b->mem + off),
		.length = (uint32_t)len,
		.lkey = b->lkey,
	};

	return s;
}

/*
 * Post @wr on @c's requester and wait for its completion (@wc): its
 * status must be @want and (when @opcode >= 0 and it succeeded) its
 * opcode @opcode, within @ms.
 */
void post_wait(struct conn *c, struct ibv_send_wr *wr, struct ibv_wc *wc,
	       enum ibv_wc_status want, int opcode, int ms, const char *what)
{
	cur_conn = c;
	vt_post_send(c->a.qp, wr, what);
	expect_wc(c->a.scq, wc, what, wr->wr_id, want, opcode, ms);
}

/*
 * One signaled RDMA @op (WRITE or READ) on @c: local gather or scatter
 * list @g of @n entries, remote address @ra with @rkey; its completion
 * must have status @want.  After an error the requester's QP must be in
 * ERR.
 */
void rdma_sgl(struct conn *c, enum ibv_wr_opcode op, struct ibv_sge *g,
	      int n, uint64_t ra, uint32_t rkey, enum ibv_wc_status want,
	      const char *what)
{
	static uint64_t id = 1;
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += g[i].length;
	vt_send_wr(&wr, ++id, g, n, op, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = ra;
	wr.wr.rdma.rkey = rkey;
	post_wait(c, &wr, &wc, want, op == IBV_WR_RDMA_READ ?
		  IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE, vt_wc_ms(len), what);
	if (want == IBV_WC_SUCCESS && op == IBV_WR_RDMA_READ)
		CHECK(wc.byte_len == len, "%s: byte_len %u, want %zu", what,
		      wc.byte_len, len);
	if (want != IBV_WC_SUCCESS)
		expect_qp_state(&c->a, IBV_QPS_ERR, what);
}

/* rdma_sgl() of @len bytes at @l + @loff. */
void rdma_at(struct conn *c, enum ibv_wr_opcode op, struct buf *l,
	     size_t loff, uint64_t ra, uint32_t rkey, size_t len,
	     enum ibv_wc_status want, const char *what)
{
	struct ibv_sge g = sge(l, loff, len);

	rdma_sgl(c, op, &g, 1, ra, rkey, want, what);
}

/* RDMA WRITE @len bytes from @src + @soff to @dst + @doff. */
void do_write(struct conn *c, struct buf *src, size_t soff,
	      struct buf *dst, size_t doff, size_t len,
	      enum ibv_wc_status want, const char *what)
{
	rdma_at(c, IBV_WR_RDMA_WRITE, src, soff,
		(uintptr_t)(dst->mem + doff), dst->rkey, len, want, what);
}

/* RDMA READ @len bytes from remote @src + @soff into @dst + @doff. */
void do_read(struct conn *c, struct buf *dst, size_t doff,
	     struct buf *src, size_t soff, size_t len,
	     enum ibv_wc_status want, const char *what)
{
	rdma_at(c, IBV_WR_RDMA_READ, dst, doff,
		(uintptr_t)(src->mem + soff), src->rkey, len, want, what);
}

/*
 * SEND @len bytes from @src + @soff into a receive posted at @dst +
 * @doff: the send completes with @want_s, the receive with @want_r (or
 * not at all: NO_RECV_WC).
 */
void do_send(struct conn *c, struct buf *src, size_t soff,
	     struct buf *dst, size_t doff, size_t len,
	     enum ibv_wc_status want_s, int want_r, const char *what)
{
	static uint64_t id = 1;
	struct ibv_sge g = sge(src, soff, len), rg = sge(dst, doff, len);
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	char msg[200];

	++id;
	cur_conn = c;
	vt_post_recv(c->b.qp, id, &rg, 1, what);
	vt_send_wr(&wr, id, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	snprintf(msg, sizeof(msg), "%s: sender", what);
	post_wait(c, &wr, &wc, want_s, IBV_WC_SEND, vt_wc_ms(len), msg);
	snprintf(msg, sizeof(msg), "%s: receiver", what);
	if (want_r == NO_RECV_WC) {
		vt_expect_no_wc(c->b.rcq, msg, 200);
		return;
	}
	expect_wc(c->b.rcq, &wc, msg, id, (enum ibv_wc_status)want_r,
		  IBV_WC_RECV, vt_wc_ms(len));
	if (want_r == IBV_WC_SUCCESS)
		CHECK(wc.byte_len == len, "%s: byte_len %u, want %zu", msg,
		      wc.byte_len, len);
}

/* One atomic @op at @r + @roff, the original value into @l + @loff. */
void do_atomic(struct conn *c, enum ibv_wr_opcode op, struct buf *l,
	       size_t loff, struct buf *r, size_t roff, uint64_t cmp_add,
	       uint64_t swap, enum ibv_wc_status want, const char *what)
{
	static uint64_t id = 1;
	struct ibv_sge g = sge(l, loff, 8);
	struct ibv_send_wr wr;
	struct ibv_wc wc;

	vt_send_wr(&wr, ++id, &g, 1, op, IBV_SEND_SIGNALED);
	wr.wr.atomic.remote_addr = (uintptr_t)(r->mem + roff);
	wr.wr.atomic.rkey = r->rkey;
	wr.wr.atomic.compare_add = cmp_add;
	wr.wr.atomic.swap = swap;
	post_wait(c, &wr, &wc, want, op == IBV_WR_ATOMIC_CMP_AND_SWP ?
		  IBV_WC_COMP_SWAP : IBV_WC_FETCH_ADD, 10000, what);
}

/*
 * One transfer on @c that must succeed: an RDMA WRITE or a SEND (into a
 * receive posted there) of @len bytes from local @l + @loff to remote @r
 * + @roff, or an RDMA READ of remote @r + @roff into @l + @loff.
 */
void xfer(struct conn *c, enum ibv_wr_opcode op, struct buf *l, size_t loff,
	  struct buf *r, size_t roff, size_t len, const char *what)
{
	if (op == IBV_WR_SEND)
		do_send(c, l, loff, r, roff, len, IBV_WC_SUCCESS,
			IBV_WC_SUCCESS, what);
	else
		rdma_at(c, op, l, loff, (uintptr_t)(r->mem + roff), r->rkey,
			len, IBV_WC_SUCCESS, what);
}

/*
 * xfer(), and what the ODP counters say of it: a fault of at least
 * @faults pages, or (@faults 0) no fault at all.
 */
void xfer_faults(struct tcase *tc, struct conn *c, enum ibv_wr_opcode op,
		 struct buf *l, size_t loff, struct buf *r, size_t roff,
		 size_t len, size_t faults, const char *what)
{
	struct cnts before, d;

	snap(tc, &before);
	xfer(c, op, l, loff, r, roff, len, what);
	since(tc, &before, &d);
	if (faults)
		expect_faulted(&d, faults, what);
	else
		expect_warm(&d, what);
}

/*
 * xfer() of a WRITE or SEND from @src + @soff to @r + @roff: the CPU must
 * then read the data there, and @guard's pattern (ZERO: zeros) in the
 * rest of @r.
 */
void xfer_check(struct tcase *tc, struct conn *c, enum ibv_wr_opcode op,
		struct buf *src, size_t soff, struct buf *r, size_t roff,
		size_t len, uint32_t guard, const char *what)
{
	xfer(c, op, src, soff, r, roff, len, what);
	expect_region(tc, what, r->mem, r->size, roff, src->mem + soff, len,
		      guard);
}

/*
 * RDMA WRITE @seed's pattern (put in @src first) to @r + @roff: the CPU
 * must then read it there.
 */
void write_pat(struct tcase *tc, struct conn *c, struct buf *src,
	       struct buf *r, size_t roff, size_t len, uint32_t seed,
	       const char *what)
{
	fill_pat(src->mem, len, seed);
	do_write(c, src, 0, r, roff, len, IBV_WC_SUCCESS, what);
	expect_pat(tc, what, r->mem + roff, len, seed);
}

/*
 * RDMA READ @len bytes of @r + @roff into @l, which holds G_BACK's
 * pattern first: it must bring @seed's pattern (ZERO: zeros).
 */
void read_pat(struct tcase *tc, struct conn *c, struct buf *l, struct buf *r,
	      size_t roff, size_t len, uint32_t seed, const char *what)
{
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, roff, len, IBV_WC_SUCCESS, what);
	expect_pat(tc, what, l->mem, len, seed);
}

/*
 * RDMA WRITE pattern @seed + 1 from @src into @r, which holds pattern
 * @seed (@len bytes), from +@off to @off bytes before its end: the CPU
 * must then read that there and the pattern around it (@cpu_what).
 */
void write_inside(struct tcase *tc, struct conn *c, struct buf *src,
		  struct buf *r, size_t len, size_t off, uint32_t seed,
		  const char *what, const char *cpu_what)
{
	uint8_t *want = vt_tc_alloc(&tc->vc, len);

	fill_pat(src->mem, len, seed + 1);
	do_write(c, src, 0, r, off, len - 2 * off, IBV_WC_SUCCESS, what);
	fill_pat(want, len, seed);
	memcpy(want + off, src->mem, len - 2 * off);
	expect_same(cpu_what, r->mem, want, len);
}

/* ---------------------------------------------------------------------- */
/* Forked children                                                         */
/* ---------------------------------------------------------------------- */

/* Where task @pid is in the kernel: its wchan and stack, as diagnostics. */
void diag_stack(pid_t pid, const char *why)
{
	char path[64], line[256];
	FILE *f;

	vt_diag("%s: pid %d in the kernel:", why, (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			vt_diag("  wchan %s", line);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		vt_diag("  %s", line);
	}
	fclose(f);
}

/*
 * Kill and reap a child the test left behind, waiting 5 s at most: a
 * task stuck in the kernel cannot be killed, and the run must go on.
 */
void kid_reap(struct kid *k)
{
	int64_t end = vt_now_ms() + 5000;
	int st;

	if (k->pid > 0) {
		kill(k->pid, SIGKILL);
		while (waitpid(k->pid, &st, WNOHANG) == 0) {
			if (vt_now_ms() > end) {
				vt_diag("child %d did not die within 5 s of SIGKILL",
					(int)k->pid);
				diag_stack(k->pid, "the unkillable child");
				break;
			}
			usleep(10000);
		}
	}
	if (k->cmd >= 0)
		close(k->cmd);
	if (k->reply >= 0)
		close(k->reply);
	k->pid = 0;
	k->cmd = k->reply = -1;
}

/*
 * A forked child keeps a copy of @mem (@len bytes) and answers the
 * parent's commands on a pipe: 'S' compare the copy with @want (the
 * parent's snapshot at fork time, or what 'W' wrote), 'W' write @seed's
 * pattern into the copy, 'q' exit.  It uses nothing of cmocka's.
 */
struct kid_reply {
	char ok;
	uint64_t off;
	uint8_t got, want;
};

static void __attribute__((noreturn))
kid_main(int cmd, int reply, uint8_t *mem, size_t len, uint8_t *want,
	 uint32_t seed)
{
	struct kid_reply r;
	char c;
	size_t i;

	alarm(120);
	for (;;) {
		if (read(cmd, &c, 1) != 1)
			_exit(3);
		memset(&r, 0, sizeof(r));
		switch (c) {
		case 'S':
			r.ok = 'y';
			for (i = 0; i < len; i++)
				if (mem[i] != want[i])
					break;
			if (i < len) {
				r.ok = 'n';
				r.off = i;
				r.got = mem[i];
				r.want = want[i];
			}
			break;
		case 'W':
			fill_pat(mem, len, seed);
			fill_pat(want, len, seed);
			r.ok = 'w';
			break;
		case 'q':
			_exit(0);
		default:
			_exit(4);
		}
		if (write(reply, &r, sizeof(r)) != sizeof(r))
			_exit(5);
	}
}

struct kid *kid_fork(struct tcase *tc, uint8_t *mem, size_t len,
		     uint8_t *want, uint32_t seed)
{
	int down[2], up[2];
	struct kid *k;
	pid_t pid;

	assert_true(tc->nkids < MAX_KIDS);
	CHECK(!pipe(down) && !pipe(up), "pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(down[1]);
		close(up[0]);
		kid_main(down[0], up[1], mem, len, want, seed);
	}
	close(down[0]);
	close(up[1]);
	k = &tc->kids[tc->nkids++];
	k->pid = pid;
	k->cmd = down[1];
	k->reply = up[0];
	CHECK(pid > 0, "fork: %s", strerror(errno));
	return k;
}

/* Read @len bytes from @fd within @ms; false on timeout or EOF. */
bool read_within(int fd, void *buf, size_t len, int ms)
{
	int64_t end = vt_now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		int left = (int)(end - vt_now_ms());

		if (left <= 0 || poll(&p, 1, left) != 1)
			return false;
		n = read(fd, (uint8_t *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Send command @c to the child; its answer must be @ok. */
void kid_ask(struct kid *k, char c, char ok, const char *what)
{
	struct kid_reply r;

	CHECK(write(k->cmd, &c, 1) == 1, "%s: writing to the child: %s",
	      what, strerror(errno));
	CHECK(read_within(k->reply, &r, sizeof(r), 30000),
	      "%s: no answer from the child within 30 s", what);
	CHECK(r.ok == ok,
	      "%s: the child's copy differs at byte %" PRIu64 ": got 0x%02x, want 0x%02x",
	      what, r.off, r.got, r.want);
}

/* Let the child exit and reap it: it must exit 0 within 10 s. */
void kid_end(struct kid *k, const char *what)
{
	int64_t end = vt_now_ms() + 10000;
	char c = 'q';
	pid_t p;
	int st = 0;

	CHECK(write(k->cmd, &c, 1) == 1, "%s: writing to the child: %s",
	      what, strerror(errno));
	while ((p = waitpid(k->pid, &st, WNOHANG)) == 0 && vt_now_ms() < end)
		usleep(10000);
	CHECK(p == k->pid, "%s: the child did not exit within 10 s", what);
	k->pid = 0;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "%s: the child ended with status 0x%x", what, st);
}
